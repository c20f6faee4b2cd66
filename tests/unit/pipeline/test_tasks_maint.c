/*
 * test_tasks_maint.c: maintenance (task_maint.c): compaction of small
 * files, snapshot expiry and orphan removal through the task, with the
 * rows unchanged after, files a catalog branch still reads kept, and
 * argument errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_tasks.h"

static task_fixture f;

static void setup(void) { tf_open(&f, "tasks-maint"); }
static void teardown(void) { tf_close(&f); }

TestSuite(tasks_maint, .init = setup, .fini = teardown);

static int64_t out_step(const char *step, const char *key) {
    json_t *o = json_object_get(f.output, step);
    cr_assert(json_is_object(o), "output has no %s", step);
    return json_integer_value(json_object_get(o, key));
}

/* n appends of one row each: n small files, n snapshots. */
static void small_appends(int n) {
    for (int i = 0; i < n; i++)
        cr_assert_eq(tf_run(&f, &pipe_task_write_table,
                            "{\"table\": \"demo.m\", \"schema\": \"id long, v string\", \"values\": [[%d, \"v%d\"]]}",
                            i, i),
                     PIPE_TASK_SUCCESS, "%s", f.err.msg);
}

static bool count_one(const fileio_entry *e, void *arg) {
    (void)e;
    (*(int64_t *)arg)++;
    return true;
}

static int64_t count_files(const char *prefix) {
    int64_t n = 0;
    floe_err err = {0};
    cr_assert(fileio_list(f.e.io, prefix, count_one, &n, &err), "%s", err.msg);
    return n;
}

Test(tasks_maint, compact_expire_remove_orphans) {
    small_appends(6);
    tf_put(&f, "s3://warehouse/demo/m/data/orphan-1.parquet", "not really parquet", false);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance,
                        "{\"table\": \"demo.m\", \"compact\": {\"target_size\": \"64MB\"},"
                        " \"expire\": {\"older_than\": \"0s\", \"retain_last\": 1},"
                        " \"remove_orphans\": {\"older_than\": 0}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(f.output, "table")), "demo.m");
    cr_assert_eq(out_step("compact", "rewritten_data_files"), 6);
    cr_assert_eq(out_step("compact", "added_data_files"), 1);
    cr_assert_eq(out_step("compact", "snapshot_id"), tf_snapshot(&f, "demo.m"));
    cr_assert_eq(out_step("expire", "expired_snapshots"), 6, "six appends expire; the compaction stays");
    cr_assert_eq(out_step("expire", "deleted_data_files"), 6);
    cr_assert_eq(out_step("remove_orphans", "orphans"), 1);
    cr_assert(strstr(tf_log(&f), "orphan-1.parquet"), "%s", tf_log(&f));
    cr_assert_eq(tf_count(&f, "demo.m", NULL), 6, "maintenance keeps every row");
    cr_assert_eq(tf_count(&f, "demo.m", "v = 'v5'"), 1);
    cr_assert_eq(count_files("s3://warehouse/demo/m/data/"), 1);
}

Test(tasks_maint, one_step_and_defaults) {
    small_appends(2);
    /* defaults: snapshots younger than 5 days stay */
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"expire\": {}}"), PIPE_TASK_SUCCESS, "%s",
                 f.err.msg);
    cr_assert_eq(out_step("expire", "expired_snapshots"), 0);
    cr_assert_null(json_object_get(f.output, "compact"));
    /* orphans younger than 3 days stay */
    tf_put(&f, "s3://warehouse/demo/m/data/young.parquet", "x", false);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"remove_orphans\": {}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(out_step("remove_orphans", "orphans"), 0);
    /* too few files to compact: no snapshot */
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"compact\": {}}"), PIPE_TASK_SUCCESS,
                 "%s", f.err.msg);
    cr_assert(json_is_null(json_object_get(json_object_get(f.output, "compact"), "snapshot_id")));
}

Test(tasks_maint, files_a_branch_reads_are_kept) {
    small_appends(3);
    arena_t a;
    arena_init(&a, 4096);
    cat_ref r;
    floe_err err = {0};
    cr_assert(cat_ref_create(f.e.cat, "audit", false, NULL, &a, &r, &err), "%s", err.msg);
    arena_free(&a);
    cr_assert_eq(tf_run(&f, &pipe_task_write_table, "{\"table\": \"demo.m\", \"mode\": \"overwrite\", \"values\": []}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance,
                        "{\"table\": \"demo.m\", \"expire\": {\"older_than\": \"0s\", \"retain_last\": 1},"
                        " \"remove_orphans\": {\"older_than\": \"0s\"}}"),
                 PIPE_TASK_SUCCESS, "%s", f.err.msg);
    cr_assert_eq(out_step("expire", "deleted_data_files"), 0, "the audit branch still reads them");
    cr_assert_eq(out_step("remove_orphans", "orphans"), 0);
    cr_assert_eq(count_files("s3://warehouse/demo/m/data/"), 3);
}

Test(tasks_maint, bad_arguments) {
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.none\", \"expire\": {}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "demo.none"), "%s", f.err.msg);
    small_appends(1);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\"}"), PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "at least one step"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"expire\": {\"keep\": 3}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "expire.keep"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"expire\": {\"older_than\": \"old\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "expire.older_than"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"compact\": {\"target_size\": \"big\"}}"),
                 PIPE_TASK_FAILED_NOW);
    cr_assert(strstr(f.err.msg, "compact.target_size"), "%s", f.err.msg);
    cr_assert_eq(tf_run(&f, &pipe_task_maintenance, "{\"table\": \"demo.m\", \"expire\": 5}"), PIPE_TASK_FAILED_NOW);
    floe_err err = {0};
    json_t *a = json_loads("{\"table\": \"a.b\"}", 0, NULL);
    cr_assert_not(pipe_task_maintenance.validate(a, &err));
    json_decref(a);
}
