/*
 * rest_kv.c: what the Iceberg REST API keeps beside the commit log, in
 * catalog.db: the responses of requests sent with an Idempotency-Key (so a
 * retry gets the first answer, until the key expires) and the scan and
 * commit metrics reports engines post. Both tables are created on first use.
 */
#include <string.h>

#include "base/time.h"
#include "catalog/cat_http.h"
#include "catalog/cat_int.h"

static const char *rest_schema =
    "CREATE TABLE IF NOT EXISTS rest_idempotency("
    "  key TEXT PRIMARY KEY, request TEXT NOT NULL, status INTEGER NOT NULL, body TEXT,"
    "  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rest_metrics("
    "  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, ref TEXT NOT NULL, namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL, report_type TEXT, report TEXT NOT NULL);";

static cat_conn *conn(cat_t *c, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return NULL;
    char *msg = NULL;
    if (sqlite3_exec(k->db, rest_schema, NULL, NULL, &msg) != SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "catalog: creating the REST tables: %s", msg ? msg : sqlite3_errmsg(k->db));
        sqlite3_free(msg);
        cat_conn_put(c, k);
        return NULL;
    }
    return k;
}

bool rest_idem_get(cat_t *c, const char *key, arena_t *a, rest_idem *out, bool *found, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    sqlite3_stmt *st = NULL;
    bool ok = true;
    *found = false;
    if (sqlite3_prepare_v2(k->db,
                           "SELECT request, status, body FROM rest_idempotency WHERE key = ?1 AND expires_ms > ?2", -1,
                           &st, NULL) != SQLITE_OK)
        ok = cat_sql_fail(k, "reading an idempotency key", err);
    if (ok) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, time_now_ms());
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *found = true;
            out->request = arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
            out->status = sqlite3_column_int(st, 1);
            const char *b = (const char *)sqlite3_column_text(st, 2);
            out->body = b ? arena_strdup(a, b) : NULL;
        } else if (rc != SQLITE_DONE) {
            ok = cat_sql_fail(k, "reading an idempotency key", err);
        }
    }
    sqlite3_finalize(st);
    cat_conn_put(c, k);
    return ok;
}

bool rest_idem_put(cat_t *c, const char *key, const rest_idem *v, int64_t lifetime_ms, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    sqlite3_stmt *st = NULL, *prune = NULL;
    bool ok = true;
    if (sqlite3_prepare_v2(k->db,
                           "INSERT OR REPLACE INTO rest_idempotency(key, request, status, body, expires_ms)"
                           " VALUES(?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(k->db, "DELETE FROM rest_idempotency WHERE expires_ms <= ?1", -1, &prune, NULL) != SQLITE_OK)
        ok = cat_sql_fail(k, "storing an idempotency key", err);
    if (ok) {
        int64_t now = time_now_ms();
        sqlite3_bind_int64(prune, 1, now);
        sqlite3_step(prune);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v->request, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, v->status);
        if (v->body)
            sqlite3_bind_text(st, 4, v->body, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_int64(st, 5, now + lifetime_ms);
        if (sqlite3_step(st) != SQLITE_DONE) ok = cat_sql_fail(k, "storing an idempotency key", err);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(prune);
    cat_conn_put(c, k);
    return ok;
}

bool rest_metrics_put(cat_t *c, const char *ref, const char *ns, const char *name, const char *report_type,
                      const char *report, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    sqlite3_stmt *st = NULL;
    bool ok = true;
    if (sqlite3_prepare_v2(k->db,
                           "INSERT INTO rest_metrics(time_ms, ref, namespace, name, report_type, report)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK)
        ok = cat_sql_fail(k, "storing a metrics report", err);
    if (ok) {
        sqlite3_bind_int64(st, 1, time_now_ms());
        sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
        if (report_type)
            sqlite3_bind_text(st, 5, report_type, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, report, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) ok = cat_sql_fail(k, "storing a metrics report", err);
    }
    sqlite3_finalize(st);
    cat_conn_put(c, k);
    return ok;
}
