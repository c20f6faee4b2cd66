/*
 * s3_int.h: internals of the S3 API shared between the files of src/store/s3/.
 *
 *   sigv4.c    SigV4: canonical requests, signing keys (declared in sigv4.h,
 *              which the S3 client shares), Authorization and
 *              presigned-URL parsing, chunk and trailer signatures
 *   chunked.c  the aws-chunked body decoder (signed chunks, trailers)
 *   xml.c      request bodies (expat) and XML escaping for responses
 *   range.c    Range header parsing
 *   server.c   routing of S3 operations, auth, errors, metrics
 *   ops_*.c    the operations
 *
 * Everything here is pure (no I/O), so unit tests and fuzz harnesses call it
 * directly.
 */
#ifndef FLOE_STORE_S3_INT_H
#define FLOE_STORE_S3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "store/s3/sigv4.h"

/* ================= SigV4 parsing and chunk signatures (sigv4.c) ================= */

/* Parsed credential scope and signature, from a header or a presigned URL. */
typedef struct s3_sigv4_auth {
    char access_key[129];
    char date[9]; /* yyyymmdd from the scope */
    char region[64];
    char service[32];
    char scope[256]; /* "20130524/us-east-1/s3/aws4_request" */
    char signed_headers[1024];
    char signature[65];
    char amz_date[17]; /* presigned only: X-Amz-Date */
    int64_t expires;   /* presigned only: X-Amz-Expires, seconds */
} s3_sigv4_auth;

/* Constant-time comparison of two hex signatures. */
bool s3_sigv4_sig_equal(const char *a, const char *b);
/* Parses "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
 * SignedHeaders=host;range;x-amz-date, Signature=<64 hex>" (spaces after
 * commas optional). Errors are FLOE_EINVAL and name the part that is wrong. */
bool s3_sigv4_parse_authorization(const char *value, s3_sigv4_auth *out, floe_err *err);
/* Parses X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires
 * (1..604800), X-Amz-SignedHeaders and X-Amz-Signature from decoded query
 * parameters. */
bool s3_sigv4_parse_presigned(const s3_kv *query, size_t nquery, s3_sigv4_auth *out, floe_err *err);
/* Signature of one aws-chunked chunk:
 * "AWS4-HMAC-SHA256-PAYLOAD\n<amz_date>\n<scope>\n<prev_sig>\n<sha256("")>\n<chunk_sha256_hex>" */
void s3_sigv4_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                              const char *prev_sig, const char *chunk_sha256_hex, char sig_hex[65]);
/* Signature of the trailer block of a signed streaming upload:
 * "AWS4-HMAC-SHA256-TRAILER\n<amz_date>\n<scope>\n<prev_sig>\n<hex sha256(trailers)>"
 * where trailers is each "name:value\n" as sent (lower-case names). */
void s3_sigv4_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                                const char *prev_sig, const char *trailers, size_t trailers_len, char sig_hex[65]);

/* ================= aws-chunked bodies (chunked.c) ================= */

/* Decodes a Content-Encoding: aws-chunked body fed in arbitrary pieces.
 *
 *   signed chunks:  <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
 *   unsigned:       <hex-size>\r\n<data>\r\n ... 0\r\n
 *   then, when trailers are expected, "name:value\r\n" lines (for signed
 *   uploads ending with x-amz-trailer-signature:<sig>\r\n), then "\r\n".
 *
 * Every chunk signature and the trailer signature are checked when signed is
 * true. Lines are bounded (4 KiB) and chunk sizes too (s3_chunked.max_chunk),
 * so hostile input cannot make the decoder buffer without limit. */
typedef struct s3_chunked {
    /* configuration (set by s3_chunked_init) */
    bool is_signed;
    bool expect_trailer;
    unsigned char key[32];
    char amz_date[17];
    char scope[256];
    char prev_sig[65]; /* starts as the seed signature */
    uint64_t max_chunk;
    /* state: private to chunked.c */
    int state;
    char line[4096];
    size_t line_len;
    uint64_t remaining; /* data bytes left in the current chunk */
    char chunk_sig[65];
    hash_ctx chunk_hash;
    bool chunk_hash_live;
    bool final_seen;
    bool done;
    uint64_t decoded_bytes;
    uint64_t nchunks;   /* chunk size lines seen, for error messages */
    uint64_t offset;    /* encoded bytes consumed, for error messages */
    buf_t trailers_raw; /* "name:value\n" lines, for the trailer signature */
    s3_kv trailers[8];
    size_t ntrailers;
    char trailer_store[2048];
    size_t trailer_store_len;
} s3_chunked;

/* For unsigned bodies key/amz_date/scope/seed_sig may be NULL. */
void s3_chunked_init(s3_chunked *d, bool is_signed, bool expect_trailer, const unsigned char key[32],
                     const char *amz_date, const char *scope, const char *seed_sig);
/* Feeds n bytes; decoded data goes to out(ctx, p, n), which returns false to
 * stop (the decoder then returns false with err as out left it). Returns false
 * on malformed input (FLOE_EINVAL) or a bad signature (FLOE_EAUTH). Bytes after
 * the end of the encoding are malformed input. */
bool s3_chunked_feed(s3_chunked *d, const char *p, size_t n,
                     bool (*out)(void *ctx, const char *p, size_t n, floe_err *err), void *ctx, floe_err *err);
/* Call at the end of the body: false (FLOE_EINVAL) if the encoding did not end. */
bool s3_chunked_finish(s3_chunked *d, floe_err *err);
/* A trailer value by lower-case name, or NULL. */
const char *s3_chunked_trailer(const s3_chunked *d, const char *name);
void s3_chunked_free(s3_chunked *d);

/* ================= XML (xml.c) ================= */

/* Escapes text for XML element content and attributes: & < > " ' become
 * entities, and characters XML 1.0 cannot carry become &#xN; references. */
void s3_xml_escape(buf_t *b, const char *s, size_t n);

typedef struct s3_delete_object {
    char *key;
    size_t key_len;
    char *version_id; /* NULL when absent */
} s3_delete_object;

typedef struct s3_delete_req {
    bool quiet;
    s3_delete_object *objects;
    size_t nobjects; /* 1..1000, else MalformedXML */
} s3_delete_req;

typedef struct s3_complete_part {
    int part_number;          /* 1..10000 */
    char *etag;               /* as given, quotes removed */
    char *checksum[HASH_MD5]; /* indexed by hash_algo: ChecksumCRC32 etc., or NULL */
} s3_complete_part;

typedef struct s3_complete_req {
    s3_complete_part *parts;
    size_t nparts; /* >= 1 */
} s3_complete_req;

/* Each parser allocates from arena a and returns false with FLOE_EINVAL and a
 * message that says what was wrong (for the MalformedXML error) on bad input:
 * not well-formed XML, a wrong root element, a missing required element, a
 * bad number, too many items. Unknown elements are ignored, as S3 does. */
bool s3_xml_parse_delete(const char *body, size_t len, arena_t *a, s3_delete_req *out, floe_err *err);
bool s3_xml_parse_complete(const char *body, size_t len, arena_t *a, s3_complete_req *out, floe_err *err);
/* CreateBucketConfiguration; *location is NULL when absent. An empty body is fine. */
bool s3_xml_parse_create_bucket(const char *body, size_t len, arena_t *a, char **location, floe_err *err);

#define S3_MAX_TAGS 10

typedef struct s3_tag {
    char *key;
    char *value;
} s3_tag;

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...: at most 10 tags, keys of 1
 * to 128 bytes, values up to 256, no key twice. */
bool s3_xml_parse_tagging(const char *body, size_t len, arena_t *a, s3_tag **tags, size_t *ntags, floe_err *err);

/* ================= Range (range.c) ================= */

typedef enum { S3_RANGE_NONE, S3_RANGE_OK, S3_RANGE_UNSATISFIABLE, S3_RANGE_IGNORE } s3_range_result;

/* Resolves a Range header against an object of `size` bytes into [first,last].
 * "bytes=a-b", "bytes=a-", "bytes=-N". A syntactically invalid header or a
 * multi-range is ignored (whole object), as S3 does; a start past the end is
 * unsatisfiable (416). */
s3_range_result s3_range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last);

#endif
