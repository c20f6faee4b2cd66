/*
 * meta.c: table metadata JSON (the spec's "Table Metadata" and Appendix C):
 * parse v1 and v2, write v2, and the lookups.
 *
 * Reading v1 follows Appendix E and the Java reference: "schema" stands in
 * for "schemas" (current-schema-id its schema-id), "partition-spec" (bare
 * fields, ids 1000 + position when absent) for "partition-specs" as spec 0,
 * a missing "last-partition-id" is the highest partition field id (999 with
 * none), missing "sort-orders" the unsorted order 0, "last-sequence-number"
 * and snapshot "sequence-number" default to 0, and a missing table-uuid is
 * assigned. In both versions current-snapshot-id -1, null or absent means
 * no snapshot, and without "refs" the current snapshot becomes branch main.
 * As in Java, a snapshot may lack "summary", and may list "manifests"
 * instead of a "manifest-list", in either version: a v1 table upgraded to
 * v2 keeps its old snapshots.
 *
 * statistics, partition-statistics and any key Floe does not know are kept
 * as text in ice_table_meta.extra and written back where Java writes
 * statistics. Written keys follow TableMetadataParser's order, so a file
 * Floe writes, parsed and written again, comes out byte for byte the same.
 *
 * Every error names the file (what), the place in it and the key:
 *   "t.json: snapshots[1]: \"manifest-list\" is missing; expected a string"
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/json.h"
#include "base/str.h"
#include "iceberg/iceberg.h"

typedef struct meta_ctx {
    const char *what;
    arena_t *a;
    floe_err *err;
    int version;
} meta_ctx;

/* "what: where: message" (where may be NULL for the top level). */
static bool mfail(meta_ctx *c, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool mfail(meta_ctx *c, const char *where, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (where)
        floe_err_set(c->err, FLOE_EINVAL, "%s: %s: %s", c->what, where, msg);
    else
        floe_err_set(c->err, FLOE_EINVAL, "%s: %s", c->what, msg);
    return false;
}

static const char *kind_of(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Optional members: absent or null leave *present false. */
static bool opt_i64(meta_ctx *c, json_t *obj, const char *key, const char *where, int64_t *out, bool *present) {
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v)) return true;
    if (!json_is_integer(v)) return mfail(c, where, "\"%s\" is %s; expected an integer", key, kind_of(v));
    *out = (int64_t)json_integer_value(v);
    *present = true;
    return true;
}

static bool opt_i32(meta_ctx *c, json_t *obj, const char *key, const char *where, int32_t *out, bool *present) {
    int64_t v = 0;
    if (!opt_i64(c, obj, key, where, &v, present)) return false;
    if (*present && (v < INT32_MIN || v > INT32_MAX))
        return mfail(c, where, "\"%s\" is %lld; expected a 32-bit integer", key, (long long)v);
    if (*present) *out = (int32_t)v;
    return true;
}

static bool req_i64(meta_ctx *c, json_t *obj, const char *key, const char *where, int64_t *out) {
    bool present;
    if (!opt_i64(c, obj, key, where, out, &present)) return false;
    if (!present) return mfail(c, where, "\"%s\" is missing; expected an integer", key);
    return true;
}

static bool req_i32(meta_ctx *c, json_t *obj, const char *key, const char *where, int32_t *out) {
    bool present;
    if (!opt_i32(c, obj, key, where, out, &present)) return false;
    if (!present) return mfail(c, where, "\"%s\" is missing; expected an integer", key);
    return true;
}

static bool opt_str(meta_ctx *c, json_t *obj, const char *key, const char *where, const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) return mfail(c, where, "\"%s\" is %s; expected a string", key, kind_of(v));
    *out = arena_strndup(c->a, json_string_value(v), json_string_length(v));
    return true;
}

static bool req_str(meta_ctx *c, json_t *obj, const char *key, const char *where, const char **out) {
    if (!opt_str(c, obj, key, where, out)) return false;
    if (!*out) return mfail(c, where, "\"%s\" is missing; expected a string", key);
    return true;
}

/* An array member: NULL when absent or null (and !required). */
static bool get_array(meta_ctx *c, json_t *obj, const char *key, const char *where, bool required, json_t **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) return mfail(c, where, "\"%s\" is missing; expected an array", key);
        return true;
    }
    if (!json_is_array(v)) return mfail(c, where, "\"%s\" is %s; expected an array", key, kind_of(v));
    *out = v;
    return true;
}

/* A string-to-string object into kv pairs. */
static bool string_map(meta_ctx *c, json_t *obj, const char *key, const char *where, ice_kv **out, int32_t *n) {
    json_t *m = json_object_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!m || json_is_null(m)) return true;
    if (!json_is_object(m)) return mfail(c, where, "\"%s\" is %s; expected an object of strings", key, kind_of(m));
    *out = arena_zalloc(c->a, (json_object_size(m) ? json_object_size(m) : 1) * sizeof **out);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return mfail(c, where, "\"%s\".\"%s\" is %s; expected a string (values here are strings, e.g. \"120\")",
                         key, k, kind_of(v));
        (*out)[*n].key = arena_strdup(c->a, k);
        (*out)[*n].value = arena_strndup(c->a, json_string_value(v), json_string_length(v));
        (*n)++;
    }
    return true;
}

/* A random (version 4) UUID for v1 tables written without one. */
static const char *new_uuid(arena_t *a) {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)rand();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char hex[33];
    str_hex(b, sizeof b, hex);
    return arena_sprintf(a, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---------------------------------------------------------------- schemas */

static bool parse_schemas(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *arr;
    floe_err e = {0};
    if (!get_array(c, root, "schemas", NULL, false, &arr)) return false;
    if (!arr) {
        if (c->version > 1) return mfail(c, NULL, "\"schemas\" is missing; a v2 table lists its schemas there");
        json_t *one = json_object_get(root, "schema");
        if (!one) return mfail(c, NULL, "neither \"schemas\" nor \"schema\" is present; expected the table's schema");
        m->schemas = arena_zalloc(c->a, sizeof *m->schemas);
        m->nschemas = 1;
        if (!ice_schema_from_json(one, c->a, &m->schemas[0], &e)) return mfail(c, "schema", "%s", e.msg);
        m->current_schema_id = m->schemas[0].schema_id;
        return true;
    }
    if (!req_i32(c, root, "current-schema-id", NULL, &m->current_schema_id)) return false;
    m->nschemas = (int32_t)json_array_size(arr);
    m->schemas = arena_zalloc(c->a, (m->nschemas ? (size_t)m->nschemas : 1) * sizeof *m->schemas);
    for (int32_t i = 0; i < m->nschemas; i++) {
        char where[48];
        snprintf(where, sizeof where, "schemas[%d]", i);
        if (!ice_schema_from_json(json_array_get(arr, (size_t)i), c->a, &m->schemas[i], &e))
            return mfail(c, where, "%s", e.msg);
        for (int32_t k = 0; k < i; k++)
            if (m->schemas[k].schema_id == m->schemas[i].schema_id)
                return mfail(c, where, "schema-id %d is used twice", m->schemas[i].schema_id);
    }
    if (!ice_meta_schema(m, m->current_schema_id))
        return mfail(c, NULL, "\"current-schema-id\" is %d, but \"schemas\" has no schema with that id",
                     m->current_schema_id);
    return true;
}

/* ------------------------------------------------------------------ specs */

static bool parse_specs(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *arr;
    floe_err e = {0};
    if (!get_array(c, root, "partition-specs", NULL, false, &arr)) return false;
    if (!arr) {
        if (c->version > 1)
            return mfail(c, NULL, "\"partition-specs\" is missing; a v2 table lists its partition specs there");
        json_t *fields;
        if (!get_array(c, root, "partition-spec", NULL, true, &fields)) return false;
        m->specs = arena_zalloc(c->a, sizeof *m->specs);
        m->nspecs = 1;
        if (!ice_spec_from_json(fields, c->a, &m->specs[0], &e)) return mfail(c, "partition-spec", "%s", e.msg);
        m->default_spec_id = 0;
    } else {
        if (!req_i32(c, root, "default-spec-id", NULL, &m->default_spec_id)) return false;
        m->nspecs = (int32_t)json_array_size(arr);
        m->specs = arena_zalloc(c->a, (m->nspecs ? (size_t)m->nspecs : 1) * sizeof *m->specs);
        for (int32_t i = 0; i < m->nspecs; i++) {
            char where[48];
            snprintf(where, sizeof where, "partition-specs[%d]", i);
            json_t *s = json_array_get(arr, (size_t)i);
            if (!json_is_object(s)) return mfail(c, where, "a spec is %s; expected an object", kind_of(s));
            if (!ice_spec_from_json(s, c->a, &m->specs[i], &e)) return mfail(c, where, "%s", e.msg);
            for (int32_t k = 0; k < i; k++)
                if (m->specs[k].spec_id == m->specs[i].spec_id)
                    return mfail(c, where, "spec-id %d is used twice", m->specs[i].spec_id);
        }
        if (!ice_meta_spec(m, m->default_spec_id))
            return mfail(c, NULL, "\"default-spec-id\" is %d, but \"partition-specs\" has no spec with that id",
                         m->default_spec_id);
    }
    bool present;
    if (!opt_i32(c, root, "last-partition-id", NULL, &m->last_partition_id, &present)) return false;
    if (!present) {
        if (c->version > 1) return mfail(c, NULL, "\"last-partition-id\" is missing; expected an integer");
        m->last_partition_id = 999;
        for (int32_t i = 0; i < m->nspecs; i++)
            for (int32_t k = 0; k < m->specs[i].nfields; k++)
                if (m->specs[i].fields[k].field_id > m->last_partition_id)
                    m->last_partition_id = m->specs[i].fields[k].field_id;
    }
    return true;
}

/* ------------------------------------------------------------ sort orders */

static bool parse_sort_orders(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *arr;
    floe_err e = {0};
    if (!get_array(c, root, "sort-orders", NULL, false, &arr)) return false;
    size_t n = arr ? json_array_size(arr) : 0;
    m->sort_orders = arena_zalloc(c->a, (n + 1) * sizeof *m->sort_orders); /* room for an added unsorted order */
    if (!arr) {
        if (c->version > 1) return mfail(c, NULL, "\"sort-orders\" is missing; expected an array of sort orders");
        m->nsort_orders = 1; /* the unsorted order 0 */
        m->default_sort_order_id = 0;
        return true;
    }
    if (!req_i32(c, root, "default-sort-order-id", NULL, &m->default_sort_order_id)) return false;
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "sort-orders[%zu]", i);
        if (!ice_sort_order_from_json(json_array_get(arr, i), c->a, &m->sort_orders[i], &e))
            return mfail(c, where, "%s", e.msg);
        for (size_t k = 0; k < i; k++)
            if (m->sort_orders[k].order_id == m->sort_orders[i].order_id)
                return mfail(c, where, "order-id %d is used twice", m->sort_orders[i].order_id);
    }
    m->nsort_orders = (int32_t)n;
    bool found = false;
    for (int32_t i = 0; i < m->nsort_orders; i++) found |= m->sort_orders[i].order_id == m->default_sort_order_id;
    if (!found) {
        if (m->default_sort_order_id != 0)
            return mfail(c, NULL, "\"default-sort-order-id\" is %d, but \"sort-orders\" has no order with that id",
                         m->default_sort_order_id);
        m->nsort_orders++; /* the unsorted order, implied */
    }
    return true;
}

/* -------------------------------------------------------------- snapshots */

static bool parse_snapshot(meta_ctx *c, json_t *j, const char *where, ice_snapshot *s) {
    bool present;
    if (!json_is_object(j)) return mfail(c, where, "a snapshot is %s; expected an object", kind_of(j));
    if (!req_i64(c, j, "snapshot-id", where, &s->snapshot_id) ||
        !req_i64(c, j, "timestamp-ms", where, &s->timestamp_ms))
        return false;
    s->parent_id = -1;
    if (!opt_i64(c, j, "parent-snapshot-id", where, &s->parent_id, &present)) return false;
    if (!present) s->parent_id = -1;
    if (!opt_i64(c, j, "sequence-number", where, &s->sequence_number, &present)) return false;
    if (!present) {
        if (c->version > 1) return mfail(c, where, "\"sequence-number\" is missing; expected an integer");
        s->sequence_number = 0;
    }
    if (!opt_i32(c, j, "schema-id", where, &s->schema_id, &present)) return false;
    if (!present) s->schema_id = -1;
    if (!opt_str(c, j, "manifest-list", where, &s->manifest_list)) return false;
    if (!s->manifest_list) {
        /* v1 snapshots may list their manifests instead; a v1 table
         * upgraded to v2 keeps such snapshots */
        json_t *list;
        if (!get_array(c, j, "manifests", where, false, &list)) return false;
        if (!list) return mfail(c, where, "\"manifest-list\" is missing; expected a string (or, in v1, \"manifests\")");
        s->nv1_manifests = (int32_t)json_array_size(list);
        s->v1_manifests = arena_zalloc(c->a, (s->nv1_manifests ? (size_t)s->nv1_manifests : 1) * sizeof(char *));
        for (int32_t i = 0; i < s->nv1_manifests; i++) {
            json_t *p = json_array_get(list, (size_t)i);
            if (!json_is_string(p))
                return mfail(c, where, "\"manifests\"[%d] is %s; expected a manifest's location", i, kind_of(p));
            s->v1_manifests[i] = arena_strndup(c->a, json_string_value(p), json_string_length(p));
        }
    }
    /* v2 requires a summary, but a v1 table upgraded to v2 may have
     * snapshots without one; Java reads and writes those too */
    json_t *summary = json_object_get(j, "summary");
    if (!summary || json_is_null(summary)) return true;
    if (!string_map(c, j, "summary", where, &s->summary, &s->nsummary)) return false;
    for (int32_t i = 0; i < s->nsummary; i++)
        if (!strcmp(s->summary[i].key, "operation")) s->operation = s->summary[i].value;
    if (!s->operation)
        return mfail(c, where, "\"summary\" has no \"operation\"; expected append, replace, overwrite or delete");
    return true;
}

static bool parse_snapshots(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *arr;
    bool present;
    if (!opt_i64(c, root, "current-snapshot-id", NULL, &m->current_snapshot_id, &present)) return false;
    if (!present) m->current_snapshot_id = -1;
    if (!get_array(c, root, "snapshots", NULL, false, &arr)) return false;
    m->nsnapshots = arr ? (int32_t)json_array_size(arr) : 0;
    m->snapshots = arena_zalloc(c->a, (m->nsnapshots ? (size_t)m->nsnapshots : 1) * sizeof *m->snapshots);
    for (int32_t i = 0; i < m->nsnapshots; i++) {
        char where[48];
        snprintf(where, sizeof where, "snapshots[%d]", i);
        if (!parse_snapshot(c, json_array_get(arr, (size_t)i), where, &m->snapshots[i])) return false;
        for (int32_t k = 0; k < i; k++)
            if (m->snapshots[k].snapshot_id == m->snapshots[i].snapshot_id)
                return mfail(c, where, "snapshot-id %lld is used twice", (long long)m->snapshots[i].snapshot_id);
    }
    if (m->current_snapshot_id != -1 && !ice_meta_snapshot(m, m->current_snapshot_id))
        return mfail(c, NULL, "\"current-snapshot-id\" is %lld, but \"snapshots\" has no snapshot with that id",
                     (long long)m->current_snapshot_id);
    return true;
}

/* ------------------------------------------------------------------- refs */

static bool parse_ref(meta_ctx *c, const char *name, json_t *j, ice_ref *r) {
    char where[300];
    snprintf(where, sizeof where, "refs.%s", name);
    if (!json_is_object(j)) return mfail(c, where, "a reference is %s; expected an object", kind_of(j));
    const char *type;
    bool present;
    r->name = arena_strdup(c->a, name);
    if (!req_i64(c, j, "snapshot-id", where, &r->snapshot_id) || !req_str(c, j, "type", where, &type)) return false;
    if (strcmp(type, "branch") && strcmp(type, "tag"))
        return mfail(c, where, "\"type\" is \"%s\"; expected \"branch\" or \"tag\"", type);
    r->is_tag = type[0] == 't';
    r->max_ref_age_ms = r->max_snapshot_age_ms = -1;
    r->min_snapshots_to_keep = -1;
    if (!opt_i64(c, j, "max-ref-age-ms", where, &r->max_ref_age_ms, &present)) return false;
    if (!present) r->max_ref_age_ms = -1;
    if (!opt_i64(c, j, "max-snapshot-age-ms", where, &r->max_snapshot_age_ms, &present)) return false;
    if (!present) r->max_snapshot_age_ms = -1;
    if (!opt_i32(c, j, "min-snapshots-to-keep", where, &r->min_snapshots_to_keep, &present)) return false;
    if (!present) r->min_snapshots_to_keep = -1;
    return true;
}

static bool parse_refs(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *refs = json_object_get(root, "refs");
    if (refs && !json_is_null(refs) && !json_is_object(refs))
        return mfail(c, NULL, "\"refs\" is %s; expected an object of references", kind_of(refs));
    size_t n = json_is_object(refs) ? json_object_size(refs) : 0;
    m->refs = arena_zalloc(c->a, (n + 1) * sizeof *m->refs);
    m->nrefs = 0;
    const char *name;
    json_t *v;
    if (json_is_object(refs)) json_object_foreach(refs, name, v) {
            if (!parse_ref(c, name, v, &m->refs[m->nrefs])) return false;
            m->nrefs++;
        }
    const ice_ref *main = ice_meta_ref(m, "main");
    if (main && (main->is_tag || main->snapshot_id != m->current_snapshot_id))
        return mfail(c, NULL,
                     "refs.main is a %s at snapshot %lld, but \"current-snapshot-id\" is %lld; main must be the branch "
                     "of the current snapshot",
                     main->is_tag ? "tag" : "branch", (long long)main->snapshot_id, (long long)m->current_snapshot_id);
    if (!main && m->current_snapshot_id != -1)
        m->refs[m->nrefs++] = (ice_ref){.name = "main",
                                        .snapshot_id = m->current_snapshot_id,
                                        .max_ref_age_ms = -1,
                                        .max_snapshot_age_ms = -1,
                                        .min_snapshots_to_keep = -1};
    return true;
}

/* ------------------------------------------------------------------- logs */

/* snapshot-log ({timestamp-ms, snapshot-id}) or metadata-log
 * ({timestamp-ms, metadata-file}). */
static bool parse_log(meta_ctx *c, json_t *root, const char *key, bool snapshots, ice_log_entry **out, int32_t *n) {
    json_t *arr;
    if (!get_array(c, root, key, NULL, false, &arr)) return false;
    *n = arr ? (int32_t)json_array_size(arr) : 0;
    *out = arena_zalloc(c->a, (*n ? (size_t)*n : 1) * sizeof **out);
    for (int32_t i = 0; i < *n; i++) {
        char where[48];
        snprintf(where, sizeof where, "%s[%d]", key, i);
        json_t *e = json_array_get(arr, (size_t)i);
        ice_log_entry *le = &(*out)[i];
        le->snapshot_id = -1;
        if (!json_is_object(e)) return mfail(c, where, "an entry is %s; expected an object", kind_of(e));
        if (!req_i64(c, e, "timestamp-ms", where, &le->timestamp_ms)) return false;
        if (snapshots ? !req_i64(c, e, "snapshot-id", where, &le->snapshot_id)
                      : !req_str(c, e, "metadata-file", where, &le->metadata_file))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ extra */

static const char *const known_keys[] = {
    "format-version",
    "table-uuid",
    "location",
    "last-sequence-number",
    "last-updated-ms",
    "last-column-id",
    "schema",
    "schemas",
    "current-schema-id",
    "partition-spec",
    "partition-specs",
    "default-spec-id",
    "last-partition-id",
    "sort-orders",
    "default-sort-order-id",
    "properties",
    "current-snapshot-id",
    "snapshots",
    "snapshot-log",
    "metadata-log",
    "refs",
};

static bool is_known(const char *k) {
    for (size_t i = 0; i < sizeof known_keys / sizeof *known_keys; i++)
        if (!strcmp(k, known_keys[i])) return true;
    return false;
}

static void keep_extra(meta_ctx *c, json_t *root, ice_table_meta *m) {
    json_t *extra = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) if (!is_known(k)) json_object_set(extra, k, v);
    if (json_object_size(extra)) {
        buf_t b = BUF_INIT;
        json_dump_buf(extra, &b);
        m->extra = arena_strndup(c->a, b.data, b.len);
        buf_free(&b);
    }
    json_decref(extra);
}

/* ------------------------------------------------------------------ parse */

static bool parse_root(meta_ctx *c, json_t *root, ice_table_meta *m) {
    if (!json_is_object(root)) return mfail(c, NULL, "table metadata is %s; expected a JSON object", kind_of(root));
    if (!req_i32(c, root, "format-version", NULL, &m->format_version)) return false;
    if (m->format_version < 1 || m->format_version > 2)
        return mfail(c, NULL, "\"format-version\" is %d; Floe reads Iceberg format versions 1 and 2",
                     m->format_version);
    c->version = m->format_version;
    bool present;
    if (!req_str(c, root, "location", NULL, &m->location) || !opt_str(c, root, "table-uuid", NULL, &m->table_uuid) ||
        !req_i64(c, root, "last-updated-ms", NULL, &m->last_updated_ms) ||
        !req_i32(c, root, "last-column-id", NULL, &m->last_column_id) ||
        !opt_i64(c, root, "last-sequence-number", NULL, &m->last_sequence_number, &present))
        return false;
    if (!m->table_uuid) {
        if (c->version > 1) return mfail(c, NULL, "\"table-uuid\" is missing; expected a string");
        m->table_uuid = new_uuid(c->a);
    }
    if (!present) {
        if (c->version > 1) return mfail(c, NULL, "\"last-sequence-number\" is missing; expected an integer");
        m->last_sequence_number = 0;
    }
    if (!parse_schemas(c, root, m) || !parse_specs(c, root, m) || !parse_sort_orders(c, root, m) ||
        !string_map(c, root, "properties", NULL, &m->properties, &m->nproperties) || !parse_snapshots(c, root, m) ||
        !parse_refs(c, root, m) || !parse_log(c, root, "snapshot-log", true, &m->snapshot_log, &m->nsnapshot_log) ||
        !parse_log(c, root, "metadata-log", false, &m->metadata_log, &m->nmetadata_log))
        return false;
    keep_extra(c, root, m);
    return true;
}

bool ice_meta_parse(const char *json, size_t n, const char *what, arena_t *a, ice_table_meta *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    meta_ctx c = {.what = what ? what : "table metadata", .a = a, .err = err};
    json_t *root = json_parse(json, n, c.what, err);
    if (!root) return false;
    bool ok = parse_root(&c, root, out);
    json_decref(root);
    if (!ok) memset(out, 0, sizeof *out);
    return ok;
}

/* ------------------------------------------------------------------ write */

/* A snapshot's JSON, written straight into out: a table with many
 * snapshots spent most of a small commit building and dumping jansson
 * trees for them. Summary keys are unique (they come from a JSON object
 * or from the commit that made the snapshot). */
static void put_key(buf_t *out, const char *key) {
    json_put_str(out, key, strlen(key));
    buf_putc(out, ':');
}

static void put_cstr(buf_t *out, const char *s) { json_put_str(out, s, strlen(s)); }

/* ,"key":n without printf */
static void put_int(buf_t *out, const char *key, int64_t v) {
    char d[24], *p = d + sizeof d;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    buf_putc(out, ',');
    put_key(out, key);
    buf_append(out, p, (size_t)(d + sizeof d - p));
}

static void snapshot_write(const ice_snapshot *s, buf_t *out) {
    size_t open = out->len;
    put_int(out, "sequence-number", s->sequence_number);
    out->data[open] = '{'; /* put_int led with a comma */
    put_int(out, "snapshot-id", s->snapshot_id);
    if (s->parent_id != -1) put_int(out, "parent-snapshot-id", s->parent_id);
    put_int(out, "timestamp-ms", s->timestamp_ms);
    if (s->operation || s->nsummary) {
        buf_puts(out, ",\"summary\":{");
        bool first = true;
        if (s->operation) {
            put_key(out, "operation");
            put_cstr(out, s->operation);
            first = false;
        }
        for (int32_t i = 0; i < s->nsummary; i++) {
            if (s->operation && !strcmp(s->summary[i].key, "operation")) continue;
            if (!first) buf_putc(out, ',');
            first = false;
            put_key(out, s->summary[i].key);
            put_cstr(out, s->summary[i].value);
        }
        buf_putc(out, '}');
    }
    if (s->manifest_list) {
        buf_putc(out, ',');
        put_key(out, "manifest-list");
        put_cstr(out, s->manifest_list);
    } else {
        buf_puts(out, ",\"manifests\":[");
        for (int32_t i = 0; i < s->nv1_manifests; i++) {
            if (i) buf_putc(out, ',');
            put_cstr(out, s->v1_manifests[i]);
        }
        buf_putc(out, ']');
    }
    if (s->schema_id != -1) put_int(out, "schema-id", s->schema_id);
    buf_putc(out, '}');
}

/* The tree of a snapshot, in snapshot_write's key order. */
static json_t *snapshot_tree(const ice_snapshot *s) {
    json_t *o = json_object();
    json_object_set_new(o, "sequence-number", json_integer(s->sequence_number));
    json_object_set_new(o, "snapshot-id", json_integer(s->snapshot_id));
    if (s->parent_id != -1) json_object_set_new(o, "parent-snapshot-id", json_integer(s->parent_id));
    json_object_set_new(o, "timestamp-ms", json_integer(s->timestamp_ms));
    if (s->operation || s->nsummary) {
        json_t *sum = json_object();
        if (s->operation) json_object_set_new(sum, "operation", json_string(s->operation));
        for (int32_t i = 0; i < s->nsummary; i++)
            if (!s->operation || strcmp(s->summary[i].key, "operation"))
                json_object_set_new(sum, s->summary[i].key, json_string(s->summary[i].value));
        json_object_set_new(o, "summary", sum);
    }
    if (s->manifest_list) {
        json_object_set_new(o, "manifest-list", json_string(s->manifest_list));
    } else {
        json_t *arr = json_array();
        for (int32_t i = 0; i < s->nv1_manifests; i++) json_array_append_new(arr, json_string(s->v1_manifests[i]));
        json_object_set_new(o, "manifests", arr);
    }
    if (s->schema_id != -1) json_object_set_new(o, "schema-id", json_integer(s->schema_id));
    return o;
}

static json_t *ref_to_json(const ice_ref *r) {
    json_t *o = json_object();
    json_object_set_new(o, "snapshot-id", json_integer(r->snapshot_id));
    json_object_set_new(o, "type", json_string(r->is_tag ? "tag" : "branch"));
    if (r->min_snapshots_to_keep != -1)
        json_object_set_new(o, "min-snapshots-to-keep", json_integer(r->min_snapshots_to_keep));
    if (r->max_snapshot_age_ms != -1)
        json_object_set_new(o, "max-snapshot-age-ms", json_integer(r->max_snapshot_age_ms));
    if (r->max_ref_age_ms != -1) json_object_set_new(o, "max-ref-age-ms", json_integer(r->max_ref_age_ms));
    return o;
}

static json_t *refs_to_json(const ice_table_meta *m) {
    json_t *refs = json_object();
    for (int32_t i = 0; i < m->nrefs; i++) json_object_set_new(refs, m->refs[i].name, ref_to_json(&m->refs[i]));
    if (m->current_snapshot_id != -1 && !json_object_get(refs, "main")) /* v2: always a main branch */
        json_object_set_new(refs, "main",
                            ref_to_json(&(ice_ref){.name = "main",
                                                   .snapshot_id = m->current_snapshot_id,
                                                   .max_ref_age_ms = -1,
                                                   .max_snapshot_age_ms = -1,
                                                   .min_snapshots_to_keep = -1}));
    return refs;
}

static json_t *log_to_json(const ice_log_entry *e, int32_t n, bool snapshots) {
    json_t *arr = json_array();
    for (int32_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "timestamp-ms", json_integer(e[i].timestamp_ms));
        if (snapshots)
            json_object_set_new(o, "snapshot-id", json_integer(e[i].snapshot_id));
        else
            json_object_set_new(o, "metadata-file", json_string(e[i].metadata_file ? e[i].metadata_file : ""));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The tree of everything but the snapshots and the logs, which grow with
 * the table's history. */
static json_t *meta_base_tree(const ice_table_meta *m) {
    json_t *o = json_object(), *arr;
    json_object_set_new(o, "format-version", json_integer(2));
    if (m->table_uuid) json_object_set_new(o, "table-uuid", json_string(m->table_uuid));
    json_object_set_new(o, "location", json_string(m->location ? m->location : ""));
    json_object_set_new(o, "last-sequence-number", json_integer(m->last_sequence_number));
    json_object_set_new(o, "last-updated-ms", json_integer(m->last_updated_ms));
    json_object_set_new(o, "last-column-id", json_integer(m->last_column_id));
    json_object_set_new(o, "current-schema-id", json_integer(m->current_schema_id));
    arr = json_array();
    for (int32_t i = 0; i < m->nschemas; i++) json_array_append_new(arr, ice_schema_to_json(&m->schemas[i]));
    json_object_set_new(o, "schemas", arr);
    json_object_set_new(o, "default-spec-id", json_integer(m->default_spec_id));
    arr = json_array();
    for (int32_t i = 0; i < m->nspecs; i++) json_array_append_new(arr, ice_spec_to_json(&m->specs[i]));
    json_object_set_new(o, "partition-specs", arr);
    json_object_set_new(o, "last-partition-id", json_integer(m->last_partition_id));
    json_object_set_new(o, "default-sort-order-id", json_integer(m->default_sort_order_id));
    arr = json_array();
    for (int32_t i = 0; i < m->nsort_orders; i++)
        json_array_append_new(arr, ice_sort_order_to_json(&m->sort_orders[i]));
    if (m->nsort_orders == 0) /* v2 requires one; the unsorted order */
        json_array_append_new(arr, ice_sort_order_to_json(&(ice_sort_order){0}));
    json_object_set_new(o, "sort-orders", arr);
    json_t *props = json_object();
    for (int32_t i = 0; i < m->nproperties; i++)
        json_object_set_new(props, m->properties[i].key, json_string(m->properties[i].value));
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "current-snapshot-id", json_integer(m->current_snapshot_id));
    json_object_set_new(o, "refs", refs_to_json(m));
    if (m->extra) { /* statistics and unknown keys, as read */
        json_t *extra = json_loads(m->extra, 0, NULL);
        const char *k;
        json_t *v;
        if (json_is_object(extra))
            json_object_foreach(extra, k, v) if (!json_object_get(o, k) && strcmp(k, "snapshots") &&
                                                 strcmp(k, "snapshot-log") && strcmp(k, "metadata-log"))
                json_object_set(o, k, v);
        json_decref(extra);
    }
    return o;
}

json_t *ice_meta_to_json(const ice_table_meta *m) {
    json_t *o = meta_base_tree(m), *arr = json_array();
    for (int32_t i = 0; i < m->nsnapshots; i++) json_array_append_new(arr, snapshot_tree(&m->snapshots[i]));
    json_object_set_new(o, "snapshots", arr);
    json_object_set_new(o, "snapshot-log", log_to_json(m->snapshot_log, m->nsnapshot_log, true));
    json_object_set_new(o, "metadata-log", log_to_json(m->metadata_log, m->nmetadata_log, false));
    return o;
}

void ice_meta_write(const ice_table_meta *m, buf_t *out) {
    json_t *o = meta_base_tree(m);
    /* the parts that grow with the table's history are written directly
     * after the tree's text: its closing brace gives way to them */
    json_dump_buf(o, out);
    json_decref(o);
    out->len--; /* '}' */
    buf_puts(out, ",\"snapshots\":[");
    for (int32_t i = 0; i < m->nsnapshots; i++) {
        if (i) buf_putc(out, ',');
        snapshot_write(&m->snapshots[i], out);
    }
    buf_puts(out, "],\"snapshot-log\":[");
    for (int32_t i = 0; i < m->nsnapshot_log; i++) {
        size_t open = out->len;
        put_int(out, "timestamp-ms", m->snapshot_log[i].timestamp_ms);
        out->data[open] = '{';
        put_int(out, "snapshot-id", m->snapshot_log[i].snapshot_id);
        buf_puts(out, i + 1 < m->nsnapshot_log ? "}," : "}");
    }
    buf_puts(out, "],\"metadata-log\":[");
    for (int32_t i = 0; i < m->nmetadata_log; i++) {
        const char *f = m->metadata_log[i].metadata_file;
        size_t open = out->len;
        put_int(out, "timestamp-ms", m->metadata_log[i].timestamp_ms);
        out->data[open] = '{';
        buf_putc(out, ',');
        put_key(out, "metadata-file");
        put_cstr(out, f ? f : "");
        buf_puts(out, i + 1 < m->nmetadata_log ? "}," : "}");
    }
    buf_puts(out, "]}");
}

/* ---------------------------------------------------------------- lookups */

const fmt_schema_t *ice_meta_schema(const ice_table_meta *m, int32_t schema_id) {
    for (int32_t i = 0; i < m->nschemas; i++)
        if (m->schemas[i].schema_id == schema_id) return &m->schemas[i];
    return NULL;
}

const fmt_schema_t *ice_meta_current_schema(const ice_table_meta *m) {
    return ice_meta_schema(m, m->current_schema_id);
}

const ice_partition_spec *ice_meta_spec(const ice_table_meta *m, int32_t spec_id) {
    for (int32_t i = 0; i < m->nspecs; i++)
        if (m->specs[i].spec_id == spec_id) return &m->specs[i];
    return NULL;
}

const ice_snapshot *ice_meta_snapshot(const ice_table_meta *m, int64_t snapshot_id) {
    for (int32_t i = 0; i < m->nsnapshots; i++)
        if (m->snapshots[i].snapshot_id == snapshot_id) return &m->snapshots[i];
    return NULL;
}

const ice_ref *ice_meta_ref(const ice_table_meta *m, const char *name) {
    for (int32_t i = 0; i < m->nrefs; i++)
        if (!strcmp(m->refs[i].name, name)) return &m->refs[i];
    return NULL;
}

const char *ice_meta_property(const ice_table_meta *m, const char *key) {
    for (int32_t i = 0; i < m->nproperties; i++)
        if (!strcmp(m->properties[i].key, key)) return m->properties[i].value;
    return NULL;
}
