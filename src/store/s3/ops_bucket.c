/*
 * ops_bucket.c: bucket operations: list, create, delete, head, location,
 * ACL (canned public-read only) and versioning (always unversioned).
 */
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "store/s3/s3_server_int.h"

static void list_buckets_end(s3_req *r) {
    floe_err err;
    store_bucket *bs;
    size_t n;
    if (!store_bucket_list(r->srv->store, s3_arena(r), &bs, &n, &err)) return s3_error_from(r, &err);
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "ListAllMyBucketsResult");
    const char *owner = r->who ? r->who->access_key : "anonymous";
    buf_puts(&b, "<Owner>");
    s3_xml_elem(&b, "ID", owner);
    s3_xml_elem(&b, "DisplayName", owner);
    buf_puts(&b, "</Owner><Buckets>");
    for (size_t i = 0; i < n; i++) {
        if (r->who && !s3_identity_allows(r->who, bs[i].name, NULL, 0, false)) {
            /* Keys with prefix grants still see the bucket they may list. */
            bool any = false;
            for (size_t g = 0; g < r->who->ngrants && !any; g++)
                any = !strncmp(r->who->grants[g], bs[i].name, strlen(bs[i].name)) &&
                      (r->who->grants[g][strlen(bs[i].name)] == '/');
            if (!any) continue;
        }
        char date[32];
        time_iso8601_ms(bs[i].created_ms, date);
        buf_puts(&b, "<Bucket>");
        s3_xml_elem(&b, "Name", bs[i].name);
        s3_xml_elem(&b, "CreationDate", date);
        buf_puts(&b, "</Bucket>");
    }
    buf_puts(&b, "</Buckets></ListAllMyBucketsResult>");
    s3_respond_xml(r, 200, &b);
}

static bool canned_public(s3_req *r, bool *public_read) {
    const char *acl = http_req_header(r->http, "x-amz-acl");
    *public_read = false;
    if (!acl || !strcmp(acl, "private")) return true;
    if (!strcmp(acl, "public-read")) {
        *public_read = true;
        return true;
    }
    s3_error(r, 501, "NotImplemented", "Canned ACL '%s' is not supported; use private or public-read.", acl);
    return false;
}

static void create_bucket_end(s3_req *r) {
    const char *why;
    if (!s3_bucket_name_valid(r->bucket, &why)) {
        s3_error(r, 400, "InvalidBucketName", "The bucket name '%s' is not valid: it %s.", r->bucket, why);
        return;
    }
    floe_err err;
    char *location = NULL;
    if (r->xml.len && !s3_xml_parse_create_bucket(r->xml.data, r->xml.len, s3_arena(r), &location, &err)) {
        s3_error(r, 400, "MalformedXML", "CreateBucketConfiguration: %s", err.msg);
        return;
    }
    if (location && *location && strcmp(location, r->srv->cfg->region) != 0) {
        s3_error(r, 400, "InvalidLocationConstraint",
                 "This server's region is %s; the location constraint '%s' cannot be met.", r->srv->cfg->region,
                 location);
        return;
    }
    bool public_read;
    if (!canned_public(r, &public_read)) return;
    if (!store_bucket_create(r->srv->store, r->bucket, public_read, &err)) {
        if (err.code == FLOE_EEXIST)
            return s3_error(r, 409, "BucketAlreadyOwnedByYou",
                            "Your previous request to create the named bucket succeeded and you already own it.");
        return s3_error_from(r, &err);
    }
    char loc[80];
    snprintf(loc, sizeof loc, "/%s", r->bucket);
    http_resp_header(r->http, "Location", loc);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 200, NULL, NULL, 0);
}

static void delete_bucket_end(s3_req *r) {
    floe_err err;
    if (!store_bucket_delete(r->srv->store, r->bucket, &err)) {
        if (err.code == FLOE_ECONFLICT)
            return s3_error(r, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty.");
        return s3_error_from(r, &err);
    }
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 204, NULL, NULL, 0);
}

static void head_bucket_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    http_resp_header(r->http, "x-amz-bucket-region", r->srv->cfg->region);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 200, NULL, NULL, 0);
}

static void location_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    buf_t b = BUF_INIT;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    /* us-east-1 is reported as an empty constraint, as S3 does. */
    if (strcmp(r->srv->cfg->region, "us-east-1") != 0)
        s3_xml_escape(&b, r->srv->cfg->region, strlen(r->srv->cfg->region));
    buf_puts(&b, "</LocationConstraint>");
    s3_respond_xml(r, 200, &b);
}

static void get_acl_end(s3_req *r) {
    store_bucket bk;
    if (!s3_require_bucket(r, &bk)) return;
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "AccessControlPolicy");
    buf_puts(&b, "<Owner><ID>floe</ID><DisplayName>floe</DisplayName></Owner><AccessControlList>"
                 "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
                 "<ID>floe</ID><DisplayName>floe</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>");
    if (bk.public_read)
        buf_puts(&b, "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
                     "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
                     "<Permission>READ</Permission></Grant>");
    buf_puts(&b, "</AccessControlList></AccessControlPolicy>");
    s3_respond_xml(r, 200, &b);
}

static void put_acl_end(s3_req *r) {
    bool public_read;
    if (!http_req_header(r->http, "x-amz-acl")) {
        s3_error(r, 501, "NotImplemented",
                 "Only canned ACLs are supported: send x-amz-acl: private or public-read, without a body.");
        return;
    }
    if (!canned_public(r, &public_read)) return;
    floe_err err;
    if (!store_bucket_set_public(r->srv->store, r->bucket, public_read, &err)) return s3_error_from(r, &err);
    http_resp_header(r->http, "x-amz-request-id", r->request_id);
    http_respond(r->http, 200, NULL, NULL, 0);
}

static void versioning_end(s3_req *r) {
    if (!s3_require_bucket(r, NULL)) return;
    buf_t b = BUF_INIT;
    s3_xml_open(&b, "VersioningConfiguration");
    buf_puts(&b, "</VersioningConfiguration>");
    s3_respond_xml(r, 200, &b);
}

const s3_op s3_op_list_buckets = {.name = "ListBuckets", .end = list_buckets_end};
const s3_op s3_op_create_bucket = {.name = "CreateBucket", .write = true, .body = BODY_XML, .end = create_bucket_end};
const s3_op s3_op_delete_bucket = {.name = "DeleteBucket", .write = true, .end = delete_bucket_end};
const s3_op s3_op_head_bucket = {.name = "HeadBucket", .anonymous_ok = true, .end = head_bucket_end};
const s3_op s3_op_get_bucket_location = {.name = "GetBucketLocation", .end = location_end};
const s3_op s3_op_get_bucket_acl = {.name = "GetBucketAcl", .end = get_acl_end};
const s3_op s3_op_put_bucket_acl = {.name = "PutBucketAcl", .write = true, .body = BODY_XML, .end = put_acl_end};
const s3_op s3_op_get_bucket_versioning = {.name = "GetBucketVersioning", .end = versioning_end};
