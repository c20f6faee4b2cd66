/*
 * serve.c: `floe serve`: loads settings, opens the store, the catalog and the
 * job queue, starts the S3 API, the catalog port (Iceberg REST and Nessie),
 * the pipeline scheduler with its console port (the pipeline API), and the
 * embedded crawler workers, and runs until SIGINT or SIGTERM.
 */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "crawler/crawler.h"
#include "cli/cli.h"
#include "net/http.h"
#include "pipeline/pipeline.h"
#include "queue/queue.h"
#include "store/fileio.h"
#include "store/s3/s3.h"
#include "store/store.h"

static volatile sig_atomic_t stop_requested;

static void serve_crawler_metrics(void *arg, buf_t *out) { crawl_worker_metrics(arg, out); }

static void on_signal(int sig) { stop_requested = sig; }


int cli_serve(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fprintf(stderr, "usage: floe serve [flags]\n\n");
            config_usage();
            return 0;
        }
    }
    uint64_t t0 = time_mono_ns();
    /* glibc trims per-thread heaps on free() with madvise, whose TLB
     * shootdowns cost 7% of a small GET. Memory goes back to the kernel
     * instead when the store has been idle for a second (malloc_trim). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    /* One malloc arena per CPU, not glibc's eight: serve runs some seventy
     * threads (HTTP pools, executors, the scheduler), and each arena keeps
     * its own freed memory, so a burst of work spread over sixteen arenas
     * stays resident sixteen times. On the demo this is a third of serve's
     * peak anonymous memory. MALLOC_ARENA_MAX in the environment wins. */
    if (!getenv("MALLOC_ARENA_MAX")) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        mallopt(M_ARENA_MAX, ncpu < 1 ? 1 : ncpu > 64 ? 64 : (int)ncpu);
    }
    floe_config cfg;
    floe_err err = {0};
    if (!config_load(&cfg, argc, argv, &err)) {
        fprintf(stderr, "floe: %s\n", err.msg);
        config_free(&cfg);
        return 2;
    }
    log_setup(cfg.log_level, cfg.log_json);
    if (cfg.default_credentials)
        log_warn("serve", "using the built-in credentials floeadmin/floeadmin; set FLOE_ACCESS_KEY and "
                          "FLOE_SECRET_KEY for anything but local trials");
    if (!cfg.fsync) log_warn("serve", "fsync is off: acknowledged writes can be lost on a crash");

    int rc = 1;
    store_t *store = NULL;
    s3_server_t *s3 = NULL;
    http_server_t *console = NULL;
    cat_server_t *catalog = NULL;
    cat_t *cat = NULL;
    fileio_t *io = NULL;
    queue_t *queue = NULL;
    pipe_sched *sched = NULL;
    pipe_api *api = NULL;
    crawl_t *crawl = NULL;
    crawl_worker *crawler = NULL;
    char *db_path = NULL, *log_dir = NULL;
    if (!fs_mkdir_p(cfg.data_dir, &err)) goto fail;
    store = store_open(cfg.data_dir, cfg.fsync, &err);
    if (!store) goto fail;
    if (cfg.inline_max > 1024 * 1024) {
        floe_err_set(&err, FLOE_EINVAL, "inline_max is %llu; expected at most 1M (larger objects belong in files)",
                     (unsigned long long)cfg.inline_max);
        goto fail;
    }
    store_set_inline_max(store, (size_t)cfg.inline_max);
    /* the catalog opens before the S3 port answers /_floe/health, so a
     * healthy server's catalog port is up within moments (on PostgreSQL,
     * opening takes a round trip or several) */
    io = fileio_store(store);
    cat_opts co = {
        .dir = cfg.data_dir, .url = cfg.catalog_url, .io = io, .warehouse = "s3://warehouse", .fsync = cfg.fsync};
    cat = cat_open(&co, &err);
    if (!cat) goto fail;
    s3 = s3_server_start(&cfg, store, &err);
    if (!s3) goto fail;
    char s3_endpoint[300];
    snprintf(s3_endpoint, sizeof s3_endpoint, "http://%s:%d", cfg.bind, s3_server_port(s3));
    cat_server_opts cso = {
        .cat = cat, .cfg = &cfg, .port = cfg.catalog_port, .s3_endpoint = s3_endpoint, .store = store};
    catalog = cat_server_start(&cso, &err);
    if (!catalog) goto fail;
    floe_err be;
    if (!store_bucket_create(store, "warehouse", false, &be) && be.code != FLOE_EEXIST) {
        err = be;
        goto fail;
    }
    queue_opts qo = {.data_dir = cfg.data_dir, .no_fsync = !cfg.fsync};
    queue = queue_open(cfg.queue_url, &qo, &err);
    if (!queue) goto fail;
    pipe_env penv = {.data_dir = cfg.data_dir,
                     .cat = cat,
                     .io = io,
                     .queue = queue,
                     .crawl_queue = "crawl",
                     .warehouse = "s3://warehouse"};
    if (asprintf(&db_path, "%s/pipelines.db", cfg.data_dir) < 0 || asprintf(&log_dir, "%s/logs", cfg.data_dir) < 0) {
        floe_err_set(&err, FLOE_ENOMEM, "out of memory");
        goto fail;
    }
    pipe_sched_opts so = {.pipelines_dir = cfg.pipelines_dir,
                          .db_path = db_path,
                          .log_dir = log_dir,
                          .env = &penv,
                          .executors = cfg.executors,
                          .no_fsync = !cfg.fsync};
    sched = pipe_sched_start(&so, &err);
    char standby[600] = "";
    if (!sched && err.code == FLOE_EEXIST) {
        /* another floe serve on this data dir (a second catalog node, say)
         * runs the pipelines; this one serves S3, the catalog and crawls */
        log_warn("serve", "no pipeline scheduler here: %s", err.msg);
        snprintf(standby, sizeof standby,
                 "the pipeline scheduler of this data directory runs in another floe serve (%s); use that server's "
                 "console port",
                 err.msg);
        memset(&err, 0, sizeof err);
    } else if (!sched) {
        goto fail;
    }
    /* the embedded crawler: crawler_config, or ./crawler.yaml when it
     * exists; crawler_workers threads (default 2; 0: none, for a setup
     * with external `floe worker`s only) */
    const char *crawler_config = cfg.crawler_config;
    if (!crawler_config && cfg.crawler_workers != 0 && access("crawler.yaml", R_OK) == 0)
        crawler_config = "crawler.yaml";
    if (crawler_config && cfg.crawler_workers != 0) {
        crawl = crawl_load(crawler_config, &err);
        if (!crawl) goto fail;
        crawl_worker_opts cwo = {.queue = queue,
                                 .queue_name = "crawl",
                                 .crawl = crawl,
                                 .io = io,
                                 .threads = cfg.crawler_workers > 0 ? cfg.crawler_workers : 2};
        crawler = crawl_worker_start(&cwo, &err);
        if (!crawler) goto fail;
    } else if (cfg.crawler_workers > 0) {
        floe_err_set(&err, FLOE_EINVAL,
                     "crawler_workers is %d but there is no crawler config: set crawler_config (or put a "
                     "crawler.yaml in the working directory)",
                     cfg.crawler_workers);
        goto fail;
    }
    api = pipe_api_new(sched, &cfg, crawler ? serve_crawler_metrics : NULL, crawler);
    if (!sched) pipe_api_standby(api, standby);
    size_t nroutes;
    const http_route *routes = pipe_api_routes(api, &nroutes);
    http_server_opts cons = {
        .name = "console", .bind = cfg.bind, .port = cfg.console_port, .routes = routes, .nroutes = nroutes};
    console = http_server_start(&cons, &err);
    if (!console) goto fail;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    log_info("serve",
             "ready in %.1f ms: S3 on http://%s:%d, catalog :%d, console :%d, queue %s, pipelines in %s, "
             "%d crawler workers, data in %s",
             (double)(time_mono_ns() - t0) / 1e6, cfg.bind, s3_server_port(s3), cat_server_port(catalog),
             http_server_port(console), queue_backend(queue), cfg.pipelines_dir,
             crawler ? (cfg.crawler_workers > 0 ? cfg.crawler_workers : 2) : 0, cfg.data_dir);
    while (!stop_requested) pause();
    log_info("serve", "signal %d: shutting down", (int)stop_requested);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "floe: %s\n", err.msg);
done:
    http_server_stop(console);
    pipe_api_free(api);
    crawl_worker_stop(crawler);
    pipe_sched_stop(sched);
    cat_server_stop(catalog);
    s3_server_stop(s3);
    cat_close(cat);
    crawl_free(crawl);
    if (queue) queue_close(queue);
    free(db_path);
    free(log_dir);
    if (io) fileio_free(io);
    store_close(store);
    config_free(&cfg);
    return rc;
}
