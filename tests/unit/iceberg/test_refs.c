/*
 * test_refs.c: table branches and tags on the embedded store: create and
 * drop with every refusal, writes to a branch that leave main alone and
 * scans by ref that see them, fast-forward (and divergence), rollback then
 * append, set-current, cherry-pick of appends, fast-forwards and dynamic
 * overwrites (and what it refuses), lost races on stale handles, and the
 * history and partitions listings.
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
static arena_t A;

#define DAY_US 86400000000ll

static void setup(void) {
    cat_test_env_open(&E, "refs");
    arena_init(&A, 1 << 16);
}

static void teardown(void) {
    arena_free(&A);
    cat_test_env_close(&E);
}

/* market.trades partitioned by day(ts). */
static void create_trades(ice_table *t) {
    floe_err err;
    fmt_schema_t s;
    cr_assert(fmt_schema_parse("id long not null, ts timestamptz, symbol string, price double", &A, &s, &err), "%s",
              err.msg);
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, "day(ts)", NULL, 0, &A, &m, &err), "%s", err.msg);
    cr_assert(cat_namespace_create(E.cat, NULL, "market", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "market", "trades", &m, &A, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &A, t, &err), "%s", err.msg);
}

static void reload(ice_table *t) {
    floe_err err;
    cr_assert(ice_table_load(&E.ice, "market", "trades", &A, t, &err), "%s", err.msg);
}

/* rows [from, from+n): id i, ts on day (i % days) */
static ice_data_file *write_files(ice_table *t, int64_t from, int64_t n, int days, size_t *nf) {
    static const char *syms[] = {"BTC", "ETH", "SOL"};
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, &A, &err);
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
    cr_assert(ice_writer_close(w, &files, nf, &err), "%s", err.msg);
    ice_writer_free(w);
    return files;
}

/* Commits rows to branch (NULL: main); returns the new snapshot id. */
static int64_t write_rows(ice_table *t, ice_op_kind kind, const char *branch, int64_t from, int64_t n, int days) {
    size_t nf;
    ice_data_file *files = write_files(t, from, n, days, &nf);
    ice_commit_opts o = {.kind = kind, .branch = branch};
    ice_commit_result res;
    floe_err err = {0};
    cr_assert(ice_table_commit_files(t, &o, files, nf, &A, &res, &err), "%s", err.msg);
    return res.snapshot_id;
}

static int64_t append(ice_table *t, const char *branch, int64_t from, int64_t n) {
    return write_rows(t, ICE_OP_APPEND, branch, from, n, 3);
}

/* Rows of a ref (NULL: main), and the sum of their ids. */
static int64_t scan_rows(ice_table *t, const char *ref, int64_t *idsum) {
    floe_err err = {0};
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1, .ref = ref};
    ice_scan *s = ice_scan_new(t, &o, &err);
    cr_assert(s, "%s", err.msg);
    fmt_batch_t *b;
    int64_t n = 0, sum = 0;
    while (ice_scan_next(s, &b, &err)) {
        n += b->nrows;
        for (uint32_t i = 0; i < b->nrows; i++) {
            ice_value v;
            ice_value_from_vec(&b->cols[0], i, &v);
            sum += v.v.i64;
        }
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    ice_scan_free(s);
    if (idsum) *idsum = sum;
    return n;
}

static int64_t ref_id(const ice_table *t, const char *name) {
    const ice_ref *r = ice_meta_ref(&t->meta, name);
    return r ? r->snapshot_id : -1;
}

static const char *summary(const ice_table *t, int64_t snap, const char *key) {
    const ice_snapshot *s = ice_meta_snapshot(&t->meta, snap);
    cr_assert(s, "no snapshot %lld", (long long)snap);
    for (int32_t i = 0; i < s->nsummary; i++)
        if (!strcmp(s->summary[i].key, key)) return s->summary[i].value;
    return NULL;
}

#define REFUSED(call, want, needle)                                                                                    \
    do {                                                                                                               \
        floe_err e_ = {0};                                                                                             \
        floe_err *err = &e_;                                                                                           \
        cr_assert_not(call, "%s succeeded", #call);                                                                    \
        cr_assert_eq(e_.code, want, "%s: code %d, expected %d: %s", #call, e_.code, want, e_.msg);                     \
        cr_assert(strstr(e_.msg, needle), "%s: '%s' lacks '%s'", #call, e_.msg, needle);                               \
    } while (0)

Test(refs, create_and_drop_with_refusals, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    REFUSED(ice_ref_create(&t, "audit", false, -1, &A, err), FLOE_EINVAL, "no snapshot yet");
    int64_t s1 = append(&t, NULL, 0, 30);
    int64_t s2 = append(&t, NULL, 30, 30);
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    cr_assert_eq(ref_id(&t, "audit"), s2);
    cr_assert_not(ice_meta_ref(&t.meta, "audit")->is_tag);
    cr_assert(ice_ref_create(&t, "v1", true, s1, &A, &e), "%s", e.msg);
    cr_assert_eq(ref_id(&t, "v1"), s1);
    cr_assert(ice_meta_ref(&t.meta, "v1")->is_tag);
    REFUSED(ice_ref_create(&t, "audit", false, s1, &A, err), FLOE_EEXIST, "already has a branch named audit");
    REFUSED(ice_ref_create(&t, "v1", false, -1, &A, err), FLOE_EEXIST, "already has a tag named v1");
    REFUSED(ice_ref_create(&t, "main", true, s1, &A, err), FLOE_EINVAL, "cannot be named main");
    REFUSED(ice_ref_create(&t, "main", false, s1, &A, err), FLOE_EEXIST, "main");
    REFUSED(ice_ref_create(&t, "x", true, 12345, &A, err), FLOE_ENOENT, "no snapshot 12345");
    REFUSED(ice_ref_create(&t, "", true, s1, &A, err), FLOE_EINVAL, "needs a name");
    REFUSED(ice_ref_drop(&t, "main", false, &A, err), FLOE_EINVAL, "main cannot be dropped");
    REFUSED(ice_ref_drop(&t, "v1", false, &A, err), FLOE_EINVAL, "is a tag, not a branch");
    REFUSED(ice_ref_drop(&t, "audit", true, &A, err), FLOE_EINVAL, "is a branch, not a tag");
    REFUSED(ice_ref_drop(&t, "nope", false, &A, err), FLOE_ENOENT, "no branch named nope");
    cr_assert(ice_ref_drop(&t, "v1", true, &A, &e), "%s", e.msg);
    cr_assert(ice_ref_drop(&t, "audit", false, &A, &e), "%s", e.msg);
    cr_assert_null(ice_meta_ref(&t.meta, "v1"));
    cr_assert_null(ice_meta_ref(&t.meta, "audit"));
    /* what was committed is what a fresh load sees; main never moved */
    reload(&t);
    cr_assert_eq(t.meta.nrefs, 1);
    cr_assert_eq(ref_id(&t, "main"), s2);
    cr_assert_eq(t.meta.current_snapshot_id, s2);
    cr_assert_eq(t.meta.nsnapshots, 2);
}

Test(refs, branch_writes_leave_main_alone, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 90);
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    int64_t a1 = append(&t, "audit", 90, 30);
    int64_t a2 = append(&t, "audit", 120, 30);
    cr_assert_eq(ref_id(&t, "audit"), a2);
    cr_assert_eq(ice_meta_snapshot(&t.meta, a1)->parent_id, s1, "the branch's first write builds on its head");
    cr_assert_eq(ice_meta_snapshot(&t.meta, a2)->parent_id, a1);
    cr_assert_eq(t.meta.current_snapshot_id, s1, "main did not move");
    cr_assert_eq(ref_id(&t, "main"), s1);
    cr_assert_eq(t.meta.nsnapshot_log, 1, "branch commits are not in main's history");
    int64_t sum;
    cr_assert_eq(scan_rows(&t, NULL, &sum), 90);
    cr_assert_eq(sum, 89 * 90 / 2);
    cr_assert_eq(scan_rows(&t, "audit", &sum), 150);
    cr_assert_eq(sum, 149 * 150 / 2);

    /* a tag reads as of its snapshot, and cannot be written */
    cr_assert(ice_ref_create(&t, "before", true, s1, &A, &e), "%s", e.msg);
    cr_assert_eq(scan_rows(&t, "before", NULL), 90);
    size_t nf;
    ice_data_file *files = write_files(&t, 500, 10, 3, &nf);
    ice_commit_opts o = {.kind = ICE_OP_APPEND, .branch = "before"};
    ice_commit_result res;
    REFUSED(ice_table_commit_files(&t, &o, files, nf, &A, &res, err), FLOE_EINVAL, "is a tag");
    o.branch = "nope";
    REFUSED(ice_table_commit_files(&t, &o, files, nf, &A, &res, err), FLOE_ENOENT,
            "floe table branch market.trades create nope");
    reload(&t);
    cr_assert_eq(t.meta.nsnapshots, 3, "no snapshot from a refused write");
    cr_assert_null(ice_meta_ref(&t.meta, "nope"), "a write does not create a branch");

    /* a delete on the branch stays on the branch */
    ice_expr *pe, *filter;
    cr_assert(ice_expr_parse("id < 100", &A, &pe, &e), "%s", e.msg);
    cr_assert(ice_expr_bind(pe, ice_meta_current_schema(&t.meta), true, &A, &filter, &e), "%s", e.msg);
    ice_commit_opts d = {.kind = ICE_OP_DELETE, .filter = filter, .branch = "audit"};
    cr_assert(ice_table_commit_files(&t, &d, NULL, 0, &A, &res, &e), "%s", e.msg);
    cr_assert_eq(scan_rows(&t, "audit", NULL), 50);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 90);
}

Test(refs, moves_keep_retention, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 10);
    json_t *reqs = json_array(), *ups = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(ups, json_pack("{s:s, s:s, s:s, s:I, s:I, s:i}", "action", "set-snapshot-ref", "ref-name",
                                             i ? "ret" : "audit", "type", "branch", "snapshot-id", (json_int_t)s1,
                                             "max-snapshot-age-ms", (json_int_t)3600000, "min-snapshots-to-keep", 3));
    cr_assert(E.ice.commit(E.ice.ctx, "market", "trades", reqs, ups, &A, NULL, NULL, &e), "%s", e.msg);
    json_decref(reqs);
    json_decref(ups);
    reload(&t);
    int64_t a1 = append(&t, "audit", 10, 10);
    const ice_ref *r = ice_meta_ref(&t.meta, "audit");
    cr_assert_eq(r->snapshot_id, a1);
    cr_assert_eq(r->min_snapshots_to_keep, 3, "a write to a branch keeps its retention");
    cr_assert_eq(r->max_snapshot_age_ms, 3600000);
    cr_assert(ice_branch_fast_forward(&t, "ret", "audit", &A, NULL, &e), "%s", e.msg);
    r = ice_meta_ref(&t.meta, "ret");
    cr_assert_eq(r->snapshot_id, a1);
    cr_assert_eq(r->min_snapshots_to_keep, 3, "a fast-forward keeps the branch's retention");
    cr_assert_eq(r->max_snapshot_age_ms, 3600000);
}

Test(refs, fast_forward_after_branch_writes, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 60);
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    append(&t, "audit", 60, 30);
    int64_t a2 = append(&t, "audit", 90, 30);
    int64_t from = 0;
    cr_assert(ice_branch_fast_forward(&t, "main", "audit", &A, &from, &e), "%s", e.msg);
    cr_assert_eq(from, s1);
    cr_assert_eq(t.meta.current_snapshot_id, a2);
    cr_assert_eq(ref_id(&t, "main"), a2);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 120);
    cr_assert_eq(t.meta.nsnapshot_log, 2);
    cr_assert_eq(t.meta.snapshot_log[1].snapshot_id, a2);
    /* equal heads: nothing to do, nothing committed */
    const char *loc = t.metadata_location;
    cr_assert(ice_branch_fast_forward(&t, "audit", "main", &A, &from, &e), "%s", e.msg);
    cr_assert_str_eq(t.metadata_location, loc);
    /* to a tag */
    cr_assert(ice_ref_create(&t, "old", false, s1, &A, &e), "%s", e.msg);
    cr_assert(ice_ref_create(&t, "v2", true, a2, &A, &e), "%s", e.msg);
    cr_assert(ice_branch_fast_forward(&t, "old", "v2", &A, NULL, &e), "%s", e.msg);
    cr_assert_eq(ref_id(&t, "old"), a2);
    /* diverged: both moved on */
    append(&t, NULL, 120, 10);
    append(&t, "audit", 130, 10);
    REFUSED(ice_branch_fast_forward(&t, "main", "audit", &A, NULL, err), FLOE_ECONFLICT, "diverged");
    REFUSED(ice_branch_fast_forward(&t, "v2", "audit", &A, NULL, err), FLOE_EINVAL, "is a tag");
    REFUSED(ice_branch_fast_forward(&t, "nope", "audit", &A, NULL, err), FLOE_ENOENT, "no branch nope");
    REFUSED(ice_branch_fast_forward(&t, "main", "nope", &A, NULL, err), FLOE_ENOENT, "no branch or tag nope");
    /* a branch behind main catches up */
    cr_assert(ice_ref_create(&t, "late", false, s1, &A, &e), "%s", e.msg);
    cr_assert(ice_branch_fast_forward(&t, "late", "main", &A, NULL, &e), "%s", e.msg);
    cr_assert_eq(scan_rows(&t, "late", NULL), 130);
}

Test(refs, rollback_set_current_then_append, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 10);
    int64_t s2 = append(&t, NULL, 10, 20);
    int64_t s3 = append(&t, NULL, 30, 40);
    REFUSED(ice_table_rollback(&t, 999, &A, err), FLOE_ENOENT, "no snapshot 999");
    cr_assert(ice_table_rollback(&t, s1, &A, &e), "%s", e.msg);
    cr_assert_eq(t.meta.current_snapshot_id, s1);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 10);
    /* s3 is no longer an ancestor: rollback refuses, set-current does it */
    REFUSED(ice_table_rollback(&t, s3, &A, err), FLOE_EINVAL, "set-current");
    cr_assert(ice_table_set_current(&t, s3, &A, &e), "%s", e.msg);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 70);
    REFUSED(ice_table_set_current(&t, 4242, &A, err), FLOE_ENOENT, "no snapshot 4242");
    cr_assert(ice_table_rollback(&t, s2, &A, &e), "%s", e.msg);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 30);
    int64_t s4 = append(&t, NULL, 100, 5);
    cr_assert_eq(ice_meta_snapshot(&t.meta, s4)->parent_id, s2, "the append builds on the rolled-back head");
    cr_assert_eq(scan_rows(&t, NULL, NULL), 35);

    /* history: s1 s2 s3 s1 s3 s2 s4, ancestors of s4 are s1 s2 s4 */
    ice_history_entry *h;
    size_t n = ice_table_history(&t.meta, &A, &h);
    cr_assert_eq(n, 7);
    int64_t want[] = {s1, s2, s3, s1, s3, s2, s4};
    bool anc[] = {true, true, false, true, false, true, true};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(h[i].snapshot_id, want[i], "entry %zu", i);
        cr_assert_eq(h[i].is_current_ancestor, anc[i], "entry %zu", i);
        if (i) cr_assert_geq(h[i].made_current_at_ms, h[i - 1].made_current_at_ms);
    }
    cr_assert_eq(h[0].parent_id, -1);
    cr_assert_eq(h[2].parent_id, s2);
    cr_assert_eq(h[6].parent_id, s2);
}

Test(refs, stale_handles_conflict_or_retry, .init = setup, .fini = teardown) {
    ice_table t, stale;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 10);
    append(&t, NULL, 10, 10);
    reload(&stale); /* sees main at s2 */
    int64_t s3 = append(&t, NULL, 20, 10);
    /* discarding commits the caller never saw is a conflict, not a retry */
    REFUSED(ice_table_rollback(&stale, s1, &A, err), FLOE_ECONFLICT, "changed while rolling back main");
    REFUSED(ice_table_set_current(&stale, s1, &A, err), FLOE_ECONFLICT, "changed while setting main");
    reload(&t);
    cr_assert_eq(t.meta.current_snapshot_id, s3, "the refused rollback left main alone");
    cr_assert(ice_ref_create(&t, "dev", false, -1, &A, &e), "%s", e.msg);
    int64_t d1 = append(&t, "dev", 100, 5);
    reload(&stale); /* sees dev at d1 */
    append(&t, "dev", 105, 5);
    REFUSED(ice_ref_drop(&stale, "dev", false, &A, err), FLOE_ECONFLICT, "changed while dropping dev");
    cr_assert_neq(ref_id(&t, "dev"), d1);
    /* a create that lost the race reloads, then finds the name taken */
    cr_assert(ice_ref_create(&t, "x", false, -1, &A, &e), "%s", e.msg);
    REFUSED(ice_ref_create(&stale, "x", false, -1, &A, err), FLOE_EEXIST, "already has a branch named x");
    /* a fast-forward that lost the race reloads and catches up with the new head */
    reload(&stale);
    int64_t d3 = append(&t, "dev", 110, 5);
    cr_assert(ice_branch_fast_forward(&stale, "main", "dev", &A, NULL, &e), "%s", e.msg);
    cr_assert_eq(ref_id(&stale, "main"), d3);
    reload(&t);
    cr_assert_eq(t.meta.current_snapshot_id, d3);
    cr_assert_eq(scan_rows(&t, NULL, NULL), 45);
}

Test(refs, cherry_pick_append_and_refusals, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    int64_t s1 = append(&t, NULL, 0, 30);
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    int64_t a1 = append(&t, "audit", 1000, 7);
    int64_t s2 = append(&t, NULL, 30, 30);
    ice_cherry_pick_result res;
    REFUSED(ice_table_cherry_pick(&t, 777, &A, &res, err), FLOE_ENOENT, "no snapshot 777");
    REFUSED(ice_table_cherry_pick(&t, s1, &A, &res, err), FLOE_EINVAL, "already in main's history");
    cr_assert(ice_table_cherry_pick(&t, a1, &A, &res, &e), "%s", e.msg);
    cr_assert_not(res.fast_forward);
    cr_assert_neq(res.snapshot_id, a1);
    cr_assert_eq(t.meta.current_snapshot_id, res.snapshot_id);
    const ice_snapshot *p = ice_meta_snapshot(&t.meta, res.snapshot_id);
    cr_assert_eq(p->parent_id, s2);
    cr_assert_str_eq(p->operation, "append");
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)a1);
    cr_assert_str_eq(summary(&t, res.snapshot_id, "source-snapshot-id"), want);
    cr_assert_str_eq(summary(&t, res.snapshot_id, "total-records"), "67");
    int64_t sum;
    cr_assert_eq(scan_rows(&t, NULL, &sum), 67);
    cr_assert_eq(sum, 59 * 60 / 2 + 1000 * 7 + 21);
    cr_assert_eq(ref_id(&t, "audit"), a1, "the source branch does not move");
    REFUSED(ice_table_cherry_pick(&t, a1, &A, &res, err), FLOE_EINVAL, "already cherry-picked");
    int64_t after = t.meta.nsnapshots;
    reload(&t);
    cr_assert_eq(t.meta.nsnapshots, after);

    /* deletes are refused unless they fast-forward */
    ice_expr *pe, *filter;
    cr_assert(ice_expr_parse("id = 1000", &A, &pe, &e), "%s", e.msg);
    cr_assert(ice_expr_bind(pe, ice_meta_current_schema(&t.meta), true, &A, &filter, &e), "%s", e.msg);
    ice_commit_opts d = {.kind = ICE_OP_DELETE, .filter = filter, .branch = "audit"};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &d, NULL, 0, &A, &cr, &e), "%s", e.msg);
    REFUSED(ice_table_cherry_pick(&t, cr.snapshot_id, &A, &res, err), FLOE_EINVAL, "cherry-pick takes appends");
}

Test(refs, cherry_pick_fast_forwards, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    append(&t, NULL, 0, 30);
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    int64_t a1 = append(&t, "audit", 30, 10);
    int64_t n = t.meta.nsnapshots;
    ice_cherry_pick_result res;
    cr_assert(ice_table_cherry_pick(&t, a1, &A, &res, &e), "%s", e.msg);
    cr_assert(res.fast_forward);
    cr_assert_eq(t.meta.current_snapshot_id, a1);
    cr_assert_eq(t.meta.nsnapshots, n, "a fast-forward adds no snapshot");
    cr_assert_eq(scan_rows(&t, NULL, NULL), 40);
    REFUSED(ice_table_cherry_pick(&t, a1, &A, &res, err), FLOE_EINVAL, "already in main's history");
}

Test(refs, cherry_pick_dynamic_overwrite, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    append(&t, NULL, 0, 30); /* 10 rows on each of days 0, 1, 2 */
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    cr_assert(ice_ref_create(&t, "fix", false, -1, &A, &e), "%s", e.msg);
    /* on audit, day 0 rewritten with 5 rows (ids 300, 303, ..., all on day 0) */
    size_t nf;
    ice_data_file *files = write_files(&t, 300, 15, 3, &nf);
    size_t k = 0;
    for (size_t i = 0; i < nf; i++)
        if (files[i].partition[0].v.i64 == 0) files[k++] = files[i];
    cr_assert_eq(k, 1);
    ice_commit_opts o = {.kind = ICE_OP_OVERWRITE_DYNAMIC, .branch = "audit"};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &o, files, 1, &A, &cr, &e), "%s", e.msg);
    int64_t ow = cr.snapshot_id;
    cr_assert_str_eq(summary(&t, ow, "replace-partitions"), "true");
    cr_assert_eq(scan_rows(&t, "audit", NULL), 25);
    /* main moves on elsewhere: day 1 only (ids 31, 34, ...) */
    ice_data_file *more = write_files(&t, 31, 1, 3, &nf);
    ice_commit_opts ap = {.kind = ICE_OP_APPEND};
    cr_assert(ice_table_commit_files(&t, &ap, more, nf, &A, &cr, &e), "%s", e.msg);
    ice_cherry_pick_result res;
    cr_assert(ice_table_cherry_pick(&t, ow, &A, &res, &e), "%s", e.msg);
    cr_assert_not(res.fast_forward);
    cr_assert_eq(res.added_files, 1);
    cr_assert_eq(res.deleted_files, 1);
    cr_assert_str_eq(ice_meta_snapshot(&t.meta, res.snapshot_id)->operation, "overwrite");
    int64_t sum;
    cr_assert_eq(scan_rows(&t, NULL, &sum), 26);
    /* day 0 had ids 0, 3, ..., 27 (sum 135); now 300, 303, ..., 312 (sum 1530) */
    cr_assert_eq(sum, 435 - 135 + 1530 + 31);

    /* an overwrite of day 1 on fix conflicts with main's new day-1 file */
    files = write_files(&t, 400, 3, 3, &nf);
    k = 0;
    for (size_t i = 0; i < nf; i++)
        if (files[i].partition[0].v.i64 == 1) files[k++] = files[i];
    o.branch = "fix";
    cr_assert(ice_table_commit_files(&t, &o, files, k, &A, &cr, &e), "%s", e.msg);
    REFUSED(ice_table_cherry_pick(&t, cr.snapshot_id, &A, &res, err), FLOE_ECONFLICT, "to a partition it replaces");
}

Test(refs, partitions_listing, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    ice_partition_stats *ps;
    size_t n;
    cr_assert(ice_table_partitions(&t, NULL, &A, &ps, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 0);
    int64_t s1 = append(&t, NULL, 0, 300); /* 100 rows per day, days 0..2 */
    cr_assert(ice_ref_create(&t, "audit", false, -1, &A, &e), "%s", e.msg);
    int64_t s2 = write_rows(&t, ICE_OP_APPEND, NULL, 300, 40, 2); /* 20 more on days 0 and 1 */
    append(&t, "audit", 1000, 3);                                 /* one on each day, on audit */
    const ice_snapshot *cur = ice_table_snapshot_at(&t, -1, NULL, &e);
    cr_assert(cur && cur->snapshot_id == s2);
    cr_assert(ice_table_partitions(&t, cur, &A, &ps, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 3);
    int64_t rec[] = {120, 120, 100}, files[] = {2, 2, 1}, snap[] = {s2, s2, s1};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ps[i].spec_id, 0);
        cr_assert_eq(ps[i].npartition, 1);
        cr_assert_eq(ps[i].partition[0].v.i64, (int64_t)i, "ordered by day");
        cr_assert_eq(ps[i].record_count, rec[i], "day %zu", i);
        cr_assert_eq(ps[i].file_count, files[i], "day %zu", i);
        cr_assert_gt(ps[i].total_data_file_size_in_bytes, 100 * files[i]);
        cr_assert_eq(ps[i].last_updated_snapshot_id, snap[i], "day %zu", i);
        cr_assert_eq(ps[i].last_updated_at_ms, ice_meta_snapshot(&t.meta, snap[i])->timestamp_ms);
    }
    /* by ref and by snapshot */
    const ice_snapshot *au = ice_table_snapshot_at(&t, -1, "audit", &e);
    cr_assert(au, "%s", e.msg);
    cr_assert(ice_table_partitions(&t, au, &A, &ps, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 3);
    cr_assert_eq(ps[2].record_count, 101);
    cr_assert_eq(ps[2].file_count, 2);
    cr_assert(ice_table_partitions(&t, ice_table_snapshot_at(&t, s1, NULL, &e), &A, &ps, &n, &e), "%s", e.msg);
    cr_assert_eq(ps[0].record_count, 100);
    cr_assert_null(ice_table_snapshot_at(&t, 5, NULL, &e));
    cr_assert_eq(e.code, FLOE_ENOENT);
    cr_assert_null(ice_table_snapshot_at(&t, -1, "nope", &e));
    cr_assert_eq(e.code, FLOE_ENOENT);
}

Test(refs, partitions_of_every_spec, .init = setup, .fini = teardown) {
    ice_table t;
    create_trades(&t);
    floe_err e = {0};
    append(&t, NULL, 0, 30); /* spec 0: day(ts), 10 rows per day */
    json_t *reqs = json_array(), *ups = json_array();
    json_array_append_new(ups, json_pack("{s:s, s:{s:i, s:[{s:i, s:i, s:s, s:s}]}}", "action", "add-spec", "spec",
                                         "spec-id", 1, "fields", "source-id", 3, "field-id", 1001, "name", "symbol",
                                         "transform", "identity"));
    json_array_append_new(ups, json_pack("{s:s, s:i}", "action", "set-default-spec", "spec-id", -1));
    cr_assert(E.ice.commit(E.ice.ctx, "market", "trades", reqs, ups, &A, NULL, NULL, &e), "%s", e.msg);
    json_decref(reqs);
    json_decref(ups);
    reload(&t);
    cr_assert_eq(t.meta.default_spec_id, 1);
    append(&t, NULL, 30, 9); /* spec 1: symbol, 3 rows each of BTC, ETH, SOL */
    ice_partition_stats *ps;
    size_t n;
    cr_assert(ice_table_partitions(&t, ice_table_snapshot_at(&t, -1, NULL, &e), &A, &ps, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 6, "three days of spec 0, three symbols of spec 1");
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ps[i].spec_id, i < 3 ? 0 : 1, "row %zu", i);
        cr_assert_eq(ps[i].record_count, i < 3 ? 10 : 3, "row %zu", i);
        cr_assert_eq(ps[i].file_count, 1);
    }
    cr_assert_eq(ps[3].partition[0].len, 3);
    cr_assert(!memcmp(ps[3].partition[0].bytes, "BTC", 3));
    cr_assert(!memcmp(ps[5].partition[0].bytes, "SOL", 3));
}
