/*
 * fileio_s3.c: FileIO on a remote S3 service (AWS S3, Ceph, MinIO, Floe).
 *
 * Inputs: open is a HEAD (size and ETag); each read is a ranged GET that
 * carries If-Match with that ETag, so an object replaced while a reader has
 * it open fails loudly instead of mixing two versions' bytes.
 *
 * Outputs are buffered in memory up to the multipart threshold (32 MiB by
 * default) and sent as one PUT on close. Past the threshold the output turns
 * into a multipart upload: CreateMultipartUpload, then an UploadPart each
 * time part_size bytes are buffered, and on close the last part and
 * CompleteMultipartUpload. A failed part or an abort aborts the upload, so
 * the service keeps no orphaned parts. if_absent sends If-None-Match: *
 * (on the PUT, or on the Complete), and a 412 becomes FLOE_EEXIST.
 *
 * Listings are ListObjectsV2 pages of up to 1000 keys, followed through
 * their continuation tokens, with encoding-type=url so that any key survives
 * the XML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "store/fileio_s3_int.h"

typedef struct s3c_in {
    fileio_in base;
    fileio_s3_uri where; /* key points into base.uri */
    char etag[96];
} s3c_in;

typedef struct s3c_out {
    fileio_out base;
    fileio_s3_uri where; /* key points into base.uri */
    buf_t buf;           /* bytes not yet sent */
    char upload_id[256]; /* "" until the output turns multipart */
    char **etags;        /* of the parts sent, in order */
    size_t nparts, cap;
} s3c_out;

static s3c *io_s3(fileio_t *io) { return (s3c *)io; }

/* Points a parsed URI's key into copy, a copy of the URI it was parsed from. */
static void rebase(fileio_s3_uri *u, const char *uri, const char *copy) { u->key = copy + (u->key - uri); }

/* ---- reading ---- */

static fileio_in *s3_in_open(fileio_t *io, const char *uri, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return NULL;
    s3c_req r = {.method = "HEAD", .uri = uri, .where = &u};
    bool ok = s3c_send(io_s3(io), &r, err);
    if (ok && !r.has_length)
        ok = floe_err_set(err, FLOE_EIO, "%s: HEAD answered without a Content-Length; the service is not S3-compatible",
                          uri);
    s3c_in *in = NULL;
    if (ok) {
        in = calloc(1, sizeof *in);
        if (!in) abort();
        fileio_in_init(&in->base, io, uri);
        in->base.size = r.length;
        in->where = u;
        rebase(&in->where, uri, in->base.uri);
        snprintf(in->etag, sizeof in->etag, "%s", r.etag);
    }
    s3c_req_free(&r);
    return in ? &in->base : NULL;
}

static bool s3_in_read(fileio_in *base, uint64_t off, void *dst, size_t n, floe_err *err) {
    s3c_in *in = (s3c_in *)base;
    char range[64], if_match[128];
    snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)(off + n - 1));
    snprintf(if_match, sizeof if_match, "If-Match: %s", in->etag);
    s3c_req r = {.method = "GET",
                 .uri = base->uri,
                 .where = &in->where,
                 .headers = {range, if_match},
                 .nheaders = in->etag[0] ? 2 : 1,
                 .dst = dst,
                 .dst_len = n,
                 .range_off = off};
    bool ok = s3c_send(io_s3(base->io), &r, err);
    if (!ok && r.status == 412)
        floe_err_set(err, FLOE_ECONFLICT, "%s changed after it was opened (its ETag is no longer %s); open it again",
                     base->uri, in->etag);
    s3c_req_free(&r);
    return ok;
}

static void s3_in_close(fileio_in *base) {
    fileio_in_fini(base);
    free(base);
}

static bool s3_read_all(fileio_t *io, const char *uri, buf_t *out, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return false;
    s3c_req r = {.method = "GET", .uri = uri, .where = &u, .out = out};
    bool ok = s3c_send(io_s3(io), &r, err);
    s3c_req_free(&r);
    return ok;
}

static bool s3_stat(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return false;
    s3c_req r = {.method = "HEAD", .uri = uri, .where = &u};
    bool ok = s3c_send(io_s3(io), &r, err);
    *exists = ok;
    *size = r.length;
    /* A missing key is an answer; a missing bucket is a mistake to report. */
    if (!ok && r.status == 404 && strcmp(r.code, "NoSuchBucket") != 0) ok = true;
    s3c_req_free(&r);
    return ok;
}

/* ---- multipart ---- */

typedef struct upload_id_ctx {
    char *id;
    size_t cap;
} upload_id_ctx;

static void on_upload_id(void *arg, const char *path, const char *text, size_t n) {
    upload_id_ctx *c = arg;
    if (strcmp(path, "/InitiateMultipartUploadResult/UploadId") != 0 || n == 0 || n >= c->cap) return;
    memcpy(c->id, text, n);
    c->id[n] = '\0';
}

static bool upload_start(s3c_out *out, floe_err *err) {
    buf_t body = BUF_INIT;
    s3c_req r = {.method = "POST",
                 .uri = out->base.uri,
                 .where = &out->where,
                 .query = {{"uploads", ""}},
                 .nquery = 1,
                 .has_body = true,
                 .content_type = "application/octet-stream",
                 .out = &body};
    upload_id_ctx c = {out->upload_id, sizeof out->upload_id};
    bool ok = s3c_send(io_s3(out->base.io), &r, err) && s3c_xml_walk(body.data, body.len, on_upload_id, &c, err);
    if (ok && !out->upload_id[0])
        ok = floe_err_set(err, FLOE_EIO, "%s: CreateMultipartUpload answered without an UploadId", out->base.uri);
    if (!ok) floe_err_wrap(err, "starting a multipart upload");
    s3c_req_free(&r);
    buf_free(&body);
    return ok;
}

static bool upload_part(s3c_out *out, const char *p, size_t n, floe_err *err) {
    char number[16];
    snprintf(number, sizeof number, "%zu", out->nparts + 1);
    s3c_req r = {.method = "PUT",
                 .uri = out->base.uri,
                 .where = &out->where,
                 .query = {{"partNumber", number}, {"uploadId", out->upload_id}},
                 .nquery = 2,
                 .body = p,
                 .body_len = n,
                 .has_body = true};
    bool ok = s3c_send(io_s3(out->base.io), &r, err);
    if (ok && !r.etag[0])
        ok = floe_err_set(err, FLOE_EIO, "%s: UploadPart %s answered without an ETag", out->base.uri, number);
    if (ok) {
        if (out->nparts == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 16;
            char **grown = realloc(out->etags, out->cap * sizeof *grown);
            if (!grown) abort();
            out->etags = grown;
        }
        out->etags[out->nparts] = strdup(r.etag);
        if (!out->etags[out->nparts++]) abort();
    } else {
        floe_err_wrap(err, "part %s", number);
    }
    s3c_req_free(&r);
    return ok;
}

/* Sends every full part in the buffer and keeps the rest. */
static bool upload_full_parts(s3c_out *out, floe_err *err) {
    size_t part = io_s3(out->base.io)->part_size, sent = 0;
    bool ok = true;
    while (ok && out->buf.len - sent >= part) {
        ok = upload_part(out, out->buf.data + sent, part, err);
        sent += part;
    }
    if (sent) {
        memmove(out->buf.data, out->buf.data + sent, out->buf.len - sent);
        out->buf.len -= sent;
    }
    return ok;
}

static void upload_abort(s3c_out *out) {
    if (!out->upload_id[0]) return;
    floe_err err;
    s3c_req r = {.method = "DELETE",
                 .uri = out->base.uri,
                 .where = &out->where,
                 .query = {{"uploadId", out->upload_id}},
                 .nquery = 1};
    if (!s3c_send(io_s3(out->base.io), &r, &err) && r.status != 404)
        log_warn("s3-client", "aborting multipart upload %s: %s; the service may keep its parts until they expire",
                 out->upload_id, err.msg);
    out->upload_id[0] = '\0';
    s3c_req_free(&r);
}

static bool upload_complete(s3c_out *out, floe_err *err) {
    buf_t xml = BUF_INIT, resp = BUF_INIT;
    buf_puts(&xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < out->nparts; i++)
        buf_printf(&xml, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, out->etags[i]);
    buf_puts(&xml, "</CompleteMultipartUpload>");
    s3c_req r = {.method = "POST",
                 .uri = out->base.uri,
                 .where = &out->where,
                 .query = {{"uploadId", out->upload_id}},
                 .nquery = 1,
                 .headers = {"If-None-Match: *"},
                 .nheaders = out->base.if_absent ? 1 : 0,
                 .body = xml.data,
                 .body_len = xml.len,
                 .has_body = true,
                 .content_type = "application/xml",
                 .out = &resp,
                 .error_in_200 = true};
    bool ok = s3c_send(io_s3(out->base.io), &r, err);
    if (!ok && r.status == 404 && r.attempts > 1) {
        /* An earlier attempt may have completed it and lost the answer. */
        bool exists = false;
        uint64_t size = 0;
        floe_err e2;
        if (s3_stat(out->base.io, out->base.uri, &exists, &size, &e2) && exists && size == out->base.size) ok = true;
    }
    if (!ok && r.status == 412 && out->base.if_absent) fileio_err_exists(err, out->base.uri);
    s3c_req_free(&r);
    buf_free(&xml);
    buf_free(&resp);
    return ok;
}

/* ---- writing ---- */

static fileio_out *s3_out_create(fileio_t *io, const char *uri, bool if_absent, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return NULL;
    s3c_out *out = calloc(1, sizeof *out);
    if (!out) abort();
    fileio_out_init(&out->base, io, uri, if_absent);
    out->where = u;
    rebase(&out->where, uri, out->base.uri);
    return &out->base;
}

static bool s3_out_write(fileio_out *base, const void *p, size_t n, floe_err *err) {
    s3c_out *out = (s3c_out *)base;
    buf_append(&out->buf, p, n);
    bool ok = true;
    if (!out->upload_id[0] && out->buf.len > io_s3(base->io)->threshold) ok = upload_start(out, err);
    if (ok && out->upload_id[0]) ok = upload_full_parts(out, err);
    if (!ok) upload_abort(out);
    return ok;
}

static void s3_out_free(s3c_out *out) {
    for (size_t i = 0; i < out->nparts; i++) free(out->etags[i]);
    free(out->etags);
    buf_free(&out->buf);
    fileio_out_fini(&out->base);
    free(out);
}

static bool put_whole(s3c_out *out, floe_err *err) {
    s3c_req r = {.method = "PUT",
                 .uri = out->base.uri,
                 .where = &out->where,
                 .headers = {"If-None-Match: *"},
                 .nheaders = out->base.if_absent ? 1 : 0,
                 .body = out->buf.data,
                 .body_len = out->buf.len,
                 .has_body = true,
                 .content_type = "application/octet-stream"};
    bool ok = s3c_send(io_s3(out->base.io), &r, err);
    if (!ok && r.status == 412 && out->base.if_absent) fileio_err_exists(err, out->base.uri);
    s3c_req_free(&r);
    return ok;
}

static bool s3_out_close(fileio_out *base, floe_err *err) {
    s3c_out *out = (s3c_out *)base;
    bool ok;
    if (!out->upload_id[0]) {
        ok = put_whole(out, err);
    } else {
        ok = (out->buf.len == 0 || upload_part(out, out->buf.data, out->buf.len, err)) && upload_complete(out, err);
        if (!ok) upload_abort(out);
    }
    s3_out_free(out);
    return ok;
}

static void s3_out_abort(fileio_out *base) {
    s3c_out *out = (s3c_out *)base;
    upload_abort(out);
    s3_out_free(out);
}

/* ---- delete ---- */

static bool s3_remove(fileio_t *io, const char *uri, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(uri, true, &u, err)) return false;
    s3c_req r = {.method = "DELETE", .uri = uri, .where = &u};
    bool ok = s3c_send(io_s3(io), &r, err);
    if (!ok && r.status == 404 && strcmp(r.code, "NoSuchBucket") != 0) ok = true; /* already gone */
    s3c_req_free(&r);
    return ok;
}

/* ---- list ---- */

typedef struct list_entry {
    char *uri;
    uint64_t size;
    int64_t mtime_ms;
} list_entry;

typedef struct list_page {
    const fileio_s3_uri *where;
    buf_t key; /* decoded */
    uint64_t size;
    int64_t mtime_ms;
    bool truncated;
    buf_t token;
    list_entry *entries;
    size_t n, cap;
    bool bad_key;
} list_page;

/* "2009-10-12T17:50:30.123Z" in ms. */
static int64_t parse_mtime(const char *s) {
    int64_t secs;
    if (!time_parse_iso8601(s, &secs)) return 0;
    int64_t ms = 0;
    int digits = 0;
    const char *dot = strchr(s, '.');
    for (const char *d = dot ? dot + 1 : ""; digits < 3 && *d >= '0' && *d <= '9'; d++, digits++)
        ms = ms * 10 + (*d - '0');
    while (dot && digits++ < 3) ms *= 10;
    return secs * 1000 + ms;
}

static void page_push(list_page *pg) {
    if (pg->n == pg->cap) {
        pg->cap = pg->cap ? pg->cap * 2 : 256;
        list_entry *grown = realloc(pg->entries, pg->cap * sizeof *grown);
        if (!grown) abort();
        pg->entries = grown;
    }
    buf_t uri = BUF_INIT;
    buf_printf(&uri, "%s%s/", pg->where->scheme, pg->where->bucket);
    buf_append(&uri, pg->key.data, pg->key.len);
    pg->entries[pg->n++] = (list_entry){buf_steal(&uri), pg->size, pg->mtime_ms};
    buf_reset(&pg->key);
    pg->size = 0;
    pg->mtime_ms = 0;
}

static void on_list_elem(void *arg, const char *path, const char *text, size_t n) {
    list_page *pg = arg;
    if (!strncmp(path, "/ListBucketResult/Contents", 26)) {
        const char *leaf = path + 26;
        if (!*leaf) {
            page_push(pg);
        } else if (!strcmp(leaf, "/Key")) {
            buf_reset(&pg->key);
            if (!str_uri_decode(text, n, true, &pg->key)) pg->bad_key = true;
        } else if (!strcmp(leaf, "/Size")) {
            if (!str_to_u64_n(text, n, &pg->size)) pg->size = 0;
        } else if (!strcmp(leaf, "/LastModified")) {
            char t[40];
            snprintf(t, sizeof t, "%.*s", (int)(n < 39 ? n : 39), text);
            pg->mtime_ms = parse_mtime(t);
        }
    } else if (!strcmp(path, "/ListBucketResult/IsTruncated")) {
        pg->truncated = n == 4 && !memcmp(text, "true", 4);
    } else if (!strcmp(path, "/ListBucketResult/NextContinuationToken")) {
        buf_reset(&pg->token);
        buf_append(&pg->token, text, n);
    }
}

static void page_clear(list_page *pg) {
    for (size_t i = 0; i < pg->n; i++) free(pg->entries[i].uri);
    pg->n = 0;
    pg->truncated = false;
    pg->bad_key = false;
}

/* Fetches the page after token (NULL: the first) into pg. */
static bool list_fetch(s3c *io, const char *prefix, const fileio_s3_uri *u, const char *token, list_page *pg,
                       floe_err *err) {
    fileio_s3_uri bucket = *u;
    bucket.key = "";
    bucket.key_len = 0;
    char *key_prefix = strndup(u->key, u->key_len);
    if (!key_prefix) abort();
    buf_t body = BUF_INIT;
    s3c_req r = {.method = "GET",
                 .uri = prefix,
                 .where = &bucket,
                 .query = {{"list-type", "2"}, {"encoding-type", "url"}},
                 .nquery = 2,
                 .out = &body};
    if (u->key_len) r.query[r.nquery++] = (s3_kv){"prefix", key_prefix};
    if (token) r.query[r.nquery++] = (s3_kv){"continuation-token", token};
    bool ok = s3c_send(io, &r, err) && s3c_xml_walk(body.data, body.len, on_list_elem, pg, err);
    if (ok && pg->bad_key)
        ok = floe_err_set(err, FLOE_EIO, "%s: the listing has a key with a malformed %% escape", prefix);
    if (ok && pg->truncated && !pg->token.len)
        ok = floe_err_set(err, FLOE_EIO, "%s: the listing is truncated but has no NextContinuationToken", prefix);
    s3c_req_free(&r);
    buf_free(&body);
    free(key_prefix);
    return ok;
}

static bool s3_list(fileio_t *io, const char *prefix, fileio_list_fn fn, void *arg, floe_err *err) {
    fileio_s3_uri u;
    if (!fileio_parse_s3_uri(prefix, false, &u, err)) return false;
    list_page pg = {.where = &u, .key = BUF_INIT, .token = BUF_INIT};
    char *token = NULL;
    bool ok = true, more = true;
    while (ok && more) {
        page_clear(&pg);
        ok = list_fetch(io_s3(io), prefix, &u, token, &pg, err);
        for (size_t i = 0; ok && more && i < pg.n; i++) {
            fileio_entry e = {.uri = pg.entries[i].uri, .size = pg.entries[i].size, .mtime_ms = pg.entries[i].mtime_ms};
            more = fn(&e, arg);
        }
        more = ok && more && pg.truncated;
        free(token);
        token = more ? strndup(pg.token.data, pg.token.len) : NULL;
        buf_reset(&pg.token);
    }
    free(token);
    page_clear(&pg);
    free(pg.entries);
    buf_free(&pg.key);
    buf_free(&pg.token);
    return ok;
}

/* ---- the handle ---- */

static void s3_io_free(fileio_t *base) {
    s3c *io = io_s3(base);
    http_client_free(io->http);
    free(io->scheme);
    free(io->host);
    free(io->base_path);
    free(io->region);
    free(io->access_key);
    if (io->secret_key) {
        memset(io->secret_key, 0, strlen(io->secret_key));
        free(io->secret_key);
    }
    free(io->session_token);
    memset(io->key, 0, sizeof io->key);
    pthread_mutex_destroy(&io->key_mu);
    free(io);
}

static const fileio_vt s3_vt = {
    .in_open = s3_in_open,
    .in_read = s3_in_read,
    .in_close = s3_in_close,
    .read_all = s3_read_all,
    .stat = s3_stat,
    .out_create = s3_out_create,
    .out_write = s3_out_write,
    .out_close = s3_out_close,
    .out_abort = s3_out_abort,
    .remove = s3_remove,
    .list = s3_list,
    .free = s3_io_free,
};

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    char *p = strdup(s);
    if (!p) abort();
    return p;
}

static bool check_opts(const fileio_s3_opts *o, floe_err *err) {
    if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
        return floe_err_set(err, FLOE_EINVAL,
                            "S3 FileIO needs an access key and a secret key; set both (for Floe, the S3 credentials "
                            "in floe.yaml)");
    if (o->path_style && o->virtual_host)
        return floe_err_set(err, FLOE_EINVAL, "S3 FileIO: path_style and virtual_host are both set; choose one");
    if (o->part_size && (o->part_size < S3C_MIN_PART || o->part_size > S3C_MAX_PART))
        return floe_err_set(err, FLOE_EINVAL, "S3 FileIO: part_size %zu is outside S3's 5 MiB to 5 GiB", o->part_size);
    return true;
}

fileio_t *fileio_s3(const fileio_s3_opts *opts, floe_err *err) {
    floe_err scratch;
    if (!err) err = &scratch;
    if (!check_opts(opts, err)) return NULL;
    s3c *io = calloc(1, sizeof *io);
    if (!io) abort();
    io->base.vt = &s3_vt;
    pthread_mutex_init(&io->key_mu, NULL);
    io->region = dup_or_null(opts->region && *opts->region ? opts->region : "us-east-1");
    io->access_key = dup_or_null(opts->access_key);
    io->secret_key = dup_or_null(opts->secret_key);
    io->session_token = opts->session_token && *opts->session_token ? dup_or_null(opts->session_token) : NULL;
    io->max_retries = opts->max_retries > 0 ? opts->max_retries : opts->max_retries < 0 ? 0 : S3C_DEFAULT_RETRIES;
    io->part_size = opts->part_size ? opts->part_size : S3C_DEFAULT_PART;
    io->threshold = opts->multipart_threshold ? opts->multipart_threshold : FILEIO_MULTIPART_MIN;
    bool custom = opts->endpoint && *opts->endpoint;
    io->addressing = opts->path_style     ? S3C_ADDR_PATH
                     : opts->virtual_host ? S3C_ADDR_VHOST
                     : custom             ? S3C_ADDR_PATH
                                          : S3C_ADDR_AWS_AUTO;
    buf_t aws = BUF_INIT;
    buf_printf(&aws, "https://s3.%s.amazonaws.com", io->region);
    bool ok = s3c_set_endpoint(io, custom ? opts->endpoint : aws.data, err);
    buf_free(&aws);
    io->http = http_client_new();
    if (!ok) {
        s3_io_free(&io->base);
        return NULL;
    }
    return &io->base;
}
