/*
 * fuzz_crawler_config.c: libFuzzer harness for the crawler config loader
 * (src/crawler/config.c, over base/yaml).
 *
 * Input: the YAML text. Loading it must either fail with FLOE_EINVAL and a
 * message that names the input ("fuzz.yaml"), or give a crawler whose every
 * endpoint keeps the promises the rest of the crawler relies on: a base
 * URL with a host, a path from '/', a records path, a pagination parameter
 * where its type needs one, a page size where a page-size parameter is set,
 * positive limits and a host limiter. The harness then lists the endpoints
 * and frees it all (leaks are failures under ASan). An error never shows
 * the value of a substituted variable. One environment
 * variable is set, so ${FUZZ_SECRET} substitutes and others do not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/crawler_int.h"

/* libfyaml 0.8 (Debian 12) leaks a 4 KiB scanner buffer on some malformed
 * flow sequences ("- '''...'-'\n- - -'\n- -}}"); the leak is inside the
 * library, not in Floe's memory, so LeakSanitizer ignores libfyaml's own
 * allocations here. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

static void check_endpoint(const crawl_endpoint *ep) {
    if (!ep->name || !*ep->name || !ep->base_url || !ep->path || ep->path[0] != '/' || !ep->records || !*ep->records ||
        !ep->host || !ep->method)
        abort();
    char key[CRAWL_HOST_KEY_MAX];
    if (!crawl_url_host(ep->base_url, key, sizeof key) || strcmp(key, ep->host->key)) abort();
    const crawl_pagination *pg = &ep->pg;
    bool needs_param = pg->type == CRAWL_PAGE_OFFSET || pg->type == CRAWL_PAGE_PAGE || pg->type == CRAWL_PAGE_CURSOR;
    if (needs_param != (pg->param != NULL)) abort();
    if (pg->limit_param && pg->limit <= 0) abort();
    if (pg->type == CRAWL_PAGE_CURSOR && !pg->next == !pg->from_record) abort();
    if (ep->timeout_ms < 1000 || ep->retries < 0 || ep->max_pages < 1 || ep->backoff_ms < 1 ||
        ep->backoff_max_ms < ep->backoff_ms)
        abort();
    if (ep->limiter.limited && (ep->limiter.bucket.rate <= 0 || ep->limiter.bucket.burst < 1)) abort();
    for (size_t i = 0; i < ep->nheaders; i++)
        if (!strchr(ep->headers[i], ':') || strpbrk(ep->headers[i], "\r\n")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool env;
    if (!env) {
        setenv("FUZZ_SECRET", "fuzz-secret-value", 1);
        env = true;
    }
    floe_err err = {0};
    crawl_t *c = crawl_load_str((const char *)data, size, "fuzz.yaml", &err);
    if (!c) {
        if (err.code != FLOE_EINVAL || !strstr(err.msg, "fuzz.yaml")) abort();
        /* the value of ${FUZZ_SECRET} never shows, unless the input spells it */
        if (strstr(err.msg, "fuzz-secret-value") && !memmem(data, size, "fuzz-secret-value", 17)) abort();
        return 0;
    }
    if (crawl_endpoint_count(c) == 0) abort();
    for (size_t i = 0; i < crawl_endpoint_count(c); i++) {
        const crawl_endpoint *ep = crawl_endpoint_find(c, crawl_endpoint_name(c, i));
        if (!ep) abort();
        check_endpoint(ep);
    }
    crawl_free(c);
    return 0;
}
