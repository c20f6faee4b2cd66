/*
 * test_tasks.h: what the task-type tests (test_tasks*.c) share: a fixture
 * holding the test catalog environment (tests/unit/catalog/cat_test.h), a
 * SQLite queue and a pipe_env over them, and a way to run one task type's
 * run() with hand-written arguments, as the scheduler would after
 * rendering them; plus table reads to check what a task wrote.
 */
#ifndef FLOE_TESTS_TEST_TASKS_H
#define FLOE_TESTS_TEST_TASKS_H

#include <pthread.h>

#include "../catalog/cat_test.h"
#include "base/buf.h"
#include "pipeline/pipeline.h"
#include "queue/queue.h"

extern const pipe_task_type pipe_task_log, pipe_task_shell, pipe_task_crawl, pipe_task_wait_job, pipe_task_write_table,
    pipe_task_publish_signal, pipe_task_load_raw, pipe_task_maintenance;

typedef struct task_fixture {
    cat_test_env e;
    queue_t *q;
    pipe_env env;
    /* the next run's context: tests change these before tf_run */
    const char *run_id;
    int try_number;
    int poke;
    int64_t interval_start_ms, interval_end_ms;
    int64_t started_ms; /* 0: now */
    int64_t deadline_ms;
    volatile int cancel;
    /* the last run's results */
    pipe_task_ctx ctx;
    arena_t arena;
    json_t *args, *output;
    buf_t log;
    pthread_mutex_t log_mu;
    floe_err err;
} task_fixture;

/* 2024-01-02T03:04:00Z, the default interval start (an hour long). */
#define TF_START_MS 1704164640000ll

void tf_open(task_fixture *f, const char *name);
void tf_close(task_fixture *f);
/* Runs t with args (JSON text, printf-style). The output, log and error of
 * the run stay in f until the next. */
pipe_task_result tf_run(task_fixture *f, const pipe_task_type *t, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The log so far, NUL-terminated (thread-safe copy in the arena). */
const char *tf_log(task_fixture *f);
/* The rows of table ident (on main) matching filter (NULL: all), as a JSON
 * array of objects, columns in the table's order (new reference). */
json_t *tf_scan(task_fixture *f, const char *ident, const char *filter);
int64_t tf_count(task_fixture *f, const char *ident, const char *filter);
/* The current snapshot id of ident, -1 when it has none. */
int64_t tf_snapshot(task_fixture *f, const char *ident);
/* Writes bytes to uri in the warehouse; zstd-compressed when zstd. */
void tf_put(task_fixture *f, const char *uri, const char *text, bool zstd);

#endif
