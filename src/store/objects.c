/*
 * objects.c: committing, reading, deleting and listing objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "store/store_int.h"

const char *store_col_text(sqlite3_stmt *st, int i, arena_t *a) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? arena_strdup(a, (const char *)t) : NULL;
}

void store_object_from_row(sqlite3_stmt *st, arena_t *a, store_object *o) {
    memset(o, 0, sizeof *o);
    o->bucket = (char *)store_col_text(st, 0, a);
    const void *k = sqlite3_column_blob(st, 1);
    o->key_len = (size_t)sqlite3_column_bytes(st, 1);
    o->key = arena_strndup(a, k ? k : "", o->key_len);
    snprintf(o->data_id, sizeof o->data_id, "%s", (const char *)sqlite3_column_text(st, 2));
    o->size = (uint64_t)sqlite3_column_int64(st, 3);
    snprintf(o->etag, sizeof o->etag, "%s", (const char *)sqlite3_column_text(st, 4));
    o->content_type = (char *)store_col_text(st, 5, a);
    o->meta_json = (char *)store_col_text(st, 6, a);
    o->mtime_ms = sqlite3_column_int64(st, 7);
    o->checksum_algo = (hash_algo)sqlite3_column_int(st, 8);
    const unsigned char *cs = sqlite3_column_text(st, 9);
    snprintf(o->checksum, sizeof o->checksum, "%s", cs ? (const char *)cs : "");
    o->parts = sqlite3_column_int(st, 10);
    if (sqlite3_column_count(st) > 11 && sqlite3_column_type(st, 11) != SQLITE_NULL) {
        const void *d = sqlite3_column_blob(st, 11);
        o->inline_len = (size_t)sqlite3_column_bytes(st, 11);
        void *copy = arena_alloc(a, o->inline_len + 1);
        if (o->inline_len) memcpy(copy, d, o->inline_len);
        o->inline_data = copy;
    }
}

void store_bind_inline(sqlite3_stmt *st, int idx, const store_object *o) {
    if (!o->inline_data)
        sqlite3_bind_null(st, idx);
    else if (o->inline_len == 0)
        sqlite3_bind_zeroblob(st, idx, 0);
    else
        sqlite3_bind_blob(st, idx, o->inline_data, (int)o->inline_len, SQLITE_STATIC);
}

/* Strips surrounding quotes (and a W/ prefix) from an ETag in a header. */
bool store_etag_matches(const char *cond, const char *etag) {
    if (!cond) return false;
    if (strcmp(cond, "*") == 0) return true;
    /* A list: "a", "b" */
    const char *p = cond;
    size_t elen = strlen(etag);
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!strncmp(p, "W/", 2)) p += 2;
        const char *start = p, *end;
        if (*p == '"') {
            start = ++p;
            end = strchr(p, '"');
            if (!end) end = p + strlen(p);
            p = *end ? end + 1 : end;
        } else {
            end = strchr(p, ',');
            if (!end) end = p + strlen(p);
            p = end;
        }
        while (end > start && end[-1] == ' ') end--;
        if ((size_t)(end - start) == elen && memcmp(start, etag, elen) == 0) return true;
    }
    return false;
}

typedef struct put_op {
    store_object *obj;
    const store_cond *cond;
    char old_data_id[STORE_ID_LEN + 1];
} put_op;

/* Checks that the bucket exists and the condition holds, inside the
 * transaction. Fills old with the current row's data id if there is one. */
bool store_check_target(store_conn *c, const char *bucket, const char *key, size_t key_len, const store_cond *cond,
                        char old[STORE_ID_LEN + 1], floe_err *err) {
    old[0] = '\0';
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_GET);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return floe_err_set(err, FLOE_ENOENT, "bucket '%s' does not exist", bucket);
    if (rc != SQLITE_ROW) return store_sql_err(c, "bucket lookup", err);
    st = store_stmt(c, ST_OBJ_GET);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, (int)key_len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_sql_err(c, "object lookup", err);
    bool exists = rc == SQLITE_ROW;
    const char *cur_etag = exists ? (const char *)sqlite3_column_text(st, 4) : NULL;
    if (cond && cond->if_none_match_any && exists)
        return floe_err_set(err, FLOE_ECONFLICT, "the key was created by a concurrent request");
    if (cond && cond->if_match && (!exists || !store_etag_matches(cond->if_match, cur_etag)))
        return floe_err_set(err, FLOE_ECONFLICT, "the object was changed by a concurrent request");
    if (exists) snprintf(old, STORE_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 2));
    return true;
}

bool store_upsert_object(store_conn *c, const store_object *o, floe_err *err) {
    sqlite3_stmt *st = store_stmt(c, ST_OBJ_UPSERT);
    sqlite3_bind_text(st, 1, o->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, o->key, (int)o->key_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->data_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)o->size);
    sqlite3_bind_text(st, 5, o->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, o->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, o->meta_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, o->mtime_ms);
    sqlite3_bind_int(st, 9, (int)o->checksum_algo);
    if (o->checksum[0]) sqlite3_bind_text(st, 10, o->checksum, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, o->parts);
    store_bind_inline(st, 12, o);
    return sqlite3_step(st) == SQLITE_DONE || store_sql_err(c, "object write", err);
}

static bool apply_put(store_conn *c, void *arg, floe_err *err) {
    put_op *op = arg;
    store_object *o = op->obj;
    if (!store_check_target(c, o->bucket, o->key, o->key_len, op->cond, op->old_data_id, err)) return false;
    return store_upsert_object(c, o, err);
}

/* Commits obj (whose data file is placed) and removes the data file it
 * replaced, or its own file if the commit failed. */
bool store_commit_object(store_t *s, store_object *obj, const store_cond *cond, floe_err *err) {
    put_op op = {.obj = obj, .cond = cond};
    obj->mtime_ms = time_now_ms() / 1000 * 1000; /* whole seconds, as S3 keeps them */
    if (!store_commit_deferrable(s, obj->data_id, apply_put, &op, cond && cond->deferred, err)) {
        store_data_unlink(s, obj->data_id);
        return false;
    }
    if (op.old_data_id[0]) store_data_unlink(s, op.old_data_id);
    return true;
}

bool store_put_commit(store_t *s, store_writer *w, store_object *obj, const store_cond *cond, floe_err *err) {
    obj->size = store_writer_size(w);
    if (!store_writer_place(w, obj->data_id, err)) {
        store_writer_abort(w);
        return false;
    }
    obj->inline_data = NULL;
    if (store_writer_is_inline(w)) obj->inline_data = store_writer_inline_data(w, &obj->inline_len);
    bool ok = store_commit_object(s, obj, cond, err);
    store_writer_release(w); /* after the commit: inline data lives in w */
    if (ok) obj->inline_data = NULL;
    return ok;
}

bool store_object_get(store_t *s, const char *bucket, const char *key, size_t key_len, arena_t *a, store_object *out,
                      floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_OBJ_GET);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, (int)key_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW;
    if (ok)
        store_object_from_row(st, a, out);
    else if (rc == SQLITE_DONE)
        floe_err_set(err, FLOE_ENOENT, "no such key");
    else
        store_sql_err(c, "object lookup", err);
    store_conn_put(s, c);
    return ok;
}

bool store_object_open(store_t *s, const char *bucket, const char *key, size_t key_len, arena_t *a, store_object *out,
                       int *fd, floe_err *err) {
    for (int attempt = 0; attempt < 8; attempt++) {
        if (!store_object_get(s, bucket, key, key_len, a, out, err)) return false;
        if (out->inline_data) {
            *fd = -1;
            return true;
        }
        char path[4096];
        store_data_path(s, out->data_id, path, sizeof path);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd >= 0) return true;
        if (errno != ENOENT) return floe_err_errno(err, errno, "open object data %s", path);
        /* A concurrent overwrite or delete removed the file: look again. */
    }
    return floe_err_set(err, FLOE_EIO, "object data keeps disappearing under concurrent overwrites; retry");
}

typedef struct delete_op {
    const char *bucket;
    const char *key;
    size_t key_len;
    char old_data_id[STORE_ID_LEN + 1];
} delete_op;

static bool apply_delete(store_conn *c, void *arg, floe_err *err) {
    delete_op *op = arg;
    op->old_data_id[0] = '\0';
    sqlite3_stmt *st = store_stmt(c, ST_OBJ_GET);
    sqlite3_bind_text(st, 1, op->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, op->key, (int)op->key_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return true;
    if (rc != SQLITE_ROW) return store_sql_err(c, "object lookup", err);
    snprintf(op->old_data_id, sizeof op->old_data_id, "%s", (const char *)sqlite3_column_text(st, 2));
    st = store_stmt(c, ST_OBJ_DELETE);
    sqlite3_bind_text(st, 1, op->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, op->key, (int)op->key_len, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE || store_sql_err(c, "object delete", err);
}

bool store_object_delete(store_t *s, const char *bucket, const char *key, size_t key_len, bool *existed,
                         floe_err *err) {
    delete_op op = {.bucket = bucket, .key = key, .key_len = key_len};
    if (!store_commit(s, apply_delete, &op, err)) return false;
    if (existed) *existed = op.old_data_id[0] != '\0';
    if (op.old_data_id[0]) store_data_unlink(s, op.old_data_id);
    return true;
}

typedef struct meta_op {
    const char *bucket, *key, *meta;
    size_t key_len;
} meta_op;

static bool apply_set_meta(store_conn *c, void *arg, floe_err *err) {
    meta_op *op = arg;
    sqlite3_stmt *st = store_stmt(c, ST_OBJ_SET_META);
    sqlite3_bind_text(st, 1, op->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, op->key, (int)op->key_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, op->meta, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return store_sql_err(c, "metadata update", err);
    if (sqlite3_changes(c->db) == 0) return floe_err_set(err, FLOE_ENOENT, "no such key");
    return true;
}

bool store_object_set_meta(store_t *s, const char *bucket, const char *key, size_t key_len, const char *meta_json,
                           floe_err *err) {
    meta_op op = {.bucket = bucket, .key = key, .key_len = key_len, .meta = meta_json};
    return store_commit(s, apply_set_meta, &op, err);
}

/* ---- listing ---- */

bool store_key_successor(arena_t *a, const char *p, size_t n, char **out, size_t *outn) {
    while (n > 0 && (unsigned char)p[n - 1] == 0xff) n--;
    if (n == 0) return false;
    char *s = arena_strndup(a, p, n);
    s[n - 1] = (char)((unsigned char)s[n - 1] + 1);
    *out = s;
    *outn = n;
    return true;
}

/* Length of the common prefix of key (prefix + up to the first delimiter
 * after it, inclusive), or 0 when the key rolls up into none. */
static size_t common_prefix_len(const char *key, size_t n, const store_list_opts *o) {
    if (!o->delimiter || o->delimiter_len == 0 || n < o->prefix_len) return 0;
    const char *rest = key + o->prefix_len;
    const char *hit = memmem(rest, n - o->prefix_len, o->delimiter, o->delimiter_len);
    return hit ? (size_t)(hit - key) + o->delimiter_len : 0;
}

typedef struct list_state {
    arena_t *a;
    store_list_result *out;
    size_t cap_obj, cap_pre;
} list_state;

static void push_object(list_state *ls, sqlite3_stmt *st) {
    store_list_result *r = ls->out;
    if (r->nobjects == ls->cap_obj) {
        ls->cap_obj = ls->cap_obj ? ls->cap_obj * 2 : 64;
        store_object *n = arena_alloc(ls->a, ls->cap_obj * sizeof *n);
        if (r->nobjects) memcpy(n, r->objects, r->nobjects * sizeof *n);
        r->objects = n;
    }
    store_object *o = &r->objects[r->nobjects++];
    store_object_from_row(st, ls->a, o);
    r->last = o->key;
    r->last_len = o->key_len;
}

static void push_prefix(list_state *ls, const char *p, size_t n) {
    store_list_result *r = ls->out;
    if (r->nprefixes == ls->cap_pre) {
        ls->cap_pre = ls->cap_pre ? ls->cap_pre * 2 : 16;
        store_prefix *np = arena_alloc(ls->a, ls->cap_pre * sizeof *np);
        if (r->nprefixes) memcpy(np, r->prefixes, r->nprefixes * sizeof *np);
        r->prefixes = np;
    }
    store_prefix *sp = &r->prefixes[r->nprefixes++];
    sp->prefix = arena_strndup(ls->a, p, n);
    sp->len = n;
    r->last = sp->prefix;
    r->last_len = n;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

#define LIST_BATCH 1000

bool store_list(store_t *s, const char *bucket, const store_list_opts *o, arena_t *a, store_list_result *out,
                floe_err *err) {
    memset(out, 0, sizeof *out);
    list_state ls = {.a = a, .out = out};
    /* The scan starts at keys >= ge, or keys > gt when gt is the later bound. */
    const char *ge = o->prefix ? o->prefix : "";
    size_t ge_len = o->prefix ? o->prefix_len : 0;
    const char *gt = o->after;
    size_t gt_len = o->after_len;
    if (gt && common_prefix_len(gt, gt_len, o) == gt_len && gt_len > 0 &&
        (!o->prefix || (gt_len >= o->prefix_len && !memcmp(gt, o->prefix, o->prefix_len)))) {
        /* Resuming after a common prefix skips every key rolled up in it. */
        char *succ;
        size_t sn;
        if (!store_key_successor(a, gt, gt_len, &succ, &sn)) return true;
        if (bytes_cmp(succ, sn, ge, ge_len) > 0) ge = succ, ge_len = sn;
        gt = NULL;
    }
    char *lt = NULL;
    size_t lt_len = 0;
    bool bounded = o->prefix_len > 0 && store_key_successor(a, o->prefix, o->prefix_len, &lt, &lt_len);

    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    size_t count = 0;
    bool ok = true, done = false;
    while (!done) {
        bool exclusive = gt && bytes_cmp(gt, gt_len, ge, ge_len) >= 0;
        sqlite3_stmt *st = store_stmt(c, exclusive ? ST_OBJ_LIST_GT : ST_OBJ_LIST_GE);
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        if (exclusive)
            sqlite3_bind_blob(st, 2, gt, (int)gt_len, SQLITE_STATIC);
        else
            sqlite3_bind_blob(st, 2, ge, (int)ge_len, SQLITE_STATIC);
        /* Keys are UTF-8, which never holds byte 0xFF: "\xff" bounds them all. */
        if (bounded)
            sqlite3_bind_blob(st, 3, lt, (int)lt_len, SQLITE_STATIC);
        else
            sqlite3_bind_blob(st, 3, "\xff", 1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, LIST_BATCH);
        int rc;
        size_t rows = 0;
        bool requery = false;
        while (!requery && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            rows++;
            const char *key = sqlite3_column_blob(st, 1);
            size_t klen = (size_t)sqlite3_column_bytes(st, 1);
            if (count == o->max_keys) {
                out->truncated = true;
                done = true;
                break;
            }
            count++;
            size_t cp = common_prefix_len(key, klen, o);
            if (!cp) {
                push_object(&ls, st);
                gt = out->last, gt_len = out->last_len;
                continue;
            }
            push_prefix(&ls, key, cp);
            char *succ;
            size_t sn;
            if (!store_key_successor(a, out->last, cp, &succ, &sn)) {
                done = true;
                break;
            }
            ge = succ, ge_len = sn, gt = NULL;
            requery = true;
        }
        if (!requery && !done) {
            if (rc != SQLITE_DONE && rc != SQLITE_ROW) ok = store_sql_err(c, "list", err);
            if (rows < LIST_BATCH) done = true;
        }
    }
    store_conn_put(s, c);
    return ok;
}
