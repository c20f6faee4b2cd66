/*
 * output.h: query results as people and scripts read them.
 *
 * The text form of every value is fixed, because scripts and the SQL logic
 * tests compare it (docs/sql.md, "Output"): booleans true/false; doubles
 * in the shortest form that reads back exactly, integral ones with ".0"
 * (3.0), NaN, Infinity, -Infinity; decimals with exactly `scale` fraction
 * digits; dates 2024-01-31; timestamps 2024-01-31 12:34:56 with a fraction
 * only when it is not zero, trailing zeros trimmed (12:34:56.5), "+00"
 * after a timestamptz (UTC); binary as \x and hex.
 *
 * Three formats:
 *   csv    RFC 4180: a header line, then a line per row. NULL is an empty
 *          field; the empty string is "" (quoted), so the two differ.
 *   json   one object per row per line, keys in column order; NULL is
 *          null, numbers are numbers (decimals with their scale), dates and
 *          timestamps strings in the text form.
 *   table  aligned columns for people, then "(N rows)".
 */
#ifndef FLOE_SQL_OUTPUT_H
#define FLOE_SQL_OUTPUT_H

#include <stdio.h>

#include "base/buf.h"
#include "format/vector.h"

typedef enum { SQL_OUT_TABLE, SQL_OUT_CSV, SQL_OUT_JSON } sql_out_format;

bool sql_out_format_parse(const char *name, sql_out_format *out);

/* Row i of v in its text form; nothing for NULL (callers decide how a
 * NULL shows). Nested values (list, map, struct) print as JSON. */
void sql_value_text(buf_t *out, const fmt_vec_t *v, uint32_t i);
/* Row i of v as a JSON value (null for NULL). */
void sql_value_json(buf_t *out, const fmt_vec_t *v, uint32_t i);

/* A result writer: the column names (one per vector of the batches to
 * come), then batches, then the end. Output goes to f as it comes, except
 * for the table format, which holds the rows to align them. */
typedef struct sql_writer sql_writer;
sql_writer *sql_writer_new(sql_out_format format, FILE *f);
void sql_writer_begin(sql_writer *w, const char *const *names, uint32_t ncols);
void sql_writer_batch(sql_writer *w, const fmt_batch_t *b);
/* Ends the result; the table format prints its rows, the row count and,
 * when ms >= 0, the time. */
void sql_writer_end(sql_writer *w, double ms);
void sql_writer_free(sql_writer *w);

#endif
