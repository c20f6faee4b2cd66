/*
 * hash.c: CRC tables, hardware CRC-32C, MurmurHash3, and OpenSSL digests.
 */
#include "base/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/str.h"

uint32_t hash_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* Slice-by-8 tables for the two software CRCs, built once. */
static uint32_t crc32c_tab[8][256];
static uint64_t crc64_tab[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static bool have_sse42;

static void tables_build(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        uint64_t d = i;
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            d = d & 1 ? (d >> 1) ^ 0x9A6C9329AC4BC9B5ull : d >> 1;
        }
        crc32c_tab[0][i] = c;
        crc64_tab[0][i] = d;
    }
    for (int t = 1; t < 8; t++) {
        for (int i = 0; i < 256; i++) {
            crc32c_tab[t][i] = (crc32c_tab[t - 1][i] >> 8) ^ crc32c_tab[0][crc32c_tab[t - 1][i] & 0xFF];
            crc64_tab[t][i] = (crc64_tab[t - 1][i] >> 8) ^ crc64_tab[0][crc64_tab[t - 1][i] & 0xFF];
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) c = __builtin_ia32_crc32qi((uint32_t)c, *p++), n--;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    while (n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

uint32_t hash_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&tables_once, tables_build);
    const unsigned char *p = data;
    crc = ~crc;
#if defined(__x86_64__)
    if (have_sse42) return ~crc32c_hw(crc, p, n);
#endif
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc32c_tab[7][lo & 0xFF] ^ crc32c_tab[6][(lo >> 8) & 0xFF] ^ crc32c_tab[5][(lo >> 16) & 0xFF] ^
              crc32c_tab[4][lo >> 24] ^ crc32c_tab[3][p[4]] ^ crc32c_tab[2][p[5]] ^ crc32c_tab[1][p[6]] ^
              crc32c_tab[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc32c_tab[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

uint64_t hash_crc64nvme(uint64_t crc, const void *data, size_t n) {
    pthread_once(&tables_once, tables_build);
    const unsigned char *p = data;
    crc = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* little-endian host assumed (x86_64, aarch64) */
        v ^= crc;
        crc = crc64_tab[7][v & 0xFF] ^ crc64_tab[6][(v >> 8) & 0xFF] ^ crc64_tab[5][(v >> 16) & 0xFF] ^
              crc64_tab[4][(v >> 24) & 0xFF] ^ crc64_tab[3][(v >> 32) & 0xFF] ^ crc64_tab[2][(v >> 40) & 0xFF] ^
              crc64_tab[1][(v >> 48) & 0xFF] ^ crc64_tab[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc64_tab[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

/* ---- MurmurHash3_x86_32 (Austin Appleby's public-domain algorithm) ---- */

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t murmur_mix_k(uint32_t k) {
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    return k * 0x1b873593u;
}

static inline uint32_t murmur_mix_h(uint32_t h, uint32_t k) {
    h ^= murmur_mix_k(k);
    h = rotl32(h, 13);
    return h * 5 + 0xe6546b64u;
}

static inline uint32_t murmur_final(uint32_t h, size_t n) {
    h ^= (uint32_t)n;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t hash_murmur3_32(const void *data, size_t n, uint32_t seed) {
    const uint8_t *p = data;
    uint32_t h = seed;
    size_t nblocks = n / 4;
    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                     (uint32_t)p[4 * i + 3] << 24;
        h = murmur_mix_h(h, k);
    }
    const uint8_t *tail = p + nblocks * 4;
    uint32_t k = 0;
    switch (n & 3) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        h ^= murmur_mix_k(k);
        break;
    default: break;
    }
    return murmur_final(h, n);
}

uint32_t hash_murmur3_32_u64(uint64_t x, uint32_t seed) {
    uint32_t h = murmur_mix_h(seed, (uint32_t)x);
    h = murmur_mix_h(h, (uint32_t)(x >> 32));
    return murmur_final(h, 8);
}

static void digest(const EVP_MD *md, const void *data, size_t n, unsigned char *out) {
    unsigned int len = 0;
    EVP_Digest(data, n, out, &len, md, NULL);
}

void hash_md5(const void *data, size_t n, unsigned char out[16]) { digest(EVP_md5(), data, n, out); }
void hash_sha1(const void *data, size_t n, unsigned char out[20]) { digest(EVP_sha1(), data, n, out); }
void hash_sha256(const void *data, size_t n, unsigned char out[32]) { digest(EVP_sha256(), data, n, out); }

void hash_sha256_hex(const void *data, size_t n, char out[65]) {
    unsigned char d[32];
    hash_sha256(data, n, d);
    str_hex(d, 32, out);
}

void hash_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, unsigned char out[32]) {
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

static const EVP_MD *md_of(hash_algo a) {
    switch (a) {
    case HASH_SHA1: return EVP_sha1();
    case HASH_SHA256: return EVP_sha256();
    case HASH_MD5: return EVP_md5();
    default: return NULL;
    }
}

void hash_init(hash_ctx *h, hash_algo algo) {
    h->algo = algo;
    h->crc = 0;
    h->md = NULL;
    const EVP_MD *md = md_of(algo);
    if (md) {
        h->md = EVP_MD_CTX_new();
        if (!h->md) abort();
        EVP_DigestInit_ex(h->md, md, NULL);
    }
}

void hash_update(hash_ctx *h, const void *data, size_t n) {
    switch (h->algo) {
    case HASH_CRC32: h->crc = hash_crc32((uint32_t)h->crc, data, n); break;
    case HASH_CRC32C: h->crc = hash_crc32c((uint32_t)h->crc, data, n); break;
    case HASH_CRC64NVME: h->crc = hash_crc64nvme(h->crc, data, n); break;
    case HASH_NONE: break;
    default: EVP_DigestUpdate(h->md, data, n); break;
    }
}

size_t hash_final(hash_ctx *h, unsigned char out[HASH_MAX_DIGEST]) {
    size_t len = hash_digest_len(h->algo);
    if (h->algo == HASH_CRC32 || h->algo == HASH_CRC32C) {
        for (int i = 0; i < 4; i++) out[i] = (unsigned char)(h->crc >> (24 - 8 * i));
    } else if (h->algo == HASH_CRC64NVME) {
        for (int i = 0; i < 8; i++) out[i] = (unsigned char)(h->crc >> (56 - 8 * i));
    } else if (h->md) {
        unsigned int l = 0;
        EVP_DigestFinal_ex(h->md, out, &l);
    }
    hash_abort(h);
    return len;
}

void hash_abort(hash_ctx *h) {
    if (h->md) EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

size_t hash_digest_len(hash_algo algo) {
    switch (algo) {
    case HASH_CRC32:
    case HASH_CRC32C: return 4;
    case HASH_CRC64NVME: return 8;
    case HASH_SHA1: return 20;
    case HASH_SHA256: return 32;
    case HASH_MD5: return 16;
    default: return 0;
    }
}

static const char *algo_names[] = {"", "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5"};
static const char *algo_headers[] = {"",
                                     "x-amz-checksum-crc32",
                                     "x-amz-checksum-crc32c",
                                     "x-amz-checksum-crc64nvme",
                                     "x-amz-checksum-sha1",
                                     "x-amz-checksum-sha256",
                                     ""};

bool hash_algo_parse(const char *name, hash_algo *out) {
    for (int i = HASH_CRC32; i <= HASH_SHA256; i++) {
        if (name && strcasecmp(name, algo_names[i]) == 0) {
            *out = (hash_algo)i;
            return true;
        }
    }
    return false;
}

const char *hash_algo_name(hash_algo algo) { return (unsigned)algo <= HASH_MD5 ? algo_names[algo] : ""; }
const char *hash_algo_header(hash_algo algo) { return (unsigned)algo <= HASH_MD5 ? algo_headers[algo] : ""; }
