/*
 * expr_int.h: what the expression files (expr_parse.c, expr_project.c,
 * expr_eval.c) share: node constructors that fold constants, the negation
 * of an operator, and the value-level predicate test every evaluator uses.
 *
 * Semantics (bound expressions have no NOT: binding pushes it down to the
 * predicates, as Java's RewriteNot does):
 *   - a comparison, in, not in, starts_with or not starts_with of a null
 *     value is unknown, so it does not match (SQL);
 *   - is null / is not null / is nan / is not nan are never unknown; a null
 *     is not NaN;
 *   - comparisons with NaN are false, != NaN is true (IEEE); literals are
 *     never NaN (binding asks for "is nan" instead).
 */
#ifndef FLOE_ICEBERG_EXPR_INT_H
#define FLOE_ICEBERG_EXPR_INT_H

#include "iceberg/iceberg.h"

ice_expr *ice_expr_node(arena_t *a, ice_expr_op op);
ice_expr *ice_expr_const(arena_t *a, bool v);
/* and/or that fold true and false operands */
ice_expr *ice_expr_and(arena_t *a, ice_expr *l, ice_expr *r);
ice_expr *ice_expr_or(arena_t *a, ice_expr *l, ice_expr *r);

static inline bool ice_expr_is_pred(ice_expr_op op) { return op >= ICE_EX_EQ; }
static inline bool ice_expr_is_unary(ice_expr_op op) {
    return op == ICE_EX_IS_NULL || op == ICE_EX_NOT_NULL || op == ICE_EX_IS_NAN || op == ICE_EX_NOT_NAN;
}
static inline bool ice_expr_is_set(ice_expr_op op) { return op == ICE_EX_IN || op == ICE_EX_NOT_IN; }

/* The operator that holds exactly when op does not (for known values). */
ice_expr_op ice_expr_negate_op(ice_expr_op op);

/* Whether a predicate holds for one value (of the predicate's field type). */
bool ice_pred_test(const ice_expr *pred, const ice_value *v);

#endif
