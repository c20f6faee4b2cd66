/*
 * iceberg.h: the Apache Iceberg table spec (format v2; v1 read) as Floe
 * models it.
 *
 *   values      typed literals: partition values, bounds, filter constants;
 *               the spec's single-value binary form (Appendix D) and JSON
 *               form, and the human form used in partition paths.
 *   transforms  identity, bucket[N] (murmur3_x86_32, Appendix B), truncate[W],
 *               year, month, day, hour, void; partition specs, sort orders,
 *               partition paths ("ts_day=2026-03-28/id_bucket=5").
 *   metadata    table metadata JSON (v1 and v2 read, v2 written): schemas,
 *               specs, sort orders, snapshots, refs, logs, properties.
 *   manifests   manifest files and manifest lists in Avro, with the spec's
 *               field ids and key-value metadata, and sequence-number and
 *               snapshot-id inheritance on read.
 *   metrics     Parquet writer metrics turned into manifest column stats
 *               (single-value bounds, truncated per the metrics mode).
 *   expressions filters: parse, bind to a schema, project through partition
 *               transforms (inclusive and strict), evaluate against partition
 *               tuples, column metrics and rows; residuals.
 *
 * The table operations (create, append, overwrite, delete, evolution, refs,
 * time travel, maintenance, scan planning) build on these in table.c and
 * friends, and commit through the catalog interface (src/catalog/).
 *
 * Everything a parse or build returns lives in the arena passed to it.
 * Schemas are the format layer's fmt_schema_t (format/schema.h): the same
 * type model and field ids that Parquet and Avro use.
 */
#ifndef FLOE_ICEBERG_ICEBERG_H
#define FLOE_ICEBERG_ICEBERG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "format/schema.h"
#include "format/vector.h"

/* =============================================================== values */

/* A typed value. type is a primitive fmt_type; precision and scale apply to
 * decimals, length to fixed. The payload:
 *   boolean                                   b
 *   int, date                                 i64 (int32 range)
 *   long, time, timestamp(tz), timestamp(tz)_ns  i64
 *   float, double                             f64 (a float is stored widened)
 *   decimal                                   dec (unscaled)
 *   string, binary, fixed, uuid               bytes/len (not NUL-terminated;
 *                                             strings are UTF-8)
 */
typedef struct ice_value {
    fmt_type type;
    bool is_null;
    int32_t precision, scale, length;
    union {
        bool b;
        int64_t i64;
        double f64;
        __int128 dec;
    } v;
    const uint8_t *bytes;
    uint32_t len;
} ice_value;

/* Constructors for tests and code (no allocation; bytes are borrowed). */
ice_value ice_value_null(fmt_type t);
ice_value ice_value_long(fmt_type t, int64_t v); /* any integer-like type */
ice_value ice_value_double(fmt_type t, double v);
ice_value ice_value_bytes(fmt_type t, const void *p, uint32_t n);
ice_value ice_value_str(const char *s);

/* Sets the type fields (type, precision, scale, length) from a field. */
void ice_value_set_type(ice_value *v, const fmt_field_t *f);

/* Total order for values of the same type, as Iceberg orders them: signed
 * numbers, unsigned lexicographic bytes for strings/binary/fixed/uuid;
 * for floats -NaN < -inf < ... < -0 < 0 < ... < inf < NaN. Nulls first. */
int ice_value_compare(const ice_value *a, const ice_value *b);
bool ice_value_equal(const ice_value *a, const ice_value *b);

/* Appendix D: single-value binary serialization (bounds, partition field
 * summaries). Decoding checks the length for the type. */
void ice_value_to_binary(const ice_value *v, buf_t *out);
bool ice_value_from_binary(const fmt_field_t *type, const uint8_t *p, uint32_t n, arena_t *a, ice_value *out,
                           floe_err *err);

/* The spec's JSON single-value serialization (defaults, partition values in
 * metadata): numbers, "2026-03-28", "22:31:08.123456", ISO timestamps,
 * hex for binary/fixed, decimal strings "14.20", uuid strings. */
json_t *ice_value_to_json(const ice_value *v);
bool ice_value_from_json(const fmt_field_t *type, json_t *j, arena_t *a, ice_value *out, floe_err *err);

/* Human form: what partition paths and CLI output show. Dates 2026-03-28,
 * months 2026-03, hours 2026-03-28-14, timestamps ISO-8601, strings as is,
 * binary as hex, null as "null". The transform decides which form a
 * partition value takes; see ice_partition_value_format. */
void ice_value_format(const ice_value *v, buf_t *out);

/* Parses a literal written by a person ("42", "3.5", "2026-03-28",
 * "2026-03-28T10:00:00Z", "BTC") as a value of the field's type.
 * Errors name the text and the type expected. */
bool ice_value_parse(const fmt_field_t *type, const char *text, size_t n, arena_t *a, ice_value *out, floe_err *err);

/* Reads row i of a column vector (primitive columns; dictionary form too). */
void ice_value_from_vec(const fmt_vec_t *col, uint32_t i, ice_value *out);

/* ============================================================ transforms */

typedef enum ice_transform_kind {
    ICE_TR_IDENTITY,
    ICE_TR_BUCKET,   /* param: number of buckets */
    ICE_TR_TRUNCATE, /* param: width */
    ICE_TR_YEAR,
    ICE_TR_MONTH,
    ICE_TR_DAY,
    ICE_TR_HOUR,
    ICE_TR_VOID,
    ICE_TR_UNKNOWN, /* read from metadata and kept, never applied */
} ice_transform_kind;

typedef struct ice_transform {
    ice_transform_kind kind;
    int32_t param;
    const char *text; /* the name as read, for unknown transforms (points
                       * into the string ice_transform_parse was given) */
} ice_transform;

/* "identity", "bucket[16]", "truncate[4]", "year", ..., "void". */
bool ice_transform_parse(const char *s, ice_transform *out, floe_err *err);
void ice_transform_format(const ice_transform *t, buf_t *out);
/* The result type of t applied to source; false (with a message naming the
 * transform and the type) when t does not apply to it. */
bool ice_transform_result_type(const ice_transform *t, const fmt_field_t *source, fmt_field_t *out, floe_err *err);
/* Applies t to one value; out gets the result type. Null in, null out. */
void ice_transform_apply(const ice_transform *t, const ice_value *in, ice_value *out);
/* Applies t to rows [0, col->len) of a primitive column, writing the int32
 * results (year/month/day/hour ordinals, buckets, dates, ints) to out and
 * a null flag per row to nulls. Only for transforms whose result is an int
 * or date (bucket, year, month, day, hour, identity on int/date). Returns
 * false when the combination is not vectorised; call ice_transform_apply. */
bool ice_transform_apply_i32(const ice_transform *t, const fmt_vec_t *col, int32_t *out, uint8_t *nulls);
/* Whether t(a) <= t(b) whenever a <= b (for sort orders and projection). */
bool ice_transform_preserves_order(const ice_transform *t);

/* murmur3_x86_32 with seed 0, as bucket uses it. */
uint32_t ice_murmur3_32(const void *p, size_t n);
/* bucket hash of a value per Appendix B (ints as longs, dates as ints,
 * decimals as minimal big-endian unscaled bytes, ...). */
uint32_t ice_bucket_hash(const ice_value *v);

/* =============================================== partition specs, sorting */

typedef struct ice_partition_field {
    int32_t source_id;
    int32_t field_id; /* partition field ids start at 1000 */
    const char *name;
    ice_transform transform;
} ice_partition_field;

typedef struct ice_partition_spec {
    int32_t spec_id;
    ice_partition_field *fields;
    int32_t nfields;
} ice_partition_spec;

/* Parses the CLI form "day(ts), bucket(16, id), truncate(4, sym), sym,
 * hour(ts) as ts_hr" against a schema. Names default to the spec's
 * conventions (ts_day, id_bucket, sym_trunc, sym); field ids are assigned
 * from last_partition_id + 1 (999 for a new table, so the first is 1000). */
bool ice_partition_spec_parse(const char *text, const fmt_schema_t *schema, int32_t last_partition_id, arena_t *a,
                              ice_partition_spec *out, floe_err *err);
/* The partition tuple's type: a struct of the result types, with the
 * partition field ids. */
bool ice_partition_type(const ice_partition_spec *spec, const fmt_schema_t *schema, arena_t *a, fmt_field_t *out,
                        floe_err *err);
/* "ts_day=2026-03-28/id_bucket=5": names and values URL-escaped, values in
 * the human form for their transform (null as "null"). */
void ice_partition_path(const ice_partition_spec *spec, const fmt_schema_t *schema, const ice_value *tuple, buf_t *out);
/* The human form of one partition value, as Java's toHumanString writes it
 * (day → 2026-03-28, month → 2026-03, hour → 2026-03-28-14, year → 2026;
 * identity and truncate: times and timestamps as java.time prints them,
 * binary and fixed in base64, doubles as Double.toString, decimals as
 * BigDecimal.toString; others as ice_value_format). */
void ice_partition_value_format(const ice_transform *t, const ice_value *v, buf_t *out);
bool ice_partition_spec_is_unpartitioned(const ice_partition_spec *spec); /* no fields, or all void */

typedef struct ice_sort_field {
    int32_t source_id;
    ice_transform transform;
    bool descending;
    bool nulls_first;
} ice_sort_field;

typedef struct ice_sort_order {
    int32_t order_id; /* 0 is the unsorted order */
    ice_sort_field *fields;
    int32_t nfields;
} ice_sort_order;

/* ============================================================= metadata */

typedef struct ice_kv {
    const char *key;
    const char *value;
} ice_kv;

typedef struct ice_snapshot {
    int64_t snapshot_id;
    int64_t parent_id; /* -1: none */
    int64_t sequence_number;
    int64_t timestamp_ms;
    const char *manifest_list; /* v1 tables may instead list manifests: */
    const char **v1_manifests;
    int32_t nv1_manifests;
    const char *operation; /* summary["operation"]: append, replace, overwrite, delete */
    ice_kv *summary;       /* the whole summary, operation included */
    int32_t nsummary;
    int32_t schema_id; /* -1: absent */
} ice_snapshot;

typedef struct ice_ref {
    const char *name;
    int64_t snapshot_id;
    bool is_tag;
    int64_t max_ref_age_ms;        /* -1: unset */
    int64_t max_snapshot_age_ms;   /* -1: unset (branches only) */
    int32_t min_snapshots_to_keep; /* -1: unset (branches only) */
} ice_ref;

typedef struct ice_log_entry {
    int64_t timestamp_ms;
    int64_t snapshot_id;       /* snapshot-log */
    const char *metadata_file; /* metadata-log */
} ice_log_entry;

typedef struct ice_table_meta {
    int32_t format_version;
    const char *table_uuid;
    const char *location;
    int64_t last_sequence_number;
    int64_t last_updated_ms;
    int32_t last_column_id;

    fmt_schema_t *schemas; /* schema_id set on each */
    int32_t nschemas;
    int32_t current_schema_id;

    ice_partition_spec *specs;
    int32_t nspecs;
    int32_t default_spec_id;
    int32_t last_partition_id;

    ice_sort_order *sort_orders;
    int32_t nsort_orders;
    int32_t default_sort_order_id;

    ice_kv *properties;
    int32_t nproperties;

    int64_t current_snapshot_id; /* -1: no snapshot (v1's absent or -1 too) */
    ice_snapshot *snapshots;
    int32_t nsnapshots;
    ice_log_entry *snapshot_log;
    int32_t nsnapshot_log;
    ice_log_entry *metadata_log;
    int32_t nmetadata_log;

    ice_ref *refs; /* v2 writes "main" for the current snapshot */
    int32_t nrefs;

    /* statistics, partition-statistics and unknown keys, kept as read and
     * written back unchanged: the compact text of a JSON object holding
     * them, in the arena (NULL when there are none) */
    const char *extra;
} ice_table_meta;

/* Parses metadata JSON, v1 or v2 (v1 fields upgraded: schema → schemas,
 * partition-spec → specs, no refs → main from current-snapshot-id). Errors
 * name the file (what) and the key. */
bool ice_meta_parse(const char *json, size_t n, const char *what, arena_t *a, ice_table_meta *out, floe_err *err);
/* Writes v2 JSON with every field the spec requires. */
void ice_meta_write(const ice_table_meta *m, buf_t *out);
/* The same as a JSON tree (the caller owns it): for replies that embed the
 * metadata, which would otherwise write it out and parse it back. */
json_t *ice_meta_to_json(const ice_table_meta *m);

/* Lookups; NULL / -1 when absent. */
const fmt_schema_t *ice_meta_schema(const ice_table_meta *m, int32_t schema_id);
const fmt_schema_t *ice_meta_current_schema(const ice_table_meta *m);
const ice_partition_spec *ice_meta_spec(const ice_table_meta *m, int32_t spec_id);
const ice_snapshot *ice_meta_snapshot(const ice_table_meta *m, int64_t snapshot_id);
const ice_ref *ice_meta_ref(const ice_table_meta *m, const char *name);
const char *ice_meta_property(const ice_table_meta *m, const char *key);

/* Schema JSON ({"type":"struct","schema-id":0,"fields":[...]}) both ways;
 * the same for specs and sort orders. */
json_t *ice_schema_to_json(const fmt_schema_t *s);
bool ice_schema_from_json(json_t *j, arena_t *a, fmt_schema_t *out, floe_err *err);
json_t *ice_spec_to_json(const ice_partition_spec *s);
bool ice_spec_from_json(json_t *j, arena_t *a, ice_partition_spec *out, floe_err *err);
json_t *ice_sort_order_to_json(const ice_sort_order *o);
bool ice_sort_order_from_json(json_t *j, arena_t *a, ice_sort_order *out, floe_err *err);

/* ============================================================ manifests */

typedef enum { ICE_CONTENT_DATA = 0, ICE_CONTENT_POSITION_DELETES = 1, ICE_CONTENT_EQUALITY_DELETES = 2 } ice_content;
typedef enum { ICE_STATUS_EXISTING = 0, ICE_STATUS_ADDED = 1, ICE_STATUS_DELETED = 2 } ice_entry_status;

/* Column stats of one data file, per field id; -1 for an absent count. */
typedef struct ice_col_stats {
    int32_t field_id;
    int64_t column_size;
    int64_t value_count;
    int64_t null_count;
    int64_t nan_count;
    const uint8_t *lower, *upper; /* single-value binary; NULL: absent */
    uint32_t lower_len, upper_len;
} ice_col_stats;

typedef struct ice_data_file {
    ice_content content;
    const char *file_path;
    const char *file_format; /* "PARQUET", "AVRO", "ORC" */
    int32_t spec_id;         /* from the manifest that lists it */
    ice_value *partition;    /* one per spec field */
    int32_t npartition;
    int64_t record_count;
    int64_t file_size_in_bytes;
    ice_col_stats *stats;
    int32_t nstats;
    int64_t *split_offsets;
    int32_t nsplit_offsets;
    int32_t *equality_ids;
    int32_t nequality_ids;
    int32_t sort_order_id; /* -1: absent */
} ice_data_file;

typedef struct ice_manifest_entry {
    ice_entry_status status;
    int64_t snapshot_id;          /* after inheritance */
    int64_t sequence_number;      /* data sequence number, after inheritance */
    int64_t file_sequence_number; /* after inheritance */
    ice_data_file file;
} ice_manifest_entry;

typedef struct ice_field_summary {
    bool contains_null;
    int8_t contains_nan;          /* -1: unknown */
    const uint8_t *lower, *upper; /* single-value binary; NULL: absent */
    uint32_t lower_len, upper_len;
} ice_field_summary;

typedef struct ice_manifest_file {
    const char *manifest_path;
    int64_t manifest_length;
    int32_t partition_spec_id;
    ice_content content; /* DATA, or deletes (1) */
    int64_t sequence_number;
    int64_t min_sequence_number;
    int64_t added_snapshot_id;
    int32_t added_files_count, existing_files_count, deleted_files_count;
    int64_t added_rows_count, existing_rows_count, deleted_rows_count;
    ice_field_summary *partitions;
    int32_t npartitions;
} ice_manifest_file;

/* Writes a manifest (Avro container, deflate) holding entries, with the
 * key-value metadata the spec requires (schema, schema-id, partition-spec,
 * partition-spec-id, format-version, content). An entry's snapshot_id or
 * sequence numbers of -1 are written as null, to be inherited. Fills
 * summary (all but manifest_path, manifest_length, sequence numbers and
 * added_snapshot_id, which the caller knows) with counts and partition
 * field summaries. */
bool ice_manifest_write(const ice_table_meta *m, const fmt_schema_t *schema, const ice_partition_spec *spec,
                        ice_content content, const ice_manifest_entry *entries, size_t n, buf_t *out,
                        ice_manifest_file *summary, arena_t *a, floe_err *err);
/* Reads a manifest; mf supplies inheritance (snapshot id, sequence
 * numbers) and the spec id. The partition tuple is decoded with the spec
 * read from the file's metadata, or with spec when given. */
bool ice_manifest_read(const void *p, size_t n, const char *what, const ice_manifest_file *mf, const ice_table_meta *m,
                       arena_t *a, ice_manifest_entry **out, size_t *nout, floe_err *err);

bool ice_manifest_list_write(int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
                             const ice_manifest_file *files, size_t n, buf_t *out, floe_err *err);
bool ice_manifest_list_read(const void *p, size_t n, const char *what, arena_t *a, ice_manifest_file **out,
                            size_t *nout, floe_err *err);

/* ============================================================== metrics */

#include "format/parquet/parquet.h"

/* write.metadata.metrics.default / .column.<name>: none, counts,
 * truncate(N), full. The default is truncate(16). */
typedef struct ice_metrics_mode {
    enum { ICE_METRICS_NONE, ICE_METRICS_COUNTS, ICE_METRICS_TRUNCATE, ICE_METRICS_FULL } kind;
    int32_t length;
} ice_metrics_mode;

bool ice_metrics_mode_parse(const char *s, ice_metrics_mode *out, floe_err *err);
/* The manifest stats of one Parquet file: Parquet plain bounds become
 * single-value binary (decimals to minimal big-endian), strings and binary
 * truncated per mode (the upper bound rounded up so it stays an upper
 * bound, or dropped when it cannot be), NaN counts kept, column sizes
 * summed per field id. props are the table properties, for per-column
 * modes. */
bool ice_metrics_from_parquet(const fmt_schema_t *schema, const pq_file_metrics *pm, const ice_table_meta *props,
                              arena_t *a, ice_data_file *out, floe_err *err);

/* ========================================================== expressions */

typedef enum ice_expr_op {
    ICE_EX_TRUE,
    ICE_EX_FALSE,
    ICE_EX_AND,
    ICE_EX_OR,
    ICE_EX_NOT,
    ICE_EX_EQ,
    ICE_EX_NE,
    ICE_EX_LT,
    ICE_EX_LE,
    ICE_EX_GT,
    ICE_EX_GE,
    ICE_EX_IN,
    ICE_EX_NOT_IN,
    ICE_EX_IS_NULL,
    ICE_EX_NOT_NULL,
    ICE_EX_IS_NAN,
    ICE_EX_NOT_NAN,
    ICE_EX_STARTS_WITH,
    ICE_EX_NOT_STARTS_WITH,
} ice_expr_op;

typedef struct ice_expr ice_expr;
struct ice_expr {
    ice_expr_op op;
    ice_expr *left, *right; /* and, or (both); not (left) */
    /* predicates */
    const char *column;       /* as written (unbound) */
    int32_t field_id;         /* bound: source field id, or partition field id after projection */
    const fmt_field_t *field; /* bound: its type */
    ice_value *lits;          /* one for comparisons and starts_with; n for in */
    int32_t nlits;
    /* literals as written, before binding */
    const char **texts;
};

/* Parses "symbol = 'BTC' and ts >= '2026-03-28' or not (px < 10)", with
 * =, ==, !=, <>, <, <=, >, >=, in (...), not in (...), is null, is not null,
 * is nan, is not nan, starts_with(col, 'x') / col like 'x%', and, or, not,
 * parentheses, true, false. Columns may be dotted (nested) or "quoted". */
bool ice_expr_parse(const char *text, arena_t *a, ice_expr **out, floe_err *err);
/* Binds column names to the schema's fields and literals to their types.
 * An unknown column or a literal that does not fit is an error naming both. */
bool ice_expr_bind(const ice_expr *e, const fmt_schema_t *schema, bool case_sensitive, arena_t *a, ice_expr **out,
                   floe_err *err);
void ice_expr_format(const ice_expr *e, buf_t *out);

/* Projection of a bound expression onto a spec's partition tuple (the
 * predicates then refer to partition field ids). Inclusive: true for every
 * partition that may hold a matching row. Strict: true only for partitions
 * whose every row matches. */
ice_expr *ice_expr_project_inclusive(const ice_expr *e, const ice_partition_spec *spec, const fmt_schema_t *schema,
                                     arena_t *a);
ice_expr *ice_expr_project_strict(const ice_expr *e, const ice_partition_spec *spec, const fmt_schema_t *schema,
                                  arena_t *a);
/* Evaluates a projected expression on a partition tuple. */
bool ice_expr_eval_partition(const ice_expr *projected, const ice_partition_spec *spec, const ice_value *tuple);
/* Might any file of manifest mf match? projected is the filter projected
 * inclusively onto the manifest's spec; the answer comes from the
 * manifest list's partition field summaries (bounds, contains_null,
 * contains_nan), as Java's ManifestEvaluator gives it. */
bool ice_expr_might_match_manifest(const ice_expr *projected, const ice_partition_spec *spec,
                                   const ice_manifest_file *mf);
/* Metrics evaluators (the Java InclusiveMetricsEvaluator and
 * StrictMetricsEvaluator): might any row match? do all rows match? */
bool ice_expr_might_match(const ice_expr *bound, const fmt_schema_t *schema, const ice_data_file *f);
bool ice_expr_all_match(const ice_expr *bound, const fmt_schema_t *schema, const ice_data_file *f);
/* The residual of a bound expression for one partition: predicates the
 * partition settles become true or false, and the tree simplifies. */
ice_expr *ice_expr_residual(const ice_expr *bound, const ice_partition_spec *spec, const fmt_schema_t *schema,
                            const ice_value *tuple, arena_t *a);
/* Row filter over a batch whose columns are the top-level fields of
 * schema (nested fields reached by id through struct columns). Sets bit i
 * of sel (nrows bits, zeroed by the caller or not) when row i matches;
 * SQL semantics, so a null comparison does not match. Returns the count. */
uint32_t ice_expr_eval_batch(const ice_expr *bound, const fmt_schema_t *schema, const fmt_batch_t *b, uint8_t *sel);

/* Parquet pruning predicates from a bound expression: the conjuncts that
 * pq_pred can express (column op constant). */
size_t ice_expr_to_pq_preds(const ice_expr *bound, arena_t *a, pq_pred **out);

/* ============================================================== commits */

/* The REST commit vocabulary (Iceberg REST OpenAPI: TableRequirement and
 * TableUpdate). Requirements: assert-create, assert-table-uuid,
 * assert-ref-snapshot-id, assert-last-assigned-field-id,
 * assert-current-schema-id, assert-last-assigned-partition-id,
 * assert-default-spec-id, assert-default-sort-order-id. A failed one is
 * FLOE_ECONFLICT naming it and the values that differ. base is NULL when
 * the table does not exist yet. */
bool ice_requirements_check(const ice_table_meta *base, json_t *requirements, floe_err *err);
/* Applies updates (assign-uuid, upgrade-format-version, add-schema,
 * set-current-schema, add-spec, set-default-spec, add-sort-order,
 * set-default-sort-order, add-snapshot, set-snapshot-ref, remove-snapshots,
 * remove-snapshot-ref, set-location, set-properties, remove-properties,
 * remove-partition-specs) to base, giving a new metadata in a. The metadata
 * log gains base_location (when not NULL) and the snapshot log follows
 * main. Bad updates are FLOE_EINVAL naming the update and the field. */
bool ice_updates_apply(const ice_table_meta *base, const char *base_location, json_t *updates, int64_t now_ms,
                       arena_t *a, ice_table_meta *out, floe_err *err);

json_t *ice_snapshot_to_json(const ice_snapshot *s);
bool ice_snapshot_from_json(json_t *j, arena_t *a, ice_snapshot *out, floe_err *err);

/* The catalog as the table operations see it; src/catalog implements it
 * (and a REST client may, later). load gives the table's metadata and its
 * location; commit applies requirements and updates atomically, failing
 * with FLOE_ECONFLICT when the table moved on. Before commit makes the new
 * metadata current it calls fileio_sync(io): the data files, manifests and
 * manifest lists a commit writes through io are written deferred
 * (fileio.h) and become durable there, with one sync. */
#include "store/fileio.h"

typedef struct ice_catalog {
    void *ctx;
    fileio_t *io;
    const char *warehouse; /* "s3://warehouse" */
    bool (*load)(void *ctx, const char *ns, const char *name, arena_t *a, const char **location, ice_table_meta *meta,
                 floe_err *err);
    bool (*commit)(void *ctx, const char *ns, const char *name, json_t *requirements, json_t *updates, arena_t *a,
                   const char **location, ice_table_meta *meta, floe_err *err);
    /* Optional (NULL: use commit): the same, told the metadata the change
     * was based on (its location and the caller's parse of it), which the
     * catalog uses instead of reading it again while it is still current. */
    bool (*commit_on)(void *ctx, const char *ns, const char *name, const char *base_location,
                      const ice_table_meta *base, json_t *requirements, json_t *updates, arena_t *a,
                      const char **location, ice_table_meta *meta, floe_err *err);
} ice_catalog;

/* ================================================================ tables */

typedef struct ice_table {
    ice_catalog *cat;
    const char *ns, *name;
    const char *metadata_location;
    ice_table_meta meta;
} ice_table;

/* Loads through the catalog; everything lives in a. */
bool ice_table_load(ice_catalog *cat, const char *ns, const char *name, arena_t *a, ice_table *out, floe_err *err);

/* Builds the metadata of a new table (format v2): schema text or parsed
 * schema, partition spec text ("day(ts), bucket(16, id)"; NULL or "" for
 * none), properties. Fresh ids as Iceberg assigns them. */
bool ice_table_new_meta(const fmt_schema_t *schema, const char *partition, const ice_kv *props, int32_t nprops,
                        arena_t *a, ice_table_meta *out, floe_err *err);

/* ---- writing data files ---- */

typedef struct ice_write_opts {
    int64_t target_file_bytes; /* 0: write.target-file-size-bytes, default 128 MiB */
    uint32_t threads;          /* Parquet writer threads per open file (pq_writer_opts.threads); 0: 1 */
    /* progress callback: rows and bytes written so far (may be NULL) */
    void (*progress)(void *arg, uint64_t rows, uint64_t bytes);
    void *progress_arg;
} ice_write_opts;

/* Splits rows into Parquet files per partition of the table's default
 * spec, rolling each file at the target size. Batches follow the current
 * schema's top-level fields. Nothing is visible until a commit. */
typedef struct ice_writer ice_writer;
/* Results (paths, tuples, file descriptions) are allocated in a. */
ice_writer *ice_writer_new(const ice_table *t, const ice_write_opts *opts, arena_t *a, floe_err *err);
bool ice_writer_write(ice_writer *w, const fmt_batch_t *b, floe_err *err);
/* Closes every open file; files (in a) describe them for a manifest. */
bool ice_writer_close(ice_writer *w, ice_data_file **files, size_t *n, floe_err *err);
/* Deletes every file written and frees w. */
void ice_writer_abort(ice_writer *w);
void ice_writer_free(ice_writer *w);

/* ---- snapshots ---- */

typedef enum ice_op_kind {
    ICE_OP_APPEND,            /* fast append */
    ICE_OP_OVERWRITE_FILTER,  /* delete rows matching filter, then add */
    ICE_OP_OVERWRITE_DYNAMIC, /* replace the partitions the added files touch */
    ICE_OP_DELETE,            /* delete rows matching filter */
    ICE_OP_REPLACE,           /* compaction: replace deleted by added, same rows */
} ice_op_kind;

typedef struct ice_commit_opts {
    ice_op_kind kind;
    const ice_expr *filter; /* bound; overwrite-by-filter and delete */
    const char *branch;     /* NULL: main */
    int max_attempts;       /* 0: commit.retry.num-retries + 1 (default 5) */
    /* replace: the files being replaced (compaction) */
    const ice_data_file *replaced;
    size_t nreplaced;
    /* extra snapshot summary properties (cherry-pick's source-snapshot-id) */
    const ice_kv *summary;
    int32_t nsummary;
} ice_commit_opts;

typedef struct ice_commit_result {
    int64_t snapshot_id;
    int64_t sequence_number;
    int attempts;
    int64_t added_files, added_rows, deleted_files, deleted_rows, rewritten_files;
} ice_commit_result;

/* Commits added data files as one snapshot on the branch, rebasing on
 * concurrent commits: an append always rebases; an overwrite or delete
 * first checks that no file it would have to consider was added since its
 * base (FLOE_ECONFLICT if one was). Delete and overwrite-by-filter drop
 * whole files the filter covers (metadata only) and rewrite files it
 * covers in part (copy-on-write). t is reloaded with the new metadata. */
bool ice_table_commit_files(ice_table *t, const ice_commit_opts *opts, const ice_data_file *added, size_t nadded,
                            arena_t *a, ice_commit_result *res, floe_err *err);

/* ---- scans ---- */

typedef struct ice_scan_opts {
    int64_t snapshot_id;  /* -1: by as_of_ms, ref, or the current snapshot */
    int64_t as_of_ms;     /* -1: unset; the snapshot current at that time */
    const char *ref;      /* branch or tag name; NULL: main */
    const char *filter;   /* text, or NULL */
    const char **columns; /* projection by name; NULL: all */
    size_t ncolumns;
} ice_scan_opts;

typedef struct ice_file_task {
    const ice_data_file *file;
    const ice_partition_spec *spec;
    ice_expr *residual; /* NULL or true: every row matches */
} ice_file_task;

typedef struct ice_scan_report {
    int64_t snapshot_id;
    size_t manifests, manifests_skipped; /* data manifests; of those, pruned by partition summaries (unread) */
    size_t files, files_skipped_partition, files_skipped_metrics;
    uint64_t row_groups, row_groups_skipped;
    uint64_t rows_read, rows_matched;
} ice_scan_report;

typedef struct ice_scan ice_scan;

/* Plans a scan: picks the snapshot, prunes manifests by partition
 * summaries, files by partition and by column metrics, and keeps a
 * residual per file. The read then goes file by file through the Parquet
 * reader (projection by field id, row groups and pages pruned), applying
 * the residual. Batches follow the projected schema. */
ice_scan *ice_scan_new(const ice_table *t, const ice_scan_opts *opts, floe_err *err);
const fmt_schema_t *ice_scan_schema(const ice_scan *s);
const ice_file_task *ice_scan_tasks(const ice_scan *s, size_t *n);
/* Next batch of matching rows; false at the end (nrows 0) or on error. */
bool ice_scan_next(ice_scan *s, fmt_batch_t **b, floe_err *err);
const ice_scan_report *ice_scan_report_get(const ice_scan *s);
void ice_scan_free(ice_scan *s);

/* Reads every entry of a snapshot's manifests (live data files, with
 * their spec), for files/partitions listings and maintenance. */
bool ice_snapshot_files(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_manifest_entry **out, size_t *n,
                        floe_err *err);

/* ============================================ schema and partition evolution
 * (evolve.c) */

/* One change to a table's schema or partition spec. Columns are named by
 * their dotted path ("pt.x" for field x of struct pt; "tags.element",
 * "attrs.value" reach into lists and maps). Ids never change: a rename
 * keeps the id, an added column takes the next id after last-column-id,
 * an added partition field the next after last-partition-id (or the id a
 * field with the same source and transform had in an older spec, as Java
 * recycles them in v2). */
typedef enum ice_evolve_kind {
    ICE_EVOLVE_ADD_COLUMN,     /* column: path; arg: type text ("long", "struct<x: int>"); optional only */
    ICE_EVOLVE_DROP_COLUMN,    /* column */
    ICE_EVOLVE_RENAME_COLUMN,  /* column; arg: the new name (its last part only) */
    ICE_EVOLVE_WIDEN,          /* column; arg: int→long, float→double, decimal(P,S)→decimal(P2,S), P2 > P */
    ICE_EVOLVE_MAKE_OPTIONAL,  /* column */
    ICE_EVOLVE_MOVE_FIRST,     /* column */
    ICE_EVOLVE_MOVE_AFTER,     /* column; arg: a column of the same struct */
    ICE_EVOLVE_MOVE_BEFORE,    /* column; arg: a column of the same struct */
    ICE_EVOLVE_ADD_PARTITION,  /* column: a partition field as the CLI writes it ("hour(ts)", "bucket(8, id) as b") */
    ICE_EVOLVE_DROP_PARTITION, /* column: the partition field's name */
} ice_evolve_kind;

typedef struct ice_evolve_op {
    ice_evolve_kind kind;
    const char *column;
    const char *arg;
} ice_evolve_op;

typedef struct ice_evolve_result {
    bool schema_changed, spec_changed; /* false: the change was already in place */
    int32_t schema_id, spec_id;        /* current schema and default spec after the commit */
    int32_t field_id;                  /* the id of the column or partition field the last op touched */
    int attempts;
} ice_evolve_result;

/* Applies ops in order to a copy of m's current schema and default spec
 * and checks them (a required column added, an identifier field or a
 * partition source dropped, a name clash, a promotion the spec does not
 * allow, a move across structs: FLOE_EINVAL naming the column and the
 * fix). schema and spec live in a; last_column_id and last_partition_id
 * get the new maxima. No I/O: the planning half of ice_table_evolve. */
bool ice_evolve_plan(const ice_table_meta *m, const ice_evolve_op *ops, size_t nops, arena_t *a, fmt_schema_t *schema,
                     ice_partition_spec *spec, int32_t *last_column_id, int32_t *last_partition_id, int32_t *field_id,
                     floe_err *err);
/* Plans ops and commits them as one change through the catalog, with
 * assert-current-schema-id and assert-last-assigned-field-id (schema
 * changes), assert-default-spec-id and assert-last-assigned-partition-id
 * (spec changes). A schema or spec equal to an existing one is reused by
 * id, as Java does. On a conflict the table is reloaded and the ops
 * planned again (commit.retry.num-retries). t is reloaded after. */
bool ice_table_evolve(ice_table *t, const ice_evolve_op *ops, size_t nops, arena_t *a, ice_evolve_result *res,
                      floe_err *err);

/* ============================================================ refs (refs.c) */

/* Snapshot references (the spec's "Snapshot References") managed the way
 * Java's ManageSnapshots does: branches and tags, rollback, set-current,
 * fast-forward and cherry-pick. Each commits through the catalog requiring
 * the refs it read to be where they were (assert-ref-snapshot-id). Those
 * that cannot lose a commit (create, fast-forward, cherry-pick) reload and
 * redo their checks when a concurrent commit moved a ref; those that
 * discard commits by design (drop, rollback, set-current) fail with
 * FLOE_ECONFLICT instead, so nothing committed meanwhile is dropped
 * unseen. Refusals name the ref or snapshot and the fix: FLOE_ENOENT for
 * unknown names and snapshots, FLOE_EEXIST for taken names, FLOE_EINVAL
 * for the wrong kind of ref, FLOE_ECONFLICT for diverged branches and
 * conflicting picks. On success t holds the new metadata. */

/* Creates a branch or tag at snapshot_id (-1: the current snapshot). */
bool ice_ref_create(ice_table *t, const char *name, bool tag, int64_t snapshot_id, arena_t *a, floe_err *err);
/* Drops a branch (tag false) or a tag; main cannot be dropped. */
bool ice_ref_drop(ice_table *t, const char *name, bool tag, arena_t *a, floe_err *err);
/* Moves main back to snapshot_id, which must be an ancestor of main's
 * current snapshot (Java rollbackTo). */
bool ice_table_rollback(ice_table *t, int64_t snapshot_id, arena_t *a, floe_err *err);
/* Moves main to any existing snapshot (Java setCurrentSnapshot). */
bool ice_table_set_current(ice_table *t, int64_t snapshot_id, arena_t *a, floe_err *err);
/* Moves branch to the head of ref to, when branch's head is an ancestor of
 * it (FLOE_ECONFLICT when they diverged). *from_id gets branch's old head
 * (may be NULL); equal heads are a successful no-op. */
bool ice_branch_fast_forward(ice_table *t, const char *branch, const char *to, arena_t *a, int64_t *from_id,
                             floe_err *err);

typedef struct ice_cherry_pick_result {
    int64_t snapshot_id; /* main's new head */
    bool fast_forward;   /* main moved to the picked snapshot itself */
    int64_t added_files, deleted_files;
} ice_cherry_pick_result;

/* Applies the changes of snapshot_id to main (Java cherrypick): an append
 * becomes a new append on main with summary source-snapshot-id; a dynamic
 * overwrite (replace-partitions) becomes an overwrite of the same
 * partitions when none of them changed on main since its parent; any
 * snapshot whose parent is main's head is fast-forwarded to. Refuses
 * snapshots already in main's history or already picked into it. */
bool ice_table_cherry_pick(ice_table *t, int64_t snapshot_id, arena_t *a, ice_cherry_pick_result *res, floe_err *err);

/* Whether ancestor_id is head_id or one of its ancestors. */
bool ice_snapshot_is_ancestor(const ice_table_meta *m, int64_t head_id, int64_t ancestor_id);
/* Sets the retention keys of r that are set (max-ref-age-ms,
 * max-snapshot-age-ms, min-snapshots-to-keep) on a JSON object, such as a
 * set-snapshot-ref update that moves r. */
void ice_ref_retention_to_json(const ice_ref *r, json_t *o);
/* The snapshot at snapshot_id (>= 0), else the head of ref (not NULL),
 * else the current one. NULL with err->code FLOE_OK for a table with no
 * snapshot; NULL with an error naming what is missing otherwise. */
const ice_snapshot *ice_table_snapshot_at(const ice_table *t, int64_t snapshot_id, const char *ref, floe_err *err);

/* The history metadata table: the snapshot log, each entry with the
 * snapshot's parent (-1: none or expired) and whether it is an ancestor of
 * the current snapshot (false after a rollback past it). */
typedef struct ice_history_entry {
    int64_t made_current_at_ms;
    int64_t snapshot_id;
    int64_t parent_id;
    bool is_current_ancestor;
} ice_history_entry;
size_t ice_table_history(const ice_table_meta *m, arena_t *a, ice_history_entry **out);

/* The partitions metadata table of a snapshot: its live data files grouped
 * by spec and partition tuple, ordered by spec id then tuple. */
typedef struct ice_partition_stats {
    int32_t spec_id;
    const ice_value *partition; /* one per field of the spec */
    int32_t npartition;
    int64_t record_count, file_count, total_data_file_size_in_bytes;
    int64_t last_updated_at_ms, last_updated_snapshot_id; /* the latest snapshot adding a file */
} ice_partition_stats;
bool ice_table_partitions(const ice_table *t, const ice_snapshot *snap, arena_t *a, ice_partition_stats **out,
                          size_t *n, floe_err *err);

/* ================================================== maintenance (maint.c) */

/* A set of file paths for reachability (open addressing, slots in an
 * arena); s3a:// and s3n:// count as s3://, as Java's orphan check equates
 * the schemes. Zero-initialised is empty. */
typedef struct ice_path_set {
    const char **slots;
    size_t cap, n;
} ice_path_set;

/* p without its s3://, s3a:// or s3n:// scheme: the form the set compares. */
const char *ice_path_norm(const char *p);
bool ice_path_set_has(const ice_path_set *s, const char *p);
/* Adds p (not copied: it must live as long as the set); true when new. */
bool ice_path_set_add(ice_path_set *s, arena_t *a, const char *p);

/* Progress of a maintenance step: phase ("rewriting", "deleting", ...),
 * done of total units (total 0: unknown). Called before the commit with
 * phase "committing" too. */
typedef void (*ice_maint_progress)(void *arg, const char *phase, uint64_t done, uint64_t total);

/* Other versions of the same table (its metadata on other catalog
 * branches and tags): every file they can read is kept, as if their
 * snapshots were retained. */
typedef struct ice_maint_keep {
    const ice_table_meta *metas;
    const char **metadata_files; /* their metadata.json locations */
    size_t n;
} ice_maint_keep;

/* ---- expire snapshots (Java's RemoveSnapshots with ReachableFileCleanup) */

typedef struct ice_expire_opts {
    int64_t older_than_ms; /* -1: now - history.expire.max-snapshot-age-ms (5 days) */
    int32_t retain_last;   /* 0 or -1: history.expire.min-snapshots-to-keep (1) */
    bool dry_run;          /* plan only: commit nothing, delete nothing */
    int64_t now_ms;        /* 0: the clock */
    ice_maint_keep keep;
    ice_maint_progress progress;
    void *progress_arg;
} ice_expire_opts;

typedef struct ice_expire_result {
    int64_t *expired_ids; /* in a */
    size_t nexpired;
    const char **removed_refs; /* refs older than their max-ref-age-ms */
    size_t nremoved_refs;
    int64_t deleted_data_files_count, deleted_manifest_files_count, deleted_manifest_lists_count;
    int64_t failed_deletes; /* files that could not be deleted (logged; now orphans) */
} ice_expire_result;

/* Removes the snapshots no ref keeps: branch and tag heads always stay;
 * a branch keeps its newest min-snapshots-to-keep ancestors and those not
 * older than max-snapshot-age-ms (the ref's own settings first, then the
 * options, then the table properties); refs older than max-ref-age-ms go
 * (main never); snapshots on no branch stay until older than older_than.
 * The removal is committed first (requiring every ref to be where it was;
 * a conflict is retried on the new metadata), and only then are deleted
 * the manifest lists of expired snapshots, the manifests no retained
 * snapshot lists and the data files no retained manifest holds live. A
 * table with gc.enabled=false is refused. */
bool ice_expire_snapshots(ice_table *t, const ice_expire_opts *opts, arena_t *a, ice_expire_result *res, floe_err *err);

/* ---- compaction (Java's RewriteDataFiles, bin-pack) */

typedef struct ice_compact_opts {
    int64_t target_file_bytes; /* 0: write.target-file-size-bytes (128 MiB) */
    int64_t min_file_bytes;    /* -1: 75% of the target */
    int64_t max_file_bytes;    /* -1: 180% of the target */
    int32_t min_input_files;   /* 0: 5 */
    int64_t max_group_bytes;   /* 0: 100 GiB */
    bool rewrite_all;          /* every file, whatever its size */
    const char *filter;        /* only files that may hold matching rows; NULL: all */
    ice_maint_progress progress;
    void *progress_arg;
} ice_compact_opts;

typedef struct ice_compact_result {
    int64_t snapshot_id; /* -1: nothing to rewrite, no snapshot */
    int64_t rewritten_data_files_count, added_data_files_count, rewritten_bytes_count;
    int64_t groups;
} ice_compact_result;

/* Rewrites small (and too large) files of main's current snapshot: per
 * partition (spec and tuple), files outside [min, max] size are grouped up
 * to max_group_bytes; a group is rewritten when it has at least
 * min_input_files files, or more than one file and more than the target
 * size in all, or more than max_group_bytes. Rows are read through the
 * Parquet reader and written through ice_writer (the default spec, the
 * target size), then committed as a replace that fails with FLOE_ECONFLICT
 * when a concurrent commit removed a file it replaces. On any failure the
 * files it wrote are deleted. Tables with delete files are refused. */
bool ice_compact(ice_table *t, const ice_compact_opts *opts, arena_t *a, ice_compact_result *res, floe_err *err);

/* ---- rewrite manifests (Java's RewriteManifests) */

typedef struct ice_rewrite_manifests_opts {
    int64_t target_manifest_bytes; /* 0: commit.manifest.target-size-bytes (8 MiB) */
    ice_maint_progress progress;
    void *progress_arg;
} ice_rewrite_manifests_opts;

typedef struct ice_rewrite_manifests_result {
    int64_t snapshot_id; /* -1: nothing to rewrite */
    int64_t rewritten_manifests_count, added_manifests_count;
} ice_rewrite_manifests_result;

/* Merges the data manifests of main's current snapshot, per spec, into
 * manifests of about the target size, entries ordered by partition, as a
 * new snapshot with operation replace. Entries keep their snapshot ids and
 * sequence numbers and become EXISTING. A spec whose entries fit one
 * manifest and already have one is left alone. */
bool ice_rewrite_manifests(ice_table *t, const ice_rewrite_manifests_opts *opts, arena_t *a,
                           ice_rewrite_manifests_result *res, floe_err *err);

/* ---- remove orphan files (Java's DeleteOrphanFiles) */

typedef struct ice_orphan_opts {
    int64_t older_than_ms; /* -1: now - 3 days */
    bool dry_run;          /* list, delete nothing */
    ice_maint_keep keep;
    ice_maint_progress progress;
    void *progress_arg;
} ice_orphan_opts;

typedef struct ice_orphan_result {
    const char **orphans; /* in a, in key order */
    size_t n;
    int64_t listed, failed_deletes;
} ice_orphan_result;

/* Lists every file under the table location and deletes those older than
 * older_than that nothing reaches: not the current metadata file, one in
 * its metadata log, nor any snapshot's manifest list, manifest or data
 * file (any entry status), nor statistics files; hidden files (a path part
 * starting with '.' or '_', not a partition "k=v") are left alone. */
bool ice_remove_orphans(ice_table *t, const ice_orphan_opts *opts, arena_t *a, ice_orphan_result *res, floe_err *err);

#endif
