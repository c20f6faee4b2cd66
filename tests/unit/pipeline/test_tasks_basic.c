/*
 * test_tasks_basic.c: the log and shell task types (task_basic.c), run
 * directly: messages and outputs, exit codes, the skip code, the
 * environment and directory, and that a timeout, a cancel or the
 * execution_timeout kill the command's whole process group (a background
 * child that ignores SIGTERM included).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/time.h"
#include "test_tasks.h"

static task_fixture f;

static void setup(void) { tf_open(&f, "tasks-basic"); }
static void teardown(void) { tf_close(&f); }

TestSuite(tasks_basic, .init = setup, .fini = teardown);

Test(tasks_basic, registry_has_the_builtins) {
    const char *names[] = {"log",         "shell",          "crawl",    "wait_job",
                           "write_table", "publish_signal", "load_raw", "maintenance"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const pipe_task_type *t = pipe_task_type_find(names[i]);
        cr_assert(t, "%s is not registered", names[i]);
        cr_assert_str_eq(t->name, names[i]);
        cr_assert(t->run);
        for (size_t k = 0; k < t->nfields; k++)
            cr_assert(t->fields[k].name && t->fields[k].help && *t->fields[k].help, "%s.%zu", names[i], k);
    }
    cr_assert(pipe_task_type_find("wait_job")->sensor);
    cr_assert_not(pipe_task_type_find("crawl")->sensor);
}

Test(tasks_basic, log_message) {
    cr_assert_eq(tf_run(&f, &pipe_task_log, "{\"message\": \"hello from 2024-01-02\"}"), PIPE_TASK_SUCCESS, "%s",
                 f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "message")), "hello from 2024-01-02");
    cr_assert(strstr(tf_log(&f), "hello from 2024-01-02\n"), "%s", tf_log(&f));
    cr_assert_eq(tf_run(&f, &pipe_task_log, "{\"message\": \"careful\", \"level\": \"warning\"}"), PIPE_TASK_SUCCESS);
    cr_assert(strstr(tf_log(&f), "warning: careful"), "%s", tf_log(&f));
}

Test(tasks_basic, log_bad_args) {
    cr_assert_eq(tf_run(&f, &pipe_task_log, "{}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'message'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_log, "{\"message\": 3}"), PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_log, "{\"message\": \"x\", \"level\": \"loud\"}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "info, warning or error"), "%s", f.err.msg);
    floe_err err = {0};
    json_t *a = json_pack("{s:s, s:s}", "message", "x", "level", "loud");
    cr_assert_not(pipe_task_log.validate(a, &err));
    json_object_set_new(a, "level", json_string("{{ params.level }}"));
    cr_assert(pipe_task_log.validate(a, &err), "templates are checked after rendering");
    json_decref(a);
}

Test(tasks_basic, shell_success_logs_both_streams) {
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"echo out1; echo err1 >&2; printf 'no newline'\"}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "exit_code")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "stdout_tail")), "out1\nno newline");
    const char *log = tf_log(&f);
    cr_assert(strstr(log, "out1\n"), "%s", log);
    cr_assert(strstr(log, "[stderr] err1\n"), "%s", log);
    cr_assert(strstr(log, "no newline\n"), "%s", log);
}

Test(tasks_basic, shell_exit_codes) {
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"echo bad thing >&2; exit 3\"}"), PIPE_TASK_FAILED);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "exit_code")), 3);
    cr_assert(strstr(f.err.msg, "code 3"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "bad thing"), "the last stderr line is in the error: %s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"exit 3\", \"ok_exit_codes\": [0, 3]}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"exit 0\", \"ok_exit_codes\": [1]}"), PIPE_TASK_FAILED);
    /* Airflow's skip_on_exit_code: 99 by default */
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"exit 99\"}"), PIPE_TASK_SKIPPED, "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"exit 42\", \"skip_exit_code\": 42}"), PIPE_TASK_SKIPPED);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"exit 99\", \"skip_exit_code\": -1}"), PIPE_TASK_FAILED);
    /* killed by a signal: 128 + the signal, as shells report it */
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"kill -KILL $$\"}"), PIPE_TASK_FAILED);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "exit_code")), 128 + SIGKILL);
    cr_assert(strstr(f.err.msg, "signal 9"), "%s", f.err.msg);
}

Test(tasks_basic, shell_env_cwd_and_argv) {
    cr_assert_eq(tf_run(&f, &pipe_task_shell,
                        "{\"command\": [\"/bin/sh\", \"-c\", \"echo $FOO $N $FLOE_RUN_ID $FLOE_TASK_ID; pwd\"],"
                        " \"env\": {\"FOO\": \"bar baz\", \"N\": 7}, \"cwd\": \"%s\"}",
                        f.e.dir),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    char want[400];
    snprintf(want, sizeof want, "bar baz 7 run1 t1\n%s\n", f.e.dir);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "stdout_tail")), want);
    /* env overrides the server's own variables */
    setenv("FLOE_TEST_SHELL_VAR", "server", 1);
    cr_assert_eq(tf_run(&f, &pipe_task_shell,
                        "{\"command\": \"echo $FLOE_TEST_SHELL_VAR\", \"env\": {\"FLOE_TEST_SHELL_VAR\": \"task\"}}"),
                 PIPE_TASK_SUCCESS);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "stdout_tail")), "task\n");
    unsetenv("FLOE_TEST_SHELL_VAR");
    /* a program searched on PATH, arguments passed as they are */
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": [\"printf\", \"%%s|\", \"a b\", \"$HOME\"]}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "stdout_tail")), "a b|$HOME|");
}

Test(tasks_basic, shell_bad_args_and_missing_program) {
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": 5}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'command'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": []}"), PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"true\", \"env\": {\"BAD NAME\": \"x\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "env.BAD NAME"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"true\", \"timeout\": \"soon\"}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'timeout'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"true\", \"ok_exit_codes\": [300]}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": [\"/nonexistent/prog\"]}"), PIPE_TASK_FAILED);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "exit_code")), 127);
    cr_assert(strstr(f.err.msg, "cannot run /nonexistent/prog"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"true\", \"cwd\": \"/nonexistent/dir\"}"),
                 PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "/nonexistent/dir"), "%s", f.err.msg);
}

Test(tasks_basic, shell_stdout_tail_is_the_last_4k) {
    cr_assert_eq(
        tf_run(&f, &pipe_task_shell, "{\"command\": \"i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done\"}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    const char *tail = json_string_value(json_object_get(f.output, "stdout_tail"));
    cr_assert_leq(strlen(tail), 4096);
    cr_assert_geq(strlen(tail), 4000);
    cr_assert(strstr(tail, "line1999\n"), "%s", tail);
    cr_assert(strstr(tf_log(&f), "\nline0\n"), "every line reaches the log");
    cr_assert(strstr(tf_log(&f), "\nline1999\n"));
}

/* Whether pid is gone (or a zombie nobody reaped: dead all the same). */
static bool pid_dead(pid_t pid) {
    if (kill(pid, 0) < 0 && errno == ESRCH) return true;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static pid_t read_pid(const char *path) {
    char *text;
    size_t n;
    floe_err err = {0};
    cr_assert(fs_read_all(path, &text, &n, &err), "%s", err.msg);
    pid_t pid = (pid_t)atoi(text);
    free(text);
    cr_assert_gt(pid, 1);
    return pid;
}

static void wait_dead(pid_t pid) {
    for (int i = 0; i < 500 && !pid_dead(pid); i++) usleep(10000);
    cr_assert(pid_dead(pid), "process %d of the command's group survived", (int)pid);
}

Test(tasks_basic, shell_timeout_kills_the_process_group) {
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", f.e.dir);
    /* the shell and its background child ignore SIGTERM: only SIGKILL ends them */
    cr_assert_eq(tf_run(&f, &pipe_task_shell,
                        "{\"command\": \"trap '' TERM; sleep 60 & echo $! > %s; echo started; wait\","
                        " \"timeout\": \"300ms\", \"kill_grace\": \"200ms\"}",
                        pidfile),
                 PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "timed out"), "%s", f.err.msg);
    const char *log = tf_log(&f);
    cr_assert(strstr(log, "started\n"), "%s", log);
    cr_assert(strstr(log, "SIGTERM to process group"), "%s", log);
    cr_assert(strstr(log, "SIGKILL to process group"), "%s", log);
    wait_dead(read_pid(pidfile));
}

Test(tasks_basic, shell_term_is_enough_for_a_polite_command) {
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", f.e.dir);
    cr_assert_eq(tf_run(&f, &pipe_task_shell,
                        "{\"command\": \"sleep 60 & echo $! > %s; wait\", \"timeout\": \"200ms\"}", pidfile),
                 PIPE_TASK_FAILED);
    cr_assert_not(strstr(tf_log(&f), "SIGKILL to process group"), "%s", tf_log(&f));
    wait_dead(read_pid(pidfile));
}

static void *cancel_when_started(void *arg) {
    const char *marker = arg;
    for (int i = 0; i < 1000 && !fs_exists(marker); i++) usleep(10000);
    f.cancel = 1;
    return NULL;
}

Test(tasks_basic, shell_cancel) {
    char marker[300];
    snprintf(marker, sizeof marker, "%s/started", f.e.dir);
    pthread_t th;
    pthread_create(&th, NULL, cancel_when_started, marker);
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"touch %s; sleep 60\", \"kill_grace\": \"1s\"}", marker),
                 PIPE_TASK_FAILED);
    pthread_join(th, NULL);
    cr_assert(strstr(f.err.msg, "cancelled"), "%s", f.err.msg);
}

Test(tasks_basic, shell_execution_timeout) {
    f.deadline_ms = time_now_ms() + 200;
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"sleep 60\"}"), PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "execution_timeout"), "%s", f.err.msg);
}

Test(tasks_basic, shell_leftover_processes_do_not_hang_the_task) {
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", f.e.dir);
    /* the command exits at once, but a child it left holds stdout open */
    cr_assert_eq(tf_run(&f, &pipe_task_shell, "{\"command\": \"sleep 60 & echo $! > %s; echo done\"}", pidfile),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert(strstr(tf_log(&f), "still hold its output"), "%s", tf_log(&f));
    wait_dead(read_pid(pidfile));
}

/* The server dies with kill -9 while a command runs (here: a process that
 * runs the task and is then killed): the shell, the child it waits for
 * and one it left in the background all die with it, so a restarted
 * scheduler's retry never runs beside what is left of the killed try. */
Test(tasks_basic, shell_command_dies_with_the_server) {
    char sh[300], fg[300], bg[300];
    snprintf(sh, sizeof sh, "%s/sh.pid", f.e.dir);
    snprintf(fg, sizeof fg, "%s/fg.pid", f.e.dir);
    snprintf(bg, sizeof bg, "%s/bg.pid", f.e.dir);
    pid_t server = fork();
    cr_assert_geq(server, 0);
    if (server == 0) {
        tf_run(&f, &pipe_task_shell,
               "{\"command\": \"trap '' TERM HUP; (trap '' TERM HUP; sleep 60) & echo $! > %s.tmp; mv %s.tmp %s;"
               " sleep 60 & echo $! > %s.tmp; mv %s.tmp %s; echo $$ > %s.tmp; mv %s.tmp %s; wait\"}",
               bg, bg, bg, fg, fg, fg, sh, sh, sh);
        _exit(0);
    }
    for (int i = 0; i < 1000 && !fs_exists(sh); i++) usleep(10000);
    cr_assert(fs_exists(sh), "the command did not start");
    pid_t pids[3] = {read_pid(sh), read_pid(fg), read_pid(bg)};
    for (int i = 0; i < 3; i++) cr_assert_not(pid_dead(pids[i]), "process %d runs before the kill", (int)pids[i]);
    kill(server, SIGKILL);
    int st;
    cr_assert_eq(waitpid(server, &st, 0), server);
    for (int i = 0; i < 3; i++) wait_dead(pids[i]);
}
