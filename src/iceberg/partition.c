/*
 * partition.c: partition specs. The CLI form ("day(ts), bucket(16, id),
 * sym, hour(ts) as ts_hr") parsed against a schema with the Java builder's
 * names and checks, the partition tuple's type, and partition paths
 * ("ts_day=2026-03-28/id_bucket=5") as Java's PartitionSpec.partitionToPath
 * writes them: each value in its transform's human form, names and values
 * URL-encoded the way java.net.URLEncoder does.
 *
 * Also the column lookups by name (dotted through structs) and by id that
 * binding expressions shares.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "iceberg/iceberg.h"
#include "iceberg/value_int.h"

/* ---- columns by name and by id ---- */

static bool name_eq(const char *a, const char *b, size_t n, bool case_sensitive) {
    if (strlen(a) != n) return false;
    return case_sensitive ? memcmp(a, b, n) == 0 : strncasecmp(a, b, n) == 0;
}

/* A field among s's children named by name[0..n), descending through
 * structs at dots. A whole-name match wins over a dotted path. */
static const fmt_field_t *find_in(const fmt_field_t *s, const char *name, size_t n, bool cs) {
    for (int32_t i = 0; i < s->nchildren; i++)
        if (name_eq(s->children[i].name, name, n, cs)) return &s->children[i];
    for (size_t dot = 0; dot < n; dot++) {
        if (name[dot] != '.') continue;
        for (int32_t i = 0; i < s->nchildren; i++) {
            const fmt_field_t *c = &s->children[i];
            if (c->type == FMT_STRUCT && name_eq(c->name, name, dot, cs)) {
                const fmt_field_t *r = find_in(c, name + dot + 1, n - dot - 1, cs);
                if (r) return r;
            }
        }
    }
    return NULL;
}

const fmt_field_t *ice_find_column(const fmt_schema_t *s, const char *name, size_t n, bool case_sensitive) {
    const fmt_field_t *f = find_in(&s->root, name, n, true);
    if (!f && !case_sensitive) f = find_in(&s->root, name, n, false);
    return f;
}

/* The dotted name of field id under f (prefix so far in b). */
static bool name_of(const fmt_field_t *f, int32_t id, buf_t *b) {
    for (int32_t i = 0; i < f->nchildren; i++) {
        const fmt_field_t *c = &f->children[i];
        size_t mark = b->len;
        if (mark) buf_putc(b, '.');
        buf_puts(b, c->name);
        if (c->id == id) return true;
        if (c->type == FMT_STRUCT && name_of(c, id, b)) return true;
        b->len = mark;
        if (b->data) b->data[mark] = 0;
    }
    return false;
}

const char *ice_column_name(const fmt_schema_t *s, int32_t id, arena_t *a) {
    buf_t b = BUF_INIT;
    const char *r = name_of(&s->root, id, &b) ? arena_strndup(a, b.data, b.len) : NULL;
    buf_free(&b);
    return r;
}

/* ---- the CLI form ---- */

typedef struct spec_parser {
    const char *text, *p;
    const fmt_schema_t *schema;
    arena_t *a;
    floe_err *err;
} spec_parser;

typedef struct token {
    enum { TK_END, TK_NAME, TK_NUMBER, TK_PUNCT } kind;
    const char *s; /* name text (unquoted), in the arena */
    size_t n;
    char punct;
} token;

static bool perr(spec_parser *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool perr(spec_parser *sp, const char *fmt, ...) {
    char msg[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return floe_err_set(sp->err, FLOE_EINVAL, "partition spec '%.80s%s': %s", sp->text,
                        strlen(sp->text) > 80 ? "..." : "", msg);
}

static bool next_token(spec_parser *sp, token *t) {
    while (isspace((unsigned char)*sp->p)) sp->p++;
    const char *p = sp->p;
    memset(t, 0, sizeof *t);
    if (!*p) return true;
    if (strchr("(),", *p)) {
        t->kind = TK_PUNCT;
        t->punct = *p;
        sp->p++;
        return true;
    }
    if (*p == '"' || *p == '`') {
        char q = *p;
        buf_t b = BUF_INIT;
        for (p++;; p++) {
            if (!*p) {
                buf_free(&b);
                return perr(sp, "a quoted name is not closed; end it with %c", q);
            }
            if (*p == q) {
                if (p[1] != q) break;
                p++;
            }
            buf_putc(&b, *p);
        }
        t->kind = TK_NAME;
        t->s = arena_strndup(sp->a, b.data ? b.data : "", b.len);
        t->n = b.len;
        buf_free(&b);
        sp->p = p + 1;
        return true;
    }
    const char *start = p;
    while (*p && !isspace((unsigned char)*p) && !strchr("(),\"`", *p)) p++;
    t->s = arena_strndup(sp->a, start, (size_t)(p - start));
    t->n = (size_t)(p - start);
    bool digits = true;
    for (size_t i = 0; i < t->n; i++) digits = digits && isdigit((unsigned char)start[i]);
    t->kind = digits ? TK_NUMBER : TK_NAME;
    sp->p = p;
    return true;
}

static const struct {
    const char *name;
    ice_transform_kind kind;
    const char *suffix; /* Java's default partition name suffix */
} spec_funcs[] = {
    {"identity", ICE_TR_IDENTITY, ""},  {"bucket", ICE_TR_BUCKET, "_bucket"}, {"truncate", ICE_TR_TRUNCATE, "_trunc"},
    {"year", ICE_TR_YEAR, "_year"},     {"years", ICE_TR_YEAR, "_year"},      {"month", ICE_TR_MONTH, "_month"},
    {"months", ICE_TR_MONTH, "_month"}, {"day", ICE_TR_DAY, "_day"},          {"days", ICE_TR_DAY, "_day"},
    {"hour", ICE_TR_HOUR, "_hour"},     {"hours", ICE_TR_HOUR, "_hour"},      {"void", ICE_TR_VOID, "_null"},
};

static const char *suffix_of(ice_transform_kind k) {
    for (size_t i = 0; i < sizeof spec_funcs / sizeof *spec_funcs; i++)
        if (spec_funcs[i].kind == k) return spec_funcs[i].suffix;
    return "";
}

/* "id, ts, sym" for messages. */
static void column_list(const fmt_schema_t *s, buf_t *b) {
    for (int32_t i = 0; i < s->root.nchildren; i++) {
        if (i) buf_puts(b, ", ");
        buf_puts(b, s->root.children[i].name);
    }
}

/* Finds the source column; it must be primitive and outside lists and maps
 * (find_in only descends structs, so it is). */
static bool source_column(spec_parser *sp, const token *t, const fmt_field_t **out) {
    const fmt_field_t *f = ice_find_column(sp->schema, t->s, t->n, true);
    if (!f) {
        buf_t cols = BUF_INIT;
        column_list(sp->schema, &cols);
        perr(sp,
             "no column '%s' in the table; its columns are: %s (names are case-sensitive; reach struct fields "
             "as parent.child)",
             t->s, cols.data ? cols.data : "(none)");
        buf_free(&cols);
        return false;
    }
    if (!fmt_type_is_primitive(f->type))
        return perr(sp, "column '%s' is of type %s; partition by a primitive column (or a field inside a struct)", t->s,
                    fmt_type_name(f->type));
    *out = f;
    return true;
}

/* One field: column | func(args) [as name]. */
static bool parse_field(spec_parser *sp, token *t, ice_partition_field *pf, const fmt_field_t **src) {
    if (t->kind != TK_NAME) return perr(sp, "expected a column or a transform such as day(ts) near '%.20s'", sp->p);
    const char *save = sp->p;
    token open;
    if (!next_token(sp, &open)) return false;
    ice_transform tr = {.kind = ICE_TR_IDENTITY};
    token col = *t;
    if (open.kind == TK_PUNCT && open.punct == '(') {
        size_t k = 0;
        while (k < sizeof spec_funcs / sizeof *spec_funcs && strcasecmp(spec_funcs[k].name, t->s) != 0) k++;
        if (k == sizeof spec_funcs / sizeof *spec_funcs)
            return perr(sp,
                        "unknown transform '%s'; use identity, bucket(N, col), truncate(W, col), year, month, day, "
                        "hour or void",
                        t->s);
        tr.kind = spec_funcs[k].kind;
        bool param = tr.kind == ICE_TR_BUCKET || tr.kind == ICE_TR_TRUNCATE;
        token args[2], close;
        int nargs = 0;
        for (;;) {
            if (nargs == 2) return perr(sp, "%s takes %s", t->s, param ? "two arguments" : "one column");
            if (!next_token(sp, &args[nargs])) return false;
            nargs++;
            if (!next_token(sp, &close)) return false;
            if (close.kind == TK_PUNCT && close.punct == ')') break;
            if (close.kind != TK_PUNCT || close.punct != ',') return perr(sp, "expected ',' or ')' in %s(...)", t->s);
        }
        const char *form = tr.kind == ICE_TR_BUCKET     ? "bucket(16, id)"
                           : tr.kind == ICE_TR_TRUNCATE ? "truncate(4, sym)"
                                                        : NULL;
        if (param) {
            /* Spark writes bucket(16, id); truncate(sym, 4) is accepted too */
            int num = nargs == 2 && args[0].kind == TK_NUMBER ? 0 : nargs == 2 && args[1].kind == TK_NUMBER ? 1 : -1;
            if (num < 0 || args[1 - num].kind != TK_NAME)
                return perr(sp, "%s needs a number and a column, as in %s", t->s, form);
            uint64_t v;
            if (!str_to_u64(args[num].s, &v) || v < 1 || v > INT32_MAX)
                return perr(sp, "%s(%s, ...): the %s must be 1..2147483647", t->s, args[num].s,
                            tr.kind == ICE_TR_BUCKET ? "number of buckets" : "width");
            tr.param = (int32_t)v;
            col = args[1 - num];
        } else {
            if (nargs != 1 || args[0].kind != TK_NAME)
                return perr(sp, "%s takes one column, as in %s(ts)", t->s, spec_funcs[k].name);
            col = args[0];
        }
    } else {
        sp->p = save; /* a bare column */
    }
    if (!source_column(sp, &col, src)) return false;
    fmt_field_t rt;
    floe_err terr = {0};
    if (!ice_transform_result_type(&tr, *src, &rt, &terr)) return perr(sp, "column '%s': %s", col.s, terr.msg);
    pf->source_id = (*src)->id;
    pf->transform = tr;
    const char *full = ice_column_name(sp->schema, (*src)->id, sp->a);
    pf->name = arena_sprintf(sp->a, "%s%s", full, suffix_of(tr.kind));

    /* [as name] */
    save = sp->p;
    token as;
    if (!next_token(sp, &as)) return false;
    if (as.kind == TK_NAME && strcasecmp(as.s, "as") == 0) {
        token name;
        if (!next_token(sp, &name)) return false;
        if (name.kind == TK_END || name.kind == TK_PUNCT || name.n == 0)
            return perr(sp, "'as' needs a partition name after it, as in hour(ts) as ts_hr");
        pf->name = name.s;
    } else {
        sp->p = save;
    }
    return true;
}

static bool time_kind(ice_transform_kind k) {
    return k == ICE_TR_YEAR || k == ICE_TR_MONTH || k == ICE_TR_DAY || k == ICE_TR_HOUR;
}

/* The Java builder's checks: names unique and not another column's name,
 * one time transform per source, no transform twice on a source. */
static bool check_field(spec_parser *sp, const ice_partition_field *fs, int32_t n, const fmt_field_t *src) {
    const ice_partition_field *f = &fs[n];
    const fmt_field_t *same = ice_find_column(sp->schema, f->name, strlen(f->name), true);
    if (same && !(f->transform.kind == ICE_TR_IDENTITY && same->id == f->source_id))
        return perr(sp, "partition name '%s' is the name of a column; name it differently with 'as'", f->name);
    for (int32_t i = 0; i < n; i++) {
        const ice_partition_field *g = &fs[i];
        if (strcmp(g->name, f->name) == 0)
            return perr(sp, "partition name '%s' is used twice; rename one with 'as'", f->name);
        if (g->source_id != f->source_id) continue;
        bool redundant = (time_kind(g->transform.kind) && time_kind(f->transform.kind)) ||
                         (g->transform.kind == f->transform.kind && g->transform.param == f->transform.param);
        if (redundant)
            return perr(sp, "'%s' and '%s' both partition column '%s' by %s; keep one of them", g->name, f->name,
                        src->name, time_kind(f->transform.kind) ? "time" : "the same transform");
    }
    return true;
}

bool ice_partition_spec_parse(const char *text, const fmt_schema_t *schema, int32_t last_partition_id, arena_t *a,
                              ice_partition_spec *out, floe_err *err) {
    spec_parser sp = {.text = text, .p = text, .schema = schema, .a = a, .err = err};
    memset(out, 0, sizeof *out);
    int32_t cap = 4;
    out->fields = arena_zalloc(a, (size_t)cap * sizeof *out->fields);
    token t;
    if (!next_token(&sp, &t)) return false;
    if (t.kind == TK_END) return true; /* unpartitioned */
    for (;;) {
        if (out->nfields == cap) {
            ice_partition_field *more = arena_zalloc(a, (size_t)cap * 2 * sizeof *more);
            memcpy(more, out->fields, (size_t)cap * sizeof *more);
            out->fields = more;
            cap *= 2;
        }
        ice_partition_field *pf = &out->fields[out->nfields];
        const fmt_field_t *src;
        if (!parse_field(&sp, &t, pf, &src)) return false;
        pf->field_id = last_partition_id + 1 + out->nfields;
        if (!check_field(&sp, out->fields, out->nfields, src)) return false;
        out->nfields++;
        if (!next_token(&sp, &t)) return false;
        if (t.kind == TK_END) return true;
        if (t.kind != TK_PUNCT || t.punct != ',')
            return perr(&sp, "expected ',' between partition fields near '%.20s'", t.s ? t.s : "");
        if (!next_token(&sp, &t)) return false;
    }
}

bool ice_partition_spec_is_unpartitioned(const ice_partition_spec *spec) {
    for (int32_t i = 0; i < spec->nfields; i++)
        if (spec->fields[i].transform.kind != ICE_TR_VOID) return false;
    return true;
}

/* ---- the partition tuple's type ---- */

bool ice_partition_type(const ice_partition_spec *spec, const fmt_schema_t *schema, arena_t *a, fmt_field_t *out,
                        floe_err *err) {
    memset(out, 0, sizeof *out);
    out->type = FMT_STRUCT;
    out->name = "partition";
    out->required = true;
    out->nchildren = spec->nfields;
    out->children = arena_zalloc(a, (size_t)(spec->nfields ? spec->nfields : 1) * sizeof *out->children);
    for (int32_t i = 0; i < spec->nfields; i++) {
        const ice_partition_field *pf = &spec->fields[i];
        fmt_field_t *c = &out->children[i];
        const fmt_field_t *src = fmt_schema_find(schema, pf->source_id);
        if (!src) {
            /* a dropped source: void fields and unknown transforms still read */
            if (pf->transform.kind == ICE_TR_VOID)
                c->type = FMT_INT;
            else if (pf->transform.kind == ICE_TR_UNKNOWN)
                c->type = FMT_STRING;
            else
                return floe_err_set(err, FLOE_EINVAL,
                                    "partition field '%s' (id %d): its source column id %d is not in the schema",
                                    pf->name, pf->field_id, pf->source_id);
        } else {
            floe_err terr = {0};
            if (!ice_transform_result_type(&pf->transform, src, c, &terr))
                return floe_err_set(err, FLOE_EINVAL, "partition field '%s' on column '%s': %s", pf->name, src->name,
                                    terr.msg);
        }
        c->id = pf->field_id;
        c->name = pf->name;
        c->required = false;
    }
    return true;
}

/* ---- human forms (Java's Transform.toHumanString) ---- */

static void pad_number(buf_t *out, int64_t v, int width) { buf_printf(out, "%0*lld", width, (long long)v); }

/* java.time's LocalDate.toString year: four digits, '+' past 9999. */
static void java_date(int64_t days, buf_t *out) {
    int64_t y;
    unsigned m, d;
    fmt_civil_from_days(days, &y, &m, &d);
    if (y > 9999) buf_putc(out, '+');
    if (y < 0)
        buf_printf(out, "-%04lld", (long long)-y);
    else
        pad_number(out, y, 4);
    buf_printf(out, "-%02u-%02u", m, d);
}

/* LocalTime.toString: HH:mm, then :ss when seconds or a fraction, the
 * fraction in 3, 6 or 9 digits. */
static void java_time(int64_t nanos_of_day, buf_t *out) {
    int64_t s = nanos_of_day / 1000000000, ns = nanos_of_day % 1000000000;
    buf_printf(out, "%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60));
    if (s % 60 || ns) buf_printf(out, ":%02lld", (long long)(s % 60));
    if (!ns) return;
    if (ns % 1000000 == 0)
        buf_printf(out, ".%03lld", (long long)(ns / 1000000));
    else if (ns % 1000 == 0)
        buf_printf(out, ".%06lld", (long long)(ns / 1000));
    else
        buf_printf(out, ".%09lld", (long long)ns);
}

static void java_timestamp(const ice_value *v, buf_t *out) {
    bool nanos = ice_type_is_nanos(v->type);
    int64_t per_day = ICE_MICROS_PER_DAY * (nanos ? 1000 : 1);
    int64_t days = ice_floor_div(v->v.i64, per_day), rest = v->v.i64 - days * per_day;
    java_date(days, out);
    buf_putc(out, 'T');
    java_time(nanos ? rest : rest * 1000, out);
    if (v->type == FMT_TIMESTAMPTZ || v->type == FMT_TIMESTAMPTZ_NS) buf_putc(out, 'Z');
}

/* Float.toString / Double.toString: plain for 1e-3 <= |x| < 1e7, else
 * computerized scientific ("1.0E10"), the shortest digits that read back. */
static void java_real(double d, bool is_float, buf_t *out) {
    if (isnan(d)) {
        buf_puts(out, "NaN");
        return;
    }
    if (isinf(d)) {
        buf_puts(out, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        buf_puts(out, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    char digits[24];
    int exp, nd = ice_shortest_digits(d, is_float, digits, &exp);
    if (signbit(d)) buf_putc(out, '-');
    double mag = fabs(d);
    if (mag >= 1e-3 && mag < 1e7) {
        ice_format_plain_digits(digits, nd, exp, out);
        return;
    }
    buf_putc(out, digits[0]);
    buf_putc(out, '.');
    if (nd > 1)
        buf_append(out, digits + 1, (size_t)(nd - 1));
    else
        buf_putc(out, '0');
    buf_printf(out, "E%d", exp);
}

/* BigDecimal.toString: plain unless the adjusted exponent is below -6. */
static void java_decimal(const ice_value *v, buf_t *out) {
    buf_t plain = BUF_INIT;
    ice_value u = *v;
    u.scale = 0;
    ice_value_format(&u, &plain); /* the unscaled digits */
    const char *digits = plain.data;
    bool neg = digits[0] == '-';
    if (neg) digits++;
    int nd = (int)strlen(digits);
    int adjusted = nd - 1 - v->scale;
    if (adjusted >= -6) {
        ice_value_format(v, out);
    } else {
        if (neg) buf_putc(out, '-');
        buf_putc(out, digits[0]);
        if (nd > 1) {
            buf_putc(out, '.');
            buf_puts(out, digits + 1);
        }
        buf_printf(out, "E%d", adjusted);
    }
    buf_free(&plain);
}

/* TransformUtil.humanDay: yyyy-MM-dd */
static void human_day(int64_t days, buf_t *out) {
    int64_t y;
    unsigned m, d;
    fmt_civil_from_days(days, &y, &m, &d);
    pad_number(out, y, 4);
    buf_printf(out, "-%02u-%02u", m, d);
}

void ice_partition_value_format(const ice_transform *t, const ice_value *v, buf_t *out) {
    if (v->is_null || t->kind == ICE_TR_VOID) {
        buf_puts(out, "null");
        return;
    }
    switch (t->kind) {
    case ICE_TR_YEAR: pad_number(out, 1970 + v->v.i64, 4); return;
    case ICE_TR_MONTH:
        pad_number(out, 1970 + ice_floor_div(v->v.i64, 12), 4);
        buf_printf(out, "-%02lld", (long long)(1 + ice_floor_mod(v->v.i64, 12)));
        return;
    case ICE_TR_DAY: human_day(v->v.i64, out); return;
    case ICE_TR_HOUR: {
        int64_t days = ice_floor_div(v->v.i64, 24);
        int64_t y;
        unsigned m, d;
        fmt_civil_from_days(days, &y, &m, &d);
        pad_number(out, y, 4);
        buf_printf(out, "-%02u-%02u-%02lld", m, d, (long long)(v->v.i64 - days * 24));
        return;
    }
    default: break;
    }
    switch (v->type) {
    case FMT_DATE: human_day(v->v.i64, out); return;
    case FMT_TIME: java_time(v->v.i64 * 1000, out); return;
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: java_timestamp(v, out); return;
    case FMT_FLOAT:
    case FMT_DOUBLE: java_real(v->v.f64, v->type == FMT_FLOAT, out); return;
    case FMT_DECIMAL: java_decimal(v, out); return;
    case FMT_BINARY:
    case FMT_FIXED: {
        char *b64 = malloc(4 * ((size_t)v->len + 2) / 3 + 4);
        if (!b64) abort();
        size_t n = str_base64(v->bytes, v->len, b64);
        buf_append(out, b64, n);
        free(b64);
        return;
    }
    default: ice_value_format(v, out); return;
    }
}

/* ---- paths ---- */

/* java.net.URLEncoder with UTF-8: letters, digits and . - * _ stay; a space
 * becomes '+'; every other byte is %XX. */
static void url_encode_java(const char *s, size_t n, buf_t *out) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '.' || c == '-' || c == '*' || c == '_') {
            buf_putc(out, (char)c);
        } else if (c == ' ') {
            buf_putc(out, '+');
        } else {
            buf_putc(out, '%');
            buf_putc(out, hex[c >> 4]);
            buf_putc(out, hex[c & 15]);
        }
    }
}

void ice_partition_path(const ice_partition_spec *spec, const fmt_schema_t *schema, const ice_value *tuple,
                        buf_t *out) {
    (void)schema;
    buf_t v = BUF_INIT;
    for (int32_t i = 0; i < spec->nfields; i++) {
        const ice_partition_field *pf = &spec->fields[i];
        if (i) buf_putc(out, '/');
        url_encode_java(pf->name, strlen(pf->name), out);
        buf_putc(out, '=');
        buf_reset(&v);
        ice_partition_value_format(&pf->transform, &tuple[i], &v);
        url_encode_java(v.data ? v.data : "", v.len, out);
    }
    buf_free(&v);
}
