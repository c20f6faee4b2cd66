/*
 * meta_cache.c: parsed table metadata kept between commits, by location.
 *
 * A metadata file is never rewritten, so its parsed form never goes stale:
 * a commit by another process or node writes a file with a new location,
 * which simply misses here. A commit's next metadata comes from
 * ice_updates_apply, which copies on write and shares everything it did not
 * change with its base; so an entry's arena holds only what its version
 * added, and the entry holds a reference on its base's entry (parent). A
 * chain is cut after CAT_PARSED_DEPTH versions (that commit's metadata is
 * not cached, and the next one parses the file afresh), which bounds what
 * one table keeps; inserting a version drops its parent from the slots, so
 * a table takes one slot.
 *
 * Entries are reference counted under meta_lock: the cache holds one, and
 * a request that borrows or builds one holds one until its arena is freed
 * (arena_on_free), so what it returns (cat_table.meta) stays valid for
 * exactly as long as the request's other allocations.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_int.h"

struct cat_meta_entry {
    cat_t *cat;
    char *loc; /* set while in a slot */
    arena_t arena;
    ice_table_meta meta;
    cat_meta_entry *parent;
    int depth;
    int refs;
};

static size_t slot_of(const char *loc) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = loc; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h % CAT_PARSED_SLOTS;
}

/* Drops a reference; the last one frees the entry and drops its parent's.
 * Called with meta_lock held. */
static void unref_locked(cat_meta_entry *e) {
    while (e && --e->refs == 0) {
        cat_meta_entry *parent = e->parent;
        free(e->loc);
        arena_free(&e->arena);
        free(e);
        e = parent;
    }
}

static void release(void *arg) {
    cat_meta_entry *e = arg;
    cat_t *c = e->cat;
    pthread_mutex_lock(&c->meta_lock);
    unref_locked(e);
    pthread_mutex_unlock(&c->meta_lock);
}

cat_meta_entry *cat_meta_entry_new(cat_t *c, cat_meta_entry *parent, arena_t *borrower) {
    cat_meta_entry *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->cat = c;
    arena_init(&e->arena, 8192);
    e->refs = 1;
    if (parent) {
        pthread_mutex_lock(&c->meta_lock);
        parent->refs++;
        pthread_mutex_unlock(&c->meta_lock);
        e->parent = parent;
        e->depth = parent->depth + 1;
    }
    arena_on_free(borrower, release, e);
    return e;
}

arena_t *cat_meta_entry_arena(cat_meta_entry *e) { return &e->arena; }
ice_table_meta *cat_meta_entry_meta(cat_meta_entry *e) { return &e->meta; }
bool cat_meta_entry_can_extend(const cat_meta_entry *e) { return e->depth + 1 < CAT_PARSED_DEPTH; }

cat_meta_entry *cat_meta_borrow(cat_t *c, const char *loc, arena_t *borrower) {
    pthread_mutex_lock(&c->meta_lock);
    cat_meta_entry *e = c->parsed[slot_of(loc)];
    if (e && strcmp(e->loc, loc)) e = NULL;
    if (e) {
        e->refs++;
        c->parsed_hits++;
    } else {
        c->parsed_misses++;
    }
    pthread_mutex_unlock(&c->meta_lock);
    if (e) arena_on_free(borrower, release, e);
    return e;
}

void cat_meta_insert(cat_t *c, cat_meta_entry *e, const char *loc) {
    pthread_mutex_lock(&c->meta_lock);
    if (!e->loc && e->arena.total <= CAT_PARSED_BYTES) {
        e->loc = strdup(loc);
        if (!e->loc) abort();
        cat_meta_entry **s = &c->parsed[slot_of(loc)];
        if (*s) unref_locked(*s);
        *s = e;
        e->refs++;
        /* the parent lives on through e; its slot is free for another table */
        cat_meta_entry *p = e->parent, **ps = p && p->loc ? &c->parsed[slot_of(p->loc)] : NULL;
        if (ps && *ps == p) {
            *ps = NULL;
            unref_locked(p);
        }
    }
    pthread_mutex_unlock(&c->meta_lock);
}

void cat_meta_cache_free(cat_t *c) {
    pthread_mutex_lock(&c->meta_lock);
    for (size_t i = 0; i < CAT_PARSED_SLOTS; i++) {
        unref_locked(c->parsed[i]);
        c->parsed[i] = NULL;
    }
    pthread_mutex_unlock(&c->meta_lock);
}
