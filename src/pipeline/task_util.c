/*
 * task_util.c: argument readers, result mapping, stop checks and the data
 * interval's partition values, shared by the built-in task types
 * (task_int.h). Arguments arrive rendered; these check their form again
 * because run() may be called without the spec loader (tests, the API's
 * dry runs), and say which key of which task is wrong and what it takes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "base/time.h"
#include "pipeline/task_int.h"

bool targ_bad(const pipe_task_ctx *c, const char *what, json_t *v, const char *expected, floe_err *err) {
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char shown[80];
    if (!text)
        snprintf(shown, sizeof shown, "missing");
    else if (strlen(text) > 60)
        snprintf(shown, sizeof shown, "%.57s...", text);
    else
        snprintf(shown, sizeof shown, "%s", text);
    free(text);
    floe_err_set(err, FLOE_EINVAL, "task %s: %s '%s' is %s; expected %s", c->task_id ? c->task_id : "?",
                 v ? "key" : "required key", what, shown, expected);
    return false;
}

static json_t *arg(const pipe_task_ctx *c, const char *key) {
    json_t *v = json_is_object(c->args) ? json_object_get(c->args, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

bool targ_str(const pipe_task_ctx *c, const char *key, bool required, const char **out, floe_err *err) {
    json_t *v = arg(c, key);
    *out = NULL;
    if (!v) return !required || targ_bad(c, key, NULL, "a string", err);
    if (!json_is_string(v)) return targ_bad(c, key, v, "a string", err);
    *out = json_string_value(v);
    return true;
}

bool tval_int(const pipe_task_ctx *c, const char *what, json_t *v, int64_t def, int64_t min, int64_t max, int64_t *out,
              floe_err *err) {
    char expected[96];
    snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)min, (long long)max);
    if (!v || json_is_null(v)) {
        *out = def;
        return true;
    }
    int64_t x;
    if (json_is_integer(v))
        x = json_integer_value(v);
    else if (!json_is_string(v) || !str_to_i64_range(json_string_value(v), INT64_MIN, INT64_MAX, &x))
        return targ_bad(c, what, v, expected, err);
    if (x < min || x > max) return targ_bad(c, what, v, expected, err);
    *out = x;
    return true;
}

bool targ_int(const pipe_task_ctx *c, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out,
              floe_err *err) {
    return tval_int(c, key, arg(c, key), def, min, max, out, err);
}

bool tval_duration(const pipe_task_ctx *c, const char *what, json_t *v, int64_t def, int64_t *out, floe_err *err) {
    const char *expected = "a duration like \"30s\", \"5m\", \"1h30m\" or \"500ms\" (a bare number is seconds)";
    if (!v || json_is_null(v)) {
        *out = def;
        return true;
    }
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > INT64_MAX / 1000)
            return targ_bad(c, what, v, expected, err);
        *out = json_integer_value(v) * 1000;
        return true;
    }
    if (!json_is_string(v) || !time_duration_parse(json_string_value(v), out) || *out < 0)
        return targ_bad(c, what, v, expected, err);
    return true;
}

bool targ_duration(const pipe_task_ctx *c, const char *key, int64_t def, int64_t *out, floe_err *err) {
    return tval_duration(c, key, arg(c, key), def, out, err);
}

bool targ_bool(const pipe_task_ctx *c, const char *key, bool def, bool *out, floe_err *err) {
    json_t *v = arg(c, key);
    if (!v)
        *out = def;
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_string(v) && (!strcmp(json_string_value(v), "true") || !strcmp(json_string_value(v), "false")))
        *out = !strcmp(json_string_value(v), "true");
    else
        return targ_bad(c, key, v, "true or false", err);
    return true;
}

bool targ_object(const pipe_task_ctx *c, const char *key, bool required, json_t **out, floe_err *err) {
    json_t *v = arg(c, key);
    *out = NULL;
    if (!v) return !required || targ_bad(c, key, NULL, "a mapping", err);
    if (!json_is_object(v)) return targ_bad(c, key, v, "a mapping (key: value, ...)", err);
    *out = v;
    return true;
}

bool targ_array(const pipe_task_ctx *c, const char *key, bool required, json_t **out, floe_err *err) {
    json_t *v = arg(c, key);
    *out = NULL;
    if (!v) return !required || targ_bad(c, key, NULL, "a list", err);
    if (!json_is_array(v)) return targ_bad(c, key, v, "a list ([a, b] or one \"- item\" per line)", err);
    *out = v;
    return true;
}

bool tval_is_template(json_t *v) { return json_is_string(v) && strstr(json_string_value(v), "{{"); }

pipe_task_result task_failed(const floe_err *err) {
    return err->code == FLOE_EINVAL ? PIPE_TASK_FAILED_NOW : PIPE_TASK_FAILED;
}

bool task_stopping(const pipe_task_ctx *c, floe_err *err) {
    if (c->cancel && *c->cancel)
        return !floe_err_set(err, FLOE_EIO, "task %s was cancelled (timeout, shutdown or clear)", c->task_id);
    if (c->deadline_ms > 0 && time_now_ms() >= c->deadline_ms)
        return !floe_err_set(err, FLOE_EIO, "task %s ran past its execution_timeout", c->task_id);
    return false;
}

void task_interval_of(int64_t ms, task_interval *out) {
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out->ds, sizeof out->ds, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    snprintf(out->hr, sizeof out->hr, "%02d", tm.tm_hour);
    snprintf(out->min, sizeof out->min, "%02d", tm.tm_min);
}
