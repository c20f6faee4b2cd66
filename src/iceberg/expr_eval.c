/*
 * expr_eval.c: bound filters evaluated against one value, a partition
 * tuple, a data file's column stats (Java's InclusiveMetricsEvaluator and
 * StrictMetricsEvaluator), a manifest's partition field summaries (Java's
 * ManifestEvaluator) and batches of rows; and the conjuncts the
 * Parquet reader can prune row groups and pages with.
 *
 * The semantics are in expr_int.h. The metrics evaluators follow Java,
 * except that they use the same SQL null semantics as the rows (a column
 * holding only nulls matches no comparison, != included; a strict "all
 * rows match" needs a known null count of zero for comparisons).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/expr_int.h"
#include "iceberg/value_int.h"

#define IN_PREDICATE_LIMIT 200 /* Java's: larger sets are not checked against bounds */

/* ---- one value ---- */

static bool is_real(fmt_type t) { return t == FMT_FLOAT || t == FMT_DOUBLE; }

static bool has_prefix(const ice_value *v, const ice_value *prefix) {
    return v->len >= prefix->len && (prefix->len == 0 || memcmp(v->bytes, prefix->bytes, prefix->len) == 0);
}

static bool in_set(const ice_expr *pred, const ice_value *v) {
    for (int32_t i = 0; i < pred->nlits; i++)
        if (ice_value_compare(v, &pred->lits[i]) == 0) return true;
    return false;
}

bool ice_pred_test(const ice_expr *pred, const ice_value *v) {
    ice_expr_op op = pred->op;
    if (op == ICE_EX_TRUE) return true;
    if (op == ICE_EX_FALSE) return false;
    if (v->is_null) return op == ICE_EX_IS_NULL || op == ICE_EX_NOT_NAN;
    bool nan = is_real(v->type) && isnan(v->v.f64);
    switch (op) {
    case ICE_EX_IS_NULL: return false;
    case ICE_EX_NOT_NULL: return true;
    case ICE_EX_IS_NAN: return nan;
    case ICE_EX_NOT_NAN: return !nan;
    default: break;
    }
    if (nan) return op == ICE_EX_NE || op == ICE_EX_NOT_IN;
    if (pred->nlits < 1 && op != ICE_EX_IN && op != ICE_EX_NOT_IN) return false;
    switch (op) {
    case ICE_EX_EQ: return ice_value_compare(v, &pred->lits[0]) == 0;
    case ICE_EX_NE: return ice_value_compare(v, &pred->lits[0]) != 0;
    case ICE_EX_LT: return ice_value_compare(v, &pred->lits[0]) < 0;
    case ICE_EX_LE: return ice_value_compare(v, &pred->lits[0]) <= 0;
    case ICE_EX_GT: return ice_value_compare(v, &pred->lits[0]) > 0;
    case ICE_EX_GE: return ice_value_compare(v, &pred->lits[0]) >= 0;
    case ICE_EX_IN: return in_set(pred, v);
    case ICE_EX_NOT_IN: return !in_set(pred, v);
    case ICE_EX_STARTS_WITH: return has_prefix(v, &pred->lits[0]);
    case ICE_EX_NOT_STARTS_WITH: return !has_prefix(v, &pred->lits[0]);
    default: return false;
    }
}

/* ---- partition tuples ---- */

bool ice_expr_eval_partition(const ice_expr *e, const ice_partition_spec *spec, const ice_value *tuple) {
    switch (e->op) {
    case ICE_EX_TRUE: return true;
    case ICE_EX_FALSE: return false;
    case ICE_EX_AND:
        return ice_expr_eval_partition(e->left, spec, tuple) && ice_expr_eval_partition(e->right, spec, tuple);
    case ICE_EX_OR:
        return ice_expr_eval_partition(e->left, spec, tuple) || ice_expr_eval_partition(e->right, spec, tuple);
    case ICE_EX_NOT: return !ice_expr_eval_partition(e->left, spec, tuple);
    default: break;
    }
    for (int32_t i = 0; i < spec->nfields; i++)
        if (spec->fields[i].field_id == e->field_id) return ice_pred_test(e, &tuple[i]);
    return true; /* not a field of this spec: cannot rule anything out */
}

/* ---- column stats ---- */

typedef struct file_stats {
    const ice_col_stats *s; /* NULL: none for the field */
    ice_value lower, upper;
    bool has_lower, has_upper;
} file_stats;

static void stats_of(const ice_data_file *f, const ice_expr *pred, arena_t *a, file_stats *out) {
    memset(out, 0, sizeof *out);
    for (int32_t i = 0; i < f->nstats; i++)
        if (f->stats[i].field_id == pred->field_id) out->s = &f->stats[i];
    if (!out->s || !pred->field) return;
    floe_err ignore;
    /* a bound that does not decode, or a NaN bound, is no bound */
    if (out->s->lower && ice_value_from_binary(pred->field, out->s->lower, out->s->lower_len, a, &out->lower, &ignore))
        out->has_lower = !(is_real(out->lower.type) && isnan(out->lower.v.f64));
    if (out->s->upper && ice_value_from_binary(pred->field, out->s->upper, out->s->upper_len, a, &out->upper, &ignore))
        out->has_upper = !(is_real(out->upper.type) && isnan(out->upper.v.f64));
}

static bool nulls_only(const file_stats *fs) {
    return fs->s && fs->s->value_count >= 0 && fs->s->null_count >= 0 && fs->s->value_count == fs->s->null_count;
}
static bool may_hold_null(const file_stats *fs) { return !fs->s || fs->s->null_count != 0; }
static bool nans_only(const file_stats *fs) {
    return fs->s && fs->s->nan_count >= 0 && fs->s->value_count >= 0 && fs->s->nan_count == fs->s->value_count;
}
static bool no_nans(const file_stats *fs) { return fs->s && fs->s->nan_count == 0; }

/* Compares the first min(len, prefix) bytes of a bound with the prefix. */
static int cmp_prefix(const ice_value *bound, const ice_value *prefix) {
    uint32_t n = bound->len < prefix->len ? bound->len : prefix->len;
    int c = n ? memcmp(bound->bytes, prefix->bytes, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return n < prefix->len ? -1 : 0; /* a shorter bound sorts before the prefix */
}

static bool might_pred(const ice_expr *p, const file_stats *fs) {
    const ice_value *lit = p->nlits ? &p->lits[0] : NULL;
    switch (p->op) {
    case ICE_EX_IS_NULL: return may_hold_null(fs);
    case ICE_EX_NOT_NULL: return !nulls_only(fs);
    case ICE_EX_IS_NAN: return !nulls_only(fs) && !no_nans(fs);
    case ICE_EX_NOT_NAN: return !nans_only(fs);
    case ICE_EX_NE:
    case ICE_EX_NOT_IN: return !nulls_only(fs);
    case ICE_EX_STARTS_WITH:
        if (nulls_only(fs)) return false;
        if (fs->has_lower && cmp_prefix(&fs->lower, lit) > 0) return false;
        if (fs->has_upper && cmp_prefix(&fs->upper, lit) < 0) return false;
        return true;
    case ICE_EX_NOT_STARTS_WITH:
        if (nulls_only(fs)) return false;
        if (may_hold_null(fs) || !fs->has_lower || !fs->has_upper) return true;
        /* every value starts with the prefix when both bounds do */
        return !(has_prefix(&fs->lower, lit) && has_prefix(&fs->upper, lit));
    default: break;
    }
    if (nulls_only(fs) || nans_only(fs)) return false;
    switch (p->op) {
    case ICE_EX_LT: return !fs->has_lower || ice_value_compare(&fs->lower, lit) < 0;
    case ICE_EX_LE: return !fs->has_lower || ice_value_compare(&fs->lower, lit) <= 0;
    case ICE_EX_GT: return !fs->has_upper || ice_value_compare(&fs->upper, lit) > 0;
    case ICE_EX_GE: return !fs->has_upper || ice_value_compare(&fs->upper, lit) >= 0;
    case ICE_EX_EQ:
        if (fs->has_lower && ice_value_compare(&fs->lower, lit) > 0) return false;
        if (fs->has_upper && ice_value_compare(&fs->upper, lit) < 0) return false;
        return true;
    case ICE_EX_IN: {
        if (p->nlits > IN_PREDICATE_LIMIT) return true;
        for (int32_t i = 0; i < p->nlits; i++) {
            if (fs->has_lower && ice_value_compare(&fs->lower, &p->lits[i]) > 0) continue;
            if (fs->has_upper && ice_value_compare(&fs->upper, &p->lits[i]) < 0) continue;
            return true;
        }
        return false;
    }
    default: return true;
    }
}

static bool all_pred(const ice_expr *p, const file_stats *fs) {
    const ice_col_stats *s = fs->s;
    const ice_value *lit = p->nlits ? &p->lits[0] : NULL;
    switch (p->op) {
    case ICE_EX_IS_NULL: return nulls_only(fs);
    case ICE_EX_NOT_NULL: return s && s->null_count == 0;
    case ICE_EX_IS_NAN: return nans_only(fs);
    case ICE_EX_NOT_NAN: return no_nans(fs) || nulls_only(fs);
    default: break;
    }
    /* every other predicate is unknown on a null */
    if (!s || s->null_count != 0) return false;
    bool nan_free = !is_real(p->field ? p->field->type : FMT_INT) || no_nans(fs);
    switch (p->op) {
    case ICE_EX_LT: return nan_free && fs->has_upper && ice_value_compare(&fs->upper, lit) < 0;
    case ICE_EX_LE: return nan_free && fs->has_upper && ice_value_compare(&fs->upper, lit) <= 0;
    case ICE_EX_GT: return nan_free && fs->has_lower && ice_value_compare(&fs->lower, lit) > 0;
    case ICE_EX_GE: return nan_free && fs->has_lower && ice_value_compare(&fs->lower, lit) >= 0;
    case ICE_EX_EQ:
        return nan_free && fs->has_lower && fs->has_upper && ice_value_compare(&fs->lower, lit) == 0 &&
               ice_value_compare(&fs->upper, lit) == 0;
    case ICE_EX_NE:
        return (fs->has_lower && ice_value_compare(&fs->lower, lit) > 0) ||
               (fs->has_upper && ice_value_compare(&fs->upper, lit) < 0);
    case ICE_EX_IN:
        return nan_free && fs->has_lower && fs->has_upper && ice_value_compare(&fs->lower, &fs->upper) == 0 &&
               in_set(p, &fs->lower);
    case ICE_EX_NOT_IN:
        for (int32_t i = 0; i < p->nlits; i++) {
            bool below = fs->has_lower && ice_value_compare(&fs->lower, &p->lits[i]) > 0;
            bool above = fs->has_upper && ice_value_compare(&fs->upper, &p->lits[i]) < 0;
            if (!below && !above) return false;
        }
        return true;
    case ICE_EX_STARTS_WITH:
        return fs->has_lower && fs->has_upper && has_prefix(&fs->lower, lit) && has_prefix(&fs->upper, lit);
    case ICE_EX_NOT_STARTS_WITH:
        return (fs->has_upper && cmp_prefix(&fs->upper, lit) < 0) || (fs->has_lower && cmp_prefix(&fs->lower, lit) > 0);
    default: return false;
    }
}

static bool eval_metrics(const ice_expr *e, const ice_data_file *f, bool strict, arena_t *a) {
    switch (e->op) {
    case ICE_EX_TRUE: return true;
    case ICE_EX_FALSE: return false;
    case ICE_EX_AND: return eval_metrics(e->left, f, strict, a) && eval_metrics(e->right, f, strict, a);
    case ICE_EX_OR: return eval_metrics(e->left, f, strict, a) || eval_metrics(e->right, f, strict, a);
    case ICE_EX_NOT: return !strict; /* bound expressions have no NOT: answer safely */
    default: break;
    }
    file_stats fs;
    stats_of(f, e, a, &fs);
    return strict ? all_pred(e, &fs) : might_pred(e, &fs);
}

bool ice_expr_might_match(const ice_expr *bound, const fmt_schema_t *schema, const ice_data_file *f) {
    (void)schema;
    if (f->record_count == 0) return false;
    if (f->record_count < 0) return true;
    arena_t a;
    arena_init(&a, 1024);
    bool r = eval_metrics(bound, f, false, &a);
    arena_free(&a);
    return r;
}

bool ice_expr_all_match(const ice_expr *bound, const fmt_schema_t *schema, const ice_data_file *f) {
    (void)schema;
    if (f->record_count <= 0) return true; /* as Java: an empty file holds no row that fails */
    arena_t a;
    arena_init(&a, 1024);
    bool r = eval_metrics(bound, f, true, &a);
    arena_free(&a);
    return r;
}

/* ---- manifest partition summaries ---- */

/* One predicate against the summary of its partition field, as Java's
 * ManifestEvaluator: a missing lower bound means the field holds only
 * nulls and NaNs. */
static bool might_summary(const ice_expr *p, const ice_field_summary *s, arena_t *a) {
    ice_value lower = {0}, upper = {0};
    floe_err ignore;
    bool has_lower =
        s->lower && p->field && ice_value_from_binary(p->field, s->lower, s->lower_len, a, &lower, &ignore);
    bool has_upper =
        s->upper && p->field && ice_value_from_binary(p->field, s->upper, s->upper_len, a, &upper, &ignore);
    bool real = p->field && is_real(p->field->type);
    bool all_null = s->contains_null && !s->lower && (!real || s->contains_nan == 0);
    const ice_value *lit = p->nlits ? &p->lits[0] : NULL;
    switch (p->op) {
    case ICE_EX_IS_NULL: return s->contains_null;
    case ICE_EX_NOT_NULL: return !all_null;
    case ICE_EX_IS_NAN: return s->contains_nan != 0 && !all_null;
    case ICE_EX_NOT_NAN: return !(s->contains_nan == 1 && !s->contains_null && !s->lower && !s->upper);
    case ICE_EX_NE:
    case ICE_EX_NOT_IN: return true;
    case ICE_EX_NOT_STARTS_WITH:
        if (s->contains_null || !has_lower || !has_upper) return true;
        return !(has_prefix(&lower, lit) && has_prefix(&upper, lit));
    default: break;
    }
    if (!s->lower) return false;                       /* only nulls and NaNs: no comparison holds */
    if (!has_lower || !has_upper || !lit) return true; /* a bound that does not decode rules nothing out */
    switch (p->op) {
    case ICE_EX_LT: return ice_value_compare(&lower, lit) < 0;
    case ICE_EX_LE: return ice_value_compare(&lower, lit) <= 0;
    case ICE_EX_GT: return ice_value_compare(&upper, lit) > 0;
    case ICE_EX_GE: return ice_value_compare(&upper, lit) >= 0;
    case ICE_EX_EQ: return ice_value_compare(&lower, lit) <= 0 && ice_value_compare(&upper, lit) >= 0;
    case ICE_EX_IN:
        if (p->nlits > IN_PREDICATE_LIMIT) return true;
        for (int32_t i = 0; i < p->nlits; i++)
            if (ice_value_compare(&lower, &p->lits[i]) <= 0 && ice_value_compare(&upper, &p->lits[i]) >= 0) return true;
        return false;
    case ICE_EX_STARTS_WITH: return cmp_prefix(&lower, lit) <= 0 && cmp_prefix(&upper, lit) >= 0;
    default: return true;
    }
}

static bool eval_summaries(const ice_expr *e, const ice_partition_spec *spec, const ice_field_summary *sums,
                           int32_t nsums, arena_t *a) {
    switch (e->op) {
    case ICE_EX_TRUE: return true;
    case ICE_EX_FALSE: return false;
    case ICE_EX_AND:
        return eval_summaries(e->left, spec, sums, nsums, a) && eval_summaries(e->right, spec, sums, nsums, a);
    case ICE_EX_OR:
        return eval_summaries(e->left, spec, sums, nsums, a) || eval_summaries(e->right, spec, sums, nsums, a);
    case ICE_EX_NOT: return true; /* projected expressions carry no NOT: answer safely */
    default: break;
    }
    for (int32_t i = 0; i < spec->nfields && i < nsums; i++)
        if (spec->fields[i].field_id == e->field_id) return might_summary(e, &sums[i], a);
    return true; /* not a field with a summary: cannot rule anything out */
}

bool ice_expr_might_match_manifest(const ice_expr *projected, const ice_partition_spec *spec,
                                   const ice_manifest_file *mf) {
    if (!mf->partitions || mf->npartitions == 0) return true;
    arena_t a;
    arena_init(&a, 1024);
    bool r = eval_summaries(projected, spec, mf->partitions, mf->npartitions, &a);
    arena_free(&a);
    return r;
}

/* ---- batches ---- */

/* The vector of field id under the batch, through structs; parents gets
 * the struct vectors on the way (a null parent makes the field null). */
static const fmt_vec_t *find_vec(const fmt_vec_t *cols, uint32_t ncols, int32_t id, const fmt_vec_t **parents,
                                 int *nparents) {
    for (uint32_t i = 0; i < ncols; i++) {
        const fmt_vec_t *v = &cols[i];
        if (!v->field) continue;
        if (v->field->id == id) return v;
        if (v->field->type == FMT_STRUCT && *nparents < 16) {
            parents[(*nparents)++] = v;
            const fmt_vec_t *r = find_vec(v->children, v->nchildren, id, parents, nparents);
            if (r) return r;
            (*nparents)--;
        }
    }
    return NULL;
}

static void set_bits_from(uint8_t *bits, const uint8_t *res, uint32_t n) {
    memset(bits, 0, (n + 7) / 8);
    for (uint32_t i = 0; i < n; i++)
        if (res[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Integer comparisons straight from the values (no dictionary, one literal). */
static bool fast_ints(const ice_expr *p, const fmt_vec_t *v, uint32_t n, uint8_t *res) {
    if (v->dict || p->nlits != 1 || !ice_type_is_integral(v->field->type)) return false;
    int w = fmt_type_width(v->field);
    int64_t lit = p->lits[0].v.i64;
    ice_expr_op op = p->op;
    if (op != ICE_EX_EQ && op != ICE_EX_NE && op != ICE_EX_LT && op != ICE_EX_LE && op != ICE_EX_GT && op != ICE_EX_GE)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        int64_t x = w == 4 ? ((const int32_t *)v->values)[i] : ((const int64_t *)v->values)[i];
        bool r;
        switch (op) {
        case ICE_EX_EQ: r = x == lit; break;
        case ICE_EX_NE: r = x != lit; break;
        case ICE_EX_LT: r = x < lit; break;
        case ICE_EX_LE: r = x <= lit; break;
        case ICE_EX_GT: r = x > lit; break;
        default: r = x >= lit; break;
        }
        res[i] = r;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!fmt_vec_valid(v, i)) res[i] = 0; /* every fast op is unknown on null */
    return true;
}

static void eval_pred_rows(const ice_expr *p, const fmt_batch_t *b, uint8_t *res) {
    uint32_t n = b->nrows;
    const fmt_vec_t *parents[16];
    int np = 0;
    const fmt_vec_t *v = find_vec(b->cols, b->ncols, p->field_id, parents, &np);
    ice_value null_value = ice_value_null(p->field ? p->field->type : FMT_INT);
    if (!v) {
        /* a column the batch lacks reads as null */
        memset(res, ice_pred_test(p, &null_value), n);
        return;
    }
    if (!fast_ints(p, v, n, res)) {
        if (v->dict) {
            /* test each dictionary entry once */
            const fmt_vec_t *d = v->dict;
            uint8_t *dres = malloc(d->len ? d->len : 1);
            if (!dres) abort();
            for (uint32_t k = 0; k < d->len; k++) {
                ice_value x;
                ice_value_from_vec(d, k, &x);
                dres[k] = ice_pred_test(p, &x);
            }
            const uint32_t *idx = v->values;
            bool null_result = ice_pred_test(p, &null_value);
            for (uint32_t i = 0; i < n; i++) res[i] = fmt_vec_valid(v, i) ? dres[idx[i]] : null_result;
            free(dres);
        } else {
            for (uint32_t i = 0; i < n; i++) {
                ice_value x;
                ice_value_from_vec(v, i, &x);
                res[i] = ice_pred_test(p, &x);
            }
        }
    }
    if (np) {
        bool null_result = ice_pred_test(p, &null_value);
        for (uint32_t i = 0; i < n; i++)
            for (int k = 0; k < np; k++)
                if (!fmt_vec_valid(parents[k], i)) res[i] = null_result;
    }
}

static void eval_rows(const ice_expr *e, const fmt_batch_t *b, uint8_t *res) {
    uint32_t n = b->nrows;
    switch (e->op) {
    case ICE_EX_TRUE:
    case ICE_EX_FALSE: memset(res, e->op == ICE_EX_TRUE, n); return;
    case ICE_EX_AND:
    case ICE_EX_OR:
    case ICE_EX_NOT: {
        eval_rows(e->left, b, res);
        if (e->op == ICE_EX_NOT) {
            for (uint32_t i = 0; i < n; i++) res[i] = !res[i];
            return;
        }
        uint8_t *r = malloc(n ? n : 1);
        if (!r) abort();
        eval_rows(e->right, b, r);
        if (e->op == ICE_EX_AND)
            for (uint32_t i = 0; i < n; i++) res[i] &= r[i];
        else
            for (uint32_t i = 0; i < n; i++) res[i] |= r[i];
        free(r);
        return;
    }
    default: eval_pred_rows(e, b, res); return;
    }
}

uint32_t ice_expr_eval_batch(const ice_expr *bound, const fmt_schema_t *schema, const fmt_batch_t *b, uint8_t *sel) {
    (void)schema;
    uint32_t n = b->nrows;
    if (!n) return 0;
    uint8_t *res = malloc(n);
    if (!res) abort();
    eval_rows(bound, b, res);
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++) count += res[i];
    set_bits_from(sel, res, n);
    free(res);
    return count;
}

/* ---- Parquet pruning ---- */

static bool pq_constant(const ice_value *v, pq_pred *out) {
    switch (v->type) {
    case FMT_INT:
    case FMT_LONG:
    case FMT_DATE:
    case FMT_TIME:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: out->i64 = v->v.i64; return true;
    case FMT_DECIMAL:
        /* stored as int32/int64 unscaled up to 18 digits; wider ones are bytes */
        if (v->precision > 18) return false;
        out->i64 = (int64_t)v->v.dec;
        return true;
    case FMT_FLOAT:
    case FMT_DOUBLE: out->f64 = v->v.f64; return true;
    case FMT_STRING:
    case FMT_BINARY:
        out->bytes = v->bytes;
        out->nbytes = v->len;
        return true;
    default: return false;
    }
}

static void collect(const ice_expr *e, arena_t *a, pq_pred **v, size_t *n, size_t *cap) {
    if (e->op == ICE_EX_AND) {
        collect(e->left, a, v, n, cap);
        collect(e->right, a, v, n, cap);
        return;
    }
    pq_pred p = {.field_id = e->field_id};
    switch (e->op) {
    case ICE_EX_EQ: p.op = PQ_PRED_EQ; break;
    case ICE_EX_LT: p.op = PQ_PRED_LT; break;
    case ICE_EX_LE: p.op = PQ_PRED_LE; break;
    case ICE_EX_GT: p.op = PQ_PRED_GT; break;
    case ICE_EX_GE: p.op = PQ_PRED_GE; break;
    case ICE_EX_IS_NULL: p.op = PQ_PRED_IS_NULL; break;
    case ICE_EX_NOT_NULL: p.op = PQ_PRED_NOT_NULL; break;
    default: return;
    }
    if (p.op != PQ_PRED_IS_NULL && p.op != PQ_PRED_NOT_NULL && (e->nlits != 1 || !pq_constant(&e->lits[0], &p))) return;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        pq_pred *more = arena_alloc(a, c * sizeof *more);
        if (*n) memcpy(more, *v, *n * sizeof *more);
        *v = more;
        *cap = c;
    }
    (*v)[(*n)++] = p;
}

size_t ice_expr_to_pq_preds(const ice_expr *bound, arena_t *a, pq_pred **out) {
    size_t n = 0, cap = 0;
    *out = NULL;
    collect(bound, a, out, &n, &cap);
    return n;
}
