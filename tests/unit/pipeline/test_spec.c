/*
 * test_spec.c: the pipeline spec loader (src/pipeline/spec.c).
 *
 * The error cases are data files, one spec each, in
 * tests/unit/pipeline/spec_cases/: the first line is "# expect: TEXT",
 * TEXT being a piece of the error (which names the file, the line and the
 * key: "bad_delay.yaml:7: tasks.a.retry_delay:") or "ok". One test loads
 * them all. The cases here check what a loaded spec holds: defaults,
 * inheritance, args, the hash, and files on disk.
 *
 * The built-in task types are not needed: the tests register their own,
 * t_echo (msg: a required string, n: an integer, checked by validate to be
 * at least 0) and t_kinds (one optional key of every kind).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "pipeline/pipeline.h"

#define CASES_DIR "tests/unit/pipeline/spec_cases"

static bool echo_validate(json_t *args, floe_err *err) {
    json_t *n = json_object_get(args, "n");
    if (json_is_integer(n) && json_integer_value(n) < 0)
        return floe_err_set(err, FLOE_EINVAL, "n: %lld is negative; write 0 or more", (long long)json_integer_value(n));
    return true;
}

static const pipe_field echo_fields[] = {
    {"msg", PIPE_FIELD_STRING, true, "the text to print"},
    {"n", PIPE_FIELD_INT, false, "how many times"},
};
static const pipe_task_type t_echo = {.name = "t_echo", .fields = echo_fields, .nfields = 2, .validate = echo_validate};

static const pipe_field kinds_fields[] = {
    {"s", PIPE_FIELD_STRING, false, NULL}, {"i", PIPE_FIELD_INT, false, NULL},
    {"b", PIPE_FIELD_BOOL, false, NULL},   {"d", PIPE_FIELD_DURATION, false, NULL},
    {"o", PIPE_FIELD_OBJECT, false, NULL}, {"a", PIPE_FIELD_ARRAY, false, NULL},
    {"any", PIPE_FIELD_ANY, false, NULL},
};
static const pipe_task_type t_kinds = {.name = "t_kinds", .fields = kinds_fields, .nfields = 7};

static void register_types(void) {
    pipe_task_type_register(&t_echo);
    pipe_task_type_register(&t_kinds);
}

TestSuite(pipe_spec, .init = register_types);

static pipe_spec *load_ok(const char *name, const char *text) {
    floe_err err = {0};
    pipe_spec *s = pipe_spec_load_str(text, strlen(text), name, &err);
    cr_assert(s, "%s did not load: %s", name, err.msg);
    return s;
}

static void load_fails(const char *name, const char *text, const char *expect) {
    floe_err err = {0};
    pipe_spec *s = pipe_spec_load_str(text, strlen(text), name, &err);
    cr_assert_null(s, "%s loaded; expected an error with \"%s\"", name, expect);
    cr_assert_eq(err.code, FLOE_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, expect), "%s: the error \"%s\" does not contain \"%s\"", name, err.msg, expect);
}

/* ---- the data files ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(pipe_spec, cases_from_files) {
    DIR *d = opendir(CASES_DIR);
    cr_assert(d, "cannot open %s (tests run from the repository root)", CASES_DIR);
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".yaml") || strstr(e->d_name, ".yml")) {
            cr_assert_lt(n, 512);
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    cr_assert_gt(n, 40, "only %zu cases in %s", n, CASES_DIR);
    size_t oks = 0, errs = 0;
    for (size_t i = 0; i < n; i++) {
        char path[512], *text = NULL;
        size_t len = 0;
        floe_err err = {0};
        snprintf(path, sizeof path, "%s/%s", CASES_DIR, names[i]);
        cr_assert(fs_read_all(path, &text, &len, &err), "%s", err.msg);
        const char *tag = "# expect: ";
        cr_assert(!strncmp(text, tag, strlen(tag)), "%s: the first line must be \"# expect: ...\"", path);
        char expect[400];
        const char *eol = strchr(text, '\n');
        size_t elen = (size_t)((eol ? eol : text + len) - text) - strlen(tag);
        cr_assert_lt(elen, sizeof expect);
        memcpy(expect, text + strlen(tag), elen);
        expect[elen] = 0;
        free(text);

        /* cr_expect: one run reports every case that fails */
        pipe_spec *s = pipe_spec_load_file(path, &err);
        if (!strcmp(expect, "ok")) {
            cr_expect(s, "%s: expected to load, got: %s", path, err.msg);
            pipe_spec_free(s);
            oks++;
            continue;
        }
        errs++;
        if (s) {
            cr_expect_fail("%s: loaded, but expected an error with \"%s\"", path, expect);
            pipe_spec_free(s);
            continue;
        }
        cr_expect_eq(err.code, FLOE_EINVAL, "%s: %s", path, err.msg);
        cr_expect(strstr(err.msg, expect), "%s:\n  error:    %s\n  expected: %s", path, err.msg, expect);
        /* every error starts with the path as given */
        cr_expect(!strncmp(err.msg, path, strlen(path)), "%s: the error does not name the file: %s", path, err.msg);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    cr_assert_gt(oks, 3);
    cr_assert_gt(errs, 30);
}

/* ---- what a spec holds ---- */

Test(pipe_spec, defaults) {
    pipe_spec *s = load_ok("pipes/hello.yaml", "tasks:\n  say:\n    type: t_echo\n    msg: hi\n");
    cr_assert_str_eq(s->name, "hello");
    cr_assert_str_eq(s->file, "pipes/hello.yaml");
    cr_assert_null(s->description);
    cr_assert_eq(s->schedule.kind, PIPE_SCHED_NONE);
    cr_assert_eq(s->start_ms, INT64_MIN);
    cr_assert_eq(s->end_ms, INT64_MAX);
    cr_assert_not(s->catchup);
    cr_assert_not(s->paused);
    cr_assert_eq(s->max_active_runs, 16);
    cr_assert_eq(s->max_active_tasks, 16);
    cr_assert(json_is_object(s->params) && json_object_size(s->params) == 0);
    cr_assert_eq(s->retry.retries, 0);
    cr_assert_eq(s->retry.retry_delay_ms, 300000);
    cr_assert_eq(s->retry.retry_exponential, 0);
    cr_assert_eq(s->retry.max_retry_delay_ms, 86400000);
    cr_assert_eq(s->retry.execution_timeout_ms, 0);
    cr_assert_eq(s->ntasks, 1);
    const pipe_task_spec *t = pipe_spec_task(s, "say");
    cr_assert(t);
    cr_assert_str_eq(t->id, "say");
    cr_assert_str_eq(t->type, "t_echo");
    cr_assert_eq(t->ttype, &t_echo);
    cr_assert_eq(t->nupstream, 0);
    cr_assert_eq(t->trigger_rule, PIPE_TRIGGER_ALL_SUCCESS);
    cr_assert_eq(t->line, 2);
    cr_assert_eq(memcmp(&t->retry, &s->retry, sizeof t->retry), 0);
    cr_assert_str_eq(json_string_value(json_object_get(t->args, "msg")), "hi");
    cr_assert_eq(json_object_size(t->args), 1);
    cr_assert_null(pipe_spec_task(s, "nope"));
    pipe_spec_free(s);
}

static const char *FULL = "description: every key set\n"
                          "schedule: \"*/15 6-18 * * MON-FRI\"\n"
                          "start_date: 2026-01-05\n"
                          "end_date: 2026-02-01T00:00:00Z\n"
                          "catchup: true\n"
                          "max_active_runs: 2\n"
                          "max_active_tasks: 3\n"
                          "paused: true\n"
                          "params:\n"
                          "  symbol: BTCUSDT\n"
                          "  limit: 100\n"
                          "  nested: {a: [1, 2]}\n"
                          "retries: 3\n"
                          "retry_delay: 30s\n"
                          "retry_exponential_backoff: true\n"
                          "max_retry_delay: 10m\n"
                          "execution_timeout: 1h\n"
                          "tasks:\n"
                          "  first:\n"
                          "    type: t_echo\n"
                          "    msg: \"{{ ds }} {{ params.symbol }}\"\n"
                          "    n: 2\n"
                          "    retries: 0\n"
                          "    execution_timeout: 90\n"
                          "  second:\n"
                          "    type: t_kinds\n"
                          "    upstream: first\n"
                          "    trigger_rule: all_done\n"
                          "    retry_exponential_backoff: false\n"
                          "    s: \"{{ tasks.first.output.path }}\"\n"
                          "    i: \"{{ params.limit }}\"\n"
                          "    b: true\n"
                          "    d: 1h30m\n"
                          "    o: {k: v}\n"
                          "    a: [1, x]\n"
                          "    any: null\n"
                          "  third:\n"
                          "    type: t_kinds\n"
                          "    upstream: [second, first, second]\n"
                          "    trigger_rule: one_failed\n"
                          "    o: {deep: [\"{{ tasks.first.output.x.y }}\"]}\n";

Test(pipe_spec, every_key) {
    pipe_spec *s = load_ok("/abs/dir/full.yml", FULL);
    cr_assert_str_eq(s->name, "full");
    cr_assert_str_eq(s->description, "every key set");
    cr_assert_eq(s->schedule.kind, PIPE_SCHED_CRON);
    cr_assert_str_eq(s->schedule.text, "*/15 6-18 * * MON-FRI");
    int64_t start, end;
    cr_assert(pipe_time_parse("2026-01-05", &start));
    cr_assert(pipe_time_parse("2026-02-01", &end));
    cr_assert_eq(s->start_ms, start);
    cr_assert_eq(s->end_ms, end);
    cr_assert(s->catchup);
    cr_assert(s->paused);
    cr_assert_eq(s->max_active_runs, 2);
    cr_assert_eq(s->max_active_tasks, 3);
    cr_assert_eq(json_integer_value(json_object_get(s->params, "limit")), 100);
    cr_assert_str_eq(json_string_value(json_object_get(s->params, "symbol")), "BTCUSDT");
    cr_assert_eq(s->retry.retries, 3);
    cr_assert_eq(s->retry.retry_delay_ms, 30000);
    cr_assert_eq(s->retry.retry_exponential, 1);
    cr_assert_eq(s->retry.max_retry_delay_ms, 600000);
    cr_assert_eq(s->retry.execution_timeout_ms, 3600000);
    cr_assert_eq(s->ntasks, 3);

    const pipe_task_spec *a = &s->tasks[0], *b = &s->tasks[1], *c = &s->tasks[2];
    cr_assert_str_eq(a->id, "first");
    cr_assert_str_eq(b->id, "second");
    cr_assert_str_eq(c->id, "third");
    /* a task's own settings win; the rest come from the pipeline */
    cr_assert_eq(a->retry.retries, 0);
    cr_assert_eq(a->retry.execution_timeout_ms, 90000);
    cr_assert_eq(a->retry.retry_delay_ms, 30000);
    cr_assert_eq(a->retry.retry_exponential, 1);
    cr_assert_eq(a->retry.max_retry_delay_ms, 600000);
    cr_assert_eq(b->retry.retries, 3);
    cr_assert_eq(b->retry.retry_exponential, 0);
    cr_assert_eq(b->retry.execution_timeout_ms, 3600000);
    cr_assert_eq(b->trigger_rule, PIPE_TRIGGER_ALL_DONE);
    cr_assert_eq(c->trigger_rule, PIPE_TRIGGER_ONE_FAILED);
    cr_assert_eq(b->nupstream, 1);
    cr_assert_str_eq(b->upstream[0], "first");
    cr_assert_eq(c->nupstream, 2, "a repeated upstream counts once");
    cr_assert_str_eq(c->upstream[0], "second");
    cr_assert_str_eq(c->upstream[1], "first");
    /* args are the type's keys only, as written (templates unrendered) */
    cr_assert_eq(json_object_size(a->args), 2);
    cr_assert_str_eq(json_string_value(json_object_get(a->args, "msg")), "{{ ds }} {{ params.symbol }}");
    cr_assert_eq(json_object_size(b->args), 7);
    cr_assert(json_is_null(json_object_get(b->args, "any")));
    cr_assert_str_eq(json_string_value(json_object_get(b->args, "d")), "1h30m");
    cr_assert_eq(json_array_size(json_object_get(b->args, "a")), 2);
    cr_assert_null(json_object_get(b->args, "upstream"));
    cr_assert_null(json_object_get(b->args, "type"));
    cr_assert_eq(a->line, 19);
    cr_assert_eq(b->line, 25);
    cr_assert_eq(c->line, 37);
    pipe_spec_free(s);
}

Test(pipe_spec, hash_is_sha256_of_the_bytes) {
    const char *text = "tasks: {a: {type: t_echo, msg: x}}\n";
    pipe_spec *s = load_ok("h.yaml", text);
    uint8_t want[32];
    hash_sha256(text, strlen(text), want);
    cr_assert_eq(memcmp(s->hash, want, 32), 0);
    pipe_spec_free(s);
    /* a comment changes the hash: the scheduler reloads on any change */
    const char *text2 = "# changed\ntasks: {a: {type: t_echo, msg: x}}\n";
    s = load_ok("h.yaml", text2);
    cr_assert_neq(memcmp(s->hash, want, 32), 0);
    pipe_spec_free(s);
}

Test(pipe_spec, load_file_and_missing_file) {
    char dir[] = "/tmp/floe-unit-spec-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/from_disk.yaml", dir);
    const char *text = "schedule: '@daily'\nstart_date: 2026-03-01\ntasks:\n  a: {type: t_echo, msg: x}\n";
    floe_err err = {0};
    cr_assert(fs_write_atomic(path, text, strlen(text), &err), "%s", err.msg);
    pipe_spec *s = pipe_spec_load_file(path, &err);
    cr_assert(s, "%s", err.msg);
    cr_assert_str_eq(s->name, "from_disk");
    cr_assert_str_eq(s->file, path);
    cr_assert_eq(s->schedule.kind, PIPE_SCHED_CRON);
    uint8_t want[32];
    hash_sha256(text, strlen(text), want);
    cr_assert_eq(memcmp(s->hash, want, 32), 0);
    pipe_spec_free(s);
    unlink(path);
    cr_assert_null(pipe_spec_load_file(path, &err));
    cr_assert_eq(err.code, FLOE_ENOENT, "%s", err.msg);
    cr_assert(strstr(err.msg, "from_disk.yaml"), "%s", err.msg);
    rmdir(dir);
}

Test(pipe_spec, unknown_type_lists_known_ones) {
    load_fails("p.yaml", "tasks:\n  a:\n    type: nope\n", "p.yaml:3: tasks.a.type: unknown task type \"nope\"");
    load_fails("p.yaml", "tasks:\n  a:\n    type: nope\n", "t_echo");
    load_fails("p.yaml", "tasks:\n  a:\n    type: nope\n", "t_kinds");
}

Test(pipe_spec, names_from_files) {
    pipe_spec *s = load_ok("x/y/a-B_9.yaml", "tasks: {a: {type: t_echo, msg: x}}");
    cr_assert_str_eq(s->name, "a-B_9");
    pipe_spec_free(s);
    s = load_ok("noext", "tasks: {a: {type: t_echo, msg: x}}");
    cr_assert_str_eq(s->name, "noext");
    pipe_spec_free(s);
    load_fails("x/has space.yaml", "tasks: {a: {type: t_echo, msg: x}}", "x/has space.yaml: the pipeline's name");
    load_fails("x/dots.v2.yaml", "tasks: {a: {type: t_echo, msg: x}}", "rename the file");
    load_fails("x/.yaml", "tasks: {a: {type: t_echo, msg: x}}", "name");
    char longname[200];
    memset(longname, 'a', 101);
    strcpy(longname + 101, ".yaml");
    load_fails(longname, "tasks: {a: {type: t_echo, msg: x}}", "1 to 100");
    memset(longname, 'b', 100);
    strcpy(longname + 100, ".yaml");
    pipe_spec_free(load_ok(longname, "tasks: {a: {type: t_echo, msg: x}}"));
}

Test(pipe_spec, a_type_registered_later_replaces) {
    static const pipe_field f[] = {{"other", PIPE_FIELD_STRING, true, NULL}};
    static const pipe_task_type t2 = {.name = "t_later", .fields = f, .nfields = 1};
    load_fails("p.yaml", "tasks: {a: {type: t_later, other: x}}", "unknown task type");
    pipe_task_type_register(&t2);
    pipe_spec *s = load_ok("p.yaml", "tasks: {a: {type: t_later, other: x}}");
    cr_assert_eq(s->tasks[0].ttype, &t2);
    pipe_spec_free(s);
}

Test(pipe_spec, many_tasks_in_a_chain) {
    /* 2,000 tasks, each waiting for the one before, the last reading the
     * first's output: the graph checks are not quadratic in surprises */
    buf_t b = BUF_INIT;
    buf_puts(&b, "tasks:\n");
    for (int i = 0; i < 2000; i++) {
        buf_printf(&b, "  t%d:\n    type: t_echo\n", i);
        buf_printf(&b, "    msg: \"%s\"\n", i == 1999 ? "{{ tasks.t0.output.x }}" : "m");
        if (i) buf_printf(&b, "    upstream: t%d\n", i - 1);
    }
    pipe_spec *s = load_ok("chain.yaml", b.data);
    cr_assert_eq(s->ntasks, 2000);
    pipe_spec_free(s);
    /* close the loop: t0 waits for t1999 */
    buf_printf(&b, "  z:\n    type: t_echo\n    msg: m\n    upstream: [t5]\n");
    char *p = strstr(b.data, "  t0:\n    type: t_echo\n    msg: \"m\"\n");
    cr_assert(p);
    buf_t c = BUF_INIT;
    buf_append(&c, b.data, (size_t)(p - b.data));
    buf_puts(&c, "  t0:\n    type: t_echo\n    msg: \"m\"\n    upstream: t1999\n");
    buf_puts(&c, p + strlen("  t0:\n    type: t_echo\n    msg: \"m\"\n"));
    load_fails("chain.yaml", c.data,
               "chain.yaml:5: tasks.t0.upstream: the tasks wait for each other in a cycle: t0 -> t1999 -> t1998");
    buf_free(&b);
    buf_free(&c);
}
