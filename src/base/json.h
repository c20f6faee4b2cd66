/*
 * json.h: small helpers over jansson for reading typed fields with errors
 * that name the field, and for emitting compact JSON into a buf.
 */
#ifndef FLOE_BASE_JSON_H
#define FLOE_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Parses text; on failure the error names `what`, the line and column. */
json_t *json_parse(const char *text, size_t len, const char *what, floe_err *err);
/* Reads a required field of the given type; the error names `what.key`. */
bool json_get_str(json_t *obj, const char *key, const char *what, const char **out, floe_err *err);
bool json_get_i64(json_t *obj, const char *key, const char *what, int64_t *out, floe_err *err);
bool json_get_bool(json_t *obj, const char *key, const char *what, bool *out, floe_err *err);
/* Optional string: NULL when absent or null. */
const char *json_opt_str(json_t *obj, const char *key);
/* Appends compact JSON of v to b. */
void json_dump_buf(json_t *v, buf_t *b);
/* Appends s (n bytes of UTF-8) as a JSON string, escaped as jansson
 * escapes it, for writers that emit JSON without building a tree. */
void json_put_str(buf_t *b, const char *s, size_t n);

#endif
