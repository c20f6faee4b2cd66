/*
 * pager.c: the pagination styles as one small state machine. A pager says
 * which pagination parameters the next request carries, takes each page
 * in, and decides whether another page follows:
 *
 *   none    one request.
 *   offset  param = start, start + n1, start + n1 + n2, ... (the records
 *           each page had); stops on an empty or short page or when the
 *           offset reaches the response's `total`.
 *   page    param = start, start + 1, ...; stops on an empty or short page
 *           or past the response's `total_pages`.
 *   cursor  `next`: param = the response's value at that path; a null,
 *           missing or empty value stops. `from_record`: param = the last
 *           record's value at that path + increment (Binance's "fromId =
 *           last id + 1"); stops on an empty or short page.
 *   link    follows the response's Link: <URL>; rel="next" (RFC 8288),
 *           resolved against the request's URL; stops when there is none.
 *
 * A page with no records ends every style, and a cursor or link that does
 * not move fails the job rather than fetching the same page for ever.
 * Also here: the URL helpers (host:port of a URL, relative references),
 * on libcurl's URL parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "crawler/crawler_int.h"
#include "net/curl_dl.h"

/* ---------------------------------------------------------------- URLs */

bool crawl_url_host(const char *url, char *out, size_t cap) {
    if (!curl_dl_load(NULL)) return false;
    CURLU *u = curl_url();
    if (!u) return false;
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && host && *host &&
              (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https"));
    if (ok) {
        int n = snprintf(out, cap, "%s:%s", host, port);
        ok = n > 0 && (size_t)n < cap;
        for (char *p = out; ok && *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

bool crawl_url_resolve(const char *base, const char *ref, buf_t *out) {
    if (!curl_dl_load(NULL)) return false;
    CURLU *u = curl_url();
    if (!u) return false;
    char *full = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
              curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK;
    if (ok) buf_puts(out, full);
    curl_free(full);
    curl_url_cleanup(u);
    return ok;
}

/* ---------------------------------------------------------------- Link header (RFC 8288) */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Whether a rel value (space-separated relation types) holds "next". */
static bool rel_has_next(const char *v, size_t n) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t b = i;
        while (i < n && v[i] != ' ' && v[i] != '\t') i++;
        if (i - b == 4 && !strncasecmp(v + b, "next", 4)) return true;
    }
    return false;
}

bool crawl_link_next(const char *header, buf_t *out) {
    const char *p = header;
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
        if (!*p) return false;
        if (*p != '<') { /* not a link-value: skip to the next comma */
            p += strcspn(p, ",");
            continue;
        }
        const char *ub = ++p, *ue = strchr(p, '>');
        if (!ue) return false;
        p = ue + 1;
        bool next = false;
        /* parameters: ; name[=value] */
        for (;;) {
            p = skip_ws(p);
            if (*p != ';') break;
            p = skip_ws(p + 1);
            const char *nb = p;
            while (*p && *p != '=' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t') p++;
            size_t nlen = (size_t)(p - nb);
            p = skip_ws(p);
            const char *vb = p;
            size_t vlen = 0;
            if (*p == '=') {
                p = skip_ws(p + 1);
                if (*p == '"') {
                    vb = ++p;
                    while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
                    vlen = (size_t)(p - vb);
                    if (*p == '"') p++;
                } else {
                    vb = p;
                    while (*p && *p != ';' && *p != ',') p++;
                    vlen = (size_t)(p - vb);
                    while (vlen && (vb[vlen - 1] == ' ' || vb[vlen - 1] == '\t')) vlen--;
                }
            }
            if (nlen == 3 && !strncasecmp(nb, "rel", 3) && rel_has_next(vb, vlen)) next = true;
        }
        if (next) {
            buf_append(out, ub, (size_t)(ue - ub));
            return true;
        }
        p += strcspn(p, ",");
    }
}

/* ---------------------------------------------------------------- the state machine */

void crawl_pager_init(crawl_pager *p, const crawl_pagination *pg, const char *start, arena_t *a) {
    *p = (crawl_pager){.pg = pg, .arena = a};
    switch (pg->type) {
    case CRAWL_PAGE_OFFSET:
    case CRAWL_PAGE_PAGE: {
        int64_t v;
        p->position = start && str_to_i64_range(start, 0, INT64_MAX / 4, &v) ? v : pg->start_n;
        break;
    }
    case CRAWL_PAGE_CURSOR:
        p->cursor = start ? arena_strdup(a, start) : pg->start ? arena_strdup(a, pg->start) : NULL;
        break;
    default: break;
    }
}

void crawl_pager_params(const crawl_pager *p, void (*add)(void *arg, const char *name, const char *value), void *arg) {
    const crawl_pagination *pg = p->pg;
    char num[32];
    switch (pg->type) {
    case CRAWL_PAGE_OFFSET:
    case CRAWL_PAGE_PAGE:
        snprintf(num, sizeof num, "%lld", (long long)p->position);
        add(arg, pg->param, num);
        break;
    case CRAWL_PAGE_CURSOR:
        if (p->cursor) add(arg, pg->param, p->cursor);
        break;
    case CRAWL_PAGE_LINK:
        if (p->next_url) return; /* the link carries every parameter */
        break;
    default: break;
    }
    if (pg->limit_param) {
        snprintf(num, sizeof num, "%lld", (long long)pg->limit);
        add(arg, pg->limit_param, num);
    }
}

/* An integer at path in the body, for total/total_pages. */
static bool body_int(crawl_span body, const char *path, int64_t *out) {
    crawl_span v;
    buf_t t = BUF_INIT;
    bool is_null, ok = crawl_json_find(body, path, &v) && crawl_json_kind_of(v) != CRAWL_JSON_OBJECT &&
                       crawl_json_kind_of(v) != CRAWL_JSON_ARRAY && crawl_json_scalar(v, &t, &is_null) && !is_null &&
                       str_to_i64_range(t.data, INT64_MIN / 2, INT64_MAX / 2, out);
    buf_free(&t);
    return ok;
}

static bool short_page(const crawl_pager *p, const crawl_page_info *page) {
    return p->pg->limit > 0 && (int64_t)page->nrecords < p->pg->limit;
}

static bool next_cursor(crawl_pager *p, const crawl_page_info *page, floe_err *err) {
    const crawl_pagination *pg = p->pg;
    crawl_span v;
    buf_t t = BUF_INIT;
    bool is_null = false;
    if (pg->next) {
        bool found = crawl_json_find(page->body, pg->next, &v);
        crawl_json_kind k = found ? crawl_json_kind_of(v) : CRAWL_JSON_LITERAL;
        if (k == CRAWL_JSON_OBJECT || k == CRAWL_JSON_ARRAY)
            return floe_err_set(err, FLOE_EINVAL,
                                "pagination.next: the response's '%s' is an object or array, not a cursor", pg->next);
        if (!found || !crawl_json_scalar(v, &t, &is_null) || is_null || !t.len) {
            buf_free(&t);
            p->done = true; /* null, missing or "": the last page */
            return true;
        }
    } else {
        if (short_page(p, page) || !page->last_record.p) {
            p->done = true;
            return true;
        }
        if (!crawl_json_find(page->last_record, pg->from_record, &v) || !crawl_json_scalar(v, &t, &is_null) ||
            is_null) {
            buf_free(&t);
            return floe_err_set(err, FLOE_EINVAL,
                                "pagination.from_record: the last record of page %lld has no scalar '%s' to continue "
                                "from; check the path against a record",
                                (long long)p->pages, pg->from_record);
        }
        if (pg->increment) {
            int64_t x;
            if (!str_to_i64_range(t.data, INT64_MIN / 2, INT64_MAX / 2, &x)) {
                floe_err_set(err, FLOE_EINVAL,
                             "pagination.from_record: the last record's '%s' is '%.60s', not an integer, so "
                             "increment %lld cannot apply; use increment: 0 for a value that is not a number",
                             pg->from_record, t.data, (long long)pg->increment);
                buf_free(&t);
                return false;
            }
            buf_reset(&t);
            buf_printf(&t, "%lld", (long long)(x + pg->increment));
        }
    }
    if (p->cursor && !strcmp(p->cursor, t.data)) {
        floe_err_set(err, FLOE_EINVAL,
                     "pagination: the cursor did not move (page %lld asked for %s=%.60s and leads to it again); the "
                     "crawl would never end",
                     (long long)p->pages, pg->param, t.data);
        buf_free(&t);
        return false;
    }
    p->cursor = arena_strdup(p->arena, t.data);
    buf_free(&t);
    return true;
}

bool crawl_pager_next(crawl_pager *p, const crawl_page_info *page, floe_err *err) {
    const crawl_pagination *pg = p->pg;
    p->pages++;
    if (page->nrecords == 0 || pg->type == CRAWL_PAGE_NONE) {
        p->done = true;
        return true;
    }
    int64_t total;
    switch (pg->type) {
    case CRAWL_PAGE_OFFSET:
        p->position += (int64_t)page->nrecords;
        if (short_page(p, page) || (pg->total && body_int(page->body, pg->total, &total) && p->position >= total))
            p->done = true;
        return true;
    case CRAWL_PAGE_PAGE:
        if (short_page(p, page) || (pg->total && body_int(page->body, pg->total, &total) && p->position >= total))
            p->done = true;
        p->position++;
        return true;
    case CRAWL_PAGE_CURSOR: return next_cursor(p, page, err);
    case CRAWL_PAGE_LINK:
        if (!page->link_next) {
            p->done = true;
            return true;
        }
        if (p->next_url && !strcmp(p->next_url, page->link_next))
            return floe_err_set(err, FLOE_EINVAL, "pagination: the Link header's next page is the page itself");
        p->next_url = arena_strdup(p->arena, page->link_next);
        return true;
    default: p->done = true; return true;
    }
}
