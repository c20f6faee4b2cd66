/*
 * dl.c: dlopen on first use (see dl.h).
 */
#include "base/dl.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void dl_fail(dl_lib *lib, const char *what) {
    floe_err_set(&lib->err, FLOE_EINTERNAL,
                 "%s: %s; floe opens it for %s: install the Debian package %s (scripts/deps.sh does)", lib->soname,
                 what, lib->purpose, lib->package);
    lib->state = -1;
}

bool dl_load(dl_lib *lib, void *fns, floe_err *err, ...) {
    pthread_mutex_lock(&lib->mu);
    if (lib->state == 0) {
        void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *e = dlerror();
            dl_fail(lib, e ? e : "cannot be opened");
        } else {
            /* Function and object pointers have one size on every platform
             * with dlsym (POSIX requires it), so the struct is an array. */
            void **slot = fns;
            va_list ap;
            va_start(ap, err);
            lib->state = 1;
            for (const char *name; (name = va_arg(ap, const char *)) != NULL; slot++) {
                void *p = dlsym(h, name);
                if (!p) {
                    char what[160];
                    snprintf(what, sizeof what, "has no function %s (too old a version?)", name);
                    dl_fail(lib, what);
                    break;
                }
                *slot = p;
            }
            va_end(ap);
            /* h stays open for the life of the process, as a linked library would. */
        }
    }
    bool ok = lib->state == 1;
    if (!ok && err) *err = lib->err;
    pthread_mutex_unlock(&lib->mu);
    return ok;
}
