/*
 * sigv4.c: AWS Signature Version 4 for the S3 server.
 *
 * Builds the canonical request and the string to sign, derives signing keys,
 * signs, compares signatures in constant time, and parses the two places a
 * client puts its credentials: the Authorization header and the X-Amz-* query
 * parameters of a presigned URL. The chunk and trailer signatures of
 * aws-chunked uploads are here too; chunked.c walks the body and calls them.
 *
 * S3 differs from the other AWS services in one place: the canonical URI is
 * the decoded path encoded once, with no normalisation. double_encode selects
 * the generic behaviour (remove dot segments, collapse slashes, encode each
 * segment twice), which only the generic AWS test suite needs.
 *
 * Everything here is pure: no I/O and no clock. The caller checks the request
 * time against the scope and X-Amz-Expires against its clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "store/s3/s3_int.h"

/* ================= small helpers ================= */

static void *sigv4_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* as buf.c does: request-sized memory, failure is fatal */
    return p;
}

/* Wipes memory that held a secret or a key derived from it. */
static void sigv4_wipe(void *p, size_t n) {
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
}

static char sigv4_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool sigv4_is_space(char c) { return c == ' ' || c == '\t'; }

/* Compares two byte strings as memcmp would order them, shorter first on a tie. */
static int sigv4_cmp_bytes(const char *a, size_t na, const char *b, size_t nb) {
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c) return c;
    return na < nb ? -1 : na > nb ? 1 : 0;
}

/* Case-insensitive (ASCII) equality of s[0..n) with the NUL-terminated name. */
static bool sigv4_name_eq(const char *s, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (name[i] == '\0' || sigv4_lower(s[i]) != sigv4_lower(name[i])) return false;
    return name[n] == '\0';
}

/* Copies a piece of client input into out for an error message: at most 40
 * bytes, control and non-ASCII bytes shown as '?', "..." when cut short. */
static const char *sigv4_show(const char *p, size_t n, char out[48]) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++) {
        unsigned char c = (unsigned char)p[i];
        out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > 40) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static void sigv4_hmac_hex(const unsigned char key[32], const char *data, size_t n, char sig_hex[65]) {
    unsigned char mac[32];
    hash_hmac_sha256(key, 32, data, n, mac);
    str_hex(mac, sizeof mac, sig_hex);
}

/* ================= canonical URI ================= */

typedef struct sigv4_span {
    const char *p;
    size_t n;
} sigv4_span;

/* Splits the path on '/', drops empty and "." segments and resolves "..",
 * as RFC 3986 remove_dot_segments does, then encodes each segment twice. A
 * trailing slash, or a last segment of "." or "..", keeps the result a
 * directory ("/a/b/.." is "/a/"). */
static void sigv4_uri_normalised(const char *path, size_t len, buf_t *out) {
    size_t cap = len / 2 + 1, nseg = 0;
    sigv4_span *seg = sigv4_xmalloc(cap * sizeof *seg);
    bool dir = len > 0 && path[len - 1] == '/';
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/') i++;
        size_t start = i;
        while (i < len && path[i] != '/') i++;
        size_t n = i - start;
        if (n == 0) continue;
        const char *s = path + start;
        bool last = i >= len;
        if (n == 1 && s[0] == '.') {
            if (last) dir = true;
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (nseg) nseg--;
            if (last) dir = true;
        } else {
            seg[nseg].p = s;
            seg[nseg].n = n;
            nseg++;
        }
    }
    buf_t once = BUF_INIT;
    for (size_t k = 0; k < nseg; k++) {
        buf_putc(&once, '/');
        str_uri_encode(&once, seg[k].p, seg[k].n, false);
    }
    if (nseg == 0 || dir) buf_putc(&once, '/');
    /* The second pass keeps the separators and encodes the '%' of the first. */
    str_uri_encode(out, once.data, once.len, true);
    buf_free(&once);
    free(seg);
}

static void sigv4_canonical_uri(const s3_sigv4_input *in, buf_t *out) {
    const char *path = in->path ? in->path : "";
    size_t len = in->path ? in->path_len : 0;
    if (in->path_encoded && len > 0) {
        buf_append(out, path, len);
    } else if (in->double_encode) {
        sigv4_uri_normalised(path, len, out);
    } else if (len == 0) {
        buf_putc(out, '/');
    } else {
        str_uri_encode(out, path, len, true);
    }
}

/* ================= canonical query ================= */

typedef struct sigv4_param {
    size_t name_off, name_len, value_off, value_len; /* into the scratch buffer */
    const char *base;
} sigv4_param;

static int sigv4_param_cmp(const void *pa, const void *pb) {
    const sigv4_param *a = pa, *b = pb;
    int c = sigv4_cmp_bytes(a->base + a->name_off, a->name_len, b->base + b->name_off, b->name_len);
    if (c) return c;
    return sigv4_cmp_bytes(a->base + a->value_off, a->value_len, b->base + b->value_off, b->value_len);
}

/* Each name and value URI-encoded ('/' too), sorted by encoded name and then
 * encoded value, joined as name=value with '&'. A parameter with no value is
 * "name=". */
static void sigv4_canonical_query(const s3_sigv4_input *in, buf_t *out) {
    if (!in->query || in->nquery == 0) return;
    buf_t scratch = BUF_INIT;
    sigv4_param *params = sigv4_xmalloc(in->nquery * sizeof *params);
    for (size_t i = 0; i < in->nquery; i++) {
        const char *name = in->query[i].name ? in->query[i].name : "";
        const char *value = in->query[i].value ? in->query[i].value : "";
        params[i].name_off = scratch.len;
        str_uri_encode(&scratch, name, strlen(name), false);
        params[i].name_len = scratch.len - params[i].name_off;
        params[i].value_off = scratch.len;
        str_uri_encode(&scratch, value, strlen(value), false);
        params[i].value_len = scratch.len - params[i].value_off;
    }
    for (size_t i = 0; i < in->nquery; i++) params[i].base = scratch.data ? scratch.data : "";
    qsort(params, in->nquery, sizeof *params, sigv4_param_cmp);
    for (size_t i = 0; i < in->nquery; i++) {
        if (i) buf_putc(out, '&');
        buf_append(out, params[i].base + params[i].name_off, params[i].name_len);
        buf_putc(out, '=');
        buf_append(out, params[i].base + params[i].value_off, params[i].value_len);
    }
    free(params);
    buf_free(&scratch);
}

/* ================= canonical headers ================= */

static int sigv4_span_cmp(const void *pa, const void *pb) {
    const sigv4_span *a = pa, *b = pb;
    return sigv4_cmp_bytes(a->p, a->n, b->p, b->n);
}

/* Appends a header value trimmed, with every run of spaces and tabs inside it
 * turned into one space. */
static void sigv4_put_trimmed(buf_t *out, const char *v) {
    size_t n = strlen(v), a = 0;
    while (a < n && sigv4_is_space(v[a])) a++;
    while (n > a && sigv4_is_space(v[n - 1])) n--;
    bool in_space = false;
    for (size_t i = a; i < n; i++) {
        if (sigv4_is_space(v[i])) {
            in_space = true;
            continue;
        }
        if (in_space) buf_putc(out, ' ');
        in_space = false;
        buf_putc(out, v[i]);
    }
}

/* The signed header names, lower-cased, sorted and without duplicates or
 * empty names. Returns how many; names point into *lowered. */
static size_t sigv4_signed_names(const char *signed_headers, buf_t *lowered, sigv4_span **names_out) {
    const char *sh = signed_headers ? signed_headers : "";
    size_t len = strlen(sh);
    for (size_t i = 0; i < len; i++) buf_putc(lowered, sigv4_lower(sh[i]));
    sigv4_span *names = sigv4_xmalloc((len / 2 + 1) * sizeof *names);
    size_t n = 0, i = 0;
    const char *base = lowered->data ? lowered->data : "";
    while (i < len) {
        size_t start = i;
        while (i < len && base[i] != ';') i++;
        if (i > start) {
            names[n].p = base + start;
            names[n].n = i - start;
            n++;
        }
        i++; /* past ';' */
    }
    qsort(names, n, sizeof *names, sigv4_span_cmp);
    size_t uniq = 0;
    for (size_t k = 0; k < n; k++)
        if (uniq == 0 || sigv4_span_cmp(&names[uniq - 1], &names[k]) != 0) names[uniq++] = names[k];
    *names_out = names;
    return uniq;
}

/* "name:value\n" for each signed header, then a blank line, then the signed
 * header list. Several headers of one name are joined with ','. A signed
 * header the request lacks gets an empty value, so the signature fails to
 * match rather than the request being signed over something else. */
static void sigv4_canonical_headers(const s3_sigv4_input *in, buf_t *out) {
    buf_t lowered = BUF_INIT;
    sigv4_span *names = NULL;
    size_t n = sigv4_signed_names(in->signed_headers, &lowered, &names);
    for (size_t k = 0; k < n; k++) {
        buf_append(out, names[k].p, names[k].n);
        buf_putc(out, ':');
        bool first = true;
        for (size_t h = 0; h < in->nheaders && in->headers; h++) {
            const s3_kv *kv = &in->headers[h];
            if (!kv->name || !sigv4_name_eq(names[k].p, names[k].n, kv->name)) continue;
            if (!first) buf_putc(out, ',');
            first = false;
            sigv4_put_trimmed(out, kv->value ? kv->value : "");
        }
        buf_putc(out, '\n');
    }
    buf_putc(out, '\n');
    for (size_t k = 0; k < n; k++) {
        if (k) buf_putc(out, ';');
        buf_append(out, names[k].p, names[k].n);
    }
    free(names);
    buf_free(&lowered);
}

/* ================= canonical request, string to sign, keys ================= */

void s3_sigv4_canonical_request(const s3_sigv4_input *in, buf_t *out) {
    buf_puts(out, in->method ? in->method : "");
    buf_putc(out, '\n');
    sigv4_canonical_uri(in, out);
    buf_putc(out, '\n');
    sigv4_canonical_query(in, out);
    buf_putc(out, '\n');
    sigv4_canonical_headers(in, out);
    buf_putc(out, '\n');
    buf_puts(out, in->payload_hash ? in->payload_hash : "");
}

void s3_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request, buf_t *out) {
    char hash[65];
    hash_sha256_hex(canonical_request, strlen(canonical_request), hash);
    buf_printf(out, "%s\n%s\n%s\n%s", S3_SIGV4_ALGORITHM, amz_date, scope, hash);
}

void s3_sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                          unsigned char key[32]) {
    buf_t k0 = BUF_INIT;
    buf_puts(&k0, "AWS4");
    buf_puts(&k0, secret);
    unsigned char k_date[32], k_region[32], k_service[32];
    hash_hmac_sha256(k0.data, k0.len, date8, strlen(date8), k_date);
    hash_hmac_sha256(k_date, 32, region, strlen(region), k_region);
    hash_hmac_sha256(k_region, 32, service, strlen(service), k_service);
    hash_hmac_sha256(k_service, 32, "aws4_request", 12, key);
    sigv4_wipe(k0.data, k0.cap);
    buf_free(&k0);
    sigv4_wipe(k_date, sizeof k_date);
    sigv4_wipe(k_region, sizeof k_region);
    sigv4_wipe(k_service, sizeof k_service);
}

void s3_sigv4_sign(const unsigned char key[32], const char *string_to_sign, char sig_hex[65]) {
    sigv4_hmac_hex(key, string_to_sign, strlen(string_to_sign), sig_hex);
}

/* The time taken depends only on the lengths, which are public (64). */
bool s3_sigv4_sig_equal(const char *a, const char *b) {
    if (!a || !b) return false;
    size_t na = strlen(a), nb = strlen(b);
    if (na != nb || na == 0) return false;
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < na; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

void s3_sigv4_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                              const char *prev_sig, const char *chunk_sha256_hex, char sig_hex[65]) {
    buf_t sts = BUF_INIT;
    buf_printf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", amz_date, scope, prev_sig, S3_EMPTY_SHA256,
               chunk_sha256_hex);
    sigv4_hmac_hex(key, sts.data, sts.len, sig_hex);
    buf_free(&sts);
}

void s3_sigv4_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                                const char *prev_sig, const char *trailers, size_t trailers_len, char sig_hex[65]) {
    char hash[65];
    hash_sha256_hex(trailers ? trailers : "", trailers ? trailers_len : 0, hash);
    buf_t sts = BUF_INIT;
    buf_printf(&sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", amz_date, scope, prev_sig, hash);
    sigv4_hmac_hex(key, sts.data, sts.len, sig_hex);
    buf_free(&sts);
}

/* ================= parsing credentials ================= */

/* Parses "yyyymmddThhmmssZ". time_parse_amz_date lets a day past the end of
 * its month through (20130230 becomes March 2nd); a signature scope must name
 * a real day, so the day is checked against the month here. */
static bool sigv4_parse_stamp(const char *s) {
    int64_t epoch;
    if (!time_parse_amz_date(s, &epoch)) return false;
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int month = (s[4] - '0') * 10 + (s[5] - '0');
    int day = (s[6] - '0') * 10 + (s[7] - '0');
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29) return leap;
    return day <= days[month - 1];
}

#define SIGV4_CREDENTIAL_FORM "<access key>/<yyyymmdd>/<region>/<service>/aws4_request"

/* Characters allowed in an access key, a region and a service name: printable
 * ASCII except the separators of the Credential and Authorization syntax. */
static bool sigv4_scope_char(char c) { return c > 0x20 && c < 0x7f && c != '/' && c != ',' && c != '='; }

/* Copies one '/'-separated part of a credential into dst after checking it. */
static bool sigv4_cred_part(const char *what, const char *src, const char *p, size_t n, char *dst, size_t cap,
                            floe_err *err) {
    char shown[48];
    if (n == 0)
        return floe_err_set(err, FLOE_EINVAL, "%s: the %s is empty; expected %s", src, what, SIGV4_CREDENTIAL_FORM);
    if (n >= cap) return floe_err_set(err, FLOE_EINVAL, "%s: the %s is longer than %zu characters", src, what, cap - 1);
    for (size_t i = 0; i < n; i++)
        if (!sigv4_scope_char(p[i]))
            return floe_err_set(err, FLOE_EINVAL, "%s: the %s '%s' has a character that is not printable ASCII", src,
                                what, sigv4_show(p, n, shown));
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

/* Parses "AK/20130524/us-east-1/s3/aws4_request" into out->access_key, date,
 * region, service and scope. src names where it came from, for messages. */
static bool sigv4_parse_credential(const char *src, const char *v, size_t n, s3_sigv4_auth *out, floe_err *err) {
    char shown[48];
    sigv4_span part[5];
    size_t nparts = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && v[i] != '/') continue;
        if (nparts == 5)
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' has more than five '/'-separated parts; expected %s", src,
                                sigv4_show(v, n, shown), SIGV4_CREDENTIAL_FORM);
        part[nparts].p = v + start;
        part[nparts].n = i - start;
        nparts++;
        start = i + 1;
    }
    if (nparts != 5)
        return floe_err_set(err, FLOE_EINVAL, "%s: '%s' has %zu '/'-separated parts, not five; expected %s", src,
                            sigv4_show(v, n, shown), nparts, SIGV4_CREDENTIAL_FORM);
    if (!sigv4_cred_part("access key", src, part[0].p, part[0].n, out->access_key, sizeof out->access_key, err))
        return false;
    char stamp[17];
    bool date_ok = part[1].n == 8;
    if (date_ok) {
        memcpy(stamp, part[1].p, 8);
        memcpy(stamp + 8, "T000000Z", 9);
        date_ok = sigv4_parse_stamp(stamp);
    }
    if (!date_ok)
        return floe_err_set(err, FLOE_EINVAL, "%s: the date '%s' is not a valid yyyymmdd date; expected %s", src,
                            sigv4_show(part[1].p, part[1].n, shown), SIGV4_CREDENTIAL_FORM);
    memcpy(out->date, part[1].p, 8);
    out->date[8] = '\0';
    if (!sigv4_cred_part("region", src, part[2].p, part[2].n, out->region, sizeof out->region, err)) return false;
    if (!sigv4_cred_part("service", src, part[3].p, part[3].n, out->service, sizeof out->service, err)) return false;
    if (part[4].n != 12 || memcmp(part[4].p, "aws4_request", 12) != 0)
        return floe_err_set(err, FLOE_EINVAL, "%s: the scope ends in '%s', not 'aws4_request'; expected %s", src,
                            sigv4_show(part[4].p, part[4].n, shown), SIGV4_CREDENTIAL_FORM);
    snprintf(out->scope, sizeof out->scope, "%s/%s/%s/aws4_request", out->date, out->region, out->service);
    return true;
}

/* RFC 7230 token characters, the characters of a header name. */
static bool sigv4_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "host;range;x-amz-date": header names separated by ';', none empty. */
static bool sigv4_parse_signed_headers(const char *src, const char *v, size_t n, s3_sigv4_auth *out, floe_err *err) {
    char shown[48];
    if (n == 0)
        return floe_err_set(err, FLOE_EINVAL, "%s is empty; expected header names joined by ';', e.g. host;x-amz-date",
                            src);
    if (n >= sizeof out->signed_headers)
        return floe_err_set(err, FLOE_EINVAL, "%s is longer than %zu characters", src, sizeof out->signed_headers - 1);
    for (size_t i = 0; i < n; i++) {
        bool empty_name = v[i] == ';' && (i == 0 || i + 1 == n || v[i + 1] == ';');
        if (empty_name || (v[i] != ';' && !sigv4_token_char(v[i])))
            return floe_err_set(err, FLOE_EINVAL,
                                "%s '%s' is not a list of header names joined by ';', e.g. host;x-amz-date", src,
                                sigv4_show(v, n, shown));
    }
    memcpy(out->signed_headers, v, n);
    out->signed_headers[n] = '\0';
    return true;
}

/* Exactly 64 hex digits, stored lower-case. */
static bool sigv4_parse_signature(const char *src, const char *v, size_t n, s3_sigv4_auth *out, floe_err *err) {
    bool ok = n == 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = sigv4_lower(v[i]);
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        out->signature[i] = c;
    }
    if (!ok) {
        out->signature[0] = '\0';
        return floe_err_set(err, FLOE_EINVAL, "%s is not 64 hex digits (it has %zu characters)", src, n);
    }
    out->signature[64] = '\0';
    return true;
}

static bool sigv4_bad_algorithm(const char *src, const char *v, size_t n, floe_err *err) {
    char shown[48];
    return floe_err_set(err, FLOE_EINVAL, "%s: unsupported algorithm '%s'; expected %s", src, sigv4_show(v, n, shown),
                        S3_SIGV4_ALGORITHM);
}

/* ================= the Authorization header ================= */

enum { SIGV4_CREDENTIAL, SIGV4_SIGNED_HEADERS, SIGV4_SIGNATURE, SIGV4_NPARTS };
static const char *const sigv4_part_names[SIGV4_NPARTS] = {"Credential", "SignedHeaders", "Signature"};

static bool sigv4_auth_part(int which, const char *v, size_t n, s3_sigv4_auth *out, floe_err *err) {
    switch (which) {
    case SIGV4_CREDENTIAL: return sigv4_parse_credential("Authorization header Credential", v, n, out, err);
    case SIGV4_SIGNED_HEADERS: return sigv4_parse_signed_headers("Authorization header SignedHeaders", v, n, out, err);
    default: return sigv4_parse_signature("Authorization header Signature", v, n, out, err);
    }
}

/* One "Key=Value" item of the header, whitespace already trimmed. */
static bool sigv4_auth_item(const char *item, size_t n, bool seen[SIGV4_NPARTS], s3_sigv4_auth *out, floe_err *err) {
    char shown[48];
    const char *eq = memchr(item, '=', n);
    if (!eq)
        return floe_err_set(err, FLOE_EINVAL,
                            "Authorization header: '%s' is not Key=Value; expected Credential=, SignedHeaders= and "
                            "Signature= separated by commas",
                            sigv4_show(item, n, shown));
    size_t klen = (size_t)(eq - item);
    int which = -1;
    for (int k = 0; k < SIGV4_NPARTS; k++)
        if (klen == strlen(sigv4_part_names[k]) && memcmp(item, sigv4_part_names[k], klen) == 0) which = k;
    if (which < 0)
        return floe_err_set(err, FLOE_EINVAL,
                            "Authorization header: unknown part '%s'; expected Credential, SignedHeaders and Signature",
                            sigv4_show(item, klen, shown));
    if (seen[which])
        return floe_err_set(err, FLOE_EINVAL, "Authorization header: %s appears twice", sigv4_part_names[which]);
    seen[which] = true;
    return sigv4_auth_part(which, eq + 1, n - klen - 1, out, err);
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...": the
 * three parts in any order, separated by commas, spaces around them allowed. */
bool s3_sigv4_parse_authorization(const char *value, s3_sigv4_auth *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!value) return floe_err_set(err, FLOE_EINVAL, "Authorization header is missing");
    const char *p = value, *end = value + strlen(value);
    while (p < end && sigv4_is_space(*p)) p++;
    const char *alg = p;
    while (p < end && !sigv4_is_space(*p)) p++;
    size_t alg_len = (size_t)(p - alg);
    if (alg_len == 0) return floe_err_set(err, FLOE_EINVAL, "Authorization header is empty");
    if (alg_len != strlen(S3_SIGV4_ALGORITHM) || memcmp(alg, S3_SIGV4_ALGORITHM, alg_len) != 0)
        return sigv4_bad_algorithm("Authorization header", alg, alg_len, err);
    bool seen[SIGV4_NPARTS] = {false, false, false};
    for (;;) {
        while (p < end && sigv4_is_space(*p)) p++;
        if (p == end) break;
        const char *item = p;
        while (p < end && *p != ',') p++;
        const char *item_end = p;
        if (p < end) p++; /* past ',' */
        while (item_end > item && sigv4_is_space(item_end[-1])) item_end--;
        if (!sigv4_auth_item(item, (size_t)(item_end - item), seen, out, err)) return false;
    }
    for (int k = 0; k < SIGV4_NPARTS; k++)
        if (!seen[k])
            return floe_err_set(err, FLOE_EINVAL,
                                "Authorization header: %s= is missing; expected '%s Credential=%s, "
                                "SignedHeaders=<names>, Signature=<64 hex>'",
                                sigv4_part_names[k], S3_SIGV4_ALGORITHM, SIGV4_CREDENTIAL_FORM);
    return true;
}

/* ================= presigned URLs ================= */

enum {
    SIGV4_Q_ALGORITHM,
    SIGV4_Q_CREDENTIAL,
    SIGV4_Q_DATE,
    SIGV4_Q_EXPIRES,
    SIGV4_Q_SIGNED_HEADERS,
    SIGV4_Q_SIGNATURE,
    SIGV4_Q_N
};
static const char *const sigv4_query_names[SIGV4_Q_N] = {"X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
                                                         "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature"};

#define SIGV4_MAX_EXPIRES 604800 /* seven days, as S3 allows */

static bool sigv4_presigned_date(const char *v, s3_sigv4_auth *out, floe_err *err) {
    char shown[48];
    if (!sigv4_parse_stamp(v))
        return floe_err_set(err, FLOE_EINVAL, "X-Amz-Date '%s' is not a time of the form yyyymmddThhmmssZ",
                            sigv4_show(v, strlen(v), shown));
    memcpy(out->amz_date, v, 17);
    if (memcmp(out->amz_date, out->date, 8) != 0)
        return floe_err_set(err, FLOE_EINVAL, "X-Amz-Date %s is not on the date of the X-Amz-Credential scope (%s)",
                            out->amz_date, out->date);
    return true;
}

static bool sigv4_presigned_expires(const char *v, s3_sigv4_auth *out, floe_err *err) {
    char shown[48];
    if (!str_to_i64_range(v, 1, SIGV4_MAX_EXPIRES, &out->expires))
        return floe_err_set(err, FLOE_EINVAL, "X-Amz-Expires '%s' is not a whole number of seconds from 1 to %d",
                            sigv4_show(v, strlen(v), shown), SIGV4_MAX_EXPIRES);
    return true;
}

bool s3_sigv4_parse_presigned(const s3_kv *query, size_t nquery, s3_sigv4_auth *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    const char *val[SIGV4_Q_N] = {NULL, NULL, NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < nquery && query; i++) {
        if (!query[i].name) continue;
        for (int k = 0; k < SIGV4_Q_N; k++) {
            if (strcmp(query[i].name, sigv4_query_names[k]) != 0) continue;
            if (val[k]) return floe_err_set(err, FLOE_EINVAL, "%s appears twice in the query", sigv4_query_names[k]);
            val[k] = query[i].value ? query[i].value : "";
        }
    }
    for (int k = 0; k < SIGV4_Q_N; k++)
        if (!val[k])
            return floe_err_set(err, FLOE_EINVAL,
                                "presigned URL: %s is missing; a presigned URL carries X-Amz-Algorithm, "
                                "X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature",
                                sigv4_query_names[k]);
    const char *alg = val[SIGV4_Q_ALGORITHM];
    if (strcmp(alg, S3_SIGV4_ALGORITHM) != 0) return sigv4_bad_algorithm("X-Amz-Algorithm", alg, strlen(alg), err);
    const char *cred = val[SIGV4_Q_CREDENTIAL];
    if (!sigv4_parse_credential("X-Amz-Credential", cred, strlen(cred), out, err)) return false;
    if (!sigv4_presigned_date(val[SIGV4_Q_DATE], out, err)) return false;
    if (!sigv4_presigned_expires(val[SIGV4_Q_EXPIRES], out, err)) return false;
    const char *sh = val[SIGV4_Q_SIGNED_HEADERS];
    if (!sigv4_parse_signed_headers("X-Amz-SignedHeaders", sh, strlen(sh), out, err)) return false;
    const char *sig = val[SIGV4_Q_SIGNATURE];
    return sigv4_parse_signature("X-Amz-Signature", sig, strlen(sig), out, err);
}
