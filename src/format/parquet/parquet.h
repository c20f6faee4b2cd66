/*
 * parquet.h: Floe's Parquet writer and reader.
 *
 * The writer takes column batches (format/vector.h) for a schema with field
 * ids (format/schema.h) and streams a file to a sink: pages close at a target
 * size, row groups at a target size or row count, and only the open row
 * group is held in memory. Closing the writer reports the metrics an Iceberg
 * manifest needs.
 *
 * The reader parses the footer through a ranged-read interface (so the
 * footer can be one suffix GET from S3), projects columns by field id,
 * prunes row groups by statistics and pages by the page index, and returns
 * column batches.
 *
 * Layout of a file: "PAR1", per row group and column: [dictionary page]
 * data pages; then the column indexes, offset indexes and bloom filters;
 * then the Thrift-compact FileMetaData, its 4-byte length, and "PAR1".
 */
#ifndef FLOE_FORMAT_PARQUET_H
#define FLOE_FORMAT_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "format/parquet/pq_encoding.h"
#include "format/schema.h"
#include "format/vector.h"

/* parquet.thrift enums */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FIXED_LEN_BYTE_ARRAY };
enum { PQ_REQUIRED, PQ_OPTIONAL, PQ_REPEATED };
enum {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
/* ConvertedType */
enum {
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21,
};
/* LogicalType union member ids */
enum {
    PQ_LT_NONE = 0,
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_DATE = 6,
    PQ_LT_TIME = 7,
    PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11,
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_UUID = 14,
    PQ_LT_FLOAT16 = 15,
};
enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

const char *pq_type_name(int t);     /* "INT64" */
const char *pq_encoding_name(int e); /* "RLE_DICTIONARY" */

/* ---- file metadata (FileMetaData and friends, the fields Floe uses) ---- */

typedef struct pq_stats {
    bool has_min, has_max, has_null_count, has_nan_count, has_distinct;
    bool min_exact, max_exact, has_min_exact, has_max_exact;
    const uint8_t *min, *max; /* min_value/max_value, else legacy min/max */
    uint32_t min_len, max_len;
    bool legacy; /* from the deprecated min/max fields */
    int64_t null_count, nan_count, distinct_count;
} pq_stats;

typedef struct pq_logical {
    int kind; /* PQ_LT_*; PQ_LT_NONE when absent */
    int32_t scale, precision;
    int unit; /* PQ_UNIT_* for TIME and TIMESTAMP */
    bool utc;
    int bit_width;
    bool is_signed;
} pq_logical;

typedef struct pq_schema_elem {
    const char *name;
    int32_t type;         /* -1 for groups */
    int32_t type_length;  /* -1 when absent */
    int32_t repetition;   /* -1 when absent (the root) */
    int32_t num_children; /* 0 for leaves */
    int32_t converted;    /* -1 when absent */
    int32_t scale, precision;
    int32_t field_id;
    bool has_field_id;
    pq_logical logical;
} pq_schema_elem;

typedef struct pq_column_meta {
    int32_t type;
    int32_t *encodings;
    uint32_t nencodings;
    const char **path;
    uint32_t npath;
    int32_t codec;
    int64_t num_values, total_uncompressed, total_compressed;
    int64_t data_page_offset, index_page_offset, dictionary_page_offset; /* -1 when absent */
    bool has_stats;
    pq_stats stats;
    int64_t bloom_offset; /* -1 when absent */
    int32_t bloom_length;
    int64_t offset_index_offset, column_index_offset; /* -1 when absent */
    int32_t offset_index_length, column_index_length;
    bool dict_only; /* encoding_stats say every data page is dictionary encoded */
} pq_column_meta;

typedef struct pq_row_group {
    pq_column_meta *cols;
    uint32_t ncols;
    int64_t total_byte_size, num_rows, file_offset, total_compressed_size;
} pq_row_group;

typedef struct pq_kv {
    const char *key, *value; /* value may be NULL */
} pq_kv;

typedef struct pq_file_meta {
    int32_t version;
    pq_schema_elem *schema;
    uint32_t nschema;
    int64_t num_rows;
    pq_row_group *row_groups;
    uint32_t nrow_groups;
    pq_kv *kv;
    uint32_t nkv;
    const char *created_by;
    bool has_column_orders; /* TYPE_ORDER for every column */
} pq_file_meta;

/* Decodes FileMetaData from buf (the footer bytes, which must outlive the
 * result: binaries point into it). base is its offset in the file. */
bool pq_meta_decode(const uint8_t *p, size_t n, size_t base, const char *name, arena_t *a, pq_file_meta *out,
                    floe_err *err);
void pq_meta_encode(const pq_file_meta *m, buf_t *out);

/* ---- writer ---- */

typedef struct pq_sink {
    bool (*write)(void *ctx, const void *p, size_t n, floe_err *err);
    void *ctx;
} pq_sink;

/* A sink over a file descriptor (ctx is the fd cast through intptr_t). */
pq_sink pq_sink_fd(int fd);

typedef struct pq_writer_opts {
    pq_codec codec;           /* default ZSTD */
    int level;                /* codec level; 0 = codec default */
    uint64_t row_group_bytes; /* default 128 MiB (uncompressed estimate) */
    uint64_t row_group_rows;  /* 0 = no row limit */
    uint32_t page_bytes;      /* default 1 MiB */
    uint32_t page_rows;       /* default 20000: keeps the page index useful */
    uint32_t dict_max_bytes;  /* default 1 MiB, then PLAIN */
    bool dictionary;          /* default true */
    const int32_t *bloom_ids; /* field ids that get split-block bloom filters */
    uint32_t nbloom;
    double bloom_fpp; /* default 0.01 */
    const pq_kv *kv;  /* key-value metadata */
    uint32_t nkv;
    const char *created_by; /* default "floe version X" */
    /* Threads, the caller's included: 0 or 1 does everything in the
     * caller's thread. With more, workers compress closed pages while the
     * caller encodes the next ones; the file's bytes are the same. */
    uint32_t threads;
} pq_writer_opts;

void pq_writer_opts_default(pq_writer_opts *o);

/* What an Iceberg manifest entry needs, per leaf field id. Bounds are in
 * Parquet's plain statistics form (little-endian numbers, raw bytes). */
typedef struct pq_field_metrics {
    int32_t field_id;
    int32_t phys_type;
    int64_t column_size; /* compressed bytes, page headers included */
    int64_t value_count; /* values including nulls (list elements count) */
    int64_t null_count;
    int64_t nan_count; /* -1 for non-float types */
    bool has_bounds;
    uint8_t *lower, *upper;
    uint32_t lower_len, upper_len;
} pq_field_metrics;

typedef struct pq_file_metrics {
    int64_t row_count;
    int64_t file_size;
    int64_t *split_offsets; /* row group starts */
    uint32_t nsplits;
    pq_field_metrics *fields;
    uint32_t nfields;
} pq_file_metrics;

typedef struct pq_writer pq_writer_t;

pq_writer_t *pq_writer_new(const fmt_schema_t *schema, const pq_writer_opts *opts, pq_sink sink, floe_err *err);
/* Appends a batch whose columns follow the schema's top-level fields. */
bool pq_writer_write(pq_writer_t *w, const fmt_batch_t *b, floe_err *err);
/* Flushes the last row group and writes the footer. m may be NULL; its
 * memory lives in a (caller's) arena. */
bool pq_writer_close(pq_writer_t *w, pq_file_metrics *m, arena_t *a, floe_err *err);
void pq_writer_free(pq_writer_t *w);

/* ---- reader ---- */

/* Ranged reads: fills buf with n bytes at off. */
typedef struct pq_source {
    bool (*read)(void *ctx, uint64_t off, void *buf, size_t n, floe_err *err);
    void *ctx;
    uint64_t size;
    const char *name; /* for messages */
} pq_source;

/* A source over a file; pq_source_close releases it. */
bool pq_source_file(const char *path, pq_source *out, floe_err *err);
/* A source over bytes in memory (not copied). */
pq_source pq_source_mem(const void *p, size_t n, const char *name);
void pq_source_close(pq_source *s);

/* Simple predicates for pruning: column (by field id) op constant. */
typedef enum {
    PQ_PRED_EQ,
    PQ_PRED_LT,
    PQ_PRED_LE,
    PQ_PRED_GT,
    PQ_PRED_GE,
    PQ_PRED_IS_NULL,
    PQ_PRED_NOT_NULL
} pq_pred_op;
typedef struct pq_pred {
    int32_t field_id;
    pq_pred_op op;
    /* the constant: i64 for integer-like types, f64 for float/double,
     * bytes for strings and binary */
    int64_t i64;
    double f64;
    const uint8_t *bytes;
    uint32_t nbytes;
} pq_pred;

typedef struct pq_reader_opts {
    const int32_t *field_ids; /* projection, top-level field ids; NULL = all columns */
    uint32_t nfields;
    const pq_pred *preds; /* ANDed */
    uint32_t npreds;
    bool binary_as_string; /* unannotated BYTE_ARRAY reads as string */
    uint32_t batch_rows;   /* default FMT_BATCH_ROWS */
    /* Threads that decode, the caller's included: 0 or 1 decodes in the
     * caller's thread only. With more, workers decode columns of the next
     * few batches while the caller consumes one; the source's read is then
     * called from several threads at once (the file and memory sources
     * allow it). Batches, errors and statistics are the same either way. */
    uint32_t threads;
    /* Only row groups [rg_first, rg_first + rg_count) (rg_count 0: to the
     * end), so that several readers of one file can each take a share of
     * its row groups (the SQL engine's morsels). Statistics count only
     * these row groups. */
    uint32_t rg_first, rg_count;
} pq_reader_opts;

typedef struct pq_reader pq_reader_t;

typedef struct pq_reader_stats {
    uint64_t row_groups, row_groups_skipped;
    uint64_t pages, pages_skipped; /* data pages decoded / skipped by the page index */
    uint64_t bytes_read;
} pq_reader_stats;

/* Reads the footer (one suffix read when the footer is under 64 KiB). */
pq_reader_t *pq_reader_open(const pq_source *src, floe_err *err);
const pq_file_meta *pq_reader_meta(const pq_reader_t *r);
/* The file's schema as the table type model. Fields without a Parquet
 * field_id get ids from the position (1..n, then nested) and are marked. */
const fmt_schema_t *pq_reader_schema(const pq_reader_t *r);
/* Starts a scan; the output schema is the projection (a field id the file
 * lacks comes out as an all-null column of the requested type, given in
 * want, which may be NULL when the projection is by the file's ids). */
bool pq_reader_scan(pq_reader_t *r, const pq_reader_opts *opts, const fmt_schema_t *want, floe_err *err);
/* Next batch; returns false at the end (b->nrows == 0) or on error
 * (err->code set). The batch is valid until the next call. */
bool pq_reader_next(pq_reader_t *r, fmt_batch_t **b, floe_err *err);
const pq_reader_stats *pq_reader_stats_get(const pq_reader_t *r);
void pq_reader_free(pq_reader_t *r);

#endif
