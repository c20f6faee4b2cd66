/*
 * cat_http.h: what the catalog port's files share. server.c runs the port
 * (routes, body collection, the worker hand-off, auth); rest.c answers the
 * Iceberg REST API under /iceberg, nessie.c the Nessie v2 API under /api/v2,
 * auth.c issues and checks bearer tokens.
 *
 * A handler runs on a worker thread with the whole request body in hand
 * (JSON APIs have small bodies), so it may commit and fsync.
 */
#ifndef FLOE_CATALOG_CAT_HTTP_H
#define FLOE_CATALOG_CAT_HTTP_H

#include <jansson.h>

#include "base/config.h"
#include "catalog/catalog.h"
#include "net/http.h"
#include "store/store.h"

typedef struct cat_http_ctx {
    cat_t *cat;
    const floe_config *cfg;  /* borrowed: keys, region, auth */
    const char *s3_endpoint; /* "http://127.0.0.1:9000", for engines */
    store_t *store;          /* to create the warehouse bucket on first need (may be NULL) */
} cat_http_ctx;

/* Responds with body as JSON text (body is stolen; NULL: no body). */
void cat_json_respond(http_req_t *req, int status, json_t *body);

/* ---- rest.c: Iceberg REST, paths under /iceberg ---- */
void cat_rest_handle(http_req_t *req, cat_http_ctx *ctx, const char *body, size_t len);

/* ---- rest_kv.c: idempotency keys and metrics reports in catalog.db ---- */
typedef struct rest_idem {
    const char *request; /* "METHOD path sha256(body)": a reused key must match */
    int status;
    const char *body; /* NULL: none */
} rest_idem;

bool rest_idem_get(cat_t *c, const char *key, arena_t *a, rest_idem *out, bool *found, floe_err *err);
bool rest_idem_put(cat_t *c, const char *key, const rest_idem *v, int64_t lifetime_ms, floe_err *err);
bool rest_metrics_put(cat_t *c, const char *ref, const char *ns, const char *name, const char *report_type,
                      const char *report, floe_err *err);

/* ---- nessie.c: Nessie v2, paths under /api/v2 ---- */
void cat_nessie_handle(http_req_t *req, cat_http_ctx *ctx, const char *body, size_t len);

/* ---- auth.c (tokens: catalog.h) ---- */
/* True when the request may go on (a valid bearer token, or auth: none);
 * otherwise it has responded 401 itself, in the API's error form. */
bool cat_auth_check(http_req_t *req, cat_http_ctx *ctx, bool nessie);

#endif
