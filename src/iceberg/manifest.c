/*
 * manifest.c: manifests and manifest lists, the Avro files under a snapshot
 * (the spec's "Manifests", "Manifest Lists", "Sequence Number Inheritance"
 * and Appendix A).
 *
 * Writing follows the Java reference (V2Metadata, ManifestWriter,
 * ManifestListWriter) closely, because every reader (Spark, Trino, DuckDB,
 * PyIceberg, icebird) has read its files: the records are named
 * manifest_entry, r2 (data_file), r102 (the partition tuple), k117_v118 ...
 * (int-keyed maps as arrays of key/value records with logicalType "map"),
 * manifest_file and r508 (field summaries); optional fields are
 * ["null", T] with default null; every field carries its field-id, and
 * attributes come in Java's order (name, type, doc, default, field-id).
 * The partition tuple's fields are the spec's partition fields (ids 1000+,
 * all optional) with the Avro types of Appendix A: date as int/date,
 * timestamps as long/timestamp-micros with adjust-to-utc, decimals as
 * fixed(minimum bytes for P), uuid as fixed(16)/uuid. Manifests use the
 * deflate codec at level 1: every commit rewrites the manifest list, which
 * grows with the table, and level 6 cost three times the time for a few
 * percent of bytes.
 *
 * Reading takes the writer's schema from the file and finds every field by
 * id, so v1 files (no content or sequence numbers, snapshot_id required,
 * block_size_in_bytes), Java's names (added_data_files_count) and fields
 * Floe does not know are all read. Sequence numbers and snapshot ids left
 * null are inherited from the manifest's manifest-list entry, as Java and
 * PyIceberg do: a null snapshot_id takes added_snapshot_id; a null data or
 * file sequence number takes the manifest's sequence_number when the entry
 * is ADDED (or the manifest's number is 0, as for every v1 manifest).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "format/avro/avro.h"
#include "iceberg/iceberg.h"

/* ============================================================ Avro schemas */

/* {"name", "type", "doc", "default": null, "field-id"}; optional fields are
 * ["null", type]. Takes the reference to type. */
static json_t *avro_field(const char *name, json_t *type, const char *doc, bool optional, int32_t id) {
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(name));
    if (optional) {
        json_t *u = json_array();
        json_array_append_new(u, json_string("null"));
        json_array_append_new(u, type);
        type = u;
    }
    json_object_set_new(f, "type", type);
    if (doc) json_object_set_new(f, "doc", json_string(doc));
    if (optional) json_object_set_new(f, "default", json_null());
    json_object_set_new(f, "field-id", json_integer(id));
    return f;
}

static json_t *avro_record_type(const char *name, json_t *fields) {
    json_t *r = json_object();
    json_object_set_new(r, "type", json_string("record"));
    json_object_set_new(r, "name", json_string(name));
    json_object_set_new(r, "fields", fields);
    return r;
}

/* Iceberg's map<int, V> in Avro: an array of k<K>_v<V> records. */
static json_t *avro_int_map(int32_t key_id, int32_t value_id, const char *value_type) {
    char name[40];
    snprintf(name, sizeof name, "k%d_v%d", key_id, value_id);
    json_t *fields = json_array();
    json_array_append_new(fields, avro_field("key", json_string("int"), NULL, false, key_id));
    json_array_append_new(fields, avro_field("value", json_string(value_type), NULL, false, value_id));
    json_t *a = json_object();
    json_object_set_new(a, "type", json_string("array"));
    json_object_set_new(a, "items", avro_record_type(name, fields));
    json_object_set_new(a, "logicalType", json_string("map"));
    return a;
}

static json_t *avro_list(json_t *items, int32_t element_id) {
    json_t *a = json_object();
    json_object_set_new(a, "type", json_string("array"));
    json_object_set_new(a, "items", items);
    json_object_set_new(a, "element-id", json_integer(element_id));
    return a;
}

/* Bytes of the fixed that holds any unscaled decimal of precision p (Java's
 * TypeUtil.decimalRequiredBytes). */
static int32_t decimal_bytes(int32_t p) {
    for (int32_t n = 1; n < 16; n++)
        if (p <= (int32_t)floor((8.0 * n - 1) * log10(2.0))) return n;
    return 16;
}

static json_t *logical(const char *base, const char *logical_type) {
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(base));
    json_object_set_new(o, "logicalType", json_string(logical_type));
    return o;
}

/* A named fixed type, or a reference to it by name once defined. */
static json_t *named_fixed(json_t *defined, const char *name, int32_t size, json_t *extra) {
    if (json_object_get(defined, name)) {
        json_decref(extra);
        return json_string(name);
    }
    json_object_set_new(defined, name, json_true());
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("fixed"));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "size", json_integer(size));
    if (extra) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    return o;
}

/* The Avro type of a primitive Iceberg type (Appendix A). */
static json_t *avro_primitive(const fmt_field_t *f, json_t *defined) {
    char name[48];
    switch (f->type) {
    case FMT_BOOLEAN: return json_string("boolean");
    case FMT_INT: return json_string("int");
    case FMT_LONG: return json_string("long");
    case FMT_FLOAT: return json_string("float");
    case FMT_DOUBLE: return json_string("double");
    case FMT_DATE: return logical("int", "date");
    case FMT_TIME: return logical("long", "time-micros");
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: {
        bool ns = f->type == FMT_TIMESTAMP_NS || f->type == FMT_TIMESTAMPTZ_NS;
        json_t *o = logical("long", ns ? "timestamp-nanos" : "timestamp-micros");
        json_object_set_new(o, "adjust-to-utc",
                            json_boolean(f->type == FMT_TIMESTAMPTZ || f->type == FMT_TIMESTAMPTZ_NS));
        return o;
    }
    case FMT_STRING: return json_string("string");
    case FMT_BINARY: return json_string("bytes");
    case FMT_UUID: {
        json_t *extra = json_object();
        json_object_set_new(extra, "logicalType", json_string("uuid"));
        return named_fixed(defined, "uuid_fixed", 16, extra);
    }
    case FMT_FIXED:
        snprintf(name, sizeof name, "fixed_%d", f->length);
        return named_fixed(defined, name, f->length, NULL);
    case FMT_DECIMAL: {
        json_t *extra = json_object();
        json_object_set_new(extra, "logicalType", json_string("decimal"));
        json_object_set_new(extra, "precision", json_integer(f->precision));
        json_object_set_new(extra, "scale", json_integer(f->scale));
        snprintf(name, sizeof name, "decimal_%d_%d", f->precision, f->scale);
        return named_fixed(defined, name, decimal_bytes(f->precision), extra);
    }
    default: return json_string("null"); /* nested types are never partition values */
    }
}

/* A valid Avro name for a partition field, as Java's
 * AvroSchemaUtil.makeCompatibleName: a leading digit gets "_" before it,
 * any other character outside [A-Za-z0-9_] becomes "_x" and its hex. */
static char *avro_name(const char *s) {
    buf_t b = BUF_INIT;
    for (size_t i = 0; s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
        bool digit = ch >= '0' && ch <= '9';
        if (alpha || (digit && i > 0))
            buf_putc(&b, (char)ch);
        else if (digit)
            buf_printf(&b, "_%c", ch);
        else
            buf_printf(&b, "_x%X", ch);
    }
    if (!b.len) buf_puts(&b, "_");
    return buf_steal(&b);
}

static json_t *partition_record(const fmt_field_t *ptype, json_t *defined) {
    json_t *fields = json_array();
    for (int32_t i = 0; i < ptype->nchildren; i++) {
        const fmt_field_t *f = &ptype->children[i];
        char *name = avro_name(f->name);
        json_array_append_new(fields, avro_field(name, avro_primitive(f, defined), NULL, true, f->id));
        free(name);
    }
    return avro_record_type("r102", fields);
}

/* manifest_entry as V2Metadata.entrySchema writes it. */
static json_t *manifest_entry_json(const fmt_field_t *ptype) {
    json_t *defined = json_object();
    json_t *df = json_array();
    json_array_append_new(df, avro_field("content", json_string("int"),
                                         "Contents of the file: 0=data, 1=position deletes, 2=equality deletes", false,
                                         134));
    json_array_append_new(df,
                          avro_field("file_path", json_string("string"), "Location URI with FS scheme", false, 100));
    json_array_append_new(
        df, avro_field("file_format", json_string("string"), "File format name: avro, orc, or parquet", false, 101));
    json_array_append_new(df, avro_field("partition", partition_record(ptype, defined),
                                         "Partition data tuple, schema based on the partition spec", false, 102));
    json_array_append_new(df,
                          avro_field("record_count", json_string("long"), "Number of records in the file", false, 103));
    json_array_append_new(
        df, avro_field("file_size_in_bytes", json_string("long"), "Total file size in bytes", false, 104));
    json_array_append_new(df, avro_field("column_sizes", avro_int_map(117, 118, "long"),
                                         "Map of column id to total size on disk", true, 108));
    json_array_append_new(df, avro_field("value_counts", avro_int_map(119, 120, "long"),
                                         "Map of column id to total count, including null and NaN", true, 109));
    json_array_append_new(df, avro_field("null_value_counts", avro_int_map(121, 122, "long"),
                                         "Map of column id to null value count", true, 110));
    json_array_append_new(df, avro_field("nan_value_counts", avro_int_map(138, 139, "long"),
                                         "Map of column id to number of NaN values in the column", true, 137));
    json_array_append_new(
        df, avro_field("lower_bounds", avro_int_map(126, 127, "bytes"), "Map of column id to lower bound", true, 125));
    json_array_append_new(
        df, avro_field("upper_bounds", avro_int_map(129, 130, "bytes"), "Map of column id to upper bound", true, 128));
    json_array_append_new(df,
                          avro_field("key_metadata", json_string("bytes"), "Encryption key metadata blob", true, 131));
    json_array_append_new(
        df, avro_field("split_offsets", avro_list(json_string("long"), 133), "Splittable offsets", true, 132));
    json_array_append_new(
        df, avro_field("equality_ids", avro_list(json_string("int"), 136), "Equality comparison field IDs", true, 135));
    json_array_append_new(df, avro_field("sort_order_id", json_string("int"), "Sort order ID", true, 140));
    json_decref(defined);

    json_t *fields = json_array();
    json_array_append_new(fields, avro_field("status", json_string("int"), NULL, false, 0));
    json_array_append_new(fields, avro_field("snapshot_id", json_string("long"), NULL, true, 1));
    json_array_append_new(fields, avro_field("sequence_number", json_string("long"), NULL, true, 3));
    json_array_append_new(fields, avro_field("file_sequence_number", json_string("long"), NULL, true, 4));
    json_array_append_new(fields, avro_field("data_file", avro_record_type("r2", df), NULL, false, 2));
    return avro_record_type("manifest_entry", fields);
}

/* manifest_file as V2Metadata.MANIFEST_LIST_SCHEMA writes it, with the
 * spec's field names. */
static json_t *manifest_file_json(void) {
    json_t *fs = json_array();
    json_array_append_new(fs, avro_field("contains_null", json_string("boolean"),
                                         "True if any file has a null partition value", false, 509));
    json_array_append_new(fs, avro_field("contains_nan", json_string("boolean"),
                                         "True if any file has a nan partition value", true, 518));
    json_array_append_new(
        fs, avro_field("lower_bound", json_string("bytes"), "Partition lower bound for all files", true, 510));
    json_array_append_new(
        fs, avro_field("upper_bound", json_string("bytes"), "Partition upper bound for all files", true, 511));

    json_t *f = json_array();
    json_array_append_new(
        f, avro_field("manifest_path", json_string("string"), "Location URI with FS scheme", false, 500));
    json_array_append_new(f,
                          avro_field("manifest_length", json_string("long"), "Total file size in bytes", false, 501));
    json_array_append_new(f, avro_field("partition_spec_id", json_string("int"), "Spec ID used to write", false, 502));
    json_array_append_new(
        f, avro_field("content", json_string("int"), "Contents of the manifest: 0=data, 1=deletes", false, 517));
    json_array_append_new(f, avro_field("sequence_number", json_string("long"),
                                        "Sequence number when the manifest was added", false, 515));
    json_array_append_new(f, avro_field("min_sequence_number", json_string("long"),
                                        "Lowest sequence number in the manifest", false, 516));
    json_array_append_new(
        f, avro_field("added_snapshot_id", json_string("long"), "Snapshot ID that added the manifest", false, 503));
    json_array_append_new(f, avro_field("added_files_count", json_string("int"), "Added entry count", false, 504));
    json_array_append_new(f,
                          avro_field("existing_files_count", json_string("int"), "Existing entry count", false, 505));
    json_array_append_new(f, avro_field("deleted_files_count", json_string("int"), "Deleted entry count", false, 506));
    json_array_append_new(f, avro_field("added_rows_count", json_string("long"), "Added rows count", false, 512));
    json_array_append_new(f, avro_field("existing_rows_count", json_string("long"), "Existing rows count", false, 513));
    json_array_append_new(f, avro_field("deleted_rows_count", json_string("long"), "Deleted rows count", false, 514));
    json_array_append_new(f, avro_field("partitions", avro_list(avro_record_type("r508", fs), 508),
                                        "Summary for each partition", true, 507));
    json_array_append_new(f,
                          avro_field("key_metadata", json_string("bytes"), "Encryption key metadata blob", true, 519));
    return avro_record_type("manifest_file", f);
}

static avro_schema_t *build_schema(json_t *j, const char *what, floe_err *err) {
    avro_schema_t *s = avro_schema_from_json(j, what, err);
    json_decref(j);
    return s;
}

/* The nested record type of field id in record t. */
static const avro_type_t *field_type(const avro_type_t *t, int32_t id) {
    const avro_field_t *f = avro_field_by_id(t, id);
    return f ? avro_type_nonnull(f->type) : NULL;
}

/* ========================================================= writing values */

/* Java's two's-complement big-endian unscaled bytes, sign-extended to n. */
static void decimal_to_fixed(__int128 v, uint8_t *out, int32_t n) {
    for (int32_t i = n - 1; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static bool int_like(fmt_type t) { return t == FMT_INT || t == FMT_DATE; }
static bool long_like(fmt_type t) {
    return t == FMT_LONG || t == FMT_TIME || t == FMT_TIMESTAMP || t == FMT_TIMESTAMPTZ || t == FMT_TIMESTAMP_NS ||
           t == FMT_TIMESTAMPTZ_NS;
}

/* A partition value as the Avro value of its field's type; NULL for null.
 * False (with a message) when the value's type does not fit the field. */
static bool partition_value_avro(arena_t *a, const fmt_field_t *f, const ice_value *v, avro_value_t **out,
                                 floe_err *err) {
    *out = NULL;
    if (v->is_null) return true;
    bool fits = v->type == f->type || (int_like(f->type) && int_like(v->type)) ||
                (long_like(f->type) && (long_like(v->type) || int_like(v->type)));
    if (!fits)
        return floe_err_set(err, FLOE_EINVAL, "partition field %s is a %s; the value is a %s", f->name,
                            fmt_type_name(f->type), fmt_type_name(v->type));
    switch (f->type) {
    case FMT_BOOLEAN: *out = avro_bool(a, v->v.b); return true;
    case FMT_INT:
    case FMT_DATE: *out = avro_int(a, (int32_t)v->v.i64); return true;
    case FMT_FLOAT: *out = avro_float(a, (float)v->v.f64); return true;
    case FMT_DOUBLE: *out = avro_double(a, v->v.f64); return true;
    case FMT_STRING: *out = avro_string_n(a, (const char *)v->bytes, v->len); return true;
    case FMT_BINARY: *out = avro_bytes(a, v->bytes, v->len); return true;
    case FMT_UUID:
    case FMT_FIXED: {
        uint32_t want = f->type == FMT_UUID ? 16 : (uint32_t)f->length;
        if (v->len != want)
            return floe_err_set(err, FLOE_EINVAL, "partition field %s holds %u bytes; its type %s needs %u", f->name,
                                v->len, fmt_type_name(f->type), want);
        *out = avro_fixed(a, v->bytes, v->len);
        return true;
    }
    case FMT_DECIMAL: {
        uint8_t b[16];
        int32_t n = decimal_bytes(f->precision);
        decimal_to_fixed(v->v.dec, b, n);
        *out = avro_fixed(a, b, (size_t)n);
        return true;
    }
    default:
        if (long_like(f->type)) {
            *out = avro_long(a, v->v.i64);
            return true;
        }
        return floe_err_set(err, FLOE_EINVAL, "partition field %s has type %s, which cannot be a partition value",
                            f->name, fmt_type_name(f->type));
    }
}

enum stat_kind { ST_SIZE, ST_VALUES, ST_NULLS, ST_NANS, ST_LOWER, ST_UPPER };

static int64_t stat_count(const ice_col_stats *s, enum stat_kind k) {
    switch (k) {
    case ST_SIZE: return s->column_size;
    case ST_VALUES: return s->value_count;
    case ST_NULLS: return s->null_count;
    default: return s->nan_count;
    }
}

/* One of the six per-column maps of a data file; NULL (written as null)
 * when no column has the stat. */
static avro_value_t *stats_map(arena_t *a, const avro_type_t *df, int32_t id, const ice_data_file *f,
                               enum stat_kind k) {
    const avro_type_t *items = field_type(df, id)->items;
    avro_value_t *arr = NULL;
    for (int32_t i = 0; i < f->nstats; i++) {
        const ice_col_stats *s = &f->stats[i];
        avro_value_t *val;
        if (k == ST_LOWER || k == ST_UPPER) {
            const uint8_t *p = k == ST_LOWER ? s->lower : s->upper;
            if (!p) continue;
            val = avro_bytes(a, p, k == ST_LOWER ? s->lower_len : s->upper_len);
        } else {
            if (stat_count(s, k) < 0) continue;
            val = avro_long(a, stat_count(s, k));
        }
        avro_value_t *kv = avro_record(a, items);
        kv->list.items[0] = avro_int(a, s->field_id);
        kv->list.items[1] = val;
        if (!arr) arr = avro_array(a);
        avro_array_append(a, arr, kv);
    }
    return arr;
}

static avro_value_t *data_file_value(arena_t *a, const avro_type_t *df, const fmt_field_t *ptype,
                                     const ice_data_file *f, floe_err *err) {
    avro_value_t *d = avro_record(a, df);
    avro_record_set_id(d, 134, avro_int(a, (int32_t)f->content));
    avro_record_set_id(d, 100, avro_string(a, f->file_path ? f->file_path : ""));
    avro_record_set_id(d, 101, avro_string(a, f->file_format ? f->file_format : "PARQUET"));
    avro_value_t *part = avro_record(a, field_type(df, 102));
    if (f->npartition != ptype->nchildren) {
        floe_err_set(err, FLOE_EINVAL, "the partition tuple has %d values; the spec has %d fields", f->npartition,
                     ptype->nchildren);
        return NULL;
    }
    for (int32_t i = 0; i < ptype->nchildren; i++)
        if (!partition_value_avro(a, &ptype->children[i], &f->partition[i], &part->list.items[i], err)) return NULL;
    avro_record_set_id(d, 102, part);
    avro_record_set_id(d, 103, avro_long(a, f->record_count));
    avro_record_set_id(d, 104, avro_long(a, f->file_size_in_bytes));
    avro_record_set_id(d, 108, stats_map(a, df, 108, f, ST_SIZE));
    avro_record_set_id(d, 109, stats_map(a, df, 109, f, ST_VALUES));
    avro_record_set_id(d, 110, stats_map(a, df, 110, f, ST_NULLS));
    avro_record_set_id(d, 137, stats_map(a, df, 137, f, ST_NANS));
    avro_record_set_id(d, 125, stats_map(a, df, 125, f, ST_LOWER));
    avro_record_set_id(d, 128, stats_map(a, df, 128, f, ST_UPPER));
    if (f->nsplit_offsets > 0) {
        avro_value_t *arr = avro_array(a);
        for (int32_t i = 0; i < f->nsplit_offsets; i++) avro_array_append(a, arr, avro_long(a, f->split_offsets[i]));
        avro_record_set_id(d, 132, arr);
    }
    if (f->nequality_ids > 0) {
        avro_value_t *arr = avro_array(a);
        for (int32_t i = 0; i < f->nequality_ids; i++) avro_array_append(a, arr, avro_int(a, f->equality_ids[i]));
        avro_record_set_id(d, 135, arr);
    }
    if (f->sort_order_id >= 0) avro_record_set_id(d, 140, avro_int(a, f->sort_order_id));
    return d;
}

/* Checks what the spec asks of an entry before it is written. */
static bool check_entry(const ice_manifest_entry *e, ice_content content, floe_err *err) {
    if (e->status != ICE_STATUS_ADDED && e->status != ICE_STATUS_EXISTING && e->status != ICE_STATUS_DELETED)
        return floe_err_set(err, FLOE_EINVAL, "status %d; expected 0 (existing), 1 (added) or 2 (deleted)",
                            (int)e->status);
    if (e->status != ICE_STATUS_ADDED && (e->sequence_number < 0 || e->file_sequence_number < 0))
        return floe_err_set(err, FLOE_EINVAL,
                            "an %s entry needs its data and file sequence numbers; only added entries inherit them",
                            e->status == ICE_STATUS_EXISTING ? "existing" : "deleted");
    bool deletes = content != ICE_CONTENT_DATA;
    if (deletes ? e->file.content == ICE_CONTENT_DATA : e->file.content != ICE_CONTENT_DATA)
        return floe_err_set(err, FLOE_EINVAL, "a %s file cannot go in a %s manifest",
                            e->file.content == ICE_CONTENT_DATA ? "data" : "delete", deletes ? "delete" : "data");
    if ((unsigned)e->file.content > ICE_CONTENT_EQUALITY_DELETES)
        return floe_err_set(err, FLOE_EINVAL, "file content %d; expected 0, 1 or 2", (int)e->file.content);
    return true;
}

/* ===================================================== partition summaries */

typedef struct part_summary {
    bool contains_null, contains_nan, has_bounds;
    ice_value lower, upper;
} part_summary;

static bool is_nan_value(const ice_value *v) {
    return (v->type == FMT_FLOAT || v->type == FMT_DOUBLE) && isnan(v->v.f64);
}

static void summary_update(part_summary *s, const ice_value *v) {
    if (v->is_null) {
        s->contains_null = true;
    } else if (is_nan_value(v)) {
        s->contains_nan = true;
    } else if (!s->has_bounds) {
        s->lower = s->upper = *v;
        s->has_bounds = true;
    } else {
        if (ice_value_compare(v, &s->lower) < 0) s->lower = *v;
        if (ice_value_compare(v, &s->upper) > 0) s->upper = *v;
    }
}

static void summaries_finish(const part_summary *ps, int32_t n, arena_t *a, ice_manifest_file *out) {
    out->npartitions = n;
    out->partitions = arena_zalloc(a, (n ? (size_t)n : 1) * sizeof *out->partitions);
    buf_t b = BUF_INIT;
    for (int32_t i = 0; i < n; i++) {
        ice_field_summary *fs = &out->partitions[i];
        fs->contains_null = ps[i].contains_null;
        fs->contains_nan = ps[i].contains_nan;
        if (!ps[i].has_bounds) continue;
        buf_reset(&b);
        ice_value_to_binary(&ps[i].lower, &b);
        fs->lower = (const uint8_t *)arena_strndup(a, b.data ? b.data : "", b.len);
        fs->lower_len = (uint32_t)b.len;
        buf_reset(&b);
        ice_value_to_binary(&ps[i].upper, &b);
        fs->upper = (const uint8_t *)arena_strndup(a, b.data ? b.data : "", b.len);
        fs->upper_len = (uint32_t)b.len;
    }
    buf_free(&b);
}

/* The partition tuple's type; a spec with an unknown transform is read but
 * never written with (the spec forbids it). */
static bool tuple_type(const ice_partition_spec *spec, const fmt_schema_t *schema, arena_t *a, fmt_field_t *out,
                       floe_err *err) {
    for (int32_t i = 0; i < spec->nfields; i++)
        if (spec->fields[i].transform.kind == ICE_TR_UNKNOWN)
            return floe_err_set(
                err, FLOE_EINVAL, "partition field %s: transform \"%s\" is unknown; files cannot be written with it",
                spec->fields[i].name, spec->fields[i].transform.text ? spec->fields[i].transform.text : "?");
    return ice_partition_type(spec, schema, a, out, err);
}

/* ======================================================== manifest writer */

static bool dump_meta(avro_writer_t *w, const char *key, json_t *j, floe_err *err) {
    buf_t b = BUF_INIT;
    json_dump_buf(j, &b);
    json_decref(j);
    bool ok = avro_writer_meta(w, key, b.data ? b.data : "", b.len, err);
    buf_free(&b);
    return ok;
}

static bool meta_int(avro_writer_t *w, const char *key, int64_t v, floe_err *err) {
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return avro_writer_meta_str(w, key, s, err);
}

static bool write_manifest_meta(avro_writer_t *w, const fmt_schema_t *schema, const ice_partition_spec *spec,
                                ice_content content, floe_err *err) {
    json_t *spec_json = ice_spec_to_json(spec);
    json_t *fields = json_incref(json_object_get(spec_json, "fields"));
    json_decref(spec_json);
    return dump_meta(w, "schema", ice_schema_to_json(schema), err) &&
           meta_int(w, "schema-id", schema->schema_id, err) && dump_meta(w, "partition-spec", fields, err) &&
           meta_int(w, "partition-spec-id", spec->spec_id, err) &&
           avro_writer_meta_str(w, "format-version", "2", err) &&
           avro_writer_meta_str(w, "content", content == ICE_CONTENT_DATA ? "data" : "deletes", err);
}

static void count_entry(ice_manifest_file *s, const ice_manifest_entry *e) {
    int64_t rows = e->file.record_count;
    switch (e->status) {
    case ICE_STATUS_ADDED: s->added_files_count++, s->added_rows_count += rows; break;
    case ICE_STATUS_EXISTING: s->existing_files_count++, s->existing_rows_count += rows; break;
    default: s->deleted_files_count++, s->deleted_rows_count += rows; break;
    }
    /* the lowest data sequence number written into a live entry; added
     * entries that inherit take the manifest's, never lower */
    if (e->status != ICE_STATUS_DELETED && e->sequence_number >= 0 &&
        (s->min_sequence_number < 0 || e->sequence_number < s->min_sequence_number))
        s->min_sequence_number = e->sequence_number;
}

bool ice_manifest_write(const ice_table_meta *m, const fmt_schema_t *schema, const ice_partition_spec *spec,
                        ice_content content, const ice_manifest_entry *entries, size_t n, buf_t *out,
                        ice_manifest_file *summary, arena_t *a, floe_err *err) {
    (void)m;
    fmt_field_t ptype;
    floe_err perr = {0};
    if (!tuple_type(spec, schema, a, &ptype, &perr))
        return floe_err_set(err, FLOE_EINVAL, "manifest: partition spec %d: %s", spec->spec_id, perr.msg);
    avro_schema_t *s = build_schema(manifest_entry_json(&ptype), "manifest_entry schema", err);
    if (!s) return false;
    avro_writer_t *w = avro_writer_new(s, &(avro_writer_opts){.codec = AVRO_CODEC_DEFLATE, .level = 1}, err);
    bool ok = false;
    arena_t tmp;
    arena_init(&tmp, 16384);
    part_summary *ps = calloc((size_t)ptype.nchildren + 1, sizeof *ps);
    ice_manifest_file sum = {.partition_spec_id = spec->spec_id,
                             .content = content == ICE_CONTENT_DATA ? ICE_CONTENT_DATA : ICE_CONTENT_POSITION_DELETES,
                             .sequence_number = -1,
                             .min_sequence_number = -1,
                             .added_snapshot_id = -1};
    if (!w || !ps || !write_manifest_meta(w, schema, spec, content, err)) goto done;
    const avro_type_t *entry_t = s->root, *df_t = field_type(s->root, 2);
    for (size_t i = 0; i < n; i++) {
        const ice_manifest_entry *e = &entries[i];
        const char *path = e->file.file_path ? e->file.file_path : "(no path)";
        if (!check_entry(e, content, err)) {
            floe_err_wrap(err, "manifest entry %zu (%s)", i, path);
            goto done;
        }
        avro_value_t *rec = avro_record(&tmp, entry_t);
        avro_record_set_id(rec, 0, avro_int(&tmp, (int32_t)e->status));
        if (e->snapshot_id >= 0) avro_record_set_id(rec, 1, avro_long(&tmp, e->snapshot_id));
        if (e->sequence_number >= 0) avro_record_set_id(rec, 3, avro_long(&tmp, e->sequence_number));
        if (e->file_sequence_number >= 0) avro_record_set_id(rec, 4, avro_long(&tmp, e->file_sequence_number));
        avro_value_t *d = data_file_value(&tmp, df_t, &ptype, &e->file, err);
        if (!d) {
            floe_err_wrap(err, "manifest entry %zu (%s)", i, path);
            goto done;
        }
        avro_record_set_id(rec, 2, d);
        if (!avro_writer_append(w, rec, err)) goto done;
        count_entry(&sum, e);
        for (int32_t k = 0; k < ptype.nchildren; k++) summary_update(&ps[k], &e->file.partition[k]);
        arena_free(&tmp);
    }
    if (!avro_writer_finish(w, out, err)) goto done;
    summaries_finish(ps, ptype.nchildren, a, &sum);
    if (summary) *summary = sum;
    ok = true;
done:
    free(ps);
    arena_free(&tmp);
    avro_writer_free(w);
    avro_schema_free(s);
    return ok;
}

/* =================================================== manifest list writer */

static avro_value_t *summaries_value(arena_t *a, const avro_type_t *r508, const ice_manifest_file *f) {
    avro_value_t *arr = avro_array(a);
    for (int32_t i = 0; i < f->npartitions; i++) {
        const ice_field_summary *fs = &f->partitions[i];
        avro_value_t *r = avro_record(a, r508);
        avro_record_set_id(r, 509, avro_bool(a, fs->contains_null));
        if (fs->contains_nan >= 0) avro_record_set_id(r, 518, avro_bool(a, fs->contains_nan != 0));
        if (fs->lower) avro_record_set_id(r, 510, avro_bytes(a, fs->lower, fs->lower_len));
        if (fs->upper) avro_record_set_id(r, 511, avro_bytes(a, fs->upper, fs->upper_len));
        avro_array_append(a, arr, r);
    }
    return arr;
}

static avro_value_t *manifest_file_value(arena_t *a, const avro_type_t *t, const ice_manifest_file *f,
                                         int64_t snapshot_id, int64_t sequence_number) {
    int64_t seq = f->sequence_number >= 0 ? f->sequence_number : sequence_number;
    int64_t min_seq = f->min_sequence_number >= 0 ? f->min_sequence_number : seq;
    avro_value_t *r = avro_record(a, t);
    avro_record_set_id(r, 500, avro_string(a, f->manifest_path ? f->manifest_path : ""));
    avro_record_set_id(r, 501, avro_long(a, f->manifest_length));
    avro_record_set_id(r, 502, avro_int(a, f->partition_spec_id));
    avro_record_set_id(r, 517, avro_int(a, f->content == ICE_CONTENT_DATA ? 0 : 1));
    avro_record_set_id(r, 515, avro_long(a, seq));
    avro_record_set_id(r, 516, avro_long(a, min_seq));
    avro_record_set_id(r, 503, avro_long(a, f->added_snapshot_id >= 0 ? f->added_snapshot_id : snapshot_id));
    avro_record_set_id(r, 504, avro_int(a, f->added_files_count));
    avro_record_set_id(r, 505, avro_int(a, f->existing_files_count));
    avro_record_set_id(r, 506, avro_int(a, f->deleted_files_count));
    avro_record_set_id(r, 512, avro_long(a, f->added_rows_count));
    avro_record_set_id(r, 513, avro_long(a, f->existing_rows_count));
    avro_record_set_id(r, 514, avro_long(a, f->deleted_rows_count));
    avro_record_set_id(r, 507, summaries_value(a, field_type(t, 507)->items, f));
    return r;
}

bool ice_manifest_list_write(int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
                             const ice_manifest_file *files, size_t n, buf_t *out, floe_err *err) {
    avro_schema_t *s = build_schema(manifest_file_json(), "manifest_file schema", err);
    if (!s) return false;
    avro_writer_t *w = avro_writer_new(s, &(avro_writer_opts){.codec = AVRO_CODEC_DEFLATE, .level = 1}, err);
    bool ok = false;
    arena_t tmp;
    arena_init(&tmp, 8192);
    char parent[24] = "null"; /* as Java writes a snapshot without a parent */
    if (parent_id >= 0) snprintf(parent, sizeof parent, "%lld", (long long)parent_id);
    if (!w || !meta_int(w, "snapshot-id", snapshot_id, err) ||
        !avro_writer_meta_str(w, "parent-snapshot-id", parent, err) ||
        !meta_int(w, "sequence-number", sequence_number, err) || !avro_writer_meta_str(w, "format-version", "2", err))
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (files[i].added_files_count < 0 || files[i].existing_files_count < 0 || files[i].deleted_files_count < 0 ||
            files[i].added_rows_count < 0 || files[i].existing_rows_count < 0 || files[i].deleted_rows_count < 0) {
            floe_err_set(err, FLOE_EINVAL,
                         "manifest list entry %zu (%s): a file or row count is unknown (-1); v2 manifest lists need "
                         "every count",
                         i, files[i].manifest_path ? files[i].manifest_path : "(no path)");
            goto done;
        }
        if (!avro_writer_append(w, manifest_file_value(&tmp, s->root, &files[i], snapshot_id, sequence_number), err))
            goto done;
        arena_free(&tmp);
    }
    ok = avro_writer_finish(w, out, err);
done:
    arena_free(&tmp);
    avro_writer_free(w);
    avro_schema_free(s);
    return ok;
}

/* ================================================================ reading */

typedef struct read_ctx {
    const char *what;
    size_t entry; /* record number, for messages */
    floe_err *err;
} read_ctx;

static bool rfail(read_ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool rfail(read_ctx *c, const char *field, const char *fmt, ...) {
    char msg[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return floe_err_set(c->err, FLOE_EINVAL, "%s: record %zu: %s: %s", c->what, c->entry, field, msg);
}

/* A long (or int) field by id. Absent or null: *present false, or an
 * error naming the field when it is required. */
static bool get_long(read_ctx *c, const avro_value_t *rec, int32_t id, const char *name, bool required, int64_t *out,
                     bool *present) {
    avro_value_t *v = avro_record_get_id(rec, id);
    *present = false;
    if (avro_is_null(v)) {
        if (required) return rfail(c, name, "is missing or null; the spec requires it (field id %d)", id);
        return true;
    }
    if (v->kind == AVRO_LONG)
        *out = v->l;
    else if (v->kind == AVRO_INT)
        *out = v->i;
    else
        return rfail(c, name, "is a %s; expected a long (field id %d)", avro_kind_name(v->kind), id);
    *present = true;
    return true;
}

static bool get_int(read_ctx *c, const avro_value_t *rec, int32_t id, const char *name, bool required, int32_t *out,
                    bool *present) {
    int64_t v = 0;
    if (!get_long(c, rec, id, name, required, &v, present)) return false;
    if (*present && (v < INT32_MIN || v > INT32_MAX)) return rfail(c, name, "%lld is out of int range", (long long)v);
    if (*present) *out = (int32_t)v;
    return true;
}

static bool get_string(read_ctx *c, const avro_value_t *rec, int32_t id, const char *name, arena_t *a,
                       const char **out) {
    avro_value_t *v = avro_record_get_id(rec, id);
    if (avro_is_null(v)) return rfail(c, name, "is missing or null; the spec requires it (field id %d)", id);
    if (v->kind != AVRO_STRING && v->kind != AVRO_BYTES)
        return rfail(c, name, "is a %s; expected a string (field id %d)", avro_kind_name(v->kind), id);
    *out = arena_strndup(a, (const char *)v->bytes.data, v->bytes.len);
    return true;
}

static const uint8_t *copy_bytes(arena_t *a, const avro_value_t *v, uint32_t *len) {
    *len = (uint32_t)v->bytes.len;
    return (const uint8_t *)arena_strndup(a, v->bytes.len ? (const char *)v->bytes.data : "", v->bytes.len);
}

/* ------------------------------------------------- partition tuple types */

/* The Iceberg type an Avro partition field's type stands for, when the
 * spec cannot tell (unknown transforms, missing metadata). */
static bool infer_type(const avro_type_t *t, fmt_field_t *out) {
    bool utc = json_is_true(json_object_get(t->json, "adjust-to-utc"));
    switch (t->kind) {
    case AVRO_BOOLEAN: out->type = FMT_BOOLEAN; return true;
    case AVRO_INT: out->type = t->logical == AVRO_LOGICAL_DATE ? FMT_DATE : FMT_INT; return true;
    case AVRO_LONG:
        switch (t->logical) {
        case AVRO_LOGICAL_TIME_MICROS: out->type = FMT_TIME; break;
        case AVRO_LOGICAL_TIMESTAMP_MICROS: out->type = utc ? FMT_TIMESTAMPTZ : FMT_TIMESTAMP; break;
        case AVRO_LOGICAL_LOCAL_TIMESTAMP_MICROS: out->type = FMT_TIMESTAMP; break;
        case AVRO_LOGICAL_TIMESTAMP_NANOS: out->type = utc ? FMT_TIMESTAMPTZ_NS : FMT_TIMESTAMP_NS; break;
        case AVRO_LOGICAL_LOCAL_TIMESTAMP_NANOS: out->type = FMT_TIMESTAMP_NS; break;
        default: out->type = FMT_LONG;
        }
        return true;
    case AVRO_FLOAT: out->type = FMT_FLOAT; return true;
    case AVRO_DOUBLE: out->type = FMT_DOUBLE; return true;
    case AVRO_STRING: out->type = FMT_STRING; return true;
    case AVRO_BYTES:
    case AVRO_FIXED:
        if (t->logical == AVRO_LOGICAL_DECIMAL) {
            out->type = FMT_DECIMAL;
            out->precision = t->precision;
            out->scale = t->scale;
        } else if (t->kind == AVRO_FIXED && t->logical == AVRO_LOGICAL_UUID && t->size == 16) {
            out->type = FMT_UUID;
        } else if (t->kind == AVRO_FIXED) {
            out->type = FMT_FIXED;
            out->length = t->size;
        } else {
            out->type = FMT_BINARY;
        }
        return true;
    default: return false;
    }
}

/* How to read the partition tuple of one manifest: for each spec field
 * (or each Avro partition field when the spec is not known), its type and
 * where it sits in the Avro record (-1: absent, read as null). */
typedef struct tuple_layout {
    int32_t n;
    fmt_field_t *types;
    int32_t *avro_index;
} tuple_layout;

/* The spec and schema the manifest was written with: its own metadata
 * first, then the table's. */
static void manifest_spec(avro_reader_t *r, const ice_manifest_file *mf, const ice_table_meta *m, arena_t *a,
                          const ice_partition_spec **spec, const fmt_schema_t **schema) {
    *spec = NULL;
    *schema = NULL;
    floe_err ignored;
    const char *spec_text = avro_reader_meta_str(r, "partition-spec");
    const char *schema_text = avro_reader_meta_str(r, "schema");
    if (spec_text) {
        json_t *j = json_loads(spec_text, 0, NULL);
        ice_partition_spec *s = arena_zalloc(a, sizeof *s);
        if (j && ice_spec_from_json(j, a, s, &ignored)) {
            const char *id = avro_reader_meta_str(r, "partition-spec-id");
            s->spec_id = id ? atoi(id) : mf ? mf->partition_spec_id : 0;
            *spec = s;
        }
        json_decref(j);
    }
    if (schema_text) {
        json_t *j = json_loads(schema_text, 0, NULL);
        fmt_schema_t *s = arena_zalloc(a, sizeof *s);
        if (j && ice_schema_from_json(j, a, s, &ignored)) *schema = s;
        json_decref(j);
    }
    if (m && !*spec && mf) *spec = ice_meta_spec(m, mf->partition_spec_id);
    if (m && !*schema) *schema = ice_meta_current_schema(m);
}

static bool plan_tuple(read_ctx *c, avro_reader_t *r, const avro_type_t *ptype, const ice_manifest_file *mf,
                       const ice_table_meta *m, arena_t *a, tuple_layout *out) {
    const ice_partition_spec *spec;
    const fmt_schema_t *schema;
    manifest_spec(r, mf, m, a, &spec, &schema);
    int32_t navro = (int32_t)ptype->nfields;
    bool by_spec = spec && spec->nfields > 0;
    out->n = by_spec ? spec->nfields : navro;
    out->types = arena_zalloc(a, ((size_t)out->n + 1) * sizeof *out->types);
    out->avro_index = arena_zalloc(a, ((size_t)out->n + 1) * sizeof *out->avro_index);
    for (int32_t i = 0; i < out->n; i++) {
        fmt_field_t *t = &out->types[i];
        bool known = false;
        int32_t at = i;
        if (by_spec) {
            /* the spec's field, found in the Avro record by id (by
             * position when the writer gave no ids), typed by its
             * transform's result */
            const ice_partition_field *pf = &spec->fields[i];
            at = -1;
            for (int32_t k = 0; k < navro && at < 0; k++)
                if (ptype->fields[k].has_id ? ptype->fields[k].id == pf->field_id : k == i) at = k;
            const fmt_field_t *src = schema ? fmt_schema_find(schema, pf->source_id) : NULL;
            floe_err ignored;
            known = src && pf->transform.kind != ICE_TR_UNKNOWN &&
                    ice_transform_result_type(&pf->transform, src, t, &ignored);
            if (!known) memset(t, 0, sizeof *t);
            t->name = pf->name;
            t->id = pf->field_id;
        }
        out->avro_index[i] = at;
        if (at < 0 || known) continue;
        /* no spec, or it does not say: read the type off the Avro schema */
        const avro_field_t *af = &ptype->fields[at];
        if (!by_spec) {
            t->name = af->name;
            t->id = af->has_id ? af->id : 1000 + i;
        }
        if (!infer_type(avro_type_nonnull(af->type), t))
            return floe_err_set(c->err, FLOE_EINVAL,
                                "%s: partition field %s has Avro type %s, which no Iceberg partition value has",
                                c->what, af->name, avro_kind_name(avro_type_nonnull(af->type)->kind));
    }
    return true;
}

/* Big-endian two's-complement bytes (at most 16) as an unscaled value. */
static bool decimal_from_bytes(const uint8_t *p, size_t n, __int128 *out) {
    if (n == 0 || n > 16) return false;
    __int128 v = (p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < n; i++) v = (__int128)(((unsigned __int128)v << 8) | p[i]);
    *out = v;
    return true;
}

static bool uuid_from_text(const char *s, size_t n, uint8_t out[16]) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < 32; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (ch == '-') continue;
        if (d < 0) return false;
        if (k % 2 == 0)
            out[k / 2] = (uint8_t)(d << 4);
        else
            out[k / 2] |= (uint8_t)d;
        k++;
    }
    return k == 32;
}

/* One Avro partition value as an ice_value of type t. */
static bool partition_value(read_ctx *c, const fmt_field_t *t, const avro_value_t *v, arena_t *a, ice_value *out) {
    memset(out, 0, sizeof *out);
    ice_value_set_type(out, t);
    if (avro_is_null(v)) {
        out->is_null = true;
        return true;
    }
    v = avro_unwrap(v);
    char field[200];
    snprintf(field, sizeof field, "data_file.partition.%s", t->name ? t->name : "?");
    bool ok = false;
    switch (t->type) {
    case FMT_BOOLEAN:
        if ((ok = v->kind == AVRO_BOOLEAN)) out->v.b = v->b;
        break;
    case FMT_INT:
    case FMT_DATE:
        if ((ok = v->kind == AVRO_INT)) out->v.i64 = v->i;
        break;
    case FMT_FLOAT:
    case FMT_DOUBLE:
        if ((ok = v->kind == AVRO_FLOAT || v->kind == AVRO_DOUBLE)) out->v.f64 = v->kind == AVRO_FLOAT ? v->f : v->d;
        break;
    case FMT_STRING:
    case FMT_BINARY:
        if ((ok = v->kind == AVRO_STRING || v->kind == AVRO_BYTES || v->kind == AVRO_FIXED))
            out->bytes = copy_bytes(a, v, &out->len);
        break;
    case FMT_FIXED:
    case FMT_UUID: {
        uint32_t want = t->type == FMT_UUID ? 16 : (uint32_t)t->length;
        if (t->type == FMT_UUID && v->kind == AVRO_STRING) {
            uint8_t *b = arena_alloc(a, 16);
            if ((ok = uuid_from_text((const char *)v->bytes.data, v->bytes.len, b))) out->bytes = b, out->len = 16;
        } else if ((v->kind == AVRO_FIXED || v->kind == AVRO_BYTES) && v->bytes.len == want) {
            out->bytes = copy_bytes(a, v, &out->len);
            ok = true;
        }
        break;
    }
    case FMT_DECIMAL:
        ok = (v->kind == AVRO_FIXED || v->kind == AVRO_BYTES) &&
             decimal_from_bytes(v->bytes.data, v->bytes.len, &out->v.dec);
        break;
    default:
        if (long_like(t->type) && (v->kind == AVRO_LONG || v->kind == AVRO_INT)) {
            out->v.i64 = v->kind == AVRO_LONG ? v->l : v->i;
            ok = true;
        }
        break;
    }
    if (!ok) {
        buf_t want = BUF_INIT;
        fmt_type_format(t, &want);
        rfail(c, field, "is an Avro %s (%zu bytes); expected a %s value", avro_kind_name(v->kind),
              v->kind == AVRO_FIXED || v->kind == AVRO_BYTES || v->kind == AVRO_STRING ? v->bytes.len : 0, want.data);
        buf_free(&want);
    }
    return ok;
}

/* --------------------------------------------------------- column stats */

typedef struct stats_acc {
    ice_col_stats *s;
    int32_t n, cap;
} stats_acc;

static ice_col_stats *stats_for(stats_acc *acc, arena_t *a, int32_t field_id) {
    for (int32_t i = 0; i < acc->n; i++)
        if (acc->s[i].field_id == field_id) return &acc->s[i];
    if (acc->n == acc->cap) {
        int32_t cap = acc->cap ? acc->cap * 2 : 8;
        ice_col_stats *s = arena_alloc(a, (size_t)cap * sizeof *s);
        if (acc->n) memcpy(s, acc->s, (size_t)acc->n * sizeof *s);
        acc->s = s;
        acc->cap = cap;
    }
    ice_col_stats *s = &acc->s[acc->n++];
    *s = (ice_col_stats){.field_id = field_id, .column_size = -1, .value_count = -1, .null_count = -1, .nan_count = -1};
    return s;
}

/* One int-keyed map (an array of key/value records) into the stats. */
static bool read_stats_map(read_ctx *c, const avro_value_t *df, int32_t id, const char *name, enum stat_kind k,
                           stats_acc *acc, arena_t *a) {
    avro_value_t *arr = avro_record_get_id(df, id);
    if (avro_is_null(arr)) return true;
    if (arr->kind != AVRO_ARRAY)
        return rfail(c, name, "is a %s; expected an array of key/value records", avro_kind_name(arr->kind));
    for (size_t i = 0; i < arr->list.n; i++) {
        avro_value_t *kv = avro_unwrap(arr->list.items[i]);
        if (!kv || kv->kind != AVRO_RECORD || kv->list.n < 2)
            return rfail(c, name, "entry %zu is not a key/value record", i);
        avro_value_t *key = avro_unwrap(kv->list.items[0]), *val = avro_unwrap(kv->list.items[1]);
        if (!key || key->kind != AVRO_INT) return rfail(c, name, "entry %zu: the key is not an int column id", i);
        if (avro_is_null(val)) continue;
        ice_col_stats *s = stats_for(acc, a, key->i);
        if (k == ST_LOWER || k == ST_UPPER) {
            if (val->kind != AVRO_BYTES && val->kind != AVRO_FIXED)
                return rfail(c, name, "entry %zu: the bound is a %s; expected bytes", i, avro_kind_name(val->kind));
            if (k == ST_LOWER)
                s->lower = copy_bytes(a, val, &s->lower_len);
            else
                s->upper = copy_bytes(a, val, &s->upper_len);
            continue;
        }
        if (val->kind != AVRO_LONG && val->kind != AVRO_INT)
            return rfail(c, name, "entry %zu: the count is a %s; expected a long", i, avro_kind_name(val->kind));
        int64_t cnt = val->kind == AVRO_LONG ? val->l : val->i;
        switch (k) {
        case ST_SIZE: s->column_size = cnt; break;
        case ST_VALUES: s->value_count = cnt; break;
        case ST_NULLS: s->null_count = cnt; break;
        default: s->nan_count = cnt; break;
        }
    }
    return true;
}

static int cmp_stats(const void *x, const void *y) {
    int32_t a = ((const ice_col_stats *)x)->field_id, b = ((const ice_col_stats *)y)->field_id;
    return (a > b) - (a < b);
}

static bool read_stats(read_ctx *c, const avro_value_t *df, ice_data_file *f, arena_t *a) {
    stats_acc acc = {0};
    if (!read_stats_map(c, df, 108, "data_file.column_sizes", ST_SIZE, &acc, a) ||
        !read_stats_map(c, df, 109, "data_file.value_counts", ST_VALUES, &acc, a) ||
        !read_stats_map(c, df, 110, "data_file.null_value_counts", ST_NULLS, &acc, a) ||
        !read_stats_map(c, df, 137, "data_file.nan_value_counts", ST_NANS, &acc, a) ||
        !read_stats_map(c, df, 125, "data_file.lower_bounds", ST_LOWER, &acc, a) ||
        !read_stats_map(c, df, 128, "data_file.upper_bounds", ST_UPPER, &acc, a))
        return false;
    if (acc.n) qsort(acc.s, (size_t)acc.n, sizeof *acc.s, cmp_stats);
    f->stats = acc.s;
    f->nstats = acc.n;
    return true;
}

/* An array of longs or ints (split_offsets, equality_ids) into out. */
static bool read_number_list(read_ctx *c, const avro_value_t *df, int32_t id, const char *name, arena_t *a, int64_t **l,
                             int32_t **i32, int32_t *n) {
    avro_value_t *arr = avro_record_get_id(df, id);
    *n = 0;
    if (avro_is_null(arr)) return true;
    if (arr->kind != AVRO_ARRAY) return rfail(c, name, "is a %s; expected an array", avro_kind_name(arr->kind));
    size_t cnt = arr->list.n ? arr->list.n : 1;
    if (l) *l = arena_alloc(a, cnt * sizeof **l);
    if (i32) *i32 = arena_alloc(a, cnt * sizeof **i32);
    for (size_t k = 0; k < arr->list.n; k++) {
        avro_value_t *v = avro_unwrap(arr->list.items[k]);
        if (!v || (v->kind != AVRO_LONG && v->kind != AVRO_INT)) return rfail(c, name, "item %zu is not a number", k);
        int64_t x = v->kind == AVRO_LONG ? v->l : v->i;
        if (l) (*l)[k] = x;
        if (i32) (*i32)[k] = (int32_t)x;
    }
    *n = (int32_t)arr->list.n;
    return true;
}

/* ------------------------------------------------------------ entries */

static bool read_data_file(read_ctx *c, const avro_value_t *df, const tuple_layout *tl, arena_t *a, ice_data_file *f) {
    bool present;
    int32_t content = 0;
    if (!get_int(c, df, 134, "data_file.content", false, &content, &present)) return false;
    if (content < 0 || content > 2) return rfail(c, "data_file.content", "is %d; expected 0, 1 or 2", content);
    f->content = (ice_content)content;
    if (!get_string(c, df, 100, "data_file.file_path", a, &f->file_path) ||
        !get_string(c, df, 101, "data_file.file_format", a, &f->file_format) ||
        !get_long(c, df, 103, "data_file.record_count", true, &f->record_count, &present) ||
        !get_long(c, df, 104, "data_file.file_size_in_bytes", true, &f->file_size_in_bytes, &present))
        return false;
    avro_value_t *part = avro_record_get_id(df, 102);
    if (!part || part->kind != AVRO_RECORD)
        return rfail(c, "data_file.partition", "is missing or not a record (field id 102)");
    f->npartition = tl->n;
    f->partition = arena_zalloc(a, ((size_t)tl->n + 1) * sizeof *f->partition);
    for (int32_t i = 0; i < tl->n; i++) {
        int32_t at = tl->avro_index[i];
        const avro_value_t *v = at >= 0 && (size_t)at < part->list.n ? part->list.items[at] : NULL;
        if (!partition_value(c, &tl->types[i], v, a, &f->partition[i])) return false;
    }
    f->sort_order_id = -1;
    return read_stats(c, df, f, a) &&
           read_number_list(c, df, 132, "data_file.split_offsets", a, &f->split_offsets, NULL, &f->nsplit_offsets) &&
           read_number_list(c, df, 135, "data_file.equality_ids", a, NULL, &f->equality_ids, &f->nequality_ids) &&
           get_int(c, df, 140, "data_file.sort_order_id", false, &f->sort_order_id, &present); /* absent: -1 */
}

/* Sequence-number inheritance: a null number takes the manifest's when the
 * entry was added, or when the manifest's is 0 (v1: everything is 0). */
static int64_t inherit_seq(bool present, int64_t v, const ice_manifest_entry *e, const ice_manifest_file *mf,
                           int format_version) {
    if (present) return v;
    int64_t manifest_seq = mf ? mf->sequence_number : format_version < 2 ? 0 : -1;
    if (manifest_seq >= 0 && (e->status == ICE_STATUS_ADDED || manifest_seq == 0)) return manifest_seq;
    return -1;
}

static bool read_entry(read_ctx *c, const avro_value_t *rec, const tuple_layout *tl, const ice_manifest_file *mf,
                       int format_version, int32_t spec_id, arena_t *a, ice_manifest_entry *e) {
    bool present;
    int32_t status;
    int64_t v = 0;
    memset(e, 0, sizeof *e);
    if (!get_int(c, rec, 0, "status", true, &status, &present)) return false;
    if (status < 0 || status > 2)
        return rfail(c, "status", "is %d; expected 0 (existing), 1 (added) or 2 (deleted)", status);
    e->status = (ice_entry_status)status;
    if (!get_long(c, rec, 1, "snapshot_id", false, &v, &present)) return false;
    e->snapshot_id = present ? v : mf ? mf->added_snapshot_id : -1;
    if (!get_long(c, rec, 3, "sequence_number", false, &v, &present)) return false;
    e->sequence_number = inherit_seq(present, v, e, mf, format_version);
    if (!get_long(c, rec, 4, "file_sequence_number", false, &v, &present)) return false;
    e->file_sequence_number = inherit_seq(present, v, e, mf, format_version);
    avro_value_t *df = avro_record_get_id(rec, 2);
    if (!df || df->kind != AVRO_RECORD) return rfail(c, "data_file", "is missing or not a record (field id 2)");
    e->file.spec_id = spec_id;
    return read_data_file(c, df, tl, a, &e->file);
}

bool ice_manifest_read(const void *p, size_t n, const char *what, const ice_manifest_file *mf, const ice_table_meta *m,
                       arena_t *a, ice_manifest_entry **out, size_t *nout, floe_err *err) {
    *out = NULL;
    *nout = 0;
    read_ctx c = {.what = what ? what : "manifest", .err = err};
    avro_reader_t *r = avro_reader_open(p, n, c.what, err);
    if (!r) return false;
    bool ok = false;
    arena_t tmp;
    arena_init(&tmp, 16384);
    const avro_type_t *root = avro_reader_schema(r)->root;
    const avro_type_t *df = root->kind == AVRO_RECORD ? field_type(root, 2) : NULL;
    const avro_type_t *ptype = df && df->kind == AVRO_RECORD ? field_type(df, 102) : NULL;
    if (!ptype || ptype->kind != AVRO_RECORD) {
        floe_err_set(err, FLOE_EINVAL,
                     "%s: not an Iceberg manifest: its schema has no data_file record (field id 2) with a partition "
                     "record (field id 102)",
                     c.what);
        goto done;
    }
    const char *fv = avro_reader_meta_str(r, "format-version");
    int format_version = fv ? atoi(fv) : avro_field_by_id(root, 3) ? 2 : 1;
    const char *sid = avro_reader_meta_str(r, "partition-spec-id");
    int32_t spec_id = mf ? mf->partition_spec_id : sid ? atoi(sid) : 0;
    tuple_layout tl;
    if (!plan_tuple(&c, r, ptype, mf, m, a, &tl)) goto done;
    size_t cap = 0;
    for (;;) {
        avro_value_t *rec;
        if (!avro_reader_next(r, &tmp, &rec, err)) goto done;
        if (!rec) break;
        if (*nout == cap) {
            cap = cap ? cap * 2 : 16;
            ice_manifest_entry *grown = arena_alloc(a, cap * sizeof *grown);
            if (*nout) memcpy(grown, *out, *nout * sizeof *grown);
            *out = grown;
        }
        c.entry = *nout;
        if (!read_entry(&c, rec, &tl, mf, format_version, spec_id, a, &(*out)[*nout])) goto done;
        (*nout)++;
        arena_free(&tmp);
    }
    ok = true;
done:
    if (!ok) *out = NULL, *nout = 0;
    arena_free(&tmp);
    avro_reader_free(r);
    return ok;
}

/* ------------------------------------------------------- manifest lists */

static bool read_summaries(read_ctx *c, const avro_value_t *rec, arena_t *a, ice_manifest_file *f) {
    avro_value_t *arr = avro_record_get_id(rec, 507);
    if (avro_is_null(arr)) return true;
    if (arr->kind != AVRO_ARRAY) return rfail(c, "partitions", "is a %s; expected an array", avro_kind_name(arr->kind));
    f->npartitions = (int32_t)arr->list.n;
    f->partitions = arena_zalloc(a, (arr->list.n ? arr->list.n : 1) * sizeof *f->partitions);
    for (size_t i = 0; i < arr->list.n; i++) {
        avro_value_t *s = avro_unwrap(arr->list.items[i]);
        ice_field_summary *fs = &f->partitions[i];
        if (!s || s->kind != AVRO_RECORD) return rfail(c, "partitions", "item %zu is not a field_summary record", i);
        avro_value_t *cn = avro_record_get_id(s, 509), *nan = avro_record_get_id(s, 518);
        avro_value_t *lo = avro_record_get_id(s, 510), *hi = avro_record_get_id(s, 511);
        if (avro_is_null(cn) || cn->kind != AVRO_BOOLEAN)
            return rfail(c, "partitions", "item %zu: contains_null (509) is missing or not a boolean", i);
        fs->contains_null = cn->b;
        fs->contains_nan = avro_is_null(nan) ? -1 : nan->kind == AVRO_BOOLEAN ? nan->b : -1;
        if (!avro_is_null(lo) && (lo->kind == AVRO_BYTES || lo->kind == AVRO_FIXED))
            fs->lower = copy_bytes(a, lo, &fs->lower_len);
        if (!avro_is_null(hi) && (hi->kind == AVRO_BYTES || hi->kind == AVRO_FIXED))
            fs->upper = copy_bytes(a, hi, &fs->upper_len);
    }
    return true;
}

static bool read_manifest_file(read_ctx *c, const avro_value_t *rec, arena_t *a, ice_manifest_file *f) {
    bool present;
    int32_t content = 0;
    memset(f, 0, sizeof *f);
    if (!get_string(c, rec, 500, "manifest_path", a, &f->manifest_path) ||
        !get_long(c, rec, 501, "manifest_length", true, &f->manifest_length, &present) ||
        !get_int(c, rec, 502, "partition_spec_id", true, &f->partition_spec_id, &present) ||
        !get_long(c, rec, 503, "added_snapshot_id", true, &f->added_snapshot_id, &present) ||
        !get_int(c, rec, 517, "content", false, &content, &present))
        return false;
    if (content != 0 && content != 1) return rfail(c, "content", "is %d; expected 0 (data) or 1 (deletes)", content);
    f->content = content ? ICE_CONTENT_POSITION_DELETES : ICE_CONTENT_DATA;
    /* v1 lists have no sequence numbers: 0 */
    if (!get_long(c, rec, 515, "sequence_number", false, &f->sequence_number, &present)) return false;
    if (!present) f->sequence_number = 0;
    if (!get_long(c, rec, 516, "min_sequence_number", false, &f->min_sequence_number, &present)) return false;
    if (!present) f->min_sequence_number = 0;
    /* counts are optional in v1; -1 when unknown */
    static const struct {
        int32_t id;
        const char *name;
    } counts[] = {{504, "added_files_count"}, {505, "existing_files_count"}, {506, "deleted_files_count"},
                  {512, "added_rows_count"},  {513, "existing_rows_count"},  {514, "deleted_rows_count"}};
    int64_t v[6];
    for (int i = 0; i < 6; i++) {
        if (!get_long(c, rec, counts[i].id, counts[i].name, false, &v[i], &present)) return false;
        if (!present) v[i] = -1;
    }
    f->added_files_count = (int32_t)v[0];
    f->existing_files_count = (int32_t)v[1];
    f->deleted_files_count = (int32_t)v[2];
    f->added_rows_count = v[3];
    f->existing_rows_count = v[4];
    f->deleted_rows_count = v[5];
    return read_summaries(c, rec, a, f);
}

bool ice_manifest_list_read(const void *p, size_t n, const char *what, arena_t *a, ice_manifest_file **out,
                            size_t *nout, floe_err *err) {
    *out = NULL;
    *nout = 0;
    read_ctx c = {.what = what ? what : "manifest list", .err = err};
    avro_reader_t *r = avro_reader_open(p, n, c.what, err);
    if (!r) return false;
    bool ok = false;
    arena_t tmp;
    arena_init(&tmp, 8192);
    const avro_type_t *root = avro_reader_schema(r)->root;
    if (root->kind != AVRO_RECORD || !avro_field_by_id(root, 500)) {
        floe_err_set(err, FLOE_EINVAL,
                     "%s: not an Iceberg manifest list: its records have no manifest_path (field id 500)", c.what);
        goto done;
    }
    size_t cap = 0;
    for (;;) {
        avro_value_t *rec;
        if (!avro_reader_next(r, &tmp, &rec, err)) goto done;
        if (!rec) break;
        if (*nout == cap) {
            cap = cap ? cap * 2 : 16;
            ice_manifest_file *grown = arena_alloc(a, cap * sizeof *grown);
            if (*nout) memcpy(grown, *out, *nout * sizeof *grown);
            *out = grown;
        }
        c.entry = *nout;
        if (!read_manifest_file(&c, rec, a, &(*out)[*nout])) goto done;
        (*nout)++;
        arena_free(&tmp);
    }
    ok = true;
done:
    if (!ok) *out = NULL, *nout = 0;
    arena_free(&tmp);
    avro_reader_free(r);
    return ok;
}
