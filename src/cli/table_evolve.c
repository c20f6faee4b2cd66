/*
 * table_evolve.c: `floe table evolve NS.T CHANGE ...`, schema and
 * partition evolution from the command line (ice_table_evolve does the
 * work). One line on stderr says what changed and the schema and spec ids
 * after it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/table_int.h"

static const char evolve_usage[] =
    "usage: floe table evolve NS.T CHANGE\n"
    "  add-column NAME TYPE          optional column; NAME may be parent.child; TYPE as in create\n"
    "  drop-column NAME\n"
    "  rename-column OLD NEW         NEW is the field's own name\n"
    "  widen NAME TYPE               int to long, float to double, decimal(P,S) to decimal(P2,S), P2 > P\n"
    "  make-optional NAME\n"
    "  move-column NAME first | after OTHER | before OTHER\n"
    "  add-partition \"hour(ts)\"      also \"bucket(8, id)\", \"truncate(4, sym) as s4\", ...\n"
    "  drop-partition NAME\n";

static int usage(const char *why) {
    if (why) fprintf(stderr, "floe table evolve: %s\n", why);
    fputs(evolve_usage, stderr);
    return 2;
}

/* Fills op from the positional arguments; NULL, or why they are wrong. */
static const char *parse_change(const targs *ta, ice_evolve_op *op) {
    const char *c = ta->pos[0];
    int n = ta->npos;
    struct {
        const char *name;
        ice_evolve_kind kind;
        int nargs;
    } kinds[] = {
        {"add-column", ICE_EVOLVE_ADD_COLUMN, 2},         {"drop-column", ICE_EVOLVE_DROP_COLUMN, 1},
        {"rename-column", ICE_EVOLVE_RENAME_COLUMN, 2},   {"widen", ICE_EVOLVE_WIDEN, 2},
        {"make-optional", ICE_EVOLVE_MAKE_OPTIONAL, 1},   {"add-partition", ICE_EVOLVE_ADD_PARTITION, 1},
        {"drop-partition", ICE_EVOLVE_DROP_PARTITION, 1},
    };
    memset(op, 0, sizeof *op);
    if (!c)
        return "which change? (add-column, drop-column, rename-column, widen, make-optional, move-column, "
               "add-partition, drop-partition)";
    if (!strcmp(c, "move-column")) {
        if (n < 3) return "move-column needs NAME and first, after OTHER or before OTHER";
        op->column = ta->pos[1];
        const char *where = ta->pos[2];
        if (!strcmp(where, "first") && n == 3) {
            op->kind = ICE_EVOLVE_MOVE_FIRST;
            return NULL;
        }
        if ((!strcmp(where, "after") || !strcmp(where, "before")) && n == 4) {
            op->kind = !strcmp(where, "after") ? ICE_EVOLVE_MOVE_AFTER : ICE_EVOLVE_MOVE_BEFORE;
            op->arg = ta->pos[3];
            return NULL;
        }
        return "move-column NAME takes first, after OTHER or before OTHER";
    }
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (strcmp(c, kinds[i].name)) continue;
        if (n != 1 + kinds[i].nargs)
            return kinds[i].nargs == 1 ? "this change takes one argument" : "this change takes two arguments";
        op->kind = kinds[i].kind;
        op->column = ta->pos[1];
        op->arg = kinds[i].nargs == 2 ? ta->pos[2] : NULL;
        return NULL;
    }
    return "unknown change";
}

static const char *what_changed(const ice_evolve_op *op, arena_t *a) {
    switch (op->kind) {
    case ICE_EVOLVE_ADD_COLUMN: return arena_sprintf(a, "added column %s %s", op->column, op->arg);
    case ICE_EVOLVE_DROP_COLUMN: return arena_sprintf(a, "dropped column %s", op->column);
    case ICE_EVOLVE_RENAME_COLUMN: return arena_sprintf(a, "renamed column %s to %s", op->column, op->arg);
    case ICE_EVOLVE_WIDEN: return arena_sprintf(a, "widened column %s to %s", op->column, op->arg);
    case ICE_EVOLVE_MAKE_OPTIONAL: return arena_sprintf(a, "made column %s optional", op->column);
    case ICE_EVOLVE_MOVE_FIRST: return arena_sprintf(a, "moved column %s first", op->column);
    case ICE_EVOLVE_MOVE_AFTER: return arena_sprintf(a, "moved column %s after %s", op->column, op->arg);
    case ICE_EVOLVE_MOVE_BEFORE: return arena_sprintf(a, "moved column %s before %s", op->column, op->arg);
    case ICE_EVOLVE_ADD_PARTITION: return arena_sprintf(a, "added partition field %s", op->column);
    case ICE_EVOLVE_DROP_PARTITION: return arena_sprintf(a, "dropped partition field %s", op->column);
    }
    return "changed";
}

int tcli_evolve(env *e, targs *ta, arena_t *a) {
    ice_evolve_op op;
    const char *why = parse_change(ta, &op);
    if (why) return usage(why);
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table evolve", &err);
    ice_evolve_result res;
    if (!ice_table_evolve(&t, &op, 1, a, &res, &err)) return tcli_fail("table evolve", &err);
    bool spec = op.kind == ICE_EVOLVE_ADD_PARTITION || op.kind == ICE_EVOLVE_DROP_PARTITION;
    if (!res.schema_changed && !res.spec_changed)
        fprintf(stderr, "floe table evolve: %s.%s unchanged (already so); schema %d, spec %d\n", t.ns, t.name,
                res.schema_id, res.spec_id);
    else
        fprintf(stderr, "floe table evolve: %s.%s: %s (%s id %d); schema %d%s, spec %d%s\n", t.ns, t.name,
                what_changed(&op, a), spec ? "partition field" : "field", res.field_id, res.schema_id,
                res.schema_changed ? " (new current)" : "", res.spec_id, res.spec_changed ? " (new default)" : "");
    return 0;
}
