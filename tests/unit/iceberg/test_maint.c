/*
 * test_maint.c: table maintenance on the embedded store: expire snapshots
 * (retain-last and older-than, refs that protect snapshots, exactly the
 * unreachable files deleted, found by listing the store before and after),
 * compaction (row multiset unchanged, fewer files, partition tuples never
 * null, the old snapshot still readable, a concurrent delete failing it
 * cleanly), rewrite manifests, and orphan file removal (a planted orphan,
 * older-than, dry run, a neighbouring table's files left alone).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../catalog/cat_test.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "iceberg/ice_int.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static cat_test_env E;

#define DAY_US 86400000000ll

static void setup(void) { cat_test_env_open(&E, "maint"); }

static void teardown(void) { cat_test_env_close(&E); }

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void create_table(arena_t *a, const char *name, const char *partition, ice_table *t) {
    floe_err err = {0};
    fmt_schema_t s;
    cr_assert(fmt_schema_parse("id long not null, ts timestamptz, symbol string, price double", a, &s, &err), "%s",
              err.msg);
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, partition, NULL, 0, a, &m, &err), "%s", err.msg);
    bool have;
    cr_assert(cat_namespace_exists(E.cat, NULL, "market", &have, &err), "%s", err.msg);
    if (!have) cr_assert(cat_namespace_create(E.cat, NULL, "market", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "market", name, &m, a, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "market", name, a, t, &err), "%s", err.msg);
}

/* Row i: ts on day (i % days) at i ms, symbol by i % 3, price i / 10. */
static const char *syms[] = {"BTC", "ETH", "SOL"};

static void append(ice_table *t, int64_t from, int64_t n, int days, arena_t *a) {
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t->meta));
    for (int64_t i = from; i < from + n; i++) {
        fmt_vec_append_i64(&b.cols[0], i);
        fmt_vec_append_i64(&b.cols[1], (i % days) * DAY_US + i * 1000);
        fmt_vec_append_bytes(&b.cols[2], syms[i % 3], 3);
        fmt_vec_append_f64(&b.cols[3], (double)i / 10);
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
    sleep_ms(3); /* distinct snapshot timestamps */
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* Reads a snapshot (or the current one with -1, or a ref) and checks every
 * row is row id of append(); returns the sorted ids (malloc'd). */
static int64_t *read_ids(ice_table *t, int64_t snapshot_id, const char *ref, size_t *n) {
    floe_err err = {0};
    ice_scan_opts o = {.snapshot_id = snapshot_id, .as_of_ms = -1, .ref = ref};
    ice_scan *s = ice_scan_new(t, &o, &err);
    cr_assert(s, "scan of snapshot %lld: %s", (long long)snapshot_id, err.msg);
    size_t cap = 1024, cnt = 0;
    int64_t *ids = malloc(cap * sizeof *ids);
    fmt_batch_t *b;
    while (ice_scan_next(s, &b, &err)) {
        for (uint32_t r = 0; r < b->nrows; r++) {
            ice_value id, ts, sym, px;
            ice_value_from_vec(&b->cols[0], r, &id);
            ice_value_from_vec(&b->cols[1], r, &ts);
            ice_value_from_vec(&b->cols[2], r, &sym);
            ice_value_from_vec(&b->cols[3], r, &px);
            int64_t i = id.v.i64;
            cr_assert_eq(ts.v.i64 % DAY_US, i * 1000, "row %lld: ts %lld", (long long)i, (long long)ts.v.i64);
            cr_assert(sym.len == 3 && !memcmp(sym.bytes, syms[i % 3], 3), "row %lld: symbol", (long long)i);
            cr_assert_float_eq(px.v.f64, (double)i / 10, 1e-9, "row %lld: price", (long long)i);
            if (cnt == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[cnt++] = i;
        }
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    ice_scan_free(s);
    qsort(ids, cnt, sizeof *ids, cmp_i64);
    *n = cnt;
    return ids;
}

/* The ids are exactly [0, n), each once. */
static void assert_ids_0_to(ice_table *t, int64_t snapshot_id, int64_t n) {
    size_t cnt;
    int64_t *ids = read_ids(t, snapshot_id, NULL, &cnt);
    cr_assert_eq(cnt, (size_t)n, "%zu rows, expected %lld", cnt, (long long)n);
    for (size_t i = 0; i < cnt; i++) cr_assert_eq(ids[i], (int64_t)i, "row %zu is id %lld", i, (long long)ids[i]);
    free(ids);
}

/* ---- store listings ---- */

typedef struct listing {
    char **v;
    size_t n, cap;
} listing;

static bool list_one(const fileio_entry *e, void *arg) {
    listing *l = arg;
    if (l->n == l->cap) l->v = realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof *l->v);
    l->v[l->n++] = strdup(e->uri);
    return true;
}

static listing list_table(const ice_table *t) {
    listing l = {0};
    floe_err err = {0};
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/", t->meta.location);
    cr_assert(fileio_list(E.io, prefix, list_one, &l, &err), "%s", err.msg);
    return l;
}

static bool listed(const listing *l, const char *p) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], p)) return true;
    return false;
}

static void listing_free(listing *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static size_t count_with(const listing *l, const char *part) {
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strstr(l->v[i], part)) n++;
    return n;
}

static const ice_snapshot *current(const ice_table *t) {
    return ice_meta_snapshot(&t->meta, t->meta.current_snapshot_id);
}

static void set_ref(ice_table *t, const char *name, const char *type, int64_t id, const char *extra_key, int64_t extra,
                    arena_t *a) {
    floe_err err = {0};
    json_t *u = json_pack("{s:s, s:s, s:s, s:I}", "action", "set-snapshot-ref", "ref-name", name, "type", type,
                          "snapshot-id", (json_int_t)id);
    if (extra_key) json_object_set_new(u, extra_key, json_integer(extra));
    json_t *ups = json_array();
    json_array_append_new(ups, u);
    cr_assert(cat_table_commit(E.cat, NULL, "market", t->name, NULL, ups, a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    cr_assert(ice_table_load(&E.ice, "market", t->name, a, t, &err), "%s", err.msg);
}

/* ============================================================== expire */

Test(maint, expire_deletes_exactly_the_unreachable_files, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    append(&t, 0, 300, 3, &a); /* s1: 3 files */
    int64_t s1 = t.meta.current_snapshot_id;
    append(&t, 300, 300, 3, &a); /* s2: 3 files */
    int64_t s2 = t.meta.current_snapshot_id;
    /* s3: every partition rewritten: s1's and s2's 6 files replaced */
    ice_writer *w = ice_writer_new(&t, NULL, &a, &err);
    cr_assert(w);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t.meta));
    for (int64_t i = 0; i < 600; i++) {
        fmt_vec_append_i64(&b.cols[0], i);
        fmt_vec_append_i64(&b.cols[1], (i % 3) * DAY_US + i * 1000);
        fmt_vec_append_bytes(&b.cols[2], syms[i % 3], 3);
        fmt_vec_append_f64(&b.cols[3], (double)i / 10);
    }
    b.nrows = 600;
    cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    ice_commit_opts co = {.kind = ICE_OP_OVERWRITE_DYNAMIC};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &co, files, nf, &a, &cr, &err), "%s", err.msg);
    cr_assert_eq(cr.deleted_files, 6);
    ice_writer_free(w);
    int64_t s3 = t.meta.current_snapshot_id;
    sleep_ms(3);
    append(&t, 600, 30, 3, &a); /* s4 */
    int64_t s4 = t.meta.current_snapshot_id;

    /* what s1 and s2 alone reached, from their manifests */
    ice_manifest_entry *e1, *e4;
    size_t n1, n4;
    ice_manifest_file *m1, *m2;
    size_t nm1, nm2;
    cr_assert(ice_snapshot_files(&t, ice_meta_snapshot(&t.meta, s2), &a, &e1, &n1, &err), "%s", err.msg);
    cr_assert(ice_snapshot_files(&t, current(&t), &a, &e4, &n4, &err), "%s", err.msg);
    cr_assert_eq(n1, 6);
    cr_assert(ice_read_manifest_list(&t, ice_meta_snapshot(&t.meta, s1), &a, &m1, &nm1, &err));
    cr_assert(ice_read_manifest_list(&t, ice_meta_snapshot(&t.meta, s2), &a, &m2, &nm2, &err));
    const char *list1 = ice_meta_snapshot(&t.meta, s1)->manifest_list;
    const char *list2 = ice_meta_snapshot(&t.meta, s2)->manifest_list;
    listing before = list_table(&t);

    /* retain-last 2 with everything older than now: s1 and s2 go */
    ice_expire_opts eo = {.older_than_ms = time_now_ms() + 1, .retain_last = 2};
    ice_expire_result r;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 2);
    cr_assert(r.expired_ids[0] == s1 || r.expired_ids[1] == s1);
    cr_assert(r.expired_ids[0] == s2 || r.expired_ids[1] == s2);
    cr_assert_eq(r.deleted_manifest_lists_count, 2);
    cr_assert_eq(r.deleted_manifest_files_count, 2, "%lld", (long long)r.deleted_manifest_files_count);
    cr_assert_eq(r.deleted_data_files_count, 6, "%lld", (long long)r.deleted_data_files_count);
    cr_assert_eq(t.meta.nsnapshots, 2);
    cr_assert(ice_meta_snapshot(&t.meta, s3) && ice_meta_snapshot(&t.meta, s4));

    listing after = list_table(&t);
    /* gone: exactly the two lists, s1's and s2's own manifests, their files */
    size_t gone = 0;
    for (size_t i = 0; i < before.n; i++) {
        if (listed(&after, before.v[i])) continue;
        gone++;
        const char *p = before.v[i];
        bool expected = !strcmp(p, list1) || !strcmp(p, list2);
        for (size_t k = 0; k < nm2 && !expected; k++) expected = !strcmp(p, m2[k].manifest_path);
        for (size_t k = 0; k < n1 && !expected; k++) expected = !strcmp(p, e1[k].file.file_path);
        cr_assert(expected, "deleted %s, which expire should have kept", p);
    }
    cr_assert_eq(gone, 2 + 2 + 6, "%zu files deleted", gone);
    /* new: only the metadata file of the expire commit */
    size_t added = 0;
    for (size_t i = 0; i < after.n; i++)
        if (!listed(&before, after.v[i])) {
            added++;
            cr_assert(strstr(after.v[i], ".metadata.json"), "new file %s", after.v[i]);
        }
    cr_assert_eq(added, 1);
    /* every file the retained snapshots list is still there */
    for (size_t k = 0; k < n4; k++) cr_assert(listed(&after, e4[k].file.file_path), "%s", e4[k].file.file_path);
    (void)m1;
    (void)nm1;

    /* time travel to both retained snapshots still reads; to s1 it cannot */
    assert_ids_0_to(&t, s3, 600);
    assert_ids_0_to(&t, s4, 630);
    assert_ids_0_to(&t, -1, 630);
    ice_scan_opts so = {.snapshot_id = s1, .as_of_ms = -1};
    cr_assert_null(ice_scan_new(&t, &so, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);

    /* nothing more to expire: a no-op, no commit */
    const char *loc = t.metadata_location;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 0);
    cr_assert_str_eq(t.metadata_location, loc);
    listing_free(&before);
    listing_free(&after);
    arena_free(&a);
}

Test(maint, expire_older_than_and_defaults_keep_recent_snapshots, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    for (int k = 0; k < 3; k++) append(&t, k * 100, 100, 2, &a);
    int64_t cut = time_now_ms();
    sleep_ms(3);
    for (int k = 3; k < 5; k++) append(&t, k * 100, 100, 2, &a);
    /* defaults (5 days, keep 1): everything is recent, nothing goes */
    ice_expire_opts eo = {.older_than_ms = -1, .retain_last = -1};
    ice_expire_result r;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 0);
    cr_assert_eq(t.meta.nsnapshots, 5);
    /* dry run: the plan, and nothing changes */
    listing before = list_table(&t);
    eo.older_than_ms = cut;
    eo.dry_run = true;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 3);
    cr_assert_eq(r.deleted_manifest_lists_count, 3);
    cr_assert_eq(t.meta.nsnapshots, 5);
    listing same = list_table(&t);
    cr_assert_eq(same.n, before.n);
    /* older than the cut: the first three go, the two after it stay */
    eo.dry_run = false;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 3);
    cr_assert_eq(t.meta.nsnapshots, 2);
    cr_assert_eq(r.deleted_manifest_lists_count, 3);
    cr_assert_eq(r.deleted_data_files_count, 0, "appends keep every file live");
    cr_assert_eq(r.deleted_manifest_files_count, 0, "appends keep every manifest listed");
    for (int32_t i = 0; i < t.meta.nsnapshots; i++) cr_assert_gt(t.meta.snapshots[i].timestamp_ms, cut);
    assert_ids_0_to(&t, -1, 500);
    /* the table property counts too: min-snapshots-to-keep 2 keeps both */
    json_t *ups = json_pack("[{s:s, s:{s:s}}]", "action", "set-properties", "updates",
                            "history.expire.min-snapshots-to-keep", "2");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "trades", NULL, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    eo.older_than_ms = time_now_ms() + 1;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 0);
    /* a bad property is an error naming it */
    ups = json_pack("[{s:s, s:{s:s}}]", "action", "set-properties", "updates", "history.expire.min-snapshots-to-keep",
                    "many");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "trades", NULL, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    cr_assert_not(ice_expire_snapshots(&t, &eo, &a, &r, &err));
    cr_assert(strstr(err.msg, "history.expire.min-snapshots-to-keep"), "%s", err.msg);
    listing_free(&before);
    listing_free(&same);
    arena_free(&a);
}

Test(maint, expire_keeps_what_tags_and_branches_need, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    int64_t s[4];
    for (int k = 0; k < 4; k++) {
        append(&t, k * 100, 100, 2, &a);
        s[k] = t.meta.current_snapshot_id;
    }
    set_ref(&t, "t1", "tag", s[1], NULL, 0, &a);
    /* a branch with min-snapshots-to-keep 3 keeps s2, s1 and s0 */
    set_ref(&t, "b", "branch", s[2], "min-snapshots-to-keep", 3, &a);
    set_ref(&t, "old", "tag", s[0], "max-ref-age-ms", 1, &a);
    sleep_ms(3);
    ice_expire_opts eo = {.older_than_ms = time_now_ms() + 1, .retain_last = 1};
    ice_expire_result r;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 0, "%zu expired", r.nexpired);
    /* the tag older than its max-ref-age-ms goes */
    cr_assert_eq(r.nremoved_refs, 1);
    cr_assert_str_eq(r.removed_refs[0], "old");
    cr_assert_null(ice_meta_ref(&t.meta, "old"));
    cr_assert_eq(t.meta.nsnapshots, 4);
    /* a plain branch (same snapshot, retention cleared): s0 goes; the tag
     * keeps s1, the branch head s2, main s3 */
    set_ref(&t, "b", "branch", s[2], NULL, 0, &a);
    cr_assert_eq(ice_meta_ref(&t.meta, "b")->min_snapshots_to_keep, -1);
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 1);
    cr_assert_eq(r.expired_ids[0], s[0]);
    cr_assert_eq(t.meta.nsnapshots, 3);
    cr_assert(ice_meta_ref(&t.meta, "t1") && ice_meta_ref(&t.meta, "b") && ice_meta_ref(&t.meta, "main"));
    size_t n;
    int64_t *ids = read_ids(&t, -1, "t1", &n);
    cr_assert_eq(n, 200, "the tag reads s1: %zu rows", n);
    free(ids);
    ids = read_ids(&t, -1, "b", &n);
    cr_assert_eq(n, 300, "the branch reads s2: %zu rows", n);
    free(ids);
    assert_ids_0_to(&t, -1, 400);
    arena_free(&a);
}

Test(maint, expire_refuses_tables_without_gc, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", NULL, &t);
    append(&t, 0, 10, 1, &a);
    append(&t, 10, 10, 1, &a);
    json_t *ups = json_pack("[{s:s, s:{s:s}}]", "action", "set-properties", "updates", "gc.enabled", "false");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "trades", NULL, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    ice_expire_opts eo = {.older_than_ms = time_now_ms() + 1, .retain_last = 1};
    ice_expire_result r;
    cr_assert_not(ice_expire_snapshots(&t, &eo, &a, &r, &err));
    cr_assert(strstr(err.msg, "gc.enabled"), "%s", err.msg);
    cr_assert_eq(t.meta.nsnapshots, 2);
    arena_free(&a);
}

/* ============================================================ compaction */

/* Every live file's day tuple: not null, the path's day. */
static void check_tuples(ice_table *t, arena_t *a) {
    floe_err err = {0};
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(t, current(t), a, &es, &n, &err), "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        const ice_data_file *f = &es[i].file;
        cr_assert_eq(f->npartition, 1);
        cr_assert(!f->partition[0].is_null, "file %s has a null partition value", f->file_path);
        char want[64];
        snprintf(want, sizeof want, "ts_day=1970-01-%02d", (int)f->partition[0].v.i64 + 1);
        cr_assert(strstr(f->file_path, want), "%s is not under %s", f->file_path, want);
    }
}

static size_t live_files(ice_table *t, arena_t *a, int day) {
    floe_err err = {0};
    ice_manifest_entry *es;
    size_t n, cnt = 0;
    cr_assert(ice_snapshot_files(t, current(t), a, &es, &n, &err), "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        if (day < 0 || es[i].file.partition[0].v.i64 == day) cnt++;
    return cnt;
}

Test(maint, compact_small_files_across_partitions, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    for (int k = 0; k < 10; k++) append(&t, k * 400, 400, 4, &a); /* 10 files on each of 4 days */
    /* and a fifth day with only 2 small files: below min-input-files */
    for (int k = 0; k < 2; k++) {
        ice_writer *w = ice_writer_new(&t, NULL, &a, &err);
        fmt_batch_t b;
        fmt_batch_init(&b, ice_meta_current_schema(&t.meta));
        for (int64_t i = 4000 + k * 5; i < 4005 + k * 5; i++) {
            fmt_vec_append_i64(&b.cols[0], i);
            fmt_vec_append_i64(&b.cols[1], 4 * DAY_US + i * 1000);
            fmt_vec_append_bytes(&b.cols[2], syms[i % 3], 3);
            fmt_vec_append_f64(&b.cols[3], (double)i / 10);
        }
        b.nrows = 5;
        cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
        fmt_batch_free(&b);
        ice_data_file *files;
        size_t nf;
        cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
        ice_commit_opts o = {.kind = ICE_OP_APPEND};
        ice_commit_result r;
        cr_assert(ice_table_commit_files(&t, &o, files, nf, &a, &r, &err), "%s", err.msg);
        ice_writer_free(w);
    }
    cr_assert_eq(live_files(&t, &a, -1), 42);
    int64_t before = t.meta.current_snapshot_id;

    /* a filter limits compaction to the files that may match: days 2 and 3 */
    ice_compact_opts co = {
        .min_file_bytes = -1, .max_file_bytes = -1, .filter = "ts >= '1970-01-03' and ts < '1970-01-05'"};
    ice_compact_result r;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_data_files_count, 20);
    cr_assert_eq(r.added_data_files_count, 2);
    cr_assert_eq(r.groups, 2);
    cr_assert_gt(r.rewritten_bytes_count, 0);
    cr_assert_eq(live_files(&t, &a, 2), 1);
    cr_assert_eq(live_files(&t, &a, 0), 10);
    cr_assert_str_eq(current(&t)->operation, "replace");

    /* the rest: days 0 and 1; day 4 has too few files; 2 and 3 are done */
    co.filter = NULL;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_data_files_count, 20);
    cr_assert_eq(r.added_data_files_count, 2);
    cr_assert_eq(live_files(&t, &a, -1), 6, "one file per day, day 4's two left alone");
    cr_assert_eq(live_files(&t, &a, 4), 2);
    check_tuples(&t, &a);

    /* rows unchanged: ids 0..4009, each once, every column as written */
    assert_ids_0_to(&t, -1, 4010);
    /* the snapshot before compaction still reads the same rows */
    assert_ids_0_to(&t, before, 4010);

    /* nothing left to do: no snapshot */
    int64_t cur = t.meta.current_snapshot_id;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.snapshot_id, -1);
    cr_assert_eq(t.meta.current_snapshot_id, cur);
    /* min-input-files 2 takes day 4's pair */
    co.min_input_files = 2;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_data_files_count, 2);
    cr_assert_eq(live_files(&t, &a, -1), 5);
    assert_ids_0_to(&t, -1, 4010);
    check_tuples(&t, &a);
    /* a scan reads only manifests with live entries: the compactions'
     * manifests of deleted entries are listed but never opened */
    ice_manifest_file *mfs;
    size_t nm, live = 0;
    cr_assert(ice_read_manifest_list(&t, current(&t), &a, &mfs, &nm, &err), "%s", err.msg);
    for (size_t i = 0; i < nm; i++) live += mfs[i].added_files_count > 0 || mfs[i].existing_files_count > 0;
    cr_assert_lt(live, nm, "some manifests hold only deleted entries (%zu of %zu live)", live, nm);
    ice_scan_opts so = {.snapshot_id = -1, .as_of_ms = -1};
    ice_scan *sc = ice_scan_new(&t, &so, &err);
    cr_assert(sc, "%s", err.msg);
    cr_assert_eq(ice_scan_report_get(sc)->manifests, live);
    ice_scan_free(sc);
    arena_free(&a);
}

Test(maint, compact_into_target_sized_files, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", NULL, &t);
    for (int k = 0; k < 8; k++) append(&t, k * 2000, 2000, 1, &a);
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(&t, current(&t), &a, &es, &n, &err), "%s", err.msg);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) total += es[i].file.file_size_in_bytes;
    /* a target of 3 input files: the 8 small ones become about 3 */
    ice_compact_opts co = {
        .target_file_bytes = total * 3 / 8, .min_file_bytes = -1, .max_file_bytes = -1, .rewrite_all = true};
    ice_compact_result r;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_data_files_count, 8);
    cr_assert(r.added_data_files_count >= 2 && r.added_data_files_count <= 4, "%lld files",
              (long long)r.added_data_files_count);
    assert_ids_0_to(&t, -1, 16000);
    arena_free(&a);
}

/* The concurrent writer: deletes day 0 (metadata only) just before the
 * compaction commits. */
typedef struct racer {
    arena_t *a;
    bool done;
} racer;

static void race_delete(void *arg, const char *phase, uint64_t done, uint64_t total) {
    (void)done;
    (void)total;
    racer *rc = arg;
    if (strcmp(phase, "committing") || rc->done) return;
    rc->done = true;
    floe_err err = {0};
    ice_table other;
    cr_assert(ice_table_load(&E.ice, "market", "trades", rc->a, &other, &err), "%s", err.msg);
    ice_expr *e, *b;
    cr_assert(ice_expr_parse("ts < '1970-01-02'", rc->a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&other.meta), true, rc->a, &b, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_DELETE, .filter = b};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(&other, &o, NULL, 0, rc->a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.deleted_files, 6);
}

Test(maint, compact_conflicting_with_a_concurrent_delete_fails_cleanly, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    json_t *ups = json_pack("[{s:s, s:{s:s, s:s}}]", "action", "set-properties", "updates", "commit.retry.min-wait-ms",
                            "1", "commit.retry.max-wait-ms", "5");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "trades", NULL, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    for (int k = 0; k < 6; k++) append(&t, k * 100, 100, 2, &a);
    listing before = list_table(&t);
    int32_t nsnap = t.meta.nsnapshots;
    racer rc = {.a = &a};
    ice_compact_opts co = {.min_file_bytes = -1, .max_file_bytes = -1, .progress = race_delete, .progress_arg = &rc};
    ice_compact_result r;
    cr_assert_not(ice_compact(&t, &co, &a, &r, &err));
    cr_assert(rc.done);
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_assert(strstr(err.msg, "rerun"), "%s", err.msg);
    /* the files it wrote are gone: the data files are the ones from before */
    listing after = list_table(&t);
    size_t data_before = count_with(&before, ".parquet"), data_after = count_with(&after, ".parquet");
    cr_assert_eq(data_after, data_before, "%zu data files, %zu before", data_after, data_before);
    for (size_t i = 0; i < after.n; i++)
        if (strstr(after.v[i], ".parquet")) cr_assert(listed(&before, after.v[i]), "left behind: %s", after.v[i]);
    /* the delete stands, the compaction left no snapshot */
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    cr_assert_eq(t.meta.nsnapshots, nsnap + 1);
    cr_assert_str_eq(current(&t)->operation, "delete");
    size_t n;
    int64_t *ids = read_ids(&t, -1, NULL, &n);
    cr_assert_eq(n, 300);
    for (size_t i = 0; i < n; i++) cr_assert_eq(ids[i] % 2, 1, "only day 1's odd ids are left");
    free(ids);
    /* and compaction on the new state works */
    co.progress = NULL;
    cr_assert(ice_compact(&t, &co, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_data_files_count, 6);
    cr_assert_eq(r.added_data_files_count, 1);
    listing_free(&before);
    listing_free(&after);
    arena_free(&a);
}

/* ===================================================== rewrite manifests */

Test(maint, rewrite_manifests_keeps_every_file_and_row, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    for (int k = 0; k < 12; k++) append(&t, k * 50, 50, 3, &a);
    ice_manifest_file *mfs;
    size_t nm;
    cr_assert(ice_read_manifest_list(&t, current(&t), &a, &mfs, &nm, &err), "%s", err.msg);
    cr_assert_eq(nm, 12);
    ice_manifest_entry *before;
    size_t nb;
    cr_assert(ice_snapshot_files(&t, current(&t), &a, &before, &nb, &err), "%s", err.msg);
    cr_assert_eq(nb, 36);
    int64_t old = t.meta.current_snapshot_id;

    ice_rewrite_manifests_opts o = {0};
    ice_rewrite_manifests_result r;
    cr_assert(ice_rewrite_manifests(&t, &o, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_manifests_count, 12);
    cr_assert_eq(r.added_manifests_count, 1);
    cr_assert_eq(r.snapshot_id, t.meta.current_snapshot_id);
    const ice_snapshot *s = current(&t);
    cr_assert_str_eq(s->operation, "replace");
    cr_assert_eq(s->parent_id, old);
    cr_assert(ice_read_manifest_list(&t, s, &a, &mfs, &nm, &err), "%s", err.msg);
    cr_assert_eq(nm, 1);
    cr_assert_eq(mfs[0].existing_files_count, 36);
    cr_assert_eq(mfs[0].added_files_count, 0);
    /* the same files, each with its snapshot id and sequence numbers */
    ice_manifest_entry *es;
    size_t ne;
    cr_assert(ice_read_manifest(&t, &mfs[0], &a, &es, &ne, &err), "%s", err.msg);
    cr_assert_eq(ne, 36);
    for (size_t i = 0; i < ne; i++) {
        cr_assert_eq(es[i].status, ICE_STATUS_EXISTING);
        bool found = false;
        for (size_t k = 0; k < nb && !found; k++) {
            if (strcmp(before[k].file.file_path, es[i].file.file_path)) continue;
            found = true;
            cr_assert_eq(es[i].snapshot_id, before[k].snapshot_id);
            cr_assert_eq(es[i].sequence_number, before[k].sequence_number);
            cr_assert_eq(es[i].file_sequence_number, before[k].file_sequence_number);
            cr_assert_eq(es[i].file.record_count, before[k].file.record_count);
            cr_assert(!es[i].file.partition[0].is_null);
            cr_assert_eq(es[i].file.partition[0].v.i64, before[k].file.partition[0].v.i64);
        }
        cr_assert(found, "%s is new", es[i].file.file_path);
        if (i) cr_assert_geq(es[i].file.partition[0].v.i64, es[i - 1].file.partition[0].v.i64, "ordered by partition");
    }
    assert_ids_0_to(&t, -1, 600);
    assert_ids_0_to(&t, old, 600);
    /* one manifest already: nothing to do */
    cr_assert(ice_rewrite_manifests(&t, &o, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.snapshot_id, -1);
    /* a small target splits it: ceil(size / target) manifests */
    o.target_manifest_bytes = mfs[0].manifest_length / 3 + 1;
    cr_assert(ice_rewrite_manifests(&t, &o, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_manifests_count, 1);
    cr_assert_eq(r.added_manifests_count, 3);
    assert_ids_0_to(&t, -1, 600);
    /* and an append after it still works */
    append(&t, 600, 10, 3, &a);
    assert_ids_0_to(&t, -1, 610);
    arena_free(&a);
}

/* ========================================================= orphan files */

static bool contains(const ice_orphan_result *r, const char *p) {
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->orphans[i], p)) return true;
    return false;
}

Test(maint, remove_orphans_finds_only_unreachable_files, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t, nb;
    create_table(&a, "trades", "day(ts)", &t);
    create_table(&a, "trades2", NULL, &nb); /* a neighbour whose location shares the prefix */
    append(&nb, 0, 10, 1, &a);
    for (int k = 0; k < 3; k++) append(&t, k * 100, 100, 2, &a);
    ice_manifest_entry *e0;
    size_t n0;
    cr_assert(ice_snapshot_files(&t, current(&t), &a, &e0, &n0, &err), "%s", err.msg);
    /* a delete makes files unreachable from main but not from history */
    ice_expr *e, *b;
    cr_assert(ice_expr_parse("ts < '1970-01-02'", &a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &a, &b, &err), "%s", err.msg);
    ice_commit_opts co = {.kind = ICE_OP_DELETE, .filter = b};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &co, NULL, 0, &a, &cr, &err), "%s", err.msg);
    /* plant orphans: a data file from a failed job, a stray manifest, and a
     * hidden file that must be left alone */
    char *orphan = arena_sprintf(&a, "%s/data/ts_day=1970-01-01/00000-lost.parquet", t.meta.location);
    char *orphan2 = arena_sprintf(&a, "%s/metadata/lost-m0.avro", t.meta.location);
    char *hidden = arena_sprintf(&a, "%s/data/_temporary/x.parquet", t.meta.location);
    cr_assert(fileio_write_all(E.io, orphan, "x", 1, true, &err), "%s", err.msg);
    cr_assert(fileio_write_all(E.io, orphan2, "y", 1, true, &err), "%s", err.msg);
    cr_assert(fileio_write_all(E.io, hidden, "z", 1, true, &err), "%s", err.msg);
    listing before = list_table(&t);

    /* they are new: the default (3 days) and a past cut find nothing */
    ice_orphan_opts oo = {.older_than_ms = -1, .dry_run = true};
    ice_orphan_result r;
    cr_assert(ice_remove_orphans(&t, &oo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.n, 0);
    oo.older_than_ms = time_now_ms() - 60000;
    cr_assert(ice_remove_orphans(&t, &oo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.n, 0);
    /* a cut in the future: exactly the two planted files, dry run deletes none */
    oo.older_than_ms = time_now_ms() + 60000;
    cr_assert(ice_remove_orphans(&t, &oo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.n, 2, "%zu orphans, first %s", r.n, r.n ? r.orphans[0] : "");
    cr_assert(contains(&r, orphan) && contains(&r, orphan2));
    cr_assert_eq(r.listed, (int64_t)before.n);
    listing same = list_table(&t);
    cr_assert_eq(same.n, before.n);
    /* for real */
    oo.dry_run = false;
    cr_assert(ice_remove_orphans(&t, &oo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.n, 2);
    listing after = list_table(&t);
    cr_assert_eq(after.n, before.n - 2);
    cr_assert(!listed(&after, orphan) && !listed(&after, orphan2) && listed(&after, hidden));
    /* every snapshot still reads, including the deleted files of history */
    for (size_t k = 0; k < n0; k++) cr_assert(listed(&after, e0[k].file.file_path), "%s", e0[k].file.file_path);
    for (int32_t i = 0; i < t.meta.nsnapshots; i++) {
        size_t n;
        free(read_ids(&t, t.meta.snapshots[i].snapshot_id, NULL, &n));
        cr_assert_gt(n, 0);
    }
    /* the neighbour is untouched */
    size_t n;
    free(read_ids(&nb, -1, NULL, &n));
    cr_assert_eq(n, 10);
    /* after an expire, the files it could not delete... none: nothing new */
    cr_assert(ice_remove_orphans(&t, &oo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.n, 0);
    listing_free(&before);
    listing_free(&same);
    listing_free(&after);
    arena_free(&a);
}

/* The table on another catalog branch, still at an old snapshot: expire
 * and remove-orphans on main keep every file it reads. */
Test(maint, other_catalog_versions_keep_their_files, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    create_table(&a, "trades", "day(ts)", &t);
    append(&t, 0, 200, 2, &a);
    ice_table old = t; /* what the other branch sees */
    /* main deletes everything, appends anew: s1's files are unreachable there */
    ice_expr *e, *b;
    cr_assert(ice_expr_parse("true", &a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &a, &b, &err), "%s", err.msg);
    ice_commit_opts co = {.kind = ICE_OP_DELETE, .filter = b};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &co, NULL, 0, &a, &cr, &err), "%s", err.msg);
    sleep_ms(3);
    append(&t, 1000, 10, 1, &a);
    ice_maint_keep keep = {.metas = &old.meta, .metadata_files = &old.metadata_location, .n = 1};
    ice_expire_opts eo = {.older_than_ms = time_now_ms() + 1, .retain_last = 1, .keep = keep};
    ice_expire_result r;
    cr_assert(ice_expire_snapshots(&t, &eo, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.nexpired, 2);
    cr_assert_eq(r.deleted_data_files_count, 0, "the other branch still reads s1's files");
    cr_assert_eq(r.deleted_manifest_files_count, 0, "s1's manifest is the other branch's, the delete's is main's");
    cr_assert_eq(r.deleted_manifest_lists_count, 1, "the delete's list; s1's is the other branch's");
    assert_ids_0_to(&old, -1, 200);
    /* without the other version, s1's manifest and list are orphans (its
     * data files are still named, as deleted, in main's manifests) */
    ice_orphan_opts oo = {.older_than_ms = time_now_ms() + 60000, .dry_run = true, .keep = keep};
    ice_orphan_result orr;
    cr_assert(ice_remove_orphans(&t, &oo, &a, &orr, &err), "%s", err.msg);
    cr_assert_eq(orr.n, 0, "%zu orphans, first %s", orr.n, orr.n ? orr.orphans[0] : "");
    oo.keep = (ice_maint_keep){0};
    cr_assert(ice_remove_orphans(&t, &oo, &a, &orr, &err), "%s", err.msg);
    cr_assert_eq(orr.n, 2, "s1's manifest and list: %zu", orr.n);
    cr_assert(contains(&orr, old.meta.snapshots[0].manifest_list));
    arena_free(&a);
}
