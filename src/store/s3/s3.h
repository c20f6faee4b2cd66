/*
 * s3.h: the S3-compatible API over the object store, path-style.
 *
 * Serves /_floe/health and /_floe/metrics on the same port. Bucket names can
 * never start with '_', so those paths never shadow a bucket.
 */
#ifndef FLOE_STORE_S3_H
#define FLOE_STORE_S3_H

#include "base/config.h"
#include "base/err.h"
#include "store/store.h"

typedef struct s3_server s3_server_t;

s3_server_t *s3_server_start(const floe_config *cfg, store_t *store, floe_err *err);
int s3_server_port(s3_server_t *srv);
void s3_server_stop(s3_server_t *srv);

/* Bucket names as S3 allows them: 3-63 of a-z 0-9 . -, starting and ending
 * with a letter or digit, no "..", not an IP address. On failure *why says
 * what rule was broken. */
bool s3_bucket_name_valid(const char *name, const char **why);

/* ---- vended credentials (vended.c) ----
 * Short-lived keys for one bucket/prefix that the catalog gives engines.
 * Stateless: the session token holds the grant, the access key and secret
 * are HMACs of it under the root secret, so every node with the root
 * secret accepts them and a changed token no longer matches its key. */
#define S3_VENDED_AK_PREFIX "FLOEV"
#define S3_VENDED_AK_LEN 32
#define S3_VENDED_SK_LEN 40
#define S3_VENDED_MAX_PREFIX 512
#define S3_VENDED_TOKEN_MAX 1300

typedef struct s3_vended {
    char access_key[S3_VENDED_AK_LEN + 1];
    char secret_key[S3_VENDED_SK_LEN + 1];
    char session_token[S3_VENDED_TOKEN_MAX + 1];
    int64_t expires_s; /* epoch seconds */
} s3_vended;

typedef struct s3_vended_grant {
    char bucket[64];
    char prefix[S3_VENDED_MAX_PREFIX + 1]; /* ends in '/' */
    bool write;
    int64_t expires_s;
    char secret_key[S3_VENDED_SK_LEN + 1];
} s3_vended_grant;

/* Issues keys for bucket/prefix (prefix relative, ending in '/', no '.' or
 * '..' segments), valid until expires_s. FLOE_EINVAL names a bad prefix. */
bool s3_vended_issue(const char *root_secret, const char *bucket, const char *prefix, bool write, int64_t expires_s,
                     s3_vended *out, floe_err *err);
/* Checks a vended access key and its session token at now_s; out gets the
 * grant and the secret the request must be signed with. FLOE_EAUTH says
 * why not (tampered, expired, malformed). */
bool s3_vended_verify(const char *root_secret, const char *access_key, const char *token, int64_t now_s,
                      s3_vended_grant *out, floe_err *err);

#endif
