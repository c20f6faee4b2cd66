/*
 * fileio_int.h: what the FileIO backends share.
 *
 *   fileio.c        the public functions: argument checks, then the backend
 *   fileio_store.c  s3:// URIs straight into the object store engine
 *   fileio_local.c  file:// and absolute paths on the local file system
 *   fileio_s3.c     s3:// URIs on a remote S3 service over HTTP
 *
 * Each backend embeds fileio_t, fileio_in and fileio_out as the first member
 * of its own structs and fills a fileio_vt. The public functions check what
 * every backend would check (ranges against the size, the state of an
 * output) so a backend only does its own I/O.
 */
#ifndef FLOE_STORE_FILEIO_INT_H
#define FLOE_STORE_FILEIO_INT_H

#include "store/fileio.h"

typedef bool (*fileio_list_fn)(const fileio_entry *e, void *arg);

typedef struct fileio_vt {
    fileio_in *(*in_open)(fileio_t *io, const char *uri, floe_err *err);
    /* off + n <= size already checked. */
    bool (*in_read)(fileio_in *in, uint64_t off, void *dst, size_t n, floe_err *err);
    void (*in_close)(fileio_in *in); /* frees in */
    /* NULL: fileio_read_all opens and reads the whole range. */
    bool (*read_all)(fileio_t *io, const char *uri, buf_t *out, floe_err *err);
    bool (*stat)(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err);
    fileio_out *(*out_create)(fileio_t *io, const char *uri, bool if_absent, floe_err *err);
    bool (*out_write)(fileio_out *out, const void *p, size_t n, floe_err *err);
    bool (*out_close)(fileio_out *out, floe_err *err); /* frees out in every case */
    void (*out_abort)(fileio_out *out);                /* frees out */
    bool (*remove)(fileio_t *io, const char *uri, floe_err *err);
    bool (*list)(fileio_t *io, const char *prefix, fileio_list_fn fn, void *arg, floe_err *err);
    bool (*sync)(fileio_t *io, floe_err *err); /* NULL: outputs are durable at close */
    void (*free)(fileio_t *io);
} fileio_vt;

struct fileio {
    const fileio_vt *vt;
};

struct fileio_in {
    fileio_t *io;
    char *uri; /* malloc'd, for messages */
    uint64_t size;
};

struct fileio_out {
    fileio_t *io;
    char *uri; /* malloc'd, for messages */
    uint64_t size;
    bool if_absent;
    bool deferred;     /* durable at the next fileio_sync (fileio_out_defer) */
    bool failed;       /* a write failed: close reports fail_err, after cleaning up */
    floe_err fail_err; /* the first failure */
};

/* Fills the common part of a stream a backend allocated (zeroed). */
void fileio_in_init(fileio_in *in, fileio_t *io, const char *uri);
void fileio_out_init(fileio_out *out, fileio_t *io, const char *uri, bool if_absent);
/* Frees the common part (the URI copy), not the stream itself. */
void fileio_in_fini(fileio_in *in);
void fileio_out_fini(fileio_out *out);

/* ---- URIs ---- */

#define FILEIO_BUCKET_MAX 255

/* s3://bucket/key, s3a:// or s3n://. scheme is what the URI used
 * ("s3://"), so listings hand back URIs in the caller's own form. */
typedef struct fileio_s3_uri {
    char scheme[8];
    char bucket[FILEIO_BUCKET_MAX + 1];
    const char *key; /* into the URI; "" when none */
    size_t key_len;
} fileio_s3_uri;

/* need_key: an object URI (s3://bucket/key with a non-empty key, at most
 * 1024 bytes of UTF-8); otherwise a prefix (s3://bucket, s3://bucket/pre). */
bool fileio_parse_s3_uri(const char *uri, bool need_key, fileio_s3_uri *out, floe_err *err);

/* The object named by if_absent conflicts: one message for every backend. */
bool fileio_err_exists(floe_err *err, const char *uri);

#endif
