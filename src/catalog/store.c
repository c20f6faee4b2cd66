/*
 * store.c: the catalog's commit log, in SQLite (DIR/catalog.db, WAL) or
 * PostgreSQL (db.h).
 *
 * A commit appends one row to commits and its changes to ops, moves the
 * ref's head, and updates heads (the contents visible at each ref) in the
 * same write transaction, opened with db_begin_write so writers from every
 * process (and, on PostgreSQL, every node) serialise: BEGIN IMMEDIATE on
 * SQLite, an advisory lock on PostgreSQL. Each op's expectation (the metadata
 * location it was based on, or absence) is checked inside that transaction:
 * this is the compare-and-swap. With synchronous=FULL a commit is durable
 * when COMMIT returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_int.h"

/* The schema, per backend. The SQLite text is the catalog.db format every
 * release reads; PostgreSQL gets the same tables with its own types, and
 * "C" collation on the keys and hashes so that ORDER BY and prefix ranges
 * compare bytes, as SQLite does. The REST tables (rest_kv.c) are here too. */
static const char *schema_sqlite =
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
    "CREATE TABLE IF NOT EXISTS rest_idempotency("
    "  key TEXT PRIMARY KEY, request TEXT NOT NULL, status INTEGER NOT NULL, body TEXT,"
    "  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rest_metrics("
    "  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, ref TEXT NOT NULL, namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL, report_type TEXT, report TEXT NOT NULL);"
    "INSERT OR IGNORE INTO refs(name, is_tag, hash) VALUES('main', 0, '" CAT_NO_ANCESTOR "');";

#define PG_TEXT "TEXT COLLATE \"C\""
static const char *schema_pg =
    "CREATE TABLE IF NOT EXISTS refs("
    "  name " PG_TEXT " PRIMARY KEY, is_tag INTEGER NOT NULL DEFAULT 0, hash " PG_TEXT " NOT NULL);"
    "CREATE TABLE IF NOT EXISTS commits("
    "  seq BIGSERIAL PRIMARY KEY, hash " PG_TEXT " NOT NULL UNIQUE, parent " PG_TEXT " NOT NULL,"
    "  time_ms BIGINT NOT NULL, author TEXT, message TEXT, props TEXT, parent2 " PG_TEXT ","
    "  gen BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS ops("
    "  commit_seq BIGINT NOT NULL, key " PG_TEXT " NOT NULL, op TEXT NOT NULL, kind TEXT, content_id TEXT,"
    "  location TEXT, content TEXT, PRIMARY KEY(commit_seq, key));"
    "CREATE TABLE IF NOT EXISTS heads("
    "  ref " PG_TEXT " NOT NULL, key " PG_TEXT " NOT NULL, parent " PG_TEXT " NOT NULL, kind TEXT NOT NULL,"
    "  content_id TEXT NOT NULL, location TEXT, content TEXT NOT NULL, PRIMARY KEY(ref, key));"
    "CREATE INDEX IF NOT EXISTS heads_by_parent ON heads(ref, parent, key);"
    "CREATE TABLE IF NOT EXISTS reflog("
    "  seq BIGSERIAL PRIMARY KEY, ref " PG_TEXT " NOT NULL, old_hash TEXT, new_hash TEXT, operation TEXT NOT NULL,"
    "  time_ms BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reflog_by_ref ON reflog(ref, seq);"
    "CREATE TABLE IF NOT EXISTS rest_idempotency("
    "  key " PG_TEXT " PRIMARY KEY, request TEXT NOT NULL, status INTEGER NOT NULL, body TEXT,"
    "  expires_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rest_metrics("
    "  seq BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL, ref TEXT NOT NULL, namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL, report_type TEXT, report TEXT NOT NULL);"
    "INSERT INTO refs(name, is_tag, hash) VALUES('main', 0, '" CAT_NO_ANCESTOR "') ON CONFLICT DO NOTHING;";

/* Catalogs written before versions.c have commits without parent2 and gen:
 * add the columns and number the (linear) history, oldest first. Each
 * statement is plain SQL so the PostgreSQL store can do the same. */
static bool upgrade(cat_conn *k, floe_err *err) {
    bool has_gen, has_parent2;
    if (!db_has_column(k, "commits", "gen", &has_gen, err) ||
        !db_has_column(k, "commits", "parent2", &has_parent2, err))
        return false;
    if (has_gen && has_parent2) return true;
    if (!db_exec(k, "ALTER TABLE commits ADD COLUMN parent2 TEXT", err) ||
        !db_exec(k, "ALTER TABLE commits ADD COLUMN gen INTEGER NOT NULL DEFAULT 0", err))
        return false;
    db_stmt *all = db_prepare(k, "SELECT seq FROM commits ORDER BY seq");
    db_stmt *set = all ? db_prepare(k, "UPDATE commits SET gen = 1 + COALESCE((SELECT p.gen FROM commits p"
                                       " WHERE p.hash = commits.parent), 0) WHERE seq = ?1")
                       : NULL;
    bool ok = all && set;
    int rc = DB_DONE;
    while (ok && (rc = db_step(all)) == DB_ROW) {
        db_bind_int64(set, 1, db_col_int64(all, 0));
        ok = db_step(set) == DB_DONE;
        db_reset(set);
    }
    if (!ok || rc != DB_DONE) db_fail(k, "upgrading the commit log (numbering generations)", err);
    db_finalize(all);
    db_finalize(set);
    return ok && rc == DB_DONE;
}

cat_conn *cat_conn_get(cat_t *c, floe_err *err) { return db_conn_get(c->db, err); }

void cat_conn_put(cat_t *c, cat_conn *k) { db_conn_put(c->db, k); }

cat_t *cat_open(const cat_opts *opts, floe_err *err) {
    cat_t *c = calloc(1, sizeof *c);
    c->dir = strdup(opts->dir ? opts->dir : ".");
    c->warehouse = strdup(opts->warehouse ? opts->warehouse : "s3://warehouse");
    while (strlen(c->warehouse) > 5 && c->warehouse[strlen(c->warehouse) - 1] == '/')
        c->warehouse[strlen(c->warehouse) - 1] = 0;
    c->io = opts->io;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->commit_lock, NULL);
    pthread_cond_init(&c->commit_done, NULL);
    pthread_mutex_init(&c->meta_lock, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", c->dir);
    cat_conn *k = NULL;
    c->db = db_open(opts->url, path, opts->fsync, err);
    if (!c->db) goto fail_open;
    if (!(k = cat_conn_get(c, err))) goto fail;
    /* Creating the schema takes the write lock: concurrent first opens wait. */
    if (!db_begin_schema(k, err)) goto fail;
    if (!db_exec(k, db_kind_of(c->db) == DB_PG ? schema_pg : schema_sqlite, err) || !upgrade(k, err)) {
        db_rollback(k);
        goto fail;
    }
    if (!db_commit(k, err)) goto fail;
    cat_conn_put(c, k);
    if (db_kind_of(c->db) == DB_PG) log_info("catalog", "the commit log is in PostgreSQL at %s", db_where(c->db));
    return c;
fail:
    if (k) cat_conn_put(c, k);
    floe_err_wrap(err, "opening the catalog in %s", db_kind_of(c->db) == DB_PG ? db_where(c->db) : c->dir);
fail_open:
    cat_close(c);
    return NULL;
}

void cat_close(cat_t *c) {
    if (!c) return;
    db_close(c->db);
    for (int i = 0; i < c->nctx; i++) free(c->ctxs[i].ref);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->commit_lock);
    pthread_cond_destroy(&c->commit_done);
    cat_meta_cache_free(c);
    pthread_mutex_destroy(&c->meta_lock);
    for (int i = 0; i < CAT_META_SLOTS; i++) {
        free(c->meta[i].loc);
        free(c->meta[i].data);
    }
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

const char *cat_col_text(arena_t *a, db_stmt *st, int i) {
    const char *t = db_col_text(st, i);
    return t ? arena_strdup(a, t) : NULL;
}

bool cat_ref_read(cat_conn *k, const char *ref, arena_t *a, cat_ref *out, floe_err *err) {
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "SELECT name, is_tag, hash FROM refs WHERE name = ?1")))
        return db_fail(k, "reading refs", err);
    db_bind_text(st, 1, ref);
    int rc = db_step(st);
    bool ok = false;
    if (rc == DB_ROW) {
        out->name = cat_col_text(a, st, 0);
        out->is_tag = db_col_int64(st, 1) != 0;
        out->hash = cat_col_text(a, st, 2);
        ok = true;
    } else if (rc == DB_DONE) {
        floe_err_set(err, FLOE_ENOENT, "no branch or tag named '%s' in the catalog (see `floe branch list`)", ref);
    } else {
        db_fail(k, "reading refs", err);
    }
    db_finalize(st);
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
    db_stmt *st = NULL;
    bool ok = false;
    size_t cap = 8, cnt = 0;
    cat_ref *v = arena_alloc(a, cap * sizeof *v);
    if (!(st = db_prepare(k, "SELECT name, is_tag, hash FROM refs ORDER BY name"))) {
        db_fail(k, "listing refs", err);
        goto done;
    }
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (cnt == cap) {
            cat_ref *nv = arena_alloc(a, 2 * cap * sizeof *v);
            memcpy(nv, v, cnt * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[cnt].name = cat_col_text(a, st, 0);
        v[cnt].is_tag = db_col_int64(st, 1) != 0;
        v[cnt].hash = cat_col_text(a, st, 2);
        cnt++;
    }
    if (rc != DB_DONE) {
        db_fail(k, "listing refs", err);
        goto done;
    }
    *out = v;
    *n = cnt;
    ok = true;
done:
    db_finalize(st);
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
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "SELECT kind, content_id, location, content FROM heads WHERE ref = ?1 AND key = ?2")))
        return db_fail(k, "reading contents", err);
    db_bind_text(st, 1, ref);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    bool ok = true;
    *found = false;
    if (rc == DB_ROW) {
        out->kind = cat_col_text(a, st, 0);
        out->content_id = cat_col_text(a, st, 1);
        out->location = cat_col_text(a, st, 2);
        out->json = cat_col_text(a, st, 3);
        *found = true;
    } else if (rc != DB_DONE) {
        ok = db_fail(k, "reading contents", err);
    }
    db_finalize(st);
    return ok;
}

/* ---- committing ---- */

static bool step_done(cat_conn *k, db_stmt *st, const char *what, floe_err *err) {
    int rc = db_step(st);
    db_reset(st);
    if (rc != DB_DONE && rc != DB_ROW) return db_fail(k, what, err);
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
    db_stmt *st = NULL;
    if (!(st = db_prepare(
              k, "INSERT INTO reflog(ref, old_hash, new_hash, operation, time_ms) VALUES(?1, ?2, ?3, ?4, ?5)")))
        return db_fail(k, "writing the reflog", err);
    db_bind_text(st, 1, ref);
    db_bind_text(st, 2, old_hash);
    db_bind_text(st, 3, new_hash);
    db_bind_text(st, 4, operation);
    db_bind_int64(st, 5, time_now_ms());
    bool ok = step_done(k, st, "writing the reflog", err);
    db_finalize(st);
    return ok;
}

bool cat_heads_apply(cat_conn *k, const char *ref, const char *key, const cat_content *ct, arena_t *a, floe_err *err) {
    db_stmt *st = NULL;
    const char *sql = ct ? "INSERT INTO heads(ref, key, parent, kind, content_id, location, content)"
                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(ref, key) DO UPDATE SET"
                           " parent = excluded.parent, kind = excluded.kind, content_id = excluded.content_id,"
                           " location = excluded.location, content = excluded.content"
                         : "DELETE FROM heads WHERE ref = ?1 AND key = ?2";
    if (!(st = db_prepare(k, sql))) return db_fail(k, "updating heads", err);
    db_bind_text(st, 1, ref);
    db_bind_text(st, 2, key);
    if (ct) {
        db_bind_text(st, 3, cat_key_parent(a, key));
        db_bind_text(st, 4, ct->kind);
        db_bind_text(st, 5, ct->content_id);
        db_bind_text(st, 6, ct->location);
        db_bind_text(st, 7, ct->json);
    }
    bool ok = step_done(k, st, "updating heads", err);
    db_finalize(st);
    return ok;
}

bool cat_commit_write(cat_conn *k, const cat_ref *r, const char *parent2, const cat_op *ops, size_t n,
                      const char *message, const char *operation, arena_t *a, const char **out_hash, floe_err *err) {
    db_stmt *gen = NULL, *ins_commit = NULL, *ins_op = NULL, *mv = NULL;
    bool ok = false;
    char *hash = arena_alloc(a, 65);
    int64_t now = time_now_ms();
    commit_hash(r->hash, now, ops, n, hash);
    if (!(gen = db_prepare(k, "SELECT MAX(gen) FROM commits WHERE hash = ?1 OR hash = ?2")) ||
        !(ins_commit = db_prepare(k, "INSERT INTO commits(hash, parent, parent2, gen, time_ms, author, message)"
                                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq")) ||
        !(ins_op = db_prepare(k, "INSERT INTO ops(commit_seq, key, op, kind, content_id, location, content)"
                                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")) ||
        !(mv = db_prepare(k, "UPDATE refs SET hash = ?2 WHERE name = ?1"))) {
        db_fail(k, "preparing a commit", err);
        goto done;
    }
    /* the generation: one more than the deeper parent (the empty log is 0) */
    db_bind_text(gen, 1, r->hash);
    db_bind_text(gen, 2, parent2 ? parent2 : r->hash);
    if (db_step(gen) != DB_ROW) {
        db_fail(k, "reading the parent's generation", err);
        goto done;
    }
    int64_t g = db_col_int64(gen, 0) + 1;
    const char *author = getenv("USER");
    db_bind_text(ins_commit, 1, hash);
    db_bind_text(ins_commit, 2, r->hash);
    if (parent2)
        db_bind_text(ins_commit, 3, parent2);
    else
        db_bind_null(ins_commit, 3);
    db_bind_int64(ins_commit, 4, g);
    db_bind_int64(ins_commit, 5, now);
    db_bind_text(ins_commit, 6, author ? author : "floe");
    db_bind_text(ins_commit, 7, message ? message : "");
    if (db_step(ins_commit) != DB_ROW) {
        db_fail(k, "writing a commit", err);
        goto done;
    }
    int64_t seq = db_col_int64(ins_commit, 0);
    db_reset(ins_commit);
    for (size_t i = 0; i < n; i++) {
        const cat_content *ct = ops[i].content;
        if (ops[i].check_only) continue;
        db_bind_int64(ins_op, 1, seq);
        db_bind_text(ins_op, 2, ops[i].key);
        db_bind_text(ins_op, 3, ct ? "put" : "delete");
        if (ct) {
            db_bind_text(ins_op, 4, ct->kind);
            db_bind_text(ins_op, 5, ct->content_id);
            db_bind_text(ins_op, 6, ct->location);
            db_bind_text(ins_op, 7, ct->json);
        } else {
            for (int j = 4; j <= 7; j++) db_bind_null(ins_op, j);
        }
        if (!step_done(k, ins_op, "writing a commit", err)) goto done;
        if (!cat_heads_apply(k, r->name, ops[i].key, ct, a, err)) goto done;
    }
    db_bind_text(mv, 1, r->name);
    db_bind_text(mv, 2, hash);
    if (!step_done(k, mv, "writing a commit", err)) goto done;
    if (!cat_reflog_add(k, r->name, r->hash, hash, operation, err)) goto done;
    if (out_hash) *out_hash = hash;
    ok = true;
done:
    db_finalize(gen);
    db_finalize(ins_commit);
    db_finalize(ins_op);
    db_finalize(mv);
    return ok;
}

/* One caller's commit, inside the batch's write transaction: checks each
 * op's expectation against the ref's head as it is now (earlier commits of
 * the batch included), then writes the commit. */
static bool commit_one(cat_conn *k, const char *ref, const cat_op *ops, size_t n, const char *message, arena_t *a,
                       floe_err *err) {
    cat_ref r;
    if (cat_is_refspec(ref))
        return floe_err_set(err, FLOE_EINVAL, "'%s' names a past commit, which is read-only; commit to a branch", ref);
    if (!cat_ref_read(k, ref, a, &r, err)) return false;
    if (r.is_tag)
        return floe_err_set(err, FLOE_EINVAL, "'%s' is a tag, and tags cannot be committed to; commit to a branch",
                            ref);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].check) continue;
        cat_content cur;
        bool found;
        if (!cat_head_get(k, ref, ops[i].key, a, &cur, &found, err)) return false;
        if (ops[i].expect_absent && found)
            return floe_err_set(err, FLOE_EEXIST, "'%s' already exists on '%s'", cat_key_display(a, ops[i].key), ref);
        if (ops[i].expect_empty) {
            db_stmt *q = NULL;
            if (!(q = db_prepare(k, "SELECT key FROM heads WHERE ref = ?1 AND parent = ?2 LIMIT 1")))
                return db_fail(k, "checking a namespace", err);
            db_bind_text(q, 1, ref);
            db_bind_text(q, 2, ops[i].key);
            int rc = db_step(q);
            const char *child = rc == DB_ROW ? cat_key_display(a, db_col_text(q, 0)) : NULL;
            db_finalize(q);
            if (rc != DB_ROW && rc != DB_DONE) return db_fail(k, "checking a namespace", err);
            if (child)
                return floe_err_set(err, FLOE_ECONFLICT, "namespace '%s' is not empty: it holds '%s'; drop that first",
                                    cat_key_display(a, ops[i].key), child);
        }
        if (ops[i].check_only && !found)
            return floe_err_set(err, FLOE_ENOENT,
                                "namespace '%s' does not exist on '%s'; create it first with "
                                "`floe namespace create %s`",
                                cat_key_display(a, ops[i].key), ref, cat_key_display(a, ops[i].key));
        if (!ops[i].expect_absent && !ops[i].check_only) {
            if (!found)
                return floe_err_set(err, FLOE_ECONFLICT, "'%s' was dropped from '%s' by a concurrent commit",
                                    cat_key_display(a, ops[i].key), ref);
            if (!str_eq(cur.location, ops[i].expect_location))
                return floe_err_set(
                    err, FLOE_ECONFLICT,
                    "'%s' changed on '%s' by a concurrent commit (now at %s, this change was based on %s)",
                    cat_key_display(a, ops[i].key), ref, cur.location ? cur.location : "-",
                    ops[i].expect_location ? ops[i].expect_location : "-");
        }
    }
    return cat_commit_write(k, &r, NULL, ops, n, message, "COMMIT", a, NULL, err);
}

/* ---- group commit ----
 *
 * Concurrent cat_commit_ops calls in this process queue up; whichever
 * finds no batch running takes everything queued and runs it in one write
 * transaction, each caller's commit in its own savepoint (a failed check
 * rolls back that commit alone and is that caller's error), then one
 * COMMIT: one WAL fsync (SQLite) or one WAL flush (PostgreSQL) for the
 * batch. Each commit reads its ref inside the transaction, so commits of
 * one batch to one ref chain. Callers return when the COMMIT holding their
 * commit is durable (synchronous=FULL), like store/index.c's run_batch. */

struct cat_commit_req {
    const char *ref;
    const cat_op *ops;
    size_t n;
    const char *message;
    floe_err *err;
    bool ran, ok, done;
    cat_commit_req *next;
};

#define CAT_BATCH_MAX 64

static void fail_all(cat_commit_req *batch, const floe_err *e) {
    for (cat_commit_req *q = batch; q; q = q->next) {
        q->ok = false;
        *q->err = *e;
    }
}

static void run_batch(cat_t *c, cat_commit_req *batch) {
    floe_err e = {0};
    cat_conn *k = cat_conn_get(c, &e);
    if (!k) {
        fail_all(batch, &e);
        return;
    }
    if (!db_begin_write(k, &e)) {
        fail_all(batch, &e);
        cat_conn_put(c, k);
        return;
    }
    /* a batch of one needs no savepoint: its failure rolls back all */
    bool single = !batch->next, broken = false, any = false;
    arena_t a;
    arena_init(&a, 4096);
    cat_commit_req *q = batch;
    for (; q; q = q->next) {
        if (!single && !db_exec(k, "SAVEPOINT cat_commit", &e)) {
            broken = true;
            break;
        }
        q->ok = commit_one(k, q->ref, q->ops, q->n, q->message, &a, q->err);
        q->ran = true;
        arena_free(&a);
        any |= q->ok;
        if (single) break;
        if ((!q->ok && !db_exec(k, "ROLLBACK TO cat_commit", &e)) || !db_exec(k, "RELEASE cat_commit", &e)) {
            broken = true;
            break;
        }
    }
    if (!broken && any && !db_commit(k, &e)) broken = true;
    if (broken || !any) db_rollback(k);
    if (broken) /* nothing of the batch is committed */
        for (q = batch; q; q = q->next)
            if (q->ok || !q->ran) {
                q->ok = false;
                *q->err = e;
            }
    cat_conn_put(c, k);
}

bool cat_commit_ops(cat_t *c, const char *ref, const cat_op *ops, size_t n, const char *message, floe_err *err) {
    floe_err local;
    cat_commit_req me = {.ref = ref, .ops = ops, .n = n, .message = message, .err = err ? err : &local};
    pthread_mutex_lock(&c->commit_lock);
    if (c->queue_tail)
        c->queue_tail->next = &me;
    else
        c->queue_head = &me;
    c->queue_tail = &me;
    while (!me.done) {
        if (c->committing) {
            pthread_cond_wait(&c->commit_done, &c->commit_lock);
            continue;
        }
        /* lead a batch: everything queued, up to CAT_BATCH_MAX */
        c->committing = true;
        cat_commit_req *batch = c->queue_head, *last = batch;
        for (int i = 1; i < CAT_BATCH_MAX && last->next; i++) last = last->next;
        c->queue_head = last->next;
        if (!c->queue_head) c->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&c->commit_lock);
        run_batch(c, batch);
        pthread_mutex_lock(&c->commit_lock);
        c->batches++;
        for (cat_commit_req *q = batch, *next; q; q = next) {
            next = q->next;
            c->batched++;
            q->done = true;
        }
        c->committing = false;
        pthread_cond_broadcast(&c->commit_done);
    }
    pthread_mutex_unlock(&c->commit_lock);
    return me.ok;
}

void cat_commit_hold(cat_t *c, bool hold) {
    pthread_mutex_lock(&c->commit_lock);
    c->committing = hold;
    if (!hold) pthread_cond_broadcast(&c->commit_done);
    pthread_mutex_unlock(&c->commit_lock);
}

size_t cat_commit_queued(cat_t *c) {
    size_t n = 0;
    pthread_mutex_lock(&c->commit_lock);
    for (cat_commit_req *q = c->queue_head; q; q = q->next) n++;
    pthread_mutex_unlock(&c->commit_lock);
    return n;
}

void cat_commit_stats(cat_t *c, uint64_t *batches, uint64_t *commits) {
    pthread_mutex_lock(&c->commit_lock);
    *batches = c->batches;
    *commits = c->batched;
    pthread_mutex_unlock(&c->commit_lock);
}

bool cat_log(cat_t *c, const char *ref, size_t max, arena_t *a, cat_commit **out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_ref r;
    db_stmt *st = NULL;
    bool ok = false;
    size_t cap = 16, cnt = 0;
    cat_commit *v = arena_alloc(a, cap * sizeof *v);
    if (!cat_ref_read(k, ref ? ref : CAT_MAIN, a, &r, err)) goto done;
    if (!(st = db_prepare(k, "SELECT hash, parent, time_ms, author, message, parent2 FROM commits WHERE hash = ?1"))) {
        db_fail(k, "reading the log", err);
        goto done;
    }
    const char *h = r.hash;
    while (strcmp(h, CAT_NO_ANCESTOR) && (max == 0 || cnt < max)) {
        db_reset(st);
        db_bind_text(st, 1, h);
        int rc = db_step(st);
        if (rc != DB_ROW) {
            if (rc == DB_DONE)
                floe_err_set(err, FLOE_EINTERNAL, "catalog log: commit %s is missing (the catalog is damaged)", h);
            else
                db_fail(k, "reading the log", err);
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
        v[cnt].time_ms = db_col_int64(st, 2);
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
    db_finalize(st);
    cat_conn_put(c, k);
    return ok;
}
