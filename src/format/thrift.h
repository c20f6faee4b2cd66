/*
 * thrift.h: the Thrift compact protocol, as Parquet uses it for its footer,
 * page headers, page index and bloom filter headers.
 *
 * The reader is a cursor over a byte range. It reads field headers one at a
 * time and lets the caller decode the fields it knows and skip the rest, so
 * fields added by newer writers are passed over. Every read is bounds
 * checked; nesting is limited to THRIFT_MAX_DEPTH; the first failure sticks
 * and names the byte offset and what was expected there.
 *
 * The writer appends to a buf_t and tracks the last field id per nesting
 * level for the compact delta encoding of field headers.
 */
#ifndef FLOE_FORMAT_THRIFT_H
#define FLOE_FORMAT_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum {
    THRIFT_STOP = 0,
    THRIFT_TRUE = 1, /* in field headers; a bool element in a list is a byte */
    THRIFT_FALSE = 2,
    THRIFT_BYTE = 3,
    THRIFT_I16 = 4,
    THRIFT_I32 = 5,
    THRIFT_I64 = 6,
    THRIFT_DOUBLE = 7,
    THRIFT_BINARY = 8,
    THRIFT_LIST = 9,
    THRIFT_SET = 10,
    THRIFT_MAP = 11,
    THRIFT_STRUCT = 12,
    THRIFT_UUID = 13,
};

#define THRIFT_MAX_DEPTH 64

typedef struct thrift_reader {
    const uint8_t *start, *p, *end;
    int depth;
    int16_t last_id[THRIFT_MAX_DEPTH];
    bool failed;
    size_t base;      /* added to offsets in messages (the range's place in its file) */
    const char *what; /* "footer", "page header", ... for messages */
    floe_err *err;
} thrift_reader;

void thrift_reader_init(thrift_reader *r, const void *p, size_t n, size_t base, const char *what, floe_err *err);
size_t thrift_reader_pos(const thrift_reader *r); /* bytes consumed */

/* Structs: call struct_begin, then field_next until it returns false (the
 * STOP byte or an error: check r->failed), then struct_end. A bool field's
 * value comes with its header: read it with thrift_read_bool. */
bool thrift_struct_begin(thrift_reader *r);
bool thrift_field_next(thrift_reader *r, int16_t *id, uint8_t *type);
void thrift_struct_end(thrift_reader *r);

bool thrift_read_bool(thrift_reader *r, uint8_t type, bool *out); /* type: the field's type */
bool thrift_read_list_bool(thrift_reader *r, bool *out);          /* a bool list element */
bool thrift_read_byte(thrift_reader *r, int8_t *out);
bool thrift_read_i16(thrift_reader *r, int16_t *out);
bool thrift_read_i32(thrift_reader *r, int32_t *out);
bool thrift_read_i64(thrift_reader *r, int64_t *out);
bool thrift_read_double(thrift_reader *r, double *out);
/* Points into the input; no copy. */
bool thrift_read_binary(thrift_reader *r, const uint8_t **p, uint32_t *n);
/* Lists and sets. n is bounded by the bytes left (every element takes at
 * least one byte, except bool-free empty structs which take one STOP). */
bool thrift_read_list(thrift_reader *r, uint8_t *elem_type, uint32_t *n);
/* Reads any value of the given type and discards it. */
bool thrift_skip(thrift_reader *r, uint8_t type);
/* Reads an integer field of any integer type into i64 (enums are i32). */
bool thrift_read_int(thrift_reader *r, uint8_t type, int64_t *out);
/* Marks the reader failed with "<what> at byte N: expected ..." */
bool thrift_fail(thrift_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct thrift_writer {
    buf_t *out;
    int depth;
    int16_t last_id[THRIFT_MAX_DEPTH];
} thrift_writer;

void thrift_writer_init(thrift_writer *w, buf_t *out);
void thrift_write_struct_begin(thrift_writer *w);
void thrift_write_struct_end(thrift_writer *w); /* writes STOP */
void thrift_write_field(thrift_writer *w, int16_t id, uint8_t type);
void thrift_write_bool_field(thrift_writer *w, int16_t id, bool v);
void thrift_write_i32_field(thrift_writer *w, int16_t id, int32_t v);
void thrift_write_i64_field(thrift_writer *w, int16_t id, int64_t v);
void thrift_write_binary_field(thrift_writer *w, int16_t id, const void *p, size_t n);
void thrift_write_string_field(thrift_writer *w, int16_t id, const char *s);
/* A field holding an empty struct (Parquet's union members like StringType). */
void thrift_write_empty_struct_field(thrift_writer *w, int16_t id);
void thrift_write_list_begin(thrift_writer *w, uint8_t elem_type, uint32_t n);
/* Bare values (list elements) */
void thrift_write_varint(thrift_writer *w, uint64_t v);
void thrift_write_i32(thrift_writer *w, int32_t v);
void thrift_write_i64(thrift_writer *w, int64_t v);
void thrift_write_binary(thrift_writer *w, const void *p, size_t n);
void thrift_write_byte(thrift_writer *w, uint8_t v);
void thrift_write_list_bool(thrift_writer *w, bool v);

#endif
