/*
 * multipart.c: multipart uploads.
 *
 * Parts are data files like objects, referenced from the parts table.
 * Completing an upload concatenates the chosen parts into one new data file
 * with copy_file_range (in the kernel, no copy through user space), so the
 * finished object is a single file that GET can serve with sendfile. The ETag
 * is the MD5 of the parts' binary MD5s followed by "-N", as S3 computes it.
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

static void upload_from_row(sqlite3_stmt *st, arena_t *a, store_upload *u) {
    memset(u, 0, sizeof *u);
    snprintf(u->upload_id, sizeof u->upload_id, "%s", (const char *)sqlite3_column_text(st, 0));
    u->bucket = (char *)store_col_text(st, 1, a);
    const void *k = sqlite3_column_blob(st, 2);
    u->key_len = (size_t)sqlite3_column_bytes(st, 2);
    u->key = arena_strndup(a, k ? k : "", u->key_len);
    u->initiated_ms = sqlite3_column_int64(st, 3);
    u->content_type = (char *)store_col_text(st, 4, a);
    u->meta_json = (char *)store_col_text(st, 5, a);
    u->checksum_algo = (hash_algo)sqlite3_column_int(st, 6);
}

static void part_from_row(sqlite3_stmt *st, store_part *p) {
    memset(p, 0, sizeof *p);
    p->part_number = sqlite3_column_int(st, 0);
    p->size = (uint64_t)sqlite3_column_int64(st, 1);
    snprintf(p->etag, sizeof p->etag, "%s", (const char *)sqlite3_column_text(st, 2));
    const unsigned char *cs = sqlite3_column_text(st, 3);
    snprintf(p->checksum, sizeof p->checksum, "%s", cs ? (const char *)cs : "");
    p->mtime_ms = sqlite3_column_int64(st, 4);
    snprintf(p->data_id, sizeof p->data_id, "%s", (const char *)sqlite3_column_text(st, 5));
}

/* ---- create ---- */

static bool apply_upload_create(store_conn *c, void *arg, floe_err *err) {
    store_upload *u = arg;
    sqlite3_stmt *st = store_stmt(c, ST_BUCKET_GET);
    sqlite3_bind_text(st, 1, u->bucket, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) return floe_err_set(err, FLOE_ENOENT, "bucket '%s' does not exist", u->bucket);
    st = store_stmt(c, ST_UPLOAD_INSERT);
    sqlite3_bind_text(st, 1, u->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, u->key, (int)u->key_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, u->initiated_ms);
    sqlite3_bind_text(st, 5, u->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, u->meta_json, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, (int)u->checksum_algo);
    return sqlite3_step(st) == SQLITE_DONE || store_sql_err(c, "upload create", err);
}

bool store_upload_create(store_t *s, store_upload *u, floe_err *err) {
    store_random_id(u->upload_id);
    u->initiated_ms = time_now_ms();
    return store_commit(s, apply_upload_create, u, err);
}

bool store_upload_get(store_t *s, const char *upload_id, arena_t *a, store_upload *out, floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_UPLOAD_GET);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW;
    if (ok)
        upload_from_row(st, a, out);
    else if (rc == SQLITE_DONE)
        floe_err_set(err, FLOE_ENOENT, "upload '%s' does not exist", upload_id);
    else
        store_sql_err(c, "upload lookup", err);
    store_conn_put(s, c);
    return ok;
}

/* ---- parts ---- */

typedef struct part_op {
    const char *upload_id;
    store_part *part;
    char old_data_id[STORE_ID_LEN + 1];
} part_op;

static bool upload_exists(store_conn *c, const char *upload_id, floe_err *err) {
    sqlite3_stmt *st = store_stmt(c, ST_UPLOAD_GET);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return floe_err_set(err, FLOE_ENOENT, "upload '%s' does not exist", upload_id);
    return store_sql_err(c, "upload lookup", err);
}

static bool apply_put_part(store_conn *c, void *arg, floe_err *err) {
    part_op *op = arg;
    store_part *p = op->part;
    if (!upload_exists(c, op->upload_id, err)) return false;
    sqlite3_stmt *st = store_stmt(c, ST_PART_GET);
    sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, p->part_number);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(op->old_data_id, sizeof op->old_data_id, "%s", (const char *)sqlite3_column_text(st, 5));
    st = store_stmt(c, ST_PART_UPSERT);
    sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, p->part_number);
    sqlite3_bind_text(st, 3, p->data_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)p->size);
    sqlite3_bind_text(st, 5, p->etag, -1, SQLITE_STATIC);
    if (p->checksum[0]) sqlite3_bind_text(st, 6, p->checksum, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, p->mtime_ms);
    return sqlite3_step(st) == SQLITE_DONE || store_sql_err(c, "part write", err);
}

bool store_upload_put_part(store_t *s, const char *upload_id, int part_number, store_writer *w,
                           const char *checksum_b64, store_part *out, floe_err *err) {
    /* The caller finished w; its MD5 is the part's ETag, passed in out->etag. */
    if (store_writer_is_inline(w)) {
        store_writer_abort(w);
        return floe_err_set(err, FLOE_EINTERNAL, "bug: a part writer must be made with store_writer_no_inline");
    }
    out->part_number = part_number;
    out->size = store_writer_size(w);
    out->mtime_ms = time_now_ms() / 1000 * 1000; /* whole seconds, as S3 keeps them */
    snprintf(out->checksum, sizeof out->checksum, "%s", checksum_b64 ? checksum_b64 : "");
    if (!store_writer_place(w, out->data_id, err)) {
        store_writer_abort(w);
        return false;
    }
    store_writer_release(w);
    part_op op = {.upload_id = upload_id, .part = out};
    if (!store_commit_placed(s, out->data_id, apply_put_part, &op, err)) {
        store_data_unlink(s, out->data_id);
        return false;
    }
    if (op.old_data_id[0]) store_data_unlink(s, op.old_data_id);
    return true;
}

bool store_upload_parts(store_t *s, const char *upload_id, int after_part, size_t max, arena_t *a, store_part **out,
                        size_t *n, bool *truncated, floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_PART_LIST);
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, after_part);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max + 1);
    *out = arena_alloc(a, (max + 1) * sizeof **out);
    *n = 0;
    *truncated = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == max) {
            *truncated = true;
            break;
        }
        part_from_row(st, &(*out)[(*n)++]);
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || store_sql_err(c, "part list", err);
    store_conn_put(s, c);
    return ok;
}

bool store_upload_list(store_t *s, const char *bucket, const char *prefix, size_t prefix_len, const char *key_marker,
                       size_t key_marker_len, const char *upload_id_marker, size_t max, arena_t *a, store_upload **out,
                       size_t *n, bool *truncated, floe_err *err) {
    store_conn *c = store_conn_get(s, err);
    if (!c) return false;
    sqlite3_stmt *st = store_stmt(c, ST_UPLOAD_LIST);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    /* Start at the later of the prefix and the key marker. */
    const char *from = prefix ? prefix : "";
    size_t from_len = prefix ? prefix_len : 0;
    const char *idm = "";
    if (key_marker && key_marker_len) {
        from = key_marker, from_len = key_marker_len;
        /* Without an upload-id marker, uploads of the marker key itself are skipped. */
        idm = upload_id_marker && *upload_id_marker ? upload_id_marker : "\x7f";
    }
    /* Otherwise key > from OR (key = from AND id > "") covers key >= from. */
    sqlite3_bind_blob(st, 2, from, (int)from_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, idm, -1, SQLITE_STATIC);
    char *lt;
    size_t lt_len;
    if (prefix && prefix_len && store_key_successor(a, prefix, prefix_len, &lt, &lt_len))
        sqlite3_bind_blob(st, 4, lt, (int)lt_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)max + 1);
    *out = arena_alloc(a, (max + 1) * sizeof **out);
    *n = 0;
    *truncated = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == max) {
            *truncated = true;
            break;
        }
        store_upload *u = &(*out)[(*n)++];
        upload_from_row(st, a, u);
        if (prefix && (u->key_len < prefix_len || memcmp(u->key, prefix, prefix_len))) (*n)--;
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || store_sql_err(c, "upload list", err);
    store_conn_put(s, c);
    return ok;
}

/* ---- abort ---- */

typedef struct drop_op {
    const char *upload_id;
    char **files;
    size_t nfiles;
} drop_op;

static bool drop_upload(store_conn *c, drop_op *op, floe_err *err) {
    sqlite3_stmt *st = store_stmt(c, ST_PARTS_OF_UPLOAD);
    sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        op->files = realloc(op->files, (op->nfiles + 1) * sizeof *op->files);
        op->files[op->nfiles++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
    st = store_stmt(c, ST_PARTS_DELETE);
    sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return store_sql_err(c, "upload abort", err);
    st = store_stmt(c, ST_UPLOAD_DELETE);
    sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE || store_sql_err(c, "upload abort", err);
}

static bool apply_abort(store_conn *c, void *arg, floe_err *err) {
    drop_op *op = arg;
    return upload_exists(c, op->upload_id, err) && drop_upload(c, op, err);
}

static void drop_files(store_t *s, drop_op *op, bool unlink_them) {
    for (size_t i = 0; i < op->nfiles; i++) {
        if (unlink_them) store_data_unlink(s, op->files[i]);
        free(op->files[i]);
    }
    free(op->files);
}

bool store_upload_abort(store_t *s, const char *upload_id, floe_err *err) {
    drop_op op = {.upload_id = upload_id};
    bool ok = store_commit(s, apply_abort, &op, err);
    drop_files(s, &op, ok);
    return ok;
}

/* ---- complete ---- */

static store_mpu_error validate_parts(const store_complete_part *want, size_t n, store_part *have, size_t nhave,
                                      store_part **chosen, floe_err *err) {
    for (size_t i = 1; i < n; i++) {
        if (want[i].part_number <= want[i - 1].part_number) {
            floe_err_set(err, FLOE_EINVAL, "part %d is listed after part %d; list parts in ascending order",
                         want[i].part_number, want[i - 1].part_number);
            return STORE_MPU_INVALID_PART_ORDER;
        }
    }
    for (size_t i = 0; i < n; i++) {
        store_part *p = NULL;
        for (size_t j = 0; j < nhave && !p; j++)
            if (have[j].part_number == want[i].part_number) p = &have[j];
        if (!p || !want[i].etag || strcmp(p->etag, want[i].etag) != 0) {
            floe_err_set(err, FLOE_EINVAL, "part %d %s; upload it, or list the ETag that UploadPart returned",
                         want[i].part_number, p ? "has a different ETag" : "was not uploaded");
            return STORE_MPU_INVALID_PART;
        }
        if (want[i].checksum && p->checksum[0] && strcmp(want[i].checksum, p->checksum) != 0) {
            floe_err_set(err, FLOE_EINVAL, "part %d: the listed checksum differs from the uploaded one",
                         want[i].part_number);
            return STORE_MPU_BAD_CHECKSUM;
        }
        if (i + 1 < n && p->size < STORE_MIN_PART_SIZE) {
            floe_err_set(err, FLOE_EINVAL, "part %d is %llu bytes; every part but the last must be at least 5 MiB",
                         p->part_number, (unsigned long long)p->size);
            return STORE_MPU_TOO_SMALL;
        }
        chosen[i] = p;
    }
    return STORE_MPU_OK;
}

/* ETag and composite checksum of the chosen parts. */
static void multipart_digests(store_part **parts, size_t n, hash_algo algo, store_object *obj) {
    hash_ctx md5, sum;
    hash_init(&md5, HASH_MD5);
    hash_init(&sum, algo);
    bool have_sums = algo != HASH_NONE;
    for (size_t i = 0; i < n; i++) {
        unsigned char raw[32];
        str_unhex(parts[i]->etag, 32, raw);
        hash_update(&md5, raw, 16);
        size_t rl = 0;
        if (have_sums && parts[i]->checksum[0] &&
            str_unbase64(parts[i]->checksum, strlen(parts[i]->checksum), raw, sizeof raw, &rl))
            hash_update(&sum, raw, rl);
        else
            have_sums = false;
    }
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&md5, d);
    char hex[33];
    str_hex(d, 16, hex);
    snprintf(obj->etag, sizeof obj->etag, "%s-%zu", hex, n);
    size_t dl = hash_final(&sum, d);
    obj->checksum_algo = have_sums ? algo : HASH_NONE;
    obj->checksum[0] = '\0';
    if (have_sums) {
        char b64[64];
        str_base64(d, dl, b64);
        snprintf(obj->checksum, sizeof obj->checksum, "%s-%zu", b64, n);
    }
}

typedef struct complete_op {
    const char *upload_id;
    store_object *obj;
    const store_cond *cond;
    store_part **chosen;
    size_t n;
    char old_data_id[STORE_ID_LEN + 1];
    drop_op drop;
} complete_op;

static bool apply_complete(store_conn *c, void *arg, floe_err *err) {
    complete_op *op = arg;
    if (!upload_exists(c, op->upload_id, err)) return false;
    /* The parts must still be the ones we concatenated. */
    for (size_t i = 0; i < op->n; i++) {
        sqlite3_stmt *st = store_stmt(c, ST_PART_GET);
        sqlite3_bind_text(st, 1, op->upload_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, op->chosen[i]->part_number);
        if (sqlite3_step(st) != SQLITE_ROW ||
            strcmp((const char *)sqlite3_column_text(st, 5), op->chosen[i]->data_id) != 0)
            return floe_err_set(err, FLOE_ECONFLICT, "part %d was replaced while completing; complete again",
                                op->chosen[i]->part_number);
    }
    store_object *o = op->obj;
    return store_check_target(c, o->bucket, o->key, o->key_len, op->cond, op->old_data_id, err) &&
           store_upsert_object(c, o, err) && drop_upload(c, &op->drop, err);
}

static bool concat_parts(store_t *s, store_part **parts, size_t n, store_writer *w, int wfd, floe_err *err) {
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        store_data_path(s, parts[i]->data_id, path, sizeof path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return floe_err_errno(err, errno, "open part %d data", parts[i]->part_number);
        uint64_t left = parts[i]->size;
        while (left > 0) {
            ssize_t c = copy_file_range(fd, NULL, wfd, NULL, left, 0);
            if (c < 0 && errno == EINTR) continue;
            if (c <= 0) {
                int e = c < 0 ? errno : EIO;
                close(fd);
                return floe_err_errno(err, e, "copy part %d into the object", parts[i]->part_number);
            }
            left -= (uint64_t)c;
        }
        close(fd);
    }
    (void)w;
    return true;
}

bool store_upload_complete(store_t *s, const char *upload_id, const store_complete_part *want, size_t nwant,
                           const store_cond *cond, arena_t *a, store_object *obj, store_mpu_error *mpu_err,
                           floe_err *err) {
    *mpu_err = STORE_MPU_OK;
    store_upload u;
    if (!store_upload_get(s, upload_id, a, &u, err)) return false;
    store_part *have;
    size_t nhave;
    bool trunc;
    if (!store_upload_parts(s, upload_id, 0, 10000, a, &have, &nhave, &trunc, err)) return false;
    store_part **chosen = arena_alloc(a, (nwant ? nwant : 1) * sizeof *chosen);
    *mpu_err = validate_parts(want, nwant, have, nhave, chosen, err);
    if (*mpu_err != STORE_MPU_OK) return false;

    store_writer *w = store_writer_new(s, HASH_NONE, err);
    if (!w) return false;
    if (!concat_parts(s, chosen, nwant, w, store_writer_fd(w), err)) {
        store_writer_abort(w);
        return false;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < nwant; i++) total += chosen[i]->size;
    store_writer_add_size(w, total);
    unsigned char md5[16];
    if (!store_writer_finish(w, md5, NULL, err)) {
        store_writer_abort(w);
        return false;
    }
    memset(obj, 0, sizeof *obj);
    obj->bucket = u.bucket;
    obj->key = u.key;
    obj->key_len = u.key_len;
    obj->content_type = u.content_type;
    obj->meta_json = u.meta_json;
    obj->size = total;
    obj->parts = (int)nwant;
    obj->mtime_ms = time_now_ms() / 1000 * 1000; /* whole seconds, as S3 keeps them */
    multipart_digests(chosen, nwant, u.checksum_algo, obj);
    if (!store_writer_place(w, obj->data_id, err)) {
        store_writer_abort(w);
        return false;
    }
    store_writer_release(w);
    complete_op op = {.upload_id = upload_id,
                      .obj = obj,
                      .cond = cond,
                      .chosen = chosen,
                      .n = nwant,
                      .drop = {.upload_id = upload_id}};
    bool ok = store_commit_placed(s, obj->data_id, apply_complete, &op, err);
    if (!ok)
        store_data_unlink(s, obj->data_id);
    else if (op.old_data_id[0])
        store_data_unlink(s, op.old_data_id);
    drop_files(s, &op.drop, ok);
    return ok;
}
