/*
 * server.c: the HTTP server on libmicrohttpd.
 *
 * A few event threads (libmicrohttpd's epoll thread pool) serve every
 * connection, so a handler must not block: work that may block is deferred
 * to a pool of worker threads (http_req_defer) while its connection is
 * suspended. A thread per connection cost a wake-up and a context switch per
 * request: about 40% of the server's CPU on a 4 KiB GET.
 * The raw URI is captured through MHD's URI log callback (before MHD
 * unescapes it) because SigV4 and S3 keys need the path exactly as sent.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "net/http.h"

#define WORKER_THREADS 16

typedef struct defer_job {
    http_req_t *req;
    struct defer_job *next;
} defer_job;

struct http_server {
    struct MHD_Daemon *daemon;
    pthread_t workers[WORKER_THREADS];
    int nworkers;
    pthread_mutex_t jobs_lock;
    pthread_cond_t jobs_more;
    defer_job *jobs_head, *jobs_tail;
    bool stopping;
    http_server_opts opts;
    http_route *routes;
    int port;
};

/* ---- request helpers ---- */

const char *http_req_header(http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct each_ctx {
    void (*fn)(const char *, const char *, void *);
    void *arg;
};

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    struct each_ctx *c = cls;
    c->fn(key, value ? value : "", c->arg);
    return MHD_YES;
}

void http_req_each_header(http_req_t *req, void (*fn)(const char *, const char *, void *), void *arg) {
    struct each_ctx c = {fn, arg};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_header, &c);
}

const char *http_req_param(http_req_t *req, const char *name) {
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0) return req->params[i].value;
    return NULL;
}

bool http_req_has_param(http_req_t *req, const char *name) { return http_req_param(req, name) != NULL; }

bool http_req_is(http_req_t *req, const char *method) { return strcmp(req->method, method) == 0; }

void http_req_client_ip(http_req_t *req, char *out, size_t cap) {
    if (cap) out[0] = '\0';
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || !cap) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

void http_resp_header(http_req_t *req, const char *name, const char *value) {
    http_header *h = arena_alloc(&req->arena, sizeof *h);
    h->name = arena_strdup(&req->arena, name);
    h->value = arena_strdup(&req->arena, value);
    h->next = req->resp_headers;
    req->resp_headers = h;
}

static void set_response(http_req_t *req, int status, struct MHD_Response *r, uint64_t len) {
    if (req->responded) {
        log_error("http", "bug: second response for %s %s", req->method, req->raw_uri);
        MHD_destroy_response(r);
        return;
    }
    req->responded = true;
    req->status = status;
    req->resp = r;
    req->sent_bytes = len;
}

void http_respond(http_req_t *req, int status, const char *content_type, const void *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (content_type) MHD_add_response_header(r, "Content-Type", content_type);
    set_response(req, status, r, len);
}

void http_respond_owned(http_req_t *req, int status, const char *content_type, char *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (content_type) MHD_add_response_header(r, "Content-Type", content_type);
    set_response(req, status, r, len);
}

void http_respond_fd(http_req_t *req, int status, int fd, uint64_t offset, uint64_t len) {
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, offset);
    set_response(req, status, r, len);
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max) { return MHD_CONTENT_READER_END_OF_STREAM; }

void http_respond_length_only(http_req_t *req, int status, uint64_t len) {
    struct MHD_Response *r = MHD_create_response_from_callback(len, 4096, no_body, NULL, NULL);
    set_response(req, status, r, 0);
}

void http_req_defer(http_req_t *req, void (*fn)(http_req_t *req, void *arg), void *arg) {
    req->defer_fn = fn;
    req->defer_arg = arg;
}

static void *worker_main(void *arg) {
    http_server_t *srv = arg;
    pthread_mutex_lock(&srv->jobs_lock);
    for (;;) {
        while (!srv->jobs_head && !srv->stopping) pthread_cond_wait(&srv->jobs_more, &srv->jobs_lock);
        defer_job *job = srv->jobs_head;
        if (!job) break; /* stopping, queue drained */
        srv->jobs_head = job->next;
        if (!srv->jobs_head) srv->jobs_tail = NULL;
        pthread_mutex_unlock(&srv->jobs_lock);

        http_req_t *req = job->req;
        free(job);
        req->defer_fn(req, req->defer_arg);
        if (!req->responded) {
            log_error("http", "bug: deferred work set no response for %s %s", req->method, req->raw_uri);
            http_respond(req, 500, "text/plain", "internal error\n", 15);
        }
        MHD_resume_connection(req->conn);

        pthread_mutex_lock(&srv->jobs_lock);
    }
    pthread_mutex_unlock(&srv->jobs_lock);
    return NULL;
}

static enum MHD_Result queue(http_req_t *req);

/* One event thread per CPU (2 to 8): more only adds context switches, since
 * nothing that blocks runs on them (measured on 2 cores: 2 threads served
 * 28-33k small GETs/s, 4 threads 19-23k). */
static unsigned event_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2u : n > 8 ? 8u : (unsigned)n;
}

/* Called by the event thread right after a handler asked to defer. */
static enum MHD_Result run_deferred(http_server_t *srv, http_req_t *req) {
    pthread_mutex_lock(&srv->jobs_lock);
    bool inline_run = srv->stopping;
    if (!inline_run) {
        defer_job *job = calloc(1, sizeof *job);
        job->req = req;
        req->deferred = true;
        MHD_suspend_connection(req->conn);
        if (srv->jobs_tail)
            srv->jobs_tail->next = job;
        else
            srv->jobs_head = job;
        srv->jobs_tail = job;
        pthread_cond_signal(&srv->jobs_more);
    }
    pthread_mutex_unlock(&srv->jobs_lock);
    if (!inline_run) return MHD_YES;
    /* Shutting down: no workers left to take it, so run it here. */
    req->defer_fn(req, req->defer_arg);
    if (!req->responded) http_respond(req, 500, "text/plain", "internal error\n", 15);
    return queue(req);
}

/* ---- URI parsing ---- */

static void parse_query(http_req_t *req, const char *q) {
    size_t cap = 0;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            if (req->nparams == cap) {
                cap = cap ? cap * 2 : 8;
                http_param *np = arena_alloc(&req->arena, cap * sizeof *np);
                if (req->nparams) memcpy(np, req->params, req->nparams * sizeof *np);
                req->params = np;
            }
            http_param *pr = &req->params[req->nparams++];
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            pr->raw_name = p;
            pr->raw_name_len = kn;
            pr->raw_value = eq ? eq + 1 : p + n;
            pr->raw_value_len = eq ? n - kn - 1 : 0;
            pr->has_value = eq != NULL;
            buf_t b = BUF_INIT;
            if (!str_uri_decode(p, kn, true, &b)) req->bad_uri = true;
            pr->name = arena_strndup(&req->arena, b.data ? b.data : "", b.len);
            buf_reset(&b);
            if (!str_uri_decode(pr->raw_value, pr->raw_value_len, true, &b)) req->bad_uri = true;
            pr->value = arena_strndup(&req->arena, b.data ? b.data : "", b.len);
            buf_free(&b);
        }
        if (!amp) break;
        p = amp + 1;
    }
}

static void parse_uri(http_req_t *req, const char *uri) {
    req->raw_uri = arena_strdup(&req->arena, uri);
    const char *q = strchr(req->raw_uri, '?');
    req->raw_path_len = q ? (size_t)(q - req->raw_uri) : strlen(req->raw_uri);
    req->raw_path = arena_strndup(&req->arena, req->raw_uri, req->raw_path_len);
    buf_t b = BUF_INIT;
    if (!str_uri_decode(req->raw_path, req->raw_path_len, false, &b)) req->bad_uri = true;
    req->path = arena_strndup(&req->arena, b.data ? b.data : "", b.len);
    req->path_len = b.len;
    buf_free(&b);
    if (q) parse_query(req, q + 1);
}

/* ---- MHD glue ---- */

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn) {
    http_req_t *req = calloc(1, sizeof *req);
    if (!req) abort();
    arena_init(&req->arena, 4096);
    req->conn = conn;
    req->server = cls;
    req->start_ns = time_mono_ns();
    parse_uri(req, uri ? uri : "/");
    return req;
}

static const http_route *route_find(http_server_t *srv, http_req_t *req) {
    for (size_t i = 0; i < srv->opts.nroutes; i++) {
        const http_route *r = &srv->routes[i];
        if (r->method && strcmp(r->method, req->method) != 0) continue;
        if (r->exact ? strcmp(req->path, r->prefix) == 0 : str_starts_with(req->path, r->prefix)) return r;
    }
    return NULL;
}

static enum MHD_Result queue(http_req_t *req) {
    struct MHD_Response *r = req->resp;
    for (http_header *h = req->resp_headers; h; h = h->next) MHD_add_response_header(r, h->name, h->value);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    req->resp = NULL;
    return ok;
}

/* Bodies up to this many unread bytes are drained after an early error, so
 * the client reads the error instead of a reset (nginx's lingering close). */
#define DRAIN_LIMIT (64ull << 20)

/* A response chosen before the body was read. libmicrohttpd accepts a
 * response only right after the headers or once the whole body is in, so:
 * right after the headers it goes out at once when there is no body, the
 * client waits for it (Expect: 100-continue) or the body is too large to
 * drain; otherwise, and always mid-body, the rest of the body is drained
 * and the response sent at the end. A mid-body error with more than
 * DRAIN_LIMIT left closes the connection instead. */
static enum MHD_Result early_response(http_req_t *req, bool first_call) {
    uint64_t left =
        req->has_length && req->content_length > req->body_bytes ? req->content_length - req->body_bytes : 0;
    if (first_call) {
        const char *expect = http_req_header(req, "Expect");
        if (left == 0 || expect || left > DRAIN_LIMIT) return queue(req);
        return MHD_YES;
    }
    if (left > DRAIN_LIMIT) {
        log_debug("http", "%s %s: error mid-body with %llu bytes unread; closing", req->method, req->raw_uri,
                  (unsigned long long)left);
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
    http_server_t *srv = cls;
    http_req_t *req = *con_cls;
    if (!req) return MHD_NO; /* cannot happen: uri_log always allocates */
    if (!req->method) {
        /* First call: headers are in. */
        req->method = arena_strdup(&req->arena, method);
        const char *cl = http_req_header(req, "Content-Length");
        if (cl) req->has_length = str_to_u64(cl, &req->content_length);
        const http_route *route = route_find(srv, req);
        if (!route) {
            http_respond(req, 404, "text/plain", "not found\n", 10);
            return queue(req);
        }
        req->handler = &route->handler;
        if (req->handler->begin) req->handler->begin(req, req->handler->ctx);
        return req->responded ? early_response(req, true) : MHD_YES;
    }
    if (req->deferred) {
        /* Resumed after the worker finished: send what it chose. */
        if (!req->responded) return MHD_YES;
        req->deferred = false;
        return queue(req);
    }
    if (req->responded) {
        /* An early response waits for the rest of the body, which is read
         * and discarded, so the client is not cut off mid-send. */
        if (*upload_data_size > 0) {
            req->body_bytes += *upload_data_size;
            *upload_data_size = 0;
            return MHD_YES;
        }
        return queue(req);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        req->body_bytes += n;
        if (req->handler->body) req->handler->body(req, upload_data, n, req->handler->ctx);
        *upload_data_size = 0;
        return req->responded ? early_response(req, false) : MHD_YES;
    }
    if (req->handler->end) req->handler->end(req, req->handler->ctx);
    if (req->defer_fn && !req->responded) return run_deferred(srv, req);
    if (!req->responded) {
        log_error("http", "bug: no response for %s %s", req->method, req->raw_uri);
        http_respond(req, 500, "text/plain", "internal error\n", 15);
    }
    return queue(req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    http_server_t *srv = cls;
    http_req_t *req = *con_cls;
    if (!req) return;
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    if (req->handler && req->handler->done) req->handler->done(req, ok, req->handler->ctx);
    if (srv->opts.observe && req->method) srv->opts.observe(req, ok, srv->opts.observe_ctx);
    if (req->resp) MHD_destroy_response(req->resp);
    arena_free(&req->arena);
    free(req);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    log_debug("http", "%s", msg);
}

http_server_t *http_server_start(const http_server_opts *opts, floe_err *err) {
    http_server_t *srv = calloc(1, sizeof *srv);
    srv->opts = *opts;
    srv->routes = malloc(opts->nroutes * sizeof *srv->routes);
    memcpy(srv->routes, opts->routes, opts->nroutes * sizeof *srv->routes);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opts->port);
    if (inet_pton(AF_INET, opts->bind ? opts->bind : "127.0.0.1", &addr.sin_addr) != 1) {
        floe_err_set(err, FLOE_EINVAL, "bind address '%s' is not an IPv4 address like 127.0.0.1 or 0.0.0.0",
                     opts->bind);
        goto fail;
    }
    /* libmicrohttpd zeroes a connection's whole memory pool after every
     * request, so the pool is kept small: the header limit plus 48 KiB of
     * read buffer (at 320 KiB the memset was 16% of a 4 KiB GET). */
    size_t mem = opts->max_header_bytes ? opts->max_header_bytes : 16 * 1024;
    srv->daemon = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)opts->port, NULL, NULL,
        access_cb, srv, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(mem + 48 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(opts->idle_timeout_s ? opts->idle_timeout_s : 60),
        MHD_OPTION_CONNECTION_LIMIT, 2048u, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_THREAD_POOL_SIZE, event_threads(), MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_END);
    if (!srv->daemon) {
        floe_err_set(err, FLOE_EIO,
                     "%s server cannot listen on %s:%d; is the port in use? Pick another with the port flag",
                     opts->name, opts->bind, opts->port);
        goto fail;
    }
    pthread_mutex_init(&srv->jobs_lock, NULL);
    pthread_cond_init(&srv->jobs_more, NULL);
    for (; srv->nworkers < WORKER_THREADS; srv->nworkers++)
        if (pthread_create(&srv->workers[srv->nworkers], NULL, worker_main, srv) != 0) break;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    return srv;
fail:
    free(srv->routes);
    free(srv);
    return NULL;
}

int http_server_port(http_server_t *srv) { return srv->port; }

void http_server_stop(http_server_t *srv) {
    if (!srv) return;
    /* Workers finish what is queued (resuming those connections); later
     * deferrals run inline. Then the daemon stops with nothing suspended. */
    pthread_mutex_lock(&srv->jobs_lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->jobs_more);
    pthread_mutex_unlock(&srv->jobs_lock);
    for (int i = 0; i < srv->nworkers; i++) pthread_join(srv->workers[i], NULL);
    MHD_stop_daemon(srv->daemon);
    free(srv->routes);
    free(srv);
}

/* ---- http_collect_handler ---- */

typedef struct collect_req {
    buf_t body;
    bool too_big;
} collect_req;

static void collect_begin(http_req_t *req, void *ctx) {
    const http_collect *c = ctx;
    collect_req *r = arena_zalloc(&req->arena, sizeof *r);
    req->user = r;
    if (req->has_length && req->content_length > c->max) r->too_big = true;
}

static void collect_body(http_req_t *req, const char *data, size_t len, void *ctx) {
    const http_collect *c = ctx;
    collect_req *r = req->user;
    if (r->too_big || r->body.len + len > c->max) {
        r->too_big = true;
        return;
    }
    buf_append(&r->body, data, len);
}

static void collect_run(http_req_t *req, void *ctx) {
    const http_collect *c = ctx;
    collect_req *r = req->user;
    buf_putc(&r->body, 0);
    c->run(req, r->body.data, r->body.len - 1, c->arg);
}

static void collect_end(http_req_t *req, void *ctx) {
    const http_collect *c = ctx;
    collect_req *r = req->user;
    if (r->too_big) {
        c->too_big(req, c->arg);
        return;
    }
    http_req_defer(req, collect_run, ctx);
}

static void collect_done(http_req_t *req, bool completed, void *ctx) {
    (void)completed;
    (void)ctx;
    collect_req *r = req->user;
    if (r) buf_free(&r->body);
}

http_handler http_collect_handler(const http_collect *c) {
    return (http_handler){
        .begin = collect_begin, .body = collect_body, .end = collect_end, .done = collect_done, .ctx = (void *)c};
}

static void health_end(http_req_t *req, void *ctx) { http_respond(req, 200, "text/plain", "ok\n", 3); }

const http_handler http_health_handler = {.end = health_end};
