/*
 * maint.c: table maintenance, as Java Iceberg and its Spark procedures do
 * it: expire snapshots (RemoveSnapshots, then ReachableFileCleanup),
 * compaction (RewriteDataFiles, bin-pack), rewrite manifests and remove
 * orphan files (DeleteOrphanFiles).
 *
 * The rule they share: a file is deleted only when nothing retained can
 * read it, and only after the commit that made it unreachable succeeded.
 * Reachability walks snapshots: a snapshot reaches its manifest list, the
 * manifests in it and the data files in those. Expiry counts live entries
 * only (a file a retained manifest lists as deleted is not readable there);
 * orphan removal counts every entry, and every metadata file in the log.
 * When a walk cannot read something it needs, nothing is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "iceberg/ice_int.h"

#define DAY_MS 86400000ll

/* ============================================================ path sets */

typedef ice_path_set pset;

const char *ice_path_norm(const char *p) {
    if (!strncmp(p, "s3a://", 6) || !strncmp(p, "s3n://", 6)) return p + 6;
    if (!strncmp(p, "s3://", 5)) return p + 5;
    return p;
}

static uint64_t path_hash(const char *p) {
    uint64_t h = 1469598103934665603ull;
    for (p = ice_path_norm(p); *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h ^ (h >> 31);
}

static bool path_eq(const char *a, const char *b) { return !strcmp(ice_path_norm(a), ice_path_norm(b)); }

bool ice_path_set_has(const ice_path_set *s, const char *p) {
    if (!s->cap || !p) return false;
    for (size_t i = path_hash(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slots[i]) return false;
        if (path_eq(s->slots[i], p)) return true;
    }
}

bool ice_path_set_add(ice_path_set *s, arena_t *a, const char *p) {
    if (!p || ice_path_set_has(s, p)) return false;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        const char **nv = arena_zalloc(a, ncap * sizeof *nv);
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i]) continue;
            size_t j = path_hash(s->slots[i]) & (ncap - 1);
            while (nv[j]) j = (j + 1) & (ncap - 1);
            nv[j] = s->slots[i];
        }
        s->slots = nv;
        s->cap = ncap;
    }
    size_t i = path_hash(p) & (s->cap - 1);
    while (s->slots[i]) i = (i + 1) & (s->cap - 1);
    s->slots[i] = p;
    s->n++;
    return true;
}

/* ============================================================ helpers */

static void progress(ice_maint_progress fn, void *arg, const char *phase, uint64_t done, uint64_t total) {
    if (fn) fn(arg, phase, done, total);
}

/* A table property as a number in [min, max]; dflt when unset. */
static bool prop_num(const ice_table_meta *m, const char *key, int64_t dflt, int64_t min, int64_t max, int64_t *out,
                     floe_err *err) {
    const char *v = ice_meta_property(m, key);
    *out = dflt;
    if (v && !str_to_i64_range(v, min, max, out))
        return floe_err_set(err, FLOE_EINVAL,
                            "table property %s is '%s'; expected a whole number from %lld to %lld (fix it with "
                            "`floe table evolve` or a set-properties commit)",
                            key, v, (long long)min, (long long)max);
    return true;
}

/* Java refuses to delete files of a table with gc.enabled=false: its files
 * may be shared with another table. */
static bool gc_enabled(const ice_table *t, const char *what, floe_err *err) {
    const char *v = ice_meta_property(&t->meta, "gc.enabled");
    if (v && !strcasecmp(v, "false"))
        return floe_err_set(err, FLOE_EINVAL,
                            "cannot %s %s.%s: its property gc.enabled is false (its files may belong to another "
                            "table too); set gc.enabled=true first if they do not",
                            what, t->ns, t->name);
    return true;
}

static bool commit_attempts(const ice_table *t, floe_err *err, int *out) {
    int64_t n;
    if (!prop_num(&t->meta, "commit.retry.num-retries", 4, 0, 1000, &n, err)) return false;
    *out = (int)n + 1;
    return true;
}

static bool reload(ice_table *t, arena_t *a, floe_err *err) {
    return ice_table_load(t->cat, t->ns, t->name, a, t, err);
}

/* A view of t with other metadata (another catalog ref's version): the
 * manifest readers look specs up in it. */
static ice_table with_meta(const ice_table *t, const ice_table_meta *m) {
    ice_table v = *t;
    v.meta = *m;
    return v;
}

/* Reads one manifest's file paths into set (copied into a): live entries,
 * or every entry with all_status. */
static bool manifest_paths(const ice_table *t, const ice_manifest_file *mf, bool all_status, arena_t *a, pset *set,
                           floe_err *err) {
    arena_t tmp;
    arena_init(&tmp, 1 << 16);
    ice_manifest_entry *es;
    size_t ne;
    bool ok = ice_read_manifest(t, mf, &tmp, &es, &ne, err);
    for (size_t i = 0; ok && i < ne; i++) {
        if (!all_status && es[i].status == ICE_STATUS_DELETED) continue;
        if (!ice_path_set_has(set, es[i].file.file_path))
            ice_path_set_add(set, a, arena_strdup(a, es[i].file.file_path));
    }
    arena_free(&tmp);
    return ok;
}

/* Everything a set of snapshots reaches. manifests_only stops at the
 * manifests (files then come from manifest_paths on demand). */
typedef struct reach {
    pset lists, manifests, files;
    ice_manifest_file *mfs; /* the distinct manifests, for a later file walk */
    size_t nmfs, cap;
    const ice_table **owner; /* the table view each manifest was read with */
} reach;

static bool reach_snapshot(const ice_table *t, const ice_snapshot *s, bool files, bool all_status, arena_t *a, reach *r,
                           floe_err *err) {
    if (s->manifest_list) ice_path_set_add(&r->lists, a, s->manifest_list);
    ice_manifest_file *mfs;
    size_t nm;
    if (!ice_read_manifest_list(t, s, a, &mfs, &nm, err))
        return floe_err_wrap(err, "snapshot %lld of %s.%s", (long long)s->snapshot_id, t->ns, t->name);
    for (size_t i = 0; i < nm; i++) {
        if (!ice_path_set_add(&r->manifests, a, mfs[i].manifest_path)) continue;
        if (r->nmfs == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            ice_manifest_file *nv = arena_alloc(a, r->cap * sizeof *nv);
            const ice_table **no = arena_alloc(a, r->cap * sizeof *no);
            if (r->nmfs) {
                memcpy(nv, r->mfs, r->nmfs * sizeof *nv);
                memcpy(no, r->owner, r->nmfs * sizeof *no);
            }
            r->mfs = nv;
            r->owner = no;
        }
        r->owner[r->nmfs] = t;
        r->mfs[r->nmfs++] = mfs[i];
        if (files && !manifest_paths(t, &mfs[i], all_status, a, &r->files, err))
            return floe_err_wrap(err, "snapshot %lld of %s.%s", (long long)s->snapshot_id, t->ns, t->name);
    }
    return true;
}

/* The snapshots of every kept version (other catalog refs). */
static bool reach_keep(const ice_table *t, const ice_maint_keep *keep, bool files, bool all_status, arena_t *a,
                       reach *r, floe_err *err) {
    for (size_t k = 0; k < keep->n; k++) {
        ice_table *v = arena_alloc(a, sizeof *v);
        *v = with_meta(t, &keep->metas[k]);
        for (int32_t i = 0; i < v->meta.nsnapshots; i++)
            if (!reach_snapshot(v, &v->meta.snapshots[i], files, all_status, a, r, err)) return false;
    }
    return true;
}

/* Deletes paths (unless dry), counting successes; failures are logged. */
static int64_t delete_paths(const ice_table *t, const pset *s, bool dry, uint64_t *done, uint64_t total,
                            ice_maint_progress fn, void *arg, int64_t *failed) {
    int64_t n = 0;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i]) continue;
        floe_err e;
        if (dry || fileio_delete(t->cat->io, s->slots[i], &e)) {
            n++;
        } else {
            log_warn("iceberg", "could not delete %s: %s (remove-orphans will find it)", s->slots[i], e.msg);
            (*failed)++;
        }
        progress(fn, arg, dry ? "planning" : "deleting", ++*done, total);
    }
    return n;
}

/* ====================================================== expire snapshots */

/* Which snapshots and refs stay (Java's RemoveSnapshots.internalApply). */
static bool expire_plan(const ice_table_meta *m, const ice_expire_opts *o, int64_t now, arena_t *a, bool *keep_snap,
                        bool *keep_ref, floe_err *err) {
    int64_t max_age, min_keep, max_ref_age;
    if (!prop_num(m, "history.expire.max-snapshot-age-ms", 5 * DAY_MS, 0, INT64_MAX, &max_age, err) ||
        !prop_num(m, "history.expire.min-snapshots-to-keep", 1, 1, INT32_MAX, &min_keep, err) ||
        !prop_num(m, "history.expire.max-ref-age-ms", INT64_MAX, 0, INT64_MAX, &max_ref_age, err))
        return false;
    int64_t older_than = o->older_than_ms >= 0 ? o->older_than_ms : now - max_age;
    if (o->retain_last > 0) min_keep = o->retain_last;
    (void)a;

    /* refs: main always; others while their snapshot is young enough */
    for (int32_t i = 0; i < m->nrefs; i++) {
        const ice_ref *r = &m->refs[i];
        const ice_snapshot *s = ice_meta_snapshot(m, r->snapshot_id);
        int64_t age = r->max_ref_age_ms >= 0 ? r->max_ref_age_ms : max_ref_age;
        keep_ref[i] = !strcmp(r->name, "main") || (s && now - s->timestamp_ms <= age);
    }
    memset(keep_snap, 0, (size_t)m->nsnapshots * sizeof *keep_snap);
#define KEEP(id)                                                                                                       \
    do {                                                                                                               \
        for (int32_t k_ = 0; k_ < m->nsnapshots; k_++)                                                                 \
            if (m->snapshots[k_].snapshot_id == (id)) keep_snap[k_] = true;                                            \
    } while (0)
    /* ref heads; a branch's ancestors by count and age */
    for (int32_t i = 0; i < m->nrefs; i++) {
        if (!keep_ref[i]) continue;
        const ice_ref *r = &m->refs[i];
        KEEP(r->snapshot_id);
        if (r->is_tag) continue;
        int64_t br_older = r->max_snapshot_age_ms >= 0 ? now - r->max_snapshot_age_ms : older_than;
        int64_t br_min = r->min_snapshots_to_keep >= 0 ? r->min_snapshots_to_keep : min_keep;
        int64_t kept = 0;
        for (const ice_snapshot *s = ice_meta_snapshot(m, r->snapshot_id); s;
             s = s->parent_id >= 0 ? ice_meta_snapshot(m, s->parent_id) : NULL) {
            if (kept < br_min || s->timestamp_ms >= br_older) {
                KEEP(s->snapshot_id);
                kept++;
            } else {
                break;
            }
        }
    }
    /* snapshots no retained ref reaches stay until they are old enough */
    for (int32_t i = 0; i < m->nsnapshots; i++) {
        const ice_snapshot *s = &m->snapshots[i];
        if (keep_snap[i] || s->timestamp_ms < older_than) continue;
        bool referenced = false;
        for (int32_t j = 0; j < m->nrefs && !referenced; j++) {
            if (!keep_ref[j]) continue;
            if (m->refs[j].is_tag) {
                referenced = m->refs[j].snapshot_id == s->snapshot_id;
                continue;
            }
            for (const ice_snapshot *p = ice_meta_snapshot(m, m->refs[j].snapshot_id); p && !referenced;
                 p = p->parent_id >= 0 ? ice_meta_snapshot(m, p->parent_id) : NULL)
                referenced = p->snapshot_id == s->snapshot_id;
        }
        if (!referenced) keep_snap[i] = true;
    }
#undef KEEP
    return true;
}

/* Deletes what the expired snapshots reached and no retained one does. */
static bool expire_cleanup(const ice_table *t, const ice_table_meta *after, const ice_snapshot *expired, size_t nexp,
                           const ice_expire_opts *o, arena_t *a, ice_expire_result *res, floe_err *err) {
    reach kept = {0};
    ice_table view = with_meta(t, after);
    for (int32_t i = 0; i < after->nsnapshots; i++)
        if (!reach_snapshot(&view, &after->snapshots[i], false, false, a, &kept, err)) return false;
    if (!reach_keep(t, &o->keep, false, false, a, &kept, err)) return false;

    /* candidates: manifests and lists only expired snapshots had */
    pset lists = {0}, manifests = {0}, data = {0};
    ice_manifest_file *cand = NULL;
    size_t ncand = 0, ccap = 0;
    for (size_t i = 0; i < nexp; i++) {
        const ice_snapshot *s = &expired[i];
        if (s->manifest_list && !ice_path_set_has(&kept.lists, s->manifest_list))
            ice_path_set_add(&lists, a, s->manifest_list);
        ice_manifest_file *mfs;
        size_t nm;
        floe_err e2 = {0};
        if (!ice_read_manifest_list(t, s, a, &mfs, &nm, &e2)) {
            /* already gone, or unreadable: what it alone reached stays for
             * remove-orphans; nothing retained depends on it */
            log_warn("iceberg", "expired snapshot %lld: %s", (long long)s->snapshot_id, e2.msg);
            continue;
        }
        for (size_t k = 0; k < nm; k++) {
            if (ice_path_set_has(&kept.manifests, mfs[k].manifest_path) ||
                !ice_path_set_add(&manifests, a, mfs[k].manifest_path))
                continue;
            if (ncand == ccap) {
                ccap = ccap ? ccap * 2 : 32;
                ice_manifest_file *nv = arena_alloc(a, ccap * sizeof *nv);
                if (ncand) memcpy(nv, cand, ncand * sizeof *nv);
                cand = nv;
            }
            cand[ncand++] = mfs[k];
        }
    }
    /* data files live in a candidate manifest and in no retained one */
    pset cand_files = {0};
    for (size_t i = 0; i < ncand; i++) {
        floe_err e2 = {0};
        if (!manifest_paths(t, &cand[i], false, a, &cand_files, &e2))
            log_warn("iceberg", "expired manifest %s: %s", cand[i].manifest_path, e2.msg);
    }
    if (cand_files.n) {
        pset kept_files = {0};
        for (size_t i = 0; i < kept.nmfs; i++)
            if (!manifest_paths(kept.owner[i], &kept.mfs[i], false, a, &kept_files, err))
                return floe_err_wrap(err, "reading the retained manifests, so no file was deleted");
        for (size_t i = 0; i < cand_files.cap; i++)
            if (cand_files.slots[i] && !ice_path_set_has(&kept_files, cand_files.slots[i]))
                ice_path_set_add(&data, a, cand_files.slots[i]);
    }
    /* data first, then manifests, then lists: a crash leaves orphans, never
     * a retained reference to a missing file */
    uint64_t done = 0, total = data.n + manifests.n + lists.n;
    res->deleted_data_files_count =
        delete_paths(t, &data, o->dry_run, &done, total, o->progress, o->progress_arg, &res->failed_deletes);
    res->deleted_manifest_files_count =
        delete_paths(t, &manifests, o->dry_run, &done, total, o->progress, o->progress_arg, &res->failed_deletes);
    res->deleted_manifest_lists_count =
        delete_paths(t, &lists, o->dry_run, &done, total, o->progress, o->progress_arg, &res->failed_deletes);
    return true;
}

bool ice_expire_snapshots(ice_table *t, const ice_expire_opts *o, arena_t *a, ice_expire_result *res, floe_err *err) {
    floe_err_clear(err);
    memset(res, 0, sizeof *res);
    if (!gc_enabled(t, "expire snapshots of", err)) return false;
    int max;
    if (!commit_attempts(t, err, &max)) return false;
    int64_t now = o->now_ms > 0 ? o->now_ms : time_now_ms();
    for (int attempt = 1;; attempt++) {
        const ice_table_meta *m = &t->meta;
        bool *keep_snap = arena_zalloc(a, (size_t)m->nsnapshots + 1);
        bool *keep_ref = arena_zalloc(a, (size_t)m->nrefs + 1);
        if (!expire_plan(m, o, now, a, keep_snap, keep_ref, err)) return floe_err_wrap(err, "%s.%s", t->ns, t->name);
        res->nexpired = 0;
        res->expired_ids = arena_alloc(a, ((size_t)m->nsnapshots + 1) * sizeof *res->expired_ids);
        ice_snapshot *expired = arena_alloc(a, ((size_t)m->nsnapshots + 1) * sizeof *expired);
        for (int32_t i = 0; i < m->nsnapshots; i++)
            if (!keep_snap[i]) {
                expired[res->nexpired] = m->snapshots[i];
                res->expired_ids[res->nexpired++] = m->snapshots[i].snapshot_id;
            }
        res->nremoved_refs = 0;
        res->removed_refs = arena_alloc(a, ((size_t)m->nrefs + 1) * sizeof *res->removed_refs);
        for (int32_t i = 0; i < m->nrefs; i++)
            if (!keep_ref[i]) res->removed_refs[res->nremoved_refs++] = m->refs[i].name;
        if (!res->nexpired && !res->nremoved_refs) return true;

        ice_table_meta after = *m;
        if (o->dry_run) {
            after.snapshots = arena_alloc(a, ((size_t)m->nsnapshots + 1) * sizeof *after.snapshots);
            after.nsnapshots = 0;
            for (int32_t i = 0; i < m->nsnapshots; i++)
                if (keep_snap[i]) after.snapshots[after.nsnapshots++] = m->snapshots[i];
            return expire_cleanup(t, &after, expired, res->nexpired, o, a, res, err);
        }

        progress(o->progress, o->progress_arg, "committing", 0, 0);
        json_t *reqs = json_array(), *ups = json_array();
        json_array_append_new(reqs, json_pack("{s:s, s:s}", "type", "assert-table-uuid", "uuid", m->table_uuid));
        for (int32_t i = 0; i < m->nrefs; i++)
            json_array_append_new(reqs, json_pack("{s:s, s:s, s:I}", "type", "assert-ref-snapshot-id", "ref",
                                                  m->refs[i].name, "snapshot-id", (json_int_t)m->refs[i].snapshot_id));
        for (size_t i = 0; i < res->nremoved_refs; i++)
            json_array_append_new(
                ups, json_pack("{s:s, s:s}", "action", "remove-snapshot-ref", "ref-name", res->removed_refs[i]));
        if (res->nexpired) {
            json_t *ids = json_array();
            for (size_t i = 0; i < res->nexpired; i++) json_array_append_new(ids, json_integer(res->expired_ids[i]));
            json_array_append_new(ups, json_pack("{s:s, s:o}", "action", "remove-snapshots", "snapshot-ids", ids));
        }
        const char *loc;
        ice_table_meta nm;
        bool ok = t->cat->commit(t->cat->ctx, t->ns, t->name, reqs, ups, a, &loc, &nm, err);
        json_decref(reqs);
        json_decref(ups);
        if (ok) {
            t->metadata_location = loc;
            t->meta = nm;
            /* only what the commit really removed */
            size_t n = 0;
            for (size_t i = 0; i < res->nexpired; i++)
                if (!ice_meta_snapshot(&nm, res->expired_ids[i])) {
                    expired[n] = expired[i];
                    res->expired_ids[n++] = res->expired_ids[i];
                }
            res->nexpired = n;
            if (!expire_cleanup(t, &nm, expired, n, o, a, res, err))
                return floe_err_wrap(err,
                                     "the snapshots of %s.%s were expired, but their files were not deleted "
                                     "(`floe table remove-orphans` will find them)",
                                     t->ns, t->name);
            return true;
        }
        if (err->code != FLOE_ECONFLICT || attempt >= max) return false;
        floe_err e2;
        if (!reload(t, a, &e2)) {
            *err = e2;
            return false;
        }
    }
}

/* ============================================================ compaction */

static int tuple_cmp(const ice_data_file *a, const ice_data_file *b) {
    if (a->spec_id != b->spec_id) return a->spec_id < b->spec_id ? -1 : 1;
    int32_t n = a->npartition < b->npartition ? a->npartition : b->npartition;
    for (int32_t i = 0; i < n; i++) {
        int c = ice_value_compare(&a->partition[i], &b->partition[i]);
        if (c) return c;
    }
    return a->npartition - b->npartition;
}

static int cand_cmp(const void *x, const void *y) {
    const ice_data_file *a = *(const ice_data_file *const *)x, *b = *(const ice_data_file *const *)y;
    int c = tuple_cmp(a, b);
    return c ? c : strcmp(a->file_path, b->file_path);
}

/* Whether f may hold rows matching filter (the scan's pruning). */
static bool may_match(const ice_table *t, const ice_expr *filter, const ice_data_file *f, arena_t *a) {
    if (!filter) return true;
    const ice_partition_spec *spec = ice_meta_spec(&t->meta, f->spec_id);
    const fmt_schema_t *schema = ice_meta_current_schema(&t->meta);
    if (spec && !ice_partition_spec_is_unpartitioned(spec)) {
        ice_expr *inc = ice_expr_project_inclusive(filter, spec, schema, a);
        if (!ice_expr_eval_partition(inc, spec, f->partition)) return false;
    }
    return ice_expr_might_match(filter, schema, f);
}

/* Compaction's settings, resolved. */
typedef struct compact_cfg {
    int64_t target, min, max, group_max;
    int64_t min_inputs;
} compact_cfg;

static bool compact_cfg_get(const ice_table *t, const ice_compact_opts *o, compact_cfg *c, floe_err *err) {
    if (o->target_file_bytes > 0)
        c->target = o->target_file_bytes;
    else if (!prop_num(&t->meta, "write.target-file-size-bytes", 128ll << 20, 1, INT64_MAX, &c->target, err))
        return false;
    c->min = o->min_file_bytes >= 0 ? o->min_file_bytes : c->target - c->target / 4;
    c->max = o->max_file_bytes >= 0      ? o->max_file_bytes
             : c->target > INT64_MAX / 2 ? INT64_MAX
                                         : c->target + c->target * 4 / 5;
    c->group_max = o->max_group_bytes > 0 ? o->max_group_bytes : 100ll << 30;
    c->min_inputs = o->min_input_files > 0 ? o->min_input_files : 5;
    if (c->min > c->target || c->max < c->target)
        return floe_err_set(err, FLOE_EINVAL,
                            "compaction sizes: min-file-size %lld and max-file-size %lld must bracket the target "
                            "%lld",
                            (long long)c->min, (long long)c->max, (long long)c->target);
    return true;
}

/* Java's shouldRewrite: enough files, enough content, or too much. */
static bool group_wanted(const compact_cfg *c, size_t n, int64_t bytes) {
    return (n > 1 && (int64_t)n >= c->min_inputs) || (n > 1 && bytes > c->target) || bytes > c->group_max;
}

/* Reads files [0, n) and writes their rows through one writer; the new
 * files are appended to *added. */
static bool rewrite_group(const ice_table *t, const ice_data_file **files, size_t n, const compact_cfg *c,
                          const ice_compact_opts *o, uint64_t *done, uint64_t total, arena_t *a, ice_data_file **added,
                          size_t *nadded, size_t *cap, floe_err *err) {
    const fmt_schema_t *schema = ice_meta_current_schema(&t->meta);
    ice_write_opts wo = {.target_file_bytes = c->target};
    ice_writer *w = ice_writer_new(t, &wo, a, err);
    if (!w) return false;
    for (size_t i = 0; i < n; i++) {
        ice_file_reader *r = ice_file_reader_open(t, files[i], schema, NULL, 0, err);
        if (!r) goto fail;
        fmt_batch_t *b;
        bool ok = true;
        int64_t rows = 0;
        while (ok && ice_file_reader_next(r, &b, err)) {
            rows += b->nrows;
            ok = ice_writer_write(w, b, err);
        }
        ice_file_reader_close(r);
        if (!ok || err->code) goto fail;
        if (rows != files[i]->record_count) {
            floe_err_set(err, FLOE_EINVAL, "data file %s holds %lld rows, but its manifest says %lld; not compacted",
                         files[i]->file_path, (long long)rows, (long long)files[i]->record_count);
            goto fail;
        }
        *done += (uint64_t)files[i]->file_size_in_bytes;
        progress(o->progress, o->progress_arg, "rewriting", *done, total);
    }
    ice_data_file *out;
    size_t nout;
    if (!ice_writer_close(w, &out, &nout, err)) goto fail;
    if (*nadded + nout > *cap) {
        *cap = (*nadded + nout) * 2;
        ice_data_file *nv = arena_alloc(a, *cap * sizeof *nv);
        if (*nadded) memcpy(nv, *added, *nadded * sizeof *nv);
        *added = nv;
    }
    memcpy(*added + *nadded, out, nout * sizeof *out);
    *nadded += nout;
    ice_writer_free(w);
    return true;
fail:
    ice_writer_abort(w);
    return false;
}

static void delete_added(const ice_table *t, const ice_data_file *files, size_t n) {
    for (size_t i = 0; i < n; i++) {
        floe_err e;
        if (!fileio_delete(t->cat->io, files[i].file_path, &e)) log_warn("iceberg", "compaction cleanup: %s", e.msg);
    }
}

bool ice_compact(ice_table *t, const ice_compact_opts *o, arena_t *a, ice_compact_result *res, floe_err *err) {
    floe_err_clear(err);
    memset(res, 0, sizeof *res);
    res->snapshot_id = -1;
    compact_cfg c;
    if (!compact_cfg_get(t, o, &c, err)) return floe_err_wrap(err, "%s.%s", t->ns, t->name);
    const ice_ref *main_ref = ice_meta_ref(&t->meta, "main");
    const ice_snapshot *snap = main_ref ? ice_meta_snapshot(&t->meta, main_ref->snapshot_id) : NULL;
    if (!snap) return true; /* an empty table */
    ice_expr *filter = NULL;
    if (o->filter && *o->filter) {
        ice_expr *pe;
        if (!ice_expr_parse(o->filter, a, &pe, err) ||
            !ice_expr_bind(pe, ice_meta_current_schema(&t->meta), true, a, &filter, err))
            return floe_err_wrap(err, "filter \"%s\"", o->filter);
    }
    ice_manifest_entry *es;
    size_t ne;
    if (!ice_snapshot_files(t, snap, a, &es, &ne, err)) return false;
    const ice_data_file **cand = arena_alloc(a, (ne + 1) * sizeof *cand);
    size_t nc = 0;
    for (size_t i = 0; i < ne; i++) {
        const ice_data_file *f = &es[i].file;
        if (f->content != ICE_CONTENT_DATA)
            return floe_err_set(err, FLOE_EINVAL,
                                "%s.%s has delete files (%s); Floe's compaction cannot apply them yet, and "
                                "rewriting without them would bring deleted rows back",
                                t->ns, t->name, f->file_path);
        if (!may_match(t, filter, f, a)) continue;
        if (o->rewrite_all || f->file_size_in_bytes < c.min || f->file_size_in_bytes > c.max) cand[nc++] = f;
    }
    qsort(cand, nc, sizeof *cand, cand_cmp);

    /* groups: per partition, packed up to group_max, filtered */
    size_t *gstart = arena_alloc(a, (nc + 1) * sizeof *gstart), ng = 0;
    size_t *gend = arena_alloc(a, (nc + 1) * sizeof *gend);
    uint64_t total = 0;
    for (size_t i = 0; i < nc;) {
        size_t j = i;
        int64_t bytes = 0;
        while (j < nc && !tuple_cmp(cand[i], cand[j]) &&
               (j == i || bytes + cand[j]->file_size_in_bytes <= c.group_max)) {
            bytes += cand[j]->file_size_in_bytes;
            j++;
        }
        if (group_wanted(&c, j - i, bytes)) {
            gstart[ng] = i;
            gend[ng++] = j;
            total += (uint64_t)bytes;
        }
        i = j;
    }
    if (!ng) return true;

    ice_data_file *added = NULL, *replaced = arena_alloc(a, (nc + 1) * sizeof *replaced);
    size_t nadded = 0, acap = 0, nrep = 0;
    uint64_t done = 0;
    for (size_t g = 0; g < ng; g++) {
        if (!rewrite_group(t, cand + gstart[g], gend[g] - gstart[g], &c, o, &done, total, a, &added, &nadded, &acap,
                           err)) {
            delete_added(t, added, nadded);
            return floe_err_wrap(err, "compacting %s.%s", t->ns, t->name);
        }
        for (size_t k = gstart[g]; k < gend[g]; k++) {
            replaced[nrep++] = *cand[k];
            res->rewritten_bytes_count += cand[k]->file_size_in_bytes;
        }
    }
    progress(o->progress, o->progress_arg, "committing", done, total);
    ice_commit_opts co = {.kind = ICE_OP_REPLACE, .replaced = replaced, .nreplaced = nrep};
    ice_commit_result cr;
    if (!ice_table_commit_files(t, &co, added, nadded, a, &cr, err)) {
        delete_added(t, added, nadded);
        return floe_err_wrap(err, "compacting %s.%s (the %zu files it wrote were deleted)", t->ns, t->name, nadded);
    }
    res->snapshot_id = cr.snapshot_id;
    res->rewritten_data_files_count = (int64_t)nrep;
    res->added_data_files_count = (int64_t)nadded;
    res->groups = (int64_t)ng;
    return true;
}

/* ====================================================== rewrite manifests */

static int entry_cmp(const void *x, const void *y) {
    const ice_manifest_entry *a = x, *b = y;
    int c = tuple_cmp(&a->file, &b->file);
    return c ? c : strcmp(a->file.file_path, b->file.file_path);
}

/* Writes entries (one spec) as a manifest of snapshot snap_id. */
static bool write_manifest(const ice_table *t, const ice_partition_spec *spec, const ice_manifest_entry *es, size_t n,
                           int64_t snap_id, int64_t seq, arena_t *a, ice_manifest_file *mf, floe_err *err) {
    buf_t b = {0};
    memset(mf, 0, sizeof *mf);
    bool ok =
        ice_manifest_write(&t->meta, ice_meta_current_schema(&t->meta), spec, ICE_CONTENT_DATA, es, n, &b, mf, a, err);
    char uuid[37];
    str_uuid4(uuid);
    char *path = arena_sprintf(a, "%s/metadata/%s-m0.avro", t->meta.location, uuid);
    if (ok) ok = fileio_write_all(t->cat->io, path, b.data, b.len, true, err);
    int64_t len = (int64_t)b.len;
    buf_free(&b);
    if (!ok) return false;
    mf->manifest_path = path;
    mf->manifest_length = len;
    mf->partition_spec_id = spec->spec_id;
    mf->content = ICE_CONTENT_DATA;
    mf->added_snapshot_id = snap_id;
    mf->sequence_number = seq;
    return true;
}

static const char *summary_get(const ice_snapshot *s, const char *k) {
    for (int32_t i = 0; s && i < s->nsummary; i++)
        if (!strcmp(s->summary[i].key, k)) return s->summary[i].value;
    return NULL;
}

/* Commits a snapshot of list on main (from parent), operation replace. */
static bool commit_list(ice_table *t, const ice_snapshot *parent, int64_t snap_id, int64_t seq,
                        const ice_manifest_file *list, size_t n, ice_kv *sum, int32_t nsum, arena_t *a,
                        const char **list_path, floe_err *err) {
    buf_t lb = {0};
    char uuid[37];
    str_uuid4(uuid);
    *list_path = arena_sprintf(a, "%s/metadata/snap-%lld-1-%s.avro", t->meta.location, (long long)snap_id, uuid);
    bool ok = ice_manifest_list_write(snap_id, parent->snapshot_id, seq, list, n, &lb, err) &&
              fileio_write_all(t->cat->io, *list_path, lb.data, lb.len, true, err);
    buf_free(&lb);
    if (!ok) {
        *list_path = NULL;
        return false;
    }
    ice_snapshot s = {.snapshot_id = snap_id,
                      .parent_id = parent->snapshot_id,
                      .sequence_number = seq,
                      .timestamp_ms = time_now_ms(),
                      .manifest_list = *list_path,
                      .operation = "replace",
                      .summary = sum,
                      .nsummary = nsum,
                      .schema_id = t->meta.current_schema_id};
    if (s.timestamp_ms <= t->meta.last_updated_ms) s.timestamp_ms = t->meta.last_updated_ms + 1;
    json_t *reqs = json_array(), *ups = json_array();
    json_array_append_new(reqs, json_pack("{s:s, s:s}", "type", "assert-table-uuid", "uuid", t->meta.table_uuid));
    json_array_append_new(reqs, json_pack("{s:s, s:s, s:I}", "type", "assert-ref-snapshot-id", "ref", "main",
                                          "snapshot-id", (json_int_t)parent->snapshot_id));
    json_array_append_new(ups, json_pack("{s:s, s:o}", "action", "add-snapshot", "snapshot", ice_snapshot_to_json(&s)));
    json_array_append_new(ups, json_pack("{s:s, s:s, s:s, s:I}", "action", "set-snapshot-ref", "ref-name", "main",
                                         "type", "branch", "snapshot-id", (json_int_t)snap_id));
    const char *loc;
    ice_table_meta nm;
    ok = t->cat->commit(t->cat->ctx, t->ns, t->name, reqs, ups, a, &loc, &nm, err);
    json_decref(reqs);
    json_decref(ups);
    if (ok) {
        t->metadata_location = loc;
        t->meta = nm;
    }
    return ok;
}

/* A growing array of manifests and of the paths an attempt wrote. */
typedef struct mlist {
    ice_manifest_file *v;
    size_t n, cap;
} mlist;

static ice_manifest_file *mlist_push(mlist *l, arena_t *a) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        ice_manifest_file *nv = arena_zalloc(a, l->cap * sizeof *nv);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
    }
    return &l->v[l->n++];
}

/* One attempt on main's current snapshot; written gets the files it wrote. */
static bool rewrite_manifests_once(ice_table *t, const ice_rewrite_manifests_opts *o, int64_t target, arena_t *a,
                                   ice_rewrite_manifests_result *res, mlist *written, floe_err *err) {
    const ice_ref *main_ref = ice_meta_ref(&t->meta, "main");
    const ice_snapshot *snap = main_ref ? ice_meta_snapshot(&t->meta, main_ref->snapshot_id) : NULL;
    if (!snap) return true;
    ice_manifest_file *mfs;
    size_t nm;
    if (!ice_read_manifest_list(t, snap, a, &mfs, &nm, err)) return false;
    int64_t snap_id = ice_new_snapshot_id(), seq = t->meta.last_sequence_number + 1;
    mlist list = {0};
    size_t nkept = 0;
    bool *done = arena_zalloc(a, nm + 1);
    int64_t entries = 0;
    for (size_t i = 0; i < nm; i++) {
        if (done[i] || mfs[i].content != ICE_CONTENT_DATA) continue;
        int32_t spec_id = mfs[i].partition_spec_id;
        int64_t bytes = 0;
        size_t count = 0;
        for (size_t k = i; k < nm; k++)
            if (mfs[k].content == ICE_CONTENT_DATA && mfs[k].partition_spec_id == spec_id) {
                bytes += mfs[k].manifest_length;
                count++;
            }
        int64_t want = (bytes + target - 1) / target;
        if (want < 1) want = 1;
        if (want == 1 && count == 1) continue; /* already one manifest */
        const ice_partition_spec *spec = ice_meta_spec(&t->meta, spec_id);
        if (!spec)
            return floe_err_set(err, FLOE_EINVAL, "manifest %s uses partition spec %d, which %s.%s does not have",
                                mfs[i].manifest_path, spec_id, t->ns, t->name);
        /* the spec's live entries, ordered by partition */
        size_t cap = 256, ne = 0;
        ice_manifest_entry *all = arena_alloc(a, cap * sizeof *all);
        for (size_t k = i; k < nm; k++) {
            if (mfs[k].content != ICE_CONTENT_DATA || mfs[k].partition_spec_id != spec_id) continue;
            done[k] = true;
            ice_manifest_entry *es;
            size_t n;
            if (!ice_read_manifest(t, &mfs[k], a, &es, &n, err)) return false;
            for (size_t j = 0; j < n; j++) {
                if (es[j].status == ICE_STATUS_DELETED) continue;
                if (ne == cap) {
                    ice_manifest_entry *nv = arena_alloc(a, cap * 2 * sizeof *nv);
                    memcpy(nv, all, ne * sizeof *nv);
                    all = nv;
                    cap *= 2;
                }
                all[ne] = es[j];
                all[ne++].status = ICE_STATUS_EXISTING;
            }
            res->rewritten_manifests_count++;
            progress(o->progress, o->progress_arg, "reading manifests", (uint64_t)res->rewritten_manifests_count, nm);
        }
        qsort(all, ne, sizeof *all, entry_cmp);
        entries += (int64_t)ne;
        if ((int64_t)ne < want) want = ne ? (int64_t)ne : 1;
        for (int64_t part = 0; part < want && ne; part++) {
            size_t from = ne * (size_t)part / (size_t)want, to = ne * (size_t)(part + 1) / (size_t)want;
            ice_manifest_file *nmf = mlist_push(&list, a);
            if (!write_manifest(t, spec, all + from, to - from, snap_id, seq, a, nmf, err)) {
                list.n--;
                return false;
            }
            mlist_push(written, a)->manifest_path = nmf->manifest_path;
            res->added_manifests_count++;
        }
    }
    if (!res->rewritten_manifests_count) return true;
    for (size_t i = 0; i < nm; i++)
        if (!done[i]) {
            *mlist_push(&list, a) = mfs[i];
            nkept++;
        }
    /* summary: what Java's RewriteManifests reports, and the totals */
    ice_kv *sum = arena_zalloc(a, 16 * sizeof *sum);
    int32_t ns = 0;
    sum[ns++] = (ice_kv){"operation", "replace"};
    sum[ns++] = (ice_kv){"manifests-created", arena_sprintf(a, "%lld", (long long)res->added_manifests_count)};
    sum[ns++] = (ice_kv){"manifests-kept", arena_sprintf(a, "%zu", nkept)};
    sum[ns++] = (ice_kv){"manifests-replaced", arena_sprintf(a, "%lld", (long long)res->rewritten_manifests_count)};
    sum[ns++] = (ice_kv){"entries-processed", arena_sprintf(a, "%lld", (long long)entries)};
    static const char *totals[] = {"total-records",      "total-files-size",       "total-data-files",
                                   "total-delete-files", "total-position-deletes", "total-equality-deletes"};
    for (size_t k = 0; k < sizeof totals / sizeof *totals; k++) {
        const char *v = summary_get(snap, totals[k]);
        if (v) sum[ns++] = (ice_kv){totals[k], v};
    }
    progress(o->progress, o->progress_arg, "committing", 0, 0);
    const char *list_path;
    bool ok = commit_list(t, snap, snap_id, seq, list.v, list.n, sum, ns, a, &list_path, err);
    if (list_path && !ok) mlist_push(written, a)->manifest_path = list_path;
    if (ok) {
        written->n = 0;
        res->snapshot_id = snap_id;
    }
    return ok;
}

bool ice_rewrite_manifests(ice_table *t, const ice_rewrite_manifests_opts *o, arena_t *a,
                           ice_rewrite_manifests_result *res, floe_err *err) {
    floe_err_clear(err);
    int64_t target = o->target_manifest_bytes;
    if (target <= 0 && !prop_num(&t->meta, "commit.manifest.target-size-bytes", 8ll << 20, 1, INT64_MAX, &target, err))
        return false;
    int max;
    if (!commit_attempts(t, err, &max)) return false;
    for (int attempt = 1;; attempt++) {
        memset(res, 0, sizeof *res);
        res->snapshot_id = -1;
        mlist written = {0};
        bool ok = rewrite_manifests_once(t, o, target, a, res, &written, err);
        for (size_t i = 0; i < written.n; i++) {
            floe_err e;
            if (!fileio_delete(t->cat->io, written.v[i].manifest_path, &e)) log_warn("iceberg", "cleanup: %s", e.msg);
        }
        if (ok) return true;
        if (err->code != FLOE_ECONFLICT || attempt >= max) return floe_err_wrap(err, "rewriting manifests");
        floe_err e2;
        if (!reload(t, a, &e2)) {
            *err = e2;
            return false;
        }
    }
}

/* ======================================================== orphan files */

/* Java's hidden-path filter: a part of the path under the table location
 * that starts with '.' or '_' hides it, unless it is a partition "k=v". */
static bool hidden(const char *rel) {
    for (const char *p = rel; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && (p[0] == '.' || p[0] == '_') && !memchr(p, '=', n)) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

/* Statistics files named in the metadata's extra keys. */
static void reach_statistics(const ice_table_meta *m, arena_t *a, pset *files) {
    if (!m->extra) return;
    json_t *x = json_loads(m->extra, 0, NULL);
    if (!x) return;
    static const char *keys[] = {"statistics", "partition-statistics"};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        json_t *st;
        json_array_foreach(json_object_get(x, keys[k]), i, st) {
            json_t *p = json_object_get(st, "statistics-path");
            if (json_is_string(p)) ice_path_set_add(files, a, arena_strdup(a, json_string_value(p)));
        }
    }
    json_decref(x);
}

/* Every file a version of the table reaches: its metadata files and all
 * of its snapshots' files, any entry status. */
static bool reach_version(const ice_table *t, const ice_table_meta *m, const char *metadata_file, arena_t *a, reach *r,
                          floe_err *err) {
    ice_table *v = arena_alloc(a, sizeof *v);
    *v = with_meta(t, m);
    if (metadata_file) ice_path_set_add(&r->files, a, metadata_file);
    for (int32_t i = 0; i < m->nmetadata_log; i++) ice_path_set_add(&r->files, a, m->metadata_log[i].metadata_file);
    ice_path_set_add(&r->files, a, arena_sprintf(a, "%s/metadata/version-hint.text", m->location));
    reach_statistics(m, a, &r->files);
    for (int32_t i = 0; i < m->nsnapshots; i++)
        if (!reach_snapshot(v, &m->snapshots[i], true, true, a, r, err)) return false;
    return true;
}

typedef struct orphan_walk {
    const reach *r;
    size_t prefix_len;
    int64_t older_than;
    arena_t *a;
    const char **v;
    size_t n, cap;
    int64_t listed;
    ice_maint_progress progress;
    void *progress_arg;
} orphan_walk;

static bool orphan_visit(const fileio_entry *e, void *arg) {
    orphan_walk *w = arg;
    w->listed++;
    if (w->listed % 256 == 0) progress(w->progress, w->progress_arg, "listing", (uint64_t)w->listed, 0);
    if (e->mtime_ms >= w->older_than) return true;
    if (strlen(e->uri) > w->prefix_len && hidden(e->uri + w->prefix_len)) return true;
    if (ice_path_set_has(&w->r->files, e->uri) || ice_path_set_has(&w->r->manifests, e->uri) ||
        ice_path_set_has(&w->r->lists, e->uri))
        return true;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        const char **nv = arena_alloc(w->a, w->cap * sizeof *nv);
        if (w->n) memcpy(nv, w->v, w->n * sizeof *nv);
        w->v = nv;
    }
    w->v[w->n++] = arena_strdup(w->a, e->uri);
    return true;
}

bool ice_remove_orphans(ice_table *t, const ice_orphan_opts *o, arena_t *a, ice_orphan_result *res, floe_err *err) {
    floe_err_clear(err);
    memset(res, 0, sizeof *res);
    if (!o->dry_run && !gc_enabled(t, "remove orphan files of", err)) return false;
    if (!t->meta.location || !*t->meta.location)
        return floe_err_set(err, FLOE_EINVAL, "%s.%s has no location to list", t->ns, t->name);
    /* reachability first: a file committed during the listing is new, so
     * older_than keeps it */
    reach r = {0};
    if (!reach_version(t, &t->meta, t->metadata_location, a, &r, err)) return false;
    for (size_t k = 0; k < o->keep.n; k++)
        if (!reach_version(t, &o->keep.metas[k], o->keep.metadata_files ? o->keep.metadata_files[k] : NULL, a, &r, err))
            return false;
    const char *loc = t->meta.location;
    size_t ll = strlen(loc);
    const char *prefix = ll && loc[ll - 1] == '/' ? loc : arena_sprintf(a, "%s/", loc);
    orphan_walk w = {.r = &r,
                     .prefix_len = strlen(prefix),
                     .older_than = o->older_than_ms >= 0 ? o->older_than_ms : time_now_ms() - 3 * DAY_MS,
                     .a = a,
                     .progress = o->progress,
                     .progress_arg = o->progress_arg};
    if (!fileio_list(t->cat->io, prefix, orphan_visit, &w, err))
        return floe_err_wrap(err, "listing %s for orphan files", prefix);
    res->listed = w.listed;
    res->orphans = w.v;
    res->n = w.n;
    if (o->dry_run) return true;
    for (size_t i = 0; i < w.n; i++) {
        floe_err e;
        if (!fileio_delete(t->cat->io, w.v[i], &e)) {
            log_warn("iceberg", "could not delete orphan %s: %s", w.v[i], e.msg);
            res->failed_deletes++;
        }
        progress(o->progress, o->progress_arg, "deleting", i + 1, w.n);
    }
    return true;
}
