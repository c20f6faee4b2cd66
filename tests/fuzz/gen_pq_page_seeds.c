/*
 * gen_pq_page_seeds.c: writes the seed corpus of fuzz_pq_page.c, one file
 * per seed, produced by Floe's own encoders and compressors so every
 * decoder starts from valid pages of several shapes.
 *
 *   make BUILD=build pq-page-seeds     (rewrites tests/fuzz/corpus/pq_page/)
 *
 * Each seed is [target byte][count, 2 bytes LE][page], the layout
 * fuzz_pq_page.c reads; target numbers are listed there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "format/parquet/pq_encoding.h"

static const char *dir;
static int written;
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void seed(const char *name, int target, size_t count, const void *page, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "gen_pq_page_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    uint8_t head[3] = {(uint8_t)target, (uint8_t)count, (uint8_t)(count >> 8)};
    fwrite(head, 1, 3, f);
    fwrite(page, 1, len, f);
    fclose(f);
    written++;
}

/* Values below 2^w: runs of random length, or uniform when runs is 0. */
static void levels(uint32_t *v, size_t n, int w, int runs) {
    uint32_t mask = w >= 32 ? UINT32_MAX : (1u << w) - 1;
    for (size_t i = 0; i < n;) {
        uint32_t x = (uint32_t)rng() & mask;
        size_t r = runs ? 1 + rng() % 30 : 1;
        for (size_t k = 0; k < r && i < n; k++) v[i++] = x;
    }
}

static void strings(size_t n, uint32_t *off, buf_t *bytes) {
    static const char *words[] = {"apple", "applesauce", "apricot", "banana", "band", "bandana", "", "c"};
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        buf_puts(bytes, words[rng() % 8]);
        off[i + 1] = (uint32_t)bytes->len;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_pq_page_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0777);
    char name[64];
    buf_t b = BUF_INIT;
    uint32_t v[1000];
    uint8_t v8[1000];

    for (int w = 0; w <= 32; w++)
        for (int runs = 0; runs < 2; runs++) {
            size_t n = runs ? 1000 : 100;
            levels(v, n, w, runs);
            buf_reset(&b);
            pq_rle_encode(&b, v, n, w);
            snprintf(name, sizeof name, "rle_w%d_%s", w, runs ? "runs" : "flat");
            seed(name, w, n, b.data, b.len);
            if (w <= 8) {
                for (size_t i = 0; i < n; i++) v8[i] = (uint8_t)v[i];
                buf_reset(&b);
                pq_rle_encode_u8(&b, v8, n, w);
                snprintf(name, sizeof name, "levels_w%d_%s", w, runs ? "runs" : "flat");
                seed(name, 33 + w, n, b.data, b.len);
            }
        }

    for (size_t i = 0; i < 77; i++) v8[i] = (uint8_t)(rng() & 1);
    buf_reset(&b);
    pq_plain_encode_bool(&b, v8, 77);
    seed("plain_bool", 42, 77, b.data, b.len);

    uint32_t off[41];
    buf_t bytes = BUF_INIT;
    strings(40, off, &bytes);
    buf_reset(&b);
    for (size_t i = 0; i < 40; i++) {
        uint32_t l = off[i + 1] - off[i];
        buf_append(&b, &l, 4);
        buf_append(&b, bytes.data + off[i], l);
    }
    seed("plain_byte_array", 43, 40, b.data, b.len);
    buf_reset(&b);
    pq_delta_length_encode(&b, off, (const uint8_t *)bytes.data, 40);
    seed("delta_length", 46, 40, b.data, b.len);
    buf_reset(&b);
    pq_delta_byte_array_encode(&b, off, (const uint8_t *)bytes.data, 40);
    seed("delta_byte_array", 47, 40, b.data, b.len);

    static const size_t delta_n[] = {0, 1, 5, 129, 600};
    int64_t d64[600];
    int32_t d32[600];
    for (int shape = 0; shape < 3; shape++)
        for (size_t k = 0; k < sizeof delta_n / sizeof delta_n[0]; k++) {
            size_t n = delta_n[k];
            uint64_t x = rng();
            for (size_t i = 0; i < n; i++) {
                x = shape == 0 ? x + rng() % 50 : shape == 1 ? rng() : (i & 1 ? 0x7fffffffffffffffULL : 0);
                d64[i] = (int64_t)x;
                d32[i] = (int32_t)(uint32_t)x;
            }
            buf_reset(&b);
            pq_delta_encode_i32(&b, d32, n);
            snprintf(name, sizeof name, "delta32_s%d_n%zu", shape, n);
            seed(name, 44, n, b.data, b.len);
            buf_reset(&b);
            pq_delta_encode_i64(&b, d64, n);
            snprintf(name, sizeof name, "delta64_s%d_n%zu", shape, n);
            seed(name, 45, n, b.data, b.len);
        }

    static const int bss_widths[] = {1, 2, 3, 4, 8, 12, 16};
    uint8_t raw[16 * 33];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)rng();
    for (int k = 0; k < 7; k++) {
        buf_reset(&b);
        pq_byte_stream_split_encode(&b, raw, 33, bss_widths[k]);
        snprintf(name, sizeof name, "bss_w%d", bss_widths[k]);
        seed(name, 48 + k, 33, b.data, b.len);
    }

    char text[600];
    for (size_t i = 0; i < sizeof text; i++) text[i] = "parquet page of values "[(i * 7 / 5) % 23];
    for (int c = 0; c <= 7; c++) {
        floe_err err;
        buf_reset(&b);
        if (c == PQ_CODEC_LZ4) { /* Hadoop framing around an LZ4 block */
            buf_t blk = BUF_INIT;
            pq_compress(PQ_CODEC_LZ4_RAW, 0, text, sizeof text, &blk, &err);
            uint8_t hdr[8] = {0, 0, (uint8_t)(sizeof text >> 8), (uint8_t)sizeof text,
                              0, 0, (uint8_t)(blk.len >> 8),     (uint8_t)blk.len};
            buf_append(&b, hdr, 8);
            buf_append(&b, blk.data, blk.len);
            buf_free(&blk);
        } else if (c == PQ_CODEC_LZO) {
            buf_append(&b, text, 20);
        } else if (!pq_compress((pq_codec)c, 0, text, sizeof text, &b, &err)) {
            fprintf(stderr, "gen_pq_page_seeds: %s\n", err.msg);
            return 1;
        }
        snprintf(name, sizeof name, "codec_%s", pq_codec_name((pq_codec)c));
        seed(name, 55 + c, sizeof text, b.data, b.len);
    }

    buf_free(&b);
    buf_free(&bytes);
    printf("gen_pq_page_seeds: %d seeds in %s\n", written, dir);
    return 0;
}
