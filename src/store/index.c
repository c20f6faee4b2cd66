/*
 * index.c: the SQLite index.
 *
 * Readers borrow a connection from a pool; WAL mode lets them read while the
 * writer commits. All writes go through one writer connection owned by the
 * committer thread, which drains the queue of pending operations into one
 * transaction per batch (group commit), each in its own savepoint so one
 * failing operation (a precondition, say) does not sink the others. With
 * synchronous=FULL the commit is durable when COMMIT returns; only then are
 * the waiting writers told.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store_int.h"

static const char *schema =
    "CREATE TABLE IF NOT EXISTS buckets("
    "  name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, public_read INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS objects("
    "  bucket TEXT NOT NULL, key BLOB NOT NULL, version_id TEXT NOT NULL DEFAULT 'null',"
    "  data_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, content_type TEXT,"
    "  meta TEXT, mtime_ms INTEGER NOT NULL, checksum_algo INTEGER NOT NULL DEFAULT 0,"
    "  checksum TEXT, parts INTEGER NOT NULL DEFAULT 0, inline_data BLOB,"
    "  PRIMARY KEY(bucket, key, version_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS uploads("
    "  upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, initiated_ms INTEGER NOT NULL,"
    "  content_type TEXT, meta TEXT, checksum_algo INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, upload_id);"
    /* The start-up sweep reads only this: the data files objects reference. */
    "CREATE INDEX IF NOT EXISTS objects_files ON objects(data_id) WHERE data_id != '';"
    "CREATE TABLE IF NOT EXISTS parts("
    "  upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, data_id TEXT NOT NULL, size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL, checksum TEXT, mtime_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(upload_id, part_number)) WITHOUT ROWID;";

#define OBJ_COLS "bucket, key, data_id, size, etag, content_type, meta, mtime_ms, checksum_algo, checksum, parts"

static const char *stmt_sql[ST__COUNT] = {
    [ST_BUCKET_GET] = "SELECT name, created_ms, public_read FROM buckets WHERE name = ?1",
    [ST_BUCKET_LIST] = "SELECT name, created_ms, public_read FROM buckets ORDER BY name",
    [ST_BUCKET_INSERT] = "INSERT INTO buckets(name, created_ms, public_read) VALUES(?1, ?2, ?3)",
    [ST_BUCKET_DELETE] = "DELETE FROM buckets WHERE name = ?1",
    [ST_BUCKET_HAS_OBJECTS] = "SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1",
    [ST_BUCKET_SET_PUBLIC] = "UPDATE buckets SET public_read = ?2 WHERE name = ?1",
    [ST_OBJ_GET] = "SELECT " OBJ_COLS ", inline_data FROM objects WHERE bucket = ?1 AND key = ?2"
                   " AND version_id = 'null'",
    [ST_OBJ_UPSERT] = "INSERT OR REPLACE INTO objects(bucket, key, version_id, data_id, size, etag, content_type,"
                      " meta, mtime_ms, checksum_algo, checksum, parts, inline_data)"
                      " VALUES(?1, ?2, 'null', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_OBJ_SET_META] = "UPDATE objects SET meta = ?3 WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'",
    [ST_OBJ_DELETE] = "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'",
    /* ?2: the lower bound; ?3: keys < this (NULL for none); ?4: batch */
    [ST_OBJ_LIST_GE] = "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key >= ?2"
                       " AND key < ?3 ORDER BY key LIMIT ?4",
    [ST_OBJ_LIST_GT] = "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key > ?2"
                       " AND key < ?3 ORDER BY key LIMIT ?4",
    [ST_UPLOAD_INSERT] = "INSERT INTO uploads(upload_id, bucket, key, initiated_ms, content_type, meta,"
                         " checksum_algo) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_UPLOAD_GET] = "SELECT upload_id, bucket, key, initiated_ms, content_type, meta, checksum_algo"
                      " FROM uploads WHERE upload_id = ?1",
    [ST_UPLOAD_DELETE] = "DELETE FROM uploads WHERE upload_id = ?1",
    [ST_UPLOAD_LIST] = "SELECT upload_id, bucket, key, initiated_ms, content_type, meta, checksum_algo"
                       " FROM uploads WHERE bucket = ?1 AND (key > ?2 OR (key = ?2 AND upload_id > ?3))"
                       " AND (?4 IS NULL OR key < ?4) ORDER BY key, upload_id LIMIT ?5",
    [ST_UPLOADS_OF_BUCKET] = "SELECT upload_id FROM uploads WHERE bucket = ?1",
    [ST_PART_GET] = "SELECT part_number, size, etag, checksum, mtime_ms, data_id FROM parts"
                    " WHERE upload_id = ?1 AND part_number = ?2",
    [ST_PART_UPSERT] = "INSERT OR REPLACE INTO parts(upload_id, part_number, data_id, size, etag, checksum,"
                       " mtime_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_PART_LIST] = "SELECT part_number, size, etag, checksum, mtime_ms, data_id FROM parts"
                     " WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
    [ST_PARTS_OF_UPLOAD] = "SELECT data_id FROM parts WHERE upload_id = ?1",
    [ST_PARTS_DELETE] = "DELETE FROM parts WHERE upload_id = ?1",
};

struct store_commit_op {
    int shard;         /* data/XX directory to fsync first, or -1 */
    bool deferred;     /* may commit without syncing the log (store_cond.deferred) */
    store_apply_fn fn; /* NULL: a store_sync, which applies nothing */
    void *arg;
    bool done, ok;
    floe_err *err;
    store_commit_op *next;
};

bool store_sql_err(store_conn *c, const char *what, floe_err *err) {
    int code = sqlite3_extended_errcode(c->db);
    floe_code fc = (code & 0xff) == SQLITE_FULL ? FLOE_ENOSPC : FLOE_EIO;
    return floe_err_set(err, fc, "index %s: %s", what, sqlite3_errmsg(c->db));
}

static bool exec(store_conn *c, const char *sql, floe_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "index: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return false;
    }
    return true;
}

static store_conn *conn_open(store_t *s, floe_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", s->dir);
    store_conn *c = calloc(1, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "open index %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, 10000);
    const char *sync = s->fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF";
    /* 1 MiB of page cache per connection: readers are many and short-lived. */
    if (!exec(c, "PRAGMA journal_mode=WAL", err) || !exec(c, sync, err) || !exec(c, "PRAGMA cache_size=-1024", err)) {
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    return c;
}

static void conn_close(store_conn *c) {
    for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->db);
    free(c);
}

sqlite3_stmt *store_stmt(store_conn *c, store_stmt_id id) {
    if (!c->stmts[id]) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL) != SQLITE_OK) {
            log_error("store", "bug: cannot prepare statement %d: %s", (int)id, sqlite3_errmsg(c->db));
            abort();
        }
    }
    sqlite3_reset(c->stmts[id]);
    sqlite3_clear_bindings(c->stmts[id]);
    return c->stmts[id];
}

store_conn *store_conn_get(store_t *s, floe_err *err) {
    pthread_mutex_lock(&s->pool_lock);
    store_conn *c = s->pool;
    if (c) {
        s->pool = c->next;
        __atomic_sub_fetch(&s->pool_idle, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (c) return c;
    return conn_open(s, err);
}

/* Idle reader connections kept for reuse; a burst beyond this closes the
 * extra connections as they come back, so memory returns to idle size. */
#define POOL_IDLE_MAX 4

void store_conn_put(store_t *s, store_conn *c) {
    if (!c) return;
    for (int i = 0; i < ST__COUNT; i++)
        if (c->stmts[i]) sqlite3_reset(c->stmts[i]);
    __atomic_add_fetch(&s->activity, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->pool_lock);
    bool keep = s->pool_idle < POOL_IDLE_MAX;
    if (keep) {
        c->next = s->pool;
        s->pool = c;
        __atomic_add_fetch(&s->pool_idle, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (!keep) {
        conn_close(c);
        malloc_trim(0); /* hand the burst's memory back to the kernel */
    }
}

/* ---- group commit ---- */

/* Makes the renames of this batch durable: one fsync per touched shard
 * directory. The first one commits the file system journal; the rest
 * usually find nothing left to do. */
static void sync_shards(store_t *s, store_commit_op *batch) {
    uint64_t done[4] = {0};
    for (store_commit_op *op = batch; op; op = op->next) {
        if (op->shard < 0 || !s->fsync) continue;
        uint64_t bit = 1ull << (op->shard & 63);
        if (done[op->shard >> 6] & bit) continue;
        done[op->shard >> 6] |= bit;
        if (fsync(s->shard_fds[op->shard]) != 0) {
            int e = errno;
            for (store_commit_op *o = op; o; o = o->next)
                if (o->shard == op->shard) {
                    o->ok = false;
                    o->shard = -2; /* failed: skip in the transaction */
                    floe_err_errno(o->err, e, "fsync data directory %02x", op->shard);
                }
        }
    }
}

/* Syncs the write-ahead log: every frame written before it, deferred
 * commits included, is then on disk. No log open means everything is in
 * the database file, which checkpoints sync (synchronous is never OFF). */
static bool sync_log(store_conn *w, floe_err *err) {
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(w->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f || !f->pMethods)
        return true;
    int rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK) return floe_err_set(err, FLOE_EIO, "index: sync of the write-ahead log failed (%d)", rc);
    return true;
}

/* What a batch did, for the committer's bookkeeping. */
typedef struct batch_result {
    bool deferred; /* committed without syncing the log */
    bool synced;   /* carried a store_sync, which synced the log */
} batch_result;

static batch_result run_batch(store_t *s, store_commit_op *batch) {
    store_conn *w = s->writer;
    floe_err txerr = {0};
    batch_result res = {.deferred = s->fsync};
    bool has_sync = false;
    for (store_commit_op *op = batch; op; op = op->next) {
        if (!op->deferred) res.deferred = false;
        if (!op->fn) has_sync = true;
    }
    sync_shards(s, batch);
    /* NORMAL, not OFF: a deferred commit skips the log sync, but a
     * checkpoint still syncs the log before copying it into the database
     * and the database before the log is reused, so no deferred commit can
     * be lost to a checkpoint before store_sync runs. */
    if (res.deferred) exec(w, "PRAGMA synchronous=NORMAL", &(floe_err){0});
    bool tx = exec(w, "BEGIN IMMEDIATE", &txerr);
    for (store_commit_op *op = batch; op; op = op->next) {
        if (op->shard == -2) continue;
        if (!op->fn) { /* a store_sync: done after the commit */
            op->ok = true;
            continue;
        }
        if (!tx) {
            op->ok = false;
            *op->err = txerr;
            continue;
        }
        floe_err sperr;
        exec(w, "SAVEPOINT op", &sperr);
        op->ok = op->fn(w, op->arg, op->err);
        if (!op->ok) exec(w, "ROLLBACK TO op", &sperr);
        exec(w, "RELEASE op", &sperr);
    }
    /* A statement left mid-step holds a read snapshot open, which stops the
     * WAL from ever being checkpointed: reset them all before COMMIT. */
    for (int i = 0; i < ST__COUNT; i++)
        if (w->stmts[i]) sqlite3_reset(w->stmts[i]);
    if (tx && !exec(w, "COMMIT", &txerr)) {
        store_sql_err(w, "commit", &txerr);
        exec(w, "ROLLBACK", &(floe_err){0});
        for (store_commit_op *op = batch; op; op = op->next) {
            if (op->ok) *op->err = txerr;
            op->ok = false;
        }
        log_error("store", "%s", txerr.msg);
        res.deferred = false;
    }
    if (res.deferred) exec(w, "PRAGMA synchronous=FULL", &(floe_err){0});
    if (has_sync) {
        floe_err serr = {0};
        res.synced = sync_log(w, &serr);
        for (store_commit_op *op = batch; op; op = op->next)
            if (!op->fn && !res.synced) {
                op->ok = false;
                *op->err = serr;
            }
        if (!res.synced) log_error("store", "%s", serr.msg);
    }
    return res;
}

/* After a quiet second, idle connections give their page caches back (the
 * kernel's page cache keeps the pages) and malloc returns freed memory, so a
 * burst does not leave the process large. Nothing on a request path pays. */
static void trim_when_idle(store_t *s) {
    pthread_mutex_lock(&s->pool_lock);
    for (store_conn *c = s->pool; c; c = c->next) sqlite3_db_release_memory(c->db);
    pthread_mutex_unlock(&s->pool_lock);
    sqlite3_db_release_memory(s->writer->db);
    malloc_trim(0);
}

static void *committer_main(void *arg) {
    store_t *s = arg;
    unsigned long trimmed_at = 0; /* activity count at the last trim */
    pthread_mutex_lock(&s->commit_lock);
    for (;;) {
        while (!s->queue_head && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&s->commit_wake, &s->commit_lock, &until) != ETIMEDOUT || s->queue_head)
                continue;
            unsigned long now = __atomic_load_n(&s->activity, __ATOMIC_RELAXED) + s->stats.commits;
            if (now == trimmed_at) continue; /* nothing happened since the last trim */
            trimmed_at = now;
            pthread_mutex_unlock(&s->commit_lock);
            trim_when_idle(s);
            pthread_mutex_lock(&s->commit_lock);
        }
        if (!s->queue_head && s->stopping) break;
        store_commit_op *batch = s->queue_head;
        s->queue_head = s->queue_tail = NULL;
        pthread_mutex_unlock(&s->commit_lock);

        batch_result res = run_batch(s, batch);

        pthread_mutex_lock(&s->commit_lock);
        s->stats.commits++;
        if (res.synced) {
            s->deferred_pending = false;
            s->stats.syncs++;
        }
        if (res.deferred) s->deferred_pending = true;
        for (store_commit_op *op = batch, *next; op; op = next) {
            next = op->next;
            s->stats.committed_ops++;
            if (op->deferred && op->fn && res.deferred) s->stats.deferred_ops++;
            op->done = true;
        }
        pthread_cond_broadcast(&s->commit_done);
    }
    pthread_mutex_unlock(&s->commit_lock);
    return NULL;
}

static int shard_of(const char *data_id) {
    unsigned v = 0;
    for (int i = 0; i < 2; i++) {
        char c = data_id[i];
        v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    return (int)(v & 255);
}

bool store_commit(store_t *s, store_apply_fn fn, void *arg, floe_err *err) {
    return store_commit_placed(s, NULL, fn, arg, err);
}

bool store_commit_placed(store_t *s, const char *data_id, store_apply_fn fn, void *arg, floe_err *err) {
    return store_commit_deferrable(s, data_id, fn, arg, false, err);
}

static bool enqueue_and_wait(store_t *s, store_commit_op *op, bool locked);

bool store_commit_deferrable(store_t *s, const char *data_id, store_apply_fn fn, void *arg, bool deferred,
                             floe_err *err) {
    floe_err local;
    store_commit_op op = {.shard = data_id && data_id[0] ? shard_of(data_id) : -1,
                          .deferred = deferred,
                          .fn = fn,
                          .arg = arg,
                          .err = err ? err : &local};
    return enqueue_and_wait(s, &op, false);
}

bool store_sync(store_t *s, floe_err *err) {
    floe_err local;
    store_commit_op op = {.shard = -1, .err = err ? err : &local};
    pthread_mutex_lock(&s->commit_lock);
    if (!s->deferred_pending) { /* nothing deferred since the last sync (or fsync is off) */
        pthread_mutex_unlock(&s->commit_lock);
        return true;
    }
    return enqueue_and_wait(s, &op, true);
}

/* Queues op for the committer and waits for its batch; takes the lock
 * unless locked, and releases it. */
static bool enqueue_and_wait(store_t *s, store_commit_op *op, bool locked) {
    if (!locked) pthread_mutex_lock(&s->commit_lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->commit_lock);
        return floe_err_set(op->err, FLOE_EIO, "the store is shutting down; retry the request");
    }
    if (s->queue_tail)
        s->queue_tail->next = op;
    else
        s->queue_head = op;
    s->queue_tail = op;
    pthread_cond_signal(&s->commit_wake);
    while (!op->done) pthread_cond_wait(&s->commit_done, &s->commit_lock);
    pthread_mutex_unlock(&s->commit_lock);
    return op->ok;
}

bool store_index_open(store_t *s, floe_err *err) {
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->commit_lock, NULL);
    pthread_cond_init(&s->commit_wake, NULL);
    pthread_cond_init(&s->commit_done, NULL);
    for (int i = 0; i < 256; i++) {
        char shard[4096];
        snprintf(shard, sizeof shard, "%s/%02x", s->data_dir, i);
        s->shard_fds[i] = open(shard, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->shard_fds[i] < 0) return floe_err_errno(err, errno, "open data directory %s", shard);
    }
    s->writer = conn_open(s, err);
    if (!s->writer) return false;
    if (!exec(s->writer, schema, err)) return false;
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0)
        return floe_err_set(err, FLOE_EINTERNAL, "cannot start the index commit thread");
    return true;
}

void store_index_close(store_t *s) {
    if (!s->writer) return;
    pthread_mutex_lock(&s->commit_lock);
    s->stopping = true;
    pthread_cond_signal(&s->commit_wake);
    pthread_mutex_unlock(&s->commit_lock);
    pthread_join(s->committer, NULL);
    conn_close(s->writer);
    s->writer = NULL;
    for (int i = 0; i < 256; i++)
        if (s->shard_fds[i] > 0) close(s->shard_fds[i]);
    while (s->pool) {
        store_conn *c = s->pool;
        s->pool = c->next;
        conn_close(c);
    }
}
