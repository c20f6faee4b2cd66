/*
 * test_xml.c: S3 request-body parsing and XML escaping (src/store/s3/xml.c).
 *
 * Most cases are files under tests/unit/store/data/xml/, one case a file:
 *
 *   # comment lines
 *   parser: delete | complete | create_bucket | tagging
 *   error: <part of the expected message>      (the body must be rejected)
 *   dump: <line>                               (else: the parse, dumped, line by line)
 *   === body
 *   <the request body, byte for byte, to the end of the file>
 *
 * Limits (1000 keys, 10000 parts) and escaping are tested in code below.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "store/s3/s3_int.h"

#define XML_CASES "tests/unit/store/data/xml"

static void dump_delete(const s3_delete_req *r, buf_t *out) {
    buf_printf(out, "quiet=%s\n", r->quiet ? "true" : "false");
    for (size_t i = 0; i < r->nobjects; i++) {
        buf_puts(out, "key=");
        buf_append(out, r->objects[i].key, r->objects[i].key_len);
        buf_printf(out, " version=%s\n", r->objects[i].version_id ? r->objects[i].version_id : "(none)");
    }
}

static void dump_complete(const s3_complete_req *r, buf_t *out) {
    for (size_t i = 0; i < r->nparts; i++) {
        buf_printf(out, "part=%d etag=%s", r->parts[i].part_number, r->parts[i].etag);
        for (int a = HASH_CRC32; a <= HASH_SHA256; a++)
            if (r->parts[i].checksum[a])
                buf_printf(out, " %s=%s", hash_algo_name((hash_algo)a), r->parts[i].checksum[a]);
        buf_putc(out, '\n');
    }
}

/* Runs one parser over body; fills dump on success. */
static bool run_parser(const char *parser, const char *body, size_t len, buf_t *dump, floe_err *err) {
    arena_t a;
    arena_init(&a, 4096);
    bool ok;
    if (strcmp(parser, "delete") == 0) {
        s3_delete_req r;
        ok = s3_xml_parse_delete(body, len, &a, &r, err);
        if (ok)
            dump_delete(&r, dump);
        else
            cr_expect(r.nobjects == 0 && r.objects == NULL, "a failed parse leaves no half result");
    } else if (strcmp(parser, "complete") == 0) {
        s3_complete_req r;
        ok = s3_xml_parse_complete(body, len, &a, &r, err);
        if (ok)
            dump_complete(&r, dump);
        else
            cr_expect(r.nparts == 0 && r.parts == NULL, "a failed parse leaves no half result");
    } else if (strcmp(parser, "create_bucket") == 0) {
        char *loc = (char *)"x";
        ok = s3_xml_parse_create_bucket(body, len, &a, &loc, err);
        if (ok)
            buf_printf(dump, "location=%s\n", loc ? loc : "(none)");
        else
            cr_expect_null(loc);
    } else if (strcmp(parser, "tagging") == 0) {
        s3_tag *tags = (s3_tag *)"x";
        size_t n = 99;
        ok = s3_xml_parse_tagging(body, len, &a, &tags, &n, err);
        if (ok)
            for (size_t i = 0; i < n; i++) buf_printf(dump, "tag %s=%s\n", tags[i].key, tags[i].value);
        else
            cr_expect(tags == NULL && n == 0, "a failed parse leaves no half result");
    } else {
        cr_expect(false, "unknown parser '%s'", parser);
        ok = false;
    }
    arena_free(&a);
    return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s (tests run from the repository root)", path);
    buf_t b = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    buf_putc(&b, '\0');
    *len = b.len - 1;
    return buf_steal(&b);
}

static void run_case(const char *path) {
    size_t len;
    char *file = read_all(path, &len);
    char parser[64] = "", error[400] = "";
    buf_t want = BUF_INIT;
    bool want_error = false;
    char *p = file, *body = NULL;
    while (p < file + len) {
        char *nl = memchr(p, '\n', (size_t)(file + len - p));
        cr_assert(nl, "%s: no '=== body' line", path);
        *nl = '\0';
        if (strcmp(p, "=== body") == 0) {
            body = nl + 1;
            break;
        }
        if (strncmp(p, "parser: ", 8) == 0)
            snprintf(parser, sizeof parser, "%s", p + 8);
        else if (strncmp(p, "error: ", 7) == 0)
            want_error = true, snprintf(error, sizeof error, "%s", p + 7);
        else if (strncmp(p, "dump: ", 6) == 0)
            buf_printf(&want, "%s\n", p + 6);
        else
            cr_assert(p[0] == '#' || p[0] == '\0', "%s: unknown header line '%s'", path, p);
        p = nl + 1;
    }
    cr_assert(body, "%s: no '=== body' line", path);
    size_t body_len = (size_t)(file + len - body);
    buf_t got = BUF_INIT;
    floe_err err = {0};
    bool ok = run_parser(parser, body, body_len, &got, &err);
    if (want_error) {
        cr_expect(!ok, "%s: accepted, dump:\n%s", path, got.data ? got.data : "");
        cr_expect_eq(err.code, FLOE_EINVAL, "%s: %s", path, floe_code_name(err.code));
        cr_expect(strstr(err.msg, error) != NULL, "%s: message '%s' lacks '%s'", path, err.msg, error);
    } else {
        cr_expect(ok, "%s: %s", path, err.msg);
        cr_expect_str_eq(got.data ? got.data : "", want.data ? want.data : "", "%s: dump differs", path);
    }
    buf_free(&got);
    buf_free(&want);
    free(file);
}

Test(xml, cases_from_files) {
    struct dirent **names;
    int n = scandir(XML_CASES, &names, NULL, by_name);
    cr_assert(n >= 0, "cannot read %s (tests run from the repository root)", XML_CASES);
    int cases = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]->d_name);
        if (l > 5 && strcmp(names[i]->d_name + l - 5, ".case") == 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", XML_CASES, names[i]->d_name);
            run_case(path);
            cases++;
        }
        free(names[i]);
    }
    free(names);
    cr_expect_gt(cases, 30, "only %d cases in %s", cases, XML_CASES);
}

static void delete_body(buf_t *b, int n) {
    buf_puts(b, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < n; i++) buf_printf(b, "<Object><Key>k%d</Key></Object>", i);
    buf_puts(b, "</Delete>");
}

Test(xml, delete_limit_is_1000) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t b = BUF_INIT;
    delete_body(&b, 1000);
    s3_delete_req r;
    floe_err err;
    cr_assert(s3_xml_parse_delete(b.data, b.len, &a, &r, &err), "%s", err.msg);
    cr_expect_eq(r.nobjects, 1000);
    cr_expect_str_eq(r.objects[999].key, "k999");
    cr_expect_str_eq(r.objects[0].key, "k0");
    buf_reset(&b);
    delete_body(&b, 1001);
    cr_expect(!s3_xml_parse_delete(b.data, b.len, &a, &r, &err));
    cr_expect(strstr(err.msg, "more than 1000 <Object>") != NULL, "%s", err.msg);
    /* A huge count fails at the 1001st, not after reading them all. */
    buf_reset(&b);
    delete_body(&b, 200000);
    cr_expect(!s3_xml_parse_delete(b.data, b.len, &a, &r, &err));
    cr_expect(strstr(err.msg, "line 1: more than 1000") != NULL, "%s", err.msg);
    buf_free(&b);
    arena_free(&a);
}

static void complete_body(buf_t *b, int n) {
    buf_puts(b, "<CompleteMultipartUpload>\n");
    for (int i = 1; i <= n; i++) buf_printf(b, "<Part><PartNumber>%d</PartNumber><ETag>\"e%d\"</ETag></Part>\n", i, i);
    buf_puts(b, "</CompleteMultipartUpload>");
}

Test(xml, complete_limit_is_10000) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t b = BUF_INIT;
    complete_body(&b, 10000);
    s3_complete_req r;
    floe_err err;
    cr_assert(s3_xml_parse_complete(b.data, b.len, &a, &r, &err), "%s", err.msg);
    cr_expect_eq(r.nparts, 10000);
    cr_expect_eq(r.parts[9999].part_number, 10000);
    cr_expect_str_eq(r.parts[9999].etag, "e10000");
    buf_reset(&b);
    complete_body(&b, 10001);
    cr_expect(!s3_xml_parse_complete(b.data, b.len, &a, &r, &err));
    cr_expect(strstr(err.msg, "more than 10000 <Part>") != NULL, "%s", err.msg);
    cr_expect(strstr(err.msg, "line 10002") != NULL, "the message names the line: %s", err.msg);
    buf_free(&b);
    arena_free(&a);
}

Test(xml, deep_unknown_nesting_is_skipped) {
    arena_t a;
    arena_init(&a, 4096);
    buf_t b = BUF_INIT;
    buf_puts(&b, "<Delete><Object><Key>k</Key></Object>");
    for (int i = 0; i < 100000; i++) buf_puts(&b, "<x>");
    for (int i = 0; i < 100000; i++) buf_puts(&b, "</x>");
    buf_puts(&b, "</Delete>");
    s3_delete_req r;
    floe_err err;
    cr_expect(s3_xml_parse_delete(b.data, b.len, &a, &r, &err), "%s", err.msg);
    cr_expect_eq(r.nobjects, 1);
    buf_free(&b);
    arena_free(&a);
}

static void escaped(const char *s, size_t n, const char *want) {
    buf_t b = BUF_INIT;
    s3_xml_escape(&b, s, n);
    cr_expect_str_eq(b.data ? b.data : "", want);
    buf_free(&b);
}

Test(xml, escape_forms) {
    escaped("", 0, "");
    escaped("plain key/with.dots", 19, "plain key/with.dots");
    escaped("a&b<c>d\"e'f", 11, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    escaped("tab\tnl\ncr\r", 10, "tab&#x9;nl&#xA;cr&#xD;");
    escaped("\x01\x1f\x7f", 3, "&#x1;&#x1F;\x7f");
    escaped("nul\0x", 5, "nul&#x0;x");
    escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* Not UTF-8: stray bytes become U+FFFD. */
    escaped("a\xff"
            "b\xc3",
            4, "a&#xFFFD;b&#xFFFD;");
    escaped("\xc0\xaf", 2, "&#xFFFD;&#xFFFD;");             /* overlong '/' */
    escaped("\xed\xa0\x80", 3, "&#xFFFD;&#xFFFD;&#xFFFD;"); /* a surrogate */
    escaped("\xef\xbf\xbe", 3, "&#xFFFE;");                 /* U+FFFE is no XML character */
}

/* What escape writes, expat reads back unchanged (for text XML can carry). */
static void round_trip(const char *key, size_t n) {
    buf_t b = BUF_INIT;
    buf_puts(&b, "<Delete><Object><Key>");
    s3_xml_escape(&b, key, n);
    buf_puts(&b, "</Key><VersionId>");
    s3_xml_escape(&b, key, n);
    buf_puts(&b, "</VersionId></Object></Delete>");
    arena_t a;
    arena_init(&a, 4096);
    s3_delete_req r;
    floe_err err;
    cr_assert(s3_xml_parse_delete(b.data, b.len, &a, &r, &err), "%s in %s", err.msg, b.data);
    cr_expect_eq(r.objects[0].key_len, n);
    cr_expect(memcmp(r.objects[0].key, key, n) == 0, "round trip of '%.*s' gave '%s'", (int)n, key, r.objects[0].key);
    cr_expect(memcmp(r.objects[0].version_id, key, n) == 0);
    arena_free(&a);
    buf_free(&b);
}

Test(xml, escape_round_trip) {
    const char *keys[] = {"simple",
                          "a&b<c>d\"e'f",
                          "&amp; is already escaped",
                          "]]> <![CDATA[ x ]]>",
                          "  leading and trailing spaces  ",
                          "line1\nline2\r\nline3\rend\ttab",
                          "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80",
                          "percent%20and+plus",
                          "<?xml version=\"1.0\"?>"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) round_trip(keys[i], strlen(keys[i]));
    /* Every printable ASCII character. */
    char all[95];
    for (int c = 0x20; c < 0x7f; c++) all[c - 0x20] = (char)c;
    round_trip(all, sizeof all);
}
