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
    http_collect collect; /* the API handler's settings */
    char *s3_endpoint;
};

void cat_json_respond(http_req_t *req, int status, json_t *body) {
    if (!body) {
        http_respond(req, status, NULL, "", 0);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    http_respond_owned(req, status, "application/json", text, strlen(text));
}

/* On a worker thread, with the body collected: check the token, answer. */
static void api_run(http_req_t *req, const char *body, size_t len, void *arg) {
    cat_http_ctx *ctx = arg;
    bool nessie = !strncmp(req->path, "/api/", 5);
    if (!cat_auth_check(req, ctx, nessie)) return;
    if (nessie)
        cat_nessie_handle(req, ctx, body, len);
    else
        cat_rest_handle(req, ctx, body, len);
}

static void api_too_big(http_req_t *req, void *arg) {
    (void)arg;
    json_t *e = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", "request body larger than 64 MiB", "type",
                          "BadRequestException", "code", 413);
    cat_json_respond(req, 413, e);
}

cat_server_t *cat_server_start(const cat_server_opts *o, floe_err *err) {
    cat_server_t *s = calloc(1, sizeof *s);
    s->ctx.cat = o->cat;
    s->ctx.cfg = o->cfg;
    s->ctx.store = o->store;
    s->s3_endpoint = strdup(o->s3_endpoint ? o->s3_endpoint : "http://127.0.0.1:9000");
    s->ctx.s3_endpoint = s->s3_endpoint;
    s->collect = (http_collect){.max = CAT_MAX_BODY, .run = api_run, .too_big = api_too_big, .arg = &s->ctx};
    http_handler api = http_collect_handler(&s->collect);
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
