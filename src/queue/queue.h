/*
 * queue.h: Floe's job queue. One interface over two backends:
 *
 *   embedded  SQLite (queue.db in the data dir, WAL, synchronous=FULL): the
 *             default of `floe serve`.
 *   redis     Redis Streams with one consumer group per queue (XADD,
 *             XREADGROUP, XACK, XAUTOCLAIM), through hiredis.
 *
 * Delivery is at least once. A worker leases a job for a visibility timeout;
 * it heartbeats to keep the lease, acks with a result when done, or nacks
 * with an error to have it retried after a delay. A lease that runs out
 * (the worker died) makes the job available to another worker, and counts
 * as a try. After max_tries tries the job goes to the dead-letter queue
 * "<name>.dead" with its history. A job's status is readable by its id.
 * docs/queue.md explains the semantics and each backend's durability.
 *
 * A queue_t is safe to share between threads: each call takes a connection
 * of its own from a small pool.
 */
#ifndef FLOE_QUEUE_H
#define FLOE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

typedef struct queue queue_t;

typedef struct queue_opts {
    const char *data_dir; /* where the embedded backend keeps queue.db when the URL is NULL or "" */
    bool no_fsync;        /* SQLite synchronous=OFF: for tests only, an acknowledged enqueue may be lost */
    int64_t status_ttl_s; /* Redis: how long a job's status key lives after its last change (0: 7 days) */
    int64_t poll_ms;      /* SQLite: how often a waiting lease looks for jobs other processes added (0: 200) */
} queue_opts;

/* Opens a queue store. url is NULL or "" (embedded, DATA_DIR/queue.db),
 * "sqlite:PATH" (embedded, the database file PATH) or
 * "redis://[:PASSWORD@]HOST[:PORT][/DB]". A bad URL or an unreachable
 * server is an error that names the URL. */
queue_t *queue_open(const char *url, const queue_opts *o, floe_err *err);
void queue_close(queue_t *q);
/* "sqlite" or "redis". */
const char *queue_backend(const queue_t *q);

typedef struct queue_enqueue_opts {
    int max_tries; /* leases before the job is dead-lettered (0: 5) */
    const char
        *dedupe_key;  /* when set, a second enqueue with the same key to the same queue returns the first job's id */
    int64_t delay_ms; /* not leasable before this many ms have passed */
} queue_enqueue_opts;

#define QUEUE_ID_MAX 40

/* Adds a job to the queue `name` ([A-Za-z0-9_.:-], 1..100 characters, not
 * ending in ".dead"). payload is any text, usually JSON. On return the job
 * is durable (see docs/queue.md) and its id is in id_out. */
bool queue_enqueue(queue_t *q, const char *name, const char *payload, const queue_enqueue_opts *o,
                   char id_out[QUEUE_ID_MAX], floe_err *err);

/* A leased job. The strings live in the arena given to queue_lease. The
 * lease fields identify this one lease: an ack, nack or heartbeat made
 * after the lease ran out and another worker took the job fails with
 * FLOE_ECONFLICT. */
typedef struct queue_job {
    char id[QUEUE_ID_MAX];
    const char *queue;
    const char *payload;
    const char *worker;
    int tries; /* this lease is try number `tries` (1 for the first) */
    int max_tries;
    int64_t lease_deadline_ms; /* wall clock */
    /* backend lease token */
    char entry_id[48]; /* Redis stream entry */
    int64_t lease_seq; /* SQLite: tries at lease time; Redis: the entry's delivery count */
} queue_job;

/* Leases the oldest available job of `name` for worker_id, for
 * visibility_ms. Waits up to wait_ms for one (0: no wait). Returns 1 with
 * *job filled, 0 when none came within wait_ms, -1 on error. */
int queue_lease(queue_t *q, const char *name, const char *worker_id, int64_t visibility_ms, int64_t wait_ms, arena_t *a,
                queue_job *job, floe_err *err);

/* Keeps the lease for extend_ms more from now. On Redis the lease is kept
 * by resetting the entry's idle time, so it lasts as long as the visibility
 * timeout that other workers lease with (docs/queue.md). */
bool queue_heartbeat(queue_t *q, queue_job *job, int64_t extend_ms, floe_err *err);
/* Marks the job done with result (text, may be NULL). */
bool queue_ack(queue_t *q, const queue_job *job, const char *result, floe_err *err);
/* Gives the job back with an error: it is leasable again after
 * retry_delay_ms, or dead-lettered when it has had max_tries tries. */
bool queue_nack(queue_t *q, const queue_job *job, const char *error, int64_t retry_delay_ms, floe_err *err);
/* Gives the job back unfinished without counting this try: a worker that
 * is shutting down (SIGTERM) in the middle of a job. The job is leasable
 * again at once, and its next lease is try number job->tries again, so a
 * job released by every deploy is never dead-lettered for it. */
bool queue_release(queue_t *q, const queue_job *job, floe_err *err);

typedef enum {
    QUEUE_QUEUED,
    QUEUE_LEASED,
    QUEUE_DONE,
    QUEUE_FAILED, /* nacked, waiting for its retry */
    QUEUE_DEAD,
} queue_state;

const char *queue_state_name(queue_state s);

typedef struct queue_status {
    char id[QUEUE_ID_MAX];
    const char *queue; /* "<name>.dead" once dead-lettered */
    queue_state state;
    int tries, max_tries;
    const char *worker;  /* the last worker to lease it, or NULL */
    const char *result;  /* on done */
    const char *error;   /* the last nack's error, or the reason for the dead letter */
    const char *history; /* JSON array of {"try","worker","event","error","at"} */
    int64_t created_ms, updated_ms, lease_deadline_ms;
} queue_status;

/* The job's status. An unknown id (or, on Redis, one whose status key has
 * expired) is FLOE_ENOENT. */
bool queue_status_get(queue_t *q, const char *job_id, arena_t *a, queue_status *out, floe_err *err);

#endif
