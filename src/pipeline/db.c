/*
 * db.c: pipelines.db, the scheduler's record of pipelines, runs, task
 * instances, every attempt, and backfills (SQLite in WAL mode).
 *
 * Only the scheduler's loop writes, on one connection, one transaction per
 * wake-up. The API reads through a small pool of query_only connections,
 * and sees what the loop committed. Only one scheduler may have the file
 * open: it holds an exclusive flock on DB_PATH.lock, which names its pid.
 *
 * Durability: WAL survives kill -9 of the process whatever the synchronous
 * setting. A wake-up that carries an operation someone was told succeeded
 * (trigger, clear, pause, backfill) commits with synchronous=FULL; the
 * scheduler's own transitions commit with NORMAL, so a power loss can roll
 * back the last moments of those, which at worst runs a try again (tries
 * are at-least-once in any case). no_fsync turns syncing off (tests).
 *
 * The schema is versioned with PRAGMA user_version; docs/pipelines.md
 * describes the tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

#define SCHEMA_VERSION 1

static const char schema_v1[] =
    "CREATE TABLE pipelines("
    " name TEXT PRIMARY KEY,"
    " paused INTEGER,"   /* NULL: the spec's default; 0/1 set through the API */
    " last_end INTEGER," /* end of the last scheduled data interval */
    " updated INTEGER NOT NULL);"
    "CREATE TABLE runs("
    " id INTEGER PRIMARY KEY,"
    " run_id TEXT NOT NULL UNIQUE,"
    " pipeline TEXT NOT NULL,"
    " type TEXT NOT NULL," /* scheduled, manual, backfill */
    " state TEXT NOT NULL,"
    " conf TEXT,"
    " interval_start INTEGER NOT NULL,"
    " interval_end INTEGER NOT NULL,"
    " logical INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " started INTEGER,"
    " ended INTEGER,"
    " backfill_id TEXT);"
    "CREATE INDEX runs_by_pipeline ON runs(pipeline, logical);"
    "CREATE INDEX runs_active ON runs(pipeline) WHERE state IN ('queued','running');"
    /* a scheduled and a backfill run of one interval are the same run */
    "CREATE UNIQUE INDEX runs_by_interval ON runs(pipeline, interval_start) WHERE type IN ('scheduled','backfill');"
    "CREATE TABLE task_instances("
    " run_id TEXT NOT NULL,"
    " task_id TEXT NOT NULL,"
    " type TEXT,"
    " state TEXT NOT NULL,"
    " try_number INTEGER NOT NULL,"
    " max_tries INTEGER NOT NULL,"
    " started INTEGER,"
    " ended INTEGER,"
    " next_try_at INTEGER,"
    " heartbeat INTEGER,"
    " owner TEXT," /* the scheduler instance running it */
    " output TEXT,"
    " error TEXT,"
    " PRIMARY KEY(run_id, task_id));"
    "CREATE INDEX tis_live ON task_instances(state) WHERE state IN ('queued','running');"
    "CREATE TABLE attempts("
    " run_id TEXT NOT NULL,"
    " task_id TEXT NOT NULL,"
    " try_number INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " started INTEGER,"
    " ended INTEGER,"
    " pokes INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " output TEXT,"
    " log_path TEXT," /* under the log directory */
    " owner TEXT,"
    " PRIMARY KEY(run_id, task_id, try_number));"
    "CREATE TABLE backfills("
    " id TEXT PRIMARY KEY,"
    " pipeline TEXT NOT NULL,"
    " from_ms INTEGER NOT NULL,"
    " to_ms INTEGER NOT NULL,"
    " reprocess TEXT NOT NULL,"
    " max_active_runs INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " runs INTEGER NOT NULL,"
    " done INTEGER NOT NULL,"
    " failed INTEGER NOT NULL,"
    " created INTEGER NOT NULL,"
    " ended INTEGER);"
    "CREATE INDEX backfills_by_pipeline ON backfills(pipeline, created);";

enum {
    ST_PUT_PIPE,
    ST_PUT_RUN,
    ST_PUT_TI,
    ST_PUT_ATT,
    ST_PUT_BF,
    ST_HEARTBEAT,
    ST_FIND_IV,
    ST_RUN_TAKEN,
};

bool pdb_fail(sqlite3 *db, const char *what, floe_err *err) {
    int code = sqlite3_extended_errcode(db) & 0xff;
    floe_code fc = code == SQLITE_BUSY || code == SQLITE_LOCKED ? FLOE_ECONFLICT
                   : code == SQLITE_FULL                        ? FLOE_ENOSPC
                                                                : FLOE_EIO;
    return floe_err_set(err, fc, "pipelines.db: %s: %s%s", what, sqlite3_errmsg(db),
                        fc == FLOE_ECONFLICT ? " (another process holds its write lock: close it)"
                        : fc == FLOE_ENOSPC  ? " (free some disk space)"
                                             : "");
}

static bool exec_sql(sqlite3 *db, const char *sql, floe_err *err) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) return true;
    return pdb_fail(db, sql, err);
}

static sqlite3 *conn_open(const char *path, bool fsync, bool reader, floe_err *err) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        floe_err_set(err, FLOE_EIO, "open %s: %s; check that its directory exists and is writable", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (!exec_sql(db, "PRAGMA journal_mode=WAL", err) ||
        !exec_sql(db, fsync ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=OFF", err) ||
        (reader && !exec_sql(db, "PRAGMA query_only=1", err))) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* The exclusive lock on DB_PATH.lock: a second scheduler is told who has it. */
static bool take_lock(pipe_sched *s, floe_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s.lock", s->db_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return floe_err_errno(err, errno, "open %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = {0};
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        close(fd);
        if (n > 0 && pid[n - 1] == '\n') pid[n - 1] = 0;
        if (e == EWOULDBLOCK)
            return floe_err_set(err, FLOE_EEXIST,
                                "%s is in use by another scheduler (pid %s holds %s); stop that process, or give "
                                "this one another data directory",
                                s->db_path, n > 0 ? pid : "unknown", path);
        return floe_err_errno(err, e, "flock %s", path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        return floe_err_errno(err, e, "write %s", path);
    }
    s->lock_fd = fd;
    return true;
}

static bool migrate(sqlite3 *db, const char *path, floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(db, "read the schema version", err);
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (version == SCHEMA_VERSION) return true;
    if (version > SCHEMA_VERSION)
        return floe_err_set(err, FLOE_EPRECOND,
                            "%s has schema version %d, newer than this floe knows (%d); run a newer floe on it", path,
                            version, SCHEMA_VERSION);
    /* version 0: a new file */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (!exec_sql(db, "BEGIN IMMEDIATE", err)) return false;
    if (!exec_sql(db, schema_v1, err) || !exec_sql(db, sql, err) || !exec_sql(db, "COMMIT", err)) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return floe_err_wrap(err, "create the schema of %s", path);
    }
    return true;
}

bool pdb_open(pipe_sched *s, floe_err *err) {
    s->lock_fd = -1;
    if (!take_lock(s, err)) return false;
    s->db = conn_open(s->db_path, !s->o.no_fsync, false, err);
    if (!s->db || !migrate(s->db, s->db_path, err)) {
        pdb_close(s);
        return false;
    }
    return true;
}

void pdb_close(pipe_sched *s) {
    for (size_t i = 0; i < sizeof s->stmts / sizeof s->stmts[0]; i++) {
        sqlite3_finalize(s->stmts[i]);
        s->stmts[i] = NULL;
    }
    sqlite3_close(s->db);
    s->db = NULL;
    for (int i = 0; i < s->nread; i++) sqlite3_close(s->read_pool[i]);
    s->nread = 0;
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    s->lock_fd = -1;
}

sqlite3 *pdb_read_get(pipe_sched *s, floe_err *err) {
    pthread_mutex_lock(&s->read_mu);
    sqlite3 *db = s->nread ? s->read_pool[--s->nread] : NULL;
    pthread_mutex_unlock(&s->read_mu);
    return db ? db : conn_open(s->db_path, !s->o.no_fsync, true, err);
}

void pdb_read_put(pipe_sched *s, sqlite3 *db) {
    pthread_mutex_lock(&s->read_mu);
    if (s->nread < SCHED_READ_POOL) {
        s->read_pool[s->nread++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&s->read_mu);
    sqlite3_close(db);
}

/* ---------------------------------------------------------------- transactions */

bool pdb_tx(pipe_sched *s, floe_err *err) {
    if (s->in_tx) return true;
    if (!s->o.no_fsync &&
        !exec_sql(s->db, s->tx_durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err))
        return false;
    if (!exec_sql(s->db, "BEGIN IMMEDIATE", err)) return false;
    s->in_tx = true;
    return true;
}

bool pdb_commit(pipe_sched *s, floe_err *err) {
    if (!s->in_tx) return true;
    if (!exec_sql(s->db, "COMMIT", err)) {
        pdb_rollback(s);
        return false;
    }
    s->in_tx = false;
    return true;
}

void pdb_rollback(pipe_sched *s) {
    if (s->in_tx) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
}

/* A cached statement of the writer, reset for new bindings. */
static sqlite3_stmt *stmt(pipe_sched *s, int i, const char *sql, floe_err *err) {
    sqlite3_stmt *st = s->stmts[i];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i], NULL) != SQLITE_OK) {
        pdb_fail(s->db, "prepare", err);
        return NULL;
    }
    return s->stmts[i];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) {
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* A time: 0 is unset (NULL). */
static void bind_time(sqlite3_stmt *st, int i, int64_t ms) {
    if (ms)
        sqlite3_bind_int64(st, i, ms);
    else
        sqlite3_bind_null(st, i);
}

static void bind_json(sqlite3_stmt *st, int i, json_t *v) {
    if (!v) {
        sqlite3_bind_null(st, i);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text)
        sqlite3_bind_text(st, i, text, -1, free);
    else
        sqlite3_bind_null(st, i);
}

static bool step_done(pipe_sched *s, sqlite3_stmt *st, const char *what, floe_err *err) {
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW) rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return true;
    return pdb_fail(s->db, what, err);
}

static int64_t col_time(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static char *col_str(sqlite3_stmt *st, int i) {
    const char *v = (const char *)sqlite3_column_text(st, i);
    return v ? strdup(v) : NULL;
}

static json_t *col_json(sqlite3_stmt *st, int i) {
    const char *v = (const char *)sqlite3_column_text(st, i);
    return v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
}

/* ---------------------------------------------------------------- writes */

bool pdb_put_pipe(pipe_sched *s, const sched_pipe *p, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_PUT_PIPE,
                            "INSERT INTO pipelines(name,paused,last_end,updated) VALUES(?1,?2,?3,?4) "
                            "ON CONFLICT(name) DO UPDATE SET paused=excluded.paused, last_end=excluded.last_end, "
                            "updated=excluded.updated",
                            err);
    if (!st) return false;
    bind_text(st, 1, p->name);
    if (p->paused_db >= 0)
        sqlite3_bind_int(st, 2, p->paused_db);
    else
        sqlite3_bind_null(st, 2);
    if (p->last_end != INT64_MIN)
        sqlite3_bind_int64(st, 3, p->last_end);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, time_now_ms());
    return step_done(s, st, "write a pipeline", err);
}

bool pdb_put_run(pipe_sched *s, const sched_run *r, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_PUT_RUN,
                            "INSERT INTO runs(run_id,pipeline,type,state,conf,interval_start,interval_end,logical,"
                            "created,started,ended,backfill_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
                            "ON CONFLICT(run_id) DO UPDATE SET state=excluded.state, started=excluded.started, "
                            "ended=excluded.ended, backfill_id=excluded.backfill_id",
                            err);
    if (!st) return false;
    bind_text(st, 1, r->run_id);
    bind_text(st, 2, r->pipe->name);
    bind_text(st, 3, sched_run_type_name(r->type));
    bind_text(st, 4, pipe_run_state_name(r->state));
    bind_json(st, 5, r->conf);
    sqlite3_bind_int64(st, 6, r->iv_start);
    sqlite3_bind_int64(st, 7, r->iv_end);
    sqlite3_bind_int64(st, 8, r->logical_ms);
    sqlite3_bind_int64(st, 9, r->created_ms);
    bind_time(st, 10, r->started_ms);
    bind_time(st, 11, r->ended_ms);
    bind_text(st, 12, r->backfill_id);
    return step_done(s, st, "write a run", err);
}

bool pdb_put_ti(pipe_sched *s, const sched_ti *ti, floe_err *err) {
    sqlite3_stmt *st =
        stmt(s, ST_PUT_TI,
             "INSERT INTO task_instances(run_id,task_id,type,state,try_number,max_tries,started,ended,next_try_at,"
             "heartbeat,owner,output,error) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
             "CASE WHEN ?4 IN ('queued','running') THEN ?10 END,CASE WHEN ?4 IN ('queued','running') THEN ?11 END,"
             "?12,?13) ON CONFLICT(run_id,task_id) DO UPDATE SET type=excluded.type, state=excluded.state, "
             "try_number=excluded.try_number, max_tries=excluded.max_tries, started=excluded.started, "
             "ended=excluded.ended, next_try_at=excluded.next_try_at, "
             "heartbeat=coalesce(excluded.heartbeat, heartbeat), owner=excluded.owner, output=excluded.output, "
             "error=excluded.error",
             err);
    if (!st) return false;
    const pipe_task_spec *t = &ti->run->spec->spec->tasks[ti->idx];
    bind_text(st, 1, ti->run->run_id);
    bind_text(st, 2, t->id);
    bind_text(st, 3, t->type);
    bind_text(st, 4, pipe_ti_state_name(ti->state));
    sqlite3_bind_int(st, 5, ti->try_number);
    sqlite3_bind_int(st, 6, ti->max_tries);
    bind_time(st, 7, ti->started_ms);
    bind_time(st, 8, ti->ended_ms);
    bind_time(st, 9, ti->next_try_ms);
    sqlite3_bind_int64(st, 10, time_now_ms());
    bind_text(st, 11, s->instance);
    bind_json(st, 12, ti->output);
    bind_text(st, 13, ti->error);
    return step_done(s, st, "write a task instance", err);
}

bool pdb_put_attempt(pipe_sched *s, const sched_ti *ti, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_PUT_ATT,
                            "INSERT INTO attempts(run_id,task_id,try_number,state,started,ended,pokes,error,output,"
                            "log_path,owner) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
                            "ON CONFLICT(run_id,task_id,try_number) DO UPDATE SET state=excluded.state, "
                            "started=excluded.started, ended=excluded.ended, pokes=excluded.pokes, "
                            "error=excluded.error, output=excluded.output",
                            err);
    if (!st) return false;
    const char *task_id = ti->run->spec->spec->tasks[ti->idx].id;
    char rel[1024];
    snprintf(rel, sizeof rel, "%s/%s/%s/%d.log", ti->run->pipe->name, ti->run->run_id, task_id, ti->att_try);
    bind_text(st, 1, ti->run->run_id);
    bind_text(st, 2, task_id);
    sqlite3_bind_int(st, 3, ti->att_try);
    bind_text(st, 4, pipe_ti_state_name(ti->att_state));
    bind_time(st, 5, ti->att_started_ms);
    bind_time(st, 6, ti->att_ended_ms);
    sqlite3_bind_int(st, 7, ti->att_pokes);
    bind_text(st, 8, ti->att_error);
    bind_json(st, 9, ti->att_output);
    bind_text(st, 10, rel);
    bind_text(st, 11, s->instance);
    return step_done(s, st, "write an attempt", err);
}

bool pdb_put_backfill(pipe_sched *s, const sched_backfill *b, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_PUT_BF,
                            "INSERT INTO backfills(id,pipeline,from_ms,to_ms,reprocess,max_active_runs,state,runs,"
                            "done,failed,created,ended) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
                            "ON CONFLICT(id) DO UPDATE SET state=excluded.state, runs=excluded.runs, "
                            "done=excluded.done, failed=excluded.failed, ended=excluded.ended",
                            err);
    if (!st) return false;
    static const char *const rp[] = {"none", "failed", "completed"};
    bind_text(st, 1, b->id);
    bind_text(st, 2, b->pipeline);
    sqlite3_bind_int64(st, 3, b->from_ms);
    sqlite3_bind_int64(st, 4, b->to_ms);
    bind_text(st, 5, rp[b->reprocess]);
    sqlite3_bind_int(st, 6, b->max_active_runs);
    bind_text(st, 7, b->state);
    sqlite3_bind_int(st, 8, b->runs);
    sqlite3_bind_int(st, 9, b->done);
    sqlite3_bind_int(st, 10, b->failed);
    sqlite3_bind_int64(st, 11, b->created_ms);
    bind_time(st, 12, b->ended_ms);
    return step_done(s, st, "write a backfill", err);
}

bool pdb_heartbeat(pipe_sched *s, const char *ids_json, int64_t now, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_HEARTBEAT,
                            "UPDATE task_instances SET heartbeat=?1 WHERE state IN ('queued','running') AND "
                            "(run_id, task_id) IN (SELECT value->>0, value->>1 FROM json_each(?2))",
                            err);
    if (!st) return false;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, ids_json);
    return step_done(s, st, "write heartbeats", err);
}

/* ---------------------------------------------------------------- reads (the loop's) */

bool pdb_load_pipes(pipe_sched *s, void (*fn)(pipe_sched *, const char *, int, int64_t), floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT name, paused, last_end FROM pipelines", -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "read pipelines", err);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int paused = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 1) != 0;
        int64_t last = sqlite3_column_type(st, 2) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 2);
        fn(s, (const char *)sqlite3_column_text(st, 0), paused, last);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || pdb_fail(s->db, "read pipelines", err);
}

#define RUN_COLS                                                                                                       \
    "run_id, pipeline, type, state, conf, interval_start, interval_end, logical, created, started, ended, "            \
    "backfill_id"

static void run_row_read(sqlite3_stmt *st, pdb_run_row *r) {
    memset(r, 0, sizeof *r);
    r->run_id = col_str(st, 0);
    r->pipeline = col_str(st, 1);
    if (!sched_run_type_parse((const char *)sqlite3_column_text(st, 2), &r->type)) r->type = RUN_MANUAL;
    if (!sched_run_state_parse((const char *)sqlite3_column_text(st, 3), &r->state)) r->state = PIPE_RUN_FAILED;
    r->conf = col_json(st, 4);
    r->iv_start = sqlite3_column_int64(st, 5);
    r->iv_end = sqlite3_column_int64(st, 6);
    r->logical_ms = sqlite3_column_int64(st, 7);
    r->created_ms = sqlite3_column_int64(st, 8);
    r->started_ms = col_time(st, 9);
    r->ended_ms = col_time(st, 10);
    r->backfill_id = col_str(st, 11);
}

void pdb_run_row_free(pdb_run_row *r) {
    free(r->run_id);
    free(r->pipeline);
    free(r->backfill_id);
    json_decref(r->conf);
    memset(r, 0, sizeof *r);
}

bool pdb_load_active_runs(pipe_sched *s, const char *pipeline, pdb_run_row **rows, size_t *n, floe_err *err) {
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " RUN_COLS " FROM runs WHERE (?1 IS NULL OR pipeline=?1) AND state IN "
                           "('queued','running') ORDER BY logical, id",
                           -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "read runs", err);
    bind_text(st, 1, pipeline);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = realloc(*rows, cap * sizeof **rows);
        }
        run_row_read(st, &(*rows)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return true;
    for (size_t i = 0; i < *n; i++) pdb_run_row_free(&(*rows)[i]);
    free(*rows);
    *rows = NULL;
    *n = 0;
    return pdb_fail(s->db, "read runs", err);
}

bool pdb_load_run(pipe_sched *s, const char *run_id, pdb_run_row *row, floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " RUN_COLS " FROM runs WHERE run_id=?1", -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "read a run", err);
    bind_text(st, 1, run_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) run_row_read(st, row);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE)
        return floe_err_set(err, FLOE_ENOENT, "no run '%s'; list a pipeline's runs to see their ids", run_id);
    return pdb_fail(s->db, "read a run", err);
}

bool pdb_load_tis(pipe_sched *s, const char *run_id, pdb_ti_row **rows, size_t *n, floe_err *err) {
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT t.task_id, t.state, t.try_number, t.max_tries, t.started, t.ended, t.next_try_at,"
                           " t.output, t.error, a.state IN ('queued','running','scheduled'), a.pokes, a.started "
                           "FROM task_instances t LEFT JOIN attempts a ON a.run_id=t.run_id AND "
                           "a.task_id=t.task_id AND a.try_number=t.try_number WHERE t.run_id=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "read task instances", err);
    bind_text(st, 1, run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = realloc(*rows, cap * sizeof **rows);
        }
        pdb_ti_row *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        r->task_id = col_str(st, 0);
        if (!sched_ti_state_parse((const char *)sqlite3_column_text(st, 1), &r->state)) r->state = PIPE_TI_NONE;
        r->try_number = sqlite3_column_int(st, 2);
        r->max_tries = sqlite3_column_int(st, 3);
        r->started_ms = col_time(st, 4);
        r->ended_ms = col_time(st, 5);
        r->next_try_ms = col_time(st, 6);
        r->output = col_json(st, 7);
        r->error = col_str(st, 8);
        r->att_open = sqlite3_column_int(st, 9) != 0;
        r->att_pokes = sqlite3_column_int(st, 10);
        r->att_started_ms = col_time(st, 11);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return true;
    pdb_ti_rows_free(*rows, *n);
    *rows = NULL;
    *n = 0;
    return pdb_fail(s->db, "read task instances", err);
}

void pdb_ti_rows_free(pdb_ti_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(rows[i].task_id);
        free(rows[i].error);
        json_decref(rows[i].output);
    }
    free(rows);
}

bool pdb_find_interval_run(pipe_sched *s, const char *pipeline, int64_t iv_start, bool *found, char *run_id, size_t cap,
                           pipe_run_state *state, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_FIND_IV,
                            "SELECT run_id, state FROM runs WHERE pipeline=?1 AND interval_start=?2 AND type IN "
                            "('scheduled','backfill')",
                            err);
    if (!st) return false;
    bind_text(st, 1, pipeline);
    sqlite3_bind_int64(st, 2, iv_start);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        snprintf(run_id, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        if (!sched_run_state_parse((const char *)sqlite3_column_text(st, 1), state)) *state = PIPE_RUN_FAILED;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || pdb_fail(s->db, "find a run", err);
}

bool pdb_run_id_taken(pipe_sched *s, const char *run_id, bool *taken, floe_err *err) {
    sqlite3_stmt *st = stmt(s, ST_RUN_TAKEN, "SELECT 1 FROM runs WHERE run_id=?1", err);
    if (!st) return false;
    bind_text(st, 1, run_id);
    int rc = sqlite3_step(st);
    *taken = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || pdb_fail(s->db, "find a run", err);
}

bool pdb_load_backfills(pipe_sched *s, void (*fn)(pipe_sched *, sched_backfill *), floe_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, pipeline, from_ms, to_ms, reprocess, max_active_runs, runs, done, failed, "
                           "created FROM backfills WHERE state='running'",
                           -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "read backfills", err);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sched_backfill *b = calloc(1, sizeof *b);
        b->id = col_str(st, 0);
        b->pipeline = col_str(st, 1);
        b->from_ms = sqlite3_column_int64(st, 2);
        b->to_ms = sqlite3_column_int64(st, 3);
        const char *rp = (const char *)sqlite3_column_text(st, 4);
        b->reprocess = str_eq(rp, "completed") ? PIPE_REPROCESS_COMPLETED
                       : str_eq(rp, "failed")  ? PIPE_REPROCESS_FAILED
                                               : PIPE_REPROCESS_NONE;
        b->max_active_runs = sqlite3_column_int(st, 5);
        b->runs = sqlite3_column_int(st, 6);
        b->done = sqlite3_column_int(st, 7);
        b->failed = sqlite3_column_int(st, 8);
        b->created_ms = sqlite3_column_int64(st, 9);
        b->state = "running";
        fn(s, b);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || pdb_fail(s->db, "read backfills", err);
}

/* ---------------------------------------------------------------- recovery */

static bool zombie_write(pipe_sched *s, const pdb_zombie *z, pipe_ti_state state, int64_t next_try_ms, int64_t now,
                         floe_err *err) {
    char since[32], msg[200];
    sched_iso(z->heartbeat_ms, since);
    snprintf(msg, sizeof msg, "executor died: no heartbeat since %s", z->heartbeat_ms ? since : "the try started");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE task_instances SET state=?3, next_try_at=?4, ended=CASE WHEN ?3='failed' THEN ?5 "
                           "END, owner=NULL, error=?6 WHERE run_id=?1 AND task_id=?2",
                           -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "recover a task instance", err);
    bind_text(st, 1, z->run_id);
    bind_text(st, 2, z->task_id);
    bind_text(st, 3, pipe_ti_state_name(state));
    bind_time(st, 4, next_try_ms);
    sqlite3_bind_int64(st, 5, now);
    bind_text(st, 6, msg);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return pdb_fail(s->db, "recover a task instance", err);
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE attempts SET state='failed', ended=?4, error=?5 WHERE run_id=?1 AND task_id=?2 "
                           "AND try_number=?3",
                           -1, &st, NULL) != SQLITE_OK)
        return pdb_fail(s->db, "recover an attempt", err);
    bind_text(st, 1, z->run_id);
    bind_text(st, 2, z->task_id);
    sqlite3_bind_int(st, 3, z->try_number);
    sqlite3_bind_int64(st, 4, now);
    bind_text(st, 5, msg);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return pdb_fail(s->db, "recover an attempt", err);
    return true;
}

bool pdb_recover(pipe_sched *s, int64_t now,
                 void (*fn)(pipe_sched *, const pdb_zombie *, pipe_ti_state *state, int64_t *next_try_ms),
                 int *nzombies, floe_err *err) {
    *nzombies = 0;
    if (!exec_sql(s->db, "BEGIN IMMEDIATE", err)) return false;
    /* Queued never started: an executor commits RUNNING before it runs a try. */
    if (!exec_sql(s->db, "UPDATE task_instances SET state='scheduled', owner=NULL WHERE state='queued'", err))
        goto fail;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT t.run_id, r.pipeline, t.task_id, t.try_number, t.max_tries, "
                           "coalesce(t.heartbeat, t.started, 0) FROM task_instances t JOIN runs r USING(run_id) "
                           "WHERE t.state='running'",
                           -1, &st, NULL) != SQLITE_OK) {
        pdb_fail(s->db, "find zombies", err);
        goto fail;
    }
    pdb_zombie *z = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            z = realloc(z, cap * sizeof *z);
        }
        z[n++] = (pdb_zombie){.run_id = col_str(st, 0),
                              .pipeline = col_str(st, 1),
                              .task_id = col_str(st, 2),
                              .try_number = sqlite3_column_int(st, 3),
                              .max_tries = sqlite3_column_int(st, 4),
                              .heartbeat_ms = sqlite3_column_int64(st, 5)};
    }
    sqlite3_finalize(st);
    bool ok = rc == SQLITE_DONE || pdb_fail(s->db, "find zombies", err);
    for (size_t i = 0; ok && i < n; i++) {
        pipe_ti_state state = PIPE_TI_FAILED;
        int64_t next = 0;
        fn(s, &z[i], &state, &next);
        ok = zombie_write(s, &z[i], state, next, now, err);
        log_warn("pipeline", "%s %s try %d: zombie (its scheduler died while it ran); now %s", z[i].run_id,
                 z[i].task_id, z[i].try_number, pipe_ti_state_name(state));
    }
    for (size_t i = 0; i < n; i++) {
        free(z[i].run_id);
        free(z[i].pipeline);
        free(z[i].task_id);
    }
    free(z);
    if (!ok || !exec_sql(s->db, "COMMIT", err)) goto fail;
    *nzombies = (int)n;
    return true;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return floe_err_wrap(err, "recover the task instances of the last scheduler");
}
