/*
 * crawler.h: the config-driven HTTP crawler that `floe worker` runs (and
 * `floe serve` embeds): it leases crawl jobs from a queue, fetches an
 * endpoint page by page under per-endpoint and per-host rate limits, and
 * lands the records as zstd-compressed JSONL in object storage with a
 * manifest beside it.
 *
 * THE JOB CONTRACT (what the pipeline's crawl task enqueues on queue
 * "crawl", and what the worker acks with):
 *
 *   payload  {"endpoint": "trades",              name of a block in the crawler config
 *             "params": {"symbol": "BTCUSDT"},   merged over the endpoint's params
 *             "base_url": "http://127.0.0.1:8800" (optional: overrides the endpoint's)
 *             "target": "s3://warehouse/raw/trades/ds=2024-01-01/hr=00/min=00/RUN_ID.jsonl.zst",
 *             "run_id": "...", "pipeline": "...", "task_id": "..."}
 *   result   {"s3_path": TARGET, "manifest": TARGET ".manifest.json",
 *             "records": N, "pages": N, "bytes": N (compressed object size),
 *             "sha256": "hex of the object", "redelivered": bool}
 *
 * The manifest object holds the same fields as the result. A job whose
 * target and manifest both exist is acked at once with the manifest's
 * contents and "redelivered": true, without fetching anything.
 *
 * (The result and the manifest also carry "endpoint", "run_id" when the
 * job had one, "requests" and "crawled_at"; other payload keys are
 * ignored, so a newer scheduler may add some. A job param of null removes
 * the endpoint's param of that name.)
 *
 * Layout: config.c loads and checks the YAML (docs/crawler.md is the
 * reference); limit.c holds the token buckets and per-host semaphores;
 * json_span.c selects records from a response without re-encoding them;
 * pager.c is the pagination state machine of each style; fetch.c does one
 * page's request with timeouts, retries and Retry-After; crawl.c runs one
 * job end to end; worker.c leases jobs on threads with heartbeats.
 */
#ifndef FLOE_CRAWLER_H
#define FLOE_CRAWLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define CRAWL_QUEUE_DEFAULT "crawl"

struct queue;
struct fileio;

/* ---------------------------------------------------------------- the crawler
 *
 * A loaded crawler config: its endpoints, plus what every thread crawling
 * with it shares: the rate limiters and concurrency caps, the HTTP
 * connections and the counters. Safe to use from many threads. */
typedef struct crawl crawl_t;

/* Reads and checks the config (crawl_validate_config): every key is
 * known, every endpoint complete, every ${VAR} of a header set. Errors are
 * FLOE_EINVAL "FILE:LINE: endpoints.NAME.KEY: what is wrong; the fix". */
crawl_t *crawl_load(const char *path, floe_err *err);
/* The same from memory; name is what errors call the text. */
crawl_t *crawl_load_str(const char *text, size_t len, const char *name, floe_err *err);
void crawl_free(crawl_t *c);

size_t crawl_endpoint_count(const crawl_t *c);
const char *crawl_endpoint_name(const crawl_t *c, size_t i);

/* Counters, shared by every job run with one crawl_t. */
#define CRAWL_STATUS_SLOTS 600 /* by HTTP status; slot 0 counts transport failures */
typedef struct crawl_metrics {
    _Atomic uint64_t requests[CRAWL_STATUS_SLOTS];
    _Atomic uint64_t retries;        /* requests sent again after a retryable answer or failure */
    _Atomic uint64_t rate_limited;   /* 429 answers */
    _Atomic uint64_t response_bytes; /* response bodies received */
    _Atomic uint64_t pages, records;
    _Atomic uint64_t bytes_written; /* compressed objects landed */
    _Atomic uint64_t jobs_done, jobs_failed, jobs_redelivered, jobs_released, jobs_lost;
    _Atomic int64_t jobs_active;
} crawl_metrics;

crawl_metrics *crawl_get_metrics(crawl_t *c);
/* Appends the counters in Prometheus text format (floe_crawler_*). */
void crawl_metrics_format(const crawl_metrics *m, buf_t *out);

/* ---------------------------------------------------------------- one job */

typedef enum {
    CRAWL_OK,        /* landed (or found landed: redelivered); result filled */
    CRAWL_RETRY,     /* a failure a later try may fix: retries ran out on 429/5xx/timeouts, storage down */
    CRAWL_PERMANENT, /* it will fail again: bad payload, unknown endpoint, 4xx, a response of the wrong shape */
    CRAWL_CANCELLED, /* *cancel was set: stopped after the current page, nothing written */
} crawl_status;

typedef struct crawl_run_opts {
    volatile int *cancel; /* non-zero: stop before the next request (NULL: never) */
    const char *job_id;   /* for logs */
} crawl_run_opts;

/* Runs one job (payload as in the contract above): fetches every page,
 * writes TARGET through io all or nothing, then TARGET.manifest.json, and
 * puts the result JSON in result. On any status but CRAWL_OK nothing new
 * is visible at TARGET and err says why. */
crawl_status crawl_run(crawl_t *c, struct fileio *io, const char *payload, const crawl_run_opts *o, buf_t *result,
                       floe_err *err);

/* ---------------------------------------------------------------- the worker
 *
 * Threads that lease jobs from a queue and run them. A heartbeat thread
 * keeps every running job's lease. crawl_worker_stop finishes each job's
 * current page, releases the job (queue_release: the try is not counted)
 * so another worker takes it, and joins. Failed jobs are nacked with the
 * error and retried by the queue after retry_delay_ms, until max_tries
 * sends them to the dead-letter queue. */
typedef struct crawl_worker crawl_worker;

typedef struct crawl_worker_opts {
    struct queue *queue;    /* borrowed */
    const char *queue_name; /* default CRAWL_QUEUE_DEFAULT */
    crawl_t *crawl;         /* borrowed */
    struct fileio *io;      /* borrowed; shared by the threads */
    int threads;            /* default 2 */
    int64_t visibility_ms;  /* lease length; default 60000 */
    int64_t heartbeat_ms;   /* default visibility_ms / 3 */
    int64_t retry_delay_ms; /* nack delay of a failed job; default 30000 */
    int64_t lease_wait_ms;  /* how long one lease call waits for a job; default 1000 */
    const char *worker_id;  /* default "crawler-HOSTNAME-PID"; thread i leases as "ID-tI" */
} crawl_worker_opts;

crawl_worker *crawl_worker_start(const crawl_worker_opts *o, floe_err *err);
/* Graceful: returns once every thread has acked, nacked or released its
 * job and exited. Frees w. */
void crawl_worker_stop(crawl_worker *w);
/* The crawler's counters plus the worker's (threads, busy threads) as
 * Prometheus text. */
void crawl_worker_metrics(crawl_worker *w, buf_t *out);

#endif
