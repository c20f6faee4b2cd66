/*
 * test_expr.c: Iceberg filter expressions (src/iceberg/expr_*.c): parsing,
 * binding and printing (data/expr_bind.txt), projections through every
 * transform (data/projections.txt), the metrics evaluators, residuals,
 * batches with nulls, NaN, structs and dictionary strings, and the Parquet
 * pruning predicates.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ice_test.h"
#include "iceberg/expr_int.h"

#define BIND_CASES "tests/unit/iceberg/data/expr_bind.txt"
#define PROJECTION_CASES "tests/unit/iceberg/data/projections.txt"

static const char *SCHEMA = "id long not null, i int, ts timestamptz, d date, sym string, px decimal(10,2), "
                            "f double, b boolean, bin binary, u uuid, t timestamp, tn timestamp_ns, "
                            "pt struct<lat: double, name: string>, tags list<string>, \"odd name\" int, Mixed int";

static fmt_schema_t *test_schema(arena_t *a) {
    fmt_schema_t *s = ice_test_schema(a, SCHEMA);
    /* the text form has no quoted names: rename the last two fields */
    s->root.children[14].name = "odd name";
    s->root.children[15].name = "Mixed";
    return s;
}

static const char *fmt_expr(arena_t *a, const ice_expr *e) {
    buf_t b = BUF_INIT;
    ice_expr_format(e, &b);
    char *r = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return r;
}

static ice_expr *bind(arena_t *a, const fmt_schema_t *s, const char *text) {
    ice_expr *u, *e;
    floe_err err = {0};
    cr_assert(ice_expr_parse(text, a, &u, &err), "parse '%s': %s", text, err.msg);
    cr_assert(ice_expr_bind(u, s, true, a, &e, &err), "bind '%s': %s", text, err.msg);
    return e;
}

/* Lines of a case file, without comments and blank lines. */
typedef void (*line_fn)(arena_t *a, const fmt_schema_t *s, const char *file, int lineno, char *line, void *ctx);

static int each_line(const char *path, line_fn fn, void *ctx) {
    FILE *fp = fopen(path, "r");
    cr_assert(fp, "cannot open %s (run from the repository root)", path);
    arena_t a;
    arena_init(&a, 4096);
    const fmt_schema_t *s = test_schema(&a);
    char line[1024];
    int lineno = 0, ran = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || (!line[0])) continue;
        fn(&a, s, path, lineno, line, ctx);
        ran++;
    }
    fclose(fp);
    arena_free(&a);
    return ran;
}

static void bind_case(arena_t *a, const fmt_schema_t *s, const char *file, int lineno, char *line, void *ctx) {
    (void)ctx;
    char *arrow = strstr(line, " => ");
    cr_assert(arrow, "%s:%d: no ' => '", file, lineno);
    *arrow = 0;
    const char *want = arrow + 4;
    bool ci = strncmp(line, "ci: ", 4) == 0;
    const char *text = ci ? line + 4 : line;
    ice_expr *u, *e;
    floe_err err = {0};
    bool ok = ice_expr_parse(text, a, &u, &err) && ice_expr_bind(u, s, !ci, a, &e, &err);
    if (strncmp(want, "error: ", 7) == 0) {
        cr_assert_not(ok, "%s:%d: '%s' bound, want an error", file, lineno, text);
        cr_assert_eq(err.code, FLOE_EINVAL, "%s:%d", file, lineno);
        cr_assert(strstr(err.msg, want + 7), "%s:%d: '%s': message\n  %s\nlacks\n  %s", file, lineno, text, err.msg,
                  want + 7);
        return;
    }
    cr_assert(ok, "%s:%d: '%s': %s", file, lineno, text, err.msg);
    const char *got = fmt_expr(a, e);
    cr_assert_str_eq(got, want, "%s:%d: '%s' bound to\n  %s\nwant\n  %s", file, lineno, text, got, want);
    /* the unbound form prints as it parses, and what binding prints binds to itself */
    const char *again = fmt_expr(a, u);
    ice_expr *u2, *e2;
    cr_assert(ice_expr_parse(again, a, &u2, &err), "%s:%d: reparse '%s': %s", file, lineno, again, err.msg);
    cr_assert_str_eq(fmt_expr(a, u2), again, "%s:%d", file, lineno);
    cr_assert(ice_expr_parse(got, a, &u2, &err) && ice_expr_bind(u2, s, !ci, a, &e2, &err), "%s:%d: rebind '%s': %s",
              file, lineno, got, err.msg);
    cr_assert_str_eq(fmt_expr(a, e2), got, "%s:%d", file, lineno);
}

Test(iceberg_expr, parse_bind_and_print_from_file) {
    int ran = each_line(BIND_CASES, bind_case, NULL);
    cr_assert_gt(ran, 90);
}

typedef struct proj_ctx {
    ice_partition_spec spec;
    bool have;
} proj_ctx;

static char *trim(char *s) {
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = 0;
    return s;
}

static void projection_case(arena_t *a, const fmt_schema_t *s, const char *file, int lineno, char *line, void *vctx) {
    proj_ctx *ctx = vctx;
    floe_err err = {0};
    if (strncmp(line, "spec: ", 6) == 0) {
        cr_assert(ice_partition_spec_parse(line + 6, s, 999, a, &ctx->spec, &err), "%s:%d: %s", file, lineno, err.msg);
        ctx->have = true;
        return;
    }
    cr_assert(ctx->have, "%s:%d: no spec yet", file, lineno);
    char *bar1 = strchr(line, '|');
    cr_assert(bar1, "%s:%d", file, lineno);
    char *bar2 = strchr(bar1 + 1, '|');
    cr_assert(bar2, "%s:%d", file, lineno);
    *bar1 = *bar2 = 0;
    char *text = trim(line), *want_in = trim(bar1 + 1), *want_strict = trim(bar2 + 1);
    ice_expr *e = bind(a, s, text);
    const char *in = fmt_expr(a, ice_expr_project_inclusive(e, &ctx->spec, s, a));
    const char *st = fmt_expr(a, ice_expr_project_strict(e, &ctx->spec, s, a));
    cr_assert_str_eq(in, want_in, "%s:%d: inclusive projection of '%s' is\n  %s\nwant\n  %s", file, lineno, text, in,
                     want_in);
    cr_assert_str_eq(st, want_strict, "%s:%d: strict projection of '%s' is\n  %s\nwant\n  %s", file, lineno, text, st,
                     want_strict);
}

Test(iceberg_expr, projections_from_file) {
    proj_ctx ctx = {0};
    int ran = each_line(PROJECTION_CASES, projection_case, &ctx);
    cr_assert_gt(ran, 80);
}

/* Projections agree with the rows: for random values and literals, a row
 * that matches has a partition the inclusive projection accepts, and a
 * partition the strict projection accepts holds only matching rows. */
Test(iceberg_expr, projections_agree_with_rows) {
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t *s = test_schema(&a);
    static const char *specs[] = {"day(ts)",        "month(ts)",    "year(ts)",         "hour(ts)",
                                  "truncate(7, i)", "bucket(5, i)", "truncate(2, sym)", "year(d)",
                                  "month(d)",       "day(d)",       "truncate(3, px)"};
    static const char *ops[] = {"<", "<=", ">", ">=", "=", "!="};
    uint64_t x = 88172645463325252ULL;
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        ice_partition_spec spec;
        floe_err err = {0};
        cr_assert(ice_partition_spec_parse(specs[k], s, 999, &a, &spec, &err), "%s", err.msg);
        const fmt_field_t *src = fmt_schema_find(s, spec.fields[0].source_id);
        for (int round = 0; round < 400; round++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int64_t r1 = (int64_t)(x % 2000001) - 1000000;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int64_t r2 = r1 + (int64_t)(x % 2001) - 1000;
            ice_value row, lit;
            if (src->type == FMT_STRING) {
                const char *words[] = {"a", "ab", "abc", "abd", "b", "ba", "", "zz"};
                row = ice_value_str(words[r1 & 7]);
                lit = ice_value_str(words[r2 & 7]);
            } else if (src->type == FMT_TIMESTAMPTZ) {
                row = ice_value_long(FMT_TIMESTAMPTZ, r1 * 3600000000LL / 7);
                lit = ice_value_long(FMT_TIMESTAMPTZ, r2 * 3600000000LL / 7);
            } else if (src->type == FMT_DATE) {
                row = ice_value_long(FMT_DATE, r1 / 50);
                lit = ice_value_long(FMT_DATE, r2 / 50);
            } else {
                row = ice_value_long(src->type, r1 / 100);
                lit = ice_value_long(src->type, r2 / 100);
            }
            ice_value_set_type(&lit, src);
            buf_t lb = BUF_INIT;
            ice_value_format(&lit, &lb);
            bool quote = src->type != FMT_INT && src->type != FMT_DECIMAL;
            const char *ltext = arena_sprintf(&a, quote ? "'%s'" : "%s", lb.data ? lb.data : "");
            buf_free(&lb);
            ice_value_set_type(&row, src);
            const char *text = arena_sprintf(&a, "%s %s %s", src->name, ops[round % 6], ltext);
            ice_expr *e = bind(&a, s, text);
            bool matches = ice_pred_test(e, &row);
            ice_value part;
            ice_transform_apply(&spec.fields[0].transform, &row, &part);
            bool incl = ice_expr_eval_partition(ice_expr_project_inclusive(e, &spec, s, &a), &spec, &part);
            bool strict = ice_expr_eval_partition(ice_expr_project_strict(e, &spec, s, &a), &spec, &part);
            buf_t rb = BUF_INIT;
            ice_value_format(&row, &rb);
            if (matches) cr_assert(incl, "%s: row %s matches but the inclusive projection rules it out", text, rb.data);
            if (strict) cr_assert(matches, "%s: strict projection accepts row %s that does not match", text, rb.data);
            buf_free(&rb);
        }
    }
    arena_free(&a);
}

/* ---- metrics evaluators ---- */

static int32_t id_of(const fmt_schema_t *s, const char *name) {
    for (int32_t i = 0; i < s->root.nchildren; i++)
        if (strcmp(s->root.children[i].name, name) == 0) return s->root.children[i].id;
    cr_assert_fail("no column %s", name);
    return -1;
}

static ice_col_stats col(arena_t *a, const fmt_schema_t *s, const char *name, int64_t values, int64_t nulls,
                         int64_t nans, const char *lo, const char *hi) {
    ice_col_stats c = {
        .field_id = id_of(s, name), .column_size = 10, .value_count = values, .null_count = nulls, .nan_count = nans};
    const fmt_field_t *f = fmt_schema_find(s, c.field_id);
    const char *texts[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        if (!texts[k]) continue;
        ice_value v;
        floe_err err = {0};
        cr_assert(ice_value_parse(f, texts[k], strlen(texts[k]), a, &v, &err), "%s", err.msg);
        buf_t b = BUF_INIT;
        ice_value_to_binary(&v, &b);
        uint8_t *p = arena_alloc(a, b.len + 1);
        memcpy(p, b.data, b.len);
        if (k == 0)
            c.lower = p, c.lower_len = (uint32_t)b.len;
        else
            c.upper = p, c.upper_len = (uint32_t)b.len;
        buf_free(&b);
    }
    return c;
}

Test(iceberg_expr, metrics_evaluators) {
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t *s = test_schema(&a);
    ice_col_stats stats[] = {
        col(&a, s, "i", 50, 0, -1, "30", "79"),     col(&a, s, "sym", 50, 10, -1, "abc", "abe"),
        col(&a, s, "f", 50, 0, 5, "1.0", "2.0"),    col(&a, s, "d", 50, 50, -1, NULL, NULL),
        col(&a, s, "b", 50, 0, -1, "true", "true"), col(&a, s, "bin", 50, 0, -1, "0102", "0104"),
    };
    ice_data_file f = {.record_count = 50, .stats = stats, .nstats = 6};
    static const struct {
        const char *filter;
        bool might, all;
    } cases[] = {
        {"i < 30", false, false},
        {"i < 31", true, false},
        {"i <= 30", true, false},
        {"i < 80", true, true},
        {"i <= 79", true, true},
        {"i > 79", false, false},
        {"i > 78", true, false},
        {"i >= 30", true, true},
        {"i > 29", true, true},
        {"i >= 80", false, false},
        {"i = 30", true, false},
        {"i = 29", false, false},
        {"i = 80", false, false},
        {"i != 29", true, true},
        {"i != 50", true, false},
        {"i in (1, 2)", false, false},
        {"i in (1, 31)", true, false},
        {"i in (30)", true, false},
        {"i not in (1, 2)", true, true},
        {"i not in (1, 31)", true, false},
        {"i is null", false, false},
        {"i is not null", true, true},
        {"not (i < 30)", true, true},
        {"sym is null", true, false},
        {"sym is not null", true, false},
        {"sym = 'abd'", true, false},
        {"sym = 'abf'", false, false},
        {"sym < 'abc'", false, false},
        {"sym != 'x'", true, false},
        {"starts_with(sym, 'ab')", true, false},
        {"starts_with(sym, 'b')", false, false},
        {"starts_with(sym, 'abcd')", true, false},
        {"starts_with(sym, 'aa')", false, false},
        {"starts_with(sym, 'abf')", false, false},
        {"not starts_with(sym, 'ab')", true, false},
        {"d is null", true, true},
        {"d is not null", false, false},
        {"d = '2020-01-01'", false, false},
        {"d != '2020-01-01'", false, false},
        {"d not in ('2020-01-01')", false, false},
        {"f is nan", true, false},
        {"f is not nan", true, false},
        {"f < 1.0", false, false},
        {"f < 3.0", true, false},
        {"f > 0.5", true, false},
        {"f != 5.0", true, true},
        {"b = true", true, true},
        {"b = false", false, false},
        {"bin = '0103'", true, false},
        {"bin > '0104'", false, false},
        {"px = 1", true, false},
        {"px is null", true, false},
        {"i = 30 and sym = 'abf'", false, false},
        {"i < 30 or i > 70", true, false},
        {"i >= 30 and i <= 79", true, true},
        {"true", true, true},
        {"false", false, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ice_expr *e = bind(&a, s, cases[k].filter);
        cr_assert_eq(ice_expr_might_match(e, s, &f), cases[k].might, "might_match(%s)", cases[k].filter);
        cr_assert_eq(ice_expr_all_match(e, s, &f), cases[k].all, "all_match(%s)", cases[k].filter);
    }
    /* no nulls: strict prefix answers */
    ice_col_stats s2[] = {col(&a, s, "sym", 50, 0, -1, "abc", "abd"), col(&a, s, "f", 50, 0, 0, "1.0", "2.0")};
    ice_data_file f2 = {.record_count = 50, .stats = s2, .nstats = 2};
    cr_assert(ice_expr_all_match(bind(&a, s, "starts_with(sym, 'ab')"), s, &f2));
    cr_assert_not(ice_expr_might_match(bind(&a, s, "not starts_with(sym, 'ab')"), s, &f2));
    cr_assert(ice_expr_all_match(bind(&a, s, "not starts_with(sym, 'b')"), s, &f2));
    cr_assert(ice_expr_all_match(bind(&a, s, "not starts_with(sym, 'aa')"), s, &f2));
    cr_assert(ice_expr_all_match(bind(&a, s, "f < 3.0"), s, &f2));
    cr_assert(ice_expr_all_match(bind(&a, s, "f is not nan"), s, &f2));
    cr_assert_not(ice_expr_might_match(bind(&a, s, "f is nan"), s, &f2));
    /* empty files and unknown counts */
    ice_data_file empty = {.record_count = 0};
    cr_assert_not(ice_expr_might_match(bind(&a, s, "i = 1"), s, &empty));
    cr_assert(ice_expr_all_match(bind(&a, s, "i = 1"), s, &empty));
    ice_data_file unknown = {.record_count = -1};
    cr_assert(ice_expr_might_match(bind(&a, s, "i = 1"), s, &unknown));
    /* a bound that does not decode is no bound */
    ice_col_stats bad = col(&a, s, "i", 50, 0, -1, "30", "79");
    bad.lower_len = 3;
    ice_data_file f3 = {.record_count = 50, .stats = &bad, .nstats = 1};
    cr_assert(ice_expr_might_match(bind(&a, s, "i < 30"), s, &f3));
    cr_assert_not(ice_expr_might_match(bind(&a, s, "i > 79"), s, &f3));
    arena_free(&a);
}

/* ---- residuals ---- */

Test(iceberg_expr, residuals) {
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t *s = test_schema(&a);
    ice_partition_spec spec;
    floe_err err = {0};
    cr_assert(ice_partition_spec_parse("day(ts), sym", s, 999, &a, &spec, &err), "%s", err.msg);
    ice_value tuple[2] = {ice_test_value(&a, "date", "2017-12-01"), ice_value_str("BTC")};
    static const struct {
        const char *filter, *residual;
    } cases[] = {
        {"ts >= '2017-12-01' and ts < '2017-12-02'", "true"},
        {"ts >= '2017-12-01T10:00:00Z'", "ts >= '2017-12-01T10:00:00Z'"},
        {"ts < '2017-11-01'", "false"},
        {"sym = 'BTC' and i = 5", "i = 5"},
        {"sym = 'ETH' or i = 5", "i = 5"},
        {"sym = 'ETH' and i = 5", "false"},
        {"sym != 'ETH' or i = 5", "true"},
        {"i = 5", "i = 5"},
        {"ts is null", "false"},
        {"ts is not null and starts_with(sym, 'B')", "true"},
        {"ts = '2017-12-01T10:00:00Z' and sym in ('BTC', 'ETH')", "ts = '2017-12-01T10:00:00Z'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ice_expr *e = bind(&a, s, cases[k].filter);
        const char *got = fmt_expr(&a, ice_expr_residual(e, &spec, s, tuple, &a));
        cr_assert_str_eq(got, cases[k].residual, "residual of '%s' is '%s'", cases[k].filter, got);
    }
    /* a null partition value */
    ice_value nulls[2] = {ice_value_null(FMT_DATE), ice_value_null(FMT_STRING)};
    cr_assert_str_eq(fmt_expr(&a, ice_expr_residual(bind(&a, s, "ts is null and sym = 'x'"), &spec, s, nulls, &a)),
                     "false");
    cr_assert_str_eq(fmt_expr(&a, ice_expr_residual(bind(&a, s, "ts is null or i = 1"), &spec, s, nulls, &a)), "true");
    arena_free(&a);
}

/* ---- batches ---- */

static void append_str(fmt_vec_t *v, const char *s) {
    if (s)
        fmt_vec_append_bytes(v, s, strlen(s));
    else
        fmt_vec_append_null(v);
}

/* Rows: (i, sym, f, pt{lat, name})
 *   0: 1,    'BTC', 1.0,  {1.0, 'a'}
 *   1: null, 'ETH', NaN,  null
 *   2: 3,    null,  null, {null, 'b'}
 *   3: 4,    'BTC', -2.0, {3.0, null} */
static void make_batch(const fmt_schema_t *s, fmt_batch_t *b, bool dict, fmt_vec_t *dictvec, uint32_t *idx,
                       uint8_t *validity) {
    fmt_batch_init(b, s);
    fmt_vec_append_i32(&b->cols[0], 1);
    fmt_vec_append_null(&b->cols[0]);
    fmt_vec_append_i32(&b->cols[0], 3);
    fmt_vec_append_i32(&b->cols[0], 4);
    const char *syms[4] = {"BTC", "ETH", NULL, "BTC"};
    for (int r = 0; r < 4; r++) append_str(&b->cols[1], syms[r]);
    fmt_vec_append_f64(&b->cols[2], 1.0);
    fmt_vec_append_f64(&b->cols[2], NAN);
    fmt_vec_append_null(&b->cols[2]);
    fmt_vec_append_f64(&b->cols[2], -2.0);
    fmt_vec_t *pt = &b->cols[3];
    fmt_vec_append_f64(&pt->children[0], 1.0);
    append_str(&pt->children[1], "a");
    fmt_vec_close_struct(pt);
    fmt_vec_append_null(pt);
    fmt_vec_append_null(&pt->children[0]);
    append_str(&pt->children[1], "b");
    fmt_vec_close_struct(pt);
    fmt_vec_append_f64(&pt->children[0], 3.0);
    append_str(&pt->children[1], NULL);
    fmt_vec_close_struct(pt);
    b->nrows = 4;
    if (dict) {
        /* the same strings in dictionary form */
        fmt_vec_init(dictvec, s->root.children[1].children ? &s->root.children[1] : &s->root.children[1]);
        append_str(dictvec, "ETH");
        append_str(dictvec, "BTC");
        append_str(dictvec, "XRP");
        uint32_t ix[4] = {1, 0, 2, 1};
        memcpy(idx, ix, sizeof ix);
        *validity = 0x0b; /* row 2 null */
        fmt_vec_t *v = &b->cols[1];
        fmt_vec_free(v);
        *v = (fmt_vec_t){.field = &s->root.children[1],
                         .len = 4,
                         .null_count = 1,
                         .validity = validity,
                         .values = idx,
                         .dict = dictvec};
    }
}

Test(iceberg_expr, batches_with_nulls_nan_structs_and_dictionaries) {
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t *s = ice_test_schema(&a, "i int, sym string, f double, pt struct<lat: double, name: string>");
    static const struct {
        const char *filter;
        uint8_t rows; /* bit r: row r matches */
    } cases[] = {
        {"i > 1", 0x0c},
        {"i != 3", 0x09},
        {"not (i = 3)", 0x09},
        {"i is null", 0x02},
        {"i is not null", 0x0d},
        {"i in (1, 4)", 0x09},
        {"i not in (1)", 0x0c},
        {"sym = 'BTC'", 0x09},
        {"sym != 'BTC'", 0x02},
        {"sym in ('ETH', 'XRP')", 0x02},
        {"sym not in ('ETH')", 0x09},
        {"starts_with(sym, 'B')", 0x09},
        {"sym like 'E%'", 0x02},
        {"not sym like 'E%'", 0x09},
        {"sym is null", 0x04},
        {"sym > 'C'", 0x02},
        {"f is nan", 0x02},
        {"f is not nan", 0x0d},
        {"f < 5", 0x09},
        {"f != 1.0", 0x0a},
        {"f >= -2", 0x09},
        {"pt.lat >= 1", 0x09},
        {"pt.name is null", 0x0a},
        {"pt.name = 'b'", 0x04},
        {"i > 1 or sym = 'ETH'", 0x0e},
        {"i > 1 and sym = 'BTC'", 0x08},
        {"not (i > 1 and sym = 'BTC')", 0x03},
        {"true", 0x0f},
        {"false", 0x00},
    };
    for (int dict = 0; dict < 2; dict++) {
        fmt_batch_t b;
        fmt_vec_t dictvec;
        uint32_t idx[4];
        uint8_t validity;
        make_batch(s, &b, dict, &dictvec, idx, &validity);
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            ice_expr *e = bind(&a, s, cases[k].filter);
            uint8_t sel = 0xf0; /* not zeroed: every bit is written */
            uint32_t n = ice_expr_eval_batch(e, s, &b, &sel);
            cr_assert_eq(sel & 0x0f, cases[k].rows, "%s%s: rows %#x, want %#x", cases[k].filter,
                         dict ? " (dictionary)" : "", sel & 0x0f, cases[k].rows);
            cr_assert_eq(n, (uint32_t)__builtin_popcount(cases[k].rows), "%s: count", cases[k].filter);
        }
        fmt_batch_free(&b);
        if (dict) fmt_vec_free(&dictvec);
    }
    arena_free(&a);
}

/* ---- Parquet pruning predicates ---- */

Test(iceberg_expr, parquet_predicates) {
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t *s = test_schema(&a);
    ice_expr *e = bind(&a, s,
                       "i > 1 and sym = 'BTC' and f is not nan and px = 10.5 and (i = 1 or i = 2) and ts is not null "
                       "and f <= 2.5 and sym in ('a') and u = 'f79c3e09-677c-4bbd-a479-3f349cb785e7'");
    pq_pred *p;
    size_t n = ice_expr_to_pq_preds(e, &a, &p);
    cr_assert_eq(n, 5);
    cr_assert(p[0].field_id == id_of(s, "i") && p[0].op == PQ_PRED_GT && p[0].i64 == 1);
    cr_assert(p[1].field_id == id_of(s, "sym") && p[1].op == PQ_PRED_EQ && p[1].nbytes == 3 &&
              memcmp(p[1].bytes, "BTC", 3) == 0);
    cr_assert(p[2].field_id == id_of(s, "px") && p[2].op == PQ_PRED_EQ && p[2].i64 == 1050);
    cr_assert(p[3].field_id == id_of(s, "ts") && p[3].op == PQ_PRED_NOT_NULL);
    cr_assert(p[4].field_id == id_of(s, "f") && p[4].op == PQ_PRED_LE && p[4].f64 == 2.5);
    cr_assert_eq(ice_expr_to_pq_preds(bind(&a, s, "i = 1 or i = 2"), &a, &p), 0);
    arena_free(&a);
}
