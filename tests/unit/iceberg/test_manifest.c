/*
 * test_manifest.c: manifests and manifest lists (src/iceberg/manifest.c):
 * every field written and read back, the Avro schema Java writes (record
 * names, field ids, key-value metadata), snapshot-id and sequence-number
 * inheritance, partition summaries, files shaped as Java writes v1
 * manifests and manifest lists (tests/unit/iceberg/data/manifest/: an Avro
 * schema and records in the Avro JSON encoding, with a field from a later
 * writer that must be skipped), and malformed input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "format/avro/avro.h"
#include "ice_test.h"

#define DATA "tests/unit/iceberg/data/"

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

/* The test table: a schema and a spec over it. */
typedef struct fixture {
    arena_t a;
    fmt_schema_t *schema;
    ice_partition_spec spec;
} fixture;

static void fixture_init(fixture *fx, const char *spec_json) {
    arena_init(&fx->a, 0);
    fx->schema = ice_test_schema(&fx->a, "id long not null, ts timestamptz not null, symbol string, "
                                         "px decimal(10,2), u uuid, score double, d date");
    json_t *j = json_loads(spec_json, 0, NULL);
    cr_assert(j);
    floe_err err = {0};
    cr_assert(ice_spec_from_json(j, &fx->a, &fx->spec, &err), "%s", err.msg);
    json_decref(j);
}

static const char *SPEC = "{\"spec-id\":1,\"fields\":["
                          "{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1000},"
                          "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,\"field-id\":1001},"
                          "{\"name\":\"symbol\",\"transform\":\"identity\",\"source-id\":3,\"field-id\":1002},"
                          "{\"name\":\"px\",\"transform\":\"identity\",\"source-id\":4,\"field-id\":1003},"
                          "{\"name\":\"u\",\"transform\":\"identity\",\"source-id\":5,\"field-id\":1004},"
                          "{\"name\":\"score\",\"transform\":\"identity\",\"source-id\":6,\"field-id\":1005}]}";

static ice_value *tuple(fixture *fx, int day, int bucket, const char *sym, const char *px, const char *u,
                        double score) {
    ice_value *t = arena_zalloc(&fx->a, 6 * sizeof *t);
    t[0] = ice_value_long(FMT_DATE, day);
    t[1] = ice_value_long(FMT_INT, bucket);
    t[2] = sym ? ice_value_str(arena_strdup(&fx->a, sym)) : ice_value_null(FMT_STRING);
    t[3] = px ? ice_test_value(&fx->a, "decimal(10,2)", px) : ice_value_null(FMT_DECIMAL);
    t[4] = u ? ice_test_value(&fx->a, "uuid", u) : ice_value_null(FMT_UUID);
    t[5] = ice_value_double(FMT_DOUBLE, score);
    for (int i = 0; i < 6; i++)
        ice_value_set_type(&t[i], &(fmt_field_t){.type = t[i].type, .precision = 10, .scale = 2});
    return t;
}

static const uint8_t LOW[8] = {1, 0, 0, 0, 0, 0, 0, 0}, HIGH[8] = {0xff, 0, 0, 0, 0, 0, 0, 0};

/* Three entries: added (inheriting everything, every stat), existing (null
 * partition values, a NaN) and deleted. */
static ice_manifest_entry *three_entries(fixture *fx) {
    ice_manifest_entry *e = arena_zalloc(&fx->a, 3 * sizeof *e);
    ice_data_file *f = &e[0].file;
    e[0] = (ice_manifest_entry){
        .status = ICE_STATUS_ADDED, .snapshot_id = -1, .sequence_number = -1, .file_sequence_number = -1};
    f->content = ICE_CONTENT_DATA;
    f->file_path = "s3://b/t/data/ts_day=2024-01-01/a.parquet";
    f->file_format = "PARQUET";
    f->partition = tuple(fx, 19723, 5, "BTC", "14.20", "f79c3e09-677c-4bbd-a479-3f349cb785e7", 1.5);
    f->npartition = 6;
    f->record_count = 120;
    f->file_size_in_bytes = 4096;
    f->nstats = 2;
    f->stats = arena_zalloc(&fx->a, 2 * sizeof *f->stats);
    f->stats[0] = (ice_col_stats){.field_id = 1,
                                  .column_size = 100,
                                  .value_count = 120,
                                  .null_count = 0,
                                  .nan_count = -1,
                                  .lower = LOW,
                                  .upper = HIGH,
                                  .lower_len = 8,
                                  .upper_len = 8};
    f->stats[1] =
        (ice_col_stats){.field_id = 6, .column_size = 80, .value_count = 120, .null_count = 3, .nan_count = 2};
    static int64_t splits[] = {4, 70000};
    f->split_offsets = splits;
    f->nsplit_offsets = 2;
    f->sort_order_id = 1;

    e[1] = (ice_manifest_entry){
        .status = ICE_STATUS_EXISTING, .snapshot_id = 77, .sequence_number = 2, .file_sequence_number = 2};
    f = &e[1].file;
    f->file_path = "s3://b/t/data/b.parquet";
    f->file_format = "PARQUET";
    f->partition = tuple(fx, 19725, 0, NULL, NULL, NULL, NAN);
    f->npartition = 6;
    f->record_count = 7;
    f->file_size_in_bytes = 900;
    f->sort_order_id = -1;

    e[2] = (ice_manifest_entry){
        .status = ICE_STATUS_DELETED, .snapshot_id = 88, .sequence_number = 1, .file_sequence_number = 2};
    f = &e[2].file;
    f->file_path = "s3://b/t/data/c.parquet";
    f->file_format = "PARQUET";
    f->partition = tuple(fx, 19700, 15, "ADA", "-3.00", "00000000-0000-0000-0000-000000000001", -0.5);
    f->npartition = 6;
    f->record_count = 50;
    f->file_size_in_bytes = 2000;
    f->sort_order_id = 0;
    return e;
}

static void write_manifest(fixture *fx, const ice_manifest_entry *e, size_t n, buf_t *out, ice_manifest_file *sum) {
    floe_err err = {0};
    cr_assert(ice_manifest_write(NULL, fx->schema, &fx->spec, ICE_CONTENT_DATA, e, n, out, sum, &fx->a, &err), "%s",
              err.msg);
}

static void expect_same_file(const ice_data_file *got, const ice_data_file *want, int spec_id) {
    cr_expect_eq(got->content, want->content);
    cr_expect_str_eq(got->file_path, want->file_path);
    cr_expect_str_eq(got->file_format, want->file_format);
    cr_expect_eq(got->spec_id, spec_id);
    cr_expect_eq(got->record_count, want->record_count);
    cr_expect_eq(got->file_size_in_bytes, want->file_size_in_bytes);
    cr_assert_eq(got->npartition, want->npartition);
    for (int32_t i = 0; i < want->npartition; i++) {
        const ice_value *g = &got->partition[i], *w = &want->partition[i];
        cr_expect_eq(g->is_null, w->is_null, "%s partition %d", want->file_path, i);
        cr_expect_eq(g->type, w->type, "%s partition %d type", want->file_path, i);
        if (w->type == FMT_DOUBLE && isnan(w->v.f64))
            cr_expect(isnan(g->v.f64));
        else if (!w->is_null)
            cr_expect(ice_value_equal(g, w), "%s partition %d differs", want->file_path, i);
    }
    cr_assert_eq(got->nstats, want->nstats, "%s stats", want->file_path);
    for (int32_t i = 0; i < want->nstats; i++) {
        const ice_col_stats *g = &got->stats[i], *w = &want->stats[i];
        cr_expect_eq(g->field_id, w->field_id);
        cr_expect_eq(g->column_size, w->column_size);
        cr_expect_eq(g->value_count, w->value_count);
        cr_expect_eq(g->null_count, w->null_count);
        cr_expect_eq(g->nan_count, w->nan_count);
        cr_expect_eq(g->lower_len, w->lower_len);
        cr_expect_eq(g->upper_len, w->upper_len);
        cr_expect(!w->lower || (g->lower && !memcmp(g->lower, w->lower, w->lower_len)));
        cr_expect(!w->upper || (g->upper && !memcmp(g->upper, w->upper, w->upper_len)));
        cr_expect(w->lower || !g->lower);
    }
    cr_assert_eq(got->nsplit_offsets, want->nsplit_offsets);
    for (int32_t i = 0; i < want->nsplit_offsets; i++) cr_expect_eq(got->split_offsets[i], want->split_offsets[i]);
    cr_expect_eq(got->nequality_ids, want->nequality_ids);
    cr_expect_eq(got->sort_order_id, want->sort_order_id);
}

Test(iceberg_manifest, write_then_read_every_field) {
    fixture fx;
    fixture_init(&fx, SPEC);
    ice_manifest_entry *e = three_entries(&fx);
    buf_t file = BUF_INIT;
    ice_manifest_file sum;
    write_manifest(&fx, e, 3, &file, &sum);

    cr_expect_eq(sum.partition_spec_id, 1);
    cr_expect_eq(sum.content, ICE_CONTENT_DATA);
    cr_expect_eq(sum.added_files_count, 1);
    cr_expect_eq(sum.existing_files_count, 1);
    cr_expect_eq(sum.deleted_files_count, 1);
    cr_expect_eq(sum.added_rows_count, 120);
    cr_expect_eq(sum.existing_rows_count, 7);
    cr_expect_eq(sum.deleted_rows_count, 50);
    cr_expect_eq(sum.sequence_number, -1, "the caller's to fill");
    cr_expect_eq(sum.min_sequence_number, 2, "the lowest explicit number of a live entry");
    cr_expect_eq(sum.added_snapshot_id, -1);

    ice_manifest_file mf = {
        .partition_spec_id = 1, .sequence_number = 5, .min_sequence_number = 2, .added_snapshot_id = 99};
    ice_manifest_entry *got;
    size_t n;
    floe_err err = {0};
    cr_assert(ice_manifest_read(file.data, file.len, "m0.avro", &mf, NULL, &fx.a, &got, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 3);
    /* inheritance: the added entry takes the manifest's snapshot id and
     * sequence numbers; the others keep theirs */
    cr_expect_eq(got[0].status, ICE_STATUS_ADDED);
    cr_expect_eq(got[0].snapshot_id, 99);
    cr_expect_eq(got[0].sequence_number, 5);
    cr_expect_eq(got[0].file_sequence_number, 5);
    cr_expect_eq(got[1].status, ICE_STATUS_EXISTING);
    cr_expect_eq(got[1].snapshot_id, 77);
    cr_expect_eq(got[1].sequence_number, 2);
    cr_expect_eq(got[1].file_sequence_number, 2);
    cr_expect_eq(got[2].status, ICE_STATUS_DELETED);
    cr_expect_eq(got[2].snapshot_id, 88);
    cr_expect_eq(got[2].sequence_number, 1);
    cr_expect_eq(got[2].file_sequence_number, 2);
    for (int i = 0; i < 3; i++) expect_same_file(&got[i].file, &e[i].file, 1);

    /* without the manifest's list entry nothing can be inherited */
    cr_assert(ice_manifest_read(file.data, file.len, "m0.avro", NULL, NULL, &fx.a, &got, &n, &err), "%s", err.msg);
    cr_expect_eq(got[0].snapshot_id, -1);
    cr_expect_eq(got[0].sequence_number, -1);
    cr_expect_eq(got[0].file_sequence_number, -1);
    cr_expect_eq(got[0].file.spec_id, 1, "from the file's partition-spec-id");
    cr_expect_eq(got[1].sequence_number, 2);
    buf_free(&file);
    arena_free(&fx.a);
}

/* The partition summaries of a manifest: nulls, NaNs and bounds per field,
 * bounds in the single-value binary form. */
Test(iceberg_manifest, partition_summaries) {
    fixture fx;
    fixture_init(&fx, SPEC);
    buf_t file = BUF_INIT;
    ice_manifest_file sum;
    write_manifest(&fx, three_entries(&fx), 3, &file, &sum);
    cr_assert_eq(sum.npartitions, 6);
    const ice_field_summary *day = &sum.partitions[0], *sym = &sum.partitions[2], *score = &sum.partitions[5];
    cr_expect(!day->contains_null);
    cr_expect_eq(day->contains_nan, 0);
    cr_assert(day->lower && day->lower_len == 4);
    int32_t lo, hi;
    memcpy(&lo, day->lower, 4);
    memcpy(&hi, day->upper, 4);
    cr_expect_eq(lo, 19700, "deleted entries count too, as in Java");
    cr_expect_eq(hi, 19725);
    cr_expect(sym->contains_null);
    cr_expect(sym->lower_len == 3 && !memcmp(sym->lower, "ADA", 3));
    cr_expect(sym->upper_len == 3 && !memcmp(sym->upper, "BTC", 3));
    cr_expect_eq(score->contains_nan, 1);
    double dlo, dhi;
    cr_assert_eq(score->lower_len, 8);
    memcpy(&dlo, score->lower, 8);
    memcpy(&dhi, score->upper, 8);
    cr_expect(dlo == -0.5 && dhi == 1.5, "NaN is left out of the bounds");
    const ice_field_summary *px = &sum.partitions[3];
    cr_expect(px->contains_null);
    cr_expect(px->lower_len == 2 && px->lower[0] == 0xfe && px->lower[1] == 0xd4, "-3.00 is unscaled -300");
    buf_free(&file);
    arena_free(&fx.a);
}

/* The file's schema and metadata are what Java writes. */
Test(iceberg_manifest, avro_schema_and_metadata_match_java) {
    fixture fx;
    fixture_init(&fx, SPEC);
    buf_t file = BUF_INIT;
    write_manifest(&fx, three_entries(&fx), 3, &file, NULL);
    floe_err err = {0};
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "m.avro", &err);
    cr_assert(r, "%s", err.msg);
    cr_expect_eq(avro_reader_codec(r), AVRO_CODEC_DEFLATE);
    cr_expect_str_eq(avro_reader_meta_str(r, "format-version"), "2");
    cr_expect_str_eq(avro_reader_meta_str(r, "content"), "data");
    cr_expect_str_eq(avro_reader_meta_str(r, "partition-spec-id"), "1");
    cr_expect_str_eq(avro_reader_meta_str(r, "schema-id"), "0");
    cr_expect(strstr(avro_reader_meta_str(r, "partition-spec"),
                     "[{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1000},"));
    cr_expect(strstr(avro_reader_meta_str(r, "schema"), "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"));
    const char *schema = avro_reader_meta_str(r, "avro.schema");
    const char *want[] = {
        "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":[{\"name\":\"status\",\"type\":\"int\","
        "\"field-id\":0},{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},",
        "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":4}",
        "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":[{\"name\":\"content\","
        "\"type\":\"int\",\"doc\":\"Contents of the file: 0=data, 1=position deletes, 2=equality deletes\","
        "\"field-id\":134}",
        "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[{\"name\":\"ts_day\","
        "\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}],\"default\":null,\"field-id\":1000}",
        "{\"name\":\"px\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"decimal_10_2\",\"size\":5,"
        "\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}],\"default\":null,\"field-id\":1003}",
        "{\"name\":\"u\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"uuid_fixed\",\"size\":16,"
        "\"logicalType\":\"uuid\"}],\"default\":null,\"field-id\":1004}",
        "{\"name\":\"column_sizes\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\","
        "\"name\":\"k117_v118\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":117},{\"name\":"
        "\"value\",\"type\":\"long\",\"field-id\":118}]},\"logicalType\":\"map\"}],\"doc\":\"Map of column id to "
        "total size on disk\",\"default\":null,\"field-id\":108}",
        "\"name\":\"k138_v139\"",
        "\"name\":\"k126_v127\"",
        "\"name\":\"k129_v130\"",
        "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\",\"element-id\":133}]",
        "{\"type\":\"array\",\"items\":\"int\",\"element-id\":136}",
        "\"field-id\":140}]},\"field-id\":2}]}",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect(strstr(schema, want[i]), "the schema lacks %s\n%s", want[i], schema);
    avro_reader_free(r);
    buf_free(&file);
    arena_free(&fx.a);
}

Test(iceberg_manifest, write_refuses_what_the_spec_forbids) {
    fixture fx;
    fixture_init(&fx, SPEC);
    ice_manifest_entry *e = three_entries(&fx);
    buf_t file = BUF_INIT;
    floe_err err = {0};
    e[1].sequence_number = -1;
    cr_expect(!ice_manifest_write(NULL, fx.schema, &fx.spec, ICE_CONTENT_DATA, e, 3, &file, NULL, &fx.a, &err));
    cr_expect(strstr(err.msg, "manifest entry 1 (s3://b/t/data/b.parquet): an existing entry needs its data and file "
                              "sequence numbers"),
              "%s", err.msg);
    e[1].sequence_number = 2;
    e[0].file.npartition = 2;
    cr_expect(!ice_manifest_write(NULL, fx.schema, &fx.spec, ICE_CONTENT_DATA, e, 3, &file, NULL, &fx.a, &err));
    cr_expect(strstr(err.msg, "manifest entry 0 (s3://b/t/data/ts_day=2024-01-01/a.parquet): the partition tuple has "
                              "2 values; the spec has 6 fields"),
              "%s", err.msg);
    e[0].file.npartition = 6;
    e[0].file.partition[2] = ice_value_long(FMT_LONG, 3);
    cr_expect(!ice_manifest_write(NULL, fx.schema, &fx.spec, ICE_CONTENT_DATA, e, 3, &file, NULL, &fx.a, &err));
    cr_expect(strstr(err.msg, "partition field symbol is a string; the value is a long"), "%s", err.msg);
    e[0].file.partition[2] = ice_value_str("BTC");
    cr_expect(
        !ice_manifest_write(NULL, fx.schema, &fx.spec, ICE_CONTENT_EQUALITY_DELETES, e, 3, &file, NULL, &fx.a, &err));
    cr_expect(strstr(err.msg, "a data file cannot go in a delete manifest"), "%s", err.msg);
    cr_expect_eq(file.len, 0, "nothing written");
    buf_free(&file);
    arena_free(&fx.a);
}

/* Delete manifests: content "deletes", equality ids. */
Test(iceberg_manifest, delete_manifest_with_equality_ids) {
    fixture fx;
    fixture_init(&fx, "{\"spec-id\":0,\"fields\":[]}");
    ice_manifest_entry e = {
        .status = ICE_STATUS_ADDED, .snapshot_id = 5, .sequence_number = -1, .file_sequence_number = -1};
    int32_t ids[] = {1, 3};
    e.file = (ice_data_file){.content = ICE_CONTENT_EQUALITY_DELETES,
                             .file_path = "s3://b/t/data/eq.parquet",
                             .file_format = "PARQUET",
                             .record_count = 2,
                             .file_size_in_bytes = 300,
                             .equality_ids = ids,
                             .nequality_ids = 2,
                             .sort_order_id = -1};
    buf_t file = BUF_INIT;
    ice_manifest_file sum;
    floe_err err = {0};
    cr_assert(
        ice_manifest_write(NULL, fx.schema, &fx.spec, ICE_CONTENT_EQUALITY_DELETES, &e, 1, &file, &sum, &fx.a, &err),
        "%s", err.msg);
    cr_expect_eq(sum.content, ICE_CONTENT_POSITION_DELETES, "a deletes manifest (content 1)");
    cr_expect_eq(sum.npartitions, 0);
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "d.avro", &err);
    cr_expect_str_eq(avro_reader_meta_str(r, "content"), "deletes");
    cr_expect_str_eq(avro_reader_meta_str(r, "partition-spec"), "[]");
    avro_reader_free(r);
    ice_manifest_file mf = {.sequence_number = 9, .added_snapshot_id = 5, .content = ICE_CONTENT_POSITION_DELETES};
    ice_manifest_entry *got;
    size_t n;
    cr_assert(ice_manifest_read(file.data, file.len, "d.avro", &mf, NULL, &fx.a, &got, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_expect_eq(got[0].sequence_number, 9);
    cr_expect_eq(got[0].file.npartition, 0);
    expect_same_file(&got[0].file, &e.file, 0);
    cr_expect(got[0].file.equality_ids[0] == 1 && got[0].file.equality_ids[1] == 3);
    buf_free(&file);
    arena_free(&fx.a);
}

/* Partition names that are not Avro names are made into ones, as Java
 * does; they are read back by id. */
Test(iceberg_manifest, partition_names_are_made_avro_safe) {
    fixture fx;
    fixture_init(&fx, "{\"spec-id\":0,\"fields\":[{\"name\":\"ts-day\",\"transform\":\"day\",\"source-id\":2,"
                      "\"field-id\":1000},{\"name\":\"1sym\",\"transform\":\"identity\",\"source-id\":3,"
                      "\"field-id\":1001}]}");
    ice_manifest_entry e = {
        .status = ICE_STATUS_ADDED, .snapshot_id = -1, .sequence_number = -1, .file_sequence_number = -1};
    ice_value part[2] = {ice_value_long(FMT_DATE, 3), ice_value_str("X")};
    e.file = (ice_data_file){
        .file_path = "p", .file_format = "PARQUET", .partition = part, .npartition = 2, .sort_order_id = -1};
    buf_t file = BUF_INIT;
    write_manifest(&fx, &e, 1, &file, NULL);
    floe_err err = {0};
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "m.avro", &err);
    const char *schema = avro_reader_meta_str(r, "avro.schema");
    cr_expect(strstr(schema, "\"name\":\"ts_x2Dday\""), "%s", schema);
    cr_expect(strstr(schema, "\"name\":\"_1sym\""), "%s", schema);
    avro_reader_free(r);
    ice_manifest_entry *got;
    size_t n;
    cr_assert(ice_manifest_read(file.data, file.len, "m.avro", NULL, NULL, &fx.a, &got, &n, &err), "%s", err.msg);
    cr_expect_eq(got[0].file.partition[0].v.i64, 3);
    cr_expect(got[0].file.partition[1].len == 1 && got[0].file.partition[1].bytes[0] == 'X');
    buf_free(&file);
    arena_free(&fx.a);
}

Test(iceberg_manifest, manifest_list_round_trip) {
    arena_t a;
    arena_init(&a, 0);
    static const uint8_t lo[4] = {1, 2, 3, 4}, hi[3] = {'z', 'z', 'z'};
    ice_field_summary parts[2] = {
        {.contains_null = true, .contains_nan = -1, .lower = lo, .upper = lo, .lower_len = 4, .upper_len = 4},
        {.contains_null = false, .contains_nan = 0, .lower = hi, .upper = hi, .lower_len = 3, .upper_len = 3}};
    ice_manifest_file files[2] = {
        {.manifest_path = "s3://b/t/metadata/m0.avro",
         .manifest_length = 6000,
         .partition_spec_id = 1,
         .content = ICE_CONTENT_DATA,
         .sequence_number = -1,
         .min_sequence_number = -1,
         .added_snapshot_id = -1,
         .added_files_count = 2,
         .existing_files_count = 1,
         .deleted_files_count = 0,
         .added_rows_count = 200,
         .existing_rows_count = 7,
         .deleted_rows_count = 0,
         .partitions = parts,
         .npartitions = 2},
        {.manifest_path = "s3://b/t/metadata/old.avro",
         .manifest_length = 5000,
         .partition_spec_id = 0,
         .content = ICE_CONTENT_POSITION_DELETES,
         .sequence_number = 3,
         .min_sequence_number = 2,
         .added_snapshot_id = 41,
         .added_files_count = 0,
         .existing_files_count = 4,
         .deleted_files_count = 1,
         .added_rows_count = 0,
         .existing_rows_count = 40,
         .deleted_rows_count = 10},
    };
    buf_t file = BUF_INIT;
    floe_err err = {0};
    cr_assert(ice_manifest_list_write(42, -1, 7, files, 2, &file, &err), "%s", err.msg);
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "snap.avro", &err);
    cr_assert(r, "%s", err.msg);
    cr_expect_str_eq(avro_reader_meta_str(r, "snapshot-id"), "42");
    cr_expect_str_eq(avro_reader_meta_str(r, "parent-snapshot-id"), "null");
    cr_expect_str_eq(avro_reader_meta_str(r, "sequence-number"), "7");
    cr_expect_str_eq(avro_reader_meta_str(r, "format-version"), "2");
    const char *schema = avro_reader_meta_str(r, "avro.schema");
    cr_expect(strstr(schema, "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":[{\"name\":\"manifest_path\","
                             "\"type\":\"string\",\"doc\":\"Location URI with FS scheme\",\"field-id\":500}"),
              "%s", schema);
    cr_expect(strstr(schema,
                     "{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"
                     "\"record\",\"name\":\"r508\",\"fields\":[{\"name\":\"contains_null\",\"type\":\"boolean\","
                     "\"doc\":\"True if any file has a null partition value\",\"field-id\":509}"),
              "%s", schema);
    cr_expect(strstr(schema, "\"element-id\":508}],\"doc\":\"Summary for each partition\",\"default\":null,"
                             "\"field-id\":507}"),
              "%s", schema);
    avro_reader_free(r);

    ice_manifest_file *got;
    size_t n;
    cr_assert(ice_manifest_list_read(file.data, file.len, "snap.avro", &a, &got, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(got[0].manifest_path, "s3://b/t/metadata/m0.avro");
    cr_expect_eq(got[0].manifest_length, 6000);
    cr_expect_eq(got[0].partition_spec_id, 1);
    cr_expect_eq(got[0].content, ICE_CONTENT_DATA);
    cr_expect_eq(got[0].sequence_number, 7, "an unassigned number takes the snapshot's");
    cr_expect_eq(got[0].min_sequence_number, 7);
    cr_expect_eq(got[0].added_snapshot_id, 42);
    cr_expect_eq(got[0].added_files_count, 2);
    cr_expect_eq(got[0].existing_files_count, 1);
    cr_expect_eq(got[0].deleted_files_count, 0);
    cr_expect_eq(got[0].added_rows_count, 200);
    cr_expect_eq(got[0].existing_rows_count, 7);
    cr_assert_eq(got[0].npartitions, 2);
    cr_expect(got[0].partitions[0].contains_null);
    cr_expect_eq(got[0].partitions[0].contains_nan, -1);
    cr_expect(got[0].partitions[0].lower_len == 4 && !memcmp(got[0].partitions[0].lower, lo, 4));
    cr_expect_eq(got[0].partitions[1].contains_nan, 0);
    cr_expect(got[0].partitions[1].upper_len == 3 && !memcmp(got[0].partitions[1].upper, "zzz", 3));
    cr_expect_eq(got[1].content, ICE_CONTENT_POSITION_DELETES);
    cr_expect_eq(got[1].sequence_number, 3);
    cr_expect_eq(got[1].min_sequence_number, 2);
    cr_expect_eq(got[1].added_snapshot_id, 41);
    cr_expect_eq(got[1].deleted_rows_count, 10);
    cr_expect_eq(got[1].npartitions, 0);

    buf_reset(&file);
    cr_assert(ice_manifest_list_write(43, 42, 8, files, 1, &file, &err), "%s", err.msg);
    r = avro_reader_open((const uint8_t *)file.data, file.len, "snap2.avro", &err);
    cr_expect_str_eq(avro_reader_meta_str(r, "parent-snapshot-id"), "42");
    avro_reader_free(r);
    files[0].added_files_count = -1;
    cr_expect(!ice_manifest_list_write(43, 42, 8, files, 1, &file, &err));
    cr_expect(strstr(err.msg, "manifest list entry 0 (s3://b/t/metadata/m0.avro): a file or row count is unknown"),
              "%s", err.msg);
    buf_free(&file);
    arena_free(&a);
}

/* Writes the records of a .jsonl file (Avro JSON encoding) with the schema
 * of an .avsc file and the given metadata (key, value, ..., NULL). */
static void avro_from_data(const char *name, buf_t *out, ...) {
    size_t n;
    arena_t a;
    arena_init(&a, 0);
    char *schema_text = slurp(arena_sprintf(&a, DATA "manifest/%s.avsc", name), &n);
    floe_err err = {0};
    avro_schema_t *s = avro_schema_parse(schema_text, n, name, &err);
    cr_assert(s, "%s", err.msg);
    avro_writer_t *w = avro_writer_new(s, &(avro_writer_opts){.codec = AVRO_CODEC_DEFLATE}, &err);
    va_list ap;
    va_start(ap, out);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        cr_assert(avro_writer_meta_str(w, k, v, &err), "%s", err.msg);
    }
    va_end(ap);
    char *lines = slurp(arena_sprintf(&a, DATA "manifest/%s.jsonl", name), &n);
    for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, JSON_ALLOW_NUL, NULL);
        cr_assert(j, "%s: bad JSON line", name);
        avro_value_t *v = avro_value_from_json(&a, s->root, j, false, &err);
        cr_assert(v, "%s: %s", name, err.msg);
        cr_assert(avro_writer_append(w, v, &err), "%s: %s", name, err.msg);
        json_decref(j);
    }
    cr_assert(avro_writer_finish(w, out, &err), "%s", err.msg);
    avro_writer_free(w);
    avro_schema_free(s);
    free(lines);
    free(schema_text);
    arena_free(&a);
}

/* A manifest shaped as Java writes v1: no content, no sequence numbers,
 * snapshot_id required, block_size_in_bytes, and a field of a later
 * writer; decoded with the table's metadata. */
Test(iceberg_manifest, java_v1_manifest_reads) {
    arena_t a;
    arena_init(&a, 0);
    buf_t file = BUF_INIT;
    avro_from_data("java_v1_manifest", &file, "schema",
                   "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"vendor_id\",\"required\":"
                   "false,\"type\":\"long\"},{\"id\":2,\"name\":\"trip_id\",\"required\":false,\"type\":\"long\"}]}",
                   "partition-spec",
                   "[{\"name\":\"vendor_id\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000}]",
                   "partition-spec-id", "0", "format-version", "1", NULL);
    ice_manifest_file mf = {.partition_spec_id = 0, .sequence_number = 0, .added_snapshot_id = 638933773299822130LL};
    ice_manifest_entry *got;
    size_t n;
    floe_err err = {0};
    cr_assert(ice_manifest_read(file.data, file.len, "7e6760f0-m0.avro", &mf, NULL, &a, &got, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_expect_eq(got[0].status, ICE_STATUS_ADDED);
    cr_expect_eq(got[0].snapshot_id, 638933773299822130LL);
    cr_expect_eq(got[0].sequence_number, 0, "v1: sequence numbers are 0");
    cr_expect_eq(got[0].file_sequence_number, 0);
    cr_expect_eq(got[1].status, ICE_STATUS_EXISTING);
    cr_expect_eq(got[1].snapshot_id, 638933773299822100LL);
    cr_expect_eq(got[1].sequence_number, 0, "even for an existing entry, since the manifest's number is 0");
    const ice_data_file *f = &got[0].file;
    cr_expect_eq(f->content, ICE_CONTENT_DATA, "v1 files are data files");
    cr_expect_str_eq(f->file_path, "/home/iceberg/warehouse/nyc/taxis/data/vendor_id=1/00000-3-a.parquet");
    cr_expect_str_eq(f->file_format, "PARQUET");
    cr_expect_eq(f->record_count, 2);
    cr_expect_eq(f->file_size_in_bytes, 1500);
    cr_assert_eq(f->npartition, 1);
    cr_expect_eq(f->partition[0].type, FMT_LONG);
    cr_expect_eq(f->partition[0].v.i64, 1);
    cr_assert_eq(f->nstats, 2);
    cr_expect_eq(f->stats[0].field_id, 1);
    cr_expect_eq(f->stats[0].column_size, 52);
    cr_expect_eq(f->stats[0].value_count, 2);
    cr_expect_eq(f->stats[0].null_count, 0);
    cr_expect_eq(f->stats[0].nan_count, -1);
    cr_expect(f->stats[0].lower_len == 8 && f->stats[0].lower[0] == 1);
    cr_expect_eq(f->stats[1].null_count, 1);
    cr_expect_null(f->stats[1].lower);
    cr_expect(f->nsplit_offsets == 1 && f->split_offsets[0] == 4);
    cr_expect_eq(f->sort_order_id, 0);
    cr_expect(got[1].file.partition[0].is_null);
    cr_expect_eq(got[1].file.nstats, 0);
    cr_expect_eq(got[1].file.sort_order_id, -1);

    /* without metadata in the file, the table's spec and schema decode it;
     * without those, the Avro types do */
    buf_reset(&file);
    avro_from_data("java_v1_manifest", &file, NULL);
    size_t len;
    char *meta_text = slurp(DATA "meta/v1_spark_taxis.json", &len);
    ice_table_meta m;
    cr_assert(ice_meta_parse(meta_text, len, "v1_spark_taxis.json", &a, &m, &err), "%s", err.msg);
    free(meta_text);
    cr_assert(ice_manifest_read(file.data, file.len, "bare.avro", &mf, &m, &a, &got, &n, &err), "%s", err.msg);
    cr_expect_str_eq(got[0].file.partition[0].type == FMT_LONG ? "long" : "?", "long");
    cr_expect_eq(got[0].file.partition[0].v.i64, 1);
    cr_assert(ice_manifest_read(file.data, file.len, "bare.avro", NULL, NULL, &a, &got, &n, &err), "%s", err.msg);
    cr_expect_eq(got[0].file.partition[0].v.i64, 1);
    cr_expect_eq(got[0].sequence_number, 0, "a v1 manifest with nothing to inherit from: 0");
    buf_free(&file);
    arena_free(&a);
}

Test(iceberg_manifest, java_v1_manifest_list_reads) {
    arena_t a;
    arena_init(&a, 0);
    buf_t file = BUF_INIT;
    avro_from_data("java_v1_manifest_list", &file, "snapshot-id", "638933773299822130", "parent-snapshot-id", "null",
                   "format-version", "1", NULL);
    ice_manifest_file *got;
    size_t n;
    floe_err err = {0};
    cr_assert(ice_manifest_list_read(file.data, file.len, "snap-1.avro", &a, &got, &n, &err), "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(got[0].manifest_path, "/home/iceberg/warehouse/nyc/taxis/metadata/7e6760f0-m0.avro");
    cr_expect_eq(got[0].manifest_length, 6768);
    cr_expect_eq(got[0].content, ICE_CONTENT_DATA);
    cr_expect_eq(got[0].sequence_number, 0);
    cr_expect_eq(got[0].min_sequence_number, 0);
    cr_expect_eq(got[0].added_snapshot_id, 638933773299822130LL);
    cr_expect_eq(got[0].added_files_count, 1, "read by id from added_data_files_count");
    cr_expect_eq(got[0].existing_rows_count, 3);
    cr_assert_eq(got[0].npartitions, 1);
    cr_expect(got[0].partitions[0].contains_null);
    cr_expect_eq(got[0].partitions[0].contains_nan, -1);
    cr_expect_eq(got[0].partitions[0].lower_len, 8);
    cr_expect_eq(got[1].added_files_count, -1, "unknown in v1");
    cr_expect_eq(got[1].deleted_rows_count, -1);
    cr_expect_eq(got[1].npartitions, 0);
    buf_free(&file);
    arena_free(&a);
}

Test(iceberg_manifest, malformed_input_fails_naming_the_file) {
    fixture fx;
    fixture_init(&fx, SPEC);
    buf_t manifest = BUF_INIT, list = BUF_INIT;
    write_manifest(&fx, three_entries(&fx), 3, &manifest, NULL);
    ice_manifest_file mf = {.manifest_path = "m", .added_files_count = 1};
    floe_err err = {0};
    cr_assert(ice_manifest_list_write(1, -1, 1, &mf, 1, &list, &err), "%s", err.msg);
    ice_manifest_entry *e;
    ice_manifest_file *files;
    size_t n;
    cr_expect(!ice_manifest_read(list.data, list.len, "snap.avro", NULL, NULL, &fx.a, &e, &n, &err));
    cr_expect(strstr(err.msg, "snap.avro: not an Iceberg manifest"), "%s", err.msg);
    cr_expect(!ice_manifest_list_read(manifest.data, manifest.len, "m.avro", &fx.a, &files, &n, &err));
    cr_expect(strstr(err.msg, "m.avro: not an Iceberg manifest list"), "%s", err.msg);
    cr_expect(!ice_manifest_read("{}", 2, "x.json", NULL, NULL, &fx.a, &e, &n, &err));
    cr_expect(strstr(err.msg, "x.json"), "%s", err.msg);
    /* every truncation fails cleanly, naming the file */
    for (size_t cut = 0; cut < manifest.len; cut += 7) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, manifest.data, cut);
        /* a cut right after the header is a valid file with no entries */
        if (ice_manifest_read(p, cut, "cut.avro", NULL, NULL, &fx.a, &e, &n, &err))
            cr_expect_eq(n, 0, "cut at %zu of %zu read %zu entries", cut, manifest.len, n);
        else
            cr_expect(strstr(err.msg, "cut.avro"), "%s", err.msg);
        free(p);
    }
    /* a record whose partition value has the wrong type names the field */
    buf_t bad = BUF_INIT;
    avro_from_data("java_v1_manifest", &bad, "partition-spec",
                   "[{\"name\":\"vendor_id\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000}]", "schema",
                   "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"vendor_id\",\"required\":false,"
                   "\"type\":\"string\"}]}",
                   NULL);
    cr_expect(!ice_manifest_read(bad.data, bad.len, "bad.avro", NULL, NULL, &fx.a, &e, &n, &err));
    cr_expect(strstr(err.msg, "bad.avro: record 0: data_file.partition.vendor_id: is an Avro long"), "%s", err.msg);
    buf_free(&bad);
    buf_free(&manifest);
    buf_free(&list);
    arena_free(&fx.a);
}

/* Two partition fields of the same decimal type share one named Avro
 * fixed: the second refers to the first by name, as Java writes it. */
Test(iceberg_manifest, repeated_named_types_are_referenced) {
    fixture fx;
    fixture_init(&fx, "{\"spec-id\":0,\"fields\":[{\"name\":\"px\",\"transform\":\"identity\",\"source-id\":4,"
                      "\"field-id\":1000},{\"name\":\"px_trunc\",\"transform\":\"truncate[100]\",\"source-id\":4,"
                      "\"field-id\":1001},{\"name\":\"ts\",\"transform\":\"identity\",\"source-id\":2,"
                      "\"field-id\":1002}]}");
    ice_manifest_entry e = {
        .status = ICE_STATUS_ADDED, .snapshot_id = -1, .sequence_number = -1, .file_sequence_number = -1};
    ice_value part[3] = {ice_test_value(&fx.a, "decimal(10,2)", "14.20"),
                         ice_test_value(&fx.a, "decimal(10,2)", "14.00"),
                         ice_test_value(&fx.a, "timestamptz", "2026-03-28T10:00:00Z")};
    e.file = (ice_data_file){
        .file_path = "p", .file_format = "PARQUET", .partition = part, .npartition = 3, .sort_order_id = -1};
    buf_t file = BUF_INIT;
    write_manifest(&fx, &e, 1, &file, NULL);
    floe_err err = {0};
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "m.avro", &err);
    const char *schema = avro_reader_meta_str(r, "avro.schema");
    cr_expect(strstr(schema, "{\"name\":\"px_trunc\",\"type\":[\"null\",\"decimal_10_2\"],\"default\":null,"
                             "\"field-id\":1001}"),
              "%s", schema);
    cr_expect(strstr(schema, "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\",\"adjust-to-utc\":true}"), "%s",
              schema);
    avro_reader_free(r);
    ice_manifest_entry *got;
    size_t n;
    cr_assert(ice_manifest_read(file.data, file.len, "m.avro", NULL, NULL, &fx.a, &got, &n, &err), "%s", err.msg);
    for (int i = 0; i < 3; i++) cr_expect(ice_value_equal(&got[0].file.partition[i], &part[i]), "partition %d", i);
    cr_expect_eq(got[0].file.partition[2].type, FMT_TIMESTAMPTZ);
    buf_free(&file);
    arena_free(&fx.a);
}
