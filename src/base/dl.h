/*
 * dl.h: system libraries opened on first use rather than at start-up.
 *
 * Every library a program links is mapped, relocated and initialised when
 * it starts, whether it is used or not; libcurl and libpq each bring a
 * tree (Kerberos, LDAP, SSH, RTMP, ...) that costs every floe process
 * about 2 MB of resident memory. Most processes never make an outbound
 * HTTP call or talk to PostgreSQL, so those two are opened with dlopen the
 * first time they are needed, as systemd does with its optional libraries.
 *
 * A user lists the functions it calls once, with an X-macro, and gets a
 * struct of pointers of the same types plus a loader:
 *
 *     #define ZLIB_SYMS(X) X(zlibVersion) X(crc32)
 *     DL_DECLARE(zlib_fns, ZLIB_SYMS)            // struct zlib_fns {...}
 *     static struct zlib_fns zf;
 *     static dl_lib zlib = DL_LIB("libz.so.1", "zlib1g", "checksums");
 *     ... dl_load(&zlib, &zf, ZLIB_SYMS(DL_NAME) NULL) ...
 *
 * dl_load is safe to call from many threads and does the work once; a
 * library or symbol that is missing is an error naming the library, the
 * Debian package that provides it and what floe needed it for.
 */
#ifndef FLOE_BASE_DL_H
#define FLOE_BASE_DL_H

#include <pthread.h>
#include <stdbool.h>

#include "base/err.h"

typedef struct dl_lib {
    const char *soname;  /* "libcurl.so.4" */
    const char *package; /* the Debian package: "libcurl4" */
    const char *purpose; /* "HTTP requests" */
    pthread_mutex_t mu;
    int state; /* 0 not tried, 1 loaded, -1 failed (err holds why) */
    floe_err err;
} dl_lib;

#define DL_LIB(so, pkg, why)                                                                                           \
    {                                                                                                                  \
        (so), (pkg), (why), PTHREAD_MUTEX_INITIALIZER, 0, { 0, "" }                                                    \
    }

/* One struct member per function: a pointer of the function's own type. */
#define DL_FIELD(name) __typeof__(name) *name;
#define DL_DECLARE(tag, SYMS)                                                                                          \
    struct tag {                                                                                                       \
        SYMS(DL_FIELD)                                                                                                 \
    }
/* The name of each function, for dl_load's list. */
#define DL_NAME(name) #name,

/* Opens lib (once) and fills fns, a struct of function pointers laid out in
 * the order of the NULL-terminated names that follow. Later calls return
 * the first call's answer at the cost of a mutex. */
bool dl_load(dl_lib *lib, void *fns, floe_err *err, ...);

#endif
