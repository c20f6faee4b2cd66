/*
 * s3load.c: the load generator behind `make bench` (bench/s3/run.sh).
 *
 * Drives N concurrent HTTP/1.1 transfers through one libcurl multi handle
 * against an S3 endpoint (SigV4 signed; PUT bodies are UNSIGNED-PAYLOAD) or
 * a plain web server such as nginx (--unsigned), for a fixed number of
 * requests or a fixed time, then prints one line of key=value results on
 * stdout: ops/s, MB/s (10^6 bytes), p50/p99 latency and errors. Any reply
 * outside 2xx is an error; the first few are printed on stderr with their
 * body. PUT bodies come from memory, so the client never reads the disk.
 *
 *   get   GET <url>/<key>        keys from --key, a pattern such as key-%06d
 *   put   PUT <url>/<key>        --size bytes of pseudo-random data
 *   list  ListObjectsV2 of the bucket <url>, every page, --requests times
 *
 * The signer here is deliberately the client's own, independent of the
 * server's src/store/s3/sigv4.c, so a bug shared by both cannot hide.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/str.h"

#define SHOW_ERRORS_DEFAULT 5
#define BODY_KEEP 1024 /* bytes of each reply kept for error messages */
#define TRANSFER_TIMEOUT_S 600L
#define MAX_STATUS_KINDS 16
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef enum { MODE_GET, MODE_PUT, MODE_LIST } load_mode;

typedef struct load_opts {
    load_mode mode;
    const char *url; /* http://host:port[/bucket] */
    int concurrency;
    uint64_t requests; /* 0: run for --duration */
    double duration;   /* seconds */
    uint64_t size;     /* PUT body size; for GET the expected size (0: any) */
    const char *key_pattern;
    uint64_t keys;  /* distinct keys, request i uses first + i % keys; 0: first + i */
    uint64_t first; /* index of the first key */
    bool is_signed;
    const char *access_key, *secret_key, *region;
    int max_keys;        /* list page size */
    const char *prefix;  /* list prefix, or NULL */
    int64_t expect_keys; /* list: keys a full listing must return, -1: any */
    int show_errors;     /* how many failed requests to print in full */
} load_opts;

/* The URL split into what the request line, the Host header and the
 * canonical request each need. */
typedef struct endpoint {
    char origin[512];    /* "http://127.0.0.1:9000" */
    char host[256];      /* "127.0.0.1:9000", sent as Host and signed */
    char base_path[512]; /* "/bench", or "" for the root */
} endpoint;

typedef struct sigv4_signer {
    const char *access_key, *secret_key, *region;
    char date8[9];
    unsigned char key[32]; /* signing key for date8, derived once a day */
} sigv4_signer;

/* Replies by status, for the summary of errors. Status 0 is a transport
 * failure (refused, reset, timed out). */
typedef struct status_tally {
    long status[MAX_STATUS_KINDS];
    uint64_t count[MAX_STATUS_KINDS];
    int n;
} status_tally;

typedef struct transfer {
    CURL *easy;
    struct curl_slist *headers;
    bool busy;
    char key[1024];
    buf_t url;
    double started;
    const char *up_body; /* PUT: the shared body in memory */
    uint64_t up_len, up_off;
    uint64_t received;
    buf_t body;      /* the start of the reply, or all of it in list mode */
    size_t body_max; /* how much of the reply to keep */
    char errbuf[CURL_ERROR_SIZE];
} transfer;

typedef struct load_run {
    const load_opts *o;
    endpoint ep;
    sigv4_signer signer;
    CURLM *multi;
    transfer *slots;
    char *put_body;
    uint64_t issued, ok, errors, bytes;
    double t0, deadline, t_end;
    double *lat; /* seconds, one per successful request */
    size_t nlat, cap_lat;
    status_tally tally;
    int errors_shown;
} load_run;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "s3load: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

/* ---------------- keys ---------------- */

/* A key pattern holds at most one integer conversion, %d or %0Nd, and %%
 * for a literal percent sign. Checked once, so formatting cannot fail. */
static void key_pattern_check(const char *pat) {
    int conversions = 0;
    for (const char *p = pat; *p; p++) {
        if (*p != '%') continue;
        p++;
        if (*p == '%') continue;
        while (*p >= '0' && *p <= '9') p++;
        if (*p != 'd')
            die("--key '%s': the only conversion allowed is %%d or %%0Nd (use %%%% for a percent sign)", pat);
        conversions++;
    }
    if (conversions > 1) die("--key '%s': at most one %%d conversion", pat);
}

static void key_format(const char *pat, uint64_t idx, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = pat; *p && n + 1 < cap; p++) {
        if (*p != '%') {
            out[n++] = *p;
            continue;
        }
        p++;
        if (*p == '%') {
            out[n++] = '%';
            continue;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        int w = snprintf(out + n, cap - n, "%0*llu", width, (unsigned long long)idx);
        n = w < 0 ? n : (n + (size_t)w < cap ? n + (size_t)w : cap - 1);
    }
    out[n] = '\0';
}

static uint64_t key_index(const load_opts *o, uint64_t i) { return o->first + (o->keys ? i % o->keys : i); }

/* ---------------- URL and SigV4 ---------------- */

static void endpoint_parse(const char *url, endpoint *ep) {
    const char *hs = strstr(url, "://");
    if (!hs || strncmp(url, "http", 4) != 0) die("--url '%s': expected http://host:port[/bucket]", url);
    hs += 3;
    const char *slash = strchr(hs, '/');
    size_t hlen = slash ? (size_t)(slash - hs) : strlen(hs);
    if (hlen == 0 || hlen >= sizeof ep->host) die("--url '%s': no host", url);
    memcpy(ep->host, hs, hlen);
    ep->host[hlen] = '\0';
    snprintf(ep->origin, sizeof ep->origin, "%.*s", (int)(hs + hlen - url), url);
    const char *path = slash ? slash : "";
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/') plen--; /* "/bench/" is "/bench" */
    if (plen >= sizeof ep->base_path) die("--url '%s': path too long", url);
    memcpy(ep->base_path, path, plen);
    ep->base_path[plen] = '\0';
}

static void hmac(const unsigned char *key, size_t keylen, const char *msg, unsigned char out[32]) {
    hash_hmac_sha256(key, keylen, msg, strlen(msg), out);
}

static void signer_key_for(sigv4_signer *s, const char *date8) {
    if (strcmp(s->date8, date8) == 0) return;
    buf_t k = BUF_INIT;
    buf_printf(&k, "AWS4%s", s->secret_key);
    unsigned char a[32], b[32];
    hmac((const unsigned char *)k.data, k.len, date8, a);
    hmac(a, 32, s->region, b);
    hmac(b, 32, "s3", a);
    hmac(a, 32, "aws4_request", s->key);
    memcpy(s->date8, date8, 9);
    buf_free(&k);
}

/* Appends Host, x-amz-date, x-amz-content-sha256 and Authorization for a
 * request whose path (as sent, already encoded) and canonical query string
 * (sorted, encoded; "" for none) are given. Signs host, x-amz-content-sha256
 * and x-amz-date, as the AWS SDKs do. */
static struct curl_slist *sigv4_headers(sigv4_signer *s, const endpoint *ep, const char *method, const char *path,
                                        const char *query, const char *payload_hash, struct curl_slist *h) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char amz_date[17], date8[9];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    signer_key_for(s, date8);

    buf_t creq = BUF_INIT, sts = BUF_INIT, hdr = BUF_INIT;
    buf_printf(&creq, "%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\n%s\n%s", method,
               path[0] ? path : "/", query, ep->host, payload_hash, amz_date, "host;x-amz-content-sha256;x-amz-date",
               payload_hash);
    char creq_hash[65], sig[65];
    hash_sha256_hex(creq.data, creq.len, creq_hash);
    buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amz_date, date8, s->region, creq_hash);
    unsigned char mac[32];
    hash_hmac_sha256(s->key, 32, sts.data, sts.len, mac);
    str_hex(mac, 32, sig);

    buf_printf(&hdr, "Host: %s", ep->host);
    h = curl_slist_append(h, hdr.data);
    buf_reset(&hdr);
    buf_printf(&hdr, "x-amz-date: %s", amz_date);
    h = curl_slist_append(h, hdr.data);
    buf_reset(&hdr);
    buf_printf(&hdr, "x-amz-content-sha256: %s", payload_hash);
    h = curl_slist_append(h, hdr.data);
    buf_reset(&hdr);
    buf_printf(&hdr,
               "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
               "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s",
               s->access_key, date8, s->region, sig);
    h = curl_slist_append(h, hdr.data);
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&hdr);
    return h;
}

/* ---------------- results ---------------- */

static void tally_add(status_tally *t, long status) {
    for (int i = 0; i < t->n; i++)
        if (t->status[i] == status) {
            t->count[i]++;
            return;
        }
    if (t->n < MAX_STATUS_KINDS) {
        t->status[t->n] = status;
        t->count[t->n++] = 1;
    }
}

static void lat_add(load_run *r, double seconds) {
    if (r->nlat == r->cap_lat) {
        r->cap_lat = r->cap_lat ? r->cap_lat * 2 : 4096;
        r->lat = realloc(r->lat, r->cap_lat * sizeof *r->lat);
        if (!r->lat) abort();
    }
    r->lat[r->nlat++] = seconds;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

static void print_error(load_run *r, const char *method, const char *key, long status, const char *why,
                        const buf_t *body) {
    if (r->errors_shown++ >= r->o->show_errors) return;
    fprintf(stderr, "s3load: error: %s %s: %s", method, key, why);
    if (status) fprintf(stderr, " (HTTP %ld)", status);
    if (body && body->len) {
        /* the body on the same line, whitespace runs squeezed */
        fputs(": ", stderr);
        bool space = false;
        for (size_t i = 0; i < body->len && i < 400; i++) {
            char ch = body->data[i];
            bool ws = ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ';
            if (ws && space) continue;
            fputc(ws ? ' ' : ch, stderr);
            space = ws;
        }
    }
    fputc('\n', stderr);
}

static void print_tally(const status_tally *t) {
    if (t->n == 0) return;
    fprintf(stderr, "s3load: errors by status:");
    for (int i = 0; i < t->n; i++) {
        if (t->status[i] == 0)
            fprintf(stderr, " transport=%llu", (unsigned long long)t->count[i]);
        else
            fprintf(stderr, " %ld=%llu", t->status[i], (unsigned long long)t->count[i]);
    }
    fputc('\n', stderr);
}

/* ---------------- transfers (get and put) ---------------- */

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
    transfer *x = ud;
    size_t len = size * n;
    x->received += len;
    if (x->body.len < x->body_max) {
        size_t keep = x->body_max - x->body.len;
        buf_append(&x->body, p, len < keep ? len : keep);
    }
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud) {
    transfer *x = ud;
    uint64_t left = x->up_len - x->up_off;
    size_t len = size * n < left ? size * n : (size_t)left;
    memcpy(p, x->up_body + x->up_off, len);
    x->up_off += len;
    return len;
}

static void transfer_setup(load_run *r, transfer *x) {
    x->easy = curl_easy_init();
    if (!x->easy) abort();
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, TRANSFER_TIMEOUT_S);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    /* Large bodies: fewer, bigger reads and writes on the client side. */
    if (r->o->size >= (1u << 20)) {
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    }
    if (r->o->mode == MODE_PUT) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->o->size);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    x->body_max = BODY_KEEP;
}

static void transfer_start(load_run *r, transfer *x) {
    const load_opts *o = r->o;
    key_format(o->key_pattern, key_index(o, r->issued), x->key, sizeof x->key);
    buf_reset(&x->url);
    buf_printf(&x->url, "%s/", r->ep.base_path);
    str_uri_encode(&x->url, x->key, strlen(x->key), true);
    const char *path = x->url.data;
    /* the request URL is origin + path; the path alone is signed */
    buf_t full = BUF_INIT;
    buf_printf(&full, "%s%s", r->ep.origin, path);
    curl_easy_setopt(x->easy, CURLOPT_URL, full.data); /* curl copies it */
    buf_free(&full);

    struct curl_slist *h = NULL;
    bool put = o->mode == MODE_PUT;
    if (o->is_signed)
        h = sigv4_headers(&r->signer, &r->ep, put ? "PUT" : "GET", path, "", put ? "UNSIGNED-PAYLOAD" : EMPTY_SHA256,
                          h);
    if (put) h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_slist_free_all(x->headers);
    x->headers = h;
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h);

    x->up_body = r->put_body;
    x->up_len = put ? o->size : 0;
    x->up_off = 0;
    x->received = 0;
    buf_reset(&x->body);
    x->errbuf[0] = '\0';
    x->busy = true;
    x->started = now_s();
    r->issued++;
    curl_multi_add_handle(r->multi, x->easy);
}

static void transfer_finish(load_run *r, transfer *x, CURLcode rc) {
    double t = now_s();
    const char *method = r->o->mode == MODE_PUT ? "PUT" : "GET";
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(r->multi, x->easy);
    x->busy = false;
    r->t_end = t;

    char why[CURL_ERROR_SIZE + 64];
    if (rc != CURLE_OK) {
        snprintf(why, sizeof why, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        status = 0;
    } else if (status < 200 || status > 299) {
        snprintf(why, sizeof why, "status outside 2xx");
    } else if (r->o->mode == MODE_GET && r->o->size && x->received != r->o->size) {
        snprintf(why, sizeof why, "body of %llu bytes, expected %llu", (unsigned long long)x->received,
                 (unsigned long long)r->o->size);
    } else {
        r->ok++;
        r->bytes += r->o->mode == MODE_PUT ? x->up_off : x->received;
        lat_add(r, t - x->started);
        return;
    }
    r->errors++;
    tally_add(&r->tally, status);
    print_error(r, method, x->key, status, why, &x->body);
}

static bool may_issue(const load_run *r) {
    if (r->o->requests) return r->issued < r->o->requests;
    return now_s() < r->deadline;
}

static void run_transfers(load_run *r) {
    const load_opts *o = r->o;
    r->multi = curl_multi_init();
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency + 4);
    r->slots = calloc((size_t)o->concurrency, sizeof *r->slots);
    if (!r->slots) abort();
    for (int i = 0; i < o->concurrency; i++) transfer_setup(r, &r->slots[i]);

    r->t0 = now_s();
    r->t_end = r->t0;
    r->deadline = r->t0 + o->duration;
    int active = 0;
    for (;;) {
        for (int i = 0; i < o->concurrency && may_issue(r); i++) {
            if (r->slots[i].busy) continue;
            transfer_start(r, &r->slots[i]);
            active++;
        }
        if (active == 0) break;
        int running = 0;
        curl_multi_perform(r->multi, &running);
        CURLMsg *m;
        int queued;
        bool finished = false;
        while ((m = curl_multi_info_read(r->multi, &queued))) {
            if (m->msg != CURLMSG_DONE) continue;
            transfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            transfer_finish(r, x, m->data.result);
            active--;
            finished = true;
        }
        if (!finished) curl_multi_poll(r->multi, NULL, 0, 100, NULL);
    }

    for (int i = 0; i < o->concurrency; i++) {
        curl_easy_cleanup(r->slots[i].easy);
        curl_slist_free_all(r->slots[i].headers);
        buf_free(&r->slots[i].url);
        buf_free(&r->slots[i].body);
    }
    free(r->slots);
    curl_multi_cleanup(r->multi);
}

static void report_transfers(load_run *r) {
    const load_opts *o = r->o;
    double secs = r->t_end - r->t0;
    if (secs <= 0) secs = 1e-9;
    qsort(r->lat, r->nlat, sizeof *r->lat, cmp_double);
    print_tally(&r->tally);
    printf("mode=%s concurrency=%d size=%llu requests=%llu ok=%llu errors=%llu seconds=%.3f ops_per_s=%.1f "
           "mb_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n",
           o->mode == MODE_PUT ? "put" : "get", o->concurrency, (unsigned long long)o->size,
           (unsigned long long)r->issued, (unsigned long long)r->ok, (unsigned long long)r->errors, secs,
           (double)r->ok / secs, (double)r->bytes / secs / 1e6, percentile(r->lat, r->nlat, 50) * 1e3,
           percentile(r->lat, r->nlat, 99) * 1e3);
}

/* ---------------- list ---------------- */

/* The text of the first <tag>...</tag> at or after p, with the five XML
 * entities decoded, into out. Returns the end of the element or NULL. */
static const char *xml_text(const char *p, const char *tag, buf_t *out) {
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *s = strstr(p, open);
    if (!s) return NULL;
    s += strlen(open);
    const char *e = strstr(s, close);
    if (!e) return NULL;
    buf_reset(out);
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (const char *q = s; q < e; q++) {
        bool done = false;
        for (size_t i = 0; *q == '&' && i < sizeof ents / sizeof ents[0] && !done; i++) {
            size_t n = strlen(ents[i].ent);
            if ((size_t)(e - q) >= n && memcmp(q, ents[i].ent, n) == 0) {
                buf_putc(out, ents[i].c);
                q += n - 1;
                done = true;
            }
        }
        if (!done) buf_putc(out, *q);
    }
    return e + strlen(close);
}

static uint64_t count_keys(const char *xml) {
    uint64_t n = 0;
    for (const char *p = xml; (p = strstr(p, "<Key>")); p += 5) n++;
    return n;
}

/* One page: GET <bucket>?list-type=2&max-keys=N[&prefix=..][&continuation-token=..].
 * Parameters are in sorted order so the query sent is the canonical one. */
static bool list_page(load_run *r, transfer *x, const char *token, uint64_t *keys, bool *truncated, buf_t *next) {
    const load_opts *o = r->o;
    buf_t q = BUF_INIT;
    if (token && *token) {
        buf_puts(&q, "continuation-token=");
        str_uri_encode(&q, token, strlen(token), false);
        buf_putc(&q, '&');
    }
    buf_printf(&q, "list-type=2&max-keys=%d", o->max_keys);
    if (o->prefix && *o->prefix) {
        buf_puts(&q, "&prefix=");
        str_uri_encode(&q, o->prefix, strlen(o->prefix), false);
    }
    const char *path = r->ep.base_path[0] ? r->ep.base_path : "/";
    buf_reset(&x->url);
    buf_printf(&x->url, "%s%s?%s", r->ep.origin, path, q.data);
    curl_easy_setopt(x->easy, CURLOPT_URL, x->url.data);
    struct curl_slist *h = NULL;
    if (o->is_signed) h = sigv4_headers(&r->signer, &r->ep, "GET", path, q.data, EMPTY_SHA256, h);
    curl_slist_free_all(x->headers);
    x->headers = h;
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h);
    buf_reset(&x->body);
    x->received = 0;
    x->errbuf[0] = '\0';
    snprintf(x->key, sizeof x->key, "%s?%s", path, q.data);
    buf_free(&q);

    double t = now_s();
    r->issued++;
    CURLcode rc = curl_easy_perform(x->easy);
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    const char *why = NULL;
    if (rc != CURLE_OK) {
        why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        status = 0;
    } else if (status < 200 || status > 299) {
        why = "status outside 2xx";
    }
    if (why) {
        r->errors++;
        tally_add(&r->tally, status);
        print_error(r, "GET", x->key, status, why, &x->body);
        return false;
    }
    lat_add(r, now_s() - t);
    r->ok++;
    r->bytes += x->received;
    buf_t v = BUF_INIT;
    *keys = count_keys(x->body.data ? x->body.data : "");
    *truncated = xml_text(x->body.data ? x->body.data : "", "IsTruncated", &v) && strcmp(v.data, "true") == 0;
    buf_reset(next);
    if (*truncated && !xml_text(x->body.data, "NextContinuationToken", next)) {
        r->errors++;
        print_error(r, "GET", x->key, status, "IsTruncated is true but there is no NextContinuationToken", &x->body);
        buf_free(&v);
        return false;
    }
    buf_free(&v);
    return true;
}

/* Lists the bucket to the end --requests times (at least once) and reports
 * the time a full listing takes. Pages are sequential by nature, so
 * --concurrency does not apply. */
static int run_list(load_run *r) {
    const load_opts *o = r->o;
    uint64_t listings = o->requests ? o->requests : 1;
    transfer x = {0};
    transfer_setup(r, &x);
    x.body_max = SIZE_MAX;
    double *full = calloc(listings, sizeof *full);
    if (!full) abort();
    uint64_t pages = 0, keys_last = 0, done = 0;
    buf_t token = BUF_INIT, next = BUF_INIT;
    r->t0 = now_s();
    for (uint64_t l = 0; l < listings; l++) {
        double t = now_s();
        uint64_t keys = 0;
        bool ok = true, truncated = true;
        buf_reset(&token);
        /* bounded: a listing that does not end within 10M pages is broken */
        for (uint64_t p = 0; truncated && p < 10000000; p++) {
            uint64_t n = 0;
            if (!(ok = list_page(r, &x, token.data, &n, &truncated, &next))) break;
            keys += n;
            pages++;
            buf_reset(&token);
            if (next.len) buf_append(&token, next.data, next.len);
            if (truncated && next.len == 0) {
                ok = false;
                break;
            }
        }
        if (!ok) continue;
        full[done++] = now_s() - t;
        keys_last = keys;
        if (o->expect_keys >= 0 && keys != (uint64_t)o->expect_keys) {
            char why[128];
            snprintf(why, sizeof why, "listing returned %llu keys, expected %lld", (unsigned long long)keys,
                     (long long)o->expect_keys);
            r->errors++;
            print_error(r, "LIST", r->ep.base_path, 0, why, NULL);
        }
    }
    r->t_end = now_s();
    qsort(full, done, sizeof *full, cmp_double);
    qsort(r->lat, r->nlat, sizeof *r->lat, cmp_double);
    print_tally(&r->tally);
    printf("mode=list listings=%llu pages=%llu keys=%llu errors=%llu seconds=%.3f listing_s_p50=%.3f "
           "listing_s_max=%.3f page_p50_ms=%.3f page_p99_ms=%.3f\n",
           (unsigned long long)done, (unsigned long long)pages, (unsigned long long)keys_last,
           (unsigned long long)r->errors, r->t_end - r->t0, percentile(full, done, 50), done ? full[done - 1] : 0.0,
           percentile(r->lat, r->nlat, 50) * 1e3, percentile(r->lat, r->nlat, 99) * 1e3);
    free(full);
    buf_free(&token);
    buf_free(&next);
    curl_easy_cleanup(x.easy);
    curl_slist_free_all(x.headers);
    buf_free(&x.url);
    buf_free(&x.body);
    return r->errors ? 1 : 0;
}

/* ---------------- options ---------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: s3load --url http://HOST:PORT[/BUCKET] --mode get|put|list [options]\n"
            "  -c, --concurrency N   transfers in flight (default 1)\n"
            "  -n, --requests N      stop after N requests (list: N full listings)\n"
            "  -d, --duration S      or run for S seconds (default 10)\n"
            "  -s, --size BYTES      PUT body size, or the GET size to check; K, M, G suffixes (KiB..)\n"
            "  -k, --key PATTERN     object key, one %%d or %%0Nd allowed (default key-%%06d)\n"
            "      --keys N          distinct keys: request i uses key first + i %% N (default: no wrap)\n"
            "      --first N         first key index (default 0)\n"
            "      --unsigned        send no SigV4 (plain web servers, public buckets)\n"
            "      --access-key AK   default $FLOE_ACCESS_KEY, then $AWS_ACCESS_KEY_ID\n"
            "      --secret-key SK   default $FLOE_SECRET_KEY, then $AWS_SECRET_ACCESS_KEY\n"
            "      --region R        default us-east-1\n"
            "      --max-keys N      list page size (default 1000)\n"
            "      --prefix P        list prefix\n"
            "      --expect-keys N   list: a full listing must return N keys\n"
            "      --show-errors N   failed requests printed in full (default %d)\n"
            "Prints one line of key=value results on stdout; exits 1 if any request failed.\n",
            SHOW_ERRORS_DEFAULT);
}

static uint64_t parse_size(const char *s, const char *opt) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) die("%s: expected a number, with an optional K, M or G suffix", opt);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end == 'i') end++;
    if (*end == 'B') end++;
    if (*end) die("%s: expected a number, with an optional K, M or G suffix", opt);
    return (uint64_t)v * mul;
}

static const char *env2(const char *a, const char *b) {
    const char *v = getenv(a);
    return v && *v ? v : getenv(b);
}

static void parse_opts(int argc, char **argv, load_opts *o) {
    enum { O_KEYS = 256, O_FIRST, O_UNSIGNED, O_AK, O_SK, O_REGION, O_MAXKEYS, O_PREFIX, O_EXPECT, O_SHOW };
    static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
                                             {"mode", required_argument, NULL, 'm'},
                                             {"concurrency", required_argument, NULL, 'c'},
                                             {"requests", required_argument, NULL, 'n'},
                                             {"duration", required_argument, NULL, 'd'},
                                             {"size", required_argument, NULL, 's'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"keys", required_argument, NULL, O_KEYS},
                                             {"first", required_argument, NULL, O_FIRST},
                                             {"unsigned", no_argument, NULL, O_UNSIGNED},
                                             {"access-key", required_argument, NULL, O_AK},
                                             {"secret-key", required_argument, NULL, O_SK},
                                             {"region", required_argument, NULL, O_REGION},
                                             {"max-keys", required_argument, NULL, O_MAXKEYS},
                                             {"prefix", required_argument, NULL, O_PREFIX},
                                             {"expect-keys", required_argument, NULL, O_EXPECT},
                                             {"show-errors", required_argument, NULL, O_SHOW},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *o = (load_opts){.concurrency = 1,
                     .duration = 10,
                     .key_pattern = "key-%06d",
                     .is_signed = true,
                     .region = "us-east-1",
                     .max_keys = 1000,
                     .expect_keys = -1,
                     .show_errors = SHOW_ERRORS_DEFAULT};
    const char *mode = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "u:m:c:n:d:s:k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': o->url = optarg; break;
        case 'm': mode = optarg; break;
        case 'c': o->concurrency = atoi(optarg); break;
        case 'n': o->requests = parse_size(optarg, "--requests"); break;
        case 'd': o->duration = atof(optarg); break;
        case 's': o->size = parse_size(optarg, "--size"); break;
        case 'k': o->key_pattern = optarg; break;
        case O_KEYS: o->keys = parse_size(optarg, "--keys"); break;
        case O_FIRST: o->first = parse_size(optarg, "--first"); break;
        case O_UNSIGNED: o->is_signed = false; break;
        case O_AK: o->access_key = optarg; break;
        case O_SK: o->secret_key = optarg; break;
        case O_REGION: o->region = optarg; break;
        case O_MAXKEYS: o->max_keys = atoi(optarg); break;
        case O_PREFIX: o->prefix = optarg; break;
        case O_EXPECT: o->expect_keys = (int64_t)parse_size(optarg, "--expect-keys"); break;
        case O_SHOW: o->show_errors = atoi(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) die("unexpected argument '%s' (see --help)", argv[optind]);
    if (!o->url) die("%s", "--url is required, e.g. --url http://127.0.0.1:9000/bench");
    if (!mode) die("%s", "--mode is required: get, put or list");
    if (strcmp(mode, "get") == 0)
        o->mode = MODE_GET;
    else if (strcmp(mode, "put") == 0)
        o->mode = MODE_PUT;
    else if (strcmp(mode, "list") == 0)
        o->mode = MODE_LIST;
    else
        die("--mode '%s': expected get, put or list", mode);
    if (o->concurrency < 1 || o->concurrency > 4096) die("%s", "--concurrency: expected 1..4096");
    if (!o->requests && !(o->duration > 0 && o->duration <= 86400))
        die("%s", "--duration: expected seconds in (0, 86400], or give --requests");
    if (o->max_keys < 1 || o->max_keys > 1000000) die("%s", "--max-keys: expected 1..1000000");
    key_pattern_check(o->key_pattern);
    if (o->is_signed) {
        if (!o->access_key) o->access_key = env2("FLOE_ACCESS_KEY", "AWS_ACCESS_KEY_ID");
        if (!o->secret_key) o->secret_key = env2("FLOE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY");
        if (!o->access_key || !o->secret_key)
            die("%s", "no credentials: set FLOE_ACCESS_KEY and FLOE_SECRET_KEY, pass --access-key and "
                      "--secret-key, or use --unsigned");
    }
}

/* Pseudo-random bytes (xorshift64), so nothing on the way can compress
 * or deduplicate the body. */
static char *make_body(uint64_t size) {
    char *p = malloc(size ? size : 1);
    if (!p) die("%s", "cannot allocate the PUT body; lower --size");
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < size; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        memcpy(p + i, &s, size - i < 8 ? size - i : 8);
    }
    return p;
}

int main(int argc, char **argv) {
    load_opts o;
    parse_opts(argc, argv, &o);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) die("%s", "curl_global_init failed");
    load_run r = {.o = &o};
    endpoint_parse(o.url, &r.ep);
    r.signer = (sigv4_signer){.access_key = o.access_key, .secret_key = o.secret_key, .region = o.region};
    int rc;
    if (o.mode == MODE_LIST) {
        rc = run_list(&r);
    } else {
        if (o.mode == MODE_PUT) r.put_body = make_body(o.size);
        run_transfers(&r);
        report_transfers(&r);
        rc = r.errors || r.ok == 0 ? 1 : 0;
    }
    free(r.put_body);
    free(r.lat);
    curl_global_cleanup();
    return rc;
}
