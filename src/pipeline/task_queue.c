/*
 * task_queue.c: the task types that talk to the job queue (queue.h).
 *
 *   crawl     enqueues a crawl job in the form src/crawler/crawler.h's
 *             contract gives, and outputs its id and target path. The job
 *             carries a dedupe key made of the pipeline, run and task, so
 *             a retry of the task (or a second executor after a zombie)
 *             finds the job the first try enqueued instead of adding one:
 *             the crawl runs once however often its task does. Only when
 *             that job is dead-lettered does a retry enqueue a fresh one,
 *             under the key with a generation suffix ("#1", "#2", ...).
 *   wait_job  a sensor on a job's status: done gives the crawler's result
 *             as output, dead fails, anything else pokes again later
 *             without holding an executor slot.
 *
 * docs/pipeline-tasks.md is the reference for their keys and outputs.
 */
#include <string.h>

#include "base/hash.h"
#include "base/time.h"
#include "crawler/crawler.h"
#include "pipeline/task_int.h"
#include "queue/queue.h"

/* ================================================================ crawl */

#define CRAWL_MAX_GENERATIONS 100 /* fresh jobs after dead-lettered ones */

static const pipe_field crawl_fields[] = {
    {"endpoint", PIPE_FIELD_STRING, true, "the name of an endpoint block in the crawler config, like trades"},
    {"params", PIPE_FIELD_OBJECT, false, "request parameters merged over the endpoint's, like {symbol: BTCUSDT}"},
    {"base_url", PIPE_FIELD_STRING, false, "overrides the endpoint's base_url, like http://127.0.0.1:8800"},
    {"target", PIPE_FIELD_STRING, false,
     "where the raw JSONL lands (default s3://warehouse/raw/ENDPOINT/ds=.../hr=.../min=.../RUN_ID.jsonl.zst)"},
    {"queue", PIPE_FIELD_STRING, false, "the queue to put the job on (default: the server's crawl queue, \"crawl\")"},
    {"max_tries", PIPE_FIELD_INT, false, "deliveries of the job before it is dead-lettered (default 5)"},
};

static bool endpoint_ok(const char *s) {
    if (!*s || strlen(s) > 100) return false;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* The run id as a file name: characters other than [A-Za-z0-9._-] become
 * '_' ("scheduled__2024-01-01T00:00:00+00:00" -> "..._00_00_00_00_00"). */
static const char *file_safe(arena_t *a, const char *s) {
    char *out = arena_strdup(a, s);
    for (char *p = out; *p; p++)
        if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            *p = '_';
    return out;
}

static const char *crawl_target(pipe_task_ctx *c, const char *endpoint) {
    task_interval iv;
    task_interval_of(c->interval_start_ms, &iv);
    const char *wh = c->env->warehouse ? c->env->warehouse : "s3://warehouse";
    size_t n = strlen(wh);
    while (n && wh[n - 1] == '/') n--;
    return arena_sprintf(c->arena, "%.*s/raw/%s/ds=%s/hr=%s/min=%s/%s.jsonl.zst", (int)n, wh, endpoint, iv.ds, iv.hr,
                         iv.min, file_safe(c->arena, c->run_id ? c->run_id : "manual"));
}

/* pipeline/run/task, or its sha256 when that is too long for a dedupe key. */
static const char *crawl_dedupe_base(pipe_task_ctx *c) {
    const char *k = arena_sprintf(c->arena, "%s/%s/%s", c->pipeline ? c->pipeline : "", c->run_id ? c->run_id : "",
                                  c->task_id ? c->task_id : "");
    if (strlen(k) <= 180) return k;
    char hex[65];
    hash_sha256_hex(k, strlen(k), hex);
    return arena_sprintf(c->arena, "sha256:%s", hex);
}

static char *crawl_payload(pipe_task_ctx *c, const char *endpoint, json_t *params, const char *base_url,
                           const char *target) {
    json_t *p = json_object();
    json_object_set_new(p, "endpoint", json_string(endpoint));
    json_object_set_new(p, "params", params ? json_deep_copy(params) : json_object());
    if (base_url) json_object_set_new(p, "base_url", json_string(base_url));
    json_object_set_new(p, "target", json_string(target));
    json_object_set_new(p, "run_id", json_string(c->run_id ? c->run_id : ""));
    json_object_set_new(p, "pipeline", json_string(c->pipeline ? c->pipeline : ""));
    json_object_set_new(p, "task_id", json_string(c->task_id ? c->task_id : ""));
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    char *out = arena_strdup(c->arena, s);
    free(s);
    return out;
}

static pipe_task_result crawl_task_run(pipe_task_ctx *c, floe_err *err) {
    const char *endpoint, *base_url, *target, *qname;
    json_t *params;
    int64_t max_tries;
    if (!targ_str(c, "endpoint", true, &endpoint, err) || !targ_object(c, "params", false, &params, err) ||
        !targ_str(c, "base_url", false, &base_url, err) || !targ_str(c, "target", false, &target, err) ||
        !targ_str(c, "queue", false, &qname, err) || !targ_int(c, "max_tries", 0, 0, 1000, &max_tries, err))
        return PIPE_TASK_FAILED_NOW;
    if (!endpoint_ok(endpoint)) {
        targ_bad(c, "endpoint", json_object_get(c->args, "endpoint"),
                 "an endpoint name of letters, digits, '_', '-' and '.'", err);
        return PIPE_TASK_FAILED_NOW;
    }
    if (!c->env->queue) {
        floe_err_set(err, FLOE_EINVAL, "task %s: this server has no job queue; start it with one (--queue)",
                     c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    if (!qname) qname = c->env->crawl_queue ? c->env->crawl_queue : CRAWL_QUEUE_DEFAULT;
    if (!target) target = crawl_target(c, endpoint);
    const char *payload = crawl_payload(c, endpoint, params, base_url, target);
    const char *base = crawl_dedupe_base(c);

    char id[QUEUE_ID_MAX];
    queue_status st;
    for (int gen = 0;; gen++) {
        if (gen > CRAWL_MAX_GENERATIONS) {
            floe_err_set(err, FLOE_EIO,
                         "task %s: %d crawl jobs for this task were dead-lettered; see their errors with `floe "
                         "pipeline logs` and fix the endpoint before retrying",
                         c->task_id, CRAWL_MAX_GENERATIONS);
            return PIPE_TASK_FAILED_NOW;
        }
        const char *key = gen ? arena_sprintf(c->arena, "%s#%d", base, gen) : base;
        queue_enqueue_opts eo = {.max_tries = (int)max_tries, .dedupe_key = key};
        if (!queue_enqueue(c->env->queue, qname, payload, &eo, id, err)) {
            floe_err_wrap(err, "task %s: enqueueing the crawl job", c->task_id);
            return task_failed(err);
        }
        floe_err e2 = {0};
        if (!queue_status_get(c->env->queue, id, c->arena, &st, &e2)) {
            if (e2.code != FLOE_ENOENT) {
                *err = e2;
                floe_err_wrap(err, "task %s: reading the status of crawl job %s", c->task_id, id);
                return PIPE_TASK_FAILED;
            }
            pipe_log(c, "crawl job %s has no status any more (expired); enqueuing a fresh one", id);
            continue;
        }
        if (st.state != QUEUE_DEAD) break;
        pipe_log(c, "crawl job %s was dead-lettered after %d tries (%s); enqueuing a fresh one", id, st.tries,
                 st.error ? st.error : "no error recorded");
    }
    pipe_log(c, "crawl job %s on queue %s is %s (try %d of %d): endpoint %s -> %s", id, qname,
             queue_state_name(st.state), st.tries, st.max_tries, endpoint, target);
    json_object_set_new(c->output, "job_id", json_string(id));
    json_object_set_new(c->output, "target", json_string(target));
    json_object_set_new(c->output, "queue", json_string(qname));
    return PIPE_TASK_SUCCESS;
}

static bool crawl_task_validate(json_t *args, floe_err *err) {
    json_t *e = json_object_get(args, "endpoint");
    if (json_is_string(e) && !tval_is_template(e) && !endpoint_ok(json_string_value(e)))
        return floe_err_set(err, FLOE_EINVAL,
                            "endpoint '%s': expected the name of an endpoint block (letters, digits, '_', '-', '.')",
                            json_string_value(e));
    return true;
}

const pipe_task_type pipe_task_crawl = {
    .name = "crawl",
    .fields = crawl_fields,
    .nfields = sizeof crawl_fields / sizeof crawl_fields[0],
    .validate = crawl_task_validate,
    .run = crawl_task_run,
};

/* ============================================================= wait_job */

#define WAIT_DEFAULT_POKE 1000
#define WAIT_DEFAULT_TIMEOUT 3600000

static const pipe_field wait_fields[] = {
    {"job", PIPE_FIELD_STRING, true, "the job id, usually \"{{ tasks.crawl.output.job_id }}\""},
    {"poke_interval", PIPE_FIELD_DURATION, false, "how often to look at the job (default 1s)"},
    {"timeout", PIPE_FIELD_DURATION, false, "how long to wait, from the first poke of the try (default 1h)"},
};

/* The crawler's result as the output: every field it has. */
static void wait_output(pipe_task_ctx *c, const queue_status *st) {
    json_error_t je;
    json_t *r = st->result ? json_loads(st->result, 0, &je) : NULL;
    if (json_is_object(r)) {
        json_object_update(c->output, r);
    } else if (st->result) {
        json_object_set_new(c->output, "result", json_string(st->result));
    }
    json_decref(r);
    json_object_set_new(c->output, "job_id", json_string(st->id));
}

static pipe_task_result wait_run(pipe_task_ctx *c, floe_err *err) {
    const char *job;
    int64_t poke_ms, timeout_ms;
    if (!targ_str(c, "job", true, &job, err) || !targ_duration(c, "poke_interval", WAIT_DEFAULT_POKE, &poke_ms, err) ||
        !targ_duration(c, "timeout", WAIT_DEFAULT_TIMEOUT, &timeout_ms, err))
        return PIPE_TASK_FAILED_NOW;
    if (!*job) {
        targ_bad(c, "job", json_object_get(c->args, "job"), "a job id (the crawl task's output job_id)", err);
        return PIPE_TASK_FAILED_NOW;
    }
    if (!c->env->queue) {
        floe_err_set(err, FLOE_EINVAL, "task %s: this server has no job queue; start it with one (--queue)",
                     c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    if (poke_ms < 10) poke_ms = 10;
    queue_status st;
    if (!queue_status_get(c->env->queue, job, c->arena, &st, err)) {
        floe_err_wrap(err, "task %s: job %s", c->task_id, job);
        return PIPE_TASK_FAILED;
    }
    if (st.state == QUEUE_DONE) {
        wait_output(c, &st);
        pipe_log(c, "job %s is done after %d tr%s", job, st.tries, st.tries == 1 ? "y" : "ies");
        return PIPE_TASK_SUCCESS;
    }
    if (st.state == QUEUE_DEAD) {
        floe_err_set(err, FLOE_EIO,
                     "task %s: job %s was dead-lettered on %s after %d of %d tries: %s (retrying the upstream crawl "
                     "task enqueues a fresh job)",
                     c->task_id, job, st.queue, st.tries, st.max_tries, st.error ? st.error : "no error recorded");
        return PIPE_TASK_FAILED;
    }
    int64_t now = time_now_ms(), started = c->started_ms > 0 ? c->started_ms : now;
    if (now - started >= timeout_ms) {
        floe_err_set(err, FLOE_EIO, "task %s: job %s is still %s (try %d of %d) after the sensor's timeout of %lld s",
                     c->task_id, job, queue_state_name(st.state), st.tries, st.max_tries,
                     (long long)(timeout_ms / 1000));
        return PIPE_TASK_FAILED_NOW; /* as Airflow's AirflowSensorTimeout: no retry */
    }
    if (task_stopping(c, err)) return PIPE_TASK_FAILED;
    int64_t at = now + poke_ms;
    if (at > started + timeout_ms) at = started + timeout_ms;
    if (c->deadline_ms > 0 && at > c->deadline_ms) at = c->deadline_ms;
    c->reschedule_at_ms = at;
    if (c->poke == 0 || c->poke % 60 == 0)
        pipe_log(c, "job %s is %s (try %d of %d); poking every %lld ms", job, queue_state_name(st.state), st.tries,
                 st.max_tries, (long long)poke_ms);
    return PIPE_TASK_RESCHEDULE;
}

const pipe_task_type pipe_task_wait_job = {
    .name = "wait_job",
    .fields = wait_fields,
    .nfields = sizeof wait_fields / sizeof wait_fields[0],
    .sensor = true,
    .run = wait_run,
};
