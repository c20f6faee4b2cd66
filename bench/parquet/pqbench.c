/*
 * pqbench.c: Floe's side of bench/parquet.
 *
 *   pqbench write OUT.parquet N [THREADS]
 *                                  build N trade rows in memory, then time
 *                                  writing them with zstd on THREADS
 *                                  threads (default 1)
 *   pqbench read FILE [THREADS]    time a full decode of every column on
 *                                  THREADS threads (default 1), and print
 *                                  count(*), sum(price), sum(qty), max(ts),
 *                                  count(note) so the work is real and
 *                                  comparable with DuckDB's query
 *
 * The rows match bench/parquet/duck.mjs, which builds them in SQL from the
 * same integer formulas (so both sides hold bit-identical values). Row i
 * draws h_k = mix(8i + k), k = 0..5, from a 32-bit integer hash:
 *   id     = i
 *   symbol = 'S' || s, s = h0 % 50
 *   price  = cents / 100, cents a random walk per symbol: it starts at
 *            20000 + 2000 s and moves by h1 % 7 - 3 at each of its trades
 *   qty    = (1 + (h2 % 1000) * ((h2 >> 10) % 1000)) / 1000 (skewed small)
 *   ts     = 2026-01-01 plus the running sum of gaps in microseconds:
 *            (h3 >> 2) % 20000 when h3 % 4 = 0, else (h3 >> 2) % 200
 *   side   = h4 odd
 *   note   = one of 8 phrases || ' #' || (h5 >> 7) % 100000 when
 *            h5 % 10 = 0 (10%), else null
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/parquet/parquet.h"

#define SCHEMA "id long, symbol string, price double, qty double, ts timestamptz, side boolean, note string"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* A 32-bit integer hash (a bijection), cheap to write in SQL too. */
static uint32_t mix(uint32_t x) {
    x = ((x >> 16) ^ x) * 0x45d9f3bu;
    x = ((x >> 16) ^ x) * 0x45d9f3bu;
    return (x >> 16) ^ x;
}

static uint32_t row_hash(uint64_t i, uint32_t k) { return mix((uint32_t)(8 * i + k)); }

static const char *const PHRASES[8] = {"block trade",   "iceberg order", "post-only",       "reduce-only",
                                       "manual review", "late report",   "cross with desk", "auction fill"};

static int do_write(const char *out, uint64_t n, uint32_t threads) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    if (!fmt_schema_parse(SCHEMA, &a, &s, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    uint32_t nb = (uint32_t)((n + 65535) / 65536);
    fmt_batch_t *bs = calloc(nb, sizeof *bs);
    int64_t cents[50], ts = 1767225600000000LL;
    for (int k = 0; k < 50; k++) cents[k] = 20000 + 2000 * k;
    for (uint64_t i = 0; i < n; i++) {
        fmt_batch_t *b = &bs[i / 65536];
        if (i % 65536 == 0) fmt_batch_init(b, &s);
        uint32_t h0 = row_hash(i, 0), h1 = row_hash(i, 1), h2 = row_hash(i, 2), h3 = row_hash(i, 3);
        uint32_t h4 = row_hash(i, 4), h5 = row_hash(i, 5);
        uint32_t sym = h0 % 50;
        char text[40];
        fmt_vec_append_i64(&b->cols[0], (int64_t)i);
        int k = snprintf(text, sizeof text, "S%u", sym);
        fmt_vec_append_bytes(&b->cols[1], text, (size_t)k);
        cents[sym] += (int64_t)(h1 % 7) - 3;
        fmt_vec_append_f64(&b->cols[2], (double)cents[sym] / 100);
        fmt_vec_append_f64(&b->cols[3], (double)(1 + (h2 % 1000) * ((h2 >> 10) % 1000)) / 1000);
        ts += h3 % 4 == 0 ? (h3 >> 2) % 20000 : (h3 >> 2) % 200;
        fmt_vec_append_i64(&b->cols[4], ts);
        fmt_vec_append_bool(&b->cols[5], h4 & 1);
        if (h5 % 10 == 0) {
            k = snprintf(text, sizeof text, "%s #%u", PHRASES[(h5 >> 4) % 8], (h5 >> 7) % 100000);
            fmt_vec_append_bytes(&b->cols[6], text, (size_t)k);
        } else {
            fmt_vec_append_null(&b->cols[6]);
        }
        b->nrows++;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(out), 1;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.threads = threads;
    double t0 = now();
    pq_writer_t *w = pq_writer_new(&s, &o, pq_sink_fd(fd), &err);
    for (uint32_t i = 0; w && i < nb; i++)
        if (!pq_writer_write(w, &bs[i], &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    pq_file_metrics m;
    if (!w || !pq_writer_close(w, &m, &a, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    double t1 = now();
    close(fd);
    printf("{\"rows\": %llu, \"seconds\": %.4f, \"bytes\": %lld}\n", (unsigned long long)n, t1 - t0,
           (long long)m.file_size);
    pq_writer_free(w);
    for (uint32_t i = 0; i < nb; i++) fmt_batch_free(&bs[i]);
    free(bs);
    arena_free(&a);
    return 0;
}

static int do_read(const char *path, uint32_t threads) {
    floe_err err = {0};
    pq_source src;
    double t0 = now();
    if (!pq_source_file(path, &src, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    pq_reader_t *r = pq_reader_open(&src, &err);
    pq_reader_opts o = {.threads = threads};
    if (!r || !pq_reader_scan(r, &o, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    const fmt_schema_t *s = pq_reader_schema(r);
    int ip = -1, iq = -1, its = -1, inote = -1;
    for (int32_t i = 0; i < s->root.nchildren; i++) {
        const char *nm = s->root.children[i].name;
        if (!strcmp(nm, "price")) ip = i;
        if (!strcmp(nm, "qty")) iq = i;
        if (!strcmp(nm, "ts")) its = i;
        if (!strcmp(nm, "note")) inote = i;
    }
    if (ip < 0 || iq < 0 || its < 0 || inote < 0) return fprintf(stderr, "%s: not a trade file\n", path), 1;
    uint64_t count = 0, notes = 0;
    double sp = 0, sq = 0;
    int64_t mts = INT64_MIN;
    fmt_batch_t *b;
    while (pq_reader_next(r, &b, &err)) {
        count += b->nrows;
        const double *p = b->cols[ip].values, *q = b->cols[iq].values;
        const int64_t *ts = b->cols[its].values;
        for (uint32_t i = 0; i < b->nrows; i++) {
            sp += p[i];
            sq += q[i];
            if (ts[i] > mts) mts = ts[i];
        }
        notes += b->nrows - b->cols[inote].null_count;
    }
    if (err.code) return fprintf(stderr, "%s\n", err.msg), 1;
    double t1 = now();
    printf("{\"rows\": %llu, \"seconds\": %.4f, \"sum_price\": %.4f, \"sum_qty\": %.4f, \"max_ts\": %lld, "
           "\"count_note\": %llu}\n",
           (unsigned long long)count, t1 - t0, sp, sq, (long long)mts, (unsigned long long)notes);
    pq_reader_free(r);
    pq_source_close(&src);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "write"))
        return do_write(argv[2], strtoull(argv[3], NULL, 10), argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 10) : 1);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "read"))
        return do_read(argv[2], argc == 4 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1);
    fprintf(stderr, "usage: pqbench write OUT N [THREADS] | pqbench read FILE [THREADS]\n");
    return 2;
}
