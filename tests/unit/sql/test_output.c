/*
 * test_output.c: the text and JSON forms of values (sql/output.h), which
 * scripts and the SQL logic tests compare, and the csv, json and table
 * writers: NULL against the empty string, quoting, alignment.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/text.h"
#include "sql/output.h"

static fmt_field_t field(fmt_type t) {
    fmt_field_t f = {.id = 1, .name = "c", .type = t};
    return f;
}

static char *text_of(const fmt_vec_t *v, uint32_t i) {
    buf_t b = BUF_INIT;
    sql_value_text(&b, v, i);
    char *s = strdup(b.data ? b.data : "");
    buf_free(&b);
    return s;
}

static char *json_of(const fmt_vec_t *v, uint32_t i) {
    buf_t b = BUF_INIT;
    sql_value_json(&b, v, i);
    char *s = strdup(b.data ? b.data : "");
    buf_free(&b);
    return s;
}

#define EXPECT_TEXT(v, i, want)                                                                                        \
    do {                                                                                                               \
        char *got_ = text_of(v, i);                                                                                    \
        cr_expect_str_eq(got_, want, "row %d: got '%s', want '%s'", (int)(i), got_, want);                             \
        free(got_);                                                                                                    \
    } while (0)

Test(sql_output, doubles_print_shortest_and_integral_ones_with_a_point) {
    fmt_field_t f = field(FMT_DOUBLE);
    fmt_vec_t v;
    fmt_vec_init(&v, &f);
    double xs[] = {0.1, 3.0, -2.5, 1e20, 1.0 / 3.0, 0.0, NAN, INFINITY, -INFINITY, 123456789.125, 1e-7};
    const char *want[] = {"0.1",      "3.0",       "-2.5",          "1e+20", "0.3333333333333333", "0.0", "NaN",
                          "Infinity", "-Infinity", "123456789.125", "1e-07"};
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) fmt_vec_append_f64(&v, xs[k]);
    for (uint32_t k = 0; k < sizeof xs / sizeof xs[0]; k++) EXPECT_TEXT(&v, k, want[k]);
    for (uint32_t k = 0; k < 6; k++) {
        char *t = text_of(&v, k);
        cr_expect_eq(strtod(t, NULL), xs[k], "round trip of row %u", k);
        free(t);
    }
    char *j = json_of(&v, 6);
    cr_expect_str_eq(j, "\"NaN\"");
    free(j);
    fmt_vec_free(&v);

    fmt_field_t g = field(FMT_FLOAT);
    fmt_vec_init(&v, &g);
    fmt_vec_append_f32(&v, 0.1f);
    fmt_vec_append_f32(&v, 2.0f);
    EXPECT_TEXT(&v, 0, "0.1");
    EXPECT_TEXT(&v, 1, "2.0");
    fmt_vec_free(&v);
}

Test(sql_output, decimals_keep_their_scale) {
    fmt_field_t f = field(FMT_DECIMAL);
    f.precision = 10, f.scale = 2;
    fmt_vec_t v;
    fmt_vec_init(&v, &f);
    int64_t xs[] = {150, -5, 0, 123456, -100};
    const char *want[] = {"1.50", "-0.05", "0.00", "1234.56", "-1.00"};
    for (size_t k = 0; k < 5; k++) fmt_vec_append_i64(&v, xs[k]);
    for (uint32_t k = 0; k < 5; k++) EXPECT_TEXT(&v, k, want[k]);
    char *j = json_of(&v, 0);
    cr_expect_str_eq(j, "1.50", "a decimal is a JSON number with its scale");
    free(j);
    fmt_vec_free(&v);

    fmt_field_t w = field(FMT_DECIMAL);
    w.precision = 38, w.scale = 3;
    fmt_vec_init(&v, &w);
    __int128 big = (__int128)1000000000000000000LL * 1000000 + 7; /* 10^24 + 7 */
    fmt_vec_append_i128(&v, -big);
    EXPECT_TEXT(&v, 0, "-1000000000000000000000.007");
    fmt_vec_free(&v);
}

Test(sql_output, dates_and_timestamps) {
    fmt_field_t d = field(FMT_DATE), ts = field(FMT_TIMESTAMP), tz = field(FMT_TIMESTAMPTZ), tm = field(FMT_TIME);
    fmt_vec_t v;
    fmt_vec_init(&v, &d);
    fmt_vec_append_i32(&v, (int32_t)fmt_days_from_civil(2024, 1, 31));
    fmt_vec_append_i32(&v, -1);
    EXPECT_TEXT(&v, 0, "2024-01-31");
    EXPECT_TEXT(&v, 1, "1969-12-31");
    fmt_vec_free(&v);

    int64_t base = fmt_days_from_civil(2024, 1, 31) * 86400LL * 1000000 + (12 * 3600 + 34 * 60 + 56) * 1000000LL;
    fmt_vec_init(&v, &ts);
    fmt_vec_append_i64(&v, base);
    fmt_vec_append_i64(&v, base + 500000);
    fmt_vec_append_i64(&v, base + 123);
    fmt_vec_append_i64(&v, -1); /* a microsecond before the epoch */
    EXPECT_TEXT(&v, 0, "2024-01-31 12:34:56");
    EXPECT_TEXT(&v, 1, "2024-01-31 12:34:56.5");
    EXPECT_TEXT(&v, 2, "2024-01-31 12:34:56.000123");
    EXPECT_TEXT(&v, 3, "1969-12-31 23:59:59.999999");
    fmt_vec_free(&v);

    fmt_vec_init(&v, &tz);
    fmt_vec_append_i64(&v, base);
    EXPECT_TEXT(&v, 0, "2024-01-31 12:34:56+00");
    char *j = json_of(&v, 0);
    cr_expect_str_eq(j, "\"2024-01-31 12:34:56+00\"");
    free(j);
    fmt_vec_free(&v);

    fmt_vec_init(&v, &tm);
    fmt_vec_append_i64(&v, (1 * 3600 + 2 * 60 + 3) * 1000000LL + 250000);
    EXPECT_TEXT(&v, 0, "01:02:03.25");
    fmt_vec_free(&v);
}

Test(sql_output, booleans_strings_and_binary) {
    fmt_field_t b = field(FMT_BOOLEAN), s = field(FMT_STRING), x = field(FMT_BINARY);
    fmt_vec_t v;
    fmt_vec_init(&v, &b);
    fmt_vec_append_bool(&v, true);
    fmt_vec_append_bool(&v, false);
    EXPECT_TEXT(&v, 0, "true");
    EXPECT_TEXT(&v, 1, "false");
    fmt_vec_free(&v);
    fmt_vec_init(&v, &s);
    fmt_vec_append_bytes(&v, "h\xc3\xa9\"\n", 5);
    char *j = json_of(&v, 0);
    cr_expect_str_eq(j, "\"h\xc3\xa9\\\"\\n\"");
    free(j);
    fmt_vec_free(&v);
    fmt_vec_init(&v, &x);
    fmt_vec_append_bytes(&v, "\x01\xab", 2);
    EXPECT_TEXT(&v, 0, "\\x01ab");
    fmt_vec_free(&v);
}

/* A two-column batch: a string with a NULL, an empty string and a comma,
 * and a bigint. */
static void sample(fmt_field_t *fs, fmt_batch_t *b) {
    fs[0] = field(FMT_STRING);
    fs[0].name = "name";
    fs[1] = field(FMT_LONG);
    fs[1].name = "n";
    b->ncols = 2;
    b->cols = calloc(2, sizeof *b->cols);
    fmt_vec_init(&b->cols[0], &fs[0]);
    fmt_vec_init(&b->cols[1], &fs[1]);
    fmt_vec_append_bytes(&b->cols[0], "a,b", 3);
    fmt_vec_append_null(&b->cols[0]);
    fmt_vec_append_bytes(&b->cols[0], "", 0);
    fmt_vec_append_i64(&b->cols[1], 1);
    fmt_vec_append_i64(&b->cols[1], -20);
    fmt_vec_append_null(&b->cols[1]);
    b->nrows = 3;
}

static char *write_all(sql_out_format format, double ms) {
    fmt_field_t fs[2];
    fmt_batch_t b = {0};
    sample(fs, &b);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    sql_writer *w = sql_writer_new(format, f);
    const char *names[] = {"name", "n"};
    sql_writer_begin(w, names, 2);
    sql_writer_batch(w, &b);
    sql_writer_end(w, ms);
    sql_writer_free(w);
    fclose(f);
    fmt_batch_free(&b);
    return out;
}

Test(sql_output, csv_tells_null_from_the_empty_string) {
    char *s = write_all(SQL_OUT_CSV, -1);
    cr_expect_str_eq(s, "name,n\n\"a,b\",1\n,-20\n\"\",\n");
    free(s);
}

Test(sql_output, json_is_one_object_per_line) {
    char *s = write_all(SQL_OUT_JSON, -1);
    cr_expect_str_eq(s, "{\"name\":\"a,b\",\"n\":1}\n{\"name\":null,\"n\":-20}\n{\"name\":\"\",\"n\":null}\n");
    free(s);
}

Test(sql_output, table_aligns_columns_and_counts_rows) {
    char *s = write_all(SQL_OUT_TABLE, 1.5);
    cr_expect_str_eq(s, "name | n\n"
                        "-----+-----\n"
                        "a,b  | 1\n"
                        "NULL | -20\n"
                        "     | NULL\n"
                        "(3 rows) in 1.500 ms\n");
    free(s);
}
