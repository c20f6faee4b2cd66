/*
 * format_test.h: helpers shared by the format-layer unit tests: a seeded
 * random generator, exact-size copies (so ASan sees any overread), and the
 * hex notation of the data files under tests/unit/format/data/.
 */
#ifndef FLOE_TESTS_FORMAT_TEST_H
#define FLOE_TESTS_FORMAT_TEST_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* xorshift64: the same sequence for the same seed on every run. */
static uint64_t test_rng_state = 1;
static inline void rng_seed(uint64_t s) { test_rng_state = s * 0x9e3779b97f4a7c15ULL + 1; }
static inline uint64_t rng(void) {
    uint64_t x = test_rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return test_rng_state = x;
}
static inline uint64_t rng_below(uint64_t n) { return n ? rng() % n : 0; }

/* A copy of p in a malloc'd buffer of exactly n bytes. */
static inline uint8_t *exact_copy(const void *p, size_t n) {
    uint8_t *q = malloc(n ? n : 1);
    cr_assert(q);
    if (n) memcpy(q, p, n);
    return q;
}

/* Appends the bytes of hex text: digit pairs, spaces anywhere, "00*12" for
 * twelve zero bytes, "-" for none. file and line name the case in failures. */
static inline void hex_parse(const char *file, int line, const char *s, buf_t *out) {
    if (strcmp(s, "-") == 0) return;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned b;
        cr_assert(sscanf(s, "%2x", &b) == 1, "%s:%d: bad hex at '%s'", file, line, s);
        s += 2;
        size_t rep = 1;
        if (*s == '*') rep = strtoul(s + 1, (char **)&s, 10);
        for (size_t i = 0; i < rep; i++) buf_putc(out, (char)b);
    }
}

#endif
