/*
 * xml.c: S3 request bodies (expat) and XML escaping for responses.
 *
 * Three request bodies are XML: DeleteObjects (<Delete>),
 * CompleteMultipartUpload (<CompleteMultipartUpload>) and CreateBucket
 * (<CreateBucketConfiguration>). Each parser is a small table of the elements
 * it knows (parent, name, whether it holds text) plus two callbacks, run by
 * one generic expat driver. Elements in the S3 namespace
 * (http://s3.amazonaws.com/doc/2006-03-01/) and elements with no namespace are
 * the same; unknown elements are skipped with everything inside them, as S3
 * does.
 *
 * Hostile bodies: a DOCTYPE is refused outright, so no entity can be declared
 * (no billion laughs, no external entities); counts are checked as elements
 * open, so a body with a million <Object>s fails at the 1001st; nesting of
 * unknown elements is counted, never stacked.
 */
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "store/s3/s3_int.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define NS_SEP '|'
#define MAX_DELETE_OBJECTS 1000
#define MAX_PARTS 10000
#define XML_KNOWN_DEPTH 8

/* ================= the generic driver ================= */

enum { ID_DOCUMENT = 0 };

typedef struct xml_elem {
    int parent;       /* id of the enclosing element (ID_DOCUMENT for the root) */
    const char *name; /* local name */
    int id;
    bool text; /* holds text only */
} xml_elem;

typedef struct xml_doc xml_doc;
struct xml_doc {
    XML_Parser parser;
    const xml_elem *elems;
    size_t nelems;
    const char *root; /* the root element's name, for messages */
    int stack[XML_KNOWN_DEPTH];
    int depth;           /* known elements open */
    size_t ignore_depth; /* > 0 inside an unknown element */
    buf_t text;
    bool failed;
    char msg[400];
    void *state;
    bool (*start)(xml_doc *x, int id);
    bool (*end)(xml_doc *x, int id, char *text, size_t len);
};

/* Stops the parse with a message; returns false for the callbacks. */
static bool __attribute__((format(printf, 2, 3))) xml_fail(xml_doc *x, const char *fmt, ...) {
    if (x->failed) return false;
    char m[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(x->msg, sizeof x->msg, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(x->parser), m);
    x->failed = true;
    XML_StopParser(x->parser, XML_FALSE);
    return false;
}

/* Splits an expat name "uri|local" into its namespace and local name. */
static const char *local_name(const char *name, const char **ns, size_t *ns_len) {
    const char *sep = strrchr(name, NS_SEP);
    *ns = sep ? name : NULL;
    *ns_len = sep ? (size_t)(sep - name) : 0;
    return sep ? sep + 1 : name;
}

static bool ns_ok(const char *ns, size_t ns_len) {
    return ns == NULL || (ns_len == strlen(S3_XMLNS) && memcmp(ns, S3_XMLNS, ns_len) == 0);
}

static const xml_elem *find_elem(const xml_doc *x, int parent, const char *name) {
    for (size_t i = 0; i < x->nelems; i++)
        if (x->elems[i].parent == parent && strcmp(x->elems[i].name, name) == 0) return &x->elems[i];
    return NULL;
}

static const xml_elem *elem_of(const xml_doc *x, int id) {
    for (size_t i = 0; i < x->nelems; i++)
        if (x->elems[i].id == id) return &x->elems[i];
    return NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xml_doc *x = ud;
    if (x->failed) return;
    if (x->ignore_depth > 0) {
        x->ignore_depth++;
        return;
    }
    const char *ns;
    size_t ns_len;
    const char *local = local_name(name, &ns, &ns_len);
    int parent = x->depth ? x->stack[x->depth - 1] : ID_DOCUMENT;
    if (x->depth == 0 && (strcmp(local, x->root) != 0 || !ns_ok(ns, ns_len))) {
        if (!ns_ok(ns, ns_len))
            xml_fail(x,
                     "the root element <%s> is in namespace '%.*s'; expected <%s> in " S3_XMLNS " or in no namespace",
                     local, (int)(ns_len > 100 ? 100 : ns_len), ns, x->root);
        else
            xml_fail(x, "the root element is <%.100s>; expected <%s>", local, x->root);
        return;
    }
    const xml_elem *parent_elem = elem_of(x, parent);
    if (parent_elem && parent_elem->text) {
        xml_fail(x, "<%s> must hold only text, but holds <%.100s>", parent_elem->name, local);
        return;
    }
    const xml_elem *e = ns_ok(ns, ns_len) ? find_elem(x, parent, local) : NULL;
    if (!e || x->depth == XML_KNOWN_DEPTH) {
        x->ignore_depth = 1;
        return;
    }
    x->stack[x->depth++] = e->id;
    buf_reset(&x->text);
    if (x->start) x->start(x, e->id);
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
    xml_doc *x = ud;
    if (x->failed) return;
    if (x->ignore_depth > 0) {
        x->ignore_depth--;
        return;
    }
    int id = x->stack[--x->depth];
    const xml_elem *e = elem_of(x, id);
    if (e->text) {
        buf_putc(&x->text, '\0'); /* so text.data is never NULL */
        x->text.len--;
    }
    x->end(x, id, e->text ? x->text.data : NULL, e->text ? x->text.len : 0);
    buf_reset(&x->text);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
    xml_doc *x = ud;
    if (x->failed || x->ignore_depth > 0 || x->depth == 0) return;
    const xml_elem *e = elem_of(x, x->stack[x->depth - 1]);
    if (e->text) buf_append(&x->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset) {
    xml_fail(ud, "a DOCTYPE is not allowed in an S3 request body");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value, int value_len,
                                   const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation) {
    xml_fail(ud, "entity declarations are not allowed in an S3 request body");
}

/* Parses body with the document's element table and callbacks. */
static bool xml_run(xml_doc *x, const char *body, size_t len, const char *what, floe_err *err) {
    if (len > INT_MAX) return floe_err_set(err, FLOE_EINVAL, "%s: the XML body is too large", what);
    x->parser = XML_ParserCreateNS(NULL, NS_SEP);
    if (!x->parser) return floe_err_set(err, FLOE_ENOMEM, "%s: cannot create an XML parser", what);
    x->text = (buf_t)BUF_INIT;
    XML_SetUserData(x->parser, x);
    XML_SetElementHandler(x->parser, on_start, on_end);
    XML_SetCharacterDataHandler(x->parser, on_text);
    XML_SetStartDoctypeDeclHandler(x->parser, on_doctype);
    XML_SetEntityDeclHandler(x->parser, on_entity_decl);
    XML_SetParamEntityParsing(x->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    enum XML_Status st = XML_Parse(x->parser, body, (int)len, XML_TRUE);
    bool ok = st == XML_STATUS_OK && !x->failed;
    if (!ok && !x->failed)
        snprintf(x->msg, sizeof x->msg, "line %lu, column %lu: %s", (unsigned long)XML_GetCurrentLineNumber(x->parser),
                 (unsigned long)XML_GetCurrentColumnNumber(x->parser) + 1,
                 XML_ErrorString(XML_GetErrorCode(x->parser)));
    XML_ParserFree(x->parser);
    buf_free(&x->text);
    if (!ok) return floe_err_set(err, FLOE_EINVAL, "%s: malformed XML body: %s", what, x->msg);
    return true;
}

static bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trims XML whitespace from both ends of text, in place. */
static char *trim(char *s, size_t *len) {
    size_t n = *len;
    while (n > 0 && is_xml_space(s[n - 1])) n--;
    while (n > 0 && is_xml_space(*s)) s++, n--;
    s[n] = '\0';
    *len = n;
    return s;
}

/* Grows an arena array of `size`-byte items to hold one more. */
static void *grow(arena_t *a, void *items, size_t n, size_t *cap, size_t size) {
    if (n < *cap) return items;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *bigger = arena_alloc(a, ncap * size);
    if (n) memcpy(bigger, items, n * size);
    *cap = ncap;
    return bigger;
}

/* ================= DeleteObjects ================= */

enum { D_DELETE = 1, D_QUIET, D_OBJECT, D_KEY, D_VERSION };

static const xml_elem delete_elems[] = {
    {ID_DOCUMENT, "Delete", D_DELETE, false}, {D_DELETE, "Quiet", D_QUIET, true},
    {D_DELETE, "Object", D_OBJECT, false},    {D_OBJECT, "Key", D_KEY, true},
    {D_OBJECT, "VersionId", D_VERSION, true},
};

typedef struct delete_state {
    arena_t *a;
    s3_delete_req *out;
    size_t cap;
    bool has_key, has_version, has_quiet;
} delete_state;

static bool delete_start(xml_doc *x, int id) {
    delete_state *s = x->state;
    if (id != D_OBJECT) return true;
    if (s->out->nobjects == MAX_DELETE_OBJECTS)
        return xml_fail(x, "more than %d <Object> elements; DeleteObjects takes at most %d keys a request",
                        MAX_DELETE_OBJECTS, MAX_DELETE_OBJECTS);
    s->out->objects = grow(s->a, s->out->objects, s->out->nobjects, &s->cap, sizeof(s3_delete_object));
    memset(&s->out->objects[s->out->nobjects], 0, sizeof(s3_delete_object));
    s->has_key = s->has_version = false;
    return true;
}

static bool delete_end(xml_doc *x, int id, char *text, size_t len) {
    delete_state *s = x->state;
    s3_delete_object *o = s->out->nobjects < s->cap ? &s->out->objects[s->out->nobjects] : NULL;
    size_t no = s->out->nobjects + 1;
    switch (id) {
    case D_QUIET:
        if (s->has_quiet) return xml_fail(x, "<Quiet> appears twice");
        s->has_quiet = true;
        text = trim(text, &len);
        if (strcasecmp(text, "true") == 0)
            s->out->quiet = true;
        else if (strcasecmp(text, "false") == 0)
            s->out->quiet = false;
        else
            return xml_fail(x, "<Quiet> is '%.64s'; expected true or false", text);
        return true;
    case D_KEY:
        if (s->has_key) return xml_fail(x, "<Object> %zu has two <Key> elements", no);
        if (len == 0) return xml_fail(x, "<Object> %zu has an empty <Key>", no);
        s->has_key = true;
        o->key = arena_strndup(s->a, text, len);
        o->key_len = len;
        return true;
    case D_VERSION:
        if (s->has_version) return xml_fail(x, "<Object> %zu has two <VersionId> elements", no);
        s->has_version = true;
        o->version_id = arena_strndup(s->a, text, len);
        return true;
    case D_OBJECT:
        if (!s->has_key) return xml_fail(x, "<Object> %zu has no <Key>", no);
        s->out->nobjects++;
        return true;
    default: return true;
    }
}

bool s3_xml_parse_delete(const char *body, size_t len, arena_t *a, s3_delete_req *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    delete_state s = {.a = a, .out = out};
    xml_doc x = {.elems = delete_elems,
                 .nelems = sizeof delete_elems / sizeof delete_elems[0],
                 .root = "Delete",
                 .state = &s,
                 .start = delete_start,
                 .end = delete_end};
    if (!xml_run(&x, body, len, "DeleteObjects", err)) goto fail;
    if (out->nobjects == 0) {
        floe_err_set(err, FLOE_EINVAL, "DeleteObjects: malformed XML body: <Delete> has no <Object>; name 1 to %d keys",
                     MAX_DELETE_OBJECTS);
        goto fail;
    }
    return true;
fail:
    memset(out, 0, sizeof *out);
    return false;
}

/* ================= CompleteMultipartUpload ================= */

enum { C_COMPLETE = 1, C_PART, C_NUMBER, C_ETAG, C_CHECKSUM /* + hash_algo */ };

static const xml_elem complete_elems[] = {
    {ID_DOCUMENT, "CompleteMultipartUpload", C_COMPLETE, false},
    {C_COMPLETE, "Part", C_PART, false},
    {C_PART, "PartNumber", C_NUMBER, true},
    {C_PART, "ETag", C_ETAG, true},
    {C_PART, "ChecksumCRC32", C_CHECKSUM + HASH_CRC32, true},
    {C_PART, "ChecksumCRC32C", C_CHECKSUM + HASH_CRC32C, true},
    {C_PART, "ChecksumCRC64NVME", C_CHECKSUM + HASH_CRC64NVME, true},
    {C_PART, "ChecksumSHA1", C_CHECKSUM + HASH_SHA1, true},
    {C_PART, "ChecksumSHA256", C_CHECKSUM + HASH_SHA256, true},
};

typedef struct complete_state {
    arena_t *a;
    s3_complete_req *out;
    size_t cap;
} complete_state;

static bool complete_start(xml_doc *x, int id) {
    complete_state *s = x->state;
    if (id != C_PART) return true;
    if (s->out->nparts == MAX_PARTS)
        return xml_fail(x, "more than %d <Part> elements; a multipart upload has at most %d parts", MAX_PARTS,
                        MAX_PARTS);
    s->out->parts = grow(s->a, s->out->parts, s->out->nparts, &s->cap, sizeof(s3_complete_part));
    memset(&s->out->parts[s->out->nparts], 0, sizeof(s3_complete_part));
    return true;
}

static bool complete_part_number(xml_doc *x, s3_complete_part *p, size_t np, char *text, size_t len) {
    if (p->part_number) return xml_fail(x, "<Part> %zu has two <PartNumber> elements", np);
    text = trim(text, &len);
    uint64_t v;
    if (!str_to_u64_n(text, len, &v) || v < 1 || v > MAX_PARTS)
        return xml_fail(x, "<Part> %zu: <PartNumber> '%.32s' is not a number from 1 to %d", np, text, MAX_PARTS);
    p->part_number = (int)v;
    return true;
}

static bool complete_etag(xml_doc *x, complete_state *s, s3_complete_part *p, size_t np, char *text, size_t len) {
    if (p->etag) return xml_fail(x, "<Part> %zu has two <ETag> elements", np);
    text = trim(text, &len);
    if (len > 0 && text[0] == '"') text++, len--;
    if (len > 0 && text[len - 1] == '"') len--;
    if (len == 0) return xml_fail(x, "<Part> %zu has an empty <ETag>", np);
    p->etag = arena_strndup(s->a, text, len);
    return true;
}

static bool complete_end(xml_doc *x, int id, char *text, size_t len) {
    complete_state *s = x->state;
    s3_complete_part *p = s->out->nparts < s->cap ? &s->out->parts[s->out->nparts] : NULL;
    size_t np = s->out->nparts + 1;
    if (id == C_NUMBER) return complete_part_number(x, p, np, text, len);
    if (id == C_ETAG) return complete_etag(x, s, p, np, text, len);
    if (id > C_CHECKSUM && id <= C_CHECKSUM + HASH_SHA256) {
        hash_algo algo = (hash_algo)(id - C_CHECKSUM);
        if (p->checksum[algo]) return xml_fail(x, "<Part> %zu has two <Checksum%s>", np, hash_algo_name(algo));
        text = trim(text, &len);
        p->checksum[algo] = arena_strndup(s->a, text, len);
        return true;
    }
    if (id == C_PART) {
        if (!p->part_number) return xml_fail(x, "<Part> %zu has no <PartNumber>", np);
        if (!p->etag) return xml_fail(x, "<Part> %zu (PartNumber %d) has no <ETag>", np, p->part_number);
        s->out->nparts++;
    }
    return true;
}

bool s3_xml_parse_complete(const char *body, size_t len, arena_t *a, s3_complete_req *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    complete_state s = {.a = a, .out = out};
    xml_doc x = {.elems = complete_elems,
                 .nelems = sizeof complete_elems / sizeof complete_elems[0],
                 .root = "CompleteMultipartUpload",
                 .state = &s,
                 .start = complete_start,
                 .end = complete_end};
    if (!xml_run(&x, body, len, "CompleteMultipartUpload", err)) goto fail;
    if (out->nparts == 0) {
        floe_err_set(err, FLOE_EINVAL,
                     "CompleteMultipartUpload: malformed XML body: <CompleteMultipartUpload> has no <Part>; list "
                     "every part with its <PartNumber> and <ETag>");
        goto fail;
    }
    return true;
fail:
    memset(out, 0, sizeof *out);
    return false;
}

/* ================= CreateBucket ================= */

enum { B_CONFIG = 1, B_LOCATION };

static const xml_elem create_elems[] = {
    {ID_DOCUMENT, "CreateBucketConfiguration", B_CONFIG, false},
    {B_CONFIG, "LocationConstraint", B_LOCATION, true},
};

typedef struct create_state {
    arena_t *a;
    char **location;
    bool seen;
} create_state;

static bool create_end(xml_doc *x, int id, char *text, size_t len) {
    create_state *s = x->state;
    if (id != B_LOCATION) return true;
    if (s->seen) return xml_fail(x, "<LocationConstraint> appears twice");
    s->seen = true;
    text = trim(text, &len);
    *s->location = len ? arena_strndup(s->a, text, len) : NULL;
    return true;
}

bool s3_xml_parse_create_bucket(const char *body, size_t len, arena_t *a, char **location, floe_err *err) {
    *location = NULL;
    size_t i = 0;
    while (i < len && is_xml_space(body[i])) i++;
    if (i == len) return true; /* no body: the default region */
    create_state s = {.a = a, .location = location};
    xml_doc x = {.elems = create_elems,
                 .nelems = sizeof create_elems / sizeof create_elems[0],
                 .root = "CreateBucketConfiguration",
                 .state = &s,
                 .end = create_end};
    if (!xml_run(&x, body, len, "CreateBucket", err)) {
        *location = NULL;
        return false;
    }
    return true;
}

/* ================= Tagging ================= */

enum { T_TAGGING = 1, T_TAGSET, T_TAG, T_KEY, T_VALUE };

static const xml_elem tagging_elems[] = {
    {ID_DOCUMENT, "Tagging", T_TAGGING, false},
    {T_TAGGING, "TagSet", T_TAGSET, false},
    {T_TAGSET, "Tag", T_TAG, false},
    {T_TAG, "Key", T_KEY, true},
    {T_TAG, "Value", T_VALUE, true},
};

typedef struct tagging_state {
    arena_t *a;
    s3_tag *tags;
    size_t n, cap;
    bool has_key, has_value;
} tagging_state;

static bool tagging_start(xml_doc *x, int id) {
    tagging_state *s = x->state;
    if (id != T_TAG) return true;
    if (s->n == S3_MAX_TAGS)
        return xml_fail(x, "more than %d <Tag> elements; an object takes at most %d tags", S3_MAX_TAGS, S3_MAX_TAGS);
    s->tags = grow(s->a, s->tags, s->n, &s->cap, sizeof(s3_tag));
    memset(&s->tags[s->n], 0, sizeof(s3_tag));
    s->has_key = s->has_value = false;
    return true;
}

static bool tagging_end(xml_doc *x, int id, char *text, size_t len) {
    tagging_state *s = x->state;
    s3_tag *t = s->n < s->cap ? &s->tags[s->n] : NULL;
    switch (id) {
    case T_KEY:
        if (s->has_key) return xml_fail(x, "<Tag> %zu has two <Key> elements", s->n + 1);
        if (len == 0 || len > 128) return xml_fail(x, "<Tag> %zu: a tag key must be 1 to 128 bytes", s->n + 1);
        s->has_key = true;
        t->key = arena_strndup(s->a, text, len);
        return true;
    case T_VALUE:
        if (s->has_value) return xml_fail(x, "<Tag> %zu has two <Value> elements", s->n + 1);
        if (len > 256) return xml_fail(x, "<Tag> %zu: a tag value must be at most 256 bytes", s->n + 1);
        s->has_value = true;
        t->value = arena_strndup(s->a, text, len);
        return true;
    case T_TAG:
        if (!s->has_key || !s->has_value) return xml_fail(x, "<Tag> %zu needs a <Key> and a <Value>", s->n + 1);
        for (size_t i = 0; i < s->n; i++)
            if (!strcmp(s->tags[i].key, t->key)) return xml_fail(x, "tag key '%.64s' appears twice", t->key);
        s->n++;
        return true;
    default: return true;
    }
}

bool s3_xml_parse_tagging(const char *body, size_t len, arena_t *a, s3_tag **tags, size_t *ntags, floe_err *err) {
    tagging_state s = {.a = a};
    xml_doc x = {.elems = tagging_elems,
                 .nelems = sizeof tagging_elems / sizeof tagging_elems[0],
                 .root = "Tagging",
                 .state = &s,
                 .start = tagging_start,
                 .end = tagging_end};
    *tags = NULL;
    *ntags = 0;
    if (!xml_run(&x, body, len, "PutObjectTagging", err)) return false;
    *tags = s.tags;
    *ntags = s.n;
    return true;
}

/* ================= escaping ================= */

/* Decodes one UTF-8 sequence at s[0..n): its code point and length, or
 * false when it is not well-formed (overlong, surrogate, past U+10FFFF,
 * truncated). */
static bool utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *len) {
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        *len = 1;
        return true;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, v = c & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (n < need) return false;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return false;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return false;
    *cp = v;
    *len = need;
    return true;
}

/* Characters XML 1.0 can carry as they are (Char, minus the ones that
 * attribute values or line-end handling would change). */
static bool xml_plain_char(uint32_t cp) {
    if (cp < 0x20) return false; /* controls, and TAB LF CR which attributes normalise */
    if (cp == 0xfffe || cp == 0xffff) return false;
    return true;
}

void s3_xml_escape(buf_t *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    while (i < n) {
        const char *ent = NULL;
        switch (u[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&apos;"; break;
        default: break;
        }
        uint32_t cp = 0;
        size_t len = 1;
        bool valid = ent || utf8_next(u + i, n - i, &cp, &len);
        if (!ent && valid && xml_plain_char(cp)) {
            i += len;
            continue;
        }
        buf_append(b, s + run, i - run);
        if (ent)
            buf_puts(b, ent);
        else
            buf_printf(b, "&#x%X;", valid ? (unsigned)cp : 0xFFFDu); /* a stray byte becomes U+FFFD */
        i += len;
        run = i;
    }
    buf_append(b, s + run, n - run);
}
