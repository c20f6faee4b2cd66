/*
 * sched_exec.c: the executor pool. `executors` threads take queued task
 * instances in order and run one try (or one sensor poke) each.
 *
 * Taking a task instance marks it running, with its try number raised and
 * a new attempt opened, and waits until the loop has committed that: a try
 * that ran always has its attempt row, so after a crash a task instance
 * found running was really running (a zombie), and one found queued never
 * started. Then, outside the lock, the try gets an arena, its arguments
 * rendered (params merged with the run's conf, the upstream tasks'
 * outputs), a log file LOG_DIR/PIPELINE/RUN_ID/TASK/TRY.log with
 * timestamped lines, ctx->cancel and its deadline. What it returns goes
 * back to the loop as an event.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

typedef struct exec_output {
    const char *task_id;
    json_t *output;
} exec_output;

/* What one try needs, copied under the lock. Strings are borrowed: the
 * run (and its spec) live while the task instance is on an executor. */
typedef struct exec_job {
    sched_ti *ti;
    const pipe_task_type *type;
    json_t *args, *params;
    const char *pipeline, *run_id, *task_id;
    int try_number, poke;
    int64_t iv_start, iv_end, logical_ms, started_ms, deadline_ms;
    exec_output *outputs;
    size_t noutputs;
    bool skip; /* cancelled or stopping before it began */
    char log_path[4096];
    /* results */
    pipe_task_result result;
    floe_err err;
    json_t *output;
    int64_t reschedule_at_ms;
} exec_job;

void sched_exec_log_path(const pipe_sched *s, const char *pipeline, const char *run_id, const char *task_id,
                         int try_number, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s/%s/%s/%d.log", s->log_dir, pipeline, run_id, task_id, try_number);
}

/* ---------------------------------------------------------------- logs */

typedef struct exec_log {
    int fd;
} exec_log;

static void log_line(void *arg, const char *line) {
    exec_log *l = arg;
    if (l->fd < 0) return;
    char ts[32];
    sched_iso(time_now_ms(), ts);
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s %s\n", ts, line);
    (void)fs_write_full(l->fd, b.data, b.len); /* O_APPEND: one write a line */
    buf_free(&b);
}

static void log_linef(exec_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_linef(exec_log *l, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_line(l, line);
}

static int log_open(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    floe_err err = {0};
    if (!fs_mkdir_p(dir, &err)) {
        log_warn("pipeline", "attempt log %s: %s", path, err.msg);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) log_warn("pipeline", "attempt log %s: %s", path, strerror(errno));
    return fd;
}

/* ---------------------------------------------------------------- one try */

static json_t *job_output_of(void *arg, const char *task_id) {
    exec_job *job = arg;
    for (size_t i = 0; i < job->noutputs; i++)
        if (!strcmp(job->outputs[i].task_id, task_id)) return job->outputs[i].output;
    return NULL;
}

static const char *result_name(pipe_task_result r) {
    switch (r) {
    case PIPE_TASK_SUCCESS: return "succeeded";
    case PIPE_TASK_FAILED: return "failed";
    case PIPE_TASK_FAILED_NOW: return "failed (no retry)";
    case PIPE_TASK_SKIPPED: return "skipped";
    case PIPE_TASK_RESCHEDULE: return "not yet: poke again later";
    }
    return "?";
}

static void job_run(pipe_sched *s, exec_job *job, exec_log *log) {
    job->output = json_object();
    floe_err_clear(&job->err);
    if (job->poke == 0)
        log_linef(log, "try %d of %s started (%s)", job->try_number, job->task_id, s->instance);
    else
        log_linef(log, "try %d of %s: poke %d", job->try_number, job->task_id, job->poke + 1);
    if (job->skip) {
        job->result = PIPE_TASK_FAILED;
        floe_err_set(&job->err, FLOE_EPRECOND, "cancelled before it began");
        return;
    }
    if (!job->type || !job->type->run) {
        job->result = PIPE_TASK_FAILED_NOW;
        floe_err_set(&job->err, FLOE_EINVAL, "task type is not available in this floe");
        return;
    }
    pipe_tmpl_ctx tc = {.run_id = job->run_id,
                        .pipeline = job->pipeline,
                        .task_id = job->task_id,
                        .try_number = job->try_number,
                        .interval_start_ms = job->iv_start,
                        .interval_end_ms = job->iv_end,
                        .logical_ms = job->logical_ms,
                        .params = job->params,
                        .task_output = job_output_of,
                        .task_output_arg = job};
    json_t *empty = NULL;
    json_t *args = pipe_render_json(job->args ? job->args : (empty = json_object()), &tc, &job->err);
    json_decref(empty);
    if (!args) {
        /* A template that cannot render fails the same way every time. */
        job->result = PIPE_TASK_FAILED_NOW;
        floe_err_wrap(&job->err, "render the arguments of task %s", job->task_id);
        return;
    }
    arena_t arena;
    arena_init(&arena, 0);
    pipe_task_ctx ctx = {.env = s->o.env,
                         .pipeline = job->pipeline,
                         .run_id = job->run_id,
                         .task_id = job->task_id,
                         .try_number = job->try_number,
                         .poke = job->poke,
                         .interval_start_ms = job->iv_start,
                         .interval_end_ms = job->iv_end,
                         .logical_ms = job->logical_ms,
                         .started_ms = job->started_ms,
                         .deadline_ms = job->deadline_ms,
                         .args = args,
                         .params = job->params,
                         .output = job->output,
                         .arena = &arena,
                         .cancel = &job->ti->cancel,
                         .log_fn = log_line,
                         .log_arg = log};
    job->result = job->type->run(&ctx, &job->err);
    job->reschedule_at_ms = ctx.reschedule_at_ms;
    arena_free(&arena);
    json_decref(args);
}

/* ---------------------------------------------------------------- taking and returning */

/* Under mu: the task instance starts a try or a poke. */
static void try_start(pipe_sched *s, sched_ti *ti, int64_t now) {
    ti->state = PIPE_TI_RUNNING;
    if (!ti->att_open) {
        ti->try_number++;
        ti->att_open = true;
        ti->att_try = ti->try_number;
        ti->att_pokes = 0;
        ti->att_started_ms = now;
        ti->att_ended_ms = 0;
        free(ti->att_error);
        ti->att_error = NULL;
        json_decref(ti->att_output);
        ti->att_output = NULL;
        ti->started_ms = now;
        ti->ended_ms = 0;
        s->stats.tasks_started++;
    }
    ti->att_state = PIPE_TI_RUNNING;
    ti->att_pokes++;
    ti->att_dirty = true;
    ti->poke_started_ms = now;
    ti->next_try_ms = 0;
    sched_mark_ti(s, ti);
    if (s->running++ == 0) sched_heap_arm(&s->heap, &s->heartbeat, now + s->o.heartbeat_ms);
    int64_t timeout = sched_ti_task(ti)->retry.execution_timeout_ms;
    if (timeout > 0) sched_heap_arm(&s->heap, &ti->timeout, now + timeout);
}

/* Under mu: the outputs the try's templates may read, those of the tasks
 * upstream of it, directly or not (the spec loader refuses a template that
 * reads any other task's). Walking only those, rather than every task of
 * the run, keeps each start of a wide run from copying the outputs of all
 * the tasks that finished before it. */
static void job_outputs(sched_run *r, int idx, exec_job *job) {
    const sched_spec *ss = r->spec;
    if (ss->up_off[idx] == ss->up_off[idx + 1]) return;
    uint8_t *seen = calloc(r->nti, 1);
    int *stack = malloc(r->nti * sizeof *stack), *found = malloc(r->nti * sizeof *found);
    size_t n = 0, nfound = 0;
    stack[n++] = idx;
    while (n) {
        int t = stack[--n];
        for (int e = ss->up_off[t]; e < ss->up_off[t + 1]; e++) {
            int u = ss->up[e];
            if (seen[u]) continue;
            seen[u] = 1;
            stack[n++] = u;
            if (r->tis[u].state == PIPE_TI_SUCCESS && r->tis[u].output) found[nfound++] = u;
        }
    }
    job->outputs = calloc(nfound ? nfound : 1, sizeof *job->outputs);
    for (size_t i = 0; i < nfound; i++)
        job->outputs[job->noutputs++] =
            (exec_output){sched_ti_task(&r->tis[found[i]])->id, json_incref(r->tis[found[i]].output)};
    free(seen);
    free(stack);
    free(found);
}

/* Under mu: what the try needs once the lock is released. */
static void job_fill(pipe_sched *s, sched_ti *ti, exec_job *job) {
    sched_run *r = ti->run;
    const pipe_task_spec *t = sched_ti_task(ti);
    memset(job, 0, sizeof *job);
    job->ti = ti;
    job->type = t->ttype ? t->ttype : pipe_task_type_find(t->type);
    job->args = t->args;
    job->params = json_incref(r->params);
    job->pipeline = r->pipe->name;
    job->run_id = r->run_id;
    job->task_id = t->id;
    job->try_number = ti->try_number;
    job->poke = ti->att_pokes - 1;
    job->iv_start = r->iv_start;
    job->iv_end = r->iv_end;
    job->logical_ms = r->logical_ms;
    job->started_ms = ti->att_started_ms;
    int64_t timeout = t->retry.execution_timeout_ms;
    job->deadline_ms = timeout > 0 ? ti->poke_started_ms + timeout : 0;
    job_outputs(r, ti->idx, job);
    sched_exec_log_path(s, job->pipeline, job->run_id, job->task_id, job->try_number, job->log_path,
                        sizeof job->log_path);
}

static void job_release(exec_job *job) {
    for (size_t i = 0; i < job->noutputs; i++) json_decref(job->outputs[i].output);
    free(job->outputs);
    json_decref(job->params);
    json_decref(job->output);
}

static void *exec_main(void *arg) {
    pipe_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && !s->exec_head) pthread_cond_wait(&s->exec_cv, &s->mu);
        if (s->stopping) break;
        sched_ti *ti = s->exec_head;
        s->exec_head = ti->exec_next;
        if (!s->exec_head) s->exec_tail = NULL;
        ti->exec_next = NULL;
        try_start(s, ti, time_now_ms());
        uint64_t need = s->write_gen + 1;
        pthread_cond_signal(&s->sched_cv);
        while (s->commit_gen < need && !s->stopping) pthread_cond_wait(&s->commit_cv, &s->mu);
        exec_job job;
        job_fill(s, ti, &job);
        job.skip = s->stopping || ti->cancel;
        pthread_mutex_unlock(&s->mu);

        exec_log log = {log_open(job.log_path)};
        job_run(s, &job, &log);

        pthread_mutex_lock(&s->mu);
        sched_cancel_reason why = ti->cancel_reason;
        pthread_mutex_unlock(&s->mu);
        if (why == CANCEL_TIMEOUT) {
            char d[32];
            time_duration_format(sched_ti_task(ti)->retry.execution_timeout_ms, d);
            log_linef(&log, "timed out after %s (execution_timeout)", d);
        } else if (why == CANCEL_CLEAR) {
            log_linef(&log, "cleared while it ran");
        } else if (job.result == PIPE_TASK_FAILED || job.result == PIPE_TASK_FAILED_NOW) {
            log_linef(&log, "%s: %s", result_name(job.result), job.err.msg);
        } else {
            log_linef(&log, "%s", result_name(job.result));
        }
        if (log.fd >= 0) close(log.fd);

        pthread_mutex_lock(&s->mu);
        ti->result = job.result;
        ti->result_error = job.result == PIPE_TASK_SUCCESS || job.result == PIPE_TASK_RESCHEDULE
                               ? NULL
                               : strdup(job.err.msg[0] ? job.err.msg : result_name(job.result));
        ti->result_output = job.result == PIPE_TASK_SUCCESS ? json_incref(job.output) : NULL;
        ti->reschedule_at_ms = job.reschedule_at_ms;
        ti->done_next = s->done;
        s->done = ti;
        pthread_cond_signal(&s->sched_cv);
        job_release(&job);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void sched_exec_push(pipe_sched *s, sched_ti *ti) {
    ti->exec_next = NULL;
    if (s->exec_tail)
        s->exec_tail->exec_next = ti;
    else
        s->exec_head = ti;
    s->exec_tail = ti;
    pthread_cond_signal(&s->exec_cv);
}

bool sched_exec_start(pipe_sched *s, floe_err *err) {
    s->exec_threads = calloc((size_t)s->o.executors, sizeof *s->exec_threads);
    for (int i = 0; i < s->o.executors; i++) {
        int e = pthread_create(&s->exec_threads[i], NULL, exec_main, s);
        if (e != 0) {
            floe_err_errno(err, e, "start executor thread %d of %d", i + 1, s->o.executors);
            pthread_mutex_lock(&s->mu);
            s->stopping = true;
            pthread_mutex_unlock(&s->mu);
            sched_exec_stop(s);
            return false;
        }
        s->nexec_started++;
    }
    return true;
}

void sched_exec_stop(pipe_sched *s) {
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->runs.cap; i++) {
        sched_run *r = s->runs.ents[i].key ? s->runs.ents[i].val : NULL;
        for (size_t k = 0; r && k < r->nti; k++) {
            sched_ti *ti = &r->tis[k];
            if (!ti->in_exec || ti->state != PIPE_TI_RUNNING) continue;
            if (ti->cancel_reason == CANCEL_NONE) ti->cancel_reason = CANCEL_STOP;
            ti->cancel = 1;
        }
    }
    pthread_cond_broadcast(&s->exec_cv);
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nexec_started; i++) pthread_join(s->exec_threads[i], NULL);
    s->nexec_started = 0;
}
