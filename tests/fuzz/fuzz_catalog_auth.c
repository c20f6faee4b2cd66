/*
 * fuzz_catalog_auth.c: libFuzzer harness for the catalog's bearer tokens
 * (src/catalog/auth.c) and the vended S3 credentials (src/store/s3/vended.c),
 * the two stateless credentials a client can hand back to Floe.
 *
 * Input: byte 0 picks the mode, then up to three strings separated by NUL.
 *   0: verify string 1 as a bearer token: must not crash; a forged token
 *      must never verify.
 *   1: issue a token for principal string 1, change the byte at position
 *      byte 1 of string 2 to byte 2 of it: the changed token must not verify,
 *      the unchanged one must, with the same claims.
 *   2: verify strings 1 and 2 as a vended access key and session token.
 *   3: issue vended keys for prefix string 1: a prefix with '.' or '..'
 *      segments or a leading '/' must be refused; issued keys must verify to
 *      exactly that prefix, and a changed token must not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_http.h"
#include "store/s3/s3.h"

#define ROOT "fuzz-root-secret-0123456789"
#define NOW 1800000000

static void split(const uint8_t *p, size_t n, char *parts[3]) {
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= n && k < 3; i++) {
        if (i == n || p[i] == 0) {
            parts[k] = strndup((const char *)p + start, i - start);
            k++;
            start = i + 1;
        }
    }
    for (; k < 3; k++) parts[k] = strdup("");
}

static bool bad_prefix(const char *pre) {
    if (pre[0] == '/') return true;
    const char *s = pre;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.')) return true;
        if (!e) break;
        s = e + 1;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] & 3;
    char *s[3];
    split(data + 1, size - 1, s);
    floe_err err = {0};
    switch (mode) {
    case 0: {
        cat_token_claims c;
        if (cat_token_verify(ROOT, s[0], NOW, &c, &err)) {
            /* only a token this secret signed verifies: re-issuing the
             * claims must give back the same text */
            char again[CAT_TOKEN_MAX + 1];
            if (!cat_token_issue(ROOT, c.principal, c.write, c.expires_s, again, sizeof again, &err) ||
                strcmp(again, s[0]))
                abort();
        }
        break;
    }
    case 1: {
        char tok[CAT_TOKEN_MAX + 1];
        if (!cat_token_issue(ROOT, s[0], s[1][0] & 1, NOW + 60, tok, sizeof tok, &err)) break;
        cat_token_claims c;
        if (!cat_token_verify(ROOT, tok, NOW, &c, &err) || strcmp(c.principal, s[0]) || c.write != (s[1][0] & 1))
            abort();
        size_t len = strlen(tok);
        if (len == 0 || !s[1][0]) break;
        size_t at = (unsigned char)s[1][0] % len;
        char b = s[1][1] ? s[1][1] : 'A';
        if (tok[at] == b) break;
        tok[at] = b;
        if (cat_token_verify(ROOT, tok, NOW, &c, &err)) abort();
        break;
    }
    case 2: {
        s3_vended_grant g;
        (void)s3_vended_verify(ROOT, s[0], s[1], NOW, &g, &err);
        break;
    }
    case 3: {
        s3_vended v;
        bool write = s[1][0] & 1;
        if (!s3_vended_issue(ROOT, "warehouse", s[0], write, NOW + 60, &v, &err)) break;
        if (bad_prefix(s[0])) abort();
        s3_vended_grant g;
        if (!s3_vended_verify(ROOT, v.access_key, v.session_token, NOW, &g, &err)) abort();
        if (strcmp(g.bucket, "warehouse") || g.write != write || strncmp(g.prefix, s[0], strlen(s[0])) ||
            strcmp(g.secret_key, v.secret_key))
            abort();
        if (s3_vended_verify(ROOT, v.access_key, v.session_token, NOW + 120, &g, &err)) abort(); /* expired */
        size_t len = strlen(v.session_token);
        size_t at = s[2][0] ? (unsigned char)s[2][0] % len : 0;
        char b = s[2][0] && s[2][1] ? s[2][1] : 'Z';
        if (v.session_token[at] != b) {
            v.session_token[at] = b;
            if (s3_vended_verify(ROOT, v.access_key, v.session_token, NOW, &g, &err)) abort();
        }
        break;
    }
    }
    for (int k = 0; k < 3; k++) free(s[k]);
    return 0;
}
