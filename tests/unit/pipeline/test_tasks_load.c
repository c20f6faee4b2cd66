/*
 * test_tasks_load.c: load_raw (task_load.c) on zstd JSONL written here in
 * the Binance trade shape the sample API serves: the column mapping and
 * its casts (decimals from strings, epoch milliseconds to timestamptz,
 * nested paths, defaults), partitioning by day(trade_time), a rerun that
 * replaces rather than duplicates, and bad lines that name the line,
 * column and value and commit nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "test_tasks.h"

static task_fixture f;

static void setup(void) { tf_open(&f, "tasks-load"); }
static void teardown(void) { tf_close(&f); }

TestSuite(tasks_load, .init = setup, .fini = teardown);

#define SRC "s3://warehouse/raw/trades/ds=2024-01-02/hr=03/min=04/run1.jsonl.zst"
#define DAY_MS 86400000ll

/* n trades from 2024-01-01T23:00Z, spread over two days (one every 30 min). */
static void put_trades(const char *uri, int n) {
    buf_t b = {0};
    for (int i = 0; i < n; i++)
        buf_printf(&b,
                   "{\"id\":%d,\"price\":\"4200%d.01000000\",\"qty\":\"0.00100000\",\"quoteQty\":\"42.00001000\","
                   "\"time\":%lld,\"isBuyerMaker\":%s,\"isBestMatch\":true,\"meta\":{\"venue\":\"sample\"}}\n",
                   1000 + i, i % 10, 1704150000000ll + (long long)i * 1800000, i % 2 ? "true" : "false");
    tf_put(&f, uri, b.data, true);
    buf_free(&b);
}

static const char *columns = "{\"trade_id\": {\"path\": \"id\", \"type\": \"long\"},"
                             " \"price\": {\"path\": \"price\", \"type\": \"decimal(18,8)\"},"
                             " \"qty\": {\"path\": \"qty\", \"type\": \"decimal(18,8)\"},"
                             " \"quote_qty\": {\"path\": \"quoteQty\", \"type\": \"double\"},"
                             " \"trade_time\": {\"path\": \"time\", \"type\": \"timestamptz\", \"unit\": \"ms\"},"
                             " \"is_buyer_maker\": {\"path\": \"isBuyerMaker\", \"type\": \"boolean\"},"
                             " \"venue\": {\"path\": \"meta.venue\", \"type\": \"string\"},"
                             " \"symbol\": {\"path\": \"symbol\", \"type\": \"string\", \"default\": \"BTCUSDT\"},"
                             " \"note\": {\"path\": \"note\", \"type\": \"string\", \"optional\": true}}";

static pipe_task_result load(const char *source) {
    return tf_run(&f, &pipe_task_load_raw,
                  "{\"source\": \"%s\", \"table\": \"market.trades\", \"partition\": \"day(trade_time)\","
                  " \"columns\": %s}",
                  source, columns);
}

Test(tasks_load, types_partitions_and_rerun) {
    put_trades(SRC, 6); /* 23:00, 23:30 on Jan 1; 00:00 .. 01:30 on Jan 2 */
    cr_assert_eq(load(SRC), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "rows")), 6);
    cr_assert_eq(json_integer_value(json_object_get(f.output, "files")), 2, "one file per day");
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "table")), "market.trades");
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "source")), SRC);

    json_t *rows = tf_scan(&f, "market.trades", "trade_id = 1001");
    cr_assert_eq(json_array_size(rows), 1);
    json_t *want =
        json_loads("{\"trade_id\": 1001, \"price\": \"42001.01000000\", \"qty\": \"0.00100000\","
                   " \"quote_qty\": 42.00001, \"trade_time\": \"2024-01-01T23:30:00Z\","
                   " \"is_buyer_maker\": true, \"venue\": \"sample\", \"symbol\": \"BTCUSDT\", \"note\": null}",
                   0, NULL);
    cr_assert(json_equal(json_array_get(rows, 0), want), "%s", json_dumps(json_array_get(rows, 0), 0));
    json_decref(want);
    json_decref(rows);

    /* the table as declared: types, required columns, day(trade_time) */
    arena_t a;
    arena_init(&a, 4096);
    ice_table t;
    floe_err err = {0};
    cr_assert(ice_table_load(&f.e.ice, "market", "trades", &a, &t, &err), "%s", err.msg);
    buf_t s = {0};
    fmt_schema_format(ice_meta_current_schema(&t.meta), &s);
    cr_assert(strstr(s.data, "price decimal(18,8) not null"), "%s", s.data);
    cr_assert(strstr(s.data, "trade_time timestamptz not null"), "%s", s.data);
    cr_assert(strstr(s.data, "note string") && !strstr(s.data, "note string not null"), "%s", s.data);
    buf_free(&s);
    ice_partition_stats *ps;
    size_t np;
    cr_assert(ice_table_partitions(&t, ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id), &a, &ps, &np, &err),
              "%s", err.msg);
    cr_assert_eq(np, 2);
    cr_assert_eq(ps[0].record_count, 2, "Jan 1");
    cr_assert_eq(ps[1].record_count, 4, "Jan 2");
    arena_free(&a);
    cr_assert_eq(tf_count(&f, "market.trades", "trade_time < '2024-01-02T00:00:00Z'"), 2);

    /* a rerun of the same source replaces the days it touches */
    cr_assert_eq(load(SRC), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "market.trades", NULL), 6);
    /* a later crawl of Jan 2 only replaces Jan 2 */
    const char *src2 = "s3://warehouse/raw/trades/ds=2024-01-02/hr=04/min=00/run2.jsonl";
    tf_put(&f, src2,
           "{\"id\":2000,\"price\":\"1.5\",\"qty\":\"1\",\"quoteQty\":\"1.5\",\"time\":1704164640000,"
           "\"isBuyerMaker\":false,\"meta\":{\"venue\":\"x\"},\"symbol\":\"ETHUSDT\",\"note\":\"late\"}\n",
           false);
    cr_assert_eq(load(src2), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "market.trades", NULL), 3);
    cr_assert_eq(tf_count(&f, "market.trades", "symbol = 'ETHUSDT' and note = 'late'"), 1);
    cr_assert_eq(tf_count(&f, "market.trades", "trade_time < '2024-01-02T00:00:00Z'"), 2);
}

Test(tasks_load, bad_line_names_line_column_and_value) {
    tf_put(&f, SRC,
           "{\"id\":1,\"price\":\"1.0\",\"qty\":\"1\",\"quoteQty\":1,\"time\":1704164640000,\"isBuyerMaker\":true,"
           "\"meta\":{\"venue\":\"v\"}}\n"
           "\n"
           "{\"id\":2,\"price\":\"abc\",\"qty\":\"1\",\"quoteQty\":1,\"time\":1704164640000,\"isBuyerMaker\":true,"
           "\"meta\":{\"venue\":\"v\"}}\n",
           true);
    cr_assert_eq(load(SRC), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, SRC " line 3"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "'price'"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "'abc'"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "decimal(18,8)"), "%s", f.err.msg);
    cr_assert(strstr(tf_log(&f), "nothing committed"), "%s", tf_log(&f));
    /* the table was created for the load, but holds nothing */
    cr_assert_eq(tf_snapshot(&f, "market.trades"), -1);

    /* a required path that is missing */
    put_trades(SRC, 3);
    cr_assert_eq(load(SRC), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    int64_t snap = tf_snapshot(&f, "market.trades");
    tf_put(&f, SRC,
           "{\"id\":1,\"price\":\"1.0\",\"qty\":\"1\",\"quoteQty\":1,\"time\":1704164640000,\"isBuyerMaker\":true,"
           "\"meta\":{\"venue\":\"v\"}}\n"
           "{\"id\":2,\"price\":\"1.0\",\"qty\":\"1\",\"quoteQty\":1,\"time\":1704164640000,\"isBuyerMaker\":true}\n",
           true);
    cr_assert_eq(load(SRC), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, SRC " line 2: column 'venue': path 'meta.venue' is missing"), "%s", f.err.msg);
    /* a line that is not JSON */
    tf_put(&f, SRC, "{\"id\":1,\n", true);
    cr_assert_eq(load(SRC), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, SRC " line 1: not a JSON object"), "%s", f.err.msg);
    /* none of that changed the table */
    cr_assert_eq(tf_snapshot(&f, "market.trades"), snap);
    cr_assert_eq(tf_count(&f, "market.trades", NULL), 3);
}

Test(tasks_load, truncated_or_missing_source) {
    put_trades(SRC, 200);
    /* cut the compressed object short */
    buf_t b = {0};
    floe_err err = {0};
    cr_assert(fileio_read_all(f.e.io, SRC, &b, &err), "%s", err.msg);
    cr_assert(fileio_write_all(f.e.io, SRC, b.data, b.len / 2, false, &err), "%s", err.msg);
    buf_free(&b);
    cr_assert_eq(load(SRC), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "the zstd stream is truncated"), "%s", f.err.msg);
    cr_assert_eq(tf_snapshot(&f, "market.trades"), -1);
    /* a source not there (yet) is worth a retry */
    cr_assert_eq(load("s3://warehouse/raw/none.jsonl.zst"), PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "none.jsonl.zst"), "%s", f.err.msg);
}

Test(tasks_load, units_and_shorthand) {
    tf_put(&f, "s3://warehouse/raw/u.jsonl",
           "{\"s\": 1704164640, \"us\": \"1704164640000000\", \"d\": 1704164640000, \"n\": \"12\", \"b\": \"true\", "
           "\"f\": 1.5, \"iso\": \"2024-01-02T03:04:00+01:00\", \"arr\": [10, 20]}\n",
           false);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"s3://warehouse/raw/u.jsonl\", \"table\": \"t.u\", \"mode\": \"append\","
                        " \"columns\": {\"s\": {\"type\": \"timestamptz\", \"unit\": \"s\"},"
                        " \"us\": {\"type\": \"timestamp\", \"unit\": \"us\"},"
                        " \"d\": {\"type\": \"date\"}, \"n\": \"int\", \"b\": \"boolean\", \"f\": \"decimal(5,2)\","
                        " \"iso\": \"timestamptz\", \"second\": {\"path\": \"arr.1\", \"type\": \"long\"}}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    json_t *rows = tf_scan(&f, "t.u", NULL);
    json_t *want = json_loads("[{\"s\": \"2024-01-02T03:04:00Z\", \"us\": \"2024-01-02T03:04:00\","
                              " \"d\": \"2024-01-02\", \"n\": 12, \"b\": true, \"f\": \"1.50\","
                              " \"iso\": \"2024-01-02T02:04:00Z\", \"second\": 20}]",
                              0, NULL);
    cr_assert(json_equal(rows, want), "%s", json_dumps(rows, 0));
    json_decref(rows);
    json_decref(want);
}

Test(tasks_load, mapping_errors) {
    put_trades(SRC, 2);
    /* bad types, units and keys fail before anything is created */
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"x\": \"wibble\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'columns'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"x\": {\"type\": \"long\", "
                        "\"unit\": \"fortnight\"}}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "columns.x.unit"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"x\": {\"type\": \"long\", "
                        "\"pth\": \"id\"}}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "columns.x.pth"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"bad name\": \"long\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw, "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"mode\": \"merge\", \"columns\": {\"x\": "
                        "\"long\"}}"),
                 PIPE_TASK_FAILED_NOW);
    bool exists = true;
    floe_err err = {0};
    cr_assert(cat_table_exists(f.e.cat, NULL, "m", "t", &exists, &err), "%s", err.msg);
    cr_assert_not(exists);
    /* a table that exists with other types or without a column */
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"id\": \"long\"}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"id\": \"string\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "column 'id' of table m.t is long"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"columns\": {\"id\": \"long\", \"qty\": "
                        "\"string\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "has no column 'qty'"), "%s", f.err.msg);
    /* load-time checks */
    json_t *a = json_loads("{\"source\": \"x\", \"table\": \"a.b\", \"columns\": {\"x\": {\"path\": \"p\"}}}", 0, NULL);
    cr_assert_not(pipe_task_load_raw.validate(a, &err));
    cr_assert(strstr(err.msg, "columns.x"), "%s", err.msg);
    json_decref(a);
    a = json_loads("{\"source\": \"x\", \"table\": \"a.b\", \"columns\": \"{{ params.columns }}\"}", 0, NULL);
    cr_assert(pipe_task_load_raw.validate(a, &err), "templates are checked after rendering: %s", err.msg);
    json_decref(a);
    /* a filter outside mode overwrite would be ignored: it is an error instead */
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"filter\": \"id > 1\","
                        " \"columns\": {\"id\": \"long\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "only mode overwrite takes a filter"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_load_raw,
                        "{\"source\": \"" SRC "\", \"table\": \"m.t\", \"mode\": \"overwrite\","
                        " \"filter\": \"id >= 1001\", \"columns\": {\"id\": \"long\"}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "m.t", NULL), 3, "1000 kept, 1001 replaced, 1000 added");
}
