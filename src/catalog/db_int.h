/*
 * db_int.h: what db.c (the pool, URLs, dispatch) shares with the two
 * backends, db_sqlite.c and db_pg.c.
 */
#ifndef FLOE_CATALOG_DB_INT_H
#define FLOE_CATALOG_DB_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "catalog/db.h"
#include "catalog/pq_dl.h"

/* Idle connections kept: as many as the HTTP server has workers (16), so a
 * burst of requests does not close and reopen connections (and lose their
 * prepared statements). */
#define DB_POOL_IDLE 16
/* Prepared statements kept per connection, by SQL text. */
#define DB_STMT_CACHE 48
#define DB_LOCK_TIMEOUT_MS 30000

struct db {
    db_kind kind;
    char *path;     /* SQLite: the file */
    bool fsync;     /* SQLite: synchronous=FULL */
    char *conninfo; /* PostgreSQL: the URL as libpq takes it (without schema=) */
    char *schema;   /* PostgreSQL: ?schema=NAME, or NULL */
    char *where;    /* for messages: the path, or the URL without password */
    pthread_mutex_t lock;
    db_conn *pool;
    int idle;
};

struct db_conn {
    db_t *d;
    db_conn *next;
    sqlite3 *sq;
    PGconn *pg;
    int sq_code;                   /* SQLite: the last extended error code */
    char sqlstate[6];              /* PostgreSQL: the last error's SQLSTATE */
    char errmsg[1024];             /* the last error */
    db_stmt *cache[DB_STMT_CACHE]; /* prepared statements kept for reuse */
    int ncache;
};

struct db_stmt {
    db_conn *k;
    char *text;          /* cached: the SQL as given to db_prepare */
    bool cached, in_use; /* kept in k->cache; handed out now */
    sqlite3_stmt *sq;
    /* PostgreSQL: the statement with $N, its parameters (malloc'd text or
     * NULL) and the result being stepped through */
    char *sql;
    int nparams;
    char **vals;
    PGresult *res;
    int row, nrows;
    bool ran;
};

void db_set_error(db_conn *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

db_conn *db_sqlite_connect(db_t *d, floe_err *err);
void db_sqlite_disconnect(db_conn *k);
bool db_sqlite_exec(db_conn *k, const char *sql);
bool db_sqlite_has_column(db_conn *k, const char *table, const char *column, bool *out);
bool db_sqlite_prepare(db_stmt *st, const char *sql, bool persistent);

db_conn *db_pg_connect(db_t *d, floe_err *err);
void db_pg_disconnect(db_conn *k);
bool db_pg_usable(db_conn *k); /* connected and outside any transaction */
bool db_pg_exec(db_conn *k, const char *sql);
bool db_pg_begin(db_conn *k, bool schema);
bool db_pg_has_column(db_conn *k, const char *table, const char *column, bool *out);
bool db_pg_prepare(db_stmt *st, const char *sql);
int db_pg_step(db_stmt *st);
void db_pg_reset(db_stmt *st);
bool db_pg_parse_url(db_t *d, const char *url, floe_err *err);

#endif
