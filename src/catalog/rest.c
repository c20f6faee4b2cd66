/*
 * rest.c: the Iceberg REST catalog API (apache/iceberg
 * open-api/rest-catalog-open-api.yaml) under /iceberg on the catalog port.
 *
 * The {prefix} of /iceberg/v1/{prefix}/... names a catalog branch or tag:
 * /iceberg/v1/main/... is main, /iceberg/v1/dev/... is branch dev, which is
 * how Spark, Trino and PyIceberg write to a branch (as with Nessie). Paths
 * without a prefix (/iceberg/v1/namespaces) address main.
 *
 * Every handler fills a rest_call with a status and a JSON body, and one
 * place sends it, so a request with an Idempotency-Key can be stored and
 * replayed (rest_kv.c). Errors use the API's form:
 * {"error": {"message", "type", "code"}}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_http.h"
#include "store/s3/s3.h"

#define MAX_SEGS 12
#define IDEM_LIFETIME_MS (30 * 60 * 1000)
#define VENDED_TTL_S 3600

typedef struct rest_call {
    http_req_t *req;
    cat_http_ctx *ctx;
    cat_t *cat;
    arena_t *a;
    const char *body;
    size_t len;
    const char *ref; /* the prefix: a catalog branch or tag */
    char *seg[MAX_SEGS];
    int nseg;
    /* the response */
    int status;
    json_t *out;
    char *out_text; /* malloc'd: the body as text, instead of out */
    const char *etag;
} rest_call;

/* ---------------------------------------------------------------- replies */

static void reply(rest_call *rc, int status, json_t *body) {
    rc->status = status;
    json_decref(rc->out);
    rc->out = body;
    free(rc->out_text);
    rc->out_text = NULL;
}

/* A reply already in JSON text (text: malloc'd, taken). */
static void reply_text(rest_call *rc, int status, char *text) {
    reply(rc, status, NULL);
    rc->out_text = text;
}

static void fail(rest_call *rc, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(rest_call *rc, int status, const char *type, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply(rc, status, json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type", type, "code", status));
}

/* Maps a catalog error; notfound is the type a 404 takes here. */
static void fail_err(rest_call *rc, const floe_err *err, const char *notfound, const char *conflict) {
    switch (err->code) {
    case FLOE_EINVAL: fail(rc, 400, "BadRequestException", "%s", err->msg); break;
    case FLOE_ENOENT: fail(rc, 404, notfound, "%s", err->msg); break;
    case FLOE_EEXIST: fail(rc, 409, "AlreadyExistsException", "%s", err->msg); break;
    case FLOE_ECONFLICT: fail(rc, 409, conflict, "%s", err->msg); break;
    case FLOE_EAUTH: fail(rc, 403, "ForbiddenException", "%s", err->msg); break;
    case FLOE_ENOSPC: fail(rc, 507, "ServiceFailureException", "%s", err->msg); break;
    default: fail(rc, 500, "ServiceFailureException", "%s", err->msg); break;
    }
}

/* ------------------------------------------------------------------ names */

/* "a\x1Fb" (a path segment or a parent parameter) → "a.b". Levels may not
 * hold '.', which the catalog uses between levels. */
static const char *ns_from_path(rest_call *rc, const char *raw) {
    if (!*raw) {
        fail(rc, 400, "BadRequestException", "empty namespace in the path");
        return NULL;
    }
    char *ns = arena_strdup(rc->a, raw);
    for (char *p = ns; *p; p++) {
        if (*p == '.') {
            fail(rc, 400, "BadRequestException",
                 "namespace level '%s' holds a '.', which Floe keeps as its level separator; use another name", raw);
            return NULL;
        }
        if (*p == '\x1f') *p = '.';
    }
    return ns;
}

/* ["a","b"] → "a.b" */
static const char *ns_from_json(rest_call *rc, json_t *arr, const char *what) {
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        fail(rc, 400, "BadRequestException", "%s must be a non-empty array of strings, like [\"sales\"]", what);
        return NULL;
    }
    buf_t b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || !*s || strchr(s, '.') || strchr(s, '\x1f')) {
            buf_free(&b);
            fail(rc, 400, "BadRequestException", "%s level %zu must be a non-empty string without '.' or 0x1F", what,
                 i);
            return NULL;
        }
        if (i) buf_putc(&b, '.');
        buf_append(&b, s, strlen(s));
    }
    buf_putc(&b, 0);
    char *out = arena_strdup(rc->a, b.data);
    buf_free(&b);
    return out;
}

static json_t *ns_to_json(const char *ns) {
    json_t *arr = json_array();
    const char *p = ns;
    for (;;) {
        const char *dot = strchr(p, '.');
        json_array_append_new(arr, dot ? json_stringn(p, (size_t)(dot - p)) : json_string(p));
        if (!dot) break;
        p = dot + 1;
    }
    return arr;
}

static json_t *parse_body(rest_call *rc) {
    floe_err err;
    json_t *j = json_parse(rc->body, rc->len, "request body", &err);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        fail(rc, 400, "BadRequestException", "the request body must be a JSON object%s%s", j ? "" : ": ",
             j ? "" : err.msg);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------- pagination */

/* Applies pageToken and pageSize to a sorted list of names: *from and *to
 * bound the page, *next is the token of the next page (NULL: last page). */
static bool page(rest_call *rc, const char **names, size_t n, size_t *from, size_t *to, const char **next) {
    const char *tok = http_req_param(rc->req, "pageToken");
    const char *sz = http_req_param(rc->req, "pageSize");
    *from = 0;
    *to = n;
    *next = NULL;
    if (tok && *tok) {
        size_t tl = strlen(tok);
        char *after = arena_alloc(rc->a, tl / 2 + 1);
        if (tl % 2 || !str_unhex(tok, tl, (unsigned char *)after)) {
            fail(rc, 400, "BadRequestException", "pageToken '%s' is not one this catalog gave out", tok);
            return false;
        }
        after[tl / 2] = 0;
        while (*from < n && strcmp(names[*from], after) <= 0) (*from)++;
    }
    if (sz && *sz) {
        int64_t ps;
        if (!str_to_i64_range(sz, 1, 100000, &ps)) {
            fail(rc, 400, "BadRequestException", "pageSize '%s' must be an integer 1-100000", sz);
            return false;
        }
        if (*from + (size_t)ps < n) {
            *to = *from + (size_t)ps;
            const char *last = names[*to - 1];
            char *hex = arena_alloc(rc->a, 2 * strlen(last) + 1);
            str_hex((const unsigned char *)last, strlen(last), hex);
            *next = hex;
        }
    }
    return true;
}

/* Sorts by the names' byte order (the catalog lists by content key, where
 * levels join with 0x1F, not '.'). */
static int cmp_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

/* ------------------------------------------------------------- namespaces */

static void ns_list(rest_call *rc) {
    const char *parent = http_req_param(rc->req, "parent");
    const char *pns = NULL;
    if (parent && *parent && !(pns = ns_from_path(rc, parent))) return;
    const char **names;
    size_t n, from, to;
    const char *next;
    floe_err err;
    if (!cat_namespace_list(rc->cat, rc->ref, pns, rc->a, &names, &n, &err))
        return fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
    qsort(names, n, sizeof *names, cmp_str);
    if (!page(rc, names, n, &from, &to, &next)) return;
    json_t *arr = json_array();
    for (size_t i = from; i < to; i++) json_array_append_new(arr, ns_to_json(names[i]));
    json_t *o = json_pack("{s:o}", "namespaces", arr);
    json_object_set_new(o, "next-page-token", next ? json_string(next) : json_null());
    reply(rc, 200, o);
}

static bool string_props(rest_call *rc, json_t *props, const char *what) {
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v) {
        if (!json_is_string(v)) {
            fail(rc, 400, "BadRequestException", "%s: property '%s' must be a string", what, k);
            return false;
        }
    }
    return true;
}

static void ns_create(rest_call *rc) {
    json_t *j = parse_body(rc);
    if (!j) return;
    const char *ns = ns_from_json(rc, json_object_get(j, "namespace"), "namespace");
    json_t *props = json_object_get(j, "properties");
    if (props && json_is_null(props)) props = NULL;
    if (ns && props && (!json_is_object(props) || !string_props(rc, props, "properties"))) {
        if (!json_is_object(props)) fail(rc, 400, "BadRequestException", "properties must be an object of strings");
        ns = NULL;
    }
    floe_err err;
    if (ns && !cat_namespace_create(rc->cat, rc->ref, ns, props, &err))
        fail_err(rc, &err, "NoSuchNamespaceException", "AlreadyExistsException");
    else if (ns)
        reply(rc, 200,
              json_pack("{s:o,s:O}", "namespace", ns_to_json(ns), "properties", props ? props : json_object()));
    if (ns && !props && rc->status == 200) json_decref(json_object_get(rc->out, "properties"));
    json_decref(j);
}

static void ns_load(rest_call *rc, const char *ns, bool head) {
    json_t *props;
    floe_err err;
    if (!cat_namespace_props(rc->cat, rc->ref, ns, &props, &err))
        return fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
    if (head) {
        json_decref(props);
        return reply(rc, 204, NULL);
    }
    reply(rc, 200, json_pack("{s:o,s:o}", "namespace", ns_to_json(ns), "properties", props));
}

static void ns_drop(rest_call *rc, const char *ns) {
    floe_err err;
    if (!cat_namespace_drop(rc->cat, rc->ref, ns, &err))
        return fail_err(rc, &err, "NoSuchNamespaceException", "NamespaceNotEmptyException");
    reply(rc, 204, NULL);
}

static void ns_props(rest_call *rc, const char *ns) {
    json_t *j = parse_body(rc);
    if (!j) return;
    json_t *rem = json_object_get(j, "removals"), *upd = json_object_get(j, "updates");
    json_t *props = NULL;
    floe_err err;
    if ((rem && !json_is_null(rem) && !json_is_array(rem)) || (upd && !json_is_null(upd) && !json_is_object(upd))) {
        fail(rc, 400, "BadRequestException", "removals must be an array of keys and updates an object of strings");
        goto done;
    }
    if (json_is_object(upd) && !string_props(rc, upd, "updates")) goto done;
    size_t i;
    json_t *v;
    json_array_foreach(rem, i, v) {
        if (!json_is_string(v)) {
            fail(rc, 400, "BadRequestException", "removals[%zu] must be a string", i);
            goto done;
        }
        if (json_object_get(upd, json_string_value(v))) {
            fail(rc, 422, "UnprocessableEntityException", "property '%s' is both updated and removed",
                 json_string_value(v));
            goto done;
        }
    }
    if (!cat_namespace_props(rc->cat, rc->ref, ns, &props, &err)) {
        fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
        goto done;
    }
    json_t *updated = json_array(), *removed = json_array(), *missing = json_array();
    json_array_foreach(rem, i, v) {
        const char *k = json_string_value(v);
        if (json_object_get(props, k)) {
            json_object_del(props, k);
            json_array_append_new(removed, json_string(k));
        } else {
            json_array_append_new(missing, json_string(k));
        }
    }
    const char *k;
    json_object_foreach(upd, k, v) {
        json_object_set(props, k, v);
        json_array_append_new(updated, json_string(k));
    }
    if (!cat_namespace_set_props(rc->cat, rc->ref, ns, props, &err)) {
        json_decref(updated);
        json_decref(removed);
        json_decref(missing);
        fail_err(rc, &err, "NoSuchNamespaceException", "CommitFailedException");
        goto done;
    }
    reply(rc, 200, json_pack("{s:o,s:o,s:o}", "updated", updated, "removed", removed, "missing", missing));
done:
    json_decref(props);
    json_decref(j);
}

/* ----------------------------------------------------------------- tables */

/* The bucket the warehouse lives in exists before the first table. */
static bool ensure_warehouse(rest_call *rc) {
    if (!rc->ctx->store) return true;
    const char *wh = cat_warehouse(rc->cat);
    if (strncmp(wh, "s3://", 5)) return true;
    char bucket[64];
    size_t bl = strcspn(wh + 5, "/");
    if (bl == 0 || bl >= sizeof bucket) return true;
    memcpy(bucket, wh + 5, bl);
    bucket[bl] = 0;
    floe_err err;
    if (!store_bucket_create(rc->ctx->store, bucket, false, &err) && err.code != FLOE_EEXIST) {
        fail(rc, 500, "ServiceFailureException", "creating the warehouse bucket '%s': %s", bucket, err.msg);
        return false;
    }
    return true;
}

static json_t *meta_json(const ice_table_meta *m, bool refs_only) {
    json_t *j = ice_meta_to_json(m);
    if (!refs_only) return j;
    /* snapshots=refs: only the snapshots a branch or tag points at */
    json_t *snaps = json_object_get(j, "snapshots"), *keep = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(snaps, i, s) {
        int64_t id = json_integer_value(json_object_get(s, "snapshot-id"));
        bool referenced = id == m->current_snapshot_id;
        for (int32_t r = 0; r < m->nrefs && !referenced; r++) referenced = m->refs[r].snapshot_id == id;
        if (referenced) json_array_append(keep, s);
    }
    json_object_set_new(j, "snapshots", keep);
    return j;
}

static bool wants_vended(rest_call *rc) {
    const char *h = http_req_header(rc->req, "X-Iceberg-Access-Delegation");
    return h && strstr(h, "vended-credentials");
}

/* What the caller may do with s3://bucket/prefix: a token's key (root, or a
 * floe.yaml key whose grants cover it, with that key's scope), so a catalog
 * token never reaches further in S3 than its own key does. auth: none is
 * root. */
static bool caller_may(rest_call *rc, const char *bucket, const char *prefix, bool *write) {
    const floe_config *cfg = rc->ctx->cfg;
    *write = true;
    if (cfg->auth_none) return true;
    const char *h = http_req_header(rc->req, "Authorization");
    cat_token_claims cl;
    floe_err err;
    if (!h || strlen(h) <= 7 || !cat_token_verify(cfg->secret_key, h + 7, time_now_ms() / 1000, &cl, &err))
        return false;
    *write = cl.write;
    if (!strcmp(cl.principal, cfg->access_key)) return true;
    size_t bl = strlen(bucket);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const config_s3_key *k = &cfg->keys[i];
        if (strcmp(k->access_key, cl.principal)) continue;
        *write = *write && k->write;
        for (size_t g = 0; g < k->ngrants; g++) {
            const char *gr = k->grants[g];
            if (strncmp(gr, bucket, bl) || (gr[bl] && gr[bl] != '/')) continue;
            if (!gr[bl] || !strncmp(prefix, gr + bl + 1, strlen(gr + bl + 1))) return true;
        }
    }
    return false;
}

/* s3://bucket/path → bucket and "path/" (false for anything else, or a
 * location that is a whole bucket). */
static bool split_location(rest_call *rc, const char *location, char bucket[64], const char **prefix) {
    if (strncmp(location, "s3://", 5)) return false;
    const char *b = location + 5, *slash = strchr(b, '/');
    if (!slash || !slash[1] || (size_t)(slash - b) >= 64) return false;
    memcpy(bucket, b, (size_t)(slash - b));
    bucket[slash - b] = 0;
    size_t pl = strlen(slash + 1);
    *prefix = arena_sprintf(rc->a, "%s%s", slash + 1, slash[pl] == '/' ? "" : "/");
    return true;
}

/* storage-credentials for a table location: keys for its prefix only. */
static json_t *vended_for(rest_call *rc, const char *location, json_t *config) {
    char b[64];
    const char *prefix;
    bool write;
    if (!split_location(rc, location, b, &prefix)) return NULL;
    if (!caller_may(rc, b, prefix, &write)) {
        log_info("catalog", "no vended credentials for %s: the caller's key has no grant there", location);
        return NULL;
    }
    s3_vended v;
    floe_err err;
    if (!s3_vended_issue(rc->ctx->cfg->secret_key, b, prefix, write, time_now_ms() / 1000 + VENDED_TTL_S, &v, &err)) {
        log_warn("catalog", "no vended credentials for %s: %s", location, err.msg);
        return NULL;
    }
    char exp[32];
    snprintf(exp, sizeof exp, "%lld", (long long)v.expires_s * 1000);
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "s3.access-key-id", v.access_key, "s3.secret-access-key",
                          v.secret_key, "s3.session-token", v.session_token, "s3.session-token-expires-at-ms", exp,
                          "s3.endpoint", rc->ctx->s3_endpoint, "s3.path-style-access", "true", "client.region",
                          rc->ctx->cfg->region);
    /* older clients read the keys from config only */
    json_object_update(config, c);
    return json_pack("[{s:s,s:o}]", "prefix", location, "config", c);
}

static json_t *table_config(rest_call *rc) {
    return json_pack("{s:s,s:s,s:s}", "s3.endpoint", rc->ctx->s3_endpoint, "s3.path-style-access", "true",
                     "client.region", rc->ctx->cfg->region);
}

/* A LoadTableResult; location NULL for a staged create. */
static json_t *load_result(rest_call *rc, const char *location, const ice_table_meta *m, bool refs_only) {
    json_t *o = json_object();
    if (location) json_object_set_new(o, "metadata-location", json_string(location));
    json_object_set_new(o, "metadata", meta_json(m, refs_only));
    json_t *config = table_config(rc);
    if (wants_vended(rc)) {
        json_t *creds = vended_for(rc, m->location, config);
        if (creds) json_object_set_new(o, "storage-credentials", creds);
    }
    json_object_set_new(o, "config", config);
    return o;
}

static void tables_list(rest_call *rc, const char *ns) {
    const char **names;
    size_t n, from, to;
    const char *next;
    floe_err err;
    if (!cat_table_list(rc->cat, rc->ref, ns, rc->a, &names, &n, &err))
        return fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
    qsort(names, n, sizeof *names, cmp_str);
    if (!page(rc, names, n, &from, &to, &next)) return;
    json_t *arr = json_array();
    for (size_t i = from; i < to; i++)
        json_array_append_new(arr, json_pack("{s:o,s:s}", "namespace", ns_to_json(ns), "name", names[i]));
    json_t *o = json_pack("{s:o}", "identifiers", arr);
    json_object_set_new(o, "next-page-token", next ? json_string(next) : json_null());
    reply(rc, 200, o);
}

/* A CreateTableRequest as the updates that build the table. */
static json_t *create_updates(rest_call *rc, json_t *j) {
    json_t *schema = json_object_get(j, "schema");
    if (!json_is_object(schema)) {
        fail(rc, 400, "BadRequestException", "a table needs \"schema\": {\"type\":\"struct\",\"fields\":[...]}");
        return NULL;
    }
    json_t *u = json_array();
    json_array_append_new(u, json_pack("{s:s,s:i}", "action", "upgrade-format-version", "format-version", 2));
    json_t *sc = json_deep_copy(schema);
    if (!json_object_get(sc, "schema-id")) json_object_set_new(sc, "schema-id", json_integer(0));
    json_array_append_new(u, json_pack("{s:s,s:o}", "action", "add-schema", "schema", sc));
    json_array_append_new(u, json_pack("{s:s,s:i}", "action", "set-current-schema", "schema-id", -1));
    json_t *spec = json_object_get(j, "partition-spec");
    json_t *sp = json_is_object(spec) ? json_deep_copy(spec) : json_pack("{s:[]}", "fields");
    if (!json_object_get(sp, "spec-id")) json_object_set_new(sp, "spec-id", json_integer(0));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sp, "fields"), i, f) if (!json_object_get(f, "field-id"))
        json_object_set_new(f, "field-id", json_integer(1000 + (json_int_t)i));
    json_array_append_new(u, json_pack("{s:s,s:o}", "action", "add-spec", "spec", sp));
    json_array_append_new(u, json_pack("{s:s,s:i}", "action", "set-default-spec", "spec-id", -1));
    json_t *order = json_object_get(j, "write-order");
    json_t *so = json_is_object(order) ? json_deep_copy(order) : json_pack("{s:i,s:[]}", "order-id", 0, "fields");
    if (!json_object_get(so, "order-id"))
        json_object_set_new(so, "order-id", json_integer(json_array_size(json_object_get(so, "fields")) ? 1 : 0));
    json_array_append_new(u, json_pack("{s:s,s:o}", "action", "add-sort-order", "sort-order", so));
    json_array_append_new(u, json_pack("{s:s,s:i}", "action", "set-default-sort-order", "sort-order-id", -1));
    const char *loc = json_string_value(json_object_get(j, "location"));
    if (loc && *loc) json_array_append_new(u, json_pack("{s:s,s:s}", "action", "set-location", "location", loc));
    json_t *props = json_object_get(j, "properties");
    if (json_is_object(props)) {
        if (!string_props(rc, props, "properties")) {
            json_decref(u);
            return NULL;
        }
        json_array_append_new(u, json_pack("{s:s,s:O}", "action", "set-properties", "updates", props));
    }
    return u;
}

static void table_create(rest_call *rc, const char *ns) {
    json_t *j = parse_body(rc);
    if (!j) return;
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *updates = NULL, *reqs = NULL;
    floe_err err;
    if (!name || !*name) {
        fail(rc, 400, "BadRequestException", "a table needs a \"name\"");
        goto done;
    }
    if (!(updates = create_updates(rc, j))) goto done;
    if (json_is_true(json_object_get(j, "stage-create"))) {
        ice_table_meta m;
        if (!cat_table_stage(rc->cat, rc->ref, ns, name, updates, rc->a, &m, &err))
            fail_err(rc, &err, "NoSuchNamespaceException", "AlreadyExistsException");
        else
            reply(rc, 200, load_result(rc, NULL, &m, false));
        goto done;
    }
    bool exists;
    if (!cat_namespace_exists(rc->cat, rc->ref, ns, &exists, &err)) {
        fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
        goto done;
    }
    if (!exists) {
        fail(rc, 404, "NoSuchNamespaceException", "namespace '%s' does not exist on '%s'", ns, rc->ref);
        goto done;
    }
    if (!ensure_warehouse(rc)) goto done;
    reqs = json_pack("[{s:s}]", "type", "assert-create");
    cat_table_change ch = {.ns = ns, .name = name, .requirements = reqs, .updates = updates};
    cat_table t;
    if (!cat_tables_commit(rc->cat, rc->ref, &ch, 1, rc->a, &t, &err)) {
        if (err.code == FLOE_ECONFLICT && strstr(err.msg, "already exists")) err.code = FLOE_EEXIST;
        fail_err(rc, &err, "NoSuchNamespaceException", "AlreadyExistsException");
        goto done;
    }
    reply(rc, 200, load_result(rc, t.metadata_location, &t.meta, false));
done:
    json_decref(reqs);
    json_decref(updates);
    json_decref(j);
}

static void etag_of(rest_call *rc, const char *location, const char *mode, char out[70]) {
    char *s = arena_sprintf(rc->a, "%s|%s|%s", location, mode, wants_vended(rc) ? "vended" : "");
    char hex[65];
    hash_sha256_hex(s, strlen(s), hex);
    snprintf(out, 70, "\"%s\"", hex);
}

static void table_load(rest_call *rc, const char *ns, const char *name, bool head) {
    const char *mode = http_req_param(rc->req, "snapshots");
    if (mode && strcmp(mode, "all") && strcmp(mode, "refs"))
        return fail(rc, 400, "BadRequestException", "snapshots='%s'; expected all or refs", mode);
    cat_table t;
    floe_err err;
    if (!cat_table_load(rc->cat, rc->ref, ns, name, rc->a, &t, &err))
        return fail_err(rc, &err, "NoSuchTableException", "ConflictException");
    if (head) return reply(rc, 204, NULL);
    char *etag = arena_alloc(rc->a, 70);
    etag_of(rc, t.metadata_location, mode ? mode : "all", etag);
    rc->etag = etag;
    const char *inm = http_req_header(rc->req, "If-None-Match");
    if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) return reply(rc, 304, NULL);
    reply(rc, 200, load_result(rc, t.metadata_location, &t.meta, mode && !strcmp(mode, "refs")));
}

static void table_credentials(rest_call *rc, const char *ns, const char *name) {
    cat_table t;
    floe_err err;
    if (!cat_table_load(rc->cat, rc->ref, ns, name, rc->a, &t, &err))
        return fail_err(rc, &err, "NoSuchTableException", "ConflictException");
    json_t *config = json_object();
    json_t *creds = vended_for(rc, t.meta.location, config);
    json_decref(config);
    reply(rc, 200, json_pack("{s:o}", "storage-credentials", creds ? creds : json_array()));
}

static bool check_commit_lists(rest_call *rc, json_t *reqs, json_t *updates) {
    if ((reqs && !json_is_array(reqs)) || !json_is_array(updates)) {
        fail(rc, 400, "BadRequestException", "a commit needs \"requirements\" and \"updates\" arrays");
        return false;
    }
    return true;
}

static void table_commit(rest_call *rc, const char *ns, const char *name) {
    json_t *j = parse_body(rc);
    if (!j) return;
    json_t *reqs = json_object_get(j, "requirements"), *updates = json_object_get(j, "updates");
    cat_table_change ch = {.ns = ns, .name = name, .requirements = reqs, .updates = updates};
    cat_table t;
    floe_err err;
    bool creates = false;
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) creates |= str_eq(json_string_value(json_object_get(r, "type")), "assert-create");
    if (check_commit_lists(rc, reqs, updates) && (!creates || ensure_warehouse(rc))) {
        if (!cat_tables_commit(rc->cat, rc->ref, &ch, 1, rc->a, &t, &err)) {
            fail_err(rc, &err, "NoSuchTableException", "CommitFailedException");
        } else {
            /* the metadata is the file just written, byte for byte (the
             * document meta_json builds): spliced in, not rebuilt */
            buf_t b = {0};
            buf_puts(&b, "{\"metadata-location\":");
            json_put_str(&b, t.metadata_location, strlen(t.metadata_location));
            buf_puts(&b, ",\"metadata\":");
            if (!cat_meta_cached(rc->cat, t.metadata_location, &b)) ice_meta_write(&t.meta, &b);
            buf_putc(&b, '}');
            buf_putc(&b, 0);
            reply_text(rc, 200, b.data);
        }
    }
    json_decref(j);
}

static void table_drop(rest_call *rc, const char *ns, const char *name) {
    const char *p = http_req_param(rc->req, "purgeRequested");
    floe_err err;
    if (p && !strcmp(p, "true")) {
        /* a purge deletes everything under the location: only a table
         * location, and only one the caller's key may write */
        cat_table t;
        char b[64];
        const char *prefix;
        bool write;
        if (!cat_table_load(rc->cat, rc->ref, ns, name, rc->a, &t, &err))
            return fail_err(rc, &err, "NoSuchTableException", "ConflictException");
        if (!split_location(rc, t.meta.location, b, &prefix) || !strchr(prefix, '/') || prefix == strchr(prefix, '/'))
            return fail(rc, 400, "BadRequestException",
                        "table %s.%s is at '%s', not under a bucket path; drop it without purgeRequested", ns, name,
                        t.meta.location);
        if (!caller_may(rc, b, prefix, &write) || !write)
            return fail(rc, 403, "ForbiddenException",
                        "purging %s.%s deletes %s, where the caller's key may not write; drop it without "
                        "purgeRequested",
                        ns, name, t.meta.location);
    }
    if (!cat_table_drop(rc->cat, rc->ref, ns, name, p && !strcmp(p, "true"), &err))
        return fail_err(rc, &err, "NoSuchTableException", "CommitFailedException");
    reply(rc, 204, NULL);
}

static void table_register(rest_call *rc, const char *ns) {
    json_t *j = parse_body(rc);
    if (!j) return;
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *loc = json_string_value(json_object_get(j, "metadata-location"));
    bool overwrite = json_is_true(json_object_get(j, "overwrite"));
    cat_table t;
    floe_err err;
    bool exists;
    if (!name || !loc)
        fail(rc, 400, "BadRequestException", "register needs \"name\" and \"metadata-location\"");
    else if (!cat_namespace_exists(rc->cat, rc->ref, ns, &exists, &err))
        fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
    else if (!exists)
        fail(rc, 404, "NoSuchNamespaceException", "namespace '%s' does not exist on '%s'", ns, rc->ref);
    else if (ensure_warehouse(rc)) {
        if (!cat_table_register(rc->cat, rc->ref, ns, name, loc, overwrite, rc->a, &t, &err)) {
            /* an unreadable metadata file is the caller's mistake */
            if (err.code == FLOE_ENOENT || err.code == FLOE_EIO) err.code = FLOE_EINVAL;
            fail_err(rc, &err, "NoSuchNamespaceException", "AlreadyExistsException");
        } else {
            reply(rc, 200, load_result(rc, t.metadata_location, &t.meta, false));
        }
    }
    json_decref(j);
}

static bool identifier(rest_call *rc, json_t *id, const char *what, const char **ns, const char **name) {
    *name = json_string_value(json_object_get(id, "name"));
    if (!json_is_object(id) || !*name || !**name) {
        fail(rc, 400, "BadRequestException", "%s must be {\"namespace\": [...], \"name\": \"...\"}", what);
        return false;
    }
    *ns = ns_from_json(rc, json_object_get(id, "namespace"), what);
    return *ns != NULL;
}

static void table_rename(rest_call *rc) {
    json_t *j = parse_body(rc);
    if (!j) return;
    const char *ns, *name, *to_ns, *to_name;
    floe_err err;
    bool exists;
    if (identifier(rc, json_object_get(j, "source"), "source", &ns, &name) &&
        identifier(rc, json_object_get(j, "destination"), "destination", &to_ns, &to_name)) {
        if (!cat_namespace_exists(rc->cat, rc->ref, to_ns, &exists, &err))
            fail_err(rc, &err, "NoSuchNamespaceException", "ConflictException");
        else if (!exists)
            fail(rc, 404, "NoSuchNamespaceException", "destination namespace '%s' does not exist on '%s'", to_ns,
                 rc->ref);
        else if (!cat_table_rename(rc->cat, rc->ref, ns, name, to_ns, to_name, &err))
            fail_err(rc, &err, "NoSuchTableException", "CommitFailedException");
        else
            reply(rc, 204, NULL);
    }
    json_decref(j);
}

static void table_metrics(rest_call *rc, const char *ns, const char *name) {
    json_t *j = parse_body(rc);
    if (!j) return;
    bool exists;
    floe_err err;
    if (!cat_table_exists(rc->cat, rc->ref, ns, name, &exists, &err))
        fail_err(rc, &err, "NoSuchTableException", "ConflictException");
    else if (!exists)
        fail(rc, 404, "NoSuchTableException", "table %s.%s does not exist on '%s'", ns, name, rc->ref);
    else if (!rest_metrics_put(rc->cat, rc->ref, ns, name, json_string_value(json_object_get(j, "report-type")),
                               rc->body, &err))
        fail_err(rc, &err, "NoSuchTableException", "ConflictException");
    else
        reply(rc, 204, NULL);
    json_decref(j);
}

static void transaction_commit(rest_call *rc) {
    json_t *j = parse_body(rc);
    if (!j) return;
    json_t *changes = json_object_get(j, "table-changes");
    size_t n = json_array_size(changes), i;
    json_t *ch;
    floe_err err;
    bool creates = false;
    cat_table_change *v = arena_zalloc(rc->a, (n ? n : 1) * sizeof *v);
    if (!json_is_array(changes) || n == 0) {
        fail(rc, 400, "BadRequestException", "a transaction needs \"table-changes\": a non-empty array");
        goto done;
    }
    json_array_foreach(changes, i, ch) {
        char what[64];
        snprintf(what, sizeof what, "table-changes[%zu].identifier", i);
        if (!identifier(rc, json_object_get(ch, "identifier"), what, &v[i].ns, &v[i].name)) goto done;
        v[i].requirements = json_object_get(ch, "requirements");
        v[i].updates = json_object_get(ch, "updates");
        if (!check_commit_lists(rc, v[i].requirements, v[i].updates)) goto done;
        size_t k;
        json_t *r;
        json_array_foreach(v[i].requirements, k, r) creates |=
            str_eq(json_string_value(json_object_get(r, "type")), "assert-create");
    }
    if (creates && !ensure_warehouse(rc)) goto done;
    if (!cat_tables_commit(rc->cat, rc->ref, v, n, rc->a, NULL, &err))
        fail_err(rc, &err, "NoSuchTableException", "CommitFailedException");
    else
        reply(rc, 204, NULL);
done:
    json_decref(j);
}

/* ----------------------------------------------------------- config, auth */

static const char *const endpoints[] = {
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "POST /v1/{prefix}/namespaces/{namespace}/properties",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    "POST /v1/{prefix}/tables/rename",
    "POST /v1/{prefix}/transactions/commit",
};

static void config_get(rest_call *rc) {
    const char *wh = http_req_param(rc->req, "warehouse");
    const char *cw = cat_warehouse(rc->cat);
    const char *ref = CAT_MAIN;
    json_t *overrides = json_pack("{s:s,s:s,s:s}", "s3.endpoint", rc->ctx->s3_endpoint, "s3.path-style-access", "true",
                                  "client.region", rc->ctx->cfg->region);
    if (wh && *wh && strcmp(wh, cw) && strcmp(wh, cw + 5)) {
        cat_ref r;
        floe_err err;
        if (!cat_ref_get(rc->cat, wh, rc->a, &r, &err)) {
            json_decref(overrides);
            return fail(rc, 404, "NoSuchWarehouseException",
                        "warehouse '%s' is neither '%s' nor a branch or tag of this catalog (see floe branch list)", wh,
                        cw + 5);
        }
        ref = r.name;
    }
    if (wh && *wh) json_object_set_new(overrides, "prefix", json_string(ref));
    json_t *eps = json_array();
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++)
        json_array_append_new(eps, json_string(endpoints[i]));
    reply(rc, 200,
          json_pack("{s:{s:s,s:s},s:o,s:o,s:s}", "defaults", "prefix", CAT_MAIN, "warehouse", cw, "overrides",
                    overrides, "endpoints", eps, "idempotency-key-lifetime", "PT30M"));
}

static void oauth_fail(rest_call *rc, int status, const char *error, const char *desc) {
    reply(rc, status, json_pack("{s:s,s:s}", "error", error, "error_description", desc));
}

/* Form fields of an application/x-www-form-urlencoded body. */
static const char *form_field(rest_call *rc, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = rc->body; p && p < rc->body + rc->len;) {
        const char *amp = memchr(p, '&', (size_t)(rc->body + rc->len - p));
        const char *end = amp ? amp : rc->body + rc->len;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl)) {
            buf_t b = {0};
            if (!str_uri_decode(eq + 1, (size_t)(end - eq - 1), true, &b)) {
                buf_free(&b);
                return NULL;
            }
            buf_putc(&b, 0);
            char *v = arena_strdup(rc->a, b.data);
            buf_free(&b);
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void oauth_tokens(rest_call *rc) {
    const char *grant = form_field(rc, "grant_type");
    const char *id = form_field(rc, "client_id"), *secret = form_field(rc, "client_secret");
    char principal[201];
    bool write = false;
    if (grant && !strcmp(grant, "urn:ietf:params:oauth:grant-type:token-exchange")) {
        /* a refresh: a valid token for a new one */
        cat_token_claims cl;
        floe_err err;
        const char *subject = form_field(rc, "subject_token");
        if (!subject || !cat_token_verify(rc->ctx->cfg->secret_key, subject, time_now_ms() / 1000, &cl, &err))
            return oauth_fail(rc, 401, "invalid_grant", subject ? err.msg : "token exchange needs subject_token");
        snprintf(principal, sizeof principal, "%s", cl.principal);
        write = cl.write;
    } else if (!grant || strcmp(grant, "client_credentials")) {
        return oauth_fail(rc, 400, grant ? "unsupported_grant_type" : "invalid_request",
                          "grant_type must be client_credentials (client_id = an S3 access key, client_secret = "
                          "its secret)");
    } else {
        /* HTTP Basic carries the pair when the form does not */
        const char *basic = http_req_header(rc->req, "Authorization");
        if ((!id || !secret) && basic && !strncasecmp(basic, "Basic ", 6)) {
            unsigned char dec[512];
            size_t dl;
            if (str_unbase64(basic + 6, strlen(basic + 6), dec, sizeof dec - 1, &dl)) {
                dec[dl] = 0;
                char *colon = strchr((char *)dec, ':');
                if (colon) {
                    *colon = 0;
                    id = arena_strdup(rc->a, (char *)dec);
                    secret = arena_strdup(rc->a, colon + 1);
                }
            }
        }
        if (!id || !secret)
            return oauth_fail(rc, 400, "invalid_request", "client_credentials needs client_id and client_secret");
        if (!cat_client_check(rc->ctx->cfg, id, secret, &write)) {
            log_info("catalog", "token refused for client_id '%s': unknown key or wrong secret", id);
            return oauth_fail(rc, 401, "invalid_client",
                              "client_id is not an access key of this server, or client_secret is not its secret");
        }
        snprintf(principal, sizeof principal, "%s", id);
    }
    char tok[CAT_TOKEN_MAX];
    floe_err err;
    if (!cat_token_issue(rc->ctx->cfg->secret_key, principal, write, time_now_ms() / 1000 + CAT_TOKEN_TTL_S, tok,
                         sizeof tok, &err))
        return oauth_fail(rc, 400, "invalid_request", err.msg);
    reply(rc, 200,
          json_pack("{s:s,s:s,s:i,s:s}", "access_token", tok, "token_type", "bearer", "expires_in", CAT_TOKEN_TTL_S,
                    "issued_token_type", "urn:ietf:params:oauth:token-type:access_token"));
}

/* ---------------------------------------------------------------- routing */

static bool is(rest_call *rc, const char *m) { return http_req_is(rc->req, m); }

static void method_not_allowed(rest_call *rc) {
    fail(rc, 405, "MethodNotAllowedException", "%s is not allowed on %s", rc->req->method, rc->req->path);
}

/* Routes seg[] after /iceberg/v1/{prefix}. */
static void route_prefixed(rest_call *rc, char **s, int n) {
    if (n >= 1 && !strcmp(s[0], "namespaces")) {
        if (n == 1) return is(rc, "GET") ? ns_list(rc) : is(rc, "POST") ? ns_create(rc) : method_not_allowed(rc);
        const char *ns = ns_from_path(rc, s[1]);
        if (!ns) return;
        if (n == 2) {
            if (is(rc, "GET") || is(rc, "HEAD")) return ns_load(rc, ns, is(rc, "HEAD"));
            return is(rc, "DELETE") ? ns_drop(rc, ns) : method_not_allowed(rc);
        }
        if (n == 3 && !strcmp(s[2], "properties")) return is(rc, "POST") ? ns_props(rc, ns) : method_not_allowed(rc);
        if (n == 3 && !strcmp(s[2], "register"))
            return is(rc, "POST") ? table_register(rc, ns) : method_not_allowed(rc);
        if (n >= 3 && !strcmp(s[2], "tables")) {
            if (n == 3)
                return is(rc, "GET")    ? tables_list(rc, ns)
                       : is(rc, "POST") ? table_create(rc, ns)
                                        : method_not_allowed(rc);
            const char *t = s[3];
            if (n == 4) {
                if (is(rc, "GET") || is(rc, "HEAD")) return table_load(rc, ns, t, is(rc, "HEAD"));
                if (is(rc, "POST")) return table_commit(rc, ns, t);
                return is(rc, "DELETE") ? table_drop(rc, ns, t) : method_not_allowed(rc);
            }
            if (n == 5 && !strcmp(s[4], "metrics"))
                return is(rc, "POST") ? table_metrics(rc, ns, t) : method_not_allowed(rc);
            if (n == 5 && !strcmp(s[4], "credentials"))
                return is(rc, "GET") ? table_credentials(rc, ns, t) : method_not_allowed(rc);
        }
    } else if (n == 2 && !strcmp(s[0], "tables") && !strcmp(s[1], "rename")) {
        return is(rc, "POST") ? table_rename(rc) : method_not_allowed(rc);
    } else if (n == 2 && !strcmp(s[0], "transactions") && !strcmp(s[1], "commit")) {
        return is(rc, "POST") ? transaction_commit(rc) : method_not_allowed(rc);
    }
    fail(rc, 404, "NotFoundException", "no Iceberg REST route %s %s (see GET /iceberg/v1/config for the endpoints)",
         rc->req->method, rc->req->path);
}

static bool route_word(const char *s) {
    return !strcmp(s, "namespaces") || !strcmp(s, "tables") || !strcmp(s, "transactions");
}

static void route(rest_call *rc) {
    char **s = rc->seg;
    int n = rc->nseg;
    /* s[0] is "v1" */
    if (n < 2 || strcmp(s[0], "v1"))
        return fail(rc, 404, "NotFoundException", "Iceberg REST paths start /iceberg/v1/; got %s", rc->req->path);
    if (n == 2 && !strcmp(s[1], "config")) return is(rc, "GET") ? config_get(rc) : method_not_allowed(rc);
    if (n == 3 && !strcmp(s[1], "oauth") && !strcmp(s[2], "tokens"))
        return is(rc, "POST") ? oauth_tokens(rc) : method_not_allowed(rc);
    int skip = 1;
    rc->ref = CAT_MAIN;
    if (!route_word(s[1])) {
        cat_ref r;
        floe_err err;
        if (!cat_ref_get(rc->cat, s[1], rc->a, &r, &err))
            return fail(rc, 404, "NoSuchWarehouseException",
                        "prefix '%s' is not a branch or tag of this catalog; use /iceberg/v1/main/... or create the "
                        "branch (floe branch create %s)",
                        s[1], s[1]);
        rc->ref = r.name;
        skip = 2;
    }
    route_prefixed(rc, s + skip, n - skip);
}

/* Splits the raw path after /iceberg/ into decoded segments. */
static bool split_path(rest_call *rc) {
    const char *p = rc->req->raw_path + strlen("/iceberg/");
    const char *end = rc->req->raw_path + rc->req->raw_path_len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        if (rc->nseg == MAX_SEGS) return false;
        buf_t b = {0};
        bool ok = str_uri_decode(p, (size_t)(e - p), false, &b);
        buf_putc(&b, 0);
        if (ok && strlen(b.data) != b.len - 1) ok = false; /* a %00 */
        rc->seg[rc->nseg++] = ok ? arena_strdup(rc->a, b.data) : NULL;
        buf_free(&b);
        if (!ok) return false;
        if (!slash) break;
        p = slash + 1;
    }
    /* a trailing slash adds nothing */
    if (rc->nseg && !*rc->seg[rc->nseg - 1]) rc->nseg--;
    return true;
}

/* "METHOD path sha256(body)": what an Idempotency-Key is bound to. */
static const char *request_id(rest_call *rc) {
    char hex[65];
    hash_sha256_hex(rc->body, rc->len, hex);
    return arena_sprintf(rc->a, "%s %.*s %s", rc->req->method, (int)rc->req->raw_path_len, rc->req->raw_path, hex);
}

static void send(rest_call *rc) {
    if (rc->etag) http_resp_header(rc->req, "ETag", rc->etag);
    if (rc->out_text) {
        char *text = rc->out_text;
        rc->out_text = NULL;
        if (rc->status == 204 || rc->status == 304 || is(rc, "HEAD")) {
            free(text);
            cat_json_respond(rc->req, rc->status, NULL);
        } else {
            http_respond_owned(rc->req, rc->status, "application/json", text, strlen(text));
        }
        return;
    }
    if (rc->status == 204 || rc->status == 304 || !rc->out || is(rc, "HEAD")) {
        json_decref(rc->out);
        rc->out = NULL;
        cat_json_respond(rc->req, rc->status, NULL);
    } else {
        cat_json_respond(rc->req, rc->status, rc->out);
        rc->out = NULL;
    }
}

void cat_rest_handle(http_req_t *req, cat_http_ctx *ctx, const char *body, size_t len) {
    rest_call rc = {.req = req, .ctx = ctx, .cat = ctx->cat, .a = &req->arena, .body = body, .len = len};
    if (!split_path(&rc)) {
        fail(&rc, 400, "BadRequestException", "the path %s has a bad escape, a NUL or too many segments",
             req->raw_path);
        return send(&rc);
    }
    const char *key = http_req_header(req, "Idempotency-Key");
    bool mutates = is(&rc, "POST") || is(&rc, "DELETE");
    const char *rid = NULL;
    if (key && mutates && strcmp(req->path, "/iceberg/v1/oauth/tokens")) {
        rest_idem prev;
        bool found;
        floe_err err;
        rid = request_id(&rc);
        if (strlen(key) > 200) {
            fail(&rc, 400, "BadRequestException", "Idempotency-Key is longer than 200 characters");
            return send(&rc);
        }
        if (!rest_idem_get(ctx->cat, key, rc.a, &prev, &found, &err)) {
            fail_err(&rc, &err, "NotFoundException", "ConflictException");
            return send(&rc);
        }
        if (found) {
            if (strcmp(prev.request, rid)) {
                fail(&rc, 422, "UnprocessableEntityException",
                     "Idempotency-Key '%s' was used for a different request; use a new key for a new request", key);
                return send(&rc);
            }
            rc.status = prev.status;
            rc.out = prev.body ? json_loads(prev.body, 0, NULL) : NULL;
            http_resp_header(req, "Idempotent-Replayed", "true");
            return send(&rc);
        }
    }
    route(&rc);
    if (!rc.status) fail(&rc, 500, "ServiceFailureException", "no answer for %s %s", req->method, req->path);
    /* keep final answers: successes and the caller's own errors, not 5xx */
    if (rid && rc.status < 500) {
        char *text = rc.out_text ? strdup(rc.out_text) : rc.out ? json_dumps(rc.out, JSON_COMPACT) : NULL;
        rest_idem v = {.request = rid, .status = rc.status, .body = text};
        floe_err err;
        if (!rest_idem_put(ctx->cat, key, &v, IDEM_LIFETIME_MS, &err))
            log_warn("catalog", "idempotency key not stored: %s", err.msg);
        free(text);
    }
    send(&rc);
}
