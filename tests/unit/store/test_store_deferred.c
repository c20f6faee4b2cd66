/*
 * test_store_deferred.c: puts with deferred durability (store_cond.deferred,
 * fileio_out_defer, fileio_write_all_deferred) are visible at once, commit
 * without syncing the index log, and become durable at one store_sync /
 * fileio_sync; a sync with nothing deferred does nothing; with fsync off
 * nothing is deferred. An Iceberg append through the catalog writes every
 * file deferred and syncs exactly once, after the last of them (the
 * metadata file) and before the catalog's pointer moves.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "catalog/catalog.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static char dir[256];
static store_t *st;

static void open_store(bool fsync_on) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-deferred-XXXXXX");
    cr_assert(mkdtemp(dir));
    floe_err err;
    st = store_open(dir, fsync_on, &err);
    cr_assert(st, "%s", err.msg);
    cr_assert(store_bucket_create(st, "b", false, &err), "%s", err.msg);
}

static void setup(void) { open_store(true); }
static void setup_nosync(void) { open_store(false); }

static void teardown(void) {
    if (st) store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void put(const char *key, const char *data, bool deferred) {
    floe_err err = {0};
    store_writer *w = store_writer_new(st, HASH_NONE, &err);
    cr_assert(w, "%s", err.msg);
    cr_assert(store_writer_write(w, data, strlen(data), &err), "%s", err.msg);
    unsigned char md5[16];
    cr_assert(store_writer_finish(w, md5, NULL, &err), "%s", err.msg);
    store_object o = {.bucket = "b", .key = (char *)key, .key_len = strlen(key)};
    str_hex(md5, 16, o.etag);
    store_cond cond = {.deferred = deferred};
    cr_assert(store_put_commit(st, w, &o, &cond, &err), "%s", err.msg);
}

static bool has(const char *key) {
    arena_t a;
    arena_init(&a, 0);
    store_object o;
    floe_err err;
    bool ok = store_object_get(st, "b", key, strlen(key), &a, &o, &err);
    arena_free(&a);
    return ok;
}

static store_stats stats(void) {
    store_stats s;
    store_get_stats(st, &s);
    return s;
}

Test(store_deferred, visible_at_once_durable_at_one_sync, .init = setup, .fini = teardown) {
    floe_err err = {0};
    put("a", "one", true);
    put("b", "two", true);
    put("c", "three", true);
    cr_assert(has("a") && has("b") && has("c"), "deferred objects are visible when the put returns");
    cr_assert_eq(stats().deferred_ops, 3);
    cr_assert_eq(stats().syncs, 0);
    cr_assert(store_sync(st, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, 1);
    cr_assert(store_sync(st, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, 1, "nothing deferred since the last sync: no second sync");
    put("d", "durable", false);
    cr_assert_eq(stats().deferred_ops, 3, "a plain put is not deferred");
    put("e", "again", true);
    cr_assert(store_sync(st, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, 2);
    /* the objects survive a close and a reopen */
    store_close(st);
    st = store_open(dir, true, &err);
    cr_assert(st, "%s", err.msg);
    cr_assert(has("a") && has("c") && has("d") && has("e"));
}

Test(store_deferred, fsync_off_defers_nothing, .init = setup_nosync, .fini = teardown) {
    floe_err err = {0};
    put("a", "one", true);
    cr_assert(has("a"));
    cr_assert_eq(stats().deferred_ops, 0);
    cr_assert(store_sync(st, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, 0);
}

Test(store_deferred, fileio_outputs, .init = setup, .fini = teardown) {
    floe_err err = {0};
    fileio_t *io = fileio_store(st);
    cr_assert(fileio_write_all_deferred(io, "s3://b/meta/one.avro", "x", 1, true, &err), "%s", err.msg);
    fileio_out *out = fileio_out_create(io, "s3://b/data/two.parquet", &err);
    cr_assert(out, "%s", err.msg);
    fileio_out_defer(out);
    cr_assert(fileio_out_write(out, "yy", 2, &err), "%s", err.msg);
    cr_assert(fileio_out_close(out, &err), "%s", err.msg);
    cr_assert_eq(stats().deferred_ops, 2);
    /* if_absent still holds for a deferred write */
    cr_assert_not(fileio_write_all_deferred(io, "s3://b/meta/one.avro", "z", 1, true, &err));
    cr_assert_eq(err.code, FLOE_EEXIST, "%s", err.msg);
    cr_assert(fileio_sync(io, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, 1);
    fileio_free(io);
    /* the local backend is durable at close: its sync has nothing to do */
    fileio_t *local = fileio_local();
    cr_assert(fileio_sync(local, &err), "%s", err.msg);
    fileio_free(local);
}

Test(store_deferred, iceberg_append_syncs_once_before_the_catalog_commit, .init = setup, .fini = teardown) {
    floe_err err = {0};
    cr_assert(store_bucket_create(st, "warehouse", false, &err), "%s", err.msg);
    fileio_t *io = fileio_store(st);
    cat_opts co = {.dir = dir, .io = io, .warehouse = "s3://warehouse", .fsync = true};
    cat_t *cat = cat_open(&co, &err);
    cr_assert(cat, "%s", err.msg);
    ice_catalog ice;
    cat_as_ice(cat, NULL, &ice);
    arena_t a;
    arena_init(&a, 1 << 16);
    fmt_schema_t s;
    ice_table_meta m;
    cr_assert(fmt_schema_parse("id long, ts timestamptz", &a, &s, &err), "%s", err.msg);
    cr_assert(ice_table_new_meta(&s, "day(ts)", NULL, 0, &a, &m, &err), "%s", err.msg);
    cr_assert(cat_namespace_create(cat, NULL, "ns", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(cat, NULL, "ns", "t", &m, &a, NULL, &err), "%s", err.msg);
    ice_table t;
    cr_assert(ice_table_load(&ice, "ns", "t", &a, &t, &err), "%s", err.msg);
    store_stats before = stats();

    /* two days: two data files, one manifest, one list, one metadata file */
    ice_writer *w = ice_writer_new(&t, NULL, &a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t.meta));
    for (int i = 0; i < 10; i++) {
        fmt_vec_append_i64(&b.cols[0], i);
        fmt_vec_append_i64(&b.cols[1], (i % 2) * 86400000000ll + i);
        b.nrows++;
    }
    cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    cr_assert_eq(nf, 2);
    cr_assert_eq(stats().syncs, before.syncs, "writing data files syncs nothing yet");
    ice_commit_opts o = {.kind = ICE_OP_APPEND};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(&t, &o, files, nf, &a, &r, &err), "%s", err.msg);
    ice_writer_free(w);
    store_stats after = stats();
    cr_assert_eq(after.deferred_ops - before.deferred_ops, 5, "data files, manifest, list, metadata: %llu",
                 (unsigned long long)(after.deferred_ops - before.deferred_ops));
    cr_assert_eq(after.syncs - before.syncs, 1, "one sync for the whole commit: %llu",
                 (unsigned long long)(after.syncs - before.syncs));
    /* the sync came after the last deferred write: nothing is left pending */
    cr_assert(store_sync(st, &err), "%s", err.msg);
    cr_assert_eq(stats().syncs, after.syncs);
    arena_free(&a);
    cat_close(cat);
    fileio_free(io);
}
