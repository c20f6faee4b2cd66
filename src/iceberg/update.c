/*
 * update.c: the REST commit vocabulary applied to table metadata.
 *
 * ice_requirements_check tests a commit's requirements against the current
 * metadata; ice_updates_apply turns the current metadata and a list of
 * updates into the next metadata, doing the bookkeeping the Java
 * TableMetadata.Builder does: last-updated-ms, the metadata log (trimmed to
 * write.metadata.previous-versions-max), the snapshot log following main,
 * last-sequence-number, and refs and log entries of removed snapshots.
 *
 * The result shares unchanged parts with base: keep base's memory alive as
 * long as the result is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "iceberg/iceberg.h"

/* Grows an arena array by one element (copying), returning the new slot. */
#define ARR_PUSH(a, arr, n)                                                                                            \
    ({                                                                                                                 \
        __typeof__(arr) nv_ = arena_zalloc((a), ((size_t)(n) + 1) * sizeof *(arr));                                    \
        if ((n) > 0) memcpy(nv_, (arr), (size_t)(n) * sizeof *(arr));                                                  \
        (arr) = nv_;                                                                                                   \
        &(arr)[(n)++];                                                                                                 \
    })

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static bool jint(json_t *o, const char *k, const char *what, int64_t *out, floe_err *err) {
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return floe_err_set(err, FLOE_EINVAL, "%s: \"%s\" must be an integer", what, k);
    *out = json_integer_value(v);
    return true;
}

/* ================================================================ checks */

bool ice_requirements_check(const ice_table_meta *base, json_t *reqs, floe_err *err) {
    if (reqs && !json_is_array(reqs))
        return floe_err_set(err, FLOE_EINVAL, "commit requirements must be a JSON array of objects with a \"type\"");
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) {
        const char *type = jstr(r, "type");
        if (!type) return floe_err_set(err, FLOE_EINVAL, "commit requirement %zu has no \"type\"", i);
        if (!strcmp(type, "assert-create")) {
            if (base) return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: the table already exists");
            continue;
        }
        if (!base) return floe_err_set(err, FLOE_ECONFLICT, "requirement %s failed: the table does not exist", type);
        int64_t want = 0;
        if (!strcmp(type, "assert-table-uuid")) {
            const char *u = jstr(r, "uuid");
            if (!u) return floe_err_set(err, FLOE_EINVAL, "assert-table-uuid needs \"uuid\"");
            if (!str_eq_nocase(u, base->table_uuid))
                return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: table uuid is %s, expected %s",
                                    base->table_uuid, u);
        } else if (!strcmp(type, "assert-ref-snapshot-id")) {
            const char *ref = jstr(r, "ref");
            if (!ref) return floe_err_set(err, FLOE_EINVAL, "assert-ref-snapshot-id needs \"ref\"");
            json_t *sid = json_object_get(r, "snapshot-id");
            const ice_ref *cur = ice_meta_ref(base, ref);
            if (!sid || json_is_null(sid)) {
                if (cur)
                    return floe_err_set(err, FLOE_ECONFLICT,
                                        "requirement failed: branch or tag %s was created concurrently (now at %lld)",
                                        ref, (long long)cur->snapshot_id);
            } else {
                if (!json_is_integer(sid))
                    return floe_err_set(err, FLOE_EINVAL, "assert-ref-snapshot-id: \"snapshot-id\" must be an integer");
                if (!cur)
                    return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: branch or tag %s was removed", ref);
                if (cur->snapshot_id != json_integer_value(sid))
                    return floe_err_set(err, FLOE_ECONFLICT,
                                        "requirement failed: %s has changed: expected snapshot %lld, now %lld", ref,
                                        (long long)json_integer_value(sid), (long long)cur->snapshot_id);
            }
        } else if (!strcmp(type, "assert-last-assigned-field-id")) {
            if (!jint(r, "last-assigned-field-id", type, &want, err)) return false;
            if (base->last_column_id != want)
                return floe_err_set(err, FLOE_ECONFLICT,
                                    "requirement failed: last assigned field id is %d, expected %lld",
                                    base->last_column_id, (long long)want);
        } else if (!strcmp(type, "assert-current-schema-id")) {
            if (!jint(r, "current-schema-id", type, &want, err)) return false;
            if (base->current_schema_id != want)
                return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: current schema is %d, expected %lld",
                                    base->current_schema_id, (long long)want);
        } else if (!strcmp(type, "assert-last-assigned-partition-id")) {
            if (!jint(r, "last-assigned-partition-id", type, &want, err)) return false;
            if (base->last_partition_id != want)
                return floe_err_set(err, FLOE_ECONFLICT,
                                    "requirement failed: last assigned partition id is %d, expected %lld",
                                    base->last_partition_id, (long long)want);
        } else if (!strcmp(type, "assert-default-spec-id")) {
            if (!jint(r, "default-spec-id", type, &want, err)) return false;
            if (base->default_spec_id != want)
                return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: default spec is %d, expected %lld",
                                    base->default_spec_id, (long long)want);
        } else if (!strcmp(type, "assert-default-sort-order-id")) {
            if (!jint(r, "default-sort-order-id", type, &want, err)) return false;
            if (base->default_sort_order_id != want)
                return floe_err_set(err, FLOE_ECONFLICT, "requirement failed: default sort order is %d, expected %lld",
                                    base->default_sort_order_id, (long long)want);
        } else {
            return floe_err_set(err, FLOE_EINVAL,
                                "unknown commit requirement \"%s\" (known: assert-create, assert-table-uuid, "
                                "assert-ref-snapshot-id, assert-last-assigned-field-id, assert-current-schema-id, "
                                "assert-last-assigned-partition-id, assert-default-spec-id, "
                                "assert-default-sort-order-id)",
                                type);
        }
    }
    return true;
}

/* ============================================================ snapshots */

json_t *ice_snapshot_to_json(const ice_snapshot *s) {
    json_t *o = json_object();
    json_object_set_new(o, "snapshot-id", json_integer(s->snapshot_id));
    if (s->parent_id >= 0) json_object_set_new(o, "parent-snapshot-id", json_integer(s->parent_id));
    json_object_set_new(o, "sequence-number", json_integer(s->sequence_number));
    json_object_set_new(o, "timestamp-ms", json_integer(s->timestamp_ms));
    if (s->manifest_list) json_object_set_new(o, "manifest-list", json_string(s->manifest_list));
    if (s->nv1_manifests > 0) {
        json_t *m = json_array();
        for (int32_t i = 0; i < s->nv1_manifests; i++) json_array_append_new(m, json_string(s->v1_manifests[i]));
        json_object_set_new(o, "manifests", m);
    }
    json_t *sum = json_object();
    json_object_set_new(sum, "operation", json_string(s->operation ? s->operation : "append"));
    for (int32_t i = 0; i < s->nsummary; i++)
        if (strcmp(s->summary[i].key, "operation"))
            json_object_set_new(sum, s->summary[i].key, json_string(s->summary[i].value));
    json_object_set_new(o, "summary", sum);
    if (s->schema_id >= 0) json_object_set_new(o, "schema-id", json_integer(s->schema_id));
    return o;
}

bool ice_snapshot_from_json(json_t *j, arena_t *a, ice_snapshot *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!json_is_object(j)) return floe_err_set(err, FLOE_EINVAL, "a snapshot must be a JSON object");
    if (!jint(j, "snapshot-id", "snapshot", &out->snapshot_id, err)) return false;
    json_t *p = json_object_get(j, "parent-snapshot-id");
    out->parent_id = json_is_integer(p) ? json_integer_value(p) : -1;
    json_t *seq = json_object_get(j, "sequence-number");
    out->sequence_number = json_is_integer(seq) ? json_integer_value(seq) : 0;
    if (!jint(j, "timestamp-ms", "snapshot", &out->timestamp_ms, err)) return false;
    const char *ml = jstr(j, "manifest-list");
    out->manifest_list = ml ? arena_strdup(a, ml) : NULL;
    json_t *mans = json_object_get(j, "manifests");
    if (json_is_array(mans)) {
        out->nv1_manifests = (int32_t)json_array_size(mans);
        out->v1_manifests = arena_zalloc(a, (size_t)out->nv1_manifests * sizeof(char *) + 1);
        for (int32_t i = 0; i < out->nv1_manifests; i++) {
            const char *m = json_string_value(json_array_get(mans, (size_t)i));
            if (!m)
                return floe_err_set(err, FLOE_EINVAL, "snapshot %lld: \"manifests\" must hold strings",
                                    (long long)out->snapshot_id);
            out->v1_manifests[i] = arena_strdup(a, m);
        }
    }
    if (!out->manifest_list && !out->v1_manifests)
        return floe_err_set(err, FLOE_EINVAL, "snapshot %lld has neither \"manifest-list\" nor \"manifests\"",
                            (long long)out->snapshot_id);
    json_t *sum = json_object_get(j, "summary");
    if (json_is_object(sum)) {
        out->summary = arena_zalloc(a, (json_object_size(sum) + 1) * sizeof *out->summary);
        const char *k;
        json_t *v;
        json_object_foreach(sum, k, v) {
            if (!json_is_string(v)) continue;
            out->summary[out->nsummary].key = arena_strdup(a, k);
            out->summary[out->nsummary].value = arena_strdup(a, json_string_value(v));
            if (!strcmp(k, "operation")) out->operation = out->summary[out->nsummary].value;
            out->nsummary++;
        }
    }
    if (!out->operation) out->operation = "append";
    json_t *sid = json_object_get(j, "schema-id");
    out->schema_id = json_is_integer(sid) ? (int32_t)json_integer_value(sid) : -1;
    return true;
}

/* =============================================================== updates */

static void set_ref(ice_table_meta *m, arena_t *a, const ice_ref *r) {
    ice_ref *nv = arena_zalloc(a, ((size_t)m->nrefs + 1) * sizeof *nv);
    int32_t n = 0;
    bool replaced = false;
    for (int32_t i = 0; i < m->nrefs; i++) {
        if (!strcmp(m->refs[i].name, r->name)) {
            nv[n++] = *r;
            replaced = true;
        } else {
            nv[n++] = m->refs[i];
        }
    }
    if (!replaced) nv[n++] = *r;
    m->refs = nv;
    m->nrefs = n;
}

static void remove_ref(ice_table_meta *m, arena_t *a, const char *name) {
    ice_ref *nv = arena_zalloc(a, ((size_t)m->nrefs + 1) * sizeof *nv);
    int32_t n = 0;
    for (int32_t i = 0; i < m->nrefs; i++)
        if (strcmp(m->refs[i].name, name)) nv[n++] = m->refs[i];
    m->refs = nv;
    m->nrefs = n;
    if (!strcmp(name, "main")) m->current_snapshot_id = -1;
}

static void set_property(ice_table_meta *m, arena_t *a, const char *k, const char *v) {
    for (int32_t i = 0; i < m->nproperties; i++) {
        if (!strcmp(m->properties[i].key, k)) {
            ice_kv *nv = arena_alloc(a, (size_t)m->nproperties * sizeof *nv);
            memcpy(nv, m->properties, (size_t)m->nproperties * sizeof *nv);
            nv[i].value = arena_strdup(a, v);
            m->properties = nv;
            return;
        }
    }
    ice_kv *kv = ARR_PUSH(a, m->properties, m->nproperties);
    kv->key = arena_strdup(a, k);
    kv->value = arena_strdup(a, v);
}

static void remove_property(ice_table_meta *m, arena_t *a, const char *k) {
    ice_kv *nv = arena_zalloc(a, ((size_t)m->nproperties + 1) * sizeof *nv);
    int32_t n = 0;
    for (int32_t i = 0; i < m->nproperties; i++)
        if (strcmp(m->properties[i].key, k)) nv[n++] = m->properties[i];
    m->properties = nv;
    m->nproperties = n;
}

/* Drops log entries up to and including the last one whose snapshot is gone
 * (as Java does: the log stays a contiguous history of what exists). */
static void trim_snapshot_log(ice_table_meta *m, arena_t *a) {
    int32_t last_missing = -1;
    for (int32_t i = 0; i < m->nsnapshot_log; i++)
        if (!ice_meta_snapshot(m, m->snapshot_log[i].snapshot_id)) last_missing = i;
    if (last_missing < 0) return;
    int32_t n = m->nsnapshot_log - last_missing - 1;
    ice_log_entry *nv = arena_zalloc(a, ((size_t)n + 1) * sizeof *nv);
    memcpy(nv, m->snapshot_log + last_missing + 1, (size_t)n * sizeof *nv);
    m->snapshot_log = nv;
    m->nsnapshot_log = n;
}

static bool apply_one(ice_table_meta *m, json_t *u, size_t idx, int64_t now_ms, arena_t *a, int32_t *last_schema,
                      int32_t *last_spec, int32_t *last_order, int64_t *added_ids, int32_t *nadded, floe_err *err) {
    const char *action = jstr(u, "action");
    if (!action) return floe_err_set(err, FLOE_EINVAL, "commit update %zu has no \"action\"", idx);
    int64_t v = 0;
    if (!strcmp(action, "assign-uuid")) {
        const char *uuid = jstr(u, "uuid");
        if (!uuid) return floe_err_set(err, FLOE_EINVAL, "assign-uuid needs \"uuid\"");
        if (m->table_uuid && *m->table_uuid && !str_eq_nocase(m->table_uuid, uuid))
            return floe_err_set(err, FLOE_EINVAL, "assign-uuid: the table already has uuid %s", m->table_uuid);
        m->table_uuid = arena_strdup(a, uuid);
    } else if (!strcmp(action, "upgrade-format-version")) {
        if (!jint(u, "format-version", action, &v, err)) return false;
        if (v < m->format_version)
            return floe_err_set(err, FLOE_EINVAL, "upgrade-format-version: cannot downgrade from v%d to v%lld",
                                m->format_version, (long long)v);
        if (v > 2)
            return floe_err_set(err, FLOE_EINVAL,
                                "upgrade-format-version: Floe writes format versions 1 and 2, not %lld", (long long)v);
        m->format_version = (int32_t)v;
    } else if (!strcmp(action, "add-schema")) {
        fmt_schema_t s;
        if (!ice_schema_from_json(json_object_get(u, "schema"), a, &s, err)) return floe_err_wrap(err, "add-schema");
        /* reuse an identical schema's id, else take the next one */
        int32_t next = 0;
        for (int32_t i = 0; i < m->nschemas; i++)
            if (m->schemas[i].schema_id >= next) next = m->schemas[i].schema_id + 1;
        if (s.schema_id < 0 || ice_meta_schema(m, s.schema_id)) s.schema_id = next;
        fmt_schema_finish(&s);
        *ARR_PUSH(a, m->schemas, m->nschemas) = s;
        json_t *lc = json_object_get(u, "last-column-id");
        int32_t last = json_is_integer(lc) ? (int32_t)json_integer_value(lc) : s.max_field_id;
        if (last > m->last_column_id) m->last_column_id = last;
        if (s.max_field_id > m->last_column_id) m->last_column_id = s.max_field_id;
        *last_schema = s.schema_id;
    } else if (!strcmp(action, "set-current-schema")) {
        if (!jint(u, "schema-id", action, &v, err)) return false;
        if (v == -1) {
            if (*last_schema < 0)
                return floe_err_set(err, FLOE_EINVAL, "set-current-schema -1: no schema was added in this commit");
            v = *last_schema;
        }
        if (!ice_meta_schema(m, (int32_t)v))
            return floe_err_set(err, FLOE_EINVAL, "set-current-schema: no schema with id %lld", (long long)v);
        m->current_schema_id = (int32_t)v;
    } else if (!strcmp(action, "add-spec")) {
        ice_partition_spec s;
        if (!ice_spec_from_json(json_object_get(u, "spec"), a, &s, err)) return floe_err_wrap(err, "add-spec");
        int32_t next = 0;
        for (int32_t i = 0; i < m->nspecs; i++)
            if (m->specs[i].spec_id >= next) next = m->specs[i].spec_id + 1;
        if (s.spec_id < 0 || ice_meta_spec(m, s.spec_id)) s.spec_id = next;
        for (int32_t i = 0; i < s.nfields; i++)
            if (s.fields[i].field_id > m->last_partition_id) m->last_partition_id = s.fields[i].field_id;
        *ARR_PUSH(a, m->specs, m->nspecs) = s;
        *last_spec = s.spec_id;
    } else if (!strcmp(action, "set-default-spec")) {
        if (!jint(u, "spec-id", action, &v, err)) return false;
        if (v == -1) {
            if (*last_spec < 0) return floe_err_set(err, FLOE_EINVAL, "set-default-spec -1: no spec was added");
            v = *last_spec;
        }
        if (!ice_meta_spec(m, (int32_t)v))
            return floe_err_set(err, FLOE_EINVAL, "set-default-spec: no partition spec with id %lld", (long long)v);
        m->default_spec_id = (int32_t)v;
    } else if (!strcmp(action, "add-sort-order")) {
        ice_sort_order o;
        if (!ice_sort_order_from_json(json_object_get(u, "sort-order"), a, &o, err))
            return floe_err_wrap(err, "add-sort-order");
        int32_t next = 1;
        for (int32_t i = 0; i < m->nsort_orders; i++)
            if (m->sort_orders[i].order_id >= next) next = m->sort_orders[i].order_id + 1;
        if (o.nfields == 0)
            o.order_id = 0;
        else if (o.order_id <= 0)
            o.order_id = next;
        bool have = false;
        for (int32_t i = 0; i < m->nsort_orders; i++) have |= m->sort_orders[i].order_id == o.order_id;
        if (!have) *ARR_PUSH(a, m->sort_orders, m->nsort_orders) = o;
        *last_order = o.order_id;
    } else if (!strcmp(action, "set-default-sort-order")) {
        if (!jint(u, "sort-order-id", action, &v, err)) return false;
        if (v == -1) {
            if (*last_order < 0) return floe_err_set(err, FLOE_EINVAL, "set-default-sort-order -1: none was added");
            v = *last_order;
        }
        bool have = false;
        for (int32_t i = 0; i < m->nsort_orders; i++) have |= m->sort_orders[i].order_id == v;
        if (!have) return floe_err_set(err, FLOE_EINVAL, "set-default-sort-order: no sort order %lld", (long long)v);
        m->default_sort_order_id = (int32_t)v;
    } else if (!strcmp(action, "add-snapshot")) {
        ice_snapshot s;
        if (!ice_snapshot_from_json(json_object_get(u, "snapshot"), a, &s, err))
            return floe_err_wrap(err, "add-snapshot");
        if (ice_meta_snapshot(m, s.snapshot_id))
            return floe_err_set(err, FLOE_ECONFLICT, "add-snapshot: snapshot %lld already exists",
                                (long long)s.snapshot_id);
        if (m->format_version >= 2 && s.sequence_number <= m->last_sequence_number)
            return floe_err_set(err, FLOE_ECONFLICT,
                                "add-snapshot: sequence number %lld is not newer than the table's last, %lld "
                                "(a concurrent commit won; retry)",
                                (long long)s.sequence_number, (long long)m->last_sequence_number);
        if (s.sequence_number > m->last_sequence_number) m->last_sequence_number = s.sequence_number;
        *ARR_PUSH(a, m->snapshots, m->nsnapshots) = s;
        if (*nadded < 64) added_ids[(*nadded)++] = s.snapshot_id;
    } else if (!strcmp(action, "set-snapshot-ref")) {
        ice_ref r = {.max_ref_age_ms = -1, .max_snapshot_age_ms = -1, .min_snapshots_to_keep = -1};
        const char *name = jstr(u, "ref-name"), *type = jstr(u, "type");
        if (!name) return floe_err_set(err, FLOE_EINVAL, "set-snapshot-ref needs \"ref-name\"");
        if (!jint(u, "snapshot-id", action, &r.snapshot_id, err)) return false;
        r.name = arena_strdup(a, name);
        r.is_tag = type && !strcmp(type, "tag");
        if (type && strcmp(type, "tag") && strcmp(type, "branch"))
            return floe_err_set(err, FLOE_EINVAL, "set-snapshot-ref: \"type\" must be branch or tag, not %s", type);
        if (r.is_tag && !strcmp(name, "main"))
            return floe_err_set(err, FLOE_EINVAL, "set-snapshot-ref: main must be a branch");
        json_t *x;
        if (json_is_integer(x = json_object_get(u, "max-ref-age-ms"))) r.max_ref_age_ms = json_integer_value(x);
        if (json_is_integer(x = json_object_get(u, "max-snapshot-age-ms")))
            r.max_snapshot_age_ms = json_integer_value(x);
        if (json_is_integer(x = json_object_get(u, "min-snapshots-to-keep")))
            r.min_snapshots_to_keep = (int32_t)json_integer_value(x);
        const ice_snapshot *snap = ice_meta_snapshot(m, r.snapshot_id);
        if (!snap)
            return floe_err_set(err, FLOE_EINVAL, "set-snapshot-ref %s: no snapshot with id %lld", name,
                                (long long)r.snapshot_id);
        const ice_ref *old = ice_meta_ref(m, name);
        /* a no-op only when nothing changes, retention included (Java compares the whole ref) */
        if (old && old->snapshot_id == r.snapshot_id && old->is_tag == r.is_tag &&
            old->max_ref_age_ms == r.max_ref_age_ms && old->max_snapshot_age_ms == r.max_snapshot_age_ms &&
            old->min_snapshots_to_keep == r.min_snapshots_to_keep)
            return true;
        bool moved = !old || old->snapshot_id != r.snapshot_id;
        set_ref(m, a, &r);
        if (!strcmp(name, "main") && moved) {
            m->current_snapshot_id = r.snapshot_id;
            bool added = false;
            for (int32_t i = 0; i < *nadded; i++) added |= added_ids[i] == r.snapshot_id;
            ice_log_entry *e = ARR_PUSH(a, m->snapshot_log, m->nsnapshot_log);
            e->timestamp_ms = added ? snap->timestamp_ms : now_ms;
            e->snapshot_id = r.snapshot_id;
        }
    } else if (!strcmp(action, "remove-snapshots")) {
        json_t *ids = json_object_get(u, "snapshot-ids");
        if (!json_is_array(ids)) return floe_err_set(err, FLOE_EINVAL, "remove-snapshots needs \"snapshot-ids\"");
        ice_snapshot *nv = arena_zalloc(a, ((size_t)m->nsnapshots + 1) * sizeof *nv);
        int32_t n = 0;
        for (int32_t i = 0; i < m->nsnapshots; i++) {
            bool drop = false;
            size_t k;
            json_t *id;
            json_array_foreach(ids, k, id) drop |= json_integer_value(id) == m->snapshots[i].snapshot_id;
            if (!drop) nv[n++] = m->snapshots[i];
        }
        m->snapshots = nv;
        m->nsnapshots = n;
        /* refs to removed snapshots go too */
        for (int32_t i = 0; i < m->nrefs;) {
            if (!ice_meta_snapshot(m, m->refs[i].snapshot_id))
                remove_ref(m, a, m->refs[i].name);
            else
                i++;
        }
        trim_snapshot_log(m, a);
    } else if (!strcmp(action, "remove-snapshot-ref")) {
        const char *name = jstr(u, "ref-name");
        if (!name) return floe_err_set(err, FLOE_EINVAL, "remove-snapshot-ref needs \"ref-name\"");
        remove_ref(m, a, name);
    } else if (!strcmp(action, "set-location")) {
        const char *loc = jstr(u, "location");
        if (!loc) return floe_err_set(err, FLOE_EINVAL, "set-location needs \"location\"");
        m->location = arena_strdup(a, loc);
    } else if (!strcmp(action, "set-properties")) {
        json_t *ups = json_object_get(u, "updates");
        if (!json_is_object(ups)) return floe_err_set(err, FLOE_EINVAL, "set-properties needs an \"updates\" object");
        const char *k;
        json_t *val;
        json_object_foreach(ups, k, val) {
            if (!json_is_string(val))
                return floe_err_set(err, FLOE_EINVAL, "set-properties: the value of %s must be a string", k);
            set_property(m, a, k, json_string_value(val));
        }
    } else if (!strcmp(action, "remove-properties")) {
        json_t *rm = json_object_get(u, "removals");
        if (!json_is_array(rm)) return floe_err_set(err, FLOE_EINVAL, "remove-properties needs \"removals\"");
        size_t k;
        json_t *key;
        json_array_foreach(rm, k, key) if (json_is_string(key)) remove_property(m, a, json_string_value(key));
    } else if (!strcmp(action, "remove-partition-specs")) {
        json_t *ids = json_object_get(u, "spec-ids");
        if (!json_is_array(ids)) return floe_err_set(err, FLOE_EINVAL, "remove-partition-specs needs \"spec-ids\"");
        ice_partition_spec *nv = arena_zalloc(a, ((size_t)m->nspecs + 1) * sizeof *nv);
        int32_t n = 0;
        for (int32_t i = 0; i < m->nspecs; i++) {
            bool drop = false;
            size_t k;
            json_t *id;
            json_array_foreach(ids, k, id) drop |= json_integer_value(id) == m->specs[i].spec_id;
            if (drop && m->specs[i].spec_id == m->default_spec_id)
                return floe_err_set(err, FLOE_EINVAL, "remove-partition-specs: spec %d is the default",
                                    m->default_spec_id);
            if (!drop) nv[n++] = m->specs[i];
        }
        m->specs = nv;
        m->nspecs = n;
    } else {
        return floe_err_set(err, FLOE_EINVAL, "unsupported commit update \"%s\"", action);
    }
    return true;
}

bool ice_updates_apply(const ice_table_meta *base, const char *base_location, json_t *updates, int64_t now_ms,
                       arena_t *a, ice_table_meta *out, floe_err *err) {
    *out = *base;
    if (updates && !json_is_array(updates))
        return floe_err_set(err, FLOE_EINVAL, "commit updates must be a JSON array of objects with an \"action\"");
    int32_t last_schema = -1, last_spec = -1, last_order = -1, nadded = 0;
    int64_t added[64];
    size_t i;
    json_t *u;
    json_array_foreach(updates, i, u) {
        if (!apply_one(out, u, i, now_ms, a, &last_schema, &last_spec, &last_order, added, &nadded, err)) return false;
    }
    if (base_location) {
        ice_log_entry *e = ARR_PUSH(a, out->metadata_log, out->nmetadata_log);
        e->timestamp_ms = base->last_updated_ms;
        e->metadata_file = arena_strdup(a, base_location);
        const char *maxs = ice_meta_property(out, "write.metadata.previous-versions-max");
        int64_t max = 100;
        if (maxs && !str_to_i64_range(maxs, 1, INT32_MAX, &max))
            return floe_err_set(err, FLOE_EINVAL,
                                "table property write.metadata.previous-versions-max is '%s'; expected a positive "
                                "integer",
                                maxs);
        if (out->nmetadata_log > max) {
            out->metadata_log += out->nmetadata_log - max;
            out->nmetadata_log = (int32_t)max;
        }
    }
    out->last_updated_ms = now_ms > base->last_updated_ms ? now_ms : base->last_updated_ms;
    return true;
}
