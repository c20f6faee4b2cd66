/*
 * fuzz_chunked.c: libFuzzer harness for the aws-chunked decoder
 * (src/store/s3/chunked.c).
 *
 * Input: byte 0 picks the mode (bit 0 signed, bit 1 trailers expected, bit 2
 * structured), byte 1 seeds the way the body is split, the rest is the body.
 *
 *   raw        the rest is the encoded body itself. Signed raw bodies use the
 *              credentials and seed signature of the AWS documentation example,
 *              so the corpus can hold correctly signed bodies.
 *   structured the rest describes a body: the harness encodes and signs it
 *              correctly, then applies up to three byte edits the input asks
 *              for. Without edits the decoder must accept it and return the
 *              data exactly; this is how fuzzing gets past the signatures.
 *
 * Every body is decoded twice, whole and in pieces, and both runs must agree on
 * the outcome, the error and the output.
 */
#include <stdint.h>
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

typedef struct run {
    bool ok;
    floe_err err;
    buf_t out;
    char crc[64];
    bool has_crc;
} run;

static bool collect(void *ctx, const char *p, size_t n, floe_err *err) {
    buf_t *b = ctx;
    if (b->len + n > (8u << 20)) return floe_err_set(err, FLOE_ETOOLARGE, "too much output");
    buf_append(b, p, n);
    return true;
}

static void key_of(unsigned char key[32]) {
    static unsigned char cached[32];
    static bool have;
    if (!have) s3_sigv4_signing_key(SECRET, "20130524", "us-east-1", "s3", cached), have = true;
    memcpy(key, cached, 32);
}

static void decode(bool is_signed, bool trailer, const char *body, size_t len, uint32_t split_seed, run *r) {
    unsigned char key[32];
    key_of(key);
    s3_chunked d;
    s3_chunked_init(&d, is_signed, trailer, is_signed ? key : NULL, is_signed ? AMZ_DATE : NULL,
                    is_signed ? SCOPE : NULL, is_signed ? SEED : NULL);
    d.max_chunk = 1 << 20;
    memset(r, 0, sizeof *r);
    r->out = (buf_t)BUF_INIT;
    bool fed = true;
    size_t i = 0;
    uint32_t s = split_seed;
    while (i < len && fed) {
        size_t n = len - i;
        if (split_seed) {
            s = s * 1664525u + 1013904223u;
            size_t want = (s >> 24) % 5 == 0 ? (s >> 8) % 4096 + 1 : (s >> 8) % 7 + 1;
            if (want < n) n = want;
        }
        fed = s3_chunked_feed(&d, body + i, n, collect, &r->out, &r->err);
        i += n;
    }
    r->ok = fed && s3_chunked_finish(&d, &r->err);
    const char *v = s3_chunked_trailer(&d, "x-amz-checksum-crc32");
    if (v) {
        snprintf(r->crc, sizeof r->crc, "%s", v);
        r->has_crc = true;
    }
    s3_chunked_free(&d);
}

static void check_same(const run *a, const run *b) {
    if (a->ok != b->ok) abort();
    if (!a->ok && (a->err.code != b->err.code || strcmp(a->err.msg, b->err.msg) != 0)) abort();
    if (a->ok && (a->out.len != b->out.len || (a->out.len && memcmp(a->out.data, b->out.data, a->out.len) != 0)))
        abort();
    if (a->has_crc != b->has_crc || strcmp(a->crc, b->crc) != 0) abort();
    if (!a->ok && a->err.code != FLOE_EINVAL && a->err.code != FLOE_EAUTH && a->err.code != FLOE_ETOOLARGE) abort();
}

static void put_chunk(buf_t *b, bool is_signed, const unsigned char key[32], char prev[65], const char *data,
                      size_t n) {
    if (is_signed) {
        char hex[65], sig[65];
        hash_sha256_hex(data, n, hex);
        s3_sigv4_chunk_signature(key, AMZ_DATE, SCOPE, prev, hex, sig);
        buf_printf(b, "%zx;chunk-signature=%s\r\n", n, sig);
        memcpy(prev, sig, 65);
    } else {
        buf_printf(b, "%zx\r\n", n);
    }
    buf_append(b, data, n);
    if (n) buf_puts(b, "\r\n");
}

/* Encodes data as a correct body: chunk sizes come from the data's first
 * bytes, then the final chunk, the trailers when expected, the empty line. */
static void encode(bool is_signed, bool trailer, const uint8_t *p, size_t n, buf_t *body, buf_t *data) {
    unsigned char key[32];
    char prev[65] = SEED;
    key_of(key);
    size_t nsizes = n > 0 ? p[0] % 8 : 0;
    const uint8_t *sizes = p + (n > 0);
    size_t skip = (n > 0) + (nsizes < n - (n > 0) ? nsizes : n - (n > 0));
    const char *rest = (const char *)p + skip;
    size_t left = n - skip;
    buf_append(data, rest, left);
    for (size_t i = 0; left > 0; i++) {
        size_t c = i < nsizes ? (size_t)sizes[i] * 37 % 700 + 1 : left;
        if (c > left) c = left;
        put_chunk(body, is_signed, key, prev, rest, c);
        rest += c;
        left -= c;
    }
    put_chunk(body, is_signed, key, prev, "", 0);
    if (trailer) {
        unsigned char crc[4];
        char b64[16];
        uint32_t v = hash_crc32(0, data->data ? data->data : "", data->len);
        for (int i = 0; i < 4; i++) crc[i] = (unsigned char)(v >> (24 - 8 * i));
        str_base64(crc, 4, b64);
        buf_printf(body, "x-amz-checksum-crc32:%s\r\n", b64);
        if (is_signed) {
            char canon[64], sig[65];
            int len = snprintf(canon, sizeof canon, "x-amz-checksum-crc32:%s\n", b64);
            s3_sigv4_trailer_signature(key, AMZ_DATE, SCOPE, prev, canon, (size_t)len, sig);
            buf_printf(body, "x-amz-trailer-signature:%s\r\n", sig);
        }
    }
    buf_puts(body, "\r\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    bool is_signed = data[0] & 1, trailer = data[0] & 2, structured = data[0] & 4;
    uint32_t split = data[1] | 1u;
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    buf_t body = BUF_INIT, plain = BUF_INIT;
    size_t nedits = 0;
    if (structured) {
        /* first byte: edit count (low 2 bits); then 3 bytes an edit */
        nedits = n > 0 ? p[0] % 4 : 0;
        if (n < 1 + 3 * nedits) nedits = 0;
        const uint8_t *edits = p + 1;
        size_t head = n > 0 ? 1 + 3 * nedits : 0;
        encode(is_signed, trailer, p + head, n - head, &body, &plain);
        for (size_t i = 0; i < nedits && body.len > 0; i++) {
            size_t at = ((size_t)edits[3 * i] << 8 | edits[3 * i + 1]) % body.len;
            body.data[at] = (char)edits[3 * i + 2];
        }
    } else {
        buf_append(&body, p, n);
    }
    run whole, pieces;
    const char *b = body.data ? body.data : "";
    decode(is_signed, trailer, b, body.len, 0, &whole);
    decode(is_signed, trailer, b, body.len, split, &pieces);
    check_same(&whole, &pieces);
    if (structured && nedits == 0) {
        /* A correct body must decode to exactly its data. */
        if (!whole.ok) abort();
        if (whole.out.len != plain.len || (plain.len && memcmp(whole.out.data, plain.data, plain.len) != 0)) abort();
        if (trailer != whole.has_crc) abort();
    }
    buf_free(&whole.out);
    buf_free(&pieces.out);
    buf_free(&body);
    buf_free(&plain);
    return 0;
}
