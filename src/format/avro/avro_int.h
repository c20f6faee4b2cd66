/*
 * avro_int.h: internals shared by the files of src/format/avro/: the binary
 * encoding of values (binary.c) and the block codecs (codec.c).
 */
#ifndef FLOE_FORMAT_AVRO_INT_H
#define FLOE_FORMAT_AVRO_INT_H

#include "format/avro/avro.h"

/* Deepest nesting of schemas and of values (records in arrays in maps ...).
 * Iceberg needs four. */
#define AVRO_MAX_DEPTH 128
/* Values that take no bytes (null, empty records, fixed(0)) one record may
 * hold: they cost memory but no input, so they get a budget of their own. */
#define AVRO_MAX_FREE_VALUES 65536
/* The largest decompressed block: at most this many times the compressed
 * size (deflate's own limit is 1032), and never past AVRO_MAX_BLOCK. */
#define AVRO_MAX_RATIO 1032
#define AVRO_MIN_BLOCK_CAP (1u << 20)
#define AVRO_MAX_BLOCK ((size_t)1 << 30)

/* A cursor over bytes. `base` is the file offset of p[0] when the bytes are
 * the file itself; for a decompressed block, offsets are reported within the
 * block and `block_at` names the block's file offset. */
typedef struct avro_cursor {
    const uint8_t *start, *p, *end;
    const char *name;   /* the file, for messages */
    size_t base;        /* file offset of start, or of the block */
    bool in_block;      /* offsets are within a decompressed block */
    size_t free_values; /* budget left for zero-byte values */
} avro_cursor;

/* Offset of the cursor for messages. */
size_t avro_cursor_off(const avro_cursor *c);
/* Fails with "name: at byte N: <message>" (or "name: block at byte B, byte
 * N of its data: ..."). Returns false. */
bool avro_cursor_fail(const avro_cursor *c, floe_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool avro_read_long(avro_cursor *c, int64_t *out, const char *what, floe_err *err);
bool avro_read_int(avro_cursor *c, int32_t *out, const char *what, floe_err *err);
/* A length-prefixed byte string, pointing into the cursor's bytes. */
bool avro_read_span(avro_cursor *c, const uint8_t **data, size_t *len, const char *what, floe_err *err);

/* Decodes one value of type t. Strings and bytes are copied into a. */
bool avro_decode(avro_cursor *c, const avro_type_t *t, arena_t *a, avro_value_t **out, int depth, floe_err *err);

void avro_write_long(buf_t *b, int64_t v);
/* Encodes v as type t, with a path for messages ("data_file.partition").
 * On failure, b may hold part of the value: the caller truncates. */
bool avro_encode(buf_t *b, const avro_type_t *t, const avro_value_t *v, arena_t *tmp, buf_t *path, int depth,
                 floe_err *err);

/* The branch of union u a bare value (not an avro_union) goes in: the first
 * of its kind (and name, for named types); NULL goes in the null branch.
 * -1 when none fits. */
int avro_branch_for(const avro_type_t *u, const avro_value_t *v);

/* The name a union branch takes in the JSON encoding: the full name of a
 * named type, else the kind ("int", "array"). */
const char *avro_branch_name(const avro_type_t *t);

/* Compresses in[0..n) with codec c and appends to out. */
bool avro_compress(avro_codec c, int level, const uint8_t *in, size_t n, buf_t *out, floe_err *err);
/* Decompresses a block into out (reset first). Fails with a message about
 * the data (no file name or offset; the caller adds them). */
bool avro_decompress(avro_codec c, const uint8_t *in, size_t n, buf_t *out, floe_err *err);

#endif
