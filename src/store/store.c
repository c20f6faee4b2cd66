/*
 * store.c: opening and closing the store, the start-up sweep, and buckets.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "store/store_int.h"

const char *store_dir(store_t *s) { return s->dir; }

void store_set_inline_max(store_t *s, size_t bytes) { s->inline_max = bytes; }

static int cmp_id(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Collects every data_id the index references, sorted, for the sweep. */
static bool referenced_ids(store_t *s, char ***out, size_t *n, floe_err *err) {
    static const char *sql = "SELECT data_id FROM objects INDEXED BY objects_files WHERE data_id != ''"
                             " UNION ALL SELECT data_id FROM parts";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->writer->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_err(s->writer, "sweep", err);
    size_t cap = 1024;
    char **ids = malloc(cap * sizeof *ids);
    *n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    qsort(ids, *n, sizeof *ids, cmp_id);
    *out = ids;
    return true;
}

static size_t sweep_dir(const char *dir, char **keep, size_t nkeep) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        const char *name = e->d_name;
        if (keep && bsearch(&name, keep, nkeep, sizeof *keep, cmp_id)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (unlink(path) == 0)
            removed++;
        else
            log_warn("store", "sweep: cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
    return removed;
}

/* Removes abandoned temp files and data files no index row references. Runs
 * before the server accepts requests, and only in a process alone with the
 * directory (see lock_dir), so nothing is in flight. */
static bool sweep(store_t *s, floe_err *err) {
    char **ids = NULL;
    size_t nids = 0;
    if (!referenced_ids(s, &ids, &nids, err)) return false;
    size_t removed = sweep_dir(s->tmp_dir, NULL, 0);
    for (int i = 0; i < 256; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%02x", s->data_dir, i);
        removed += sweep_dir(dir, ids, nids);
    }
    for (size_t i = 0; i < nids; i++) free(ids[i]);
    free(ids);
    s->stats.swept_files = removed;
    if (removed) log_info("store", "start-up sweep removed %zu unreferenced file(s)", removed);
    return true;
}

/* Several floe processes may share a data directory: `floe serve` and the
 * `floe table` commands, say. SQLite serialises their index writes (WAL,
 * BEGIN IMMEDIATE, a busy timeout), and data files have random names. The
 * one thing that must not happen is the start-up sweep removing another
 * process's files in flight, so the sweep runs only in a process that finds
 * itself alone: it takes objects/LOCK exclusively (without waiting), sweeps,
 * and then holds the lock shared for its lifetime; a process that finds the
 * directory in use takes the lock shared (waiting out a sweep in progress)
 * and skips the sweep. The lock dies with its process, so a kill -9 never
 * leaves it stale. *alone says which case this is. */
static bool lock_dir(store_t *s, bool *alone, floe_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/LOCK", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) return floe_err_errno(err, errno, "open %s", path);
    *alone = flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
    if (!*alone && flock(s->lock_fd, LOCK_SH) != 0) return floe_err_errno(err, errno, "flock %s", path);
    return true;
}

/* After the sweep: share the directory from now on. */
static bool share_dir(store_t *s, floe_err *err) {
    if (flock(s->lock_fd, LOCK_SH) != 0) return floe_err_errno(err, errno, "flock %s/LOCK", s->dir);
    return true;
}

bool store_swept(const store_t *s) { return s->swept; }

store_t *store_open(const char *dir, bool fsync_on, floe_err *err) {
    store_t *s = calloc(1, sizeof *s);
    s->lock_fd = -1;
    s->fsync = fsync_on;
    s->inline_max = 32 * 1024;
    bool alone = false;
    if (asprintf(&s->dir, "%s/objects", dir) < 0 || asprintf(&s->data_dir, "%s/data", s->dir) < 0 ||
        asprintf(&s->tmp_dir, "%s/tmp", s->dir) < 0)
        abort();
    if (!fs_mkdir_p(s->data_dir, err) || !fs_mkdir_p(s->tmp_dir, err) || !lock_dir(s, &alone, err)) goto fail;
    for (int i = 0; i < 256; i++) {
        char shard[4096];
        snprintf(shard, sizeof shard, "%s/%02x", s->data_dir, i);
        if (!fs_mkdir_p(shard, err)) goto fail;
    }
    if (s->fsync && (!fs_fsync_dir(s->data_dir, err) || !fs_fsync_dir(s->dir, err))) goto fail;
    if (!store_index_open(s, err)) goto fail;
    if (alone) {
        if (!sweep(s, err) || !share_dir(s, err)) goto fail;
        s->swept = true;
    }
    return s;
fail:
    floe_err_wrap(err, "open object store in %s", dir);
    store_close(s);
    return NULL;
}

void store_close(store_t *s) {
    if (!s) return;
    store_index_close(s);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    free(s->dir);
    free(s->data_dir);
    free(s->tmp_dir);
    free(s);
}

void store_get_stats(store_t *s, store_stats *out) {
    pthread_mutex_lock(&s->commit_lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->commit_lock);
}

/* ---- buckets ---- */

static void bucket_from_row(sqlite3_stmt *st, arena_t *a, store_bucket *b) {
    b->name = arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
    b->created_ms = sqlite3_column_int64(st, 1);
    b->public_read = sqlite3_column_int(st, 2) != 0;
}

bool store_bucket_get(store_t *s, const char *name, arena_t *a, store_bucket *out, floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW;
    if (ok)
        bucket_from_row(st, a, out);
    else if (rc == SQLITE_DONE)
        floe_err_set(err, FLOE_ENOENT, "bucket '%s' does not exist", name);
    else
        store_sql_err(c, "bucket lookup", err);
    store_conn_put(s, c);
    return ok;
}

bool store_bucket_list(store_t *s, arena_t *a, store_bucket **out, size_t *n, floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_LIST);
    size_t cap = 16;
    *out = arena_alloc(a, cap * sizeof **out);
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            store_bucket *nb = arena_alloc(a, cap * 2 * sizeof *nb);
            memcpy(nb, *out, cap * sizeof *nb);
            *out = nb;
            cap *= 2;
        }
        bucket_from_row(st, a, &(*out)[(*n)++]);
    }
    bool ok = rc == SQLITE_DONE || store_sql_err(c, "bucket list", err);
    store_conn_put(s, c);
    return ok;
}

typedef struct bucket_op {
    const char *name;
    bool public_read;
    char **orphans; /* data ids to unlink after commit (malloc'd) */
    size_t norphans;
} bucket_op;

static bool apply_bucket_create(store_conn *c, void *arg, floe_err *err) {
    bucket_op *op = arg;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_INSERT);
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, time_now_ms());
    sqlite3_bind_int(st, 3, op->public_read);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) return floe_err_set(err, FLOE_EEXIST, "bucket '%s' already exists", op->name);
    return rc == SQLITE_DONE || store_sql_err(c, "bucket create", err);
}

bool store_bucket_create(store_t *s, const char *name, bool public_read, floe_err *err) {
    bucket_op op = {.name = name, .public_read = public_read};
    return store_commit(s, apply_bucket_create, &op, err);
}

static void collect_orphans(store_conn *c, store_stmt_id id, const char *key, bucket_op *op) {
    sqlite3_stmt *st = store_stmt(c, id);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        op->orphans = realloc(op->orphans, (op->norphans + 1) * sizeof *op->orphans);
        op->orphans[op->norphans++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
}

static bool apply_bucket_delete(store_conn *c, void *arg, floe_err *err) {
    bucket_op *op = arg;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_HAS_OBJECTS);
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return floe_err_set(err, FLOE_ECONFLICT, "bucket '%s' is not empty; delete its objects first", op->name);
    if (rc != SQLITE_DONE) return store_sql_err(c, "bucket delete", err);
    /* Abort pending multipart uploads: gather their part files first. */
    char **uploads = NULL;
    size_t nuploads = 0;
    st = store_stmt(c, ST_UPLOADS_OF_BUCKET);
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        uploads = realloc(uploads, (nuploads + 1) * sizeof *uploads);
        uploads[nuploads++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
    bool ok = true;
    for (size_t i = 0; i < nuploads && ok; i++) {
        collect_orphans(c, ST_PARTS_OF_UPLOAD, uploads[i], op);
        st = store_stmt(c, ST_PARTS_DELETE);
        sqlite3_bind_text(st, 1, uploads[i], -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        st = store_stmt(c, ST_UPLOAD_DELETE);
        sqlite3_bind_text(st, 1, uploads[i], -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(st) == SQLITE_DONE;
    }
    for (size_t i = 0; i < nuploads; i++) free(uploads[i]);
    free(uploads);
    if (!ok) return store_sql_err(c, "bucket delete", err);
    st = store_stmt(c, ST_BUCKET_DELETE);
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return store_sql_err(c, "bucket delete", err);
    if (sqlite3_changes(c->db) == 0) return floe_err_set(err, FLOE_ENOENT, "bucket '%s' does not exist", op->name);
    return true;
}

bool store_bucket_delete(store_t *s, const char *name, floe_err *err) {
    bucket_op op = {.name = name};
    bool ok = store_commit(s, apply_bucket_delete, &op, err);
    for (size_t i = 0; i < op.norphans; i++) {
        if (ok) store_data_unlink(s, op.orphans[i]);
        free(op.orphans[i]);
    }
    free(op.orphans);
    return ok;
}

static bool apply_bucket_public(store_conn *c, void *arg, floe_err *err) {
    bucket_op *op = arg;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_SET_PUBLIC);
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, op->public_read);
    if (sqlite3_step(st) != SQLITE_DONE) return store_sql_err(c, "bucket update", err);
    if (sqlite3_changes(c->db) == 0) return floe_err_set(err, FLOE_ENOENT, "bucket '%s' does not exist", op->name);
    return true;
}

bool store_bucket_set_public(store_t *s, const char *name, bool public_read, floe_err *err) {
    bucket_op op = {.name = name, .public_read = public_read};
    return store_commit(s, apply_bucket_public, &op, err);
}
