/*
 * test_sched_env.c: the scheduler tests' environment, task types and waits
 * (test_sched_env.h).
 */
#include "test_sched_env.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/time.h"

/* ---------------------------------------------------------------- shared state */

#define MAX_KEYS 32

typedef struct key_state {
    char key[32];
    int started, running, max_running;
} key_state;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static key_state g_keys[MAX_KEYS];
static bool g_release, g_flag;
static char g_order[4096];

static key_state *key_get(const char *key) {
    for (int i = 0; i < MAX_KEYS; i++) {
        if (!strcmp(g_keys[i].key, key)) return &g_keys[i];
        if (!g_keys[i].key[0]) {
            snprintf(g_keys[i].key, sizeof g_keys[i].key, "%s", key);
            return &g_keys[i];
        }
    }
    return &g_keys[MAX_KEYS - 1];
}

static void key_enter(const char *key) {
    pthread_mutex_lock(&g_mu);
    key_state *k = key_get(key);
    k->started++;
    if (++k->running > k->max_running) k->max_running = k->running;
    pthread_mutex_unlock(&g_mu);
}

static void key_leave(const char *key) {
    pthread_mutex_lock(&g_mu);
    key_get(key)->running--;
    pthread_mutex_unlock(&g_mu);
}

void sched_test_release(void) {
    pthread_mutex_lock(&g_mu);
    g_release = true;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static int key_read(const char *key, int which) {
    pthread_mutex_lock(&g_mu);
    key_state *k = key_get(key);
    int v = which == 0 ? k->started : which == 1 ? k->running : k->max_running;
    pthread_mutex_unlock(&g_mu);
    return v;
}

int sched_test_started(const char *key) { return key_read(key, 0); }
int sched_test_running(const char *key) { return key_read(key, 1); }
int sched_test_max_running(const char *key) { return key_read(key, 2); }

void sched_test_order(char *out, size_t cap) {
    pthread_mutex_lock(&g_mu);
    snprintf(out, cap, "%s", g_order);
    pthread_mutex_unlock(&g_mu);
}

/* ---------------------------------------------------------------- types */

static pipe_task_result noop_run(pipe_task_ctx *ctx, floe_err *err) {
    const char *msg = json_string_value(json_object_get(ctx->args, "msg"));
    if (msg) pipe_log(ctx, "%s", msg);
    json_t *out = json_object_get(ctx->args, "out");
    if (out) json_object_set(ctx->output, "v", out);
    pthread_mutex_lock(&g_mu);
    size_t n = strlen(g_order);
    snprintf(g_order + n, sizeof g_order - n, "%s%s", n ? "," : "", ctx->task_id);
    if (json_is_true(json_object_get(ctx->args, "set_flag"))) g_flag = true;
    pthread_mutex_unlock(&g_mu);
    return PIPE_TASK_SUCCESS;
}

static const pipe_field noop_fields[] = {
    {"msg", PIPE_FIELD_STRING, false, "a line to log"},
    {"out", PIPE_FIELD_ANY, false, "the output's v"},
    {"set_flag", PIPE_FIELD_BOOL, false, "sets the flag t_sensor waits for"},
};
static const pipe_task_type t_noop = {.name = "t_noop", .fields = noop_fields, .nfields = 3, .run = noop_run};

static pipe_task_result fail_run(pipe_task_ctx *ctx, floe_err *err) {
    json_t *a = ctx->args;
    if (json_is_true(json_object_get(a, "skip"))) return PIPE_TASK_SKIPPED;
    if (json_is_true(json_object_get(a, "now"))) {
        floe_err_set(err, FLOE_EINVAL, "planned failure without retry");
        return PIPE_TASK_FAILED_NOW;
    }
    const char *fi = json_string_value(json_object_get(a, "fail_if"));
    const char *fv = json_string_value(json_object_get(a, "fail_value"));
    if (fi && fv && !strcmp(fi, fv)) {
        floe_err_set(err, FLOE_EINVAL, "planned failure: %s", fi);
        return PIPE_TASK_FAILED_NOW;
    }
    json_int_t fails = json_integer_value(json_object_get(a, "fails"));
    if (ctx->try_number <= fails) {
        floe_err_set(err, FLOE_EIO, "planned failure of try %d", ctx->try_number);
        return PIPE_TASK_FAILED;
    }
    json_object_set_new(ctx->output, "try", json_integer(ctx->try_number));
    return PIPE_TASK_SUCCESS;
}

static const pipe_field fail_fields[] = {
    {"fails", PIPE_FIELD_INT, false, NULL},         {"now", PIPE_FIELD_BOOL, false, NULL},
    {"skip", PIPE_FIELD_BOOL, false, NULL},         {"fail_if", PIPE_FIELD_STRING, false, NULL},
    {"fail_value", PIPE_FIELD_STRING, false, NULL},
};
static const pipe_task_type t_fail = {.name = "t_fail", .fields = fail_fields, .nfields = 5, .run = fail_run};

static void record(const char *path, const char *what, const char *key, int try_number) {
    if (!path) return;
    char line[256];
    int n = snprintf(line, sizeof line, "%s %s %d %ld\n", what, key, try_number, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)n) != n) {
    }
    fsync(fd);
    close(fd);
}

static pipe_task_result block_run(pipe_task_ctx *ctx, floe_err *err) {
    const char *key = json_string_value(json_object_get(ctx->args, "key"));
    const char *rec = json_string_value(json_object_get(ctx->args, "record"));
    json_int_t linger = json_integer_value(json_object_get(ctx->args, "linger_ms"));
    record(rec, "start", key, ctx->try_number); /* before it counts as started */
    key_enter(key);
    pipe_log(ctx, "blocking on %s", key);
    pthread_mutex_lock(&g_mu);
    while (!g_release && !*ctx->cancel) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 5 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g_cv, &g_mu, &ts);
    }
    bool cancelled = !g_release;
    pthread_mutex_unlock(&g_mu);
    if (cancelled && linger > 0) usleep((useconds_t)linger * 1000); /* a task slow to stop */
    record(rec, "end", key, ctx->try_number);
    key_leave(key);
    if (cancelled) {
        floe_err_set(err, FLOE_EPRECOND, "cancelled");
        return PIPE_TASK_FAILED;
    }
    return PIPE_TASK_SUCCESS;
}

static const pipe_field block_fields[] = {
    {"key", PIPE_FIELD_STRING, true, NULL},
    {"record", PIPE_FIELD_STRING, false, NULL},
    {"linger_ms", PIPE_FIELD_INT, false, NULL},
};
static const pipe_task_type t_block = {.name = "t_block", .fields = block_fields, .nfields = 3, .run = block_run};

static pipe_task_result sensor_run(pipe_task_ctx *ctx, floe_err *err) {
    json_int_t pokes = json_integer_value(json_object_get(ctx->args, "pokes"));
    json_int_t every = json_integer_value(json_object_get(ctx->args, "every"));
    bool until = json_is_true(json_object_get(ctx->args, "until_flag"));
    pthread_mutex_lock(&g_mu);
    bool flag = g_flag;
    pthread_mutex_unlock(&g_mu);
    if (ctx->poke < pokes || (until && !flag)) {
        ctx->reschedule_at_ms = time_now_ms() + (every > 0 ? every : 10);
        return PIPE_TASK_RESCHEDULE;
    }
    json_object_set_new(ctx->output, "pokes", json_integer(ctx->poke + 1));
    return PIPE_TASK_SUCCESS;
}

static const pipe_field sensor_fields[] = {
    {"pokes", PIPE_FIELD_INT, false, NULL},
    {"every", PIPE_FIELD_INT, false, NULL},
    {"until_flag", PIPE_FIELD_BOOL, false, NULL},
};
static const pipe_task_type t_sensor = {
    .name = "t_sensor", .fields = sensor_fields, .nfields = 3, .sensor = true, .run = sensor_run};

static pipe_task_result conc_run(pipe_task_ctx *ctx, floe_err *err) {
    const char *key = json_string_value(json_object_get(ctx->args, "key"));
    json_int_t ms = json_integer_value(json_object_get(ctx->args, "ms"));
    key_enter(key);
    usleep((useconds_t)(ms > 0 ? ms : 20) * 1000); /* work, so that overlaps would show */
    key_leave(key);
    return PIPE_TASK_SUCCESS;
}

static const pipe_field conc_fields[] = {
    {"key", PIPE_FIELD_STRING, true, NULL},
    {"ms", PIPE_FIELD_INT, false, NULL},
};
static const pipe_task_type t_conc = {.name = "t_conc", .fields = conc_fields, .nfields = 2, .run = conc_run};

void sched_test_types(void) {
    pipe_task_type_register(&t_noop);
    pipe_task_type_register(&t_fail);
    pipe_task_type_register(&t_block);
    pipe_task_type_register(&t_sensor);
    pipe_task_type_register(&t_conc);
}

/* ---------------------------------------------------------------- environment */

void sched_test_env_init(sched_test_env *e, const char *name) {
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/floe-unit-sched-%s-XXXXXX", name);
    cr_assert(mkdtemp(e->dir));
    snprintf(e->pipelines, sizeof e->pipelines, "%s/pipelines", e->dir);
    snprintf(e->db, sizeof e->db, "%s/pipelines.db", e->dir);
    snprintf(e->logs, sizeof e->logs, "%s/logs", e->dir);
    floe_err err = {0};
    cr_assert(fs_mkdir_p(e->pipelines, &err), "%s", err.msg);
    sched_test_types();
}

void sched_test_env_fini(sched_test_env *e) {
    sched_test_stop(e);
    if (e->dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
        cr_assert_eq(system(cmd), 0);
        e->dir[0] = 0;
    }
}

void sched_test_spec(sched_test_env *e, const char *name, const char *yaml) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s.yaml", e->pipelines, name);
    floe_err err = {0};
    cr_assert(fs_write_atomic(path, yaml, strlen(yaml), &err), "%s", err.msg);
}

pipe_sched *sched_test_start(sched_test_env *e, int executors, bool watch) {
    floe_err err = {0};
    pipe_sched_opts o = {.pipelines_dir = e->pipelines,
                         .db_path = e->db,
                         .log_dir = e->logs,
                         .executors = executors,
                         .no_fsync = true,
                         .heartbeat_ms = 200,
                         .no_watch = !watch};
    e->s = pipe_sched_start(&o, &err);
    cr_assert(e->s, "start: %s", err.msg);
    return e->s;
}

void sched_test_stop(sched_test_env *e) {
    if (e->s) pipe_sched_stop(e->s);
    e->s = NULL;
}

void sched_test_trigger(sched_test_env *e, const char *pipeline, const char *conf, char run_id[256]) {
    floe_err err = {0};
    json_t *c = conf ? json_loads(conf, 0, NULL) : NULL;
    cr_assert(!conf || c, "bad conf in the test: %s", conf);
    bool ok = pipe_trigger(e->s, pipeline, c, -1, run_id, 256, &err);
    json_decref(c);
    cr_assert(ok, "trigger %s: %s", pipeline, err.msg);
}

/* ---------------------------------------------------------------- waits */

static void pause_ms(int ms) { usleep((useconds_t)ms * 1000); }

void sched_test_wait(bool (*fn)(void *arg), void *arg, int timeout_ms, const char *what) {
    int64_t end = time_now_ms() + timeout_ms;
    while (!fn(arg)) {
        cr_assert(time_now_ms() < end, "timed out after %d ms waiting for %s", timeout_ms, what);
        pause_ms(2);
    }
}

static bool terminal_run(const char *st) { return !strcmp(st, "success") || !strcmp(st, "failed"); }

json_t *sched_test_wait_run(sched_test_env *e, const char *run_id, const char *state, int timeout_ms) {
    int64_t end = time_now_ms() + timeout_ms;
    for (;;) {
        floe_err err = {0};
        json_t *r = pipe_run_json(e->s, run_id, &err);
        const char *st = r ? json_string_value(json_object_get(r, "state")) : NULL;
        if (st && (state ? !strcmp(st, state) : terminal_run(st))) return r;
        if (st && state && terminal_run(st) && terminal_run(state)) {
            json_t *tis = pipe_tasks_json(e->s, run_id, &err);
            char *dump = json_dumps(tis, JSON_COMPACT);
            cr_assert_fail("run %s ended %s, expected %s; tasks: %s", run_id, st, state, dump);
        }
        if (time_now_ms() >= end) {
            json_t *tis = pipe_tasks_json(e->s, run_id, &err);
            char *dump = json_dumps(tis, JSON_COMPACT);
            cr_assert_fail("timed out waiting for run %s to be %s (it is %s); tasks: %s", run_id,
                           state ? state : "done", st ? st : err.msg, dump);
        }
        json_decref(r);
        pause_ms(2);
    }
}

json_t *sched_test_ti(sched_test_env *e, const char *run_id, const char *task_id) {
    floe_err err = {0};
    json_t *tis = pipe_tasks_json(e->s, run_id, &err);
    cr_assert(tis, "tasks of %s: %s", run_id, err.msg);
    json_t *found = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(tis, i, t) if (!strcmp(json_string_value(json_object_get(t, "task_id")), task_id)) found = t;
    cr_assert(found, "run %s has no task %s", run_id, task_id);
    json_incref(found);
    json_decref(tis);
    return found;
}

const char *sched_test_ti_state(sched_test_env *e, const char *run_id, const char *task_id, char out[32]) {
    json_t *t = sched_test_ti(e, run_id, task_id);
    snprintf(out, 32, "%s", json_string_value(json_object_get(t, "state")));
    json_decref(t);
    return out;
}

void sched_test_wait_ti(sched_test_env *e, const char *run_id, const char *task_id, const char *state, int timeout_ms) {
    int64_t end = time_now_ms() + timeout_ms;
    char st[32];
    while (strcmp(sched_test_ti_state(e, run_id, task_id, st), state)) {
        cr_assert(time_now_ms() < end, "timed out waiting for %s %s to be %s (it is %s)", run_id, task_id, state, st);
        pause_ms(2);
    }
}

void sched_test_iso(int64_t offset_ms, char out[32]) {
    int64_t t = time_now_ms() + offset_ms;
    t -= t % 60000;
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
