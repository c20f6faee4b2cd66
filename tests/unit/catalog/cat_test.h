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

/* True when the tests run against PostgreSQL. */
bool cat_test_pg(void);
/* cat_open with co->url set for the backend under test. */
cat_t *cat_test_open(cat_opts *co, floe_err *err);
/* Runs SQL (no parameters) on the database of the catalog in dir. */
bool cat_test_sql(const char *dir, const char *sql, floe_err *err);

#endif
