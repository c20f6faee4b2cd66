/*
 * cat_test.c: the catalog on either backend for unit tests (cat_test.h).
 */
#include "cat_test.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db.h"

bool cat_test_pg(void) {
    const char *u = getenv("FLOE_TEST_CATALOG_URL");
    return u && *u;
}

/* The URL for the catalog in dir: a schema named after it. */
static char *url_for(const char *dir) {
    if (!cat_test_pg()) return NULL;
    const char *base = getenv("FLOE_TEST_CATALOG_URL");
    uint64_t h = 1469598103934665603ull;
    for (const char *p = dir; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    char *u = malloc(strlen(base) + 64);
    sprintf(u, "%s%cschema=t_%016llx", base, strchr(base, '?') ? '&' : '?', (unsigned long long)h);
    return u;
}

cat_t *cat_test_open(cat_opts *co, floe_err *err) {
    char *url = url_for(co->dir);
    co->url = url;
    cat_t *c = cat_open(co, err);
    co->url = NULL;
    free(url);
    return c;
}

bool cat_test_sql(const char *dir, const char *sql, floe_err *err) {
    char *url = url_for(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    db_t *d = db_open(url, path, false, err);
    free(url);
    if (!d) return false;
    db_conn *k = db_conn_get(d, err);
    bool ok = k && db_exec(k, sql, err);
    db_conn_put(d, k);
    db_close(d);
    return ok;
}

void cat_test_env_open(cat_test_env *e, const char *name) {
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/floe-unit-%s-XXXXXX", name);
    cr_assert(mkdtemp(e->dir));
    floe_err err;
    e->st = store_open(e->dir, false, &err);
    cr_assert(e->st, "%s", err.msg);
    cr_assert(store_bucket_create(e->st, "warehouse", false, &err), "%s", err.msg);
    e->io = fileio_store(e->st);
    cat_opts co = {.dir = e->dir, .io = e->io, .warehouse = "s3://warehouse", .fsync = false};
    e->cat = cat_test_open(&co, &err);
    cr_assert(e->cat, "%s", err.msg);
    cat_as_ice(e->cat, NULL, &e->ice);
}

void cat_test_env_close(cat_test_env *e) {
    cat_close(e->cat);
    fileio_free(e->io);
    store_close(e->st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    cr_assert_eq(system(cmd), 0);
}
