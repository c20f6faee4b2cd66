/*
 * test_nessie.c: Nessie commits (nessie_ops.c): content ids made and kept,
 * each conflict type, the expected hash (a stale one passes only for keys
 * unchanged since), all-or-nothing, and two writers racing on one key with
 * the same expected hash: exactly one wins.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_test.h"
#include "catalog/catalog.h"

static char dir[256];
static cat_t *cat;
static arena_t A;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-nessie-XXXXXX");
    cr_assert(mkdtemp(dir));
    arena_init(&A, 1 << 16);
    floe_err err;
    cat_opts co = {.dir = dir, .io = NULL, .warehouse = "s3://warehouse", .fsync = false};
    cat = cat_test_open(&co, &err);
    cr_assert(cat, "%s", err.msg);
    cr_assert(cat_namespace_create(cat, NULL, "ns", NULL, &err), "%s", err.msg);
}

static void teardown(void) {
    cat_close(cat);
    arena_free(&A);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nessie, .init = setup, .fini = teardown);

static cat_nessie_op table_put(const char *key, const char *loc, const char *id) {
    json_t *c = json_pack("{s:s,s:s}", "type", "ICEBERG_TABLE", "metadataLocation", loc);
    return (cat_nessie_op){.key = key, .content = c, .kind = "ICEBERG_TABLE", .location = loc, .content_id = id};
}

/* Commits one op (freeing its content); returns ok, fills res. */
static bool commit1(const char *branch, const char *expected, cat_nessie_op op, cat_nessie_commit_result *res,
                    floe_err *err) {
    bool ok = cat_nessie_commit(cat, branch, expected, &op, 1, "t", &A, res, err);
    json_decref(op.content);
    return ok;
}

static const char *head(const char *name) {
    cat_ref r;
    floe_err err;
    cr_assert(cat_ref_get(cat, name, &A, &r, &err), "%s", err.msg);
    return r.hash;
}

Test(nessie, ids_are_made_then_kept) {
    cat_nessie_commit_result res;
    floe_err err;
    cr_assert(commit1("main", NULL, table_put("ns.t", "s3://w/1.json", NULL), &res, &err), "%s", err.msg);
    const char *id = res.content_ids[0];
    cr_assert(id && strlen(id) == 36);
    cr_assert_str_eq(head("main"), res.hash);
    cr_assert(commit1("main", res.hash, table_put("ns.t", "s3://w/2.json", id), &res, &err), "%s", err.msg);
    cr_assert_str_eq(res.content_ids[0], id);
    cat_entry e;
    bool found;
    cr_assert(cat_nessie_content(cat, "main", "ns.t", &A, &e, &found, &err), "%s", err.msg);
    cr_assert(found);
    cr_assert_str_eq(e.location, "s3://w/2.json");
    cr_assert_str_eq(e.content_id, id);
    cr_assert(strstr(e.json, id) && strstr(e.json, "\"metadataLocation\":\"s3://w/2.json\""), "%s", e.json);
    cr_assert(cat_nessie_content(cat, "main~1", "ns.t", &A, &e, &found, &err), "%s", err.msg);
    cr_assert(found);
    cr_assert_str_eq(e.location, "s3://w/1.json");
}

static void expect_conflict(cat_nessie_op op, const char *expected, const char *type) {
    cat_nessie_commit_result res;
    floe_err err;
    const char *before = head("main");
    cr_assert_not(commit1("main", expected, op, &res, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_assert_eq(res.nconflicts, 1);
    cr_assert_str_eq(res.conflicts[0].type, type, "%s", err.msg);
    cr_assert_str_eq(head("main"), before, "a refused commit changes nothing");
}

Test(nessie, conflict_types) {
    cat_nessie_commit_result res;
    floe_err err;
    cr_assert(commit1("main", NULL, table_put("ns.t", "s3://w/1.json", NULL), &res, &err), "%s", err.msg);
    const char *h = res.hash;
    expect_conflict(table_put("ns.t", "s3://w/x.json", NULL), NULL, "KEY_EXISTS");
    expect_conflict(table_put("ns.t", "s3://w/x.json", "not-the-id"), NULL, "CONTENT_ID_DIFFERS");
    expect_conflict(table_put("ns.u", "s3://w/x.json", "some-id"), NULL, "KEY_DOES_NOT_EXIST");
    expect_conflict(table_put("nope.u", "s3://w/x.json", NULL), NULL, "NAMESPACE_ABSENT");
    expect_conflict((cat_nessie_op){.key = "ns.gone"}, NULL, "KEY_DOES_NOT_EXIST");
    expect_conflict((cat_nessie_op){.key = "ns"}, NULL, "NAMESPACE_NOT_EMPTY");
    /* deleting the namespace and its table together is fine */
    cat_nessie_op both[2] = {{.key = "ns.t"}, {.key = "ns"}};
    cr_assert(cat_nessie_commit(cat, "main", h, both, 2, "drop", &A, &res, &err), "%s", err.msg);
}

Test(nessie, stale_expected_hash_checks_keys) {
    cat_nessie_commit_result res;
    floe_err err;
    cr_assert(commit1("main", NULL, table_put("ns.a", "s3://w/a1.json", NULL), &res, &err), "%s", err.msg);
    const char *h1 = res.hash, *ida = res.content_ids[0];
    cr_assert(commit1("main", h1, table_put("ns.a", "s3://w/a2.json", ida), &res, &err), "%s", err.msg);
    /* ns.a changed since h1: a conflict; ns.b did not: fine */
    expect_conflict(table_put("ns.a", "s3://w/a3.json", ida), h1, "VALUE_DIFFERS");
    cr_assert(commit1("main", h1, table_put("ns.b", "s3://w/b1.json", NULL), &res, &err), "%s", err.msg);
    /* an expected hash that is not in main's history */
    cr_assert_not(commit1("main", "0123456789abcdef", table_put("ns.c", "s3://w/c.json", NULL), &res, &err));
    cr_assert_neq(err.code, FLOE_OK);
}

Test(nessie, refuses_tags_refspecs_and_duplicate_keys) {
    cat_nessie_commit_result res;
    floe_err err;
    cat_ref r;
    cr_assert(cat_ref_create(cat, "v1", true, NULL, &A, &r, &err), "%s", err.msg);
    cr_assert_not(commit1("v1", NULL, table_put("ns.t", "s3://w/1.json", NULL), &res, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_not(commit1("main~1", NULL, table_put("ns.t", "s3://w/1.json", NULL), &res, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cat_nessie_op two[2] = {table_put("ns.t", "s3://w/1.json", NULL), {.key = "ns.t"}};
    cr_assert_not(cat_nessie_commit(cat, "main", NULL, two, 2, "t", &A, &res, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    json_decref(two[0].content);
}

typedef struct racer {
    const char *expected, *id, *loc;
    bool ok;
    floe_err err;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    arena_t a;
    arena_init(&a, 4096);
    cat_nessie_op op = table_put("ns.t", r->loc, r->id);
    cat_nessie_commit_result res;
    r->ok = cat_nessie_commit(cat, "main", r->expected, &op, 1, "race", &a, &res, &r->err);
    json_decref(op.content);
    arena_free(&a);
    return NULL;
}

Test(nessie, racing_writers_on_one_key_one_wins) {
    cat_nessie_commit_result res;
    floe_err err;
    cr_assert(commit1("main", NULL, table_put("ns.t", "s3://w/0.json", NULL), &res, &err), "%s", err.msg);
    const char *h = arena_strdup(&A, res.hash), *id = arena_strdup(&A, res.content_ids[0]);
    for (int round = 0; round < 5; round++) {
        /* distinct values each round: a key rewritten to the value it had
         * at the expected hash has not changed since, and is no conflict */
        racer rs[2] = {{.expected = h, .id = id, .loc = arena_sprintf(&A, "s3://w/a%d.json", round)},
                       {.expected = h, .id = id, .loc = arena_sprintf(&A, "s3://w/b%d.json", round)}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, race, &rs[i]);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        cr_assert_eq(rs[0].ok + rs[1].ok, 1, "round %d: exactly one of two writers from %s wins (%s / %s)", round, h,
                     rs[0].ok ? "ok" : rs[0].err.msg, rs[1].ok ? "ok" : rs[1].err.msg);
        h = head("main");
    }
}
