/*
 * test_tasks_util.c: the fixture of the task-type tests (test_tasks.h).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "base/time.h"
#include "format/text.h"
#include "test_tasks.h"

/* A stand-in for schedule.c's duration parser (written on another
 * branch): weak, so the real one wins once it is linked in. It reads what
 * the task tests give: "250ms", "2s", "5m", "1h", "1d", combinations, and
 * a bare number of seconds. */
__attribute__((weak)) bool pipe_duration_parse(const char *text, int64_t *ms) {
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = text;
    int64_t total = 0;
    if (!*p) return false;
    char *end;
    long long n = strtoll(p, &end, 10);
    if (end != p && !*end) {
        *ms = n * 1000;
        return n >= 0;
    }
    while (*p) {
        n = strtoll(p, &end, 10);
        if (end == p || n < 0) return false;
        p = end;
        size_t k = 0;
        while (k < sizeof units / sizeof units[0] && !(!strncmp(p, units[k].unit, strlen(units[k].unit)) &&
                                                       (strlen(units[k].unit) == 2 || p[1] < 'a' || p[1] > 'z')))
            k++;
        if (k == sizeof units / sizeof units[0]) return false;
        total += n * units[k].ms;
        p += strlen(units[k].unit);
    }
    *ms = total;
    return true;
}

static void log_line(void *arg, const char *line) {
    task_fixture *f = arg;
    pthread_mutex_lock(&f->log_mu);
    buf_puts(&f->log, line);
    buf_putc(&f->log, '\n');
    pthread_mutex_unlock(&f->log_mu);
}

void tf_open(task_fixture *f, const char *name) {
    memset(f, 0, sizeof *f);
    cat_test_env_open(&f->e, name);
    char url[400];
    snprintf(url, sizeof url, "sqlite:%s/q.db", f->e.dir);
    floe_err err = {0};
    f->q = queue_open(url, &(queue_opts){.no_fsync = true, .poll_ms = 50}, &err);
    cr_assert(f->q, "%s", err.msg);
    f->env = (pipe_env){.data_dir = f->e.dir,
                        .cat = f->e.cat,
                        .io = f->e.io,
                        .queue = f->q,
                        .crawl_queue = "crawl",
                        .warehouse = "s3://warehouse"};
    f->run_id = "run1";
    f->try_number = 1;
    f->interval_start_ms = TF_START_MS;
    f->interval_end_ms = TF_START_MS + 3600000;
    arena_init(&f->arena, 1 << 16);
    pthread_mutex_init(&f->log_mu, NULL);
}

static void tf_reset(task_fixture *f) {
    json_decref(f->args);
    json_decref(f->output);
    f->args = f->output = NULL;
    arena_free(&f->arena);
    arena_init(&f->arena, 1 << 16);
    buf_reset(&f->log);
}

void tf_close(task_fixture *f) {
    tf_reset(f);
    arena_free(&f->arena);
    buf_free(&f->log);
    pthread_mutex_destroy(&f->log_mu);
    queue_close(f->q);
    cat_test_env_close(&f->e);
}

pipe_task_result tf_run(task_fixture *f, const pipe_task_type *t, const char *args_fmt, ...) {
    tf_reset(f);
    va_list ap;
    va_start(ap, args_fmt);
    char *text = arena_vsprintf(&f->arena, args_fmt, ap);
    va_end(ap);
    json_error_t je;
    f->args = json_loads(text, 0, &je);
    cr_assert(f->args, "test args %s: %s", text, je.text);
    f->output = json_object();
    memset(&f->err, 0, sizeof f->err);
    int64_t now = time_now_ms();
    f->ctx = (pipe_task_ctx){.env = &f->env,
                             .pipeline = "pipe",
                             .run_id = f->run_id,
                             .task_id = "t1",
                             .try_number = f->try_number,
                             .poke = f->poke,
                             .interval_start_ms = f->interval_start_ms,
                             .interval_end_ms = f->interval_end_ms,
                             .logical_ms = f->interval_start_ms,
                             .started_ms = f->started_ms ? f->started_ms : now,
                             .deadline_ms = f->deadline_ms,
                             .args = f->args,
                             .params = NULL,
                             .output = f->output,
                             .arena = &f->arena,
                             .cancel = &f->cancel,
                             .log_fn = log_line,
                             .log_arg = f};
    return t->run(&f->ctx, &f->err);
}

const char *tf_log(task_fixture *f) {
    pthread_mutex_lock(&f->log_mu);
    const char *s = arena_strndup(&f->arena, f->log.data ? f->log.data : "", f->log.len);
    pthread_mutex_unlock(&f->log_mu);
    return s;
}

json_t *tf_scan(task_fixture *f, const char *ident, const char *filter) {
    arena_t a;
    arena_init(&a, 1 << 14);
    const char *dot = strrchr(ident, '.');
    char *ns = arena_strndup(&a, ident, (size_t)(dot - ident));
    ice_table t;
    floe_err err = {0};
    cr_assert(ice_table_load(&f->e.ice, ns, dot + 1, &a, &t, &err), "%s", err.msg);
    json_t *rows = json_array();
    if (t.meta.current_snapshot_id >= 0) {
        ice_scan_opts so = {.snapshot_id = -1, .as_of_ms = -1, .filter = filter};
        ice_scan *s = ice_scan_new(&t, &so, &err);
        cr_assert(s, "%s", err.msg);
        const fmt_schema_t *sc = ice_scan_schema(s);
        fmt_batch_t *b;
        buf_t v = {0};
        while (ice_scan_next(s, &b, &err))
            for (uint32_t r = 0; r < b->nrows; r++) {
                json_t *row = json_object();
                for (uint32_t k = 0; k < b->ncols; k++) {
                    buf_reset(&v);
                    fmt_value_json(&v, &b->cols[k], r);
                    json_t *j = json_loadb(v.data, v.len, JSON_DECODE_ANY, NULL);
                    cr_assert(j, "value %.*s", (int)v.len, v.data);
                    json_object_set_new(row, sc->root.children[k].name, j);
                }
                json_array_append_new(rows, row);
            }
        cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
        buf_free(&v);
        ice_scan_free(s);
    }
    arena_free(&a);
    return rows;
}

int64_t tf_count(task_fixture *f, const char *ident, const char *filter) {
    json_t *rows = tf_scan(f, ident, filter);
    int64_t n = (int64_t)json_array_size(rows);
    json_decref(rows);
    return n;
}

int64_t tf_snapshot(task_fixture *f, const char *ident) {
    arena_t a;
    arena_init(&a, 1 << 14);
    const char *dot = strrchr(ident, '.');
    char *ns = arena_strndup(&a, ident, (size_t)(dot - ident));
    ice_table t;
    floe_err err = {0};
    cr_assert(ice_table_load(&f->e.ice, ns, dot + 1, &a, &t, &err), "%s", err.msg);
    int64_t id = t.meta.current_snapshot_id;
    arena_free(&a);
    return id;
}

void tf_put(task_fixture *f, const char *uri, const char *text, bool zstd) {
    size_t n = strlen(text);
    floe_err err = {0};
    if (!zstd) {
        cr_assert(fileio_write_all(f->e.io, uri, text, n, false, &err), "%s", err.msg);
        return;
    }
    size_t cap = ZSTD_compressBound(n);
    void *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, text, n, 3);
    cr_assert(!ZSTD_isError(zn));
    cr_assert(fileio_write_all(f->e.io, uri, z, zn, false, &err), "%s", err.msg);
    free(z);
}
