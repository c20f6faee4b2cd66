/*
 * test_meta_cache.c: the parsed metadata cache (meta_cache.c). A commit's
 * base comes from the cache (a hit, no parse) when the table's previous
 * commit went through this handle; chains are cut after CAT_PARSED_DEPTH
 * versions; more tables than slots evict and still read right; threads
 * committing and loading at once (under ASan: no use after free, no leak);
 * and a commit through another handle on the same catalog (another
 * process, as far as the cache knows) is never hidden by a cached version.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cat_test.h"
#include "catalog/cat_int.h"
#include "catalog/catalog.h"

static char dir[256], warehouse[300];
static fileio_t *io;
static cat_t *cat;

static cat_t *open_cat(void) {
    floe_err err;
    cat_opts co = {.dir = dir, .io = io, .warehouse = warehouse, .fsync = false};
    cat_t *c = cat_test_open(&co, &err);
    cr_assert(c, "%s", err.msg);
    return c;
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-metacache-XXXXXX");
    cr_assert(mkdtemp(dir));
    snprintf(warehouse, sizeof warehouse, "file://%s/wh", dir);
    io = fileio_local();
    cat = open_cat();
    floe_err err;
    cr_assert(cat_namespace_create(cat, NULL, "ns", NULL, &err), "%s", err.msg);
}

static void teardown(void) {
    cat_close(cat);
    fileio_free(io);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(meta_cache, .init = setup, .fini = teardown);

static json_t *js(const char *text) {
    floe_err err;
    json_t *j = json_parse(text, strlen(text), "test", &err);
    cr_assert(j, "%s", err.msg);
    return j;
}

static bool commit(cat_t *c, const char *name, const char *reqs, const char *updates, floe_err *err) {
    json_t *r = js(reqs), *u = js(updates);
    arena_t a;
    arena_init(&a, 4096);
    cat_table t;
    bool ok = cat_table_commit(c, NULL, "ns", name, r, u, &a, &t, err);
    arena_free(&a);
    json_decref(r);
    json_decref(u);
    return ok;
}

static void create(cat_t *c, const char *name) {
    floe_err err;
    cr_assert(commit(c, name, "[{\"type\":\"assert-create\"}]",
                     "[{\"action\":\"add-schema\",\"schema\":{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
                     "{\"id\":1,\"name\":\"x\",\"required\":false,\"type\":\"long\"}]}},"
                     "{\"action\":\"set-current-schema\",\"schema-id\":-1}]",
                     &err),
              "%s", err.msg);
}

static void set_prop(cat_t *c, const char *name, const char *k, const char *v) {
    char u[300];
    snprintf(u, sizeof u, "[{\"action\":\"set-properties\",\"updates\":{\"%s\":\"%s\"}}]", k, v);
    floe_err err;
    cr_assert(commit(c, name, "[]", u, &err), "%s", err.msg);
}

/* The property k of table name as c loads it (a copy), or NULL. */
static char *prop(cat_t *c, const char *name, const char *k) {
    arena_t a;
    arena_init(&a, 4096);
    cat_table t;
    floe_err err;
    cr_assert(cat_table_load(c, NULL, "ns", name, &a, &t, &err), "%s", err.msg);
    const char *v = ice_meta_property(&t.meta, k);
    char *out = v ? strdup(v) : NULL;
    arena_free(&a);
    return out;
}

static void expect_prop(cat_t *c, const char *name, const char *k, const char *v) {
    char *got = prop(c, name, k);
    cr_assert(got && !strcmp(got, v), "%s: %s is %s, expected %s", name, k, got ? got : "(absent)", v);
    free(got);
}

Test(meta_cache, commits_hit_and_chains_are_cut) {
    create(cat, "t");
    uint64_t misses = cat->parsed_misses, hits = cat->parsed_hits;
    int n = 3 * CAT_PARSED_DEPTH;
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        set_prop(cat, "t", "k", v);
        expect_prop(cat, "t", "k", v);
    }
    /* one parse per CAT_PARSED_DEPTH versions, every other base a hit */
    uint64_t m = cat->parsed_misses - misses, h = cat->parsed_hits - hits;
    cr_assert(m >= 2 && m <= 4, "%llu misses over %d commits", (unsigned long long)m, n);
    cr_assert(h >= (uint64_t)(2 * n) - m, "%llu hits", (unsigned long long)h);
}

Test(meta_cache, more_tables_than_slots) {
    int n = CAT_PARSED_SLOTS + 16;
    char name[32], v[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "t%d", i);
        create(cat, name);
        set_prop(cat, name, "a", name);
    }
    size_t used = 0;
    for (int i = 0; i < CAT_PARSED_SLOTS; i++) used += cat->parsed[i] != NULL;
    cr_assert(used <= CAT_PARSED_SLOTS);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "t%d", i);
        snprintf(v, sizeof v, "b%d", i);
        set_prop(cat, name, "b", v);
        expect_prop(cat, name, "a", name);
        expect_prop(cat, name, "b", v);
    }
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    char name[16], v[16], other[16];
    snprintf(name, sizeof name, "c%d", id);
    snprintf(other, sizeof other, "c%d", (id + 1) % 4);
    for (int i = 0; i < 40; i++) {
        snprintf(v, sizeof v, "%d", i);
        set_prop(cat, name, "n", v);
        free(prop(cat, other, "n")); /* a neighbour's entry, borrowed while it commits */
    }
    return NULL;
}

Test(meta_cache, concurrent_commits_and_loads) {
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        create(cat, name);
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        expect_prop(cat, name, "n", "39");
    }
}

Test(meta_cache, another_writer_is_never_hidden) {
    create(cat, "t");
    set_prop(cat, "t", "mine", "1"); /* cached here */
    cat_t *other = open_cat();
    set_prop(other, "t", "theirs", "1");
    /* this handle's cached version is no longer the table's: its next
     * commit must build on the other's, not on what it cached */
    set_prop(cat, "t", "mine", "2");
    expect_prop(cat, "t", "theirs", "1");
    expect_prop(cat, "t", "mine", "2");
    expect_prop(other, "t", "theirs", "1");
    expect_prop(other, "t", "mine", "2");
    /* and an assert on the snapshot the other handle left still holds */
    floe_err err;
    cr_assert(commit(cat, "t", "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":null}]",
                     "[{\"action\":\"set-properties\",\"updates\":{\"x\":\"y\"}}]", &err),
              "%s", err.msg);
    cat_close(other);
}
