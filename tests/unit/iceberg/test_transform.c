/*
 * test_transform.c: Iceberg partition transforms (src/iceberg/transform.c):
 * names, result types, the Appendix B hash vectors, truncate and the time
 * transforms around the epoch (cases in data/transforms.txt), and the
 * column-at-a-time path against the value-at-a-time one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "ice_test.h"

#define TRANSFORM_CASES "tests/unit/iceberg/data/transforms.txt"

static ice_transform tr(const char *s) {
    ice_transform t;
    floe_err err = {0};
    cr_assert(ice_transform_parse(s, &t, &err), "%s: %s", s, err.msg);
    return t;
}

Test(iceberg_transform, murmur3_reference_vectors) {
    /* MurmurHash3_x86_32 reference values (seed 0) */
    cr_assert_eq(ice_murmur3_32("", 0), 0u);
    cr_assert_eq(hash_murmur3_32("", 0, 1), 0x514E28B7u);
    cr_assert_eq(hash_murmur3_32("\xff\xff\xff\xff", 4, 0), 0x76293B50u);
    cr_assert_eq(hash_murmur3_32("\x21\x43\x65\x87", 4, 0), 0xF55B516Bu);
    cr_assert_eq(hash_murmur3_32("\x21\x43\x65", 3, 0), 0x7E4A8634u);
    cr_assert_eq(hash_murmur3_32("\x21\x43", 2, 0), 0xA0F7B07Au);
    cr_assert_eq(hash_murmur3_32("\x21", 1, 0), 0x72661CF4u);
    cr_assert_eq(hash_murmur3_32("Hello, world!", 13, 0x9747b28c), 0x24884CBAu);
    /* the u64 shortcut is the byte loop over 8 little-endian bytes */
    uint64_t xs[] = {0, 1, 34, 0x0102030405060708ULL, UINT64_MAX};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        uint8_t b[8];
        for (int k = 0; k < 8; k++) b[k] = (uint8_t)(xs[i] >> (8 * k));
        cr_assert_eq(hash_murmur3_32_u64(xs[i], 0), hash_murmur3_32(b, 8, 0));
    }
}

Test(iceberg_transform, parse_and_format) {
    const char *good[] = {"identity", "bucket[16]", "truncate[4]", "year", "month", "day", "hour", "void"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ice_transform t = tr(good[i]);
        cr_assert_neq(t.kind, ICE_TR_UNKNOWN, "%s", good[i]);
        buf_t b = BUF_INIT;
        ice_transform_format(&t, &b);
        cr_assert_str_eq(b.data, good[i]);
        buf_free(&b);
    }
    /* case-insensitive, as Java reads them */
    ice_transform t = tr("BUCKET[8]");
    cr_assert_eq(t.kind, ICE_TR_BUCKET);
    cr_assert_eq(t.param, 8);
    cr_assert_eq(tr("Day").kind, ICE_TR_DAY);
    /* unknown transforms are kept with their text */
    t = tr("zorder");
    cr_assert_eq(t.kind, ICE_TR_UNKNOWN);
    buf_t b = BUF_INIT;
    ice_transform_format(&t, &b);
    cr_assert_str_eq(b.data, "zorder");
    buf_free(&b);
    cr_assert_eq(tr("bucket[x]").kind, ICE_TR_UNKNOWN);
    cr_assert_eq(tr("bucket[16").kind, ICE_TR_UNKNOWN);
    /* parameters out of range are errors */
    const char *bad[] = {"bucket[0]", "truncate[0]", "bucket[2147483648]", "bucket[99999999999]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        floe_err err = {0};
        cr_assert_not(ice_transform_parse(bad[i], &t, &err), "%s", bad[i]);
        cr_assert(strstr(err.msg, bad[i]), "%s", err.msg);
        cr_assert(strstr(err.msg, "1..2147483647"), "%s", err.msg);
    }
}

Test(iceberg_transform, result_types) {
    arena_t a;
    arena_init(&a, 4096);
    static const struct {
        const char *transform, *source, *result; /* NULL: does not apply */
    } cases[] = {
        {"identity", "decimal(9,2)", "decimal(9,2)"},
        {"identity", "list<int>", NULL},
        {"bucket[16]", "string", "int"},
        {"bucket[16]", "uuid", "int"},
        {"bucket[16]", "timestamptz_ns", "int"},
        {"bucket[16]", "boolean", NULL},
        {"bucket[16]", "double", NULL},
        {"truncate[4]", "string", "string"},
        {"truncate[4]", "decimal(10,3)", "decimal(10,3)"},
        {"truncate[4]", "fixed[4]", NULL},
        {"truncate[4]", "date", NULL},
        {"year", "date", "int"},
        {"month", "timestamp", "int"},
        {"day", "timestamptz", "date"},
        {"day", "date", "date"},
        {"day", "string", NULL},
        {"hour", "timestamp_ns", "int"},
        {"hour", "date", NULL},
        {"void", "fixed[3]", "fixed[3]"},
        {"zorder", "int", "string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fmt_field_t src = ice_test_type(&a, cases[i].source), out;
        ice_transform t = tr(cases[i].transform);
        floe_err err = {0};
        bool ok = ice_transform_result_type(&t, &src, &out, &err);
        if (!cases[i].result) {
            cr_assert_not(ok, "%s of %s", cases[i].transform, cases[i].source);
            cr_assert(strstr(err.msg, cases[i].transform) && strstr(err.msg, "applies to"), "%s", err.msg);
            continue;
        }
        cr_assert(ok, "%s of %s: %s", cases[i].transform, cases[i].source, err.msg);
        buf_t b = BUF_INIT;
        fmt_type_format(&out, &b);
        cr_assert_str_eq(b.data, cases[i].result, "%s of %s", cases[i].transform, cases[i].source);
        buf_free(&b);
    }
    cr_assert(ice_transform_preserves_order(&(ice_transform){.kind = ICE_TR_DAY}));
    cr_assert(ice_transform_preserves_order(&(ice_transform){.kind = ICE_TR_TRUNCATE, .param = 3}));
    cr_assert_not(ice_transform_preserves_order(&(ice_transform){.kind = ICE_TR_BUCKET, .param = 3}));
    arena_free(&a);
}

/* Runs one line of data/transforms.txt. */
static void run_case(arena_t *a, int lineno, char *line) {
    char *arrow = strstr(line, " => ");
    cr_assert(arrow, "%s:%d: no ' => '", TRANSFORM_CASES, lineno);
    *arrow = 0;
    const char *want = arrow + 4;
    char *name = line, *type = strchr(line, ' ');
    cr_assert(type, "%s:%d: no type", TRANSFORM_CASES, lineno);
    *type++ = 0;
    char *input = strchr(type, ' ');
    cr_assert(input, "%s:%d: no input", TRANSFORM_CASES, lineno);
    *input++ = 0;

    fmt_field_t f = ice_test_type(a, type);
    ice_value in = ice_value_null(f.type);
    ice_value_set_type(&in, &f);
    if (strcmp(input, "null") != 0) {
        floe_err err = {0};
        cr_assert(ice_value_parse(&f, input, strlen(input), a, &in, &err), "%s:%d: %s", TRANSFORM_CASES, lineno,
                  err.msg);
    }
    if (strcmp(name, "hash") == 0) {
        int32_t h = (int32_t)ice_bucket_hash(&in);
        cr_assert_eq(h, atoi(want), "%s:%d: hash of %s %s is %d, want %s", TRANSFORM_CASES, lineno, type, input, h,
                     want);
        return;
    }
    ice_transform t = tr(name);
    ice_value out;
    ice_transform_apply(&t, &in, &out);
    const char *got = ice_test_fmt(a, &out);
    cr_assert_str_eq(got, want, "%s:%d: %s of %s %s is %s, want %s", TRANSFORM_CASES, lineno, name, type, input, got,
                     want);
    fmt_field_t rt;
    if (ice_transform_result_type(&t, &f, &rt, NULL)) cr_assert_eq(out.type, rt.type, "%s:%d", TRANSFORM_CASES, lineno);
}

Test(iceberg_transform, cases_from_file) {
    FILE *fp = fopen(TRANSFORM_CASES, "r");
    cr_assert(fp, "cannot open %s (run from the repository root)", TRANSFORM_CASES);
    char line[512];
    int lineno = 0, ran = 0;
    arena_t a;
    arena_init(&a, 4096);
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        run_case(&a, lineno, line);
        ran++;
    }
    fclose(fp);
    arena_free(&a);
    cr_assert_gt(ran, 80);
}

/* Builds a column of type with n rows from gen (NULL text: null). */
static void fill_column(fmt_vec_t *v, const fmt_field_t *f, uint32_t n, uint64_t seed, bool nulls) {
    fmt_vec_init(v, f);
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (nulls && x % 7 == 0) {
            fmt_vec_append_null(v);
            continue;
        }
        int64_t r = (int64_t)(x >> 1) - (int64_t)(UINT64_MAX >> 2);
        switch (f->type) {
        case FMT_INT: fmt_vec_append_i32(v, (int32_t)r); break;
        case FMT_DATE: fmt_vec_append_i32(v, (int32_t)(r % 200000)); break;
        case FMT_LONG: fmt_vec_append_i64(v, r); break;
        case FMT_TIMESTAMP_NS:
        case FMT_TIMESTAMPTZ_NS: fmt_vec_append_i64(v, r % 4000000000000000000LL); break;
        case FMT_STRING: {
            char s[24];
            int k = snprintf(s, sizeof s, "s%lld", (long long)(r % 1000));
            fmt_vec_append_bytes(v, s, (size_t)k);
            break;
        }
        default: fmt_vec_append_i64(v, r % 10000000000000000LL); break; /* micros: +-300 years */
        }
    }
}

Test(iceberg_transform, column_path_matches_values) {
    arena_t a;
    arena_init(&a, 4096);
    const char *types[] = {"int", "long", "date", "timestamp", "timestamptz", "timestamp_ns", "string", "time"};
    const char *transforms[] = {"identity", "bucket[16]", "bucket[1000]", "truncate[7]", "year",
                                "month",    "day",        "hour",         "void"};
    uint32_t n = 3000;
    int32_t *out = malloc(n * sizeof *out);
    uint8_t *nulls = malloc(n);
    int vectorised = 0;
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        fmt_field_t f = ice_test_type(&a, types[ti]);
        fmt_vec_t col;
        fill_column(&col, &f, n, ti + 1, ti % 2 == 0);
        for (size_t k = 0; k < sizeof transforms / sizeof *transforms; k++) {
            ice_transform t = tr(transforms[k]);
            if (!ice_transform_apply_i32(&t, &col, out, nulls)) continue;
            vectorised++;
            for (uint32_t i = 0; i < n; i++) {
                ice_value in, want;
                ice_value_from_vec(&col, i, &in);
                ice_transform_apply(&t, &in, &want);
                cr_assert_eq(nulls[i], want.is_null, "%s of %s row %u", transforms[k], types[ti], i);
                if (!want.is_null)
                    cr_assert_eq(out[i], (int32_t)want.v.i64, "%s of %s row %u: %d, want %lld", transforms[k],
                                 types[ti], i, out[i], (long long)want.v.i64);
            }
        }
        fmt_vec_free(&col);
    }
    cr_assert_geq(vectorised, 25);
    free(out);
    free(nulls);
    arena_free(&a);
}

Test(iceberg_transform, bucket_of_dictionary_strings) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_field_t f = ice_test_type(&a, "string");
    fmt_vec_t dict;
    fmt_vec_init(&dict, &f);
    const char *words[] = {"BTC", "ETH", "iceberg"};
    for (int i = 0; i < 3; i++) fmt_vec_append_bytes(&dict, words[i], strlen(words[i]));
    uint32_t idx[6] = {2, 0, 1, 2, 2, 0};
    uint8_t validity = 0x3f & ~(1u << 4); /* row 4 is null */
    fmt_vec_t col = {.field = &f, .len = 6, .null_count = 1, .validity = &validity, .values = idx, .dict = &dict};
    int32_t out[6];
    uint8_t nulls[6];
    ice_transform t = tr("bucket[16]");
    cr_assert(ice_transform_apply_i32(&t, &col, out, nulls));
    cr_assert_eq(out[0], 9); /* "iceberg" in bucket[16], from the hash vector */
    cr_assert_eq(out[3], 9);
    cr_assert_eq(nulls[4], 1);
    cr_assert_eq(nulls[0], 0);
    for (int i = 0; i < 6; i++) {
        if (i == 4) continue;
        ice_value v = ice_value_str(words[idx[i]]), r;
        ice_transform_apply(&t, &v, &r);
        cr_assert_eq(out[i], r.v.i64);
    }
    fmt_vec_free(&dict);
    arena_free(&a);
}
