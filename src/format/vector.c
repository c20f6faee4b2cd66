/*
 * vector.c: column vector builders and accessors (layout in vector.h).
 */
#include "format/vector.h"

#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n) {
    void *r = realloc(p, n ? n : 1);
    if (!r) abort();
    return r;
}

void fmt_vec_init(fmt_vec_t *v, const fmt_field_t *field) {
    memset(v, 0, sizeof *v);
    v->field = field;
    v->owned = true;
    if (field->nchildren) {
        v->nchildren = (uint32_t)field->nchildren;
        v->children = calloc(v->nchildren, sizeof *v->children);
        if (!v->children) abort();
        for (uint32_t i = 0; i < v->nchildren; i++) fmt_vec_init(&v->children[i], &field->children[i]);
    }
}

void fmt_vec_reset(fmt_vec_t *v) {
    v->len = 0;
    v->dict = NULL;
    v->null_count = 0;
    v->bytes_len = 0;
    if (v->offsets) v->offsets[0] = 0;
    for (uint32_t i = 0; i < v->nchildren; i++) fmt_vec_reset(&v->children[i]);
}

void fmt_vec_free(fmt_vec_t *v) {
    if (!v->owned) return;
    free(v->validity);
    free(v->values);
    free(v->offsets);
    free(v->bytes);
    for (uint32_t i = 0; i < v->nchildren; i++) fmt_vec_free(&v->children[i]);
    free(v->children);
    memset(v, 0, sizeof *v);
}

static bool has_offsets(fmt_type t) { return t == FMT_STRING || t == FMT_BINARY || t == FMT_LIST || t == FMT_MAP; }

/* Makes room for one more slot. */
static void grow(fmt_vec_t *v) {
    if (v->len < v->cap) return;
    uint32_t ncap = v->cap ? v->cap * 2 : 64;
    int w = fmt_type_width(v->field);
    if (w) v->values = xrealloc(v->values, (size_t)ncap * (size_t)w);
    if (has_offsets(v->field->type)) {
        v->offsets = xrealloc(v->offsets, ((size_t)ncap + 1) * sizeof *v->offsets);
        if (!v->cap) v->offsets[0] = 0;
    }
    if (v->validity) {
        v->validity = xrealloc(v->validity, ncap / 8);
        memset(v->validity + v->cap / 8, 0, (ncap - v->cap) / 8);
    }
    v->cap = ncap;
}

void fmt_vec_reserve(fmt_vec_t *v, uint32_t n) {
    while (v->len + n > v->cap) {
        uint32_t len = v->len;
        v->len = v->cap; /* grow() doubles when len == cap */
        grow(v);
        v->len = len;
    }
}

void fmt_vec_reserve_bytes(fmt_vec_t *v, size_t n) {
    if ((size_t)v->bytes_len + n > UINT32_MAX) abort();
    if (v->bytes_len + n <= v->bytes_cap) return;
    size_t ncap = v->bytes_cap ? v->bytes_cap : 256;
    while (ncap < v->bytes_len + n) ncap *= 2;
    if (ncap > UINT32_MAX) ncap = UINT32_MAX;
    v->bytes = xrealloc(v->bytes, ncap);
    v->bytes_cap = (uint32_t)ncap;
}

void fmt_vec_ensure_validity(fmt_vec_t *v) {
    if (v->validity) return;
    if (!v->cap) grow(v);
    v->validity = xrealloc(NULL, v->cap / 8);
    memset(v->validity, 0xff, v->cap / 8);
}

static void mark_valid(fmt_vec_t *v) {
    if (v->validity) fmt_bit_set(v->validity, v->len, true);
}

static void close_offsets(fmt_vec_t *v, uint32_t end) {
    if (v->offsets) v->offsets[v->len + 1] = end;
}

void fmt_vec_append_null(fmt_vec_t *v) {
    grow(v);
    fmt_vec_ensure_validity(v);
    fmt_bit_set(v->validity, v->len, false);
    int w = fmt_type_width(v->field);
    if (w) memset((uint8_t *)v->values + (size_t)v->len * (size_t)w, 0, (size_t)w);
    if (v->offsets) v->offsets[v->len + 1] = v->offsets[v->len];
    if (v->field->type == FMT_STRUCT)
        for (uint32_t i = 0; i < v->nchildren; i++) fmt_vec_append_null(&v->children[i]);
    v->null_count++;
    v->len++;
}

#define APPEND_FIXED(fn, T)                                                                                            \
    void fn(fmt_vec_t *v, T x) {                                                                                       \
        grow(v);                                                                                                       \
        mark_valid(v);                                                                                                 \
        ((T *)v->values)[v->len++] = x;                                                                                \
    }
APPEND_FIXED(fmt_vec_append_i32, int32_t)
APPEND_FIXED(fmt_vec_append_i64, int64_t)
APPEND_FIXED(fmt_vec_append_i128, __int128)
APPEND_FIXED(fmt_vec_append_f32, float)
APPEND_FIXED(fmt_vec_append_f64, double)

void fmt_vec_append_bool(fmt_vec_t *v, bool x) {
    grow(v);
    mark_valid(v);
    ((uint8_t *)v->values)[v->len++] = x ? 1 : 0;
}

void fmt_vec_append_bytes(fmt_vec_t *v, const void *p, size_t n) {
    grow(v);
    mark_valid(v);
    if (!v->offsets) { /* uuid, fixed */
        int w = fmt_type_width(v->field);
        uint8_t *dst = (uint8_t *)v->values + (size_t)v->len * (size_t)w;
        memset(dst, 0, (size_t)w);
        memcpy(dst, p, n < (size_t)w ? n : (size_t)w);
        v->len++;
        return;
    }
    fmt_vec_reserve_bytes(v, n);
    if (n) memcpy(v->bytes + v->bytes_len, p, n);
    v->bytes_len += (uint32_t)n;
    close_offsets(v, v->bytes_len);
    v->len++;
}

void fmt_vec_close_list(fmt_vec_t *v) {
    grow(v);
    mark_valid(v);
    close_offsets(v, v->children[0].len);
    v->len++;
}

void fmt_vec_close_struct(fmt_vec_t *v) {
    grow(v);
    mark_valid(v);
    v->len++;
}

int64_t fmt_vec_i64(const fmt_vec_t *v, uint32_t i) {
    if (v->dict) return fmt_vec_i64(v->dict, ((const uint32_t *)v->values)[i]);
    switch (fmt_type_width(v->field)) {
    case 1: return ((const uint8_t *)v->values)[i];
    case 4: return ((const int32_t *)v->values)[i];
    case 8: return ((const int64_t *)v->values)[i];
    case 16: return (int64_t)((const __int128 *)v->values)[i];
    default: return 0;
    }
}

double fmt_vec_f64(const fmt_vec_t *v, uint32_t i) {
    if (v->dict) return fmt_vec_f64(v->dict, ((const uint32_t *)v->values)[i]);
    if (v->field->type == FMT_FLOAT) return ((const float *)v->values)[i];
    return ((const double *)v->values)[i];
}

const uint8_t *fmt_vec_bytes(const fmt_vec_t *v, uint32_t i, uint32_t *n) {
    if (v->dict) return fmt_vec_bytes(v->dict, ((const uint32_t *)v->values)[i], n);
    if (!v->offsets) {
        int w = fmt_type_width(v->field);
        *n = (uint32_t)w;
        return (const uint8_t *)v->values + (size_t)i * (size_t)w;
    }
    *n = v->offsets[i + 1] - v->offsets[i];
    return v->bytes + v->offsets[i];
}

void fmt_batch_init(fmt_batch_t *b, const fmt_schema_t *s) {
    b->nrows = 0;
    b->ncols = (uint32_t)s->root.nchildren;
    b->cols = calloc(b->ncols ? b->ncols : 1, sizeof *b->cols);
    if (!b->cols) abort();
    for (uint32_t i = 0; i < b->ncols; i++) fmt_vec_init(&b->cols[i], &s->root.children[i]);
}

void fmt_batch_reset(fmt_batch_t *b) {
    b->nrows = 0;
    for (uint32_t i = 0; i < b->ncols; i++) fmt_vec_reset(&b->cols[i]);
}

void fmt_batch_free(fmt_batch_t *b) {
    for (uint32_t i = 0; i < b->ncols; i++) fmt_vec_free(&b->cols[i]);
    free(b->cols);
    memset(b, 0, sizeof *b);
}

void fmt_vec_append_from(fmt_vec_t *dst, const fmt_vec_t *src, uint32_t i) {
    if (!fmt_vec_valid(src, i)) {
        fmt_vec_append_null(dst);
        return;
    }
    switch (dst->field->type) {
    case FMT_STRUCT:
        for (uint32_t c = 0; c < dst->nchildren; c++) fmt_vec_append_from(&dst->children[c], &src->children[c], i);
        fmt_vec_close_struct(dst);
        return;
    case FMT_LIST:
    case FMT_MAP:
        for (uint32_t j = src->offsets[i]; j < src->offsets[i + 1]; j++)
            for (uint32_t c = 0; c < dst->nchildren; c++) fmt_vec_append_from(&dst->children[c], &src->children[c], j);
        fmt_vec_close_list(dst);
        return;
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_UUID:
    case FMT_FIXED: {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(src, i, &n);
        fmt_vec_append_bytes(dst, p, n);
        return;
    }
    default: {
        const fmt_vec_t *from = src;
        uint32_t at = i;
        if (src->dict) {
            at = ((const uint32_t *)src->values)[i];
            from = src->dict;
        }
        size_t w = (size_t)fmt_type_width(dst->field);
        grow(dst);
        mark_valid(dst);
        memcpy((uint8_t *)dst->values + (size_t)dst->len * w, (const uint8_t *)from->values + (size_t)at * w, w);
        dst->len++;
        return;
    }
    }
}

void fmt_batch_take(fmt_batch_t *dst, const fmt_batch_t *src, const uint32_t *rows, uint32_t n) {
    for (uint32_t c = 0; c < dst->ncols; c++) {
        fmt_vec_t *d = &dst->cols[c];
        const fmt_vec_t *sv = &src->cols[c];
        int w = fmt_type_width(d->field);
        bool flat = w > 0 && !sv->dict && !sv->validity && d->field->type != FMT_STRUCT;
        if (flat && !d->validity) {
            /* the common case: copy fixed-width values straight */
            fmt_vec_reserve(d, d->len + n);
            uint8_t *out = (uint8_t *)d->values + (size_t)d->len * (size_t)w;
            const uint8_t *in = sv->values;
            if (w == 8)
                for (uint32_t k = 0; k < n; k++) ((int64_t *)out)[k] = ((const int64_t *)in)[rows[k]];
            else if (w == 4)
                for (uint32_t k = 0; k < n; k++) ((int32_t *)out)[k] = ((const int32_t *)in)[rows[k]];
            else
                for (uint32_t k = 0; k < n; k++)
                    memcpy(out + (size_t)k * (size_t)w, in + (size_t)rows[k] * (size_t)w, (size_t)w);
            d->len += n;
            continue;
        }
        for (uint32_t k = 0; k < n; k++) fmt_vec_append_from(d, sv, rows[k]);
    }
    dst->nrows += n;
}
