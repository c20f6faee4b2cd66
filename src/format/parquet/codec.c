/*
 * codec.c: Parquet page compression (parquet-format Compression.md) over the
 * system libraries: snappy, zlib (GZIP), zstd, brotli and lz4.
 *
 * Decompression produces exactly the page header's uncompressed size or
 * fails, naming the codec and both sizes. Readers take what writers in the
 * wild produce: GZIP pages may hold several members, or a zlib or raw
 * deflate stream; LZ4 (the deprecated codec) is tried as Hadoop framing
 * first and as a bare LZ4 block after, as parquet-cpp does.
 *
 * Creating a zstd context per page costs more than a small page's
 * decompression, so contexts are reused. A decompression context is small
 * and kept per thread. A compression context is 1-2 MB, and a server has
 * many threads that write now and then, so idle ones wait in a pool of at
 * most one per CPU rather than one per thread that ever wrote.
 */
#include <brotli/decode.h>
#include <brotli/encode.h>
#include <ctype.h>
#include <limits.h>
#include <lz4.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "format/parquet/pq_encoding.h"

const char *pq_codec_name(pq_codec c) {
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED: return "UNCOMPRESSED";
    case PQ_CODEC_SNAPPY: return "SNAPPY";
    case PQ_CODEC_GZIP: return "GZIP";
    case PQ_CODEC_LZO: return "LZO";
    case PQ_CODEC_BROTLI: return "BROTLI";
    case PQ_CODEC_LZ4: return "LZ4";
    case PQ_CODEC_ZSTD: return "ZSTD";
    case PQ_CODEC_LZ4_RAW: return "LZ4_RAW";
    }
    return "UNKNOWN";
}

bool pq_codec_parse(const char *name, pq_codec *out) {
    static const struct {
        const char *name;
        pq_codec codec;
    } names[] = {
        {"none", PQ_CODEC_UNCOMPRESSED}, {"uncompressed", PQ_CODEC_UNCOMPRESSED},
        {"snappy", PQ_CODEC_SNAPPY},     {"gzip", PQ_CODEC_GZIP},
        {"zstd", PQ_CODEC_ZSTD},         {"brotli", PQ_CODEC_BROTLI},
        {"lz4_raw", PQ_CODEC_LZ4_RAW},   {"lz4", PQ_CODEC_LZ4_RAW}, /* as DuckDB: the only LZ4 worth writing */
    };
    if (!name) return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].codec;
            return true;
        }
    return false;
}

/* ---- reused zstd contexts ---------------------------------------------- */

#define CCTX_POOL_MAX 64

static pthread_mutex_t cctx_mu = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_CCtx *cctx_pool[CCTX_POOL_MAX];
static int cctx_idle, cctx_cap;

static ZSTD_CCtx *cctx_get(void) {
    ZSTD_CCtx *c = NULL;
    pthread_mutex_lock(&cctx_mu);
    if (cctx_idle > 0) c = cctx_pool[--cctx_idle];
    pthread_mutex_unlock(&cctx_mu);
    if (!c && !(c = ZSTD_createCCtx())) abort();
    return c;
}

static void cctx_put(ZSTD_CCtx *c) {
    pthread_mutex_lock(&cctx_mu);
    if (cctx_cap == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cctx_cap = n < 1 ? 1 : n > CCTX_POOL_MAX ? CCTX_POOL_MAX : (int)n;
    }
    if (cctx_idle < cctx_cap) {
        cctx_pool[cctx_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&cctx_mu);
    ZSTD_freeCCtx(c);
}

typedef struct codec_tls {
    ZSTD_DCtx *dctx;
} codec_tls;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread codec_tls *tls;

static void tls_free(void *p) {
    codec_tls *t = p;
    ZSTD_freeDCtx(t->dctx);
    free(t);
    tls = NULL;
}

static void tls_key_create(void) {
    if (pthread_key_create(&tls_key, tls_free) != 0) abort();
}

static codec_tls *codec_tls_get(void) {
    if (!tls) {
        pthread_once(&tls_once, tls_key_create);
        tls = calloc(1, sizeof *tls);
        if (!tls) abort();
        pthread_setspecific(tls_key, tls);
    }
    return tls;
}

static ZSTD_DCtx *zstd_dctx(void) {
    codec_tls *t = codec_tls_get();
    if (!t->dctx && !(t->dctx = ZSTD_createDCtx())) abort();
    return t->dctx;
}

/* ---- compression ------------------------------------------------------ */

static int clamp_level(int level, int dflt, int lo, int hi) {
    if (level == 0) return dflt;
    return level < lo ? lo : level > hi ? hi : level;
}

static bool gzip_compress(int level, const void *in, size_t n, buf_t *out, floe_err *err) {
    if (n > UINT_MAX / 2)
        return floe_err_set(err, FLOE_ETOOLARGE, "GZIP: a page of %zu bytes is too large to compress in one call", n);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, clamp_level(level, 6, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return floe_err_set(err, FLOE_ENOMEM, "GZIP: deflateInit2 failed");
    size_t bound = deflateBound(&zs, (uLong)n);
    buf_reserve(out, bound);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return floe_err_set(err, FLOE_EINTERNAL, "GZIP: deflate returned %d", rc);
    out->len += produced;
    out->data[out->len] = '\0';
    return true;
}

bool pq_compress(pq_codec c, int level, const void *in, size_t n, buf_t *out, floe_err *err) {
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED: buf_append(out, in, n); return true;
    case PQ_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        buf_reserve(out, cap);
        if (snappy_compress(in, n, out->data + out->len, &cap) != SNAPPY_OK)
            return floe_err_set(err, FLOE_EINTERNAL, "SNAPPY: compressing %zu bytes failed", n);
        out->len += cap;
        out->data[out->len] = '\0';
        return true;
    }
    case PQ_CODEC_GZIP: return gzip_compress(level, in, n, out, err);
    case PQ_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        buf_reserve(out, cap);
        ZSTD_CCtx *z = cctx_get();
        size_t r = ZSTD_compressCCtx(z, out->data + out->len, cap, in, n,
                                     clamp_level(level, ZSTD_CLEVEL_DEFAULT, ZSTD_minCLevel(), ZSTD_maxCLevel()));
        cctx_put(z);
        if (ZSTD_isError(r))
            return floe_err_set(err, FLOE_EINTERNAL, "ZSTD: compressing %zu bytes failed: %s", n, ZSTD_getErrorName(r));
        out->len += r;
        out->data[out->len] = '\0';
        return true;
    }
    case PQ_CODEC_BROTLI: {
        size_t cap = BrotliEncoderMaxCompressedSize(n);
        if (cap == 0)
            return floe_err_set(err, FLOE_ETOOLARGE, "BROTLI: a page of %zu bytes is too large to compress", n);
        buf_reserve(out, cap);
        if (!BrotliEncoderCompress(clamp_level(level, 6, 1, BROTLI_MAX_QUALITY), BROTLI_DEFAULT_WINDOW,
                                   BROTLI_MODE_GENERIC, n, in, &cap, (uint8_t *)out->data + out->len))
            return floe_err_set(err, FLOE_EINTERNAL, "BROTLI: compressing %zu bytes failed", n);
        out->len += cap;
        out->data[out->len] = '\0';
        return true;
    }
    case PQ_CODEC_LZ4_RAW: {
        if (n > LZ4_MAX_INPUT_SIZE)
            return floe_err_set(err, FLOE_ETOOLARGE, "LZ4_RAW: a page of %zu bytes is over LZ4's limit of %d", n,
                                LZ4_MAX_INPUT_SIZE);
        int cap = LZ4_compressBound((int)n);
        buf_reserve(out, (size_t)cap);
        int r = LZ4_compress_default(in, out->data + out->len, (int)n, cap);
        if (r <= 0 && n > 0) return floe_err_set(err, FLOE_EINTERNAL, "LZ4_RAW: compressing %zu bytes failed", n);
        out->len += (size_t)(r > 0 ? r : 0);
        out->data[out->len] = '\0';
        return true;
    }
    case PQ_CODEC_LZ4:
        return floe_err_set(err, FLOE_EINVAL,
                            "LZ4 (the deprecated Hadoop-framed codec) is read but never written; write LZ4_RAW");
    case PQ_CODEC_LZO:
        return floe_err_set(err, FLOE_EINVAL, "LZO compression is not supported; use ZSTD, SNAPPY or LZ4_RAW");
    }
    return floe_err_set(err, FLOE_EINVAL, "unknown compression codec %d", (int)c);
}

/* ---- decompression ---------------------------------------------------- */

static bool size_mismatch(floe_err *err, const char *codec, size_t n, size_t got, size_t want) {
    return floe_err_set(err, FLOE_EINVAL,
                        "%s page: %zu compressed bytes decompress to %zu bytes, but the page header says %zu", codec, n,
                        got, want);
}

static bool corrupt(floe_err *err, const char *codec, size_t n, size_t want, const char *why) {
    return floe_err_set(err, FLOE_EINVAL,
                        "%s page: %zu compressed bytes do not decompress to the %zu bytes the page header says: %s",
                        codec, n, want, why);
}

/* One pass of inflate over in; window_bits picks gzip/zlib autodetection
 * (15+32) or raw deflate (-15). Several members are decoded in turn. */
static int inflate_all(int window_bits, const void *in, size_t n, void *out, size_t out_len, size_t *produced,
                       const char **why) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, window_bits) != Z_OK) {
        *why = "inflateInit2 failed";
        return Z_MEM_ERROR;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)out_len;
    int rc;
    for (;;) {
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                rc = Z_STREAM_ERROR;
                *why = "inflateReset failed";
                break;
            }
            continue;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR)
            *why = zs.avail_out == 0 && zs.avail_in > 0 ? "it yields more bytes" : "the stream is cut short";
        else
            *why = zs.msg ? zs.msg : "corrupt deflate stream";
        break;
    }
    *produced = out_len - zs.avail_out;
    inflateEnd(&zs);
    return rc;
}

static bool gzip_decompress(const void *in, size_t n, void *out, size_t out_len, floe_err *err) {
    if (n > UINT_MAX || out_len > UINT_MAX)
        return floe_err_set(err, FLOE_ETOOLARGE, "GZIP page: %zu bytes into %zu is too large for zlib", n, out_len);
    size_t produced = 0;
    const char *why = NULL;
    int rc = inflate_all(15 + 32, in, n, out, out_len, &produced, &why);
    if (rc == Z_DATA_ERROR && produced == 0) {
        /* Not gzip or zlib: maybe a raw deflate stream. */
        const char *why_raw = NULL;
        size_t produced_raw = 0;
        if (inflate_all(-15, in, n, out, out_len, &produced_raw, &why_raw) == Z_STREAM_END) {
            rc = Z_STREAM_END;
            produced = produced_raw;
        }
    }
    if (rc != Z_STREAM_END) return corrupt(err, "GZIP", n, out_len, why);
    if (produced != out_len) return size_mismatch(err, "GZIP", n, produced, out_len);
    return true;
}

/* The streaming API, for its reasons: cut short, more output, or corrupt. */
static bool brotli_decompress(const void *in, size_t n, void *out, size_t out_len, floe_err *err) {
    BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!st) return floe_err_set(err, FLOE_ENOMEM, "BROTLI page: cannot create a decoder");
    const uint8_t *next_in = in;
    uint8_t *next_out = out;
    size_t avail_in = n, avail_out = out_len;
    BrotliDecoderResult r = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
    const char *why = r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT    ? "the stream is cut short"
                      : r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT ? "it yields more bytes"
                      : r == BROTLI_DECODER_RESULT_ERROR ? BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st))
                                                         : NULL;
    BrotliDecoderDestroyInstance(st);
    if (why) return corrupt(err, "BROTLI", n, out_len, why);
    if (avail_out != 0) return size_mismatch(err, "BROTLI", n, out_len - avail_out, out_len);
    return true;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Hadoop's BlockCompressorStream framing: blocks of [u32be decompressed
 * size] followed by chunks of [u32be compressed size][LZ4 block] until the
 * block's size is reached (parquet-mr writes one chunk a block; Hadoop may
 * write more). True when the frames parse and fill out exactly. */
static bool lz4_hadoop(const uint8_t *in, size_t n, uint8_t *out, size_t out_len) {
    size_t ip = 0, op = 0;
    if (n == 0) return false;
    while (ip < n) {
        if (n - ip < 4) return false;
        uint32_t d = be32(in + ip);
        ip += 4;
        if (d > out_len - op || d > INT_MAX) return false;
        size_t block_end = op + d;
        while (op < block_end) {
            if (n - ip < 4) return false;
            uint32_t c = be32(in + ip);
            ip += 4;
            if (c > n - ip || c > INT_MAX) return false;
            int r = LZ4_decompress_safe((const char *)in + ip, (char *)out + op, (int)c, (int)(block_end - op));
            if (r < 0) return false;
            ip += c;
            op += (size_t)r;
        }
    }
    return op == out_len;
}

bool pq_decompress(pq_codec c, const void *in, size_t n, void *out, size_t out_len, floe_err *err) {
    static uint8_t empty[1];
    if (out_len == 0 && !out) out = empty;
    if (n == 0 && !in) in = empty;
    switch (c) {
    case PQ_CODEC_UNCOMPRESSED:
        if (n != out_len) return size_mismatch(err, "UNCOMPRESSED", n, n, out_len);
        memmove(out, in, n);
        return true;
    case PQ_CODEC_SNAPPY: {
        size_t len = 0;
        if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK)
            return corrupt(err, "SNAPPY", n, out_len, "the length preamble is invalid");
        if (len != out_len) return size_mismatch(err, "SNAPPY", n, len, out_len);
        if (snappy_uncompress(in, n, out, &len) != SNAPPY_OK || len != out_len)
            return corrupt(err, "SNAPPY", n, out_len, "the compressed data is invalid");
        return true;
    }
    case PQ_CODEC_GZIP: return gzip_decompress(in, n, out, out_len, err);
    case PQ_CODEC_ZSTD: {
        size_t r = ZSTD_decompressDCtx(zstd_dctx(), out, out_len, in, n);
        if (ZSTD_isError(r)) {
            if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
                return corrupt(err, "ZSTD", n, out_len, "it yields more bytes");
            return corrupt(err, "ZSTD", n, out_len, ZSTD_getErrorName(r));
        }
        if (r != out_len) return size_mismatch(err, "ZSTD", n, r, out_len);
        return true;
    }
    case PQ_CODEC_BROTLI: return brotli_decompress(in, n, out, out_len, err);
    case PQ_CODEC_LZ4_RAW:
    case PQ_CODEC_LZ4: {
        const char *name = c == PQ_CODEC_LZ4 ? "LZ4" : "LZ4_RAW";
        if (c == PQ_CODEC_LZ4 && lz4_hadoop(in, n, out, out_len)) return true;
        if (n > INT_MAX || out_len > INT_MAX)
            return floe_err_set(err, FLOE_ETOOLARGE, "%s page: %zu bytes into %zu is over LZ4's 2 GiB limit", name, n,
                                out_len);
        int r = LZ4_decompress_safe(in, out, (int)n, (int)out_len);
        if (r < 0)
            return corrupt(err, name, n, out_len,
                           c == PQ_CODEC_LZ4 ? "neither Hadoop-framed LZ4 nor an LZ4 block, or it yields more bytes"
                                             : "not an LZ4 block, or it yields more bytes");
        if ((size_t)r != out_len) return size_mismatch(err, name, n, (size_t)r, out_len);
        return true;
    }
    case PQ_CODEC_LZO:
        return floe_err_set(err, FLOE_EINVAL,
                            "LZO page: LZO compression is not supported; rewrite the file with ZSTD or SNAPPY");
    }
    return floe_err_set(err, FLOE_EINVAL, "page compressed with unknown codec %d", (int)c);
}
