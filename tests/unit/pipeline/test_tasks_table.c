/*
 * test_tasks_table.c: write_table and publish_signal (task_table.c) on the
 * test catalog: every mode with every row source, a rerun of
 * overwrite_partitions that replaces and never duplicates (counted by
 * scans), values cast to column types, bad values that commit nothing,
 * and a signal published twice that is one row.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_tasks.h"

static task_fixture f;

static void setup(void) { tf_open(&f, "tasks-table"); }
static void teardown(void) { tf_close(&f); }

TestSuite(tasks_table, .init = setup, .fini = teardown);

#define EVENTS_SCHEMA "\"schema\": \"id long not null, name string, score double, ds string, hr int\""

static int64_t out_int(const char *key) { return json_integer_value(json_object_get(f.output, key)); }

Test(tasks_table, append_rows_creates_the_table) {
    const char *args =
        "{\"table\": \"demo.events\", " EVENTS_SCHEMA ", \"mode\": \"append\","
        " \"rows\": [{\"id\": 1, \"name\": \"a\", \"score\": 1.5, \"ds\": \"2024-01-02\", \"hr\": \"03\"},"
        "          {\"id\": \"2\", \"name\": \"b\"},"
        "          {\"id\": 3, \"score\": \"2.25\", \"hr\": 4}]}";
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "%s", args), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "table")), "demo.events");
    cr_assert_eq(out_int("rows"), 3);
    cr_assert_eq(out_int("files"), 1);
    cr_assert_eq(out_int("snapshot_id"), tf_snapshot(&f, "demo.events"));
    json_t *rows = tf_scan(&f, "demo.events", "id = 1");
    json_t *want =
        json_loads("[{\"id\": 1, \"name\": \"a\", \"score\": 1.5, \"ds\": \"2024-01-02\", \"hr\": 3}]", 0, NULL);
    cr_assert(json_equal(rows, want), "%s", json_dumps(rows, 0));
    json_decref(rows);
    json_decref(want);
    /* "2" for a long and "03" for an int were cast; "2.25" for a double too */
    cr_assert_eq(tf_count(&f, "demo.events", "id = 2 and hr is null"), 1);
    cr_assert_eq(tf_count(&f, "demo.events", "score = 2.25 and hr = 4"), 1);
    /* append again: twice the rows */
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "%s", args), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 6);
}

Test(tasks_table, values_overwrite_replaces_everything) {
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.events\", " EVENTS_SCHEMA ", \"values\": [[1, \"a\"], [2, \"b\"], [3]]}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 3);
    cr_assert_eq(tf_count(&f, "demo.events", "name = 'b'"), 1);
    /* the seed's static_write: overwrite every run */
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                            "{\"table\": \"demo.events\", \"mode\": \"overwrite\","
                            " \"values\": [[10, \"x\", 0.5, \"2024-01-02\", 3], [11, \"y\"]]}"),
                     PIPE_TASK_SUCCESS, "%s", f.err.msg);
        cr_assert_eq(tf_count(&f, "demo.events", NULL), 2);
        cr_assert_eq(tf_count(&f, "demo.events", "id >= 10"), 2);
    }
    /* overwrite with a filter replaces only the rows it matches */
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.events\", \"mode\": \"overwrite\", \"filter\": \"id = 11\","
                        " \"values\": [[12, \"z\"]]}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 2);
    cr_assert_eq(tf_count(&f, "demo.events", "id = 10 or id = 12"), 2);
}

/* The seed's partitioned_write: ds/hr/min from the data interval (rendered
 * before the task sees them), overwrite_partitions. */
static void partitioned_run(int64_t start_ms, const char *ds, const char *hr, const char *min, int count) {
    f.interval_start_ms = start_ms;
    f.interval_end_ms = start_ms + 60000;
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.metrics\","
                        " \"schema\": \"id long, ts timestamptz, v double, tag string, uid string, ds string, hr "
                        "string, min string\","
                        " \"partition\": \"ds, hr, min\", \"mode\": \"overwrite_partitions\","
                        " \"generate\": {\"count\": %d, \"columns\": {\"id\": \"seq(1)\", \"ts\": \"interval\","
                        " \"v\": \"random_double(0, 10)\", \"tag\": \"cycle(a, b, c)\", \"uid\": \"uuid\","
                        " \"ds\": \"const:%s\", \"hr\": \"const:%s\", \"min\": \"const:%s\"}}}",
                        count, ds, hr, min),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(out_int("rows"), count);
}

Test(tasks_table, overwrite_partitions_rerun_never_duplicates) {
    partitioned_run(TF_START_MS, "2024-01-02", "03", "04", 50);
    cr_assert_eq(tf_count(&f, "demo.metrics", NULL), 50);
    /* the rerun of the same interval replaces its partition */
    partitioned_run(TF_START_MS, "2024-01-02", "03", "04", 50);
    cr_assert_eq(tf_count(&f, "demo.metrics", NULL), 50);
    cr_assert_eq(tf_count(&f, "demo.metrics", "ds = '2024-01-02' and hr = '03' and min = '04'"), 50);
    /* the next interval adds its own, and its reruns leave the first alone */
    partitioned_run(TF_START_MS + 60000, "2024-01-02", "03", "05", 30);
    partitioned_run(TF_START_MS + 60000, "2024-01-02", "03", "05", 30);
    partitioned_run(TF_START_MS + 60000, "2024-01-02", "03", "05", 20);
    cr_assert_eq(tf_count(&f, "demo.metrics", NULL), 70);
    cr_assert_eq(tf_count(&f, "demo.metrics", "min = '04'"), 50);
    cr_assert_eq(tf_count(&f, "demo.metrics", "min = '05'"), 20);
    /* generated values: seq, interval timestamps, cycles, uuids, the same on a rerun */
    json_t *rows = tf_scan(&f, "demo.metrics", "min = '05' and id = 2");
    cr_assert_eq(json_array_size(rows), 1);
    json_t *r = json_array_get(rows, 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "tag")), "b");
    cr_assert_str_eq(json_string_value(json_object_get(r, "ts")), "2024-01-02T03:05:03Z",
                     "row 2 of 20 over a minute: %s", json_dumps(r, 0));
    cr_assert_eq(strlen(json_string_value(json_object_get(r, "uid"))), 36);
    double v = json_real_value(json_object_get(r, "v"));
    cr_assert(v >= 0 && v < 10);
    json_decref(rows);
}

Test(tasks_table, generate_is_deterministic_per_run) {
    partitioned_run(TF_START_MS, "2024-01-02", "03", "04", 5);
    json_t *a = tf_scan(&f, "demo.metrics", NULL);
    partitioned_run(TF_START_MS, "2024-01-02", "03", "04", 5);
    json_t *b = tf_scan(&f, "demo.metrics", NULL);
    cr_assert(json_equal(a, b), "a rerun writes the same rows");
    f.run_id = "run2";
    partitioned_run(TF_START_MS, "2024-01-02", "03", "04", 5);
    json_t *c = tf_scan(&f, "demo.metrics", NULL);
    cr_assert_not(json_equal(a, c), "another run draws other random values");
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

Test(tasks_table, files_jsonl_csv_zst_and_parquet) {
    tf_put(&f, "s3://warehouse/in/a.jsonl", "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n", false);
    tf_put(&f, "s3://warehouse/in/b.csv", "id,name,score\n3,c,1.5\n4,d,\n", false);
    tf_put(&f, "s3://warehouse/in/c.jsonl.zst", "{\"id\": 5}\n\n{\"id\": 6, \"ds\": \"2024-01-02\"}\n", true);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.events\", " EVENTS_SCHEMA ","
                        " \"files\": [\"s3://warehouse/in/a.jsonl\", \"s3://warehouse/in/b.csv\","
                        " \"s3://warehouse/in/c.jsonl.zst\"]}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(out_int("rows"), 6);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 6);
    cr_assert_eq(tf_count(&f, "demo.events", "score = 1.5 and name = 'c'"), 1);
    cr_assert_eq(tf_count(&f, "demo.events", "id = 6 and ds = '2024-01-02'"), 1);

    /* a Parquet data file of that table feeds another */
    arena_t a;
    arena_init(&a, 4096);
    ice_table t;
    floe_err err = {0};
    cr_assert(ice_table_load(&f.e.ice, "demo", "events", &a, &t, &err), "%s", err.msg);
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(&t, ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id), &a, &es, &n, &err), "%s",
              err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.copy\", \"schema\": \"name string, id long\", \"files\": [\"%s\"]}",
                        es[0].file.file_path),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    arena_free(&a);
    cr_assert_eq(tf_count(&f, "demo.copy", NULL), 6);
    cr_assert_eq(tf_count(&f, "demo.copy", "id = 3 and name = 'c'"), 1);

    /* a missing file fails (retryably: it may land later) and commits nothing */
    int64_t snap = tf_snapshot(&f, "demo.events");
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.events\", \"files\": [\"s3://warehouse/in/a.jsonl\", "
                        "\"s3://warehouse/in/missing.jsonl\"]}"),
                 PIPE_TASK_FAILED);
    cr_assert(strstr(f.err.msg, "missing.jsonl"), "%s", f.err.msg);
    cr_assert_eq(tf_snapshot(&f, "demo.events"), snap);
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"files\": [\"s3://warehouse/x.txt\"]}"),
        PIPE_TASK_FAILED_NOW);
}

Test(tasks_table, bad_values_commit_nothing) {
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", " EVENTS_SCHEMA ", \"values\": [[1]]}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    int64_t snap = tf_snapshot(&f, "demo.events");
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"rows\": [{\"id\": 2}, {\"id\": \"two\"}]}"),
        PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "rows line 2, column 'id'"), "%s", f.err.msg);
    cr_assert(strstr(f.err.msg, "'two'"), "%s", f.err.msg);
    cr_assert_eq(tf_snapshot(&f, "demo.events"), snap);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"rows\": [{\"idd\": 2}]}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'idd' is not a column"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"rows\": [{\"name\": \"x\"}]}"),
                 PIPE_TASK_FAILED_NOW, "id is required");
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"values\": [[1, 2, 3, 4, 5, 6]]}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "values item 1"), "%s", f.err.msg);
    cr_assert_eq(tf_snapshot(&f, "demo.events"), snap);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 1);
}

Test(tasks_table, bad_arguments_fail_now) {
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.nope\", \"values\": [[1]]}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "schema"), "the fix is named: %s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"nodot\", \"values\": [[1]]}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "NAMESPACE.TABLE"), "%s", f.err.msg);
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.t\", \"schema\": \"id wibble\", \"values\": [[1]]}"),
        PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'schema'"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.t\", \"schema\": \"id long\", \"mode\": \"upsert\", \"values\": [[1]]}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "overwrite_partitions"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.t\", \"schema\": \"id long\", \"values\": [[1]], \"rows\": []}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "exactly one"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.t\", \"schema\": \"id long\"}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.t\", \"schema\": \"id long\", \"generate\": {\"count\": 3, "
                        "\"columns\": {\"id\": \"fibonacci\"}}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "generate.columns.id"), "%s", f.err.msg);
    /* none of those failures created the table */
    bool exists = true;
    floe_err e2 = {0};
    cr_assert(cat_table_exists(f.e.cat, NULL, "demo", "t", &exists, &e2), "%s", e2.msg);
    cr_assert_not(exists, "a task that fails on its arguments leaves nothing behind");
    cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                        "{\"table\": \"demo.t2\", \"schema\": \"id long\", \"partition\": \"day(nosuch)\", "
                        "\"values\": [[1]]}"),
                 PIPE_TASK_FAILED_NOW, "%d %s", f.err.code, f.err.msg);
    /* load-time checks */
    floe_err err = {0};
    json_t *a = json_loads("{\"table\": \"x.y\", \"rows\": [], \"values\": []}", 0, NULL);
    cr_assert_not(pipe_task_write_table.validate(a, &err));
    json_decref(a);
    a = json_loads("{\"table\": \"x.y\", \"rows\": [], \"mode\": \"append\", \"filter\": \"id = 1\"}", 0, NULL);
    cr_assert_not(pipe_task_write_table.validate(a, &err));
    cr_assert(strstr(err.msg, "filter"), "%s", err.msg);
    json_decref(a);
    a = json_loads("{\"table\": \"x.y\", \"rows\": [], \"mode\": \"{{ params.mode }}\"}", 0, NULL);
    cr_assert(pipe_task_write_table.validate(a, &err), "%s", err.msg);
    json_decref(a);
}

Test(tasks_table, empty_writes) {
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", " EVENTS_SCHEMA ", \"values\": [[1]]}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    int64_t snap = tf_snapshot(&f, "demo.events");
    /* no rows to append or to replace partitions with: no snapshot */
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"rows\": []}"), PIPE_TASK_SUCCESS,
                 "%s", f.err.msg);
    cr_assert_eq(out_int("snapshot_id"), snap);
    cr_assert_eq(tf_snapshot(&f, "demo.events"), snap);
    /* an overwrite with no rows empties the table */
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"mode\": \"overwrite\", \"rows\": []}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 0);
}

Test(tasks_table, writes_on_a_catalog_branch) {
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", " EVENTS_SCHEMA ", \"values\": [[1]]}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    arena_t a;
    arena_init(&a, 4096);
    cat_ref r;
    floe_err err = {0};
    cr_assert(cat_ref_create(f.e.cat, "dev", false, NULL, &a, &r, &err), "%s", err.msg);
    arena_free(&a);
    cr_assert_eq(
        tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.events\", \"ref\": \"dev\", \"values\": [[2]]}"),
        PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "demo.events", NULL), 1, "main is untouched");
}

/* ======================================================= publish_signal */

static pipe_task_result publish(const char *endpoint) {
    return tf_run(&f, &pipe_task_publish_signal,
                  "{\"s3_path\": \"s3://warehouse/raw/%s/ds=2024-01-02/hr=03/min=04/%s.jsonl.zst\", \"endpoint\": "
                  "\"%s\"}",
                  endpoint, f.run_id, endpoint);
}

Test(tasks_table, publish_signal_twice_is_one_row) {
    cr_assert_eq(publish("trades"), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "table")), "scraper.signals");
    cr_assert(json_is_false(json_object_get(f.output, "already_published")));
    int64_t snap = out_int("snapshot_id");
    cr_assert_eq(snap, tf_snapshot(&f, "scraper.signals"));
    json_t *rows = tf_scan(&f, "scraper.signals", NULL);
    cr_assert_eq(json_array_size(rows), 1);
    json_t *r = json_array_get(rows, 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "run_id")), "run1");
    cr_assert_str_eq(json_string_value(json_object_get(r, "endpoint")), "trades");
    cr_assert_str_eq(json_string_value(json_object_get(r, "s3_path")),
                     "s3://warehouse/raw/trades/ds=2024-01-02/hr=03/min=04/run1.jsonl.zst");
    cr_assert_str_eq(json_string_value(json_object_get(r, "ds")), "2024-01-02");
    cr_assert_str_eq(json_string_value(json_object_get(r, "hr")), "03");
    cr_assert_str_eq(json_string_value(json_object_get(r, "min")), "04");
    cr_assert(json_is_string(json_object_get(r, "published_at")));
    json_decref(rows);

    /* the retry finds the row and writes nothing */
    f.try_number = 2;
    cr_assert_eq(publish("trades"), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert(json_is_true(json_object_get(f.output, "already_published")));
    cr_assert_eq(out_int("snapshot_id"), snap);
    cr_assert_eq(tf_snapshot(&f, "scraper.signals"), snap);
    cr_assert_eq(tf_count(&f, "scraper.signals", NULL), 1);

    /* another endpoint, or another run, is another signal */
    cr_assert_eq(publish("klines"), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    f.run_id = "run'2";
    cr_assert_eq(publish("trades"), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(publish("trades"), PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert(json_is_true(json_object_get(f.output, "already_published")), "quotes in the run id are escaped");
    cr_assert_eq(tf_count(&f, "scraper.signals", NULL), 3);
    cr_assert_eq(tf_count(&f, "scraper.signals", "run_id = 'run''2'"), 1);
}

Test(tasks_table, publish_signal_own_table_and_args) {
    cr_assert_eq(tf_run(&f, &pipe_task_publish_signal,
                        "{\"s3_path\": \"s3://warehouse/x\", \"endpoint\": \"e\", \"table\": \"ops.sig\"}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_count(&f, "ops.sig", NULL), 1);
    /* the table is partitioned by ds */
    arena_t a;
    arena_init(&a, 4096);
    ice_table t;
    floe_err err = {0};
    cr_assert(ice_table_load(&f.e.ice, "ops", "sig", &a, &t, &err), "%s", err.msg);
    const ice_partition_spec *spec = ice_meta_spec(&t.meta, t.meta.default_spec_id);
    cr_assert_eq(spec->nfields, 1);
    cr_assert_str_eq(spec->fields[0].name, "ds");
    arena_free(&a);
    cr_assert_eq(tf_run(&f, &pipe_task_publish_signal, "{\"endpoint\": \"e\"}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "'s3_path'"), "%s", f.err.msg);
}

/* Another publisher of the same signal commits between our look and our
 * commit: our commit conflicts, and the task looks again and finds the
 * row. The interloper runs from inside our task's log line "publishing",
 * which comes after the look and before the commit. */
static bool interloped;
static pipe_task_result interloper_result;

static void interloping_log(void *arg, const char *line) {
    (void)arg;
    if (interloped || !strstr(line, "publishing")) return;
    interloped = true;
    arena_t a;
    arena_init(&a, 4096);
    json_t *out = json_object();
    floe_err err = {0};
    pipe_task_ctx c = f.ctx;
    c.arena = &a;
    c.output = out;
    c.log_fn = NULL;
    interloper_result = pipe_task_publish_signal.run(&c, &err);
    cr_assert_eq(interloper_result, PIPE_TASK_SUCCESS, "%s", err.msg);
    cr_assert(json_is_false(json_object_get(out, "already_published")));
    json_decref(out);
    arena_free(&a);
}

Test(tasks_table, publish_signal_race_is_one_row) {
    cr_assert_eq(publish("klines"), PIPE_TASK_SUCCESS, "%s", f.err.msg); /* the table exists */
    json_t *args = json_pack("{s:s, s:s}", "s3_path", "s3://warehouse/raw/x", "endpoint", "trades");
    arena_t a;
    arena_init(&a, 4096);
    json_t *out = json_object();
    floe_err err = {0};
    pipe_task_ctx c = f.ctx;
    c.args = args;
    c.arena = &a;
    c.output = out;
    c.log_fn = interloping_log;
    f.ctx = c;
    cr_assert_eq(pipe_task_publish_signal.run(&c, &err), PIPE_TASK_SUCCESS, "%s", err.msg);
    cr_assert(interloped, "the task logs \"publishing\" between its look and its commit");
    cr_assert(json_is_true(json_object_get(out, "already_published")), "the second look found the interloper's row");
    cr_assert_eq(tf_count(&f, "scraper.signals", "endpoint = 'trades'"), 1);
    json_decref(out);
    json_decref(args);
    arena_free(&a);
}
