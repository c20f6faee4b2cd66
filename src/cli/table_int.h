/*
 * table_int.h: what the `floe table` subcommand files share: the opened
 * data dir (env), the parsed arguments (targs), the row printer and the
 * error exit. table.c holds the common commands and the dispatch;
 * table_evolve.c, table_refs.c and table_maint.c hold the rest.
 */
#ifndef FLOE_CLI_TABLE_INT_H
#define FLOE_CLI_TABLE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "catalog/catalog.h"
#include "format/vector.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

typedef enum { OUT_TABLE, OUT_CSV, OUT_JSON } out_format;

typedef struct env {
    const char *data;
    store_t *store;
    fileio_t *io;
    cat_t *cat;
    const char *cat_ref; /* the catalog branch or tag acted on (NULL: main) */
    ice_catalog ice;
} env;

typedef struct targs {
    const char *catalog_url;
    const char *data, *ident, *file, *schema, *partition, *filter, *columns, *ref, *as_of;
    const char *to, *older_than;
    const char *pos[4];
    int npos;
    int64_t snapshot;
    int64_t retain_last; /* -1: unset */
    bool dynamic, plan, dry_run;
    int64_t target_size;
    out_format fmt;
    bool fmt_set;
    ice_kv props[64];
    int32_t nprops;
} targs;

/* Opens the data dir (NULL: $FLOE_DATA or ./data): the store, the
 * warehouse bucket and the catalog; e->ice acts on catalog branch main. */
/* catalog_url NULL: FLOE_CATALOG_URL, else SQLite in the data dir. */
bool tcli_env_open(env *e, const char *data, const char *catalog_url, floe_err *err);
void tcli_env_close(env *e);
/* Parses --format's value. */
bool tcli_parse_format(const char *v, out_format *f);
/* Prints "floe CMD: message"; exit code 3 on a conflict, else 1. */
int tcli_fail(const char *cmd, const floe_err *err);
/* Loads the table named by ta->ident ("ns.t"). */
bool tcli_open_table(env *e, const targs *ta, arena_t *a, ice_table *t, floe_err *err);
/* Splits "ns.t" at the last dot. */
bool tcli_split_ident(const char *s, arena_t *a, const char **ns, const char **name, floe_err *err);
/* Parses a time for --as-of / --older-than: ISO 8601 or epoch ms. */
bool tcli_parse_time_ms(const char *text, int64_t *ms);
/* A string as JSON text (malloc'd). */
char *tcli_jstr(const char *s);
/* True when stderr is a terminal: progress bars go there. */
bool tcli_tty(void);
/* A progress line on stderr ("\r  label: done/total ..."), at most every
 * 200 ms; total 0 for unknown. tcli_progress_end ends the line. */
void tcli_progress(const char *label, uint64_t done, uint64_t total, const char *unit);
void tcli_progress_end(void);

/* Rows as an aligned table (collected, printed by pr_end), CSV with a
 * header line, or one JSON object per line. */
typedef struct printer {
    out_format fmt;
    const char **names;
    size_t ncols;
    char **cells;
    size_t nrows, cap;
} printer;

void pr_begin(printer *p, out_format fmt, const char **names, size_t n);
/* One row of string cells (NULL: null); json_vals are JSON texts for json. */
void pr_row(printer *p, char **cells, char **json_vals);
void pr_end(printer *p);
void pr_batch(printer *p, const fmt_batch_t *b);

/* Subcommand groups outside table.c; each returns the exit code. */
int tcli_evolve(env *e, targs *ta, arena_t *a);                 /* evolve */
int tcli_refs(env *e, targs *ta, arena_t *a, const char *cmd);  /* branch tag rollback set-current
                                                                   fast-forward cherry-pick history refs partitions */
int tcli_maint(env *e, targs *ta, arena_t *a, const char *cmd); /* expire compact rewrite-manifests remove-orphans */

#endif
