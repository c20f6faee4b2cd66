/*
 * sched_util.c: the scheduler's small parts: a string-keyed hash map, the
 * timer heap, state and type names, run-id times, and a loaded spec's DAG
 * as index arrays (sched_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "base/time.h"
#include "pipeline/sched_int.h"

/* ---------------------------------------------------------------- names */

static const char *const ti_names[] = {"none",   "scheduled",    "queued",          "running", "success",
                                       "failed", "up_for_retry", "upstream_failed", "skipped"};
static const char *const run_names[] = {"queued", "running", "success", "failed"};
static const char *const type_names[] = {"scheduled", "manual", "backfill"};

const char *pipe_ti_state_name(pipe_ti_state s) {
    return (unsigned)s < sizeof ti_names / sizeof ti_names[0] ? ti_names[s] : "unknown";
}

const char *pipe_run_state_name(pipe_run_state s) {
    return (unsigned)s < sizeof run_names / sizeof run_names[0] ? run_names[s] : "unknown";
}

const char *sched_run_type_name(sched_run_type t) {
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "unknown";
}

static bool name_find(const char *s, const char *const *names, size_t n, int *out) {
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (int)i;
            return true;
        }
    return false;
}

bool sched_ti_state_parse(const char *s, pipe_ti_state *out) {
    int i;
    if (!name_find(s, ti_names, sizeof ti_names / sizeof ti_names[0], &i)) return false;
    *out = (pipe_ti_state)i;
    return true;
}

bool sched_run_state_parse(const char *s, pipe_run_state *out) {
    int i;
    if (!name_find(s, run_names, sizeof run_names / sizeof run_names[0], &i)) return false;
    *out = (pipe_run_state)i;
    return true;
}

bool sched_run_type_parse(const char *s, sched_run_type *out) {
    int i;
    if (!name_find(s, type_names, sizeof type_names / sizeof type_names[0], &i)) return false;
    *out = (sched_run_type)i;
    return true;
}

/* ---------------------------------------------------------------- times */

void sched_iso(int64_t ms, char out[32]) { time_iso8601_ms(ms, out); }

void sched_id_time(int64_t ms, bool with_ms, char out[32]) {
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y%m%dT%H%M%S", &tm);
    if (with_ms)
        snprintf(out + n, 32 - n, "%03dZ", frac);
    else
        snprintf(out + n, 32 - n, "Z");
}

/* ---------------------------------------------------------------- map */

static uint64_t key_hash(const char *k) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

void *sched_map_get(const sched_map *m, const char *key) {
    if (!m->cap) return NULL;
    for (size_t i = key_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->ents[i].key) return NULL;
        if (!strcmp(m->ents[i].key, key)) return m->ents[i].val;
    }
}

static void map_grow(sched_map *m) {
    sched_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->ents = calloc(m->cap, sizeof *m->ents);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.ents[i].key) sched_map_put(m, old.ents[i].key, old.ents[i].val);
    free(old.ents);
}

void sched_map_put(sched_map *m, const char *key, void *val) {
    if ((m->n + 1) * 4 > m->cap * 3) map_grow(m);
    for (size_t i = key_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->ents[i].key) {
            m->ents[i] = (sched_map_ent){key, val};
            m->n++;
            return;
        }
        if (!strcmp(m->ents[i].key, key)) {
            m->ents[i] = (sched_map_ent){key, val};
            return;
        }
    }
}

void sched_map_del(sched_map *m, const char *key) {
    if (!m->cap) return;
    size_t mask = m->cap - 1, i = key_hash(key) & mask;
    for (;; i = (i + 1) & mask) {
        if (!m->ents[i].key) return;
        if (!strcmp(m->ents[i].key, key)) break;
    }
    /* Backward-shift: move later entries of the cluster into the hole when
     * their home slot is at or before it. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->ents[j].key; j = (j + 1) & mask) {
        size_t home = key_hash(m->ents[j].key) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->ents[hole] = m->ents[j];
            hole = j;
        }
    }
    m->ents[hole] = (sched_map_ent){0};
    m->n--;
}

void sched_map_free(sched_map *m) {
    free(m->ents);
    *m = (sched_map){0};
}

/* ---------------------------------------------------------------- heap */

static void heap_swap(sched_heap *h, size_t a, size_t b) {
    sched_timer *t = h->v[a];
    h->v[a] = h->v[b];
    h->v[b] = t;
    h->v[a]->idx = (int)a;
    h->v[b]->idx = (int)b;
}

static void heap_up(sched_heap *h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->at <= h->v[i]->at) break;
        heap_swap(h, i, p);
        i = p;
    }
}

static void heap_down(sched_heap *h, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->at < h->v[m]->at) m = l;
        if (r < h->n && h->v[r]->at < h->v[m]->at) m = r;
        if (m == i) return;
        heap_swap(h, i, m);
        i = m;
    }
}

void sched_heap_arm(sched_heap *h, sched_timer *t, int64_t at) {
    if (t->idx >= 0) {
        int64_t old = t->at;
        t->at = at;
        if (at < old)
            heap_up(h, (size_t)t->idx);
        else
            heap_down(h, (size_t)t->idx);
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
    }
    t->at = at;
    t->idx = (int)h->n;
    h->v[h->n++] = t;
    heap_up(h, h->n - 1);
}

void sched_heap_disarm(sched_heap *h, sched_timer *t) {
    if (t->idx < 0) return;
    size_t i = (size_t)t->idx;
    t->idx = -1;
    h->n--;
    if (i == h->n) return;
    h->v[i] = h->v[h->n];
    h->v[i]->idx = (int)i;
    heap_up(h, i);
    heap_down(h, (size_t)h->v[i]->idx);
}

sched_timer *sched_heap_top(const sched_heap *h) { return h->n ? h->v[0] : NULL; }

/* ---------------------------------------------------------------- specs */

sched_spec *sched_spec_new(pipe_spec *spec) {
    sched_spec *ss = calloc(1, sizeof *ss);
    ss->spec = spec;
    ss->refs = 1;
    size_t n = spec->ntasks, nedges = 0;
    sched_map ids = {0};
    for (size_t i = 0; i < n; i++) {
        sched_map_put(&ids, spec->tasks[i].id, (void *)(i + 1));
        nedges += spec->tasks[i].nupstream;
    }
    ss->up_off = calloc(n + 1, sizeof *ss->up_off);
    ss->down_off = calloc(n + 1, sizeof *ss->down_off);
    ss->up = calloc(nedges ? nedges : 1, sizeof *ss->up);
    ss->down = calloc(nedges ? nedges : 1, sizeof *ss->down);
    int *ndown = calloc(n ? n : 1, sizeof *ndown);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ss->up_off[i] = (int)k;
        for (size_t j = 0; j < spec->tasks[i].nupstream; j++) {
            uintptr_t u = (uintptr_t)sched_map_get(&ids, spec->tasks[i].upstream[j]);
            if (!u) continue; /* the loader rejects unknown upstreams */
            ss->up[k++] = (int)(u - 1);
            ndown[u - 1]++;
        }
    }
    ss->up_off[n] = (int)k;
    for (size_t i = 0; i < n; i++) ss->down_off[i + 1] = ss->down_off[i] + ndown[i];
    memset(ndown, 0, n * sizeof *ndown);
    for (size_t i = 0; i < n; i++)
        for (int e = ss->up_off[i]; e < ss->up_off[i + 1]; e++) {
            int u = ss->up[e];
            ss->down[ss->down_off[u] + ndown[u]++] = (int)i;
        }
    free(ndown);
    sched_map_free(&ids);
    return ss;
}

void sched_spec_unref(sched_spec *ss) {
    if (!ss || --ss->refs > 0) return;
    pipe_spec_free(ss->spec);
    free(ss->up);
    free(ss->up_off);
    free(ss->down);
    free(ss->down_off);
    free(ss);
}
