/*
 * test_codec.c: Parquet page compression (src/format/parquet/codec.c).
 *
 * Known answers built by hand from each format's specification are a table
 * in tests/unit/format/data/encoding/codecs.txt. Here: every writable codec
 * round-trips at several sizes and levels; a wrong uncompressed size, a
 * truncation or random bytes fail with FLOE_EINVAL and a message naming the
 * codec; Hadoop-framed LZ4 is read in several frames; zstd's per-thread
 * contexts work across threads.
 */
#include <criterion/criterion.h>
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/parquet/pq_encoding.h"
#include "format_test.h"

#define CODEC_CASES "tests/unit/format/data/encoding/codecs.txt"

static const pq_codec writable[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                    PQ_CODEC_ZSTD,         PQ_CODEC_BROTLI, PQ_CODEC_LZ4_RAW};
#define NWRITABLE (sizeof writable / sizeof writable[0])

/* Page-like data: runs and a small alphabet when compressible, else noise. */
static void fill(uint8_t *p, size_t n, bool compressible) {
    for (size_t i = 0; i < n; i++)
        p[i] = compressible ? (uint8_t)("parquet page "[(i / 7) % 13] + (i % 97 == 0)) : (uint8_t)rng();
}

static bool codec_by_name(const char *name, pq_codec *c) {
    for (int i = 0; i <= 7; i++)
        if (strcmp(pq_codec_name((pq_codec)i), name) == 0) {
            *c = (pq_codec)i;
            return true;
        }
    return false;
}

Test(encoding_codec, table) {
    FILE *f = fopen(CODEC_CASES, "r");
    cr_assert(f, "cannot open %s (tests run from the repository root)", CODEC_CASES);
    char line[4096];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        char *rest = line, *name = strsep(&rest, "\t"), *outlen = strsep(&rest, "\t"), *input = strsep(&rest, "\t");
        cr_assert(rest, "%s:%d: expected codec<TAB>out_len<TAB>input<TAB>expected", CODEC_CASES, lineno);
        pq_codec c;
        cr_assert(codec_by_name(name, &c), "%s:%d: unknown codec %s", CODEC_CASES, lineno, name);
        buf_t in = BUF_INIT, want = BUF_INIT;
        hex_parse(CODEC_CASES, lineno, input, &in);
        size_t out_len = strtoul(outlen, NULL, 10);
        /* exact-size buffers, so ASan sees any read or write past them */
        uint8_t *src = malloc(in.len ? in.len : 1), *dst = malloc(out_len ? out_len : 1);
        if (in.len) memcpy(src, in.data, in.len);
        floe_err err = {0};
        bool ok = pq_decompress(c, src, in.len, dst, out_len, &err);
        if (strncmp(rest, "error: ", 7) == 0) {
            cr_expect(!ok, "%s:%d: %s succeeded, want an error", CODEC_CASES, lineno, name);
            cr_expect_eq(err.code, FLOE_EINVAL, "%s:%d: code %s", CODEC_CASES, lineno, floe_code_name(err.code));
            cr_expect(strstr(err.msg, rest + 7), "%s:%d: message '%s' lacks '%s'", CODEC_CASES, lineno, err.msg,
                      rest + 7);
        } else {
            hex_parse(CODEC_CASES, lineno, rest, &want);
            cr_expect(ok, "%s:%d: %s failed: %s", CODEC_CASES, lineno, name, err.msg);
            cr_expect(ok && want.len == out_len && (out_len == 0 || memcmp(dst, want.data, out_len) == 0),
                      "%s:%d: %s decompressed to other bytes", CODEC_CASES, lineno, name);
        }
        free(src);
        free(dst);
        buf_free(&in);
        buf_free(&want);
        cases++;
    }
    fclose(f);
    cr_expect_gt(cases, 30, "only %d cases in %s", cases, CODEC_CASES);
}

Test(encoding_codec, round_trip) {
    static const size_t sizes[] = {0, 1, 13, 1000, 65543, 300000};
    static const int levels[] = {0, 1, 9};
    for (size_t ci = 0; ci < NWRITABLE; ci++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (int comp = 0; comp < 2; comp++)
                for (size_t li = 0; li < 3; li++) {
                    pq_codec c = writable[ci];
                    size_t n = sizes[si];
                    if (li > 0 && (n > 70000 || c == PQ_CODEC_UNCOMPRESSED)) continue;
                    uint8_t *in = malloc(n + 1), *out = malloc(n + 1);
                    fill(in, n, comp);
                    buf_t enc = BUF_INIT;
                    buf_append(&enc, "hdr", 3); /* pq_compress appends */
                    floe_err err = {0};
                    cr_assert(pq_compress(c, levels[li], in, n, &enc, &err), "%s n=%zu: %s", pq_codec_name(c), n,
                              err.msg);
                    cr_assert(memcmp(enc.data, "hdr", 3) == 0);
                    if (comp && n >= 1000 && c != PQ_CODEC_UNCOMPRESSED)
                        cr_expect_lt(enc.len - 3, n / 4, "%s compressed %zu bytes only to %zu", pq_codec_name(c), n,
                                     enc.len - 3);
                    size_t clen = enc.len - 3;
                    uint8_t *cin = malloc(clen + 1);
                    memcpy(cin, enc.data + 3, clen);
                    cr_assert(pq_decompress(c, cin, clen, out, n, &err), "%s n=%zu level %d: %s", pq_codec_name(c), n,
                              levels[li], err.msg);
                    cr_assert(n == 0 || memcmp(in, out, n) == 0, "%s n=%zu: different bytes", pq_codec_name(c), n);
                    free(cin);
                    free(in);
                    free(out);
                    buf_free(&enc);
                }
}

/* The page header's size must be exact: one byte off either way fails with
 * both sizes in the message; so does any truncation. */
Test(encoding_codec, sizes_must_match) {
    size_t n = 5000;
    uint8_t *in = malloc(n), *out = malloc(n + 1);
    fill(in, n, true);
    for (size_t ci = 0; ci < NWRITABLE; ci++) {
        pq_codec c = writable[ci];
        buf_t enc = BUF_INIT;
        floe_err err = {0};
        cr_assert(pq_compress(c, 0, in, n, &enc, &err));
        for (int d = -1; d <= 1; d += 2) {
            cr_assert(!pq_decompress(c, enc.data, enc.len, out, n + (size_t)d, &err), "%s with out_len %+d",
                      pq_codec_name(c), d);
            cr_assert_eq(err.code, FLOE_EINVAL);
            char want[64];
            snprintf(want, sizeof want, "%zu", n + (size_t)d);
            cr_assert(strstr(err.msg, pq_codec_name(c)) && strstr(err.msg, want), "%s: '%s'", pq_codec_name(c),
                      err.msg);
        }
        for (size_t cut = 0; cut < enc.len; cut += 1 + cut / 4) {
            uint8_t *t = malloc(cut ? cut : 1);
            memcpy(t, enc.data, cut);
            bool ok = pq_decompress(c, t, cut, out, n, &err);
            cr_assert(!ok, "%s: %zu of %zu bytes decompressed", pq_codec_name(c), cut, enc.len);
            cr_assert_eq(err.code, FLOE_EINVAL);
            cr_assert(strstr(err.msg, pq_codec_name(c)), "'%s'", err.msg);
            free(t);
        }
        buf_free(&enc);
    }
    free(in);
    free(out);
}

/* Random bytes never crash a decompressor and never fail but with EINVAL. */
Test(encoding_codec, garbage_fails_cleanly) {
    pq_codec all[] = {PQ_CODEC_SNAPPY,  PQ_CODEC_GZIP, PQ_CODEC_ZSTD, PQ_CODEC_BROTLI,
                      PQ_CODEC_LZ4_RAW, PQ_CODEC_LZ4,  PQ_CODEC_LZO};
    uint8_t in[256], out[512];
    for (int trial = 0; trial < 300; trial++) {
        size_t n = rng() % sizeof in;
        for (size_t i = 0; i < n; i++) in[i] = (uint8_t)rng();
        for (size_t ci = 0; ci < sizeof all / sizeof all[0]; ci++) {
            floe_err err = {0};
            if (!pq_decompress(all[ci], in, n, out, rng() % sizeof out, &err))
                cr_assert_eq(err.code, FLOE_EINVAL, "%s: %s", pq_codec_name(all[ci]), err.msg);
        }
    }
    floe_err err;
    cr_assert(!pq_decompress((pq_codec)99, in, 4, out, 4, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "99"));
}

/* Hadoop framing with many frames (parquet-mr splits at its buffer size),
 * and the same blocks unframed fall back to a bare LZ4 block. */
Test(encoding_codec, lz4_hadoop_frames) {
    size_t n = 200000, chunk = 65536;
    uint8_t *in = malloc(n), *out = malloc(n);
    fill(in, n, true);
    buf_t framed = BUF_INIT;
    char *block = malloc((size_t)LZ4_compressBound((int)chunk));
    for (size_t off = 0; off < n; off += chunk) {
        int len = (int)(n - off < chunk ? n - off : chunk);
        int c = LZ4_compress_default((const char *)in + off, block, len, LZ4_compressBound(len));
        uint8_t hdr[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
                          (uint8_t)(c >> 24),   (uint8_t)(c >> 16),   (uint8_t)(c >> 8),   (uint8_t)c};
        buf_append(&framed, hdr, 8);
        buf_append(&framed, block, (size_t)c);
    }
    floe_err err;
    cr_assert(pq_decompress(PQ_CODEC_LZ4, framed.data, framed.len, out, n, &err), "%s", err.msg);
    cr_assert(memcmp(in, out, n) == 0);
    cr_assert(!pq_decompress(PQ_CODEC_LZ4, framed.data, framed.len, out, n - 1, &err));
    cr_assert(!pq_decompress(PQ_CODEC_LZ4, framed.data, framed.len - 1, out, n, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    /* LZ4_RAW does not read the framing */
    cr_assert(!pq_decompress(PQ_CODEC_LZ4_RAW, framed.data, framed.len, out, n, &err));
    /* an unframed block through the LZ4 codec */
    buf_t raw = BUF_INIT;
    cr_assert(pq_compress(PQ_CODEC_LZ4_RAW, 0, in, n, &raw, &err));
    cr_assert(pq_decompress(PQ_CODEC_LZ4, raw.data, raw.len, out, n, &err), "%s", err.msg);
    cr_assert(memcmp(in, out, n) == 0);
    buf_free(&raw);
    buf_free(&framed);
    free(block);
    free(in);
    free(out);
}

Test(encoding_codec, unwritable_codecs) {
    buf_t out = BUF_INIT;
    floe_err err;
    cr_assert(!pq_compress(PQ_CODEC_LZO, 0, "x", 1, &out, &err));
    cr_assert(strstr(err.msg, "LZO") && strstr(err.msg, "not supported"), "%s", err.msg);
    cr_assert(!pq_compress(PQ_CODEC_LZ4, 0, "x", 1, &out, &err));
    cr_assert(strstr(err.msg, "LZ4_RAW"), "%s", err.msg);
    cr_assert(!pq_compress((pq_codec)42, 0, "x", 1, &out, &err));
    cr_assert_eq(out.len, 0);
    buf_free(&out);
}

Test(encoding_codec, names) {
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    for (int i = 0; i < 8; i++) cr_expect_str_eq(pq_codec_name((pq_codec)i), names[i]);
    cr_expect_str_eq(pq_codec_name((pq_codec)8), "UNKNOWN");
    struct {
        const char *in;
        pq_codec want;
    } ok[] = {{"zstd", PQ_CODEC_ZSTD},       {"ZSTD", PQ_CODEC_ZSTD},         {"snappy", PQ_CODEC_SNAPPY},
              {"gzip", PQ_CODEC_GZIP},       {"none", PQ_CODEC_UNCOMPRESSED}, {"uncompressed", PQ_CODEC_UNCOMPRESSED},
              {"lz4_raw", PQ_CODEC_LZ4_RAW}, {"lz4", PQ_CODEC_LZ4_RAW},       {"Brotli", PQ_CODEC_BROTLI}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pq_codec c = PQ_CODEC_LZO;
        cr_expect(pq_codec_parse(ok[i].in, &c), "%s", ok[i].in);
        cr_expect_eq(c, ok[i].want, "%s", ok[i].in);
    }
    const char *bad[] = {"lzo", "zstd ", "", "zlib", "deflate"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pq_codec c;
        cr_expect(!pq_codec_parse(bad[i], &c), "'%s' parsed", bad[i]);
    }
    pq_codec c;
    cr_expect(!pq_codec_parse(NULL, &c));
}

/* Each thread has its own zstd contexts; they are freed when it ends
 * (LeakSanitizer checks at exit). */
static void *zstd_worker(void *arg) {
    size_t n = 100000;
    uint8_t *in = malloc(n), *out = malloc(n);
    for (size_t i = 0; i < n; i++) in[i] = (uint8_t)(i * (uintptr_t)arg / 7);
    bool good = true;
    for (int round = 0; round < 20 && good; round++) {
        buf_t enc = BUF_INIT;
        floe_err err;
        good = pq_compress(PQ_CODEC_ZSTD, 1 + round % 5, in, n, &enc, &err) &&
               pq_decompress(PQ_CODEC_ZSTD, enc.data, enc.len, out, n, &err) && memcmp(in, out, n) == 0;
        buf_free(&enc);
    }
    free(in);
    free(out);
    return good ? arg : NULL;
}

Test(encoding_codec, zstd_threads) {
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) cr_assert_eq(pthread_create(&t[i], NULL, zstd_worker, (void *)(i + 1)), 0);
    for (uintptr_t i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_expect_eq(r, (void *)(i + 1), "thread %d failed", (int)i);
    }
}
