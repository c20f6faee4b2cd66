/*
 * task_table.c: the task types that write Iceberg tables from arguments.
 *
 *   write_table     the seed's Spark job: rows given inline (objects or
 *                   arrays), made by a small generator, or read from files
 *                   (.jsonl, .csv, .parquet, optionally .zst) through the
 *                   warehouse's FileIO, written in mode append, overwrite
 *                   (by filter, everything by default) or
 *                   overwrite_partitions (the partitions the new rows
 *                   touch: a rerun of an interval replaces them and never
 *                   duplicates them).
 *   publish_signal  appends one row (run, endpoint, s3_path, ds/hr/min)
 *                   to the signal table once: it looks for the row first,
 *                   and commits only on top of the snapshot it looked at,
 *                   so no retry and no race writes it twice.
 *
 * Every value goes through the text reader (format/text.h), which casts it
 * to its column's type and names the line (the item) and column of a value
 * that does not fit. Nothing is committed unless every row was written.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/json.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/task_int.h"

/* ======================================================= inline rows */

typedef enum { SRC_ROWS, SRC_VALUES, SRC_GENERATE, SRC_FILES } row_source;
static const char *const source_keys[] = {"rows", "values", "generate", "files"};

/* The rows and values sources: one JSON line per item of the list. */
typedef struct inline_rows {
    const pipe_task_ctx *c;
    const fmt_schema_t *schema;
    json_t *items;
    row_source kind;
    size_t next;
} inline_rows;

static bool inline_pull(void *arg, buf_t *out, bool *eof, floe_err *err) {
    inline_rows *r = arg;
    if (r->next == json_array_size(r->items)) {
        *eof = true;
        return true;
    }
    json_t *item = json_array_get(r->items, r->next++), *row = json_object();
    const fmt_field_t *cols = r->schema->root.children;
    int32_t ncols = r->schema->root.nchildren;
    bool ok = true;
    if (r->kind == SRC_ROWS) {
        const char *k;
        json_t *v;
        if (!json_is_object(item))
            ok = floe_err_set(err, FLOE_EINVAL, "task %s: rows item %zu is not a mapping; expected column: value, ...",
                              r->c->task_id, r->next);
        json_object_foreach(ok ? item : NULL, k, v) {
            json_t *cv = NULL;
            for (int32_t i = 0; i < ncols && !cv; i++)
                if (!strcmp(cols[i].name, k)) cv = task_coerce(&cols[i], v);
            json_object_set_new(row, k, cv ? cv : json_incref(v)); /* unknown keys: the reader names them */
        }
    } else {
        if (!json_is_array(item) || json_array_size(item) > (size_t)ncols)
            ok = floe_err_set(err, FLOE_EINVAL,
                              "task %s: values item %zu is not a list of at most %d values (one per column, in the "
                              "table's order)",
                              r->c->task_id, r->next, ncols);
        for (size_t i = 0; ok && i < json_array_size(item); i++)
            json_object_set_new(row, cols[i].name, task_coerce(&cols[i], json_array_get(item, i)));
    }
    if (ok) {
        json_dump_buf(row, out);
        buf_putc(out, '\n');
    }
    json_decref(row);
    return ok;
}

/* ========================================================= generator */

typedef enum {
    GEN_NULL,
    GEN_SEQ,
    GEN_RANDOM_INT,
    GEN_RANDOM_DOUBLE,
    GEN_UUID,
    GEN_CONST,
    GEN_INTERVAL,
    GEN_CYCLE
} gen_kind;

typedef struct gen_col {
    const fmt_field_t *field;
    gen_kind kind;
    int64_t lo, hi;  /* seq start; random_int bounds */
    double dlo, dhi; /* random_double bounds */
    json_t *value;   /* const */
    json_t *choices; /* cycle: an array of strings */
} gen_col;

typedef struct gen_rows {
    const pipe_task_ctx *c;
    gen_col *cols;
    int32_t ncols;
    int64_t count, next;
    uint64_t rng;
} gen_rows;

#define GEN_HELP                                                                                                       \
    "seq, seq(START), random_int(A,B), random_double, random_double(A,B), uuid, interval, cycle(a,b,...) or "          \
    "const:VALUE"

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* "name(args)": the text inside the parentheses, or NULL. */
static const char *gen_args(const char *spec, const char *name) {
    size_t n = strlen(name), len = strlen(spec);
    if (strncmp(spec, name, n) || spec[n] != '(' || spec[len - 1] != ')') return NULL;
    return spec + n + 1;
}

/* One generator's text into g; false when it is none of GEN_HELP. */
static bool gen_parse(const char *s, gen_col *g) {
    const char *a;
    long long x, y;
    double dx, dy;
    int used = 0;
    if (!strncmp(s, "const:", 6)) {
        g->kind = GEN_CONST;
        g->value = json_string(s + 6);
    } else if (!strcmp(s, "seq")) {
        g->kind = GEN_SEQ;
    } else if ((a = gen_args(s, "seq")) && sscanf(a, "%lld)%n", &x, &used) == 1 && !a[used]) {
        g->kind = GEN_SEQ;
        g->lo = x;
    } else if ((a = gen_args(s, "random_int")) && sscanf(a, "%lld ,%lld)%n", &x, &y, &used) == 2 && !a[used] &&
               x <= y) {
        g->kind = GEN_RANDOM_INT;
        g->lo = x;
        g->hi = y;
    } else if (!strcmp(s, "random_double")) {
        g->kind = GEN_RANDOM_DOUBLE;
        g->dhi = 1;
    } else if ((a = gen_args(s, "random_double")) && sscanf(a, "%lf ,%lf)%n", &dx, &dy, &used) == 2 && !a[used] &&
               dx <= dy) {
        g->kind = GEN_RANDOM_DOUBLE;
        g->dlo = dx;
        g->dhi = dy;
    } else if (!strcmp(s, "uuid")) {
        g->kind = GEN_UUID;
    } else if (!strcmp(s, "interval")) {
        g->kind = GEN_INTERVAL;
    } else if ((a = gen_args(s, "cycle")) && a[0] != ')') {
        g->kind = GEN_CYCLE;
        g->choices = json_array();
        const char *p = a;
        for (;;) {
            const char *e = p + strcspn(p, ",)");
            while (*p == ' ') p++;
            const char *t = e;
            while (t > p && t[-1] == ' ') t--;
            json_array_append_new(g->choices, json_stringn(p, (size_t)(t - p)));
            if (*e != ',') break;
            p = e + 1;
        }
    } else {
        return false;
    }
    return true;
}

static json_t *gen_value(gen_rows *r, gen_col *g, int64_t i) {
    switch (g->kind) {
    case GEN_SEQ: return json_integer(g->lo + i);
    case GEN_RANDOM_INT: {
        uint64_t span = (uint64_t)(g->hi - g->lo) + 1;
        uint64_t x = splitmix64(&r->rng);
        return json_integer(span ? g->lo + (int64_t)(x % span) : (int64_t)x);
    }
    case GEN_RANDOM_DOUBLE: {
        double u = (double)(splitmix64(&r->rng) >> 11) / 9007199254740992.0;
        return json_real(g->dlo + u * (g->dhi - g->dlo));
    }
    case GEN_UUID: {
        uint8_t b[16];
        uint64_t x = splitmix64(&r->rng), y = splitmix64(&r->rng);
        memcpy(b, &x, 8);
        memcpy(b + 8, &y, 8);
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
        char hex[33], s[37];
        str_hex(b, 16, hex);
        snprintf(s, sizeof s, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
        return json_string(s);
    }
    case GEN_CONST: return task_coerce(g->field, g->value);
    case GEN_INTERVAL: {
        int64_t s = r->c->interval_start_ms, e = r->c->interval_end_ms;
        int64_t ms = e > s ? s + (int64_t)((__int128)(e - s) * i / r->count) : s;
        if (g->field->type == FMT_LONG) return json_integer(ms);
        char iso[32];
        time_iso8601_ms(ms, iso);
        if (g->field->type == FMT_DATE) iso[10] = 0;
        return json_string(iso);
    }
    case GEN_CYCLE: return task_coerce(g->field, json_array_get(g->choices, (size_t)i % json_array_size(g->choices)));
    default: return json_null();
    }
}

static bool gen_pull(void *arg, buf_t *out, bool *eof, floe_err *err) {
    gen_rows *r = arg;
    if (r->next == r->count) {
        *eof = true;
        return true;
    }
    json_t *row = json_object();
    for (int32_t k = 0; k < r->ncols; k++)
        if (r->cols[k].kind != GEN_NULL)
            json_object_set_new(row, r->cols[k].field->name, gen_value(r, &r->cols[k], r->next));
    r->next++;
    json_dump_buf(row, out);
    buf_putc(out, '\n');
    json_decref(row);
    return true;
}

static void gen_free(gen_rows *r) {
    for (int32_t k = 0; r->cols && k < r->ncols; k++) {
        json_decref(r->cols[k].value);
        json_decref(r->cols[k].choices);
    }
}

/* Reads generate: {count, columns: {col: spec}, seed}. */
static bool gen_setup(const pipe_task_ctx *c, json_t *spec, const fmt_schema_t *schema, gen_rows *r, floe_err *err) {
    memset(r, 0, sizeof *r);
    r->c = c;
    r->ncols = schema->root.nchildren;
    r->cols = arena_zalloc(c->arena, ((size_t)r->ncols + 1) * sizeof *r->cols);
    for (int32_t k = 0; k < r->ncols; k++) r->cols[k].field = &schema->root.children[k];
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v) {
        if (strcmp(key, "count") && strcmp(key, "columns") && strcmp(key, "seed"))
            return targ_bad(c, arena_sprintf(c->arena, "generate.%s", key), v,
                            "no such key: generate takes count, columns and seed", err);
    }
    if (!tval_int(c, "generate.count", json_object_get(spec, "count"), -1, 0, 100000000, &r->count, err)) return false;
    if (r->count < 0) return targ_bad(c, "generate.count", NULL, "the number of rows to make", err);
    int64_t seed;
    if (!tval_int(c, "generate.seed", json_object_get(spec, "seed"), 0, INT64_MIN, INT64_MAX, &seed, err)) return false;
    /* by default the run and task seed the random values: a rerun writes the same rows */
    const char *id = arena_sprintf(c->arena, "%s/%s/%lld", c->run_id ? c->run_id : "", c->task_id ? c->task_id : "",
                                   (long long)seed);
    r->rng = 1469598103934665603ull;
    for (const char *p = id; *p; p++) r->rng = (r->rng ^ (unsigned char)*p) * 1099511628211ull;
    json_t *cols = json_object_get(spec, "columns");
    if (!json_is_object(cols)) return targ_bad(c, "generate.columns", cols, "a mapping of column: generator", err);
    json_object_foreach(cols, key, v) {
        gen_col *g = NULL;
        for (int32_t k = 0; k < r->ncols && !g; k++)
            if (!strcmp(r->cols[k].field->name, key)) g = &r->cols[k];
        if (!g)
            return targ_bad(c, arena_sprintf(c->arena, "generate.columns.%s", key), v, "a column of the table's schema",
                            err);
        if (!json_is_string(v) || !gen_parse(json_string_value(v), g))
            return targ_bad(c, arena_sprintf(c->arena, "generate.columns.%s", key), v, GEN_HELP, err);
    }
    return true;
}

/* ============================================================= files */

static bool write_batch(void *arg, const fmt_batch_t *b, floe_err *err) {
    return ice_writer_write((ice_writer *)arg, b, err);
}

static bool pq_read_fileio(void *ctx, uint64_t off, void *buf, size_t n, floe_err *err) {
    return fileio_in_read((fileio_in *)ctx, off, buf, n, err);
}

/* A Parquet file's columns matched to the table's by name (the file's ids
 * need not be the table's), as `floe table append` matches them. */
static bool write_parquet(const pipe_task_ctx *c, ice_writer *w, const fmt_schema_t *schema, const char *uri,
                          int64_t *rows, floe_err *err) {
    floe_err_clear(err);
    fileio_in *in = fileio_in_open(c->env->io, uri, err);
    if (!in) return false;
    pq_source src = {.read = pq_read_fileio, .ctx = in, .size = fileio_in_size(in), .name = uri};
    pq_reader_t *r = pq_reader_open(&src, err);
    bool ok = r != NULL;
    int32_t n = schema->root.nchildren;
    fmt_schema_t want = *schema;
    want.root.children = arena_alloc(c->arena, ((size_t)n + 1) * sizeof(fmt_field_t));
    int32_t *ids = arena_alloc(c->arena, ((size_t)n + 1) * sizeof *ids);
    const fmt_schema_t *fs = ok ? pq_reader_schema(r) : NULL;
    for (int32_t i = 0; ok && i < n; i++) {
        const fmt_field_t *tf = &schema->root.children[i], *ff = NULL;
        want.root.children[i] = *tf;
        for (int32_t k = 0; k < fs->root.nchildren && !ff; k++)
            if (!strcmp(fs->root.children[k].name, tf->name)) ff = &fs->root.children[k];
        if (!ff) {
            if (tf->required)
                ok = floe_err_set(err, FLOE_EINVAL, "%s has no column '%s', which the table requires", uri, tf->name);
            ids[i] = want.root.children[i].id = -1000 - i; /* reads as nulls */
            continue;
        }
        buf_t t1 = {0}, t2 = {0};
        fmt_type_format(tf, &t1);
        fmt_type_format(ff, &t2);
        if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len))
            ok = floe_err_set(err, FLOE_EINVAL, "%s: column '%s' is %.*s, but the table's is %.*s", uri, tf->name,
                              (int)t2.len, t2.data, (int)t1.len, t1.data);
        buf_free(&t1);
        buf_free(&t2);
        ids[i] = ff->id;
        want.root.children[i] = *ff; /* as the file has it, required or not: its levels depend on it */
    }
    pq_reader_opts o = {.field_ids = ids, .nfields = (uint32_t)n};
    if (ok) ok = pq_reader_scan(r, &o, &want, err);
    fmt_batch_t *b;
    while (ok && pq_reader_next(r, &b, err)) {
        ok = write_batch(w, b, err) && !task_stopping(c, err);
        *rows += b->nrows;
    }
    if (ok && err->code) ok = false;
    if (r) pq_reader_free(r);
    fileio_in_close(in);
    return ok;
}

static bool write_file(const pipe_task_ctx *c, ice_writer *w, const fmt_schema_t *schema, const char *uri,
                       int64_t *rows, floe_err *err) {
    if (str_ends_with(uri, ".parquet")) return write_parquet(c, w, schema, uri, rows, err);
    size_t n = strlen(uri);
    if (str_ends_with(uri, ".zst")) n -= 4;
    const char *base = arena_strndup(c->arena, uri, n);
    fmt_text_kind kind;
    if (str_ends_with(base, ".csv"))
        kind = FMT_TEXT_CSV;
    else if (str_ends_with(base, ".jsonl") || str_ends_with(base, ".json") || str_ends_with(base, ".ndjson"))
        kind = FMT_TEXT_JSONL;
    else
        return floe_err_set(err, FLOE_EINVAL,
                            "task %s: file %s: expected a .jsonl, .csv or .parquet file (.jsonl and .csv may be "
                            "zstd-compressed, ending in .zst)",
                            c->task_id, uri);
    task_object *o = task_object_open(c->env->io, uri, err);
    if (!o) return false;
    task_stream s;
    bool ok = task_stream_open(&s, task_object_pull, o, err) && task_write_text(c, w, schema, &s, uri, kind, rows, err);
    task_stream_close(&s);
    task_object_close(o);
    return ok;
}

/* ========================================================= write_table */

static const pipe_field write_fields[] = {
    {"table", PIPE_FIELD_STRING, true, "the table as NAMESPACE.TABLE, like demo.events"},
    {"schema", PIPE_FIELD_STRING, false,
     "the columns, as `floe table create --schema` takes them (\"id long not null, ts timestamptz\"); used to "
     "create the table when it does not exist"},
    {"partition", PIPE_FIELD_STRING, false,
     "the partition spec of a created table, like \"day(ts)\" or \"ds, hr, min\""},
    {"mode", PIPE_FIELD_STRING, false, "append (default), overwrite or overwrite_partitions"},
    {"filter", PIPE_FIELD_STRING, false,
     "mode overwrite: the rows to replace, like \"ds = '{{ ds }}'\" (default: every row)"},
    {"ref", PIPE_FIELD_STRING, false, "the catalog branch to write on (default main)"},
    {"rows", PIPE_FIELD_ARRAY, false, "a list of rows, each a mapping of column: value"},
    {"values", PIPE_FIELD_ARRAY, false, "a list of rows, each a list of values in the table's column order"},
    {"generate", PIPE_FIELD_OBJECT, false, "{count: N, columns: {col: " GEN_HELP "}, seed: N}"},
    {"files", PIPE_FIELD_ARRAY, false,
     "a list of .jsonl, .csv or .parquet URIs in the warehouse (s3://warehouse/...), .jsonl/.csv optionally .zst"},
};

/* Which of rows, values, generate and files is given; exactly one must be. */
static bool write_source(json_t *args, row_source *out, floe_err *err) {
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (json_object_get(args, source_keys[i]) && !json_is_null(json_object_get(args, source_keys[i]))) {
            *out = (row_source)i;
            n++;
        }
    if (n != 1)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: give the rows in exactly one of rows (mappings), values (lists), generate or files",
                            n ? "more than one row source" : "no rows");
    return true;
}

static bool write_validate(json_t *args, floe_err *err) {
    row_source src;
    if (!write_source(args, &src, err)) return false;
    json_t *gen = json_object_get(json_object_get(args, "generate"), "columns"), *v;
    const char *k;
    json_object_foreach(gen, k, v) {
        gen_col g = {0};
        bool ok = tval_is_template(v) || (json_is_string(v) && gen_parse(json_string_value(v), &g));
        json_decref(g.value);
        json_decref(g.choices);
        if (!ok) return floe_err_set(err, FLOE_EINVAL, "generate.columns.%s: expected " GEN_HELP, k);
    }
    return task_mode_validate(args, err);
}

static bool write_rows(pipe_task_ctx *c, row_source src, ice_writer *w, const fmt_schema_t *schema, int64_t *rows,
                       floe_err *err) {
    json_t *v = json_object_get(c->args, source_keys[src]);
    if (src == SRC_FILES) {
        json_t *f;
        if (!targ_array(c, "files", true, &f, err)) return false;
        for (size_t i = 0; i < json_array_size(f); i++) {
            json_t *u = json_array_get(f, i);
            if (!json_is_string(u)) return targ_bad(c, "files", u, "a list of file URIs", err);
            if (!write_file(c, w, schema, json_string_value(u), rows, err)) return false;
            pipe_log(c, "read %s", json_string_value(u));
        }
        return true;
    }
    task_stream s;
    bool ok;
    if (src == SRC_GENERATE) {
        gen_rows g;
        if (!json_is_object(v)) return targ_bad(c, "generate", v, "{count: N, columns: {col: generator}}", err);
        ok = gen_setup(c, v, schema, &g, err) && task_stream_open(&s, gen_pull, &g, err);
        if (ok) {
            ok = task_write_text(c, w, schema, &s, "generate", FMT_TEXT_JSONL, rows, err);
            task_stream_close(&s);
        }
        gen_free(&g);
        return ok;
    }
    if (!json_is_array(v)) return targ_bad(c, source_keys[src], v, "a list of rows", err);
    inline_rows ir = {.c = c, .schema = schema, .items = v, .kind = src};
    if (!task_stream_open(&s, inline_pull, &ir, err)) return false;
    ok = task_write_text(c, w, schema, &s, source_keys[src], FMT_TEXT_JSONL, rows, err);
    task_stream_close(&s);
    return ok;
}

static pipe_task_result write_run(pipe_task_ctx *c, floe_err *err) {
    const char *table, *schema_text, *partition, *mode_text, *filter, *ref;
    task_mode mode;
    row_source src;
    if (!targ_str(c, "table", true, &table, err) || !targ_str(c, "schema", false, &schema_text, err) ||
        !targ_str(c, "partition", false, &partition, err) || !targ_str(c, "mode", false, &mode_text, err) ||
        !targ_str(c, "filter", false, &filter, err) || !targ_str(c, "ref", false, &ref, err) ||
        !task_mode_parse(c, mode_text, TASK_APPEND, &mode, err) || !write_validate(c->args, err) ||
        !write_source(c->args, &src, err)) {
        if (!strstr(err->msg, c->task_id)) floe_err_wrap(err, "task %s", c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    fmt_schema_t schema;
    if (schema_text && !fmt_schema_parse(schema_text, c->arena, &schema, err)) {
        err->code = FLOE_EINVAL;
        floe_err_wrap(err, "task %s: key 'schema'", c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    task_table tt;
    if (!task_table_open(c, table, ref, schema_text ? &schema : NULL, partition, &tt, err)) return task_failed(err);
    task_table_note_schema(c, &tt, schema_text ? &schema : NULL);
    const fmt_schema_t *ts = ice_meta_current_schema(&tt.t.meta);
    ice_writer *w = ice_writer_new(&tt.t, NULL, c->arena, err);
    if (!w) return task_failed(err);
    int64_t rows = 0, files = 0;
    if (!write_rows(c, src, w, ts, &rows, err)) {
        ice_writer_abort(w);
        pipe_log(c, "nothing committed: %s", err->msg);
        return task_failed(err);
    }
    ice_commit_result res;
    if (!task_table_commit(c, &tt, w, mode, filter, &res, &files, err)) return task_failed(err);
    task_table_output(c, &tt, &res, rows, files);
    return PIPE_TASK_SUCCESS;
}

const pipe_task_type pipe_task_write_table = {
    .name = "write_table",
    .fields = write_fields,
    .nfields = sizeof write_fields / sizeof write_fields[0],
    .validate = write_validate,
    .run = write_run,
};

/* ====================================================== publish_signal */

#define SIGNAL_TABLE "scraper.signals"
#define SIGNAL_SCHEMA                                                                                                  \
    "run_id string not null, endpoint string not null, s3_path string, ds string, hr string, min string, "             \
    "published_at timestamptz"
#define SIGNAL_ATTEMPTS 5

static const pipe_field signal_fields[] = {
    {"s3_path", PIPE_FIELD_STRING, true, "the landed object, usually \"{{ tasks.wait.output.s3_path }}\""},
    {"endpoint", PIPE_FIELD_STRING, true, "the endpoint the data came from, like trades"},
    {"table", PIPE_FIELD_STRING, false, "the signal table (default scraper.signals, created when missing)"},
    {"ref", PIPE_FIELD_STRING, false, "the catalog branch (default main)"},
};

/* A string literal for a filter: quotes doubled. */
static const char *sql_quote(arena_t *a, const char *s) {
    buf_t b = {0};
    buf_putc(&b, '\'');
    for (; *s; s++) {
        if (*s == '\'') buf_putc(&b, '\'');
        buf_putc(&b, *s);
    }
    buf_putc(&b, '\'');
    char *out = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return out;
}

/* Rows of the current snapshot with this run_id and endpoint; *path gets
 * the first one's s3_path. */
static bool signal_find(pipe_task_ctx *c, task_table *tt, const char *endpoint, int64_t *found, const char **path,
                        floe_err *err) {
    *found = 0;
    *path = NULL;
    floe_err_clear(err);
    if (tt->t.meta.current_snapshot_id < 0) return true;
    const char *filter = arena_sprintf(c->arena, "run_id = %s and endpoint = %s",
                                       sql_quote(c->arena, c->run_id ? c->run_id : ""), sql_quote(c->arena, endpoint));
    const char *cols[] = {"s3_path"};
    ice_scan_opts so = {.snapshot_id = -1, .as_of_ms = -1, .filter = filter, .columns = cols, .ncolumns = 1};
    ice_scan *s = ice_scan_new(&tt->t, &so, err);
    if (!s) return false;
    fmt_batch_t *b;
    while (ice_scan_next(s, &b, err)) {
        if (!*found && b->nrows && fmt_vec_valid(&b->cols[0], 0)) {
            uint32_t n;
            const uint8_t *p = fmt_vec_bytes(&b->cols[0], 0, &n);
            *path = arena_strndup(c->arena, (const char *)p, n);
        }
        *found += b->nrows;
    }
    bool ok = !err->code;
    ice_scan_free(s);
    return ok;
}

typedef struct one_line {
    const char *text;
    bool done;
} one_line;

static bool one_line_pull(void *arg, buf_t *out, bool *eof, floe_err *err) {
    one_line *l = arg;
    if (l->done) {
        *eof = true;
    } else {
        buf_puts(out, l->text);
        buf_putc(out, '\n');
        l->done = true;
    }
    return true;
}

/* Writes the signal row and commits it on top of the snapshot signal_find
 * looked at (one attempt: a concurrent commit is FLOE_ECONFLICT). */
static bool signal_append(pipe_task_ctx *c, task_table *tt, const char *row, ice_commit_result *res, floe_err *err) {
    ice_writer *w = ice_writer_new(&tt->t, NULL, c->arena, err);
    if (!w) return false;
    one_line l = {.text = row};
    task_stream s;
    int64_t rows = 0, files;
    bool ok = task_stream_open(&s, one_line_pull, &l, err);
    if (ok) {
        ok = task_write_text(c, w, ice_meta_current_schema(&tt->t.meta), &s, "signal row", FMT_TEXT_JSONL, &rows, err);
        task_stream_close(&s);
    }
    if (!ok) {
        ice_writer_abort(w);
        return false;
    }
    tt->max_attempts = 1;
    return task_table_commit(c, tt, w, TASK_APPEND, NULL, res, &files, err);
}

static pipe_task_result signal_run(pipe_task_ctx *c, floe_err *err) {
    const char *s3_path, *endpoint, *table, *ref;
    if (!targ_str(c, "s3_path", true, &s3_path, err) || !targ_str(c, "endpoint", true, &endpoint, err) ||
        !targ_str(c, "table", false, &table, err) || !targ_str(c, "ref", false, &ref, err))
        return PIPE_TASK_FAILED_NOW;
    if (!table) table = SIGNAL_TABLE;
    fmt_schema_t schema;
    if (!fmt_schema_parse(SIGNAL_SCHEMA, c->arena, &schema, err)) return PIPE_TASK_FAILED_NOW;
    task_table tt;
    if (!task_table_open(c, table, ref, &schema, "ds", &tt, err)) return task_failed(err);

    task_interval iv;
    task_interval_of(c->interval_start_ms, &iv);
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "run_id", c->run_id ? c->run_id : "", "endpoint",
                            endpoint, "s3_path", s3_path, "ds", iv.ds, "hr", iv.hr, "min", iv.min, "published_at",
                            (json_int_t)time_now_ms() * 1000);
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    const char *line = arena_strdup(c->arena, text);
    free(text);

    for (int attempt = 1;; attempt++) {
        int64_t found;
        const char *path;
        if (!signal_find(c, &tt, endpoint, &found, &path, err)) {
            floe_err_wrap(err, "task %s: looking for the signal row in %s", c->task_id, table);
            return task_failed(err);
        }
        if (found) {
            if (path && strcmp(path, s3_path))
                pipe_log(c, "note: the published row has s3_path %s, not %s", path, s3_path);
            pipe_log(c, "%s already holds the signal of run %s, endpoint %s: nothing to write", table,
                     c->run_id ? c->run_id : "", endpoint);
            json_object_set_new(c->output, "table", json_string(table));
            json_object_set_new(c->output, "snapshot_id", json_integer(tt.t.meta.current_snapshot_id));
            json_object_set_new(c->output, "already_published", json_true());
            return PIPE_TASK_SUCCESS;
        }
        pipe_log(c, "publishing the signal of run %s, endpoint %s to %s", c->run_id ? c->run_id : "", endpoint, table);
        ice_commit_result res;
        floe_err e2 = {0};
        if (signal_append(c, &tt, line, &res, &e2)) {
            json_object_set_new(c->output, "table", json_string(table));
            json_object_set_new(c->output, "snapshot_id", json_integer(res.snapshot_id));
            json_object_set_new(c->output, "already_published", json_false());
            return PIPE_TASK_SUCCESS;
        }
        if (e2.code != FLOE_ECONFLICT || attempt == SIGNAL_ATTEMPTS) {
            *err = e2;
            floe_err_wrap(err, "task %s: publishing to %s", c->task_id, table);
            return task_failed(err);
        }
        pipe_log(c, "%s changed while publishing (%s); looking again", table, e2.msg);
        /* the table moved on: look for the row again in its new state */
        if (!ice_table_load(tt.ice, tt.t.ns, tt.t.name, c->arena, &tt.t, err)) return task_failed(err);
    }
}

const pipe_task_type pipe_task_publish_signal = {
    .name = "publish_signal",
    .fields = signal_fields,
    .nfields = sizeof signal_fields / sizeof signal_fields[0],
    .run = signal_run,
};
