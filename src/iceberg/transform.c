/*
 * transform.c: Iceberg's partition transforms: identity, bucket[N],
 * truncate[W], year, month, day, hour and void. Their names, the types they
 * apply to and produce, one value at a time, and whole columns at a time
 * for the int-valued results an append partitions rows by (the hot path:
 * day(ts) over millions of rows is a floor division per row).
 *
 * Semantics follow the spec and, where it is silent, the Java reference:
 * time transforms floor (so 1969-12-31T23:59:59 is day -1, month -1, year
 * -1); day produces a date; strings truncate by code points; the bucket
 * hash is murmur3_x86_32 of the value as Appendix B lays it out.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hash.h"
#include "iceberg/iceberg.h"
#include "iceberg/value_int.h"

/* ---- names ---- */

static const struct {
    const char *name;
    ice_transform_kind kind;
} simple_names[] = {
    {"identity", ICE_TR_IDENTITY}, {"year", ICE_TR_YEAR}, {"month", ICE_TR_MONTH},
    {"day", ICE_TR_DAY},           {"hour", ICE_TR_HOUR}, {"void", ICE_TR_VOID},
};

/* "name[N]" with N a positive int: returns true and sets *param when s
 * has that form for the name. */
static bool parse_param(const char *s, const char *name, int32_t *param) {
    size_t n = strlen(name);
    if (strncasecmp(s, name, n) != 0 || s[n] != '[') return false;
    const char *p = s + n + 1;
    int64_t v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        if (v <= INT32_MAX) v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (!digits || *p != ']' || p[1]) return false;
    *param = v > INT32_MAX ? -1 : (int32_t)v;
    return true;
}

bool ice_transform_parse(const char *s, ice_transform *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    out->text = s;
    for (size_t i = 0; i < sizeof simple_names / sizeof *simple_names; i++) {
        if (strcasecmp(s, simple_names[i].name) == 0) {
            out->kind = simple_names[i].kind;
            return true;
        }
    }
    int32_t param;
    bool bucket = parse_param(s, "bucket", &param);
    if (bucket || parse_param(s, "truncate", &param)) {
        if (param <= 0)
            return floe_err_set(err, FLOE_EINVAL, "transform '%s': the %s must be 1..2147483647", s,
                                bucket ? "number of buckets" : "width");
        out->kind = bucket ? ICE_TR_BUCKET : ICE_TR_TRUNCATE;
        out->param = param;
        return true;
    }
    /* A transform this version does not know: kept, never applied, as the
     * spec asks of readers. */
    out->kind = ICE_TR_UNKNOWN;
    return true;
}

void ice_transform_format(const ice_transform *t, buf_t *out) {
    switch (t->kind) {
    case ICE_TR_IDENTITY: buf_puts(out, "identity"); return;
    case ICE_TR_BUCKET: buf_printf(out, "bucket[%d]", t->param); return;
    case ICE_TR_TRUNCATE: buf_printf(out, "truncate[%d]", t->param); return;
    case ICE_TR_YEAR: buf_puts(out, "year"); return;
    case ICE_TR_MONTH: buf_puts(out, "month"); return;
    case ICE_TR_DAY: buf_puts(out, "day"); return;
    case ICE_TR_HOUR: buf_puts(out, "hour"); return;
    case ICE_TR_VOID: buf_puts(out, "void"); return;
    default: buf_puts(out, t->text ? t->text : "unknown"); return;
    }
}

/* ---- result types ---- */

static bool applies_to(const ice_transform *t, fmt_type s) {
    switch (t->kind) {
    case ICE_TR_IDENTITY: return fmt_type_is_primitive(s);
    case ICE_TR_BUCKET:
        return s == FMT_INT || s == FMT_LONG || s == FMT_DECIMAL || s == FMT_DATE || s == FMT_TIME ||
               ice_type_is_timestamp(s) || ice_type_is_bytes(s);
    case ICE_TR_TRUNCATE:
        return s == FMT_INT || s == FMT_LONG || s == FMT_DECIMAL || s == FMT_STRING || s == FMT_BINARY;
    case ICE_TR_YEAR:
    case ICE_TR_MONTH:
    case ICE_TR_DAY: return s == FMT_DATE || ice_type_is_timestamp(s);
    case ICE_TR_HOUR: return ice_type_is_timestamp(s);
    default: return true; /* void and unknown take anything */
    }
}

static const char *applies_list(ice_transform_kind k) {
    switch (k) {
    case ICE_TR_IDENTITY: return "primitive types (not struct, list or map)";
    case ICE_TR_BUCKET:
        return "int, long, decimal, date, time, timestamp, timestamptz, timestamp_ns, timestamptz_ns, string, uuid, "
               "fixed and binary";
    case ICE_TR_TRUNCATE: return "int, long, decimal, string and binary";
    case ICE_TR_HOUR: return "timestamp, timestamptz, timestamp_ns and timestamptz_ns";
    default: return "date, timestamp, timestamptz, timestamp_ns and timestamptz_ns";
    }
}

bool ice_transform_result_type(const ice_transform *t, const fmt_field_t *source, fmt_field_t *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!applies_to(t, source->type)) {
        buf_t tn = BUF_INIT, ty = BUF_INIT;
        ice_transform_format(t, &tn);
        fmt_type_format(source, &ty);
        floe_err_set(err, FLOE_EINVAL, "transform %s does not apply to type %s: it applies to %s", tn.data, ty.data,
                     applies_list(t->kind));
        buf_free(&tn);
        buf_free(&ty);
        return false;
    }
    switch (t->kind) {
    case ICE_TR_BUCKET:
    case ICE_TR_YEAR:
    case ICE_TR_MONTH:
    case ICE_TR_HOUR: out->type = FMT_INT; break;
    case ICE_TR_DAY: out->type = FMT_DATE; break; /* as Java and PyIceberg type it */
    case ICE_TR_UNKNOWN: out->type = FMT_STRING; break;
    default: /* identity, truncate and void keep the source type */
        out->type = source->type;
        out->precision = source->precision;
        out->scale = source->scale;
        out->length = source->length;
        break;
    }
    return true;
}

bool ice_transform_preserves_order(const ice_transform *t) {
    switch (t->kind) {
    case ICE_TR_IDENTITY:
    case ICE_TR_TRUNCATE:
    case ICE_TR_YEAR:
    case ICE_TR_MONTH:
    case ICE_TR_DAY:
    case ICE_TR_HOUR: return true;
    default: return false;
    }
}

/* ---- bucket hash (Appendix B) ---- */

uint32_t ice_murmur3_32(const void *p, size_t n) { return hash_murmur3_32(p, n, 0); }

static uint32_t hash_double(double d) {
    uint64_t bits;
    if (d != d)
        bits = 0x7ff8000000000000ULL; /* every NaN alike */
    else {
        if (d == 0) d = 0.0; /* -0 hashes as 0 */
        memcpy(&bits, &d, 8);
    }
    return hash_murmur3_32_u64(bits, 0);
}

static uint32_t hash_decimal(__int128 x) {
    buf_t b = BUF_INIT;
    ice_value v = {.type = FMT_DECIMAL};
    v.v.dec = x;
    ice_value_to_binary(&v, &b); /* the minimal big-endian two's complement */
    uint32_t h = hash_murmur3_32(b.data, b.len, 0);
    buf_free(&b);
    return h;
}

uint32_t ice_bucket_hash(const ice_value *v) {
    switch (v->type) {
    case FMT_BOOLEAN: return hash_murmur3_32_u64(v->v.b ? 1 : 0, 0);
    case FMT_FLOAT:
    case FMT_DOUBLE: return hash_double(v->v.f64);
    case FMT_DECIMAL: return hash_decimal(v->v.dec);
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_FIXED:
    case FMT_UUID: return hash_murmur3_32(v->bytes, v->len, 0);
    default: /* int, long, date, time, timestamps: as a long; nanoseconds as microseconds */
        return hash_murmur3_32_u64((uint64_t)ice_ts_micros(v->type, v->v.i64), 0);
    }
}

static inline int32_t bucket_of(uint32_t h, int32_t n) { return (int32_t)((h & 0x7fffffffu) % (uint32_t)n); }

/* ---- time transforms ---- */

static int64_t ts_per_day(fmt_type t) { return ice_type_is_nanos(t) ? ICE_MICROS_PER_DAY * 1000 : ICE_MICROS_PER_DAY; }

static int32_t months_of_days(int64_t days) {
    int64_t y;
    unsigned m, d;
    fmt_civil_from_days(days, &y, &m, &d);
    return (int32_t)((y - 1970) * 12 + (int64_t)m - 1);
}

static int32_t years_of_days(int64_t days) {
    int64_t y;
    unsigned m, d;
    fmt_civil_from_days(days, &y, &m, &d);
    return (int32_t)(y - 1970);
}

/* year/month/day/hour ordinal of a date (days) or timestamp value. */
static int32_t time_ordinal(ice_transform_kind k, fmt_type t, int64_t x) {
    if (k == ICE_TR_HOUR)
        return (int32_t)ice_floor_div(x, ice_type_is_nanos(t) ? ICE_MICROS_PER_HOUR * 1000 : ICE_MICROS_PER_HOUR);
    int64_t days = t == FMT_DATE ? x : ice_floor_div(x, ts_per_day(t));
    if (k == ICE_TR_DAY) return (int32_t)days;
    return k == ICE_TR_MONTH ? months_of_days(days) : years_of_days(days);
}

/* ---- truncate ---- */

/* Bytes of the first w code points of UTF-8 text. */
static uint32_t utf8_prefix(const uint8_t *p, uint32_t n, int32_t w) {
    uint32_t i = 0;
    for (int32_t cp = 0; i < n && cp < w; cp++) {
        i++;
        while (i < n && (p[i] & 0xc0) == 0x80) i++;
    }
    return i;
}

static int64_t truncate_long(int64_t v, int64_t w) {
    /* v - floor_mod(v, w), wrapping like Java at the ends of the range */
    return (int64_t)((uint64_t)v - (uint64_t)ice_floor_mod(v, w));
}

static void apply_truncate(int32_t w, const ice_value *in, ice_value *out) {
    switch (in->type) {
    case FMT_INT: out->v.i64 = (int32_t)(uint32_t)truncate_long(in->v.i64, w); return;
    case FMT_LONG: out->v.i64 = truncate_long(in->v.i64, w); return;
    case FMT_DECIMAL: {
        __int128 m = in->v.dec % w;
        if (m < 0) m += w;
        out->v.dec = in->v.dec - m;
        return;
    }
    case FMT_STRING: out->len = utf8_prefix(in->bytes, in->len, w); return;
    case FMT_BINARY: out->len = in->len < (uint32_t)w ? in->len : (uint32_t)w; return;
    default: return;
    }
}

/* ---- one value ---- */

void ice_transform_apply(const ice_transform *t, const ice_value *in, ice_value *out) {
    fmt_field_t src = ice_value_field(in), rt;
    if (!ice_transform_result_type(t, &src, &rt, NULL)) rt = src;
    if (in->is_null || t->kind == ICE_TR_VOID || t->kind == ICE_TR_UNKNOWN || !applies_to(t, in->type)) {
        *out = ice_value_null(rt.type);
        ice_value_set_type(out, &rt);
        return;
    }
    *out = *in;
    ice_value_set_type(out, &rt);
    switch (t->kind) {
    case ICE_TR_BUCKET: out->v.i64 = bucket_of(ice_bucket_hash(in), t->param); break;
    case ICE_TR_TRUNCATE: apply_truncate(t->param, in, out); break;
    case ICE_TR_YEAR:
    case ICE_TR_MONTH:
    case ICE_TR_DAY:
    case ICE_TR_HOUR: out->v.i64 = time_ordinal(t->kind, in->type, in->v.i64); break;
    default: break; /* identity */
    }
    if (!ice_type_is_bytes(out->type)) {
        out->bytes = NULL;
        out->len = 0;
    }
}

/* ---- whole columns ---- */

static void nulls_of(const fmt_vec_t *col, uint8_t *nulls) {
    uint32_t n = col->len;
    if (!col->validity || col->null_count == 0) {
        memset(nulls, 0, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) nulls[i] = !fmt_vec_valid(col, i);
}

/* The int64 payload of a plain (not dictionary) int-like column. */
static void ints_of(const fmt_vec_t *col, int64_t *tmp, uint32_t from, uint32_t n) {
    if (fmt_type_width(col->field) == 4) {
        const int32_t *v = (const int32_t *)col->values + from;
        for (uint32_t i = 0; i < n; i++) tmp[i] = v[i];
    } else {
        memcpy(tmp, (const int64_t *)col->values + from, (size_t)n * 8);
    }
}

/* Floor division by a unit; inlined at each call with the unit as a
 * constant, so the compiler divides by multiplying. */
static inline __attribute__((always_inline)) void floor_div_rows(const int64_t *x, uint32_t n, int64_t per,
                                                                 int32_t *out) {
    for (uint32_t i = 0; i < n; i++) {
        int64_t q = x[i] / per;
        out[i] = (int32_t)(q - (x[i] % per < 0));
    }
}

static void divide_rows(const int64_t *x, uint32_t n, int64_t per, int32_t *out) {
    switch (per) {
    case 1:
        for (uint32_t i = 0; i < n; i++) out[i] = (int32_t)x[i];
        return;
    case ICE_MICROS_PER_DAY: floor_div_rows(x, n, ICE_MICROS_PER_DAY, out); return;
    case ICE_MICROS_PER_DAY * 1000: floor_div_rows(x, n, ICE_MICROS_PER_DAY * 1000, out); return;
    case ICE_MICROS_PER_HOUR: floor_div_rows(x, n, ICE_MICROS_PER_HOUR, out); return;
    case ICE_MICROS_PER_HOUR * 1000: floor_div_rows(x, n, ICE_MICROS_PER_HOUR * 1000, out); return;
    default: floor_div_rows(x, n, per, out); return;
    }
}

/* Day-based transforms remember the last day: rows arrive clustered in
 * time, so the civil-calendar step runs once per distinct day. */
static void time_column(ice_transform_kind k, fmt_type t, const int64_t *x, uint32_t n, int32_t *out) {
    if (k == ICE_TR_HOUR) {
        divide_rows(x, n, ice_type_is_nanos(t) ? ICE_MICROS_PER_HOUR * 1000 : ICE_MICROS_PER_HOUR, out);
        return;
    }
    divide_rows(x, n, t == FMT_DATE ? 1 : ts_per_day(t), out); /* days */
    if (k == ICE_TR_DAY) return;
    int64_t last_day = INT64_MIN;
    int32_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t d = out[i];
        if (d != last_day) {
            last_day = d;
            last = k == ICE_TR_MONTH ? months_of_days(d) : years_of_days(d);
        }
        out[i] = last;
    }
}

static void bucket_ints(fmt_type t, const int64_t *x, uint32_t n, int32_t nb, int32_t *out) {
    bool nanos = ice_type_is_nanos(t);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = nanos ? ice_floor_div(x[i], 1000) : x[i];
        out[i] = bucket_of(hash_murmur3_32_u64((uint64_t)v, 0), nb);
    }
}

/* Bucket of string or binary rows; a dictionary column hashes each
 * dictionary entry once. */
static void bucket_bytes(const fmt_vec_t *col, int32_t nb, int32_t *out) {
    if (col->dict) {
        const fmt_vec_t *d = col->dict;
        int32_t *db = malloc((d->len ? d->len : 1) * sizeof *db);
        if (!db) abort();
        bucket_bytes(d, nb, db);
        const uint32_t *idx = col->values;
        for (uint32_t i = 0; i < col->len; i++) out[i] = fmt_vec_valid(col, i) ? db[idx[i]] : 0;
        free(db);
        return;
    }
    for (uint32_t i = 0; i < col->len; i++) {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(col, i, &n);
        out[i] = bucket_of(hash_murmur3_32(p, n, 0), nb);
    }
}

static bool int_like(fmt_type t) {
    return t == FMT_INT || t == FMT_LONG || t == FMT_DATE || t == FMT_TIME || ice_type_is_timestamp(t);
}

bool ice_transform_apply_i32(const ice_transform *t, const fmt_vec_t *col, int32_t *out, uint8_t *nulls) {
    fmt_type ty = col->field->type;
    bool ok;
    switch (t->kind) {
    case ICE_TR_BUCKET: ok = int_like(ty) || ty == FMT_STRING || ty == FMT_BINARY; break;
    case ICE_TR_IDENTITY:
    case ICE_TR_TRUNCATE: ok = ty == FMT_INT || (t->kind == ICE_TR_IDENTITY && ty == FMT_DATE); break;
    case ICE_TR_YEAR:
    case ICE_TR_MONTH:
    case ICE_TR_DAY: ok = ty == FMT_DATE || ice_type_is_timestamp(ty); break;
    case ICE_TR_HOUR: ok = ice_type_is_timestamp(ty); break;
    default: ok = false; break;
    }
    if (!ok || (col->dict && ty != FMT_STRING && ty != FMT_BINARY)) return false;

    uint32_t n = col->len;
    nulls_of(col, nulls);
    if (ty == FMT_STRING || ty == FMT_BINARY) {
        bucket_bytes(col, t->param, out);
    } else {
        /* in chunks through a small buffer of int64 values */
        int64_t tmp[1024];
        for (uint32_t from = 0; from < n; from += 1024) {
            uint32_t m = n - from < 1024 ? n - from : 1024;
            ints_of(col, tmp, from, m);
            int32_t *o = out + from;
            switch (t->kind) {
            case ICE_TR_BUCKET: bucket_ints(ty, tmp, m, t->param, o); break;
            case ICE_TR_IDENTITY:
                for (uint32_t i = 0; i < m; i++) o[i] = (int32_t)tmp[i];
                break;
            case ICE_TR_TRUNCATE:
                for (uint32_t i = 0; i < m; i++) o[i] = (int32_t)(uint32_t)truncate_long(tmp[i], t->param);
                break;
            default: time_column(t->kind, ty, tmp, m, o); break;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++)
        if (nulls[i]) out[i] = 0;
    return true;
}
