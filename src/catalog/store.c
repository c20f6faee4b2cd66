/*
 * store.c: the catalog's commit log in SQLite (DIR/catalog.db, WAL).
 *
 * A commit appends one row to commits and its changes to ops, moves the
 * ref's head, and updates heads (the contents visible at each ref) in the
 * same write transaction, opened with BEGIN IMMEDIATE so writers from every
 * process serialise on SQLite's lock. Each op's expectation (the metadata
 * location it was based on, or absence) is checked inside that transaction:
 * this is the compare-and-swap. With synchronous=FULL a commit is durable
 * when COMMIT returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_int.h"

static const char *schema_sql =
    "CREATE TABLE IF NOT EXISTS refs("
    "  name TEXT PRIMARY KEY, is_tag INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS commits("
    "  seq INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent TEXT NOT NULL, time_ms INTEGER NOT NULL,"
    "  author TEXT, message TEXT, props TEXT, parent2 TEXT, gen INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS ops("
    "  commit_seq INTEGER NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, kind TEXT, content_id TEXT,"
    "  location TEXT, content TEXT, PRIMARY KEY(commit_seq, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS heads("
    "  ref TEXT NOT NULL, key TEXT NOT NULL, parent TEXT NOT NULL, kind TEXT NOT NULL, content_id TEXT NOT NULL,"
    "  location TEXT, content TEXT NOT NULL, PRIMARY KEY(ref, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS heads_by_parent ON heads(ref, parent, key);"
    "CREATE TABLE IF NOT EXISTS reflog("
    "  seq INTEGER PRIMARY KEY, ref TEXT NOT NULL, old_hash TEXT, new_hash TEXT, operation TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reflog_by_ref ON reflog(ref, seq);"
    "INSERT OR IGNORE INTO refs(name, is_tag, hash) VALUES('main', 0, '" CAT_NO_ANCESTOR "');";

bool cat_sql_fail(cat_conn *k, const char *what, floe_err *err) {
    int code = sqlite3_extended_errcode(k->db);
    floe_code fc = (code & 0xff) == SQLITE_FULL ? FLOE_ENOSPC : FLOE_EIO;
    if ((code & 0xff) == SQLITE_BUSY) fc = FLOE_ECONFLICT;
    return floe_err_set(err, fc, "catalog %s: %s", what, sqlite3_errmsg(k->db));
}

bool cat_exec(cat_conn *k, const char *sql, floe_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(k->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "catalog: %s: %s", sql, msg ? msg : sqlite3_errmsg(k->db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* Catalogs written before versions.c have commits without parent2 and gen:
 * add the columns and number the (linear) history, oldest first. Each
 * statement is plain SQL so the PostgreSQL store can do the same. */
static bool upgrade(cat_conn *k, floe_err *err) {
    sqlite3_stmt *probe = NULL;
    bool has_gen = sqlite3_prepare_v2(k->db, "SELECT gen, parent2 FROM commits LIMIT 0", -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has_gen) return true;
    if (!cat_exec(k, "ALTER TABLE commits ADD COLUMN parent2 TEXT", err) ||
        !cat_exec(k, "ALTER TABLE commits ADD COLUMN gen INTEGER NOT NULL DEFAULT 0", err))
        return false;
    sqlite3_stmt *all = NULL, *set = NULL;
    bool ok = sqlite3_prepare_v2(k->db, "SELECT seq FROM commits ORDER BY seq", -1, &all, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(k->db,
                                 "UPDATE commits SET gen = 1 + COALESCE((SELECT p.gen FROM commits p"
                                 " WHERE p.hash = commits.parent), 0) WHERE seq = ?1",
                                 -1, &set, NULL) == SQLITE_OK;
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(all)) == SQLITE_ROW) {
        sqlite3_bind_int64(set, 1, sqlite3_column_int64(all, 0));
        ok = sqlite3_step(set) == SQLITE_DONE;
        sqlite3_reset(set);
    }
    if (!ok || rc != SQLITE_DONE) cat_sql_fail(k, "upgrading the commit log (numbering generations)", err);
    sqlite3_finalize(all);
    sqlite3_finalize(set);
    return ok && rc == SQLITE_DONE;
}

static cat_conn *conn_open(cat_t *c, floe_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", c->dir);
    cat_conn *k = calloc(1, sizeof *k);
    if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "open catalog %s: %s", path, k->db ? sqlite3_errmsg(k->db) : "out of memory");
        sqlite3_close(k->db);
        free(k);
        return NULL;
    }
    sqlite3_busy_timeout(k->db, 30000);
    if (!cat_exec(k, "PRAGMA journal_mode=WAL", err) ||
        !cat_exec(k, c->fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", err)) {
        sqlite3_close(k->db);
        free(k);
        return NULL;
    }
    return k;
}

cat_conn *cat_conn_get(cat_t *c, floe_err *err) {
    pthread_mutex_lock(&c->lock);
    cat_conn *k = c->pool;
    if (k) {
        c->pool = k->next;
        c->idle--;
    }
    pthread_mutex_unlock(&c->lock);
    return k ? k : conn_open(c, err);
}

void cat_conn_put(cat_t *c, cat_conn *k) {
    if (!k) return;
    pthread_mutex_lock(&c->lock);
    if (c->idle < 4) {
        k->next = c->pool;
        c->pool = k;
        c->idle++;
        k = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (k) {
        sqlite3_close(k->db);
        free(k);
    }
}

cat_t *cat_open(const cat_opts *opts, floe_err *err) {
    cat_t *c = calloc(1, sizeof *c);
    c->dir = strdup(opts->dir);
    c->warehouse = strdup(opts->warehouse ? opts->warehouse : "s3://warehouse");
    while (strlen(c->warehouse) > 5 && c->warehouse[strlen(c->warehouse) - 1] == '/')
        c->warehouse[strlen(c->warehouse) - 1] = 0;
    c->io = opts->io;
    c->fsync = opts->fsync;
    pthread_mutex_init(&c->lock, NULL);
    cat_conn *k = cat_conn_get(c, err);
    if (!k) goto fail;
    /* Creating the schema takes the write lock: concurrent first opens wait. */
    if (!cat_exec(k, "BEGIN IMMEDIATE", err)) goto fail_conn;
    if (!cat_exec(k, schema_sql, err) || !upgrade(k, err)) {
        sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail_conn;
    }
    if (!cat_exec(k, "COMMIT", err)) goto fail_conn;
    cat_conn_put(c, k);
    return c;
fail_conn:
    floe_err_wrap(err, "opening the catalog in %s", opts->dir);
    sqlite3_close(k->db);
    free(k);
fail:
    cat_close(c);
    return NULL;
}

void cat_close(cat_t *c) {
    if (!c) return;
    while (c->pool) {
        cat_conn *k = c->pool;
        c->pool = k->next;
        sqlite3_close(k->db);
        free(k);
    }
    for (int i = 0; i < c->nctx; i++) free(c->ctxs[i].ref);
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c->warehouse);
    free(c);
}

fileio_t *cat_io(cat_t *c) { return c->io; }
const char *cat_warehouse(cat_t *c) { return c->warehouse; }

/* ---- keys ---- */

char *cat_key(arena_t *a, const char *ns, const char *name) {
    size_t nl = strlen(ns), ml = name ? strlen(name) : 0;
    char *k = arena_alloc(a, nl + ml + 2);
    memcpy(k, ns, nl);
    for (size_t i = 0; i < nl; i++)
        if (k[i] == '.') k[i] = CAT_SEP;
    if (name) {
        k[nl] = CAT_SEP;
        memcpy(k + nl + 1, name, ml + 1);
    } else {
        k[nl] = 0;
    }
    return k;
}

char *cat_key_parent(arena_t *a, const char *key) {
    const char *sep = strrchr(key, CAT_SEP);
    return sep ? arena_strndup(a, key, (size_t)(sep - key)) : arena_strdup(a, "");
}

/* ---- reading ---- */

const char *cat_col_text(arena_t *a, sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? arena_strdup(a, (const char *)t) : NULL;
}

bool cat_ref_read(cat_conn *k, const char *ref, arena_t *a, cat_ref *out, floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(k->db, "SELECT name, is_tag, hash FROM refs WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
        return cat_sql_fail(k, "reading refs", err);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = false;
    if (rc == SQLITE_ROW) {
        out->name = cat_col_text(a, st, 0);
        out->is_tag = sqlite3_column_int(st, 1) != 0;
        out->hash = cat_col_text(a, st, 2);
        ok = true;
    } else if (rc == SQLITE_DONE) {
        floe_err_set(err, FLOE_ENOENT, "no branch or tag named '%s' in the catalog (see `floe branch list`)", ref);
    } else {
        cat_sql_fail(k, "reading refs", err);
    }
    sqlite3_finalize(st);
    return ok;
}

bool cat_ref_get(cat_t *c, const char *name, arena_t *a, cat_ref *out, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    bool ok = cat_ref_read(k, name ? name : CAT_MAIN, a, out, err);
    cat_conn_put(c, k);
    return ok;
}

bool cat_ref_list(cat_t *c, arena_t *a, cat_ref **out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    size_t cap = 8, cnt = 0;
    cat_ref *v = arena_alloc(a, cap * sizeof *v);
    if (sqlite3_prepare_v2(k->db, "SELECT name, is_tag, hash FROM refs ORDER BY name", -1, &st, NULL) != SQLITE_OK) {
        cat_sql_fail(k, "listing refs", err);
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cat_ref *nv = arena_alloc(a, 2 * cap * sizeof *v);
            memcpy(nv, v, cnt * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[cnt].name = cat_col_text(a, st, 0);
        v[cnt].is_tag = sqlite3_column_int(st, 1) != 0;
        v[cnt].hash = cat_col_text(a, st, 2);
        cnt++;
    }
    if (rc != SQLITE_DONE) {
        cat_sql_fail(k, "listing refs", err);
        goto done;
    }
    *out = v;
    *n = cnt;
    ok = true;
done:
    sqlite3_finalize(st);
    cat_conn_put(c, k);
    return ok;
}

bool cat_head_get(cat_conn *k, const char *ref, const char *key, arena_t *a, cat_content *out, bool *found,
                  floe_err *err) {
    /* "main~2", "dev@3f2a...", a bare hash: read at that commit */
    if (cat_is_refspec(ref)) return cat_content_at_spec(k, ref, key, a, out, found, err);
    cat_ref r;
    if (!cat_ref_read(k, ref, a, &r, err)) {
        size_t n = strlen(ref);
        if (err->code != FLOE_ENOENT || n < 8 || strspn(ref, "0123456789abcdefABCDEF") != n) return false;
        return cat_content_at_spec(k, ref, key, a, out, found, err);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(k->db, "SELECT kind, content_id, location, content FROM heads WHERE ref = ?1 AND key = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return cat_sql_fail(k, "reading contents", err);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = true;
    *found = false;
    if (rc == SQLITE_ROW) {
        out->kind = cat_col_text(a, st, 0);
        out->content_id = cat_col_text(a, st, 1);
        out->location = cat_col_text(a, st, 2);
        out->json = cat_col_text(a, st, 3);
        *found = true;
    } else if (rc != SQLITE_DONE) {
        ok = cat_sql_fail(k, "reading contents", err);
    }
    sqlite3_finalize(st);
    return ok;
}

/* ---- committing ---- */

static bool step_done(cat_conn *k, sqlite3_stmt *st, const char *what, floe_err *err) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return cat_sql_fail(k, what, err);
    return true;
}

static void commit_hash(const char *parent, int64_t now, const cat_op *ops, size_t n, char out[65]) {
    hash_ctx h;
    hash_init(&h, HASH_SHA256);
    hash_update(&h, parent, strlen(parent));
    hash_update(&h, &now, sizeof now);
    for (size_t i = 0; i < n; i++) {
        hash_update(&h, ops[i].key, strlen(ops[i].key) + 1);
        if (ops[i].content) hash_update(&h, ops[i].content->json, strlen(ops[i].content->json) + 1);
    }
    char nonce[37];
    str_uuid4(nonce);
    hash_update(&h, nonce, 36);
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&h, d);
    str_hex(d, 32, out);
}

const char *cat_key_display(arena_t *a, const char *key) {
    char *d = arena_strdup(a, key);
    for (char *p = d; *p; p++)
        if (*p == CAT_SEP) *p = '.';
    return d;
}

bool cat_reflog_add(cat_conn *k, const char *ref, const char *old_hash, const char *new_hash, const char *operation,
                    floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(k->db,
                           "INSERT INTO reflog(ref, old_hash, new_hash, operation, time_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return cat_sql_fail(k, "writing the reflog", err);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, old_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, new_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, operation, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, time_now_ms());
    bool ok = step_done(k, st, "writing the reflog", err);
    sqlite3_finalize(st);
    return ok;
}

bool cat_heads_apply(cat_conn *k, const char *ref, const char *key, const cat_content *ct, arena_t *a, floe_err *err) {
    sqlite3_stmt *st = NULL;
    const char *sql = ct ? "INSERT OR REPLACE INTO heads(ref, key, parent, kind, content_id, location, content)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                         : "DELETE FROM heads WHERE ref = ?1 AND key = ?2";
    if (sqlite3_prepare_v2(k->db, sql, -1, &st, NULL) != SQLITE_OK) return cat_sql_fail(k, "updating heads", err);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (ct) {
        sqlite3_bind_text(st, 3, cat_key_parent(a, key), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ct->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, ct->content_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, ct->location, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, ct->json, -1, SQLITE_STATIC);
    }
    bool ok = step_done(k, st, "updating heads", err);
    sqlite3_finalize(st);
    return ok;
}

bool cat_commit_write(cat_conn *k, const cat_ref *r, const char *parent2, const cat_op *ops, size_t n,
                      const char *message, const char *operation, arena_t *a, const char **out_hash, floe_err *err) {
    sqlite3_stmt *gen = NULL, *ins_commit = NULL, *ins_op = NULL, *mv = NULL;
    bool ok = false;
    char *hash = arena_alloc(a, 65);
    int64_t now = time_now_ms();
    commit_hash(r->hash, now, ops, n, hash);
    if (sqlite3_prepare_v2(k->db, "SELECT MAX(gen) FROM commits WHERE hash = ?1 OR hash = ?2", -1, &gen, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(k->db,
                           "INSERT INTO commits(hash, parent, parent2, gen, time_ms, author, message)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &ins_commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(k->db,
                           "INSERT INTO ops(commit_seq, key, op, kind, content_id, location, content)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &ins_op, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(k->db, "UPDATE refs SET hash = ?2 WHERE name = ?1", -1, &mv, NULL) != SQLITE_OK) {
        cat_sql_fail(k, "preparing a commit", err);
        goto done;
    }
    /* the generation: one more than the deeper parent (the empty log is 0) */
    sqlite3_bind_text(gen, 1, r->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(gen, 2, parent2 ? parent2 : r->hash, -1, SQLITE_STATIC);
    if (sqlite3_step(gen) != SQLITE_ROW) {
        cat_sql_fail(k, "reading the parent's generation", err);
        goto done;
    }
    int64_t g = sqlite3_column_int64(gen, 0) + 1;
    const char *author = getenv("USER");
    sqlite3_bind_text(ins_commit, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_commit, 2, r->hash, -1, SQLITE_STATIC);
    if (parent2)
        sqlite3_bind_text(ins_commit, 3, parent2, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins_commit, 3);
    sqlite3_bind_int64(ins_commit, 4, g);
    sqlite3_bind_int64(ins_commit, 5, now);
    sqlite3_bind_text(ins_commit, 6, author ? author : "floe", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_commit, 7, message ? message : "", -1, SQLITE_STATIC);
    if (!step_done(k, ins_commit, "writing a commit", err)) goto done;
    int64_t seq = sqlite3_last_insert_rowid(k->db);
    for (size_t i = 0; i < n; i++) {
        const cat_content *ct = ops[i].content;
        if (ops[i].check_only) continue;
        sqlite3_bind_int64(ins_op, 1, seq);
        sqlite3_bind_text(ins_op, 2, ops[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_op, 3, ct ? "put" : "delete", -1, SQLITE_STATIC);
        if (ct) {
            sqlite3_bind_text(ins_op, 4, ct->kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_op, 5, ct->content_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_op, 6, ct->location, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_op, 7, ct->json, -1, SQLITE_STATIC);
        } else {
            for (int j = 4; j <= 7; j++) sqlite3_bind_null(ins_op, j);
        }
        if (!step_done(k, ins_op, "writing a commit", err)) goto done;
        if (!cat_heads_apply(k, r->name, ops[i].key, ct, a, err)) goto done;
    }
    sqlite3_bind_text(mv, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(mv, 2, hash, -1, SQLITE_STATIC);
    if (!step_done(k, mv, "writing a commit", err)) goto done;
    if (!cat_reflog_add(k, r->name, r->hash, hash, operation, err)) goto done;
    if (out_hash) *out_hash = hash;
    ok = true;
done:
    sqlite3_finalize(gen);
    sqlite3_finalize(ins_commit);
    sqlite3_finalize(ins_op);
    sqlite3_finalize(mv);
    return ok;
}

bool cat_commit_ops(cat_t *c, const char *ref, const cat_op *ops, size_t n, const char *message, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    arena_t a;
    arena_init(&a, 4096);
    bool ok = false, in_tx = false;
    if (!cat_exec(k, "BEGIN IMMEDIATE", err)) {
        if (sqlite3_extended_errcode(k->db) == SQLITE_BUSY) err->code = FLOE_ECONFLICT;
        goto done;
    }
    in_tx = true;
    cat_ref r;
    if (cat_is_refspec(ref)) {
        floe_err_set(err, FLOE_EINVAL, "'%s' names a past commit, which is read-only; commit to a branch", ref);
        goto done;
    }
    if (!cat_ref_read(k, ref, &a, &r, err)) goto done;
    if (r.is_tag) {
        floe_err_set(err, FLOE_EINVAL, "'%s' is a tag, and tags cannot be committed to; commit to a branch", ref);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].check) continue;
        cat_content cur;
        bool found;
        if (!cat_head_get(k, ref, ops[i].key, &a, &cur, &found, err)) goto done;
        if (ops[i].expect_absent && found) {
            floe_err_set(err, FLOE_EEXIST, "'%s' already exists on '%s'", cat_key_display(&a, ops[i].key), ref);
            goto done;
        }
        if (ops[i].expect_empty) {
            sqlite3_stmt *q = NULL;
            if (sqlite3_prepare_v2(k->db, "SELECT key FROM heads WHERE ref = ?1 AND parent = ?2 LIMIT 1", -1, &q,
                                   NULL) != SQLITE_OK) {
                cat_sql_fail(k, "checking a namespace", err);
                goto done;
            }
            sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, ops[i].key, -1, SQLITE_STATIC);
            int rc = sqlite3_step(q);
            const char *child = rc == SQLITE_ROW ? cat_key_display(&a, (const char *)sqlite3_column_text(q, 0)) : NULL;
            sqlite3_finalize(q);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                cat_sql_fail(k, "checking a namespace", err);
                goto done;
            }
            if (child) {
                floe_err_set(err, FLOE_ECONFLICT, "namespace '%s' is not empty: it holds '%s'; drop that first",
                             cat_key_display(&a, ops[i].key), child);
                goto done;
            }
        }
        if (ops[i].check_only && !found) {
            floe_err_set(err, FLOE_ENOENT,
                         "namespace '%s' does not exist on '%s'; create it first with "
                         "`floe namespace create %s`",
                         cat_key_display(&a, ops[i].key), ref, cat_key_display(&a, ops[i].key));
            goto done;
        }
        if (!ops[i].expect_absent && !ops[i].check_only) {
            if (!found) {
                floe_err_set(err, FLOE_ECONFLICT, "'%s' was dropped from '%s' by a concurrent commit",
                             cat_key_display(&a, ops[i].key), ref);
                goto done;
            }
            if (!str_eq(cur.location, ops[i].expect_location)) {
                floe_err_set(err, FLOE_ECONFLICT,
                             "'%s' changed on '%s' by a concurrent commit (now at %s, this change was based on %s)",
                             cat_key_display(&a, ops[i].key), ref, cur.location ? cur.location : "-",
                             ops[i].expect_location ? ops[i].expect_location : "-");
                goto done;
            }
        }
    }
    if (!cat_commit_write(k, &r, NULL, ops, n, message, "COMMIT", &a, NULL, err)) goto done;
    if (!cat_exec(k, "COMMIT", err)) goto done;
    in_tx = false;
    ok = true;
done:
    if (in_tx) sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
    cat_conn_put(c, k);
    arena_free(&a);
    return ok;
}

bool cat_log(cat_t *c, const char *ref, size_t max, arena_t *a, cat_commit **out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_ref r;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    size_t cap = 16, cnt = 0;
    cat_commit *v = arena_alloc(a, cap * sizeof *v);
    if (!cat_ref_read(k, ref ? ref : CAT_MAIN, a, &r, err)) goto done;
    if (sqlite3_prepare_v2(k->db, "SELECT hash, parent, time_ms, author, message, parent2 FROM commits WHERE hash = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        cat_sql_fail(k, "reading the log", err);
        goto done;
    }
    const char *h = r.hash;
    while (strcmp(h, CAT_NO_ANCESTOR) && (max == 0 || cnt < max)) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, h, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            if (rc == SQLITE_DONE)
                floe_err_set(err, FLOE_EINTERNAL, "catalog log: commit %s is missing (the catalog is damaged)", h);
            else
                cat_sql_fail(k, "reading the log", err);
            goto done;
        }
        if (cnt == cap) {
            cat_commit *nv = arena_alloc(a, 2 * cap * sizeof *v);
            memcpy(nv, v, cnt * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[cnt].hash = cat_col_text(a, st, 0);
        v[cnt].parent = cat_col_text(a, st, 1);
        v[cnt].time_ms = sqlite3_column_int64(st, 2);
        v[cnt].author = cat_col_text(a, st, 3);
        v[cnt].message = cat_col_text(a, st, 4);
        v[cnt].parent2 = cat_col_text(a, st, 5);
        h = v[cnt].parent;
        cnt++;
    }
    *out = v;
    *n = cnt;
    ok = true;
done:
    sqlite3_finalize(st);
    cat_conn_put(c, k);
    return ok;
}
