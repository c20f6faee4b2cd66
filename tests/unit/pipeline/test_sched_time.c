/*
 * test_sched_time.c: the scheduler's timetable: catchup and no catchup
 * over a start_date in the past, and backfills with each reprocess mode,
 * their own concurrency limit, and no duplicate runs (a scheduled and a
 * backfill run of one interval are the same run).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "test_sched_env.h"

static sched_test_env env;

static void setup(void) { sched_test_env_init(&env, "time"); }
static void teardown(void) { sched_test_env_fini(&env); }

TestSuite(pipe_sched_time, .init = setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 30000

static json_t *runs_of(const char *pipeline) {
    floe_err err = {0};
    json_t *runs = pipe_runs_json(env.s, pipeline, 1000, &err);
    cr_assert(runs, "%s", err.msg);
    return runs;
}

typedef struct runs_done_arg {
    const char *pipeline;
    size_t n;
} runs_done_arg;

/* n runs, all ended. */
static bool runs_done(void *arg) {
    runs_done_arg *a = arg;
    json_t *runs = runs_of(a->pipeline);
    bool ok = json_array_size(runs) == a->n;
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        const char *st = json_string_value(json_object_get(r, "state"));
        ok = ok && (!strcmp(st, "success") || !strcmp(st, "failed"));
    }
    json_decref(runs);
    return ok;
}

static int64_t iso_ms(json_t *o, const char *key) {
    int64_t s = 0;
    cr_assert(time_parse_iso8601(json_string_value(json_object_get(o, key)), &s), "%s", key);
    return s * 1000;
}

/* ---------------------------------------------------------------- catchup */

Test(pipe_sched_time, catchup_runs_every_missed_interval) {
    char start[32], yaml[400];
    sched_test_iso(-(5 * 3600 + 1800) * 1000LL, start);
    snprintf(yaml, sizeof yaml, "schedule: every 1h\nstart_date: %s\ncatchup: true\ntasks:\n  a: {type: t_noop}\n",
             start);
    sched_test_spec(&env, "catch", yaml);
    sched_test_start(&env, 4, false);
    runs_done_arg want = {"catch", 5};
    sched_test_wait(runs_done, &want, WAIT_MS, "5 scheduled runs to end");
    json_t *runs = runs_of("catch");
    int64_t s0;
    cr_assert(time_parse_iso8601(start, &s0));
    s0 *= 1000;
    /* newest first; oldest is [start, start+1h) */
    for (size_t i = 0; i < 5; i++) {
        json_t *r = json_array_get(runs, 4 - i);
        cr_expect_str_eq(json_string_value(json_object_get(r, "type")), "scheduled");
        cr_expect_str_eq(json_string_value(json_object_get(r, "state")), "success");
        cr_expect_eq(iso_ms(r, "data_interval_start"), s0 + (int64_t)i * 3600000);
        cr_expect_eq(iso_ms(r, "data_interval_end"), s0 + (int64_t)(i + 1) * 3600000);
        const char *id = json_string_value(json_object_get(r, "run_id"));
        cr_expect(str_starts_with(id, "catch__scheduled__") && strlen(id) == 18 + 16, "%s", id);
    }
    json_decref(runs);
    json_t *p = pipe_get_json(env.s, "catch", &(floe_err){0});
    int64_t next = iso_ms(p, "next_run_at");
    cr_expect_eq(next, s0 + 6 * 3600000LL, "the next run is due when the next interval ends");
    json_decref(p);

    /* a restart remembers the last interval: no run twice */
    sched_test_stop(&env);
    sched_test_start(&env, 4, false);
    floe_err err = {0};
    cr_assert(pipe_set_paused(env.s, "catch", false, &err), "%s", err.msg); /* one committed wake-up */
    runs = runs_of("catch");
    cr_expect_eq(json_array_size(runs), 5);
    json_decref(runs);
}

Test(pipe_sched_time, no_catchup_runs_only_the_latest) {
    char start[32], yaml[400];
    sched_test_iso(-(5 * 3600 + 1800) * 1000LL, start);
    snprintf(yaml, sizeof yaml, "schedule: every 1h\nstart_date: %s\ntasks:\n  a: {type: t_noop}\n", start);
    sched_test_spec(&env, "latest", yaml);
    sched_test_start(&env, 4, false);
    runs_done_arg want = {"latest", 1};
    sched_test_wait(runs_done, &want, WAIT_MS, "the latest interval's run");
    json_t *runs = runs_of("latest");
    int64_t s0;
    cr_assert(time_parse_iso8601(start, &s0));
    s0 *= 1000;
    json_t *r = json_array_get(runs, 0);
    cr_expect_eq(iso_ms(r, "data_interval_start"), s0 + 4 * 3600000LL);
    cr_expect_eq(iso_ms(r, "data_interval_end"), s0 + 5 * 3600000LL);
    cr_expect_eq(iso_ms(r, "logical_date"), s0 + 4 * 3600000LL);
    json_decref(runs);
}

/* ---------------------------------------------------------------- backfill */

static char bf_id[256];
static bool bf_done(void *arg) {
    json_t *b = pipe_backfill_json(env.s, arg, &(floe_err){0});
    bool done = b && strcmp(json_string_value(json_object_get(b, "state")), "running");
    json_decref(b);
    return done;
}

static json_t *backfill(const char *pipeline, const char *from, const char *to, pipe_reprocess rp, int max) {
    int64_t f, t;
    cr_assert(pipe_time_parse(from, &f) && pipe_time_parse(to, &t));
    char id[256];
    floe_err err = {0};
    cr_assert(pipe_backfill(env.s, pipeline, f, t, rp, max, id, sizeof id, &err), "%s", err.msg);
    snprintf(bf_id, sizeof bf_id, "%s", id);
    sched_test_wait(bf_done, id, WAIT_MS, "the backfill to end");
    json_t *b = pipe_backfill_json(env.s, id, &err);
    cr_assert(b, "%s", err.msg);
    cr_expect_str_eq(json_string_value(json_object_get(b, "id")), id);
    return b;
}

static json_int_t bf_int(json_t *b, const char *k) { return json_integer_value(json_object_get(b, k)); }

static json_int_t try_of(const char *run_id, const char *task) {
    json_t *t = sched_test_ti(&env, run_id, task);
    json_int_t v = json_integer_value(json_object_get(t, "try_number"));
    json_decref(t);
    return v;
}

Test(pipe_sched_time, backfill_reprocess_modes) {
    sched_test_spec(&env, "hist",
                    "schedule: every 1h\n"
                    "start_date: 2026-01-01\n"
                    "end_date: 2026-01-02\n"
                    "tasks:\n"
                    "  work: {type: t_conc, key: hist, ms: 10}\n"
                    "  check: {type: t_fail, upstream: work, fail_if: \"{{ hr }}\", fail_value: \"01\"}\n");
    sched_test_start(&env, 4, false);
    const char *ids[4] = {"hist__backfill__20260101T000000Z", "hist__backfill__20260101T010000Z",
                          "hist__backfill__20260101T020000Z", "hist__backfill__20260101T030000Z"};

    json_t *b = backfill("hist", "2026-01-01T00:00Z", "2026-01-01T03:00Z", PIPE_REPROCESS_NONE, 1);
    cr_expect_eq(bf_int(b, "runs"), 3);
    cr_expect_eq(bf_int(b, "done"), 3);
    cr_expect_eq(bf_int(b, "failed"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "failed");
    cr_expect_str_eq(json_string_value(json_object_get(b, "reprocess")), "none");
    json_decref(b);
    cr_expect_eq(sched_test_max_running("hist"), 1, "max_active_runs 1: one run at a time");
    for (int i = 0; i < 3; i++) {
        json_t *r = pipe_run_json(env.s, ids[i], &(floe_err){0});
        cr_assert(r, "%s exists", ids[i]);
        cr_expect_str_eq(json_string_value(json_object_get(r, "state")), i == 1 ? "failed" : "success");
        cr_expect_str_eq(json_string_value(json_object_get(r, "type")), "backfill");
        json_decref(r);
    }

    /* none: only the interval that has no run */
    b = backfill("hist", "2026-01-01T00:00Z", "2026-01-01T04:00Z", PIPE_REPROCESS_NONE, 2);
    cr_expect_eq(bf_int(b, "runs"), 1);
    json_decref(b);
    for (int i = 0; i < 4; i++) cr_expect_eq(try_of(ids[i], "work"), 1);

    /* failed: reruns the failed run in place */
    b = backfill("hist", "2026-01-01T00:00Z", "2026-01-01T04:00Z", PIPE_REPROCESS_FAILED, 2);
    cr_expect_eq(bf_int(b, "runs"), 1);
    json_decref(b);
    cr_expect_eq(try_of(ids[1], "work"), 2);
    cr_expect_eq(try_of(ids[1], "check"), 2);
    cr_expect_eq(try_of(ids[0], "work"), 1);

    /* completed: reruns every run, again in place */
    b = backfill("hist", "2026-01-01T00:00Z", "2026-01-01T04:00Z", PIPE_REPROCESS_COMPLETED, 2);
    cr_expect_eq(bf_int(b, "runs"), 4);
    cr_expect_eq(bf_int(b, "done"), 4);
    json_decref(b);
    cr_expect(sched_test_max_running("hist") <= 2, "the backfill's own limit: %d", sched_test_max_running("hist"));
    cr_expect_eq(try_of(ids[0], "work"), 2);
    cr_expect_eq(try_of(ids[1], "work"), 3);
    cr_expect_eq(try_of(ids[3], "work"), 2);
    json_t *w = sched_test_ti(&env, ids[1], "work");
    cr_expect_eq(json_array_size(json_object_get(w, "attempts")), 3, "history kept");
    json_decref(w);

    json_t *runs = runs_of("hist");
    cr_expect_eq(json_array_size(runs), 4, "no duplicate runs");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        const char *backfill_id = json_string_value(json_object_get(r, "backfill_id"));
        cr_expect(backfill_id && !strcmp(backfill_id, bf_id), "each run now belongs to the last backfill");
    }
    json_decref(runs);

    floe_err err = {0};
    char id[256];
    cr_expect(!pipe_backfill(env.s, "hist", 2000, 1000, PIPE_REPROCESS_NONE, 1, id, sizeof id, &err) &&
              err.code == FLOE_EINVAL);
    cr_expect(!pipe_backfill(env.s, "nope", 1000, 2000, PIPE_REPROCESS_NONE, 1, id, sizeof id, &err) &&
              err.code == FLOE_ENOENT);
}

/* A run of a backfill that has ended, cleared: it runs again (on the
 * pipeline's run slots, as it would after a restart), rather than waiting
 * in the queue of a backfill nothing pumps any more. */
Test(pipe_sched_time, clear_a_run_of_an_ended_backfill) {
    sched_test_spec(&env, "again",
                    "schedule: every 1h\n"
                    "start_date: 2026-01-01\n"
                    "end_date: 2026-01-02\n"
                    "tasks:\n"
                    "  a: {type: t_noop}\n"
                    "  b: {type: t_noop, upstream: a}\n");
    sched_test_start(&env, 2, false);
    json_t *b = backfill("again", "2026-01-01T00:00Z", "2026-01-01T02:00Z", PIPE_REPROCESS_NONE, 1);
    cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "success");
    json_decref(b);
    const char *id = "again__backfill__20260101T010000Z";
    floe_err err = {0};
    cr_assert(pipe_clear(env.s, id, "b", false, &err), "%s", err.msg);
    int64_t end = time_now_ms() + WAIT_MS;
    while (try_of(id, "b") != 2) {
        cr_assert(time_now_ms() < end, "b never ran again");
        usleep(1000);
    }
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    cr_expect_eq(try_of(id, "a"), 1, "a was not cleared");
    cr_expect_eq(try_of(id, "b"), 2);
}

Test(pipe_sched_time, backfill_needs_a_schedule) {
    sched_test_spec(&env, "manual", "tasks:\n  a: {type: t_noop}\n");
    sched_test_start(&env, 1, false);
    floe_err err = {0};
    char id[256];
    cr_expect(!pipe_backfill(env.s, "manual", 1000, 2000000, PIPE_REPROCESS_NONE, 1, id, sizeof id, &err));
    cr_expect(err.code == FLOE_EINVAL && strstr(err.msg, "no schedule"), "%s", err.msg);
}

/* A backfill's runs and the scheduler's catchup share intervals: the
 * scheduler skips what the backfill made. */
Test(pipe_sched_time, backfill_and_schedule_are_the_same_runs) {
    char start[32], yaml[400];
    sched_test_iso(-(3 * 3600 + 1800) * 1000LL, start);
    snprintf(yaml, sizeof yaml,
             "schedule: every 1h\nstart_date: %s\ncatchup: true\npaused: true\ntasks:\n  a: {type: t_noop}\n", start);
    sched_test_spec(&env, "both", yaml);
    sched_test_start(&env, 2, false);
    int64_t f, t;
    cr_assert(pipe_time_parse(start, &f));
    t = f + 2 * 3600000LL; /* the first two intervals */
    char id[256];
    floe_err err = {0};
    cr_assert(pipe_backfill(env.s, "both", f, t, PIPE_REPROCESS_NONE, 4, id, sizeof id, &err), "%s", err.msg);
    json_t *runs = runs_of("both");
    cr_expect_eq(json_array_size(runs), 2, "paused: no scheduled run yet, the backfill's two wait");
    json_decref(runs);
    cr_assert(pipe_set_paused(env.s, "both", false, &err), "%s", err.msg);
    runs_done_arg want = {"both", 3};
    sched_test_wait(runs_done, &want, WAIT_MS, "three runs");
    runs = runs_of("both");
    int nbf = 0, nsched = 0;
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        nbf += !strcmp(type, "backfill");
        nsched += !strcmp(type, "scheduled");
        cr_expect_str_eq(json_string_value(json_object_get(r, "state")), "success");
    }
    cr_expect_eq(nbf, 2);
    cr_expect_eq(nsched, 1);
    json_decref(runs);
    sched_test_wait(bf_done, id, WAIT_MS, "the backfill to end");
}
