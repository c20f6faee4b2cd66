/*
 * task_basic.c: the task types that touch no table or queue.
 *
 *   log    writes a message to the attempt's log (the seed's hello DAG).
 *   shell  runs a command in a process group of its own, with an
 *          environment, a directory and a timeout, streaming its stdout
 *          and stderr to the attempt's log line by line. On a timeout, a
 *          cancel or the execution_timeout, the whole group gets SIGTERM,
 *          then SIGKILL after a grace period, so nothing it started lives
 *          on. Exit codes map to success (ok_exit_codes), skipped
 *          (skip_exit_code, Airflow's skip_on_exit_code) or failed.
 *          The command's parent is a small supervisor process, the leader
 *          of the group, that the kernel signals when the thread that
 *          started it dies (PR_SET_PDEATHSIG): if the server is killed
 *          (kill -9), it kills the whole group, so no part of a try lives
 *          on to run beside the retry a restarted scheduler starts.
 *
 * docs/pipeline-tasks.md is the reference for their keys and outputs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "pipeline/task_int.h"

/* ================================================================== log */

static const pipe_field log_fields[] = {
    {"message", PIPE_FIELD_STRING, true, "the text to log, templates allowed (\"hello from {{ ds }}\")"},
    {"level", PIPE_FIELD_STRING, false, "info (default), warning or error: a label on the line"},
};

static bool log_level_ok(const char *l) { return !strcmp(l, "info") || !strcmp(l, "warning") || !strcmp(l, "error"); }

static bool log_validate(json_t *args, floe_err *err) {
    json_t *l = json_object_get(args, "level");
    if (json_is_string(l) && !tval_is_template(l) && !log_level_ok(json_string_value(l)))
        return floe_err_set(err, FLOE_EINVAL, "level '%s': expected info, warning or error", json_string_value(l));
    return true;
}

static pipe_task_result log_run(pipe_task_ctx *c, floe_err *err) {
    const char *msg, *level;
    if (!targ_str(c, "message", true, &msg, err) || !targ_str(c, "level", false, &level, err)) return task_failed(err);
    json_t *lv = level ? json_string(level) : NULL;
    if (level && !log_level_ok(level)) {
        targ_bad(c, "level", lv, "info, warning or error", err);
        json_decref(lv);
        return PIPE_TASK_FAILED_NOW;
    }
    json_decref(lv);
    if (level && strcmp(level, "info"))
        pipe_log(c, "%s: %s", level, msg);
    else
        pipe_log(c, "%s", msg);
    json_object_set_new(c->output, "message", json_string(msg));
    return PIPE_TASK_SUCCESS;
}

const pipe_task_type pipe_task_log = {
    .name = "log",
    .fields = log_fields,
    .nfields = sizeof log_fields / sizeof log_fields[0],
    .validate = log_validate,
    .run = log_run,
};

/* ================================================================ shell */

#define SHELL_TAIL 4096           /* bytes of stdout kept for the output */
#define SHELL_LINE_MAX 4000       /* longer lines reach the log in pieces */
#define SHELL_LINGER_MS 500       /* after the command exits, how long its leftovers may hold the pipes */
#define SHELL_DEFAULT_GRACE 10000 /* SIGTERM to SIGKILL */

static const pipe_field shell_fields[] = {
    {"command", PIPE_FIELD_ANY, true,
     "a command line run by /bin/sh -c (\"echo {{ ds }} > out.txt\"), or a list: the program and its arguments"},
    {"env", PIPE_FIELD_OBJECT, false, "a mapping of NAME: value added to the environment"},
    {"cwd", PIPE_FIELD_STRING, false, "the directory to run in (default: the server's)"},
    {"timeout", PIPE_FIELD_DURATION, false, "how long the command may run, like \"10m\" (default: no limit)"},
    {"ok_exit_codes", PIPE_FIELD_ARRAY, false, "the exit codes that mean success (default [0])"},
    {"skip_exit_code", PIPE_FIELD_INT, false, "the exit code that marks the task skipped (default 99; -1: none)"},
    {"kill_grace", PIPE_FIELD_DURATION, false, "how long the command has after SIGTERM before SIGKILL (default 10s)"},
};

static bool env_name_ok(const char *s) {
    if (!*s || (*s >= '0' && *s <= '9')) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* An argv word or an env value from a JSON scalar. */
static const char *scalar_text(pipe_task_ctx *c, json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) return arena_sprintf(c->arena, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) return arena_sprintf(c->arena, "%.17g", json_real_value(v));
    if (json_is_boolean(v)) return json_is_true(v) ? "true" : "false";
    return NULL;
}

static bool shell_argv(pipe_task_ctx *c, char ***argv, floe_err *err) {
    json_t *cmd = json_object_get(c->args, "command");
    if (json_is_string(cmd) && *json_string_value(cmd)) {
        char **v = arena_zalloc(c->arena, 4 * sizeof *v);
        v[0] = "/bin/sh";
        v[1] = "-c";
        v[2] = (char *)json_string_value(cmd);
        *argv = v;
        return true;
    }
    const char *expected = "a command line (a non-empty string) or a list of the program and its arguments";
    if (!json_is_array(cmd) || json_array_size(cmd) == 0) return targ_bad(c, "command", cmd, expected, err);
    char **v = arena_zalloc(c->arena, (json_array_size(cmd) + 1) * sizeof *v);
    for (size_t i = 0; i < json_array_size(cmd); i++)
        if (!(v[i] = (char *)scalar_text(c, json_array_get(cmd, i))))
            return targ_bad(c, "command", cmd, "a list of strings (the program and its arguments)", err);
    *argv = v;
    return true;
}

/* The server's environment, the run's FLOE_* variables, then env. */
static bool shell_envp(pipe_task_ctx *c, char ***envp, floe_err *err) {
    json_t *env;
    if (!targ_object(c, "env", false, &env, err)) return false;
    size_t n = 0;
    while (environ[n]) n++;
    size_t cap = n + 5 + (env ? json_object_size(env) : 0) + 1, m = 0;
    char **out = arena_zalloc(c->arena, cap * sizeof *out);
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        const char *t = scalar_text(c, v);
        if (!env_name_ok(k) || !t)
            return targ_bad(c, arena_sprintf(c->arena, "env.%s", k), v,
                            "a string, number or boolean under a NAME of letters, digits and _", err);
        out[m++] = arena_sprintf(c->arena, "%s=%s", k, t);
    }
    char extra[4][160];
    snprintf(extra[0], sizeof extra[0], "FLOE_PIPELINE=%s", c->pipeline ? c->pipeline : "");
    snprintf(extra[1], sizeof extra[1], "FLOE_RUN_ID=%s", c->run_id ? c->run_id : "");
    snprintf(extra[2], sizeof extra[2], "FLOE_TASK_ID=%s", c->task_id ? c->task_id : "");
    snprintf(extra[3], sizeof extra[3], "FLOE_TRY_NUMBER=%d", c->try_number);
    size_t given = m;
    /* a later entry of the same name loses: env first, then ours, then the server's */
    for (int i = 0; i < 4; i++) out[m++] = arena_strdup(c->arena, extra[i]);
    for (size_t i = 0; i < n; i++) out[m++] = environ[i];
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        const char *eq = strchr(out[i], '=');
        size_t len = eq ? (size_t)(eq - out[i]) : strlen(out[i]);
        bool dup = false;
        for (size_t j = 0; j < w && !dup; j++) dup = !strncmp(out[j], out[i], len) && out[j][len] == '=';
        if (!dup || i < given) out[w++] = out[i];
    }
    out[w] = NULL;
    *envp = out;
    return true;
}

/* Writes s to fd, in the child (async-signal-safe). */
static void child_say(int fd, const char *s) {
    if (write(fd, s, strlen(s)) < 0) return;
}

static void child_fail(const char *what, const char *arg) {
    char num[16];
    int e = errno, i = (int)sizeof num - 1;
    num[i] = 0;
    do num[--i] = (char)('0' + e % 10);
    while ((e /= 10) && i > 0);
    child_say(2, "floe shell: cannot ");
    child_say(2, what);
    child_say(2, " ");
    child_say(2, arg);
    child_say(2, " (errno ");
    child_say(2, num + i);
    child_say(2, ")\n");
    _exit(127);
}

/* The supervisor's SIGHUP: the server's thread that started it died. The
 * whole group goes, the supervisor with it. */
static void supervisor_orphaned(int sig) {
    (void)sig;
    kill(0, SIGKILL);
    _exit(128 + SIGKILL);
}

/* After fork, in the supervisor and then the command: only
 * async-signal-safe calls. The supervisor leads a process group of its own,
 * gets SIGHUP when the thread that forked it exits (the whole server on
 * kill -9: the executor threads live as long as the process), ignores the
 * SIGTERM the task sends the group (it is for the command; the supervisor
 * follows the command's end), runs the command as its child and exits as
 * the command did: with its exit code, or killed by the same signal. */
static void child_exec(char **argv, char **envp, const char *cwd, int out_fd, int err_fd, pid_t server) {
    setpgid(0, 0);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN},
                     hup = {.sa_handler = supervisor_orphaned};
    int sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &dfl, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    close_range(3, ~0u, 0);
    sigaction(SIGHUP, &hup, NULL);
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGHUP) < 0 || getppid() != server) _exit(127); /* the server is already gone */
    pid_t cmd = fork();
    if (cmd < 0) child_fail("start", argv[0]);
    if (cmd == 0) {
        sigaction(SIGHUP, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        sigaction(SIGINT, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (cwd && chdir(cwd) < 0) child_fail("change to directory", cwd);
        if (argv[0][0] == '/')
            execve(argv[0], argv, envp);
        else
            execvpe(argv[0], argv, envp);
        child_fail("run", argv[0]);
    }
    /* the command's output ends when the command and what it started
     * close it, not this process */
    close(0);
    close(1);
    close(2);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int status;
    while (waitpid(cmd, &status, 0) < 0)
        if (errno != EINTR) _exit(127);
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    /* killed by a signal: die of the same one (without a core file), so
     * the task sees what the command saw */
    int sig = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    sigset_t only;
    sigfillset(&only);
    sigdelset(&only, sig);
    sigaction(sig, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &only, NULL);
    kill(getpid(), sig);
    _exit(128 + sig);
}

typedef struct shell_pipe {
    int fd; /* -1 once at EOF */
    bool is_err;
    buf_t line;
} shell_pipe;

typedef struct shell_run {
    pipe_task_ctx *c;
    shell_pipe p[2];
    buf_t tail;         /* the last SHELL_TAIL or so bytes of stdout */
    char last_err[256]; /* the last line of stderr, for the error */
} shell_run;

static void shell_line(shell_run *r, shell_pipe *p, const char *s, size_t n) {
    if (p->is_err) {
        pipe_log(r->c, "[stderr] %.*s", (int)n, s);
        snprintf(r->last_err, sizeof r->last_err, "%.*s", (int)n, s);
    } else {
        pipe_log(r->c, "%.*s", (int)n, s);
    }
}

/* Reads what is there; lines go to the log as they complete. */
static void shell_read(shell_run *r, shell_pipe *p) {
    char chunk[8192];
    ssize_t n = read(p->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        if (p->line.len) shell_line(r, p, p->line.data, p->line.len);
        buf_reset(&p->line);
        close(p->fd);
        p->fd = -1;
        return;
    }
    if (!p->is_err) {
        buf_append(&r->tail, chunk, (size_t)n);
        if (r->tail.len > 2 * SHELL_TAIL) {
            memmove(r->tail.data, r->tail.data + r->tail.len - SHELL_TAIL, SHELL_TAIL);
            r->tail.len = SHELL_TAIL;
        }
    }
    for (ssize_t i = 0; i < n; i++) {
        if (chunk[i] == '\n') {
            size_t len = p->line.len;
            if (len && p->line.data[len - 1] == '\r') len--;
            shell_line(r, p, p->line.data ? p->line.data : "", len);
            buf_reset(&p->line);
        } else {
            buf_putc(&p->line, chunk[i]);
            if (p->line.len >= SHELL_LINE_MAX) {
                shell_line(r, p, p->line.data, p->line.len);
                buf_reset(&p->line);
            }
        }
    }
}

/* The tail as a JSON string: from a character boundary, with bytes that are
 * not UTF-8 shown as '?'. */
static json_t *shell_tail_json(buf_t *t) {
    size_t start = t->len > SHELL_TAIL ? t->len - SHELL_TAIL : 0;
    while (start < t->len && ((unsigned char)t->data[start] & 0xC0) == 0x80) start++;
    char *s = t->data ? t->data + start : "";
    size_t n = t->len - start;
    if (!str_utf8_valid(s, n))
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80) s[i] = '?';
    return json_stringn(s, n);
}

static bool shell_exit_ok(pipe_task_ctx *c, int code, bool *ok, floe_err *err) {
    json_t *codes;
    if (!targ_array(c, "ok_exit_codes", false, &codes, err)) return false;
    if (!codes) {
        *ok = code == 0;
        return true;
    }
    *ok = false;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v) {
        int64_t x;
        if (!tval_int(c, "ok_exit_codes", v, 0, 0, 255, &x, err)) return false;
        if (x == code) *ok = true;
    }
    return true;
}

static pipe_task_result shell_run_cmd(pipe_task_ctx *c, floe_err *err) {
    char **argv = NULL, **envp = NULL;
    const char *cwd;
    int64_t timeout_ms, grace_ms, skip_code;
    bool unused;
    if (!shell_argv(c, &argv, err) || !shell_envp(c, &envp, err) || !targ_str(c, "cwd", false, &cwd, err) ||
        !targ_duration(c, "timeout", 0, &timeout_ms, err) ||
        !targ_duration(c, "kill_grace", SHELL_DEFAULT_GRACE, &grace_ms, err) ||
        !targ_int(c, "skip_exit_code", 99, -1, 255, &skip_code, err) || !shell_exit_ok(c, 0, &unused, err))
        return PIPE_TASK_FAILED_NOW;

    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        floe_err_errno(err, errno, "task %s: pipe", c->task_id);
        goto fail_pipes;
    }
    int64_t start = time_now_ms();
    pid_t server = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        floe_err_errno(err, errno, "task %s: fork", c->task_id);
        goto fail_pipes;
    }
    if (pid == 0) child_exec(argv, envp, cwd, out[1], errp[1], server);
    setpgid(pid, pid); /* the child does too; whichever runs first wins the race harmlessly */
    close(out[1]);
    close(errp[1]);
    pipe_log(c, "running %s%s%s (pid %d)", argv[0], argv[1] ? " " : "",
             argv[1] ? (!strcmp(argv[1], "-c") ? argv[2] : argv[1]) : "", (int)pid);

    shell_run r = {.c = c, .p = {{.fd = out[0]}, {.fd = errp[0], .is_err = true}}};
    int status = 0;
    bool reaped = false;
    const char *stop = NULL; /* why the group is being killed */
    int64_t reaped_at = 0, term_at = 0, kill_at = 0;
    for (;;) {
        struct pollfd pf[2];
        nfds_t np = 0;
        for (int i = 0; i < 2; i++)
            if (r.p[i].fd >= 0) pf[np++] = (struct pollfd){.fd = r.p[i].fd, .events = POLLIN};
        int pr = poll(np ? pf : NULL, np, 50);
        for (nfds_t k = 0; pr > 0 && k < np; k++) {
            if (!pf[k].revents) continue;
            for (int i = 0; i < 2; i++)
                if (r.p[i].fd == pf[k].fd) shell_read(&r, &r.p[i]);
        }
        int64_t now = time_now_ms();
        pid_t w = reaped ? 0 : waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) {
            if (w < 0) pipe_log(c, "the command's exit status is lost: this process ignores SIGCHLD");
            reaped = true;
            reaped_at = now;
        }
        bool open = r.p[0].fd >= 0 || r.p[1].fd >= 0;
        if (!stop && !reaped) {
            if (c->cancel && *c->cancel)
                stop = "cancelled";
            else if (c->deadline_ms > 0 && now >= c->deadline_ms)
                stop = "past its execution_timeout";
            else if (timeout_ms > 0 && now - start >= timeout_ms)
                stop = "timed out";
        }
        bool linger = reaped && open && now - reaped_at >= SHELL_LINGER_MS;
        if ((stop || linger) && !term_at) {
            if (linger)
                pipe_log(c, "the command exited but processes it started still hold its output; stopping them");
            else
                pipe_log(c, "%s after %lld ms: SIGTERM to process group %d", stop, (long long)(now - start), (int)pid);
            kill(-pid, SIGTERM);
            term_at = now;
        }
        if (term_at && !kill_at && now - term_at >= grace_ms) {
            pipe_log(c, "still running %lld ms after SIGTERM: SIGKILL to process group %d", (long long)(now - term_at),
                     (int)pid);
            kill(-pid, SIGKILL);
            kill_at = now;
        }
        if (reaped && (!open || (kill_at && now - kill_at >= 1000))) break;
    }
    if (stop || term_at) kill(-pid, SIGKILL); /* anything left of the group */
    for (int i = 0; i < 2; i++) {
        if (r.p[i].fd >= 0) close(r.p[i].fd);
        buf_free(&r.p[i].line);
    }

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    json_object_set_new(c->output, "exit_code", json_integer(code));
    json_object_set_new(c->output, "stdout_tail", shell_tail_json(&r.tail));
    buf_free(&r.tail);
    if (stop) {
        floe_err_set(err, FLOE_EIO, "task %s: the command %s%s; its process group was killed", c->task_id, stop,
                     !strcmp(stop, "timed out") ? arena_sprintf(c->arena, " (timeout %lld ms)", (long long)timeout_ms)
                                                : "");
        return PIPE_TASK_FAILED;
    }
    bool ok;
    shell_exit_ok(c, code, &ok, err);
    if (skip_code >= 0 && code == skip_code) {
        pipe_log(c, "exit code %d is the skip_exit_code: skipped", code);
        return PIPE_TASK_SKIPPED;
    }
    if (ok) return PIPE_TASK_SUCCESS;
    if (WIFSIGNALED(status))
        floe_err_set(err, FLOE_EIO, "task %s: the command was killed by signal %d%s%s", c->task_id, WTERMSIG(status),
                     r.last_err[0] ? "; its last stderr line: " : "", r.last_err);
    else
        floe_err_set(err, FLOE_EIO, "task %s: the command exited with code %d, not one of ok_exit_codes%s%s",
                     c->task_id, code, r.last_err[0] ? "; its last stderr line: " : "", r.last_err);
    return PIPE_TASK_FAILED;

fail_pipes:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (errp[i] >= 0) close(errp[i]);
    }
    return PIPE_TASK_FAILED;
}

static bool shell_validate(json_t *args, floe_err *err) {
    json_t *cmd = json_object_get(args, "command");
    bool ok = (json_is_string(cmd) && *json_string_value(cmd)) || (json_is_array(cmd) && json_array_size(cmd));
    for (size_t i = 0; ok && json_is_array(cmd) && i < json_array_size(cmd); i++) {
        json_t *w = json_array_get(cmd, i);
        ok = json_is_string(w) || json_is_number(w) || json_is_boolean(w);
    }
    if (!ok)
        return floe_err_set(err, FLOE_EINVAL,
                            "command: expected a command line (a string) or a list of the program and its arguments");
    json_t *codes = json_object_get(args, "ok_exit_codes"), *v;
    size_t i;
    json_array_foreach(codes, i, v) {
        if (tval_is_template(v)) continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
            return floe_err_set(err, FLOE_EINVAL, "ok_exit_codes: item %zu is not an exit code (0 to 255)", i + 1);
    }
    return true;
}

const pipe_task_type pipe_task_shell = {
    .name = "shell",
    .fields = shell_fields,
    .nfields = sizeof shell_fields / sizeof shell_fields[0],
    .validate = shell_validate,
    .run = shell_run_cmd,
};
