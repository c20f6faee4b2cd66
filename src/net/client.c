/*
 * client.c: a blocking HTTP client on libcurl for Floe's own outbound calls.
 *
 * http_client_call does the work: one request on a libcurl handle, the body
 * sent from memory and the response streamed to callbacks. An http_client_t
 * keeps a few handles between calls, so their connections stay open
 * (keep-alive); http_fetch is a one-off call on a handle of its own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/curl_dl.h"
#include "net/http.h"

#define CLIENT_IDLE_MAX 4 /* handles kept between calls */
#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 60L /* a transfer moving under 1 byte/s this long fails */

struct http_client {
    pthread_mutex_t mu;
    CURL *idle[CLIENT_IDLE_MAX];
    int nidle;
};

/* ---- one call ---- */

typedef struct call_io {
    http_call *call;
    CURL *curl;
    size_t sent; /* body bytes handed to libcurl */
} call_io;

static size_t call_read(char *p, size_t size, size_t n, void *ud) {
    call_io *io = ud;
    size_t left = io->call->body_len - io->sent, k = size * n < left ? size * n : left;
    if (k) memcpy(p, (const char *)io->call->body + io->sent, k);
    io->sent += k;
    return k;
}

/* libcurl rewinds the body when it must send it again (a reused connection
 * that turned out closed). */
static int call_seek(void *ud, curl_off_t off, int origin) {
    call_io *io = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > io->call->body_len) return CURL_SEEKFUNC_FAIL;
    io->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static size_t call_header(char *p, size_t size, size_t n, void *ud) {
    call_io *io = ud;
    if (io->call->on_header) io->call->on_header(io->call->arg, p, size * n);
    return size * n;
}

static size_t call_body(char *p, size_t size, size_t n, void *ud) {
    call_io *io = ud;
    if (!io->call->on_body) return size * n;
    long status = 0;
    curl_easy_getinfo(io->curl, CURLINFO_RESPONSE_CODE, &status);
    if (io->call->on_body(io->call->arg, status, p, size * n)) return size * n;
    io->call->stopped = true;
    return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
}

static bool transient(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

static bool call_on(CURL *c, http_call *call, floe_err *err) {
    call_io io = {.call = call, .curl = c};
    call->status = 0;
    call->stopped = call->transient = false;
    struct curl_slist *hl = NULL;
    for (const char *const *h = call->headers; h && *h; h++) hl = curl_slist_append(hl, *h);
    curl_easy_reset(c); /* options only: the connection cache survives */
    curl_easy_setopt(c, CURLOPT_URL, call->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
    if (call->timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, call->timeout_s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, call_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &io);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, call_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &io);
    if (call->has_body) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, call_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &io);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, call_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &io);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_len);
    }
    if (strcmp(call->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(call->method, call->has_body ? "PUT" : "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &call->status);
    curl_slist_free_all(hl);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && call->stopped)) return true;
    call->transient = transient(rc);
    return floe_err_set(err, FLOE_EIO, "%s %s: %s", call->method, call->url, curl_easy_strerror(rc));
}

/* ---- the client: a few idle handles ---- */

http_client_t *http_client_new(void) {
    http_client_t *c = calloc(1, sizeof *c);
    if (!c) abort();
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void http_client_free(http_client_t *c) {
    if (!c) return;
    for (int i = 0; i < c->nidle; i++) curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool http_client_call(http_client_t *c, http_call *call, floe_err *err) {
    if (!curl_dl_load(err)) return false;
    pthread_mutex_lock(&c->mu);
    CURL *h = c->nidle ? c->idle[--c->nidle] : NULL;
    pthread_mutex_unlock(&c->mu);
    if (!h) h = curl_easy_init();
    if (!h) return floe_err_set(err, FLOE_ENOMEM, "%s %s: curl_easy_init failed", call->method, call->url);
    bool ok = call_on(h, call, err);
    pthread_mutex_lock(&c->mu);
    if (c->nidle < CLIENT_IDLE_MAX) {
        c->idle[c->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_cleanup(h);
    return ok;
}

/* ---- one-off requests ---- */

static void collect_header(void *arg, const char *line, size_t n) {
    buf_append(&((http_client_resp *)arg)->headers, line, n);
}

static bool collect_body(void *arg, long status, const char *p, size_t n) {
    buf_append(&((http_client_resp *)arg)->body, p, n);
    return true;
}

bool http_fetch(const char *method, const char *url, const char *const *headers, const void *body, size_t len,
                http_client_resp *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!curl_dl_load(err)) return false;
    CURL *c = curl_easy_init();
    if (!c) return floe_err_set(err, FLOE_ENOMEM, "curl_easy_init failed");
    http_call call = {.method = method,
                      .url = url,
                      .headers = headers,
                      .body = body,
                      .body_len = len,
                      .has_body = body != NULL,
                      .on_header = collect_header,
                      .on_body = collect_body,
                      .arg = out,
                      .timeout_s = 60};
    bool ok = call_on(c, &call, err);
    out->status = call.status;
    curl_easy_cleanup(c);
    return ok;
}

void http_client_resp_free(http_client_resp *r) {
    buf_free(&r->body);
    buf_free(&r->headers);
}
