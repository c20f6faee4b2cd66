/*
 * arena.h: region allocator in the style of PostgreSQL memory contexts.
 *
 * Each request, task and query owns an arena. Allocations are bump-pointer
 * from chunks; nothing is freed one by one. arena_free releases everything.
 * Allocation failure aborts: an arena is for bounded, request-sized memory.
 */
#ifndef FLOE_BASE_ARENA_H
#define FLOE_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena_chunk arena_chunk;
typedef struct arena_cleanup arena_cleanup;

typedef struct arena {
    arena_chunk *head;
    size_t chunk_size;
    size_t total;
    arena_cleanup *cleanups; /* run by arena_free, newest first */
} arena_t;

void arena_init(arena_t *a, size_t chunk_size);
void *arena_alloc(arena_t *a, size_t n);  /* 16-byte aligned, uninitialised */
void *arena_zalloc(arena_t *a, size_t n); /* zeroed */
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_sprintf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vsprintf(arena_t *a, const char *fmt, va_list ap);
void arena_free(arena_t *a); /* runs the cleanups, frees all chunks; the arena may be reused */
/* Calls fn(arg) when the arena is freed: for something outside it that
 * what the arena holds points into (a reference-counted cache entry). */
void arena_on_free(arena_t *a, void (*fn)(void *), void *arg);

#endif
