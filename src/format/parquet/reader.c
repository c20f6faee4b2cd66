/*
 * reader.c: the Parquet reader.
 *
 * Open: one suffix read fetches the footer (a second read if the footer is
 * larger than the first guess); the Parquet schema becomes the table type
 * model, with field ids from the file or, when absent, from position.
 *
 * Scan: batches are planned in order (row group, rows to skip, rows to
 * read), then decoded output column by output column; with threads, the
 * caller and workers share those column tasks over a small ring of batches
 * (see "the batch ring" below). Each projected top-level field has one
 * cursor per Parquet leaf below it. A cursor reads its whole column chunk
 * with one ranged read, walks the pages, decompresses and decodes one page
 * at a time, and copies rows into the batch vectors (converting units
 * where the file's type differs from the table type, such as
 * TIMESTAMP_MILLIS or INT96). Pages without nulls skip their definition
 * levels; counting levels and checking dictionary indices use SSE2. Flat
 * columns stream page by page; nested columns are assembled from their
 * definition and repetition levels, with the first leaf under a list or
 * struct building its offsets and validity.
 *
 * Pruning: row groups whose statistics cannot satisfy the predicates are
 * skipped; within a row group, the page index of each predicate column
 * selects page row ranges, and pages of every column that fall outside the
 * selected ranges are never decompressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/parquet/pq_int.h"

#define MAX_DEPTH 32

/* ---- sources ---- */

typedef struct file_src {
    int fd;
} file_src;

static bool file_read(void *ctx, uint64_t off, void *buf, size_t n, floe_err *err) {
    file_src *f = ctx;
    uint8_t *b = buf;
    while (n) {
        ssize_t k = pread(f->fd, b, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR) continue;
            return floe_err_errno(err, errno, "reading at byte %llu", (unsigned long long)off);
        }
        if (k == 0)
            return floe_err_set(err, FLOE_EINVAL, "unexpected end of file at byte %llu", (unsigned long long)off);
        b += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return true;
}

bool pq_source_file(const char *path, pq_source *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return floe_err_errno(err, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return floe_err_errno(err, errno, "%s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return floe_err_set(err, FLOE_EINVAL, "%s: not a regular file", path);
    }
    file_src *f = malloc(sizeof *f);
    if (!f) abort();
    f->fd = fd;
    out->read = file_read;
    out->ctx = f;
    out->size = (uint64_t)st.st_size;
    out->name = strdup(path);
    return true;
}

typedef struct mem_src {
    const uint8_t *p;
    size_t n;
} mem_src;

static bool mem_read(void *ctx, uint64_t off, void *buf, size_t n, floe_err *err) {
    mem_src *m = ctx;
    if (off > m->n || n > m->n - off)
        return floe_err_set(err, FLOE_EINVAL, "read of %zu bytes at %llu is past the end (%zu bytes)", n,
                            (unsigned long long)off, m->n);
    memcpy(buf, m->p + off, n);
    return true;
}

pq_source pq_source_mem(const void *p, size_t n, const char *name) {
    mem_src *m = malloc(sizeof *m);
    if (!m) abort();
    m->p = p;
    m->n = n;
    return (pq_source){mem_read, m, n, strdup(name ? name : "memory")};
}

void pq_source_close(pq_source *s) {
    if (s->read == file_read) close(((file_src *)s->ctx)->fd);
    free(s->ctx);
    free((char *)s->name);
    memset(s, 0, sizeof *s);
}

/* ---- reader state ---- */

/* How a leaf's physical values become vector values. */
typedef enum {
    CV_COPY,       /* same width */
    CV_I32_TO_I64, /* UINT_32 into long */
    CV_U32_TO_I64, /* UINT_32 into long */
    CV_MILLIS_I32, /* TIME_MILLIS int32 into micros */
    CV_MILLIS_I64, /* TIMESTAMP_MILLIS into micros */
    CV_INT96,      /* INT96 into micros */
    CV_BE_DECIMAL, /* big-endian bytes into int32/int64/int128 */
    CV_FLOAT16,    /* FIXED[2] half into float */
    CV_BYTES,      /* byte arrays */
    CV_BOOL,
} conv_kind;

typedef struct node_info {
    int16_t def; /* def level when this node is present */
    int16_t rep; /* for list/map: the repetition level of its elements */
    bool owner;  /* this leaf builds this node's validity/offsets */
} node_info;

typedef struct cursor {
    uint32_t col; /* column index in the row group */
    const pq_schema_elem *elem;
    const fmt_field_t *path[MAX_DEPTH]; /* output fields from top-level to leaf */
    int child[MAX_DEPTH];
    node_info node[MAX_DEPTH];
    int depth;
    int16_t max_def, max_rep;
    conv_kind conv;
    int pwidth; /* physical value width for fixed types */
    int vwidth; /* vector width */
    /* chunk */
    const pq_column_meta *cm;
    uint8_t *chunk;
    size_t chunk_len, chunk_cap, pos;
    int64_t chunk_start; /* file offset of chunk[0] */
    int64_t values_left;
    /* dictionary */
    bool has_dict;
    fmt_vec_t *dict; /* converted to the vector type; one of dicts */
    /* A dictionary stays alive while a batch not yet released refers to it
     * (strings in dictionary form): dict_use[i] is 1 + the sequence number
     * of the last batch that did, 0 for none. */
    fmt_vec_t **dicts;
    uint64_t *dict_use;
    uint32_t ndicts, dict_i;
    buf_t dict_bytes;
    uint32_t *dict_offs;
    /* current page */
    buf_t page; /* decompressed */
    uint8_t *defs, *reps;
    bool all_def; /* flat column, every level of the page is max_def: defs not decoded */
    uint32_t lev_cap;
    uint32_t nlev, lev_pos;
    bool page_is_dict;
    uint32_t *idx;
    uint32_t idx_cap;
    uint8_t *vals; /* decoded fixed-width physical values */
    size_t vals_cap;
    const uint8_t *vals_p; /* PLAIN fixed-width values in the page itself; NULL: they are in vals */
    uint32_t *offs;        /* byte arrays: offsets into bytes */
    uint32_t offs_cap;
    buf_t bytes;
    const uint8_t *bytes_p; /* where byte array values live (bytes.data or page) */
    uint32_t nval, val_pos;
    /* page skipping */
    arena_t oi_arena; /* the chunk's offset index */
    pq_offset_index oi;
    bool has_oi;
    uint32_t next_page; /* index into oi for the next page */
    int64_t row;        /* rows consumed in this chunk */
    int64_t rg_rows;    /* rows in the chunk's row group */
    /* the batch being decoded (set per task) */
    uint64_t seq;        /* its sequence number */
    uint64_t released;   /* batches before this one the caller has released */
    pq_reader_stats *st; /* where its counters go */
} cursor;

typedef struct out_col {
    const fmt_field_t *field; /* output field */
    int32_t top;              /* index of the file's top-level field, -1 when missing */
    uint32_t first, ncur;     /* cursors */
} out_col;

typedef struct row_range {
    int64_t start, end;
} row_range;

/* One batch to produce (see plan_next). */
typedef struct batch_plan {
    uint32_t rg;    /* row group */
    bool load;      /* its first batch: the cursors load their chunks */
    bool whole;     /* the row group is read whole: no page skipping */
    int64_t skip;   /* rows to skip first */
    uint32_t nrows; /* 0 at the end */
} batch_plan;

typedef struct batch_slot {
    batch_plan plan;
    fmt_batch_t batch;
    pq_reader_stats stats; /* counted while planning and decoding it */
    uint32_t left;         /* output columns not yet decoded */
    bool failed;
    uint32_t err_col; /* the failed column of lowest index (nouts: the plan) */
    floe_err err;
} batch_slot;

enum { COL_IDLE, COL_BUSY, COL_FAILED };

#define PQ_MAX_THREADS 64
#define RUN_MAX 8 /* batches a claimed column may decode in a row */

struct pq_reader {
    pq_source src;
    arena_t arena; /* footer, schema */
    arena_t scan;  /* per scan */
    uint8_t *footer;
    pq_file_meta meta;
    fmt_schema_t schema;
    bool *synth_ids;
    /* leaves of the file schema */
    uint32_t nleaves;
    uint32_t *leaf_elem; /* schema element index per leaf */
    int32_t *leaf_top;   /* top-level field index per leaf */
    /* scan */
    pq_reader_opts opts;
    fmt_schema_t out_schema;
    out_col *outs;
    uint32_t nouts;
    cursor *curs;
    uint32_t ncurs;
    /* planning */
    uint32_t rg;     /* next row group */
    uint32_t rg_end; /* the scan stops before this row group */
    bool in_rg;
    uint32_t cur_rg; /* the row group being planned */
    bool rg_fresh;   /* no batch planned from it yet */
    bool rg_whole;   /* it is read whole */
    int64_t rg_row;  /* rows of it planned (read or skipped) */
    row_range *ranges;
    uint32_t nranges, range_i;
    /* the batch ring (see pq_reader_next) */
    batch_slot *slots;
    uint32_t nslots;
    uint64_t planned;   /* batches planned */
    uint64_t handed;    /* batches handed to the caller */
    uint64_t released;  /* batches the caller is done with */
    bool plan_done;     /* the last plan is the end or a failure */
    uint64_t *col_next; /* per output column: the batch it decodes next */
    uint8_t *col_state; /* COL_* */
    uint32_t run;       /* batches a claimed column decodes before it is let go */
    bool ended, failed;
    floe_err fail;    /* returned again after a failure */
    fmt_batch_t none; /* handed out at the end and after a failure: no rows */
    /* workers */
    pthread_t *workers;
    uint32_t nworkers;
    bool threaded; /* workers run: the lock is in use */
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv; /* a task or room to plan; a task done */
    uint32_t idle;                   /* workers waiting on work_cv */
    bool waiting, stop;              /* the caller waits on done_cv; workers must exit */
    pq_reader_stats stats;
    bool scanning;
};

static const char *rname(const pq_reader_t *r) { return r->src.name ? r->src.name : "parquet"; }

/* ---- schema mapping ---- */

typedef struct walk {
    pq_reader_t *r;
    uint32_t i; /* next schema element */
    int32_t next_id;
    floe_err *err;
} walk;

static bool map_primitive(pq_reader_t *r, const pq_schema_elem *e, fmt_field_t *f, floe_err *err) {
    const pq_logical *lt = &e->logical;
    int ct = e->converted;
    switch (e->type) {
    case PQ_BOOLEAN: f->type = FMT_BOOLEAN; return true;
    case PQ_INT32:
        if (lt->kind == PQ_LT_DECIMAL || ct == PQ_CT_DECIMAL) break;
        if (lt->kind == PQ_LT_DATE || ct == PQ_CT_DATE)
            f->type = FMT_DATE;
        else if (lt->kind == PQ_LT_TIME || ct == PQ_CT_TIME_MILLIS)
            f->type = FMT_TIME;
        else if ((lt->kind == PQ_LT_INTEGER && !lt->is_signed && lt->bit_width == 32) || ct == 13)
            f->type = FMT_LONG;
        else
            f->type = FMT_INT;
        return true;
    case PQ_INT64:
        if (lt->kind == PQ_LT_DECIMAL || ct == PQ_CT_DECIMAL) break;
        if (lt->kind == PQ_LT_TIMESTAMP) {
            bool ns = lt->unit == PQ_UNIT_NANOS;
            f->type = lt->utc ? (ns ? FMT_TIMESTAMPTZ_NS : FMT_TIMESTAMPTZ) : (ns ? FMT_TIMESTAMP_NS : FMT_TIMESTAMP);
        } else if (ct == PQ_CT_TIMESTAMP_MICROS || ct == PQ_CT_TIMESTAMP_MILLIS) {
            f->type = FMT_TIMESTAMPTZ; /* legacy annotations mean UTC-adjusted */
        } else if (lt->kind == PQ_LT_TIME || ct == PQ_CT_TIME_MICROS) {
            if (lt->kind == PQ_LT_TIME && lt->unit == PQ_UNIT_NANOS) {
                f->type = FMT_LONG; /* time in nanoseconds: keep the raw number */
            } else {
                f->type = FMT_TIME;
            }
        } else {
            f->type = FMT_LONG;
        }
        return true;
    case PQ_INT96: f->type = FMT_TIMESTAMP; return true;
    case PQ_FLOAT: f->type = FMT_FLOAT; return true;
    case PQ_DOUBLE: f->type = FMT_DOUBLE; return true;
    case PQ_BYTE_ARRAY:
        if (lt->kind == PQ_LT_DECIMAL || ct == PQ_CT_DECIMAL) break;
        if (lt->kind == PQ_LT_STRING || lt->kind == PQ_LT_ENUM || lt->kind == PQ_LT_JSON || ct == PQ_CT_UTF8 ||
            ct == PQ_CT_ENUM || ct == PQ_CT_JSON)
            f->type = FMT_STRING;
        else
            f->type = FMT_BINARY;
        return true;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (lt->kind == PQ_LT_DECIMAL || ct == PQ_CT_DECIMAL) break;
        if (e->type_length <= 0)
            return floe_err_set(err, FLOE_EINVAL, "%s: column '%s' is FIXED_LEN_BYTE_ARRAY without a positive length",
                                rname(r), e->name);
        if (lt->kind == PQ_LT_UUID && e->type_length == 16)
            f->type = FMT_UUID;
        else if (lt->kind == PQ_LT_FLOAT16 && e->type_length == 2)
            f->type = FMT_FLOAT;
        else {
            f->type = FMT_FIXED;
            f->length = e->type_length;
        }
        return true;
    default:
        return floe_err_set(err, FLOE_EINVAL, "%s: column '%s' has physical type %d; expected 0..7", rname(r), e->name,
                            e->type);
    }
    /* decimal */
    int32_t p = lt->kind == PQ_LT_DECIMAL ? lt->precision : e->precision;
    int32_t s = lt->kind == PQ_LT_DECIMAL ? lt->scale : e->scale;
    if (p < 1 || p > 38 || s < 0 || s > p)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: column '%s' is decimal(%d,%d); expected precision 1..38 and scale "
                            "0..precision",
                            rname(r), e->name, p, s);
    if (e->type == PQ_FIXED_LEN_BYTE_ARRAY && (e->type_length <= 0 || e->type_length > 16))
        return floe_err_set(err, FLOE_EINVAL, "%s: decimal column '%s' has fixed length %d; expected 1..16", rname(r),
                            e->name, e->type_length);
    f->type = FMT_DECIMAL;
    f->precision = p;
    f->scale = s;
    return true;
}

static bool walk_field(walk *w, fmt_field_t *f, int depth);

/* Reads element w->i as field f (its repetition already known). */
static bool walk_node(walk *w, fmt_field_t *f, int depth) {
    pq_reader_t *r = w->r;
    if (depth >= MAX_DEPTH - 2)
        return floe_err_set(w->err, FLOE_EINVAL, "%s: schema nests deeper than %d levels", rname(r), MAX_DEPTH - 2);
    if (w->i >= r->meta.nschema)
        return floe_err_set(w->err, FLOE_EINVAL, "%s: schema ends early; num_children promise more elements", rname(r));
    const pq_schema_elem *e = &r->meta.schema[w->i++];
    f->name = e->name;
    f->id = e->has_field_id ? e->field_id : -1;
    if (e->num_children == 0) {
        if (e->type < 0)
            return floe_err_set(w->err, FLOE_EINVAL, "%s: schema element '%s' has neither a type nor children",
                                rname(r), e->name);
        return map_primitive(r, e, f, w->err);
    }
    bool is_list = e->logical.kind == PQ_LT_LIST || e->converted == PQ_CT_LIST;
    bool is_map = e->logical.kind == PQ_LT_MAP || e->converted == PQ_CT_MAP || e->converted == PQ_CT_MAP_KEY_VALUE;
    if ((is_list || is_map) && e->num_children == 1 && w->i < r->meta.nschema &&
        r->meta.schema[w->i].repetition == PQ_REPEATED) {
        const pq_schema_elem *g = &r->meta.schema[w->i];
        if (is_list) {
            f->type = FMT_LIST;
            f->nchildren = 1;
            f->children = arena_zalloc(&r->arena, sizeof *f->children);
            fmt_field_t *el = &f->children[0];
            /* three-level: repeated group with one child; else two-level: the
             * repeated node is the element */
            bool three = g->num_children == 1 && strcmp(g->name, "array") && strcmp(g->name, "tuple");
            if (three) {
                w->i++; /* the repeated group */
                if (!walk_field(w, el, depth + 2)) return false;
            } else {
                return floe_err_set(w->err, FLOE_EINVAL,
                                    "%s: list '%s' uses the legacy two-level layout; Floe reads "
                                    "three-level lists",
                                    rname(r), e->name);
            }
            el->name = "element";
            return true;
        }
        if (g->num_children != 2)
            return floe_err_set(w->err, FLOE_EINVAL, "%s: map '%s' has a key_value group with %d children; expected 2",
                                rname(r), e->name, g->num_children);
        w->i++;
        f->type = FMT_MAP;
        f->nchildren = 2;
        f->children = arena_zalloc(&r->arena, 2 * sizeof *f->children);
        if (!walk_field(w, &f->children[0], depth + 2) || !walk_field(w, &f->children[1], depth + 2)) return false;
        f->children[0].name = "key";
        f->children[1].name = "value";
        f->children[0].required = true;
        return true;
    }
    f->type = FMT_STRUCT;
    f->nchildren = e->num_children;
    f->children = arena_zalloc(&r->arena, (size_t)e->num_children * sizeof *f->children);
    for (int32_t k = 0; k < e->num_children; k++)
        if (!walk_field(w, &f->children[k], depth + 1)) return false;
    return true;
}

static bool walk_field(walk *w, fmt_field_t *f, int depth) {
    pq_reader_t *r = w->r;
    if (w->i >= r->meta.nschema)
        return floe_err_set(w->err, FLOE_EINVAL, "%s: schema ends early; num_children promise more elements", rname(r));
    const pq_schema_elem *e = &r->meta.schema[w->i];
    if (e->repetition == PQ_REPEATED)
        return floe_err_set(w->err, FLOE_EINVAL,
                            "%s: field '%s' is a bare repeated field; Floe reads lists written "
                            "as LIST-annotated groups",
                            rname(r), e->name);
    f->required = e->repetition == PQ_REQUIRED;
    return walk_node(w, f, depth);
}

/* Fields without a Parquet field id get ids after the largest one present. */
static void fill_ids(fmt_field_t *f, int32_t *next) {
    for (int32_t i = 0; i < f->nchildren; i++)
        if (f->children[i].id < 0) f->children[i].id = (*next)++;
    for (int32_t i = 0; i < f->nchildren; i++) fill_ids(&f->children[i], next);
}

static int32_t max_file_id(const fmt_field_t *f) {
    int32_t m = f->id;
    for (int32_t i = 0; i < f->nchildren; i++) {
        int32_t c = max_file_id(&f->children[i]);
        if (c > m) m = c;
    }
    return m;
}

static bool build_schema(pq_reader_t *r, floe_err *err) {
    walk w = {.r = r, .i = 1, .err = err};
    const pq_schema_elem *root = &r->meta.schema[0];
    if (root->num_children <= 0) return floe_err_set(err, FLOE_EINVAL, "%s: the schema root has no columns", rname(r));
    fmt_field_t *rf = &r->schema.root;
    rf->type = FMT_STRUCT;
    rf->name = root->name;
    rf->required = true;
    rf->id = 0;
    rf->nchildren = root->num_children;
    rf->children = arena_zalloc(&r->arena, (size_t)root->num_children * sizeof *rf->children);
    for (int32_t i = 0; i < root->num_children; i++)
        if (!walk_field(&w, &rf->children[i], 1)) return false;
    if (w.i != r->meta.nschema)
        return floe_err_set(err, FLOE_EINVAL, "%s: schema has %u elements but the tree uses %u", rname(r),
                            r->meta.nschema, w.i);
    int32_t next = max_file_id(rf) + 1;
    if (next < 1) next = 1;
    fill_ids(rf, &next);
    fmt_schema_finish(&r->schema);
    /* leaves: schema elements without children, in order */
    uint32_t n = 0;
    for (uint32_t i = 1; i < r->meta.nschema; i++)
        if (r->meta.schema[i].num_children == 0) n++;
    r->nleaves = n;
    r->leaf_elem = arena_alloc(&r->arena, (n ? n : 1) * sizeof *r->leaf_elem);
    r->leaf_top = arena_alloc(&r->arena, (n ? n : 1) * sizeof *r->leaf_top);
    /* top-level owner of each leaf: walk the flattened tree */
    uint32_t li = 0, i = 1;
    for (int32_t t = 0; t < root->num_children; t++) {
        /* subtree size */
        int64_t pending = 1;
        while (pending > 0 && i < r->meta.nschema) {
            const pq_schema_elem *e = &r->meta.schema[i];
            pending += e->num_children - 1;
            if (e->num_children == 0) {
                r->leaf_elem[li] = i;
                r->leaf_top[li] = t;
                li++;
            }
            i++;
        }
    }
    for (uint32_t g = 0; g < r->meta.nrow_groups; g++) {
        const pq_row_group *rg = &r->meta.row_groups[g];
        if (rg->ncols != n)
            return floe_err_set(err, FLOE_EINVAL, "%s: row group %u has %u column chunks; the schema has %u leaves",
                                rname(r), g, rg->ncols, n);
        for (uint32_t c = 0; c < n; c++) {
            const pq_column_meta *cm = &rg->cols[c];
            const pq_schema_elem *e = &r->meta.schema[r->leaf_elem[c]];
            if (cm->type != e->type)
                return floe_err_set(err, FLOE_EINVAL, "%s: row group %u column %u has type %s; the schema says %s",
                                    rname(r), g, c, pq_type_name(cm->type), pq_type_name(e->type));
            if (cm->num_values < 0 || cm->total_compressed < 0 || cm->data_page_offset < 0 || rg->num_rows < 0)
                return floe_err_set(err, FLOE_EINVAL, "%s: row group %u column %u has negative sizes or offsets",
                                    rname(r), g, c);
        }
    }
    return true;
}

/* ---- open ---- */

pq_reader_t *pq_reader_open(const pq_source *src, floe_err *err) {
    pq_reader_t *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->src = *src;
    arena_init(&r->arena, 65536);
    arena_init(&r->scan, 65536);
    const char *name = rname(r);
    uint64_t size = src->size;
    if (size < 12) {
        floe_err_set(err, FLOE_EINVAL,
                     "%s: %llu bytes is too short for Parquet (expected at least 12: magic, footer "
                     "length, magic)",
                     name, (unsigned long long)size);
        goto fail;
    }
    size_t guess = size < 65536 ? (size_t)size : 65536;
    uint8_t *tail = malloc(guess);
    if (!tail) abort();
    if (!src->read(src->ctx, size - guess, tail, guess, err)) {
        free(tail);
        floe_err_wrap(err, "%s: reading the footer", name);
        goto fail;
    }
    r->stats.bytes_read += guess;
    if (memcmp(tail + guess - 4, "PAR1", 4)) {
        free(tail);
        floe_err_set(err, FLOE_EINVAL, "%s: the last 4 bytes are not the Parquet magic 'PAR1'%s", name,
                     "; the file is truncated or not Parquet");
        goto fail;
    }
    uint32_t flen;
    memcpy(&flen, tail + guess - 8, 4);
    if ((uint64_t)flen + 12 > size) {
        free(tail);
        floe_err_set(err, FLOE_EINVAL, "%s at byte %llu: footer length %u exceeds the file (%llu bytes)", name,
                     (unsigned long long)(size - 8), flen, (unsigned long long)size);
        goto fail;
    }
    r->footer = malloc(flen ? flen : 1);
    if (!r->footer) abort();
    if ((size_t)flen + 8 <= guess) {
        memcpy(r->footer, tail + guess - 8 - flen, flen);
    } else if (!src->read(src->ctx, size - 8 - flen, r->footer, flen, err)) {
        free(tail);
        floe_err_wrap(err, "%s: reading the footer", name);
        goto fail;
    } else {
        r->stats.bytes_read += flen;
    }
    free(tail);
    if (!pq_meta_decode(r->footer, flen, (size_t)(size - 8 - flen), name, &r->arena, &r->meta, err)) goto fail;
    if (!build_schema(r, err)) goto fail;
    return r;
fail:
    r->src.name = NULL; /* owned by the caller */
    pq_reader_free(r);
    return NULL;
}

const pq_file_meta *pq_reader_meta(const pq_reader_t *r) { return &r->meta; }
const fmt_schema_t *pq_reader_schema(const pq_reader_t *r) { return &r->schema; }
const pq_reader_stats *pq_reader_stats_get(const pq_reader_t *r) { return &r->stats; }

static void cursor_free(cursor *c) {
    free(c->chunk);
    for (uint32_t i = 0; i < c->ndicts; i++) {
        fmt_vec_free(c->dicts[i]);
        free(c->dicts[i]);
    }
    free(c->dicts);
    free(c->dict_use);
    arena_free(&c->oi_arena);
    buf_free(&c->dict_bytes);
    free(c->dict_offs);
    buf_free(&c->page);
    free(c->defs);
    free(c->reps);
    free(c->idx);
    free(c->vals);
    free(c->offs);
    buf_free(&c->bytes);
}

static bool ring_start(pq_reader_t *r, floe_err *err);
static void ring_stop(pq_reader_t *r);

static void scan_free(pq_reader_t *r) {
    ring_stop(r);
    for (uint32_t i = 0; i < r->ncurs; i++) cursor_free(&r->curs[i]);
    free(r->curs);
    r->curs = NULL;
    r->ncurs = 0;
    free(r->outs);
    r->outs = NULL;
    free(r->ranges);
    r->ranges = NULL;
    arena_free(&r->scan);
    r->scanning = false;
}

void pq_reader_free(pq_reader_t *r) {
    if (!r) return;
    scan_free(r);
    free(r->footer);
    arena_free(&r->arena);
    free(r);
}

/* ---- scan setup ---- */

/* Collects the leaf paths under f, in file (depth-first) order. */
typedef struct leaf_path {
    const fmt_field_t *path[MAX_DEPTH];
    int child[MAX_DEPTH];
    int depth;
} leaf_path;

static void collect_leaves(const fmt_field_t *f, leaf_path *cur, leaf_path *out, uint32_t *n, uint32_t cap) {
    cur->path[cur->depth++] = f;
    if (fmt_type_is_primitive(f->type)) {
        if (*n < cap) out[*n] = *cur;
        (*n)++;
    } else {
        for (int32_t i = 0; i < f->nchildren; i++) {
            cur->child[cur->depth - 1] = i;
            collect_leaves(&f->children[i], cur, out, n, cap);
        }
    }
    cur->depth--;
}

static uint32_t count_leaves(const fmt_field_t *f) {
    if (fmt_type_is_primitive(f->type)) return 1;
    uint32_t n = 0;
    for (int32_t i = 0; i < f->nchildren; i++) n += count_leaves(&f->children[i]);
    return n;
}

static conv_kind pick_conv(const pq_schema_elem *e, const fmt_field_t *out, int *pwidth) {
    *pwidth = 0;
    switch (e->type) {
    case PQ_BOOLEAN: *pwidth = 1; return CV_BOOL;
    case PQ_INT32:
        *pwidth = 4;
        if (out->type == FMT_TIME) return CV_MILLIS_I32;
        if ((e->logical.kind == PQ_LT_INTEGER && !e->logical.is_signed && e->logical.bit_width == 32) ||
            e->converted == 13)
            return CV_U32_TO_I64;
        if (fmt_type_width(out) == 8 || fmt_type_width(out) == 16) return CV_I32_TO_I64;
        return CV_COPY;
    case PQ_INT64: {
        *pwidth = 8;
        bool millis = (e->logical.kind == PQ_LT_TIMESTAMP && e->logical.unit == PQ_UNIT_MILLIS) ||
                      (e->logical.kind == PQ_LT_NONE && e->converted == PQ_CT_TIMESTAMP_MILLIS);
        if (millis) return CV_MILLIS_I64;
        if (fmt_type_width(out) == 16) return CV_I32_TO_I64; /* widened to int128 below */
        return CV_COPY;
    }
    case PQ_INT96: *pwidth = 12; return CV_INT96;
    case PQ_FLOAT: *pwidth = 4; return out->type == FMT_DOUBLE ? CV_I32_TO_I64 : CV_COPY;
    case PQ_DOUBLE: *pwidth = 8; return CV_COPY;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        *pwidth = e->type_length;
        if (out->type == FMT_DECIMAL) return CV_BE_DECIMAL;
        if (out->type == FMT_FLOAT && e->type_length == 2) return CV_FLOAT16;
        return CV_COPY;
    default:
        if (out->type == FMT_DECIMAL) return CV_BE_DECIMAL;
        return CV_BYTES;
    }
}

static const fmt_field_t *find_top(const fmt_field_t *root, int32_t id, int32_t *idx) {
    for (int32_t i = 0; i < root->nchildren; i++)
        if (root->children[i].id == id) {
            if (idx) *idx = i;
            return &root->children[i];
        }
    return NULL;
}

static bool same_shape(const fmt_field_t *a, const fmt_field_t *b) {
    if (fmt_type_is_primitive(a->type) != fmt_type_is_primitive(b->type)) return false;
    if (fmt_type_is_primitive(a->type)) return true;
    if (a->type != b->type || a->nchildren != b->nchildren) return false;
    for (int32_t i = 0; i < a->nchildren; i++)
        if (!same_shape(&a->children[i], &b->children[i])) return false;
    return true;
}

/* A copy of f (in a) with unannotated binary read as string. */
static void binary_to_string(fmt_field_t *f, arena_t *a) {
    if (f->type == FMT_BINARY) f->type = FMT_STRING;
    if (!f->nchildren) return;
    fmt_field_t *c = arena_alloc(a, (size_t)f->nchildren * sizeof *c);
    memcpy(c, f->children, (size_t)f->nchildren * sizeof *c);
    f->children = c;
    for (int32_t i = 0; i < f->nchildren; i++) binary_to_string(&c[i], a);
}

bool pq_reader_scan(pq_reader_t *r, const pq_reader_opts *opts, const fmt_schema_t *want, floe_err *err) {
    scan_free(r);
    arena_init(&r->scan, 65536);
    memset(&r->opts, 0, sizeof r->opts);
    if (opts) r->opts = *opts;
    if (!r->opts.batch_rows) r->opts.batch_rows = FMT_BATCH_ROWS;
    if (r->opts.npreds) {
        pq_pred *p = arena_alloc(&r->scan, r->opts.npreds * sizeof *p);
        memcpy(p, r->opts.preds, r->opts.npreds * sizeof *p);
        r->opts.preds = p;
    }
    const fmt_field_t *root = &r->schema.root;
    uint32_t nout = r->opts.field_ids ? r->opts.nfields : (uint32_t)root->nchildren;
    r->outs = calloc(nout ? nout : 1, sizeof *r->outs);
    if (!r->outs) abort();
    r->nouts = nout;
    fmt_field_t *ofields = arena_zalloc(&r->scan, (nout ? nout : 1) * sizeof *ofields);
    uint32_t total = 0;
    for (uint32_t i = 0; i < nout; i++) {
        int32_t top = -1;
        const fmt_field_t *ff =
            r->opts.field_ids ? find_top(root, r->opts.field_ids[i], &top) : (top = (int32_t)i, &root->children[i]);
        const fmt_field_t *wf = want ? find_top(&want->root, ff ? ff->id : r->opts.field_ids[i], NULL) : NULL;
        if (!ff && !wf)
            return floe_err_set(err, FLOE_EINVAL, "%s: no column has field id %d, and no type was given for it",
                                rname(r), r->opts.field_ids[i]);
        if (ff && wf && !same_shape(ff, wf))
            return floe_err_set(err, FLOE_EINVAL,
                                "%s: column '%s' (field id %d) is %s in the file but %s was asked for", rname(r),
                                ff->name, ff->id, fmt_type_name(ff->type), fmt_type_name(wf->type));
        ofields[i] = wf ? *wf : *ff;
        if (!wf && r->opts.binary_as_string) binary_to_string(&ofields[i], &r->scan);
        r->outs[i].field = &ofields[i];
        r->outs[i].top = ff ? top : -1;
        if (ff) total += count_leaves(ff);
    }
    r->out_schema.root.type = FMT_STRUCT;
    r->out_schema.root.name = "projection";
    r->out_schema.root.children = ofields;
    r->out_schema.root.nchildren = (int32_t)nout;
    fmt_schema_finish(&r->out_schema);

    r->curs = calloc(total ? total : 1, sizeof *r->curs);
    if (!r->curs) abort();
    leaf_path *lp = malloc((total ? total : 1) * sizeof *lp);
    if (!lp) abort();
    for (uint32_t i = 0; i < nout; i++) {
        out_col *oc = &r->outs[i];
        oc->first = r->ncurs;
        if (oc->top < 0) continue;
        /* leaves of the output field, in order; they match the file's
         * leaves under the same top-level field */
        uint32_t n = 0;
        leaf_path cur = {0};
        collect_leaves(oc->field, &cur, lp, &n, total);
        uint32_t fl = 0;
        while (fl < r->nleaves && r->leaf_top[fl] != oc->top) fl++;
        for (uint32_t k = 0; k < n; k++, fl++) {
            cursor *c = &r->curs[r->ncurs++];
            c->col = fl;
            c->elem = &r->meta.schema[r->leaf_elem[fl]];
            c->depth = lp[k].depth;
            memcpy(c->path, lp[k].path, sizeof c->path);
            memcpy(c->child, lp[k].child, sizeof c->child);
            int16_t def = 0, rep = 0;
            for (int d = 0; d < c->depth; d++) {
                const fmt_field_t *f = c->path[d];
                if (!f->required) def++;
                c->node[d].def = def;
                if (f->type == FMT_LIST || f->type == FMT_MAP) {
                    def++;
                    rep++;
                }
                c->node[d].rep = rep;
                bool first = true;
                for (int k2 = d; k2 < c->depth - 1; k2++)
                    if (c->child[k2] != 0) first = false;
                c->node[d].owner = first;
            }
            c->max_def = def;
            c->max_rep = rep;
            c->conv = pick_conv(c->elem, c->path[c->depth - 1], &c->pwidth);
            c->vwidth = fmt_type_width(c->path[c->depth - 1]);
            arena_init(&c->oi_arena, 4096);
        }
        oc->ncur = r->ncurs - oc->first;
    }
    free(lp);
    uint32_t ngroups = r->meta.nrow_groups;
    r->rg = r->opts.rg_first < ngroups ? r->opts.rg_first : ngroups;
    r->rg_end = r->opts.rg_count && r->opts.rg_count < ngroups - r->rg ? r->rg + r->opts.rg_count : ngroups;
    r->in_rg = false;
    r->scanning = true;
    return ring_start(r, err);
}

/* ---- pruning ---- */

/* Compares a plain-encoded statistic with the predicate's constant:
 * <0, 0, >0; *ok false when the types do not allow it. */
static int cmp_stat(const cursor *c, const uint8_t *v, uint32_t n, const pq_pred *p, bool *ok) {
    *ok = true;
    switch (c->elem->type) {
    case PQ_INT32:
        if (n == 4 && c->conv == CV_COPY) {
            int32_t x;
            memcpy(&x, v, 4);
            return x < p->i64 ? -1 : x > p->i64;
        }
        break;
    case PQ_INT64:
        if (n == 8 && c->conv == CV_COPY) {
            int64_t x;
            memcpy(&x, v, 8);
            return x < p->i64 ? -1 : x > p->i64;
        }
        break;
    case PQ_FLOAT:
        if (n == 4) {
            float x;
            memcpy(&x, v, 4);
            if (isnan(x)) break;
            return x < p->f64 ? -1 : x > p->f64;
        }
        break;
    case PQ_DOUBLE:
        if (n == 8) {
            double x;
            memcpy(&x, v, 8);
            if (isnan(x)) break;
            return x < p->f64 ? -1 : x > p->f64;
        }
        break;
    case PQ_BYTE_ARRAY:
        if (c->conv == CV_BYTES) {
            int k = memcmp(v, p->bytes, n < p->nbytes ? n : p->nbytes);
            return k ? k : (n < p->nbytes ? -1 : n > p->nbytes);
        }
        break;
    }
    *ok = false;
    return 0;
}

/* Can a range with these bounds hold a row satisfying p? */
static bool may_match(const cursor *c, const pq_pred *p, bool has_bounds, const uint8_t *mn, uint32_t mnn,
                      const uint8_t *mx, uint32_t mxn, bool has_nulls_info, int64_t nulls, int64_t values) {
    if (p->op == PQ_PRED_IS_NULL) return !has_nulls_info || nulls > 0;
    if (p->op == PQ_PRED_NOT_NULL) return !has_nulls_info || nulls < values;
    if (has_nulls_info && nulls == values && values > 0) return false; /* all null: no comparison holds */
    if (!has_bounds) return true;
    bool ok1, ok2;
    int lo = cmp_stat(c, mn, mnn, p, &ok1); /* min vs constant */
    int hi = cmp_stat(c, mx, mxn, p, &ok2); /* max vs constant */
    if (!ok1 || !ok2) return true;
    switch (p->op) {
    case PQ_PRED_EQ: return lo <= 0 && hi >= 0;
    case PQ_PRED_LT: return lo < 0;
    case PQ_PRED_LE: return lo <= 0;
    case PQ_PRED_GT: return hi > 0;
    case PQ_PRED_GE: return hi >= 0;
    default: return true;
    }
}

/* The flat cursor (if any) for a predicate's field id. */
static cursor *pred_cursor(pq_reader_t *r, const pq_pred *p) {
    for (uint32_t i = 0; i < r->ncurs; i++) {
        cursor *c = &r->curs[i];
        if (c->depth == 1 && c->path[0]->id == p->field_id) return c;
    }
    return NULL;
}

static bool rg_may_match(pq_reader_t *r, const pq_row_group *rg) {
    for (uint32_t i = 0; i < r->opts.npreds; i++) {
        const pq_pred *p = &r->opts.preds[i];
        cursor *c = pred_cursor(r, p);
        if (!c) continue;
        const pq_column_meta *cm = &rg->cols[c->col];
        if (!cm->has_stats) continue;
        const pq_stats *s = &cm->stats;
        /* legacy min/max of byte arrays used signed order: unusable */
        bool bounds = s->has_min && s->has_max && !(s->legacy && c->elem->type == PQ_BYTE_ARRAY);
        if (!may_match(c, p, bounds, s->min, s->min_len, s->max, s->max_len, s->has_null_count, s->null_count,
                       cm->num_values))
            return false;
    }
    return true;
}

static bool read_range(pq_reader_t *r, pq_reader_stats *st, int64_t off, int64_t len, uint8_t *buf, const char *what,
                       floe_err *err) {
    if (off < 0 || len < 0 || (uint64_t)off > r->src.size || (uint64_t)len > r->src.size - (uint64_t)off)
        return floe_err_set(err, FLOE_EINVAL, "%s: %s at byte %lld (%lld bytes) lies outside the file (%llu bytes)",
                            rname(r), what, (long long)off, (long long)len, (unsigned long long)r->src.size);
    if (!r->src.read(r->src.ctx, (uint64_t)off, buf, (size_t)len, err))
        return floe_err_wrap(err, "%s: %s", rname(r), what);
    st->bytes_read += (uint64_t)len;
    return true;
}

/* Row ranges of this row group that the page indexes cannot rule out. */
static bool select_ranges(pq_reader_t *r, const pq_row_group *rg, pq_reader_stats *st, floe_err *err) {
    free(r->ranges);
    r->ranges = malloc(sizeof *r->ranges);
    if (!r->ranges) abort();
    r->ranges[0] = (row_range){0, rg->num_rows};
    r->nranges = 1;
    r->range_i = 0;
    for (uint32_t i = 0; i < r->opts.npreds; i++) {
        const pq_pred *p = &r->opts.preds[i];
        cursor *c = pred_cursor(r, p);
        if (!c) continue;
        const pq_column_meta *cm = &rg->cols[c->col];
        if (cm->column_index_offset < 0 || cm->offset_index_offset < 0 || cm->column_index_length <= 0 ||
            cm->offset_index_length <= 0)
            continue;
        uint8_t *ci_buf = arena_alloc(&r->scan, (size_t)cm->column_index_length);
        uint8_t *oi_buf = arena_alloc(&r->scan, (size_t)cm->offset_index_length);
        if (!read_range(r, st, cm->column_index_offset, cm->column_index_length, ci_buf, "column index", err) ||
            !read_range(r, st, cm->offset_index_offset, cm->offset_index_length, oi_buf, "offset index", err))
            return false;
        char what[300];
        snprintf(what, sizeof what, "%s: column index", rname(r));
        thrift_reader tr;
        thrift_reader_init(&tr, ci_buf, (size_t)cm->column_index_length, (size_t)cm->column_index_offset, what, err);
        pq_column_index ci;
        if (!pq_column_index_decode(&tr, &r->scan, &ci)) return false;
        snprintf(what, sizeof what, "%s: offset index", rname(r));
        thrift_reader_init(&tr, oi_buf, (size_t)cm->offset_index_length, (size_t)cm->offset_index_offset, what, err);
        pq_offset_index oi;
        if (!pq_offset_index_decode(&tr, &r->scan, &oi)) return false;
        if (ci.npages != oi.npages) continue; /* inconsistent: do not prune */
        /* intersect the current ranges with the matching pages' rows */
        row_range *keep = malloc((oi.npages + r->nranges + 1) * sizeof *keep);
        if (!keep) abort();
        uint32_t nk = 0;
        for (uint32_t pg = 0; pg < oi.npages; pg++) {
            int64_t s = oi.pages[pg].first_row;
            int64_t e = pg + 1 < oi.npages ? oi.pages[pg + 1].first_row : rg->num_rows;
            if (s < 0 || e < s || e > rg->num_rows) {
                nk = 0;
                keep[nk++] = (row_range){0, rg->num_rows};
                break;
            }
            bool m = may_match(c, p, !ci.null_pages[pg], ci.min[pg], ci.min_len[pg], ci.max[pg], ci.max_len[pg],
                               ci.has_null_counts || ci.null_pages[pg],
                               ci.has_null_counts ? ci.null_counts[pg] : (ci.null_pages[pg] ? e - s : 0), e - s);
            if (ci.null_pages[pg] && p->op != PQ_PRED_IS_NULL) m = false;
            if (!m) continue;
            if (nk && keep[nk - 1].end == s)
                keep[nk - 1].end = e;
            else
                keep[nk++] = (row_range){s, e};
        }
        /* intersection */
        row_range *out = malloc((nk + r->nranges + 1) * sizeof *out);
        if (!out) abort();
        uint32_t no = 0, a = 0, b = 0;
        while (a < r->nranges && b < nk) {
            int64_t s = r->ranges[a].start > keep[b].start ? r->ranges[a].start : keep[b].start;
            int64_t e = r->ranges[a].end < keep[b].end ? r->ranges[a].end : keep[b].end;
            if (s < e) out[no++] = (row_range){s, e};
            if (r->ranges[a].end < keep[b].end)
                a++;
            else
                b++;
        }
        free(keep);
        free(r->ranges);
        r->ranges = out;
        r->nranges = no;
    }
    return true;
}

/* ---- pages ---- */

static bool cfail(pq_reader_t *r, cursor *c, floe_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool cfail(pq_reader_t *r, cursor *c, floe_err *err, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return floe_err_set(err, FLOE_EINVAL, "%s: column '%s' at byte %lld: %s", rname(r), c->elem->name,
                        (long long)(c->chunk_start + (int64_t)c->pos), msg);
}

static void *grow_arr(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    p = realloc(p, n * elem);
    if (!p) abort();
    *cap = n;
    return p;
}

/* A big-endian two's complement decimal of len bytes into a vector slot of
 * vwidth bytes (int32, int64 or int128). */
static void put_be_decimal(uint8_t *dst, int vwidth, const uint8_t *b, uint32_t len) {
    __int128 x = (len && (b[0] & 0x80)) ? -1 : 0;
    for (uint32_t k = 0; k < len && k < 16; k++) x = (__int128)(((unsigned __int128)x << 8) | b[k]);
    if (vwidth == 4) {
        int32_t y = (int32_t)x;
        memcpy(dst, &y, 4);
    } else if (vwidth == 8) {
        int64_t y = (int64_t)x;
        memcpy(dst, &y, 8);
    } else {
        memcpy(dst, &x, 16);
    }
}

/* Converts n physical values at src into vector values at dst. */
static void convert(const cursor *c, const uint8_t *src, uint8_t *dst, uint32_t n) {
    switch (c->conv) {
    case CV_COPY:
    case CV_BOOL: memcpy(dst, src, (size_t)n * (size_t)c->pwidth); return;
    case CV_I32_TO_I64:
        if (c->elem->type == PQ_FLOAT) {
            for (uint32_t i = 0; i < n; i++) {
                float f;
                memcpy(&f, src + 4 * i, 4);
                double d = f;
                memcpy(dst + 8 * i, &d, 8);
            }
        } else if (c->vwidth == 16) {
            for (uint32_t i = 0; i < n; i++) {
                __int128 x;
                if (c->pwidth == 4) {
                    int32_t y;
                    memcpy(&y, src + 4 * i, 4);
                    x = y;
                } else {
                    int64_t y;
                    memcpy(&y, src + 8 * i, 8);
                    x = y;
                }
                memcpy(dst + 16 * i, &x, 16);
            }
        } else {
            for (uint32_t i = 0; i < n; i++) {
                int32_t y;
                memcpy(&y, src + 4 * i, 4);
                int64_t x = y;
                memcpy(dst + 8 * i, &x, 8);
            }
        }
        return;
    case CV_U32_TO_I64:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t y;
            memcpy(&y, src + 4 * i, 4);
            int64_t x = y;
            memcpy(dst + 8 * i, &x, 8);
        }
        return;
    case CV_MILLIS_I32:
        for (uint32_t i = 0; i < n; i++) {
            int32_t y;
            memcpy(&y, src + 4 * i, 4);
            int64_t x = (int64_t)y * 1000;
            memcpy(dst + 8 * i, &x, 8);
        }
        return;
    case CV_MILLIS_I64:
        for (uint32_t i = 0; i < n; i++) {
            int64_t y;
            memcpy(&y, src + 8 * i, 8);
            int64_t x = (int64_t)((uint64_t)y * 1000);
            memcpy(dst + 8 * i, &x, 8);
        }
        return;
    case CV_INT96:
        for (uint32_t i = 0; i < n; i++) {
            int64_t nanos;
            int32_t julian;
            memcpy(&nanos, src + 12 * i, 8);
            memcpy(&julian, src + 12 * i + 8, 4);
            int64_t us = ((int64_t)julian - 2440588) * 86400000000LL + nanos / 1000;
            memcpy(dst + 8 * i, &us, 8);
        }
        return;
    case CV_BE_DECIMAL:
        for (uint32_t i = 0; i < n; i++)
            put_be_decimal(dst + (size_t)i * (size_t)c->vwidth, c->vwidth, src + (size_t)i * (size_t)c->pwidth,
                           (uint32_t)c->pwidth);
        return;
    case CV_FLOAT16:
        for (uint32_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
            int e = (h >> 10) & 0x1f, m = h & 0x3ff;
            float f = e == 0    ? ldexpf((float)m, -24)
                      : e == 31 ? (m ? NAN : INFINITY)
                                : ldexpf((float)(m | 0x400), e - 25);
            if (h & 0x8000) f = -f;
            memcpy(dst + 4 * i, &f, 4);
        }
        return;
    case CV_BYTES: return;
    }
}

/* Points c->dict at an empty dictionary no unreleased batch refers to. */
static void fresh_dict(cursor *c) {
    for (uint32_t i = 0; i < c->ndicts; i++)
        if (c->dict_use[i] <= c->released) {
            c->dict_i = i;
            c->dict = c->dicts[i];
            c->dict_use[i] = 0;
            fmt_vec_reset(c->dict);
            return;
        }
    uint32_t n = c->ndicts + 1;
    c->dicts = realloc(c->dicts, n * sizeof *c->dicts);
    c->dict_use = realloc(c->dict_use, n * sizeof *c->dict_use);
    if (!c->dicts || !c->dict_use) abort();
    c->dicts[c->ndicts] = malloc(sizeof **c->dicts);
    if (!c->dicts[c->ndicts]) abort();
    fmt_vec_init(c->dicts[c->ndicts], c->path[c->depth - 1]);
    c->dict_use[c->ndicts] = 0;
    c->dict_i = c->ndicts;
    c->dict = c->dicts[c->ndicts];
    c->ndicts = n;
}

/* Decodes n PLAIN values (fixed or byte array) from p into the dictionary. */
static bool load_dict(pq_reader_t *r, cursor *c, const uint8_t *p, size_t len, uint32_t n, floe_err *err) {
    fresh_dict(c);
    if (c->conv == CV_BYTES || (c->elem->type == PQ_BYTE_ARRAY)) {
        uint32_t *offs = malloc(((size_t)n + 1) * sizeof *offs);
        if (!offs) abort();
        buf_reset(&c->dict_bytes);
        offs[0] = 0;
        size_t used;
        if (!pq_plain_decode_byte_array(p, len, n, offs, &c->dict_bytes, &used, err)) {
            free(offs);
            return floe_err_wrap(err, "%s: column '%s' dictionary page", rname(r), c->elem->name);
        }
        if (c->conv == CV_BE_DECIMAL) {
            fmt_vec_reserve(c->dict, n);
            for (uint32_t i = 0; i < n; i++)
                put_be_decimal((uint8_t *)c->dict->values + (size_t)i * (size_t)c->vwidth, c->vwidth,
                               (const uint8_t *)c->dict_bytes.data + offs[i], offs[i + 1] - offs[i]);
            c->dict->len = n;
        } else {
            for (uint32_t i = 0; i < n; i++)
                fmt_vec_append_bytes(c->dict, c->dict_bytes.data + offs[i], offs[i + 1] - offs[i]);
        }
        free(offs);
    } else {
        size_t need = (size_t)n * (size_t)c->pwidth;
        if (c->elem->type == PQ_BOOLEAN) return cfail(r, c, err, "a boolean column has a dictionary page");
        if (need > len)
            return cfail(r, c, err, "dictionary of %u values needs %zu bytes; the page has %zu", n, need, len);
        fmt_vec_reserve(c->dict, n);
        convert(c, p, c->dict->values, n);
        c->dict->len = n;
    }
    c->has_dict = true;
    return true;
}

/* Decodes the value section of a data page: nval non-null values. */
static bool decode_values(pq_reader_t *r, cursor *c, int32_t enc, const uint8_t *p, size_t len, uint32_t nval,
                          floe_err *err) {
    c->page_is_dict = false;
    c->nval = nval;
    c->val_pos = 0;
    c->vals_p = NULL; /* PLAIN points it at the page; else the values are in vals */
    int t = c->elem->type;
    switch (enc) {
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        if (!c->has_dict) return cfail(r, c, err, "a dictionary-encoded page without a dictionary page");
        if (nval && len < 1) return cfail(r, c, err, "dictionary page data lacks its bit width byte");
        size_t cap = c->idx_cap;
        c->idx = grow_arr(c->idx, &cap, nval ? nval : 1, sizeof *c->idx);
        c->idx_cap = (uint32_t)cap;
        if (nval) {
            int bw = p[0];
            if (bw > 32) return cfail(r, c, err, "dictionary index bit width %d; expected 0..32", bw);
            if (!pq_rle_decode(p + 1, len - 1, bw, c->idx, nval, err))
                return floe_err_wrap(err, "%s: column '%s' dictionary indices", rname(r), c->elem->name);
            uint32_t nd = c->dict->len;
            if (!pq_indices_below(c->idx, nval, nd))
                return cfail(r, c, err, "a dictionary index is out of range (the dictionary has %u entries)", nd);
        }
        c->page_is_dict = true;
        return true;
    }
    case PQ_ENC_PLAIN:
        if (t == PQ_BYTE_ARRAY) {
            size_t cap = c->offs_cap;
            c->offs = grow_arr(c->offs, &cap, (size_t)nval + 1, sizeof *c->offs);
            c->offs_cap = (uint32_t)cap;
            buf_reset(&c->bytes);
            c->offs[0] = 0;
            size_t used;
            if (!pq_plain_decode_byte_array(p, len, nval, c->offs, &c->bytes, &used, err))
                return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
            c->bytes_p = (const uint8_t *)c->bytes.data;
            return true;
        }
        if (t == PQ_BOOLEAN) {
            c->vals = grow_arr(c->vals, &c->vals_cap, nval ? nval : 1, 1);
            if (!pq_plain_decode_bool(p, len, c->vals, nval, err))
                return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
            return true;
        }
        if ((size_t)nval * (size_t)c->pwidth > len)
            return cfail(r, c, err, "%u PLAIN values of %d bytes need %zu bytes; the page has %zu", nval, c->pwidth,
                         (size_t)nval * (size_t)c->pwidth, len);
        c->vals_p = p; /* no copy: the page buffer outlives the page's values */
        return true;
    case PQ_ENC_RLE:
        if (t != PQ_BOOLEAN)
            return cfail(r, c, err, "RLE encoding on a %s column; expected it only for booleans", pq_type_name(t));
        if (len < 4) return cfail(r, c, err, "RLE boolean data lacks its 4-byte length");
        {
            uint32_t l;
            memcpy(&l, p, 4);
            if (l > len - 4) return cfail(r, c, err, "RLE boolean length %u exceeds the page (%zu bytes)", l, len - 4);
            c->vals = grow_arr(c->vals, &c->vals_cap, nval ? nval : 1, 1);
            if (!pq_rle_decode_u8(p + 4, l, 1, c->vals, nval, err))
                return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
        }
        return true;
    case PQ_ENC_DELTA_BINARY_PACKED: {
        size_t count, used;
        if (t == PQ_INT32) {
            c->vals = grow_arr(c->vals, &c->vals_cap, (size_t)nval * 4 + 4, 1);
            if (!pq_delta_decode_i32(p, len, (int32_t *)c->vals, nval, &count, &used, err))
                return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
        } else if (t == PQ_INT64) {
            c->vals = grow_arr(c->vals, &c->vals_cap, (size_t)nval * 8 + 8, 1);
            if (!pq_delta_decode_i64(p, len, (int64_t *)c->vals, nval, &count, &used, err))
                return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
        } else {
            return cfail(r, c, err, "DELTA_BINARY_PACKED on a %s column", pq_type_name(t));
        }
        if (count != nval) return cfail(r, c, err, "delta stream holds %zu values; the page has %u", count, nval);
        return true;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if (t != PQ_BYTE_ARRAY && t != PQ_FIXED_LEN_BYTE_ARRAY)
            return cfail(r, c, err, "%s on a %s column", pq_encoding_name(enc), pq_type_name(t));
        size_t cap = c->offs_cap;
        c->offs = grow_arr(c->offs, &cap, (size_t)nval + 1, sizeof *c->offs);
        c->offs_cap = (uint32_t)cap;
        buf_reset(&c->bytes);
        c->offs[0] = 0;
        bool ok = enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY
                      ? pq_delta_length_decode(p, len, nval, c->offs, &c->bytes, err)
                      : pq_delta_byte_array_decode(p, len, nval, c->offs, &c->bytes, err);
        if (!ok) return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
        c->bytes_p = (const uint8_t *)c->bytes.data;
        if (t == PQ_FIXED_LEN_BYTE_ARRAY) {
            /* fixed values delivered as byte arrays: repack */
            for (uint32_t i = 0; i < nval; i++)
                if (c->offs[i + 1] - c->offs[i] != (uint32_t)c->pwidth)
                    return cfail(r, c, err, "value %u has %u bytes; the column is FIXED[%d]", i,
                                 c->offs[i + 1] - c->offs[i], c->pwidth);
            c->vals = grow_arr(c->vals, &c->vals_cap, (size_t)nval * (size_t)c->pwidth + 1, 1);
            memcpy(c->vals, c->bytes.data, (size_t)nval * (size_t)c->pwidth);
        }
        return true;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (t == PQ_BYTE_ARRAY || t == PQ_BOOLEAN)
            return cfail(r, c, err, "BYTE_STREAM_SPLIT on a %s column", pq_type_name(t));
        c->vals = grow_arr(c->vals, &c->vals_cap, (size_t)nval * (size_t)c->pwidth + 1, 1);
        if (!pq_byte_stream_split_decode(p, len, c->vals, nval, c->pwidth, err))
            return floe_err_wrap(err, "%s: column '%s'", rname(r), c->elem->name);
        return true;
    default: return cfail(r, c, err, "unsupported encoding %s (%d)", pq_encoding_name(enc), enc);
    }
}

/* Reads the whole column chunk for row group g. */
static bool cursor_load(pq_reader_t *r, cursor *c, const pq_row_group *rg, bool whole, floe_err *err) {
    const pq_column_meta *cm = &rg->cols[c->col];
    c->cm = cm;
    int64_t start = cm->data_page_offset;
    if (cm->dictionary_page_offset > 0 && cm->dictionary_page_offset < start) start = cm->dictionary_page_offset;
    if (cm->total_compressed <= 0 && cm->num_values > 0)
        return floe_err_set(err, FLOE_EINVAL, "%s: column '%s' has %lld values but %lld bytes", rname(r), c->elem->name,
                            (long long)cm->num_values, (long long)cm->total_compressed);
    if (cm->total_compressed > (int64_t)1 << 31)
        return floe_err_set(err, FLOE_ETOOLARGE, "%s: column '%s' chunk of %lld bytes exceeds 2 GiB", rname(r),
                            c->elem->name, (long long)cm->total_compressed);
    c->chunk = grow_arr(c->chunk, &c->chunk_cap, (size_t)cm->total_compressed + 1, 1); /* reused chunk to chunk */
    if (!read_range(r, c->st, start, cm->total_compressed, c->chunk, "column chunk", err)) return false;
    c->chunk_len = (size_t)cm->total_compressed;
    c->chunk_start = start;
    c->pos = 0;
    c->values_left = cm->num_values;
    c->has_dict = false;
    c->nlev = c->lev_pos = 0;
    c->nval = c->val_pos = 0;
    c->row = 0;
    c->rg_rows = rg->num_rows;
    c->has_oi = false;
    c->next_page = 0;
    arena_free(&c->oi_arena);
    if (!whole) {
        /* pages may be skipped: load the offset index */
        if (cm->offset_index_offset >= 0 && cm->offset_index_length > 0) {
            uint8_t *b = arena_alloc(&c->oi_arena, (size_t)cm->offset_index_length);
            if (!read_range(r, c->st, cm->offset_index_offset, cm->offset_index_length, b, "offset index", err))
                return false;
            thrift_reader tr;
            thrift_reader_init(&tr, b, (size_t)cm->offset_index_length, (size_t)cm->offset_index_offset, "offset index",
                               err);
            if (!pq_offset_index_decode(&tr, &c->oi_arena, &c->oi)) return false;
            c->has_oi = true;
        }
    }
    return true;
}

/* The page's bytes after decompression: in[0..n) itself when the chunk is
 * uncompressed, else out_len bytes decompressed into c->page. */
static bool page_bytes(pq_reader_t *r, cursor *c, const uint8_t *in, size_t n, size_t out_len, size_t page_at,
                       const uint8_t **p, size_t *plen, floe_err *err) {
    if (c->cm->codec == PQ_CODEC_UNCOMPRESSED) {
        *p = in, *plen = n;
        return true;
    }
    buf_reset(&c->page);
    buf_reserve(&c->page, out_len + 1);
    if (!pq_decompress(c->cm->codec, in, n, c->page.data, out_len, err))
        return floe_err_wrap(err, "%s: column '%s' page at byte %lld", rname(r), c->elem->name,
                             (long long)(c->chunk_start + (int64_t)page_at));
    *p = (const uint8_t *)c->page.data, *plen = out_len;
    return true;
}

/* Reads the next data page (after any dictionary page) into the cursor. */
static bool next_page(pq_reader_t *r, cursor *c, int64_t skip_rows, int64_t *skipped, floe_err *err) {
    *skipped = 0;
    for (;;) {
        if (c->pos >= c->chunk_len)
            return cfail(r, c, err, "the column chunk ends before its %lld values", (long long)c->cm->num_values);
        /* page skipping by the offset index */
        if (c->has_oi && skip_rows > 0) {
            while (c->next_page < c->oi.npages) {
                const pq_page_location *pl = &c->oi.pages[c->next_page];
                int64_t rows =
                    (c->next_page + 1 < c->oi.npages ? c->oi.pages[c->next_page + 1].first_row : c->rg_rows) -
                    pl->first_row;
                int64_t at = pl->offset - c->chunk_start;
                if (pl->first_row != c->row || at < 0 || (uint64_t)at != c->pos || rows <= 0 || rows > skip_rows) break;
                int64_t next = c->next_page + 1 < c->oi.npages ? c->oi.pages[c->next_page + 1].offset - c->chunk_start
                                                               : (int64_t)c->chunk_len;
                if (next < at || (uint64_t)next > c->chunk_len) break;
                c->pos = (size_t)next;
                c->row += rows;
                skip_rows -= rows;
                *skipped += rows;
                c->next_page++;
                c->st->pages_skipped++;
            }
            if (*skipped) return true;
        }
        char what[300];
        snprintf(what, sizeof what, "%s: column '%s' page header", rname(r), c->elem->name);
        thrift_reader tr;
        thrift_reader_init(&tr, c->chunk + c->pos, c->chunk_len - c->pos, (size_t)c->chunk_start + c->pos, what, err);
        pq_page_header h;
        if (!pq_page_header_decode(&tr, &h)) return false;
        size_t hl = thrift_reader_pos(&tr);
        if ((size_t)h.compressed_size > c->chunk_len - c->pos - hl)
            return cfail(r, c, err, "page of %d bytes runs past the column chunk (%zu bytes left)", h.compressed_size,
                         c->chunk_len - c->pos - hl);
        const uint8_t *data = c->chunk + c->pos + hl;
        size_t dlen = (size_t)h.compressed_size;
        size_t page_at = c->pos;
        c->pos += hl + dlen;
        if (h.uncompressed_size > (64 << 20) * 16)
            return cfail(r, c, err, "page claims %d uncompressed bytes; expected at most 1 GiB", h.uncompressed_size);
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (c->has_dict) return cfail(r, c, err, "a second dictionary page");
            if (h.encoding != PQ_ENC_PLAIN && h.encoding != PQ_ENC_PLAIN_DICTIONARY)
                return cfail(r, c, err, "dictionary page encoded %s; expected PLAIN", pq_encoding_name(h.encoding));
            const uint8_t *p;
            size_t plen;
            if (!page_bytes(r, c, data, dlen, (size_t)h.uncompressed_size, page_at, &p, &plen, err)) return false;
            if (h.num_values < 0 || (uint64_t)h.num_values > plen * 8 + 8)
                return cfail(r, c, err, "dictionary of %d values cannot fit in %zu bytes", h.num_values, plen);
            if (!load_dict(r, c, p, plen, (uint32_t)h.num_values, err)) return false;
            continue;
        }
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2) continue; /* index pages and unknown kinds */
        /* a data page */
        bool v2 = h.type == PQ_PAGE_DATA_V2;
        uint32_t nlev = (uint32_t)h.num_values;
        if ((int64_t)nlev > c->values_left)
            return cfail(r, c, err, "page has %u values; only %lld remain in the column chunk", nlev,
                         (long long)c->values_left);
        c->values_left -= nlev;
        size_t cap = c->lev_cap;
        if (c->max_def) c->defs = grow_arr(c->defs, &cap, nlev ? nlev : 1, 1);
        cap = c->lev_cap;
        if (c->max_rep) c->reps = grow_arr(c->reps, &cap, nlev ? nlev : 1, 1);
        c->lev_cap = (uint32_t)cap;
        const uint8_t *p;
        size_t plen;
        const uint8_t *rep_p = NULL, *def_p = NULL;
        size_t rep_len = 0, def_len = 0;
        if (v2) {
            size_t lv = (size_t)h.rep_length + (size_t)h.def_length;
            if (lv > dlen)
                return cfail(r, c, err, "level lengths (%d + %d) exceed the page (%zu bytes)", h.rep_length,
                             h.def_length, dlen);
            rep_p = data, rep_len = (size_t)h.rep_length;
            def_p = data + rep_len, def_len = (size_t)h.def_length;
            if (h.is_compressed && c->cm->codec != PQ_CODEC_UNCOMPRESSED) {
                if ((size_t)h.uncompressed_size < lv)
                    return cfail(r, c, err, "uncompressed size is smaller than the levels");
                if (!page_bytes(r, c, data + lv, dlen - lv, (size_t)h.uncompressed_size - lv, page_at, &p, &plen, err))
                    return false;
            } else {
                p = data + lv, plen = dlen - lv;
            }
        } else {
            if (!page_bytes(r, c, data, dlen, (size_t)h.uncompressed_size, page_at, &p, &plen, err)) return false;
            /* v1 levels carry a 4-byte length prefix */
            if (c->max_rep) {
                if (h.rep_encoding != PQ_ENC_RLE)
                    return cfail(r, c, err, "repetition levels encoded %s; expected RLE",
                                 pq_encoding_name(h.rep_encoding));
                uint32_t l;
                if (plen < 4) return cfail(r, c, err, "page too short for its repetition levels");
                memcpy(&l, p, 4);
                if (l > plen - 4) return cfail(r, c, err, "repetition levels of %u bytes exceed the page", l);
                rep_p = p + 4, rep_len = l;
                p += 4 + l, plen -= 4 + (size_t)l;
            }
            if (c->max_def) {
                if (h.def_encoding != PQ_ENC_RLE)
                    return cfail(r, c, err, "definition levels encoded %s; expected RLE",
                                 pq_encoding_name(h.def_encoding));
                uint32_t l;
                if (plen < 4) return cfail(r, c, err, "page too short for its definition levels");
                memcpy(&l, p, 4);
                if (l > plen - 4) return cfail(r, c, err, "definition levels of %u bytes exceed the page", l);
                def_p = p + 4, def_len = l;
                p += 4 + l, plen -= 4 + (size_t)l;
            }
        }
        if (c->max_rep && !pq_rle_decode_u8(rep_p, rep_len, pq_bit_width((uint64_t)c->max_rep), c->reps, nlev, err))
            return floe_err_wrap(err, "%s: column '%s' repetition levels", rname(r), c->elem->name);
        uint32_t nval = nlev, one;
        int def_bw = pq_bit_width((uint64_t)c->max_def);
        c->all_def = false;
        if (c->max_def && c->depth == 1 && pq_rle_single_run(def_p, def_len, def_bw, nlev, &one) &&
            one == (uint32_t)c->max_def) {
            c->all_def = true; /* no nulls on the page: the levels need not exist */
        } else if (c->max_def) {
            if (!pq_rle_decode_u8(def_p, def_len, def_bw, c->defs, nlev, err))
                return floe_err_wrap(err, "%s: column '%s' definition levels", rname(r), c->elem->name);
            bool over;
            nval = (uint32_t)pq_count_levels(c->defs, nlev, (uint8_t)c->max_def, &over);
            if (over) return cfail(r, c, err, "a definition level exceeds the maximum %d", c->max_def);
        }
        if (c->max_rep) {
            uint8_t mr = (uint8_t)c->max_rep, bad = 0;
            for (uint32_t i = 0; i < nlev; i++) bad |= c->reps[i] > mr;
            if (bad || (nlev && c->reps[0] != 0))
                return cfail(r, c, err, "repetition levels exceed %d or the page starts inside a row", c->max_rep);
        }
        if (!decode_values(r, c, h.encoding, p, plen, nval, err)) return false;
        c->nlev = nlev;
        c->lev_pos = 0;
        c->next_page++;
        c->st->pages++;
        return true;
    }
}

/* ---- rows into vectors ---- */

static bool ensure_levels(pq_reader_t *r, cursor *c, floe_err *err) {
    if (c->lev_pos < c->nlev) return true;
    int64_t skipped;
    return next_page(r, c, 0, &skipped, err);
}

static void set_valid_range(fmt_vec_t *v, uint32_t from, uint32_t n) {
    if (!v->validity) return;
    for (uint32_t i = from; i < from + n; i++) fmt_bit_set(v->validity, i, true);
}

/* The current page's decoded fixed-width values. */
static const uint8_t *page_vals(const cursor *c) { return c->vals_p ? c->vals_p : c->vals; }

/* Appends the cursor's next non-null value to v (slow path: nested). */
static void append_value(cursor *c, fmt_vec_t *v) {
    uint32_t k = c->val_pos++;
    if (c->elem->type == PQ_BYTE_ARRAY && c->conv == CV_BYTES) {
        if (c->page_is_dict) {
            uint32_t n;
            const uint8_t *p = fmt_vec_bytes(c->dict, c->idx[k], &n);
            fmt_vec_append_bytes(v, p, n);
        } else {
            fmt_vec_append_bytes(v, c->bytes_p + c->offs[k], c->offs[k + 1] - c->offs[k]);
        }
        return;
    }
    fmt_vec_reserve(v, 1);
    uint8_t *dst = (uint8_t *)v->values + (size_t)v->len * (size_t)c->vwidth;
    if (c->page_is_dict) {
        memcpy(dst, (const uint8_t *)c->dict->values + (size_t)c->idx[k] * (size_t)c->vwidth, (size_t)c->vwidth);
    } else if (c->elem->type == PQ_BYTE_ARRAY) { /* decimal in byte arrays */
        put_be_decimal(dst, c->vwidth, c->bytes_p + c->offs[k], c->offs[k + 1] - c->offs[k]);
    } else {
        convert(c, page_vals(c) + (size_t)k * (size_t)c->pwidth, dst, 1);
    }
    if (v->validity) fmt_bit_set(v->validity, v->len, true);
    v->len++;
}

/* Flat column: n rows into v. */
static bool flat_read(pq_reader_t *r, cursor *c, fmt_vec_t *v, uint32_t n, floe_err *err) {
    bool bytes = c->elem->type == PQ_BYTE_ARRAY && c->conv == CV_BYTES;
    while (n > 0) {
        if (!ensure_levels(r, c, err)) return false;
        uint32_t k = c->nlev - c->lev_pos;
        if (k > n) k = n;
        const uint8_t *defs = c->max_def && !c->all_def ? c->defs + c->lev_pos : NULL;
        uint8_t md = (uint8_t)c->max_def;
        bool over;
        uint32_t nn = defs ? (uint32_t)pq_count_levels(defs, k, md, &over) : k;
        uint32_t base = v->len;
        fmt_vec_reserve(v, k);
        if (bytes && c->page_is_dict && (v->dict == c->dict || (v->len == 0 && !v->dict))) {
            /* keep dictionary form: indices into the chunk's dictionary */
            if (v->idx_cap < v->len + k) {
                uint32_t ncap = v->idx_cap ? v->idx_cap : 1024;
                while (ncap < v->len + k) ncap *= 2;
                v->values = realloc(v->values, (size_t)ncap * 4);
                if (!v->values) abort();
                v->idx_cap = ncap;
            }
            v->dict = c->dict;
            c->dict_use[c->dict_i] = c->seq + 1;
            uint32_t *dst = (uint32_t *)v->values + base;
            if (!defs || nn == k) {
                memcpy(dst, c->idx + c->val_pos, (size_t)k * 4);
                c->val_pos += k;
            } else {
                const uint32_t *ix = c->idx;
                uint32_t at = c->val_pos; /* locals: no reloads through c in the loop */
                for (uint32_t i = 0; i < k; i++) {
                    dst[i] = defs[i] == md ? ix[at] : 0;
                    at += defs[i] == md;
                }
                c->val_pos = at;
            }
            /* offsets stay as they are; fill them flat so a consumer that
             * ignores dict sees empty strings, never garbage */
            pq_fill_u32(v->offsets + base + 1, k, v->offsets[base]);
        } else if (bytes) {
            if (v->dict) {
                /* the chunk left dictionary encoding mid-batch: materialize */
                fmt_vec_t *d = v->dict;
                uint32_t *ix = (uint32_t *)v->values;
                v->dict = NULL;
                uint32_t len = v->len;
                v->len = 0;
                v->bytes_len = 0;
                v->offsets[0] = 0;
                for (uint32_t i = 0; i < len; i++) {
                    uint32_t l;
                    const uint8_t *p = fmt_vec_valid(v, i) ? fmt_vec_bytes(d, ix[i], &l) : (l = 0, NULL);
                    fmt_vec_reserve_bytes(v, l);
                    if (l) memcpy(v->bytes + v->bytes_len, p, l);
                    v->bytes_len += l;
                    v->offsets[i + 1] = v->bytes_len;
                }
                v->len = len;
                base = len;
            }
            for (uint32_t i = 0; i < k; i++) {
                if (defs && defs[i] != md) {
                    v->offsets[base + i + 1] = v->bytes_len;
                    continue;
                }
                uint32_t l;
                const uint8_t *p;
                if (c->page_is_dict) {
                    p = fmt_vec_bytes(c->dict, c->idx[c->val_pos++], &l);
                } else {
                    uint32_t j = c->val_pos++;
                    p = c->bytes_p + c->offs[j];
                    l = c->offs[j + 1] - c->offs[j];
                }
                fmt_vec_reserve_bytes(v, l);
                memcpy(v->bytes + v->bytes_len, p, l);
                v->bytes_len += l;
                v->offsets[base + i + 1] = v->bytes_len;
            }
        } else {
            uint8_t *dst = (uint8_t *)v->values + (size_t)base * (size_t)c->vwidth;
            size_t vw = (size_t)c->vwidth;
            if (c->page_is_dict) {
                const uint8_t *dv = c->dict->values;
                const uint32_t *ix = c->idx + c->val_pos;
                if (!defs && vw == 8) {
                    for (uint32_t i = 0; i < k; i++) memcpy(dst + i * 8, dv + (size_t)ix[i] * 8, 8);
                    c->val_pos += k;
                } else {
                    uint32_t at = 0;
                    for (uint32_t i = 0; i < k; i++) {
                        if (defs && defs[i] != md) {
                            memset(dst + i * vw, 0, vw);
                            continue;
                        }
                        memcpy(dst + i * vw, dv + (size_t)ix[at++] * vw, vw);
                    }
                    c->val_pos += at;
                }
            } else if (c->elem->type == PQ_BYTE_ARRAY) { /* decimals in byte arrays */
                for (uint32_t i = 0; i < k; i++) {
                    if (defs && defs[i] != md) {
                        memset(dst + i * vw, 0, vw);
                        continue;
                    }
                    uint32_t j = c->val_pos++;
                    put_be_decimal(dst + i * vw, c->vwidth, c->bytes_p + c->offs[j], c->offs[j + 1] - c->offs[j]);
                }
            } else if (!defs || nn == k) {
                convert(c, page_vals(c) + (size_t)c->val_pos * (size_t)c->pwidth, dst, k);
                c->val_pos += k;
            } else {
                for (uint32_t i = 0; i < k; i++) {
                    if (defs[i] != md) {
                        memset(dst + i * vw, 0, vw);
                        continue;
                    }
                    convert(c, page_vals(c) + (size_t)c->val_pos * (size_t)c->pwidth, dst + i * vw, 1);
                    c->val_pos++;
                }
            }
        }
        if (defs && nn < k) {
            fmt_vec_ensure_validity(v);
            pq_levels_to_bits(v->validity, base, defs, k, md);
            v->null_count += k - nn;
        } else {
            set_valid_range(v, base, k);
        }
        v->len = base + k;
        c->lev_pos += k;
        c->row += k;
        n -= k;
    }
    return true;
}

/* Skips n rows of a flat column. */
static bool flat_skip(pq_reader_t *r, cursor *c, int64_t n, floe_err *err) {
    while (n > 0) {
        if (c->lev_pos == c->nlev) {
            int64_t skipped;
            if (!next_page(r, c, n, &skipped, err)) return false;
            n -= skipped;
            continue;
        }
        uint32_t k = c->nlev - c->lev_pos;
        if (k > n) k = (uint32_t)n;
        bool over;
        uint32_t nn = c->max_def && !c->all_def
                          ? (uint32_t)pq_count_levels(c->defs + c->lev_pos, k, (uint8_t)c->max_def, &over)
                          : k;
        c->val_pos += nn;
        c->lev_pos += k;
        c->row += k;
        n -= k;
    }
    return true;
}

static void push_struct(fmt_vec_t *v, bool valid) {
    fmt_vec_reserve(v, 1);
    if (!valid) {
        fmt_vec_ensure_validity(v);
        v->null_count++;
    }
    if (v->validity) fmt_bit_set(v->validity, v->len, valid);
    v->len++;
}

/* A null at node d: one null slot in each vector this leaf owns below it,
 * down to the first list or map. */
static void null_from(cursor *c, fmt_vec_t **vecs, int d) {
    for (int e = d; e < c->depth; e++) {
        const fmt_field_t *f = c->path[e];
        if (c->node[e].owner) {
            if (f->type == FMT_STRUCT)
                push_struct(vecs[e], false);
            else
                fmt_vec_append_null(vecs[e]);
        }
        if (f->type == FMT_LIST || f->type == FMT_MAP) break;
    }
}

static bool fill(pq_reader_t *r, cursor *c, fmt_vec_t **vecs, int d, floe_err *err) {
    if (!ensure_levels(r, c, err)) return false;
    int16_t def = c->max_def ? c->defs[c->lev_pos] : 0;
    const fmt_field_t *f = c->path[d];
    if (!f->required && def < c->node[d].def) {
        null_from(c, vecs, d);
        c->lev_pos++;
        return true;
    }
    switch (f->type) {
    case FMT_STRUCT:
        if (c->node[d].owner) push_struct(vecs[d], true);
        return fill(r, c, vecs, d + 1, err);
    case FMT_LIST:
    case FMT_MAP:
        if (def < c->node[d].def + 1) { /* present but empty */
            c->lev_pos++;
            if (c->node[d].owner) fmt_vec_close_list(vecs[d]);
            return true;
        }
        for (;;) {
            if (!fill(r, c, vecs, d + 1, err)) return false;
            if (c->lev_pos == c->nlev && c->values_left == 0) break;
            if (!ensure_levels(r, c, err)) return false;
            if (c->reps[c->lev_pos] != c->node[d].rep) break;
        }
        if (c->node[d].owner) fmt_vec_close_list(vecs[d]);
        return true;
    default:
        if (def == c->max_def) {
            if (c->val_pos >= c->nval) return cfail(r, c, err, "more defined levels than values");
            append_value(c, vecs[d]);
        } else {
            return cfail(r, c, err, "definition level %d below a required leaf (maximum %d)", def, c->max_def);
        }
        c->lev_pos++;
        return true;
    }
}

static bool nested_read(pq_reader_t *r, cursor *c, fmt_vec_t *top, uint32_t n, bool skip, floe_err *err) {
    fmt_vec_t *vecs[MAX_DEPTH];
    fmt_vec_t scratch[MAX_DEPTH];
    if (skip) {
        /* decode into throwaway vectors */
        memset(scratch, 0, sizeof scratch);
        fmt_vec_init(&scratch[0], c->path[0]);
        top = &scratch[0];
    }
    vecs[0] = top;
    for (int d = 0; d + 1 < c->depth; d++) vecs[d + 1] = &vecs[d]->children[c->child[d]];
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        ok = fill(r, c, vecs, 0, err);
        c->row++;
        if (ok && !(c->lev_pos == c->nlev && c->values_left == 0)) {
            ok = ensure_levels(r, c, err);
            if (ok && c->max_rep && c->reps[c->lev_pos] != 0)
                ok = cfail(r, c, err, "a row does not end where the next begins");
        }
    }
    if (skip) fmt_vec_free(&scratch[0]);
    return ok;
}

static bool cursor_rows(pq_reader_t *r, cursor *c, fmt_vec_t *top, uint32_t n, floe_err *err) {
    if (c->depth == 1) return flat_read(r, c, top, n, err);
    return nested_read(r, c, top, n, false, err);
}

static bool cursor_skip(pq_reader_t *r, cursor *c, int64_t n, floe_err *err) {
    if (c->depth == 1) return flat_skip(r, c, n, err);
    while (n > 0) {
        uint32_t k = n > 4096 ? 4096 : (uint32_t)n;
        if (!nested_read(r, c, NULL, k, true, err)) return false;
        n -= k;
    }
    return true;
}

/* ---- planning: which rows each batch holds ---- */

/* Moves to the next row group pruning keeps; r->in_rg stays false at the
 * end. */
static bool start_row_group(pq_reader_t *r, pq_reader_stats *st, floe_err *err) {
    while (r->rg < r->rg_end) {
        uint32_t g = r->rg++;
        const pq_row_group *rg = &r->meta.row_groups[g];
        st->row_groups++;
        if (rg->num_rows == 0) continue;
        if (!rg_may_match(r, rg)) {
            st->row_groups_skipped++;
            continue;
        }
        r->rg_row = 0;
        if (!select_ranges(r, rg, st, err)) return false;
        if (r->nranges == 0) {
            st->row_groups_skipped++;
            continue;
        }
        r->cur_rg = g;
        r->rg_whole = r->nranges == 1 && r->ranges[0].start == 0 && r->ranges[0].end == rg->num_rows;
        r->rg_fresh = true;
        r->in_rg = true;
        return true;
    }
    return true;
}

/* The next batch: its row group, the rows to skip before it, its rows
 * (none at the end). Planning only reads metadata and page indexes; the
 * cursors act on the plan when the batch is decoded. */
static bool plan_next(pq_reader_t *r, batch_plan *p, pq_reader_stats *st, floe_err *err) {
    memset(p, 0, sizeof *p);
    for (;;) {
        if (!r->in_rg) {
            if (!start_row_group(r, st, err)) return false;
            if (!r->in_rg) return true; /* the end */
        }
        if (r->range_i >= r->nranges) {
            r->in_rg = false;
            continue;
        }
        row_range rr = r->ranges[r->range_i];
        int64_t skip = r->rg_row < rr.start ? rr.start - r->rg_row : 0;
        int64_t left = rr.end - (r->rg_row + skip);
        if (left <= 0) {
            r->range_i++;
            continue;
        }
        p->rg = r->cur_rg;
        p->load = r->rg_fresh;
        p->whole = r->rg_whole;
        p->skip = skip;
        p->nrows = left < r->opts.batch_rows ? (uint32_t)left : r->opts.batch_rows;
        r->rg_fresh = false;
        r->rg_row += skip + p->nrows;
        if (r->rg_row >= rr.end) r->range_i++;
        return true;
    }
}

/* ---- decoding: one output column of one batch ---- */

static bool decode_column_into(pq_reader_t *r, uint32_t i, const batch_plan *p, fmt_vec_t *v, floe_err *err) {
    const out_col *oc = &r->outs[i];
    fmt_vec_reset(v);
    if (oc->top < 0) {
        for (uint32_t k = 0; k < p->nrows; k++) fmt_vec_append_null(v);
        return true;
    }
    for (uint32_t k = 0; k < oc->ncur; k++) {
        cursor *c = &r->curs[oc->first + k];
        if (p->load && !cursor_load(r, c, &r->meta.row_groups[p->rg], p->whole, err)) return false;
        if (p->skip && !cursor_skip(r, c, p->skip, err)) return false;
        if (!cursor_rows(r, c, v, p->nrows, err)) return false;
    }
    return true;
}

/* Decodes into a copy of the vector's header: the headers of a batch's
 * columns share cache lines, and threads decode different columns. */
static bool decode_column(pq_reader_t *r, uint32_t i, const batch_plan *p, fmt_vec_t *out, floe_err *err) {
    fmt_vec_t v = *out;
    bool ok = decode_column_into(r, i, p, &v, err);
    *out = v;
    return ok;
}

/* ---- the batch ring and its threads ----
 *
 * Batches are planned in order into a ring of slots. Each (output column,
 * batch) pair is a task; a column decodes its batches in order, one task at
 * a time, because its cursors are sequential. Whoever is free (the caller
 * inside pq_reader_next, or a worker) takes the column that is furthest
 * behind, so the threads share the work whatever the columns cost, and the
 * caller never waits while there is a task it could do. Without workers the
 * ring has one slot and the caller plans and decodes each batch itself, in
 * the same code. The lock guards the ring, the plan state and the column
 * states; a task runs without it, touching only its column's cursors and
 * vector, and counts into a private pq_reader_stats added to the slot's. */

static batch_slot *slot_of(pq_reader_t *r, uint64_t seq) { return &r->slots[seq % r->nslots]; }

static void ring_lock(pq_reader_t *r) {
    if (r->threaded) pthread_mutex_lock(&r->mu);
}

static void ring_unlock(pq_reader_t *r) {
    if (r->threaded) pthread_mutex_unlock(&r->mu);
}

static void wake_workers(pq_reader_t *r) {
    if (r->idle) pthread_cond_broadcast(&r->work_cv);
}

static void stats_add(pq_reader_stats *to, const pq_reader_stats *from) {
    to->row_groups += from->row_groups;
    to->row_groups_skipped += from->row_groups_skipped;
    to->pages += from->pages;
    to->pages_skipped += from->pages_skipped;
    to->bytes_read += from->bytes_read;
}

static bool can_plan(const pq_reader_t *r) { return !r->plan_done && r->planned < r->released + r->nslots; }

static void plan_one(pq_reader_t *r) {
    uint64_t seq = r->planned++;
    batch_slot *s = slot_of(r, seq);
    memset(&s->stats, 0, sizeof s->stats);
    s->failed = false;
    floe_err_clear(&s->err);
    s->left = 0;
    if (!plan_next(r, &s->plan, &s->stats, &s->err)) {
        s->failed = true;
        s->err_col = r->nouts;
        s->plan.nrows = 0;
    }
    s->batch.nrows = s->plan.nrows;
    if (s->plan.nrows)
        s->left = r->nouts;
    else
        r->plan_done = true; /* the end, or a planning error */
    wake_workers(r);
}

/* Takes the free column furthest behind that has a planned batch to
 * decode; -1 when there is none. */
static int64_t claim(pq_reader_t *r) {
    uint64_t limit = r->plan_done ? r->planned - 1 : r->planned;
    int64_t best = -1;
    for (uint32_t i = 0; i < r->nouts; i++)
        if (r->col_state[i] == COL_IDLE && r->col_next[i] < limit && (best < 0 || r->col_next[i] < r->col_next[best]))
            best = i;
    if (best >= 0) r->col_state[best] = COL_BUSY;
    return best;
}

/* Runs claimed column i on its next planned batches, up to r->run of them
 * (consecutive batches of a column on one thread keep its pages and
 * cursors in that core's cache), then publishes them together. Called and
 * returns with the lock held. */
static void run_task(pq_reader_t *r, uint32_t i) {
    const out_col *oc = &r->outs[i];
    uint64_t first = r->col_next[i], limit = r->plan_done ? r->planned - 1 : r->planned;
    uint32_t n = limit - first < r->run ? (uint32_t)(limit - first) : r->run;
    uint64_t released = r->released;
    pq_reader_stats st[RUN_MAX];
    floe_err err = {0};
    bool ok = true;
    uint32_t done = 0;
    ring_unlock(r);
    while (done < n && ok) {
        uint64_t seq = first + done;
        memset(&st[done], 0, sizeof st[done]);
        for (uint32_t k = 0; k < oc->ncur; k++) {
            cursor *c = &r->curs[oc->first + k];
            c->seq = seq;
            c->released = released;
            c->st = &st[done];
        }
        ok = decode_column(r, i, &slot_of(r, seq)->plan, &slot_of(r, seq)->batch.cols[i], &err);
        done++;
    }
    ring_lock(r);
    for (uint32_t k = 0; k < done; k++) {
        batch_slot *s = slot_of(r, first + k);
        stats_add(&s->stats, &st[k]);
        s->left--;
    }
    if (ok) {
        r->col_next[i] += done;
        r->col_state[i] = COL_IDLE;
    } else {
        batch_slot *s = slot_of(r, first + done - 1);
        r->col_next[i] += done - 1;
        r->col_state[i] = COL_FAILED; /* its cursors are in no state to go on */
        if (!s->failed || i < s->err_col) {
            s->failed = true;
            s->err_col = i;
            s->err = err;
        }
    }
    if (r->waiting) pthread_cond_signal(&r->done_cv);
    wake_workers(r);
}

static void *worker_main(void *arg) {
    pq_reader_t *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        int64_t i = claim(r);
        if (i >= 0) {
            run_task(r, (uint32_t)i);
        } else if (can_plan(r)) {
            plan_one(r);
        } else {
            r->idle++;
            pthread_cond_wait(&r->work_cv, &r->mu);
            r->idle--;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static bool ring_start(pq_reader_t *r, floe_err *err) {
    uint32_t threads = r->opts.threads ? r->opts.threads : 1;
    if (threads > PQ_MAX_THREADS) threads = PQ_MAX_THREADS;
    r->nslots = 1;
    r->run = 1;
    if (threads > 1) {
        /* Batches ahead: enough that one thread keeps busy while another
         * decompresses a large page (DuckDB writes one page per column
         * chunk, some 60 batches), within about 32 MiB of vectors. */
        size_t per = (size_t)(r->ncurs ? r->ncurs : 1) * 16 * r->opts.batch_rows;
        size_t n = ((size_t)32 << 20) / per;
        r->nslots = (uint32_t)(n < 4 * threads ? 4 * threads : n > 32 * threads ? 32 * threads : n);
        r->run = 4;
    }
    r->slots = calloc(r->nslots, sizeof *r->slots);
    r->col_next = calloc(r->nouts ? r->nouts : 1, sizeof *r->col_next);
    r->col_state = calloc(r->nouts ? r->nouts : 1, sizeof *r->col_state);
    if (!r->slots || !r->col_next || !r->col_state) abort();
    for (uint32_t i = 0; i < r->nslots; i++) fmt_batch_init(&r->slots[i].batch, &r->out_schema);
    fmt_batch_init(&r->none, &r->out_schema);
    r->planned = r->handed = r->released = 0;
    r->plan_done = r->ended = r->failed = r->stop = false;
    if (threads == 1) return true;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work_cv, NULL);
    pthread_cond_init(&r->done_cv, NULL);
    r->workers = calloc(threads - 1, sizeof *r->workers);
    if (!r->workers) abort();
    r->threaded = true; /* before the first worker takes the lock */
    for (uint32_t i = 0; i < threads - 1; i++) {
        int e = pthread_create(&r->workers[i], NULL, worker_main, r);
        if (e) {
            floe_err_errno(err, e, "%s: starting a decoding thread", rname(r));
            break;
        }
        r->nworkers++;
    }
    if (!r->nworkers) { /* not one thread started: no ring to guard */
        r->threaded = false;
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        pthread_cond_destroy(&r->done_cv);
    }
    return r->nworkers == threads - 1;
}

static void ring_stop(pq_reader_t *r) {
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->work_cv);
        pthread_mutex_unlock(&r->mu);
        for (uint32_t i = 0; i < r->nworkers; i++) pthread_join(r->workers[i], NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        pthread_cond_destroy(&r->done_cv);
        r->threaded = false;
    }
    free(r->workers);
    r->workers = NULL;
    r->nworkers = 0;
    for (uint32_t i = 0; i < r->nslots; i++) fmt_batch_free(&r->slots[i].batch);
    fmt_batch_free(&r->none);
    free(r->slots);
    r->slots = NULL;
    r->nslots = 0;
    free(r->col_next);
    r->col_next = NULL;
    free(r->col_state);
    r->col_state = NULL;
}

bool pq_reader_next(pq_reader_t *r, fmt_batch_t **out, floe_err *err) {
    floe_err_clear(err);
    *out = &r->none;
    if (!r->scanning) return floe_err_set(err, FLOE_EINVAL, "%s: pq_reader_next before pq_reader_scan", rname(r));
    if (r->failed) {
        *err = r->fail;
        return false;
    }
    if (r->ended) return false;
    ring_lock(r);
    r->released = r->handed; /* the caller is done with the last batch */
    wake_workers(r);
    uint64_t seq = r->handed;
    batch_slot *s = slot_of(r, seq);
    for (;;) {
        if (seq >= r->planned) {
            plan_one(r);
            continue;
        }
        if (s->left == 0) break;
        int64_t i = claim(r);
        if (i >= 0) {
            run_task(r, (uint32_t)i);
        } else if (can_plan(r)) {
            plan_one(r);
        } else {
            if (!r->threaded) abort(); /* alone, the caller always has a task */
            r->waiting = true;
            pthread_cond_wait(&r->done_cv, &r->mu);
            r->waiting = false;
        }
    }
    stats_add(&r->stats, &s->stats);
    if (s->failed) {
        r->failed = true;
        r->fail = s->err;
        *err = s->err;
    } else if (!s->plan.nrows) {
        r->ended = true;
    } else {
        r->handed = seq + 1;
        *out = &s->batch;
    }
    ring_unlock(r);
    return *out != &r->none;
}
