/*
 * gc.c: garbage collection of the warehouse (`floe gc`), mark and sweep.
 *
 * Mark: every table on every ref (branch or tag) is read at the ref's
 * head. A table version (one metadata.json; refs sharing a table share
 * it) reaches its metadata file, the files of its metadata log, its
 * version hint and statistics files, and for every snapshot it still holds
 * (the retained ones) the manifest list, the manifests and every file they
 * list, whatever the entry status. A manifest is read once however many
 * versions list it. If anything a live version needs cannot be read, the
 * run stops before the sweep: a partial mark must never become deletes.
 *
 * Sweep: everything under the warehouse is listed, and a file nothing
 * marked is deleted when it was last modified before the cutoff (the grace
 * period, 3 days by default, as Iceberg's remove-orphans). That includes
 * the files of dropped tables, which Nessie's GC leaves behind
 * (projectnessie/nessie#9097). The cutoff is what keeps a commit running
 * at the same time safe: its new files are not referenced yet, but they
 * are younger than the cutoff. Files under a live table with
 * gc.enabled=false are kept: they may belong to another table too.
 *
 * Older catalog commits are not walked: only ref heads protect files, as
 * the issue asks ("reachable from any ref"). Tag a commit to keep it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/time.h"
#include "catalog/cat_int.h"

/* ============================================================ path set */

/* A set of paths (iceberg.h's), copying what it adds into its arena. */
typedef struct gc_set {
    ice_path_set set;
    arena_t *a;
} gc_set;

static bool set_has(const gc_set *s, const char *p) { return ice_path_set_has(&s->set, p); }

/* True when p was not in the set yet. */
static bool set_add(gc_set *s, const char *p) {
    if (!p || ice_path_set_has(&s->set, p)) return false;
    return ice_path_set_add(&s->set, s->a, arena_strdup(s->a, p));
}

/* ============================================================== mark */

/* A table version on a ref: where it was found, for messages. */
typedef struct gc_version {
    const char *ref, *table, *location;
} gc_version;

typedef struct gc_mark {
    cat_t *c;
    gc_set files;                    /* everything reachable */
    gc_set manifests;                /* manifests already read */
    const char **protected_prefixes; /* locations of gc.enabled=false tables, with '/' */
    size_t nprotected, capprotected;
} gc_mark;

static void progress(const cat_gc_opts *o, const char *phase, uint64_t done, uint64_t total) {
    if (o->progress) o->progress(o->progress_arg, phase, done, total);
}

static const char *display(arena_t *a, const char *key) {
    char *d = arena_strdup(a, key);
    for (char *p = d; *p; p++)
        if (*p == CAT_SEP) *p = '.';
    return d;
}

/* Every table on every ref, one row per distinct metadata location (the
 * first ref naming it), read in one statement: one consistent view. */
static bool live_versions(cat_t *c, arena_t *a, gc_version **out, size_t *n, int64_t *tables, floe_err *err) {
    cat_conn *k = cat_conn_get(c, err);
    if (!k) return false;
    db_stmt *st = NULL;
    bool ok = false;
    size_t cap = 64, cnt = 0;
    gc_version *v = arena_alloc(a, cap * sizeof *v);
    gc_set seen = {.a = a};
    *tables = 0;
    if (!(st = db_prepare(k, "SELECT ref, key, location FROM heads WHERE kind = 'ICEBERG_TABLE' ORDER BY ref = 'main' "
                             "DESC, ref, key"))) {
        db_fail(k, "listing the tables of every ref", err);
        goto done;
    }
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        const char *loc = db_col_text(st, 2);
        (*tables)++;
        if (!loc || !set_add(&seen, loc)) continue;
        if (cnt == cap) {
            gc_version *nv = arena_alloc(a, 2 * cap * sizeof *v);
            memcpy(nv, v, cnt * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[cnt].ref = arena_strdup(a, db_col_text(st, 0));
        v[cnt].table = display(a, db_col_text(st, 1));
        v[cnt].location = arena_strdup(a, loc);
        cnt++;
    }
    if (rc != DB_DONE) {
        db_fail(k, "listing the tables of every ref", err);
        goto done;
    }
    *out = v;
    *n = cnt;
    ok = true;
done:
    db_finalize(st);
    cat_conn_put(c, k);
    return ok;
}

static void mark_statistics(gc_mark *m, const ice_table_meta *meta) {
    if (!meta->extra) return;
    json_t *x = json_loads(meta->extra, 0, NULL);
    if (!x) return;
    static const char *keys[] = {"statistics", "partition-statistics"};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        json_t *st;
        json_array_foreach(json_object_get(x, keys[k]), i, st) {
            json_t *p = json_object_get(st, "statistics-path");
            if (json_is_string(p)) set_add(&m->files, json_string_value(p));
        }
    }
    json_decref(x);
}

static void protect(gc_mark *m, const char *location) {
    if (m->nprotected == m->capprotected) {
        m->capprotected = m->capprotected ? 2 * m->capprotected : 8;
        const char **nv = arena_alloc(m->files.a, m->capprotected * sizeof *nv);
        if (m->nprotected) memcpy(nv, m->protected_prefixes, m->nprotected * sizeof *nv);
        m->protected_prefixes = nv;
    }
    size_t n = strlen(location);
    m->protected_prefixes[m->nprotected++] =
        n && location[n - 1] == '/' ? arena_strdup(m->files.a, location) : arena_sprintf(m->files.a, "%s/", location);
}

/* Reads one manifest and marks every file it lists, any status. */
static bool mark_manifest(gc_mark *m, const ice_table_meta *meta, const ice_manifest_file *mf, floe_err *err) {
    if (!set_add(&m->manifests, mf->manifest_path)) return true; /* read before */
    set_add(&m->files, mf->manifest_path);
    arena_t tmp;
    arena_init(&tmp, 1 << 16);
    buf_t b = {0};
    ice_manifest_entry *es;
    size_t ne;
    bool ok = fileio_read_all(m->c->io, mf->manifest_path, &b, err) &&
              ice_manifest_read(b.data, b.len, mf->manifest_path, mf, meta, &tmp, &es, &ne, err);
    for (size_t i = 0; ok && i < ne; i++) set_add(&m->files, es[i].file.file_path);
    buf_free(&b);
    arena_free(&tmp);
    if (!ok) floe_err_wrap(err, "manifest %s", mf->manifest_path);
    return ok;
}

static bool mark_snapshot(gc_mark *m, const ice_table_meta *meta, const ice_snapshot *s, arena_t *a, floe_err *err) {
    ice_manifest_file *mfs = NULL;
    size_t nm = 0;
    if (s->manifest_list) {
        set_add(&m->files, s->manifest_list);
        buf_t b = {0};
        bool ok = fileio_read_all(m->c->io, s->manifest_list, &b, err) &&
                  ice_manifest_list_read(b.data, b.len, s->manifest_list, a, &mfs, &nm, err);
        buf_free(&b);
        if (!ok) return floe_err_wrap(err, "snapshot %lld", (long long)s->snapshot_id);
    } else {
        /* v1: the snapshot lists its manifests itself */
        nm = (size_t)s->nv1_manifests;
        mfs = arena_zalloc(a, (nm + 1) * sizeof *mfs);
        for (size_t i = 0; i < nm; i++) {
            mfs[i].manifest_path = s->v1_manifests[i];
            mfs[i].added_snapshot_id = s->snapshot_id;
            mfs[i].partition_spec_id = meta->default_spec_id;
        }
    }
    for (size_t i = 0; i < nm; i++)
        if (!mark_manifest(m, meta, &mfs[i], err))
            return floe_err_wrap(err, "snapshot %lld", (long long)s->snapshot_id);
    return true;
}

/* Marks what one table version reaches. Errors name the table and ref. */
static bool mark_version(gc_mark *m, const gc_version *v, floe_err *err) {
    arena_t a;
    arena_init(&a, 1 << 16);
    ice_table_meta meta;
    buf_t b = {0};
    set_add(&m->files, v->location);
    bool ok = fileio_read_all(m->c->io, v->location, &b, err) &&
              ice_meta_parse(b.data ? b.data : "", b.len, v->location, &a, &meta, err);
    buf_free(&b);
    if (!ok) floe_err_wrap(err, "metadata file %s", v->location);
    if (ok) {
        for (int32_t i = 0; i < meta.nmetadata_log; i++) set_add(&m->files, meta.metadata_log[i].metadata_file);
        if (meta.location) {
            set_add(&m->files, arena_sprintf(&a, "%s/metadata/version-hint.text", meta.location));
            const char *gc = ice_meta_property(&meta, "gc.enabled");
            if (gc && !strcasecmp(gc, "false")) protect(m, meta.location);
        }
        mark_statistics(m, &meta);
        for (int32_t i = 0; ok && i < meta.nsnapshots; i++) ok = mark_snapshot(m, &meta, &meta.snapshots[i], &a, err);
    }
    arena_free(&a);
    if (!ok) floe_err_wrap(err, "table %s on '%s'", v->table, v->ref);
    return ok;
}

/* ============================================================= sweep */

typedef struct gc_sweep {
    const gc_mark *m;
    const cat_gc_opts *o;
    cat_gc_result *res;
    arena_t *a;
    size_t cap;
} gc_sweep;

static bool is_protected(const gc_mark *m, const char *uri) {
    for (size_t i = 0; i < m->nprotected; i++) {
        const char *p = ice_path_norm(m->protected_prefixes[i]);
        if (!strncmp(ice_path_norm(uri), p, strlen(p))) return true;
    }
    return false;
}

static bool sweep_visit(const fileio_entry *e, void *arg) {
    gc_sweep *w = arg;
    cat_gc_result *r = w->res;
    r->listed++;
    r->listed_bytes += (int64_t)e->size;
    if (r->listed % 256 == 0) progress(w->o, "listing", (uint64_t)r->listed, 0);
    if (set_has(&w->m->files, e->uri)) {
        r->kept_live++;
        r->kept_live_bytes += (int64_t)e->size;
        return true;
    }
    if (is_protected(w->m, e->uri)) {
        r->kept_protected++;
        return true;
    }
    if (e->mtime_ms >= r->older_than_ms) {
        r->kept_young++;
        r->kept_young_bytes += (int64_t)e->size;
        return true;
    }
    if (r->ndeleted == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        cat_gc_file *nv = arena_alloc(w->a, w->cap * sizeof *nv);
        if (r->ndeleted) memcpy(nv, r->deleted, r->ndeleted * sizeof *nv);
        r->deleted = nv;
    }
    r->deleted[r->ndeleted++] =
        (cat_gc_file){.uri = arena_strdup(w->a, e->uri), .size = e->size, .mtime_ms = e->mtime_ms};
    return true;
}

static bool sweep(cat_t *c, const gc_mark *m, const cat_gc_opts *o, arena_t *a, cat_gc_result *res, floe_err *err) {
    const char *prefix = arena_sprintf(a, "%s/", c->warehouse);
    gc_sweep w = {.m = m, .o = o, .res = res, .a = a};
    floe_err e2 = {0};
    if (!fileio_list(c->io, prefix, sweep_visit, &w, &e2)) {
        /* no warehouse bucket yet: nothing was ever written */
        if (e2.code == FLOE_ENOENT && !res->listed) return true;
        *err = e2;
        return floe_err_wrap(err, "listing the warehouse %s, so nothing was deleted", prefix);
    }
    for (size_t i = 0; i < res->ndeleted; i++) {
        cat_gc_file *f = &res->deleted[i];
        floe_err de;
        if (!o->dry_run && !fileio_delete(c->io, f->uri, &de)) {
            log_warn("catalog", "gc: could not delete %s: %s (the next run retries)", f->uri, de.msg);
            f->failed = true;
            res->failed_deletes++;
        } else {
            res->deleted_bytes += (int64_t)f->size;
        }
        if (!o->dry_run) progress(o, "deleting", i + 1, res->ndeleted);
    }
    return true;
}

/* ============================================================== cat_gc */

bool cat_gc(cat_t *c, const cat_gc_opts *o, arena_t *a, cat_gc_result *res, floe_err *err) {
    floe_err_clear(err);
    memset(res, 0, sizeof *res);
    int64_t now = o->now_ms > 0 ? o->now_ms : time_now_ms();
    res->older_than_ms = o->older_than_ms >= 0 ? o->older_than_ms : now - CAT_GC_GRACE_MS;
    if (res->older_than_ms > now) {
        char t[32];
        time_iso8601_ms(res->older_than_ms, t);
        return floe_err_set(err, FLOE_EINVAL,
                            "gc cutoff %s is in the future: files a commit is writing right now would be deleted; "
                            "give a time in the past (the default is 3 days ago)",
                            t);
    }
    cat_ref *refs;
    size_t nrefs;
    if (!cat_ref_list(c, a, &refs, &nrefs, err)) return floe_err_wrap(err, "gc: listing refs");
    res->refs = (int64_t)nrefs;
    gc_version *vs;
    size_t nv;
    if (!live_versions(c, a, &vs, &nv, &res->tables, err)) return false;
    res->table_versions = (int64_t)nv;

    arena_t marks;
    arena_init(&marks, 1 << 20);
    gc_mark m = {.c = c, .files = {.a = &marks}, .manifests = {.a = &marks}};
    bool ok = true;
    for (size_t i = 0; ok && i < nv; i++) {
        ok = mark_version(&m, &vs[i], err);
        progress(o, "marking", i + 1, nv);
    }
    if (!ok) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        floe_err_set(err, err->code,
                     "%s; nothing was deleted: a live table's files must all be readable before any file goes "
                     "(restore the file, or drop the table on every ref that has it, then run gc again)",
                     why);
    } else {
        res->live_files = (int64_t)m.files.set.n;
        ok = sweep(c, &m, o, a, res, err);
    }
    arena_free(&marks);
    return ok;
}
