/*
 * db.h: the catalog's SQL store behind one small interface, so the commit
 * log runs on SQLite (DIR/catalog.db, the default) or on PostgreSQL (a
 * postgres:// URL, for several stateless catalog nodes on one database).
 *
 *   db_sqlite.c  SQLite in WAL mode; writes take BEGIN IMMEDIATE
 *   db_pg.c      libpq; writes take a transaction-level advisory lock
 *
 * SQL is written once, with "?1"-style positional parameters, in the
 * dialect both accept (ON CONFLICT upserts, RETURNING); db_pg.c turns ?N
 * into $N. Statements step like SQLite's: bind, step until DB_DONE, reset
 * to run again. On an error the connection keeps the message and db_fail
 * turns it into a floe_err.
 *
 * A write transaction (db_begin_write) serialises with every other writer
 * of the same catalog, in this process or any other, on any node: this is
 * what makes the catalog's compare-and-swap hold (docs/catalog-postgres.md).
 */
#ifndef FLOE_CATALOG_DB_H
#define FLOE_CATALOG_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef enum { DB_SQLITE, DB_PG } db_kind;

typedef struct db db_t; /* a connection pool on one database */
typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

enum { DB_ERROR = 0, DB_ROW = 1, DB_DONE = 2 };

/* True when url names a PostgreSQL database (postgres:// or postgresql://). */
bool db_url_is_pg(const char *url);
/* Checks a catalog URL's form: empty, or postgres[ql]://... (FLOE_EINVAL
 * names it, without its password). */
bool db_url_check(const char *url, floe_err *err);
/* url with any password replaced by "***", for messages and logs. */
char *db_url_redact(const char *url); /* malloc'd */

/* url NULL or "": SQLite at path. Connects once to check the database is
 * reachable. */
db_t *db_open(const char *url, const char *path, bool fsync, floe_err *err);
void db_close(db_t *d);
db_kind db_kind_of(const db_t *d);
/* Where the data is, for messages: the path, or the URL without password. */
const char *db_where(const db_t *d);

db_conn *db_conn_get(db_t *d, floe_err *err);
void db_conn_put(db_t *d, db_conn *k);

/* Runs statements without parameters (several, separated by ';'). */
bool db_exec(db_conn *k, const char *sql, floe_err *err);
/* A write transaction that serialises with every other writer of this
 * catalog; a writer that cannot get in within 30 s is FLOE_ECONFLICT. */
bool db_begin_write(db_conn *k, floe_err *err);
/* The same for creating the schema: also creates the PostgreSQL schema the
 * URL names (?schema=NAME) when it does not exist. */
bool db_begin_schema(db_conn *k, floe_err *err);
bool db_commit(db_conn *k, floe_err *err);
void db_rollback(db_conn *k);
bool db_has_column(db_conn *k, const char *table, const char *column, bool *out, floe_err *err);

/* NULL on error (db_fail has the message). */
db_stmt *db_prepare(db_conn *k, const char *sql);
void db_bind_text(db_stmt *st, int i, const char *s); /* s NULL binds NULL; copied */
void db_bind_int64(db_stmt *st, int i, int64_t v);
void db_bind_null(db_stmt *st, int i);
int db_step(db_stmt *st);   /* DB_ROW, DB_DONE or DB_ERROR */
void db_reset(db_stmt *st); /* to step again; bindings stay */
void db_finalize(db_stmt *st);
/* Columns of the current row: text is NULL for SQL NULL and lives until
 * the next step or reset; an int of NULL is 0. */
const char *db_col_text(db_stmt *st, int i);
int64_t db_col_int64(db_stmt *st, int i);

/* Fills err from the connection's last error: "catalog WHAT: message",
 * FLOE_ECONFLICT for lock timeouts, serialization failures and deadlocks,
 * FLOE_ENOSPC for a full disk, else FLOE_EIO. Returns false. */
bool db_fail(db_conn *k, const char *what, floe_err *err);

#endif
