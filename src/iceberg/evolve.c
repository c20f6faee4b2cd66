/*
 * evolve.c: schema evolution and partition evolution (the Java
 * SchemaUpdate and BaseUpdatePartitionSpec).
 *
 * A change is planned on a copy of the current schema and default spec:
 * columns are found by dotted path, checked (no required column added, no
 * identifier field or partition source dropped, no name clash, only the
 * spec's type promotions), and given ids that never change: a new column
 * takes the next id after last-column-id, a new partition field the next
 * after last-partition-id, or the id an older spec gave the same source
 * and transform. The result is committed through the catalog with the
 * requirements that make it safe against concurrent changes, and planned
 * again from the reloaded table when one wins. Data files are never
 * rewritten: reads project old files by field id (scan.c, and
 * ice_file_project below for structs whose fields changed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "iceberg/ice_int.h"
#include "iceberg/value_int.h"

/* ================================================================ copies */

static void field_clone(arena_t *a, fmt_field_t *dst, const fmt_field_t *src) {
    *dst = *src;
    if (!src->nchildren) return;
    dst->children = arena_alloc(a, (size_t)src->nchildren * sizeof *dst->children);
    for (int32_t i = 0; i < src->nchildren; i++) field_clone(a, &dst->children[i], &src->children[i]);
}

static void schema_clone(arena_t *a, fmt_schema_t *dst, const fmt_schema_t *src) {
    *dst = *src;
    field_clone(a, &dst->root, &src->root);
    if (src->nidentifier_ids) {
        dst->identifier_ids = arena_alloc(a, (size_t)src->nidentifier_ids * sizeof *dst->identifier_ids);
        memcpy(dst->identifier_ids, src->identifier_ids, (size_t)src->nidentifier_ids * sizeof *dst->identifier_ids);
    }
}

static bool field_equal(const fmt_field_t *x, const fmt_field_t *y) {
    if (x->id != y->id || x->type != y->type || x->required != y->required || x->nchildren != y->nchildren ||
        strcmp(x->name ? x->name : "", y->name ? y->name : ""))
        return false;
    if (x->type == FMT_DECIMAL && (x->precision != y->precision || x->scale != y->scale)) return false;
    if (x->type == FMT_FIXED && x->length != y->length) return false;
    for (int32_t i = 0; i < x->nchildren; i++)
        if (!field_equal(&x->children[i], &y->children[i])) return false;
    return true;
}

static bool schema_equal(const fmt_schema_t *x, const fmt_schema_t *y) {
    if (x->nidentifier_ids != y->nidentifier_ids || !field_equal(&x->root, &y->root)) return false;
    for (int32_t i = 0; i < x->nidentifier_ids; i++)
        if (x->identifier_ids[i] != y->identifier_ids[i]) return false;
    return true;
}

/* The spec's equivalence: same source ids, transforms and names, in order
 * (field ids follow, since equivalent fields reuse their ids). */
static bool spec_equal(const ice_partition_spec *x, const ice_partition_spec *y) {
    if (x->nfields != y->nfields) return false;
    for (int32_t i = 0; i < x->nfields; i++) {
        const ice_partition_field *f = &x->fields[i], *g = &y->fields[i];
        if (f->source_id != g->source_id || strcmp(f->name, g->name) || f->transform.kind != g->transform.kind ||
            f->transform.param != g->transform.param)
            return false;
    }
    return true;
}

/* ================================================================= paths */

typedef struct col_ref {
    fmt_field_t *parent; /* the struct, list or map holding it */
    int32_t index;       /* in parent->children */
    fmt_field_t *field;
} col_ref;

static fmt_field_t *child_named(fmt_field_t *f, const char *name, size_t n, int32_t *idx) {
    for (int32_t i = 0; i < f->nchildren; i++) {
        const char *cn = f->children[i].name;
        if (cn && strlen(cn) == n && !memcmp(cn, name, n)) {
            *idx = i;
            return &f->children[i];
        }
    }
    return NULL;
}

/* A child of cur by name; a list's or map's struct element or value is
 * looked into too, so "pts.x" names field x of list<struct<x, y>> pts as
 * Java's short names do (pts.element.x works as well). *parent gets the
 * field that holds it. */
static fmt_field_t *step(fmt_field_t *cur, const char *name, size_t n, fmt_field_t **parent, int32_t *idx) {
    fmt_field_t *c = child_named(cur, name, n, idx);
    *parent = cur;
    if (c || (cur->type != FMT_LIST && cur->type != FMT_MAP)) return c;
    fmt_field_t *inner = &cur->children[cur->type == FMT_LIST ? 0 : 1];
    if (inner->type != FMT_STRUCT) return NULL;
    *parent = inner;
    return child_named(inner, name, n, idx);
}

/* Finds a dotted path; a whole name with dots in it is tried first at each
 * level, so a column literally named "a.b" is reachable too. */
static bool resolve(fmt_schema_t *s, const char *path, col_ref *out) {
    fmt_field_t *cur = &s->root, *parent;
    const char *p = path;
    for (;;) {
        int32_t idx;
        fmt_field_t *c = step(cur, p, strlen(p), &parent, &idx);
        if (c) {
            *out = (col_ref){.parent = parent, .index = idx, .field = c};
            return true;
        }
        const char *dot = strchr(p, '.');
        if (!dot) return false;
        c = step(cur, p, (size_t)(dot - p), &parent, &idx);
        if (!c || fmt_type_is_primitive(c->type)) return false;
        cur = c;
        p = dot + 1;
    }
}

static bool no_column(const fmt_schema_t *s, const char *path, floe_err *err) {
    buf_t names = BUF_INIT;
    for (int32_t i = 0; i < s->root.nchildren; i++) buf_printf(&names, "%s%s", i ? ", " : "", s->root.children[i].name);
    floe_err_set(err, FLOE_EINVAL,
                 "no column '%s' in the table (its columns: %s; reach struct fields as parent.child, list elements "
                 "as list.element, map values as map.value; names are case-sensitive)",
                 path, names.data ? names.data : "none");
    buf_free(&names);
    return false;
}

static bool find_col(fmt_schema_t *s, const char *path, col_ref *out, floe_err *err) {
    if (!path || !*path) return floe_err_set(err, FLOE_EINVAL, "a column name is needed");
    if (!resolve(s, path, out)) return no_column(s, path, err);
    return true;
}

/* list elements and map keys and values have fixed names and places */
static bool check_named_field(const col_ref *r, const char *path, const char *what, floe_err *err) {
    if (r->parent->type == FMT_LIST || r->parent->type == FMT_MAP)
        return floe_err_set(err, FLOE_EINVAL,
                            "cannot %s '%s': it is the %s of a %s, not a named field; %s the %s column itself", what,
                            path, r->field->name, fmt_type_name(r->parent->type), what, fmt_type_name(r->parent->type));
    return true;
}

static bool subtree_has(const fmt_field_t *f, int32_t id) {
    if (f->id == id) return true;
    for (int32_t i = 0; i < f->nchildren; i++)
        if (subtree_has(&f->children[i], id)) return true;
    return false;
}

static void insert_child(arena_t *a, fmt_field_t *parent, int32_t at, const fmt_field_t *c) {
    fmt_field_t *v = arena_alloc(a, ((size_t)parent->nchildren + 1) * sizeof *v);
    if (at > 0) memcpy(v, parent->children, (size_t)at * sizeof *v);
    v[at] = *c;
    if (parent->nchildren > at) memcpy(v + at + 1, parent->children + at, (size_t)(parent->nchildren - at) * sizeof *v);
    parent->children = v;
    parent->nchildren++;
}

static void remove_child(fmt_field_t *parent, int32_t at) {
    memmove(parent->children + at, parent->children + at + 1,
            (size_t)(parent->nchildren - at - 1) * sizeof(fmt_field_t));
    parent->nchildren--;
}

static void shift_ids(fmt_field_t *f, int32_t by) {
    f->id += by;
    for (int32_t i = 0; i < f->nchildren; i++) shift_ids(&f->children[i], by);
}

static const char *type_text(arena_t *a, const fmt_field_t *f) {
    buf_t b = BUF_INIT;
    fmt_type_format(f, &b);
    const char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

/* ======================================================== schema changes */

typedef struct plan {
    const ice_table_meta *m;
    arena_t *a;
    fmt_schema_t schema;
    ice_partition_spec spec;
    int32_t last_column_id, last_partition_id;
    int32_t field_id;
    floe_err *err;
} plan;

/* The partition field of the working spec whose source is f or inside it. */
static const ice_partition_field *partition_source(const plan *p, const fmt_field_t *f) {
    for (int32_t i = 0; i < p->spec.nfields; i++)
        if (p->spec.fields[i].transform.kind != ICE_TR_VOID && subtree_has(f, p->spec.fields[i].source_id))
            return &p->spec.fields[i];
    return NULL;
}

static int32_t identifier_in(const plan *p, const fmt_field_t *f) {
    for (int32_t i = 0; i < p->schema.nidentifier_ids; i++)
        if (subtree_has(f, p->schema.identifier_ids[i])) return p->schema.identifier_ids[i];
    return -1;
}

static bool add_column(plan *p, const char *path, const char *type) {
    if (!type || !*type)
        return floe_err_set(p->err, FLOE_EINVAL, "add-column '%s' needs a type, as in add-column %s long", path, path);
    /* the parent: the root, or the struct a dotted path names (a list's
     * element or a map's value when those are structs) */
    fmt_field_t *parent = &p->schema.root;
    const char *name = path;
    const char *dot = strrchr(path, '.');
    if (dot) {
        const char *ppath = arena_strndup(p->a, path, (size_t)(dot - path));
        col_ref r;
        if (!resolve(&p->schema, ppath, &r))
            return floe_err_set(p->err, FLOE_EINVAL,
                                "add-column '%s': no struct '%s' to add '%s' to (a dotted name adds a field to a "
                                "struct column)",
                                path, ppath, dot + 1);
        parent = r.field;
        if (parent->type == FMT_LIST) parent = &parent->children[0];
        if (parent->type == FMT_MAP) parent = &parent->children[1];
        if (parent->type != FMT_STRUCT)
            return floe_err_set(p->err, FLOE_EINVAL,
                                "add-column '%s': '%s' is %s, not a struct; fields go into structs", path, ppath,
                                type_text(p->a, parent));
        name = dot + 1;
    }
    if (!*name) return floe_err_set(p->err, FLOE_EINVAL, "add-column '%s': the name is empty", path);
    if (strchr(name, '`'))
        return floe_err_set(p->err, FLOE_EINVAL, "add-column '%s': a name cannot contain a backquote (`)", path);
    int32_t idx;
    if (child_named(parent, name, strlen(name), &idx))
        return floe_err_set(p->err, FLOE_EINVAL,
                            "add-column '%s': a column of that name already exists; pick another name, or drop "
                            "or rename the old one first",
                            path);
    /* the type, parsed as a one-column schema: fresh ids 1.. as Iceberg
     * assigns them (the column, then nested fields breadth first) */
    fmt_schema_t one;
    floe_err terr = {0};
    char *text = arena_sprintf(p->a, "`%s` %s", name, type);
    if (!fmt_schema_parse(text, p->a, &one, &terr) || one.root.nchildren != 1)
        return floe_err_set(p->err, FLOE_EINVAL, "add-column '%s': type '%s': %s", path, type,
                            terr.code ? terr.msg : "expected one type");
    fmt_field_t c = one.root.children[0];
    if (c.required)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "add-column '%s': a required (not null) column cannot be added, because the rows already "
                            "written have no value for it; add it as optional (drop 'not null')",
                            path);
    fmt_schema_finish(&one); /* before the shift: c shares its children with one */
    shift_ids(&c, p->last_column_id);
    p->last_column_id += one.max_field_id;
    p->field_id = c.id;
    insert_child(p->a, parent, parent->nchildren, &c);
    return true;
}

static bool drop_column(plan *p, const char *path) {
    col_ref r;
    if (!find_col(&p->schema, path, &r, p->err) || !check_named_field(&r, path, "drop", p->err)) return false;
    int32_t ident = identifier_in(p, r.field);
    if (ident >= 0)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "cannot drop '%s': %s identifier field (id %d) of the table; identifier fields identify "
                            "rows for upserts and equality deletes, so set other identifier fields first",
                            path, ident == r.field->id ? "it is an" : "it holds an", ident);
    const ice_partition_field *pf = partition_source(p, r.field);
    if (pf) {
        buf_t tr = BUF_INIT;
        ice_transform_format(&pf->transform, &tr);
        floe_err_set(p->err, FLOE_EINVAL,
                     "cannot drop '%s': partition field '%s' (%s) of the current spec is computed from it; drop the "
                     "partition field first (floe table evolve NS.T drop-partition %s), then the column",
                     path, pf->name, tr.data ? tr.data : "", pf->name);
        buf_free(&tr);
        return false;
    }
    if (r.parent->nchildren == 1)
        return floe_err_set(p->err, FLOE_EINVAL,
                            r.parent == &p->schema.root
                                ? "cannot drop '%s': it is the table's only column; add another column first"
                                : "cannot drop '%s': it is the only field of its struct; drop the struct instead",
                            path);
    p->field_id = r.field->id;
    remove_child(r.parent, r.index);
    return true;
}

static bool rename_column(plan *p, const char *path, const char *to) {
    col_ref r;
    if (!find_col(&p->schema, path, &r, p->err) || !check_named_field(&r, path, "rename", p->err)) return false;
    if (!to || !*to)
        return floe_err_set(p->err, FLOE_EINVAL, "rename-column '%s' needs a new name, as in rename-column %s NEW",
                            path, path);
    if (strchr(to, '.'))
        return floe_err_set(p->err, FLOE_EINVAL,
                            "rename-column '%s': the new name '%s' has a dot; give only the field's own name "
                            "(a rename never moves a field to another struct)",
                            path, to);
    int32_t idx;
    fmt_field_t *same = child_named(r.parent, to, strlen(to), &idx);
    if (same && same != r.field)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "rename-column '%s' to '%s': a column named '%s' already exists there; rename or drop it "
                            "first",
                            path, to, to);
    if (r.parent == &p->schema.root)
        for (int32_t i = 0; i < p->spec.nfields; i++) {
            const ice_partition_field *pf = &p->spec.fields[i];
            if (!strcmp(pf->name, to) && !(pf->transform.kind == ICE_TR_IDENTITY && pf->source_id == r.field->id))
                return floe_err_set(p->err, FLOE_EINVAL,
                                    "rename-column '%s' to '%s': '%s' is the name of a partition field; pick "
                                    "another name",
                                    path, to, to);
        }
    r.field->name = arena_strdup(p->a, to);
    p->field_id = r.field->id;
    return true;
}

/* The spec's type promotions (format/spec.md, "Schema Evolution"). */
static bool promotion_allowed(const fmt_field_t *from, const fmt_field_t *to) {
    if (from->type == FMT_INT && to->type == FMT_LONG) return true;
    if (from->type == FMT_FLOAT && to->type == FMT_DOUBLE) return true;
    if (from->type == FMT_DECIMAL && to->type == FMT_DECIMAL)
        return to->scale == from->scale && to->precision > from->precision;
    return false;
}

static bool widen(plan *p, const char *path, const char *type) {
    col_ref r;
    if (!find_col(&p->schema, path, &r, p->err)) return false;
    if (!type || !*type)
        return floe_err_set(p->err, FLOE_EINVAL, "widen '%s' needs a type, as in widen %s long", path, path);
    fmt_schema_t one;
    floe_err terr = {0};
    if (!fmt_schema_parse(arena_sprintf(p->a, "x %s", type), p->a, &one, &terr) || one.root.nchildren != 1)
        return floe_err_set(p->err, FLOE_EINVAL, "widen '%s': type '%s': %s", path, type,
                            terr.code ? terr.msg : "expected one type");
    fmt_field_t *to = &one.root.children[0];
    fmt_field_t *f = r.field;
    if (f->type == to->type && (f->type != FMT_DECIMAL || (f->precision == to->precision && f->scale == to->scale)) &&
        fmt_type_is_primitive(f->type)) {
        p->field_id = f->id; /* already that type */
        return true;
    }
    if (!promotion_allowed(f, to))
        return floe_err_set(p->err, FLOE_EINVAL,
                            "cannot widen '%s' from %s to %s: Iceberg allows only int to long, float to double, and "
                            "decimal(P,S) to decimal(P2,S) with the same scale and P2 > P; anything else needs a new "
                            "column (add-column) filled by a rewrite",
                            path, type_text(p->a, f), type_text(p->a, to));
    f->type = to->type;
    f->precision = to->precision;
    f->scale = to->scale;
    p->field_id = f->id;
    return true;
}

static bool make_optional(plan *p, const char *path) {
    col_ref r;
    if (!find_col(&p->schema, path, &r, p->err)) return false;
    if (r.parent->type == FMT_MAP && r.index == 0)
        return floe_err_set(p->err, FLOE_EINVAL, "cannot make '%s' optional: map keys are always required", path);
    if (identifier_in(p, r.field) == r.field->id)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "cannot make '%s' optional: it is an identifier field, and identifier fields must be "
                            "required",
                            path);
    r.field->required = false;
    p->field_id = r.field->id;
    return true;
}

static bool move_column(plan *p, ice_evolve_kind kind, const char *path, const char *other) {
    col_ref r;
    if (!find_col(&p->schema, path, &r, p->err) || !check_named_field(&r, path, "move", p->err)) return false;
    p->field_id = r.field->id;
    fmt_field_t moved = *r.field;
    if (kind == ICE_EVOLVE_MOVE_FIRST) {
        remove_child(r.parent, r.index);
        insert_child(p->a, r.parent, 0, &moved);
        return true;
    }
    const char *rel = kind == ICE_EVOLVE_MOVE_AFTER ? "after" : "before";
    if (!other || !*other)
        return floe_err_set(p->err, FLOE_EINVAL, "move-column '%s' %s needs another column, as in move-column %s %s x",
                            path, rel, path, rel);
    /* OTHER as a full path, or as a sibling's own name */
    col_ref o;
    bool found = resolve(&p->schema, other, &o);
    if (!found || o.parent != r.parent) {
        int32_t idx;
        fmt_field_t *sib = child_named(r.parent, other, strlen(other), &idx);
        if (sib) o = (col_ref){.parent = r.parent, .index = idx, .field = sib}, found = true;
    }
    if (!found) return no_column(&p->schema, other, p->err);
    if (o.parent != r.parent)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "cannot move '%s' %s '%s': they are in different structs; a column moves only among its "
                            "siblings",
                            path, rel, other);
    if (o.field == r.field) return floe_err_set(p->err, FLOE_EINVAL, "cannot move '%s' %s itself", path, rel);
    int32_t other_id = o.field->id;
    remove_child(r.parent, r.index);
    int32_t at = 0;
    while (at < r.parent->nchildren && r.parent->children[at].id != other_id) at++;
    insert_child(p->a, r.parent, kind == ICE_EVOLVE_MOVE_AFTER ? at + 1 : at, &moved);
    return true;
}

/* ============================================================ spec changes */

static bool time_transform(ice_transform_kind k) {
    return k == ICE_TR_YEAR || k == ICE_TR_MONTH || k == ICE_TR_DAY || k == ICE_TR_HOUR;
}

static const char *field_text(arena_t *a, const fmt_schema_t *s, const ice_partition_field *f) {
    buf_t b = BUF_INIT;
    ice_transform_format(&f->transform, &b);
    const char *src = ice_column_name(s, f->source_id, a);
    const char *r = arena_sprintf(a, "%.*s(%s)", (int)b.len, b.data ? b.data : "", src ? src : "?");
    buf_free(&b);
    return r;
}

static bool add_partition(plan *p, const char *text) {
    ice_partition_spec one;
    if (!ice_partition_spec_parse(text ? text : "", &p->schema, p->last_partition_id, p->a, &one, p->err)) return false;
    if (one.nfields != 1)
        return floe_err_set(p->err, FLOE_EINVAL,
                            "add-partition '%s': give one partition field, as in add-partition \"hour(ts)\" or "
                            "add-partition \"bucket(8, id)\"",
                            text ? text : "");
    ice_partition_field nf = one.fields[0];
    for (int32_t i = 0; i < p->spec.nfields; i++) {
        const ice_partition_field *g = &p->spec.fields[i];
        if (g->source_id != nf.source_id || g->transform.kind == ICE_TR_VOID) continue;
        if (g->transform.kind == nf.transform.kind && g->transform.param == nf.transform.param)
            return floe_err_set(p->err, FLOE_EINVAL, "add-partition '%s': the spec already partitions by %s as '%s'",
                                text, field_text(p->a, &p->schema, g), g->name);
        if (time_transform(g->transform.kind) && time_transform(nf.transform.kind))
            return floe_err_set(p->err, FLOE_EINVAL,
                                "add-partition '%s': the spec already partitions the same column by time as '%s' (%s); "
                                "drop-partition %s first, then add the new one",
                                text, g->name, field_text(p->a, &p->schema, g), g->name);
    }
    for (int32_t i = 0; i < p->spec.nfields; i++) {
        const ice_partition_field *g = &p->spec.fields[i];
        if (!strcmp(g->name, nf.name))
            return floe_err_set(p->err, FLOE_EINVAL,
                                "add-partition '%s': the spec already has a partition field named '%s' (%s); name the "
                                "new one with 'as NAME', or drop-partition %s first",
                                text, nf.name, field_text(p->a, &p->schema, g), g->name);
    }
    /* v2 recycles the id an older spec gave the same field */
    int32_t id = -1;
    for (int32_t s = 0; s < p->m->nspecs && id < 0 && p->m->format_version >= 2; s++)
        for (int32_t i = 0; i < p->m->specs[s].nfields; i++) {
            const ice_partition_field *g = &p->m->specs[s].fields[i];
            if (g->source_id == nf.source_id && g->transform.kind == nf.transform.kind &&
                g->transform.param == nf.transform.param && !strcmp(g->name, nf.name)) {
                id = g->field_id;
                break;
            }
        }
    if (id < 0) id = ++p->last_partition_id;
    nf.field_id = id;
    ice_partition_field *v = arena_alloc(p->a, ((size_t)p->spec.nfields + 1) * sizeof *v);
    if (p->spec.nfields) memcpy(v, p->spec.fields, (size_t)p->spec.nfields * sizeof *v);
    v[p->spec.nfields] = nf;
    p->spec.fields = v;
    p->spec.nfields++;
    p->field_id = id;
    return true;
}

static bool drop_partition(plan *p, const char *name) {
    for (int32_t i = 0; i < p->spec.nfields; i++) {
        ice_partition_field *g = &p->spec.fields[i];
        if (!name || strcmp(g->name, name) || g->transform.kind == ICE_TR_VOID) continue;
        p->field_id = g->field_id;
        ice_partition_field *v = arena_alloc(p->a, ((size_t)p->spec.nfields + 1) * sizeof *v);
        memcpy(v, p->spec.fields, (size_t)p->spec.nfields * sizeof *v);
        p->spec.fields = v;
        if (p->m->format_version >= 2) {
            memmove(v + i, v + i + 1, (size_t)(p->spec.nfields - i - 1) * sizeof *v);
            p->spec.nfields--;
        } else {
            v[i].transform = (ice_transform){.kind = ICE_TR_VOID}; /* v1 keeps the field as void */
        }
        return true;
    }
    buf_t names = BUF_INIT;
    for (int32_t i = 0; i < p->spec.nfields; i++)
        if (p->spec.fields[i].transform.kind != ICE_TR_VOID)
            buf_printf(&names, "%s%s", names.len ? ", " : "", p->spec.fields[i].name);
    floe_err_set(p->err, FLOE_EINVAL, "drop-partition '%s': the current spec has no such field (its fields: %s)",
                 name ? name : "", names.len ? names.data : "none; the table is unpartitioned");
    buf_free(&names);
    return false;
}

/* ================================================================ planning */

static bool apply_op(plan *p, const ice_evolve_op *op) {
    switch (op->kind) {
    case ICE_EVOLVE_ADD_COLUMN: return add_column(p, op->column, op->arg);
    case ICE_EVOLVE_DROP_COLUMN: return drop_column(p, op->column);
    case ICE_EVOLVE_RENAME_COLUMN: return rename_column(p, op->column, op->arg);
    case ICE_EVOLVE_WIDEN: return widen(p, op->column, op->arg);
    case ICE_EVOLVE_MAKE_OPTIONAL: return make_optional(p, op->column);
    case ICE_EVOLVE_MOVE_FIRST:
    case ICE_EVOLVE_MOVE_AFTER:
    case ICE_EVOLVE_MOVE_BEFORE: return move_column(p, op->kind, op->column, op->arg);
    case ICE_EVOLVE_ADD_PARTITION: return add_partition(p, op->column);
    case ICE_EVOLVE_DROP_PARTITION: return drop_partition(p, op->column);
    }
    return floe_err_set(p->err, FLOE_EINVAL, "unknown evolution %d", (int)op->kind);
}

bool ice_evolve_plan(const ice_table_meta *m, const ice_evolve_op *ops, size_t nops, arena_t *a, fmt_schema_t *schema,
                     ice_partition_spec *spec, int32_t *last_column_id, int32_t *last_partition_id, int32_t *field_id,
                     floe_err *err) {
    const fmt_schema_t *cur = ice_meta_current_schema(m);
    const ice_partition_spec *cspec = ice_meta_spec(m, m->default_spec_id);
    if (!cur || !cspec)
        return floe_err_set(err, FLOE_EINVAL, "table metadata has no current schema (%d) or default spec (%d)",
                            m->current_schema_id, m->default_spec_id);
    plan p = {.m = m,
              .a = a,
              .err = err,
              .last_column_id = m->last_column_id,
              .last_partition_id = m->last_partition_id,
              .field_id = -1};
    schema_clone(a, &p.schema, cur);
    p.spec = *cspec;
    p.spec.fields = arena_alloc(a, ((size_t)cspec->nfields + 1) * sizeof *p.spec.fields);
    if (cspec->nfields) memcpy(p.spec.fields, cspec->fields, (size_t)cspec->nfields * sizeof *p.spec.fields);
    for (size_t i = 0; i < nops; i++)
        if (!apply_op(&p, &ops[i])) return false;
    fmt_schema_finish(&p.schema);
    *schema = p.schema;
    *spec = p.spec;
    *last_column_id = p.last_column_id;
    *last_partition_id = p.last_partition_id;
    if (field_id) *field_id = p.field_id;
    return true;
}

/* ================================================================ commits */

static bool is_spec_op(ice_evolve_kind k) { return k == ICE_EVOLVE_ADD_PARTITION || k == ICE_EVOLVE_DROP_PARTITION; }

/* One planning and commit; *conflict when a concurrent change won. */
static bool evolve_once(ice_table *t, const ice_evolve_op *ops, size_t nops, arena_t *a, ice_evolve_result *res,
                        floe_err *err) {
    const ice_table_meta *m = &t->meta;
    fmt_schema_t schema;
    ice_partition_spec spec;
    int32_t last_col, last_pid, fid;
    if (!ice_evolve_plan(m, ops, nops, a, &schema, &spec, &last_col, &last_pid, &fid, err)) return false;
    res->field_id = fid;
    bool schema_ops = false, spec_ops = false;
    for (size_t i = 0; i < nops; i++) {
        if (is_spec_op(ops[i].kind))
            spec_ops = true;
        else
            schema_ops = true;
    }
    /* reuse an existing schema or spec that equals the result */
    int32_t schema_id = -2, spec_id = -2; /* -2: unchanged, -1: new */
    if (!schema_equal(&schema, ice_meta_current_schema(m))) {
        schema_id = -1;
        for (int32_t i = 0; i < m->nschemas; i++) {
            fmt_schema_t s = m->schemas[i];
            if (schema_equal(&schema, &s)) schema_id = s.schema_id;
        }
    }
    if (!spec_equal(&spec, ice_meta_spec(m, m->default_spec_id))) {
        spec_id = -1;
        for (int32_t i = 0; i < m->nspecs; i++)
            if (spec_equal(&spec, &m->specs[i])) spec_id = m->specs[i].spec_id;
    }
    res->schema_changed = schema_id != -2;
    res->spec_changed = spec_id != -2;
    res->schema_id = m->current_schema_id;
    res->spec_id = m->default_spec_id;
    if (!res->schema_changed && !res->spec_changed) return true;

    json_t *reqs = json_array(), *ups = json_array();
    json_array_append_new(reqs, json_pack("{s:s, s:s}", "type", "assert-table-uuid", "uuid", m->table_uuid));
    /* the checks read both the schema and the spec (a dropped column may
     * be a new spec's source, a new partition field's source a column
     * just dropped), so both must still be current */
    json_array_append_new(
        reqs, json_pack("{s:s, s:i}", "type", "assert-current-schema-id", "current-schema-id", m->current_schema_id));
    json_array_append_new(
        reqs, json_pack("{s:s, s:i}", "type", "assert-default-spec-id", "default-spec-id", m->default_spec_id));
    if (schema_ops)
        json_array_append_new(reqs, json_pack("{s:s, s:i}", "type", "assert-last-assigned-field-id",
                                              "last-assigned-field-id", m->last_column_id));
    if (spec_ops)
        json_array_append_new(reqs, json_pack("{s:s, s:i}", "type", "assert-last-assigned-partition-id",
                                              "last-assigned-partition-id", m->last_partition_id));
    if (schema_id == -1) {
        int32_t next = 0;
        for (int32_t i = 0; i < m->nschemas; i++)
            if (m->schemas[i].schema_id >= next) next = m->schemas[i].schema_id + 1;
        schema.schema_id = next;
        json_array_append_new(ups, json_pack("{s:s, s:o, s:i}", "action", "add-schema", "schema",
                                             ice_schema_to_json(&schema), "last-column-id", last_col));
        json_array_append_new(ups, json_pack("{s:s, s:i}", "action", "set-current-schema", "schema-id", -1));
    } else if (schema_id >= 0) {
        json_array_append_new(ups, json_pack("{s:s, s:i}", "action", "set-current-schema", "schema-id", schema_id));
    }
    if (spec_id == -1) {
        int32_t next = 0;
        for (int32_t i = 0; i < m->nspecs; i++)
            if (m->specs[i].spec_id >= next) next = m->specs[i].spec_id + 1;
        spec.spec_id = next;
        json_array_append_new(ups, json_pack("{s:s, s:o}", "action", "add-spec", "spec", ice_spec_to_json(&spec)));
        json_array_append_new(ups, json_pack("{s:s, s:i}", "action", "set-default-spec", "spec-id", -1));
    } else if (spec_id >= 0) {
        json_array_append_new(ups, json_pack("{s:s, s:i}", "action", "set-default-spec", "spec-id", spec_id));
    }
    const char *loc;
    ice_table_meta nm;
    bool ok = t->cat->commit(t->cat->ctx, t->ns, t->name, reqs, ups, a, &loc, &nm, err);
    json_decref(reqs);
    json_decref(ups);
    if (!ok) return false;
    t->metadata_location = loc;
    t->meta = nm;
    res->schema_id = nm.current_schema_id;
    res->spec_id = nm.default_spec_id;
    return true;
}

bool ice_table_evolve(ice_table *t, const ice_evolve_op *ops, size_t nops, arena_t *a, ice_evolve_result *res,
                      floe_err *err) {
    memset(res, 0, sizeof *res);
    if (!nops) return floe_err_set(err, FLOE_EINVAL, "no schema or partition change given");
    int64_t retries = 4;
    const char *r = ice_meta_property(&t->meta, "commit.retry.num-retries");
    if (r && !str_to_i64_range(r, 0, 1000, &retries))
        return floe_err_set(err, FLOE_EINVAL, "table property commit.retry.num-retries is '%s'; expected 0..1000", r);
    for (int i = 1;; i++) {
        res->attempts = i;
        if (evolve_once(t, ops, nops, a, res, err)) return true;
        if (err->code != FLOE_ECONFLICT || i > retries) return false;
        /* someone else changed the table: plan again on what they left */
        struct timespec ts = {0, (long)(20 + 40 * i) * 1000000L};
        nanosleep(&ts, NULL);
        floe_err e2 = {0};
        if (!ice_table_load(t->cat, t->ns, t->name, a, t, &e2)) {
            *err = e2;
            return false;
        }
    }
}

/* ====================================================== reading old files */

/* The Parquet reader projects top-level columns by field id and promotes
 * primitives (int to long, float to double, decimals), but it decodes a
 * column's nested leaves in the file's layout, with the definition levels
 * its required flags give. A column whose nested fields were added,
 * dropped or moved, or that was made optional, is therefore asked for in
 * the file's own layout (with the table's types at the leaves) and then
 * rebuilt into the table's: struct fields matched by id, fields the file
 * lacks as nulls, fields the table dropped left out. */

struct ice_file_project {
    fmt_schema_t ask;
    const fmt_schema_t *want;
    bool *adapt; /* per top-level column */
    arena_t a;   /* the ask schema */
    arena_t a2;  /* per batch */
    fmt_batch_t out;
};

static bool same_layout(const fmt_field_t *f, const fmt_field_t *w) {
    if (f->id != w->id || f->required != w->required || f->nchildren != w->nchildren ||
        fmt_type_is_primitive(f->type) != fmt_type_is_primitive(w->type))
        return false;
    for (int32_t i = 0; i < f->nchildren; i++)
        if (!same_layout(&f->children[i], &w->children[i])) return false;
    return true;
}

static const fmt_field_t *child_by_id(const fmt_field_t *w, int32_t id, int32_t *idx) {
    for (int32_t i = 0; w && i < w->nchildren; i++)
        if (w->children[i].id == id) {
            if (idx) *idx = i;
            return &w->children[i];
        }
    return NULL;
}

/* a: a copy of the file's field f, with w's types on the leaves w has */
static void ask_field(arena_t *ar, fmt_field_t *a, const fmt_field_t *f, const fmt_field_t *w) {
    *a = *f;
    if (w && fmt_type_is_primitive(f->type) && fmt_type_is_primitive(w->type)) {
        a->type = w->type;
        a->precision = w->precision;
        a->scale = w->scale;
        a->length = w->length;
    }
    if (!f->nchildren) return;
    a->children = arena_alloc(ar, (size_t)f->nchildren * sizeof *a->children);
    for (int32_t i = 0; i < f->nchildren; i++) {
        const fmt_field_t *wc = w && !fmt_type_is_primitive(w->type) ? child_by_id(w, f->children[i].id, NULL) : NULL;
        ask_field(ar, &a->children[i], &f->children[i], wc);
    }
}

ice_file_project *ice_file_project_new(const fmt_schema_t *file, const fmt_schema_t *want, const fmt_schema_t **ask) {
    *ask = want;
    if (!file) return NULL;
    int32_t n = want->root.nchildren;
    bool any = false;
    for (int32_t i = 0; i < n && !any; i++) {
        const fmt_field_t *f = child_by_id(&file->root, want->root.children[i].id, NULL);
        any = f && !same_layout(f, &want->root.children[i]);
    }
    if (!any) return NULL;
    ice_file_project *p = calloc(1, sizeof *p);
    if (!p) abort();
    arena_init(&p->a, 4096);
    arena_init(&p->a2, 16384);
    p->want = want;
    p->ask = *want;
    p->ask.root.children = arena_alloc(&p->a, ((size_t)n + 1) * sizeof(fmt_field_t));
    p->adapt = arena_zalloc(&p->a, (size_t)n + 1);
    for (int32_t i = 0; i < n; i++) {
        const fmt_field_t *w = &want->root.children[i];
        const fmt_field_t *f = child_by_id(&file->root, w->id, NULL);
        if (f && !same_layout(f, w)) {
            ask_field(&p->a, &p->ask.root.children[i], f, w);
            p->adapt[i] = true;
        } else {
            p->ask.root.children[i] = *w;
        }
    }
    fmt_schema_finish(&p->ask);
    p->out.ncols = (uint32_t)n;
    *ask = &p->ask;
    return p;
}

/* An all-null vector of field w, len slots long. */
static void null_vec(arena_t *a, fmt_vec_t *v, const fmt_field_t *w, uint32_t len) {
    memset(v, 0, sizeof *v);
    v->field = w;
    v->len = len;
    v->null_count = len;
    v->validity = arena_zalloc(a, (size_t)len / 8 + 1);
    int width = fmt_type_width(w);
    if (width) v->values = arena_zalloc(a, (size_t)len * (size_t)width + 16);
    if (w->type == FMT_STRING || w->type == FMT_BINARY || w->type == FMT_LIST || w->type == FMT_MAP) {
        v->offsets = arena_zalloc(a, ((size_t)len + 1) * sizeof *v->offsets);
        v->bytes = arena_zalloc(a, 16);
    }
    if (w->nchildren) {
        v->children = arena_zalloc(a, (size_t)w->nchildren * sizeof *v->children);
        v->nchildren = (uint32_t)w->nchildren;
        bool nested_slots = w->type == FMT_STRUCT;
        for (int32_t i = 0; i < w->nchildren; i++)
            null_vec(a, &v->children[i], &w->children[i], nested_slots ? len : 0);
    }
}

/* src (read in the file's layout f) as the table's field w. */
static void adapt_vec(arena_t *a, fmt_vec_t *dst, const fmt_vec_t *src, const fmt_field_t *f, const fmt_field_t *w) {
    *dst = *src;
    dst->field = w;
    if (!w->nchildren) return;
    dst->children = arena_zalloc(a, (size_t)w->nchildren * sizeof *dst->children);
    dst->nchildren = (uint32_t)w->nchildren;
    uint32_t clen = w->type == FMT_STRUCT ? src->len : (src->offsets ? src->offsets[src->len] : 0);
    for (int32_t i = 0; i < w->nchildren; i++) {
        int32_t k;
        const fmt_field_t *fc = child_by_id(f, w->children[i].id, &k);
        if (fc && (uint32_t)k < src->nchildren)
            adapt_vec(a, &dst->children[i], &src->children[k], fc, &w->children[i]);
        else
            null_vec(a, &dst->children[i], &w->children[i], clen);
    }
}

fmt_batch_t *ice_file_project_batch(ice_file_project *p, fmt_batch_t *b) {
    arena_free(&p->a2);
    if (!p->out.cols) p->out.cols = calloc(p->out.ncols + 1, sizeof *p->out.cols);
    p->out.nrows = b->nrows;
    for (uint32_t i = 0; i < p->out.ncols; i++) {
        if (p->adapt[i])
            adapt_vec(&p->a2, &p->out.cols[i], &b->cols[i], &p->ask.root.children[i], &p->want->root.children[i]);
        else
            p->out.cols[i] = b->cols[i];
    }
    return &p->out;
}

void ice_file_project_free(ice_file_project *p) {
    if (!p) return;
    free(p->out.cols);
    arena_free(&p->a2);
    arena_free(&p->a);
    free(p);
}
