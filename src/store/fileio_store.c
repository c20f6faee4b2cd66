/*
 * fileio_store.c: FileIO on the in-process object store engine.
 *
 * s3://bucket/key goes straight to store.h: no HTTP, no signing, the same
 * objects the S3 API serves. An output streams into a store writer (a temp
 * file, or the index row for small objects) and becomes visible when
 * store_put_commit commits it, so an abort or a crash leaves nothing. An
 * input holds the data file open (or a copy of an inline object), so a
 * concurrent overwrite does not change the bytes it reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "store/fileio_int.h"

#define LIST_PAGE 1000

typedef struct store_io {
    fileio_t base;
    store_t *store;
} store_io;

typedef struct store_in {
    fileio_in base;
    arena_t arena; /* the object row, and an inline object's bytes */
    store_object obj;
    int fd; /* -1 for an inline object */
} store_in;

typedef struct store_out {
    fileio_out base;
    store_writer *w;
    fileio_s3_uri where;
} store_out;

static store_t *io_store(fileio_t *io) { return ((store_io *)io)->store; }

/* The store says "no such key" or "bucket 'b' does not exist"; the caller
 * needs the URI too. */
static bool wrap(floe_err *err, const char *uri) { return floe_err_wrap(err, "%s", uri); }

/* ---- reading ---- */

static fileio_in *store_in_open(fileio_t *io, const char *uri, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return NULL;
    store_in *in = calloc(1, sizeof *in);
    if (!in) abort();
    arena_init(&in->arena, 0);
    if (!store_object_open(io_store(io), u.bucket, u.key, u.key_len, &in->arena, &in->obj, &in->fd, err)) {
        wrap(err, uri);
        arena_free(&in->arena);
        free(in);
        return NULL;
    }
    fileio_in_init(&in->base, io, uri);
    in->base.size = in->obj.size;
    return &in->base;
}

static bool store_in_read(fileio_in *base, uint64_t off, void *dst, size_t n, floe_err *err) {
    store_in *in = (store_in *)base;
    if (in->fd < 0) {
        memcpy(dst, (const char *)in->obj.inline_data + off, n);
        return true;
    }
    ssize_t r = fs_pread_full(in->fd, dst, n, off);
    if (r < 0) return floe_err_errno(err, errno, "%s: read at offset %llu", base->uri, (unsigned long long)off);
    if ((size_t)r < n)
        return floe_err_set(err, FLOE_EIO,
                            "%s: the data file ends at offset %llu, before the %llu bytes the index records; the "
                            "store is damaged",
                            base->uri, (unsigned long long)(off + (uint64_t)r), (unsigned long long)base->size);
    return true;
}

static void store_in_close(fileio_in *base) {
    store_in *in = (store_in *)base;
    if (in->fd >= 0) close(in->fd);
    arena_free(&in->arena);
    fileio_in_fini(base);
    free(in);
}

static bool store_stat(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return false;
    arena_t a;
    arena_init(&a, 0);
    store_object o;
    *exists = store_object_get(io_store(io), u.bucket, u.key, u.key_len, &a, &o, err);
    bool ok = *exists || err->code == FLOE_ENOENT;
    if (*exists) *size = o.size;
    if (!ok) wrap(err, uri);
    arena_free(&a);
    return ok;
}

/* ---- writing ---- */

static fileio_out *store_out_create(fileio_t *io, const char *uri, bool if_absent, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return NULL;
    arena_t a;
    arena_init(&a, 0);
    store_bucket b;
    bool have = store_bucket_get(io_store(io), u.bucket, &a, &b, err);
    arena_free(&a);
    if (!have) {
        if (err && err->code == FLOE_ENOENT)
            floe_err_wrap(err, "%s: create the bucket first (aws s3 mb s3://%s)", uri, u.bucket);
        return NULL;
    }
    store_writer *w = store_writer_new(io_store(io), HASH_NONE, err);
    if (!w) {
        wrap(err, uri);
        return NULL;
    }
    store_out *out = calloc(1, sizeof *out);
    if (!out) abort();
    fileio_out_init(&out->base, io, uri, if_absent);
    out->w = w;
    /* The key points into the URI: keep it pointing into our copy. */
    out->where = u;
    out->where.key = out->base.uri + (u.key - uri);
    return &out->base;
}

static bool store_out_write(fileio_out *base, const void *p, size_t n, floe_err *err) {
    store_out *out = (store_out *)base;
    return store_writer_write(out->w, p, n, err) || wrap(err, base->uri);
}

static void store_out_free(store_out *out) {
    fileio_out_fini(&out->base);
    free(out);
}

static bool store_out_close(fileio_out *base, floe_err *err) {
    store_out *out = (store_out *)base;
    store_t *s = io_store(base->io);
    unsigned char md5[16];
    bool ok = store_writer_finish(out->w, md5, NULL, err);
    if (!ok) {
        store_writer_abort(out->w);
        wrap(err, base->uri);
        goto done;
    }
    store_object obj = {.bucket = out->where.bucket, .key = (char *)out->where.key, .key_len = out->where.key_len};
    str_hex(md5, 16, obj.etag);
    store_cond cond = {.if_none_match_any = base->if_absent, .deferred = base->deferred};
    ok = store_put_commit(s, out->w, &obj, &cond, err); /* frees the writer */
    if (!ok && base->if_absent && (err->code == FLOE_EPRECOND || err->code == FLOE_ECONFLICT))
        fileio_err_exists(err, base->uri);
    else if (!ok)
        wrap(err, base->uri);
done:
    store_out_free(out);
    return ok;
}

static void store_out_abort(fileio_out *base) {
    store_out *out = (store_out *)base;
    store_writer_abort(out->w);
    store_out_free(out);
}

/* ---- delete and list ---- */

static bool store_remove(fileio_t *io, const char *uri, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return false;
    return store_object_delete(io_store(io), u.bucket, u.key, u.key_len, NULL, err) || wrap(err, uri);
}

/* One page of keys after `after`; *more is false when the listing ended. */
static bool list_page(fileio_t *io, const fileio_s3_uri *u, buf_t *after, fileio_list_fn fn, void *arg, bool *more,
                      floe_err *err) {
    arena_t a;
    arena_init(&a, 0);
    store_list_opts o = {.prefix = u->key,
                         .prefix_len = u->key_len,
                         .after = after->len ? after->data : NULL,
                         .after_len = after->len,
                         .max_keys = LIST_PAGE};
    store_list_result res;
    bool ok = store_list(io_store(io), u->bucket, &o, &a, &res, err);
    *more = ok && res.truncated;
    buf_t name = BUF_INIT;
    for (size_t i = 0; ok && i < res.nobjects; i++) {
        const store_object *obj = &res.objects[i];
        buf_reset(&name);
        buf_printf(&name, "%s%s/", u->scheme, u->bucket);
        buf_append(&name, obj->key, obj->key_len);
        fileio_entry e = {.uri = name.data, .size = obj->size, .mtime_ms = obj->mtime_ms};
        if (!fn(&e, arg)) {
            *more = false;
            break;
        }
        buf_reset(after);
        buf_append(after, obj->key, obj->key_len);
    }
    buf_free(&name);
    arena_free(&a);
    return ok;
}

static bool store_list_uri(fileio_t *io, const char *prefix, fileio_list_fn fn, void *arg, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(prefix, false, &u, err)) return false;
    arena_t a;
    arena_init(&a, 0);
    store_bucket b;
    bool ok = store_bucket_get(io_store(io), u.bucket, &a, &b, err);
    arena_free(&a);
    buf_t after = BUF_INIT;
    bool more = ok;
    while (ok && more) ok = list_page(io, &u, &after, fn, arg, &more, err);
    buf_free(&after);
    return ok || wrap(err, prefix);
}

static void store_io_free(fileio_t *io) { free(io); }

static bool store_io_sync(fileio_t *io, floe_err *err) { return store_sync(io_store(io), err); }

static const fileio_vt store_vt = {
    .in_open = store_in_open,
    .in_read = store_in_read,
    .in_close = store_in_close,
    .stat = store_stat,
    .out_create = store_out_create,
    .out_write = store_out_write,
    .out_close = store_out_close,
    .out_abort = store_out_abort,
    .remove = store_remove,
    .list = store_list_uri,
    .sync = store_io_sync,
    .free = store_io_free,
};

fileio_t *fileio_store(store_t *s) {
    store_io *io = calloc(1, sizeof *io);
    if (!io) abort();
    io->base.vt = &store_vt;
    io->store = s;
    return &io->base;
}
