/*
 * fileio.c: the FileIO interface (fileio.h) over its three backends.
 *
 * The public functions check their arguments and the state of a stream, then
 * call the backend through its fileio_vt. Checks every backend needs live
 * here once: a read past the end of an input, a write to an output whose
 * earlier write failed. URI parsing for s3:// is here too, because the store
 * and the S3 backends share it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "store/fileio_int.h"

/* ---- streams ---- */

static char *fileio_strdup(const char *s) {
    char *p = strdup(s ? s : "");
    if (!p) abort();
    return p;
}

void fileio_in_init(fileio_in *in, fileio_t *io, const char *uri) {
    in->io = io;
    in->uri = fileio_strdup(uri);
}

void fileio_out_init(fileio_out *out, fileio_t *io, const char *uri, bool if_absent) {
    out->io = io;
    out->uri = fileio_strdup(uri);
    out->if_absent = if_absent;
}

void fileio_in_fini(fileio_in *in) { free(in->uri); }
void fileio_out_fini(fileio_out *out) { free(out->uri); }

bool fileio_err_exists(floe_err *err, const char *uri) {
    return floe_err_set(err, FLOE_EEXIST,
                        "%s already exists, and this write may only create it; write a new file name (metadata files "
                        "are never overwritten)",
                        uri);
}

/* ---- URIs ---- */

bool fileio_parse_s3_uri(const char *uri, bool need_key, fileio_s3_uri *out, floe_err *err) {
    static const char *const schemes[] = {"s3://", "s3a://", "s3n://"};
    memset(out, 0, sizeof *out);
    const char *p = NULL;
    for (size_t i = 0; i < 3 && !p; i++)
        if (uri && str_starts_with(uri, schemes[i])) {
            strcpy(out->scheme, schemes[i]);
            p = uri + strlen(schemes[i]);
        }
    if (!p)
        return floe_err_set(err, FLOE_EINVAL,
                            "'%s' is not an S3 URI; expected s3://bucket/key (s3a:// and s3n:// work too)",
                            uri ? uri : "(null)");
    const char *slash = strchr(p, '/');
    size_t blen = slash ? (size_t)(slash - p) : strlen(p);
    if (blen == 0 || blen > FILEIO_BUCKET_MAX)
        return floe_err_set(err, FLOE_EINVAL, "'%s' has %s bucket name; expected s3://bucket/key", uri,
                            blen ? "too long a" : "no");
    memcpy(out->bucket, p, blen);
    out->key = slash ? slash + 1 : "";
    out->key_len = strlen(out->key);
    if (!need_key) return true;
    if (out->key_len == 0)
        return floe_err_set(err, FLOE_EINVAL, "'%s' names a bucket, not an object; expected s3://bucket/key", uri);
    if (out->key_len > 1024)
        return floe_err_set(err, FLOE_EINVAL, "'%s': the key is %zu bytes; S3 keys are at most 1024", uri,
                            out->key_len);
    if (!str_utf8_valid(out->key, out->key_len))
        return floe_err_set(err, FLOE_EINVAL, "'%s': the key is not valid UTF-8, which S3 keys must be", uri);
    return true;
}

/* ---- reading ---- */

/* Backends may read err->code, so a caller's NULL becomes a scratch error. */
#define ERR_OR_SCRATCH(err)                                                                                            \
    floe_err scratch_;                                                                                                 \
    if (!(err)) (err) = &scratch_

fileio_in *fileio_in_open(fileio_t *io, const char *uri, floe_err *err) {
    ERR_OR_SCRATCH(err);
    return io->vt->in_open(io, uri, err);
}

uint64_t fileio_in_size(const fileio_in *in) { return in->size; }

bool fileio_in_read(fileio_in *in, uint64_t off, void *dst, size_t n, floe_err *err) {
    if (off > in->size || n > in->size - off)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: cannot read %zu bytes at offset %llu: the file has %llu bytes; the reader's offsets "
                            "do not match the file (is it truncated or replaced?)",
                            in->uri, n, (unsigned long long)off, (unsigned long long)in->size);
    if (n == 0) return true;
    ERR_OR_SCRATCH(err);
    return in->io->vt->in_read(in, off, dst, n, err);
}

void fileio_in_close(fileio_in *in) {
    if (in) in->io->vt->in_close(in);
}

bool fileio_read_all(fileio_t *io, const char *uri, buf_t *out, floe_err *err) {
    ERR_OR_SCRATCH(err);
    if (io->vt->read_all) return io->vt->read_all(io, uri, out, err);
    fileio_in *in = io->vt->in_open(io, uri, err);
    if (!in) return false;
    size_t base = out->len;
    bool ok = true;
    if (in->size > SIZE_MAX - base - 1) {
        ok =
            floe_err_set(err, FLOE_ETOOLARGE, "%s: %llu bytes do not fit in memory", uri, (unsigned long long)in->size);
    } else if (in->size > 0) {
        buf_reserve(out, (size_t)in->size);
        ok = fileio_in_read(in, 0, out->data + base, (size_t)in->size, err);
        if (ok) {
            out->len = base + (size_t)in->size;
            out->data[out->len] = '\0';
        }
    }
    fileio_in_close(in);
    return ok;
}

bool fileio_stat(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err) {
    ERR_OR_SCRATCH(err);
    bool e = false;
    uint64_t sz = 0;
    if (!io->vt->stat(io, uri, &e, &sz, err)) return false;
    if (exists) *exists = e;
    if (size) *size = e ? sz : 0;
    return true;
}

/* ---- writing ---- */

fileio_out *fileio_out_create(fileio_t *io, const char *uri, floe_err *err) {
    ERR_OR_SCRATCH(err);
    return io->vt->out_create(io, uri, false, err);
}

bool fileio_out_write(fileio_out *out, const void *p, size_t n, floe_err *err) {
    if (out->failed) {
        if (err) *err = out->fail_err;
        return false;
    }
    if (n == 0) return true;
    if (!out->io->vt->out_write(out, p, n, &out->fail_err)) {
        out->failed = true;
        if (err) *err = out->fail_err;
        return false;
    }
    out->size += n;
    return true;
}

uint64_t fileio_out_size(const fileio_out *out) { return out->size; }

bool fileio_out_close(fileio_out *out, floe_err *err) {
    if (out->failed) {
        floe_err e = out->fail_err;
        out->io->vt->out_abort(out);
        if (err) *err = e;
        return false;
    }
    ERR_OR_SCRATCH(err);
    return out->io->vt->out_close(out, err);
}

void fileio_out_abort(fileio_out *out) {
    if (out) out->io->vt->out_abort(out);
}

static bool write_all(fileio_t *io, const char *uri, const void *p, size_t n, bool if_absent, bool deferred,
                      floe_err *err) {
    ERR_OR_SCRATCH(err);
    fileio_out *out = io->vt->out_create(io, uri, if_absent, err);
    if (!out) return false;
    out->deferred = deferred;
    if (!fileio_out_write(out, p, n, err)) {
        fileio_out_abort(out);
        return false;
    }
    return fileio_out_close(out, err);
}

bool fileio_write_all(fileio_t *io, const char *uri, const void *p, size_t n, bool if_absent, floe_err *err) {
    return write_all(io, uri, p, n, if_absent, false, err);
}

bool fileio_write_all_deferred(fileio_t *io, const char *uri, const void *p, size_t n, bool if_absent, floe_err *err) {
    return write_all(io, uri, p, n, if_absent, true, err);
}

void fileio_out_defer(fileio_out *out) { out->deferred = true; }

bool fileio_sync(fileio_t *io, floe_err *err) {
    ERR_OR_SCRATCH(err);
    return !io->vt->sync || io->vt->sync(io, err);
}

/* ---- the rest ---- */

bool fileio_delete(fileio_t *io, const char *uri, floe_err *err) {
    ERR_OR_SCRATCH(err);
    return io->vt->remove(io, uri, err);
}

bool fileio_list(fileio_t *io, const char *prefix, bool (*fn)(const fileio_entry *e, void *arg), void *arg,
                 floe_err *err) {
    ERR_OR_SCRATCH(err);
    return io->vt->list(io, prefix, fn, arg, err);
}

void fileio_free(fileio_t *io) {
    if (io) io->vt->free(io);
}
