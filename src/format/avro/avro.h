/*
 * avro.h: Floe's Avro codec (Avro 1.11), focused on what Iceberg needs:
 * manifests and manifest lists in object container files.
 *
 *   schema   avro_schema_parse reads schema JSON into a tree of avro_type_t
 *            nodes. Every node keeps the JSON it came from, so attributes
 *            Avro itself ignores (Iceberg's field-id, element-id, key-id,
 *            value-id, logicalType "map") are both parsed and preserved;
 *            avro_schema_json prints the schema back.
 *   values   avro_value_t is a generic value tree allocated in an arena:
 *            a kind, a scalar, or children (record fields in schema order,
 *            array items, map entries, the chosen union branch).
 *   reader   avro_reader_open reads a container file held in memory,
 *            exposes its metadata and yields records one at a time. Codecs:
 *            null, deflate, snappy and zstandard.
 *   writer   avro_writer_new + avro_writer_append + avro_writer_finish
 *            build a container file in a buf_t, validating every value
 *            against the schema.
 *   json     avro_value_to_json prints a value in the Avro JSON encoding
 *            (see docs/avro.md).
 *
 * Errors are values: functions return false and fill a floe_err whose
 * message names the file, the byte offset, and what was expected there.
 * Bad input never crashes, loops or reads out of bounds, and what a reader
 * allocates is bounded by the size of its input.
 */
#ifndef FLOE_FORMAT_AVRO_H
#define FLOE_FORMAT_AVRO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* ------------------------------------------------------------------ schema */

typedef enum avro_kind {
    AVRO_NULL,
    AVRO_BOOLEAN,
    AVRO_INT,
    AVRO_LONG,
    AVRO_FLOAT,
    AVRO_DOUBLE,
    AVRO_BYTES,
    AVRO_STRING,
    AVRO_RECORD,
    AVRO_ENUM,
    AVRO_ARRAY,
    AVRO_MAP,
    AVRO_UNION,
    AVRO_FIXED,
} avro_kind;

/* The logicalType attribute, when it names one Floe knows and it is valid
 * on its base type (the spec says an invalid logical type is ignored, and the
 * base type is read; logical_name still holds the attribute). */
typedef enum avro_logical {
    AVRO_LOGICAL_NONE,
    AVRO_LOGICAL_DECIMAL, /* bytes or fixed; precision, scale */
    AVRO_LOGICAL_UUID,    /* string or fixed(16) */
    AVRO_LOGICAL_DATE,    /* int: days since 1970-01-01 */
    AVRO_LOGICAL_TIME_MILLIS,
    AVRO_LOGICAL_TIME_MICROS,
    AVRO_LOGICAL_TIMESTAMP_MILLIS,
    AVRO_LOGICAL_TIMESTAMP_MICROS,
    AVRO_LOGICAL_TIMESTAMP_NANOS,
    AVRO_LOGICAL_LOCAL_TIMESTAMP_MILLIS,
    AVRO_LOGICAL_LOCAL_TIMESTAMP_MICROS,
    AVRO_LOGICAL_LOCAL_TIMESTAMP_NANOS,
    AVRO_LOGICAL_DURATION, /* fixed(12) */
    AVRO_LOGICAL_MAP,      /* Iceberg: an array of key/value records */
} avro_logical;

typedef struct avro_type avro_type_t;

typedef struct avro_field {
    const char *name;
    const char *doc;       /* NULL when absent */
    json_t *default_value; /* borrowed from the schema JSON; NULL when absent */
    bool has_id;           /* Iceberg "field-id" */
    int32_t id;
    avro_type_t *type;
    json_t *json; /* the field's JSON object, every attribute included */
} avro_field_t;

struct avro_type {
    avro_kind kind;
    avro_logical logical;
    const char *logical_name; /* the logicalType attribute as written, or NULL */
    int32_t precision, scale; /* decimal */

    /* record, enum, fixed: the name as written, its namespace and the
     * full name ("ns.name"); NULL for other kinds */
    const char *name, *namespace, *fullname;
    const char *doc;

    avro_field_t *fields; /* record */
    size_t nfields;

    const char **symbols; /* enum */
    size_t nsymbols;

    avro_type_t *items; /* array */
    bool has_element_id;
    int32_t element_id;

    avro_type_t *values; /* map */
    bool has_key_id, has_value_id;
    int32_t key_id, value_id;

    avro_type_t **branches; /* union */
    size_t nbranches;

    int32_t size; /* fixed */

    json_t *json;     /* where this node was defined (a string for "int") */
    size_t min_bytes; /* the fewest bytes one value takes in binary */
};

/* A parsed schema: owns its JSON and the node tree. */
typedef struct avro_schema {
    avro_type_t *root;
    json_t *json;
    arena_t arena;
} avro_schema_t;

/* Parses schema JSON text. `what` names the input in errors ("m.avro
 * avro.schema"). A malformed schema fails with FLOE_EINVAL and a message
 * naming the path inside the schema ("fields[2].type.items") and the form
 * expected there. */
avro_schema_t *avro_schema_parse(const char *text, size_t len, const char *what, floe_err *err);
/* The same from JSON already parsed; takes a new reference to it. */
avro_schema_t *avro_schema_from_json(json_t *json, const char *what, floe_err *err);
void avro_schema_free(avro_schema_t *s);
/* Appends the schema as compact JSON, every attribute kept. */
void avro_schema_json(const avro_schema_t *s, buf_t *out);

const char *avro_kind_name(avro_kind k); /* "null", "record", ... */
/* A record's field by name or by Iceberg field-id; NULL when absent. */
const avro_field_t *avro_field_by_name(const avro_type_t *record, const char *name);
const avro_field_t *avro_field_by_id(const avro_type_t *record, int32_t id);
int avro_field_index(const avro_type_t *record, const char *name); /* -1 when absent */
/* For an optional type [null, T] or [T, null]: T; otherwise t itself. */
const avro_type_t *avro_type_nonnull(const avro_type_t *t);

/* ------------------------------------------------------------------ values */

typedef struct avro_value avro_value_t;

typedef struct avro_map_entry {
    const char *key; /* UTF-8, NUL-terminated (and key_len long: a key may hold NUL) */
    size_t key_len;
    avro_value_t *value;
} avro_map_entry_t;

struct avro_value {
    avro_kind kind;
    /* The schema node a decoded value conforms to; NULL for built values
     * except records, which always know their type. */
    const avro_type_t *type;
    union {
        bool b;
        int32_t i; /* int; enum: the symbol's index */
        int64_t l;
        float f;
        double d;
        struct { /* bytes, string (UTF-8, NUL-terminated), fixed */
            const uint8_t *data;
            size_t len;
        } bytes;
        struct { /* record: fields in schema order; array: items */
            avro_value_t **items;
            size_t n, cap;
        } list;
        struct {
            avro_map_entry_t *entries;
            size_t n, cap;
        } map;
        struct {
            int32_t branch;
            avro_value_t *value;
        } u;
    };
};

/* Builders. Everything lives in `a`; strings and bytes are copied. */
avro_value_t *avro_null(arena_t *a);
avro_value_t *avro_bool(arena_t *a, bool b);
avro_value_t *avro_int(arena_t *a, int32_t i);
avro_value_t *avro_long(arena_t *a, int64_t l);
avro_value_t *avro_float(arena_t *a, float f);
avro_value_t *avro_double(arena_t *a, double d);
avro_value_t *avro_bytes(arena_t *a, const void *data, size_t len);
avro_value_t *avro_string(arena_t *a, const char *s);
avro_value_t *avro_string_n(arena_t *a, const char *s, size_t len);
avro_value_t *avro_fixed(arena_t *a, const void *data, size_t len);
avro_value_t *avro_enum(arena_t *a, int32_t index);
avro_value_t *avro_array(arena_t *a);
void avro_array_append(arena_t *a, avro_value_t *array, avro_value_t *item);
avro_value_t *avro_map(arena_t *a);
void avro_map_put(arena_t *a, avro_value_t *map, const char *key, avro_value_t *value);
/* An explicit union branch. The writer also accepts a bare value where the
 * schema has a union: it takes the first branch that the value fits. */
avro_value_t *avro_union(arena_t *a, int32_t branch, avro_value_t *value);
/* A record of the given type with every field unset. An unset field is
 * written as null when its type allows null, else as its default; with
 * neither, the writer fails naming the field. */
avro_value_t *avro_record(arena_t *a, const avro_type_t *record_type);
/* Set a field by name or by Iceberg field-id; false when there is no such
 * field. */
bool avro_record_set(avro_value_t *rec, const char *name, avro_value_t *value);
bool avro_record_set_id(avro_value_t *rec, int32_t field_id, avro_value_t *value);

/* Getters. A record field comes back with any union unwrapped: a null
 * branch gives a value of kind AVRO_NULL. NULL when the field does not
 * exist or (for built records) was never set. */
avro_value_t *avro_record_get(const avro_value_t *rec, const char *name);
avro_value_t *avro_record_get_id(const avro_value_t *rec, int32_t field_id);
/* The branch value of a union, or v itself. */
avro_value_t *avro_unwrap(const avro_value_t *v);
/* True for NULL or a (possibly union-wrapped) null. */
bool avro_is_null(const avro_value_t *v);
/* An enum value's symbol, or NULL when v has no enum type. */
const char *avro_enum_symbol(const avro_value_t *v);

/* Converts JSON in the Avro JSON encoding (the form of field defaults and of
 * avro_value_to_json) to a value of type t. Union values are written
 * {"branch name": value} (or null); field defaults, which name no branch,
 * use union_first = true and take the first branch. */
avro_value_t *avro_value_from_json(arena_t *a, const avro_type_t *t, json_t *json, bool union_first, floe_err *err);

/* Appends a value in the Avro JSON encoding: unions as {"type name": value}
 * (null bare), bytes and fixed as strings of code points U+0000..U+00FF,
 * NaN and infinities as the strings "NaN", "Infinity", "-Infinity". The value
 * must conform to t (decoded values always do). */
void avro_value_to_json(const avro_value_t *v, const avro_type_t *t, buf_t *out);

/* ------------------------------------------------------------- container */

typedef enum avro_codec {
    AVRO_CODEC_NULL,
    AVRO_CODEC_DEFLATE,
    AVRO_CODEC_SNAPPY,
    AVRO_CODEC_ZSTD,
} avro_codec;

const char *avro_codec_name(avro_codec c); /* "null", "deflate", "snappy", "zstandard" */
bool avro_codec_parse(const char *name, avro_codec *out);

typedef struct avro_reader avro_reader_t;

/* Reads the header of a container file. data must outlive the reader;
 * name is used in error messages. */
avro_reader_t *avro_reader_open(const uint8_t *data, size_t len, const char *name, floe_err *err);
void avro_reader_free(avro_reader_t *r);
const avro_schema_t *avro_reader_schema(const avro_reader_t *r);
avro_codec avro_reader_codec(const avro_reader_t *r);
/* File metadata: avro.schema, avro.codec, and any other keys (Iceberg
 * writes schema, partition-spec, format-version, content, ...). */
size_t avro_reader_meta_count(const avro_reader_t *r);
void avro_reader_meta_at(const avro_reader_t *r, size_t i, const char **key, const uint8_t **value, size_t *len);
/* A value by key, NUL-terminated (values are bytes; most are text). */
bool avro_reader_meta(const avro_reader_t *r, const char *key, const uint8_t **value, size_t *len);
const char *avro_reader_meta_str(const avro_reader_t *r, const char *key);
/* The next record, allocated in `a`; *out = NULL at the end of the file.
 * False on malformed input. */
bool avro_reader_next(avro_reader_t *r, arena_t *a, avro_value_t **out, floe_err *err);

typedef struct avro_writer_opts {
    avro_codec codec;
    int level;           /* deflate 1..9 or zstd 1..22; 0 = the codec's default */
    size_t block_bytes;  /* flush a block when it holds this much; 0 = 64 KiB */
    const uint8_t *sync; /* 16 bytes; NULL = random */
} avro_writer_opts;

typedef struct avro_writer avro_writer_t;

/* The writer references schema, which must outlive it. opts may be NULL. */
avro_writer_t *avro_writer_new(const avro_schema_t *schema, const avro_writer_opts *opts, floe_err *err);
void avro_writer_free(avro_writer_t *w);
/* Extra metadata; keys starting with "avro." are reserved. Before the first
 * append. */
bool avro_writer_meta(avro_writer_t *w, const char *key, const void *value, size_t len, floe_err *err);
bool avro_writer_meta_str(avro_writer_t *w, const char *key, const char *value, floe_err *err);
/* Validates v against the schema and appends it; a mismatch fails naming
 * the field path ("data_file.partition.ts: expected long, got string") and
 * leaves the file as it was. */
bool avro_writer_append(avro_writer_t *w, const avro_value_t *v, floe_err *err);
/* Number of records appended so far. */
uint64_t avro_writer_count(const avro_writer_t *w);
/* Flushes the last block and appends the whole file to out. */
bool avro_writer_finish(avro_writer_t *w, buf_t *out, floe_err *err);

#endif
