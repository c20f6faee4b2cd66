/*
 * test_parquet.c: the Thrift compact codec, the schema text form, and the
 * Parquet writer and reader together: metrics, pruning by statistics and by
 * the page index (counted in pages decoded), projection by field id with a
 * missing field, bloom filters, and corrupted files.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format/parquet/pq_int.h"
#include "format/schema.h"
#include "format/text.h"
#include "format/thrift.h"
#include "format/vector.h"

/* ---- thrift ---- */

Test(thrift, round_trip_and_skip) {
    buf_t b = BUF_INIT;
    thrift_writer w;
    thrift_writer_init(&w, &b);
    thrift_write_struct_begin(&w);
    thrift_write_i32_field(&w, 1, -5);
    thrift_write_i64_field(&w, 3, INT64_MIN);
    thrift_write_bool_field(&w, 4, true);
    thrift_write_string_field(&w, 40, "far field"); /* long delta: explicit id */
    thrift_write_field(&w, 41, THRIFT_STRUCT);      /* unknown nested struct */
    thrift_write_struct_begin(&w);
    thrift_write_i32_field(&w, 1, 7);
    thrift_write_field(&w, 2, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_BINARY, 20);
    for (int i = 0; i < 20; i++) thrift_write_binary(&w, "ab", 2);
    thrift_write_struct_end(&w);
    thrift_write_i32_field(&w, 42, 99);
    thrift_write_struct_end(&w);

    floe_err err = {0};
    thrift_reader r;
    thrift_reader_init(&r, b.data, b.len, 0, "test", &err);
    cr_assert(thrift_struct_begin(&r));
    int16_t id;
    uint8_t t;
    int32_t i32 = 0, last = 0;
    int64_t i64 = 0;
    bool bv = false;
    const uint8_t *p;
    uint32_t n;
    int seen = 0;
    while (thrift_field_next(&r, &id, &t)) {
        seen++;
        if (id == 1)
            cr_assert(thrift_read_i32(&r, &i32));
        else if (id == 3)
            cr_assert(thrift_read_i64(&r, &i64));
        else if (id == 4)
            cr_assert(thrift_read_bool(&r, t, &bv));
        else if (id == 40)
            cr_assert(thrift_read_binary(&r, &p, &n));
        else if (id == 42)
            cr_assert(thrift_read_i32(&r, &last));
        else
            cr_assert(thrift_skip(&r, t));
    }
    cr_assert(!r.failed, "%s", err.msg);
    cr_assert_eq(seen, 6);
    cr_assert_eq(i32, -5);
    cr_assert_eq(i64, INT64_MIN);
    cr_assert(bv);
    cr_assert_eq(n, 9);
    cr_assert_eq(last, 99);
    cr_assert_eq(thrift_reader_pos(&r), b.len);

    /* every truncation fails cleanly, naming a byte offset */
    for (size_t cut = 0; cut < b.len; cut++) {
        thrift_reader_init(&r, b.data, cut, 100, "test", &err);
        floe_err_clear(&err);
        if (thrift_struct_begin(&r))
            while (thrift_field_next(&r, &id, &t))
                if (!thrift_skip(&r, t)) break;
        cr_assert(r.failed, "truncation at %zu was not noticed", cut);
        cr_assert(strstr(err.msg, "test at byte "), "%s", err.msg);
    }
    buf_free(&b);
}

Test(thrift, deep_nesting_is_refused) {
    uint8_t deep[200];
    /* field 1 struct, field 1 struct, ... */
    memset(deep, 0x1c, sizeof deep);
    floe_err err = {0};
    thrift_reader r;
    thrift_reader_init(&r, deep, sizeof deep, 0, "deep", &err);
    cr_assert(!thrift_skip(&r, THRIFT_STRUCT));
    cr_assert(strstr(err.msg, "nested"), "%s", err.msg);
}

/* ---- schema text ---- */

Test(schema, fresh_ids_breadth_first) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    cr_assert(fmt_schema_parse("id long not null, tags list<string not null>, m map<string, struct<x: int, y: "
                               "double not null>>, d decimal(38,10), f fixed[16]",
                               &a, &s, &err),
              "%s", err.msg);
    cr_assert_eq(s.root.nchildren, 5);
    cr_assert_eq(s.root.children[0].id, 1);
    cr_assert_eq(s.root.children[4].id, 5);
    cr_assert_eq(s.root.children[1].children[0].id, 6); /* tags.element */
    cr_assert(s.root.children[1].children[0].required);
    cr_assert_eq(s.root.children[2].children[0].id, 7); /* m.key */
    cr_assert_eq(s.root.children[2].children[1].id, 8); /* m.value */
    cr_assert_eq(s.root.children[2].children[1].children[1].id, 10);
    cr_assert_eq(s.max_field_id, 10);
    buf_t t = BUF_INIT;
    fmt_schema_format(&s, &t);
    cr_assert_str_eq(t.data, "id long not null, tags list<string not null>, m map<string, struct<x: int, y: double "
                             "not null>>, d decimal(38,10), f fixed[16]");
    buf_free(&t);
    static const char *bad[] = {
        "",           "id",         "id lng",     "d decimal(40,2)", "d decimal(5,6)", "a int, a long",
        "l list<int", "m map<int>", "s struct<>", "f fixed[0]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        floe_err_clear(&err);
        cr_assert(!fmt_schema_parse(bad[i], &a, &s, &err), "'%s' parsed", bad[i]);
        cr_assert_eq(err.code, FLOE_EINVAL);
        cr_assert(strstr(err.msg, "schema"), "%s", err.msg);
    }
    arena_free(&a);
}

/* ---- writer and reader ---- */

static bool mem_sink(void *ctx, const void *p, size_t n, floe_err *err) {
    buf_append(ctx, p, n);
    return true;
}

/* Writes n rows: id = i (sorted), grp = i / 1000, s = "k" + i%10, x = i/2.0
 * with every 5th null. */
static void write_file(buf_t *out, uint32_t n, const pq_writer_opts *o, pq_file_metrics *m, arena_t *a,
                       fmt_schema_t *s) {
    floe_err err = {0};
    cr_assert(fmt_schema_parse("id long not null, grp int, s string, x double", a, s, &err));
    pq_writer_t *w = pq_writer_new(s, o, (pq_sink){mem_sink, out}, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, s);
    for (uint32_t i = 0; i < n; i++) {
        fmt_vec_append_i64(&b.cols[0], i);
        fmt_vec_append_i32(&b.cols[1], (int32_t)(i / 1000));
        char k[8];
        snprintf(k, sizeof k, "k%u", i % 10);
        fmt_vec_append_bytes(&b.cols[2], k, strlen(k));
        if (i % 5 == 0)
            fmt_vec_append_null(&b.cols[3]);
        else
            fmt_vec_append_f64(&b.cols[3], i / 2.0);
        b.nrows++;
        if (b.nrows == 3000 || i + 1 == n) {
            cr_assert(pq_writer_write(w, &b, &err), "%s", err.msg);
            fmt_batch_reset(&b);
        }
    }
    cr_assert(pq_writer_close(w, m, a, &err), "%s", err.msg);
    pq_writer_free(w);
    fmt_batch_free(&b);
}

Test(parquet, metrics_and_read_back) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t f = BUF_INIT;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.row_group_rows = 40000;
    pq_file_metrics m;
    fmt_schema_t s;
    write_file(&f, 100000, &o, &m, &a, &s);
    cr_assert_eq(m.row_count, 100000);
    cr_assert_eq(m.file_size, (int64_t)f.len);
    cr_assert_eq(m.nsplits, 3);
    cr_assert_eq(m.split_offsets[0], 4);
    cr_assert_eq(m.nfields, 4);
    cr_assert_eq(m.fields[3].field_id, 4);
    cr_assert_eq(m.fields[3].value_count, 100000);
    cr_assert_eq(m.fields[3].null_count, 20000);
    cr_assert_eq(m.fields[3].nan_count, 0);
    cr_assert_eq(m.fields[0].nan_count, -1);
    int64_t lo, hi;
    memcpy(&lo, m.fields[0].lower, 8);
    memcpy(&hi, m.fields[0].upper, 8);
    cr_assert_eq(lo, 0);
    cr_assert_eq(hi, 99999);
    cr_assert_eq(m.fields[2].lower_len, 2);
    cr_assert(!memcmp(m.fields[2].lower, "k0", 2) && !memcmp(m.fields[2].upper, "k9", 2));

    floe_err err = {0};
    pq_source src = pq_source_mem(f.data, f.len, "mem.parquet");
    pq_reader_t *r = pq_reader_open(&src, &err);
    cr_assert(r, "%s", err.msg);
    /* project x and a field the file lacks (id 77, as long) */
    fmt_schema_t want;
    cr_assert(fmt_schema_parse("x double, extra long", &a, &want, &err));
    want.root.children[0].id = 4;
    want.root.children[1].id = 77;
    int32_t ids[] = {4, 77};
    pq_reader_opts ro = {.field_ids = ids, .nfields = 2};
    cr_assert(pq_reader_scan(r, &ro, &want, &err), "%s", err.msg);
    fmt_batch_t *b;
    uint64_t rows = 0, nulls = 0;
    double sum = 0;
    while (pq_reader_next(r, &b, &err)) {
        cr_assert_eq(b->ncols, 2);
        for (uint32_t i = 0; i < b->nrows; i++) {
            cr_assert(!fmt_vec_valid(&b->cols[1], i));
            if (!fmt_vec_valid(&b->cols[0], i)) {
                nulls++;
                cr_assert_eq((rows + i) % 5, 0);
            } else {
                sum += fmt_vec_f64(&b->cols[0], i);
            }
        }
        rows += b->nrows;
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    cr_assert_eq(rows, 100000);
    cr_assert_eq(nulls, 20000);
    double want_sum = 0;
    for (uint32_t i = 0; i < 100000; i++)
        if (i % 5) want_sum += i / 2.0;
    cr_assert_float_eq(sum, want_sum, 1e-6);
    pq_reader_free(r);
    pq_source_close(&src);
    buf_free(&f);
    arena_free(&a);
}

/* Counts rows and pages for one predicate. */
static void scan_with(const buf_t *f, pq_pred p, uint64_t *rows, uint64_t *matches, pq_reader_stats *st) {
    floe_err err = {0};
    pq_source src = pq_source_mem(f->data, f->len, "mem.parquet");
    pq_reader_t *r = pq_reader_open(&src, &err);
    cr_assert(r, "%s", err.msg);
    pq_reader_opts ro = {.preds = &p, .npreds = 1};
    cr_assert(pq_reader_scan(r, &ro, NULL, &err), "%s", err.msg);
    fmt_batch_t *b;
    *rows = *matches = 0;
    while (pq_reader_next(r, &b, &err)) {
        for (uint32_t i = 0; i < b->nrows; i++) {
            int64_t id = fmt_vec_i64(&b->cols[0], i);
            int64_t g = fmt_vec_i64(&b->cols[1], i);
            cr_assert_eq(g, id / 1000, "row %lld: columns out of step", (long long)id);
            if (p.field_id == 1 && id >= p.i64) (*matches)++;
            if (p.field_id == 2 && g == p.i64) (*matches)++;
        }
        *rows += b->nrows;
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    *st = *pq_reader_stats_get(r);
    pq_reader_free(r);
    pq_source_close(&src);
}

Test(parquet, pruning_counts_pages) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t f = BUF_INIT;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.row_group_rows = 50000;
    o.page_rows = 1000;
    pq_file_metrics m;
    fmt_schema_t s;
    write_file(&f, 100000, &o, &m, &a, &s);
    uint64_t rows, matches;
    pq_reader_stats st;

    /* no predicate: every page of 4 columns in 2 row groups */
    pq_pred none = {.field_id = 999, .op = PQ_PRED_EQ};
    scan_with(&f, none, &rows, &matches, &st);
    cr_assert_eq(rows, 100000);
    uint64_t all_pages = st.pages;
    cr_assert_geq(all_pages, 400);

    /* id >= 99500: the first row group goes by statistics, then all but
     * the last page of each column by the page index */
    pq_pred ge = {.field_id = 1, .op = PQ_PRED_GE, .i64 = 99500};
    scan_with(&f, ge, &rows, &matches, &st);
    cr_assert_eq(matches, 500);
    cr_assert_eq(st.row_groups_skipped, 1);
    cr_assert_leq(st.pages, 8, "decoded %llu pages", (unsigned long long)st.pages);
    cr_assert_geq(st.pages_skipped, 4 * 49);
    cr_assert_eq(rows, 1000);

    /* grp == 73: one page's worth of rows in the second group */
    pq_pred eq = {.field_id = 2, .op = PQ_PRED_EQ, .i64 = 73};
    scan_with(&f, eq, &rows, &matches, &st);
    cr_assert_eq(matches, 1000);
    cr_assert_leq(rows, 2000);
    cr_assert_leq(st.pages, 12, "decoded %llu pages", (unsigned long long)st.pages);

    /* nothing matches: no pages at all */
    pq_pred lt = {.field_id = 1, .op = PQ_PRED_LT, .i64 = -1};
    scan_with(&f, lt, &rows, &matches, &st);
    cr_assert_eq(rows, 0);
    cr_assert_eq(st.pages, 0);
    cr_assert_eq(st.row_groups_skipped, 2);
    buf_free(&f);
    arena_free(&a);
}

/* Bounds and counts from the writer's bulk paths (integers, doubles with
 * NaNs, strings; dictionary or PLAIN; with and without nulls) agree with a
 * value-by-value reckoning, and the values read back. */
Test(parquet, bulk_paths_keep_statistics) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    cr_assert(fmt_schema_parse("i long, d double, f float, t string", &a, &s, &err));
    for (int shape = 0; shape < 4; shape++) {
        bool dict = shape & 1, nulls = shape & 2;
        uint32_t n = 50000, distinct = shape == 1 ? 40 : 5000;
        pq_writer_opts o;
        pq_writer_opts_default(&o);
        o.dictionary = dict;
        o.page_rows = 3000;
        buf_t f = BUF_INIT;
        pq_writer_t *w = pq_writer_new(&s, &o, (pq_sink){mem_sink, &f}, &err);
        cr_assert(w, "%s", err.msg);
        fmt_batch_t b;
        fmt_batch_init(&b, &s);
        int64_t imin = INT64_MAX, imax = INT64_MIN;
        double dmin = INFINITY, dmax = -INFINITY, sum = 0;
        int64_t nan = 0, nnull = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = (i * 7919u) % distinct;
            bool null = nulls && i % 7 == 3;
            int64_t iv = (int64_t)k * 1000 - 77777;
            double dv = k % 97 == 5 ? NAN : k == 11 ? -0.0 : (double)k / 8 - 300;
            char t[16];
            int tl = snprintf(t, sizeof t, "v%u", k);
            if (null) {
                for (int c = 0; c < 4; c++) fmt_vec_append_null(&b.cols[c]);
                nnull++;
            } else {
                fmt_vec_append_i64(&b.cols[0], iv);
                fmt_vec_append_f64(&b.cols[1], dv);
                fmt_vec_append_f32(&b.cols[2], (float)dv);
                fmt_vec_append_bytes(&b.cols[3], t, (size_t)tl);
                imin = iv < imin ? iv : imin;
                imax = iv > imax ? iv : imax;
                if (isnan(dv)) {
                    nan++;
                } else {
                    dmin = dv < dmin ? dv : dmin;
                    dmax = dv > dmax ? dv : dmax;
                    sum += dv;
                }
            }
            b.nrows++;
            if (b.nrows == 4096 || i + 1 == n) {
                cr_assert(pq_writer_write(w, &b, &err), "%s", err.msg);
                fmt_batch_reset(&b);
            }
        }
        pq_file_metrics m;
        cr_assert(pq_writer_close(w, &m, &a, &err), "%s", err.msg);
        pq_writer_free(w);
        fmt_batch_free(&b);
        int64_t lo, hi;
        memcpy(&lo, m.fields[0].lower, 8);
        memcpy(&hi, m.fields[0].upper, 8);
        cr_assert(lo == imin && hi == imax, "shape %d: long bounds %lld..%lld", shape, (long long)lo, (long long)hi);
        double dlo, dhi;
        memcpy(&dlo, m.fields[1].lower, 8);
        memcpy(&dhi, m.fields[1].upper, 8);
        cr_assert(dlo == dmin && dhi == dmax, "shape %d: double bounds %g..%g", shape, dlo, dhi);
        float flo, fhi;
        memcpy(&flo, m.fields[2].lower, 4);
        memcpy(&fhi, m.fields[2].upper, 4);
        cr_assert(flo == (float)dmin && fhi == (float)dmax, "shape %d: float bounds", shape);
        for (int c = 0; c < 4; c++) cr_assert_eq(m.fields[c].null_count, nnull, "shape %d column %d", shape, c);
        cr_assert_eq(m.fields[1].nan_count, nan, "shape %d", shape);
        cr_assert_eq(m.fields[2].nan_count, nan, "shape %d", shape);
        cr_assert(m.fields[3].lower_len == 2 && !memcmp(m.fields[3].lower, "v0", 2), "shape %d", shape);
        /* read back: the sum of the doubles that are numbers */
        pq_source src = pq_source_mem(f.data, f.len, "stats.parquet");
        pq_reader_t *r = pq_reader_open(&src, &err);
        cr_assert(r, "%s", err.msg);
        cr_assert(pq_reader_scan(r, NULL, NULL, &err), "%s", err.msg);
        fmt_batch_t *out;
        double got = 0;
        uint64_t rows = 0;
        while (pq_reader_next(r, &out, &err)) {
            for (uint32_t i = 0; i < out->nrows; i++)
                if (fmt_vec_valid(&out->cols[1], i) && !isnan(fmt_vec_f64(&out->cols[1], i)))
                    got += fmt_vec_f64(&out->cols[1], i);
            rows += out->nrows;
        }
        cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
        cr_assert_eq(rows, n);
        cr_assert_float_eq(got, sum, 1e-6 * (1 + fabs(sum)));
        pq_reader_free(r);
        pq_source_close(&src);
        buf_free(&f);
    }
    arena_free(&a);
}

/* ---- threads ---- */

/* Every value of a batch as JSON, one line per row. */
static void dump_batch(const fmt_batch_t *b, buf_t *out) {
    for (uint32_t i = 0; i < b->nrows; i++) {
        for (uint32_t c = 0; c < b->ncols; c++) {
            fmt_value_json(out, &b->cols[c], i);
            buf_putc(out, c + 1 < b->ncols ? ',' : '\n');
        }
    }
}

/* A scan's batches, error, and statistics as text. With pause, each batch
 * is dumped, held a while (workers run ahead meanwhile), and dumped again:
 * the two must agree, since a batch stays valid until the next call. */
static void scan_text(const buf_t *f, const pq_reader_opts *o, bool pause, buf_t *out) {
    floe_err err = {0};
    pq_source src = pq_source_mem(f->data, f->len, "t.parquet");
    pq_reader_t *r = pq_reader_open(&src, &err);
    cr_assert(r, "%s", err.msg);
    cr_assert(pq_reader_scan(r, o, NULL, &err), "%s", err.msg);
    fmt_batch_t *b;
    uint64_t n = 0;
    while (pq_reader_next(r, &b, &err)) {
        size_t at = out->len;
        buf_printf(out, "batch %llu: %u rows\n", (unsigned long long)n, b->nrows);
        dump_batch(b, out);
        if (pause && n % 3 == 0) {
            usleep(300);
            buf_t again = BUF_INIT;
            buf_printf(&again, "batch %llu: %u rows\n", (unsigned long long)n, b->nrows);
            dump_batch(b, &again);
            cr_assert(again.len == out->len - at && !memcmp(again.data, out->data + at, again.len),
                      "threads=%u: batch %llu changed while held", o->threads, (unsigned long long)n);
            buf_free(&again);
        }
        n++;
    }
    cr_assert(!pq_reader_next(r, &b, &err) || true); /* after the end or an error: stays there */
    const pq_reader_stats *st = pq_reader_stats_get(r);
    buf_printf(out, "end: %s\nstats: %llu %llu %llu %llu %llu\n", err.code ? err.msg : "ok",
               (unsigned long long)st->row_groups, (unsigned long long)st->row_groups_skipped,
               (unsigned long long)st->pages, (unsigned long long)st->pages_skipped,
               (unsigned long long)st->bytes_read);
    pq_reader_free(r);
    pq_source_close(&src);
}

/* Rows whose dictionaries change every row group, nulls, lists and a
 * struct, so decoding ahead has to keep each batch's dictionaries alive. */
static void write_mixed(buf_t *out, uint32_t n, arena_t *a, uint32_t threads) {
    fmt_schema_t s;
    floe_err err = {0};
    cr_assert(fmt_schema_parse(
        "id long not null, sym string, px double, tags list<string>, st struct<a: int, b: string>", a, &s, &err));
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.row_group_rows = 7000;
    o.page_rows = 900;
    o.threads = threads;
    pq_writer_t *w = pq_writer_new(&s, &o, (pq_sink){mem_sink, out}, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, &s);
    for (uint32_t i = 0; i < n; i++) {
        char t[32];
        fmt_vec_append_i64(&b.cols[0], i);
        int k = snprintf(t, sizeof t, "g%u-%u", i / 7000, i * 7 % 13);
        if (i % 11 == 3)
            fmt_vec_append_null(&b.cols[1]);
        else
            fmt_vec_append_bytes(&b.cols[1], t, (size_t)k);
        fmt_vec_append_f64(&b.cols[2], (double)(i % 100) / 4);
        if (i % 9 == 0) {
            fmt_vec_append_null(&b.cols[3]);
        } else {
            for (uint32_t j = 0; j < i % 4; j++) fmt_vec_append_bytes(&b.cols[3].children[0], t, (size_t)k - j);
            fmt_vec_close_list(&b.cols[3]);
        }
        if (i % 13 == 5) {
            fmt_vec_append_null(&b.cols[4]);
        } else {
            fmt_vec_append_i32(&b.cols[4].children[0], (int32_t)i);
            fmt_vec_append_bytes(&b.cols[4].children[1], t, 2);
            fmt_vec_close_struct(&b.cols[4]);
        }
        b.nrows++;
        if (b.nrows == 2500 || i + 1 == n) {
            cr_assert(pq_writer_write(w, &b, &err), "%s", err.msg);
            fmt_batch_reset(&b);
        }
    }
    cr_assert(pq_writer_close(w, NULL, a, &err), "%s", err.msg);
    pq_writer_free(w);
    fmt_batch_free(&b);
}

Test(parquet, threads_decode_the_same_batches) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t f = BUF_INIT;
    write_mixed(&f, 30000, &a, 1);
    pq_pred preds[] = {{.field_id = 1, .op = PQ_PRED_GE, .i64 = 12345}, {.field_id = 1, .op = PQ_PRED_LT, .i64 = 3000}};
    int32_t some[] = {4, 2}; /* tags, sym */
    floe_err err = {0};
    for (int shape = 0; shape < 4; shape++) {
        pq_reader_opts o = {.batch_rows = shape & 1 ? 333 : 0};
        if (shape == 2) o.preds = &preds[0], o.npreds = 1;
        if (shape == 3) o.preds = &preds[1], o.npreds = 1, o.field_ids = some, o.nfields = 2;
        buf_t one = BUF_INIT;
        scan_text(&f, &o, false, &one);
        for (uint32_t t = 2; t <= 4; t++) {
            o.threads = t;
            buf_t many = BUF_INIT;
            scan_text(&f, &o, t == 2, &many);
            cr_assert(many.len == one.len && !memcmp(many.data, one.data, one.len),
                      "shape %d, threads %u: the scan differs from one thread's", shape, t);
            buf_free(&many);
        }
        buf_free(&one);
    }
    /* corrupted copies fail at the same batch with the same message */
    for (size_t at = 4; at < f.len; at += f.len / 97) {
        buf_t g = BUF_INIT;
        buf_append(&g, f.data, f.len);
        g.data[at] ^= 0x5a;
        pq_source src = pq_source_mem(g.data, g.len, "t.parquet");
        pq_reader_t *r = pq_reader_open(&src, &err);
        bool opens = r != NULL;
        pq_reader_free(r);
        pq_source_close(&src);
        if (opens) {
            buf_t one = BUF_INIT, many = BUF_INIT;
            pq_reader_opts o = {.threads = 1};
            scan_text(&g, &o, false, &one);
            o.threads = 3;
            scan_text(&g, &o, false, &many);
            cr_assert(many.len == one.len && !memcmp(many.data, one.data, one.len), "flip at %zu: threads differ", at);
            buf_free(&one);
            buf_free(&many);
        }
        buf_free(&g);
    }
    buf_free(&f);
    arena_free(&a);
}

/* The writer's compression threads change nothing in the file. */
Test(parquet, writer_threads_write_the_same_bytes) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t one = BUF_INIT;
    write_mixed(&one, 20000, &a, 1);
    for (uint32_t t = 2; t <= 4; t++) {
        buf_t many = BUF_INIT;
        write_mixed(&many, 20000, &a, t);
        cr_assert(many.len == one.len && !memcmp(many.data, one.data, one.len), "threads=%u: the file differs", t);
        buf_free(&many);
    }
    buf_free(&one);
    arena_free(&a);
}

/* A sink that fails after a budget of bytes. */
static bool failing_sink(void *ctx, const void *p, size_t n, floe_err *err) {
    size_t *left = ctx;
    if (n > *left) return floe_err_set(err, FLOE_EIO, "disk full (test)");
    *left -= n;
    return true;
}

/* Writes 30,000 rows through a sink with a budget of bytes; returns
 * whether it all went through, and the bytes written. */
static bool write_budget(const fmt_schema_t *s, size_t budget, uint32_t threads, size_t *written, floe_err *err,
                         arena_t *a) {
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.threads = threads;
    o.row_group_rows = 5000;
    o.page_rows = 500;
    size_t left = budget;
    pq_writer_t *w = pq_writer_new(s, &o, (pq_sink){failing_sink, &left}, err);
    if (!w) return false;
    fmt_batch_t b;
    fmt_batch_init(&b, s);
    for (uint32_t i = 0; i < 3000; i++) {
        fmt_vec_append_i64(&b.cols[0], (int64_t)i * 7919 % 10007);
        fmt_vec_append_f64(&b.cols[1], i / 3.0);
        b.nrows++;
    }
    bool ok = true;
    for (int k = 0; k < 10 && ok; k++) ok = pq_writer_write(w, &b, err);
    if (ok) ok = pq_writer_close(w, NULL, a, err);
    pq_writer_free(w);
    fmt_batch_free(&b);
    *written = budget - left;
    return ok;
}

Test(parquet, writer_threads_report_sink_errors) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    cr_assert(fmt_schema_parse("id long, x double", &a, &s, &err));
    size_t full;
    cr_assert(write_budget(&s, SIZE_MAX, 2, &full, &err, &a), "%s", err.msg);
    for (size_t budget = 3; budget < full; budget = budget * 2 + 1) {
        size_t written;
        for (uint32_t t = 1; t <= 3; t += 2) {
            floe_err_clear(&err);
            cr_assert(!write_budget(&s, budget, t, &written, &err, &a), "budget %zu: the write succeeded", budget);
            cr_assert(strstr(err.msg, "disk full"), "budget %zu, threads %u: %s", budget, t, err.msg);
        }
    }
    arena_free(&a);
}

Test(parquet, bloom_filter) {
    pq_bloom b;
    pq_bloom_init(&b, 1000, 0.01);
    for (int64_t i = 0; i < 1000; i++) pq_bloom_insert(&b, pq_bloom_hash(&i, 8));
    for (int64_t i = 0; i < 1000; i++) cr_assert(pq_bloom_check(&b, pq_bloom_hash(&i, 8)));
    int fp = 0;
    for (int64_t i = 1000; i < 11000; i++) fp += pq_bloom_check(&b, pq_bloom_hash(&i, 8));
    cr_assert_lt(fp, 300, "%d false positives in 10000", fp);
    buf_t enc = BUF_INIT;
    pq_bloom_encode(&b, &enc);
    pq_bloom d;
    floe_err err = {0};
    cr_assert(pq_bloom_decode((uint8_t *)enc.data, enc.len, 0, "t", &d, &err), "%s", err.msg);
    cr_assert_eq(d.nblocks, b.nblocks);
    int64_t k = 5;
    cr_assert(pq_bloom_check(&d, pq_bloom_hash(&k, 8)));
    pq_bloom_free(&d);
    cr_assert(!pq_bloom_decode((uint8_t *)enc.data, enc.len - 1, 0, "t", &d, &err) || (pq_bloom_free(&d), 0));
    pq_bloom_free(&b);
    buf_free(&enc);
}

Test(parquet, corrupt_files_fail_with_offsets) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t f = BUF_INIT;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    pq_file_metrics m;
    fmt_schema_t s;
    write_file(&f, 5000, &o, &m, &a, &s);
    floe_err err = {0};
    /* truncated: no magic at the end */
    pq_source src = pq_source_mem(f.data, f.len - 3, "cut.parquet");
    cr_assert_null(pq_reader_open(&src, &err));
    cr_assert(strstr(err.msg, "cut.parquet") && strstr(err.msg, "PAR1"), "%s", err.msg);
    pq_source_close(&src);
    /* a flipped byte in the first page header region: open works, the
     * scan fails naming the file and a byte offset (or decodes garbage
     * that still fits: the reader must not crash either way) */
    for (size_t at = 4; at < 200; at += 7) {
        buf_t g = BUF_INIT;
        buf_append(&g, f.data, f.len);
        g.data[at] ^= 0x5a;
        pq_source s2 = pq_source_mem(g.data, g.len, "flip.parquet");
        pq_reader_t *r = pq_reader_open(&s2, &err);
        cr_assert(r, "%s", err.msg);
        cr_assert(pq_reader_scan(r, NULL, NULL, &err));
        fmt_batch_t *b;
        floe_err_clear(&err);
        while (pq_reader_next(r, &b, &err)) {
        }
        if (err.code) cr_assert(strstr(err.msg, "flip.parquet"), "%s", err.msg);
        pq_reader_free(r);
        pq_source_close(&s2);
        buf_free(&g);
    }
    buf_free(&f);
    arena_free(&a);
}

Test(parquet, binary_as_string_on_request) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    cr_assert(fmt_schema_parse("b binary, l list<binary>", &a, &s, &err));
    buf_t f = BUF_INIT;
    pq_writer_t *w = pq_writer_new(&s, NULL, (pq_sink){mem_sink, &f}, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, &s);
    fmt_vec_append_bytes(&b.cols[0], "hey", 3);
    fmt_vec_append_bytes(&b.cols[1].children[0], "x", 1);
    fmt_vec_close_list(&b.cols[1]);
    b.nrows = 1;
    cr_assert(pq_writer_write(w, &b, &err), "%s", err.msg);
    cr_assert(pq_writer_close(w, NULL, &a, &err), "%s", err.msg);
    pq_writer_free(w);
    fmt_batch_free(&b);
    for (int as_string = 0; as_string < 2; as_string++) {
        pq_source src = pq_source_mem(f.data, f.len, "bin.parquet");
        pq_reader_t *r = pq_reader_open(&src, &err);
        cr_assert(r, "%s", err.msg);
        pq_reader_opts o = {.binary_as_string = as_string};
        cr_assert(pq_reader_scan(r, &o, NULL, &err), "%s", err.msg);
        fmt_batch_t *out;
        cr_assert(pq_reader_next(r, &out, &err), "%s", err.msg);
        fmt_type want = as_string ? FMT_STRING : FMT_BINARY;
        cr_assert_eq(out->cols[0].field->type, want);
        cr_assert_eq(out->cols[1].children[0].field->type, want);
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(&out->cols[0], 0, &n);
        cr_assert(n == 3 && !memcmp(p, "hey", 3));
        cr_assert_eq(pq_reader_schema(r)->root.children[0].type, FMT_BINARY); /* the file's schema is untouched */
        pq_reader_free(r);
        pq_source_close(&src);
    }
    buf_free(&f);
    arena_free(&a);
}

/* A reader takes a share of the row groups (the SQL engine's morsels):
 * the shares of four readers cover every row once, with and without
 * decode threads, and a range past the end reads nothing. */
Test(parquet, row_group_ranges_split_a_file) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t f = BUF_INIT;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.row_group_rows = 10000;
    pq_file_metrics m;
    fmt_schema_t s;
    write_file(&f, 35000, &o, &m, &a, &s);
    cr_assert_eq(m.nsplits, 4);
    floe_err err = {0};
    for (uint32_t threads = 1; threads <= 2; threads++) {
        uint64_t seen = 0, sum = 0;
        for (uint32_t g = 0; g < 5; g++) {
            pq_source src = pq_source_mem(f.data, f.len, "mem.parquet");
            pq_reader_t *r = pq_reader_open(&src, &err);
            cr_assert(r, "%s", err.msg);
            int32_t ids[] = {1};
            pq_reader_opts ro = {.field_ids = ids, .nfields = 1, .rg_first = g, .rg_count = 1, .threads = threads};
            cr_assert(pq_reader_scan(r, &ro, NULL, &err), "%s", err.msg);
            fmt_batch_t *b;
            uint64_t rows = 0;
            int64_t lo = INT64_MAX, hi = -1;
            while (pq_reader_next(r, &b, &err))
                for (uint32_t i = 0; i < b->nrows; i++) {
                    int64_t id = fmt_vec_i64(&b->cols[0], i);
                    lo = id < lo ? id : lo;
                    hi = id > hi ? id : hi;
                    sum += (uint64_t)id;
                    rows++;
                }
            cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
            if (g < 4) {
                cr_assert_eq(rows, g < 3 ? 10000 : 5000, "row group %u: %llu rows", g, (unsigned long long)rows);
                cr_assert_eq(lo, (int64_t)g * 10000, "row group %u starts at its own first row", g);
                cr_assert_eq(pq_reader_stats_get(r)->row_groups, 1);
            } else {
                cr_assert_eq(rows, 0, "a range past the last row group reads nothing");
            }
            seen += rows;
            pq_reader_free(r);
        }
        cr_assert_eq(seen, 35000);
        cr_assert_eq(sum, (uint64_t)35000 * 34999 / 2, "every row exactly once");
    }
    /* a range of two from the second: rows 10000..29999 */
    pq_source src = pq_source_mem(f.data, f.len, "mem.parquet");
    pq_reader_t *r = pq_reader_open(&src, &err);
    pq_reader_opts ro = {.rg_first = 1, .rg_count = 2};
    cr_assert(pq_reader_scan(r, &ro, NULL, &err), "%s", err.msg);
    fmt_batch_t *b;
    uint64_t rows = 0;
    while (pq_reader_next(r, &b, &err)) rows += b->nrows;
    cr_assert_eq(rows, 20000);
    pq_reader_free(r);
    buf_free(&f);
    arena_free(&a);
}
