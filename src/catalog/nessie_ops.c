/*
 * nessie_ops.c: a commit of Nessie operations (Put, Delete) on a branch,
 * the way a Nessie client commits: POST /api/v2/trees/{branch}/history/commit.
 *
 * Unlike the table and namespace calls in tables.c, a Nessie Put carries the
 * content itself (an IcebergTable's metadata location, a Namespace's
 * properties) and the content id the client last saw, and the commit carries
 * the hash the client based it on. Everything is checked inside one write
 * transaction:
 *
 *   - the expected hash: if the branch moved since, the commit still goes
 *     through when none of its keys changed in between (as in Nessie);
 *   - a Put of an existing key must carry its content id, of the same type;
 *     a Put of a new key must carry none (the id is made here);
 *   - a Delete needs the key; a namespace may be deleted only when empty;
 *   - every key but a top-level one needs its namespace.
 *
 * Each failed check is a cat_conflict with Nessie's conflict type, and the
 * whole commit is refused (FLOE_ECONFLICT).
 */
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "catalog/cat_int.h"

typedef struct ops_tx {
    cat_t *c;
    cat_conn *k;
    const char *branch;
    arena_t *a;
    cat_conflict *conflicts;
    size_t nconflicts, cap;
    /* per op: the key's content at the head (found[i]) */
    cat_content *cur;
    bool *found;
} ops_tx;

static void conflict(ops_tx *t, const char *key, const char *type, const char *msg) {
    if (t->nconflicts == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        cat_conflict *v = arena_alloc(t->a, cap * sizeof *v);
        if (t->nconflicts) memcpy(v, t->conflicts, t->nconflicts * sizeof *v);
        t->conflicts = v;
        t->cap = cap;
    }
    t->conflicts[t->nconflicts++] = (cat_conflict){.key = key, .type = type, .message = msg};
}

/* "a.b.t" -> "a\x1Fb\x1Ft" */
static char *internal_key(arena_t *a, const char *display) {
    char *k = arena_strdup(a, display);
    for (char *p = k; *p; p++)
        if (*p == '.') *p = CAT_SEP;
    return k;
}

static const char *parent_display(arena_t *a, const char *display) {
    const char *dot = strrchr(display, '.');
    return dot ? arena_strndup(a, display, (size_t)(dot - display)) : NULL;
}

static const cat_nessie_op *op_on(const cat_nessie_op *ops, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ops[i].key, key)) return &ops[i];
    return NULL;
}

/* Keys the branch changed since expected: a conflict for each op on one. */
static bool check_expected(ops_tx *t, const char *expected, const cat_ref *r, const cat_nessie_op *ops, size_t n,
                           floe_err *err) {
    if (!expected || str_starts_with(r->hash, expected)) return true;
    cat_diff_entry *d;
    size_t nd;
    const char *spec = arena_sprintf(t->a, "%s@%s", t->branch, expected);
    if (!cat_diff(t->c, spec, t->branch, t->a, &d, &nd, err)) return false;
    for (size_t i = 0; i < nd; i++)
        if (op_on(ops, n, d[i].key))
            conflict(t, d[i].key, "VALUE_DIFFERS",
                     arena_sprintf(t->a, "'%s' changed on '%s' after %s (the commit's expected hash)", d[i].key,
                                   t->branch, expected));
    return true;
}

static bool is_namespace_empty(ops_tx *t, const char *ns, const cat_nessie_op *ops, size_t n, const char **child,
                               floe_err *err) {
    const char **names;
    size_t cnt;
    *child = NULL;
    for (int pass = 0; pass < 2 && !*child; pass++) {
        bool ok = pass ? cat_table_list(t->c, t->branch, ns, t->a, &names, &cnt, err)
                       : cat_namespace_list(t->c, t->branch, ns, t->a, &names, &cnt, err);
        if (!ok) return false;
        for (size_t i = 0; i < cnt && !*child; i++) {
            /* cat_namespace_list gives full names, cat_table_list bare ones */
            const char *full = pass ? arena_sprintf(t->a, "%s.%s", ns, names[i]) : names[i];
            const cat_nessie_op *o = op_on(ops, n, full);
            if (!o || o->content) *child = full; /* deleted in this commit: fine */
        }
    }
    return true;
}

static bool check_op(ops_tx *t, const cat_nessie_op *o, size_t i, const cat_nessie_op *ops, size_t n, floe_err *err) {
    const cat_content *cur = &t->cur[i];
    bool found = t->found[i];
    if (!o->content) {
        if (!found) {
            conflict(t, o->key, "KEY_DOES_NOT_EXIST",
                     arena_sprintf(t->a, "'%s' does not exist on '%s'", o->key, t->branch));
            return true;
        }
        if (!strcmp(cur->kind, "NAMESPACE")) {
            const char *child;
            if (!is_namespace_empty(t, o->key, ops, n, &child, err)) return false;
            if (child)
                conflict(t, o->key, "NAMESPACE_NOT_EMPTY",
                         arena_sprintf(t->a, "namespace '%s' is not empty: it holds '%s'", o->key, child));
        }
        return true;
    }
    if (found && !o->content_id)
        conflict(t, o->key, "KEY_EXISTS",
                 arena_sprintf(t->a,
                               "'%s' already exists on '%s' (content id %s); a Put of it must carry that id, as "
                               "from GET .../contents/%s",
                               o->key, t->branch, cur->content_id, o->key));
    else if (found && strcmp(o->content_id, cur->content_id))
        conflict(t, o->key, "CONTENT_ID_DIFFERS",
                 arena_sprintf(t->a, "'%s' on '%s' has content id %s, not %s", o->key, t->branch, cur->content_id,
                               o->content_id));
    else if (found && strcmp(o->kind, cur->kind))
        conflict(t, o->key, "PAYLOAD_DIFFERS",
                 arena_sprintf(t->a, "'%s' on '%s' is a %s, not a %s", o->key, t->branch, cur->kind, o->kind));
    else if (!found && o->content_id)
        conflict(t, o->key, "KEY_DOES_NOT_EXIST",
                 arena_sprintf(t->a, "'%s' does not exist on '%s', so a Put of it must not carry a content id (%s)",
                               o->key, t->branch, o->content_id));
    /* the namespace it lives in */
    const char *ns = parent_display(t->a, o->key);
    if (!ns) return true;
    const cat_nessie_op *po = op_on(ops, n, ns);
    if (po && po->content && !strcmp(po->kind, "NAMESPACE")) return true;
    cat_content pc;
    bool pfound = false;
    if (!po && !cat_head_get(t->k, t->branch, internal_key(t->a, ns), t->a, &pc, &pfound, err)) return false;
    if (!pfound || strcmp(pc.kind, "NAMESPACE"))
        conflict(t, o->key, pfound ? "NOT_A_NAMESPACE" : "NAMESPACE_ABSENT",
                 arena_sprintf(t->a, "namespace '%s' of '%s' %s on '%s'; create it first (a Put of a Namespace)", ns,
                               o->key, pfound ? "is not a namespace" : "does not exist", t->branch));
    return true;
}

/* The stored content of a Put: its JSON with the id set. */
static cat_content *stored(ops_tx *t, const cat_nessie_op *o, const char *cid) {
    json_t *j = json_deep_copy(o->content);
    json_object_set_new(j, "id", json_string(cid));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    cat_content *ct = arena_zalloc(t->a, sizeof *ct);
    ct->kind = o->kind;
    ct->content_id = cid;
    ct->location = o->location ? arena_strdup(t->a, o->location) : NULL;
    ct->json = arena_strdup(t->a, text);
    free(text);
    return ct;
}

bool cat_nessie_commit(cat_t *c, const char *branch, const char *expected_hash, const cat_nessie_op *ops, size_t n,
                       const char *message, arena_t *a, cat_nessie_commit_result *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (cat_is_refspec(branch))
        return floe_err_set(err, FLOE_EINVAL, "'%s' names a past commit, which is read-only; commit to a branch",
                            branch);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!strcmp(ops[i].key, ops[j].key))
                return floe_err_set(err, FLOE_EINVAL, "key '%s' has more than one operation in this commit",
                                    ops[i].key);
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    ops_tx t = {.c = c, .k = k, .branch = branch, .a = a};
    t.cur = arena_zalloc(a, (n + 1) * sizeof *t.cur);
    t.found = arena_zalloc(a, (n + 1) * sizeof *t.found);
    bool ok = false, in_tx = false;
    if (!db_begin_write(k, err)) goto done;
    in_tx = true;
    cat_ref r;
    if (!cat_ref_read(k, branch, a, &r, err)) goto done;
    if (r.is_tag) {
        floe_err_set(err, FLOE_EINVAL, "'%s' is a tag, and tags cannot be committed to; commit to a branch", branch);
        goto done;
    }
    out->target_hash = r.hash;
    if (!check_expected(&t, expected_hash, &r, ops, n, err)) goto done;
    for (size_t i = 0; i < n; i++)
        if (!cat_head_get(k, branch, internal_key(a, ops[i].key), a, &t.cur[i], &t.found[i], err)) goto done;
    for (size_t i = 0; i < n; i++)
        if (!check_op(&t, &ops[i], i, ops, n, err)) goto done;
    if (t.nconflicts) {
        out->conflicts = t.conflicts;
        out->nconflicts = t.nconflicts;
        floe_err_set(err, FLOE_ECONFLICT, "%zu conflict%s on '%s': %s", t.nconflicts, t.nconflicts == 1 ? "" : "s",
                     branch, t.conflicts[0].message);
        goto done;
    }
    cat_op *cops = arena_zalloc(a, (n + 1) * sizeof *cops);
    out->content_ids = arena_zalloc(a, (n + 1) * sizeof *out->content_ids);
    for (size_t i = 0; i < n; i++) {
        cops[i].key = internal_key(a, ops[i].key);
        if (!ops[i].content) continue;
        const char *cid = t.found[i] ? t.cur[i].content_id : NULL;
        if (!cid) {
            char *u = arena_alloc(a, 37);
            str_uuid4(u);
            cid = u;
        }
        out->content_ids[i] = cid;
        cops[i].content = stored(&t, &ops[i], cid);
    }
    if (!cat_commit_write(k, &r, NULL, cops, n, message, "COMMIT", a, &out->hash, err)) goto done;
    if (!db_commit(k, err)) goto done;
    in_tx = false;
    ok = true;
done:
    if (in_tx) db_rollback(k);
    cat_conn_put(c, k);
    return ok;
}

bool cat_nessie_content(cat_t *c, const char *spec, const char *key, arena_t *a, cat_entry *out, bool *found,
                        floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_content ct;
    const char *ik = internal_key(a, key);
    /* a ref's head is one heads lookup; other commits walk the history */
    bool ok = cat_is_refspec(spec) ? cat_content_at_spec(k, spec, ik, a, &ct, found, err)
                                   : cat_head_get(k, spec, ik, a, &ct, found, err);
    cat_conn_put(c, k);
    if (ok && *found)
        *out = (cat_entry){
            .key = key, .kind = ct.kind, .content_id = ct.content_id, .location = ct.location, .json = ct.json};
    return ok;
}
