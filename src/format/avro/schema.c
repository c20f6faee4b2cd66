/*
 * schema.c: Avro schema JSON to a tree of avro_type_t nodes, and back.
 *
 * Parsing follows the Avro 1.11 specification: primitive names, records,
 * enums, arrays, maps, unions and fixed, named types with namespaces and
 * references to them (recursive types included), and logical types. Iceberg's
 * attributes (field-id, element-id, key-id, value-id, logicalType "map") are
 * read into the nodes; every node also keeps its JSON, so printing the
 * schema back loses nothing. Errors name the path inside the schema
 * ("fields[2].type.items") and the form expected there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "format/avro/avro_int.h"

typedef struct parse_ctx {
    arena_t *a;
    const char *what;
    buf_t path;          /* where we are inside the schema */
    json_t *names;       /* full name -> index in nodes of its definition */
    avro_type_t **nodes; /* every node made, for the passes after parsing */
    size_t nnodes, cap;
    floe_err *err;
} parse_ctx;

static avro_type_t *parse_type(parse_ctx *c, json_t *j, const char *ns, int depth);

static const char *const kind_names[] = {"null",   "boolean", "int",  "long",  "float", "double", "bytes",
                                         "string", "record",  "enum", "array", "map",   "union",  "fixed"};

const char *avro_kind_name(avro_kind k) {
    if ((unsigned)k < sizeof kind_names / sizeof kind_names[0]) return kind_names[k];
    return "unknown";
}

/* The path for a message; a very deep one keeps its last 160 characters. */
static const char *where(parse_ctx *c) {
    if (!c->path.len) return "(top)";
    if (c->path.len <= 160) return c->path.data;
    return c->path.data + c->path.len - 160;
}

static const char *json_kind(json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

__attribute__((format(printf, 2, 3))) static avro_type_t *fail(parse_ctx *c, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    floe_err_set(c->err, FLOE_EINVAL, "%s: schema at %s%s: %s", c->what, c->path.len > 160 ? "..." : "", where(c), msg);
    return NULL;
}

/* Path handling: push a segment, remember the old length, pop back to it. */
static size_t path_push(parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(parse_ctx *c, const char *fmt, ...) {
    size_t old = c->path.len;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&c->path, fmt, ap);
    va_end(ap);
    return old;
}

static void path_pop(parse_ctx *c, size_t old) {
    c->path.len = old;
    if (c->path.data) c->path.data[old] = '\0';
}

static bool is_primitive(const char *s, avro_kind *k) {
    for (int i = AVRO_NULL; i <= AVRO_STRING; i++)
        if (!strcmp(s, kind_names[i])) {
            *k = (avro_kind)i;
            return true;
        }
    return false;
}

/* A name component: [A-Za-z_][A-Za-z0-9_]*. */
static bool valid_simple_name(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return false;
    }
    return true;
}

/* A dotted name: components separated by single dots. */
static bool valid_full_name(const char *s) {
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!valid_simple_name(p, n)) return false;
        if (!dot) return true;
        p = dot + 1;
    }
}

static avro_type_t *lookup_named(parse_ctx *c, const char *fullname) {
    json_t *idx = json_object_get(c->names, fullname);
    return idx ? c->nodes[json_integer_value(idx)] : NULL;
}

/* Adds key to the set; false when it was there already. Hash-based, so a
 * schema with many fields, symbols or branches costs linear time. */
static bool set_add(json_t *set, const char *key) {
    if (json_object_get(set, key)) return false;
    json_object_set_new(set, key, json_null());
    return true;
}

static avro_type_t *new_type(parse_ctx *c, avro_kind k, json_t *j) {
    avro_type_t *t = arena_zalloc(c->a, sizeof *t);
    t->kind = k;
    t->json = j;
    if (c->nnodes == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        avro_type_t **nodes = arena_alloc(c->a, cap * sizeof *nodes);
        if (c->nnodes) memcpy(nodes, c->nodes, c->nnodes * sizeof *nodes);
        c->nodes = nodes;
        c->cap = cap;
    }
    c->nodes[c->nnodes++] = t;
    return t;
}

/* An optional integer attribute such as "field-id". */
static bool opt_int32(parse_ctx *c, json_t *obj, const char *key, bool *has, int32_t *out) {
    json_t *v = json_object_get(obj, key);
    *has = false;
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX) {
        fail(c, "\"%s\" must be a 32-bit integer; got %s", key, json_kind(v));
        return false;
    }
    *has = true;
    *out = (int32_t)json_integer_value(v);
    return true;
}

static bool opt_string(parse_ctx *c, json_t *obj, const char *key, const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) return true;
    if (!json_is_string(v)) {
        fail(c, "\"%s\" must be a string; got %s", key, json_kind(v));
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Names a record, enum or fixed: sets name, namespace and fullname, and
 * registers it (before its fields are parsed, so they may refer to it). */
static bool define_named(parse_ctx *c, avro_type_t *t, json_t *obj, const char *enclosing_ns) {
    const char *name, *ns;
    json_t *jn = json_object_get(obj, "name");
    if (!json_is_string(jn)) {
        fail(c, "a %s needs \"name\", a string; got %s", avro_kind_name(t->kind), jn ? json_kind(jn) : "nothing");
        return false;
    }
    name = json_string_value(jn);
    if (!opt_string(c, obj, "namespace", &ns)) return false;
    if (!valid_full_name(name)) {
        fail(c, "\"name\" \"%s\" is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*, dotted)", name);
        return false;
    }
    const char *dot = strrchr(name, '.');
    if (dot) {
        t->fullname = name;
        t->namespace = arena_strndup(c->a, name, (size_t)(dot - name));
    } else {
        if (!ns) ns = enclosing_ns;
        if (ns && *ns) {
            if (!valid_full_name(ns)) {
                fail(c, "\"namespace\" \"%s\" is not a valid Avro namespace (dotted names)", ns);
                return false;
            }
            t->fullname = arena_sprintf(c->a, "%s.%s", ns, name);
            t->namespace = ns;
        } else {
            t->fullname = name;
        }
    }
    t->name = dot ? dot + 1 : name;
    avro_kind prim;
    if (is_primitive(t->name, &prim) && !t->namespace) {
        fail(c, "\"name\" \"%s\" is a primitive type's name; pick another", name);
        return false;
    }
    if (lookup_named(c, t->fullname)) {
        fail(c, "the name \"%s\" is defined twice; a named type is defined once, then referred to by name",
             t->fullname);
        return false;
    }
    /* t is the node made last: define_named runs right after new_type */
    json_object_set_new(c->names, t->fullname, json_integer((json_int_t)(c->nnodes - 1)));
    return opt_string(c, obj, "doc", &t->doc);
}

static avro_type_t *resolve_name(parse_ctx *c, json_t *j, const char *name, const char *ns) {
    avro_kind k;
    if (is_primitive(name, &k)) return new_type(c, k, j);
    avro_type_t *t = NULL;
    if (!strchr(name, '.') && ns && *ns) t = lookup_named(c, arena_sprintf(c->a, "%s.%s", ns, name));
    if (!t) t = lookup_named(c, name);
    if (!t)
        return fail(c,
                    "\"%s\" is neither a primitive type nor a named type defined before this point "
                    "(record, enum or fixed)",
                    name);
    return t;
}

static bool parse_fields(parse_ctx *c, avro_type_t *t, json_t *fields, json_t *seen, int depth);

static avro_type_t *parse_record(parse_ctx *c, json_t *obj, const char *ns, int depth) {
    avro_type_t *t = new_type(c, AVRO_RECORD, obj);
    if (!define_named(c, t, obj, ns)) return NULL;
    json_t *fields = json_object_get(obj, "fields");
    if (!json_is_array(fields))
        return fail(c, "record \"%s\" needs \"fields\", an array of field objects; got %s", t->fullname,
                    fields ? json_kind(fields) : "nothing");
    t->nfields = json_array_size(fields);
    t->fields = arena_zalloc(c->a, (t->nfields ? t->nfields : 1) * sizeof *t->fields);
    json_t *seen = json_object();
    bool ok = parse_fields(c, t, fields, seen, depth);
    json_decref(seen);
    return ok ? t : NULL;
}

static bool parse_fields(parse_ctx *c, avro_type_t *t, json_t *fields, json_t *seen, int depth) {
    for (size_t i = 0; i < t->nfields; i++) {
        json_t *jf = json_array_get(fields, i);
        size_t old = path_push(c, ".fields[%zu]", i);
        avro_field_t *f = &t->fields[i];
        f->json = jf;
        if (!json_is_object(jf)) return fail(c, "expected a field object {\"name\": ..., \"type\": ...}");
        json_t *jn = json_object_get(jf, "name");
        if (!json_is_string(jn) || !valid_simple_name(json_string_value(jn), strlen(json_string_value(jn))))
            return fail(c, "a field needs \"name\", a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)");
        f->name = json_string_value(jn);
        if (!set_add(seen, f->name)) return fail(c, "record \"%s\" has two fields named \"%s\"", t->fullname, f->name);
        if (!opt_string(c, jf, "doc", &f->doc)) return false;
        if (!opt_int32(c, jf, "field-id", &f->has_id, &f->id)) return false;
        f->default_value = json_object_get(jf, "default");
        json_t *jt = json_object_get(jf, "type");
        if (!jt) return fail(c, "field \"%s\" needs \"type\"", f->name);
        size_t old2 = path_push(c, ".type");
        f->type = parse_type(c, jt, t->namespace, depth + 1);
        if (!f->type) return false;
        path_pop(c, old2);
        path_pop(c, old);
    }
    return true;
}

static avro_type_t *parse_enum(parse_ctx *c, json_t *obj, const char *ns) {
    avro_type_t *t = new_type(c, AVRO_ENUM, obj);
    if (!define_named(c, t, obj, ns)) return NULL;
    json_t *syms = json_object_get(obj, "symbols");
    if (!json_is_array(syms))
        return fail(c, "enum \"%s\" needs \"symbols\", an array of names; got %s", t->fullname,
                    syms ? json_kind(syms) : "nothing");
    t->nsymbols = json_array_size(syms);
    t->symbols = arena_zalloc(c->a, (t->nsymbols ? t->nsymbols : 1) * sizeof *t->symbols);
    json_t *seen = json_object();
    for (size_t i = 0; i < t->nsymbols; i++) {
        json_t *s = json_array_get(syms, i);
        if (!json_is_string(s) || !valid_simple_name(json_string_value(s), strlen(json_string_value(s)))) {
            json_decref(seen);
            return fail(c, "enum \"%s\" symbols[%zu] must be a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)", t->fullname,
                        i);
        }
        t->symbols[i] = json_string_value(s);
        if (!set_add(seen, t->symbols[i])) {
            json_decref(seen);
            return fail(c, "enum \"%s\" lists the symbol \"%s\" twice", t->fullname, t->symbols[i]);
        }
    }
    json_decref(seen);
    return t;
}

static avro_type_t *parse_fixed(parse_ctx *c, json_t *obj, const char *ns) {
    avro_type_t *t = new_type(c, AVRO_FIXED, obj);
    if (!define_named(c, t, obj, ns)) return NULL;
    json_t *size = json_object_get(obj, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0 || json_integer_value(size) > INT32_MAX)
        return fail(c, "fixed \"%s\" needs \"size\", a non-negative integer", t->fullname);
    t->size = (int32_t)json_integer_value(size);
    return t;
}

static bool parse_branches(parse_ctx *c, avro_type_t *t, json_t *arr, const char *ns, int depth, json_t *seen) {
    for (size_t i = 0; i < t->nbranches; i++) {
        size_t old = path_push(c, "[%zu]", i);
        avro_type_t *b = parse_type(c, json_array_get(arr, i), ns, depth + 1);
        if (!b) return false;
        if (b->kind == AVRO_UNION) return fail(c, "a union may not hold another union directly");
        /* named types are told apart by name, the others by kind */
        if (!set_add(seen, avro_branch_name(b)))
            return fail(c, "the union already has a %s branch; a union holds each type once", avro_branch_name(b));
        t->branches[i] = b;
        path_pop(c, old);
    }
    return true;
}

static avro_type_t *parse_union(parse_ctx *c, json_t *arr, const char *ns, int depth) {
    avro_type_t *t = new_type(c, AVRO_UNION, arr);
    t->nbranches = json_array_size(arr);
    if (t->nbranches == 0) return fail(c, "a union needs at least one branch");
    t->branches = arena_zalloc(c->a, t->nbranches * sizeof *t->branches);
    json_t *seen = json_object();
    bool ok = parse_branches(c, t, arr, ns, depth, seen);
    json_decref(seen);
    return ok ? t : NULL;
}

/* Sets t->logical when the attribute names a logical type valid on t;
 * otherwise leaves it NONE, as the spec says readers must. */
static bool parse_logical(parse_ctx *c, avro_type_t *t, json_t *obj) {
    if (!opt_string(c, obj, "logicalType", &t->logical_name)) return false;
    const char *lt = t->logical_name;
    if (!lt) return true;
    avro_kind k = t->kind;
    static const struct {
        const char *name;
        avro_kind kind;
        avro_logical logical;
    } simple[] = {
        {"date", AVRO_INT, AVRO_LOGICAL_DATE},
        {"time-millis", AVRO_INT, AVRO_LOGICAL_TIME_MILLIS},
        {"time-micros", AVRO_LONG, AVRO_LOGICAL_TIME_MICROS},
        {"timestamp-millis", AVRO_LONG, AVRO_LOGICAL_TIMESTAMP_MILLIS},
        {"timestamp-micros", AVRO_LONG, AVRO_LOGICAL_TIMESTAMP_MICROS},
        {"timestamp-nanos", AVRO_LONG, AVRO_LOGICAL_TIMESTAMP_NANOS},
        {"local-timestamp-millis", AVRO_LONG, AVRO_LOGICAL_LOCAL_TIMESTAMP_MILLIS},
        {"local-timestamp-micros", AVRO_LONG, AVRO_LOGICAL_LOCAL_TIMESTAMP_MICROS},
        {"local-timestamp-nanos", AVRO_LONG, AVRO_LOGICAL_LOCAL_TIMESTAMP_NANOS},
        {"uuid", AVRO_STRING, AVRO_LOGICAL_UUID},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (!strcmp(lt, simple[i].name) && k == simple[i].kind) t->logical = simple[i].logical;
    if (!strcmp(lt, "uuid") && k == AVRO_FIXED && t->size == 16) t->logical = AVRO_LOGICAL_UUID;
    if (!strcmp(lt, "duration") && k == AVRO_FIXED && t->size == 12) t->logical = AVRO_LOGICAL_DURATION;
    if (!strcmp(lt, "decimal") && (k == AVRO_BYTES || k == AVRO_FIXED)) {
        json_t *p = json_object_get(obj, "precision"), *s = json_object_get(obj, "scale");
        json_int_t prec = json_is_integer(p) ? json_integer_value(p) : 0;
        json_int_t scale = json_is_integer(s) ? json_integer_value(s) : (s ? -1 : 0);
        /* digits a fixed(n) two's complement number can hold */
        json_int_t max = k == AVRO_FIXED ? (json_int_t)((8.0 * t->size - 1) * 0.30102999566398) : 1000000;
        if (prec > 0 && prec <= max && scale >= 0 && scale <= prec) {
            t->logical = AVRO_LOGICAL_DECIMAL;
            t->precision = (int32_t)prec;
            t->scale = (int32_t)scale;
        }
    }
    if (!strcmp(lt, "map") && k == AVRO_ARRAY) {
        const avro_type_t *it = t->items;
        if (it->kind == AVRO_RECORD && it->nfields == 2 && !strcmp(it->fields[0].name, "key") &&
            !strcmp(it->fields[1].name, "value"))
            t->logical = AVRO_LOGICAL_MAP;
    }
    return true;
}

static avro_type_t *parse_object(parse_ctx *c, json_t *obj, const char *ns, int depth) {
    json_t *jt = json_object_get(obj, "type");
    if (!jt) return fail(c, "a schema object needs \"type\"");
    avro_type_t *t = NULL;
    if (json_is_object(jt) || json_is_array(jt)) {
        /* {"type": {...}}: a schema wrapped once more */
        size_t old = path_push(c, ".type");
        t = parse_type(c, jt, ns, depth + 1);
        if (t) path_pop(c, old);
        return t;
    }
    if (!json_is_string(jt))
        return fail(c, "\"type\" must be a type name, an object or a union array; got %s", json_kind(jt));
    const char *tn = json_string_value(jt);
    avro_kind k;
    if (is_primitive(tn, &k)) {
        t = new_type(c, k, obj);
    } else if (!strcmp(tn, "record") || !strcmp(tn, "error")) {
        t = parse_record(c, obj, ns, depth);
    } else if (!strcmp(tn, "enum")) {
        t = parse_enum(c, obj, ns);
    } else if (!strcmp(tn, "fixed")) {
        t = parse_fixed(c, obj, ns);
    } else if (!strcmp(tn, "array")) {
        t = new_type(c, AVRO_ARRAY, obj);
        json_t *items = json_object_get(obj, "items");
        if (!items) return fail(c, "an array needs \"items\", the type of its elements");
        if (!opt_int32(c, obj, "element-id", &t->has_element_id, &t->element_id)) return NULL;
        size_t old = path_push(c, ".items");
        t->items = parse_type(c, items, ns, depth + 1);
        if (!t->items) return NULL;
        path_pop(c, old);
    } else if (!strcmp(tn, "map")) {
        t = new_type(c, AVRO_MAP, obj);
        json_t *values = json_object_get(obj, "values");
        if (!values) return fail(c, "a map needs \"values\", the type of its values");
        if (!opt_int32(c, obj, "key-id", &t->has_key_id, &t->key_id)) return NULL;
        if (!opt_int32(c, obj, "value-id", &t->has_value_id, &t->value_id)) return NULL;
        size_t old = path_push(c, ".values");
        t->values = parse_type(c, values, ns, depth + 1);
        if (!t->values) return NULL;
        path_pop(c, old);
    } else {
        /* {"type": "some.Name"}: a reference; it takes no attributes */
        return resolve_name(c, obj, tn, ns);
    }
    if (!t) return NULL;
    if (!parse_logical(c, t, obj)) return NULL;
    return t;
}

static avro_type_t *parse_type(parse_ctx *c, json_t *j, const char *ns, int depth) {
    if (depth > AVRO_MAX_DEPTH) return fail(c, "types nest more than %d deep", AVRO_MAX_DEPTH);
    if (json_is_string(j)) return resolve_name(c, j, json_string_value(j), ns);
    if (json_is_array(j)) return parse_union(c, j, ns, depth);
    if (json_is_object(j)) return parse_object(c, j, ns, depth);
    return fail(c,
                "expected a type name (\"long\"), a union array ([\"null\", \"long\"]) or an object with "
                "\"type\"; got %s",
                json_kind(j));
}

/* The fewest bytes a value can take. A type still being computed (a
 * recursive reference) counts as 0, which keeps the result a lower bound. */
static size_t min_bytes(avro_type_t *t, int depth) {
    if (depth > AVRO_MAX_DEPTH + 2) return 0;
    switch (t->kind) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN:
    case AVRO_INT:
    case AVRO_LONG:
    case AVRO_BYTES:
    case AVRO_STRING:
    case AVRO_ENUM:
    case AVRO_ARRAY:
    case AVRO_MAP: return 1;
    case AVRO_FLOAT: return 4;
    case AVRO_DOUBLE: return 8;
    case AVRO_FIXED: return (size_t)t->size;
    case AVRO_UNION: {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < t->nbranches; i++) {
            size_t m = min_bytes(t->branches[i], depth + 1);
            if (m < best) best = m;
        }
        return 1 + (best > (size_t)INT32_MAX ? (size_t)INT32_MAX : best);
    }
    case AVRO_RECORD: {
        if (t->min_bytes != SIZE_MAX) return t->min_bytes; /* known, or 0 while in progress */
        t->min_bytes = 0;
        size_t sum = 0;
        for (size_t i = 0; i < t->nfields; i++) {
            sum += min_bytes(t->fields[i].type, depth + 1);
            if (sum > (size_t)INT32_MAX) sum = (size_t)INT32_MAX;
        }
        t->min_bytes = sum;
        return sum;
    }
    }
    return 0;
}

/* Fills min_bytes on every node. Records start at SIZE_MAX ("not yet
 * computed") so min_bytes can memoize them and stop at recursion. */
static void fill_min_bytes(parse_ctx *c) {
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i]->kind == AVRO_RECORD) c->nodes[i]->min_bytes = SIZE_MAX;
    for (size_t i = 0; i < c->nnodes; i++) c->nodes[i]->min_bytes = min_bytes(c->nodes[i], 0);
}

avro_schema_t *avro_schema_from_json(json_t *json, const char *what, floe_err *err) {
    avro_schema_t *s = calloc(1, sizeof *s);
    if (!s) {
        floe_err_set(err, FLOE_ENOMEM, "%s: out of memory", what);
        return NULL;
    }
    arena_init(&s->arena, 8192);
    s->json = json_incref(json);
    parse_ctx c = {.a = &s->arena, .what = what ? what : "schema", .names = json_object(), .err = err};
    s->root = parse_type(&c, json, NULL, 0);
    buf_free(&c.path);
    json_decref(c.names);
    if (!s->root) goto fail;
    fill_min_bytes(&c);
    return s;
fail:
    avro_schema_free(s);
    return NULL;
}

avro_schema_t *avro_schema_parse(const char *text, size_t len, const char *what, floe_err *err) {
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        floe_err_set(err, FLOE_EINVAL, "%s: invalid JSON at line %d column %d: %s", what ? what : "schema", je.line,
                     je.column, je.text);
        return NULL;
    }
    avro_schema_t *s = avro_schema_from_json(j, what, err);
    json_decref(j);
    return s;
}

void avro_schema_free(avro_schema_t *s) {
    if (!s) return;
    json_decref(s->json);
    arena_free(&s->arena);
    free(s);
}

static int dump_cb(const char *buffer, size_t size, void *data) {
    buf_append(data, buffer, size);
    return 0;
}

void avro_schema_json(const avro_schema_t *s, buf_t *out) {
    json_dump_callback(s->json, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY);
}

const char *avro_branch_name(const avro_type_t *t) {
    if (t->fullname) return t->fullname;
    return avro_kind_name(t->kind);
}

const avro_field_t *avro_field_by_name(const avro_type_t *record, const char *name) {
    int i = avro_field_index(record, name);
    return i < 0 ? NULL : &record->fields[i];
}

int avro_field_index(const avro_type_t *record, const char *name) {
    if (!record || record->kind != AVRO_RECORD || !name) return -1;
    for (size_t i = 0; i < record->nfields; i++)
        if (!strcmp(record->fields[i].name, name)) return (int)i;
    return -1;
}

const avro_field_t *avro_field_by_id(const avro_type_t *record, int32_t id) {
    if (!record || record->kind != AVRO_RECORD) return NULL;
    for (size_t i = 0; i < record->nfields; i++)
        if (record->fields[i].has_id && record->fields[i].id == id) return &record->fields[i];
    return NULL;
}

const avro_type_t *avro_type_nonnull(const avro_type_t *t) {
    if (t && t->kind == AVRO_UNION && t->nbranches == 2) {
        if (t->branches[0]->kind == AVRO_NULL) return t->branches[1];
        if (t->branches[1]->kind == AVRO_NULL) return t->branches[0];
    }
    return t;
}
