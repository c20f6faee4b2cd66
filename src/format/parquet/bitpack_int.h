/*
 * bitpack_int.h: bit-packing kernels under the Parquet encodings (internal to
 * src/format/parquet/).
 *
 * Values are packed LSB first, as the RLE/bit-packed hybrid and
 * DELTA_BINARY_PACKED store them: value i occupies bits [i*w, i*w+w) of the
 * byte string, bit k of a byte string being bit k%8 of byte k/8.
 *
 * The unpackers take the count of bytes they may read (avail), which must be
 * at least ceil(n*width/8). They read whole 64-bit words where avail leaves 8
 * bytes of slack past a group of 8 values, and copy the last few groups into
 * a zero-padded scratch block otherwise, so they never read past avail.
 */
#ifndef FLOE_FORMAT_PQ_BITPACK_INT_H
#define FLOE_FORMAT_PQ_BITPACK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Unpack n values of width bits (u8: 0..8, u32: 0..32, u64: 0..64) from in.
 * Width 0 yields zeros and reads nothing. */
void pq_unpack_u8(const uint8_t *in, size_t avail, int width, uint8_t *out, size_t n);
void pq_unpack_u32(const uint8_t *in, size_t avail, int width, uint32_t *out, size_t n);
void pq_unpack_u64(const uint8_t *in, size_t avail, int width, uint64_t *out, size_t n);
/* pq_unpack_u8 without the table and memcpy kernels of widths 1 and 8: only
 * for tests that check the two agree. */
void pq_unpack_u8_generic(const uint8_t *in, size_t avail, int width, uint8_t *out, size_t n);

/* Append ceil(n*width/8) bytes holding vals packed at width bits each.
 * Bits of a value above width are dropped. */
void pq_pack_u32(buf_t *out, const uint32_t *vals, size_t n, int width);
void pq_pack_u64(buf_t *out, const uint64_t *vals, size_t n, int width);
void pq_pack_u8(buf_t *out, const uint8_t *vals, size_t n, int width);

#endif
