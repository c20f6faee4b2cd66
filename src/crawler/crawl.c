/*
 * crawl.c: one crawl job from payload to landed object (crawl_run).
 *
 *   1. Read the payload (crawler.h has the contract); a bad one fails
 *      permanently, naming the key.
 *   2. Redelivery: when TARGET.manifest.json exists and names TARGET, and
 *      TARGET has the size it records, the job was done before (its ack
 *      was lost, or its worker died after writing): answer with the
 *      manifest, "redelivered": true, and fetch nothing.
 *   3. Page by page: the request (fetch.c), the records selected from the
 *      response (json_span.c) and written one per line, compact, into a
 *      streaming zstd frame that goes straight to fileio_out; the pager
 *      (pager.c) says what comes next.
 *   4. Close the output (it appears only now, whole), then write the
 *      manifest beside it: records, pages, bytes and the sha256 of the
 *      compressed object.
 *
 * A failure or a cancel at any point aborts the output: nothing new is
 * visible at TARGET, and the next try starts over.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "crawler/crawler_int.h"
#include "store/fileio.h"

#define MANIFEST_SUFFIX ".manifest.json"
/* Level 1 with a 256 KiB window rather than level 3's 2 MiB: on the
 * sample API's trades (1.4 MB of JSONL per job) that output is 7% smaller
 * than level 3's (a page repeats itself within a few records), it is
 * faster, and each crawl in flight needs a 1.1 MB context instead of 3.7
 * (and each reader's decompression window is 256 KiB, not 2 MiB). */
#define ZSTD_LEVEL 1
#define ZSTD_WINDOW_LOG 18

/* ---------------------------------------------------------------- the payload */

typedef struct crawl_job {
    const crawl_endpoint *ep;
    const char *target, *manifest, *base_url, *run_id;
    crawl_kv *params; /* merged: the endpoint's, overridden, then the job's new ones */
    size_t nparams;
    const char *start; /* the job's value of the pagination parameter */
    crawl_host *host;
} crawl_job;

static bool param_text(json_t *v, arena_t *a, const char **out) {
    if (json_is_string(v))
        *out = arena_strdup(a, json_string_value(v));
    else if (json_is_integer(v))
        *out = arena_sprintf(a, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        *out = arena_sprintf(a, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        *out = json_is_true(v) ? "true" : "false";
    else
        return false;
    return true;
}

static void list_endpoints(crawl_t *c, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < c->neps && n + 1 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", c->eps[i].name);
}

static bool merge_params(crawl_job *j, json_t *params, arena_t *a, floe_err *err) {
    const crawl_endpoint *ep = j->ep;
    size_t cap = ep->nparams + (params ? json_object_size(params) : 0) + 1;
    j->params = arena_zalloc(a, cap * sizeof *j->params);
    for (size_t i = 0; i < ep->nparams; i++) j->params[j->nparams++] = ep->params[i];
    if (!params) return true;
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) {
        if (str_eq(k, ep->pg.limit_param))
            return floe_err_set(
                err, FLOE_EINVAL,
                "job params.%s: the page size is endpoint %s's pagination.limit; remove it from the job", k, ep->name);
        const char *text = NULL;
        if (!json_is_null(v) && !param_text(v, a, &text))
            return floe_err_set(err, FLOE_EINVAL,
                                "job params.%s: expected a string, number, boolean or null (null removes the "
                                "endpoint's value), not an object or array",
                                k);
        if (str_eq(k, ep->pg.param)) { /* where the pagination starts */
            int64_t n;
            bool numeric = ep->pg.type == CRAWL_PAGE_OFFSET || ep->pg.type == CRAWL_PAGE_PAGE;
            if (numeric && (!text || !str_to_i64_range(text, 0, INT64_MAX / 4, &n)))
                return floe_err_set(err, FLOE_EINVAL,
                                    "job params.%s: the first %s of endpoint %s must be a whole number >= 0", k,
                                    ep->pg.type == CRAWL_PAGE_PAGE ? "page" : "offset", ep->name);
            j->start = text;
            continue;
        }
        size_t i;
        for (i = 0; i < j->nparams; i++)
            if (!strcmp(j->params[i].name, k)) break;
        if (i < j->nparams) {
            if (text) {
                j->params[i].value = (char *)text;
            } else {
                memmove(&j->params[i], &j->params[i + 1], (j->nparams - i - 1) * sizeof *j->params);
                j->nparams--;
            }
        } else if (text) {
            j->params[j->nparams++] = (crawl_kv){arena_strdup(a, k), (char *)text};
        }
    }
    return true;
}

static bool parse_payload(crawl_t *c, const char *payload, arena_t *a, crawl_job *j, floe_err *err) {
    json_t *root = json_parse(payload, strlen(payload), "the job payload", err);
    if (!root) return false;
    bool ok = false;
    const char *endpoint, *target;
    json_t *params = json_object_get(root, "params");
    if (!json_is_object(root)) {
        floe_err_set(err, FLOE_EINVAL, "the job payload is not a JSON object (crawler.h has the contract)");
        goto finish;
    }
    if (!json_get_str(root, "endpoint", "the job payload", &endpoint, err) ||
        !json_get_str(root, "target", "the job payload", &target, err))
        goto finish;
    if (!(j->ep = crawl_endpoint_find(c, endpoint))) {
        char names[300];
        list_endpoints(c, names, sizeof names);
        floe_err_set(err, FLOE_EINVAL,
                     "the job names endpoint '%.100s', which the crawler config %s does not have (it has: %s); add "
                     "it there or fix the crawl task",
                     endpoint, c->name, names);
        goto finish;
    }
    if (!*target || str_ends_with(target, MANIFEST_SUFFIX)) {
        floe_err_set(err, FLOE_EINVAL, "the job's target '%.200s' is empty or names a manifest", target);
        goto finish;
    }
    j->target = arena_strdup(a, target);
    j->manifest = arena_sprintf(a, "%s" MANIFEST_SUFFIX, target);
    j->base_url = j->ep->base_url;
    j->host = j->ep->host;
    json_t *bu = json_object_get(root, "base_url"), *rid = json_object_get(root, "run_id");
    if (bu && !json_is_null(bu)) {
        char key[CRAWL_HOST_KEY_MAX];
        const char *b = json_string_value(bu);
        if (!b || !crawl_url_host(b, key, sizeof key) || strpbrk(b, "?#")) {
            floe_err_set(err, FLOE_EINVAL, "the job's base_url '%.200s' is not an http:// or https:// URL with a host",
                         b ? b : "(not a string)");
            goto finish;
        }
        size_t n = strlen(b);
        while (n && b[n - 1] == '/') n--;
        j->base_url = arena_strndup(a, b, n);
        j->host = crawl_host_get(c, key);
    }
    if (rid && json_is_string(rid)) j->run_id = arena_strdup(a, json_string_value(rid));
    if (params && !json_is_null(params) && !json_is_object(params)) {
        floe_err_set(err, FLOE_EINVAL, "the job's params is not an object of name: value");
        goto finish;
    }
    ok = merge_params(j, json_is_object(params) ? params : NULL, a, err);
finish:
    json_decref(root);
    return ok;
}

/* ---------------------------------------------------------------- URLs */

static void add_param(void *arg, const char *name, const char *value) {
    buf_t *b = arg;
    if (b->len) buf_putc(b, '&');
    str_uri_encode(b, name, strlen(name), false);
    buf_putc(b, '=');
    str_uri_encode(b, value, strlen(value), false);
}

/* The request of the pager's current page: url, and body for a POST. */
static bool build_request(const crawl_job *j, const crawl_pager *p, buf_t *url, buf_t *body, floe_err *err) {
    buf_reset(url);
    buf_reset(body);
    if (p->next_url) {
        char key[CRAWL_HOST_KEY_MAX];
        if (!crawl_url_host(p->next_url, key, sizeof key) || strcmp(key, j->host->key))
            return floe_err_set(err, FLOE_EINVAL,
                                "the Link header's next page %.200s is not on %s, the host the crawl started on; the "
                                "crawler does not follow it (headers may hold secrets)",
                                p->next_url, j->host->key);
        buf_puts(url, p->next_url);
        return true;
    }
    buf_t q = BUF_INIT;
    for (size_t i = 0; i < j->nparams; i++) add_param(&q, j->params[i].name, j->params[i].value);
    crawl_pager_params(p, add_param, &q);
    buf_printf(url, "%s%s", j->base_url, j->ep->path);
    if (!strcmp(j->ep->method, "POST"))
        buf_append(body, q.data ? q.data : "", q.len);
    else if (q.len)
        buf_printf(url, "?%s", q.data);
    buf_free(&q);
    return true;
}

/* ---------------------------------------------------------------- output */

typedef struct out_stream {
    fileio_out *out;
    ZSTD_CCtx *z;
    hash_ctx sha;
    buf_t zbuf;
    uint64_t bytes;
} out_stream;

static bool out_open(out_stream *o, fileio_t *io, const char *uri, floe_err *err) {
    memset(o, 0, sizeof *o);
    o->z = ZSTD_createCCtx();
    if (!o->z) return floe_err_set(err, FLOE_ENOMEM, "zstd: cannot make a compression context");
    ZSTD_CCtx_setParameter(o->z, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(o->z, ZSTD_c_windowLog, ZSTD_WINDOW_LOG);
    ZSTD_CCtx_setParameter(o->z, ZSTD_c_checksumFlag, 1);
    hash_init(&o->sha, HASH_SHA256);
    buf_reserve(&o->zbuf, ZSTD_CStreamOutSize());
    o->out = fileio_out_create(io, uri, err);
    return o->out != NULL;
}

static bool out_write(out_stream *o, const void *p, size_t n, ZSTD_EndDirective mode, floe_err *err) {
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer zo = {o->zbuf.data, o->zbuf.cap, 0};
        size_t rem = ZSTD_compressStream2(o->z, &zo, &in, mode);
        if (ZSTD_isError(rem)) return floe_err_set(err, FLOE_EINTERNAL, "zstd: %s", ZSTD_getErrorName(rem));
        if (zo.pos) {
            hash_update(&o->sha, zo.dst, zo.pos);
            o->bytes += zo.pos;
            if (!fileio_out_write(o->out, zo.dst, zo.pos, err)) return false;
        }
        if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size) return true;
    }
}

static void out_free(out_stream *o) {
    if (o->out) fileio_out_abort(o->out);
    hash_abort(&o->sha);
    ZSTD_freeCCtx(o->z);
    buf_free(&o->zbuf);
    memset(o, 0, sizeof *o);
}

/* Ends the frame and makes the object visible; sha_hex gets its digest. */
static bool out_finish(out_stream *o, char sha_hex[65], floe_err *err) {
    if (!out_write(o, NULL, 0, ZSTD_e_end, err)) return false;
    fileio_out *f = o->out;
    o->out = NULL;
    if (!fileio_out_close(f, err)) return false;
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&o->sha, d);
    str_hex(d, 32, sha_hex);
    return true;
}

/* ---------------------------------------------------------------- the result */

typedef struct crawl_tally {
    int64_t records, pages, requests;
} crawl_tally;

static json_t *result_json(const crawl_job *j, const crawl_tally *t, uint64_t bytes, const char *sha) {
    char at[32];
    time_iso8601_ms(time_now_ms(), at);
    json_t *r = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s, s:I, s:s}", "s3_path", j->target, "manifest",
                          j->manifest, "records", (json_int_t)t->records, "pages", (json_int_t)t->pages, "bytes",
                          (json_int_t)bytes, "sha256", sha, "redelivered", 0, "endpoint", j->ep->name, "requests",
                          (json_int_t)t->requests, "crawled_at", at);
    if (r && j->run_id) json_object_set_new(r, "run_id", json_string(j->run_id));
    return r;
}

/* 1: the job was done before (result filled); 0: crawl; -1: error. */
static int check_redelivery(crawl_t *c, fileio_t *io, const crawl_job *j, buf_t *result, floe_err *err) {
    buf_t m = BUF_INIT;
    floe_err e = {0};
    if (!fileio_read_all(io, j->manifest, &m, &e)) {
        buf_free(&m);
        if (e.code == FLOE_ENOENT) return 0;
        *err = e;
        floe_err_wrap(err, "read the manifest of an earlier try");
        return -1;
    }
    json_t *doc = json_loadb(m.data ? m.data : "", m.len, 0, NULL);
    buf_free(&m);
    json_t *bytes = json_object_get(doc, "bytes");
    bool exists = false;
    uint64_t size = 0;
    int r = 0;
    if (json_is_object(doc) && str_eq(json_opt_str(doc, "s3_path"), j->target) && json_is_integer(bytes)) {
        if (!fileio_stat(io, j->target, &exists, &size, err)) {
            json_decref(doc);
            return -1;
        }
        if (exists && (json_int_t)size == json_integer_value(bytes)) {
            json_object_set_new(doc, "redelivered", json_true());
            json_dump_buf(doc, result);
            r = 1;
        }
    }
    if (!r)
        log_warn("crawler", "%s exists but does not describe %s as it is now; crawling again", j->manifest, j->target);
    json_decref(doc);
    (void)c;
    return r;
}

/* ---------------------------------------------------------------- one page */

/* Selects the page's records and appends them, one compact line each, to
 * lines; fills info for the pager. */
static bool take_page(const crawl_job *j, const crawl_response *resp, arena_t *pa, buf_t *lines, crawl_page_info *info,
                      floe_err *err) {
    crawl_span body = {resp->body.data ? resp->body.data : "", resp->body.len}, recs;
    if (!crawl_json_check(body.p, body.n, err)) return false;
    *info = (crawl_page_info){.body = body};
    if (!crawl_json_find(body, j->ep->records, &recs))
        return floe_err_set(err, FLOE_EINVAL,
                            "the response has nothing at records path '%s'; check the endpoint's records: against "
                            "what the API returns",
                            j->ep->records);
    crawl_json_kind k = crawl_json_kind_of(recs);
    if (k == CRAWL_JSON_LITERAL && *recs.p == 'n') return true; /* null: no records */
    if (k != CRAWL_JSON_ARRAY)
        return floe_err_set(err, FLOE_EINVAL, "the response's '%s' is not an array of records (it starts '%.40s')",
                            j->ep->records, recs.p);
    crawl_span *el;
    size_t n = crawl_json_elements(recs, pa, &el);
    for (size_t i = 0; i < n; i++) {
        crawl_json_compact(el[i], lines);
        buf_putc(lines, '\n');
    }
    info->nrecords = n;
    if (n) info->last_record = el[n - 1];
    return true;
}

static crawl_status crawl_pages(crawl_t *c, const crawl_job *j, out_stream *out, volatile int *cancel, arena_t *a,
                                crawl_tally *t, floe_err *err) {
    crawl_pager p;
    crawl_pager_init(&p, &j->ep->pg, j->start, a);
    buf_t url = BUF_INIT, body = BUF_INIT, lines = BUF_INIT, link = BUF_INIT, next = BUF_INIT;
    crawl_response resp = {0};
    crawl_status st = CRAWL_OK;
    while (!p.done) {
        int64_t page_no = p.pages + 1;
        if (cancel && *cancel) {
            floe_err_set(err, FLOE_EINTERNAL, "stopped after page %lld (the worker is shutting down)",
                         (long long)p.pages);
            st = CRAWL_CANCELLED;
            break;
        }
        if (p.pages >= j->ep->max_pages) {
            floe_err_set(err, FLOE_ETOOLARGE,
                         "the crawl reached max_pages %lld of endpoint %s and has more; raise max_pages or crawl a "
                         "smaller range per job",
                         (long long)j->ep->max_pages, j->ep->name);
            st = CRAWL_PERMANENT;
            break;
        }
        if (!build_request(j, &p, &url, &body, err)) {
            st = CRAWL_PERMANENT;
            break;
        }
        st = crawl_fetch(c, j->ep, j->host, url.data,
                         strcmp(j->ep->method, "POST") ? NULL
                         : body.data                   ? body.data
                                                       : "",
                         cancel, &resp, err);
        t->requests += resp.attempts;
        if (st != CRAWL_OK) break;
        arena_t pa;
        arena_init(&pa, 0);
        crawl_page_info info;
        buf_reset(&lines);
        bool ok = take_page(j, &resp, &pa, &lines, &info, err);
        if (ok && j->ep->pg.type == CRAWL_PAGE_LINK) {
            buf_reset(&link);
            buf_reset(&next);
            if (resp.link.len && crawl_link_next(resp.link.data, &link)) {
                if (!crawl_url_resolve(url.data, link.data, &next))
                    ok = floe_err_set(err, FLOE_EINVAL, "the Link header's next URL '%.200s' does not resolve",
                                      link.data);
                info.link_next = next.data;
            }
        }
        ok = ok && out_write(out, lines.data, lines.len, ZSTD_e_continue, err);
        if (ok) {
            t->records += (int64_t)info.nrecords;
            t->pages++;
            atomic_fetch_add(&c->metrics.pages, 1);
            atomic_fetch_add(&c->metrics.records, info.nrecords);
            ok = crawl_pager_next(&p, &info, err);
        }
        arena_free(&pa);
        if (!ok) {
            st = err->code == FLOE_EINVAL ? CRAWL_PERMANENT : CRAWL_RETRY;
            floe_err_wrap(err, "page %lld (%s %s)", (long long)page_no, j->ep->method, url.data);
            break;
        }
    }
    crawl_response_free(&resp);
    buf_free(&url);
    buf_free(&body);
    buf_free(&lines);
    buf_free(&link);
    buf_free(&next);
    return st;
}

crawl_status crawl_run(crawl_t *c, fileio_t *io, const char *payload, const crawl_run_opts *o, buf_t *result,
                       floe_err *err) {
    crawl_run_opts none = {0};
    if (!o) o = &none;
    const char *jid = o->job_id ? o->job_id : "-";
    arena_t a;
    arena_init(&a, 0);
    crawl_job j = {0};
    crawl_status st;
    if (!parse_payload(c, payload ? payload : "", &a, &j, err)) {
        st = CRAWL_PERMANENT;
        goto finish;
    }
    int done = check_redelivery(c, io, &j, result, err);
    if (done != 0) {
        st = done > 0 ? CRAWL_OK : CRAWL_RETRY;
        if (done > 0)
            log_info("crawler", "job %s: %s was landed by an earlier try; acking its manifest", jid, j.target);
        goto finish;
    }
    uint64_t t0 = time_mono_ns();
    out_stream out;
    if (!out_open(&out, io, j.target, err)) {
        out_free(&out);
        st = CRAWL_RETRY;
        goto finish;
    }
    crawl_tally t = {0};
    st = crawl_pages(c, &j, &out, o->cancel, &a, &t, err);
    char sha[65];
    if (st == CRAWL_OK && !out_finish(&out, sha, err)) st = CRAWL_RETRY;
    uint64_t bytes = out.bytes;
    out_free(&out);
    if (st != CRAWL_OK) goto finish;
    json_t *r = result_json(&j, &t, bytes, sha);
    buf_t text = BUF_INIT;
    json_dump_buf(r, &text);
    if (!fileio_write_all(io, j.manifest, text.data, text.len, false, err)) {
        floe_err_wrap(err, "write the manifest %s", j.manifest);
        st = CRAWL_RETRY;
    } else {
        json_dump_buf(r, result);
        atomic_fetch_add(&c->metrics.bytes_written, bytes);
        log_info("crawler", "job %s: endpoint %s: %lld records in %lld pages (%lld requests, %.1f s), %llu bytes -> %s",
                 jid, j.ep->name, (long long)t.records, (long long)t.pages, (long long)t.requests,
                 (double)(time_mono_ns() - t0) / 1e9, (unsigned long long)bytes, j.target);
    }
    buf_free(&text);
    json_decref(r);
finish:
    if (st != CRAWL_OK && st != CRAWL_CANCELLED && j.ep) floe_err_wrap(err, "endpoint %s", j.ep->name);
    arena_free(&a);
    return st;
}
