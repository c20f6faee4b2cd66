/*
 * arena.c: chunked bump allocator. Large requests get a chunk of their own.
 */
#include "base/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct arena_cleanup {
    arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

void arena_init(arena_t *a, size_t chunk_size) {
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 8192;
    a->total = 0;
    a->cleanups = NULL;
}

static arena_chunk *chunk_new(size_t cap) {
    arena_chunk *c = malloc(sizeof *c + cap);
    if (!c) {
        fprintf(stderr, "floe: out of memory allocating %zu bytes\n", cap);
        abort();
    }
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

void *arena_alloc(arena_t *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        if (n > a->chunk_size / 2) {
            /* Big block: its own chunk, linked behind the current one so the
             * current chunk's free space stays usable. */
            arena_chunk *big = chunk_new(n);
            big->used = n;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            a->total += n;
            return big->data;
        }
        c = chunk_new(a->chunk_size);
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    return p;
}

void *arena_zalloc(arena_t *a, size_t n) {
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s) { return s ? arena_strndup(a, s, strlen(s)) : NULL; }

char *arena_vsprintf(arena_t *a, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_sprintf(arena_t *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void arena_on_free(arena_t *a, void (*fn)(void *), void *arg) {
    arena_cleanup *k = arena_alloc(a, sizeof *k);
    k->fn = fn;
    k->arg = arg;
    k->next = a->cleanups;
    a->cleanups = k;
}

void arena_free(arena_t *a) {
    for (arena_cleanup *k = a->cleanups; k; k = k->next) k->fn(k->arg);
    a->cleanups = NULL;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
