/*
 * crawler_int.h: what the files of src/crawler share: the loaded config,
 * the rate limiters, the JSON span scanner and the pagination state
 * machine. The pure parts (bucket maths, Retry-After, backoff, record
 * selection, pagination steps) take their inputs explicitly, clocks
 * included, so tests/unit/crawler drives them without a network.
 */
#ifndef FLOE_CRAWLER_INT_H
#define FLOE_CRAWLER_INT_H

#include <pthread.h>

#include "base/arena.h"
#include "crawler/crawler.h"
#include "net/http.h"

#define CRAWL_MAX_PAGE_BYTES (64u << 20) /* a larger response body fails the page */
#define CRAWL_JSON_MAX_DEPTH 256
#define CRAWL_DEFAULT_CONCURRENCY 4 /* per host not listed under hosts: */
#define CRAWL_HOST_KEY_MAX 300      /* "host:port" and its NUL */

/* ---------------------------------------------------------------- limits */

/* A token bucket: rate tokens a second, at most burst. A reservation takes
 * a token now even when the bucket is empty (tokens go negative), and says
 * how long to wait before using it, so waiting threads are served in the
 * order they asked and never exceed the rate together. */
typedef struct crawl_bucket {
    double rate, burst, tokens;
    uint64_t last_ns;
} crawl_bucket;

void crawl_bucket_init(crawl_bucket *b, double rate, double burst, uint64_t now_ns);
/* Reserves one token at now_ns; returns the ns to wait before using it. */
uint64_t crawl_bucket_reserve(crawl_bucket *b, uint64_t now_ns);

/* One host:port: an optional bucket, a concurrency cap, and a pause that
 * a 429 with Retry-After puts on every thread. */
typedef struct crawl_host {
    char key[CRAWL_HOST_KEY_MAX]; /* "host:port", lower case */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool limited;
    crawl_bucket bucket;
    int concurrency, active;
    uint64_t paused_until_ns; /* monotonic */
    struct crawl_host *next;
} crawl_host;

/* An endpoint's own bucket, shared by its threads. */
typedef struct crawl_limiter {
    pthread_mutex_t mu;
    bool limited;
    crawl_bucket bucket;
} crawl_limiter;

/* Waits for a concurrency slot of h and for a token of the endpoint and of
 * the host (and any pause). Returns false, holding nothing, when *cancel
 * was set meanwhile. Each granted call must be paired with
 * crawl_host_release. */
bool crawl_limits_acquire(crawl_host *h, crawl_limiter *ep, volatile int *cancel);
void crawl_host_release(crawl_host *h);
/* Every thread of this host waits until delay_ms from now (a 429's
 * Retry-After). */
void crawl_host_pause(crawl_host *h, int64_t delay_ms);
/* Sleeps ms, waking early (false) when *cancel is set. */
bool crawl_sleep(int64_t ms, volatile int *cancel);

/* ---------------------------------------------------------------- config */

typedef enum {
    CRAWL_PAGE_NONE,
    CRAWL_PAGE_OFFSET,
    CRAWL_PAGE_PAGE,
    CRAWL_PAGE_CURSOR,
    CRAWL_PAGE_LINK,
} crawl_page_type;

typedef struct crawl_pagination {
    crawl_page_type type;
    char *param;       /* offset, page, cursor: the query parameter it sets */
    char *limit_param; /* the page-size parameter, or NULL */
    int64_t limit;     /* the page size (0: unknown); a shorter page is the last (offset, page, from_record) */
    int64_t start_n;   /* offset: first offset (0); page: first page (1) */
    char *start;       /* cursor: the first page's value, or NULL (no cursor on the first request) */
    char *next;        /* cursor: path of the next cursor in the response body */
    char *from_record; /* cursor: path, in the last record, of the value the next page starts from */
    int64_t increment; /* cursor from_record: added to that value */
    char *total;       /* offset: path of the record total; page: path of the page count (optional) */
} crawl_pagination;

typedef struct crawl_kv {
    char *name, *value;
} crawl_kv;

typedef struct crawl_endpoint {
    char *name;
    char *base_url; /* without a trailing '/' */
    char *path;     /* starts with '/' */
    char *method;   /* GET or POST */
    char **headers; /* "Name: value", NULL-terminated; values may hold secrets: never logged */
    size_t nheaders;
    crawl_kv *params;
    size_t nparams;
    crawl_pagination pg;
    char *records; /* record selector path */
    int64_t timeout_ms;
    int retries;
    int64_t backoff_ms, backoff_max_ms, retry_after_max_ms;
    int64_t max_pages;
    crawl_limiter limiter;
    crawl_host *host; /* of base_url */
} crawl_endpoint;

struct crawl {
    char *name;
    arena_t arena; /* the config's strings and endpoints */
    crawl_endpoint *eps;
    size_t neps;
    pthread_mutex_t hosts_mu; /* the list; each host has its own lock */
    crawl_host *hosts;
    http_client_t *http;
    crawl_metrics metrics;
};

const crawl_endpoint *crawl_endpoint_find(const crawl_t *c, const char *name);
/* The host of a URL (http or https) as "host:port"; false when it is not
 * an absolute http(s) URL with a host. */
bool crawl_url_host(const char *url, char *out, size_t cap);
/* The limiter of host:port, made on first use (unlisted hosts: no rate
 * limit, CRAWL_DEFAULT_CONCURRENCY). */
crawl_host *crawl_host_get(crawl_t *c, const char *key);
/* Parses "250ms", "30s", "5m", "2h", "1d" or a number of seconds. */
bool crawl_duration_parse(const char *s, int64_t *ms);

/* ---------------------------------------------------------------- JSON spans
 *
 * Records are copied from the response as they were sent (numbers keep
 * their digits, keys their order), with insignificant whitespace removed. */

typedef struct crawl_span {
    const char *p;
    size_t n;
} crawl_span;

/* True when text is exactly one JSON value (RFC 8259) nested at most
 * CRAWL_JSON_MAX_DEPTH deep; err says where it is not. */
bool crawl_json_check(const char *p, size_t n, floe_err *err);
/* The value at path in a checked document: "$" (or "") is the root,
 * "data.trades" or "$.data.trades" a key path; a segment of digits indexes
 * an array. False when absent. */
bool crawl_json_find(crawl_span doc, const char *path, crawl_span *out);
typedef enum {
    CRAWL_JSON_OBJECT,
    CRAWL_JSON_ARRAY,
    CRAWL_JSON_STRING,
    CRAWL_JSON_NUMBER,
    CRAWL_JSON_LITERAL
} crawl_json_kind;
crawl_json_kind crawl_json_kind_of(crawl_span v);
/* The elements of an array span, in order, into out (an arena array). */
size_t crawl_json_elements(crawl_span arr, arena_t *a, crawl_span **out);
/* Appends v without insignificant whitespace. */
void crawl_json_compact(crawl_span v, buf_t *out);
/* A scalar as text: a string unescaped, a number as written, true/false.
 * *is_null for null. False for an object or an array. */
bool crawl_json_scalar(crawl_span v, buf_t *out, bool *is_null);

/* ---------------------------------------------------------------- pagination */

typedef struct crawl_pager {
    const crawl_pagination *pg;
    int64_t pages;    /* fetched so far */
    int64_t position; /* offset: the next offset; page: the next page number */
    char *cursor;     /* cursor: the next request's value (NULL: none on this request) */
    char *next_url;   /* link: the next page's URL (NULL: build the first) */
    bool done;
    arena_t *arena; /* cursor and next_url live here */
} crawl_pager;

/* What one page said. */
typedef struct crawl_page_info {
    crawl_span body; /* the whole response (checked JSON) */
    size_t nrecords;
    crawl_span last_record; /* p NULL when the page had none */
    const char *link_next;  /* link: the resolved rel="next" URL, or NULL */
} crawl_page_info;

/* start: the job's value for pg->param (NULL: the config's start). */
void crawl_pager_init(crawl_pager *p, const crawl_pagination *pg, const char *start, arena_t *a);
/* Adds this request's pagination parameters (name, value) through add. */
void crawl_pager_params(const crawl_pager *p, void (*add)(void *arg, const char *name, const char *value), void *arg);
/* Takes the page in: sets p->done, or the next request's state. False
 * (with err) when the page breaks the pagination's rules: a cursor that
 * did not move, a from_record value missing from the last record. */
bool crawl_pager_next(crawl_pager *p, const crawl_page_info *page, floe_err *err);

/* The URL of the first link-value with rel "next" in a Link header
 * (RFC 8288; several headers joined with ", "), into out; false when none. */
bool crawl_link_next(const char *header, buf_t *out);
/* Resolves ref against base (RFC 3986) into out. */
bool crawl_url_resolve(const char *base, const char *ref, buf_t *out);

/* ---------------------------------------------------------------- retries */

/* Retry-After: delta-seconds or an HTTP date, as ms from now_s (a date in
 * the past is 0). False when it is neither. */
bool crawl_retry_after_parse(const char *value, int64_t now_s, int64_t *ms);
/* The wait before retry number `retry` (1 for the first): initial * 2^(retry-1)
 * capped at max, then jittered into [d/2, d] by u in [0, 1). */
int64_t crawl_backoff_ms(int retry, int64_t initial_ms, int64_t max_ms, double u);
/* Whether an answer is worth another try: 408, 429 and 5xx. */
bool crawl_status_retryable(long status);

/* ---------------------------------------------------------------- fetching */

typedef struct crawl_response {
    long status;
    buf_t body;
    buf_t link;             /* every Link header value, joined with ", " */
    int64_t retry_after_ms; /* -1: none */
    int attempts;
} crawl_response;

/* One page: the request with the endpoint's limits, timeout and retries.
 * CRAWL_OK with a 2xx response; otherwise err says why. */
crawl_status crawl_fetch(crawl_t *c, const crawl_endpoint *ep, crawl_host *host, const char *url, const char *body,
                         volatile int *cancel, crawl_response *resp, floe_err *err);
void crawl_response_free(crawl_response *r);

#endif
