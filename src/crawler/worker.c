/*
 * worker.c: crawl jobs off a queue (crawl_worker_start/stop).
 *
 * Each thread leases one job at a time and runs it (crawl.c). A job's
 * lease lives in the thread's slot, where a single heartbeat thread finds
 * it and extends it every heartbeat_ms, so a crawl that takes longer than
 * the visibility timeout keeps its job however long one request or one
 * backoff takes. When a heartbeat finds the lease gone (another worker
 * took the job after this one stalled), the crawl is cancelled and its
 * output discarded: the other worker's try stands.
 *
 * The end of a job: ack with the result; nack with the error (the queue
 * retries it after retry_delay_ms and dead-letters it after max_tries);
 * or, when the worker is stopping, release it (the try does not count) so
 * another worker starts it at once. A failed ack, nack or release (the
 * queue's server restarting) is retried for a while; if it still fails,
 * the lease runs out and the job comes back, and a finished job is then
 * acked from its manifest without crawling again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "crawler/crawler_int.h"
#include "queue/queue.h"

#define QUEUE_CALL_TRIES 20 /* an ack, nack or release: tries over about 20 s */

typedef struct worker_slot {
    struct crawl_worker *w;
    int index;
    char worker_id[240];
    pthread_t thread;
    pthread_mutex_t mu; /* job, active, lost: the heartbeat thread reads them */
    queue_job job;
    bool active, lost;
    volatile int cancel;
} worker_slot;

struct crawl_worker {
    crawl_worker_opts o;
    char queue_name[128];
    volatile int stopping;
    worker_slot *slots;
    int nstarted;
    pthread_t hb_thread;
    bool hb_started;
    pthread_mutex_t hb_mu;
    pthread_cond_t hb_cv;
    _Atomic int busy;
};

/* ---------------------------------------------------------------- heartbeats */

static void heartbeat_slot(crawl_worker *w, worker_slot *s) {
    pthread_mutex_lock(&s->mu);
    if (s->active && !s->lost) {
        floe_err err = {0};
        if (!queue_heartbeat(w->o.queue, &s->job, w->o.visibility_ms, &err)) {
            if (err.code == FLOE_ECONFLICT || err.code == FLOE_ENOENT) {
                s->lost = true;
                s->cancel = 1;
                log_warn("crawler", "job %s: %s; stopping its crawl", s->job.id, err.msg);
            } else {
                log_warn("crawler", "job %s: heartbeat failed (will try again): %s", s->job.id, err.msg);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void *heartbeat_main(void *arg) {
    crawl_worker *w = arg;
    pthread_mutex_lock(&w->hb_mu);
    while (!w->stopping) {
        struct timespec ts;
        uint64_t t = time_mono_ns() + (uint64_t)w->o.heartbeat_ms * 1000000;
        ts.tv_sec = (time_t)(t / 1000000000);
        ts.tv_nsec = (long)(t % 1000000000);
        pthread_cond_timedwait(&w->hb_cv, &w->hb_mu, &ts);
        if (w->stopping) break;
        pthread_mutex_unlock(&w->hb_mu);
        for (int i = 0; i < w->nstarted; i++) heartbeat_slot(w, &w->slots[i]);
        pthread_mutex_lock(&w->hb_mu);
    }
    pthread_mutex_unlock(&w->hb_mu);
    return NULL;
}

/* ---------------------------------------------------------------- finishing a job */

typedef enum { END_ACK, END_NACK, END_RELEASE } job_end;

/* Acks, nacks or releases, retrying a queue that is down for a while. A
 * lease that is over (FLOE_ECONFLICT) is not retried: someone else has it. */
static bool end_job(crawl_worker *w, worker_slot *s, job_end how, const char *text) {
    floe_err err = {0};
    for (int i = 0; i < QUEUE_CALL_TRIES; i++) {
        bool ok = how == END_ACK    ? queue_ack(w->o.queue, &s->job, text, &err)
                  : how == END_NACK ? queue_nack(w->o.queue, &s->job, text, w->o.retry_delay_ms, &err)
                                    : queue_release(w->o.queue, &s->job, &err);
        if (ok) return true;
        if (err.code == FLOE_ECONFLICT || err.code == FLOE_ENOENT) break;
        log_warn("crawler", "job %s: %s failed (try %d of %d): %s", s->job.id,
                 how == END_ACK    ? "ack"
                 : how == END_NACK ? "nack"
                                   : "release",
                 i + 1, QUEUE_CALL_TRIES, err.msg);
        usleep(1000000);
    }
    log_error("crawler", "job %s: could not %s it: %s; its lease will run out and the job come back", s->job.id,
              how == END_ACK    ? "ack"
              : how == END_NACK ? "nack"
                                : "release",
              err.msg);
    return false;
}

static void run_job(crawl_worker *w, worker_slot *s) {
    crawl_metrics *m = &w->o.crawl->metrics;
    buf_t result = BUF_INIT;
    floe_err err = {0};
    log_debug("crawler", "job %s: leased by %s (try %d of %d)", s->job.id, s->worker_id, s->job.tries,
              s->job.max_tries);
    atomic_fetch_add(&m->jobs_active, 1);
    crawl_status st = crawl_run(w->o.crawl, w->o.io, s->job.payload,
                                &(crawl_run_opts){.cancel = &s->cancel, .job_id = s->job.id}, &result, &err);
    atomic_fetch_sub(&m->jobs_active, 1);
    pthread_mutex_lock(&s->mu);
    bool lost = s->lost;
    s->active = false;
    pthread_mutex_unlock(&s->mu);
    if (lost) {
        atomic_fetch_add(&m->jobs_lost, 1);
        log_warn("crawler", "job %s: its lease was taken over; another worker finishes it", s->job.id);
    } else if (st == CRAWL_OK) {
        if (end_job(w, s, END_ACK, result.data)) {
            bool again = strstr(result.data, "\"redelivered\":true") != NULL;
            atomic_fetch_add(again ? &m->jobs_redelivered : &m->jobs_done, 1);
        }
    } else if (st == CRAWL_CANCELLED) {
        if (end_job(w, s, END_RELEASE, NULL)) atomic_fetch_add(&m->jobs_released, 1);
        log_info("crawler", "job %s: released unfinished (the worker is stopping); another worker starts it again",
                 s->job.id);
    } else {
        log_warn("crawler", "job %s: try %d of %d failed%s: %s", s->job.id, s->job.tries, s->job.max_tries,
                 st == CRAWL_PERMANENT ? " (it will fail again until its input or the config changes)" : "", err.msg);
        atomic_fetch_add(&m->jobs_failed, 1);
        end_job(w, s, END_NACK, err.msg);
    }
    buf_free(&result);
}

static void *worker_main(void *arg) {
    worker_slot *s = arg;
    crawl_worker *w = s->w;
    int64_t quiet_until = 0;
    while (!w->stopping) {
        arena_t a;
        arena_init(&a, 0);
        queue_job job;
        floe_err err = {0};
        int r = queue_lease(w->o.queue, w->queue_name, s->worker_id, w->o.visibility_ms, w->o.lease_wait_ms, &a, &job,
                            &err);
        if (r < 0) {
            if (time_now_ms() >= quiet_until) {
                log_warn("crawler", "%s: cannot lease from queue '%s' (trying again): %s", s->worker_id, w->queue_name,
                         err.msg);
                quiet_until = time_now_ms() + 30000;
            }
            crawl_sleep(1000, &w->stopping);
        } else if (r > 0) {
            pthread_mutex_lock(&s->mu);
            s->job = job;
            s->active = true;
            s->lost = false;
            s->cancel = w->stopping;
            pthread_mutex_unlock(&s->mu);
            w->busy++;
            run_job(w, s);
            w->busy--;
        }
        arena_free(&a);
    }
    return NULL;
}

/* ---------------------------------------------------------------- start and stop */

crawl_worker *crawl_worker_start(const crawl_worker_opts *o, floe_err *err) {
    if (!o || !o->queue || !o->crawl || !o->io) {
        floe_err_set(err, FLOE_EINVAL, "crawl_worker_start: a queue, a crawler config and a fileio are needed");
        return NULL;
    }
    crawl_worker *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->o = *o;
    snprintf(w->queue_name, sizeof w->queue_name, "%s", o->queue_name ? o->queue_name : CRAWL_QUEUE_DEFAULT);
    if (w->o.threads <= 0) w->o.threads = 2;
    if (w->o.visibility_ms <= 0) w->o.visibility_ms = 60000;
    if (w->o.heartbeat_ms <= 0) w->o.heartbeat_ms = w->o.visibility_ms / 3 > 10 ? w->o.visibility_ms / 3 : 10;
    if (w->o.retry_delay_ms <= 0) w->o.retry_delay_ms = 30000;
    if (w->o.lease_wait_ms <= 0) w->o.lease_wait_ms = 1000;
    char host[128] = "localhost", id[200];
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++)
        if ((unsigned char)*p <= ' ') *p = '_';
    if (o->worker_id)
        snprintf(id, sizeof id, "%s", o->worker_id);
    else
        snprintf(id, sizeof id, "crawler-%s-%d", host, (int)getpid());
    pthread_mutex_init(&w->hb_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->hb_cv, &ca);
    pthread_condattr_destroy(&ca);
    w->slots = calloc((size_t)w->o.threads, sizeof *w->slots);
    if (!w->slots) abort();
    for (int i = 0; i < w->o.threads; i++) {
        worker_slot *s = &w->slots[i];
        s->w = w;
        s->index = i;
        snprintf(s->worker_id, sizeof s->worker_id, "%s-t%d", id, i);
        pthread_mutex_init(&s->mu, NULL);
    }
    /* the heartbeat thread reads nstarted slots: start the workers first */
    for (int i = 0; i < w->o.threads; i++) {
        if (pthread_create(&w->slots[i].thread, NULL, worker_main, &w->slots[i]) != 0) {
            floe_err_set(err, FLOE_EINTERNAL, "crawl worker: cannot start thread %d", i);
            crawl_worker_stop(w);
            return NULL;
        }
        w->nstarted++;
    }
    if (pthread_create(&w->hb_thread, NULL, heartbeat_main, w) != 0) {
        floe_err_set(err, FLOE_EINTERNAL, "crawl worker: cannot start the heartbeat thread");
        crawl_worker_stop(w);
        return NULL;
    }
    w->hb_started = true;
    log_info("crawler", "worker %s: %d threads on queue '%s' (%s), visibility %lld ms, heartbeat every %lld ms", id,
             w->o.threads, w->queue_name, queue_backend(o->queue), (long long)w->o.visibility_ms,
             (long long)w->o.heartbeat_ms);
    return w;
}

void crawl_worker_stop(crawl_worker *w) {
    if (!w) return;
    w->stopping = 1;
    for (int i = 0; i < w->nstarted; i++) w->slots[i].cancel = 1;
    for (int i = 0; i < w->nstarted; i++) pthread_join(w->slots[i].thread, NULL);
    pthread_mutex_lock(&w->hb_mu);
    pthread_cond_broadcast(&w->hb_cv);
    pthread_mutex_unlock(&w->hb_mu);
    if (w->hb_started) pthread_join(w->hb_thread, NULL);
    for (int i = 0; i < w->o.threads; i++) pthread_mutex_destroy(&w->slots[i].mu);
    pthread_cond_destroy(&w->hb_cv);
    pthread_mutex_destroy(&w->hb_mu);
    free(w->slots);
    free(w);
}

void crawl_worker_metrics(crawl_worker *w, buf_t *out) {
    crawl_metrics_format(&w->o.crawl->metrics, out);
    buf_printf(out,
               "# HELP floe_crawler_worker_threads Crawl worker threads.\n"
               "# TYPE floe_crawler_worker_threads gauge\n"
               "floe_crawler_worker_threads %d\n"
               "# HELP floe_crawler_worker_busy Crawl worker threads running a job now.\n"
               "# TYPE floe_crawler_worker_busy gauge\n"
               "floe_crawler_worker_busy %d\n",
               w->o.threads, (int)w->busy);
}

/* ---------------------------------------------------------------- metrics text */

static void counter(buf_t *b, const char *name, const char *help, uint64_t v) {
    buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void crawl_metrics_format(const crawl_metrics *m, buf_t *b) {
    buf_puts(b, "# HELP floe_crawler_jobs_total Crawl jobs ended, by outcome.\n"
                "# TYPE floe_crawler_jobs_total counter\n");
    buf_printf(b,
               "floe_crawler_jobs_total{outcome=\"done\"} %llu\n"
               "floe_crawler_jobs_total{outcome=\"redelivered\"} %llu\n"
               "floe_crawler_jobs_total{outcome=\"failed\"} %llu\n"
               "floe_crawler_jobs_total{outcome=\"released\"} %llu\n"
               "floe_crawler_jobs_total{outcome=\"lost\"} %llu\n",
               (unsigned long long)m->jobs_done, (unsigned long long)m->jobs_redelivered,
               (unsigned long long)m->jobs_failed, (unsigned long long)m->jobs_released,
               (unsigned long long)m->jobs_lost);
    buf_printf(b,
               "# HELP floe_crawler_jobs_active Crawl jobs running now.\n# TYPE floe_crawler_jobs_active gauge\n"
               "floe_crawler_jobs_active %lld\n",
               (long long)m->jobs_active);
    buf_puts(b, "# HELP floe_crawler_requests_total HTTP requests sent, by answer status (error: no answer).\n"
                "# TYPE floe_crawler_requests_total counter\n");
    for (int s = 0; s < CRAWL_STATUS_SLOTS; s++) {
        uint64_t v = m->requests[s];
        if (!v) continue;
        if (s == 0)
            buf_printf(b, "floe_crawler_requests_total{status=\"error\"} %llu\n", (unsigned long long)v);
        else
            buf_printf(b, "floe_crawler_requests_total{status=\"%d\"} %llu\n", s, (unsigned long long)v);
    }
    counter(b, "floe_crawler_retries_total", "Requests sent again after a retryable answer or failure.", m->retries);
    counter(b, "floe_crawler_rate_limited_total", "429 answers received.", m->rate_limited);
    counter(b, "floe_crawler_response_bytes_total", "Response body bytes received.", m->response_bytes);
    counter(b, "floe_crawler_pages_total", "Pages taken in.", m->pages);
    counter(b, "floe_crawler_records_total", "Records landed (in objects still being written, too).", m->records);
    counter(b, "floe_crawler_bytes_written_total", "Compressed bytes of landed objects.", m->bytes_written);
}
