/*
 * ice_int.h: what the iceberg module's table files share.
 *
 *   table.c   snapshot commits; manifest list and manifest reading
 *   write.c   partitioned data file writer
 *   scan.c    scan planning and reading; the data file reader
 *   update.c  the REST commit vocabulary
 *   evolve.c  schema and partition evolution; reading files written
 *             before a change to a nested column
 */
#ifndef FLOE_ICEBERG_ICE_INT_H
#define FLOE_ICEBERG_ICE_INT_H

#include "iceberg/iceberg.h"

int64_t ice_new_snapshot_id(void);
bool ice_read_manifest_list(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_manifest_file **out,
                            size_t *n, floe_err *err);
bool ice_read_manifest(const ice_table *t, const ice_manifest_file *mf, arena_t *a, ice_manifest_entry **out, size_t *n,
                       floe_err *err);

/* Reads one data file as batches of schema's top-level fields (by field
 * id: columns the file lacks read as nulls), pruning row groups and pages
 * with preds. */
typedef struct ice_file_reader ice_file_reader;
ice_file_reader *ice_file_reader_open(const ice_table *t, const ice_data_file *f, const fmt_schema_t *schema,
                                      const pq_pred *preds, size_t npreds, floe_err *err);
bool ice_file_reader_next(ice_file_reader *r, fmt_batch_t **b, floe_err *err);
const pq_reader_stats *ice_file_reader_stats(const ice_file_reader *r);
void ice_file_reader_close(ice_file_reader *r);

/* evolve.c: a file whose nested columns (or required flags) differ from
 * the read schema want. NULL when the Parquet reader reads it as want
 * asks; else *ask is the schema to scan the file with, and each batch goes
 * through ice_file_project_batch (valid until its next call). */
typedef struct ice_file_project ice_file_project;
ice_file_project *ice_file_project_new(const fmt_schema_t *file, const fmt_schema_t *want, const fmt_schema_t **ask);
fmt_batch_t *ice_file_project_batch(ice_file_project *p, fmt_batch_t *b);
void ice_file_project_free(ice_file_project *p);

#endif
