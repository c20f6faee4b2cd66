/*
 * nessie.c: the Nessie v2 REST API (projectnessie/nessie, api/model and
 * HttpTreeApi) under /api/v2 on the catalog port, over the versioned
 * catalog (versions.c) and Nessie commits (nessie_ops.c).
 *
 * Refs in paths use Nessie's syntax: "main", "main@hash", "@hash",
 * "main*time", "main~N" (the catalog's refspecs) and "-" for the default
 * branch. Content keys in paths and in `key` parameters are Nessie's path
 * form: elements joined by '.'. Bodies and answers follow Nessie's model
 * (Reference, EntriesResponse, ContentResponse, LogResponse, DiffResponse,
 * CommitResponse, MergeResponse). Errors are NessieError JSON:
 * {"status", "reason", "message", "errorCode"}, with a conflict's list in
 * errorDetails. docs/catalog-nessie.md says what differs from Nessie.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_http.h"

#define MAX_SEGS 12
#define DEFAULT_PAGE 250
#define MAX_PAGE 100000

typedef struct ncall {
    http_req_t *req;
    cat_t *cat;
    arena_t *a;
    const char *body;
    size_t len;
    char *seg[MAX_SEGS];
    int nseg;
    int status;
    json_t *out;
} ncall;

/* ---------------------------------------------------------------- replies */

static void reply(ncall *nc, int status, json_t *body) {
    nc->status = status;
    json_decref(nc->out);
    nc->out = body;
}

static const char *reason(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 507: return "Insufficient Storage";
    default: return "Internal Server Error";
    }
}

static json_t *error_json(int status, const char *code, const char *msg) {
    return json_pack("{s:i,s:s,s:s,s:s,s:n}", "status", status, "reason", reason(status), "message", msg, "errorCode",
                     code, "serverStackTrace");
}

static void fail(ncall *nc, int status, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(ncall *nc, int status, const char *code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply(nc, status, error_json(status, code, msg));
}

/* Maps a catalog error; notfound is the error code a 404 takes here. */
static void fail_err(ncall *nc, const floe_err *err, const char *notfound) {
    switch (err->code) {
    case FLOE_EINVAL: fail(nc, 400, "BAD_REQUEST", "%s", err->msg); break;
    case FLOE_ENOENT: fail(nc, 404, notfound, "%s", err->msg); break;
    case FLOE_EEXIST: fail(nc, 409, "REFERENCE_ALREADY_EXISTS", "%s", err->msg); break;
    case FLOE_ECONFLICT: fail(nc, 409, "REFERENCE_CONFLICT", "%s", err->msg); break;
    case FLOE_EAUTH: fail(nc, 403, "FORBIDDEN", "%s", err->msg); break;
    case FLOE_ENOSPC: fail(nc, 507, "UNKNOWN", "%s", err->msg); break;
    default: fail(nc, 500, "UNKNOWN", "%s", err->msg); break;
    }
}

/* ------------------------------------------------------------ content keys */

/* "a.b.t" (the catalog's display form, levels without '.') → {"elements"} */
static json_t *key_json(const char *display) {
    json_t *el = json_array();
    const char *p = display;
    for (;;) {
        const char *dot = strchr(p, '.');
        json_array_append_new(el, dot ? json_stringn(p, (size_t)(dot - p)) : json_string(p));
        if (!dot) break;
        p = dot + 1;
    }
    return json_pack("{s:o}", "elements", el);
}

static bool element_ok(const char *s, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == '\x1f' || s[i] == '\x1d' || s[i] == 0) return false;
    return true;
}

/* A key's path form ("a.b.t"; Nessie escapes a '.' inside an element as
 * 0x1D, which Floe's names never hold) → display form. */
static const char *key_from_path(ncall *nc, const char *raw) {
    const char *p = raw;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!element_ok(p, n)) {
            fail(nc, 400, "BAD_REQUEST",
                 "content key '%s' is malformed: expected elements joined by '.', like 'sales.orders', each "
                 "non-empty and without a '.' of its own",
                 raw);
            return NULL;
        }
        if (!dot) return arena_strdup(nc->a, raw);
        p = dot + 1;
    }
}

/* {"elements": ["a", "t"]} → "a.t" */
static const char *key_from_json(ncall *nc, json_t *k, const char *what) {
    json_t *el = json_is_object(k) ? json_object_get(k, "elements") : NULL;
    if (!json_is_array(el) || !json_array_size(el)) {
        fail(nc, 400, "BAD_REQUEST", "%s must be a ContentKey: {\"elements\": [\"ns\", \"table\"]}", what);
        return NULL;
    }
    buf_t b = BUF_INIT;
    size_t i;
    json_t *v;
    json_array_foreach(el, i, v) {
        const char *s = json_string_value(v);
        if (!s || !element_ok(s, strlen(s))) {
            buf_free(&b);
            fail(nc, 400, "BAD_REQUEST", "%s element %zu must be a non-empty string without '.'", what, i);
            return NULL;
        }
        if (i) buf_putc(&b, '.');
        buf_append(&b, s, strlen(s));
    }
    buf_putc(&b, 0);
    const char *out = arena_strdup(nc->a, b.data);
    buf_free(&b);
    return out;
}

/* ---------------------------------------------------------------- refs */

static json_t *ref_json(const char *name, bool is_tag, const char *hash) {
    return json_pack("{s:s,s:s,s:s}", "type", is_tag ? "TAG" : "BRANCH", "name", name, "hash", hash);
}

/* "-" is the default branch: "-", "-@hash", "-~1" → "main...". */
static const char *ref_default(ncall *nc, const char *raw) {
    if (raw[0] == '-' && (!raw[1] || strchr("@~*^", raw[1]))) return arena_sprintf(nc->a, "%s%s", CAT_MAIN, raw + 1);
    return raw;
}

/* A ref being changed: "name" or "name@hash" (no other modifiers). */
static bool ref_for_write(ncall *nc, const char *raw, const char **name, const char **expected) {
    raw = ref_default(nc, raw);
    const char *at = strchr(raw, '@');
    *expected = NULL;
    *name = at ? arena_strndup(nc->a, raw, (size_t)(at - raw)) : raw;
    if (at) *expected = at + 1;
    if (!**name || strpbrk(*name, "~*^") || (at && (!**expected || strpbrk(*expected, "@~*^")))) {
        fail(nc, 400, "BAD_REQUEST", "'%s' is not a reference to change: expected 'name' or 'name@expectedHash'", raw);
        return false;
    }
    return true;
}

/* A ref being read: any refspec; *eff gets the effective Reference (the
 * named ref at the commit, or DETACHED), *spec what the catalog resolves. */
static bool ref_for_read(ncall *nc, const char *raw, const char **spec, json_t **eff) {
    *spec = ref_default(nc, raw);
    cat_resolved r;
    floe_err err;
    if (!cat_resolve(nc->cat, *spec, nc->a, &r, &err)) {
        fail_err(nc, &err, "REFERENCE_NOT_FOUND");
        return false;
    }
    if (!r.ref) {
        *spec = arena_sprintf(nc->a, "@%s", r.hash);
        *eff = json_pack("{s:s,s:s,s:s}", "type", "DETACHED", "name", "DETACHED", "hash", r.hash);
        return true;
    }
    cat_ref ref;
    if (!cat_ref_get(nc->cat, r.ref, nc->a, &ref, &err)) {
        fail_err(nc, &err, "REFERENCE_NOT_FOUND");
        return false;
    }
    *eff = ref_json(ref.name, ref.is_tag, r.hash);
    return true;
}

static bool ref_type_param(ncall *nc, bool *is_tag, bool *given) {
    const char *t = http_req_param(nc->req, "type");
    *given = t && *t;
    *is_tag = false;
    if (!*given) return true;
    if (str_eq_nocase(t, "BRANCH")) return true;
    if (str_eq_nocase(t, "TAG")) return *is_tag = true;
    fail(nc, 400, "BAD_REQUEST", "type '%s' must be BRANCH or TAG", t);
    return false;
}

/* ------------------------------------------------------------- bodies */

static json_t *parse_body(ncall *nc, const char *expected) {
    floe_err err;
    json_t *j = json_parse(nc->body, nc->len, "request body", &err);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        fail(nc, 400, "BAD_REQUEST", "the request body must be a JSON object (%s)%s%s", expected, j ? "" : ": ",
             j ? "" : err.msg);
        return NULL;
    }
    return j;
}

static const char *opt_str(ncall *nc, json_t *o, const char *field, const char *what, bool *ok) {
    json_t *v = json_object_get(o, field);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        *ok = false;
        fail(nc, 400, "BAD_REQUEST", "%s.%s must be a string", what, field);
        return NULL;
    }
    return arena_strdup(nc->a, json_string_value(v));
}

/* ------------------------------------------------------------- paging */

static bool max_records(ncall *nc, size_t *out) {
    const char *s = http_req_param(nc->req, "max-records");
    int64_t v = DEFAULT_PAGE;
    if (s && *s && !str_to_i64_range(s, 1, MAX_PAGE, &v)) {
        fail(nc, 400, "BAD_REQUEST", "max-records '%s' must be an integer 1-%d", s, MAX_PAGE);
        return false;
    }
    *out = (size_t)v;
    return true;
}

static const char *token_encode(ncall *nc, const char *s) {
    char *hex = arena_alloc(nc->a, 2 * strlen(s) + 1);
    str_hex((const unsigned char *)s, strlen(s), hex);
    return hex;
}

/* page-token of a listing by name: the last name of the previous page. */
static bool token_decode(ncall *nc, const char **out) {
    const char *tok = http_req_param(nc->req, "page-token");
    *out = NULL;
    if (!tok || !*tok) return true;
    size_t tl = strlen(tok);
    char *s = arena_alloc(nc->a, tl / 2 + 1);
    if (tl % 2 || !str_unhex(tok, tl, (unsigned char *)s)) {
        fail(nc, 400, "BAD_REQUEST", "page-token '%s' is not one this server gave out", tok);
        return false;
    }
    s[tl / 2] = 0;
    *out = s;
    return true;
}

static void paged(json_t *o, const char *next) {
    json_object_set_new(o, "hasMore", json_boolean(next != NULL));
    json_object_set_new(o, "token", next ? json_string(next) : json_null());
}

static bool no_filter(ncall *nc) {
    const char *f = http_req_param(nc->req, "filter");
    if (!f || !*f) return true;
    fail(nc, 400, "BAD_REQUEST",
         "filter (a CEL expression) is not supported by Floe; list without it and filter "
         "on the client");
    return false;
}

/* Order of display keys as the catalog sorts them (levels joined by 0x1F). */
static int key_cmp(const char *x, const char *y) {
    for (;; x++, y++) {
        unsigned char a = (unsigned char)(*x == '.' ? 0x1f : *x), b = (unsigned char)(*y == '.' ? 0x1f : *y);
        if (a != b || !a) return (int)a - (int)b;
    }
}

/* ------------------------------------------------------------- config */

static void config_get(ncall *nc) {
    reply(nc, 200,
          json_pack("{s:s,s:i,s:i,s:i,s:s,s:s,s:{}}", "defaultBranch", CAT_MAIN, "minSupportedApiVersion", 1,
                    "maxSupportedApiVersion", 2, "actualApiVersion", 2, "specVersion", "2.1.0", "noAncestorHash",
                    CAT_NO_ANCESTOR, "additionalProperties"));
}

/* -------------------------------------------------------------- trees */

static int ref_cmp(const void *x, const void *y) {
    return strcmp(((const cat_ref *)x)->name, ((const cat_ref *)y)->name);
}

static void trees_list(ncall *nc) {
    cat_ref *refs;
    size_t n, max;
    const char *after;
    floe_err err;
    if (!no_filter(nc) || !max_records(nc, &max) || !token_decode(nc, &after)) return;
    if (!cat_ref_list(nc->cat, nc->a, &refs, &n, &err)) return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    qsort(refs, n, sizeof *refs, ref_cmp);
    json_t *arr = json_array();
    const char *next = NULL;
    for (size_t i = 0; i < n; i++) {
        if (after && strcmp(refs[i].name, after) <= 0) continue;
        if (json_array_size(arr) == max) {
            next = token_encode(nc, refs[i - 1].name);
            break;
        }
        json_array_append_new(arr, ref_json(refs[i].name, refs[i].is_tag, refs[i].hash));
    }
    json_t *o = json_pack("{s:o}", "references", arr);
    paged(o, next);
    reply(nc, 200, o);
}

/* A Reference body ({type, name, hash}) → the refspec of its commit:
 * "name@hash", or "@hash" for a DETACHED one or one without a name. */
static const char *ref_body_spec(ncall *nc, json_t *j, const char *what) {
    bool ok = true;
    const char *type = opt_str(nc, j, "type", "reference", &ok);
    const char *name = ok ? opt_str(nc, j, "name", "reference", &ok) : NULL;
    const char *hash = ok ? opt_str(nc, j, "hash", "reference", &ok) : NULL;
    if (!ok) return NULL;
    if (!hash) {
        fail(nc, 400, "BAD_REQUEST", "the %s Reference needs a hash: {\"type\", \"name\", \"hash\"}", what);
        return NULL;
    }
    if (!name || !*name || str_eq(type, "DETACHED")) return arena_sprintf(nc->a, "@%s", hash);
    return arena_sprintf(nc->a, "%s@%s", ref_default(nc, name), hash);
}

/* POST /trees?name=N&type=T, body: the Reference to start from. */
static void tree_create(ncall *nc) {
    const char *name = http_req_param(nc->req, "name");
    bool is_tag, given;
    if (!ref_type_param(nc, &is_tag, &given)) return;
    if (!name || !*name || !given)
        return fail(nc, 400, "BAD_REQUEST", "creating a reference needs ?name=NAME&type=BRANCH|TAG");
    const char *from = CAT_NO_ANCESTOR;
    if (nc->len && strspn(nc->body, " \t\r\n") < nc->len) {
        json_t *j = parse_body(nc, "the source Reference: {\"type\", \"name\", \"hash\"}");
        if (!j) return;
        from = ref_body_spec(nc, j, "source");
        json_decref(j);
        if (!from) return;
    }
    cat_ref r;
    floe_err err;
    if (!cat_ref_create(nc->cat, name, is_tag, from, nc->a, &r, &err)) return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    reply(nc, 200, json_pack("{s:o}", "reference", ref_json(r.name, r.is_tag, r.hash)));
}

static void tree_get(ncall *nc, const char *raw) {
    const char *spec;
    json_t *eff;
    if (!ref_for_read(nc, raw, &spec, &eff)) return;
    reply(nc, 200, json_pack("{s:o}", "reference", eff));
}

/* The ref must exist with the type asked for. */
static bool ref_existing(ncall *nc, const char *name, cat_ref *r) {
    bool is_tag, given;
    floe_err err;
    if (!ref_type_param(nc, &is_tag, &given)) return false;
    if (!cat_ref_get(nc->cat, name, nc->a, r, &err)) {
        fail_err(nc, &err, "REFERENCE_NOT_FOUND");
        return false;
    }
    if (given && is_tag != r->is_tag) {
        fail(nc, 404, "REFERENCE_NOT_FOUND", "'%s' is a %s, not a %s", name, r->is_tag ? "tag" : "branch",
             is_tag ? "tag" : "branch");
        return false;
    }
    return true;
}

/* PUT /trees/name@expected, body: the Reference to point it at. */
static void tree_assign(ncall *nc, const char *raw) {
    const char *name, *expected;
    cat_ref r;
    if (!ref_for_write(nc, raw, &name, &expected) || !ref_existing(nc, name, &r)) return;
    if (!expected)
        return fail(nc, 400, "BAD_REQUEST", "assigning '%s' needs its expected hash: PUT trees/%s@HASH", name, name);
    json_t *j = parse_body(nc, "the target Reference: {\"type\", \"name\", \"hash\"}");
    if (!j) return;
    const char *to = ref_body_spec(nc, j, "target");
    json_decref(j);
    if (!to) return;
    floe_err err;
    if (!cat_ref_assign(nc->cat, name, to, expected, nc->a, &r, &err)) return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    reply(nc, 200, json_pack("{s:o}", "reference", ref_json(r.name, r.is_tag, r.hash)));
}

static void tree_delete(ncall *nc, const char *raw) {
    const char *name, *expected;
    cat_ref r;
    if (!ref_for_write(nc, raw, &name, &expected) || !ref_existing(nc, name, &r)) return;
    if (!expected)
        return fail(nc, 400, "BAD_REQUEST", "deleting '%s' needs its expected hash: DELETE trees/%s@HASH", name, name);
    floe_err err;
    if (!cat_ref_delete(nc->cat, name, expected, &err)) return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    reply(nc, 200, json_pack("{s:o}", "reference", ref_json(r.name, r.is_tag, r.hash)));
}

/* ------------------------------------------------------------ contents */

static json_t *content_json(const cat_entry *e) {
    json_t *j = e->json ? json_loads(e->json, 0, NULL) : NULL;
    return j ? j : json_pack("{s:s,s:s}", "type", e->kind, "id", e->content_id);
}

/* Every `key` parameter, in path form. NULL on a bad one (answered). */
static const char **key_params(ncall *nc, size_t *n) {
    const char **keys = arena_alloc(nc->a, (nc->req->nparams + 1) * sizeof *keys);
    *n = 0;
    for (size_t i = 0; i < nc->req->nparams; i++) {
        if (strcmp(nc->req->params[i].name, "key")) continue;
        if (!(keys[(*n)++] = key_from_path(nc, nc->req->params[i].value))) return NULL;
    }
    return keys;
}

static bool key_wanted(const char **keys, size_t nkeys, const char *key) {
    if (!nkeys) return true;
    for (size_t i = 0; i < nkeys; i++)
        if (!strcmp(keys[i], key)) return true;
    return false;
}

static bool bool_param(ncall *nc, const char *name) {
    const char *v = http_req_param(nc->req, name);
    return v && (!*v || str_eq_nocase(v, "true"));
}

static void entries(ncall *nc, const char *raw) {
    const char *spec, *after, *prefix = http_req_param(nc->req, "prefix-key");
    json_t *eff;
    size_t max, nkeys, n;
    const char **keys;
    if (!no_filter(nc) || !max_records(nc, &max) || !token_decode(nc, &after) || !(keys = key_params(nc, &nkeys)))
        return;
    if (prefix && *prefix && !(prefix = key_from_path(nc, prefix))) return;
    if (!ref_for_read(nc, raw, &spec, &eff)) return;
    bool with_content = bool_param(nc, "content");
    cat_entry *es;
    floe_err err;
    if (!cat_contents(nc->cat, spec, nc->a, &es, &n, &err)) {
        json_decref(eff);
        return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    }
    json_t *arr = json_array();
    const char *next = NULL, *last = NULL;
    size_t plen = prefix && *prefix ? strlen(prefix) : 0;
    for (size_t i = 0; i < n; i++) {
        if (after && key_cmp(es[i].key, after) <= 0) continue;
        if (!key_wanted(keys, nkeys, es[i].key)) continue;
        if (plen && (strncmp(es[i].key, prefix, plen) || (es[i].key[plen] && es[i].key[plen] != '.'))) continue;
        if (json_array_size(arr) == max) {
            next = token_encode(nc, last);
            break;
        }
        json_t *e =
            json_pack("{s:s,s:o,s:s}", "type", es[i].kind, "name", key_json(es[i].key), "contentId", es[i].content_id);
        if (with_content) json_object_set_new(e, "content", content_json(&es[i]));
        json_array_append_new(arr, e);
        last = es[i].key;
    }
    json_t *o = json_pack("{s:o,s:o}", "entries", arr, "effectiveReference", eff);
    paged(o, next);
    reply(nc, 200, o);
}

/* The contents of keys at spec, in the order asked; missing keys left out. */
static json_t *contents_of(ncall *nc, const char *spec, const char **keys, size_t nkeys, floe_err *err) {
    json_t *arr = json_array();
    for (size_t k = 0; k < nkeys; k++) {
        cat_entry e;
        bool found;
        if (!cat_nessie_content(nc->cat, spec, keys[k], nc->a, &e, &found, err)) {
            json_decref(arr);
            return NULL;
        }
        if (found)
            json_array_append_new(arr, json_pack("{s:o,s:o}", "key", key_json(keys[k]), "content", content_json(&e)));
    }
    return arr;
}

static void content_get(ncall *nc, const char *raw, const char *rawkey) {
    const char *spec, *key = key_from_path(nc, rawkey);
    json_t *eff;
    if (!key || !ref_for_read(nc, raw, &spec, &eff)) return;
    floe_err err;
    json_t *arr = contents_of(nc, spec, &key, 1, &err);
    if (!arr) {
        json_decref(eff);
        return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    }
    if (!json_array_size(arr)) {
        json_decref(arr);
        json_decref(eff);
        return fail(nc, 404, "CONTENT_NOT_FOUND", "no content for key '%s' on '%s'", key, spec);
    }
    json_t *c = json_incref(json_object_get(json_array_get(arr, 0), "content"));
    json_decref(arr);
    reply(nc, 200, json_pack("{s:o,s:o}", "content", c, "effectiveReference", eff));
}

/* GET ...?key=a.t&key=b.u, or POST {"requestedKeys": [ContentKey...]} */
static void contents_many(ncall *nc, const char *raw) {
    const char **keys;
    size_t nkeys = 0;
    if (http_req_is(nc->req, "GET")) {
        if (!(keys = key_params(nc, &nkeys))) return;
    } else {
        json_t *j = parse_body(nc, "GetMultipleContentsRequest: {\"requestedKeys\": [{\"elements\": [...]}]}");
        if (!j) return;
        json_t *rk = json_object_get(j, "requestedKeys");
        if (!json_is_array(rk)) {
            json_decref(j);
            return fail(nc, 400, "BAD_REQUEST", "requestedKeys must be an array of ContentKey");
        }
        keys = arena_alloc(nc->a, (json_array_size(rk) + 1) * sizeof *keys);
        size_t i;
        json_t *v;
        json_array_foreach(rk, i, v) {
            if (!(keys[nkeys++] = key_from_json(nc, v, "requestedKeys[]"))) {
                json_decref(j);
                return;
            }
        }
        json_decref(j);
    }
    const char *spec;
    json_t *eff;
    if (!ref_for_read(nc, raw, &spec, &eff)) return;
    floe_err err;
    json_t *arr = contents_of(nc, spec, keys, nkeys, &err);
    if (!arr) {
        json_decref(eff);
        return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    }
    reply(nc, 200, json_pack("{s:o,s:o}", "contents", arr, "effectiveReference", eff));
}

/* ---------------------------------------------------------- log, diff */

static json_t *commit_meta(const cat_commit *cm) {
    char t[32];
    time_iso8601_ms(cm->time_ms, t);
    const char *author = cm->author ? cm->author : "";
    json_t *parents = json_array();
    if (cm->parent) json_array_append_new(parents, json_string(cm->parent));
    if (cm->parent2) json_array_append_new(parents, json_string(cm->parent2));
    return json_pack("{s:s,s:s,s:s,s:[s],s:[],s:s,s:s,s:s,s:{},s:{},s:o}", "hash", cm->hash, "committer", author,
                     "author", author, "authors", author, "allSignedOffBy", "message", cm->message ? cm->message : "",
                     "commitTime", t, "authorTime", t, "properties", "allProperties", "parentCommitHashes", parents);
}

static void history(ncall *nc, const char *raw) {
    const char *spec, *tok = http_req_param(nc->req, "page-token"), *next;
    json_t *eff;
    size_t max, n;
    if (!no_filter(nc) || !max_records(nc, &max) || !ref_for_read(nc, raw, &spec, &eff)) return;
    json_decref(eff);
    cat_commit *cs;
    floe_err err;
    if (!cat_log_page(nc->cat, spec, tok && *tok ? tok : NULL, max, nc->a, &cs, &n, &next, &err))
        return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:o,s:s}", "commitMeta", commit_meta(&cs[i]), "parentCommitHash",
                                             cs[i].parent ? cs[i].parent : CAT_NO_ANCESTOR));
    json_t *o = json_pack("{s:o}", "logEntries", arr);
    paged(o, next);
    reply(nc, 200, o);
}

static void diff(ncall *nc, const char *rawfrom, const char *rawto) {
    const char *from, *to, *after;
    json_t *effl, *effr;
    size_t max, nkeys, n;
    const char **keys;
    if (!no_filter(nc) || !max_records(nc, &max) || !token_decode(nc, &after) || !(keys = key_params(nc, &nkeys)))
        return;
    if (!ref_for_read(nc, rawfrom, &from, &effl)) return;
    if (!ref_for_read(nc, rawto, &to, &effr)) return json_decref(effl);
    cat_diff_entry *d;
    floe_err err;
    if (!cat_diff(nc->cat, from, to, nc->a, &d, &n, &err)) {
        json_decref(effl);
        json_decref(effr);
        return fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    }
    json_t *arr = json_array();
    const char *next = NULL, *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if ((after && key_cmp(d[i].key, after) <= 0) || !key_wanted(keys, nkeys, d[i].key)) continue;
        if (json_array_size(arr) == max) {
            next = token_encode(nc, last);
            break;
        }
        json_t *e = json_pack("{s:o}", "key", key_json(d[i].key));
        json_object_set_new(e, "from", d[i].from ? content_json(d[i].from) : json_null());
        json_object_set_new(e, "to", d[i].to ? content_json(d[i].to) : json_null());
        json_array_append_new(arr, e);
        last = d[i].key;
    }
    json_t *o = json_pack("{s:o,s:o,s:o}", "diffs", arr, "effectiveFromReference", effl, "effectiveToReference", effr);
    paged(o, next);
    reply(nc, 200, o);
}

/* ------------------------------------------------------------- commit */

static bool int_field(ncall *nc, json_t *c, const char *f, json_t *out, const char *key) {
    json_t *v = json_object_get(c, f);
    if (v && !json_is_null(v) && !json_is_integer(v)) {
        fail(nc, 400, "BAD_REQUEST", "the IcebergTable of '%s': %s must be an integer", key, f);
        return false;
    }
    json_object_set_new(
        out, f, json_integer(v && json_is_integer(v) ? json_integer_value(v) : (!strcmp(f, "snapshotId") ? -1 : 0)));
    return true;
}

/* A Put's content → the stored object (without "id"), kind and location. */
static bool put_content(ncall *nc, json_t *c, const char *key, cat_nessie_op *op) {
    const char *type = json_is_object(c) ? json_string_value(json_object_get(c, "type")) : NULL;
    if (!type) {
        fail(nc, 400, "BAD_REQUEST", "the Put of '%s' needs content: {\"type\": \"ICEBERG_TABLE\"|\"NAMESPACE\", ...}",
             key);
        return false;
    }
    json_t *id = json_object_get(c, "id");
    if (id && !json_is_null(id) && !json_is_string(id)) {
        fail(nc, 400, "BAD_REQUEST", "the content id of '%s' must be a string", key);
        return false;
    }
    op->content_id = id && json_is_string(id) ? arena_strdup(nc->a, json_string_value(id)) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    op->content = o; /* freed by the caller */
    if (!strcmp(type, "ICEBERG_TABLE")) {
        const char *loc = json_string_value(json_object_get(c, "metadataLocation"));
        if (!loc || !*loc) {
            fail(nc, 400, "BAD_REQUEST", "the IcebergTable of '%s' needs metadataLocation (a string)", key);
            return false;
        }
        op->kind = "ICEBERG_TABLE";
        op->location = arena_strdup(nc->a, loc);
        json_object_set_new(o, "metadataLocation", json_string(loc));
        return int_field(nc, c, "snapshotId", o, key) && int_field(nc, c, "schemaId", o, key) &&
               int_field(nc, c, "specId", o, key) && int_field(nc, c, "sortOrderId", o, key);
    }
    if (!strcmp(type, "NAMESPACE")) {
        json_t *props = json_object_get(c, "properties");
        if (props && !json_is_null(props) && !json_is_object(props)) {
            fail(nc, 400, "BAD_REQUEST", "the Namespace '%s': properties must be an object of strings", key);
            return false;
        }
        op->kind = "NAMESPACE";
        json_t *k = key_json(key);
        json_object_set(o, "elements", json_object_get(k, "elements"));
        json_decref(k);
        json_object_set_new(o, "properties", props && json_is_object(props) ? json_deep_copy(props) : json_object());
        return true;
    }
    fail(nc, 400, "BAD_REQUEST", "content type '%s' of '%s' is not kept by Floe: use ICEBERG_TABLE or NAMESPACE", type,
         key);
    return false;
}

static json_t *conflict_json(const cat_conflict *cf) {
    return json_pack("{s:s,s:o,s:s}", "conflictType", cf->type, "key", key_json(cf->key), "message",
                     cf->message ? cf->message : "");
}

static void fail_conflicts(ncall *nc, const char *msg, const cat_conflict *cf, size_t n) {
    json_t *e = error_json(409, "REFERENCE_CONFLICT", msg);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, conflict_json(&cf[i]));
    json_object_set_new(e, "errorDetails", json_pack("{s:s,s:o}", "type", "REFERENCE_CONFLICTS", "conflicts", arr));
    reply(nc, 409, e);
}

static const char *commit_message(ncall *nc, json_t *body, bool *ok) {
    json_t *cm = json_object_get(body, "commitMeta");
    if (cm && !json_is_null(cm) && !json_is_object(cm)) {
        *ok = false;
        fail(nc, 400, "BAD_REQUEST", "commitMeta must be an object with a message");
        return NULL;
    }
    const char *m = cm ? opt_str(nc, cm, "message", "commitMeta", ok) : NULL;
    if (!m) m = opt_str(nc, body, "message", "body", ok);
    return m;
}

static bool parse_ops(ncall *nc, json_t *arr, cat_nessie_op **out, size_t *n) {
    if (!json_is_array(arr)) {
        fail(nc, 400, "BAD_REQUEST",
             "operations must be an array of {\"type\": \"PUT\"|\"DELETE\"|\"UNCHANGED\", "
             "\"key\": {\"elements\": [...]}, \"content\": {...}}");
        return false;
    }
    cat_nessie_op *ops = arena_zalloc(nc->a, (json_array_size(arr) + 1) * sizeof *ops);
    *out = ops;
    *n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *key = key_from_json(nc, json_object_get(v, "key"), "operations[].key");
        if (!key) return false;
        if (type && str_eq_nocase(type, "UNCHANGED")) continue;
        cat_nessie_op *op = &ops[(*n)++];
        op->key = key;
        if (type && str_eq_nocase(type, "DELETE")) continue;
        if (!type || !str_eq_nocase(type, "PUT")) {
            fail(nc, 400, "BAD_REQUEST", "operation %zu: type must be PUT, DELETE or UNCHANGED", i);
            return false;
        }
        if (!put_content(nc, json_object_get(v, "content"), key, op)) return false;
    }
    return true;
}

static void commit(ncall *nc, const char *raw) {
    const char *name, *expected;
    if (!ref_for_write(nc, raw, &name, &expected)) return;
    json_t *j = parse_body(nc, "Operations: {\"commitMeta\": {\"message\"}, \"operations\": [...]}");
    if (!j) return;
    bool ok = true;
    const char *msg = commit_message(nc, j, &ok);
    cat_nessie_op *ops = NULL;
    size_t n = 0;
    ok = ok && parse_ops(nc, json_object_get(j, "operations"), &ops, &n);
    cat_nessie_commit_result res;
    floe_err err;
    if (ok && !cat_nessie_commit(nc->cat, name, expected, ops, n, msg, nc->a, &res, &err)) {
        ok = false;
        if (res.nconflicts)
            fail_conflicts(nc, err.msg, res.conflicts, res.nconflicts);
        else
            fail_err(nc, &err, "REFERENCE_NOT_FOUND");
    }
    if (ok) {
        json_t *added = json_array();
        for (size_t i = 0; i < n; i++)
            if (ops[i].content && !ops[i].content_id)
                json_array_append_new(
                    added, json_pack("{s:o,s:s}", "key", key_json(ops[i].key), "contentId", res.content_ids[i]));
        reply(nc, 200, json_pack("{s:o,s:o}", "targetBranch", ref_json(name, false, res.hash), "addedContents", added));
    }
    for (size_t i = 0; ops && i <= n; i++) json_decref(ops[i].content);
    json_decref(j);
}

/* ------------------------------------------------- merge, transplant */

static bool behavior(ncall *nc, json_t *v, const char *what, cat_merge_behavior *out) {
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "NORMAL"))
        *out = CAT_MERGE_NORMAL;
    else if (s && !strcmp(s, "FORCE"))
        *out = CAT_MERGE_FORCE;
    else if (s && !strcmp(s, "DROP"))
        *out = CAT_MERGE_DROP;
    else {
        fail(nc, 400, "BAD_REQUEST", "%s must be NORMAL, FORCE or DROP", what);
        return false;
    }
    return true;
}

static bool merge_modes(ncall *nc, json_t *j, cat_merge_opts *o) {
    json_t *d = json_object_get(j, "defaultKeyMergeMode");
    o->default_behavior = CAT_MERGE_NORMAL;
    if (d && !json_is_null(d) && !behavior(nc, d, "defaultKeyMergeMode", &o->default_behavior)) return false;
    json_t *km = json_object_get(j, "keyMergeModes");
    if (!km || json_is_null(km)) return true;
    if (!json_is_array(km)) {
        fail(nc, 400, "BAD_REQUEST", "keyMergeModes must be an array of {\"key\": ContentKey, \"mergeBehavior\"}");
        return false;
    }
    cat_merge_key *keys = arena_zalloc(nc->a, (json_array_size(km) + 1) * sizeof *keys);
    size_t i;
    json_t *v;
    json_array_foreach(km, i, v) {
        keys[i].key = key_from_json(nc, json_object_get(v, "key"), "keyMergeModes[].key");
        if (!keys[i].key ||
            !behavior(nc, json_object_get(v, "mergeBehavior"), "keyMergeModes[].mergeBehavior", &keys[i].behavior))
            return false;
    }
    o->keys = keys;
    o->nkeys = json_array_size(km);
    return true;
}

static json_t *merge_response(const cat_merge_result *r, const char *target, const char *expected, bool ok) {
    json_t *details = json_array();
    for (size_t i = 0; i < r->ndetails; i++) {
        const cat_merge_detail *d = &r->details[i];
        json_t *e =
            json_pack("{s:o,s:s}", "key", key_json(d->key), "mergeBehavior", cat_merge_behavior_name(d->behavior));
        for (size_t k = 0; d->conflict && k < r->nconflicts; k++)
            if (!strcmp(r->conflicts[k].key, d->key)) {
                json_object_set_new(e, "conflict", conflict_json(&r->conflicts[k]));
                break;
            }
        json_array_append_new(details, e);
    }
    json_t *o = json_pack("{s:b,s:b,s:s,s:s,s:s,s:o}", "wasApplied", r->applied, "wasSuccessful", ok,
                          "resultantTargetHash", r->result_hash ? r->result_hash : r->target_hash, "targetBranch",
                          target, "effectiveTargetHash", r->target_hash, "details", details);
    if (r->base_hash) json_object_set_new(o, "commonAncestor", json_string(r->base_hash));
    if (expected) json_object_set_new(o, "expectedHash", json_string(expected));
    return o;
}

static bool opt_bool(ncall *nc, json_t *j, const char *f, bool *out) {
    json_t *v = json_object_get(j, f);
    *out = false;
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) {
        fail(nc, 400, "BAD_REQUEST", "%s must be true or false", f);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* The answer to a merge or transplant from the catalog's result. */
static void merge_answer(ncall *nc, bool done, const floe_err *err, const cat_merge_result *r, const char *name,
                         const char *expected, bool dry, bool as_result) {
    if (!done && !r->nconflicts) return fail_err(nc, err, "REFERENCE_NOT_FOUND");
    if (r->nconflicts && !dry && !as_result) return fail_conflicts(nc, err->msg, r->conflicts, r->nconflicts);
    reply(nc, 200, merge_response(r, name, expected, !r->nconflicts));
}

static void merge(ncall *nc, const char *raw) {
    const char *name, *expected;
    if (!ref_for_write(nc, raw, &name, &expected)) return;
    json_t *j = parse_body(nc, "Merge: {\"fromRefName\", \"fromHash\", ...}");
    if (!j) return;
    bool ok = true, as_result = false;
    cat_merge_opts o = {.into = name, .expected_hash = expected};
    const char *from = opt_str(nc, j, "fromRefName", "Merge", &ok);
    const char *hash = ok ? opt_str(nc, j, "fromHash", "Merge", &ok) : NULL;
    if (ok && !from) {
        ok = false;
        fail(nc, 400, "BAD_REQUEST", "Merge needs fromRefName (and fromHash, the commit on it to merge)");
    }
    if (ok) o.message = commit_message(nc, j, &ok);
    ok = ok && opt_bool(nc, j, "dryRun", &o.dry_run) && opt_bool(nc, j, "returnConflictAsResult", &as_result) &&
         merge_modes(nc, j, &o);
    json_decref(j);
    if (!ok) return;
    from = ref_default(nc, from);
    o.from = hash ? arena_sprintf(nc->a, "%s@%s", from, hash) : from;
    cat_merge_result r;
    floe_err err;
    bool done = cat_merge(nc->cat, &o, nc->a, &r, &err);
    merge_answer(nc, done, &err, &r, name, expected, o.dry_run, as_result);
}

static void transplant(ncall *nc, const char *raw) {
    const char *name, *expected;
    if (!ref_for_write(nc, raw, &name, &expected)) return;
    json_t *j = parse_body(nc, "Transplant: {\"fromRefName\", \"hashesToTransplant\": [...]}");
    if (!j) return;
    bool ok = true, as_result = false;
    cat_transplant_opts o = {.into = name, .expected_hash = expected};
    json_t *hs = json_object_get(j, "hashesToTransplant");
    if (!json_is_array(hs) || !json_array_size(hs)) {
        ok = false;
        fail(nc, 400, "BAD_REQUEST", "hashesToTransplant must be a non-empty array of commit hashes");
    }
    const char **hashes = ok ? arena_zalloc(nc->a, (json_array_size(hs) + 1) * sizeof *hashes) : NULL;
    size_t i;
    json_t *v;
    if (ok) json_array_foreach(hs, i, v) {
            const char *h = json_string_value(v);
            if (!h || !*h) {
                ok = false;
                fail(nc, 400, "BAD_REQUEST", "hashesToTransplant[%zu] must be a commit hash", i);
                break;
            }
            hashes[i] = arena_sprintf(nc->a, "@%s", h);
        }
    ok = ok && opt_bool(nc, j, "dryRun", &o.dry_run) && opt_bool(nc, j, "returnConflictAsResult", &as_result);
    o.hashes = hashes;
    o.nhashes = ok ? json_array_size(hs) : 0;
    json_decref(j);
    if (!ok) return;
    cat_merge_result r;
    floe_err err;
    bool done = cat_transplant(nc->cat, &o, nc->a, &r, &err);
    merge_answer(nc, done, &err, &r, name, expected, o.dry_run, as_result);
}

/* ---------------------------------------------------------------- routing */

static bool is(ncall *nc, const char *m) { return http_req_is(nc->req, m); }

static void method_not_allowed(ncall *nc) {
    fail(nc, 405, "UNKNOWN", "%s is not allowed on %s", nc->req->method, nc->req->path);
}

/* seg[] after /api/v2/trees/{ref} */
static void route_tree(ncall *nc, const char *ref, char **s, int n) {
    if (n == 0) {
        if (is(nc, "GET")) return tree_get(nc, ref);
        if (is(nc, "PUT")) return tree_assign(nc, ref);
        return is(nc, "DELETE") ? tree_delete(nc, ref) : method_not_allowed(nc);
    }
    if (n == 1 && !strcmp(s[0], "entries")) return is(nc, "GET") ? entries(nc, ref) : method_not_allowed(nc);
    if (n == 1 && !strcmp(s[0], "contents"))
        return is(nc, "GET") || is(nc, "POST") ? contents_many(nc, ref) : method_not_allowed(nc);
    if (n == 2 && !strcmp(s[0], "contents")) return is(nc, "GET") ? content_get(nc, ref, s[1]) : method_not_allowed(nc);
    if (n == 1 && !strcmp(s[0], "history")) return is(nc, "GET") ? history(nc, ref) : method_not_allowed(nc);
    if (n == 2 && !strcmp(s[0], "diff")) return is(nc, "GET") ? diff(nc, ref, s[1]) : method_not_allowed(nc);
    if (n == 2 && !strcmp(s[0], "history")) {
        if (!is(nc, "POST")) return method_not_allowed(nc);
        if (!strcmp(s[1], "commit")) return commit(nc, ref);
        if (!strcmp(s[1], "merge")) return merge(nc, ref);
        if (!strcmp(s[1], "transplant")) return transplant(nc, ref);
    }
    fail(nc, 404, "UNKNOWN", "no Nessie v2 route %s %s", nc->req->method, nc->req->path);
}

static void route(ncall *nc) {
    char **s = nc->seg;
    int n = nc->nseg;
    if (n == 1 && !strcmp(s[0], "config")) return is(nc, "GET") ? config_get(nc) : method_not_allowed(nc);
    if (n == 1 && !strcmp(s[0], "trees"))
        return is(nc, "GET") ? trees_list(nc) : is(nc, "POST") ? tree_create(nc) : method_not_allowed(nc);
    if (n >= 2 && !strcmp(s[0], "trees")) return route_tree(nc, s[1], s + 2, n - 2);
    fail(nc, 404, "UNKNOWN", "no Nessie v2 route %s %s (the API is under /api/v2/config and /api/v2/trees)",
         nc->req->method, nc->req->path);
}

/* Splits the raw path after /api/v2/ into decoded segments. */
static bool split_path(ncall *nc) {
    const char *p = nc->req->raw_path + strlen("/api/v2");
    const char *end = nc->req->raw_path + nc->req->raw_path_len;
    if (p < end && *p == '/') p++;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        if (nc->nseg == MAX_SEGS) return false;
        buf_t b = BUF_INIT;
        bool ok = str_uri_decode(p, (size_t)(e - p), false, &b);
        buf_putc(&b, 0);
        if (ok && strlen(b.data) != b.len - 1) ok = false; /* a %00 */
        nc->seg[nc->nseg++] = ok ? arena_strdup(nc->a, b.data) : NULL;
        buf_free(&b);
        if (!ok) return false;
        if (!slash) break;
        p = slash + 1;
    }
    if (nc->nseg && !*nc->seg[nc->nseg - 1]) nc->nseg--;
    return true;
}

void cat_nessie_handle(http_req_t *req, cat_http_ctx *ctx, const char *body, size_t len) {
    ncall nc = {.req = req, .cat = ctx->cat, .a = &req->arena, .body = body, .len = len};
    if (!split_path(&nc))
        fail(&nc, 400, "BAD_REQUEST", "the path %s has a bad escape, a NUL or too many segments", req->raw_path);
    else
        route(&nc);
    if (!nc.status) fail(&nc, 500, "UNKNOWN", "no answer for %s %s", req->method, req->path);
    cat_json_respond(req, nc.status, nc.out);
}
