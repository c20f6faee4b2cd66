/*
 * fileio_s3_req.c: one request to a remote S3 service, for fileio_s3.
 *
 * A request is addressed path-style (endpoint/bucket/key) or virtual-host
 * style (bucket.endpoint/key), signed with SigV4 over the real SHA-256 of
 * its body (so the server checks the bytes), and sent on the FileIO's
 * keep-alive HTTP client. Transient failures are retried: connection
 * errors, 500/502/503/504, 429 and the S3 codes that mean "try again"
 * (SlowDown, RequestTimeout, InternalError, ConditionalRequestConflict),
 * after a backoff that doubles from 100 ms (capped at 5 s) with half of it
 * random, so clients that failed together do not retry together. Each
 * attempt is signed afresh, with the time it is sent.
 *
 * An error names the FileIO URI, the method, the HTTP status, S3's error
 * Code and Message, and what to do about the common ones.
 */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "store/fileio_s3_int.h"

#define ERRBODY_MAX (64u << 10)

/* ---- endpoint ---- */

bool s3c_set_endpoint(s3c *io, const char *endpoint, floe_err *err) {
    const char *p = endpoint;
    if (str_starts_with(p, "http://"))
        io->scheme = strdup("http"), p += 7;
    else if (str_starts_with(p, "https://"))
        io->scheme = strdup("https"), p += 8;
    else
        return floe_err_set(err, FLOE_EINVAL,
                            "S3 endpoint '%s' is not an http:// or https:// URL; expected e.g. http://127.0.0.1:9000",
                            endpoint);
    size_t hl = strcspn(p, "/?#");
    if (hl == 0 || memchr(p, '@', hl) || p[hl] == '?' || p[hl] == '#')
        return floe_err_set(err, FLOE_EINVAL,
                            "S3 endpoint '%s' needs a host and no user, query or fragment; expected e.g. "
                            "http://127.0.0.1:9000",
                            endpoint);
    io->host = strndup(p, hl);
    size_t pl = strlen(p + hl);
    while (pl > 0 && p[hl + pl - 1] == '/') pl--;
    io->base_path = strndup(p + hl, pl);
    if (!io->scheme || !io->host || !io->base_path) abort();
    return true;
}

/* ---- addressing ---- */

static bool use_vhost(const s3c *io, const char *bucket) {
    if (io->addressing == S3C_ADDR_VHOST) return true;
    /* On AWS, virtual-host style, but for bucket names with dots, which the
     * TLS certificate of *.s3.region.amazonaws.com does not cover. */
    return io->addressing == S3C_ADDR_AWS_AUTO && !strchr(bucket, '.');
}

typedef struct s3c_target {
    buf_t host;  /* the Host header */
    buf_t path;  /* URI-encoded, as sent and as signed */
    buf_t query; /* as sent */
    buf_t url;
} s3c_target;

static void target_build(const s3c *io, const s3c_req *r, s3c_target *t) {
    const fileio_s3_uri *w = r->where;
    bool vhost = use_vhost(io, w->bucket);
    if (vhost) buf_printf(&t->host, "%s.", w->bucket);
    buf_puts(&t->host, io->host);
    buf_puts(&t->path, io->base_path);
    if (!vhost) {
        buf_putc(&t->path, '/');
        str_uri_encode(&t->path, w->bucket, strlen(w->bucket), true);
    }
    if (vhost || w->key_len) buf_putc(&t->path, '/');
    str_uri_encode(&t->path, w->key, w->key_len, true);
    for (size_t i = 0; i < r->nquery; i++) {
        buf_putc(&t->query, i ? '&' : '?');
        str_uri_encode(&t->query, r->query[i].name, strlen(r->query[i].name), false);
        if (!r->query[i].value[0]) continue;
        buf_putc(&t->query, '=');
        str_uri_encode(&t->query, r->query[i].value, strlen(r->query[i].value), false);
    }
    buf_printf(&t->url, "%s://%s%s%s", io->scheme, t->host.data, t->path.data, t->query.data ? t->query.data : "");
}

static void target_free(s3c_target *t) {
    buf_free(&t->host);
    buf_free(&t->path);
    buf_free(&t->query);
    buf_free(&t->url);
}

/* ---- signing ---- */

static void signing_key(s3c *io, const char *date8, unsigned char key[32]) {
    pthread_mutex_lock(&io->key_mu);
    if (strcmp(io->key_date, date8) != 0) {
        s3_sigv4_signing_key(io->secret_key, date8, io->region, "s3", io->key);
        snprintf(io->key_date, sizeof io->key_date, "%s", date8);
    }
    memcpy(key, io->key, 32);
    pthread_mutex_unlock(&io->key_mu);
}

/* The signed headers, then Authorization and the rest, as "Name: value". */
typedef struct s3c_signed {
    char amz_date[17];
    buf_t lines[8];
    const char *list[16];
} s3c_signed;

static void sign(s3c *io, const s3c_req *r, const s3c_target *t, const char *payload_hash, s3c_signed *s) {
    time_t now = (time_t)(time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->amz_date, sizeof s->amz_date, "%Y%m%dT%H%M%SZ", &tm);
    char date8[9];
    memcpy(date8, s->amz_date, 8);
    date8[8] = '\0';
    s3_kv hdr[4] = {{"host", t->host.data}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", s->amz_date}};
    size_t nh = 3;
    if (io->session_token) hdr[nh++] = (s3_kv){"x-amz-security-token", io->session_token};
    const char *signed_headers = io->session_token ? "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
                                                   : "host;x-amz-content-sha256;x-amz-date";
    s3_sigv4_input in = {.method = r->method,
                         .path = t->path.data,
                         .path_len = t->path.len,
                         .path_encoded = true,
                         .query = r->query,
                         .nquery = r->nquery,
                         .headers = hdr,
                         .nheaders = nh,
                         .signed_headers = signed_headers,
                         .payload_hash = payload_hash};
    buf_t creq = BUF_INIT, sts = BUF_INIT, scope = BUF_INIT;
    s3_sigv4_canonical_request(&in, &creq);
    buf_printf(&scope, "%s/%s/s3/aws4_request", date8, io->region);
    s3_sigv4_string_to_sign(s->amz_date, scope.data, creq.data, &sts);
    unsigned char key[32];
    signing_key(io, date8, key);
    char sig[65];
    s3_sigv4_sign(key, sts.data, sig);
    memset(key, 0, sizeof key);
    size_t n = 0;
    for (size_t i = 0; i < nh; i++) buf_printf(&s->lines[n++], "%s: %s", hdr[i].name, hdr[i].value);
    buf_printf(&s->lines[n++], "Authorization: %s Credential=%s/%s, SignedHeaders=%s, Signature=%s", S3_SIGV4_ALGORITHM,
               io->access_key, scope.data, signed_headers, sig);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) s->list[k++] = s->lines[i].data;
    s->list[k++] = "Expect:"; /* no 100-continue round trip before a body */
    if (r->content_type) {
        buf_printf(&s->lines[n], "Content-Type: %s", r->content_type);
        s->list[k++] = s->lines[n].data;
    }
    for (size_t i = 0; i < r->nheaders; i++) s->list[k++] = r->headers[i];
    s->list[k] = NULL;
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&scope);
}

static void signed_free(s3c_signed *s) {
    for (size_t i = 0; i < sizeof s->lines / sizeof s->lines[0]; i++) buf_free(&s->lines[i]);
}

/* ---- the response ---- */

static void copy_value(char *dst, size_t cap, const char *v, size_t n) {
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    while (n && *v == ' ') v++, n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void on_header(void *arg, const char *line, size_t n) {
    s3c_req *r = arg;
    if (n >= 5 && !memcmp(line, "HTTP/", 5)) { /* a new response (after a 100) */
        r->etag[0] = r->code[0] = '\0';
        r->has_length = false;
        return;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon) return;
    size_t nl = (size_t)(colon - line), vl = n - nl - 1;
    const char *v = colon + 1;
    if (nl == 4 && !strncasecmp(line, "etag", 4)) {
        copy_value(r->etag, sizeof r->etag, v, vl);
    } else if (nl == 16 && !strncasecmp(line, "x-amz-error-code", 16)) {
        copy_value(r->code, sizeof r->code, v, vl);
    } else if (nl == 14 && !strncasecmp(line, "content-length", 14)) {
        char num[32];
        copy_value(num, sizeof num, v, vl);
        r->has_length = str_to_u64(num, &r->length);
    }
}

static bool on_body(void *arg, long status, const char *p, size_t n) {
    s3c_req *r = arg;
    if (status < 200 || status > 299) {
        if (r->errbody.len < ERRBODY_MAX) buf_append(&r->errbody, p, n);
        return true;
    }
    if (!r->dst) {
        if (r->out) buf_append(r->out, p, n);
        r->got += n;
        return true;
    }
    if (status == 200 && r->skipped < r->range_off) { /* the server ignored Range: skip to it */
        uint64_t k = r->range_off - r->skipped < n ? r->range_off - r->skipped : n;
        r->skipped += k, p += k, n -= (size_t)k;
    }
    size_t room = r->dst_len - r->got, k = n < room ? n : room;
    memcpy(r->dst + r->got, p, k);
    r->got += k;
    if (k == n) return true;
    if (status == 200)
        r->whole_done = true; /* the rest of a whole object we did not ask for */
    else
        r->overflow = true;
    return false;
}

/* ---- errors ---- */

static void on_error_elem(void *arg, const char *path, const char *text, size_t n) {
    s3c_req *r = arg;
    if (!strcmp(path, "/Error/Code")) copy_value(r->code, sizeof r->code, text, n);
    if (!strcmp(path, "/Error/Message")) copy_value(r->message, sizeof r->message, text, n);
}

static void parse_error_body(s3c_req *r, const buf_t *body) {
    if (!body->len) return;
    floe_err ignored;
    s3c_xml_walk(body->data, body->len, on_error_elem, r, &ignored);
}

/* A 200 that carries <Error> (CompleteMultipartUpload may answer so after
 * it has started streaming whitespace). */
static bool error_in_200(s3c_req *r) {
    if (!r->error_in_200 || !r->out || r->out->len == r->out_base) return false;
    const char *b = r->out->data + r->out_base;
    if (!strstr(b, "<Error>")) return false;
    buf_t copy = BUF_INIT;
    buf_append(&copy, b, r->out->len - r->out_base);
    parse_error_body(r, &copy);
    buf_free(&copy);
    return r->code[0] != '\0';
}

static bool retryable_code(const char *code) {
    /* ConditionalRequestConflict: a conditional write raced another; the
     * retry sees the winner (412) or succeeds. */
    static const char *const codes[] = {"SlowDown",
                                        "RequestTimeout",
                                        "InternalError",
                                        "ServiceUnavailable",
                                        "Throttling",
                                        "ThrottlingException",
                                        "ConditionalRequestConflict",
                                        NULL};
    for (const char *const *c = codes; *c; c++)
        if (!strcmp(code, *c)) return true;
    return false;
}

static bool retryable_status(long status) {
    return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

static floe_code status_code(long status, const char *code) {
    if (!strcmp(code, "EntityTooLarge")) return FLOE_ETOOLARGE;
    switch (status) {
    case 404: return FLOE_ENOENT;
    case 401:
    case 403: return FLOE_EAUTH;
    case 409: return FLOE_ECONFLICT;
    case 412: return FLOE_EPRECOND;
    case 413: return FLOE_ETOOLARGE;
    case 507: return FLOE_ENOSPC;
    default: return status >= 400 && status < 500 ? FLOE_EINVAL : FLOE_EIO;
    }
}

static const char *hint(const char *code) {
    static const char *const hints[][2] = {
        {"SignatureDoesNotMatch", "check the secret key and the region the client signs for"},
        {"InvalidAccessKeyId", "check the access key; the service does not know it"},
        {"AccessDenied", "the credentials lack permission here; check their grants"},
        {"NoSuchBucket", "create the bucket or fix the bucket name in the URI"},
        {"RequestTimeTooSkewed", "fix this machine's clock"},
        {"AuthorizationHeaderMalformed", "check the region the client signs for"},
    };
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (!strcmp(code, hints[i][0])) return hints[i][1];
    return NULL;
}

static bool http_error(const s3c *io, const s3c_req *r, floe_err *err) {
    const char *code = r->code[0] ? r->code : "(no error code)";
    const char *h = hint(r->code);
    char tries[48] = "";
    if (r->attempts > 1) snprintf(tries, sizeof tries, " after %d attempts", r->attempts);
    return floe_err_set(err, status_code(r->status, r->code),
                        "%s: %s returned HTTP %ld %s%s%s%s%s%s (endpoint %s://%s%s)", r->uri, r->method, r->status,
                        code, r->message[0] ? ": " : "", r->message, tries, h ? "; " : "", h ? h : "", io->scheme,
                        io->host, io->base_path);
}

/* ---- sending ---- */

static void backoff(int retry) {
    uint64_t cap = S3C_RETRY_BASE_MS << (retry < 16 ? retry : 16);
    if (cap > S3C_RETRY_CAP_MS) cap = S3C_RETRY_CAP_MS;
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd = (uint32_t)time_mono_ns();
    uint64_t ms = cap / 2 + rnd % (cap / 2 + 1);
    usleep((useconds_t)(ms * 1000));
}

static void attempt_reset(s3c_req *r) {
    r->status = 0;
    r->etag[0] = r->code[0] = r->message[0] = '\0';
    r->has_length = false;
    r->got = 0;
    r->skipped = 0;
    r->whole_done = r->overflow = false;
    buf_reset(&r->errbody);
    if (r->out) {
        r->out->len = r->out_base;
        if (r->out->data) r->out->data[r->out->len] = '\0';
    }
}

/* One attempt. Returns true when it got an answer worth keeping (2xx, or an
 * error not worth retrying); *retry says whether another attempt may help. */
static bool attempt(s3c *io, s3c_req *r, const s3c_target *t, const char *payload_hash, bool *retry, floe_err *err) {
    attempt_reset(r);
    s3c_signed s = {0};
    sign(io, r, t, payload_hash, &s);
    http_call call = {.method = r->method,
                      .url = t->url.data,
                      .headers = s.list,
                      .body = r->body,
                      .body_len = r->body_len,
                      .has_body = r->has_body,
                      .on_header = on_header,
                      .on_body = on_body,
                      .arg = r};
    bool sent = http_client_call(io->http, &call, err);
    signed_free(&s);
    r->status = call.status;
    *retry = false;
    if (!sent) {
        *retry = call.transient;
        return floe_err_wrap(err, "%s", r->uri);
    }
    if (r->status >= 200 && r->status <= 299) {
        if (r->overflow)
            return floe_err_set(err, FLOE_EIO, "%s: %s sent more than the %zu bytes asked for", r->uri, r->method,
                                r->dst_len);
        if (r->dst && r->got != r->dst_len) {
            *retry = true; /* a body cut short: the connection broke */
            return floe_err_set(err, FLOE_EIO, "%s: %s returned %zu of the %zu bytes asked for", r->uri, r->method,
                                r->got, r->dst_len);
        }
        if (!error_in_200(r)) return true;
        r->status = 500; /* report it as the failure it is */
    } else {
        parse_error_body(r, &r->errbody);
    }
    *retry = retryable_status(r->status) || retryable_code(r->code);
    return http_error(io, r, err);
}

bool s3c_send(s3c *io, s3c_req *r, floe_err *err) {
    s3c_target t = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
    target_build(io, r, &t);
    char payload_hash[65];
    if (r->has_body && r->body_len)
        hash_sha256_hex(r->body, r->body_len, payload_hash);
    else
        snprintf(payload_hash, sizeof payload_hash, "%s", S3_EMPTY_SHA256);
    r->out_base = r->out ? r->out->len : 0;
    bool ok = false, retry = false;
    for (r->attempts = 1;; r->attempts++) {
        ok = attempt(io, r, &t, payload_hash, &retry, err);
        if (ok || !retry || r->attempts > io->max_retries) break;
        log_info("s3-client", "%s; retry %d of %d", err->msg, r->attempts, io->max_retries);
        backoff(r->attempts - 1);
    }
    if (!ok && r->attempts > 1 && r->status == 0) {
        char tries[48];
        snprintf(tries, sizeof tries, " (after %d attempts)", r->attempts);
        size_t n = strlen(err->msg);
        if (n + strlen(tries) < sizeof err->msg) memcpy(err->msg + n, tries, strlen(tries) + 1);
    }
    target_free(&t);
    return ok;
}

void s3c_req_free(s3c_req *r) { buf_free(&r->errbody); }

/* ---- XML ---- */

typedef struct xml_walk {
    void (*on_end)(void *arg, const char *path, const char *text, size_t n);
    void *arg;
    buf_t path;
    buf_t text;
} xml_walk;

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
    xml_walk *w = ud;
    buf_putc(&w->path, '/');
    buf_puts(&w->path, name);
    buf_reset(&w->text);
}

static void XMLCALL xml_text(void *ud, const XML_Char *s, int len) {
    xml_walk *w = ud;
    buf_append(&w->text, s, (size_t)len);
}

static void XMLCALL xml_end(void *ud, const XML_Char *name) {
    xml_walk *w = ud;
    w->on_end(w->arg, w->path.data, w->text.data ? w->text.data : "", w->text.len);
    buf_reset(&w->text);
    char *slash = strrchr(w->path.data, '/');
    w->path.len = (size_t)(slash - w->path.data);
    *slash = '\0';
}

bool s3c_xml_walk(const char *body, size_t len, void (*on_end)(void *arg, const char *path, const char *text, size_t n),
                  void *arg, floe_err *err) {
    if (len > INT32_MAX) return floe_err_set(err, FLOE_ETOOLARGE, "an XML body of %zu bytes is too large", len);
    XML_Parser p = XML_ParserCreate(NULL);
    if (!p) return floe_err_set(err, FLOE_ENOMEM, "XML_ParserCreate failed");
    xml_walk w = {.on_end = on_end, .arg = arg, .path = BUF_INIT, .text = BUF_INIT};
    XML_SetUserData(p, &w);
    XML_SetElementHandler(p, xml_start, xml_end);
    XML_SetCharacterDataHandler(p, xml_text);
    bool ok = XML_Parse(p, body, (int)len, 1) == XML_STATUS_OK;
    if (!ok)
        floe_err_set(err, FLOE_EIO, "the S3 service sent malformed XML (%s at line %lu)",
                     XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    buf_free(&w.path);
    buf_free(&w.text);
    return ok;
}
