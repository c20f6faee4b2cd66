/*
 * pq_encoding.h: Parquet value encodings and page compression codecs
 * (parquet-format Encodings.md and Compression.md), as pure functions over
 * byte ranges. Internal to src/format/parquet/.
 *
 * Decoders never read outside [p, p+len) and never write more than the
 * count they are given. Malformed input fails with FLOE_EINVAL and a message
 * that says which encoding, the byte offset within the input, and what was
 * expected there ("RLE run at byte 12: run of 300 values overruns the 200
 * values expected"). Encoders append to a buf_t and cannot fail.
 */
#ifndef FLOE_FORMAT_PQ_ENCODING_H
#define FLOE_FORMAT_PQ_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Compression codecs, numbered as parquet.thrift's CompressionCodec. */
typedef enum pq_codec {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3, /* not supported */
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5, /* Hadoop-framed LZ4, read only */
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7,
} pq_codec;

const char *pq_codec_name(pq_codec c); /* "ZSTD", ... ; "UNKNOWN" */
bool pq_codec_parse(const char *name,
                    pq_codec *out); /* "zstd", "snappy", "gzip", "none"/"uncompressed", "lz4_raw", "brotli" */

/* Compresses in[0..n) and appends the result to out. level applies to zstd
 * (1..22, 0 = default 3), gzip (1..9, 0 = default 6) and brotli. */
bool pq_compress(pq_codec c, int level, const void *in, size_t n, buf_t *out, floe_err *err);
/* Decompresses exactly out_len bytes (the page header's uncompressed size);
 * fails if the input yields more or fewer. */
bool pq_decompress(pq_codec c, const void *in, size_t n, void *out, size_t out_len, floe_err *err);

/* Smallest bit width that holds max (0 for 0). */
int pq_bit_width(uint64_t max);

/* RLE / bit-packed hybrid, without the 4-byte length prefix that data page v1
 * levels carry. bit_width 0..32. */
void pq_rle_encode(buf_t *out, const uint32_t *vals, size_t n, int bit_width);
void pq_rle_encode_u8(buf_t *out, const uint8_t *vals, size_t n, int bit_width);
/* Decodes exactly n values. Extra input after the n values is ignored (a
 * bit-packed run may pad past n). */
bool pq_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n, floe_err *err);
/* Levels: bit_width 0..8, values into bytes. bit_width 0 yields n zeros. */
bool pq_rle_decode_u8(const uint8_t *p, size_t len, int bit_width, uint8_t *out, size_t n, floe_err *err);

/* Whether the stream starts with one RLE run of exactly n values (bit
 * width 1..32), every value then being *v: lets a reader skip levels that
 * are all the same. False for anything else, valid or not. */
bool pq_rle_single_run(const uint8_t *p, size_t len, int bit_width, size_t n, uint32_t *v);

/* Kernels for the reader, 16 or 4 values per step where SSE2 is there.
 * pq_count_levels: how many of p[0..n) equal max; *over when one exceeds it.
 * pq_indices_below: whether every idx[0..n) < limit.
 * pq_levels_to_bits: bit from+i of bits = (p[i] == max), for i < n.
 * pq_fill_u32: o[0..n) = v. */
size_t pq_count_levels(const uint8_t *p, size_t n, uint8_t max, bool *over);
bool pq_indices_below(const uint32_t *idx, size_t n, uint32_t limit);
void pq_levels_to_bits(uint8_t *bits, size_t from, const uint8_t *p, size_t n, uint8_t max);
void pq_fill_u32(uint32_t *o, size_t n, uint32_t v);

/* Booleans in PLAIN: bit-packed LSB first. */
void pq_plain_encode_bool(buf_t *out, const uint8_t *vals, size_t n);
bool pq_plain_decode_bool(const uint8_t *p, size_t len, uint8_t *out, size_t n, floe_err *err);
/* BYTE_ARRAY in PLAIN: 4-byte little-endian length, then the bytes.
 * Decodes n values: offsets[0..n] (offsets[0] = bytes->len on entry,
 * relative to bytes->data) and appends the value bytes to bytes. *used is
 * the input consumed. */
bool pq_plain_decode_byte_array(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, size_t *used,
                                floe_err *err);

/* DELTA_BINARY_PACKED: block size 128, 4 miniblocks of 32. Arithmetic wraps
 * in the physical type's width. */
void pq_delta_encode_i32(buf_t *out, const int32_t *vals, size_t n);
void pq_delta_encode_i64(buf_t *out, const int64_t *vals, size_t n);
/* Decodes the whole stream: *count values (the header's total, which must
 * be <= cap) into out; *used is the bytes the stream occupied. */
bool pq_delta_decode_i32(const uint8_t *p, size_t len, int32_t *out, size_t cap, size_t *count, size_t *used,
                         floe_err *err);
bool pq_delta_decode_i64(const uint8_t *p, size_t len, int64_t *out, size_t cap, size_t *count, size_t *used,
                         floe_err *err);

/* DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY: n values (the page's non-null
 * count) as offsets[0..n] plus bytes appended to bytes, as for PLAIN. */
void pq_delta_length_encode(buf_t *out, const uint32_t *offsets, const uint8_t *bytes, size_t n);
bool pq_delta_length_decode(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, floe_err *err);
void pq_delta_byte_array_encode(buf_t *out, const uint32_t *offsets, const uint8_t *bytes, size_t n);
bool pq_delta_byte_array_decode(const uint8_t *p, size_t len, size_t n, uint32_t *offsets, buf_t *bytes, floe_err *err);

/* BYTE_STREAM_SPLIT: n values of width bytes each (4 float, 8 double, any
 * for fixed_len_byte_array, int32 and int64). */
void pq_byte_stream_split_encode(buf_t *out, const void *vals, size_t n, int width);
bool pq_byte_stream_split_decode(const uint8_t *p, size_t len, void *out, size_t n, int width, floe_err *err);

#endif
