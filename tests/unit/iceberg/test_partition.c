/*
 * test_partition.c: partition specs (src/iceberg/partition.c): the CLI
 * form with Java's default names and checks, the partition tuple's type,
 * the human form of partition values (data/partition_values.txt) and whole
 * partition paths with Java's URL encoding.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ice_test.h"

#define VALUE_CASES "tests/unit/iceberg/data/partition_values.txt"

static const char *SCHEMA = "id long not null, ts timestamptz, d date, sym string, px decimal(10,2), x int, "
                            "b binary, tags list<string>, pt struct<lat: double, name: string>, flag boolean";

static ice_partition_spec parse_spec(arena_t *a, const fmt_schema_t *s, const char *text) {
    ice_partition_spec spec;
    floe_err err = {0};
    cr_assert(ice_partition_spec_parse(text, s, 999, a, &spec, &err), "'%s': %s", text, err.msg);
    return spec;
}

Test(iceberg_partition, spec_default_names) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, SCHEMA);
    ice_partition_spec spec = parse_spec(
        &a, s, "day(ts), bucket(16, id), truncate(4, sym), x, void(flag), year(d), pt.name, truncate(px, 5)");
    static const struct {
        const char *name, *transform;
        int32_t source;
    } want[] = {
        {"ts_day", "day", 2},        {"id_bucket", "bucket[16]", 1}, {"sym_trunc", "truncate[4]", 4},
        {"x", "identity", 6},        {"flag_null", "void", 10},      {"d_year", "year", 3},
        {"pt.name", "identity", 13}, {"px_trunc", "truncate[5]", 5},
    };
    cr_assert_eq(spec.nfields, 8);
    for (int i = 0; i < spec.nfields; i++) {
        cr_assert_str_eq(spec.fields[i].name, want[i].name);
        cr_assert_eq(spec.fields[i].field_id, 1000 + i);
        cr_assert_eq(spec.fields[i].source_id, want[i].source, "%s: source %d", want[i].name, spec.fields[i].source_id);
        buf_t b = BUF_INIT;
        ice_transform_format(&spec.fields[i].transform, &b);
        cr_assert_str_eq(b.data, want[i].transform);
        buf_free(&b);
    }
    cr_assert_not(ice_partition_spec_is_unpartitioned(&spec));

    /* 'as' names, plural Spark spellings, quoted names, later ids */
    ice_partition_spec s2;
    floe_err err = {0};
    cr_assert(ice_partition_spec_parse("HOURS(ts) AS ts_hr, months(d), \"sym\"", s, 1004, &a, &s2, &err), "%s",
              err.msg);
    cr_assert_eq(s2.nfields, 3);
    cr_assert_str_eq(s2.fields[0].name, "ts_hr");
    cr_assert_eq(s2.fields[0].transform.kind, ICE_TR_HOUR);
    cr_assert_eq(s2.fields[0].field_id, 1005);
    cr_assert_str_eq(s2.fields[1].name, "d_month");
    cr_assert_str_eq(s2.fields[2].name, "sym");

    /* empty: unpartitioned; all void: unpartitioned too */
    cr_assert(ice_partition_spec_parse("  ", s, 999, &a, &s2, &err));
    cr_assert_eq(s2.nfields, 0);
    cr_assert(ice_partition_spec_is_unpartitioned(&s2));
    s2 = parse_spec(&a, s, "void(x)");
    cr_assert(ice_partition_spec_is_unpartitioned(&s2));
    arena_free(&a);
}

Test(iceberg_partition, spec_errors_name_the_input_and_fix) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, SCHEMA);
    static const struct {
        const char *text;
        const char *says[2];
    } bad[] = {
        {"day(tss)", {"no column 'tss'", "id, ts, d"}},
        {"day(sym)", {"day does not apply to type string", "date, timestamp"}},
        {"hour(d)", {"hour does not apply to type date", "timestamp"}},
        {"bucket(16, flag)", {"bucket[16] does not apply to type boolean", "int, long"}},
        {"truncate(4, d)", {"truncate[4] does not apply to type date", "string"}},
        {"bucket(id)", {"bucket needs a number and a column", "bucket(16, id)"}},
        {"bucket(0, id)", {"number of buckets must be 1..2147483647", "bucket(0"}},
        {"truncate(sym)", {"truncate needs a number and a column", "truncate(4, sym)"}},
        {"day(ts, d)", {"day takes one column", "day(ts)"}},
        {"weeks(ts)", {"unknown transform 'weeks'", "bucket(N, col)"}},
        {"tags", {"column 'tags' is of type list", "primitive"}},
        {"pt", {"column 'pt' is of type struct", "primitive"}},
        {"day(ts), day(ts) as d2", {"both partition column 'ts'", "keep one"}},
        {"day(ts), day(ts)", {"partition name 'ts_day' is used twice", "'as'"}},
        {"bucket(8, id) as a1, bucket(8, id) as a2", {"by the same transform", "keep one"}},
        {"day(ts), hour(ts)", {"'ts_day' and 'ts_hour' both partition column 'ts' by time", "keep one"}},
        {"x, x", {"partition name 'x' is used twice", "'as'"}},
        {"day(ts) as sym", {"partition name 'sym' is the name of a column", "'as'"}},
        {"day(ts) as", {"'as' needs a partition name", "hour(ts) as ts_hr"}},
        {"day(ts) day(d)", {"expected ','", "day"}},
        {"day(ts", {"expected ',' or ')'", "day(ts"}},
        {"\"sym", {"quoted name is not closed", "\"sym"}},
        {"TS", {"no column 'TS'", "case-sensitive"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ice_partition_spec spec;
        floe_err err = {0};
        cr_assert_not(ice_partition_spec_parse(bad[i].text, s, 999, &a, &spec, &err), "'%s' parsed", bad[i].text);
        cr_assert_eq(err.code, FLOE_EINVAL);
        cr_assert(strstr(err.msg, bad[i].text), "'%s': message does not show the input: %s", bad[i].text, err.msg);
        for (int k = 0; k < 2; k++)
            cr_assert(strstr(err.msg, bad[i].says[k]), "'%s': message lacks \"%s\": %s", bad[i].text, bad[i].says[k],
                      err.msg);
    }
    arena_free(&a);
}

Test(iceberg_partition, tuple_type) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, SCHEMA);
    ice_partition_spec spec = parse_spec(&a, s, "hour(ts), bucket(16, id), truncate(4, px), month(d) as m, void(b)");
    fmt_field_t t;
    floe_err err = {0};
    cr_assert(ice_partition_type(&spec, s, &a, &t, &err), "%s", err.msg);
    cr_assert_eq(t.type, FMT_STRUCT);
    cr_assert_eq(t.nchildren, 5);
    const char *types[] = {"int", "int", "decimal(10,2)", "int", "binary"};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(t.children[i].id, 1000 + i);
        cr_assert_str_eq(t.children[i].name, spec.fields[i].name);
        cr_assert_not(t.children[i].required);
        buf_t b = BUF_INIT;
        fmt_type_format(&t.children[i], &b);
        cr_assert_str_eq(b.data, types[i]);
        buf_free(&b);
    }
    /* a source the schema lost */
    spec.fields[1].source_id = 99;
    cr_assert_not(ice_partition_type(&spec, s, &a, &t, &err));
    cr_assert(strstr(err.msg, "id_bucket") && strstr(err.msg, "99"), "%s", err.msg);
    arena_free(&a);
}

Test(iceberg_partition, value_forms_from_file) {
    FILE *fp = fopen(VALUE_CASES, "r");
    cr_assert(fp, "cannot open %s (run from the repository root)", VALUE_CASES);
    char line[512];
    int lineno = 0, ran = 0;
    arena_t a;
    arena_init(&a, 4096);
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *arrow = strstr(line, " => ");
        cr_assert(arrow, "%s:%d", VALUE_CASES, lineno);
        *arrow = 0;
        char *type = strchr(line, ' ');
        *type++ = 0;
        char *input = strchr(type, ' ');
        *input++ = 0;
        ice_transform t;
        floe_err err = {0};
        cr_assert(ice_transform_parse(line, &t, &err));
        fmt_field_t f = ice_test_type(&a, type);
        ice_value in = ice_value_null(f.type), out;
        ice_value_set_type(&in, &f);
        if (strcmp(input, "null") != 0) in = ice_test_value(&a, type, input);
        ice_transform_apply(&t, &in, &out);
        buf_t b = BUF_INIT;
        ice_partition_value_format(&t, &out, &b);
        cr_assert_str_eq(b.data, arrow + 4, "%s:%d: %s of %s %s is '%s'", VALUE_CASES, lineno, line, type, input,
                         b.data);
        buf_free(&b);
        ran++;
    }
    fclose(fp);
    arena_free(&a);
    cr_assert_gt(ran, 40);
}

Test(iceberg_partition, paths) {
    arena_t a;
    arena_init(&a, 4096);
    fmt_schema_t *s = ice_test_schema(&a, SCHEMA);
    ice_partition_spec spec = parse_spec(&a, s, "day(ts), bucket(16, id), sym, truncate(2, b), x as \"x y/z\"");
    ice_value src[5] = {
        ice_test_value(&a, "timestamptz", "2026-03-28T14:05:00Z"),
        ice_value_long(FMT_LONG, 34),
        ice_value_str("BTC/USD a+b=c&d é~*"),
        ice_test_value(&a, "binary", "fbff00"),
        ice_value_null(FMT_INT),
    };
    ice_value tuple[5];
    for (int i = 0; i < 5; i++) ice_transform_apply(&spec.fields[i].transform, &src[i], &tuple[i]);
    buf_t b = BUF_INIT;
    ice_partition_path(&spec, s, tuple, &b);
    cr_assert_str_eq(b.data, "ts_day=2026-03-28/id_bucket=3/sym=BTC%2FUSD+a%2Bb%3Dc%26d+%C3%A9%7E*/b_trunc=%2B%2F8%3D/"
                             "x+y%2Fz=null");
    buf_free(&b);
    arena_free(&a);
}
