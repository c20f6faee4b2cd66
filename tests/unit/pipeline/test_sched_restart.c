/*
 * test_sched_restart.c: the scheduler dying and coming back. A child
 * process runs a scheduler and is killed with SIGKILL in the middle of a
 * try; a new scheduler on the same pipelines.db finds the try a zombie
 * (its attempt fails "executor died", the task retries while it has
 * tries), finishes the run, and the record the task keeps shows it never
 * ran twice at once. Also: a second scheduler on an open db is refused; a
 * graceful stop interrupts a try without spending a retry; waiting states
 * survive a restart.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/time.h"
#include "test_sched_env.h"

static sched_test_env env;

static void setup(void) { sched_test_env_init(&env, "restart"); }
static void teardown(void) { sched_test_env_fini(&env); }

TestSuite(pipe_sched_restart, .init = setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 30000

/* Reads exactly n bytes from fd within the wait. */
static void read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    int64_t end = time_now_ms() + WAIT_MS;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - time_now_ms());
        cr_assert(left > 0 && poll(&p, 1, left) == 1, "the child did not report in time");
        ssize_t r = read(fd, buf + got, n - got);
        cr_assert(r > 0, "the child died early");
        got += (size_t)r;
    }
}

/* The child: start a scheduler, trigger, report the run id, report again
 * once task b runs, then wait to be killed. No Criterion calls here. */
static void child_main(int fd) {
    floe_err err = {0};
    pipe_sched_opts o = {.pipelines_dir = env.pipelines,
                         .db_path = env.db,
                         .log_dir = env.logs,
                         .executors = 2,
                         .no_fsync = true,
                         .heartbeat_ms = 50,
                         .no_watch = true};
    pipe_sched *s = pipe_sched_start(&o, &err);
    if (!s) _exit(2);
    char id[256] = {0};
    if (!pipe_trigger(s, "crash", NULL, -1, id, sizeof id, &err)) _exit(3);
    if (write(fd, id, sizeof id) != sizeof id) _exit(4);
    while (sched_test_started("b") < 1) usleep(1000);
    /* b's RUNNING state is committed before it runs: its record is there */
    if (write(fd, "S", 1) != 1) _exit(5);
    for (;;) pause();
}

static const char *crash_spec(int retries, const char *rec, char *out, size_t cap) {
    snprintf(out, cap,
             "tasks:\n"
             "  a: {type: t_noop}\n"
             "  b: {type: t_block, key: b, record: \"%s\", upstream: a, retries: %d, retry_delay: 0s}\n"
             "  c: {type: t_noop, upstream: b}\n",
             rec, retries);
    return out;
}

/* Runs the crash: returns the run id; the child is dead when it returns. */
static void crash_child(char run_id[256]) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_main(p[1]);
        _exit(0);
    }
    close(p[1]);
    read_full(p[0], run_id, 256);
    char c;
    read_full(p[0], &c, 1);
    close(p[0]);

    /* while the child lives, its db is taken */
    floe_err err = {0};
    pipe_sched_opts o = {.pipelines_dir = env.pipelines, .db_path = env.db, .log_dir = env.logs, .no_watch = true};
    pipe_sched *second = pipe_sched_start(&o, &err);
    cr_expect_null(second, "a second scheduler opened the same db");
    if (second) pipe_sched_stop(second);
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "pid %ld", (long)pid);
    cr_expect_eq(err.code, FLOE_EEXIST, "%s", err.msg);
    cr_expect(strstr(err.msg, pidtext), "the error names the holder: %s", err.msg);

    cr_assert_eq(kill(pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child exited by itself: %d", status);
}

Test(pipe_sched_restart, killed_mid_run_resumes_and_never_runs_twice) {
    char rec[300], yaml[600];
    snprintf(rec, sizeof rec, "%s/record.txt", env.dir);
    sched_test_spec(&env, "crash", crash_spec(2, rec, yaml, sizeof yaml));
    char id[256];
    crash_child(id);

    sched_test_release(); /* in this process b returns at once */
    sched_test_start(&env, 2, false);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect_eq(st.zombies, 1);

    json_t *b = sched_test_ti(&env, id, "b");
    cr_expect_eq(json_integer_value(json_object_get(b, "try_number")), 2);
    json_t *att = json_object_get(b, "attempts");
    cr_assert_eq(json_array_size(att), 2);
    json_t *a0 = json_array_get(att, 0);
    cr_expect_str_eq(json_string_value(json_object_get(a0, "state")), "failed");
    const char *e = json_string_value(json_object_get(a0, "error"));
    cr_expect(e && strstr(e, "executor died: no heartbeat since 20"), "%s", e);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(att, 1), "state")), "success");
    json_decref(b);
    json_t *a = sched_test_ti(&env, id, "a");
    cr_expect_eq(json_integer_value(json_object_get(a, "try_number")), 1, "a had finished: it did not run again");
    json_decref(a);

    /* The record: try 1 started in the child and never ended (killed);
     * try 2 started here only after, and ended. */
    char *text = NULL;
    size_t len = 0;
    floe_err err = {0};
    cr_assert(fs_read_all(rec, &text, &len, &err), "%s", err.msg);
    char w1[16], k1[16], w2[16], k2[16], w3[16], k3[16];
    int t1, t2, t3;
    long p1, p2, p3;
    int n = sscanf(text, "%15s %15s %d %ld\n%15s %15s %d %ld\n%15s %15s %d %ld", w1, k1, &t1, &p1, w2, k2, &t2, &p2, w3,
                   k3, &t3, &p3);
    cr_assert_eq(n, 12, "record: %s", text);
    cr_expect(!strcmp(w1, "start") && t1 == 1 && p1 != getpid(), "%s", text);
    cr_expect(!strcmp(w2, "start") && t2 == 2 && p2 == getpid(), "%s", text);
    cr_expect(!strcmp(w3, "end") && t3 == 2 && p3 == getpid(), "%s", text);
    free(text);
}

Test(pipe_sched_restart, zombie_without_tries_fails) {
    char rec[300], yaml[600];
    snprintf(rec, sizeof rec, "%s/record.txt", env.dir);
    sched_test_spec(&env, "crash", crash_spec(0, rec, yaml, sizeof yaml));
    char id[256];
    crash_child(id);
    sched_test_release();
    sched_test_start(&env, 2, false);
    json_decref(sched_test_wait_run(&env, id, "failed", WAIT_MS));
    char st[32];
    cr_expect_str_eq(sched_test_ti_state(&env, id, "b", st), "failed");
    cr_expect_str_eq(sched_test_ti_state(&env, id, "c", st), "upstream_failed");
    json_t *b = sched_test_ti(&env, id, "b");
    cr_expect(strstr(json_string_value(json_object_get(b, "error")), "executor died"));
    json_decref(b);
}

Test(pipe_sched_restart, second_scheduler_refused) {
    sched_test_spec(&env, "one", "tasks:\n  a: {type: t_noop}\n");
    sched_test_start(&env, 1, false);
    floe_err err = {0};
    pipe_sched_opts o = {.pipelines_dir = env.pipelines, .db_path = env.db, .log_dir = env.logs, .no_watch = true};
    pipe_sched *second = pipe_sched_start(&o, &err);
    cr_assert_null(second);
    cr_expect_eq(err.code, FLOE_EEXIST, "%s", err.msg);
    char pidtext[32];
    snprintf(pidtext, sizeof pidtext, "pid %ld", (long)getpid());
    cr_expect(strstr(err.msg, pidtext), "%s", err.msg);
    /* the first one is unharmed */
    char id[256];
    sched_test_trigger(&env, "one", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
}

static bool b_started(void *arg) { return sched_test_started("b") >= 1; }

Test(pipe_sched_restart, stop_interrupts_without_spending_a_retry) {
    sched_test_spec(&env, "halt",
                    "tasks:\n"
                    "  b: {type: t_block, key: b}\n"
                    "  c: {type: t_noop, upstream: b}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "halt", NULL, id);
    sched_test_wait(b_started, NULL, WAIT_MS, "b to start");
    sched_test_stop(&env); /* cancels b, which returns */
    sched_test_release();
    sched_test_start(&env, 2, false);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    json_t *b = sched_test_ti(&env, id, "b");
    cr_expect_eq(json_integer_value(json_object_get(b, "try_number")), 2);
    json_t *att = json_object_get(b, "attempts");
    cr_assert_eq(json_array_size(att), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(att, 0), "error")),
                     "interrupted: the scheduler stopped");
    json_decref(b);
    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect_eq(st.zombies, 0);
}

Test(pipe_sched_restart, waiting_states_survive) {
    sched_test_spec(&env, "later",
                    "retries: 1\n"
                    "retry_delay: 1h\n"
                    "tasks:\n"
                    "  r: {type: t_fail, fails: 1}\n"
                    "  s: {type: t_sensor, pokes: 3, every: 3600000}\n");
    sched_test_start(&env, 2, false);
    char id[256];
    sched_test_trigger(&env, "later", NULL, id);
    sched_test_wait_ti(&env, id, "r", "up_for_retry", WAIT_MS);
    int64_t end = time_now_ms() + WAIT_MS;
    for (;;) {
        json_t *s = sched_test_ti(&env, id, "s");
        bool waiting = !strcmp(json_string_value(json_object_get(s, "state")), "scheduled") &&
                       json_string_value(json_object_get(s, "next_try_at"));
        json_decref(s);
        if (waiting) break;
        cr_assert(time_now_ms() < end, "the sensor never waited");
        usleep(2000);
    }
    json_t *r0 = sched_test_ti(&env, id, "r"), *s0 = sched_test_ti(&env, id, "s");
    sched_test_stop(&env);
    sched_test_start(&env, 2, false);
    floe_err err = {0};
    cr_assert(pipe_set_paused(env.s, "later", false, &err), "%s", err.msg); /* one committed wake-up */
    json_t *r1 = sched_test_ti(&env, id, "r"), *s1 = sched_test_ti(&env, id, "s");
    cr_expect_str_eq(json_string_value(json_object_get(r1, "state")), "up_for_retry");
    cr_expect_str_eq(json_string_value(json_object_get(r1, "next_try_at")),
                     json_string_value(json_object_get(r0, "next_try_at")));
    cr_expect_str_eq(json_string_value(json_object_get(s1, "state")), "scheduled");
    cr_expect_str_eq(json_string_value(json_object_get(s1, "next_try_at")),
                     json_string_value(json_object_get(s0, "next_try_at")));
    json_t *att = json_object_get(s1, "attempts");
    cr_expect_eq(json_array_size(att), 1);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(att, 0), "pokes")), 1, "no poke ran again");
    json_decref(r0);
    json_decref(s0);
    json_decref(r1);
    json_decref(s1);
    json_t *run = pipe_run_json(env.s, id, &err);
    cr_expect_str_eq(json_string_value(json_object_get(run, "state")), "running");
    json_decref(run);
}

/* pipelines.db refuses writes for a while (another process holds its
 * write lock past the busy timeout): the operation says its change is not
 * saved yet, the loop retries every second, and once the lock is gone the
 * run is written and completes. */
Test(pipe_sched_restart, commit_failure_is_retried, .timeout = 180) {
    sched_test_spec(&env, "blocked",
                    "tasks:\n"
                    "  a: {type: t_noop}\n"
                    "  b: {type: t_noop, upstream: a}\n");
    sched_test_start(&env, 2, false);
    sqlite3 *other = NULL;
    cr_assert_eq(sqlite3_open(env.db, &other), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    floe_err err = {0};
    char id[256];
    cr_expect(!pipe_trigger(env.s, "blocked", NULL, -1, id, sizeof id, &err), "the trigger could not be saved");
    cr_expect(strstr(err.msg, "not yet saved"), "%s", err.msg);
    json_t *runs = pipe_runs_json(env.s, "blocked", 10, &err);
    cr_expect_eq(json_array_size(runs), 0, "nothing was committed");
    json_decref(runs);
    cr_assert_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    int64_t end = time_now_ms() + WAIT_MS;
    for (;;) {
        runs = pipe_runs_json(env.s, "blocked", 10, &err);
        json_t *r = json_array_get(runs, 0);
        bool done = r && !strcmp(json_string_value(json_object_get(r, "state")), "success");
        json_decref(runs);
        if (done) break;
        cr_assert(time_now_ms() < end, "the run never completed after the lock went");
        usleep(5000);
    }
}
