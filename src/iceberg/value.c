/*
 * value.c: Iceberg's typed values: the order the spec defines, the
 * single-value binary form (Appendix D: bounds, partition summaries), the
 * JSON single-value form (defaults, partition values in metadata), the
 * human form (partition paths, CLI output), literals typed by a person,
 * and values read out of column vectors.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "format/text.h"
#include "iceberg/iceberg.h"
#include "iceberg/value_int.h"

/* ---- constructors ---- */

ice_value ice_value_null(fmt_type t) {
    ice_value v = {.type = t, .is_null = true};
    return v;
}

ice_value ice_value_long(fmt_type t, int64_t x) {
    ice_value v = {.type = t};
    if (t == FMT_BOOLEAN)
        v.v.b = x != 0;
    else if (t == FMT_DECIMAL)
        v.v.dec = x;
    else if (t == FMT_FLOAT || t == FMT_DOUBLE)
        v.v.f64 = (double)x;
    else
        v.v.i64 = x;
    return v;
}

ice_value ice_value_double(fmt_type t, double x) {
    ice_value v = {.type = t};
    v.v.f64 = t == FMT_FLOAT ? (double)(float)x : x;
    return v;
}

ice_value ice_value_bytes(fmt_type t, const void *p, uint32_t n) {
    ice_value v = {.type = t, .bytes = p, .len = n};
    if (t == FMT_FIXED) v.length = (int32_t)n;
    return v;
}

ice_value ice_value_str(const char *s) { return ice_value_bytes(FMT_STRING, s, (uint32_t)strlen(s)); }

void ice_value_set_type(ice_value *v, const fmt_field_t *f) {
    v->type = f->type;
    v->precision = f->precision;
    v->scale = f->scale;
    v->length = f->length;
}

fmt_field_t ice_value_field(const ice_value *v) {
    fmt_field_t f = {.type = v->type, .precision = v->precision, .scale = v->scale, .length = v->length};
    return f;
}

/* ---- order ---- */

/* Doubles as ordered integers: -NaN < -inf < ... < -0 < 0 < ... < inf < NaN. */
static int64_t double_key(double d) {
    int64_t bits;
    memcpy(&bits, &d, 8);
    return bits < 0 ? (int64_t)((uint64_t)bits ^ 0x7fffffffffffffffULL) : bits;
}

static int cmp_i128(__int128 a, __int128 b) { return a < b ? -1 : a > b; }

/* Compares decimals of different scales by raising the smaller one; a raise
 * that overflows settles the order by sign. */
static int cmp_decimal(__int128 a, int32_t sa, __int128 b, int32_t sb) {
    while (sa < sb) {
        if (__builtin_mul_overflow(a, (__int128)10, &a)) return a < 0 ? -1 : 1;
        sa++;
    }
    while (sb < sa) {
        if (__builtin_mul_overflow(b, (__int128)10, &b)) return b < 0 ? 1 : -1;
        sb++;
    }
    return cmp_i128(a, b);
}

static int cmp_bytes(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb) {
    uint32_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

int ice_value_compare(const ice_value *a, const ice_value *b) {
    if (a->is_null || b->is_null) return a->is_null == b->is_null ? 0 : a->is_null ? -1 : 1;
    fmt_type t = a->type;
    if (t == FMT_BOOLEAN) return (int)a->v.b - (int)b->v.b;
    if (t == FMT_FLOAT || t == FMT_DOUBLE) {
        int64_t x = double_key(a->v.f64), y = double_key(b->v.f64);
        return x < y ? -1 : x > y;
    }
    if (t == FMT_DECIMAL) return cmp_decimal(a->v.dec, a->scale, b->v.dec, b->scale);
    if (ice_type_is_bytes(t)) return cmp_bytes(a->bytes, a->len, b->bytes, b->len);
    return a->v.i64 < b->v.i64 ? -1 : a->v.i64 > b->v.i64;
}

bool ice_value_equal(const ice_value *a, const ice_value *b) {
    if (a->is_null || b->is_null) return a->is_null && b->is_null;
    return ice_value_compare(a, b) == 0;
}

/* ---- Appendix D: binary ---- */

static void put_le(buf_t *out, uint64_t x, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(x >> (8 * i));
    buf_append(out, b, (size_t)n);
}

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* The fewest big-endian two's-complement bytes that hold x (at least 1). */
static int decimal_min_bytes(__int128 x) {
    for (int n = 1; n < 16; n++) {
        __int128 lim = (__int128)1 << (8 * n - 1);
        if (x >= -lim && x < lim) return n;
    }
    return 16;
}

static void put_decimal_be(buf_t *out, __int128 x) {
    int n = decimal_min_bytes(x);
    uint8_t b[16];
    unsigned __int128 u = (unsigned __int128)x;
    for (int i = n - 1; i >= 0; i--, u >>= 8) b[i] = (uint8_t)u;
    buf_append(out, b, (size_t)n);
}

void ice_value_to_binary(const ice_value *v, buf_t *out) {
    if (v->is_null) return;
    switch (v->type) {
    case FMT_BOOLEAN: buf_putc(out, v->v.b ? 1 : 0); return;
    case FMT_INT:
    case FMT_DATE: put_le(out, (uint64_t)v->v.i64, 4); return;
    case FMT_FLOAT: {
        float f = (float)v->v.f64;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_le(out, u, 4);
        return;
    }
    case FMT_DOUBLE: {
        uint64_t u;
        memcpy(&u, &v->v.f64, 8);
        put_le(out, u, 8);
        return;
    }
    case FMT_DECIMAL: put_decimal_be(out, v->v.dec); return;
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_FIXED:
    case FMT_UUID: buf_append(out, v->bytes, v->len); return;
    default: put_le(out, (uint64_t)v->v.i64, 8); return; /* long, time, timestamps */
    }
}

static bool bin_len_err(const fmt_field_t *f, uint32_t n, const char *expected, floe_err *err) {
    buf_t t = BUF_INIT;
    fmt_type_format(f, &t);
    floe_err_set(err, FLOE_EINVAL, "%s value in single-value binary form must be %s, got %u bytes", t.data, expected,
                 n);
    buf_free(&t);
    return false;
}

bool ice_value_from_binary(const fmt_field_t *f, const uint8_t *p, uint32_t n, arena_t *a, ice_value *out,
                           floe_err *err) {
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, f);
    switch (f->type) {
    case FMT_BOOLEAN:
        if (n != 1) return bin_len_err(f, n, "1 byte", err);
        out->v.b = p[0] != 0;
        return true;
    case FMT_INT:
    case FMT_DATE:
        if (n != 4) return bin_len_err(f, n, "4 bytes (little-endian)", err);
        out->v.i64 = (int32_t)(uint32_t)get_le(p, 4);
        return true;
    case FMT_FLOAT: {
        if (n != 4) return bin_len_err(f, n, "4 bytes (little-endian IEEE 754)", err);
        uint32_t u = (uint32_t)get_le(p, 4);
        float x;
        memcpy(&x, &u, 4);
        out->v.f64 = x;
        return true;
    }
    case FMT_DOUBLE: {
        /* a float bound of a column later promoted to double is 4 bytes */
        if (n == 4) {
            uint32_t u = (uint32_t)get_le(p, 4);
            float x;
            memcpy(&x, &u, 4);
            out->v.f64 = x;
            return true;
        }
        if (n != 8) return bin_len_err(f, n, "8 bytes (little-endian IEEE 754)", err);
        uint64_t u = get_le(p, 8);
        memcpy(&out->v.f64, &u, 8);
        return true;
    }
    case FMT_DECIMAL: {
        if (n < 1 || n > 16) return bin_len_err(f, n, "1 to 16 bytes (big-endian two's complement)", err);
        unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
        for (uint32_t i = 0; i < n; i++) u = (u << 8) | p[i];
        out->v.dec = (__int128)u;
        return true;
    }
    case FMT_UUID:
        if (n != 16) return bin_len_err(f, n, "16 bytes", err);
        break;
    case FMT_FIXED:
        if (n != (uint32_t)f->length) {
            char exp[48];
            snprintf(exp, sizeof exp, "%d bytes", f->length);
            return bin_len_err(f, n, exp, err);
        }
        break;
    case FMT_STRING:
    case FMT_BINARY: break;
    case FMT_LONG:
        /* an int bound of a column later promoted to long is 4 bytes */
        if (n == 4) {
            out->v.i64 = (int32_t)(uint32_t)get_le(p, 4);
            return true;
        }
        /* fall through */
    case FMT_TIME:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
        if (n != 8) return bin_len_err(f, n, "8 bytes (little-endian)", err);
        out->v.i64 = (int64_t)get_le(p, 8);
        return true;
    default:
        return floe_err_set(err, FLOE_EINVAL, "type %s has no single-value binary form (only primitive types do)",
                            fmt_type_name(f->type));
    }
    uint8_t *copy = arena_alloc(a, n ? n : 1);
    if (n) memcpy(copy, p, n);
    out->bytes = copy;
    out->len = n;
    return true;
}

/* ---- values as text ---- */

int ice_shortest_digits(double d, bool is_float, char digits[24], int *exp) {
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        double back = strtod(tmp, NULL);
        if (prec == 17 || (is_float ? (float)back == (float)d : back == d)) break;
    }
    int n = 0;
    const char *p = tmp + (tmp[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    *exp = atoi(p + 1);
    return n;
}

/* The shortest decimal text that reads back as the same double (or float):
 * plain digits for everyday magnitudes, an exponent beyond. */
static void format_real(double d, bool is_float, buf_t *out) {
    if (isnan(d) || isinf(d)) {
        buf_puts(out, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char digits[24];
    int exp, n = ice_shortest_digits(d, is_float, digits, &exp);
    if (signbit(d)) buf_putc(out, '-');
    if (exp < -5 || exp >= 17) {
        buf_printf(out, "%c%s%se%+03d", digits[0], n > 1 ? "." : "", digits + 1, exp);
        return;
    }
    ice_format_plain_digits(digits, n, exp, out);
}

void ice_format_plain_digits(const char *digits, int n, int exp, buf_t *out) {
    if (exp < 0) {
        buf_puts(out, "0.");
        for (int i = -1; i > exp; i--) buf_putc(out, '0');
        buf_append(out, digits, (size_t)n);
        return;
    }
    for (int i = 0; i <= exp; i++) buf_putc(out, i < n ? digits[i] : '0');
    buf_putc(out, '.'); /* recognisably a real number, as Java prints 1.0 */
    if (n > exp + 1)
        buf_append(out, digits + exp + 1, (size_t)(n - exp - 1));
    else
        buf_putc(out, '0');
}

/* Every other type through the format layer's plain text (dates, times,
 * ISO timestamps with Z when zoned, decimals, uuids, hex); zoned is false
 * to leave the zone off. */
static void value_text(const ice_value *v, bool zoned, buf_t *out) {
    fmt_field_t f = ice_value_field(v);
    if (!zoned && f.type == FMT_TIMESTAMPTZ) f.type = FMT_TIMESTAMP;
    if (!zoned && f.type == FMT_TIMESTAMPTZ_NS) f.type = FMT_TIMESTAMP_NS;
    union {
        uint8_t b;
        int32_t i32;
        int64_t i64;
        __int128 dec;
    } u;
    const uint8_t *p = (const uint8_t *)&u;
    uint32_t n;
    switch (v->type) {
    case FMT_BOOLEAN: u.b = v->v.b, n = 1; break;
    case FMT_INT:
    case FMT_DATE: u.i32 = (int32_t)v->v.i64, n = 4; break;
    case FMT_DECIMAL: u.dec = v->v.dec, n = 16; break;
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_FIXED:
    case FMT_UUID: p = v->bytes, n = v->len; break;
    default: u.i64 = v->v.i64, n = 8; break;
    }
    fmt_value_text(out, &f, p, n);
}

/* ---- JSON single-value form ---- */

json_t *ice_value_to_json(const ice_value *v) {
    if (v->is_null) return json_null();
    buf_t t = BUF_INIT;
    json_t *j = NULL;
    switch (v->type) {
    case FMT_BOOLEAN: return json_boolean(v->v.b);
    case FMT_INT:
    case FMT_LONG: return json_integer((json_int_t)v->v.i64);
    case FMT_FLOAT:
    case FMT_DOUBLE:
        if (isfinite(v->v.f64)) {
            /* through the shortest text, so 1.1f is 1.1 and not 1.100000023841858 */
            format_real(v->v.f64, v->type == FMT_FLOAT, &t);
            j = json_real(strtod(t.data, NULL));
        } else {
            format_real(v->v.f64, false, &t);
            j = json_string(t.data);
        }
        break;
    case FMT_STRING: j = json_stringn_nocheck((const char *)v->bytes, v->len); break;
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMPTZ_NS:
        value_text(v, false, &t);
        buf_puts(&t, "+00:00");
        break;
    case FMT_DECIMAL:
    case FMT_DATE:
    case FMT_TIME:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMP_NS:
    case FMT_UUID:
    case FMT_BINARY:
    case FMT_FIXED: value_text(v, false, &t); break;
    default: j = json_null(); break;
    }
    if (!j) j = json_stringn(t.data ? t.data : "", t.len);
    buf_free(&t);
    return j;
}

static bool json_err(const fmt_field_t *f, json_t *j, const char *expected, floe_err *err) {
    buf_t t = BUF_INIT;
    fmt_type_format(f, &t);
    char *shown = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    char clip[64];
    snprintf(clip, sizeof clip, "%s", shown ? shown : "?");
    if (shown && strlen(shown) >= sizeof clip) memcpy(clip + sizeof clip - 4, "...", 4);
    floe_err_set(err, FLOE_EINVAL, "JSON value %s is not a valid %s value: expected %s", clip, t.data, expected);
    free(shown);
    buf_free(&t);
    return false;
}

/* Timestamp text with up to 9 fraction digits into microseconds or
 * nanoseconds (fmt_parse_timestamp keeps microseconds; the digits past the
 * sixth are added back here). */
static bool parse_timestamp_units(const char *s, bool nanos, int64_t *out) {
    int64_t micros;
    if (!fmt_parse_timestamp(s, &micros)) return false;
    if (!nanos) {
        *out = micros;
        return true;
    }
    int64_t extra = 0;
    if (strlen(s) > 19 && (s[10] == 'T' || s[10] == ' ') && s[19] == '.') {
        int k = 0;
        for (const char *q = s + 20; isdigit((unsigned char)*q); q++, k++)
            if (k >= 6) extra = extra * 10 + (*q - '0');
        if (k > 6)
            for (; k < 9; k++) extra *= 10;
    }
    int64_t ns;
    if (__builtin_mul_overflow(micros, (int64_t)1000, &ns) || __builtin_add_overflow(ns, extra, &ns)) return false;
    *out = ns;
    return true;
}

static bool parse_uuid(const char *z, size_t n, uint8_t u[16]) {
    static const int at[5] = {0, 9, 14, 19, 24}, len[5] = {8, 4, 4, 4, 12};
    bool ok = n == 36 && z[8] == '-' && z[13] == '-' && z[18] == '-' && z[23] == '-';
    for (int g = 0, o = 0; g < 5 && ok; o += len[g] / 2, g++) ok = str_unhex(z + at[g], (size_t)len[g], u + o);
    return ok;
}

static bool parse_real(const char *z, double *d) {
    if (!strcmp(z, "NaN"))
        *d = NAN;
    else if (!strcmp(z, "Infinity"))
        *d = INFINITY;
    else if (!strcmp(z, "-Infinity"))
        *d = -INFINITY;
    else {
        char *end;
        if (!*z || isspace((unsigned char)*z)) return false;
        *d = strtod(z, &end);
        if (*end) return false;
    }
    return true;
}

/* Text forms shared by the JSON and human parsers. Sets *expected to the
 * form wanted when the text does not parse. */
static bool parse_text(const fmt_field_t *f, const char *z, size_t n, arena_t *a, ice_value *out,
                       const char **expected) {
    switch (f->type) {
    case FMT_BOOLEAN:
        *expected = "true or false";
        if (str_eq_nocase(z, "true"))
            out->v.b = true;
        else if (str_eq_nocase(z, "false"))
            out->v.b = false;
        else
            return false;
        return true;
    case FMT_INT:
        *expected = "an int (-2147483648..2147483647)";
        return str_to_i64_range(z, INT32_MIN, INT32_MAX, &out->v.i64);
    case FMT_LONG:
        *expected = "a long (a 64-bit integer)";
        return str_to_i64_range(z, INT64_MIN, INT64_MAX, &out->v.i64);
    case FMT_FLOAT:
    case FMT_DOUBLE:
        *expected = "a number (or NaN, Infinity, -Infinity)";
        if (!parse_real(z, &out->v.f64)) return false;
        if (f->type == FMT_FLOAT) out->v.f64 = (double)(float)out->v.f64;
        return true;
    case FMT_DECIMAL:
        *expected = "a decimal with at most the type's digits and scale, such as 14.20";
        return fmt_parse_decimal(z, f->precision, f->scale, &out->v.dec);
    case FMT_DATE: {
        *expected = "a date YYYY-MM-DD";
        int32_t d;
        if (!fmt_parse_date(z, &d)) return false;
        out->v.i64 = d;
        return true;
    }
    case FMT_TIME: *expected = "a time HH:MM:SS[.ffffff]"; return fmt_parse_time(z, &out->v.i64);
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
        *expected = ice_type_is_nanos(f->type) ? "a timestamp YYYY-MM-DDTHH:MM:SS[.fffffffff][Z|+HH:MM]"
                                               : "a timestamp YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]";
        return parse_timestamp_units(z, ice_type_is_nanos(f->type), &out->v.i64);
    case FMT_STRING: {
        *expected = "valid UTF-8 text";
        if (!str_utf8_valid(z, n)) return false;
        char *copy = arena_strndup(a, z, n);
        out->bytes = (const uint8_t *)copy;
        out->len = (uint32_t)n;
        return true;
    }
    case FMT_UUID: {
        *expected = "a UUID (8-4-4-4-12 hex digits)";
        uint8_t *u = arena_alloc(a, 16);
        if (!parse_uuid(z, n, u)) return false;
        out->bytes = u;
        out->len = 16;
        return true;
    }
    case FMT_BINARY:
    case FMT_FIXED: {
        *expected = f->type == FMT_FIXED ? "hex digits, two per byte of the fixed length" : "hex digits, two per byte";
        if (n % 2) return false;
        if (f->type == FMT_FIXED && n / 2 != (size_t)f->length) return false;
        uint8_t *b = arena_alloc(a, n / 2 + 1);
        if (!str_unhex(z, n, b)) return false;
        out->bytes = b;
        out->len = (uint32_t)(n / 2);
        return true;
    }
    default: *expected = "a primitive value"; return false;
    }
}

bool ice_value_from_json(const fmt_field_t *f, json_t *j, arena_t *a, ice_value *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, f);
    if (!j || json_is_null(j)) {
        out->is_null = true;
        return true;
    }
    switch (f->type) {
    case FMT_BOOLEAN:
        if (!json_is_boolean(j)) return json_err(f, j, "true or false", err);
        out->v.b = json_is_true(j);
        return true;
    case FMT_INT:
    case FMT_LONG: {
        if (!json_is_integer(j)) return json_err(f, j, "a JSON integer", err);
        json_int_t x = json_integer_value(j);
        if (f->type == FMT_INT && (x < INT32_MIN || x > INT32_MAX))
            return json_err(f, j, "an integer in -2147483648..2147483647", err);
        out->v.i64 = (int64_t)x;
        return true;
    }
    case FMT_FLOAT:
    case FMT_DOUBLE:
        if (json_is_number(j)) {
            out->v.f64 = json_number_value(j);
        } else if (!json_is_string(j) || !parse_real(json_string_value(j), &out->v.f64) || isfinite(out->v.f64)) {
            return json_err(f, j, "a JSON number (or \"NaN\", \"Infinity\", \"-Infinity\")", err);
        }
        if (f->type == FMT_FLOAT) out->v.f64 = (double)(float)out->v.f64;
        return true;
    default: break;
    }
    if (!json_is_string(j)) return json_err(f, j, "a JSON string", err);
    const char *expected = "";
    if (!parse_text(f, json_string_value(j), json_string_length(j), a, out, &expected))
        return json_err(f, j, expected, err);
    return true;
}

/* ---- human form ---- */

void ice_value_format(const ice_value *v, buf_t *out) {
    if (v->is_null)
        buf_puts(out, "null");
    else if (v->type == FMT_FLOAT || v->type == FMT_DOUBLE)
        format_real(v->v.f64, v->type == FMT_FLOAT, out);
    else if (fmt_type_is_primitive(v->type))
        value_text(v, true, out);
    else
        buf_puts(out, "?");
}

bool ice_value_parse(const fmt_field_t *f, const char *text, size_t n, arena_t *a, ice_value *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, f);
    char *z = arena_strndup(a, text, n);
    if (strlen(z) != n && f->type != FMT_BINARY && f->type != FMT_FIXED)
        return floe_err_set(err, FLOE_EINVAL, "literal holds a NUL byte; write it without one");
    const char *expected = "";
    bool ok;
    if (ice_type_is_timestamp(f->type) && n == 10) {
        /* a bare date is midnight (UTC for timestamptz) */
        int32_t d;
        int64_t per = ICE_MICROS_PER_DAY * (ice_type_is_nanos(f->type) ? 1000 : 1);
        ok = fmt_parse_date(z, &d) && !__builtin_mul_overflow((int64_t)d, per, &out->v.i64);
        expected = "a date or timestamp";
    } else {
        ok = parse_text(f, z, n, a, out, &expected);
    }
    if (ok) return true;
    buf_t t = BUF_INIT;
    fmt_type_format(f, &t);
    char clip[64];
    snprintf(clip, sizeof clip, "%s", z);
    if (n >= sizeof clip) memcpy(clip + sizeof clip - 4, "...", 4);
    floe_err_set(err, FLOE_EINVAL, "'%s' is not a valid %s: expected %s", clip, t.data, expected);
    buf_free(&t);
    return false;
}

/* ---- from column vectors ---- */

void ice_value_from_vec(const fmt_vec_t *col, uint32_t i, ice_value *out) {
    const fmt_field_t *f = col->field;
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, f);
    if (!fmt_vec_valid(col, i)) {
        out->is_null = true;
        return;
    }
    switch (f->type) {
    case FMT_BOOLEAN: out->v.b = fmt_vec_i64(col, i) != 0; return;
    case FMT_FLOAT:
    case FMT_DOUBLE: out->v.f64 = fmt_vec_f64(col, i); return;
    case FMT_DECIMAL: {
        if (fmt_type_width(f) < 16) {
            out->v.dec = fmt_vec_i64(col, i);
            return;
        }
        const fmt_vec_t *v = col;
        uint32_t k = i;
        if (v->dict) {
            k = ((const uint32_t *)v->values)[i];
            v = v->dict;
        }
        memcpy(&out->v.dec, (const uint8_t *)v->values + (size_t)k * 16, 16);
        return;
    }
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_FIXED:
    case FMT_UUID: out->bytes = fmt_vec_bytes(col, i, &out->len); return;
    default: out->v.i64 = fmt_vec_i64(col, i); return;
    }
}
