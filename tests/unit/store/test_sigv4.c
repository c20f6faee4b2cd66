/*
 * test_sigv4.c: unit tests of SigV4 (src/store/s3/sigv4.c).
 *
 * The published vectors live in tests/unit/store/data/sigv4/, one case per
 * file (the format is in the README there); vectors_all runs every one, stage
 * by stage, so a failure names the file and the stage that diverged. The rest
 * are the properties the vectors do not pin down: S3's single encoding, query
 * and header canonicalisation corner cases, constant-time comparison, and the
 * parsers on bad input, where the message must name the part that is wrong.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/str.h"
#include "store/s3/s3_int.h"

#define SIGV4_DATA_DIR "tests/unit/store/data/sigv4"

/* ================= the vector file format ================= */

typedef struct vec_section {
    char name[32];
    const char *body; /* into vec_file.text */
    size_t len;
} vec_section;

typedef struct vec_file {
    char *text;
    vec_section sec[16];
    size_t nsec;
    /* [case] */
    const char *keys[16];
    char *vals[16];
    size_t nkeys;
    /* [query] and [headers] */
    s3_kv query[32];
    size_t nquery;
    s3_kv headers[32];
    size_t nheaders;
    char *owned[128]; /* strings to free */
    size_t nowned;
} vec_file;

static char *vec_dup(vec_file *v, const char *p, size_t n) {
    char *s = malloc(n + 1);
    cr_assert(s != NULL);
    memcpy(s, p, n);
    s[n] = '\0';
    cr_assert(v->nowned < sizeof v->owned / sizeof v->owned[0], "too many strings in one vector file");
    v->owned[v->nowned++] = s;
    return s;
}

static const vec_section *vec_find(const vec_file *v, const char *name) {
    for (size_t i = 0; i < v->nsec; i++)
        if (strcmp(v->sec[i].name, name) == 0) return &v->sec[i];
    return NULL;
}

/* The body of a verbatim section as a NUL-terminated string, or NULL. */
static const char *vec_raw(vec_file *v, const char *name) {
    const vec_section *s = vec_find(v, name);
    return s ? vec_dup(v, s->body, s->len) : NULL;
}

static const char *vec_get(const vec_file *v, const char *key) {
    for (size_t i = 0; i < v->nkeys; i++)
        if (strcmp(v->keys[i], key) == 0) return v->vals[i];
    return NULL;
}

/* Calls fn(v, line, len) for each line of a key-value section that is not
 * blank and not a comment. */
static void vec_lines(vec_file *v, const char *name, void (*fn)(vec_file *, const char *, size_t)) {
    const vec_section *s = vec_find(v, name);
    if (!s) return;
    const char *p = s->body, *end = s->body + s->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (e > p && p[0] != '#') fn(v, p, (size_t)(e - p));
        p = nl ? nl + 1 : end;
    }
}

static void vec_case_line(vec_file *v, const char *line, size_t n) {
    const char *colon = memchr(line, ':', n);
    cr_assert(colon != NULL, "[case] line without ':': %.*s", (int)n, line);
    cr_assert(v->nkeys < 16);
    const char *val = colon + 1, *end = line + n;
    while (val < end && *val == ' ') val++;
    while (end > val && end[-1] == ' ') end--;
    v->keys[v->nkeys] = vec_dup(v, line, (size_t)(colon - line));
    v->vals[v->nkeys] = vec_dup(v, val, (size_t)(end - val));
    v->nkeys++;
}

static void vec_query_line(vec_file *v, const char *line, size_t n) {
    cr_assert(v->nquery < 32);
    const char *eq = memchr(line, '=', n);
    size_t nlen = eq ? (size_t)(eq - line) : n;
    v->query[v->nquery].name = vec_dup(v, line, nlen);
    v->query[v->nquery].value = eq ? vec_dup(v, eq + 1, n - nlen - 1) : vec_dup(v, "", 0);
    v->nquery++;
}

static void vec_header_line(vec_file *v, const char *line, size_t n) {
    cr_assert(v->nheaders < 32);
    const char *colon = memchr(line, ':', n);
    cr_assert(colon != NULL, "[headers] line without ':': %.*s", (int)n, line);
    size_t nlen = (size_t)(colon - line);
    v->headers[v->nheaders].name = vec_dup(v, line, nlen);
    v->headers[v->nheaders].value = vec_dup(v, colon + 1, n - nlen - 1);
    v->nheaders++;
}

/* Splits the file into sections at lines of the form "[name]". A section's
 * body runs to the next one, less its trailing newlines. */
static void vec_load(vec_file *v, const char *path) {
    memset(v, 0, sizeof *v);
    floe_err err = {0};
    size_t len = 0;
    cr_assert(fs_read_all(path, &v->text, &len, &err), "%s: %s", path, err.msg);
    const char *p = v->text, *end = v->text + len;
    vec_section *cur = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        if (n >= 3 && p[0] == '[' && p[n - 1] == ']' && n - 2 < sizeof cur->name && !memchr(p, ' ', n)) {
            cr_assert(v->nsec < 16, "%s: too many sections", path);
            cur = &v->sec[v->nsec++];
            memcpy(cur->name, p + 1, n - 2);
            cur->name[n - 2] = '\0';
            cur->body = nl ? nl + 1 : end;
            cur->len = 0;
        } else if (cur) {
            cur->len = (size_t)((nl ? nl + 1 : end) - cur->body);
        }
        p = nl ? nl + 1 : end;
    }
    for (size_t i = 0; i < v->nsec; i++)
        while (v->sec[i].len && v->sec[i].body[v->sec[i].len - 1] == '\n') v->sec[i].len--;
    cr_assert(vec_find(v, "case") != NULL, "%s: no [case] section", path);
    vec_lines(v, "case", vec_case_line);
    vec_lines(v, "query", vec_query_line);
    vec_lines(v, "headers", vec_header_line);
}

static void vec_free(vec_file *v) {
    for (size_t i = 0; i < v->nowned; i++) free(v->owned[i]);
    free(v->text);
}

/* ================= running one vector ================= */

static void vec_scope(const vec_file *v, char scope[256]) {
    snprintf(scope, 256, "%.8s/%s/%s/aws4_request", vec_get(v, "amz_date"), vec_get(v, "region"),
             vec_get(v, "service"));
}

/* The canonical request, string to sign and signature of the request in the
 * file; returns false when the file has no request in it. */
static bool vec_sign_request(vec_file *v, const char *file, const unsigned char key[32], char sig[65]) {
    const char *method = vec_get(v, "method");
    if (!method) return false;
    const char *path = vec_get(v, "path");
    const char *dbl = vec_get(v, "double_encode");
    s3_kv query[32];
    size_t nquery = 0;
    for (size_t i = 0; i < v->nquery; i++)
        if (strcmp(v->query[i].name, "X-Amz-Signature") != 0) query[nquery++] = v->query[i];
    s3_sigv4_input in = {
        .method = method,
        .path = path,
        .path_len = strlen(path),
        .query = query,
        .nquery = nquery,
        .headers = v->headers,
        .nheaders = v->nheaders,
        .signed_headers = vec_get(v, "signed_headers"),
        .payload_hash = vec_get(v, "payload_hash"),
        .double_encode = dbl && strcmp(dbl, "true") == 0,
    };
    buf_t creq = BUF_INIT, sts = BUF_INIT;
    s3_sigv4_canonical_request(&in, &creq);
    const char *want_creq = vec_raw(v, "canonical_request");
    if (want_creq) cr_expect_str_eq(creq.data, want_creq, "%s: canonical request", file);
    char scope[256];
    vec_scope(v, scope);
    s3_sigv4_string_to_sign(vec_get(v, "amz_date"), scope, creq.data, &sts);
    const char *want_sts = vec_raw(v, "string_to_sign");
    if (want_sts) cr_expect_str_eq(sts.data, want_sts, "%s: string to sign", file);
    s3_sigv4_sign(key, sts.data, sig);
    buf_free(&creq);
    buf_free(&sts);
    return true;
}

static void vec_check_authorization(vec_file *v, const char *file) {
    const char *authz = vec_raw(v, "authorization");
    if (!authz) return;
    s3_sigv4_auth auth;
    floe_err err = {0};
    cr_assert(s3_sigv4_parse_authorization(authz, &auth, &err), "%s: authorization: %s", file, err.msg);
    char scope[256];
    vec_scope(v, scope);
    cr_expect_str_eq(auth.access_key, vec_get(v, "access_key"), "%s: access key", file);
    cr_expect_str_eq(auth.scope, scope, "%s: scope", file);
    cr_expect_str_eq(auth.region, vec_get(v, "region"), "%s: region", file);
    cr_expect_str_eq(auth.service, vec_get(v, "service"), "%s: service", file);
    cr_expect_str_eq(auth.signed_headers, vec_get(v, "signed_headers"), "%s: signed headers", file);
    cr_expect_str_eq(auth.signature, vec_raw(v, "signature"), "%s: signature", file);
}

static void vec_check_presigned(vec_file *v, const char *file) {
    bool presigned = false;
    for (size_t i = 0; i < v->nquery; i++) presigned |= strcmp(v->query[i].name, "X-Amz-Signature") == 0;
    if (!presigned) return;
    s3_sigv4_auth auth;
    floe_err err = {0};
    cr_assert(s3_sigv4_parse_presigned(v->query, v->nquery, &auth, &err), "%s: presigned: %s", file, err.msg);
    char scope[256];
    vec_scope(v, scope);
    cr_expect_str_eq(auth.access_key, vec_get(v, "access_key"), "%s: access key", file);
    cr_expect_str_eq(auth.scope, scope, "%s: scope", file);
    cr_expect_str_eq(auth.amz_date, vec_get(v, "amz_date"), "%s: X-Amz-Date", file);
    cr_expect_str_eq(auth.signed_headers, vec_get(v, "signed_headers"), "%s: signed headers", file);
    cr_expect_str_eq(auth.signature, vec_raw(v, "signature"), "%s: signature", file);
}

/* "<size> <fill byte> <sha256 hex> <signature>" per line, chained from the
 * seed signature. */
static char vec_chunk_prev[65];
static const unsigned char *vec_chunk_key;
static const char *vec_chunk_file;
static char vec_chunk_scope[256];
static const char *vec_chunk_date;

static void vec_chunk_line(vec_file *v, const char *line, size_t n) {
    char *s = vec_dup(v, line, n);
    unsigned long size = 0;
    char fill = 0, want_hash[65], want_sig[65];
    cr_assert(sscanf(s, "%lu %c %64s %64s", &size, &fill, want_hash, want_sig) == 4, "%s: bad [chunks] line: %s",
              vec_chunk_file, s);
    char *data = malloc(size ? size : 1);
    cr_assert(data != NULL);
    memset(data, fill, size);
    char hash[65], sig[65];
    hash_sha256_hex(data, size, hash);
    free(data);
    cr_expect_str_eq(hash, want_hash, "%s: sha256 of the %lu-byte chunk", vec_chunk_file, size);
    s3_sigv4_chunk_signature(vec_chunk_key, vec_chunk_date, vec_chunk_scope, vec_chunk_prev, hash, sig);
    cr_expect_str_eq(sig, want_sig, "%s: signature of the %lu-byte chunk", vec_chunk_file, size);
    memcpy(vec_chunk_prev, want_sig, 65);
}

static void vec_check_chunks(vec_file *v, const char *file, const unsigned char key[32], const char *seed) {
    if (!vec_find(v, "chunks")) return;
    vec_chunk_key = key;
    vec_chunk_file = file;
    vec_chunk_date = vec_get(v, "amz_date");
    vec_scope(v, vec_chunk_scope);
    snprintf(vec_chunk_prev, sizeof vec_chunk_prev, "%s", seed);
    vec_lines(v, "chunks", vec_chunk_line);
    const char *trailers = vec_raw(v, "trailers");
    const char *want = vec_raw(v, "trailer_signature");
    if (!trailers || !want) return;
    buf_t raw = BUF_INIT; /* each line ends in "\n" when signed */
    buf_puts(&raw, trailers);
    buf_putc(&raw, '\n');
    char sig[65];
    s3_sigv4_trailer_signature(key, vec_chunk_date, vec_chunk_scope, vec_chunk_prev, raw.data, raw.len, sig);
    cr_expect_str_eq(sig, want, "%s: trailer signature", file);
    buf_free(&raw);
}

static void vec_run(const char *file) {
    vec_file v;
    vec_load(&v, file);
    unsigned char key[32];
    char amz8[9];
    snprintf(amz8, sizeof amz8, "%.8s", vec_get(&v, "amz_date"));
    s3_sigv4_signing_key(vec_get(&v, "secret"), amz8, vec_get(&v, "region"), vec_get(&v, "service"), key);
    const char *want_key = vec_raw(&v, "signing_key");
    if (want_key) {
        char hex[65];
        str_hex(key, 32, hex);
        cr_expect_str_eq(hex, want_key, "%s: signing key", file);
    }
    const char *want_sig = vec_raw(&v, "signature");
    char sig[65];
    if (vec_sign_request(&v, file, key, sig) && want_sig) {
        cr_expect_str_eq(sig, want_sig, "%s: signature", file);
        cr_expect(s3_sigv4_sig_equal(sig, want_sig), "%s: s3_sigv4_sig_equal", file);
    }
    vec_check_authorization(&v, file);
    vec_check_presigned(&v, file);
    if (want_sig) vec_check_chunks(&v, file, key, want_sig);
    vec_free(&v);
}

static int vec_name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(sigv4, vectors_all) {
    DIR *d = opendir(SIGV4_DATA_DIR);
    cr_assert(d != NULL, "cannot open %s (run the tests from the repository root)", SIGV4_DATA_DIR);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!str_ends_with(e->d_name, ".txt")) continue;
        cr_assert(n < 256);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], vec_name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SIGV4_DATA_DIR, names[i]);
        vec_run(path);
        free(names[i]);
    }
    /* The S3 examples and the suite are all there: losing a file must fail. */
    cr_expect_geq(n, 30, "only %zu vector files in %s", n, SIGV4_DATA_DIR);
}

/* The S3 documentation's examples, by name, so that a renamed or deleted file
 * is noticed rather than silently skipped. */
Test(sigv4, vectors_s3_examples_present) {
    static const char *const files[] = {
        "s3-get-object.txt",    "s3-put-object.txt",  "s3-get-bucket-lifecycle.txt", "s3-list-objects.txt",
        "s3-presigned-get.txt", "s3-chunked-put.txt", "s3-chunked-put-trailer.txt",  "suite-get-vanilla.txt",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SIGV4_DATA_DIR, files[i]);
        cr_expect(fs_exists(path), "missing vector %s", path);
    }
}

/* ================= canonical request properties ================= */

static char *creq_of(const char *method, const char *path, const s3_kv *q, size_t nq, const s3_kv *h, size_t nh,
                     const char *signed_headers, bool dbl) {
    s3_sigv4_input in = {method, path, strlen(path), q, nq, h, nh, signed_headers, "UNSIGNED-PAYLOAD", dbl, false};
    buf_t b = BUF_INIT;
    s3_sigv4_canonical_request(&in, &b);
    return buf_steal(&b);
}

Test(sigv4, s3_path_is_encoded_once_and_not_normalised) {
    s3_kv h[] = {{"host", "h"}};
    char *c = creq_of("GET", "/bucket/a b/./../+%é~//x", NULL, 0, h, 1, "host", false);
    cr_expect_str_eq(c, "GET\n/bucket/a%20b/./../%2B%25%C3%A9~//x\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, path_with_nul_byte_uses_path_len) {
    s3_kv h[] = {{"host", "h"}};
    s3_sigv4_input in = {"GET", "/a\0b", 4, NULL, 0, h, 1, "host", S3_EMPTY_SHA256, false, false};
    buf_t b = BUF_INIT;
    s3_sigv4_canonical_request(&in, &b);
    cr_expect(strstr(b.data, "\n/a%00b\n") != NULL, "%s", b.data);
    buf_free(&b);
}

Test(sigv4, empty_path_is_slash) {
    s3_kv h[] = {{"host", "h"}};
    char *c = creq_of("GET", "", NULL, 0, h, 1, "host", false);
    cr_expect_str_eq(c, "GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(c);
    c = creq_of("GET", "", NULL, 0, h, 1, "host", true);
    cr_expect_str_eq(c, "GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, double_encode_normalises) {
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"/a/b/../c", "/a/c"},
        {"/a/b/..", "/a/"},
        {"/../..", "/"},
        {"/a/./b/", "/a/b/"},
        {"/a%b", "/a%2525b"},
        {"///", "/"},
        {"/a//b", "/a/b"},
        {"/a/.", "/a/"},
        {"/.a/..b", "/.a/..b"},
        {"/~-_.", "/~-_."},
        {"/a b/c+d", "/a%2520b/c%252Bd"},
    };
    s3_kv h[] = {{"host", "h"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *c = creq_of("GET", cases[i].path, NULL, 0, h, 1, "host", true);
        char want[256];
        snprintf(want, sizeof want, "GET\n%s\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD", cases[i].want);
        cr_expect_str_eq(c, want, "path %s", cases[i].path);
        free(c);
    }
}

Test(sigv4, query_sorted_by_encoded_name_then_value) {
    s3_kv q[] = {{"b", "2"}, {"a", "z"}, {"a", "Y"}, {"a b", "x/y"}, {"A", NULL}, {"prefix", ""}};
    s3_kv h[] = {{"host", "h"}};
    char *c = creq_of("GET", "/", q, 6, h, 1, "host", false);
    cr_expect_str_eq(c, "GET\n/\nA=&a=Y&a=z&a%20b=x%2Fy&b=2&prefix=\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, headers_canonicalised) {
    s3_kv h[] = {
        {"X-Amz-Meta-Multi", "  one  "}, {"Host", "example.com"}, {"x-amz-meta-multi", "two\t\t three"},
        {"X-Unsigned", "ignored"},       {"Content-Type", ""},    {"X-AMZ-DATE", "20130524T000000Z"},
    };
    char *c = creq_of("PUT", "/k", NULL, 0, h, 6, "content-type;host;x-amz-date;x-amz-meta-multi", false);
    cr_expect_str_eq(c, "PUT\n/k\n\ncontent-type:\nhost:example.com\nx-amz-date:20130524T000000Z\n"
                        "x-amz-meta-multi:one,two three\n\ncontent-type;host;x-amz-date;x-amz-meta-multi\n"
                        "UNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, signed_headers_lowered_sorted_deduplicated) {
    s3_kv h[] = {{"host", "h"}, {"x-amz-date", "d"}};
    char *c = creq_of("GET", "/", NULL, 0, h, 2, "X-Amz-Date;;host;HOST;", false);
    cr_expect_str_eq(c, "GET\n/\n\nhost:h\nx-amz-date:d\n\nhost;x-amz-date\nUNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, missing_signed_header_gets_empty_value) {
    s3_kv h[] = {{"host", "h"}};
    char *c = creq_of("GET", "/", NULL, 0, h, 1, "host;range", false);
    cr_expect_str_eq(c, "GET\n/\n\nhost:h\nrange:\n\nhost;range\nUNSIGNED-PAYLOAD");
    free(c);
}

Test(sigv4, null_inputs_do_not_crash) {
    s3_sigv4_input in = {0};
    buf_t b = BUF_INIT;
    s3_sigv4_canonical_request(&in, &b);
    cr_expect_str_eq(b.data, "\n/\n\n\n\n");
    buf_free(&b);
}

/* ================= signatures ================= */

Test(sigv4, sig_equal) {
    const char *a = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    cr_expect(s3_sigv4_sig_equal(a, a));
    cr_expect(s3_sigv4_sig_equal(a, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    cr_expect(!s3_sigv4_sig_equal(a, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb40"));
    cr_expect(!s3_sigv4_sig_equal(a, "00e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    cr_expect(!s3_sigv4_sig_equal(a, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb4"));
    cr_expect(!s3_sigv4_sig_equal(a, ""));
    cr_expect(!s3_sigv4_sig_equal("", ""));
    cr_expect(!s3_sigv4_sig_equal(a, NULL));
    cr_expect(!s3_sigv4_sig_equal(NULL, NULL));
}

Test(sigv4, trailer_signature_of_nothing) {
    unsigned char key[32];
    s3_sigv4_signing_key("secret", "20130524", "us-east-1", "s3", key);
    char a[65], b[65];
    s3_sigv4_trailer_signature(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", S3_EMPTY_SHA256, NULL, 0,
                               a);
    s3_sigv4_trailer_signature(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", S3_EMPTY_SHA256, "", 0,
                               b);
    cr_expect_str_eq(a, b);
    cr_expect_eq(strlen(a), 64);
}

/* ================= the Authorization header ================= */

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SIG "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
#define CRED "Credential=" AK "/20130524/us-east-1/s3/aws4_request"

Test(sigv4, authorization_spacing_and_order) {
    static const char *const ok[] = {
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;range;x-amz-date, Signature=" SIG,
        "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-date,Signature=" SIG,
        "  AWS4-HMAC-SHA256   " CRED " ,\tSignedHeaders=host;range;x-amz-date ,  Signature=" SIG "  ",
        "AWS4-HMAC-SHA256 Signature=" SIG ", SignedHeaders=host;range;x-amz-date, " CRED,
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;range;x-amz-date, Signature=" SIG ",",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        s3_sigv4_auth a;
        floe_err err = {0};
        cr_assert(s3_sigv4_parse_authorization(ok[i], &a, &err), "%s: %s", ok[i], err.msg);
        cr_expect_str_eq(a.access_key, AK);
        cr_expect_str_eq(a.date, "20130524");
        cr_expect_str_eq(a.region, "us-east-1");
        cr_expect_str_eq(a.service, "s3");
        cr_expect_str_eq(a.scope, "20130524/us-east-1/s3/aws4_request");
        cr_expect_str_eq(a.signed_headers, "host;range;x-amz-date");
        cr_expect_str_eq(a.signature, SIG);
        cr_expect_str_eq(a.amz_date, "");
        cr_expect_eq(a.expires, 0);
    }
}

Test(sigv4, credential_dates_must_be_real_days) {
    static const struct {
        const char *date;
        bool ok;
    } cases[] = {{"20120229", true},  {"20000229", true}, {"20130229", false}, {"19000229", false},
                 {"20130431", false}, {"20131231", true}, {"20130001", false}, {"20130100", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char v[256];
        snprintf(v, sizeof v, "AWS4-HMAC-SHA256 Credential=AK/%s/r/s3/aws4_request, SignedHeaders=host, Signature=%s",
                 cases[i].date, SIG);
        s3_sigv4_auth a;
        floe_err err = {0};
        cr_expect_eq(s3_sigv4_parse_authorization(v, &a, &err), cases[i].ok, "%s: %s", cases[i].date, err.msg);
        if (!cases[i].ok) cr_expect(strstr(err.msg, "date") != NULL, "%s", err.msg);
    }
}

Test(sigv4, authorization_signature_lowered) {
    s3_sigv4_auth a;
    floe_err err = {0};
    cr_assert(s3_sigv4_parse_authorization("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
                                           "FE5F80F77D5FA3BECA038A248FF027D0445342FE2855DDC963176630326F1024",
                                           &a, &err),
              "%s", err.msg);
    cr_expect_str_eq(a.signature, SIG);
}

typedef struct bad_case {
    const char *input;
    const char *needle; /* must appear in the message */
} bad_case;

static void expect_bad_authorization(const char *input, const char *needle) {
    s3_sigv4_auth a;
    floe_err err = {0};
    cr_expect(!s3_sigv4_parse_authorization(input, &a, &err), "accepted: %s", input ? input : "(null)");
    cr_expect_eq(err.code, FLOE_EINVAL, "code for %s", input ? input : "(null)");
    cr_expect(strstr(err.msg, needle) != NULL, "message for [%s] should name %s: %s", input ? input : "(null)", needle,
              err.msg);
}

Test(sigv4, authorization_bad) {
    static const bad_case cases[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"AWS4-HMAC-SHA1 " CRED ", SignedHeaders=host, Signature=" SIG, "algorithm"},
        {"AWS " AK ":frJIUN8DYpKDtOLCwo//yllqDzg=", "algorithm"},
        {"aws4-hmac-sha256 " CRED ", SignedHeaders=host, Signature=" SIG, "algorithm"},
        {"AWS4-HMAC-SHA256", "Credential"},
        {"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" SIG, "Credential"},
        {"AWS4-HMAC-SHA256 " CRED ", Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host", "Signature"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=abc", "Signature"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" SIG "0", "Signature"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
         "ge5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
         "Signature"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" SIG ", Signature=" SIG, "twice"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" SIG ", Foo=bar", "Foo"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders, Signature=" SIG, "Key=Value"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;range, Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=;host, Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;, Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=ho:st, Signature=" SIG, "SignedHeaders"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3, SignedHeaders=host, Signature=" SIG, "parts"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=" SIG,
         "parts"},
        {"AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=" SIG, "parts"},
        {"AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "access key"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/2013052/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "date"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20131324/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "date"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130230/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "date"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/2013-5-24/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "date"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524//s3/aws4_request, SignedHeaders=host, Signature=" SIG, "region"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1//aws4_request, SignedHeaders=host, Signature=" SIG,
         "service"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/aws4_reques, SignedHeaders=host, Signature=" SIG,
         "aws4_request"},
        {"AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=" SIG,
         "aws4_request"},
        {"AWS4-HMAC-SHA256 Credential=AK\x01/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG,
         "access key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_authorization(cases[i].input, cases[i].needle);
    expect_bad_authorization(NULL, "missing");
}

/* Builds "AWS4-HMAC-SHA256 Credential=<ak>/<date>/<region>/<service>/aws4_request,
 * SignedHeaders=<sh>, Signature=<sig>" with one part replaced by n copies of 'a'. */
static char *authz_with_long(int which, size_t n) {
    char *longp = malloc(n + 1);
    cr_assert(longp != NULL);
    memset(longp, 'a', n);
    longp[n] = '\0';
    buf_t b = BUF_INIT;
    buf_printf(&b, "AWS4-HMAC-SHA256 Credential=%s/20130524/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
               which == 0 ? longp : AK, which == 1 ? longp : "us-east-1", which == 2 ? longp : "s3",
               which == 3 ? longp : "host", SIG);
    free(longp);
    return buf_steal(&b);
}

Test(sigv4, authorization_overlong_fields) {
    static const struct {
        int which;
        size_t max;
        const char *needle;
    } fields[] = {{0, 128, "access key"}, {1, 63, "region"}, {2, 31, "service"}, {3, 1023, "SignedHeaders"}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *at_max = authz_with_long(fields[i].which, fields[i].max);
        s3_sigv4_auth a;
        floe_err err = {0};
        cr_expect(s3_sigv4_parse_authorization(at_max, &a, &err), "%s at its limit: %s", fields[i].needle, err.msg);
        free(at_max);
        char *over = authz_with_long(fields[i].which, fields[i].max + 1);
        expect_bad_authorization(over, fields[i].needle);
        free(over);
        char *huge = authz_with_long(fields[i].which, 100000);
        expect_bad_authorization(huge, fields[i].needle);
        free(huge);
    }
}

Test(sigv4, authorization_message_does_not_echo_control_bytes) {
    s3_sigv4_auth a;
    floe_err err = {0};
    cr_expect(!s3_sigv4_parse_authorization("AWS4\x1b[31m-HMAC " CRED, &a, &err));
    cr_expect(strchr(err.msg, '\x1b') == NULL, "%s", err.msg);
}

/* ================= presigned URLs ================= */

#define P_ALG                                                                                                          \
    { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" }
#define P_CRED                                                                                                         \
    { "X-Amz-Credential", AK "/20130524/us-east-1/s3/aws4_request" }
#define P_DATE                                                                                                         \
    { "X-Amz-Date", "20130524T000000Z" }
#define P_EXP                                                                                                          \
    { "X-Amz-Expires", "86400" }
#define P_SH                                                                                                           \
    { "X-Amz-SignedHeaders", "host" }
#define P_SIG                                                                                                          \
    { "X-Amz-Signature", SIG }

Test(sigv4, presigned_ok) {
    s3_kv q[] = {{"response-content-type", "text/plain"}, P_SIG, P_SH, P_EXP, P_DATE, P_CRED, P_ALG};
    s3_sigv4_auth a;
    floe_err err = {0};
    cr_assert(s3_sigv4_parse_presigned(q, 7, &a, &err), "%s", err.msg);
    cr_expect_str_eq(a.access_key, AK);
    cr_expect_str_eq(a.scope, "20130524/us-east-1/s3/aws4_request");
    cr_expect_str_eq(a.amz_date, "20130524T000000Z");
    cr_expect_eq(a.expires, 86400);
    cr_expect_str_eq(a.signed_headers, "host");
    cr_expect_str_eq(a.signature, SIG);
}

static void expect_bad_presigned(const s3_kv *q, size_t n, const char *needle) {
    s3_sigv4_auth a;
    floe_err err = {0};
    cr_expect(!s3_sigv4_parse_presigned(q, n, &a, &err), "accepted (wanted an error naming %s)", needle);
    cr_expect_eq(err.code, FLOE_EINVAL);
    cr_expect(strstr(err.msg, needle) != NULL, "message should name %s: %s", needle, err.msg);
}

/* The six parameters with the one named `name` replaced by value (or left
 * out when value is NULL). */
static size_t presigned_with(s3_kv q[7], const char *name, const char *value) {
    const s3_kv base[] = {P_ALG, P_CRED, P_DATE, P_EXP, P_SH, P_SIG};
    size_t n = 0;
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(base[i].name, name) != 0) {
            q[n++] = base[i];
        } else if (value) {
            q[n].name = name;
            q[n++].value = value;
        }
    }
    return n;
}

Test(sigv4, presigned_bad) {
    static const struct {
        const char *name, *value, *needle;
    } cases[] = {
        {"X-Amz-Algorithm", NULL, "X-Amz-Algorithm"},
        {"X-Amz-Credential", NULL, "X-Amz-Credential"},
        {"X-Amz-Date", NULL, "X-Amz-Date"},
        {"X-Amz-Expires", NULL, "X-Amz-Expires"},
        {"X-Amz-SignedHeaders", NULL, "X-Amz-SignedHeaders"},
        {"X-Amz-Signature", NULL, "X-Amz-Signature"},
        {"X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256", "algorithm"},
        {"X-Amz-Algorithm", "", "X-Amz-Algorithm"},
        {"X-Amz-Credential", AK "/20130524/us-east-1/s3", "X-Amz-Credential"},
        {"X-Amz-Credential", AK "/2013x524/us-east-1/s3/aws4_request", "date"},
        {"X-Amz-Date", "20130524", "X-Amz-Date"},
        {"X-Amz-Date", "20130524T000000", "X-Amz-Date"},
        {"X-Amz-Date", "20130524T250000Z", "X-Amz-Date"},
        {"X-Amz-Date", "2013-05-24T00:00:00Z", "X-Amz-Date"},
        {"X-Amz-Date", "20130525T000000Z", "X-Amz-Date"}, /* not the scope's day */
        {"X-Amz-Date", "20130231T000000Z", "X-Amz-Date"},
        {"X-Amz-Expires", "0", "X-Amz-Expires"},
        {"X-Amz-Expires", "604801", "X-Amz-Expires"},
        {"X-Amz-Expires", "-1", "X-Amz-Expires"},
        {"X-Amz-Expires", "", "X-Amz-Expires"},
        {"X-Amz-Expires", "1e3", "X-Amz-Expires"},
        {"X-Amz-Expires", " 60", "X-Amz-Expires"},
        {"X-Amz-Expires", "99999999999999999999999", "X-Amz-Expires"},
        {"X-Amz-SignedHeaders", "", "X-Amz-SignedHeaders"},
        {"X-Amz-SignedHeaders", "host;", "X-Amz-SignedHeaders"},
        {"X-Amz-Signature", "", "X-Amz-Signature"},
        {"X-Amz-Signature", SIG "00", "X-Amz-Signature"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s3_kv q[7];
        size_t n = presigned_with(q, cases[i].name, cases[i].value);
        expect_bad_presigned(q, n, cases[i].needle);
    }
}

Test(sigv4, presigned_expires_limits) {
    s3_kv q[7];
    s3_sigv4_auth a;
    floe_err err = {0};
    size_t n = presigned_with(q, "X-Amz-Expires", "1");
    cr_expect(s3_sigv4_parse_presigned(q, n, &a, &err), "%s", err.msg);
    cr_expect_eq(a.expires, 1);
    n = presigned_with(q, "X-Amz-Expires", "604800");
    cr_expect(s3_sigv4_parse_presigned(q, n, &a, &err), "%s", err.msg);
    cr_expect_eq(a.expires, 604800);
}

Test(sigv4, presigned_duplicate_parameter) {
    s3_kv q[] = {P_ALG, P_CRED, P_DATE, P_EXP, P_SH, P_SIG, P_SIG};
    expect_bad_presigned(q, 7, "twice");
}

Test(sigv4, presigned_empty_and_null) {
    expect_bad_presigned(NULL, 0, "X-Amz-Algorithm");
    s3_kv q[] = {{NULL, NULL}, {"X-Amz-Algorithm", NULL}};
    expect_bad_presigned(q, 2, "X-Amz-Credential");
}

Test(sigv4, presigned_overlong_credential) {
    buf_t b = BUF_INIT;
    for (int i = 0; i < 129; i++) buf_putc(&b, 'K');
    buf_puts(&b, "/20130524/us-east-1/s3/aws4_request");
    s3_kv q[7];
    size_t n = presigned_with(q, "X-Amz-Credential", b.data);
    expect_bad_presigned(q, n, "access key");
    buf_free(&b);
}

Test(sigv4, encoded_path_is_used_verbatim) {
    s3_kv h[] = {{"host", "h"}};
    s3_sigv4_input in = {"PUT", "/b/..%2Fx", 9, NULL, 0, h, 1, "host", "UNSIGNED-PAYLOAD", false, true};
    buf_t b = BUF_INIT;
    s3_sigv4_canonical_request(&in, &b);
    cr_expect_str_eq(b.data, "PUT\n/b/..%2Fx\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    buf_free(&b);
}
