/*
 * buf.h: a growable byte buffer, always NUL-terminated for convenience.
 * Allocation failure aborts.
 */
#ifndef FLOE_BASE_BUF_H
#define FLOE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len, cap;
} buf_t;

#define BUF_INIT                                                                                                       \
    { NULL, 0, 0 }

void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *data, size_t len);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap);
void buf_reset(buf_t *b); /* len = 0, keeps memory */
void buf_free(buf_t *b);
char *buf_steal(buf_t *b); /* hands over data (malloc'd); b becomes empty */

#endif
