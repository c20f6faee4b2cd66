/*
 * fuzz_pq_page.c: libFuzzer harness for the Parquet value decoders and page
 * decompressors (src/format/parquet/encoding.c, codec.c).
 *
 * Input: byte 0 picks the target (modulo PQ_FUZZ_TARGETS, listed below),
 * bytes 1-2 are a little-endian count (values to decode, or the
 * decompressed size), the rest is the encoded page. Every failure must be
 * FLOE_EINVAL with a message. Every success must keep the decoder's
 * promises (values within the bit width, offsets rising to the bytes
 * appended, no more input used than given), and re-encoding what was
 * decoded must decode to the same values (for codecs: recompressing must
 * decompress to the same bytes).
 *
 * Seeds in tests/fuzz/corpus/pq_page/ come from the encoders
 * (tests/fuzz/gen_pq_page_seeds.c; `make pq-page-seeds` rewrites them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/parquet/pq_encoding.h"

/* Targets, by byte 0 modulo PQ_FUZZ_TARGETS:
 *   0..32   pq_rle_decode, bit width 0..32
 *   33..41  pq_rle_decode_u8, bit width 0..8
 *   42      pq_plain_decode_bool
 *   43      pq_plain_decode_byte_array
 *   44, 45  pq_delta_decode_i32, _i64
 *   46      pq_delta_length_decode
 *   47      pq_delta_byte_array_decode
 *   48..54  pq_byte_stream_split_decode, widths 1 2 3 4 8 12 16
 *   55..62  pq_decompress, codecs 0..7 */
#define PQ_FUZZ_TARGETS 63
static const int bss_widths[] = {1, 2, 3, 4, 8, 12, 16};

/* DELTA_BYTE_ARRAY output can grow as n times the longest value: keep n
 * small there so one input costs at most a few MB. */
#define DBA_MAX_N 1024

static void check(bool ok, const floe_err *err) {
    if (!ok && (err->code != FLOE_EINVAL || err->msg[0] == '\0')) abort();
}

static void fuzz_rle(const uint8_t *p, size_t len, int w, size_t n, bool u8) {
    floe_err err = {0};
    uint32_t *out = malloc(4 * n + 4), *again = malloc(4 * n + 4);
    uint8_t *out8 = malloc(n + 1), *again8 = malloc(n + 1);
    bool ok = u8 ? pq_rle_decode_u8(p, len, w, out8, n, &err) : pq_rle_decode(p, len, w, out, n, &err);
    check(ok, &err);
    if (ok) {
        buf_t enc = BUF_INIT;
        if (u8) {
            for (size_t i = 0; i < n; i++)
                if (out8[i] >> w) abort();
            pq_rle_encode_u8(&enc, out8, n, w);
            if (!pq_rle_decode_u8((const uint8_t *)enc.data, enc.len, w, again8, n, &err)) abort();
            if (n && memcmp(out8, again8, n) != 0) abort();
        } else {
            for (size_t i = 0; i < n; i++)
                if (w < 32 && (out[i] >> w)) abort();
            pq_rle_encode(&enc, out, n, w);
            if (!pq_rle_decode((const uint8_t *)enc.data, enc.len, w, again, n, &err)) abort();
            if (n && memcmp(out, again, 4 * n) != 0) abort();
        }
        buf_free(&enc);
    }
    free(out);
    free(again);
    free(out8);
    free(again8);
}

static void fuzz_bool(const uint8_t *p, size_t len, size_t n) {
    floe_err err = {0};
    uint8_t *out = malloc(n + 1);
    bool ok = pq_plain_decode_bool(p, len, out, n, &err);
    check(ok, &err);
    if (ok) {
        for (size_t i = 0; i < n; i++)
            if (out[i] > 1) abort();
        buf_t enc = BUF_INIT;
        pq_plain_encode_bool(&enc, out, n);
        if (enc.len != (n + 7) / 8 || (n % 8 == 0 && enc.len && memcmp(enc.data, p, enc.len) != 0)) abort();
        buf_free(&enc);
    }
    free(out);
}

/* Offsets start at what bytes held, never fall, and end at its length. */
static void check_offsets(const uint32_t *off, size_t n, size_t start, const buf_t *bytes) {
    if (off[0] != start) abort();
    for (size_t i = 0; i < n; i++)
        if (off[i + 1] < off[i]) abort();
    if (off[n] != bytes->len) abort();
}

typedef bool (*str_decoder)(const uint8_t *, size_t, size_t, uint32_t *, buf_t *, floe_err *);
typedef void (*str_encoder)(buf_t *, const uint32_t *, const uint8_t *, size_t);

static void fuzz_strings(const uint8_t *p, size_t len, size_t n, int which) {
    static const str_decoder dec[] = {pq_delta_length_decode, pq_delta_byte_array_decode};
    static const str_encoder enc_fn[] = {pq_delta_length_encode, pq_delta_byte_array_encode};
    floe_err err = {0};
    uint32_t *off = malloc(4 * (n + 1)), *off2 = malloc(4 * (n + 1));
    buf_t bytes = BUF_INIT, again = BUF_INIT, enc = BUF_INIT;
    buf_append(&bytes, "ab", 2); /* decoders append after what is there */
    size_t used = 0;
    bool ok = which == 0 ? pq_plain_decode_byte_array(p, len, n, off, &bytes, &used, &err)
                         : dec[which - 1](p, len, n, off, &bytes, &err);
    check(ok, &err);
    if (!ok && bytes.len != 2) abort(); /* failure leaves the output as it was */
    if (ok) {
        if (used > len) abort();
        check_offsets(off, n, 2, &bytes);
        int e = which == 0 ? 0 : which - 1;
        enc_fn[e](&enc, off, (const uint8_t *)bytes.data, n);
        if (!dec[e]((const uint8_t *)enc.data, enc.len, n, off2, &again, &err)) abort();
        if (again.len != bytes.len - 2 || memcmp(again.data, bytes.data + 2, again.len) != 0) abort();
        for (size_t i = 0; i <= n; i++)
            if (off2[i] != off[i] - 2) abort();
    }
    free(off);
    free(off2);
    buf_free(&bytes);
    buf_free(&again);
    buf_free(&enc);
}

static void fuzz_delta(const uint8_t *p, size_t len, size_t cap, bool is64) {
    floe_err err = {0};
    size_t count = 0, used = 0, count2 = 0, used2 = 0;
    void *out = malloc(8 * cap + 8), *again = malloc(8 * cap + 8);
    bool ok = is64 ? pq_delta_decode_i64(p, len, out, cap, &count, &used, &err)
                   : pq_delta_decode_i32(p, len, out, cap, &count, &used, &err);
    check(ok, &err);
    if (ok) {
        if (count > cap || used > len) abort();
        buf_t enc = BUF_INIT;
        if (is64) {
            pq_delta_encode_i64(&enc, out, count);
            if (!pq_delta_decode_i64((const uint8_t *)enc.data, enc.len, again, count, &count2, &used2, &err)) abort();
        } else {
            pq_delta_encode_i32(&enc, out, count);
            if (!pq_delta_decode_i32((const uint8_t *)enc.data, enc.len, again, count, &count2, &used2, &err)) abort();
        }
        if (count2 != count || used2 != enc.len) abort();
        if (count && memcmp(out, again, count * (is64 ? 8 : 4)) != 0) abort();
        buf_free(&enc);
    }
    free(out);
    free(again);
}

static void fuzz_bss(const uint8_t *p, size_t len, int w, size_t n) {
    floe_err err = {0};
    uint8_t *out = malloc(n * (size_t)w + 1);
    bool ok = pq_byte_stream_split_decode(p, len, out, n, w, &err);
    check(ok, &err);
    if (ok && len == n * (size_t)w) {
        buf_t enc = BUF_INIT;
        pq_byte_stream_split_encode(&enc, out, n, w);
        if (enc.len != len || (len && memcmp(enc.data, p, len) != 0)) abort();
        buf_free(&enc);
    }
    free(out);
}

static void fuzz_codec(const uint8_t *p, size_t len, pq_codec c, size_t out_len) {
    floe_err err = {0};
    uint8_t *out = malloc(out_len ? out_len : 1);
    bool ok = pq_decompress(c, p, len, out, out_len, &err);
    check(ok, &err);
    if (ok && c != PQ_CODEC_LZ4 && c != PQ_CODEC_LZO) {
        buf_t enc = BUF_INIT;
        uint8_t *again = malloc(out_len ? out_len : 1);
        if (!pq_compress(c, 1, out, out_len, &enc, &err)) abort();
        if (!pq_decompress(c, enc.data, enc.len, again, out_len, &err)) abort();
        if (out_len && memcmp(out, again, out_len) != 0) abort();
        free(again);
        buf_free(&enc);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int target = data[0] % PQ_FUZZ_TARGETS;
    size_t n = (size_t)data[1] | (size_t)data[2] << 8;
    const uint8_t *p = data + 3;
    size_t len = size - 3;
    if (target <= 32)
        fuzz_rle(p, len, target, n, false);
    else if (target <= 41)
        fuzz_rle(p, len, target - 33, n, true);
    else if (target == 42)
        fuzz_bool(p, len, n);
    else if (target == 43)
        fuzz_strings(p, len, n, 0);
    else if (target <= 45)
        fuzz_delta(p, len, n, target == 45);
    else if (target == 46)
        fuzz_strings(p, len, n, 1);
    else if (target == 47)
        fuzz_strings(p, len, n % DBA_MAX_N, 2);
    else if (target <= 54)
        fuzz_bss(p, len, bss_widths[target - 48], n);
    else
        fuzz_codec(p, len, (pq_codec)(target - 55), n);
    return 0;
}
