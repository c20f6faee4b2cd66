/*
 * test_tasks_queue.c: the crawl and wait_job task types (task_queue.c)
 * against a SQLite queue driven by hand: the payload is the job contract
 * of crawler.h, a retry of crawl never enqueues a second job while the
 * first is live (a dead-lettered one is replaced), and wait_job follows a
 * job through queued, leased, done and dead.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "test_tasks.h"

static task_fixture f;
static arena_t qa;

static void setup(void) {
    tf_open(&f, "tasks-queue");
    arena_init(&qa, 4096);
}
static void teardown(void) {
    arena_free(&qa);
    tf_close(&f);
}

TestSuite(tasks_queue, .init = setup, .fini = teardown);

static const char *crawl_job(const char *args) {
    cr_assert_eq(tf_run(&f, &pipe_task_crawl, "%s", args), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    return arena_strdup(&qa, json_string_value(json_object_get(f.output, "job_id")));
}

static int lease(const char *queue, queue_job *job) {
    floe_err err = {0};
    int r = queue_lease(f.q, queue, "w1", 30000, 0, &qa, job, &err);
    cr_assert_geq(r, 0, "%s", err.msg);
    return r;
}

static queue_status status(const char *id) {
    queue_status st;
    floe_err err = {0};
    cr_assert(queue_status_get(f.q, id, &qa, &st, &err), "%s", err.msg);
    return st;
}

Test(tasks_queue, crawl_payload_is_the_contract) {
    const char *id = crawl_job("{\"endpoint\": \"trades\", \"params\": {\"symbol\": \"BTCUSDT\", \"limit\": 500},"
                               " \"base_url\": \"http://127.0.0.1:8800\"}");
    const char *target = "s3://warehouse/raw/trades/ds=2024-01-02/hr=03/min=04/run1.jsonl.zst";
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "target")), target);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "queue")), "crawl");
    queue_job job;
    cr_assert_eq(lease("crawl", &job), 1);
    cr_assert_str_eq(job.id, id);
    json_t *p = json_loads(job.payload, 0, NULL);
    json_t *want = json_pack("{s:s, s:{s:s, s:i}, s:s, s:s, s:s, s:s, s:s}", "endpoint", "trades", "params", "symbol",
                             "BTCUSDT", "limit", 500, "base_url", "http://127.0.0.1:8800", "target", target, "run_id",
                             "run1", "pipeline", "pipe", "task_id", "t1");
    cr_assert(json_equal(p, want), "payload %s", job.payload);
    json_decref(p);
    json_decref(want);
    cr_assert_eq(job.max_tries, 5);
}

Test(tasks_queue, crawl_defaults_and_overrides) {
    /* no params: an empty object; no base_url: absent, the endpoint's own applies */
    f.run_id = "scheduled__2024-01-02T03:04:00+00:00";
    crawl_job("{\"endpoint\": \"trades\", \"queue\": \"crawl.alt\", \"max_tries\": 2}");
    queue_job job;
    cr_assert_eq(lease("crawl.alt", &job), 1);
    json_t *p = json_loads(job.payload, 0, NULL);
    cr_assert(json_equal(json_object_get(p, "params"), json_object()), "%s", job.payload);
    cr_assert_null(json_object_get(p, "base_url"));
    cr_assert_str_eq(json_string_value(json_object_get(p, "run_id")), "scheduled__2024-01-02T03:04:00+00:00");
    /* the run id is made safe for a file name in the default target */
    cr_assert_str_eq(
        json_string_value(json_object_get(p, "target")),
        "s3://warehouse/raw/trades/ds=2024-01-02/hr=03/min=04/scheduled__2024-01-02T03_04_00_00_00.jsonl.zst");
    cr_assert_eq(job.max_tries, 2);
    json_decref(p);
    crawl_job("{\"endpoint\": \"trades\", \"target\": \"s3://warehouse/elsewhere/x.jsonl.zst\"}");
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "target")), "s3://warehouse/elsewhere/x.jsonl.zst");
}

Test(tasks_queue, crawl_retry_does_not_enqueue_twice) {
    const char *args = "{\"endpoint\": \"trades\"}";
    const char *id1 = crawl_job(args);
    f.try_number = 2;
    const char *id2 = crawl_job(args);
    cr_assert_str_eq(id1, id2);
    queue_job job, none;
    cr_assert_eq(lease("crawl", &job), 1);
    cr_assert_eq(lease("crawl", &none), 0, "a second job was enqueued");
    /* while leased, and once done, a retry still finds the same job */
    f.try_number = 3;
    cr_assert_str_eq(crawl_job(args), id1);
    floe_err err = {0};
    cr_assert(queue_ack(f.q, &job, "{\"s3_path\": \"x\"}", &err), "%s", err.msg);
    f.try_number = 4;
    cr_assert_str_eq(crawl_job(args), id1);
    cr_assert_eq(lease("crawl", &none), 0);
    /* another run, or another task of the run, is another job */
    f.run_id = "run2";
    cr_assert_str_neq(crawl_job(args), id1);
}

Test(tasks_queue, crawl_retry_after_dead_letter_enqueues_afresh) {
    const char *args = "{\"endpoint\": \"trades\", \"max_tries\": 1}";
    const char *id1 = crawl_job(args);
    queue_job job;
    cr_assert_eq(lease("crawl", &job), 1);
    floe_err err = {0};
    cr_assert(queue_nack(f.q, &job, "HTTP 500 from the API", 0, &err), "%s", err.msg);
    cr_assert_eq(status(id1).state, QUEUE_DEAD);
    f.try_number = 2;
    const char *id2 = crawl_job(args);
    cr_assert_str_neq(id1, id2);
    cr_assert(strstr(tf_log(&f), "dead-lettered"), "%s", tf_log(&f));
    cr_assert_eq(status(id2).state, QUEUE_QUEUED);
    /* and that one is deduplicated in turn */
    f.try_number = 3;
    cr_assert_str_eq(crawl_job(args), id2);
    cr_assert_eq(lease("crawl", &job), 1);
    cr_assert_str_eq(job.id, id2);
    cr_assert_eq(lease("crawl", &job), 0);
}

Test(tasks_queue, crawl_bad_args) {
    cr_assert_eq(tf_run(&f, &pipe_task_crawl, "{}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'endpoint'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_crawl, "{\"endpoint\": \"../etc\"}"), PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_crawl, "{\"endpoint\": \"t\", \"params\": [1]}"), PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_crawl, "{\"endpoint\": \"t\", \"queue\": \"bad name!\"}"), PIPE_TASK_FAILED_NOW,
                 "%s", f.err.msg);
    floe_err err = {0};
    json_t *a = json_pack("{s:s}", "endpoint", "a/b");
    cr_assert_not(pipe_task_crawl.validate(a, &err));
    json_decref(a);
}

static pipe_task_result wait(const char *id) {
    return tf_run(&f, &pipe_task_wait_job, "{\"job\": \"%s\", \"poke_interval\": \"2s\"}", id);
}

Test(tasks_queue, wait_job_pokes_until_done) {
    const char *id = crawl_job("{\"endpoint\": \"trades\"}");
    int64_t before = time_now_ms();
    cr_assert_eq(wait(id), PIPE_TASK_RESCHEDULE, "%s", f.err.msg);
    int64_t after = time_now_ms();
    cr_assert_geq(f.ctx.reschedule_at_ms, before + 2000);
    cr_assert_leq(f.ctx.reschedule_at_ms, after + 2000);
    cr_assert(strstr(tf_log(&f), "queued"), "%s", tf_log(&f));
    queue_job job;
    cr_assert_eq(lease("crawl", &job), 1);
    f.poke = 1;
    cr_assert_eq(wait(id), PIPE_TASK_RESCHEDULE, "a leased job is still running");
    const char *result = "{\"s3_path\": \"s3://warehouse/raw/trades/x.jsonl.zst\", \"manifest\": "
                         "\"s3://warehouse/raw/trades/x.jsonl.zst.manifest.json\", \"records\": 1500, \"pages\": 3, "
                         "\"bytes\": 40960, \"sha256\": \"abc\", \"redelivered\": false}";
    floe_err err = {0};
    cr_assert(queue_ack(f.q, &job, result, &err), "%s", err.msg);
    f.poke = 2;
    cr_assert_eq(wait(id), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "s3_path")), "s3://warehouse/raw/trades/x.jsonl.zst");
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "manifest")),
                     "s3://warehouse/raw/trades/x.jsonl.zst.manifest.json");
    cr_assert_eq(json_integer_value(json_object_get(f.output, "records")), 1500);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "pages")), 3);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "bytes")), 40960);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "sha256")), "abc");
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "job_id")), id);
}

Test(tasks_queue, wait_job_fails_on_a_dead_job) {
    const char *id = crawl_job("{\"endpoint\": \"trades\", \"max_tries\": 1}");
    queue_job job;
    cr_assert_eq(lease("crawl", &job), 1);
    floe_err err = {0};
    cr_assert(queue_nack(f.q, &job, "endpoint trades: HTTP 404", 0, &err), "%s", err.msg);
    cr_assert_eq(wait(id), PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "dead-lettered"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "HTTP 404"), "the job's error is in the task's: %s", f.err.msg);
}

Test(tasks_queue, wait_job_times_out) {
    const char *id = crawl_job("{\"endpoint\": \"trades\"}");
    f.started_ms = time_now_ms() - 2 * 3600000; /* the first poke was two hours ago; the default timeout is 1h */
    f.poke = 7200;
    cr_assert_eq(wait(id), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "timeout"), "%s", f.err.msg);
    /* a shorter timeout caps the next poke at the end of the wait */
    f.started_ms = time_now_ms();
    f.poke = 0;
    cr_assert_eq(tf_run(&f, &pipe_task_wait_job, "{\"job\": \"%s\", \"poke_interval\": \"1h\", \"timeout\": 60}", id),
                 PIPE_TASK_RESCHEDULE);
    cr_assert_leq(f.ctx.reschedule_at_ms, f.started_ms + 60000);
}

Test(tasks_queue, wait_job_unknown_and_bad_args) {
    cr_assert_eq(wait("no-such-job"), PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "no-such-job"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_wait_job, "{}"), PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_wait_job, "{\"job\": \"x\", \"poke_interval\": \"often\"}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'poke_interval'"), "%s", f.err.msg);
}
