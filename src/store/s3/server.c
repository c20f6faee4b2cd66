/*
 * server.c: the S3 request pipeline.
 *
 * Parses bucket and key from the path, authenticates, routes to an operation,
 * authorizes, then streams the body through the aws-chunked decoder and the
 * payload-hash check into the operation. Errors leave nothing behind: an
 * operation's temp file is removed in done() unless it was committed.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_server_int.h"

#define XML_BODY_LIMIT (4u << 20) /* DeleteObjects with 1000 long keys fits */

arena_t *s3_arena(s3_req *r) { return &r->http->arena; }

/* ---- XML responses ---- */

void s3_xml_open(buf_t *b, const char *root) {
    buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
               root);
}

void s3_xml_elem_n(buf_t *b, const char *name, const char *text, size_t n) {
    buf_printf(b, "<%s>", name);
    s3_xml_escape(b, text, n);
    buf_printf(b, "</%s>", name);
}

void s3_xml_elem(buf_t *b, const char *name, const char *text) {
    s3_xml_elem_n(b, name, text ? text : "", text ? strlen(text) : 0);
}

void s3_xml_elem_u64(buf_t *b, const char *name, uint64_t v) {
    buf_printf(b, "<%s>%llu</%s>", name, (unsigned long long)v, name);
}

void s3_xml_elem_bool(buf_t *b, const char *name, bool v) {
    buf_printf(b, "<%s>%s</%s>", name, v ? "true" : "false", name);
}

void s3_respond_xml(s3_req *r, int status, buf_t *body) {
    size_t n = body->len;
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond_owned(r->http, status, "application/xml", buf_steal(body), n);
}

void s3_quote_etag(const char *etag, char out[52]) { snprintf(out, 52, "\"%s\"", etag); }

void s3_error(s3_req *r, int status, const char *code, const char *fmt, ...) {
    char msg[600] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    if (http_req_is(r->http, "HEAD")) {
        /* HEAD responses carry no body; the code travels in a header. */
        http_resp_header(r->http, "x-amz-error-code", code);
        http_respond(r->http, status, NULL, NULL, 0);
        return;
    }
    buf_t b = BUF_INIT;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    s3_xml_elem(&b, "Code", code);
    s3_xml_elem(&b, "Message", msg);
    if (r->bucket) s3_xml_elem(&b, "BucketName", r->bucket);
    if (r->key) s3_xml_elem_n(&b, "Key", r->key, r->key_len);
    s3_xml_elem_n(&b, "Resource", r->http->raw_path, r->http->raw_path_len);
    s3_xml_elem(&b, "RequestId", r->request_id);
    buf_puts(&b, "</Error>");
    size_t n = b.len;
    http_respond_owned(r->http, status, "application/xml", buf_steal(&b), n);
    log_debug("s3", "%s %s -> %d %s: %s", r->http->method, r->http->raw_uri, status, code, msg);
}

void s3_error_from(s3_req *r, const floe_err *err) {
    switch (err->code) {
    case FLOE_ENOENT:
        if (strstr(err->msg, "bucket"))
            s3_error(r, 404, "NoSuchBucket", "The specified bucket does not exist");
        else if (strstr(err->msg, "upload"))
            s3_error(r, 404, "NoSuchUpload", "%s", err->msg);
        else
            s3_error(r, 404, "NoSuchKey", "The specified key does not exist.");
        break;
    case FLOE_EPRECOND: s3_error(r, 412, "PreconditionFailed", "%s", err->msg); break;
    case FLOE_ECONFLICT:
        s3_error(r, 409, "ConditionalRequestConflict", "A conflicting operation occurred: %s. Retry the request.",
                 err->msg);
        break;
    case FLOE_ENOSPC:
        log_error("s3", "%s %s: %s", r->http->method, r->http->raw_uri, err->msg);
        s3_error(r, 507, "InsufficientStorage", "The server's disk is full (%s). Free space and retry.", err->msg);
        break;
    case FLOE_EINVAL: s3_error(r, 400, "InvalidArgument", "%s", err->msg); break;
    case FLOE_ETOOLARGE: s3_error(r, 400, "EntityTooLarge", "%s", err->msg); break;
    default:
        log_error("s3", "%s %s: %s", r->http->method, r->http->raw_uri, err->msg);
        s3_error(r, 500, "InternalError", "We encountered an internal error: %s. Please try again.", err->msg);
    }
}

/* ---- names ---- */

bool s3_bucket_name_valid(const char *name, const char **why) {
    size_t n = strlen(name);
    if (n < 3 || n > 63) return *why = "must be 3 to 63 characters long", false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' || c == '-'))
            return *why = "may contain only lower-case letters, digits, '.' and '-'", false;
    }
    if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
        return *why = "must start and end with a letter or digit", false;
    if (strstr(name, "..")) return *why = "must not contain '..'", false;
    if (strncmp(name, "xn--", 4) == 0 || str_ends_with(name, "-s3alias") || str_ends_with(name, "--ol-s3"))
        return *why = "uses a reserved prefix or suffix", false;
    int a, b, c, d;
    char tail;
    if (sscanf(name, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4)
        return *why = "must not be formatted as an IP address", false;
    return true;
}

bool s3_check_key(s3_req *r) {
    if (r->key_len > 1024) {
        s3_error(r, 400, "KeyTooLongError", "Your key is %zu bytes; the limit is 1024 bytes.", r->key_len);
        return false;
    }
    if (!str_utf8_valid(r->key, r->key_len) || memchr(r->key, '\0', r->key_len)) {
        s3_error(r, 400, "InvalidArgument", "Object keys must be valid UTF-8 without NUL bytes.");
        return false;
    }
    const char *seg = r->key, *end = r->key + r->key_len;
    while (seg <= end) {
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        size_t n = slash ? (size_t)(slash - seg) : (size_t)(end - seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            s3_error(r, 400, "InvalidArgument",
                     "Object key has a '.' or '..' path segment, which clients resolve differently; "
                     "rename the key without them.");
            return false;
        }
        if (!slash) break;
        seg = slash + 1;
    }
    return true;
}

bool s3_require_bucket(s3_req *r, store_bucket *out) {
    floe_err err;
    store_bucket tmp;
    if (store_bucket_get(r->srv->store, r->bucket, s3_arena(r), out ? out : &tmp, &err)) return true;
    s3_error_from(r, &err);
    return false;
}

/* ---- the pipeline ---- */

static void new_request_id(char out[17]) {
    unsigned char b[8];
    if (getrandom(b, sizeof b, 0) != sizeof b) memset(b, 0, sizeof b);
    str_hex(b, 8, out);
    for (char *p = out; *p; p++) *p = (char)toupper((unsigned char)*p);
}

/* Splits the decoded path into bucket and key. False when the bucket part
 * holds a NUL byte (%00), which as a C string would name another bucket. */
static bool split_path(s3_req *r) {
    http_req_t *h = r->http;
    const char *p = h->path + 1; /* after the leading '/' */
    size_t n = h->path_len > 0 ? h->path_len - 1 : 0;
    if (n == 0) return true;
    const char *slash = memchr(p, '/', n);
    size_t blen = slash ? (size_t)(slash - p) : n;
    if (memchr(p, '\0', blen)) return false;
    r->bucket = arena_strndup(&h->arena, p, blen);
    if (slash && (size_t)(slash - p) + 1 < n) {
        r->key = (char *)slash + 1;
        r->key_len = n - blen - 1;
    }
    return true;
}

static bool deliver(void *ctx, const char *p, size_t n, floe_err *err);

static void s3_begin(http_req_t *h, void *ctx) {
    s3_req *r = arena_zalloc(&h->arena, sizeof *r);
    h->user = r;
    r->http = h;
    r->srv = ctx;
    r->op_index = -1;
    new_request_id(r->request_id);
    if (h->bad_uri) {
        s3_error(r, 400, "InvalidURI", "Couldn't parse the specified URI: a '%%' escape is malformed.");
        return;
    }
    if (!split_path(r)) {
        s3_error(r, 400, "InvalidBucketName", "The bucket name in the path contains a NUL byte (%%00).");
        return;
    }
    r->op = s3_route(r);
    r->op_index = s3_op_index(r->op->name);
    if (!s3_authenticate(r)) return;
    if (r->key && !s3_check_key(r)) return;
    if (!s3_authorize(r)) return;
    if (r->op->begin) r->op->begin(r);
}

static bool deliver(void *ctx, const char *p, size_t n, floe_err *err) {
    s3_req *r = ctx;
    r->body_bytes += n;
    if (r->verify_sha256) hash_update(&r->body_sha256, p, n);
    if (r->op->body == BODY_XML) {
        if (r->xml.len + n > XML_BODY_LIMIT)
            return floe_err_set(err, FLOE_ETOOLARGE, "the request body is larger than %u bytes", XML_BODY_LIMIT);
        buf_append(&r->xml, p, n);
        return true;
    }
    if (r->op->body == BODY_OBJECT && r->writer) return store_writer_write(r->writer, p, n, err);
    if (n > 0) return floe_err_set(err, FLOE_EINVAL, "this request takes no body");
    return true;
}

static void body_error(s3_req *r, const floe_err *err) {
    if (err->code == FLOE_EAUTH)
        s3_error(r, 403, "SignatureDoesNotMatch", "%s", err->msg);
    else if (err->code == FLOE_ETOOLARGE)
        s3_error(r, 400, "EntityTooLarge", "%s", err->msg);
    else if (err->code == FLOE_EINVAL && r->aws_chunked)
        s3_error(r, 400, "IncompleteBody", "The aws-chunked body is malformed: %s", err->msg);
    else if (err->code == FLOE_EINVAL)
        s3_error(r, 400, "UnexpectedContent", "%s", err->msg);
    else
        s3_error_from(r, err);
}

static void s3_body(http_req_t *h, const char *data, size_t len, void *ctx) {
    s3_req *r = h->user;
    floe_err err;
    bool ok = r->aws_chunked ? s3_chunked_feed(&r->chunked, data, len, deliver, r, &err) : deliver(r, data, len, &err);
    if (!ok) body_error(r, &err);
}

static void run_end(http_req_t *h, void *arg) {
    s3_req *r = arg;
    r->op->end(r);
}

static void s3_end(http_req_t *h, void *ctx) {
    s3_req *r = h->user;
    floe_err err;
    if (r->aws_chunked && !s3_chunked_finish(&r->chunked, &err)) {
        s3_error(r, 400, "IncompleteBody", "The aws-chunked body ended early: %s", err.msg);
        return;
    }
    if (r->has_decoded_length && r->body_bytes != r->decoded_length) {
        s3_error(r, 400, "IncompleteBody", "Received %llu body bytes but the request declared %llu.",
                 (unsigned long long)r->body_bytes, (unsigned long long)r->decoded_length);
        return;
    }
    if (r->verify_sha256) {
        unsigned char d[HASH_MAX_DIGEST];
        char hex[65];
        hash_final(&r->body_sha256, d);
        r->verify_sha256 = false;
        str_hex(d, 32, hex);
        if (strcmp(hex, r->expected_sha256) != 0) {
            s3_error(r, 400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return;
        }
    }
    /* Writes may block (fsync, the group commit, large copies): they finish
     * on a worker thread while the connection waits, suspended. Reads stay on
     * the event thread. */
    if (r->op->write)
        http_req_defer(h, run_end, r);
    else
        r->op->end(r);
}

static void s3_done(http_req_t *h, bool completed, void *ctx) {
    s3_req *r = h->user;
    if (!r) return;
    if (r->writer) {
        store_writer_abort(r->writer);
        r->writer = NULL;
    }
    if (r->verify_sha256) hash_abort(&r->body_sha256);
    if (r->aws_chunked) s3_chunked_free(&r->chunked);
    buf_free(&r->xml);
    if (!completed && h->responded == false)
        log_info("s3", "%s %s: client went away after %llu body bytes; nothing was stored", h->method, h->raw_uri,
                 (unsigned long long)h->body_bytes);
}

s3_server_t *s3_server_start(const floe_config *cfg, store_t *store, floe_err *err) {
    s3_server_t *srv = calloc(1, sizeof *srv);
    srv->cfg = cfg;
    srv->store = store;
    srv->started_ms = time_now_ms();
    if (!s3_identities_load(srv, err)) {
        free(srv);
        return NULL;
    }
    /* Buckets named public in the config are marked so in the index. */
    for (size_t i = 0; i < cfg->npublic; i++) {
        floe_err e2;
        if (!store_bucket_set_public(store, cfg->public_buckets[i], true, &e2) && e2.code == FLOE_ENOENT &&
            !store_bucket_create(store, cfg->public_buckets[i], true, &e2))
            log_warn("s3", "public bucket %s: %s", cfg->public_buckets[i], e2.msg);
    }
    http_route routes[] = {
        {.method = NULL, .prefix = "/_floe/health", .exact = true, .handler = http_health_handler},
        {.method = NULL, .prefix = "/_floe/metrics", .exact = true, .handler = s3_metrics_handler},
        {.method = NULL, .prefix = "/", .handler = {s3_begin, s3_body, s3_end, s3_done, srv}},
    };
    routes[1].handler.ctx = srv;
    http_server_opts o = {.name = "s3",
                          .bind = cfg->bind,
                          .port = cfg->s3_port,
                          .routes = routes,
                          .nroutes = 3,
                          .max_header_bytes = 16 * 1024, /* S3 allows 8 KiB of headers on a PUT */
                          .observe = s3_metrics_observe,
                          .observe_ctx = srv};
    srv->http = http_server_start(&o, err);
    if (!srv->http) {
        free(srv->ids);
        free(srv);
        return NULL;
    }
    return srv;
}

int s3_server_port(s3_server_t *srv) { return http_server_port(srv->http); }

void s3_server_stop(s3_server_t *srv) {
    if (!srv) return;
    http_server_stop(srv->http);
    free(srv->ids);
    free(srv);
}
