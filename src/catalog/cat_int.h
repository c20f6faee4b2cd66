/*
 * cat_int.h: what the catalog's files share (connections, content keys).
 *
 *   store.c    the SQLite commit log: refs, commits, ops, heads; CAS commits
 *   tables.c   namespaces and tables on top of it; the iceberg interface
 */
#ifndef FLOE_CATALOG_CAT_INT_H
#define FLOE_CATALOG_CAT_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "catalog/catalog.h"

typedef struct cat_conn {
    sqlite3 *db;
    struct cat_conn *next;
} cat_conn;

typedef struct cat_ice_ctx {
    cat_t *c;
    char *ref;
} cat_ice_ctx;

#define CAT_MAX_REFCTX 16

struct cat {
    char *dir;
    char *warehouse;
    fileio_t *io;
    bool fsync;
    pthread_mutex_t lock;
    cat_conn *pool;
    int idle;
    cat_ice_ctx ctxs[CAT_MAX_REFCTX]; /* for cat_as_ice; evicted oldest first */
    int nctx;
};

cat_conn *cat_conn_get(cat_t *c, floe_err *err);
void cat_conn_put(cat_t *c, cat_conn *k);
bool cat_sql_fail(cat_conn *k, const char *what, floe_err *err);

/* Content keys: the name's levels joined by 0x1F, so "a.b" namespace and
 * table "t" in it is "a\x1Fb\x1Ft". The parent of a key drops its last level
 * ("" at the top). */
#define CAT_SEP '\x1f'
char *cat_key(arena_t *a, const char *ns, const char *name); /* name may be NULL */
char *cat_key_parent(arena_t *a, const char *key);

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
 * the write transaction. FLOE_ECONFLICT when one no longer holds. */
bool cat_commit_ops(cat_t *c, const char *ref, const cat_op *ops, size_t n, const char *message, floe_err *err);

#endif
