/*
 * reader.c: reads Avro object container files held in memory.
 *
 * A file is the magic "Obj" 0x01, a metadata map (string keys, bytes
 * values: avro.schema, avro.codec, and whatever else the writer added), a
 * 16-byte sync marker, then blocks: a record count, a byte size, that many
 * bytes of (compressed) records, and the sync marker again. The reader checks
 * each of these against the bytes actually there before it trusts them, and
 * every error names the file, the byte offset and what was expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/avro/avro_int.h"

typedef struct meta_entry {
    const char *key;
    const uint8_t *value; /* NUL-terminated copy */
    size_t len;
} meta_entry;

struct avro_reader {
    const uint8_t *data;
    size_t len;
    char *name;
    arena_t arena; /* metadata copies */
    meta_entry *meta;
    size_t nmeta;
    avro_schema_t *schema;
    avro_codec codec;
    uint8_t sync[16];
    avro_cursor file;  /* over the whole file: the next block header */
    avro_cursor block; /* over the current block's records */
    buf_t plain;       /* the current block, decompressed */
    uint64_t records_left;
    uint64_t block_records;
    size_t block_at;
    bool failed;
};

static const char *magic = "Obj\x01";

static bool read_meta(avro_reader_t *r, floe_err *err) {
    avro_cursor *c = &r->file;
    size_t cap = 0;
    for (;;) {
        const uint8_t *at = c->p;
        int64_t n;
        if (!avro_read_long(c, &n, "metadata map block count", err)) return false;
        if (n == 0) return true;
        if (n < 0) {
            int64_t size;
            if (n == INT64_MIN) {
                c->p = at;
                return avro_cursor_fail(c, err, "metadata map block count is out of range");
            }
            if (!avro_read_long(c, &size, "metadata map block size", err)) return false;
            n = -n;
        }
        /* each entry takes at least two bytes (two lengths) */
        if ((uint64_t)n > (size_t)(c->end - c->p) / 2) {
            c->p = at;
            return avro_cursor_fail(c, err,
                                    "metadata map block of %lld entries; expected at most one per 2 of the %zu bytes "
                                    "left",
                                    (long long)n, (size_t)(c->end - c->p));
        }
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *k, *v;
            size_t klen, vlen;
            if (!avro_read_span(c, &k, &klen, "metadata key", err)) return false;
            if (!avro_read_span(c, &v, &vlen, "metadata value", err)) return false;
            if (r->nmeta == cap) {
                cap = cap ? cap * 2 : 8;
                meta_entry *m = arena_alloc(&r->arena, cap * sizeof *m);
                if (r->nmeta) memcpy(m, r->meta, r->nmeta * sizeof *m);
                r->meta = m;
            }
            meta_entry *e = &r->meta[r->nmeta++];
            e->key = arena_strndup(&r->arena, (const char *)k, klen);
            e->value = (const uint8_t *)arena_strndup(&r->arena, (const char *)v, vlen);
            e->len = vlen;
        }
    }
}

static bool read_header(avro_reader_t *r, floe_err *err) {
    avro_cursor *c = &r->file;
    if (r->len < 4 || memcmp(r->data, magic, 4) != 0)
        return avro_cursor_fail(c, err, "expected the Avro container magic 'O' 'b' 'j' 0x01; this is not an Avro file");
    c->p += 4;
    if (!read_meta(r, err)) return false;
    if ((size_t)(c->end - c->p) < 16)
        return avro_cursor_fail(c, err, "the file ends inside the header's 16-byte sync marker");
    memcpy(r->sync, c->p, 16);
    c->p += 16;

    size_t slen;
    const uint8_t *schema;
    if (!avro_reader_meta(r, "avro.schema", &schema, &slen))
        return floe_err_set(err, FLOE_EINVAL, "%s: the header has no avro.schema; expected the writer's schema there",
                            r->name);
    char what[300];
    snprintf(what, sizeof what, "%s: avro.schema", r->name);
    r->schema = avro_schema_parse((const char *)schema, slen, what, err);
    if (!r->schema) return false;

    const char *codec = avro_reader_meta_str(r, "avro.codec");
    r->codec = AVRO_CODEC_NULL;
    if (codec && *codec && !avro_codec_parse(codec, &r->codec))
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: avro.codec is \"%.60s\"; expected null, deflate, snappy or zstandard", r->name, codec);
    return true;
}

avro_reader_t *avro_reader_open(const uint8_t *data, size_t len, const char *name, floe_err *err) {
    avro_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        floe_err_set(err, FLOE_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    r->data = data;
    r->len = len;
    r->name = strdup(name ? name : "avro");
    arena_init(&r->arena, 4096);
    r->file = (avro_cursor){.start = data, .p = data, .end = data + len, .name = r->name};
    if (!read_header(r, err)) goto fail;
    return r;
fail:
    avro_reader_free(r);
    return NULL;
}

void avro_reader_free(avro_reader_t *r) {
    if (!r) return;
    avro_schema_free(r->schema);
    buf_free(&r->plain);
    arena_free(&r->arena);
    free(r->name);
    free(r);
}

const avro_schema_t *avro_reader_schema(const avro_reader_t *r) { return r->schema; }
avro_codec avro_reader_codec(const avro_reader_t *r) { return r->codec; }
size_t avro_reader_meta_count(const avro_reader_t *r) { return r->nmeta; }

void avro_reader_meta_at(const avro_reader_t *r, size_t i, const char **key, const uint8_t **value, size_t *len) {
    *key = r->meta[i].key;
    *value = r->meta[i].value;
    *len = r->meta[i].len;
}

bool avro_reader_meta(const avro_reader_t *r, const char *key, const uint8_t **value, size_t *len) {
    /* the last entry wins if a key repeats */
    for (size_t i = r->nmeta; i-- > 0;)
        if (!strcmp(r->meta[i].key, key)) {
            *value = r->meta[i].value;
            *len = r->meta[i].len;
            return true;
        }
    return false;
}

const char *avro_reader_meta_str(const avro_reader_t *r, const char *key) {
    const uint8_t *v;
    size_t len;
    return avro_reader_meta(r, key, &v, &len) ? (const char *)v : NULL;
}

/* Reads the next block header, its data and its sync marker, and sets up
 * the block cursor. *eof when the file ends cleanly between blocks. */
static bool next_block(avro_reader_t *r, bool *eof, floe_err *err) {
    avro_cursor *c = &r->file;
    *eof = false;
    if (c->p == c->end) {
        *eof = true;
        return true;
    }
    const uint8_t *at = c->p;
    int64_t count, size;
    if (!avro_read_long(c, &count, "block record count", err)) return false;
    if (!avro_read_long(c, &size, "block size", err)) return false;
    size_t rest = (size_t)(c->end - c->p);
    if (count < 0) {
        c->p = at;
        return avro_cursor_fail(c, err, "block claims %lld records; expected a count of 0 or more", (long long)count);
    }
    if (size < 0 || (uint64_t)size > rest || rest - (size_t)size < 16) {
        c->p = at;
        return avro_cursor_fail(c, err,
                                "block of %lld records claims %lld bytes; expected at most the %zu bytes left "
                                "before its 16-byte sync marker",
                                (long long)count, (long long)size, rest < 16 ? 0 : rest - 16);
    }
    const uint8_t *body = c->p;
    c->p += size;
    if (memcmp(c->p, r->sync, 16) != 0)
        return avro_cursor_fail(c, err,
                                "expected the file's sync marker after the block at byte %zu (%lld bytes); the "
                                "block size or the data is corrupt",
                                (size_t)(at - r->data), (long long)size);
    c->p += 16;
    r->block_at = (size_t)(at - r->data);
    if (!avro_decompress(r->codec, body, (size_t)size, &r->plain, err))
        return floe_err_wrap(err, "%s: block at byte %zu (%s)", r->name, r->block_at, avro_codec_name(r->codec));
    const avro_type_t *root = r->schema->root;
    if (root->min_bytes > 0 && (uint64_t)count > r->plain.len / root->min_bytes)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: at byte %zu: block of %lld records holds %zu bytes; each record takes at least %zu",
                            r->name, r->block_at, (long long)count, r->plain.len, root->min_bytes);
    r->records_left = r->block_records = (uint64_t)count;
    const uint8_t *p = (const uint8_t *)r->plain.data;
    r->block = (avro_cursor){
        .start = p, .p = p, .end = p + r->plain.len, .name = r->name, .free_values = AVRO_MAX_FREE_VALUES};
    if (r->codec == AVRO_CODEC_NULL) {
        r->block.base = (size_t)(body - r->data);
    } else {
        r->block.base = r->block_at;
        r->block.in_block = true;
    }
    return true;
}

bool avro_reader_next(avro_reader_t *r, arena_t *a, avro_value_t **out, floe_err *err) {
    *out = NULL;
    if (r->failed) return floe_err_set(err, FLOE_EINVAL, "%s: the reader already failed; reopen the file", r->name);
    while (r->records_left == 0) {
        if (r->block.p != r->block.end) {
            avro_cursor_fail(&r->block, err, "%zu bytes are left over after the block's %llu records; expected none",
                             (size_t)(r->block.end - r->block.p), (unsigned long long)r->block_records);
            goto fail;
        }
        bool eof;
        if (!next_block(r, &eof, err)) goto fail;
        if (eof) return true;
    }
    if (!avro_decode(&r->block, r->schema->root, a, out, 0, err)) goto fail;
    r->records_left--;
    return true;
fail:
    r->failed = true;
    *out = NULL;
    return false;
}
