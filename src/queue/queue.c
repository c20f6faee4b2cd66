/*
 * queue.c: the queue interface (queue.h): chooses the backend from the URL,
 * validates every argument with errors that name it, then hands over to
 * queue_sqlite.c or queue_redis.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "queue/queue_int.h"

static const char *const state_names[] = {"queued", "leased", "done", "failed", "dead"};

const char *queue_state_name(queue_state s) {
    return (unsigned)s < sizeof state_names / sizeof *state_names ? state_names[s] : "?";
}

bool queue_state_parse(const char *s, queue_state *out) {
    for (size_t i = 0; i < sizeof state_names / sizeof *state_names; i++)
        if (str_eq(s, state_names[i])) {
            *out = (queue_state)i;
            return true;
        }
    return false;
}

queue_t *queue_open(const char *url, const queue_opts *o, floe_err *err) {
    queue_opts def = {0};
    if (!o) o = &def;
    const queue_backend_ops *ops;
    void *impl;
    if (!url || !*url) {
        if (!o->data_dir || !*o->data_dir) {
            floe_err_set(err, FLOE_EINVAL,
                         "queue: no queue URL and no data dir; give --queue sqlite:PATH or "
                         "redis://HOST:PORT/DB, or a data dir");
            return NULL;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/queue.db", o->data_dir);
        ops = &queue_sqlite_ops;
        impl = queue_sqlite_open(path, o, err);
    } else if (str_starts_with(url, "sqlite:")) {
        const char *path = url + strlen("sqlite:");
        if (!*path) {
            floe_err_set(err, FLOE_EINVAL,
                         "queue URL '%s' has no path; expected sqlite:PATH, say sqlite:/data/queue.db", url);
            return NULL;
        }
        ops = &queue_sqlite_ops;
        impl = queue_sqlite_open(path, o, err);
    } else if (str_starts_with(url, "redis://")) {
        ops = &queue_redis_ops;
        impl = queue_redis_open(url, o, err);
    } else {
        floe_err_set(err, FLOE_EINVAL,
                     "queue URL '%s' is not understood; expected nothing (the embedded queue in the data dir), "
                     "sqlite:PATH or redis://HOST:PORT/DB",
                     url);
        return NULL;
    }
    if (!impl) return NULL;
    queue_t *q = calloc(1, sizeof *q);
    q->ops = ops;
    q->impl = impl;
    return q;
}

void queue_close(queue_t *q) {
    if (!q) return;
    q->ops->close(q);
    free(q);
}

const char *queue_backend(const queue_t *q) { return q->ops->name; }

/* Queue names become Redis keys and SQL values: keep them plain. A
 * dead-letter queue is for reading (queue_status), not for enqueue or lease. */
static bool check_name(const char *name, floe_err *err) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 100)
        return floe_err_set(err, FLOE_EINVAL, "queue name '%s' must have 1 to 100 characters", name ? name : "");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-'))
            return floe_err_set(err, FLOE_EINVAL,
                                "queue name '%s' has the character '%c'; use only letters, digits and _ . : -", name,
                                c);
    }
    if (str_ends_with(name, ".dead"))
        return floe_err_set(err, FLOE_EINVAL,
                            "queue name '%s' ends in .dead, which names a dead-letter queue; jobs get there only "
                            "after max_tries failed tries",
                            name);
    return true;
}

static bool check_worker(const char *worker, floe_err *err) {
    size_t n = worker ? strlen(worker) : 0;
    if (n == 0 || n > 200)
        return floe_err_set(err, FLOE_EINVAL, "worker id '%s' must have 1 to 200 characters", worker ? worker : "");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)worker[i] <= ' ')
            return floe_err_set(err, FLOE_EINVAL, "worker id '%s' has a space or control character; use a plain name",
                                worker);
    return true;
}

static bool check_job(const queue_job *job, floe_err *err) {
    if (!job || !job->id[0] || !job->queue || !job->worker)
        return floe_err_set(err, FLOE_EINVAL, "queue: the job is not one queue_lease returned");
    return true;
}

bool queue_enqueue(queue_t *q, const char *name, const char *payload, const queue_enqueue_opts *o,
                   char id_out[QUEUE_ID_MAX], floe_err *err) {
    queue_enqueue_opts eo = o ? *o : (queue_enqueue_opts){0};
    if (!check_name(name, err)) return false;
    if (!payload) return floe_err_set(err, FLOE_EINVAL, "enqueue to '%s': the payload is missing", name);
    if (eo.max_tries == 0) eo.max_tries = QUEUE_DEFAULT_MAX_TRIES;
    if (eo.max_tries < 1 || eo.max_tries > 1000)
        return floe_err_set(err, FLOE_EINVAL, "enqueue to '%s': max_tries %d is out of range; use 1 to 1000", name,
                            eo.max_tries);
    if (eo.delay_ms < 0)
        return floe_err_set(err, FLOE_EINVAL, "enqueue to '%s': delay_ms %lld is negative", name,
                            (long long)eo.delay_ms);
    if (eo.dedupe_key && (!*eo.dedupe_key || strlen(eo.dedupe_key) > 200))
        return floe_err_set(err, FLOE_EINVAL, "enqueue to '%s': the dedupe key must have 1 to 200 characters", name);
    return q->ops->enqueue(q, name, payload, &eo, id_out, err);
}

int queue_lease(queue_t *q, const char *name, const char *worker_id, int64_t visibility_ms, int64_t wait_ms, arena_t *a,
                queue_job *job, floe_err *err) {
    if (!check_name(name, err) || !check_worker(worker_id, err)) return -1;
    if (visibility_ms < 10 || visibility_ms > 7LL * 24 * 3600 * 1000) {
        floe_err_set(err, FLOE_EINVAL,
                     "lease from '%s': visibility timeout %lld ms is out of range; use 10 ms to 7 days", name,
                     (long long)visibility_ms);
        return -1;
    }
    if (wait_ms < 0) wait_ms = 0;
    memset(job, 0, sizeof *job);
    return q->ops->lease(q, name, worker_id, visibility_ms, wait_ms, a, job, err);
}

bool queue_heartbeat(queue_t *q, queue_job *job, int64_t extend_ms, floe_err *err) {
    if (!check_job(job, err)) return false;
    if (extend_ms < 10)
        return floe_err_set(err, FLOE_EINVAL, "heartbeat of job %s: extend_ms %lld must be at least 10", job->id,
                            (long long)extend_ms);
    return q->ops->heartbeat(q, job, extend_ms, err);
}

bool queue_ack(queue_t *q, const queue_job *job, const char *result, floe_err *err) {
    if (!check_job(job, err)) return false;
    return q->ops->ack(q, job, result, err);
}

bool queue_nack(queue_t *q, const queue_job *job, const char *error, int64_t retry_delay_ms, floe_err *err) {
    if (!check_job(job, err)) return false;
    if (retry_delay_ms < 0) retry_delay_ms = 0;
    return q->ops->nack(q, job, error ? error : "", retry_delay_ms, err);
}

bool queue_release(queue_t *q, const queue_job *job, floe_err *err) {
    if (!check_job(job, err)) return false;
    return q->ops->release(q, job, err);
}

bool queue_status_get(queue_t *q, const char *job_id, arena_t *a, queue_status *out, floe_err *err) {
    if (!job_id || !*job_id || strlen(job_id) >= QUEUE_ID_MAX)
        return floe_err_set(err, FLOE_EINVAL, "job id '%s' is not a job id (expected the id queue_enqueue returned)",
                            job_id ? job_id : "");
    memset(out, 0, sizeof *out);
    return q->ops->status(q, job_id, a, out, err);
}
