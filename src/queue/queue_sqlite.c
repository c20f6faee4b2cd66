/*
 * queue_sqlite.c: the embedded queue backend: one table of jobs in a SQLite
 * database (DATA_DIR/queue.db by default) in WAL mode with
 * synchronous=FULL, so an enqueue that returned survives kill -9 and power
 * loss.
 *
 * A job row holds its state and a `due` time: for a queued or failed job
 * the time it becomes leasable, for a leased job its lease deadline. A
 * lease takes, in one BEGIN IMMEDIATE transaction, the row with the
 * earliest due time that has passed, whether queued, failed (a nack's
 * retry) or leased by a worker that stopped heartbeating. Every lease is a
 * try; a row whose tries reached max_tries is dead-lettered rather than
 * leased again. The lease token is (worker, tries): an ack or nack from a
 * worker whose lease another worker has since taken matches no row.
 *
 * A waiting lease sleeps on a condition variable that enqueue and nack in
 * this process signal, and wakes every poll_ms to see what other processes
 * added: no busy polling.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "base/time.h"
#include "queue/queue_int.h"

#define POOL_MAX 16

typedef struct sq_queue {
    char *path;
    bool fsync;
    int64_t poll_ms;
    pthread_mutex_t mu; /* pool and wake */
    pthread_cond_t wake;
    uint64_t generation; /* bumped by every enqueue and nack */
    sqlite3 *pool[POOL_MAX];
    int npool;
} sq_queue;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " queue TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " tries INTEGER NOT NULL DEFAULT 0,"
    " max_tries INTEGER NOT NULL,"
    " worker TEXT,"
    " due INTEGER NOT NULL,"
    " result TEXT,"
    " error TEXT,"
    " history TEXT NOT NULL DEFAULT '[]',"
    " dedupe TEXT,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(queue, due) WHERE state IN ('queued','failed','leased');"
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_dedupe ON jobs(queue, dedupe) WHERE dedupe IS NOT NULL;";

/* Appends one event to the history column. ?1.. are bound by the caller. */
#define HISTORY_ADD(ev, err_expr, at)                                                                                  \
    "history=json_insert(history,'$[#]',json_object('try',tries,'worker',worker,'event','" ev "','error'," err_expr    \
    ",'at'," at "))"

static bool sq_fail(sqlite3 *db, const char *what, floe_err *err) {
    int code = sqlite3_extended_errcode(db);
    floe_code fc = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ? FLOE_ECONFLICT
                   : (code & 0xff) == SQLITE_FULL                                 ? FLOE_ENOSPC
                                                                                  : FLOE_EIO;
    return floe_err_set(err, fc, "queue.db: %s: %s", what, sqlite3_errmsg(db));
}

static bool sq_exec(sqlite3 *db, const char *sql, floe_err *err) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) return true;
    return sq_fail(db, sql, err);
}

static sqlite3 *conn_open(sq_queue *s, floe_err *err) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "open queue database %s: %s; check that its directory exists and is writable",
                     s->path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (!sq_exec(db, "PRAGMA journal_mode=WAL", err) ||
        !sq_exec(db, s->fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", err)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static sqlite3 *conn_get(sq_queue *s, floe_err *err) {
    pthread_mutex_lock(&s->mu);
    sqlite3 *db = s->npool ? s->pool[--s->npool] : NULL;
    pthread_mutex_unlock(&s->mu);
    return db ? db : conn_open(s, err);
}

static void conn_put(sq_queue *s, sqlite3 *db) {
    pthread_mutex_lock(&s->mu);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    sqlite3_close(db);
}

static void wake_waiters(sq_queue *s) {
    pthread_mutex_lock(&s->mu);
    s->generation++;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void *queue_sqlite_open(const char *path, const queue_opts *o, floe_err *err) {
    sq_queue *s = calloc(1, sizeof *s);
    s->path = strdup(path);
    s->fsync = !o->no_fsync;
    s->poll_ms = o->poll_ms > 0 ? o->poll_ms : QUEUE_DEFAULT_POLL_MS;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    sqlite3 *db = conn_open(s, err);
    if (!db || !sq_exec(db, schema, err)) {
        if (db) floe_err_wrap(err, "create the queue schema in %s", path);
        sqlite3_close(db);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        free(s->path);
        free(s);
        return NULL;
    }
    conn_put(s, db);
    return s;
}

static void sq_close(queue_t *q) {
    sq_queue *s = q->impl;
    for (int i = 0; i < s->npool; i++) sqlite3_close(s->pool[i]);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql, floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_fail(db, "prepare", err);
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement with no rows; *changes gets the rows it changed. */
static bool run(sqlite3 *db, sqlite3_stmt *st, int *changes, floe_err *err) {
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok) sq_fail(db, "write", err);
    if (changes) *changes = sqlite3_changes(db);
    sqlite3_finalize(st);
    return ok;
}

static void rollback(sqlite3 *db) { sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); }

static bool sq_enqueue(queue_t *q, const char *name, const char *payload, const queue_enqueue_opts *o,
                       char id_out[QUEUE_ID_MAX], floe_err *err) {
    sq_queue *s = q->impl;
    sqlite3 *db = conn_get(s, err);
    if (!db) return false;
    bool ok = false;
    if (!sq_exec(db, "BEGIN IMMEDIATE", err)) goto out;
    if (o->dedupe_key) {
        sqlite3_stmt *st = prep(db, "SELECT id FROM jobs WHERE queue IN (?1, ?1 || '.dead') AND dedupe=?2", err);
        if (!st) goto fail;
        bind_text(st, 1, name);
        bind_text(st, 2, o->dedupe_key);
        bool found = sqlite3_step(st) == SQLITE_ROW;
        if (found) snprintf(id_out, QUEUE_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (found) {
            ok = sq_exec(db, "COMMIT", err);
            goto out;
        }
    }
    char id[37];
    str_uuid4(id);
    int64_t now = time_now_ms();
    sqlite3_stmt *st = prep(db,
                            "INSERT INTO jobs(id,queue,state,payload,max_tries,due,dedupe,created,updated,history) "
                            "VALUES(?1,?2,'queued',?3,?4,?5,?6,?7,?7,json_array(json_object('try',0,'event','queued',"
                            "'at',?7)))",
                            err);
    if (!st) goto fail;
    bind_text(st, 1, id);
    bind_text(st, 2, name);
    bind_text(st, 3, payload);
    sqlite3_bind_int(st, 4, o->max_tries);
    sqlite3_bind_int64(st, 5, now + o->delay_ms);
    bind_text(st, 6, o->dedupe_key);
    sqlite3_bind_int64(st, 7, now);
    if (!run(db, st, NULL, err) || !sq_exec(db, "COMMIT", err)) goto fail;
    snprintf(id_out, QUEUE_ID_MAX, "%s", id);
    ok = true;
    wake_waiters(s);
    goto out;
fail:
    rollback(db);
    floe_err_wrap(err, "enqueue to '%s'", name);
out:
    conn_put(s, db);
    return ok;
}

/* Dead-letters a row whose lease ran out on its last try. */
static bool dead_letter_expired(sqlite3 *db, int64_t seq, int64_t now, floe_err *err) {
    sqlite3_stmt *st = prep(db,
                            "UPDATE jobs SET state='dead', queue=queue || '.dead', updated=?2, due=0,"
                            " error='the lease of try ' || tries || ' by ' || worker || ' ran out (no ack, nack or "
                            "heartbeat in time) and the job had max_tries=' || max_tries || ' tries',"
                            " " HISTORY_ADD("expired", "NULL", "?2") " WHERE seq=?1",
                            err);
    if (!st) return false;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, now);
    return run(db, st, NULL, err);
}

/* One attempt, in one transaction: 1 leased, 0 none ready, -1 error. */
static int try_lease(sqlite3 *db, const char *name, const char *worker, int64_t visibility_ms, arena_t *a,
                     queue_job *job, floe_err *err) {
    if (!sq_exec(db, "BEGIN IMMEDIATE", err)) return -1;
    int64_t now = time_now_ms();
    for (;;) {
        sqlite3_stmt *st = prep(db,
                                "SELECT seq, state, tries, max_tries FROM jobs WHERE queue=?1 AND state IN "
                                "('queued','failed','leased') AND due<=?2 ORDER BY due, seq LIMIT 1",
                                err);
        if (!st) goto fail;
        bind_text(st, 1, name);
        sqlite3_bind_int64(st, 2, now);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE) {
                sq_fail(db, "find a job", err);
                goto fail;
            }
            return sq_exec(db, "COMMIT", err) ? 0 : -1;
        }
        int64_t seq = sqlite3_column_int64(st, 0);
        bool expired = str_eq((const char *)sqlite3_column_text(st, 1), "leased");
        int tries = sqlite3_column_int(st, 2), max_tries = sqlite3_column_int(st, 3);
        sqlite3_finalize(st);
        if (expired && tries >= max_tries) {
            if (!dead_letter_expired(db, seq, now, err)) goto fail;
            continue;
        }
        st = prep(db,
                  "UPDATE jobs SET history=CASE WHEN state='leased' THEN "
                  "json_insert(history,'$[#]',json_object('try',tries,'worker',worker,'event','expired','at',?4)) "
                  "ELSE history END WHERE seq=?1;",
                  err);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int64(st, 4, now);
        if (!run(db, st, NULL, err)) goto fail;
        st = prep(db,
                  "UPDATE jobs SET state='leased', worker=?2, tries=tries+1, due=?3, updated=?4,"
                  " history=json_insert(history,'$[#]',json_object('try',tries+1,'worker',?2,'event','leased','at',"
                  "?4)) WHERE seq=?1 RETURNING id, payload, tries, max_tries, due",
                  err);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, seq);
        bind_text(st, 2, worker);
        sqlite3_bind_int64(st, 3, now + visibility_ms);
        sqlite3_bind_int64(st, 4, now);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sq_fail(db, "lease a job", err);
            sqlite3_finalize(st);
            goto fail;
        }
        snprintf(job->id, sizeof job->id, "%s", (const char *)sqlite3_column_text(st, 0));
        job->payload = arena_strdup(a, (const char *)sqlite3_column_text(st, 1));
        job->tries = sqlite3_column_int(st, 2);
        job->max_tries = sqlite3_column_int(st, 3);
        job->lease_deadline_ms = sqlite3_column_int64(st, 4);
        sqlite3_step(st);
        sqlite3_finalize(st);
        job->queue = arena_strdup(a, name);
        job->worker = arena_strdup(a, worker);
        job->lease_seq = job->tries;
        if (!sq_exec(db, "COMMIT", err)) goto fail;
        return 1;
    }
fail:
    rollback(db);
    return -1;
}

static int sq_lease(queue_t *q, const char *name, const char *worker, int64_t visibility_ms, int64_t wait_ms,
                    arena_t *a, queue_job *job, floe_err *err) {
    sq_queue *s = q->impl;
    uint64_t end = time_mono_ns() + (uint64_t)wait_ms * 1000000;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        uint64_t gen = s->generation;
        pthread_mutex_unlock(&s->mu);
        sqlite3 *db = conn_get(s, err);
        if (!db) return -1;
        int r = try_lease(db, name, worker, visibility_ms, a, job, err);
        conn_put(s, db);
        if (r != 0) {
            if (r < 0) floe_err_wrap(err, "lease from '%s'", name);
            return r;
        }
        uint64_t now = time_mono_ns();
        if (now >= end) return 0;
        /* Sleep until an enqueue here, the next poll for other processes'
         * work (and for retries and leases coming due), or the end. */
        uint64_t until = now + (uint64_t)s->poll_ms * 1000000;
        if (until > end) until = end;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000), .tv_nsec = (long)(until % 1000000000)};
        pthread_mutex_lock(&s->mu);
        while (s->generation == gen)
            if (pthread_cond_timedwait(&s->wake, &s->mu, &ts) != 0) break;
        pthread_mutex_unlock(&s->mu);
    }
}

/* After a write that matched no row: says why, naming the job. */
static bool lease_lost(sqlite3 *db, const queue_job *job, const char *op, floe_err *err) {
    sqlite3_stmt *st = prep(db, "SELECT state, worker, tries FROM jobs WHERE id=?1", err);
    if (!st) return false;
    bind_text(st, 1, job->id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return floe_err_set(err, FLOE_ENOENT, "%s job %s: no such job", op, job->id);
    }
    floe_err_set(err, FLOE_ECONFLICT,
                 "%s job %s: the lease of try %d by worker '%s' is over (the job is now %s, try %d by '%s'); its "
                 "visibility timeout passed without a heartbeat, so another worker may have taken it: heartbeat "
                 "more often than the visibility timeout",
                 op, job->id, (int)job->lease_seq, job->worker, (const char *)sqlite3_column_text(st, 0),
                 sqlite3_column_int(st, 2),
                 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "-");
    sqlite3_finalize(st);
    return false;
}

/* Runs an UPDATE whose ?1 ?2 ?3 are the job's id, worker and lease try,
 * ?4 the time; bind adds the rest. */
static bool leased_update(queue_t *q, const queue_job *job, const char *op, const char *sql,
                          void (*bind)(sqlite3_stmt *, const void *), const void *arg, floe_err *err) {
    sq_queue *s = q->impl;
    sqlite3 *db = conn_get(s, err);
    if (!db) return false;
    bool ok = false;
    sqlite3_stmt *st = prep(db, sql, err);
    if (st) {
        bind_text(st, 1, job->id);
        bind_text(st, 2, job->worker);
        sqlite3_bind_int64(st, 3, job->lease_seq);
        sqlite3_bind_int64(st, 4, time_now_ms());
        if (bind) bind(st, arg);
        int changes = 0;
        ok = run(db, st, &changes, err);
        if (ok && changes == 0) ok = lease_lost(db, job, op, err);
    }
    conn_put(s, db);
    return ok;
}

#define LEASE_MATCH " WHERE id=?1 AND state='leased' AND worker=?2 AND tries=?3"

static void bind_extend(sqlite3_stmt *st, const void *arg) { sqlite3_bind_int64(st, 5, *(const int64_t *)arg); }

static bool sq_heartbeat(queue_t *q, queue_job *job, int64_t extend_ms, floe_err *err) {
    if (!leased_update(q, job, "heartbeat", "UPDATE jobs SET due=?4+?5, updated=?4" LEASE_MATCH, bind_extend,
                       &extend_ms, err))
        return false;
    job->lease_deadline_ms = time_now_ms() + extend_ms;
    return true;
}

static void bind_text5(sqlite3_stmt *st, const void *arg) { bind_text(st, 5, arg); }

static bool sq_ack(queue_t *q, const queue_job *job, const char *result, floe_err *err) {
    return leased_update(
        q, job, "ack",
        "UPDATE jobs SET state='done', result=?5, due=0, updated=?4, " HISTORY_ADD("done", "NULL", "?4") LEASE_MATCH,
        bind_text5, result, err);
}

typedef struct nack_args {
    const char *error;
    int64_t delay_ms;
} nack_args;

static void bind_nack(sqlite3_stmt *st, const void *arg) {
    const nack_args *n = arg;
    bind_text(st, 5, n->error);
    sqlite3_bind_int64(st, 6, n->delay_ms);
}

static bool sq_nack(queue_t *q, const queue_job *job, const char *error, int64_t retry_delay_ms, floe_err *err) {
    nack_args n = {error, retry_delay_ms};
    bool ok = leased_update(
        q, job, "nack",
        "UPDATE jobs SET error=?5, updated=?4, " HISTORY_ADD(
            "nacked", "?5", "?4") ","
                                  " state=CASE WHEN tries>=max_tries THEN 'dead' ELSE 'failed' END,"
                                  " queue=CASE WHEN tries>=max_tries THEN queue || '.dead' ELSE queue END,"
                                  " due=CASE WHEN tries>=max_tries THEN 0 ELSE ?4+?6 END" LEASE_MATCH,
        bind_nack, &n, err);
    if (ok) wake_waiters(q->impl);
    return ok;
}

/* The try is given back: tries goes down by one, so the next lease is
 * this try again; the job is due at once. SET reads the old row, so the
 * history names the try and worker that released it. */
static bool sq_release(queue_t *q, const queue_job *job, floe_err *err) {
    bool ok = leased_update(q, job, "release",
                            "UPDATE jobs SET state='queued', tries=tries-1, due=?4, updated=?4, " HISTORY_ADD(
                                "released", "NULL", "?4") LEASE_MATCH,
                            NULL, NULL, err);
    if (ok) wake_waiters(q->impl);
    return ok;
}

static const char *col_str(sqlite3_stmt *st, int i, arena_t *a) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? arena_strdup(a, (const char *)t) : NULL;
}

static bool sq_status(queue_t *q, const char *id, arena_t *a, queue_status *out, floe_err *err) {
    sq_queue *s = q->impl;
    sqlite3 *db = conn_get(s, err);
    if (!db) return false;
    bool ok = false;
    sqlite3_stmt *st = prep(db,
                            "SELECT queue, state, tries, max_tries, worker, result, error, history, created, updated, "
                            "due FROM jobs WHERE id=?1",
                            err);
    if (!st) goto out;
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out->id, sizeof out->id, "%s", id);
        out->queue = col_str(st, 0, a);
        queue_state_parse((const char *)sqlite3_column_text(st, 1), &out->state);
        out->tries = sqlite3_column_int(st, 2);
        out->max_tries = sqlite3_column_int(st, 3);
        out->worker = col_str(st, 4, a);
        out->result = col_str(st, 5, a);
        out->error = col_str(st, 6, a);
        out->history = col_str(st, 7, a);
        out->created_ms = sqlite3_column_int64(st, 8);
        out->updated_ms = sqlite3_column_int64(st, 9);
        if (out->state == QUEUE_LEASED) out->lease_deadline_ms = sqlite3_column_int64(st, 10);
        ok = true;
    } else if (rc == SQLITE_DONE) {
        floe_err_set(err, FLOE_ENOENT, "job %s: no such job in %s", id, s->path);
    } else {
        sq_fail(db, "read a job's status", err);
    }
    sqlite3_finalize(st);
out:
    conn_put(s, db);
    return ok;
}

const queue_backend_ops queue_sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .enqueue = sq_enqueue,
    .lease = sq_lease,
    .heartbeat = sq_heartbeat,
    .ack = sq_ack,
    .nack = sq_nack,
    .release = sq_release,
    .status = sq_status,
};
