/*
 * schema.c: the shared type model: the compact text form the CLI takes,
 * Iceberg-style fresh field ids, and lookups.
 */
#include "format/schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    fmt_type type;
} type_names[] = {
    {"boolean", FMT_BOOLEAN},
    {"int", FMT_INT},
    {"long", FMT_LONG},
    {"float", FMT_FLOAT},
    {"double", FMT_DOUBLE},
    {"decimal", FMT_DECIMAL},
    {"date", FMT_DATE},
    {"time", FMT_TIME},
    {"timestamp", FMT_TIMESTAMP},
    {"timestamptz", FMT_TIMESTAMPTZ},
    {"timestamp_ns", FMT_TIMESTAMP_NS},
    {"timestamptz_ns", FMT_TIMESTAMPTZ_NS},
    {"string", FMT_STRING},
    {"binary", FMT_BINARY},
    {"uuid", FMT_UUID},
    {"fixed", FMT_FIXED},
    {"struct", FMT_STRUCT},
    {"list", FMT_LIST},
    {"map", FMT_MAP},
};

/* Spellings people carry over from SQL and Spark. */
static const struct {
    const char *name;
    fmt_type type;
} type_aliases[] = {
    {"bool", FMT_BOOLEAN},
    {"integer", FMT_INT},
    {"int32", FMT_INT},
    {"bigint", FMT_LONG},
    {"int64", FMT_LONG},
    {"real", FMT_FLOAT},
    {"float32", FMT_FLOAT},
    {"float64", FMT_DOUBLE},
    {"varchar", FMT_STRING},
    {"text", FMT_STRING},
    {"bytes", FMT_BINARY},
    {"varbinary", FMT_BINARY},
    {"timestamp_tz", FMT_TIMESTAMPTZ},
    {"array", FMT_LIST},
};

const char *fmt_type_name(fmt_type t) {
    for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "unknown";
}

bool fmt_type_is_primitive(fmt_type t) { return t != FMT_STRUCT && t != FMT_LIST && t != FMT_MAP; }

int fmt_type_width(const fmt_field_t *f) {
    switch (f->type) {
    case FMT_BOOLEAN: return 1;
    case FMT_INT:
    case FMT_DATE:
    case FMT_FLOAT: return 4;
    case FMT_LONG:
    case FMT_TIME:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
    case FMT_DOUBLE: return 8;
    case FMT_DECIMAL: return f->precision <= 9 ? 4 : f->precision <= 18 ? 8 : 16;
    case FMT_UUID: return 16;
    case FMT_FIXED: return f->length;
    default: return 0;
    }
}

/* ---- parser ---- */

typedef struct parser {
    const char *s, *p;
    arena_t *a;
    floe_err *err;
} parser;

static void skip_ws(parser *ps) {
    while (*ps->p && isspace((unsigned char)*ps->p)) ps->p++;
}

static bool fail(parser *ps, const char *expected) {
    size_t off = (size_t)(ps->p - ps->s);
    char near[24];
    size_t n = strnlen(ps->p, sizeof near - 1);
    memcpy(near, ps->p, n);
    near[n] = 0;
    return floe_err_set(ps->err, FLOE_EINVAL, "schema at character %zu (near '%s'): expected %s", off + 1,
                        n ? near : "end of text", expected);
}

static bool is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '$'; }

/* An identifier, or a `quoted` / "quoted" name. */
static const char *ident(parser *ps) {
    skip_ws(ps);
    if (*ps->p == '`' || *ps->p == '"') {
        char q = *ps->p++;
        const char *start = ps->p;
        while (*ps->p && *ps->p != q) ps->p++;
        if (!*ps->p || ps->p == start) return NULL;
        const char *r = arena_strndup(ps->a, start, (size_t)(ps->p - start));
        ps->p++;
        return r;
    }
    const char *start = ps->p;
    while (is_ident_char(*ps->p)) ps->p++;
    if (ps->p == start) return NULL;
    return arena_strndup(ps->a, start, (size_t)(ps->p - start));
}

static bool accept(parser *ps, char c) {
    skip_ws(ps);
    if (*ps->p != c) return false;
    ps->p++;
    return true;
}

static bool accept_word(parser *ps, const char *w) {
    skip_ws(ps);
    size_t n = strlen(w);
    if (strncasecmp(ps->p, w, n) || is_ident_char(ps->p[n])) return false;
    ps->p += n;
    return true;
}

static bool number(parser *ps, int32_t lo, int32_t hi, int32_t *out) {
    skip_ws(ps);
    if (!isdigit((unsigned char)*ps->p)) return false;
    long v = 0;
    while (isdigit((unsigned char)*ps->p)) {
        v = v * 10 + (*ps->p++ - '0');
        if (v > hi) return false;
    }
    if (v < lo) return false;
    *out = (int32_t)v;
    return true;
}

static bool parse_type(parser *ps, fmt_field_t *f);

/* `[not null]` after a type */
static void parse_nullability(parser *ps, fmt_field_t *f) {
    const char *save = ps->p;
    if (accept_word(ps, "not")) {
        if (accept_word(ps, "null")) {
            f->required = true;
            return;
        }
        ps->p = save;
    } else if (accept_word(ps, "null")) {
        f->required = false;
    }
}

static bool parse_struct_fields(parser *ps, fmt_field_t *f, char close, bool colon) {
    size_t cap = 8;
    f->children = arena_zalloc(ps->a, cap * sizeof *f->children);
    f->nchildren = 0;
    for (;;) {
        if (close && accept(ps, close) && f->nchildren == 0) return fail(ps, "a field inside struct<...>");
        fmt_field_t c = {0};
        c.name = ident(ps);
        if (!c.name) return fail(ps, "a field name");
        for (int32_t i = 0; i < f->nchildren; i++)
            if (!strcmp(f->children[i].name, c.name))
                return floe_err_set(ps->err, FLOE_EINVAL, "schema: field '%s' appears twice; names must be unique",
                                    c.name);
        if (colon) accept(ps, ':');
        if (!parse_type(ps, &c)) return false;
        parse_nullability(ps, &c);
        if ((size_t)f->nchildren == cap) {
            fmt_field_t *n = arena_zalloc(ps->a, cap * 2 * sizeof *n);
            memcpy(n, f->children, cap * sizeof *n);
            f->children = n;
            cap *= 2;
        }
        f->children[f->nchildren++] = c;
        if (accept(ps, ',')) continue;
        if (close) {
            if (accept(ps, close)) return true;
            return fail(ps, close == '>' ? "',' or '>'" : "',' or ')'");
        }
        skip_ws(ps);
        if (!*ps->p) return true;
        return fail(ps, "',' between fields");
    }
}

static fmt_field_t *one_child(parser *ps, const char *name, bool required) {
    fmt_field_t *c = arena_zalloc(ps->a, sizeof *c);
    c->name = name;
    c->required = required;
    return c;
}

static bool parse_type(parser *ps, fmt_field_t *f) {
    skip_ws(ps);
    const char *start = ps->p;
    const char *name = ident(ps);
    if (!name)
        return fail(ps, "a type (boolean, int, long, float, double, decimal(p,s), date, time, timestamp, "
                        "timestamptz, string, binary, uuid, fixed[n], list<T>, map<K,V>, struct<...>)");
    bool found = false;
    for (size_t i = 0; i < sizeof type_names / sizeof *type_names && !found; i++)
        if (!strcasecmp(name, type_names[i].name)) f->type = type_names[i].type, found = true;
    for (size_t i = 0; i < sizeof type_aliases / sizeof *type_aliases && !found; i++)
        if (!strcasecmp(name, type_aliases[i].name)) f->type = type_aliases[i].type, found = true;
    if (!found) {
        ps->p = start;
        return fail(ps, "a type (boolean, int, long, float, double, decimal(p,s), date, time, timestamp, "
                        "timestamptz, string, binary, uuid, fixed[n], list<T>, map<K,V>, struct<...>)");
    }
    switch (f->type) {
    case FMT_DECIMAL:
        if (!accept(ps, '(') || !number(ps, 1, 38, &f->precision)) return fail(ps, "decimal(P,S) with P in 1..38");
        if (!accept(ps, ',') || !number(ps, 0, f->precision, &f->scale))
            return fail(ps, "a scale between 0 and the precision in decimal(P,S)");
        if (!accept(ps, ')')) return fail(ps, "')' closing decimal(P,S)");
        return true;
    case FMT_FIXED: {
        char close = accept(ps, '[') ? ']' : accept(ps, '(') ? ')' : 0;
        if (!close || !number(ps, 1, 1 << 20, &f->length) || !accept(ps, close))
            return fail(ps, "fixed[N] with N in 1..1048576");
        return true;
    }
    case FMT_LIST: {
        if (!accept(ps, '<')) return fail(ps, "'<' after list");
        fmt_field_t *e = one_child(ps, "element", false);
        if (!parse_type(ps, e)) return false;
        parse_nullability(ps, e);
        if (!accept(ps, '>')) return fail(ps, "'>' closing list<T>");
        f->children = e;
        f->nchildren = 1;
        return true;
    }
    case FMT_MAP: {
        if (!accept(ps, '<')) return fail(ps, "'<' after map");
        fmt_field_t *kv = arena_zalloc(ps->a, 2 * sizeof *kv);
        kv[0].name = "key";
        kv[0].required = true;
        kv[1].name = "value";
        if (!parse_type(ps, &kv[0])) return false;
        if (!accept(ps, ',')) return fail(ps, "',' between the key and value types of map<K,V>");
        if (!parse_type(ps, &kv[1])) return false;
        parse_nullability(ps, &kv[1]);
        if (!accept(ps, '>')) return fail(ps, "'>' closing map<K,V>");
        f->children = kv;
        f->nchildren = 2;
        return true;
    }
    case FMT_STRUCT:
        if (!accept(ps, '<')) return fail(ps, "'<' after struct");
        return parse_struct_fields(ps, f, '>', true);
    default: return true;
    }
}

/* Iceberg's fresh ids: each struct's (or list's, map's) own children first,
 * then their descendants, breadth first. */
static void assign_ids(fmt_field_t *root, int32_t *next) {
    size_t cap = 64, head = 0, tail = 0;
    fmt_field_t **q = malloc(cap * sizeof *q);
    q[tail++] = root;
    while (head < tail) {
        fmt_field_t *f = q[head++];
        for (int32_t i = 0; i < f->nchildren; i++) f->children[i].id = (*next)++;
        for (int32_t i = 0; i < f->nchildren; i++) {
            if (tail == cap) q = realloc(q, (cap *= 2) * sizeof *q);
            q[tail++] = &f->children[i];
        }
    }
    free(q);
}

bool fmt_schema_parse(const char *text, arena_t *a, fmt_schema_t *out, floe_err *err) {
    parser ps = {.s = text, .p = text, .a = a, .err = err};
    memset(out, 0, sizeof *out);
    out->root.type = FMT_STRUCT;
    out->root.name = "schema";
    out->root.required = true;
    skip_ws(&ps);
    if (!*ps.p) return floe_err_set(err, FLOE_EINVAL, "schema is empty; expected 'name type, name type, ...'");
    if (!parse_struct_fields(&ps, &out->root, 0, false)) return false;
    int32_t next = 1;
    assign_ids(&out->root, &next);
    out->max_field_id = next - 1;
    return true;
}

void fmt_type_format(const fmt_field_t *f, buf_t *out) {
    switch (f->type) {
    case FMT_DECIMAL: buf_printf(out, "decimal(%d,%d)", f->precision, f->scale); return;
    case FMT_FIXED: buf_printf(out, "fixed[%d]", f->length); return;
    case FMT_LIST:
        buf_puts(out, "list<");
        fmt_type_format(&f->children[0], out);
        if (f->children[0].required) buf_puts(out, " not null");
        buf_putc(out, '>');
        return;
    case FMT_MAP:
        buf_puts(out, "map<");
        fmt_type_format(&f->children[0], out);
        buf_puts(out, ", ");
        fmt_type_format(&f->children[1], out);
        if (f->children[1].required) buf_puts(out, " not null");
        buf_putc(out, '>');
        return;
    case FMT_STRUCT:
        buf_puts(out, "struct<");
        for (int32_t i = 0; i < f->nchildren; i++) {
            if (i) buf_puts(out, ", ");
            buf_printf(out, "%s: ", f->children[i].name);
            fmt_type_format(&f->children[i], out);
            if (f->children[i].required) buf_puts(out, " not null");
        }
        buf_putc(out, '>');
        return;
    default: buf_puts(out, fmt_type_name(f->type));
    }
}

void fmt_schema_format(const fmt_schema_t *s, buf_t *out) {
    for (int32_t i = 0; i < s->root.nchildren; i++) {
        const fmt_field_t *f = &s->root.children[i];
        if (i) buf_puts(out, ", ");
        buf_printf(out, "%s ", f->name);
        fmt_type_format(f, out);
        if (f->required) buf_puts(out, " not null");
    }
}

static const fmt_field_t *find(const fmt_field_t *f, int32_t id) {
    if (f->id == id) return f;
    for (int32_t i = 0; i < f->nchildren; i++) {
        const fmt_field_t *r = find(&f->children[i], id);
        if (r) return r;
    }
    return NULL;
}

const fmt_field_t *fmt_schema_find(const fmt_schema_t *s, int32_t id) {
    if (id <= 0) return NULL;
    return find(&s->root, id);
}

static int32_t max_id(const fmt_field_t *f) {
    int32_t m = f->id;
    for (int32_t i = 0; i < f->nchildren; i++) {
        int32_t c = max_id(&f->children[i]);
        if (c > m) m = c;
    }
    return m;
}

void fmt_schema_finish(fmt_schema_t *s) { s->max_field_id = max_id(&s->root); }
