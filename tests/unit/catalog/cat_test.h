/*
 * cat_test.h: opening the catalog in unit tests on either backend. With
 * FLOE_TEST_CATALOG_URL set (postgres://...), every catalog a test opens
 * lives in PostgreSQL, in a schema of its own named after the test's data
 * dir; without it, in SQLite in the data dir as usual.
 * tests/e2e/test_catalog_pg.sh runs the catalog suites both ways.
 */
#ifndef FLOE_TESTS_CAT_TEST_H
#define FLOE_TESTS_CAT_TEST_H

#include "catalog/catalog.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

/* True when the tests run against PostgreSQL. */
bool cat_test_pg(void);
/* cat_open with co->url set for the backend under test. */
cat_t *cat_test_open(cat_opts *co, floe_err *err);
/* Runs SQL (no parameters) on the database of the catalog in dir. */
bool cat_test_sql(const char *dir, const char *sql, floe_err *err);

/* What a table test runs on: a temp data dir holding a store with its
 * warehouse bucket, FileIO over it and the catalog (fsync off), with the
 * catalog as the iceberg layer sees it on main. */
typedef struct cat_test_env {
    char dir[256];
    store_t *st;
    fileio_t *io;
    cat_t *cat;
    ice_catalog ice;
} cat_test_env;

/* name goes into the temp dir's name (/tmp/floe-unit-NAME-XXXXXX). */
void cat_test_env_open(cat_test_env *e, const char *name);
/* Closes everything and removes the dir. */
void cat_test_env_close(cat_test_env *e);

#endif
