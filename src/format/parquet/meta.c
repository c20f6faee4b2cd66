/*
 * meta.c: Parquet's Thrift structures (parquet.thrift) to and from C:
 * FileMetaData, SchemaElement, RowGroup, ColumnChunk, ColumnMetaData,
 * Statistics, PageHeader, ColumnIndex and OffsetIndex. Decoders take the
 * fields Floe uses and skip the rest, so newer writers' additions pass.
 */
#include <stdio.h>
#include <string.h>

#include "format/parquet/pq_int.h"

static const char *type_names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                   "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
const char *pq_type_name(int t) { return t >= 0 && t < 8 ? type_names[t] : "UNKNOWN"; }

const char *pq_encoding_name(int e) {
    switch (e) {
    case PQ_ENC_PLAIN: return "PLAIN";
    case PQ_ENC_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_ENC_RLE: return "RLE";
    case PQ_ENC_BIT_PACKED: return "BIT_PACKED";
    case PQ_ENC_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_ENC_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_ENC_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_ENC_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return "UNKNOWN";
    }
}

const char *pq_repetition_name(int r) {
    return r == PQ_REQUIRED ? "REQUIRED" : r == PQ_OPTIONAL ? "OPTIONAL" : r == PQ_REPEATED ? "REPEATED" : "-";
}

/* Reads an integer field into an int32 with a range check. */
static bool rd_i32(thrift_reader *r, uint8_t t, int32_t *out) {
    int64_t v;
    if (!thrift_read_int(r, t, &v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) return thrift_fail(r, "expected a 32-bit value, found %lld", (long long)v);
    *out = (int32_t)v;
    return true;
}

static bool rd_i64(thrift_reader *r, uint8_t t, int64_t *out) { return thrift_read_int(r, t, out); }

static bool rd_str(thrift_reader *r, uint8_t t, arena_t *a, const char **out) {
    const uint8_t *p;
    uint32_t n;
    if (t != THRIFT_BINARY) return thrift_fail(r, "expected a string, found type %u", t);
    if (!thrift_read_binary(r, &p, &n)) return false;
    *out = arena_strndup(a, (const char *)p, n);
    return true;
}

static bool want(thrift_reader *r, uint8_t t, uint8_t expected, const char *field) {
    if (t == expected) return true;
    return thrift_fail(r, "field %s has type %u; expected %u", field, t, expected);
}

/* A list<struct> field: reads its header into *n. */
static bool struct_list(thrift_reader *r, uint8_t t, const char *field, uint32_t *n) {
    uint8_t et;
    if (!want(r, t, THRIFT_LIST, field) || !thrift_read_list(r, &et, n)) return false;
    if (et != THRIFT_STRUCT) return thrift_fail(r, "%s holds type %u; expected structs", field, et);
    return true;
}

/* ---- Statistics ---- */

bool pq_stats_decode(thrift_reader *r, pq_stats *s) {
    memset(s, 0, sizeof *s);
    const uint8_t *lmin = NULL, *lmax = NULL;
    uint32_t lmin_n = 0, lmax_n = 0;
    bool has_lmin = false, has_lmax = false;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1:
            ok = want(r, t, THRIFT_BINARY, "Statistics.max") && thrift_read_binary(r, &lmax, &lmax_n);
            has_lmax = ok;
            break;
        case 2:
            ok = want(r, t, THRIFT_BINARY, "Statistics.min") && thrift_read_binary(r, &lmin, &lmin_n);
            has_lmin = ok;
            break;
        case 3: ok = s->has_null_count = rd_i64(r, t, &s->null_count); break;
        case 4: ok = s->has_distinct = rd_i64(r, t, &s->distinct_count); break;
        case 5:
            ok = s->has_max = want(r, t, THRIFT_BINARY, "max_value") && thrift_read_binary(r, &s->max, &s->max_len);
            break;
        case 6:
            ok = s->has_min = want(r, t, THRIFT_BINARY, "min_value") && thrift_read_binary(r, &s->min, &s->min_len);
            break;
        case 7: ok = s->has_max_exact = thrift_read_bool(r, t, &s->max_exact); break;
        case 8: ok = s->has_min_exact = thrift_read_bool(r, t, &s->min_exact); break;
        case 9: ok = s->has_nan_count = rd_i64(r, t, &s->nan_count); break;
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (!s->has_min && !s->has_max && (has_lmin || has_lmax)) {
        s->legacy = true;
        s->has_min = has_lmin, s->min = lmin, s->min_len = lmin_n;
        s->has_max = has_lmax, s->max = lmax, s->max_len = lmax_n;
    }
    return true;
}

void pq_stats_encode(thrift_writer *w, int16_t id, const pq_stats *s) {
    thrift_write_field(w, id, THRIFT_STRUCT);
    thrift_write_struct_begin(w);
    if (s->has_null_count) thrift_write_i64_field(w, 3, s->null_count);
    if (s->has_distinct) thrift_write_i64_field(w, 4, s->distinct_count);
    if (s->has_max) thrift_write_binary_field(w, 5, s->max, s->max_len);
    if (s->has_min) thrift_write_binary_field(w, 6, s->min, s->min_len);
    if (s->has_max_exact) thrift_write_bool_field(w, 7, s->max_exact);
    if (s->has_min_exact) thrift_write_bool_field(w, 8, s->min_exact);
    if (s->has_nan_count) thrift_write_i64_field(w, 9, s->nan_count);
    thrift_write_struct_end(w);
}

/* ---- LogicalType ---- */

static bool time_unit(thrift_reader *r, int *unit) {
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        if (id >= 1 && id <= 3 && t == THRIFT_STRUCT) *unit = id;
        if (!thrift_skip(r, t)) break;
    }
    thrift_struct_end(r);
    return !r->failed;
}

static bool logical_decode(thrift_reader *r, pq_logical *lt) {
    memset(lt, 0, sizeof *lt);
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        if (t != THRIFT_STRUCT) {
            if (!thrift_skip(r, t)) break;
            continue;
        }
        lt->kind = id;
        if (id == PQ_LT_DECIMAL || id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP || id == PQ_LT_INTEGER) {
            if (!thrift_struct_begin(r)) break;
            int16_t fid;
            uint8_t ft;
            while (thrift_field_next(r, &fid, &ft)) {
                bool ok = true;
                if (id == PQ_LT_DECIMAL && fid == 1)
                    ok = rd_i32(r, ft, &lt->scale);
                else if (id == PQ_LT_DECIMAL && fid == 2)
                    ok = rd_i32(r, ft, &lt->precision);
                else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && fid == 1)
                    ok = thrift_read_bool(r, ft, &lt->utc);
                else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && fid == 2 && ft == THRIFT_STRUCT)
                    ok = time_unit(r, &lt->unit);
                else if (id == PQ_LT_INTEGER && fid == 1) {
                    int32_t bw = 0;
                    ok = rd_i32(r, ft, &bw);
                    lt->bit_width = bw;
                } else if (id == PQ_LT_INTEGER && fid == 2)
                    ok = thrift_read_bool(r, ft, &lt->is_signed);
                else
                    ok = thrift_skip(r, ft);
                if (!ok) break;
            }
            thrift_struct_end(r);
        } else if (!thrift_skip(r, t)) {
            break;
        }
    }
    thrift_struct_end(r);
    return !r->failed;
}

static void logical_encode(thrift_writer *w, const pq_logical *lt) {
    thrift_write_field(w, 10, THRIFT_STRUCT);
    thrift_write_struct_begin(w);
    switch (lt->kind) {
    case PQ_LT_DECIMAL:
        thrift_write_field(w, PQ_LT_DECIMAL, THRIFT_STRUCT);
        thrift_write_struct_begin(w);
        thrift_write_i32_field(w, 1, lt->scale);
        thrift_write_i32_field(w, 2, lt->precision);
        thrift_write_struct_end(w);
        break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        thrift_write_field(w, (int16_t)lt->kind, THRIFT_STRUCT);
        thrift_write_struct_begin(w);
        thrift_write_bool_field(w, 1, lt->utc);
        thrift_write_field(w, 2, THRIFT_STRUCT);
        thrift_write_struct_begin(w);
        thrift_write_empty_struct_field(w, (int16_t)lt->unit);
        thrift_write_struct_end(w);
        thrift_write_struct_end(w);
        break;
    case PQ_LT_INTEGER:
        thrift_write_field(w, PQ_LT_INTEGER, THRIFT_STRUCT);
        thrift_write_struct_begin(w);
        thrift_write_field(w, 1, THRIFT_BYTE);
        thrift_write_byte(w, (uint8_t)lt->bit_width);
        thrift_write_bool_field(w, 2, lt->is_signed);
        thrift_write_struct_end(w);
        break;
    default: thrift_write_empty_struct_field(w, (int16_t)lt->kind);
    }
    thrift_write_struct_end(w);
}

/* ---- SchemaElement ---- */

static bool schema_elem_decode(thrift_reader *r, arena_t *a, pq_schema_elem *e) {
    memset(e, 0, sizeof *e);
    e->type = e->type_length = e->repetition = e->converted = -1;
    bool has_name = false;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1: ok = rd_i32(r, t, &e->type); break;
        case 2: ok = rd_i32(r, t, &e->type_length); break;
        case 3: ok = rd_i32(r, t, &e->repetition); break;
        case 4: ok = has_name = rd_str(r, t, a, &e->name); break;
        case 5: ok = rd_i32(r, t, &e->num_children); break;
        case 6: ok = rd_i32(r, t, &e->converted); break;
        case 7: ok = rd_i32(r, t, &e->scale); break;
        case 8: ok = rd_i32(r, t, &e->precision); break;
        case 9: ok = e->has_field_id = rd_i32(r, t, &e->field_id); break;
        case 10: ok = want(r, t, THRIFT_STRUCT, "SchemaElement.logicalType") && logical_decode(r, &e->logical); break;
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (!has_name) return thrift_fail(r, "SchemaElement has no name (field 4 is required)");
    if (e->num_children < 0) return thrift_fail(r, "SchemaElement '%s' has %d children", e->name, e->num_children);
    return true;
}

static void schema_elem_encode(thrift_writer *w, const pq_schema_elem *e) {
    thrift_write_struct_begin(w);
    if (e->type >= 0) thrift_write_i32_field(w, 1, e->type);
    if (e->type_length >= 0) thrift_write_i32_field(w, 2, e->type_length);
    if (e->repetition >= 0) thrift_write_i32_field(w, 3, e->repetition);
    thrift_write_string_field(w, 4, e->name);
    if (e->num_children > 0 || e->type < 0) thrift_write_i32_field(w, 5, e->num_children);
    if (e->converted >= 0) thrift_write_i32_field(w, 6, e->converted);
    if (e->converted == PQ_CT_DECIMAL) {
        thrift_write_i32_field(w, 7, e->scale);
        thrift_write_i32_field(w, 8, e->precision);
    }
    if (e->has_field_id) thrift_write_i32_field(w, 9, e->field_id);
    if (e->logical.kind) logical_encode(w, &e->logical);
    thrift_write_struct_end(w);
}

/* ---- ColumnMetaData / ColumnChunk / RowGroup ---- */

static bool kv_list_decode(thrift_reader *r, uint8_t t, arena_t *a, pq_kv **out, uint32_t *nout);

static bool column_meta_decode(thrift_reader *r, arena_t *a, pq_column_meta *c) {
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t, et;
    uint32_t n;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1: ok = rd_i32(r, t, &c->type); break;
        case 2:
            ok = want(r, t, THRIFT_LIST, "ColumnMetaData.encodings") && thrift_read_list(r, &et, &n);
            if (!ok) break;
            c->encodings = arena_alloc(a, (n ? n : 1) * sizeof *c->encodings);
            c->nencodings = n;
            for (uint32_t i = 0; i < n && ok; i++) ok = rd_i32(r, et, &c->encodings[i]);
            break;
        case 3:
            ok = want(r, t, THRIFT_LIST, "ColumnMetaData.path_in_schema") && thrift_read_list(r, &et, &n);
            if (!ok) break;
            c->path = arena_alloc(a, (n ? n : 1) * sizeof *c->path);
            c->npath = n;
            for (uint32_t i = 0; i < n && ok; i++) ok = rd_str(r, et, a, &c->path[i]);
            break;
        case 4: ok = rd_i32(r, t, &c->codec); break;
        case 5: ok = rd_i64(r, t, &c->num_values); break;
        case 6: ok = rd_i64(r, t, &c->total_uncompressed); break;
        case 7: ok = rd_i64(r, t, &c->total_compressed); break;
        case 9: ok = rd_i64(r, t, &c->data_page_offset); break;
        case 10: ok = rd_i64(r, t, &c->index_page_offset); break;
        case 11: ok = rd_i64(r, t, &c->dictionary_page_offset); break;
        case 12:
            ok = c->has_stats = want(r, t, THRIFT_STRUCT, "ColumnMetaData.statistics") && pq_stats_decode(r, &c->stats);
            break;
        case 13: {
            /* encoding_stats: are all data pages dictionary encoded? */
            ok = want(r, t, THRIFT_LIST, "encoding_stats") && thrift_read_list(r, &et, &n);
            bool all_dict = n > 0;
            for (uint32_t i = 0; i < n && ok; i++) {
                int32_t ptype = -1, enc = -1;
                if (!(ok = thrift_struct_begin(r))) break;
                int16_t fid;
                uint8_t ft;
                while (ok && thrift_field_next(r, &fid, &ft)) {
                    if (fid == 1)
                        ok = rd_i32(r, ft, &ptype);
                    else if (fid == 2)
                        ok = rd_i32(r, ft, &enc);
                    else
                        ok = thrift_skip(r, ft);
                }
                thrift_struct_end(r);
                ok = ok && !r->failed;
                if ((ptype == PQ_PAGE_DATA || ptype == PQ_PAGE_DATA_V2) && enc != PQ_ENC_RLE_DICTIONARY &&
                    enc != PQ_ENC_PLAIN_DICTIONARY)
                    all_dict = false;
            }
            c->dict_only = all_dict;
            break;
        }
        case 14: ok = rd_i64(r, t, &c->bloom_offset); break;
        case 15: ok = rd_i32(r, t, &c->bloom_length); break;
        case 8: {
            pq_kv *kv;
            uint32_t nkv;
            ok = kv_list_decode(r, t, a, &kv, &nkv);
            break;
        }
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    return !r->failed;
}

static bool column_chunk_decode(thrift_reader *r, arena_t *a, pq_column_meta *c) {
    memset(c, 0, sizeof *c);
    c->index_page_offset = c->dictionary_page_offset = c->bloom_offset = -1;
    c->offset_index_offset = c->column_index_offset = -1;
    c->type = -1;
    bool has_meta = false;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1: {
            const char *path;
            ok = rd_str(r, t, a, &path);
            if (ok)
                ok = thrift_fail(r, "column chunk lives in another file ('%s'); Floe reads single-file Parquet", path);
            break;
        }
        case 3:
            ok = has_meta = want(r, t, THRIFT_STRUCT, "ColumnChunk.meta_data") && column_meta_decode(r, a, c);
            break;
        case 4: ok = rd_i64(r, t, &c->offset_index_offset); break;
        case 5: ok = rd_i32(r, t, &c->offset_index_length); break;
        case 6: ok = rd_i64(r, t, &c->column_index_offset); break;
        case 7: ok = rd_i32(r, t, &c->column_index_length); break;
        case 8:
        case 9: ok = thrift_fail(r, "column chunk is encrypted; Floe does not read encrypted Parquet"); break;
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (!has_meta) return thrift_fail(r, "column chunk has no meta_data");
    return true;
}

static bool row_group_decode(thrift_reader *r, arena_t *a, pq_row_group *g) {
    memset(g, 0, sizeof *g);
    g->file_offset = -1;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    uint32_t n;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1:
            ok = struct_list(r, t, "RowGroup.columns", &n);
            if (!ok) break;
            g->cols = arena_zalloc(a, (n ? n : 1) * sizeof *g->cols);
            g->ncols = n;
            for (uint32_t i = 0; i < n && ok; i++) ok = column_chunk_decode(r, a, &g->cols[i]);
            break;
        case 2: ok = rd_i64(r, t, &g->total_byte_size); break;
        case 3: ok = rd_i64(r, t, &g->num_rows); break;
        case 5: ok = rd_i64(r, t, &g->file_offset); break;
        case 6: ok = rd_i64(r, t, &g->total_compressed_size); break;
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    return !r->failed;
}

static bool kv_list_decode(thrift_reader *r, uint8_t lt, arena_t *a, pq_kv **out, uint32_t *nout) {
    uint32_t n;
    if (!struct_list(r, lt, "key_value_metadata", &n)) return false;
    pq_kv *kv = arena_zalloc(a, (n ? n : 1) * sizeof *kv);
    for (uint32_t i = 0; i < n; i++) {
        if (!thrift_struct_begin(r)) return false;
        int16_t id;
        uint8_t t;
        while (thrift_field_next(r, &id, &t)) {
            bool ok = id == 1   ? rd_str(r, t, a, &kv[i].key)
                      : id == 2 ? rd_str(r, t, a, &kv[i].value)
                                : thrift_skip(r, t);
            if (!ok) break;
        }
        thrift_struct_end(r);
        if (r->failed) return false;
        if (!kv[i].key) kv[i].key = "";
    }
    *out = kv;
    *nout = n;
    return true;
}

bool pq_meta_decode(const uint8_t *p, size_t n, size_t base, const char *name, arena_t *a, pq_file_meta *m,
                    floe_err *err) {
    memset(m, 0, sizeof *m);
    thrift_reader r;
    char what[300];
    snprintf(what, sizeof what, "%s: footer", name ? name : "parquet");
    thrift_reader_init(&r, p, n, base, what, err);
    bool has_schema = false, has_rows = false, has_rgs = false;
    if (!thrift_struct_begin(&r)) return false;
    int16_t id;
    uint8_t t, et;
    uint32_t cnt;
    while (thrift_field_next(&r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1: ok = rd_i32(&r, t, &m->version); break;
        case 2:
            ok = has_schema = struct_list(&r, t, "FileMetaData.schema", &cnt);
            if (!ok) break;
            m->schema = arena_zalloc(a, (cnt ? cnt : 1) * sizeof *m->schema);
            m->nschema = cnt;
            for (uint32_t i = 0; i < cnt && ok; i++) ok = schema_elem_decode(&r, a, &m->schema[i]);
            break;
        case 3: ok = has_rows = rd_i64(&r, t, &m->num_rows); break;
        case 4:
            ok = has_rgs = struct_list(&r, t, "FileMetaData.row_groups", &cnt);
            if (!ok) break;
            m->row_groups = arena_zalloc(a, (cnt ? cnt : 1) * sizeof *m->row_groups);
            m->nrow_groups = cnt;
            for (uint32_t i = 0; i < cnt && ok; i++) ok = row_group_decode(&r, a, &m->row_groups[i]);
            break;
        case 5: ok = kv_list_decode(&r, t, a, &m->kv, &m->nkv); break;
        case 6: ok = rd_str(&r, t, a, &m->created_by); break;
        case 7: {
            ok = want(&r, t, THRIFT_LIST, "column_orders") && thrift_read_list(&r, &et, &cnt);
            bool all = cnt > 0;
            for (uint32_t i = 0; i < cnt && ok; i++) {
                if (!(ok = thrift_struct_begin(&r))) break;
                int16_t fid;
                uint8_t ft;
                bool type_order = false;
                while (ok && thrift_field_next(&r, &fid, &ft)) {
                    if (fid == 1) type_order = true;
                    ok = thrift_skip(&r, ft);
                }
                thrift_struct_end(&r);
                ok = ok && !r.failed;
                all = all && type_order;
            }
            m->has_column_orders = all;
            break;
        }
        case 8:
        case 9: ok = thrift_fail(&r, "the file is encrypted; Floe does not read encrypted Parquet"); break;
        default: ok = thrift_skip(&r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(&r);
    if (r.failed) return false;
    if (!has_schema || m->nschema == 0)
        return floe_err_set(err, FLOE_EINVAL, "%s: footer has no schema; expected FileMetaData.schema (field 2)", what);
    if (!has_rows || !has_rgs)
        return floe_err_set(err, FLOE_EINVAL, "%s: footer lacks num_rows or row_groups (required fields 3 and 4)",
                            what);
    if (m->num_rows < 0)
        return floe_err_set(err, FLOE_EINVAL, "%s: num_rows is negative (%lld)", what, (long long)m->num_rows);
    return true;
}

static void column_meta_encode(thrift_writer *w, const pq_column_meta *c) {
    thrift_write_field(w, 3, THRIFT_STRUCT);
    thrift_write_struct_begin(w);
    thrift_write_i32_field(w, 1, c->type);
    thrift_write_field(w, 2, THRIFT_LIST);
    thrift_write_list_begin(w, THRIFT_I32, c->nencodings);
    for (uint32_t i = 0; i < c->nencodings; i++) thrift_write_i32(w, c->encodings[i]);
    thrift_write_field(w, 3, THRIFT_LIST);
    thrift_write_list_begin(w, THRIFT_BINARY, c->npath);
    for (uint32_t i = 0; i < c->npath; i++) thrift_write_binary(w, c->path[i], strlen(c->path[i]));
    thrift_write_i32_field(w, 4, c->codec);
    thrift_write_i64_field(w, 5, c->num_values);
    thrift_write_i64_field(w, 6, c->total_uncompressed);
    thrift_write_i64_field(w, 7, c->total_compressed);
    thrift_write_i64_field(w, 9, c->data_page_offset);
    if (c->dictionary_page_offset >= 0) thrift_write_i64_field(w, 11, c->dictionary_page_offset);
    if (c->has_stats) pq_stats_encode(w, 12, &c->stats);
    if (c->bloom_offset >= 0) {
        thrift_write_i64_field(w, 14, c->bloom_offset);
        thrift_write_i32_field(w, 15, c->bloom_length);
    }
    thrift_write_struct_end(w);
}

void pq_meta_encode(const pq_file_meta *m, buf_t *out) {
    thrift_writer w;
    thrift_writer_init(&w, out);
    thrift_write_struct_begin(&w);
    thrift_write_i32_field(&w, 1, m->version);
    thrift_write_field(&w, 2, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_STRUCT, m->nschema);
    for (uint32_t i = 0; i < m->nschema; i++) schema_elem_encode(&w, &m->schema[i]);
    thrift_write_i64_field(&w, 3, m->num_rows);
    thrift_write_field(&w, 4, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_STRUCT, m->nrow_groups);
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const pq_row_group *rg = &m->row_groups[g];
        thrift_write_struct_begin(&w);
        thrift_write_field(&w, 1, THRIFT_LIST);
        thrift_write_list_begin(&w, THRIFT_STRUCT, rg->ncols);
        for (uint32_t c = 0; c < rg->ncols; c++) {
            const pq_column_meta *cm = &rg->cols[c];
            thrift_write_struct_begin(&w);
            thrift_write_i64_field(&w, 2, cm->data_page_offset); /* file_offset (deprecated) */
            column_meta_encode(&w, cm);
            if (cm->offset_index_offset >= 0) {
                thrift_write_i64_field(&w, 4, cm->offset_index_offset);
                thrift_write_i32_field(&w, 5, cm->offset_index_length);
            }
            if (cm->column_index_offset >= 0) {
                thrift_write_i64_field(&w, 6, cm->column_index_offset);
                thrift_write_i32_field(&w, 7, cm->column_index_length);
            }
            thrift_write_struct_end(&w);
        }
        thrift_write_i64_field(&w, 2, rg->total_byte_size);
        thrift_write_i64_field(&w, 3, rg->num_rows);
        thrift_write_i64_field(&w, 5, rg->file_offset);
        thrift_write_i64_field(&w, 6, rg->total_compressed_size);
        thrift_write_field(&w, 7, THRIFT_I16);
        thrift_write_i32(&w, (int32_t)g);
        thrift_write_struct_end(&w);
    }
    if (m->nkv) {
        thrift_write_field(&w, 5, THRIFT_LIST);
        thrift_write_list_begin(&w, THRIFT_STRUCT, m->nkv);
        for (uint32_t i = 0; i < m->nkv; i++) {
            thrift_write_struct_begin(&w);
            thrift_write_string_field(&w, 1, m->kv[i].key);
            if (m->kv[i].value) thrift_write_string_field(&w, 2, m->kv[i].value);
            thrift_write_struct_end(&w);
        }
    }
    if (m->created_by) thrift_write_string_field(&w, 6, m->created_by);
    if (m->has_column_orders) {
        uint32_t nleaves = 0;
        for (uint32_t i = 0; i < m->nschema; i++)
            if (m->schema[i].num_children == 0 && i > 0) nleaves++;
        thrift_write_field(&w, 7, THRIFT_LIST);
        thrift_write_list_begin(&w, THRIFT_STRUCT, nleaves);
        for (uint32_t i = 0; i < nleaves; i++) {
            thrift_write_struct_begin(&w);
            thrift_write_empty_struct_field(&w, 1); /* TYPE_ORDER */
            thrift_write_struct_end(&w);
        }
    }
    thrift_write_struct_end(&w);
}

/* ---- PageHeader ---- */

bool pq_page_header_decode(thrift_reader *r, pq_page_header *h) {
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    bool has_sizes = false;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        switch (id) {
        case 1: ok = rd_i32(r, t, &h->type); break;
        case 2: ok = rd_i32(r, t, &h->uncompressed_size); break;
        case 3: ok = has_sizes = rd_i32(r, t, &h->compressed_size); break;
        case 4: ok = h->has_crc = rd_i32(r, t, &h->crc); break;
        case 5:
        case 7:
        case 8: {
            if (!(ok = want(r, t, THRIFT_STRUCT, "PageHeader.*_header") && thrift_struct_begin(r))) break;
            int16_t fid;
            uint8_t ft;
            while (ok && thrift_field_next(r, &fid, &ft)) {
                if (id == 5) { /* DataPageHeader */
                    if (fid == 1)
                        ok = rd_i32(r, ft, &h->num_values);
                    else if (fid == 2)
                        ok = rd_i32(r, ft, &h->encoding);
                    else if (fid == 3)
                        ok = rd_i32(r, ft, &h->def_encoding);
                    else if (fid == 4)
                        ok = rd_i32(r, ft, &h->rep_encoding);
                    else if (fid == 5 && ft == THRIFT_STRUCT)
                        ok = h->has_stats = pq_stats_decode(r, &h->stats);
                    else
                        ok = thrift_skip(r, ft);
                } else if (id == 7) { /* DictionaryPageHeader */
                    if (fid == 1)
                        ok = rd_i32(r, ft, &h->num_values);
                    else if (fid == 2)
                        ok = rd_i32(r, ft, &h->encoding);
                    else if (fid == 3)
                        ok = thrift_read_bool(r, ft, &h->is_sorted);
                    else
                        ok = thrift_skip(r, ft);
                } else { /* DataPageHeaderV2 */
                    if (fid == 1)
                        ok = rd_i32(r, ft, &h->num_values);
                    else if (fid == 2)
                        ok = rd_i32(r, ft, &h->num_nulls);
                    else if (fid == 3)
                        ok = rd_i32(r, ft, &h->num_rows);
                    else if (fid == 4)
                        ok = rd_i32(r, ft, &h->encoding);
                    else if (fid == 5)
                        ok = rd_i32(r, ft, &h->def_length);
                    else if (fid == 6)
                        ok = rd_i32(r, ft, &h->rep_length);
                    else if (fid == 7)
                        ok = thrift_read_bool(r, ft, &h->is_compressed);
                    else if (fid == 8 && ft == THRIFT_STRUCT)
                        ok = h->has_stats = pq_stats_decode(r, &h->stats);
                    else
                        ok = thrift_skip(r, ft);
                }
            }
            thrift_struct_end(r);
            ok = ok && !r->failed;
            break;
        }
        default: ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (h->type < 0 || !has_sizes) return thrift_fail(r, "page header lacks its type or sizes");
    if (h->compressed_size < 0 || h->uncompressed_size < 0)
        return thrift_fail(r, "page sizes are negative (%d compressed, %d uncompressed)", h->compressed_size,
                           h->uncompressed_size);
    if (h->num_values < 0 || h->num_nulls < 0 || h->num_rows < 0 || h->def_length < 0 || h->rep_length < 0)
        return thrift_fail(r, "page header has negative counts");
    return true;
}

void pq_page_header_encode(const pq_page_header *h, buf_t *out) {
    thrift_writer w;
    thrift_writer_init(&w, out);
    thrift_write_struct_begin(&w);
    thrift_write_i32_field(&w, 1, h->type);
    thrift_write_i32_field(&w, 2, h->uncompressed_size);
    thrift_write_i32_field(&w, 3, h->compressed_size);
    if (h->has_crc) thrift_write_i32_field(&w, 4, h->crc);
    if (h->type == PQ_PAGE_DATA) {
        thrift_write_field(&w, 5, THRIFT_STRUCT);
        thrift_write_struct_begin(&w);
        thrift_write_i32_field(&w, 1, h->num_values);
        thrift_write_i32_field(&w, 2, h->encoding);
        thrift_write_i32_field(&w, 3, h->def_encoding);
        thrift_write_i32_field(&w, 4, h->rep_encoding);
        if (h->has_stats) pq_stats_encode(&w, 5, &h->stats);
        thrift_write_struct_end(&w);
    } else if (h->type == PQ_PAGE_DICTIONARY) {
        thrift_write_field(&w, 7, THRIFT_STRUCT);
        thrift_write_struct_begin(&w);
        thrift_write_i32_field(&w, 1, h->num_values);
        thrift_write_i32_field(&w, 2, h->encoding);
        thrift_write_struct_end(&w);
    } else if (h->type == PQ_PAGE_DATA_V2) {
        thrift_write_field(&w, 8, THRIFT_STRUCT);
        thrift_write_struct_begin(&w);
        thrift_write_i32_field(&w, 1, h->num_values);
        thrift_write_i32_field(&w, 2, h->num_nulls);
        thrift_write_i32_field(&w, 3, h->num_rows);
        thrift_write_i32_field(&w, 4, h->encoding);
        thrift_write_i32_field(&w, 5, h->def_length);
        thrift_write_i32_field(&w, 6, h->rep_length);
        thrift_write_bool_field(&w, 7, h->is_compressed);
        if (h->has_stats) pq_stats_encode(&w, 8, &h->stats);
        thrift_write_struct_end(&w);
    }
    thrift_write_struct_end(&w);
}

/* ---- ColumnIndex / OffsetIndex ---- */

bool pq_column_index_decode(thrift_reader *r, arena_t *a, pq_column_index *ci) {
    memset(ci, 0, sizeof *ci);
    bool has[4] = {0};
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t, et;
    uint32_t n;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        if (id >= 1 && id <= 3) {
            ok = want(r, t, THRIFT_LIST, "ColumnIndex list") && thrift_read_list(r, &et, &n);
            if (!ok) break;
            if (has[id]) {
                ok = thrift_fail(r, "ColumnIndex field %d appears twice", id);
                break;
            }
            has[id] = true;
            if (ci->npages && n != ci->npages) {
                ok = thrift_fail(r, "ColumnIndex lists disagree on the page count (%u and %u)", ci->npages, n);
                break;
            }
            if (!ci->npages) {
                ci->npages = n;
                ci->null_pages = arena_zalloc(a, (n ? n : 1) * sizeof *ci->null_pages);
                ci->min = arena_zalloc(a, (n ? n : 1) * sizeof *ci->min);
                ci->max = arena_zalloc(a, (n ? n : 1) * sizeof *ci->max);
                ci->min_len = arena_zalloc(a, (n ? n : 1) * sizeof *ci->min_len);
                ci->max_len = arena_zalloc(a, (n ? n : 1) * sizeof *ci->max_len);
            }
            for (uint32_t i = 0; i < n && ok; i++) {
                if (id == 1)
                    ok = thrift_read_list_bool(r, &ci->null_pages[i]);
                else if (et != THRIFT_BINARY)
                    ok = thrift_fail(r, "ColumnIndex bounds hold type %u; expected binary", et);
                else if (id == 2)
                    ok = thrift_read_binary(r, &ci->min[i], &ci->min_len[i]);
                else
                    ok = thrift_read_binary(r, &ci->max[i], &ci->max_len[i]);
            }
        } else if (id == 4) {
            ok = rd_i32(r, t, &ci->boundary_order);
        } else if (id == 5) {
            ok = want(r, t, THRIFT_LIST, "ColumnIndex.null_counts") && thrift_read_list(r, &et, &n);
            if (!ok) break;
            int64_t *nc = arena_zalloc(a, (n ? n : 1) * sizeof *nc);
            for (uint32_t i = 0; i < n && ok; i++) ok = thrift_read_int(r, et, &nc[i]);
            if (ok && (!ci->npages || n == ci->npages)) {
                ci->null_counts = nc;
                ci->has_null_counts = true;
                if (!ci->npages) ci->has_null_counts = n == 0;
            }
        } else {
            ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (!has[1] || !has[2] || !has[3]) return thrift_fail(r, "ColumnIndex lacks null_pages, min_values or max_values");
    return true;
}

void pq_column_index_encode(const pq_column_index *ci, buf_t *out) {
    thrift_writer w;
    thrift_writer_init(&w, out);
    thrift_write_struct_begin(&w);
    thrift_write_field(&w, 1, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_TRUE, ci->npages);
    for (uint32_t i = 0; i < ci->npages; i++) thrift_write_list_bool(&w, ci->null_pages[i]);
    thrift_write_field(&w, 2, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_BINARY, ci->npages);
    for (uint32_t i = 0; i < ci->npages; i++) thrift_write_binary(&w, ci->min[i], ci->min_len[i]);
    thrift_write_field(&w, 3, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_BINARY, ci->npages);
    for (uint32_t i = 0; i < ci->npages; i++) thrift_write_binary(&w, ci->max[i], ci->max_len[i]);
    thrift_write_i32_field(&w, 4, ci->boundary_order);
    if (ci->has_null_counts) {
        thrift_write_field(&w, 5, THRIFT_LIST);
        thrift_write_list_begin(&w, THRIFT_I64, ci->npages);
        for (uint32_t i = 0; i < ci->npages; i++) thrift_write_i64(&w, ci->null_counts[i]);
    }
    thrift_write_struct_end(&w);
}

bool pq_offset_index_decode(thrift_reader *r, arena_t *a, pq_offset_index *oi) {
    memset(oi, 0, sizeof *oi);
    bool has = false;
    if (!thrift_struct_begin(r)) return false;
    int16_t id;
    uint8_t t;
    uint32_t n;
    while (thrift_field_next(r, &id, &t)) {
        bool ok = true;
        if (id == 1) {
            ok = has = struct_list(r, t, "OffsetIndex.page_locations", &n);
            if (!ok) break;
            oi->npages = n;
            oi->pages = arena_zalloc(a, (n ? n : 1) * sizeof *oi->pages);
            for (uint32_t i = 0; i < n && ok; i++) {
                if (!(ok = thrift_struct_begin(r))) break;
                int16_t fid;
                uint8_t ft;
                while (ok && thrift_field_next(r, &fid, &ft)) {
                    if (fid == 1)
                        ok = rd_i64(r, ft, &oi->pages[i].offset);
                    else if (fid == 2)
                        ok = rd_i32(r, ft, &oi->pages[i].compressed_size);
                    else if (fid == 3)
                        ok = rd_i64(r, ft, &oi->pages[i].first_row);
                    else
                        ok = thrift_skip(r, ft);
                }
                thrift_struct_end(r);
                ok = ok && !r->failed;
            }
        } else {
            ok = thrift_skip(r, t);
        }
        if (!ok) break;
    }
    thrift_struct_end(r);
    if (r->failed) return false;
    if (!has) return thrift_fail(r, "OffsetIndex lacks page_locations");
    return true;
}

void pq_offset_index_encode(const pq_offset_index *oi, buf_t *out) {
    thrift_writer w;
    thrift_writer_init(&w, out);
    thrift_write_struct_begin(&w);
    thrift_write_field(&w, 1, THRIFT_LIST);
    thrift_write_list_begin(&w, THRIFT_STRUCT, oi->npages);
    for (uint32_t i = 0; i < oi->npages; i++) {
        thrift_write_struct_begin(&w);
        thrift_write_i64_field(&w, 1, oi->pages[i].offset);
        thrift_write_i32_field(&w, 2, oi->pages[i].compressed_size);
        thrift_write_i64_field(&w, 3, oi->pages[i].first_row);
        thrift_write_struct_end(&w);
    }
    thrift_write_struct_end(&w);
}
