/*
 * test_queue.c: the job queue (src/queue/queue.h). Every case runs against
 * the embedded SQLite backend (suite queue_sqlite) and, when
 * FLOE_TEST_REDIS_URL names a Redis server, against Redis (suite
 * queue_redis; tests/e2e/test_queue_redis.sh starts one). Each case uses a
 * queue of its own, so cases can share one Redis server.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "queue/queue.h"

static char dir[256];
static char qname[64];
static arena_t ar;

static queue_t *open_backend(bool redis) {
    floe_err err = {0};
    str_uuid4(qname + 2);
    memcpy(qname, "t-", 2);
    arena_init(&ar, 0);
    if (redis) {
        const char *url = getenv("FLOE_TEST_REDIS_URL");
        if (!url || !*url) cr_skip_test("FLOE_TEST_REDIS_URL is not set (tests/e2e/test_queue_redis.sh sets it)");
        queue_t *q = queue_open(url, &(queue_opts){.status_ttl_s = 600}, &err);
        cr_assert(q, "%s", err.msg);
        return q;
    }
    snprintf(dir, sizeof dir, "/tmp/floe-unit-queue-XXXXXX");
    cr_assert(mkdtemp(dir));
    queue_t *q = queue_open(NULL, &(queue_opts){.data_dir = dir, .poll_ms = 50}, &err);
    cr_assert(q, "%s", err.msg);
    return q;
}

static void close_backend(queue_t *q) {
    queue_close(q);
    arena_free(&ar);
    if (dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
        dir[0] = 0;
    }
}

/* QCASE(name) defines one case and runs it on both backends. */
#define QCASE(name)                                                                                                    \
    static void case_##name(queue_t *q);                                                                               \
    Test(queue_sqlite, name) {                                                                                         \
        queue_t *q = open_backend(false);                                                                              \
        case_##name(q);                                                                                                \
        close_backend(q);                                                                                              \
    }                                                                                                                  \
    Test(queue_redis, name) {                                                                                          \
        queue_t *q = open_backend(true);                                                                               \
        case_##name(q);                                                                                                \
        close_backend(q);                                                                                              \
    }                                                                                                                  \
    static void case_##name(queue_t *q)

static void enqueue(queue_t *q, const char *payload, int max_tries, char id[QUEUE_ID_MAX]) {
    floe_err err = {0};
    cr_assert(queue_enqueue(q, qname, payload, &(queue_enqueue_opts){.max_tries = max_tries}, id, &err), "%s", err.msg);
}

static void lease_ok(queue_t *q, const char *worker, int64_t vt, int64_t wait, queue_job *job) {
    floe_err err = {0};
    int r = queue_lease(q, qname, worker, vt, wait, &ar, job, &err);
    cr_assert_eq(r, 1, "lease by %s: %d %s", worker, r, err.msg);
}

static void lease_none(queue_t *q, const char *worker, int64_t vt, int64_t wait) {
    floe_err err = {0};
    queue_job job;
    int r = queue_lease(q, qname, worker, vt, wait, &ar, &job, &err);
    cr_assert_eq(r, 0, "lease by %s: %d %s (job %s)", worker, r, err.msg, r == 1 ? job.id : "");
}

static queue_status status(queue_t *q, const char *id) {
    floe_err err = {0};
    queue_status st;
    cr_assert(queue_status_get(q, id, &ar, &st, &err), "%s", err.msg);
    return st;
}

static void msleep(int ms) { usleep((useconds_t)ms * 1000); }

QCASE(enqueue_lease_ack) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "{\"url\":\"http://x/1\"}", 0, id);
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_QUEUED);
    cr_assert_eq(st.tries, 0);
    cr_assert_eq(st.max_tries, 5);
    cr_assert_str_eq(st.queue, qname);
    queue_job job;
    lease_ok(q, "w1", 30000, 0, &job);
    cr_assert_str_eq(job.id, id);
    cr_assert_str_eq(job.payload, "{\"url\":\"http://x/1\"}");
    cr_assert_eq(job.tries, 1);
    st = status(q, id);
    cr_assert_eq(st.state, QUEUE_LEASED);
    cr_assert_str_eq(st.worker, "w1");
    cr_assert_gt(st.lease_deadline_ms, time_now_ms() + 20000);
    lease_none(q, "w2", 30000, 0);
    floe_err err = {0};
    cr_assert(queue_ack(q, &job, "{\"rows\":3}", &err), "%s", err.msg);
    st = status(q, id);
    cr_assert_eq(st.state, QUEUE_DONE);
    cr_assert_str_eq(st.result, "{\"rows\":3}");
    cr_assert(strstr(st.history, "\"done\""), "%s", st.history);
    lease_none(q, "w2", 30000, 0);
    /* A second ack of the same lease finds it over. */
    cr_assert_not(queue_ack(q, &job, "again", &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
}

QCASE(fifo_order) {
    char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX], c[QUEUE_ID_MAX];
    enqueue(q, "a", 0, a);
    msleep(2);
    enqueue(q, "b", 0, b);
    msleep(2);
    enqueue(q, "c", 0, c);
    queue_job j1, j2, j3;
    lease_ok(q, "w", 30000, 0, &j1);
    lease_ok(q, "w", 30000, 0, &j2);
    lease_ok(q, "w", 30000, 0, &j3);
    cr_assert_str_eq(j1.payload, "a");
    cr_assert_str_eq(j2.payload, "b");
    cr_assert_str_eq(j3.payload, "c");
}

QCASE(visibility_timeout_redelivers) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "p", 0, id);
    queue_job a, b;
    lease_ok(q, "worker-a", 200, 0, &a);
    lease_none(q, "worker-b", 200, 0);
    msleep(400); /* worker-a "died": no heartbeat, no ack */
    lease_ok(q, "worker-b", 200, 0, &b);
    cr_assert_str_eq(b.id, id);
    cr_assert_eq(b.tries, 2);
    cr_assert_str_eq(b.payload, "p");
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_LEASED);
    cr_assert_eq(st.tries, 2);
    cr_assert_str_eq(st.worker, "worker-b");
    cr_assert(strstr(st.history, "\"expired\""), "%s", st.history);
    /* The first worker's late ack must not complete the second's try. */
    floe_err err = {0};
    cr_assert_not(queue_ack(q, &a, "late", &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_assert(strstr(err.msg, id), "%s", err.msg);
    cr_assert_not(queue_heartbeat(q, &a, 1000, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_assert(queue_ack(q, &b, "ok", &err), "%s", err.msg);
    cr_assert_eq(status(q, id).state, QUEUE_DONE);
}

QCASE(heartbeat_keeps_lease) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "p", 0, id);
    queue_job a, b;
    floe_err err = {0};
    lease_ok(q, "worker-a", 300, 0, &a);
    for (int i = 0; i < 8; i++) {
        msleep(100);
        cr_assert(queue_heartbeat(q, &a, 300, &err), "%s", err.msg);
        lease_none(q, "worker-b", 300, 0);
    }
    /* 800 ms after the lease, well past 300 ms: still worker-a's. */
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_LEASED);
    cr_assert_str_eq(st.worker, "worker-a");
    cr_assert_eq(st.tries, 1);
    /* It stops heartbeating: the job comes back. */
    lease_ok(q, "worker-b", 300, 3000, &b);
    cr_assert_str_eq(b.id, id);
    cr_assert_eq(b.tries, 2);
}

QCASE(nack_retries_after_delay) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "p", 3, id);
    queue_job a, b;
    floe_err err = {0};
    lease_ok(q, "w", 30000, 0, &a);
    int64_t t0 = time_now_ms();
    cr_assert(queue_nack(q, &a, "HTTP 503 from the API", 400, &err), "%s", err.msg);
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_FAILED);
    cr_assert_str_eq(st.error, "HTTP 503 from the API");
    cr_assert_eq(st.tries, 1);
    lease_none(q, "w", 30000, 0);
    lease_ok(q, "w", 30000, 3000, &b);
    cr_assert_geq(time_now_ms() - t0, 350);
    cr_assert_str_eq(b.id, id);
    cr_assert_eq(b.tries, 2);
    cr_assert_str_eq(b.payload, "p");
    /* A nack with no delay is leasable at once. */
    cr_assert(queue_nack(q, &b, "again", 0, &err), "%s", err.msg);
    lease_ok(q, "w", 30000, 0, &a);
    cr_assert_eq(a.tries, 3);
    cr_assert(queue_ack(q, &a, NULL, &err), "%s", err.msg);
    st = status(q, id);
    cr_assert_eq(st.state, QUEUE_DONE);
    cr_assert_eq(st.tries, 3);
}

/* A release gives the try back: a job with max_tries 1 released twice is
 * still leasable, each time as try 1, and a late ack of the released lease
 * is refused. */
QCASE(release_gives_the_try_back) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "long crawl", 1, id);
    queue_job a, b, c;
    floe_err err = {0};
    lease_ok(q, "w1", 30000, 0, &a);
    cr_assert_eq(a.tries, 1);
    cr_assert(queue_release(q, &a, &err), "%s", err.msg);
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_QUEUED);
    cr_assert_eq(st.tries, 0);
    cr_assert(strstr(st.history, "\"released\""), "%s", st.history);
    cr_assert_not(queue_ack(q, &a, NULL, &err), "the released lease is over");
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    lease_ok(q, "w2", 30000, 0, &b);
    cr_assert_str_eq(b.id, id);
    cr_assert_eq(b.tries, 1);
    cr_assert_str_eq(b.payload, "long crawl");
    cr_assert(queue_release(q, &b, &err), "%s", err.msg);
    cr_assert_not(queue_release(q, &b, &err), "a second release of the same lease");
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    lease_ok(q, "w3", 30000, 0, &c);
    cr_assert_eq(c.tries, 1);
    cr_assert(queue_ack(q, &c, "{}", &err), "%s", err.msg);
    st = status(q, id);
    cr_assert_eq(st.state, QUEUE_DONE);
    cr_assert_eq(st.tries, 1);
}

QCASE(dead_letter_after_max_tries) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "poison", 2, id);
    queue_job j;
    floe_err err = {0};
    lease_ok(q, "w", 30000, 0, &j);
    cr_assert(queue_nack(q, &j, "parse error 1", 0, &err), "%s", err.msg);
    lease_ok(q, "w", 30000, 0, &j);
    cr_assert_eq(j.tries, 2);
    cr_assert(queue_nack(q, &j, "parse error 2", 0, &err), "%s", err.msg);
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_DEAD);
    cr_assert_eq(st.tries, 2);
    char dead[80];
    snprintf(dead, sizeof dead, "%s.dead", qname);
    cr_assert_str_eq(st.queue, dead);
    cr_assert_str_eq(st.error, "parse error 2");
    cr_assert(strstr(st.history, "parse error 1") && strstr(st.history, "parse error 2"), "%s", st.history);
    lease_none(q, "w", 30000, 200);
}

QCASE(dead_letter_after_expired_leases) {
    char id[QUEUE_ID_MAX];
    enqueue(q, "kills its worker", 2, id);
    queue_job j;
    lease_ok(q, "w1", 100, 0, &j);
    msleep(250);
    lease_ok(q, "w2", 100, 0, &j);
    cr_assert_eq(j.tries, 2);
    msleep(250);
    lease_none(q, "w3", 100, 0);
    queue_status st = status(q, id);
    cr_assert_eq(st.state, QUEUE_DEAD);
    cr_assert(strstr(st.error, "ran out"), "%s", st.error);
}

QCASE(status_errors) {
    floe_err err = {0};
    queue_status st;
    cr_assert_not(queue_status_get(q, "00000000-0000-4000-8000-000000000000", &ar, &st, &err));
    cr_assert_eq(err.code, FLOE_ENOENT, "%s", err.msg);
    cr_assert_not(queue_status_get(q, "", &ar, &st, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    char id[QUEUE_ID_MAX];
    cr_assert_not(queue_enqueue(q, "bad name", "p", NULL, id, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "bad name"), "%s", err.msg);
    cr_assert_not(queue_enqueue(q, "crawl.dead", "p", NULL, id, &err));
    cr_assert(strstr(err.msg, "dead-letter"), "%s", err.msg);
    cr_assert_not(queue_enqueue(q, qname, "p", &(queue_enqueue_opts){.max_tries = -1}, id, &err));
    cr_assert(strstr(err.msg, "max_tries"), "%s", err.msg);
    queue_job j;
    cr_assert_eq(queue_lease(q, qname, "", 1000, 0, &ar, &j, &err), -1);
    cr_assert(strstr(err.msg, "worker id"), "%s", err.msg);
    cr_assert_eq(queue_lease(q, qname, "w", 1, 0, &ar, &j, &err), -1);
    cr_assert(strstr(err.msg, "visibility timeout"), "%s", err.msg);
}

QCASE(dedupe_key) {
    char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX], c[QUEUE_ID_MAX];
    floe_err err = {0};
    cr_assert(queue_enqueue(q, qname, "p1", &(queue_enqueue_opts){.dedupe_key = "page-1"}, a, &err), "%s", err.msg);
    cr_assert(queue_enqueue(q, qname, "p1 again", &(queue_enqueue_opts){.dedupe_key = "page-1"}, b, &err), "%s",
              err.msg);
    cr_assert(queue_enqueue(q, qname, "p2", &(queue_enqueue_opts){.dedupe_key = "page-2"}, c, &err), "%s", err.msg);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
    queue_job j;
    lease_ok(q, "w", 30000, 0, &j);
    lease_ok(q, "w", 30000, 0, &j);
    lease_none(q, "w", 30000, 0);
}

QCASE(delayed_enqueue) {
    char id[QUEUE_ID_MAX];
    floe_err err = {0};
    cr_assert(queue_enqueue(q, qname, "later", &(queue_enqueue_opts){.delay_ms = 300}, id, &err), "%s", err.msg);
    lease_none(q, "w", 30000, 0);
    queue_job j;
    lease_ok(q, "w", 30000, 3000, &j);
    cr_assert_str_eq(j.id, id);
    cr_assert_eq(j.tries, 1);
}

/* ---------------------------------------------------------------- threads */

#define CONC_JOBS 60
#define CONC_THREADS 4

typedef struct conc_ctx {
    queue_t *q;
    char ids[CONC_JOBS][QUEUE_ID_MAX];
    int seen[CONC_JOBS];
    int errors;
    pthread_mutex_t mu;
} conc_ctx;

static void *conc_worker(void *arg) {
    conc_ctx *c = arg;
    char worker[32];
    snprintf(worker, sizeof worker, "thread-%lx", (unsigned long)pthread_self());
    arena_t a;
    arena_init(&a, 0);
    for (;;) {
        queue_job j;
        floe_err err = {0};
        int r = queue_lease(c->q, qname, worker, 60000, 500, &a, &j, &err);
        if (r <= 0) {
            if (r < 0) __atomic_add_fetch(&c->errors, 1, __ATOMIC_SEQ_CST);
            break;
        }
        int n = atoi(j.payload);
        pthread_mutex_lock(&c->mu);
        if (n >= 0 && n < CONC_JOBS && str_eq(c->ids[n], j.id))
            c->seen[n]++;
        else
            c->errors++;
        pthread_mutex_unlock(&c->mu);
        if (!queue_ack(c->q, &j, "ok", &err)) __atomic_add_fetch(&c->errors, 1, __ATOMIC_SEQ_CST);
    }
    arena_free(&a);
    return NULL;
}

QCASE(threads_lease_each_job_once) {
    conc_ctx *c = calloc(1, sizeof *c);
    c->q = q;
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < CONC_JOBS; i++) {
        char p[16];
        snprintf(p, sizeof p, "%d", i);
        enqueue(q, p, 0, c->ids[i]);
    }
    pthread_t th[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) pthread_create(&th[i], NULL, conc_worker, c);
    for (int i = 0; i < CONC_THREADS; i++) pthread_join(th[i], NULL);
    cr_assert_eq(c->errors, 0);
    for (int i = 0; i < CONC_JOBS; i++) {
        cr_assert_eq(c->seen[i], 1, "job %d leased %d times", i, c->seen[i]);
        cr_assert_eq(status(q, c->ids[i]).state, QUEUE_DONE);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

typedef struct wait_ctx {
    queue_t *q;
    int result;
    char id[QUEUE_ID_MAX];
    uint64_t done_ns;
} wait_ctx;

static void *waiter(void *arg) {
    wait_ctx *w = arg;
    arena_t a;
    arena_init(&a, 0);
    queue_job j;
    floe_err err = {0};
    w->result = queue_lease(w->q, qname, "waiter", 30000, 10000, &a, &j, &err);
    w->done_ns = time_mono_ns();
    if (w->result == 1) snprintf(w->id, sizeof w->id, "%s", j.id);
    arena_free(&a);
    return NULL;
}

QCASE(blocking_lease_wakes_on_enqueue) {
    /* A second handle whose SQLite poll is 5 s, so only the enqueue's
     * signal can wake the lease in time (Redis: XREADGROUP BLOCK). */
    floe_err err = {0};
    queue_t *q2 = dir[0] ? queue_open(NULL, &(queue_opts){.data_dir = dir, .poll_ms = 5000}, &err)
                         : queue_open(getenv("FLOE_TEST_REDIS_URL"), NULL, &err);
    cr_assert(q2, "%s", err.msg);
    wait_ctx w = {.q = q2};
    pthread_t th;
    /* Make sure the queue exists (Redis: its stream and group). */
    lease_none(q2, "w", 30000, 0);
    pthread_create(&th, NULL, waiter, &w);
    msleep(300);
    char id[QUEUE_ID_MAX];
    cr_assert(queue_enqueue(q2, qname, "wake up", NULL, id, &err), "%s", err.msg);
    uint64_t t0 = time_mono_ns();
    pthread_join(th, NULL);
    queue_close(q2);
    cr_assert_eq(w.result, 1);
    cr_assert_str_eq(w.id, id);
    /* Woken by the enqueue, not by the 10 s wait running out nor a poll. */
    uint64_t ms = w.done_ns > t0 ? (w.done_ns - t0) / 1000000 : 0;
    cr_assert_lt(ms, 1000, "woke %llu ms after the enqueue", (unsigned long long)ms);
}

Test(queue_sqlite, open_errors) {
    floe_err err = {0};
    cr_assert_null(queue_open("mysql://x", NULL, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "mysql://x") && strstr(err.msg, "redis://"), "%s", err.msg);
    cr_assert_null(queue_open("sqlite:", NULL, &err));
    cr_assert(strstr(err.msg, "sqlite:PATH"), "%s", err.msg);
    cr_assert_null(queue_open(NULL, NULL, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert_null(queue_open("sqlite:/nonexistent-dir/q.db", NULL, &err));
    cr_assert(strstr(err.msg, "/nonexistent-dir/q.db"), "%s", err.msg);
    cr_assert_null(queue_open("redis://127.0.0.1:notaport/0", NULL, &err));
    cr_assert_eq(err.code, FLOE_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, "redis://[:PASSWORD@]HOST[:PORT][/DB]"), "%s", err.msg);
    cr_assert_null(queue_open("redis://:secret@127.0.0.1:1/0", NULL, &err));
    cr_assert_eq(err.code, FLOE_EIO, "%s", err.msg);
    cr_assert_null(strstr(err.msg, "secret"), "%s", err.msg);
}
