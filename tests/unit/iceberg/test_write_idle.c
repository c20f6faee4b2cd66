/*
 * test_write_idle.c: ice_writer closes the file of a partition that has
 * had no rows for a while (input in partition order leaves a trail of
 * finished partitions, each holding a row group in memory), and a
 * partition that gets rows again starts a new file; no row is lost.
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

#define DAY_US 86400000000ll

static cat_test_env E;

static void setup(void) { cat_test_env_open(&E, "idle"); }

static void teardown(void) { cat_test_env_close(&E); }

/* rows [from, to) on day d, in batches of 65536 */
static void write_day(ice_writer *w, fmt_batch_t *b, int64_t from, int64_t to, int d) {
    floe_err err = {0};
    for (int64_t k = from; k < to;) {
        fmt_batch_reset(b);
        for (; k < to && b->nrows < 65536; k++) {
            fmt_vec_append_i64(&b->cols[0], k);
            fmt_vec_append_i64(&b->cols[1], d * DAY_US + k);
            b->nrows++;
        }
        cr_assert(ice_writer_write(w, b, &err), "%s", err.msg);
    }
}

Test(write_idle, finished_partitions_close_and_reopen_as_new_files, .init = setup, .fini = teardown) {
    floe_err err = {0};
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t s;
    ice_table_meta m;
    cr_assert(fmt_schema_parse("id long, ts timestamptz", &a, &s, &err), "%s", err.msg);
    cr_assert(ice_table_new_meta(&s, "day(ts)", NULL, 0, &a, &m, &err), "%s", err.msg);
    cr_assert(cat_namespace_create(E.cat, NULL, "ns", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "ns", "t", &m, &a, NULL, &err), "%s", err.msg);
    ice_table t;
    cr_assert(ice_table_load(&E.ice, "ns", "t", &a, &t, &err), "%s", err.msg);

    ice_writer *w = ice_writer_new(&t, NULL, &a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t.meta));
    write_day(w, &b, 0, 1000, 0);          /* day 0 */
    write_day(w, &b, 1000, 200000, 1);     /* day 1: day 0 not idle long enough */
    write_day(w, &b, 200000, 200010, 0);   /* day 0 again: same file */
    write_day(w, &b, 200010, 1300000, 2);  /* day 2: more than 1M rows, days 0 and 1 close */
    write_day(w, &b, 1300000, 1300005, 0); /* day 0 again: a new file */
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    int64_t per_day[3] = {0}, files_per_day[3] = {0}, total = 0;
    for (size_t i = 0; i < nf; i++) {
        int d = (int)files[i].partition[0].v.i64;
        cr_assert(d >= 0 && d < 3, "day %d", d);
        per_day[d] += files[i].record_count;
        files_per_day[d]++;
        total += files[i].record_count;
    }
    cr_assert_eq(files_per_day[0], 2, "day 0: %lld files", (long long)files_per_day[0]);
    cr_assert_eq(files_per_day[1], 1);
    cr_assert_eq(files_per_day[2], 1);
    cr_assert_eq(per_day[0], 1015);
    cr_assert_eq(per_day[1], 199000);
    cr_assert_eq(per_day[2], 1099990);
    cr_assert_eq(total, 1300005);

    ice_commit_opts o = {.kind = ICE_OP_APPEND};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(&t, &o, files, nf, &a, &r, &err), "%s", err.msg);
    ice_writer_free(w);
    ice_scan_opts so = {.snapshot_id = -1, .as_of_ms = -1, .filter = "ts < '1970-01-02T00:00:00Z'"};
    ice_scan *sc = ice_scan_new(&t, &so, &err);
    cr_assert(sc, "%s", err.msg);
    fmt_batch_t *out;
    int64_t n = 0;
    while (ice_scan_next(sc, &out, &err)) n += out->nrows;
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    cr_assert_eq(n, 1015);
    ice_scan_free(sc);
    arena_free(&a);
}
