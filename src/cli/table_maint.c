/*
 * table_maint.c: `floe table expire | compact | rewrite-manifests |
 * remove-orphans`, the Spark procedures expire_snapshots,
 * rewrite_data_files, rewrite_manifests and remove_orphan_files on the
 * command line, with the same output columns. The work is in
 * src/iceberg/maint.c; this file parses, shows progress and prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/table_int.h"

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total) {
    const char *unit = arg;
    if (!strcmp(phase, "committing")) {
        tcli_progress_end();
        return;
    }
    tcli_progress(phase, done, total, strcmp(phase, "rewriting") ? unit : "bytes");
}

/* The same table on the catalog's other branches and tags: maintenance on
 * main must not delete what they can still read. */
static bool other_versions(env *e, const ice_table *t, arena_t *a, ice_maint_keep *keep, floe_err *err) {
    return cat_table_other_versions(e->cat, e->cat_ref, t->ns, t->name, t->metadata_location, a, keep, err);
}

static char *num(arena_t *a, int64_t v) { return arena_sprintf(a, "%lld", (long long)v); }

/* One row of numbers. */
static void print_counts(const targs *ta, arena_t *a, const char **names, const int64_t *vals, size_t n) {
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, names, n);
    char **cells = arena_alloc(a, n * sizeof *cells);
    for (size_t i = 0; i < n; i++) cells[i] = num(a, vals[i]);
    pr_row(&p, cells, cells);
    pr_end(&p);
}

static bool parse_older_than(const char *cmd, const targs *ta, int64_t *ms) {
    *ms = -1;
    if (!ta->older_than) return true;
    if (tcli_parse_time_ms(ta->older_than, ms)) return true;
    fprintf(stderr,
            "floe table %s: --older-than '%s': expected a timestamp like 2026-03-28T10:00:00Z or epoch "
            "milliseconds\n",
            cmd, ta->older_than);
    return false;
}

static int m_expire(env *e, targs *ta, arena_t *a) {
    const char *cmd = "table expire";
    ice_expire_opts o = {.retain_last = (int32_t)ta->retain_last, .dry_run = ta->dry_run};
    if (!parse_older_than("expire", ta, &o.older_than_ms)) return 2;
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err) || !other_versions(e, &t, a, &o.keep, &err)) return tcli_fail(cmd, &err);
    if (tcli_tty()) {
        o.progress = on_progress;
        o.progress_arg = "files";
    }
    ice_expire_result r;
    bool ok = ice_expire_snapshots(&t, &o, a, &r, &err);
    tcli_progress_end();
    if (!ok) return tcli_fail(cmd, &err);
    fprintf(stderr, "%s.%s: %s %zu snapshot%s", t.ns, t.name, o.dry_run ? "dry run: would expire" : "expired",
            r.nexpired, r.nexpired == 1 ? "" : "s");
    for (size_t i = 0; i < r.nremoved_refs; i++)
        fprintf(stderr, "%s%s", i ? ", " : "; refs past their max-ref-age-ms removed: ", r.removed_refs[i]);
    fprintf(stderr, "\n");
    if (r.failed_deletes)
        fprintf(stderr, "%lld files could not be deleted (see the log); `floe table remove-orphans` will find them\n",
                (long long)r.failed_deletes);
    const char *names[] = {"deleted_data_files_count", "deleted_manifest_files_count", "deleted_manifest_lists_count"};
    int64_t vals[] = {r.deleted_data_files_count, r.deleted_manifest_files_count, r.deleted_manifest_lists_count};
    print_counts(ta, a, names, vals, 3);
    return 0;
}

static int m_compact(env *e, targs *ta, arena_t *a) {
    const char *cmd = "table compact";
    ice_compact_opts o = {
        .target_file_bytes = ta->target_size, .min_file_bytes = -1, .max_file_bytes = -1, .filter = ta->filter};
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail(cmd, &err);
    if (tcli_tty()) {
        o.progress = on_progress;
        o.progress_arg = "bytes";
    }
    ice_compact_result r;
    bool ok = ice_compact(&t, &o, a, &r, &err);
    tcli_progress_end();
    if (!ok) return tcli_fail(cmd, &err);
    if (r.snapshot_id >= 0)
        fprintf(stderr, "%s.%s: snapshot %lld replaces %lld files with %lld (%lld groups)\n", t.ns, t.name,
                (long long)r.snapshot_id, (long long)r.rewritten_data_files_count, (long long)r.added_data_files_count,
                (long long)r.groups);
    else
        fprintf(stderr, "%s.%s: nothing to compact\n", t.ns, t.name);
    const char *names[] = {"rewritten_data_files_count", "added_data_files_count", "rewritten_bytes_count"};
    int64_t vals[] = {r.rewritten_data_files_count, r.added_data_files_count, r.rewritten_bytes_count};
    print_counts(ta, a, names, vals, 3);
    return 0;
}

static int m_rewrite_manifests(env *e, targs *ta, arena_t *a) {
    const char *cmd = "table rewrite-manifests";
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail(cmd, &err);
    ice_rewrite_manifests_opts o = {0};
    if (tcli_tty()) {
        o.progress = on_progress;
        o.progress_arg = "manifests";
    }
    ice_rewrite_manifests_result r;
    bool ok = ice_rewrite_manifests(&t, &o, a, &r, &err);
    tcli_progress_end();
    if (!ok) return tcli_fail(cmd, &err);
    if (r.snapshot_id >= 0)
        fprintf(stderr, "%s.%s: snapshot %lld\n", t.ns, t.name, (long long)r.snapshot_id);
    else
        fprintf(stderr, "%s.%s: manifests already merged\n", t.ns, t.name);
    const char *names[] = {"rewritten_manifests_count", "added_manifests_count"};
    int64_t vals[] = {r.rewritten_manifests_count, r.added_manifests_count};
    print_counts(ta, a, names, vals, 2);
    return 0;
}

static int m_remove_orphans(env *e, targs *ta, arena_t *a) {
    const char *cmd = "table remove-orphans";
    ice_orphan_opts o = {.dry_run = ta->dry_run};
    if (!parse_older_than("remove-orphans", ta, &o.older_than_ms)) return 2;
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err) || !other_versions(e, &t, a, &o.keep, &err)) return tcli_fail(cmd, &err);
    if (tcli_tty()) {
        o.progress = on_progress;
        o.progress_arg = "files";
    }
    ice_orphan_result r;
    bool ok = ice_remove_orphans(&t, &o, a, &r, &err);
    tcli_progress_end();
    if (!ok) return tcli_fail(cmd, &err);
    fprintf(stderr, "%s.%s: %zu orphan file%s of %lld listed%s\n", t.ns, t.name, r.n, r.n == 1 ? "" : "s",
            (long long)r.listed, o.dry_run ? " (dry run: nothing deleted)" : "");
    if (r.failed_deletes) fprintf(stderr, "%lld could not be deleted (see the log)\n", (long long)r.failed_deletes);
    const char *names[] = {"orphan_file_location"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, names, 1);
    for (size_t i = 0; i < r.n; i++) {
        char *c[1] = {(char *)r.orphans[i]};
        char *j = tcli_jstr(r.orphans[i]);
        char *js[1] = {j};
        pr_row(&p, c, js);
        free(j);
    }
    pr_end(&p);
    return 0;
}

/* Options that mean nothing to cmd are mistakes, not silently ignored. */
static bool check_options(const char *cmd, const targs *ta) {
    bool expire = !strcmp(cmd, "expire"), orphans = !strcmp(cmd, "remove-orphans"), compact = !strcmp(cmd, "compact");
    const char *bad = ta->npos                                  ? ta->pos[0]
                      : ta->file                                ? "--file"
                      : ta->schema                              ? "--schema"
                      : ta->partition                           ? "--partition"
                      : ta->columns                             ? "--columns"
                      : ta->ref                                 ? "--branch/--ref"
                      : ta->as_of                               ? "--as-of"
                      : ta->to                                  ? "--to"
                      : ta->snapshot >= 0                       ? "--snapshot"
                      : ta->dynamic                             ? "--dynamic"
                      : ta->plan                                ? "--plan"
                      : ta->nprops                              ? "--property"
                      : (ta->older_than && !expire && !orphans) ? "--older-than"
                      : (ta->retain_last >= 0 && !expire)       ? "--retain-last"
                      : (ta->dry_run && !expire && !orphans)    ? "--dry-run"
                      : (ta->target_size && !compact)           ? "--target-size"
                      : (ta->filter && !compact)                ? "--filter"
                                                                : NULL;
    if (!bad) return true;
    fprintf(stderr, "floe table %s: '%s' is not an option of %s (see `floe table` for its options)\n", cmd, bad, cmd);
    return false;
}

int tcli_maint(env *e, targs *ta, arena_t *a, const char *cmd) {
    if (!check_options(cmd, ta)) return 2;
    if (!strcmp(cmd, "expire")) return m_expire(e, ta, a);
    if (!strcmp(cmd, "compact")) return m_compact(e, ta, a);
    if (!strcmp(cmd, "rewrite-manifests")) return m_rewrite_manifests(e, ta, a);
    return m_remove_orphans(e, ta, a);
}
