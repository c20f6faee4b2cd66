/*
 * s3_server_int.h: the S3 request pipeline shared by server.c, auth.c,
 * metrics.c and the ops_*.c files.
 *
 * A request flows: begin (parse bucket and key, authenticate, pick the
 * operation, authorize, let the operation check its headers), body (decode
 * aws-chunked if used, verify the payload hash, feed the operation's sink),
 * end (finish decoding and verification, run the operation), done (clean up
 * whatever the operation left, such as an uncommitted temp file).
 */
#ifndef FLOE_STORE_S3_SERVER_INT_H
#define FLOE_STORE_S3_SERVER_INT_H

#include <stdatomic.h>

#include "base/config.h"
#include "net/http.h"
#include "store/s3/s3.h"
#include "store/s3/s3_int.h"
#include "store/store.h"

typedef struct s3_req s3_req;

/* One entry per S3 operation. */
typedef struct s3_op {
    const char *name;  /* "PutObject": metrics label and logs */
    bool write;        /* needs read-write scope */
    bool anonymous_ok; /* allowed on a public-read bucket without a signature */
    enum { BODY_NONE, BODY_XML, BODY_OBJECT } body;
    /* Called after auth; may respond (an early error). */
    void (*begin)(s3_req *r);
    /* Called with the whole (decoded, verified) body; must respond. */
    void (*end)(s3_req *r);
} s3_op;

typedef struct s3_identity {
    const char *access_key;
    const char *secret_key;
    bool root;
    bool write;
    char **grants; /* "bucket" or "bucket/prefix" */
    size_t ngrants;
} s3_identity;

#define S3_NOPS 40
#define S3_NSTATUS 20
#define S3_NBUCKETS 14

typedef struct s3_metrics {
    atomic_ulong requests[S3_NOPS][S3_NSTATUS];
    atomic_ulong latency[S3_NOPS][S3_NBUCKETS + 1]; /* histogram counts (non-cumulative) */
    atomic_ulong latency_sum_us[S3_NOPS];
    atomic_ulong bytes_in, bytes_out;
} s3_metrics;

struct s3_server {
    const floe_config *cfg;
    store_t *store;
    http_server_t *http;
    s3_identity *ids;
    size_t nids;
    s3_metrics metrics;
    int64_t started_ms;
};

struct s3_req {
    http_req_t *http;
    s3_server_t *srv;
    const s3_op *op;
    int op_index;
    char *bucket; /* NULL for service-level requests */
    char *key;    /* NULL for bucket-level requests; may hold any UTF-8 */
    size_t key_len;
    char request_id[17];
    /* auth */
    const s3_identity *who; /* NULL: anonymous */
    unsigned char signing_key[32];
    s3_sigv4_auth auth;
    const char *amz_date;
    /* body decoding */
    bool aws_chunked;
    s3_chunked chunked;
    bool verify_sha256; /* payload hash is a hex SHA-256 to check */
    char expected_sha256[65];
    hash_ctx body_sha256;
    uint64_t decoded_length; /* x-amz-decoded-content-length or Content-Length */
    bool has_decoded_length;
    uint64_t body_bytes; /* decoded bytes delivered to the sink */
    buf_t xml;           /* BODY_XML bodies (bounded) */
    /* object writes */
    store_writer *writer;
    hash_algo checksum_algo;    /* x-amz-checksum-* being computed */
    const char *checksum_value; /* from a header; NULL if it comes in a trailer */
    const char *trailer_name;   /* x-amz-trailer: which trailer holds it */
    /* per-operation scratch */
    void *op_state;
};

/* ---- server.c ---- */
/* Sends an S3 XML error (body omitted for HEAD). message may be NULL. */
void s3_error(s3_req *r, int status, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Maps a store error to the S3 error for an object or bucket operation. */
void s3_error_from(s3_req *r, const floe_err *err);
/* Responds 200 with an XML document (adds the XML declaration). */
void s3_respond_xml(s3_req *r, int status, buf_t *body);
void s3_xml_open(buf_t *b, const char *root);
void s3_xml_elem(buf_t *b, const char *name, const char *text);
void s3_xml_elem_n(buf_t *b, const char *name, const char *text, size_t n);
void s3_xml_elem_u64(buf_t *b, const char *name, uint64_t v);
void s3_xml_elem_bool(buf_t *b, const char *name, bool v);
/* Quoted ETag into out[52]. */
void s3_quote_etag(const char *etag, char out[52]);
/* Checks key rules: 1..1024 bytes, UTF-8, no "." or ".." segments. */
bool s3_check_key(s3_req *r);
/* Looks up the bucket of r; responds NoSuchBucket and returns false if absent. */
bool s3_require_bucket(s3_req *r, store_bucket *out);
/* The per-request arena. */
arena_t *s3_arena(s3_req *r);

/* ---- auth.c ---- */
/* Authenticates from the Authorization header, presigned query parameters or
 * nothing (anonymous). On failure responds and returns false. */
bool s3_authenticate(s3_req *r);
/* Checks that r->who may run r->op on r->bucket/r->key. Responds AccessDenied on failure. */
bool s3_authorize(s3_req *r);
bool s3_identities_load(s3_server_t *srv, floe_err *err);
/* Whether who may read (or write) bucket/key; key NULL means the bucket itself. */
bool s3_identity_allows(const s3_identity *who, const char *bucket, const char *key, size_t key_len, bool write);

/* ---- metrics.c ---- */
int s3_op_index(const char *name);
void s3_metrics_observe(http_req_t *req, bool completed, void *ctx);
extern const http_handler s3_metrics_handler;

/* ---- ops ---- */
/* Picks the operation for a request, or NULL (the caller answers 405/501). */
const s3_op *s3_route(s3_req *r);
extern const s3_op s3_op_list_buckets, s3_op_create_bucket, s3_op_delete_bucket, s3_op_head_bucket,
    s3_op_get_bucket_location, s3_op_list_objects, s3_op_list_objects_v2, s3_op_get_bucket_acl, s3_op_put_bucket_acl,
    s3_op_get_bucket_versioning, s3_op_delete_objects, s3_op_put_object, s3_op_get_object, s3_op_head_object,
    s3_op_delete_object, s3_op_copy_object, s3_op_create_upload, s3_op_upload_part, s3_op_upload_part_copy,
    s3_op_complete_upload, s3_op_abort_upload, s3_op_list_parts, s3_op_list_uploads, s3_op_not_implemented,
    s3_op_get_object_tagging, s3_op_put_object_tagging, s3_op_delete_object_tagging;

/* ops_tagging.c */
#define S3_TAGGING_META "floe:tagging" /* metadata key; "floe:" keys are never echoed */
/* Validates an x-amz-tagging value; *out is its canonical form, or NULL for no tags. */
bool s3_tagging_normalize(arena_t *a, const char *header, char **out, floe_err *err);
const char *s3_meta_tagging(arena_t *a, const char *meta_json);
char *s3_meta_with_tagging(arena_t *a, const char *meta_json, const char *tagging);
int s3_tag_count(const char *tagging);

/* ops_object.c helpers shared with multipart */
/* Reads x-amz-meta-* and the stored system headers into a JSON object text. */
char *s3_meta_from_headers(s3_req *r, floe_err *err);
/* Responds MetadataTooLarge or InvalidTag for a s3_meta_from_headers failure. */
void s3_meta_error(s3_req *r, const floe_err *err);
/* Sets r->checksum_algo / checksum_value / trailer_name from the headers; responds on error. */
bool s3_checksum_setup(s3_req *r);
/* After the body: compares the computed checksum with the expected one. */
bool s3_checksum_verify(s3_req *r, const unsigned char *computed, char b64_out[64]);
/* Opens r->writer for the body; responds on error. */
bool s3_writer_open(s3_req *r);
/* Evaluates If-Match / If-None-Match on a PUT against the current object:
 * responds 412 (or 404) and returns false when the write must not proceed. */
bool s3_put_preconditions(s3_req *r, store_cond *cond);
/* Verifies Content-MD5 and x-amz-checksum-* over a BODY_XML body; responds on failure. */
bool s3_verify_xml_body(s3_req *r);
/* Opens x-amz-copy-source after checking read access and copy conditions. */
bool s3_copy_source_open(s3_req *r, store_object *src, int *fd);

#endif
