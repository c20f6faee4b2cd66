/*
 * iceberg_debug.c: `floe iceberg-debug ...`, a hidden command the
 * end-to-end tests use to check Floe's manifests against python3-avro
 * (tests/e2e/test_iceberg_manifest.sh). Not for users; not in the help.
 *
 *   floe iceberg-debug write-manifest DIR   writes DIR/m0.avro (a manifest of
 *       a fixed example table, three entries) and DIR/snap.avro (a manifest
 *       list of it, snapshot 42, parent 41, sequence number 7)
 *   floe iceberg-debug read-manifest FILE [SEQ SNAPSHOT_ID SPEC_ID]
 *       prints each entry as a JSON line, after inheritance from the
 *       given manifest-list values (none when omitted)
 *   floe iceberg-debug read-manifest-list FILE
 *       prints each manifest_file as a JSON line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/str.h"
#include "cli/cli.h"
#include "iceberg/iceberg.h"

static int fail(const floe_err *err) {
    fprintf(stderr, "floe iceberg-debug: %s\n", err->msg);
    return 1;
}

static json_t *hex_json(const uint8_t *p, uint32_t n) {
    if (!p) return json_null();
    char *hex = malloc(2 * (size_t)n + 1);
    str_hex(p, n, hex);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

/* ------------------------------------------------------------- writing */

static const char *EXAMPLE_SPEC =
    "{\"spec-id\":3,\"fields\":[{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1000},"
    "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,\"field-id\":1001},"
    "{\"name\":\"symbol\",\"transform\":\"identity\",\"source-id\":3,\"field-id\":1002},"
    "{\"name\":\"px\",\"transform\":\"identity\",\"source-id\":4,\"field-id\":1003},"
    "{\"name\":\"u\",\"transform\":\"identity\",\"source-id\":5,\"field-id\":1004}]}";

/* A partition tuple from literals; NULL literals are nulls. */
static bool example_tuple(const fmt_schema_t *schema, const ice_partition_spec *spec, const char **lits, arena_t *a,
                          ice_value **out, floe_err *err) {
    *out = arena_zalloc(a, (size_t)spec->nfields * sizeof **out);
    for (int32_t i = 0; i < spec->nfields; i++) {
        fmt_field_t t;
        if (!ice_transform_result_type(&spec->fields[i].transform, fmt_schema_find(schema, spec->fields[i].source_id),
                                       &t, err))
            return false;
        if (!lits[i]) {
            (*out)[i] = ice_value_null(t.type);
            ice_value_set_type(&(*out)[i], &t);
        } else if (!ice_value_parse(&t, lits[i], strlen(lits[i]), a, &(*out)[i], err)) {
            return false;
        }
    }
    return true;
}

static int cmd_write(const char *dir) {
    floe_err err = {0};
    arena_t a;
    arena_init(&a, 0);
    buf_t manifest = BUF_INIT, list = BUF_INIT;
    int rc = 1;
    fmt_schema_t schema;
    ice_partition_spec spec;
    json_t *sj = json_loads(EXAMPLE_SPEC, 0, NULL);
    bool ok = fmt_schema_parse("id long not null, ts timestamptz not null, symbol string, px decimal(10,2), u uuid", &a,
                               &schema, &err) &&
              ice_spec_from_json(sj, &a, &spec, &err);
    json_decref(sj);
    if (!ok || !fs_mkdir_p(dir, &err)) goto done;
    static const uint8_t lo1[8] = {1, 0, 0, 0, 0, 0, 0, 0}, hi1[8] = {0x10, 0x27, 0, 0, 0, 0, 0, 0};
    static const uint8_t lo3[3] = {'A', 'D', 'A'}, hi3[3] = {'B', 'T', 'C'};
    static int64_t splits[] = {4, 65540};
    ice_col_stats stats[2] = {
        {.field_id = 1,
         .column_size = 410,
         .value_count = 100,
         .null_count = 0,
         .nan_count = -1,
         .lower = lo1,
         .upper = hi1,
         .lower_len = 8,
         .upper_len = 8},
        {.field_id = 3,
         .column_size = 120,
         .value_count = 100,
         .null_count = 2,
         .nan_count = -1,
         .lower = lo3,
         .upper = hi3,
         .lower_len = 3,
         .upper_len = 3},
    };
    const char *t0[] = {"2026-03-28", "5", "BTC", "14.20", "f79c3e09-677c-4bbd-a479-3f349cb785e7"};
    const char *t1[] = {"2026-03-27", "0", NULL, NULL, NULL};
    const char *t2[] = {"1969-12-31", "15", "ADA", "-3.00", "00000000-0000-0000-0000-000000000001"};
    ice_manifest_entry e[3] = {
        {.status = ICE_STATUS_ADDED, .snapshot_id = -1, .sequence_number = -1, .file_sequence_number = -1},
        {.status = ICE_STATUS_EXISTING, .snapshot_id = 40, .sequence_number = 5, .file_sequence_number = 6},
        {.status = ICE_STATUS_DELETED, .snapshot_id = 42, .sequence_number = 2, .file_sequence_number = 2},
    };
    const char **tuples[] = {t0, t1, t2};
    for (int i = 0; i < 3; i++) {
        ice_data_file *f = &e[i].file;
        f->file_path = arena_sprintf(&a, "s3://warehouse/db/t/data/f%d.parquet", i);
        f->file_format = "PARQUET";
        f->record_count = 100 + i;
        f->file_size_in_bytes = 4096 + i;
        f->sort_order_id = i == 0 ? 1 : -1;
        f->npartition = spec.nfields;
        if (!example_tuple(&schema, &spec, tuples[i], &a, &f->partition, &err)) goto done;
    }
    e[0].file.stats = stats;
    e[0].file.nstats = 2;
    e[0].file.split_offsets = splits;
    e[0].file.nsplit_offsets = 2;
    ice_manifest_file mf;
    if (!ice_manifest_write(NULL, &schema, &spec, ICE_CONTENT_DATA, e, 3, &manifest, &mf, &a, &err)) goto done;
    char *mpath = arena_sprintf(&a, "%s/m0.avro", dir);
    if (!fs_write_atomic(mpath, manifest.data, manifest.len, &err)) goto done;
    mf.manifest_path = mpath;
    mf.manifest_length = (int64_t)manifest.len;
    if (!ice_manifest_list_write(42, 41, 7, &mf, 1, &list, &err) ||
        !fs_write_atomic(arena_sprintf(&a, "%s/snap.avro", dir), list.data, list.len, &err))
        goto done;
    rc = 0;
done:
    if (rc) fail(&err);
    buf_free(&manifest);
    buf_free(&list);
    arena_free(&a);
    return rc;
}

/* ------------------------------------------------------------- reading */

static json_t *entry_json(const ice_manifest_entry *e) {
    const ice_data_file *f = &e->file;
    json_t *o = json_object(), *part = json_array(), *stats = json_array(), *splits = json_array(), *eq = json_array();
    json_object_set_new(o, "status", json_integer(e->status));
    json_object_set_new(o, "snapshot_id", json_integer(e->snapshot_id));
    json_object_set_new(o, "sequence_number", json_integer(e->sequence_number));
    json_object_set_new(o, "file_sequence_number", json_integer(e->file_sequence_number));
    json_object_set_new(o, "content", json_integer(f->content));
    json_object_set_new(o, "file_path", json_string(f->file_path));
    json_object_set_new(o, "file_format", json_string(f->file_format));
    json_object_set_new(o, "spec_id", json_integer(f->spec_id));
    for (int32_t i = 0; i < f->npartition; i++) {
        const ice_value *v = &f->partition[i];
        json_array_append_new(part, v->is_null ? json_null() : ice_value_to_json(v));
    }
    json_object_set_new(o, "partition", part);
    json_object_set_new(o, "record_count", json_integer(f->record_count));
    json_object_set_new(o, "file_size_in_bytes", json_integer(f->file_size_in_bytes));
    for (int32_t i = 0; i < f->nstats; i++) {
        const ice_col_stats *s = &f->stats[i];
        json_t *so = json_object();
        json_object_set_new(so, "id", json_integer(s->field_id));
        json_object_set_new(so, "size", json_integer(s->column_size));
        json_object_set_new(so, "values", json_integer(s->value_count));
        json_object_set_new(so, "nulls", json_integer(s->null_count));
        json_object_set_new(so, "nans", json_integer(s->nan_count));
        json_object_set_new(so, "lower", hex_json(s->lower, s->lower_len));
        json_object_set_new(so, "upper", hex_json(s->upper, s->upper_len));
        json_array_append_new(stats, so);
    }
    json_object_set_new(o, "stats", stats);
    for (int32_t i = 0; i < f->nsplit_offsets; i++) json_array_append_new(splits, json_integer(f->split_offsets[i]));
    json_object_set_new(o, "split_offsets", splits);
    for (int32_t i = 0; i < f->nequality_ids; i++) json_array_append_new(eq, json_integer(f->equality_ids[i]));
    json_object_set_new(o, "equality_ids", eq);
    json_object_set_new(o, "sort_order_id", json_integer(f->sort_order_id));
    return o;
}

static json_t *manifest_file_json(const ice_manifest_file *f) {
    json_t *o = json_object(), *parts = json_array();
    json_object_set_new(o, "manifest_path", json_string(f->manifest_path));
    json_object_set_new(o, "manifest_length", json_integer(f->manifest_length));
    json_object_set_new(o, "partition_spec_id", json_integer(f->partition_spec_id));
    json_object_set_new(o, "content", json_integer(f->content == ICE_CONTENT_DATA ? 0 : 1));
    json_object_set_new(o, "sequence_number", json_integer(f->sequence_number));
    json_object_set_new(o, "min_sequence_number", json_integer(f->min_sequence_number));
    json_object_set_new(o, "added_snapshot_id", json_integer(f->added_snapshot_id));
    json_object_set_new(o, "added_files_count", json_integer(f->added_files_count));
    json_object_set_new(o, "existing_files_count", json_integer(f->existing_files_count));
    json_object_set_new(o, "deleted_files_count", json_integer(f->deleted_files_count));
    json_object_set_new(o, "added_rows_count", json_integer(f->added_rows_count));
    json_object_set_new(o, "existing_rows_count", json_integer(f->existing_rows_count));
    json_object_set_new(o, "deleted_rows_count", json_integer(f->deleted_rows_count));
    for (int32_t i = 0; i < f->npartitions; i++) {
        const ice_field_summary *s = &f->partitions[i];
        json_t *so = json_object();
        json_object_set_new(so, "contains_null", json_boolean(s->contains_null));
        json_object_set_new(so, "contains_nan", s->contains_nan < 0 ? json_null() : json_boolean(s->contains_nan));
        json_object_set_new(so, "lower_bound", hex_json(s->lower, s->lower_len));
        json_object_set_new(so, "upper_bound", hex_json(s->upper, s->upper_len));
        json_array_append_new(parts, so);
    }
    json_object_set_new(o, "partitions", parts);
    return o;
}

static void print_line(json_t *o) {
    buf_t b = BUF_INIT;
    json_dump_buf(o, &b);
    json_decref(o);
    printf("%s\n", b.data);
    buf_free(&b);
}

static int cmd_read(const char *path, int argc, char **argv, bool list) {
    floe_err err = {0};
    arena_t a;
    arena_init(&a, 0);
    char *data = NULL;
    size_t len, n;
    int rc = 1;
    if (!fs_read_all(path, &data, &len, &err)) goto done;
    if (list) {
        ice_manifest_file *files;
        if (!ice_manifest_list_read(data, len, path, &a, &files, &n, &err)) goto done;
        for (size_t i = 0; i < n; i++) print_line(manifest_file_json(&files[i]));
    } else {
        ice_manifest_file mf = {0};
        if (argc >= 3) {
            mf.sequence_number = strtoll(argv[0], NULL, 10);
            mf.added_snapshot_id = strtoll(argv[1], NULL, 10);
            mf.partition_spec_id = (int32_t)strtol(argv[2], NULL, 10);
        }
        ice_manifest_entry *e;
        if (!ice_manifest_read(data, len, path, argc >= 3 ? &mf : NULL, NULL, &a, &e, &n, &err)) goto done;
        for (size_t i = 0; i < n; i++) print_line(entry_json(&e[i]));
    }
    rc = 0;
done:
    if (rc) fail(&err);
    free(data);
    arena_free(&a);
    return rc;
}

int cli_iceberg_debug(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[0], "write-manifest")) return cmd_write(argv[1]);
    if (argc >= 2 && !strcmp(argv[0], "read-manifest")) return cmd_read(argv[1], argc - 2, argv + 2, false);
    if (argc >= 2 && !strcmp(argv[0], "read-manifest-list")) return cmd_read(argv[1], argc - 2, argv + 2, true);
    fprintf(stderr, "usage: floe iceberg-debug write-manifest DIR\n"
                    "       floe iceberg-debug read-manifest FILE [SEQ SNAPSHOT_ID SPEC_ID]\n"
                    "       floe iceberg-debug read-manifest-list FILE\n");
    return 2;
}
