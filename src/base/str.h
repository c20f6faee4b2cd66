/*
 * str.h: small string helpers shared by every layer: strict number parsing,
 * hex and base64, and the URI encoding that SigV4 and S3 listings use.
 */
#ifndef FLOE_BASE_STR_H
#define FLOE_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

bool str_eq(const char *a, const char *b);        /* NULL-safe */
bool str_eq_nocase(const char *a, const char *b); /* NULL-safe, ASCII */
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);

/* Parses all of s as a decimal unsigned integer (no sign, no spaces, no
 * overflow). Returns false on anything else. */
bool str_to_u64(const char *s, uint64_t *out);
bool str_to_u64_n(const char *s, size_t n, uint64_t *out);
/* Same for a signed value in [min, max]. */
bool str_to_i64_range(const char *s, int64_t min, int64_t max, int64_t *out);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void str_hex(const unsigned char *in, size_t n, char *out);
/* Decodes exactly 2n hex digits into n bytes. */
bool str_unhex(const char *in, size_t hexlen, unsigned char *out);

/* Standard base64 with padding. out needs 4*((n+2)/3)+1 bytes. */
size_t str_base64(const unsigned char *in, size_t n, char *out);
/* Decodes padded standard base64; returns false on bad input or overflow. */
bool str_unbase64(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);

/* URI-encodes per SigV4: every byte except A-Z a-z 0-9 - _ . ~ is %XX
 * (upper hex); '/' is kept when keep_slash. */
void str_uri_encode(buf_t *b, const char *s, size_t n, bool keep_slash);
/* Decodes %XX escapes (and '+' as space when plus_space). Returns false on a
 * malformed escape. The result may contain NUL bytes; *outlen is its length. */
bool str_uri_decode(const char *s, size_t n, bool plus_space, buf_t *out);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool str_utf8_valid(const char *s, size_t n);

/* A random (version 4) UUID in its 36-character text form. */
void str_uuid4(char out[37]);

#endif
