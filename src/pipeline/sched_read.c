/*
 * sched_read.c: the scheduler's reads for the API, as JSON (the shapes
 * are in pipeline.h), and attempt logs. Pipelines come from memory (their
 * spec, error, pause state and next run); runs, task instances, attempts
 * and backfills from pipelines.db through read connections, which see
 * what the loop has committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

static json_t *jtime(int64_t ms) {
    if (!ms || ms == INT64_MAX || ms == INT64_MIN) return json_null();
    char b[32];
    sched_iso(ms, b);
    return json_string(b);
}

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *col_jstr(sqlite3_stmt *st, int i) { return jstr((const char *)sqlite3_column_text(st, i)); }

static int64_t col_ms(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static json_t *col_jjson(sqlite3_stmt *st, int i) {
    const char *v = (const char *)sqlite3_column_text(st, i);
    json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;
    return j ? j : json_null();
}

static bool prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, floe_err *err) {
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK) return true;
    return pdb_fail(db, "read", err);
}

#define RUN_COLS                                                                                                       \
    "run_id, pipeline, type, state, conf, interval_start, interval_end, logical, created, started, ended, "            \
    "backfill_id"

static json_t *run_json(sqlite3_stmt *st) {
    json_t *o = json_object();
    json_object_set_new(o, "run_id", col_jstr(st, 0));
    json_object_set_new(o, "pipeline", col_jstr(st, 1));
    json_object_set_new(o, "type", col_jstr(st, 2));
    json_object_set_new(o, "state", col_jstr(st, 3));
    json_object_set_new(o, "conf", col_jjson(st, 4));
    char b[32];
    sched_iso(sqlite3_column_int64(st, 5), b);
    json_object_set_new(o, "data_interval_start", json_string(b));
    sched_iso(sqlite3_column_int64(st, 6), b);
    json_object_set_new(o, "data_interval_end", json_string(b));
    sched_iso(sqlite3_column_int64(st, 7), b);
    json_object_set_new(o, "logical_date", json_string(b));
    json_object_set_new(o, "created_at", jtime(col_ms(st, 8)));
    json_object_set_new(o, "started_at", jtime(col_ms(st, 9)));
    json_object_set_new(o, "ended_at", jtime(col_ms(st, 10)));
    json_object_set_new(o, "backfill_id", col_jstr(st, 11));
    return o;
}

/* ---------------------------------------------------------------- pipelines */

static int cmp_pipe(const void *a, const void *b) {
    return strcmp((*(sched_pipe *const *)a)->name, (*(sched_pipe *const *)b)->name);
}

/* Under mu: the pipeline as far as memory knows it. */
static json_t *pipe_obj(const sched_pipe *p) {
    const pipe_spec *spec = p->cur ? p->cur->spec : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "file", jstr(p->file));
    json_object_set_new(o, "description", jstr(spec ? spec->description : NULL));
    json_object_set_new(o, "schedule",
                        spec ? json_string(spec->schedule.text[0] ? spec->schedule.text : "none") : json_null());
    json_object_set_new(o, "paused", json_boolean(sched_pipe_paused(p)));
    json_object_set_new(o, "error", jstr(p->error));
    json_object_set_new(o, "next_run_at", sched_pipe_paused(p) || !spec ? json_null() : jtime(p->next_run_ms));
    int active = p->active_runs + (int)p->queue.n;
    for (size_t i = 0; i < p->nbfs; i++) active += p->bfs[i]->active + (int)p->bfs[i]->queue.n;
    json_object_set_new(o, "active_runs", json_integer(active));
    json_t *tasks = json_array();
    for (size_t i = 0; spec && i < spec->ntasks; i++) json_array_append_new(tasks, json_string(spec->tasks[i].id));
    json_object_set_new(o, "tasks", tasks);
    return o;
}

#define LAST_RUN_SQL "SELECT " RUN_COLS " FROM runs WHERE pipeline=?1 ORDER BY logical DESC, id DESC LIMIT 1"

/* Sets o's last_run with st, a prepared LAST_RUN_SQL. */
static bool add_last_run(sqlite3 *db, sqlite3_stmt *st, json_t *o, floe_err *err) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, json_string_value(json_object_get(o, "name")), -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    json_object_set_new(o, "last_run", rc == SQLITE_ROW ? run_json(st) : json_null());
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || pdb_fail(db, "read runs", err);
}

static bool add_last_runs(pipe_sched *s, json_t *list, floe_err *err) {
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return false;
    sqlite3_stmt *st = NULL;
    bool ok = prep(db, LAST_RUN_SQL, &st, err);
    for (size_t i = 0; ok && i < json_array_size(list); i++) ok = add_last_run(db, st, json_array_get(list, i), err);
    sqlite3_finalize(st);
    pdb_read_put(s, db);
    return ok;
}

json_t *pipe_list_json(pipe_sched *s, floe_err *err) {
    json_t *arr = json_array();
    pthread_mutex_lock(&s->mu);
    sched_pipe **v = calloc(s->pipes.n ? s->pipes.n : 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->pipes.cap; i++) {
        sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
        if (p && p->file) v[n++] = p;
    }
    qsort(v, n, sizeof *v, cmp_pipe);
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, pipe_obj(v[i]));
    pthread_mutex_unlock(&s->mu);
    free(v);
    if (add_last_runs(s, arr, err)) return arr;
    json_decref(arr);
    return NULL;
}

json_t *pipe_get_json(pipe_sched *s, const char *pipeline, floe_err *err) {
    pthread_mutex_lock(&s->mu);
    sched_pipe *p = sched_map_get(&s->pipes, pipeline);
    json_t *o = p && p->file ? pipe_obj(p) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!o) {
        floe_err_set(err, FLOE_ENOENT, "no pipeline '%s' in %s", pipeline, s->pipelines_dir);
        return NULL;
    }
    json_t *one = json_pack("[O]", o);
    bool ok = add_last_runs(s, one, err);
    json_decref(one);
    if (ok) return o;
    json_decref(o);
    return NULL;
}

/* ---------------------------------------------------------------- runs */

json_t *pipe_runs_json(pipe_sched *s, const char *pipeline, int limit, floe_err *err) {
    pthread_mutex_lock(&s->mu);
    sched_pipe *p = sched_map_get(&s->pipes, pipeline);
    bool known = p != NULL;
    pthread_mutex_unlock(&s->mu);
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return NULL;
    sqlite3_stmt *st;
    json_t *arr = NULL;
    if (!prep(db, "SELECT " RUN_COLS " FROM runs WHERE pipeline=?1 ORDER BY logical DESC, id DESC LIMIT ?2", &st, err))
        goto out;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit > 0 ? limit : 100);
    arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(arr, run_json(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        pdb_fail(db, "read runs", err);
        json_decref(arr);
        arr = NULL;
    } else if (!known && !json_array_size(arr)) {
        floe_err_set(err, FLOE_ENOENT, "no pipeline '%s' in %s, and no runs of one", pipeline, s->pipelines_dir);
        json_decref(arr);
        arr = NULL;
    }
out:
    pdb_read_put(s, db);
    return arr;
}

static json_t *run_by_id(sqlite3 *db, const char *run_id, floe_err *err) {
    sqlite3_stmt *st;
    if (!prep(db, "SELECT " RUN_COLS " FROM runs WHERE run_id=?1", &st, err)) return NULL;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    json_t *o = rc == SQLITE_ROW ? run_json(st) : NULL;
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        floe_err_set(err, FLOE_ENOENT, "no run '%s'; list a pipeline's runs to see their ids", run_id);
    else if (rc != SQLITE_ROW)
        pdb_fail(db, "read a run", err);
    return o;
}

json_t *pipe_run_json(pipe_sched *s, const char *run_id, floe_err *err) {
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return NULL;
    json_t *o = run_by_id(db, run_id, err);
    pdb_read_put(s, db);
    return o;
}

/* ---------------------------------------------------------------- task instances */

static json_t *attempt_json(sqlite3_stmt *st) {
    json_t *a = json_object();
    json_object_set_new(a, "try_number", json_integer(sqlite3_column_int(st, 1)));
    json_object_set_new(a, "state", col_jstr(st, 2));
    json_object_set_new(a, "started_at", jtime(col_ms(st, 3)));
    json_object_set_new(a, "ended_at", jtime(col_ms(st, 4)));
    json_object_set_new(a, "error", col_jstr(st, 5));
    json_object_set_new(a, "output", col_jjson(st, 6));
    json_object_set_new(a, "pokes", json_integer(sqlite3_column_int(st, 7)));
    return a;
}

static json_t *ti_json(const char *run_id, sqlite3_stmt *st, json_t *attempts) {
    json_t *o = json_object();
    json_object_set_new(o, "run_id", json_string(run_id));
    json_object_set_new(o, "task_id", col_jstr(st, 0));
    json_object_set_new(o, "type", col_jstr(st, 1));
    json_object_set_new(o, "state", col_jstr(st, 2));
    json_object_set_new(o, "try_number", json_integer(sqlite3_column_int(st, 3)));
    json_object_set_new(o, "max_tries", json_integer(sqlite3_column_int(st, 4)));
    int64_t started = col_ms(st, 5), ended = col_ms(st, 6);
    json_object_set_new(o, "started_at", jtime(started));
    json_object_set_new(o, "ended_at", jtime(ended));
    json_object_set_new(o, "duration_ms", started && ended >= started ? json_integer(ended - started) : json_null());
    json_object_set_new(o, "output", col_jjson(st, 7));
    json_object_set_new(o, "error", col_jstr(st, 8));
    json_object_set_new(o, "next_try_at", jtime(col_ms(st, 9)));
    json_object_set_new(o, "attempts", attempts ? json_incref(attempts) : json_array());
    return o;
}

/* A task of a run that has no row yet (the run is queued). */
static json_t *ti_none_json(const char *run_id, const pipe_task_spec *t) {
    json_t *o = json_object();
    json_object_set_new(o, "run_id", json_string(run_id));
    json_object_set_new(o, "task_id", json_string(t->id));
    json_object_set_new(o, "type", json_string(t->type));
    json_object_set_new(o, "state", json_string("none"));
    json_object_set_new(o, "try_number", json_integer(0));
    json_object_set_new(o, "max_tries", json_integer(t->retry.retries + 1));
    const char *nulls[] = {"started_at", "ended_at", "duration_ms", "output", "error", "next_try_at"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) json_object_set_new(o, nulls[i], json_null());
    json_object_set_new(o, "attempts", json_array());
    return o;
}

/* Under mu: the spec whose task order a run's tasks are listed in (the run's
 * own version while it is in memory, else the pipeline's). */
static sched_spec *spec_of_run(pipe_sched *s, const char *run_id, const char *pipeline) {
    sched_run *r = sched_map_get(&s->runs, run_id);
    if (r) return r->spec;
    sched_pipe *p = sched_map_get(&s->pipes, pipeline);
    return p ? p->cur : NULL;
}

json_t *pipe_tasks_json(pipe_sched *s, const char *run_id, floe_err *err) {
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return NULL;
    json_t *arr = NULL, *run = run_by_id(db, run_id, err);
    json_t *attempts = json_object(), *byid = json_object();
    sqlite3_stmt *st = NULL;
    if (!run) goto out;
    if (!prep(db,
              "SELECT task_id, try_number, state, started, ended, error, output, pokes FROM attempts "
              "WHERE run_id=?1 ORDER BY task_id, try_number",
              &st, err))
        goto out;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *tid = (const char *)sqlite3_column_text(st, 0);
        json_t *list = json_object_get(attempts, tid);
        if (!list) json_object_set_new(attempts, tid, list = json_array());
        json_array_append_new(list, attempt_json(st));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        pdb_fail(db, "read attempts", err);
        goto out;
    }
    if (!prep(db,
              "SELECT task_id, type, state, try_number, max_tries, started, ended, output, error, next_try_at "
              "FROM task_instances WHERE run_id=?1 ORDER BY task_id",
              &st, err))
        goto out;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *tid = (const char *)sqlite3_column_text(st, 0);
        json_object_set_new(byid, tid, ti_json(run_id, st, json_object_get(attempts, tid)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        pdb_fail(db, "read task instances", err);
        goto out;
    }
    /* In the spec's order; tasks it no longer has after them. */
    arr = json_array();
    pthread_mutex_lock(&s->mu);
    sched_spec *ss = spec_of_run(s, run_id, json_string_value(json_object_get(run, "pipeline")));
    for (size_t i = 0; ss && i < ss->spec->ntasks; i++) {
        const pipe_task_spec *t = &ss->spec->tasks[i];
        json_t *o = json_object_get(byid, t->id);
        json_array_append_new(arr, o ? json_incref(o) : ti_none_json(run_id, t));
        json_object_del(byid, t->id);
    }
    pthread_mutex_unlock(&s->mu);
    const char *k;
    json_t *v;
    json_object_foreach(byid, k, v) json_array_append(arr, v);
out:
    json_decref(run);
    json_decref(attempts);
    json_decref(byid);
    pdb_read_put(s, db);
    return arr;
}

/* ---------------------------------------------------------------- backfills */

json_t *pipe_backfill_json(pipe_sched *s, const char *id, floe_err *err) {
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return NULL;
    sqlite3_stmt *st;
    json_t *o = NULL;
    if (!prep(db,
              "SELECT id, pipeline, from_ms, to_ms, reprocess, state, runs, done, failed, max_active_runs, created, "
              "ended FROM backfills WHERE id=?1",
              &st, err))
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        o = json_object();
        json_object_set_new(o, "id", col_jstr(st, 0));
        json_object_set_new(o, "pipeline", col_jstr(st, 1));
        json_object_set_new(o, "from", jtime(sqlite3_column_int64(st, 2)));
        json_object_set_new(o, "to", jtime(sqlite3_column_int64(st, 3)));
        json_object_set_new(o, "reprocess", col_jstr(st, 4));
        json_object_set_new(o, "state", col_jstr(st, 5));
        json_object_set_new(o, "runs", json_integer(sqlite3_column_int(st, 6)));
        json_object_set_new(o, "done", json_integer(sqlite3_column_int(st, 7)));
        json_object_set_new(o, "failed", json_integer(sqlite3_column_int(st, 8)));
        json_object_set_new(o, "max_active_runs", json_integer(sqlite3_column_int(st, 9)));
        json_object_set_new(o, "created_at", jtime(col_ms(st, 10)));
        json_object_set_new(o, "ended_at", jtime(col_ms(st, 11)));
    } else if (rc == SQLITE_DONE) {
        floe_err_set(err, FLOE_ENOENT, "no backfill '%s'", id);
    } else {
        pdb_fail(db, "read a backfill", err);
    }
    sqlite3_finalize(st);
out:
    pdb_read_put(s, db);
    return o;
}

/* ---------------------------------------------------------------- logs */

bool pipe_log_read(pipe_sched *s, const char *run_id, const char *task_id, int try_number, buf_t *out, floe_err *err) {
    sqlite3 *db = pdb_read_get(s, err);
    if (!db) return false;
    sqlite3_stmt *st;
    bool ok = false;
    char rel[1024] = "";
    int found_try = 0;
    if (!prep(db,
              "SELECT log_path, try_number FROM attempts WHERE run_id=?1 AND task_id=?2 AND (?3=0 OR try_number=?3) "
              "ORDER BY try_number DESC LIMIT 1",
              &st, err))
        goto out;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, task_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, try_number);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(rel, sizeof rel, "%s", (const char *)sqlite3_column_text(st, 0));
        found_try = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        if (try_number)
            floe_err_set(err, FLOE_ENOENT, "task %s of run %s has no try %d", task_id, run_id, try_number);
        else
            floe_err_set(err, FLOE_ENOENT, "task %s of run %s has not run yet (or there is no such task or run)",
                         task_id, run_id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        pdb_fail(db, "read attempts", err);
        goto out;
    }
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", s->log_dir, rel);
    char *data = NULL;
    size_t len = 0;
    if (!fs_read_all(path, &data, &len, err)) {
        floe_err_wrap(err, "the log of try %d of task %s in run %s", found_try, task_id, run_id);
        goto out;
    }
    buf_append(out, data, len);
    free(data);
    ok = true;
out:
    pdb_read_put(s, db);
    return ok;
}
