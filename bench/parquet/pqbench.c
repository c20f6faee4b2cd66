/*
 * pqbench.c: Floe's side of bench/parquet.
 *
 *   pqbench write OUT.parquet N    build N trade rows in memory, then time
 *                                  writing them with zstd
 *   pqbench read FILE              time a full decode of every column, and
 *                                  print count(*), sum(price), sum(qty),
 *                                  max(ts), count(note) so the work is real
 *                                  and comparable with DuckDB's query
 *
 * The rows match bench/parquet/duck.mjs formula for formula:
 *   id = i, symbol = 'S' || (i * 7919 % 50), price = 100 + (i % 1000) / 100,
 *   qty = (i % 97) + 0.5, ts = 1767225600000000 + i * 1000 (increasing),
 *   side = i % 3 = 0, note = 'note ' || (i % 1000) when i % 10 = 0 else null
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

static int do_write(const char *out, uint64_t n) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    if (!fmt_schema_parse(SCHEMA, &a, &s, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    uint32_t nb = (uint32_t)((n + 65535) / 65536);
    fmt_batch_t *bs = calloc(nb, sizeof *bs);
    for (uint64_t i = 0; i < n; i++) {
        fmt_batch_t *b = &bs[i / 65536];
        if (i % 65536 == 0) fmt_batch_init(b, &s);
        char sym[8], note[16];
        fmt_vec_append_i64(&b->cols[0], (int64_t)i);
        int k = snprintf(sym, sizeof sym, "S%llu", (unsigned long long)(i * 7919 % 50));
        fmt_vec_append_bytes(&b->cols[1], sym, (size_t)k);
        fmt_vec_append_f64(&b->cols[2], 100 + (double)(i % 1000) / 100);
        fmt_vec_append_f64(&b->cols[3], (double)(i % 97) + 0.5);
        fmt_vec_append_i64(&b->cols[4], 1767225600000000LL + (int64_t)i * 1000);
        fmt_vec_append_bool(&b->cols[5], i % 3 == 0);
        if (i % 10 == 0) {
            k = snprintf(note, sizeof note, "note %llu", (unsigned long long)(i % 1000));
            fmt_vec_append_bytes(&b->cols[6], note, (size_t)k);
        } else {
            fmt_vec_append_null(&b->cols[6]);
        }
        b->nrows++;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(out), 1;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
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

static int do_read(const char *path) {
    floe_err err = {0};
    pq_source src;
    double t0 = now();
    if (!pq_source_file(path, &src, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    pq_reader_t *r = pq_reader_open(&src, &err);
    if (!r || !pq_reader_scan(r, NULL, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
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
    if (argc == 4 && !strcmp(argv[1], "write")) return do_write(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 3 && !strcmp(argv[1], "read")) return do_read(argv[2]);
    fprintf(stderr, "usage: pqbench write OUT N | pqbench read FILE\n");
    return 2;
}
