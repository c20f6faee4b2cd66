/*
 * test_value.c: Iceberg values (src/iceberg/value.c): the spec's order,
 * the single-value binary form (Appendix D, exact bytes and round trips of
 * every primitive type), the JSON single-value form, human text, literals
 * typed by a person, and values read from column vectors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "base/str.h"
#include "ice_test.h"

static const char *bin_hex(arena_t *a, const ice_value *v) {
    buf_t b = BUF_INIT;
    ice_value_to_binary(v, &b);
    char *hex = arena_alloc(a, 2 * b.len + 1);
    str_hex((const unsigned char *)b.data, b.len, hex);
    buf_free(&b);
    return hex;
}

/* Appendix D: the exact bytes of a value of each type, and back. */
Test(iceberg_value, binary_exact_bytes_and_round_trip) {
    static const struct {
        const char *type, *text, *hex;
    } cases[] = {
        {"boolean", "true", "01"},
        {"boolean", "false", "00"},
        {"int", "34", "22000000"},
        {"int", "-1", "ffffffff"},
        {"long", "34", "2200000000000000"},
        {"long", "-9223372036854775808", "0000000000000080"},
        {"float", "1.0", "0000803f"},
        {"double", "1.0", "000000000000f03f"},
        {"double", "-0.0", "0000000000000080"},
        {"date", "2017-11-16", "4e440000"},
        {"date", "1969-12-31", "ffffffff"},
        {"time", "22:31:08", "008307e012000000"},
        {"timestamp", "2017-11-16T22:31:08", "00c3262d215e0500"},
        {"timestamptz", "2017-11-16T14:31:08-08:00", "00c3262d215e0500"},
        {"timestamp_ns", "2017-11-16T22:31:08.000000001", "01b8695f98b1f714"},
        {"string", "iceberg", "69636562657267"},
        {"string", "", ""},
        {"uuid", "f79c3e09-677c-4bbd-a479-3f349cb785e7", "f79c3e09677c4bbda4793f349cb785e7"},
        {"fixed[4]", "000102ff", "000102ff"},
        {"binary", "000102ff", "000102ff"},
        {"decimal(4,2)", "14.20", "058c"},
        {"decimal(9,2)", "0.00", "00"},
        {"decimal(9,2)", "-0.01", "ff"},
        {"decimal(9,2)", "1.27", "7f"},
        {"decimal(9,2)", "1.28", "0080"},
        {"decimal(9,2)", "-1.28", "80"},
        {"decimal(9,2)", "-1.29", "ff7f"},
        {"decimal(38,0)", "99999999999999999999999999999999999999", "4b3b4ca85a86c47a098a223fffffffff"},
        {"decimal(38,0)", "-99999999999999999999999999999999999999", "b4c4b357a5793b85f675ddc000000001"},
    };
    arena_t a;
    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ice_value v = ice_test_value(&a, cases[i].type, cases[i].text);
        const char *hex = bin_hex(&a, &v);
        cr_assert_str_eq(hex, cases[i].hex, "%s %s: %s, want %s", cases[i].type, cases[i].text, hex, cases[i].hex);
        buf_t b = BUF_INIT;
        ice_value_to_binary(&v, &b);
        fmt_field_t f = ice_test_type(&a, cases[i].type);
        ice_value back;
        floe_err err = {0};
        cr_assert(ice_value_from_binary(&f, (const uint8_t *)b.data, (uint32_t)b.len, &a, &back, &err), "%s: %s",
                  cases[i].type, err.msg);
        cr_assert(ice_value_equal(&v, &back), "%s %s does not round trip", cases[i].type, cases[i].text);
        cr_assert_str_eq(ice_test_fmt(&a, &back), ice_test_fmt(&a, &v));
        buf_free(&b);
    }
    arena_free(&a);
}

Test(iceberg_value, binary_lengths_checked) {
    arena_t a;
    arena_init(&a, 4096);
    static const struct {
        const char *type;
        uint32_t n;
        const char *says;
    } bad[] = {
        {"int", 8, "4 bytes"},       {"date", 3, "4 bytes"},         {"long", 5, "8 bytes"},
        {"timestamp", 4, "8 bytes"}, {"uuid", 15, "16 bytes"},       {"fixed[4]", 5, "4 bytes"},
        {"boolean", 0, "1 byte"},    {"decimal(9,2)", 0, "1 to 16"}, {"decimal(38,2)", 17, "1 to 16"},
        {"float", 8, "4 bytes"},     {"double", 2, "8 bytes"},
    };
    uint8_t buf[32] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fmt_field_t f = ice_test_type(&a, bad[i].type);
        ice_value v;
        floe_err err = {0};
        cr_assert_not(ice_value_from_binary(&f, buf, bad[i].n, &a, &v, &err), "%s of %u bytes", bad[i].type, bad[i].n);
        cr_assert(strstr(err.msg, bad[i].says), "%s: %s", bad[i].type, err.msg);
        cr_assert(strstr(err.msg, bad[i].type), "%s: %s", bad[i].type, err.msg);
    }
    /* promotions: an int bound read as long, a float bound read as double */
    fmt_field_t lf = ice_test_type(&a, "long"), df = ice_test_type(&a, "double");
    ice_value v;
    floe_err err = {0};
    cr_assert(ice_value_from_binary(&lf, (const uint8_t *)"\xfe\xff\xff\xff", 4, &a, &v, &err));
    cr_assert_eq(v.v.i64, -2);
    cr_assert(ice_value_from_binary(&df, (const uint8_t *)"\x00\x00\xc0\x3f", 4, &a, &v, &err));
    cr_assert_eq(v.v.f64, 1.5);
    arena_free(&a);
}

static const char *to_json(arena_t *a, const ice_value *v) {
    json_t *j = ice_value_to_json(v);
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    char *r = arena_strdup(a, s);
    free(s);
    json_decref(j);
    return r;
}

/* Appendix D: the JSON single-value form. */
Test(iceberg_value, json_forms) {
    static const struct {
        const char *type, *text, *json;
    } cases[] = {
        {"boolean", "true", "true"},
        {"int", "34", "34"},
        {"long", "-34", "-34"},
        {"float", "1.5", "1.5"},
        {"double", "1.0", "1.0"},
        {"double", "NaN", "\"NaN\""},
        {"double", "-Infinity", "\"-Infinity\""},
        {"decimal(4,2)", "14.20", "\"14.20\""},
        {"decimal(9,3)", "-0.5", "\"-0.500\""},
        {"date", "2017-11-16", "\"2017-11-16\""},
        {"date", "1969-12-31", "\"1969-12-31\""},
        {"time", "22:31:08.123456", "\"22:31:08.123456\""},
        {"time", "22:31:08", "\"22:31:08\""},
        {"timestamp", "2017-11-16T22:31:08.123456", "\"2017-11-16T22:31:08.123456\""},
        {"timestamp", "1969-12-31T23:59:59.999999", "\"1969-12-31T23:59:59.999999\""},
        {"timestamptz", "2017-11-16T22:31:08.123456Z", "\"2017-11-16T22:31:08.123456+00:00\""},
        {"timestamptz", "2017-11-16T14:31:08-08:00", "\"2017-11-16T22:31:08+00:00\""},
        {"timestamp_ns", "2017-11-16T22:31:08.123456789", "\"2017-11-16T22:31:08.123456789\""},
        {"timestamptz_ns", "2017-11-16T22:31:08.123456789Z", "\"2017-11-16T22:31:08.123456789+00:00\""},
        {"string", "iceberg", "\"iceberg\""},
        {"uuid", "f79c3e09-677c-4bbd-a479-3f349cb785e7", "\"f79c3e09-677c-4bbd-a479-3f349cb785e7\""},
        {"fixed[4]", "000102ff", "\"000102ff\""},
        {"binary", "000102ff", "\"000102ff\""},
    };
    arena_t a;
    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ice_value v = ice_test_value(&a, cases[i].type, cases[i].text);
        const char *got = to_json(&a, &v);
        cr_assert_str_eq(got, cases[i].json, "%s %s: %s, want %s", cases[i].type, cases[i].text, got, cases[i].json);
        json_t *j = json_loads(got, JSON_DECODE_ANY, NULL);
        fmt_field_t f = ice_test_type(&a, cases[i].type);
        ice_value back;
        floe_err err = {0};
        cr_assert(ice_value_from_json(&f, j, &a, &back, &err), "%s: %s", got, err.msg);
        cr_assert(ice_value_equal(&v, &back) || (isnan(v.v.f64) && isnan(back.v.f64)), "%s does not round trip", got);
        json_decref(j);
    }
    /* a float goes out as its shortest decimal, not as the widened double */
    ice_value f = ice_test_value(&a, "float", "1.1");
    json_t *j = ice_value_to_json(&f);
    cr_assert_eq(json_real_value(j), 1.1);
    json_decref(j);
    /* null both ways */
    ice_value n = ice_value_null(FMT_INT);
    cr_assert_str_eq(to_json(&a, &n), "null");
    arena_free(&a);
}

Test(iceberg_value, json_readers_accept_other_writers) {
    arena_t a;
    arena_init(&a, 4096);
    static const struct {
        const char *type, *json, *human;
    } cases[] = {
        {"fixed[2]", "\"00FF\"", "00ff"}, /* Java writes upper-case hex */
        {"double", "3", "3.0"},
        {"timestamptz", "\"2017-11-16T22:31:08Z\"", "2017-11-16T22:31:08Z"},
        {"timestamp", "\"2017-11-16T22:31\"", "2017-11-16T22:31:00"},
        {"long", "null", "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fmt_field_t f = ice_test_type(&a, cases[i].type);
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        ice_value v;
        floe_err err = {0};
        cr_assert(ice_value_from_json(&f, j, &a, &v, &err), "%s: %s", cases[i].json, err.msg);
        cr_assert_str_eq(ice_test_fmt(&a, &v), cases[i].human);
        json_decref(j);
    }
    static const struct {
        const char *type, *json, *says;
    } bad[] = {
        {"int", "\"34\"", "JSON integer"},
        {"int", "3000000000", "-2147483648..2147483647"},
        {"long", "1.5", "JSON integer"},
        {"boolean", "1", "true or false"},
        {"date", "\"2017-13-01\"", "YYYY-MM-DD"},
        {"decimal(4,2)", "\"14.205\"", "decimal"},
        {"decimal(4,2)", "14.2", "JSON string"},
        {"uuid", "\"f79c3e09\"", "UUID"},
        {"fixed[2]", "\"00\"", "hex"},
        {"binary", "\"0g\"", "hex"},
        {"double", "\"1.5\"", "JSON number"},
        {"string", "[]", "JSON string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fmt_field_t f = ice_test_type(&a, bad[i].type);
        json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        cr_assert(j, "%s", bad[i].json);
        ice_value v;
        floe_err err = {0};
        cr_assert_not(ice_value_from_json(&f, j, &a, &v, &err), "%s as %s", bad[i].json, bad[i].type);
        cr_assert(strstr(err.msg, bad[i].says), "%s: %s", bad[i].json, err.msg);
        cr_assert(strstr(err.msg, bad[i].type), "%s: %s", bad[i].json, err.msg);
        json_decref(j);
    }
    arena_free(&a);
}

Test(iceberg_value, order) {
    arena_t a;
    arena_init(&a, 4096);
    /* floats: -NaN < -inf < -1 < -0 < 0 < 1 < inf < NaN */
    double ds[] = {-NAN, -INFINITY, -1, -0.0, 0.0, 1, INFINITY, NAN};
    for (size_t i = 0; i + 1 < sizeof ds / sizeof *ds; i++) {
        ice_value x = ice_value_double(FMT_DOUBLE, ds[i]), y = ice_value_double(FMT_DOUBLE, ds[i + 1]);
        cr_assert_lt(ice_value_compare(&x, &y), 0, "%zu", i);
        cr_assert_gt(ice_value_compare(&y, &x), 0, "%zu", i);
    }
    /* nulls first */
    ice_value n = ice_value_null(FMT_LONG), m = ice_value_long(FMT_LONG, INT64_MIN);
    cr_assert_lt(ice_value_compare(&n, &m), 0);
    cr_assert_eq(ice_value_compare(&n, &n), 0);
    cr_assert(ice_value_equal(&n, &n));
    cr_assert_not(ice_value_equal(&n, &m));
    /* strings and binary: unsigned bytes, then length */
    ice_value s1 = ice_value_str("a"), s2 = ice_value_str("ab"), s3 = ice_value_str("\xc3\xa9");
    cr_assert_lt(ice_value_compare(&s1, &s2), 0);
    cr_assert_lt(ice_value_compare(&s2, &s3), 0);
    /* decimals of different scales */
    ice_value d1 = ice_test_value(&a, "decimal(9,2)", "1.50"), d2 = ice_test_value(&a, "decimal(9,3)", "1.499");
    cr_assert_gt(ice_value_compare(&d1, &d2), 0);
    ice_value b1 = ice_value_long(FMT_BOOLEAN, 0), b2 = ice_value_long(FMT_BOOLEAN, 1);
    cr_assert_lt(ice_value_compare(&b1, &b2), 0);
    arena_free(&a);
}

Test(iceberg_value, human_literals) {
    arena_t a;
    arena_init(&a, 4096);
    static const struct {
        const char *type, *text, *human;
    } cases[] = {
        {"timestamptz", "2026-03-28", "2026-03-28T00:00:00Z"},
        {"timestamp_ns", "2026-03-28", "2026-03-28T00:00:00"},
        {"timestamptz", "2026-03-28T10:00:00+02:00", "2026-03-28T08:00:00Z"},
        {"timestamptz", "2026-03-28 10:00:00", "2026-03-28T10:00:00Z"},
        {"boolean", "TRUE", "true"},
        {"float", "0.1", "0.1"},
        {"double", "1e300", "1e+300"},
        {"decimal(10,2)", "3", "3.00"},
        {"int", "-2147483648", "-2147483648"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ice_value v = ice_test_value(&a, cases[i].type, cases[i].text);
        cr_assert_str_eq(ice_test_fmt(&a, &v), cases[i].human, "%s %s", cases[i].type, cases[i].text);
    }
    static const struct {
        const char *type, *text, *says;
    } bad[] = {
        {"int", "2147483648", "-2147483648..2147483647"},
        {"int", "1.5", "int"},
        {"date", "2026-02-30", "YYYY-MM-DD"},
        {"timestamp", "yesterday", "timestamp"},
        {"timestamp_ns", "9999-12-31", "date or timestamp"},
        {"decimal(4,2)", "123.4", "decimal(4,2)"},
        {"uuid", "nope", "UUID"},
        {"boolean", "yes", "true or false"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fmt_field_t f = ice_test_type(&a, bad[i].type);
        ice_value v;
        floe_err err = {0};
        cr_assert_not(ice_value_parse(&f, bad[i].text, strlen(bad[i].text), &a, &v, &err), "%s", bad[i].text);
        cr_assert(strstr(err.msg, bad[i].text), "%s", err.msg);
        cr_assert(strstr(err.msg, bad[i].says), "%s", err.msg);
    }
    arena_free(&a);
}

Test(iceberg_value, from_vectors) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, "i int, d decimal(30,2), s string, u uuid");
    fmt_batch_t b;
    fmt_batch_init(&b, s);
    fmt_vec_append_i32(&b.cols[0], 7);
    fmt_vec_append_null(&b.cols[0]);
    fmt_vec_append_i128(&b.cols[1], -(__int128)123456789012345678LL * 1000);
    fmt_vec_append_null(&b.cols[1]);
    fmt_vec_append_bytes(&b.cols[2], "BTC", 3);
    fmt_vec_append_null(&b.cols[2]);
    fmt_vec_append_bytes(&b.cols[3], "\xf7\x9c\x3e\x09\x67\x7c\x4b\xbd\xa4\x79\x3f\x34\x9c\xb7\x85\xe7", 16);
    fmt_vec_append_null(&b.cols[3]);
    const char *want[4] = {"7", "-1234567890123456780.00", "BTC", "f79c3e09-677c-4bbd-a479-3f349cb785e7"};
    for (int c = 0; c < 4; c++) {
        ice_value v;
        ice_value_from_vec(&b.cols[c], 0, &v);
        cr_assert_str_eq(ice_test_fmt(&a, &v), want[c]);
        ice_value_from_vec(&b.cols[c], 1, &v);
        cr_assert(v.is_null);
        cr_assert_eq(v.type, s->root.children[c].type);
    }
    fmt_batch_free(&b);
    arena_free(&a);
}
