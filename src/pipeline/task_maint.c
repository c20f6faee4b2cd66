/*
 * task_maint.c: maintenance, Iceberg table upkeep on a schedule: compact
 * small files, expire old snapshots and remove orphan files, the Spark
 * procedures rewrite_data_files, expire_snapshots and
 * remove_orphan_files, through the same library calls as
 * `floe table compact | expire | remove-orphans` (iceberg/maint.c). The
 * steps run in that order, so a compaction's replaced files can go with
 * the snapshots that expire. Files that the table's version on another
 * catalog branch or tag can still read are kept.
 */
#include <string.h>

#include "base/time.h"
#include "pipeline/task_int.h"

static const pipe_field maint_fields[] = {
    {"table", PIPE_FIELD_STRING, true, "the table as NAMESPACE.TABLE"},
    {"ref", PIPE_FIELD_STRING, false, "the catalog branch (default main)"},
    {"compact", PIPE_FIELD_OBJECT, false, "{target_size: 128MB}: rewrite small files into files of about that size"},
    {"expire", PIPE_FIELD_OBJECT, false,
     "{older_than: 7d, retain_last: 5}: expire snapshots older than that, keeping at least the last N"},
    {"remove_orphans", PIPE_FIELD_OBJECT, false,
     "{older_than: 3d}: delete files under the table no snapshot reaches, older than that"},
};

static const char *const step_keys[][3] = {
    {"compact", "target_size", NULL},
    {"expire", "older_than", "retain_last"},
    {"remove_orphans", "older_than", NULL},
};

/* Unknown keys inside a step are mistakes, not silently ignored. */
static bool step_keys_ok(json_t *args, floe_err *err, int *nsteps) {
    *nsteps = 0;
    for (int i = 0; i < 3; i++) {
        json_t *o = json_object_get(args, step_keys[i][0]);
        if (!o || json_is_null(o)) continue;
        (*nsteps)++;
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            if (!strcmp(k, step_keys[i][1]) || (step_keys[i][2] && !strcmp(k, step_keys[i][2]))) continue;
            return floe_err_set(err, FLOE_EINVAL, "%s.%s: no such key; %s takes %s%s%s", step_keys[i][0], k,
                                step_keys[i][0], step_keys[i][1], step_keys[i][2] ? " and " : "",
                                step_keys[i][2] ? step_keys[i][2] : "");
        }
    }
    if (!*nsteps) return floe_err_set(err, FLOE_EINVAL, "give at least one step: compact, expire or remove_orphans");
    return true;
}

static bool maint_validate(json_t *args, floe_err *err) {
    int n;
    return step_keys_ok(args, err, &n);
}

/* Bytes: an integer, or "128MB", "64MiB", "1GB", "512KB". */
static bool size_value(const pipe_task_ctx *c, json_t *v, int64_t *out, floe_err *err) {
    const char *expected = "a size in bytes, or like 128MB, 64MiB, 1GB";
    if (!v || json_is_null(v)) {
        *out = 0;
        return true;
    }
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_string(v)) return targ_bad(c, "compact.target_size", v, expected, err);
    char *end;
    double x = strtod(json_string_value(v), &end);
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1},       {"B", 1},         {"KB", 1e3},        {"MB", 1e6},
                 {"GB", 1e9},   {"KiB", 1024.0},  {"MiB", 1048576.0}, {"GiB", 1073741824.0},
                 {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}};
    while (*end == ' ') end++;
    for (size_t i = 0; end != json_string_value(v) && i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit) && x * units[i].mult >= 1 && x * units[i].mult < 9e18) {
            *out = (int64_t)(x * units[i].mult);
            return true;
        }
    return targ_bad(c, "compact.target_size", v, expected, err);
}

/* The same table on the catalog's other branches and tags: maintenance on
 * this ref must not delete what they can still read. */
static bool other_versions(const pipe_task_ctx *c, const task_table *tt, ice_maint_keep *keep, floe_err *err) {
    return cat_table_other_versions(c->env->cat, tt->ref, tt->t.ns, tt->t.name, tt->t.metadata_location, c->arena, keep,
                                    err);
}

static bool reload(const pipe_task_ctx *c, task_table *tt, floe_err *err) {
    return ice_table_load(tt->ice, tt->t.ns, tt->t.name, c->arena, &tt->t, err);
}

static bool step_compact(pipe_task_ctx *c, task_table *tt, json_t *spec, floe_err *err) {
    ice_compact_opts o = {.min_file_bytes = -1, .max_file_bytes = -1};
    if (!size_value(c, json_object_get(spec, "target_size"), &o.target_file_bytes, err)) return false;
    ice_compact_result r;
    if (!ice_compact(&tt->t, &o, c->arena, &r, err))
        return floe_err_wrap(err, "compacting %s.%s", tt->t.ns, tt->t.name);
    pipe_log(c, "compact: %lld files rewritten into %lld (%lld groups)%s", (long long)r.rewritten_data_files_count,
             (long long)r.added_data_files_count, (long long)r.groups, r.snapshot_id < 0 ? ": nothing to do" : "");
    json_object_set_new(
        c->output, "compact",
        json_pack("{s:o, s:I, s:I, s:I}", "snapshot_id", r.snapshot_id >= 0 ? json_integer(r.snapshot_id) : json_null(),
                  "rewritten_data_files", (json_int_t)r.rewritten_data_files_count, "added_data_files",
                  (json_int_t)r.added_data_files_count, "rewritten_bytes", (json_int_t)r.rewritten_bytes_count));
    return reload(c, tt, err);
}

static bool step_expire(pipe_task_ctx *c, task_table *tt, json_t *spec, floe_err *err) {
    int64_t older, retain;
    if (!tval_duration(c, "expire.older_than", json_object_get(spec, "older_than"), -1, &older, err) ||
        !tval_int(c, "expire.retain_last", json_object_get(spec, "retain_last"), -1, 1, INT32_MAX, &retain, err))
        return false;
    ice_expire_opts o = {.older_than_ms = older >= 0 ? time_now_ms() - older : -1, .retain_last = (int32_t)retain};
    if (!other_versions(c, tt, &o.keep, err)) return false;
    ice_expire_result r;
    if (!ice_expire_snapshots(&tt->t, &o, c->arena, &r, err))
        return floe_err_wrap(err, "expiring snapshots of %s.%s", tt->t.ns, tt->t.name);
    pipe_log(c, "expire: %zu snapshots expired; %lld data files, %lld manifests, %lld manifest lists deleted",
             r.nexpired, (long long)r.deleted_data_files_count, (long long)r.deleted_manifest_files_count,
             (long long)r.deleted_manifest_lists_count);
    json_object_set_new(c->output, "expire",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "expired_snapshots", (json_int_t)r.nexpired,
                                  "deleted_data_files", (json_int_t)r.deleted_data_files_count,
                                  "deleted_manifest_files", (json_int_t)r.deleted_manifest_files_count,
                                  "deleted_manifest_lists", (json_int_t)r.deleted_manifest_lists_count,
                                  "failed_deletes", (json_int_t)r.failed_deletes));
    return reload(c, tt, err);
}

static bool step_orphans(pipe_task_ctx *c, task_table *tt, json_t *spec, floe_err *err) {
    int64_t older;
    if (!tval_duration(c, "remove_orphans.older_than", json_object_get(spec, "older_than"), -1, &older, err))
        return false;
    ice_orphan_opts o = {.older_than_ms = older >= 0 ? time_now_ms() - older : -1};
    if (!other_versions(c, tt, &o.keep, err)) return false;
    ice_orphan_result r;
    if (!ice_remove_orphans(&tt->t, &o, c->arena, &r, err))
        return floe_err_wrap(err, "removing orphan files of %s.%s", tt->t.ns, tt->t.name);
    for (size_t i = 0; i < r.n; i++) pipe_log(c, "remove_orphans: deleted %s", r.orphans[i]);
    pipe_log(c, "remove_orphans: %zu orphan files of %lld listed", r.n, (long long)r.listed);
    json_object_set_new(c->output, "remove_orphans",
                        json_pack("{s:I, s:I, s:I}", "orphans", (json_int_t)r.n, "listed", (json_int_t)r.listed,
                                  "failed_deletes", (json_int_t)r.failed_deletes));
    return true;
}

static pipe_task_result maint_run(pipe_task_ctx *c, floe_err *err) {
    const char *table, *ref;
    json_t *steps[3];
    int nsteps;
    if (!targ_str(c, "table", true, &table, err) || !targ_str(c, "ref", false, &ref, err) ||
        !targ_object(c, "compact", false, &steps[0], err) || !targ_object(c, "expire", false, &steps[1], err) ||
        !targ_object(c, "remove_orphans", false, &steps[2], err))
        return PIPE_TASK_FAILED_NOW;
    if (!step_keys_ok(c->args, err, &nsteps)) {
        floe_err_wrap(err, "task %s", c->task_id);
        return PIPE_TASK_FAILED_NOW;
    }
    task_table tt;
    if (!task_table_open(c, table, ref, NULL, NULL, &tt, err)) return task_failed(err);
    json_object_set_new(c->output, "table", json_sprintf("%s.%s", tt.t.ns, tt.t.name));
    if ((steps[0] && !step_compact(c, &tt, steps[0], err)) || task_stopping(c, err) ||
        (steps[1] && !step_expire(c, &tt, steps[1], err)) || task_stopping(c, err) ||
        (steps[2] && !step_orphans(c, &tt, steps[2], err)))
        return task_failed(err);
    return PIPE_TASK_SUCCESS;
}

const pipe_task_type pipe_task_maintenance = {
    .name = "maintenance",
    .fields = maint_fields,
    .nfields = sizeof maint_fields / sizeof maint_fields[0],
    .validate = maint_validate,
    .run = maint_run,
};
