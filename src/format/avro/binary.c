/*
 * binary.c: the Avro binary encoding of values (spec "Binary Encoding").
 *
 * Decoding walks a schema node and a cursor that never passes its end. Each
 * count read from the input (array and map blocks, bytes lengths) is checked
 * against the bytes left before anything is allocated for it; values that
 * take no bytes at all (null, empty records) draw on a fixed budget instead,
 * so what a decoder allocates stays bounded by its input. Encoding validates
 * each value against its schema node and names the field path on a mismatch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "format/avro/avro_int.h"

/* ------------------------------------------------------------ cursor */

size_t avro_cursor_off(const avro_cursor *c) { return c->base + (size_t)(c->p - c->start); }

bool avro_cursor_fail(const avro_cursor *c, floe_err *err, const char *fmt, ...) {
    char msg[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->in_block)
        return floe_err_set(err, FLOE_EINVAL, "%s: block at byte %zu, byte %zu of its data: %s", c->name, c->base,
                            (size_t)(c->p - c->start), msg);
    return floe_err_set(err, FLOE_EINVAL, "%s: at byte %zu: %s", c->name, avro_cursor_off(c), msg);
}

static size_t left(const avro_cursor *c) { return (size_t)(c->end - c->p); }

bool avro_read_long(avro_cursor *c, int64_t *out, const char *what, floe_err *err) {
    uint64_t v = 0;
    const uint8_t *p = c->p;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= c->end) return avro_cursor_fail(c, err, "%s: the file ends inside a variable-length integer", what);
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return avro_cursor_fail(c, err, "%s: variable-length integer overflows 64 bits", what);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            c->p = p;
            *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
            return true;
        }
    }
    return avro_cursor_fail(c, err, "%s: variable-length integer longer than 10 bytes", what);
}

bool avro_read_int(avro_cursor *c, int32_t *out, const char *what, floe_err *err) {
    const uint8_t *at = c->p;
    int64_t v;
    if (!avro_read_long(c, &v, what, err)) return false;
    if (v < INT32_MIN || v > INT32_MAX) {
        c->p = at;
        return avro_cursor_fail(c, err, "%s: %lld does not fit an int (32 bits)", what, (long long)v);
    }
    *out = (int32_t)v;
    return true;
}

bool avro_read_span(avro_cursor *c, const uint8_t **data, size_t *len, const char *what, floe_err *err) {
    const uint8_t *at = c->p;
    int64_t n;
    if (!avro_read_long(c, &n, what, err)) return false;
    if (n < 0 || (uint64_t)n > left(c)) {
        size_t rest = left(c);
        c->p = at;
        return avro_cursor_fail(c, err, "%s: length %lld; expected 0 to the %zu bytes left", what, (long long)n, rest);
    }
    *data = c->p;
    *len = (size_t)n;
    c->p += n;
    return true;
}

/* ------------------------------------------------------------ decode */

static avro_value_t *new_value(arena_t *a, const avro_type_t *t, avro_kind k) {
    avro_value_t *v = arena_alloc(a, sizeof *v);
    memset(v, 0, sizeof *v);
    v->kind = k;
    v->type = t;
    return v;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a block count for an array or map: positive, or negative followed by
 * the block's size in bytes. */
static bool read_block_count(avro_cursor *c, const avro_type_t *item, const char *what, uint64_t *count,
                             floe_err *err) {
    const uint8_t *at = c->p;
    int64_t n;
    if (!avro_read_long(c, &n, what, err)) return false;
    if (n < 0) {
        if (n == INT64_MIN) {
            c->p = at;
            return avro_cursor_fail(c, err, "%s: block count %lld is out of range", what, (long long)n);
        }
        n = -n;
        int64_t size;
        if (!avro_read_long(c, &size, what, err)) return false;
        if (size < 0 || (uint64_t)size > left(c)) {
            size_t rest = left(c);
            c->p = at;
            return avro_cursor_fail(c, err, "%s: block of %lld items claims %lld bytes; expected 0 to the %zu left",
                                    what, (long long)n, (long long)size, rest);
        }
    }
    if (item->min_bytes > 0 && (uint64_t)n > left(c) / item->min_bytes) {
        size_t rest = left(c);
        c->p = at;
        return avro_cursor_fail(
            c, err, "%s: block of %lld items needs at least %llu bytes; expected at most the %zu bytes left", what,
            (long long)n, (unsigned long long)n * item->min_bytes, rest);
    }
    *count = (uint64_t)n;
    return true;
}

static bool decode_array(avro_cursor *c, const avro_type_t *t, arena_t *a, avro_value_t *v, int depth, floe_err *err) {
    for (;;) {
        uint64_t n;
        if (!read_block_count(c, t->items, "array block count", &n, err)) return false;
        if (n == 0) return true;
        for (uint64_t i = 0; i < n; i++) {
            avro_value_t *item;
            if (!avro_decode(c, t->items, a, &item, depth + 1, err)) return false;
            avro_array_append(a, v, item);
        }
    }
}

static bool decode_map(avro_cursor *c, const avro_type_t *t, arena_t *a, avro_value_t *v, int depth, floe_err *err) {
    /* an entry takes at least its key's length byte */
    avro_type_t entry = {.kind = AVRO_RECORD, .min_bytes = 1 + t->values->min_bytes};
    for (;;) {
        uint64_t n;
        if (!read_block_count(c, &entry, "map block count", &n, err)) return false;
        if (n == 0) return true;
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *key;
            size_t klen;
            if (!avro_read_span(c, &key, &klen, "map key", err)) return false;
            avro_value_t *val;
            if (!avro_decode(c, t->values, a, &val, depth + 1, err)) return false;
            avro_map_put(a, v, arena_strndup(a, (const char *)key, klen), val);
            v->map.entries[v->map.n - 1].key_len = klen;
        }
    }
}

bool avro_decode(avro_cursor *c, const avro_type_t *t, arena_t *a, avro_value_t **out, int depth, floe_err *err) {
    if (depth > AVRO_MAX_DEPTH) return avro_cursor_fail(c, err, "values nest more than %d deep", AVRO_MAX_DEPTH);
    const uint8_t *start = c->p;
    avro_value_t *v = new_value(a, t, t->kind);
    switch (t->kind) {
    case AVRO_NULL: break;
    case AVRO_BOOLEAN:
        if (left(c) < 1) return avro_cursor_fail(c, err, "the data ends where a boolean was expected");
        if (*c->p > 1) return avro_cursor_fail(c, err, "boolean byte is %u; expected 0 or 1", *c->p);
        v->b = *c->p++ == 1;
        break;
    case AVRO_INT:
        if (!avro_read_int(c, &v->i, "int", err)) return false;
        break;
    case AVRO_LONG:
        if (!avro_read_long(c, &v->l, "long", err)) return false;
        break;
    case AVRO_FLOAT: {
        if (left(c) < 4) return avro_cursor_fail(c, err, "the data ends inside a float (4 bytes)");
        uint32_t bits = le32(c->p);
        memcpy(&v->f, &bits, 4);
        c->p += 4;
        break;
    }
    case AVRO_DOUBLE: {
        if (left(c) < 8) return avro_cursor_fail(c, err, "the data ends inside a double (8 bytes)");
        uint64_t bits = (uint64_t)le32(c->p) | (uint64_t)le32(c->p + 4) << 32;
        memcpy(&v->d, &bits, 8);
        c->p += 8;
        break;
    }
    case AVRO_BYTES:
    case AVRO_STRING: {
        const uint8_t *data;
        size_t len;
        if (!avro_read_span(c, &data, &len, t->kind == AVRO_STRING ? "string" : "bytes", err)) return false;
        v->bytes.data = (const uint8_t *)arena_strndup(a, (const char *)data, len);
        v->bytes.len = len;
        break;
    }
    case AVRO_FIXED:
        if (left(c) < (size_t)t->size)
            return avro_cursor_fail(c, err, "fixed %s needs %d bytes; only %zu are left", t->fullname, t->size,
                                    left(c));
        v->bytes.data = (const uint8_t *)arena_strndup(a, (const char *)c->p, (size_t)t->size);
        v->bytes.len = (size_t)t->size;
        c->p += t->size;
        break;
    case AVRO_ENUM: {
        const uint8_t *at = c->p;
        if (!avro_read_int(c, &v->i, "enum index", err)) return false;
        if (v->i < 0 || (size_t)v->i >= t->nsymbols) {
            c->p = at;
            return avro_cursor_fail(c, err, "enum %s index %d; expected 0 to %zu", t->fullname, v->i, t->nsymbols - 1);
        }
        break;
    }
    case AVRO_UNION: {
        const uint8_t *at = c->p;
        int64_t idx;
        if (!avro_read_long(c, &idx, "union branch", err)) return false;
        if (idx < 0 || (uint64_t)idx >= t->nbranches) {
            c->p = at;
            return avro_cursor_fail(c, err, "union branch %lld; expected 0 to %zu", (long long)idx, t->nbranches - 1);
        }
        v->u.branch = (int32_t)idx;
        if (!avro_decode(c, t->branches[idx], a, &v->u.value, depth + 1, err)) return false;
        break;
    }
    case AVRO_RECORD:
        v->list.n = v->list.cap = t->nfields;
        v->list.items = arena_alloc(a, (t->nfields ? t->nfields : 1) * sizeof *v->list.items);
        for (size_t i = 0; i < t->nfields; i++)
            if (!avro_decode(c, t->fields[i].type, a, &v->list.items[i], depth + 1, err)) return false;
        break;
    case AVRO_ARRAY:
        if (!decode_array(c, t, a, v, depth, err)) return false;
        break;
    case AVRO_MAP:
        if (!decode_map(c, t, a, v, depth, err)) return false;
        break;
    }
    if (c->p == start) {
        if (c->free_values == 0)
            return avro_cursor_fail(c, err,
                                    "more than %d values that take no bytes (null, empty records) in one block; "
                                    "expected fewer",
                                    AVRO_MAX_FREE_VALUES);
        c->free_values--;
    }
    *out = v;
    return true;
}

/* ------------------------------------------------------------ encode */

void avro_write_long(buf_t *b, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t tmp[10];
    size_t n = 0;
    while (z >= 0x80) {
        tmp[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    tmp[n++] = (uint8_t)z;
    buf_append(b, tmp, n);
}

static void write_le(buf_t *b, uint64_t bits, int n) {
    uint8_t tmp[8];
    for (int i = 0; i < n; i++) tmp[i] = (uint8_t)(bits >> (8 * i));
    buf_append(b, tmp, (size_t)n);
}

static const char *at_path(const buf_t *path) { return path->len ? path->data : "(record)"; }

__attribute__((format(printf, 3, 4))) static bool enc_fail(const buf_t *path, floe_err *err, const char *fmt, ...) {
    char msg[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return floe_err_set(err, FLOE_EINVAL, "%s: %s", at_path(path), msg);
}

/* The error path grows for every field and element encoded, so it is
 * built with plain appends: printf here was a fifth of writing a manifest
 * list. */
static void path_field(buf_t *path, bool dot, const char *name) {
    if (dot) buf_putc(path, '.');
    buf_puts(path, name);
}

static void path_index(buf_t *path, size_t i) {
    char d[24], *p = d + sizeof d;
    *--p = ']';
    do *--p = (char)('0' + i % 10);
    while (i /= 10);
    *--p = '[';
    buf_append(path, p, (size_t)(d + sizeof d - p));
}

static void path_to(buf_t *path, size_t len) {
    path->len = len;
    if (path->data) path->data[len] = '\0';
}

/* Whether a bare value can go in branch b of a union without a wrapper. */
static bool branch_fits(const avro_type_t *b, const avro_value_t *v) {
    if (b->kind != v->kind) return false;
    if (b->fullname && v->type && v->type->fullname) return !strcmp(b->fullname, v->type->fullname);
    return true;
}

int avro_branch_for(const avro_type_t *u, const avro_value_t *v) {
    for (size_t i = 0; i < u->nbranches; i++)
        if (v ? branch_fits(u->branches[i], v) : u->branches[i]->kind == AVRO_NULL) return (int)i;
    return -1;
}

static const char *value_kind_name(const avro_value_t *v) {
    if (v->type && v->type->fullname) return v->type->fullname;
    return avro_kind_name(v->kind);
}

static bool encode_union(buf_t *b, const avro_type_t *t, const avro_value_t *v, arena_t *tmp, buf_t *path, int depth,
                         floe_err *err) {
    int64_t branch = -1;
    const avro_value_t *inner = v;
    if (v && v->kind == AVRO_UNION) {
        if (v->u.branch < 0 || (size_t)v->u.branch >= t->nbranches)
            return enc_fail(path, err, "union branch %d; the union has branches 0 to %zu", v->u.branch,
                            t->nbranches - 1);
        branch = v->u.branch;
        inner = v->u.value;
    } else {
        branch = avro_branch_for(t, v);
        if (branch < 0) {
            buf_t want = BUF_INIT;
            for (size_t i = 0; i < t->nbranches; i++)
                buf_printf(&want, "%s%s", i ? ", " : "", avro_branch_name(t->branches[i]));
            enc_fail(path, err, "expected one of [%s], got %s", want.data, v ? value_kind_name(v) : "nothing");
            buf_free(&want);
            return false;
        }
    }
    avro_write_long(b, branch);
    return avro_encode(b, t->branches[branch], inner, tmp, path, depth + 1, err);
}

static bool encode_record(buf_t *b, const avro_type_t *t, const avro_value_t *v, arena_t *tmp, buf_t *path, int depth,
                          floe_err *err) {
    if (v->list.n != t->nfields || (v->type && v->type->fullname && strcmp(v->type->fullname, t->fullname)))
        return enc_fail(path, err, "expected record %s (%zu fields), got record %s with %zu fields", t->fullname,
                        t->nfields, v->type && v->type->fullname ? v->type->fullname : "(unnamed)", v->list.n);
    size_t old = path->len;
    for (size_t i = 0; i < t->nfields; i++) {
        const avro_field_t *f = &t->fields[i];
        path_field(path, old != 0, f->name);
        const avro_value_t *fv = v->list.items[i];
        bool nullable = f->type->kind == AVRO_NULL;
        for (size_t k = 0; f->type->kind == AVRO_UNION && k < f->type->nbranches; k++)
            if (f->type->branches[k]->kind == AVRO_NULL) nullable = true;
        if (!fv && !nullable && !f->default_value)
            return enc_fail(path, err, "no value, and the field is neither nullable nor has a default");
        if (!fv && f->default_value) {
            floe_err derr;
            fv = avro_value_from_json(tmp, f->type, f->default_value, true, &derr);
            if (!fv) return enc_fail(path, err, "no value, and its default does not fit: %s", derr.msg);
        }
        if (!avro_encode(b, f->type, fv, tmp, path, depth + 1, err)) return false;
        path_to(path, old);
    }
    return true;
}

bool avro_encode(buf_t *b, const avro_type_t *t, const avro_value_t *v, arena_t *tmp, buf_t *path, int depth,
                 floe_err *err) {
    if (depth > AVRO_MAX_DEPTH) return enc_fail(path, err, "values nest more than %d deep", AVRO_MAX_DEPTH);
    if (t->kind == AVRO_UNION) return encode_union(b, t, v, tmp, path, depth, err);
    if (!v) {
        if (t->kind == AVRO_NULL) return true;
        return enc_fail(path, err, "expected %s, got nothing", avro_branch_name(t));
    }
    if (v->kind != t->kind) return enc_fail(path, err, "expected %s, got %s", avro_branch_name(t), value_kind_name(v));
    switch (t->kind) {
    case AVRO_NULL: return true;
    case AVRO_BOOLEAN: buf_putc(b, v->b ? 1 : 0); return true;
    case AVRO_INT: avro_write_long(b, v->i); return true;
    case AVRO_LONG: avro_write_long(b, v->l); return true;
    case AVRO_FLOAT: {
        uint32_t bits;
        memcpy(&bits, &v->f, 4);
        write_le(b, bits, 4);
        return true;
    }
    case AVRO_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        write_le(b, bits, 8);
        return true;
    }
    case AVRO_STRING:
        if (!str_utf8_valid((const char *)v->bytes.data, v->bytes.len))
            return enc_fail(path, err, "string is not valid UTF-8; use bytes for binary data");
        /* fall through */
    case AVRO_BYTES:
        avro_write_long(b, (int64_t)v->bytes.len);
        buf_append(b, v->bytes.data, v->bytes.len);
        return true;
    case AVRO_FIXED:
        if (v->bytes.len != (size_t)t->size)
            return enc_fail(path, err, "expected %d bytes for fixed %s, got %zu", t->size, t->fullname, v->bytes.len);
        buf_append(b, v->bytes.data, v->bytes.len);
        return true;
    case AVRO_ENUM:
        if (v->i < 0 || (size_t)v->i >= t->nsymbols)
            return enc_fail(path, err, "enum index %d; %s has symbols 0 to %zu", v->i, t->fullname, t->nsymbols - 1);
        avro_write_long(b, v->i);
        return true;
    case AVRO_RECORD: return encode_record(b, t, v, tmp, path, depth, err);
    case AVRO_ARRAY: {
        size_t old = path->len;
        if (v->list.n) avro_write_long(b, (int64_t)v->list.n);
        for (size_t i = 0; i < v->list.n; i++) {
            path_index(path, i);
            if (!avro_encode(b, t->items, v->list.items[i], tmp, path, depth + 1, err)) return false;
            path_to(path, old);
        }
        avro_write_long(b, 0);
        return true;
    }
    case AVRO_MAP: {
        size_t old = path->len;
        if (v->map.n) avro_write_long(b, (int64_t)v->map.n);
        for (size_t i = 0; i < v->map.n; i++) {
            const avro_map_entry_t *e = &v->map.entries[i];
            buf_printf(path, "[\"%s\"]", e->key);
            if (!str_utf8_valid(e->key, e->key_len)) return enc_fail(path, err, "map key is not valid UTF-8");
            avro_write_long(b, (int64_t)e->key_len);
            buf_append(b, e->key, e->key_len);
            if (!avro_encode(b, t->values, v->map.entries[i].value, tmp, path, depth + 1, err)) return false;
            path_to(path, old);
        }
        avro_write_long(b, 0);
        return true;
    }
    case AVRO_UNION: break; /* handled above */
    }
    return enc_fail(path, err, "unknown type");
}
