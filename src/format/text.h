/*
 * text.h: rows as text. Parses JSON lines and CSV into column batches for a
 * schema, and prints vector values as JSON or CSV.
 *
 * Input forms (JSON; CSV cells take the same text without quotes):
 *   boolean       true / false (CSV also 1 / 0)
 *   int, long     integers, range-checked
 *   float, double numbers; "NaN", "Infinity", "-Infinity" as strings
 *   decimal(p,s)  numbers or strings such as "12.34"; more than s decimals
 *                 or more than p digits is an error, never a silent rounding
 *   date          "2026-03-28"
 *   time          "12:34:56" or "12:34:56.123456"
 *   timestamp     "2026-03-28T12:34:56.123456" (a space may replace T); a
 *                 zone suffix (Z, +02:00) is converted to UTC; timestamptz
 *                 without a suffix is taken as UTC
 *   string        strings (valid UTF-8)
 *   binary, fixed strings, taken as their bytes
 *   uuid          "f79c3e09-677c-4bbd-a479-3f349cb785e7"
 *   list          arrays; map: objects (keys parsed as the key type);
 *   struct        objects by field name
 * null or a missing key is null; a null in a required field is an error.
 * Errors name the line, the column and the value.
 */
#ifndef FLOE_FORMAT_TEXT_H
#define FLOE_FORMAT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/schema.h"
#include "format/vector.h"

typedef enum { FMT_TEXT_JSONL, FMT_TEXT_CSV } fmt_text_kind;

typedef struct fmt_text_reader fmt_text_reader_t;

/* Reads from f (not closed). name is used in messages. For CSV the first
 * line is a header naming the columns (in any order; absent columns are
 * null). */
fmt_text_reader_t *fmt_text_reader_new(FILE *f, const char *name, fmt_text_kind kind, const fmt_schema_t *schema,
                                       floe_err *err);
/* Appends up to max rows to b (which fmt_batch_init made for the schema).
 * Returns false on error; at the end, b->nrows is 0. */
bool fmt_text_read(fmt_text_reader_t *r, fmt_batch_t *b, uint32_t max, floe_err *err);
void fmt_text_reader_free(fmt_text_reader_t *r);

/* One value as JSON (strings quoted, binary as base64... see text.c). */
void fmt_value_json(buf_t *out, const fmt_vec_t *v, uint32_t i);
/* One value as a CSV cell (quoted when needed; null is an empty cell). */
void fmt_value_csv(buf_t *out, const fmt_vec_t *v, uint32_t i);
/* The same cell unquoted: plain text for primitives, JSON for nested
 * values; nothing for null. */
void fmt_value_plain(buf_t *out, const fmt_vec_t *v, uint32_t i);
/* Appends s as one CSV field, quoted when it holds a comma, a quote or a
 * line break (or is empty and quote_empty: an empty string, not a null). */
void fmt_csv_field(buf_t *out, const char *s, size_t n, bool quote_empty);
/* Plain text of a primitive value (no quoting): dates, timestamps, decimals
 * in their usual forms. */
void fmt_value_text(buf_t *out, const fmt_field_t *f, const uint8_t *p, uint32_t n);

/* Parsing helpers shared with statistics printing. */
bool fmt_parse_date(const char *s, int32_t *days);
bool fmt_parse_timestamp(const char *s, int64_t *micros); /* no zone suffix: UTC */
bool fmt_parse_time(const char *s, int64_t *micros);
bool fmt_parse_decimal(const char *s, int32_t precision, int32_t scale, __int128 *out);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back (valid for
 * every int32 day count). */
int64_t fmt_days_from_civil(int64_t y, unsigned m, unsigned d);
void fmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
