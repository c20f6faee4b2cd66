/*
 * test_sched_env.h: what the scheduler tests (test_sched*.c) share: a temp
 * directory with pipelines/, pipelines.db and logs/; task types of their
 * own; and waits that poll a condition with a bound instead of sleeping.
 *
 * The types (registered by sched_test_types):
 *   t_noop   msg: logged; out: becomes output {"v": out}; set_flag: sets
 *            the flag a t_sensor may wait for; each run appends its task
 *            id to the order list
 *   t_fail   fails: N (the first N tries fail); now: fail without retry;
 *            skip: skipped; fail_if / fail_value: fail without retry when
 *            equal (after rendering)
 *   t_block  key: blocks until sched_test_release() or its cancel flag;
 *            record: a file that gets "start KEY TRY PID" and "end ..."
 *            lines; linger_ms: keeps running that long after a cancel
 *   t_sensor pokes: reschedules that many times; until_flag: pokes until
 *            t_noop's flag is set; every: ms between pokes
 *   t_conc   key: counts how many run at once (sched_test_max_running),
 *            busy for ms (default 20)
 */
#ifndef FLOE_TESTS_TEST_SCHED_ENV_H
#define FLOE_TESTS_TEST_SCHED_ENV_H

#include "pipeline/pipeline.h"

typedef struct sched_test_env {
    char dir[256];
    char pipelines[300], db[300], logs[300];
    pipe_sched *s;
} sched_test_env;

void sched_test_types(void);

/* A fresh temp dir (name goes into /tmp/floe-unit-sched-NAME-XXXXXX). */
void sched_test_env_init(sched_test_env *e, const char *name);
/* Stops the scheduler if running and removes the dir. */
void sched_test_env_fini(sched_test_env *e);
/* pipelines/NAME.yaml, written atomically (a rename, as editors do). */
void sched_test_spec(sched_test_env *e, const char *name, const char *yaml);
/* Starts the scheduler: no fsync, no watch unless watch. */
pipe_sched *sched_test_start(sched_test_env *e, int executors, bool watch);
void sched_test_stop(sched_test_env *e);

/* Triggers a run (conf JSON text or NULL); returns its id (static buffer per call site is the caller's). */
void sched_test_trigger(sched_test_env *e, const char *pipeline, const char *conf, char run_id[256]);

/* Polls until the run is in state (or any terminal state when state is
 * NULL); fails the test after timeout_ms. Returns the run's JSON. */
json_t *sched_test_wait_run(sched_test_env *e, const char *run_id, const char *state, int timeout_ms);
/* The task instance's JSON (new reference). */
json_t *sched_test_ti(sched_test_env *e, const char *run_id, const char *task_id);
const char *sched_test_ti_state(sched_test_env *e, const char *run_id, const char *task_id, char out[32]);
void sched_test_wait_ti(sched_test_env *e, const char *run_id, const char *task_id, const char *state, int timeout_ms);
/* Waits until fn(arg) is true. */
void sched_test_wait(bool (*fn)(void *arg), void *arg, int timeout_ms, const char *what);

/* t_block / t_conc / t_noop state in this process. */
void sched_test_release(void);
int sched_test_started(const char *key);
int sched_test_running(const char *key);
int sched_test_max_running(const char *key);
/* Task ids in the order t_noop ran them, comma-separated. */
void sched_test_order(char *out, size_t cap);
/* An ISO time relative to now, rounded down to the minute. */
void sched_test_iso(int64_t offset_ms, char out[32]);

#endif
