/*
 * template.c: {{ expr }} templates in task arguments (pipeline.h,
 * "templates").
 *
 * Deliberately not Jinja: an expression is one name, maybe a dotted path
 * (params.KEY..., tasks.ID.output.KEY...), with no filters, no logic and
 * no recursion: a rendered value is inserted as it is, even when it holds
 * "{{" itself. Every name evaluates to a JSON value, so pipe_render_json
 * can give a lone "{{ params.limit }}" the parameter's own type, and
 * pipe_render turns non-strings into compact JSON. pipe_template_check
 * lets the spec loader refuse a bad template before any run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline.h"

/* ------------------------------------------------------------ scanning */

/* One piece of a template: literal text, then maybe an expression. */
typedef struct tmpl_piece {
    const char *lit;
    size_t nlit;
    const char *expr; /* trimmed; NULL when the piece is only text */
    size_t nexpr;
    bool escape; /* lit is "{{" from "{{{{" */
} tmpl_piece;

/* The next piece at *p: 1, 0 at the end, -1 for a "{{" that is never
 * closed (*p is then at it). */
static int tmpl_next(const char **p, tmpl_piece *pc) {
    const char *s = *p;
    memset(pc, 0, sizeof *pc);
    if (!*s) return 0;
    const char *open = strstr(s, "{{");
    pc->lit = s;
    if (!open) {
        pc->nlit = strlen(s);
        *p = s + pc->nlit;
        return 1;
    }
    pc->nlit = (size_t)(open - s);
    if (!strncmp(open, "{{{{", 4)) { /* the text before, then "{{" */
        if (pc->nlit) {
            *p = open;
            return 1;
        }
        pc->lit = open, pc->nlit = 2, pc->escape = true;
        *p = open + 4;
        return 1;
    }
    const char *close = strstr(open + 2, "}}");
    if (!close) {
        *p = open;
        return -1;
    }
    const char *a = open + 2, *b = close;
    while (a < b && isspace((unsigned char)*a)) a++;
    while (b > a && isspace((unsigned char)b[-1])) b--;
    pc->expr = a;
    pc->nexpr = (size_t)(b - a);
    *p = close + 2;
    return 1;
}

static const char *const fixed_names[] = {"ds",
                                          "ds_nodash",
                                          "ts",
                                          "ts_nodash",
                                          "data_interval_start",
                                          "data_interval_end",
                                          "data_interval_start_ms",
                                          "data_interval_end_ms",
                                          "hr",
                                          "min",
                                          "run_id",
                                          "pipeline",
                                          "task_id",
                                          "try_number",
                                          NULL};

#define NAMES_HELP                                                                                                     \
    "the names are ds, ds_nodash, ts, ts_nodash, data_interval_start, data_interval_end, data_interval_start_ms, "     \
    "data_interval_end_ms, hr, min, run_id, pipeline, task_id, try_number, params.KEY and tasks.ID.output.KEY"

/* The dotted segments of an expression: each is one or more characters
 * other than space, '.', '{' and '}'. Returns the count, or -1. */
#define MAX_SEGS 32
static int split_path(const char *e, size_t n, const char *seg[MAX_SEGS], size_t len[MAX_SEGS]) {
    int k = 0;
    size_t i = 0;
    if (n == 0) return -1;
    for (;;) {
        size_t j = i;
        while (j < n && e[j] != '.' && !isspace((unsigned char)e[j]) && e[j] != '{' && e[j] != '}') j++;
        if (j == i || k == MAX_SEGS) return -1;
        seg[k] = e + i, len[k] = j - i, k++;
        if (j == n) return k;
        if (e[j] != '.') return -1;
        i = j + 1;
    }
}

static bool seg_is(const char *seg, size_t len, const char *name) {
    return strlen(name) == len && !memcmp(seg, name, len);
}

/* Checks the form of one expression without a context. */
static bool expr_check(const char *e, size_t n, floe_err *err) {
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    int k = split_path(e, n, seg, len);
    if (k < 0)
        return floe_err_set(err, FLOE_EINVAL,
                            "template \"{{ %.*s }}\": not a name; an expression is one name or dotted path, without "
                            "filters or operators; %s",
                            (int)n, e, NAMES_HELP);
    if (seg_is(seg[0], len[0], "params")) {
        if (k >= 2) return true;
        return floe_err_set(err, FLOE_EINVAL, "template \"{{ %.*s }}\": write params.KEY, naming a parameter", (int)n,
                            e);
    }
    if (seg_is(seg[0], len[0], "tasks")) {
        if (k >= 3 && seg_is(seg[2], len[2], "output")) return true;
        return floe_err_set(err, FLOE_EINVAL,
                            "template \"{{ %.*s }}\": write tasks.ID.output.KEY, naming an upstream task and a key "
                            "of its output",
                            (int)n, e);
    }
    for (int i = 0; fixed_names[i]; i++)
        if (k == 1 && seg_is(seg[0], len[0], fixed_names[i])) return true;
    return floe_err_set(err, FLOE_EINVAL, "template \"{{ %.*s }}\": unknown name \"%.*s\"; %s", (int)n, e, (int)len[0],
                        seg[0], NAMES_HELP);
}

static bool unclosed(const char *tmpl, const char *at, floe_err *err) {
    return floe_err_set(err, FLOE_EINVAL,
                        "template \"%.60s\": \"{{\" at offset %zu is never closed with \"}}\"; write \"{{{{\" for "
                        "a literal \"{{\"",
                        tmpl, (size_t)(at - tmpl));
}

bool pipe_template_check(const char *tmpl, floe_err *err) {
    const char *p = tmpl;
    tmpl_piece pc;
    int r;
    while ((r = tmpl_next(&p, &pc)) > 0)
        if (pc.expr && !expr_check(pc.expr, pc.nexpr, err)) return false;
    return r == 0 || unclosed(tmpl, p, err);
}

bool pipe_template_task_refs(const char *tmpl, void (*fn)(const char *task_id, size_t n, void *arg), void *arg) {
    const char *p = tmpl;
    tmpl_piece pc;
    int r;
    while ((r = tmpl_next(&p, &pc)) > 0) {
        if (!pc.expr) continue;
        const char *seg[MAX_SEGS];
        size_t len[MAX_SEGS];
        int k = split_path(pc.expr, pc.nexpr, seg, len);
        if (k >= 2 && seg_is(seg[0], len[0], "tasks")) fn(seg[1], len[1], arg);
    }
    return r == 0;
}

/* ------------------------------------------------------------ evaluating */

/* "2026-11-22T10:00:00Z" (".123" before the Z when ms is not whole), or
 * compact "20261122T100000" */
static void fmt_time(int64_t ms, bool nodash, char *out, size_t cap) {
    int64_t sec = ms / 1000 - (ms % 1000 < 0);
    int frac = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (nodash)
        snprintf(out, cap, "%04d%02d%02dT%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    else if (frac)
        snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    else
        snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
}

static json_t *fixed_value(const char *name, size_t n, const pipe_tmpl_ctx *c) {
    char b[64];
    if (seg_is(name, n, "ds") || seg_is(name, n, "ds_nodash")) {
        fmt_time(c->logical_ms, true, b, sizeof b);
        if (n == 2) {
            char d[16];
            snprintf(d, sizeof d, "%.4s-%.2s-%.2s", b, b + 4, b + 6);
            return json_string(d);
        }
        b[8] = 0;
        return json_string(b);
    }
    if (seg_is(name, n, "ts") || seg_is(name, n, "ts_nodash")) {
        fmt_time(c->logical_ms, n != 2, b, sizeof b);
        return json_string(b);
    }
    if (seg_is(name, n, "data_interval_start") || seg_is(name, n, "data_interval_end")) {
        fmt_time(name[14] == 's' ? c->interval_start_ms : c->interval_end_ms, false, b, sizeof b);
        return json_string(b);
    }
    if (seg_is(name, n, "data_interval_start_ms")) return json_integer(c->interval_start_ms);
    if (seg_is(name, n, "data_interval_end_ms")) return json_integer(c->interval_end_ms);
    if (seg_is(name, n, "hr") || seg_is(name, n, "min")) {
        fmt_time(c->interval_start_ms, true, b, sizeof b); /* YYYYMMDDTHHMMSS */
        return json_stringn(b + (n == 2 ? 9 : 11), 2);
    }
    if (seg_is(name, n, "try_number")) return json_integer(c->try_number);
    const char *s = seg_is(name, n, "run_id")     ? c->run_id
                    : seg_is(name, n, "pipeline") ? c->pipeline
                    : seg_is(name, n, "task_id")  ? c->task_id
                                                  : NULL;
    return s ? json_string(s) : NULL;
}

/* The keys of an object, for errors: "a, b, c" (or "none"). */
static void list_keys(json_t *obj, char *out, size_t cap) {
    size_t n = 0;
    const char *k;
    json_t *v;
    out[0] = 0;
    if (json_is_array(obj)) {
        snprintf(out, cap, "indexes 0 to %zu", json_array_size(obj) ? json_array_size(obj) - 1 : 0);
        if (!json_array_size(obj)) snprintf(out, cap, "no items");
        return;
    }
    json_object_foreach(obj, k, v) {
        (void)v;
        if (n + strlen(k) + 8 >= cap) {
            snprintf(out + n, cap - n, "%s...", n ? ", " : "");
            return;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", k);
    }
    if (!n) snprintf(out, cap, "none");
}

/* Follows seg[from..k) into v (borrowed); the error names the path. */
static json_t *walk(json_t *v, const char *e, size_t n, const char *seg[], size_t len[], int from, int k,
                    floe_err *err) {
    for (int i = from; i < k; i++) {
        char key[256], have[200];
        snprintf(key, sizeof key, "%.*s", (int)len[i], seg[i]);
        json_t *next = NULL;
        if (json_is_object(v)) {
            next = json_object_get(v, key);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long idx = strtoul(key, &end, 10);
            if (*end == 0 && isdigit((unsigned char)key[0])) next = json_array_get(v, idx);
        } else {
            floe_err_set(err, FLOE_EINVAL, "template \"{{ %.*s }}\": %.*s is a %s, not an object with key \"%s\"",
                         (int)n, e, (int)(seg[i - 1] + len[i - 1] - e), e,
                         json_is_string(v) ? "string"
                         : json_is_null(v) ? "null"
                                           : "number or boolean",
                         key);
            return NULL;
        }
        if (!next) {
            list_keys(v, have, sizeof have);
            floe_err_set(err, FLOE_EINVAL, "template \"{{ %.*s }}\": %.*s has no \"%s\"; it has %s", (int)n, e,
                         (int)(seg[i - 1] + len[i - 1] - e), e, key, have);
            return NULL;
        }
        v = next;
    }
    return v;
}

/* The value of one expression (a new reference), or NULL with err set. */
static json_t *expr_eval(const char *e, size_t n, const pipe_tmpl_ctx *c, floe_err *err) {
    if (!expr_check(e, n, err)) return NULL;
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    int k = split_path(e, n, seg, len);
    if (seg_is(seg[0], len[0], "params")) {
        json_t *empty = NULL, *params = c->params;
        if (!params) params = empty = json_object();
        json_t *v = walk(params, e, n, seg, len, 1, k, err);
        v = v ? json_deep_copy(v) : NULL; /* the result is the caller's to change */
        json_decref(empty);
        return v;
    }
    if (seg_is(seg[0], len[0], "tasks")) {
        char id[128];
        snprintf(id, sizeof id, "%.*s", (int)len[1], seg[1]);
        json_t *out = c->task_output ? c->task_output(c->task_output_arg, id) : NULL;
        if (!out) {
            floe_err_set(err, FLOE_EINVAL,
                         "template \"{{ %.*s }}\": task %s has no output here; it must be upstream of %s and have "
                         "succeeded",
                         (int)n, e, id, c->task_id ? c->task_id : "this task");
            return NULL;
        }
        json_t *v = walk(out, e, n, seg, len, 3, k, err);
        return v ? json_deep_copy(v) : NULL; /* the output is borrowed, maybe shared by other tasks */
    }
    json_t *v = fixed_value(seg[0], len[0], c);
    if (!v)
        floe_err_set(err, FLOE_EINVAL, "template \"{{ %.*s }}\": %.*s is not known here", (int)n, e, (int)len[0],
                     seg[0]);
    return v;
}

static void append_value(buf_t *out, json_t *v) {
    if (json_is_string(v)) {
        buf_append(out, json_string_value(v), json_string_length(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) buf_puts(out, s);
    free(s);
}

bool pipe_render(const char *tmpl, const pipe_tmpl_ctx *ctx, buf_t *out, floe_err *err) {
    const char *p = tmpl;
    tmpl_piece pc;
    int r;
    buf_append(out, "", 0); /* NUL-terminated even when empty */
    while ((r = tmpl_next(&p, &pc)) > 0) {
        buf_append(out, pc.lit, pc.nlit);
        if (!pc.expr) continue;
        json_t *v = expr_eval(pc.expr, pc.nexpr, ctx, err);
        if (!v) return false;
        append_value(out, v);
        json_decref(v);
    }
    return r == 0 || unclosed(tmpl, p, err);
}

/* A string that is one expression and nothing else takes its value. */
static json_t *render_string(json_t *v, const pipe_tmpl_ctx *ctx, floe_err *err) {
    const char *s = json_string_value(v);
    if (!strstr(s, "{{")) return json_deep_copy(v); /* never shared with the spec, which other threads read */
    const char *p = s;
    tmpl_piece pc, rest;
    if (tmpl_next(&p, &pc) > 0 && pc.nlit == 0 && pc.expr && tmpl_next(&p, &rest) == 0)
        return expr_eval(pc.expr, pc.nexpr, ctx, err);
    buf_t b = BUF_INIT;
    json_t *res = NULL;
    if (pipe_render(s, ctx, &b, err)) {
        res = json_stringn(b.data, b.len);
        if (!res) floe_err_set(err, FLOE_EINVAL, "template \"%.60s\": renders to text that is not UTF-8", s);
    }
    buf_free(&b);
    return res;
}

json_t *pipe_render_json(json_t *v, const pipe_tmpl_ctx *ctx, floe_err *err) {
    if (!v) {
        floe_err_set(err, FLOE_EINVAL, "no value to render");
        return NULL;
    }
    if (json_is_string(v)) return render_string(v, ctx, err);
    if (json_is_array(v)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = pipe_render_json(json_array_get(v, i), ctx, err);
            if (!item) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, item);
        }
        return arr;
    }
    if (json_is_object(v)) {
        json_t *obj = json_object();
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) {
            json_t *r = pipe_render_json(item, ctx, err);
            if (!r) {
                json_decref(obj);
                return NULL;
            }
            json_object_set_new(obj, k, r);
        }
        return obj;
    }
    return json_deep_copy(v);
}
