/*
 * test_rest.c: unit tests of the catalog port's stateless credentials:
 * bearer tokens (src/catalog/auth.c) and vended S3 keys
 * (src/store/s3/vended.c). Both must survive a round trip, and refuse
 * expiry, tampering with any byte, another root secret, and (for vended
 * keys) prefixes that could escape the table: "..", ".", "//", absolute.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "catalog/cat_http.h"
#include "store/s3/s3.h"

#define ROOT "root-secret-0123456789"
#define NOW 1800000000LL

/* ---- bearer tokens ---- */

static void issue(const char *who, bool write, int64_t exp, char *tok) {
    floe_err err;
    cr_assert(cat_token_issue(ROOT, who, write, exp, tok, CAT_TOKEN_MAX, &err), "%s", err.msg);
}

Test(rest, token_round_trip) {
    char tok[CAT_TOKEN_MAX];
    issue("floeadmin", true, NOW + 60, tok);
    cat_token_claims cl;
    floe_err err;
    cr_assert(cat_token_verify(ROOT, tok, NOW, &cl, &err), "%s", err.msg);
    cr_assert_str_eq(cl.principal, "floeadmin");
    cr_assert(cl.write);
    cr_assert_eq(cl.expires_s, NOW + 60);
    issue("reader", false, NOW + 60, tok);
    cr_assert(cat_token_verify(ROOT, tok, NOW, &cl, &err));
    cr_assert(!cl.write, "a read-only key's token must not allow writes");
}

Test(rest, token_expiry_is_exclusive) {
    char tok[CAT_TOKEN_MAX];
    issue("k", true, NOW, tok);
    cat_token_claims cl;
    floe_err err;
    cr_assert(cat_token_verify(ROOT, tok, NOW - 1, &cl, &err));
    cr_assert(!cat_token_verify(ROOT, tok, NOW, &cl, &err));
    cr_assert_eq(err.code, FLOE_EAUTH);
    cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
    cr_assert(strstr(err.msg, "oauth/tokens"), "the message must say how to get a new one: %s", err.msg);
}

Test(rest, token_every_byte_tampered_is_refused) {
    char tok[CAT_TOKEN_MAX];
    issue("floeadmin", false, NOW + 60, tok);
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        char t2[CAT_TOKEN_MAX];
        memcpy(t2, tok, n + 1);
        t2[i] = t2[i] == '0' ? '1' : (t2[i] == '.' ? 'x' : '0');
        if (!strcmp(t2, tok)) continue;
        cat_token_claims cl;
        floe_err err;
        cr_assert(!cat_token_verify(ROOT, t2, NOW, &cl, &err), "byte %zu changed and the token still verified", i);
    }
}

Test(rest, token_upgrade_to_write_is_refused) {
    /* re-encode the payload with "rw" but keep the old signature */
    char tok[CAT_TOKEN_MAX], forged[CAT_TOKEN_MAX];
    issue("reader", false, NOW + 60, tok);
    const char *dot = strrchr(tok, '.');
    char payload[100], hex[201];
    int n = snprintf(payload, sizeof payload, "reader\n%lld\nrw", (long long)NOW + 60);
    for (int i = 0; i < n; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)payload[i]);
    snprintf(forged, sizeof forged, "floe1.%s%s", hex, dot);
    cat_token_claims cl;
    floe_err err;
    cr_assert(!cat_token_verify(ROOT, forged, NOW, &cl, &err));
    cr_assert(strstr(err.msg, "signature"), "%s", err.msg);
}

Test(rest, token_other_root_secret_and_garbage) {
    char tok[CAT_TOKEN_MAX];
    issue("floeadmin", true, NOW + 60, tok);
    cat_token_claims cl;
    floe_err err;
    cr_assert(!cat_token_verify("another-root-secret", tok, NOW, &cl, &err));
    const char *bad[] = {"",
                         "floe1.",
                         "floe1..",
                         "floe1.zz.00",
                         "Bearer x",
                         "floe1.6162.",
                         "floe1.61626.0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert(!cat_token_verify(ROOT, bad[i], NOW, &cl, &err), "'%s' verified", bad[i]);
    cr_assert(!cat_token_verify(ROOT, NULL, NOW, &cl, &err));
    /* principals with newlines would split the payload */
    char out[CAT_TOKEN_MAX];
    cr_assert(!cat_token_issue(ROOT, "a\nb", true, NOW, out, sizeof out, &err));
    cr_assert(!cat_token_issue(ROOT, "", true, NOW, out, sizeof out, &err));
}

Test(rest, client_check_root_and_keys) {
    floe_config cfg;
    config_defaults(&cfg);
    config_s3_key k = {.access_key = "reader", .secret_key = "reader-secret", .write = false};
    cfg.keys = &k;
    cfg.nkeys = 1;
    bool w = true;
    cr_assert(cat_client_check(&cfg, "floeadmin", "floeadmin", &w) && w);
    cr_assert(cat_client_check(&cfg, "reader", "reader-secret", &w) && !w);
    cr_assert(!cat_client_check(&cfg, "reader", "reader-secreT", &w));
    cr_assert(!cat_client_check(&cfg, "reader", "reader-secret-longer", &w));
    cr_assert(!cat_client_check(&cfg, "nobody", "floeadmin", &w));
    cr_assert(!cat_client_check(&cfg, NULL, "x", &w));
    cfg.keys = NULL;
    cfg.nkeys = 0;
    config_free(&cfg);
}

/* ---- vended S3 keys ---- */

static s3_vended vend(const char *bucket, const char *prefix, bool write, int64_t exp) {
    s3_vended v;
    floe_err err;
    cr_assert(s3_vended_issue(ROOT, bucket, prefix, write, exp, &v, &err), "%s", err.msg);
    return v;
}

Test(rest, vended_round_trip) {
    s3_vended v = vend("warehouse", "db/t1/", true, NOW + 60);
    cr_assert(!strncmp(v.access_key, S3_VENDED_AK_PREFIX, strlen(S3_VENDED_AK_PREFIX)));
    cr_assert_eq(strlen(v.access_key), S3_VENDED_AK_LEN);
    cr_assert_eq(strlen(v.secret_key), S3_VENDED_SK_LEN);
    s3_vended_grant g;
    floe_err err;
    cr_assert(s3_vended_verify(ROOT, v.access_key, v.session_token, NOW, &g, &err), "%s", err.msg);
    cr_assert_str_eq(g.bucket, "warehouse");
    cr_assert_str_eq(g.prefix, "db/t1/");
    cr_assert(g.write);
    cr_assert_str_eq(g.secret_key, v.secret_key);
    /* two tables get different keys */
    s3_vended v2 = vend("warehouse", "db/t2/", true, NOW + 60);
    cr_assert_str_neq(v.access_key, v2.access_key);
    cr_assert_str_neq(v.secret_key, v2.secret_key);
}

Test(rest, vended_expiry) {
    s3_vended v = vend("warehouse", "db/t1/", false, NOW);
    s3_vended_grant g;
    floe_err err;
    cr_assert(s3_vended_verify(ROOT, v.access_key, v.session_token, NOW - 1, &g, &err));
    cr_assert(!g.write);
    cr_assert(!s3_vended_verify(ROOT, v.access_key, v.session_token, NOW, &g, &err));
    cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
}

Test(rest, vended_token_of_another_table_does_not_fit) {
    s3_vended a = vend("warehouse", "db/t1/", true, NOW + 60), b = vend("warehouse", "db/t2/", true, NOW + 60);
    s3_vended_grant g;
    floe_err err;
    cr_assert(!s3_vended_verify(ROOT, a.access_key, b.session_token, NOW, &g, &err));
    cr_assert(!s3_vended_verify(ROOT, a.access_key, NULL, NOW, &g, &err));
    cr_assert(strstr(err.msg, "session token"), "%s", err.msg);
    cr_assert(!s3_vended_verify("another-root-secret", a.access_key, a.session_token, NOW, &g, &err));
}

Test(rest, vended_every_token_byte_tampered_is_refused) {
    s3_vended v = vend("warehouse", "db/t1/", false, NOW + 60);
    size_t n = strlen(v.session_token);
    for (size_t i = 0; i < n; i++) {
        char t2[S3_VENDED_TOKEN_MAX + 1];
        memcpy(t2, v.session_token, n + 1);
        t2[i] = t2[i] == '0' ? '1' : '0';
        s3_vended_grant g;
        floe_err err;
        cr_assert(!s3_vended_verify(ROOT, v.access_key, t2, NOW, &g, &err), "token byte %zu changed, still accepted",
                  i);
    }
    /* and widening by truncation (db/t1/ → db/) */
    char t3[S3_VENDED_TOKEN_MAX + 1];
    snprintf(t3, sizeof t3, "%.*s", (int)(n - 6), v.session_token);
    s3_vended_grant g;
    floe_err err;
    cr_assert(!s3_vended_verify(ROOT, v.access_key, t3, NOW, &g, &err));
}

Test(rest, vended_prefix_escapes_are_refused) {
    const char *bad[] = {"db/t1/../t2/", "../t2/", "db/./t1/",  "db//t1/", "/db/t1/",
                         "db/t1",        "",       "db/t\x01/", "db/../"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s3_vended v;
        floe_err err;
        cr_assert(!s3_vended_issue(ROOT, "warehouse", bad[i], true, NOW + 60, &v, &err), "prefix '%s' was issued",
                  bad[i]);
        cr_assert_eq(err.code, FLOE_EINVAL);
    }
    s3_vended v;
    floe_err err;
    cr_assert(!s3_vended_issue(ROOT, "Bad_Bucket", "db/", true, NOW + 60, &v, &err));
    /* a token forged with a bad prefix fails the HMAC before anything else */
    char forged[200] = "FV1";
    const char *payload = "1900000000\nw\nwarehouse/../";
    for (size_t i = 0; payload[i]; i++) sprintf(forged + 3 + 2 * i, "%02x", (unsigned char)payload[i]);
    s3_vended_grant g;
    cr_assert(!s3_vended_verify(ROOT, "FLOEV000000000000000000000000000", forged, NOW, &g, &err));
}

/* ---- the auth setting ---- */

Test(rest, config_auth_values) {
    floe_config cfg;
    floe_err err;
    char *none[] = {"--auth", "none"};
    cr_assert(config_load(&cfg, 2, none, &err), "%s", err.msg);
    cr_assert(cfg.auth_none);
    config_free(&cfg);
    char *token[] = {"--auth", "token"};
    cr_assert(config_load(&cfg, 2, token, &err), "%s", err.msg);
    cr_assert(!cfg.auth_none);
    config_free(&cfg);
    char *bad[] = {"--auth", "off"};
    cr_assert(!config_load(&cfg, 2, bad, &err));
    cr_assert(strstr(err.msg, "'auth'") && strstr(err.msg, "token") && strstr(err.msg, "none"), "%s", err.msg);
    config_free(&cfg);
}
