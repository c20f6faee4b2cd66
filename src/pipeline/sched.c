/*
 * sched.c: the scheduler's event loop and the state machine of runs and
 * task instances.
 *
 * One thread runs the loop. It sleeps on a condition variable until the
 * earliest timer in a min-heap (a pipeline's next schedule check, a retry
 * or a sensor's next poke coming due, a try's execution_timeout, the
 * heartbeat) or until someone posts an event: an executor started or
 * finished a try, or an API call posted an operation (sched_ops.c). Each
 * wake-up handles everything pending, lets the consequences settle (a
 * finished task makes its downstream tasks ready at once, a finished run
 * frees a slot for the next), writes every changed row in one
 * transaction, and only after the commit hands the newly queued task
 * instances to the executors (sched_exec.c). Nothing polls.
 *
 * Task states follow Airflow: none, scheduled, queued, running, success,
 * failed, up_for_retry, upstream_failed, skipped; trigger rules and skip
 * propagation too. docs/pipelines.md explains them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

/* ---------------------------------------------------------------- marks and lists */

void sched_mark_ti(pipe_sched *s, sched_ti *ti) {
    if (ti->dirty) return;
    ti->dirty = true;
    ti->dirty_next = s->dirty_tis;
    s->dirty_tis = ti;
}

void sched_mark_run(pipe_sched *s, sched_run *r) {
    if (r->dirty) return;
    r->dirty = true;
    r->dirty_next = s->dirty_runs;
    s->dirty_runs = r;
}

void sched_mark_pipe(pipe_sched *s, sched_pipe *p) {
    if (p->dirty) return;
    p->dirty = true;
    p->dirty_next = s->dirty_pipes;
    s->dirty_pipes = p;
}

void sched_mark_bf(pipe_sched *s, sched_backfill *b) {
    if (b->dirty) return;
    b->dirty = true;
    b->dirty_next = s->dirty_bfs;
    s->dirty_bfs = b;
}

void sched_pump_add(pipe_sched *s, sched_pipe *p) {
    if (p->in_pump) return;
    p->in_pump = true;
    p->pump_next = s->pump_list;
    s->pump_list = p;
}

void sched_eval_push(pipe_sched *s, sched_ti *ti) {
    if (s->neval == s->capeval) {
        s->capeval = s->capeval ? s->capeval * 2 : 64;
        s->eval = realloc(s->eval, s->capeval * sizeof *s->eval);
    }
    s->eval[s->neval++] = ti;
}

sched_pipe *sched_pipe_get(pipe_sched *s, const char *name) {
    sched_pipe *p = sched_map_get(&s->pipes, name);
    if (p) return p;
    p = calloc(1, sizeof *p);
    p->name = strdup(name);
    p->paused_db = -1;
    p->last_end = INT64_MIN;
    p->next_run_ms = INT64_MAX;
    p->check = (sched_timer){.idx = -1, .kind = TM_PIPE, .owner = p};
    sched_map_put(&s->pipes, p->name, p);
    return p;
}

bool sched_pipe_paused(const sched_pipe *p) {
    if (p->paused_db >= 0) return p->paused_db != 0;
    return p->cur && p->cur->spec->paused;
}

static int max_runs_of(const sched_pipe *p) {
    return p->cur && p->cur->spec->max_active_runs > 0 ? p->cur->spec->max_active_runs : 16;
}

static int max_tasks_of(const sched_pipe *p) {
    return p->cur && p->cur->spec->max_active_tasks > 0 ? p->cur->spec->max_active_tasks : 16;
}

/* ---------------------------------------------------------------- queues */

static void ready_push(sched_pipe *p, sched_ti *ti) {
    if (p->ready_n == p->ready_cap) {
        size_t cap = p->ready_cap ? p->ready_cap * 2 : 16;
        sched_ti **v = malloc(cap * sizeof *v);
        for (size_t i = 0; i < p->ready_n; i++) v[i] = p->ready[(p->ready_head + i) % p->ready_cap];
        free(p->ready);
        p->ready = v;
        p->ready_cap = cap;
        p->ready_head = 0;
    }
    p->ready[(p->ready_head + p->ready_n++) % p->ready_cap] = ti;
    ti->in_ready = true;
}

static sched_ti *ready_pop(sched_pipe *p) {
    sched_ti *ti = p->ready[p->ready_head];
    p->ready_head = (p->ready_head + 1) % p->ready_cap;
    p->ready_n--;
    ti->in_ready = false;
    return ti;
}

static void ready_remove(sched_pipe *p, sched_ti *ti) {
    size_t k = 0;
    for (size_t i = 0; i < p->ready_n; i++) {
        sched_ti *t = p->ready[(p->ready_head + i) % p->ready_cap];
        if (t != ti) p->ready[(p->ready_head + k++) % p->ready_cap] = t;
    }
    p->ready_n = k;
    ti->in_ready = false;
}

static bool rq_before(const sched_run *a, const sched_run *b) {
    if (a->logical_ms != b->logical_ms) return a->logical_ms < b->logical_ms;
    return a->created_ms < b->created_ms;
}

void sched_rq_insert(run_queue *q, sched_run *r) {
    if (q->head + q->n == q->cap) {
        if (q->head) { /* room at the front: close the gap */
            memmove(q->v, q->v + q->head, q->n * sizeof *q->v);
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 8;
            q->v = realloc(q->v, q->cap * sizeof *q->v);
        }
    }
    sched_run **v = q->v + q->head;
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rq_before(r, v[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(v + lo + 1, v + lo, (q->n - lo) * sizeof *v);
    v[lo] = r;
    q->n++;
    r->queued = true;
}

static sched_run *rq_pop(run_queue *q) {
    sched_run *r = q->v[q->head++];
    if (--q->n == 0) q->head = 0;
    r->queued = false;
    return r;
}

/* Puts a QUEUED run in line for a slot: its backfill's, or its pipeline's. */
void sched_run_enqueue(pipe_sched *s, sched_run *r) {
    r->state = PIPE_RUN_QUEUED;
    sched_rq_insert(r->bf ? &r->bf->queue : &r->pipe->queue, r);
    sched_mark_run(s, r);
    sched_pump_add(s, r->pipe);
}

/* ---------------------------------------------------------------- retries */

static uint64_t rng_state;

static uint64_t rng_next(void) {
    if (!rng_state) rng_state = time_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The wait before the retry that follows try try_number: retry_delay, or
 * with exponential backoff d = min(max_retry_delay, retry_delay *
 * 2^(try_number-1)) drawn uniformly from [d/2, d] (the jitter keeps many
 * failing tasks from retrying in lockstep). */
int64_t sched_retry_delay(const pipe_retry_policy *rp, int try_number) {
    int64_t base = rp->retry_delay_ms > 0 ? rp->retry_delay_ms : 0;
    if (!rp->retry_exponential) return base;
    int64_t cap = rp->max_retry_delay_ms > 0 ? rp->max_retry_delay_ms : INT64_MAX / 4;
    int shift = try_number > 1 ? try_number - 1 : 0;
    int64_t d = base;
    for (int i = 0; i < shift && d < cap; i++) d = d > INT64_MAX / 4 ? INT64_MAX / 4 : d * 2;
    if (d > cap) d = cap;
    if (d <= 1) return d;
    int64_t lo = d / 2;
    return lo + (int64_t)(rng_next() % (uint64_t)(d - lo + 1));
}

/* ---------------------------------------------------------------- task instances */

static bool ti_terminal(pipe_ti_state st) {
    return st == PIPE_TI_SUCCESS || st == PIPE_TI_FAILED || st == PIPE_TI_UPSTREAM_FAILED || st == PIPE_TI_SKIPPED;
}

const pipe_task_spec *sched_ti_task(const sched_ti *ti) { return &ti->run->spec->spec->tasks[ti->idx]; }

static void run_finish(pipe_sched *s, sched_run *r, int64_t now);

/* Closes the open attempt with its final state. output is taken. */
void sched_att_close(sched_ti *ti, pipe_ti_state st, const char *error, json_t *output, int64_t now) {
    ti->att_open = false;
    ti->att_state = st;
    ti->att_ended_ms = now;
    free(ti->att_error);
    ti->att_error = error ? strdup(error) : NULL;
    json_decref(ti->att_output);
    ti->att_output = output;
    ti->att_dirty = true;
}

/* A task instance reached success, failed, skipped or upstream_failed:
 * its downstream tasks are evaluated, and the run may be done. */
static void ti_finish(pipe_sched *s, sched_ti *ti, pipe_ti_state st, int64_t now) {
    sched_run *r = ti->run;
    ti->state = st;
    ti->ended_ms = now;
    ti->next_try_ms = 0;
    sched_heap_disarm(&s->heap, &ti->due);
    sched_mark_ti(s, ti);
    const sched_spec *ss = r->spec;
    for (int e = ss->down_off[ti->idx]; e < ss->down_off[ti->idx + 1]; e++) sched_eval_push(s, &r->tis[ss->down[e]]);
    if (--r->unfinished == 0) run_finish(s, r, now);
}

/* The task instance may run: it waits in its pipeline's ready queue for
 * a slot under max_active_tasks. */
static void ti_ready(pipe_sched *s, sched_ti *ti) {
    ti->state = PIPE_TI_SCHEDULED;
    ti->next_try_ms = 0;
    sched_heap_disarm(&s->heap, &ti->due);
    sched_mark_ti(s, ti);
    if (!ti->in_ready) ready_push(ti->run->pipe, ti);
    sched_pump_add(s, ti->run->pipe);
}

/* Waits for ti->next_try_ms (a retry, or a sensor's next poke). */
static void ti_wait(pipe_sched *s, sched_ti *ti, pipe_ti_state st, int64_t at) {
    ti->state = st;
    ti->next_try_ms = at;
    sched_mark_ti(s, ti);
    sched_heap_arm(&s->heap, &ti->due, at);
}

typedef enum { RULE_WAIT, RULE_RUN, RULE_SKIP, RULE_UPSTREAM_FAILED } rule_verdict;

/* Airflow's trigger rules, with its skip propagation: an all_success task
 * downstream of a skipped one is skipped, and one downstream of a failed
 * one is upstream_failed as soon as that upstream fails. */
static rule_verdict trigger_rule(const sched_ti *ti) {
    const sched_run *r = ti->run;
    const sched_spec *ss = r->spec;
    int n = ss->up_off[ti->idx + 1] - ss->up_off[ti->idx];
    if (n == 0) return RULE_RUN;
    int succ = 0, skip = 0, fail = 0, done = 0;
    for (int e = ss->up_off[ti->idx]; e < ss->up_off[ti->idx + 1]; e++) {
        pipe_ti_state st = r->tis[ss->up[e]].state;
        succ += st == PIPE_TI_SUCCESS;
        skip += st == PIPE_TI_SKIPPED;
        fail += st == PIPE_TI_FAILED || st == PIPE_TI_UPSTREAM_FAILED;
        done += ti_terminal(st);
    }
    bool all_done = done == n;
    switch (sched_ti_task(ti)->trigger_rule) {
    case PIPE_TRIGGER_ALL_SUCCESS:
        if (fail) return RULE_UPSTREAM_FAILED;
        if (skip) return RULE_SKIP;
        return all_done ? RULE_RUN : RULE_WAIT;
    case PIPE_TRIGGER_ALL_FAILED:
        if (succ || skip) return RULE_SKIP;
        return all_done ? RULE_RUN : RULE_WAIT;
    case PIPE_TRIGGER_ALL_DONE: return all_done ? RULE_RUN : RULE_WAIT;
    case PIPE_TRIGGER_ONE_SUCCESS:
        if (succ) return RULE_RUN;
        if (!all_done) return RULE_WAIT;
        return fail == n ? RULE_UPSTREAM_FAILED : RULE_SKIP;
    case PIPE_TRIGGER_ONE_FAILED:
        if (fail) return RULE_RUN;
        return all_done ? RULE_SKIP : RULE_WAIT;
    case PIPE_TRIGGER_NONE_FAILED:
        if (fail) return RULE_UPSTREAM_FAILED;
        return all_done ? RULE_RUN : RULE_WAIT;
    case PIPE_TRIGGER_ALWAYS: return RULE_RUN;
    }
    return RULE_WAIT;
}

static void ti_eval(pipe_sched *s, sched_ti *ti, int64_t now) {
    if (ti->state != PIPE_TI_NONE || ti->run->state != PIPE_RUN_RUNNING) return;
    switch (trigger_rule(ti)) {
    case RULE_WAIT: break;
    case RULE_RUN: ti_ready(s, ti); break;
    case RULE_SKIP: ti_finish(s, ti, PIPE_TI_SKIPPED, now); break;
    case RULE_UPSTREAM_FAILED: ti_finish(s, ti, PIPE_TI_UPSTREAM_FAILED, now); break;
    }
}

/* Hands a ready task instance to the executors (after this wake-up's commit). */
static void ti_dispatch(pipe_sched *s, sched_ti *ti) {
    ti->state = PIPE_TI_QUEUED;
    ti->in_exec = true;
    ti->cancel = 0;
    ti->cancel_reason = CANCEL_NONE;
    ti->run->pipe->active_tasks++;
    sched_mark_ti(s, ti);
    ti->exec_next = NULL;
    if (s->dispatch)
        s->dispatch_tail->exec_next = ti;
    else
        s->dispatch = ti;
    s->dispatch_tail = ti;
}

static bool list_remove(sched_ti **head, sched_ti *ti) {
    for (sched_ti **pp = head; *pp; pp = &(*pp)->exec_next)
        if (*pp == ti) {
            *pp = ti->exec_next;
            return true;
        }
    return false;
}

/* Takes a QUEUED task instance back from the executors' queue before any
 * executor took it; false when one already has it. */
static bool ti_unqueue(pipe_sched *s, sched_ti *ti) {
    if (ti->state != PIPE_TI_QUEUED) return false;
    if (list_remove(&s->dispatch, ti)) {
        s->dispatch_tail = NULL;
        for (sched_ti *t = s->dispatch; t; t = t->exec_next) s->dispatch_tail = t;
    } else {
        if (!list_remove(&s->exec_head, ti)) return false;
        s->exec_tail = NULL;
        for (sched_ti *t = s->exec_head; t; t = t->exec_next) s->exec_tail = t;
    }
    ti->in_exec = false;
    ti->run->pipe->active_tasks--;
    return true;
}

/* Clears a task instance: back to none, with one more try allowed than it
 * has used, its history kept. A try running now is cancelled first; the
 * reset happens when it returns (sched_done). */
void sched_ti_clear(pipe_sched *s, sched_ti *ti, int64_t now) {
    if (ti->in_exec && !ti_unqueue(s, ti)) {
        ti->cancel = 1;
        ti->cancel_reason = CANCEL_CLEAR;
        return;
    }
    if (ti->in_ready) ready_remove(ti->run->pipe, ti);
    sched_heap_disarm(&s->heap, &ti->due);
    if (ti->att_open) sched_att_close(ti, PIPE_TI_FAILED, "cleared before the try ended", NULL, now);
    if (ti_terminal(ti->state)) ti->run->unfinished++;
    ti->state = PIPE_TI_NONE;
    ti->next_try_ms = ti->started_ms = ti->ended_ms = 0;
    json_decref(ti->output);
    ti->output = NULL;
    free(ti->error);
    ti->error = NULL;
    ti->max_tries = ti->try_number + sched_ti_task(ti)->retry.retries + 1;
    sched_mark_ti(s, ti);
    sched_eval_push(s, ti);
}

/* ---------------------------------------------------------------- finished tries */

static void done_failed(pipe_sched *s, sched_ti *ti, const char *error, bool retry, int64_t now) {
    sched_att_close(ti, PIPE_TI_FAILED, error, NULL, now);
    free(ti->error);
    ti->error = error ? strdup(error) : NULL;
    if (retry && ti->try_number < ti->max_tries) {
        s->stats.tasks_retried++;
        ti->ended_ms = now;
        ti_wait(s, ti, PIPE_TI_UP_FOR_RETRY, now + sched_retry_delay(&sched_ti_task(ti)->retry, ti->try_number));
        return;
    }
    s->stats.tasks_failed++;
    ti_finish(s, ti, PIPE_TI_FAILED, now);
}

/* A try (or a sensor's poke) returned. */
static void sched_done(pipe_sched *s, sched_ti *ti, int64_t now) {
    sched_pipe *p = ti->run->pipe;
    ti->in_exec = false;
    p->active_tasks--;
    s->running--;
    sched_heap_disarm(&s->heap, &ti->timeout);
    sched_pump_add(s, p);
    pipe_task_result res = ti->result;
    char *error = ti->result_error;
    json_t *output = ti->result_output;
    ti->result_error = NULL;
    ti->result_output = NULL;
    sched_cancel_reason why = ti->cancel_reason;
    ti->cancel_reason = CANCEL_NONE;
    ti->cancel = 0;
    char msg[200];

    if (why == CANCEL_CLEAR) {
        sched_att_close(ti, PIPE_TI_FAILED, "cleared while it ran", NULL, now);
        ti->state = PIPE_TI_RUNNING; /* not terminal: sched_ti_clear does not count it back */
        sched_ti_clear(s, ti, now);
        goto out;
    }
    if (why == CANCEL_TIMEOUT) {
        char d[32];
        time_duration_format(sched_ti_task(ti)->retry.execution_timeout_ms, d);
        snprintf(msg, sizeof msg, "timed out after %s (execution_timeout)", d);
        done_failed(s, ti, msg, true, now);
        goto out;
    }
    if (why == CANCEL_STOP && res != PIPE_TASK_SUCCESS && res != PIPE_TASK_SKIPPED && res != PIPE_TASK_RESCHEDULE) {
        /* Not the task's fault: the try does not count against its retries. */
        sched_att_close(ti, PIPE_TI_FAILED, "interrupted: the scheduler stopped", NULL, now);
        ti->max_tries++;
        ti->state = PIPE_TI_SCHEDULED;
        sched_mark_ti(s, ti);
        goto out;
    }
    switch (res) {
    case PIPE_TASK_SUCCESS:
        s->stats.tasks_succeeded++;
        json_decref(ti->output);
        ti->output = output ? json_incref(output) : NULL;
        sched_att_close(ti, PIPE_TI_SUCCESS, NULL, output, now);
        output = NULL;
        ti_finish(s, ti, PIPE_TI_SUCCESS, now);
        break;
    case PIPE_TASK_SKIPPED:
        sched_att_close(ti, PIPE_TI_SKIPPED, error, NULL, now);
        ti_finish(s, ti, PIPE_TI_SKIPPED, now);
        break;
    case PIPE_TASK_RESCHEDULE: {
        /* A sensor between pokes holds no executor: it waits in the heap. */
        s->stats.pokes++;
        ti->att_state = PIPE_TI_SCHEDULED;
        ti->att_dirty = true;
        int64_t at = ti->reschedule_at_ms > now ? ti->reschedule_at_ms : now;
        if (at <= now)
            ti_ready(s, ti);
        else
            ti_wait(s, ti, PIPE_TI_SCHEDULED, at);
        break;
    }
    case PIPE_TASK_FAILED: done_failed(s, ti, error ? error : "failed", true, now); break;
    case PIPE_TASK_FAILED_NOW: done_failed(s, ti, error ? error : "failed", false, now); break;
    }
out:
    free(error);
    json_decref(output);
}

/* ---------------------------------------------------------------- runs */

void sched_run_free(sched_run *r) {
    for (size_t i = 0; i < r->nti; i++) {
        sched_ti *ti = &r->tis[i];
        json_decref(ti->output);
        free(ti->error);
        free(ti->att_error);
        json_decref(ti->att_output);
        free(ti->result_error);
        json_decref(ti->result_output);
    }
    free(r->tis);
    json_decref(r->conf);
    json_decref(r->params);
    sched_spec_unref(r->spec);
    free(r->backfill_id);
    free(r->run_id);
    free(r);
}

static void ti_init(sched_run *r, size_t i) {
    sched_ti *ti = &r->tis[i];
    ti->run = r;
    ti->idx = (int)i;
    ti->state = PIPE_TI_NONE;
    ti->max_tries = r->spec->spec->tasks[i].retry.retries + 1;
    ti->due = (sched_timer){.idx = -1, .kind = TM_TI, .owner = ti};
    ti->timeout = (sched_timer){.idx = -1, .kind = TM_TIMEOUT, .owner = ti};
}

/* Builds a run's task instances: fresh, or from their rows (a run loaded
 * back, or restarted). Tasks the spec has and the rows lack start at none. */
bool sched_run_materialize(pipe_sched *s, sched_run *r, bool fresh, floe_err *err) {
    const pipe_spec *spec = r->spec->spec;
    pdb_ti_row *rows = NULL;
    size_t nrows = 0;
    if (!fresh && !pdb_load_tis(s, r->run_id, &rows, &nrows, err)) return false;
    r->nti = spec->ntasks;
    r->tis = calloc(r->nti ? r->nti : 1, sizeof *r->tis);
    r->unfinished = (int)r->nti;
    sched_map ids = {0};
    for (size_t i = 0; i < r->nti; i++) {
        ti_init(r, i);
        sched_map_put(&ids, spec->tasks[i].id, &r->tis[i]);
    }
    bool *seen = calloc(r->nti ? r->nti : 1, sizeof *seen);
    for (size_t k = 0; k < nrows; k++) {
        pdb_ti_row *row = &rows[k];
        sched_ti *ti = sched_map_get(&ids, row->task_id);
        if (!ti) continue; /* a task the spec no longer has: its rows stay as history */
        seen[ti->idx] = true;
        ti->state = row->state;
        ti->try_number = row->try_number;
        ti->max_tries = row->max_tries;
        ti->started_ms = row->started_ms;
        ti->ended_ms = row->ended_ms;
        ti->next_try_ms = row->next_try_ms;
        ti->output = row->output;
        row->output = NULL;
        ti->error = row->error;
        row->error = NULL;
        if (row->att_open) {
            ti->att_open = true;
            ti->att_try = row->try_number;
            ti->att_pokes = row->att_pokes;
            ti->att_started_ms = row->att_started_ms;
            ti->att_state = PIPE_TI_SCHEDULED;
        }
        if (ti_terminal(ti->state)) r->unfinished--;
    }
    for (size_t i = 0; i < r->nti; i++)
        if (!seen[i]) sched_mark_ti(s, &r->tis[i]);
    free(seen);
    sched_map_free(&ids);
    pdb_ti_rows_free(rows, nrows);
    return true;
}

/* A run takes a slot and starts: its task instances are evaluated, or
 * resumed where a restart or a clear left them. */
void sched_run_activate(pipe_sched *s, sched_run *r, int64_t now) {
    floe_err err = {0};
    if (!r->tis && !sched_run_materialize(s, r, r->fresh, &err)) {
        log_error("pipeline", "%s: cannot read its task instances (%s); it stays queued", r->run_id, err.msg);
        sched_rq_insert(r->bf ? &r->bf->queue : &r->pipe->queue, r);
        sched_heap_arm(&s->heap, &s->dbretry, now + 1000);
        return;
    }
    r->fresh = false;
    r->state = PIPE_RUN_RUNNING;
    if (!r->started_ms) r->started_ms = now;
    r->ended_ms = 0;
    if (!r->counted) {
        r->counted = true;
        if (r->bf)
            r->bf->active++;
        else
            r->pipe->active_runs++;
    }
    sched_mark_run(s, r);
    for (size_t i = 0; i < r->nti; i++) {
        sched_ti *ti = &r->tis[i];
        switch (ti->state) {
        case PIPE_TI_NONE: sched_eval_push(s, ti); break;
        case PIPE_TI_SCHEDULED:
            if (ti->att_open && ti->next_try_ms > now)
                ti_wait(s, ti, PIPE_TI_SCHEDULED, ti->next_try_ms);
            else
                ti_ready(s, ti);
            break;
        case PIPE_TI_UP_FOR_RETRY: ti_wait(s, ti, PIPE_TI_UP_FOR_RETRY, ti->next_try_ms); break;
        case PIPE_TI_QUEUED:
        case PIPE_TI_RUNNING:
            if (!ti->in_exec) ti_ready(s, ti);
            break;
        default: break;
        }
    }
    if (r->unfinished == 0) run_finish(s, r, now);
}

void sched_bf_finish_check(pipe_sched *s, sched_backfill *b, int64_t now) {
    if (b->done < b->runs) return;
    b->state = b->failed ? "failed" : "success";
    b->ended_ms = now;
    sched_mark_bf(s, b);
    sched_pipe *p = sched_map_get(&s->pipes, b->pipeline);
    for (size_t i = 0; p && i < p->nbfs; i++)
        if (p->bfs[i] == b) {
            p->bfs[i] = p->bfs[--p->nbfs];
            break;
        }
    log_info("pipeline", "backfill %s of %s is done: %d runs, %d failed", b->id, b->pipeline, b->runs, b->failed);
}

/* Every task instance is terminal: the run failed when a leaf (a task
 * nothing waits for) failed or was upstream_failed, else it succeeded. */
static void run_finish(pipe_sched *s, sched_run *r, int64_t now) {
    const sched_spec *ss = r->spec;
    bool failed = false;
    for (size_t i = 0; i < r->nti; i++) {
        bool leaf = ss->down_off[i] == ss->down_off[i + 1];
        pipe_ti_state st = r->tis[i].state;
        if (leaf && (st == PIPE_TI_FAILED || st == PIPE_TI_UPSTREAM_FAILED)) failed = true;
    }
    r->state = failed ? PIPE_RUN_FAILED : PIPE_RUN_SUCCESS;
    r->ended_ms = now;
    sched_mark_run(s, r);
    if (r->counted) {
        r->counted = false;
        if (r->bf)
            r->bf->active--;
        else
            r->pipe->active_runs--;
    }
    if (r->bf) {
        r->bf->done++;
        r->bf->failed += failed;
        sched_mark_bf(s, r->bf);
        sched_bf_finish_check(s, r->bf, now);
    }
    sched_pump_add(s, r->pipe);
    /* Out of memory once written: reads and later clears go to the db. */
    sched_map_del(&s->runs, r->run_id);
    r->finished = true;
    r->fin_next = s->fin_runs;
    s->fin_runs = r;
}

/* ---------------------------------------------------------------- scheduling */

/* Creates the scheduled runs that are due, and arms the next check. While
 * max_active_runs runs already wait in the queue, no more are made (a
 * catchup over years does not fill the database at once); the check
 * comes again when one of them starts. */
void sched_schedule_check(pipe_sched *s, sched_pipe *p, int64_t now) {
    sched_heap_disarm(&s->heap, &p->check);
    p->next_run_ms = INT64_MAX;
    if (s->stopping || !p->cur || !p->file || p->cur->spec->schedule.kind == PIPE_SCHED_NONE) return;
    const pipe_spec *spec = p->cur->spec;
    for (int made = 0;; made++) {
        int64_t iv_start, iv_end, next = INT64_MAX;
        bool due = pipe_next_interval(&spec->schedule, spec->start_ms, spec->end_ms, spec->catchup, p->last_end, now,
                                      &iv_start, &iv_end, &next);
        if (!due) {
            p->next_run_ms = next;
            if (next != INT64_MAX && !sched_pipe_paused(p)) sched_heap_arm(&s->heap, &p->check, next);
            return;
        }
        p->next_run_ms = iv_end;
        if (sched_pipe_paused(p) || p->queue.n >= (size_t)max_runs_of(p)) return;
        if (p->last_end != INT64_MIN && iv_end <= p->last_end) {
            log_error("pipeline", "%s: the timetable gave the interval ending %lld again; scheduling stops", p->name,
                      (long long)iv_end);
            return;
        }
        sched_create_scheduled(s, p, iv_start, iv_end, now);
        p->last_end = iv_end;
        sched_mark_pipe(s, p);
        if (made > 10000) { /* a guard: come back on the next wake-up */
            sched_heap_arm(&s->heap, &p->check, now);
            return;
        }
    }
}

/* Starts queued runs and dispatches ready task instances while the
 * pipeline's limits allow. */
static void pump(pipe_sched *s, sched_pipe *p, int64_t now) {
    if (s->stopping || sched_pipe_paused(p)) return;
    bool started = false;
    while (p->queue.n && p->active_runs < max_runs_of(p)) {
        sched_run_activate(s, rq_pop(&p->queue), now);
        started = true;
    }
    for (size_t i = 0; i < p->nbfs; i++) {
        sched_backfill *b = p->bfs[i];
        while (b->queue.n && b->active < b->max_active_runs) sched_run_activate(s, rq_pop(&b->queue), now);
    }
    if (started) sched_schedule_check(s, p, now);
    int max_tasks = max_tasks_of(p);
    while (p->ready_n && p->active_tasks < max_tasks) ti_dispatch(s, ready_pop(p));
}

/* Lets the consequences of this wake-up's events play out. */
static void settle(pipe_sched *s, int64_t now) {
    for (;;) {
        if (s->eval_head < s->neval) { /* in the order pushed: tasks start in declaration order */
            sched_ti *ti = s->eval[s->eval_head++];
            ti_eval(s, ti, now);
            continue;
        }
        s->neval = s->eval_head = 0;
        if (s->pump_list) {
            sched_pipe *p = s->pump_list;
            s->pump_list = p->pump_next;
            p->in_pump = false;
            pump(s, p, now);
            continue;
        }
        return;
    }
}

/* ---------------------------------------------------------------- timers */

static void heartbeat(pipe_sched *s, int64_t now) {
    buf_t ids = BUF_INIT;
    buf_putc(&ids, '[');
    for (size_t i = 0; i < s->runs.cap; i++) {
        sched_run *r = s->runs.ents[i].key ? s->runs.ents[i].val : NULL;
        for (size_t k = 0; r && k < r->nti; k++) {
            sched_ti *ti = &r->tis[k];
            if (!ti->in_exec || ti->state != PIPE_TI_RUNNING) continue;
            if (ids.len > 1) buf_putc(&ids, ',');
            buf_putc(&ids, '[');
            json_put_str(&ids, r->run_id, strlen(r->run_id));
            buf_putc(&ids, ',');
            const char *tid = sched_ti_task(ti)->id;
            json_put_str(&ids, tid, strlen(tid));
            buf_putc(&ids, ']');
        }
    }
    buf_putc(&ids, ']');
    floe_err err = {0};
    if (ids.len > 2 && (!pdb_tx(s, &err) || !pdb_heartbeat(s, ids.data, now, &err)))
        log_error("pipeline", "heartbeat: %s", err.msg);
    buf_free(&ids);
    if (s->running > 0) sched_heap_arm(&s->heap, &s->heartbeat, now + s->o.heartbeat_ms);
}

static void on_timer(pipe_sched *s, sched_timer *t, int64_t now) {
    switch ((sched_timer_kind)t->kind) {
    case TM_PIPE: sched_schedule_check(s, t->owner, now); break;
    case TM_TI: {
        sched_ti *ti = t->owner;
        if (ti->state == PIPE_TI_UP_FOR_RETRY || ti->state == PIPE_TI_SCHEDULED) {
            if (ti->run->state == PIPE_RUN_RUNNING) ti_ready(s, ti);
        }
        break;
    }
    case TM_TIMEOUT: {
        sched_ti *ti = t->owner;
        if (!ti->in_exec || ti->state != PIPE_TI_RUNNING) break;
        char d[32];
        if (ti->cancel_reason == CANCEL_NONE) {
            ti->cancel_reason = CANCEL_TIMEOUT;
            ti->cancel = 1;
            time_duration_format(sched_ti_task(ti)->retry.execution_timeout_ms, d);
            log_warn("pipeline", "%s %s try %d: execution_timeout (%s) passed; cancelling it", ti->run->run_id,
                     sched_ti_task(ti)->id, ti->try_number, d);
        } else {
            /* It ignores its cancel flag. Its retry cannot start while it
             * runs (a task never runs twice at once), so all there is to
             * do is say so, every zombie_ms. */
            time_duration_format(now - ti->poke_started_ms, d);
            log_error("pipeline",
                      "%s %s try %d has run %s and does not stop though cancelled; its executor thread is stuck "
                      "(the task type must check ctx->cancel)",
                      ti->run->run_id, sched_ti_task(ti)->id, ti->try_number, d);
        }
        sched_heap_arm(&s->heap, &ti->timeout, now + s->o.zombie_ms);
        break;
    }
    case TM_HEARTBEAT: heartbeat(s, now); break;
    case TM_DBRETRY: break; /* the wake-up itself retries the commit */
    }
}

/* ---------------------------------------------------------------- the loop */

static bool has_events(const pipe_sched *s) {
    if (s->quit || s->ops || s->done || s->pump_list || s->neval) return true;
    /* Changes to write wake the loop, unless the last commit failed: then
     * it waits for its retry timer. */
    return !s->tx_failed && (s->dirty_tis || s->dirty_runs || s->dirty_pipes || s->dirty_bfs || s->dispatch);
}

/* Writes every changed row in the wake-up's transaction and commits it,
 * with mu released for the commit. */
/* Detaches a dirty list into the batch being written: the batch links
 * through flush_next, so an item marked again while the commit runs (its
 * dirty_next then joins the next batch) does not break this one. */
#define DETACH(head, type)                                                                                             \
    ({                                                                                                                 \
        type *first_ = (head);                                                                                         \
        for (type *x_ = first_; x_; x_ = x_->dirty_next) {                                                             \
            x_->flush_next = x_->dirty_next;                                                                           \
            x_->dirty = false;                                                                                         \
        }                                                                                                              \
        (head) = NULL;                                                                                                 \
        first_;                                                                                                        \
    })

static bool flush_and_commit(pipe_sched *s, bool durable, floe_err *err) {
    sched_pipe *pipes = DETACH(s->dirty_pipes, sched_pipe);
    sched_run *runs = DETACH(s->dirty_runs, sched_run);
    sched_ti *tis = DETACH(s->dirty_tis, sched_ti);
    sched_backfill *bfs = DETACH(s->dirty_bfs, sched_backfill);
    uint64_t batch = ++s->write_gen;
    bool any = pipes || runs || tis || bfs || s->in_tx;
    bool ok = true;
    if (any) {
        if (!s->in_tx) s->tx_durable = durable;
        ok = pdb_tx(s, err);
        for (sched_pipe *p = pipes; ok && p; p = p->flush_next) ok = pdb_put_pipe(s, p, err);
        for (sched_backfill *b = bfs; ok && b; b = b->flush_next) ok = pdb_put_backfill(s, b, err);
        for (sched_run *r = runs; ok && r; r = r->flush_next) ok = pdb_put_run(s, r, err);
        for (sched_ti *ti = tis; ok && ti; ti = ti->flush_next) {
            ok = pdb_put_ti(s, ti, err);
            if (ok && ti->att_dirty && ti->att_try > 0) ok = pdb_put_attempt(s, ti, err);
        }
    }
    for (sched_ti *ti = tis; ti; ti = ti->flush_next) ti->att_dirty = false;
    if (ok && any) {
        pthread_mutex_unlock(&s->mu);
        ok = pdb_commit(s, err);
        pthread_mutex_lock(&s->mu);
    }
    if (ok) {
        s->commit_gen = batch;
        s->tx_failed = false;
        return true;
    }
    pdb_rollback(s);
    s->tx_failed = true;
    /* Everything goes again at the retry. */
    for (sched_pipe *p = pipes; p; p = p->flush_next) sched_mark_pipe(s, p);
    for (sched_backfill *b = bfs; b; b = b->flush_next) sched_mark_bf(s, b);
    for (sched_run *r = runs; r; r = r->flush_next) sched_mark_run(s, r);
    for (sched_ti *ti = tis; ti; ti = ti->flush_next) {
        if (ti->att_try > 0) ti->att_dirty = true;
        sched_mark_ti(s, ti);
    }
    return false;
}

static void iterate(pipe_sched *s) {
    int64_t now = time_now_ms();
    s->stats.loop_wakeups++;

    sched_op *ops = s->ops;
    s->ops = s->ops_tail = NULL;
    for (sched_op *op = ops; op; op = op->next) {
        floe_err_clear(&op->err);
        op->ok = s->stopping ? floe_err_set(&op->err, FLOE_EPRECOND, "the scheduler is stopping")
                             : sched_op_exec(s, op, now);
    }

    /* Finished tries, oldest first. */
    sched_ti *done = NULL;
    while (s->done) {
        sched_ti *ti = s->done;
        s->done = ti->done_next;
        ti->done_next = done;
        done = ti;
    }
    while (done) {
        sched_ti *ti = done;
        done = ti->done_next;
        sched_done(s, ti, now);
    }

    for (sched_timer *t; (t = sched_heap_top(&s->heap)) && t->at <= now;) {
        sched_heap_disarm(&s->heap, t);
        on_timer(s, t, now);
    }
    settle(s, now);

    if (s->quit) {
        /* Queued tries no executor took go back to scheduled: they never started. */
        for (sched_ti **list = &s->dispatch;; list = &s->exec_head) {
            while (*list) {
                sched_ti *ti = *list;
                *list = ti->exec_next;
                ti->in_exec = false;
                ti->run->pipe->active_tasks--;
                ti->state = PIPE_TI_SCHEDULED;
                sched_mark_ti(s, ti);
            }
            if (list == &s->exec_head) break;
        }
        s->exec_tail = s->dispatch_tail = NULL;
    }

    floe_err err = {0};
    bool ok = flush_and_commit(s, ops != NULL, &err);
    if (ok) {
        while (s->fin_runs) {
            sched_run *r = s->fin_runs;
            s->fin_runs = r->fin_next;
            sched_run_free(r);
        }
        while (s->dispatch) {
            sched_ti *ti = s->dispatch;
            s->dispatch = ti->exec_next;
            sched_exec_push(s, ti);
        }
        s->dispatch_tail = NULL;
    } else {
        log_error("pipeline", "%s; retrying in 1 s", err.msg);
        sched_heap_arm(&s->heap, &s->dbretry, time_now_ms() + 1000);
    }
    for (sched_op *op = ops, *next; op; op = next) {
        next = op->next;
        if (!ok && op->ok) {
            op->ok = false;
            op->err = err;
            floe_err_wrap(&op->err, "the change is made in memory but not yet saved");
        }
        op->done = true;
    }
    pthread_cond_broadcast(&s->commit_cv);
}

static void wait_for_events(pipe_sched *s) {
    while (!has_events(s)) {
        sched_timer *t = sched_heap_top(&s->heap);
        int64_t now = time_now_ms();
        if (t && t->at <= now) return;
        if (!t) {
            pthread_cond_wait(&s->sched_cv, &s->mu);
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(t->at / 1000), .tv_nsec = (long)(t->at % 1000) * 1000000};
        pthread_cond_timedwait(&s->sched_cv, &s->mu, &ts);
    }
}

static void *loop_main(void *arg) {
    pipe_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        bool quit = s->quit;
        iterate(s);
        if (quit) break;
        wait_for_events(s);
    }
    /* Operations posted after the last wake-up fail. */
    for (sched_op *op = s->ops; op; op = op->next) {
        op->ok = floe_err_set(&op->err, FLOE_EPRECOND, "the scheduler is stopping");
        op->done = true;
    }
    s->ops = s->ops_tail = NULL;
    s->loop_exited = true;
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

bool sched_op_run(pipe_sched *s, sched_op *op, floe_err *err) {
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->loop_exited) {
        pthread_mutex_unlock(&s->mu);
        return floe_err_set(err, FLOE_EPRECOND, "the scheduler is stopping");
    }
    op->next = NULL;
    op->done = false;
    if (s->ops_tail)
        s->ops_tail->next = op;
    else
        s->ops = op;
    s->ops_tail = op;
    pthread_cond_signal(&s->sched_cv);
    while (!op->done) pthread_cond_wait(&s->commit_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (!op->ok && err) *err = op->err;
    return op->ok;
}

/* ---------------------------------------------------------------- start and stop */

static void load_pipe_row(pipe_sched *s, const char *name, int paused, int64_t last_end) {
    sched_pipe *p = sched_pipe_get(s, name);
    p->paused_db = paused;
    p->last_end = last_end;
}

static void load_backfill(pipe_sched *s, sched_backfill *b) {
    sched_map_put(&s->backfills, b->id, b);
    sched_pipe *p = sched_pipe_get(s, b->pipeline);
    if (p->nbfs == p->capbfs) {
        p->capbfs = p->capbfs ? p->capbfs * 2 : 4;
        p->bfs = realloc(p->bfs, p->capbfs * sizeof *p->bfs);
    }
    p->bfs[p->nbfs++] = b;
}

/* What becomes of a try whose scheduler died while it ran. */
static void zombie_policy(pipe_sched *s, const pdb_zombie *z, pipe_ti_state *state, int64_t *next_try_ms) {
    int64_t now = time_now_ms();
    sched_pipe *p = sched_map_get(&s->pipes, z->pipeline);
    const pipe_task_spec *t = p && p->cur ? pipe_spec_task(p->cur->spec, z->task_id) : NULL;
    if (z->try_number < z->max_tries) {
        *state = PIPE_TI_UP_FOR_RETRY;
        *next_try_ms = now + (t ? sched_retry_delay(&t->retry, z->try_number) : 0);
    } else {
        *state = PIPE_TI_FAILED;
        *next_try_ms = 0;
    }
}

static char *path_dup(const char *p, const char *dflt) { return strdup(p && *p ? p : dflt); }

static void sched_free(pipe_sched *s) {
    for (size_t i = 0; i < s->runs.cap; i++)
        if (s->runs.ents[i].key) sched_run_free(s->runs.ents[i].val);
    while (s->fin_runs) {
        sched_run *r = s->fin_runs;
        s->fin_runs = r->fin_next;
        sched_run_free(r);
    }
    for (size_t i = 0; i < s->pipes.cap; i++) {
        sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
        if (!p) continue;
        sched_spec_unref(p->cur);
        free(p->queue.v);
        free(p->ready);
        free(p->bfs);
        free(p->file);
        free(p->error);
        free(p->name);
        free(p);
    }
    for (size_t i = 0; i < s->backfills.cap; i++) {
        sched_backfill *b = s->backfills.ents[i].key ? s->backfills.ents[i].val : NULL;
        if (!b) continue;
        free(b->queue.v);
        free(b->id);
        free(b->pipeline);
        free(b);
    }
    sched_map_free(&s->runs);
    sched_map_free(&s->pipes);
    sched_map_free(&s->backfills);
    free(s->heap.v);
    free(s->eval);
    free(s->exec_threads);
    pdb_close(s);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->reload_mu);
    pthread_mutex_destroy(&s->read_mu);
    pthread_cond_destroy(&s->sched_cv);
    pthread_cond_destroy(&s->exec_cv);
    pthread_cond_destroy(&s->commit_cv);
    free(s->pipelines_dir);
    free(s->db_path);
    free(s->log_dir);
    free(s);
}

pipe_sched *pipe_sched_start(const pipe_sched_opts *o, floe_err *err) {
    pipe_sched *s = calloc(1, sizeof *s);
    s->o = *o;
    s->o.env = o->env;
    if (s->o.executors <= 0) s->o.executors = 16;
    if (s->o.heartbeat_ms <= 0) s->o.heartbeat_ms = 5000;
    if (s->o.zombie_ms <= 0) s->o.zombie_ms = 6 * s->o.heartbeat_ms;
    s->pipelines_dir = path_dup(o->pipelines_dir, "./pipelines");
    s->db_path = path_dup(o->db_path, "./pipelines.db");
    s->log_dir = path_dup(o->log_dir, "./logs");
    s->o.pipelines_dir = s->pipelines_dir;
    s->o.db_path = s->db_path;
    s->o.log_dir = s->log_dir;
    s->lock_fd = -1;
    s->watch_fd = s->watch_pipe[0] = s->watch_pipe[1] = -1;
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(s->instance, sizeof s->instance, "%s:%ld:%lld", host, (long)getpid(), (long long)time_now_ms());
    s->heartbeat = (sched_timer){.idx = -1, .kind = TM_HEARTBEAT, .owner = s};
    s->dbretry = (sched_timer){.idx = -1, .kind = TM_DBRETRY, .owner = s};
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->reload_mu, NULL);
    pthread_mutex_init(&s->read_mu, NULL);
    pthread_cond_init(&s->sched_cv, NULL);
    pthread_cond_init(&s->exec_cv, NULL);
    pthread_cond_init(&s->commit_cv, NULL);

    if (!fs_exists(s->pipelines_dir)) { /* a fresh data dir: start with no pipelines rather than fail */
        if (!fs_mkdir_p(s->pipelines_dir, err)) goto fail;
        log_info("pipeline", "created the pipelines directory %s; put NAME.yaml files in it", s->pipelines_dir);
    }
    if (!pdb_open(s, err)) goto fail;
    if (!pdb_load_pipes(s, load_pipe_row, err)) goto fail;

    /* The specs first: recovery needs their retry policies. */
    spec_found *found = NULL;
    size_t nfound = 0;
    bool full = true;
    sched_specs_scan(s, NULL, 0, &found, &nfound, &full);
    pthread_mutex_lock(&s->mu);
    sched_specs_install(s, found, nfound, full);
    pthread_mutex_unlock(&s->mu);
    sched_specs_found_free(found, nfound);

    int zombies = 0;
    if (!pdb_recover(s, time_now_ms(), zombie_policy, &zombies, err)) goto fail;
    s->stats.zombies += (uint64_t)zombies;
    if (!pdb_load_backfills(s, load_backfill, err)) goto fail;

    /* Now runs resume: each pipeline with a spec loads its active runs. */
    pthread_mutex_lock(&s->mu);
    sched_resume_all(s);
    pthread_mutex_unlock(&s->mu);

    if (!sched_exec_start(s, err)) goto fail;
    if (pthread_create(&s->loop_thread, NULL, loop_main, s) != 0) {
        floe_err_errno(err, errno, "start the scheduler thread");
        goto fail_exec;
    }
    s->loop_started = true;
    if (!s->o.no_watch && !sched_watch_start(s, err)) {
        pipe_sched_stop(s);
        return NULL;
    }
    log_info("pipeline", "scheduler started: %d pipelines from %s (%d with errors), %d executors, %d zombies recovered",
             s->stats.pipelines, s->pipelines_dir, s->stats.specs_with_errors, s->o.executors, zombies);
    return s;
fail_exec:
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    sched_exec_stop(s);
fail:
    floe_err_wrap(err, "start the pipeline scheduler on %s", s->db_path);
    sched_free(s);
    return NULL;
}

void pipe_sched_stop(pipe_sched *s) {
    if (!s) return;
    sched_watch_stop(s);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    /* Executors finish (running tries are cancelled) while the loop still
     * records what they return. */
    sched_exec_stop(s);
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_signal(&s->sched_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->loop_started) pthread_join(s->loop_thread, NULL);
    log_info("pipeline", "scheduler stopped");
    sched_free(s);
}

void pipe_sched_stats_get(pipe_sched *s, pipe_sched_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}
