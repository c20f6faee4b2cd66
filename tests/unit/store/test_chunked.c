/*
 * test_chunked.c: the aws-chunked decoder (src/store/s3/chunked.c).
 *
 * Signed bodies are checked against the examples in the AWS documentation
 * (the 66560-byte PUT of 'a', with and without a signed CRC32C trailer), byte
 * for byte, fed whole, one byte at a time and in random pieces. Unsigned
 * cases are a table in tests/unit/store/data/chunked/unsigned.txt.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "store/s3/s3_int.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AMZ_DATE "20130524T000000Z"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
/* The trailer example: same data, seed for ...-PAYLOAD-TRAILER, CRC32C. */
#define TSEED "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TSIG1 "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TSIG2 "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TSIG3 "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TTRAILER_SIG "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

typedef enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM } split_mode;

typedef struct decode_result {
    bool ok;      /* feed and finish both succeeded */
    bool feed_ok; /* every feed succeeded */
    floe_err err; /* the first error */
    buf_t out;    /* decoded data */
    uint64_t decoded_bytes;
    char crc32c[64]; /* trailer values seen, if any */
    char crc32[64];
} decode_result;

static bool collect(void *ctx, const char *p, size_t n, floe_err *err) {
    buf_append(ctx, p, n);
    return true;
}

static void signing_key(unsigned char key[32]) { s3_sigv4_signing_key(SECRET, "20130524", "us-east-1", "s3", key); }

/* Decodes body with a decoder set up like d0 (copied), splitting the input as
 * mode says; seed drives SPLIT_RANDOM. */
static void decode(const s3_chunked *cfg, const char *body, size_t len, split_mode mode, unsigned seed,
                   decode_result *r) {
    s3_chunked d;
    s3_chunked_init(&d, cfg->is_signed, cfg->expect_trailer, cfg->key, cfg->amz_date, cfg->scope, cfg->prev_sig);
    d.max_chunk = cfg->max_chunk;
    memset(r, 0, sizeof *r);
    r->out = (buf_t)BUF_INIT;
    r->feed_ok = true;
    size_t i = 0;
    while (i < len && r->feed_ok) {
        size_t n = len - i;
        if (mode == SPLIT_BYTES) n = 1;
        if (mode == SPLIT_RANDOM) {
            seed = seed * 1103515245u + 12345u;
            size_t pick = (seed >> 8) % 7;
            size_t sizes[] = {1, 2, 3, 17, 100, 4096, 70000};
            n = sizes[pick] < len - i ? sizes[pick] : len - i;
        }
        r->feed_ok = s3_chunked_feed(&d, body + i, n, collect, &r->out, &r->err);
        i += n;
    }
    r->ok = r->feed_ok && s3_chunked_finish(&d, &r->err);
    r->decoded_bytes = d.decoded_bytes;
    const char *v = s3_chunked_trailer(&d, "x-amz-checksum-crc32c");
    if (v) snprintf(r->crc32c, sizeof r->crc32c, "%s", v);
    v = s3_chunked_trailer(&d, "X-Amz-Checksum-CRC32");
    if (v) snprintf(r->crc32, sizeof r->crc32, "%s", v);
    s3_chunked_free(&d);
}

static void result_free(decode_result *r) { buf_free(&r->out); }

static void signed_cfg(s3_chunked *cfg, bool trailer, const char *seed) {
    unsigned char key[32];
    signing_key(key);
    s3_chunked_init(cfg, true, trailer, key, AMZ_DATE, SCOPE, seed);
}

static void put_chunk(buf_t *b, size_t size, const char *sig) {
    buf_printf(b, "%zx;chunk-signature=%s\r\n", size, sig);
    for (size_t i = 0; i < size; i++) buf_putc(b, 'a');
    if (size) buf_puts(b, "\r\n");
}

/* The body of the AWS example: 65536 + 1024 bytes of 'a', then the final chunk. */
static void aws_example(buf_t *b) {
    put_chunk(b, 65536, SIG1);
    put_chunk(b, 1024, SIG2);
    put_chunk(b, 0, SIG3);
    buf_puts(b, "\r\n");
}

static void aws_trailer_example(buf_t *b, const char *between) {
    put_chunk(b, 65536, TSIG1);
    put_chunk(b, 1024, TSIG2);
    put_chunk(b, 0, TSIG3);
    buf_puts(b, between);
    buf_puts(b, "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" TTRAILER_SIG "\r\n\r\n");
}

static bool all_a(const buf_t *b, size_t n) {
    if (b->len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (b->data[i] != 'a') return false;
    return true;
}

Test(chunked, aws_chunk_signature_vectors) {
    unsigned char key[32];
    char hex[65], sig[65];
    signing_key(key);
    char *a = malloc(65536);
    memset(a, 'a', 65536);
    hash_sha256_hex(a, 65536, hex);
    s3_sigv4_chunk_signature(key, AMZ_DATE, SCOPE, SEED, hex, sig);
    cr_expect_str_eq(sig, SIG1);
    hash_sha256_hex(a, 1024, hex);
    s3_sigv4_chunk_signature(key, AMZ_DATE, SCOPE, SIG1, hex, sig);
    cr_expect_str_eq(sig, SIG2);
    s3_sigv4_chunk_signature(key, AMZ_DATE, SCOPE, SIG2, S3_EMPTY_SHA256, sig);
    cr_expect_str_eq(sig, SIG3);
    const char *trailers = "x-amz-checksum-crc32c:sOO8/Q==\n";
    s3_sigv4_trailer_signature(key, AMZ_DATE, SCOPE, TSIG3, trailers, strlen(trailers), sig);
    cr_expect_str_eq(sig, TTRAILER_SIG);
    free(a);
}

Test(chunked, aws_example_passes_in_any_split) {
    s3_chunked cfg;
    signed_cfg(&cfg, false, SEED);
    buf_t body = BUF_INIT;
    aws_example(&body);
    cr_assert_eq(body.len, 66824, "the example body is 66824 bytes (its Content-Length)");
    for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
        for (unsigned seed = 1; seed <= (mode == SPLIT_RANDOM ? 20u : 1u); seed++) {
            decode_result r;
            decode(&cfg, body.data, body.len, (split_mode)mode, seed, &r);
            cr_expect(r.ok, "mode %d seed %u: %s", mode, seed, r.err.msg);
            cr_expect(all_a(&r.out, 66560), "mode %d seed %u: decoded %zu bytes", mode, seed, r.out.len);
            cr_expect_eq(r.decoded_bytes, 66560);
            result_free(&r);
        }
    }
    buf_free(&body);
    s3_chunked_free(&cfg);
}

static void expect_auth_failure(const s3_chunked *cfg, buf_t *body, size_t pos, const char *what) {
    for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
        decode_result r;
        decode(cfg, body->data, body->len, (split_mode)mode, 7, &r);
        cr_expect(!r.ok, "%s at %zu: accepted (mode %d)", what, pos, mode);
        cr_expect_eq(r.err.code, FLOE_EAUTH, "%s at %zu, mode %d: code %s: %s", what, pos, mode,
                     floe_code_name(r.err.code), r.err.msg);
        result_free(&r);
    }
}

Test(chunked, flipped_data_byte_fails_auth) {
    s3_chunked cfg;
    signed_cfg(&cfg, false, SEED);
    buf_t body = BUF_INIT;
    aws_example(&body);
    size_t first_data = strlen("10000;chunk-signature=" SIG1 "\r\n");
    size_t second_data = first_data + 65536 + 2 + strlen("400;chunk-signature=" SIG2 "\r\n");
    size_t positions[] = {first_data, first_data + 30000, first_data + 65535, second_data, second_data + 1023};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        body.data[positions[i]] ^= 0x01;
        expect_auth_failure(&cfg, &body, positions[i], "flipped data byte");
        body.data[positions[i]] ^= 0x01;
    }
    /* The message names the chunk. */
    body.data[second_data] = 'b';
    decode_result r;
    decode(&cfg, body.data, body.len, SPLIT_WHOLE, 0, &r);
    cr_expect(strstr(r.err.msg, "chunk 2") != NULL, "%s", r.err.msg);
    result_free(&r);
    buf_free(&body);
    s3_chunked_free(&cfg);
}

Test(chunked, flipped_signature_fails_auth) {
    s3_chunked cfg;
    signed_cfg(&cfg, false, SEED);
    buf_t body = BUF_INIT;
    aws_example(&body);
    const char *sigs[] = {SIG1, SIG2, SIG3};
    for (int i = 0; i < 3; i++) {
        char *at = strstr(body.data, sigs[i]);
        cr_assert(at);
        for (size_t k = 0; k < 64; k += 21) {
            char was = at[k];
            at[k] = was == '0' ? '1' : '0';
            expect_auth_failure(&cfg, &body, (size_t)(at + k - body.data), "flipped signature");
            at[k] = was;
        }
    }
    s3_chunked_free(&cfg);
    /* A wrong seed signature fails the first chunk. */
    signed_cfg(&cfg, false, SIG1);
    expect_auth_failure(&cfg, &body, 0, "wrong seed");
    s3_chunked_free(&cfg);
    /* A different secret key fails too. */
    unsigned char key[32];
    s3_sigv4_signing_key("not-the-secret", "20130524", "us-east-1", "s3", key);
    s3_chunked_init(&cfg, true, false, key, AMZ_DATE, SCOPE, SEED);
    expect_auth_failure(&cfg, &body, 0, "wrong key");
    s3_chunked_free(&cfg);
    buf_free(&body);
}

Test(chunked, signed_trailer_aws_example) {
    s3_chunked cfg;
    signed_cfg(&cfg, true, TSEED);
    const char *betweens[] = {"", "\r\n"}; /* with and without an empty line before the trailers */
    for (int b = 0; b < 2; b++) {
        buf_t body = BUF_INIT;
        aws_trailer_example(&body, betweens[b]);
        for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
            decode_result r;
            decode(&cfg, body.data, body.len, (split_mode)mode, 3, &r);
            cr_expect(r.ok, "variant %d mode %d: %s", b, mode, r.err.msg);
            cr_expect(all_a(&r.out, 66560));
            cr_expect_str_eq(r.crc32c, "sOO8/Q==");
            result_free(&r);
        }
        buf_free(&body);
    }
    s3_chunked_free(&cfg);
}

static void expect_trailer_body(const char *tail, floe_code code, const char *msg_part) {
    s3_chunked cfg;
    signed_cfg(&cfg, true, TSEED);
    buf_t body = BUF_INIT;
    put_chunk(&body, 65536, TSIG1);
    put_chunk(&body, 1024, TSIG2);
    put_chunk(&body, 0, TSIG3);
    buf_puts(&body, tail);
    decode_result r;
    decode(&cfg, body.data, body.len, SPLIT_BYTES, 0, &r);
    cr_expect(!r.ok, "accepted trailers %s", tail);
    cr_expect_eq(r.err.code, code, "trailers %s: %s: %s", tail, floe_code_name(r.err.code), r.err.msg);
    cr_expect(strstr(r.err.msg, msg_part) != NULL, "trailers %s: message '%s' lacks '%s'", tail, r.err.msg, msg_part);
    result_free(&r);
    buf_free(&body);
    s3_chunked_free(&cfg);
}

Test(chunked, signed_trailer_errors) {
    expect_trailer_body("x-amz-checksum-crc32c:sOO8/Q=A\r\nx-amz-trailer-signature:" TTRAILER_SIG "\r\n\r\n",
                        FLOE_EAUTH, "x-amz-trailer-signature");
    expect_trailer_body("x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n", FLOE_EINVAL, "without x-amz-trailer-signature");
    expect_trailer_body("x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" TTRAILER_SIG
                        "\r\nx-amz-meta-a:b\r\n\r\n",
                        FLOE_EINVAL, "after x-amz-trailer-signature");
    expect_trailer_body("x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:abc\r\n\r\n", FLOE_EINVAL,
                        "not 64 hex digits");
    /* The trailer signature chains from the final chunk's signature, so a
     * trailer block signed for another body fails. */
    expect_trailer_body("x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:" TTRAILER_SIG "\r\n\r\n",
                        FLOE_EAUTH, "does not match");
}

Test(chunked, signed_requires_chunk_signature) {
    s3_chunked cfg;
    signed_cfg(&cfg, false, SEED);
    const char *bodies[] = {"5\r\nhello\r\n0\r\n\r\n", "5;chunk-signature=abc\r\nhello\r\n",
                            "5;chunk-signature=" SIG1 "x\r\nhello\r\n", "5;chunk-signaturx=" SIG1 "\r\nhello\r\n"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        decode_result r;
        decode(&cfg, bodies[i], strlen(bodies[i]), SPLIT_WHOLE, 0, &r);
        cr_expect(!r.ok);
        cr_expect_eq(r.err.code, FLOE_EINVAL, "%s", r.err.msg);
        cr_expect(strstr(r.err.msg, "chunk 1 (byte 0)") != NULL, "%s", r.err.msg);
        result_free(&r);
    }
    s3_chunked_free(&cfg);
}

Test(chunked, unsigned_trailer_crc32_is_exposed) {
    /* What current AWS SDKs send: STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
    const char *data = "hello world, this is an object";
    unsigned char crc[4];
    uint32_t c = hash_crc32(0, data, strlen(data));
    for (int i = 0; i < 4; i++) crc[i] = (unsigned char)(c >> (24 - 8 * i));
    char b64[16];
    str_base64(crc, 4, b64);
    buf_t body = BUF_INIT;
    buf_printf(&body, "a\r\n%.10s\r\n%zx\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", data, strlen(data) - 10,
               data + 10, b64);
    s3_chunked cfg;
    s3_chunked_init(&cfg, false, true, NULL, NULL, NULL, NULL);
    for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
        decode_result r;
        decode(&cfg, body.data, body.len, (split_mode)mode, 11, &r);
        cr_expect(r.ok, "%s", r.err.msg);
        cr_expect_eq(r.out.len, strlen(data));
        cr_expect(r.out.data && memcmp(r.out.data, data, strlen(data)) == 0);
        cr_expect_str_eq(r.crc32, b64);
        cr_expect_str_eq(r.crc32c, "", "no crc32c trailer was sent");
        result_free(&r);
    }
    s3_chunked_free(&cfg);
    buf_free(&body);
}

Test(chunked, trailer_lookup) {
    s3_chunked d;
    s3_chunked_init(&d, false, true, NULL, NULL, NULL, NULL);
    const char *body = "0\r\nX-Amz-Checksum-SHA256 :  abc= \r\nx-amz-meta-x:\r\n\r\n";
    floe_err err;
    /* "X-Amz-Checksum-SHA256 " has a space in the name: not a token. */
    cr_expect(!s3_chunked_feed(&d, body, strlen(body), collect, NULL, &err));
    cr_expect(strstr(err.msg, "is not a trailer") != NULL, "%s", err.msg);
    s3_chunked_free(&d);

    s3_chunked_init(&d, false, true, NULL, NULL, NULL, NULL);
    body = "0\r\nX-Amz-Checksum-SHA256:  abc= \r\nx-amz-meta-x:\r\n\r\n";
    buf_t out = BUF_INIT;
    cr_assert(s3_chunked_feed(&d, body, strlen(body), collect, &out, &err), "%s", err.msg);
    cr_assert(s3_chunked_finish(&d, &err), "%s", err.msg);
    cr_expect_str_eq(s3_chunked_trailer(&d, "x-amz-checksum-sha256"), "abc=");
    cr_expect_str_eq(s3_chunked_trailer(&d, "x-amz-meta-x"), "");
    cr_expect_null(s3_chunked_trailer(&d, "x-amz-checksum-crc32"));
    cr_expect_eq(out.len, 0);
    s3_chunked_free(&d);
    buf_free(&out);
}

static bool refuse(void *ctx, const char *p, size_t n, floe_err *err) {
    int *calls = ctx;
    if (++*calls == 2) return floe_err_set(err, FLOE_ENOSPC, "disk full");
    return true;
}

Test(chunked, out_callback_stops_the_decoder) {
    s3_chunked d;
    s3_chunked_init(&d, false, false, NULL, NULL, NULL, NULL);
    const char *body = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    int calls = 0;
    floe_err err;
    cr_expect(!s3_chunked_feed(&d, body, strlen(body), refuse, &calls, &err));
    cr_expect_eq(err.code, FLOE_ENOSPC);
    cr_expect_str_eq(err.msg, "disk full");
    cr_expect(!s3_chunked_feed(&d, "x", 1, refuse, &calls, &err), "a failed decoder stays failed");
    cr_expect(!s3_chunked_finish(&d, &err));
    s3_chunked_free(&d);
}

Test(chunked, hostile_lines_and_sizes) {
    s3_chunked cfg;
    s3_chunked_init(&cfg, false, false, NULL, NULL, NULL, NULL);
    /* A size line that never ends stops at the line limit. */
    size_t n = 10000;
    char *body = malloc(n);
    memset(body, '1', n);
    for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
        decode_result r;
        decode(&cfg, body, n, (split_mode)mode, 5, &r);
        cr_expect(!r.feed_ok);
        cr_expect(strstr(r.err.msg, "line longer than 4095 bytes") != NULL, "%s", r.err.msg);
        result_free(&r);
    }
    /* The same in the trailers. */
    memcpy(body, "0\r\nx-amz-a:", 11);
    s3_chunked_free(&cfg);
    s3_chunked_init(&cfg, false, true, NULL, NULL, NULL, NULL);
    decode_result r;
    decode(&cfg, body, n, SPLIT_BYTES, 0, &r);
    cr_expect(!r.feed_ok);
    cr_expect(strstr(r.err.msg, "trailers (byte 3): line longer") != NULL, "%s", r.err.msg);
    result_free(&r);
    free(body);
    /* A lowered max_chunk is enforced. */
    cfg.max_chunk = 1024;
    const char *big = "401\r\n";
    decode(&cfg, big, strlen(big), SPLIT_WHOLE, 0, &r);
    cr_expect(!r.feed_ok);
    cr_expect(strstr(r.err.msg, "limit of 1024 bytes") != NULL, "%s", r.err.msg);
    result_free(&r);
    const char *ok = "400\r\n";
    decode(&cfg, ok, strlen(ok), SPLIT_WHOLE, 0, &r);
    cr_expect(r.feed_ok, "%s", r.err.msg);
    result_free(&r);
    s3_chunked_free(&cfg);
}

/* ---- the table of unsigned cases ---- */

/* Decodes C-style escapes (\r \n \t \\ \xNN) in s into out. */
static void unescape(const char *s, buf_t *out) {
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            buf_putc(out, *s);
            continue;
        }
        s++;
        switch (*s) {
        case 'r': buf_putc(out, '\r'); break;
        case 'n': buf_putc(out, '\n'); break;
        case 't': buf_putc(out, '\t'); break;
        case 'x': {
            unsigned char c;
            cr_assert(str_unhex(s + 1, 2, &c), "bad \\x escape in %s", s);
            buf_putc(out, (char)c);
            s += 2;
            break;
        }
        default: buf_putc(out, *s); break;
        }
    }
}

Test(chunked, unsigned_table) {
    const char *path = "tests/unit/store/data/chunked/unsigned.txt";
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s (tests run from the repository root)", path);
    char line[8192];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        char *fields[4] = {0};
        char *save = NULL, *tok = strtok_r(line, "\t", &save);
        for (int i = 0; i < 4 && tok; i++, tok = strtok_r(NULL, "\t", &save)) fields[i] = tok;
        cr_assert(fields[2], "%s:%d: expected mode<TAB>result<TAB>body[<TAB>expected]", path, lineno);
        const char *expect = fields[3] ? fields[3] : "";
        s3_chunked cfg;
        s3_chunked_init(&cfg, false, strcmp(fields[0], "trailer") == 0, NULL, NULL, NULL, NULL);
        buf_t body = BUF_INIT, want = BUF_INIT;
        unescape(strcmp(fields[2], "-") == 0 ? "" : fields[2], &body);
        unescape(expect, &want);
        char first_msg[sizeof(((floe_err *)0)->msg)] = "";
        for (int mode = SPLIT_WHOLE; mode <= SPLIT_RANDOM; mode++) {
            decode_result r;
            decode(&cfg, body.data ? body.data : "", body.len, (split_mode)mode, (unsigned)lineno, &r);
            const char *res = fields[1];
            if (strcmp(res, "ok") == 0) {
                cr_expect(r.ok, "%s:%d (mode %d): %s", path, lineno, mode, r.err.msg);
                cr_expect(r.out.len == want.len && (want.len == 0 || memcmp(r.out.data, want.data, want.len) == 0),
                          "%s:%d (mode %d): decoded '%.*s'", path, lineno, mode, (int)r.out.len,
                          r.out.data ? r.out.data : "");
            } else {
                bool at_feed = strcmp(res, "feed") == 0;
                cr_expect(!r.ok, "%s:%d (mode %d): accepted", path, lineno, mode);
                cr_expect_eq(r.feed_ok, !at_feed, "%s:%d (mode %d): failed at %s, expected at %s: %s", path, lineno,
                             mode, r.feed_ok ? "finish" : "feed", res, r.err.msg);
                cr_expect_eq(r.err.code, FLOE_EINVAL, "%s:%d", path, lineno);
                cr_expect(strstr(r.err.msg, want.data ? want.data : "") != NULL,
                          "%s:%d (mode %d): message '%s' lacks '%s'", path, lineno, mode, r.err.msg, expect);
                /* The message is the same however the body was split. */
                if (mode == SPLIT_WHOLE)
                    snprintf(first_msg, sizeof first_msg, "%s", r.err.msg);
                else
                    cr_expect_str_eq(r.err.msg, first_msg, "%s:%d (mode %d)", path, lineno, mode);
            }
            result_free(&r);
        }
        buf_free(&body);
        buf_free(&want);
        s3_chunked_free(&cfg);
        cases++;
    }
    fclose(f);
    cr_expect_gt(cases, 20, "only %d cases in %s", cases, path);
}

Test(chunked, truncated_signed_body_fails_at_finish) {
    s3_chunked cfg;
    signed_cfg(&cfg, false, SEED);
    buf_t body = BUF_INIT;
    aws_example(&body);
    size_t cuts[] = {0, 1, 10, 87, 88, 89, 88 + 65536, 88 + 65537, body.len - 90, body.len - 2, body.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        decode_result r;
        decode(&cfg, body.data, cuts[i], SPLIT_RANDOM, (unsigned)i, &r);
        cr_expect(r.feed_ok, "cut at %zu: the prefix itself is fine: %s", cuts[i], r.err.msg);
        cr_expect(!r.ok, "cut at %zu: accepted", cuts[i]);
        cr_expect_eq(r.err.code, FLOE_EINVAL, "cut at %zu: %s", cuts[i], r.err.msg);
        result_free(&r);
    }
    buf_free(&body);
    s3_chunked_free(&cfg);
}

Test(chunked, garbage_fails) {
    s3_chunked cfg;
    for (int mode = 0; mode < 4; mode++) {
        signed_cfg(&cfg, mode & 2, SEED);
        cfg.is_signed = mode & 1;
        unsigned seed = 99u + (unsigned)mode;
        for (int round = 0; round < 200; round++) {
            char junk[300];
            for (size_t i = 0; i < sizeof junk; i++) {
                seed = seed * 1103515245u + 12345u;
                junk[i] = (char)(seed >> 16);
            }
            decode_result r;
            decode(&cfg, junk, sizeof junk, SPLIT_RANDOM, seed, &r);
            cr_expect(!r.ok, "random bytes accepted (mode %d, round %d)", mode, round);
            cr_expect(r.err.code == FLOE_EINVAL || r.err.code == FLOE_EAUTH, "%s", r.err.msg);
            cr_expect(r.err.msg[0] != '\0');
            result_free(&r);
        }
        s3_chunked_free(&cfg);
    }
    /* HTTP chunked framing is not aws-chunked when signed. */
    signed_cfg(&cfg, false, SEED);
    decode_result r;
    decode(&cfg, "5\r\nhello\r\n0\r\n\r\n", 15, SPLIT_WHOLE, 0, &r);
    cr_expect(!r.ok);
    result_free(&r);
    s3_chunked_free(&cfg);
}
