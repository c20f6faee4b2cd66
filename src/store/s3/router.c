/*
 * router.c: maps method, bucket, key and sub-resource parameters to the S3
 * operation, as S3's REST API defines them.
 */
#include <string.h>

#include "store/s3/s3_server_int.h"

static bool has(s3_req *r, const char *p) { return http_req_has_param(r->http, p); }

/* Sub-resources Floe does not implement get a clear NotImplemented. */
static const char *unsupported[] = {"policy",
                                    "lifecycle",
                                    "cors",
                                    "encryption",
                                    "replication",
                                    "website",
                                    "logging",
                                    "notification",
                                    "object-lock",
                                    "retention",
                                    "legal-hold",
                                    "versions",
                                    "torrent",
                                    "restore",
                                    "select",
                                    "accelerate",
                                    "requestPayment",
                                    "inventory",
                                    "analytics",
                                    "metrics",
                                    "intelligent-tiering",
                                    "ownershipControls",
                                    "publicAccessBlock",
                                    "attributes",
                                    NULL};

static const s3_op *route_service(s3_req *r) {
    return http_req_is(r->http, "GET") ? &s3_op_list_buckets : &s3_op_not_implemented;
}

static const s3_op *route_bucket(s3_req *r) {
    const char *m = r->http->method;
    if (!strcmp(m, "GET")) {
        if (has(r, "location")) return &s3_op_get_bucket_location;
        if (has(r, "acl")) return &s3_op_get_bucket_acl;
        if (has(r, "versioning")) return &s3_op_get_bucket_versioning;
        if (has(r, "uploads")) return &s3_op_list_uploads;
        const char *lt = http_req_param(r->http, "list-type");
        if (lt && !strcmp(lt, "2")) return &s3_op_list_objects_v2;
        return &s3_op_list_objects;
    }
    if (!strcmp(m, "PUT")) return has(r, "acl") ? &s3_op_put_bucket_acl : &s3_op_create_bucket;
    if (!strcmp(m, "HEAD")) return &s3_op_head_bucket;
    if (!strcmp(m, "DELETE")) return &s3_op_delete_bucket;
    if (!strcmp(m, "POST") && has(r, "delete")) return &s3_op_delete_objects;
    return &s3_op_not_implemented;
}

static const s3_op *route_object(s3_req *r) {
    const char *m = r->http->method;
    bool copy = http_req_header(r->http, "x-amz-copy-source") != NULL;
    if (!strcmp(m, "PUT")) {
        if (has(r, "partNumber") && has(r, "uploadId")) return copy ? &s3_op_upload_part_copy : &s3_op_upload_part;
        return copy ? &s3_op_copy_object : &s3_op_put_object;
    }
    if (!strcmp(m, "GET")) return has(r, "uploadId") ? &s3_op_list_parts : &s3_op_get_object;
    if (!strcmp(m, "HEAD")) return &s3_op_head_object;
    if (!strcmp(m, "DELETE")) return has(r, "uploadId") ? &s3_op_abort_upload : &s3_op_delete_object;
    if (!strcmp(m, "POST")) {
        if (has(r, "uploads")) return &s3_op_create_upload;
        if (has(r, "uploadId")) return &s3_op_complete_upload;
    }
    return &s3_op_not_implemented;
}

const s3_op *s3_route(s3_req *r) {
    for (const char **u = unsupported; *u; u++)
        if (has(r, *u)) return &s3_op_not_implemented;
    if (has(r, "tagging") && !r->key) return &s3_op_not_implemented; /* bucket tagging */
    if (!r->bucket) return route_service(r);
    if (!r->key) return route_bucket(r);
    if (has(r, "tagging")) {
        if (http_req_is(r->http, "GET")) return &s3_op_get_object_tagging;
        if (http_req_is(r->http, "PUT")) return &s3_op_put_object_tagging;
        if (http_req_is(r->http, "DELETE")) return &s3_op_delete_object_tagging;
        return &s3_op_not_implemented;
    }
    if (has(r, "acl")) return &s3_op_not_implemented; /* object ACLs: Floe has none */
    return route_object(r);
}

static void not_implemented_end(s3_req *r) {
    s3_error(r, 501, "NotImplemented", "Floe does not implement %s %s; see docs/s3.md for the supported API.",
             r->http->method, r->http->raw_uri);
}

const s3_op s3_op_not_implemented = {.name = "NotImplemented", .end = not_implemented_end};
