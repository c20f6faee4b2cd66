/*
 * test_scan_prune.c: scan planning skips manifests by the manifest list's
 * partition field summaries. Tables built from many appends, each touching
 * one day, so each manifest covers one day: a one-day filter reads one
 * manifest, an OR of two days two, a filter on a column outside the spec
 * none fewer; null partition values keep a manifest for "is null" and drop
 * it for comparisons. Every filtered scan returns exactly the rows the
 * row-level evaluator picks out of a full scan, so pruning never loses a
 * row. The summary evaluator is also checked on crafted summaries (only
 * nulls, only NaNs, no bounds).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../catalog/cat_test.h"
#include "catalog/catalog.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static cat_test_env E;

#define DAY_US 86400000000ll
#define DAYS 12
#define PER_DAY 50

static void setup(void) { cat_test_env_open(&E, "prune"); }

static void teardown(void) { cat_test_env_close(&E); }

static void create_table(arena_t *a, const char *partition, ice_table *t) {
    floe_err err;
    fmt_schema_t s;
    cr_assert(fmt_schema_parse("id long not null, ts timestamptz, symbol string, price double", a, &s, &err), "%s",
              err.msg);
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, partition, NULL, 0, a, &m, &err), "%s", err.msg);
    cr_assert(cat_namespace_create(E.cat, NULL, "market", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "market", "trades", &m, a, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "market", "trades", a, t, &err), "%s", err.msg);
}

/* One append of PER_DAY rows on day d (ids d*1000 + k); with null_ts, every
 * third row has a null ts (so the manifest's summary contains null). */
static void append_day(ice_table *t, int d, bool null_ts, arena_t *a) {
    static const char *syms[] = {"BTC", "ETH", "SOL"};
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t->meta));
    for (int k = 0; k < PER_DAY; k++) {
        fmt_vec_append_i64(&b.cols[0], d * 1000 + k);
        if (null_ts && k % 3 == 0)
            fmt_vec_append_null(&b.cols[1]);
        else
            fmt_vec_append_i64(&b.cols[1], d * DAY_US + k * 60000000ll);
        fmt_vec_append_bytes(&b.cols[2], syms[(d + k) % 3], 3);
        fmt_vec_append_f64(&b.cols[3], 100 + d + k / 100.0);
        b.nrows++;
    }
    cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_APPEND};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(t, &o, files, nf, a, &r, &err), "%s", err.msg);
    ice_writer_free(w);
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* The sorted ids a filtered scan returns, and its report. */
static size_t scan_ids(ice_table *t, const char *filter, int64_t *ids, size_t cap, ice_scan_report *rep) {
    floe_err err = {0};
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1, .filter = filter};
    ice_scan *s = ice_scan_new(t, &o, &err);
    cr_assert(s, "%s: %s", filter, err.msg);
    fmt_batch_t *b;
    size_t n = 0;
    while (ice_scan_next(s, &b, &err))
        for (uint32_t i = 0; i < b->nrows; i++) {
            cr_assert_lt(n, cap);
            ids[n++] = ((const int64_t *)b->cols[0].values)[i];
        }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    if (rep) *rep = *ice_scan_report_get(s);
    ice_scan_free(s);
    qsort(ids, n, sizeof *ids, cmp_i64);
    return n;
}

/* The sorted ids of the rows the filter matches, by the row evaluator over
 * a full scan: no pruning of any kind. */
static size_t expected_ids(ice_table *t, const char *filter, int64_t *ids, size_t cap, arena_t *a) {
    floe_err err = {0};
    const fmt_schema_t *s = ice_meta_current_schema(&t->meta);
    ice_expr *u, *e;
    cr_assert(ice_expr_parse(filter, a, &u, &err) && ice_expr_bind(u, s, true, a, &e, &err), "%s", err.msg);
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1};
    ice_scan *sc = ice_scan_new(t, &o, &err);
    cr_assert(sc, "%s", err.msg);
    fmt_batch_t *b;
    size_t n = 0;
    while (ice_scan_next(sc, &b, &err)) {
        uint8_t *sel = calloc((b->nrows + 7) / 8 + 1, 1);
        ice_expr_eval_batch(e, s, b, sel);
        for (uint32_t i = 0; i < b->nrows; i++)
            if ((sel[i >> 3] >> (i & 7)) & 1) {
                cr_assert_lt(n, cap);
                ids[n++] = ((const int64_t *)b->cols[0].values)[i];
            }
        free(sel);
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    ice_scan_free(sc);
    qsort(ids, n, sizeof *ids, cmp_i64);
    return n;
}

/* Scans with filter, checks the rows against expected_ids and the count of
 * manifests read; returns the report. */
static ice_scan_report check(ice_table *t, const char *filter, size_t want_rows, size_t want_read, arena_t *a) {
    static int64_t got[DAYS * PER_DAY + 1], want[DAYS * PER_DAY + 1];
    ice_scan_report rep;
    size_t n = scan_ids(t, filter, got, DAYS * PER_DAY, &rep);
    size_t m = expected_ids(t, filter, want, DAYS * PER_DAY, a);
    cr_assert_eq(n, m, "%s: %zu rows, the row evaluator finds %zu", filter, n, m);
    cr_assert_eq(n, want_rows, "%s: %zu rows, expected %zu", filter, n, want_rows);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "%s: row %zu is id %lld, expected %lld", filter, i, (long long)got[i],
                     (long long)want[i]);
    cr_assert_eq(rep.manifests - rep.manifests_skipped, want_read, "%s: read %zu of %zu manifests, expected %zu",
                 filter, rep.manifests - rep.manifests_skipped, rep.manifests, want_read);
    return rep;
}

Test(scan_prune, one_day_filter_reads_only_its_manifest, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "day(ts)", &t);
    for (int d = 0; d < DAYS; d++) append_day(&t, d, false, &a);
    ice_scan_report rep = check(&t, "ts >= '1970-01-06T00:00:00Z' and ts < '1970-01-07T00:00:00Z'", PER_DAY, 1, &a);
    cr_assert_eq(rep.manifests, DAYS);
    cr_assert_eq(rep.manifests_skipped, DAYS - 1);
    cr_assert_eq(rep.files, 1, "only the read manifest's files are counted: %zu", rep.files);
    /* part of a day, and a range across two days */
    check(&t, "ts >= '1970-01-06T00:10:00Z' and ts < '1970-01-06T00:20:00Z'", 10, 1, &a);
    check(&t, "ts >= '1970-01-03T23:00:00Z' and ts <= '1970-01-04T00:05:00Z'", 6, 2, &a);
    /* equality and in, on the day's first row */
    check(&t, "ts = '1970-01-09T00:00:00Z'", 1, 1, &a);
    check(&t, "ts in ('1970-01-02T00:00:00Z', '1970-01-12T00:01:00Z')", 2, 2, &a);
    /* before and after every day: nothing read (a bound just before the
     * epoch keeps day 0, as Java widens projections of negative times) */
    check(&t, "ts < '1969-12-30T00:00:00Z'", 0, 0, &a);
    check(&t, "ts < '1970-01-01T00:00:00Z'", 0, 1, &a);
    check(&t, "ts >= '1970-01-13T00:00:00Z'", 0, 0, &a);
    arena_free(&a);
}

Test(scan_prune, or_and_other_columns, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "day(ts)", &t);
    for (int d = 0; d < DAYS; d++) append_day(&t, d, false, &a);
    check(&t, "ts < '1970-01-02T00:00:00Z' or ts >= '1970-01-12T00:00:00Z'", 2 * PER_DAY, 2, &a);
    /* a column outside the spec rules no manifest out */
    ice_scan_report rep = check(&t, "symbol = 'BTC'", DAYS * PER_DAY / 3, DAYS, &a);
    cr_assert_eq(rep.manifests_skipped, 0);
    /* an OR with a column outside the spec cannot prune either */
    check(&t, "ts < '1970-01-02T00:00:00Z' or id = 5003", PER_DAY + 1, DAYS, &a);
    /* an AND with one can */
    check(&t, "ts < '1970-01-02T00:00:00Z' and id = 3", 1, 1, &a);
    /* != and not in say nothing about a range */
    check(&t, "ts != '1970-01-06T00:00:00Z'", DAYS * PER_DAY - 1, DAYS, &a);
    arena_free(&a);
}

Test(scan_prune, null_partition_values, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "day(ts)", &t);
    for (int d = 0; d < DAYS; d++) append_day(&t, d, d == 4 || d == 7, &a);
    int nulls = (PER_DAY + 2) / 3; /* k % 3 == 0 */
    check(&t, "ts is null", 2 * nulls, 2, &a);
    check(&t, "ts is not null", DAYS * PER_DAY - 2 * nulls, DAYS, &a);
    /* the null rows of day 4 do not keep its manifest for another day */
    check(&t, "ts >= '1970-01-06T00:00:00Z' and ts < '1970-01-07T00:00:00Z'", PER_DAY, 1, &a);
    check(&t, "ts >= '1970-01-05T00:00:00Z' and ts < '1970-01-06T00:00:00Z'", PER_DAY - nulls, 1, &a);
    arena_free(&a);
}

Test(scan_prune, unpartitioned_table_reads_every_manifest, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, NULL, &t);
    for (int d = 0; d < 4; d++) append_day(&t, d, false, &a);
    ice_scan_report rep = check(&t, "ts < '1970-01-02T00:00:00Z'", PER_DAY, 4, &a);
    cr_assert_eq(rep.manifests_skipped, 0);
    arena_free(&a);
}

/* ---- the summary evaluator on crafted summaries ---- */

typedef struct crafted {
    arena_t a;
    fmt_schema_t s;
    ice_partition_spec spec;
} crafted;

static void crafted_init(crafted *c) {
    floe_err err = {0};
    arena_init(&c->a, 4096);
    cr_assert(fmt_schema_parse("px double, sym string", &c->a, &c->s, &err), "%s", err.msg);
    cr_assert(ice_partition_spec_parse("px, sym", &c->s, 999, &c->a, &c->spec, &err), "%s", err.msg);
}

static bool might(crafted *c, const char *filter, const ice_manifest_file *mf) {
    floe_err err = {0};
    ice_expr *u, *e;
    cr_assert(ice_expr_parse(filter, &c->a, &u, &err) && ice_expr_bind(u, &c->s, true, &c->a, &e, &err), "%s", err.msg);
    ice_expr *p = ice_expr_project_inclusive(e, &c->spec, &c->s, &c->a);
    return ice_expr_might_match_manifest(p, &c->spec, mf);
}

static void bound(crafted *c, ice_field_summary *fs, ice_value lo, ice_value hi) {
    buf_t b = BUF_INIT;
    ice_value_to_binary(&lo, &b);
    fs->lower = (const uint8_t *)arena_strndup(&c->a, b.data, b.len);
    fs->lower_len = (uint32_t)b.len;
    buf_reset(&b);
    ice_value_to_binary(&hi, &b);
    fs->upper = (const uint8_t *)arena_strndup(&c->a, b.data, b.len);
    fs->upper_len = (uint32_t)b.len;
    buf_free(&b);
}

Test(scan_prune, summaries_of_nulls_nans_and_bounds) {
    crafted c;
    crafted_init(&c);
    ice_field_summary fs[2] = {{.contains_nan = -1}, {.contains_nan = -1}};
    ice_manifest_file mf = {.partitions = fs, .npartitions = 2};
    /* px only null: no comparison, no "not null" */
    fs[0].contains_null = true;
    fs[0].contains_nan = 0;
    cr_assert_not(might(&c, "px = 1.5", &mf));
    cr_assert_not(might(&c, "px > 0", &mf));
    cr_assert_not(might(&c, "px is not null", &mf));
    cr_assert(might(&c, "px is null", &mf));
    cr_assert_not(might(&c, "px is nan", &mf));
    /* px only NaN */
    fs[0].contains_null = false;
    fs[0].contains_nan = 1;
    cr_assert_not(might(&c, "px = 1.5", &mf));
    cr_assert_not(might(&c, "px is null", &mf));
    cr_assert(might(&c, "px is nan", &mf));
    cr_assert_not(might(&c, "px is not nan", &mf));
    cr_assert(might(&c, "px is not null", &mf));
    /* px in [10, 20], NaN unknown */
    fs[0].contains_nan = -1;
    bound(&c, &fs[0], ice_value_double(FMT_DOUBLE, 10), ice_value_double(FMT_DOUBLE, 20));
    cr_assert(might(&c, "px = 10", &mf));
    cr_assert(might(&c, "px = 20", &mf));
    cr_assert_not(might(&c, "px = 20.5", &mf));
    cr_assert_not(might(&c, "px < 10", &mf));
    cr_assert(might(&c, "px <= 10", &mf));
    cr_assert_not(might(&c, "px > 20", &mf));
    cr_assert(might(&c, "px >= 20", &mf));
    cr_assert(might(&c, "px in (1, 15)", &mf));
    cr_assert_not(might(&c, "px in (1, 25)", &mf));
    cr_assert(might(&c, "px != 15", &mf));
    cr_assert(might(&c, "px is nan", &mf), "NaN unknown: might hold one");
    cr_assert_not(might(&c, "px is null", &mf));
    /* sym in [BTC, ETH]: starts_with checks the bounds' prefixes */
    bound(&c, &fs[1], ice_value_str("BTC"), ice_value_str("ETH"));
    cr_assert(might(&c, "sym like 'C%'", &mf));
    cr_assert_not(might(&c, "sym like 'A%'", &mf));
    cr_assert_not(might(&c, "sym like 'F%'", &mf));
    cr_assert(might(&c, "sym like 'B%' and px = 12", &mf));
    cr_assert_not(might(&c, "sym like 'B%' and px = 42", &mf));
    cr_assert(might(&c, "sym like 'Z%' or px = 12", &mf));
    /* not starts_with: only when both bounds share the prefix */
    cr_assert(might(&c, "not sym like 'B%'", &mf));
    bound(&c, &fs[1], ice_value_str("BTC"), ice_value_str("BUSD"));
    cr_assert_not(might(&c, "not sym like 'B%'", &mf));
    fs[1].contains_null = true;
    cr_assert(might(&c, "not sym like 'B%'", &mf), "with nulls the summary cannot rule not starts_with out (as Java)");
    /* no summaries at all: nothing can be ruled out */
    ice_manifest_file bare = {0};
    cr_assert(might(&c, "px = 42", &bare));
    arena_free(&c.a);
}
