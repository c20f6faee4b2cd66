/*
 * test_limits.c: the crawler's politeness arithmetic (src/crawler/limit.c):
 * token bucket reservations on an explicit clock, the backoff curve and its
 * jitter bounds, Retry-After in both forms, which statuses are retried,
 * and the per-host concurrency cap under threads.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/time.h"
#include "crawler/crawler_int.h"

#define S 1000000000ull /* ns in a second */

Test(crawl_bucket, burst_then_rate) {
    crawl_bucket b;
    uint64_t t = 5 * S;
    crawl_bucket_init(&b, 10, 3, t);
    /* the burst goes at once */
    for (int i = 0; i < 3; i++) cr_assert_eq(crawl_bucket_reserve(&b, t), 0, "request %d of the burst", i);
    /* then one every 100 ms: the 4th waits 100 ms, the 5th 200 ms */
    cr_assert_eq(crawl_bucket_reserve(&b, t), S / 10);
    cr_assert_eq(crawl_bucket_reserve(&b, t), 2 * S / 10);
    /* 250 ms later two tokens came back, both already reserved: the next waits 50 ms more */
    cr_assert_eq(crawl_bucket_reserve(&b, t + S / 4), S / 20);
}

Test(crawl_bucket, refills_only_to_burst) {
    crawl_bucket b;
    crawl_bucket_init(&b, 2, 4, 0);
    for (int i = 0; i < 4; i++) crawl_bucket_reserve(&b, 0);
    /* an hour idle refills 4 tokens, not 7200 */
    uint64_t t = 3600 * S;
    for (int i = 0; i < 4; i++) cr_assert_eq(crawl_bucket_reserve(&b, t), 0);
    cr_assert_eq(crawl_bucket_reserve(&b, t), S / 2);
}

/* Whatever the arrival pattern, reservations never let more than
 * rate * t + burst requests start within the first t seconds. */
Test(crawl_bucket, never_over_rate_times_time_plus_burst) {
    crawl_bucket b;
    double rate = 7, burst = 5;
    crawl_bucket_init(&b, rate, burst, 0);
    uint64_t starts[2000], now = 0, x = 12345;
    for (int i = 0; i < 2000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        now += (x >> 33) % (S / 5); /* arrivals 0..200 ms apart, often faster than the rate */
        starts[i] = now + crawl_bucket_reserve(&b, now);
    }
    for (int i = 1; i < 2000; i++) cr_assert_geq(starts[i], starts[i - 1], "served in order");
    for (int i = 0; i < 2000; i++) {
        int n = 0;
        for (int j = i; j < 2000 && starts[j] - starts[i] <= 2 * S; j++) n++;
        cr_assert_leq(n, (int)(rate * 2 + burst) + 1, "%d requests start within 2 s of request %d", n, i);
    }
}

Test(crawl_bucket, fractional_rate) {
    crawl_bucket b;
    crawl_bucket_init(&b, 0.5, 1, 0);
    cr_assert_eq(crawl_bucket_reserve(&b, 0), 0);
    cr_assert_eq(crawl_bucket_reserve(&b, 0), 2 * S);
}

Test(crawl_retry, backoff_doubles_to_the_cap_with_jitter) {
    cr_assert_eq(crawl_backoff_ms(1, 500, 30000, 0), 250, "u=0 is the bottom of [d/2, d]");
    cr_assert_eq(crawl_backoff_ms(1, 500, 30000, 0.999999), 499);
    cr_assert_eq(crawl_backoff_ms(2, 500, 30000, 0), 500);
    cr_assert_eq(crawl_backoff_ms(3, 500, 30000, 0), 1000);
    cr_assert_eq(crawl_backoff_ms(7, 500, 30000, 0), 15000);
    cr_assert_eq(crawl_backoff_ms(8, 500, 30000, 0), 15000, "capped: 64000 -> 30000");
    cr_assert_eq(crawl_backoff_ms(60, 500, 30000, 0.5), 22500, "no overflow far along");
    for (int r = 1; r < 12; r++)
        for (double u = 0; u < 1; u += 0.1) {
            int64_t d = crawl_backoff_ms(r, 1000, 60000, u), top = 1000LL << (r - 1);
            if (top > 60000) top = 60000;
            cr_assert(d >= top / 2 && d <= top, "retry %d u %.1f: %lld not in [%lld, %lld]", r, u, (long long)d,
                      (long long)top / 2, (long long)top);
        }
}

Test(crawl_retry, retry_after) {
    int64_t ms, now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    cr_assert(crawl_retry_after_parse("3", now, &ms) && ms == 3000);
    cr_assert(crawl_retry_after_parse(" 0 \r\n", now, &ms) && ms == 0);
    cr_assert(crawl_retry_after_parse("120", now, &ms) && ms == 120000);
    cr_assert(crawl_retry_after_parse("Tue, 14 Nov 2023 22:13:50 GMT", now, &ms) && ms == 30000, "%lld", (long long)ms);
    cr_assert(crawl_retry_after_parse("Tue, 14 Nov 2023 22:00:00 GMT", now, &ms) && ms == 0, "a past date: now");
    cr_assert(crawl_retry_after_parse("Tuesday, 14-Nov-23 22:13:21 GMT", now, &ms) && ms == 1000, "RFC 850");
    cr_assert_not(crawl_retry_after_parse("", now, &ms));
    cr_assert_not(crawl_retry_after_parse("-5", now, &ms));
    cr_assert_not(crawl_retry_after_parse("1.5", now, &ms));
    cr_assert_not(crawl_retry_after_parse("soon", now, &ms));
    cr_assert_not(crawl_retry_after_parse("99999999999", now, &ms));
    cr_assert_not(crawl_retry_after_parse(NULL, now, &ms));
}

Test(crawl_retry, which_statuses) {
    long yes[] = {408, 429, 500, 502, 503, 504, 599};
    long no[] = {200, 301, 400, 401, 403, 404, 410, 422, 600};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) cr_assert(crawl_status_retryable(yes[i]), "%ld", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) cr_assert_not(crawl_status_retryable(no[i]), "%ld", no[i]);
}

/* ---- the per-host concurrency cap under threads ---- */

typedef struct cap_test {
    crawl_host *h;
    crawl_limiter lim;
    _Atomic int inside, most, done;
} cap_test;

static void *cap_thread(void *arg) {
    cap_test *t = arg;
    for (int i = 0; i < 50; i++) {
        cr_assert(crawl_limits_acquire(t->h, &t->lim, NULL));
        int now = ++t->inside;
        int m = t->most;
        while (now > m && !atomic_compare_exchange_weak(&t->most, &m, now)) {
        }
        sched_yield();
        t->inside--;
        crawl_host_release(t->h);
    }
    t->done++;
    return NULL;
}

Test(crawl_limits, host_concurrency_cap) {
    floe_err err = {0};
    const char *yaml =
        "hosts:\n  \"h.test:80\": {concurrency: 2}\nendpoints:\n  e: {base_url: http://h.test, records: $}\n";
    crawl_t *c = crawl_load_str(yaml, strlen(yaml), "t.yaml", &err);
    cr_assert(c, "%s", err.msg);
    cap_test t = {.h = crawl_host_get(c, "h.test:80")};
    pthread_mutex_init(&t.lim.mu, NULL);
    cr_assert_eq(t.h->concurrency, 2);
    pthread_t th[6];
    for (int i = 0; i < 6; i++) pthread_create(&th[i], NULL, cap_thread, &t);
    for (int i = 0; i < 6; i++) pthread_join(th[i], NULL);
    cr_assert_eq(t.done, 6);
    cr_assert_leq(t.most, 2, "at most 2 in flight, saw %d", (int)t.most);
    cr_assert_eq(t.h->active, 0);
    pthread_mutex_destroy(&t.lim.mu);
    crawl_free(c);
}

Test(crawl_limits, cancel_stops_a_wait) {
    floe_err err = {0};
    const char *yaml = "hosts:\n  \"h.test:80\": {rate: 0.01, burst: 1, concurrency: 1}\n"
                       "endpoints:\n  e: {base_url: http://h.test, records: $}\n";
    crawl_t *c = crawl_load_str(yaml, strlen(yaml), "t.yaml", &err);
    cr_assert(c, "%s", err.msg);
    crawl_host *h = crawl_host_get(c, "h.test:80");
    crawl_limiter lim = {0};
    pthread_mutex_init(&lim.mu, NULL);
    volatile int cancel = 0;
    cr_assert(crawl_limits_acquire(h, &lim, &cancel), "the burst token");
    crawl_host_release(h);
    cancel = 1; /* the next token is 100 s away: a cancelled wait gives up at once, holding nothing */
    cr_assert_not(crawl_limits_acquire(h, &lim, &cancel));
    cr_assert_eq(h->active, 0);
    crawl_host_pause(h, 50);
    cr_assert_gt(h->paused_until_ns, time_mono_ns());
    pthread_mutex_destroy(&lim.mu);
    crawl_free(c);
}
