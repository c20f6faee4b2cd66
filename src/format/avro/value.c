/*
 * value.c: the generic value tree: builders and getters, and the Avro JSON
 * encoding in both directions (values to JSON for `floe avro cat`; JSON to
 * values for field defaults).
 *
 * The JSON form is the spec's JSON encoding, the one avro-tools tojson
 * prints: a union value is {"branch": value} (null stays bare), bytes and
 * fixed are strings whose code points U+0000..U+00FF are the bytes, enums are
 * their symbols. JSON has no NaN or infinities, so those print as the
 * strings "NaN", "Infinity" and "-Infinity", as Java's encoder does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/avro/avro_int.h"

/* ------------------------------------------------------------ builders */

static avro_value_t *make(arena_t *a, avro_kind k) {
    avro_value_t *v = arena_alloc(a, sizeof *v);
    memset(v, 0, sizeof *v);
    v->kind = k;
    return v;
}

avro_value_t *avro_null(arena_t *a) { return make(a, AVRO_NULL); }

avro_value_t *avro_bool(arena_t *a, bool b) {
    avro_value_t *v = make(a, AVRO_BOOLEAN);
    v->b = b;
    return v;
}

avro_value_t *avro_int(arena_t *a, int32_t i) {
    avro_value_t *v = make(a, AVRO_INT);
    v->i = i;
    return v;
}

avro_value_t *avro_long(arena_t *a, int64_t l) {
    avro_value_t *v = make(a, AVRO_LONG);
    v->l = l;
    return v;
}

avro_value_t *avro_float(arena_t *a, float f) {
    avro_value_t *v = make(a, AVRO_FLOAT);
    v->f = f;
    return v;
}

avro_value_t *avro_double(arena_t *a, double d) {
    avro_value_t *v = make(a, AVRO_DOUBLE);
    v->d = d;
    return v;
}

static avro_value_t *make_bytes(arena_t *a, avro_kind k, const void *data, size_t len) {
    avro_value_t *v = make(a, k);
    v->bytes.data = (const uint8_t *)arena_strndup(a, len ? data : "", len);
    v->bytes.len = len;
    return v;
}

avro_value_t *avro_bytes(arena_t *a, const void *data, size_t len) { return make_bytes(a, AVRO_BYTES, data, len); }
avro_value_t *avro_string(arena_t *a, const char *s) { return make_bytes(a, AVRO_STRING, s, strlen(s)); }
avro_value_t *avro_string_n(arena_t *a, const char *s, size_t len) { return make_bytes(a, AVRO_STRING, s, len); }
avro_value_t *avro_fixed(arena_t *a, const void *data, size_t len) { return make_bytes(a, AVRO_FIXED, data, len); }

avro_value_t *avro_enum(arena_t *a, int32_t index) {
    avro_value_t *v = make(a, AVRO_ENUM);
    v->i = index;
    return v;
}

avro_value_t *avro_array(arena_t *a) { return make(a, AVRO_ARRAY); }

void avro_array_append(arena_t *a, avro_value_t *array, avro_value_t *item) {
    if (array->list.n == array->list.cap) {
        size_t cap = array->list.cap ? array->list.cap * 2 : 4;
        avro_value_t **items = arena_alloc(a, cap * sizeof *items);
        if (array->list.n) memcpy(items, array->list.items, array->list.n * sizeof *items);
        array->list.items = items;
        array->list.cap = cap;
    }
    array->list.items[array->list.n++] = item;
}

avro_value_t *avro_map(arena_t *a) { return make(a, AVRO_MAP); }

void avro_map_put(arena_t *a, avro_value_t *map, const char *key, avro_value_t *value) {
    if (map->map.n == map->map.cap) {
        size_t cap = map->map.cap ? map->map.cap * 2 : 4;
        avro_map_entry_t *e = arena_alloc(a, cap * sizeof *e);
        if (map->map.n) memcpy(e, map->map.entries, map->map.n * sizeof *e);
        map->map.entries = e;
        map->map.cap = cap;
    }
    map->map.entries[map->map.n].key = key;
    map->map.entries[map->map.n].key_len = strlen(key);
    map->map.entries[map->map.n].value = value;
    map->map.n++;
}

avro_value_t *avro_union(arena_t *a, int32_t branch, avro_value_t *value) {
    avro_value_t *v = make(a, AVRO_UNION);
    v->u.branch = branch;
    v->u.value = value;
    return v;
}

avro_value_t *avro_record(arena_t *a, const avro_type_t *record_type) {
    avro_value_t *v = make(a, AVRO_RECORD);
    v->type = record_type;
    size_t n = record_type->nfields;
    v->list.items = arena_zalloc(a, (n ? n : 1) * sizeof *v->list.items);
    v->list.n = v->list.cap = n;
    return v;
}

static bool set_at(avro_value_t *rec, int i, avro_value_t *value) {
    if (i < 0 || (size_t)i >= rec->list.n) return false;
    rec->list.items[i] = value;
    return true;
}

bool avro_record_set(avro_value_t *rec, const char *name, avro_value_t *value) {
    if (!rec || rec->kind != AVRO_RECORD) return false;
    return set_at(rec, avro_field_index(rec->type, name), value);
}

bool avro_record_set_id(avro_value_t *rec, int32_t field_id, avro_value_t *value) {
    if (!rec || rec->kind != AVRO_RECORD) return false;
    const avro_field_t *f = avro_field_by_id(rec->type, field_id);
    return f && set_at(rec, (int)(f - rec->type->fields), value);
}

/* ------------------------------------------------------------ getters */

avro_value_t *avro_unwrap(const avro_value_t *v) {
    while (v && v->kind == AVRO_UNION) v = v->u.value;
    return (avro_value_t *)v;
}

bool avro_is_null(const avro_value_t *v) {
    v = avro_unwrap(v);
    return !v || v->kind == AVRO_NULL;
}

static avro_value_t *get_at(const avro_value_t *rec, const avro_field_t *f) {
    if (!f) return NULL;
    size_t i = (size_t)(f - rec->type->fields);
    return i < rec->list.n ? avro_unwrap(rec->list.items[i]) : NULL;
}

avro_value_t *avro_record_get(const avro_value_t *rec, const char *name) {
    if (!rec || rec->kind != AVRO_RECORD || !rec->type) return NULL;
    return get_at(rec, avro_field_by_name(rec->type, name));
}

avro_value_t *avro_record_get_id(const avro_value_t *rec, int32_t field_id) {
    if (!rec || rec->kind != AVRO_RECORD || !rec->type) return NULL;
    return get_at(rec, avro_field_by_id(rec->type, field_id));
}

const char *avro_enum_symbol(const avro_value_t *v) {
    v = avro_unwrap(v);
    if (!v || v->kind != AVRO_ENUM || !v->type || v->i < 0 || (size_t)v->i >= v->type->nsymbols) return NULL;
    return v->type->symbols[v->i];
}

/* ------------------------------------------------------------ to JSON */

/* The shortest %g form that reads back as the same number. */
static void put_double(buf_t *out, double d, bool single) {
    if (isnan(d)) {
        buf_puts(out, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        buf_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (single ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    buf_puts(out, tmp);
    if (!strpbrk(tmp, ".en")) buf_puts(out, ".0");
}

static void put_escaped_cp(buf_t *out, uint32_t cp) {
    switch (cp) {
    case '"': buf_puts(out, "\\\""); return;
    case '\\': buf_puts(out, "\\\\"); return;
    case '\n': buf_puts(out, "\\n"); return;
    case '\r': buf_puts(out, "\\r"); return;
    case '\t': buf_puts(out, "\\t"); return;
    case '\b': buf_puts(out, "\\b"); return;
    case '\f': buf_puts(out, "\\f"); return;
    default: break;
    }
    if (cp < 0x20) {
        buf_printf(out, "\\u%04x", cp);
    } else if (cp < 0x80) {
        buf_putc(out, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(out, (char)(0xc0 | (cp >> 6)));
        buf_putc(out, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_putc(out, (char)(0xe0 | (cp >> 12)));
        buf_putc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(out, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(out, (char)(0xf0 | (cp >> 18)));
        buf_putc(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_putc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(out, (char)(0x80 | (cp & 0x3f)));
    }
}

/* Decodes one UTF-8 sequence at s[0..n); returns its length, or 0 when it
 * is not valid (overlong, surrogate, out of range, cut short). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

/* A UTF-8 string; a byte that is not valid UTF-8 prints as U+FFFD. */
static void put_string(buf_t *out, const uint8_t *s, size_t n) {
    buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0) {
            put_escaped_cp(out, 0xfffd);
            i++;
        } else {
            put_escaped_cp(out, cp);
            i += len;
        }
    }
    buf_putc(out, '"');
}

/* Bytes as a string of code points U+0000..U+00FF. */
static void put_bytes(buf_t *out, const uint8_t *s, size_t n) {
    buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) put_escaped_cp(out, s[i]);
    buf_putc(out, '"');
}

static void to_json(const avro_value_t *v, const avro_type_t *t, buf_t *out, int depth);

static void union_to_json(const avro_value_t *v, const avro_type_t *t, buf_t *out, int depth) {
    const avro_type_t *bt = NULL;
    if (t && t->kind == AVRO_UNION && v->u.branch >= 0 && (size_t)v->u.branch < t->nbranches)
        bt = t->branches[v->u.branch];
    const avro_value_t *inner = v->u.value;
    if (!inner || inner->kind == AVRO_NULL) {
        buf_puts(out, "null");
        return;
    }
    buf_putc(out, '{');
    const char *name = bt            ? avro_branch_name(bt)
                       : inner->type ? avro_branch_name(inner->type)
                                     : avro_kind_name(inner->kind);
    put_string(out, (const uint8_t *)name, strlen(name));
    buf_putc(out, ':');
    to_json(inner, bt, out, depth + 1);
    buf_putc(out, '}');
}

static void to_json(const avro_value_t *v, const avro_type_t *t, buf_t *out, int depth) {
    if (!t) t = v ? v->type : NULL;
    if (!v || depth > AVRO_MAX_DEPTH + 2) {
        buf_puts(out, "null");
        return;
    }
    if (t && t->kind == AVRO_UNION && v->kind != AVRO_UNION) {
        /* a bare value built for a union field: print it as the writer
         * would store it */
        int b = avro_branch_for(t, v);
        if (b >= 0) {
            avro_value_t wrapped = {.kind = AVRO_UNION, .type = t, .u = {.branch = b, .value = (avro_value_t *)v}};
            union_to_json(&wrapped, t, out, depth);
            return;
        }
        t = NULL;
    }
    switch (v->kind) {
    case AVRO_NULL: buf_puts(out, "null"); break;
    case AVRO_BOOLEAN: buf_puts(out, v->b ? "true" : "false"); break;
    case AVRO_INT: buf_printf(out, "%d", v->i); break;
    case AVRO_LONG: buf_printf(out, "%lld", (long long)v->l); break;
    case AVRO_FLOAT: put_double(out, v->f, true); break;
    case AVRO_DOUBLE: put_double(out, v->d, false); break;
    case AVRO_STRING: put_string(out, v->bytes.data, v->bytes.len); break;
    case AVRO_BYTES:
    case AVRO_FIXED: put_bytes(out, v->bytes.data, v->bytes.len); break;
    case AVRO_ENUM:
        if (t && t->kind == AVRO_ENUM && v->i >= 0 && (size_t)v->i < t->nsymbols)
            put_string(out, (const uint8_t *)t->symbols[v->i], strlen(t->symbols[v->i]));
        else
            buf_printf(out, "%d", v->i);
        break;
    case AVRO_UNION: union_to_json(v, t, out, depth); break;
    case AVRO_RECORD: {
        bool typed = t && t->kind == AVRO_RECORD && t->nfields == v->list.n;
        buf_putc(out, '{');
        for (size_t i = 0; i < v->list.n; i++) {
            if (i) buf_putc(out, ',');
            if (typed) {
                put_string(out, (const uint8_t *)t->fields[i].name, strlen(t->fields[i].name));
            } else {
                buf_printf(out, "\"%zu\"", i);
            }
            buf_putc(out, ':');
            to_json(v->list.items[i], typed ? t->fields[i].type : NULL, out, depth + 1);
        }
        buf_putc(out, '}');
        break;
    }
    case AVRO_ARRAY: {
        const avro_type_t *it = t && t->kind == AVRO_ARRAY ? t->items : NULL;
        buf_putc(out, '[');
        for (size_t i = 0; i < v->list.n; i++) {
            if (i) buf_putc(out, ',');
            to_json(v->list.items[i], it, out, depth + 1);
        }
        buf_putc(out, ']');
        break;
    }
    case AVRO_MAP: {
        const avro_type_t *vt = t && t->kind == AVRO_MAP ? t->values : NULL;
        buf_putc(out, '{');
        for (size_t i = 0; i < v->map.n; i++) {
            if (i) buf_putc(out, ',');
            const avro_map_entry_t *e = &v->map.entries[i];
            put_string(out, (const uint8_t *)e->key, e->key_len);
            buf_putc(out, ':');
            to_json(v->map.entries[i].value, vt, out, depth + 1);
        }
        buf_putc(out, '}');
        break;
    }
    }
}

void avro_value_to_json(const avro_value_t *v, const avro_type_t *t, buf_t *out) { to_json(v, t, out, 0); }

/* ------------------------------------------------------------ from JSON */

typedef struct from_ctx {
    arena_t *a;
    bool union_first;
    buf_t path;
    floe_err *err;
} from_ctx;

__attribute__((format(printf, 2, 3))) static avro_value_t *from_fail(from_ctx *c, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    floe_err_set(c->err, FLOE_EINVAL, "%s%s%s", c->path.len ? c->path.data : "", c->path.len ? ": " : "", msg);
    return NULL;
}

static bool json_double(json_t *j, double *out) {
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return true;
    }
    const char *s = json_string_value(j);
    if (!s) return false;
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "Infinity"))
        *out = INFINITY;
    else if (!strcmp(s, "-Infinity"))
        *out = -INFINITY;
    else
        return false;
    return true;
}

/* A JSON string of code points U+0000..U+00FF to bytes. */
static avro_value_t *json_bytes(from_ctx *c, json_t *j, avro_kind k) {
    if (!json_is_string(j)) return from_fail(c, "expected a string of code points U+0000..U+00FF");
    const uint8_t *s = (const uint8_t *)json_string_value(j);
    size_t n = json_string_length(j), out = 0;
    uint8_t *bytes = arena_alloc(c->a, n + 1);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0 || cp > 0xff) return from_fail(c, "expected a string of code points U+0000..U+00FF");
        bytes[out++] = (uint8_t)cp;
        i += len;
    }
    avro_value_t *v = make(c->a, k);
    v->bytes.data = bytes;
    v->bytes.len = out;
    return v;
}

static avro_value_t *from_json(from_ctx *c, const avro_type_t *t, json_t *j, int depth);

static avro_value_t *union_from_json(from_ctx *c, const avro_type_t *t, json_t *j, int depth) {
    size_t branch = 0;
    json_t *inner = j;
    if (!c->union_first) {
        if (json_is_null(j)) {
            for (branch = 0; branch < t->nbranches && t->branches[branch]->kind != AVRO_NULL; branch++) {
            }
            if (branch == t->nbranches) return from_fail(c, "null, but the union has no null branch");
        } else {
            if (!json_is_object(j) || json_object_size(j) != 1)
                return from_fail(c, "expected a union value: null or {\"branch type\": value}");
            const char *key = json_object_iter_key(json_object_iter(j));
            inner = json_object_iter_value(json_object_iter(j));
            for (branch = 0; branch < t->nbranches && strcmp(avro_branch_name(t->branches[branch]), key); branch++) {
            }
            if (branch == t->nbranches) return from_fail(c, "the union has no branch \"%s\"", key);
        }
    }
    avro_value_t *inner_v = from_json(c, t->branches[branch], inner, depth + 1);
    if (!inner_v) return NULL;
    avro_value_t *v = avro_union(c->a, (int32_t)branch, inner_v);
    v->type = t;
    return v;
}

static avro_value_t *record_from_json(from_ctx *c, const avro_type_t *t, json_t *j, int depth) {
    if (!json_is_object(j)) return from_fail(c, "expected an object for record %s", t->fullname);
    avro_value_t *v = avro_record(c->a, t);
    size_t old = c->path.len;
    for (size_t i = 0; i < t->nfields; i++) {
        const avro_field_t *f = &t->fields[i];
        buf_printf(&c->path, "%s%s", old ? "." : "", f->name);
        json_t *fj = json_object_get(j, f->name);
        bool saved = c->union_first;
        if (!fj) {
            fj = f->default_value;
            c->union_first = true;
        }
        if (!fj) return from_fail(c, "missing, and the field has no default");
        v->list.items[i] = from_json(c, f->type, fj, depth + 1);
        c->union_first = saved;
        if (!v->list.items[i]) return NULL;
        c->path.len = old;
        c->path.data[old] = '\0';
    }
    return v;
}

static avro_value_t *from_json(from_ctx *c, const avro_type_t *t, json_t *j, int depth) {
    if (depth > AVRO_MAX_DEPTH) return from_fail(c, "values nest more than %d deep", AVRO_MAX_DEPTH);
    avro_value_t *v = NULL;
    switch (t->kind) {
    case AVRO_NULL:
        if (!json_is_null(j)) return from_fail(c, "expected null");
        v = make(c->a, AVRO_NULL);
        break;
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j)) return from_fail(c, "expected true or false");
        v = avro_bool(c->a, json_is_true(j));
        break;
    case AVRO_INT:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN || json_integer_value(j) > INT32_MAX)
            return from_fail(c, "expected a 32-bit integer");
        v = avro_int(c->a, (int32_t)json_integer_value(j));
        break;
    case AVRO_LONG:
        if (!json_is_integer(j)) return from_fail(c, "expected an integer");
        v = avro_long(c->a, (int64_t)json_integer_value(j));
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double d;
        if (!json_double(j, &d)) return from_fail(c, "expected a number");
        v = t->kind == AVRO_FLOAT ? avro_float(c->a, (float)d) : avro_double(c->a, d);
        break;
    }
    case AVRO_STRING:
        if (!json_is_string(j)) return from_fail(c, "expected a string");
        v = avro_string_n(c->a, json_string_value(j), json_string_length(j));
        break;
    case AVRO_BYTES: v = json_bytes(c, j, AVRO_BYTES); break;
    case AVRO_FIXED:
        v = json_bytes(c, j, AVRO_FIXED);
        if (v && v->bytes.len != (size_t)t->size)
            return from_fail(c, "expected %d bytes for fixed %s, got %zu", t->size, t->fullname, v->bytes.len);
        break;
    case AVRO_ENUM: {
        const char *s = json_string_value(j);
        size_t i = 0;
        while (s && i < t->nsymbols && strcmp(t->symbols[i], s)) i++;
        if (!s || i == t->nsymbols) return from_fail(c, "expected a symbol of enum %s", t->fullname);
        v = avro_enum(c->a, (int32_t)i);
        break;
    }
    case AVRO_ARRAY: {
        if (!json_is_array(j)) return from_fail(c, "expected an array");
        v = avro_array(c->a);
        size_t old = c->path.len;
        for (size_t i = 0; i < json_array_size(j); i++) {
            buf_printf(&c->path, "[%zu]", i);
            avro_value_t *item = from_json(c, t->items, json_array_get(j, i), depth + 1);
            if (!item) return NULL;
            avro_array_append(c->a, v, item);
            c->path.len = old;
            c->path.data[old] = '\0';
        }
        break;
    }
    case AVRO_MAP: {
        if (!json_is_object(j)) return from_fail(c, "expected an object");
        v = avro_map(c->a);
        const char *key;
        json_t *val;
        size_t old = c->path.len;
        json_object_foreach(j, key, val) {
            buf_printf(&c->path, "[\"%s\"]", key);
            avro_value_t *item = from_json(c, t->values, val, depth + 1);
            if (!item) return NULL;
            avro_map_put(c->a, v, arena_strdup(c->a, key), item);
            c->path.len = old;
            c->path.data[old] = '\0';
        }
        break;
    }
    case AVRO_UNION: return union_from_json(c, t, j, depth);
    case AVRO_RECORD: return record_from_json(c, t, j, depth);
    }
    if (v) v->type = t;
    return v;
}

avro_value_t *avro_value_from_json(arena_t *a, const avro_type_t *t, json_t *json, bool union_first, floe_err *err) {
    from_ctx c = {.a = a, .union_first = union_first, .err = err};
    avro_value_t *v = from_json(&c, t, json, 0);
    buf_free(&c.path);
    return v;
}
