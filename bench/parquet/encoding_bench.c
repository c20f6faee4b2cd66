/*
 * encoding_bench.c: micro-benchmark of the Parquet value decoders and
 * encoders (src/format/parquet/encoding.c), in values per second.
 *
 *   make BUILD=build bench-encoding          (all cases)
 *   build/bench/encoding_bench rle           (cases whose name has "rle")
 *
 * Each case encodes one page-sized buffer of seeded random data (64Ki values,
 * like a real data page), then decodes it over and over for about 0.2 s per
 * round, and reports the best of 5 rounds. Dictionary indices are uniform in
 * the bit width (so nearly all bit-packed, the worst case for a reader) or
 * in runs; levels are random bits or long runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "format/parquet/pq_encoding.h"

#define PAGE 65536
#define ROUNDS 5
#define ROUND_SECONDS 0.2

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench_case bench_case;
struct bench_case {
    const char *name;
    void (*run)(const bench_case *); /* one decode or encode of the page */
    int width;
    int shape;
    buf_t enc;
    size_t n;
    void *in;  /* encoder input */
    void *out; /* decoder output */
    buf_t scratch;
};

static volatile uint64_t sink;

static void fail(const char *what, const floe_err *err) {
    fprintf(stderr, "encoding_bench: %s: %s\n", what, err->msg);
    exit(1);
}

static void run_rle(const bench_case *c) {
    floe_err err;
    if (!pq_rle_decode((const uint8_t *)c->enc.data, c->enc.len, c->width, c->out, c->n, &err)) fail(c->name, &err);
    sink += ((uint32_t *)c->out)[c->n - 1];
}

static void run_levels(const bench_case *c) {
    floe_err err;
    if (!pq_rle_decode_u8((const uint8_t *)c->enc.data, c->enc.len, c->width, c->out, c->n, &err)) fail(c->name, &err);
    sink += ((uint8_t *)c->out)[c->n - 1];
}

static void run_delta64(const bench_case *c) {
    floe_err err;
    size_t count, used;
    if (!pq_delta_decode_i64((const uint8_t *)c->enc.data, c->enc.len, c->out, c->n, &count, &used, &err))
        fail(c->name, &err);
    sink += (uint64_t)((int64_t *)c->out)[c->n - 1];
}

static void run_delta32(const bench_case *c) {
    floe_err err;
    size_t count, used;
    if (!pq_delta_decode_i32((const uint8_t *)c->enc.data, c->enc.len, c->out, c->n, &count, &used, &err))
        fail(c->name, &err);
    sink += (uint32_t)((int32_t *)c->out)[c->n - 1];
}

static void run_bool(const bench_case *c) {
    floe_err err;
    if (!pq_plain_decode_bool((const uint8_t *)c->enc.data, c->enc.len, c->out, c->n, &err)) fail(c->name, &err);
    sink += ((uint8_t *)c->out)[c->n - 1];
}

static void run_strings(const bench_case *c) {
    floe_err err;
    buf_t *bytes = (buf_t *)&c->scratch;
    buf_reset(bytes);
    size_t used;
    bool ok = c->shape == 0 ? pq_plain_decode_byte_array((const uint8_t *)c->enc.data, c->enc.len, c->n, c->out, bytes,
                                                         &used, &err)
              : c->shape == 1
                  ? pq_delta_length_decode((const uint8_t *)c->enc.data, c->enc.len, c->n, c->out, bytes, &err)
                  : pq_delta_byte_array_decode((const uint8_t *)c->enc.data, c->enc.len, c->n, c->out, bytes, &err);
    if (!ok) fail(c->name, &err);
    sink += bytes->len;
}

static void run_bss(const bench_case *c) {
    floe_err err;
    if (!pq_byte_stream_split_decode((const uint8_t *)c->enc.data, c->enc.len, c->out, c->n, c->width, &err))
        fail(c->name, &err);
    sink += ((uint8_t *)c->out)[0];
}

static void run_rle_encode(const bench_case *c) {
    buf_t *b = (buf_t *)&c->scratch;
    buf_reset(b);
    pq_rle_encode(b, c->in, c->n, c->width);
    sink += b->len;
}

static void run_delta_encode(const bench_case *c) {
    buf_t *b = (buf_t *)&c->scratch;
    buf_reset(b);
    pq_delta_encode_i64(b, c->in, c->n);
    sink += b->len;
}

/* Fills the case's input and encodes it. */
static void setup(bench_case *c) {
    size_t n = c->n = PAGE;
    c->in = malloc(n * 8 + 64);
    c->out = malloc(n * 8 + 64);
    uint32_t *u = c->in;
    int64_t *l = c->in;
    uint8_t *b = c->in;
    uint32_t mask = c->width >= 32 ? UINT32_MAX : (1u << c->width) - 1;
    if (c->run == run_rle || c->run == run_rle_encode) {
        for (size_t i = 0; i < n;) {
            uint32_t v = (uint32_t)rng() & mask;
            size_t r = c->shape ? 1 + rng() % 40 : 1;
            for (size_t k = 0; k < r && i < n; k++) u[i++] = v;
        }
        pq_rle_encode(&c->enc, u, n, c->width);
    } else if (c->run == run_levels) {
        for (size_t i = 0; i < n;) {
            uint8_t v = (uint8_t)(rng() & mask);
            size_t r = c->shape ? 1 + rng() % 200 : 1;
            for (size_t k = 0; k < r && i < n; k++) b[i++] = v;
        }
        pq_rle_encode_u8(&c->enc, b, n, c->width);
    } else if (c->run == run_bool) {
        for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(rng() & 1);
        pq_plain_encode_bool(&c->enc, b, n);
    } else if (c->run == run_delta64 || c->run == run_delta32 || c->run == run_delta_encode) {
        int64_t x = 1700000000000000;
        for (size_t i = 0; i < n; i++) l[i] = c->shape ? (int64_t)(rng() >> 1) : (x += (int64_t)(rng() % 1000));
        if (c->run == run_delta32) {
            int32_t *s = c->in;
            for (size_t i = 0; i < n; i++) s[i] = (int32_t)(l[i] & 0xfffffff);
            pq_delta_encode_i32(&c->enc, s, n);
        } else {
            pq_delta_encode_i64(&c->enc, l, n);
        }
    } else if (c->run == run_strings) {
        uint32_t *off = malloc(4 * (n + 1));
        buf_t bytes = BUF_INIT;
        off[0] = 0;
        for (size_t i = 0; i < n; i++) {
            char s[32];
            /* URL-like keys with shared prefixes, 10-30 bytes */
            int len = snprintf(s, sizeof s, "https://ex.com/%06zu/%x", i / 4, (unsigned)(rng() % 4096));
            buf_append(&bytes, s, (size_t)len);
            off[i + 1] = (uint32_t)bytes.len;
        }
        if (c->shape == 0)
            for (size_t i = 0; i < n; i++) {
                uint32_t len = off[i + 1] - off[i];
                buf_append(&c->enc, &len, 4);
                buf_append(&c->enc, bytes.data + off[i], len);
            }
        else if (c->shape == 1)
            pq_delta_length_encode(&c->enc, off, (const uint8_t *)bytes.data, n);
        else
            pq_delta_byte_array_encode(&c->enc, off, (const uint8_t *)bytes.data, n);
        free(c->out);
        c->out = malloc(4 * (n + 1));
        free(off);
        buf_free(&bytes);
    } else if (c->run == run_bss) {
        for (size_t i = 0; i < n * (size_t)c->width; i++) b[i] = (uint8_t)rng();
        pq_byte_stream_split_encode(&c->enc, b, n, c->width);
    }
}

static void measure(bench_case *c) {
    setup(c);
    c->run(c); /* warm up */
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t iters = 0;
        double t0 = now(), t;
        do {
            c->run(c);
            iters++;
        } while ((t = now()) - t0 < ROUND_SECONDS);
        double rate = (double)iters * (double)c->n / (t - t0);
        if (rate > best) best = rate;
    }
    printf("%-34s %9.1f M values/s  %6.2f ns/value  (page %zu bytes)\n", c->name, best / 1e6, 1e9 / best, c->enc.len);
    fflush(stdout);
    free(c->in);
    free(c->out);
    buf_free(&c->enc);
    buf_free(&c->scratch);
}

#define CASE(N, F, W, S)                                                                                               \
    { .name = (N), .run = (F), .width = (W), .shape = (S) }

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    bench_case cases[] = {
        CASE("rle dict indices w=1", run_rle, 1, 0),
        CASE("rle dict indices w=6", run_rle, 6, 0),
        CASE("rle dict indices w=12", run_rle, 12, 0),
        CASE("rle dict indices w=20", run_rle, 20, 0),
        CASE("rle dict indices w=6 runs", run_rle, 6, 1),
        CASE("rle dict indices w=12 runs", run_rle, 12, 1),
        CASE("rle levels w=1", run_levels, 1, 0),
        CASE("rle levels w=1 runs", run_levels, 1, 1),
        CASE("rle levels w=3", run_levels, 3, 0),
        CASE("plain bool", run_bool, 1, 0),
        CASE("delta i64 sorted", run_delta64, 0, 0),
        CASE("delta i64 random", run_delta64, 0, 1),
        CASE("delta i32 sorted", run_delta32, 0, 0),
        CASE("plain byte array (~25 B)", run_strings, 0, 0),
        CASE("delta length byte array (~25 B)", run_strings, 0, 1),
        CASE("delta byte array (~25 B)", run_strings, 0, 2),
        CASE("byte stream split w=4", run_bss, 4, 0),
        CASE("byte stream split w=8", run_bss, 8, 0),
        CASE("encode rle w=12", run_rle_encode, 12, 0),
        CASE("encode rle w=6 runs", run_rle_encode, 6, 1),
        CASE("encode delta i64 sorted", run_delta_encode, 0, 0),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!filter || strstr(cases[i].name, filter)) measure(&cases[i]);
    return 0;
}
