/*
 * ops_multipart.c: CreateMultipartUpload, UploadPart, UploadPartCopy,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts and
 * ListMultipartUploads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_server_int.h"

static const char *upload_id(s3_req *r) { return http_req_param(r->http, "uploadId"); }

/* Loads the upload named in the query and checks it belongs to bucket/key. */
static bool load_upload(s3_req *r, store_upload *u) {
    floe_err err;
    const char *id = upload_id(r);
    if (!id || !store_upload_get(r->srv->store, id, s3_arena(r), u, &err) || strcmp(u->bucket, r->bucket) != 0 ||
        u->key_len != r->key_len || memcmp(u->key, r->key, r->key_len) != 0) {
        s3_error(r, 404, "NoSuchUpload",
                 "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may "
                 "have been aborted or completed.");
        return false;
    }
    return true;
}

static bool part_number(s3_req *r, int *out) {
    const char *pn = http_req_param(r->http, "partNumber");
    uint64_t v;
    if (!pn || !str_to_u64(pn, &v) || v < 1 || v > 10000) {
        s3_error(r, 400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.");
        return false;
    }
    *out = (int)v;
    return true;
}

/* ---- create ---- */

static void create_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    store_upload u = {0};
    floe_err err;
    u.bucket = r->bucket;
    u.key = r->key;
    u.key_len = r->key_len;
    const char *ct = http_req_header(r->http, "Content-Type");
    u.content_type = (char *)(ct ? ct : "binary/octet-stream");
    u.meta_json = s3_meta_from_headers(r, &err);
    if (!u.meta_json) return s3_meta_error(r, &err);
    const char *alg = http_req_header(r->http, "x-amz-checksum-algorithm");
    if (alg && !hash_algo_parse(alg, &u.checksum_algo))
        return s3_error(r, 400, "InvalidRequest", "Checksum algorithm '%s' is not supported.", alg);
    if (!store_upload_create(r->srv->store, &u, &err)) return s3_error_from(r, &err);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "InitiateMultipartUploadResult");
    s3_xml_elem(&b, "Bucket", r->bucket);
    s3_xml_elem_n(&b, "Key", r->key, r->key_len);
    s3_xml_elem(&b, "UploadId", u.upload_id);
    buf_puts(&b, "</InitiateMultipartUploadResult>");
    if (u.checksum_algo != HASH_NONE)
        http_resp_header(r->http, "x-amz-checksum-algorithm", hash_algo_name(u.checksum_algo));
    s3_respond_xml(r, 200, &b);
}

/* ---- upload part ---- */

typedef struct part_state {
    int number;
    unsigned char md5_want[16];
    bool have_md5;
} part_state;

static void part_begin(s3_req *r) {
    part_state *st = arena_zalloc(s3_arena(r), sizeof *st);
    r->op_state = st;
    store_upload u;
    if (!part_number(r, &st->number) || !load_upload(r, &u)) return;
    const char *md5 = http_req_header(r->http, "Content-MD5");
    size_t n;
    if (md5 && (!str_unbase64(md5, strlen(md5), st->md5_want, 16, &n) || n != 16))
        return s3_error(r, 400, "InvalidDigest", "The Content-MD5 you specified is not valid base64 of 16 bytes.");
    st->have_md5 = md5 != NULL;
    if (!s3_checksum_setup(r)) return;
    if (r->checksum_algo == HASH_NONE) r->checksum_algo = u.checksum_algo;
    if (s3_writer_open(r)) store_writer_no_inline(r->writer);
}

static void respond_part(s3_req *r, const store_part *p, hash_algo algo, bool xml) {
    char etag[52];
    s3_quote_etag(p->etag, etag);
    if (algo != HASH_NONE && p->checksum[0]) http_resp_header(r->http, hash_algo_header(algo), p->checksum);
    if (!xml) {
        http_resp_header(r->http, "ETag", etag);
        http_resp_header(r->http, "x-amz-request-id", r->request_id);
        http_respond(r->http, 200, NULL, NULL, 0);
        return;
    }
    char date[32];
    time_iso8601_ms(p->mtime_ms, date);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "CopyPartResult");
    s3_xml_elem(&b, "LastModified", date);
    s3_xml_elem(&b, "ETag", etag);
    buf_puts(&b, "</CopyPartResult>");
    s3_respond_xml(r, 200, &b);
}

static void part_end(s3_req *r) {
    part_state *st = r->op_state;
    floe_err err;
    unsigned char md5[16], sum[HASH_MAX_DIGEST];
    if (!store_writer_finish(r->writer, md5, sum, &err)) return s3_error_from(r, &err);
    if (st->have_md5 && memcmp(md5, st->md5_want, 16) != 0)
        return s3_error(r, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    char b64[64];
    if (!s3_checksum_verify(r, sum, b64)) return;
    store_part p = {0};
    str_hex(md5, 16, p.etag);
    store_writer *w = r->writer;
    r->writer = NULL;
    if (!store_upload_put_part(r->srv->store, upload_id(r), st->number, w, b64[0] ? b64 : NULL, &p, &err))
        return s3_error_from(r, &err);
    respond_part(r, &p, r->checksum_algo, false);
}

static void part_copy_end(s3_req *r) {
    int number;
    store_upload u;
    if (!part_number(r, &number) || !load_upload(r, &u)) return;
    store_object src;
    int fd;
    if (!s3_copy_source_open(r, &src, &fd)) return;
    uint64_t first = 0, last = src.size ? src.size - 1 : 0;
    const char *range = http_req_header(r->http, "x-amz-copy-source-range");
    if (range) {
        unsigned long long a, b;
        char tail;
        if (sscanf(range, "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || a > b || b >= src.size) {
            close(fd);
            return s3_error(r, 400, "InvalidArgument",
                            "x-amz-copy-source-range '%s' must be bytes=first-last within the %llu-byte source.", range,
                            (unsigned long long)src.size);
        }
        first = a, last = b;
    }
    uint64_t len = src.size ? last - first + 1 : 0;
    floe_err err;
    store_writer *w = store_writer_new(r->srv->store, u.checksum_algo, &err);
    if (!w) {
        close(fd);
        return s3_error_from(r, &err);
    }
    unsigned char md5[16], sum[HASH_MAX_DIGEST];
    store_writer_no_inline(w);
    bool ok = store_writer_copy_object(w, &src, fd, first, len, &err) && store_writer_finish(w, md5, sum, &err);
    if (fd >= 0) close(fd);
    if (!ok) {
        store_writer_abort(w);
        return s3_error_from(r, &err);
    }
    store_part p = {0};
    str_hex(md5, 16, p.etag);
    char b64[64] = "";
    if (u.checksum_algo != HASH_NONE) str_base64(sum, hash_digest_len(u.checksum_algo), b64);
    if (!store_upload_put_part(r->srv->store, u.upload_id, number, w, b64[0] ? b64 : NULL, &p, &err))
        return s3_error_from(r, &err);
    respond_part(r, &p, u.checksum_algo, true);
}

/* ---- complete ---- */

static void complete_end(s3_req *r) {
    store_upload u;
    if (!load_upload(r, &u)) return;
    if (!s3_verify_xml_body(r)) return;
    s3_complete_req cr;
    floe_err err;
    if (!s3_xml_parse_complete(r->xml.data ? r->xml.data : "", r->xml.len, s3_arena(r), &cr, &err))
        return s3_error(r, 400, "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema: %s",
                        err.msg);
    store_complete_part *parts = arena_alloc(s3_arena(r), cr.nparts * sizeof *parts);
    for (size_t i = 0; i < cr.nparts; i++) {
        parts[i].part_number = cr.parts[i].part_number;
        parts[i].etag = cr.parts[i].etag;
        parts[i].checksum = u.checksum_algo != HASH_NONE ? cr.parts[i].checksum[u.checksum_algo] : NULL;
    }
    store_cond cond;
    if (!s3_put_preconditions(r, &cond)) return;
    store_object obj;
    store_mpu_error me;
    if (!store_upload_complete(r->srv->store, u.upload_id, parts, cr.nparts, &cond, s3_arena(r), &obj, &me, &err)) {
        switch (me) {
        case STORE_MPU_INVALID_PART:
            return s3_error(r, 400, "InvalidPart",
                            "One or more of the specified parts could not be found or its ETag did not match: %s",
                            err.msg);
        case STORE_MPU_INVALID_PART_ORDER:
            return s3_error(r, 400, "InvalidPartOrder", "The list of parts was not in ascending order: %s", err.msg);
        case STORE_MPU_TOO_SMALL:
            return s3_error(r, 400, "EntityTooSmall",
                            "Your proposed upload is smaller than the minimum allowed size: %s", err.msg);
        case STORE_MPU_BAD_CHECKSUM: return s3_error(r, 400, "BadDigest", "%s", err.msg);
        default: return s3_error_from(r, &err);
        }
    }
    char etag[52], loc[2048];
    s3_quote_etag(obj.etag, etag);
    snprintf(loc, sizeof loc, "/%s/%.*s", r->bucket, (int)r->key_len, r->key);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "CompleteMultipartUploadResult");
    s3_xml_elem(&b, "Location", loc);
    s3_xml_elem(&b, "Bucket", r->bucket);
    s3_xml_elem_n(&b, "Key", r->key, r->key_len);
    s3_xml_elem(&b, "ETag", etag);
    if (obj.checksum_algo != HASH_NONE) {
        char name[40];
        snprintf(name, sizeof name, "Checksum%s", hash_algo_name(obj.checksum_algo));
        s3_xml_elem(&b, name, obj.checksum);
        s3_xml_elem(&b, "ChecksumType", "COMPOSITE");
    }
    buf_puts(&b, "</CompleteMultipartUploadResult>");
    s3_respond_xml(r, 200, &b);
}

static void abort_end(s3_req *r) {
    store_upload u;
    if (!load_upload(r, &u)) return;
    floe_err err;
    if (!store_upload_abort(r->srv->store, u.upload_id, &err)) return s3_error_from(r, &err);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 204, NULL, NULL, 0);
}

/* ---- listings ---- */

static size_t max_param(s3_req *r, const char *name, bool *ok) {
    const char *v = http_req_param(r->http, name);
    uint64_t n = 1000;
    *ok = true;
    if (v && !str_to_u64(v, &n)) {
        s3_error(r, 400, "InvalidArgument", "%s must be a non-negative integer; got '%s'.", name, v);
        *ok = false;
    }
    return n > 1000 ? 1000 : (size_t)n;
}

static void list_parts_end(s3_req *r) {
    store_upload u;
    if (!load_upload(r, &u)) return;
    bool ok;
    size_t max = max_param(r, "max-parts", &ok);
    if (!ok) return;
    const char *marker = http_req_param(r->http, "part-number-marker");
    uint64_t after = 0;
    if (marker && *marker && !str_to_u64(marker, &after))
        return s3_error(r, 400, "InvalidArgument", "part-number-marker must be an integer; got '%s'.", marker);
    store_part *parts;
    size_t n;
    bool truncated;
    floe_err err;
    if (!store_upload_parts(r->srv->store, u.upload_id, (int)(after > 10000 ? 10000 : after), max, s3_arena(r), &parts,
                            &n, &truncated, &err))
        return s3_error_from(r, &err);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "ListPartsResult");
    s3_xml_elem(&b, "Bucket", r->bucket);
    s3_xml_elem_n(&b, "Key", r->key, r->key_len);
    s3_xml_elem(&b, "UploadId", u.upload_id);
    buf_puts(&b, "<Initiator><ID>floe</ID><DisplayName>floe</DisplayName></Initiator>"
                 "<Owner><ID>floe</ID><DisplayName>floe</DisplayName></Owner>");
    s3_xml_elem(&b, "StorageClass", "STANDARD");
    s3_xml_elem_u64(&b, "PartNumberMarker", after);
    if (n) s3_xml_elem_u64(&b, "NextPartNumberMarker", (uint64_t)parts[n - 1].part_number);
    s3_xml_elem_u64(&b, "MaxParts", max);
    s3_xml_elem_bool(&b, "IsTruncated", truncated);
    if (u.checksum_algo != HASH_NONE) s3_xml_elem(&b, "ChecksumAlgorithm", hash_algo_name(u.checksum_algo));
    for (size_t i = 0; i < n; i++) {
        char date[32], etag[52];
        time_iso8601_ms(parts[i].mtime_ms, date);
        s3_quote_etag(parts[i].etag, etag);
        buf_puts(&b, "<Part>");
        s3_xml_elem_u64(&b, "PartNumber", (uint64_t)parts[i].part_number);
        s3_xml_elem(&b, "LastModified", date);
        s3_xml_elem(&b, "ETag", etag);
        s3_xml_elem_u64(&b, "Size", parts[i].size);
        if (u.checksum_algo != HASH_NONE && parts[i].checksum[0]) {
            char name[40];
            snprintf(name, sizeof name, "Checksum%s", hash_algo_name(u.checksum_algo));
            s3_xml_elem(&b, name, parts[i].checksum);
        }
        buf_puts(&b, "</Part>");
    }
    buf_puts(&b, "</ListPartsResult>");
    s3_respond_xml(r, 200, &b);
}

static void list_uploads_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    bool ok;
    size_t max = max_param(r, "max-uploads", &ok);
    if (!ok) return;
    const char *prefix = http_req_param(r->http, "prefix");
    const char *km = http_req_param(r->http, "key-marker");
    const char *um = http_req_param(r->http, "upload-id-marker");
    store_upload *ups;
    size_t n;
    bool truncated;
    floe_err err;
    if (!store_upload_list(r->srv->store, r->bucket, prefix, prefix ? strlen(prefix) : 0, km, km ? strlen(km) : 0, um,
                           max, s3_arena(r), &ups, &n, &truncated, &err))
        return s3_error_from(r, &err);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "ListMultipartUploadsResult");
    s3_xml_elem(&b, "Bucket", r->bucket);
    s3_xml_elem(&b, "KeyMarker", km ? km : "");
    s3_xml_elem(&b, "UploadIdMarker", um ? um : "");
    if (n) {
        s3_xml_elem_n(&b, "NextKeyMarker", ups[n - 1].key, ups[n - 1].key_len);
        s3_xml_elem(&b, "NextUploadIdMarker", ups[n - 1].upload_id);
    }
    if (prefix) s3_xml_elem(&b, "Prefix", prefix);
    s3_xml_elem_u64(&b, "MaxUploads", max);
    s3_xml_elem_bool(&b, "IsTruncated", truncated);
    for (size_t i = 0; i < n; i++) {
        char date[32];
        time_iso8601_ms(ups[i].initiated_ms, date);
        buf_puts(&b, "<Upload>");
        s3_xml_elem_n(&b, "Key", ups[i].key, ups[i].key_len);
        s3_xml_elem(&b, "UploadId", ups[i].upload_id);
        buf_puts(&b, "<Initiator><ID>floe</ID><DisplayName>floe</DisplayName></Initiator>"
                     "<Owner><ID>floe</ID><DisplayName>floe</DisplayName></Owner>");
        s3_xml_elem(&b, "StorageClass", "STANDARD");
        s3_xml_elem(&b, "Initiated", date);
        buf_puts(&b, "</Upload>");
    }
    buf_puts(&b, "</ListMultipartUploadsResult>");
    s3_respond_xml(r, 200, &b);
}

const s3_op s3_op_create_upload = {.name = "CreateMultipartUpload", .write = true, .end = create_end};
const s3_op s3_op_upload_part = {
    .name = "UploadPart", .write = true, .body = BODY_OBJECT, .begin = part_begin, .end = part_end};
const s3_op s3_op_upload_part_copy = {.name = "UploadPartCopy", .write = true, .end = part_copy_end};
const s3_op s3_op_complete_upload = {
    .name = "CompleteMultipartUpload", .write = true, .body = BODY_XML, .end = complete_end};
const s3_op s3_op_abort_upload = {.name = "AbortMultipartUpload", .write = true, .end = abort_end};
const s3_op s3_op_list_parts = {.name = "ListParts", .end = list_parts_end};
const s3_op s3_op_list_uploads = {.name = "ListMultipartUploads", .end = list_uploads_end};
