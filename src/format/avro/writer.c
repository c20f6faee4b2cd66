/*
 * writer.c: builds Avro object container files in memory.
 *
 * Records are validated and encoded into the current block as they are
 * appended; a record that does not fit the schema leaves no trace. A block
 * is compressed and flushed once it holds opts.block_bytes, and the header
 * (the schema exactly as parsed, the codec, the caller's metadata and a
 * random sync marker) goes first, when the first block is flushed or the
 * file finished.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "format/avro/avro_int.h"

typedef struct meta_kv {
    char *key;
    uint8_t *value;
    size_t len;
} meta_kv;

struct avro_writer {
    const avro_schema_t *schema;
    avro_codec codec;
    int level;
    size_t block_bytes;
    uint8_t sync[16];
    meta_kv *meta;
    size_t nmeta;
    bool header_done, finished;
    buf_t file;  /* header and flushed blocks */
    buf_t block; /* encoded records of the block being filled */
    buf_t packed;
    uint64_t block_count, total;
    arena_t tmp; /* field defaults while encoding one record */
    buf_t path;
};

avro_writer_t *avro_writer_new(const avro_schema_t *schema, const avro_writer_opts *opts, floe_err *err) {
    avro_writer_opts o = opts ? *opts : (avro_writer_opts){0};
    if ((unsigned)o.codec > AVRO_CODEC_ZSTD) {
        floe_err_set(err, FLOE_EINVAL, "avro writer: unknown codec %d", (int)o.codec);
        return NULL;
    }
    if (o.codec == AVRO_CODEC_DEFLATE && (o.level < 0 || o.level > 9)) {
        floe_err_set(err, FLOE_EINVAL, "avro writer: deflate level %d; expected 1 to 9 (0 for the default)", o.level);
        return NULL;
    }
    if (o.codec == AVRO_CODEC_ZSTD && (o.level < 0 || o.level > 22)) {
        floe_err_set(err, FLOE_EINVAL, "avro writer: zstandard level %d; expected 1 to 22 (0 for the default)",
                     o.level);
        return NULL;
    }
    avro_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        floe_err_set(err, FLOE_ENOMEM, "avro writer: out of memory");
        return NULL;
    }
    w->schema = schema;
    w->codec = o.codec;
    w->level = o.level;
    w->block_bytes = o.block_bytes ? o.block_bytes : 64 * 1024;
    if (o.sync) {
        memcpy(w->sync, o.sync, 16);
    } else if (getrandom(w->sync, 16, 0) != 16) {
        floe_err_errno(err, errno, "avro writer: no random bytes for the sync marker");
        free(w);
        return NULL;
    }
    arena_init(&w->tmp, 4096);
    return w;
}

void avro_writer_free(avro_writer_t *w) {
    if (!w) return;
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->meta);
    buf_free(&w->file);
    buf_free(&w->block);
    buf_free(&w->packed);
    buf_free(&w->path);
    arena_free(&w->tmp);
    free(w);
}

bool avro_writer_meta(avro_writer_t *w, const char *key, const void *value, size_t len, floe_err *err) {
    if (w->header_done || w->finished || w->total > 0)
        return floe_err_set(err, FLOE_EINVAL, "avro writer: metadata \"%s\" comes too late; set it before appending",
                            key);
    if (!strncmp(key, "avro.", 5))
        return floe_err_set(err, FLOE_EINVAL, "avro writer: metadata key \"%s\" is reserved (avro.*)", key);
    if (!*key) return floe_err_set(err, FLOE_EINVAL, "avro writer: metadata key is empty");
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return floe_err_set(err, FLOE_ENOMEM, "avro writer: out of memory");
    if (len) memcpy(copy, value, len);
    for (size_t i = 0; i < w->nmeta; i++)
        if (!strcmp(w->meta[i].key, key)) { /* set again: the new value wins */
            free(w->meta[i].value);
            w->meta[i].value = copy;
            w->meta[i].len = len;
            return true;
        }
    meta_kv *m = realloc(w->meta, (w->nmeta + 1) * sizeof *m);
    char *k = strdup(key);
    if (m) w->meta = m;
    if (!m || !k) {
        free(copy);
        free(k);
        return floe_err_set(err, FLOE_ENOMEM, "avro writer: out of memory");
    }
    w->meta[w->nmeta++] = (meta_kv){.key = k, .value = copy, .len = len};
    return true;
}

bool avro_writer_meta_str(avro_writer_t *w, const char *key, const char *value, floe_err *err) {
    return avro_writer_meta(w, key, value, strlen(value), err);
}

static void put_span(buf_t *b, const void *data, size_t len) {
    avro_write_long(b, (int64_t)len);
    buf_append(b, data, len);
}

static void write_header(avro_writer_t *w) {
    if (w->header_done) return;
    w->header_done = true;
    buf_append(&w->file, "Obj\x01", 4);
    avro_write_long(&w->file, (int64_t)(2 + w->nmeta));
    buf_t schema = BUF_INIT;
    avro_schema_json(w->schema, &schema);
    put_span(&w->file, "avro.schema", 11);
    put_span(&w->file, schema.data, schema.len);
    buf_free(&schema);
    const char *codec = avro_codec_name(w->codec);
    put_span(&w->file, "avro.codec", 10);
    put_span(&w->file, codec, strlen(codec));
    for (size_t i = 0; i < w->nmeta; i++) {
        put_span(&w->file, w->meta[i].key, strlen(w->meta[i].key));
        put_span(&w->file, w->meta[i].value, w->meta[i].len);
    }
    avro_write_long(&w->file, 0);
    buf_append(&w->file, w->sync, 16);
}

static bool flush_block(avro_writer_t *w, floe_err *err) {
    write_header(w);
    if (w->block_count == 0) return true;
    buf_reset(&w->packed);
    if (!avro_compress(w->codec, w->level, (const uint8_t *)w->block.data, w->block.len, &w->packed, err)) return false;
    avro_write_long(&w->file, (int64_t)w->block_count);
    avro_write_long(&w->file, (int64_t)w->packed.len);
    buf_append(&w->file, w->packed.data, w->packed.len);
    buf_append(&w->file, w->sync, 16);
    buf_reset(&w->block);
    w->block_count = 0;
    return true;
}

bool avro_writer_append(avro_writer_t *w, const avro_value_t *v, floe_err *err) {
    if (w->finished) return floe_err_set(err, FLOE_EINVAL, "avro writer: append after finish");
    size_t old = w->block.len;
    buf_reset(&w->path);
    if (!avro_encode(&w->block, w->schema->root, v, &w->tmp, &w->path, 0, err)) {
        w->block.len = old;
        arena_free(&w->tmp);
        return floe_err_wrap(err, "avro writer: record %llu", (unsigned long long)w->total);
    }
    arena_free(&w->tmp);
    w->block_count++;
    w->total++;
    if (w->block.len >= w->block_bytes) return flush_block(w, err);
    return true;
}

uint64_t avro_writer_count(const avro_writer_t *w) { return w->total; }

bool avro_writer_finish(avro_writer_t *w, buf_t *out, floe_err *err) {
    if (w->finished) return floe_err_set(err, FLOE_EINVAL, "avro writer: finished twice");
    if (!flush_block(w, err)) return false;
    w->finished = true;
    buf_append(out, w->file.data, w->file.len);
    return true;
}
