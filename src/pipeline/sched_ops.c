/*
 * sched_ops.c: what the API asks of the scheduler: trigger a run, clear
 * task instances, pause, backfill, reload. Each call posts an operation
 * and waits; the loop runs it (sched_op_exec, under the mutex) and
 * answers after the wake-up's transaction committed, so an operation that
 * returned is on disk. Also the making and loading of runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

#define BACKFILL_MAX_RUNS 10000

/* ---------------------------------------------------------------- runs */

static json_t *run_params(const pipe_spec *spec, json_t *conf) {
    json_t *params = spec->params ? json_deep_copy(spec->params) : json_object();
    if (!json_is_object(params)) {
        json_decref(params);
        params = json_object();
    }
    if (json_is_object(conf)) json_object_update(params, conf);
    return params;
}

static sched_run *run_new(pipe_sched *s, sched_pipe *p, sched_spec *ss, const char *run_id, sched_run_type type,
                          json_t *conf, int64_t iv_start, int64_t iv_end, int64_t logical_ms) {
    sched_run *r = calloc(1, sizeof *r);
    r->run_id = strdup(run_id);
    r->pipe = p;
    r->spec = ss;
    ss->refs++;
    r->type = type;
    r->state = PIPE_RUN_QUEUED;
    r->conf = conf ? json_incref(conf) : NULL;
    r->params = run_params(ss->spec, conf);
    r->iv_start = iv_start;
    r->iv_end = iv_end;
    r->logical_ms = logical_ms;
    sched_map_put(&s->runs, r->run_id, r);
    return r;
}

static void run_set_backfill(sched_run *r, sched_backfill *b) {
    r->bf = b;
    free(r->backfill_id);
    r->backfill_id = b ? strdup(b->id) : NULL;
}

/* A run from its row, with the pipeline's current spec. */
static sched_run *run_from_row(pipe_sched *s, sched_pipe *p, pdb_run_row *row) {
    sched_run *r =
        run_new(s, p, p->cur, row->run_id, row->type, row->conf, row->iv_start, row->iv_end, row->logical_ms);
    r->state = row->state;
    r->created_ms = row->created_ms;
    r->started_ms = row->started_ms;
    r->ended_ms = row->ended_ms;
    r->backfill_id = row->backfill_id;
    row->backfill_id = NULL;
    /* Only a backfill still running takes the run back: one that ended is
     * out of its pipeline's list and nothing would start its queue again.
     * A cleared run of it runs on the pipeline's slots, as after a restart
     * (which loads only running backfills). */
    sched_backfill *b = r->backfill_id ? sched_map_get(&s->backfills, r->backfill_id) : NULL;
    r->bf = b && !strcmp(b->state, "running") ? b : NULL;
    return r;
}

static void run_unload(pipe_sched *s, sched_run *r) {
    sched_map_del(&s->runs, r->run_id);
    sched_run_free(r);
}

/* A finished run read back into memory, for a clear or a backfill rerun. */
static sched_run *run_load(pipe_sched *s, const char *run_id, floe_err *err) {
    pdb_run_row row;
    if (!pdb_load_run(s, run_id, &row, err)) return NULL;
    sched_pipe *p = sched_map_get(&s->pipes, row.pipeline);
    if (!p || !p->cur) {
        floe_err_set(err, FLOE_EPRECOND,
                     "run %s belongs to pipeline '%s', which has no spec loaded now%s%s; restore its file in the "
                     "pipelines directory to rerun its tasks",
                     run_id, row.pipeline, p && p->error ? ": " : "", p && p->error ? p->error : "");
        pdb_run_row_free(&row);
        return NULL;
    }
    sched_run *r = run_from_row(s, p, &row);
    pdb_run_row_free(&row);
    if (!sched_run_materialize(s, r, false, err)) {
        run_unload(s, r);
        return NULL;
    }
    return r;
}

/* The two ids a scheduled or backfill run of an interval may have. */
static void interval_ids(const sched_pipe *p, int64_t iv_start, char *sched_id, char *bf_id, size_t cap) {
    char ts[32];
    sched_id_time(iv_start, false, ts);
    snprintf(sched_id, cap, "%s__scheduled__%s", p->name, ts);
    snprintf(bf_id, cap, "%s__backfill__%s", p->name, ts);
}

void sched_create_scheduled(pipe_sched *s, sched_pipe *p, int64_t iv_start, int64_t iv_end, int64_t now) {
    char id[256], bf_id[256], existing[256];
    interval_ids(p, iv_start, id, bf_id, sizeof id);
    if (sched_map_get(&s->runs, id) || sched_map_get(&s->runs, bf_id)) return;
    bool found = false;
    pipe_run_state st;
    floe_err err = {0};
    if (!pdb_find_interval_run(s, p->name, iv_start, &found, existing, sizeof existing, &st, &err))
        log_error("pipeline", "%s: %s", p->name, err.msg);
    if (found) return; /* a backfill ran this interval already: it is the same run */
    sched_run *r = run_new(s, p, p->cur, id, RUN_SCHEDULED, NULL, iv_start, iv_end, iv_start);
    r->created_ms = now;
    r->fresh = true;
    s->stats.runs_created++;
    sched_run_enqueue(s, r);
}

/* Takes back runs read from the db: running ones resume at once, queued
 * ones wait for a slot. Rows of pipelines without a spec are skipped
 * (they resume when one loads). */
static void resume_rows(pipe_sched *s, pdb_run_row *rows, size_t n, int64_t now) {
    floe_err err = {0};
    for (size_t i = 0; i < n; i++) {
        sched_pipe *p = sched_map_get(&s->pipes, rows[i].pipeline);
        if (!p || !p->cur || sched_map_get(&s->runs, rows[i].run_id)) continue;
        sched_run *r = run_from_row(s, p, &rows[i]);
        if (r->state != PIPE_RUN_RUNNING) {
            sched_run_enqueue(s, r);
            continue;
        }
        if (!sched_run_materialize(s, r, false, &err)) {
            log_error("pipeline", "%s: cannot read its task instances: %s", r->run_id, err.msg);
            run_unload(s, r);
            p->runs_loaded = false;
            continue;
        }
        sched_run_activate(s, r, now);
    }
    for (size_t i = 0; i < n; i++) pdb_run_row_free(&rows[i]);
    free(rows);
}

static void load_active_runs(pipe_sched *s, sched_pipe *p, int64_t now) {
    pdb_run_row *rows;
    size_t n;
    floe_err err = {0};
    if (!pdb_load_active_runs(s, p->name, &rows, &n, &err)) {
        log_error("pipeline", "%s: cannot read its runs: %s", p->name, err.msg);
        return;
    }
    p->runs_loaded = true;
    resume_rows(s, rows, n, now);
}

void sched_resume_all(pipe_sched *s) {
    int64_t now = time_now_ms();
    pdb_run_row *rows;
    size_t n;
    floe_err err = {0};
    s->recovered = true;
    if (pdb_load_active_runs(s, NULL, &rows, &n, &err)) {
        for (size_t i = 0; i < s->pipes.cap; i++) {
            sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
            if (p && p->cur) p->runs_loaded = true;
        }
        resume_rows(s, rows, n, now);
    } else {
        log_error("pipeline", "cannot read the runs to resume: %s", err.msg);
    }
    for (size_t i = 0; i < s->pipes.cap; i++) {
        sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
        if (p && p->cur) sched_spec_installed(s, p);
    }
}

void sched_spec_installed(pipe_sched *s, sched_pipe *p) {
    if (!s->recovered) return; /* pipe_sched_start calls again after recovery */
    int64_t now = time_now_ms();
    if (!p->runs_loaded) load_active_runs(s, p, now);
    sched_schedule_check(s, p, now);
    sched_pump_add(s, p);
}

/* ---------------------------------------------------------------- operations */

static sched_pipe *op_pipeline(pipe_sched *s, const char *name, floe_err *err) {
    sched_pipe *p = name ? sched_map_get(&s->pipes, name) : NULL;
    if (!p || !p->file) {
        floe_err_set(err, FLOE_ENOENT, "no pipeline '%s' in %s (a pipeline is a file NAME.yaml there)",
                     name ? name : "", s->pipelines_dir);
        return NULL;
    }
    return p;
}

static sched_pipe *op_loaded_pipeline(pipe_sched *s, const char *name, floe_err *err) {
    sched_pipe *p = op_pipeline(s, name, err);
    if (p && !p->cur) {
        floe_err_set(err, FLOE_EPRECOND, "pipeline '%s' did not load: %s; fix %s", name, p->error, p->file);
        return NULL;
    }
    return p;
}

static bool op_trigger(pipe_sched *s, sched_op *op, int64_t now) {
    sched_pipe *p = op_loaded_pipeline(s, op->pipeline, &op->err);
    if (!p) return false;
    if (op->conf && !json_is_object(op->conf))
        return floe_err_set(&op->err, FLOE_EINVAL,
                            "the conf of a run must be a JSON object of params, as {\"limit\": 10}");
    int64_t logical = op->logical_ms < 0 ? now : op->logical_ms;
    char ts[32], base[256], id[280];
    sched_id_time(logical, true, ts);
    snprintf(base, sizeof base, "%s__manual__%s", p->name, ts);
    snprintf(id, sizeof id, "%s", base);
    for (int k = 2;; k++) {
        bool taken = sched_map_get(&s->runs, id) != NULL;
        if (!taken && !pdb_run_id_taken(s, id, &taken, &op->err)) return false;
        if (!taken) break;
        snprintf(id, sizeof id, "%s_%d", base, k);
    }
    sched_run *r = run_new(s, p, p->cur, id, RUN_MANUAL, op->conf, logical, logical, logical);
    r->created_ms = now;
    r->fresh = true;
    s->stats.runs_created++;
    sched_run_enqueue(s, r);
    snprintf(op->id, sizeof op->id, "%s", id);
    log_info("pipeline", "%s: triggered", id);
    return true;
}

/* The task and, with downstream, every task that depends on it. */
static size_t clear_set(const sched_spec *ss, int idx, bool downstream, int *out) {
    size_t n = ss->spec->ntasks, k = 0;
    bool *seen = calloc(n, sizeof *seen);
    out[k++] = idx;
    seen[idx] = true;
    for (size_t i = 0; downstream && i < k; i++)
        for (int e = ss->down_off[out[i]]; e < ss->down_off[out[i] + 1]; e++)
            if (!seen[ss->down[e]]) {
                seen[ss->down[e]] = true;
                out[k++] = ss->down[e];
            }
    free(seen);
    return k;
}

static bool op_clear(pipe_sched *s, sched_op *op, int64_t now) {
    sched_run *r = sched_map_get(&s->runs, op->run_id);
    bool loaded = false;
    if (!r) {
        r = run_load(s, op->run_id, &op->err);
        if (!r) return false;
        loaded = true;
    }
    const pipe_spec *spec = r->spec->spec;
    const pipe_task_spec *t = pipe_spec_task(spec, op->task_id);
    if (!t) {
        buf_t ids = BUF_INIT;
        for (size_t i = 0; i < spec->ntasks; i++) buf_printf(&ids, "%s%s", i ? ", " : "", spec->tasks[i].id);
        floe_err_set(&op->err, FLOE_ENOENT, "run %s has no task '%s'; its tasks are %s", r->run_id, op->task_id,
                     ids.data ? ids.data : "(none)");
        buf_free(&ids);
        if (loaded) run_unload(s, r);
        return false;
    }
    if (!r->tis && !sched_run_materialize(s, r, r->fresh, &op->err)) return false;
    r->fresh = false;
    int *set = calloc(spec->ntasks, sizeof *set);
    size_t n = clear_set(r->spec, (int)(t - spec->tasks), op->flag, set);
    pipe_run_state was = r->state;
    for (size_t i = 0; i < n; i++) sched_ti_clear(s, &r->tis[set[i]], now);
    free(set);
    if (was == PIPE_RUN_SUCCESS || was == PIPE_RUN_FAILED) {
        if (r->bf) { /* its backfill counts it again when it ends */
            r->bf->done--;
            r->bf->failed -= was == PIPE_RUN_FAILED;
            sched_mark_bf(s, r->bf);
        }
        r->ended_ms = 0;
        sched_run_enqueue(s, r);
    }
    log_info("pipeline", "%s: cleared %s%s", r->run_id, op->task_id, op->flag ? " and its downstream tasks" : "");
    return true;
}

static bool op_pause(pipe_sched *s, sched_op *op, int64_t now) {
    sched_pipe *p = op_pipeline(s, op->pipeline, &op->err);
    if (!p) return false;
    p->paused_db = op->flag;
    sched_mark_pipe(s, p);
    sched_schedule_check(s, p, now);
    sched_pump_add(s, p);
    log_info("pipeline", "%s: %s", p->name, op->flag ? "paused" : "unpaused");
    return true;
}

static bool backfill_intervals(const pipe_spec *spec, int64_t from, int64_t to, int64_t **out, size_t *n,
                               floe_err *err) {
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int64_t t = pipe_schedule_next(&spec->schedule, spec->start_ms, from - 1);
    while (t < to) {
        int64_t e = pipe_schedule_next(&spec->schedule, spec->start_ms, t);
        if (e == INT64_MAX || e <= t) break;
        if (*n == BACKFILL_MAX_RUNS) {
            free(*out);
            *out = NULL;
            return floe_err_set(err, FLOE_ETOOLARGE,
                                "the backfill covers more than %d intervals of schedule '%s'; backfill a shorter "
                                "range at a time",
                                BACKFILL_MAX_RUNS, spec->schedule.text);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = realloc(*out, cap * 2 * sizeof **out);
        }
        (*out)[2 * *n] = t;
        (*out)[2 * *n + 1] = e;
        (*n)++;
        t = e;
    }
    return true;
}

/* One interval of a backfill: a new run, a rerun of the existing one
 * (reprocess), or nothing. */
static bool backfill_interval(pipe_sched *s, sched_pipe *p, sched_backfill *b, int64_t iv_start, int64_t iv_end,
                              int64_t now, floe_err *err) {
    char id[256], bf_id[256], existing[256];
    interval_ids(p, iv_start, id, bf_id, sizeof id);
    if (sched_map_get(&s->runs, id) || sched_map_get(&s->runs, bf_id)) return true; /* active: leave it be */
    bool found = false;
    pipe_run_state st = PIPE_RUN_QUEUED;
    if (!pdb_find_interval_run(s, p->name, iv_start, &found, existing, sizeof existing, &st, err)) return false;
    if (!found) {
        sched_run *r = run_new(s, p, p->cur, bf_id, RUN_BACKFILL, NULL, iv_start, iv_end, iv_start);
        r->created_ms = now;
        r->fresh = true;
        run_set_backfill(r, b);
        b->runs++;
        s->stats.runs_created++;
        sched_run_enqueue(s, r);
        return true;
    }
    bool rerun = (st == PIPE_RUN_FAILED && b->reprocess >= PIPE_REPROCESS_FAILED) ||
                 (st == PIPE_RUN_SUCCESS && b->reprocess == PIPE_REPROCESS_COMPLETED);
    if (!rerun) return true;
    sched_run *r = run_load(s, existing, err);
    if (!r) return false;
    for (size_t i = 0; i < r->nti; i++) sched_ti_clear(s, &r->tis[i], now);
    run_set_backfill(r, b);
    r->ended_ms = 0;
    b->runs++;
    sched_run_enqueue(s, r);
    return true;
}

static bool op_backfill(pipe_sched *s, sched_op *op, int64_t now) {
    sched_pipe *p = op_loaded_pipeline(s, op->pipeline, &op->err);
    if (!p) return false;
    const pipe_spec *spec = p->cur->spec;
    if (spec->schedule.kind == PIPE_SCHED_NONE)
        return floe_err_set(&op->err, FLOE_EINVAL,
                            "pipeline '%s' has no schedule, so it has no intervals to backfill; trigger runs instead",
                            p->name);
    char from[32], to[32];
    sched_iso(op->from_ms, from);
    sched_iso(op->to_ms, to);
    if (op->from_ms >= op->to_ms)
        return floe_err_set(&op->err, FLOE_EINVAL, "backfill from %s to %s: from must be before to", from, to);
    int64_t *iv;
    size_t n;
    if (!backfill_intervals(spec, op->from_ms, op->to_ms, &iv, &n, &op->err)) return false;
    if (!n) {
        free(iv);
        return floe_err_set(&op->err, FLOE_EINVAL, "no interval of schedule '%s' starts in [%s, %s)",
                            spec->schedule.text, from, to);
    }
    sched_backfill *b = calloc(1, sizeof *b);
    char ts[32], id[280];
    sched_id_time(now, true, ts);
    snprintf(id, sizeof id, "%s__bf__%s", p->name, ts);
    for (int k = 2; sched_map_get(&s->backfills, id); k++) snprintf(id, sizeof id, "%s__bf__%s_%d", p->name, ts, k);
    b->id = strdup(id);
    b->pipeline = strdup(p->name);
    b->from_ms = op->from_ms;
    b->to_ms = op->to_ms;
    b->created_ms = now;
    b->reprocess = op->reprocess;
    b->max_active_runs = op->max_active_runs > 0 ? op->max_active_runs : 1;
    b->state = "running";
    sched_map_put(&s->backfills, b->id, b);
    if (p->nbfs == p->capbfs) {
        p->capbfs = p->capbfs ? p->capbfs * 2 : 4;
        p->bfs = realloc(p->bfs, p->capbfs * sizeof *p->bfs);
    }
    p->bfs[p->nbfs++] = b;
    sched_mark_bf(s, b);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) ok = backfill_interval(s, p, b, iv[2 * i], iv[2 * i + 1], now, &op->err);
    free(iv);
    sched_bf_finish_check(s, b, now); /* nothing to do finishes it at once */
    snprintf(op->id, sizeof op->id, "%s", b->id);
    log_info("pipeline", "backfill %s: %d runs of %zu intervals in [%s, %s)", b->id, b->runs, n, from, to);
    return ok;
}

bool sched_op_exec(pipe_sched *s, sched_op *op, int64_t now) {
    switch (op->kind) {
    case OP_TRIGGER: return op_trigger(s, op, now);
    case OP_CLEAR: return op_clear(s, op, now);
    case OP_PAUSE: return op_pause(s, op, now);
    case OP_BACKFILL: return op_backfill(s, op, now);
    case OP_RELOAD: sched_specs_install(s, op->found, op->nfound, op->full_scan); return true;
    }
    return floe_err_set(&op->err, FLOE_EINTERNAL, "unknown scheduler operation %d", (int)op->kind);
}

/* ---------------------------------------------------------------- the public calls */

bool pipe_trigger(pipe_sched *s, const char *pipeline, json_t *conf, int64_t logical_ms, char *run_id_out, size_t cap,
                  floe_err *err) {
    sched_op op = {.kind = OP_TRIGGER, .pipeline = pipeline, .conf = conf, .logical_ms = logical_ms};
    if (!sched_op_run(s, &op, err)) return false;
    if (run_id_out && cap) snprintf(run_id_out, cap, "%s", op.id);
    return true;
}

bool pipe_clear(pipe_sched *s, const char *run_id, const char *task_id, bool downstream, floe_err *err) {
    sched_op op = {.kind = OP_CLEAR, .run_id = run_id, .task_id = task_id, .flag = downstream};
    return sched_op_run(s, &op, err);
}

bool pipe_set_paused(pipe_sched *s, const char *pipeline, bool paused, floe_err *err) {
    sched_op op = {.kind = OP_PAUSE, .pipeline = pipeline, .flag = paused};
    return sched_op_run(s, &op, err);
}

bool pipe_backfill(pipe_sched *s, const char *pipeline, int64_t from_ms, int64_t to_ms, pipe_reprocess reprocess,
                   int max_active_runs, char *id_out, size_t cap, floe_err *err) {
    sched_op op = {.kind = OP_BACKFILL,
                   .pipeline = pipeline,
                   .from_ms = from_ms,
                   .to_ms = to_ms,
                   .reprocess = reprocess,
                   .max_active_runs = max_active_runs};
    if (!sched_op_run(s, &op, err)) return false;
    if (id_out && cap) snprintf(id_out, cap, "%s", op.id);
    return true;
}

void pipe_reload(pipe_sched *s) {
    pthread_mutex_lock(&s->reload_mu);
    spec_found *found = NULL;
    size_t n = 0;
    bool full = true;
    sched_specs_scan(s, NULL, 0, &found, &n, &full);
    sched_op op = {.kind = OP_RELOAD, .found = found, .nfound = n, .full_scan = full};
    floe_err err = {0};
    if (!sched_op_run(s, &op, &err)) log_warn("pipeline", "reload: %s", err.msg);
    sched_specs_found_free(found, n);
    pthread_mutex_unlock(&s->reload_mu);
}
