/*
 * codec.c: the block codecs of Avro container files.
 *
 *   null        the block as is
 *   deflate     raw deflate (RFC 1951, no zlib header), through zlib
 *   snappy      a snappy block followed by the big-endian CRC-32 of the
 *               uncompressed data
 *   zstandard   zstd frames
 *
 * Decompression never produces more than AVRO_MAX_RATIO times its input
 * (with a floor of AVRO_MIN_BLOCK_CAP and a ceiling of AVRO_MAX_BLOCK), so a
 * small hostile block cannot make Floe allocate gigabytes.
 */
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/hash.h"
#include "format/avro/avro_int.h"

static const char *const codec_names[] = {"null", "deflate", "snappy", "zstandard"};

const char *avro_codec_name(avro_codec c) {
    if ((unsigned)c < sizeof codec_names / sizeof codec_names[0]) return codec_names[c];
    return "unknown";
}

bool avro_codec_parse(const char *name, avro_codec *out) {
    for (size_t i = 0; i < sizeof codec_names / sizeof codec_names[0]; i++)
        if (!strcmp(name, codec_names[i])) {
            *out = (avro_codec)i;
            return true;
        }
    if (!strcmp(name, "zstd")) {
        *out = AVRO_CODEC_ZSTD;
        return true;
    }
    return false;
}

static size_t out_cap(size_t n) {
    size_t cap = n > AVRO_MAX_BLOCK / AVRO_MAX_RATIO ? AVRO_MAX_BLOCK : n * AVRO_MAX_RATIO;
    return cap < AVRO_MIN_BLOCK_CAP ? AVRO_MIN_BLOCK_CAP : cap;
}

static bool deflate_block(int level, const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return floe_err_set(err, FLOE_EINVAL, "deflate level %d: expected 1 to 9", level);
    size_t bound = deflateBound(&z, (uLong)n);
    buf_reserve(out, bound);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return floe_err_set(err, FLOE_EINTERNAL, "deflate failed (zlib code %d)", rc);
    return true;
}

static bool inflate_block(const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return floe_err_set(err, FLOE_ENOMEM, "inflate: zlib could not start");
    size_t cap = out_cap(n);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int rc = Z_OK;
    bool ok = false;
    while (rc != Z_STREAM_END) {
        if (out->len >= cap) {
            floe_err_set(err, FLOE_ETOOLARGE,
                         "deflate data of %zu bytes inflates past %zu bytes; expected at most %d times its size", n,
                         cap, AVRO_MAX_RATIO);
            goto fail;
        }
        size_t room = out->len < 65536 ? 65536 : out->len;
        if (room > cap - out->len) room = cap - out->len;
        buf_reserve(out, room);
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            floe_err_set(err, FLOE_EINVAL, "deflate data ends before its last block");
            goto fail;
        }
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            floe_err_set(err, FLOE_EINVAL, "deflate data is corrupt (%s)", z.msg ? z.msg : "zlib error");
            goto fail;
        }
    }
    ok = true;
fail:
    inflateEnd(&z);
    return ok;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool unsnappy_block(const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    if (n < 4) return floe_err_set(err, FLOE_EINVAL, "snappy block of %zu bytes; expected data and a 4-byte CRC", n);
    size_t clen = n - 4, ulen;
    if (snappy_uncompressed_length((const char *)in, clen, &ulen) != SNAPPY_OK)
        return floe_err_set(err, FLOE_EINVAL, "snappy block has no valid length header");
    if (ulen > out_cap(clen))
        return floe_err_set(err, FLOE_ETOOLARGE,
                            "snappy block of %zu bytes claims %zu uncompressed; expected at most %zu", clen, ulen,
                            out_cap(clen));
    if (snappy_validate_compressed_buffer((const char *)in, clen) != SNAPPY_OK)
        return floe_err_set(err, FLOE_EINVAL, "snappy block is corrupt");
    buf_reserve(out, ulen + 1);
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, clen, out->data, &got) != SNAPPY_OK || got != ulen)
        return floe_err_set(err, FLOE_EINVAL, "snappy block is corrupt");
    out->len = ulen;
    uint32_t want = be32(in + clen), crc = hash_crc32(0, out->data, ulen);
    if (crc != want)
        return floe_err_set(err, FLOE_EINVAL, "snappy block CRC-32 is %08x; the data's is %08x", want, crc);
    return true;
}

static bool unzstd_block(const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    ZSTD_DCtx *z = ZSTD_createDCtx();
    if (!z) return floe_err_set(err, FLOE_ENOMEM, "zstd: out of memory");
    size_t cap = out_cap(n);
    ZSTD_inBuffer ib = {in, n, 0};
    size_t rc = 1;
    bool ok = false;
    while (ib.pos < ib.size || rc != 0) {
        if (out->len >= cap) {
            floe_err_set(err, FLOE_ETOOLARGE,
                         "zstandard data of %zu bytes expands past %zu bytes; expected at most %d times its size", n,
                         cap, AVRO_MAX_RATIO);
            goto fail;
        }
        size_t room = out->len < 65536 ? 65536 : out->len;
        if (room > cap - out->len) room = cap - out->len;
        buf_reserve(out, room);
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        rc = ZSTD_decompressStream(z, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(rc)) {
            floe_err_set(err, FLOE_EINVAL, "zstandard data is corrupt (%s)", ZSTD_getErrorName(rc));
            goto fail;
        }
        if (rc != 0 && ib.pos == ib.size && ob.pos < room) {
            floe_err_set(err, FLOE_EINVAL, "zstandard data ends inside a frame");
            goto fail;
        }
    }
    ok = true;
fail:
    ZSTD_freeDCtx(z);
    return ok;
}

bool avro_compress(avro_codec c, int level, const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    switch (c) {
    case AVRO_CODEC_NULL: buf_append(out, in, n); return true;
    case AVRO_CODEC_DEFLATE: return deflate_block(level, in, n, out, err);
    case AVRO_CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        buf_reserve(out, cap + 4);
        size_t got = cap;
        if (snappy_compress((const char *)in, n, out->data + out->len, &got) != SNAPPY_OK)
            return floe_err_set(err, FLOE_EINTERNAL, "snappy compression failed");
        out->len += got;
        uint32_t crc = hash_crc32(0, in, n);
        uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
        buf_append(out, be, 4);
        return true;
    }
    case AVRO_CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        buf_reserve(out, cap);
        size_t got = ZSTD_compress(out->data + out->len, cap, in, n, level ? level : 3);
        if (ZSTD_isError(got)) return floe_err_set(err, FLOE_EINVAL, "zstandard: %s", ZSTD_getErrorName(got));
        out->len += got;
        return true;
    }
    }
    return floe_err_set(err, FLOE_EINVAL, "unknown codec %d", (int)c);
}

bool avro_decompress(avro_codec c, const uint8_t *in, size_t n, buf_t *out, floe_err *err) {
    buf_reset(out);
    switch (c) {
    case AVRO_CODEC_NULL: buf_append(out, in, n); return true;
    case AVRO_CODEC_DEFLATE: return inflate_block(in, n, out, err);
    case AVRO_CODEC_SNAPPY: return unsnappy_block(in, n, out, err);
    case AVRO_CODEC_ZSTD: return unzstd_block(in, n, out, err);
    }
    return floe_err_set(err, FLOE_EINVAL, "unknown codec %d", (int)c);
}
