/*
 * catalog.h: Floe's versioned catalog, the one place table commits go.
 *
 * The store is a commit log in the style of Project Nessie, kept in SQLite
 * (DIR/catalog.db, WAL) or, for several catalog nodes, PostgreSQL:
 *
 *   refs      named branches and tags, each pointing at a commit hash;
 *             "main" exists from the start.
 *   commits   an append-only log: hash, parent, a merge's second parent,
 *             generation (for walks that stop at the merge base), author,
 *             message, time.
 *   ops       what each commit changed: put or delete of a content key
 *             (a namespace or a table) with its content (for a table, the
 *             metadata location and the ids Nessie reports).
 *   heads     the contents visible at each ref's head, kept in step with
 *             every ref movement, so loading a table is one indexed lookup.
 *   reflog    every movement of a ref (versions.c).
 *
 * Every change is a commit made with compare-and-swap inside one write
 * transaction that serialises with every other writer: a table commit succeeds only if the table's metadata
 * location on the ref is still the one the change was based on, so
 * concurrent writers serialise and the loser gets FLOE_ECONFLICT. Branches,
 * tags, refspecs, diffs, merges and transplants are in versions.c.
 *
 * Table commits use the Iceberg REST vocabulary: a list of requirements and
 * a list of updates (JSON). The catalog checks the requirements against the
 * current metadata, applies the updates (iceberg layer), writes the new
 * NNNNN-<uuid>.metadata.json through FileIO (never overwriting), then swaps
 * the pointer. If the swap loses, the metadata file it wrote is deleted.
 *
 * Namespaces are content too (as in Nessie): they must exist before a table
 * is created in them, and a namespace with tables cannot be dropped.
 * Namespace names are levels; the text form joins them with '.'.
 */
#ifndef FLOE_CATALOG_CATALOG_H
#define FLOE_CATALOG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"

typedef struct cat cat_t;

#define CAT_MAIN "main"
/* The hash of the empty log, as Nessie spells its "no ancestor" hash. */
#define CAT_NO_ANCESTOR "2e1cfa82b035c26cbbbdae632cea070514eb8b773f616aaeaf668e2f0be8f10d"

typedef struct cat_opts {
    const char *dir;       /* the data dir: catalog.db lives here */
    const char *url;       /* postgres://USER:PASSWORD@HOST:PORT/DB[?schema=NAME] keeps the catalog in
                            * PostgreSQL instead (docs/catalog-postgres.md); NULL or "": SQLite */
    fileio_t *io;          /* where metadata files are written (borrowed) */
    const char *warehouse; /* "s3://warehouse": tables live at <warehouse>/<ns>/<table> */
    bool fsync;            /* synchronous=FULL (default true) */
} cat_opts;

cat_t *cat_open(const cat_opts *opts, floe_err *err);
void cat_close(cat_t *c);
fileio_t *cat_io(cat_t *c);
const char *cat_warehouse(cat_t *c);

/* ---- references ---- */
typedef struct cat_ref {
    const char *name;
    bool is_tag;
    const char *hash;
} cat_ref;

bool cat_ref_get(cat_t *c, const char *name, arena_t *a, cat_ref *out, floe_err *err); /* FLOE_ENOENT */
bool cat_ref_list(cat_t *c, arena_t *a, cat_ref **out, size_t *n, floe_err *err);

/* ---- namespaces ---- */
/* props: a JSON object of string properties, or NULL. FLOE_EEXIST. */
bool cat_namespace_create(cat_t *c, const char *ref, const char *ns, json_t *props, floe_err *err);
/* FLOE_ENOENT; FLOE_ECONFLICT when it holds tables or namespaces. */
bool cat_namespace_drop(cat_t *c, const char *ref, const char *ns, floe_err *err);
bool cat_namespace_exists(cat_t *c, const char *ref, const char *ns, bool *exists, floe_err *err);
/* Properties as a JSON object (new reference). FLOE_ENOENT. */
bool cat_namespace_props(cat_t *c, const char *ref, const char *ns, json_t **props, floe_err *err);
/* Namespaces directly under parent (NULL or "" for the top level). */
bool cat_namespace_list(cat_t *c, const char *ref, const char *parent, arena_t *a, const char ***out, size_t *n,
                        floe_err *err);

/* ---- tables ---- */
typedef struct cat_table {
    const char *ns, *name;
    const char *metadata_location;
    ice_table_meta meta; /* parsed */
} cat_table;

/* Loads a table's current metadata on ref (NULL: main). FLOE_ENOENT names
 * the table. */
/* Appends the bytes of the metadata file at loc to out when the catalog
 * has them cached (it keeps the files it wrote or read lately); false
 * otherwise. */
bool cat_meta_cached(cat_t *c, const char *loc, buf_t *out);
bool cat_table_load(cat_t *c, const char *ref, const char *ns, const char *name, arena_t *a, cat_table *out,
                    floe_err *err);
bool cat_table_exists(cat_t *c, const char *ref, const char *ns, const char *name, bool *exists, floe_err *err);
bool cat_table_list(cat_t *c, const char *ref, const char *ns, arena_t *a, const char ***names, size_t *n,
                    floe_err *err);

/* Creates a table from initial metadata (format v2, no snapshots; table
 * uuid, location and last-updated are filled in when absent). The
 * namespace must exist (FLOE_ENOENT), the table must not (FLOE_EEXIST). */
bool cat_table_create(cat_t *c, const char *ref, const char *ns, const char *name, const ice_table_meta *meta,
                      arena_t *a, cat_table *out, floe_err *err);

/* Commits requirements and updates (JSON arrays in the Iceberg REST form)
 * to a table. A failed requirement, or a concurrent commit that changed
 * the table, gives FLOE_ECONFLICT with a message saying which; the caller
 * reloads and retries. out gets the committed table. */
bool cat_table_commit(cat_t *c, const char *ref, const char *ns, const char *name, json_t *requirements,
                      json_t *updates, arena_t *a, cat_table *out, floe_err *err);

/* Removes the table from the ref (its files stay, unless purge, which
 * deletes every file its metadata reaches). */
bool cat_table_drop(cat_t *c, const char *ref, const char *ns, const char *name, bool purge, floe_err *err);

/* ---- the log ---- */
typedef struct cat_commit {
    const char *hash, *parent;
    int64_t time_ms;
    const char *author, *message;
    const char *parent2; /* a merge commit's merged-in parent, else NULL */
} cat_commit;

/* Newest first, at most max (0: all). */
bool cat_log(cat_t *c, const char *ref, size_t max, arena_t *a, cat_commit **out, size_t *n, floe_err *err);

/* ---- versions (versions.c): refs, addressing, contents at a commit, log,
 * diff, merge, transplant, reflog (docs/catalog.md, "Versions").
 *
 * A "refspec" names a commit the way Nessie does: a ref ("main"), a ref at
 * a hash ("main@3f2a...", the hash must be in the ref's history), at a time
 * ("main*2026-03-28T10:00:00Z" or "main*<epoch ms>": the newest commit at
 * or before it), N commits back along first parents ("main~2"), a merge's
 * second parent ("main^2"), or a bare hash ("3f2a..." or "@3f2a...";
 * prefixes of 8 or more hex digits). Modifiers chain: "main@3f2a~1".
 * Plain ref names read through the heads index; the other forms find a key's
 * newest op among the commit's ancestors. ---- */
typedef struct cat_resolved {
    const char *ref;  /* the ref named (NULL for a bare hash) */
    const char *hash; /* the commit */
    bool is_head;     /* hash is the ref's current head */
} cat_resolved;

bool cat_resolve(cat_t *c, const char *spec, arena_t *a, cat_resolved *out, floe_err *err);

/* Creates branch or tag name at the commit from names (a refspec; NULL:
 * main's head). FLOE_EEXIST when the name is taken; FLOE_EINVAL for a name
 * Nessie would refuse (a letter first, then letters, digits, '.', '/', '_',
 * '-'; no "..", no trailing '.' or '/'). */
bool cat_ref_create(cat_t *c, const char *name, bool is_tag, const char *from, arena_t *a, cat_ref *out, floe_err *err);
/* Points name (branch or tag) at the commit to names, if it still points at
 * expected_hash (NULL: no check; FLOE_ECONFLICT otherwise). */
bool cat_ref_assign(cat_t *c, const char *name, const char *to, const char *expected_hash, arena_t *a, cat_ref *out,
                    floe_err *err);
/* Deletes name (never main) if it still points at expected_hash (NULL: no
 * check). */
bool cat_ref_delete(cat_t *c, const char *name, const char *expected_hash, floe_err *err);

/* One content key and its content. key is the display form ("a.b.t"). */
typedef struct cat_entry {
    const char *key;
    const char *kind;       /* "NAMESPACE" or "ICEBERG_TABLE" */
    const char *content_id; /* stable across commits */
    const char *location;   /* tables: the metadata location */
    const char *json;       /* the Nessie content object */
} cat_entry;

/* Everything visible at the commit spec names, sorted by key. */
bool cat_contents(cat_t *c, const char *spec, arena_t *a, cat_entry **out, size_t *n, floe_err *err);

/* The log from spec along first parents, newest first, at most max (0:
 * 100). page_token (NULL: start at spec) is a *next_token from the
 * previous page; *next_token is NULL on the last page. */
bool cat_log_page(cat_t *c, const char *spec, const char *page_token, size_t max, arena_t *a, cat_commit **out,
                  size_t *n, const char **next_token, floe_err *err);

/* Keys whose content differs between two refspecs, sorted by key. from/to
 * are NULL where the key is absent on that side. */
typedef struct cat_diff_entry {
    const char *key;
    const cat_entry *from, *to;
} cat_diff_entry;
bool cat_diff(cat_t *c, const char *from, const char *to, arena_t *a, cat_diff_entry **out, size_t *n, floe_err *err);

/* Merges (Nessie's MergeBehavior): NORMAL merges a key with conflict
 * detection, FORCE takes the source's content unconditionally, DROP leaves
 * the key out of the merge (the target keeps its own). */
typedef enum { CAT_MERGE_NORMAL, CAT_MERGE_FORCE, CAT_MERGE_DROP } cat_merge_behavior;
const char *cat_merge_behavior_name(cat_merge_behavior b);

typedef struct cat_merge_key {
    const char *key; /* display form, "ns.t" */
    cat_merge_behavior behavior;
} cat_merge_key;

typedef struct cat_merge_opts {
    const char *from;          /* refspec of the source */
    const char *into;          /* the target branch (NULL: main) */
    const char *expected_hash; /* the target must still be here (NULL: no check) */
    cat_merge_behavior default_behavior;
    const cat_merge_key *keys; /* per-key behaviours */
    size_t nkeys;
    bool dry_run;        /* check and report; change nothing */
    const char *message; /* NULL: "merge FROM into INTO" */
} cat_merge_opts;

/* A conflict, with Nessie's ConflictType name: KEY_CONFLICT (the key
 * changed on both sides), NAMESPACE_ABSENT (a table whose namespace the
 * target lacks). */
typedef struct cat_conflict {
    const char *key;
    const char *type;
    const char *message;
} cat_conflict;

typedef struct cat_merge_detail {
    const char *key;
    cat_merge_behavior behavior;
    const char *conflict; /* the conflict type, or NULL */
} cat_merge_detail;

typedef struct cat_merge_result {
    const char *source_hash; /* what was merged (for a transplant: the last commit) */
    const char *target_hash; /* the target's head before */
    const char *base_hash;   /* the merge base (NULL for a transplant) */
    const char *result_hash; /* the target's head after (target_hash when nothing was written) */
    bool applied;            /* a commit was written */
    cat_merge_detail *details;
    size_t ndetails;
    cat_conflict *conflicts;
    size_t nconflicts;
} cat_merge_result;

/* Three-way merge of the changes on from since the merge base into the
 * target branch, as one commit whose second parent is from's commit, under
 * compare-and-swap on the target. Costs O(commits since the merge base).
 * Conflicts: false with FLOE_ECONFLICT naming the keys and out->conflicts
 * listing them; a dry run returns true and the same lists. Nothing to
 * merge: true with !applied. */
bool cat_merge(cat_t *c, const cat_merge_opts *o, arena_t *a, cat_merge_result *out, floe_err *err);

/* Applies the ops of each commit (in the order given) onto the branch into
 * as new commits keeping their messages. A key whose content on the target
 * is neither the commit's parent's nor the commit's own is a KEY_CONFLICT;
 * all or nothing. */
typedef struct cat_transplant_opts {
    const char *const *hashes; /* commit hashes (or prefixes, or refspecs) */
    size_t nhashes;
    const char *into;
    const char *expected_hash;
    bool dry_run;
} cat_transplant_opts;
bool cat_transplant(cat_t *c, const cat_transplant_opts *o, arena_t *a, cat_merge_result *out, floe_err *err);

/* The reflog: every movement of a ref, newest first. operation is one of
 * CREATE_REFERENCE, ASSIGN_REFERENCE, DELETE_REFERENCE, COMMIT, MERGE,
 * TRANSPLANT. old_hash is NULL for a create, new_hash for a delete. */
typedef struct cat_reflog_entry {
    int64_t seq;
    const char *ref, *old_hash, *new_hash, *operation;
    int64_t time_ms;
} cat_reflog_entry;
/* ref NULL: every ref. page_token as for cat_log_page. */
bool cat_reflog(cat_t *c, const char *ref, const char *page_token, size_t max, arena_t *a, cat_reflog_entry **out,
                size_t *n, const char **next_token, floe_err *err);

/* ---- nessie_ops.c: a commit of Nessie operations (the Nessie v2 API) ---- */

/* A Put (content != NULL) or Delete of key (display form, "ns.t"). A Put
 * carries the content object as the client sent it (kind "ICEBERG_TABLE"
 * or "NAMESPACE"; location the table's metadata location) and content_id,
 * the id the client saw (NULL: a new key). */
typedef struct cat_nessie_op {
    const char *key;
    json_t *content;
    const char *kind, *location, *content_id;
} cat_nessie_op;

typedef struct cat_nessie_commit_result {
    const char *hash;         /* the new commit */
    const char *target_hash;  /* the branch's head before */
    const char **content_ids; /* per op: the Put's content id (NULL for a Delete) */
    cat_conflict *conflicts;  /* why not, with Nessie's conflict types */
    size_t nconflicts;
} cat_nessie_commit_result;

/* Commits ops to branch as one commit. expected_hash (NULL: none) is the
 * commit the client based it on: keys changed on the branch since then are
 * conflicts. A Put of an existing key must carry its content id; a Put of a
 * new key none; a key needs its namespace; a namespace deleted must be
 * empty. Conflicts: FLOE_ECONFLICT with out->conflicts. */
bool cat_nessie_commit(cat_t *c, const char *branch, const char *expected_hash, const cat_nessie_op *ops, size_t n,
                       const char *message, arena_t *a, cat_nessie_commit_result *out, floe_err *err);
/* The content of key (display form) at the commit spec names; *found
 * false when it is absent there. */
bool cat_nessie_content(cat_t *c, const char *spec, const char *key, arena_t *a, cat_entry *out, bool *found,
                        floe_err *err);

/* Counters of the history walks (for tests of cost): commits read and op
 * rows read, process-wide. */
typedef struct cat_walk_stats {
    uint64_t commits_read, ops_read;
} cat_walk_stats;
void cat_walk_stats_get(cat_walk_stats *out);
void cat_walk_stats_reset(void);

/* The catalog as the iceberg layer sees it (see ice_catalog in iceberg.h). */
void cat_as_ice(cat_t *c, const char *ref, ice_catalog *out);

/* ---- rest: what the Iceberg REST API needs beyond the above (tables.c) ---- */

/* One table's part of a multi-table commit. A table that does not exist is
 * created by the commit when its requirements hold assert-create (a staged
 * create): its updates must add a schema and set it current. */
typedef struct cat_table_change {
    const char *ns, *name;
    json_t *requirements, *updates;
} cat_table_change;

/* Commits changes to n tables as ONE catalog commit: every requirement is
 * checked and every metadata file written first, then all locations swap
 * in one transaction, or none do (a failed requirement is FLOE_ECONFLICT
 * and nothing changes). out (n entries, or NULL) gets the tables. */
bool cat_tables_commit(cat_t *c, const char *ref, const cat_table_change *changes, size_t n, arena_t *a, cat_table *out,
                       floe_err *err);
/* The metadata a table created by updates (add-schema, add-spec, ...)
 * would start with, without writing anything: a staged create. The
 * namespace must exist (FLOE_ENOENT) and the table must not (FLOE_EEXIST). */
bool cat_table_stage(cat_t *c, const char *ref, const char *ns, const char *name, json_t *updates, arena_t *a,
                     ice_table_meta *out, floe_err *err);
/* Adds a table whose metadata file already exists (FLOE_EEXIST unless
 * overwrite). */
bool cat_table_register(cat_t *c, const char *ref, const char *ns, const char *name, const char *metadata_location,
                        bool overwrite, arena_t *a, cat_table *out, floe_err *err);
/* The other versions of a table that maintenance on ref must not delete
 * from: its metadata on every other branch and tag of the catalog, one
 * entry per distinct metadata file other than metadata_location (the one
 * being maintained). A ref without the table is skipped. Allocated in a. */
bool cat_table_other_versions(cat_t *c, const char *ref, const char *ns, const char *name,
                              const char *metadata_location, arena_t *a, ice_maint_keep *keep, floe_err *err);
/* Moves a table to another name or namespace in one commit; its files stay
 * where they are. FLOE_ENOENT, FLOE_EEXIST. */
bool cat_table_rename(cat_t *c, const char *ref, const char *ns, const char *name, const char *to_ns,
                      const char *to_name, floe_err *err);
/* Replaces a namespace's properties. FLOE_ENOENT. */
bool cat_namespace_set_props(cat_t *c, const char *ref, const char *ns, json_t *props, floe_err *err);

/* ---- the catalog port: Iceberg REST under /iceberg, Nessie v2 under
 * /api/v2 (server.c, rest.c, nessie.c, auth.c) ---- */
#include "base/config.h"

typedef struct cat_server cat_server_t;
typedef struct cat_server_opts {
    cat_t *cat;
    const floe_config *cfg;  /* bind address, keys, auth (borrowed) */
    int port;                /* 0: a free port */
    const char *s3_endpoint; /* where engines reach the S3 API */
    store_t *store;          /* the warehouse bucket is created here on first need (may be NULL) */
} cat_server_opts;

cat_server_t *cat_server_start(const cat_server_opts *opts, floe_err *err);
int cat_server_port(cat_server_t *s);
void cat_server_stop(cat_server_t *s);

/* ---- bearer tokens (auth.c): stateless, HMAC-signed under the root
 * secret; the catalog port and the console API both take them ---- */
typedef struct cat_token_claims {
    char principal[201]; /* the access key that asked for it */
    bool write;          /* false: GET and HEAD only */
    int64_t expires_s;
} cat_token_claims;

#define CAT_TOKEN_TTL_S 3600
#define CAT_TOKEN_MAX 700

bool cat_token_issue(const char *root_secret, const char *principal, bool write, int64_t expires_s, char *out,
                     size_t cap, floe_err *err);
/* FLOE_EAUTH says why not: malformed, altered, expired. */
bool cat_token_verify(const char *root_secret, const char *token, int64_t now_s, cat_token_claims *out, floe_err *err);
/* Whether id/secret is the root pair or a configured key; *write its scope. */
bool cat_client_check(const floe_config *cfg, const char *id, const char *secret, bool *write);

/* ---- gc (gc.c): garbage collection of the warehouse ----
 *
 * Marks every file reachable from the head of every ref (branch or tag):
 * each table version's metadata.json and its metadata log, and every
 * retained snapshot's manifest list, manifests and data and delete files
 * (any entry status). Then lists everything under the warehouse and
 * deletes the files nothing marked that are older than the grace period,
 * the files of dropped tables included. The catalog's older commits do not
 * protect files (tag one to keep it). If any live table's metadata,
 * manifest list or manifest cannot be read, nothing is deleted. */
#define CAT_GC_GRACE_MS (3 * 86400000ll) /* Iceberg's remove-orphans default */

typedef struct cat_gc_opts {
    int64_t older_than_ms;       /* delete only files modified before; -1: now - CAT_GC_GRACE_MS */
    bool dry_run;                /* list what would go; delete nothing */
    int64_t now_ms;              /* 0: the clock (older_than_ms may not be later) */
    ice_maint_progress progress; /* phases "marking" (table versions), "listing", "deleting" */
    void *progress_arg;
} cat_gc_opts;

typedef struct cat_gc_file {
    const char *uri;
    uint64_t size;
    int64_t mtime_ms;
    bool failed; /* could not be deleted (logged) */
} cat_gc_file;

typedef struct cat_gc_result {
    int64_t older_than_ms;                /* the cutoff used */
    int64_t refs, tables, table_versions; /* walked: refs, (ref, table) pairs, distinct metadata files */
    int64_t live_files;                   /* marked: reachable from some ref */
    int64_t listed, listed_bytes;         /* under the warehouse */
    int64_t kept_live, kept_live_bytes;   /* listed and reachable */
    int64_t kept_young, kept_young_bytes; /* unreachable, not older than the cutoff */
    int64_t kept_protected;               /* under the location of a live table with gc.enabled=false */
    cat_gc_file *deleted;                 /* deleted (or, dry run, to delete), in key order, in a */
    size_t ndeleted;
    int64_t deleted_bytes, failed_deletes;
} cat_gc_result;

bool cat_gc(cat_t *c, const cat_gc_opts *opts, arena_t *a, cat_gc_result *res, floe_err *err);

#endif
