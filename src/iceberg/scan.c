/*
 * scan.c: scan planning and reading.
 *
 * Planning picks the snapshot (by id, by time through the snapshot log, by
 * ref, or the current one) and reads its manifest list. It skips the
 * manifests whose partition field summaries rule the filter out (the
 * filter projected inclusively through the manifest's spec), reads the
 * others, and keeps the live data files the filter may match: first by
 * the partition tuple, then by column metrics (bounds, null and NaN
 * counts). Each kept file gets the residual: the filter with what its
 * partition settles taken out.
 *
 * Reading goes file by file through the Parquet reader, projecting by
 * field id (so renamed and dropped columns read right), pruning row groups
 * and pages with the residual's simple conjuncts, and filtering rows with
 * the residual. Columns the filter needs but the projection does not are
 * read and dropped from the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "iceberg/ice_int.h"

/* ============================================================ file reader */

struct ice_file_reader {
    fileio_in *in;
    pq_source src;
    pq_reader_t *pr;
    int32_t *ids;
    ice_file_project *proj; /* files older than a nested column's change */
};

static bool src_read(void *ctx, uint64_t off, void *buf, size_t n, floe_err *err) {
    return fileio_in_read((fileio_in *)ctx, off, buf, n, err);
}

ice_file_reader *ice_file_reader_open(const ice_table *t, const ice_data_file *f, const fmt_schema_t *schema,
                                      const pq_pred *preds, size_t npreds, floe_err *err) {
    if (f->file_format && strcasecmp(f->file_format, "PARQUET")) {
        floe_err_set(err, FLOE_EINVAL, "data file %s is %s; Floe reads Parquet data files", f->file_path,
                     f->file_format);
        return NULL;
    }
    ice_file_reader *r = calloc(1, sizeof *r);
    r->in = fileio_in_open(t->cat->io, f->file_path, err);
    if (!r->in) goto fail;
    r->src = (pq_source){.read = src_read, .ctx = r->in, .size = fileio_in_size(r->in), .name = f->file_path};
    r->pr = pq_reader_open(&r->src, err);
    if (!r->pr) goto fail;
    r->ids = calloc((size_t)schema->root.nchildren + 1, sizeof *r->ids);
    for (int32_t i = 0; i < schema->root.nchildren; i++) r->ids[i] = schema->root.children[i].id;
    pq_reader_opts o = {.field_ids = r->ids,
                        .nfields = (uint32_t)schema->root.nchildren,
                        .preds = preds,
                        .npreds = (uint32_t)npreds,
                        .binary_as_string = false};
    const fmt_schema_t *ask;
    r->proj = ice_file_project_new(pq_reader_schema(r->pr), schema, &ask);
    if (!pq_reader_scan(r->pr, &o, ask, err)) goto fail;
    return r;
fail:
    floe_err_wrap(err, "reading data file %s", f->file_path);
    ice_file_reader_close(r);
    return NULL;
}

bool ice_file_reader_next(ice_file_reader *r, fmt_batch_t **b, floe_err *err) {
    if (!pq_reader_next(r->pr, b, err)) return false;
    if (r->proj) *b = ice_file_project_batch(r->proj, *b);
    return true;
}

const pq_reader_stats *ice_file_reader_stats(const ice_file_reader *r) { return pq_reader_stats_get(r->pr); }

void ice_file_reader_close(ice_file_reader *r) {
    if (!r) return;
    if (r->pr) pq_reader_free(r->pr);
    if (r->in) fileio_in_close(r->in);
    ice_file_project_free(r->proj);
    free(r->ids);
    free(r);
}

/* ================================================================= scans */

/* The filter projected inclusively onto one partition spec. */
typedef struct spec_filter {
    const ice_partition_spec *spec;
    ice_expr *inc;
} spec_filter;

struct ice_scan {
    arena_t a;
    const ice_table *t;
    const fmt_schema_t *table_schema; /* the schema the scan reads with */
    fmt_schema_t read_schema;         /* projection + filter columns */
    fmt_schema_t out_schema;          /* projection */
    int32_t *out_cols;                /* out column k = read column out_cols[k] */
    ice_expr *filter;                 /* bound, or NULL */
    ice_file_task *tasks;
    size_t ntasks, next_task;
    ice_file_reader *cur;
    const ice_file_task *cur_task;
    pq_pred *cur_preds;
    fmt_batch_t take; /* filtered rows */
    bool take_init;
    fmt_batch_t view; /* output columns */
    uint8_t *sel;
    uint32_t *rows;
    size_t sel_cap;
    ice_scan_report rep;
    spec_filter *proj; /* the filter projected per spec, for planning */
    size_t nproj, proj_cap;
};

static const ice_snapshot *pick_snapshot(const ice_table *t, const ice_scan_opts *o, floe_err *err, bool *found) {
    const ice_table_meta *m = &t->meta;
    *found = true;
    if (o->snapshot_id >= 0) {
        const ice_snapshot *s = ice_meta_snapshot(m, o->snapshot_id);
        if (!s)
            floe_err_set(err, FLOE_ENOENT, "table %s.%s has no snapshot %lld (see `floe table snapshots %s.%s`)", t->ns,
                         t->name, (long long)o->snapshot_id, t->ns, t->name);
        return s;
    }
    if (o->as_of_ms >= 0) {
        int64_t id = -1;
        for (int32_t i = 0; i < m->nsnapshot_log; i++)
            if (m->snapshot_log[i].timestamp_ms <= o->as_of_ms) id = m->snapshot_log[i].snapshot_id;
        if (id < 0) {
            floe_err_set(err, FLOE_ENOENT, "table %s.%s had no current snapshot at %lld ms (its history starts later)",
                         t->ns, t->name, (long long)o->as_of_ms);
            return NULL;
        }
        const ice_snapshot *s = ice_meta_snapshot(m, id);
        if (!s) floe_err_set(err, FLOE_ENOENT, "snapshot %lld of the history has expired", (long long)id);
        return s;
    }
    if (o->ref) {
        const ice_ref *r = ice_meta_ref(m, o->ref);
        if (!r) {
            floe_err_set(err, FLOE_ENOENT, "table %s.%s has no branch or tag %s (see `floe table refs %s.%s`)", t->ns,
                         t->name, o->ref, t->ns, t->name);
            return NULL;
        }
        return ice_meta_snapshot(m, r->snapshot_id);
    }
    if (m->current_snapshot_id < 0) {
        *found = false; /* an empty table */
        return NULL;
    }
    return ice_meta_snapshot(m, m->current_snapshot_id);
}

static void collect_ids(const ice_expr *e, int32_t *ids, size_t *n, size_t cap) {
    if (!e) return;
    if (e->left) collect_ids(e->left, ids, n, cap);
    if (e->right) collect_ids(e->right, ids, n, cap);
    if (e->field && *n < cap) ids[(*n)++] = e->field_id;
}

/* The top-level column holding field id (itself or nested in it). */
static int32_t top_level_of(const fmt_schema_t *s, int32_t id) {
    for (int32_t i = 0; i < s->root.nchildren; i++) {
        const fmt_field_t *f = &s->root.children[i];
        if (f->id == id) return i;
        fmt_schema_t sub = {.root = {.type = FMT_STRUCT, .children = (fmt_field_t *)f, .nchildren = 1}};
        if (fmt_schema_find(&sub, id)) return i;
    }
    return -1;
}

/* The filter projected inclusively onto spec (NULL when there is no
 * filter or the spec is unpartitioned), made once per spec: manifests of
 * one spec share it. */
static ice_expr *projected_for(ice_scan *s, const ice_partition_spec *spec) {
    if (!s->filter || !spec || ice_partition_spec_is_unpartitioned(spec)) return NULL;
    for (size_t i = 0; i < s->nproj; i++)
        if (s->proj[i].spec == spec) return s->proj[i].inc;
    if (s->nproj == s->proj_cap) {
        s->proj_cap = s->proj_cap ? 2 * s->proj_cap : 4;
        void *nv = arena_alloc(&s->a, s->proj_cap * sizeof *s->proj);
        if (s->nproj) memcpy(nv, s->proj, s->nproj * sizeof *s->proj);
        s->proj = nv;
    }
    s->proj[s->nproj].spec = spec;
    s->proj[s->nproj].inc = ice_expr_project_inclusive(s->filter, spec, s->table_schema, &s->a);
    return s->proj[s->nproj++].inc;
}

ice_scan *ice_scan_new(const ice_table *t, const ice_scan_opts *opts, floe_err *err) {
    ice_scan *s = calloc(1, sizeof *s);
    arena_init(&s->a, 16384);
    s->t = t;
    bool found;
    const ice_snapshot *snap = pick_snapshot(t, opts, err, &found);
    if (!snap && found) goto fail;
    s->rep.snapshot_id = snap ? snap->snapshot_id : -1;
    /* time travel by id, time or tag reads with that snapshot's schema; a
     * branch reads with the table's (as Java's SnapshotUtil.schemaFor) */
    s->table_schema = ice_meta_current_schema(&t->meta);
    const ice_ref *tag =
        opts->ref && opts->snapshot_id < 0 && opts->as_of_ms < 0 ? ice_meta_ref(&t->meta, opts->ref) : NULL;
    if (tag && !tag->is_tag) tag = NULL;
    if (snap && snap->schema_id >= 0 && (opts->snapshot_id >= 0 || opts->as_of_ms >= 0 || tag)) {
        const fmt_schema_t *ss = ice_meta_schema(&t->meta, snap->schema_id);
        if (ss) s->table_schema = ss;
    }
    const fmt_schema_t *ts = s->table_schema;
    if (opts->filter && *opts->filter) {
        ice_expr *e;
        if (!ice_expr_parse(opts->filter, &s->a, &e, err) || !ice_expr_bind(e, ts, true, &s->a, &s->filter, err)) {
            floe_err_wrap(err, "filter \"%s\"", opts->filter);
            goto fail;
        }
    }
    /* projection */
    int32_t nt = ts->root.nchildren;
    int32_t *order = arena_zalloc(&s->a, ((size_t)nt + 1) * sizeof *order);
    int32_t nout = 0;
    if (opts->columns && opts->ncolumns) {
        for (size_t k = 0; k < opts->ncolumns; k++) {
            int32_t hit = -1;
            for (int32_t i = 0; i < nt; i++)
                if (!strcmp(ts->root.children[i].name, opts->columns[k])) hit = i;
            if (hit < 0) {
                buf_t names = {0};
                for (int32_t i = 0; i < nt; i++) buf_printf(&names, "%s%s", i ? ", " : "", ts->root.children[i].name);
                floe_err_set(err, FLOE_EINVAL, "table %s.%s has no column '%s' (its columns: %s)", t->ns, t->name,
                             opts->columns[k], names.data ? names.data : "");
                buf_free(&names);
                goto fail;
            }
            order[nout++] = hit;
        }
    } else {
        for (int32_t i = 0; i < nt; i++) order[nout++] = i;
    }
    bool *in_read = arena_zalloc(&s->a, (size_t)nt + 1);
    for (int32_t k = 0; k < nout; k++) in_read[order[k]] = true;
    int32_t fids[256];
    size_t nf = 0;
    collect_ids(s->filter, fids, &nf, 256);
    for (size_t k = 0; k < nf; k++) {
        int32_t c = top_level_of(ts, fids[k]);
        if (c >= 0) in_read[c] = true;
    }
    /* read schema: table order; out schema: projection order */
    s->read_schema = *ts;
    s->read_schema.root.children = arena_zalloc(&s->a, ((size_t)nt + 1) * sizeof(fmt_field_t));
    s->read_schema.root.nchildren = 0;
    int32_t *read_pos = arena_zalloc(&s->a, ((size_t)nt + 1) * sizeof *read_pos);
    for (int32_t i = 0; i < nt; i++)
        if (in_read[i]) {
            read_pos[i] = s->read_schema.root.nchildren;
            s->read_schema.root.children[s->read_schema.root.nchildren++] = ts->root.children[i];
        }
    s->out_schema = *ts;
    s->out_schema.root.children = arena_zalloc(&s->a, ((size_t)nout + 1) * sizeof(fmt_field_t));
    s->out_schema.root.nchildren = nout;
    s->out_cols = arena_zalloc(&s->a, ((size_t)nout + 1) * sizeof *s->out_cols);
    for (int32_t k = 0; k < nout; k++) {
        s->out_schema.root.children[k] = ts->root.children[order[k]];
        s->out_cols[k] = read_pos[order[k]];
    }
    s->view.cols = arena_zalloc(&s->a, ((size_t)nout + 1) * sizeof(fmt_vec_t));
    s->view.ncols = (uint32_t)nout;

    /* planning */
    if (snap) {
        ice_manifest_file *mfs;
        size_t nm;
        if (!ice_read_manifest_list(t, snap, &s->a, &mfs, &nm, err)) goto fail;
        size_t cap = 64;
        s->tasks = arena_alloc(&s->a, cap * sizeof *s->tasks);
        for (size_t i = 0; i < nm; i++) {
            if (mfs[i].content != ICE_CONTENT_DATA) continue;
            /* only deleted entries (a rewrite's leftovers): nothing to read,
             * as Java's hasAddedFiles() || hasExistingFiles() (-1: unknown) */
            if (mfs[i].added_files_count == 0 && mfs[i].existing_files_count == 0) continue;
            s->rep.manifests++;
            const ice_partition_spec *spec = ice_meta_spec(&t->meta, mfs[i].partition_spec_id);
            ice_expr *inc = projected_for(s, spec);
            if (inc && !ice_expr_might_match_manifest(inc, spec, &mfs[i])) {
                s->rep.manifests_skipped++; /* its partition summaries rule every file out */
                continue;
            }
            ice_manifest_entry *es;
            size_t ne;
            if (!ice_read_manifest(t, &mfs[i], &s->a, &es, &ne, err)) goto fail;
            for (size_t j = 0; j < ne; j++) {
                if (es[j].status == ICE_STATUS_DELETED || es[j].file.content != ICE_CONTENT_DATA) continue;
                ice_data_file *f = arena_alloc(&s->a, sizeof *f);
                *f = es[j].file;
                const ice_partition_spec *fs = ice_meta_spec(&t->meta, f->spec_id);
                if (!fs) fs = spec;
                s->rep.files++;
                if (inc && fs == spec && !ice_expr_eval_partition(inc, spec, f->partition)) {
                    s->rep.files_skipped_partition++;
                    continue;
                }
                if (s->filter && !ice_expr_might_match(s->filter, ts, f)) {
                    s->rep.files_skipped_metrics++;
                    continue;
                }
                if (s->ntasks == cap) {
                    ice_file_task *nv = arena_alloc(&s->a, 2 * cap * sizeof *nv);
                    memcpy(nv, s->tasks, s->ntasks * sizeof *nv);
                    s->tasks = nv;
                    cap *= 2;
                }
                ice_file_task *tk = &s->tasks[s->ntasks++];
                tk->file = f;
                tk->spec = fs;
                tk->residual = s->filter && fs ? ice_expr_residual(s->filter, fs, ts, f->partition, &s->a) : NULL;
                if (tk->residual && tk->residual->op == ICE_EX_TRUE) tk->residual = NULL;
            }
        }
    }
    return s;
fail:
    ice_scan_free(s);
    return NULL;
}

const fmt_schema_t *ice_scan_schema(const ice_scan *s) { return &s->out_schema; }

const ice_file_task *ice_scan_tasks(const ice_scan *s, size_t *n) {
    *n = s->ntasks;
    return s->tasks;
}

const ice_scan_report *ice_scan_report_get(const ice_scan *s) { return &s->rep; }

static void close_current(ice_scan *s) {
    if (!s->cur) return;
    const pq_reader_stats *st = ice_file_reader_stats(s->cur);
    s->rep.row_groups += st->row_groups;
    s->rep.row_groups_skipped += st->row_groups_skipped;
    ice_file_reader_close(s->cur);
    s->cur = NULL;
}

bool ice_scan_next(ice_scan *s, fmt_batch_t **out, floe_err *err) {
    for (;;) {
        if (!s->cur) {
            if (s->next_task >= s->ntasks) {
                s->view.nrows = 0;
                *out = &s->view;
                return false;
            }
            s->cur_task = &s->tasks[s->next_task++];
            pq_pred *preds = NULL;
            size_t np = s->cur_task->residual ? ice_expr_to_pq_preds(s->cur_task->residual, &s->a, &preds) : 0;
            s->cur = ice_file_reader_open(s->t, s->cur_task->file, &s->read_schema, preds, np, err);
            if (!s->cur) return false;
        }
        fmt_batch_t *b;
        if (!ice_file_reader_next(s->cur, &b, err)) {
            close_current(s);
            if (err->code) return false;
            continue;
        }
        s->rep.rows_read += b->nrows;
        const fmt_batch_t *src = b;
        if (s->cur_task->residual) {
            if (b->nrows > s->sel_cap) {
                s->sel_cap = b->nrows;
                s->sel = realloc(s->sel, (s->sel_cap + 7) / 8);
                s->rows = realloc(s->rows, s->sel_cap * sizeof *s->rows);
            }
            memset(s->sel, 0, (b->nrows + 7) / 8);
            uint32_t hits = ice_expr_eval_batch(s->cur_task->residual, &s->read_schema, b, s->sel);
            if (hits == 0) continue;
            if (hits < b->nrows) {
                uint32_t n = 0;
                for (uint32_t i = 0; i < b->nrows; i++)
                    if ((s->sel[i >> 3] >> (i & 7)) & 1) s->rows[n++] = i;
                if (!s->take_init) {
                    fmt_batch_init(&s->take, &s->read_schema);
                    s->take_init = true;
                }
                fmt_batch_reset(&s->take);
                fmt_batch_take(&s->take, b, s->rows, n);
                src = &s->take;
            }
        }
        s->rep.rows_matched += src->nrows;
        for (uint32_t k = 0; k < s->view.ncols; k++) s->view.cols[k] = src->cols[s->out_cols[k]];
        s->view.nrows = src->nrows;
        *out = &s->view;
        return true;
    }
}

void ice_scan_free(ice_scan *s) {
    if (!s) return;
    close_current(s);
    if (s->take_init) fmt_batch_free(&s->take);
    free(s->sel);
    free(s->rows);
    arena_free(&s->a);
    free(s);
}
