/*
 * value_int.h: helpers the Iceberg value, transform and expression files
 * share: floor division, the widths of time units, type classes, column
 * lookups and the digits of real numbers. (Calendar arithmetic is
 * format/text.h's fmt_civil_from_days.)
 */
#ifndef FLOE_ICEBERG_VALUE_INT_H
#define FLOE_ICEBERG_VALUE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "format/text.h"
#include "iceberg/iceberg.h"

#define ICE_MICROS_PER_HOUR 3600000000LL
#define ICE_MICROS_PER_DAY 86400000000LL

static inline int64_t ice_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t ice_floor_mod(int64_t a, int64_t b) { return a - ice_floor_div(a, b) * b; }

/* Whether the type counts in nanoseconds (timestamp_ns, timestamptz_ns). */
static inline bool ice_type_is_nanos(fmt_type t) { return t == FMT_TIMESTAMP_NS || t == FMT_TIMESTAMPTZ_NS; }
static inline bool ice_type_is_timestamp(fmt_type t) {
    return t == FMT_TIMESTAMP || t == FMT_TIMESTAMPTZ || t == FMT_TIMESTAMP_NS || t == FMT_TIMESTAMPTZ_NS;
}
/* Types whose payload is v.i64. */
static inline bool ice_type_is_integral(fmt_type t) {
    return t == FMT_INT || t == FMT_LONG || t == FMT_DATE || t == FMT_TIME || ice_type_is_timestamp(t);
}
static inline bool ice_type_is_bytes(fmt_type t) {
    return t == FMT_STRING || t == FMT_BINARY || t == FMT_FIXED || t == FMT_UUID;
}

/* Microseconds of a timestamp value (nanoseconds floored). */
static inline int64_t ice_ts_micros(fmt_type t, int64_t x) { return ice_type_is_nanos(t) ? ice_floor_div(x, 1000) : x; }

/* The shortest significant digits that read back as d (as a float when
 * is_float): digits without sign or point, and the decimal exponent of the
 * first one. Returns the digit count. d is finite. */
int ice_shortest_digits(double d, bool is_float, char digits[24], int *exp);
/* Those digits without an exponent: "1000.0", "0.001", "2.5". */
void ice_format_plain_digits(const char *digits, int n, int exp, buf_t *out);

/* A column by name: dotted names reach into structs (never lists or
 * maps); a whole-name match wins. case_sensitive false falls back to an
 * ASCII case-insensitive match. NULL when absent. */
const fmt_field_t *ice_find_column(const fmt_schema_t *s, const char *name, size_t n, bool case_sensitive);
/* The dotted name of a column by id, in the arena; NULL when absent. */
const char *ice_column_name(const fmt_schema_t *s, int32_t id, arena_t *a);

/* The value's type as a field (for messages and formatting). */
fmt_field_t ice_value_field(const ice_value *v);

#endif
