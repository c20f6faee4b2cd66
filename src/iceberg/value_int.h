/*
 * value_int.h: helpers the Iceberg value, transform and expression files
 * share: civil-calendar arithmetic (proleptic Gregorian, as java.time and
 * the spec use), floor division, and the widths of time units.
 */
#ifndef FLOE_ICEBERG_VALUE_INT_H
#define FLOE_ICEBERG_VALUE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "iceberg/iceberg.h"

#define ICE_MICROS_PER_HOUR 3600000000LL
#define ICE_MICROS_PER_DAY 86400000000LL

static inline int64_t ice_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t ice_floor_mod(int64_t a, int64_t b) { return a - ice_floor_div(a, b) * b; }

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's
 * algorithms, valid for every int32 day count). */
int64_t ice_days_from_civil(int64_t y, unsigned m, unsigned d);
void ice_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

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

/* Formats a time of day (microseconds or nanoseconds) as HH:MM:SS with a
 * fraction of 6 (or 9) digits when it is not zero. */
void ice_format_time_of_day(int64_t units, bool nanos, buf_t *out);
/* Formats a timestamp as YYYY-MM-DDTHH:MM:SS[.ffffff] (no zone). */
void ice_format_timestamp(int64_t units, bool nanos, buf_t *out);

/* A column by name: dotted names reach into structs (never lists or
 * maps); a whole-name match wins. case_sensitive false falls back to an
 * ASCII case-insensitive match. NULL when absent. */
const fmt_field_t *ice_find_column(const fmt_schema_t *s, const char *name, size_t n, bool case_sensitive);
/* The dotted name of a column by id, in the arena; NULL when absent. */
const char *ice_column_name(const fmt_schema_t *s, int32_t id, arena_t *a);

/* The value's type as a field (for messages and formatting). */
fmt_field_t ice_value_field(const ice_value *v);

#endif
