/*
 * store.h: the object store engine under Floe's S3 API.
 *
 * Layout of DIR/objects/:
 *   index.db      SQLite (WAL): buckets, one row per object version,
 *                 multipart uploads and their parts. Keys are BLOBs, so the
 *                 index orders them by UTF-8 bytes, as S3 lists them.
 *   data/XX/ID    object and part data, in files named by a random 128-bit id
 *                 (XX is its first byte), never by the user's key.
 *   tmp/          files being written.
 *
 * An acknowledged write is durable: the data is written to tmp/, fsynced,
 * renamed into data/XX/, the directory fsynced, and only then is the index
 * row committed. Index commits from concurrent writers are grouped into one
 * SQLite transaction (group commit); each writer is told its own outcome.
 * On open, files in tmp/ and data files that no row references are removed,
 * when no other process has the directory open.
 *
 * Readers look a row up and open its file. An overwrite unlinks the old file
 * only after its new row is committed, so a reader holding the old file keeps
 * reading the old bytes; one that loses the race (ENOENT) looks up again.
 */
#ifndef FLOE_STORE_STORE_H
#define FLOE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hash.h"

typedef struct store store_t;

#define STORE_ID_LEN 32 /* hex characters of a data or upload id */

typedef struct store_bucket {
    char *name;
    int64_t created_ms;
    bool public_read;
} store_bucket;

typedef struct store_object {
    char *bucket;
    char *key;
    size_t key_len;
    char data_id[STORE_ID_LEN + 1];
    uint64_t size;
    char etag[48]; /* no quotes: 32 hex, or 32 hex + "-N" for multipart */
    char *content_type;
    char *meta_json; /* {"x-amz-meta-a":"b","cache-control":"..."}: headers to echo */
    int64_t mtime_ms;
    hash_algo checksum_algo;
    char checksum[64]; /* base64, S3's form; "...-N" for composite */
    int parts;         /* number of parts for multipart objects, else 0 */
    /* Small objects live in their index row: inline_data is then non-NULL
     * (and data_id empty). NULL means the data is in data/XX/data_id. */
    const void *inline_data;
    size_t inline_len;
} store_object;

typedef struct store_cond {
    const char *if_match;   /* ETag (quotes allowed) or "*"; NULL for none */
    bool if_none_match_any; /* If-None-Match: * */
    /* Deferred durability: the object is visible when the put returns but
     * survives a power loss only once store_sync returns (a crash of the
     * process alone loses nothing). For writers that put several objects
     * and then publish them at once (an Iceberg commit): one index sync
     * instead of one per object. The data file itself is still fsynced. */
    bool deferred;
} store_cond;

/* ETag condition test: cond is "*", or a list of quoted (or W/) or bare ETags. */
bool store_etag_matches(const char *cond, const char *etag);

store_t *store_open(const char *dir, bool fsync, floe_err *err);
/* Objects up to this many bytes are stored inline in the index (default
 * 32 KiB; 0 stores every object in a file). */
void store_set_inline_max(store_t *s, size_t bytes);
void store_close(store_t *s);
/* Whether the start-up sweep ran: it runs only when no other process has
 * the directory open (several may share it; see store.c). */
bool store_swept(const store_t *s);
const char *store_dir(store_t *s);

/* ---- buckets ---- */
bool store_bucket_create(store_t *s, const char *name, bool public_read, floe_err *err); /* FLOE_EEXIST */
/* FLOE_ENOENT, or FLOE_ECONFLICT when objects remain. Pending multipart
 * uploads are aborted with it. */
bool store_bucket_delete(store_t *s, const char *name, floe_err *err);
bool store_bucket_get(store_t *s, const char *name, arena_t *a, store_bucket *out, floe_err *err); /* FLOE_ENOENT */
bool store_bucket_list(store_t *s, arena_t *a, store_bucket **out, size_t *n, floe_err *err);
bool store_bucket_set_public(store_t *s, const char *name, bool public_read, floe_err *err);

/* ---- writing data ---- */
typedef struct store_writer store_writer;

/* Opens a temp file. checksum is an extra algorithm to compute (or HASH_NONE);
 * MD5 is always computed for the ETag. */
store_writer *store_writer_new(store_t *s, hash_algo checksum, floe_err *err);
bool store_writer_write(store_writer *w, const void *data, size_t n, floe_err *err);
/* Appends len bytes of fd from offset (for copies), hashing as it goes. */
bool store_writer_copy_fd(store_writer *w, int fd, uint64_t offset, uint64_t len, floe_err *err);
/* Appends len bytes from offset of an object opened by store_object_open
 * (fd is -1 for inline objects). */
bool store_writer_copy_object(store_writer *w, const store_object *src, int fd, uint64_t offset, uint64_t len,
                              floe_err *err);
/* Keeps the data in a file whatever its size (multipart parts must be files). */
void store_writer_no_inline(store_writer *w);
uint64_t store_writer_size(store_writer *w);
/* Ends the data: fsyncs, computes digests. md5 gets 16 raw bytes; checksum
 * (if any) raw bytes of its length. */
bool store_writer_finish(store_writer *w, unsigned char md5[16], unsigned char *checksum, floe_err *err);
/* Removes the temp file and frees w; safe after a failed commit too. */
void store_writer_abort(store_writer *w);

/* Commits a finished writer as the object obj->bucket/obj->key. The caller
 * fills bucket, key, content_type, meta_json, checksum fields; size, etag,
 * data_id and mtime are set here. Frees w in every case.
 * Errors: FLOE_ENOENT (bucket gone), FLOE_EPRECOND (cond false),
 * FLOE_ECONFLICT (cond held at first but a concurrent write won). */
bool store_put_commit(store_t *s, store_writer *w, store_object *obj, const store_cond *cond, floe_err *err);
/* Makes every deferred put before it durable (one sync of the index's
 * write-ahead log); nothing to do when none is pending or fsync is off. */
bool store_sync(store_t *s, floe_err *err);

/* ---- reading ---- */
/* Looks up the current version. FLOE_ENOENT if absent. */
bool store_object_get(store_t *s, const char *bucket, const char *key, size_t key_len, arena_t *a, store_object *out,
                      floe_err *err);
/* Looks up and opens the data file, retrying if a concurrent overwrite removed
 * it in between. The caller closes *fd. For an inline object *fd is -1 and the
 * bytes are in out->inline_data (allocated from a). */
bool store_object_open(store_t *s, const char *bucket, const char *key, size_t key_len, arena_t *a, store_object *out,
                       int *fd, floe_err *err);
/* Replaces the metadata of the current version (tags, for one). FLOE_ENOENT
 * when the key does not exist. */
bool store_object_set_meta(store_t *s, const char *bucket, const char *key, size_t key_len, const char *meta_json,
                           floe_err *err);
/* Removes the current version. Absent keys succeed (S3 semantics); *existed
 * says which. */
bool store_object_delete(store_t *s, const char *bucket, const char *key, size_t key_len, bool *existed, floe_err *err);

/* ---- listing ---- */
typedef struct store_list_opts {
    const char *prefix; /* may be NULL */
    size_t prefix_len;
    const char *delimiter; /* NULL or a non-empty string */
    size_t delimiter_len;
    const char *after; /* list keys strictly after this (marker/start-after/token) */
    size_t after_len;
    size_t max_keys; /* 0 returns nothing, but truncated is set correctly */
} store_list_opts;

typedef struct store_prefix {
    char *prefix;
    size_t len;
} store_prefix;

typedef struct store_list_result {
    store_object *objects;
    size_t nobjects;
    store_prefix *prefixes;
    size_t nprefixes;
    bool truncated;
    const char *last; /* the last key or common prefix returned (for markers) */
    size_t last_len;
} store_list_result;

bool store_list(store_t *s, const char *bucket, const store_list_opts *opts, arena_t *a, store_list_result *out,
                floe_err *err);

/* ---- multipart uploads ---- */
typedef struct store_upload {
    char upload_id[STORE_ID_LEN + 1];
    char *bucket;
    char *key;
    size_t key_len;
    int64_t initiated_ms;
    char *content_type;
    char *meta_json;
    hash_algo checksum_algo;
} store_upload;

typedef struct store_part {
    int part_number;
    uint64_t size;
    char etag[33];
    char checksum[64];
    int64_t mtime_ms;
    char data_id[STORE_ID_LEN + 1];
} store_part;

typedef enum {
    STORE_MPU_OK = 0,
    STORE_MPU_INVALID_PART,       /* a listed part is missing or its ETag differs */
    STORE_MPU_INVALID_PART_ORDER, /* part numbers not ascending */
    STORE_MPU_TOO_SMALL,          /* a part other than the last is under 5 MiB */
    STORE_MPU_BAD_CHECKSUM,       /* a listed part checksum differs */
} store_mpu_error;

typedef struct store_complete_part {
    int part_number;
    const char *etag;     /* without quotes */
    const char *checksum; /* NULL or base64 */
} store_complete_part;

#define STORE_MIN_PART_SIZE (5u * 1024 * 1024)

bool store_upload_create(store_t *s, store_upload *u, floe_err *err); /* fills upload_id, initiated_ms */
bool store_upload_get(store_t *s, const char *upload_id, arena_t *a, store_upload *out, floe_err *err);
/* Commits a finished writer as a part (replacing an earlier one). Frees w. */
bool store_upload_put_part(store_t *s, const char *upload_id, int part_number, store_writer *w,
                           const char *checksum_b64, store_part *out, floe_err *err);
bool store_upload_parts(store_t *s, const char *upload_id, int after_part, size_t max, arena_t *a, store_part **out,
                        size_t *n, bool *truncated, floe_err *err);
/* Lists uploads in key order, then upload id, after the markers. */
bool store_upload_list(store_t *s, const char *bucket, const char *prefix, size_t prefix_len, const char *key_marker,
                       size_t key_marker_len, const char *upload_id_marker, size_t max, arena_t *a, store_upload **out,
                       size_t *n, bool *truncated, floe_err *err);
/* Concatenates the listed parts into the object and removes the upload. On a
 * part problem returns false with *mpu_err set. obj gets the new object. */
bool store_upload_complete(store_t *s, const char *upload_id, const store_complete_part *parts, size_t nparts,
                           const store_cond *cond, arena_t *a, store_object *obj, store_mpu_error *mpu_err,
                           floe_err *err);
bool store_upload_abort(store_t *s, const char *upload_id, floe_err *err); /* FLOE_ENOENT */

/* ---- statistics ---- */
typedef struct store_stats {
    uint64_t commits;       /* index transactions */
    uint64_t committed_ops; /* operations carried by them */
    uint64_t swept_files;   /* files removed by the start-up sweep */
    uint64_t deferred_ops;  /* operations committed with deferred durability */
    uint64_t syncs;         /* store_sync calls that synced the log */
} store_stats;

void store_get_stats(store_t *s, store_stats *out);

#endif
