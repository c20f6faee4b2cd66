/*
 * test_crawl.c: crawl_run and the worker end to end, in process: a small
 * API on a free port of 127.0.0.1 (every pagination style, faults on
 * demand, slow pages), output to local files through fileio_local, jobs
 * through the embedded SQLite queue. Checks the landed JSONL against what
 * the API served, the manifest, redelivery without requests, retries of
 * 503 and 429, permanent failures, cancel leaving nothing behind, the
 * worker's ack, nack and release, and heartbeats keeping a long job.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/time.h"
#include "crawler/crawler_int.h"
#include "queue/queue.h"
#include "store/fileio.h"

#define TOTAL 2345 /* records the API has */

static http_server_t *srv;
static int port;
static _Atomic int requests, fail_next, ratelimit_next, slow_ms;
static volatile int *cancel_at_2; /* set on the second request, when non-NULL */
static char dir[256];
static fileio_t *io;
static crawl_t *crawler;

/* ---- the API ---- */

static int64_t param(http_req_t *req, const char *name, int64_t def) {
    const char *v = http_req_param(req, name);
    int64_t x;
    return v && str_to_i64_range(v, 0, INT64_MAX, &x) ? x : def;
}

static void put_items(buf_t *b, int64_t from, int64_t n) {
    buf_putc(b, '[');
    for (int64_t i = 0; i < n; i++)
        buf_printf(b, "%s{ \"id\": %lld, \"v\": \"item %lld\", \"big\": 123456789012345678901, \"p\": 0.10 }",
                   i ? ",\n" : "", (long long)(from + i), (long long)(from + i));
    buf_putc(b, ']');
}

static int64_t clamp(int64_t from, int64_t limit) {
    return from >= TOTAL ? 0 : from + limit > TOTAL ? TOTAL - from : limit;
}

static void answer(http_req_t *req) {
    int n = ++requests;
    if (cancel_at_2 && n == 2) *cancel_at_2 = 1;
    if (fail_next > 0) {
        fail_next--;
        http_respond(req, 503, "application/json", "{\"msg\":\"busy\"}", 14);
        return;
    }
    if (ratelimit_next > 0) {
        ratelimit_next--;
        http_resp_header(req, "Retry-After", "0");
        http_respond(req, 429, "application/json", "{\"msg\":\"slow down\"}", 19);
        return;
    }
    buf_t b = BUF_INIT;
    const char *path = req->path;
    int64_t limit = param(req, "limit", 100);
    if (!strcmp(path, "/items")) { /* Binance style: fromId, newest without it */
        int64_t from = param(req, "fromId", 0);
        put_items(&b, from, clamp(from, limit));
    } else if (!strcmp(path, "/offset")) {
        int64_t off = param(req, "offset", 0);
        buf_printf(&b, "{\"total\":%d,\"page\":{\"items\":", TOTAL);
        put_items(&b, off, clamp(off, limit));
        buf_puts(&b, "}}");
    } else if (!strcmp(path, "/page")) {
        int64_t page = param(req, "page", 1);
        buf_printf(&b, "{\"pages\":%lld,\"data\":", (long long)((TOTAL + limit - 1) / limit));
        put_items(&b, (page - 1) * limit, clamp((page - 1) * limit, limit));
        buf_puts(&b, "}");
    } else if (!strcmp(path, "/cursor")) {
        int64_t from = 0;
        const char *c = http_req_param(req, "cursor");
        if (c && !str_to_i64_range(c + 1, 0, TOTAL, &from)) from = TOTAL;
        int64_t k = clamp(from, limit);
        buf_puts(&b, "{\"data\":");
        put_items(&b, from, k);
        if (from + k < TOTAL)
            buf_printf(&b, ",\"next\":\"c%lld\"}", (long long)(from + k));
        else
            buf_puts(&b, ",\"next\":null}");
    } else if (!strcmp(path, "/link")) {
        int64_t from = param(req, "from", 0), k = clamp(from, limit);
        if (from + k < TOTAL) {
            char link[200];
            snprintf(link, sizeof link, "</link?from=%lld&limit=%lld>; rel=\"next\"", (long long)(from + k),
                     (long long)limit);
            http_resp_header(req, "Link", link);
        }
        put_items(&b, from, k);
    } else if (!strcmp(path, "/gone")) {
        http_respond(req, 404, "application/json", "{\"msg\":\"no such thing\"}", 23);
        return;
    } else if (!strcmp(path, "/notjson")) {
        buf_puts(&b, "<html>oops</html>");
    } else if (!strcmp(path, "/secret")) {
        const char *k = http_req_header(req, "X-Key");
        if (!k || strcmp(k, "letmein")) {
            http_respond(req, 401, "application/json", "{}", 2);
            return;
        }
        put_items(&b, 0, 3);
    } else {
        http_respond(req, 404, "text/plain", "?", 1);
        return;
    }
    size_t len = b.len;
    http_respond_owned(req, 200, "application/json", buf_steal(&b), len);
}

static void slow_answer(http_req_t *req, void *arg) {
    usleep((useconds_t)slow_ms * 1000);
    answer(req);
}

static void api_end(http_req_t *req, void *ctx) {
    if (slow_ms)
        http_req_defer(req, slow_answer, NULL);
    else
        answer(req);
}

static const char *config_fmt =
    "hosts:\n"
    "  \"127.0.0.1:%d\": {concurrency: 4}\n"
    "defaults:\n"
    "  backoff: {initial: 1ms, max: 5ms}\n"
    "  retries: 3\n"
    "endpoints:\n"
    "  items:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /items\n"
    "    params: {symbol: BTCUSDT}\n"
    "    pagination: {type: cursor, param: fromId, from_record: id, increment: 1, limit_param: limit, limit: 500}\n"
    "    records: $\n"
    "  offset:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /offset\n"
    "    pagination: {type: offset, param: offset, limit_param: limit, limit: 400, total: total}\n"
    "    records: page.items\n"
    "  page:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /page\n"
    "    pagination: {type: page, param: page, limit_param: limit, limit: 1000, total_pages: pages}\n"
    "    records: $.data\n"
    "  cursor:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /cursor\n"
    "    pagination: {type: cursor, param: cursor, next: next, limit_param: limit, limit: 999}\n"
    "    records: data\n"
    "  link:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /link\n"
    "    pagination: {type: link, limit_param: limit, limit: 700}\n"
    "    records: $\n"
    "  gone: {base_url: http://127.0.0.1:%d, path: /gone, records: $}\n"
    "  notjson: {base_url: http://127.0.0.1:%d, path: /notjson, records: $}\n"
    "  wrongpath: {base_url: http://127.0.0.1:%d, path: /items, records: data.items}\n"
    "  secret:\n"
    "    base_url: http://127.0.0.1:%d\n"
    "    path: /secret\n"
    "    headers: {X-Key: \"${FLOE_TEST_CRAWL_KEY}\"}\n"
    "    records: $\n";

static void setup(void) {
    static const http_route route = {.prefix = "", .handler = {.end = api_end}};
    http_server_opts o = {.name = "test-api", .bind = "127.0.0.1", .port = 0, .routes = &route, .nroutes = 1};
    floe_err err = {0};
    srv = http_server_start(&o, &err);
    cr_assert(srv, "%s", err.msg);
    port = http_server_port(srv);
    requests = fail_next = ratelimit_next = slow_ms = 0;
    cancel_at_2 = NULL;
    setenv("FLOE_TEST_CRAWL_KEY", "letmein", 1);
    char cfg[4096];
    snprintf(cfg, sizeof cfg, config_fmt, port, port, port, port, port, port, port, port, port, port);
    crawler = crawl_load_str(cfg, strlen(cfg), "test.yaml", &err);
    cr_assert(crawler, "%s", err.msg);
    snprintf(dir, sizeof dir, "/tmp/floe-unit-crawl-XXXXXX");
    cr_assert(mkdtemp(dir));
    io = fileio_local();
}

static void teardown(void) {
    http_server_stop(srv);
    crawl_free(crawler);
    fileio_free(io);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(crawl_run, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static char *target(const char *name) {
    static char t[400];
    snprintf(t, sizeof t, "file://%s/raw/%s.jsonl.zst", dir, name);
    return t;
}

static char *payload(const char *endpoint, const char *extra) {
    static char p[1000];
    snprintf(p, sizeof p, "{\"endpoint\":\"%s\",\"target\":\"%s\",\"run_id\":\"run-1\"%s%s}", endpoint,
             target(endpoint), extra ? "," : "", extra ? extra : "");
    return p;
}

/* What the API serves for ids [from, to), one compact line each. */
static void expected(buf_t *b, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++)
        buf_printf(b, "{\"id\":%lld,\"v\":\"item %lld\",\"big\":123456789012345678901,\"p\":0.10}\n", (long long)i,
                   (long long)i);
}

static void read_file(const char *path, buf_t *out) {
    char *data;
    size_t len;
    floe_err err = {0};
    cr_assert(fs_read_all(path, &data, &len, &err), "%s", err.msg);
    buf_append(out, data, len);
    free(data);
}

static void decompress(const buf_t *z, buf_t *out) {
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = {z->data, z->len, 0};
    char chunk[1 << 16];
    size_t r = 1;
    while (in.pos < in.size || r != 0) {
        ZSTD_outBuffer o = {chunk, sizeof chunk, 0};
        r = ZSTD_decompressStream(d, &o, &in);
        cr_assert_not(ZSTD_isError(r), "zstd: %s", ZSTD_getErrorName(r));
        buf_append(out, chunk, o.pos);
        if (o.pos == 0 && in.pos == in.size) break;
    }
    cr_assert_eq(r, 0, "the frame is complete");
    ZSTD_freeDCtx(d);
}

/* Runs the job; checks the object's lines against ids [0, n) and the manifest. */
static json_t *run_and_check(const char *endpoint, const char *extra, int64_t from, int64_t to, int64_t pages) {
    buf_t result = BUF_INIT, z = BUF_INIT, lines = BUF_INIT, want = BUF_INIT, man = BUF_INIT;
    floe_err err = {0};
    crawl_status st = crawl_run(crawler, io, payload(endpoint, extra), NULL, &result, &err);
    cr_assert_eq(st, CRAWL_OK, "%s: %s", endpoint, err.msg);
    read_file(target(endpoint) + 7, &z);
    decompress(&z, &lines);
    expected(&want, from, to);
    cr_assert_eq(lines.len, want.len, "%s: %zu bytes landed, %zu expected", endpoint, lines.len, want.len);
    cr_assert(!memcmp(lines.data, want.data, want.len), "%s: the records differ from what the API served", endpoint);
    json_t *r = json_loads(result.data, 0, NULL);
    cr_assert(r, "result %s", result.data);
    char sha[65];
    hash_sha256_hex(z.data, z.len, sha);
    cr_assert_str_eq(json_string_value(json_object_get(r, "s3_path")), target(endpoint));
    cr_assert_eq(json_integer_value(json_object_get(r, "records")), to - from);
    cr_assert_eq(json_integer_value(json_object_get(r, "pages")), pages, "%s: %s", endpoint, result.data);
    cr_assert_eq(json_integer_value(json_object_get(r, "bytes")), (json_int_t)z.len);
    cr_assert_str_eq(json_string_value(json_object_get(r, "sha256")), sha);
    cr_assert(json_is_false(json_object_get(r, "redelivered")));
    cr_assert_str_eq(json_string_value(json_object_get(r, "run_id")), "run-1");
    char mpath[500];
    snprintf(mpath, sizeof mpath, "%s.manifest.json", target(endpoint) + 7);
    read_file(mpath, &man);
    json_t *m = json_loads(man.data, 0, NULL);
    cr_assert(json_equal(m, r), "the manifest holds the result: %s vs %s", man.data, result.data);
    json_decref(m);
    buf_free(&result);
    buf_free(&z);
    buf_free(&lines);
    buf_free(&want);
    buf_free(&man);
    return r;
}

/* ---- every style lands every record once ---- */

Test(crawl_run, cursor_from_record) {
    json_decref(run_and_check("items", "\"params\":{\"fromId\":0}", 0, TOTAL, 5));
    cr_assert_eq(requests, 5, "4 full pages of 500 and a short one: no request for an empty page");
}

Test(crawl_run, from_record_starts_at_the_jobs_value) {
    json_decref(run_and_check("items", "\"params\":{\"fromId\":2000}", 2000, TOTAL, 1));
}

Test(crawl_run, offset_with_total) {
    json_decref(run_and_check("offset", NULL, 0, TOTAL, 6));
    cr_assert_eq(requests, 6);
}

Test(crawl_run, page_with_total_pages) { json_decref(run_and_check("page", NULL, 0, TOTAL, 3)); }

Test(crawl_run, cursor_from_body) { json_decref(run_and_check("cursor", NULL, 0, TOTAL, 3)); }

Test(crawl_run, link_header) { json_decref(run_and_check("link", NULL, 0, TOTAL, 4)); }

Test(crawl_run, secret_header) { json_decref(run_and_check("secret", NULL, 0, 3, 1)); }

Test(crawl_run, job_params_and_null_removes) {
    /* symbol null removes the endpoint's param; the API ignores it either way */
    json_decref(run_and_check("items", "\"params\":{\"symbol\":null,\"fromId\":2300,\"extra\":true}", 2300, TOTAL, 1));
}

/* ---- redelivery ---- */

Test(crawl_run, redelivery_acks_the_manifest_without_fetching) {
    json_t *first = run_and_check("cursor", NULL, 0, TOTAL, 3);
    int before = requests;
    buf_t result = BUF_INIT;
    floe_err err = {0};
    cr_assert_eq(crawl_run(crawler, io, payload("cursor", NULL), NULL, &result, &err), CRAWL_OK, "%s", err.msg);
    cr_assert_eq(requests, before, "no request the second time");
    json_t *again = json_loads(result.data, 0, NULL);
    cr_assert(json_is_true(json_object_get(again, "redelivered")));
    json_object_set_new(again, "redelivered", json_false());
    cr_assert(json_equal(first, again), "the same result otherwise");
    /* an object that no longer matches its manifest is crawled again */
    cr_assert(fs_write_atomic(target("cursor") + 7, "x", 1, &err));
    buf_reset(&result);
    cr_assert_eq(crawl_run(crawler, io, payload("cursor", NULL), NULL, &result, &err), CRAWL_OK, "%s", err.msg);
    cr_assert_gt(requests, before);
    cr_assert(strstr(result.data, "\"redelivered\":false"), "%s", result.data);
    json_decref(first);
    json_decref(again);
    buf_free(&result);
}

/* ---- faults ---- */

Test(crawl_run, retries_503_and_429) {
    fail_next = 2;
    ratelimit_next = 1;
    json_t *r = run_and_check("link", NULL, 0, TOTAL, 4);
    cr_assert_eq(json_integer_value(json_object_get(r, "requests")), 7, "4 pages + 3 retries");
    crawl_metrics *m = crawl_get_metrics(crawler);
    cr_assert_eq(m->retries, 3);
    cr_assert_eq(m->rate_limited, 1);
    cr_assert_eq(m->requests[503], 2);
    cr_assert_eq(m->requests[429], 1);
    cr_assert_eq(m->requests[200], 4);
    buf_t text = BUF_INIT;
    crawl_metrics_format(m, &text);
    cr_assert(strstr(text.data, "floe_crawler_requests_total{status=\"503\"} 2\n"), "%s", text.data);
    cr_assert(strstr(text.data, "floe_crawler_rate_limited_total 1\n"), "%s", text.data);
    buf_free(&text);
    json_decref(r);
}

static void expect_fail(const char *endpoint, const char *extra, crawl_status want, const char *needle) {
    buf_t result = BUF_INIT;
    floe_err err = {0};
    crawl_status st = crawl_run(crawler, io, payload(endpoint, extra), NULL, &result, &err);
    cr_assert_eq(st, want, "%s: status %d, error %s", endpoint, st, err.msg);
    cr_assert(strstr(err.msg, needle), "%s: [%s] not in [%s]", endpoint, needle, err.msg);
    cr_assert_not(fs_exists(target(endpoint) + 7), "%s: nothing landed", endpoint);
    buf_free(&result);
}

Test(crawl_run, retries_run_out) {
    fail_next = 100;
    expect_fail("items", NULL, CRAWL_RETRY, "gave up after 4 attempts (retries: 3); the last: HTTP 503");
    cr_assert_eq(requests, 4);
}

Test(crawl_run, permanent_failures) {
    expect_fail("gone", NULL, CRAWL_PERMANENT, "HTTP 404: {\"msg\":\"no such thing\"}");
    cr_assert_eq(requests, 1, "a 404 is not retried");
    expect_fail("notjson", NULL, CRAWL_PERMANENT, "the response is not JSON");
    expect_fail("wrongpath", NULL, CRAWL_PERMANENT, "nothing at records path 'data.items'");
    expect_fail("nosuch", NULL, CRAWL_PERMANENT, "endpoint 'nosuch', which the crawler config test.yaml does not");
    expect_fail("items", "\"params\":{\"limit\":5}", CRAWL_PERMANENT, "params.limit: the page size is endpoint");
    expect_fail("items", "\"params\":[1]", CRAWL_PERMANENT, "params is not an object");
    expect_fail("offset", "\"params\":{\"offset\":\"ten\"}", CRAWL_PERMANENT,
                "params.offset: the first offset of endpoint offset must be a whole number");
    expect_fail("items", "\"params\":{\"x\":{}}", CRAWL_PERMANENT, "params.x: expected a string, number");
    expect_fail("items", "\"base_url\":\"ftp://x\"", CRAWL_PERMANENT, "base_url 'ftp://x' is not");
    buf_t result = BUF_INIT;
    floe_err err = {0};
    cr_assert_eq(crawl_run(crawler, io, "{\"endpoint\":\"items\"}", NULL, &result, &err), CRAWL_PERMANENT);
    cr_assert(strstr(err.msg, "target"), "%s", err.msg);
    cr_assert_eq(crawl_run(crawler, io, "not json", NULL, &result, &err), CRAWL_PERMANENT);
    cr_assert(strstr(err.msg, "payload"), "%s", err.msg);
    buf_free(&result);
}

Test(crawl_run, connection_refused_is_retried) {
    buf_t result = BUF_INIT;
    floe_err err = {0};
    char extra[100];
    snprintf(extra, sizeof extra, "\"base_url\":\"http://127.0.0.1:%d\"", port == 1 ? 2 : 1);
    cr_assert_eq(crawl_run(crawler, io, payload("items", extra), NULL, &result, &err), CRAWL_RETRY);
    cr_assert(strstr(err.msg, "gave up after 4 attempts"), "%s", err.msg);
    buf_free(&result);
}

Test(crawl_run, cancel_finishes_the_page_and_lands_nothing) {
    volatile int cancel = 0;
    cancel_at_2 = &cancel;
    buf_t result = BUF_INIT;
    floe_err err = {0};
    crawl_status st =
        crawl_run(crawler, io, payload("items", NULL), &(crawl_run_opts){.cancel = &cancel}, &result, &err);
    cr_assert_eq(st, CRAWL_CANCELLED, "%s", err.msg);
    cr_assert_eq(requests, 2, "the page in flight when the cancel came is finished, no other is asked for");
    cr_assert_not(fs_exists(target("items") + 7));
    buf_free(&result);
}

/* ---- the worker on the embedded queue ---- */

static queue_t *open_queue(void) {
    char qdir[300];
    snprintf(qdir, sizeof qdir, "%s/q", dir);
    mkdir(qdir, 0700);
    floe_err err = {0};
    queue_t *q = queue_open(NULL, &(queue_opts){.data_dir = qdir, .no_fsync = true, .poll_ms = 20}, &err);
    cr_assert(q, "%s", err.msg);
    return q;
}

static queue_status wait_state(queue_t *q, const char *id, queue_state want, arena_t *a) {
    queue_status st;
    floe_err err = {0};
    for (int i = 0; i < 3000; i++) {
        cr_assert(queue_status_get(q, id, a, &st, &err), "%s", err.msg);
        if (st.state == want) return st;
        usleep(10000);
    }
    cr_assert_fail("job %s stayed %s, expected %s", id, queue_state_name(st.state), queue_state_name(want));
    return st;
}

Test(crawl_run, worker_acks_and_nacks) {
    queue_t *q = open_queue();
    char ok_id[QUEUE_ID_MAX], bad_id[QUEUE_ID_MAX];
    floe_err err = {0};
    cr_assert(queue_enqueue(q, "crawl", payload("offset", NULL), NULL, ok_id, &err), "%s", err.msg);
    cr_assert(queue_enqueue(q, "crawl", payload("gone", NULL), &(queue_enqueue_opts){.max_tries = 2}, bad_id, &err));
    crawl_worker *w = crawl_worker_start(&(crawl_worker_opts){.queue = q,
                                                              .crawl = crawler,
                                                              .io = io,
                                                              .threads = 2,
                                                              .visibility_ms = 5000,
                                                              .retry_delay_ms = 10,
                                                              .lease_wait_ms = 50},
                                         &err);
    cr_assert(w, "%s", err.msg);
    arena_t a;
    arena_init(&a, 0);
    queue_status st = wait_state(q, ok_id, QUEUE_DONE, &a);
    cr_assert(strstr(st.result, "\"records\":2345"), "%s", st.result);
    st = wait_state(q, bad_id, QUEUE_DEAD, &a);
    cr_assert_eq(st.tries, 2);
    cr_assert(strstr(st.error, "HTTP 404"), "%s", st.error);
    /* the same target again: acked from the manifest */
    char again[QUEUE_ID_MAX];
    cr_assert(queue_enqueue(q, "crawl", payload("offset", NULL), NULL, again, &err));
    st = wait_state(q, again, QUEUE_DONE, &a);
    cr_assert(strstr(st.result, "\"redelivered\":true"), "%s", st.result);
    buf_t text = BUF_INIT;
    crawl_worker_metrics(w, &text);
    cr_assert(strstr(text.data, "floe_crawler_jobs_total{outcome=\"done\"} 1\n"), "%s", text.data);
    cr_assert(strstr(text.data, "floe_crawler_jobs_total{outcome=\"redelivered\"} 1\n"), "%s", text.data);
    cr_assert(strstr(text.data, "floe_crawler_jobs_total{outcome=\"failed\"} 2\n"), "%s", text.data);
    cr_assert(strstr(text.data, "floe_crawler_worker_threads 2\n"), "%s", text.data);
    buf_free(&text);
    crawl_worker_stop(w);
    arena_free(&a);
    queue_close(q);
}

/* A job longer than the visibility timeout keeps its lease by heartbeats
 * (try 1, never expired); a stop in the middle of a job releases it. */
Test(crawl_run, worker_heartbeats_and_release) {
    queue_t *q = open_queue();
    slow_ms = 250;
    char id[QUEUE_ID_MAX];
    floe_err err = {0};
    /* 5 pages of 250 ms = 1.25 s, over a 600 ms visibility timeout */
    cr_assert(queue_enqueue(q, "crawl", payload("items", "\"params\":{\"fromId\":0}"), NULL, id, &err));
    crawl_worker_opts o = {.queue = q,
                           .crawl = crawler,
                           .io = io,
                           .threads = 1,
                           .visibility_ms = 600,
                           .heartbeat_ms = 50,
                           .lease_wait_ms = 50};
    /* an idle second worker with the same queue would take an expired lease */
    crawl_worker *w = crawl_worker_start(&o, &err), *w2;
    cr_assert(w, "%s", err.msg);
    usleep(100000);
    o.worker_id = "second";
    w2 = crawl_worker_start(&o, &err);
    arena_t a;
    arena_init(&a, 0);
    queue_status st = wait_state(q, id, QUEUE_DONE, &a);
    cr_assert_eq(st.tries, 1, "the lease held: %s", st.history);
    cr_assert_null(strstr(st.history, "expired"), "%s", st.history);

    /* now a stop in the middle */
    char id2[QUEUE_ID_MAX];
    crawl_worker_stop(w2);
    cr_assert(queue_enqueue(q, "crawl", payload("cursor", NULL), NULL, id2, &err));
    int before = requests;
    for (int i = 0; i < 500 && requests == before; i++) usleep(10000);
    cr_assert_gt(requests, before, "the crawl started");
    crawl_worker_stop(w);
    st = wait_state(q, id2, QUEUE_QUEUED, &a);
    cr_assert_eq(st.tries, 0, "a release does not count the try");
    cr_assert(strstr(st.history, "released"), "%s", st.history);
    cr_assert_not(fs_exists(target("cursor") + 7));
    arena_free(&a);
    queue_close(q);
}
