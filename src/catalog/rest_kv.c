/*
 * rest_kv.c: what the Iceberg REST API keeps beside the commit log: the
 * responses of requests sent with an Idempotency-Key (so a
 * retry gets the first answer, until the key expires) and the scan and
 * commit metrics reports engines post, in the catalog's database (SQLite
 * or PostgreSQL).
 */
#include <string.h>

#include "base/time.h"
#include "catalog/cat_http.h"
#include "catalog/cat_int.h"

/* The tables (rest_idempotency, rest_metrics) are created with the rest
 * of the schema when the catalog opens (store.c). */
static cat_conn *conn(cat_t *c, floe_err *err) { return cat_conn_get(c, err); }

bool rest_idem_get(cat_t *c, const char *key, arena_t *a, rest_idem *out, bool *found, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    db_stmt *st = NULL;
    bool ok = true;
    *found = false;
    if (!(st = db_prepare(k, "SELECT request, status, body FROM rest_idempotency WHERE key = ?1 AND expires_ms > ?2")))
        ok = db_fail(k, "reading an idempotency key", err);
    if (ok) {
        db_bind_text(st, 1, key);
        db_bind_int64(st, 2, time_now_ms());
        int rc = db_step(st);
        if (rc == DB_ROW) {
            *found = true;
            out->request = arena_strdup(a, db_col_text(st, 0));
            out->status = db_col_int64(st, 1);
            const char *b = db_col_text(st, 2);
            out->body = b ? arena_strdup(a, b) : NULL;
        } else if (rc != DB_DONE) {
            ok = db_fail(k, "reading an idempotency key", err);
        }
    }
    db_finalize(st);
    cat_conn_put(c, k);
    return ok;
}

bool rest_idem_put(cat_t *c, const char *key, const rest_idem *v, int64_t lifetime_ms, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    db_stmt *st = NULL, *prune = NULL;
    bool ok = true;
    if (!(st = db_prepare(k, "INSERT INTO rest_idempotency(key, request, status, body, expires_ms)"
                             " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET request = excluded.request,"
                             " status = excluded.status, body = excluded.body, expires_ms = excluded.expires_ms")) ||
        !(prune = db_prepare(k, "DELETE FROM rest_idempotency WHERE expires_ms <= ?1")))
        ok = db_fail(k, "storing an idempotency key", err);
    if (ok) {
        int64_t now = time_now_ms();
        db_bind_int64(prune, 1, now);
        db_step(prune);
        db_bind_text(st, 1, key);
        db_bind_text(st, 2, v->request);
        db_bind_int64(st, 3, v->status);
        if (v->body)
            db_bind_text(st, 4, v->body);
        else
            db_bind_null(st, 4);
        db_bind_int64(st, 5, now + lifetime_ms);
        if (db_step(st) != DB_DONE) ok = db_fail(k, "storing an idempotency key", err);
    }
    db_finalize(st);
    db_finalize(prune);
    cat_conn_put(c, k);
    return ok;
}

bool rest_metrics_put(cat_t *c, const char *ref, const char *ns, const char *name, const char *report_type,
                      const char *report, floe_err *err) {
    cat_conn *k = conn(c, err);
    if (!k) return false;
    db_stmt *st = NULL;
    bool ok = true;
    if (!(st = db_prepare(k, "INSERT INTO rest_metrics(time_ms, ref, namespace, name, report_type, report)"
                             " VALUES(?1, ?2, ?3, ?4, ?5, ?6)")))
        ok = db_fail(k, "storing a metrics report", err);
    if (ok) {
        db_bind_int64(st, 1, time_now_ms());
        db_bind_text(st, 2, ref);
        db_bind_text(st, 3, ns);
        db_bind_text(st, 4, name);
        if (report_type)
            db_bind_text(st, 5, report_type);
        else
            db_bind_null(st, 5);
        db_bind_text(st, 6, report);
        if (db_step(st) != DB_DONE) ok = db_fail(k, "storing a metrics report", err);
    }
    db_finalize(st);
    cat_conn_put(c, k);
    return ok;
}
