/*
 * task_load.c: load_raw, the downstream step of the seed's scraper: it
 * reads the raw JSONL a crawl landed (zstd-compressed, streamed, never
 * whole in memory), applies a declared column mapping (a dotted JSON path
 * per column, a type, a unit for numeric timestamps, optional or a
 * default) and writes a typed, partitioned Iceberg table, by default with
 * overwrite_partitions, so a rerun of the same source replaces what the
 * first run wrote.
 *
 * Each raw line becomes one line of JSON whose keys are the columns, and
 * those go through the text reader (format/text.h), which casts values to
 * the column types. The two keep line numbers in step (a blank raw line
 * stays a blank line), so an error of either kind names the source, the
 * line, the column and the value. On any error nothing is committed and
 * the files written so far are deleted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/str.h"
#include "pipeline/task_int.h"

typedef struct load_col {
    const char *name;
    const char *path;   /* as written, for messages */
    const char **parts; /* path split at '.' */
    size_t nparts;
    const char *type; /* as written */
    const fmt_field_t *field;
    int64_t unit_us; /* numeric timestamps: microseconds per unit (0: nanoseconds, divide) */
    bool optional;
    json_t *dflt; /* borrowed from the args; NULL: none */
} load_col;

typedef struct load_src {
    const pipe_task_ctx *c;
    const char *uri;
    task_stream raw; /* the source's bytes */
    char *line;
    size_t cap;
    uint64_t lineno;
    load_col *cols;
    size_t ncols;
} load_src;

static const pipe_field load_fields[] = {
    {"source", PIPE_FIELD_STRING, true,
     "the raw JSONL to load (.jsonl.zst or .jsonl), usually \"{{ tasks.wait.output.s3_path }}\""},
    {"table", PIPE_FIELD_STRING, true, "the table as NAMESPACE.TABLE, like market.trades (created when missing)"},
    {"columns", PIPE_FIELD_OBJECT, true,
     "a mapping of column: {path: a.b, type: long, unit: ms, optional: true, default: V}, or column: TYPE "
     "(the path is then the column's name)"},
    {"partition", PIPE_FIELD_STRING, false, "the partition spec of a created table, like \"day(trade_time)\""},
    {"mode", PIPE_FIELD_STRING, false, "overwrite_partitions (default), append or overwrite"},
    {"filter", PIPE_FIELD_STRING, false, "mode overwrite: the rows to replace (default: every row)"},
    {"ref", PIPE_FIELD_STRING, false, "the catalog branch to write on (default main)"},
};

static bool name_ok(const char *s) {
    if (!*s || (*s >= '0' && *s <= '9')) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool unit_parse(const char *u, int64_t *us) {
    if (!strcmp(u, "ms"))
        *us = 1000;
    else if (!strcmp(u, "s"))
        *us = 1000000;
    else if (!strcmp(u, "us"))
        *us = 1;
    else if (!strcmp(u, "ns"))
        *us = 0;
    else
        return false;
    return true;
}

/* One entry of columns: (path, type, unit, optional, default) or a type. */
static bool col_parse(const pipe_task_ctx *c, const char *name, json_t *v, load_col *col, floe_err *err) {
    const char *what = arena_sprintf(c->arena, "columns.%s", name);
    memset(col, 0, sizeof *col);
    col->name = name;
    col->path = name;
    col->unit_us = 1000;
    if (!name_ok(name)) return targ_bad(c, what, v, "a column name of letters, digits and _ (not first a digit)", err);
    if (json_is_string(v)) {
        col->type = json_string_value(v);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e) {
            const char *kw = arena_sprintf(c->arena, "%s.%s", what, k);
            if (!strcmp(k, "path") && json_is_string(e) && *json_string_value(e))
                col->path = json_string_value(e);
            else if (!strcmp(k, "type") && json_is_string(e))
                col->type = json_string_value(e);
            else if (!strcmp(k, "unit") && json_is_string(e) && unit_parse(json_string_value(e), &col->unit_us))
                continue;
            else if (!strcmp(k, "optional") && json_is_boolean(e))
                col->optional = json_is_true(e);
            else if (!strcmp(k, "default"))
                col->dflt = json_is_null(e) ? NULL : e;
            else if (!strcmp(k, "path") || !strcmp(k, "type") || !strcmp(k, "unit") || !strcmp(k, "optional"))
                return targ_bad(c, kw, e,
                                !strcmp(k, "unit")       ? "ms, s, us or ns"
                                : !strcmp(k, "optional") ? "true or false"
                                                         : "a string",
                                err);
            else
                return targ_bad(c, kw, e, "no such key: a column takes path, type, unit, optional and default", err);
        }
    }
    if (!col->type)
        return targ_bad(c, what, v,
                        "{path: a.b, type: TYPE} with TYPE one of string, int, long, double, boolean, decimal(P,S), "
                        "date, timestamp, timestamptz",
                        err);
    col->parts = arena_alloc(c->arena, (strlen(col->path) / 2 + 2) * sizeof *col->parts);
    for (const char *p = col->path;;) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!n) {
            json_t *pv = json_string(col->path);
            targ_bad(c, arena_sprintf(c->arena, "%s.path", what), pv, "a dotted path like price or data.trade.price",
                     err);
            json_decref(pv);
            return false;
        }
        col->parts[col->nparts++] = arena_strndup(c->arena, p, n);
        if (!e) break;
        p = e + 1;
    }
    return true;
}

/* Parses columns into cols and a schema ("name type [not null], ..."). */
static bool cols_parse(const pipe_task_ctx *c, json_t *spec, load_col **cols, size_t *n, fmt_schema_t *schema,
                       floe_err *err) {
    *n = json_object_size(spec);
    if (!*n) return targ_bad(c, "columns", spec, "at least one column: {path, type}", err);
    *cols = arena_zalloc(c->arena, (*n + 1) * sizeof **cols);
    buf_t text = {0};
    size_t i = 0;
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach(spec, k, v) {
        if (!(ok = col_parse(c, k, v, &(*cols)[i], err))) break;
        buf_printf(&text, "%s%s %s%s", i ? ", " : "", k, (*cols)[i].type, (*cols)[i].optional ? "" : " not null");
        i++;
    }
    if (ok && !fmt_schema_parse(text.data, c->arena, schema, err)) {
        err->code = FLOE_EINVAL;
        floe_err_wrap(err,
                      "task %s: a type in key 'columns' (string, int, long, double, boolean, decimal(P,S), date, "
                      "timestamp, timestamptz)",
                      c->task_id);
        ok = false;
    }
    buf_free(&text);
    return ok;
}

/* Binds each column to the table's field of that name and type. */
static bool cols_bind(const pipe_task_ctx *c, const task_table *tt, load_col *cols, size_t n, const fmt_schema_t *want,
                      floe_err *err) {
    const fmt_schema_t *have = ice_meta_current_schema(&tt->t.meta);
    for (size_t i = 0; i < n; i++) {
        const fmt_field_t *f = NULL;
        for (int32_t k = 0; k < have->root.nchildren && !f; k++)
            if (!strcmp(have->root.children[k].name, cols[i].name)) f = &have->root.children[k];
        if (!f)
            return floe_err_set(err, FLOE_EINVAL,
                                "task %s: table %s.%s has no column '%s'; add it (`floe table evolve %s.%s add-column "
                                "%s %s`) or leave it out of columns",
                                c->task_id, tt->t.ns, tt->t.name, cols[i].name, tt->t.ns, tt->t.name, cols[i].name,
                                cols[i].type);
        buf_t t1 = {0}, t2 = {0};
        fmt_type_format(f, &t1);
        fmt_type_format(&want->root.children[i], &t2);
        bool same = t1.len == t2.len && !memcmp(t1.data, t2.data, t1.len);
        if (!same)
            floe_err_set(err, FLOE_EINVAL,
                         "task %s: column '%s' of table %s.%s is %.*s, but columns declares %.*s; make them agree",
                         c->task_id, cols[i].name, tt->t.ns, tt->t.name, (int)t1.len, t1.data, (int)t2.len, t2.data);
        buf_free(&t1);
        buf_free(&t2);
        if (!same) return false;
        cols[i].field = f;
    }
    return true;
}

static json_t *path_get(json_t *rec, const load_col *col) {
    json_t *v = rec;
    for (size_t i = 0; v && i < col->nparts; i++) {
        if (json_is_object(v)) {
            v = json_object_get(v, col->parts[i]);
        } else if (json_is_array(v)) {
            int64_t idx;
            v = str_to_i64_range(col->parts[i], 0, INT64_MAX, &idx) ? json_array_get(v, (size_t)idx) : NULL;
        } else {
            v = NULL;
        }
    }
    return v;
}

static bool is_time(fmt_type t) { return t == FMT_TIMESTAMP || t == FMT_TIMESTAMPTZ || t == FMT_DATE; }

/* A numeric time (a JSON number, or a string of digits) in col's unit, as
 * the text reader takes it: microseconds for timestamps, a date string. */
static json_t *time_value(const load_col *col, json_t *v) {
    double d;
    int64_t x = 0;
    bool integral = true;
    if (json_is_integer(v))
        x = json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v), integral = false;
    else if (json_is_string(v) && str_to_i64_range(json_string_value(v), INT64_MIN, INT64_MAX, &x))
        ;
    else
        return json_incref(v); /* text: the reader parses it */
    int64_t us;
    if (integral) {
        if (col->unit_us == 0)
            us = x / 1000;
        else if (__builtin_mul_overflow(x, col->unit_us, &us))
            return json_incref(v); /* out of range: the reader rejects it */
    } else {
        double m = col->unit_us ? d * (double)col->unit_us : d / 1000;
        if (!isfinite(m) || fabs(m) > 9.2e18) return json_incref(v);
        us = llround(m);
    }
    if (col->field->type != FMT_DATE) return json_integer(us);
    int64_t days = us >= 0 ? us / 86400000000ll : -((-us + 86400000000ll - 1) / 86400000000ll);
    int64_t y;
    unsigned mo, da;
    fmt_civil_from_days(days, &y, &mo, &da);
    char s[32];
    snprintf(s, sizeof s, "%04lld-%02u-%02u", (long long)y, mo, da);
    return json_string(s);
}

static bool load_bad(load_src *s, floe_err *err, const char *fmt, const char *a, const char *b) {
    char msg[320];
    snprintf(msg, sizeof msg, fmt, a, b);
    return floe_err_set(err, FLOE_EINVAL, "%s line %llu: %s", s->uri, (unsigned long long)s->lineno, msg);
}

/* One raw line in, one line of columns out. */
static bool load_pull(void *arg, buf_t *out, bool *eof, floe_err *err) {
    load_src *s = arg;
    ssize_t n = getline(&s->line, &s->cap, s->raw.f);
    if (!task_stream_check(&s->raw, err)) return false; /* not the partial line it may have left */
    if (n < 0) {
        *eof = true;
        return true;
    }
    s->lineno++;
    while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r' || s->line[n - 1] == ' ')) n--;
    if (n == 0) {
        buf_putc(out, '\n'); /* a blank line stays one: line numbers keep in step */
        return true;
    }
    json_error_t je;
    json_t *rec = json_loadb(s->line, (size_t)n, 0, &je);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return load_bad(s, err, "not a JSON object (%s%s); the source must hold one record per line",
                        rec ? "" : je.text, "");
    }
    json_t *row = json_object();
    bool ok = true;
    for (size_t i = 0; ok && i < s->ncols; i++) {
        const load_col *col = &s->cols[i];
        json_t *v = path_get(rec, col);
        if (!v || json_is_null(v)) v = col->dflt;
        if (!v) {
            if (!col->optional)
                ok = load_bad(s, err,
                              "column '%s': path '%s' is missing; the column is required (give it `optional: true` "
                              "or a `default:`)",
                              col->name, col->path);
            continue;
        }
        json_object_set_new(row, col->name,
                            is_time(col->field->type) ? time_value(col, v) : task_coerce(col->field, v));
    }
    if (ok) {
        json_dump_buf(row, out);
        buf_putc(out, '\n');
    }
    json_decref(row);
    json_decref(rec);
    return ok;
}

static bool load_validate(json_t *args, floe_err *err) {
    if (!task_mode_validate(args, err)) return false;
    json_t *cols = json_object_get(args, "columns");
    if (tval_is_template(cols)) return true;
    if (!json_is_object(cols) || !json_object_size(cols))
        return floe_err_set(err, FLOE_EINVAL, "columns: expected a mapping of column: {path: a.b, type: TYPE}");
    const char *k;
    json_t *v;
    json_object_foreach(cols, k, v) {
        json_t *t = json_is_object(v) ? json_object_get(v, "type") : v;
        if (!json_is_string(t) && !tval_is_template(v))
            return floe_err_set(err, FLOE_EINVAL,
                                "columns.%s: expected {path: a.b, type: TYPE} with TYPE one of string, int, long, "
                                "double, boolean, decimal(P,S), date, timestamp, timestamptz",
                                k);
    }
    return true;
}

static pipe_task_result load_run(pipe_task_ctx *c, floe_err *err) {
    const char *source, *table, *partition, *mode_text, *filter, *ref;
    json_t *spec;
    task_mode mode;
    if (!targ_str(c, "source", true, &source, err) || !targ_str(c, "table", true, &table, err) ||
        !targ_object(c, "columns", true, &spec, err) || !targ_str(c, "partition", false, &partition, err) ||
        !targ_str(c, "mode", false, &mode_text, err) || !targ_str(c, "filter", false, &filter, err) ||
        !targ_str(c, "ref", false, &ref, err) || !task_mode_parse(c, mode_text, TASK_OVERWRITE_PARTITIONS, &mode, err))
        return PIPE_TASK_FAILED_NOW;
    if (!task_mode_validate(c->args, err)) {
        floe_err_wrap(err, "task %s", c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    load_src s = {.c = c, .uri = source};
    fmt_schema_t schema;
    if (!cols_parse(c, spec, &s.cols, &s.ncols, &schema, err)) return PIPE_TASK_FAILED_NOW;
    task_table tt;
    if (!task_table_open(c, table, ref, &schema, partition, &tt, err) ||
        !cols_bind(c, &tt, s.cols, s.ncols, &schema, err))
        return task_failed(err);

    task_object *obj = task_object_open(c->env->io, source, err);
    if (!obj) {
        floe_err_wrap(err, "task %s: source", c->task_id);
        return task_failed(err);
    }
    ice_writer *w = ice_writer_new(&tt.t, NULL, c->arena, err);
    task_stream out = {0};
    int64_t rows = 0, files = 0;
    bool ok = w && task_stream_open(&s.raw, task_object_pull, obj, err) && task_stream_open(&out, load_pull, &s, err) &&
              task_write_text(c, w, ice_meta_current_schema(&tt.t.meta), &out, source, FMT_TEXT_JSONL, &rows, err);
    task_stream_close(&out);
    task_stream_close(&s.raw);
    task_object_close(obj);
    free(s.line);
    if (!ok) {
        if (w) ice_writer_abort(w);
        pipe_log(c, "nothing committed: %s", err->msg);
        return task_failed(err);
    }
    pipe_log(c, "read %lld records from %s", (long long)rows, source);
    ice_commit_result res;
    if (!task_table_commit(c, &tt, w, mode, filter, &res, &files, err)) return task_failed(err);
    task_table_output(c, &tt, &res, rows, files);
    json_object_set_new(c->output, "source", json_string(source));
    return PIPE_TASK_SUCCESS;
}

const pipe_task_type pipe_task_load_raw = {
    .name = "load_raw",
    .fields = load_fields,
    .nfields = sizeof load_fields / sizeof load_fields[0],
    .validate = load_validate,
    .run = load_run,
};
