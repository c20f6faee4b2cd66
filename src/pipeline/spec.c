/*
 * spec.c: pipeline specs, the YAML files under the pipelines directory
 * (pipeline.h, "specs").
 *
 * base/yaml.h reads a file into JSON and remembers the line of every key,
 * so every error here is "FILE:LINE: KEY: what is wrong; what to write",
 * with KEY the dotted path (tasks.crawl.retry_delay). Checks run in three
 * passes: the top-level keys, each task on its own (its common keys, then
 * the keys its type declares), and the graph (upstream ids, cycles, and
 * templates that read the output of a task that is not upstream). All of
 * them run on the document's own nodes, whose lines are known; only then
 * are params and each task's arguments copied into the spec, so the
 * document can go.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/time.h"
#include "base/yaml.h"
#include "pipeline/pipeline.h"

#define MAX_TASKS 10000
#define ID_MAX 100

#define HELP_DURATION "a duration such as 30s, 5m, 1h30m or 1d, or a whole number of seconds"
#define HELP_TIME "a date or time in UTC such as 2026-01-01, 2026-01-01T06:00 or 2026-01-01T06:00:00+02:00"
#define HELP_BOOL "true or false"
#define HELP_SCHEDULE                                                                                                  \
    "a cron expression such as \"30 2 * * *\", @hourly, @daily, @weekly, @monthly, @yearly, \"every 15m\" or none"
#define HELP_TRIGGER "all_success, all_done, all_failed, one_success, one_failed, none_failed or always"

static const char *const top_keys[] = {"description",
                                       "schedule",
                                       "start_date",
                                       "end_date",
                                       "catchup",
                                       "max_active_runs",
                                       "max_active_tasks",
                                       "paused",
                                       "params",
                                       "retries",
                                       "retry_delay",
                                       "retry_exponential_backoff",
                                       "max_retry_delay",
                                       "execution_timeout",
                                       "tasks",
                                       NULL};

static const char *const task_keys[] = {"type",
                                        "upstream",
                                        "trigger_rule",
                                        "retries",
                                        "retry_delay",
                                        "retry_exponential_backoff",
                                        "max_retry_delay",
                                        "execution_timeout",
                                        NULL};

typedef struct loader {
    const yaml_doc *doc;
    const char *file;
    floe_err *err;
} loader;

/* "FILE:LINE: PATH: message" (no ":LINE" when it is unknown). */
static bool fail(loader *l, int line, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool fail(loader *l, int line, const char *path, const char *fmt, ...) {
    char msg[sizeof l->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char at[32] = "";
    if (line > 0) snprintf(at, sizeof at, ":%d", line);
    if (path) return floe_err_set(l->err, FLOE_EINVAL, "%s%s: %s: %s", l->file, at, path, msg);
    return floe_err_set(l->err, FLOE_EINVAL, "%s%s: %s", l->file, at, msg);
}

static int line_of(loader *l, json_t *obj, const char *key) { return yaml_line(l->doc, obj, key, 0); }

static bool valid_id(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static const char *kind_of(json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "nothing (null)";
    }
    return "?";
}

/* Edit distance with transpositions (optimal string alignment), for
 * "did you mean". */
static size_t distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40) return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= na; i++) d[i][0] = i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[na][nb];
}

/* How close key is to name, lower is closer; 99 when not close enough to
 * suggest: a typo or two, or the start of the name. */
static size_t closeness(const char *key, const char *name) {
    size_t n = strlen(key), d = distance(key, name);
    if (d <= 1 || (d <= 2 && n >= 5) || (d <= 3 && n >= 9)) return d;
    if (n >= 4 && !strncmp(name, key, n)) return 3;
    return 99;
}

/* " (did you mean x?)" when a known name is close to key, else "". */
static void suggest(const char *key, const char *const *names, const pipe_field *fields, size_t nfields, char *out,
                    size_t cap) {
    const char *best = NULL;
    size_t bd = 99;
    for (size_t i = 0; names && names[i]; i++) {
        size_t d = closeness(key, names[i]);
        if (d < bd) bd = d, best = names[i];
    }
    for (size_t i = 0; i < nfields; i++) {
        size_t d = closeness(key, fields[i].name);
        if (d < bd) bd = d, best = fields[i].name;
    }
    if (best)
        snprintf(out, cap, " (did you mean %s?)", best);
    else
        out[0] = 0;
}

static bool is_in(const char *key, const char *const *names) {
    for (size_t i = 0; names[i]; i++)
        if (!strcmp(key, names[i])) return true;
    return false;
}

/* ------------------------------------------------------------ values */

static bool get_int(loader *l, json_t *obj, const char *key, const char *path, int lo, int hi, int *out) {
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = (int)json_integer_value(v);
        return true;
    }
    if (json_is_integer(v))
        return fail(l, line_of(l, obj, key), path, "%lld is out of range; expected an integer from %d to %d",
                    (long long)json_integer_value(v), lo, hi);
    return fail(l, line_of(l, obj, key), path, "expected an integer from %d to %d, got %s", lo, hi, kind_of(v));
}

static bool get_bool(loader *l, json_t *obj, const char *key, const char *path, bool *out) {
    json_t *v = json_object_get(obj, key);
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    return fail(l, line_of(l, obj, key), path, "expected %s, got %s%s%s%s", HELP_BOOL, kind_of(v),
                json_is_string(v) ? " \"" : "", json_is_string(v) ? json_string_value(v) : "",
                json_is_string(v) ? "\"" : "");
}

static bool get_duration(loader *l, json_t *obj, const char *key, const char *path, int64_t *out) {
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT64_MAX / 1000) {
        *out = json_integer_value(v) * 1000;
        return true;
    }
    if (json_is_string(v) && time_duration_parse(json_string_value(v), out)) return true;
    if (json_is_string(v))
        return fail(l, line_of(l, obj, key), path, "\"%s\" is not a duration; expected %s", json_string_value(v),
                    HELP_DURATION);
    return fail(l, line_of(l, obj, key), path, "expected %s, got %s", HELP_DURATION, kind_of(v));
}

static bool get_time(loader *l, json_t *obj, const char *key, const char *path, int64_t *out) {
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) { /* epoch ms */
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_string(v) && pipe_time_parse(json_string_value(v), out)) return true;
    if (json_is_string(v))
        return fail(l, line_of(l, obj, key), path, "\"%s\" is not a date; expected %s", json_string_value(v),
                    HELP_TIME);
    return fail(l, line_of(l, obj, key), path, "expected %s, got %s", HELP_TIME, kind_of(v));
}

/* Reads the retry keys present in obj into r; absent ones stay as they are. */
static bool get_retry(loader *l, json_t *obj, const char *prefix, pipe_retry_policy *r) {
    char path[160];
#define PATH(k) (snprintf(path, sizeof path, "%s%s", prefix, k), path)
    if (json_object_get(obj, "retries") && !get_int(l, obj, "retries", PATH("retries"), 0, 1000, &r->retries))
        return false;
    if (json_object_get(obj, "retry_delay") &&
        !get_duration(l, obj, "retry_delay", PATH("retry_delay"), &r->retry_delay_ms))
        return false;
    if (json_object_get(obj, "retry_exponential_backoff")) {
        bool b;
        if (!get_bool(l, obj, "retry_exponential_backoff", PATH("retry_exponential_backoff"), &b)) return false;
        r->retry_exponential = b;
    }
    if (json_object_get(obj, "max_retry_delay") &&
        !get_duration(l, obj, "max_retry_delay", PATH("max_retry_delay"), &r->max_retry_delay_ms))
        return false;
    if (json_object_get(obj, "execution_timeout") &&
        !get_duration(l, obj, "execution_timeout", PATH("execution_timeout"), &r->execution_timeout_ms))
        return false;
#undef PATH
    return true;
}

/* ------------------------------------------------------------ top level */

static bool name_from_file(pipe_spec *s, const char *file, floe_err *err) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    s->name = arena_strndup(&s->arena, base, n);
    if (!valid_id(s->name))
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: the pipeline's name \"%.100s\" comes from the file name and must be 1 to %d "
                            "letters, digits, _ or -; rename the file (e.g. my_pipeline.yaml)",
                            file, s->name, ID_MAX);
    return true;
}

static bool load_top(loader *l, json_t *root, pipe_spec *s) {
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (is_in(key, top_keys)) continue;
        char hint[64];
        suggest(key, top_keys, NULL, 0, hint, sizeof hint);
        return fail(l, line_of(l, root, key), key,
                    "unknown key%s; a pipeline's keys are description, schedule, start_date, end_date, catchup, "
                    "max_active_runs, max_active_tasks, paused, params, retries, retry_delay, "
                    "retry_exponential_backoff, max_retry_delay, execution_timeout and tasks",
                    hint);
    }
    if ((v = json_object_get(root, "description")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(l, line_of(l, root, "description"), "description", "expected a string, got %s", kind_of(v));
        s->description = arena_strdup(&s->arena, json_string_value(v));
    }
    if ((v = json_object_get(root, "start_date")) && !get_time(l, root, "start_date", "start_date", &s->start_ms))
        return false;
    if ((v = json_object_get(root, "end_date")) && !json_is_null(v)) {
        if (!get_time(l, root, "end_date", "end_date", &s->end_ms)) return false;
        if (s->start_ms != INT64_MIN && s->end_ms < s->start_ms)
            return fail(l, line_of(l, root, "end_date"), "end_date", "comes before start_date; it must not");
    }
    if ((v = json_object_get(root, "schedule")) && !json_is_null(v)) {
        char text[64];
        const char *t;
        if (json_is_integer(v) && json_integer_value(v) > 0) { /* a number of seconds */
            snprintf(text, sizeof text, "%llds", (long long)json_integer_value(v));
            t = text;
        } else if (json_is_string(v)) {
            t = json_string_value(v);
        } else {
            return fail(l, line_of(l, root, "schedule"), "schedule", "expected %s, got %s", HELP_SCHEDULE, kind_of(v));
        }
        floe_err e = {0};
        if (!pipe_schedule_parse(t, &s->schedule, &e))
            return fail(l, line_of(l, root, "schedule"), "schedule", "%s", e.msg);
        if (s->schedule.kind != PIPE_SCHED_NONE && s->start_ms == INT64_MIN)
            return fail(l, line_of(l, root, "schedule"), "schedule",
                        "a schedule needs start_date, where its first data interval starts; add e.g. "
                        "start_date: 2026-01-01 (UTC), or write schedule: none to run only when triggered");
    }
    if (json_object_get(root, "catchup") && !get_bool(l, root, "catchup", "catchup", &s->catchup)) return false;
    if (json_object_get(root, "paused") && !get_bool(l, root, "paused", "paused", &s->paused)) return false;
    if (json_object_get(root, "max_active_runs") &&
        !get_int(l, root, "max_active_runs", "max_active_runs", 1, 10000, &s->max_active_runs))
        return false;
    if (json_object_get(root, "max_active_tasks") &&
        !get_int(l, root, "max_active_tasks", "max_active_tasks", 1, 10000, &s->max_active_tasks))
        return false;
    if ((v = json_object_get(root, "params")) && !json_is_null(v) && !json_is_object(v))
        return fail(l, line_of(l, root, "params"), "params",
                    "expected a mapping of parameter names to default values, got %s", kind_of(v));
    return get_retry(l, root, "", &s->retry);
}

/* ------------------------------------------------------------ tasks */

static void list_types(char *out, size_t cap) {
    size_t n = 0, ntypes;
    const pipe_task_type *const *types = pipe_task_types(&ntypes);
    out[0] = 0;
    for (size_t i = 0; i < ntypes && n + 4 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", types[i]->name);
    if (!ntypes) snprintf(out, cap, "(none are registered)");
}

static const char *field_kind_help(pipe_field_kind k) {
    switch (k) {
    case PIPE_FIELD_STRING: return "a string";
    case PIPE_FIELD_INT: return "an integer";
    case PIPE_FIELD_BOOL: return HELP_BOOL;
    case PIPE_FIELD_DURATION: return HELP_DURATION;
    case PIPE_FIELD_OBJECT: return "a mapping";
    case PIPE_FIELD_ARRAY: return "a list";
    case PIPE_FIELD_ANY: return "any value";
    }
    return "?";
}

static bool field_kind_ok(json_t *v, pipe_field_kind k) {
    int64_t ms;
    if (json_is_string(v) && strstr(json_string_value(v), "{{")) return true; /* checked after rendering */
    switch (k) {
    case PIPE_FIELD_STRING: return json_is_string(v);
    case PIPE_FIELD_INT: return json_is_integer(v);
    case PIPE_FIELD_BOOL: return json_is_boolean(v);
    case PIPE_FIELD_DURATION:
        return (json_is_integer(v) && json_integer_value(v) >= 0) ||
               (json_is_string(v) && time_duration_parse(json_string_value(v), &ms));
    case PIPE_FIELD_OBJECT: return json_is_object(v);
    case PIPE_FIELD_ARRAY: return json_is_array(v);
    case PIPE_FIELD_ANY: return true;
    }
    return false;
}

static void list_fields(const pipe_task_type *t, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < t->nfields && n + 4 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s%s", i ? ", " : "", t->fields[i].name,
                              t->fields[i].required ? " (required)" : "");
    if (!t->nfields) snprintf(out, cap, "no keys of its own");
}

static bool load_upstream(loader *l, json_t *task, const char *id, pipe_task_spec *ts, arena_t *a) {
    json_t *v = json_object_get(task, "upstream");
    char path[160];
    snprintf(path, sizeof path, "tasks.%s.upstream", id);
    if (!v || json_is_null(v)) return true;
    if (json_is_string(v)) {
        ts->upstream = arena_alloc(a, sizeof *ts->upstream);
        ts->upstream[0] = arena_strdup(a, json_string_value(v));
        ts->nupstream = 1;
        return true;
    }
    if (!json_is_array(v))
        return fail(l, line_of(l, task, "upstream"), path, "expected a task id or a list of task ids, got %s",
                    kind_of(v));
    ts->upstream = arena_alloc(a, (json_array_size(v) + 1) * sizeof *ts->upstream);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_string(item))
            return fail(l, yaml_line(l->doc, v, NULL, i), path, "item %zu: expected a task id, got %s", i + 1,
                        kind_of(item));
        const char *up = json_string_value(item);
        bool dup = false;
        for (size_t j = 0; j < ts->nupstream; j++) dup |= !strcmp(ts->upstream[j], up);
        if (!dup) ts->upstream[ts->nupstream++] = arena_strdup(a, up); /* a repeat is harmless */
    }
    return true;
}

static bool load_trigger(loader *l, json_t *task, const char *id, pipe_task_spec *ts) {
    json_t *v = json_object_get(task, "trigger_rule");
    ts->trigger_rule = PIPE_TRIGGER_ALL_SUCCESS;
    if (!v) return true;
    for (int r = PIPE_TRIGGER_ALL_SUCCESS; r <= PIPE_TRIGGER_ALWAYS; r++)
        if (json_is_string(v) && !strcmp(json_string_value(v), pipe_trigger_name(r))) {
            ts->trigger_rule = r;
            return true;
        }
    char path[160];
    snprintf(path, sizeof path, "tasks.%s.trigger_rule", id);
    if (json_is_string(v))
        return fail(l, line_of(l, task, "trigger_rule"), path, "unknown rule \"%s\"; expected %s", json_string_value(v),
                    HELP_TRIGGER);
    return fail(l, line_of(l, task, "trigger_rule"), path, "expected %s, got %s", HELP_TRIGGER, kind_of(v));
}

/* The type's own keys: each declared, of its kind, the required ones
 * present; then the type's validate. Fills ts->args with copies. */
static bool load_args(loader *l, json_t *task, const char *id, pipe_task_spec *ts) {
    const pipe_task_type *t = ts->ttype;
    char path[256], have[300];
    const char *key;
    json_t *v;
    ts->args = json_object();
    json_object_foreach(task, key, v) {
        if (is_in(key, task_keys)) continue;
        snprintf(path, sizeof path, "tasks.%s.%s", id, key);
        const pipe_field *f = NULL;
        for (size_t i = 0; i < t->nfields && !f; i++)
            if (!strcmp(t->fields[i].name, key)) f = &t->fields[i];
        if (!f) {
            char hint[64];
            suggest(key, task_keys, t->fields, t->nfields, hint, sizeof hint);
            list_fields(t, have, sizeof have);
            return fail(l, line_of(l, task, key), path,
                        "unknown key%s; a %s task takes %s; every task takes type, upstream, trigger_rule, "
                        "retries, retry_delay, retry_exponential_backoff, max_retry_delay and execution_timeout",
                        hint, t->name, have);
        }
        if (json_is_null(v) && f->kind != PIPE_FIELD_ANY) continue; /* an empty value: as if absent */
        if (!field_kind_ok(v, f->kind)) {
            char got[96];
            if (json_is_string(v))
                snprintf(got, sizeof got, "\"%.60s\"", json_string_value(v));
            else
                snprintf(got, sizeof got, "%s", kind_of(v));
            return fail(l, line_of(l, task, key), path, "expected %s%s%s%s, got %s", field_kind_help(f->kind),
                        f->help ? " (" : "", f->help ? f->help : "", f->help ? ")" : "", got);
        }
        json_object_set_new(ts->args, key, json_deep_copy(v));
    }
    for (size_t i = 0; i < t->nfields; i++) {
        const pipe_field *f = &t->fields[i];
        if (!f->required || json_object_get(ts->args, f->name)) continue;
        snprintf(path, sizeof path, "tasks.%s", id);
        return fail(l, ts->line, path, "a %s task needs %s: %s%s%s%s", t->name, f->name, field_kind_help(f->kind),
                    f->help ? " (" : "", f->help ? f->help : "", f->help ? ")" : "");
    }
    floe_err e = {0};
    if (t->validate && !t->validate(ts->args, &e)) {
        snprintf(path, sizeof path, "tasks.%s", id);
        return fail(l, ts->line, path, "%s", e.msg[0] ? e.msg : "rejected by its type");
    }
    return true;
}

static bool load_task(loader *l, json_t *tasks, const char *id, json_t *task, pipe_spec *s, pipe_task_spec *ts) {
    char path[160];
    snprintf(path, sizeof path, "tasks.%.100s", id);
    ts->line = line_of(l, tasks, id);
    if (!valid_id(id)) return fail(l, ts->line, path, "a task id must be 1 to %d letters, digits, _ or -", ID_MAX);
    ts->id = arena_strdup(&s->arena, id);
    if (!json_is_object(task))
        return fail(l, ts->line, path,
                    "expected a mapping with type: and the type's keys (e.g. %s: {type: log, message: hi}), got %s", id,
                    kind_of(task));
    json_t *type = json_object_get(task, "type");
    char types[300];
    if (!type) {
        list_types(types, sizeof types);
        return fail(l, ts->line, path, "a task needs type: one of %s", types);
    }
    snprintf(path, sizeof path, "tasks.%s.type", id);
    if (!json_is_string(type))
        return fail(l, line_of(l, task, "type"), path, "expected the name of a task type, got %s", kind_of(type));
    ts->type = arena_strdup(&s->arena, json_string_value(type));
    ts->ttype = pipe_task_type_find(ts->type);
    if (!ts->ttype) {
        list_types(types, sizeof types);
        return fail(l, line_of(l, task, "type"), path, "unknown task type \"%s\"; the types are %s", ts->type, types);
    }
    ts->retry = (pipe_retry_policy){-1, -1, -1, -1, -1};
    snprintf(path, sizeof path, "tasks.%s.", id);
    if (!load_upstream(l, task, id, ts, &s->arena) || !load_trigger(l, task, id, ts) ||
        !get_retry(l, task, path, &ts->retry) || !load_args(l, task, id, ts))
        return false;
    /* unset retry settings inherit the pipeline's */
    if (ts->retry.retries < 0) ts->retry.retries = s->retry.retries;
    if (ts->retry.retry_delay_ms < 0) ts->retry.retry_delay_ms = s->retry.retry_delay_ms;
    if (ts->retry.retry_exponential < 0) ts->retry.retry_exponential = s->retry.retry_exponential;
    if (ts->retry.max_retry_delay_ms < 0) ts->retry.max_retry_delay_ms = s->retry.max_retry_delay_ms;
    if (ts->retry.execution_timeout_ms < 0) ts->retry.execution_timeout_ms = s->retry.execution_timeout_ms;
    return true;
}

/* ------------------------------------------------------------ the graph */

/* The index of task id[0..n) (index maps id to position), or -1. */
static long task_index(json_t *index, const char *id, size_t n) {
    char key[ID_MAX + 1];
    if (n > ID_MAX) return -1;
    memcpy(key, id, n);
    key[n] = 0;
    json_t *v = json_object_get(index, key);
    return v ? (long)json_integer_value(v) : -1;
}

/* The line of upstream item j of task i (or of its upstream: key). */
static int upstream_line(loader *l, json_t *tasks, const pipe_task_spec *t, size_t j) {
    json_t *task = json_object_get(tasks, t->id);
    json_t *up = json_object_get(task, "upstream");
    if (json_is_array(up))
        for (size_t k = 0; k < json_array_size(up); k++)
            if (!strcmp(json_string_value(json_array_get(up, k)), t->upstream[j]))
                return yaml_line(l->doc, up, NULL, k);
    return line_of(l, task, "upstream");
}

/* Resolves upstream ids into up[i][...] indexes; then Kahn's algorithm: a
 * task left over once every task whose upstreams all finished is gone is
 * on (or behind) a cycle, and following left-over upstreams from it finds
 * one. */
static bool check_graph(loader *l, json_t *tasks, json_t *index, pipe_spec *s, size_t **up) {
    char path[160];
    size_t n = s->ntasks, nedges = 0;
    for (size_t i = 0; i < n; i++) {
        pipe_task_spec *t = &s->tasks[i];
        snprintf(path, sizeof path, "tasks.%s.upstream", t->id);
        for (size_t j = 0; j < t->nupstream; j++) {
            long k = task_index(index, t->upstream[j], strlen(t->upstream[j]));
            if (k < 0)
                return fail(l, upstream_line(l, tasks, t, j), path,
                            "no task \"%s\" in this pipeline; upstream names tasks under tasks:", t->upstream[j]);
            if ((size_t)k == i) return fail(l, upstream_line(l, tasks, t, j), path, "a task cannot wait for itself");
            up[i][j] = (size_t)k;
        }
        nedges += t->nupstream;
    }
    /* downstream lists, CSR: down[first[d] .. first[d+1]) wait for d */
    size_t *first = calloc(n + 1, sizeof *first), *down = calloc(nedges + 1, sizeof *down);
    size_t *waiting = calloc(n, sizeof *waiting), *queue = calloc(n, sizeof *queue);
    bool *done = calloc(n, sizeof *done);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s->tasks[i].nupstream; j++) first[up[i][j] + 1]++;
    for (size_t d = 0; d < n; d++) first[d + 1] += first[d];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s->tasks[i].nupstream; j++) down[first[up[i][j]] + waiting[up[i][j]]++] = i;
    size_t qh = 0, qt = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        if (!(waiting[i] = s->tasks[i].nupstream)) queue[qt++] = i;
    while (qh < qt) {
        size_t d = queue[qh++];
        done[d] = true;
        for (size_t e = first[d]; e < first[d + 1]; e++)
            if (--waiting[down[e]] == 0) queue[qt++] = down[e];
    }
    if (qt < n) {
        size_t at = 0;
        while (done[at]) at++;
        size_t *seen = calloc(n, sizeof *seen); /* the step (from 1) at which a task was reached */
        size_t *order = calloc(n + 1, sizeof *order), steps = 0;
        while (!seen[at]) {
            seen[at] = ++steps;
            order[steps - 1] = at;
            size_t j = 0;
            while (done[up[at][j]]) j++;
            at = up[at][j];
        }
        /* the cycle is order[seen[at]-1 .. steps); print it from its task
         * declared first, each waiting for the next */
        size_t from = seen[at] - 1, len = steps - from, low = from;
        for (size_t k = from; k < steps; k++)
            if (order[k] < order[low]) low = k;
        char cyc[300];
        size_t c = 0;
        for (size_t k = 0; k <= len && c + 4 < sizeof cyc; k++)
            c += (size_t)snprintf(cyc + c, sizeof cyc - c, "%s%s", k ? " -> " : "",
                                  s->tasks[order[from + (low - from + k) % len]].id);
        pipe_task_spec *t = &s->tasks[order[low]];
        snprintf(path, sizeof path, "tasks.%s.upstream", t->id);
        ok = fail(l, line_of(l, json_object_get(tasks, t->id), "upstream"), path,
                  "the tasks wait for each other in a cycle: %s (each waits for the next); remove one of these "
                  "upstream links",
                  cyc);
        free(seen);
        free(order);
    }
    free(first);
    free(down);
    free(waiting);
    free(queue);
    free(done);
    return ok;
}

typedef struct ref_check {
    loader *l;
    json_t *index;
    const bool *ancestor;
    const char *task_id;
    const char *path;
    int line;
    bool ok;
} ref_check;

static void check_ref(const char *id, size_t n, void *arg) {
    ref_check *rc = arg;
    if (!rc->ok) return;
    long k = task_index(rc->index, id, n);
    if (k < 0)
        rc->ok = fail(rc->l, rc->line, rc->path, "the template reads tasks.%.*s, but there is no task %.*s", (int)n, id,
                      (int)n, id);
    else if (!rc->ancestor[k])
        rc->ok = fail(rc->l, rc->line, rc->path,
                      "the template reads the output of %.*s, which is not upstream of %s; add %.*s to its "
                      "upstream (directly or through another task)",
                      (int)n, id, rc->task_id, (int)n, id);
}

/* Every string in v (a node of the document) must be a good template
 * that reads only the output of tasks upstream of rc->task_id. */
static bool check_templates(ref_check *rc, json_t *container, const char *key, size_t index, json_t *v,
                            const char *path) {
    if (json_is_string(v)) {
        rc->line = yaml_line(rc->l->doc, container, key, index);
        rc->path = path;
        floe_err e = {0};
        if (!pipe_template_check(json_string_value(v), &e)) return fail(rc->l, rc->line, path, "%s", e.msg);
        pipe_template_task_refs(json_string_value(v), check_ref, rc);
        return rc->ok;
    }
    char sub[512];
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!check_templates(rc, v, NULL, i, json_array_get(v, i), sub)) return false;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) {
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            if (!check_templates(rc, v, k, 0, item, sub)) return false;
        }
    }
    return true;
}

static bool check_task_templates(loader *l, json_t *tasks, json_t *index, pipe_spec *s, size_t **up) {
    bool *anc = calloc(s->ntasks, sizeof *anc);
    size_t *stack = calloc(s->ntasks, sizeof *stack);
    bool ok = true;
    for (size_t i = 0; i < s->ntasks && ok; i++) {
        pipe_task_spec *t = &s->tasks[i];
        if (!json_object_size(t->args)) continue;
        /* the task's ancestors, by a walk up its upstreams */
        memset(anc, 0, s->ntasks * sizeof *anc);
        size_t sp = 0;
        stack[sp++] = i;
        while (sp) {
            size_t x = stack[--sp];
            for (size_t j = 0; j < s->tasks[x].nupstream; j++)
                if (!anc[up[x][j]]) anc[up[x][j]] = true, stack[sp++] = up[x][j];
        }
        ref_check rc = {.l = l, .index = index, .ancestor = anc, .task_id = t->id, .ok = true};
        json_t *task = json_object_get(tasks, t->id);
        const char *k;
        json_t *v;
        json_object_foreach(task, k, v) {
            if (is_in(k, task_keys) || !json_object_get(t->args, k)) continue;
            char path[256];
            snprintf(path, sizeof path, "tasks.%s.%s", t->id, k);
            if (!(ok = check_templates(&rc, task, k, 0, v, path))) break;
        }
    }
    free(anc);
    free(stack);
    return ok;
}

static bool load_tasks(loader *l, json_t *root, pipe_spec *s) {
    json_t *tasks = json_object_get(root, "tasks");
    if (!tasks)
        return fail(l, yaml_node_line(l->doc, root), NULL,
                    "a pipeline needs tasks: a mapping of task id to task, e.g. tasks: {hello: {type: log, "
                    "message: hi}}");
    if (!json_is_object(tasks) || !json_object_size(tasks))
        return fail(l, line_of(l, root, "tasks"), "tasks", "expected a mapping of task id to task, got %s",
                    json_is_object(tasks) ? "an empty mapping" : kind_of(tasks));
    if (json_object_size(tasks) > MAX_TASKS)
        return fail(l, line_of(l, root, "tasks"), "tasks", "%zu tasks; a pipeline may have at most %d",
                    json_object_size(tasks), MAX_TASKS);
    s->tasks = arena_zalloc(&s->arena, json_object_size(tasks) * sizeof *s->tasks);
    const char *id;
    json_t *task;
    json_t *index = json_object(); /* id -> position */
    bool ok = true;
    json_object_foreach(tasks, id, task) {
        pipe_task_spec *ts = &s->tasks[s->ntasks++];
        if (!(ok = load_task(l, tasks, id, task, s, ts))) break;
        json_object_set_new(index, id, json_integer((json_int_t)s->ntasks - 1));
    }
    if (ok) {
        size_t **up = arena_alloc(&s->arena, s->ntasks * sizeof *up);
        for (size_t i = 0; i < s->ntasks; i++)
            up[i] = arena_alloc(&s->arena, (s->tasks[i].nupstream + 1) * sizeof **up);
        ok = check_graph(l, tasks, index, s, up) && check_task_templates(l, tasks, index, s, up);
    }
    json_decref(index);
    return ok;
}

/* ------------------------------------------------------------ loading */

void pipe_spec_free(pipe_spec *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ntasks; i++) json_decref(s->tasks[i].args);
    json_decref(s->params);
    arena_free(&s->arena);
    free(s);
}

pipe_spec *pipe_spec_load_str(const char *text, size_t len, const char *file, floe_err *err) {
    pipe_spec *s = calloc(1, sizeof *s);
    if (!s) {
        floe_err_set(err, FLOE_ENOMEM, "%s: out of memory", file);
        return NULL;
    }
    arena_init(&s->arena, 4096);
    s->file = arena_strdup(&s->arena, file);
    s->start_ms = INT64_MIN;
    s->end_ms = INT64_MAX;
    s->max_active_runs = 16;
    s->max_active_tasks = 16;
    s->retry = (pipe_retry_policy){.retries = 0,
                                   .retry_delay_ms = 300000,
                                   .retry_exponential = 0,
                                   .max_retry_delay_ms = 24LL * 3600000,
                                   .execution_timeout_ms = 0};
    pipe_schedule_parse("none", &s->schedule, NULL);
    hash_sha256(text, len, s->hash);
    loader l = {.file = file, .err = err};
    yaml_doc *doc = NULL;
    if (!name_from_file(s, file, err)) goto fail;
    doc = yaml_load_str(text, len, file, err);
    if (!doc) goto fail;
    l.doc = doc;
    json_t *root = yaml_root(doc);
    if (json_is_null(root)) {
        fail(&l, 1, NULL, "the spec is empty; a pipeline needs at least tasks:");
        goto fail;
    }
    if (!json_is_object(root)) {
        fail(&l, yaml_node_line(doc, root), NULL,
             "expected a mapping of keys (description, schedule, start_date, ..., tasks) at the top, got %s",
             kind_of(root));
        goto fail;
    }
    if (!load_top(&l, root, s) || !load_tasks(&l, root, s)) goto fail;
    json_t *params = json_object_get(root, "params");
    s->params = json_is_object(params) ? json_deep_copy(params) : json_object();
    yaml_free(doc);
    return s;
fail:
    yaml_free(doc);
    pipe_spec_free(s);
    return NULL;
}

pipe_spec *pipe_spec_load_file(const char *path, floe_err *err) {
    char *text = NULL;
    size_t len = 0;
    if (!fs_read_all(path, &text, &len, err)) return NULL;
    pipe_spec *s = pipe_spec_load_str(text, len, path, err);
    free(text);
    return s;
}

const pipe_task_spec *pipe_spec_task(const pipe_spec *s, const char *id) {
    if (!s || !id) return NULL;
    for (size_t i = 0; i < s->ntasks; i++)
        if (!strcmp(s->tasks[i].id, id)) return &s->tasks[i];
    return NULL;
}
