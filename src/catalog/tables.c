/*
 * tables.c: namespaces and Iceberg tables on the catalog's commit log.
 *
 * A table's content is its metadata location plus the ids Nessie reports
 * (snapshot, schema, spec, sort order). A table commit reads the current
 * metadata, checks the requirements, applies the updates, writes the next
 * NNNNN-<uuid>.metadata.json (never overwriting one), and swaps the
 * location in one catalog commit. If another commit moved the table in
 * between, the file is deleted and the whole step is redone against the new
 * metadata: the requirements decide whether the change still applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/cat_int.h"

#define COMMIT_ATTEMPTS 50

static bool valid_name(const char *what, const char *s, floe_err *err) {
    if (!s || !*s) return floe_err_set(err, FLOE_EINVAL, "%s name is empty", what);
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == '/' || ch == '\\')
            return floe_err_set(err, FLOE_EINVAL,
                                "%s name '%s' has a control character, '/' or '\\'; use letters, digits and '_'", what,
                                s);
    }
    if (!strcmp(s, ".") || !strcmp(s, "..")) return floe_err_set(err, FLOE_EINVAL, "%s name '%s' is reserved", what, s);
    return true;
}

static bool valid_ns(const char *ns, floe_err *err) {
    if (!ns || !*ns) return floe_err_set(err, FLOE_EINVAL, "namespace name is empty");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", ns);
    for (char *save = NULL, *lvl = strtok_r(buf, ".", &save); lvl; lvl = strtok_r(NULL, ".", &save))
        if (!valid_name("namespace level", lvl, err)) return false;
    if (ns[0] == '.' || ns[strlen(ns) - 1] == '.' || strstr(ns, ".."))
        return floe_err_set(err, FLOE_EINVAL, "namespace '%s' has an empty level; write levels as a.b.c", ns);
    return true;
}

static const char *ref_or_main(const char *ref) { return ref && *ref ? ref : CAT_MAIN; }

/* ============================================================ namespaces */

bool cat_namespace_create(cat_t *c, const char *ref, const char *ns, json_t *props, floe_err *err) {
    if (!valid_ns(ns, err)) return false;
    if (props && !json_is_object(props))
        return floe_err_set(err, FLOE_EINVAL, "namespace properties must be a JSON object of strings");
    arena_t a;
    arena_init(&a, 2048);
    json_t *o = json_object();
    char cid[37];
    str_uuid4(cid);
    json_object_set_new(o, "type", json_string("NAMESPACE"));
    json_object_set_new(o, "id", json_string(cid));
    json_t *el = json_array();
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", ns);
    for (char *save = NULL, *lvl = strtok_r(buf, ".", &save); lvl; lvl = strtok_r(NULL, ".", &save))
        json_array_append_new(el, json_string(lvl));
    json_object_set_new(o, "elements", el);
    json_object_set(o, "properties", props ? props : json_object());
    if (!props) json_decref(json_object_get(o, "properties"));
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    cat_content ct = {.kind = "NAMESPACE", .content_id = cid, .location = NULL, .json = js};
    char *key = cat_key(&a, ns, NULL);
    cat_op ops[2] = {{.key = key, .content = &ct, .check = true, .expect_absent = true}};
    size_t nops = 1;
    /* a nested namespace needs its parent */
    const char *dot = strrchr(ns, '.');
    if (dot) ops[nops++] = (cat_op){.key = cat_key_parent(&a, key), .check = true, .check_only = true};
    char msg[1200];
    snprintf(msg, sizeof msg, "create namespace %s", ns);
    bool ok = cat_commit_ops(c, ref_or_main(ref), ops, nops, msg, err);
    if (!ok && err->code == FLOE_EEXIST) floe_err_set(err, FLOE_EEXIST, "namespace '%s' already exists", ns);
    free(js);
    arena_free(&a);
    return ok;
}

bool cat_namespace_drop(cat_t *c, const char *ref, const char *ns, floe_err *err) {
    if (!valid_ns(ns, err)) return false;
    arena_t a;
    arena_init(&a, 1024);
    char *key = cat_key(&a, ns, NULL);
    bool exists;
    bool ok = cat_namespace_exists(c, ref, ns, &exists, err);
    if (ok && !exists) ok = floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", ns);
    if (ok) {
        cat_op op = {.key = key, .content = NULL, .check = true, .check_only = false, .expect_empty = true};
        /* the delete checks emptiness in the transaction; existence was just seen */
        op.check = false;
        cat_op ops[2] = {{.key = key, .check = true, .check_only = true, .expect_empty = true}, op};
        char msg[1200];
        snprintf(msg, sizeof msg, "drop namespace %s", ns);
        ok = cat_commit_ops(c, ref_or_main(ref), ops, 2, msg, err);
    }
    arena_free(&a);
    return ok;
}

static bool head_lookup(cat_t *c, const char *ref, const char *key, arena_t *a, cat_content *out, bool *found,
                        floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    bool ok = cat_head_get(k, ref_or_main(ref), key, a, out, found, err);
    cat_conn_put(c, k);
    return ok;
}

bool cat_namespace_exists(cat_t *c, const char *ref, const char *ns, bool *exists, floe_err *err) {
    if (!valid_ns(ns, err)) return false;
    arena_t a;
    arena_init(&a, 1024);
    cat_content ct;
    bool ok = head_lookup(c, ref, cat_key(&a, ns, NULL), &a, &ct, exists, err);
    if (ok && *exists && strcmp(ct.kind, "NAMESPACE")) *exists = false;
    arena_free(&a);
    return ok;
}

bool cat_namespace_props(cat_t *c, const char *ref, const char *ns, json_t **props, floe_err *err) {
    if (!valid_ns(ns, err)) return false;
    arena_t a;
    arena_init(&a, 1024);
    cat_content ct;
    bool found, ok = head_lookup(c, ref, cat_key(&a, ns, NULL), &a, &ct, &found, err);
    if (ok && (!found || strcmp(ct.kind, "NAMESPACE")))
        ok = floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", ns);
    if (ok) {
        json_t *o = json_parse(ct.json, strlen(ct.json), "namespace content", err);
        ok = o != NULL;
        if (ok) {
            json_t *p = json_object_get(o, "properties");
            *props = json_is_object(p) ? json_incref(p) : json_object();
            json_decref(o);
        }
    }
    arena_free(&a);
    return ok;
}

/* Keys under parent of one kind, display names of their last level. */
static bool list_children(cat_t *c, const char *ref, const char *parent_key, const char *kind, bool full, arena_t *a,
                          const char ***out, size_t *n, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_ref r;
    bool ok = cat_ref_get(c, ref_or_main(ref), a, &r, err);
    sqlite3_stmt *st = NULL;
    size_t cap = 16, cnt = 0;
    const char **v = arena_alloc(a, cap * sizeof *v);
    if (ok &&
        sqlite3_prepare_v2(k->db, "SELECT key FROM heads WHERE ref = ?1 AND parent = ?2 AND kind = ?3 ORDER BY key", -1,
                           &st, NULL) != SQLITE_OK)
        ok = cat_sql_fail(k, "listing", err);
    if (ok) {
        sqlite3_bind_text(st, 1, ref_or_main(ref), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, parent_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(st, 0);
            const char *last = strrchr(key, CAT_SEP);
            char *name = arena_strdup(a, full || !last ? key : last + 1);
            for (char *p = name; *p; p++)
                if (*p == CAT_SEP) *p = '.';
            if (cnt == cap) {
                const char **nv = arena_alloc(a, 2 * cap * sizeof *v);
                memcpy(nv, v, cnt * sizeof *v);
                v = nv;
                cap *= 2;
            }
            v[cnt++] = name;
        }
        if (rc != SQLITE_DONE) ok = cat_sql_fail(k, "listing", err);
    }
    sqlite3_finalize(st);
    cat_conn_put(c, k);
    if (ok) {
        *out = v;
        *n = cnt;
    }
    return ok;
}

bool cat_namespace_list(cat_t *c, const char *ref, const char *parent, arena_t *a, const char ***out, size_t *n,
                        floe_err *err) {
    const char *pk = "";
    if (parent && *parent) {
        bool exists;
        if (!cat_namespace_exists(c, ref, parent, &exists, err)) return false;
        if (!exists) return floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", parent);
        pk = cat_key(a, parent, NULL);
    }
    return list_children(c, ref, pk, "NAMESPACE", true, a, out, n, err);
}

/* ================================================================ tables */

static json_t *table_content(const char *cid, const char *loc, const ice_table_meta *m) {
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("ICEBERG_TABLE"));
    json_object_set_new(o, "id", json_string(cid));
    json_object_set_new(o, "metadataLocation", json_string(loc));
    json_object_set_new(o, "snapshotId", json_integer(m->current_snapshot_id));
    json_object_set_new(o, "schemaId", json_integer(m->current_schema_id));
    json_object_set_new(o, "specId", json_integer(m->default_spec_id));
    json_object_set_new(o, "sortOrderId", json_integer(m->default_sort_order_id));
    return o;
}

static bool read_meta(cat_t *c, const char *loc, arena_t *a, ice_table_meta *out, floe_err *err) {
    buf_t b = {0};
    bool ok = fileio_read_all(c->io, loc, &b, err);
    if (!ok) {
        floe_err_wrap(err, "reading table metadata %s", loc);
    } else {
        ok = ice_meta_parse(b.data ? b.data : "", b.len, loc, a, out, err);
    }
    buf_free(&b);
    return ok;
}

/* The version number a metadata file name starts with (00042-... → 42), or
 * -1 when it does not follow the convention. */
static long meta_version(const char *loc) {
    const char *base = strrchr(loc, '/');
    base = base ? base + 1 : loc;
    char *end;
    long v = strtol(base, &end, 10);
    return end > base && *end == '-' ? v : -1;
}

static char *meta_path(arena_t *a, const char *table_loc, long version) {
    char uuid[37];
    str_uuid4(uuid);
    return arena_sprintf(a, "%s/metadata/%05ld-%s.metadata.json", table_loc, version, uuid);
}

/* Writes a metadata file and makes it durable, together with every
 * deferred write before it on the same FileIO (the commit's data files,
 * manifests and manifest list): one sync before the pointer moves. */
static bool write_meta(cat_t *c, const char *path, const ice_table_meta *m, floe_err *err) {
    buf_t b = {0};
    ice_meta_write(m, &b);
    bool ok = fileio_write_all_deferred(c->io, path, b.data, b.len, true, err);
    buf_free(&b);
    if (!ok) return floe_err_wrap(err, "writing table metadata %s", path);
    if (!fileio_sync(c->io, err)) {
        floe_err e2;
        fileio_delete(c->io, path, &e2); /* visible but not durable: leave nothing behind */
        return floe_err_wrap(err, "making table metadata %s durable", path);
    }
    return true;
}

/* Loads a table; when its metadata location is base_loc, base is taken
 * as its metadata instead of reading the file. */
static bool load_with(cat_t *c, const char *ref, const char *ns, const char *name, const char *base_loc,
                      const ice_table_meta *base, arena_t *a, cat_table *out, cat_content *ct, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err)) return false;
    bool found;
    if (!head_lookup(c, ref, cat_key(a, ns, name), a, ct, &found, err)) return false;
    if (!found || strcmp(ct->kind, "ICEBERG_TABLE")) {
        bool nsx = false;
        floe_err e2;
        if (cat_namespace_exists(c, ref, ns, &nsx, &e2) && !nsx)
            return floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist (so neither does table %s.%s)", ns, ns,
                                name);
        return floe_err_set(err, FLOE_ENOENT, "table %s.%s does not exist on '%s' (see `floe table list %s`)", ns, name,
                            ref_or_main(ref), ns);
    }
    out->ns = arena_strdup(a, ns);
    out->name = arena_strdup(a, name);
    out->metadata_location = ct->location;
    if (base_loc && base && !strcmp(base_loc, ct->location)) {
        out->meta = *base;
        return true;
    }
    return read_meta(c, ct->location, a, &out->meta, err);
}

static bool load(cat_t *c, const char *ref, const char *ns, const char *name, arena_t *a, cat_table *out,
                 cat_content *ct, floe_err *err) {
    return load_with(c, ref, ns, name, NULL, NULL, a, out, ct, err);
}

bool cat_table_load(cat_t *c, const char *ref, const char *ns, const char *name, arena_t *a, cat_table *out,
                    floe_err *err) {
    cat_content ct;
    return load(c, ref, ns, name, a, out, &ct, err);
}

bool cat_table_exists(cat_t *c, const char *ref, const char *ns, const char *name, bool *exists, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err)) return false;
    arena_t a;
    arena_init(&a, 1024);
    cat_content ct;
    bool ok = head_lookup(c, ref, cat_key(&a, ns, name), &a, &ct, exists, err);
    if (ok && *exists && strcmp(ct.kind, "ICEBERG_TABLE")) *exists = false;
    arena_free(&a);
    return ok;
}

bool cat_table_list(cat_t *c, const char *ref, const char *ns, arena_t *a, const char ***names, size_t *n,
                    floe_err *err) {
    bool exists;
    if (!cat_namespace_exists(c, ref, ns, &exists, err)) return false;
    if (!exists) return floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", ns);
    return list_children(c, ref, cat_key(a, ns, NULL), "ICEBERG_TABLE", false, a, names, n, err);
}

bool cat_table_create(cat_t *c, const char *ref, const char *ns, const char *name, const ice_table_meta *meta,
                      arena_t *a, cat_table *out, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err)) return false;
    bool exists;
    if (!cat_namespace_exists(c, ref, ns, &exists, err)) return false;
    if (!exists)
        return floe_err_set(err, FLOE_ENOENT,
                            "namespace '%s' does not exist; create it first with `floe namespace create %s`", ns, ns);
    if (!cat_table_exists(c, ref, ns, name, &exists, err)) return false;
    if (exists) return floe_err_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);

    ice_table_meta m = *meta;
    if (!m.format_version) m.format_version = 2;
    if (!m.table_uuid || !*m.table_uuid) {
        char *u = arena_alloc(a, 37);
        str_uuid4(u);
        m.table_uuid = u;
    }
    if (!m.location || !*m.location) {
        char *nsp = arena_strdup(a, ns);
        for (char *p = nsp; *p; p++)
            if (*p == '.') *p = '/';
        m.location = arena_sprintf(a, "%s/%s/%s", c->warehouse, nsp, name);
    }
    m.last_updated_ms = time_now_ms();
    if (m.current_snapshot_id == 0 && m.nsnapshots == 0) m.current_snapshot_id = -1;

    char *path = meta_path(a, m.location, 0);
    if (!write_meta(c, path, &m, err)) return false;
    char cid[37];
    str_uuid4(cid);
    json_t *o = table_content(cid, path, &m);
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    cat_content ct = {.kind = "ICEBERG_TABLE", .content_id = cid, .location = path, .json = js};
    cat_op ops[2] = {
        {.key = cat_key(a, ns, name), .content = &ct, .check = true, .expect_absent = true},
        {.key = cat_key(a, ns, NULL), .check = true, .check_only = true},
    };
    char *msg = arena_sprintf(a, "create table %s.%s", ns, name);
    bool ok = cat_commit_ops(c, ref_or_main(ref), ops, 2, msg, err);
    free(js);
    if (!ok) {
        floe_err e2;
        fileio_delete(c->io, path, &e2);
        if (err->code == FLOE_EEXIST) floe_err_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
        return false;
    }
    if (out) {
        out->ns = arena_strdup(a, ns);
        out->name = arena_strdup(a, name);
        out->metadata_location = path;
        out->meta = m;
    }
    return true;
}

/* A commit; when base_loc is still the table's metadata location, base
 * (the caller's parsed copy of that immutable file) stands in for reading
 * and parsing it again, which costs more than the rest of a small commit
 * once the table has a few hundred snapshots. */
static bool commit(cat_t *c, const char *ref, const char *ns, const char *name, const char *base_loc,
                   const ice_table_meta *base, json_t *requirements, json_t *updates, arena_t *a, cat_table *out,
                   floe_err *err) {
    for (int attempt = 0;; attempt++) {
        cat_table cur;
        cat_content ct;
        if (!load_with(c, ref, ns, name, attempt == 0 ? base_loc : NULL, base, a, &cur, &ct, err)) return false;
        if (!ice_requirements_check(&cur.meta, requirements, err))
            return floe_err_wrap(err, "commit to %s.%s", ns, name);
        ice_table_meta next;
        if (!ice_updates_apply(&cur.meta, cur.metadata_location, updates, time_now_ms(), a, &next, err))
            return floe_err_wrap(err, "commit to %s.%s", ns, name);
        long v = meta_version(cur.metadata_location);
        char *path = meta_path(a, next.location, v < 0 ? (long)next.nmetadata_log : v + 1);
        if (!write_meta(c, path, &next, err)) return false;
        json_t *o = table_content(ct.content_id, path, &next);
        char *js = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        cat_content nct = {.kind = "ICEBERG_TABLE", .content_id = ct.content_id, .location = path, .json = js};
        cat_op op = {
            .key = cat_key(a, ns, name), .content = &nct, .check = true, .expect_location = cur.metadata_location};
        char *msg = arena_sprintf(a, "commit to %s.%s", ns, name);
        bool ok = cat_commit_ops(c, ref_or_main(ref), &op, 1, msg, err);
        free(js);
        if (ok) {
            if (out) {
                out->ns = cur.ns;
                out->name = cur.name;
                out->metadata_location = path;
                out->meta = next;
            }
            return true;
        }
        floe_err e2;
        fileio_delete(c->io, path, &e2);
        if (err->code != FLOE_ECONFLICT || attempt + 1 >= COMMIT_ATTEMPTS) return false;
        /* someone else committed: redo against their metadata */
    }
}

bool cat_table_commit(cat_t *c, const char *ref, const char *ns, const char *name, json_t *requirements,
                      json_t *updates, arena_t *a, cat_table *out, floe_err *err) {
    return commit(c, ref, ns, name, NULL, NULL, requirements, updates, a, out, err);
}

struct purge_ctx {
    fileio_t *io;
    size_t n;
    floe_err *err;
    bool failed;
};

static bool purge_one(const fileio_entry *e, void *arg) {
    struct purge_ctx *p = arg;
    if (!fileio_delete(p->io, e->uri, p->err)) {
        p->failed = true;
        return false;
    }
    p->n++;
    return true;
}

bool cat_table_drop(cat_t *c, const char *ref, const char *ns, const char *name, bool purge, floe_err *err) {
    arena_t a;
    arena_init(&a, 4096);
    cat_table t;
    cat_content ct;
    bool ok = load(c, ref, ns, name, &a, &t, &ct, err);
    if (ok) {
        cat_op op = {.key = cat_key(&a, ns, name), .check = true, .expect_location = t.metadata_location};
        ok = cat_commit_ops(c, ref_or_main(ref), &op, 1, arena_sprintf(&a, "drop table %s.%s", ns, name), err);
    }
    if (ok && purge) {
        /* everything under the table's location: data, manifests, metadata */
        struct purge_ctx p = {.io = c->io, .err = err};
        char *prefix = arena_sprintf(&a, "%s/", t.meta.location);
        ok = fileio_list(c->io, prefix, purge_one, &p, err) && !p.failed;
        if (!ok)
            floe_err_wrap(err, "purging %s", prefix);
        else
            log_info("catalog", "purged %zu files of %s.%s", p.n, ns, name);
    }
    arena_free(&a);
    return ok;
}

/* ===================================================== iceberg interface */

static bool ice_load(void *ctx, const char *ns, const char *name, arena_t *a, const char **location,
                     ice_table_meta *meta, floe_err *err) {
    cat_ice_ctx *x = ctx;
    cat_table t;
    if (!cat_table_load(x->c, x->ref, ns, name, a, &t, err)) return false;
    *location = t.metadata_location;
    *meta = t.meta;
    return true;
}

static bool ice_commit(void *ctx, const char *ns, const char *name, json_t *reqs, json_t *updates, arena_t *a,
                       const char **location, ice_table_meta *meta, floe_err *err) {
    cat_ice_ctx *x = ctx;
    cat_table t;
    if (!cat_table_commit(x->c, x->ref, ns, name, reqs, updates, a, &t, err)) return false;
    if (location) *location = t.metadata_location;
    if (meta) *meta = t.meta;
    return true;
}

static bool ice_commit_on(void *ctx, const char *ns, const char *name, const char *base_location,
                          const ice_table_meta *base, json_t *reqs, json_t *updates, arena_t *a, const char **location,
                          ice_table_meta *meta, floe_err *err) {
    cat_ice_ctx *x = ctx;
    cat_table t;
    if (!commit(x->c, x->ref, ns, name, base_location, base, reqs, updates, a, &t, err)) return false;
    if (location) *location = t.metadata_location;
    if (meta) *meta = t.meta;
    return true;
}

void cat_as_ice(cat_t *c, const char *ref, ice_catalog *out) {
    /* one context per distinct ref, owned by the handle */
    pthread_mutex_lock(&c->lock);
    cat_ice_ctx *x = NULL;
    for (int i = 0; i < c->nctx; i++)
        if (!strcmp(c->ctxs[i].ref, ref_or_main(ref))) x = &c->ctxs[i];
    if (!x) {
        if (c->nctx == CAT_MAX_REFCTX) {
            free(c->ctxs[0].ref);
            memmove(c->ctxs, c->ctxs + 1, (CAT_MAX_REFCTX - 1) * sizeof *c->ctxs);
            c->nctx--;
        }
        x = &c->ctxs[c->nctx++];
        x->c = c;
        x->ref = strdup(ref_or_main(ref));
    }
    pthread_mutex_unlock(&c->lock);
    out->ctx = x;
    out->io = c->io;
    out->warehouse = c->warehouse;
    out->load = ice_load;
    out->commit = ice_commit;
    out->commit_on = ice_commit_on;
}
