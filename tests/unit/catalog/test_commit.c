/*
 * test_commit.c: the catalog's group commit (store.c, cat_commit_ops):
 * concurrent commits to their own tables all land; racing compare-and-swap
 * commits on one table have exactly one winner per round and the losers
 * get their own conflict; a batch (held back until every commit is queued,
 * so it is one batch whatever the timing) where some commits fail lands
 * the others and hands each failure to its own caller. No timing is
 * asserted. Runs on PostgreSQL too with FLOE_TEST_CATALOG_URL.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cat_test.h"
#include "catalog/cat_int.h"
#include "catalog/catalog.h"

static char dir[256];
static cat_t *cat;
static arena_t A;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-commit-XXXXXX");
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

TestSuite(group_commit, .init = setup, .fini = teardown);

/* Puts table ns.NAME at loc on main: created when expect is NULL, else
 * only while it is still at expect. */
static bool put(const char *ref, const char *ns, const char *name, const char *expect, const char *loc, floe_err *err) {
    arena_t a;
    arena_init(&a, 1024);
    cat_content ct = {.kind = "ICEBERG_TABLE",
                      .content_id = arena_sprintf(&a, "id-%s", name),
                      .location = loc,
                      .json = arena_sprintf(&a, "{\"type\":\"ICEBERG_TABLE\",\"metadataLocation\":\"%s\"}", loc)};
    cat_op ops[2] = {{.key = cat_key(&a, ns, name),
                      .content = &ct,
                      .check = true,
                      .expect_absent = !expect,
                      .expect_location = expect},
                     {.key = cat_key(&a, ns, NULL), .check = true, .check_only = true}};
    bool ok = cat_commit_ops(cat, ref, ops, 2, "test", err);
    arena_free(&a);
    return ok;
}

static const char *location(const char *name) {
    floe_err err;
    cat_conn *k = cat_conn_get(cat, &err);
    cr_assert(k, "%s", err.msg);
    cat_content ct;
    bool found;
    cr_assert(cat_head_get(k, "main", cat_key(&A, "ns", name), &A, &ct, &found, &err), "%s", err.msg);
    cat_conn_put(cat, k);
    return found ? ct.location : NULL;
}

static size_t log_length(void) {
    floe_err err;
    cat_commit *cs;
    size_t n;
    cr_assert(cat_log(cat, "main", 0, &A, &cs, &n, &err), "%s", err.msg);
    return n;
}

/* ---- many threads, each on its own table ---- */

#define THREADS 8
#define COMMITS 20

typedef struct own {
    int id;
    int ok;
    floe_err err;
} own;

static void *own_main(void *arg) {
    own *o = arg;
    char name[32], loc[64], prev[64];
    snprintf(name, sizeof name, "t%d", o->id);
    for (int i = 0; i < COMMITS; i++) {
        snprintf(loc, sizeof loc, "s3://w/t%d/%03d.json", o->id, i);
        if (!put("main", "ns", name, i ? prev : NULL, loc, &o->err)) return NULL;
        memcpy(prev, loc, sizeof prev);
        o->ok++;
    }
    return NULL;
}

Test(group_commit, threads_on_their_own_tables_all_commit) {
    size_t before = log_length();
    uint64_t b0, c0, b1, c1;
    cat_commit_stats(cat, &b0, &c0);
    own os[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        os[i] = (own){.id = i};
        pthread_create(&th[i], NULL, own_main, &os[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(os[i].ok, COMMITS, "thread %d: %s", i, os[i].err.msg);
        char want[64];
        snprintf(want, sizeof want, "s3://w/t%d/%03d.json", i, COMMITS - 1);
        cr_assert_str_eq(location(arena_sprintf(&A, "t%d", i)), want);
    }
    cr_assert_eq(log_length(), before + THREADS * COMMITS, "every commit is in the log, once");
    cat_commit_stats(cat, &b1, &c1);
    cr_assert_eq(c1 - c0, THREADS * COMMITS);
    cr_assert_leq(b1 - b0, c1 - c0);
}

/* ---- racing compare-and-swap on one table ---- */

#define ROUNDS 10

typedef struct racer {
    int id;
    const char *expect;
    pthread_barrier_t *go;
    bool ok[ROUNDS];
    floe_err err[ROUNDS];
    char loc[ROUNDS][64];
} racer;

static const char *round_base; /* the table's location at the round's start */

static void *race_main(void *arg) {
    racer *r = arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_barrier_wait(r->go); /* the main thread set round_base */
        snprintf(r->loc[i], sizeof r->loc[i], "s3://w/shared/r%d-c%d.json", i, r->id);
        r->ok[i] = put("main", "ns", "shared", round_base, r->loc[i], &r->err[i]);
        pthread_barrier_wait(r->go); /* round over */
    }
    return NULL;
}

Test(group_commit, racing_cas_one_winner_per_round) {
    floe_err err;
    cr_assert(put("main", "ns", "shared", NULL, "s3://w/shared/start.json", &err), "%s", err.msg);
    size_t before = log_length();
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS + 1);
    racer *rs = calloc(THREADS, sizeof *rs);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rs[i].id = i;
        rs[i].go = &go;
        pthread_create(&th[i], NULL, race_main, &rs[i]);
    }
    const char *base = "s3://w/shared/start.json";
    for (int round = 0; round < ROUNDS; round++) {
        round_base = base;
        if (round % 2) cat_commit_hold(cat, true); /* odd rounds: all in one batch */
        pthread_barrier_wait(&go);
        if (round % 2) {
            while (cat_commit_queued(cat) < THREADS) usleep(1000);
            cat_commit_hold(cat, false);
        }
        pthread_barrier_wait(&go);
        int winners = 0, winner = -1;
        for (int i = 0; i < THREADS; i++) {
            if (rs[i].ok[round]) {
                winners++;
                winner = i;
                continue;
            }
            /* a loser's own conflict, naming the location it was based on */
            cr_assert_eq(rs[i].err[round].code, FLOE_ECONFLICT, "round %d, racer %d: %s", round, i,
                         rs[i].err[round].msg);
            cr_assert(strstr(rs[i].err[round].msg, "ns.shared"), "%s", rs[i].err[round].msg);
            cr_assert(strstr(rs[i].err[round].msg, base), "%s", rs[i].err[round].msg);
        }
        cr_assert_eq(winners, 1, "round %d: exactly one CAS wins", round);
        cr_assert_str_eq(location("shared"), rs[winner].loc[round]);
        base = arena_strdup(&A, rs[winner].loc[round]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    free(rs);
    cr_assert_eq(log_length(), before + ROUNDS, "one commit per round, no more, none lost");
}

/* Retrying on conflict, as a client does: every thread's commits land,
 * each on the location the one before it left. */
typedef struct retrier {
    int id, ok, conflicts;
    floe_err err;
} retrier;

static void *retry_main(void *arg) {
    retrier *r = arg;
    arena_t a;
    arena_init(&a, 4096);
    for (int i = 0; i < COMMITS; i++) {
        char loc[64];
        snprintf(loc, sizeof loc, "s3://w/chain/c%d-%03d.json", r->id, i);
        for (;;) {
            cat_conn *k = cat_conn_get(cat, &r->err);
            if (!k) goto out;
            cat_content ct;
            bool found;
            bool ok = cat_head_get(k, "main", cat_key(&a, "ns", "chain"), &a, &ct, &found, &r->err);
            cat_conn_put(cat, k);
            if (!ok || !found) goto out;
            if (put("main", "ns", "chain", ct.location, loc, &r->err)) break;
            if (r->err.code != FLOE_ECONFLICT) goto out;
            r->conflicts++;
        }
        r->ok++;
    }
out:
    arena_free(&a);
    return NULL;
}

Test(group_commit, retried_cas_on_one_table_loses_nothing) {
    floe_err err;
    cr_assert(put("main", "ns", "chain", NULL, "s3://w/chain/start.json", &err), "%s", err.msg);
    size_t before = log_length();
    retrier rs[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rs[i] = (retrier){.id = i};
        pthread_create(&th[i], NULL, retry_main, &rs[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) cr_assert_eq(rs[i].ok, COMMITS, "thread %d: %s", i, rs[i].err.msg);
    /* the log is one chain: each commit's op moved the table from where the
     * previous one left it, and every commit is there once */
    cat_commit *cs;
    size_t n;
    cr_assert(cat_log(cat, "main", 0, &A, &cs, &n, &err), "%s", err.msg);
    cr_assert_eq(n, before + THREADS * COMMITS);
    /* the head is some thread's last commit */
    const char *head = location("chain");
    int lasts = 0;
    for (int i = 0; i < THREADS; i++)
        if (!strcmp(head, arena_sprintf(&A, "s3://w/chain/c%d-%03d.json", i, COMMITS - 1))) lasts++;
    cr_assert_eq(lasts, 1, "head %s", head);
}

/* ---- one batch, some commits failing ---- */

typedef struct mixed {
    const char *ref, *ns, *name, *expect, *loc;
    bool ok;
    floe_err err;
} mixed;

static void *mixed_main(void *arg) {
    mixed *m = arg;
    m->ok = put(m->ref, m->ns, m->name, m->expect, m->loc, &m->err);
    return NULL;
}

Test(group_commit, failures_in_a_batch_stay_with_their_callers) {
    floe_err err;
    cr_assert(put("main", "ns", "a", NULL, "s3://w/a0.json", &err), "%s", err.msg);
    cr_assert(put("main", "ns", "b", NULL, "s3://w/b0.json", &err), "%s", err.msg);
    cat_ref tag;
    cr_assert(cat_ref_create(cat, "v1", true, "main", &A, &tag, &err), "%s", err.msg);
    size_t before = log_length();
    uint64_t b0, c0, b1, c1;
    cat_commit_stats(cat, &b0, &c0);
    mixed ms[] = {
        {.ref = "main", .ns = "ns", .name = "a", .expect = "s3://w/a0.json", .loc = "s3://w/a1.json"},    /* ok */
        {.ref = "main", .ns = "ns", .name = "b", .expect = "s3://w/stale.json", .loc = "s3://w/bX.json"}, /* CAS */
        {.ref = "main", .ns = "nope", .name = "c", .expect = NULL, .loc = "s3://w/c.json"},          /* no namespace */
        {.ref = "main", .ns = "ns", .name = "d", .expect = NULL, .loc = "s3://w/d0.json"},           /* ok: a create */
        {.ref = "v1", .ns = "ns", .name = "a", .expect = "s3://w/a0.json", .loc = "s3://w/aT.json"}, /* a tag */
        {.ref = "main", .ns = "ns", .name = "b", .expect = "s3://w/b0.json", .loc = "s3://w/b1.json"}, /* ok */
        {.ref = "nobranch", .ns = "ns", .name = "a", .expect = "s3://w/a0.json", .loc = "s3://w/aN.json"},
    };
    size_t n = sizeof ms / sizeof ms[0];
    pthread_t th[sizeof ms / sizeof ms[0]];
    cat_commit_hold(cat, true);
    for (size_t i = 0; i < n; i++) pthread_create(&th[i], NULL, mixed_main, &ms[i]);
    while (cat_commit_queued(cat) < n) usleep(1000);
    cat_commit_hold(cat, false);
    for (size_t i = 0; i < n; i++) pthread_join(th[i], NULL);
    cat_commit_stats(cat, &b1, &c1);
    cr_assert_eq(b1 - b0, 1, "held back until all were queued: one batch");
    cr_assert_eq(c1 - c0, n);

    cr_assert(ms[0].ok, "%s", ms[0].err.msg);
    cr_assert(ms[3].ok, "%s", ms[3].err.msg);
    cr_assert(ms[5].ok, "%s", ms[5].err.msg);
    cr_assert(!ms[1].ok);
    cr_assert_eq(ms[1].err.code, FLOE_ECONFLICT, "%s", ms[1].err.msg);
    cr_assert(strstr(ms[1].err.msg, "s3://w/stale.json"), "%s", ms[1].err.msg);
    cr_assert(!ms[2].ok);
    cr_assert_eq(ms[2].err.code, FLOE_ENOENT, "%s", ms[2].err.msg);
    cr_assert(strstr(ms[2].err.msg, "namespace 'nope'"), "%s", ms[2].err.msg);
    cr_assert(!ms[4].ok);
    cr_assert_eq(ms[4].err.code, FLOE_EINVAL, "%s", ms[4].err.msg);
    cr_assert(strstr(ms[4].err.msg, "'v1' is a tag"), "%s", ms[4].err.msg);
    cr_assert(!ms[6].ok);
    cr_assert_eq(ms[6].err.code, FLOE_ENOENT, "%s", ms[6].err.msg);
    cr_assert(strstr(ms[6].err.msg, "nobranch"), "%s", ms[6].err.msg);

    cr_assert_str_eq(location("a"), "s3://w/a1.json");
    cr_assert_str_eq(location("b"), "s3://w/b1.json");
    cr_assert_str_eq(location("d"), "s3://w/d0.json");
    cr_assert_null(location("c"));
    cr_assert_eq(log_length(), before + 3, "the three that held, and nothing of the others");
}

/* A batch whose commits all fail commits nothing, and the next batch works. */
Test(group_commit, a_batch_of_failures_commits_nothing) {
    size_t before = log_length();
    mixed ms[3];
    for (int i = 0; i < 3; i++) ms[i] = (mixed){.ref = "main", .ns = "nope", .name = "x", .loc = "s3://w/x.json"};
    pthread_t th[3];
    cat_commit_hold(cat, true);
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, mixed_main, &ms[i]);
    while (cat_commit_queued(cat) < 3) usleep(1000);
    cat_commit_hold(cat, false);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) cr_assert_eq(ms[i].err.code, FLOE_ENOENT, "%s", ms[i].err.msg);
    cr_assert_eq(log_length(), before);
    floe_err err;
    cr_assert(put("main", "ns", "y", NULL, "s3://w/y.json", &err), "%s", err.msg);
    cr_assert_eq(log_length(), before + 1);
}
