/*
 * test_avro.c: the Avro codec (src/format/avro/): schema parsing and
 * printing, the binary encoding, container files with every codec, block
 * boundaries, the Iceberg manifest shape, writer validation, the JSON
 * encoding, and malformed input (truncated, corrupted, hostile counts).
 *
 * Malformed schemas are a table in tests/unit/format/data/avro/bad_schemas.txt.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format/avro/avro.h"
#include "format/avro/avro_int.h"

#define BAD_SCHEMAS "tests/unit/format/data/avro/bad_schemas.txt"

static const uint8_t SYNC[16] = "0123456789abcdef";

static avro_schema_t *parse(const char *json) {
    floe_err err = {0};
    avro_schema_t *s = avro_schema_parse(json, strlen(json), "test", &err);
    cr_assert(s, "schema did not parse: %s", err.msg);
    return s;
}

/* Writes the values with the codec into out. */
static void write_file(const avro_schema_t *s, avro_codec codec, size_t block_bytes, avro_value_t **vals, size_t n,
                       buf_t *out) {
    floe_err err = {0};
    avro_writer_opts o = {.codec = codec, .block_bytes = block_bytes, .sync = SYNC};
    avro_writer_t *w = avro_writer_new(s, &o, &err);
    cr_assert(w, "%s", err.msg);
    cr_assert(avro_writer_meta_str(w, "format-version", "2", &err), "%s", err.msg);
    for (size_t i = 0; i < n; i++) cr_assert(avro_writer_append(w, vals[i], &err), "record %zu: %s", i, err.msg);
    cr_assert(avro_writer_finish(w, out, &err), "%s", err.msg);
    avro_writer_free(w);
}

/* Reads every record as JSON lines; returns false with err on failure. */
static bool read_json(const buf_t *file, buf_t *json, size_t *count, floe_err *err) {
    avro_reader_t *r = avro_reader_open((const uint8_t *)file->data, file->len, "t.avro", err);
    if (!r) return false;
    arena_t a;
    arena_init(&a, 4096);
    bool ok = true;
    *count = 0;
    for (;;) {
        avro_value_t *v;
        if (!avro_reader_next(r, &a, &v, err)) {
            ok = false;
            break;
        }
        if (!v) break;
        avro_value_to_json(v, avro_reader_schema(r)->root, json);
        buf_putc(json, '\n');
        (*count)++;
        arena_free(&a);
    }
    arena_free(&a);
    avro_reader_free(r);
    return ok;
}

static char *to_json(const avro_value_t *v, const avro_type_t *t) {
    static buf_t b;
    buf_reset(&b);
    avro_value_to_json(v, t, &b);
    return b.data;
}

/* ---------------------------------------------------------------- encoding */

Test(avro, zigzag_varints) {
    struct {
        int64_t v;
        const char *hex;
    } cases[] = {{0, "00"},
                 {-1, "01"},
                 {1, "02"},
                 {-64, "7f"},
                 {64, "8001"},
                 {1000, "d00f"},
                 {-1000, "cf0f"},
                 {INT32_MAX, "feffffff0f"},
                 {INT64_MAX, "feffffffffffffffff01"},
                 {INT64_MIN, "ffffffffffffffffff01"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t b = BUF_INIT;
        avro_write_long(&b, cases[i].v);
        char hex[32] = {0};
        for (size_t k = 0; k < b.len; k++) sprintf(hex + 2 * k, "%02x", (uint8_t)b.data[k]);
        cr_expect_str_eq(hex, cases[i].hex, "%lld", (long long)cases[i].v);
        avro_cursor c = {
            .start = (uint8_t *)b.data, .p = (uint8_t *)b.data, .end = (uint8_t *)b.data + b.len, .name = "x"};
        int64_t back;
        floe_err err;
        cr_expect(avro_read_long(&c, &back, "long", &err) && back == cases[i].v, "%lld", (long long)cases[i].v);
        buf_free(&b);
    }
}

Test(avro, varint_overflow_and_truncation) {
    floe_err err;
    int64_t v;
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    avro_cursor c = {.start = eleven, .p = eleven, .end = eleven + sizeof eleven, .name = "f.avro", .base = 100};
    cr_assert_not(avro_read_long(&c, &v, "long", &err));
    cr_expect(strstr(err.msg, "f.avro: at byte 100: long: variable-length integer overflows 64 bits"), "%s", err.msg);
    const uint8_t cut[] = {0x80, 0x80};
    c = (avro_cursor){.start = cut, .p = cut, .end = cut + 2, .name = "f.avro"};
    cr_assert_not(avro_read_long(&c, &v, "block size", &err));
    cr_expect(strstr(err.msg, "ends inside a variable-length integer"), "%s", err.msg);
    const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x10}; /* 2^31 zigzagged: too big for int */
    c = (avro_cursor){.start = big, .p = big, .end = big + 5, .name = "f.avro"};
    int32_t i32;
    cr_assert_not(avro_read_int(&c, &i32, "int", &err));
    cr_expect(strstr(err.msg, "does not fit an int"), "%s", err.msg);
}

/* ---------------------------------------------------------------- schemas */

static const char *ALL_TYPES =
    "{\"type\":\"record\",\"name\":\"all\",\"namespace\":\"t\",\"doc\":\"every type\",\"fields\":["
    "{\"name\":\"n\",\"type\":\"null\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"i\",\"type\":\"int\",\"field-id\":3},"
    "{\"name\":\"l\",\"type\":\"long\",\"doc\":\"a long\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"color\",\"symbols\":[\"RED\",\"GREEN\"]}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\",\"element-id\":9}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\",\"key-id\":10,\"value-id\":11}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"color\"]},"
    "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"h4\",\"size\":4}},"
    "{\"name\":\"dec\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"tm\",\"type\":{\"type\":\"long\",\"logicalType\":\"time-micros\"}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\",\"adjust-to-utc\":true}},"
    "{\"name\":\"id\",\"type\":{\"type\":\"fixed\",\"name\":\"uuid16\",\"size\":16,\"logicalType\":\"uuid\"}},"
    "{\"name\":\"us\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"
    "{\"name\":\"ref\",\"type\":\"t.h4\"},"
    "{\"name\":\"kv\",\"type\":{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{\"type\":\"record\","
    "\"name\":\"k1_v2\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":1},"
    "{\"name\":\"value\",\"type\":\"long\",\"field-id\":2}]}}}"
    "]}";

Test(avro, schema_every_type_and_attribute) {
    avro_schema_t *s = parse(ALL_TYPES);
    const avro_type_t *r = s->root;
    cr_assert_eq(r->kind, AVRO_RECORD);
    cr_expect_str_eq(r->fullname, "t.all");
    cr_expect_str_eq(r->name, "all");
    cr_expect_str_eq(r->namespace, "t");
    cr_expect_str_eq(r->doc, "every type");
    cr_assert_eq(r->nfields, 21);
    avro_kind kinds[] = {AVRO_NULL,   AVRO_BOOLEAN, AVRO_INT,   AVRO_LONG,  AVRO_FLOAT,  AVRO_DOUBLE, AVRO_BYTES,
                         AVRO_STRING, AVRO_ENUM,    AVRO_ARRAY, AVRO_MAP,   AVRO_UNION,  AVRO_FIXED,  AVRO_BYTES,
                         AVRO_INT,    AVRO_LONG,    AVRO_LONG,  AVRO_FIXED, AVRO_STRING, AVRO_FIXED,  AVRO_ARRAY};
    for (size_t i = 0; i < r->nfields; i++)
        cr_expect_eq(r->fields[i].type->kind, kinds[i], "field %s is %s", r->fields[i].name,
                     avro_kind_name(r->fields[i].type->kind));
    cr_expect(r->fields[2].has_id && r->fields[2].id == 3);
    cr_expect_not(r->fields[0].has_id);
    cr_expect_str_eq(r->fields[3].doc, "a long");
    cr_expect_str_eq(r->fields[8].type->fullname, "t.color");
    cr_expect_eq(r->fields[8].type->nsymbols, 2);
    cr_expect(r->fields[9].type->has_element_id && r->fields[9].type->element_id == 9);
    const avro_type_t *m = r->fields[10].type;
    cr_expect(m->has_key_id && m->key_id == 10 && m->has_value_id && m->value_id == 11);
    cr_expect_eq(m->values->kind, AVRO_STRING);
    const avro_type_t *u = r->fields[11].type;
    cr_assert_eq(u->nbranches, 3);
    cr_expect_eq(u->branches[2], r->fields[8].type, "a named reference points at the definition");
    cr_expect_eq(r->fields[12].type->size, 4);
    cr_expect_eq(r->fields[13].type->logical, AVRO_LOGICAL_DECIMAL);
    cr_expect(r->fields[13].type->precision == 10 && r->fields[13].type->scale == 2);
    cr_expect_eq(r->fields[14].type->logical, AVRO_LOGICAL_DATE);
    cr_expect_eq(r->fields[15].type->logical, AVRO_LOGICAL_TIME_MICROS);
    cr_expect_eq(r->fields[16].type->logical, AVRO_LOGICAL_TIMESTAMP_MICROS);
    cr_expect_eq(r->fields[17].type->logical, AVRO_LOGICAL_UUID);
    cr_expect_eq(r->fields[18].type->logical, AVRO_LOGICAL_UUID);
    cr_expect_eq(r->fields[19].type, r->fields[12].type);
    cr_expect_eq(r->fields[20].type->logical, AVRO_LOGICAL_MAP);
    cr_expect_eq(avro_field_by_id(r, 3), &r->fields[2]);
    cr_expect_eq(avro_field_by_name(r, "kv"), &r->fields[20]);
    cr_expect_null(avro_field_by_name(r, "nope"));
    cr_expect_null(avro_field_by_id(r, 77));
    /* unknown attributes ("adjust-to-utc") survive printing */
    buf_t out = BUF_INIT;
    avro_schema_json(s, &out);
    json_t *a = json_loads(ALL_TYPES, 0, NULL), *b = json_loadb(out.data, out.len, 0, NULL);
    cr_expect(json_equal(a, b), "printed schema differs: %s", out.data);
    json_decref(a);
    json_decref(b);
    buf_free(&out);
    avro_schema_free(s);
}

Test(avro, schema_logical_types_invalid_are_ignored) {
    avro_schema_t *s = parse("[{\"type\":\"string\",\"logicalType\":\"date\"},"
                             "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":0},"
                             "{\"type\":\"fixed\",\"name\":\"f\",\"size\":2,\"logicalType\":\"decimal\","
                             "\"precision\":10},"
                             "{\"type\":\"long\",\"logicalType\":\"my-own\"}]");
    for (size_t i = 0; i < s->root->nbranches; i++) {
        cr_expect_eq(s->root->branches[i]->logical, AVRO_LOGICAL_NONE, "branch %zu", i);
        cr_expect_not_null(s->root->branches[i]->logical_name);
    }
    avro_schema_free(s);
}

Test(avro, schema_names_namespaces_and_recursion) {
    avro_schema_t *s = parse("{\"type\":\"record\",\"name\":\"a.b.node\",\"fields\":["
                             "{\"name\":\"v\",\"type\":\"int\"},"
                             "{\"name\":\"next\",\"type\":[\"null\",\"node\"]},"
                             "{\"name\":\"kids\",\"type\":{\"type\":\"array\",\"items\":\"a.b.node\"}},"
                             "{\"name\":\"inner\",\"type\":{\"type\":\"record\",\"name\":\"leaf\",\"namespace\":\"z\","
                             "\"fields\":[{\"name\":\"n\",\"type\":\"null\"}]}},"
                             "{\"name\":\"inner2\",\"type\":\"z.leaf\"}]}");
    const avro_type_t *r = s->root;
    cr_expect_str_eq(r->fullname, "a.b.node");
    cr_expect_str_eq(r->namespace, "a.b");
    cr_expect_eq(r->fields[1].type->branches[1], r);
    cr_expect_eq(r->fields[2].type->items, r);
    cr_expect_str_eq(r->fields[3].type->fullname, "z.leaf");
    cr_expect_eq(r->fields[4].type, r->fields[3].type);
    cr_expect_eq(r->fields[3].type->min_bytes, 0);
    cr_expect_eq(r->min_bytes, 3, "int, union index, array count: %zu", r->min_bytes);
    avro_schema_free(s);
}

/* Each line: a schema, a TAB, and a piece of the error message expected. */
Test(avro, bad_schemas_table) {
    FILE *f = fopen(BAD_SCHEMAS, "r");
    cr_assert(f, "cannot open %s (tests run from the repository root)", BAD_SCHEMAS);
    char line[4096];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        char *tab = strchr(line, '\t');
        cr_assert(tab, "%s:%d: expected schema<TAB>message", BAD_SCHEMAS, lineno);
        *tab = '\0';
        const char *want = tab + 1;
        while (*want == '\t') want++;
        floe_err err = {0};
        avro_schema_t *s = avro_schema_parse(line, strlen(line), "bad.avsc", &err);
        cr_expect_null(s, "%s:%d: %s parsed", BAD_SCHEMAS, lineno, line);
        avro_schema_free(s);
        cr_expect(strstr(err.msg, want), "%s:%d: error \"%s\" does not contain \"%s\"", BAD_SCHEMAS, lineno, err.msg,
                  want);
        cr_expect_eq(err.code, FLOE_EINVAL);
        cases++;
    }
    fclose(f);
    cr_expect_gt(cases, 20, "only %d cases", cases);
}

/* ---------------------------------------------------------------- values */

static avro_value_t *all_types_value(arena_t *a, const avro_type_t *t, int i) {
    avro_value_t *r = avro_record(a, t);
    cr_assert(avro_record_set(r, "n", avro_null(a)));
    avro_record_set(r, "b", avro_bool(a, i % 2));
    avro_record_set_id(r, 3, avro_int(a, i == 0 ? INT32_MIN : i == 1 ? INT32_MAX : -i * 1000));
    avro_record_set(r, "l", avro_long(a, i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : (int64_t)i << 40));
    avro_record_set(r, "f", avro_float(a, i == 0 ? NAN : i == 1 ? -INFINITY : 0.1f * (float)i));
    avro_record_set(r, "d", avro_double(a, i == 0 ? INFINITY : i == 1 ? -0.0 : 1e300 / (i + 1)));
    uint8_t bytes[4] = {0, (uint8_t)i, 0xff, 0x80};
    avro_record_set(r, "by", avro_bytes(a, bytes, (size_t)(i % 5)));
    avro_record_set(r, "s", avro_string(a, i == 0 ? "" : i == 1 ? "h\xc3\xa9llo \"q\" \\ \n\t\x01" : "plain"));
    avro_record_set(r, "e", avro_enum(a, i % 2));
    avro_value_t *arr = avro_array(a);
    for (int k = 0; k < i; k++) avro_array_append(a, arr, avro_long(a, k - 2));
    avro_record_set(r, "a", arr);
    avro_value_t *m = avro_map(a);
    for (int k = 0; k < i % 3; k++) avro_map_put(a, m, k ? "k1" : "k0", avro_string(a, "v"));
    avro_record_set(r, "m", m);
    avro_record_set(r, "u",
                    i % 3 == 0   ? avro_null(a)
                    : i % 3 == 1 ? avro_string(a, "in union")
                                 : avro_union(a, 2, avro_enum(a, 1)));
    avro_record_set(r, "x", avro_fixed(a, "abcd", 4));
    avro_record_set(r, "dec", avro_bytes(a, "\x30\x39", 2));
    avro_record_set(r, "day", avro_int(a, 19000 + i));
    avro_record_set(r, "tm", avro_long(a, 1));
    avro_record_set(r, "ts", avro_long(a, 1700000000000000LL + i));
    avro_record_set(r, "id", avro_fixed(a, "0123456789abcdef", 16));
    avro_record_set(r, "us", avro_string(a, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
    avro_record_set(r, "ref", avro_fixed(a, "wxyz", 4));
    const avro_type_t *kvt = avro_field_by_name(t, "kv")->type->items;
    avro_value_t *kv = avro_array(a);
    for (int k = 0; k < 2; k++) {
        avro_value_t *e = avro_record(a, kvt);
        avro_record_set_id(e, 1, avro_int(a, k + 1));
        avro_record_set_id(e, 2, avro_long(a, 100 * (k + 1)));
        avro_array_append(a, kv, e);
    }
    avro_record_set(r, "kv", kv);
    return r;
}

static void round_trip_all_types(avro_codec codec) {
    avro_schema_t *s = parse(ALL_TYPES);
    arena_t a;
    arena_init(&a, 4096);
    avro_value_t *vals[40];
    buf_t want = BUF_INIT;
    for (int i = 0; i < 40; i++) {
        vals[i] = all_types_value(&a, s->root, i);
        avro_value_to_json(vals[i], s->root, &want);
        buf_putc(&want, '\n');
    }
    buf_t file = BUF_INIT, got = BUF_INIT;
    write_file(s, codec, 300, vals, 40, &file); /* small blocks: many of them */
    floe_err err = {0};
    size_t n;
    cr_assert(read_json(&file, &got, &n, &err), "%s: %s", avro_codec_name(codec), err.msg);
    cr_expect_eq(n, 40);
    cr_expect_str_eq(got.data, want.data, "%s", avro_codec_name(codec));
    /* the file says which codec */
    avro_reader_t *r = avro_reader_open((uint8_t *)file.data, file.len, "t.avro", &err);
    cr_assert(r);
    cr_expect_eq(avro_reader_codec(r), codec);
    cr_expect_str_eq(avro_reader_meta_str(r, "avro.codec"), avro_codec_name(codec));
    cr_expect_str_eq(avro_reader_meta_str(r, "format-version"), "2");
    cr_expect_eq(avro_reader_meta_count(r), 3);
    avro_reader_free(r);
    buf_free(&file);
    buf_free(&got);
    buf_free(&want);
    arena_free(&a);
    avro_schema_free(s);
}

Test(avro, every_type_codec_null) { round_trip_all_types(AVRO_CODEC_NULL); }
Test(avro, every_type_codec_deflate) { round_trip_all_types(AVRO_CODEC_DEFLATE); }
Test(avro, every_type_codec_snappy) { round_trip_all_types(AVRO_CODEC_SNAPPY); }
Test(avro, every_type_codec_zstandard) { round_trip_all_types(AVRO_CODEC_ZSTD); }

Test(avro, json_encoding_forms) {
    avro_schema_t *s = parse(ALL_TYPES);
    arena_t a;
    arena_init(&a, 4096);
    avro_value_t *v = all_types_value(&a, s->root, 1);
    const char *want =
        "{\"n\":null,\"b\":true,\"i\":2147483647,\"l\":9223372036854775807,\"f\":\"-Infinity\",\"d\":-0.0,"
        "\"by\":\"\\u0000\\u0001\\u00ff\"" /* placeholder, checked below */;
    (void)want;
    char *j = to_json(v, s->root);
    cr_expect(strstr(j, "\"i\":2147483647,\"l\":9223372036854775807,\"f\":\"-Infinity\",\"d\":-0.0,"), "%s", j);
    cr_expect(strstr(j, "\"by\":\"\\u0000\"") != NULL, "bytes as code points: %s", j);
    cr_expect(strstr(j, "\"s\":\"h\xc3\xa9llo \\\"q\\\" \\\\ \\n\\t\\u0001\""), "%s", j);
    cr_expect(strstr(j, "\"e\":\"GREEN\""), "%s", j);
    cr_expect(strstr(j, "\"u\":{\"string\":\"in union\"}"), "%s", j);
    cr_expect(strstr(j, "\"kv\":[{\"key\":1,\"value\":100},{\"key\":2,\"value\":200}]"), "%s", j);
    cr_expect_str_eq(to_json(avro_bytes(&a, "\xff\x80", 2), NULL), "\"\xc3\xbf\xc2\x80\"");
    cr_expect_str_eq(to_json(avro_double(&a, 0.1), NULL), "0.1");
    cr_expect_str_eq(to_json(avro_double(&a, 1), NULL), "1.0");
    cr_expect_str_eq(to_json(avro_float(&a, 0.1f), NULL), "0.1");
    cr_expect_str_eq(to_json(avro_double(&a, NAN), NULL), "\"NaN\"");
    cr_expect_str_eq(to_json(avro_string_n(&a,
                                           "a\xff"
                                           "b",
                                           3),
                             NULL),
                     "\"a\xef\xbf\xbd"
                     "b\"",
                     "invalid UTF-8 prints as U+FFFD");
    arena_free(&a);
    avro_schema_free(s);
}

Test(avro, json_round_trip_through_from_json) {
    avro_schema_t *s = parse(ALL_TYPES);
    arena_t a;
    arena_init(&a, 4096);
    for (int i = 0; i < 6; i++) {
        avro_value_t *v = all_types_value(&a, s->root, i);
        buf_t j1 = BUF_INIT, j2 = BUF_INIT;
        avro_value_to_json(v, s->root, &j1);
        json_t *parsed = json_loadb(j1.data, j1.len, JSON_ALLOW_NUL, NULL);
        cr_assert(parsed, "%s", j1.data);
        floe_err err = {0};
        avro_value_t *back = avro_value_from_json(&a, s->root, parsed, false, &err);
        cr_assert(back, "%s", err.msg);
        avro_value_to_json(back, s->root, &j2);
        cr_expect_str_eq(j2.data, j1.data);
        json_decref(parsed);
        buf_free(&j1);
        buf_free(&j2);
    }
    arena_free(&a);
    avro_schema_free(s);
}

Test(avro, from_json_errors_name_the_path) {
    avro_schema_t *s = parse("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
                             "\"array\",\"items\":{\"type\":\"record\",\"name\":\"q\",\"fields\":[{\"name\":\"x\","
                             "\"type\":[\"null\",\"int\"]}]}}}]}");
    arena_t a;
    arena_init(&a, 4096);
    const char *cases[][2] = {
        {"{\"a\":[{\"x\":null},{\"x\":{\"long\":1}}]}", "a[1].x: the union has no branch \"long\""},
        {"{\"a\":[{\"x\":{\"int\":\"1\"}}]}", "a[0].x: expected a 32-bit integer"},
        {"{\"a\":[{}]}", "a[0].x: missing, and the field has no default"},
        {"{\"a\":{}}", "a: expected an array"},
        {"{\"a\":[{\"x\":5}]}", "a[0].x: expected a union value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i][0], 0, NULL);
        floe_err err = {0};
        cr_expect_null(avro_value_from_json(&a, s->root, j, false, &err), "%s", cases[i][0]);
        cr_expect(strstr(err.msg, cases[i][1]), "%s: got \"%s\"", cases[i][0], err.msg);
        json_decref(j);
    }
    arena_free(&a);
    avro_schema_free(s);
}

/* ---------------------------------------------------------------- iceberg */

static const char *MANIFEST_ENTRY =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
    "{\"name\":\"data_file\",\"field-id\":2,\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
    "{\"name\":\"partition\",\"field-id\":102,\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":["
    "{\"name\":\"ts_day\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}],\"default\":null,"
    "\"field-id\":1000}]}},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"column_sizes\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{"
    "\"type\":\"record\",\"name\":\"k117_v118\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":117},"
    "{\"name\":\"value\",\"type\":\"long\",\"field-id\":118}]}}],\"default\":null,\"field-id\":108},"
    "{\"name\":\"lower_bounds\",\"type\":[\"null\",{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{"
    "\"type\":\"record\",\"name\":\"k126_v127\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":126},"
    "{\"name\":\"value\",\"type\":\"bytes\",\"field-id\":127}]}}],\"default\":null,\"field-id\":125},"
    "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\",\"element-id\":133}],"
    "\"default\":null,\"field-id\":132},"
    "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140}"
    "]}}]}";

Test(avro, iceberg_manifest_shape_round_trips_by_field_id) {
    avro_schema_t *s = parse(MANIFEST_ENTRY);
    const avro_type_t *entry = s->root;
    const avro_type_t *df = avro_field_by_id(entry, 2)->type;
    const avro_type_t *part = avro_field_by_id(df, 102)->type;
    const avro_type_t *sizes = avro_type_nonnull(avro_field_by_id(df, 108)->type);
    const avro_type_t *bounds = avro_type_nonnull(avro_field_by_id(df, 125)->type);
    cr_assert_eq(sizes->logical, AVRO_LOGICAL_MAP);
    cr_assert_eq(bounds->logical, AVRO_LOGICAL_MAP);
    cr_expect_eq(avro_type_nonnull(avro_field_by_id(df, 132)->type)->element_id, 133);
    arena_t a;
    arena_init(&a, 4096);
    avro_value_t *vals[3];
    for (int i = 0; i < 3; i++) {
        avro_value_t *e = avro_record(&a, entry), *d = avro_record(&a, df), *p = avro_record(&a, part);
        avro_record_set_id(e, 0, avro_int(&a, 1));
        if (i) avro_record_set_id(e, 1, avro_long(&a, 5000000000LL + i)); /* bare long into [null, long] */
        avro_record_set_id(d, 134, avro_int(&a, 0));
        avro_record_set_id(d, 100, avro_string(&a, "s3://bucket/data/f.parquet"));
        avro_record_set_id(p, 1000, i == 2 ? NULL : avro_int(&a, 19500 + i));
        avro_record_set_id(d, 102, p);
        avro_record_set_id(d, 103, avro_long(&a, 3000000000LL * i));
        avro_value_t *cs = avro_array(&a), *lb = avro_array(&a);
        for (int k = 1; k <= 3; k++) {
            avro_value_t *kv = avro_record(&a, sizes->items);
            avro_record_set(kv, "key", avro_int(&a, k));
            avro_record_set(kv, "value", avro_long(&a, (int64_t)k << 33));
            avro_array_append(&a, cs, kv);
            avro_value_t *b = avro_record(&a, bounds->items);
            avro_record_set(b, "key", avro_int(&a, k));
            uint8_t raw[8] = {(uint8_t)k, 0, 0, 0, 0xff, 0, 0, 0x80};
            avro_record_set(b, "value", avro_bytes(&a, raw, 8));
            avro_array_append(&a, lb, b);
        }
        avro_record_set_id(d, 108, cs);
        avro_record_set_id(d, 125, avro_union(&a, 1, lb));
        avro_record_set_id(e, 2, d);
        vals[i] = e;
    }
    buf_t file = BUF_INIT;
    write_file(s, AVRO_CODEC_DEFLATE, 0, vals, 3, &file);
    floe_err err = {0};
    avro_reader_t *r = avro_reader_open((uint8_t *)file.data, file.len, "m.avro", &err);
    cr_assert(r, "%s", err.msg);
    /* the schema in the file keeps the Iceberg ids */
    const avro_type_t *rt = avro_reader_schema(r)->root;
    cr_expect_not_null(avro_field_by_id(avro_field_by_id(rt, 2)->type, 125));
    arena_t ra;
    arena_init(&ra, 4096);
    for (int i = 0; i < 3; i++) {
        avro_value_t *e;
        cr_assert(avro_reader_next(r, &ra, &e, &err) && e, "%s", err.msg);
        cr_expect_eq(avro_record_get_id(e, 0)->i, 1);
        if (i == 0) {
            cr_expect(avro_is_null(avro_record_get_id(e, 1)));
            cr_expect_eq(avro_record_get_id(e, 1)->kind, AVRO_NULL);
        } else {
            cr_expect_eq(avro_record_get_id(e, 1)->l, 5000000000LL + i);
        }
        cr_expect(avro_is_null(avro_record_get(e, "sequence_number")), "unset optional field reads as null");
        avro_value_t *d = avro_record_get_id(e, 2);
        cr_expect_str_eq((const char *)avro_record_get_id(d, 100)->bytes.data, "s3://bucket/data/f.parquet");
        cr_expect_eq(avro_record_get_id(d, 103)->l, 3000000000LL * i);
        avro_value_t *p = avro_record_get_id(d, 102);
        if (i == 2)
            cr_expect(avro_is_null(avro_record_get_id(p, 1000)));
        else
            cr_expect_eq(avro_record_get_id(p, 1000)->i, 19500 + i);
        avro_value_t *cs = avro_record_get_id(d, 108);
        cr_assert_eq(cs->kind, AVRO_ARRAY);
        cr_assert_eq(cs->list.n, 3);
        cr_expect_eq(avro_record_get_id(cs->list.items[2], 117)->i, 3);
        cr_expect_eq(avro_record_get_id(cs->list.items[2], 118)->l, 3LL << 33);
        avro_value_t *lb = avro_record_get_id(d, 125);
        avro_value_t *bv = avro_record_get_id(lb->list.items[0], 127);
        cr_expect(bv->bytes.len == 8 && !memcmp(bv->bytes.data, "\x01\0\0\0\xff\0\0\x80", 8));
        cr_expect(avro_is_null(avro_record_get_id(d, 132)));
        cr_expect_null(avro_record_get_id(d, 999));
    }
    avro_value_t *end;
    cr_expect(avro_reader_next(r, &ra, &end, &err) && end == NULL);
    arena_free(&ra);
    avro_reader_free(r);
    buf_free(&file);
    arena_free(&a);
    avro_schema_free(s);
}

/* ---------------------------------------------------------------- writer */

Test(avro, writer_rejects_wrong_types_naming_the_path) {
    avro_schema_t *s = parse(MANIFEST_ENTRY);
    const avro_type_t *df = avro_field_by_id(s->root, 2)->type;
    const avro_type_t *part = avro_field_by_id(df, 102)->type;
    arena_t a;
    arena_init(&a, 4096);
    avro_writer_t *w = avro_writer_new(s, NULL, NULL);
    cr_assert(w);
    floe_err err = {0};

    avro_value_t *e = avro_record(&a, s->root), *d = avro_record(&a, df), *p = avro_record(&a, part);
    avro_record_set_id(e, 0, avro_int(&a, 1));
    avro_record_set_id(e, 2, d);
    avro_record_set_id(d, 134, avro_int(&a, 0));
    avro_record_set_id(d, 100, avro_string(&a, "x"));
    avro_record_set_id(d, 102, p);
    avro_record_set_id(d, 103, avro_long(&a, 1));
    avro_record_set_id(p, 1000, avro_string(&a, "2024-01-01"));
    cr_expect_not(avro_writer_append(w, e, &err));
    cr_expect(strstr(err.msg, "record 0: data_file.partition.ts_day: expected one of [null, int], got string"), "%s",
              err.msg);
    avro_record_set_id(p, 1000, NULL);
    avro_record_set_id(d, 103, avro_int(&a, 1));
    cr_expect_not(avro_writer_append(w, e, &err));
    cr_expect(strstr(err.msg, "data_file.record_count: expected long, got int"), "%s", err.msg);
    avro_record_set_id(d, 103, NULL);
    cr_expect_not(avro_writer_append(w, e, &err));
    cr_expect(strstr(err.msg, "data_file.record_count: no value, and the field is neither nullable nor has a default"),
              "%s", err.msg);
    avro_record_set_id(d, 103, avro_long(&a, 7));
    avro_value_t *bad_kv = avro_array(&a);
    avro_array_append(&a, bad_kv, avro_long(&a, 1));
    avro_record_set_id(d, 108, bad_kv);
    cr_expect_not(avro_writer_append(w, e, &err));
    cr_expect(strstr(err.msg, "data_file.column_sizes[0]: expected k117_v118, got long"), "%s", err.msg);
    avro_record_set_id(d, 108, NULL);
    avro_record_set_id(d, 100, avro_string_n(&a, "\xff", 1));
    cr_expect_not(avro_writer_append(w, e, &err));
    cr_expect(strstr(err.msg, "data_file.file_path: string is not valid UTF-8"), "%s", err.msg);
    avro_record_set_id(d, 100, avro_string(&a, "ok"));
    cr_expect(avro_writer_append(w, e, &err), "%s", err.msg);
    cr_expect_not(avro_writer_meta_str(w, "late", "x", &err));
    /* failed appends left nothing behind */
    buf_t file = BUF_INIT, json = BUF_INIT;
    cr_assert(avro_writer_finish(w, &file, &err));
    size_t n;
    cr_assert(read_json(&file, &json, &n, &err), "%s", err.msg);
    cr_expect_eq(n, 1);
    cr_expect(strstr(json.data, "\"record_count\":7"), "%s", json.data);
    buf_free(&file);
    buf_free(&json);
    avro_writer_free(w);
    arena_free(&a);
    avro_schema_free(s);
}

Test(avro, writer_fills_defaults_and_checks_meta) {
    avro_schema_t *s = parse("{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                             "{\"name\":\"a\",\"type\":\"long\",\"default\":42},"
                             "{\"name\":\"b\",\"type\":[\"string\",\"null\"],\"default\":\"dflt\"},"
                             "{\"name\":\"c\",\"type\":{\"type\":\"map\",\"values\":\"int\"},\"default\":{\"x\":1}},"
                             "{\"name\":\"d\",\"type\":\"bytes\",\"default\":\"\\u00ff\"}]}");
    arena_t a;
    arena_init(&a, 4096);
    floe_err err = {0};
    avro_writer_t *w = avro_writer_new(s, &(avro_writer_opts){.codec = AVRO_CODEC_SNAPPY}, &err);
    cr_assert(w);
    cr_expect_not(avro_writer_meta_str(w, "avro.codec", "x", &err));
    cr_expect(strstr(err.msg, "reserved"), "%s", err.msg);
    cr_expect(avro_writer_meta(w, "bin", "\0\1", 2, &err));
    cr_expect(avro_writer_meta_str(w, "bin", "again", &err));
    cr_expect(avro_writer_append(w, avro_record(&a, s->root), &err), "%s", err.msg);
    cr_expect_eq(avro_writer_count(w), 1);
    buf_t file = BUF_INIT, json = BUF_INIT;
    cr_assert(avro_writer_finish(w, &file, &err));
    cr_expect_not(avro_writer_finish(w, &file, &err));
    size_t n;
    cr_assert(read_json(&file, &json, &n, &err), "%s", err.msg);
    cr_expect_str_eq(json.data, "{\"a\":42,\"b\":{\"string\":\"dflt\"},\"c\":{\"x\":1},\"d\":\"\xc3\xbf\"}\n");
    avro_reader_t *r = avro_reader_open((uint8_t *)file.data, file.len, "t", &err);
    cr_expect_str_eq(avro_reader_meta_str(r, "bin"), "again");
    avro_reader_free(r);
    cr_expect_null(avro_writer_new(s, &(avro_writer_opts){.codec = AVRO_CODEC_DEFLATE, .level = 12}, &err));
    cr_expect(strstr(err.msg, "deflate level 12"), "%s", err.msg);
    buf_free(&file);
    buf_free(&json);
    avro_writer_free(w);
    arena_free(&a);
    avro_schema_free(s);
}

Test(avro, empty_file_and_random_sync) {
    avro_schema_t *s = parse("\"long\"");
    floe_err err = {0};
    buf_t f1 = BUF_INIT, f2 = BUF_INIT;
    avro_writer_t *w1 = avro_writer_new(s, NULL, &err), *w2 = avro_writer_new(s, NULL, &err);
    cr_assert(avro_writer_finish(w1, &f1, &err) && avro_writer_finish(w2, &f2, &err));
    cr_expect(f1.len == f2.len && memcmp(f1.data + f1.len - 16, f2.data + f2.len - 16, 16) != 0,
              "two writers share a sync marker");
    buf_t json = BUF_INIT;
    size_t n = 9;
    cr_expect(read_json(&f1, &json, &n, &err) && n == 0, "%s", err.msg);
    avro_writer_free(w1);
    avro_writer_free(w2);
    buf_free(&f1);
    buf_free(&f2);
    buf_free(&json);
    avro_schema_free(s);
}

/* ---------------------------------------------------------------- blocks */

Test(avro, block_boundaries) {
    avro_schema_t *s = parse("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"i\",\"type\":\"long\"},"
                             "{\"name\":\"s\",\"type\":\"string\"}]}");
    arena_t a;
    arena_init(&a, 4096);
    avro_value_t *vals[1000];
    for (int i = 0; i < 1000; i++) {
        vals[i] = avro_record(&a, s->root);
        avro_record_set(vals[i], "i", avro_long(&a, i));
        avro_record_set(vals[i], "s", avro_string(&a, i % 7 ? "short" : "a somewhat longer string value"));
    }
    size_t sizes[] = {1, 10, 100, 4096, 0};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (avro_codec c = AVRO_CODEC_NULL; c <= AVRO_CODEC_ZSTD; c++) {
            buf_t file = BUF_INIT, json = BUF_INIT;
            write_file(s, c, sizes[k], vals, 1000, &file);
            floe_err err = {0};
            size_t n;
            cr_assert(read_json(&file, &json, &n, &err), "block %zu %s: %s", sizes[k], avro_codec_name(c), err.msg);
            cr_expect_eq(n, 1000);
            cr_expect(strstr(json.data, "{\"i\":999,\"s\":\"short\"}\n"), "last record");
            cr_expect(!strncmp(json.data, "{\"i\":0,\"s\":\"a somewhat", 20), "first record");
            buf_free(&file);
            buf_free(&json);
        }
    }
    /* block_bytes 1: one record a block, each with its sync marker */
    buf_t file = BUF_INIT;
    write_file(s, AVRO_CODEC_NULL, 1, vals, 3, &file);
    int syncs = 0;
    for (size_t i = 0; i + 16 <= file.len; i++) syncs += !memcmp(file.data + i, SYNC, 16);
    cr_expect_eq(syncs, 4, "header + 3 blocks");
    buf_free(&file);
    arena_free(&a);
    avro_schema_free(s);
}

/* ---------------------------------------------------------------- malformed */

static avro_schema_t *small_schema(void) {
    return parse("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"i\",\"type\":\"long\"},"
                 "{\"name\":\"s\",\"type\":[\"null\",\"string\"]}]}");
}

static void small_file(avro_codec c, size_t n, size_t block_bytes, buf_t *file) {
    avro_schema_t *s = small_schema();
    arena_t a;
    arena_init(&a, 4096);
    avro_value_t *vals[64];
    for (size_t i = 0; i < n; i++) {
        vals[i] = avro_record(&a, s->root);
        avro_record_set(vals[i], "i", avro_long(&a, (int64_t)i * 1000));
        avro_record_set(vals[i], "s", i % 2 ? avro_string(&a, "value") : NULL);
    }
    write_file(s, c, block_bytes, vals, n, file);
    arena_free(&a);
    avro_schema_free(s);
}

/* Reads all of it; returns the records read, fills err when it failed. */
static int read_all(const uint8_t *data, size_t len, floe_err *err) {
    avro_reader_t *r = avro_reader_open(data, len, "m.avro", err);
    if (!r) return -1;
    arena_t a;
    arena_init(&a, 4096);
    int n = 0;
    for (;;) {
        avro_value_t *v;
        if (!avro_reader_next(r, &a, &v, err)) {
            n = -1 - n;
            break;
        }
        if (!v) break;
        n++;
    }
    arena_free(&a);
    avro_reader_free(r);
    return n;
}

Test(avro, every_truncation_fails_cleanly) {
    for (avro_codec c = AVRO_CODEC_NULL; c <= AVRO_CODEC_ZSTD; c++) {
        buf_t file = BUF_INIT;
        small_file(c, 20, 50, &file);
        floe_err err = {0};
        cr_assert_eq(read_all((uint8_t *)file.data, file.len, &err), 20, "%s", err.msg);
        for (size_t cut = 0; cut < file.len; cut++) {
            floe_err e2 = {0};
            int n = read_all((uint8_t *)file.data, cut, &e2);
            if (n >= 0) {
                /* a cut right after a block's sync marker is a shorter, valid file */
                cr_expect(!memcmp(file.data + cut - 16, SYNC, 16), "%s cut at %zu read %d records", avro_codec_name(c),
                          cut, n);
            } else {
                cr_expect_eq(e2.code, FLOE_EINVAL, "%s cut %zu: %s", avro_codec_name(c), cut, e2.msg);
                cr_expect(!strncmp(e2.msg, "m.avro", 6), "%s", e2.msg);
            }
        }
        buf_free(&file);
    }
}

/* Every single-byte change either reads or fails with a message; never a
 * crash (the sanitizers watch). */
Test(avro, every_byte_flip_fails_cleanly) {
    for (avro_codec c = AVRO_CODEC_NULL; c <= AVRO_CODEC_ZSTD; c++) {
        buf_t file = BUF_INIT;
        small_file(c, 6, 30, &file);
        for (size_t i = 0; i < file.len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                file.data[i] ^= (char)(1 << bit);
                floe_err err = {0};
                if (read_all((uint8_t *)file.data, file.len, &err) < 0)
                    cr_expect(err.code == FLOE_EINVAL || err.code == FLOE_ETOOLARGE, "%zu: %s", i, err.msg);
                file.data[i] ^= (char)(1 << bit);
            }
        }
        buf_free(&file);
    }
}

/* Builds a null-codec file with the given schema and a raw block. */
static void raw_file(buf_t *f, const char *schema, const char *codec, int64_t count, int64_t size, const void *body,
                     size_t body_len, bool sync_after) {
    buf_append(f, "Obj\x01", 4);
    avro_write_long(f, codec ? 2 : 1);
    avro_write_long(f, 11);
    buf_puts(f, "avro.schema");
    avro_write_long(f, (int64_t)strlen(schema));
    buf_puts(f, schema);
    if (codec) {
        avro_write_long(f, 10);
        buf_puts(f, "avro.codec");
        avro_write_long(f, (int64_t)strlen(codec));
        buf_puts(f, codec);
    }
    avro_write_long(f, 0);
    buf_append(f, SYNC, 16);
    avro_write_long(f, count);
    avro_write_long(f, size);
    buf_append(f, body, body_len);
    if (sync_after) buf_append(f, SYNC, 16);
}

static void expect_error(buf_t *f, const char *want) {
    floe_err err = {0};
    int n = read_all((uint8_t *)f->data, f->len, &err);
    cr_expect_lt(n, 0, "read %d records; expected an error like %s", n, want);
    cr_expect(strstr(err.msg, want), "error \"%s\" does not contain \"%s\"", err.msg, want);
    buf_reset(f);
}

Test(avro, corrupt_files_give_the_right_error) {
    buf_t f = BUF_INIT;
    buf_puts(&f, "PAR1");
    expect_error(&f, "m.avro: at byte 0: expected the Avro container magic");

    /* a block that claims more bytes than the file has */
    raw_file(&f, "\"long\"", NULL, 9, 4000000000LL, "\x02\x04", 2, true);
    size_t at = f.len - 18 - 6; /* the block header starts before count and size */
    (void)at;
    {
        floe_err err = {0};
        read_all((uint8_t *)f.data, f.len, &err);
        cr_expect(strstr(err.msg, "block of 9 records claims 4000000000 bytes; expected at most the 2 bytes left"),
                  "%s", err.msg);
        cr_expect(strstr(err.msg, "m.avro: at byte "), "%s", err.msg);
    }
    buf_reset(&f);

    raw_file(&f, "\"long\"", NULL, -1, 2, "\x02\x04", 2, true);
    expect_error(&f, "block claims -1 records");

    raw_file(&f, "\"long\"", NULL, 2, 2, "\x02\x04", 2, false);
    buf_append(&f, "XXXXXXXXXXXXXXXX", 16);
    expect_error(&f, "expected the file's sync marker after the block");

    raw_file(&f, "\"long\"", NULL, 3, 3, "\x02\x04\x06", 3, true);
    buf_append(&f, "\x02", 1);
    expect_error(&f, "the file ends inside a variable-length integer");

    raw_file(&f, "\"long\"", NULL, 1, 3, "\x02\x04\x06", 3, true);
    expect_error(&f, "2 bytes are left over after the block's 1 records");

    raw_file(&f, "\"long\"", NULL, 5, 3, "\x02\x04\x06", 3, true);
    expect_error(&f, "block of 5 records holds 3 bytes; each record takes at least 1");

    raw_file(&f, "\"long\"", "lzo", 1, 1, "\x02", 1, true);
    expect_error(&f, "avro.codec is \"lzo\"; expected null, deflate, snappy or zstandard");

    raw_file(&f, "{\"type\":\"nope\"}", NULL, 1, 1, "\x02", 1, true);
    expect_error(&f, "m.avro: avro.schema: schema at (top)");

    raw_file(&f, "\"long\"", "deflate", 1, 3, "\xff\xff\xff", 3, true);
    expect_error(&f, "block at byte");

    raw_file(&f, "\"long\"", "snappy", 1, 7, "\x01\x00\x00\x00\x00\x00\x00", 7, true);
    expect_error(&f, "snappy block CRC-32 is 00000000; the data's is d202ef8d");

    raw_file(&f, "\"long\"", "zstandard", 1, 4, "\x28\xb5\x2f\xfd", 4, true);
    expect_error(&f, "zstandard data ends inside a frame");

    const char *enum_schema = "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"A\"]}";
    raw_file(&f, enum_schema, NULL, 1, 1, "\x02", 1, true);
    expect_error(&f, "enum e index 1; expected 0 to 0");

    raw_file(&f, "[\"null\",\"int\"]", NULL, 1, 1, "\x04", 1, true);
    expect_error(&f, "union branch 2; expected 0 to 1");

    raw_file(&f, "\"boolean\"", NULL, 1, 1, "\x07", 1, true);
    expect_error(&f, "boolean byte is 7; expected 0 or 1");

    raw_file(&f, "\"string\"", NULL, 1, 2, "\x10x", 2, true);
    expect_error(&f, "string: length 8; expected 0 to the 1 bytes left");

    /* an array block claiming 2^62 longs in 3 bytes */
    raw_file(&f, "{\"type\":\"array\",\"items\":\"long\"}", NULL, 1, 10, "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 10,
             true);
    expect_error(&f, "array block count: block of 4611686018427387903 items needs at least");
    buf_free(&f);
}

/* Values that take no bytes cannot make the reader loop or allocate without
 * bound: an array of 2^62 nulls is refused after the budget. */
Test(avro, zero_byte_values_are_bounded) {
    buf_t f = BUF_INIT;
    raw_file(&f, "{\"type\":\"array\",\"items\":\"null\"}", NULL, 1, 10, "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 10,
             true);
    expect_error(&f, "values that take no bytes");
    /* a block of 2^62 empty records */
    raw_file(&f, "{\"type\":\"record\",\"name\":\"e\",\"fields\":[]}", NULL, INT64_MAX / 2, 0, "", 0, true);
    expect_error(&f, "values that take no bytes");
    buf_free(&f);
}

Test(avro, deep_nesting_is_refused) {
    /* a recursive type, nested 1000 deep in the data */
    const char *schema = "{\"type\":\"record\",\"name\":\"n\",\"fields\":[{\"name\":\"c\",\"type\":[\"null\",\"n\"]}]}";
    uint8_t body[1001];
    memset(body, 0x02, 1000);
    body[1000] = 0;
    buf_t f = BUF_INIT;
    raw_file(&f, schema, NULL, 1, 1001, body, 1001, true);
    expect_error(&f, "values nest more than");
    /* a schema nested 1000 deep */
    buf_t s = BUF_INIT;
    for (int i = 0; i < 1000; i++) buf_puts(&s, "{\"type\":\"array\",\"items\":");
    buf_puts(&s, "\"int\"");
    for (int i = 0; i < 1000; i++) buf_putc(&s, '}');
    floe_err err = {0};
    cr_expect_null(avro_schema_parse(s.data, s.len, "deep", &err));
    cr_expect(strstr(err.msg, "nest more than"), "%s", err.msg);
    buf_free(&s);
    buf_free(&f);
}

Test(avro, decompression_bombs_are_refused) {
    /* 64 MiB of zeros deflates to ~64 KiB: more than 1032x in one block is refused */
    size_t n = 64u << 20;
    uint8_t *zeros = calloc(1, n);
    buf_t packed = BUF_INIT, out = BUF_INIT;
    floe_err err = {0};
    cr_assert(avro_compress(AVRO_CODEC_ZSTD, 19, zeros, n, &packed, &err));
    cr_expect_not(avro_decompress(AVRO_CODEC_ZSTD, (uint8_t *)packed.data, packed.len, &out, &err));
    cr_expect(strstr(err.msg, "expected at most 1032 times its size"), "%s", err.msg);
    buf_reset(&packed);
    cr_assert(avro_compress(AVRO_CODEC_DEFLATE, 9, zeros, 1u << 20, &packed, &err));
    cr_expect(avro_decompress(AVRO_CODEC_DEFLATE, (uint8_t *)packed.data, packed.len, &out, &err), "%s", err.msg);
    cr_expect_eq(out.len, 1u << 20);
    free(zeros);
    buf_free(&packed);
    buf_free(&out);
}

/* Wide schemas parse in linear time: duplicate checks and name lookups are
 * hashed. 50,000 fields, symbols, branches and named types. */
Test(avro, wide_schemas_parse_quickly, .timeout = 10) {
    buf_t s = BUF_INIT;
    buf_puts(&s, "{\"type\":\"record\",\"name\":\"wide\",\"fields\":[");
    for (int i = 0; i < 50000; i++)
        buf_printf(&s, "%s{\"name\":\"f%d\",\"type\":{\"type\":\"fixed\",\"name\":\"x%d\",\"size\":1}}", i ? "," : "",
                   i, i);
    buf_puts(&s, ",{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[");
    for (int i = 0; i < 50000; i++) buf_printf(&s, "%s\"S%d\"", i ? "," : "", i);
    buf_puts(&s, "]}},{\"name\":\"u\",\"type\":[");
    for (int i = 0; i < 50000; i++) buf_printf(&s, "%s\"x%d\"", i ? "," : "", i);
    buf_puts(&s, "]}]}");
    avro_schema_t *sc = parse(s.data);
    cr_expect_eq(sc->root->nfields, 50002);
    cr_expect_eq(sc->root->fields[50001].type->nbranches, 50000);
    cr_expect_eq(sc->root->min_bytes, 50000 + 1 + 2);
    avro_schema_free(sc);
    buf_free(&s);
}
