/*
 * err.c: floe_err construction and the errno mapping.
 */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool floe_err_set(floe_err *err, floe_code code, const char *fmt, ...) {
    if (!err) return false;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return false;
}

floe_code floe_code_from_errno(int errnum) {
    switch (errnum) {
    case ENOENT: return FLOE_ENOENT;
    case EEXIST: return FLOE_EEXIST;
    case ENOSPC:
    case EDQUOT: return FLOE_ENOSPC;
    case ENOMEM: return FLOE_ENOMEM;
    case EINVAL:
    case ENAMETOOLONG: return FLOE_EINVAL;
    case EACCES:
    case EPERM: return FLOE_EAUTH;
    default: return FLOE_EIO;
    }
}

bool floe_err_errno(floe_err *err, int errnum, const char *fmt, ...) {
    if (!err) return false;
    char head[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    err->code = floe_code_from_errno(errnum);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, strerror(errnum));
    return false;
}

bool floe_err_wrap(floe_err *err, const char *fmt, ...) {
    if (!err) return false;
    char head[240], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    return false;
}

void floe_err_clear(floe_err *err) {
    if (!err) return;
    err->code = FLOE_OK;
    err->msg[0] = '\0';
}

const char *floe_code_name(floe_code code) {
    static const char *names[] = {"ok",   "invalid",   "not-found", "exists", "conflict",  "precondition",
                                  "auth", "too-large", "no-space",  "io",     "no-memory", "internal"};
    if ((unsigned)code < sizeof names / sizeof names[0]) return names[code];
    return "unknown";
}
