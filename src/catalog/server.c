/*
 * server.c: the catalog port (default 19120): /iceberg (Iceberg REST,
 * rest.c), /api/v2 (Nessie v2, nessie.c) and /health. Request bodies are
 * collected (up to CAT_MAX_BODY), then the request is checked for a token
 * (auth.c) and handled on a worker thread, since commits block on SQLite
 * and fsync.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "catalog/cat_http.h"

#define CAT_MAX_BODY (64u << 20)

struct cat_server {
    http_server_t *http;
    cat_http_ctx ctx;
    char *s3_endpoint;
};

typedef struct api_req {
    buf_t body;
    bool too_big;
    bool nessie;
} api_req;

void cat_json_respond(http_req_t *req, int status, json_t *body) {
    if (!body) {
        http_respond(req, status, NULL, "", 0);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    http_respond_owned(req, status, "application/json", text, strlen(text));
}

static void api_begin(http_req_t *req, void *arg) {
    (void)arg;
    api_req *r = arena_zalloc(&req->arena, sizeof *r);
    req->user = r;
    if (req->has_length && req->content_length > CAT_MAX_BODY) r->too_big = true;
}

static void api_body(http_req_t *req, const char *data, size_t len, void *arg) {
    (void)arg;
    api_req *r = req->user;
    if (r->too_big || r->body.len + len > CAT_MAX_BODY) {
        r->too_big = true;
        return;
    }
    buf_append(&r->body, data, len);
}

static void api_run(http_req_t *req, void *arg) {
    cat_http_ctx *ctx = arg;
    api_req *r = req->user;
    if (!cat_auth_check(req, ctx, r->nessie)) return;
    buf_putc(&r->body, 0);
    size_t len = r->body.len - 1;
    if (r->nessie)
        cat_nessie_handle(req, ctx, r->body.data, len);
    else
        cat_rest_handle(req, ctx, r->body.data, len);
}

static void api_end(http_req_t *req, void *arg) {
    api_req *r = req->user;
    if (r->too_big) {
        json_t *e = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", "request body larger than 64 MiB", "type",
                              "BadRequestException", "code", 413);
        cat_json_respond(req, 413, e);
        return;
    }
    r->nessie = !strncmp(req->path, "/api/", 5);
    http_req_defer(req, api_run, arg);
}

static void api_done(http_req_t *req, bool completed, void *arg) {
    (void)completed;
    (void)arg;
    api_req *r = req->user;
    if (r) buf_free(&r->body);
}

cat_server_t *cat_server_start(const cat_server_opts *o, floe_err *err) {
    cat_server_t *s = calloc(1, sizeof *s);
    s->ctx.cat = o->cat;
    s->ctx.cfg = o->cfg;
    s->ctx.store = o->store;
    s->s3_endpoint = strdup(o->s3_endpoint ? o->s3_endpoint : "http://127.0.0.1:9000");
    s->ctx.s3_endpoint = s->s3_endpoint;
    http_handler api = {.begin = api_begin, .body = api_body, .end = api_end, .done = api_done, .ctx = &s->ctx};
    http_route routes[] = {
        {.prefix = "/health", .exact = true, .handler = http_health_handler},
        {.prefix = "/iceberg/", .handler = api},
        {.prefix = "/api/v2/", .handler = api},
        {.prefix = "/api/v2", .exact = true, .handler = api},
    };
    http_server_opts ho = {.name = "catalog",
                           .bind = o->cfg->bind,
                           .port = o->port,
                           .routes = routes,
                           .nroutes = sizeof routes / sizeof routes[0]};
    s->http = http_server_start(&ho, err);
    if (!s->http) {
        free(s->s3_endpoint);
        free(s);
        return NULL;
    }
    return s;
}

int cat_server_port(cat_server_t *s) { return http_server_port(s->http); }

void cat_server_stop(cat_server_t *s) {
    if (!s) return;
    http_server_stop(s->http);
    free(s->s3_endpoint);
    free(s);
}
