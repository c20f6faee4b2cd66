/*
 * range.c: the Range header of GetObject and HeadObject.
 *
 * S3 serves one byte range (RFC 9110, section 14): "bytes=a-b", "bytes=a-"
 * and "bytes=-N". It is lenient where RFC 9110 lets a server be: a header it
 * cannot parse, or one asking for several ranges, is ignored and the whole
 * object is sent with 200. A range whose first byte is at or past the end is
 * unsatisfiable (416 InvalidRange), and so is "bytes=-0", which asks for no
 * bytes at all. "bytes=-N" with N past the size means the whole object, and a
 * last byte past the end is clamped to the last byte.
 *
 * An empty object has no bytes to point at: "bytes=0-" and every other range
 * with a first byte is unsatisfiable, as on S3. A suffix range "bytes=-N"
 * (N > 0) on an empty object is satisfiable by RFC 9110 but names an empty
 * range, which Content-Range cannot express; it is ignored, so the client gets
 * the (empty) object with 200.
 */
#include <stdbool.h>
#include <strings.h>

#include "store/s3/s3_int.h"

static const char *skip_ows(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

/* Parses decimal digits at *s, saturating at UINT64_MAX (a position that big
 * is past the end of any object anyway). False when there are none. */
static bool parse_pos(const char **s, uint64_t *out) {
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9') return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *s = p;
    *out = v;
    return true;
}

static s3_range_result suffix_range(uint64_t n, uint64_t size, uint64_t *first, uint64_t *last) {
    if (n == 0) return S3_RANGE_UNSATISFIABLE;
    if (size == 0) return S3_RANGE_IGNORE;
    *first = n >= size ? 0 : size - n;
    *last = size - 1;
    return S3_RANGE_OK;
}

s3_range_result s3_range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last) {
    if (!header) return S3_RANGE_NONE;
    const char *s = skip_ows(header);
    if (strncasecmp(s, "bytes=", 6) != 0) return S3_RANGE_IGNORE;
    s = skip_ows(s + 6);
    for (const char *c = s; *c; c++)
        if (*c == ',') return S3_RANGE_IGNORE; /* several ranges: S3 sends the whole object */
    uint64_t a, b;
    if (*s == '-') {
        s++;
        if (!parse_pos(&s, &b) || *skip_ows(s) != '\0') return S3_RANGE_IGNORE;
        return suffix_range(b, size, first, last);
    }
    if (!parse_pos(&s, &a) || *s++ != '-') return S3_RANGE_IGNORE;
    bool has_last = parse_pos(&s, &b);
    if (*skip_ows(s) != '\0') return S3_RANGE_IGNORE;
    if (has_last && b < a) return S3_RANGE_IGNORE; /* invalid by RFC 9110: ignored */
    if (a >= size) return S3_RANGE_UNSATISFIABLE;
    *first = a;
    *last = !has_last || b >= size ? size - 1 : b;
    return S3_RANGE_OK;
}
