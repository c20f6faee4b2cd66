/*
 * hash.c: row hashes of column vectors and HyperLogLog (hash.h).
 */
#include "sql/hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NULL_HASH 0x9e3779b97f4a7c15ULL

/* A 64-bit finaliser (murmur3's fmix64): integers in, well-spread bits out. */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t combine(uint64_t seed, uint64_t h) {
    return mix64(seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

static inline uint64_t hash_double(double d) {
    if (d == 0) d = 0; /* -0.0 */
    if (isnan(d)) return 0x7ff8000000000000ULL * 31 + 7;
    uint64_t u;
    memcpy(&u, &d, 8);
    return mix64(u);
}

static uint64_t hash_slot(const fmt_vec_t *v, uint32_t i) {
    if (!fmt_vec_valid(v, i)) return NULL_HASH;
    switch (v->field->type) {
    case FMT_FLOAT:
    case FMT_DOUBLE: return hash_double(fmt_vec_f64(v, i));
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_FIXED:
    case FMT_UUID: {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(v, i, &n);
        return XXH3_64bits(p, n);
    }
    case FMT_DECIMAL:
        if (fmt_type_width(v->field) == 16 && !v->dict) {
            __int128 x;
            memcpy(&x, (const uint8_t *)v->values + 16 * (size_t)i, 16);
            if (x >= INT64_MIN && x <= INT64_MAX) return mix64((uint64_t)(int64_t)x);
            return XXH3_64bits(&x, 16);
        }
        return mix64((uint64_t)fmt_vec_i64(v, i));
    default: return mix64((uint64_t)fmt_vec_i64(v, i));
    }
}

void sql_hash_vec(const fmt_vec_t *v, uint64_t *h, bool comb) {
    uint32_t n = v->len;
    if (v->dict && v->dict->len <= n) {
        /* each dictionary entry once, then by index */
        uint64_t *dh = malloc((v->dict->len ? v->dict->len : 1) * sizeof *dh);
        if (!dh) abort();
        for (uint32_t k = 0; k < v->dict->len; k++) dh[k] = hash_slot(v->dict, k);
        const uint32_t *idx = v->values;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t x = fmt_vec_valid(v, i) ? dh[idx[i]] : NULL_HASH;
            h[i] = comb ? combine(h[i], x) : x;
        }
        free(dh);
        return;
    }
    switch (v->field->type) {
    case FMT_LONG:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
    case FMT_TIME:
        if (!v->dict) { /* the common key: a flat int64 column */
            const int64_t *x = v->values;
            for (uint32_t i = 0; i < n; i++) {
                uint64_t y = fmt_vec_valid(v, i) ? mix64((uint64_t)x[i]) : NULL_HASH;
                h[i] = comb ? combine(h[i], y) : y;
            }
            return;
        }
        break;
    default: break;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t y = hash_slot(v, i);
        h[i] = comb ? combine(h[i], y) : y;
    }
}

/* ---------------------------------------------------------------- HyperLogLog */

void sql_hll_init(sql_hll *s) { memset(s->reg, 0, sizeof s->reg); }

void sql_hll_add(sql_hll *s, uint64_t hash) {
    hash = mix64(hash); /* callers' hashes of small integers are not spread enough in the top bits alone */
    uint32_t idx = (uint32_t)(hash >> (64 - SQL_HLL_BITS));
    uint64_t rest = hash << SQL_HLL_BITS | (1ULL << (SQL_HLL_BITS - 1)); /* a stop bit bounds the count */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > s->reg[idx]) s->reg[idx] = rank;
}

void sql_hll_merge(sql_hll *into, const sql_hll *from) {
    for (size_t k = 0; k < sizeof into->reg; k++)
        if (from->reg[k] > into->reg[k]) into->reg[k] = from->reg[k];
}

uint64_t sql_hll_estimate(const sql_hll *s) {
    const double m = (double)(1u << SQL_HLL_BITS);
    double sum = 0;
    uint32_t zeros = 0;
    for (size_t k = 0; k < sizeof s->reg; k++) {
        sum += ldexp(1.0, -s->reg[k]);
        zeros += s->reg[k] == 0;
    }
    double alpha = 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros); /* linear counting for small sets */
    return (uint64_t)llround(e);
}
