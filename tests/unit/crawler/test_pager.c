/*
 * test_pager.c: the pagination state machines (src/crawler/pager.c), fed
 * synthetic pages: what each request carries, when each style stops, and
 * the errors that end a crawl that would never end. Also the Link header
 * parser and URL resolution.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "crawler/crawler_int.h"

static arena_t ar;
static buf_t params;

static void add(void *arg, const char *name, const char *value) {
    buf_t *b = arg;
    buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, value);
}

/* The pagination parameters of the pager's next request. */
static const char *req(const crawl_pager *p) {
    buf_reset(&params);
    crawl_pager_params(p, add, &params);
    return params.data ? params.data : "";
}

/* Feeds a page: body, the records at path, and a Link next URL. */
static bool feed(crawl_pager *p, const char *body, const char *path, const char *link, floe_err *err) {
    crawl_page_info info = {.body = {body, strlen(body)}, .link_next = link};
    crawl_span recs, *el;
    cr_assert(crawl_json_check(body, strlen(body), err), "%s", err->msg);
    cr_assert(crawl_json_find(info.body, path, &recs));
    info.nrecords = crawl_json_elements(recs, &ar, &el);
    if (info.nrecords) info.last_record = el[info.nrecords - 1];
    return crawl_pager_next(p, &info, err);
}

static void setup(void) { arena_init(&ar, 0); }
static void teardown(void) {
    arena_free(&ar);
    buf_free(&params);
}

TestSuite(crawl_pager, .init = setup, .fini = teardown);

Test(crawl_pager, none_is_one_request) {
    crawl_pagination pg = {.type = CRAWL_PAGE_NONE};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "");
    cr_assert(feed(&p, "[1,2,3]", "$", NULL, &err));
    cr_assert(p.done);
    cr_assert_eq(p.pages, 1);
}

Test(crawl_pager, offset_short_page_and_total) {
    crawl_pagination pg = {.type = CRAWL_PAGE_OFFSET, .param = "offset", .limit_param = "limit", .limit = 3};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "offset=0&limit=3");
    cr_assert(feed(&p, "{\"trades\":[1,2,3]}", "trades", NULL, &err));
    cr_assert_not(p.done);
    cr_assert_str_eq(req(&p), "offset=3&limit=3");
    cr_assert(feed(&p, "{\"trades\":[4,5]}", "trades", NULL, &err));
    cr_assert(p.done, "a short page is the last");
    /* with total: the offset reaching it stops before an empty page */
    pg.total = "total";
    crawl_pager_init(&p, &pg, "3", &ar);
    cr_assert_str_eq(req(&p), "offset=3&limit=3", "the job's start value");
    cr_assert(feed(&p, "{\"total\":6,\"trades\":[4,5,6]}", "trades", NULL, &err));
    cr_assert(p.done, "offset 6 reached total 6");
    /* without a limit only an empty page stops */
    crawl_pagination nolim = {.type = CRAWL_PAGE_OFFSET, .param = "o", .start_n = 10};
    crawl_pager_init(&p, &nolim, NULL, &ar);
    cr_assert_str_eq(req(&p), "o=10");
    cr_assert(feed(&p, "[1]", "$", NULL, &err));
    cr_assert_not(p.done);
    cr_assert_str_eq(req(&p), "o=11");
    cr_assert(feed(&p, "[]", "$", NULL, &err));
    cr_assert(p.done);
}

Test(crawl_pager, page_numbers_and_total_pages) {
    crawl_pagination pg = {
        .type = CRAWL_PAGE_PAGE, .param = "page", .limit_param = "size", .limit = 2, .start_n = 1, .total = "pages"};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "page=1&size=2");
    cr_assert(feed(&p, "{\"pages\":2,\"data\":{\"trades\":[1,2]}}", "data.trades", NULL, &err));
    cr_assert_str_eq(req(&p), "page=2&size=2");
    cr_assert(feed(&p, "{\"pages\":2,\"data\":{\"trades\":[3,4]}}", "data.trades", NULL, &err));
    cr_assert(p.done, "page 2 of 2 is the last though it is full");
    cr_assert_eq(p.pages, 2);
}

Test(crawl_pager, cursor_from_body) {
    crawl_pagination pg = {
        .type = CRAWL_PAGE_CURSOR, .param = "cursor", .next = "next", .limit_param = "limit", .limit = 2};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "limit=2", "no cursor on the first request");
    cr_assert(feed(&p, "{\"data\":[1,2],\"next\":\"a b&c\"}", "data", NULL, &err));
    cr_assert_str_eq(p.cursor, "a b&c");
    cr_assert(feed(&p, "{\"data\":[3],\"next\":42}", "data", NULL, &err));
    cr_assert_not(p.done, "a short page does not stop a body cursor: next says");
    cr_assert_str_eq(req(&p), "cursor=42&limit=2");
    cr_assert(feed(&p, "{\"data\":[4],\"next\":null}", "data", NULL, &err));
    cr_assert(p.done, "next null is the end");
    const char *ends[] = {"{\"data\":[1]}", "{\"data\":[1],\"next\":\"\"}"};
    for (int i = 0; i < 2; i++) {
        crawl_pager_init(&p, &pg, NULL, &ar);
        cr_assert(feed(&p, ends[i], "data", NULL, &err));
        cr_assert(p.done, "%s ends the crawl", ends[i]);
    }
    crawl_pager_init(&p, &pg, "c0", &ar);
    cr_assert_str_eq(req(&p), "cursor=c0&limit=2");
    cr_assert(feed(&p, "{\"data\":[1,2],\"next\":\"c1\"}", "data", NULL, &err));
    cr_assert_not(feed(&p, "{\"data\":[1,2],\"next\":\"c1\"}", "data", NULL, &err), "a cursor that does not move");
    cr_assert(strstr(err.msg, "did not move"), "%s", err.msg);
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_not(feed(&p, "{\"data\":[1],\"next\":{\"a\":1}}", "data", NULL, &err));
    cr_assert(strstr(err.msg, "not a cursor"), "%s", err.msg);
}

/* Binance: fromId = the last trade's id + 1; a short or empty page ends. */
Test(crawl_pager, cursor_from_record_binance_style) {
    crawl_pagination pg = {.type = CRAWL_PAGE_CURSOR,
                           .param = "fromId",
                           .from_record = "id",
                           .increment = 1,
                           .limit_param = "limit",
                           .limit = 3};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "limit=3");
    cr_assert(feed(&p, "[{\"id\":7},{\"id\":8},{\"id\":9}]", "$", NULL, &err));
    cr_assert_str_eq(req(&p), "fromId=10&limit=3");
    cr_assert(feed(&p, "[{\"id\":10},{\"id\":11},{\"id\":12}]", "$", NULL, &err));
    cr_assert_str_eq(req(&p), "fromId=13&limit=3");
    cr_assert(feed(&p, "[]", "$", NULL, &err));
    cr_assert(p.done);
    cr_assert_eq(p.pages, 3);
    /* a short page ends without another request */
    crawl_pager_init(&p, &pg, "100", &ar);
    cr_assert_str_eq(req(&p), "fromId=100&limit=3");
    cr_assert(feed(&p, "[{\"id\":100}]", "$", NULL, &err));
    cr_assert(p.done);
    /* nested path, a string id, increment 0 */
    crawl_pagination s = {.type = CRAWL_PAGE_CURSOR, .param = "after", .from_record = "meta.key", .increment = 0};
    crawl_pager_init(&p, &s, NULL, &ar);
    cr_assert(feed(&p, "[{\"meta\":{\"key\":\"k1\"}},{\"meta\":{\"key\":\"k2\"}}]", "$", NULL, &err));
    cr_assert_str_eq(req(&p), "after=k2");
    /* a string id with an increment: only when it is a number */
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert(feed(&p, "[{\"id\":\"5\"},{\"id\":\"6\"},{\"id\":\"41\"}]", "$", NULL, &err));
    cr_assert_str_eq(req(&p), "fromId=42&limit=3");
    cr_assert_not(feed(&p, "[{\"id\":1},{\"id\":2},{\"id\":\"x\"}]", "$", NULL, &err));
    cr_assert(strstr(err.msg, "not an integer"), "%s", err.msg);
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_not(feed(&p, "[{\"id\":1},{\"id\":2},{\"no\":3}]", "$", NULL, &err));
    cr_assert(strstr(err.msg, "no scalar 'id'"), "%s", err.msg);
}

Test(crawl_pager, link) {
    crawl_pagination pg = {.type = CRAWL_PAGE_LINK, .limit_param = "limit", .limit = 2};
    crawl_pager p;
    floe_err err = {0};
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert_str_eq(req(&p), "limit=2");
    cr_assert(feed(&p, "[1,2]", "$", "http://h/x?fromId=2&limit=2", &err));
    cr_assert_str_eq(p.next_url, "http://h/x?fromId=2&limit=2");
    cr_assert_str_eq(req(&p), "", "the link carries every parameter");
    cr_assert_not(feed(&p, "[3,4]", "$", "http://h/x?fromId=2&limit=2", &err), "a link to the same page");
    crawl_pager_init(&p, &pg, NULL, &ar);
    cr_assert(feed(&p, "[1,2]", "$", NULL, &err));
    cr_assert(p.done, "no rel=next: the last page");
}

Test(crawl_pager, link_header_parsing) {
    buf_t b = BUF_INIT;
    cr_assert(crawl_link_next("<http://h/p?a=1&b=2>; rel=\"next\"", &b));
    cr_assert_str_eq(b.data, "http://h/p?a=1&b=2");
    buf_reset(&b);
    cr_assert(crawl_link_next("<http://h/1>; rel=\"prev\", <http://h/3,x>; rel=\"next\"; title=\"a, b\"", &b));
    cr_assert_str_eq(b.data, "http://h/3,x", "commas inside <> and quoted values");
    buf_reset(&b);
    cr_assert(crawl_link_next("</p/2>;rel=next", &b));
    cr_assert_str_eq(b.data, "/p/2");
    buf_reset(&b);
    cr_assert(crawl_link_next("<a>; rel=\"last\", <b>; REL=\"prefetch NEXT\"", &b));
    cr_assert_str_eq(b.data, "b", "rel is a space-separated list, case-insensitive");
    buf_reset(&b);
    cr_assert_not(crawl_link_next("<http://h/1>; rel=\"prev\"", &b));
    cr_assert_not(crawl_link_next("<http://h/1>; rel=\"nextpage\"", &b));
    cr_assert_not(crawl_link_next("", &b));
    cr_assert_not(crawl_link_next("garbage, <unterminated; rel=next", &b));
    buf_free(&b);
}

Test(crawl_pager, urls) {
    buf_t b = BUF_INIT;
    cr_assert(crawl_url_resolve("http://h:8800/api/v1/x?a=1", "/api/v1/x?a=2", &b));
    cr_assert_str_eq(b.data, "http://h:8800/api/v1/x?a=2");
    buf_reset(&b);
    cr_assert(crawl_url_resolve("http://h/a/b", "c?d=1", &b));
    cr_assert_str_eq(b.data, "http://h/a/c?d=1");
    buf_reset(&b);
    cr_assert(crawl_url_resolve("http://h/a", "https://other:1/z", &b));
    cr_assert_str_eq(b.data, "https://other:1/z");
    buf_free(&b);
    char key[300];
    cr_assert(crawl_url_host("http://Example.com/x", key, sizeof key));
    cr_assert_str_eq(key, "example.com:80");
    cr_assert(crawl_url_host("https://example.com", key, sizeof key));
    cr_assert_str_eq(key, "example.com:443");
    cr_assert(crawl_url_host("http://127.0.0.1:8800", key, sizeof key));
    cr_assert_str_eq(key, "127.0.0.1:8800");
    cr_assert_not(crawl_url_host("ftp://example.com", key, sizeof key));
    cr_assert_not(crawl_url_host("example.com", key, sizeof key));
    cr_assert_not(crawl_url_host("http://", key, sizeof key));
}
