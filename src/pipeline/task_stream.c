/*
 * task_stream.c: bytes for the text reader (format/text.h), which reads a
 * stdio FILE. A task_stream is a FILE (fopencookie) whose bytes a
 * producer makes on demand: the pieces of an object read through FileIO
 * and unpacked from zstd as they come (load_raw's source, write_table's
 * files), or JSON lines made from task arguments or raw records. Nothing
 * is read whole into memory, and the line numbers the text reader counts
 * are the producer's lines, so its errors name the right line.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "base/str.h"
#include "pipeline/task_int.h"

/* ---- the FILE ---- */

static ssize_t stream_read(void *cookie, char *dst, size_t n) {
    task_stream *s = cookie;
    while (s->off == s->piece.len) {
        if (s->eof) return 0;
        if (s->failed) return -1;
        buf_reset(&s->piece);
        s->off = 0;
        if (!s->pull(s->arg, &s->piece, &s->eof, &s->err)) {
            s->failed = true;
            return -1;
        }
    }
    size_t k = s->piece.len - s->off;
    if (k > n) k = n;
    memcpy(dst, s->piece.data + s->off, k);
    s->off += k;
    return (ssize_t)k;
}

bool task_stream_open(task_stream *s, task_pull_fn pull, void *arg, floe_err *err) {
    memset(s, 0, sizeof *s);
    s->pull = pull;
    s->arg = arg;
    s->f = fopencookie(s, "r", (cookie_io_functions_t){.read = stream_read});
    if (!s->f) return floe_err_set(err, FLOE_ENOMEM, "fopencookie failed");
    return true;
}

bool task_stream_check(const task_stream *s, floe_err *err) {
    if (!s->failed) return true;
    *err = s->err;
    return false;
}

void task_stream_close(task_stream *s) {
    if (s->f) fclose(s->f);
    s->f = NULL;
    buf_free(&s->piece);
}

/* ---- an object through FileIO, unpacked from zstd ---- */

#define OBJECT_CHUNK (1u << 20)

struct task_object {
    fileio_in *in;
    const char *uri;
    uint64_t size, off;
    ZSTD_DStream *z; /* NULL: not compressed */
    uint8_t *chunk;
    ZSTD_inBuffer zin;
    size_t last; /* ZSTD_decompressStream's last answer: 0 at a frame's end */
};

task_object *task_object_open(fileio_t *io, const char *uri, floe_err *err) {
    fileio_in *in = fileio_in_open(io, uri, err);
    if (!in) return NULL;
    task_object *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->in = in;
    o->uri = uri;
    o->size = fileio_in_size(in);
    o->chunk = malloc(OBJECT_CHUNK);
    if (!o->chunk) abort();
    if (str_ends_with(uri, ".zst")) {
        o->z = ZSTD_createDStream();
        if (!o->z) abort();
        ZSTD_initDStream(o->z);
    }
    return o;
}

/* The next chunk of the object's own bytes into o->chunk; false at the end. */
static bool object_fill(task_object *o, size_t *n, floe_err *err) {
    *n = 0;
    if (o->off >= o->size) return true;
    size_t k = o->size - o->off < OBJECT_CHUNK ? (size_t)(o->size - o->off) : OBJECT_CHUNK;
    if (!fileio_in_read(o->in, o->off, o->chunk, k, err)) return false;
    o->off += k;
    *n = k;
    return true;
}

bool task_object_pull(void *obj, buf_t *out, bool *eof, floe_err *err) {
    task_object *o = obj;
    if (!o->z) {
        size_t n;
        if (!object_fill(o, &n, err)) return false;
        if (n == 0)
            *eof = true;
        else
            buf_append(out, o->chunk, n);
        return true;
    }
    size_t cap = ZSTD_DStreamOutSize();
    while (out->len == 0) {
        if (o->zin.pos == o->zin.size) {
            size_t n;
            if (!object_fill(o, &n, err)) return false;
            if (n == 0) {
                if (o->last != 0)
                    return floe_err_set(err, FLOE_EINVAL,
                                        "%s: the zstd stream is truncated (it ends inside a frame); the object is "
                                        "incomplete, so write it again",
                                        o->uri);
                *eof = true;
                return true;
            }
            o->zin = (ZSTD_inBuffer){o->chunk, n, 0};
        }
        buf_reserve(out, cap);
        ZSTD_outBuffer zout = {out->data + out->len, cap, 0};
        size_t r = ZSTD_decompressStream(o->z, &zout, &o->zin);
        if (ZSTD_isError(r))
            return floe_err_set(err, FLOE_EINVAL, "%s: not valid zstd data (%s); expected a .zst written by zstd",
                                o->uri, ZSTD_getErrorName(r));
        out->len += zout.pos;
        o->last = r;
    }
    return true;
}

void task_object_close(task_object *o) {
    if (!o) return;
    fileio_in_close(o->in);
    if (o->z) ZSTD_freeDStream(o->z);
    free(o->chunk);
    free(o);
}

/* ---- rows into a table ---- */

json_t *task_coerce(const fmt_field_t *f, json_t *v) {
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        int64_t x;
        if ((f->type == FMT_INT || f->type == FMT_LONG) && str_to_i64_range(s, INT64_MIN, INT64_MAX, &x))
            return json_integer(x);
        if (f->type == FMT_BOOLEAN && (!strcmp(s, "true") || !strcmp(s, "false"))) return json_boolean(*s == 't');
    }
    return json_incref(v);
}

bool task_write_text(const pipe_task_ctx *c, ice_writer *w, const fmt_schema_t *schema, task_stream *s,
                     const char *name, fmt_text_kind kind, int64_t *rows, floe_err *err) {
    fmt_text_reader_t *r = fmt_text_reader_new(s->f, name, kind, schema, err);
    if (!r) {
        task_stream_check(s, err); /* the producer's error, when it failed */
        return false;
    }
    fmt_batch_t b;
    fmt_batch_init(&b, schema);
    bool ok = true;
    while (ok) {
        fmt_batch_reset(&b);
        floe_err_clear(err);
        bool read = fmt_text_read(r, &b, 8192, err);
        /* a producer's failure ends the FILE early: it, not the text reader, says why */
        if (!task_stream_check(s, err) || !read || task_stopping(c, err)) {
            ok = false;
            break;
        }
        if (b.nrows == 0) break;
        ok = ice_writer_write(w, &b, err);
        *rows += b.nrows;
    }
    fmt_batch_free(&b);
    fmt_text_reader_free(r);
    return ok;
}
