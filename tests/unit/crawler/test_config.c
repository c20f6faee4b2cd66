/*
 * test_config.c: the crawler config loader (src/crawler/config.c).
 *
 * The cases are data files, tests/unit/crawler/config_cases/NAME.yaml, each
 * opening with "# expect: ok" or "# expect: error TEXT", TEXT being a part
 * of the message (file:line, the key path and the words that say what is
 * wrong). A new case is a new file. The cases below the data files check
 * what was loaded: defaults, overrides, ${VAR} substitution, and that a
 * secret never reaches a message.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler/crawler_int.h"

#define CASES "tests/unit/crawler/config_cases"
#define SECRET "s3cr3t-Value-9f2c"

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(crawl_config, data_file_cases) {
    setenv("FLOE_TEST_CRAWL_SECRET", SECRET, 1);
    unsetenv("FLOE_TEST_CRAWL_UNSET_VAR");
    DIR *d = opendir(CASES);
    cr_assert(d, "cannot open %s (run from the repository root)", CASES);
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (strstr(e->d_name, ".yaml")) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    cr_assert_geq(n, 40, "only %d cases in %s", n, CASES);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char path[512], first[512] = "";
        snprintf(path, sizeof path, CASES "/%s", names[i]);
        FILE *f = fopen(path, "r");
        cr_assert(f);
        if (!fgets(first, sizeof first, f)) first[0] = 0;
        fclose(f);
        first[strcspn(first, "\n")] = 0;
        bool want_ok = !strcmp(first, "# expect: ok");
        const char *want_err = !strncmp(first, "# expect: error ", 16) ? first + 16 : NULL;
        if (!want_ok && !want_err) {
            cr_log_error("%s: the first line is not '# expect: ok' or '# expect: error TEXT'", names[i]);
            failed++;
            continue;
        }
        floe_err err = {0};
        crawl_t *c = crawl_load(path, &err);
        if (want_ok && !c) {
            cr_log_error("%s: expected to load, got: %s", names[i], err.msg);
            failed++;
        } else if (want_err && c) {
            cr_log_error("%s: loaded, expected an error with: %s", names[i], want_err);
            failed++;
        } else if (want_err && (!strstr(err.msg, want_err) || err.code != FLOE_EINVAL)) {
            cr_log_error("%s: expected an error with [%s], got (%s) [%s]", names[i], want_err, floe_code_name(err.code),
                         err.msg);
            failed++;
        } else if (want_err && strstr(err.msg, SECRET)) {
            cr_log_error("%s: the message holds the secret: %s", names[i], err.msg);
            failed++;
        }
        crawl_free(c);
        free(names[i]);
    }
    cr_assert_eq(failed, 0, "%d of %d config cases failed (see the log above)", failed, n);
}

static crawl_t *load(const char *text, floe_err *err) { return crawl_load_str(text, strlen(text), "test.yaml", err); }

Test(crawl_config, what_is_loaded) {
    setenv("FLOE_TEST_CRAWL_SECRET", SECRET, 1);
    floe_err err = {0};
    crawl_t *c = load("defaults:\n"
                      "  retries: 2\n"
                      "  timeout: 1500ms\n"
                      "  headers: {Authorization: \"Bearer ${FLOE_TEST_CRAWL_SECRET}\", X-Env: a}\n"
                      "endpoints:\n"
                      "  a:\n"
                      "    base_url: HTTP://Example.COM:8080//\n"
                      "    method: post\n"
                      "    headers: {x-env: b, X-Dollar: \"$$5 and $HOME\"}\n"
                      "    params: {symbol: BTCUSDT, n: 3, f: false}\n"
                      "    records: $\n"
                      "    retries: 0\n"
                      "  b:\n"
                      "    base_url: https://example.com\n"
                      "    path: /v1/x\n"
                      "    records: data.items\n"
                      "    rate: 2.5\n"
                      "    pagination: {type: page, param: p}\n",
                      &err);
    cr_assert(c, "%s", err.msg);
    cr_assert_eq(crawl_endpoint_count(c), 2);
    cr_assert_str_eq(crawl_endpoint_name(c, 0), "a");
    const crawl_endpoint *a = crawl_endpoint_find(c, "a"), *b = crawl_endpoint_find(c, "b");
    cr_assert(a && b && !crawl_endpoint_find(c, "z"));
    cr_assert_str_eq(a->base_url, "HTTP://Example.COM:8080");
    cr_assert_str_eq(a->path, "/");
    cr_assert_str_eq(a->method, "POST");
    cr_assert_str_eq(a->host->key, "example.com:8080");
    cr_assert_str_eq(b->host->key, "example.com:443");
    cr_assert_eq(a->retries, 0, "the endpoint's retries win over the defaults'");
    cr_assert_eq(b->retries, 2);
    cr_assert_eq(b->timeout_ms, 1500);
    cr_assert_eq(b->backoff_ms, 1000);
    cr_assert_eq(a->nheaders, 3);
    cr_assert_str_eq(a->headers[0], "Authorization: Bearer " SECRET);
    cr_assert_str_eq(a->headers[1], "x-env: b", "an endpoint header replaces the default of the same name");
    cr_assert_str_eq(a->headers[2], "X-Dollar: $5 and $HOME");
    cr_assert_eq(a->nparams, 3);
    cr_assert_str_eq(a->params[1].name, "n");
    cr_assert_str_eq(a->params[1].value, "3");
    cr_assert_str_eq(a->params[2].value, "false");
    cr_assert_eq(a->pg.type, CRAWL_PAGE_NONE);
    cr_assert_eq(b->pg.type, CRAWL_PAGE_PAGE);
    cr_assert_eq(b->pg.start_n, 1);
    cr_assert(b->limiter.limited && !a->limiter.limited);
    cr_assert_float_eq(b->limiter.bucket.rate, 2.5, 1e-9);
    cr_assert_float_eq(b->limiter.bucket.burst, 2.5, 1e-9, "burst defaults to the rate");
    crawl_free(c);
}

Test(crawl_config, secret_never_in_messages) {
    setenv("FLOE_TEST_CRAWL_SECRET", "line1\nline2-" SECRET, 1);
    floe_err err = {0};
    crawl_t *c = load("endpoints:\n  a:\n    base_url: http://x\n    records: $\n"
                      "    headers: {X-Key: \"${FLOE_TEST_CRAWL_SECRET}\"}\n",
                      &err);
    cr_assert_null(c);
    cr_assert(strstr(err.msg, "line break"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, SECRET), "%s", err.msg);
    setenv("FLOE_TEST_CRAWL_SECRET", SECRET, 1);
    c = load("endpoints:\n  a:\n    base_url: http://x\n    headers: {X-Key: \"${FLOE_TEST_CRAWL_SECRET}\"}\n"
             "    pagination: {type: offset}\n    records: $\n",
             &err);
    cr_assert_null(c);
    cr_assert(strstr(err.msg, "test.yaml:5: endpoints.a.pagination.param: missing"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, SECRET), "%s", err.msg);
}

Test(crawl_config, missing_file) {
    floe_err err = {0};
    cr_assert_null(crawl_load("/nonexistent/crawler.yaml", &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert(strstr(err.msg, "/nonexistent/crawler.yaml") && strstr(err.msg, "--config"), "%s", err.msg);
}

Test(crawl_config, durations) {
    int64_t ms;
    cr_assert(crawl_duration_parse("250ms", &ms) && ms == 250);
    cr_assert(crawl_duration_parse("30s", &ms) && ms == 30000);
    cr_assert(crawl_duration_parse("5m", &ms) && ms == 300000);
    cr_assert(crawl_duration_parse("2h", &ms) && ms == 7200000);
    cr_assert(crawl_duration_parse("1d", &ms) && ms == 86400000);
    cr_assert(crawl_duration_parse("12", &ms) && ms == 12000, "a bare number is seconds");
    cr_assert_not(crawl_duration_parse("", &ms));
    cr_assert_not(crawl_duration_parse("s", &ms));
    cr_assert_not(crawl_duration_parse("1.5s", &ms));
    cr_assert_not(crawl_duration_parse("10 s", &ms));
    cr_assert_not(crawl_duration_parse("-1s", &ms));
    cr_assert_not(crawl_duration_parse("9999999999s", &ms));
}
