/*
 * thrift.c: the Thrift compact protocol (reader and writer). See thrift.h.
 *
 * Compact encoding in brief: integers are ULEB128 varints of their zigzag
 * form; a field header is one byte (delta << 4 | type) when the id is 1..15
 * above the previous one, else the type byte followed by the zigzag id; a
 * bool field carries its value in the type nibble; a list header is one byte
 * (size << 4 | elem type) for sizes below 15, else 0xF0 | type and a varint.
 */
#include "format/thrift.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void thrift_reader_init(thrift_reader *r, const void *p, size_t n, size_t base, const char *what, floe_err *err) {
    memset(r, 0, sizeof *r);
    r->start = r->p = p;
    r->end = r->p + n;
    r->base = base;
    r->what = what;
    r->err = err;
}

size_t thrift_reader_pos(const thrift_reader *r) { return (size_t)(r->p - r->start); }

bool thrift_fail(thrift_reader *r, const char *fmt, ...) {
    if (r->failed) return false;
    r->failed = true;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return floe_err_set(r->err, FLOE_EINVAL, "%s at byte %zu: %s", r->what ? r->what : "thrift",
                        r->base + thrift_reader_pos(r), msg);
}

static bool varint(thrift_reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return thrift_fail(r, "expected more bytes of a varint; the data is truncated");
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) return thrift_fail(r, "expected a varint of at most 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return thrift_fail(r, "expected a varint of at most 10 bytes");
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

bool thrift_struct_begin(thrift_reader *r) {
    if (r->failed) return false;
    if (r->depth + 1 >= THRIFT_MAX_DEPTH) return thrift_fail(r, "expected structs nested at most 64 deep");
    r->last_id[++r->depth] = 0;
    return true;
}

void thrift_struct_end(thrift_reader *r) {
    if (r->depth > 0) r->depth--;
}

bool thrift_field_next(thrift_reader *r, int16_t *id, uint8_t *type) {
    if (r->failed) return false;
    if (r->p >= r->end) return thrift_fail(r, "expected a field header or STOP; the data is truncated");
    uint8_t b = *r->p++;
    if (b == 0) return false;
    uint8_t t = b & 0x0f;
    uint8_t delta = b >> 4;
    int32_t fid;
    if (delta) {
        fid = r->last_id[r->depth] + delta;
    } else {
        uint64_t z;
        if (!varint(r, &z)) return false;
        fid = (int32_t)unzigzag(z);
    }
    if (t == 0 || t > THRIFT_UUID) return thrift_fail(r, "expected a field type 1..13, found %u", t);
    if (fid < -32768 || fid > 32767) return thrift_fail(r, "expected a 16-bit field id, found %d", fid);
    r->last_id[r->depth] = (int16_t)fid;
    *id = (int16_t)fid;
    *type = t;
    return true;
}

bool thrift_read_bool(thrift_reader *r, uint8_t type, bool *out) {
    if (r->failed) return false;
    if (type != THRIFT_TRUE && type != THRIFT_FALSE)
        return thrift_fail(r, "expected a bool field, found type %u", type);
    *out = type == THRIFT_TRUE;
    return true;
}

bool thrift_read_list_bool(thrift_reader *r, bool *out) {
    int8_t b = 0;
    if (!thrift_read_byte(r, &b)) return false;
    *out = b == THRIFT_TRUE; /* TCompactProtocol writes 1 for true, 2 for false */
    return true;
}

bool thrift_read_byte(thrift_reader *r, int8_t *out) {
    if (r->failed) return false;
    if (r->p >= r->end) return thrift_fail(r, "expected a byte; the data is truncated");
    *out = (int8_t)*r->p++;
    return true;
}

bool thrift_read_i64(thrift_reader *r, int64_t *out) {
    uint64_t z;
    if (r->failed || !varint(r, &z)) return false;
    *out = unzigzag(z);
    return true;
}

bool thrift_read_i32(thrift_reader *r, int32_t *out) {
    int64_t v;
    if (!thrift_read_i64(r, &v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) return thrift_fail(r, "expected a 32-bit integer, found %lld", (long long)v);
    *out = (int32_t)v;
    return true;
}

bool thrift_read_i16(thrift_reader *r, int16_t *out) {
    int64_t v;
    if (!thrift_read_i64(r, &v)) return false;
    if (v < INT16_MIN || v > INT16_MAX) return thrift_fail(r, "expected a 16-bit integer, found %lld", (long long)v);
    *out = (int16_t)v;
    return true;
}

bool thrift_read_int(thrift_reader *r, uint8_t type, int64_t *out) {
    if (type == THRIFT_BYTE) {
        int8_t b = 0;
        if (!thrift_read_byte(r, &b)) return false;
        *out = b;
        return true;
    }
    if (type == THRIFT_I16 || type == THRIFT_I32 || type == THRIFT_I64) return thrift_read_i64(r, out);
    return thrift_fail(r, "expected an integer field, found type %u", type);
}

bool thrift_read_double(thrift_reader *r, double *out) {
    if (r->failed) return false;
    if (r->end - r->p < 8) return thrift_fail(r, "expected an 8-byte double; the data is truncated");
    memcpy(out, r->p, 8); /* little-endian in the compact protocol */
    r->p += 8;
    return true;
}

bool thrift_read_binary(thrift_reader *r, const uint8_t **p, uint32_t *n) {
    uint64_t len;
    if (r->failed || !varint(r, &len)) return false;
    if (len > (uint64_t)(r->end - r->p))
        return thrift_fail(r, "binary of %llu bytes runs past the end (%zu bytes left)", (unsigned long long)len,
                           (size_t)(r->end - r->p));
    *p = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return true;
}

bool thrift_read_list(thrift_reader *r, uint8_t *elem_type, uint32_t *n) {
    if (r->failed) return false;
    if (r->p >= r->end) return thrift_fail(r, "expected a list header; the data is truncated");
    uint8_t b = *r->p++;
    uint64_t size = b >> 4;
    if (size == 15 && !varint(r, &size)) return false;
    uint8_t t = b & 0x0f;
    if (t == 0 || t > THRIFT_UUID) return thrift_fail(r, "expected a list element type 1..13, found %u", t);
    /* Every element takes at least one byte, except bools packed... which
     * also take a byte each as list elements. */
    if (size > (uint64_t)(r->end - r->p))
        return thrift_fail(r, "list of %llu elements cannot fit in the %zu bytes left", (unsigned long long)size,
                           (size_t)(r->end - r->p));
    *elem_type = t;
    *n = (uint32_t)size;
    return true;
}

bool thrift_skip(thrift_reader *r, uint8_t type) {
    if (r->failed) return false;
    switch (type) {
    case THRIFT_TRUE:
    case THRIFT_FALSE: return true; /* value lives in the header */
    case THRIFT_BYTE: {
        int8_t b = 0;
        return thrift_read_byte(r, &b);
    }
    case THRIFT_I16:
    case THRIFT_I32:
    case THRIFT_I64: {
        uint64_t v;
        return varint(r, &v);
    }
    case THRIFT_DOUBLE: {
        double d;
        return thrift_read_double(r, &d);
    }
    case THRIFT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        return thrift_read_binary(r, &p, &n);
    }
    case THRIFT_UUID:
        if (r->end - r->p < 16) return thrift_fail(r, "expected a 16-byte uuid; the data is truncated");
        r->p += 16;
        return true;
    case THRIFT_LIST:
    case THRIFT_SET: {
        uint8_t et;
        uint32_t n;
        if (!thrift_read_list(r, &et, &n)) return false;
        if (r->depth + 1 >= THRIFT_MAX_DEPTH) return thrift_fail(r, "expected values nested at most 64 deep");
        r->depth++;
        r->last_id[r->depth] = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (et == THRIFT_TRUE || et == THRIFT_FALSE) {
                int8_t b = 0;
                if (!thrift_read_byte(r, &b)) break;
            } else if (!thrift_skip(r, et)) {
                break;
            }
        }
        r->depth--;
        return !r->failed;
    }
    case THRIFT_MAP: {
        uint64_t n;
        if (!varint(r, &n)) return false;
        if (n == 0) return true;
        if (r->p >= r->end) return thrift_fail(r, "expected map key and value types; the data is truncated");
        uint8_t kv = *r->p++;
        if (n > (uint64_t)(r->end - r->p))
            return thrift_fail(r, "map of %llu entries cannot fit in the bytes left", (unsigned long long)n);
        if (r->depth + 1 >= THRIFT_MAX_DEPTH) return thrift_fail(r, "expected values nested at most 64 deep");
        r->depth++;
        for (uint64_t i = 0; i < n && !r->failed; i++) {
            uint8_t kt = kv >> 4, vt = kv & 0x0f;
            int8_t b = 0;
            if (kt == THRIFT_TRUE || kt == THRIFT_FALSE ? !thrift_read_byte(r, &b) : !thrift_skip(r, kt)) break;
            if (vt == THRIFT_TRUE || vt == THRIFT_FALSE ? !thrift_read_byte(r, &b) : !thrift_skip(r, vt)) break;
        }
        r->depth--;
        return !r->failed;
    }
    case THRIFT_STRUCT: {
        if (!thrift_struct_begin(r)) return false;
        int16_t id;
        uint8_t t;
        while (thrift_field_next(r, &id, &t))
            if (!thrift_skip(r, t)) break;
        thrift_struct_end(r);
        return !r->failed;
    }
    default: return thrift_fail(r, "expected a known value type, found %u", type);
    }
}

/* ---- writer ---- */

void thrift_writer_init(thrift_writer *w, buf_t *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
}

void thrift_write_varint(thrift_writer *w, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    buf_append(w->out, tmp, (size_t)n);
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void thrift_write_byte(thrift_writer *w, uint8_t v) { buf_append(w->out, &v, 1); }

void thrift_write_struct_begin(thrift_writer *w) {
    if (w->depth + 1 >= THRIFT_MAX_DEPTH) abort();
    w->last_id[++w->depth] = 0;
}

void thrift_write_struct_end(thrift_writer *w) {
    thrift_write_byte(w, 0);
    w->depth--;
}

void thrift_write_field(thrift_writer *w, int16_t id, uint8_t type) {
    int delta = id - w->last_id[w->depth];
    if (delta > 0 && delta <= 15) {
        thrift_write_byte(w, (uint8_t)(delta << 4 | type));
    } else {
        thrift_write_byte(w, type);
        thrift_write_varint(w, zigzag(id));
    }
    w->last_id[w->depth] = id;
}

void thrift_write_bool_field(thrift_writer *w, int16_t id, bool v) {
    thrift_write_field(w, id, v ? THRIFT_TRUE : THRIFT_FALSE);
}

void thrift_write_list_bool(thrift_writer *w, bool v) { thrift_write_byte(w, v ? THRIFT_TRUE : THRIFT_FALSE); }

void thrift_write_i32(thrift_writer *w, int32_t v) { thrift_write_varint(w, zigzag(v)); }
void thrift_write_i64(thrift_writer *w, int64_t v) { thrift_write_varint(w, zigzag(v)); }

void thrift_write_binary(thrift_writer *w, const void *p, size_t n) {
    thrift_write_varint(w, n);
    buf_append(w->out, p, n);
}

void thrift_write_i32_field(thrift_writer *w, int16_t id, int32_t v) {
    thrift_write_field(w, id, THRIFT_I32);
    thrift_write_i32(w, v);
}

void thrift_write_i64_field(thrift_writer *w, int16_t id, int64_t v) {
    thrift_write_field(w, id, THRIFT_I64);
    thrift_write_i64(w, v);
}

void thrift_write_binary_field(thrift_writer *w, int16_t id, const void *p, size_t n) {
    thrift_write_field(w, id, THRIFT_BINARY);
    thrift_write_binary(w, p, n);
}

void thrift_write_string_field(thrift_writer *w, int16_t id, const char *s) {
    thrift_write_binary_field(w, id, s, strlen(s));
}

void thrift_write_empty_struct_field(thrift_writer *w, int16_t id) {
    thrift_write_field(w, id, THRIFT_STRUCT);
    thrift_write_struct_begin(w);
    thrift_write_struct_end(w);
}

void thrift_write_list_begin(thrift_writer *w, uint8_t elem_type, uint32_t n) {
    if (n < 15) {
        thrift_write_byte(w, (uint8_t)(n << 4 | elem_type));
    } else {
        thrift_write_byte(w, (uint8_t)(0xf0 | elem_type));
        thrift_write_varint(w, n);
    }
}
