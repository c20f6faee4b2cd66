/*
 * test_yaml.c: YAML into JSON with lines (base/yaml.h): core-schema
 * scalars, quoted strings stay strings, key and item lines, anchors, and
 * errors that name the file, line and column.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/yaml.h"

static yaml_doc *load(const char *text) {
    floe_err err = {0};
    yaml_doc *d = yaml_load_str(text, strlen(text), "t.yaml", &err);
    cr_assert(d, "%s", err.msg);
    return d;
}

Test(yaml, scalars_follow_the_core_schema) {
    yaml_doc *d = load("a: 1\nb: -2.5\nc: true\nd: ~\ne: '1'\nf: hello world\ng: 0x10\nh: \"true\"\ni: 1e3\nj: 1.2.3\n");
    json_t *r = yaml_root(d);
    cr_assert(json_is_integer(json_object_get(r, "a")) && json_integer_value(json_object_get(r, "a")) == 1);
    cr_assert(json_is_real(json_object_get(r, "b")) && json_real_value(json_object_get(r, "b")) == -2.5);
    cr_assert(json_is_true(json_object_get(r, "c")));
    cr_assert(json_is_null(json_object_get(r, "d")));
    cr_assert_str_eq(json_string_value(json_object_get(r, "e")), "1");
    cr_assert_str_eq(json_string_value(json_object_get(r, "f")), "hello world");
    cr_assert_eq(json_integer_value(json_object_get(r, "g")), 16);
    cr_assert_str_eq(json_string_value(json_object_get(r, "h")), "true");
    cr_assert(json_is_real(json_object_get(r, "i")));
    cr_assert_str_eq(json_string_value(json_object_get(r, "j")), "1.2.3");
    yaml_free(d);
}

Test(yaml, lines_of_keys_and_items) {
    yaml_doc *d = load("# comment\nname: x\ntasks:\n  crawl:\n    type: crawl\n\n    upstream:\n      - a\n      - b\n");
    json_t *r = yaml_root(d);
    cr_assert_eq(yaml_line(d, r, "name", 0), 2);
    cr_assert_eq(yaml_line(d, r, "tasks", 0), 3);
    json_t *crawl = json_object_get(json_object_get(r, "tasks"), "crawl");
    cr_assert_eq(yaml_line(d, crawl, "type", 0), 5);
    cr_assert_eq(yaml_line(d, crawl, "upstream", 0), 7);
    json_t *up = json_object_get(crawl, "upstream");
    cr_assert_eq(yaml_line(d, up, NULL, 1), 9);
    cr_assert_eq(yaml_node_line(d, crawl), 5);
    cr_assert_eq(yaml_line(d, r, "missing", 0), 0);
    /* keys keep their order */
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach(r, k, v) {
        (void)v;
        cr_assert_str_eq(k, i++ == 0 ? "name" : "tasks");
    }
    yaml_free(d);
}

Test(yaml, anchors_resolve) {
    yaml_doc *d = load("base: &b {retries: 3}\nx: *b\n");
    json_t *x = json_object_get(yaml_root(d), "x");
    cr_assert_eq(json_integer_value(json_object_get(x, "retries")), 3);
    yaml_free(d);
}

Test(yaml, errors_name_file_line_and_column) {
    floe_err err = {0};
    const char *bad = "a: 1\nb: [1, 2\n";
    cr_assert_null(yaml_load_str(bad, strlen(bad), "p.yaml", &err));
    cr_assert(strstr(err.msg, "p.yaml:"), "%s", err.msg);
    cr_assert_eq(err.code, FLOE_EINVAL);
    const char *dup = "a: 1\na: 2\n";
    cr_assert_null(yaml_load_str(dup, strlen(dup), "d.yaml", &err));
    cr_assert(strstr(err.msg, "d.yaml:2:"), "%s", err.msg);
    cr_assert_null(yaml_load_file("/nonexistent/x.yaml", &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    yaml_doc *d = load("");
    cr_assert(json_is_null(yaml_root(d)));
    yaml_free(d);
}
