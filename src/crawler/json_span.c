/*
 * json_span.c: record selection without re-encoding. A response is
 * checked once as JSON (RFC 8259), then navigated by byte spans: the
 * records the crawler lands are the bytes the API sent, with only the
 * insignificant whitespace removed, so numbers keep every digit (a 20-digit
 * id, a price of 0.1) and objects their key order. Parsing into a tree and
 * printing it again would round floats and refuse integers past 2^63.
 */
#include <string.h>

#include "base/str.h"
#include "crawler/crawler_int.h"

typedef struct scan {
    const char *p, *end, *start;
    const char *bad; /* what was wrong, at p */
} scan;

static void ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static bool fail(scan *s, const char *what) {
    if (!s->bad) s->bad = what;
    return false;
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static bool skip_string(scan *s) {
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20) return fail(s, "a control character inside a string");
        if (c == '\\') {
            if (s->end - s->p < 2) break;
            char e = s->p[1];
            if (e == 'u') {
                if (s->end - s->p < 6) break;
                for (int i = 2; i < 6; i++)
                    if (hexval(s->p[i]) < 0) return fail(s, "a bad \\u escape");
                s->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || !e) return fail(s, "a bad escape");
            s->p += 2;
            continue;
        }
        s->p++;
    }
    return fail(s, "an unterminated string");
}

static bool digits(scan *s) {
    const char *b = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    return s->p > b;
}

static bool skip_number(scan *s) {
    if (*s->p == '-') s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return fail(s, "a bad number");
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s)) return fail(s, "a bad number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (!digits(s)) return fail(s, "a bad number");
    }
    return true;
}

static bool skip_literal(scan *s, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n)) return fail(s, "an unexpected character");
    s->p += n;
    return true;
}

static bool skip_value(scan *s, int depth);

static bool skip_container(scan *s, int depth, char close) {
    if (depth >= CRAWL_JSON_MAX_DEPTH) return fail(s, "nesting deeper than 256");
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            ws(s);
            if (s->p >= s->end || *s->p != '"') return fail(s, "an object key that is not a string");
            if (!skip_string(s)) return false;
            ws(s);
            if (s->p >= s->end || *s->p != ':') return fail(s, "a missing ':' after a key");
            s->p++;
        }
        if (!skip_value(s, depth + 1)) return false;
        ws(s);
        if (s->p >= s->end) return fail(s, "an unterminated object or array");
        if (*s->p == close) {
            s->p++;
            return true;
        }
        if (*s->p != ',') return fail(s, "a missing ',' or closing bracket");
        s->p++;
    }
}

static bool skip_value(scan *s, int depth) {
    ws(s);
    if (s->p >= s->end) return fail(s, "a missing value");
    switch (*s->p) {
    case '{': return skip_container(s, depth, '}');
    case '[': return skip_container(s, depth, ']');
    case '"': return skip_string(s);
    case 't': return skip_literal(s, "true");
    case 'f': return skip_literal(s, "false");
    case 'n': return skip_literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return skip_number(s);
        return fail(s, "an unexpected character");
    }
}

bool crawl_json_check(const char *p, size_t n, floe_err *err) {
    scan s = {.p = p, .end = p + n, .start = p};
    bool ok = skip_value(&s, 0);
    if (ok) {
        ws(&s);
        if (s.p != s.end) ok = fail(&s, "text after the JSON value");
    }
    if (ok && !str_utf8_valid(p, n)) return floe_err_set(err, FLOE_EINVAL, "the response is not valid UTF-8");
    if (!ok) {
        size_t off = (size_t)(s.p - p);
        return floe_err_set(err, FLOE_EINVAL, "the response is not JSON: %s at byte %zu%s", s.bad, off,
                            n == 0 ? " (the body is empty)" : "");
    }
    return true;
}

/* ---------------------------------------------------------------- navigation (checked input) */

static crawl_span trim(crawl_span v) {
    while (v.n && (*v.p == ' ' || *v.p == '\t' || *v.p == '\n' || *v.p == '\r')) v.p++, v.n--;
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t' || v.p[v.n - 1] == '\n' || v.p[v.n - 1] == '\r')) v.n--;
    return v;
}

crawl_json_kind crawl_json_kind_of(crawl_span v) {
    v = trim(v);
    if (!v.n) return CRAWL_JSON_LITERAL;
    switch (*v.p) {
    case '{': return CRAWL_JSON_OBJECT;
    case '[': return CRAWL_JSON_ARRAY;
    case '"': return CRAWL_JSON_STRING;
    case 't':
    case 'f':
    case 'n': return CRAWL_JSON_LITERAL;
    default: return CRAWL_JSON_NUMBER;
    }
}

/* Unescapes a string span (quotes included) into out. */
static void unescape(crawl_span v, buf_t *out) {
    const char *p = v.p + 1, *end = v.p + v.n - 1;
    while (p < end) {
        if (*p != '\\') {
            buf_putc(out, *p++);
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': buf_putc(out, '\b'); break;
        case 'f': buf_putc(out, '\f'); break;
        case 'n': buf_putc(out, '\n'); break;
        case 'r': buf_putc(out, '\r'); break;
        case 't': buf_putc(out, '\t'); break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) cp = cp << 4 | (unsigned)hexval(p[i]);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = 0;
                for (int i = 2; i < 6; i++) lo = lo << 4 | (unsigned)hexval(p[i]);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* a lone surrogate */
            char u[4];
            int n;
            if (cp < 0x80) {
                u[0] = (char)cp, n = 1;
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
            } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
                u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
            } else {
                u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
            }
            buf_append(out, u, (size_t)n);
            break;
        }
        default: buf_putc(out, e); break;
        }
    }
}

/* Calls fn on each member (key span, value span) or element (key p NULL)
 * of a checked container; fn returns false to stop. */
static void each(crawl_span v, bool (*fn)(crawl_span key, crawl_span val, void *arg), void *arg) {
    v = trim(v);
    bool obj = *v.p == '{';
    scan s = {.p = v.p + 1, .end = v.p + v.n};
    ws(&s);
    if (*s.p == (obj ? '}' : ']')) return;
    for (;;) {
        crawl_span key = {NULL, 0};
        ws(&s);
        if (obj) {
            const char *k = s.p;
            skip_string(&s);
            key = (crawl_span){k, (size_t)(s.p - k)};
            ws(&s);
            s.p++; /* ':' */
            ws(&s);
        }
        const char *b = s.p;
        skip_value(&s, 0);
        if (!fn(key, (crawl_span){b, (size_t)(s.p - b)}, arg)) return;
        ws(&s);
        if (*s.p != ',') return;
        s.p++;
    }
}

typedef struct find_arg {
    const char *seg;
    size_t seglen;
    long index; /* for arrays; -1 when the segment is not a number */
    long at;
    bool found;
    crawl_span out;
} find_arg;

static bool find_member(crawl_span key, crawl_span val, void *arg) {
    find_arg *f = arg;
    bool match;
    if (!key.p) {
        match = f->at++ == f->index;
    } else if (!memchr(key.p, '\\', key.n)) {
        match = key.n - 2 == f->seglen && !memcmp(key.p + 1, f->seg, f->seglen);
    } else {
        buf_t k = BUF_INIT;
        unescape(key, &k);
        match = k.len == f->seglen && !memcmp(k.data, f->seg, f->seglen);
        buf_free(&k);
    }
    if (match) {
        f->found = true;
        f->out = val;
    }
    return !match;
}

bool crawl_json_find(crawl_span doc, const char *path, crawl_span *out) {
    crawl_span cur = trim(doc);
    if (!strcmp(path, "$") || !*path) {
        *out = cur;
        return true;
    }
    if (!strncmp(path, "$.", 2)) path += 2;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        crawl_json_kind k = crawl_json_kind_of(cur);
        find_arg f = {.seg = path, .seglen = n, .index = -1};
        if (k == CRAWL_JSON_ARRAY) {
            uint64_t ix;
            if (!str_to_u64_n(path, n, &ix) || ix > 1000000000) return false;
            f.index = (long)ix;
        } else if (k != CRAWL_JSON_OBJECT) {
            return false;
        }
        each(cur, find_member, &f);
        if (!f.found) return false;
        cur = trim(f.out);
        path += n;
        if (*path == '.') path++;
    }
    *out = cur;
    return true;
}

typedef struct elems_arg {
    arena_t *a;
    crawl_span *v;
    size_t n, cap;
} elems_arg;

static bool add_elem(crawl_span key, crawl_span val, void *arg) {
    elems_arg *e = arg;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        crawl_span *v = arena_alloc(e->a, cap * sizeof *v);
        if (e->n) memcpy(v, e->v, e->n * sizeof *v);
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = val;
    return true;
}

size_t crawl_json_elements(crawl_span arr, arena_t *a, crawl_span **out) {
    elems_arg e = {.a = a};
    each(arr, add_elem, &e);
    *out = e.v;
    return e.n;
}

void crawl_json_compact(crawl_span v, buf_t *out) {
    v = trim(v);
    buf_reserve(out, v.n);
    const char *p = v.p, *end = v.p + v.n, *run = p;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p++;
            while (*p != '"') p += *p == '\\' ? 2 : 1;
            p++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            buf_append(out, run, (size_t)(p - run));
            while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
            run = p;
        } else {
            p++;
        }
    }
    buf_append(out, run, (size_t)(p - run));
}

bool crawl_json_scalar(crawl_span v, buf_t *out, bool *is_null) {
    v = trim(v);
    *is_null = false;
    switch (crawl_json_kind_of(v)) {
    case CRAWL_JSON_STRING: unescape(v, out); return true;
    case CRAWL_JSON_NUMBER: buf_append(out, v.p, v.n); return true;
    case CRAWL_JSON_LITERAL:
        if (*v.p == 'n') {
            *is_null = true;
            return true;
        }
        buf_append(out, v.p, v.n);
        return true;
    default: return false;
    }
}
