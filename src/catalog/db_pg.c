/*
 * db_pg.c: the catalog's PostgreSQL backend (db.h), over libpq.
 *
 * The URL is libpq's (postgres://USER:PASSWORD@HOST:PORT/DB?...), plus one
 * parameter of Floe's own, schema=NAME: the catalog's tables live in that
 * schema (created on first open), so several catalogs can share a
 * database. Statements run with PQexecParams, parameters as text, ?N
 * rewritten to $N.
 *
 * Writers serialise on a transaction-level advisory lock keyed by the
 * schema, taken right after BEGIN: every node of a catalog takes the same
 * lock, so the compare-and-swap in store.c holds across nodes exactly as
 * SQLite's BEGIN IMMEDIATE makes it hold across processes. Transactions
 * run at READ COMMITTED, so each statement after the lock sees every
 * commit made before it was granted. A writer waits at most
 * lock_timeout (30 s), then gets SQLSTATE 55P03: FLOE_ECONFLICT.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db_int.h"

/* pg_advisory_xact_lock(FLOE_LOCK_CLASS, hashtext(schema)) */
#define FLOE_LOCK_CLASS 1718382437 /* "floe" */

static void quiet(void *arg, const char *msg) {
    (void)arg;
    (void)msg; /* NOTICEs of CREATE ... IF NOT EXISTS */
}

/* Takes schema=NAME out of the URL's query: libpq would refuse it. */
bool db_pg_parse_url(db_t *d, const char *url, floe_err *err) {
    char *u = strdup(url);
    char *q = strchr(u, '?');
    if (q) {
        char *out = q; /* rebuild the query in place without schema= */
        char *p = q + 1;
        bool first = true;
        while (*p) {
            size_t n = strcspn(p, "&");
            char save = p[n];
            p[n] = 0;
            if (!strncmp(p, "schema=", 7)) {
                const char *s = p + 7;
                bool ok = *s && (isalpha((unsigned char)*s) || *s == '_') && strlen(s) < 64;
                for (const char *c = s; ok && *c; c++) ok = isalnum((unsigned char)*c) || *c == '_';
                if (!ok) {
                    floe_err_set(err, FLOE_EINVAL,
                                 "catalog URL %s: schema '%s' is not a plain name: expected a letter or '_', then "
                                 "letters, digits or '_' (at most 63), like floe_catalog",
                                 d->where, s);
                    free(u);
                    return false;
                }
                free(d->schema);
                d->schema = strdup(s);
            } else {
                *out++ = first ? '?' : '&';
                memmove(out, p, n);
                out += n;
                first = false;
            }
            p += n;
            if (save) p++;
        }
        *out = 0;
    }
    d->conninfo = u;
    return true;
}

static void set_result_error(db_conn *k, PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(k->sqlstate, sizeof k->sqlstate, "%s", state ? state : "");
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg) msg = PQerrorMessage(k->pg);
    if (PQstatus(k->pg) != CONNECTION_OK)
        db_set_error(k, "lost the connection to PostgreSQL at %s: %s", k->d->where, msg);
    else
        db_set_error(k, "%s", msg);
}

db_conn *db_pg_connect(db_t *d, floe_err *err) {
    if (!pq_dl_load(err)) return NULL;
    db_conn *k = calloc(1, sizeof *k);
    k->d = d;
    k->pg = PQconnectdb(d->conninfo);
    if (!k->pg || PQstatus(k->pg) != CONNECTION_OK) {
        /* libpq's message spans lines: make it one */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", k->pg ? PQerrorMessage(k->pg) : "out of memory");
        for (char *p = msg; *p; p++)
            if (*p == '\n' || *p == '\t') *p = ' ';
        for (size_t n = strlen(msg); n && msg[n - 1] == ' ';) msg[--n] = 0;
        floe_err_set(err, FLOE_EIO,
                     "cannot connect to the PostgreSQL catalog at %s (%s); check that the server is running and "
                     "reachable there, and that the user, password and database in --catalog-url (or "
                     "FLOE_CATALOG_URL) are right",
                     d->where, msg);
        goto fail;
    }
    PQsetNoticeProcessor(k->pg, quiet, NULL);
    char setup[256];
    snprintf(setup, sizeof setup, "SET lock_timeout = %d; SET client_min_messages = warning%s%s%s", DB_LOCK_TIMEOUT_MS,
             d->schema ? "; SET search_path TO \"" : "", d->schema ? d->schema : "", d->schema ? "\"" : "");
    if (!db_pg_exec(k, setup)) {
        floe_err_set(err, FLOE_EIO, "setting up a connection to the PostgreSQL catalog at %s: %s", d->where, k->errmsg);
        goto fail;
    }
    return k;
fail:
    db_pg_disconnect(k);
    return NULL;
}

void db_pg_disconnect(db_conn *k) {
    if (k->pg) PQfinish(k->pg);
    free(k);
}

bool db_pg_usable(db_conn *k) { return PQstatus(k->pg) == CONNECTION_OK && PQtransactionStatus(k->pg) == PQTRANS_IDLE; }

bool db_pg_exec(db_conn *k, const char *sql) {
    PGresult *res = PQexec(k->pg, sql);
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
    if (!ok) set_result_error(k, res);
    PQclear(res);
    return ok;
}

bool db_pg_begin(db_conn *k, bool schema) {
    if (!db_pg_exec(k, "BEGIN")) return false;
    char sql[256];
    bool ok;
    if (schema) {
        /* one lock for every schema's creation: CREATE ... IF NOT EXISTS
         * races with itself */
        snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d, 0)", FLOE_LOCK_CLASS);
        ok = db_pg_exec(k, sql);
        if (ok && k->d->schema) {
            snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS \"%s\"", k->d->schema);
            ok = db_pg_exec(k, sql);
        }
    } else {
        snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))",
                 FLOE_LOCK_CLASS);
        ok = db_pg_exec(k, sql);
    }
    if (!ok) {
        char keep[sizeof k->errmsg], state[6];
        memcpy(keep, k->errmsg, sizeof keep);
        memcpy(state, k->sqlstate, sizeof state);
        db_pg_exec(k, "ROLLBACK");
        memcpy(k->errmsg, keep, sizeof keep);
        memcpy(k->sqlstate, state, sizeof state);
    }
    return ok;
}

bool db_pg_has_column(db_conn *k, const char *table, const char *column, bool *out) {
    const char *vals[2] = {table, column};
    PGresult *res = PQexecParams(k->pg,
                                 "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                                 " AND table_name = $1 AND column_name = $2",
                                 2, NULL, vals, NULL, NULL, 0);
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok)
        *out = PQntuples(res) > 0;
    else
        set_result_error(k, res);
    PQclear(res);
    return ok;
}

/* ?N becomes $N outside quoted text; nparams is the largest N. */
bool db_pg_prepare(db_stmt *st, const char *sql) {
    size_t n = strlen(sql);
    char *out = malloc(n + 1), *o = out;
    int maxp = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?' && isdigit((unsigned char)p[1])) {
            int v = atoi(p + 1);
            if (v > maxp) maxp = v;
            *o++ = '$';
            continue;
        }
        *o++ = *p;
    }
    *o = 0;
    st->sql = out;
    st->nparams = maxp;
    st->vals = calloc((size_t)maxp + 1, sizeof *st->vals);
    st->row = -1;
    return true;
}

int db_pg_step(db_stmt *st) {
    db_conn *k = st->k;
    if (!st->ran) {
        st->res = PQexecParams(k->pg, st->sql, st->nparams, NULL, (const char *const *)st->vals, NULL, NULL, 0);
        ExecStatusType s = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            set_result_error(k, st->res);
            PQclear(st->res);
            st->res = NULL;
            return DB_ERROR;
        }
        st->ran = true;
        st->nrows = PQntuples(st->res);
        st->row = -1;
    }
    if (st->row < st->nrows) st->row++;
    return st->row < st->nrows ? DB_ROW : DB_DONE;
}

void db_pg_reset(db_stmt *st) {
    if (st->res) PQclear(st->res);
    st->res = NULL;
    st->ran = false;
    st->row = -1;
    st->nrows = 0;
}
