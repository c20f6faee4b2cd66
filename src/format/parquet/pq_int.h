/*
 * pq_int.h: Parquet internals shared by the writer, the reader and the
 * tests: page headers, the page index, bloom filters, and the mapping from
 * the Parquet schema to leaf columns.
 */
#ifndef FLOE_FORMAT_PQ_INT_H
#define FLOE_FORMAT_PQ_INT_H

#include "format/parquet/parquet.h"
#include "format/thrift.h"

typedef struct pq_page_header {
    int32_t type;
    int32_t uncompressed_size, compressed_size;
    bool has_crc;
    int32_t crc;
    int32_t num_values;
    int32_t encoding;
    int32_t def_encoding, rep_encoding; /* v1 */
    /* v2 */
    int32_t num_nulls, num_rows;
    int32_t def_length, rep_length;
    bool is_compressed;
    /* dictionary */
    bool is_sorted;
    bool has_stats;
    pq_stats stats;
} pq_page_header;

bool pq_page_header_decode(thrift_reader *r, pq_page_header *h);
void pq_page_header_encode(const pq_page_header *h, buf_t *out);

typedef struct pq_column_index {
    uint32_t npages;
    bool *null_pages;
    const uint8_t **min, **max;
    uint32_t *min_len, *max_len;
    int32_t boundary_order;
    bool has_null_counts;
    int64_t *null_counts;
} pq_column_index;

typedef struct pq_page_location {
    int64_t offset;
    int32_t compressed_size;
    int64_t first_row;
} pq_page_location;

typedef struct pq_offset_index {
    uint32_t npages;
    pq_page_location *pages;
} pq_offset_index;

bool pq_column_index_decode(thrift_reader *r, arena_t *a, pq_column_index *ci);
void pq_column_index_encode(const pq_column_index *ci, buf_t *out);
bool pq_offset_index_decode(thrift_reader *r, arena_t *a, pq_offset_index *oi);
void pq_offset_index_encode(const pq_offset_index *oi, buf_t *out);
void pq_stats_encode(thrift_writer *w, int16_t id, const pq_stats *s);
bool pq_stats_decode(thrift_reader *r, pq_stats *s);

/* Split-block bloom filters (parquet-format BloomFilter.md). */
typedef struct pq_bloom {
    uint32_t *blocks; /* nblocks * 8 words */
    uint32_t nblocks;
} pq_bloom;
void pq_bloom_init(pq_bloom *b, uint64_t ndv, double fpp);
void pq_bloom_free(pq_bloom *b);
void pq_bloom_insert(pq_bloom *b, uint64_t hash);
bool pq_bloom_check(const pq_bloom *b, uint64_t hash);
uint64_t pq_bloom_hash(const void *p, size_t n); /* xxhash64, seed 0, of the plain encoding */
/* Header (BloomFilterHeader) plus the bitset. */
void pq_bloom_encode(const pq_bloom *b, buf_t *out);
/* Parses header + bitset from p; the result points into p. */
bool pq_bloom_decode(const uint8_t *p, size_t n, size_t base, const char *name, pq_bloom *b, floe_err *err);

/* One leaf column of a Parquet schema. */
typedef struct pq_leaf {
    uint32_t elem; /* index in pq_file_meta.schema */
    int16_t max_def, max_rep;
    const fmt_field_t *field; /* the leaf's field in the table schema */
    int32_t top;              /* index of its top-level field */
} pq_leaf;

/* Encoding helpers used by the writer and by tests. */
const char *pq_repetition_name(int r);

#endif
