/*
 * expr_parse.c: filter expressions as people write them on the command
 * line, bound to a schema, and printed back.
 *
 *   symbol = 'BTC' and ts >= '2026-03-28' or not (px < 10)
 *
 * Operators =, ==, !=, <>, <, <=, >, >=, in (...), not in (...), is [not]
 * null, is [not] nan, starts_with(col, 'x'), col [not] like 'x%'; and, or,
 * not, parentheses, true, false. Keywords are case-insensitive; columns are
 * identifiers (dotted into structs) or "quoted". Strings are in single
 * quotes, '' for a quote. Literals are kept as written until binding
 * types them by their column (ice_value_parse), so '2026-03-28' against a
 * timestamptz is midnight UTC.
 *
 * Binding also pushes NOT down to the predicates (Java's RewriteNot), folds
 * is null on required columns, and folds comparisons of an int column with
 * integers outside the int range.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "iceberg/expr_int.h"
#include "iceberg/value_int.h"

#define MAX_DEPTH 200

/* ---- nodes ---- */

ice_expr *ice_expr_node(arena_t *a, ice_expr_op op) {
    ice_expr *e = arena_zalloc(a, sizeof *e);
    e->op = op;
    return e;
}

ice_expr *ice_expr_const(arena_t *a, bool v) { return ice_expr_node(a, v ? ICE_EX_TRUE : ICE_EX_FALSE); }

ice_expr *ice_expr_and(arena_t *a, ice_expr *l, ice_expr *r) {
    if (l->op == ICE_EX_FALSE || r->op == ICE_EX_TRUE) return l;
    if (r->op == ICE_EX_FALSE || l->op == ICE_EX_TRUE) return r;
    ice_expr *e = ice_expr_node(a, ICE_EX_AND);
    e->left = l;
    e->right = r;
    return e;
}

ice_expr *ice_expr_or(arena_t *a, ice_expr *l, ice_expr *r) {
    if (l->op == ICE_EX_TRUE || r->op == ICE_EX_FALSE) return l;
    if (r->op == ICE_EX_TRUE || l->op == ICE_EX_FALSE) return r;
    ice_expr *e = ice_expr_node(a, ICE_EX_OR);
    e->left = l;
    e->right = r;
    return e;
}

ice_expr_op ice_expr_negate_op(ice_expr_op op) {
    switch (op) {
    case ICE_EX_TRUE: return ICE_EX_FALSE;
    case ICE_EX_FALSE: return ICE_EX_TRUE;
    case ICE_EX_EQ: return ICE_EX_NE;
    case ICE_EX_NE: return ICE_EX_EQ;
    case ICE_EX_LT: return ICE_EX_GE;
    case ICE_EX_GE: return ICE_EX_LT;
    case ICE_EX_LE: return ICE_EX_GT;
    case ICE_EX_GT: return ICE_EX_LE;
    case ICE_EX_IN: return ICE_EX_NOT_IN;
    case ICE_EX_NOT_IN: return ICE_EX_IN;
    case ICE_EX_IS_NULL: return ICE_EX_NOT_NULL;
    case ICE_EX_NOT_NULL: return ICE_EX_IS_NULL;
    case ICE_EX_IS_NAN: return ICE_EX_NOT_NAN;
    case ICE_EX_NOT_NAN: return ICE_EX_IS_NAN;
    case ICE_EX_STARTS_WITH: return ICE_EX_NOT_STARTS_WITH;
    case ICE_EX_NOT_STARTS_WITH: return ICE_EX_STARTS_WITH;
    default: return op;
    }
}

/* ---- tokens ---- */

typedef enum { T_END, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_OP, T_LPAREN, T_RPAREN, T_COMMA } tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *s; /* start in the text */
    size_t n;
} tok;

typedef struct parser {
    const char *text;
    const char *p;
    tok t; /* the current token */
    arena_t *a;
    floe_err *err;
    int depth;
} parser;

static bool perr(parser *ps, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool perr(parser *ps, const char *at, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t pos = (size_t)(at - ps->text);
    size_t len = strlen(ps->text);
    return floe_err_set(ps->err, FLOE_EINVAL, "filter '%.100s%s': %s (at character %zu%s%.20s%s)", ps->text,
                        len > 100 ? "..." : "", msg, pos + 1, *at ? ", near '" : "", at, *at ? "'" : "");
}

static bool ident_start(int c) { return isalpha(c) || c == '_'; }
static bool ident_char(int c) { return isalnum(c) || c == '_' || c == '.' || c == '$'; }

/* A quoted span starting at p (quote char q, doubled to escape); returns
 * the length including both quotes, or 0 if it is not closed. */
static size_t quoted_len(const char *p, char q) {
    size_t i = 1;
    for (;;) {
        if (!p[i]) return 0;
        if (p[i] == q) {
            if (p[i + 1] != q) return i + 1;
            i++;
        }
        i++;
    }
}

static bool next(parser *ps) {
    const char *p = ps->p;
    while (isspace((unsigned char)*p)) p++;
    tok *t = &ps->t;
    t->s = p;
    t->n = 1;
    if (!*p) {
        t->kind = T_END;
        t->n = 0;
    } else if (*p == '(') {
        t->kind = T_LPAREN;
    } else if (*p == ')') {
        t->kind = T_RPAREN;
    } else if (*p == ',') {
        t->kind = T_COMMA;
    } else if (*p == '\'' || *p == '"' || *p == '`') {
        t->kind = *p == '\'' ? T_STRING : T_QIDENT;
        t->n = quoted_len(p, *p);
        if (!t->n)
            return perr(ps, p, "a %s is not closed; end it with %c (double it inside: %c%c)",
                        *p == '\'' ? "string" : "quoted name", *p, *p, *p);
    } else if (strchr("=!<>", *p)) {
        t->kind = T_OP;
        if ((p[0] == '<' && (p[1] == '=' || p[1] == '>')) || (p[0] == '>' && p[1] == '=') ||
            (p[0] == '!' && p[1] == '=') || (p[0] == '=' && p[1] == '='))
            t->n = 2;
        else if (*p == '!')
            return perr(ps, p, "'!' alone is not an operator; use != or not");
    } else if (isdigit((unsigned char)*p) ||
               ((*p == '-' || *p == '+' || *p == '.') && (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        const char *q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '.' || ((*q == '-' || *q == '+') && (q[-1] == 'e' || q[-1] == 'E')))
            q++;
        t->kind = T_NUMBER;
        t->n = (size_t)(q - p);
    } else if (ident_start((unsigned char)*p)) {
        const char *q = p + 1;
        while (ident_char((unsigned char)*q)) q++;
        t->kind = T_IDENT;
        t->n = (size_t)(q - p);
    } else {
        return perr(ps, p, "unexpected character '%c'; quote strings with ' and names with \"", *p);
    }
    ps->p = p + t->n;
    return true;
}

static bool is_kw(const tok *t, const char *kw) {
    return t->kind == T_IDENT && strlen(kw) == t->n && strncasecmp(t->s, kw, t->n) == 0;
}

static const char *const keywords[] = {"and", "or", "not", "in", "is", "null", "nan", "like", "true", "false"};

static bool is_keyword(const tok *t) {
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (is_kw(t, keywords[i])) return true;
    return false;
}

static char *unquote(arena_t *a, const char *s, size_t n) {
    char q = s[0];
    char *out = arena_alloc(a, n);
    size_t k = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        out[k++] = s[i];
        if (s[i] == q) i++;
    }
    out[k] = 0;
    return out;
}

/* ---- grammar ---- */

static bool parse_or(parser *ps, ice_expr **out);

static bool expect(parser *ps, tok_kind k, const char *what) {
    if (ps->t.kind != k) return perr(ps, ps->t.s, "expected %s", what);
    return next(ps);
}

/* A literal as written: 'text' (with its quotes), a number, true, false. */
static bool parse_literal(parser *ps, const char **out) {
    tok *t = &ps->t;
    if (t->kind == T_STRING || t->kind == T_NUMBER || is_kw(t, "true") || is_kw(t, "false")) {
        *out = arena_strndup(ps->a, t->s, t->n);
        return next(ps);
    }
    if (is_kw(t, "null")) return perr(ps, t->s, "compare with null by 'is null' or 'is not null'");
    return perr(ps, t->s, "expected a literal: a 'quoted string', a number, true or false");
}

static bool parse_column(parser *ps, const char **out) {
    tok *t = &ps->t;
    if (t->kind == T_QIDENT) {
        *out = unquote(ps->a, t->s, t->n);
        if (!**out) return perr(ps, t->s, "a quoted column name is empty");
    } else if (t->kind == T_IDENT && !is_keyword(t)) {
        *out = arena_strndup(ps->a, t->s, t->n);
    } else {
        return perr(ps, t->s, "expected a column name (quote it with \" if it is a keyword)");
    }
    return next(ps);
}

static ice_expr *pred_node(parser *ps, ice_expr_op op, const char *col) {
    ice_expr *e = ice_expr_node(ps->a, op);
    e->column = col;
    e->field_id = -1;
    return e;
}

static bool one_literal(parser *ps, ice_expr *e) {
    e->texts = arena_alloc(ps->a, sizeof *e->texts);
    e->nlits = 1;
    return parse_literal(ps, &e->texts[0]);
}

/* starts_with(col, 'x') */
static bool parse_starts_with(parser *ps, ice_expr **out) {
    if (!next(ps) || !expect(ps, T_LPAREN, "'(' after starts_with, as in starts_with(sym, 'BT')")) return false;
    const char *col;
    if (!parse_column(ps, &col)) return false;
    if (!expect(ps, T_COMMA, "',' and a prefix, as in starts_with(sym, 'BT')")) return false;
    ice_expr *e = pred_node(ps, ICE_EX_STARTS_WITH, col);
    if (ps->t.kind != T_STRING) return perr(ps, ps->t.s, "starts_with takes a 'quoted' prefix");
    if (!one_literal(ps, e) || !expect(ps, T_RPAREN, "')' to close starts_with(...)")) return false;
    *out = e;
    return true;
}

/* col like 'prefix%': only prefixes, which is what pruning can use. */
static bool parse_like(parser *ps, ice_expr *e) {
    if (ps->t.kind != T_STRING) return perr(ps, ps->t.s, "like takes a 'quoted' pattern such as 'BT%%'");
    const char *at = ps->t.s;
    char *pat = unquote(ps->a, ps->t.s, ps->t.n);
    size_t n = strlen(pat);
    if (n == 0 || pat[n - 1] != '%' || strchr(pat, '_') || memchr(pat, '%', n - 1))
        return perr(ps, at,
                    "only prefix patterns such as 'BT%%' are supported (no _ and no %% before the end); "
                    "use starts_with(col, 'text') for a prefix with _ in it");
    /* keep the prefix as a quoted literal, as starts_with writes it */
    buf_t b = BUF_INIT;
    buf_putc(&b, '\'');
    for (size_t i = 0; i + 1 < n; i++) {
        if (pat[i] == '\'') buf_putc(&b, '\'');
        buf_putc(&b, pat[i]);
    }
    buf_putc(&b, '\'');
    e->texts = arena_alloc(ps->a, sizeof *e->texts);
    e->texts[0] = arena_strndup(ps->a, b.data, b.len);
    e->nlits = 1;
    buf_free(&b);
    return next(ps);
}

static bool parse_in_list(parser *ps, ice_expr *e) {
    if (!expect(ps, T_LPAREN, "'(' and a list of literals after in, as in sym in ('BTC', 'ETH')")) return false;
    int32_t cap = 4;
    e->texts = arena_alloc(ps->a, (size_t)cap * sizeof *e->texts);
    for (;;) {
        if (e->nlits == cap) {
            const char **more = arena_alloc(ps->a, (size_t)cap * 2 * sizeof *more);
            memcpy(more, e->texts, (size_t)cap * sizeof *more);
            e->texts = more;
            cap *= 2;
        }
        if (!parse_literal(ps, &e->texts[e->nlits])) return false;
        e->nlits++;
        if (ps->t.kind == T_RPAREN) return next(ps);
        if (!expect(ps, T_COMMA, "',' or ')' in the in (...) list")) return false;
    }
}

static bool comparison_op(const tok *t, ice_expr_op *op) {
    if (t->kind != T_OP) return false;
    static const struct {
        const char *s;
        ice_expr_op op;
    } ops[] = {{"=", ICE_EX_EQ}, {"==", ICE_EX_EQ}, {"!=", ICE_EX_NE}, {"<>", ICE_EX_NE},
               {"<", ICE_EX_LT}, {"<=", ICE_EX_LE}, {">", ICE_EX_GT},  {">=", ICE_EX_GE}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strlen(ops[i].s) == t->n && strncmp(ops[i].s, t->s, t->n) == 0) {
            *op = ops[i].op;
            return true;
        }
    return false;
}

/* col op literal | col [not] in (...) | col is [not] null|nan | col [not] like '...' */
static bool parse_predicate(parser *ps, ice_expr **out) {
    const char *col;
    if (is_kw(&ps->t, "starts_with") ||
        (ps->t.kind == T_IDENT && ps->t.n == 11 && strncasecmp(ps->t.s, "starts_with", 11) == 0))
        return parse_starts_with(ps, out);
    if (ps->t.kind == T_STRING || ps->t.kind == T_NUMBER)
        return perr(ps, ps->t.s, "a condition starts with the column, as in px < 10 (not 10 > px)");
    if (!parse_column(ps, &col)) return false;
    ice_expr_op op;
    tok t = ps->t;
    if (comparison_op(&t, &op)) {
        if (!next(ps)) return false;
        ice_expr *e = pred_node(ps, op, col);
        if (!one_literal(ps, e)) return false;
        *out = e;
        return true;
    }
    bool negated = false;
    if (is_kw(&t, "not")) {
        negated = true;
        if (!next(ps)) return false;
        t = ps->t;
        if (!is_kw(&t, "in") && !is_kw(&t, "like")) return perr(ps, t.s, "expected in or like after '%s not'", col);
    }
    if (is_kw(&t, "in")) {
        ice_expr *e = pred_node(ps, negated ? ICE_EX_NOT_IN : ICE_EX_IN, col);
        if (!next(ps) || !parse_in_list(ps, e)) return false;
        *out = e;
        return true;
    }
    if (is_kw(&t, "like")) {
        ice_expr *e = pred_node(ps, negated ? ICE_EX_NOT_STARTS_WITH : ICE_EX_STARTS_WITH, col);
        if (!next(ps) || !parse_like(ps, e)) return false;
        *out = e;
        return true;
    }
    if (is_kw(&t, "is")) {
        if (!next(ps)) return false;
        bool neg = is_kw(&ps->t, "not");
        if (neg && !next(ps)) return false;
        if (is_kw(&ps->t, "null"))
            op = neg ? ICE_EX_NOT_NULL : ICE_EX_IS_NULL;
        else if (is_kw(&ps->t, "nan"))
            op = neg ? ICE_EX_NOT_NAN : ICE_EX_IS_NAN;
        else
            return perr(ps, ps->t.s, "expected null or nan after 'is%s'", neg ? " not" : "");
        *out = pred_node(ps, op, col);
        return next(ps);
    }
    return perr(ps, t.s, "expected an operator after '%s': = != < <= > >= in, not in, is null, like", col);
}

static bool parse_unary(parser *ps, ice_expr **out) {
    if (++ps->depth > MAX_DEPTH) return perr(ps, ps->t.s, "nested more than %d deep", MAX_DEPTH);
    bool ok;
    if (is_kw(&ps->t, "not")) {
        ice_expr *e = ice_expr_node(ps->a, ICE_EX_NOT);
        ok = next(ps) && parse_unary(ps, &e->left);
        *out = e;
    } else if (ps->t.kind == T_LPAREN) {
        ok = next(ps) && parse_or(ps, out) && expect(ps, T_RPAREN, "')' to close '('");
    } else if (is_kw(&ps->t, "true") || is_kw(&ps->t, "false")) {
        *out = ice_expr_const(ps->a, is_kw(&ps->t, "true"));
        ok = next(ps);
    } else if (ps->t.kind == T_END) {
        ok = perr(ps, ps->t.s, "the condition ends early; write a condition such as sym = 'BTC'");
    } else {
        ok = parse_predicate(ps, out);
    }
    ps->depth--;
    return ok;
}

static bool parse_and(parser *ps, ice_expr **out) {
    if (!parse_unary(ps, out)) return false;
    while (is_kw(&ps->t, "and")) {
        ice_expr *e = ice_expr_node(ps->a, ICE_EX_AND);
        e->left = *out;
        if (!next(ps) || !parse_unary(ps, &e->right)) return false;
        *out = e;
    }
    return true;
}

static bool parse_or(parser *ps, ice_expr **out) {
    if (!parse_and(ps, out)) return false;
    while (is_kw(&ps->t, "or")) {
        ice_expr *e = ice_expr_node(ps->a, ICE_EX_OR);
        e->left = *out;
        if (!next(ps) || !parse_and(ps, &e->right)) return false;
        *out = e;
    }
    return true;
}

bool ice_expr_parse(const char *text, arena_t *a, ice_expr **out, floe_err *err) {
    parser ps = {.text = text, .p = text, .a = a, .err = err};
    if (!next(&ps)) return false;
    if (ps.t.kind == T_END)
        return floe_err_set(err, FLOE_EINVAL, "filter is empty; write a condition such as sym = 'BTC'");
    if (!parse_or(&ps, out)) return false;
    if (ps.t.kind != T_END) return perr(&ps, ps.t.s, "expected and, or, or the end");
    return true;
}

/* ---- binding ---- */

typedef struct binder {
    const fmt_schema_t *schema;
    bool case_sensitive;
    arena_t *a;
    floe_err *err;
} binder;

/* "id, ts, pt.lat, pt.name" (struct fields dotted), at most 30 names. */
static void column_names(const fmt_field_t *f, const char *prefix, buf_t *b, int *count) {
    for (int32_t i = 0; i < f->nchildren && *count < 30; i++) {
        const fmt_field_t *c = &f->children[i];
        if (c->type == FMT_STRUCT) {
            buf_t p = BUF_INIT;
            if (prefix) buf_printf(&p, "%s.", prefix);
            buf_puts(&p, c->name);
            column_names(c, p.data, b, count);
            buf_free(&p);
            continue;
        }
        if (b->len) buf_puts(b, ", ");
        if (prefix) buf_printf(b, "%s.", prefix);
        buf_puts(b, c->name);
        (*count)++;
    }
}

static bool unknown_column(binder *bd, const char *col) {
    buf_t names = BUF_INIT;
    int count = 0;
    column_names(&bd->schema->root, NULL, &names, &count);
    floe_err_set(bd->err, FLOE_EINVAL, "filter: no column '%s'; the columns are: %s%s", col,
                 names.data ? names.data : "(none)",
                 bd->case_sensitive ? " (names are case-sensitive; reach struct fields as parent.child)" : "");
    buf_free(&names);
    return false;
}

static const char *type_text(arena_t *a, const fmt_field_t *f) {
    buf_t b = BUF_INIT;
    fmt_type_format(f, &b);
    char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

/* An integer literal beyond an int column's range: every value is below
 * (or above) it, so the comparison is settled. */
static bool int_out_of_range(const char *text, ice_expr_op op, bool *result) {
    int64_t v;
    if (!str_to_i64_range(text, INT64_MIN, INT64_MAX, &v) || (v >= INT32_MIN && v <= INT32_MAX)) return false;
    bool above = v > INT32_MAX;
    switch (op) {
    case ICE_EX_LT:
    case ICE_EX_LE: *result = above; return true;
    case ICE_EX_GT:
    case ICE_EX_GE: *result = !above; return true;
    case ICE_EX_EQ: *result = false; return true;
    case ICE_EX_NE: *result = true; return true;
    default: return false;
    }
}

static bool bind_literal(binder *bd, const ice_expr *e, const fmt_field_t *f, const char *text, ice_value *out) {
    const char *tt = type_text(bd->a, f);
    const char *s = text;
    size_t n = strlen(text);
    if (text[0] == '\'') {
        s = unquote(bd->a, text, n);
        n = strlen(s);
    } else if (f->type == FMT_STRING || f->type == FMT_BINARY || f->type == FMT_FIXED || f->type == FMT_UUID ||
               ice_type_is_timestamp(f->type) || f->type == FMT_DATE || f->type == FMT_TIME) {
        return floe_err_set(bd->err, FLOE_EINVAL, "filter: column '%s' is of type %s; quote the literal: %s %s '%s'",
                            e->column, tt, e->column, e->op == ICE_EX_IN || e->op == ICE_EX_NOT_IN ? "in (" : "=",
                            text);
    } else if ((str_eq_nocase(text, "true") || str_eq_nocase(text, "false")) && f->type != FMT_BOOLEAN) {
        return floe_err_set(bd->err, FLOE_EINVAL, "filter: column '%s' (%s) cannot be compared with %s", e->column, tt,
                            text);
    }
    if (!ice_value_parse(f, s, n, bd->a, out, bd->err))
        return floe_err_wrap(bd->err, "filter: column '%s' (%s) cannot be compared with %s", e->column, tt, text);
    if ((f->type == FMT_FLOAT || f->type == FMT_DOUBLE) && isnan(out->v.f64))
        return floe_err_set(bd->err, FLOE_EINVAL,
                            "filter: %s compared with NaN never matches; write '%s is nan' or '%s is not nan'",
                            e->column, e->column, e->column);
    return true;
}

static bool bind_pred(binder *bd, const ice_expr *e, ice_expr **out) {
    const fmt_field_t *f = ice_find_column(bd->schema, e->column, strlen(e->column), bd->case_sensitive);
    if (!f) return unknown_column(bd, e->column);
    if (!fmt_type_is_primitive(f->type))
        return floe_err_set(bd->err, FLOE_EINVAL, "filter: column '%s' is of type %s; filter on a primitive column%s",
                            e->column, fmt_type_name(f->type),
                            f->type == FMT_STRUCT ? " (one of its fields: parent.child)" : "");
    const char *tt = type_text(bd->a, f);
    if ((e->op == ICE_EX_IS_NAN || e->op == ICE_EX_NOT_NAN) && f->type != FMT_FLOAT && f->type != FMT_DOUBLE)
        return floe_err_set(bd->err, FLOE_EINVAL,
                            "filter: '%s is nan' needs a float or double column; '%s' is of type %s", e->column,
                            e->column, tt);
    if ((e->op == ICE_EX_STARTS_WITH || e->op == ICE_EX_NOT_STARTS_WITH) && f->type != FMT_STRING)
        return floe_err_set(bd->err, FLOE_EINVAL,
                            "filter: starts_with and like need a string column; '%s' is of type %s", e->column, tt);
    if (f->required && (e->op == ICE_EX_IS_NULL || e->op == ICE_EX_NOT_NULL)) {
        *out = ice_expr_const(bd->a, e->op == ICE_EX_NOT_NULL);
        return true;
    }
    ice_expr *b = ice_expr_node(bd->a, e->op);
    b->column = ice_column_name(bd->schema, f->id, bd->a); /* as the schema spells it */
    b->texts = e->texts;
    b->field_id = f->id;
    b->field = f;
    b->nlits = e->nlits;
    b->lits = arena_zalloc(bd->a, (size_t)(e->nlits ? e->nlits : 1) * sizeof *b->lits);
    int32_t kept = 0;
    for (int32_t i = 0; i < e->nlits; i++) {
        bool settled;
        if (f->type == FMT_INT && e->texts[i][0] != '\'' && int_out_of_range(e->texts[i], e->op, &settled)) {
            *out = ice_expr_const(bd->a, settled);
            return true;
        }
        if (f->type == FMT_INT && ice_expr_is_set(e->op) && e->texts[i][0] != '\'') {
            int64_t v;
            if (str_to_i64_range(e->texts[i], INT64_MIN, INT64_MAX, &v) && (v < INT32_MIN || v > INT32_MAX))
                continue; /* no int equals it */
        }
        if (!bind_literal(bd, e, f, e->texts[i], &b->lits[kept])) return false;
        kept++;
    }
    if (ice_expr_is_set(e->op) && kept == 0) {
        *out = ice_expr_const(bd->a, e->op == ICE_EX_NOT_IN);
        return true;
    }
    b->nlits = kept;
    *out = b;
    return true;
}

/* Binds e, or its negation when neg (pushing NOT down to the predicates). */
static bool bind_rec(binder *bd, const ice_expr *e, bool neg, ice_expr **out) {
    switch (e->op) {
    case ICE_EX_TRUE:
    case ICE_EX_FALSE: *out = ice_expr_const(bd->a, (e->op == ICE_EX_TRUE) != neg); return true;
    case ICE_EX_NOT: return bind_rec(bd, e->left, !neg, out);
    case ICE_EX_AND:
    case ICE_EX_OR: {
        ice_expr *l, *r;
        if (!bind_rec(bd, e->left, neg, &l) || !bind_rec(bd, e->right, neg, &r)) return false;
        bool is_and = (e->op == ICE_EX_AND) != neg;
        *out = is_and ? ice_expr_and(bd->a, l, r) : ice_expr_or(bd->a, l, r);
        return true;
    }
    default: {
        ice_expr tmp = *e;
        if (neg) tmp.op = ice_expr_negate_op(e->op);
        return bind_pred(bd, &tmp, out);
    }
    }
}

bool ice_expr_bind(const ice_expr *e, const fmt_schema_t *schema, bool case_sensitive, arena_t *a, ice_expr **out,
                   floe_err *err) {
    binder bd = {.schema = schema, .case_sensitive = case_sensitive, .a = a, .err = err};
    return bind_rec(&bd, e, false, out);
}

/* ---- printing ---- */

static bool plain_name(const char *s) {
    if (!ident_start((unsigned char)s[0])) return false;
    for (const char *p = s; *p; p++)
        if (!ident_char((unsigned char)*p)) return false;
    tok t = {.kind = T_IDENT, .s = s, .n = strlen(s)};
    return !is_keyword(&t) && !(t.n == 11 && strncasecmp(s, "starts_with", 11) == 0);
}

static void put_column(const char *c, buf_t *out) {
    if (plain_name(c)) {
        buf_puts(out, c);
        return;
    }
    buf_putc(out, '"');
    for (const char *p = c; *p; p++) {
        if (*p == '"') buf_putc(out, '"');
        buf_putc(out, *p);
    }
    buf_putc(out, '"');
}

static void put_quoted(const char *s, size_t n, buf_t *out) {
    buf_putc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') buf_putc(out, '\'');
        buf_putc(out, s[i]);
    }
    buf_putc(out, '\'');
}

static void put_literal(const ice_expr *e, int32_t i, buf_t *out) {
    if (!e->lits) {
        buf_puts(out, e->texts[i]);
        return;
    }
    const ice_value *v = &e->lits[i];
    buf_t t = BUF_INIT;
    ice_value_format(v, &t);
    bool bare = v->type == FMT_BOOLEAN || v->type == FMT_INT || v->type == FMT_LONG || v->type == FMT_DECIMAL ||
                ((v->type == FMT_FLOAT || v->type == FMT_DOUBLE) && isfinite(v->v.f64)); /* not 'Infinity' */
    if (bare)
        buf_append(out, t.data, t.len);
    else
        put_quoted(t.data ? t.data : "", t.len, out);
    buf_free(&t);
}

static const char *op_text(ice_expr_op op) {
    switch (op) {
    case ICE_EX_EQ: return " = ";
    case ICE_EX_NE: return " != ";
    case ICE_EX_LT: return " < ";
    case ICE_EX_LE: return " <= ";
    case ICE_EX_GT: return " > ";
    case ICE_EX_GE: return " >= ";
    case ICE_EX_IN: return " in (";
    case ICE_EX_NOT_IN: return " not in (";
    case ICE_EX_IS_NULL: return " is null";
    case ICE_EX_NOT_NULL: return " is not null";
    case ICE_EX_IS_NAN: return " is nan";
    case ICE_EX_NOT_NAN: return " is not nan";
    default: return " ? ";
    }
}

static void format_pred(const ice_expr *e, buf_t *out) {
    const char *col = e->column ? e->column : "?";
    if (e->op == ICE_EX_STARTS_WITH || e->op == ICE_EX_NOT_STARTS_WITH) {
        buf_puts(out, e->op == ICE_EX_NOT_STARTS_WITH ? "not starts_with(" : "starts_with(");
        put_column(col, out);
        buf_puts(out, ", ");
        if (e->nlits > 0) put_literal(e, 0, out);
        buf_putc(out, ')');
        return;
    }
    put_column(col, out);
    buf_puts(out, op_text(e->op));
    if (ice_expr_is_unary(e->op)) return;
    for (int32_t i = 0; i < e->nlits; i++) {
        if (i) buf_puts(out, ", ");
        put_literal(e, i, out);
    }
    if (ice_expr_is_set(e->op)) buf_putc(out, ')');
}

/* Precedence: or 1, and 2, not and atoms 3; a child binding looser than
 * its place is parenthesised. */
static void format_rec(const ice_expr *e, int place, buf_t *out) {
    int prec = e->op == ICE_EX_OR ? 1 : e->op == ICE_EX_AND ? 2 : 3;
    bool paren = prec < place;
    if (paren) buf_putc(out, '(');
    switch (e->op) {
    case ICE_EX_TRUE: buf_puts(out, "true"); break;
    case ICE_EX_FALSE: buf_puts(out, "false"); break;
    case ICE_EX_AND:
    case ICE_EX_OR:
        format_rec(e->left, prec, out);
        buf_puts(out, e->op == ICE_EX_AND ? " and " : " or ");
        format_rec(e->right, prec + 1, out);
        break;
    case ICE_EX_NOT:
        buf_puts(out, "not ");
        format_rec(e->left, 3, out);
        break;
    default: format_pred(e, out); break;
    }
    if (paren) buf_putc(out, ')');
}

void ice_expr_format(const ice_expr *e, buf_t *out) { format_rec(e, 0, out); }
