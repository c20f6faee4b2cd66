/*
 * fileio_s3_int.h: the S3 client under fileio_s3, shared by
 *
 *   fileio_s3_req.c  one S3 request: URL and addressing, SigV4 signing,
 *                    retries with backoff, errors from the response, and a
 *                    small expat walker for the XML bodies
 *   fileio_s3.c      the FileIO operations built from those requests
 */
#ifndef FLOE_STORE_FILEIO_S3_INT_H
#define FLOE_STORE_FILEIO_S3_INT_H

#include <pthread.h>

#include "net/http.h"
#include "store/fileio_int.h"
#include "store/s3/sigv4.h"

#define S3C_DEFAULT_RETRIES 4
#define S3C_DEFAULT_PART (16u << 20)
#define S3C_MIN_PART (5u << 20)   /* S3's smallest part, but for the last */
#define S3C_MAX_PART (5ull << 30) /* and its largest */
#define S3C_RETRY_BASE_MS 100     /* first backoff; doubles each retry */
#define S3C_RETRY_CAP_MS 5000

typedef enum { S3C_ADDR_PATH, S3C_ADDR_VHOST, S3C_ADDR_AWS_AUTO } s3c_addressing;

typedef struct s3c {
    fileio_t base;
    http_client_t *http;
    char *scheme;    /* "http" or "https" */
    char *host;      /* the endpoint's host[:port] */
    char *base_path; /* "" or "/path" under which the service lives */
    char *region, *access_key, *secret_key, *session_token;
    s3c_addressing addressing;
    int max_retries;
    size_t part_size, threshold;
    /* The signing key changes daily; deriving it takes four HMACs. */
    pthread_mutex_t key_mu;
    char key_date[9];
    unsigned char key[32];
} s3c;

/* One request and what came back. The caller fills the first group. */
typedef struct s3c_req {
    const char *method;
    const char *uri;            /* the FileIO URI, for messages */
    const fileio_s3_uri *where; /* key_len 0: a bucket-level request */
    s3_kv query[5];             /* decoded; "" values are sent as a bare name */
    size_t nquery;
    const char *headers[4]; /* extra "Name: value" lines, not signed */
    size_t nheaders;
    const void *body;
    size_t body_len;
    bool has_body;
    const char *content_type; /* sent when set */
    /* Where a 2xx body goes: exactly dst_len bytes into dst (a ranged GET at
     * range_off), or appended to out, or nowhere. */
    char *dst;
    size_t dst_len;
    uint64_t range_off;
    buf_t *out;
    bool error_in_200; /* a 200 may carry <Error> (CompleteMultipartUpload) */

    long status; /* the last response's; 0 when none came */
    int attempts;
    char etag[96];     /* as sent, quotes and all */
    char code[64];     /* S3 error Code, from the body or x-amz-error-code */
    char message[256]; /* S3 error Message */
    uint64_t length;   /* Content-Length */
    bool has_length;
    /* private to fileio_s3_req.c, per attempt */
    size_t got, out_base;
    uint64_t skipped;
    bool whole_done, overflow;
    buf_t errbody;
} s3c_req;

/* Sends r, retrying transient failures (connection errors, 5xx, 429,
 * SlowDown) with exponential backoff and jitter. True for a 2xx response.
 * Otherwise err names the URI, the method, the HTTP status and S3's error
 * Code and Message (r->status and r->code say which), with a hint. */
bool s3c_send(s3c *io, s3c_req *r, floe_err *err);
void s3c_req_free(s3c_req *r);

/* Parses the endpoint URL into io's scheme, host and base path. */
bool s3c_set_endpoint(s3c *io, const char *endpoint, floe_err *err);

/* Calls on_end(arg, path, text, n) at the end of every element, where path
 * is "/Root/Child/Leaf" and text the element's own character data. */
bool s3c_xml_walk(const char *body, size_t len, void (*on_end)(void *arg, const char *path, const char *text, size_t n),
                  void *arg, floe_err *err);

#endif
