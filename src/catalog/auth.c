/*
 * auth.c: bearer tokens for the catalog port.
 *
 * POST /iceberg/v1/oauth/tokens (OAuth2 client_credentials) takes an S3
 * access key as client_id and its secret as client_secret, the root pair or
 * one of floe.yaml's keys, and returns a token. Tokens are stateless, so
 * every catalog node that shares the root secret accepts them:
 *
 *   floe1.<hex of "principal\nexpiry\nscope">.<hex HMAC-SHA256 of that>
 *
 * under a key derived from the root secret. scope is "rw", or "r" for a
 * read-only key (whose token may only GET and HEAD). Every other route,
 * Iceberg and Nessie, needs "Authorization: Bearer <token>" unless the
 * config says `auth: none`. Tokens and secrets never reach the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_http.h"

#define TOKEN_MAGIC "floe1."

static void token_mac(const char *root_secret, const char *payload_hex, char out[65]) {
    unsigned char k[32], mac[32];
    static const char purpose[] = "floe catalog token v1";
    hash_hmac_sha256(root_secret, strlen(root_secret), purpose, sizeof purpose - 1, k);
    hash_hmac_sha256(k, sizeof k, payload_hex, strlen(payload_hex), mac);
    str_hex(mac, sizeof mac, out);
}

bool cat_token_issue(const char *root_secret, const char *principal, bool write, int64_t expires_s, char *out,
                     size_t cap, floe_err *err) {
    char payload[300];
    if (!principal || !*principal || strlen(principal) > 200 || strchr(principal, '\n'))
        return floe_err_set(err, FLOE_EINVAL, "token principal must be 1-200 bytes without newlines");
    int n = snprintf(payload, sizeof payload, "%s\n%lld\n%s", principal, (long long)expires_s, write ? "rw" : "r");
    char hex[2 * sizeof payload + 1], mac[65];
    str_hex((const unsigned char *)payload, (size_t)n, hex);
    token_mac(root_secret, hex, mac);
    if ((size_t)snprintf(out, cap, "%s%s.%s", TOKEN_MAGIC, hex, mac) >= cap)
        return floe_err_set(err, FLOE_EINVAL, "token buffer too small");
    return true;
}

bool cat_token_verify(const char *root_secret, const char *token, int64_t now_s, cat_token_claims *out, floe_err *err) {
    static const char bad[] = "the bearer token is malformed; get a new one from POST /iceberg/v1/oauth/tokens";
    size_t ml = strlen(TOKEN_MAGIC);
    if (!token || strncmp(token, TOKEN_MAGIC, ml)) return floe_err_set(err, FLOE_EAUTH, "%s", bad);
    const char *hex = token + ml, *dot = strchr(hex, '.');
    size_t hl = dot ? (size_t)(dot - hex) : 0;
    if (!dot || hl == 0 || hl % 2 || hl > 600 || strlen(dot + 1) != 64) return floe_err_set(err, FLOE_EAUTH, "%s", bad);
    char hexcopy[601], mac[65];
    memcpy(hexcopy, hex, hl);
    hexcopy[hl] = 0;
    token_mac(root_secret, hexcopy, mac);
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < 64; i++) diff |= (unsigned char)(mac[i] ^ dot[1 + i]);
    if (diff)
        return floe_err_set(err, FLOE_EAUTH,
                            "the bearer token's signature does not match (altered, or issued under another root "
                            "secret); get a new one from POST /iceberg/v1/oauth/tokens");
    char payload[301];
    if (!str_unhex(hexcopy, hl, (unsigned char *)payload)) return floe_err_set(err, FLOE_EAUTH, "%s", bad);
    payload[hl / 2] = 0;
    char *nl1 = strchr(payload, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (!nl1 || !nl2) return floe_err_set(err, FLOE_EAUTH, "%s", bad);
    *nl1 = *nl2 = 0;
    int64_t exp;
    if (!str_to_i64_range(nl1 + 1, 0, INT64_MAX, &exp) || (strcmp(nl2 + 1, "rw") && strcmp(nl2 + 1, "r")))
        return floe_err_set(err, FLOE_EAUTH, "%s", bad);
    if (now_s >= exp)
        return floe_err_set(err, FLOE_EAUTH,
                            "the bearer token expired %lld s ago; get a new one from POST /iceberg/v1/oauth/tokens",
                            (long long)(now_s - exp));
    snprintf(out->principal, sizeof out->principal, "%s", payload);
    out->write = !strcmp(nl2 + 1, "rw");
    out->expires_s = exp;
    return true;
}

static bool secret_equal(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    volatile unsigned char diff = (unsigned char)(na != nb);
    for (size_t i = 0; i < na && i < nb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool cat_client_check(const floe_config *cfg, const char *id, const char *secret, bool *write) {
    if (!id || !secret) return false;
    if (!strcmp(id, cfg->access_key)) {
        *write = true;
        return secret_equal(secret, cfg->secret_key);
    }
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (!strcmp(id, cfg->keys[i].access_key)) {
            *write = cfg->keys[i].write;
            return secret_equal(secret, cfg->keys[i].secret_key);
        }
    return false;
}

static void deny(http_req_t *req, bool nessie, int status, const char *msg) {
    json_t *e;
    if (nessie)
        e = json_pack("{s:i,s:s,s:s,s:s}", "status", status, "reason", status == 401 ? "Unauthorized" : "Forbidden",
                      "message", msg, "errorCode", "UNKNOWN");
    else
        e = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type",
                      status == 401 ? "NotAuthorizedException" : "ForbiddenException", "code", status);
    if (status == 401) http_resp_header(req, "WWW-Authenticate", "Bearer realm=\"floe\"");
    cat_json_respond(req, status, e);
}

bool cat_auth_check(http_req_t *req, cat_http_ctx *ctx, bool nessie) {
    if (ctx->cfg->auth_none) return true;
    /* the token endpoint is how a client gets a token */
    if (!nessie && !strcmp(req->path, "/iceberg/v1/oauth/tokens")) return true;
    const char *h = http_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) {
        deny(req, nessie, 401,
             "this catalog needs a bearer token: POST /iceberg/v1/oauth/tokens with grant_type=client_credentials, "
             "client_id=<S3 access key> and client_secret=<its secret>, then send Authorization: Bearer <token>");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    cat_token_claims cl;
    floe_err err;
    if (!cat_token_verify(ctx->cfg->secret_key, tok, time_now_ms() / 1000, &cl, &err)) {
        deny(req, nessie, 401, err.msg);
        return false;
    }
    /* POST .../contents is Nessie's bulk read: a read-only key may ask */
    bool bulk_read = nessie && http_req_is(req, "POST") && str_ends_with(req->path, "/contents");
    if (!cl.write && !http_req_is(req, "GET") && !http_req_is(req, "HEAD") && !bulk_read) {
        char msg[400];
        snprintf(msg, sizeof msg, "access key '%s' is read-only; %s needs a read-write key", cl.principal, req->method);
        deny(req, nessie, 403, msg);
        return false;
    }
    return true;
}
