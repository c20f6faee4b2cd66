/*
 * test_sched.c: the scheduler (src/pipeline/sched*.c) running real runs
 * with the test task types of test_sched_env.c: DAG order and trigger
 * rules, retries and their history, backoff bounds, sensors that hold no
 * executor, execution_timeout, max_active_runs and max_active_tasks,
 * manual runs with conf, clear, pause, and attempt logs.
 *
 * Nothing here sleeps to synchronise: every wait polls a condition with
 * a bound (test_sched_env.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"
#include "test_sched_env.h"

static sched_test_env env;

static void setup(void) { sched_test_env_init(&env, "core"); }
static void teardown(void) { sched_test_env_fini(&env); }

TestSuite(pipe_sched, .init = setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 30000

static json_int_t ti_int(const char *run_id, const char *task, const char *key) {
    json_t *t = sched_test_ti(&env, run_id, task);
    json_int_t v = json_integer_value(json_object_get(t, key));
    json_decref(t);
    return v;
}

static void expect_state(const char *run_id, const char *task, const char *state) {
    char st[32];
    cr_expect_str_eq(sched_test_ti_state(&env, run_id, task, st), state, "%s: %s is %s, expected %s", run_id, task, st,
                     state);
}

/* ---------------------------------------------------------------- order */

Test(pipe_sched, dag_order_and_log) {
    sched_test_spec(&env, "diamond",
                    "tasks:\n"
                    "  a: {type: t_noop, msg: \"hello from a\"}\n"
                    "  b: {type: t_noop, upstream: a}\n"
                    "  c: {type: t_noop, upstream: a}\n"
                    "  d: {type: t_noop, upstream: [b, c]}\n");
    sched_test_start(&env, 4, false);
    char id[256];
    sched_test_trigger(&env, "diamond", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    char order[256];
    sched_test_order(order, sizeof order);
    cr_assert(!strncmp(order, "a,", 2), "a ran first: %s", order);
    cr_assert(str_ends_with(order, ",d") && strlen(order) == 7, "d ran last, each once: %s", order);
    const char *tasks[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(ti_int(id, tasks[i], "try_number"), 1);
        json_t *t = sched_test_ti(&env, id, tasks[i]);
        cr_expect_eq(json_array_size(json_object_get(t, "attempts")), 1);
        json_decref(t);
    }

    /* the attempt's log: the task's own lines and the result, timestamped */
    buf_t log = BUF_INIT;
    floe_err err = {0};
    cr_assert(pipe_log_read(env.s, id, "a", 0, &log, &err), "%s", err.msg);
    cr_expect(strstr(log.data, "hello from a"), "%s", log.data);
    cr_expect(strstr(log.data, "succeeded"), "%s", log.data);
    cr_expect(log.data[4] == '-' && log.data[10] == 'T', "lines start with a timestamp: %s", log.data);
    buf_free(&log);
    char path[512];
    snprintf(path, sizeof path, "%s/diamond/%s/a/1.log", env.logs, id);
    cr_expect(fs_exists(path), "the log is at LOG_DIR/PIPELINE/RUN_ID/TASK/TRY.log: %s", path);
    cr_expect(!pipe_log_read(env.s, id, "a", 7, &log, &err) && err.code == FLOE_ENOENT);
    buf_free(&log);

    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect_eq(st.runs_created, 1);
    cr_expect_eq(st.tasks_started, 4);
    cr_expect_eq(st.tasks_succeeded, 4);
    cr_expect_eq(st.pipelines, 1);
}

/* ---------------------------------------------------------------- trigger rules */

Test(pipe_sched, trigger_rules) {
    sched_test_spec(&env, "rules",
                    "tasks:\n"
                    "  fail: {type: t_fail, now: true}\n"
                    "  ok: {type: t_noop}\n"
                    "  skip: {type: t_fail, skip: true}\n"
                    "  all_success: {type: t_noop, upstream: [fail, ok]}\n"
                    "  one_success: {type: t_noop, upstream: [fail, ok], trigger_rule: one_success}\n"
                    "  one_success_none: {type: t_noop, upstream: [fail], trigger_rule: one_success}\n"
                    "  all_done: {type: t_noop, upstream: [fail, ok, skip], trigger_rule: all_done}\n"
                    "  one_failed: {type: t_noop, upstream: [fail, ok], trigger_rule: one_failed}\n"
                    "  one_failed_none: {type: t_noop, upstream: [ok], trigger_rule: one_failed}\n"
                    "  all_failed: {type: t_noop, upstream: [fail], trigger_rule: all_failed}\n"
                    "  all_failed_mixed: {type: t_noop, upstream: [fail, ok], trigger_rule: all_failed}\n"
                    "  none_failed: {type: t_noop, upstream: [ok, skip], trigger_rule: none_failed}\n"
                    "  none_failed_bad: {type: t_noop, upstream: [fail, ok], trigger_rule: none_failed}\n"
                    "  skipped_down: {type: t_noop, upstream: skip}\n"
                    "  skipped_chain: {type: t_noop, upstream: skipped_down}\n"
                    "  failed_chain: {type: t_noop, upstream: all_success}\n"
                    "  always: {type: t_noop, upstream: fail, trigger_rule: always}\n");
    sched_test_start(&env, 4, false);
    char id[256];
    sched_test_trigger(&env, "rules", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "failed", WAIT_MS));
    struct {
        const char *task, *state;
    } want[] = {
        {"fail", "failed"},
        {"ok", "success"},
        {"skip", "skipped"},
        {"all_success", "upstream_failed"},
        {"one_success", "success"},
        {"one_success_none", "upstream_failed"},
        {"all_done", "success"},
        {"one_failed", "success"},
        {"one_failed_none", "skipped"},
        {"all_failed", "success"},
        {"all_failed_mixed", "skipped"},
        {"none_failed", "success"},
        {"none_failed_bad", "upstream_failed"},
        {"skipped_down", "skipped"},
        {"skipped_chain", "skipped"},
        {"failed_chain", "upstream_failed"},
        {"always", "success"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) expect_state(id, want[i].task, want[i].state);
    /* a failed task without retries is tried once */
    cr_expect_eq(ti_int(id, "fail", "try_number"), 1);
    cr_expect_eq(ti_int(id, "all_success", "try_number"), 0, "upstream_failed never ran");
}

Test(pipe_sched, run_succeeds_with_skipped_leaves) {
    sched_test_spec(&env, "skips",
                    "tasks:\n"
                    "  a: {type: t_fail, skip: true}\n"
                    "  b: {type: t_noop, upstream: a}\n"
                    "  c: {type: t_noop}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "skips", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    expect_state(id, "b", "skipped");
}

/* ---------------------------------------------------------------- retries */

Test(pipe_sched, retries_keep_every_attempt) {
    sched_test_spec(&env, "flaky",
                    "retries: 3\n"
                    "retry_delay: 0s\n"
                    "tasks:\n"
                    "  a: {type: t_fail, fails: 2}\n"
                    "  b: {type: t_noop, upstream: a}\n"
                    "  doomed: {type: t_fail, fails: 9, retries: 1}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "flaky", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "failed", WAIT_MS));
    expect_state(id, "a", "success");
    expect_state(id, "b", "success");
    expect_state(id, "doomed", "failed");

    json_t *a = sched_test_ti(&env, id, "a");
    cr_expect_eq(json_integer_value(json_object_get(a, "try_number")), 3);
    cr_expect_eq(json_integer_value(json_object_get(a, "max_tries")), 4);
    json_t *att = json_object_get(a, "attempts");
    cr_assert_eq(json_array_size(att), 3);
    for (int i = 0; i < 3; i++) {
        json_t *x = json_array_get(att, (size_t)i);
        cr_expect_eq(json_integer_value(json_object_get(x, "try_number")), i + 1);
        cr_expect_str_eq(json_string_value(json_object_get(x, "state")), i < 2 ? "failed" : "success");
        const char *e = json_string_value(json_object_get(x, "error"));
        if (i < 2) cr_expect(e && strstr(e, "planned failure of try"), "attempt %d error: %s", i + 1, e);
        cr_expect(json_string_value(json_object_get(x, "started_at")) &&
                  json_string_value(json_object_get(x, "ended_at")));
    }
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(a, "output"), "try")), 3);
    json_decref(a);

    json_t *d = sched_test_ti(&env, id, "doomed");
    cr_expect_eq(json_integer_value(json_object_get(d, "try_number")), 2, "retries: 1 gives two tries");
    cr_expect_eq(json_array_size(json_object_get(d, "attempts")), 2);
    cr_expect(strstr(json_string_value(json_object_get(d, "error")), "planned failure of try 2"));
    json_decref(d);

    /* each try has its own log */
    buf_t log = BUF_INIT;
    floe_err err = {0};
    cr_assert(pipe_log_read(env.s, id, "a", 1, &log, &err), "%s", err.msg);
    cr_expect(strstr(log.data, "planned failure of try 1"), "%s", log.data);
    buf_reset(&log);
    cr_assert(pipe_log_read(env.s, id, "a", 0, &log, &err), "%s", err.msg);
    cr_expect(strstr(log.data, "try 3") && strstr(log.data, "succeeded"), "%s", log.data);
    buf_free(&log);

    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect_eq(st.tasks_retried, 3); /* a twice, doomed once */
    cr_expect_eq(st.tasks_failed, 1);
}

Test(pipe_sched, backoff_bounds) {
    pipe_retry_policy rp = {.retries = 10, .retry_delay_ms = 1000, .retry_exponential = 1, .max_retry_delay_ms = 60000};
    for (int t = 1; t <= 12; t++) {
        int64_t d = 1000LL << (t - 1);
        if (d > 60000) d = 60000;
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t v = sched_retry_delay(&rp, t);
            cr_assert(v >= d / 2 && v <= d, "try %d: %lld outside [%lld, %lld]", t, (long long)v, (long long)(d / 2),
                      (long long)d);
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        cr_expect(hi - lo > d / 4, "try %d: jitter spreads the delays (%lld..%lld)", t, (long long)lo, (long long)hi);
    }
    rp.retry_exponential = 0;
    for (int t = 1; t < 5; t++) cr_expect_eq(sched_retry_delay(&rp, t), 1000, "without backoff the delay is fixed");
}

Test(pipe_sched, retry_waits_up_for_retry_with_backoff) {
    sched_test_spec(&env, "slowretry",
                    "retries: 2\n"
                    "retry_delay: 1h\n"
                    "retry_exponential_backoff: true\n"
                    "max_retry_delay: 2h\n"
                    "tasks:\n"
                    "  a: {type: t_fail, fails: 5}\n");
    sched_test_start(&env, 1, false);
    char id[256];
    sched_test_trigger(&env, "slowretry", NULL, id);
    sched_test_wait_ti(&env, id, "a", "up_for_retry", WAIT_MS);
    json_t *a = sched_test_ti(&env, id, "a");
    int64_t ended, next;
    cr_assert(time_parse_iso8601(json_string_value(json_object_get(a, "ended_at")), &ended));
    cr_assert(time_parse_iso8601(json_string_value(json_object_get(a, "next_try_at")), &next));
    int64_t wait_s = next - ended;
    cr_expect(wait_s >= 1800 - 1 && wait_s <= 3600 + 1, "the first retry waits d/2..d of 1h: %lld s",
              (long long)wait_s);
    cr_expect_eq(json_integer_value(json_object_get(a, "try_number")), 1);
    json_decref(a);
    json_t *r = pipe_run_json(env.s, id, &(floe_err){0});
    cr_expect_str_eq(json_string_value(json_object_get(r, "state")), "running");
    json_decref(r);
}

/* ---------------------------------------------------------------- sensors */

/* With one executor, a sensor that held its slot between pokes would
 * wait forever for a task that cannot run: the run finishing proves it
 * does not. */
Test(pipe_sched, sensor_holds_no_executor) {
    sched_test_spec(&env, "sense",
                    "tasks:\n"
                    "  wait: {type: t_sensor, until_flag: true, every: 20}\n"
                    "  work: {type: t_noop, set_flag: true}\n"
                    "  after: {type: t_noop, upstream: wait}\n");
    sched_test_start(&env, 1, false);
    char id[256];
    sched_test_trigger(&env, "sense", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    json_t *w = sched_test_ti(&env, id, "wait");
    cr_expect_eq(json_integer_value(json_object_get(w, "try_number")), 1, "pokes are one try");
    json_t *att = json_object_get(w, "attempts");
    cr_assert_eq(json_array_size(att), 1);
    json_t *a0 = json_array_get(att, 0);
    cr_expect_str_eq(json_string_value(json_object_get(a0, "state")), "success");
    json_int_t pokes = json_integer_value(json_object_get(a0, "pokes"));
    cr_expect(pokes >= 2, "the sensor poked again after work ran: %lld pokes", (long long)pokes);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(w, "output"), "pokes")), pokes);
    json_decref(w);
    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect(st.pokes >= 1);
}

Test(pipe_sched, sensor_waits_scheduled_between_pokes) {
    sched_test_spec(&env, "patient",
                    "tasks:\n"
                    "  wait: {type: t_sensor, pokes: 5, every: 3600000}\n");
    sched_test_start(&env, 1, false);
    char id[256];
    sched_test_trigger(&env, "patient", NULL, id);
    int64_t end = time_now_ms() + WAIT_MS;
    for (;;) {
        json_t *w = sched_test_ti(&env, id, "wait");
        json_t *a0 = json_array_get(json_object_get(w, "attempts"), 0);
        bool waiting = !strcmp(json_string_value(json_object_get(w, "state")), "scheduled") && a0 &&
                       json_integer_value(json_object_get(a0, "pokes")) == 1 &&
                       !strcmp(json_string_value(json_object_get(a0, "state")), "scheduled");
        if (waiting) {
            cr_expect(json_string_value(json_object_get(w, "next_try_at")), "the next poke time is shown");
            cr_expect(json_is_null(json_object_get(a0, "ended_at")), "the try is not over");
            json_decref(w);
            break;
        }
        json_decref(w);
        cr_assert(time_now_ms() < end, "the sensor never settled between pokes");
        usleep(2000);
    }
}

/* ---------------------------------------------------------------- timeouts */

Test(pipe_sched, execution_timeout_waits_for_the_try_to_stop) {
    sched_test_spec(&env, "slow",
                    "retries: 1\n"
                    "retry_delay: 0s\n"
                    "tasks:\n"
                    "  a: {type: t_block, key: slow, linger_ms: 150, execution_timeout: 100ms}\n");
    sched_test_start(&env, 4, false);
    char id[256];
    sched_test_trigger(&env, "slow", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "failed", WAIT_MS));
    cr_expect_eq(sched_test_started("slow"), 2);
    cr_expect_eq(sched_test_max_running("slow"), 1, "the retry started only after the timed-out try returned");
    json_t *a = sched_test_ti(&env, id, "a");
    json_t *att = json_object_get(a, "attempts");
    cr_assert_eq(json_array_size(att), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *e = json_string_value(json_object_get(json_array_get(att, i), "error"));
        cr_expect(e && strstr(e, "timed out after 100ms"), "attempt %zu: %s", i + 1, e);
    }
    json_decref(a);
    buf_t log = BUF_INIT;
    floe_err err = {0};
    cr_assert(pipe_log_read(env.s, id, "a", 1, &log, &err), "%s", err.msg);
    cr_expect(strstr(log.data, "timed out after 100ms"), "%s", log.data);
    buf_free(&log);
}

/* ---------------------------------------------------------------- limits */

static bool two_running(void *arg) { return sched_test_started((const char *)arg) >= 2; }

static int count_state(const char *run_id, const char *state) {
    json_t *tis = pipe_tasks_json(env.s, run_id, &(floe_err){0});
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tis, i, t) n += !strcmp(json_string_value(json_object_get(t, "state")), state);
    json_decref(tis);
    return n;
}

Test(pipe_sched, max_active_tasks) {
    sched_test_spec(&env, "wide",
                    "max_active_tasks: 2\n"
                    "tasks:\n"
                    "  t1: {type: t_block, key: wide}\n"
                    "  t2: {type: t_block, key: wide}\n"
                    "  t3: {type: t_block, key: wide}\n"
                    "  t4: {type: t_block, key: wide}\n"
                    "  t5: {type: t_block, key: wide}\n");
    sched_test_start(&env, 8, false);
    char id[256];
    sched_test_trigger(&env, "wide", NULL, id);
    sched_test_wait(two_running, "wide", WAIT_MS, "two tasks to start");
    /* the loop settles the moment the two start: the rest wait scheduled */
    int64_t end = time_now_ms() + WAIT_MS;
    while (count_state(id, "running") != 2) cr_assert(time_now_ms() < end, "two running never showed");
    cr_expect_eq(count_state(id, "scheduled"), 3);
    cr_expect_eq(sched_test_started("wide"), 2);
    sched_test_release();
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    cr_expect_eq(sched_test_started("wide"), 5);
    cr_expect_eq(sched_test_max_running("wide"), 2);
}

static int count_runs(const char *pipeline, const char *state) {
    json_t *runs = pipe_runs_json(env.s, pipeline, 100, &(floe_err){0});
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) n += !state || !strcmp(json_string_value(json_object_get(r, "state")), state);
    json_decref(runs);
    return n;
}

static bool one_started(void *arg) { return sched_test_started((const char *)arg) >= 1; }

Test(pipe_sched, max_active_runs) {
    sched_test_spec(&env, "serial",
                    "max_active_runs: 1\n"
                    "tasks:\n"
                    "  a: {type: t_block, key: serial}\n");
    sched_test_start(&env, 4, false);
    char ids[3][256];
    for (int i = 0; i < 3; i++) sched_test_trigger(&env, "serial", NULL, ids[i]);
    sched_test_wait(one_started, "serial", WAIT_MS, "the first run's task to start");
    cr_expect_eq(count_runs("serial", "running"), 1);
    cr_expect_eq(count_runs("serial", "queued"), 2);
    json_t *p = pipe_get_json(env.s, "serial", &(floe_err){0});
    cr_expect_eq(json_integer_value(json_object_get(p, "active_runs")), 3);
    json_decref(p);
    sched_test_release();
    for (int i = 0; i < 3; i++) json_decref(sched_test_wait_run(&env, ids[i], "success", WAIT_MS));
    cr_expect_eq(sched_test_max_running("serial"), 1);
    cr_expect_eq(sched_test_started("serial"), 3);
}

/* ---------------------------------------------------------------- manual runs */

static bool id_safe(const char *id) {
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* A try gets the outputs of the tasks upstream of it, direct or not (the
 * executor walks the DAG rather than copying every output of the run). */
Test(pipe_sched, templates_read_indirect_upstream_outputs) {
    sched_test_spec(&env, "anc",
                    "tasks:\n"
                    "  a: {type: t_noop, out: A}\n"
                    "  b: {type: t_noop, upstream: a, out: B}\n"
                    "  side: {type: t_noop, out: S}\n"
                    "  other: {type: t_noop, out: O}\n"
                    "  c: {type: t_noop, upstream: [b, side], out: \"{{ tasks.a.output.v }}{{ tasks.b.output.v }}"
                    "{{ tasks.side.output.v }}\"}\n"
                    "  d: {type: t_noop, upstream: c, out: \"{{ tasks.a.output.v }}-{{ tasks.c.output.v }}\"}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "anc", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    json_t *c = sched_test_ti(&env, id, "c");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(c, "output"), "v")), "ABS");
    json_decref(c);
    json_t *d = sched_test_ti(&env, id, "d");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "output"), "v")), "A-ABS");
    json_decref(d);
}

Test(pipe_sched, manual_conf_reaches_templates) {
    sched_test_spec(&env, "conf",
                    "params: {a: 1, b: x, n: 5}\n"
                    "tasks:\n"
                    "  first: {type: t_noop, out: \"{{ params.a }}-{{ params.b }}-{{ run_id }}\"}\n"
                    "  count: {type: t_noop, out: \"{{ params.n }}\"}\n"
                    "  second: {type: t_noop, upstream: first, out: \"got {{ tasks.first.output.v }}\"}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "conf", "{\"b\": \"y\", \"n\": 7}", id);
    cr_expect(str_starts_with(id, "conf__manual__") && str_ends_with(id, "Z") && strlen(id) == 14 + 19, "id shape: %s",
              id);
    cr_expect(id_safe(id), "%s", id);
    json_t *r = sched_test_wait_run(&env, id, "success", WAIT_MS);
    cr_expect_str_eq(json_string_value(json_object_get(r, "type")), "manual");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(r, "conf"), "n")), 7);
    json_decref(r);
    char want[400];
    snprintf(want, sizeof want, "1-y-%s", id);
    json_t *f = sched_test_ti(&env, id, "first");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(f, "output"), "v")), want);
    json_decref(f);
    json_t *c = sched_test_ti(&env, id, "count");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(c, "output"), "v")), 7,
                 "a whole template keeps the type");
    json_decref(c);
    json_t *s2 = sched_test_ti(&env, id, "second");
    snprintf(want, sizeof want, "got 1-y-%s", id);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(s2, "output"), "v")), want);
    json_decref(s2);

    /* the same logical time twice: the second id gets _2 */
    floe_err err = {0};
    char a[256], b[256];
    cr_assert(pipe_trigger(env.s, "conf", NULL, 1767225600000, a, sizeof a, &err), "%s", err.msg);
    cr_assert(pipe_trigger(env.s, "conf", NULL, 1767225600000, b, sizeof b, &err), "%s", err.msg);
    cr_expect_str_eq(a, "conf__manual__20260101T000000000Z");
    cr_expect_str_eq(b, "conf__manual__20260101T000000000Z_2");

    /* errors */
    cr_expect(!pipe_trigger(env.s, "nope", NULL, -1, a, sizeof a, &err) && err.code == FLOE_ENOENT, "%s", err.msg);
    json_t *bad = json_array();
    cr_expect(!pipe_trigger(env.s, "conf", bad, -1, a, sizeof a, &err) && err.code == FLOE_EINVAL, "%s", err.msg);
    json_decref(bad);
}

Test(pipe_sched, render_error_fails_without_retry) {
    sched_test_spec(&env, "badtmpl",
                    "retries: 3\n"
                    "retry_delay: 0s\n"
                    "tasks:\n"
                    "  a: {type: t_noop, out: \"{{ params.missing }}\"}\n");
    sched_test_start(&env, 1, false);
    char id[256];
    sched_test_trigger(&env, "badtmpl", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "failed", WAIT_MS));
    json_t *a = sched_test_ti(&env, id, "a");
    cr_expect_eq(json_integer_value(json_object_get(a, "try_number")), 1);
    const char *e = json_string_value(json_object_get(a, "error"));
    cr_expect(e && strstr(e, "render") && strstr(e, "params.missing"), "%s", e);
    json_decref(a);
}

/* ---------------------------------------------------------------- clear */

Test(pipe_sched, clear_increments_try_and_keeps_history) {
    sched_test_spec(&env, "redo",
                    "tasks:\n"
                    "  a: {type: t_noop}\n"
                    "  b: {type: t_noop, upstream: a}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "redo", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));

    floe_err err = {0};
    cr_assert(pipe_clear(env.s, id, "a", true, &err), "%s", err.msg);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    /* the clear committed before it returned; wait for the rerun to end */
    int64_t end = time_now_ms() + WAIT_MS;
    while (ti_int(id, "b", "try_number") != 2) cr_assert(time_now_ms() < end, "b never reran");
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    cr_expect_eq(ti_int(id, "a", "try_number"), 2);

    cr_assert(pipe_clear(env.s, id, "a", false, &err), "%s", err.msg);
    end = time_now_ms() + WAIT_MS;
    while (ti_int(id, "a", "try_number") != 3) cr_assert(time_now_ms() < end, "a never reran");
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    cr_expect_eq(ti_int(id, "b", "try_number"), 2, "without downstream, b stays");
    json_t *a = sched_test_ti(&env, id, "a");
    json_t *att = json_object_get(a, "attempts");
    cr_expect_eq(json_array_size(att), 3, "every try is kept");
    for (size_t i = 0; i < json_array_size(att); i++)
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(att, i), "state")), "success");
    cr_expect_eq(json_integer_value(json_object_get(a, "max_tries")), 3);
    json_decref(a);

    cr_expect(!pipe_clear(env.s, id, "zz", false, &err) && err.code == FLOE_ENOENT, "%s", err.msg);
    cr_expect(!pipe_clear(env.s, "redo__manual__nope", "a", false, &err) && err.code == FLOE_ENOENT, "%s", err.msg);
}

Test(pipe_sched, clear_cancels_a_running_try) {
    sched_test_spec(&env, "stuck",
                    "tasks:\n"
                    "  a: {type: t_block, key: stuck}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "stuck", NULL, id);
    sched_test_wait(one_started, "stuck", WAIT_MS, "a to start");
    floe_err err = {0};
    cr_assert(pipe_clear(env.s, id, "a", false, &err), "%s", err.msg);
    sched_test_wait(two_running, "stuck", WAIT_MS, "a's second try to start");
    cr_expect_eq(sched_test_max_running("stuck"), 1, "the cleared try stopped before the next began");
    sched_test_release();
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    json_t *a = sched_test_ti(&env, id, "a");
    cr_expect_eq(json_integer_value(json_object_get(a, "try_number")), 2);
    json_t *att = json_object_get(a, "attempts");
    cr_assert_eq(json_array_size(att), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(att, 0), "error")), "cleared while it ran");
    json_decref(a);
}

/* ---------------------------------------------------------------- pause */

Test(pipe_sched, pause_holds_runs_and_persists) {
    sched_test_spec(&env, "held",
                    "paused: true\n"
                    "tasks:\n"
                    "  a: {type: t_noop}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "held", NULL, id);
    /* the trigger returned after its commit: the run is there, waiting */
    json_t *r = pipe_run_json(env.s, id, &(floe_err){0});
    cr_expect_str_eq(json_string_value(json_object_get(r, "state")), "queued");
    json_decref(r);
    json_t *p = pipe_get_json(env.s, "held", &(floe_err){0});
    cr_expect(json_is_true(json_object_get(p, "paused")));
    json_decref(p);

    floe_err err = {0};
    cr_assert(pipe_set_paused(env.s, "held", false, &err), "%s", err.msg);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));

    /* the API's pause outlives a restart and overrides the spec */
    cr_assert(pipe_set_paused(env.s, "held", true, &err), "%s", err.msg);
    sched_test_spec(&env, "held", "paused: false\ntasks:\n  a: {type: t_noop}\n");
    sched_test_stop(&env);
    sched_test_start(&env, 2, false);
    p = pipe_get_json(env.s, "held", &(floe_err){0});
    cr_expect(json_is_true(json_object_get(p, "paused")), "paused through the API stays paused");
    json_decref(p);
    cr_expect(!pipe_set_paused(env.s, "nope", true, &err) && err.code == FLOE_ENOENT);
}
