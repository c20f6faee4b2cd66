/*
 * vended.c: short-lived S3 credentials scoped to one prefix, which the
 * catalog hands to engines (Iceberg REST "vended credentials").
 *
 * They are stateless, so any node holding the root secret can check them:
 * the session token carries the grant in the clear (expiry, read or
 * read-write, bucket/prefix), the access key is an HMAC of the token under a
 * key derived from the root secret, and the secret key is another HMAC of
 * it. Changing a byte of the token changes both, so a client cannot widen
 * its grant without the root secret; the signature of every request proves
 * it holds the derived secret. Nothing is stored, and nothing needs revoking
 * but the root secret itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/str.h"
#include "store/s3/s3.h"

#define TOKEN_MAGIC "FV1"

static void derive(const char *root_secret, const char *purpose, const char *token, char *out, size_t nhex) {
    unsigned char k[32], mac[32];
    hash_hmac_sha256(root_secret, strlen(root_secret), purpose, strlen(purpose), k);
    hash_hmac_sha256(k, sizeof k, token, strlen(token), mac);
    char hex[65];
    str_hex(mac, sizeof mac, hex);
    memcpy(out, hex, nhex);
    out[nhex] = 0;
}

static void access_key_of(const char *root_secret, const char *token, char out[S3_VENDED_AK_LEN + 1]) {
    memcpy(out, S3_VENDED_AK_PREFIX, strlen(S3_VENDED_AK_PREFIX));
    derive(root_secret, "floe vended access key v1", token, out + strlen(S3_VENDED_AK_PREFIX),
           S3_VENDED_AK_LEN - strlen(S3_VENDED_AK_PREFIX));
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
}

/* A prefix a grant may name: relative, no empty, "." or ".." segments, no
 * control characters, ending in '/' so "t1/" never covers "t10/". */
static bool prefix_valid(const char *p, const char **why) {
    size_t n = strlen(p);
    if (n == 0 || n > S3_VENDED_MAX_PREFIX) return *why = "the prefix must be 1-512 bytes", false;
    if (p[n - 1] != '/') return *why = "the prefix must end in '/'", false;
    if (p[0] == '/') return *why = "the prefix must not start with '/'", false;
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return *why = "the prefix holds a control character", false;
    for (const char *seg = p; *seg;) {
        const char *end = strchr(seg, '/');
        size_t len = (size_t)(end - seg);
        if (len == 0) return *why = "the prefix has an empty segment ('//')", false;
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return *why = "the prefix has a '.' or '..' segment", false;
        seg = end + 1;
    }
    return true;
}

bool s3_vended_issue(const char *root_secret, const char *bucket, const char *prefix, bool write, int64_t expires_s,
                     s3_vended *out, floe_err *err) {
    const char *why = NULL;
    if (!s3_bucket_name_valid(bucket, &why))
        return floe_err_set(err, FLOE_EINVAL, "vended credentials: bucket '%s' is not valid: %s", bucket, why);
    if (!prefix_valid(prefix, &why))
        return floe_err_set(err, FLOE_EINVAL, "vended credentials: prefix '%s' is not valid: %s", prefix, why);
    char payload[S3_VENDED_MAX_PREFIX + 128];
    int n =
        snprintf(payload, sizeof payload, "%lld\n%c\n%s/%s", (long long)expires_s, write ? 'w' : 'r', bucket, prefix);
    memcpy(out->session_token, TOKEN_MAGIC, sizeof TOKEN_MAGIC);
    str_hex((const unsigned char *)payload, (size_t)n, out->session_token + strlen(TOKEN_MAGIC));
    access_key_of(root_secret, out->session_token, out->access_key);
    derive(root_secret, "floe vended secret key v1", out->session_token, out->secret_key, S3_VENDED_SK_LEN);
    out->expires_s = expires_s;
    return true;
}

bool s3_vended_verify(const char *root_secret, const char *access_key, const char *token, int64_t now_s,
                      s3_vended_grant *out, floe_err *err) {
    if (!token || !*token)
        return floe_err_set(err, FLOE_EAUTH,
                            "access key '%s' is a vended credential and needs its session token "
                            "(x-amz-security-token); configure the client with s3.session-token",
                            access_key);
    size_t tl = strlen(token), ml = strlen(TOKEN_MAGIC);
    if (tl <= ml || tl > S3_VENDED_TOKEN_MAX || strncmp(token, TOKEN_MAGIC, ml) || (tl - ml) % 2)
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' is malformed", access_key);
    char expect[S3_VENDED_AK_LEN + 1];
    access_key_of(root_secret, token, expect);
    volatile unsigned char diff = (unsigned char)(strlen(access_key) != S3_VENDED_AK_LEN);
    for (size_t i = 0; i < S3_VENDED_AK_LEN && access_key[i]; i++) diff |= (unsigned char)(access_key[i] ^ expect[i]);
    if (diff)
        return floe_err_set(err, FLOE_EAUTH,
                            "access key '%s' does not match its session token (altered, or issued under another "
                            "root secret); ask the catalog for new credentials",
                            access_key);
    char payload[S3_VENDED_TOKEN_MAX / 2 + 1];
    size_t pl = (tl - ml) / 2;
    if (!str_unhex(token + ml, tl - ml, (unsigned char *)payload))
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' is malformed", access_key);
    payload[pl] = 0;
    char *nl1 = strchr(payload, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (!nl1 || !nl2 || nl2 != nl1 + 2 || (nl1[1] != 'w' && nl1[1] != 'r'))
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' is malformed", access_key);
    *nl1 = 0;
    int64_t exp;
    if (!str_to_i64_range(payload, 0, INT64_MAX, &exp))
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' is malformed", access_key);
    if (now_s >= exp)
        return floe_err_set(err, FLOE_EAUTH,
                            "the vended credentials '%s' expired %lld s ago; load the table again for new ones",
                            access_key, (long long)(now_s - exp));
    const char *where = nl2 + 1, *slash = strchr(where, '/');
    const char *why = "no bucket";
    if (!slash || (size_t)(slash - where) >= sizeof out->bucket)
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' is malformed", access_key);
    memcpy(out->bucket, where, (size_t)(slash - where));
    out->bucket[slash - where] = 0;
    if (!s3_bucket_name_valid(out->bucket, &why) || !prefix_valid(slash + 1, &why))
        return floe_err_set(err, FLOE_EAUTH, "the session token of access key '%s' names a bad grant: %s", access_key,
                            why);
    snprintf(out->prefix, sizeof out->prefix, "%s", slash + 1);
    out->write = nl1[1] == 'w';
    out->expires_s = exp;
    derive(root_secret, "floe vended secret key v1", token, out->secret_key, S3_VENDED_SK_LEN);
    return true;
}
