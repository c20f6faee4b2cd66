/*
 * fileio.h: where Iceberg reads and writes its files, by URI.
 *
 * Three backends behind one interface, chosen when the handle is made:
 *
 *   fileio_store   in-process: s3://bucket/key goes straight to the object
 *                  store engine (store.h). No HTTP, no signing.
 *   fileio_s3      remote S3: Floe's libcurl client with SigV4, path-style
 *                  or virtual-host addressing, multipart uploads above
 *                  FILEIO_MULTIPART_MIN bytes, retries with backoff on 5xx,
 *                  429 and connection errors, and ranged GETs. It works with
 *                  any S3 service, not only Floe's.
 *   fileio_local   local paths: file:///abs/path or /abs/path. Writes are
 *                  durable and atomic (temp file, fsync, rename, fsync dir).
 *
 * URIs: "s3://bucket/key" for the store and S3 backends (s3a:// and s3n://
 * are accepted as s3://), "file:///path" or "/path" for local.
 *
 * Outputs are all-or-nothing: the object appears only when fileio_out_close
 * succeeds (a single PUT, a completed multipart upload, or a rename), and
 * fileio_out_abort leaves nothing behind (it aborts a multipart upload).
 * Inputs read ranges; reading a whole small file is fileio_read_all.
 *
 * Every handle and stream is safe to use from one thread at a time; distinct
 * handles may be used from distinct threads. Errors name the URI and, for
 * HTTP failures, the status and S3 error code.
 */
#ifndef FLOE_STORE_FILEIO_H
#define FLOE_STORE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

typedef struct fileio fileio_t;

#define FILEIO_MULTIPART_MIN (32u << 20) /* bytes: multipart above this */

/* Zero means the default for every field. */
typedef struct fileio_s3_opts {
    const char *endpoint; /* "http://127.0.0.1:9000"; NULL: https://s3.<region>.amazonaws.com */
    const char *region;   /* default "us-east-1" */
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* may be NULL */
    /* Addressing: path_style forces endpoint/bucket/key, virtual_host forces
     * bucket.endpoint/key. Neither: path-style for a custom endpoint,
     * virtual-host on AWS (path-style there for bucket names with dots). */
    bool path_style;
    bool virtual_host;
    int max_retries;            /* retries after the first attempt; default 4; negative for none */
    size_t part_size;           /* multipart part size; default 16 MiB (5 MiB to 5 GiB) */
    size_t multipart_threshold; /* outputs larger than this go multipart; default FILEIO_MULTIPART_MIN */
} fileio_s3_opts;

fileio_t *fileio_store(store_t *s);
fileio_t *fileio_s3(const fileio_s3_opts *opts, floe_err *err);
fileio_t *fileio_local(void);
void fileio_free(fileio_t *io);

/* ---- reading ---- */
typedef struct fileio_in fileio_in;

/* Opens for ranged reads. FLOE_ENOENT when the object does not exist. */
fileio_in *fileio_in_open(fileio_t *io, const char *uri, floe_err *err);
uint64_t fileio_in_size(const fileio_in *in);
/* Reads exactly n bytes at off; reading past the end is an error. */
bool fileio_in_read(fileio_in *in, uint64_t off, void *dst, size_t n, floe_err *err);
void fileio_in_close(fileio_in *in);

/* Reads a whole object into out (appended). FLOE_ENOENT when absent. */
bool fileio_read_all(fileio_t *io, const char *uri, buf_t *out, floe_err *err);

/* Size and existence; *exists false (and true returned) when absent. */
bool fileio_stat(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err);

/* ---- writing ---- */
typedef struct fileio_out fileio_out;

fileio_out *fileio_out_create(fileio_t *io, const char *uri, floe_err *err);
bool fileio_out_write(fileio_out *out, const void *p, size_t n, floe_err *err);
uint64_t fileio_out_size(const fileio_out *out);
/* Makes the object visible and frees out, in every case. */
bool fileio_out_close(fileio_out *out, floe_err *err);
/* Discards everything written and frees out. */
void fileio_out_abort(fileio_out *out);

/* Writes a whole object. With if_absent, fails with FLOE_EEXIST when the
 * object exists (If-None-Match: * on S3; link() locally): metadata files
 * are never overwritten. */
bool fileio_write_all(fileio_t *io, const char *uri, const void *p, size_t n, bool if_absent, floe_err *err);

/* Deferred durability, for writers that write several objects and then
 * publish them at once (an Iceberg commit: data files, manifests, the
 * manifest list, the metadata file, then the catalog's pointer). An output
 * marked with fileio_out_defer (before its close), or written with
 * fileio_write_all_deferred, is visible when closed but durable only once
 * fileio_sync on the same handle returns; publish nothing that points at it
 * before that. The in-process store then syncs its index once for all of
 * them; the local and S3 backends are durable at close anyway. */
void fileio_out_defer(fileio_out *out);
bool fileio_write_all_deferred(fileio_t *io, const char *uri, const void *p, size_t n, bool if_absent, floe_err *err);
bool fileio_sync(fileio_t *io, floe_err *err);

/* ---- the rest ---- */
/* Deletes; an absent object succeeds. */
bool fileio_delete(fileio_t *io, const char *uri, floe_err *err);

typedef struct fileio_entry {
    const char *uri; /* full URI */
    uint64_t size;
    int64_t mtime_ms;
} fileio_entry;

/* Calls fn for every object whose URI starts with prefix (recursive, in key
 * order). fn returns false to stop early (fileio_list then returns true). */
bool fileio_list(fileio_t *io, const char *prefix, bool (*fn)(const fileio_entry *e, void *arg), void *arg,
                 floe_err *err);

#endif
