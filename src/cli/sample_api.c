/*
 * sample_api.c: `floe sample-api`, a local Binance-like market API that
 * demos and tests crawl, since these machines have no internet.
 *
 * It serves deterministic trades (sample_data.c) in Binance's shape, pages
 * them in every style the crawler knows (fromId, offset, page, cursor, Link
 * header), limits the request rate with a token bucket (429 + Retry-After),
 * injects 5xx faults and slow answers at seeded rates, and counts what it
 * answered under /stats. It is a test fixture, not part of the lakehouse,
 * so it lives with the command; docs/sample-api.md describes the API.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "cli/cli.h"
#include "cli/sample_data.h"
#include "net/http.h"

#define SA_MAX_LIMIT 1000
#define SA_DEFAULT_LIMIT 500
#define SA_BUCKETS 64
#define SA_STATUSES 16
#define SA_CURSOR_KEY 0x5A5A5A5A5A5A5A5Aull

typedef struct sa_opts {
    int port;
    const char *bind;
    int64_t trades, start_ms, span_ms;
    double rate, burst; /* requests per second; rate 0 is no limit */
    bool per_ip;
    double fail_rate, slow_rate;
    int64_t slow_ms;
    uint64_t seed;
} sa_opts;

/* A token bucket, and the weight used in the current minute, of one client
 * (or of everyone, with --rate-scope global). */
typedef struct sa_bucket {
    char key[48];
    double tokens;
    uint64_t last_ns;
    int64_t minute, used;
} sa_bucket;

typedef enum {
    EP_TRADES,
    EP_HISTORICAL,
    EP_OFFSET,
    EP_PAGE,
    EP_CURSOR,
    EP_LINK,
    EP_PING,
    EP_TIME,
    EP_OTHER,
    EP_COUNT
} sa_endpoint;

static const char *const endpoint_paths[EP_COUNT] = {
    "/api/v3/trades",
    "/api/v3/historicalTrades",
    "/api/v1/trades_offset",
    "/api/v1/trades_page",
    "/api/v1/trades_cursor",
    "/api/v1/trades_link",
    "/api/v3/ping",
    "/api/v3/time",
    "other",
};

typedef struct sa_server {
    sa_opts o;
    sample_data data;
    int port;
    pthread_mutex_t lock; /* everything below */
    sa_bucket buckets[SA_BUCKETS];
    int nbuckets;
    uint64_t admitted; /* sequence number of the next admitted request (faults) */
    uint64_t total, rate_limited, faults, slowed;
    uint64_t by_path[EP_COUNT];
    int statuses[SA_STATUSES];
    uint64_t by_status[SA_STATUSES];
} sa_server;

/* What an admitted request carries to the (maybe deferred) answer. */
typedef struct sa_call {
    sa_server *s;
    sa_endpoint ep;
    bool fault;
    int64_t used;
} sa_call;

/* ---- answers ---- */

static void count_answer(sa_server *s, sa_endpoint ep, int status, bool fault) {
    pthread_mutex_lock(&s->lock);
    s->total++;
    s->by_path[ep]++;
    if (status == 429) s->rate_limited++;
    if (fault) s->faults++;
    for (int i = 0; i < SA_STATUSES; i++) {
        if (s->statuses[i] == status || s->statuses[i] == 0) {
            s->statuses[i] = status;
            s->by_status[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

/* Counts the answer before sending it, so /stats agrees with every
 * response a client has received. */
static void answer(http_req_t *req, sa_server *s, sa_endpoint ep, int status, buf_t *body, int64_t used, bool fault) {
    count_answer(s, ep, status, fault);
    char w[24];
    snprintf(w, sizeof w, "%lld", (long long)used);
    http_resp_header(req, "X-MBX-USED-WEIGHT-1M", w);
    size_t len = body->len;
    http_respond_owned(req, status, "application/json;charset=UTF-8", buf_steal(body), len);
}

static void answer_error(http_req_t *req, sa_call *c, int status, int code, const char *msg) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "{\"code\":%d,\"msg\":", code);
    json_put_str(&b, msg, strlen(msg));
    buf_putc(&b, '}');
    answer(req, c->s, c->ep, status, &b, c->used, false);
}

/* ---- parameters, checked as Binance checks them ---- */

static const sample_symbol *param_symbol(http_req_t *req, sa_call *c) {
    const char *name = http_req_param(req, "symbol");
    if (!name || !*name) {
        answer_error(req, c, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        return NULL;
    }
    const sample_symbol *sym = sample_symbol_find(&c->s->data, name);
    if (!sym) answer_error(req, c, 400, -1121, "Invalid symbol.");
    return sym;
}

/* An optional integer parameter in [min, max]; false after answering 400. */
static bool param_int(http_req_t *req, sa_call *c, const char *name, int64_t def, int64_t min, int64_t max,
                      int64_t *out) {
    const char *v = http_req_param(req, name);
    *out = def;
    if (!v) return true;
    uint64_t u;
    char msg[160];
    if (!str_to_u64(v, &u) || strlen(v) > 20) {
        snprintf(msg, sizeof msg, "Illegal characters found in parameter '%s'; legal range is '^[0-9]{1,20}$'.", name);
        answer_error(req, c, 400, -1100, msg);
        return false;
    }
    if (u < (uint64_t)min || u > (uint64_t)max) {
        snprintf(msg, sizeof msg, "Data sent for parameter '%s' is not valid; legal range is %lld..%lld.", name,
                 (long long)min, (long long)max);
        answer_error(req, c, 400, -1130, msg);
        return false;
    }
    *out = (int64_t)u;
    return true;
}

static bool param_limit(http_req_t *req, sa_call *c, const char *name, int64_t *out) {
    return param_int(req, c, name, SA_DEFAULT_LIMIT, 1, SA_MAX_LIMIT, out);
}

/* Appends trades first .. first+n-1 as a JSON array. */
static void put_trades(buf_t *b, http_req_t *req, sa_server *s, const sample_symbol *sym, int64_t first, int64_t n) {
    buf_putc(b, '[');
    if (n > 0) {
        sample_trade *t = arena_alloc(&req->arena, (size_t)n * sizeof *t);
        sample_trades(&s->data, sym, first, n, t);
        buf_reserve(b, (size_t)n * 140);
        for (int64_t i = 0; i < n; i++) {
            if (i) buf_putc(b, ',');
            sample_trade_json(b, sym, &t[i]);
        }
    }
    buf_putc(b, ']');
}

static int64_t page_len(sa_server *s, int64_t first, int64_t limit) {
    int64_t left = s->data.count - first;
    return left <= 0 ? 0 : left < limit ? left : limit;
}

/* ---- endpoints ---- */

/* /api/v3/trades and /api/v3/historicalTrades: the newest `limit` trades,
 * or `limit` from fromId on. startTime starts at the first trade at or
 * after it (the later of that and fromId); endTime (exclusive, unlike
 * Binance's inclusive one) stops before the first trade at or after it, and
 * alone picks the newest `limit` trades before it. Times are epoch ms. */
static void ep_trades(http_req_t *req, sa_call *c) {
    const sample_symbol *sym = param_symbol(req, c);
    int64_t limit, from, start, end;
    if (!sym || !param_limit(req, c, "limit", &limit) || !param_int(req, c, "fromId", -1, 0, INT64_MAX, &from) ||
        !param_int(req, c, "startTime", -1, 0, INT64_MAX, &start) ||
        !param_int(req, c, "endTime", -1, 0, INT64_MAX, &end))
        return;
    const sample_data *d = &c->s->data;
    int64_t stop = end >= 0 ? sample_first_at(d, end) : d->count;
    if (start >= 0) {
        int64_t first = sample_first_at(d, start);
        from = from > first ? from : first;
    }
    if (from < 0) from = stop > limit ? stop - limit : 0;
    int64_t n = page_len(c->s, from, limit);
    if (from + n > stop) n = stop > from ? stop - from : 0;
    buf_t b = BUF_INIT;
    put_trades(&b, req, c->s, sym, from, n);
    answer(req, c->s, c->ep, 200, &b, c->used, false);
}

static void ep_offset(http_req_t *req, sa_call *c) {
    const sample_symbol *sym = param_symbol(req, c);
    int64_t limit, offset;
    if (!sym || !param_limit(req, c, "limit", &limit) || !param_int(req, c, "offset", 0, 0, INT64_MAX, &offset)) return;
    buf_t b = BUF_INIT;
    buf_printf(&b, "{\"symbol\":\"%s\",\"total\":%lld,\"offset\":%lld,\"limit\":%lld,\"trades\":", sym->name,
               (long long)c->s->data.count, (long long)offset, (long long)limit);
    put_trades(&b, req, c->s, sym, offset, page_len(c->s, offset, limit));
    buf_putc(&b, '}');
    answer(req, c->s, c->ep, 200, &b, c->used, false);
}

static void ep_page(http_req_t *req, sa_call *c) {
    const sample_symbol *sym = param_symbol(req, c);
    int64_t size, page;
    if (!sym || !param_limit(req, c, "size", &size) || !param_int(req, c, "page", 1, 1, 1000000000000ll, &page)) return;
    int64_t first = (page - 1) * size, pages = (c->s->data.count + size - 1) / size;
    buf_t b = BUF_INIT;
    buf_printf(&b, "{\"page\":%lld,\"size\":%lld,\"pages\":%lld,\"data\":{\"trades\":", (long long)page,
               (long long)size, (long long)pages);
    put_trades(&b, req, c->s, sym, first, page_len(c->s, first, size));
    buf_puts(&b, "}}");
    answer(req, c->s, c->ep, 200, &b, c->used, false);
}

/* An opaque cursor: the next id, scrambled, as 16 hex digits. */
static bool cursor_decode(const char *v, int64_t count, int64_t *id) {
    unsigned char raw[8];
    if (strlen(v) != 16 || !str_unhex(v, 16, raw)) return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = x << 8 | raw[i];
    x ^= SA_CURSOR_KEY;
    if (x >= (uint64_t)count) return false;
    *id = (int64_t)x;
    return true;
}

static void ep_cursor(http_req_t *req, sa_call *c) {
    const sample_symbol *sym = param_symbol(req, c);
    int64_t limit, first = 0;
    if (!sym || !param_limit(req, c, "limit", &limit)) return;
    const char *cur = http_req_param(req, "cursor");
    if (cur && !cursor_decode(cur, c->s->data.count, &first)) {
        answer_error(req, c, 400, -1100, "Invalid cursor; pass the 'next' value of the previous page unchanged.");
        return;
    }
    int64_t n = page_len(c->s, first, limit);
    buf_t b = BUF_INIT;
    buf_puts(&b, "{\"data\":");
    put_trades(&b, req, c->s, sym, first, n);
    if (first + n < c->s->data.count)
        buf_printf(&b, ",\"next\":\"%016llx\"}", (unsigned long long)((uint64_t)(first + n) ^ SA_CURSOR_KEY));
    else
        buf_puts(&b, ",\"next\":null}");
    answer(req, c->s, c->ep, 200, &b, c->used, false);
}

/* The Host header when it looks like a host[:port], else the bound address. */
static void base_url(http_req_t *req, sa_server *s, char *out, size_t cap) {
    const char *h = http_req_header(req, "Host");
    bool ok = h && *h && strlen(h) < 200;
    for (const char *p = h; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(".-:[]", *p);
    if (ok)
        snprintf(out, cap, "http://%s", h);
    else
        snprintf(out, cap, "http://%s:%d", s->o.bind, s->port);
}

static void ep_link(http_req_t *req, sa_call *c) {
    const sample_symbol *sym = param_symbol(req, c);
    int64_t limit, first;
    if (!sym || !param_limit(req, c, "limit", &limit) || !param_int(req, c, "fromId", 0, 0, INT64_MAX, &first)) return;
    int64_t n = page_len(c->s, first, limit);
    if (first + n < c->s->data.count) {
        char base[256], link[512];
        base_url(req, c->s, base, sizeof base);
        snprintf(link, sizeof link, "<%s/api/v1/trades_link?symbol=%s&fromId=%lld&limit=%lld>; rel=\"next\"", base,
                 sym->name, (long long)(first + n), (long long)limit);
        http_resp_header(req, "Link", link);
    }
    buf_t b = BUF_INIT;
    put_trades(&b, req, c->s, sym, first, n);
    answer(req, c->s, c->ep, 200, &b, c->used, false);
}

static void serve_call(http_req_t *req, sa_call *c) {
    if (c->fault) {
        buf_t b = BUF_INIT;
        buf_puts(&b, "{\"code\":-1001,\"msg\":\"Internal error; unable to process your request. Please try again.\"}");
        answer(req, c->s, c->ep, 503, &b, c->used, true);
        return;
    }
    buf_t b = BUF_INIT;
    switch (c->ep) {
    case EP_TRADES:
    case EP_HISTORICAL: ep_trades(req, c); return;
    case EP_OFFSET: ep_offset(req, c); return;
    case EP_PAGE: ep_page(req, c); return;
    case EP_CURSOR: ep_cursor(req, c); return;
    case EP_LINK: ep_link(req, c); return;
    case EP_PING:
        buf_puts(&b, "{}");
        answer(req, c->s, c->ep, 200, &b, c->used, false);
        return;
    case EP_TIME:
        buf_printf(&b, "{\"serverTime\":%lld}", (long long)time_now_ms());
        answer(req, c->s, c->ep, 200, &b, c->used, false);
        return;
    default: answer_error(req, c, 404, -1, "Unknown path; see docs/sample-api.md for the endpoints."); return;
    }
}

static void serve_slow(http_req_t *req, void *arg) {
    sa_call *c = arg;
    usleep((useconds_t)(c->s->o.slow_ms * 1000));
    serve_call(req, c);
}

/* ---- admission: the rate limit, then the seeded faults ---- */

static sa_bucket *bucket_for(sa_server *s, const char *key, uint64_t now) {
    int lru = 0;
    for (int i = 0; i < s->nbuckets; i++) {
        if (!strcmp(s->buckets[i].key, key)) return &s->buckets[i];
        if (s->buckets[i].last_ns < s->buckets[lru].last_ns) lru = i;
    }
    sa_bucket *b = s->nbuckets < SA_BUCKETS ? &s->buckets[s->nbuckets++] : &s->buckets[lru];
    memset(b, 0, sizeof *b);
    snprintf(b->key, sizeof b->key, "%s", key);
    b->tokens = s->o.burst;
    b->last_ns = now;
    return b;
}

/* A uniform number in [0, 1) from the k-th word of the seeded stream. */
static double seeded_unit(uint64_t seed, uint64_t k) {
    return (double)(sample_mix64(seed ^ sample_mix64(k)) >> 11) * 0x1.0p-53;
}

/* Takes a token for the caller; on false, *retry_s is when the next is due. */
static bool admit(sa_server *s, http_req_t *req, sa_call *c, int *retry_s, bool *slow) {
    char ip[64] = "";
    if (s->o.per_ip) http_req_client_ip(req, ip, sizeof ip);
    uint64_t now = time_mono_ns();
    int64_t minute = time_now_ms() / 60000;
    pthread_mutex_lock(&s->lock);
    sa_bucket *b = bucket_for(s, ip, now);
    if (b->minute != minute) b->minute = minute, b->used = 0;
    c->used = ++b->used;
    bool ok = true;
    if (s->o.rate > 0) {
        b->tokens = fmin(s->o.burst, b->tokens + (double)(now - b->last_ns) * 1e-9 * s->o.rate);
        if (b->tokens >= 1) {
            b->tokens -= 1;
        } else {
            ok = false;
            *retry_s = (int)ceil((1 - b->tokens) / s->o.rate);
            if (*retry_s < 1) *retry_s = 1;
        }
    }
    b->last_ns = now;
    if (ok) {
        uint64_t k = s->admitted++;
        c->fault = s->o.fail_rate > 0 && seeded_unit(s->o.seed, 2 * k) < s->o.fail_rate;
        *slow = s->o.slow_ms > 0 && seeded_unit(s->o.seed, 2 * k + 1) < s->o.slow_rate;
        if (*slow) s->slowed++;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* ---- /stats ---- */

static void put_stats(sa_server *s, buf_t *b) {
    pthread_mutex_lock(&s->lock);
    buf_printf(b, "{\"total\":%llu,\"rate_limited\":%llu,\"faults\":%llu,\"slow\":%llu,\"by_path\":{",
               (unsigned long long)s->total, (unsigned long long)s->rate_limited, (unsigned long long)s->faults,
               (unsigned long long)s->slowed);
    bool first = true;
    for (int i = 0; i < EP_COUNT; i++) {
        if (!s->by_path[i]) continue;
        buf_printf(b, "%s\"%s\":%llu", first ? "" : ",", endpoint_paths[i], (unsigned long long)s->by_path[i]);
        first = false;
    }
    buf_puts(b, "},\"by_status\":{");
    for (int i = 0; i < SA_STATUSES && s->statuses[i]; i++)
        buf_printf(b, "%s\"%d\":%llu", i ? "," : "", s->statuses[i], (unsigned long long)s->by_status[i]);
    buf_puts(b, "}}");
    pthread_mutex_unlock(&s->lock);
}

static sa_endpoint endpoint_of(http_req_t *req) {
    for (int i = 0; i < EP_OTHER; i++)
        if (strlen(endpoint_paths[i]) == req->path_len && !memcmp(req->path, endpoint_paths[i], req->path_len))
            return (sa_endpoint)i;
    return EP_OTHER;
}

static void sa_end(http_req_t *req, void *ctx) {
    sa_server *s = ctx;
    if (!strcmp(req->path, "/stats") && req->path_len == 6) {
        buf_t b = BUF_INIT;
        put_stats(s, &b);
        size_t len = b.len;
        http_respond_owned(req, 200, "application/json", buf_steal(&b), len);
        return;
    }
    sa_call *c = arena_zalloc(&req->arena, sizeof *c);
    c->s = s;
    c->ep = endpoint_of(req);
    int retry_s = 0;
    bool slow = false;
    if (!admit(s, req, c, &retry_s, &slow)) {
        char ra[16], msg[200];
        snprintf(ra, sizeof ra, "%d", retry_s);
        http_resp_header(req, "Retry-After", ra);
        snprintf(msg, sizeof msg,
                 "Too many requests; current limit is %g requests per second (burst %g)%s. Retry after %d s.",
                 s->o.rate, s->o.burst, s->o.per_ip ? " per IP" : "", retry_s);
        answer_error(req, c, 429, -1003, msg);
        return;
    }
    if (!http_req_is(req, "GET") && !http_req_is(req, "HEAD")) {
        answer_error(req, c, 405, -1, "Only GET (and HEAD) is supported.");
        return;
    }
    if (slow)
        http_req_defer(req, serve_slow, c);
    else
        serve_call(req, c);
}

/* ---- flags ---- */

static void usage(FILE *f) {
    fprintf(f, "usage: floe sample-api [flags]\n\n"
               "A local Binance-like market API with deterministic trades (docs/sample-api.md).\n\n"
               "  --port N            port (default 8800; 0 picks a free one)\n"
               "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
               "  --trades N          trades per symbol, ids 0..N-1 (default 1000000, at most 100000000)\n"
               "  --start TIME        time of trade 0: 2024-01-01T00:00:00Z or epoch ms (default that)\n"
               "  --span DURATION     time the trades cover: 500ms, 90s, 15m, 6h, 1d (default 1d)\n"
               "  --rate-limit N      requests per second; 0 turns the limit off (default 20)\n"
               "  --burst N           requests a client may make at once (default twice the rate, at least 1)\n"
               "  --rate-scope S      ip (a bucket per client address) or global (default ip)\n"
               "  --fail-rate F       share of requests answered 503, 0..1 (default 0)\n"
               "  --slow-ms N         delay of a slow answer in ms, at most 60000 (default 0)\n"
               "  --slow-rate F       share of answers delayed by --slow-ms, 0..1 (default 1)\n"
               "  --seed N            seed of the fault and slow choices (default 1)\n");
}

static bool parse_double(const char *v, double min, double max, double *out) {
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || !isfinite(d) || d < min || d > max) return false;
    *out = d;
    return true;
}

static bool parse_span(const char *v, int64_t *ms) {
    /* one number and one unit (ms, s, m, h or d) */
    size_t n = strspn(v, "0123456789");
    if (!n || n > 12 || !v[n] || strpbrk(v + n, "0123456789") || !time_duration_parse(v, ms)) return false;
    return *ms > 0 && *ms <= 100ll * 365 * 86400000;
}

static bool parse_start(const char *v, int64_t *ms) {
    int64_t s;
    if (str_to_i64_range(v, 0, 4102444800000ll, ms)) return true;
    if (!time_parse_iso8601(v, &s)) return false;
    *ms = s * 1000;
    return true;
}

/* Sets one flag; false with msg naming the flag and the expected form. */
static bool set_flag(sa_opts *o, const char *name, const char *v, char *msg, size_t cap) {
    int64_t i;
    if (!strcmp(name, "port")) {
        if (str_to_i64_range(v, 0, 65535, &i)) return o->port = (int)i, true;
        snprintf(msg, cap, "--port '%s' is not a port number 0..65535", v);
    } else if (!strcmp(name, "bind")) {
        return o->bind = v, true;
    } else if (!strcmp(name, "trades")) {
        if (str_to_i64_range(v, 1, 100000000, &o->trades)) return true;
        snprintf(msg, cap, "--trades '%s' is not a count 1..100000000", v);
    } else if (!strcmp(name, "start")) {
        if (parse_start(v, &o->start_ms)) return true;
        snprintf(msg, cap, "--start '%s' is not a time like 2024-01-01T00:00:00Z or epoch milliseconds", v);
    } else if (!strcmp(name, "span")) {
        if (parse_span(v, &o->span_ms)) return true;
        snprintf(msg, cap, "--span '%s' is not a duration like 500ms, 90s, 15m, 6h or 1d", v);
    } else if (!strcmp(name, "rate-limit")) {
        if (parse_double(v, 0, 1e6, &o->rate)) return true;
        snprintf(msg, cap, "--rate-limit '%s' is not a rate 0..1000000 (requests per second; 0 is no limit)", v);
    } else if (!strcmp(name, "burst")) {
        if (parse_double(v, 1, 1e6, &o->burst)) return true;
        snprintf(msg, cap, "--burst '%s' is not a number of requests 1..1000000", v);
    } else if (!strcmp(name, "rate-scope")) {
        if (!strcmp(v, "ip") || !strcmp(v, "global")) return o->per_ip = !strcmp(v, "ip"), true;
        snprintf(msg, cap, "--rate-scope '%s' is neither ip nor global", v);
    } else if (!strcmp(name, "fail-rate") || !strcmp(name, "slow-rate")) {
        if (parse_double(v, 0, 1, name[0] == 'f' ? &o->fail_rate : &o->slow_rate)) return true;
        snprintf(msg, cap, "--%s '%s' is not a share 0..1 (0.1 is one request in ten)", name, v);
    } else if (!strcmp(name, "slow-ms")) {
        if (str_to_i64_range(v, 0, 60000, &o->slow_ms)) return true;
        snprintf(msg, cap, "--slow-ms '%s' is not a delay 0..60000 ms", v);
    } else if (!strcmp(name, "seed")) {
        uint64_t u;
        if (str_to_u64(v, &u)) return o->seed = u, true;
        snprintf(msg, cap, "--seed '%s' is not an unsigned integer", v);
    } else {
        snprintf(msg, cap, "unknown flag --%s; run 'floe sample-api --help' for the flags", name);
    }
    return false;
}

static bool parse_flags(sa_opts *o, int argc, char **argv, char *msg, size_t cap) {
    *o = (sa_opts){.port = 8800,
                   .bind = "127.0.0.1",
                   .trades = 1000000,
                   .start_ms = 1704067200000ll, /* 2024-01-01T00:00:00Z */
                   .span_ms = 86400000,
                   .rate = 20,
                   .burst = -1,
                   .per_ip = true,
                   .slow_rate = 1,
                   .seed = 1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(msg, cap, "unexpected argument '%s'; flags are given as --name value", a);
            return false;
        }
        char name[32];
        const char *eq = strchr(a, '='), *v;
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a + 2);
        if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            snprintf(msg, cap, "flag --%s needs a value", name);
            return false;
        }
        if (!set_flag(o, name, v, msg, cap)) return false;
    }
    if (o->burst < 0) o->burst = o->rate * 2 < 1 ? 1 : o->rate * 2;
    return true;
}

/* ---- the command ---- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { stop_requested = sig; }

int cli_sample_api(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }
    static sa_server s; /* one per process; the signal loop keeps it alive */
    char msg[256];
    if (!parse_flags(&s.o, argc, argv, msg, sizeof msg)) {
        fprintf(stderr, "floe sample-api: %s\n", msg);
        return 2;
    }
    log_setup(LOG_INFO, false);
    uint64_t t0 = time_mono_ns();
    pthread_mutex_init(&s.lock, NULL);
    sample_data_init(&s.data, s.o.trades, s.o.start_ms, s.o.span_ms);
    http_route route = {.prefix = "", .handler = {.end = sa_end, .ctx = &s}};
    http_server_opts ho = {.name = "sample-api", .bind = s.o.bind, .port = s.o.port, .routes = &route, .nroutes = 1};
    floe_err err = {0};
    http_server_t *srv = http_server_start(&ho, &err);
    if (!srv) {
        fprintf(stderr, "floe sample-api: %s\n", err.msg);
        sample_data_free(&s.data);
        return 1;
    }
    s.port = http_server_port(srv);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    log_info("sample-api",
             "ready in %.1f ms on http://%s:%d: %d symbols x %lld trades; rate limit %g/s (burst %g, %s); "
             "fail rate %g, slow %lld ms at rate %g, seed %llu",
             (double)(time_mono_ns() - t0) / 1e6, s.o.bind, s.port, s.data.nsymbols, (long long)s.o.trades, s.o.rate,
             s.o.burst, s.o.per_ip ? "per IP" : "global", s.o.fail_rate, (long long)s.o.slow_ms, s.o.slow_rate,
             (unsigned long long)s.o.seed);
    while (!stop_requested) pause();
    log_info("sample-api", "signal %d: shutting down after %llu requests", (int)stop_requested,
             (unsigned long long)s.total);
    http_server_stop(srv);
    sample_data_free(&s.data);
    pthread_mutex_destroy(&s.lock);
    return 0;
}
