/*
 * json.c: jansson helpers.
 */
#include "base/json.h"

json_t *json_parse(const char *text, size_t len, const char *what, floe_err *err) {
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        floe_err_set(err, FLOE_EINVAL, "%s: invalid JSON at line %d column %d: %s", what, je.line, je.column, je.text);
    return v;
}

bool json_get_str(json_t *obj, const char *key, const char *what, const char **out, floe_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return floe_err_set(err, FLOE_EINVAL, "%s.%s must be a string", what, key);
    *out = json_string_value(v);
    return true;
}

bool json_get_i64(json_t *obj, const char *key, const char *what, int64_t *out, floe_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) return floe_err_set(err, FLOE_EINVAL, "%s.%s must be an integer", what, key);
    *out = (int64_t)json_integer_value(v);
    return true;
}

bool json_get_bool(json_t *obj, const char *key, const char *what, bool *out, floe_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v)) return floe_err_set(err, FLOE_EINVAL, "%s.%s must be true or false", what, key);
    *out = json_is_true(v);
    return true;
}

const char *json_opt_str(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int dump_cb(const char *buffer, size_t size, void *data) {
    buf_append(data, buffer, size);
    return 0;
}

void json_dump_buf(json_t *v, buf_t *b) { json_dump_callback(v, dump_cb, b, JSON_COMPACT); }

void json_put_str(buf_t *b, const char *s, size_t n) {
    buf_reserve(b, n + 2);
    buf_putc(b, '"');
    size_t run = 0; /* bytes that need no escape, appended together */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        case '\f': buf_append(b, "\\f", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        default: buf_printf(b, "\\u%04X", c); break;
        }
    }
    buf_append(b, s + run, n - run);
    buf_putc(b, '"');
}
