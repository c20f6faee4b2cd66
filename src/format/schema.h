/*
 * schema.h: the table type model shared by Parquet, Avro, Iceberg and SQL.
 *
 * Types follow the Iceberg spec: primitives plus struct, list and map, with a
 * field id on every field, list element, map key and map value. A schema is a
 * struct field (id 0) whose children are the top-level columns. Everything a
 * schema points at lives in the arena it was built in.
 *
 * fmt_schema_parse reads the compact text form the CLI takes:
 *
 *   id long not null, ts timestamptz, px decimal(10,2), tags list<string>,
 *   attrs map<string, long>, pt struct<x: double not null, y: double>, h fixed[16]
 *
 * and assigns ids the way Iceberg assigns fresh ids: top-level fields 1..n,
 * then nested fields breadth first. List elements and map values are optional
 * unless written `list<T not null>`; map keys are always required.
 */
#ifndef FLOE_FORMAT_SCHEMA_H
#define FLOE_FORMAT_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

typedef enum fmt_type {
    FMT_BOOLEAN,
    FMT_INT,
    FMT_LONG,
    FMT_FLOAT,
    FMT_DOUBLE,
    FMT_DECIMAL,
    FMT_DATE,           /* int32 days since 1970-01-01 */
    FMT_TIME,           /* int64 microseconds since midnight */
    FMT_TIMESTAMP,      /* int64 microseconds, no zone */
    FMT_TIMESTAMPTZ,    /* int64 microseconds, UTC */
    FMT_TIMESTAMP_NS,   /* int64 nanoseconds, no zone */
    FMT_TIMESTAMPTZ_NS, /* int64 nanoseconds, UTC */
    FMT_STRING,
    FMT_BINARY,
    FMT_UUID,  /* 16 bytes */
    FMT_FIXED, /* length bytes */
    FMT_STRUCT,
    FMT_LIST,
    FMT_MAP,
} fmt_type;

typedef struct fmt_field fmt_field_t;
struct fmt_field {
    int32_t id;
    const char *name; /* "element", "key" and "value" inside lists and maps */
    fmt_type type;
    bool required;
    int32_t precision, scale; /* decimal */
    int32_t length;           /* fixed */
    const char *doc;          /* may be NULL */
    /* struct: its fields; list: [element]; map: [key, value] */
    fmt_field_t *children;
    int32_t nchildren;
};

typedef struct fmt_schema {
    fmt_field_t root; /* type FMT_STRUCT, id 0 */
    int32_t schema_id;
    int32_t max_field_id;
    /* Iceberg's identifier-field-ids: the fields that identify a row (none
     * when nidentifier_ids is 0) */
    int32_t *identifier_ids;
    int32_t nidentifier_ids;
} fmt_schema_t;

bool fmt_schema_parse(const char *text, arena_t *a, fmt_schema_t *out, floe_err *err);
/* The same text form, with ids as `name: type` comments omitted. */
void fmt_schema_format(const fmt_schema_t *s, buf_t *out);
void fmt_type_format(const fmt_field_t *f, buf_t *out); /* "decimal(10,2)", "list<string>" */
const char *fmt_type_name(fmt_type t);                  /* "long", "timestamptz", ... */

bool fmt_type_is_primitive(fmt_type t);
/* Bytes per value in a fmt_vec: 1 boolean, 4 int/date/float, 8 long/time/
 * timestamps/double, 4/8/16 decimal by precision (int32, int64, __int128),
 * 16 uuid, length for fixed; 0 for string, binary and nested types. */
int fmt_type_width(const fmt_field_t *f);

/* Depth-first lookup by id; NULL if absent. */
const fmt_field_t *fmt_schema_find(const fmt_schema_t *s, int32_t id);
/* Recomputes max_field_id. */
void fmt_schema_finish(fmt_schema_t *s);

#endif
