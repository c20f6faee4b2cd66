/*
 * test_meta.c: table metadata JSON (src/iceberg/meta.c) and the JSON forms
 * of schemas, specs and sort orders (src/iceberg/schema_json.c).
 *
 * The metadata files are data under tests/unit/iceberg/data/meta/: the
 * Java reference's TableMetadataV2Valid.json and TableMetadataStatisticsFiles
 * .json, iceberg-rust's TableMetadataV1Valid.json and
 * TableMetadataV2MissingLastPartitionId.json, a v1 file Spark wrote (the
 * nyc/taxis table from iceberg-rust's tests), and v2_full.json, which uses
 * every type, nested types, several specs, sort orders, snapshots, refs
 * with retention, and both logs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "ice_test.h"

#define META_DIR "tests/unit/iceberg/data/meta/"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    buf_t b = BUF_INIT;
    char tmp[4096];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, k);
    fclose(f);
    *n = b.len;
    return buf_steal(&b);
}

static void parse_file(const char *name, arena_t *a, ice_table_meta *m) {
    size_t n;
    char *path = arena_sprintf(a, META_DIR "%s", name);
    char *text = slurp(path, &n);
    floe_err err = {0};
    cr_assert(ice_meta_parse(text, n, name, a, m, &err), "%s: %s", name, err.msg);
    free(text);
}

/* Parses text; returns the error message (empty when it parsed). */
static const char *parse_error(const char *text, const char *what, arena_t *a) {
    ice_table_meta m;
    floe_err err = {0};
    if (ice_meta_parse(text, strlen(text), what, a, &m, &err)) return "";
    cr_expect_eq(err.code, FLOE_EINVAL);
    return arena_strdup(a, err.msg);
}

static const char *written(const ice_table_meta *m, arena_t *a) {
    buf_t b = BUF_INIT;
    ice_meta_write(m, &b);
    const char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

/* write -> parse -> write gives the same bytes, for every file. */
Test(iceberg_meta, round_trip_is_byte_identical) {
    const char *files[] = {"v2_java_valid.json", "v1_valid.json", "v1_spark_taxis.json", "v2_java_statistics.json",
                           "v2_full.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        arena_t a;
        arena_init(&a, 0);
        ice_table_meta m, m2;
        parse_file(files[i], &a, &m);
        const char *once = written(&m, &a);
        floe_err err = {0};
        cr_assert(ice_meta_parse(once, strlen(once), "written", &a, &m2, &err), "%s written: %s\n%s", files[i], err.msg,
                  once);
        const char *twice = written(&m2, &a);
        cr_expect_str_eq(twice, once, "%s", files[i]);
        /* and what is written is v2 with every required key */
        json_t *j = json_loads(once, 0, NULL);
        cr_assert(j);
        cr_expect_eq(json_integer_value(json_object_get(j, "format-version")), 2);
        const char *required[] = {"table-uuid",        "location",        "last-sequence-number",
                                  "last-updated-ms",   "last-column-id",  "schemas",
                                  "current-schema-id", "partition-specs", "default-spec-id",
                                  "last-partition-id", "sort-orders",     "default-sort-order-id"};
        for (size_t k = 0; k < sizeof required / sizeof *required; k++)
            cr_expect(json_object_get(j, required[k]), "%s: written metadata lacks %s", files[i], required[k]);
        cr_expect_null(json_object_get(j, "schema"), "v2 omits the v1 schema key");
        cr_expect_null(json_object_get(j, "partition-spec"));
        json_decref(j);
        arena_free(&a);
    }
}

Test(iceberg_meta, java_v2_valid_reads_every_field) {
    arena_t a;
    arena_init(&a, 0);
    ice_table_meta m;
    parse_file("v2_java_valid.json", &a, &m);
    cr_expect_eq(m.format_version, 2);
    cr_expect_str_eq(m.table_uuid, "9c12d441-03fe-4693-9a96-a0705ddf69c1");
    cr_expect_str_eq(m.location, "s3://bucket/test/location");
    cr_expect_eq(m.last_sequence_number, 34);
    cr_expect_eq(m.last_updated_ms, 1602638573590LL);
    cr_expect_eq(m.last_column_id, 3);
    cr_expect_eq(m.nschemas, 2);
    const fmt_schema_t *s = ice_meta_current_schema(&m);
    cr_assert(s);
    cr_expect_eq(s->schema_id, 1);
    cr_assert_eq(s->root.nchildren, 3);
    cr_expect_str_eq(s->root.children[1].name, "y");
    cr_expect_str_eq(s->root.children[1].doc, "comment");
    cr_expect(s->root.children[2].required);
    cr_expect_eq(s->root.children[2].type, FMT_LONG);
    cr_expect_eq(s->max_field_id, 3);
    const ice_partition_spec *spec = ice_meta_spec(&m, 0);
    cr_assert(spec && spec->nfields == 1);
    cr_expect_eq(spec->fields[0].field_id, 1000);
    cr_expect_eq(spec->fields[0].transform.kind, ICE_TR_IDENTITY);
    cr_expect_eq(m.last_partition_id, 1000);
    cr_expect_eq(m.default_sort_order_id, 3);
    cr_assert_eq(m.nsort_orders, 1);
    const ice_sort_order *o = &m.sort_orders[0];
    cr_assert_eq(o->nfields, 2);
    cr_expect(!o->fields[0].descending && o->fields[0].nulls_first);
    cr_expect_eq(o->fields[1].transform.kind, ICE_TR_BUCKET);
    cr_expect_eq(o->fields[1].transform.param, 4);
    cr_expect(o->fields[1].descending && !o->fields[1].nulls_first);
    cr_expect_eq(m.current_snapshot_id, -1, "current-snapshot-id -1 is no snapshot");
    cr_expect_eq(m.nsnapshots, 0);
    cr_expect_eq(m.nrefs, 0, "no snapshot, so no main branch");
    cr_expect_null(m.extra);
    arena_free(&a);
}

Test(iceberg_meta, v1_is_upgraded_on_read) {
    arena_t a;
    arena_init(&a, 0);
    ice_table_meta m;
    parse_file("v1_valid.json", &a, &m);
    cr_expect_eq(m.format_version, 1);
    cr_expect_str_eq(m.table_uuid, "d20125c8-7284-442c-9aea-15fee620737c");
    cr_expect_eq(m.last_sequence_number, 0, "v1 has none: 0");
    cr_assert_eq(m.nschemas, 1, "\"schema\" becomes the one schema");
    cr_expect_eq(m.current_schema_id, 0);
    cr_expect_eq(m.schemas[0].root.nchildren, 3);
    cr_assert_eq(m.nspecs, 1, "\"partition-spec\" becomes spec 0");
    cr_expect_eq(m.default_spec_id, 0);
    cr_expect_eq(m.specs[0].fields[0].field_id, 1000);
    cr_expect_eq(m.last_partition_id, 1000, "the highest partition field id");
    cr_assert_eq(m.nsort_orders, 1, "the unsorted order");
    cr_expect_eq(m.sort_orders[0].order_id, 0);
    cr_expect_eq(m.sort_orders[0].nfields, 0);
    cr_expect_eq(m.current_snapshot_id, -1, "absent current-snapshot-id is no snapshot");
    cr_expect_eq(m.nrefs, 0);

    /* v1 fields without ids, no uuid, no sort orders, no last-partition-id */
    const char *bare = "{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":2,"
                       "\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":false,"
                       "\"type\":\"int\"},{\"id\":2,\"name\":\"b\",\"required\":false,\"type\":\"string\"}]},"
                       "\"partition-spec\":[{\"name\":\"a\",\"transform\":\"identity\",\"source-id\":1},"
                       "{\"name\":\"b_trunc\",\"transform\":\"truncate[3]\",\"source-id\":2}],"
                       "\"current-snapshot-id\":null}";
    floe_err err = {0};
    cr_assert(ice_meta_parse(bare, strlen(bare), "bare.json", &a, &m, &err), "%s", err.msg);
    cr_expect_eq(m.specs[0].fields[0].field_id, 1000);
    cr_expect_eq(m.specs[0].fields[1].field_id, 1001);
    cr_expect_eq(m.last_partition_id, 1001);
    cr_assert(m.table_uuid, "a uuid is assigned");
    cr_expect_eq(strlen(m.table_uuid), 36);
    cr_expect_eq(m.table_uuid[14], '4', "a version 4 uuid");
    cr_expect_eq(m.current_snapshot_id, -1, "null current-snapshot-id is no snapshot");
    /* a v1 table without partition fields: last-partition-id 999 */
    const char *unpart = "{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
                         "\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":false,"
                         "\"type\":\"int\"}]},\"partition-spec\":[]}";
    cr_assert(ice_meta_parse(unpart, strlen(unpart), "unpart.json", &a, &m, &err), "%s", err.msg);
    cr_expect_eq(m.last_partition_id, 999);
    arena_free(&a);
}

Test(iceberg_meta, spark_v1_table_with_a_snapshot) {
    arena_t a;
    arena_init(&a, 0);
    ice_table_meta m;
    parse_file("v1_spark_taxis.json", &a, &m);
    cr_expect_eq(m.current_snapshot_id, 638933773299822130LL);
    cr_assert_eq(m.nsnapshots, 1);
    const ice_snapshot *s = ice_meta_snapshot(&m, 638933773299822130LL);
    cr_assert(s);
    cr_expect_eq(s->sequence_number, 0);
    cr_expect_eq(s->parent_id, -1);
    cr_expect_eq(s->schema_id, 0);
    cr_expect_str_eq(s->operation, "append");
    cr_expect_eq(s->nsummary, 5);
    cr_expect_str_eq(s->summary[1].key, "spark.app.id");
    cr_expect(strstr(s->manifest_list, "snap-638933773299822130-1-"));
    const ice_ref *main = ice_meta_ref(&m, "main");
    cr_assert(main);
    cr_expect(!main->is_tag);
    cr_expect_eq(main->snapshot_id, 638933773299822130LL);
    cr_expect_eq(main->max_ref_age_ms, -1);
    cr_expect_str_eq(ice_meta_property(&m, "owner"), "root");
    cr_expect_null(ice_meta_property(&m, "nope"));
    cr_assert_eq(m.nsnapshot_log, 1);
    cr_expect_eq(m.snapshot_log[0].snapshot_id, 638933773299822130LL);
    cr_assert_eq(m.nmetadata_log, 1);
    cr_expect_eq(m.metadata_log[0].timestamp_ms, 1662532805245LL);
    cr_expect(strstr(m.metadata_log[0].metadata_file, "00000-8a62c37d"));
    arena_free(&a);
}

Test(iceberg_meta, full_v2_every_type_ref_and_log) {
    arena_t a;
    arena_init(&a, 0);
    ice_table_meta m;
    parse_file("v2_full.json", &a, &m);
    const fmt_schema_t *s = ice_meta_current_schema(&m);
    cr_assert(s);
    cr_assert_eq(s->nidentifier_ids, 1);
    cr_expect_eq(s->identifier_ids[0], 1);
    cr_expect_eq(s->max_field_id, 22);
    static const fmt_type types[] = {
        FMT_LONG,  FMT_TIMESTAMPTZ, FMT_STRING, FMT_DECIMAL,   FMT_DOUBLE,       FMT_BOOLEAN,        FMT_INT,
        FMT_FLOAT, FMT_DATE,        FMT_TIME,   FMT_TIMESTAMP, FMT_TIMESTAMP_NS, FMT_TIMESTAMPTZ_NS, FMT_UUID,
        FMT_FIXED, FMT_BINARY,      FMT_LIST,   FMT_MAP};
    cr_assert_eq(s->root.nchildren, 18);
    for (int i = 0; i < 18; i++) cr_expect_eq(s->root.children[i].type, types[i], "field %d", i + 1);
    const fmt_field_t *px = fmt_schema_find(s, 4);
    cr_expect(px->precision == 10 && px->scale == 2);
    cr_expect_eq(fmt_schema_find(s, 15)->length, 16);
    const fmt_field_t *tags = fmt_schema_find(s, 17);
    cr_expect_eq(tags->children[0].id, 19);
    cr_expect(tags->children[0].required);
    cr_expect_str_eq(tags->children[0].name, "element");
    const fmt_field_t *attrs = fmt_schema_find(s, 18);
    cr_expect_eq(attrs->children[0].id, 20);
    cr_expect(attrs->children[0].required, "map keys are required");
    cr_expect_eq(attrs->children[1].id, 21);
    cr_expect(!attrs->children[1].required);
    cr_expect_eq(attrs->children[1].type, FMT_STRUCT);
    cr_expect_eq(fmt_schema_find(s, 22)->precision, 38);
    cr_expect_str_eq(s->root.children[0].doc, "trade id");
    cr_expect_eq(ice_meta_schema(&m, 0)->root.nchildren, 2);

    const ice_partition_spec *spec = ice_meta_spec(&m, m.default_spec_id);
    cr_assert(spec && spec->nfields == 4);
    cr_expect_eq(spec->fields[0].transform.kind, ICE_TR_DAY);
    cr_expect_eq(spec->fields[1].transform.param, 16);
    cr_expect_eq(spec->fields[2].transform.kind, ICE_TR_TRUNCATE);
    cr_expect_eq(spec->fields[3].transform.kind, ICE_TR_VOID);
    cr_expect_null(ice_meta_spec(&m, 7));

    cr_expect_eq(m.nrefs, 3);
    const ice_ref *audit = ice_meta_ref(&m, "audit"), *tag = ice_meta_ref(&m, "v1.0");
    cr_assert(audit && tag);
    cr_expect_eq(audit->min_snapshots_to_keep, 2);
    cr_expect_eq(audit->max_snapshot_age_ms, 86400000);
    cr_expect_eq(audit->max_ref_age_ms, 604800000);
    cr_expect(tag->is_tag);
    cr_expect_eq(tag->max_ref_age_ms, 31536000000LL);
    cr_expect_eq(tag->min_snapshots_to_keep, -1);
    const ice_snapshot *cur = ice_meta_snapshot(&m, m.current_snapshot_id);
    cr_assert(cur);
    cr_expect_eq(cur->parent_id, 3055729675574597004LL);
    cr_expect_eq(cur->sequence_number, 3);
    cr_expect_str_eq(cur->operation, "overwrite");
    cr_expect_null(ice_meta_snapshot(&m, 42));
    cr_expect_eq(m.nsnapshot_log, 2);
    cr_expect_eq(m.nmetadata_log, 2);
    cr_expect_str_eq(ice_meta_property(&m, "commit.retry.num-retries"), "4");
    arena_free(&a);
}

/* statistics and keys Floe does not know survive a rewrite. */
Test(iceberg_meta, statistics_and_unknown_keys_are_kept) {
    arena_t a;
    arena_init(&a, 0);
    ice_table_meta m;
    parse_file("v2_java_statistics.json", &a, &m);
    cr_assert(m.extra);
    json_t *extra = json_loads(m.extra, 0, NULL);
    cr_assert(json_is_array(json_object_get(extra, "statistics")));
    json_decref(extra);
    const char *out = written(&m, &a);
    json_t *j = json_loads(out, 0, NULL);
    json_t *st = json_array_get(json_object_get(j, "statistics"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(st, "statistics-path")), "s3://a/b/stats.puffin");
    cr_expect_eq(json_integer_value(json_object_get(st, "file-footer-size-in-bytes")), 42);
    /* the current snapshot gets its main branch */
    json_t *main = json_object_get(json_object_get(j, "refs"), "main");
    cr_expect_eq(json_integer_value(json_object_get(main, "snapshot-id")), 3055729675574597004LL);
    cr_expect_str_eq(json_string_value(json_object_get(main, "type")), "branch");
    json_decref(j);
    arena_free(&a);
}

/* Every key v2 requires, removed in turn: the error names the file and
 * the key. */
Test(iceberg_meta, missing_required_keys_name_the_key_and_file) {
    size_t n;
    char *text = slurp(META_DIR "v2_full.json", &n);
    json_t *full = json_loadb(text, n, 0, NULL);
    cr_assert(full);
    free(text);
    const char *keys[] = {"format-version",   "table-uuid",      "location",    "last-sequence-number",
                          "last-updated-ms",  "last-column-id",  "schemas",     "current-schema-id",
                          "partition-specs",  "default-spec-id", "sort-orders", "default-sort-order-id",
                          "last-partition-id"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        arena_t a;
        arena_init(&a, 0);
        json_t *j = json_deep_copy(full);
        json_object_del(j, keys[i]);
        buf_t b = BUF_INIT;
        json_dump_buf(j, &b);
        const char *msg = parse_error(b.data, "t1.metadata.json", &a);
        cr_expect(strstr(msg, "t1.metadata.json: "), "%s: %s", keys[i], msg);
        cr_expect(strstr(msg, keys[i]), "missing %s: %s", keys[i], msg);
        buf_free(&b);
        json_decref(j);
        arena_free(&a);
    }
    /* and inside a snapshot */
    const char *snap_keys[] = {"snapshot-id", "timestamp-ms", "sequence-number", "manifest-list"};
    for (size_t i = 0; i < sizeof snap_keys / sizeof *snap_keys; i++) {
        arena_t a;
        arena_init(&a, 0);
        json_t *j = json_deep_copy(full);
        json_object_del(json_array_get(json_object_get(j, "snapshots"), 1), snap_keys[i]);
        buf_t b = BUF_INIT;
        json_dump_buf(j, &b);
        const char *msg = parse_error(b.data, "t2.metadata.json", &a);
        char *want = arena_sprintf(&a, "t2.metadata.json: snapshots[1]: \"%s\" is missing", snap_keys[i]);
        cr_expect(strstr(msg, want), "want '%s', got '%s'", want, msg);
        buf_free(&b);
        json_decref(j);
        arena_free(&a);
    }
    json_decref(full);

    arena_t a;
    arena_init(&a, 0);
    size_t m;
    char *t = slurp(META_DIR "v2_missing_last_partition_id.json", &m);
    const char *msg = parse_error(t, "v2_missing_last_partition_id.json", &a);
    cr_expect_str_eq(msg, "v2_missing_last_partition_id.json: \"last-partition-id\" is missing; expected an integer");
    free(t);
    arena_free(&a);
}

Test(iceberg_meta, bad_metadata_is_refused_with_the_place) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"[]", "t.json: table metadata is an array; expected a JSON object"},
        {"{\"format-version\":3}", "\"format-version\" is 3; Floe reads Iceberg format versions 1 and 2"},
        {"{\"format-version\":\"2\"}", "\"format-version\" is a string; expected an integer"},
        {"{", "t.json: invalid JSON"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,\"partition-spec\":[]}",
         "neither \"schemas\" nor \"schema\" is present"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
         "\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"varchar\"}]"
         "},"
         "\"partition-spec\":[]}",
         "t.json: schema: fields[0].type: type \"varchar\" is not one Floe reads"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
         "\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"int\"}]},"
         "\"partition-spec\":[],\"current-snapshot-id\":5}",
         "\"current-snapshot-id\" is 5, but \"snapshots\" has no snapshot with that id"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
         "\"schemas\":[{\"type\":\"struct\",\"schema-id\":4,\"fields\":[]}],\"current-schema-id\":3,"
         "\"partition-spec\":[]}",
         "\"current-schema-id\" is 3, but \"schemas\" has no schema with that id"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
         "\"schema\":{\"type\":\"struct\",\"fields\":[]},\"partition-spec\":[{\"name\":\"a\",\"source-id\":1}]}",
         "t.json: partition-spec: fields[0]: \"transform\" is missing; expected a string"},
        {"{\"format-version\":1,\"location\":\"/t\",\"last-updated-ms\":1,\"last-column-id\":1,"
         "\"schema\":{\"type\":\"struct\",\"fields\":[]},\"partition-spec\":[],\"properties\":{\"a\":1}}",
         "\"properties\".\"a\" is an integer; expected a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        arena_t a;
        arena_init(&a, 0);
        const char *msg = parse_error(cases[i].json, "t.json", &a);
        cr_expect(strstr(msg, cases[i].want), "case %zu: want '%s', got '%s'", i, cases[i].want, msg);
        arena_free(&a);
    }
}

/* A refs.main that disagrees with current-snapshot-id is refused; refs
 * without main get one for the current snapshot. */
Test(iceberg_meta, main_branch_follows_the_current_snapshot) {
    size_t n;
    char *text = slurp(META_DIR "v2_full.json", &n);
    json_t *full = json_loadb(text, n, 0, NULL);
    free(text);
    arena_t a;
    arena_init(&a, 0);
    json_t *j = json_deep_copy(full);
    json_object_set_new(json_object_get(json_object_get(j, "refs"), "main"), "snapshot-id",
                        json_integer(3055729675574597004LL));
    buf_t b = BUF_INIT;
    json_dump_buf(j, &b);
    cr_expect(strstr(parse_error(b.data, "t.json", &a), "refs.main is a branch at snapshot 3055729675574597004"));
    json_decref(j);

    j = json_deep_copy(full);
    json_object_del(json_object_get(j, "refs"), "main");
    buf_reset(&b);
    json_dump_buf(j, &b);
    ice_table_meta m;
    floe_err err = {0};
    cr_assert(ice_meta_parse(b.data, b.len, "t.json", &a, &m, &err), "%s", err.msg);
    cr_assert(ice_meta_ref(&m, "main"));
    cr_expect_eq(ice_meta_ref(&m, "main")->snapshot_id, m.current_snapshot_id);
    json_decref(j);

    j = json_deep_copy(full);
    json_object_set_new(j, "current-snapshot-id", json_integer(-1));
    json_object_del(json_object_get(j, "refs"), "main");
    buf_reset(&b);
    json_dump_buf(j, &b);
    cr_assert(ice_meta_parse(b.data, b.len, "t.json", &a, &m, &err), "%s", err.msg);
    cr_expect_eq(m.current_snapshot_id, -1);
    cr_expect_null(ice_meta_ref(&m, "main"));
    const char *out = written(&m, &a);
    cr_expect(strstr(out, "\"current-snapshot-id\":-1"), "%s", out);
    json_decref(j);
    buf_free(&b);
    json_decref(full);
    arena_free(&a);
}

/* ---------------------------------------------------------- schema JSON */

Test(iceberg_meta, schema_json_both_ways) {
    arena_t a;
    arena_init(&a, 0);
    fmt_schema_t *s = ice_test_schema(
        &a, "id long not null, ts timestamptz, px decimal(10,2), tags list<string not null>, attrs map<string, long>, "
            "pt struct<x: double not null, y: double>, h fixed[16], u uuid, d date, t time, n timestamp_ns");
    s->schema_id = 7;
    s->root.children[0].doc = "the \"id\"";
    json_t *j = ice_schema_to_json(s);
    buf_t b = BUF_INIT;
    json_dump_buf(j, &b);
    cr_expect(strstr(b.data, "{\"type\":\"struct\",\"schema-id\":7,\"fields\":[{\"id\":1,\"name\":\"id\",\"required\":"
                             "true,\"type\":\"long\",\"doc\":\"the \\\"id\\\"\"}"),
              "%s", b.data);
    cr_expect(strstr(b.data, "\"type\":\"decimal(10, 2)\""), "%s", b.data);
    cr_expect(strstr(b.data, "{\"type\":\"list\",\"element-id\":12,\"element\":\"string\",\"element-required\":true}"),
              "%s", b.data);
    cr_expect(strstr(b.data, "{\"type\":\"map\",\"key-id\":13,\"key\":\"string\",\"value-id\":14,\"value\":\"long\","
                             "\"value-required\":false}"),
              "%s", b.data);
    cr_expect(strstr(b.data, "\"fixed[16]\""));
    fmt_schema_t back;
    floe_err err = {0};
    cr_assert(ice_schema_from_json(j, &a, &back, &err), "%s", err.msg);
    json_t *j2 = ice_schema_to_json(&back);
    buf_t b2 = BUF_INIT;
    json_dump_buf(j2, &b2);
    cr_expect_str_eq(b2.data, b.data);
    buf_t t1 = BUF_INIT, t2 = BUF_INIT;
    fmt_schema_format(s, &t1);
    fmt_schema_format(&back, &t2);
    cr_expect_str_eq(t2.data, t1.data);
    cr_expect_eq(back.max_field_id, s->max_field_id);
    cr_expect_eq(back.schema_id, 7);
    /* "decimal(9,2)" without the space reads too */
    json_t *dj = json_loads("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,"
                            "\"type\":\"decimal(9,2)\"}]}",
                            0, NULL);
    cr_assert(ice_schema_from_json(dj, &a, &back, &err), "%s", err.msg);
    cr_expect(back.root.children[0].precision == 9 && back.root.children[0].scale == 2);
    json_decref(dj);
    buf_free(&b), buf_free(&b2), buf_free(&t1), buf_free(&t2);
    json_decref(j), json_decref(j2);
    arena_free(&a);
}

Test(iceberg_meta, schema_json_errors_name_the_path) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":\"decimal(39,2)\"}]}",
         "fields[0].type: type \"decimal(39,2)\" is not a decimal Iceberg knows"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":\"fixed[0]\"}]}",
         "fields[0].type: type \"fixed[0]\" is not valid"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":{\"type\":\"list\","
         "\"element-id\":2,\"element\":{\"type\":\"struct\",\"fields\":[{\"id\":3,\"name\":\"q\",\"required\":1,"
         "\"type\":\"int\"}]},\"element-required\":true}}]}",
         "fields[0].type.element.fields[0]: \"required\" is an integer; expected true or false"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":{\"type\":\"map\","
         "\"key-id\":2,\"key\":\"string\",\"value\":\"int\",\"value-required\":true}}]}",
         "fields[0].type: \"value-id\" is missing; expected an integer"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":\"int\"},"
         "{\"id\":1,\"name\":\"q\",\"required\":false,\"type\":\"int\"}]}",
         "field id 1 is used twice"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":\"int\"},"
         "{\"id\":2,\"name\":\"p\",\"required\":false,\"type\":\"int\"}]}",
         "two fields are named \"p\""},
        {"{\"type\":\"struct\",\"identifier-field-ids\":[9],\"fields\":[]}",
         "\"identifier-field-ids\" names field 9, which the schema does not have"},
        {"{\"type\":\"record\",\"fields\":[]}", "schema \"type\" is record; expected \"struct\""},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"p\",\"required\":false,\"type\":\"variant\"}]}",
         "type \"variant\" is not one Floe reads"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        arena_t a;
        arena_init(&a, 0);
        json_t *j = json_loads(cases[i].json, 0, NULL);
        cr_assert(j, "case %zu is not JSON", i);
        fmt_schema_t s;
        floe_err err = {0};
        cr_expect(!ice_schema_from_json(j, &a, &s, &err), "case %zu parsed", i);
        cr_expect(strstr(err.msg, cases[i].want), "case %zu: want '%s', got '%s'", i, cases[i].want, err.msg);
        json_decref(j);
        arena_free(&a);
    }
}

Test(iceberg_meta, specs_and_sort_orders_both_ways) {
    arena_t a;
    arena_init(&a, 0);
    const char *spec_text = "{\"spec-id\":2,\"fields\":[{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,"
                            "\"field-id\":1000},{\"name\":\"x\",\"transform\":\"zorder\",\"source-id\":1,"
                            "\"field-id\":1001}]}";
    json_t *j = json_loads(spec_text, 0, NULL);
    ice_partition_spec spec;
    floe_err err = {0};
    cr_assert(ice_spec_from_json(j, &a, &spec, &err), "%s", err.msg);
    cr_expect_eq(spec.spec_id, 2);
    cr_expect_eq(spec.fields[1].transform.kind, ICE_TR_UNKNOWN, "an unknown transform is kept");
    json_t *back = ice_spec_to_json(&spec);
    buf_t b = BUF_INIT;
    json_dump_buf(back, &b);
    cr_expect_str_eq(b.data, spec_text, "written as read (unknown transform text too)");
    json_decref(j), json_decref(back);

    const char *order_text = "{\"order-id\":1,\"fields\":[{\"transform\":\"truncate[2]\",\"source-id\":3,"
                             "\"direction\":\"desc\",\"null-order\":\"nulls-first\"}]}";
    j = json_loads(order_text, 0, NULL);
    ice_sort_order o;
    cr_assert(ice_sort_order_from_json(j, &a, &o, &err), "%s", err.msg);
    back = ice_sort_order_to_json(&o);
    buf_reset(&b);
    json_dump_buf(back, &b);
    cr_expect_str_eq(b.data, order_text);
    json_decref(j), json_decref(back);

    j = json_loads("{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":3,\"direction\":\"up\","
                   "\"null-order\":\"nulls-first\"}]}",
                   0, NULL);
    cr_expect(!ice_sort_order_from_json(j, &a, &o, &err));
    cr_expect(strstr(err.msg, "fields[0]: \"direction\" is \"up\"; expected \"asc\" or \"desc\""), "%s", err.msg);
    json_decref(j);
    j = json_loads("[{\"name\":\"a\",\"transform\":\"identity\",\"source-id\":1},{\"name\":\"a\","
                   "\"transform\":\"identity\",\"source-id\":2}]",
                   0, NULL);
    cr_expect(!ice_spec_from_json(j, &a, &spec, &err));
    cr_expect(strstr(err.msg, "fields[1]: field-id 1001 is used twice") || strstr(err.msg, "fields[1]: two partition"),
              "%s", err.msg);
    json_decref(j);
    buf_free(&b);
    arena_free(&a);
}

/* Snapshots and logs are written without a jansson tree: the text must be
 * what jansson itself would print (same escapes, same key order), with
 * awkward strings in the summary and paths surviving a round trip. */
Test(iceberg_meta, snapshots_written_as_jansson_writes_them) {
    const char *files[] = {"v2_full.json", "v1_spark_taxis.json", "v2_java_statistics.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        arena_t a;
        arena_init(&a, 0);
        ice_table_meta m, m2;
        parse_file(files[i], &a, &m);
        if (m.nsnapshots > 0) {
            ice_snapshot *s = &m.snapshots[0];
            ice_kv *sum = arena_alloc(&a, ((size_t)s->nsummary + 2) * sizeof *sum);
            if (s->nsummary) memcpy(sum, s->summary, (size_t)s->nsummary * sizeof *sum);
            sum[s->nsummary++] = (ice_kv){"note \"q\"", "line\none\ttab \\ back \x1f \xc3\xa9t\xc3\xa9 /"};
            s->summary = sum;
        }
        const char *once = written(&m, &a);
        json_t *j = json_loads(once, 0, NULL);
        cr_assert(j, "%s: written metadata is not JSON", files[i]);
        char *again = json_dumps(j, JSON_COMPACT);
        cr_expect_str_eq(once, again, "%s", files[i]);
        free(again);
        /* the tree the REST catalog answers with is the same document */
        json_t *tree = ice_meta_to_json(&m);
        char *tree_text = json_dumps(tree, JSON_COMPACT);
        cr_expect_str_eq(once, tree_text, "%s: ice_meta_to_json differs from ice_meta_write", files[i]);
        free(tree_text);
        json_decref(tree);
        json_decref(j);
        floe_err err = {0};
        cr_assert(ice_meta_parse(once, strlen(once), "written", &a, &m2, &err), "%s: %s", files[i], err.msg);
        cr_assert_eq(m2.nsnapshots, m.nsnapshots);
        cr_assert_eq(m2.nsnapshot_log, m.nsnapshot_log);
        cr_assert_eq(m2.nmetadata_log, m.nmetadata_log);
        if (m.nsnapshots > 0) {
            const ice_snapshot *s = &m2.snapshots[0];
            bool found = false;
            for (int32_t k = 0; k < s->nsummary; k++)
                if (!strcmp(s->summary[k].key, "note \"q\"")) {
                    found = true;
                    cr_expect_str_eq(s->summary[k].value, "line\none\ttab \\ back \x1f \xc3\xa9t\xc3\xa9 /");
                }
            cr_assert(found, "%s: the added summary key is lost", files[i]);
        }
        arena_free(&a);
    }
}
