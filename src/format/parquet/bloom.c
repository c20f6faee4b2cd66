/*
 * bloom.c: split-block bloom filters (parquet-format BloomFilter.md).
 *
 * A filter is an array of 32-byte blocks of eight 32-bit words. A value's
 * xxhash64 (seed 0, over its plain encoding without a length prefix) picks
 * a block from its high 32 bits; its low 32 bits times eight salts pick one
 * bit in each word.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "format/parquet/pq_int.h"

static const uint32_t SALT[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

#define BLOOM_MIN_BYTES 32u
#define BLOOM_MAX_BYTES (128u << 20)

uint64_t pq_bloom_hash(const void *p, size_t n) { return XXH64(p, n, 0); }

void pq_bloom_init(pq_bloom *b, uint64_t ndv, double fpp) {
    /* bits = -8 * ndv / ln(1 - fpp^(1/8)), rounded up to a power of two */
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    uint64_t bytes = BLOOM_MIN_BYTES;
    while (bytes * 8 < bits && bytes < BLOOM_MAX_BYTES) bytes *= 2;
    b->nblocks = (uint32_t)(bytes / 32);
    b->blocks = calloc(b->nblocks, 32);
    if (!b->blocks) abort();
}

void pq_bloom_free(pq_bloom *b) {
    free(b->blocks);
    b->blocks = NULL;
    b->nblocks = 0;
}

static uint32_t *block_of(const pq_bloom *b, uint64_t hash) {
    uint64_t i = ((hash >> 32) * b->nblocks) >> 32;
    return b->blocks + i * 8;
}

void pq_bloom_insert(pq_bloom *b, uint64_t hash) {
    uint32_t *blk = block_of(b, hash);
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++) blk[i] |= 1u << ((key * SALT[i]) >> 27);
}

bool pq_bloom_check(const pq_bloom *b, uint64_t hash) {
    const uint32_t *blk = block_of(b, hash);
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++)
        if (!(blk[i] & (1u << ((key * SALT[i]) >> 27)))) return false;
    return true;
}

void pq_bloom_encode(const pq_bloom *b, buf_t *out) {
    thrift_writer w;
    thrift_writer_init(&w, out);
    thrift_write_struct_begin(&w);
    thrift_write_i32_field(&w, 1, (int32_t)(b->nblocks * 32));
    /* algorithm BLOCK, hash XXHASH, compression UNCOMPRESSED: unions of empty structs */
    for (int16_t id = 2; id <= 4; id++) {
        thrift_write_field(&w, id, THRIFT_STRUCT);
        thrift_write_struct_begin(&w);
        thrift_write_empty_struct_field(&w, 1);
        thrift_write_struct_end(&w);
    }
    thrift_write_struct_end(&w);
    buf_append(out, b->blocks, (size_t)b->nblocks * 32); /* little-endian words */
}

bool pq_bloom_decode(const uint8_t *p, size_t n, size_t base, const char *name, pq_bloom *b, floe_err *err) {
    char what[300];
    snprintf(what, sizeof what, "%s: bloom filter", name ? name : "parquet");
    thrift_reader r;
    thrift_reader_init(&r, p, n, base, what, err);
    int32_t nbytes = -1;
    bool algo_ok = true;
    if (!thrift_struct_begin(&r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(&r, &id, &t)) {
        if (id == 1) {
            if (!thrift_read_i32(&r, &nbytes)) break;
        } else if (id >= 2 && id <= 4 && t == THRIFT_STRUCT) {
            /* each union must pick member 1 */
            if (!thrift_struct_begin(&r)) break;
            int16_t fid;
            uint8_t ft;
            while (thrift_field_next(&r, &fid, &ft)) {
                if (fid != 1) algo_ok = false;
                if (!thrift_skip(&r, ft)) break;
            }
            thrift_struct_end(&r);
        } else if (!thrift_skip(&r, t)) {
            break;
        }
    }
    thrift_struct_end(&r);
    if (r.failed) return false;
    if (!algo_ok)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s: uses an algorithm, hash or compression other than "
                            "split-block, xxhash and uncompressed",
                            what);
    size_t hl = thrift_reader_pos(&r);
    if (nbytes < 32 || nbytes % 32 || (size_t)nbytes > n - hl)
        return floe_err_set(err, FLOE_EINVAL,
                            "%s at byte %zu: bitset of %d bytes; expected a multiple of 32 within "
                            "the %zu bytes that follow",
                            what, base + hl, nbytes, n - hl);
    b->nblocks = (uint32_t)nbytes / 32;
    b->blocks = malloc((size_t)nbytes);
    if (!b->blocks) abort();
    memcpy(b->blocks, p + hl, (size_t)nbytes);
    return true;
}
