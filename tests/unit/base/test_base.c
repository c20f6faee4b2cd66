/*
 * test_base.c: the base layer: checksum vectors, base64 and hex, URI coding,
 * UTF-8 checks, safe path joins, dates, arenas and the config loader's
 * errors for unknown keys and bad values.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/str.h"
#include "base/time.h"

Test(hash, crc_check_values) {
    /* The standard "123456789" check values of each CRC. */
    cr_assert_eq(hash_crc32(0, "123456789", 9), 0xCBF43926u);
    cr_assert_eq(hash_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(hash_crc64nvme(0, "123456789", 9), 0xAE8B14860A799888ull);
    /* Streaming in pieces gives the same result. */
    uint32_t c = hash_crc32c(0, "1234", 4);
    cr_assert_eq(hash_crc32c(c, "56789", 5), 0xE3069283u);
    uint64_t d = hash_crc64nvme(0, "12345", 5);
    cr_assert_eq(hash_crc64nvme(d, "6789", 4), 0xAE8B14860A799888ull);
}

Test(hash, crc32c_long_unaligned_matches_bytewise) {
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (unsigned char)(i * 7);
    uint32_t whole = hash_crc32c(0, buf + 3, 997), parts = 0;
    for (int i = 3; i < 1000; i++) parts = hash_crc32c(parts, buf + i, 1);
    cr_assert_eq(whole, parts);
}

Test(hash, digests_and_ctx) {
    char hex[65];
    hash_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    unsigned char d[HASH_MAX_DIGEST];
    hash_ctx h;
    hash_init(&h, HASH_MD5);
    hash_update(&h, "hello", 5);
    cr_assert_eq(hash_final(&h, d), 16);
    str_hex(d, 16, hex);
    cr_assert_str_eq(hex, "5d41402abc4b2a76b9719d911017c592");
    hash_init(&h, HASH_CRC32);
    hash_update(&h, "123456789", 9);
    cr_assert_eq(hash_final(&h, d), 4);
    cr_assert(d[0] == 0xCB && d[1] == 0xF4 && d[2] == 0x39 && d[3] == 0x26, "CRC bytes are big-endian");
    hash_algo a;
    cr_assert(hash_algo_parse("crc64nvme", &a) && a == HASH_CRC64NVME);
    cr_assert_not(hash_algo_parse("md4", &a));
}

Test(str, base64_round_trip_and_rejects) {
    char out[64];
    unsigned char back[64];
    size_t n;
    const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        str_base64((const unsigned char *)cases[i], strlen(cases[i]), out);
        cr_assert_str_eq(out, want[i]);
        cr_assert(str_unbase64(out, strlen(out), back, sizeof back, &n));
        cr_assert_eq(n, strlen(cases[i]));
        cr_assert(!memcmp(back, cases[i], n));
    }
    cr_assert_not(str_unbase64("Zm9", 3, back, sizeof back, &n), "length not a multiple of 4");
    cr_assert_not(str_unbase64("Zm=v", 4, back, sizeof back, &n), "padding in the middle");
    cr_assert_not(str_unbase64("Zm9v", 4, back, 2, &n), "output overflow");
}

Test(str, uri_encode_decode) {
    buf_t b = BUF_INIT;
    str_uri_encode(&b, "a b/c~d+é", strlen("a b/c~d+é"), true);
    cr_assert_str_eq(b.data, "a%20b/c~d%2B%C3%A9");
    buf_reset(&b);
    str_uri_encode(&b, "a/b", 3, false);
    cr_assert_str_eq(b.data, "a%2Fb");
    buf_reset(&b);
    cr_assert(str_uri_decode("a%20b+c", 7, true, &b));
    cr_assert_str_eq(b.data, "a b c");
    buf_reset(&b);
    cr_assert_not(str_uri_decode("bad%2", 5, false, &b));
    buf_reset(&b);
    cr_assert_not(str_uri_decode("bad%zz", 6, false, &b));
    buf_free(&b);
}

Test(str, utf8_validation) {
    cr_assert(str_utf8_valid("héllo 日本", strlen("héllo 日本")));
    cr_assert_not(str_utf8_valid("\xc3", 1), "truncated sequence");
    cr_assert_not(str_utf8_valid("\xc0\xaf", 2), "overlong");
    cr_assert_not(str_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    cr_assert_not(str_utf8_valid("\xff", 1));
}

Test(str, strict_numbers) {
    uint64_t v;
    cr_assert(str_to_u64("18446744073709551615", &v) && v == UINT64_MAX);
    cr_assert_not(str_to_u64("18446744073709551616", &v));
    cr_assert_not(str_to_u64("-1", &v));
    cr_assert_not(str_to_u64("12a", &v));
    cr_assert_not(str_to_u64("", &v));
}

Test(fs, path_join_rejects_escapes) {
    char out[256];
    floe_err err;
    cr_assert(fs_path_join("/base", "a/b.txt", out, sizeof out, &err));
    cr_assert_str_eq(out, "/base/a/b.txt");
    const char *bad[] = {"../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", ""};
    for (int i = 0; i < 7; i++) {
        cr_assert_not(fs_path_join("/base", bad[i], out, sizeof out, &err), "'%s' must be refused", bad[i]);
        cr_assert_eq(err.code, FLOE_EINVAL);
    }
}

Test(fs, atomic_write_replaces) {
    char dir[] = "/tmp/floe-unit-fs-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/f", dir);
    floe_err err;
    cr_assert(fs_write_atomic(path, "one", 3, &err));
    cr_assert(fs_write_atomic(path, "second", 6, &err));
    char *data;
    size_t n;
    cr_assert(fs_read_all(path, &data, &n, &err));
    cr_assert_eq(n, 6);
    cr_assert_str_eq(data, "second");
    free(data);
    unlink(path);
    rmdir(dir);
}

Test(time, http_and_amz_dates) {
    int64_t t;
    cr_assert(time_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    cr_assert_eq(t, 784111777);
    cr_assert(time_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));
    cr_assert_eq(t, 784111777);
    cr_assert(time_parse_http_date("Sun Nov  6 08:49:37 1994", &t));
    cr_assert_eq(t, 784111777);
    cr_assert_not(time_parse_http_date("yesterday", &t));
    char out[32];
    time_http_date(784111777, out);
    cr_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    cr_assert(time_parse_amz_date("20130524T000000Z", &t));
    cr_assert_eq(t, 1369353600);
    cr_assert_not(time_parse_amz_date("2013-05-24T00:00:00Z", &t));
    time_iso8601_ms(1369353600123, out);
    cr_assert_str_eq(out, "2013-05-24T00:00:00.123Z");
}

Test(arena, many_allocations_and_big_blocks) {
    arena_t a;
    arena_init(&a, 256);
    char *keep = arena_strdup(&a, "first");
    for (int i = 0; i < 1000; i++) {
        char *p = arena_sprintf(&a, "item-%d", i);
        cr_assert_str_eq(p, arena_sprintf(&a, "item-%d", i));
    }
    char *big = arena_zalloc(&a, 100000);
    cr_assert_eq(big[99999], 0);
    cr_assert_str_eq(keep, "first");
    cr_assert_eq((uintptr_t)arena_alloc(&a, 3) % 16, 0);
    arena_free(&a);
}

/* ---- config ---- */

static char cfgdir[64];

static void cfg_setup(void) {
    snprintf(cfgdir, sizeof cfgdir, "/tmp/floe-unit-cfg-XXXXXX");
    cr_assert(mkdtemp(cfgdir));
    unsetenv("FLOE_S3_PORT");
    unsetenv("FLOE_S3PORT");
    unsetenv("FLOE_CONFIG");
}

static const char *write_cfg(const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/floe.yaml", cfgdir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static bool load(const char *yaml, int argc, char **argv, floe_config *c, floe_err *err) {
    char *args[16];
    int n = 0;
    if (yaml) {
        args[n++] = "--config";
        args[n++] = (char *)write_cfg(yaml);
    }
    for (int i = 0; i < argc; i++) args[n++] = argv[i];
    return config_load(c, n, args, err);
}

Test(config, precedence_file_env_flag, .init = cfg_setup) {
    floe_config c;
    floe_err err;
    cr_assert(load("s3_port: 7000\nlog_level: debug\n", 0, NULL, &c, &err), "%s", err.msg);
    cr_assert_eq(c.s3_port, 7000);
    config_free(&c);
    setenv("FLOE_S3_PORT", "7001", 1);
    cr_assert(load("s3_port: 7000\n", 0, NULL, &c, &err), "%s", err.msg);
    cr_assert_eq(c.s3_port, 7001, "environment overrides the file");
    config_free(&c);
    char *flags[] = {"--s3-port", "7002"};
    cr_assert(load("s3_port: 7000\n", 2, flags, &c, &err), "%s", err.msg);
    cr_assert_eq(c.s3_port, 7002, "flags override the environment");
    config_free(&c);
    unsetenv("FLOE_S3_PORT");
}

Test(config, errors_name_the_key, .init = cfg_setup) {
    floe_config c;
    floe_err err;
    cr_assert_not(load("s3_prot: 9000\n", 0, NULL, &c, &err));
    cr_assert(strstr(err.msg, "s3_prot"), "%s", err.msg);
    config_free(&c);
    cr_assert_not(load("s3_port: ninety\n", 0, NULL, &c, &err));
    cr_assert(strstr(err.msg, "s3_port") && strstr(err.msg, "port number"), "%s", err.msg);
    config_free(&c);
    cr_assert_not(load("log_level: loud\n", 0, NULL, &c, &err));
    cr_assert(strstr(err.msg, "log_level"), "%s", err.msg);
    config_free(&c);
    cr_assert_not(load("keys:\n  - access_key: a\n    secret_key: bbbbbbbb\n    scope: admin\n", 0, NULL, &c, &err));
    cr_assert(strstr(err.msg, "scope"), "%s", err.msg);
    config_free(&c);
    cr_assert_not(load("s3_port: [1, 2]\n", 0, NULL, &c, &err));
    config_free(&c);
    cr_assert_not(load(": : :\n  - ]\n", 0, NULL, &c, &err), "malformed YAML");
    config_free(&c);
    setenv("FLOE_S3PORT", "1", 1);
    cr_assert_not(load(NULL, 0, NULL, &c, &err));
    cr_assert(strstr(err.msg, "FLOE_S3PORT"), "an unknown FLOE_ variable is named: %s", err.msg);
    config_free(&c);
    unsetenv("FLOE_S3PORT");
    char *flags[] = {"--s3-prt", "1"};
    cr_assert_not(load(NULL, 2, flags, &c, &err));
    cr_assert(strstr(err.msg, "--s3-prt"), "%s", err.msg);
    config_free(&c);
}

Test(config, keys_and_public_buckets, .init = cfg_setup) {
    floe_config c;
    floe_err err;
    cr_assert(load("keys:\n  - access_key: reader\n    secret_key: readsecret\n    scope: read\n    buckets: [logs, "
                   "raw/2024]\npublic_buckets: [pub]\n",
                   0, NULL, &c, &err),
              "%s", err.msg);
    cr_assert_eq(c.nkeys, 1);
    cr_assert_str_eq(c.keys[0].access_key, "reader");
    cr_assert_not(c.keys[0].write);
    cr_assert_eq(c.keys[0].ngrants, 2);
    cr_assert_str_eq(c.keys[0].grants[1], "raw/2024");
    cr_assert_eq(c.npublic, 1);
    config_free(&c);
}
