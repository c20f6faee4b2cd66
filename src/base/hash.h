/*
 * hash.h: checksums and digests.
 *
 * CRC-32 (zlib), CRC-32C (SSE4.2 when the CPU has it), CRC-64/NVME, and MD5,
 * SHA-1 and SHA-256 through OpenSSL. hash_ctx streams any of them, which is
 * how the object store checksums a body as it arrives. CRC results are
 * returned as big-endian bytes, the form S3's x-amz-checksum-* headers encode.
 * MurmurHash3 (x86, 32-bit) is the hash Iceberg's bucket transform uses.
 */
#ifndef FLOE_BASE_HASH_H
#define FLOE_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HASH_NONE = 0,
    HASH_CRC32,
    HASH_CRC32C,
    HASH_CRC64NVME,
    HASH_SHA1,
    HASH_SHA256,
    HASH_MD5,
} hash_algo;

#define HASH_MAX_DIGEST 32

uint32_t hash_crc32(uint32_t crc, const void *data, size_t n);
uint32_t hash_crc32c(uint32_t crc, const void *data, size_t n);
uint64_t hash_crc64nvme(uint64_t crc, const void *data, size_t n);

/* MurmurHash3_x86_32. hash_murmur3_32_u64 hashes the 8 little-endian bytes
 * of x, the same as hash_murmur3_32 on them, without the byte loop. */
uint32_t hash_murmur3_32(const void *data, size_t n, uint32_t seed);
uint32_t hash_murmur3_32_u64(uint64_t x, uint32_t seed);

void hash_md5(const void *data, size_t n, unsigned char out[16]);
void hash_sha1(const void *data, size_t n, unsigned char out[20]);
void hash_sha256(const void *data, size_t n, unsigned char out[32]);
void hash_sha256_hex(const void *data, size_t n, char out[65]);
void hash_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, unsigned char out[32]);

typedef struct hash_ctx {
    hash_algo algo;
    uint64_t crc;
    void *md; /* EVP_MD_CTX for digests */
} hash_ctx;

void hash_init(hash_ctx *h, hash_algo algo);
void hash_update(hash_ctx *h, const void *data, size_t n);
/* Writes the digest and returns its length; frees the context. */
size_t hash_final(hash_ctx *h, unsigned char out[HASH_MAX_DIGEST]);
/* Frees the context without a result (safe on an unused or finished ctx). */
void hash_abort(hash_ctx *h);

size_t hash_digest_len(hash_algo algo);
/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (case-insensitive). */
bool hash_algo_parse(const char *name, hash_algo *out);
const char *hash_algo_name(hash_algo algo);   /* upper case, as S3 spells it */
const char *hash_algo_header(hash_algo algo); /* "x-amz-checksum-crc32" ... */

#endif
