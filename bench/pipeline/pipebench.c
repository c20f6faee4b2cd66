/*
 * pipebench.c: the driver of bench/pipeline. Everything runs in-process,
 * linked with the release library objects, around a task type of its own,
 * bench_noop, whose run() records time_mono_ns() and returns success.
 *
 *   pipebench latency DIR N [--http] [--no-fsync] [--log-dir D]
 *       a scheduler on DIR with one pipeline of one bench_noop task; N
 *       times (after 20 not counted): trigger a run, and time from just
 *       before the trigger to the task's run() being called; then wait
 *       until the run's success is committed before the next. The trigger
 *       is pipe_trigger, or with --http POST /api/v1/pipelines/one/runs
 *       through the console API (pipe_api_routes on an http_server in this
 *       process, a bearer token, one keep-alive libcurl connection). Also
 *       times the trigger's return (the 201 with --http).
 *   pipebench throughput DIR TASKS RUNS [--chain] [--live] [--executors E] [--no-fsync] [--log-dir D]
 *       one pipeline of TASKS bench_noop tasks, independent or (--chain) a
 *       chain t0 -> t1 -> ...; RUNS runs triggered while the pipeline is
 *       paused, so they wait queued, then the time from the unpause until
 *       every task has succeeded; then checks every run succeeded. With
 *       --live the pipeline is not paused: the runs are triggered one
 *       after another as fast as pipe_trigger returns while the first ones
 *       run, and the clock starts at the first trigger.
 *       --log-dir puts the attempt logs there instead of DIR/logs (tmpfs,
 *       to see the scheduler without the disk's cost of creating them).
 *   pipebench schedules N REPS
 *       N schedules (a mix of cron, presets and intervals) parsed, then
 *       pipe_next_interval over all N, REPS times: as at a scheduler's first
 *       look (no interval run yet, catchup off, start_date 2025-01-01), and
 *       in the steady state (the latest interval already run).
 *   pipebench startup DIR N REPS [--no-fsync]
 *       N spec files (the same mix of schedules, start_date after tomorrow
 *       so that no run is due) in DIR/pipelines; the time to read and parse
 *       them alone; then REPS times: pipe_sched_start on a new pipelines.db,
 *       stop, pipe_sched_start again on the same db, and pipe_reload with
 *       nothing changed.
 *   pipebench fsfloor DIR N
 *       N times what each try does to the disk before its task runs: a
 *       directory and an empty log file in it; the cost per pair.
 *
 * Each mode prints one JSON object on stdout; times are ms.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "net/http.h"
#include "pipeline/pipeline.h"

static void die(const char *what, const char *detail) {
    fprintf(stderr, "pipebench: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

static double ms_since(uint64_t t0) { return (double)(time_mono_ns() - t0) / 1e6; }

/* ---------------------------------------------------------------- the no-op task */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static uint64_t g_starts, g_last_start_ns;

static pipe_task_result noop_run(pipe_task_ctx *ctx, floe_err *err) {
    uint64_t t = time_mono_ns();
    pthread_mutex_lock(&g_mu);
    g_starts++;
    g_last_start_ns = t;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return PIPE_TASK_SUCCESS;
}

static const pipe_task_type t_noop = {.name = "bench_noop", .run = noop_run};

static uint64_t starts_now(void) {
    pthread_mutex_lock(&g_mu);
    uint64_t n = g_starts;
    pthread_mutex_unlock(&g_mu);
    return n;
}

/* Waits until more than `before` tasks have started; the last start's time. */
static uint64_t wait_start(uint64_t before) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&g_mu);
    while (g_starts <= before)
        if (pthread_cond_timedwait(&g_cv, &g_mu, &dl) != 0) die("wait for the task to start", "30 s passed");
    uint64_t t = g_last_start_ns;
    pthread_mutex_unlock(&g_mu);
    return t;
}

/* ---------------------------------------------------------------- helpers */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank. v sorted. */
static double pct(const double *v, size_t n, double q) {
    if (!n) return 0;
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

static json_t *dist(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "p50", pct(v, n, 0.5), "p90", pct(v, n, 0.9), "p99", pct(v, n, 0.99),
                     "min", n ? v[0] : 0, "max", n ? v[n - 1] : 0, "mean", n ? sum / (double)n : 0);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) die("write", path);
}

/* --log-dir: attempt logs elsewhere (tmpfs, to take the disk's inode
 * allocation out of the figure); NULL: DIR/logs. */
static const char *g_log_dir;

typedef struct bench_sched {
    char dir[2048], pipes[2100], db[2100], logs[2100];
    pipe_env env;
    pipe_sched *s;
} bench_sched;

static void bench_paths(bench_sched *b, const char *dir) {
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    snprintf(b->pipes, sizeof b->pipes, "%s/pipelines", dir);
    snprintf(b->db, sizeof b->db, "%s/pipelines.db", dir);
    if (g_log_dir)
        snprintf(b->logs, sizeof b->logs, "%s", g_log_dir);
    else
        snprintf(b->logs, sizeof b->logs, "%s/logs", dir);
    floe_err err = {0};
    if (!fs_mkdir_p(b->pipes, &err)) die("mkdir", err.msg);
    b->env = (pipe_env){.data_dir = b->dir, .crawl_queue = "crawl", .warehouse = "s3://warehouse"};
}

static void bench_start(bench_sched *b, int executors, bool no_fsync, bool watch) {
    pipe_sched_opts o = {.pipelines_dir = b->pipes,
                         .db_path = b->db,
                         .log_dir = b->logs,
                         .env = &b->env,
                         .executors = executors,
                         .no_fsync = no_fsync,
                         .no_watch = !watch};
    floe_err err = {0};
    b->s = pipe_sched_start(&o, &err);
    if (!b->s) die("start the scheduler", err.msg);
}

static uint64_t succeeded(pipe_sched *s) {
    pipe_sched_stats st;
    pipe_sched_stats_get(s, &st);
    return st.tasks_succeeded;
}

/* Polls until the run's state, as committed to pipelines.db, is success. */
static void wait_run_success(pipe_sched *s, const char *run_id) {
    for (int i = 0; i < 300000; i++) {
        floe_err err = {0};
        json_t *r = pipe_run_json(s, run_id, &err);
        if (!r) die("read the run", err.msg);
        const char *st = json_string_value(json_object_get(r, "state"));
        bool ok = st && !strcmp(st, "success"), failed = st && !strcmp(st, "failed");
        json_decref(r);
        if (ok) return;
        if (failed) die("run failed", run_id);
        usleep(100);
    }
    die("wait for the run", run_id);
}

/* ---------------------------------------------------------------- HTTP */

typedef struct client {
    CURL *h;
    char url[256];
    char auth[600];
    buf_t body;
    long status;
} client;

static size_t on_body(char *p, size_t sz, size_t n, void *arg) {
    buf_append(&((client *)arg)->body, p, sz * n);
    return sz * n;
}

static long post(client *cl, const char *path, const char *body, const char *ctype) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", cl->url, path);
    cl->body.len = 0;
    struct curl_slist *hs = NULL;
    if (cl->auth[0]) hs = curl_slist_append(hs, cl->auth);
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    hs = curl_slist_append(hs, ct);
    hs = curl_slist_append(hs, "Expect:");
    curl_easy_setopt(cl->h, CURLOPT_URL, url);
    curl_easy_setopt(cl->h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(cl->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(cl->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(cl->h);
    curl_slist_free_all(hs);
    buf_putc(&cl->body, 0);
    cl->body.len--;
    if (rc != CURLE_OK) die(url, curl_easy_strerror(rc));
    curl_easy_getinfo(cl->h, CURLINFO_RESPONSE_CODE, &cl->status);
    return cl->status;
}

static void client_init(client *cl, int port) {
    memset(cl, 0, sizeof *cl);
    cl->h = curl_easy_init();
    snprintf(cl->url, sizeof cl->url, "http://127.0.0.1:%d", port);
    curl_easy_setopt(cl->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cl->h, CURLOPT_WRITEDATA, cl);
    curl_easy_setopt(cl->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(cl->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cl->h, CURLOPT_PROXY, "");
    if (post(cl, "/api/v1/oauth/tokens", "grant_type=client_credentials&client_id=benchkey&client_secret=benchsecret",
             "application/x-www-form-urlencoded") != 200)
        die("token", cl->body.data);
    json_t *j = json_loads(cl->body.data, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "access_token"));
    if (!t) die("token: no access_token in", cl->body.data);
    snprintf(cl->auth, sizeof cl->auth, "Authorization: Bearer %s", t);
    json_decref(j);
}

/* ---------------------------------------------------------------- latency */

static int mode_latency(int argc, char **argv) {
    if (argc < 2) die("usage", "latency DIR N [--http] [--no-fsync] [--log-dir D]");
    bool http = false, no_fsync = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--http"))
            http = true;
        else if (!strcmp(argv[i], "--log-dir") && i + 1 < argc)
            g_log_dir = argv[++i];
        else if (!strcmp(argv[i], "--no-fsync"))
            no_fsync = true;
        else
            die("unknown flag", argv[i]);
    }
    int n = atoi(argv[1]), warm = 20;
    if (n <= 0) die("N must be a positive count", argv[1]);
    bench_sched b;
    bench_paths(&b, argv[0]);
    char path[2200];
    snprintf(path, sizeof path, "%s/one.yaml", b.pipes);
    write_file(path, "description: one no-op task\ntasks:\n  t:\n    type: bench_noop\n");
    bench_start(&b, 16, no_fsync, false);

    floe_config cfg;
    pipe_api *api = NULL;
    http_server_t *srv = NULL;
    client cl = {0};
    if (http) {
        config_defaults(&cfg);
        free(cfg.access_key);
        free(cfg.secret_key);
        cfg.access_key = strdup("benchkey");
        cfg.secret_key = strdup("benchsecret");
        api = pipe_api_new(b.s, &cfg, NULL, NULL);
        size_t nroutes;
        const http_route *routes = pipe_api_routes(api, &nroutes);
        http_server_opts ho = {.name = "console", .bind = "127.0.0.1", .port = 0, .routes = routes, .nroutes = nroutes};
        floe_err err = {0};
        srv = http_server_start(&ho, &err);
        if (!srv) die("start the console port", err.msg);
        client_init(&cl, http_server_port(srv));
    }

    double *lat = calloc((size_t)n, sizeof *lat), *ret = calloc((size_t)n, sizeof *ret);
    uint64_t done = 0, t_all = time_mono_ns();
    for (int i = 0; i < warm + n; i++) {
        char run_id[256];
        uint64_t before = starts_now();
        uint64_t t0 = time_mono_ns(), t1;
        if (http) {
            if (post(&cl, "/api/v1/pipelines/one/runs", "{}", "application/json") != 201)
                die("trigger over HTTP", cl.body.data);
            t1 = time_mono_ns();
            json_t *j = json_loads(cl.body.data, 0, NULL);
            const char *id = json_string_value(json_object_get(j, "run_id"));
            if (!id) die("no run_id in", cl.body.data);
            snprintf(run_id, sizeof run_id, "%s", id);
            json_decref(j);
        } else {
            floe_err err = {0};
            if (!pipe_trigger(b.s, "one", NULL, -1, run_id, sizeof run_id, &err)) die("trigger", err.msg);
            t1 = time_mono_ns();
        }
        uint64_t started = wait_start(before);
        /* let the run end (its success committed) before the next trigger */
        done++;
        while (succeeded(b.s) < done) usleep(50);
        wait_run_success(b.s, run_id);
        if (i < warm) continue;
        lat[i - warm] = (double)(started - t0) / 1e6;
        ret[i - warm] = (double)(t1 - t0) / 1e6;
    }
    double total_s = ms_since(t_all) / 1e3;
    pipe_sched_stats st;
    pipe_sched_stats_get(b.s, &st);

    json_t *out = json_pack("{s:s,s:s,s:b,s:i,s:o,s:o,s:f,s:I}", "mode", "latency", "via", http ? "http" : "inproc",
                            "fsync", !no_fsync, "n", n, "start_ms", dist(lat, (size_t)n), "return_ms",
                            dist(ret, (size_t)n), "seconds", total_s, "loop_wakeups", (json_int_t)st.loop_wakeups);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    if (http) {
        curl_easy_cleanup(cl.h);
        buf_free(&cl.body);
        http_server_stop(srv);
        pipe_api_free(api);
    }
    pipe_sched_stop(b.s);
    if (http) config_free(&cfg);
    free(lat);
    free(ret);
    return 0;
}

/* ---------------------------------------------------------------- throughput */

static int mode_throughput(int argc, char **argv) {
    if (argc < 3)
        die("usage", "throughput DIR TASKS RUNS [--chain] [--live] [--executors E] [--no-fsync] [--log-dir D]");
    bool chain = false, no_fsync = false, live = false;
    int executors = 16;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--chain"))
            chain = true;
        else if (!strcmp(argv[i], "--no-fsync"))
            no_fsync = true;
        else if (!strcmp(argv[i], "--live"))
            live = true;
        else if (!strcmp(argv[i], "--log-dir") && i + 1 < argc)
            g_log_dir = argv[++i];
        else if (!strcmp(argv[i], "--executors") && i + 1 < argc)
            executors = atoi(argv[++i]);
        else
            die("unknown flag", argv[i]);
    }
    int ntasks = atoi(argv[1]), nruns = atoi(argv[2]);
    if (ntasks <= 0 || nruns <= 0) die("TASKS and RUNS must be positive counts", argv[1]);
    bench_sched b;
    bench_paths(&b, argv[0]);
    buf_t spec = BUF_INIT;
    buf_printf(&spec, "description: %d no-op tasks%s\ntasks:\n", ntasks, chain ? " in a chain" : "");
    for (int i = 0; i < ntasks; i++) {
        buf_printf(&spec, "  t%d:\n    type: bench_noop\n", i);
        if (chain && i > 0) buf_printf(&spec, "    upstream: t%d\n", i - 1);
    }
    buf_putc(&spec, 0);
    char path[2200];
    snprintf(path, sizeof path, "%s/p.yaml", b.pipes);
    write_file(path, spec.data);
    buf_free(&spec);
    bench_start(&b, executors, no_fsync, false);

    char(*ids)[256] = calloc((size_t)nruns, sizeof *ids);
    uint64_t total = (uint64_t)ntasks * (uint64_t)nruns;
    floe_err err = {0};
    uint64_t t0 = time_mono_ns();
    if (!live && !pipe_set_paused(b.s, "p", true, &err)) die("pause", err.msg);
    for (int r = 0; r < nruns; r++)
        if (!pipe_trigger(b.s, "p", NULL, -1, ids[r], sizeof ids[r], &err)) die("trigger", err.msg);
    double trigger_ms = ms_since(t0);
    if (!live) { /* the runs wait, queued; the clock starts at the unpause */
        if (starts_now() != 0) die("throughput", "a task started while the pipeline was paused");
        t0 = time_mono_ns();
        if (!pipe_set_paused(b.s, "p", false, &err)) die("unpause", err.msg);
    }
    for (long i = 0; succeeded(b.s) < total; i++) {
        if (i > 120L * 5000) die("throughput", "the tasks did not finish in 2 minutes");
        usleep(200);
    }
    double ms = ms_since(t0);
    for (int r = 0; r < nruns; r++) wait_run_success(b.s, ids[r]);
    double all_ms = ms_since(t0);
    pipe_sched_stats st;
    pipe_sched_stats_get(b.s, &st);
    json_t *out =
        json_pack("{s:s,s:s,s:b,s:b,s:i,s:i,s:i,s:I,s:f,s:f,s:f,s:f,s:I}", "mode", "throughput", "shape",
                  chain ? "chain" : "wide", "live", live, "fsync", !no_fsync, "tasks", ntasks, "runs", nruns,
                  "executors", executors, "total", (json_int_t)total, "ms", ms, "per_sec", (double)total / (ms / 1e3),
                  "trigger_ms", trigger_ms, "committed_ms", all_ms, "loop_wakeups", (json_int_t)st.loop_wakeups);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    pipe_sched_stop(b.s);
    free(ids);
    return 0;
}

/* ---------------------------------------------------------------- schedules */

/* The i-th schedule of the mix: 12 of 20 cron expressions, 4 presets, 4
 * intervals; *kind is 0 cron, 1 preset, 2 interval. */
static void sched_text(int i, char *out, size_t cap, int *kind) {
    int k = i % 20, v = i / 20;
    *kind = k < 12 ? 0 : k < 16 ? 1 : 2;
    switch (k) {
    case 0: snprintf(out, cap, "*/%d * * * *", 1 + v % 30); break;
    case 1: snprintf(out, cap, "%d * * * *", v % 60); break;
    case 2: snprintf(out, cap, "%d %d * * *", v % 60, v % 24); break;
    case 3: snprintf(out, cap, "%d %d * * 1-5", v % 60, v % 24); break;
    case 4: snprintf(out, cap, "0 */%d * * *", 1 + v % 12); break;
    case 5: snprintf(out, cap, "15,45 8-18 * * MON-FRI"); break;
    case 6: snprintf(out, cap, "%d %d 1 * *", v % 60, v % 24); break;
    case 7: snprintf(out, cap, "0 6 1,15 * *"); break;
    case 8: snprintf(out, cap, "30 2 * JAN,JUL *"); break;
    case 9: snprintf(out, cap, "0 12 * * SUN"); break;
    case 10: snprintf(out, cap, "%d-%d/5 9-17 * * *", v % 10, 50 + v % 10); break;
    case 11: snprintf(out, cap, v % 50 == 0 ? "0 0 29 2 *" : "0 0 13 * 5"); break; /* leap day; 13th or Friday */
    case 12: snprintf(out, cap, "@hourly"); break;
    case 13: snprintf(out, cap, "@daily"); break;
    case 14: snprintf(out, cap, "@weekly"); break;
    case 15: snprintf(out, cap, "@monthly"); break;
    case 16: snprintf(out, cap, "every %dm", 1 + v % 60); break;
    case 17: snprintf(out, cap, "%ds", 30 + v % 600); break;
    case 18: snprintf(out, cap, "every 1h30m"); break;
    default: snprintf(out, cap, "every %dh", 1 + v % 48); break;
    }
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static int mode_schedules(int argc, char **argv) {
    if (argc < 2) die("usage", "schedules N REPS");
    int n = atoi(argv[0]), reps = atoi(argv[1]);
    if (n <= 0 || reps <= 0) die("N and REPS must be positive counts", argv[0]);
    pipe_schedule *s = calloc((size_t)n, sizeof *s);
    int kinds[3] = {0};
    char text[128];
    uint64_t t0 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        int kind;
        sched_text(i, text, sizeof text, &kind);
        kinds[kind]++;
        floe_err err = {0};
        if (!pipe_schedule_parse(text, &s[i], &err)) die(text, err.msg);
    }
    double parse_ms = ms_since(t0);
    int64_t start = 0, now = time_now_ms();
    if (!pipe_time_parse("2025-01-01", &start)) die("time", "2025-01-01");
    int64_t *last = calloc((size_t)n, sizeof *last);
    double *first_ms = calloc((size_t)reps, sizeof *first_ms), *steady_ms = calloc((size_t)reps, sizeof *steady_ms);
    int due = 0, due_steady = 0;
    int64_t sum = 0;
    for (int r = 0; r < reps; r++) {
        due = due_steady = 0;
        t0 = time_mono_ns();
        for (int i = 0; i < n; i++) {
            int64_t a = 0, e = 0, next = 0;
            bool d = pipe_next_interval(&s[i], start, INT64_MAX, false, INT64_MIN, now, &a, &e, &next);
            due += d;
            last[i] = d ? e : INT64_MIN;
            sum += d ? e : next;
        }
        first_ms[r] = ms_since(t0);
        t0 = time_mono_ns();
        for (int i = 0; i < n; i++) {
            int64_t a = 0, e = 0, next = 0;
            bool d = pipe_next_interval(&s[i], start, INT64_MAX, false, last[i], now, &a, &e, &next);
            due_steady += d;
            sum += d ? e : next;
        }
        steady_ms[r] = ms_since(t0);
    }
    double fb = first_ms[0], sb = steady_ms[0];
    for (int r = 1; r < reps; r++) {
        if (first_ms[r] < fb) fb = first_ms[r];
        if (steady_ms[r] < sb) sb = steady_ms[r];
    }
    json_t *out =
        json_pack("{s:s,s:i,s:{s:i,s:i,s:i},s:i,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:I}", "mode", "schedules", "n", n, "mix",
                  "cron", kinds[0], "preset", kinds[1], "interval", kinds[2], "reps", reps, "parse_ms", parse_ms,
                  "first_best_ms", fb, "first_median_ms", median(first_ms, (size_t)reps), "steady_best_ms", sb,
                  "steady_median_ms", median(steady_ms, (size_t)reps), "due_first", due, "due_steady", due_steady,
                  "checksum", (json_int_t)(sum & 0xffffff));
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    free(s);
    free(last);
    free(first_ms);
    free(steady_ms);
    return 0;
}

/* ---------------------------------------------------------------- startup */

static int mode_startup(int argc, char **argv) {
    if (argc < 3) die("usage", "startup DIR N REPS [--no-fsync]");
    bool no_fsync = argc > 3 && !strcmp(argv[3], "--no-fsync");
    int n = atoi(argv[1]), reps = atoi(argv[2]);
    if (n <= 0 || reps <= 0) die("N and REPS must be positive counts", argv[1]);
    bench_sched b;
    bench_paths(&b, argv[0]);
    /* start_date: the day after tomorrow, so that no interval has ended yet
     * and the start makes no runs, only arms each pipeline's first check */
    int64_t day = 86400000, future = (time_now_ms() / day + 2) * day;
    time_t ft = (time_t)(future / 1000);
    struct tm tm;
    gmtime_r(&ft, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    uint64_t t0 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        char text[128], path[2300], spec[512];
        int kind;
        sched_text(i, text, sizeof text, &kind);
        snprintf(path, sizeof path, "%s/p%05d.yaml", b.pipes, i);
        snprintf(spec, sizeof spec,
                 "description: pipeline %d of the start-up benchmark\nschedule: \"%s\"\nstart_date: %s\ntasks:\n"
                 "  t:\n    type: bench_noop\n",
                 i, text, date);
        write_file(path, spec);
    }
    double write_ms = ms_since(t0);

    /* reading and parsing alone, as the scan does it */
    t0 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        char path[2300];
        snprintf(path, sizeof path, "%s/p%05d.yaml", b.pipes, i);
        char *data = NULL;
        size_t len = 0;
        floe_err err = {0};
        if (!fs_read_all(path, &data, &len, &err)) die("read", err.msg);
        pipe_spec *sp = pipe_spec_load_str(data, len, path, &err);
        if (!sp) die("parse", err.msg);
        pipe_spec_free(sp);
        free(data);
    }
    double parse_ms = ms_since(t0);

    double *cold = calloc((size_t)reps, sizeof *cold), *warm = calloc((size_t)reps, sizeof *warm),
           *reload = calloc((size_t)reps, sizeof *reload), *stop = calloc((size_t)reps, sizeof *stop);
    for (int r = 0; r < reps; r++) {
        char p[2200];
        unlink(b.db);
        snprintf(p, sizeof p, "%s-wal", b.db);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", b.db);
        unlink(p);
        t0 = time_mono_ns();
        bench_start(&b, 16, no_fsync, true);
        cold[r] = ms_since(t0);
        pipe_sched_stats st;
        pipe_sched_stats_get(b.s, &st);
        if (st.pipelines != n || st.specs_with_errors) die("start-up", "not every spec loaded");
        usleep(200000);
        t0 = time_mono_ns();
        pipe_sched_stop(b.s);
        stop[r] = ms_since(t0);

        t0 = time_mono_ns();
        bench_start(&b, 16, no_fsync, true);
        warm[r] = ms_since(t0);
        usleep(200000); /* the loop's first wake-up (10,000 pipelines to pump) is over */
        t0 = time_mono_ns();
        pipe_reload(b.s);
        reload[r] = ms_since(t0);
        pipe_sched_stats_get(b.s, &st);
        if (st.pipelines != n || st.runs_created) die("reload", "pipelines lost, or runs made");
        pipe_sched_stop(b.s);
    }
    double cm = median(cold, (size_t)reps), wm = median(warm, (size_t)reps), rm = median(reload, (size_t)reps),
           sm = median(stop, (size_t)reps); /* sorted now: [0] is the best */
    json_t *out =
        json_pack("{s:s,s:i,s:b,s:i,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "mode", "startup", "n", n, "fsync",
                  !no_fsync, "reps", reps, "start_date", date, "write_files_ms", write_ms, "read_parse_ms", parse_ms,
                  "cold_median_ms", cm, "cold_best_ms", cold[0], "warm_median_ms", wm, "warm_best_ms", warm[0],
                  "reload_median_ms", rm, "reload_best_ms", reload[0], "stop_median_ms", sm);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    free(cold);
    free(warm);
    free(reload);
    free(stop);
    return 0;
}

/* ---------------------------------------------------------------- the disk's floor */

/* What every try costs the file system before any scheduling: its log
 * directory and its log file (LOG_DIR/PIPELINE/RUN_ID/TASK/TRY.log). */
static int mode_fsfloor(int argc, char **argv) {
    if (argc < 2) die("usage", "fsfloor DIR N");
    int n = atoi(argv[1]);
    if (n <= 0) die("N must be a positive count", argv[1]);
    floe_err err = {0};
    if (!fs_mkdir_p(argv[0], &err)) die("mkdir", err.msg);
    uint64_t t0 = time_mono_ns();
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/t%d", argv[0], i);
        if (mkdir(path, 0755) != 0) die("mkdir", path);
        snprintf(path, sizeof path, "%s/t%d/1.log", argv[0], i);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) die("create", path);
        close(fd);
    }
    double ms = ms_since(t0);
    json_t *out = json_pack("{s:s,s:i,s:f,s:f}", "mode", "fsfloor", "n", n, "ms", ms, "us_per_task", ms * 1e3 / n);
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr,
                "usage: pipebench latency|throughput|schedules|startup|fsfloor ... (see bench/pipeline/README.md)\n");
        return 2;
    }
    log_setup(LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pipe_task_type_register(&t_noop);
    const char *m = argv[1];
    int rc = !strcmp(m, "latency")      ? mode_latency(argc - 2, argv + 2)
             : !strcmp(m, "throughput") ? mode_throughput(argc - 2, argv + 2)
             : !strcmp(m, "schedules")  ? mode_schedules(argc - 2, argv + 2)
             : !strcmp(m, "startup")    ? mode_startup(argc - 2, argv + 2)
             : !strcmp(m, "fsfloor")    ? mode_fsfloor(argc - 2, argv + 2)
                                        : (die("unknown mode", m), 2);
    curl_global_cleanup();
    return rc;
}
