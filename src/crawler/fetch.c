/*
 * fetch.c: one page's request, with everything that makes a crawler
 * polite and robust: the endpoint's and host's limits (limit.c), a timeout
 * on every request, and retries of 408, 429, 5xx and connection failures
 * with exponential backoff and jitter. A Retry-After (seconds or an HTTP
 * date) takes precedence over the backoff, and on a 429 it pauses every
 * thread that crawls the same host.
 *
 * Header values may be secrets: they go to libcurl and nowhere else.
 * Messages name the method, the URL (parameters never hold secrets:
 * config.c refuses ${VAR} outside headers), the status and the start of
 * the response body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/time.h"
#include "crawler/crawler_int.h"

typedef struct fetch_io {
    crawl_response *r;
    char retry_after[64];
    bool too_big;
} fetch_io;

static void on_header(void *arg, const char *line, size_t n) {
    fetch_io *io = arg;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n')) n--;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) { /* a new response (after a 100) */
        buf_reset(&io->r->link);
        io->retry_after[0] = 0;
        return;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon) return;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    while (v < line + n && (*v == ' ' || *v == '\t')) v++;
    size_t vlen = (size_t)(line + n - v);
    if (nlen == 11 && !strncasecmp(line, "retry-after", 11)) {
        snprintf(io->retry_after, sizeof io->retry_after, "%.*s", (int)(vlen < 63 ? vlen : 63), v);
    } else if (nlen == 4 && !strncasecmp(line, "link", 4)) {
        if (io->r->link.len) buf_puts(&io->r->link, ", ");
        buf_append(&io->r->link, v, vlen);
    }
}

static bool on_body(void *arg, long status, const char *p, size_t n) {
    fetch_io *io = arg;
    if (io->r->body.len + n > CRAWL_MAX_PAGE_BYTES) {
        io->too_big = true;
        return false;
    }
    buf_append(&io->r->body, p, n);
    return true;
}

static double jitter_unit(void) {
    static _Thread_local uint64_t x;
    if (!x) x = time_mono_ns() ^ ((uint64_t)(uintptr_t)&x << 16) ^ 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (double)(x >> 11) * 0x1.0p-53;
}

/* The start of a body, printable, for messages. */
static void snippet(const buf_t *b, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 1 < cap && i < 200; i++) {
        unsigned char c = (unsigned char)b->data[i];
        out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = 0;
}

static bool has_header(const crawl_endpoint *ep, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < ep->nheaders; i++)
        if (!strncasecmp(ep->headers[i], name, n) && ep->headers[i][n] == ':') return true;
    return false;
}

void crawl_response_free(crawl_response *r) {
    buf_free(&r->body);
    buf_free(&r->link);
}

static crawl_status fetch_loop(crawl_t *c, const crawl_endpoint *ep, crawl_host *host, const char *url,
                               const char *body, const char *const *hdrs, volatile int *cancel, crawl_response *resp,
                               floe_err *err) {
    crawl_metrics *m = &c->metrics;
    crawl_limiter *lim = (crawl_limiter *)&ep->limiter;
    char last[300] = "";
    for (int attempt = 0;; attempt++) {
        if (attempt > 0) atomic_fetch_add(&m->retries, 1);
        if (!crawl_limits_acquire(host, lim, cancel)) {
            floe_err_set(err, FLOE_EINTERNAL, "%s %s: stopped before the request (the worker is shutting down)",
                         ep->method, url);
            return CRAWL_CANCELLED;
        }
        buf_reset(&resp->body);
        buf_reset(&resp->link);
        fetch_io io = {.r = resp};
        http_call call = {.method = ep->method,
                          .url = url,
                          .headers = hdrs,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .has_body = body != NULL,
                          .on_header = on_header,
                          .on_body = on_body,
                          .arg = &io,
                          .timeout_s = (long)((ep->timeout_ms + 999) / 1000)};
        floe_err e = {0};
        bool ok = http_client_call(c->http, &call, &e);
        crawl_host_release(host);
        resp->attempts = attempt + 1;
        long status = ok ? call.status : 0;
        resp->status = status;
        atomic_fetch_add(&m->requests[status > 0 && status < CRAWL_STATUS_SLOTS ? status : 0], 1);
        if (ok) atomic_fetch_add(&m->response_bytes, resp->body.len);
        if (ok && io.too_big) {
            floe_err_set(err, FLOE_ETOOLARGE,
                         "%s %s: the response is larger than %u MiB; ask for smaller pages (pagination.limit)",
                         ep->method, url, CRAWL_MAX_PAGE_BYTES >> 20);
            return CRAWL_PERMANENT;
        }
        if (ok && status >= 200 && status <= 299) {
            resp->retry_after_ms = -1;
            return CRAWL_OK;
        }
        char snip[201];
        snippet(&resp->body, snip, sizeof snip);
        if (ok)
            snprintf(last, sizeof last, "HTTP %ld%s%s", status, snip[0] ? ": " : "", snip);
        else
            snprintf(last, sizeof last, "%s", e.msg);
        bool retryable = ok ? crawl_status_retryable(status) : call.transient;
        if (!retryable) {
            if (ok)
                floe_err_set(err, FLOE_EINVAL, "%s %s: HTTP %ld%s%s%s", ep->method, url, status,
                             status >= 300 && status < 400 ? " (a redirect: set base_url to where it points)" : "",
                             snip[0] ? ": " : "", snip);
            else
                floe_err_set(err, FLOE_EIO, "%s", e.msg);
            return CRAWL_PERMANENT;
        }
        int64_t ra = -1;
        if (ok && io.retry_after[0] && !crawl_retry_after_parse(io.retry_after, time_now_ms() / 1000, &ra)) ra = -1;
        if (ra > ep->retry_after_max_ms) ra = ep->retry_after_max_ms;
        resp->retry_after_ms = ra;
        if (status == 429) {
            atomic_fetch_add(&m->rate_limited, 1);
            if (ra >= 0) crawl_host_pause(host, ra);
        }
        if (attempt >= ep->retries) {
            floe_err_set(err, FLOE_EIO, "%s %s: gave up after %d attempts (retries: %d); the last: %s", ep->method, url,
                         attempt + 1, ep->retries, last);
            return CRAWL_RETRY;
        }
        int64_t delay = ra >= 0 ? ra : crawl_backoff_ms(attempt + 1, ep->backoff_ms, ep->backoff_max_ms, jitter_unit());
        char what[600];
        if (ok)
            snprintf(what, sizeof what, "%s %s: HTTP %ld", ep->method, url, status);
        else
            snprintf(what, sizeof what, "%s", e.msg);
        log_info("crawler", "%s; retry %d of %d in %lld ms%s", what, attempt + 1, ep->retries, (long long)delay,
                 ra >= 0 ? " (Retry-After)" : "");
        if (!crawl_sleep(delay, cancel)) {
            floe_err_set(err, FLOE_EINTERNAL, "%s %s: stopped while waiting to retry (the worker is shutting down)",
                         ep->method, url);
            return CRAWL_CANCELLED;
        }
    }
}

crawl_status crawl_fetch(crawl_t *c, const crawl_endpoint *ep, crawl_host *host, const char *url, const char *body,
                         volatile int *cancel, crawl_response *resp, floe_err *err) {
    const char **hdrs = calloc(ep->nheaders + 6, sizeof *hdrs);
    if (!hdrs) abort();
    size_t nh = 0;
    if (!has_header(ep, "Accept")) hdrs[nh++] = "Accept: application/json";
    if (!has_header(ep, "User-Agent")) hdrs[nh++] = "User-Agent: floe-crawler";
    if (body) {
        hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded";
        hdrs[nh++] = "Expect:";
    }
    for (size_t i = 0; i < ep->nheaders; i++) hdrs[nh++] = ep->headers[i];
    crawl_status st = fetch_loop(c, ep, host, url, body, hdrs, cancel, resp, err);
    free(hdrs);
    return st;
}
