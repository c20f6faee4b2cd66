/*
 * writer.c: the streaming Parquet writer.
 *
 * Each leaf column has a column writer. Batches are shredded into
 * definition levels, repetition levels and values (a flat column takes its
 * levels straight from the validity bitmap; nested columns walk the Dremel
 * way, row by row). Values go into a dictionary while it pays; once the
 * dictionary passes dict_max_bytes (or the first page shows it does not
 * beat PLAIN) the column continues in PLAIN, or DELTA_BINARY_PACKED for
 * integers when that is smaller. Pages close at page_bytes or page_rows, on
 * row boundaries; their compressed bytes wait in memory until the row group
 * closes, because the dictionary page must come first in the chunk. The
 * column and offset indexes wait until the footer.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/fs.h"
#include "format/parquet/pq_int.h"

#ifndef FLOE_VERSION
#define FLOE_VERSION "dev"
#endif

#define MAX_DEPTH 32

typedef struct page_loc {
    int64_t offset; /* within the chunk buffer; made absolute at flush */
    int32_t size;
    int64_t first_row;
    bool null_page;
    int64_t null_count;
    uint32_t min_off, min_len, max_off, max_len; /* in col->page_bounds */
} page_loc;

typedef struct bounds {
    bool has;
    uint8_t min[16], max[16]; /* fixed-width values */
    buf_t bmin, bmax;         /* byte arrays */
} bounds;

typedef struct col_writer {
    const fmt_field_t *field;
    const fmt_field_t *path[MAX_DEPTH]; /* top-level field .. leaf */
    int child[MAX_DEPTH];               /* child index taken below path[d] */
    int16_t rep_at[MAX_DEPTH];          /* repetition level of a list/map at path[d] */
    int depth;                          /* number of path entries */
    bool flat;                          /* top-level primitive */
    int32_t phys, type_len;
    int width; /* bytes per value in vectors (0 for byte arrays) */
    int16_t max_def, max_rep;
    int sort; /* how to compare: 0 signed int, 1 float, 2 double, 3 unsigned bytes, 4 signed BE bytes, 5 bool */

    /* the open page */
    uint8_t *defs, *reps;
    uint32_t nlevels, levels_cap;
    buf_t plain;   /* PLAIN-encoded values (when not using the dictionary) */
    uint32_t *idx; /* dictionary indices */
    uint32_t nidx, idx_cap;
    uint32_t page_nonnull, page_nulls, page_rows;
    int64_t page_first_row;
    bounds page_b;
    int64_t page_nan;

    /* dictionary */
    bool dict_on, dict_tried;
    buf_t dict;     /* PLAIN-encoded entries (the dictionary page) */
    uint32_t *doff; /* entry i: value bytes at dict.data + doff[i], dlen[i] long */
    uint32_t *dlen;
    uint32_t ndict, dict_cap;
    uint32_t *slots; /* open addressing: index + 1, 0 = empty */
    uint32_t nslots;
    uint32_t *dseen;  /* entry i: the page whose bounds have it (page_no), so bounds see each entry once per page */
    uint32_t page_no; /* pages flushed so far, plus 1 */

    /* the open chunk */
    buf_t chunk; /* data pages, compressed, with headers */
    int64_t chunk_uncompressed;
    int64_t chunk_body_bytes; /* page bodies before compression: the row group size estimate */
    int64_t chunk_values, chunk_nulls, chunk_nan;
    bool chunk_dict_pages, chunk_plain_pages, chunk_delta_pages;
    bounds chunk_b;
    page_loc *pages;
    uint32_t npages, pages_cap;
    buf_t page_bounds;

    /* bloom filter */
    bool bloom;
    uint64_t *bh;
    uint32_t nbh, bh_cap;
    uint64_t *bset; /* dedupe table */
    uint32_t nbset;

    /* file-level metrics */
    int64_t m_size, m_values, m_nulls, m_nan;
    bounds m_b;
} col_writer;

typedef struct chunk_index {
    uint32_t col;
    buf_t ci, oi;
} chunk_index;

/* A page between encoding and its place in the chunk: the body waits to be
 * compressed (by a worker, or by the writer's thread), then the header and
 * compressed bytes join the chunk, pages in the order they closed. */
typedef struct page_job {
    col_writer *c;
    buf_t body, comp;
    int32_t encoding;
    int32_t nvalues;
    int64_t first_row, nulls, nan;
    bool has_bounds;
    uint32_t min_off, min_len, max_off, max_len; /* in c->page_bounds */
    int state;                                   /* JOB_* */
    bool ok;
    floe_err err;
} page_job;

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

#define PQ_WRITER_MAX_THREADS 64

struct pq_writer {
    pq_writer_opts o;
    const fmt_schema_t *schema;
    pq_sink sink;
    arena_t arena;
    pq_file_meta meta;
    uint32_t nschema_cap;
    col_writer *cols;
    uint32_t ncols;
    int64_t offset; /* bytes written so far */
    int64_t rg_rows, total_rows;
    pq_row_group *rgs;
    uint32_t nrgs, rgs_cap;
    chunk_index *indexes; /* per row group × column */
    uint32_t nindexes, indexes_cap;
    buf_t scratch, scratch2, comp;
    bool failed;
    /* page jobs: a ring; [head, tail) are open, head the oldest */
    page_job *jobs;
    uint32_t njobs;
    uint64_t head, tail;
    /* compression workers (threads > 1) */
    pthread_t *workers;
    uint32_t nworkers;
    bool threaded, stop;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
};

static bool jobs_start(pq_writer_t *w, floe_err *err);
static void jobs_stop(pq_writer_t *w);

static void *xrealloc(void *p, size_t n) {
    void *r = realloc(p, n ? n : 1);
    if (!r) abort();
    return r;
}

void pq_writer_opts_default(pq_writer_opts *o) {
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_ZSTD;
    o->row_group_bytes = 128u << 20;
    o->page_bytes = 1u << 20;
    o->page_rows = 20000;
    o->dict_max_bytes = 1u << 20;
    o->dictionary = true;
    o->bloom_fpp = 0.01;
}

/* ---- sinks ---- */

static bool fd_write(void *ctx, const void *p, size_t n, floe_err *err) {
    if (!fs_write_full((int)(intptr_t)ctx, p, n)) return floe_err_errno(err, errno, "writing parquet output");
    return true;
}

pq_sink pq_sink_fd(int fd) { return (pq_sink){fd_write, (void *)(intptr_t)fd}; }

/* ---- schema ---- */

static pq_schema_elem *add_elem(pq_writer_t *w) {
    if (w->meta.nschema == w->nschema_cap) {
        w->nschema_cap = w->nschema_cap ? w->nschema_cap * 2 : 32;
        w->meta.schema = xrealloc(w->meta.schema, w->nschema_cap * sizeof *w->meta.schema);
    }
    pq_schema_elem *e = &w->meta.schema[w->meta.nschema++];
    memset(e, 0, sizeof *e);
    e->type = e->type_length = e->converted = -1;
    return e;
}

static int decimal_bytes(int precision) {
    /* smallest n with 2^(8n-1) > 10^precision */
    for (int n = 1; n <= 16; n++)
        if ((8 * n - 1) * log10(2.0) >= precision) return n;
    return 16;
}

static void set_primitive(pq_schema_elem *e, const fmt_field_t *f) {
    switch (f->type) {
    case FMT_BOOLEAN: e->type = PQ_BOOLEAN; break;
    case FMT_INT: e->type = PQ_INT32; break;
    case FMT_LONG: e->type = PQ_INT64; break;
    case FMT_FLOAT: e->type = PQ_FLOAT; break;
    case FMT_DOUBLE: e->type = PQ_DOUBLE; break;
    case FMT_DECIMAL:
        e->type = f->precision <= 9 ? PQ_INT32 : f->precision <= 18 ? PQ_INT64 : PQ_FIXED_LEN_BYTE_ARRAY;
        if (e->type == PQ_FIXED_LEN_BYTE_ARRAY) e->type_length = decimal_bytes(f->precision);
        e->converted = PQ_CT_DECIMAL;
        e->scale = f->scale;
        e->precision = f->precision;
        e->logical.kind = PQ_LT_DECIMAL;
        e->logical.scale = f->scale;
        e->logical.precision = f->precision;
        break;
    case FMT_DATE:
        e->type = PQ_INT32;
        e->converted = PQ_CT_DATE;
        e->logical.kind = PQ_LT_DATE;
        break;
    case FMT_TIME:
        e->type = PQ_INT64;
        e->converted = PQ_CT_TIME_MICROS;
        e->logical.kind = PQ_LT_TIME;
        e->logical.unit = PQ_UNIT_MICROS;
        break;
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
        e->type = PQ_INT64;
        e->converted = PQ_CT_TIMESTAMP_MICROS;
        e->logical.kind = PQ_LT_TIMESTAMP;
        e->logical.unit = PQ_UNIT_MICROS;
        e->logical.utc = f->type == FMT_TIMESTAMPTZ;
        break;
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
        e->type = PQ_INT64;
        e->logical.kind = PQ_LT_TIMESTAMP;
        e->logical.unit = PQ_UNIT_NANOS;
        e->logical.utc = f->type == FMT_TIMESTAMPTZ_NS;
        break;
    case FMT_STRING:
        e->type = PQ_BYTE_ARRAY;
        e->converted = PQ_CT_UTF8;
        e->logical.kind = PQ_LT_STRING;
        break;
    case FMT_BINARY: e->type = PQ_BYTE_ARRAY; break;
    case FMT_UUID:
        e->type = PQ_FIXED_LEN_BYTE_ARRAY;
        e->type_length = 16;
        e->logical.kind = PQ_LT_UUID;
        break;
    case FMT_FIXED:
        e->type = PQ_FIXED_LEN_BYTE_ARRAY;
        e->type_length = f->length;
        break;
    default: break;
    }
}

static void add_leaf(pq_writer_t *w, col_writer *c, const pq_schema_elem *e, int16_t def, int16_t rep) {
    const fmt_field_t *f = c->path[c->depth - 1];
    c->field = f;
    c->flat = c->depth == 1;
    c->phys = e->type;
    c->type_len = e->type_length;
    c->width = fmt_type_width(f);
    c->max_def = def;
    c->max_rep = rep;
    switch (f->type) {
    case FMT_FLOAT: c->sort = 1; break;
    case FMT_DOUBLE: c->sort = 2; break;
    case FMT_BOOLEAN: c->sort = 5; break;
    case FMT_STRING:
    case FMT_BINARY:
    case FMT_UUID:
    case FMT_FIXED: c->sort = 3; break;
    case FMT_DECIMAL: c->sort = e->type == PQ_FIXED_LEN_BYTE_ARRAY ? 4 : 0; break;
    default: c->sort = 0;
    }
    c->dict_on = w->o.dictionary && f->type != FMT_BOOLEAN;
    c->page_no = 1;
    for (uint32_t i = 0; i < w->o.nbloom; i++)
        if (w->o.bloom_ids[i] == f->id && f->type != FMT_BOOLEAN) c->bloom = true;
}

/* Appends schema elements for f (and below) and a column writer per leaf.
 * path holds the fields above; def and rep are the levels above f. */
static void build(pq_writer_t *w, const fmt_field_t *f, const char *name, bool has_id, col_writer *proto, int16_t def,
                  int16_t rep) {
    pq_schema_elem *e = add_elem(w);
    e->name = name;
    e->repetition = f->required ? PQ_REQUIRED : PQ_OPTIONAL;
    e->field_id = f->id;
    e->has_field_id = has_id;
    if (!f->required) def++;
    col_writer c = *proto;
    c.path[c.depth++] = f;
    if (fmt_type_is_primitive(f->type)) {
        set_primitive(e, f);
        w->cols = xrealloc(w->cols, (w->ncols + 1) * sizeof *w->cols);
        add_leaf(w, &c, e, def, rep);
        w->cols[w->ncols++] = c;
        return;
    }
    if (f->type == FMT_STRUCT) {
        e->num_children = f->nchildren;
        for (int32_t i = 0; i < f->nchildren; i++) {
            c.child[c.depth - 1] = i;
            build(w, &f->children[i], f->children[i].name, true, &c, def, rep);
        }
        return;
    }
    /* list: <rep> group (LIST) { repeated group list { element } }
     * map:  <rep> group (MAP) { repeated group key_value { key; value } } */
    bool is_list = f->type == FMT_LIST;
    e->num_children = 1;
    e->converted = is_list ? PQ_CT_LIST : PQ_CT_MAP;
    e->logical.kind = is_list ? PQ_LT_LIST : PQ_LT_MAP;
    pq_schema_elem *g = add_elem(w);
    g->name = is_list ? "list" : "key_value";
    g->repetition = PQ_REPEATED;
    g->num_children = is_list ? 1 : 2;
    c.rep_at[c.depth - 1] = (int16_t)(rep + 1);
    for (int32_t i = 0; i < f->nchildren; i++) {
        c.child[c.depth - 1] = i;
        build(w, &f->children[i],
              is_list  ? "element"
              : i == 0 ? "key"
                       : "value",
              true, &c, (int16_t)(def + 1), (int16_t)(rep + 1));
    }
}

pq_writer_t *pq_writer_new(const fmt_schema_t *schema, const pq_writer_opts *opts, pq_sink sink, floe_err *err) {
    if (schema->root.nchildren == 0) {
        floe_err_set(err, FLOE_EINVAL, "parquet writer: the schema has no columns");
        return NULL;
    }
    pq_writer_t *w = calloc(1, sizeof *w);
    if (!w) abort();
    if (opts)
        w->o = *opts;
    else
        pq_writer_opts_default(&w->o);
    if (!w->o.page_bytes) w->o.page_bytes = 1u << 20;
    if (!w->o.page_rows) w->o.page_rows = 20000;
    if (!w->o.row_group_bytes) w->o.row_group_bytes = 128u << 20;
    if (!w->o.dict_max_bytes) w->o.dict_max_bytes = 1u << 20;
    if (w->o.bloom_fpp <= 0 || w->o.bloom_fpp >= 1) w->o.bloom_fpp = 0.01;
    w->schema = schema;
    w->sink = sink;
    arena_init(&w->arena, 16384);
    w->meta.version = 2;
    pq_schema_elem *root = add_elem(w);
    root->name = "schema";
    root->repetition = -1;
    root->num_children = schema->root.nchildren;
    col_writer proto;
    memset(&proto, 0, sizeof proto);
    for (int32_t i = 0; i < schema->root.nchildren; i++) {
        const fmt_field_t *f = &schema->root.children[i];
        build(w, f, f->name, true, &proto, 0, 0);
    }
    for (uint32_t i = 0; i < w->ncols; i++)
        if (w->cols[i].depth >= MAX_DEPTH) {
            floe_err_set(err, FLOE_EINVAL, "parquet writer: nesting deeper than %d levels", MAX_DEPTH - 1);
            pq_writer_free(w);
            return NULL;
        }
    w->meta.created_by = w->o.created_by ? w->o.created_by : "floe version " FLOE_VERSION;
    w->meta.has_column_orders = true;
    if (!jobs_start(w, err) || !w->sink.write(w->sink.ctx, "PAR1", 4, err)) {
        pq_writer_free(w);
        return NULL;
    }
    w->offset = 4;
    return w;
}

/* ---- value comparison and statistics ---- */

static int cmp_vals(const col_writer *c, const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn) {
    switch (c->sort) {
    case 0:
        if (c->width == 4 || c->phys == PQ_INT32) {
            int32_t x, y;
            memcpy(&x, a, 4);
            memcpy(&y, b, 4);
            return x < y ? -1 : x > y;
        } else {
            int64_t x, y;
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            return x < y ? -1 : x > y;
        }
    case 1: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x < y ? -1 : x > y;
    }
    case 2: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x < y ? -1 : x > y;
    }
    case 5: return (int)a[0] - (int)b[0];
    case 4: { /* signed big-endian two's complement, equal widths */
        if ((a[0] ^ b[0]) & 0x80) return (a[0] & 0x80) ? -1 : 1;
        int r = memcmp(a, b, an < bn ? an : bn);
        return r;
    }
    default: {
        int r = memcmp(a, b, an < bn ? an : bn);
        return r ? r : (an < bn ? -1 : an > bn);
    }
    }
}

static bool is_var(const col_writer *c) { return c->phys == PQ_BYTE_ARRAY; }

/* Plain statistics width of a fixed-size value. */
static uint32_t stat_width(const col_writer *c) {
    switch (c->phys) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_FIXED_LEN_BYTE_ARRAY: return (uint32_t)c->type_len;
    default: return 0;
    }
}

static void bounds_update(const col_writer *c, bounds *b, const uint8_t *min, uint32_t minn, const uint8_t *max,
                          uint32_t maxn) {
    if (!b->has) {
        b->has = true;
        if (is_var(c) || c->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
            buf_reset(&b->bmin);
            buf_append(&b->bmin, min, minn);
            buf_reset(&b->bmax);
            buf_append(&b->bmax, max, maxn);
        } else {
            memcpy(b->min, min, minn);
            memcpy(b->max, max, maxn);
        }
        return;
    }
    if (is_var(c) || c->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
        if (cmp_vals(c, min, minn, (uint8_t *)b->bmin.data, (uint32_t)b->bmin.len) < 0) {
            buf_reset(&b->bmin);
            buf_append(&b->bmin, min, minn);
        }
        if (cmp_vals(c, max, maxn, (uint8_t *)b->bmax.data, (uint32_t)b->bmax.len) > 0) {
            buf_reset(&b->bmax);
            buf_append(&b->bmax, max, maxn);
        }
    } else {
        if (cmp_vals(c, min, minn, b->min, minn) < 0) memcpy(b->min, min, minn);
        if (cmp_vals(c, max, maxn, b->max, maxn) > 0) memcpy(b->max, max, maxn);
    }
}

static void bounds_merge(const col_writer *c, bounds *into, const bounds *from) {
    if (!from->has) return;
    if (is_var(c) || c->phys == PQ_FIXED_LEN_BYTE_ARRAY)
        bounds_update(c, into, (const uint8_t *)from->bmin.data, (uint32_t)from->bmin.len,
                      (const uint8_t *)from->bmax.data, (uint32_t)from->bmax.len);
    else
        bounds_update(c, into, from->min, stat_width(c), from->max, stat_width(c));
}

static void bounds_view(const col_writer *c, const bounds *b, const uint8_t **min, uint32_t *minn, const uint8_t **max,
                        uint32_t *maxn) {
    if (is_var(c) || c->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
        *min = (const uint8_t *)b->bmin.data, *minn = (uint32_t)b->bmin.len;
        *max = (const uint8_t *)b->bmax.data, *maxn = (uint32_t)b->bmax.len;
    } else {
        *min = b->min, *max = b->max;
        *minn = *maxn = stat_width(c);
    }
}

static void bounds_free(bounds *b) {
    buf_free(&b->bmin);
    buf_free(&b->bmax);
}

/* ---- converting one vector value into its Parquet plain bytes ---- */

/* Fills out (>= 16 bytes) with the plain bytes of a numeric value (decimals
 * in FIXED become big-endian) and returns their count. */
static uint32_t fixed_value(const col_writer *c, const fmt_vec_t *v, uint32_t i, uint8_t *out) {
    const uint8_t *src = (const uint8_t *)v->values + (size_t)i * (size_t)c->width;
    if (c->phys == PQ_FIXED_LEN_BYTE_ARRAY && c->field->type == FMT_DECIMAL) {
        /* __int128 to big-endian two's complement of type_len bytes */
        __int128 x;
        memcpy(&x, src, 16);
        for (int k = c->type_len - 1; k >= 0; k--) {
            out[k] = (uint8_t)(x & 0xff);
            x >>= 8;
        }
        return (uint32_t)c->type_len;
    }
    uint32_t n = stat_width(c);
    memcpy(out, src, n);
    return n;
}

/* ---- dictionary ---- */

/* Values of up to 8 bytes hash as one integer (the murmur3 finalizer), the
 * rest with xxhash. */
static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t load_small(const uint8_t *p, uint32_t n) {
    uint64_t x = 0;
    memcpy(&x, p, n);
    return x;
}

static uint64_t dict_hash(const col_writer *c, const uint8_t *p, uint32_t n) {
    if (!is_var(c) && n <= 8) return hash_u64(load_small(p, n));
    return XXH3_64bits(p, n);
}

static void dict_rehash(col_writer *c) {
    uint32_t ns = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *s = calloc(ns, sizeof *s);
    if (!s) abort();
    for (uint32_t i = 0; i < c->ndict; i++) {
        uint64_t h = dict_hash(c, (const uint8_t *)c->dict.data + c->doff[i], c->dlen[i]);
        uint32_t j = (uint32_t)h & (ns - 1);
        while (s[j]) j = (j + 1) & (ns - 1);
        s[j] = i + 1;
    }
    free(c->slots);
    c->slots = s;
    c->nslots = ns;
}

/* Adds a new entry in slot j; returns its index. */
static uint32_t dict_add(col_writer *c, uint32_t j, const uint8_t *p, uint32_t n) {
    if (c->ndict == c->dict_cap) {
        c->dict_cap = c->dict_cap ? c->dict_cap * 2 : 256;
        c->doff = xrealloc(c->doff, c->dict_cap * sizeof *c->doff);
        c->dlen = xrealloc(c->dlen, c->dict_cap * sizeof *c->dlen);
        c->dseen = xrealloc(c->dseen, c->dict_cap * sizeof *c->dseen);
    }
    if (is_var(c)) {
        uint32_t le = n;
        buf_append(&c->dict, &le, 4);
    }
    c->doff[c->ndict] = (uint32_t)c->dict.len;
    c->dlen[c->ndict] = n;
    c->dseen[c->ndict] = 0;
    buf_append(&c->dict, p, n);
    c->slots[j] = c->ndict + 1;
    return c->ndict++;
}

/* Index of the value in the dictionary, adding it if new. */
static uint32_t dict_index(col_writer *c, const uint8_t *p, uint32_t n) {
    if (c->ndict * 2 >= c->nslots) dict_rehash(c);
    uint64_t h = dict_hash(c, p, n);
    uint32_t mask = c->nslots - 1;
    uint32_t j = (uint32_t)h & mask;
    for (;;) {
        uint32_t s = c->slots[j];
        if (!s) break;
        uint32_t k = s - 1;
        if (c->dlen[k] == n && !memcmp(c->dict.data + c->doff[k], p, n)) return k;
        j = (j + 1) & mask;
    }
    return dict_add(c, j, p, n);
}

/* dict_index for a fixed-width value of w <= 8 bytes, given as x. */
static inline uint32_t dict_index_small(col_writer *c, uint64_t x, uint32_t w) {
    if (c->ndict * 2 >= c->nslots) dict_rehash(c);
    uint32_t mask = c->nslots - 1;
    uint32_t j = (uint32_t)hash_u64(x) & mask;
    for (;;) {
        uint32_t s = c->slots[j];
        if (!s) break;
        if (load_small((const uint8_t *)c->dict.data + (size_t)(s - 1) * w, w) == x) return s - 1;
        j = (j + 1) & mask;
    }
    return dict_add(c, j, (const uint8_t *)&x, w);
}

/* The page's bounds take dictionary entry k (value p[0..n)) once. */
static inline void dict_bounds(col_writer *c, uint32_t k, const uint8_t *p, uint32_t n) {
    if (c->dseen[k] == c->page_no) return;
    c->dseen[k] = c->page_no;
    bounds_update(c, &c->page_b, p, n, p, n);
}

/* ---- levels and values into the open page ---- */

static void push_level(col_writer *c, int16_t def, int16_t rep) {
    if (c->nlevels == c->levels_cap) {
        c->levels_cap = c->levels_cap ? c->levels_cap * 2 : 4096;
        if (c->max_def) c->defs = xrealloc(c->defs, c->levels_cap);
        if (c->max_rep) c->reps = xrealloc(c->reps, c->levels_cap);
    }
    if (c->max_def) c->defs[c->nlevels] = (uint8_t)def;
    if (c->max_rep) c->reps[c->nlevels] = (uint8_t)rep;
    c->nlevels++;
}

static void bloom_add(col_writer *c, const uint8_t *p, uint32_t n) {
    uint64_t h = pq_bloom_hash(p, n);
    /* dedupe in an open-addressed set sized to twice the entries */
    if (c->nbh * 2 >= c->nbset) {
        uint32_t ns = c->nbset ? c->nbset * 2 : 1024;
        uint64_t *s = calloc(ns, sizeof *s);
        if (!s) abort();
        for (uint32_t i = 0; i < c->nbh; i++) {
            uint32_t j = (uint32_t)c->bh[i] & (ns - 1);
            while (s[j]) j = (j + 1) & (ns - 1);
            s[j] = c->bh[i] | 1; /* never 0 */
        }
        free(c->bset);
        c->bset = s;
        c->nbset = ns;
    }
    uint64_t key = h | 1;
    uint32_t j = (uint32_t)h & (c->nbset - 1);
    while (c->bset[j]) {
        if (c->bset[j] == key) return;
        j = (j + 1) & (c->nbset - 1);
    }
    c->bset[j] = key;
    if (c->nbh == c->bh_cap) {
        c->bh_cap = c->bh_cap ? c->bh_cap * 2 : 1024;
        c->bh = xrealloc(c->bh, c->bh_cap * sizeof *c->bh);
    }
    c->bh[c->nbh++] = h;
}

static void push_idx(col_writer *c, uint32_t k) {
    if (c->nidx == c->idx_cap) {
        c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 4096;
        c->idx = xrealloc(c->idx, c->idx_cap * sizeof *c->idx);
    }
    c->idx[c->nidx++] = k;
}

/* Whether plain bytes p hold a float or double NaN (which never becomes a
 * bound, and is counted). */
static bool is_nan_value(const col_writer *c, const uint8_t *p) {
    if (c->sort == 1) {
        float f;
        memcpy(&f, p, 4);
        return isnan(f);
    }
    if (c->sort == 2) {
        double d;
        memcpy(&d, p, 8);
        return isnan(d);
    }
    return false;
}

/* One non-null value as plain bytes p[0..n). */
static void push_value(col_writer *c, const uint8_t *p, uint32_t n) {
    c->page_nonnull++;
    bool nan = is_nan_value(c, p);
    c->page_nan += nan;
    if (c->bloom) bloom_add(c, p, n);
    if (c->dict_on) {
        uint32_t k = dict_index(c, p, n);
        push_idx(c, k);
        if (!nan) dict_bounds(c, k, p, n);
        return;
    }
    if (!nan) bounds_update(c, &c->page_b, p, n, p, n);
    if (c->phys == PQ_BOOLEAN) {
        buf_append(&c->plain, p, 1); /* bit-packed at page close */
        return;
    }
    if (is_var(c)) buf_append(&c->plain, &n, 4);
    buf_append(&c->plain, p, n);
}

/* ---- page and chunk output ---- */

static size_t page_estimate(const col_writer *c) {
    size_t v = c->dict_on ? (size_t)c->nidx * 2 : c->plain.len;
    return v + c->nlevels / 4;
}

static bool compress_into(pq_writer_t *w, const void *p, size_t n, buf_t *out, floe_err *err) {
    if (w->o.codec == PQ_CODEC_UNCOMPRESSED) {
        buf_append(out, p, n);
        return true;
    }
    return pq_compress(w->o.codec, w->o.level, p, n, out, err);
}

/* Dictionary worth keeping? Checked at the first page: the dictionary plus
 * its indices must beat the PLAIN bytes. */
static void dict_check(col_writer *c) {
    if (!c->dict_on || c->dict_tried) return;
    c->dict_tried = true;
    uint64_t plain = 0;
    for (uint32_t i = 0; i < c->nidx; i++) plain += c->dlen[c->idx[i]] + (is_var(c) ? 4 : 0);
    uint64_t dict = c->dict.len + (uint64_t)c->nidx * (uint64_t)(pq_bit_width(c->ndict ? c->ndict - 1 : 0)) / 8 + 1;
    if (dict < plain) return;
    /* re-encode the page in PLAIN and forget the dictionary */
    buf_reset(&c->plain);
    for (uint32_t i = 0; i < c->nidx; i++) {
        uint32_t k = c->idx[i];
        if (is_var(c)) buf_append(&c->plain, &c->dlen[k], 4);
        buf_append(&c->plain, c->dict.data + c->doff[k], c->dlen[k]);
    }
    c->nidx = 0;
    c->dict_on = false;
    buf_reset(&c->dict);
    c->ndict = 0;
    free(c->slots);
    c->slots = NULL;
    c->nslots = 0;
}

/* RLE levels with the 4-byte length prefix data page v1 puts before them. */
static void put_levels(buf_t *body, const uint8_t *levels, uint32_t n, int16_t max) {
    size_t at = body->len;
    uint32_t len = 0;
    buf_append(body, &len, 4);
    pq_rle_encode_u8(body, levels, n, pq_bit_width((uint64_t)max));
    len = (uint32_t)(body->len - at - 4);
    memcpy(body->data + at, &len, 4);
}

/* ---- page jobs ---- */

static void jobs_lock(pq_writer_t *w) {
    if (w->threaded) pthread_mutex_lock(&w->mu);
}

static void jobs_unlock(pq_writer_t *w) {
    if (w->threaded) pthread_mutex_unlock(&w->mu);
}

/* Compresses a claimed job; called and returns with the lock held. */
static void job_compress(pq_writer_t *w, page_job *j) {
    jobs_unlock(w);
    buf_reset(&j->comp);
    floe_err_clear(&j->err);
    j->ok = compress_into(w, j->body.data, j->body.len, &j->comp, &j->err);
    if (j->ok && (j->body.len > INT32_MAX || j->comp.len > INT32_MAX))
        j->ok = floe_err_set(&j->err, FLOE_ETOOLARGE, "parquet writer: a page of column '%s' exceeds 2 GiB",
                             j->c->field->name);
    jobs_lock(w);
    j->state = JOB_DONE;
    if (w->threaded) pthread_cond_broadcast(&w->done_cv);
}

static void *job_worker(void *arg) {
    pq_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        page_job *j = NULL;
        for (uint64_t k = w->head; k < w->tail && !j; k++)
            if (w->jobs[k % w->njobs].state == JOB_QUEUED) j = &w->jobs[k % w->njobs];
        if (!j) {
            pthread_cond_wait(&w->work_cv, &w->mu);
            continue;
        }
        j->state = JOB_RUNNING;
        job_compress(w, j);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The oldest job's header and compressed bytes join its column's chunk. */
static bool job_finish(pq_writer_t *w, floe_err *err) {
    page_job *j = &w->jobs[w->head % w->njobs];
    jobs_lock(w);
    if (j->state == JOB_QUEUED) { /* no worker got to it: compress it here */
        j->state = JOB_RUNNING;
        job_compress(w, j);
    }
    while (j->state != JOB_DONE) pthread_cond_wait(&w->done_cv, &w->mu);
    w->head++;
    jobs_unlock(w);
    if (!j->ok) {
        *err = j->err;
        return false;
    }
    col_writer *c = j->c;
    pq_page_header h;
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA;
    h.uncompressed_size = (int32_t)j->body.len;
    h.compressed_size = (int32_t)j->comp.len;
    h.num_values = j->nvalues;
    h.encoding = j->encoding;
    h.def_encoding = PQ_ENC_RLE;
    h.rep_encoding = PQ_ENC_RLE;
    h.has_stats = true;
    h.stats.has_null_count = true;
    h.stats.null_count = j->nulls;
    if (j->has_bounds) {
        h.stats.has_min = h.stats.has_max = true;
        h.stats.min = (const uint8_t *)c->page_bounds.data + j->min_off, h.stats.min_len = j->min_len;
        h.stats.max = (const uint8_t *)c->page_bounds.data + j->max_off, h.stats.max_len = j->max_len;
        h.stats.has_min_exact = h.stats.has_max_exact = true;
        h.stats.min_exact = h.stats.max_exact = true;
    }
    if (c->sort == 1 || c->sort == 2) {
        h.stats.has_nan_count = true;
        h.stats.nan_count = j->nan;
    }
    size_t start = c->chunk.len;
    pq_page_header_encode(&h, &c->chunk);
    size_t hlen = c->chunk.len - start;
    buf_append(&c->chunk, j->comp.data, j->comp.len);
    c->chunk_uncompressed += (int64_t)(hlen + j->body.len);

    if (c->npages == c->pages_cap) {
        c->pages_cap = c->pages_cap ? c->pages_cap * 2 : 16;
        c->pages = xrealloc(c->pages, c->pages_cap * sizeof *c->pages);
    }
    page_loc *pl = &c->pages[c->npages++];
    memset(pl, 0, sizeof *pl);
    pl->offset = (int64_t)start;
    pl->size = (int32_t)(c->chunk.len - start);
    pl->first_row = j->first_row;
    pl->null_count = j->nulls;
    pl->null_page = !j->has_bounds;
    pl->min_off = j->min_off, pl->min_len = j->min_len;
    pl->max_off = j->max_off, pl->max_len = j->max_len;
    return true;
}

/* Finishes every open job (before a row group is written). */
static bool jobs_drain(pq_writer_t *w, floe_err *err) {
    while (w->head < w->tail)
        if (!job_finish(w, err)) return false;
    return true;
}

/* A free job for the next page, finishing the oldest when the ring is full. */
static page_job *job_open(pq_writer_t *w, floe_err *err) {
    if (w->tail - w->head == w->njobs && !job_finish(w, err)) return NULL;
    page_job *j = &w->jobs[w->tail % w->njobs];
    buf_reset(&j->body);
    return j;
}

static void job_submit(pq_writer_t *w, page_job *j) {
    jobs_lock(w);
    j->state = JOB_QUEUED;
    w->tail++;
    if (w->threaded) pthread_cond_signal(&w->work_cv);
    jobs_unlock(w);
}

static bool jobs_start(pq_writer_t *w, floe_err *err) {
    uint32_t threads = w->o.threads ? w->o.threads : 1;
    if (threads > PQ_WRITER_MAX_THREADS) threads = PQ_WRITER_MAX_THREADS;
    w->njobs = threads > 1 ? 4 * threads : 1;
    w->jobs = calloc(w->njobs, sizeof *w->jobs);
    if (!w->jobs) abort();
    if (threads == 1) return true;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    w->workers = calloc(threads - 1, sizeof *w->workers);
    if (!w->workers) abort();
    w->threaded = true; /* before the first worker takes the lock */
    for (uint32_t i = 0; i < threads - 1; i++) {
        int e = pthread_create(&w->workers[i], NULL, job_worker, w);
        if (e) return floe_err_errno(err, e, "parquet writer: starting a compression thread");
        w->nworkers++;
    }
    return true;
}

static void jobs_stop(pq_writer_t *w) {
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->work_cv);
        pthread_mutex_unlock(&w->mu);
        for (uint32_t i = 0; i < w->nworkers; i++) pthread_join(w->workers[i], NULL);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work_cv);
        pthread_cond_destroy(&w->done_cv);
        w->threaded = false;
    }
    free(w->workers);
    w->workers = NULL;
    for (uint32_t i = 0; i < w->njobs; i++) {
        buf_free(&w->jobs[i].body);
        buf_free(&w->jobs[i].comp);
    }
    free(w->jobs);
    w->jobs = NULL;
}

/* Closes the open page: encodes its body into a job, whose compression
 * may run on a worker while the next pages fill. Without workers the job
 * is compressed and finished at once. */
static bool flush_page(pq_writer_t *w, col_writer *c, floe_err *err) {
    if (c->nlevels == 0 && c->page_nonnull == 0) return true;
    dict_check(c);
    page_job *j = job_open(w, err);
    if (!j) return false;
    buf_t *body = &j->body;
    /* v1 levels: rep then def, each with a 4-byte length prefix */
    if (c->max_rep) put_levels(body, c->reps, c->nlevels, c->max_rep);
    if (c->max_def) put_levels(body, c->defs, c->nlevels, c->max_def);
    int32_t encoding = PQ_ENC_PLAIN;
    if (c->dict_on) {
        encoding = PQ_ENC_RLE_DICTIONARY;
        int bw = pq_bit_width(c->ndict ? c->ndict - 1 : 0);
        uint8_t b = (uint8_t)bw;
        buf_append(body, &b, 1);
        pq_rle_encode(body, c->idx, c->nidx, bw);
        c->chunk_dict_pages = true;
    } else if (c->phys == PQ_BOOLEAN) {
        pq_plain_encode_bool(body, (const uint8_t *)c->plain.data, c->plain.len);
        c->chunk_plain_pages = true;
    } else if (c->phys == PQ_INT32 || c->phys == PQ_INT64) {
        buf_t *d = &w->scratch2;
        buf_reset(d);
        if (c->phys == PQ_INT32)
            pq_delta_encode_i32(d, (const int32_t *)c->plain.data, c->plain.len / 4);
        else
            pq_delta_encode_i64(d, (const int64_t *)c->plain.data, c->plain.len / 8);
        if (d->len < c->plain.len) {
            encoding = PQ_ENC_DELTA_BINARY_PACKED;
            buf_append(body, d->data, d->len);
            c->chunk_delta_pages = true;
        } else {
            buf_append(body, c->plain.data, c->plain.len);
            c->chunk_plain_pages = true;
        }
    } else {
        buf_append(body, c->plain.data, c->plain.len);
        c->chunk_plain_pages = true;
    }
    j->c = c;
    j->encoding = encoding;
    j->nvalues = (int32_t)c->nlevels;
    j->first_row = c->page_first_row;
    j->nulls = c->page_nulls;
    j->nan = c->page_nan;
    j->has_bounds = c->page_b.has;
    j->min_off = j->min_len = j->max_off = j->max_len = 0;
    if (c->page_b.has) {
        const uint8_t *mn, *mx;
        uint32_t mnn, mxn;
        bounds_view(c, &c->page_b, &mn, &mnn, &mx, &mxn);
        j->min_off = (uint32_t)c->page_bounds.len;
        j->min_len = mnn;
        buf_append(&c->page_bounds, mn, mnn);
        j->max_off = (uint32_t)c->page_bounds.len;
        j->max_len = mxn;
        buf_append(&c->page_bounds, mx, mxn);
    }
    c->chunk_body_bytes += (int64_t)body->len;
    job_submit(w, j);
    if (!w->threaded && !job_finish(w, err)) return false;

    c->chunk_values += c->nlevels;
    c->chunk_nulls += c->page_nulls;
    c->chunk_nan += c->page_nan;
    bounds_merge(c, &c->chunk_b, &c->page_b);

    c->page_first_row += c->page_rows;
    c->nlevels = c->nidx = c->page_nonnull = c->page_nulls = c->page_rows = 0;
    c->page_nan = 0;
    c->page_b.has = false;
    c->page_no++;
    buf_reset(&c->plain);
    /* dictionary too big: later pages go PLAIN */
    if (c->dict_on && c->dict.len > w->o.dict_max_bytes) c->dict_on = false;
    return true;
}

static bool maybe_flush_page(pq_writer_t *w, col_writer *c, floe_err *err) {
    if (c->page_rows >= w->o.page_rows || page_estimate(c) >= w->o.page_bytes ||
        (c->dict_on && c->dict.len > w->o.dict_max_bytes))
        return flush_page(w, c, err);
    return true;
}

/* ---- shredding ---- */

static void emit_null(col_writer *c, int16_t def, int16_t rep) {
    push_level(c, def, rep);
    c->page_nulls++;
}

static void emit(col_writer *c, const fmt_vec_t *v, int d, uint32_t i, int16_t def, int16_t rep) {
    const fmt_field_t *f = c->path[d];
    if (!f->required) {
        if (!fmt_vec_valid(v, i)) {
            emit_null(c, def, rep);
            return;
        }
        def++;
    }
    switch (f->type) {
    case FMT_STRUCT: emit(c, &v->children[c->child[d]], d + 1, i, def, rep); return;
    case FMT_LIST:
    case FMT_MAP: {
        uint32_t s = v->offsets[i], e = v->offsets[i + 1];
        if (s >= e) {
            emit_null(c, def, rep); /* an empty list: defined to this level */
            return;
        }
        const fmt_vec_t *child = &v->children[c->child[d]];
        for (uint32_t j = s; j < e; j++) emit(c, child, d + 1, j, (int16_t)(def + 1), j == s ? rep : c->rep_at[d]);
        return;
    }
    default: {
        push_level(c, def, rep);
        uint8_t tmp[16];
        if (is_var(c)) {
            uint32_t n;
            const uint8_t *p = fmt_vec_bytes(v, i, &n);
            push_value(c, p, n);
        } else if (c->phys == PQ_BOOLEAN) {
            tmp[0] = ((const uint8_t *)v->values)[i] ? 1 : 0;
            push_value(c, tmp, 1);
        } else if (c->phys == PQ_FIXED_LEN_BYTE_ARRAY && c->field->type != FMT_DECIMAL) {
            /* uuid and fixed[n] (n may exceed tmp): straight from the vector */
            push_value(c, (const uint8_t *)v->values + (size_t)i * (size_t)c->width, (uint32_t)c->type_len);
        } else {
            uint32_t n = fixed_value(c, v, i, tmp);
            push_value(c, tmp, n);
        }
    }
    }
}

/* Flat columns: definition levels straight from the validity bitmap;
 * returns the nulls among rows [s, e). */
static uint32_t flat_levels(col_writer *c, const fmt_vec_t *v, uint32_t s, uint32_t e) {
    uint32_t n = e - s, nulls = 0;
    if (!c->max_def) {
        c->nlevels += n;
        return 0;
    }
    if (c->nlevels + n > c->levels_cap) {
        while (c->nlevels + n > c->levels_cap) c->levels_cap = c->levels_cap ? c->levels_cap * 2 : 4096;
        c->defs = xrealloc(c->defs, c->levels_cap);
    }
    uint8_t *d = c->defs + c->nlevels;
    if (!v->validity) {
        memset(d, 1, n);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            d[i] = (uint8_t)fmt_vec_valid(v, s + i);
            nulls += d[i] ^ 1;
        }
    }
    c->nlevels += n;
    return nulls;
}

static void reserve_idx(col_writer *c, uint32_t n) {
    if (c->nidx + n <= c->idx_cap) return;
    while (c->nidx + n > c->idx_cap) c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 4096;
    c->idx = xrealloc(c->idx, c->idx_cap * sizeof *c->idx);
}

/* Fixed-width numbers (int, long, date, time, timestamps, float, double)
 * into the dictionary: one integer hash and compare per value, bounds once
 * per entry and page. */
static void flat_dict_small(col_writer *c, const fmt_vec_t *v, uint32_t s, uint32_t e) {
    uint32_t w = (uint32_t)c->width;
    const uint8_t *src = (const uint8_t *)v->values;
    reserve_idx(c, e - s);
    for (uint32_t i = s; i < e; i++) {
        if (v->validity && !fmt_vec_valid(v, i)) continue;
        const uint8_t *p = src + (size_t)i * w;
        uint32_t k = dict_index_small(c, load_small(p, w), w);
        c->idx[c->nidx++] = k;
        if (c->sort == 1 || c->sort == 2) {
            if (is_nan_value(c, p)) {
                c->page_nan++;
                continue;
            }
        }
        dict_bounds(c, k, p, w);
    }
}

/* Fixed-width numbers in PLAIN: one copy of the valid values, then min and
 * max in a loop (NaNs counted, never bounds). */
static void flat_plain_small(col_writer *c, const fmt_vec_t *v, uint32_t s, uint32_t e) {
    uint32_t w = (uint32_t)c->width;
    const uint8_t *src = (const uint8_t *)v->values;
    size_t at = c->plain.len;
    if (!v->validity) {
        buf_append(&c->plain, src + (size_t)s * w, (size_t)(e - s) * w);
    } else {
        buf_reserve(&c->plain, (size_t)(e - s) * w);
        uint8_t *o = (uint8_t *)c->plain.data + at;
        for (uint32_t i = s; i < e; i++)
            if (fmt_vec_valid(v, i)) {
                memcpy(o, src + (size_t)i * w, w);
                o += w;
            }
        c->plain.len = (size_t)(o - (uint8_t *)c->plain.data);
    }
    uint32_t n = (uint32_t)((c->plain.len - at) / w);
    const uint8_t *vals = (const uint8_t *)c->plain.data + at;
    if (!n) return;
#define MINMAX(T, NANCHECK)                                                                                            \
    do {                                                                                                               \
        const T *x = (const T *)(const void *)vals;                                                                    \
        T mn = 0, mx = 0;                                                                                              \
        uint32_t i = 0, nan = 0;                                                                                       \
        for (; i < n && NANCHECK(x[i]); i++) nan++;                                                                    \
        if (i < n) mn = mx = x[i];                                                                                     \
        bool any = i < n;                                                                                              \
        for (; i < n; i++) {                                                                                           \
            if (NANCHECK(x[i])) {                                                                                      \
                nan++;                                                                                                 \
                continue;                                                                                              \
            }                                                                                                          \
            mn = x[i] < mn ? x[i] : mn;                                                                                \
            mx = x[i] > mx ? x[i] : mx;                                                                                \
        }                                                                                                              \
        c->page_nan += nan;                                                                                            \
        if (any) bounds_update(c, &c->page_b, (const uint8_t *)&mn, w, (const uint8_t *)&mx, w);                       \
    } while (0)
#define NEVER(x) 0
#define ISNAN(x) isnan(x)
    if (c->sort == 2)
        MINMAX(double, ISNAN);
    else if (c->sort == 1)
        MINMAX(float, ISNAN);
    else if (w == 8)
        MINMAX(int64_t, NEVER);
    else
        MINMAX(int32_t, NEVER);
#undef MINMAX
#undef NEVER
#undef ISNAN
}

/* Strings and binary: the dictionary, or PLAIN with a bounds check per
 * value. */
static void flat_bytes(col_writer *c, const fmt_vec_t *v, uint32_t s, uint32_t e) {
    if (c->dict_on) reserve_idx(c, e - s);
    for (uint32_t i = s; i < e; i++) {
        if (v->validity && !fmt_vec_valid(v, i)) continue;
        const uint8_t *p = v->bytes + v->offsets[i];
        uint32_t n = v->offsets[i + 1] - v->offsets[i];
        if (c->dict_on) {
            uint32_t k = dict_index(c, p, n);
            c->idx[c->nidx++] = k;
            dict_bounds(c, k, p, n);
        } else {
            bounds_update(c, &c->page_b, p, n, p, n);
            buf_append(&c->plain, &n, 4);
            buf_append(&c->plain, p, n);
        }
    }
}

/* Rows [s, e) of a top-level primitive column: levels in bulk, then the
 * values by kind; other shapes (booleans, decimals, fixed, dictionary-form
 * input, bloom filters) take the general path. */
static void write_flat(col_writer *c, const fmt_vec_t *v, uint32_t s, uint32_t e) {
    bool small = (c->phys == PQ_INT32 || c->phys == PQ_INT64 || c->phys == PQ_DOUBLE || c->phys == PQ_FLOAT) &&
                 c->field->type != FMT_DECIMAL && (uint32_t)c->width == stat_width(c);
    bool bytes = c->phys == PQ_BYTE_ARRAY && (c->field->type == FMT_STRING || c->field->type == FMT_BINARY);
    if (v->dict || c->bloom || !(small || bytes)) {
        for (uint32_t i = s; i < e; i++) emit(c, v, 0, i, 0, 0);
        c->page_rows += e - s;
        return;
    }
    uint32_t nulls = flat_levels(c, v, s, e);
    c->page_nulls += nulls;
    c->page_nonnull += e - s - nulls;
    c->page_rows += e - s;
    if (bytes)
        flat_bytes(c, v, s, e);
    else if (c->dict_on)
        flat_dict_small(c, v, s, e);
    else
        flat_plain_small(c, v, s, e);
}

/* ---- row groups ---- */

static void append_index(pq_writer_t *w, uint32_t col, col_writer *c, int64_t chunk_start) {
    if (w->nindexes == w->indexes_cap) {
        w->indexes_cap = w->indexes_cap ? w->indexes_cap * 2 : 16;
        w->indexes = xrealloc(w->indexes, w->indexes_cap * sizeof *w->indexes);
    }
    chunk_index *ix = &w->indexes[w->nindexes++];
    memset(ix, 0, sizeof *ix);
    ix->col = col;
    pq_column_index ci = {0};
    pq_offset_index oi = {0};
    uint32_t n = c->npages;
    ci.npages = oi.npages = n;
    ci.null_pages = calloc(n ? n : 1, sizeof *ci.null_pages);
    ci.min = calloc(n ? n : 1, sizeof *ci.min);
    ci.max = calloc(n ? n : 1, sizeof *ci.max);
    ci.min_len = calloc(n ? n : 1, sizeof *ci.min_len);
    ci.max_len = calloc(n ? n : 1, sizeof *ci.max_len);
    ci.null_counts = calloc(n ? n : 1, sizeof *ci.null_counts);
    ci.has_null_counts = true;
    oi.pages = calloc(n ? n : 1, sizeof *oi.pages);
    if (!ci.null_pages || !ci.min || !ci.max || !ci.min_len || !ci.max_len || !ci.null_counts || !oi.pages) abort();
    static const uint8_t empty[1] = {0};
    bool asc = true, desc = true;
    for (uint32_t i = 0; i < n; i++) {
        page_loc *p = &c->pages[i];
        ci.null_pages[i] = p->null_page;
        ci.null_counts[i] = p->null_count;
        if (p->null_page) {
            ci.min[i] = ci.max[i] = empty;
        } else {
            ci.min[i] = (const uint8_t *)c->page_bounds.data + p->min_off, ci.min_len[i] = p->min_len;
            ci.max[i] = (const uint8_t *)c->page_bounds.data + p->max_off, ci.max_len[i] = p->max_len;
        }
        oi.pages[i].offset = chunk_start + p->offset;
        oi.pages[i].compressed_size = p->size;
        oi.pages[i].first_row = p->first_row;
    }
    /* boundary order over the non-null pages */
    int prev = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (ci.null_pages[i]) continue;
        if (prev >= 0) {
            if (cmp_vals(c, ci.min[prev], ci.min_len[prev], ci.min[i], ci.min_len[i]) > 0 ||
                cmp_vals(c, ci.max[prev], ci.max_len[prev], ci.max[i], ci.max_len[i]) > 0)
                asc = false;
            if (cmp_vals(c, ci.min[prev], ci.min_len[prev], ci.min[i], ci.min_len[i]) < 0 ||
                cmp_vals(c, ci.max[prev], ci.max_len[prev], ci.max[i], ci.max_len[i]) < 0)
                desc = false;
        }
        prev = (int)i;
    }
    ci.boundary_order = asc ? 1 : desc ? 2 : 0;
    pq_column_index_encode(&ci, &ix->ci);
    pq_offset_index_encode(&oi, &ix->oi);
    free(ci.null_pages);
    free(ci.min);
    free(ci.max);
    free(ci.min_len);
    free(ci.max_len);
    free(ci.null_counts);
    free(oi.pages);
}

static bool sink_write(pq_writer_t *w, const void *p, size_t n, floe_err *err) {
    if (!w->sink.write(w->sink.ctx, p, n, err)) {
        w->failed = true;
        return false;
    }
    w->offset += (int64_t)n;
    return true;
}

static bool flush_row_group(pq_writer_t *w, floe_err *err) {
    if (w->rg_rows == 0) return true;
    for (uint32_t i = 0; i < w->ncols; i++)
        if (!flush_page(w, &w->cols[i], err)) return false;
    if (!jobs_drain(w, err)) return false;
    if (w->nrgs == w->rgs_cap) {
        w->rgs_cap = w->rgs_cap ? w->rgs_cap * 2 : 8;
        w->rgs = xrealloc(w->rgs, w->rgs_cap * sizeof *w->rgs);
    }
    pq_row_group *rg = &w->rgs[w->nrgs++];
    memset(rg, 0, sizeof *rg);
    rg->num_rows = w->rg_rows;
    rg->file_offset = w->offset;
    rg->cols = arena_zalloc(&w->arena, w->ncols * sizeof *rg->cols);
    rg->ncols = w->ncols;
    for (uint32_t i = 0; i < w->ncols; i++) {
        col_writer *c = &w->cols[i];
        pq_column_meta *cm = &rg->cols[i];
        cm->type = c->phys;
        cm->codec = (int32_t)w->o.codec;
        cm->index_page_offset = cm->dictionary_page_offset = cm->bloom_offset = -1;
        cm->offset_index_offset = cm->column_index_offset = -1;
        int64_t start = w->offset;
        int64_t uncompressed = c->chunk_uncompressed;
        bool has_dict = c->chunk_dict_pages;
        if (has_dict) {
            buf_reset(&w->comp);
            if (!compress_into(w, c->dict.data, c->dict.len, &w->comp, err)) return false;
            pq_page_header h;
            memset(&h, 0, sizeof h);
            h.type = PQ_PAGE_DICTIONARY;
            h.uncompressed_size = (int32_t)c->dict.len;
            h.compressed_size = (int32_t)w->comp.len;
            h.num_values = (int32_t)c->ndict;
            h.encoding = PQ_ENC_PLAIN;
            buf_reset(&w->scratch);
            pq_page_header_encode(&h, &w->scratch);
            uncompressed += (int64_t)(w->scratch.len + c->dict.len);
            cm->dictionary_page_offset = w->offset;
            if (!sink_write(w, w->scratch.data, w->scratch.len, err) || !sink_write(w, w->comp.data, w->comp.len, err))
                return false;
        }
        int64_t data_start = w->offset;
        cm->data_page_offset = data_start;
        if (!sink_write(w, c->chunk.data, c->chunk.len, err)) return false;
        cm->total_compressed = w->offset - start;
        cm->total_uncompressed = uncompressed;
        cm->num_values = c->chunk_values;
        /* encodings used */
        int32_t encs[6];
        uint32_t ne = 0;
        encs[ne++] = PQ_ENC_RLE; /* levels */
        if (has_dict) {
            encs[ne++] = PQ_ENC_PLAIN; /* the dictionary page */
            encs[ne++] = PQ_ENC_RLE_DICTIONARY;
        }
        if (c->chunk_plain_pages && !has_dict) encs[ne++] = PQ_ENC_PLAIN;
        if (c->chunk_delta_pages) encs[ne++] = PQ_ENC_DELTA_BINARY_PACKED;
        cm->encodings = arena_alloc(&w->arena, ne * sizeof *cm->encodings);
        memcpy(cm->encodings, encs, ne * sizeof *encs);
        cm->nencodings = ne;
        /* path */
        uint32_t np = 0;
        const char *names[MAX_DEPTH * 2];
        for (int d = 0; d < c->depth; d++) {
            const fmt_field_t *f = c->path[d];
            if (d == 0) names[np++] = f->name;
            if (f->type == FMT_LIST) {
                names[np++] = "list";
                names[np++] = "element";
            } else if (f->type == FMT_MAP) {
                names[np++] = "key_value";
                names[np++] = c->child[d] == 0 ? "key" : "value";
            } else if (f->type == FMT_STRUCT) {
                names[np++] = f->children[c->child[d]].name;
            }
        }
        cm->path = arena_alloc(&w->arena, np * sizeof *cm->path);
        memcpy(cm->path, names, np * sizeof *names);
        cm->npath = np;
        /* statistics */
        cm->has_stats = true;
        cm->stats.has_null_count = true;
        cm->stats.null_count = c->chunk_nulls;
        if (c->chunk_b.has) {
            const uint8_t *mn, *mx;
            uint32_t mnn, mxn;
            bounds_view(c, &c->chunk_b, &mn, &mnn, &mx, &mxn);
            uint8_t *a = arena_alloc(&w->arena, mnn + mxn + 1);
            memcpy(a, mn, mnn);
            memcpy(a + mnn, mx, mxn);
            cm->stats.has_min = cm->stats.has_max = true;
            cm->stats.min = a, cm->stats.min_len = mnn;
            cm->stats.max = a + mnn, cm->stats.max_len = mxn;
            cm->stats.has_min_exact = cm->stats.has_max_exact = true;
            cm->stats.min_exact = cm->stats.max_exact = true;
        }
        if (c->sort == 1 || c->sort == 2) {
            cm->stats.has_nan_count = true;
            cm->stats.nan_count = c->chunk_nan;
        }
        /* bloom filter right after the chunk */
        if (c->bloom) {
            pq_bloom bf;
            pq_bloom_init(&bf, c->nbh ? c->nbh : 1, w->o.bloom_fpp);
            for (uint32_t k = 0; k < c->nbh; k++) pq_bloom_insert(&bf, c->bh[k]);
            buf_reset(&w->scratch);
            pq_bloom_encode(&bf, &w->scratch);
            pq_bloom_free(&bf);
            cm->bloom_offset = w->offset;
            cm->bloom_length = (int32_t)w->scratch.len;
            if (!sink_write(w, w->scratch.data, w->scratch.len, err)) return false;
            c->nbh = 0;
            if (c->bset) memset(c->bset, 0, c->nbset * sizeof *c->bset);
        }
        append_index(w, i, c, data_start);
        rg->total_byte_size += uncompressed;
        rg->total_compressed_size += cm->total_compressed;

        /* file metrics */
        c->m_size += cm->total_compressed;
        c->m_values += c->chunk_values;
        c->m_nulls += c->chunk_nulls;
        c->m_nan += c->chunk_nan;
        bounds_merge(c, &c->m_b, &c->chunk_b);

        /* reset the chunk; the dictionary starts afresh in the next group */
        buf_reset(&c->chunk);
        buf_reset(&c->page_bounds);
        c->chunk_uncompressed = c->chunk_body_bytes = c->chunk_values = c->chunk_nulls = c->chunk_nan = 0;
        c->chunk_dict_pages = c->chunk_plain_pages = c->chunk_delta_pages = false;
        c->chunk_b.has = false;
        c->npages = 0;
        c->page_first_row = 0;
        buf_reset(&c->dict);
        c->ndict = 0;
        if (c->slots) memset(c->slots, 0, c->nslots * sizeof *c->slots);
        c->dict_on = w->o.dictionary && c->field->type != FMT_BOOLEAN;
        c->dict_tried = false;
    }
    w->total_rows += w->rg_rows;
    w->rg_rows = 0;
    return true;
}

static uint64_t rg_estimate(const pq_writer_t *w) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < w->ncols; i++) {
        const col_writer *c = &w->cols[i];
        n += (uint64_t)c->chunk_body_bytes + page_estimate(c) + c->dict.len;
    }
    return n;
}

/* Checks a batch against the schema: lengths, and no nulls where required. */
static bool check_vec(const fmt_vec_t *v, const fmt_field_t *f, uint32_t len, const char *path, const fmt_vec_t *parent,
                      floe_err *err) {
    if (v->len != len)
        return floe_err_set(err, FLOE_EINVAL, "parquet writer: column '%s' has %u values; expected %u", path, v->len,
                            len);
    if (f->required && v->validity)
        for (uint32_t i = 0; i < len; i++)
            if (!fmt_vec_valid(v, i) && (!parent || fmt_vec_valid(parent, i)))
                return floe_err_set(err, FLOE_EINVAL,
                                    "parquet writer: column '%s' is required (not null) but value %u is null", path, i);
    if (f->type == FMT_STRUCT) {
        if (v->nchildren != (uint32_t)f->nchildren)
            return floe_err_set(err, FLOE_EINVAL, "parquet writer: struct '%s' has %u children; expected %d", path,
                                v->nchildren, f->nchildren);
        for (int32_t i = 0; i < f->nchildren; i++)
            if (!check_vec(&v->children[i], &f->children[i], len, f->children[i].name, v, err)) return false;
    } else if (f->type == FMT_LIST || f->type == FMT_MAP) {
        if (!v->offsets || v->nchildren < (uint32_t)f->nchildren)
            return floe_err_set(err, FLOE_EINVAL, "parquet writer: list or map '%s' lacks offsets or children", path);
        uint32_t n = v->offsets[len];
        for (int32_t i = 0; i < f->nchildren; i++)
            if (!check_vec(&v->children[i], &f->children[i], n, f->children[i].name, NULL, err)) return false;
    }
    return true;
}

bool pq_writer_write(pq_writer_t *w, const fmt_batch_t *b, floe_err *err) {
    if (w->failed) return floe_err_set(err, FLOE_EINVAL, "parquet writer: an earlier write failed");
    if (b->ncols != (uint32_t)w->schema->root.nchildren)
        return floe_err_set(err, FLOE_EINVAL, "parquet writer: batch has %u columns; the schema has %d", b->ncols,
                            w->schema->root.nchildren);
    for (uint32_t i = 0; i < b->ncols; i++)
        if (!check_vec(&b->cols[i], &w->schema->root.children[i], b->nrows, w->schema->root.children[i].name, NULL,
                       err))
            return false;
    uint32_t row = 0;
    while (row < b->nrows) {
        /* a slice that stays within the row-group row limit and a page's rows */
        uint32_t end = b->nrows;
        if (w->o.row_group_rows && (uint64_t)w->rg_rows + (end - row) > w->o.row_group_rows)
            end = row + (uint32_t)(w->o.row_group_rows - (uint64_t)w->rg_rows);
        if (end - row > 1024) end = row + 1024;
        for (uint32_t i = 0; i < w->ncols; i++) {
            col_writer *c = &w->cols[i];
            const fmt_vec_t *v = &b->cols[c->path[0] - w->schema->root.children];
            if (c->flat) {
                uint32_t s = row;
                while (s < end) {
                    uint32_t room = w->o.page_rows - c->page_rows;
                    uint32_t e = end - s < room ? end : s + room;
                    write_flat(c, v, s, e);
                    if (!maybe_flush_page(w, c, err)) return false;
                    s = e;
                }
            } else {
                for (uint32_t r = row; r < end; r++) {
                    emit(c, v, 0, r, 0, 0);
                    c->page_rows++;
                    if (!maybe_flush_page(w, c, err)) return false;
                }
            }
        }
        w->rg_rows += end - row;
        row = end;
        if ((w->o.row_group_rows && (uint64_t)w->rg_rows >= w->o.row_group_rows) ||
            rg_estimate(w) >= w->o.row_group_bytes)
            if (!flush_row_group(w, err)) return false;
    }
    return true;
}

static void copy_bounds(const col_writer *c, pq_field_metrics *m, arena_t *a) {
    if (!c->m_b.has) return;
    const uint8_t *mn, *mx;
    uint32_t mnn, mxn;
    bounds_view(c, &c->m_b, &mn, &mnn, &mx, &mxn);
    m->has_bounds = true;
    m->lower = arena_alloc(a, mnn + 1);
    memcpy(m->lower, mn, mnn);
    m->lower_len = mnn;
    m->upper = arena_alloc(a, mxn + 1);
    memcpy(m->upper, mx, mxn);
    m->upper_len = mxn;
}

bool pq_writer_close(pq_writer_t *w, pq_file_metrics *m, arena_t *a, floe_err *err) {
    if (w->failed) return floe_err_set(err, FLOE_EINVAL, "parquet writer: an earlier write failed");
    if (!flush_row_group(w, err)) return false;
    /* page indexes: all column indexes, then all offset indexes */
    for (uint32_t i = 0; i < w->nindexes; i++) {
        pq_column_meta *cm = &w->rgs[i / w->ncols].cols[w->indexes[i].col];
        cm->column_index_offset = w->offset;
        cm->column_index_length = (int32_t)w->indexes[i].ci.len;
        if (!sink_write(w, w->indexes[i].ci.data, w->indexes[i].ci.len, err)) return false;
    }
    for (uint32_t i = 0; i < w->nindexes; i++) {
        pq_column_meta *cm = &w->rgs[i / w->ncols].cols[w->indexes[i].col];
        cm->offset_index_offset = w->offset;
        cm->offset_index_length = (int32_t)w->indexes[i].oi.len;
        if (!sink_write(w, w->indexes[i].oi.data, w->indexes[i].oi.len, err)) return false;
    }
    w->meta.num_rows = w->total_rows;
    w->meta.row_groups = w->rgs;
    w->meta.nrow_groups = w->nrgs;
    w->meta.kv = (pq_kv *)w->o.kv;
    w->meta.nkv = w->o.nkv;
    buf_t footer = BUF_INIT;
    pq_meta_encode(&w->meta, &footer);
    uint32_t flen = (uint32_t)footer.len;
    buf_append(&footer, &flen, 4);
    buf_append(&footer, "PAR1", 4);
    bool ok = sink_write(w, footer.data, footer.len, err);
    buf_free(&footer);
    if (!ok) return false;
    if (m) {
        memset(m, 0, sizeof *m);
        m->row_count = w->total_rows;
        m->file_size = w->offset;
        m->nsplits = w->nrgs;
        m->split_offsets = arena_alloc(a, (w->nrgs ? w->nrgs : 1) * sizeof *m->split_offsets);
        for (uint32_t i = 0; i < w->nrgs; i++) m->split_offsets[i] = w->rgs[i].file_offset;
        m->nfields = w->ncols;
        m->fields = arena_zalloc(a, w->ncols * sizeof *m->fields);
        for (uint32_t i = 0; i < w->ncols; i++) {
            col_writer *c = &w->cols[i];
            pq_field_metrics *f = &m->fields[i];
            f->field_id = c->field->id;
            f->phys_type = c->phys;
            f->column_size = c->m_size;
            f->value_count = c->m_values;
            f->null_count = c->m_nulls;
            f->nan_count = (c->sort == 1 || c->sort == 2) ? c->m_nan : -1;
            copy_bounds(c, f, a);
        }
    }
    w->failed = true; /* closed */
    return true;
}

void pq_writer_free(pq_writer_t *w) {
    if (!w) return;
    jobs_stop(w);
    for (uint32_t i = 0; i < w->ncols; i++) {
        col_writer *c = &w->cols[i];
        free(c->defs);
        free(c->reps);
        buf_free(&c->plain);
        free(c->idx);
        buf_free(&c->dict);
        free(c->doff);
        free(c->dlen);
        free(c->slots);
        free(c->dseen);
        buf_free(&c->chunk);
        free(c->pages);
        buf_free(&c->page_bounds);
        free(c->bh);
        free(c->bset);
        bounds_free(&c->page_b);
        bounds_free(&c->chunk_b);
        bounds_free(&c->m_b);
    }
    free(w->cols);
    for (uint32_t i = 0; i < w->nindexes; i++) {
        buf_free(&w->indexes[i].ci);
        buf_free(&w->indexes[i].oi);
    }
    free(w->indexes);
    free(w->rgs);
    free(w->meta.schema);
    buf_free(&w->scratch);
    buf_free(&w->scratch2);
    buf_free(&w->comp);
    arena_free(&w->arena);
    free(w);
}
