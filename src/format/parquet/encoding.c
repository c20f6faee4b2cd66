/*
 * encoding.c: the Parquet value encodings of pq_encoding.h (parquet-format
 * Encodings.md): the RLE/bit-packed hybrid, PLAIN booleans and byte arrays,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT.
 *
 * Fast paths, for the next maintainer:
 *
 * - Every decoder checks bounds once per run, block or miniblock, never per
 *   value: a bit-packed run checks that its bytes are there, then hands the
 *   whole run to the width-specialised kernels in bitpack.c (8 values per
 *   step, constant shifts and masks, 64-bit loads); an RLE run checks its
 *   length against what is left and fills with memset or a plain store loop
 *   that the compiler vectorises.
 * - The RLE decoders are one always-inline body instantiated for 1-byte
 *   (levels) and 4-byte (dictionary indices) output, so neither pays for
 *   the other's width.
 * - DELTA_BINARY_PACKED unpacks up to 256 deltas of a miniblock into a stack
 *   block with the same kernels, then runs a wrapping prefix sum in the
 *   unsigned type of the physical width (so overflow is defined and
 *   INT64_MIN/MAX deltas round-trip).
 * - DELTA_LENGTH_BYTE_ARRAY decodes the lengths straight into offsets[1..n],
 *   turns them into offsets in place, and copies all the value bytes with
 *   one memcpy. DELTA_BYTE_ARRAY sizes the output first, reserves it once,
 *   then rebuilds each value from the previous one with two memcpys.
 * - BYTE_STREAM_SPLIT has constant-width transposes for 4 and 8 bytes.
 *
 * Decoders are lenient where the spec tells readers to be (arbitrary padding
 * bits, arbitrary bit widths of unused miniblocks, bit-packed runs past n),
 * where no meaning is lost (a last miniblock or bit-packed run cut short
 * after the last value it holds), and where a real writer breaks a rule
 * (DuckDB's INT32 delta miniblocks of width 33 and more; see
 * tests/unit/format/data/encoding/peers.txt), and strict everywhere else.
 */
#include "format/parquet/pq_encoding.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "format/parquet/bitpack_int.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

int pq_bit_width(uint64_t max) { return max ? 64 - __builtin_clzll(max) : 0; }

/* ---- varints ---------------------------------------------------------- */

typedef enum { ULEB_OK, ULEB_TRUNCATED, ULEB_TOO_LONG } uleb_status;

/* ULEB128 of at most 64 bits at p[*pos]; advances *pos on success. */
static ALWAYS_INLINE uleb_status read_uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *out) {
    size_t i = *pos;
    if (i < len && p[i] < 0x80) {
        *out = p[i];
        *pos = i + 1;
        return ULEB_OK;
    }
    uint64_t v = 0;
    for (int shift = 0; i < len; shift += 7) {
        uint8_t b = p[i++];
        if (shift == 63 && (b & 0x7e)) return ULEB_TOO_LONG;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pos = i;
            return ULEB_OK;
        }
        if (shift == 63) return ULEB_TOO_LONG;
    }
    return ULEB_TRUNCATED;
}

static bool uleb_error(floe_err *err, uleb_status st, const char *what, size_t at, const char *field) {
    if (st == ULEB_TRUNCATED)
        return floe_err_set(err, FLOE_EINVAL, "%s at byte %zu: the %s varint runs past the end of the input", what, at,
                            field);
    return floe_err_set(err, FLOE_EINVAL, "%s at byte %zu: the %s varint does not fit in 64 bits", what, at, field);
}

static void put_uleb(buf_t *out, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    buf_append(out, tmp, n);
}

static inline uint64_t zigzag_encode(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline uint64_t zigzag_decode(uint64_t v) { return (v >> 1) ^ (0 - (v & 1)); }

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

/* o[0..count) = v, where o has room for `room` >= count values: stores of
 * 8 values at a time, the last of which may spill past count into room
 * the decoder will overwrite later, instead of a loop of single stores. */
static ALWAYS_INLINE void fill_u32(uint32_t *o, size_t count, size_t room, uint32_t v) {
#ifdef __SSE2__
    __m128i x = _mm_set1_epi32((int)v);
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        _mm_storeu_si128((__m128i *)(void *)(o + k), x);
        _mm_storeu_si128((__m128i *)(void *)(o + k + 4), x);
    }
    if (k < count && room - k >= 8) {
        _mm_storeu_si128((__m128i *)(void *)(o + k), x);
        _mm_storeu_si128((__m128i *)(void *)(o + k + 4), x);
        return;
    }
    for (; k < count; k++) o[k] = v;
#else
    for (size_t k = 0; k < count; k++) o[k] = v;
#endif
}

/* The whole decoder, for 1-byte (es 1) or 4-byte output. */
static ALWAYS_INLINE bool rle_decode_impl(const uint8_t *p, size_t len, int bw, void *outv, size_t n, size_t es,
                                          const char *what, floe_err *err) {
    uint8_t *out8 = outv;
    uint32_t *out32 = outv;
    int maxw = es == 1 ? 8 : 32;
    if (bw < 0 || bw > maxw) return floe_err_set(err, FLOE_EINVAL, "%s: bit width %d is outside 0..%d", what, bw, maxw);
    if (bw == 0) {
        memset(outv, 0, n * es);
        return true;
    }
    size_t vbytes = ((size_t)bw + 7) / 8, pos = 0, i = 0;
    while (i < n) {
        size_t at = pos;
        uint64_t h;
        uleb_status st = read_uleb(p, len, &pos, &h);
        if (st != ULEB_OK) {
            if (st == ULEB_TRUNCATED && at == len)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s (bit width %d) at byte %zu: the input ends after %zu of the %zu values "
                                    "expected",
                                    what, bw, at, i, n);
            return uleb_error(err, st, what, at, "run header");
        }
        if (h > UINT32_MAX)
            return floe_err_set(err, FLOE_EINVAL,
                                "%s at byte %zu: run header %" PRIu64 " is over 2^32 (runs hold at most 2^31-1 values)",
                                what, at, h);
        size_t left = n - i;
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            size_t take = count < left ? count : left;
            size_t need = (take * (size_t)bw + 7) / 8;
            if (need > len - pos)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s (bit width %d) at byte %zu: bit-packed run of %zu values needs %zu bytes, "
                                    "only %zu left",
                                    what, bw, at, count, need, len - pos);
            if (es == 1)
                pq_unpack_u8(p + pos, len - pos, bw, out8 + i, take);
            else
                pq_unpack_u32(p + pos, len - pos, bw, out32 + i, take);
            size_t run_bytes = count / 8 * (size_t)bw;
            pos += run_bytes < len - pos ? run_bytes : len - pos;
            i += take;
        } else {
            size_t count = (size_t)(h >> 1);
            if (count > left)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s at byte %zu: run of %zu values overruns the %zu values expected (%zu left)",
                                    what, at, count, n, left);
            if (vbytes > len - pos)
                return floe_err_set(err, FLOE_EINVAL, "%s at byte %zu: RLE run value needs %zu bytes, only %zu left",
                                    what, at, vbytes, len - pos);
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++) v |= (uint32_t)p[pos + k] << (8 * k);
            if (bw < 32 && (v >> bw) != 0)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s at byte %zu: RLE run value %" PRIu32 " does not fit in %d bits", what, at, v,
                                    bw);
            if (es == 1) {
                memset(out8 + i, (int)v, count);
            } else {
                fill_u32(out32 + i, count, left, v);
            }
            pos += vbytes;
            i += count;
        }
    }
    return true;
}

bool pq_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n, floe_err *err) {
    return rle_decode_impl(p, len, bit_width, out, n, 4, "RLE/bit-packed hybrid", err);
}

bool pq_rle_decode_u8(const uint8_t *p, size_t len, int bit_width, uint8_t *out, size_t n, floe_err *err) {
    return rle_decode_impl(p, len, bit_width, out, n, 1, "RLE/bit-packed levels", err);
}

/* Longest run one header may carry (Encodings.md: 1..2^31-1 values). */
#define RLE_MAX_RUN ((size_t)INT32_MAX)
#define RLE_MAX_GROUPS (RLE_MAX_RUN / 8)

/* Writes vals[from..to) as one or more bit-packed runs, padding the last
 * group with zeros. (to - from) is a multiple of 8 except at the end. */
static ALWAYS_INLINE void rle_put_literals(buf_t *out, const void *vals, size_t es, size_t from, size_t to, int bw) {
    while (from < to) {
        size_t count = to - from, groups = (count + 7) / 8;
        if (groups > RLE_MAX_GROUPS) {
            groups = RLE_MAX_GROUPS;
            count = groups * 8;
        }
        put_uleb(out, (uint64_t)groups << 1 | 1);
        size_t before = out->len;
        if (es == 1)
            pq_pack_u8(out, (const uint8_t *)vals + from, count, bw);
        else
            pq_pack_u32(out, (const uint32_t *)vals + from, count, bw);
        size_t want = groups * (size_t)bw;
        static const uint8_t zeros[32];
        buf_append(out, zeros, want - (out->len - before));
        from += count;
    }
}

/* parquet-mr's choice of runs: at each group boundary, a run of 8 or more
 * equal values becomes an RLE run; otherwise the next 8 values join the
 * pending bit-packed run. */
static ALWAYS_INLINE void rle_encode_impl(buf_t *out, const void *vals, size_t n, int bw, size_t es) {
    const uint8_t *v8 = vals;
    const uint32_t *v32 = vals;
    uint32_t mask = bw >= 32 ? UINT32_MAX : (1u << bw) - 1;
    size_t vbytes = ((size_t)bw + 7) / 8;
    size_t lit = 0, i = 0;
    if (bw == 0) {
        /* Every value is 0: RLE runs of no value bytes, which every reader
         * takes (a bit-packed run of width 0 is legal but less travelled). */
        for (; i < n; i += n - i < RLE_MAX_RUN ? n - i : RLE_MAX_RUN)
            put_uleb(out, (uint64_t)(n - i < RLE_MAX_RUN ? n - i : RLE_MAX_RUN) << 1);
        return;
    }
    while (i < n) {
        uint32_t v = (es == 1 ? v8[i] : v32[i]) & mask;
        size_t r = 1;
        while (i + r < n && r < RLE_MAX_RUN && ((es == 1 ? v8[i + r] : v32[i + r]) & mask) == v) r++;
        if (r >= 8) {
            rle_put_literals(out, vals, es, lit, i, bw);
            put_uleb(out, (uint64_t)r << 1);
            uint8_t vb[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
            buf_append(out, vb, vbytes);
            i += r;
            lit = i;
        } else {
            i = n - i > 8 ? i + 8 : n;
        }
    }
    rle_put_literals(out, vals, es, lit, n, bw);
}

void pq_rle_encode(buf_t *out, const uint32_t *vals, size_t n, int bit_width) {
    rle_encode_impl(out, vals, n, bit_width, 4);
}

void pq_rle_encode_u8(buf_t *out, const uint8_t *vals, size_t n, int bit_width) {
    rle_encode_impl(out, vals, n, bit_width, 1);
}

bool pq_rle_single_run(const uint8_t *p, size_t len, int bit_width, size_t n, uint32_t *v) {
    if (bit_width < 1 || bit_width > 32) return false;
    size_t pos = 0, vbytes = ((size_t)bit_width + 7) / 8;
    uint64_t h;
    if (read_uleb(p, len, &pos, &h) != ULEB_OK || (h & 1) || h >> 1 != n || vbytes > len - pos) return false;
    uint32_t x = 0;
    for (size_t k = 0; k < vbytes; k++) x |= (uint32_t)p[pos + k] << (8 * k);
    if (bit_width < 32 && (x >> bit_width) != 0) return false;
    *v = x;
    return true;
}

/* ---- level and index kernels ------------------------------------------ */

size_t pq_count_levels(const uint8_t *p, size_t n, uint8_t max, bool *over) {
    size_t i = 0, count = 0;
    unsigned top = 0;
#ifdef __SSE2__
    if (max < 128) { /* signed byte compares hold for levels up to 127 */
        /* matches as 0/1 bytes, summed by _mm_sad_epu8 into two 64-bit lanes */
        __m128i m = _mm_set1_epi8((char)max), one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
        __m128i acc = zero, sum = zero;
        for (; i + 16 <= n; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            sum = _mm_add_epi64(sum, _mm_sad_epu8(_mm_and_si128(_mm_cmpeq_epi8(x, m), one), zero));
            acc = _mm_or_si128(acc, _mm_cmpgt_epi8(x, m));
        }
        count = (size_t)_mm_cvtsi128_si64(sum) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
        top = (unsigned)_mm_movemask_epi8(acc);
    }
#endif
    for (; i < n; i++) {
        count += p[i] == max;
        top |= p[i] > max;
    }
    *over = top != 0;
    return count;
}

bool pq_indices_below(const uint32_t *idx, size_t n, uint32_t limit) {
    size_t i = 0;
    uint32_t bad = 0;
    if (limit == 0) return n == 0;
#ifdef __SSE2__
    /* unsigned idx >= limit as a signed compare of both sides offset by 2^31 */
    __m128i bias = _mm_set1_epi32(INT32_MIN), lim = _mm_set1_epi32((int)((limit - 1) ^ 0x80000000u));
    __m128i acc = _mm_setzero_si128();
    for (; i + 4 <= n; i += 4) {
        __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(idx + i)), bias);
        acc = _mm_or_si128(acc, _mm_cmpgt_epi32(x, lim));
    }
    bad = (uint32_t)_mm_movemask_epi8(acc);
#endif
    for (; i < n; i++) bad |= idx[i] >= limit;
    return bad == 0;
}

void pq_levels_to_bits(uint8_t *bits, size_t from, const uint8_t *p, size_t n, uint8_t max) {
    size_t i = 0;
    for (; i < n && (from + i) % 8; i++) {
        size_t b = from + i;
        if (p[i] == max)
            bits[b >> 3] |= (uint8_t)(1u << (b & 7));
        else
            bits[b >> 3] &= (uint8_t) ~(1u << (b & 7));
    }
    uint8_t *o = bits + (from + i) / 8;
#ifdef __SSE2__
    __m128i m = _mm_set1_epi8((char)max);
    for (; i + 16 <= n; i += 16, o += 2) {
        unsigned k =
            (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), m));
        o[0] = (uint8_t)k;
        o[1] = (uint8_t)(k >> 8);
    }
#endif
    for (; i + 8 <= n; i += 8, o++) {
        uint8_t k = 0;
        for (int j = 0; j < 8; j++) k |= (uint8_t)((p[i + (size_t)j] == max) << j);
        *o = k;
    }
    for (; i < n; i++) {
        size_t b = from + i;
        if (p[i] == max)
            bits[b >> 3] |= (uint8_t)(1u << (b & 7));
        else
            bits[b >> 3] &= (uint8_t) ~(1u << (b & 7));
    }
}

void pq_fill_u32(uint32_t *o, size_t n, uint32_t v) {
    size_t k = 0;
#ifdef __SSE2__
    __m128i x = _mm_set1_epi32((int)v);
    for (; k + 4 <= n; k += 4) _mm_storeu_si128((__m128i *)(void *)(o + k), x);
#endif
    for (; k < n; k++) o[k] = v;
}

/* ---- PLAIN booleans and byte arrays ----------------------------------- */

void pq_plain_encode_bool(buf_t *out, const uint8_t *vals, size_t n) {
    size_t nbytes = (n + 7) / 8;
    buf_reserve(out, nbytes);
    uint8_t *dst = (uint8_t *)out->data + out->len;
    memset(dst, 0, nbytes);
    for (size_t i = 0; i < n; i++) dst[i / 8] |= (uint8_t)((vals[i] != 0) << (i % 8));
    out->len += nbytes;
    out->data[out->len] = '\0';
}

bool pq_plain_decode_bool(const uint8_t *p, size_t len, uint8_t *out, size_t n, floe_err *err) {
    size_t need = n / 8 + (n % 8 != 0);
    if (need > len)
        return floe_err_set(err, FLOE_EINVAL, "PLAIN BOOLEAN: %zu values need %zu bytes, the input has %zu", n, need,
                            len);
    pq_unpack_u8(p, len, 1, out, n);
    return true;
}

/* Value bytes are mostly short: a value of up to COPY_SLACK bytes is moved
 * as a fixed COPY_SLACK-byte block (two 16-byte moves, no call, no branch
 * on the length) when the source has that many readable bytes; the
 * destination must always have COPY_SLACK bytes of room. */
#define COPY_SLACK 32
static ALWAYS_INLINE void copy_short(uint8_t *dst, const uint8_t *src, size_t n, size_t src_room) {
    if (n <= COPY_SLACK && src_room >= COPY_SLACK)
        memcpy(dst, src, COPY_SLACK);
    else
        memcpy(dst, src, n);
}

bool pq_plain_decode_byte_array(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, size_t *used,
                                floe_err *err) {
    size_t start = bytes->len, pos = 0;
    if (start > UINT32_MAX)
        return floe_err_set(err, FLOE_ETOOLARGE, "PLAIN BYTE_ARRAY: the output already holds %zu bytes, over 4 GiB",
                            start);
    offsets[0] = (uint32_t)start;
    for (size_t i = 0; i < n; i++) {
        if (len - pos < 4) {
            bytes->len = start;
            return floe_err_set(err, FLOE_EINVAL,
                                "PLAIN BYTE_ARRAY at byte %zu: value %zu of %zu needs a 4-byte length, %zu bytes left",
                                pos, i, n, len - pos);
        }
        uint32_t l;
        memcpy(&l, p + pos, 4);
        if (l > len - pos - 4) {
            bytes->len = start;
            return floe_err_set(err, FLOE_EINVAL,
                                "PLAIN BYTE_ARRAY at byte %zu: value %zu of %zu is %" PRIu32
                                " bytes long, only %zu bytes left",
                                pos, i, n, l, len - pos - 4);
        }
        if ((uint64_t)bytes->len + l > UINT32_MAX) {
            bytes->len = start;
            return floe_err_set(err, FLOE_ETOOLARGE, "PLAIN BYTE_ARRAY: value %zu takes the output over 4 GiB", i);
        }
        if (bytes->cap - bytes->len <= (size_t)l + COPY_SLACK)
            buf_reserve(bytes, (l > len - pos ? l : len - pos) + COPY_SLACK);
        copy_short((uint8_t *)bytes->data + bytes->len, p + pos + 4, l, len - pos - 4);
        bytes->len += l;
        offsets[i + 1] = (uint32_t)bytes->len;
        pos += 4 + (size_t)l;
    }
    if (bytes->data) bytes->data[bytes->len] = '\0';
    *used = pos;
    return true;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------- */

/* Larger blocks than any writer uses (parquet-mr and Arrow 128, DuckDB
 * 2048), small enough that sizes cannot overflow. */
#define DELTA_MAX_BLOCK (1u << 30)

typedef struct delta_stream {
    uint64_t block_size, miniblocks, per_miniblock, total;
    uint64_t first; /* the first value's bits */
    size_t pos;     /* the first block */
} delta_stream;

static bool delta_header(const uint8_t *p, size_t len, const char *what, size_t base, delta_stream *s, floe_err *err) {
    size_t pos = 0;
    static const char *const fields[4] = {"block size", "miniblock count", "total value count", "first value"};
    uint64_t f[4];
    for (int k = 0; k < 4; k++) {
        size_t at = pos;
        uleb_status st = read_uleb(p, len, &pos, &f[k]);
        if (st != ULEB_OK) return uleb_error(err, st, what, base + at, fields[k]);
    }
    s->block_size = f[0];
    s->miniblocks = f[1];
    s->total = f[2];
    s->first = zigzag_decode(f[3]);
    s->pos = pos;
    if (f[0] == 0 || f[0] % 128 != 0 || f[0] > DELTA_MAX_BLOCK)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s at byte %zu: block size %" PRIu64 " is not a multiple of 128 in 128..2^30", what, base,
                            f[0]);
    if (f[1] == 0 || f[0] % f[1] != 0 || (f[0] / f[1]) % 32 != 0)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s at byte %zu: %" PRIu64 " miniblocks do not split a block of %" PRIu64
                            " into multiples of 32 values",
                            what, base, f[1], f[0]);
    s->per_miniblock = f[0] / f[1];
    return true;
}

/* Deltas unpacked per step: a multiple of 8 whose bit length is whole
 * bytes at any width. */
#define DELTA_CHUNK 256

/* Decodes the stream after its header: the first min(want, total) values go
 * to out (int32_t or int64_t, by is64); the rest is parsed and skipped, so
 * *used is the whole stream's length either way. */
static ALWAYS_INLINE bool delta_body(const uint8_t *p, size_t len, const delta_stream *s, void *outv, uint64_t want,
                                     bool is64, const char *what, size_t base, size_t *used, floe_err *err) {
    int32_t *out32 = outv;
    int64_t *out64 = outv;
    /* INT32 streams may hold widths up to 64: the spec forbids it, but
     * DuckDB (1.5) computes INT32 deltas in 64 bits and writes width 33
     * when they span more than 2^32. The low 32 bits still add up right. */
    const int maxw = 64;
    uint64_t total = s->total, i = 0;
    uint64_t last = s->first;
    uint32_t last32 = (uint32_t)s->first;
    size_t pos = s->pos;
    if (total > 0) {
        if (want > 0) {
            if (is64)
                out64[0] = (int64_t)last;
            else
                out32[0] = (int32_t)last32;
        }
        i = 1;
    }
    while (i < total) {
        size_t at = pos;
        uint64_t zz;
        uleb_status st = read_uleb(p, len, &pos, &zz);
        if (st != ULEB_OK) {
            if (st == ULEB_TRUNCATED && at == len)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s at byte %zu: the input ends after %" PRIu64 " of the %" PRIu64 " values", what,
                                    base + at, i, total);
            return uleb_error(err, st, what, base + at, "block's min delta");
        }
        uint64_t min_delta = zigzag_decode(zz);
        if (len - pos < s->miniblocks)
            return floe_err_set(err, FLOE_EINVAL,
                                "%s at byte %zu: the block's %" PRIu64 " miniblock bit widths run past the end", what,
                                base + pos, s->miniblocks);
        const uint8_t *widths = p + pos;
        pos += s->miniblocks;
        for (uint64_t m = 0; m < s->miniblocks && i < total; m++) {
            int w = widths[m];
            if (w > maxw)
                return floe_err_set(err, FLOE_EINVAL, "%s at byte %zu: miniblock %" PRIu64 " has bit width %d, over %d",
                                    what, base + (size_t)(widths + m - p), m, w, maxw);
            uint64_t k = total - i < s->per_miniblock ? total - i : s->per_miniblock;
            size_t need = (size_t)((k * (uint64_t)w + 7) / 8);
            if (need > len - pos)
                return floe_err_set(err, FLOE_EINVAL,
                                    "%s at byte %zu: miniblock of %" PRIu64 " values at bit width %d needs %zu bytes, "
                                    "only %zu left",
                                    what, base + pos, k, w, need, len - pos);
            uint64_t store = i >= want ? 0 : want - i < k ? want - i : k;
            for (uint64_t c = 0; c < store; c += DELTA_CHUNK) {
                size_t cn = (size_t)(store - c < DELTA_CHUNK ? store - c : DELTA_CHUNK);
                size_t off = pos + (size_t)(c * (uint64_t)w / 8);
                if (is64) {
                    uint64_t d[DELTA_CHUNK];
                    pq_unpack_u64(p + off, len - off, w, d, cn);
                    int64_t *o = out64 + i + c;
                    for (size_t j = 0; j < cn; j++) {
                        last += d[j] + min_delta;
                        o[j] = (int64_t)last;
                    }
                } else {
                    uint32_t d[DELTA_CHUNK], md = (uint32_t)min_delta;
                    if (w <= 32) {
                        pq_unpack_u32(p + off, len - off, w, d, cn);
                    } else {
                        uint64_t wide[DELTA_CHUNK];
                        pq_unpack_u64(p + off, len - off, w, wide, cn);
                        for (size_t j = 0; j < cn; j++) d[j] = (uint32_t)wide[j];
                    }
                    int32_t *o = out32 + i + c;
                    for (size_t j = 0; j < cn; j++) {
                        last32 += d[j] + md;
                        o[j] = (int32_t)last32;
                    }
                }
            }
            i += k;
            size_t mb_bytes = (size_t)(s->per_miniblock * (uint64_t)w / 8);
            pos += mb_bytes < len - pos ? mb_bytes : len - pos;
        }
    }
    *used = pos;
    return true;
}

#define DELTA_DECODE(NAME, T, IS64, WHAT)                                                                              \
    bool NAME(const uint8_t *p, size_t len, T *out, size_t cap, size_t *count, size_t *used, floe_err *err) {          \
        delta_stream s;                                                                                                \
        if (!delta_header(p, len, WHAT, 0, &s, err)) return false;                                                     \
        if (s.total > cap)                                                                                             \
            return floe_err_set(err, FLOE_EINVAL,                                                                      \
                                "%s: the header says %" PRIu64 " values, more than the %zu expected", WHAT, s.total,   \
                                cap);                                                                                  \
        if (!delta_body(p, len, &s, out, s.total, IS64, WHAT, 0, used, err)) return false;                             \
        *count = (size_t)s.total;                                                                                      \
        return true;                                                                                                   \
    }

DELTA_DECODE(pq_delta_decode_i32, int32_t, false, "DELTA_BINARY_PACKED (INT32)")
DELTA_DECODE(pq_delta_decode_i64, int64_t, true, "DELTA_BINARY_PACKED (INT64)")

#define DELTA_BLOCK 128
#define DELTA_MINIBLOCKS 4
#define DELTA_PER_MINIBLOCK (DELTA_BLOCK / DELTA_MINIBLOCKS)

/* Writes one block of deltas (already differences, as unsigned bits of the
 * physical width): min delta, 4 widths, then the used miniblocks. */
static ALWAYS_INLINE void delta_put_block(buf_t *out, const uint64_t *d, size_t nd, bool is64) {
    int64_t min = is64 ? (int64_t)d[0] : (int32_t)(uint32_t)d[0];
    for (size_t j = 1; j < nd; j++) {
        int64_t v = is64 ? (int64_t)d[j] : (int32_t)(uint32_t)d[j];
        if (v < min) min = v;
    }
    put_uleb(out, zigzag_encode(min));
    uint64_t rel[DELTA_BLOCK] = {0};
    uint8_t widths[DELTA_MINIBLOCKS] = {0};
    for (size_t j = 0; j < nd; j++) rel[j] = is64 ? d[j] - (uint64_t)min : (uint32_t)(d[j] - (uint64_t)min);
    size_t used = (nd + DELTA_PER_MINIBLOCK - 1) / DELTA_PER_MINIBLOCK;
    for (size_t m = 0; m < used; m++) {
        uint64_t any = 0;
        for (size_t j = 0; j < DELTA_PER_MINIBLOCK; j++) any |= rel[m * DELTA_PER_MINIBLOCK + j];
        widths[m] = (uint8_t)pq_bit_width(any);
    }
    buf_append(out, widths, DELTA_MINIBLOCKS);
    for (size_t m = 0; m < used; m++) pq_pack_u64(out, rel + m * DELTA_PER_MINIBLOCK, DELTA_PER_MINIBLOCK, widths[m]);
}

static ALWAYS_INLINE void delta_encode_impl(buf_t *out, const void *vals, size_t n, bool is64) {
    const int32_t *v32 = vals;
    const int64_t *v64 = vals;
    put_uleb(out, DELTA_BLOCK);
    put_uleb(out, DELTA_MINIBLOCKS);
    put_uleb(out, n);
    put_uleb(out, zigzag_encode(n == 0 ? 0 : is64 ? v64[0] : v32[0]));
    uint64_t d[DELTA_BLOCK];
    for (size_t i = 1; i < n; i += DELTA_BLOCK) {
        size_t nd = n - i < DELTA_BLOCK ? n - i : DELTA_BLOCK;
        for (size_t j = 0; j < nd; j++)
            d[j] = is64 ? (uint64_t)v64[i + j] - (uint64_t)v64[i + j - 1]
                        : (uint32_t)((uint32_t)v32[i + j] - (uint32_t)v32[i + j - 1]);
        delta_put_block(out, d, nd, is64);
    }
}

void pq_delta_encode_i32(buf_t *out, const int32_t *vals, size_t n) { delta_encode_impl(out, vals, n, false); }
void pq_delta_encode_i64(buf_t *out, const int64_t *vals, size_t n) { delta_encode_impl(out, vals, n, true); }

/* ---- DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY --------------------- */

/* Decodes n non-negative lengths from a DELTA_BINARY_PACKED stream that
 * holds at least n values; *used is the stream's length. */
static bool delta_lengths(const uint8_t *p, size_t len, size_t n, uint32_t *lens, const char *what, size_t base,
                          size_t *used, floe_err *err) {
    delta_stream s;
    if (!delta_header(p, len, what, base, &s, err)) return false;
    if (s.total < n)
        return floe_err_set(err, FLOE_EINVAL, "%s at byte %zu: the stream holds %" PRIu64 " values, %zu expected", what,
                            base, s.total, n);
    if (!delta_body(p, len, &s, lens, n, false, what, base, used, err)) return false;
    for (size_t i = 0; i < n; i++)
        if (lens[i] > INT32_MAX)
            return floe_err_set(err, FLOE_EINVAL, "%s: value %zu has a negative length (%" PRId32 ")", what, i,
                                (int32_t)lens[i]);
    return true;
}

static bool output_fits(size_t start, uint64_t add, const char *what, floe_err *err) {
    if ((uint64_t)start + add > UINT32_MAX)
        return floe_err_set(err, FLOE_ETOOLARGE,
                            "%s: %" PRIu64 " value bytes after %zu already held exceed the 4 GiB offsets can address",
                            what, add, start);
    return true;
}

bool pq_delta_length_decode(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, floe_err *err) {
    static const char what[] = "DELTA_LENGTH_BYTE_ARRAY";
    size_t start = bytes->len, used = 0;
    if (!output_fits(start, 0, what, err)) return false;
    offsets[0] = (uint32_t)start;
    if (n == 0 && len == 0) return true;
    if (!delta_lengths(p, len, n, offsets + 1, "DELTA_LENGTH_BYTE_ARRAY lengths", 0, &used, err)) return false;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += offsets[i + 1];
    if (sum > len - used)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s at byte %zu: the lengths add up to %" PRIu64 " bytes, but only %zu bytes follow them",
                            what, used, sum, len - used);
    if (!output_fits(start, sum, what, err)) return false;
    buf_append(bytes, p + used, (size_t)sum);
    for (size_t i = 0; i < n; i++) offsets[i + 1] += offsets[i];
    return true;
}

void pq_delta_length_encode(buf_t *out, const uint32_t *offsets, const uint8_t *bytes, size_t n) {
    buf_t lens = BUF_INIT;
    buf_reserve(&lens, n * sizeof(int32_t));
    int32_t *l = (int32_t *)(void *)lens.data;
    for (size_t i = 0; i < n; i++) l[i] = (int32_t)(offsets[i + 1] - offsets[i]);
    pq_delta_encode_i32(out, l, n);
    buf_free(&lens);
    if (n) buf_append(out, bytes + offsets[0], offsets[n] - offsets[0]);
}

bool pq_delta_byte_array_decode(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes,
                                floe_err *err) {
    static const char what[] = "DELTA_BYTE_ARRAY";
    size_t start = bytes->len, used1 = 0, used2 = 0;
    if (!output_fits(start, 0, what, err)) return false;
    offsets[0] = (uint32_t)start;
    if (n == 0 && len == 0) return true;
    bool ok = false;
    buf_t scratch = BUF_INIT;
    buf_reserve(&scratch, n * sizeof(uint32_t));
    uint32_t *prefix = (uint32_t *)(void *)scratch.data, *suffix = offsets + 1;
    if (!delta_lengths(p, len, n, prefix, "DELTA_BYTE_ARRAY prefix lengths", 0, &used1, err)) goto done;
    if (!delta_lengths(p + used1, len - used1, n, suffix, "DELTA_BYTE_ARRAY suffix lengths", used1, &used2, err))
        goto done;
    size_t data = used1 + used2;
    uint64_t sum = 0, total = 0, prev = 0;
    for (size_t i = 0; i < n; i++) sum += suffix[i];
    if (sum > len - data) {
        floe_err_set(err, FLOE_EINVAL,
                     "%s at byte %zu: the suffix lengths add up to %" PRIu64 " bytes, but only %zu bytes follow them",
                     what, data, sum, len - data);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (prefix[i] > prev) {
            floe_err_set(err, FLOE_EINVAL,
                         "%s: value %zu has a prefix of %" PRIu32 " bytes, but the value before it is %" PRIu64
                         " bytes long",
                         what, i, prefix[i], prev);
            goto done;
        }
        prev = (uint64_t)prefix[i] + suffix[i];
        total += prev;
        if (!output_fits(start, total, what, err)) goto done;
    }
    buf_reserve(bytes, (size_t)total + COPY_SLACK);
    uint8_t *base = (uint8_t *)bytes->data, *dst = base + start;
    const uint8_t *src = p + data, *end = p + len;
    for (size_t i = 0; i < n; i++) {
        uint32_t pre = prefix[i], suf = suffix[i];
        /* pre > 0 only when i > 0; the previous value ends where dst starts,
         * so a short prefix can be moved as a whole block */
        if (pre) {
            const uint8_t *before = base + offsets[i - 1];
            if (pre <= COPY_SLACK)
                memmove(dst, before, COPY_SLACK); /* overlaps when the previous value is short */
            else
                memcpy(dst, before, pre);
        }
        copy_short(dst + pre, src, suf, (size_t)(end - src));
        src += suf;
        dst += pre + suf;
        offsets[i + 1] = offsets[i] + pre + suf;
    }
    bytes->len = start + (size_t)total;
    bytes->data[bytes->len] = '\0';
    ok = true;
done:
    buf_free(&scratch);
    return ok;
}

void pq_delta_byte_array_encode(buf_t *out, const uint32_t *offsets, const uint8_t *bytes, size_t n) {
    buf_t lens = BUF_INIT;
    buf_reserve(&lens, 2 * n * sizeof(int32_t));
    int32_t *prefix = (int32_t *)(void *)lens.data, *suffix = prefix + n;
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *v = bytes + offsets[i];
        uint32_t vl = offsets[i + 1] - offsets[i], max = vl < prev_len ? vl : prev_len, k = 0;
        while (k < max && v[k] == prev[k]) k++;
        prefix[i] = (int32_t)k;
        suffix[i] = (int32_t)(vl - k);
        prev = v;
        prev_len = vl;
    }
    pq_delta_encode_i32(out, prefix, n);
    pq_delta_encode_i32(out, suffix, n);
    for (size_t i = 0; i < n; i++) buf_append(out, bytes + offsets[i] + prefix[i], (size_t)suffix[i]);
    buf_free(&lens);
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------ */

/* out[i*W + j] = p[j*stride + i] for i < n, with W a constant after
 * inlining. */
static ALWAYS_INLINE void bss_gather(const uint8_t *restrict p, size_t stride, uint8_t *restrict out, size_t n,
                                     size_t W) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < W; j++) out[i * W + j] = p[j * stride + i];
}

/* Widths 4 and 8 interleave 16 values at a time with SSE2 unpacks (bytes,
 * then 16-bit pairs, then 32-bit quads), which every x86-64 has. */
static void bss_gather4(const uint8_t *restrict p, size_t stride, uint8_t *restrict out, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i s[4], ab_lo, ab_hi, cd_lo, cd_hi;
        for (int j = 0; j < 4; j++) s[j] = _mm_loadu_si128((const __m128i *)(const void *)(p + (size_t)j * stride + i));
        ab_lo = _mm_unpacklo_epi8(s[0], s[1]);
        ab_hi = _mm_unpackhi_epi8(s[0], s[1]);
        cd_lo = _mm_unpacklo_epi8(s[2], s[3]);
        cd_hi = _mm_unpackhi_epi8(s[2], s[3]);
        __m128i *o = (__m128i *)(void *)(out + 4 * i);
        _mm_storeu_si128(o, _mm_unpacklo_epi16(ab_lo, cd_lo));
        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab_lo, cd_lo));
        _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab_hi, cd_hi));
        _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab_hi, cd_hi));
    }
#endif
    bss_gather(p + i, stride, out + 4 * i, n - i, 4);
}

static void bss_gather8(const uint8_t *restrict p, size_t stride, uint8_t *restrict out, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i s[8], t[8], u[8];
        for (int j = 0; j < 8; j++) s[j] = _mm_loadu_si128((const __m128i *)(const void *)(p + (size_t)j * stride + i));
        for (int j = 0; j < 4; j++) { /* t[2j]: values 0-7 of streams 2j, 2j+1; t[2j+1]: values 8-15 */
            t[2 * j] = _mm_unpacklo_epi8(s[2 * j], s[2 * j + 1]);
            t[2 * j + 1] = _mm_unpackhi_epi8(s[2 * j], s[2 * j + 1]);
        }
        for (int h = 0; h < 2; h++) { /* u[4h+k]: values 4k..4k+3 of streams 4h..4h+3 */
            u[4 * h + 0] = _mm_unpacklo_epi16(t[4 * h + 0], t[4 * h + 2]);
            u[4 * h + 1] = _mm_unpackhi_epi16(t[4 * h + 0], t[4 * h + 2]);
            u[4 * h + 2] = _mm_unpacklo_epi16(t[4 * h + 1], t[4 * h + 3]);
            u[4 * h + 3] = _mm_unpackhi_epi16(t[4 * h + 1], t[4 * h + 3]);
        }
        __m128i *o = (__m128i *)(void *)(out + 8 * i);
        for (int k = 0; k < 4; k++) {
            _mm_storeu_si128(o + 2 * k, _mm_unpacklo_epi32(u[k], u[4 + k]));
            _mm_storeu_si128(o + 2 * k + 1, _mm_unpackhi_epi32(u[k], u[4 + k]));
        }
    }
#endif
    bss_gather(p + i, stride, out + 8 * i, n - i, 8);
}

static ALWAYS_INLINE void bss_scatter(const uint8_t *restrict vals, uint8_t *restrict dst, size_t n, size_t W) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < W; j++) dst[j * n + i] = vals[i * W + j];
}

void pq_byte_stream_split_encode(buf_t *out, const void *vals, size_t n, int width) {
    size_t w = width > 0 ? (size_t)width : 0, total = n * w;
    buf_reserve(out, total);
    uint8_t *dst = (uint8_t *)out->data + out->len;
    if (w == 4)
        bss_scatter(vals, dst, n, 4);
    else if (w == 8)
        bss_scatter(vals, dst, n, 8);
    else
        bss_scatter(vals, dst, n, w);
    out->len += total;
    out->data[out->len] = '\0';
}

bool pq_byte_stream_split_decode(const uint8_t *p, size_t len, void *out, size_t n, int width, floe_err *err) {
    if (width <= 0) return floe_err_set(err, FLOE_EINVAL, "BYTE_STREAM_SPLIT: value width %d is not positive", width);
    size_t w = (size_t)width;
    if (len % w != 0)
        return floe_err_set(err, FLOE_EINVAL, "BYTE_STREAM_SPLIT: %zu bytes are not a whole number of %zu-byte values",
                            len, w);
    size_t stride = len / w;
    if (stride < n)
        return floe_err_set(err, FLOE_EINVAL, "BYTE_STREAM_SPLIT: %zu bytes hold %zu values of %zu bytes, %zu expected",
                            len, stride, w, n);
    if (w == 4)
        bss_gather4(p, stride, out, n);
    else if (w == 8)
        bss_gather8(p, stride, out, n);
    else if (w == 2)
        bss_gather(p, stride, out, n, 2);
    else
        bss_gather(p, stride, out, n, w);
    return true;
}
