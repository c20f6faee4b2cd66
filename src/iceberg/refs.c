/*
 * refs.c: snapshot references and the metadata tables built on history,
 * as Java's ManageSnapshots (SnapshotManager) and Spark's history, refs
 * and partitions tables do them.
 *
 * Branches and tags live in the table metadata's "refs" (the spec's
 * Snapshot References); main is the branch current-snapshot-id follows.
 * Every operation here is a catalog commit of set-snapshot-ref or
 * remove-snapshot-ref updates, guarded by assert-ref-snapshot-id on each
 * ref it read. Operations that keep every commit (create, fast-forward,
 * cherry-pick) reload and recheck after losing a race; operations that
 * discard commits by design (drop, rollback, set-current) report the
 * conflict instead of discarding a commit their caller never saw.
 *
 * Cherry-pick reuses the commit path of table.c (ice_table_commit_files):
 * the picked snapshot's added files are appended to main again, or, for a
 * dynamic overwrite, overwrite the same partitions of main.
 */
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "iceberg/ice_int.h"

/* ============================================================ helpers */

bool ice_snapshot_is_ancestor(const ice_table_meta *m, int64_t head_id, int64_t ancestor_id) {
    if (ancestor_id < 0) return false;
    /* bounded by the snapshot count, so a parent cycle in bad metadata ends */
    for (int32_t steps = 0; head_id >= 0 && steps <= m->nsnapshots; steps++) {
        if (head_id == ancestor_id) return true;
        const ice_snapshot *s = ice_meta_snapshot(m, head_id);
        if (!s) return false;
        head_id = s->parent_id;
    }
    return false;
}

void ice_ref_retention_to_json(const ice_ref *r, json_t *o) {
    if (r->max_ref_age_ms >= 0) json_object_set_new(o, "max-ref-age-ms", json_integer(r->max_ref_age_ms));
    if (r->is_tag) return;
    if (r->max_snapshot_age_ms >= 0)
        json_object_set_new(o, "max-snapshot-age-ms", json_integer(r->max_snapshot_age_ms));
    if (r->min_snapshots_to_keep >= 0)
        json_object_set_new(o, "min-snapshots-to-keep", json_integer(r->min_snapshots_to_keep));
}

const ice_snapshot *ice_table_snapshot_at(const ice_table *t, int64_t snapshot_id, const char *ref, floe_err *err) {
    const ice_table_meta *m = &t->meta;
    floe_err_clear(err);
    if (snapshot_id >= 0) {
        const ice_snapshot *s = ice_meta_snapshot(m, snapshot_id);
        if (!s)
            floe_err_set(err, FLOE_ENOENT, "table %s.%s has no snapshot %lld (see `floe table snapshots %s.%s`)", t->ns,
                         t->name, (long long)snapshot_id, t->ns, t->name);
        return s;
    }
    if (ref) {
        const ice_ref *r = ice_meta_ref(m, ref);
        if (!r) {
            floe_err_set(err, FLOE_ENOENT, "table %s.%s has no branch or tag %s (see `floe table refs %s.%s`)", t->ns,
                         t->name, ref, t->ns, t->name);
            return NULL;
        }
        const ice_snapshot *s = ice_meta_snapshot(m, r->snapshot_id);
        if (!s)
            floe_err_set(err, FLOE_ENOENT, "%s of table %s.%s points at snapshot %lld, which is missing", ref, t->ns,
                         t->name, (long long)r->snapshot_id);
        return s;
    }
    return m->current_snapshot_id >= 0 ? ice_meta_snapshot(m, m->current_snapshot_id) : NULL;
}

static const char *summary_get(const ice_snapshot *s, const char *k) {
    for (int32_t i = 0; i < s->nsummary; i++)
        if (!strcmp(s->summary[i].key, k)) return s->summary[i].value;
    return NULL;
}

static int max_attempts(const ice_table_meta *m) {
    const char *r = ice_meta_property(m, "commit.retry.num-retries");
    int64_t n = 4;
    if (r) str_to_i64_range(r, 0, 1000, &n);
    return (int)n + 1;
}

static json_t *req_ref(const char *name, int64_t snapshot_id) {
    json_t *r = json_pack("{s:s, s:s}", "type", "assert-ref-snapshot-id", "ref", name);
    json_object_set_new(r, "snapshot-id", snapshot_id >= 0 ? json_integer(snapshot_id) : json_null());
    return r;
}

/* set-snapshot-ref moving name to snapshot_id, keeping old's retention. */
static json_t *up_set_ref(const char *name, bool tag, int64_t snapshot_id, const ice_ref *old) {
    json_t *u = json_pack("{s:s, s:s, s:s, s:I}", "action", "set-snapshot-ref", "ref-name", name, "type",
                          tag ? "tag" : "branch", "snapshot-id", (json_int_t)snapshot_id);
    if (old) ice_ref_retention_to_json(old, u);
    return u;
}

/* Decides the requirements and updates of one attempt from t's metadata;
 * leaving ups empty means there is nothing to change. */
typedef bool (*plan_fn)(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err);

/* Plans and commits; a commit that loses a race is replanned on reloaded
 * metadata when retry is set, else reported as a conflict naming what. */
static bool run(ice_table *t, plan_fn plan, void *arg, bool retry, const char *what, arena_t *a, floe_err *err) {
    int max = retry ? max_attempts(&t->meta) : 1;
    for (int i = 1;; i++) {
        json_t *reqs = json_array(), *ups = json_array();
        json_array_append_new(reqs, json_pack("{s:s, s:s}", "type", "assert-table-uuid", "uuid",
                                              t->meta.table_uuid ? t->meta.table_uuid : ""));
        bool planned = plan(t, arg, reqs, ups, err), ok = planned;
        if (planned && json_array_size(ups) > 0) {
            const char *loc;
            ice_table_meta nm;
            ok = t->cat->commit(t->cat->ctx, t->ns, t->name, reqs, ups, a, &loc, &nm, err);
            if (ok) {
                t->metadata_location = loc;
                t->meta = nm;
            }
        }
        json_decref(reqs);
        json_decref(ups);
        if (ok) return true;
        if (!planned || err->code != FLOE_ECONFLICT) return false;
        if (i >= max) {
            if (!retry)
                floe_err_wrap(err, "%s.%s changed while %s; look at `floe table refs %s.%s` and rerun if still wanted",
                              t->ns, t->name, what, t->ns, t->name);
            return false;
        }
        floe_err e2;
        if (!ice_table_load(t->cat, t->ns, t->name, a, t, &e2)) {
            *err = e2;
            return false;
        }
    }
}

static bool need_snapshot(const ice_table *t, int64_t id, floe_err *err) {
    if (ice_meta_snapshot(&t->meta, id)) return true;
    return floe_err_set(err, FLOE_ENOENT, "table %s.%s has no snapshot %lld (see `floe table snapshots %s.%s`)", t->ns,
                        t->name, (long long)id, t->ns, t->name);
}

static const char *kind_name(bool tag) { return tag ? "tag" : "branch"; }

/* ===================================================== create and drop */

typedef struct ref_arg {
    const char *name;
    bool tag;
    int64_t snapshot_id;
} ref_arg;

static bool plan_create(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err) {
    const ref_arg *r = arg;
    const ice_ref *old = ice_meta_ref(&t->meta, r->name);
    if (old)
        return floe_err_set(err, FLOE_EEXIST,
                            "table %s.%s already has a %s named %s (at snapshot %lld); drop it first or pick another "
                            "name",
                            t->ns, t->name, kind_name(old->is_tag), r->name, (long long)old->snapshot_id);
    int64_t id = r->snapshot_id >= 0 ? r->snapshot_id : t->meta.current_snapshot_id;
    if (id < 0)
        return floe_err_set(err, FLOE_EINVAL,
                            "table %s.%s has no snapshot yet, so there is nothing for %s %s to point at; append data "
                            "first",
                            t->ns, t->name, kind_name(r->tag), r->name);
    if (!need_snapshot(t, id, err)) return false;
    json_array_append_new(reqs, req_ref(r->name, -1));
    json_array_append_new(ups, up_set_ref(r->name, r->tag, id, NULL));
    return true;
}

static bool check_ref_name(const char *name, bool tag, floe_err *err) {
    if (!name || !*name) return floe_err_set(err, FLOE_EINVAL, "a %s needs a name, like audit or v1.0", kind_name(tag));
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20)
            return floe_err_set(err, FLOE_EINVAL, "%s name '%s' holds a control character", kind_name(tag), name);
    return true;
}

bool ice_ref_create(ice_table *t, const char *name, bool tag, int64_t snapshot_id, arena_t *a, floe_err *err) {
    if (!check_ref_name(name, tag, err)) return false;
    if (tag && !strcmp(name, "main"))
        return floe_err_set(err, FLOE_EINVAL, "a tag cannot be named main: main is the table's main branch");
    ref_arg r = {name, tag, snapshot_id};
    return run(t, plan_create, &r, true, "creating a ref", a, err);
}

static bool plan_drop(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err) {
    const ref_arg *r = arg;
    const ice_ref *old = ice_meta_ref(&t->meta, r->name);
    if (!old)
        return floe_err_set(err, FLOE_ENOENT, "table %s.%s has no %s named %s (see `floe table refs %s.%s`)", t->ns,
                            t->name, kind_name(r->tag), r->name, t->ns, t->name);
    if (old->is_tag != r->tag)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s of table %s.%s is a %s, not a %s; drop it with `floe table %s %s.%s drop %s`", r->name,
                            t->ns, t->name, kind_name(old->is_tag), kind_name(r->tag), kind_name(old->is_tag), t->ns,
                            t->name, r->name);
    json_array_append_new(reqs, req_ref(r->name, old->snapshot_id));
    json_array_append_new(ups, json_pack("{s:s, s:s}", "action", "remove-snapshot-ref", "ref-name", r->name));
    return true;
}

bool ice_ref_drop(ice_table *t, const char *name, bool tag, arena_t *a, floe_err *err) {
    if (!check_ref_name(name, tag, err)) return false;
    if (!strcmp(name, "main"))
        return floe_err_set(err, FLOE_EINVAL,
                            "main cannot be dropped: it is the table's current state (to move it, use rollback or "
                            "set-current)");
    ref_arg r = {name, tag, -1};
    return run(t, plan_drop, &r, false, arena_sprintf(a, "dropping %s", name), a, err);
}

/* =============================================== rollback, set-current */

typedef struct main_arg {
    int64_t snapshot_id;
    bool rollback;
} main_arg;

static bool plan_set_main(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err) {
    const main_arg *m = arg;
    if (!need_snapshot(t, m->snapshot_id, err)) return false;
    const ice_ref *main = ice_meta_ref(&t->meta, "main");
    int64_t cur = main ? main->snapshot_id : -1;
    if (m->rollback && !ice_snapshot_is_ancestor(&t->meta, cur, m->snapshot_id))
        return floe_err_set(err, FLOE_EINVAL,
                            "snapshot %lld is not an ancestor of main's current snapshot %lld, so rollback cannot "
                            "reach it; to make it current anyway, use `floe table set-current %s.%s %lld`",
                            (long long)m->snapshot_id, (long long)cur, t->ns, t->name, (long long)m->snapshot_id);
    if (cur == m->snapshot_id) return true; /* already there */
    json_array_append_new(reqs, req_ref("main", cur));
    json_array_append_new(ups, up_set_ref("main", false, m->snapshot_id, main));
    return true;
}

bool ice_table_rollback(ice_table *t, int64_t snapshot_id, arena_t *a, floe_err *err) {
    main_arg m = {snapshot_id, true};
    return run(t, plan_set_main, &m, false, "rolling back main", a, err);
}

bool ice_table_set_current(ice_table *t, int64_t snapshot_id, arena_t *a, floe_err *err) {
    main_arg m = {snapshot_id, false};
    return run(t, plan_set_main, &m, false, "setting main's current snapshot", a, err);
}

/* ========================================================= fast-forward */

typedef struct ff_arg {
    const char *branch, *to;
    int64_t from_id;
} ff_arg;

static bool plan_ff(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err) {
    ff_arg *f = arg;
    const ice_ref *b = ice_meta_ref(&t->meta, f->branch), *to = ice_meta_ref(&t->meta, f->to);
    if (!b)
        return floe_err_set(err, FLOE_ENOENT,
                            "table %s.%s has no branch %s; create it with `floe table branch %s.%s create %s`", t->ns,
                            t->name, f->branch, t->ns, t->name, f->branch);
    if (b->is_tag)
        return floe_err_set(err, FLOE_EINVAL, "%s of table %s.%s is a tag, and tags do not move; fast-forward a branch",
                            f->branch, t->ns, t->name);
    if (!to)
        return floe_err_set(err, FLOE_ENOENT, "table %s.%s has no branch or tag %s (see `floe table refs %s.%s`)",
                            t->ns, t->name, f->to, t->ns, t->name);
    f->from_id = b->snapshot_id;
    if (b->snapshot_id == to->snapshot_id) return true;
    if (!ice_snapshot_is_ancestor(&t->meta, to->snapshot_id, b->snapshot_id))
        return floe_err_set(err, FLOE_ECONFLICT,
                            "cannot fast-forward %s to %s: they diverged (%s's snapshot %lld is not an ancestor of "
                            "%s's %lld); cherry-pick %s's snapshots onto %s instead",
                            f->branch, f->to, f->branch, (long long)b->snapshot_id, f->to, (long long)to->snapshot_id,
                            f->to, f->branch);
    json_array_append_new(reqs, req_ref(f->branch, b->snapshot_id));
    json_array_append_new(reqs, req_ref(f->to, to->snapshot_id));
    json_array_append_new(ups, up_set_ref(f->branch, false, to->snapshot_id, b));
    return true;
}

bool ice_branch_fast_forward(ice_table *t, const char *branch, const char *to, arena_t *a, int64_t *from_id,
                             floe_err *err) {
    if (!check_ref_name(branch, false, err) || !check_ref_name(to, false, err)) return false;
    ff_arg f = {branch, to, -1};
    bool ok = run(t, plan_ff, &f, true, "fast-forwarding", a, err);
    if (from_id) *from_id = f.from_id;
    return ok;
}

/* ========================================================== cherry-pick */

/* The data files a snapshot added and deleted (its own manifest entries). */
static bool snapshot_changes(const ice_table *t, const ice_snapshot *s, arena_t *a, ice_data_file **added,
                             size_t *nadded, ice_data_file **deleted, size_t *ndeleted, floe_err *err) {
    ice_manifest_file *mfs;
    size_t nm;
    *nadded = *ndeleted = 0;
    if (!ice_read_manifest_list(t, s, a, &mfs, &nm, err)) return false;
    size_t cap = 16;
    *added = arena_alloc(a, cap * sizeof **added);
    *deleted = arena_alloc(a, cap * sizeof **deleted);
    for (size_t i = 0; i < nm; i++) {
        if (mfs[i].content != ICE_CONTENT_DATA || mfs[i].added_snapshot_id != s->snapshot_id) continue;
        ice_manifest_entry *es;
        size_t ne;
        if (!ice_read_manifest(t, &mfs[i], a, &es, &ne, err)) return false;
        if (*nadded + *ndeleted + ne > cap) {
            while (cap < *nadded + *ndeleted + ne) cap *= 2;
            ice_data_file *na = arena_alloc(a, cap * sizeof *na), *nd = arena_alloc(a, cap * sizeof *nd);
            memcpy(na, *added, *nadded * sizeof *na);
            memcpy(nd, *deleted, *ndeleted * sizeof *nd);
            *added = na;
            *deleted = nd;
        }
        for (size_t j = 0; j < ne; j++) {
            if (es[j].snapshot_id != s->snapshot_id) continue;
            if (es[j].status == ICE_STATUS_ADDED) (*added)[(*nadded)++] = es[j].file;
            if (es[j].status == ICE_STATUS_DELETED) (*deleted)[(*ndeleted)++] = es[j].file;
        }
    }
    return true;
}

static bool same_partition(const ice_data_file *x, const ice_data_file *y) {
    if (x->spec_id != y->spec_id || x->npartition != y->npartition) return false;
    for (int32_t i = 0; i < x->npartition; i++)
        if (!ice_value_equal(&x->partition[i], &y->partition[i])) return false;
    return true;
}

/* Java's validateNonAncestor and validateReplacedAndPublished. */
static bool check_not_picked(const ice_table *t, const ice_snapshot *pick, int64_t head, floe_err *err) {
    const ice_table_meta *m = &t->meta;
    if (ice_snapshot_is_ancestor(m, head, pick->snapshot_id))
        return floe_err_set(err, FLOE_EINVAL, "snapshot %lld is already in main's history (main is at %lld)",
                            (long long)pick->snapshot_id, (long long)head);
    const char *wap = summary_get(pick, "wap.id");
    int32_t steps = 0;
    for (const ice_snapshot *s = ice_meta_snapshot(m, head); s && steps <= m->nsnapshots;
         s = ice_meta_snapshot(m, s->parent_id), steps++) {
        const char *src = summary_get(s, "source-snapshot-id"), *pub = summary_get(s, "published-wap-id");
        if (src && strtoll(src, NULL, 10) == pick->snapshot_id)
            return floe_err_set(err, FLOE_EINVAL,
                                "snapshot %lld was already cherry-picked into main as snapshot %lld; nothing to do",
                                (long long)pick->snapshot_id, (long long)s->snapshot_id);
        if (wap && pub && !strcmp(wap, pub))
            return floe_err_set(err, FLOE_EINVAL,
                                "write-audit-publish id %s of snapshot %lld was already published to main by "
                                "snapshot %lld",
                                wap, (long long)pick->snapshot_id, (long long)s->snapshot_id);
    }
    return true;
}

/* Java's validateReplacedPartitions and failMissingDeletePaths: the
 * overwrite must be based on main's history, the partitions it replaces
 * must not have gained files on main since, and the files it removed must
 * still be there. */
static bool check_overwrite_pick(const ice_table *t, const ice_snapshot *pick, int64_t head, const ice_data_file *added,
                                 size_t nadded, const ice_data_file *deleted, size_t ndeleted, arena_t *a,
                                 floe_err *err) {
    const ice_table_meta *m = &t->meta;
    if (pick->parent_id >= 0 && !ice_snapshot_is_ancestor(m, head, pick->parent_id))
        return floe_err_set(err, FLOE_ECONFLICT,
                            "cannot cherry-pick overwrite %lld: its parent %lld is not in main's history, so the "
                            "partitions it replaces may hold other data on main",
                            (long long)pick->snapshot_id, (long long)pick->parent_id);
    int32_t steps = 0;
    for (const ice_snapshot *s = ice_meta_snapshot(m, head);
         s && s->snapshot_id != pick->parent_id && steps <= m->nsnapshots;
         s = ice_meta_snapshot(m, s->parent_id), steps++) {
        ice_data_file *sa, *sd;
        size_t nsa, nsd;
        if (!snapshot_changes(t, s, a, &sa, &nsa, &sd, &nsd, err)) return false;
        for (size_t i = 0; i < nsa; i++)
            for (size_t k = 0; k < nadded; k++)
                if (same_partition(&sa[i], &added[k]))
                    return floe_err_set(err, FLOE_ECONFLICT,
                                        "cannot cherry-pick overwrite %lld: snapshot %lld on main added %s to a "
                                        "partition it replaces",
                                        (long long)pick->snapshot_id, (long long)s->snapshot_id, sa[i].file_path);
    }
    ice_manifest_entry *live;
    size_t nlive;
    if (!ice_snapshot_files(t, ice_meta_snapshot(m, head), a, &live, &nlive, err)) return false;
    for (size_t k = 0; k < ndeleted; k++) {
        bool found = false;
        for (size_t i = 0; i < nlive && !found; i++) found = !strcmp(live[i].file.file_path, deleted[k].file_path);
        if (!found)
            return floe_err_set(err, FLOE_ECONFLICT,
                                "cannot cherry-pick overwrite %lld: %s, which it removed, is no longer in main",
                                (long long)pick->snapshot_id, deleted[k].file_path);
    }
    return true;
}

/* main → the picked snapshot itself, when its parent is main's head. */
static bool plan_pick_ff(const ice_table *t, void *arg, json_t *reqs, json_t *ups, floe_err *err) {
    const ice_snapshot *pick = arg;
    const ice_ref *main = ice_meta_ref(&t->meta, "main");
    int64_t head = main ? main->snapshot_id : -1;
    if (pick->parent_id != head)
        return floe_err_set(err, FLOE_ECONFLICT, "main moved from %lld while cherry-picking %lld; rerun it",
                            (long long)pick->parent_id, (long long)pick->snapshot_id);
    json_array_append_new(reqs, req_ref("main", head));
    json_array_append_new(ups, up_set_ref("main", false, pick->snapshot_id, main));
    return true;
}

static bool pick_once(ice_table *t, int64_t snapshot_id, arena_t *a, ice_cherry_pick_result *res, floe_err *err) {
    const ice_snapshot *pick = ice_meta_snapshot(&t->meta, snapshot_id);
    if (!pick) return need_snapshot(t, snapshot_id, err);
    int64_t head = t->meta.current_snapshot_id;
    if (!check_not_picked(t, pick, head, err)) return false;
    if (pick->parent_id == head) {
        res->fast_forward = true;
        res->snapshot_id = snapshot_id;
        return run(t, plan_pick_ff, (void *)pick, false, "cherry-picking", a, err);
    }
    const char *op = pick->operation ? pick->operation : "append";
    const char *rp = summary_get(pick, "replace-partitions");
    bool dynamic = !strcmp(op, "overwrite") && rp && !strcmp(rp, "true");
    if (strcmp(op, "append") && !dynamic)
        return floe_err_set(err, FLOE_EINVAL,
                            "snapshot %lld is a %s; cherry-pick takes appends, dynamic partition overwrites, and any "
                            "snapshot whose parent is main's head (%lld), which it fast-forwards to",
                            (long long)snapshot_id, op, (long long)head);
    ice_data_file *added, *deleted;
    size_t nadded, ndeleted;
    if (!snapshot_changes(t, pick, a, &added, &nadded, &deleted, &ndeleted, err)) return false;
    if (dynamic && !check_overwrite_pick(t, pick, head, added, nadded, deleted, ndeleted, a, err)) return false;
    ice_kv sum[2] = {{"source-snapshot-id", arena_sprintf(a, "%lld", (long long)snapshot_id)}, {NULL, NULL}};
    int32_t nsum = 1;
    const char *wap = summary_get(pick, "wap.id");
    if (wap) sum[nsum++] = (ice_kv){"published-wap-id", wap};
    ice_commit_opts o = {.kind = dynamic ? ICE_OP_OVERWRITE_DYNAMIC : ICE_OP_APPEND,
                         .branch = "main",
                         .max_attempts = 1,
                         .summary = sum,
                         .nsummary = nsum};
    ice_commit_result cr;
    if (!ice_table_commit_files(t, &o, added, nadded, a, &cr, err)) return false;
    res->snapshot_id = cr.snapshot_id;
    res->added_files = cr.added_files;
    res->deleted_files = cr.deleted_files;
    return true;
}

bool ice_table_cherry_pick(ice_table *t, int64_t snapshot_id, arena_t *a, ice_cherry_pick_result *res, floe_err *err) {
    memset(res, 0, sizeof *res);
    int max = max_attempts(&t->meta);
    for (int i = 1;; i++) {
        int64_t head = t->meta.current_snapshot_id;
        if (pick_once(t, snapshot_id, a, res, err)) return true;
        if (err->code != FLOE_ECONFLICT || i >= max) return false;
        /* retry only when main moved under the pick; the checks rerun on the reload */
        floe_err e2;
        if (!ice_table_load(t->cat, t->ns, t->name, a, t, &e2)) {
            *err = e2;
            return false;
        }
        if (t->meta.current_snapshot_id == head) return false;
        memset(res, 0, sizeof *res);
    }
}

/* ================================================ metadata tables */

size_t ice_table_history(const ice_table_meta *m, arena_t *a, ice_history_entry **out) {
    size_t n = (size_t)m->nsnapshot_log;
    *out = arena_zalloc(a, (n + 1) * sizeof **out);
    for (size_t i = 0; i < n; i++) {
        ice_history_entry *h = &(*out)[i];
        h->made_current_at_ms = m->snapshot_log[i].timestamp_ms;
        h->snapshot_id = m->snapshot_log[i].snapshot_id;
        const ice_snapshot *s = ice_meta_snapshot(m, h->snapshot_id);
        h->parent_id = s ? s->parent_id : -1;
        h->is_current_ancestor = ice_snapshot_is_ancestor(m, m->current_snapshot_id, h->snapshot_id);
    }
    return n;
}

static int cmp_partition(const void *pa, const void *pb) {
    const ice_data_file *x = &((const ice_manifest_entry *)pa)->file, *y = &((const ice_manifest_entry *)pb)->file;
    if (x->spec_id != y->spec_id) return x->spec_id < y->spec_id ? -1 : 1;
    if (x->npartition != y->npartition) return x->npartition < y->npartition ? -1 : 1;
    for (int32_t i = 0; i < x->npartition; i++) {
        int c = ice_value_compare(&x->partition[i], &y->partition[i]);
        if (c) return c;
    }
    return 0;
}

bool ice_table_partitions(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_partition_stats **out,
                          size_t *n, floe_err *err) {
    *out = NULL;
    *n = 0;
    if (!snap) return true;
    ice_manifest_entry *es;
    size_t ne;
    if (!ice_snapshot_files(t, snap, a, &es, &ne, err)) return false;
    size_t nd = 0;
    for (size_t i = 0; i < ne; i++)
        if (es[i].file.content == ICE_CONTENT_DATA) es[nd++] = es[i];
    qsort(es, nd, sizeof *es, cmp_partition);
    ice_partition_stats *v = arena_zalloc(a, (nd + 1) * sizeof *v);
    size_t cnt = 0;
    for (size_t i = 0; i < nd; i++) {
        const ice_data_file *f = &es[i].file;
        if (!cnt || cmp_partition(&es[i - 1], &es[i])) {
            ice_partition_stats *p = &v[cnt++];
            p->spec_id = f->spec_id;
            p->partition = f->partition;
            p->npartition = f->npartition;
            p->last_updated_at_ms = -1;
            p->last_updated_snapshot_id = -1;
        }
        ice_partition_stats *p = &v[cnt - 1];
        p->record_count += f->record_count;
        p->file_count++;
        p->total_data_file_size_in_bytes += f->file_size_in_bytes;
        const ice_snapshot *s = ice_meta_snapshot(&t->meta, es[i].snapshot_id);
        if (s && s->timestamp_ms > p->last_updated_at_ms) {
            p->last_updated_at_ms = s->timestamp_ms;
            p->last_updated_snapshot_id = s->snapshot_id;
        }
    }
    *out = v;
    *n = cnt;
    return true;
}
