/*
 * test_encoding.c: the Parquet value encodings (src/format/parquet/encoding.c
 * and bitpack.c).
 *
 * Byte-level cases, including the worked examples of Encodings.md, are a
 * table in tests/unit/format/data/encoding/cases.txt. The rest are
 * properties over seeded random data: the bit-packing kernels agree with a
 * one-bit-at-a-time reference and never read past the bytes they are given
 * (inputs are malloc'd to the exact size, so ASan sees any overread); every
 * encoder's output decodes to its input at sizes around the group, miniblock
 * and block boundaries; and every truncation or corruption of an encoded
 * stream either fails with FLOE_EINVAL and a message, or (where the spec
 * lets a reader be lenient) decodes to the same values.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/parquet/bitpack_int.h"
#include "format/parquet/pq_encoding.h"
#include "format_test.h"

#define CASES "tests/unit/format/data/encoding/cases.txt"
#define PEER_CASES "tests/unit/format/data/encoding/peers.txt"

/* ---- helpers ---------------------------------------------------------- */

static const size_t sizes[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 127, 128, 129, 255, 256, 257, 1000, 4099};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- the case table --------------------------------------------------- */

typedef struct tcase {
    const char *file;
    int line;
    char *kind, *params, *input, *expected;
} tcase;

static bool param(const tcase *c, const char *key, long long *out) {
    size_t kl = strlen(key);
    for (const char *p = c->params; (p = strstr(p, key)) != NULL; p += kl)
        if ((p == c->params || p[-1] == ' ') && p[kl] == '=') {
            *out = strtoll(p + kl + 1, NULL, 10);
            return true;
        }
    return false;
}

static void parse_hex(const tcase *c, const char *s, buf_t *out) { hex_parse(c->file, c->line, s, out); }

/* Decimal values ("5*8" repeats) as int64 bits; unsigned values above
 * INT64_MAX parse too. */
static size_t parse_values(const tcase *c, const char *s, int64_t **vals) {
    size_t n = 0, cap = 16;
    *vals = malloc(cap * sizeof **vals);
    if (strcmp(s, "-") == 0) return 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        char *end;
        int64_t v = *s == '-' ? strtoll(s, &end, 10) : (int64_t)strtoull(s, &end, 10);
        cr_assert(end != s, "%s:%d: bad value at '%s'", c->file, c->line, s);
        s = end;
        size_t rep = 1;
        if (*s == '*') rep = strtoul(s + 1, (char **)&s, 10);
        for (size_t i = 0; i < rep; i++) {
            if (n == cap) *vals = realloc(*vals, (cap *= 2) * sizeof **vals);
            (*vals)[n++] = v;
        }
    }
    return n;
}

/* n strings separated by '|' into offsets[0..n] and bytes. */
static void parse_strings(const tcase *c, const char *s, size_t n, uint32_t **offsets, buf_t *bytes) {
    *offsets = malloc((n + 1) * sizeof **offsets);
    (*offsets)[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *bar = strchr(s, '|');
        cr_assert(bar || i == n - 1, "%s:%d: fewer than %zu strings", c->file, c->line, n);
        size_t l = bar ? (size_t)(bar - s) : strlen(s);
        buf_append(bytes, s, l);
        (*offsets)[i + 1] = (uint32_t)bytes->len;
        s += l + (bar != NULL);
    }
}

static char *hex(const void *p, size_t n) {
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) sprintf(s + 2 * i, "%02x", ((const uint8_t *)p)[i]);
    s[2 * n] = '\0';
    return s;
}

static void expect_bytes(const tcase *c, const void *got, size_t got_len, const buf_t *want) {
    char *g = hex(got, got_len), *w = hex(want->data, want->len);
    cr_expect_str_eq(g, w, "%s:%d: %s gave %s, want %s", c->file, c->line, c->kind, g, w);
    free(g);
    free(w);
}

/* Runs a decoder case; returns the decoder's verdict with err filled. */
static bool run_decoder(const tcase *c, const uint8_t *in, size_t len, size_t n, int64_t *vals, buf_t *bytes,
                        uint32_t *offsets, size_t *count, size_t *used, floe_err *err) {
    long long w = 0, cap = (long long)n;
    param(c, "w", &w);
    param(c, "cap", &cap);
    *count = n;
    *used = len;
    const char *k = c->kind;
    bool ok;
    if (strcmp(k, "rle") == 0 || strcmp(k, "bool") == 0 || strcmp(k, "rle_u8") == 0) {
        uint32_t *o32 = calloc(n + 1, 4);
        uint8_t *o8 = calloc(n + 1, 1);
        if (strcmp(k, "rle") == 0)
            ok = pq_rle_decode(in, len, (int)w, o32, n, err);
        else if (strcmp(k, "rle_u8") == 0)
            ok = pq_rle_decode_u8(in, len, (int)w, o8, n, err);
        else
            ok = pq_plain_decode_bool(in, len, o8, n, err);
        for (size_t i = 0; i < n; i++) vals[i] = strcmp(k, "rle") == 0 ? o32[i] : o8[i];
        free(o32);
        free(o8);
    } else if (strcmp(k, "delta32") == 0 || strcmp(k, "delta64") == 0) {
        int64_t *o64 = calloc((size_t)cap + 1, 8);
        int32_t *o32 = calloc((size_t)cap + 1, 4);
        if (strcmp(k, "delta32") == 0)
            ok = pq_delta_decode_i32(in, len, o32, (size_t)cap, count, used, err);
        else
            ok = pq_delta_decode_i64(in, len, o64, (size_t)cap, count, used, err);
        for (size_t i = 0; ok && i < *count && i < n; i++) vals[i] = strcmp(k, "delta32") == 0 ? o32[i] : o64[i];
        free(o64);
        free(o32);
    } else if (strcmp(k, "plain_ba") == 0) {
        ok = pq_plain_decode_byte_array(in, len, n, offsets, bytes, used, err);
    } else if (strcmp(k, "dlba") == 0) {
        ok = pq_delta_length_decode(in, len, n, offsets, bytes, err);
    } else if (strcmp(k, "dba") == 0) {
        ok = pq_delta_byte_array_decode(in, len, n, offsets, bytes, err);
    } else if (strcmp(k, "bss") == 0) {
        buf_reserve(bytes, n * (size_t)(w > 0 ? w : 1));
        ok = pq_byte_stream_split_decode(in, len, bytes->data, n, (int)w, err);
        if (ok) bytes->len = n * (size_t)w;
    } else {
        cr_assert_fail("%s:%d: unknown kind %s", c->file, c->line, k);
    }
    return ok;
}

static bool is_string_kind(const char *k) {
    return strcmp(k, "plain_ba") == 0 || strcmp(k, "dlba") == 0 || strcmp(k, "dba") == 0;
}

static void check_decoder(const tcase *c) {
    buf_t in = BUF_INIT, bytes = BUF_INIT, want_bytes = BUF_INIT;
    parse_hex(c, c->input, &in);
    bool want_err = strncmp(c->expected, "error: ", 7) == 0;
    int64_t *want = NULL;
    uint32_t *want_off = NULL;
    long long pn = -1;
    param(c, "n", &pn);
    size_t n;
    if (want_err) {
        cr_assert(pn >= 0, "%s:%d: an error case needs n=", c->file, c->line);
        n = (size_t)pn;
    } else if (is_string_kind(c->kind)) {
        cr_assert(pn >= 0, "%s:%d: a string case needs n=", c->file, c->line);
        n = (size_t)pn;
        parse_strings(c, c->expected, n, &want_off, &want_bytes);
    } else if (strcmp(c->kind, "bss") == 0) {
        parse_hex(c, c->expected, &want_bytes);
        long long w = 1;
        param(c, "w", &w);
        n = want_bytes.len / (size_t)w;
    } else {
        n = parse_values(c, c->expected, &want);
        if (pn >= 0) cr_assert_eq(n, (size_t)pn, "%s:%d: n= disagrees with the values", c->file, c->line);
    }
    uint8_t *exact = exact_copy(in.data, in.len);
    int64_t *vals = calloc(n + 1, sizeof *vals);
    uint32_t *offsets = calloc(n + 1, sizeof *offsets);
    size_t count = 0, used = 0;
    floe_err err = {0};
    bool ok = run_decoder(c, exact, in.len, n, vals, &bytes, offsets, &count, &used, &err);
    if (want_err) {
        cr_expect(!ok, "%s:%d: %s succeeded, want an error", c->file, c->line, c->kind);
        cr_expect_eq(err.code, FLOE_EINVAL, "%s:%d: code %s, want EINVAL", c->file, c->line, floe_code_name(err.code));
        cr_expect(strstr(err.msg, c->expected + 7), "%s:%d: message '%s' lacks '%s'", c->file, c->line, err.msg,
                  c->expected + 7);
    } else {
        cr_expect(ok, "%s:%d: %s failed: %s", c->file, c->line, c->kind, err.msg);
        if (ok) {
            long long want_used = (long long)in.len;
            param(c, "used", &want_used);
            if (strcmp(c->kind, "plain_ba") == 0 || strncmp(c->kind, "delta", 5) == 0)
                cr_expect_eq(used, (size_t)want_used, "%s:%d: used %zu bytes, want %lld", c->file, c->line, used,
                             want_used);
            if (strncmp(c->kind, "delta", 5) == 0)
                cr_expect_eq(count, n, "%s:%d: %zu values, want %zu", c->file, c->line, count, n);
            if (is_string_kind(c->kind)) {
                expect_bytes(c, bytes.data, bytes.len, &want_bytes);
                for (size_t i = 0; i <= n; i++)
                    cr_expect_eq(offsets[i], want_off[i], "%s:%d: offsets[%zu] = %u, want %u", c->file, c->line, i,
                                 offsets[i], want_off[i]);
            } else if (strcmp(c->kind, "bss") == 0) {
                expect_bytes(c, bytes.data, bytes.len, &want_bytes);
            } else {
                for (size_t i = 0; i < n; i++)
                    cr_expect_eq(vals[i], want[i], "%s:%d: value %zu is %" PRId64 ", want %" PRId64, c->file, c->line,
                                 i, vals[i], want[i]);
            }
        }
    }
    free(exact);
    free(vals);
    free(offsets);
    free(want);
    free(want_off);
    buf_free(&in);
    buf_free(&bytes);
    buf_free(&want_bytes);
}

static void check_encoder(const tcase *c) {
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)(strlen(c->kind) - 4), c->kind);
    buf_t out = BUF_INIT, want = BUF_INIT, bytes = BUF_INIT;
    parse_hex(c, c->expected, &want);
    long long w = 0, pn = 0;
    param(c, "w", &w);
    param(c, "n", &pn);
    int64_t *vals = NULL;
    uint32_t *offsets = NULL;
    size_t n = 0;
    if (is_string_kind(kind)) {
        n = (size_t)pn;
        parse_strings(c, c->input, n, &offsets, &bytes);
    } else if (strcmp(kind, "bss") == 0) {
        parse_hex(c, c->input, &bytes);
        n = bytes.len / (size_t)w;
    } else {
        n = parse_values(c, c->input, &vals);
    }
    uint32_t *v32 = malloc(4 * n + 4);
    uint8_t *v8 = malloc(n + 1);
    int32_t *i32 = malloc(4 * n + 4);
    for (size_t i = 0; vals && i < n; i++) {
        v32[i] = (uint32_t)vals[i];
        v8[i] = (uint8_t)vals[i];
        i32[i] = (int32_t)vals[i];
    }
    if (strcmp(kind, "rle") == 0)
        pq_rle_encode(&out, v32, n, (int)w);
    else if (strcmp(kind, "rle_u8") == 0)
        pq_rle_encode_u8(&out, v8, n, (int)w);
    else if (strcmp(kind, "bool") == 0)
        pq_plain_encode_bool(&out, v8, n);
    else if (strcmp(kind, "delta32") == 0)
        pq_delta_encode_i32(&out, i32, n);
    else if (strcmp(kind, "delta64") == 0)
        pq_delta_encode_i64(&out, vals, n);
    else if (strcmp(kind, "dlba") == 0)
        pq_delta_length_encode(&out, offsets, (const uint8_t *)bytes.data, n);
    else if (strcmp(kind, "dba") == 0)
        pq_delta_byte_array_encode(&out, offsets, (const uint8_t *)bytes.data, n);
    else if (strcmp(kind, "bss") == 0)
        pq_byte_stream_split_encode(&out, bytes.data, n, (int)w);
    else
        cr_assert_fail("%s:%d: unknown kind %s", c->file, c->line, c->kind);
    expect_bytes(c, out.data, out.len, &want);
    free(v32);
    free(v8);
    free(i32);
    free(vals);
    free(offsets);
    buf_free(&out);
    buf_free(&want);
    buf_free(&bytes);
}

/* Runs every case in one file; returns how many there were. */
static int run_case_file(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s (tests run from the repository root)", path);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, cases = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        tcase c = {path, lineno, NULL, NULL, NULL, NULL};
        char *rest = line;
        c.kind = strsep(&rest, "\t");
        c.params = strsep(&rest, "\t");
        c.input = strsep(&rest, "\t");
        c.expected = rest;
        cr_assert(c.expected, "%s:%d: expected kind<TAB>params<TAB>input<TAB>expected", path, lineno);
        size_t kl = strlen(c.kind);
        if (kl > 4 && strcmp(c.kind + kl - 4, "_enc") == 0)
            check_encoder(&c);
        else
            check_decoder(&c);
        cases++;
    }
    free(line);
    fclose(f);
    return cases;
}

Test(encoding_cases, table) {
    int cases = run_case_file(CASES);
    cr_expect_gt(cases, 100, "only %d cases in %s", cases, CASES);
}

/* Pages DuckDB and hyparquet-writer wrote (tests/e2e/gen_encoding_vectors.mjs),
 * with the values DuckDB reads back from them. */
Test(encoding_cases, peer_pages) {
    int cases = run_case_file(PEER_CASES);
    cr_expect_geq(cases, 25, "only %d cases in %s", cases, PEER_CASES);
}

/* ---- bit-packing kernels ---------------------------------------------- */

static uint64_t ref_get(const uint8_t *p, size_t i, int w) {
    uint64_t v = 0;
    for (int b = 0; b < w; b++) {
        size_t bit = i * (size_t)w + (size_t)b;
        v |= (uint64_t)((p[bit / 8] >> (bit % 8)) & 1) << b;
    }
    return v;
}

Test(encoding_bitpack, unpack_matches_reference) {
    rng_seed(1);
    for (int w = 0; w <= 64; w++) {
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = sizes[si], nbytes = (n * (size_t)w + 7) / 8;
            uint8_t *raw = malloc(nbytes + 1);
            for (size_t i = 0; i < nbytes; i++) raw[i] = (uint8_t)rng();
            /* exactly nbytes readable: the kernels must not overread */
            uint8_t *in = exact_copy(raw, nbytes);
            uint64_t *o64 = malloc(8 * n + 8);
            uint32_t *o32 = malloc(4 * n + 4);
            uint8_t *o8 = malloc(n + 1), *g8 = malloc(n + 1);
            pq_unpack_u64(in, nbytes, w, o64, n);
            if (w <= 32) pq_unpack_u32(in, nbytes, w, o32, n);
            if (w <= 8) {
                pq_unpack_u8(in, nbytes, w, o8, n);
                pq_unpack_u8_generic(in, nbytes, w, g8, n);
            }
            for (size_t i = 0; i < n; i++) {
                uint64_t want = ref_get(raw, i, w);
                cr_assert_eq(o64[i], want, "u64 w=%d n=%zu value %zu", w, n, i);
                if (w <= 32) cr_assert_eq(o32[i], want, "u32 w=%d n=%zu value %zu", w, n, i);
                if (w <= 8) {
                    cr_assert_eq(o8[i], want, "u8 w=%d n=%zu value %zu", w, n, i);
                    cr_assert_eq(g8[i], want, "u8 generic w=%d n=%zu value %zu", w, n, i);
                }
            }
            /* and again with slack, so the in-place fast path runs */
            uint8_t *slack = calloc(nbytes + 64, 1);
            memcpy(slack, raw, nbytes);
            pq_unpack_u64(slack, nbytes + 64, w, o64, n);
            for (size_t i = 0; i < n; i++) cr_assert_eq(o64[i], ref_get(raw, i, w), "slack w=%d value %zu", w, i);
            free(slack);
            free(raw);
            free(in);
            free(o64);
            free(o32);
            free(o8);
            free(g8);
        }
    }
}

Test(encoding_bitpack, pack_matches_reference) {
    rng_seed(2);
    for (int w = 0; w <= 64; w++) {
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = sizes[si];
            uint64_t *v = malloc(8 * n + 8);
            uint32_t *v32 = malloc(4 * n + 4);
            uint8_t *v8 = malloc(n + 1);
            for (size_t i = 0; i < n; i++) {
                v[i] = rng(); /* high bits must be dropped */
                v32[i] = (uint32_t)v[i];
                v8[i] = (uint8_t)v[i];
            }
            buf_t b = BUF_INIT, b32 = BUF_INIT, b8 = BUF_INIT;
            buf_putc(&b, 'x'); /* packs append */
            pq_pack_u64(&b, v, n, w);
            cr_assert_eq(b.len, 1 + (n * (size_t)w + 7) / 8, "w=%d n=%zu: %zu bytes", w, n, b.len);
            const uint8_t *p = (const uint8_t *)b.data + 1;
            uint64_t mask = w == 64 ? UINT64_MAX : (1ULL << w) - 1;
            for (size_t i = 0; i < n; i++) cr_assert_eq(ref_get(p, i, w), v[i] & mask, "w=%d n=%zu value %zu", w, n, i);
            if ((n * (size_t)w) % 8) /* padding bits are zero */
                cr_assert_eq(p[b.len - 2] >> ((n * (size_t)w) % 8), 0, "w=%d n=%zu: padding", w, n);
            if (w <= 32) {
                pq_pack_u32(&b32, v32, n, w);
                cr_assert(b32.len == b.len - 1 && (b32.len == 0 || memcmp(b32.data, p, b32.len) == 0), "u32 w=%d", w);
            }
            if (w <= 8) {
                pq_pack_u8(&b8, v8, n, w);
                cr_assert(b8.len == b.len - 1 && (b8.len == 0 || memcmp(b8.data, p, b8.len) == 0), "u8 w=%d", w);
            }
            free(v);
            free(v32);
            free(v8);
            buf_free(&b);
            buf_free(&b32);
            buf_free(&b8);
        }
    }
}

Test(encoding_bitpack, bit_width) {
    cr_expect_eq(pq_bit_width(0), 0);
    cr_expect_eq(pq_bit_width(1), 1);
    cr_expect_eq(pq_bit_width(2), 2);
    cr_expect_eq(pq_bit_width(3), 2);
    cr_expect_eq(pq_bit_width(4), 3);
    cr_expect_eq(pq_bit_width(255), 8);
    cr_expect_eq(pq_bit_width(256), 9);
    cr_expect_eq(pq_bit_width(UINT32_MAX), 32);
    cr_expect_eq(pq_bit_width((uint64_t)UINT32_MAX + 1), 33);
    cr_expect_eq(pq_bit_width(UINT64_MAX), 64);
    for (int b = 0; b < 64; b++) cr_expect_eq(pq_bit_width(1ULL << b), b + 1);
}

/* ---- RLE round trips -------------------------------------------------- */

/* Random values below 2^w in one of several shapes: uniform, runs of random
 * lengths, mostly one value, or alternating long and short runs. */
static void fill_levels(uint32_t *v, size_t n, int w, int shape) {
    uint32_t max = w >= 32 ? UINT32_MAX : (1u << w) - 1;
    size_t i = 0;
    while (i < n) {
        uint32_t x = (uint32_t)(rng() & max);
        size_t run = shape == 0   ? 1
                     : shape == 1 ? 1 + rng_below(40)
                     : shape == 2 ? 1 + rng_below(200)
                     : (i & 1)    ? 9
                                  : 3;
        if (shape == 2 && rng_below(4) == 0) x = 0;
        for (size_t k = 0; k < run && i < n; k++) v[i++] = x;
    }
}

static void rle_round_trip(const uint32_t *v, size_t n, int w) {
    buf_t enc = BUF_INIT;
    pq_rle_encode(&enc, v, n, w);
    uint8_t *in = exact_copy(enc.data, enc.len);
    uint32_t *out = malloc(4 * n + 4);
    floe_err err = {0};
    cr_assert(pq_rle_decode(in, enc.len, w, out, n, &err), "w=%d n=%zu: %s", w, n, err.msg);
    for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], v[i], "w=%d n=%zu: value %zu", w, n, i);
    if (w <= 8) {
        uint8_t *v8 = malloc(n + 1), *o8 = malloc(n + 1);
        for (size_t i = 0; i < n; i++) v8[i] = (uint8_t)v[i];
        buf_t enc8 = BUF_INIT;
        pq_rle_encode_u8(&enc8, v8, n, w);
        cr_assert(enc8.len == enc.len && (enc.len == 0 || memcmp(enc8.data, enc.data, enc.len) == 0),
                  "w=%d n=%zu: u8 encoding differs", w, n);
        cr_assert(pq_rle_decode_u8(in, enc.len, w, o8, n, &err), "u8 w=%d n=%zu: %s", w, n, err.msg);
        for (size_t i = 0; i < n; i++) cr_assert_eq(o8[i], v8[i], "u8 w=%d n=%zu: value %zu", w, n, i);
        free(v8);
        free(o8);
        buf_free(&enc8);
    }
    free(in);
    free(out);
    buf_free(&enc);
}

Test(encoding_rle, round_trip) {
    rng_seed(3);
    for (int w = 0; w <= 32; w++)
        for (size_t si = 0; si < NSIZES; si++)
            for (int shape = 0; shape < 4; shape++) {
                size_t n = sizes[si];
                uint32_t *v = malloc(4 * n + 4);
                fill_levels(v, n, w, shape);
                rle_round_trip(v, n, w);
                free(v);
            }
}

/* The encoder uses RLE runs for repeats of 8 or more, bit-packing elsewhere,
 * so it is never much larger than plain bit-packing and is tiny on runs. */
Test(encoding_rle, encoder_is_compact) {
    rng_seed(4);
    size_t n = 100000;
    uint32_t *v = malloc(4 * n);
    for (int w = 1; w <= 32; w++) {
        fill_levels(v, n, w, 0);
        buf_t enc = BUF_INIT;
        pq_rle_encode(&enc, v, n, w);
        size_t packed = n * (size_t)w / 8;
        cr_expect_leq(enc.len, packed + packed / 25 + 16, "w=%d: %zu bytes for %zu bit-packed", w, enc.len, packed);
        buf_free(&enc);
        for (size_t i = 0; i < n; i++) v[i] = (uint32_t)((i / 1000) & ((1ULL << w) - 1));
        pq_rle_encode(&enc, v, n, w);
        cr_expect_leq(enc.len, 100 * (3 + 4), "w=%d: runs of 1000 took %zu bytes", w, enc.len);
        buf_free(&enc);
    }
    free(v);
}

/* A truncated stream fails with a message, or (the last bit-packed run cut
 * after the bytes its wanted values need) decodes the same values. */
Test(encoding_rle, truncation_fails_or_agrees) {
    rng_seed(5);
    for (int w = 1; w <= 32; w += 3) {
        size_t n = 300;
        uint32_t *v = malloc(4 * n), *out = malloc(4 * n);
        fill_levels(v, n, w, 1);
        buf_t enc = BUF_INIT;
        pq_rle_encode(&enc, v, n, w);
        for (size_t cut = 0; cut < enc.len; cut++) {
            uint8_t *in = exact_copy(enc.data, cut);
            floe_err err = {0};
            if (pq_rle_decode(in, cut, w, out, n, &err)) {
                cr_assert(memcmp(out, v, 4 * n) == 0, "w=%d cut %zu: decoded different values", w, cut);
            } else {
                cr_assert_eq(err.code, FLOE_EINVAL, "w=%d cut %zu", w, cut);
                cr_assert(strstr(err.msg, "RLE") && strstr(err.msg, "byte"), "w=%d cut %zu: '%s'", w, cut, err.msg);
            }
            free(in);
        }
        free(v);
        free(out);
        buf_free(&enc);
    }
}

Test(encoding_rle, asks_for_fewer_values) {
    uint32_t v[100], out[100];
    for (int i = 0; i < 100; i++) v[i] = (uint32_t)(i % 7);
    buf_t enc = BUF_INIT;
    pq_rle_encode(&enc, v, 100, 3);
    floe_err err;
    for (size_t n = 0; n <= 100; n++) {
        cr_assert(pq_rle_decode((const uint8_t *)enc.data, enc.len, 3, out, n, &err), "n=%zu: %s", n, err.msg);
        cr_assert(memcmp(out, v, 4 * n) == 0);
    }
    uint32_t *more = malloc(4 * 200);
    cr_assert(!pq_rle_decode((const uint8_t *)enc.data, enc.len, 3, more, 200, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    free(more);
    buf_free(&enc);
}

/* pq_rle_single_run answers yes only for a stream that starts with one RLE
 * run of exactly n values, and then names the value the decoder gives. */
Test(encoding_rle, single_run) {
    for (int w = 1; w <= 32; w += 5)
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = sizes[si];
            uint32_t x = (uint32_t)((0x5a5a5a5aULL * (n + 1)) & (w == 32 ? UINT32_MAX : (1u << w) - 1));
            uint32_t *v = malloc(4 * n + 4), got = 0;
            for (size_t i = 0; i < n; i++) v[i] = x;
            buf_t enc = BUF_INIT;
            pq_rle_encode(&enc, v, n, w);
            uint8_t *in = exact_copy(enc.data, enc.len);
            bool one = pq_rle_single_run(in, enc.len, w, n, &got);
            cr_assert_eq(one, n >= 8, "w=%d n=%zu", w, n); /* shorter runs are bit-packed */
            if (one) cr_assert_eq(got, x, "w=%d n=%zu", w, n);
            cr_assert(!pq_rle_single_run(in, enc.len, w, n + 1, &got), "w=%d n=%zu asked for more", w, n);
            if (n >= 8) cr_assert(!pq_rle_single_run(in, enc.len - 1, w, n, &got), "w=%d n=%zu cut short", w, n);
            free(in);
            buf_free(&enc);
            if (n > 8) { /* two runs */
                v[n - 1] ^= 1;
                pq_rle_encode(&enc, v, n, w);
                cr_assert(!pq_rle_single_run((const uint8_t *)enc.data, enc.len, w, n, &got), "w=%d n=%zu", w, n);
                buf_free(&enc);
            }
            free(v);
        }
}

/* The reader's kernels against one-value-at-a-time loops, at every length
 * and offset around their 16-value steps. */
Test(encoding_rle, level_kernels) {
    rng_seed(6);
    uint8_t lev[300], bits[64], ref[64];
    uint32_t idx[300], out[300];
    for (size_t n = 0; n < 140; n++)
        for (uint8_t max = 0; max < 4; max++) {
            for (size_t i = 0; i < n; i++) lev[i] = (uint8_t)rng_below(max + 1 + (i == n / 2 && max == 2));
            size_t count = 0;
            bool over = false, got_over;
            for (size_t i = 0; i < n; i++) count += lev[i] == max, over |= lev[i] > max;
            uint8_t *in = exact_copy(lev, n);
            cr_assert_eq(pq_count_levels(in, n, max, &got_over), count, "n=%zu max=%u", n, max);
            cr_assert_eq(got_over, over, "n=%zu max=%u", n, max);
            for (size_t from = 0; from < 10; from++) {
                memset(bits, 0xa5, sizeof bits);
                memset(ref, 0xa5, sizeof ref);
                for (size_t i = 0; i < n; i++) {
                    size_t b = from + i;
                    ref[b / 8] = (uint8_t)((ref[b / 8] & ~(1u << b % 8)) | (unsigned)(in[i] == max) << b % 8);
                }
                pq_levels_to_bits(bits, from, in, n, max);
                cr_assert(memcmp(bits, ref, sizeof bits) == 0, "n=%zu max=%u from=%zu", n, max, from);
            }
            free(in);
            uint32_t limit = (uint32_t)rng_below(50) + (max == 3 ? 0x80000000u : 0);
            bool below = true;
            for (size_t i = 0; i < n; i++) {
                idx[i] = (uint32_t)rng_below(limit) + (rng_below(200) == 0 ? limit : 0) + (max == 1 ? 0x7fffffffu : 0);
                below &= idx[i] < limit;
            }
            cr_assert_eq(pq_indices_below(idx, n, limit), below, "n=%zu limit=%u", n, limit);
            memset(out, 0, sizeof out);
            pq_fill_u32(out + 1, n, 7);
            for (size_t i = 0; i < n + 2; i++) cr_assert_eq(out[i], i >= 1 && i <= n ? 7u : 0u, "n=%zu i=%zu", n, i);
        }
    cr_assert(!pq_indices_below(idx, 1, 0));
    cr_assert(pq_indices_below(idx, 0, 0));
}

/* ---- PLAIN ------------------------------------------------------------ */

Test(encoding_plain, bool_round_trip) {
    rng_seed(6);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        uint8_t *v = malloc(n + 1), *out = malloc(n + 1);
        for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(rng() & 1);
        buf_t enc = BUF_INIT;
        pq_plain_encode_bool(&enc, v, n);
        cr_assert_eq(enc.len, (n + 7) / 8);
        uint8_t *in = exact_copy(enc.data, enc.len);
        floe_err err;
        cr_assert(pq_plain_decode_bool(in, enc.len, out, n, &err), "%s", err.msg);
        cr_assert(n == 0 || memcmp(out, v, n) == 0, "n=%zu", n);
        if (n > 0) {
            cr_assert(!pq_plain_decode_bool(in, enc.len - 1, out, n, &err));
            cr_assert_eq(err.code, FLOE_EINVAL);
        }
        free(in);
        free(v);
        free(out);
        buf_free(&enc);
    }
}

/* Random strings, often sharing prefixes with the one before. */
static void fill_strings(size_t n, uint32_t *offsets, buf_t *bytes, int shape) {
    offsets[0] = (uint32_t)bytes->len;
    for (size_t i = 0; i < n; i++) {
        size_t l = shape == 0 ? rng_below(20) : shape == 1 ? rng_below(3) : rng_below(300);
        size_t prev_len = i ? offsets[i] - offsets[i - 1] : 0;
        size_t share = prev_len && rng_below(2) ? rng_below(prev_len + 1) : 0;
        if (share > l) l = share + rng_below(5);
        size_t start = bytes->len;
        buf_reserve(bytes, l); /* so appending from bytes itself is safe */
        if (share) buf_append(bytes, bytes->data + offsets[i - 1], share);
        for (size_t k = share; k < l; k++) buf_putc(bytes, (char)(shape == 1 ? 'a' + rng_below(2) : rng()));
        offsets[i + 1] = (uint32_t)(start + l);
    }
}

typedef void (*str_encoder)(buf_t *, const uint32_t *, const uint8_t *, size_t);
typedef bool (*str_decoder)(const uint8_t *, size_t, size_t, uint32_t *, buf_t *, floe_err *);

static void plain_ba_encode(buf_t *out, const uint32_t *offsets, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t l = offsets[i + 1] - offsets[i];
        buf_append(out, &l, 4);
        buf_append(out, bytes + offsets[i], l);
    }
}

static bool plain_ba_decode(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, floe_err *err) {
    size_t used;
    if (!pq_plain_decode_byte_array(p, len, n, offsets, bytes, &used, err)) return false;
    cr_assert_eq(used, len);
    return true;
}

static void string_round_trips(const char *name, str_encoder enc_fn, str_decoder dec_fn) {
    rng_seed(7);
    for (size_t si = 0; si < NSIZES; si++)
        for (int shape = 0; shape < 3; shape++) {
            size_t n = sizes[si];
            uint32_t *off = malloc(4 * (n + 1)), *got = malloc(4 * (n + 1));
            buf_t bytes = BUF_INIT, enc = BUF_INIT, out = BUF_INIT;
            fill_strings(n, off, &bytes, shape);
            enc_fn(&enc, off, (const uint8_t *)bytes.data, n);
            uint8_t *in = exact_copy(enc.data, enc.len);
            buf_append(&out, "prefix", 6); /* decoders append */
            floe_err err = {0};
            cr_assert(dec_fn(in, enc.len, n, got, &out, &err), "%s n=%zu shape %d: %s", name, n, shape, err.msg);
            cr_assert_eq(out.len, 6 + bytes.len, "%s n=%zu", name, n);
            cr_assert(bytes.len == 0 || memcmp(out.data + 6, bytes.data, bytes.len) == 0, "%s n=%zu bytes", name, n);
            for (size_t i = 0; i <= n; i++) cr_assert_eq(got[i], off[i] + 6, "%s n=%zu offsets[%zu]", name, n, i);
            /* every truncation fails cleanly and leaves the output as it was */
            if (n > 0 && n <= 129)
                for (size_t cut = 0; cut < enc.len; cut++) {
                    uint8_t *t = exact_copy(enc.data, cut);
                    out.len = 6;
                    bool ok = dec_fn(t, cut, n, got, &out, &err);
                    if (ok) {
                        cr_assert(out.len == 6 + bytes.len && memcmp(out.data + 6, bytes.data, bytes.len) == 0,
                                  "%s n=%zu cut %zu: decoded different bytes", name, n, cut);
                    } else {
                        cr_assert_eq(err.code, FLOE_EINVAL, "%s n=%zu cut %zu", name, n, cut);
                        cr_assert_eq(out.len, 6, "%s n=%zu cut %zu: output changed on failure", name, n, cut);
                        cr_assert(strstr(err.msg, name), "%s cut %zu: '%s'", name, cut, err.msg);
                    }
                    free(t);
                }
            free(in);
            free(off);
            free(got);
            buf_free(&bytes);
            buf_free(&enc);
            buf_free(&out);
        }
}

Test(encoding_plain, byte_array_round_trip) {
    string_round_trips("PLAIN BYTE_ARRAY", plain_ba_encode, plain_ba_decode);
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------- */

static void fill_ints(int64_t *v, size_t n, int shape) {
    uint64_t x = rng();
    for (size_t i = 0; i < n; i++) {
        switch (shape) {
        case 0: v[i] = (int64_t)rng(); break;                              /* anything */
        case 1: v[i] = (int64_t)(x += rng_below(100)); break;              /* sorted */
        case 2: v[i] = 42; break;                                          /* constant */
        case 3: v[i] = (i & 1) ? INT64_MAX : INT64_MIN; break;             /* extremes */
        case 4: v[i] = (int64_t)rng_below(5) - 2; break;                   /* small */
        case 5: v[i] = (int64_t)(x -= rng() >> rng_below(64)); break;      /* wrapping descents */
        case 6: v[i] = rng_below(10) ? (int64_t)i : (int64_t)rng(); break; /* outliers */
        default: v[i] = (int64_t)(rng() >> rng_below(64)) * (rng() & 1 ? 1 : -1); break;
        }
    }
}
#define NSHAPES 8

static void delta_round_trip64(const int64_t *v, size_t n, int shape) {
    buf_t enc = BUF_INIT;
    pq_delta_encode_i64(&enc, v, n);
    uint8_t *in = exact_copy(enc.data, enc.len);
    int64_t *out = malloc(8 * n + 8);
    size_t count = 99, used = 0;
    floe_err err = {0};
    cr_assert(pq_delta_decode_i64(in, enc.len, out, n, &count, &used, &err), "n=%zu shape %d: %s", n, shape, err.msg);
    cr_assert_eq(count, n);
    cr_assert_eq(used, enc.len, "n=%zu shape %d: used %zu of %zu", n, shape, used, enc.len);
    for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], v[i], "n=%zu shape %d value %zu", n, shape, i);
    if (n > 0) {
        cr_assert(!pq_delta_decode_i64(in, enc.len, out, n - 1, &count, &used, &err));
        cr_assert_eq(err.code, FLOE_EINVAL);
    }
    free(in);
    free(out);
    buf_free(&enc);
}

static void delta_round_trip32(const int32_t *v, size_t n, int shape) {
    buf_t enc = BUF_INIT;
    pq_delta_encode_i32(&enc, v, n);
    uint8_t *in = exact_copy(enc.data, enc.len);
    int32_t *out = malloc(4 * n + 4);
    size_t count = 99, used = 0;
    floe_err err = {0};
    cr_assert(pq_delta_decode_i32(in, enc.len, out, n, &count, &used, &err), "n=%zu shape %d: %s", n, shape, err.msg);
    cr_assert_eq(count, n);
    cr_assert_eq(used, enc.len);
    for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], v[i], "n=%zu shape %d value %zu", n, shape, i);
    /* INT32 streams decode as INT64 too when no delta wraps 32 bits */
    free(in);
    free(out);
    buf_free(&enc);
}

Test(encoding_delta, round_trip) {
    rng_seed(8);
    for (size_t si = 0; si < NSIZES; si++)
        for (int shape = 0; shape < NSHAPES; shape++) {
            size_t n = sizes[si];
            int64_t *v = malloc(8 * n + 8);
            int32_t *v32 = malloc(4 * n + 4);
            fill_ints(v, n, shape);
            for (size_t i = 0; i < n; i++)
                v32[i] = shape == 3 ? ((i & 1) ? INT32_MAX : INT32_MIN) : (int32_t)(uint32_t)v[i];
            delta_round_trip64(v, n, shape);
            delta_round_trip32(v32, n, shape);
            free(v);
            free(v32);
        }
}

/* The encoder picks each miniblock's width from its own deltas, relative
 * to the block's min delta: deltas of 1, 1000, 0 and 2^20 in the four
 * miniblocks give widths 1, 10, 0 and 21. */
Test(encoding_delta, per_miniblock_widths) {
    int64_t v[129];
    v[0] = 5;
    for (int j = 1; j <= 128; j++) v[j] = v[j - 1] + (j <= 32 ? 1 : j <= 64 ? 1000 : j <= 96 ? 0 : 1 << 20);
    buf_t enc = BUF_INIT;
    pq_delta_encode_i64(&enc, v, 129);
    /* header 80 01 04 81 01 0a, min delta 00, then the 4 widths */
    static const uint8_t head[] = {0x80, 0x01, 0x04, 0x81, 0x01, 0x0a, 0x00, 1, 10, 0, 21};
    cr_assert_geq(enc.len, sizeof head);
    cr_assert(memcmp(enc.data, head, sizeof head) == 0);
    cr_assert_eq(enc.len, sizeof head + 4 * (1 + 10 + 0 + 21), "%zu bytes", enc.len);
    buf_free(&enc);
}

Test(encoding_delta, truncation_fails_or_agrees) {
    rng_seed(9);
    for (int shape = 0; shape < NSHAPES; shape++) {
        size_t n = 300;
        int64_t *v = malloc(8 * n), *out = malloc(8 * n);
        fill_ints(v, n, shape);
        buf_t enc = BUF_INIT;
        pq_delta_encode_i64(&enc, v, n);
        for (size_t cut = 0; cut < enc.len; cut++) {
            uint8_t *in = exact_copy(enc.data, cut);
            floe_err err = {0};
            size_t count, used;
            if (pq_delta_decode_i64(in, cut, out, n, &count, &used, &err)) {
                cr_assert(count == n && memcmp(out, v, 8 * n) == 0, "shape %d cut %zu: different values", shape, cut);
                cr_assert_eq(used, cut);
            } else {
                cr_assert_eq(err.code, FLOE_EINVAL, "shape %d cut %zu", shape, cut);
                cr_assert(strstr(err.msg, "DELTA_BINARY_PACKED (INT64) at byte"), "shape %d cut %zu: '%s'", shape, cut,
                          err.msg);
            }
            free(in);
        }
        free(v);
        free(out);
        buf_free(&enc);
    }
}

/* Random bytes after a valid header: any result but a crash or an overread,
 * and failures are EINVAL. */
Test(encoding_delta, corruption_is_contained) {
    rng_seed(10);
    int64_t v[500], out[500];
    int32_t out32[500];
    fill_ints(v, 500, 1);
    buf_t enc = BUF_INIT;
    pq_delta_encode_i64(&enc, v, 500);
    for (int trial = 0; trial < 2000; trial++) {
        uint8_t *in = exact_copy(enc.data, enc.len);
        int flips = 1 + (int)rng_below(4);
        for (int f = 0; f < flips; f++) in[rng_below(enc.len)] ^= (uint8_t)(1u << rng_below(8));
        floe_err err = {0};
        size_t count, used;
        if (!pq_delta_decode_i64(in, enc.len, out, 500, &count, &used, &err))
            cr_assert_eq(err.code, FLOE_EINVAL);
        else
            cr_assert(count <= 500 && used <= enc.len);
        if (!pq_delta_decode_i32(in, enc.len, out32, 500, &count, &used, &err)) cr_assert_eq(err.code, FLOE_EINVAL);
        free(in);
    }
    buf_free(&enc);
}

/* ---- DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY --------------------- */

Test(encoding_bytes, delta_length_round_trip) {
    string_round_trips("DELTA_LENGTH_BYTE_ARRAY", pq_delta_length_encode, pq_delta_length_decode);
}

Test(encoding_bytes, delta_byte_array_round_trip) {
    string_round_trips("DELTA_BYTE_ARRAY", pq_delta_byte_array_encode, pq_delta_byte_array_decode);
}

/* Encoders read the values between offsets[0] and offsets[n], which need
 * not start at 0. */
Test(encoding_bytes, offsets_need_not_start_at_zero) {
    const char *s = "xxxxhelloworld";
    uint32_t off[] = {4, 9, 14}, got[3];
    str_encoder enc[] = {pq_delta_length_encode, pq_delta_byte_array_encode};
    str_decoder dec[] = {pq_delta_length_decode, pq_delta_byte_array_decode};
    for (int k = 0; k < 2; k++) {
        buf_t e = BUF_INIT, out = BUF_INIT;
        enc[k](&e, off, (const uint8_t *)s, 2);
        floe_err err;
        cr_assert(dec[k]((const uint8_t *)e.data, e.len, 2, got, &out, &err), "%s", err.msg);
        cr_assert_eq(out.len, 10);
        cr_assert(memcmp(out.data, "helloworld", 10) == 0);
        cr_assert(got[0] == 0 && got[1] == 5 && got[2] == 10);
        buf_free(&e);
        buf_free(&out);
    }
}

/* ---- BYTE_STREAM_SPLIT ------------------------------------------------ */

Test(encoding_bytes, byte_stream_split_round_trip) {
    rng_seed(11);
    for (int w = 1; w <= 17; w++)
        for (size_t si = 0; si < NSIZES; si++) {
            size_t n = sizes[si], total = n * (size_t)w;
            uint8_t *v = malloc(total + 1), *out = malloc(total + 1);
            for (size_t i = 0; i < total; i++) v[i] = (uint8_t)rng();
            buf_t enc = BUF_INIT;
            pq_byte_stream_split_encode(&enc, v, n, w);
            cr_assert_eq(enc.len, total);
            for (size_t i = 0; i < n; i++)
                for (int j = 0; j < w; j++) cr_assert_eq((uint8_t)enc.data[(size_t)j * n + i], v[i * (size_t)w + j]);
            uint8_t *in = exact_copy(enc.data, enc.len);
            floe_err err;
            cr_assert(pq_byte_stream_split_decode(in, total, out, n, w, &err), "%s", err.msg);
            cr_assert(total == 0 || memcmp(out, v, total) == 0, "w=%d n=%zu", w, n);
            if (n > 0) {
                cr_assert(!pq_byte_stream_split_decode(in, total - 1, out, n, w, &err) || w == 1);
                cr_assert(!pq_byte_stream_split_decode(in, total, out, n + 1, w, &err));
                cr_assert_eq(err.code, FLOE_EINVAL);
            }
            free(in);
            free(v);
            free(out);
            buf_free(&enc);
        }
}
