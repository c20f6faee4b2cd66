/*
 * fuzz_pipeline_spec.c: libFuzzer harness for pipeline specs, schedules,
 * durations, dates and templates (src/pipeline/spec.c, schedule.c,
 * template.c).
 *
 * The whole input is loaded as a spec file (with two fake task types,
 * t_echo and t_kinds, registered, since the built-in ones are not the point); a spec that
 * loads must keep its promises (types resolved, upstreams naming other
 * tasks, retry settings merged) and every task's arguments are rendered.
 * The input's first line is also read as a schedule, a duration and a
 * date: a schedule that parses must obey next > t >= prev and
 * next(prev(t)) == next(t), and pipe_next_interval must only hand out
 * intervals that have ended; a duration must format back to itself. The
 * whole input is also rendered as a template: rendering may only succeed
 * where pipe_template_check does. Failures must be FLOE_EINVAL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "pipeline/pipeline.h"

static const pipe_field echo_fields[] = {
    {"msg", PIPE_FIELD_STRING, true, "text"},
    {"n", PIPE_FIELD_INT, false, "a count"},
};
static const pipe_task_type t_echo = {.name = "t_echo", .fields = echo_fields, .nfields = 2};

static const pipe_field kinds_fields[] = {
    {"s", PIPE_FIELD_STRING, false, NULL}, {"i", PIPE_FIELD_INT, false, NULL},
    {"b", PIPE_FIELD_BOOL, false, NULL},   {"d", PIPE_FIELD_DURATION, false, NULL},
    {"o", PIPE_FIELD_OBJECT, false, NULL}, {"a", PIPE_FIELD_ARRAY, false, NULL},
    {"any", PIPE_FIELD_ANY, false, NULL},
};
/* the same two types as tests/unit/pipeline/test_spec.c, so its spec_cases
 * serve as seeds */
static const pipe_task_type t_kinds = {.name = "t_kinds", .fields = kinds_fields, .nfields = 7};

static json_t *params, *output;

/* libfyaml 0.7.12 leaks the unescaped text that fy_node_get_scalar makes
 * of some single-quoted scalars (a file ending in ']''''''''''' with
 * eleven quotes): its bug, with no Floe frame in the allocation's stack,
 * so the leak check skips it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    pipe_task_type_register(&t_echo);
    pipe_task_type_register(&t_kinds);
    params = json_pack("{s:s, s:i, s:{s:[i,s]}}", "symbol", "BTCUSDT", "limit", 100, "nested", "a", 1, "{{ ds }}");
    output = json_pack("{s:s, s:i}", "s3_path", "s3://warehouse/raw/x", "records", 42);
    return 0;
}

static json_t *task_output(void *arg, const char *task_id) { return output; }

static void check_err(bool ok, const floe_err *err) {
    if (!ok && err->code != FLOE_EINVAL) abort();
}

static pipe_tmpl_ctx make_ctx(const char *task_id) {
    return (pipe_tmpl_ctx){.run_id = "manual__1",
                           .pipeline = "fuzz",
                           .task_id = task_id,
                           .try_number = 1,
                           .interval_start_ms = 1795341900000LL,
                           .interval_end_ms = 1795342200000LL,
                           .logical_ms = 1795341900000LL,
                           .params = params,
                           .task_output = task_output};
}

#define LO_MS (-62135596800000LL + 400LL * 86400000LL) /* inside years 1..9999 with room */
#define HI_MS (253402300799999LL - 400LL * 86400000LL)

static int64_t read_i64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (int64_t)v;
}

static void fuzz_schedule(const char *line, const uint8_t *data, size_t size) {
    pipe_schedule s;
    floe_err err = {0};
    bool ok = pipe_schedule_parse(line, &s, &err);
    check_err(ok, &err);
    if (!ok) return;
    int64_t t = 1795341900000LL, anchor = 1767225600000LL;
    if (size >= 16) {
        t = read_i64(data + size - 16);
        anchor = read_i64(data + size - 8);
    }
    if (t < LO_MS || t > HI_MS) t = (int64_t)((uint64_t)t % (uint64_t)(HI_MS - LO_MS)) + LO_MS;
    if (anchor < LO_MS || anchor > HI_MS) anchor = 1767225600000LL;
    int64_t n = pipe_schedule_next(&s, anchor, t), p = pipe_schedule_prev(&s, anchor, t);
    if (s.kind == PIPE_SCHED_NONE) {
        if (n != INT64_MAX || p != INT64_MIN) abort();
        return;
    }
    if (n <= t || p > t) abort();
    if (n != INT64_MAX && pipe_schedule_prev(&s, anchor, n) != n) abort();
    if (p != INT64_MIN && pipe_schedule_next(&s, anchor, p) != n) abort();
    if (s.kind == PIPE_SCHED_CRON && ((n != INT64_MAX && n % 60000) || (p != INT64_MIN && p % 60000))) abort();

    int64_t a, b, check, last = INT64_MIN, now = t;
    for (int i = 0; i < 4; i++) {
        bool catchup = i & 1;
        if (pipe_next_interval(&s, anchor, INT64_MAX, catchup, last, now, &a, &b, &check)) {
            if (!(a < b && b <= now && a >= pipe_schedule_next(&s, anchor, anchor - 1))) abort();
            if (last != INT64_MIN && a < last) abort();
            last = b;
        } else {
            if (check <= now) abort();
            if (check == INT64_MAX) break;
            now = check;
        }
    }
}

static void fuzz_line(const char *line) {
    int64_t ms, back;
    if (time_duration_parse(line, &ms)) {
        char out[32];
        time_duration_format(ms, out);
        if (!time_duration_parse(out, &back) || back != ms) abort();
    }
    pipe_time_parse(line, &ms);
}

static void count_ref(const char *id, size_t n, void *arg) {
    if (n == 0 || memchr(id, '}', n) || memchr(id, '.', n)) abort();
    (*(int *)arg)++;
}

static void fuzz_template(const char *text) {
    pipe_tmpl_ctx ctx = make_ctx("t");
    buf_t b = BUF_INIT;
    floe_err err = {0}, cerr = {0};
    bool ok = pipe_render(text, &ctx, &b, &err);
    check_err(ok, &err);
    bool checked = pipe_template_check(text, &cerr);
    check_err(checked, &cerr);
    if (ok && !checked) abort();
    if (ok && !strstr(text, "{{") && strcmp(b.data, text)) abort(); /* plain text is itself */
    int refs = 0;
    bool closed = pipe_template_task_refs(text, count_ref, &refs);
    if (!closed && (checked || ok)) abort();
    buf_free(&b);
}

static void fuzz_spec(const char *text, size_t len) {
    floe_err err = {0};
    pipe_spec *s = pipe_spec_load_str(text, len, "pipelines/fuzz.yaml", &err);
    check_err(s != NULL, &err);
    if (!s) {
        if (strncmp(err.msg, "pipelines/fuzz.yaml", 19)) abort(); /* every error names the file */
        return;
    }
    if (strcmp(s->name, "fuzz") || !s->ntasks || !json_is_object(s->params)) abort();
    if (s->schedule.kind != PIPE_SCHED_NONE && s->start_ms == INT64_MIN) abort();
    for (size_t i = 0; i < s->ntasks; i++) {
        const pipe_task_spec *t = &s->tasks[i];
        if (!t->ttype || pipe_spec_task(s, t->id) != t || !json_is_object(t->args)) abort();
        if (t->retry.retries < 0 || t->retry.retry_delay_ms < 0 || t->retry.retry_exponential < 0 ||
            t->retry.max_retry_delay_ms < 0 || t->retry.execution_timeout_ms < 0)
            abort();
        for (size_t j = 0; j < t->nupstream; j++)
            if (!pipe_spec_task(s, t->upstream[j]) || !strcmp(t->upstream[j], t->id)) abort();
        pipe_tmpl_ctx ctx = make_ctx(t->id);
        json_t *r = pipe_render_json(t->args, &ctx, &err);
        check_err(r != NULL, &err);
        json_decref(r);
    }
    pipe_spec_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    size_t first = strcspn(text, "\n");
    char line[256];
    if (first < sizeof line) {
        memcpy(line, text, first);
        line[first] = 0;
        fuzz_line(line);
        fuzz_schedule(line, data, size);
    }
    fuzz_template(text);
    fuzz_spec(text, size);
    free(text);
    return 0;
}
