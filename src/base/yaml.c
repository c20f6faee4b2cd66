/*
 * yaml.c: YAML into jansson with line numbers (yaml.h).
 *
 * libfyaml builds and resolves the document; we walk it once, turning each
 * node into JSON and noting, per (container, key or index), the line where
 * the key or item starts. The lines live in a small hash table keyed by the
 * container's address, which is stable for the doc's lifetime (jansson
 * shares only scalar singletons, never containers).
 */
#include "base/yaml.h"

#include "base/str.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct line_ent {
    const json_t *container;
    char *key; /* NULL for a sequence item */
    size_t index;
    int line;
    struct line_ent *next;
} line_ent;

struct yaml_doc {
    char *name;
    json_t *root;
    line_ent **tab;
    size_t nbuckets, nents;
};

static size_t line_hash(const json_t *c, const char *key, size_t index) {
    uint64_t h = (uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ull;
    if (key)
        for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 0x100000001B3ull;
    else
        h ^= (uint64_t)index * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

static void line_put(yaml_doc *d, const json_t *c, const char *key, size_t index, int line) {
    if (d->nents * 2 >= d->nbuckets) {
        size_t nb = d->nbuckets ? d->nbuckets * 2 : 64;
        line_ent **t = calloc(nb, sizeof *t);
        if (!t) return;
        for (size_t i = 0; i < d->nbuckets; i++) {
            line_ent *e = d->tab[i];
            while (e) {
                line_ent *next = e->next;
                size_t b = line_hash(e->container, e->key, e->index) % nb;
                e->next = t[b];
                t[b] = e;
                e = next;
            }
        }
        free(d->tab);
        d->tab = t;
        d->nbuckets = nb;
    }
    line_ent *e = calloc(1, sizeof *e);
    if (!e) return;
    e->container = c;
    e->key = key ? strdup(key) : NULL;
    e->index = index;
    e->line = line;
    size_t b = line_hash(c, key, index) % d->nbuckets;
    e->next = d->tab[b];
    d->tab[b] = e;
    d->nents++;
}

int yaml_line(const yaml_doc *d, const json_t *container, const char *key, size_t index) {
    if (!d || !d->nbuckets || !container) return 0;
    size_t b = line_hash(container, key, key ? 0 : index) % d->nbuckets;
    for (line_ent *e = d->tab[b]; e; e = e->next) {
        if (e->container != container) continue;
        if (key ? (e->key && !strcmp(e->key, key)) : (!e->key && e->index == index)) return e->line;
    }
    return 0;
}

/* The line where a node starts: its scalar token, else its first key or
 * item. */
static int node_line(struct fy_node *n) {
    for (int depth = 0; n && depth < 64; depth++) {
        enum fy_node_type t = fy_node_get_type(n);
        if (t == FYNT_SCALAR) {
            struct fy_token *tok = fy_node_get_scalar_token(n);
            const struct fy_mark *m = tok ? fy_token_start_mark(tok) : NULL;
            return m ? m->line + 1 : 0;
        }
        void *it = NULL;
        if (t == FYNT_MAPPING) {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        } else {
            n = fy_node_sequence_iterate(n, &it);
        }
    }
    return 0;
}

int yaml_node_line(const yaml_doc *d, const json_t *container) {
    if (!d || !container) return 0;
    if (json_is_object(container)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)container, k, v) {
            (void)v;
            return yaml_line(d, container, k, 0);
        }
    } else if (json_is_array(container) && json_array_size(container)) {
        return yaml_line(d, container, NULL, 0);
    }
    return 0;
}

/* A plain scalar per the YAML 1.2 core schema. */
static json_t *plain_scalar(const char *s, size_t n) {
    char tmp[64];
    if (n == 0 || (n == 1 && s[0] == '~') || (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
                                                         !memcmp(s, "NULL", 4))))
        return json_null();
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))) return json_true();
    if ((n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
        return json_false();
    if (n < sizeof tmp) {
        memcpy(tmp, s, n);
        tmp[n] = 0;
        const char *p = tmp;
        if (*p == '-' || *p == '+') p++;
        bool digits = *p != 0;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9') digits = false;
        if (digits) {
            errno = 0;
            char *end;
            long long v = strtoll(tmp, &end, 10);
            if (!errno && !*end) return json_integer(v);
        }
        if (!strncmp(p, "0x", 2) && p[2]) {
            errno = 0;
            char *end;
            long long v = strtoll(p, &end, 16);
            if (!errno && !*end) return json_integer(tmp[0] == '-' ? -v : v);
        }
        /* floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
        const char *q = p;
        bool mant = false;
        while (*q >= '0' && *q <= '9') q++, mant = true;
        if (*q == '.') {
            q++;
            while (*q >= '0' && *q <= '9') q++, mant = true;
        }
        if (mant && (*q == 'e' || *q == 'E')) {
            q++;
            if (*q == '-' || *q == '+') q++;
            if (!(*q >= '0' && *q <= '9')) mant = false;
            while (*q >= '0' && *q <= '9') q++;
        }
        if (mant && !*q && strpbrk(p, ".eE")) {
            double v = strtod(tmp, NULL);
            if (isfinite(v)) return json_real(v);
        }
    }
    return json_stringn(s, n);
}

static json_t *convert(yaml_doc *d, struct fy_node *n, int depth, floe_err *err) {
    if (depth > 64) {
        floe_err_set(err, FLOE_EINVAL, "%s:%d: nested more than 64 levels deep", d->name, node_line(n));
        return NULL;
    }
    if (!n) return json_null();
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        size_t len = 0;
        const char *s = fy_node_get_scalar(n, &len);
        if (!s) s = "", len = 0;
        json_t *v = fy_node_get_style(n) == FYNS_PLAIN ? plain_scalar(s, len) : json_stringn(s, len);
        if (!v) floe_err_set(err, FLOE_EINVAL, "%s:%d: a value is not valid UTF-8", d->name, node_line(n));
        return v;
    }
    case FYNT_SEQUENCE: {
        json_t *arr = json_array();
        void *it = NULL;
        struct fy_node *item;
        size_t i = 0;
        while ((item = fy_node_sequence_iterate(n, &it))) {
            json_t *v = convert(d, item, depth + 1, err);
            if (!v) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, v);
            line_put(d, arr, NULL, i++, node_line(item));
        }
        return arr;
    }
    case FYNT_MAPPING: {
        json_t *obj = json_object();
        void *it = NULL;
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(n, &it))) {
            struct fy_node *k = fy_node_pair_key(p);
            int line = node_line(k);
            if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
                floe_err_set(err, FLOE_EINVAL, "%s:%d: a mapping key is not a plain string; write keys as text",
                             d->name, line);
                json_decref(obj);
                return NULL;
            }
            size_t klen = 0;
            const char *ks = fy_node_get_scalar(k, &klen);
            char *key = strndup(ks ? ks : "", klen);
            json_t *v = key ? convert(d, fy_node_pair_value(p), depth + 1, err) : NULL;
            if (!v || json_object_set_new(obj, key, v)) {
                if (v) floe_err_set(err, FLOE_EINVAL, "%s:%d: key is not valid UTF-8", d->name, line);
                free(key);
                json_decref(obj);
                return NULL;
            }
            line_put(d, obj, key, 0, line);
            free(key);
        }
        return obj;
    }
    }
    return json_null();
}

static yaml_doc *load(struct fy_document *fyd, struct fy_diag *diag, const char *name, floe_err *err) {
    yaml_doc *d = calloc(1, sizeof *d);
    if (!d) {
        if (fyd) fy_document_destroy(fyd);
        floe_err_set(err, FLOE_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    d->name = strdup(name);
    void *it = NULL;
    struct fy_diag_error *e = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
    if (!fyd && !e) { /* no document at all: an empty or comment-only file */
        d->root = json_null();
        return d;
    }
    if (!fyd || e) {
        if (e)
            floe_err_set(err, FLOE_EINVAL, "%s:%d:%d: not valid YAML: %s", name, e->line, e->column,
                         e->msg ? e->msg : "syntax error");
        else
            floe_err_set(err, FLOE_EINVAL, "%s: not valid YAML", name);
        if (fyd) fy_document_destroy(fyd);
        yaml_free(d);
        return NULL;
    }
    if (fy_document_resolve(fyd)) {
        floe_err_set(err, FLOE_EINVAL, "%s: an alias names an anchor that does not exist", name);
        fy_document_destroy(fyd);
        yaml_free(d);
        return NULL;
    }
    d->root = convert(d, fy_document_root(fyd), 0, err);
    fy_document_destroy(fyd);
    if (!d->root) {
        yaml_free(d);
        return NULL;
    }
    return d;
}

static struct fy_diag *quiet_diag(void) {
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = NULL;
    dc.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (diag) fy_diag_set_collect_errors(diag, true);
    return diag;
}

/* YAML is UTF-8 text without NUL bytes, and libfyaml 0.7.12 can loop
 * forever on a directive line ("%...") holding a NUL or a byte that is not
 * UTF-8: both are refused before it sees them. */
static bool check_text(const char *text, size_t len, const char *name, floe_err *err) {
    const char *nul = memchr(text, 0, len);
    if (nul)
        return floe_err_set(err, FLOE_EINVAL, "%s: a NUL byte at offset %zu; YAML is UTF-8 text", name,
                            (size_t)(nul - text));
    if (str_utf8_valid(text, len)) return true;
    int line = 1;
    for (const char *p = text, *end = text + len; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (!str_utf8_valid(p, n)) break;
        p += n + 1;
    }
    return floe_err_set(err, FLOE_EINVAL, "%s:%d: not valid UTF-8; save the file as UTF-8 text", name, line);
}

yaml_doc *yaml_load_str(const char *text, size_t len, const char *name, floe_err *err) {
    if (!check_text(text, len, name, err)) return NULL;
    struct fy_diag *diag = quiet_diag();
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_document *fyd = fy_document_build_from_string(&pcfg, text, len);
    yaml_doc *d = load(fyd, diag, name, err);
    if (diag) fy_diag_destroy(diag); /* unref leaks collected errors */
    return d;
}

yaml_doc *yaml_load_file(const char *path, floe_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        floe_err_set(err, errno == ENOENT ? FLOE_ENOENT : FLOE_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                floe_err_set(err, FLOE_ENOMEM, "%s: out of memory", path);
                return NULL;
            }
            text = t;
        }
        size_t r = fread(text + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        floe_err_set(err, FLOE_EIO, "%s: read failed", path);
        return NULL;
    }
    yaml_doc *d = yaml_load_str(text ? text : "", len, path, err);
    free(text);
    return d;
}

void yaml_free(yaml_doc *d) {
    if (!d) return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        line_ent *e = d->tab[i];
        while (e) {
            line_ent *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(d->tab);
    json_decref(d->root);
    free(d->name);
    free(d);
}

json_t *yaml_root(const yaml_doc *d) { return d ? d->root : NULL; }
const char *yaml_name(const yaml_doc *d) { return d ? d->name : NULL; }
