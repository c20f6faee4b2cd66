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
                          const char ***out, size_t *n, floe_err *err);

/* Children at a commit that no plain ref name gives ("main~1", a hash):
 * from everything at that commit. */
static bool list_children_at(cat_t *c, const char *spec, const char *parent_key, const char *kind, bool full,
                             arena_t *a, const char ***out, size_t *n, floe_err *err) {
    cat_entry *es;
    size_t ne;
    if (!cat_contents(c, spec, a, &es, &ne, err)) return false;
    *out = arena_alloc(a, (ne + 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; i < ne; i++) {
        const char *key = cat_key(a, es[i].key, NULL);
        if (strcmp(es[i].kind, kind) || strcmp(cat_key_parent(a, key), parent_key)) continue;
        const char *last = strrchr(es[i].key, '.');
        (*out)[(*n)++] = full || !last ? es[i].key : last + 1;
    }
    return true;
}

static bool list_children(cat_t *c, const char *ref, const char *parent_key, const char *kind, bool full, arena_t *a,
                          const char ***out, size_t *n, floe_err *err) {
    if (cat_is_refspec(ref)) return list_children_at(c, ref, parent_key, kind, full, a, out, n, err);
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    cat_ref r;
    bool ok = cat_ref_get(c, ref_or_main(ref), a, &r, err);
    db_stmt *st = NULL;
    size_t cap = 16, cnt = 0;
    const char **v = arena_alloc(a, cap * sizeof *v);
    if (ok && !(st = db_prepare(k, "SELECT key FROM heads WHERE ref = ?1 AND parent = ?2 AND kind = ?3 ORDER BY key")))
        ok = db_fail(k, "listing", err);
    if (ok) {
        db_bind_text(st, 1, ref_or_main(ref));
        db_bind_text(st, 2, parent_key);
        db_bind_text(st, 3, kind);
        int rc;
        while ((rc = db_step(st)) == DB_ROW) {
            const char *key = db_col_text(st, 0);
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
        if (rc != DB_DONE) ok = db_fail(k, "listing", err);
    }
    db_finalize(st);
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

static cat_meta_slot *meta_slot(cat_t *c, const char *loc) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = loc; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return &c->meta[h % CAT_META_SLOTS];
}

/* Remembers the bytes of the metadata file at loc (read, or just written). */
static void meta_cache_put(cat_t *c, const char *loc, const char *data, size_t len) {
    if (len > CAT_META_FILE) return;
    pthread_mutex_lock(&c->meta_lock);
    cat_meta_slot *s = meta_slot(c, loc);
    if (!(s->loc && !strcmp(s->loc, loc)) && c->meta_bytes - s->len + len <= CAT_META_BYTES) {
        c->meta_bytes -= s->len;
        free(s->loc);
        free(s->data);
        s->loc = strdup(loc);
        s->data = malloc(len + 1);
        memcpy(s->data, data, len);
        s->data[len] = 0;
        s->len = len;
        c->meta_bytes += len;
    }
    pthread_mutex_unlock(&c->meta_lock);
}

/* A copy of the cached bytes of loc into out; false when not cached. */
static bool meta_cache_get(cat_t *c, const char *loc, buf_t *out) {
    bool hit = false;
    pthread_mutex_lock(&c->meta_lock);
    cat_meta_slot *s = meta_slot(c, loc);
    if (s->loc && !strcmp(s->loc, loc)) {
        buf_append(out, s->data, s->len);
        hit = true;
    }
    pthread_mutex_unlock(&c->meta_lock);
    return hit;
}

bool cat_meta_cached(cat_t *c, const char *loc, buf_t *out) { return meta_cache_get(c, loc, out); }

/* The parsed metadata file at loc, from the parsed cache or else read (or
 * taken from the byte cache) and parsed into a new cached entry; *entry
 * (when asked) is that entry, which a holds until it is freed. */
static bool read_meta(cat_t *c, const char *loc, arena_t *a, ice_table_meta *out, cat_meta_entry **entry,
                      floe_err *err) {
    cat_meta_entry *e = cat_meta_borrow(c, loc, a);
    if (!e) {
        buf_t b = {0};
        bool ok = true;
        if (!meta_cache_get(c, loc, &b)) {
            ok = fileio_read_all(c->io, loc, &b, err);
            if (ok) meta_cache_put(c, loc, b.data ? b.data : "", b.len);
        }
        if (!ok) {
            floe_err_wrap(err, "reading table metadata %s", loc);
        } else {
            e = cat_meta_entry_new(c, NULL, a);
            ok = ice_meta_parse(b.data ? b.data : "", b.len, loc, cat_meta_entry_arena(e), cat_meta_entry_meta(e), err);
            if (ok) cat_meta_insert(c, e, loc);
        }
        buf_free(&b);
        if (!ok) return false;
    }
    *out = *cat_meta_entry_meta(e);
    if (entry) *entry = e;
    return true;
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
    if (!ok) {
        buf_free(&b);
        return floe_err_wrap(err, "writing table metadata %s", path);
    }
    if (!fileio_sync(c->io, err)) {
        buf_free(&b);
        floe_err e2;
        fileio_delete(c->io, path, &e2); /* visible but not durable: leave nothing behind */
        return floe_err_wrap(err, "making table metadata %s durable", path);
    }
    meta_cache_put(c, path, b.data ? b.data : "", b.len); /* the next commit's base */
    buf_free(&b);
    return true;
}

/* Loads a table; when its metadata location is base_loc, base is taken
 * as its metadata instead of reading the file. */
static bool load_with(cat_t *c, const char *ref, const char *ns, const char *name, const char *base_loc,
                      const ice_table_meta *base, arena_t *a, cat_table *out, cat_content *ct, cat_meta_entry **entry,
                      floe_err *err) {
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
    return read_meta(c, ct->location, a, &out->meta, entry, err);
}

static bool load(cat_t *c, const char *ref, const char *ns, const char *name, arena_t *a, cat_table *out,
                 cat_content *ct, floe_err *err) {
    return load_with(c, ref, ns, name, NULL, NULL, a, out, ct, NULL, err);
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

static char *default_location(cat_t *c, arena_t *a, const char *ns, const char *name) {
    char *nsp = arena_strdup(a, ns);
    for (char *p = nsp; *p; p++)
        if (*p == '.') *p = '/';
    return arena_sprintf(a, "%s/%s/%s", c->warehouse, nsp, name);
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
    if (!m.location || !*m.location) m.location = default_location(c, a, ns, name);
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

/* One table's part of a commit, prepared outside the transaction: the
 * requirements checked, the updates applied, the next metadata file
 * written. ops[0] swaps the location (or creates the table, for a staged
 * create committed with assert-create); ops[1] checks its namespace. */
typedef struct prepared {
    cat_op ops[2];
    size_t nops;
    cat_content content;
    char *json; /* malloc'd */
    const char *path;
    cat_table table;
    cat_meta_entry *entry; /* table.meta's, cached once the commit lands; NULL: not to be cached */
} prepared;

static bool has_assert_create(json_t *reqs) {
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i,
                       r) if (str_eq(json_string_value(json_object_get(r, "type")), "assert-create")) return true;
    return false;
}

/* The metadata a staged create's updates start from: no schema yet. */
static bool apply_to_new(cat_t *c, const char *ns, const char *name, json_t *updates, arena_t *a, ice_table_meta *m,
                         floe_err *err) {
    ice_table_meta base = {.format_version = 2,
                           .current_schema_id = -1,
                           .current_snapshot_id = -1,
                           .last_partition_id = 999,
                           .last_updated_ms = 0};
    if (!ice_updates_apply(&base, NULL, updates, time_now_ms(), a, m, err)) return false;
    if (m->nschemas == 0 || m->current_schema_id < 0)
        return floe_err_set(err, FLOE_EINVAL,
                            "creating %s.%s: the updates must add a schema and set it current (add-schema, "
                            "set-current-schema)",
                            ns, name);
    /* unpartitioned and unsorted unless the updates said otherwise */
    if (m->nspecs == 0) {
        m->specs = arena_zalloc(a, sizeof *m->specs);
        m->nspecs = 1;
        m->default_spec_id = 0;
    }
    if (m->nsort_orders == 0) {
        m->sort_orders = arena_zalloc(a, sizeof *m->sort_orders);
        m->nsort_orders = 1;
        m->default_sort_order_id = 0;
    }
    if (!m->table_uuid || !*m->table_uuid) {
        char *u = arena_alloc(a, 37);
        str_uuid4(u);
        m->table_uuid = u;
    }
    if (!m->location || !*m->location) m->location = default_location(c, a, ns, name);
    return true;
}

/* base_loc and base: the caller's parsed copy of the metadata file it
 * based its change on; while that file is still the table's, it stands in
 * for reading and parsing it again (which costs more than the rest of a
 * small commit once a table has a few hundred snapshots). */
static bool prepare(cat_t *c, const char *ref, const char *ns, const char *name, json_t *reqs, json_t *updates,
                    const char *base_loc, const ice_table_meta *base, arena_t *a, prepared *p, floe_err *err) {
    memset(p, 0, sizeof *p);
    cat_table cur;
    cat_content ct;
    ice_table_meta next;
    const char *cid;
    bool create = false;
    cat_meta_entry *base_entry = NULL;
    if (!load_with(c, ref, ns, name, base_loc, base, a, &cur, &ct, &base_entry, err)) {
        if (err->code != FLOE_ENOENT || !has_assert_create(reqs)) return false;
        /* a staged create: the table comes into being with this commit */
        create = true;
        p->entry = cat_meta_entry_new(c, NULL, a);
        if (!ice_requirements_check(NULL, reqs, err) ||
            !apply_to_new(c, ns, name, updates, cat_meta_entry_arena(p->entry), &next, err))
            return floe_err_wrap(err, "commit to %s.%s", ns, name);
        char *u = arena_alloc(a, 37);
        str_uuid4(u);
        cid = u;
    } else {
        if (!ice_requirements_check(&cur.meta, reqs, err)) return floe_err_wrap(err, "commit to %s.%s", ns, name);
        /* next shares what it does not change with the base: built in an
         * entry of its own that keeps the base's alive, it is the next
         * commit's base without a parse */
        if (base_entry && cat_meta_entry_can_extend(base_entry)) p->entry = cat_meta_entry_new(c, base_entry, a);
        arena_t *na = p->entry ? cat_meta_entry_arena(p->entry) : a;
        if (!ice_updates_apply(&cur.meta, cur.metadata_location, updates, time_now_ms(), na, &next, err))
            return floe_err_wrap(err, "commit to %s.%s", ns, name);
        cid = ct.content_id;
    }
    long v = create ? -1 : meta_version(cur.metadata_location);
    p->path = meta_path(a, next.location, create ? 0 : v < 0 ? (long)next.nmetadata_log : v + 1);
    if (!write_meta(c, p->path, &next, err)) return false;
    json_t *o = table_content(cid, p->path, &next);
    p->json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    p->content = (cat_content){.kind = "ICEBERG_TABLE", .content_id = cid, .location = p->path, .json = p->json};
    p->ops[0] = (cat_op){.key = cat_key(a, ns, name), .content = &p->content, .check = true};
    if (create) {
        p->ops[0].expect_absent = true;
        p->ops[p->nops + 1] = (cat_op){.key = cat_key(a, ns, NULL), .check = true, .check_only = true};
        p->nops++;
    } else {
        p->ops[0].expect_location = cur.metadata_location;
    }
    p->nops++;
    p->table = (cat_table){
        .ns = arena_strdup(a, ns), .name = arena_strdup(a, name), .metadata_location = p->path, .meta = next};
    return true;
}

/* Forgets prepared changes; when the commit did not happen, deletes the
 * metadata files they wrote. */
static void prepared_free(cat_t *c, prepared *p, size_t n, bool committed) {
    for (size_t i = 0; i < n; i++) {
        floe_err e2;
        if (!committed && p[i].path) fileio_delete(c->io, p[i].path, &e2);
        free(p[i].json);
        p[i].json = NULL;
    }
}

bool cat_table_commit(cat_t *c, const char *ref, const char *ns, const char *name, json_t *requirements,
                      json_t *updates, arena_t *a, cat_table *out, floe_err *err) {
    cat_table_change ch = {.ns = ns, .name = name, .requirements = requirements, .updates = updates};
    return cat_tables_commit(c, ref, &ch, 1, a, out, err);
}

static bool tables_commit(cat_t *c, const char *ref, const cat_table_change *changes, size_t n, const char *base_loc,
                          const ice_table_meta *base, arena_t *a, cat_table *out, floe_err *err);

bool cat_tables_commit(cat_t *c, const char *ref, const cat_table_change *changes, size_t n, arena_t *a, cat_table *out,
                       floe_err *err) {
    return tables_commit(c, ref, changes, n, NULL, NULL, a, out, err);
}

static bool tables_commit(cat_t *c, const char *ref, const cat_table_change *changes, size_t n, const char *base_loc,
                          const ice_table_meta *base, arena_t *a, cat_table *out, floe_err *err) {
    if (n == 0) return floe_err_set(err, FLOE_EINVAL, "a commit needs at least one table change");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(changes[i].ns, changes[j].ns) && !strcmp(changes[i].name, changes[j].name))
                return floe_err_set(err, FLOE_EINVAL,
                                    "table %s.%s appears twice in one commit; merge its changes into one entry",
                                    changes[i].ns, changes[i].name);
    prepared *p = arena_zalloc(a, n * sizeof *p);
    cat_op *ops = arena_alloc(a, 2 * n * sizeof *ops);
    for (int attempt = 0;; attempt++) {
        size_t nops = 0, ready = 0;
        bool ok = true;
        for (; ready < n && ok; ready++) {
            const cat_table_change *ch = &changes[ready];
            bool first = attempt == 0 && n == 1;
            ok = prepare(c, ref, ch->ns, ch->name, ch->requirements, ch->updates, first ? base_loc : NULL,
                         first ? base : NULL, a, &p[ready], err);
            if (!ok) break;
            for (size_t k = 0; k < p[ready].nops; k++) ops[nops++] = p[ready].ops[k];
        }
        if (!ok) {
            prepared_free(c, p, ready + 1, false);
            return false;
        }
        char *msg = n == 1 ? arena_sprintf(a, "commit to %s.%s", changes[0].ns, changes[0].name)
                           : arena_sprintf(a, "commit to %zu tables (%s.%s, ...)", n, changes[0].ns, changes[0].name);
        ok = cat_commit_ops(c, ref_or_main(ref), ops, nops, msg, err);
        for (size_t i = 0; ok && i < n; i++)
            if (p[i].entry) {
                *cat_meta_entry_meta(p[i].entry) = p[i].table.meta;
                cat_meta_insert(c, p[i].entry, p[i].path);
            }
        if (ok && out)
            for (size_t i = 0; i < n; i++) out[i] = p[i].table;
        prepared_free(c, p, n, ok);
        if (ok) return true;
        if (err->code != FLOE_ECONFLICT || attempt + 1 >= COMMIT_ATTEMPTS) return false;
        /* someone else committed: redo against their metadata */
    }
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

/* ======================================== rest: register, rename, props */

bool cat_table_stage(cat_t *c, const char *ref, const char *ns, const char *name, json_t *updates, arena_t *a,
                     ice_table_meta *out, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err)) return false;
    bool exists;
    if (!cat_namespace_exists(c, ref, ns, &exists, err)) return false;
    if (!exists) return floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", ns);
    if (!cat_table_exists(c, ref, ns, name, &exists, err)) return false;
    if (exists) return floe_err_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
    if (!apply_to_new(c, ns, name, updates, a, out, err)) return floe_err_wrap(err, "staging %s.%s", ns, name);
    return true;
}

bool cat_table_register(cat_t *c, const char *ref, const char *ns, const char *name, const char *metadata_location,
                        bool overwrite, arena_t *a, cat_table *out, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err)) return false;
    ice_table_meta m;
    if (!read_meta(c, metadata_location, a, &m, NULL, err)) return false;
    cat_content cur;
    bool found;
    if (!head_lookup(c, ref, cat_key(a, ns, name), a, &cur, &found, err)) return false;
    if (found && (!overwrite || strcmp(cur.kind, "ICEBERG_TABLE")))
        return floe_err_set(err, FLOE_EEXIST, "table %s.%s already exists; register with overwrite=true to replace it",
                            ns, name);
    char cid[37];
    str_uuid4(cid);
    json_t *o = table_content(found ? cur.content_id : cid, metadata_location, &m);
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    cat_content ct = {
        .kind = "ICEBERG_TABLE", .content_id = found ? cur.content_id : cid, .location = metadata_location, .json = js};
    cat_op ops[2] = {
        {.key = cat_key(a, ns, name),
         .content = &ct,
         .check = true,
         .expect_absent = !found,
         .expect_location = found ? cur.location : NULL},
        {.key = cat_key(a, ns, NULL), .check = true, .check_only = true},
    };
    bool ok = cat_commit_ops(c, ref_or_main(ref), ops, 2,
                             arena_sprintf(a, "register table %s.%s at %s", ns, name, metadata_location), err);
    free(js);
    if (ok && out)
        *out = (cat_table){.ns = arena_strdup(a, ns),
                           .name = arena_strdup(a, name),
                           .metadata_location = arena_strdup(a, metadata_location),
                           .meta = m};
    return ok;
}

bool cat_table_rename(cat_t *c, const char *ref, const char *ns, const char *name, const char *to_ns,
                      const char *to_name, floe_err *err) {
    if (!valid_ns(ns, err) || !valid_name("table", name, err) || !valid_ns(to_ns, err) ||
        !valid_name("table", to_name, err))
        return false;
    arena_t a;
    arena_init(&a, 4096);
    cat_content ct;
    bool found, ok = head_lookup(c, ref, cat_key(&a, ns, name), &a, &ct, &found, err);
    if (ok && (!found || strcmp(ct.kind, "ICEBERG_TABLE")))
        ok = floe_err_set(err, FLOE_ENOENT, "table %s.%s does not exist on '%s'", ns, name, ref_or_main(ref));
    if (ok) {
        cat_op ops[3] = {
            {.key = cat_key(&a, ns, name), .content = NULL, .check = true, .expect_location = ct.location},
            {.key = cat_key(&a, to_ns, to_name), .content = &ct, .check = true, .expect_absent = true},
            {.key = cat_key(&a, to_ns, NULL), .check = true, .check_only = true},
        };
        ok = cat_commit_ops(c, ref_or_main(ref), ops, 3,
                            arena_sprintf(&a, "rename table %s.%s to %s.%s", ns, name, to_ns, to_name), err);
        if (!ok && err->code == FLOE_EEXIST)
            floe_err_set(err, FLOE_EEXIST, "table %s.%s already exists", to_ns, to_name);
    }
    arena_free(&a);
    return ok;
}

bool cat_namespace_set_props(cat_t *c, const char *ref, const char *ns, json_t *props, floe_err *err) {
    if (!valid_ns(ns, err)) return false;
    if (!json_is_object(props))
        return floe_err_set(err, FLOE_EINVAL, "namespace properties must be a JSON object of strings");
    arena_t a;
    arena_init(&a, 2048);
    cat_content ct;
    char *key = cat_key(&a, ns, NULL);
    bool found, ok = head_lookup(c, ref, key, &a, &ct, &found, err);
    if (ok && (!found || strcmp(ct.kind, "NAMESPACE")))
        ok = floe_err_set(err, FLOE_ENOENT, "namespace '%s' does not exist", ns);
    json_t *o = ok ? json_parse(ct.json, strlen(ct.json), "namespace content", err) : NULL;
    if (ok && !o) ok = false;
    if (ok) {
        json_object_set(o, "properties", props);
        char *js = json_dumps(o, JSON_COMPACT);
        cat_content nct = {.kind = "NAMESPACE", .content_id = ct.content_id, .location = NULL, .json = js};
        cat_op op = {.key = key, .content = &nct, .check = true, .expect_location = NULL};
        ok = cat_commit_ops(c, ref_or_main(ref), &op, 1, arena_sprintf(&a, "update properties of namespace %s", ns),
                            err);
        free(js);
    }
    json_decref(o);
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
    cat_table_change ch = {.ns = ns, .name = name, .requirements = reqs, .updates = updates};
    if (!tables_commit(x->c, x->ref, &ch, 1, base_location, base, a, &t, err)) return false;
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

bool cat_table_other_versions(cat_t *c, const char *ref, const char *ns, const char *name,
                              const char *metadata_location, arena_t *a, ice_maint_keep *keep, floe_err *err) {
    memset(keep, 0, sizeof *keep);
    cat_ref *refs;
    size_t n;
    if (!cat_ref_list(c, a, &refs, &n, err)) return false;
    ice_table_meta *metas = arena_zalloc(a, (n + 1) * sizeof *metas);
    const char **files = arena_zalloc(a, (n + 1) * sizeof *files);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(refs[i].name, ref ? ref : CAT_MAIN)) continue;
        cat_table ct;
        floe_err e2 = {0};
        if (!cat_table_load(c, refs[i].name, ns, name, a, &ct, &e2)) {
            if (e2.code == FLOE_ENOENT) continue;
            *err = e2;
            return floe_err_wrap(err, "loading %s.%s on catalog ref %s", ns, name, refs[i].name);
        }
        if (!strcmp(ct.metadata_location, metadata_location)) continue;
        bool seen = false;
        for (size_t k = 0; k < keep->n && !seen; k++) seen = !strcmp(files[k], ct.metadata_location);
        if (seen) continue;
        metas[keep->n] = ct.meta;
        files[keep->n++] = ct.metadata_location;
    }
    keep->metas = metas;
    keep->metadata_files = files;
    return true;
}
