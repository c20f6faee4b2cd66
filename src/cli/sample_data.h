/*
 * sample_data.h: the deterministic market data behind `floe sample-api`.
 *
 * Trade `id` of a symbol is a pure function of (symbol, id, the dataset's
 * count, start and span), so a test can predict any page exactly; the
 * algorithm is spelled out in docs/sample-api.md (and re-implemented in
 * tests/e2e/test_sample_api.py). Prices follow an integer random walk in
 * ticks; to answer any id without walking from 0, the walk's value is kept
 * at every SAMPLE_CHECKPOINT-th id.
 */
#ifndef FLOE_CLI_SAMPLE_DATA_H
#define FLOE_CLI_SAMPLE_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

#define SAMPLE_CHECKPOINT 1024

typedef struct sample_symbol {
    const char *name;
    int64_t start_ticks;  /* the price of trade 0, in ticks */
    int price_dec;        /* a tick is 10^-price_dec */
    int qty_dec;          /* a quantity unit is 10^-qty_dec */
    int64_t qty_max;      /* most units in one trade */
    uint64_t seed;        /* FNV-1a 64 of the name */
    int64_t *checkpoints; /* price in ticks of id k*SAMPLE_CHECKPOINT */
} sample_symbol;

typedef struct sample_data {
    sample_symbol *symbols;
    int nsymbols;
    int64_t count;    /* trades per symbol: ids 0 .. count-1 */
    int64_t start_ms; /* time of trade 0 */
    int64_t span_ms;  /* trade id's time is start_ms + id*span_ms/count */
} sample_data;

typedef struct sample_trade {
    int64_t id;
    int64_t price_ticks;
    int64_t qty_units;
    int64_t time_ms;
    bool buyer_maker;
} sample_trade;

uint64_t sample_mix64(uint64_t x);

/* Builds the checkpoints of every symbol: O(count). */
void sample_data_init(sample_data *d, int64_t count, int64_t start_ms, int64_t span_ms);
void sample_data_free(sample_data *d);
const sample_symbol *sample_symbol_find(const sample_data *d, const char *name);
/* Fills out[0..n) with trades first .. first+n-1 (all must be < count). */
void sample_trades(const sample_data *d, const sample_symbol *s, int64_t first, int64_t n, sample_trade *out);
/* The id of the first trade whose time is >= time_ms (count when none). */
int64_t sample_first_at(const sample_data *d, int64_t time_ms);
/* Appends one trade in Binance's shape (historicalTrades). */
void sample_trade_json(buf_t *b, const sample_symbol *s, const sample_trade *t);

#endif
