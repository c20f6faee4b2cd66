/*
 * test_records.c: record selection (src/crawler/json_span.c): what counts
 * as JSON, paths into a response, records copied byte for byte but
 * compact, and scalars for cursors.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "crawler/crawler_int.h"

static crawl_span sp(const char *s) { return (crawl_span){s, strlen(s)}; }

static bool check(const char *s) {
    floe_err err = {0};
    return crawl_json_check(s, strlen(s), &err);
}

Test(crawl_json, check_accepts_json) {
    const char *ok[] = {"[]",
                        "{}",
                        " [1, -2.5e+3, 0, 0.25, true, false, null] ",
                        "\"\\u00e9\\n\\\"\"",
                        "{\"a\":{\"b\":[{\"c\":\"\xc3\xa9\"}]}}",
                        "123456789012345678901234567890",
                        "-0",
                        "\t\r\n{}"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) cr_assert(check(ok[i]), "%s", ok[i]);
}

Test(crawl_json, check_refuses_the_rest) {
    const char *bad[] = {"",         "[",           "[1,]",    "{\"a\" 1}", "{a:1}",      "01",         "1.",
                         "-",        "+1",          "[1] [2]", "\"a",       "\"\\x\"",    "tru",        "nul",
                         "\"a\tb\"", "\"\\u12g4\"", "[1 2]",   "{\"a\":}",  "\xff\xfe[]", "[\"\xc3\"]", "NaN"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) cr_assert_not(check(bad[i]), "%s", bad[i]);
    floe_err err = {0};
    cr_assert_not(crawl_json_check("[1,2,}", 6, &err));
    cr_assert(strstr(err.msg, "not JSON") && strstr(err.msg, "byte 5"), "%s", err.msg);
    char deep[601];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = 0;
    cr_assert_not(crawl_json_check(deep, 600, &err), "nesting past 256 is refused, not a stack overflow");
    cr_assert(strstr(err.msg, "deeper"), "%s", err.msg);
    cr_assert(crawl_json_check(deep + 100, 400, &err), "200 deep is fine: %s", err.msg);
}

Test(crawl_json, find_paths) {
    const char *doc = " { \"data\" : { \"trades\" : [ {\"id\":1} , {\"id\":2} ], \"n\": 2 },"
                      " \"next\": null, \"a.b\": 1, \"k\\u0065y\": \"v\" } ";
    crawl_span v;
    cr_assert(crawl_json_find(sp(doc), "$", &v));
    cr_assert_eq(v.p[0], '{');
    cr_assert_eq(v.p[v.n - 1], '}', "the root span is trimmed");
    cr_assert(crawl_json_find(sp(doc), "data.trades", &v));
    cr_assert_eq(crawl_json_kind_of(v), CRAWL_JSON_ARRAY);
    cr_assert(crawl_json_find(sp(doc), "$.data.trades", &v));
    cr_assert(crawl_json_find(sp(doc), "data.trades.1.id", &v));
    cr_assert_eq(v.n, 1);
    cr_assert_eq(v.p[0], '2');
    cr_assert(crawl_json_find(sp(doc), "data.n", &v) && crawl_json_kind_of(v) == CRAWL_JSON_NUMBER);
    cr_assert(crawl_json_find(sp(doc), "next", &v) && crawl_json_kind_of(v) == CRAWL_JSON_LITERAL);
    cr_assert(crawl_json_find(sp(doc), "key", &v), "an escaped key matches its unescaped name");
    cr_assert_not(crawl_json_find(sp(doc), "data.trades.2", &v));
    cr_assert_not(crawl_json_find(sp(doc), "data.trades.x", &v));
    cr_assert_not(crawl_json_find(sp(doc), "data.n.x", &v));
    cr_assert_not(crawl_json_find(sp(doc), "missing", &v));
    cr_assert_not(crawl_json_find(sp(doc), "dat", &v), "a prefix of a key is not the key");
    cr_assert_not(crawl_json_find(sp(doc), "a.b", &v), "dots separate keys");
}

Test(crawl_json, elements_compact_byte_for_byte) {
    const char *doc = "[ {\"id\": 12345678901234567890123, \"price\": 0.1000,\n \"s\": \"a b\\\" c\"} ,\n"
                      "  [ 1 , 2 ] , \"x y\" , 1e-7 , {} ]";
    arena_t a;
    arena_init(&a, 0);
    crawl_span *el;
    size_t n = crawl_json_elements(sp(doc), &a, &el);
    cr_assert_eq(n, 5);
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        crawl_json_compact(el[i], &b);
        buf_putc(&b, '\n');
    }
    cr_assert_str_eq(b.data, "{\"id\":12345678901234567890123,\"price\":0.1000,\"s\":\"a b\\\" c\"}\n"
                             "[1,2]\n\"x y\"\n1e-7\n{}\n");
    cr_assert_eq(crawl_json_elements(sp("[ ]"), &a, &el), 0);
    buf_free(&b);
    arena_free(&a);
}

Test(crawl_json, many_elements) {
    buf_t doc = BUF_INIT;
    buf_putc(&doc, '[');
    for (int i = 0; i < 5000; i++) buf_printf(&doc, "%s{\"id\":%d}", i ? "," : "", i);
    buf_putc(&doc, ']');
    arena_t a;
    arena_init(&a, 0);
    crawl_span *el;
    cr_assert_eq(crawl_json_elements((crawl_span){doc.data, doc.len}, &a, &el), 5000);
    cr_assert_eq(strncmp(el[4999].p, "{\"id\":4999}", el[4999].n), 0);
    arena_free(&a);
    buf_free(&doc);
}

Test(crawl_json, scalars) {
    buf_t b = BUF_INIT;
    bool is_null;
    cr_assert(crawl_json_scalar(sp(" \"ab\\u00e9\\ud83d\\ude00\\n\" "), &b, &is_null) && !is_null);
    cr_assert_str_eq(b.data, "ab\xc3\xa9\xf0\x9f\x98\x80\n");
    buf_reset(&b);
    cr_assert(crawl_json_scalar(sp("-12.50"), &b, &is_null));
    cr_assert_str_eq(b.data, "-12.50");
    buf_reset(&b);
    cr_assert(crawl_json_scalar(sp("true"), &b, &is_null));
    cr_assert_str_eq(b.data, "true");
    buf_reset(&b);
    cr_assert(crawl_json_scalar(sp("null"), &b, &is_null) && is_null);
    cr_assert_not(crawl_json_scalar(sp("[1]"), &b, &is_null));
    cr_assert_not(crawl_json_scalar(sp("{}"), &b, &is_null));
    buf_free(&b);
}
