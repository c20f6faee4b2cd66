/*
 * limit.c: how fast and how much the crawler may ask: token buckets per
 * endpoint and per host, a concurrency cap per host, the pause a 429's
 * Retry-After puts on a host, and the backoff between retries.
 *
 * Every thread of the process shares one crawl_t, so the limits hold for
 * the process as a whole. A request first takes a concurrency slot of its
 * host, then reserves a token from the endpoint's bucket and the host's,
 * then waits (holding the slot) until both tokens are due and any pause
 * is over. Reserving before waiting serves threads in the order they asked
 * and keeps the sum of their requests within rate * t + burst.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "crawler/crawler_int.h"

#define WAIT_SLICE_MS 50 /* how often a waiting thread looks at its cancel flag */

/* ---------------------------------------------------------------- buckets */

void crawl_bucket_init(crawl_bucket *b, double rate, double burst, uint64_t now_ns) {
    b->rate = rate;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

uint64_t crawl_bucket_reserve(crawl_bucket *b, uint64_t now_ns) {
    if (now_ns > b->last_ns) {
        b->tokens = fmin(b->burst, b->tokens + (double)(now_ns - b->last_ns) * 1e-9 * b->rate);
        b->last_ns = now_ns;
    }
    b->tokens -= 1;
    if (b->tokens >= 0) return 0;
    return (uint64_t)ceil(-b->tokens / b->rate * 1e9);
}

static uint64_t reserve_locked(pthread_mutex_t *mu, bool limited, crawl_bucket *b, uint64_t now) {
    if (!limited) return 0;
    pthread_mutex_lock(mu);
    uint64_t d = crawl_bucket_reserve(b, now);
    pthread_mutex_unlock(mu);
    return d;
}

/* ---------------------------------------------------------------- waiting */

static bool cancelled(volatile int *cancel) { return cancel && *cancel; }

bool crawl_sleep(int64_t ms, volatile int *cancel) {
    uint64_t end = time_mono_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000;
    for (;;) {
        if (cancelled(cancel)) return false;
        uint64_t now = time_mono_ns();
        if (now >= end) return true;
        uint64_t left = end - now, slice = (uint64_t)WAIT_SLICE_MS * 1000000;
        struct timespec ts = {0, 0};
        uint64_t d = left < slice ? left : slice;
        ts.tv_sec = (time_t)(d / 1000000000);
        ts.tv_nsec = (long)(d % 1000000000);
        nanosleep(&ts, NULL);
    }
}

static void abs_after(struct timespec *ts, uint64_t ns) {
    uint64_t t = time_mono_ns() + ns;
    ts->tv_sec = (time_t)(t / 1000000000);
    ts->tv_nsec = (long)(t % 1000000000);
}

bool crawl_limits_acquire(crawl_host *h, crawl_limiter *ep, volatile int *cancel) {
    /* a slot of the host */
    pthread_mutex_lock(&h->mu);
    while (h->active >= h->concurrency) {
        if (cancelled(cancel)) {
            pthread_mutex_unlock(&h->mu);
            return false;
        }
        struct timespec ts;
        abs_after(&ts, (uint64_t)WAIT_SLICE_MS * 1000000);
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    h->active++;
    pthread_mutex_unlock(&h->mu);
    /* tokens, then any pause */
    uint64_t now = time_mono_ns();
    uint64_t d1 = reserve_locked(&ep->mu, ep->limited, &ep->bucket, now);
    uint64_t d2 = reserve_locked(&h->mu, h->limited, &h->bucket, now);
    uint64_t until = now + (d1 > d2 ? d1 : d2);
    for (;;) {
        pthread_mutex_lock(&h->mu);
        uint64_t paused = h->paused_until_ns;
        pthread_mutex_unlock(&h->mu);
        if (paused > until) until = paused;
        now = time_mono_ns();
        if (now >= until) return true;
        if (!crawl_sleep((int64_t)((until - now + 999999) / 1000000), cancel)) {
            crawl_host_release(h);
            return false;
        }
    }
}

void crawl_host_release(crawl_host *h) {
    pthread_mutex_lock(&h->mu);
    h->active--;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void crawl_host_pause(crawl_host *h, int64_t delay_ms) {
    uint64_t until = time_mono_ns() + (uint64_t)(delay_ms > 0 ? delay_ms : 0) * 1000000;
    pthread_mutex_lock(&h->mu);
    if (until > h->paused_until_ns) h->paused_until_ns = until;
    pthread_mutex_unlock(&h->mu);
}

/* ---------------------------------------------------------------- retries */

bool crawl_retry_after_parse(const char *value, int64_t now_s, int64_t *ms) {
    if (!value) return false;
    while (*value == ' ' || *value == '\t') value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' || value[n - 1] == '\n')) n--;
    if (n == 0 || n >= 64) return false;
    char v[64];
    memcpy(v, value, n);
    v[n] = 0;
    uint64_t secs;
    if (strspn(v, "0123456789") == n) {
        if (n > 9 || !str_to_u64(v, &secs)) return false;
        *ms = (int64_t)secs * 1000;
        return true;
    }
    int64_t at;
    if (!time_parse_http_date(v, &at)) return false;
    *ms = at > now_s ? (at - now_s) * 1000 : 0;
    return true;
}

int64_t crawl_backoff_ms(int retry, int64_t initial_ms, int64_t max_ms, double u) {
    if (retry < 1) retry = 1;
    int64_t d = initial_ms;
    for (int i = 1; i < retry && d < max_ms; i++) d *= 2;
    if (d > max_ms) d = max_ms;
    if (u < 0) u = 0;
    if (u >= 1) u = 0.999999;
    return d / 2 + (int64_t)((double)(d - d / 2) * u);
}

bool crawl_status_retryable(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }
