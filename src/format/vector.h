/*
 * vector.h: column vectors and batches, the in-memory form the Parquet reader
 * produces, the Parquet writer consumes, and the SQL engine computes on.
 *
 * The layout is Arrow-like, so a vector can be handed over without copying:
 *
 *   validity  bitmap, bit i (LSB first) set when slot i holds a value;
 *             NULL means every slot is valid.
 *   values    fixed-width types: len values of fmt_type_width bytes
 *             (boolean is one byte, 0 or 1; decimal is int32, int64 or
 *             __int128 by precision; uuid and fixed are their bytes).
 *             Dictionary form: len uint32 indices into dict.
 *   offsets   string and binary: len+1 byte offsets into bytes.
 *             list and map: len+1 slot offsets into the child vectors.
 *   children  struct: one per field, each len slots long.
 *             list: [element]; map: [key, value].
 *   dict      dictionary form (strings from a Parquet dictionary page): a
 *             plain vector of the same type; values holds indices.
 *
 * A null slot's values are unspecified, its string is empty, its list is
 * empty. Builders (fmt_vec_init and the append calls) own malloc'd memory
 * and are freed with fmt_vec_free; vectors a reader returns are owned by the
 * reader and valid until its next call.
 */
#ifndef FLOE_FORMAT_VECTOR_H
#define FLOE_FORMAT_VECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/schema.h"

typedef struct fmt_vec fmt_vec_t;
struct fmt_vec {
    const fmt_field_t *field;
    uint32_t len;
    uint32_t null_count;
    uint8_t *validity;
    void *values;
    uint32_t *offsets;
    uint8_t *bytes;
    fmt_vec_t *dict;
    fmt_vec_t *children;
    uint32_t nchildren;
    /* builder state */
    uint32_t cap;       /* slots allocated in values/offsets/validity */
    uint32_t bytes_len; /* bytes used (== offsets[len]) */
    uint32_t bytes_cap;
    uint32_t idx_cap; /* dictionary-form indices allocated in values */
    bool owned;       /* buffers are malloc'd by the builder */
};

typedef struct fmt_batch {
    uint32_t nrows;
    uint32_t ncols;
    fmt_vec_t *cols;
} fmt_batch_t;

/* Typical batch size: about 2048 values. */
#define FMT_BATCH_ROWS 2048

static inline bool fmt_vec_valid(const fmt_vec_t *v, uint32_t i) {
    return !v->validity || (v->validity[i >> 3] >> (i & 7)) & 1;
}
static inline void fmt_bit_set(uint8_t *bits, uint32_t i, bool on) {
    if (on)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* Builders. fmt_vec_init sets up a vector (and its children, recursively)
 * for field; appends grow it. */
void fmt_vec_init(fmt_vec_t *v, const fmt_field_t *field);
void fmt_vec_reset(fmt_vec_t *v); /* len = 0, keeps memory, recursive */
void fmt_vec_free(fmt_vec_t *v);  /* recursive; no-op on vectors it does not own */

/* Room for n more slots (values, offsets, and validity if present), and
 * for n more bytes of string data. */
void fmt_vec_reserve(fmt_vec_t *v, uint32_t n);
void fmt_vec_reserve_bytes(fmt_vec_t *v, size_t n);
/* Gives v a validity bitmap (all valid so far) if it has none. */
void fmt_vec_ensure_validity(fmt_vec_t *v);

void fmt_vec_append_null(fmt_vec_t *v); /* also appends a null slot to struct children */
void fmt_vec_append_bool(fmt_vec_t *v, bool x);
void fmt_vec_append_i32(fmt_vec_t *v, int32_t x);
void fmt_vec_append_i64(fmt_vec_t *v, int64_t x);
void fmt_vec_append_i128(fmt_vec_t *v, __int128 x);
void fmt_vec_append_f32(fmt_vec_t *v, float x);
void fmt_vec_append_f64(fmt_vec_t *v, double x);
/* string, binary, and (with n == width) uuid and fixed */
void fmt_vec_append_bytes(fmt_vec_t *v, const void *p, size_t n);
/* Nested: append the children's slots first, then close the parent slot.
 * list/map: the slot covers the child slots appended since the last close. */
void fmt_vec_close_list(fmt_vec_t *v);
void fmt_vec_close_struct(fmt_vec_t *v); /* a valid struct slot */

/* Value accessors for any vector, including dictionary form. */
int64_t fmt_vec_i64(const fmt_vec_t *v, uint32_t i); /* int, long, date, time, timestamps, boolean, decimal<=18 */
double fmt_vec_f64(const fmt_vec_t *v, uint32_t i);  /* float, double */
const uint8_t *fmt_vec_bytes(const fmt_vec_t *v, uint32_t i, uint32_t *n); /* string, binary, fixed, uuid */

/* Appends row i of src (any shape, dictionary form included) to the
 * builder dst of the same field type. */
void fmt_vec_append_from(fmt_vec_t *dst, const fmt_vec_t *src, uint32_t i);
/* Appends rows[0..n) of src to the builder batch dst (same columns). */
void fmt_batch_take(fmt_batch_t *dst, const fmt_batch_t *src, const uint32_t *rows, uint32_t n);

void fmt_batch_init(fmt_batch_t *b, const fmt_schema_t *s); /* one builder per top-level field */
void fmt_batch_reset(fmt_batch_t *b);
void fmt_batch_free(fmt_batch_t *b);

#endif
