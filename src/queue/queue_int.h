/*
 * queue_int.h: what queue.c shares with the two backends, queue_sqlite.c
 * and queue_redis.c. queue.c validates arguments; a backend trusts them.
 */
#ifndef FLOE_QUEUE_INT_H
#define FLOE_QUEUE_INT_H

#include "queue/queue.h"

#define QUEUE_DEFAULT_MAX_TRIES 5
#define QUEUE_DEFAULT_TTL_S (7 * 24 * 3600)
#define QUEUE_DEFAULT_POLL_MS 200

typedef struct queue_backend_ops {
    const char *name;
    void (*close)(queue_t *q);
    bool (*enqueue)(queue_t *q, const char *name, const char *payload, const queue_enqueue_opts *o,
                    char id_out[QUEUE_ID_MAX], floe_err *err);
    int (*lease)(queue_t *q, const char *name, const char *worker, int64_t visibility_ms, int64_t wait_ms, arena_t *a,
                 queue_job *job, floe_err *err);
    bool (*heartbeat)(queue_t *q, queue_job *job, int64_t extend_ms, floe_err *err);
    bool (*ack)(queue_t *q, const queue_job *job, const char *result, floe_err *err);
    bool (*nack)(queue_t *q, const queue_job *job, const char *error, int64_t retry_delay_ms, floe_err *err);
    bool (*release)(queue_t *q, const queue_job *job, floe_err *err);
    bool (*status)(queue_t *q, const char *id, arena_t *a, queue_status *out, floe_err *err);
} queue_backend_ops;

struct queue {
    const queue_backend_ops *ops;
    void *impl;
};

void *queue_sqlite_open(const char *path, const queue_opts *o, floe_err *err);
void *queue_redis_open(const char *url, const queue_opts *o, floe_err *err);
extern const queue_backend_ops queue_sqlite_ops, queue_redis_ops;

bool queue_state_parse(const char *s, queue_state *out);

#endif
