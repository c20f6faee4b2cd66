/*
 * test_versions.c: the catalog's versions (versions.c): refs with expected
 * hashes, refspecs, contents at old commits, the paged log, diff, merges
 * (clean, conflicting, dry run, FORCE, DROP), the merge's cost on a long
 * history (commits and op rows read, counted), transplant, the reflog, and
 * the in-place upgrade of a catalog.db written before versions existed.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "cat_test.h"
#include "catalog/cat_int.h"
#include "catalog/catalog.h"

static char dir[256];
static cat_t *cat;
static arena_t A;

static void open_cat(void) {
    floe_err err;
    cat_opts co = {.dir = dir, .io = NULL, .warehouse = "s3://warehouse", .fsync = false};
    cat = cat_test_open(&co, &err);
    cr_assert(cat, "%s", err.msg);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-versions-XXXXXX");
    cr_assert(mkdtemp(dir));
    arena_init(&A, 1 << 16);
    open_cat();
    floe_err err;
    cr_assert(cat_namespace_create(cat, NULL, "ns", NULL, &err), "%s", err.msg);
}

static void teardown(void) {
    cat_close(cat);
    arena_free(&A);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(versions, .init = setup, .fini = teardown);

/* Puts table ns.NAME at location LOC on ref (no CAS), or deletes it when
 * loc is NULL. Returns the new head. */
static const char *put(const char *ref, const char *name, const char *loc) {
    floe_err err;
    cat_content ct = {.kind = "ICEBERG_TABLE",
                      .content_id = arena_sprintf(&A, "id-%s", name),
                      .location = loc,
                      .json = loc ? arena_sprintf(&A,
                                                  "{\"type\":\"ICEBERG_TABLE\",\"id\":\"id-%s\","
                                                  "\"metadataLocation\":\"%s\"}",
                                                  name, loc)
                                  : NULL};
    cat_op op = {.key = cat_key(&A, "ns", name), .content = loc ? &ct : NULL};
    cr_assert(cat_commit_ops(cat, ref, &op, 1, arena_sprintf(&A, "put %s=%s", name, loc ? loc : "-"), &err), "%s",
              err.msg);
    cat_ref r;
    cr_assert(cat_ref_get(cat, ref, &A, &r, &err), "%s", err.msg);
    return r.hash;
}

static const char *head(const char *ref) {
    floe_err err;
    cat_ref r;
    cr_assert(cat_ref_get(cat, ref, &A, &r, &err), "%s", err.msg);
    return r.hash;
}

/* The location of ns.NAME at spec, or NULL when absent. */
static const char *loc_at(const char *spec, const char *name) {
    floe_err err;
    cat_entry *es;
    size_t n;
    cr_assert(cat_contents(cat, spec, &A, &es, &n, &err), "%s: %s", spec, err.msg);
    const char *key = arena_sprintf(&A, "ns.%s", name);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(es[i].key, key)) return es[i].location;
    return NULL;
}

Test(versions, ref_crud_with_expected_hashes) {
    floe_err err;
    cat_ref r;
    const char *h1 = put("main", "t", "l1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h1);
    cr_assert_not(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EEXIST);
    cr_assert_not(cat_ref_create(cat, "bad..name", false, NULL, &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(cat_ref_create(cat, "9lives", false, NULL, &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(cat_ref_create(cat, "x", false, "nosuchref", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);

    /* dev sees main's contents through heads */
    cr_assert_str_eq(loc_at("dev", "t"), "l1");
    const char *h2 = put("main", "t", "l2");
    cr_assert_str_eq(loc_at("dev", "t"), "l1");

    /* assign with a stale expectation is refused; with the right one it moves and heads follow */
    cr_assert_not(cat_ref_assign(cat, "dev", "main", h2, &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert(strstr(err.msg, "dev"), "%s", err.msg);
    cr_assert(cat_ref_assign(cat, "dev", "main", h1, &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(head("dev"), h2);
    cr_assert_str_eq(loc_at("dev", "t"), "l2");
    bool exists;
    cr_assert(cat_table_exists(cat, "dev", "ns", "t", &exists, &err) && exists);

    /* tags: created, never committed to, assignable */
    cr_assert(cat_ref_create(cat, "v1", true, "main~1", &A, &r, &err), "%s", err.msg);
    cr_assert(r.is_tag);
    cr_assert_str_eq(r.hash, h1);
    cr_assert_str_eq(loc_at("v1", "t"), "l1");
    cat_op op = {.key = cat_key(&A, "ns", "u"), .content = NULL};
    cr_assert_not(cat_commit_ops(cat, "v1", &op, 1, "x", &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "tag"), "%s", err.msg);
    cr_assert(cat_ref_assign(cat, "v1", "main", NULL, &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(loc_at("v1", "t"), "l2");

    /* delete: never main; with an expectation */
    cr_assert_not(cat_ref_delete(cat, "main", NULL, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(cat_ref_delete(cat, "dev", h1, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert(cat_ref_delete(cat, "dev", h2, &err), "%s", err.msg);
    cr_assert_not(cat_ref_get(cat, "dev", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert_not(cat_ref_delete(cat, "dev", NULL, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    /* the deleted ref's heads rows went with it: a new dev starts clean from main */
    cr_assert(cat_ref_create(cat, "dev", false, "main~1", &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(loc_at("dev", "t"), "l1");
}

Test(versions, addressing_forms) {
    floe_err err;
    cat_resolved r;
    const char *h1 = put("main", "t", "l1");
    int64_t t1 = time_now_ms();
    /* a later commit, strictly later in ms */
    while (time_now_ms() == t1) {
    }
    const char *h2 = put("main", "t", "l2");
    const char *h3 = put("main", "u", "m1");
    cr_assert(cat_resolve(cat, "main", &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h3);
    cr_assert(r.is_head);
    cr_assert(cat_resolve(cat, "main~2", &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h1);
    cr_assert_not(r.is_head);
    cr_assert_str_eq(r.ref, "main");
    cr_assert(cat_resolve(cat, arena_sprintf(&A, "main@%.10s", h2), &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h2);
    cr_assert(cat_resolve(cat, arena_sprintf(&A, "main@%s~1", h2), &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h1);
    cr_assert(cat_resolve(cat, arena_sprintf(&A, "main*%lld", (long long)t1), &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h1);
    cr_assert(cat_resolve(cat, "main*2000-01-01T00:00:00Z", &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, CAT_NO_ANCESTOR);
    cr_assert(cat_resolve(cat, h2, &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h2);
    cr_assert_null(r.ref);
    cr_assert(cat_resolve(cat, arena_sprintf(&A, "@%.12s", h1), &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, h1);

    /* refusals name the input */
    cr_assert_not(cat_resolve(cat, "main~99", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert_not(cat_resolve(cat, "main~x", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "main~x"), "%s", err.msg);
    cr_assert_not(cat_resolve(cat, "main*yesterday", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(cat_resolve(cat, "main@zz", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(cat_resolve(cat, "nope", &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    /* a hash off the ref's history */
    cat_ref dev;
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &dev, &err), "%s", err.msg);
    const char *hd = put("dev", "t", "d1");
    cr_assert_not(cat_resolve(cat, arena_sprintf(&A, "main@%s", hd), &A, &r, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert(strstr(err.msg, "history"), "%s", err.msg);
}

Test(versions, contents_at_old_commits) {
    floe_err err;
    put("main", "t", "l1");
    put("main", "u", "m1");
    put("main", "t", "l2");
    const char *h4 = put("main", "u", NULL);
    cr_assert_str_eq(loc_at("main", "t"), "l2");
    cr_assert_null(loc_at("main", "u"));
    cr_assert_str_eq(loc_at("main~1", "u"), "m1");
    cr_assert_str_eq(loc_at("main~2", "t"), "l1");
    cr_assert_null(loc_at("main~3", "u"));
    /* a bare hash no ref points at */
    cr_assert_str_eq(loc_at(arena_sprintf(&A, "%s~1", "main"), "t"), "l2");
    cat_resolved r;
    cr_assert(cat_resolve(cat, "main~2", &A, &r, &err));
    cr_assert_str_eq(loc_at(r.hash, "t"), "l1");
    cr_assert_str_eq(loc_at(r.hash, "u"), "m1");
    /* the table reads go through refspecs too */
    bool exists;
    cr_assert(cat_table_exists(cat, "main~1", "ns", "u", &exists, &err), "%s", err.msg);
    cr_assert(exists);
    cr_assert(cat_table_exists(cat, arena_sprintf(&A, "main@%s", h4), "ns", "u", &exists, &err), "%s", err.msg);
    cr_assert_not(exists);
    /* listings too */
    const char **names;
    size_t nn;
    cr_assert(cat_table_list(cat, "main~1", "ns", &A, &names, &nn, &err), "%s", err.msg);
    cr_assert_eq(nn, 2);
    cr_assert_str_eq(names[0], "t");
    cr_assert_str_eq(names[1], "u");
    cr_assert(cat_table_list(cat, "main", "ns", &A, &names, &nn, &err), "%s", err.msg);
    cr_assert_eq(nn, 1);
    cr_assert(cat_namespace_list(cat, "main~4", NULL, &A, &names, &nn, &err), "%s", err.msg);
    cr_assert_eq(nn, 1);
    cr_assert_str_eq(names[0], "ns");
    /* and writes to a refspec are refused */
    cat_op op = {.key = cat_key(&A, "ns", "t"), .content = NULL};
    cr_assert_not(cat_commit_ops(cat, "main~1", &op, 1, "x", &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "read-only"), "%s", err.msg);
}

Test(versions, log_pagination) {
    floe_err err;
    for (int i = 0; i < 5; i++) put("main", "t", arena_sprintf(&A, "l%d", i));
    cat_commit *cs;
    size_t n, total = 0;
    const char *tok = NULL, *prev_hash = NULL;
    int pages = 0;
    do {
        cr_assert(cat_log_page(cat, "main", tok, 2, &A, &cs, &n, &tok, &err), "%s", err.msg);
        if (prev_hash) cr_assert_str_eq(cs[0].hash, prev_hash);
        if (n) prev_hash = cs[n - 1].parent;
        total += n;
        pages++;
    } while (tok);
    /* 5 puts and the namespace's create */
    cr_assert_eq(total, 6);
    cr_assert_eq(pages, 3);
    cr_assert(cat_log_page(cat, "main~4", NULL, 10, &A, &cs, &n, &tok, &err), "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_null(tok);
    cr_assert_not(cat_log_page(cat, "main", "nonsense", 2, &A, &cs, &n, &tok, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
}

Test(versions, diff_between_refs) {
    floe_err err;
    cat_ref r;
    put("main", "t", "l1");
    put("main", "same", "s1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    put("dev", "t", "d1");
    put("dev", "u", "u1");
    put("main", "v", "v1");
    put("dev", "same", "s2");
    put("dev", "same", "s1"); /* changed and back: no difference */
    cat_diff_entry *d;
    size_t n;
    cr_assert(cat_diff(cat, "main", "dev", &A, &d, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(d[0].key, "ns.t");
    cr_assert_str_eq(d[0].from->location, "l1");
    cr_assert_str_eq(d[0].to->location, "d1");
    cr_assert_str_eq(d[1].key, "ns.u");
    cr_assert_null(d[1].from);
    cr_assert_str_eq(d[2].key, "ns.v");
    cr_assert_null(d[2].to);
    cr_assert(cat_diff(cat, "dev", "dev~3", &A, &d, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 1); /* u */
    cr_assert(cat_diff(cat, "dev~4", "dev", &A, &d, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 2); /* t and u */
    cr_assert(cat_diff(cat, "main", "main", &A, &d, &n, &err));
    cr_assert_eq(n, 0);
}

Test(versions, merge_clean) {
    floe_err err;
    cat_ref r;
    put("main", "t", "l1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    put("dev", "t", "d1");
    const char *dev_head = put("dev", "u", "u1");
    const char *main_head = put("main", "v", "v1");
    cat_merge_opts o = {.from = "dev", .into = "main", .expected_hash = main_head};
    cat_merge_result m;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(m.applied);
    cr_assert_eq(m.nconflicts, 0);
    cr_assert_eq(m.ndetails, 2);
    cr_assert_str_eq(m.source_hash, dev_head);
    cr_assert_str_eq(m.target_hash, main_head);
    cr_assert_str_eq(head("main"), m.result_hash);
    cr_assert_str_eq(loc_at("main", "t"), "d1");
    cr_assert_str_eq(loc_at("main", "u"), "u1");
    cr_assert_str_eq(loc_at("main", "v"), "v1");
    /* the merge commit's second parent is dev's head */
    cat_commit *cs;
    size_t n;
    const char *tok;
    cr_assert(cat_log_page(cat, "main", NULL, 1, &A, &cs, &n, &tok, &err));
    cr_assert_str_eq(cs[0].parent, main_head);
    cr_assert_str_eq(cs[0].parent2, dev_head);
    cat_resolved rr;
    cr_assert(cat_resolve(cat, "main^2", &A, &rr, &err), "%s", err.msg);
    cr_assert_str_eq(rr.hash, dev_head);
    /* nothing new on dev: nothing to merge; the base is now dev's head */
    cr_assert(cat_merge(cat, &o, &A, &m, &err) == false && err.code == FLOE_ECONFLICT, "stale expected hash");
    o.expected_hash = NULL;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_not(m.applied);
    cr_assert_str_eq(m.base_hash, dev_head);
    /* a second round merges only what changed since */
    put("dev", "u", "u2");
    put("main", "t", "l9");
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(m.applied);
    cr_assert_eq(m.ndetails, 1);
    cr_assert_str_eq(loc_at("main", "u"), "u2");
    cr_assert_str_eq(loc_at("main", "t"), "l9");
    /* the merged commit's contents read back at the old commit too */
    cr_assert_str_eq(loc_at("main~1", "u"), "u1");
    /* merge into a tag is refused */
    cr_assert(cat_ref_create(cat, "v1", true, NULL, &A, &r, &err), "%s", err.msg);
    o.into = "v1";
    cr_assert_not(cat_merge(cat, &o, &A, &m, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
}

Test(versions, merge_conflicts_dry_run_force_drop) {
    floe_err err;
    cat_ref r;
    put("main", "t", "l1");
    put("main", "w", "w1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    put("dev", "t", "d1");
    put("dev", "w", "dw");
    put("dev", "u", "u1");
    const char *main_head = put("main", "t", "m1");
    put("main", "w", "dw"); /* the same change on both sides is no conflict */
    main_head = head("main");
    cat_merge_opts o = {.from = "dev", .into = "main"};
    cat_merge_result m;
    cr_assert_not(cat_merge(cat, &o, &A, &m, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert(strstr(err.msg, "ns.t"), "%s", err.msg);
    cr_assert_eq(m.nconflicts, 1);
    cr_assert_str_eq(m.conflicts[0].key, "ns.t");
    cr_assert_str_eq(m.conflicts[0].type, "KEY_CONFLICT");
    cr_assert_str_eq(head("main"), main_head);
    cr_assert_null(loc_at("main", "u"));

    /* dry run: true, the same list, nothing written */
    o.dry_run = true;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_eq(m.nconflicts, 1);
    cr_assert_not(m.applied);
    cr_assert_str_eq(head("main"), main_head);
    o.dry_run = false;

    /* DROP the key: the rest merges, main keeps its own t */
    cat_merge_key drop = {.key = "ns.t", .behavior = CAT_MERGE_DROP};
    o.keys = &drop;
    o.nkeys = 1;
    o.dry_run = true;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_eq(m.nconflicts, 0);
    cr_assert_str_eq(head("main"), main_head);
    o.dry_run = false;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(m.applied);
    cr_assert_str_eq(loc_at("main", "t"), "m1");
    cr_assert_str_eq(loc_at("main", "u"), "u1");
    cr_assert_str_eq(loc_at("main", "t"), loc_at("main~0", "t"));
    cr_assert_str_eq(loc_at(m.result_hash, "t"), "m1");

    /* FORCE on a fresh conflict takes dev's */
    put("dev", "t", "d2");
    put("main", "t", "m2");
    cat_merge_key force = {.key = "ns.t", .behavior = CAT_MERGE_FORCE};
    o.keys = &force;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_str_eq(loc_at("main", "t"), "d2");
    /* a default behaviour covers every key */
    put("dev", "t", "d3");
    put("main", "t", "m3");
    o.keys = NULL;
    o.nkeys = 0;
    o.default_behavior = CAT_MERGE_FORCE;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_str_eq(loc_at("main", "t"), "d3");
}

Test(versions, merge_needs_namespace) {
    floe_err err;
    cat_ref r;
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    cr_assert(cat_namespace_create(cat, "dev", "ns2", NULL, &err), "%s", err.msg);
    cr_assert(cat_namespace_drop(cat, "main", "ns", &err), "%s", err.msg);
    put("dev", "t", "d1");
    cat_merge_opts o = {.from = "dev", .into = "main"};
    cat_merge_result m;
    cr_assert_not(cat_merge(cat, &o, &A, &m, &err));
    cr_assert_eq(m.nconflicts, 1, "%s", err.msg);
    cr_assert_str_eq(m.conflicts[0].type, "NAMESPACE_ABSENT");
    cr_assert_str_eq(m.conflicts[0].key, "ns.t");
}

/* The cost of a merge is the commits since the merge base, not the
 * history: 20k commits on main, then dev with 10 changes. */
Test(versions, merge_cost_is_changes_since_base, .timeout = 120) {
    floe_err err;
    cr_assert(cat_bulk_commits(cat, "main", "bulk", 20000, 100, &err), "%s", err.msg);
    cat_ref r;
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    for (int i = 0; i < 10; i++) put("dev", arena_sprintf(&A, "d%d", i), "x");
    put("main", "m", "y");

    cat_walk_stats s;
    cat_walk_stats_reset();
    cat_diff_entry *d;
    size_t n;
    cr_assert(cat_diff(cat, "main", "dev", &A, &d, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 11);
    cat_walk_stats_get(&s);
    cr_assert_lt(s.commits_read, 40, "diff read %llu commits", (unsigned long long)s.commits_read);

    cat_walk_stats_reset();
    cat_merge_opts o = {.from = "dev", .into = "main"};
    cat_merge_result m;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(m.applied);
    cr_assert_eq(m.ndetails, 10);
    cat_walk_stats_get(&s);
    cr_assert_lt(s.commits_read, 40, "merge read %llu commits", (unsigned long long)s.commits_read);
    cr_assert_lt(s.ops_read, 40, "merge read %llu op rows", (unsigned long long)s.ops_read);
    cr_assert_str_eq(loc_at("main", "d9"), "x");

    /* resolving, assigning and reading a head are cheap too */
    cat_walk_stats_reset();
    cat_resolved rr;
    cr_assert(cat_resolve(cat, "main~3", &A, &rr, &err), "%s", err.msg);
    cr_assert(cat_ref_assign(cat, "dev", "main", NULL, &A, &r, &err), "%s", err.msg);
    bool exists;
    cr_assert(cat_table_exists(cat, "main", "bulk", "t42", &exists, &err) && exists);
    cat_walk_stats_get(&s);
    cr_assert_lt(s.commits_read, 40, "read %llu commits", (unsigned long long)s.commits_read);
}

Test(versions, transplant) {
    floe_err err;
    cat_ref r;
    put("main", "t", "l1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    const char *c1 = put("dev", "u", "u1");
    const char *c2 = put("dev", "t", "d1");
    put("main", "v", "v1");
    /* pick only the second */
    const char *hs[] = {c2};
    cat_transplant_opts o = {.hashes = hs, .nhashes = 1, .into = "main"};
    cat_merge_result m;
    cr_assert(cat_transplant(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(m.applied);
    cr_assert_str_eq(loc_at("main", "t"), "d1");
    cr_assert_null(loc_at("main", "u"));
    cr_assert_str_eq(loc_at("main", "v"), "v1");
    cat_commit *cs;
    size_t n;
    const char *tok;
    cr_assert(cat_log_page(cat, "main", NULL, 1, &A, &cs, &n, &tok, &err));
    cr_assert_str_eq(cs[0].message, "put t=d1");
    /* again: already there, no new commit */
    const char *before = head("main");
    cr_assert(cat_transplant(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_not(m.applied);
    cr_assert_str_eq(head("main"), before);
    /* a conflicting change: main's u is not what c1 changed it from */
    put("main", "u", "mu");
    const char *hs1[] = {c1};
    o.hashes = hs1;
    cr_assert_not(cat_transplant(cat, &o, &A, &m, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert(strstr(err.msg, "ns.u"), "%s", err.msg);
    cr_assert_str_eq(loc_at("main", "u"), "mu");
}

Test(versions, reflog_records_every_movement) {
    floe_err err;
    cat_ref r;
    put("main", "t", "l1");
    cr_assert(cat_ref_create(cat, "dev", false, NULL, &A, &r, &err), "%s", err.msg);
    put("dev", "t", "d1");
    cr_assert(cat_ref_assign(cat, "dev", "main", NULL, &A, &r, &err), "%s", err.msg);
    put("dev", "u", "u1");
    cat_merge_opts o = {.from = "dev"};
    cat_merge_result m;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert(cat_ref_delete(cat, "dev", NULL, &err), "%s", err.msg);
    cat_reflog_entry *es;
    size_t n;
    const char *tok;
    cr_assert(cat_reflog(cat, "dev", NULL, 0, &A, &es, &n, &tok, &err), "%s", err.msg);
    const char *want[] = {"DELETE_REFERENCE", "COMMIT", "ASSIGN_REFERENCE", "COMMIT", "CREATE_REFERENCE"};
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) cr_assert_str_eq(es[i].operation, want[i]);
    cr_assert_null(es[0].new_hash);
    cr_assert_null(es[4].old_hash);
    cr_assert_str_eq(es[1].old_hash, es[2].new_hash);
    cr_assert(cat_reflog(cat, "main", NULL, 1, &A, &es, &n, &tok, &err), "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(es[0].operation, "MERGE");
    cr_assert_not_null(tok);
    cr_assert(cat_reflog(cat, "main", tok, 10, &A, &es, &n, &tok, &err), "%s", err.msg);
    cr_assert_eq(n, 2); /* the put and the namespace's create */
    cr_assert_null(tok);
}

/* A catalog.db written before versions.c: commits without parent2 and gen. */
Test(versions, upgrade_in_place) {
    if (cat_test_pg()) cr_skip_test("the catalog.db file format is SQLite's");
    cat_close(cat);
    char path[300];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    remove(path);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    const char *old =
        "CREATE TABLE refs(name TEXT PRIMARY KEY, is_tag INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL);"
        "CREATE TABLE commits(seq INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent TEXT NOT NULL,"
        "  time_ms INTEGER NOT NULL, author TEXT, message TEXT, props TEXT);"
        "CREATE TABLE ops(commit_seq INTEGER NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, kind TEXT,"
        "  content_id TEXT, location TEXT, content TEXT, PRIMARY KEY(commit_seq, key)) WITHOUT ROWID;"
        "CREATE TABLE heads(ref TEXT NOT NULL, key TEXT NOT NULL, parent TEXT NOT NULL, kind TEXT NOT NULL,"
        "  content_id TEXT NOT NULL, location TEXT, content TEXT NOT NULL, PRIMARY KEY(ref, key)) WITHOUT ROWID;"
        "INSERT INTO commits VALUES(1, 'aaaaaaaa00000000000000000000000000000000000000000000000000000001',"
        "  '" CAT_NO_ANCESTOR "', 1000, 'u', 'one', NULL);"
        "INSERT INTO commits VALUES(2, 'aaaaaaaa00000000000000000000000000000000000000000000000000000002',"
        "  'aaaaaaaa00000000000000000000000000000000000000000000000000000001', 2000, 'u', 'two', NULL);"
        "INSERT INTO ops VALUES(1, 'ns', 'put', 'NAMESPACE', 'n1', NULL, '{\"type\":\"NAMESPACE\"}');"
        "INSERT INTO ops VALUES(2, 'ns\x1ft', 'put', 'ICEBERG_TABLE', 't1', 'old1', '{\"metadataLocation\":\"old1\"}');"
        "INSERT INTO heads VALUES('main', 'ns', '', 'NAMESPACE', 'n1', NULL, '{\"type\":\"NAMESPACE\"}');"
        "INSERT INTO heads VALUES('main', 'ns\x1ft', 'ns', 'ICEBERG_TABLE', 't1', 'old1',"
        "  '{\"metadataLocation\":\"old1\"}');"
        "INSERT INTO refs VALUES('main', 0, 'aaaaaaaa00000000000000000000000000000000000000000000000000000002');";
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, old, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
    sqlite3_close(db);
    open_cat();
    floe_err err;
    cat_resolved r;
    cr_assert(cat_resolve(cat, "main~1", &A, &r, &err), "%s", err.msg);
    cr_assert_str_eq(r.hash, "aaaaaaaa00000000000000000000000000000000000000000000000000000001");
    cr_assert_null(loc_at("main~1", "t"));
    cr_assert_str_eq(loc_at("main", "t"), "old1");
    cat_ref ref;
    cr_assert(cat_ref_create(cat, "dev", false, "main~1", &A, &ref, &err), "%s", err.msg);
    put("dev", "u", "u1");
    put("main", "t", "new1");
    cat_merge_opts o = {.from = "dev"};
    cat_merge_result m;
    cr_assert(cat_merge(cat, &o, &A, &m, &err), "%s", err.msg);
    cr_assert_str_eq(m.base_hash, "aaaaaaaa00000000000000000000000000000000000000000000000000000001");
    cr_assert_str_eq(loc_at("main", "u"), "u1");
    cr_assert_str_eq(loc_at("main", "t"), "new1");
    /* opening again changes nothing */
    cat_close(cat);
    open_cat();
    cr_assert_str_eq(loc_at("main", "u"), "u1");
}
