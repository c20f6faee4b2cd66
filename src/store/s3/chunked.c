/*
 * chunked.c: the aws-chunked body decoder (Content-Encoding: aws-chunked).
 *
 * S3 clients stream a PUT body as chunks, each "<hex size>\r\n<data>\r\n",
 * ended by a zero-length chunk. With STREAMING-AWS4-HMAC-SHA256-PAYLOAD every
 * size line carries ";chunk-signature=<sig>", a SigV4 signature that chains
 * the previous chunk's signature (the seed signature of the request for the
 * first) with the SHA-256 of the chunk's data. The -TRAILER variants end with
 * "name:value\r\n" trailer lines (x-amz-checksum-crc32:... and, when signed,
 * x-amz-trailer-signature:<sig>) and an empty line.
 *
 * The decoder is a byte-at-a-time state machine that takes the body in pieces
 * of any size. Lines go through a fixed 4 KiB buffer; data is never buffered,
 * it is hashed and handed straight to the caller's out() callback. That means
 * a signed chunk's data reaches out() before its signature can be checked (the
 * signature arrives with the chunk, the data after it): the caller must treat
 * everything it was given as provisional until s3_chunked_finish() succeeds,
 * and discard it when any call fails. The store does that anyway (temporary
 * file, renamed only on success).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "store/s3/s3_int.h"

/* The largest chunk accepted unless the caller sets d->max_chunk after
 * s3_chunked_init. SDKs send 64 KiB to 1 MiB; MinIO caps at 16 MiB too. */
#define CHUNKED_DEFAULT_MAX_CHUNK ((uint64_t)16 << 20)
#define CHUNKED_MAX_TRAILERS (sizeof(((s3_chunked *)0)->trailers) / sizeof(s3_kv))
#define TRAILER_SIGNATURE "x-amz-trailer-signature"
#define CHUNK_SIG_PREFIX ";chunk-signature="

enum {
    ST_SIZE_LINE,     /* reading "<hex>[;chunk-signature=<sig>]\r\n" */
    ST_DATA,          /* handing the current chunk's data to out() */
    ST_DATA_CR,       /* the CR after the data */
    ST_DATA_LF,       /* the LF after the data */
    ST_TRAILER_FIRST, /* the line right after the final chunk's size line */
    ST_TRAILER_LINE,  /* after the final chunk: trailer lines or the empty line */
    ST_TRAILER_END,   /* after x-amz-trailer-signature: only the empty line */
    ST_DONE,
    ST_FAILED,
};

typedef unsigned long long ull;

void s3_chunked_init(s3_chunked *d, bool is_signed, bool expect_trailer, const unsigned char key[32],
                     const char *amz_date, const char *scope, const char *seed_sig) {
    memset(d, 0, sizeof *d);
    d->is_signed = is_signed;
    d->expect_trailer = expect_trailer;
    if (key) memcpy(d->key, key, sizeof d->key);
    snprintf(d->amz_date, sizeof d->amz_date, "%s", amz_date ? amz_date : "");
    snprintf(d->scope, sizeof d->scope, "%s", scope ? scope : "");
    snprintf(d->prev_sig, sizeof d->prev_sig, "%s", seed_sig ? seed_sig : "");
    d->max_chunk = CHUNKED_DEFAULT_MAX_CHUNK;
    d->state = ST_SIZE_LINE;
    d->trailers_raw = (buf_t)BUF_INIT;
}

void s3_chunked_free(s3_chunked *d) {
    if (d->chunk_hash_live) hash_abort(&d->chunk_hash);
    d->chunk_hash_live = false;
    buf_free(&d->trailers_raw);
    explicit_bzero(d->key, sizeof d->key);
}

const char *s3_chunked_trailer(const s3_chunked *d, const char *name) {
    for (size_t i = 0; i < d->ntrailers; i++)
        if (str_eq_nocase(d->trailers[i].name, name)) return d->trailers[i].value;
    return NULL;
}

/* Copies s[0..n) into out for a message: at most 48 bytes, non-printable
 * bytes as \xNN, "..." when cut. */
static const char *quote(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 48 || o + 8 >= cap) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static unsigned hex_val(char c) {
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

static bool all_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i])) return false;
    return true;
}

/* Closes the current chunk's hash and checks its chunk-signature, which then
 * becomes the previous signature for the next chunk. */
static bool verify_chunk(s3_chunked *d, floe_err *err) {
    unsigned char digest[HASH_MAX_DIGEST];
    char hex[65], want[65];
    hash_final(&d->chunk_hash, digest);
    d->chunk_hash_live = false;
    str_hex(digest, 32, hex);
    s3_sigv4_chunk_signature(d->key, d->amz_date, d->scope, d->prev_sig, hex, want);
    if (!s3_sigv4_sig_equal(want, d->chunk_sig))
        return floe_err_set(err, FLOE_EAUTH,
                            "aws-chunked chunk %llu: chunk-signature %s does not match the chunk's data and the "
                            "previous signature; the body was altered or signed with another secret key",
                            (ull)d->nchunks, d->chunk_sig);
    memcpy(d->prev_sig, d->chunk_sig, sizeof d->prev_sig);
    return true;
}

/* Parses the hex size at the start of a size line: leading zeros, then at
 * most 16 digits. Returns the number of hex digits consumed (0 if none). */
static size_t parse_hex_size(const char *s, size_t n, uint64_t *size, bool *overflow) {
    size_t i = 0, sig = 0;
    uint64_t v = 0;
    *overflow = false;
    while (i < n && is_hex(s[i])) {
        if (v != 0 || s[i] != '0') sig++;
        if (sig > 16) *overflow = true;
        v = (v << 4) | hex_val(s[i]);
        i++;
    }
    *size = v;
    return i;
}

/* A size line s[0..n), which began at byte `at` of the body. */
static bool size_line(s3_chunked *d, const char *s, size_t n, ull at, floe_err *err) {
    char q[200];
    d->nchunks++;
    uint64_t size;
    bool overflow;
    size_t h = parse_hex_size(s, n, &size, &overflow);
    const char *want = d->is_signed ? "'<hex size>;chunk-signature=<64 hex digits>'" : "'<hex size>'";
    if (h == 0 || (h < n && s[h] != ';'))
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu (byte %llu): size line '%s' is not hex; expected %s",
                            (ull)d->nchunks, at, quote(s, n, q, sizeof q), want);
    if (overflow || size > d->max_chunk)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu (byte %llu): size '%s' is larger than the limit of %llu bytes; "
                            "send smaller chunks",
                            (ull)d->nchunks, at, quote(s, h, q, sizeof q), (ull)d->max_chunk);
    const char *ext = s + h;
    size_t ext_len = n - h;
    size_t plen = strlen(CHUNK_SIG_PREFIX);
    if (d->is_signed) {
        if (ext_len != plen + 64 || memcmp(ext, CHUNK_SIG_PREFIX, plen) != 0 || !all_hex(ext + plen, 64))
            return floe_err_set(err, FLOE_EINVAL,
                                "aws-chunked chunk %llu (byte %llu): size line '%s' is not of the form %s, which "
                                "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD requires",
                                (ull)d->nchunks, at, quote(s, n, q, sizeof q), want);
        memcpy(d->chunk_sig, ext + plen, 64);
        d->chunk_sig[64] = '\0';
        hash_init(&d->chunk_hash, HASH_SHA256);
        d->chunk_hash_live = true;
    } else if (ext_len != 0) {
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu (byte %llu): size line '%s' has an extension after the size, but "
                            "this upload is unsigned; expected %s",
                            (ull)d->nchunks, at, quote(s, n, q, sizeof q), want);
    }
    if (size == 0) {
        if (d->is_signed && !verify_chunk(d, err)) return false;
        d->final_seen = true;
        d->state = ST_TRAILER_FIRST;
        return true;
    }
    d->remaining = size;
    d->state = ST_DATA;
    return true;
}

static bool finish_body(s3_chunked *d) {
    d->state = ST_DONE;
    d->done = true;
    return true;
}

static bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Stores a trailer (lower-cased name, value) in trailer_store and appends
 * "name:value\n" to trailers_raw for the trailer signature. */
static bool store_trailer(s3_chunked *d, const char *name, size_t nlen, const char *value, size_t vlen, ull at,
                          floe_err *err) {
    char q[200];
    if (d->ntrailers == CHUNKED_MAX_TRAILERS)
        return floe_err_set(err, FLOE_EINVAL, "aws-chunked trailers (byte %llu): more than %zu trailers; send fewer",
                            at, CHUNKED_MAX_TRAILERS);
    if (d->trailer_store_len + nlen + vlen + 2 > sizeof d->trailer_store)
        return floe_err_set(err, FLOE_EINVAL, "aws-chunked trailers (byte %llu): trailers exceed %zu bytes in all", at,
                            sizeof d->trailer_store);
    char *n = d->trailer_store + d->trailer_store_len;
    for (size_t i = 0; i < nlen; i++) n[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    n[nlen] = '\0';
    if (s3_chunked_trailer(d, n))
        return floe_err_set(err, FLOE_EINVAL, "aws-chunked trailers (byte %llu): trailer '%s' appears twice", at,
                            quote(n, nlen, q, sizeof q));
    char *v = n + nlen + 1;
    memcpy(v, value, vlen);
    v[vlen] = '\0';
    d->trailer_store_len += nlen + vlen + 2;
    d->trailers[d->ntrailers].name = n;
    d->trailers[d->ntrailers].value = v;
    d->ntrailers++;
    buf_append(&d->trailers_raw, n, nlen);
    buf_putc(&d->trailers_raw, ':');
    buf_append(&d->trailers_raw, v, vlen);
    buf_putc(&d->trailers_raw, '\n');
    return true;
}

static bool check_trailer_signature(s3_chunked *d, const char *sig, size_t len, ull at, floe_err *err) {
    char q[200], want[65];
    if (!d->is_signed)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked trailers (byte %llu): x-amz-trailer-signature in an unsigned upload; an "
                            "upload with STREAMING-UNSIGNED-PAYLOAD-TRAILER sends no trailer signature",
                            at);
    if (len != 64 || !all_hex(sig, len))
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked trailers (byte %llu): x-amz-trailer-signature '%s' is not 64 hex digits", at,
                            quote(sig, len, q, sizeof q));
    char got[65];
    memcpy(got, sig, 64);
    got[64] = '\0';
    s3_sigv4_trailer_signature(d->key, d->amz_date, d->scope, d->prev_sig,
                               d->trailers_raw.data ? d->trailers_raw.data : "", d->trailers_raw.len, want);
    if (!s3_sigv4_sig_equal(want, got))
        return floe_err_set(err, FLOE_EAUTH,
                            "aws-chunked trailers: x-amz-trailer-signature %s does not match the trailers and the "
                            "final chunk's signature; the trailers were altered or signed with another secret key",
                            got);
    memcpy(d->prev_sig, got, sizeof d->prev_sig);
    d->state = ST_TRAILER_END;
    return true;
}

/* One line after the final chunk: "name:value", or the empty line that ends
 * the body. */
static bool trailer_line(s3_chunked *d, const char *s, size_t n, ull at, floe_err *err) {
    char q[200];
    bool signed_trailer = d->is_signed && d->expect_trailer;
    if (n == 0 && d->state == ST_TRAILER_FIRST && signed_trailer) {
        /* Some clients end the final chunk with an empty line before the
         * trailers. A signed trailer block cannot be empty, so this line
         * cannot be the end: skip it. */
        d->state = ST_TRAILER_LINE;
        return true;
    }
    if (n == 0) {
        if (d->state != ST_TRAILER_END && signed_trailer)
            return floe_err_set(err, FLOE_EINVAL,
                                "aws-chunked trailers (byte %llu): the trailers ended without "
                                "x-amz-trailer-signature, which STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER requires",
                                at);
        return finish_body(d);
    }
    if (d->state == ST_TRAILER_END)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked trailers (byte %llu): line '%s' after x-amz-trailer-signature; the "
                            "signature must be the last trailer, followed by an empty line",
                            at, quote(s, n, q, sizeof q));
    if (!d->expect_trailer)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked body (byte %llu): line '%s' after the final zero-length chunk, where an "
                            "empty line was expected; trailers need x-amz-content-sha256 ending in -TRAILER",
                            at, quote(s, n, q, sizeof q));
    d->state = ST_TRAILER_LINE;
    const char *colon = memchr(s, ':', n);
    size_t nlen = colon ? (size_t)(colon - s) : 0;
    bool name_ok = nlen > 0;
    for (size_t i = 0; i < nlen && name_ok; i++) name_ok = is_token_char(s[i]);
    if (!name_ok)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked trailers (byte %llu): line '%s' is not a trailer; expected 'name:value'", at,
                            quote(s, n, q, sizeof q));
    const char *v = colon + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    for (const char *c = v; c < end; c++) {
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return floe_err_set(err, FLOE_EINVAL,
                                "aws-chunked trailers (byte %llu): the value of trailer '%s' has a control "
                                "character (0x%02x)",
                                at, quote(s, nlen, q, sizeof q), (unsigned)(unsigned char)*c);
    }
    if (nlen == strlen(TRAILER_SIGNATURE) && strncasecmp(s, TRAILER_SIGNATURE, nlen) == 0)
        return check_trailer_signature(d, v, (size_t)(end - v), at, err);
    return store_trailer(d, s, nlen, v, (size_t)(end - v), at, err);
}

/* Names the line being read, for messages: "chunk 3" or "trailers". */
static void describe_line(const s3_chunked *d, char *out, size_t cap) {
    if (d->state == ST_SIZE_LINE)
        snprintf(out, cap, "chunk %llu", (ull)d->nchunks + 1);
    else
        snprintf(out, cap, "trailers");
}

/* A complete line is in d->line (without its LF): check the CR and act. */
static bool line_done(s3_chunked *d, floe_err *err) {
    char q[200];
    ull at = (ull)(d->offset - d->line_len - 1);
    size_t n = d->line_len;
    d->line_len = 0;
    if (n == 0 || d->line[n - 1] != '\r') {
        char where[64];
        describe_line(d, where, sizeof where);
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked %s (byte %llu): line '%s' ends with a bare LF; lines end with CRLF", where, at,
                            quote(d->line, n, q, sizeof q));
    }
    d->line[n - 1] = '\0';
    return d->state == ST_SIZE_LINE ? size_line(d, d->line, n - 1, at, err) : trailer_line(d, d->line, n - 1, at, err);
}

/* Appends input up to and including the next LF to the line buffer.
 * *used is the count consumed; *complete is true when the LF was seen. */
static bool take_line(s3_chunked *d, const char *p, size_t n, size_t *used, bool *complete, floe_err *err) {
    const char *lf = memchr(p, '\n', n);
    size_t k = lf ? (size_t)(lf - p) : n;
    if (d->line_len + k >= sizeof d->line) {
        char where[64];
        describe_line(d, where, sizeof where);
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked %s (byte %llu): line longer than %zu bytes without a CRLF; the body is not "
                            "aws-chunked or is corrupt",
                            where, (ull)(d->offset - d->line_len), sizeof d->line - 1);
    }
    memcpy(d->line + d->line_len, p, k);
    d->line_len += k;
    *used = lf ? k + 1 : k;
    *complete = lf != NULL;
    return true;
}

/* Data bytes of the current chunk: hash them and hand them to out(). */
static bool take_data(s3_chunked *d, const char *p, size_t n, size_t *used,
                      bool (*out)(void *ctx, const char *p, size_t n, floe_err *err), void *ctx, floe_err *err) {
    size_t k = n < d->remaining ? n : (size_t)d->remaining;
    *used = k;
    if (d->chunk_hash_live) hash_update(&d->chunk_hash, p, k);
    d->remaining -= k;
    d->decoded_bytes += k;
    if (out && !out(ctx, p, k, err)) return false;
    if (d->remaining == 0) {
        if (d->is_signed && !verify_chunk(d, err)) return false;
        d->state = ST_DATA_CR;
    }
    return true;
}

static bool data_crlf(s3_chunked *d, char c, floe_err *err) {
    char want = d->state == ST_DATA_CR ? '\r' : '\n';
    if (c != want)
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu (byte %llu): expected CRLF after the chunk's data, found 0x%02x; "
                            "the size line does not match the data that follows",
                            (ull)d->nchunks, (ull)d->offset, (unsigned)(unsigned char)c);
    d->state = d->state == ST_DATA_CR ? ST_DATA_LF : ST_SIZE_LINE;
    return true;
}

static bool fail(s3_chunked *d) {
    d->state = ST_FAILED;
    if (d->chunk_hash_live) hash_abort(&d->chunk_hash);
    d->chunk_hash_live = false;
    return false;
}

bool s3_chunked_feed(s3_chunked *d, const char *p, size_t n,
                     bool (*out)(void *ctx, const char *p, size_t n, floe_err *err), void *ctx, floe_err *err) {
    if (d->state == ST_FAILED)
        return floe_err_set(err, FLOE_EINVAL, "aws-chunked body: input after the decoder already rejected the body");
    size_t i = 0;
    while (i < n) {
        size_t used = 1;
        bool complete = false;
        switch (d->state) {
        case ST_SIZE_LINE:
        case ST_TRAILER_FIRST:
        case ST_TRAILER_LINE:
        case ST_TRAILER_END:
            if (!take_line(d, p + i, n - i, &used, &complete, err)) return fail(d);
            d->offset += used;
            if (complete && !line_done(d, err)) return fail(d);
            break;
        case ST_DATA:
            if (!take_data(d, p + i, n - i, &used, out, ctx, err)) return fail(d);
            d->offset += used;
            break;
        case ST_DATA_CR:
        case ST_DATA_LF:
            if (!data_crlf(d, p[i], err)) return fail(d);
            d->offset++;
            break;
        default:
            floe_err_set(err, FLOE_EINVAL,
                         "aws-chunked body (byte %llu): data after the end of the encoding (the empty line "
                         "after the final chunk); Content-Length is larger than the encoded body",
                         (ull)d->offset);
            return fail(d);
        }
        i += used;
    }
    return true;
}

bool s3_chunked_finish(s3_chunked *d, floe_err *err) {
    switch (d->state) {
    case ST_DONE: return true;
    case ST_SIZE_LINE:
        if (d->nchunks == 0 && d->line_len == 0)
            return floe_err_set(err, FLOE_EINVAL,
                                "aws-chunked body is empty; even an empty object ends with a zero-length chunk");
        if (d->line_len > 0)
            return floe_err_set(err, FLOE_EINVAL,
                                "aws-chunked chunk %llu: the body ended inside the chunk's size line; the upload was "
                                "cut short",
                                (ull)d->nchunks + 1);
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked body ended after %llu chunks (%llu data bytes) without the final "
                            "zero-length chunk; the upload was cut short",
                            (ull)d->nchunks, (ull)d->decoded_bytes);
    case ST_DATA:
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu: the body ended with %llu of the chunk's data bytes missing; the "
                            "upload was cut short",
                            (ull)d->nchunks, (ull)d->remaining);
    case ST_DATA_CR:
    case ST_DATA_LF:
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked chunk %llu: the body ended before the CRLF after the chunk's data",
                            (ull)d->nchunks);
    case ST_TRAILER_FIRST:
    case ST_TRAILER_LINE:
    case ST_TRAILER_END:
        return floe_err_set(err, FLOE_EINVAL,
                            "aws-chunked body ended after the final chunk but before the empty line that ends %s",
                            d->expect_trailer ? "the trailers" : "the encoding");
    default: return floe_err_set(err, FLOE_EINVAL, "aws-chunked body was already rejected");
    }
}
