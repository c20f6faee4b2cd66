/*
 * test_sched_specs.c: the scheduler and its pipelines directory: files
 * written, added and removed are picked up through inotify (or
 * pipe_reload); a bad spec is skipped with its error kept for the API; a
 * pipeline whose file breaks keeps its last good spec; a removed
 * pipeline's history stays readable.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "test_sched_env.h"

static sched_test_env env;

static void setup(void) { sched_test_env_init(&env, "specs"); }
static void teardown(void) { sched_test_env_fini(&env); }

TestSuite(pipe_sched_specs, .init = setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 30000

static json_t *find(json_t *list, const char *name) {
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) if (!strcmp(json_string_value(json_object_get(p, "name")), name)) return p;
    return NULL;
}

static size_t ntasks(const char *name) {
    json_t *p = pipe_get_json(env.s, name, &(floe_err){0});
    size_t n = p ? json_array_size(json_object_get(p, "tasks")) : 0;
    json_decref(p);
    return n;
}

static bool has_two_tasks(void *arg) { return ntasks(arg) == 2; }

static bool listed(void *arg) {
    json_t *l = pipe_list_json(env.s, &(floe_err){0});
    bool found = l && find(l, arg);
    json_decref(l);
    return found;
}

static bool not_listed(void *arg) { return !listed(arg); }

Test(pipe_sched_specs, watch_reloads_changed_added_and_removed_files) {
    sched_test_spec(&env, "grow", "tasks:\n  a: {type: t_noop}\n");
    sched_test_start(&env, 2, true);
    cr_expect_eq(ntasks("grow"), 1);

    sched_test_spec(&env, "grow", "tasks:\n  a: {type: t_noop}\n  b: {type: t_noop, upstream: a}\n");
    sched_test_wait(has_two_tasks, "grow", WAIT_MS, "the changed spec to load");

    sched_test_spec(&env, "extra", "tasks:\n  x: {type: t_noop}\n");
    sched_test_wait(listed, "extra", WAIT_MS, "the new spec to load");
    char id[256];
    sched_test_trigger(&env, "extra", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));

    char path[400];
    snprintf(path, sizeof path, "%s/extra.yaml", env.pipelines);
    cr_assert_eq(unlink(path), 0);
    sched_test_wait(not_listed, "extra", WAIT_MS, "the removed spec to go");
    floe_err err = {0};
    char id2[256];
    cr_expect(!pipe_trigger(env.s, "extra", NULL, -1, id2, sizeof id2, &err) && err.code == FLOE_ENOENT);
    json_t *runs = pipe_runs_json(env.s, "extra", 10, &err);
    cr_assert(runs, "a removed pipeline's runs stay readable: %s", err.msg);
    cr_expect_eq(json_array_size(runs), 1);
    json_decref(runs);
    json_t *tis = pipe_tasks_json(env.s, id, &err);
    cr_expect_eq(json_array_size(tis), 1);
    json_decref(tis);

    /* the new version of grow runs its two tasks */
    sched_test_trigger(&env, "grow", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
    tis = pipe_tasks_json(env.s, id, &err);
    cr_expect_eq(json_array_size(tis), 2);
    json_decref(tis);
}

Test(pipe_sched_specs, bad_spec_error_is_kept) {
    sched_test_spec(&env, "bad", "tasks:\n  a: {type: t_noop, colour: red}\n");
    sched_test_spec(&env, "good", "tasks:\n  a: {type: t_noop}\n");
    sched_test_start(&env, 2, false);
    floe_err err = {0};
    json_t *l = pipe_list_json(env.s, &err);
    cr_assert(l, "%s", err.msg);
    cr_expect_eq(json_array_size(l), 2);
    json_t *bad = find(l, "bad");
    cr_assert(bad);
    const char *e = json_string_value(json_object_get(bad, "error"));
    cr_expect(e && strstr(e, "bad.yaml:2") && strstr(e, "colour"), "the error names file, line and key: %s", e);
    cr_expect(json_is_null(json_object_get(find(l, "good"), "error")));
    json_decref(l);
    pipe_sched_stats st;
    pipe_sched_stats_get(env.s, &st);
    cr_expect_eq(st.pipelines, 2);
    cr_expect_eq(st.specs_with_errors, 1);
    char id[256];
    cr_expect(!pipe_trigger(env.s, "bad", NULL, -1, id, sizeof id, &err) && err.code == FLOE_EPRECOND, "%s", err.msg);
    cr_expect(strstr(err.msg, "colour"), "%s", err.msg);

    /* a good pipeline whose file breaks keeps running its last good spec */
    sched_test_spec(&env, "good", "tasks:\n  a: {type: t_noop}\n  b: {type: nosuchtype}\n");
    pipe_reload(env.s);
    json_t *g = pipe_get_json(env.s, "good", &err);
    e = json_string_value(json_object_get(g, "error"));
    cr_expect(e && strstr(e, "nosuchtype"), "%s", e);
    cr_expect_eq(json_array_size(json_object_get(g, "tasks")), 1);
    json_decref(g);
    sched_test_trigger(&env, "good", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));

    /* fixed */
    sched_test_spec(&env, "bad", "tasks:\n  a: {type: t_noop}\n");
    pipe_reload(env.s);
    g = pipe_get_json(env.s, "bad", &err);
    cr_expect(json_is_null(json_object_get(g, "error")));
    json_decref(g);
    sched_test_trigger(&env, "bad", NULL, id);
    json_decref(sched_test_wait_run(&env, id, "success", WAIT_MS));
}

Test(pipe_sched_specs, no_watch_reloads_by_hand) {
    sched_test_start(&env, 1, false);
    sched_test_spec(&env, "late", "tasks:\n  a: {type: t_noop}\n");
    cr_expect(!listed("late"), "not watched: no reload yet");
    pipe_reload(env.s);
    cr_expect(listed("late"));
    /* yml works too, and ignores other files */
    char path[400];
    snprintf(path, sizeof path, "%s/notes.txt", env.pipelines);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("not a spec", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/other.yml", env.pipelines);
    f = fopen(path, "w");
    cr_assert(f);
    fputs("tasks:\n  a: {type: t_noop}\n", f);
    fclose(f);
    pipe_reload(env.s);
    json_t *l = pipe_list_json(env.s, &(floe_err){0});
    cr_expect_eq(json_array_size(l), 2);
    cr_expect(find(l, "other"));
    json_decref(l);
}
