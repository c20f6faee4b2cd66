/*
 * test_table.c: Iceberg tables end to end on the embedded store: the
 * catalog (namespaces, CAS commits, the log), appends split by partition,
 * scans with partition and metrics pruning, overwrite by filter, dynamic
 * overwrite, delete (metadata-only and copy-on-write), the partition tuples
 * of every write path read back from the manifests (never null for a
 * non-null source), and concurrent appends from threads.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../catalog/cat_test.h"
#include "base/fs.h"
#include "catalog/catalog.h"
#include "format/parquet/parquet.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static cat_test_env E;

#define DAY_US 86400000000ll

static void setup(void) { cat_test_env_open(&E, "table"); }

static void teardown(void) { cat_test_env_close(&E); }

static void create_trades(arena_t *a, const char *partition, ice_table *t) {
    floe_err err;
    fmt_schema_t s;
    cr_assert(fmt_schema_parse("id long not null, ts timestamptz, symbol string, price double", a, &s, &err), "%s",
              err.msg);
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, partition, NULL, 0, a, &m, &err), "%s", err.msg);
    bool have;
    cr_assert(cat_namespace_exists(E.cat, NULL, "market", &have, &err), "%s", err.msg);
    if (!have) cr_assert(cat_namespace_create(E.cat, NULL, "market", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "market", "trades", &m, a, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "market", "trades", a, t, &err), "%s", err.msg);
}

/* rows [from, from+n): id = i, ts = day (i % days) + i ms, symbol by i % 3 */
static void fill(fmt_batch_t *b, int64_t from, int64_t n, int days) {
    static const char *syms[] = {"BTC", "ETH", "SOL"};
    fmt_batch_reset(b);
    for (int64_t i = from; i < from + n; i++) {
        fmt_vec_append_i64(&b->cols[0], i);
        fmt_vec_append_i64(&b->cols[1], (i % days) * DAY_US + i * 1000);
        fmt_vec_append_bytes(&b->cols[2], syms[i % 3], 3);
        fmt_vec_append_f64(&b->cols[3], (double)i / 10);
    }
    b->nrows = (uint32_t)n;
}

static void write_rows(ice_table *t, ice_op_kind kind, const ice_expr *filter, int64_t from, int64_t n, int days,
                       arena_t *a, ice_commit_result *res) {
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, a, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t->meta));
    for (int64_t k = from; k < from + n; k += 1000) {
        fill(&b, k, (from + n - k) < 1000 ? from + n - k : 1000, days);
        cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    }
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = kind, .filter = filter};
    cr_assert(ice_table_commit_files(t, &o, files, nf, a, res, &err), "%s", err.msg);
    ice_writer_free(w);
}

static int64_t scan_count(ice_table *t, const char *filter, ice_scan_report *rep) {
    floe_err err = {0};
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1, .filter = filter};
    ice_scan *s = ice_scan_new(t, &o, &err);
    cr_assert(s, "%s", err.msg);
    fmt_batch_t *b;
    int64_t n = 0;
    while (ice_scan_next(s, &b, &err)) n += b->nrows;
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    if (rep) *rep = *ice_scan_report_get(s);
    ice_scan_free(s);
    return n;
}

/* Every live file's partition tuple: non-null day values matching the path. */
static void check_tuples(ice_table *t, arena_t *a) {
    floe_err err;
    const ice_snapshot *snap = ice_meta_snapshot(&t->meta, t->meta.current_snapshot_id);
    cr_assert(snap);
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(t, snap, a, &es, &n, &err), "%s", err.msg);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        const ice_data_file *f = &es[i].file;
        cr_assert_eq(f->npartition, 1);
        cr_assert(!f->partition[0].is_null, "file %s has a null partition value", f->file_path);
        cr_assert_eq(f->partition[0].type, FMT_DATE);
        char want[64];
        snprintf(want, sizeof want, "ts_day=1970-01-%02d", (int)f->partition[0].v.i64 + 1);
        cr_assert(strstr(f->file_path, want), "%s is not under %s", f->file_path, want);
        cr_assert_gt(f->record_count, 0);
    }
}

Test(table, namespaces_must_exist_and_be_empty_to_drop, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 4096);
    floe_err err;
    fmt_schema_t s;
    ice_table_meta m;
    cr_assert(fmt_schema_parse("id long", &a, &s, &err));
    cr_assert(ice_table_new_meta(&s, NULL, NULL, 0, &a, &m, &err), "%s", err.msg);
    cr_assert_not(cat_table_create(E.cat, NULL, "nope", "t", &m, &a, NULL, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert(strstr(err.msg, "namespace create"), "%s", err.msg);
    cr_assert(cat_namespace_create(E.cat, NULL, "ns", NULL, &err), "%s", err.msg);
    cr_assert_not(cat_namespace_create(E.cat, NULL, "ns", NULL, &err));
    cr_assert_eq(err.code, FLOE_EEXIST);
    cr_assert(cat_table_create(E.cat, NULL, "ns", "t", &m, &a, NULL, &err), "%s", err.msg);
    cr_assert_not(cat_namespace_drop(E.cat, NULL, "ns", &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_assert(cat_table_drop(E.cat, NULL, "ns", "t", true, &err), "%s", err.msg);
    cr_assert(cat_namespace_drop(E.cat, NULL, "ns", &err), "%s", err.msg);
    const char **names;
    size_t n;
    cr_assert(cat_namespace_list(E.cat, NULL, NULL, &a, &names, &n, &err));
    cr_assert_eq(n, 0);
    cat_commit *log;
    cr_assert(cat_log(E.cat, NULL, 0, &a, &log, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 4, "create ns, create table, drop table, drop ns: %zu", n);
    cr_assert_str_eq(log[0].message, "drop namespace ns");
    arena_free(&a);
}

Test(table, append_scan_prune_and_tuples, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_trades(&a, "day(ts)", &t);
    ice_commit_result r;
    write_rows(&t, ICE_OP_APPEND, NULL, 0, 30000, 10, &a, &r);
    cr_assert_eq(r.added_files, 10);
    cr_assert_eq(r.added_rows, 30000);
    check_tuples(&t, &a);
    ice_scan_report rep;
    cr_assert_eq(scan_count(&t, NULL, &rep), 30000);
    cr_assert_eq(scan_count(&t, "ts >= '1970-01-03' and ts < '1970-01-04'", &rep), 3000);
    cr_assert_eq(rep.files_skipped_partition, 9, "%zu", rep.files_skipped_partition);
    cr_assert_eq(scan_count(&t, "symbol = 'BTC' and id < 300", &rep), 100);
    /* a second append: two snapshots, sequence numbers 1 and 2 */
    write_rows(&t, ICE_OP_APPEND, NULL, 30000, 3000, 10, &a, &r);
    cr_assert_eq(r.sequence_number, 2);
    cr_assert_eq(scan_count(&t, NULL, NULL), 33000);
    cr_assert_eq(t.meta.nsnapshots, 2);
    check_tuples(&t, &a);
    arena_free(&a);
}

Test(table, overwrite_dynamic_and_delete, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err;
    ice_table t;
    create_trades(&a, "day(ts)", &t);
    ice_commit_result r;
    write_rows(&t, ICE_OP_APPEND, NULL, 0, 10000, 5, &a, &r);
    /* rerun of the same rows with dynamic overwrite: no duplicates */
    write_rows(&t, ICE_OP_OVERWRITE_DYNAMIC, NULL, 0, 10000, 5, &a, &r);
    cr_assert_eq(r.deleted_files, 5);
    cr_assert_eq(scan_count(&t, NULL, NULL), 10000);
    check_tuples(&t, &a);
    /* delete a whole day: metadata only */
    ice_expr *e, *b;
    cr_assert(ice_expr_parse("ts >= '1970-01-02' and ts < '1970-01-03'", &a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &a, &b, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_DELETE, .filter = b};
    cr_assert(ice_table_commit_files(&t, &o, NULL, 0, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.deleted_files, 1);
    cr_assert_eq(r.rewritten_files, 0);
    cr_assert_eq(scan_count(&t, NULL, NULL), 8000);
    /* delete part of files: copy-on-write */
    cr_assert(ice_expr_parse("symbol = 'BTC'", &a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &a, &b, &err), "%s", err.msg);
    o.filter = b;
    cr_assert(ice_table_commit_files(&t, &o, NULL, 0, &a, &r, &err), "%s", err.msg);
    cr_assert_eq(r.rewritten_files, 4);
    cr_assert_eq(scan_count(&t, "symbol = 'BTC'", NULL), 0);
    /* ids < 10000 with id % 5 != 1 and id % 3 != 0 */
    cr_assert_eq(scan_count(&t, NULL, NULL), 5333);
    check_tuples(&t, &a);
    /* overwrite by filter: replace day 0 */
    cr_assert(ice_expr_parse("ts < '1970-01-02'", &a, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &a, &b, &err), "%s", err.msg);
    write_rows(&t, ICE_OP_OVERWRITE_FILTER, b, 100000, 50, 1, &a, &r);
    cr_assert_eq(scan_count(&t, "ts < '1970-01-02'", NULL), 50);
    check_tuples(&t, &a);
    arena_free(&a);
}

#define THREADS 4
#define APPENDS 25

static void *appender(void *arg) {
    intptr_t k = (intptr_t)arg;
    arena_t a;
    arena_init(&a, 1 << 16);
    for (int i = 0; i < APPENDS; i++) {
        ice_table t;
        floe_err err;
        cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
        ice_commit_result r;
        write_rows(&t, ICE_OP_APPEND, NULL, (k * APPENDS + i) * 10, 10, 2, &a, &r);
        arena_free(&a);
    }
    return NULL;
}

Test(table, concurrent_appends_all_land, .init = setup, .fini = teardown, .timeout = 300) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_trades(&a, "day(ts)", &t);
    floe_err err;
    json_t *ups =
        json_pack("[{s:s, s:{s:s, s:s, s:s}}]", "action", "set-properties", "updates", "commit.retry.num-retries",
                  "100", "commit.retry.min-wait-ms", "1", "commit.retry.max-wait-ms", "20");
    cr_assert(cat_table_commit(E.cat, NULL, "market", "trades", NULL, ups, &a, NULL, &err), "%s", err.msg);
    json_decref(ups);
    pthread_t th[THREADS];
    for (intptr_t k = 0; k < THREADS; k++) pthread_create(&th[k], NULL, appender, (void *)k);
    for (int k = 0; k < THREADS; k++) pthread_join(th[k], NULL);
    cr_assert(ice_table_load(&E.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    cr_assert_eq(t.meta.nsnapshots, THREADS * APPENDS);
    cr_assert_eq(t.meta.last_sequence_number, THREADS * APPENDS);
    cr_assert_eq(scan_count(&t, NULL, NULL), THREADS * APPENDS * 10);
    check_tuples(&t, &a);
    arena_free(&a);
}

/* Every data file carries the table schema in its footer as "iceberg.schema"
 * (as Java writes it): icebird maps columns by field id through it, so a
 * renamed column still reads from files written before the rename. */
Test(table, data_files_carry_iceberg_schema, .init = setup, .fini = teardown) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table t;
    create_trades(&a, "day(ts)", &t);
    ice_commit_result r;
    write_rows(&t, ICE_OP_APPEND, NULL, 0, 300, 3, &a, &r);
    floe_err err;
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(&t, ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id), &a, &es, &n, &err), "%s",
              err.msg);
    cr_assert_eq(n, 3);
    buf_t b = BUF_INIT;
    cr_assert(fileio_read_all(E.io, es[0].file.file_path, &b, &err), "%s", err.msg);
    pq_source src = pq_source_mem(b.data, b.len, es[0].file.file_path);
    pq_reader_t *pr = pq_reader_open(&src, &err);
    cr_assert(pr, "%s", err.msg);
    const pq_file_meta *fm = pq_reader_meta(pr);
    const char *text = NULL;
    for (uint32_t i = 0; i < fm->nkv; i++)
        if (!strcmp(fm->kv[i].key, "iceberg.schema")) text = fm->kv[i].value;
    cr_assert(text, "no iceberg.schema in the footer of %s", es[0].file.file_path);
    json_t *j = json_loads(text, 0, NULL);
    cr_assert(j, "iceberg.schema is not JSON: %s", text);
    fmt_schema_t s;
    cr_assert(ice_schema_from_json(j, &a, &s, &err), "%s", err.msg);
    const fmt_schema_t *cur = ice_meta_current_schema(&t.meta);
    cr_assert_eq(s.root.nchildren, cur->root.nchildren);
    for (int32_t i = 0; i < s.root.nchildren; i++) {
        cr_assert_eq(s.root.children[i].id, cur->root.children[i].id);
        cr_assert_str_eq(s.root.children[i].name, cur->root.children[i].name);
    }
    json_decref(j);
    pq_reader_free(pr);
    pq_source_close(&src);
    buf_free(&b);
    arena_free(&a);
}
