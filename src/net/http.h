/*
 * http.h: Floe's HTTP layer: a server on libmicrohttpd with streamed request
 * bodies and sendfile responses, a prefix router, and a client on libcurl.
 *
 * A handler sees a request in up to four calls: begin (headers are in), body
 * (zero or more chunks as they arrive), end (the body is complete) and done
 * (always, last; `completed` is false when the client went away or the
 * response could not be sent). Any of begin, body or end may set the
 * response; once one is set the server sends it and no more body calls come.
 * Each request owns an arena that is freed after done.
 *
 * The server runs a few event threads (epoll), so a handler must not block.
 * Work that may (an fsync, a commit wait, a large copy) is handed to
 * http_req_defer: the connection is suspended, the function runs on a worker
 * thread, sets the response, and the connection resumes to send it.
 */
#ifndef FLOE_NET_HTTP_H
#define FLOE_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

typedef struct http_server http_server_t;
typedef struct http_req http_req_t;

typedef struct http_param {
    char *name;                       /* decoded */
    char *value;                      /* decoded; "" when the parameter had no '=' */
    const char *raw_name, *raw_value; /* as sent */
    size_t raw_name_len, raw_value_len;
    bool has_value;
} http_param;

typedef struct http_header {
    char *name, *value;
    struct http_header *next;
} http_header;

typedef struct http_handler {
    void (*begin)(http_req_t *req, void *ctx);
    void (*body)(http_req_t *req, const char *data, size_t len, void *ctx);
    void (*end)(http_req_t *req, void *ctx);
    void (*done)(http_req_t *req, bool completed, void *ctx);
    void *ctx;
} http_handler;

struct http_req {
    arena_t arena;
    void *conn; /* struct MHD_Connection */
    const char *method;
    const char *raw_uri;  /* path?query exactly as sent */
    const char *raw_path; /* path as sent, without the query */
    size_t raw_path_len;
    char *path; /* percent-decoded path; may hold NUL bytes (see path_len) */
    size_t path_len;
    http_param *params; /* decoded query parameters, in order */
    size_t nparams;
    bool has_length;
    uint64_t content_length;
    uint64_t body_bytes; /* received so far */
    uint64_t sent_bytes; /* response body size once responded */
    uint64_t start_ns;
    const http_handler *handler;
    void *user; /* the handler's per-request state */
    int status; /* set when a response is chosen */
    bool responded;
    void *server; /* http_server_t */
    void (*defer_fn)(http_req_t *req, void *arg);
    void *defer_arg;
    bool deferred; /* suspended while defer_fn runs on a worker */
    bool bad_uri;  /* the URI could not be decoded */
    /* pending response */
    void *resp; /* struct MHD_Response */
    http_header *resp_headers;
};

/* ---- request accessors ---- */
const char *http_req_header(http_req_t *req, const char *name); /* case-insensitive */
/* Calls fn for every request header, in arrival order. */
void http_req_each_header(http_req_t *req, void (*fn)(const char *name, const char *value, void *arg), void *arg);
const char *http_req_param(http_req_t *req, const char *name); /* NULL if absent */
bool http_req_has_param(http_req_t *req, const char *name);
bool http_req_is(http_req_t *req, const char *method);
/* The client's address as text ("127.0.0.1") into out; "" when unknown. */
void http_req_client_ip(http_req_t *req, char *out, size_t cap);

/* From a handler callback: after it returns, suspend the connection and run
 * fn(req, arg) on a worker thread; fn must set the response. */
void http_req_defer(http_req_t *req, void (*fn)(http_req_t *req, void *arg), void *arg);

/* ---- responses (each sets the response; call at most once) ---- */
void http_resp_header(http_req_t *req, const char *name, const char *value);
/* Body copied. */
void http_respond(http_req_t *req, int status, const char *content_type, const void *body, size_t len);
/* Body taken over (malloc'd; freed by the server). */
void http_respond_owned(http_req_t *req, int status, const char *content_type, char *body, size_t len);
/* Sends len bytes of fd from offset with sendfile; the server closes fd. */
void http_respond_fd(http_req_t *req, int status, int fd, uint64_t offset, uint64_t len);
/* No body sent, but Content-Length says len (for HEAD). */
void http_respond_length_only(http_req_t *req, int status, uint64_t len);

/* ---- server ---- */
typedef struct http_route {
    const char *method; /* NULL matches any */
    const char *prefix; /* path prefix; "" matches all */
    bool exact;         /* path must equal prefix */
    http_handler handler;
} http_route;

typedef struct http_server_opts {
    const char *name; /* for logs: "s3", "catalog" */
    const char *bind;
    int port; /* 0 picks a free port; see http_server_port */
    const http_route *routes;
    size_t nroutes;
    size_t max_header_bytes; /* default 64 KiB */
    unsigned idle_timeout_s; /* default 60 */
    /* Called after every request with its final status and duration. */
    void (*observe)(http_req_t *req, bool completed, void *ctx);
    void *observe_ctx;
} http_server_opts;

http_server_t *http_server_start(const http_server_opts *opts, floe_err *err);
int http_server_port(http_server_t *srv);
void http_server_stop(http_server_t *srv);

/* A handler for JSON APIs: collects the request body (up to max bytes),
 * then runs run(req, body, len, arg) on a worker thread (http_req_defer),
 * with body NUL-terminated. A body over max gets too_big(req, arg)
 * instead, on the event thread. Make it with http_collect_handler; c must
 * outlive the server. */
typedef struct http_collect {
    size_t max;
    void (*run)(http_req_t *req, const char *body, size_t len, void *arg);
    void (*too_big)(http_req_t *req, void *arg);
    void *arg;
} http_collect;

http_handler http_collect_handler(const http_collect *c);

/* Convenience handler answering "ok" (200) to anything: health checks. */
extern const http_handler http_health_handler;

/* ---- client ---- */
typedef struct http_client_resp {
    long status;
    buf_t body;
    buf_t headers; /* raw header block */
} http_client_resp;

/* One blocking request. headers is a NULL-terminated list of "Name: value". */
bool http_fetch(const char *method, const char *url, const char *const *headers, const void *body, size_t len,
                http_client_resp *out, floe_err *err);
void http_client_resp_free(http_client_resp *r);

/* A client that keeps its connections open between requests (keep-alive),
 * for callers that make many requests to one service (the S3 client of
 * store/fileio). It holds a few libcurl handles; each call takes one, so a
 * client may be shared between threads. */
typedef struct http_client http_client_t;

typedef struct http_call {
    const char *method;
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value"; "Name:" removes a default */
    const void *body;           /* sent with a Content-Length when has_body */
    size_t body_len;
    bool has_body;
    /* Each response header line as it arrives (status line included, CRLF
     * kept); a new status line starts a new response (after a 100). */
    void (*on_header)(void *arg, const char *line, size_t n);
    /* Body bytes, with the final status. Returning false stops the transfer
     * (the call then succeeds with stopped set). NULL discards the body. */
    bool (*on_body)(void *arg, long status, const char *p, size_t n);
    void *arg;
    long timeout_s; /* the whole request; 0 for none (a transfer stalled for a minute fails anyway) */
    /* results */
    long status;
    bool stopped;   /* on_body asked to stop */
    bool transient; /* the transport failed in a way a retry may fix: refused, reset, timed out */
} http_call;

http_client_t *http_client_new(void);
void http_client_free(http_client_t *c);
/* Performs one request. Any HTTP status is success; false is a transport
 * failure, and err names the method, the URL and what libcurl said. */
bool http_client_call(http_client_t *c, http_call *call, floe_err *err);

#endif
