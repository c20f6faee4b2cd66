/*
 * sample_data.c: deterministic trades for `floe sample-api` (see
 * sample_data.h; the algorithm is in docs/sample-api.md).
 */
#include "cli/sample_data.h"

#include <stdlib.h>
#include <string.h>

static const sample_symbol symbol_table[] = {
    {.name = "BTCUSDT", .start_ticks = 3000000, .price_dec = 2, .qty_dec = 5, .qty_max = 100000},
    {.name = "ETHUSDT", .start_ticks = 200000, .price_dec = 2, .qty_dec = 4, .qty_max = 100000},
    {.name = "BNBUSDT", .start_ticks = 30000, .price_dec = 2, .qty_dec = 3, .qty_max = 50000},
};

/* splitmix64's finalizer: a good 64-bit mix that any language repeats. */
uint64_t sample_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The k-th random word of trade id: 0 moves the price, 1 sizes the
 * quantity, 2 picks the side. */
static uint64_t trade_word(const sample_symbol *s, int64_t id, unsigned k) {
    return sample_mix64(s->seed ^ sample_mix64(((uint64_t)id << 2) | k));
}

/* The price of id given the price of id-1: a step of up to start/20000
 * ticks either way, reflected to stay within [start/10, start*10]. */
static int64_t walk_step(const sample_symbol *s, int64_t id, int64_t prev) {
    int64_t step = s->start_ticks / 20000 > 0 ? s->start_ticks / 20000 : 1;
    int64_t p = prev + (int64_t)(trade_word(s, id, 0) % (uint64_t)(2 * step + 1)) - step;
    int64_t lo = s->start_ticks / 10, hi = s->start_ticks * 10;
    if (p < lo) p = 2 * lo - p;
    if (p > hi) p = 2 * hi - p;
    return p;
}

void sample_data_init(sample_data *d, int64_t count, int64_t start_ms, int64_t span_ms) {
    d->nsymbols = (int)(sizeof symbol_table / sizeof symbol_table[0]);
    d->symbols = calloc((size_t)d->nsymbols, sizeof *d->symbols);
    d->count = count;
    d->start_ms = start_ms;
    d->span_ms = span_ms;
    for (int i = 0; i < d->nsymbols; i++) {
        sample_symbol *s = &d->symbols[i];
        *s = symbol_table[i];
        s->seed = fnv1a64(s->name);
        int64_t n = count / SAMPLE_CHECKPOINT + 1;
        s->checkpoints = malloc((size_t)n * sizeof *s->checkpoints);
        int64_t p = s->start_ticks;
        s->checkpoints[0] = p;
        for (int64_t id = 1; id < count; id++) {
            p = walk_step(s, id, p);
            if (id % SAMPLE_CHECKPOINT == 0) s->checkpoints[id / SAMPLE_CHECKPOINT] = p;
        }
    }
}

void sample_data_free(sample_data *d) {
    for (int i = 0; i < d->nsymbols; i++) free(d->symbols[i].checkpoints);
    free(d->symbols);
    d->symbols = NULL;
    d->nsymbols = 0;
}

const sample_symbol *sample_symbol_find(const sample_data *d, const char *name) {
    for (int i = 0; i < d->nsymbols; i++)
        if (!strcmp(d->symbols[i].name, name)) return &d->symbols[i];
    return NULL;
}

void sample_trades(const sample_data *d, const sample_symbol *s, int64_t first, int64_t n, sample_trade *out) {
    if (n <= 0) return;
    int64_t id = first - first % SAMPLE_CHECKPOINT;
    int64_t p = s->checkpoints[id / SAMPLE_CHECKPOINT];
    while (id < first) p = walk_step(s, ++id, p);
    for (int64_t i = 0; i < n; i++, id++) {
        if (i > 0) p = walk_step(s, id, p);
        uint64_t q = trade_word(s, id, 1);
        uint64_t r1 = q % 1000, r2 = (q >> 32) % 1000;
        out[i] = (sample_trade){
            .id = id,
            .price_ticks = p,
            .qty_units = 1 + (int64_t)(r1 * r2 * (uint64_t)(s->qty_max - 1) / 998001),
            .time_ms = d->start_ms + (int64_t)((__int128)id * d->span_ms / d->count),
            .buyer_maker = trade_word(s, id, 2) & 1,
        };
    }
}

/* Times never decrease with the id: a binary search. */
int64_t sample_first_at(const sample_data *d, int64_t time_ms) {
    int64_t lo = 0, hi = d->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (d->start_ms + (int64_t)((__int128)mid * d->span_ms / d->count) >= time_ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int64_t pow10_i64(int e) {
    int64_t v = 1;
    while (e-- > 0) v *= 10;
    return v;
}

/* Binance prints amounts with 8 decimals: "30000.01000000". */
static void put_e8(buf_t *b, int64_t e8) {
    buf_printf(b, "\"%lld.%08lld\"", (long long)(e8 / 100000000), (long long)(e8 % 100000000));
}

void sample_trade_json(buf_t *b, const sample_symbol *s, const sample_trade *t) {
    buf_printf(b, "{\"id\":%lld,\"price\":", (long long)t->id);
    put_e8(b, t->price_ticks * pow10_i64(8 - s->price_dec));
    buf_puts(b, ",\"qty\":");
    put_e8(b, t->qty_units * pow10_i64(8 - s->qty_dec));
    buf_puts(b, ",\"quoteQty\":");
    put_e8(b, t->price_ticks * t->qty_units * pow10_i64(8 - s->price_dec - s->qty_dec));
    buf_printf(b, ",\"time\":%lld,\"isBuyerMaker\":%s,\"isBestMatch\":true}", (long long)t->time_ms,
               t->buyer_maker ? "true" : "false");
}
