/*
 * fuzz_iceberg_expr.c: libFuzzer harness for Iceberg filter expressions
 * (src/iceberg/expr_*.c).
 *
 * Input: byte 0 picks the options (bit 0: bind case-insensitively), the
 * rest is the filter text. The harness parses it; a failure must be
 * FLOE_EINVAL. What parses must print to text that parses back to the same
 * print. It then binds to a fixed schema; a bound filter must print to text
 * that binds back to the same print, project onto a partition spec
 * (inclusively and strictly) without breaking the rule that a strict
 * projection implies the inclusive one, evaluate on a small batch, against
 * a data file's stats and partition tuples, and yield Parquet predicates.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "iceberg/iceberg.h"

static const char *SCHEMA = "id long not null, i int, ts timestamptz, d date, sym string, px decimal(10,2), "
                            "f double, b boolean, bin binary, u uuid, t timestamp, tn timestamp_ns, "
                            "pt struct<lat: double, name: string>, tags list<string>";

static const char *SPEC = "day(ts), bucket(8, i), truncate(2, sym), px, month(d), truncate(10, id), hour(tn)";

static char *print(arena_t *a, const ice_expr *e) {
    buf_t b = BUF_INIT;
    ice_expr_format(e, &b);
    char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

static void check_err(bool ok, const floe_err *err) {
    if (!ok && err->code != FLOE_EINVAL) abort();
}

/* A small batch: three rows with values and one with nulls. */
static void fill_batch(const fmt_schema_t *s, fmt_batch_t *b) {
    fmt_batch_init(b, s);
    for (int r = 0; r < 4; r++) {
        for (uint32_t c = 0; c < b->ncols; c++) {
            fmt_vec_t *v = &b->cols[c];
            const fmt_field_t *f = v->field;
            if (r == 3 && !f->required) {
                fmt_vec_append_null(v);
                continue;
            }
            switch (f->type) {
            case FMT_BOOLEAN: fmt_vec_append_bool(v, r & 1); break;
            case FMT_INT:
            case FMT_DATE: fmt_vec_append_i32(v, r * 1000 - 1000); break;
            case FMT_DOUBLE: fmt_vec_append_f64(v, r == 2 ? 0.0 / 0.0 : r * 1.5); break;
            case FMT_DECIMAL: fmt_vec_append_i64(v, r * 150 - 100); break;
            case FMT_STRING:
            case FMT_BINARY: fmt_vec_append_bytes(v, r ? "BTC" : "ab", r ? 3 : 2); break;
            case FMT_UUID: fmt_vec_append_bytes(v, "0123456789abcdef", 16); break;
            case FMT_STRUCT:
                fmt_vec_append_f64(&v->children[0], r * 2.0);
                fmt_vec_append_bytes(&v->children[1], "n", 1);
                fmt_vec_close_struct(v);
                break;
            case FMT_LIST: fmt_vec_close_list(v); break;
            default: fmt_vec_append_i64(v, (int64_t)r * 86400000000LL - 3600000000LL); break;
            }
        }
    }
    b->nrows = 4;
}

static void exercise(const ice_expr *e, const fmt_schema_t *s, const ice_partition_spec *spec, arena_t *a) {
    ice_expr *in = ice_expr_project_inclusive(e, spec, s, a);
    ice_expr *st = ice_expr_project_strict(e, spec, s, a);
    print(a, in);
    print(a, st);

    fmt_batch_t b;
    fill_batch(s, &b);
    uint8_t sel[1];
    uint32_t n = ice_expr_eval_batch(e, s, &b, sel);
    if (n > 4) abort();

    /* each row's partition: strict true implies inclusive true; a matching
     * row's partition passes the inclusive projection */
    for (uint32_t r = 0; r < b.nrows; r++) {
        ice_value tuple[16];
        for (int32_t k = 0; k < spec->nfields; k++) {
            const fmt_field_t *src = fmt_schema_find(s, spec->fields[k].source_id);
            const fmt_vec_t *col = NULL;
            for (uint32_t c = 0; c < b.ncols; c++)
                if (b.cols[c].field == src) col = &b.cols[c];
            ice_value v;
            ice_value_from_vec(col, r, &v);
            ice_transform_apply(&spec->fields[k].transform, &v, &tuple[k]);
        }
        bool pin = ice_expr_eval_partition(in, spec, tuple);
        bool pst = ice_expr_eval_partition(st, spec, tuple);
        bool row = (sel[0] >> r) & 1;
        if (pst && !pin) abort();
        if (row && !pin) abort();
        if (pst && !row) abort();
        ice_expr *res = ice_expr_residual(e, spec, s, tuple, a);
        print(a, res);
    }
    fmt_batch_free(&b);

    ice_col_stats stats[2] = {
        {.field_id = 2,
         .value_count = 4,
         .null_count = 1,
         .nan_count = -1,
         .lower = (const uint8_t *)"\x18\xfc\xff\xff",
         .upper = (const uint8_t *)"\xd0\x07\x00\x00",
         .lower_len = 4,
         .upper_len = 4},
        {.field_id = 5,
         .value_count = 4,
         .null_count = 1,
         .nan_count = -1,
         .lower = (const uint8_t *)"BTC",
         .upper = (const uint8_t *)"ab",
         .lower_len = 3,
         .upper_len = 2},
    };
    ice_data_file f = {.record_count = 4, .stats = stats, .nstats = 2};
    bool might = ice_expr_might_match(e, s, &f);
    bool all = ice_expr_all_match(e, s, &f);
    if (all && !might) abort();

    pq_pred *preds;
    size_t np = ice_expr_to_pq_preds(e, a, &preds);
    for (size_t i = 0; i < np; i++)
        if (!fmt_schema_find(s, preds[i].field_id)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    arena_t a;
    arena_init(&a, 4096);
    char *text = arena_strndup(&a, (const char *)data + 1, size - 1);
    bool case_sensitive = !(data[0] & 1);
    floe_err err = {0};
    ice_expr *u;
    bool ok = ice_expr_parse(text, &a, &u, &err);
    check_err(ok, &err);
    if (ok) {
        char *p1 = print(&a, u);
        ice_expr *u2;
        if (!ice_expr_parse(p1, &a, &u2, &err)) abort();
        if (strcmp(print(&a, u2), p1) != 0) abort();

        fmt_schema_t s;
        ice_partition_spec spec;
        if (!fmt_schema_parse(SCHEMA, &a, &s, &err)) abort();
        if (!ice_partition_spec_parse(SPEC, &s, 999, &a, &spec, &err)) abort();
        ice_expr *e;
        ok = ice_expr_bind(u, &s, case_sensitive, &a, &e, &err);
        check_err(ok, &err);
        if (ok) {
            char *b1 = print(&a, e);
            ice_expr *ub, *e2;
            if (!ice_expr_parse(b1, &a, &ub, &err) || !ice_expr_bind(ub, &s, true, &a, &e2, &err)) abort();
            if (strcmp(print(&a, e2), b1) != 0) abort();
            exercise(e, &s, &spec, &a);
        }
    }
    arena_free(&a);
    return 0;
}
