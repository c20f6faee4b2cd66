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

#endif
