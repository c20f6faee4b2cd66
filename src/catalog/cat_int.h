/*
 * cat_int.h: what the catalog's files share (connections, content keys).
 *
 *   store.c    the commit log: refs, commits, ops, heads; CAS commits
 *   db*.c      its SQL store: SQLite or PostgreSQL (db.h)
 *   tables.c   namespaces and tables on top of it; the iceberg interface
 *   versions.c refs, addressing (refspecs), contents at a commit, log,
 *              diff, merge, transplant, reflog
 */
#ifndef FLOE_CATALOG_CAT_INT_H
#define FLOE_CATALOG_CAT_INT_H

#include <pthread.h>

#include "catalog/catalog.h"
#include "catalog/db.h"

/* A pooled connection to the catalog's database (db.h). */
typedef db_conn cat_conn;

typedef struct cat_ice_ctx {
    cat_t *c;
    char *ref;
} cat_ice_ctx;

#define CAT_MAX_REFCTX 16

typedef struct cat_commit_req cat_commit_req; /* store.c's group commit */

/* tables.c's cache of metadata files by location: they are never
 * rewritten, so an entry never goes stale. Direct-mapped by a hash of the
 * location; at most CAT_META_BYTES in all, files up to CAT_META_FILE. */
#define CAT_META_SLOTS 256
#define CAT_META_BYTES (32u << 20)
#define CAT_META_FILE (4u << 20)
typedef struct cat_meta_slot {
    char *loc;
    char *data;
    size_t len;
} cat_meta_slot;

/* meta_cache.c: parsed metadata by location (immutable files), reference
 * counted; see there. CAT_PARSED_SLOTS tables, chains of at most
 * CAT_PARSED_DEPTH versions, a root's parse up to CAT_PARSED_BYTES. */
#define CAT_PARSED_SLOTS 64
#define CAT_PARSED_DEPTH 16
#define CAT_PARSED_BYTES (8u << 20)
typedef struct cat_meta_entry cat_meta_entry;

struct cat {
    char *dir;
    char *warehouse;
    fileio_t *io;
    db_t *db;
    pthread_mutex_t lock;             /* ctxs */
    cat_ice_ctx ctxs[CAT_MAX_REFCTX]; /* for cat_as_ice; evicted oldest first */
    int nctx;
    /* group commit (store.c): commits queued for the next batch */
    pthread_mutex_t commit_lock;
    pthread_cond_t commit_done;
    cat_commit_req *queue_head, *queue_tail;
    bool committing; /* a caller is running a batch */
    uint64_t batches, batched;
    pthread_mutex_t meta_lock; /* meta, meta_bytes */
    cat_meta_slot meta[CAT_META_SLOTS];
    size_t meta_bytes;
    cat_meta_entry *parsed[CAT_PARSED_SLOTS]; /* under meta_lock */
    uint64_t parsed_hits, parsed_misses;
};

cat_conn *cat_conn_get(cat_t *c, floe_err *err);
void cat_conn_put(cat_t *c, cat_conn *k);
/* A text column copied into a (NULL for SQL NULL). */
const char *cat_col_text(arena_t *a, db_stmt *st, int i);
/* The ref named (FLOE_ENOENT names it). */
bool cat_ref_read(cat_conn *k, const char *ref, arena_t *a, cat_ref *out, floe_err *err);

/* Content keys: the name's levels joined by 0x1F, so "a.b" namespace and
 * table "t" in it is "a\x1Fb\x1Ft". The parent of a key drops its last level
 * ("" at the top). */
#define CAT_SEP '\x1f'
char *cat_key(arena_t *a, const char *ns, const char *name); /* name may be NULL */
char *cat_key_parent(arena_t *a, const char *key);
/* The key as people write it: levels joined by '.'. */
const char *cat_key_display(arena_t *a, const char *key);

/* The content at a ref's head. kind is "NAMESPACE" or "ICEBERG_TABLE". */
typedef struct cat_content {
    const char *kind;
    const char *content_id;
    const char *location; /* tables: metadata location */
    const char *json;     /* the Nessie content object */
} cat_content;

/* FLOE_ENOENT for a missing ref; *found false for a missing key. */
bool cat_head_get(cat_conn *k, const char *ref, const char *key, arena_t *a, cat_content *out, bool *found,
                  floe_err *err);

/* One change of a commit: put (content != NULL) or delete of key. */
typedef struct cat_op {
    const char *key;
    const cat_content *content; /* NULL: delete */
    /* compare-and-swap: the location the key must still have (NULL: the
     * key must be absent, for creates; ignored when !check) */
    bool check;
    const char *expect_location;
    bool expect_absent;
    bool check_only;   /* only check (the key must exist); change nothing */
    bool expect_empty; /* no key may have this key as its parent */
} cat_op;

/* Commits ops to ref as one commit, checking each op's expectation inside
 * the write transaction. FLOE_ECONFLICT when one no longer holds.
 * Concurrent calls are group-committed: one transaction, a savepoint each,
 * one COMMIT (store.c). */
bool cat_commit_ops(cat_t *c, const char *ref, const cat_op *ops, size_t n, const char *message, floe_err *err);
/* For tests: batches run and commits they carried since cat_open; holding
 * batches back (as if one were running, so commits queue) and letting them
 * go; how many commits are queued. */
void cat_commit_stats(cat_t *c, uint64_t *batches, uint64_t *commits);
void cat_commit_hold(cat_t *c, bool hold);
size_t cat_commit_queued(cat_t *c);

/* Inside a write transaction the caller holds: appends a commit of ops
 * (their checks already done) on branch r (r->hash is the parent; parent2
 * the merged commit or NULL), updates heads, moves the ref and appends
 * operation ("COMMIT", "MERGE", "TRANSPLANT") to the reflog. */
bool cat_commit_write(cat_conn *k, const cat_ref *r, const char *parent2, const cat_op *ops, size_t n,
                      const char *message, const char *operation, arena_t *a, const char **out_hash, floe_err *err);
/* One heads row of ref: put ct, or delete when ct is NULL. */
bool cat_heads_apply(cat_conn *k, const char *ref, const char *key, const cat_content *ct, arena_t *a, floe_err *err);
bool cat_reflog_add(cat_conn *k, const char *ref, const char *old_hash, const char *new_hash, const char *operation,
                    floe_err *err);

/* versions.c, for the reads in store.c: the content of key at the commit a
 * refspec names ("main~2", "main@3f2a..."): the newest op on key among the
 * commit's ancestors. */
bool cat_content_at_spec(cat_conn *k, const char *spec, const char *key, arena_t *a, cat_content *out, bool *found,
                         floe_err *err);
/* For tests of cost: ncommits commits on branch in one transaction, commit
 * i putting table ns.t<i % nkeys> (no checks; the namespace need not
 * exist). */
bool cat_bulk_commits(cat_t *c, const char *branch, const char *ns, size_t ncommits, size_t nkeys, floe_err *err);
/* True when s is a refspec rather than a plain ref name. */
bool cat_is_refspec(const char *s);

/* A new entry, not yet cached: its metadata is to be built in its arena
 * (sharing parent's, which it keeps alive), and borrower holds it until
 * freed. */
cat_meta_entry *cat_meta_entry_new(cat_t *c, cat_meta_entry *parent, arena_t *borrower);
arena_t *cat_meta_entry_arena(cat_meta_entry *e);
ice_table_meta *cat_meta_entry_meta(cat_meta_entry *e);
/* Whether a version built on e may still be cached (the chain's bound). */
bool cat_meta_entry_can_extend(const cat_meta_entry *e);
/* The cached entry of loc, held by borrower until it is freed; NULL on a miss. */
cat_meta_entry *cat_meta_borrow(cat_t *c, const char *loc, arena_t *borrower);
/* Caches e (its metadata built and durable at loc). */
void cat_meta_insert(cat_t *c, cat_meta_entry *e, const char *loc);
void cat_meta_cache_free(cat_t *c);

#endif
