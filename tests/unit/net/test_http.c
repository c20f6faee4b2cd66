/*
 * test_http.c: the HTTP layer end to end on 127.0.0.1: a real server on a
 * free port, driven by the libcurl client. Covers routing, streamed request
 * bodies, raw URI and query decoding, deferred work on the worker pool
 * (connection suspended and resumed), and the 404 for unrouted paths.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/str.h"
#include "net/http.h"

typedef struct echo_state {
    hash_ctx md5;
    uint64_t n;
} echo_state;

/* Streams the body through MD5 and answers "<bytes> <md5>". */
static void echo_begin(http_req_t *req, void *ctx) {
    echo_state *st = arena_zalloc(&req->arena, sizeof *st);
    hash_init(&st->md5, HASH_MD5);
    req->user = st;
}

static void echo_body(http_req_t *req, const char *data, size_t len, void *ctx) {
    echo_state *st = req->user;
    hash_update(&st->md5, data, len);
    st->n += len;
}

static void echo_end(http_req_t *req, void *ctx) {
    echo_state *st = req->user;
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&st->md5, d);
    char hex[33], out[80];
    str_hex(d, 16, hex);
    int n = snprintf(out, sizeof out, "%llu %s", (unsigned long long)st->n, hex);
    http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void echo_done(http_req_t *req, bool completed, void *ctx) {
    echo_state *st = req->user;
    if (st) hash_abort(&st->md5);
}

/* Answers with the decoded path and one query parameter. */
static void path_end(http_req_t *req, void *ctx) {
    const char *v = http_req_param(req, "q");
    char out[512];
    int n = snprintf(out, sizeof out, "%s|%s", req->path, v ? v : "(none)");
    http_respond(req, 200, "text/plain", out, (size_t)n);
}

/* Deferred: sleeps on a worker, then answers which thread ran it. */
static void slow_work(http_req_t *req, void *arg) {
    usleep(50 * 1000);
    http_respond(req, 202, "text/plain", "deferred", 8);
}

static void slow_end(http_req_t *req, void *ctx) { http_req_defer(req, slow_work, NULL); }

static http_server_t *start(void) {
    static const http_route routes[] = {
        {.method = "PUT", .prefix = "/echo", .exact = true, .handler = {echo_begin, echo_body, echo_end, echo_done}},
        {.method = "GET", .prefix = "/path/", .handler = {.end = path_end}},
        {.method = "GET", .prefix = "/slow", .exact = true, .handler = {.end = slow_end}},
    };
    http_server_opts o = {.name = "test", .bind = "127.0.0.1", .port = 0, .routes = routes, .nroutes = 3};
    floe_err err;
    http_server_t *srv = http_server_start(&o, &err);
    cr_assert_not_null(srv, "%s", err.msg);
    cr_assert_gt(http_server_port(srv), 0);
    return srv;
}

static void url(http_server_t *srv, const char *path, char *out, size_t n) {
    snprintf(out, n, "http://127.0.0.1:%d%s", http_server_port(srv), path);
}

Test(http, streamed_body_reaches_the_handler_whole) {
    http_server_t *srv = start();
    size_t len = 3 * 1024 * 1024 + 17;
    char *body = malloc(len);
    for (size_t i = 0; i < len; i++) body[i] = (char)(i * 31 + 7);
    unsigned char d[16];
    hash_md5(body, len, d);
    char hex[33], want[80], u[128];
    str_hex(d, 16, hex);
    snprintf(want, sizeof want, "%zu %s", len, hex);
    url(srv, "/echo", u, sizeof u);
    http_client_resp r;
    floe_err err;
    cr_assert(http_fetch("PUT", u, NULL, body, len, &r, &err), "%s", err.msg);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body.data, want);
    http_client_resp_free(&r);
    free(body);
    http_server_stop(srv);
}

Test(http, path_and_query_are_decoded_from_the_raw_uri) {
    http_server_t *srv = start();
    char u[256];
    url(srv, "/path/a%20b/%C3%A9+x?q=one%2Btwo+three&z", u, sizeof u);
    http_client_resp r;
    floe_err err;
    cr_assert(http_fetch("GET", u, NULL, NULL, 0, &r, &err), "%s", err.msg);
    cr_expect_eq(r.status, 200);
    /* '+' stays '+' in a path, and means a space in a query value. */
    cr_expect_str_eq(r.body.data, "/path/a b/\xc3\xa9+x|one+two three");
    http_client_resp_free(&r);
    http_server_stop(srv);
}

Test(http, unrouted_paths_and_methods_get_404) {
    http_server_t *srv = start();
    char u[128];
    url(srv, "/nowhere", u, sizeof u);
    http_client_resp r;
    floe_err err;
    cr_assert(http_fetch("GET", u, NULL, NULL, 0, &r, &err), "%s", err.msg);
    cr_expect_eq(r.status, 404);
    http_client_resp_free(&r);
    url(srv, "/echo", u, sizeof u);
    cr_assert(http_fetch("GET", u, NULL, NULL, 0, &r, &err), "%s", err.msg);
    cr_expect_eq(r.status, 404, "GET on a PUT-only route");
    http_client_resp_free(&r);
    http_server_stop(srv);
}

typedef struct fetch_job {
    char url[128];
    long status;
    char body[32];
} fetch_job;

static void *fetch_thread(void *arg) {
    fetch_job *j = arg;
    http_client_resp r;
    floe_err err;
    if (http_fetch("GET", j->url, NULL, NULL, 0, &r, &err)) {
        j->status = r.status;
        snprintf(j->body, sizeof j->body, "%s", r.body.data ? r.body.data : "");
        http_client_resp_free(&r);
    }
    return NULL;
}

Test(http, deferred_work_runs_on_workers_without_blocking_the_event_threads) {
    http_server_t *srv = start();
    enum { N = 12 };
    fetch_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        url(srv, "/slow", jobs[i].url, sizeof jobs[i].url);
        pthread_create(&th[i], NULL, fetch_thread, &jobs[i]);
    }
    /* While the 12 slow requests sit on workers, a plain request still gets
     * through the event threads. */
    char u[128];
    url(srv, "/path/x", u, sizeof u);
    http_client_resp r;
    floe_err err;
    cr_assert(http_fetch("GET", u, NULL, NULL, 0, &r, &err), "%s", err.msg);
    cr_expect_eq(r.status, 200);
    http_client_resp_free(&r);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(jobs[i].status, 202, "request %d", i);
        cr_expect_str_eq(jobs[i].body, "deferred", "request %d", i);
    }
    http_server_stop(srv);
}
