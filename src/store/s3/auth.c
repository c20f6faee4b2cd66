/*
 * auth.c: who is asking, and may they.
 *
 * Authentication is SigV4, from the Authorization header or a presigned URL,
 * including aws-chunked streaming bodies with per-chunk signatures and
 * checksum trailers. A request with neither is anonymous, which only a
 * public-read bucket admits, and only for reads. Secrets never reach the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_server_int.h"

#define MAX_SKEW_S (15 * 60)

bool s3_identities_load(s3_server_t *srv, floe_err *err) {
    const floe_config *cfg = srv->cfg;
    srv->nids = 1 + cfg->nkeys;
    srv->ids = calloc(srv->nids, sizeof *srv->ids);
    srv->ids[0] =
        (s3_identity){.access_key = cfg->access_key, .secret_key = cfg->secret_key, .root = true, .write = true};
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const config_s3_key *k = &cfg->keys[i];
        for (size_t j = 0; j < i + 1; j++) {
            if (strcmp(srv->ids[j].access_key, k->access_key) == 0)
                return floe_err_set(err, FLOE_EINVAL, "config: access key '%s' is defined twice", k->access_key);
        }
        srv->ids[i + 1] = (s3_identity){.access_key = k->access_key,
                                        .secret_key = k->secret_key,
                                        .write = k->write,
                                        .grants = k->grants,
                                        .ngrants = k->ngrants};
    }
    return true;
}

static const s3_identity *find_identity(s3_server_t *srv, const char *access_key) {
    for (size_t i = 0; i < srv->nids; i++)
        if (strcmp(srv->ids[i].access_key, access_key) == 0) return &srv->ids[i];
    return NULL;
}

/* A vended access key (vended.c): the identity is built from its session
 * token, for this request only, with one read or read-write grant. */
static bool identify_vended(s3_req *r) {
    http_req_t *h = r->http;
    const char *token = http_req_header(h, "x-amz-security-token");
    if (!token) token = http_req_param(h, "X-Amz-Security-Token");
    s3_vended_grant g;
    floe_err err;
    if (!s3_vended_verify(r->srv->cfg->secret_key, r->auth.access_key, token, time_now_ms() / 1000, &g, &err)) {
        bool expired = strstr(err.msg, "expired") != NULL;
        s3_error(r, expired ? 400 : 403, expired ? "ExpiredToken" : "InvalidToken", "%s", err.msg);
        return false;
    }
    arena_t *a = s3_arena(r);
    s3_identity *id = arena_zalloc(a, sizeof *id);
    id->access_key = arena_strdup(a, r->auth.access_key);
    id->secret_key = arena_strdup(a, g.secret_key);
    id->write = g.write;
    id->grants = arena_alloc(a, sizeof *id->grants);
    id->grants[0] = arena_sprintf(a, "%s/%s", g.bucket, g.prefix);
    id->ngrants = 1;
    r->who = id;
    return true;
}

/* Sets r->who from the parsed access key; responds InvalidAccessKeyId. */
static bool identify(s3_req *r) {
    r->who = find_identity(r->srv, r->auth.access_key);
    if (!r->who && !strncmp(r->auth.access_key, S3_VENDED_AK_PREFIX, strlen(S3_VENDED_AK_PREFIX)))
        return identify_vended(r);
    if (!r->who)
        s3_error(r, 403, "InvalidAccessKeyId", "The AWS access key Id '%s' does not exist in our records.",
                 r->auth.access_key);
    return r->who != NULL;
}

/* The signing key changes once a day per credential, region and service, but
 * deriving it takes four HMACs (about 15% of a small GET). Each connection
 * thread keeps the last few it derived: no lock, no sharing. */
typedef struct key_slot {
    const s3_identity *who;
    char secret[129];
    char date[9], region[64], service[32];
    unsigned char key[32];
} key_slot;

static __thread key_slot key_cache[2];
static __thread unsigned key_next;

static void signing_key(s3_req *r) {
    const s3_sigv4_auth *a = &r->auth;
    for (int i = 0; i < 2; i++) {
        key_slot *k = &key_cache[i];
        if (k->who == r->who && !strcmp(k->secret, r->who->secret_key) && !strcmp(k->date, a->date) &&
            !strcmp(k->region, a->region) && !strcmp(k->service, a->service)) {
            memcpy(r->signing_key, k->key, 32);
            return;
        }
    }
    s3_sigv4_signing_key(r->who->secret_key, a->date, a->region, a->service, r->signing_key);
    key_slot *k = &key_cache[key_next++ % 2];
    k->who = r->who;
    snprintf(k->secret, sizeof k->secret, "%s", r->who->secret_key);
    snprintf(k->date, sizeof k->date, "%s", a->date);
    snprintf(k->region, sizeof k->region, "%s", a->region);
    snprintf(k->service, sizeof k->service, "%s", a->service);
    memcpy(k->key, r->signing_key, 32);
}

/* ---- canonical request inputs ---- */

typedef struct header_list {
    s3_kv *kv;
    size_t n, cap;
    arena_t *a;
} header_list;

static void collect_header(const char *name, const char *value, void *arg) {
    header_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        s3_kv *nk = arena_alloc(l->a, l->cap * sizeof *nk);
        if (l->n) memcpy(nk, l->kv, l->n * sizeof *nk);
        l->kv = nk;
    }
    l->kv[l->n++] = (s3_kv){name, value};
}

static bool verify_signature(s3_req *r, const char *payload_hash, bool presigned) {
    http_req_t *h = r->http;
    arena_t *a = &h->arena;
    header_list hl = {.a = a};
    http_req_each_header(h, collect_header, &hl);
    s3_kv *q = arena_alloc(a, (h->nparams + 1) * sizeof *q);
    size_t nq = 0;
    for (size_t i = 0; i < h->nparams; i++) {
        if (presigned && strcmp(h->params[i].name, "X-Amz-Signature") == 0) continue;
        q[nq++] = (s3_kv){h->params[i].name, h->params[i].value};
    }
    s3_sigv4_input in = {.method = h->method,
                         .path = h->path,
                         .path_len = h->path_len,
                         .query = q,
                         .nquery = nq,
                         .headers = hl.kv,
                         .nheaders = hl.n,
                         .signed_headers = r->auth.signed_headers,
                         .payload_hash = payload_hash};
    buf_t creq = BUF_INIT, sts = BUF_INIT;
    signing_key(r);
    char sig[65];
    bool ok = false;
    /* The canonical form first; then the path exactly as sent, which is what
     * clients that sign their literal request line (curl) have signed. */
    for (int form = 0; form < 2 && !ok; form++) {
        if (form == 1) {
            buf_t enc = BUF_INIT;
            str_uri_encode(&enc, h->path, h->path_len, true);
            bool same = enc.len == h->raw_path_len && !memcmp(enc.data, h->raw_path, enc.len);
            buf_free(&enc);
            if (same) break;
            in.path = h->raw_path, in.path_len = h->raw_path_len, in.path_encoded = true;
        }
        buf_reset(&creq);
        buf_reset(&sts);
        s3_sigv4_canonical_request(&in, &creq);
        s3_sigv4_string_to_sign(r->amz_date, r->auth.scope, creq.data, &sts);
        s3_sigv4_sign(r->signing_key, sts.data, sig);
        ok = s3_sigv4_sig_equal(sig, r->auth.signature);
    }
    if (!ok) {
        log_debug("s3", "signature mismatch for %s; canonical request:\n%s", r->who->access_key, creq.data);
        s3_error(r, 403, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you provided. Check your key "
                 "and signing method.");
    }
    buf_free(&creq);
    buf_free(&sts);
    return ok;
}

static bool check_clock(s3_req *r, int64_t *when) {
    int64_t t;
    if (!time_parse_amz_date(r->amz_date, &t)) {
        s3_error(r, 403, "AccessDenied", "X-Amz-Date '%s' is not in the form 20130524T000000Z.", r->amz_date);
        return false;
    }
    int64_t now = time_now_ms() / 1000;
    if (t > now + MAX_SKEW_S || t < now - MAX_SKEW_S) {
        if (when && t < now) {
            *when = t; /* presigned URLs may be old; the expiry decides */
            return true;
        }
        s3_error(r, 403, "RequestTimeTooSkewed",
                 "The difference between the request time (%s) and the server's time is larger than 15 minutes; "
                 "fix the client's clock.",
                 r->amz_date);
        return false;
    }
    if (when) *when = t;
    return true;
}

/* Sets up body handling for the x-amz-content-sha256 value. */
static bool payload_mode(s3_req *r, const char *hash) {
    http_req_t *h = r->http;
    bool streaming_signed = !strcmp(hash, S3_STREAMING_SIGNED) || !strcmp(hash, S3_STREAMING_SIGNED_TRAILER);
    bool streaming_unsigned = !strcmp(hash, S3_STREAMING_UNSIGNED_TRAILER);
    if (streaming_signed || streaming_unsigned) {
        const char *dl = http_req_header(h, "x-amz-decoded-content-length");
        if (!dl || !str_to_u64(dl, &r->decoded_length)) {
            s3_error(r, 411, "MissingContentLength",
                     "Streaming uploads need an x-amz-decoded-content-length header with the payload size.");
            return false;
        }
        r->has_decoded_length = true;
        r->aws_chunked = true;
        bool trailer = !strcmp(hash, S3_STREAMING_SIGNED_TRAILER) || streaming_unsigned;
        s3_chunked_init(&r->chunked, streaming_signed, trailer, r->signing_key, r->amz_date, r->auth.scope,
                        r->auth.signature);
        return true;
    }
    if (!strcmp(hash, S3_UNSIGNED_PAYLOAD)) return true;
    if (strlen(hash) == 64 && str_unhex(hash, 64, (unsigned char[32]){0})) {
        if (!strcmp(hash, S3_EMPTY_SHA256)) {
            /* Nothing to hash: an empty body is checked by length. */
            r->has_decoded_length = true;
            r->decoded_length = 0;
            return true;
        }
        r->verify_sha256 = true;
        snprintf(r->expected_sha256, sizeof r->expected_sha256, "%s", hash);
        for (char *p = r->expected_sha256; *p; p++)
            if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
        hash_init(&r->body_sha256, HASH_SHA256);
        return true;
    }
    s3_error(r, 400, "InvalidArgument",
             "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* value; got '%s'.", hash);
    return false;
}

static bool auth_header(s3_req *r, const char *authz) {
    http_req_t *h = r->http;
    floe_err err;
    if (strncmp(authz, "AWS4-HMAC-SHA256", 16) != 0) {
        s3_error(r, 400, "InvalidRequest",
                 "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported; configure the client for SigV4.");
        return false;
    }
    if (!s3_sigv4_parse_authorization(authz, &r->auth, &err)) {
        s3_error(r, 400, "AuthorizationHeaderMalformed", "%s", err.msg);
        return false;
    }
    if (!identify(r)) return false;
    r->amz_date = http_req_header(h, "x-amz-date");
    if (!r->amz_date) {
        s3_error(r, 403, "AccessDenied", "SigV4 requests need an x-amz-date header.");
        return false;
    }
    if (!check_clock(r, NULL)) return false;
    if (strncmp(r->amz_date, r->auth.date, 8) != 0) {
        s3_error(r, 400, "AuthorizationHeaderMalformed",
                 "The credential scope date %s does not match the x-amz-date %s.", r->auth.date, r->amz_date);
        return false;
    }
    const char *hash = http_req_header(h, "x-amz-content-sha256");
    if (!hash) {
        /* S3 requires the header; a bodyless request is taken as the empty payload. */
        if (h->has_length && h->content_length > 0) {
            s3_error(r, 400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256.");
            return false;
        }
        hash = S3_EMPTY_SHA256;
    }
    if (!verify_signature(r, hash, false)) return false;
    return payload_mode(r, hash);
}

static bool auth_presigned(s3_req *r) {
    http_req_t *h = r->http;
    floe_err err;
    s3_kv *q = arena_alloc(&h->arena, (h->nparams + 1) * sizeof *q);
    for (size_t i = 0; i < h->nparams; i++) q[i] = (s3_kv){h->params[i].name, h->params[i].value};
    if (!s3_sigv4_parse_presigned(q, h->nparams, &r->auth, &err)) {
        s3_error(r, 400, "AuthorizationQueryParametersError", "%s", err.msg);
        return false;
    }
    if (!identify(r)) return false;
    r->amz_date = r->auth.amz_date;
    int64_t when;
    if (!check_clock(r, &when)) return false;
    if (time_now_ms() / 1000 > when + r->auth.expires) {
        s3_error(r, 403, "AccessDenied", "Request has expired (signed at %s for %lld seconds).", r->amz_date,
                 (long long)r->auth.expires);
        return false;
    }
    const char *hash = http_req_param(h, "X-Amz-Content-Sha256");
    if (!hash) hash = S3_UNSIGNED_PAYLOAD;
    if (!verify_signature(r, hash, true)) return false;
    return payload_mode(r, hash);
}

bool s3_authenticate(s3_req *r) {
    http_req_t *h = r->http;
    const char *authz = http_req_header(h, "Authorization");
    if (authz) return auth_header(r, authz);
    if (http_req_has_param(h, "X-Amz-Algorithm") || http_req_has_param(h, "X-Amz-Signature")) return auth_presigned(r);
    r->who = NULL; /* anonymous; s3_authorize decides */
    const char *hash = http_req_header(h, "x-amz-content-sha256");
    return hash ? payload_mode(r, hash) : true;
}

/* ---- authorization ---- */

static bool grant_covers(const char *grant, const char *bucket, const char *key, size_t key_len) {
    size_t bl = strlen(bucket);
    if (strncmp(grant, bucket, bl) != 0) return false;
    if (grant[bl] == '\0') return true;
    if (grant[bl] != '/') return false;
    const char *prefix = grant + bl + 1;
    size_t pl = strlen(prefix);
    return key && key_len >= pl && memcmp(key, prefix, pl) == 0;
}

bool s3_identity_allows(const s3_identity *who, const char *bucket, const char *key, size_t key_len, bool write) {
    if (who->root) return true;
    if (write && !who->write) return false;
    if (!bucket) return !write;
    for (size_t i = 0; i < who->ngrants; i++) {
        if (grant_covers(who->grants[i], bucket, key, key_len)) return true;
        /* A listing of a bucket is allowed under a prefix grant, when the
         * requested prefix lies inside it. */
    }
    return false;
}

/* Any grant on r->bucket, whole or prefix: enough to enter DeleteObjects,
 * which then checks every key on its own. */
static bool any_grant_on_bucket(s3_req *r) {
    size_t bl = strlen(r->bucket);
    for (size_t i = 0; i < r->who->ngrants; i++) {
        const char *g = r->who->grants[i];
        if (!strncmp(g, r->bucket, bl) && (g[bl] == '\0' || g[bl] == '/')) return true;
    }
    return false;
}

static bool list_allowed(s3_req *r) {
    const char *prefix = http_req_param(r->http, "prefix");
    size_t pl = prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < r->who->ngrants; i++) {
        const char *g = r->who->grants[i];
        size_t bl = strlen(r->bucket);
        if (strncmp(g, r->bucket, bl) != 0 || (g[bl] != '\0' && g[bl] != '/')) continue;
        if (g[bl] == '\0') return true;
        const char *gp = g + bl + 1;
        size_t gl = strlen(gp);
        if (pl >= gl && memcmp(prefix, gp, gl) == 0) return true;
    }
    return false;
}

bool s3_authorize(s3_req *r) {
    if (r->who && r->who->root) return true;
    if (!r->who) {
        if (r->op->anonymous_ok && r->bucket) {
            store_bucket b;
            floe_err err;
            if (store_bucket_get(r->srv->store, r->bucket, s3_arena(r), &b, &err) && b.public_read) return true;
        }
        s3_error(r, 403, "AccessDenied",
                 "Access Denied: this request is not signed. Sign it with SigV4, or mark the bucket public-read "
                 "for anonymous reads.");
        return false;
    }
    bool ok;
    if (r->op == &s3_op_delete_objects)
        ok = r->who->write && any_grant_on_bucket(r);
    else if (!r->op->write && r->bucket && !r->key &&
             (r->op == &s3_op_list_objects || r->op == &s3_op_list_objects_v2 || r->op == &s3_op_list_uploads))
        ok = list_allowed(r);
    else
        ok = s3_identity_allows(r->who, r->bucket, r->key, r->key_len, r->op->write);
    if (!ok)
        s3_error(r, 403, "AccessDenied", "Access Denied: key '%s' has no %s grant here.", r->who->access_key,
                 r->op->write ? "read-write" : "read");
    return ok;
}
