/*
 * table_refs.c: `floe table branch|tag|rollback|set-current|fast-forward|
 * cherry-pick` (src/iceberg/refs.c does the work; each prints one line on
 * stderr saying what changed) and the history, refs and partitions
 * listings, shaped like Spark's metadata tables of the same names.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "cli/table_int.h"

static int usage(const char *cmd) {
    static const char *const lines[][2] = {
        {"branch", "floe table branch NS.T create|drop NAME [--snapshot ID]"},
        {"tag", "floe table tag NS.T create|drop NAME [--snapshot ID]"},
        {"rollback", "floe table rollback NS.T SNAPSHOT"},
        {"set-current", "floe table set-current NS.T SNAPSHOT"},
        {"fast-forward", "floe table fast-forward NS.T BRANCH --to REF"},
        {"cherry-pick", "floe table cherry-pick NS.T SNAPSHOT"},
        {"history", "floe table history NS.T [--format table|csv|json]"},
        {"refs", "floe table refs NS.T [--format table|csv|json]"},
        {"partitions", "floe table partitions NS.T [--snapshot ID | --ref NAME] [--format table|csv|json]"},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strcmp(lines[i][0], cmd)) fprintf(stderr, "usage: %s\n", lines[i][1]);
    return 2;
}

/* The positional arguments after NS.T must number exactly n. */
static bool npos_is(const targs *ta, int n, const char *cmd) {
    if (ta->npos == n) return true;
    if (ta->npos > n)
        fprintf(stderr, "floe table %s: unexpected argument '%s'\n", cmd, ta->pos[n]);
    else
        fprintf(stderr, "floe table %s: missing arguments\n", cmd);
    return false;
}

static bool parse_snapshot_arg(const char *cmd, const char *text, int64_t *out) {
    if (str_to_i64_range(text, 0, INT64_MAX, out)) return true;
    fprintf(stderr, "floe table %s: '%s' is not a snapshot id; expected a number (see `floe table snapshots NS.T`)\n",
            cmd, text);
    return false;
}

static char *i64s(arena_t *a, int64_t v) { return arena_sprintf(a, "%lld", (long long)v); }
static char *opt_i64(arena_t *a, int64_t v) { return v >= 0 ? i64s(a, v) : NULL; }

/* ============================================================== changes */

static int c_ref(env *e, targs *ta, arena_t *a, const char *cmd) {
    bool tag = !strcmp(cmd, "tag");
    const char *full = tag ? "table tag" : "table branch";
    if (!npos_is(ta, 2, cmd)) return usage(cmd);
    const char *verb = ta->pos[0], *name = ta->pos[1];
    bool create = !strcmp(verb, "create");
    if (!create && strcmp(verb, "drop")) {
        fprintf(stderr, "floe %s: '%s' is not a verb; expected create or drop\n", full, verb);
        return usage(cmd);
    }
    if (!create && ta->snapshot >= 0) {
        fprintf(stderr, "floe %s: --snapshot applies to create, not drop\n", full);
        return 2;
    }
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail(full, &err);
    const char *kind = tag ? "tag" : "branch";
    if (create) {
        if (!ice_ref_create(&t, name, tag, ta->snapshot, a, &err)) return tcli_fail(full, &err);
        fprintf(stderr, "%s.%s: created %s %s at snapshot %lld\n", t.ns, t.name, kind, name,
                (long long)ice_meta_ref(&t.meta, name)->snapshot_id);
        return 0;
    }
    const ice_ref *old = ice_meta_ref(&t.meta, name);
    int64_t was = old ? old->snapshot_id : -1;
    if (!ice_ref_drop(&t, name, tag, a, &err)) return tcli_fail(full, &err);
    fprintf(stderr, "%s.%s: dropped %s %s (it was at snapshot %lld)\n", t.ns, t.name, kind, name, (long long)was);
    return 0;
}

static int c_set_main(env *e, targs *ta, arena_t *a, const char *cmd) {
    const char *full = arena_sprintf(a, "table %s", cmd);
    if (!npos_is(ta, 1, cmd)) return usage(cmd);
    int64_t id;
    if (!parse_snapshot_arg(cmd, ta->pos[0], &id)) return 2;
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail(full, &err);
    int64_t was = t.meta.current_snapshot_id;
    bool ok = !strcmp(cmd, "rollback") ? ice_table_rollback(&t, id, a, &err) : ice_table_set_current(&t, id, a, &err);
    if (!ok) return tcli_fail(full, &err);
    if (was == id)
        fprintf(stderr, "%s.%s: main is already at snapshot %lld; nothing changed\n", t.ns, t.name, (long long)id);
    else
        fprintf(stderr, "%s.%s: main %s from snapshot %lld to %lld\n", t.ns, t.name,
                !strcmp(cmd, "rollback") ? "rolled back" : "moved", (long long)was, (long long)id);
    return 0;
}

static int c_fast_forward(env *e, targs *ta, arena_t *a) {
    if (!npos_is(ta, 1, "fast-forward")) return usage("fast-forward");
    if (!ta->to) {
        fprintf(stderr, "floe table fast-forward: --to REF is required (the branch or tag to catch up with)\n");
        return usage("fast-forward");
    }
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table fast-forward", &err);
    const char *branch = ta->pos[0];
    int64_t from;
    if (!ice_branch_fast_forward(&t, branch, ta->to, a, &from, &err)) return tcli_fail("table fast-forward", &err);
    int64_t to = ice_meta_ref(&t.meta, branch)->snapshot_id;
    if (from == to)
        fprintf(stderr, "%s.%s: %s is already at %s's snapshot %lld; nothing changed\n", t.ns, t.name, branch, ta->to,
                (long long)to);
    else
        fprintf(stderr, "%s.%s: fast-forwarded %s from snapshot %lld to %lld (the head of %s)\n", t.ns, t.name, branch,
                (long long)from, (long long)to, ta->to);
    return 0;
}

static int c_cherry_pick(env *e, targs *ta, arena_t *a) {
    if (!npos_is(ta, 1, "cherry-pick")) return usage("cherry-pick");
    int64_t id;
    if (!parse_snapshot_arg("cherry-pick", ta->pos[0], &id)) return 2;
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table cherry-pick", &err);
    ice_cherry_pick_result res;
    if (!ice_table_cherry_pick(&t, id, a, &res, &err)) return tcli_fail("table cherry-pick", &err);
    if (res.fast_forward)
        fprintf(stderr, "%s.%s: cherry-picked snapshot %lld by fast-forwarding main to it\n", t.ns, t.name,
                (long long)id);
    else
        fprintf(stderr, "%s.%s: cherry-picked snapshot %lld onto main as snapshot %lld: +%lld files, -%lld files\n",
                t.ns, t.name, (long long)id, (long long)res.snapshot_id, (long long)res.added_files,
                (long long)res.deleted_files);
    return 0;
}

/* ============================================================= listings */

/* A time cell and its JSON text (null below 0). */
static void time_cell(arena_t *a, int64_t ms, char **cell, char **json) {
    if (ms < 0) {
        *cell = NULL;
        *json = "null";
        return;
    }
    char ts[32];
    time_iso8601_ms(ms, ts);
    *cell = arena_strdup(a, ts);
    *json = arena_sprintf(a, "\"%s\"", ts);
}

static int l_history(env *e, targs *ta, arena_t *a) {
    if (!npos_is(ta, 0, "history")) return usage("history");
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table history", &err);
    ice_history_entry *h;
    size_t n = ice_table_history(&t.meta, a, &h);
    const char *hdr[] = {"made_current_at", "snapshot_id", "parent_id", "is_current_ancestor"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, hdr, 4);
    for (size_t i = 0; i < n; i++) {
        char *c[4], *j[4];
        time_cell(a, h[i].made_current_at_ms, &c[0], &j[0]);
        c[1] = j[1] = i64s(a, h[i].snapshot_id);
        c[2] = opt_i64(a, h[i].parent_id);
        j[2] = c[2] ? c[2] : "null";
        c[3] = j[3] = h[i].is_current_ancestor ? "true" : "false";
        pr_row(&p, c, j);
    }
    pr_end(&p);
    return 0;
}

static int l_refs(env *e, targs *ta, arena_t *a) {
    if (!npos_is(ta, 0, "refs")) return usage("refs");
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table refs", &err);
    const char *hdr[] = {
        "name", "type", "snapshot_id", "max_reference_age_in_ms", "min_snapshots_to_keep", "max_snapshot_age_in_ms"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, hdr, 6);
    for (int32_t i = 0; i < t.meta.nrefs; i++) {
        const ice_ref *r = &t.meta.refs[i];
        char *c[6] = {(char *)r->name,
                      r->is_tag ? "TAG" : "BRANCH",
                      i64s(a, r->snapshot_id),
                      opt_i64(a, r->max_ref_age_ms),
                      opt_i64(a, r->min_snapshots_to_keep),
                      opt_i64(a, r->max_snapshot_age_ms)};
        char *name = tcli_jstr(r->name);
        char *j[6] = {name, r->is_tag ? "\"TAG\"" : "\"BRANCH\"", c[2], NULL, NULL, NULL};
        for (int k = 3; k < 6; k++) j[k] = c[k] ? c[k] : "null";
        pr_row(&p, c, j);
        free(name);
    }
    pr_end(&p);
    return 0;
}

/* The partition tuple as {"ts_day":"2026-03-28","id_bucket":1}. */
static char *partition_json(const ice_partition_spec *spec, const ice_partition_stats *ps) {
    json_t *o = json_object();
    for (int32_t i = 0; spec && i < spec->nfields && i < ps->npartition; i++)
        json_object_set_new(o, spec->fields[i].name, ice_value_to_json(&ps->partition[i]));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int l_partitions(env *e, targs *ta, arena_t *a) {
    if (!npos_is(ta, 0, "partitions")) return usage("partitions");
    if (ta->snapshot >= 0 && ta->ref) {
        fprintf(stderr, "floe table partitions: give --snapshot or --ref, not both\n");
        return 2;
    }
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table partitions", &err);
    const ice_snapshot *snap = ice_table_snapshot_at(&t, ta->snapshot, ta->ref, &err);
    if (!snap && err.code) return tcli_fail("table partitions", &err);
    ice_partition_stats *ps;
    size_t n;
    if (!ice_table_partitions(&t, snap, a, &ps, &n, &err)) return tcli_fail("table partitions", &err);
    const char *hdr[] = {"partition",
                         "spec_id",
                         "record_count",
                         "file_count",
                         "total_data_file_size_in_bytes",
                         "last_updated_at",
                         "last_updated_snapshot_id"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, hdr, 7);
    const fmt_schema_t *schema = ice_meta_current_schema(&t.meta);
    for (size_t i = 0; i < n; i++) {
        const ice_partition_spec *spec = ice_meta_spec(&t.meta, ps[i].spec_id);
        buf_t path = BUF_INIT;
        if (spec && spec->nfields == ps[i].npartition) ice_partition_path(spec, schema, ps[i].partition, &path);
        buf_putc(&path, 0);
        char *c[7], *j[7];
        c[0] = path.data;
        j[0] = partition_json(spec, &ps[i]);
        c[1] = j[1] = arena_sprintf(a, "%d", ps[i].spec_id);
        c[2] = j[2] = i64s(a, ps[i].record_count);
        c[3] = j[3] = i64s(a, ps[i].file_count);
        c[4] = j[4] = i64s(a, ps[i].total_data_file_size_in_bytes);
        time_cell(a, ps[i].last_updated_at_ms, &c[5], &j[5]);
        c[6] = opt_i64(a, ps[i].last_updated_snapshot_id);
        j[6] = c[6] ? c[6] : "null";
        pr_row(&p, c, j);
        free(j[0]);
        buf_free(&path);
    }
    pr_end(&p);
    return 0;
}

int tcli_refs(env *e, targs *ta, arena_t *a, const char *cmd) {
    if (!strcmp(cmd, "branch") || !strcmp(cmd, "tag")) return c_ref(e, ta, a, cmd);
    if (!strcmp(cmd, "rollback") || !strcmp(cmd, "set-current")) return c_set_main(e, ta, a, cmd);
    if (!strcmp(cmd, "fast-forward")) return c_fast_forward(e, ta, a);
    if (!strcmp(cmd, "cherry-pick")) return c_cherry_pick(e, ta, a);
    if (!strcmp(cmd, "history")) return l_history(e, ta, a);
    if (!strcmp(cmd, "refs")) return l_refs(e, ta, a);
    if (!strcmp(cmd, "partitions")) return l_partitions(e, ta, a);
    fprintf(stderr, "floe table: unknown command '%s'\n", cmd);
    return 2;
}
