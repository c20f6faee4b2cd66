/*
 * fuzz_xml.c: libFuzzer harness for the S3 XML bodies and escaping
 * (src/store/s3/xml.c).
 *
 * Byte 0 picks the target (modulo 4): DeleteObjects, CompleteMultipartUpload,
 * CreateBucket, or s3_xml_escape. The rest is the body (or the text to
 * escape). Parsers must return a result that keeps their promises (counts in
 * range, part numbers 1..10000, keys non-empty) or fail with FLOE_EINVAL.
 * Escaped text must parse back to itself whenever XML 1.0 can carry it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "store/s3/s3_int.h"

static void check_err(bool ok, const floe_err *err) {
    if (!ok && err->code != FLOE_EINVAL) abort();
}

static void fuzz_delete(const char *p, size_t n, arena_t *a) {
    s3_delete_req r;
    floe_err err;
    bool ok = s3_xml_parse_delete(p, n, a, &r, &err);
    check_err(ok, &err);
    if (!ok) return;
    if (r.nobjects < 1 || r.nobjects > 1000) abort();
    for (size_t i = 0; i < r.nobjects; i++)
        if (!r.objects[i].key || r.objects[i].key_len == 0) abort();
}

static void fuzz_complete(const char *p, size_t n, arena_t *a) {
    s3_complete_req r;
    floe_err err;
    bool ok = s3_xml_parse_complete(p, n, a, &r, &err);
    check_err(ok, &err);
    if (!ok) return;
    if (r.nparts < 1 || r.nparts > 10000) abort();
    for (size_t i = 0; i < r.nparts; i++)
        if (r.parts[i].part_number < 1 || r.parts[i].part_number > 10000 || !r.parts[i].etag) abort();
}

static void fuzz_create(const char *p, size_t n, arena_t *a) {
    char *loc = NULL;
    floe_err err;
    bool ok = s3_xml_parse_create_bucket(p, n, a, &loc, &err);
    check_err(ok, &err);
    if (loc && loc[0] == '\0') abort();
}

/* True when XML 1.0 can carry s as text: valid UTF-8, no control characters
 * but TAB, LF and CR, no U+FFFE or U+FFFF. */
static bool xml_can_carry(const char *s, size_t n) {
    if (!str_utf8_valid(s, n)) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
        if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbf &&
            ((unsigned char)s[i + 2] == 0xbe || (unsigned char)s[i + 2] == 0xbf))
            return false;
    }
    return true;
}

static void fuzz_escape(const char *p, size_t n, arena_t *a) {
    buf_t b = BUF_INIT;
    buf_puts(&b, "<Delete><Object><Key>");
    size_t start = b.len;
    s3_xml_escape(&b, p, n);
    /* The escaped text holds no markup of its own. */
    for (size_t i = start; i < b.len; i++)
        if (b.data[i] == '<' || b.data[i] == '>' || b.data[i] == '"' || b.data[i] == '\'') abort();
    buf_puts(&b, "</Key></Object></Delete>");
    if (n > 0 && xml_can_carry(p, n)) {
        s3_delete_req r;
        floe_err err;
        if (!s3_xml_parse_delete(b.data, b.len, a, &r, &err)) abort();
        if (r.nobjects != 1 || r.objects[0].key_len != n || memcmp(r.objects[0].key, p, n) != 0) abort();
    }
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    arena_t a;
    arena_init(&a, 4096);
    switch (data[0] % 4) {
    case 0: fuzz_delete(p, n, &a); break;
    case 1: fuzz_complete(p, n, &a); break;
    case 2: fuzz_create(p, n, &a); break;
    default: fuzz_escape(p, n, &a); break;
    }
    arena_free(&a);
    return 0;
}
