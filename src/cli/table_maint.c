/*
 * table_maint.c: placeholder, being built on its own branch.
 */
#include <stdio.h>

#include "cli/table_int.h"

int tcli_maint(env *e, targs *ta, arena_t *a, const char *cmd) {
    (void)e;
    (void)ta;
    (void)a;
    fprintf(stderr, "floe table %s: not built yet\n", cmd);
    return 2;
}
