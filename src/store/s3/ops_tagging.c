/*
 * ops_tagging.c: object tags: GetObjectTagging, PutObjectTagging,
 * DeleteObjectTagging, and the x-amz-tagging header on PutObject,
 * CopyObject (with x-amz-tagging-directive) and CreateMultipartUpload.
 *
 * Tags are kept in the object's metadata JSON under "floe:tagging", in the
 * canonical x-amz-tagging form ("k1=v1&k2=v2", each part URI-encoded).
 * Metadata keys starting "floe:" are never echoed as response headers.
 */
#include <jansson.h>
#include <string.h>

#include "base/json.h"
#include "base/str.h"
#include "store/s3/s3_server_int.h"

/* Parses the x-amz-tagging form into tags; *why says what is wrong. */
static bool tags_from_query(arena_t *a, const char *q, s3_tag **tags, size_t *n, const char **why) {
    *tags = arena_alloc(a, S3_MAX_TAGS * sizeof **tags);
    *n = 0;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            if (*n == S3_MAX_TAGS) return *why = "an object takes at most 10 tags", false;
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            buf_t k = BUF_INIT, v = BUF_INIT;
            bool ok = str_uri_decode(p, kl, true, &k) && (!eq || str_uri_decode(eq + 1, len - kl - 1, true, &v));
            if (!ok || k.len == 0 || k.len > 128 || v.len > 256) {
                buf_free(&k);
                buf_free(&v);
                return *why = "each tag is key=value, URL-encoded, with a key of 1-128 and a value of up to 256 bytes",
                       false;
            }
            for (size_t i = 0; i < *n; i++)
                if (!strcmp((*tags)[i].key, k.data)) {
                    buf_free(&k);
                    buf_free(&v);
                    return *why = "a tag key appears twice", false;
                }
            (*tags)[*n].key = arena_strndup(a, k.data, k.len);
            (*tags)[*n].value = arena_strndup(a, v.data ? v.data : "", v.len);
            (*n)++;
            buf_free(&k);
            buf_free(&v);
        }
        if (!amp) break;
        p = amp + 1;
    }
    return true;
}

static char *tags_to_query(arena_t *a, const s3_tag *tags, size_t n) {
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(&b, '&');
        str_uri_encode(&b, tags[i].key, strlen(tags[i].key), false);
        buf_putc(&b, '=');
        str_uri_encode(&b, tags[i].value, strlen(tags[i].value), false);
    }
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

bool s3_tagging_normalize(arena_t *a, const char *header, char **out, floe_err *err) {
    s3_tag *tags;
    size_t n;
    const char *why;
    if (!tags_from_query(a, header, &tags, &n, &why))
        return floe_err_set(err, FLOE_EINVAL, "x-amz-tagging is not valid: %s", why);
    *out = n ? tags_to_query(a, tags, n) : NULL;
    return true;
}

const char *s3_meta_tagging(arena_t *a, const char *meta_json) {
    if (!meta_json || !*meta_json) return NULL;
    json_t *m = json_loads(meta_json, 0, NULL);
    const char *v = json_string_value(json_object_get(m, S3_TAGGING_META));
    char *out = v ? arena_strdup(a, v) : NULL;
    json_decref(m);
    return out;
}

char *s3_meta_with_tagging(arena_t *a, const char *meta_json, const char *tagging) {
    json_t *m = meta_json && *meta_json ? json_loads(meta_json, 0, NULL) : NULL;
    if (!m) m = json_object();
    if (tagging && *tagging)
        json_object_set_new(m, S3_TAGGING_META, json_string(tagging));
    else
        json_object_del(m, S3_TAGGING_META);
    buf_t b = BUF_INIT;
    if (json_object_size(m)) json_dump_buf(m, &b);
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    json_decref(m);
    return out;
}

int s3_tag_count(const char *tagging) {
    if (!tagging || !*tagging) return 0;
    int n = 1;
    for (const char *p = tagging; *p; p++) n += *p == '&';
    return n;
}

/* ---- operations ---- */

static bool load(s3_req *r, store_object *o) {
    floe_err err;
    if (store_object_get(r->srv->store, r->bucket, r->key, r->key_len, s3_arena(r), o, &err)) return true;
    if (err.code == FLOE_ENOENT && !s3_require_bucket(r, NULL)) return false;
    s3_error_from(r, &err);
    return false;
}

static void get_tagging_end(s3_req *r) {
    store_object o;
    if (!load(r, &o)) return;
    const char *q = s3_meta_tagging(s3_arena(r), o.meta_json);
    s3_tag *tags = NULL;
    size_t n = 0;
    const char *why;
    if (q && !tags_from_query(s3_arena(r), q, &tags, &n, &why)) n = 0; /* stored tags were validated */
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "Tagging");
    buf_puts(&b, "<TagSet>");
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, "<Tag>");
        s3_xml_elem(&b, "Key", tags[i].key);
        s3_xml_elem(&b, "Value", tags[i].value);
        buf_puts(&b, "</Tag>");
    }
    buf_puts(&b, "</TagSet></Tagging>");
    s3_respond_xml(r, 200, &b);
}

static void set_tagging(s3_req *r, const char *tagging, int status) {
    store_object o;
    if (!load(r, &o)) return;
    char *meta = s3_meta_with_tagging(s3_arena(r), o.meta_json, tagging);
    floe_err err;
    if (!store_object_set_meta(r->srv->store, r->bucket, r->key, r->key_len, meta, &err)) return s3_error_from(r, &err);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, status, NULL, NULL, 0);
}

static void put_tagging_end(s3_req *r) {
    if (!s3_verify_xml_body(r)) return;
    s3_tag *tags;
    size_t n;
    floe_err err;
    if (!s3_xml_parse_tagging(r->xml.data ? r->xml.data : "", r->xml.len, s3_arena(r), &tags, &n, &err))
        return s3_error(r, 400, "MalformedXML", "The Tagging document is not valid: %s", err.msg);
    set_tagging(r, n ? tags_to_query(s3_arena(r), tags, n) : NULL, 200);
}

static void delete_tagging_end(s3_req *r) { set_tagging(r, NULL, 204); }

const s3_op s3_op_get_object_tagging = {.name = "GetObjectTagging", .end = get_tagging_end};
const s3_op s3_op_put_object_tagging = {
    .name = "PutObjectTagging", .write = true, .body = BODY_XML, .end = put_tagging_end};
const s3_op s3_op_delete_object_tagging = {.name = "DeleteObjectTagging", .write = true, .end = delete_tagging_end};
