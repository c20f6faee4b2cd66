/*
 * schema_json.c: the JSON forms of schemas, partition specs and sort orders
 * (the spec's Appendix C), both ways.
 *
 *   schema      {"type":"struct","schema-id":0,"identifier-field-ids":[1],
 *                "fields":[{"id":1,"name":"x","required":true,"type":"long",
 *                "doc":"..."}]}; nested types are {"type":"list",
 *                "element-id":..,"element":..,"element-required":..} and
 *                {"type":"map","key-id":..,"key":..,"value-id":..,"value":..,
 *                "value-required":..}; primitives are strings, with
 *                "decimal(P,S)" and "fixed[L]" carrying their parameters.
 *   spec        {"spec-id":0,"fields":[{"name":..,"transform":..,
 *                "source-id":..,"field-id":..}]}, or the bare field array
 *                (v1's "partition-spec", a manifest's metadata).
 *   sort order  {"order-id":1,"fields":[{"transform":..,"source-id":..,
 *                "direction":"asc","null-order":"nulls-first"}]}
 *
 * Keys are written in the order the Java reference writes them. Errors
 * name the path inside the JSON ("fields[2].type.element: ...") and the
 * form expected there; callers add the file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "iceberg/iceberg.h"

/* Deepest nesting of struct/list/map types read from JSON. */
#define SCHEMA_MAX_DEPTH 64

typedef struct sj_ctx {
    arena_t *a;
    floe_err *err;
    buf_t path; /* "fields[2].type.element" */
} sj_ctx;

static bool sj_fail(sj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool sj_fail(sj_ctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->path.len)
        floe_err_set(c->err, FLOE_EINVAL, "%s: %s", c->path.data, msg);
    else
        floe_err_set(c->err, FLOE_EINVAL, "%s", msg);
    return false;
}

static size_t path_push(sj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(sj_ctx *c, const char *fmt, ...) {
    size_t old = c->path.len;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&c->path, fmt, ap);
    va_end(ap);
    return old;
}

static void path_pop(sj_ctx *c, size_t old) {
    c->path.len = old;
    if (c->path.data) c->path.data[old] = '\0';
}

static const char *json_kind(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* A required int32 member. */
static bool get_i32(sj_ctx *c, json_t *obj, const char *key, int32_t *out) {
    json_t *v = json_object_get(obj, key);
    if (!v) return sj_fail(c, "\"%s\" is missing; expected an integer", key);
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
        return sj_fail(c, "\"%s\" is %s; expected a 32-bit integer", key, json_kind(v));
    *out = (int32_t)json_integer_value(v);
    return true;
}

static bool get_bool(sj_ctx *c, json_t *obj, const char *key, bool *out) {
    json_t *v = json_object_get(obj, key);
    if (!v) return sj_fail(c, "\"%s\" is missing; expected true or false", key);
    if (!json_is_boolean(v)) return sj_fail(c, "\"%s\" is %s; expected true or false", key, json_kind(v));
    *out = json_is_true(v);
    return true;
}

static bool get_str(sj_ctx *c, json_t *obj, const char *key, const char **out) {
    json_t *v = json_object_get(obj, key);
    if (!v) return sj_fail(c, "\"%s\" is missing; expected a string", key);
    if (!json_is_string(v)) return sj_fail(c, "\"%s\" is %s; expected a string", key, json_kind(v));
    *out = arena_strndup(c->a, json_string_value(v), json_string_length(v));
    return true;
}

/* ============================================================ schemas */

static json_t *type_to_json(const fmt_field_t *f);

static json_t *field_to_json(const fmt_field_t *f) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(f->id));
    json_object_set_new(o, "name", json_string(f->name ? f->name : ""));
    json_object_set_new(o, "required", json_boolean(f->required));
    json_object_set_new(o, "type", type_to_json(f));
    if (f->doc) json_object_set_new(o, "doc", json_string(f->doc));
    return o;
}

static json_t *struct_fields_to_json(const fmt_field_t *f) {
    json_t *arr = json_array();
    for (int32_t i = 0; i < f->nchildren; i++) json_array_append_new(arr, field_to_json(&f->children[i]));
    return arr;
}

static json_t *type_to_json(const fmt_field_t *f) {
    switch (f->type) {
    case FMT_DECIMAL: {
        char s[40];
        snprintf(s, sizeof s, "decimal(%d, %d)", f->precision, f->scale);
        return json_string(s);
    }
    case FMT_FIXED: {
        char s[32];
        snprintf(s, sizeof s, "fixed[%d]", f->length);
        return json_string(s);
    }
    case FMT_STRUCT: {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("struct"));
        json_object_set_new(o, "fields", struct_fields_to_json(f));
        return o;
    }
    case FMT_LIST: {
        json_t *o = json_object();
        const fmt_field_t *e = &f->children[0];
        json_object_set_new(o, "type", json_string("list"));
        json_object_set_new(o, "element-id", json_integer(e->id));
        json_object_set_new(o, "element", type_to_json(e));
        json_object_set_new(o, "element-required", json_boolean(e->required));
        return o;
    }
    case FMT_MAP: {
        json_t *o = json_object();
        const fmt_field_t *k = &f->children[0], *v = &f->children[1];
        json_object_set_new(o, "type", json_string("map"));
        json_object_set_new(o, "key-id", json_integer(k->id));
        json_object_set_new(o, "key", type_to_json(k));
        json_object_set_new(o, "value-id", json_integer(v->id));
        json_object_set_new(o, "value", type_to_json(v));
        json_object_set_new(o, "value-required", json_boolean(v->required));
        return o;
    }
    default: return json_string(fmt_type_name(f->type));
    }
}

json_t *ice_schema_to_json(const fmt_schema_t *s) {
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("struct"));
    json_object_set_new(o, "schema-id", json_integer(s->schema_id));
    if (s->nidentifier_ids > 0) {
        json_t *ids = json_array();
        for (int32_t i = 0; i < s->nidentifier_ids; i++) json_array_append_new(ids, json_integer(s->identifier_ids[i]));
        json_object_set_new(o, "identifier-field-ids", ids);
    }
    json_object_set_new(o, "fields", struct_fields_to_json(&s->root));
    return o;
}

static const struct {
    const char *name;
    fmt_type type;
} primitive_names[] = {
    {"boolean", FMT_BOOLEAN},
    {"int", FMT_INT},
    {"long", FMT_LONG},
    {"float", FMT_FLOAT},
    {"double", FMT_DOUBLE},
    {"date", FMT_DATE},
    {"time", FMT_TIME},
    {"timestamp", FMT_TIMESTAMP},
    {"timestamptz", FMT_TIMESTAMPTZ},
    {"timestamp_ns", FMT_TIMESTAMP_NS},
    {"timestamptz_ns", FMT_TIMESTAMPTZ_NS},
    {"string", FMT_STRING},
    {"uuid", FMT_UUID},
    {"binary", FMT_BINARY},
};

/* Reads a run of digits at *p (after spaces) as an int in [lo, hi]. */
static bool read_number(const char **p, long lo, long hi, int32_t *out) {
    const char *s = *p;
    while (*s == ' ') s++;
    if (*s < '0' || *s > '9') return false;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > hi) return false;
    }
    if (v < lo) return false;
    while (*s == ' ') s++;
    *p = s;
    *out = (int32_t)v;
    return true;
}

static const char *PRIMITIVES_EXPECTED =
    "boolean, int, long, float, double, decimal(P,S), date, time, timestamp, timestamptz, timestamp_ns, "
    "timestamptz_ns, string, uuid, fixed[L], binary, or a struct, list or map object";

static bool parse_primitive(sj_ctx *c, const char *s, fmt_field_t *f) {
    for (size_t i = 0; i < sizeof primitive_names / sizeof *primitive_names; i++)
        if (!strcmp(s, primitive_names[i].name)) {
            f->type = primitive_names[i].type;
            return true;
        }
    const char *p = s;
    if (!strncmp(s, "decimal(", 8)) {
        p += 8;
        if (!read_number(&p, 1, 38, &f->precision) || *p++ != ',' || !read_number(&p, 0, f->precision, &f->scale) ||
            strcmp(p, ")"))
            return sj_fail(c,
                           "type \"%s\" is not a decimal Iceberg knows; expected \"decimal(P,S)\" with P in 1..38 and "
                           "S in 0..P",
                           s);
        f->type = FMT_DECIMAL;
        return true;
    }
    if (!strncmp(s, "fixed[", 6)) {
        p += 6;
        if (!read_number(&p, 1, INT32_MAX, &f->length) || strcmp(p, "]"))
            return sj_fail(c, "type \"%s\" is not valid; expected \"fixed[L]\" with a length L of at least 1", s);
        f->type = FMT_FIXED;
        return true;
    }
    return sj_fail(c, "type \"%s\" is not one Floe reads; expected %s", s, PRIMITIVES_EXPECTED);
}

static bool parse_type(sj_ctx *c, json_t *j, fmt_field_t *f, int depth);

static bool parse_field(sj_ctx *c, json_t *j, fmt_field_t *f, int depth) {
    if (!json_is_object(j))
        return sj_fail(c, "a field is %s; expected an object {\"id\", \"name\", \"required\", \"type\"}", json_kind(j));
    if (!get_i32(c, j, "id", &f->id) || !get_str(c, j, "name", &f->name) || !get_bool(c, j, "required", &f->required))
        return false;
    json_t *doc = json_object_get(j, "doc");
    if (doc && !json_is_null(doc)) {
        if (!json_is_string(doc)) return sj_fail(c, "\"doc\" is %s; expected a string", json_kind(doc));
        f->doc = arena_strndup(c->a, json_string_value(doc), json_string_length(doc));
    }
    json_t *t = json_object_get(j, "type");
    if (!t) return sj_fail(c, "field \"%s\" has no \"type\"", f->name);
    size_t old = path_push(c, ".type");
    bool ok = parse_type(c, t, f, depth + 1);
    path_pop(c, old);
    return ok;
}

static bool parse_struct(sj_ctx *c, json_t *j, fmt_field_t *f, int depth) {
    json_t *fields = json_object_get(j, "fields");
    if (!json_is_array(fields))
        return sj_fail(c, "a struct needs \"fields\", an array of field objects; got %s",
                       fields ? json_kind(fields) : "nothing");
    f->type = FMT_STRUCT;
    f->nchildren = (int32_t)json_array_size(fields);
    f->children = arena_zalloc(c->a, (f->nchildren ? (size_t)f->nchildren : 1) * sizeof *f->children);
    for (int32_t i = 0; i < f->nchildren; i++) {
        size_t old = path_push(c, "%sfields[%d]", c->path.len ? "." : "", i);
        bool ok = parse_field(c, json_array_get(fields, (size_t)i), &f->children[i], depth);
        path_pop(c, old);
        if (!ok) return false;
        for (int32_t k = 0; k < i; k++)
            if (!strcmp(f->children[k].name, f->children[i].name))
                return sj_fail(c, "two fields are named \"%s\"; names in a struct must be unique", f->children[i].name);
    }
    return true;
}

/* The element of a list, or the key or value of a map: its id, type and
 * (for elements and values) whether it is required. */
static bool parse_child(sj_ctx *c, json_t *j, const char *role, const char *id_key, const char *req_key,
                        fmt_field_t *child, int depth) {
    child->name = role;
    if (!get_i32(c, j, id_key, &child->id)) return false;
    if (req_key) {
        if (!get_bool(c, j, req_key, &child->required)) return false;
    } else {
        child->required = true; /* map keys always are */
    }
    json_t *t = json_object_get(j, role);
    if (!t) return sj_fail(c, "\"%s\" is missing; expected its type", role);
    size_t old = path_push(c, ".%s", role);
    bool ok = parse_type(c, t, child, depth + 1);
    path_pop(c, old);
    return ok;
}

static bool parse_type(sj_ctx *c, json_t *j, fmt_field_t *f, int depth) {
    if (depth > SCHEMA_MAX_DEPTH) return sj_fail(c, "types nest deeper than %d levels", SCHEMA_MAX_DEPTH);
    if (json_is_string(j)) return parse_primitive(c, json_string_value(j), f);
    if (!json_is_object(j)) return sj_fail(c, "a type is %s; expected %s", json_kind(j), PRIMITIVES_EXPECTED);
    const char *kind = json_opt_str(j, "type");
    if (!kind) return sj_fail(c, "a nested type needs \"type\": \"struct\", \"list\" or \"map\"");
    if (!strcmp(kind, "struct")) return parse_struct(c, j, f, depth);
    if (!strcmp(kind, "list")) {
        f->type = FMT_LIST;
        f->nchildren = 1;
        f->children = arena_zalloc(c->a, sizeof *f->children);
        return parse_child(c, j, "element", "element-id", "element-required", &f->children[0], depth);
    }
    if (!strcmp(kind, "map")) {
        f->type = FMT_MAP;
        f->nchildren = 2;
        f->children = arena_zalloc(c->a, 2 * sizeof *f->children);
        return parse_child(c, j, "key", "key-id", NULL, &f->children[0], depth) &&
               parse_child(c, j, "value", "value-id", "value-required", &f->children[1], depth);
    }
    return sj_fail(c, "nested type \"%s\" is unknown; expected \"struct\", \"list\" or \"map\"", kind);
}

static void collect_ids(const fmt_field_t *f, int32_t *ids, size_t *n) {
    for (int32_t i = 0; i < f->nchildren; i++) {
        ids[(*n)++] = f->children[i].id;
        collect_ids(&f->children[i], ids, n);
    }
}

static size_t count_fields(const fmt_field_t *f) {
    size_t n = (size_t)f->nchildren;
    for (int32_t i = 0; i < f->nchildren; i++) n += count_fields(&f->children[i]);
    return n;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Every field, element, key and value id must be unique in a schema. */
static bool check_unique_ids(sj_ctx *c, const fmt_schema_t *s) {
    size_t n = count_fields(&s->root), k = 0;
    if (n < 2) return true;
    int32_t *ids = malloc(n * sizeof *ids);
    if (!ids) return floe_err_set(c->err, FLOE_ENOMEM, "schema: out of memory");
    collect_ids(&s->root, ids, &k);
    qsort(ids, n, sizeof *ids, cmp_i32);
    for (size_t i = 1; i < n; i++)
        if (ids[i] == ids[i - 1]) {
            int32_t dup = ids[i];
            free(ids);
            return sj_fail(c, "field id %d is used twice; every field, element, key and value needs its own id", dup);
        }
    free(ids);
    return true;
}

bool ice_schema_from_json(json_t *j, arena_t *a, fmt_schema_t *out, floe_err *err) {
    sj_ctx c = {.a = a, .err = err};
    bool ok = false;
    memset(out, 0, sizeof *out);
    out->root.name = "schema";
    out->root.required = true;
    if (!json_is_object(j)) {
        sj_fail(&c, "schema is %s; expected an object {\"type\": \"struct\", \"fields\": [...]}", json_kind(j));
        goto done;
    }
    const char *kind = json_opt_str(j, "type");
    if (!kind || strcmp(kind, "struct")) {
        sj_fail(&c, "schema \"type\" is %s; expected \"struct\"", kind ? kind : "missing");
        goto done;
    }
    json_t *sid = json_object_get(j, "schema-id");
    if (sid && !get_i32(&c, j, "schema-id", &out->schema_id)) goto done; /* v1 schemas may lack it: 0 */
    json_t *ids = json_object_get(j, "identifier-field-ids");
    if (ids && !json_is_null(ids)) {
        if (!json_is_array(ids)) {
            sj_fail(&c, "\"identifier-field-ids\" is %s; expected an array of field ids", json_kind(ids));
            goto done;
        }
        out->nidentifier_ids = (int32_t)json_array_size(ids);
        out->identifier_ids =
            arena_alloc(a, (out->nidentifier_ids ? (size_t)out->nidentifier_ids : 1) * sizeof(int32_t));
        for (int32_t i = 0; i < out->nidentifier_ids; i++) {
            json_t *v = json_array_get(ids, (size_t)i);
            if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX) {
                sj_fail(&c, "\"identifier-field-ids\"[%d] is %s; expected a field id", i, json_kind(v));
                goto done;
            }
            out->identifier_ids[i] = (int32_t)json_integer_value(v);
        }
    }
    if (!parse_struct(&c, j, &out->root, 0) || !check_unique_ids(&c, out)) goto done;
    fmt_schema_finish(out);
    for (int32_t i = 0; i < out->nidentifier_ids; i++)
        if (!fmt_schema_find(out, out->identifier_ids[i])) {
            sj_fail(&c, "\"identifier-field-ids\" names field %d, which the schema does not have",
                    out->identifier_ids[i]);
            goto done;
        }
    ok = true;
done:
    buf_free(&c.path);
    return ok;
}

/* ====================================================== partition specs */

static json_t *transform_json(const ice_transform *t) {
    buf_t b = BUF_INIT;
    ice_transform_format(t, &b);
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

json_t *ice_spec_to_json(const ice_partition_spec *s) {
    json_t *o = json_object(), *fields = json_array();
    json_object_set_new(o, "spec-id", json_integer(s->spec_id));
    for (int32_t i = 0; i < s->nfields; i++) {
        const ice_partition_field *pf = &s->fields[i];
        json_t *f = json_object();
        json_object_set_new(f, "name", json_string(pf->name ? pf->name : ""));
        json_object_set_new(f, "transform", transform_json(&pf->transform));
        json_object_set_new(f, "source-id", json_integer(pf->source_id));
        json_object_set_new(f, "field-id", json_integer(pf->field_id));
        json_array_append_new(fields, f);
    }
    json_object_set_new(o, "fields", fields);
    return o;
}

/* "source-id", or a one-element "source-ids" (v3's form for a
 * single-argument transform). */
static bool get_source_id(sj_ctx *c, json_t *j, int32_t *out) {
    json_t *ids = json_object_get(j, "source-ids");
    if (!json_object_get(j, "source-id") && json_is_array(ids)) {
        if (json_array_size(ids) != 1)
            return sj_fail(c, "\"source-ids\" lists %zu columns; Floe reads single-argument transforms only",
                           json_array_size(ids));
        json_t *v = json_array_get(ids, 0);
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
            return sj_fail(c, "\"source-ids\"[0] is %s; expected a field id", json_kind(v));
        *out = (int32_t)json_integer_value(v);
        return true;
    }
    return get_i32(c, j, "source-id", out);
}

static bool get_transform(sj_ctx *c, json_t *j, ice_transform *out) {
    const char *text;
    if (!get_str(c, j, "transform", &text)) return false;
    floe_err terr = {0};
    if (!ice_transform_parse(text, out, &terr)) return sj_fail(c, "%s", terr.msg);
    if (out->kind == ICE_TR_UNKNOWN && !out->text) out->text = text;
    return true;
}

/* The fields of a spec: an array of {name, transform, source-id,
 * field-id}; a missing field-id (v1) is 1000 + the field's position. */
static bool parse_spec_fields(sj_ctx *c, json_t *arr, ice_partition_spec *out) {
    if (!json_is_array(arr))
        return sj_fail(c,
                       "partition fields are %s; expected an array of {\"name\", \"transform\", \"source-id\", "
                       "\"field-id\"}",
                       arr ? json_kind(arr) : "missing");
    out->nfields = (int32_t)json_array_size(arr);
    out->fields = arena_zalloc(c->a, (out->nfields ? (size_t)out->nfields : 1) * sizeof *out->fields);
    for (int32_t i = 0; i < out->nfields; i++) {
        ice_partition_field *pf = &out->fields[i];
        json_t *f = json_array_get(arr, (size_t)i);
        size_t old = path_push(c, "%sfields[%d]", c->path.len ? "." : "", i);
        bool ok = json_is_object(f) || sj_fail(c, "a partition field is %s; expected an object", json_kind(f));
        ok = ok && get_str(c, f, "name", &pf->name) && get_transform(c, f, &pf->transform) &&
             get_source_id(c, f, &pf->source_id);
        if (ok && json_object_get(f, "field-id"))
            ok = get_i32(c, f, "field-id", &pf->field_id);
        else
            pf->field_id = 1000 + i;
        for (int32_t k = 0; ok && k < i; k++) {
            if (out->fields[k].field_id == pf->field_id)
                ok = sj_fail(c, "field-id %d is used twice in the spec", pf->field_id);
            else if (!strcmp(out->fields[k].name, pf->name))
                ok = sj_fail(c, "two partition fields are named \"%s\"", pf->name);
        }
        path_pop(c, old);
        if (!ok) return false;
    }
    return true;
}

bool ice_spec_from_json(json_t *j, arena_t *a, ice_partition_spec *out, floe_err *err) {
    sj_ctx c = {.a = a, .err = err};
    memset(out, 0, sizeof *out);
    bool ok;
    if (json_is_array(j)) { /* only the fields: spec 0 */
        ok = parse_spec_fields(&c, j, out);
    } else if (!json_is_object(j)) {
        ok = sj_fail(&c, "a partition spec is %s; expected {\"spec-id\": N, \"fields\": [...]}", json_kind(j));
    } else {
        ok = get_i32(&c, j, "spec-id", &out->spec_id) && parse_spec_fields(&c, json_object_get(j, "fields"), out);
    }
    buf_free(&c.path);
    return ok;
}

/* ========================================================== sort orders */

json_t *ice_sort_order_to_json(const ice_sort_order *o) {
    json_t *obj = json_object(), *fields = json_array();
    json_object_set_new(obj, "order-id", json_integer(o->order_id));
    for (int32_t i = 0; i < o->nfields; i++) {
        const ice_sort_field *sf = &o->fields[i];
        json_t *f = json_object();
        json_object_set_new(f, "transform", transform_json(&sf->transform));
        json_object_set_new(f, "source-id", json_integer(sf->source_id));
        json_object_set_new(f, "direction", json_string(sf->descending ? "desc" : "asc"));
        json_object_set_new(f, "null-order", json_string(sf->nulls_first ? "nulls-first" : "nulls-last"));
        json_array_append_new(fields, f);
    }
    json_object_set_new(obj, "fields", fields);
    return obj;
}

static bool parse_sort_field(sj_ctx *c, json_t *f, ice_sort_field *sf) {
    if (!json_is_object(f)) return sj_fail(c, "a sort field is %s; expected an object", json_kind(f));
    const char *dir, *nulls;
    if (!get_transform(c, f, &sf->transform) || !get_source_id(c, f, &sf->source_id) ||
        !get_str(c, f, "direction", &dir) || !get_str(c, f, "null-order", &nulls))
        return false;
    if (!strcmp(dir, "asc") || !strcmp(dir, "desc"))
        sf->descending = dir[0] == 'd';
    else
        return sj_fail(c, "\"direction\" is \"%s\"; expected \"asc\" or \"desc\"", dir);
    if (!strcmp(nulls, "nulls-first") || !strcmp(nulls, "nulls-last"))
        sf->nulls_first = !strcmp(nulls, "nulls-first");
    else
        return sj_fail(c, "\"null-order\" is \"%s\"; expected \"nulls-first\" or \"nulls-last\"", nulls);
    return true;
}

bool ice_sort_order_from_json(json_t *j, arena_t *a, ice_sort_order *out, floe_err *err) {
    sj_ctx c = {.a = a, .err = err};
    memset(out, 0, sizeof *out);
    bool ok = json_is_object(j) ||
              sj_fail(&c, "a sort order is %s; expected {\"order-id\": N, \"fields\": [...]}", json_kind(j));
    json_t *fields = ok ? json_object_get(j, "fields") : NULL;
    ok = ok && get_i32(&c, j, "order-id", &out->order_id);
    if (ok && !json_is_array(fields))
        ok = sj_fail(&c, "\"fields\" is %s; expected an array of sort fields", fields ? json_kind(fields) : "missing");
    if (ok) {
        out->nfields = (int32_t)json_array_size(fields);
        out->fields = arena_zalloc(a, (out->nfields ? (size_t)out->nfields : 1) * sizeof *out->fields);
    }
    for (int32_t i = 0; ok && i < out->nfields; i++) {
        size_t old = path_push(&c, "fields[%d]", i);
        ok = parse_sort_field(&c, json_array_get(fields, (size_t)i), &out->fields[i]);
        path_pop(&c, old);
    }
    if (ok && out->order_id == 0 && out->nfields > 0)
        ok = sj_fail(&c, "order-id 0 is the unsorted order and has no fields; give this order another id");
    buf_free(&c.path);
    return ok;
}
