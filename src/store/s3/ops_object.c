/*
 * ops_object.c: PutObject, GetObject, HeadObject, DeleteObject, CopyObject
 * and DeleteObjects, plus the header handling they share with multipart:
 * user metadata, checksums and conditional requests.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/json.h"
#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_server_int.h"

#define USER_META_LIMIT 2048

/* Headers stored with an object and returned on GET and HEAD. */
static const char *stored_headers[] = {
    "cache-control", "content-disposition", "content-encoding", "content-language", "expires", NULL};

/* ---- metadata ---- */

typedef struct meta_ctx {
    json_t *obj;
    size_t user_bytes;
} meta_ctx;

static void meta_collect(const char *name, const char *value, void *arg) {
    meta_ctx *m = arg;
    char lower[256];
    size_t n = strlen(name);
    if (n >= sizeof lower) return;
    for (size_t i = 0; i <= n; i++) lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    if (!strncmp(lower, "x-amz-meta-", 11)) {
        m->user_bytes += n - 11 + strlen(value);
        json_object_set_new(m->obj, lower, json_string(value));
        return;
    }
    for (const char **h = stored_headers; *h; h++) {
        if (strcmp(lower, *h) != 0) continue;
        if (!strcmp(lower, "content-encoding")) {
            /* aws-chunked is transport framing, not a property of the object. */
            char buf[256];
            size_t o = 0;
            const char *p = value;
            while (*p) {
                while (*p == ' ' || *p == ',') p++;
                const char *e = p;
                while (*e && *e != ',') e++;
                size_t tl = (size_t)(e - p);
                while (tl && p[tl - 1] == ' ') tl--;
                if (tl && !(tl == 11 && !strncasecmp(p, "aws-chunked", 11)) && o + tl + 2 < sizeof buf) {
                    if (o) buf[o++] = ',';
                    memcpy(buf + o, p, tl);
                    o += tl;
                }
                p = e;
            }
            buf[o] = '\0';
            if (o) json_object_set_new(m->obj, lower, json_string(buf));
            return;
        }
        json_object_set_new(m->obj, lower, json_string(value));
    }
}

char *s3_meta_from_headers(s3_req *r, floe_err *err) {
    meta_ctx m = {.obj = json_object()};
    http_req_each_header(r->http, meta_collect, &m);
    char *out = NULL;
    const char *tagging = http_req_header(r->http, "x-amz-tagging");
    char *tags = NULL;
    if (tagging && !s3_tagging_normalize(s3_arena(r), tagging, &tags, err)) {
        json_decref(m.obj);
        return NULL;
    }
    if (tags) json_object_set_new(m.obj, S3_TAGGING_META, json_string(tags));
    if (m.user_bytes > USER_META_LIMIT) {
        floe_err_set(err, FLOE_ETOOLARGE, "user metadata is %zu bytes; the limit is %d", m.user_bytes, USER_META_LIMIT);
    } else if (json_object_size(m.obj) > 0) {
        buf_t b = BUF_INIT;
        json_dump_buf(m.obj, &b);
        out = arena_strndup(s3_arena(r), b.data, b.len);
        buf_free(&b);
    } else {
        out = arena_strdup(s3_arena(r), "");
    }
    json_decref(m.obj);
    return out;
}

void s3_meta_error(s3_req *r, const floe_err *err) {
    if (err->code == FLOE_ETOOLARGE)
        s3_error(r, 400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size: %s.",
                 err->msg);
    else
        s3_error(r, 400, "InvalidTag", "%s", err->msg);
}

/* ---- checksums ---- */

bool s3_checksum_setup(s3_req *r) {
    http_req_t *h = r->http;
    r->checksum_algo = HASH_NONE;
    for (int a = HASH_CRC32; a <= HASH_SHA256; a++) {
        const char *v = http_req_header(h, hash_algo_header((hash_algo)a));
        if (!v) continue;
        unsigned char raw[HASH_MAX_DIGEST];
        size_t rl;
        if (!str_unbase64(v, strlen(v), raw, sizeof raw, &rl) || rl != hash_digest_len((hash_algo)a)) {
            s3_error(r, 400, "InvalidRequest", "Value for %s header is invalid: expected base64 of %zu bytes.",
                     hash_algo_header((hash_algo)a), hash_digest_len((hash_algo)a));
            return false;
        }
        r->checksum_algo = (hash_algo)a;
        r->checksum_value = v;
        return true;
    }
    const char *trailer = http_req_header(h, "x-amz-trailer");
    if (trailer) {
        for (int a = HASH_CRC32; a <= HASH_SHA256; a++) {
            if (!strcasecmp(trailer, hash_algo_header((hash_algo)a))) {
                r->checksum_algo = (hash_algo)a;
                r->trailer_name = hash_algo_header((hash_algo)a);
                return true;
            }
        }
        s3_error(r, 400, "InvalidRequest", "x-amz-trailer '%s' is not a supported checksum trailer.", trailer);
        return false;
    }
    const char *alg = http_req_header(h, "x-amz-sdk-checksum-algorithm");
    if (!alg) alg = http_req_header(h, "x-amz-checksum-algorithm");
    if (alg && !hash_algo_parse(alg, &r->checksum_algo)) {
        s3_error(r, 400, "InvalidRequest",
                 "Checksum algorithm '%s' is not one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256.", alg);
        return false;
    }
    return true;
}

bool s3_checksum_verify(s3_req *r, const unsigned char *computed, char b64_out[64]) {
    b64_out[0] = '\0';
    if (r->checksum_algo == HASH_NONE) return true;
    str_base64(computed, hash_digest_len(r->checksum_algo), b64_out);
    const char *expected = r->checksum_value;
    if (!expected && r->trailer_name && r->aws_chunked) expected = s3_chunked_trailer(&r->chunked, r->trailer_name);
    if (expected && strcmp(expected, b64_out) != 0) {
        s3_error(r, 400, "BadDigest", "The %s you specified did not match the calculated checksum.",
                 hash_algo_name(r->checksum_algo));
        return false;
    }
    return true;
}

static bool content_md5(s3_req *r, unsigned char want[16], bool *have) {
    const char *v = http_req_header(r->http, "Content-MD5");
    *have = v != NULL;
    size_t n;
    if (v && (!str_unbase64(v, strlen(v), want, 16, &n) || n != 16)) {
        s3_error(r, 400, "InvalidDigest", "The Content-MD5 you specified is not valid base64 of 16 bytes.");
        return false;
    }
    return true;
}

/* Verifies Content-MD5 and x-amz-checksum-* over an XML body. */
bool s3_verify_xml_body(s3_req *r) {
    unsigned char want[16], got[16];
    bool have;
    if (!content_md5(r, want, &have)) return false;
    if (have) {
        hash_md5(r->xml.data ? r->xml.data : "", r->xml.len, got);
        if (memcmp(want, got, 16) != 0) {
            s3_error(r, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
            return false;
        }
    }
    if (!s3_checksum_setup(r)) return false;
    if (r->checksum_algo == HASH_NONE) return true;
    hash_ctx h;
    hash_init(&h, r->checksum_algo);
    hash_update(&h, r->xml.data ? r->xml.data : "", r->xml.len);
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&h, d);
    char b64[64];
    return s3_checksum_verify(r, d, b64);
}

static void emit_checksum(s3_req *r, hash_algo algo, const char *value) {
    if (algo != HASH_NONE && value && *value) {
        http_resp_header(r->http, hash_algo_header(algo), value);
        if (strchr(value, '-'))
            http_resp_header(r->http, "x-amz-checksum-type", "COMPOSITE");
        else
            http_resp_header(r->http, "x-amz-checksum-type", "FULL_OBJECT");
    }
}

/* ---- writes ---- */

bool s3_writer_open(s3_req *r) {
    http_req_t *h = r->http;
    uint64_t len = r->has_decoded_length ? r->decoded_length : h->content_length;
    if (!r->has_decoded_length && !h->has_length && !http_req_header(h, "Transfer-Encoding")) {
        s3_error(r, 411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
        return false;
    }
    if (len > r->srv->cfg->max_object_size) {
        s3_error(r, 400, "EntityTooLarge",
                 "Your proposed upload of %llu bytes exceeds the maximum allowed size of %llu.",
                 (unsigned long long)len, (unsigned long long)r->srv->cfg->max_object_size);
        return false;
    }
    floe_err err;
    r->writer = store_writer_new(r->srv->store, r->checksum_algo, &err);
    if (!r->writer) {
        s3_error_from(r, &err);
        return false;
    }
    return true;
}

bool s3_put_preconditions(s3_req *r, store_cond *cond) {
    http_req_t *h = r->http;
    const char *inm = http_req_header(h, "If-None-Match");
    const char *im = http_req_header(h, "If-Match");
    memset(cond, 0, sizeof *cond);
    if (inm) {
        if (strcmp(inm, "*") != 0) {
            s3_error(r, 501, "NotImplemented", "If-None-Match on writes supports only '*'.");
            return false;
        }
        cond->if_none_match_any = true;
    }
    cond->if_match = im;
    if (!inm && !im) return true;
    store_object cur;
    floe_err err;
    bool exists = store_object_get(r->srv->store, r->bucket, r->key, r->key_len, s3_arena(r), &cur, &err);
    if (!exists && err.code != FLOE_ENOENT) {
        s3_error_from(r, &err);
        return false;
    }
    if (inm && exists) {
        s3_error(r, 412, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold: "
                 "the key already exists (If-None-Match: *).");
        return false;
    }
    if (im && !exists) {
        s3_error(r, 404, "NoSuchKey", "The specified key does not exist (If-Match).");
        return false;
    }
    if (im && !store_etag_matches(im, cur.etag)) {
        s3_error(r, 412, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold: If-Match %s is not the current "
                 "ETag.",
                 im);
        return false;
    }
    return true;
}

typedef struct put_state {
    store_cond cond;
    unsigned char md5_want[16];
    bool have_md5;
    char *meta;
} put_state;

static void put_begin(s3_req *r) {
    put_state *st = arena_zalloc(s3_arena(r), sizeof *st);
    r->op_state = st;
    if (!s3_require_bucket(r, NULL)) return;
    if (!content_md5(r, st->md5_want, &st->have_md5)) return;
    if (!s3_checksum_setup(r)) return;
    floe_err err;
    st->meta = s3_meta_from_headers(r, &err);
    if (!st->meta) return s3_meta_error(r, &err);
    if (!s3_put_preconditions(r, &st->cond)) return;
    s3_writer_open(r);
}

static void put_end(s3_req *r) {
    put_state *st = r->op_state;
    floe_err err;
    unsigned char md5[16], sum[HASH_MAX_DIGEST];
    if (!store_writer_finish(r->writer, md5, sum, &err)) return s3_error_from(r, &err);
    if (st->have_md5 && memcmp(md5, st->md5_want, 16) != 0)
        return s3_error(r, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    store_object obj = {0};
    if (!s3_checksum_verify(r, sum, obj.checksum)) return;
    obj.bucket = r->bucket;
    obj.key = r->key;
    obj.key_len = r->key_len;
    const char *ct = http_req_header(r->http, "Content-Type");
    obj.content_type = (char *)(ct ? ct : "binary/octet-stream");
    obj.meta_json = st->meta;
    obj.checksum_algo = r->checksum_algo;
    str_hex(md5, 16, obj.etag);
    store_writer *w = r->writer;
    r->writer = NULL; /* store_put_commit owns it now */
    if (!store_put_commit(r->srv->store, w, &obj, &st->cond, &err)) return s3_error_from(r, &err);
    char etag[52];
    s3_quote_etag(obj.etag, etag);
    http_resp_header(r->http, "ETag", etag);
    emit_checksum(r, obj.checksum_algo, obj.checksum);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 200, NULL, NULL, 0);
}

/* ---- reads ---- */

/* The four RFC 7232 conditionals in their order of precedence, given the
 * header values (any may be NULL): 0 to proceed, 412, or not_modified when an
 * If-None-Match or If-Modified-Since says the client's copy is current (304
 * for GET and HEAD; copy sources answer 412 there too). */
static int eval_conditions(const store_object *o, const char *im, const char *inm, const char *ims, const char *ius,
                           int not_modified) {
    int64_t mtime = o->mtime_ms / 1000, t;
    if (im) {
        if (!store_etag_matches(im, o->etag)) return 412;
    } else if (ius && time_parse_http_date(ius, &t) && mtime > t) {
        return 412;
    }
    if (inm) {
        if (store_etag_matches(inm, o->etag)) return not_modified;
    } else if (ims && time_parse_http_date(ims, &t) && mtime <= t) {
        return not_modified;
    }
    return 0;
}

static int read_conditions(s3_req *r, const store_object *o) {
    http_req_t *h = r->http;
    return eval_conditions(o, http_req_header(h, "If-Match"), http_req_header(h, "If-None-Match"),
                           http_req_header(h, "If-Modified-Since"), http_req_header(h, "If-Unmodified-Since"), 304);
}

static void object_headers(s3_req *r, const store_object *o, bool full) {
    http_req_t *h = r->http;
    char etag[52], date[32];
    s3_quote_etag(o->etag, etag);
    time_http_date(o->mtime_ms / 1000, date);
    http_resp_header(h, "ETag", etag);
    http_resp_header(h, "Last-Modified", date);
    http_resp_header(h, "Accept-Ranges", "bytes");
    http_resp_header(h, "x-amz-request-id", r->request_id);
    if (o->parts > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", o->parts);
        http_resp_header(h, "x-amz-mp-parts-count", n);
    }
    const char *mode = http_req_header(h, "x-amz-checksum-mode");
    if (full && mode && !strcasecmp(mode, "ENABLED")) emit_checksum(r, o->checksum_algo, o->checksum);
    /* response-* overrides replace the stored values. */
    static const char *overrides[][2] = {{"response-content-type", "Content-Type"},
                                         {"response-content-language", "Content-Language"},
                                         {"response-expires", "Expires"},
                                         {"response-cache-control", "Cache-Control"},
                                         {"response-content-disposition", "Content-Disposition"},
                                         {"response-content-encoding", "Content-Encoding"}};
    const char *ct = o->content_type ? o->content_type : "binary/octet-stream";
    bool overridden[6] = {0};
    for (int i = 0; i < 6; i++) {
        const char *v = http_req_param(h, overrides[i][0]);
        if (!v) continue;
        overridden[i] = true;
        if (i == 0)
            ct = v;
        else
            http_resp_header(h, overrides[i][1], v);
    }
    http_resp_header(h, "Content-Type", ct);
    if (!o->meta_json || !*o->meta_json) return;
    json_t *m = json_loads(o->meta_json, 0, NULL);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!strncmp(k, "floe:", 5)) {
            if (!strcmp(k, S3_TAGGING_META) && json_is_string(v)) {
                char n[16];
                snprintf(n, sizeof n, "%d", s3_tag_count(json_string_value(v)));
                http_resp_header(h, "x-amz-tagging-count", n);
            }
            continue;
        }
        bool skip = false;
        for (int i = 1; i < 6; i++)
            if (overridden[i] && !strcasecmp(k, overrides[i][1])) skip = true;
        if (!skip && json_is_string(v)) http_resp_header(h, k, json_string_value(v));
    }
    json_decref(m);
}

static void not_modified(s3_req *r, const store_object *o, int status) {
    if (status == 304) {
        char etag[52], date[32];
        s3_quote_etag(o->etag, etag);
        time_http_date(o->mtime_ms / 1000, date);
        http_resp_header(r->http, "ETag", etag);
        http_resp_header(r->http, "Last-Modified", date);
        http_resp_header(r->http, "x-amz-request-id", r->request_id);
        http_respond(r->http, 304, NULL, NULL, 0);
    } else {
        s3_error(r, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.");
    }
}

static void read_object(s3_req *r, bool head) {
    store_object o;
    floe_err err;
    int fd = -1;
    bool found = head ? store_object_get(r->srv->store, r->bucket, r->key, r->key_len, s3_arena(r), &o, &err)
                      : store_object_open(r->srv->store, r->bucket, r->key, r->key_len, s3_arena(r), &o, &fd, &err);
    if (!found) {
        if (err.code == FLOE_ENOENT && !s3_require_bucket(r, NULL)) return;
        return s3_error_from(r, &err);
    }
    int cond = read_conditions(r, &o);
    if (cond) {
        if (fd >= 0) close(fd);
        return not_modified(r, &o, cond);
    }
    uint64_t first = 0, last = o.size ? o.size - 1 : 0;
    const char *range = http_req_header(r->http, "Range");
    s3_range_result rr = range ? s3_range_parse(range, o.size, &first, &last) : S3_RANGE_NONE;
    if (rr == S3_RANGE_UNSATISFIABLE) {
        if (fd >= 0) close(fd);
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)o.size);
        http_resp_header(r->http, "Content-Range", cr);
        return s3_error(r, 416, "InvalidRange",
                        "The requested range %s is not satisfiable for an object of %llu bytes.", range,
                        (unsigned long long)o.size);
    }
    bool partial = rr == S3_RANGE_OK;
    object_headers(r, &o, !partial);
    uint64_t len = partial ? last - first + 1 : o.size;
    if (partial) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)first, (unsigned long long)last,
                 (unsigned long long)o.size);
        http_resp_header(r->http, "Content-Range", cr);
    } else {
        first = 0;
    }
    int status = partial ? 206 : 200;
    if (head) return http_respond_length_only(r->http, status, len);
    if (o.inline_data) return http_respond(r->http, status, NULL, (const char *)o.inline_data + first, (size_t)len);
    http_respond_fd(r->http, status, fd, first, len);
}

static void get_end(s3_req *r) { read_object(r, false); }
static void head_end(s3_req *r) { read_object(r, true); }

static void delete_end(s3_req *r) {
    floe_err err;
    if (!s3_require_bucket(r, NULL)) return;
    if (!store_object_delete(r->srv->store, r->bucket, r->key, r->key_len, NULL, &err)) return s3_error_from(r, &err);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 204, NULL, NULL, 0);
}

/* ---- DeleteObjects ---- */

static void delete_objects_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    if (!s3_verify_xml_body(r)) return;
    s3_delete_req dr;
    floe_err err;
    if (!s3_xml_parse_delete(r->xml.data ? r->xml.data : "", r->xml.len, s3_arena(r), &dr, &err))
        return s3_error(r, 400, "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema: %s",
                        err.msg);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "DeleteResult");
    for (size_t i = 0; i < dr.nobjects; i++) {
        s3_delete_object *d = &dr.objects[i];
        const char *code = NULL, *msg = NULL;
        if (d->key_len == 0 || d->key_len > 1024 || !str_utf8_valid(d->key, d->key_len)) {
            code = "InvalidArgument", msg = "The key is empty, longer than 1024 bytes or not UTF-8.";
        } else if (r->who && !s3_identity_allows(r->who, r->bucket, d->key, d->key_len, true)) {
            code = "AccessDenied", msg = "Access Denied";
        } else if (!store_object_delete(r->srv->store, r->bucket, d->key, d->key_len, NULL, &err)) {
            code = "InternalError", msg = err.msg;
        }
        if (code) {
            buf_puts(&b, "<Error>");
            s3_xml_elem_n(&b, "Key", d->key, d->key_len);
            s3_xml_elem(&b, "Code", code);
            s3_xml_elem(&b, "Message", msg);
            buf_puts(&b, "</Error>");
        } else if (!dr.quiet) {
            buf_puts(&b, "<Deleted>");
            s3_xml_elem_n(&b, "Key", d->key, d->key_len);
            if (d->version_id) s3_xml_elem(&b, "VersionId", d->version_id);
            buf_puts(&b, "</Deleted>");
        }
    }
    buf_puts(&b, "</DeleteResult>");
    s3_respond_xml(r, 200, &b);
}

/* ---- CopyObject ---- */

typedef struct copy_source {
    char *bucket;
    char *key;
    size_t key_len;
} copy_source;

/* Parses x-amz-copy-source ("/bucket/key" or "bucket/key", URL-encoded). */
static bool parse_copy_source(s3_req *r, copy_source *cs) {
    const char *v = http_req_header(r->http, "x-amz-copy-source");
    buf_t d = BUF_INIT;
    const char *q = strstr(v, "?versionId=");
    size_t n = q ? (size_t)(q - v) : strlen(v);
    if (!str_uri_decode(v, n, false, &d) || d.len == 0) {
        buf_free(&d);
        s3_error(r, 400, "InvalidArgument", "x-amz-copy-source must be a URL-encoded 'bucket/key'.");
        return false;
    }
    const char *p = d.data + (d.data[0] == '/');
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1]) {
        buf_free(&d);
        s3_error(r, 400, "InvalidArgument", "x-amz-copy-source must be a URL-encoded 'bucket/key'.");
        return false;
    }
    arena_t *a = s3_arena(r);
    cs->bucket = arena_strndup(a, p, (size_t)(slash - p));
    cs->key_len = d.len - (size_t)(slash + 1 - d.data);
    cs->key = arena_strndup(a, slash + 1, cs->key_len);
    buf_free(&d);
    if (q && strcmp(q + 11, "null") != 0) {
        s3_error(r, 404, "NoSuchVersion", "Versioning is not enabled; only versionId=null exists.");
        return false;
    }
    if (r->who && !s3_identity_allows(r->who, cs->bucket, cs->key, cs->key_len, false)) {
        s3_error(r, 403, "AccessDenied", "Access Denied to the copy source.");
        return false;
    }
    return true;
}

/* x-amz-copy-source-if-*: 0 to proceed, else 412. */
static int copy_conditions(s3_req *r, const store_object *o) {
    http_req_t *h = r->http;
    return eval_conditions(o, http_req_header(h, "x-amz-copy-source-if-match"),
                           http_req_header(h, "x-amz-copy-source-if-none-match"),
                           http_req_header(h, "x-amz-copy-source-if-modified-since"),
                           http_req_header(h, "x-amz-copy-source-if-unmodified-since"), 412);
}

/* Opens the copy source and checks its conditions; responds on failure. */
bool s3_copy_source_open(s3_req *r, store_object *src, int *fd) {
    copy_source cs;
    if (!parse_copy_source(r, &cs)) return false;
    floe_err err;
    if (!store_object_open(r->srv->store, cs.bucket, cs.key, cs.key_len, s3_arena(r), src, fd, &err)) {
        if (err.code == FLOE_ENOENT) {
            store_bucket b;
            if (!store_bucket_get(r->srv->store, cs.bucket, s3_arena(r), &b, &err))
                s3_error(r, 404, "NoSuchBucket", "The copy source bucket '%s' does not exist.", cs.bucket);
            else
                s3_error(r, 404, "NoSuchKey", "The copy source key does not exist.");
            return false;
        }
        s3_error_from(r, &err);
        return false;
    }
    if (copy_conditions(r, src)) {
        close(*fd);
        s3_error(r, 412, "PreconditionFailed", "At least one of the copy-source pre-conditions did not hold.");
        return false;
    }
    return true;
}

static void copy_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    store_object src;
    int fd;
    if (!s3_copy_source_open(r, &src, &fd)) return;
    const char *dir = http_req_header(r->http, "x-amz-metadata-directive");
    bool replace = dir && !strcasecmp(dir, "REPLACE");
    if (dir && !replace && strcasecmp(dir, "COPY") != 0) {
        close(fd);
        return s3_error(r, 400, "InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE; got '%s'.", dir);
    }
    if (!replace && !strcmp(src.bucket, r->bucket) && src.key_len == r->key_len &&
        !memcmp(src.key, r->key, r->key_len)) {
        close(fd);
        return s3_error(r, 400, "InvalidRequest",
                        "This copy request is illegal because it is trying to copy an object to itself without "
                        "changing the object's metadata.");
    }
    store_object obj = {0};
    floe_err err;
    if (replace) {
        obj.meta_json = s3_meta_from_headers(r, &err);
        if (!obj.meta_json) {
            if (fd >= 0) close(fd);
            return s3_meta_error(r, &err);
        }
        const char *ct = http_req_header(r->http, "Content-Type");
        obj.content_type = (char *)(ct ? ct : "binary/octet-stream");
    } else {
        obj.meta_json = src.meta_json;
        obj.content_type = src.content_type;
    }
    /* Tags follow x-amz-tagging-directive: COPY (default) keeps the source's. */
    const char *tdir = http_req_header(r->http, "x-amz-tagging-directive");
    char *tags = NULL;
    if (tdir && !strcasecmp(tdir, "REPLACE")) {
        const char *th = http_req_header(r->http, "x-amz-tagging");
        if (th && !s3_tagging_normalize(s3_arena(r), th, &tags, &err)) {
            if (fd >= 0) close(fd);
            return s3_error(r, 400, "InvalidTag", "%s", err.msg);
        }
    } else if (tdir && strcasecmp(tdir, "COPY") != 0) {
        if (fd >= 0) close(fd);
        return s3_error(r, 400, "InvalidArgument", "x-amz-tagging-directive must be COPY or REPLACE; got '%s'.", tdir);
    } else {
        tags = (char *)s3_meta_tagging(s3_arena(r), src.meta_json);
    }
    obj.meta_json = s3_meta_with_tagging(s3_arena(r), obj.meta_json, tags);
    store_cond cond;
    if (!s3_put_preconditions(r, &cond)) {
        close(fd);
        return;
    }
    hash_algo algo = src.checksum_algo;
    const char *want = http_req_header(r->http, "x-amz-checksum-algorithm");
    if (want && !hash_algo_parse(want, &algo)) {
        close(fd);
        return s3_error(r, 400, "InvalidRequest", "Unknown checksum algorithm '%s'.", want);
    }
    store_writer *w = store_writer_new(r->srv->store, algo, &err);
    if (!w) {
        close(fd);
        return s3_error_from(r, &err);
    }
    unsigned char md5[16], sum[HASH_MAX_DIGEST];
    bool ok = store_writer_copy_object(w, &src, fd, 0, src.size, &err) && store_writer_finish(w, md5, sum, &err);
    if (fd >= 0) close(fd);
    if (!ok) {
        store_writer_abort(w);
        return s3_error_from(r, &err);
    }
    obj.bucket = r->bucket;
    obj.key = r->key;
    obj.key_len = r->key_len;
    obj.checksum_algo = algo;
    if (algo != HASH_NONE) str_base64(sum, hash_digest_len(algo), obj.checksum);
    str_hex(md5, 16, obj.etag);
    if (!store_put_commit(r->srv->store, w, &obj, &cond, &err)) return s3_error_from(r, &err);
    char date[32], etag[52];
    time_iso8601_ms(obj.mtime_ms, date);
    s3_quote_etag(obj.etag, etag);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "CopyObjectResult");
    s3_xml_elem(&b, "LastModified", date);
    s3_xml_elem(&b, "ETag", etag);
    if (algo != HASH_NONE) {
        char name[40];
        snprintf(name, sizeof name, "Checksum%s", hash_algo_name(algo));
        s3_xml_elem(&b, name, obj.checksum);
    }
    buf_puts(&b, "</CopyObjectResult>");
    s3_respond_xml(r, 200, &b);
}

const s3_op s3_op_put_object = {
    .name = "PutObject", .write = true, .body = BODY_OBJECT, .begin = put_begin, .end = put_end};
const s3_op s3_op_get_object = {.name = "GetObject", .anonymous_ok = true, .end = get_end};
const s3_op s3_op_head_object = {.name = "HeadObject", .anonymous_ok = true, .end = head_end};
const s3_op s3_op_delete_object = {.name = "DeleteObject", .write = true, .end = delete_end};
const s3_op s3_op_copy_object = {.name = "CopyObject", .write = true, .end = copy_end};
const s3_op s3_op_delete_objects = {
    .name = "DeleteObjects", .write = true, .body = BODY_XML, .end = delete_objects_end};
