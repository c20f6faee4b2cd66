/*
 * expr_project.c: bound filters projected through partition transforms,
 * and residuals, as Java's Projections, ProjectionUtil and
 * ResidualEvaluator do them.
 *
 * An inclusive projection holds for every partition that may hold a
 * matching row (a predicate projects through each partition field of its
 * column, ANDed; with none it is true). A strict projection holds only for
 * partitions whose every row matches (ORed; with none it is false).
 *
 * Per transform (Java's rules): identity passes every predicate through;
 * bucket projects = and in (inclusive), != and not in (strict); truncate
 * and the time transforms turn < into <= of the transformed value less one
 * unit (and so on), strings project starts_with; time transforms add
 * Java's correction for values that Iceberg 0.10 and older wrote one too
 * large before 1970 (fixInclusiveTimeProjection / fixStrictTimeProjection).
 * void and unknown transforms project nothing.
 */
#include <string.h>

#include "iceberg/expr_int.h"
#include "iceberg/value_int.h"

typedef struct proj {
    const ice_partition_field *pf;
    const fmt_field_t *rt; /* the partition field's type */
    arena_t *a;
} proj;

static ice_expr *ppred(const proj *p, ice_expr_op op, int32_t nlits) {
    ice_expr *e = ice_expr_node(p->a, op);
    e->column = p->pf->name;
    e->field_id = p->pf->field_id;
    e->field = p->rt;
    e->nlits = nlits;
    e->lits = arena_zalloc(p->a, (size_t)(nlits ? nlits : 1) * sizeof *e->lits);
    return e;
}

static ice_value apply(const proj *p, const ice_value *v) {
    ice_value out;
    ice_transform_apply(&p->pf->transform, v, &out);
    return out;
}

/* The predicate with one transformed literal. */
static ice_expr *with_lit(const proj *p, ice_expr_op op, const ice_value *lit) {
    ice_expr *e = ppred(p, op, 1);
    e->lits[0] = apply(p, lit);
    return e;
}

static ice_expr *with_set(const proj *p, const ice_expr *pred) {
    ice_expr *e = ppred(p, pred->op, pred->nlits);
    for (int32_t i = 0; i < pred->nlits; i++) e->lits[i] = apply(p, &pred->lits[i]);
    return e;
}

/* lit + d (one unit of the source type); false when it leaves the range. */
static bool adjacent(const ice_value *lit, int d, ice_value *out) {
    *out = *lit;
    if (lit->type == FMT_DECIMAL) {
        out->v.dec += d;
        return true;
    }
    if (__builtin_add_overflow(lit->v.i64, (int64_t)d, &out->v.i64)) return false;
    if ((lit->type == FMT_INT || lit->type == FMT_DATE) && (out->v.i64 < INT32_MIN || out->v.i64 > INT32_MAX))
        return false;
    return true;
}

/* ProjectionUtil.truncateInteger / truncateLong / truncateDecimal */
static ice_expr *truncate_number(const proj *p, const ice_expr *pred) {
    const ice_value *lit = &pred->lits[0];
    ice_value adj;
    switch (pred->op) {
    case ICE_EX_LT: return adjacent(lit, -1, &adj) ? with_lit(p, ICE_EX_LE, &adj) : NULL;
    case ICE_EX_LE: return with_lit(p, ICE_EX_LE, lit);
    case ICE_EX_GT: return adjacent(lit, 1, &adj) ? with_lit(p, ICE_EX_GE, &adj) : NULL;
    case ICE_EX_GE: return with_lit(p, ICE_EX_GE, lit);
    case ICE_EX_EQ: return with_lit(p, ICE_EX_EQ, lit);
    default: return NULL;
    }
}

/* ...Strict */
static ice_expr *truncate_number_strict(const proj *p, const ice_expr *pred) {
    const ice_value *lit = &pred->lits[0];
    ice_value adj;
    switch (pred->op) {
    case ICE_EX_LT: return with_lit(p, ICE_EX_LT, lit);
    case ICE_EX_LE: return adjacent(lit, 1, &adj) ? with_lit(p, ICE_EX_LT, &adj) : NULL;
    case ICE_EX_GT: return with_lit(p, ICE_EX_GT, lit);
    case ICE_EX_GE: return adjacent(lit, -1, &adj) ? with_lit(p, ICE_EX_GT, &adj) : NULL;
    case ICE_EX_NE: return with_lit(p, ICE_EX_NE, lit);
    default: return NULL; /* no = : neighbours share a partition */
    }
}

/* ProjectionUtil.truncateArray / truncateArrayStrict (strings, binary) */
static ice_expr *truncate_array(const proj *p, const ice_expr *pred, bool strict) {
    const ice_value *lit = &pred->lits[0];
    switch (pred->op) {
    case ICE_EX_LT:
    case ICE_EX_LE: return with_lit(p, strict ? ICE_EX_LT : ICE_EX_LE, lit);
    case ICE_EX_GT:
    case ICE_EX_GE: return with_lit(p, strict ? ICE_EX_GT : ICE_EX_GE, lit);
    case ICE_EX_EQ: return strict ? NULL : with_lit(p, ICE_EX_EQ, lit);
    case ICE_EX_NE: return strict ? with_lit(p, ICE_EX_NE, lit) : NULL;
    case ICE_EX_STARTS_WITH: return strict ? NULL : with_lit(p, ICE_EX_STARTS_WITH, lit);
    default: return NULL;
    }
}

static int32_t code_points(const ice_value *v) {
    int32_t n = 0;
    for (uint32_t i = 0; i < v->len; i++) n += (v->bytes[i] & 0xc0) != 0x80;
    return n;
}

/* starts_with / not starts_with through truncate[W] of a string. */
static ice_expr *truncate_prefix(const proj *p, const ice_expr *pred, bool strict) {
    const ice_value *lit = &pred->lits[0];
    int32_t len = code_points(lit), w = p->pf->transform.param;
    if (pred->op == ICE_EX_STARTS_WITH) {
        if (!strict) return with_lit(p, ICE_EX_STARTS_WITH, lit);
        if (len < w) return with_lit(p, ICE_EX_STARTS_WITH, lit);
        return len == w ? with_lit(p, ICE_EX_EQ, lit) : NULL;
    }
    /* not starts_with */
    if (len < w) return with_lit(p, ICE_EX_NOT_STARTS_WITH, lit);
    if (len == w) return with_lit(p, ICE_EX_NE, lit);
    /* a partition other than the literal's first W code points holds no
     * value that starts with the literal */
    return strict ? with_lit(p, ICE_EX_NE, lit) : NULL;
}

/* ---- Java's corrections for time transforms ---- */

static ice_expr *int_pred(const proj *p, ice_expr_op op, const int64_t *v, int32_t n) {
    ice_expr *e = ppred(p, op, n);
    for (int32_t i = 0; i < n; i++) {
        e->lits[i] = ice_value_long(p->rt->type, v[i]);
        ice_value_set_type(&e->lits[i], p->rt);
    }
    return e;
}

/* The set plus value+1 for each negative value; NULL when none is negative. */
static ice_expr *widen_negatives(const proj *p, const ice_expr *e, ice_expr_op op) {
    int64_t *v = arena_alloc(p->a, (size_t)(2 * e->nlits + 1) * sizeof *v);
    int32_t n = 0;
    bool any = false;
    for (int32_t i = 0; i < e->nlits; i++) {
        v[n++] = e->lits[i].v.i64;
        if (e->lits[i].v.i64 < 0) {
            any = true;
            bool dup = false;
            for (int32_t k = 0; k < n; k++) dup = dup || v[k] == e->lits[i].v.i64 + 1;
            if (!dup) v[n++] = e->lits[i].v.i64 + 1;
        }
    }
    return any ? int_pred(p, op, v, n) : NULL;
}

static ice_expr *fix_inclusive_time(const proj *p, ice_expr *e) {
    if (!e) return NULL;
    int64_t v = e->nlits ? e->lits[0].v.i64 : 0;
    switch (e->op) {
    case ICE_EX_LT:
    case ICE_EX_LE:
        if (v < 0) {
            int64_t w = v + 1;
            return int_pred(p, e->op, &w, 1);
        }
        return e;
    case ICE_EX_EQ:
    case ICE_EX_IN: {
        ice_expr *f = widen_negatives(p, e, ICE_EX_IN);
        return f ? f : e;
    }
    case ICE_EX_NE:
    case ICE_EX_NOT_IN: return NULL;
    default: return e;
    }
}

static ice_expr *fix_strict_time(const proj *p, ice_expr *e) {
    if (!e) return NULL;
    int64_t v = e->nlits ? e->lits[0].v.i64 : 0;
    switch (e->op) {
    case ICE_EX_LT:
    case ICE_EX_LE: return e;
    case ICE_EX_GT:
    case ICE_EX_GE:
        if (v <= 0) {
            int64_t w = v + 1;
            return int_pred(p, e->op, &w, 1);
        }
        return e;
    case ICE_EX_NE:
    case ICE_EX_NOT_IN: {
        ice_expr *f = widen_negatives(p, e, ICE_EX_NOT_IN);
        return f ? f : e;
    }
    default: return NULL;
    }
}

/* ---- one predicate through one partition field ---- */

static bool is_time(ice_transform_kind k) {
    return k == ICE_TR_YEAR || k == ICE_TR_MONTH || k == ICE_TR_DAY || k == ICE_TR_HOUR;
}

static ice_expr *project_pred(const proj *p, const ice_expr *pred, bool strict) {
    const ice_transform *t = &p->pf->transform;
    if (t->kind == ICE_TR_VOID || t->kind == ICE_TR_UNKNOWN) return NULL;
    if (t->kind == ICE_TR_IDENTITY) {
        ice_expr *e = ppred(p, pred->op, pred->nlits);
        if (pred->nlits) memcpy(e->lits, pred->lits, (size_t)pred->nlits * sizeof *e->lits);
        return e;
    }
    if (ice_expr_is_unary(pred->op)) return ppred(p, pred->op, 0);
    ice_expr_op set_op = strict ? ICE_EX_NOT_IN : ICE_EX_IN;
    if (ice_expr_is_set(pred->op)) {
        if (pred->op != set_op) return NULL;
        ice_expr *e = with_set(p, pred);
        if (!is_time(t->kind)) return e;
        return strict ? fix_strict_time(p, e) : fix_inclusive_time(p, e);
    }
    fmt_type src = pred->field->type;
    switch (t->kind) {
    case ICE_TR_BUCKET:
        if (pred->op == (strict ? ICE_EX_NE : ICE_EX_EQ)) return with_lit(p, pred->op, &pred->lits[0]);
        return NULL;
    case ICE_TR_TRUNCATE:
        if (src == FMT_STRING && (pred->op == ICE_EX_STARTS_WITH || pred->op == ICE_EX_NOT_STARTS_WITH))
            return truncate_prefix(p, pred, strict);
        if (src == FMT_STRING || src == FMT_BINARY) return truncate_array(p, pred, strict);
        return strict ? truncate_number_strict(p, pred) : truncate_number(p, pred);
    default: { /* year, month, day, hour */
        ice_expr *e = strict ? truncate_number_strict(p, pred) : truncate_number(p, pred);
        if (src == FMT_DATE && t->kind == ICE_TR_DAY) return e; /* Java's Dates.DAY has no correction */
        return strict ? fix_strict_time(p, e) : fix_inclusive_time(p, e);
    }
    }
}

/* ---- whole expressions ---- */

typedef struct projector {
    const ice_partition_spec *spec;
    const fmt_schema_t *schema;
    arena_t *a;
} projector;

/* The projection context of partition field pf when it is on pred's column. */
static bool field_of(const projector *pj, const ice_partition_field *pf, const ice_expr *pred, proj *out) {
    if (pf->source_id != pred->field_id || !pred->field) return false;
    fmt_field_t *rt = arena_zalloc(pj->a, sizeof *rt);
    if (!ice_transform_result_type(&pf->transform, pred->field, rt, NULL)) return false;
    rt->id = pf->field_id;
    rt->name = pf->name;
    *out = (proj){.pf = pf, .rt = rt, .a = pj->a};
    return true;
}

/* The projection of one predicate: ANDed (inclusive) or ORed (strict)
 * over the partition fields of its column. */
static ice_expr *project_one(const projector *pj, const ice_expr *pred, bool strict) {
    ice_expr *result = ice_expr_const(pj->a, !strict);
    for (int32_t i = 0; i < pj->spec->nfields; i++) {
        proj p;
        if (!field_of(pj, &pj->spec->fields[i], pred, &p)) continue;
        ice_expr *e = project_pred(&p, pred, strict);
        if (!e) continue;
        result = strict ? ice_expr_or(pj->a, result, e) : ice_expr_and(pj->a, result, e);
    }
    return result;
}

static ice_expr *project_rec(const projector *pj, const ice_expr *e, bool strict) {
    switch (e->op) {
    case ICE_EX_TRUE:
    case ICE_EX_FALSE: return ice_expr_const(pj->a, e->op == ICE_EX_TRUE);
    case ICE_EX_AND: return ice_expr_and(pj->a, project_rec(pj, e->left, strict), project_rec(pj, e->right, strict));
    case ICE_EX_OR: return ice_expr_or(pj->a, project_rec(pj, e->left, strict), project_rec(pj, e->right, strict));
    case ICE_EX_NOT:
        /* bound expressions carry no NOT; an unbound one projects to nothing */
        return ice_expr_const(pj->a, !strict);
    default: return project_one(pj, e, strict);
    }
}

ice_expr *ice_expr_project_inclusive(const ice_expr *e, const ice_partition_spec *spec, const fmt_schema_t *schema,
                                     arena_t *a) {
    projector pj = {.spec = spec, .schema = schema, .a = a};
    return project_rec(&pj, e, false);
}

ice_expr *ice_expr_project_strict(const ice_expr *e, const ice_partition_spec *spec, const fmt_schema_t *schema,
                                  arena_t *a) {
    projector pj = {.spec = spec, .schema = schema, .a = a};
    return project_rec(&pj, e, true);
}

/* ---- residuals ---- */

static ice_expr *residual_pred(const projector *pj, const ice_expr *pred, const ice_value *tuple) {
    for (int32_t i = 0; i < pj->spec->nfields; i++) {
        proj p;
        if (!field_of(pj, &pj->spec->fields[i], pred, &p)) continue;
        ice_expr *s = project_pred(&p, pred, true);
        if (s && ice_expr_eval_partition(s, pj->spec, tuple)) return ice_expr_const(pj->a, true);
        ice_expr *in = project_pred(&p, pred, false);
        if (in && !ice_expr_eval_partition(in, pj->spec, tuple)) return ice_expr_const(pj->a, false);
    }
    ice_expr *copy = ice_expr_node(pj->a, pred->op);
    *copy = *pred;
    return copy;
}

static ice_expr *residual_rec(const projector *pj, const ice_expr *e, const ice_value *tuple) {
    switch (e->op) {
    case ICE_EX_TRUE:
    case ICE_EX_FALSE: return ice_expr_const(pj->a, e->op == ICE_EX_TRUE);
    case ICE_EX_AND: return ice_expr_and(pj->a, residual_rec(pj, e->left, tuple), residual_rec(pj, e->right, tuple));
    case ICE_EX_OR: return ice_expr_or(pj->a, residual_rec(pj, e->left, tuple), residual_rec(pj, e->right, tuple));
    case ICE_EX_NOT: {
        ice_expr *n = ice_expr_node(pj->a, ICE_EX_NOT);
        n->left = residual_rec(pj, e->left, tuple);
        if (n->left->op == ICE_EX_TRUE || n->left->op == ICE_EX_FALSE)
            return ice_expr_const(pj->a, n->left->op == ICE_EX_FALSE);
        return n;
    }
    default: return residual_pred(pj, e, tuple);
    }
}

ice_expr *ice_expr_residual(const ice_expr *bound, const ice_partition_spec *spec, const fmt_schema_t *schema,
                            const ice_value *tuple, arena_t *a) {
    projector pj = {.spec = spec, .schema = schema, .a = a};
    return residual_rec(&pj, bound, tuple);
}
