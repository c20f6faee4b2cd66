/*
 * err.h: errors as values.
 *
 * A function that can fail returns bool (or a code) and fills a floe_err with
 * a code and a message meant for a person: what input was wrong, what form was
 * expected, and how to fix it. Callers pass the floe_err up unchanged or wrap
 * it with more context.
 */
#ifndef FLOE_BASE_ERR_H
#define FLOE_BASE_ERR_H

#include <stdbool.h>

typedef enum {
    FLOE_OK = 0,
    FLOE_EINVAL,    /* bad input from the caller or the user */
    FLOE_ENOENT,    /* a named thing does not exist */
    FLOE_EEXIST,    /* it already exists */
    FLOE_ECONFLICT, /* a concurrent change won */
    FLOE_EPRECOND,  /* a stated precondition does not hold */
    FLOE_EAUTH,     /* authentication or authorization failed */
    FLOE_ETOOLARGE, /* input exceeds a limit */
    FLOE_ENOSPC,    /* the disk is full */
    FLOE_EIO,       /* the operating system failed an I/O call */
    FLOE_ENOMEM,
    FLOE_EINTERNAL, /* a bug or a broken environment */
} floe_code;

typedef struct floe_err {
    floe_code code;
    char msg[480];
} floe_err;

/* Sets the error and returns false, so `return floe_err_set(...)` reads well.
 * err may be NULL. */
bool floe_err_set(floe_err *err, floe_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like floe_err_set, with the code and strerror taken from errno: "fmt: strerror". */
bool floe_err_errno(floe_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message with more context: "ctx: old message". */
bool floe_err_wrap(floe_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void floe_err_clear(floe_err *err);
const char *floe_code_name(floe_code code);
floe_code floe_code_from_errno(int errnum);

#endif
