/*
 * table_evolve.c: placeholder, being built on its own branch.
 */
#include <stdio.h>

#include "cli/table_int.h"

int tcli_evolve(env *e, targs *ta, arena_t *a) {
    (void)e;
    (void)ta;
    (void)a;
    fprintf(stderr, "floe table %s: not built yet\n", "evolve");
    return 2;
}
