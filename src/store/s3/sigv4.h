/*
 * sigv4.h: AWS Signature Version 4 signing, shared by the S3 server (which
 * checks signatures, see s3_int.h for the parsers and chunk signatures) and
 * the S3 client in fileio_s3.c (which makes them).
 *
 * Pure functions in sigv4.c: no I/O and no clock. The caller supplies the
 * request time and compares or sends the result.
 */
#ifndef FLOE_STORE_S3_SIGV4_H
#define FLOE_STORE_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

typedef struct s3_kv {
    const char *name;
    const char *value;
} s3_kv;

#define S3_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3_STREAMING_SIGNED "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define S3_STREAMING_SIGNED_TRAILER "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define S3_STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* What the canonical request is built from. */
typedef struct s3_sigv4_input {
    const char *method;
    const char *path; /* percent-DEcoded path, e.g. "/bucket/my key" */
    size_t path_len;
    const s3_kv *query; /* percent-decoded query parameters; for presigned
                           URLs the caller leaves out X-Amz-Signature */
    size_t nquery;
    const s3_kv *headers; /* all request headers, names in any case */
    size_t nheaders;
    const char *signed_headers; /* "host;x-amz-content-sha256;x-amz-date" */
    const char *payload_hash;   /* hex sha256, UNSIGNED-PAYLOAD or STREAMING-... */
    /* When true (the generic AWS test suite, not S3), the path is normalised
     * and encoded twice, as other AWS services do. S3 encodes once and never
     * normalises. */
    bool double_encode;
    /* When true, path is already URI-encoded (the path exactly as sent) and
     * is used verbatim. S3 accepts a signature over either form, because
     * some clients (curl) sign the path as they send it, %2F and all. */
    bool path_encoded;
} s3_sigv4_input;

/* Builds the canonical request (no trailing newline). */
void s3_sigv4_canonical_request(const s3_sigv4_input *in, buf_t *out);
/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical)>" */
void s3_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request, buf_t *out);
void s3_sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                          unsigned char key[32]);
/* Hex HMAC-SHA256 of string_to_sign under key. */
void s3_sigv4_sign(const unsigned char key[32], const char *string_to_sign, char sig_hex[65]);

#endif
