/*
 * versions.c: Git for data on the catalog's commit log (Nessie's model).
 *
 * Commits form a DAG: each has a parent and, for a merge, a second parent,
 * and a generation number (one more than its deeper parent; the empty log is
 * 0). History walks visit commits in decreasing generation, so a commit is
 * seen only after every descendant the walk can reach: the merge base of
 * two commits is found by painting both sides down until every queued
 * commit is common, which costs O(commits since the merge base), however
 * long the history below it is.
 *
 * Reading a ref is an index lookup (heads, kept in step by every ref
 * movement). Reading any other commit finds each key's newest op among its
 * ancestors. A merge commit records the final content of every key it
 * merged (a DROP records the target's own), so the newest op in generation
 * order is the content at that commit.
 *
 * Every ref movement (commit, create, assign, delete, merge, transplant)
 * appends to the reflog in the same transaction.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_int.h"

/* ------------------------------------------------------------- counters */

static uint64_t stat_commits, stat_ops;

void cat_walk_stats_get(cat_walk_stats *out) {
    out->commits_read = __atomic_load_n(&stat_commits, __ATOMIC_RELAXED);
    out->ops_read = __atomic_load_n(&stat_ops, __ATOMIC_RELAXED);
}

void cat_walk_stats_reset(void) {
    __atomic_store_n(&stat_commits, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&stat_ops, 0, __ATOMIC_RELAXED);
}

const char *cat_merge_behavior_name(cat_merge_behavior b) {
    return b == CAT_MERGE_FORCE ? "FORCE" : b == CAT_MERGE_DROP ? "DROP" : "NORMAL";
}

/* ------------------------------------------------------------ a str map */

typedef struct smap {
    const char **keys;
    void **vals;
    size_t cap, n;
} smap;

static uint64_t shash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void **smap_find(const smap *m, const char *key) {
    if (!m->cap) return NULL;
    for (size_t i = shash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return NULL;
        if (!strcmp(m->keys[i], key)) return &m->vals[i];
    }
}

static void *smap_get(const smap *m, const char *key) {
    void **v = smap_find(m, key);
    return v ? *v : NULL;
}

static bool smap_has(const smap *m, const char *key) { return smap_find(m, key) != NULL; }

static void smap_put(smap *m, arena_t *a, const char *key, void *val) {
    void **v = smap_find(m, key);
    if (v) {
        *v = val;
        return;
    }
    if ((m->n + 1) * 2 > m->cap) {
        smap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->keys = arena_alloc(a, m->cap * sizeof *m->keys);
        m->vals = arena_alloc(a, m->cap * sizeof *m->vals);
        memset(m->keys, 0, m->cap * sizeof *m->keys);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) smap_put(m, a, old.keys[i], old.vals[i]);
    }
    size_t i = shash(key) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

/* Growable array of pointers in an arena. */
typedef struct pvec {
    void **v;
    size_t n, cap;
} pvec;

static void pvec_push(pvec *p, arena_t *a, void *x) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        void **nv = arena_alloc(a, cap * sizeof *nv);
        if (p->n) memcpy(nv, p->v, p->n * sizeof *nv);
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = x;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* --------------------------------------------------------- the commits */

typedef struct node {
    const char *hash, *parent, *parent2, *author, *message;
    int64_t seq, gen, time_ms;
    unsigned flags;
    bool queued, popped;
} node;

/* A walk over the commit DAG in decreasing generation. */
typedef struct walker {
    cat_conn *k;
    arena_t *a;
    db_stmt *commit_q, *ops_q, *op_q;
    smap nodes;
    node **heap;
    size_t nheap, capheap;
    size_t nonstale; /* queued nodes painted by one side only */
} walker;

static bool walker_init(walker *w, cat_conn *k, arena_t *a, floe_err *err) {
    memset(w, 0, sizeof *w);
    w->k = k;
    w->a = a;
    if (!(w->commit_q = db_prepare(
              k, "SELECT seq, parent, parent2, gen, time_ms, author, message FROM commits WHERE hash = ?1")) ||
        !(w->ops_q = db_prepare(k, "SELECT key, op, kind, content_id, location, content FROM ops WHERE commit_seq = ?1"
                                   " ORDER BY key")) ||
        !(w->op_q = db_prepare(k, "SELECT key, op, kind, content_id, location, content FROM ops"
                                  " WHERE commit_seq = ?1 AND key = ?2")))
        return db_fail(k, "reading the commit log", err);
    return true;
}

static void walker_done(walker *w) {
    db_finalize(w->commit_q);
    db_finalize(w->ops_q);
    db_finalize(w->op_q);
}

static bool is_root(const char *hash) { return !strcmp(hash, CAT_NO_ANCESTOR); }

/* The commit hash (cached); FLOE_ENOENT names it. */
static node *walker_node(walker *w, const char *hash, floe_err *err) {
    node *n = smap_get(&w->nodes, hash);
    if (n) return n;
    n = arena_alloc(w->a, sizeof *n);
    memset(n, 0, sizeof *n);
    n->hash = arena_strdup(w->a, hash);
    if (!is_root(hash)) {
        __atomic_fetch_add(&stat_commits, 1, __ATOMIC_RELAXED);
        db_stmt *st = w->commit_q;
        db_reset(st);
        db_bind_text(st, 1, hash);
        int rc = db_step(st);
        if (rc == DB_DONE) {
            floe_err_set(err, FLOE_ENOENT, "commit %s is not in the catalog (see `floe log`)", hash);
            return NULL;
        }
        if (rc != DB_ROW) {
            db_fail(w->k, "reading the commit log", err);
            return NULL;
        }
        n->seq = db_col_int64(st, 0);
        n->parent = cat_col_text(w->a, st, 1);
        n->parent2 = cat_col_text(w->a, st, 2);
        n->gen = db_col_int64(st, 3);
        n->time_ms = db_col_int64(st, 4);
        n->author = cat_col_text(w->a, st, 5);
        n->message = cat_col_text(w->a, st, 6);
        db_reset(st);
    }
    smap_put(&w->nodes, w->a, n->hash, n);
    return n;
}

static bool node_before(const node *x, const node *y) { return x->gen != y->gen ? x->gen > y->gen : x->seq > y->seq; }

static void heap_push(walker *w, node *n) {
    if (w->nheap == w->capheap) {
        size_t cap = w->capheap ? w->capheap * 2 : 64;
        node **nh = arena_alloc(w->a, cap * sizeof *nh);
        if (w->nheap) memcpy(nh, w->heap, w->nheap * sizeof *nh);
        w->heap = nh;
        w->capheap = cap;
    }
    size_t i = w->nheap++;
    w->heap[i] = n;
    while (i && node_before(w->heap[i], w->heap[(i - 1) / 2])) {
        node *t = w->heap[i];
        w->heap[i] = w->heap[(i - 1) / 2];
        w->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    n->queued = true;
}

static node *heap_pop(walker *w) {
    if (!w->nheap) return NULL;
    node *top = w->heap[0];
    w->heap[0] = w->heap[--w->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->nheap && node_before(w->heap[l], w->heap[m])) m = l;
        if (r < w->nheap && node_before(w->heap[r], w->heap[m])) m = r;
        if (m == i) break;
        node *t = w->heap[i];
        w->heap[i] = w->heap[m];
        w->heap[m] = t;
        i = m;
    }
    top->queued = false;
    top->popped = true;
    return top;
}

/* One op row of a commit. */
typedef struct vop {
    const char *key;
    cat_content *ct; /* NULL: delete */
} vop;

static vop *read_op_row(walker *w, db_stmt *st) {
    __atomic_fetch_add(&stat_ops, 1, __ATOMIC_RELAXED);
    vop *o = arena_alloc(w->a, sizeof *o);
    o->key = cat_col_text(w->a, st, 0);
    o->ct = NULL;
    if (!strcmp(db_col_text(st, 1), "put")) {
        o->ct = arena_alloc(w->a, sizeof *o->ct);
        o->ct->kind = cat_col_text(w->a, st, 2);
        o->ct->content_id = cat_col_text(w->a, st, 3);
        o->ct->location = cat_col_text(w->a, st, 4);
        o->ct->json = cat_col_text(w->a, st, 5);
    }
    return o;
}

/* The ops of commit n, sorted by key. */
static bool node_ops(walker *w, const node *n, pvec *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (is_root(n->hash)) return true;
    db_stmt *st = w->ops_q;
    db_reset(st);
    db_bind_int64(st, 1, n->seq);
    int rc;
    while ((rc = db_step(st)) == DB_ROW) pvec_push(out, w->a, read_op_row(w, st));
    db_reset(st);
    return rc == DB_DONE || db_fail(w->k, "reading a commit's changes", err);
}

/* The op of commit n on key, if it has one. */
static bool node_op(walker *w, const node *n, const char *key, vop **out, floe_err *err) {
    *out = NULL;
    if (is_root(n->hash)) return true;
    db_stmt *st = w->op_q;
    db_reset(st);
    db_bind_int64(st, 1, n->seq);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    if (rc == DB_ROW) *out = read_op_row(w, st);
    db_reset(st);
    return rc == DB_ROW || rc == DB_DONE || db_fail(w->k, "reading a commit's changes", err);
}

/* ---------------------------------------------------------- merge base */

#define SIDE1 1u
#define SIDE2 2u
#define BOTH (SIDE1 | SIDE2)

static bool paint_push(walker *w, const char *hash, unsigned flags, floe_err *err) {
    node *n = walker_node(w, hash, err);
    if (!n) return false;
    unsigned old = n->flags;
    n->flags |= flags;
    if (n->popped) return true; /* cannot happen: parents have lower generations */
    if (!n->queued) {
        heap_push(w, n);
        if (n->flags != BOTH) w->nonstale++;
    } else if (old != BOTH && n->flags == BOTH) {
        w->nonstale--;
    }
    return true;
}

/* Paints h1's and h2's ancestors down to their merge base. one and two get
 * the commits only h1 (h2) reaches, newest first; base the best common
 * ancestor. */
typedef struct painted {
    const char *base;
    pvec one, two;
} painted;

static bool paint(walker *w, const char *h1, const char *h2, painted *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!strcmp(h1, h2)) {
        out->base = h1;
        return walker_node(w, h1, err) != NULL;
    }
    if (!paint_push(w, h1, SIDE1, err) || !paint_push(w, h2, SIDE2, err)) return false;
    while (w->nonstale > 0) {
        node *n = heap_pop(w);
        if (n->flags == BOTH) {
            if (!out->base) out->base = n->hash;
        } else {
            w->nonstale--;
            pvec_push(n->flags == SIDE1 ? &out->one : &out->two, w->a, n);
        }
        if (n->parent && !paint_push(w, n->parent, n->flags, err)) return false;
        if (n->parent2 && !paint_push(w, n->parent2, n->flags, err)) return false;
    }
    if (!out->base) {
        node *n = heap_pop(w); /* every queued commit is common: the newest is the base */
        out->base = n ? n->hash : CAT_NO_ANCESTOR;
    }
    return true;
}

/* The keys the commits of side changed, and the newest op of each (the
 * side's content), in a map key -> vop. */
static bool side_changes(walker *w, const pvec *side, smap *out, pvec *keys, floe_err *err) {
    for (size_t i = 0; i < side->n; i++) {
        pvec ops;
        if (!node_ops(w, side->v[i], &ops, err)) return false;
        for (size_t j = 0; j < ops.n; j++) {
            vop *o = ops.v[j];
            if (smap_has(out, o->key)) continue;
            smap_put(out, w->a, o->key, o);
            if (keys) pvec_push(keys, w->a, (void *)o->key);
        }
    }
    return true;
}

/* ------------------------------------------------------------ contents */

/* A ref whose head is hash, or NULL. */
static bool ref_at(cat_conn *k, const char *hash, arena_t *a, const char **ref, floe_err *err) {
    db_stmt *st = NULL;
    *ref = NULL;
    if (!(st = db_prepare(k, "SELECT name FROM refs WHERE hash = ?1 ORDER BY name LIMIT 1")))
        return db_fail(k, "reading refs", err);
    db_bind_text(st, 1, hash);
    int rc = db_step(st);
    if (rc == DB_ROW) *ref = cat_col_text(a, st, 0);
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE || db_fail(k, "reading refs", err);
}

static bool head_row(cat_conn *k, const char *ref, const char *key, arena_t *a, cat_content **out, floe_err *err) {
    db_stmt *st = NULL;
    *out = NULL;
    if (!(st = db_prepare(k, "SELECT kind, content_id, location, content FROM heads WHERE ref = ?1 AND key = ?2")))
        return db_fail(k, "reading contents", err);
    db_bind_text(st, 1, ref);
    db_bind_text(st, 2, key);
    int rc = db_step(st);
    if (rc == DB_ROW) {
        cat_content *c = arena_alloc(a, sizeof *c);
        c->kind = cat_col_text(a, st, 0);
        c->content_id = cat_col_text(a, st, 1);
        c->location = cat_col_text(a, st, 2);
        c->json = cat_col_text(a, st, 3);
        *out = c;
    }
    db_finalize(st);
    return rc == DB_ROW || rc == DB_DONE || db_fail(k, "reading contents", err);
}

/* The content of key at commit hash (NULL: absent): a heads lookup when a
 * ref is there, else the newest op on key among its ancestors. */
static bool value_at(cat_conn *k, const char *hash, const char *key, arena_t *a, cat_content **out, floe_err *err) {
    const char *ref;
    if (!ref_at(k, hash, a, &ref, err)) return false;
    if (ref) return head_row(k, ref, key, a, out, err);
    walker w;
    bool ok = walker_init(&w, k, a, err);
    *out = NULL;
    node *n = ok ? walker_node(&w, hash, err) : NULL;
    ok = n != NULL;
    if (ok) heap_push(&w, n);
    while (ok && (n = heap_pop(&w))) {
        vop *o;
        if (!(ok = node_op(&w, n, key, &o, err))) break;
        if (o) {
            *out = o->ct;
            break;
        }
        const char *ps[2] = {n->parent, n->parent2};
        for (int i = 0; i < 2 && ok; i++) {
            if (!ps[i]) continue;
            node *p = walker_node(&w, ps[i], err);
            ok = p != NULL;
            if (ok && !p->queued && !p->popped) heap_push(&w, p);
        }
    }
    walker_done(&w);
    return ok;
}

static bool same_content(const cat_content *x, const cat_content *y) {
    if (!x || !y) return x == y;
    return str_eq(x->json, y->json);
}

/* ----------------------------------------------------------- addressing */

static bool valid_ref_name(const char *name, floe_err *err) {
    size_t n = name ? strlen(name) : 0;
    bool ok = n > 0 && n <= 255 && isalpha((unsigned char)name[0]) && !strstr(name, "..") && name[n - 1] != '.' &&
              name[n - 1] != '/';
    for (size_t i = 0; ok && i < n; i++) ok = isalnum((unsigned char)name[i]) || strchr("./_-", name[i]) != NULL;
    if (!ok)
        return floe_err_set(err, FLOE_EINVAL,
                            "ref name '%s' is not valid: start with a letter, then letters, digits, '.', '/', '_' or "
                            "'-' (no '..', not ending in '.' or '/'), like dev or etl/2026-03",
                            name ? name : "");
    return true;
}

static bool all_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return n > 0;
}

bool cat_is_refspec(const char *s) { return s && strpbrk(s, "@~*^") != NULL; }

/* A full hash from a hash or a unique prefix of 8 or more hex digits. */
static bool find_hash(cat_conn *k, const char *text, size_t len, arena_t *a, const char **out, floe_err *err) {
    if (len < 8 || len > 64 || !all_hex(text, len))
        return floe_err_set(err, FLOE_EINVAL, "'%.*s' is not a commit hash: expected 8 to 64 hex digits", (int)len,
                            text);
    char *lo = arena_strndup(a, text, len);
    for (char *p = lo; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (!strcmp(lo, CAT_NO_ANCESTOR)) {
        *out = lo;
        return true;
    }
    char *hi = arena_sprintf(a, "%sg", lo); /* 'g' sorts after every hex digit */
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "SELECT hash FROM commits WHERE hash >= ?1 AND hash < ?2 ORDER BY hash LIMIT 2")))
        return db_fail(k, "finding a commit", err);
    db_bind_text(st, 1, lo);
    db_bind_text(st, 2, hi);
    const char *first = NULL;
    int rows = 0, rc;
    while ((rc = db_step(st)) == DB_ROW) {
        if (!rows) first = cat_col_text(a, st, 0);
        rows++;
    }
    db_finalize(st);
    if (rc != DB_DONE) return db_fail(k, "finding a commit", err);
    if (rows == 0) return floe_err_set(err, FLOE_ENOENT, "no commit %s in the catalog (see `floe log`)", lo);
    if (rows > 1) return floe_err_set(err, FLOE_EINVAL, "commit prefix %s is ambiguous; give more of the hash", lo);
    *out = first;
    return true;
}

/* True when anc is desc or one of its ancestors: a walk from desc that
 * stops below anc's generation, O(commits between them). */
static bool is_ancestor(cat_conn *k, arena_t *a, const char *anc, const char *desc, bool *out, floe_err *err) {
    *out = false;
    if (!strcmp(anc, desc) || is_root(anc)) {
        *out = true;
        return true;
    }
    walker w;
    bool ok = walker_init(&w, k, a, err);
    node *target = ok ? walker_node(&w, anc, err) : NULL;
    node *n = target ? walker_node(&w, desc, err) : NULL;
    ok = n != NULL;
    if (ok) heap_push(&w, n);
    while (ok && (n = heap_pop(&w))) {
        if (n == target) {
            *out = true;
            break;
        }
        const char *ps[2] = {n->parent, n->parent2};
        for (int i = 0; i < 2 && ok; i++) {
            if (!ps[i]) continue;
            node *p = walker_node(&w, ps[i], err);
            ok = p != NULL;
            if (ok && !p->queued && !p->popped && p->gen >= target->gen) heap_push(&w, p);
        }
    }
    walker_done(&w);
    return ok;
}

static bool parse_time(const char *s, int64_t *ms) {
    int64_t sec;
    if (all_hex(s, strlen(s)) && str_to_i64_range(s, 0, INT64_MAX, ms)) return true;
    if (!time_parse_iso8601(s, &sec)) return false;
    *ms = sec * 1000;
    return true;
}

static bool resolve_k(cat_conn *k, const char *spec, arena_t *a, cat_resolved *out, floe_err *err) {
    if (!spec || !*spec) spec = CAT_MAIN;
    memset(out, 0, sizeof *out);
    size_t nlen = strcspn(spec, "@~*^");
    const char *p = spec + nlen;
    cat_ref r = {0};
    const char *head = NULL;
    if (nlen) {
        char *name = arena_strndup(a, spec, nlen);
        if (!cat_ref_read(k, name, a, &r, err)) {
            /* a bare hash */
            if (err->code != FLOE_ENOENT || *p || nlen < 8 || !all_hex(name, nlen)) return false;
            if (!find_hash(k, name, nlen, a, &out->hash, err)) return false;
            return true;
        }
        out->ref = r.name;
        out->hash = head = r.hash;
    } else if (*p != '@') {
        return floe_err_set(err, FLOE_EINVAL,
                            "'%s' is not a refspec: expected REF, REF@HASH, REF*TIME, REF~N or a commit hash", spec);
    }
    walker w;
    if (!walker_init(&w, k, a, err)) return false;
    bool ok = true;
    bool first = true;
    while (ok && *p) {
        char m = *p++;
        size_t len = strcspn(p, "@~*^");
        char *arg = arena_strndup(a, p, len);
        p += len;
        if (m == '@') {
            if (!first) {
                ok = floe_err_set(err, FLOE_EINVAL, "'%s': @HASH must come right after the ref name", spec);
                break;
            }
            const char *h;
            ok = find_hash(k, arg, len, a, &h, err);
            if (ok && head) {
                bool anc;
                ok = is_ancestor(k, a, h, head, &anc, err);
                if (ok && !anc)
                    ok = floe_err_set(err, FLOE_ENOENT, "commit %s is not in the history of '%s' (see `floe log %s`)",
                                      h, out->ref, out->ref);
            }
            if (ok) out->hash = h;
        } else if (m == '~' || m == '^') {
            int64_t nstep = 1;
            if (len && !str_to_i64_range(arg, 0, 1000000000, &nstep)) {
                ok = floe_err_set(err, FLOE_EINVAL, "'%s': %c takes a number, like main~2", spec, m);
                break;
            }
            if (m == '^' && nstep > 2) {
                ok = floe_err_set(err, FLOE_EINVAL, "'%s': ^N takes 1 (first parent) or 2 (merged parent)", spec);
                break;
            }
            int64_t steps = m == '~' ? nstep : (nstep ? 1 : 0);
            for (int64_t i = 0; ok && i < steps; i++) {
                node *n = walker_node(&w, out->hash, err);
                ok = n != NULL;
                const char *next = !ok ? NULL : (m == '^' && nstep == 2) ? n->parent2 : n->parent;
                if (ok && !next)
                    ok = floe_err_set(err, FLOE_ENOENT, "'%s' goes back past the first commit (%s has no %s)", spec,
                                      out->hash, m == '^' && nstep == 2 ? "second parent" : "parent");
                if (ok) out->hash = next;
            }
        } else { /* '*' */
            int64_t t;
            if (!parse_time(arg, &t)) {
                ok = floe_err_set(err, FLOE_EINVAL,
                                  "'%s': *TIME takes an ISO 8601 time like 2026-03-28T10:00:00Z or epoch milliseconds",
                                  spec);
                break;
            }
            /* the newest commit at or before t along first parents */
            for (;;) {
                node *n = walker_node(&w, out->hash, err);
                if (!(ok = n != NULL)) break;
                if (is_root(n->hash) || n->time_ms <= t) break;
                out->hash = n->parent;
            }
        }
        first = false;
    }
    walker_done(&w);
    if (ok) out->is_head = head && !strcmp(head, out->hash);
    return ok;
}

bool cat_resolve(cat_t *c, const char *spec, arena_t *a, cat_resolved *out, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    bool ok = resolve_k(k, spec, a, out, err);
    cat_conn_put(c, k);
    return ok;
}

bool cat_content_at_spec(cat_conn *k, const char *spec, const char *key, arena_t *a, cat_content *out, bool *found,
                         floe_err *err) {
    cat_resolved r;
    cat_content *v;
    *found = false;
    if (!resolve_k(k, spec, a, &r, err)) return false;
    if (!value_at(k, r.hash, key, a, &v, err)) return false;
    if (v) {
        *out = *v;
        *found = true;
    }
    return true;
}

/* ------------------------------------------------------ whole contents */

typedef struct kv {
    const char *key;
    cat_content *ct;
} kv;

/* key -> content (NULL: absent) for everything at r.hash. */
static bool contents_k(cat_conn *k, const cat_resolved *r, arena_t *a, smap *out, pvec *keys, floe_err *err) {
    const char *ref = r->is_head ? r->ref : NULL;
    if (!ref && !ref_at(k, r->hash, a, &ref, err)) return false;
    const char *base_ref = ref ? ref : r->ref; /* read heads, then correct */
    if (base_ref) {
        db_stmt *st = NULL;
        if (!(st = db_prepare(
                  k, "SELECT key, kind, content_id, location, content FROM heads WHERE ref = ?1 ORDER BY key")))
            return db_fail(k, "reading contents", err);
        db_bind_text(st, 1, base_ref);
        int rc;
        while ((rc = db_step(st)) == DB_ROW) {
            cat_content *c = arena_alloc(a, sizeof *c);
            const char *key = cat_col_text(a, st, 0);
            c->kind = cat_col_text(a, st, 1);
            c->content_id = cat_col_text(a, st, 2);
            c->location = cat_col_text(a, st, 3);
            c->json = cat_col_text(a, st, 4);
            smap_put(out, a, key, c);
            pvec_push(keys, a, (void *)key);
        }
        db_finalize(st);
        if (rc != DB_DONE) return db_fail(k, "reading contents", err);
        if (ref) return true;
        /* the keys changed between the commit and the ref's head */
        cat_ref cur;
        if (!cat_ref_read(k, base_ref, a, &cur, err)) return false;
        walker w;
        painted pt;
        smap changed = {0};
        pvec ck = {0};
        bool ok = walker_init(&w, k, a, err) && paint(&w, cur.hash, r->hash, &pt, err) &&
                  side_changes(&w, &pt.one, &changed, &ck, err) && side_changes(&w, &pt.two, &changed, &ck, err);
        walker_done(&w);
        for (size_t i = 0; ok && i < ck.n; i++) {
            cat_content *v;
            ok = value_at(k, r->hash, ck.v[i], a, &v, err);
            if (ok && !smap_has(out, ck.v[i])) pvec_push(keys, a, ck.v[i]);
            if (ok) smap_put(out, a, ck.v[i], v);
        }
        return ok;
    }
    /* a bare hash no ref reaches directly: the newest op of every key */
    walker w;
    bool ok = walker_init(&w, k, a, err);
    node *n = ok ? walker_node(&w, r->hash, err) : NULL;
    ok = n != NULL;
    if (ok) heap_push(&w, n);
    while (ok && (n = heap_pop(&w))) {
        pvec ops;
        if (!(ok = node_ops(&w, n, &ops, err))) break;
        for (size_t j = 0; j < ops.n; j++) {
            vop *o = ops.v[j];
            if (smap_has(out, o->key)) continue;
            smap_put(out, a, o->key, o->ct);
            pvec_push(keys, a, (void *)o->key);
        }
        const char *ps[2] = {n->parent, n->parent2};
        for (int i = 0; i < 2 && ok; i++) {
            if (!ps[i]) continue;
            node *p = walker_node(&w, ps[i], err);
            ok = p != NULL;
            if (ok && !p->queued && !p->popped) heap_push(&w, p);
        }
    }
    walker_done(&w);
    return ok;
}

static cat_entry *entry_of(arena_t *a, const char *key, const cat_content *ct) {
    if (!ct) return NULL;
    cat_entry *e = arena_alloc(a, sizeof *e);
    e->key = cat_key_display(a, key);
    e->kind = ct->kind;
    e->content_id = ct->content_id;
    e->location = ct->location;
    e->json = ct->json;
    return e;
}

bool cat_contents(cat_t *c, const char *spec, arena_t *a, cat_entry **out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_resolved r;
    smap m = {0};
    pvec keys = {0};
    bool ok = resolve_k(k, spec, a, &r, err) && contents_k(k, &r, a, &m, &keys, err);
    cat_conn_put(c, k);
    if (!ok) return false;
    if (keys.n) qsort(keys.v, keys.n, sizeof *keys.v, cmp_str);
    *out = arena_alloc(a, (keys.n + 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; i < keys.n; i++) {
        cat_content *ct = smap_get(&m, keys.v[i]);
        if (ct) (*out)[(*n)++] = *entry_of(a, keys.v[i], ct);
    }
    return true;
}

/* --------------------------------------------------------------- refs */

/* Moves ref's heads rows from what old_hash shows to what new_hash shows:
 * only the keys changed between them, O(commits since their merge base). */
static bool heads_move(cat_conn *k, const char *ref, const char *old_hash, const char *new_hash, arena_t *a,
                       floe_err *err) {
    walker w;
    painted pt;
    smap changed = {0};
    pvec keys = {0};
    bool ok = walker_init(&w, k, a, err) && paint(&w, old_hash, new_hash, &pt, err) &&
              side_changes(&w, &pt.one, &changed, &keys, err) && side_changes(&w, &pt.two, &changed, &keys, err);
    walker_done(&w);
    for (size_t i = 0; ok && i < keys.n; i++) {
        cat_content *v;
        ok = value_at(k, new_hash, keys.v[i], a, &v, err) && cat_heads_apply(k, ref, keys.v[i], v, a, err);
    }
    return ok;
}

static bool begin(cat_conn *k, floe_err *err) { return db_begin_write(k, err); }

static bool finish(cat_conn *k, bool ok, floe_err *err) {
    if (ok) ok = db_commit(k, err);
    if (!ok) db_rollback(k);
    return ok;
}

/* expected: the full hash, or a prefix of 8 or more hex digits. */
static bool check_expected(const cat_ref *r, const char *expected, const char *what, floe_err *err) {
    size_t n = expected ? strlen(expected) : 0;
    if (!expected || !strcmp(r->hash, expected) || (n >= 8 && !strncmp(r->hash, expected, n))) return true;
    return floe_err_set(err, FLOE_ECONFLICT,
                        "%s: '%s' is at %s, not at the expected %s (it moved since you read it); read it again and "
                        "retry",
                        what, r->name, r->hash, expected);
}

static bool copy_heads(cat_conn *k, const char *to, const char *from, floe_err *err) {
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "INSERT INTO heads(ref, key, parent, kind, content_id, location, content)"
                             " SELECT ?1, key, parent, kind, content_id, location, content FROM heads WHERE ref = ?2")))
        return db_fail(k, "copying contents", err);
    db_bind_text(st, 1, to);
    db_bind_text(st, 2, from);
    int rc = db_step(st);
    db_finalize(st);
    return rc == DB_DONE || db_fail(k, "copying contents", err);
}

static bool create_k(cat_conn *k, const char *name, bool is_tag, const char *from, arena_t *a, cat_ref *out,
                     floe_err *err) {
    cat_ref existing;
    floe_err e2;
    if (cat_ref_read(k, name, a, &existing, &e2))
        return floe_err_set(err, FLOE_EEXIST, "%s '%s' already exists (at %s)", existing.is_tag ? "tag" : "branch",
                            name, existing.hash);
    if (e2.code != FLOE_ENOENT) {
        *err = e2;
        return false;
    }
    cat_resolved r;
    if (!resolve_k(k, from, a, &r, err)) return false;
    /* the contents first: the new row must not yet answer "which ref is at this hash" */
    const char *src = r.is_head ? r.ref : NULL;
    if (!src && !ref_at(k, r.hash, a, &src, err)) return false;
    smap m = {0};
    pvec keys = {0};
    if (!src && !contents_k(k, &r, a, &m, &keys, err)) return false;
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "INSERT INTO refs(name, is_tag, hash) VALUES(?1, ?2, ?3)")))
        return db_fail(k, "creating a ref", err);
    db_bind_text(st, 1, name);
    db_bind_int64(st, 2, is_tag);
    db_bind_text(st, 3, r.hash);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE) return db_fail(k, "creating a ref", err);
    if (src && !copy_heads(k, name, src, err)) return false;
    for (size_t i = 0; i < keys.n; i++) {
        cat_content *ct = smap_get(&m, keys.v[i]);
        if (ct && !cat_heads_apply(k, name, keys.v[i], ct, a, err)) return false;
    }
    if (!cat_reflog_add(k, name, NULL, r.hash, "CREATE_REFERENCE", err)) return false;
    out->name = arena_strdup(a, name);
    out->is_tag = is_tag;
    out->hash = r.hash;
    return true;
}

bool cat_ref_create(cat_t *c, const char *name, bool is_tag, const char *from, arena_t *a, cat_ref *out,
                    floe_err *err) {
    if (!valid_ref_name(name, err)) return false;
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    bool ok = begin(k, err);
    if (ok) ok = finish(k, create_k(k, name, is_tag, from, a, out, err), err);
    cat_conn_put(c, k);
    return ok;
}

static bool assign_k(cat_conn *k, const char *name, const char *to, const char *expected, arena_t *a, cat_ref *out,
                     floe_err *err) {
    cat_ref cur;
    cat_resolved r;
    if (!cat_ref_read(k, name, a, &cur, err) || !check_expected(&cur, expected, "assign", err) ||
        !resolve_k(k, to, a, &r, err))
        return false;
    *out = cur;
    if (!strcmp(cur.hash, r.hash)) return true;
    if (!heads_move(k, name, cur.hash, r.hash, a, err)) return false;
    db_stmt *st = NULL;
    if (!(st = db_prepare(k, "UPDATE refs SET hash = ?2 WHERE name = ?1"))) return db_fail(k, "assigning a ref", err);
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, r.hash);
    int rc = db_step(st);
    db_finalize(st);
    if (rc != DB_DONE) return db_fail(k, "assigning a ref", err);
    if (!cat_reflog_add(k, name, cur.hash, r.hash, "ASSIGN_REFERENCE", err)) return false;
    out->hash = r.hash;
    return true;
}

bool cat_ref_assign(cat_t *c, const char *name, const char *to, const char *expected_hash, arena_t *a, cat_ref *out,
                    floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    bool ok = begin(k, err);
    if (ok) ok = finish(k, assign_k(k, name, to, expected_hash, a, out, err), err);
    cat_conn_put(c, k);
    return ok;
}

static bool delete_k(cat_conn *k, const char *name, const char *expected, arena_t *a, floe_err *err) {
    cat_ref cur;
    if (!cat_ref_read(k, name, a, &cur, err) || !check_expected(&cur, expected, "delete", err)) return false;
    const char *sql[2] = {"DELETE FROM heads WHERE ref = ?1", "DELETE FROM refs WHERE name = ?1"};
    for (int i = 0; i < 2; i++) {
        db_stmt *st = NULL;
        if (!(st = db_prepare(k, sql[i]))) return db_fail(k, "deleting a ref", err);
        db_bind_text(st, 1, name);
        int rc = db_step(st);
        db_finalize(st);
        if (rc != DB_DONE) return db_fail(k, "deleting a ref", err);
    }
    return cat_reflog_add(k, name, cur.hash, NULL, "DELETE_REFERENCE", err);
}

bool cat_ref_delete(cat_t *c, const char *name, const char *expected_hash, floe_err *err) {
    if (name && !strcmp(name, CAT_MAIN))
        return floe_err_set(err, FLOE_EINVAL, "'main' is the default branch and cannot be deleted");
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    arena_t a;
    arena_init(&a, 1024);
    bool ok = begin(k, err);
    if (ok) ok = finish(k, delete_k(k, name, expected_hash, &a, err), err);
    arena_free(&a);
    cat_conn_put(c, k);
    return ok;
}

/* ---------------------------------------------------------------- log */

bool cat_log_page(cat_t *c, const char *spec, const char *page_token, size_t max, arena_t *a, cat_commit **out,
                  size_t *n, const char **next_token, floe_err *err) {
    if (!max) max = 100;
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_resolved r;
    walker w;
    const char *h = NULL;
    bool ok = walker_init(&w, k, a, err);
    if (ok && page_token) {
        ok = strlen(page_token) == 64 && all_hex(page_token, 64);
        if (!ok)
            floe_err_set(err, FLOE_EINVAL, "page token '%s' is not one this catalog gave out; start again without it",
                         page_token);
        h = page_token;
    } else if (ok) {
        ok = resolve_k(k, spec, a, &r, err);
        h = r.hash;
    }
    *out = arena_alloc(a, max * sizeof **out);
    *n = 0;
    *next_token = NULL;
    while (ok && !is_root(h) && *n < max) {
        node *nd = walker_node(&w, h, err);
        if (!(ok = nd != NULL)) break;
        (*out)[(*n)++] = (cat_commit){.hash = nd->hash,
                                      .parent = nd->parent,
                                      .parent2 = nd->parent2,
                                      .time_ms = nd->time_ms,
                                      .author = nd->author,
                                      .message = nd->message};
        h = nd->parent;
    }
    if (ok && !is_root(h)) *next_token = h;
    walker_done(&w);
    cat_conn_put(c, k);
    return ok;
}

/* --------------------------------------------------------------- diff */

bool cat_diff(cat_t *c, const char *from, const char *to, arena_t *a, cat_diff_entry **out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_resolved rf, rt;
    walker w;
    painted pt;
    smap changed = {0};
    pvec keys = {0};
    bool ok = resolve_k(k, from, a, &rf, err) && resolve_k(k, to, a, &rt, err);
    if (ok) {
        ok = walker_init(&w, k, a, err) && paint(&w, rf.hash, rt.hash, &pt, err) &&
             side_changes(&w, &pt.one, &changed, &keys, err) && side_changes(&w, &pt.two, &changed, &keys, err);
        walker_done(&w);
    }
    if (ok && keys.n) qsort(keys.v, keys.n, sizeof *keys.v, cmp_str);
    *out = arena_alloc(a, (keys.n + 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; ok && i < keys.n; i++) {
        cat_content *vf, *vt;
        ok = value_at(k, rf.hash, keys.v[i], a, &vf, err) && value_at(k, rt.hash, keys.v[i], a, &vt, err);
        if (ok && !same_content(vf, vt))
            (*out)[(*n)++] = (cat_diff_entry){.key = cat_key_display(a, keys.v[i]),
                                              .from = entry_of(a, keys.v[i], vf),
                                              .to = entry_of(a, keys.v[i], vt)};
    }
    cat_conn_put(c, k);
    return ok;
}

/* -------------------------------------------------------------- merge */

typedef struct plan {
    pvec details, conflicts;
    cat_op *ops;
    size_t nops, capops;
} plan;

static void plan_op(plan *p, arena_t *a, const char *key, const cat_content *ct) {
    if (p->nops == p->capops) {
        size_t cap = p->capops ? p->capops * 2 : 16;
        cat_op *nv = arena_alloc(a, cap * sizeof *nv);
        if (p->nops) memcpy(nv, p->ops, p->nops * sizeof *nv);
        p->ops = nv;
        p->capops = cap;
    }
    p->ops[p->nops++] = (cat_op){.key = key, .content = ct};
}

static void plan_conflict(plan *p, arena_t *a, const char *key, const char *type, const char *msg) {
    cat_conflict *cf = arena_alloc(a, sizeof *cf);
    cf->key = cat_key_display(a, key);
    cf->type = type;
    cf->message = msg;
    pvec_push(&p->conflicts, a, cf);
}

static cat_merge_behavior behavior_for(const cat_merge_opts *o, arena_t *a, const char *key) {
    for (size_t i = 0; i < o->nkeys; i++)
        if (!strcmp(cat_key(a, o->keys[i].key, NULL), key)) return o->keys[i].behavior;
    return o->default_behavior;
}

/* A put of a table or namespace needs its namespace on the target after
 * the merge. */
static bool check_namespaces(cat_conn *k, const char *into, plan *p, arena_t *a, floe_err *err) {
    smap planned = {0};
    for (size_t i = 0; i < p->nops; i++) smap_put(&planned, a, p->ops[i].key, (void *)(p->ops[i].content ? "p" : "d"));
    for (size_t i = 0; i < p->nops; i++) {
        if (!p->ops[i].content) continue;
        const char *parent = cat_key_parent(a, p->ops[i].key);
        if (!*parent) continue;
        const char *pl = smap_get(&planned, parent);
        bool present;
        if (pl) {
            present = *pl == 'p';
        } else {
            cat_content *cur;
            if (!head_row(k, into, parent, a, &cur, err)) return false;
            present = cur && !strcmp(cur->kind, "NAMESPACE");
        }
        if (!present)
            plan_conflict(p, a, p->ops[i].key, "NAMESPACE_ABSENT",
                          arena_sprintf(a, "namespace '%s' does not exist on '%s'", cat_key_display(a, parent), into));
    }
    return true;
}

static bool merge_k(cat_conn *k, const cat_merge_opts *o, const char *into, arena_t *a, cat_merge_result *out, plan *p,
                    floe_err *err) {
    cat_ref target;
    cat_resolved src;
    if (!cat_ref_read(k, into, a, &target, err)) return false;
    if (target.is_tag) return floe_err_set(err, FLOE_EINVAL, "'%s' is a tag; merge into a branch", into);
    if (!check_expected(&target, o->expected_hash, "merge", err) || !resolve_k(k, o->from, a, &src, err)) return false;
    out->source_hash = src.hash;
    out->target_hash = out->result_hash = target.hash;
    walker w;
    painted pt;
    smap src_changes = {0}, tgt_changes = {0};
    pvec keys = {0};
    bool ok = walker_init(&w, k, a, err) && paint(&w, src.hash, target.hash, &pt, err) &&
              side_changes(&w, &pt.one, &src_changes, &keys, err) && side_changes(&w, &pt.two, &tgt_changes, NULL, err);
    walker_done(&w);
    if (!ok) return false;
    out->base_hash = pt.base;
    if (keys.n) qsort(keys.v, keys.n, sizeof *keys.v, cmp_str);
    for (size_t i = 0; i < keys.n; i++) {
        const char *key = keys.v[i];
        vop *sv = smap_get(&src_changes, key);
        cat_merge_behavior b = behavior_for(o, a, key);
        cat_merge_detail *d = arena_alloc(a, sizeof *d);
        *d = (cat_merge_detail){.key = cat_key_display(a, key), .behavior = b};
        pvec_push(&p->details, a, d);
        cat_content *cur;
        if (!head_row(k, into, key, a, &cur, err)) return false;
        if (b == CAT_MERGE_DROP) {
            plan_op(p, a, key, cur); /* the merge commit records the target's own */
            continue;
        }
        /* three-way: a conflict when the target's content is neither the
         * base's nor the source's (a merge commit on the target that brought
         * in an earlier state of the source is no change of its own) */
        bool conflict = false;
        if (b == CAT_MERGE_NORMAL && smap_has(&tgt_changes, key) && !same_content(cur, sv->ct)) {
            cat_content *at_base;
            if (!value_at(k, pt.base, key, a, &at_base, err)) return false;
            conflict = !same_content(cur, at_base);
        }
        if (conflict) {
            d->conflict = "KEY_CONFLICT";
            plan_conflict(p, a, key, "KEY_CONFLICT",
                          arena_sprintf(a, "'%s' changed on both '%s' and '%s' since their merge base %.12s",
                                        cat_key_display(a, key), o->from, into, pt.base));
            continue;
        }
        plan_op(p, a, key, sv->ct);
    }
    if (!check_namespaces(k, into, p, a, err)) return false;
    if (p->conflicts.n || o->dry_run || !keys.n) return true;
    const char *msg = o->message ? o->message : arena_sprintf(a, "merge %s into %s", o->from, into);
    if (!cat_commit_write(k, &target, src.hash, p->ops, p->nops, msg, "MERGE", a, &out->result_hash, err)) return false;
    out->applied = true;
    return true;
}

static bool conflicts_err(const char *what, plan *p, arena_t *a, floe_err *err) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s: %zu conflict%s:", what, p->conflicts.n, p->conflicts.n == 1 ? "" : "s");
    for (size_t i = 0; i < p->conflicts.n && i < 10; i++) {
        cat_conflict *cf = p->conflicts.v[i];
        buf_printf(&b, " %s'%s' (%s: %s)", i ? "; " : "", cf->key, cf->type, cf->message);
    }
    if (p->conflicts.n > 10) buf_printf(&b, "; and %zu more", p->conflicts.n - 10);
    buf_printf(&b, ". Resolve by committing to one side, or merge a key with FORCE (take the source's) or DROP "
                   "(keep the target's)");
    floe_err_set(err, FLOE_ECONFLICT, "%.*s", (int)b.len, b.data);
    buf_free(&b);
    (void)a;
    return false;
}

static void result_lists(cat_merge_result *out, plan *p, arena_t *a) {
    out->ndetails = p->details.n;
    out->details = arena_alloc(a, (p->details.n + 1) * sizeof *out->details);
    for (size_t i = 0; i < p->details.n; i++) out->details[i] = *(cat_merge_detail *)p->details.v[i];
    out->nconflicts = p->conflicts.n;
    out->conflicts = arena_alloc(a, (p->conflicts.n + 1) * sizeof *out->conflicts);
    for (size_t i = 0; i < p->conflicts.n; i++) out->conflicts[i] = *(cat_conflict *)p->conflicts.v[i];
}

bool cat_merge(cat_t *c, const cat_merge_opts *o, arena_t *a, cat_merge_result *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    const char *into = o->into && *o->into ? o->into : CAT_MAIN;
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    plan p = {0};
    bool ok = begin(k, err);
    if (ok) {
        ok = merge_k(k, o, into, a, out, &p, err);
        result_lists(out, &p, a);
        if (ok && p.conflicts.n && !o->dry_run)
            ok = conflicts_err(arena_sprintf(a, "merge of '%s' into '%s'", o->from, into), &p, a, err);
        ok = finish(k, ok && !o->dry_run, err) || (o->dry_run && ok);
        if (o->dry_run && ok) *err = (floe_err){0};
    }
    cat_conn_put(c, k);
    return ok;
}

/* --------------------------------------------------------- transplant */

static bool transplant_k(cat_conn *k, const cat_transplant_opts *o, const char *into, arena_t *a, cat_merge_result *out,
                         plan *p, floe_err *err) {
    cat_ref target;
    if (!cat_ref_read(k, into, a, &target, err)) return false;
    if (target.is_tag) return floe_err_set(err, FLOE_EINVAL, "'%s' is a tag; transplant onto a branch", into);
    if (!check_expected(&target, o->expected_hash, "transplant", err)) return false;
    out->target_hash = out->result_hash = target.hash;
    walker w;
    if (!walker_init(&w, k, a, err)) return false;
    bool ok = true;
    for (size_t i = 0; ok && i < o->nhashes; i++) {
        cat_resolved r;
        node *n = NULL;
        pvec ops;
        ok = resolve_k(k, o->hashes[i], a, &r, err) && (n = walker_node(&w, r.hash, err)) != NULL &&
             node_ops(&w, n, &ops, err);
        if (ok && is_root(n->hash)) ok = floe_err_set(err, FLOE_EINVAL, "the empty log has no changes to transplant");
        if (!ok) break;
        out->source_hash = n->hash;
        plan cp = {0};
        for (size_t j = 0; ok && j < ops.n; j++) {
            vop *op = ops.v[j];
            cat_content *cur, *prev;
            ok = head_row(k, into, op->key, a, &cur, err) && value_at(k, n->parent, op->key, a, &prev, err);
            if (!ok) break;
            cat_merge_detail *d = arena_alloc(a, sizeof *d);
            *d = (cat_merge_detail){.key = cat_key_display(a, op->key), .behavior = CAT_MERGE_NORMAL};
            pvec_push(&p->details, a, d);
            if (same_content(cur, op->ct)) continue; /* already there */
            if (!same_content(cur, prev)) {
                d->conflict = "KEY_CONFLICT";
                plan_conflict(p, a, op->key, "KEY_CONFLICT",
                              arena_sprintf(a, "'%s' on '%s' is not what commit %.12s changed it from",
                                            cat_key_display(a, op->key), into, n->hash));
                continue;
            }
            plan_op(&cp, a, op->key, op->ct);
        }
        if (ok) ok = check_namespaces(k, into, &cp, a, err);
        for (size_t j = 0; j < cp.conflicts.n; j++) pvec_push(&p->conflicts, a, cp.conflicts.v[j]);
        if (!ok || p->conflicts.n || o->dry_run || !cp.nops) continue;
        ok = cat_commit_write(k, &target, NULL, cp.ops, cp.nops, n->message, "TRANSPLANT", a, &out->result_hash, err);
        if (ok) {
            target.hash = out->result_hash;
            out->applied = true;
        }
    }
    walker_done(&w);
    return ok;
}

bool cat_transplant(cat_t *c, const cat_transplant_opts *o, arena_t *a, cat_merge_result *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    const char *into = o->into && *o->into ? o->into : CAT_MAIN;
    if (!o->nhashes) return floe_err_set(err, FLOE_EINVAL, "transplant: which commits? give one or more hashes");
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    plan p = {0};
    bool ok = begin(k, err);
    if (ok) {
        ok = transplant_k(k, o, into, a, out, &p, err);
        result_lists(out, &p, a);
        if (ok && p.conflicts.n && !o->dry_run)
            ok = conflicts_err(arena_sprintf(a, "transplant onto '%s'", into), &p, a, err);
        ok = finish(k, ok && !o->dry_run, err) || (o->dry_run && ok);
        if (o->dry_run && ok) *err = (floe_err){0};
    }
    cat_conn_put(c, k);
    return ok;
}

/* ------------------------------------------------------------- reflog */

bool cat_reflog(cat_t *c, const char *ref, const char *page_token, size_t max, arena_t *a, cat_reflog_entry **out,
                size_t *n, const char **next_token, floe_err *err) {
    if (!max) max = 100;
    int64_t below = INT64_MAX;
    if (page_token && !str_to_i64_range(page_token, 1, INT64_MAX, &below))
        return floe_err_set(err, FLOE_EINVAL,
                            "page token '%s' is not one this catalog gave out; start again without it", page_token);
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    db_stmt *st = NULL;
    bool ok =
        (st = db_prepare(k, "SELECT seq, ref, old_hash, new_hash, operation, time_ms FROM reflog"
                            " WHERE (CAST(?1 AS TEXT) IS NULL OR ref = ?1) AND seq < ?2 ORDER BY seq DESC LIMIT ?3")) !=
        NULL;
    if (!ok) db_fail(k, "reading the reflog", err);
    *out = arena_alloc(a, (max + 1) * sizeof **out);
    *n = 0;
    *next_token = NULL;
    if (ok) {
        if (ref)
            db_bind_text(st, 1, ref);
        else
            db_bind_null(st, 1);
        db_bind_int64(st, 2, below);
        db_bind_int64(st, 3, (int64_t)max + 1);
        int rc;
        while ((rc = db_step(st)) == DB_ROW) {
            if (*n == max) {
                *next_token = arena_sprintf(a, "%lld", (long long)(*out)[*n - 1].seq);
                break;
            }
            cat_reflog_entry *e = &(*out)[(*n)++];
            e->seq = db_col_int64(st, 0);
            e->ref = cat_col_text(a, st, 1);
            e->old_hash = cat_col_text(a, st, 2);
            e->new_hash = cat_col_text(a, st, 3);
            e->operation = cat_col_text(a, st, 4);
            e->time_ms = db_col_int64(st, 5);
        }
        if (rc != DB_ROW && rc != DB_DONE) ok = db_fail(k, "reading the reflog", err);
    }
    db_finalize(st);
    cat_conn_put(c, k);
    return ok;
}

/* ------------------------------------------------------- a bulk writer */

bool cat_bulk_commits(cat_t *c, const char *branch, const char *ns, size_t ncommits, size_t nkeys, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    arena_t a;
    arena_init(&a, 1 << 16);
    bool ok = begin(k, err);
    cat_ref r;
    if (ok) ok = cat_ref_read(k, branch, &a, &r, err);
    for (size_t i = 0; ok && i < ncommits; i++) {
        if (i % 1024 == 1023) {
            /* keep the arena small: carry only the ref over */
            cat_ref keep = {.name = strdup(r.name), .hash = strdup(r.hash)};
            arena_free(&a);
            arena_init(&a, 1 << 16);
            r.name = arena_strdup(&a, keep.name);
            r.hash = arena_strdup(&a, keep.hash);
            free((char *)keep.name);
            free((char *)keep.hash);
        }
        char name[32];
        snprintf(name, sizeof name, "t%zu", i % (nkeys ? nkeys : 1));
        const char *loc = arena_sprintf(&a, "s3://warehouse/%s/%s/metadata/%05zu.metadata.json", ns, name, i);
        const char *json = arena_sprintf(&a,
                                         "{\"type\":\"ICEBERG_TABLE\",\"id\":\"bulk-%s\",\"metadataLocation\":\"%s\","
                                         "\"snapshotId\":%zu,\"schemaId\":0,\"specId\":0,\"sortOrderId\":0}",
                                         name, loc, i);
        cat_content ct = {
            .kind = "ICEBERG_TABLE", .content_id = arena_sprintf(&a, "bulk-%s", name), .location = loc, .json = json};
        cat_op op = {.key = cat_key(&a, ns, name), .content = &ct};
        const char *h;
        ok = cat_commit_write(k, &r, NULL, &op, 1, arena_sprintf(&a, "bulk %zu", i), "COMMIT", &a, &h, err);
        if (ok) r.hash = h;
    }
    ok = finish(k, ok, err);
    arena_free(&a);
    cat_conn_put(c, k);
    return ok;
}
