/*
 * test_hash.c: row hashes follow SQL's grouping equality (sql/hash.h),
 * and HyperLogLog stays within 2% of the exact count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sql/hash.h"

static fmt_field_t field(fmt_type t) {
    fmt_field_t f = {.id = 1, .name = "c", .type = t};
    return f;
}

Test(sql_hash, equal_values_of_integer_types_hash_equal) {
    fmt_field_t fi = field(FMT_INT), fl = field(FMT_LONG);
    fmt_vec_t a, b;
    fmt_vec_init(&a, &fi);
    fmt_vec_init(&b, &fl);
    int32_t xs[] = {0, -1, 42, 2147483647};
    for (int k = 0; k < 4; k++) {
        fmt_vec_append_i32(&a, xs[k]);
        fmt_vec_append_i64(&b, xs[k]);
    }
    fmt_vec_append_null(&a);
    fmt_vec_append_null(&b);
    uint64_t ha[5], hb[5];
    sql_hash_vec(&a, ha, false);
    sql_hash_vec(&b, hb, false);
    for (int k = 0; k < 5; k++) cr_expect_eq(ha[k], hb[k], "row %d", k);
    cr_expect_neq(ha[0], ha[1]);
    cr_expect_neq(ha[4], ha[0], "NULL is its own group, apart from 0");
    fmt_vec_free(&a);
    fmt_vec_free(&b);
}

Test(sql_hash, doubles_fold_negative_zero_and_nans) {
    fmt_field_t f = field(FMT_DOUBLE);
    fmt_vec_t v;
    fmt_vec_init(&v, &f);
    fmt_vec_append_f64(&v, 0.0);
    fmt_vec_append_f64(&v, -0.0);
    fmt_vec_append_f64(&v, NAN);
    fmt_vec_append_f64(&v, -NAN);
    fmt_vec_append_f64(&v, 1.5);
    uint64_t h[5];
    sql_hash_vec(&v, h, false);
    cr_expect_eq(h[0], h[1]);
    cr_expect_eq(h[2], h[3]);
    cr_expect_neq(h[0], h[4]);
    cr_expect_neq(h[2], h[4]);
    fmt_vec_free(&v);
}

Test(sql_hash, dictionary_form_hashes_like_plain_strings) {
    fmt_field_t f = field(FMT_STRING);
    fmt_vec_t plain, dict, d;
    fmt_vec_init(&plain, &f);
    fmt_vec_init(&d, &f);
    const char *words[] = {"BTCUSDT", "ETHUSDT", ""};
    for (int k = 0; k < 3; k++) fmt_vec_append_bytes(&d, words[k], strlen(words[k]));
    uint32_t idx[] = {1, 0, 2, 1, 0};
    for (int k = 0; k < 5; k++) fmt_vec_append_bytes(&plain, words[idx[k]], strlen(words[idx[k]]));
    memset(&dict, 0, sizeof dict);
    dict.field = &f;
    dict.len = 5;
    dict.values = idx;
    dict.dict = &d;
    uint64_t hp[5], hd[5];
    sql_hash_vec(&plain, hp, false);
    sql_hash_vec(&dict, hd, false);
    for (int k = 0; k < 5; k++) cr_expect_eq(hp[k], hd[k], "row %d", k);
    cr_expect_neq(hp[0], hp[1]);
    /* a second key column changes the hash */
    uint64_t h1[5];
    memcpy(h1, hp, sizeof h1);
    sql_hash_vec(&dict, h1, true);
    cr_expect_neq(h1[0], hp[0]);
    fmt_vec_free(&plain);
    fmt_vec_free(&d);
}

static double hll_error(uint64_t n, uint64_t offset) {
    sql_hll s;
    sql_hll_init(&s);
    for (uint64_t k = 0; k < n; k++) sql_hll_add(&s, k + offset);
    return fabs((double)sql_hll_estimate(&s) - (double)n) / (double)n;
}

Test(sql_hash, hyperloglog_within_two_percent) {
    uint64_t sizes[] = {10, 1000, 20000, 100000, 1000000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        double e = hll_error(sizes[k], 7 * k);
        cr_expect_leq(e, sizes[k] <= 1000 ? 0.01 : 0.02, "%llu distinct: error %.4f", (unsigned long long)sizes[k], e);
    }
    sql_hll empty;
    sql_hll_init(&empty);
    cr_expect_eq(sql_hll_estimate(&empty), 0);
    /* duplicates do not count, and a merge is the union */
    sql_hll a, b;
    sql_hll_init(&a);
    sql_hll_init(&b);
    for (uint64_t k = 0; k < 50000; k++) {
        sql_hll_add(&a, k);
        sql_hll_add(&a, k);
        sql_hll_add(&b, k + 25000);
    }
    sql_hll_merge(&a, &b);
    double est = (double)sql_hll_estimate(&a);
    cr_expect(fabs(est - 75000) / 75000 <= 0.02, "union of 75000: %.0f", est);
}
