/*
 * store_int.h: internals shared by the files of src/store/ (not by s3/).
 *
 *   index.c      SQLite: schema, the pool of reader connections, and the
 *                group-commit thread that owns the one writer connection
 *   store.c      open, close, the start-up sweep, buckets
 *   writer.c     temp files, digests, durable placement
 *   objects.c    put commit, get, open, delete, list
 *   multipart.c  uploads and parts
 */
#ifndef FLOE_STORE_INT_H
#define FLOE_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

/* Prepared statements, by id. Each connection prepares them lazily. */
typedef enum {
    ST_BUCKET_GET,
    ST_BUCKET_LIST,
    ST_BUCKET_INSERT,
    ST_BUCKET_DELETE,
    ST_BUCKET_HAS_OBJECTS,
    ST_BUCKET_SET_PUBLIC,
    ST_OBJ_GET,
    ST_OBJ_UPSERT,
    ST_OBJ_DELETE,
    ST_OBJ_SET_META,
    ST_OBJ_LIST_GE,
    ST_OBJ_LIST_GT,
    ST_UPLOAD_INSERT,
    ST_UPLOAD_GET,
    ST_UPLOAD_DELETE,
    ST_UPLOAD_LIST,
    ST_UPLOADS_OF_BUCKET,
    ST_PART_GET,
    ST_PART_UPSERT,
    ST_PART_LIST,
    ST_PARTS_OF_UPLOAD,
    ST_PARTS_DELETE,
    ST__COUNT
} store_stmt_id;

typedef struct store_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST__COUNT];
    struct store_conn *next;
} store_conn;

typedef struct store_commit_op store_commit_op;

struct store {
    char *dir;      /* DIR/objects */
    char *data_dir; /* DIR/objects/data */
    char *tmp_dir;  /* DIR/objects/tmp */
    bool fsync;
    size_t inline_max;
    int lock_fd; /* DIR/objects/LOCK, flock()ed (shared) for the store's lifetime */
    bool swept;  /* this process was alone at open, and swept */

    pthread_mutex_t pool_lock;
    store_conn *pool; /* idle reader connections */
    int pool_idle;
    unsigned long activity; /* reader returns, for the idle trim */

    /* group commit */
    store_conn *writer;
    pthread_t committer;
    pthread_mutex_t commit_lock;
    pthread_cond_t commit_wake; /* work queued, or stopping */
    pthread_cond_t commit_done; /* a batch finished */
    store_commit_op *queue_head, *queue_tail;
    bool stopping;
    bool deferred_pending; /* a deferred commit since the last store_sync */

    int shard_fds[256]; /* data/XX directories, fsynced by the committer */

    store_stats stats;
};

/* Runs inside the writer's transaction, in a savepoint of its own: a false
 * return rolls back this op only. */
typedef bool (*store_apply_fn)(store_conn *c, void *arg, floe_err *err);

bool store_index_open(store_t *s, floe_err *err);
void store_index_close(store_t *s);
store_conn *store_conn_get(store_t *s, floe_err *err);
void store_conn_put(store_t *s, store_conn *c);
/* The statement, reset and with bindings cleared. */
sqlite3_stmt *store_stmt(store_conn *c, store_stmt_id id);
/* Queues fn for the next group commit and waits until it is durable. When
 * data_id is given, the committer first fsyncs that file's data/XX
 * directory (once per batch per directory), making its rename durable before
 * the row that references it commits. */
bool store_commit(store_t *s, store_apply_fn fn, void *arg, floe_err *err);
bool store_commit_placed(store_t *s, const char *data_id, store_apply_fn fn, void *arg, floe_err *err);
/* The same, with deferred durability when deferred (see store_cond). */
bool store_commit_deferrable(store_t *s, const char *data_id, store_apply_fn fn, void *arg, bool deferred,
                             floe_err *err);
bool store_sql_err(store_conn *c, const char *what, floe_err *err);

/* writer.c */
void store_random_id(char out[STORE_ID_LEN + 1]);
void store_data_path(store_t *s, const char *data_id, char *out, size_t n);
/* Moves a finished writer's file into data/ durably and returns its id. */
bool store_writer_place(store_writer *w, char data_id[STORE_ID_LEN + 1], floe_err *err);
/* Frees the writer without touching its file. */
void store_writer_release(store_writer *w);
/* The temp file's descriptor and a size adjustment, for multipart
 * completion, which fills the file with copy_file_range. */
int store_writer_fd(store_writer *w);
void store_writer_add_size(store_writer *w, uint64_t n);
bool store_writer_is_inline(store_writer *w);
const void *store_writer_inline_data(store_writer *w, size_t *len);
/* Inside a commit: checks the bucket exists and cond holds (FLOE_ECONFLICT if
 * not); old gets the replaced row's data id, or "". */
bool store_check_target(store_conn *c, const char *bucket, const char *key, size_t key_len, const store_cond *cond,
                        char old[STORE_ID_LEN + 1], floe_err *err);
/* Inside a commit: writes o as the current version of its key. */
bool store_upsert_object(store_conn *c, const store_object *o, floe_err *err);
/* Binds o's inline data (or NULL) to parameter idx of an upsert. */
void store_bind_inline(sqlite3_stmt *st, int idx, const store_object *o);
/* Removes a placed data file (after the index no longer references it). */
void store_data_unlink(store_t *s, const char *data_id);

/* objects.c: a text column copied into a, or NULL. */
const char *store_col_text(sqlite3_stmt *st, int i, arena_t *a);
/* The smallest byte string greater than every string starting with p (drop
 * trailing 0xff bytes, increment the last); false when none exists. */
bool store_key_successor(arena_t *a, const char *p, size_t n, char **out, size_t *outn);
/* objects.c: reads a row of ST_OBJ_GET / ST_OBJ_LIST_* shape. */
void store_object_from_row(sqlite3_stmt *st, arena_t *a, store_object *o);
/* Commits obj, whose data file is already placed; on failure removes it. */
bool store_commit_object(store_t *s, store_object *obj, const store_cond *cond, floe_err *err);

#endif
