/*
 * ops_list.c: ListObjectsV2 and ListObjects (v1).
 *
 * Keys come back in UTF-8 byte order with CommonPrefixes rolled up at the
 * delimiter. The continuation token is the base64 of the last key or prefix
 * returned, so a listing resumes exactly where it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_server_int.h"

typedef struct list_params {
    const char *prefix, *delimiter, *after;
    size_t after_len;
    size_t max_keys;
    bool url;
    bool fetch_owner;
} list_params;

static void elem_enc(buf_t *b, const char *name, const char *v, size_t n, bool url) {
    if (!url) return s3_xml_elem_n(b, name, v, n);
    buf_t e = BUF_INIT;
    str_uri_encode(&e, v, n, true);
    s3_xml_elem_n(b, name, e.data ? e.data : "", e.len);
    buf_free(&e);
}

static bool read_common(s3_req *r, list_params *p) {
    http_req_t *h = r->http;
    p->prefix = http_req_param(h, "prefix");
    p->delimiter = http_req_param(h, "delimiter");
    if (p->delimiter && !*p->delimiter) p->delimiter = NULL;
    if (p->prefix && !*p->prefix) p->prefix = NULL;
    const char *mk = http_req_param(h, "max-keys");
    uint64_t v = 1000;
    if (mk && !str_to_u64(mk, &v)) {
        s3_error(r, 400, "InvalidArgument", "max-keys must be a non-negative integer; got '%s'.", mk);
        return false;
    }
    p->max_keys = v > 1000 ? 1000 : (size_t)v;
    const char *enc = http_req_param(h, "encoding-type");
    if (enc && strcmp(enc, "url") != 0) {
        s3_error(r, 400, "InvalidArgument", "encoding-type must be 'url'; got '%s'.", enc);
        return false;
    }
    p->url = enc != NULL;
    const char *fo = http_req_param(h, "fetch-owner");
    p->fetch_owner = fo && !strcmp(fo, "true");
    return true;
}

static bool run_list(s3_req *r, const list_params *p, store_list_result *res) {
    if (!s3_require_bucket(r, NULL)) return false;
    store_list_opts o = {.prefix = p->prefix,
                         .prefix_len = p->prefix ? strlen(p->prefix) : 0,
                         .delimiter = p->delimiter,
                         .delimiter_len = p->delimiter ? strlen(p->delimiter) : 0,
                         .after = p->after,
                         .after_len = p->after_len,
                         .max_keys = p->max_keys};
    floe_err err;
    if (!store_list(r->srv->store, r->bucket, &o, s3_arena(r), res, &err)) {
        s3_error_from(r, &err);
        return false;
    }
    return true;
}

static void write_contents(s3_req *r, buf_t *b, const list_params *p, const store_list_result *res, bool owner) {
    for (size_t i = 0; i < res->nobjects; i++) {
        const store_object *o = &res->objects[i];
        char date[32], etag[52];
        time_iso8601_ms(o->mtime_ms, date);
        s3_quote_etag(o->etag, etag);
        buf_puts(b, "<Contents>");
        elem_enc(b, "Key", o->key, o->key_len, p->url);
        s3_xml_elem(b, "LastModified", date);
        s3_xml_elem(b, "ETag", etag);
        s3_xml_elem_u64(b, "Size", o->size);
        if (o->checksum_algo != HASH_NONE) s3_xml_elem(b, "ChecksumAlgorithm", hash_algo_name(o->checksum_algo));
        s3_xml_elem(b, "StorageClass", "STANDARD");
        if (owner) buf_puts(b, "<Owner><ID>floe</ID><DisplayName>floe</DisplayName></Owner>");
        buf_puts(b, "</Contents>");
    }
    for (size_t i = 0; i < res->nprefixes; i++) {
        buf_puts(b, "<CommonPrefixes>");
        elem_enc(b, "Prefix", res->prefixes[i].prefix, res->prefixes[i].len, p->url);
        buf_puts(b, "</CommonPrefixes>");
    }
}

static void write_head(buf_t *b, s3_req *r, const list_params *p) {
    s3_xml_open(b, "ListBucketResult");
    s3_xml_elem(b, "Name", r->bucket);
    const char *pre = p->prefix ? p->prefix : "";
    elem_enc(b, "Prefix", pre, strlen(pre), p->url);
    if (p->delimiter) elem_enc(b, "Delimiter", p->delimiter, strlen(p->delimiter), p->url);
    s3_xml_elem_u64(b, "MaxKeys", p->max_keys);
    if (p->url) s3_xml_elem(b, "EncodingType", "url");
}

static bool token_check_ok(const char *raw, size_t n) {
    uint32_t crc = hash_crc32c(0, raw + 4, n - 4);
    for (int i = 0; i < 4; i++)
        if ((unsigned char)raw[i] != (unsigned char)(crc >> (24 - 8 * i))) return false;
    return true;
}

static void list_v2_end(s3_req *r) {
    list_params p = {0};
    if (!read_common(r, &p)) return;
    const char *token = http_req_param(r->http, "continuation-token");
    const char *start_after = http_req_param(r->http, "start-after");
    char *decoded = NULL;
    if (token) {
        size_t tl = strlen(token), dl = 0;
        decoded = arena_alloc(s3_arena(r), tl + 1);
        if (!tl || !str_unbase64(token, tl, (unsigned char *)decoded, tl, &dl) || dl <= 4 ||
            !token_check_ok(decoded, dl)) {
            s3_error(r, 400, "InvalidArgument",
                     "The continuation token provided is incorrect; pass the NextContinuationToken of the "
                     "previous page unchanged.");
            return;
        }
        decoded[dl] = '\0';
        p.after = decoded + 4, p.after_len = dl - 4;
    } else if (start_after && *start_after) {
        p.after = start_after, p.after_len = strlen(start_after);
    }
    store_list_result res;
    if (!run_list(r, &p, &res)) return;
    buf_t b = BUF_INIT;
    write_head(&b, r, &p);
    s3_xml_elem_u64(&b, "KeyCount", res.nobjects + res.nprefixes);
    s3_xml_elem_bool(&b, "IsTruncated", res.truncated);
    if (token) s3_xml_elem(&b, "ContinuationToken", token);
    if (start_after) elem_enc(&b, "StartAfter", start_after, strlen(start_after), p.url);
    if (res.truncated && res.last) {
        /* The token is base64(crc32c(key) || key): opaque, and a forged or
         * damaged token is refused rather than silently listing elsewhere. */
        unsigned char *raw = arena_alloc(s3_arena(r), res.last_len + 4);
        uint32_t crc = hash_crc32c(0, res.last, res.last_len);
        for (int i = 0; i < 4; i++) raw[i] = (unsigned char)(crc >> (24 - 8 * i));
        memcpy(raw + 4, res.last, res.last_len);
        char *next = arena_alloc(s3_arena(r), 4 * ((res.last_len + 4) / 3 + 2) + 1);
        str_base64(raw, res.last_len + 4, next);
        s3_xml_elem(&b, "NextContinuationToken", next);
    }
    write_contents(r, &b, &p, &res, p.fetch_owner);
    buf_puts(&b, "</ListBucketResult>");
    s3_respond_xml(r, 200, &b);
}

static void list_v1_end(s3_req *r) {
    list_params p = {0};
    if (!read_common(r, &p)) return;
    const char *marker = http_req_param(r->http, "marker");
    if (marker && *marker) p.after = marker, p.after_len = strlen(marker);
    store_list_result res;
    if (!run_list(r, &p, &res)) return;
    buf_t b = BUF_INIT;
    write_head(&b, r, &p);
    elem_enc(&b, "Marker", marker ? marker : "", marker ? strlen(marker) : 0, p.url);
    s3_xml_elem_bool(&b, "IsTruncated", res.truncated);
    if (res.truncated && res.last) elem_enc(&b, "NextMarker", res.last, res.last_len, p.url);
    write_contents(r, &b, &p, &res, true);
    buf_puts(&b, "</ListBucketResult>");
    s3_respond_xml(r, 200, &b);
}

const s3_op s3_op_list_objects_v2 = {.name = "ListObjectsV2", .anonymous_ok = true, .end = list_v2_end};
const s3_op s3_op_list_objects = {.name = "ListObjects", .anonymous_ok = true, .end = list_v1_end};
