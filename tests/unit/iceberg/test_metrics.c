/*
 * test_metrics.c: manifest column stats from Parquet writer metrics
 * (src/iceberg/metrics.c): modes and their table properties, bounds in the
 * single-value binary form for every type the writer stores (a real file
 * written by Floe's Parquet writer), truncation of strings and binary with
 * upper bounds that stay upper bounds, lists and maps, NaN.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "base/str.h"
#include "format/parquet/parquet.h"
#include "ice_test.h"

static bool mem_sink(void *ctx, const void *p, size_t n, floe_err *err) {
    (void)err;
    buf_append(ctx, p, n);
    return true;
}

static ice_table_meta props_of(arena_t *a, const char **kv, int n) {
    ice_table_meta m = {.default_sort_order_id = 0};
    m.properties = arena_zalloc(a, (size_t)(n ? n : 1) * sizeof *m.properties);
    for (int i = 0; i < n; i++) m.properties[i] = (ice_kv){kv[2 * i], kv[2 * i + 1]};
    m.nproperties = n;
    return m;
}

static const ice_col_stats *stat(const ice_data_file *f, int32_t id) {
    for (int32_t i = 0; i < f->nstats; i++)
        if (f->stats[i].field_id == id) return &f->stats[i];
    return NULL;
}

static const char *hex(arena_t *a, const uint8_t *p, uint32_t n) {
    if (!p) return "(none)";
    char *h = arena_alloc(a, 2 * n + 1);
    str_hex(p, n, h);
    return h;
}

Test(iceberg_metrics, modes) {
    ice_metrics_mode m;
    floe_err err = {0};
    cr_assert(ice_metrics_mode_parse("none", &m, &err) && m.kind == ICE_METRICS_NONE);
    cr_assert(ice_metrics_mode_parse("Counts", &m, &err) && m.kind == ICE_METRICS_COUNTS);
    cr_assert(ice_metrics_mode_parse("full", &m, &err) && m.kind == ICE_METRICS_FULL);
    cr_assert(ice_metrics_mode_parse("truncate(16)", &m, &err) && m.kind == ICE_METRICS_TRUNCATE && m.length == 16);
    const char *bad[] = {"truncate(0)", "truncate()", "truncate(3", "truncate(99999999999)", "all", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_not(ice_metrics_mode_parse(bad[i], &m, &err), "%s", bad[i]);
        cr_assert(strstr(err.msg, bad[i]), "%s", err.msg);
    }
}

/* Writes rows with Floe's Parquet writer and converts its metrics. */
Test(iceberg_metrics, bounds_of_every_type_from_a_real_file) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, "b boolean, i int, l long, f float, d double, d9 decimal(9,2), "
                                          "d18 decimal(18,3), d30 decimal(30,4), dt date, t time, ts timestamptz, "
                                          "s string, bin binary, u uuid, fx fixed[3], tags list<string>");
    fmt_batch_t b;
    fmt_batch_init(&b, s);
    for (int r = 0; r < 3; r++) {
        int k = r == 2 ? -1 : r; /* rows with values 0, 1 and -1 */
        fmt_vec_append_bool(&b.cols[0], k > 0);
        fmt_vec_append_i32(&b.cols[1], k * 34);
        fmt_vec_append_i64(&b.cols[2], (int64_t)k * 5000000000LL);
        fmt_vec_append_f32(&b.cols[3], k == 1 ? NAN : (float)k * 1.5f);
        fmt_vec_append_f64(&b.cols[4], k * 2.25);
        fmt_vec_append_i32(&b.cols[5], k * 1420);
        fmt_vec_append_i64(&b.cols[6], k * 123456);
        fmt_vec_append_i128(&b.cols[7], (__int128)k * 1000000000000000000LL * 1000);
        fmt_vec_append_i32(&b.cols[8], 17486 + k);
        fmt_vec_append_i64(&b.cols[9], 81068000000LL + k);
        fmt_vec_append_i64(&b.cols[10], 1510871468000000LL + k);
        const char *strs[] = {"apple", "banana", "cherry"};
        fmt_vec_append_bytes(&b.cols[11], strs[r], strlen(strs[r]));
        fmt_vec_append_bytes(&b.cols[12], r == 1 ? "\x01\x02" : "\xff", r == 1 ? 2 : 1);
        fmt_vec_append_bytes(&b.cols[13],
                             r == 0 ? "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                                    : "\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                             16);
        fmt_vec_append_bytes(&b.cols[14], r == 0 ? "abc" : "abd", 3);
        if (r == 1) {
            fmt_vec_append_null(&b.cols[15]);
        } else {
            fmt_vec_append_bytes(&b.cols[15].children[0], "x", 1);
            fmt_vec_append_bytes(&b.cols[15].children[0], "y", 1);
            fmt_vec_close_list(&b.cols[15]);
        }
    }
    b.nrows = 3;
    buf_t file = BUF_INIT;
    floe_err err = {0};
    pq_writer_t *w = pq_writer_new(s, NULL, (pq_sink){mem_sink, &file}, &err);
    cr_assert(w, "%s", err.msg);
    cr_assert(pq_writer_write(w, &b, &err), "%s", err.msg);
    pq_file_metrics pm;
    cr_assert(pq_writer_close(w, &pm, &a, &err), "%s", err.msg);
    pq_writer_free(w);
    fmt_batch_free(&b);

    ice_data_file df = {0};
    cr_assert(ice_metrics_from_parquet(s, &pm, NULL, &a, &df, &err), "%s", err.msg);
    cr_assert_eq(df.record_count, 3);
    cr_assert_eq(df.file_size_in_bytes, (int64_t)file.len);
    cr_assert_geq(df.nsplit_offsets, 1);
    cr_assert_eq(df.split_offsets[0], 4);

    static const struct {
        int32_t id;
        const char *lo, *hi;
    } want[] = {
        {1, "00", "01"},
        {2, "deffffff", "22000000"},
        {3, "000efad5feffffff", "00f2052a01000000"},
        {4, "0000c0bf", "00000000"}, /* the NaN is not a bound */
        {5, "00000000000002c0", "0000000000000240"},
        {6, "fa74", "058c"},
        {7, "fe1dc0", "01e240"},
        {8, "c9ca36523a21600000", "3635c9adc5dea00000"},
        {9, "4d440000", "4f440000"},
        {10, "ff8207e012000000", "018307e012000000"},
        {11, "ffc2262d215e0500", "01c3262d215e0500"},
        {12, "6170706c65", "636865727279"},
        {13, "0102", "ff"},
        {14, "00000000000000000000000000000001", "f0000000000000000000000000000000"},
        {15, "616263", "616264"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const ice_col_stats *c = stat(&df, want[i].id);
        cr_assert(c, "no stats for field %d", want[i].id);
        cr_assert_eq(c->value_count, 3, "field %d", want[i].id);
        cr_assert_eq(c->null_count, 0, "field %d", want[i].id);
        cr_assert_gt(c->column_size, 0, "field %d", want[i].id);
        cr_assert_str_eq(hex(&a, c->lower, c->lower_len), want[i].lo, "field %d lower", want[i].id);
        cr_assert_str_eq(hex(&a, c->upper, c->upper_len), want[i].hi, "field %d upper", want[i].id);
    }
    cr_assert_eq(stat(&df, 4)->nan_count, 1);
    cr_assert_eq(stat(&df, 5)->nan_count, 0);
    cr_assert_eq(stat(&df, 2)->nan_count, -1);
    /* the list element: counts, no bounds */
    const ice_col_stats *el = stat(&df, 17);
    cr_assert(el, "no stats for the list element");
    cr_assert_eq(el->value_count, 5);
    cr_assert_eq(el->null_count, 1);
    cr_assert_null(el->lower);
    cr_assert_null(el->upper);
    /* every bound decodes as its type */
    for (int32_t i = 0; i < df.nstats; i++) {
        const ice_col_stats *c = &df.stats[i];
        if (!c->lower) continue;
        const fmt_field_t *f = fmt_schema_find(s, c->field_id);
        ice_value lo, hi;
        cr_assert(ice_value_from_binary(f, c->lower, c->lower_len, &a, &lo, &err), "%d: %s", c->field_id, err.msg);
        cr_assert(ice_value_from_binary(f, c->upper, c->upper_len, &a, &hi, &err), "%d: %s", c->field_id, err.msg);
        cr_assert_leq(ice_value_compare(&lo, &hi), 0, "field %d", c->field_id);
    }
    buf_free(&file);
    arena_free(&a);
}

static pq_field_metrics str_metrics(int32_t id, const char *lo, const char *hi) {
    return (pq_field_metrics){.field_id = id,
                              .phys_type = PQ_BYTE_ARRAY,
                              .column_size = 100,
                              .value_count = 10,
                              .null_count = 2,
                              .nan_count = -1,
                              .has_bounds = true,
                              .lower = (uint8_t *)lo,
                              .upper = (uint8_t *)hi,
                              .lower_len = (uint32_t)strlen(lo),
                              .upper_len = (uint32_t)strlen(hi)};
}

Test(iceberg_metrics, truncation_and_modes_from_properties) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, "a string, b string, c string, d binary, e string, f string, g string");
    pq_field_metrics fm[] = {
        str_metrics(1, "aaaaaaaaaaaaaaaaaaaaaaaa", "abcdefghijklmnopqrstuvwxyz"), /* default truncate(16) */
        str_metrics(2, "short", "shorter"),                                       /* full */
        str_metrics(3, "abc", "xyz"),                                             /* counts */
        str_metrics(4, "\x01\x02\x03\x04", "\x01\xff\xff\xff"),                   /* binary, truncate(2) */
        str_metrics(5, "\xc3\xa9\xc3\xa9\xc3\xa9", "\xc3\xa9\xc3\xa9\xc3\xa9"), /* truncate(2): é is one code point */
        str_metrics(6, "a", "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"),                /* U+10FFFF x2, truncate(1): no upper */
        str_metrics(7, "x", "y"),                                               /* none */
    };
    pq_file_metrics pm = {.row_count = 10, .file_size = 1000, .fields = fm, .nfields = 7};
    const char *kv[] = {
        "write.metadata.metrics.column.b", "full",        "write.metadata.metrics.column.c", "counts",
        "write.metadata.metrics.column.d", "truncate(2)", "write.metadata.metrics.column.e", "truncate(2)",
        "write.metadata.metrics.column.f", "truncate(1)", "write.metadata.metrics.column.g", "none"};
    ice_table_meta props = props_of(&a, kv, 6);
    ice_data_file df = {0};
    floe_err err = {0};
    cr_assert(ice_metrics_from_parquet(s, &pm, &props, &a, &df, &err), "%s", err.msg);
    cr_assert_eq(df.nstats, 6);
    const ice_col_stats *c = stat(&df, 1);
    cr_assert_eq(c->lower_len, 16);
    cr_assert(memcmp(c->lower, "aaaaaaaaaaaaaaaa", 16) == 0);
    cr_assert_eq(c->upper_len, 16);
    cr_assert(memcmp(c->upper, "abcdefghijklmnoq", 16) == 0); /* ...p raised to q */
    c = stat(&df, 2);
    cr_assert(c->upper_len == 7 && memcmp(c->upper, "shorter", 7) == 0);
    c = stat(&df, 3);
    cr_assert(c->value_count == 10 && c->null_count == 2 && c->column_size == 100 && !c->lower && !c->upper);
    c = stat(&df, 4);
    cr_assert_str_eq(hex(&a, c->lower, c->lower_len), "0102");
    cr_assert_str_eq(hex(&a, c->upper, c->upper_len), "02"); /* 01 ff: the ff cannot rise, the 01 can */
    c = stat(&df, 5);
    cr_assert_str_eq(hex(&a, c->lower, c->lower_len), "c3a9c3a9");
    cr_assert_str_eq(hex(&a, c->upper, c->upper_len), "c3a9c3aa");
    c = stat(&df, 6);
    cr_assert_str_eq(hex(&a, c->lower, c->lower_len), "61");
    cr_assert_null(c->upper);
    cr_assert_null(stat(&df, 7));

    /* a default for every column; a bad mode is an error naming the property */
    const char *kv2[] = {"write.metadata.metrics.default", "counts"};
    props = props_of(&a, kv2, 1);
    cr_assert(ice_metrics_from_parquet(s, &pm, &props, &a, &df, &err), "%s", err.msg);
    cr_assert_eq(df.nstats, 7);
    for (int32_t i = 0; i < df.nstats; i++) cr_assert_null(df.stats[i].lower);
    const char *kv3[] = {"write.metadata.metrics.column.a", "truncate[4]"};
    props = props_of(&a, kv3, 1);
    cr_assert_not(ice_metrics_from_parquet(s, &pm, &props, &a, &df, &err));
    cr_assert(strstr(err.msg, "write.metadata.metrics.column.a") && strstr(err.msg, "truncate[4]"), "%s", err.msg);

    /* a sorted column is raised from counts to truncate(16) */
    ice_sort_field sf = {.source_id = 3, .transform = {.kind = ICE_TR_IDENTITY}};
    ice_sort_order order = {.order_id = 1, .fields = &sf, .nfields = 1};
    props = props_of(&a, kv2, 1);
    props.sort_orders = &order;
    props.nsort_orders = 1;
    props.default_sort_order_id = 1;
    cr_assert(ice_metrics_from_parquet(s, &pm, &props, &a, &df, &err), "%s", err.msg);
    cr_assert_not_null(stat(&df, 3)->lower);
    cr_assert_null(stat(&df, 2)->lower);
    arena_free(&a);
}

Test(iceberg_metrics, wide_tables_and_bad_bounds) {
    arena_t a;
    arena_init(&a, 1 << 16);
    buf_t text = BUF_INIT;
    for (int i = 0; i < 102; i++) buf_printf(&text, "%sc%d int", i ? ", " : "", i);
    fmt_schema_t *s = ice_test_schema(&a, text.data);
    buf_free(&text);
    pq_field_metrics fm[3];
    int32_t ids[3] = {1, 100, 101};
    for (int i = 0; i < 3; i++)
        fm[i] = (pq_field_metrics){.field_id = ids[i],
                                   .phys_type = PQ_INT32,
                                   .value_count = 1,
                                   .nan_count = -1,
                                   .has_bounds = true,
                                   .lower = (uint8_t *)"\x01\x00\x00\x00",
                                   .upper = (uint8_t *)"\x02\x00\x00\x00",
                                   .lower_len = 4,
                                   .upper_len = 4};
    fm[1].lower_len = 3; /* not an int: the bounds are left out */
    pq_file_metrics pm = {.row_count = 1, .fields = fm, .nfields = 3};
    ice_data_file df = {0};
    floe_err err = {0};
    cr_assert(ice_metrics_from_parquet(s, &pm, NULL, &a, &df, &err), "%s", err.msg);
    cr_assert_not_null(stat(&df, 1)->lower);
    cr_assert_not_null(stat(&df, 100));
    cr_assert_null(stat(&df, 100)->lower);
    cr_assert_null(stat(&df, 101)); /* the 101st column: past the 100 inferred defaults */
    arena_free(&a);
}
