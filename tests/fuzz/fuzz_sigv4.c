/*
 * fuzz_sigv4.c: libFuzzer harness for SigV4 (src/store/s3/sigv4.c).
 *
 * One input is used three ways: as an Authorization header value, as a query
 * string split on '&' and '=' (percent-decoded) for the presigned parser, and
 * as the path, query and headers of a canonical request, in both the S3 and
 * the double-encoding modes. Beyond "no crash, no leak" it checks what the
 * parsers promise on success: bounded, well-formed fields, a 64-hex lower-case
 * signature and an expiry in range; and that canonicalisation is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "store/s3/s3_int.h"

#define FUZZ_MAX_PARAMS 64

static void fuzz_check(bool ok) {
    if (!ok) abort();
}

static void fuzz_check_field(const char *s, size_t cap) { fuzz_check(memchr(s, '\0', cap) != NULL); }

/* What every successful parse promises about its output. */
static void fuzz_check_auth(const s3_sigv4_auth *a) {
    fuzz_check_field(a->access_key, sizeof a->access_key);
    fuzz_check_field(a->region, sizeof a->region);
    fuzz_check_field(a->service, sizeof a->service);
    fuzz_check_field(a->scope, sizeof a->scope);
    fuzz_check_field(a->signed_headers, sizeof a->signed_headers);
    fuzz_check(a->access_key[0] && a->region[0] && a->service[0] && a->signed_headers[0]);
    fuzz_check(strlen(a->date) == 8);
    fuzz_check(strlen(a->signature) == 64);
    for (int i = 0; i < 64; i++)
        fuzz_check((a->signature[i] >= '0' && a->signature[i] <= '9') ||
                   (a->signature[i] >= 'a' && a->signature[i] <= 'f'));
    fuzz_check(str_ends_with(a->scope, "/aws4_request"));
}

/* Splits s on '&' and then '=' and percent-decodes each side; the decoded
 * strings go into store (each NUL-terminated) and q points into it. */
static size_t fuzz_split_query(const char *s, size_t n, buf_t *store, size_t offs[][2]) {
    size_t count = 0, i = 0;
    while (i <= n && count < FUZZ_MAX_PARAMS) {
        size_t start = i;
        while (i < n && s[i] != '&') i++;
        const char *item = s + start;
        size_t len = i - start;
        const char *eq = memchr(item, '=', len);
        size_t nlen = eq ? (size_t)(eq - item) : len;
        offs[count][0] = store->len;
        if (!str_uri_decode(item, nlen, true, store)) buf_append(store, item, nlen);
        buf_putc(store, '\0');
        offs[count][1] = store->len;
        if (eq && !str_uri_decode(eq + 1, len - nlen - 1, true, store)) buf_append(store, eq + 1, len - nlen - 1);
        buf_putc(store, '\0');
        count++;
        i++; /* past '&' */
    }
    return count;
}

static void fuzz_canonical(const uint8_t *data, size_t size, const s3_kv *kv, size_t nkv, const char *signed_headers,
                           bool double_encode) {
    s3_sigv4_input in = {
        .method = "PUT",
        .path = (const char *)data,
        .path_len = size,
        .query = kv,
        .nquery = nkv,
        .headers = kv,
        .nheaders = nkv,
        .signed_headers = signed_headers,
        .payload_hash = S3_UNSIGNED_PAYLOAD,
        .double_encode = double_encode,
    };
    buf_t a = BUF_INIT, b = BUF_INIT, sts = BUF_INIT;
    s3_sigv4_canonical_request(&in, &a);
    s3_sigv4_canonical_request(&in, &b);
    fuzz_check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    s3_sigv4_string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", a.data, &sts);
    unsigned char key[32];
    s3_sigv4_signing_key("secret", "20130524", "us-east-1", "s3", key);
    char sig[65];
    s3_sigv4_sign(key, sts.data, sig);
    fuzz_check(s3_sigv4_sig_equal(sig, sig));
    buf_free(&a);
    buf_free(&b);
    buf_free(&sts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    bool double_encode = size > 0 && (data[0] & 1);

    /* 1. The Authorization header. */
    s3_sigv4_auth auth;
    floe_err err = {0};
    bool auth_ok = s3_sigv4_parse_authorization(text, &auth, &err);
    if (auth_ok)
        fuzz_check_auth(&auth);
    else
        fuzz_check(err.code == FLOE_EINVAL && err.msg[0] != '\0');

    /* 2. A presigned query string. */
    buf_t store = BUF_INIT;
    size_t offs[FUZZ_MAX_PARAMS][2];
    size_t nkv = fuzz_split_query(text, size, &store, offs);
    s3_kv kv[FUZZ_MAX_PARAMS];
    for (size_t i = 0; i < nkv; i++) {
        kv[i].name = store.data + offs[i][0];
        kv[i].value = store.data + offs[i][1];
    }
    s3_sigv4_auth pre;
    floe_err perr = {0};
    if (s3_sigv4_parse_presigned(kv, nkv, &pre, &perr)) {
        fuzz_check_auth(&pre);
        fuzz_check(pre.expires >= 1 && pre.expires <= 604800);
        fuzz_check(strlen(pre.amz_date) == 16 && memcmp(pre.amz_date, pre.date, 8) == 0);
    } else {
        fuzz_check(perr.code == FLOE_EINVAL && perr.msg[0] != '\0');
    }

    /* 3. Canonical requests: the input as the path, the pairs as query and
     * headers, signed over the parsed header list or over the input itself. */
    fuzz_canonical(data, size, kv, nkv, auth_ok ? auth.signed_headers : text, double_encode);
    fuzz_canonical(data, size, kv, nkv, text, !double_encode);

    /* 4. Chunk and trailer signatures over arbitrary strings. */
    unsigned char key[32];
    s3_sigv4_signing_key(text, text, text, text, key);
    char chunk_sig[65], trailer_sig[65];
    s3_sigv4_chunk_signature(key, text, text, text, text, chunk_sig);
    s3_sigv4_trailer_signature(key, text, text, chunk_sig, text, size, trailer_sig);
    fuzz_check(strlen(chunk_sig) == 64 && strlen(trailer_sig) == 64);

    buf_free(&store);
    free(text);
    return 0;
}
