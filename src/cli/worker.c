/*
 * worker.c: `floe worker`, the crawler worker as a process of its own (the
 * seed's "scrapworker"): crawl jobs from a queue (the embedded queue of a
 * running `floe serve`, sqlite:DATA/queue.db, or redis://), landed through
 * S3 in the warehouse. The work is src/crawler; this file reads flags,
 * wires the pieces and waits for SIGTERM or SIGINT, on which every thread
 * finishes its page, releases its job and the process exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "cli/cli.h"
#include "crawler/crawler.h"
#include "net/http.h"
#include "queue/queue.h"
#include "store/fileio.h"

typedef struct worker_args {
    const char *queue_url, *config, *s3_endpoint, *queue_name, *region, *worker_id;
    int64_t threads, visibility_ms, retry_delay_ms, metrics_port;
    log_level level;
    bool check;
} worker_args;

static void usage(FILE *f) {
    fprintf(f, "usage: floe worker --queue URL --config crawler.yaml [flags]\n\n"
               "Crawls jobs from a queue into the warehouse (docs/crawler.md).\n\n"
               "  --queue URL          sqlite:PATH (a floe serve's is sqlite:DATA/queue.db) or redis://HOST:PORT/DB\n"
               "  --config FILE        the crawler's endpoints (crawler.yaml is one)\n"
               "  --s3-endpoint URL    where the warehouse is (default http://127.0.0.1:9000); credentials from\n"
               "                       FLOE_ACCESS_KEY and FLOE_SECRET_KEY\n"
               "  --region R           S3 region (default us-east-1)\n"
               "  --threads N          jobs crawled at once, 1-64 (default 2)\n"
               "  --visibility D       lease length: 60s, 5m (default 60s); heartbeats keep it every third of it\n"
               "  --retry-delay D      wait before a failed job is tried again (default 30s)\n"
               "  --metrics-port N     serve Prometheus metrics at http://127.0.0.1:N/metrics (default: none)\n"
               "  --queue-name NAME    the queue to lease from (default crawl)\n"
               "  --worker-id ID       this worker's name in the queue (default crawler-HOST-PID)\n"
               "  --log-level L        debug, info, warn or error (default info)\n"
               "  --check              check the config, list its endpoints and exit\n");
}

static bool duration_flag(const char *flag, const char *v, int64_t *ms) {
    /* one number and one unit of ms, s, m or h */
    size_t n = strspn(v, "0123456789");
    int64_t x;
    if (n && n <= 9 && v[n] && !strpbrk(v + n, "0123456789") && strcmp(v + n, "d") && time_duration_parse(v, &x) &&
        x > 0) {
        *ms = x;
        return true;
    }
    fprintf(stderr, "floe worker: %s '%s' is not a duration like 500ms, 30s or 5m\n", flag, v);
    return false;
}

static bool parse(int argc, char **argv, worker_args *a) {
    *a = (worker_args){.s3_endpoint = "http://127.0.0.1:9000",
                       .queue_name = CRAWL_QUEUE_DEFAULT,
                       .region = "us-east-1",
                       .threads = 2,
                       .visibility_ms = 60000,
                       .retry_delay_ms = 30000,
                       .metrics_port = -1,
                       .level = LOG_INFO};
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        if (str_eq(f, "--check")) {
            a->check = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(f, "--", 2) != 0) {
            fprintf(stderr, "floe worker: unexpected argument '%s'; flags are --name value\n", f);
            return false;
        }
        if (!v) {
            fprintf(stderr, "floe worker: %s needs a value\n", f);
            return false;
        }
        i++;
        const char **str = str_eq(f, "--queue")         ? &a->queue_url
                           : str_eq(f, "--config")      ? &a->config
                           : str_eq(f, "--s3-endpoint") ? &a->s3_endpoint
                           : str_eq(f, "--queue-name")  ? &a->queue_name
                           : str_eq(f, "--region")      ? &a->region
                           : str_eq(f, "--worker-id")   ? &a->worker_id
                                                        : NULL;
        if (str) {
            *str = v;
        } else if (str_eq(f, "--threads")) {
            if (!str_to_i64_range(v, 1, 64, &a->threads)) {
                fprintf(stderr, "floe worker: --threads '%s' is not a count 1..64\n", v);
                return false;
            }
        } else if (str_eq(f, "--metrics-port")) {
            if (!str_to_i64_range(v, 0, 65535, &a->metrics_port)) {
                fprintf(stderr, "floe worker: --metrics-port '%s' is not a port 0..65535 (0 picks one)\n", v);
                return false;
            }
        } else if (str_eq(f, "--visibility")) {
            if (!duration_flag(f, v, &a->visibility_ms)) return false;
            if (a->visibility_ms < 1000) {
                fprintf(stderr, "floe worker: --visibility %s is under 1s; leases that short are lost to any pause\n",
                        v);
                return false;
            }
        } else if (str_eq(f, "--retry-delay")) {
            if (!duration_flag(f, v, &a->retry_delay_ms)) return false;
        } else if (str_eq(f, "--log-level")) {
            if (!log_level_parse(v, &a->level)) {
                fprintf(stderr, "floe worker: --log-level '%s' is not debug, info, warn or error\n", v);
                return false;
            }
        } else {
            fprintf(stderr, "floe worker: unknown flag %s; run 'floe worker --help' for the flags\n", f);
            return false;
        }
    }
    if (!a->config) {
        fprintf(stderr, "floe worker: --config FILE is required (the crawler's endpoints; docs/crawler.md)\n");
        return false;
    }
    if (!a->queue_url && !a->check) {
        fprintf(stderr, "floe worker: --queue is required: sqlite:DATA/queue.db (a floe serve's embedded queue) or "
                        "redis://HOST:PORT/DB\n");
        return false;
    }
    return true;
}

/* ---- metrics port ---- */

static void metrics_end(http_req_t *req, void *ctx) {
    buf_t b = BUF_INIT;
    crawl_worker_metrics(ctx, &b);
    size_t len = b.len;
    http_respond_owned(req, 200, "text/plain; version=0.0.4", buf_steal(&b), len);
}

static int check_only(crawl_t *c, const char *path) {
    printf("%s: %zu endpoints\n", path, crawl_endpoint_count(c));
    for (size_t i = 0; i < crawl_endpoint_count(c); i++) printf("  %s\n", crawl_endpoint_name(c, i));
    return 0;
}

int cli_worker(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (str_eq(argv[i], "--help") || str_eq(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    worker_args a;
    if (!parse(argc, argv, &a)) return 2;
    log_setup(a.level, false);
    floe_err err = {0};
    crawl_t *c = crawl_load(a.config, &err);
    if (!c) {
        fprintf(stderr, "floe worker: %s\n", err.msg);
        return 2;
    }
    if (a.check) {
        int rc = check_only(c, a.config);
        crawl_free(c);
        return rc;
    }
    /* SIGINT and SIGTERM are taken by sigwait below; every thread started
     * from here on inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    queue_t *q = NULL;
    fileio_t *io = NULL;
    crawl_worker *w = NULL;
    http_server_t *metrics = NULL;
    const char *ak = getenv("FLOE_ACCESS_KEY"), *sk = getenv("FLOE_SECRET_KEY");
    if (!ak || !sk) {
        log_warn("worker",
                 "FLOE_ACCESS_KEY or FLOE_SECRET_KEY is not set: using the built-in floeadmin/floeadmin "
                 "for %s",
                 a.s3_endpoint);
        if (!ak) ak = "floeadmin";
        if (!sk) sk = "floeadmin";
    }
    q = queue_open(a.queue_url, NULL, &err);
    if (!q) goto fail;
    io = fileio_s3(
        &(fileio_s3_opts){
            .endpoint = a.s3_endpoint, .region = a.region, .access_key = ak, .secret_key = sk, .path_style = true},
        &err);
    if (!io) goto fail;
    w = crawl_worker_start(&(crawl_worker_opts){.queue = q,
                                                .queue_name = a.queue_name,
                                                .crawl = c,
                                                .io = io,
                                                .threads = (int)a.threads,
                                                .visibility_ms = a.visibility_ms,
                                                .retry_delay_ms = a.retry_delay_ms,
                                                .worker_id = a.worker_id},
                           &err);
    if (!w) goto fail;
    if (a.metrics_port >= 0) {
        http_route r[] = {{.prefix = "/metrics", .exact = true, .handler = {.end = metrics_end, .ctx = w}},
                          {.prefix = "/health", .exact = true, .handler = http_health_handler}};
        http_server_opts ho = {
            .name = "worker-metrics", .bind = "127.0.0.1", .port = (int)a.metrics_port, .routes = r, .nroutes = 2};
        metrics = http_server_start(&ho, &err);
        if (!metrics) goto fail;
        log_info("worker", "metrics on http://127.0.0.1:%d/metrics", http_server_port(metrics));
    }
    log_info("worker", "crawling %zu endpoints of %s from %s into %s", crawl_endpoint_count(c), a.config, a.queue_url,
             a.s3_endpoint);
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("worker", "signal %d: finishing the current pages and releasing their jobs", sig);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "floe worker: %s\n", err.msg);
done:
    http_server_stop(metrics);
    crawl_worker_stop(w);
    if (io) fileio_free(io);
    queue_close(q);
    crawl_free(c);
    if (rc == 0) log_info("worker", "stopped");
    return rc;
}
