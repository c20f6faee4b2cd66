/*
 * task_int.h: what the built-in task types (task_*.c) share: reading their
 * rendered arguments with errors that name the task and the key, mapping
 * an error to a task result, the data interval's ds/hr/min, byte streams
 * (an object read through FileIO and unpacked from zstd, or lines a
 * producer makes) as stdio FILEs for the text reader, and the table steps
 * of write_table, publish_signal, load_raw and maintenance: open or
 * create a table on a catalog ref, write rows, commit in a mode.
 */
#ifndef FLOE_PIPELINE_TASK_INT_H
#define FLOE_PIPELINE_TASK_INT_H

#include <stdio.h>

#include "catalog/catalog.h"
#include "format/text.h"
#include "iceberg/iceberg.h"
#include "pipeline/pipeline.h"

/* ---- arguments (task_util.c) ----
 *
 * Each reads ctx->args[key]; absent or null is "not given". A value of the
 * wrong form is FLOE_EINVAL: "task ID: key 'KEY' is VALUE; expected FORM". */

/* A string; required: absent is an error. *out NULL when not given. */
bool targ_str(const pipe_task_ctx *c, const char *key, bool required, const char **out, floe_err *err);
/* An integer (a JSON integer, or a string holding one) in [min, max]. */
bool targ_int(const pipe_task_ctx *c, const char *key, int64_t def, int64_t min, int64_t max, int64_t *out,
              floe_err *err);
/* A duration ("30s", "5m", "1h30m", or an integer of seconds), >= 0. */
bool targ_duration(const pipe_task_ctx *c, const char *key, int64_t def, int64_t *out, floe_err *err);
/* A boolean (true/false, or the strings "true"/"false"). */
bool targ_bool(const pipe_task_ctx *c, const char *key, bool def, bool *out, floe_err *err);
/* An object or an array (borrowed); *out NULL when not given. */
bool targ_object(const pipe_task_ctx *c, const char *key, bool required, json_t **out, floe_err *err);
bool targ_array(const pipe_task_ctx *c, const char *key, bool required, json_t **out, floe_err *err);
/* The same checks on a value inside an argument, for nested keys ("expire.older_than"). */
bool tval_duration(const pipe_task_ctx *c, const char *what, json_t *v, int64_t def, int64_t *out, floe_err *err);
bool tval_int(const pipe_task_ctx *c, const char *what, json_t *v, int64_t def, int64_t min, int64_t max, int64_t *out,
              floe_err *err);
/* The error for a value of the wrong form (always false). */
bool targ_bad(const pipe_task_ctx *c, const char *what, json_t *v, const char *expected, floe_err *err);

/* Whether a load-time value is still a template ("{{ ... }}" inside a
 * string): validate() leaves those to run(). */
bool tval_is_template(json_t *v);

/* ---- results and stopping ---- */

/* FLOE_EINVAL (bad arguments or bad data, which a retry cannot fix) is
 * PIPE_TASK_FAILED_NOW; everything else (conflicts, I/O, a catalog that
 * is down) is PIPE_TASK_FAILED, retried while tries remain. */
pipe_task_result task_failed(const floe_err *err);
/* True, with err set, once ctx->cancel is set or ctx->deadline_ms has
 * passed: long loops call it between steps. */
bool task_stopping(const pipe_task_ctx *c, floe_err *err);

/* The data interval start as the seed's partition values: ds
 * "YYYY-MM-DD", hr "HH", min "MM" (UTC). */
typedef struct task_interval {
    char ds[16], hr[4], min[4];
} task_interval;
void task_interval_of(int64_t ms, task_interval *out);

/* ---- streams (task_stream.c) ----
 *
 * A FILE whose bytes a producer makes on demand: pull appends the next
 * piece to out, or sets *eof. The text reader reads it like a file; an
 * error of the producer ends the FILE and is kept for task_stream_check,
 * which callers consult whenever a read ends. */
typedef bool (*task_pull_fn)(void *arg, buf_t *out, bool *eof, floe_err *err);

typedef struct task_stream {
    FILE *f;
    task_pull_fn pull;
    void *arg;
    buf_t piece;
    size_t off;
    bool eof, failed;
    floe_err err;
} task_stream;

bool task_stream_open(task_stream *s, task_pull_fn pull, void *arg, floe_err *err);
/* False with the producer's error when it failed. */
bool task_stream_check(const task_stream *s, floe_err *err);
void task_stream_close(task_stream *s);

/* An object read through FileIO in ranges, unpacked when its name ends in
 * .zst (zstd, streaming): a pull function for task_stream. */
typedef struct task_object task_object;
task_object *task_object_open(fileio_t *io, const char *uri, floe_err *err);
bool task_object_pull(void *obj, buf_t *out, bool *eof, floe_err *err);
void task_object_close(task_object *o);

/* Rows as JSON objects, one per line, written to the table through the
 * text reader (which casts each value to its column's type, with errors
 * naming `name`, the line and the column). coerce (below) has already
 * turned strings into numbers and booleans where the column needs one. */
bool task_write_text(const pipe_task_ctx *c, ice_writer *w, const fmt_schema_t *schema, task_stream *s,
                     const char *name, fmt_text_kind kind, int64_t *rows, floe_err *err);
/* Prepares a value for a column of type f as the text reader wants it:
 * strings holding integers for int/long columns become integers, "true"
 * and "false" for boolean columns become booleans. New reference. */
json_t *task_coerce(const fmt_field_t *f, json_t *v);

/* ---- tables (task_ice.c) ---- */

typedef enum { TASK_APPEND, TASK_OVERWRITE, TASK_OVERWRITE_PARTITIONS } task_mode;

/* Load-time checks of mode and filter: mode is one of the three (or a
 * template), and only mode overwrite takes a filter. */
bool task_mode_validate(json_t *args, floe_err *err);
/* "append", "overwrite" or "overwrite_partitions" (NULL: def). */
bool task_mode_parse(const pipe_task_ctx *c, const char *text, task_mode def, task_mode *out, floe_err *err);
const char *task_mode_name(task_mode m);

typedef struct task_table {
    ice_catalog *ice; /* in ctx->arena: the table points at it */
    ice_table t;
    const char *ref;  /* catalog branch; NULL: main */
    bool created;     /* this try created it */
    int max_attempts; /* of a commit (0: the table's commit.retry.num-retries + 1) */
} task_table;

/* Loads the table ident ("ns.name", or "a.b.name") on the catalog ref.
 * When it does not exist and schema is given, creates the namespace (and
 * its parents) and the table with partition (spec text, may be NULL); a
 * concurrent create of either is fine. Missing with no schema is
 * FLOE_EINVAL naming the table and the fix. */
bool task_table_open(const pipe_task_ctx *c, const char *ident, const char *ref, const fmt_schema_t *schema,
                     const char *partition, task_table *out, floe_err *err);
/* Logs a line when the table exists with other columns than schema (which
 * then only served to create it). */
void task_table_note_schema(pipe_task_ctx *c, const task_table *tt, const fmt_schema_t *schema);

/* Commits the files w wrote in mode (overwrite replaces the rows that
 * match filter, all rows when filter is NULL). On failure the files are
 * deleted and w is freed either way. A write of no rows in append or
 * overwrite_partitions mode commits nothing (res->snapshot_id is the
 * current one). */
bool task_table_commit(pipe_task_ctx *c, task_table *tt, ice_writer *w, task_mode mode, const char *filter,
                       ice_commit_result *res, int64_t *nfiles, floe_err *err);

/* Sets output table, snapshot_id, rows and files. */
void task_table_output(pipe_task_ctx *c, const task_table *tt, const ice_commit_result *res, int64_t rows,
                       int64_t files);

#endif
