/*
 * write.c: rows into partitioned Parquet data files (ice_writer).
 *
 * Each batch is split by the partition tuple of the table's default spec:
 * the transforms run over whole columns (ice_transform_apply_i32 where it
 * is vectorised), each row's tuple becomes a short byte key, and rows are
 * grouped by key, with shortcuts for runs of one partition (time-ordered
 * input mostly is): a row whose vectorised values equal the previous row's
 * needs no key, and a key equal to the previous one no lookup. Each
 * partition has its own open Parquet file, under
 * <location>/data/<partition path>/, rolled when it passes the target size.
 * Closing a file turns the Parquet writer's metrics into manifest stats.
 *
 * Files are invisible until a commit lists them; ice_writer_abort deletes
 * them, and remove-orphans catches those of a writer that died.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "iceberg/iceberg.h"

typedef struct part_file {
    /* partition */
    uint8_t *key;
    uint32_t key_len;
    ice_value *tuple;
    const char *dir; /* <location>/data/<path> */
    /* open file (NULL when none) */
    fileio_out *out;
    pq_writer_t *pw;
    const char *path;
    uint64_t rows;
    uint64_t last_row; /* the writer's row count when this file last got rows */
    /* rows of the current batch */
    uint32_t *sel;
    uint32_t nsel, sel_cap;
    fmt_batch_t take;
    bool take_init;
} part_file;

#define ICE_SRC_DEPTH 16

struct ice_writer {
    const ice_table *t;
    const fmt_schema_t *schema;
    const ice_partition_spec *spec;
    ice_write_opts o;
    pq_writer_opts pqo;
    int64_t target;
    arena_t *a; /* results */
    /* spec fields: the source column as a path of child indexes from the
     * batch's columns down through structs (src_col[f] is the top-level
     * index, -1 for void fields), its field, and the result type; leaf is
     * the source vector of the batch being written, with the nulls of its
     * parent structs folded in (vbuf) */
    int32_t nf;
    int32_t *src_col;
    int32_t (*src_path)[ICE_SRC_DEPTH];
    int32_t *src_depth;
    fmt_field_t *rtype;
    fmt_vec_t *leaf;
    uint8_t **vbuf;
    uint32_t vcap;
    /* partitions */
    part_file **parts;
    uint32_t nparts, parts_cap;
    uint32_t *slots; /* open addressing: part index + 1, 0 empty */
    uint32_t nslots;
    /* finished files */
    ice_data_file *files;
    size_t nfiles, files_cap;
    char **paths; /* every file written, for abort */
    size_t npaths, paths_cap;
    uint64_t rows, bytes;
    int32_t *ivals; /* per field, per row */
    uint8_t *inulls;
    uint32_t icap;
    uint32_t file_seq;
    char run_id[37];
};

/* Rows written to other partitions after which an open file is closed. */
#define IDLE_ROWS (1u << 20)

static bool sink_write(void *ctx, const void *p, size_t n, floe_err *err) {
    return fileio_out_write((fileio_out *)ctx, p, n, err);
}

static int64_t prop_i64(const ice_table_meta *m, const char *key, int64_t dflt, floe_err *err, bool *ok) {
    const char *v = ice_meta_property(m, key);
    int64_t x = dflt;
    if (v && !str_to_i64_range(v, 1, INT64_MAX, &x)) {
        floe_err_set(err, FLOE_EINVAL, "table property %s is '%s'; expected a positive integer", key, v);
        *ok = false;
    }
    return x;
}

/* The path of child indexes from the root struct to field id: through
 * structs only (a source inside a list or map sets in_collection). */
static bool source_path(const fmt_field_t *st, int32_t id, int32_t *path, int32_t depth, int32_t *out_depth,
                        const fmt_field_t **out, bool *in_collection) {
    if (depth >= ICE_SRC_DEPTH) return false;
    for (int32_t c = 0; c < st->nchildren; c++) {
        const fmt_field_t *ch = &st->children[c];
        path[depth] = c;
        if (ch->id == id) {
            *out_depth = depth + 1;
            *out = ch;
            return true;
        }
        if (ch->type == FMT_STRUCT && source_path(ch, id, path, depth + 1, out_depth, out, in_collection)) return true;
        if (ch->type == FMT_LIST || ch->type == FMT_MAP) {
            fmt_schema_t sub = {.root = {.type = FMT_STRUCT, .children = (fmt_field_t *)ch, .nchildren = 1}};
            if (fmt_schema_find(&sub, id)) *in_collection = true;
        }
    }
    return false;
}

/* Points w->leaf[f] at the source vector of each spec field in b. A source
 * nested in structs is null where any struct above it is null: the leaf
 * gets a validity bitmap with those nulls folded in. */
static void resolve_sources(ice_writer *w, const fmt_batch_t *b) {
    uint32_t n = b->nrows;
    for (int32_t f = 0; f < w->nf; f++) {
        if (w->src_col[f] < 0) continue;
        const fmt_vec_t *v = &b->cols[w->src_path[f][0]];
        bool parent_nulls = false;
        for (int32_t d = 1; d < w->src_depth[f]; d++) {
            parent_nulls |= v->validity != NULL && v->null_count > 0;
            v = &v->children[w->src_path[f][d]];
        }
        w->leaf[f] = *v;
        if (!parent_nulls) continue;
        if (n > w->vcap) {
            for (int32_t k = 0; k < w->nf; k++) w->vbuf[k] = realloc(w->vbuf[k], (n + 7) / 8);
            w->vcap = n;
        }
        uint8_t *bits = w->vbuf[f];
        uint32_t nulls = 0;
        for (uint32_t i = 0; i < n; i++) {
            const fmt_vec_t *p = &b->cols[w->src_path[f][0]];
            bool valid = fmt_vec_valid(p, i);
            for (int32_t d = 1; d < w->src_depth[f] && valid; d++) {
                p = &p->children[w->src_path[f][d]];
                valid = fmt_vec_valid(p, i);
            }
            if (valid)
                bits[i >> 3] |= (uint8_t)(1u << (i & 7));
            else {
                bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
                nulls++;
            }
        }
        w->leaf[f].validity = bits;
        w->leaf[f].null_count = nulls;
    }
}

ice_writer *ice_writer_new(const ice_table *t, const ice_write_opts *opts, arena_t *a, floe_err *err) {
    const fmt_schema_t *schema = ice_meta_current_schema(&t->meta);
    const ice_partition_spec *spec = ice_meta_spec(&t->meta, t->meta.default_spec_id);
    if (!schema || !spec) {
        floe_err_set(err, FLOE_EINVAL, "table %s.%s: its metadata has no current schema or default spec", t->ns,
                     t->name);
        return NULL;
    }
    ice_writer *w = calloc(1, sizeof *w);
    w->t = t;
    w->schema = schema;
    w->spec = spec;
    w->a = a;
    if (opts) w->o = *opts;
    bool ok = true;
    w->target = w->o.target_file_bytes > 0 ? w->o.target_file_bytes
                                           : prop_i64(&t->meta, "write.target-file-size-bytes", 128ll << 20, err, &ok);
    pq_writer_opts_default(&w->pqo);
    /* The schema in the footer as "iceberg.schema", as Java and PyIceberg
     * write it: readers such as icebird map a renamed column to the file's
     * column through it. */
    json_t *sj = ice_schema_to_json(schema);
    char *stext = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
    json_decref(sj);
    if (stext) {
        pq_kv *kv = arena_alloc(a, sizeof *kv);
        kv->key = "iceberg.schema";
        kv->value = arena_strdup(a, stext);
        free(stext);
        w->pqo.kv = kv;
        w->pqo.nkv = 1;
    }
    int64_t rg = prop_i64(&t->meta, "write.parquet.row-group-size-bytes", 128ll << 20, err, &ok);
    w->pqo.row_group_bytes = (uint64_t)(rg < w->target ? rg : w->target);
    const char *codec = ice_meta_property(&t->meta, "write.parquet.compression-codec");
    if (codec) {
        if (!strcmp(codec, "zstd"))
            w->pqo.codec = PQ_CODEC_ZSTD;
        else if (!strcmp(codec, "snappy"))
            w->pqo.codec = PQ_CODEC_SNAPPY;
        else if (!strcmp(codec, "gzip"))
            w->pqo.codec = PQ_CODEC_GZIP;
        else if (!strcmp(codec, "uncompressed") || !strcmp(codec, "none"))
            w->pqo.codec = PQ_CODEC_UNCOMPRESSED;
        else {
            floe_err_set(err, FLOE_EINVAL,
                         "table property write.parquet.compression-codec is '%s'; expected zstd, snappy, gzip or "
                         "uncompressed",
                         codec);
            ok = false;
        }
    }
    const char *lvl = ice_meta_property(&t->meta, "write.parquet.compression-level");
    int64_t level = 0;
    if (lvl && !str_to_i64_range(lvl, -7, 22, &level)) {
        floe_err_set(err, FLOE_EINVAL, "table property write.parquet.compression-level is '%s'; expected -7..22", lvl);
        ok = false;
    }
    w->pqo.level = (int)level;
    w->pqo.threads = w->o.threads;
    if (!ok) goto fail;

    w->nf = spec->nfields;
    w->src_col = calloc((size_t)w->nf + 1, sizeof *w->src_col);
    w->src_path = calloc((size_t)w->nf + 1, sizeof *w->src_path);
    w->src_depth = calloc((size_t)w->nf + 1, sizeof *w->src_depth);
    w->rtype = calloc((size_t)w->nf + 1, sizeof *w->rtype);
    w->leaf = calloc((size_t)w->nf + 1, sizeof *w->leaf);
    w->vbuf = calloc((size_t)w->nf + 1, sizeof *w->vbuf);
    for (int32_t f = 0; f < w->nf; f++) {
        const ice_partition_field *pf = &spec->fields[f];
        w->src_col[f] = -1;
        if (pf->transform.kind == ICE_TR_VOID) continue;
        const fmt_field_t *src = NULL;
        bool in_collection = false;
        if (!source_path(&schema->root, pf->source_id, w->src_path[f], 0, &w->src_depth[f], &src, &in_collection)) {
            if (in_collection)
                floe_err_set(err, FLOE_EINVAL,
                             "partition field %s: its source column (id %d) is inside a list or a map; a partition "
                             "source may be nested in structs only (Iceberg spec)",
                             pf->name, pf->source_id);
            else
                floe_err_set(err, FLOE_EINVAL,
                             "partition field %s: its source column (id %d) is not in the current schema; drop the "
                             "partition field (floe table evolve NS.T drop-partition %s)",
                             pf->name, pf->source_id, pf->name);
            goto fail;
        }
        w->src_col[f] = w->src_path[f][0];
        if (!ice_transform_result_type(&pf->transform, src, &w->rtype[f], err)) {
            floe_err_wrap(err, "partition field %s", pf->name);
            goto fail;
        }
    }
    str_uuid4(w->run_id);
    w->nslots = 64;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    return w;
fail:
    ice_writer_free(w);
    return NULL;
}

static uint64_t key_hash(const uint8_t *p, uint32_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static part_file *part_get(ice_writer *w, const uint8_t *key, uint32_t klen, const ice_value *tuple) {
    uint64_t h = key_hash(key, klen);
    uint32_t mask = w->nslots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = w->slots[i];
        if (!s) break;
        part_file *p = w->parts[s - 1];
        if (p->key_len == klen && !memcmp(p->key, key, klen)) return p;
    }
    /* new partition */
    part_file *p = calloc(1, sizeof *p);
    p->key = arena_alloc(w->a, klen ? klen : 1);
    memcpy(p->key, key, klen);
    p->key_len = klen;
    p->tuple = arena_zalloc(w->a, ((size_t)w->nf + 1) * sizeof *p->tuple);
    for (int32_t f = 0; f < w->nf; f++) {
        p->tuple[f] = tuple[f];
        if (tuple[f].bytes && tuple[f].len) {
            uint8_t *b = arena_alloc(w->a, tuple[f].len);
            memcpy(b, tuple[f].bytes, tuple[f].len);
            p->tuple[f].bytes = b;
        }
    }
    buf_t path = {0};
    buf_printf(&path, "%s/data", w->t->meta.location);
    if (w->nf > 0 && !ice_partition_spec_is_unpartitioned(w->spec)) {
        buf_putc(&path, '/');
        ice_partition_path(w->spec, w->schema, p->tuple, &path);
    }
    p->dir = arena_strndup(w->a, path.data, path.len);
    buf_free(&path);
    if (w->nparts == w->parts_cap) {
        w->parts_cap = w->parts_cap ? w->parts_cap * 2 : 16;
        w->parts = realloc(w->parts, w->parts_cap * sizeof *w->parts);
    }
    w->parts[w->nparts++] = p;
    if (w->nparts * 2 > w->nslots) { /* rehash */
        free(w->slots);
        w->nslots *= 2;
        w->slots = calloc(w->nslots, sizeof *w->slots);
        for (uint32_t k = 0; k < w->nparts; k++) {
            part_file *q = w->parts[k];
            uint32_t m = w->nslots - 1, i = (uint32_t)key_hash(q->key, q->key_len) & m;
            while (w->slots[i]) i = (i + 1) & m;
            w->slots[i] = k + 1;
        }
    } else {
        uint32_t i = (uint32_t)h & mask;
        while (w->slots[i]) i = (i + 1) & mask;
        w->slots[i] = w->nparts;
    }
    return p;
}

static bool file_open(ice_writer *w, part_file *p, floe_err *err) {
    p->path = arena_sprintf(w->a, "%s/%05u-%s.parquet", p->dir, w->file_seq++, w->run_id);
    p->out = fileio_out_create(w->t->cat->io, p->path, err);
    if (!p->out) return floe_err_wrap(err, "creating data file %s", p->path);
    fileio_out_defer(p->out); /* durable when the catalog commit syncs, before it points at the file */
    if (w->npaths == w->paths_cap) {
        w->paths_cap = w->paths_cap ? w->paths_cap * 2 : 16;
        w->paths = realloc(w->paths, w->paths_cap * sizeof *w->paths);
    }
    w->paths[w->npaths++] = strdup(p->path);
    p->pw = pq_writer_new(w->schema, &w->pqo, (pq_sink){.write = sink_write, .ctx = p->out}, err);
    if (!p->pw) {
        fileio_out_abort(p->out);
        p->out = NULL;
        return floe_err_wrap(err, "writing data file %s", p->path);
    }
    p->rows = 0;
    return true;
}

static bool file_close(ice_writer *w, part_file *p, floe_err *err) {
    if (!p->pw) return true;
    pq_file_metrics pm;
    bool ok = pq_writer_close(p->pw, &pm, w->a, err);
    pq_writer_free(p->pw);
    p->pw = NULL;
    if (!ok) {
        fileio_out_abort(p->out);
        p->out = NULL;
        return floe_err_wrap(err, "writing data file %s", p->path);
    }
    uint64_t size = fileio_out_size(p->out);
    ok = fileio_out_close(p->out, err);
    p->out = NULL;
    if (!ok) return floe_err_wrap(err, "writing data file %s", p->path);
    if (w->nfiles == w->files_cap) {
        w->files_cap = w->files_cap ? w->files_cap * 2 : 16;
        ice_data_file *nv = arena_zalloc(w->a, w->files_cap * sizeof *nv);
        if (w->nfiles) memcpy(nv, w->files, w->nfiles * sizeof *nv);
        w->files = nv;
    }
    ice_data_file *f = &w->files[w->nfiles];
    memset(f, 0, sizeof *f);
    if (!ice_metrics_from_parquet(w->schema, &pm, &w->t->meta, w->a, f, err))
        return floe_err_wrap(err, "metrics of data file %s", p->path);
    f->content = ICE_CONTENT_DATA;
    f->file_path = p->path;
    f->file_format = "PARQUET";
    f->spec_id = w->spec->spec_id;
    f->partition = p->tuple;
    f->npartition = w->nf;
    f->record_count = pm.row_count;
    f->file_size_in_bytes = (int64_t)size;
    f->split_offsets = pm.split_offsets;
    f->nsplit_offsets = (int32_t)pm.nsplits;
    f->sort_order_id = w->t->meta.default_sort_order_id;
    w->nfiles++;
    w->bytes += size;
    return true;
}

static bool has_dict(const fmt_vec_t *v) {
    if (v->dict) return true;
    for (uint32_t i = 0; i < v->nchildren; i++)
        if (has_dict(&v->children[i])) return true;
    return false;
}

static bool part_write(ice_writer *w, part_file *p, const fmt_batch_t *b, bool whole, floe_err *err) {
    if (!p->pw && !file_open(w, p, err)) return false;
    bool ok;
    uint32_t n = whole ? b->nrows : p->nsel;
    if (whole) {
        ok = pq_writer_write(p->pw, b, err);
    } else {
        if (!p->take_init) {
            fmt_batch_init(&p->take, w->schema);
            p->take_init = true;
        }
        fmt_batch_reset(&p->take);
        fmt_batch_take(&p->take, b, p->sel, p->nsel);
        ok = pq_writer_write(p->pw, &p->take, err);
    }
    if (!ok) return floe_err_wrap(err, "writing data file %s", p->path);
    p->rows += n;
    w->rows += n;
    p->last_row = w->rows;
    if ((int64_t)fileio_out_size(p->out) >= w->target) return file_close(w, p, err);
    return true;
}

/* The key of row i: per field, a null byte and the value (4 bytes for
 * vectorised int results, else the single-value binary form with a
 * length). tuple gets the values. */
static void row_key(ice_writer *w, const fmt_batch_t *b, uint32_t i, bool *vec, buf_t *key, ice_value *tuple,
                    buf_t *scratch) {
    for (int32_t f = 0; f < w->nf; f++) {
        const ice_partition_field *pf = &w->spec->fields[f];
        ice_value *tv = &tuple[f];
        memset(tv, 0, sizeof *tv);
        ice_value_set_type(tv, &w->rtype[f]);
        if (pf->transform.kind == ICE_TR_VOID || w->src_col[f] < 0) {
            tv->is_null = true;
            buf_putc(key, 0);
            continue;
        }
        if (vec[f]) {
            bool null = w->inulls[(size_t)f * w->icap + i] != 0;
            tv->is_null = null;
            tv->v.i64 = w->ivals[(size_t)f * w->icap + i];
            buf_putc(key, null ? 0 : 1);
            if (!null) buf_append(key, &w->ivals[(size_t)f * w->icap + i], 4);
            continue;
        }
        ice_value src;
        ice_value_from_vec(&w->leaf[f], i, &src);
        ice_transform_apply(&pf->transform, &src, tv);
        buf_putc(key, tv->is_null ? 0 : 1);
        if (!tv->is_null) {
            buf_reset(scratch);
            ice_value_to_binary(tv, scratch);
            uint32_t l = (uint32_t)scratch->len;
            buf_append(key, &l, 4);
            buf_append(key, scratch->data, scratch->len);
        }
    }
}

/* Whether rows i and j have the same vectorised partition values. */
static bool same_ints(const ice_writer *w, const bool *vec, uint32_t i, uint32_t j) {
    for (int32_t f = 0; f < w->nf; f++) {
        if (!vec[f]) continue;
        const int32_t *v = w->ivals + (size_t)f * w->icap;
        const uint8_t *nl = w->inulls + (size_t)f * w->icap;
        if (nl[i] != nl[j] || (!nl[i] && v[i] != v[j])) return false;
    }
    return true;
}

bool ice_writer_write(ice_writer *w, const fmt_batch_t *b, floe_err *err) {
    uint32_t n = b->nrows;
    if (n == 0) return true;
    if (b->ncols != (uint32_t)w->schema->root.nchildren)
        return floe_err_set(err, FLOE_EINVAL, "a batch of %u columns for a table of %d", b->ncols,
                            w->schema->root.nchildren);
    /* the spec's columns, vectorised where possible */
    bool vec[64] = {0};
    if (w->nf > 64) return floe_err_set(err, FLOE_EINVAL, "more than 64 partition fields");
    if (n > w->icap) {
        w->icap = n;
        w->ivals = realloc(w->ivals, (size_t)(w->nf ? w->nf : 1) * n * sizeof *w->ivals);
        w->inulls = realloc(w->inulls, (size_t)(w->nf ? w->nf : 1) * n);
    }
    resolve_sources(w, b);
    for (int32_t f = 0; f < w->nf; f++) {
        if (w->spec->fields[f].transform.kind == ICE_TR_VOID || w->src_col[f] < 0) continue;
        vec[f] = ice_transform_apply_i32(&w->spec->fields[f].transform, &w->leaf[f], w->ivals + (size_t)f * w->icap,
                                         w->inulls + (size_t)f * w->icap);
    }
    bool dict = false;
    for (uint32_t c = 0; c < b->ncols; c++) dict |= has_dict(&b->cols[c]);
    /* every field's value an int of the vectorised transforms: a row whose
     * values equal the previous row's is in its partition, with no key */
    bool all_vec = true;
    for (int32_t f = 0; f < w->nf; f++)
        if (!vec[f] && w->spec->fields[f].transform.kind != ICE_TR_VOID && w->src_col[f] >= 0) all_vec = false;

    ice_value tuple[64];
    buf_t key = {0}, scratch = {0};
    part_file *last = NULL, *only = NULL;
    bool mixed = false;
    uint32_t last_len = 0;
    uint8_t last_key[512];
    for (uint32_t i = 0; i < n; i++) {
        part_file *p = last; /* last: the partition of row i - 1, or NULL */
        bool same = all_vec && last && i > 0 && same_ints(w, vec, i - 1, i);
        if (!same) {
            buf_reset(&key);
            row_key(w, b, i, vec, &key, tuple, &scratch);
            same = last && key.len == last_len && !memcmp(key.data ? key.data : "", last_key, key.len);
        }
        if (!same) {
            p = part_get(w, (const uint8_t *)(key.data ? key.data : ""), (uint32_t)key.len, tuple);
            last = p;
            last_len = key.len <= sizeof last_key ? (uint32_t)key.len : 0;
            if (key.len <= sizeof last_key)
                memcpy(last_key, key.data ? key.data : "", key.len);
            else
                last = NULL;
        }
        if (!only)
            only = p;
        else if (p != only)
            mixed = true;
        if (p->nsel == p->sel_cap) {
            p->sel_cap = p->sel_cap ? p->sel_cap * 2 : 256;
            p->sel = realloc(p->sel, p->sel_cap * sizeof *p->sel);
        }
        p->sel[p->nsel++] = i;
    }
    buf_free(&key);
    buf_free(&scratch);
    bool ok = true;
    if (!mixed && !dict) {
        ok = part_write(w, only, b, true, err);
        only->nsel = 0;
    } else {
        for (uint32_t k = 0; k < w->nparts && ok; k++) {
            part_file *p = w->parts[k];
            if (!p->nsel) continue;
            ok = part_write(w, p, b, false, err);
            p->nsel = 0;
        }
        for (uint32_t k = 0; k < w->nparts; k++) w->parts[k]->nsel = 0;
    }
    /* Input in partition order (time-ordered rows and a time partition)
     * leaves a trail of partitions that get no more rows; each open file
     * holds its row group in memory, so close the files that have had none
     * for a while. A partition that does get rows again opens a new file. */
    for (uint32_t k = 0; ok && k < w->nparts; k++) {
        part_file *p = w->parts[k];
        if (!p->pw || w->rows - p->last_row <= IDLE_ROWS) continue;
        ok = file_close(w, p, err);
        if (p->take_init) { /* and its copy of the rows */
            fmt_batch_free(&p->take);
            p->take_init = false;
        }
        free(p->sel);
        p->sel = NULL;
        p->sel_cap = 0;
    }
    if (ok && w->o.progress) w->o.progress(w->o.progress_arg, w->rows, w->bytes);
    return ok;
}

bool ice_writer_close(ice_writer *w, ice_data_file **files, size_t *n, floe_err *err) {
    for (uint32_t k = 0; k < w->nparts; k++)
        if (!file_close(w, w->parts[k], err)) return false;
    *files = w->files;
    *n = w->nfiles;
    return true;
}

void ice_writer_abort(ice_writer *w) {
    if (!w) return;
    for (uint32_t k = 0; k < w->nparts; k++) {
        part_file *p = w->parts[k];
        if (p->pw) pq_writer_free(p->pw);
        p->pw = NULL;
        if (p->out) fileio_out_abort(p->out);
        p->out = NULL;
    }
    for (size_t i = 0; i < w->npaths; i++) {
        floe_err e;
        if (!fileio_delete(w->t->cat->io, w->paths[i], &e)) log_warn("iceberg", "abort: %s", e.msg);
    }
    ice_writer_free(w);
}

void ice_writer_free(ice_writer *w) {
    if (!w) return;
    for (uint32_t k = 0; k < w->nparts; k++) {
        part_file *p = w->parts[k];
        if (p->pw) pq_writer_free(p->pw);
        if (p->out) fileio_out_abort(p->out);
        if (p->take_init) fmt_batch_free(&p->take);
        free(p->sel);
        free(p);
    }
    for (size_t i = 0; i < w->npaths; i++) free(w->paths[i]);
    free(w->paths);
    free(w->parts);
    free(w->slots);
    free(w->src_col);
    free(w->src_path);
    free(w->src_depth);
    free(w->leaf);
    if (w->vbuf)
        for (int32_t f = 0; f < w->nf; f++) free(w->vbuf[f]);
    free(w->vbuf);
    free(w->rtype);
    free(w->ivals);
    free(w->inulls);
    free(w);
}
