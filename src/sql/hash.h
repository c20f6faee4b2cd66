/*
 * hash.h: hashing column vectors row by row, for the engine's hash tables
 * (group by, joins, DISTINCT, set operations), and HyperLogLog for
 * approx_count_distinct.
 *
 * Values equal under SQL's grouping rules hash equal: every integer-like
 * type (int, bigint, date, time, timestamps, boolean) hashes its value as
 * a 64-bit integer, so an int key meets a bigint key; floats and doubles
 * hash as doubles with -0.0 folded into 0.0 and every NaN into one NaN;
 * decimals their unscaled value (the binder gives both sides one scale);
 * strings and binary their bytes. NULL hashes to a constant of its own,
 * as GROUP BY puts NULLs in one group. A dictionary-encoded column hashes
 * each dictionary entry once.
 */
#ifndef FLOE_SQL_HASH_H
#define FLOE_SQL_HASH_H

#include <stdbool.h>
#include <stdint.h>

#include "format/vector.h"

/* h[i] = the hash of row i of v, for i < v->len; with combine, the row's
 * hash is mixed into h[i] instead (for keys of several columns). */
void sql_hash_vec(const fmt_vec_t *v, uint64_t *h, bool combine);

/* HyperLogLog with 2^14 registers: a standard error of 0.81%. */
#define SQL_HLL_BITS 14
typedef struct sql_hll {
    uint8_t reg[1u << SQL_HLL_BITS];
} sql_hll;

void sql_hll_init(sql_hll *s);
void sql_hll_add(sql_hll *s, uint64_t hash);
void sql_hll_merge(sql_hll *into, const sql_hll *from);
uint64_t sql_hll_estimate(const sql_hll *s);

#endif
