/*
 * test_gc.c: `floe gc` (cat_gc) on the embedded store: a dropped table's
 * files are deleted (Nessie #9097), a table dropped on main but alive on
 * another branch keeps them, files only an expired snapshot or a failed
 * commit left go, the grace period keeps new files, a dry run deletes
 * nothing, an unreadable manifest stops the run before any delete, and
 * nothing outside the warehouse prefix is touched. Each test lists the
 * store before and after.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "cat_test.h"
#include "catalog/catalog.h"
#include "iceberg/ice_int.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static cat_test_env E;

static void setup(void) { cat_test_env_open(&E, "gc"); }

static void teardown(void) { cat_test_env_close(&E); }

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* A cutoff after everything written so far. */
static int64_t cutoff_now(void) {
    sleep_ms(5);
    int64_t t = time_now_ms();
    sleep_ms(5);
    return t;
}

static void create_table(arena_t *a, const char *name, ice_table *t) {
    floe_err err = {0};
    fmt_schema_t s;
    cr_assert(fmt_schema_parse("id long not null, symbol string", a, &s, &err), "%s", err.msg);
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, "bucket(4, id)", NULL, 0, a, &m, &err), "%s", err.msg);
    bool have;
    cr_assert(cat_namespace_exists(E.cat, NULL, "market", &have, &err), "%s", err.msg);
    if (!have) cr_assert(cat_namespace_create(E.cat, NULL, "market", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "market", name, &m, a, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "market", name, a, t, &err), "%s", err.msg);
}

static void append(ice_table *t, int64_t from, int64_t n, arena_t *a) {
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t->meta));
    for (int64_t i = from; i < from + n; i++) {
        fmt_vec_append_i64(&b.cols[0], i);
        fmt_vec_append_bytes(&b.cols[1], "BTC", 3);
    }
    b.nrows = (uint32_t)n;
    cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_APPEND};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(t, &o, files, nf, a, &r, &err), "%s", err.msg);
    ice_writer_free(w);
    sleep_ms(2);
}

static int64_t count_rows(const char *ref, const char *name) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_catalog c;
    cat_as_ice(E.cat, ref, &c);
    floe_err err = {0};
    ice_table t;
    cr_assert(ice_table_load(&c, "market", name, &a, &t, &err), "%s", err.msg);
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1};
    ice_scan *s = ice_scan_new(&t, &o, &err);
    cr_assert(s, "%s", err.msg);
    int64_t n = 0;
    fmt_batch_t *b;
    while (ice_scan_next(s, &b, &err)) n += b->nrows;
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    ice_scan_free(s);
    arena_free(&a);
    return n;
}

/* Every object under prefix, in key order. */
typedef struct listing {
    char **v;
    size_t n;
    arena_t *a;
} listing;

static bool collect(const fileio_entry *e, void *arg) {
    listing *l = arg;
    char **nv = arena_alloc(l->a, (l->n + 1) * sizeof *nv);
    if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
    nv[l->n++] = arena_strdup(l->a, e->uri);
    l->v = nv;
    return true;
}

static listing list(const char *prefix, arena_t *a) {
    listing l = {.a = a};
    floe_err err = {0};
    cr_assert(fileio_list(E.io, prefix, collect, &l, &err), "%s", err.msg);
    return l;
}

static bool listed(const listing *l, const char *uri) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], uri)) return true;
    return false;
}

static void assert_same(const listing *x, const listing *y) {
    cr_assert_eq(x->n, y->n, "%zu objects before, %zu after", x->n, y->n);
    for (size_t i = 0; i < x->n; i++) cr_assert_str_eq(x->v[i], y->v[i]);
}

static void run_gc(int64_t older_than, bool dry, arena_t *a, cat_gc_result *r) {
    floe_err err = {0};
    cat_gc_opts o = {.older_than_ms = older_than, .dry_run = dry};
    cr_assert(cat_gc(E.cat, &o, a, r, &err), "%s", err.msg);
}

/* A second branch as versions.c will make it: the ref and a copy of main's
 * contents. */
static void branch_from_main(const char *name) {
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO refs(name, is_tag, hash) SELECT '%s', 0, hash FROM refs WHERE name = 'main';"
             "INSERT INTO heads SELECT '%s', key, parent, kind, content_id, location, content FROM heads"
             " WHERE ref = 'main';",
             name, name);
    floe_err err = {0};
    cr_assert(cat_test_sql(E.dir, sql, &err), "%s", err.msg);
}

Test(gc, dropped_table_files_are_deleted, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table gone, kept;
    create_table(&a, "gone", &gone);
    create_table(&a, "kept", &kept);
    append(&gone, 0, 100, &a);
    append(&gone, 100, 100, &a);
    append(&kept, 0, 50, &a);
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "market", "gone", false, &err), "%s", err.msg);
    listing gone_before = list("s3://warehouse/market/gone/", &a);
    listing kept_before = list("s3://warehouse/market/kept/", &a);
    cr_assert_gt(gone_before.n, 5);
    int64_t cutoff = cutoff_now();

    cat_gc_result r;
    run_gc(cutoff, false, &a, &r);
    cr_assert_eq(r.ndeleted, gone_before.n);
    for (size_t i = 0; i < r.ndeleted; i++) {
        cr_assert(listed(&gone_before, r.deleted[i].uri), "%s deleted", r.deleted[i].uri);
        cr_assert_not(r.deleted[i].failed);
    }
    cr_assert_eq(r.failed_deletes, 0);
    cr_assert_gt(r.deleted_bytes, 0);
    cr_assert_eq(r.kept_live, (int64_t)kept_before.n);
    cr_assert_eq(r.tables, 1);
    cr_assert_eq(r.refs, 1);
    cr_assert_eq(list("s3://warehouse/market/gone/", &a).n, 0);
    listing kept_after = list("s3://warehouse/market/kept/", &a);
    assert_same(&kept_before, &kept_after);
    cr_assert_eq(count_rows(NULL, "kept"), 50);

    /* a second run finds nothing */
    run_gc(cutoff_now(), false, &a, &r);
    cr_assert_eq(r.ndeleted, 0);
    arena_free(&a);
}

Test(gc, a_table_dropped_on_main_but_alive_on_a_branch_keeps_its_files, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "t", &t);
    append(&t, 0, 100, &a);
    branch_from_main("dev");
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "market", "t", false, &err), "%s", err.msg);
    listing before = list("s3://warehouse/", &a);
    cat_gc_result r;
    run_gc(cutoff_now(), false, &a, &r);
    cr_assert_eq(r.ndeleted, 0, "deleted %s", r.ndeleted ? r.deleted[0].uri : "");
    cr_assert_eq(r.refs, 2);
    cr_assert_eq(r.tables, 1);
    listing after = list("s3://warehouse/", &a);
    assert_same(&before, &after);
    cr_assert_eq(count_rows("dev", "t"), 100);
    arena_free(&a);
}

Test(gc, files_of_expired_snapshots_and_failed_commits_go, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "t", &t);
    append(&t, 0, 100, &a);
    int64_t first = t.meta.current_snapshot_id;
    const char *first_list = ice_meta_snapshot(&t.meta, first)->manifest_list;
    append(&t, 100, 100, &a);
    floe_err err = {0};
    /* expire the first snapshot without deleting its files, as a crash after
     * the commit would leave them */
    json_t *reqs = json_array();
    json_t *ups = json_pack("[{s:s, s:[I]}]", "action", "remove-snapshots", "snapshot-ids", (json_int_t)first);
    cr_assert(cat_table_commit(E.cat, NULL, "market", "t", reqs, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(reqs);
    json_decref(ups);
    /* a data file a failed commit wrote and never referenced */
    const char *orphan = "s3://warehouse/market/t/data/id_bucket=0/00000-failed.parquet";
    cr_assert(fileio_write_all(E.io, orphan, "PAR1", 4, true, &err), "%s", err.msg);
    listing before = list("s3://warehouse/", &a);
    cr_assert(listed(&before, first_list));

    cat_gc_result r;
    run_gc(cutoff_now(), false, &a, &r);
    cr_assert_eq(r.ndeleted, 2);
    listing after = list("s3://warehouse/", &a);
    cr_assert_not(listed(&after, first_list));
    cr_assert_not(listed(&after, orphan));
    cr_assert_eq(after.n, before.n - 2);
    /* the first snapshot's manifest is still listed by the second: kept */
    cr_assert_eq(count_rows(NULL, "t"), 200);
    arena_free(&a);
}

Test(gc, files_newer_than_the_grace_period_stay, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    /* the store keeps whole seconds, rounded down */
    int64_t before_writes = time_now_ms() / 1000 * 1000 - 1;
    create_table(&a, "t", &t);
    append(&t, 0, 10, &a);
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "market", "t", false, &err), "%s", err.msg);
    listing before = list("s3://warehouse/", &a);
    cat_gc_result r;
    /* the default: 3 days */
    run_gc(-1, false, &a, &r);
    cr_assert_eq(r.ndeleted, 0);
    cr_assert_eq(r.kept_young, (int64_t)before.n);
    cr_assert_lt(r.older_than_ms, time_now_ms() - CAT_GC_GRACE_MS + 60000);
    /* a cutoff before the files were written */
    run_gc(before_writes, false, &a, &r);
    cr_assert_eq(r.ndeleted, 0);
    listing after = list("s3://warehouse/", &a);
    assert_same(&before, &after);
    /* a cutoff in the future is refused: it would delete files being written */
    cat_gc_opts o = {.older_than_ms = time_now_ms() + 86400000};
    cr_assert_not(cat_gc(E.cat, &o, &a, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "future"), "%s", err.msg);
    arena_free(&a);
}

Test(gc, dry_run_deletes_nothing, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "t", &t);
    append(&t, 0, 10, &a);
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "market", "t", false, &err), "%s", err.msg);
    listing before = list("s3://warehouse/", &a);
    cat_gc_result r;
    run_gc(cutoff_now(), true, &a, &r);
    cr_assert_eq(r.ndeleted, before.n);
    cr_assert_gt(r.deleted_bytes, 0);
    listing after = list("s3://warehouse/", &a);
    assert_same(&before, &after);
    arena_free(&a);
}

Test(gc, an_unreadable_manifest_stops_gc_before_any_delete, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table live, gone;
    create_table(&a, "live", &live);
    create_table(&a, "gone", &gone);
    append(&live, 0, 10, &a);
    append(&gone, 0, 10, &a);
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "market", "gone", false, &err), "%s", err.msg);
    ice_manifest_file *mfs;
    size_t nm;
    const ice_snapshot *s = ice_meta_snapshot(&live.meta, live.meta.current_snapshot_id);
    cr_assert(ice_read_manifest_list(&live, s, &a, &mfs, &nm, &err), "%s", err.msg);
    cr_assert_geq(nm, 1);
    cr_assert(fileio_write_all(E.io, mfs[0].manifest_path, "not avro", 8, false, &err), "%s", err.msg);
    listing before = list("s3://warehouse/", &a);

    cat_gc_result r;
    cat_gc_opts o = {.older_than_ms = cutoff_now()};
    cr_assert_not(cat_gc(E.cat, &o, &a, &r, &err));
    cr_assert(strstr(err.msg, "market.live"), "%s", err.msg);
    cr_assert(strstr(err.msg, mfs[0].manifest_path), "%s", err.msg);
    cr_assert(strstr(err.msg, "nothing was deleted"), "%s", err.msg);
    listing after = list("s3://warehouse/", &a);
    assert_same(&before, &after);
    /* a missing metadata file stops it too */
    cr_assert(fileio_delete(E.io, live.metadata_location, &err), "%s", err.msg);
    cr_assert_not(cat_gc(E.cat, &o, &a, &r, &err));
    cr_assert(strstr(err.msg, live.metadata_location), "%s", err.msg);
    arena_free(&a);
}

Test(gc, files_outside_the_warehouse_are_never_touched, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cr_assert(store_bucket_create(E.st, "other", false, &err), "%s", err.msg);
    cr_assert(store_bucket_create(E.st, "warehouse2", false, &err), "%s", err.msg);
    const char *outside[] = {"s3://other/market/t/data/x.parquet", "s3://warehouse2/market/t/metadata/x.avro"};
    for (size_t i = 0; i < 2; i++) cr_assert(fileio_write_all(E.io, outside[i], "x", 1, true, &err), "%s", err.msg);
    ice_table t;
    create_table(&a, "t", &t);
    append(&t, 0, 10, &a);
    cr_assert(cat_table_drop(E.cat, NULL, "market", "t", false, &err), "%s", err.msg);
    cat_gc_result r;
    run_gc(cutoff_now(), false, &a, &r);
    cr_assert_gt(r.ndeleted, 0);
    for (size_t i = 0; i < r.ndeleted; i++)
        cr_assert(!strncmp(r.deleted[i].uri, "s3://warehouse/", 15), "%s", r.deleted[i].uri);
    cr_assert_eq(list("s3://other/", &a).n, 1);
    cr_assert_eq(list("s3://warehouse2/", &a).n, 1);
    arena_free(&a);
}

Test(gc, tables_with_gc_disabled_keep_everything_under_their_location, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_table(&a, "t", &t);
    append(&t, 0, 10, &a);
    floe_err err = {0};
    json_t *reqs = json_array();
    json_t *ups = json_pack("[{s:s, s:{s:s}}]", "action", "set-properties", "updates", "gc.enabled", "false");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "t", reqs, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(reqs);
    json_decref(ups);
    const char *stray = "s3://warehouse/market/t/data/other-tables-file.parquet";
    cr_assert(fileio_write_all(E.io, stray, "PAR1", 4, true, &err), "%s", err.msg);
    cat_gc_result r;
    run_gc(cutoff_now(), false, &a, &r);
    cr_assert_eq(r.ndeleted, 0);
    cr_assert_eq(r.kept_protected, 1);
    listing after = list("s3://warehouse/market/t/", &a);
    cr_assert(listed(&after, stray));
    arena_free(&a);
}
