/*
 * db_sqlite.c: the catalog's SQLite backend (db.h): DIR/catalog.db in WAL
 * mode, one sqlite3 handle per pooled connection. A writer that finds the
 * database locked waits up to 30 s (busy_timeout), then gets SQLITE_BUSY,
 * which db_fail reports as FLOE_ECONFLICT.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

db_conn *db_sqlite_connect(db_t *d, floe_err *err) {
    db_conn *k = calloc(1, sizeof *k);
    k->d = d;
    if (sqlite3_open_v2(d->path, &k->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "open catalog %s: %s", d->path, k->sq ? sqlite3_errmsg(k->sq) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(k->sq, DB_LOCK_TIMEOUT_MS);
    if (!db_exec(k, "PRAGMA journal_mode=WAL", err) ||
        !db_exec(k, d->fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", err))
        goto fail;
    return k;
fail:
    db_sqlite_disconnect(k);
    return NULL;
}

void db_sqlite_disconnect(db_conn *k) {
    sqlite3_close(k->sq);
    free(k);
}

bool db_sqlite_exec(db_conn *k, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(k->sq, sql, NULL, NULL, &msg) == SQLITE_OK) return true;
    k->sq_code = sqlite3_extended_errcode(k->sq);
    db_set_error(k, "%s", msg ? msg : sqlite3_errmsg(k->sq));
    sqlite3_free(msg);
    return false;
}

bool db_sqlite_has_column(db_conn *k, const char *table, const char *column, bool *out) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", column, table);
    sqlite3_stmt *probe = NULL;
    *out = sqlite3_prepare_v2(k->sq, sql, -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    return true;
}

bool db_sqlite_prepare(db_stmt *st, const char *sql, bool persistent) {
    if (sqlite3_prepare_v3(st->k->sq, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st->sq, NULL) == SQLITE_OK)
        return true;
    st->k->sq_code = sqlite3_extended_errcode(st->k->sq);
    db_set_error(st->k, "%s", sqlite3_errmsg(st->k->sq));
    return false;
}
