/*
 * icebench.c: Floe's side of bench/iceberg (run.sh drives it; see the
 * README there for the method).
 *
 *   icebench gen OUT.parquet N      N trade rows spread over 30 days, in
 *                                   time order, written once as the input
 *                                   (zstd, row groups of 131,072 rows)
 *   icebench append DIR IN THREADS  a fresh embedded data dir DIR with the
 *                                   table market.trades partitioned by
 *                                   day(ts); times reading IN, writing it
 *                                   through ice_writer (Parquet on THREADS
 *                                   threads) and committing one snapshot
 *   icebench daily DIR IN           the same table built by one append per
 *                                   day of IN (30 manifests), untimed
 *   icebench scan DIR [FILTER]      times planning and reading every batch
 *                                   of market.trades (ice_scan), with the
 *                                   scan report
 *   icebench commits DIR N ROWS     N appends of ROWS rows each into a new
 *                                   table, each timed from ice_writer_new
 *                                   to the return of the commit, fsync on
 *                                   as the CLI runs; percentiles
 *
 * Every command prints one JSON object. The rows: id = i; ts = 2026-01-01
 * plus i * (30 days / N) plus a jitter under that step (so time order
 * holds); symbol one of 16 tickers, skewed towards the first; price a
 * random walk in cents per symbol; qty skewed small, as in bench/parquet.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "catalog/catalog.h"
#include "format/parquet/parquet.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

#define SCHEMA "id long, ts timestamptz, symbol string, price double, qty double"
#define T0_US 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define DAY_US 86400000000LL
#define DAYS 30
#define BATCH 65536
/* The input's row groups, about DuckDB's own (122,880 rows): DuckDB
 * splits a scan by row group, and with Floe's default (128 MiB) the input
 * had 4, which kept its partitioned COPY on one thread. */
#define ROW_GROUP_ROWS (1u << 17)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (every thread), user and system. */
static double cpu_now(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int die(const char *what, const floe_err *err) {
    fprintf(stderr, "icebench %s: %s\n", what, err->msg);
    return 1;
}

/* A 32-bit integer hash (a bijection), as bench/parquet uses. */
static uint32_t mix(uint32_t x) {
    x = ((x >> 16) ^ x) * 0x45d9f3bu;
    x = ((x >> 16) ^ x) * 0x45d9f3bu;
    return (x >> 16) ^ x;
}

static const char *const SYMBOLS[16] = {"BTCUSDT", "ETHUSDT",  "SOLUSDT",  "BNBUSDT", "XRPUSDT", "DOGEUSDT",
                                        "ADAUSDT", "AVAXUSDT", "LINKUSDT", "DOTUSDT", "TRXUSDT", "MATICUSDT",
                                        "LTCUSDT", "BCHUSDT",  "NEARUSDT", "ATOMUSDT"};

typedef struct gen {
    uint64_t n, i;
    int64_t cents[16];
} gen;

static void gen_init(gen *g, uint64_t n) {
    memset(g, 0, sizeof *g);
    g->n = n;
    for (int k = 0; k < 16; k++) g->cents[k] = 100000 / (k + 1) + 500 * k;
}

/* Fills b with the next up to max rows; false when none are left. */
static bool gen_next(gen *g, fmt_batch_t *b, uint32_t max) {
    fmt_batch_reset(b);
    int64_t step = DAYS * DAY_US / (int64_t)g->n;
    for (uint32_t k = 0; k < max && g->i < g->n; k++, g->i++) {
        uint64_t i = g->i;
        uint32_t h0 = mix((uint32_t)(8 * i)), h1 = mix((uint32_t)(8 * i + 1)), h2 = mix((uint32_t)(8 * i + 2));
        uint32_t h3 = mix((uint32_t)(8 * i + 3));
        /* skewed: the first symbols trade most */
        uint32_t sym = (h0 % 16) * ((h0 >> 8) % 16) / 16;
        fmt_vec_append_i64(&b->cols[0], (int64_t)i);
        fmt_vec_append_i64(&b->cols[1], T0_US + (int64_t)i * step + (int64_t)(h3 % (uint32_t)step));
        fmt_vec_append_bytes(&b->cols[2], SYMBOLS[sym], strlen(SYMBOLS[sym]));
        g->cents[sym] += (int64_t)(h1 % 7) - 3;
        if (g->cents[sym] < 1) g->cents[sym] = 1;
        fmt_vec_append_f64(&b->cols[3], (double)g->cents[sym] / 100);
        fmt_vec_append_f64(&b->cols[4], (double)(1 + (h2 % 1000) * ((h2 >> 10) % 1000)) / 1000);
        b->nrows++;
    }
    return b->nrows > 0;
}

static int do_gen(const char *out, uint64_t n) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t s;
    floe_err err = {0};
    if (!fmt_schema_parse(SCHEMA, &a, &s, &err)) return die("gen", &err);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(out), 1;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.threads = 2;
    o.row_group_rows = ROW_GROUP_ROWS;
    pq_writer_t *w = pq_writer_new(&s, &o, pq_sink_fd(fd), &err);
    if (!w) return die("gen", &err);
    gen g;
    gen_init(&g, n);
    fmt_batch_t b;
    fmt_batch_init(&b, &s);
    while (gen_next(&g, &b, BATCH))
        if (!pq_writer_write(w, &b, &err)) return die("gen", &err);
    pq_file_metrics m;
    if (!pq_writer_close(w, &m, &a, &err)) return die("gen", &err);
    close(fd);
    printf("{\"rows\": %llu, \"bytes\": %lld}\n", (unsigned long long)n, (long long)m.file_size);
    pq_writer_free(w);
    fmt_batch_free(&b);
    arena_free(&a);
    return 0;
}

/* ---- an embedded data dir, opened as `floe table` opens it ---- */

typedef struct env {
    store_t *store;
    fileio_t *io;
    cat_t *cat;
    ice_catalog ice;
} env;

static bool env_open(env *e, const char *dir, floe_err *err) {
    memset(e, 0, sizeof *e);
    if (!fs_mkdir_p(dir, err)) return false;
    e->store = store_open(dir, true, err);
    if (!e->store) return false;
    floe_err e2;
    if (!store_bucket_create(e->store, "warehouse", false, &e2) && e2.code != FLOE_EEXIST) return *err = e2, false;
    e->io = fileio_store(e->store);
    cat_opts co = {.dir = dir, .io = e->io, .warehouse = "s3://warehouse", .fsync = true};
    e->cat = cat_open(&co, err);
    if (!e->cat) return false;
    cat_as_ice(e->cat, NULL, &e->ice);
    return true;
}

static void env_close(env *e) {
    if (e->cat) cat_close(e->cat);
    if (e->io) fileio_free(e->io);
    if (e->store) store_close(e->store);
}

static bool create_table(env *e, arena_t *a, ice_table *t, floe_err *err) {
    fmt_schema_t s;
    ice_table_meta m;
    floe_err e2;
    if (!fmt_schema_parse(SCHEMA, a, &s, err) || !ice_table_new_meta(&s, "day(ts)", NULL, 0, a, &m, err)) return false;
    if (!cat_namespace_create(e->cat, NULL, "market", NULL, &e2) && e2.code != FLOE_EEXIST) return *err = e2, false;
    return cat_table_create(e->cat, NULL, "market", "trades", &m, a, NULL, err) &&
           ice_table_load(&e->ice, "market", "trades", a, t, err);
}

/* Reads IN through the Parquet reader into w (or, when per_day, commits
 * each day as its own append). */
static bool load(ice_table *t, const char *in, uint32_t threads, bool per_day, arena_t *a, ice_commit_result *res,
                 uint64_t *files, floe_err *err) {
    pq_source src;
    if (!pq_source_file(in, &src, err)) return false;
    pq_reader_t *r = pq_reader_open(&src, err);
    pq_reader_opts ro = {.threads = threads};
    bool ok = r && pq_reader_scan(r, &ro, NULL, err);
    ice_write_opts wo = {.threads = threads};
    ice_writer *w = ok ? ice_writer_new(t, &wo, a, err) : NULL;
    ok = ok && w;
    int64_t day = -1;
    fmt_batch_t *b, part;
    bool part_init = false;
    uint32_t *rows = NULL;
    ice_commit_opts co = {.kind = ICE_OP_APPEND};
    ice_data_file *fs;
    size_t nf;
    *files = 0;
    while (ok && pq_reader_next(r, &b, err)) {
        if (!per_day) {
            ok = ice_writer_write(w, b, err);
            continue;
        }
        /* split the batch at day boundaries; commit each finished day */
        const int64_t *ts = b->cols[1].values;
        if (!rows) rows = malloc(BATCH * sizeof *rows);
        if (!part_init) {
            fmt_batch_init(&part, pq_reader_schema(r));
            part_init = true;
        }
        for (uint32_t i = 0; ok && i < b->nrows;) {
            int64_t d = (ts[i] - T0_US) / DAY_US;
            if (day >= 0 && d != day) {
                ok = ice_writer_close(w, &fs, &nf, err) && ice_table_commit_files(t, &co, fs, nf, a, res, err);
                *files += nf;
                ice_writer_free(w);
                w = ok ? ice_writer_new(t, &wo, a, err) : NULL;
                ok = ok && w;
            }
            day = d;
            uint32_t n = 0;
            while (i < b->nrows && (ts[i] - T0_US) / DAY_US == d) rows[n++] = i++;
            fmt_batch_reset(&part);
            fmt_batch_take(&part, b, rows, n);
            if (ok) ok = ice_writer_write(w, &part, err);
        }
    }
    if (ok && err->code) ok = false;
    if (ok) ok = ice_writer_close(w, &fs, &nf, err) && ice_table_commit_files(t, &co, fs, nf, a, res, err);
    if (ok) *files += nf;
    if (w) ok ? ice_writer_free(w) : ice_writer_abort(w);
    if (part_init) fmt_batch_free(&part);
    free(rows);
    if (r) pq_reader_free(r);
    pq_source_close(&src);
    return ok;
}

static int do_append(const char *dir, const char *in, uint32_t threads, bool per_day) {
    env e;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    if (!env_open(&e, dir, &err) || !create_table(&e, &a, &t, &err)) return die("append", &err);
    ice_commit_result res;
    uint64_t files;
    double t0 = now();
    if (!load(&t, in, threads, per_day, &a, &res, &files, &err)) return die("append", &err);
    double t1 = now();
    const ice_snapshot *snap = ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id);
    const char *total = "?";
    for (int32_t i = 0; snap && i < snap->nsummary; i++)
        if (!strcmp(snap->summary[i].key, "total-records")) total = snap->summary[i].value;
    printf("{\"rows\": %s, \"seconds\": %.4f, \"files\": %llu, \"threads\": %u}\n", total, t1 - t0,
           (unsigned long long)files, threads);
    env_close(&e);
    arena_free(&a);
    return 0;
}

static int do_scan(const char *dir, const char *filter) {
    env e;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    if (!env_open(&e, dir, &err)) return die("scan", &err);
    double t0 = now();
    ice_table t;
    if (!ice_table_load(&e.ice, "market", "trades", &a, &t, &err)) return die("scan", &err);
    ice_scan_opts so = {.snapshot_id = -1, .as_of_ms = -1, .filter = filter && *filter ? filter : NULL};
    ice_scan *s = ice_scan_new(&t, &so, &err);
    if (!s) return die("scan", &err);
    double t1 = now();
    fmt_batch_t *b;
    uint64_t rows = 0;
    double sum_qty = 0;
    while (ice_scan_next(s, &b, &err)) {
        rows += b->nrows;
        const double *q = b->cols[4].values;
        for (uint32_t i = 0; i < b->nrows; i++) sum_qty += q[i];
    }
    if (err.code) return die("scan", &err);
    double t2 = now();
    const ice_scan_report *r = ice_scan_report_get(s);
    size_t ntasks;
    ice_scan_tasks(s, &ntasks);
    printf("{\"rows\": %llu, \"seconds\": %.4f, \"plan_seconds\": %.4f, \"sum_qty\": %.3f, \"manifests\": %zu, "
           "\"manifests_skipped\": %zu, \"files\": %zu, \"files_read\": %zu, \"files_skipped_partition\": %zu, "
           "\"files_skipped_metrics\": %zu, \"row_groups\": %llu, \"row_groups_skipped\": %llu, \"rows_read\": %llu}\n",
           (unsigned long long)rows, t2 - t0, t1 - t0, sum_qty, r->manifests, r->manifests_skipped, r->files, ntasks,
           r->files_skipped_partition, r->files_skipped_metrics, (unsigned long long)r->row_groups,
           (unsigned long long)r->row_groups_skipped, (unsigned long long)r->rows_read);
    ice_scan_free(s);
    env_close(&e);
    arena_free(&a);
    return 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int do_commits(const char *dir, uint32_t n, uint32_t nrows) {
    env e;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    ice_table t;
    if (!env_open(&e, dir, &err) || !create_table(&e, &a, &t, &err)) return die("commits", &err);
    double *lat = calloc(n, sizeof *lat);
    gen g;
    gen_init(&g, (uint64_t)n * nrows);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t.meta));
    double t_all = now(), cpu = 0;
    for (uint32_t k = 0; k < n; k++) {
        arena_t ca; /* one commit's memory, as a request would have */
        arena_init(&ca, 1 << 16);
        if (!ice_table_load(&e.ice, "market", "trades", &ca, &t, &err)) return die("commits", &err);
        gen_next(&g, &b, nrows);
        double t0 = now(), c0 = cpu_now();
        ice_writer *w = ice_writer_new(&t, NULL, &ca, &err);
        ice_data_file *fs;
        size_t nf;
        ice_commit_opts co = {.kind = ICE_OP_APPEND};
        ice_commit_result res;
        if (!w || !ice_writer_write(w, &b, &err) || !ice_writer_close(w, &fs, &nf, &err) ||
            !ice_table_commit_files(&t, &co, fs, nf, &ca, &res, &err))
            return die("commits", &err);
        lat[k] = now() - t0;
        cpu += cpu_now() - c0;
        ice_writer_free(w);
        arena_free(&ca);
    }
    double total = now() - t_all;
    qsort(lat, n, sizeof *lat, cmp_double);
#define PCT(p) (lat[(size_t)((double)(n - 1) * (p) + 0.5)] * 1e3)
    printf("{\"commits\": %u, \"rows_each\": %u, \"seconds\": %.4f, \"p50_ms\": %.3f, \"p95_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"min_ms\": %.3f, \"cpu_ms_mean\": %.3f}\n",
           n, nrows, total, PCT(0.5), PCT(0.95), PCT(0.99), lat[n - 1] * 1e3, lat[0] * 1e3, cpu / n * 1e3);
    fmt_batch_free(&b);
    free(lat);
    env_close(&e);
    arena_free(&a);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "gen")) return do_gen(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "append"))
        return do_append(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 10), false);
    if (argc == 4 && !strcmp(argv[1], "daily")) return do_append(argv[2], argv[3], 1, true);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "scan")) return do_scan(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 5 && !strcmp(argv[1], "commits"))
        return do_commits(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10));
    fprintf(stderr, "usage: icebench gen OUT N | append DIR IN THREADS | daily DIR IN | scan DIR [FILTER] | "
                    "commits DIR N ROWS\n");
    return 2;
}
