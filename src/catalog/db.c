/*
 * db.c: the catalog's SQL interface (db.h): the connection pool, catalog
 * URLs, and the dispatch to the SQLite and PostgreSQL backends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

bool db_url_is_pg(const char *url) {
    return url && (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13));
}

char *db_url_redact(const char *url) {
    if (!url) return strdup("");
    char *out = strdup(url);
    /* scheme://user:PASSWORD@host */
    char *s = strstr(out, "://");
    if (s) {
        char *auth = s + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
        char *colon = strchr(auth, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            char *r = malloc(strlen(out) + 4);
            sprintf(r, "%.*s:***%s", (int)(colon - out), out, at);
            free(out);
            out = r;
        }
    }
    /* ?password=... */
    char *p = strstr(out, "password=");
    if (p && (p[-1] == '?' || p[-1] == '&')) {
        char *end = p + 9 + strcspn(p + 9, "&");
        char *r = malloc(strlen(out) + 4);
        sprintf(r, "%.*s***%s", (int)(p + 9 - out), out, end);
        free(out);
        out = r;
    }
    return out;
}

bool db_url_check(const char *url, floe_err *err) {
    if (!url || !*url || db_url_is_pg(url)) return true;
    char *shown = db_url_redact(url);
    floe_err_set(err, FLOE_EINVAL,
                 "catalog URL '%s' is not one Floe can use: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE "
                 "(or postgresql://...), or nothing for SQLite in the data dir",
                 shown);
    free(shown);
    return false;
}

void db_set_error(db_conn *k, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->errmsg, sizeof k->errmsg, fmt, ap);
    va_end(ap);
    size_t n = strlen(k->errmsg);
    while (n && (k->errmsg[n - 1] == '\n' || k->errmsg[n - 1] == ' ')) k->errmsg[--n] = 0;
}

db_t *db_open(const char *url, const char *path, bool fsync, floe_err *err) {
    db_t *d = calloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    d->fsync = fsync;
    if (url && *url) {
        if (!db_url_check(url, err)) goto fail;
        d->kind = DB_PG;
        d->where = db_url_redact(url);
        if (!db_pg_parse_url(d, url, err)) goto fail;
    } else {
        d->kind = DB_SQLITE;
        d->path = strdup(path);
        d->where = strdup(path);
    }
    db_conn *k = db_conn_get(d, err);
    if (!k) goto fail;
    db_conn_put(d, k);
    return d;
fail:
    db_close(d);
    return NULL;
}

static void stmt_free(db_stmt *st);

static void disconnect(db_conn *k) {
    for (int i = 0; i < k->ncache; i++) stmt_free(k->cache[i]);
    k->ncache = 0;
    if (k->d->kind == DB_PG)
        db_pg_disconnect(k);
    else
        db_sqlite_disconnect(k);
}

void db_close(db_t *d) {
    if (!d) return;
    while (d->pool) {
        db_conn *k = d->pool;
        d->pool = k->next;
        disconnect(k);
    }
    pthread_mutex_destroy(&d->lock);
    free(d->path);
    free(d->conninfo);
    free(d->schema);
    free(d->where);
    free(d);
}

db_kind db_kind_of(const db_t *d) { return d->kind; }
const char *db_where(const db_t *d) { return d->where; }

db_conn *db_conn_get(db_t *d, floe_err *err) {
    for (;;) {
        pthread_mutex_lock(&d->lock);
        db_conn *k = d->pool;
        if (k) {
            d->pool = k->next;
            d->idle--;
        }
        pthread_mutex_unlock(&d->lock);
        if (!k) return d->kind == DB_PG ? db_pg_connect(d, err) : db_sqlite_connect(d, err);
        if (d->kind != DB_PG || db_pg_usable(k)) return k;
        disconnect(k); /* the server went away: try the next, or connect anew */
    }
}

void db_conn_put(db_t *d, db_conn *k) {
    if (!k) return;
    if (d->kind == DB_PG && !db_pg_usable(k)) {
        disconnect(k);
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (d->idle < DB_POOL_IDLE) {
        k->next = d->pool;
        d->pool = k;
        d->idle++;
        k = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    if (k) disconnect(k);
}

bool db_fail(db_conn *k, const char *what, floe_err *err) {
    floe_code fc = FLOE_EIO;
    if (k->d->kind == DB_PG) {
        const char *s = k->sqlstate;
        if (!strcmp(s, "40001") || !strcmp(s, "40P01") || !strcmp(s, "55P03"))
            fc = FLOE_ECONFLICT;
        else if (!strcmp(s, "53100"))
            fc = FLOE_ENOSPC;
    } else {
        if ((k->sq_code & 0xff) == SQLITE_FULL) fc = FLOE_ENOSPC;
        if ((k->sq_code & 0xff) == SQLITE_BUSY) fc = FLOE_ECONFLICT;
    }
    return floe_err_set(err, fc, "catalog %s: %s", what, k->errmsg);
}

bool db_exec(db_conn *k, const char *sql, floe_err *err) {
    bool ok = k->d->kind == DB_PG ? db_pg_exec(k, sql) : db_sqlite_exec(k, sql);
    if (ok) return true;
    db_fail(k, "", err);
    return floe_err_set(err, err->code, "catalog: %s: %s", sql, k->errmsg);
}

static bool begin(db_conn *k, bool schema, floe_err *err) {
    bool ok = k->d->kind == DB_PG ? db_pg_begin(k, schema) : db_sqlite_exec(k, "BEGIN IMMEDIATE");
    if (ok) return true;
    db_fail(k, "", err);
    if (err->code == FLOE_ECONFLICT)
        return floe_err_set(err, FLOE_ECONFLICT, "catalog: another writer held the catalog for %d s (%s); retry",
                            DB_LOCK_TIMEOUT_MS / 1000, k->errmsg);
    return floe_err_set(err, err->code, "catalog: starting a write transaction: %s", k->errmsg);
}

bool db_begin_write(db_conn *k, floe_err *err) { return begin(k, false, err); }
bool db_begin_schema(db_conn *k, floe_err *err) { return begin(k, true, err); }

bool db_commit(db_conn *k, floe_err *err) { return db_exec(k, "COMMIT", err); }

void db_rollback(db_conn *k) {
    if (k->d->kind == DB_PG)
        db_pg_exec(k, "ROLLBACK");
    else
        db_sqlite_exec(k, "ROLLBACK");
}

bool db_has_column(db_conn *k, const char *table, const char *column, bool *out, floe_err *err) {
    bool ok =
        k->d->kind == DB_PG ? db_pg_has_column(k, table, column, out) : db_sqlite_has_column(k, table, column, out);
    return ok || db_fail(k, "reading the schema", err);
}

/* ---- statements ---- */

/* A statement is kept on its connection once prepared (SQLite:
 * SQLITE_PREPARE_PERSISTENT; PostgreSQL: the $N text), and db_finalize
 * hands it back reset with its bindings cleared. A statement whose cached
 * copy is in use (the same SQL stepped in a loop around another) is
 * prepared afresh and freed by db_finalize. */
db_stmt *db_prepare(db_conn *k, const char *sql) {
    for (int i = 0; i < k->ncache; i++) {
        db_stmt *c = k->cache[i];
        if (!c->in_use && !strcmp(c->text, sql)) {
            c->in_use = true;
            return c;
        }
    }
    db_stmt *st = calloc(1, sizeof *st);
    st->k = k;
    bool keep = k->ncache < DB_STMT_CACHE;
    bool ok = k->d->kind == DB_PG ? db_pg_prepare(st, sql) : db_sqlite_prepare(st, sql, keep);
    if (!ok) {
        stmt_free(st);
        return NULL;
    }
    if (keep) {
        st->text = strdup(sql);
        st->cached = st->in_use = true;
        k->cache[k->ncache++] = st;
    }
    return st;
}

static void pg_set(db_stmt *st, int i, char *v) {
    if (i < 1 || i > st->nparams) {
        free(v);
        return;
    }
    free(st->vals[i - 1]);
    st->vals[i - 1] = v;
}

void db_bind_text(db_stmt *st, int i, const char *s) {
    if (!st) return;
    if (st->sq) {
        if (s)
            sqlite3_bind_text(st->sq, i, s, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st->sq, i);
    } else {
        pg_set(st, i, s ? strdup(s) : NULL);
    }
}

void db_bind_int64(db_stmt *st, int i, int64_t v) {
    if (!st) return;
    if (st->sq) {
        sqlite3_bind_int64(st->sq, i, v);
    } else {
        char b[24];
        snprintf(b, sizeof b, "%lld", (long long)v);
        pg_set(st, i, strdup(b));
    }
}

void db_bind_null(db_stmt *st, int i) { db_bind_text(st, i, NULL); }

int db_step(db_stmt *st) {
    if (!st->sq) return db_pg_step(st);
    int rc = sqlite3_step(st->sq);
    if (rc == SQLITE_ROW) return DB_ROW;
    if (rc == SQLITE_DONE) return DB_DONE;
    st->k->sq_code = sqlite3_extended_errcode(st->k->sq);
    db_set_error(st->k, "%s", sqlite3_errmsg(st->k->sq));
    return DB_ERROR;
}

void db_reset(db_stmt *st) {
    if (st->sq)
        sqlite3_reset(st->sq);
    else
        db_pg_reset(st);
}

static void stmt_free(db_stmt *st) {
    if (st->sq) sqlite3_finalize(st->sq);
    db_pg_reset(st);
    for (int i = 0; i < st->nparams; i++) free(st->vals[i]);
    free(st->vals);
    free(st->sql);
    free(st->text);
    free(st);
}

void db_finalize(db_stmt *st) {
    if (!st) return;
    if (!st->cached) {
        stmt_free(st);
        return;
    }
    /* back to the cache: reset (a statement left mid-step would hold a
     * read snapshot open), bindings cleared */
    if (st->sq) {
        sqlite3_reset(st->sq);
        sqlite3_clear_bindings(st->sq);
    } else {
        db_pg_reset(st);
        for (int i = 0; i < st->nparams; i++) {
            free(st->vals[i]);
            st->vals[i] = NULL;
        }
    }
    st->in_use = false;
}

const char *db_col_text(db_stmt *st, int i) {
    if (st->sq) return (const char *)sqlite3_column_text(st->sq, i);
    if (!st->res || st->row < 0 || st->row >= st->nrows || i >= PQnfields(st->res) || PQgetisnull(st->res, st->row, i))
        return NULL;
    return PQgetvalue(st->res, st->row, i);
}

int64_t db_col_int64(db_stmt *st, int i) {
    if (st->sq) return sqlite3_column_int64(st->sq, i);
    const char *t = db_col_text(st, i);
    if (!t) return 0;
    if (!strcmp(t, "t")) return 1; /* a boolean */
    return strtoll(t, NULL, 10);
}
