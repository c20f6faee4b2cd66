/*
 * metrics.c: a Parquet file's writer metrics turned into the column stats a
 * manifest entry carries, the way Java's ParquetMetrics and MetricsConfig
 * do it:
 *
 *   - the mode per column comes from write.metadata.metrics.column.<name>,
 *     else write.metadata.metrics.default, else truncate(16); when no
 *     default is set and the table has more than
 *     write.metadata.metrics.max-inferred-column-defaults (100) top-level
 *     columns, only the first 100 get truncate(16) and the rest none;
 *     columns of the default sort order are raised to truncate(16) when the
 *     default is none or counts;
 *   - none drops the column (its size too), counts keeps sizes and counts,
 *     truncate(N) and full add bounds; strings and binary bounds are cut to
 *     N code points (bytes), the upper bound raised so it stays one;
 *   - bounds are Parquet's plain statistics converted to the single-value
 *     binary form (decimals to minimal big-endian); fields inside lists and
 *     maps keep their counts but no bounds; a NaN bound drops the bounds.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iceberg/iceberg.h"
#include "iceberg/value_int.h"

#define PROP_DEFAULT "write.metadata.metrics.default"
#define PROP_COLUMN "write.metadata.metrics.column."
#define PROP_MAX_INFERRED "write.metadata.metrics.max-inferred-column-defaults"

bool ice_metrics_mode_parse(const char *s, ice_metrics_mode *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (strcasecmp(s, "none") == 0)
        out->kind = ICE_METRICS_NONE;
    else if (strcasecmp(s, "counts") == 0)
        out->kind = ICE_METRICS_COUNTS;
    else if (strcasecmp(s, "full") == 0)
        out->kind = ICE_METRICS_FULL;
    else {
        const char *p = s;
        if (strncasecmp(p, "truncate(", 9) != 0) goto bad;
        p += 9;
        int64_t n = 0;
        int digits = 0;
        for (; isdigit((unsigned char)*p); p++, digits++)
            if (n <= INT32_MAX) n = n * 10 + (*p - '0');
        if (!digits || strcmp(p, ")") != 0) goto bad;
        if (n < 1 || n > INT32_MAX)
            return floe_err_set(err, FLOE_EINVAL, "metrics mode '%s': the truncate length must be 1..2147483647", s);
        out->kind = ICE_METRICS_TRUNCATE;
        out->length = (int32_t)n;
    }
    return true;
bad:
    return floe_err_set(err, FLOE_EINVAL, "metrics mode '%s' is not one of none, counts, truncate(N) or full", s);
}

/* ---- the columns: full names, and whether inside a list or map ---- */

typedef struct leaf_info {
    const fmt_field_t *field;
    const char *name; /* dotted, as Java's findColumnName: tags.element, attrs.key */
    int32_t top;      /* index of its top-level column */
    bool repeated;    /* inside a list or a map */
} leaf_info;

typedef struct column_walk {
    leaf_info *v;
    int32_t n, cap;
    arena_t *a;
} column_walk;

static void walk(column_walk *w, const fmt_field_t *f, const char *prefix, int32_t top, bool repeated) {
    for (int32_t i = 0; i < f->nchildren; i++) {
        const fmt_field_t *c = &f->children[i];
        const char *name = prefix ? arena_sprintf(w->a, "%s.%s", prefix, c->name) : c->name;
        int32_t t = prefix ? top : i;
        if (w->n == w->cap) {
            int32_t cap = w->cap ? w->cap * 2 : 16;
            leaf_info *more = arena_alloc(w->a, (size_t)cap * sizeof *more);
            if (w->n) memcpy(more, w->v, (size_t)w->n * sizeof *more);
            w->v = more;
            w->cap = cap;
        }
        w->v[w->n++] = (leaf_info){.field = c, .name = name, .top = t, .repeated = repeated};
        if (!fmt_type_is_primitive(c->type)) walk(w, c, name, t, repeated || c->type == FMT_LIST || c->type == FMT_MAP);
    }
}

static const leaf_info *leaf_of(const column_walk *w, int32_t id) {
    for (int32_t i = 0; i < w->n; i++)
        if (w->v[i].field->id == id) return &w->v[i];
    return NULL;
}

/* ---- modes per column ---- */

typedef struct metrics_config {
    ice_metrics_mode def;
    bool def_set;
    int32_t max_inferred;
    const ice_table_meta *props;
    const ice_sort_order *order; /* the default sort order, or NULL */
} metrics_config;

static const char *prop(const ice_table_meta *m, const char *key) {
    if (!m) return NULL;
    for (int32_t i = 0; i < m->nproperties; i++)
        if (m->properties[i].key && strcmp(m->properties[i].key, key) == 0) return m->properties[i].value;
    return NULL;
}

static bool config_init(metrics_config *c, const ice_table_meta *m, floe_err *err) {
    memset(c, 0, sizeof *c);
    c->props = m;
    c->def = (ice_metrics_mode){.kind = ICE_METRICS_TRUNCATE, .length = 16};
    c->max_inferred = 100;
    const char *d = prop(m, PROP_DEFAULT);
    if (d) {
        if (!ice_metrics_mode_parse(d, &c->def, err)) return floe_err_wrap(err, "table property %s", PROP_DEFAULT);
        c->def_set = true;
    }
    const char *mi = prop(m, PROP_MAX_INFERRED);
    if (mi) {
        char *end;
        long v = strtol(mi, &end, 10);
        if (!*mi || *end || v < 0 || v > INT32_MAX)
            return floe_err_set(err, FLOE_EINVAL, "table property %s is '%s'; set it to a count of columns (0 or more)",
                                PROP_MAX_INFERRED, mi);
        c->max_inferred = (int32_t)v;
    }
    if (m) {
        for (int32_t i = 0; i < m->nsort_orders; i++)
            if (m->sort_orders[i].order_id == m->default_sort_order_id) c->order = &m->sort_orders[i];
    }
    return true;
}

static bool in_sort_order(const metrics_config *c, int32_t id) {
    if (!c->order) return false;
    for (int32_t i = 0; i < c->order->nfields; i++)
        if (c->order->fields[i].source_id == id && ice_transform_preserves_order(&c->order->fields[i].transform))
            return true;
    return false;
}

static bool column_mode(const metrics_config *c, const fmt_schema_t *schema, const leaf_info *leaf,
                        ice_metrics_mode *out, arena_t *a, floe_err *err) {
    const char *key = arena_sprintf(a, "%s%s", PROP_COLUMN, leaf->name);
    const char *v = prop(c->props, key);
    if (v) {
        if (!ice_metrics_mode_parse(v, out, err)) return floe_err_wrap(err, "table property %s", key);
        return true;
    }
    ice_metrics_mode def = c->def;
    if (!c->def_set && schema->root.nchildren > c->max_inferred && leaf->top >= c->max_inferred)
        def = (ice_metrics_mode){.kind = ICE_METRICS_NONE};
    if (in_sort_order(c, leaf->field->id) && (def.kind == ICE_METRICS_NONE || def.kind == ICE_METRICS_COUNTS))
        def = (ice_metrics_mode){.kind = ICE_METRICS_TRUNCATE, .length = 16};
    *out = def;
    return true;
}

/* ---- Parquet plain statistics to values ---- */

static uint64_t le(const uint8_t *p, uint32_t n) {
    uint64_t x = 0;
    for (uint32_t i = 0; i < n; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* Converts one Parquet bound; false when it does not fit the type (the
 * bounds are then left out: less pruning, never a wrong answer). */
static bool bound_value(const fmt_field_t *f, int32_t phys, const uint8_t *p, uint32_t n, ice_value *out) {
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, f);
    switch (f->type) {
    case FMT_BOOLEAN:
        if (n < 1) return false;
        out->v.b = p[0] & 1;
        return true;
    case FMT_INT:
    case FMT_DATE:
        if (n != 4) return false;
        out->v.i64 = (int32_t)(uint32_t)le(p, 4);
        return true;
    case FMT_LONG:
    case FMT_TIME:
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS:
        if (n == 4 && phys == PQ_INT32)
            out->v.i64 = (int32_t)(uint32_t)le(p, 4);
        else if (n == 8)
            out->v.i64 = (int64_t)le(p, 8);
        else
            return false;
        return true;
    case FMT_FLOAT: {
        if (n != 4) return false;
        uint32_t u = (uint32_t)le(p, 4);
        float x;
        memcpy(&x, &u, 4);
        out->v.f64 = x;
        return !isnan(x);
    }
    case FMT_DOUBLE: {
        if (n != 8) return false;
        uint64_t u = le(p, 8);
        memcpy(&out->v.f64, &u, 8);
        return !isnan(out->v.f64);
    }
    case FMT_DECIMAL:
        if (phys == PQ_INT32 && n == 4)
            out->v.dec = (int32_t)(uint32_t)le(p, 4);
        else if (phys == PQ_INT64 && n == 8)
            out->v.dec = (int64_t)le(p, 8);
        else if ((phys == PQ_FIXED_LEN_BYTE_ARRAY || phys == PQ_BYTE_ARRAY) && n >= 1 && n <= 16) {
            unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
            for (uint32_t i = 0; i < n; i++) u = (u << 8) | p[i];
            out->v.dec = (__int128)u;
        } else {
            return false;
        }
        return true;
    case FMT_UUID:
        if (n != 16) return false;
        break;
    case FMT_FIXED:
        if (n != (uint32_t)f->length) return false;
        break;
    case FMT_STRING:
    case FMT_BINARY: break;
    default: return false;
    }
    out->bytes = p;
    out->len = n;
    return true;
}

/* ---- truncation (Java's UnicodeUtil and BinaryUtil) ---- */

static uint32_t utf8_len(uint8_t lead) { return lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4; }

static uint32_t utf8_decode(const uint8_t *p, uint32_t n) {
    if (n == 1) return p[0];
    uint32_t cp = p[0] & (0x7f >> n);
    for (uint32_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3f);
    return cp;
}

static uint32_t utf8_encode(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Byte offsets of the first w code points: returns the byte length, and
 * in *cut whether the text was longer. */
static uint32_t utf8_prefix(const uint8_t *p, uint32_t n, int32_t w, bool *cut) {
    uint32_t i = 0;
    for (int32_t cp = 0; i < n && cp < w; cp++) {
        uint32_t l = utf8_len(p[i]);
        i = i + l > n ? n : i + l;
    }
    *cut = i < n;
    return i;
}

/* The smallest string of at most w code points that is >= every string
 * with this prefix: the prefix with its last code point raised (the one
 * before it when the last cannot be), or none at all. */
static bool string_upper(const uint8_t *p, uint32_t n, int32_t w, arena_t *a, const uint8_t **op, uint32_t *on) {
    bool cut;
    uint32_t len = utf8_prefix(p, n, w, &cut);
    if (!cut) {
        *op = p;
        *on = n;
        return true;
    }
    while (len > 0) {
        uint32_t start = len - 1;
        while (start > 0 && (p[start] & 0xc0) == 0x80) start--;
        uint32_t cp = utf8_decode(p + start, len - start) + 1;
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000; /* past the surrogates */
        if (cp <= 0x10ffff) {
            uint8_t *o = arena_alloc(a, start + 4);
            memcpy(o, p, start);
            *on = start + utf8_encode(cp, o + start);
            *op = o;
            return true;
        }
        len = start;
    }
    return false;
}

static bool binary_upper(const uint8_t *p, uint32_t n, int32_t w, arena_t *a, const uint8_t **op, uint32_t *on) {
    if (n <= (uint32_t)w) {
        *op = p;
        *on = n;
        return true;
    }
    for (int64_t i = w - 1; i >= 0; i--) {
        if (p[i] == 0xff) continue;
        uint8_t *o = arena_alloc(a, (size_t)i + 1);
        memcpy(o, p, (size_t)i);
        o[i] = (uint8_t)(p[i] + 1);
        *op = o;
        *on = (uint32_t)i + 1;
        return true;
    }
    return false;
}

/* ---- the file's stats ---- */

static uint8_t *to_binary(const ice_value *v, arena_t *a, uint32_t *n) {
    buf_t b = BUF_INIT;
    ice_value_to_binary(v, &b);
    uint8_t *r = arena_alloc(a, b.len ? b.len : 1);
    if (b.len) memcpy(r, b.data, b.len);
    *n = (uint32_t)b.len;
    buf_free(&b);
    return r;
}

/* The bounds of one column while its Parquet entries are merged. */
typedef struct bounds_acc {
    ice_value lo, hi;
    bool have, bad;
    ice_metrics_mode mode;
    const fmt_field_t *field;
} bounds_acc;

static void widen(bounds_acc *b, const pq_field_metrics *m) {
    if (b->bad || !m->has_bounds) return; /* no bounds: every value was null */
    ice_value lo, hi;
    if (!bound_value(b->field, m->phys_type, m->lower, m->lower_len, &lo) ||
        !bound_value(b->field, m->phys_type, m->upper, m->upper_len, &hi)) {
        b->bad = true;
        return;
    }
    if (!b->have || ice_value_compare(&lo, &b->lo) < 0) b->lo = lo;
    if (!b->have || ice_value_compare(&hi, &b->hi) > 0) b->hi = hi;
    b->have = true;
}

/* Truncates per the mode and writes the single-value binary bounds. */
static void put_bounds(ice_col_stats *s, bounds_acc *b, arena_t *a) {
    if (!b->have || b->bad) return;
    ice_value lo = b->lo, hi = b->hi;
    const fmt_field_t *f = b->field;
    bool upper = true;
    if (b->mode.kind == ICE_METRICS_TRUNCATE && (f->type == FMT_STRING || f->type == FMT_BINARY)) {
        int32_t w = b->mode.length;
        if (f->type == FMT_STRING) {
            bool cut;
            lo.len = utf8_prefix(lo.bytes, lo.len, w, &cut);
            upper = string_upper(hi.bytes, hi.len, w, a, &hi.bytes, &hi.len);
        } else {
            if (lo.len > (uint32_t)w) lo.len = (uint32_t)w;
            upper = binary_upper(hi.bytes, hi.len, w, a, &hi.bytes, &hi.len);
        }
    }
    s->lower = to_binary(&lo, a, &s->lower_len);
    if (upper) s->upper = to_binary(&hi, a, &s->upper_len);
}

static ice_col_stats *stats_for(ice_col_stats *v, int32_t *n, int32_t id) {
    for (int32_t i = 0; i < *n; i++)
        if (v[i].field_id == id) return &v[i];
    ice_col_stats *s = &v[(*n)++];
    *s = (ice_col_stats){.field_id = id, .column_size = 0, .value_count = 0, .null_count = 0, .nan_count = -1};
    return s;
}

bool ice_metrics_from_parquet(const fmt_schema_t *schema, const pq_file_metrics *pm, const ice_table_meta *props,
                              arena_t *a, ice_data_file *out, floe_err *err) {
    metrics_config cfg;
    if (!config_init(&cfg, props, err)) return false;
    column_walk w = {.a = a};
    walk(&w, &schema->root, NULL, 0, false);

    out->record_count = pm->row_count;
    out->file_size_in_bytes = pm->file_size;
    out->nsplit_offsets = (int32_t)pm->nsplits;
    out->split_offsets = arena_alloc(a, (pm->nsplits ? pm->nsplits : 1) * sizeof *out->split_offsets);
    for (uint32_t i = 0; i < pm->nsplits; i++) out->split_offsets[i] = pm->split_offsets[i];

    size_t cap = pm->nfields ? pm->nfields : 1;
    ice_col_stats *stats = arena_zalloc(a, cap * sizeof *stats);
    bounds_acc *acc = arena_zalloc(a, cap * sizeof *acc);
    int32_t n = 0;
    for (uint32_t i = 0; i < pm->nfields; i++) {
        const pq_field_metrics *m = &pm->fields[i];
        const leaf_info *leaf = leaf_of(&w, m->field_id);
        if (!leaf || !fmt_type_is_primitive(leaf->field->type)) continue; /* not a column of this schema */
        ice_metrics_mode mode;
        if (!column_mode(&cfg, schema, leaf, &mode, a, err)) return false;
        if (mode.kind == ICE_METRICS_NONE) continue;
        ice_col_stats *s = stats_for(stats, &n, m->field_id);
        bounds_acc *b = &acc[s - stats];
        s->column_size += m->column_size;
        if (m->value_count < 0 || s->value_count < 0)
            s->value_count = -1;
        else
            s->value_count += m->value_count;
        if (m->null_count < 0 || s->null_count < 0)
            s->null_count = -1;
        else
            s->null_count += m->null_count;
        if (m->nan_count >= 0) s->nan_count = (s->nan_count < 0 ? 0 : s->nan_count) + m->nan_count;
        if (mode.kind == ICE_METRICS_COUNTS || leaf->repeated) continue;
        b->field = leaf->field;
        b->mode = mode;
        widen(b, m);
    }
    for (int32_t i = 0; i < n; i++) put_bounds(&stats[i], &acc[i], a);
    out->stats = stats;
    out->nstats = n;
    return true;
}
