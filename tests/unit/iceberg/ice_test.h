/*
 * ice_test.h: helpers shared by the Iceberg unit tests: schemas from the
 * compact text form, typed values from text, and values as text.
 */
#ifndef FLOE_TESTS_ICE_TEST_H
#define FLOE_TESTS_ICE_TEST_H

#include <criterion/criterion.h>
#include <string.h>

#include "iceberg/iceberg.h"

/* A schema parsed from text in arena a. */
static inline fmt_schema_t *ice_test_schema(arena_t *a, const char *text) {
    fmt_schema_t *s = arena_zalloc(a, sizeof *s);
    floe_err err = {0};
    cr_assert(fmt_schema_parse(text, a, s, &err), "schema '%s': %s", text, err.msg);
    return s;
}

/* A field of the given type text ("decimal(9,2)", "timestamptz"). */
static inline fmt_field_t ice_test_type(arena_t *a, const char *type) {
    char *text = arena_sprintf(a, "x %s", type);
    fmt_schema_t *s = ice_test_schema(a, text);
    return s->root.children[0];
}

/* A value of the type parsed from a person's text. */
static inline ice_value ice_test_value(arena_t *a, const char *type, const char *text) {
    fmt_field_t f = ice_test_type(a, type);
    ice_value v;
    floe_err err = {0};
    cr_assert(ice_value_parse(&f, text, strlen(text), a, &v, &err), "%s '%s': %s", type, text, err.msg);
    return v;
}

/* The human form of v in the arena. */
static inline const char *ice_test_fmt(arena_t *a, const ice_value *v) {
    buf_t b = BUF_INIT;
    ice_value_format(v, &b);
    char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

#endif
