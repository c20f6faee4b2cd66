/*
 * table.c: table creation and snapshot commits (the Java SnapshotProducer's
 * job): append, overwrite by filter, dynamic partition overwrite, delete,
 * and replace (compaction).
 *
 * A commit writes the manifests it needs and a manifest list on top of the
 * branch's current snapshot, then asks the catalog to add the snapshot and
 * move the branch, requiring the branch to still be where it was. When a
 * concurrent commit moved it, the work is redone on top of the new head:
 * an append simply rebases (new entries inherit their sequence numbers
 * from the manifest list, so its manifest is reusable); an overwrite,
 * delete or replace first validates that nothing it depends on changed
 * since the snapshot it started from, failing with FLOE_ECONFLICT if it
 * did, as Java's serializable isolation does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "iceberg/ice_int.h"

bool ice_table_load(ice_catalog *cat, const char *ns, const char *name, arena_t *a, ice_table *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    out->cat = cat;
    out->ns = arena_strdup(a, ns);
    out->name = arena_strdup(a, name);
    return cat->load(cat->ctx, ns, name, a, &out->metadata_location, &out->meta, err);
}

bool ice_table_new_meta(const fmt_schema_t *schema, const char *partition, const ice_kv *props, int32_t nprops,
                        arena_t *a, ice_table_meta *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    out->format_version = 2;
    out->schemas = arena_zalloc(a, sizeof *out->schemas);
    out->schemas[0] = *schema;
    out->schemas[0].schema_id = 0;
    fmt_schema_finish(&out->schemas[0]);
    out->nschemas = 1;
    out->current_schema_id = 0;
    out->last_column_id = out->schemas[0].max_field_id;
    out->specs = arena_zalloc(a, sizeof *out->specs);
    out->nspecs = 1;
    out->last_partition_id = 999;
    if (partition && *partition) {
        if (!ice_partition_spec_parse(partition, &out->schemas[0], 999, a, &out->specs[0], err))
            return floe_err_wrap(err, "partition spec \"%s\"", partition);
        for (int32_t i = 0; i < out->specs[0].nfields; i++)
            if (out->specs[0].fields[i].field_id > out->last_partition_id)
                out->last_partition_id = out->specs[0].fields[i].field_id;
    }
    out->specs[0].spec_id = 0;
    out->default_spec_id = 0;
    out->sort_orders = arena_zalloc(a, sizeof *out->sort_orders);
    out->nsort_orders = 1;
    out->default_sort_order_id = 0;
    out->current_snapshot_id = -1;
    if (nprops > 0) {
        out->properties = arena_zalloc(a, (size_t)nprops * sizeof *out->properties);
        for (int32_t i = 0; i < nprops; i++) {
            out->properties[i].key = arena_strdup(a, props[i].key);
            out->properties[i].value = arena_strdup(a, props[i].value);
        }
        out->nproperties = nprops;
    }
    return true;
}

/* ============================================================ helpers */

int64_t ice_new_snapshot_id(void) {
    uint64_t r = 0;
    while (getrandom(&r, sizeof r, 0) != sizeof r) {
    }
    r &= 0x7fffffffffffffffull;
    return r ? (int64_t)r : 1;
}

bool ice_read_manifest_list(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_manifest_file **out,
                            size_t *n, floe_err *err) {
    *out = NULL;
    *n = 0;
    if (!snap) return true;
    if (!snap->manifest_list) {
        /* v1: a plain list of manifests, without counts */
        *out = arena_zalloc(a, ((size_t)snap->nv1_manifests + 1) * sizeof **out);
        for (int32_t i = 0; i < snap->nv1_manifests; i++) {
            (*out)[i].manifest_path = snap->v1_manifests[i];
            (*out)[i].added_snapshot_id = snap->snapshot_id;
            (*out)[i].partition_spec_id = t->meta.default_spec_id;
        }
        *n = (size_t)snap->nv1_manifests;
        return true;
    }
    buf_t b = {0};
    bool ok = fileio_read_all(t->cat->io, snap->manifest_list, &b, err) &&
              ice_manifest_list_read(b.data, b.len, snap->manifest_list, a, out, n, err);
    buf_free(&b);
    return ok;
}

bool ice_read_manifest(const ice_table *t, const ice_manifest_file *mf, arena_t *a, ice_manifest_entry **out, size_t *n,
                       floe_err *err) {
    buf_t b = {0};
    bool ok = fileio_read_all(t->cat->io, mf->manifest_path, &b, err) &&
              ice_manifest_read(b.data, b.len, mf->manifest_path, mf, &t->meta, a, out, n, err);
    buf_free(&b);
    return ok;
}

bool ice_snapshot_files(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_manifest_entry **out, size_t *n,
                        floe_err *err) {
    ice_manifest_file *mfs;
    size_t nm;
    *out = NULL;
    *n = 0;
    if (!ice_read_manifest_list(t, snap, a, &mfs, &nm, err)) return false;
    size_t cap = 64, cnt = 0;
    ice_manifest_entry *v = arena_alloc(a, cap * sizeof *v);
    for (size_t i = 0; i < nm; i++) {
        ice_manifest_entry *es;
        size_t ne;
        if (!ice_read_manifest(t, &mfs[i], a, &es, &ne, err)) return false;
        for (size_t j = 0; j < ne; j++) {
            if (es[j].status == ICE_STATUS_DELETED) continue;
            if (cnt == cap) {
                ice_manifest_entry *nv = arena_alloc(a, 2 * cap * sizeof *v);
                memcpy(nv, v, cnt * sizeof *v);
                v = nv;
                cap *= 2;
            }
            v[cnt++] = es[j];
        }
    }
    *out = v;
    *n = cnt;
    return true;
}

/* Files an attempt wrote, deleted if it fails. */
typedef struct path_list {
    const char **v;
    size_t n, cap;
} path_list;

static void path_add(path_list *l, arena_t *a, const char *path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        const char **nv = arena_alloc(a, l->cap * sizeof *nv);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
    }
    l->v[l->n++] = path;
}

/* Writes a manifest file for entries (all of one spec) and describes it. */
static bool write_manifest(const ice_table *t, int32_t spec_id, const ice_manifest_entry *es, size_t n,
                           int64_t snapshot_id, arena_t *a, ice_manifest_file *mf, path_list *written, floe_err *err) {
    const ice_partition_spec *spec = ice_meta_spec(&t->meta, spec_id);
    if (!spec) return floe_err_set(err, FLOE_EINVAL, "no partition spec %d in %s.%s", spec_id, t->ns, t->name);
    buf_t b = {0};
    memset(mf, 0, sizeof *mf);
    bool ok =
        ice_manifest_write(&t->meta, ice_meta_current_schema(&t->meta), spec, ICE_CONTENT_DATA, es, n, &b, mf, a, err);
    char uuid[37];
    str_uuid4(uuid);
    char *path = arena_sprintf(a, "%s/metadata/%s-m0.avro", t->meta.location, uuid);
    if (ok) ok = fileio_write_all_deferred(t->cat->io, path, b.data, b.len, true, err);
    if (ok) {
        mf->manifest_path = path;
        mf->manifest_length = (int64_t)b.len;
        mf->partition_spec_id = spec_id;
        mf->content = ICE_CONTENT_DATA;
        mf->added_snapshot_id = snapshot_id;
        path_add(written, a, path);
    }
    buf_free(&b);
    return ok;
}

static void kv_add(ice_kv **kv, int32_t *n, int32_t *cap, arena_t *a, const char *k, int64_t v) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        ice_kv *nv = arena_zalloc(a, (size_t)*cap * sizeof *nv);
        if (*n) memcpy(nv, *kv, (size_t)*n * sizeof *nv);
        *kv = nv;
    }
    (*kv)[*n].key = k;
    (*kv)[(*n)++].value = arena_sprintf(a, "%lld", (long long)v);
}

static int64_t summary_i64(const ice_snapshot *s, const char *k) {
    if (!s) return 0;
    for (int32_t i = 0; i < s->nsummary; i++)
        if (!strcmp(s->summary[i].key, k)) return strtoll(s->summary[i].value, NULL, 10);
    return 0;
}

static bool tuple_equal(const ice_data_file *a, const ice_data_file *b) {
    if (a->spec_id != b->spec_id || a->npartition != b->npartition) return false;
    for (int32_t i = 0; i < a->npartition; i++)
        if (!ice_value_equal(&a->partition[i], &b->partition[i])) return false;
    return true;
}

/* What a filter does to one live file. */
typedef enum { F_KEEP, F_DROP, F_REWRITE } file_fate;

static file_fate filter_fate(const ice_table *t, const ice_expr *filter, const ice_data_file *f, arena_t *a) {
    const ice_partition_spec *spec = ice_meta_spec(&t->meta, f->spec_id);
    const fmt_schema_t *schema = ice_meta_current_schema(&t->meta);
    if (spec && !ice_partition_spec_is_unpartitioned(spec)) {
        ice_expr *inc = ice_expr_project_inclusive(filter, spec, schema, a);
        if (!ice_expr_eval_partition(inc, spec, f->partition)) return F_KEEP;
        ice_expr *strict = ice_expr_project_strict(filter, spec, schema, a);
        if (ice_expr_eval_partition(strict, spec, f->partition)) return F_DROP;
    }
    if (!ice_expr_might_match(filter, schema, f)) return F_KEEP;
    if (ice_expr_all_match(filter, schema, f)) return F_DROP;
    return F_REWRITE;
}

/* Copy-on-write: the rows of f the filter does not match, into w. */
static bool rewrite_file(const ice_table *t, const ice_data_file *f, const ice_expr *filter, ice_writer *w,
                         int64_t *kept, floe_err *err) {
    const fmt_schema_t *schema = ice_meta_current_schema(&t->meta);
    ice_file_reader *r = ice_file_reader_open(t, f, schema, NULL, 0, err);
    if (!r) return false;
    fmt_batch_t *b;
    fmt_batch_t keep;
    fmt_batch_init(&keep, schema);
    uint8_t *sel = NULL;
    uint32_t *rows = NULL;
    size_t cap = 0;
    bool ok = true;
    while (ok && ice_file_reader_next(r, &b, err)) {
        if (b->nrows > cap) {
            cap = b->nrows;
            sel = realloc(sel, (cap + 7) / 8);
            rows = realloc(rows, cap * sizeof *rows);
        }
        memset(sel, 0, (b->nrows + 7) / 8);
        ice_expr_eval_batch(filter, schema, b, sel);
        uint32_t n = 0;
        for (uint32_t i = 0; i < b->nrows; i++)
            if (!((sel[i >> 3] >> (i & 7)) & 1)) rows[n++] = i;
        if (!n) continue;
        fmt_batch_reset(&keep);
        fmt_batch_take(&keep, b, rows, n);
        *kept += n;
        ok = ice_writer_write(w, &keep, err);
    }
    if (ok && err->code) ok = false;
    fmt_batch_free(&keep);
    free(sel);
    free(rows);
    ice_file_reader_close(r);
    return ok;
}

/* Validation for overwrite, delete and replace: snapshots committed to the
 * branch after base must not have added files the operation would have had
 * to consider, nor removed files it removes. */
static bool validate_since(const ice_table *t, int64_t base_id, int64_t head_id, const ice_commit_opts *o,
                           const ice_data_file *added, size_t nadded, arena_t *a, floe_err *err) {
    for (int64_t id = head_id; id >= 0 && id != base_id;) {
        const ice_snapshot *s = ice_meta_snapshot(&t->meta, id);
        if (!s) break; /* expired history: nothing left to compare */
        ice_manifest_file *mfs;
        size_t nm;
        if (!ice_read_manifest_list(t, s, a, &mfs, &nm, err)) return false;
        for (size_t i = 0; i < nm; i++) {
            if (mfs[i].added_snapshot_id != s->snapshot_id) continue;
            ice_manifest_entry *es;
            size_t ne;
            if (!ice_read_manifest(t, &mfs[i], a, &es, &ne, err)) return false;
            for (size_t j = 0; j < ne; j++) {
                if (es[j].snapshot_id != s->snapshot_id) continue;
                const ice_data_file *f = &es[j].file;
                if (es[j].status == ICE_STATUS_ADDED) {
                    bool hit = false;
                    if (o->kind == ICE_OP_OVERWRITE_DYNAMIC) {
                        for (size_t k = 0; k < nadded && !hit; k++) hit = tuple_equal(f, &added[k]);
                    } else if (o->filter && o->kind != ICE_OP_REPLACE) {
                        hit = filter_fate(t, o->filter, f, a) != F_KEEP;
                    }
                    if (hit)
                        return floe_err_set(err, FLOE_ECONFLICT,
                                            "conflict: snapshot %lld, committed concurrently, added %s, which this "
                                            "%s would have had to consider; rerun it",
                                            (long long)s->snapshot_id, f->file_path,
                                            o->kind == ICE_OP_DELETE ? "delete" : "overwrite");
                } else if (es[j].status == ICE_STATUS_DELETED) {
                    for (size_t k = 0; k < o->nreplaced; k++)
                        if (!strcmp(o->replaced[k].file_path, f->file_path))
                            return floe_err_set(err, FLOE_ECONFLICT,
                                                "conflict: snapshot %lld, committed concurrently, removed %s, which "
                                                "this compaction replaces; rerun it",
                                                (long long)s->snapshot_id, f->file_path);
                }
            }
        }
        id = s->parent_id;
    }
    return true;
}

static void delete_files(const ice_table *t, const char **paths, size_t n) {
    for (size_t i = 0; i < n; i++) {
        floe_err e;
        if (!fileio_delete(t->cat->io, paths[i], &e)) log_warn("iceberg", "cleanup: %s", e.msg);
    }
}

static const char *op_name(const ice_commit_opts *o, size_t nadded, int64_t deleted_files) {
    switch (o->kind) {
    case ICE_OP_APPEND: return "append";
    case ICE_OP_REPLACE: return "replace";
    case ICE_OP_DELETE: return nadded ? "overwrite" : "delete";
    default: return deleted_files || nadded == 0 ? "overwrite" : "append";
    }
}

/* One attempt; *retry says whether a conflict may be retried. */
static bool attempt(ice_table *t, const ice_commit_opts *o, const ice_data_file *added_in, size_t nadded_in,
                    int64_t base_id, int64_t snap_id, arena_t *a, ice_commit_result *res, bool *retry, floe_err *err) {
    *retry = false;
    const char *branch = o->branch ? o->branch : "main";
    const ice_ref *ref = ice_meta_ref(&t->meta, branch);
    int64_t parent_id = ref ? ref->snapshot_id : -1;
    if (!ref && strcmp(branch, "main"))
        return floe_err_set(err, FLOE_ENOENT,
                            "table %s.%s has no branch %s; create it first with `floe table branch %s.%s create %s`",
                            t->ns, t->name, branch, t->ns, t->name, branch);
    if (ref && ref->is_tag)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s of table %s.%s is a tag, and tags do not move; write to a branch (create one at the "
                            "tag with `floe table branch %s.%s create NAME --snapshot %lld`)",
                            branch, t->ns, t->name, t->ns, t->name, (long long)ref->snapshot_id);
    const ice_snapshot *parent = parent_id >= 0 ? ice_meta_snapshot(&t->meta, parent_id) : NULL;
    if (o->kind != ICE_OP_APPEND && parent_id != base_id &&
        !validate_since(t, base_id, parent_id, o, added_in, nadded_in, a, err))
        return false;

    path_list written = {0}; /* files this attempt wrote, removed if it fails */
    bool ok = false;
    ice_writer *cow = NULL;
    ice_manifest_file *parent_mfs = NULL;
    size_t nparent = 0;
    if (!ice_read_manifest_list(t, parent, a, &parent_mfs, &nparent, err)) goto fail;

    /* the new list: [added manifest] + rewritten manifests + untouched ones */
    ice_manifest_file *list = arena_zalloc(a, (nparent + 1) * sizeof *list);
    size_t nlist = 0;
    int64_t deleted_files = 0, deleted_rows = 0, removed_size = 0, rewritten = 0, replaced_found = 0;
    const ice_data_file *added = added_in;
    size_t nadded = nadded_in;
    int64_t seq = t->meta.last_sequence_number + 1;

    bool filtering = o->kind == ICE_OP_DELETE || o->kind == ICE_OP_OVERWRITE_FILTER;
    for (size_t i = 0; i < nparent; i++) {
        ice_manifest_file *mf = &parent_mfs[i];
        bool may_touch = o->kind != ICE_OP_APPEND && mf->content == ICE_CONTENT_DATA &&
                         (mf->added_files_count + mf->existing_files_count > 0 || !parent->manifest_list);
        if (!may_touch) {
            list[nlist++] = *mf;
            continue;
        }
        ice_manifest_entry *es;
        size_t ne;
        if (!ice_read_manifest(t, mf, a, &es, &ne, err)) goto fail;
        ice_manifest_entry *out = arena_zalloc(a, (ne + 1) * sizeof *out);
        size_t nout = 0;
        bool changed = false;
        for (size_t j = 0; j < ne; j++) {
            if (es[j].status == ICE_STATUS_DELETED) continue; /* deletes of older snapshots are not carried */
            const ice_data_file *f = &es[j].file;
            file_fate fate = F_KEEP;
            if (filtering && o->filter) {
                fate = filter_fate(t, o->filter, f, a);
            } else if (o->kind == ICE_OP_OVERWRITE_DYNAMIC) {
                for (size_t k = 0; k < nadded_in && fate == F_KEEP; k++)
                    if (tuple_equal(f, &added_in[k])) fate = F_DROP;
            } else if (o->kind == ICE_OP_REPLACE) {
                for (size_t k = 0; k < o->nreplaced && fate == F_KEEP; k++)
                    if (!strcmp(o->replaced[k].file_path, f->file_path)) fate = F_DROP;
                if (fate == F_DROP) replaced_found++;
            }
            if (fate == F_REWRITE) {
                if (!cow) {
                    cow = ice_writer_new(t, NULL, a, err);
                    if (!cow) goto fail;
                }
                int64_t kept = 0;
                if (!rewrite_file(t, f, o->filter, cow, &kept, err)) goto fail;
                rewritten++;
                fate = F_DROP; /* its kept rows come back in a new file */
            }
            ice_manifest_entry e = es[j];
            if (fate == F_DROP) {
                e.status = ICE_STATUS_DELETED;
                e.snapshot_id = snap_id;
                deleted_files++;
                deleted_rows += f->record_count;
                removed_size += f->file_size_in_bytes;
                changed = true;
            } else {
                e.status = ICE_STATUS_EXISTING;
            }
            out[nout++] = e;
        }
        if (!changed) {
            list[nlist++] = *mf;
            continue;
        }
        ice_manifest_file nm;
        if (!write_manifest(t, mf->partition_spec_id, out, nout, snap_id, a, &nm, &written, err)) goto fail;
        nm.sequence_number = seq;
        nm.min_sequence_number = seq;
        for (size_t j = 0; j < nout; j++)
            if (out[j].status == ICE_STATUS_EXISTING && out[j].sequence_number < nm.min_sequence_number)
                nm.min_sequence_number = out[j].sequence_number;
        list[nlist++] = nm;
    }
    if (o->kind == ICE_OP_REPLACE && (size_t)replaced_found != o->nreplaced) {
        floe_err_set(err, FLOE_ECONFLICT,
                     "conflict: %zu of the %zu files this compaction replaces are no longer in the table; rerun it",
                     o->nreplaced - (size_t)replaced_found, o->nreplaced);
        goto fail;
    }
    if (cow) {
        ice_data_file *cf;
        size_t ncf;
        if (!ice_writer_close(cow, &cf, &ncf, err)) goto fail;
        for (size_t k = 0; k < ncf; k++) path_add(&written, a, cf[k].file_path);
        ice_writer_free(cow);
        cow = NULL;
        ice_data_file *all = arena_alloc(a, (nadded + ncf + 1) * sizeof *all);
        if (nadded) memcpy(all, added, nadded * sizeof *all);
        memcpy(all + nadded, cf, ncf * sizeof *all);
        added = all;
        nadded += ncf;
    }
    if (o->kind != ICE_OP_APPEND && deleted_files == 0 && nadded == 0) {
        res->snapshot_id = parent_id;
        ok = true; /* nothing matched: no snapshot */
        goto done;
    }

    /* the added files, one manifest per spec */
    int64_t added_rows = 0, added_size = 0;
    if (nadded) {
        ice_manifest_entry *es = arena_zalloc(a, nadded * sizeof *es);
        for (size_t k = 0; k < nadded; k++) {
            es[k].status = ICE_STATUS_ADDED;
            es[k].snapshot_id = snap_id;
            es[k].sequence_number = -1;
            es[k].file_sequence_number = -1;
            es[k].file = added[k];
            added_rows += added[k].record_count;
            added_size += added[k].file_size_in_bytes;
        }
        /* added manifests go first, as Java lists them */
        ice_manifest_file *full = arena_zalloc(a, (nlist + nadded + 1) * sizeof *full);
        size_t nfull = 0;
        for (size_t k = 0; k < nadded;) {
            size_t e = k;
            while (e < nadded && added[e].spec_id == added[k].spec_id) e++;
            ice_manifest_file *nm = &full[nfull++];
            if (!write_manifest(t, added[k].spec_id, es + k, e - k, snap_id, a, nm, &written, err)) goto fail;
            nm->sequence_number = seq;
            nm->min_sequence_number = seq;
            k = e;
        }
        memcpy(full + nfull, list, nlist * sizeof *list);
        list = full;
        nlist += nfull;
    }

    /* summary */
    ice_kv *sum = NULL;
    int32_t nsum = 0, csum = 0;
    const char *opn = op_name(o, nadded, deleted_files);
    kv_add(&sum, &nsum, &csum, a, "operation", 0);
    sum[0].value = opn;
    if (nadded) {
        kv_add(&sum, &nsum, &csum, a, "added-data-files", (int64_t)nadded);
        kv_add(&sum, &nsum, &csum, a, "added-records", added_rows);
        kv_add(&sum, &nsum, &csum, a, "added-files-size", added_size);
    }
    if (deleted_files) {
        kv_add(&sum, &nsum, &csum, a, "deleted-data-files", deleted_files);
        kv_add(&sum, &nsum, &csum, a, "deleted-records", deleted_rows);
        kv_add(&sum, &nsum, &csum, a, "removed-files-size", removed_size);
    }
    kv_add(&sum, &nsum, &csum, a, "total-records", summary_i64(parent, "total-records") + added_rows - deleted_rows);
    kv_add(&sum, &nsum, &csum, a, "total-files-size",
           summary_i64(parent, "total-files-size") + added_size - removed_size);
    kv_add(&sum, &nsum, &csum, a, "total-data-files",
           summary_i64(parent, "total-data-files") + (int64_t)nadded - deleted_files);
    kv_add(&sum, &nsum, &csum, a, "total-delete-files", summary_i64(parent, "total-delete-files"));
    kv_add(&sum, &nsum, &csum, a, "total-position-deletes", summary_i64(parent, "total-position-deletes"));
    kv_add(&sum, &nsum, &csum, a, "total-equality-deletes", summary_i64(parent, "total-equality-deletes"));
    if (o->kind == ICE_OP_OVERWRITE_DYNAMIC) {
        kv_add(&sum, &nsum, &csum, a, "replace-partitions", 0);
        sum[nsum - 1].value = "true"; /* as Java's ReplacePartitions marks it */
    }
    for (int32_t k = 0; k < o->nsummary; k++) {
        kv_add(&sum, &nsum, &csum, a, o->summary[k].key, 0);
        sum[nsum - 1].value = o->summary[k].value;
    }

    /* manifest list */
    buf_t lb = {0};
    char uuid[37];
    str_uuid4(uuid);
    char *list_path = arena_sprintf(a, "%s/metadata/snap-%lld-1-%s.avro", t->meta.location, (long long)snap_id, uuid);
    bool wrote = ice_manifest_list_write(snap_id, parent_id, seq, list, nlist, &lb, err) &&
                 fileio_write_all_deferred(t->cat->io, list_path, lb.data, lb.len, true, err);
    buf_free(&lb);
    if (!wrote) goto fail;
    path_add(&written, a, list_path);

    ice_snapshot s = {.snapshot_id = snap_id,
                      .parent_id = parent_id,
                      .sequence_number = seq,
                      .timestamp_ms = time_now_ms(),
                      .manifest_list = list_path,
                      .operation = opn,
                      .summary = sum,
                      .nsummary = nsum,
                      .schema_id = t->meta.current_schema_id};
    if (s.timestamp_ms <= t->meta.last_updated_ms) s.timestamp_ms = t->meta.last_updated_ms + 1;
    json_t *reqs = json_array(), *ups = json_array();
    json_array_append_new(reqs, json_pack("{s:s, s:s}", "type", "assert-table-uuid", "uuid", t->meta.table_uuid));
    json_t *rq = json_pack("{s:s, s:s}", "type", "assert-ref-snapshot-id", "ref", branch);
    json_object_set_new(rq, "snapshot-id", parent_id >= 0 ? json_integer(parent_id) : json_null());
    json_array_append_new(reqs, rq);
    json_array_append_new(ups, json_pack("{s:s, s:o}", "action", "add-snapshot", "snapshot", ice_snapshot_to_json(&s)));
    json_t *up_ref = json_pack("{s:s, s:s, s:s, s:I}", "action", "set-snapshot-ref", "ref-name", branch, "type",
                               "branch", "snapshot-id", (json_int_t)snap_id);
    if (ref) ice_ref_retention_to_json(ref, up_ref); /* the branch keeps its retention */
    json_array_append_new(ups, up_ref);
    const char *loc;
    ice_table_meta nm;
    ok = t->cat->commit_on ? t->cat->commit_on(t->cat->ctx, t->ns, t->name, t->metadata_location, &t->meta, reqs, ups,
                                               a, &loc, &nm, err)
                           : t->cat->commit(t->cat->ctx, t->ns, t->name, reqs, ups, a, &loc, &nm, err);
    json_decref(reqs);
    json_decref(ups);
    if (!ok) {
        *retry = err->code == FLOE_ECONFLICT;
        goto fail;
    }
    t->metadata_location = loc;
    t->meta = nm;
    res->snapshot_id = snap_id;
    res->sequence_number = seq;
    res->added_files = (int64_t)nadded;
    res->added_rows = added_rows;
    res->deleted_files = deleted_files;
    res->deleted_rows = deleted_rows;
    res->rewritten_files = rewritten;
    goto done;
fail:
    ok = false;
    if (cow) ice_writer_abort(cow);
    cow = NULL;
    delete_files(t, written.v, written.n);
done:
    if (cow) ice_writer_free(cow);
    return ok;
}

/* Java's commit.retry.min-wait-ms (100) and max-wait-ms (60000): exponential
 * with jitter. */
static struct timespec backoff(const ice_table_meta *m, int attempt_no) {
    int64_t lo = 100, hi = 60000;
    const char *v;
    if ((v = ice_meta_property(m, "commit.retry.min-wait-ms"))) str_to_i64_range(v, 0, 3600000, &lo);
    if ((v = ice_meta_property(m, "commit.retry.max-wait-ms"))) str_to_i64_range(v, 0, 3600000, &hi);
    int64_t wait = lo;
    for (int k = 1; k < attempt_no && wait < hi; k++) wait *= 2;
    if (wait > hi) wait = hi;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = 0;
    int64_t us = wait * 1000 / 2 + (int64_t)(r % (uint64_t)(wait * 500 + 1)); /* 50..100% of wait */
    return (struct timespec){us / 1000000, (long)(us % 1000000) * 1000};
}

bool ice_table_commit_files(ice_table *t, const ice_commit_opts *opts, const ice_data_file *added, size_t nadded,
                            arena_t *a, ice_commit_result *res, floe_err *err) {
    memset(res, 0, sizeof *res);
    if ((opts->kind == ICE_OP_DELETE || opts->kind == ICE_OP_OVERWRITE_FILTER) && !opts->filter)
        return floe_err_set(err, FLOE_EINVAL, "a delete or an overwrite by filter needs a filter");
    int max = opts->max_attempts;
    if (max <= 0) {
        const char *r = ice_meta_property(&t->meta, "commit.retry.num-retries");
        int64_t n = 4;
        if (r && !str_to_i64_range(r, 0, 1000, &n))
            return floe_err_set(err, FLOE_EINVAL, "table property commit.retry.num-retries is '%s'; expected 0..1000",
                                r);
        max = (int)n + 1;
    }
    const ice_ref *ref = ice_meta_ref(&t->meta, opts->branch ? opts->branch : "main");
    int64_t base_id = ref ? ref->snapshot_id : -1;
    int64_t snap_id = ice_new_snapshot_id();
    for (int i = 1;; i++) {
        bool retry;
        res->attempts = i;
        if (attempt(t, opts, added, nadded, base_id, snap_id, a, res, &retry, err)) return true;
        if (!retry || i >= max) return false;
        /* reload and redo on top of the new head, after a short backoff */
        struct timespec ts = backoff(&t->meta, i);
        nanosleep(&ts, NULL);
        floe_err e2;
        if (!ice_table_load(t->cat, t->ns, t->name, a, t, &e2)) {
            *err = e2;
            return false;
        }
    }
}
