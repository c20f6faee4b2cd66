/*
 * config.c: the crawler config (crawler.yaml), read through base/yaml so
 * that every error names the file, the line and the key.
 *
 * crawl_validate_config walks the document once and builds the endpoints
 * as it checks them: an unknown key, a value of the wrong form, a missing
 * pagination parameter or record path, or a header's ${VAR} that is not
 * set fails the load, so a worker never starts with a config it would
 * only find wrong at the first job. docs/crawler.md is the reference.
 *
 * Header values may hold secrets (${VAR} is substituted from the
 * environment here): they are kept only in the endpoint's header list and
 * never appear in a message or a log line.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "base/yaml.h"
#include "crawler/crawler_int.h"
#include "net/curl_dl.h"

/* A mapping of the document, the dotted path naming it in errors, and the
 * line of the key that introduced it. */
typedef struct sect {
    json_t *obj;
    const char *path;
    int line;
} sect;

typedef struct cfg_ctx {
    yaml_doc *doc;
    crawl_t *c;
    arena_t *a;
    floe_err *err;
} cfg_ctx;

/* Endpoint settings that `defaults:` may set. */
typedef struct ep_defaults {
    int64_t timeout_ms, backoff_ms, backoff_max_ms, retry_after_max_ms, max_pages;
    int retries;
    json_t *headers;
    sect headers_sect;
} ep_defaults;

static bool fail_at(cfg_ctx *x, int line, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool fail_at(cfg_ctx *x, int line, const char *path, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return floe_err_set(x->err, FLOE_EINVAL, "%s:%d: %s: %s", yaml_name(x->doc), line, path, msg);
    return floe_err_set(x->err, FLOE_EINVAL, "%s: %s: %s", yaml_name(x->doc), path, msg);
}

static const char *key_path(cfg_ctx *x, const sect *s, const char *key) {
    return *s->path ? arena_sprintf(x->a, "%s.%s", s->path, key) : key;
}

static int key_line(cfg_ctx *x, const sect *s, const char *key) {
    int l = yaml_line(x->doc, s->obj, key, 0);
    return l ? l : s->line;
}

/* Fails on the value of s.key. */
static bool fail_key(cfg_ctx *x, const sect *s, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_key(cfg_ctx *x, const sect *s, const char *key, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_at(x, key_line(x, s, key), key_path(x, s, key), "%s", msg);
}

static bool missing(cfg_ctx *x, const sect *s, const char *key, const char *what) {
    return fail_at(x, s->line, key_path(x, s, key), "missing; %s", what);
}

/* Every key of s must be one of allowed (NULL-terminated). */
static bool check_keys(cfg_ctx *x, const sect *s, const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach(s->obj, k, v) {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, k);
        if (ok) continue;
        buf_t list = BUF_INIT;
        for (const char *const *a = allowed; *a; a++) buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
        fail_key(x, s, k, "unknown key; expected one of: %s", list.data ? list.data : "(none)");
        buf_free(&list);
        return false;
    }
    return true;
}

/* s.key as a mapping section (absent: out->obj NULL). */
static bool get_sect(cfg_ctx *x, const sect *s, const char *key, bool required, const char *what, sect *out) {
    json_t *v = json_object_get(s->obj, key);
    *out = (sect){.obj = NULL, .path = key_path(x, s, key), .line = key_line(x, s, key)};
    if (!v || json_is_null(v)) return required ? missing(x, s, key, what) : true;
    if (!json_is_object(v)) return fail_key(x, s, key, "expected a mapping (%s)", what);
    out->obj = v;
    return true;
}

static bool get_str(cfg_ctx *x, const sect *s, const char *key, bool required, const char *what, const char **out) {
    json_t *v = json_object_get(s->obj, key);
    if (!v || json_is_null(v)) return required ? missing(x, s, key, what) : true;
    if (!json_is_string(v) || !*json_string_value(v)) return fail_key(x, s, key, "expected %s", what);
    *out = json_string_value(v);
    return true;
}

static bool get_int(cfg_ctx *x, const sect *s, const char *key, int64_t min, int64_t max, const char *what,
                    int64_t *out) {
    json_t *v = json_object_get(s->obj, key);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail_key(x, s, key, "expected %s, an integer %lld..%lld", what, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return true;
}

static bool get_number(cfg_ctx *x, const sect *s, const char *key, double min, double max, const char *what,
                       double *out) {
    json_t *v = json_object_get(s->obj, key);
    if (!v) return true;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < min ||
        json_number_value(v) > max)
        return fail_key(x, s, key, "expected %s, a number %g..%g", what, min, max);
    *out = json_number_value(v);
    return true;
}

bool crawl_duration_parse(const char *s, int64_t *ms) {
    /* one number of at most 9 digits and one unit: time_duration_parse
     * reads more ("1h30m"), which the config does not promise */
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 9 || strpbrk(s + n, "0123456789")) return false;
    return time_duration_parse(s, ms);
}

static bool get_duration(cfg_ctx *x, const sect *s, const char *key, int64_t min_ms, int64_t max_ms, int64_t *out) {
    json_t *v = json_object_get(s->obj, key);
    if (!v) return true;
    int64_t ms = -1;
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1000000000)
        ms = json_integer_value(v) * 1000;
    else if (json_is_string(v) && !crawl_duration_parse(json_string_value(v), &ms))
        ms = -1;
    if (ms < min_ms || ms > max_ms)
        return fail_key(x, s, key,
                        "expected a duration like 500ms, 30s, 5m or 1h (or seconds), from %lld ms to %lld ms",
                        (long long)min_ms, (long long)max_ms);
    *out = ms;
    return true;
}

/* A record or response path: "$", "$.a.b" or "a.b", no empty segment. */
static bool check_path(cfg_ctx *x, const sect *s, const char *key, const char *p) {
    const char *q = p;
    if (!strcmp(q, "$")) return true;
    if (!strncmp(q, "$.", 2)) q += 2;
    bool ok = *q && q[strlen(q) - 1] != '.' && !strstr(q, "..") && *q != '.';
    if (!ok)
        return fail_key(x, s, key,
                        "'%s' is not a path; expected $ (the whole response), or keys joined by dots such as "
                        "data.trades or $.data.trades",
                        p);
    return true;
}

/* ---------------------------------------------------------------- hosts */

static bool host_key_ok(const char *k, char *out, size_t cap) {
    const char *colon = strrchr(k, ':');
    int64_t port;
    if (!colon || colon == k || (size_t)(colon - k) >= cap - 8 || !str_to_i64_range(colon + 1, 1, 65535, &port))
        return false;
    size_t n = (size_t)(colon - k);
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        if (!(isalnum((unsigned char)ch) || strchr(".-_[]:", ch))) return false;
        out[i] = (char)tolower((unsigned char)ch);
    }
    snprintf(out + n, cap - n, ":%lld", (long long)port);
    return true;
}

static bool load_hosts(cfg_ctx *x, const sect *root) {
    sect hs;
    if (!get_sect(x, root, "hosts", false, "host:port keys with rate, burst and concurrency", &hs)) return false;
    if (!hs.obj) return true;
    static const char *const keys[] = {"rate", "burst", "concurrency", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(hs.obj, k, v) {
        char key[CRAWL_HOST_KEY_MAX];
        if (!host_key_ok(k, key, sizeof key))
            return fail_key(x, &hs, k,
                            "'%s' is not host:port; write the host and port of the base URL, such as "
                            "\"api.binance.com:443\" or \"127.0.0.1:8800\"",
                            k);
        sect h;
        if (!get_sect(x, &hs, k, true, "rate, burst and concurrency", &h) || !check_keys(x, &h, keys)) return false;
        double rate = 0, burst = -1;
        int64_t conc = CRAWL_DEFAULT_CONCURRENCY;
        if (!get_number(x, &h, "rate", 0.001, 1e6, "requests per second to this host", &rate) ||
            !get_number(x, &h, "burst", 1, 1e6, "requests this host may get at once", &burst) ||
            !get_int(x, &h, "concurrency", 1, 1024, "requests in flight to this host at most", &conc))
            return false;
        if (burst > 0 && !json_object_get(h.obj, "rate"))
            return fail_key(x, &h, "burst", "burst needs a rate; add rate: (requests per second)");
        crawl_host *ch = crawl_host_get(x->c, key);
        pthread_mutex_lock(&ch->mu);
        ch->concurrency = (int)conc;
        if (rate > 0) {
            ch->limited = true;
            crawl_bucket_init(&ch->bucket, rate, burst > 0 ? burst : fmax(1, rate), time_mono_ns());
        }
        pthread_mutex_unlock(&ch->mu);
    }
    return true;
}

/* ---------------------------------------------------------------- headers and params */

/* Substitutes ${VAR} from the environment ($$ is a '$'). On an unset
 * variable, fails naming the header and the variable, never the value. */
static bool expand_env(cfg_ctx *x, const sect *s, const char *name, const char *in, buf_t *out) {
    for (const char *p = in; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            buf_putc(out, '$');
            p++;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            size_t n = end ? (size_t)(end - p - 2) : 0;
            bool ok = end && n > 0 && n < 200 && (isalpha((unsigned char)p[2]) || p[2] == '_');
            for (size_t i = 0; ok && i < n; i++) ok = isalnum((unsigned char)p[2 + i]) || p[2 + i] == '_';
            if (!ok)
                return fail_key(x, s, name,
                                "a '${' that does not start ${NAME} (letters, digits and _); write $$ for a '$'");
            char var[200];
            memcpy(var, p + 2, n);
            var[n] = 0;
            const char *val = getenv(var);
            if (!val)
                return fail_key(x, s, name,
                                "environment variable %s is not set; export it before starting the worker (its value "
                                "is never logged)",
                                var);
            buf_puts(out, val);
            p = end;
        } else {
            buf_putc(out, *p);
        }
    }
    return true;
}

static bool header_name_ok(const char *n) {
    if (!*n) return false;
    for (const char *p = n; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p))) return false;
    return true;
}

/* Adds the headers of s (a mapping or NULL) to list, replacing one of the
 * same name already there (an endpoint's over the defaults'). */
static bool load_headers(cfg_ctx *x, const sect *s, char **list, size_t *n) {
    if (!s->obj) return true;
    const char *k;
    json_t *v;
    json_object_foreach(s->obj, k, v) {
        if (!header_name_ok(k)) return fail_key(x, s, k, "'%s' is not an HTTP header name", k);
        buf_t val = BUF_INIT;
        if (json_is_string(v)) {
            if (!expand_env(x, s, k, json_string_value(v), &val)) {
                buf_free(&val);
                return false;
            }
        } else if (json_is_integer(v)) {
            buf_printf(&val, "%lld", (long long)json_integer_value(v));
        } else {
            return fail_key(x, s, k, "expected a string value (use ${VAR} for a secret from the environment)");
        }
        if (val.data && strpbrk(val.data, "\r\n")) {
            buf_free(&val);
            return fail_key(x, s, k, "the value holds a line break, which a header cannot carry");
        }
        char *line = arena_sprintf(x->a, "%s: %s", k, val.data ? val.data : "");
        /* a secret does not stay in a heap buffer that is freed unwiped */
        if (val.data) memset(val.data, 0, val.len);
        buf_free(&val);
        size_t klen = strlen(k), i;
        for (i = 0; i < *n; i++)
            if (!strncasecmp(list[i], k, klen) && list[i][klen] == ':') break;
        list[i] = line;
        if (i == *n) ++*n;
    }
    return true;
}

static bool load_params(cfg_ctx *x, crawl_endpoint *ep, const sect *s) {
    if (!s->obj) return true;
    ep->params = arena_zalloc(x->a, (json_object_size(s->obj) + 1) * sizeof *ep->params);
    const char *k;
    json_t *v;
    json_object_foreach(s->obj, k, v) {
        const char *text;
        if (json_is_string(v))
            text = json_string_value(v);
        else if (json_is_integer(v))
            text = arena_sprintf(x->a, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            text = arena_sprintf(x->a, "%.15g", json_real_value(v));
        else if (json_is_boolean(v))
            text = json_is_true(v) ? "true" : "false";
        else
            return fail_key(x, s, k, "expected a string, number or boolean");
        if (strstr(text, "${"))
            return fail_key(x, s, k,
                            "${...} is substituted in headers only (query strings end up in logs and errors); send "
                            "the secret in a header");
        ep->params[ep->nparams++] = (crawl_kv){arena_strdup(x->a, k), arena_strdup(x->a, text)};
    }
    return true;
}

/* ---------------------------------------------------------------- pagination */

static const char *const page_types[] = {"none", "offset", "page", "cursor", "link"};

static bool load_pagination(cfg_ctx *x, crawl_endpoint *ep, const sect *es) {
    sect s;
    crawl_pagination *pg = &ep->pg;
    if (!get_sect(x, es, "pagination", false, "type and its parameters", &s)) return false;
    if (!s.obj) return true;
    const char *type = NULL;
    if (!get_str(x, &s, "type", true, "one of none, offset, page, cursor, link", &type)) return false;
    size_t t;
    for (t = 0; t < sizeof page_types / sizeof *page_types; t++)
        if (!strcmp(type, page_types[t])) break;
    if (t == sizeof page_types / sizeof *page_types)
        return fail_key(x, &s, "type", "'%s' is not a pagination type; expected none, offset, page, cursor or link",
                        type);
    pg->type = (crawl_page_type)t;
    static const char *const k_none[] = {"type", NULL};
    static const char *const k_offset[] = {"type", "param", "limit_param", "limit", "start", "total", NULL};
    static const char *const k_page[] = {"type", "param", "limit_param", "limit", "start", "total_pages", NULL};
    static const char *const k_cursor[] = {"type",        "param", "next",  "from_record", "increment",
                                           "limit_param", "limit", "start", NULL};
    static const char *const k_link[] = {"type", "limit_param", "limit", NULL};
    static const char *const *const keys[] = {k_none, k_offset, k_page, k_cursor, k_link};
    if (!check_keys(x, &s, keys[t])) return false;
    const char *param = NULL, *limit_param = NULL, *next = NULL, *from = NULL, *total = NULL;
    bool needs_param = pg->type == CRAWL_PAGE_OFFSET || pg->type == CRAWL_PAGE_PAGE || pg->type == CRAWL_PAGE_CURSOR;
    static const char *const param_help[] = {
        "", "the query parameter carrying the offset, such as param: offset",
        "the query parameter carrying the page number, such as param: page",
        "the query parameter carrying the cursor, such as param: cursor or param: fromId", ""};
    if (needs_param && !get_str(x, &s, "param", true, param_help[t], &param)) return false;
    if (!get_str(x, &s, "limit_param", false, "the page-size query parameter, such as limit", &limit_param) ||
        !get_int(x, &s, "limit", 1, 1000000000, "the page size", &pg->limit))
        return false;
    if (limit_param && !json_object_get(s.obj, "limit"))
        return missing(x, &s, "limit", "limit_param needs the page size to send, such as limit: 1000");
    if (limit_param && param && !strcmp(limit_param, param))
        return fail_key(x, &s, "limit_param", "is the same parameter as param");
    pg->param = param ? arena_strdup(x->a, param) : NULL;
    pg->limit_param = limit_param ? arena_strdup(x->a, limit_param) : NULL;
    switch (pg->type) {
    case CRAWL_PAGE_OFFSET:
    case CRAWL_PAGE_PAGE: {
        pg->start_n = pg->type == CRAWL_PAGE_PAGE ? 1 : 0;
        const char *tkey = pg->type == CRAWL_PAGE_PAGE ? "total_pages" : "total";
        if (!get_int(x, &s, "start", 0, INT64_MAX / 4,
                     pg->type == CRAWL_PAGE_PAGE ? "the first page number" : "the first offset", &pg->start_n) ||
            !get_str(x, &s, tkey, false, "a response path", &total) || (total && !check_path(x, &s, tkey, total)))
            return false;
        pg->total = total ? arena_strdup(x->a, total) : NULL;
        break;
    }
    case CRAWL_PAGE_CURSOR: {
        if (!get_str(x, &s, "next", false, "the response path of the next cursor, such as next", &next) ||
            !get_str(x, &s, "from_record", false, "the path, in a record, of the value to continue from, such as id",
                     &from))
            return false;
        if (!next && !from)
            return missing(x, &s, "next",
                           "a cursor comes from the response (next: PATH, null there ends the crawl) or from the last "
                           "record (from_record: id with increment: 1)");
        if (next && from) return fail_key(x, &s, "from_record", "give next or from_record, not both");
        if (next && (!check_path(x, &s, "next", next))) return false;
        if (from && !check_path(x, &s, "from_record", from)) return false;
        if (next && json_object_get(s.obj, "increment"))
            return fail_key(x, &s, "increment", "increment goes with from_record, not next");
        if (from && !json_object_get(s.obj, "increment"))
            return missing(x, &s, "increment",
                           "what to add to the last record's value for the next page: 1 when the parameter is "
                           "inclusive (Binance's fromId), 0 when it is exclusive or not a number");
        if (!get_int(x, &s, "increment", -1000000000, 1000000000, "the step added to the last record's value",
                     &pg->increment))
            return false;
        json_t *st = json_object_get(s.obj, "start");
        if (st && json_is_integer(st))
            pg->start = arena_sprintf(x->a, "%lld", (long long)json_integer_value(st));
        else if (st && json_is_string(st))
            pg->start = arena_strdup(x->a, json_string_value(st));
        else if (st)
            return fail_key(x, &s, "start", "expected the first page's cursor, a string or an integer");
        pg->next = next ? arena_strdup(x->a, next) : NULL;
        pg->from_record = from ? arena_strdup(x->a, from) : NULL;
        break;
    }
    default: break;
    }
    return true;
}

/* ---------------------------------------------------------------- endpoints */

static bool name_ok(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > 100) return false;
    for (const char *p = n; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')) return false;
    return true;
}

static bool load_defaults(cfg_ctx *x, const sect *root, ep_defaults *d) {
    *d = (ep_defaults){.timeout_ms = 30000,
                       .retries = 5,
                       .backoff_ms = 1000,
                       .backoff_max_ms = 60000,
                       .retry_after_max_ms = 600000,
                       .max_pages = 100000};
    sect s;
    if (!get_sect(x, root, "defaults", false, "settings every endpoint starts from", &s)) return false;
    d->headers_sect = (sect){.path = "defaults.headers"};
    if (!s.obj) return true;
    static const char *const keys[] = {"headers",         "timeout",   "retries", "backoff",
                                       "retry_after_max", "max_pages", NULL};
    if (!check_keys(x, &s, keys)) return false;
    return get_sect(x, &s, "headers", false, "header names and values", &d->headers_sect);
}

/* The settings an endpoint and `defaults:` both take. */
static bool load_tuning(cfg_ctx *x, const sect *s, int64_t *timeout, int *retries, int64_t *backoff,
                        int64_t *backoff_max, int64_t *ra_max, int64_t *max_pages) {
    int64_t r = *retries;
    sect b;
    if (!get_duration(x, s, "timeout", 1000, 3600000, timeout) ||
        !get_int(x, s, "retries", 0, 100, "retries after the first request of a page", &r) ||
        !get_duration(x, s, "retry_after_max", 0, 86400000, ra_max) ||
        !get_int(x, s, "max_pages", 1, 1000000000, "the most pages one job may fetch", max_pages) ||
        !get_sect(x, s, "backoff", false, "initial and max", &b))
        return false;
    *retries = (int)r;
    if (b.obj) {
        static const char *const keys[] = {"initial", "max", NULL};
        if (!check_keys(x, &b, keys) || !get_duration(x, &b, "initial", 1, 3600000, backoff) ||
            !get_duration(x, &b, "max", 1, 86400000, backoff_max))
            return false;
        if (*backoff_max < *backoff) return fail_key(x, &b, "max", "is shorter than initial");
    }
    return true;
}

static bool load_endpoint(cfg_ctx *x, const sect *eps, const char *name, const ep_defaults *d, crawl_endpoint *ep) {
    sect s;
    if (!name_ok(name))
        return fail_key(x, eps, name, "'%s' is not an endpoint name; use 1 to 100 letters, digits and _ - .", name);
    if (!get_sect(x, eps, name, true, "base_url, path, records and the rest", &s)) return false;
    static const char *const keys[] = {"base_url",        "path",      "method", "headers", "params",  "pagination",
                                       "records",         "rate",      "burst",  "timeout", "retries", "backoff",
                                       "retry_after_max", "max_pages", NULL};
    if (!check_keys(x, &s, keys)) return false;
    ep->name = arena_strdup(x->a, name);
    const char *base = NULL, *path = "/", *method = "GET", *records = NULL;
    if (!get_str(x, &s, "base_url", true, "the API's address, such as https://api.binance.com", &base) ||
        !get_str(x, &s, "path", false, "the path, such as /api/v3/trades", &path) ||
        !get_str(x, &s, "method", false, "GET or POST", &method) ||
        !get_str(x, &s, "records", true,
                 "where the records are in a response: $ for a top-level array, or a path such as data.trades",
                 &records) ||
        !check_path(x, &s, "records", records))
        return false;
    char hostkey[CRAWL_HOST_KEY_MAX];
    floe_err lib_err;
    if (!curl_dl_load(&lib_err)) return fail_key(x, &s, "base_url", "%s", lib_err.msg);
    if (!crawl_url_host(base, hostkey, sizeof hostkey) || strpbrk(base, "?#"))
        return fail_key(x, &s, "base_url", "'%s' is not an http:// or https:// URL with a host (and no query)", base);
    if (path[0] != '/' || strpbrk(path, "?# "))
        return fail_key(x, &s, "path",
                        "'%s' must start with / and hold no query string (put query parameters under params:)", path);
    if (strcasecmp(method, "GET") && strcasecmp(method, "POST"))
        return fail_key(x, &s, "method", "'%s' is not supported; expected GET or POST", method);
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') blen--;
    ep->base_url = arena_strndup(x->a, base, blen);
    ep->path = arena_strdup(x->a, path);
    ep->method = strcasecmp(method, "GET") ? "POST" : "GET";
    ep->records = arena_strdup(x->a, records);
    ep->host = crawl_host_get(x->c, hostkey);

    /* headers: the defaults', then the endpoint's over them */
    sect hs;
    if (!get_sect(x, &s, "headers", false, "header names and values", &hs)) return false;
    size_t cap =
        (d->headers_sect.obj ? json_object_size(d->headers_sect.obj) : 0) + (hs.obj ? json_object_size(hs.obj) : 0) + 1;
    ep->headers = arena_zalloc(x->a, cap * sizeof *ep->headers);
    if (!load_headers(x, &d->headers_sect, ep->headers, &ep->nheaders) ||
        !load_headers(x, &hs, ep->headers, &ep->nheaders))
        return false;

    sect ps;
    if (!get_sect(x, &s, "params", false, "query parameter names and values", &ps) || !load_params(x, ep, &ps) ||
        !load_pagination(x, ep, &s))
        return false;
    for (size_t i = 0; i < ep->nparams; i++) {
        const char *pn = ep->params[i].name;
        if (str_eq(pn, ep->pg.param) || str_eq(pn, ep->pg.limit_param))
            return fail_key(x, &ps, pn, "is set by pagination; remove it from params (set pagination.%s instead)",
                            str_eq(pn, ep->pg.param) ? "start" : "limit");
    }

    ep->timeout_ms = d->timeout_ms;
    ep->retries = d->retries;
    ep->backoff_ms = d->backoff_ms;
    ep->backoff_max_ms = d->backoff_max_ms;
    ep->retry_after_max_ms = d->retry_after_max_ms;
    ep->max_pages = d->max_pages;
    if (!load_tuning(x, &s, &ep->timeout_ms, &ep->retries, &ep->backoff_ms, &ep->backoff_max_ms,
                     &ep->retry_after_max_ms, &ep->max_pages))
        return false;

    double rate = 0, burst = -1;
    if (!get_number(x, &s, "rate", 0.001, 1e6, "requests per second to this endpoint", &rate) ||
        !get_number(x, &s, "burst", 1, 1e6, "requests this endpoint may get at once", &burst))
        return false;
    if (burst > 0 && rate == 0) return fail_key(x, &s, "burst", "burst needs a rate; add rate: (requests per second)");
    pthread_mutex_init(&ep->limiter.mu, NULL);
    if (rate > 0) {
        ep->limiter.limited = true;
        crawl_bucket_init(&ep->limiter.bucket, rate, burst > 0 ? burst : fmax(1, rate), time_mono_ns());
    }
    return true;
}

/* Checks the whole document and fills x->c. */
static bool crawl_validate_config(cfg_ctx *x) {
    json_t *root = yaml_root(x->doc);
    if (!root || json_is_null(root))
        return floe_err_set(x->err, FLOE_EINVAL,
                            "%s: the crawler config is empty; it needs an endpoints: block (docs/crawler.md)",
                            yaml_name(x->doc));
    if (!json_is_object(root))
        return floe_err_set(x->err, FLOE_EINVAL,
                            "%s: the crawler config must be a mapping with endpoints:, and optionally hosts: and "
                            "defaults: (docs/crawler.md)",
                            yaml_name(x->doc));
    sect top = {.obj = root, .path = "", .line = 1};
    static const char *const keys[] = {"endpoints", "hosts", "defaults", NULL};
    if (!check_keys(x, &top, keys) || !load_hosts(x, &top)) return false;
    ep_defaults d;
    if (!load_defaults(x, &top, &d)) return false;
    sect ds = {.obj = json_object_get(root, "defaults"), .path = "defaults", .line = key_line(x, &top, "defaults")};
    if (ds.obj && !load_tuning(x, &ds, &d.timeout_ms, &d.retries, &d.backoff_ms, &d.backoff_max_ms,
                               &d.retry_after_max_ms, &d.max_pages))
        return false;
    sect eps;
    if (!get_sect(x, &top, "endpoints", true, "one block per endpoint, keyed by its name", &eps)) return false;
    size_t n = json_object_size(eps.obj);
    if (n == 0) return fail_at(x, eps.line, "endpoints", "no endpoint; add one block per endpoint");
    x->c->eps = arena_zalloc(x->a, n * sizeof *x->c->eps);
    const char *k;
    json_t *v;
    json_object_foreach(eps.obj, k, v) {
        (void)v;
        crawl_endpoint *ep = &x->c->eps[x->c->neps];
        bool ok = load_endpoint(x, &eps, k, &d, ep);
        if (ep->name) x->c->neps++; /* its limiter is initialised: crawl_free destroys it */
        if (!ok) return false;
    }
    return true;
}

/* ---------------------------------------------------------------- the crawler */

static crawl_t *crawl_new(const char *name) {
    crawl_t *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->name = strdup(name);
    arena_init(&c->arena, 0);
    pthread_mutex_init(&c->hosts_mu, NULL);
    c->http = http_client_new();
    return c;
}

static crawl_t *load_doc(yaml_doc *doc, floe_err *err) {
    if (!doc) return NULL;
    crawl_t *c = crawl_new(yaml_name(doc));
    cfg_ctx x = {.doc = doc, .c = c, .a = &c->arena, .err = err};
    bool ok = crawl_validate_config(&x);
    yaml_free(doc);
    if (!ok) {
        crawl_free(c);
        return NULL;
    }
    return c;
}

crawl_t *crawl_load(const char *path, floe_err *err) {
    yaml_doc *doc = yaml_load_file(path, err);
    if (!doc) {
        if (err && err->code == FLOE_ENOENT)
            floe_err_set(err, FLOE_ENOENT,
                         "crawler config %s does not exist; give --config FILE (docs/crawler.md has an example)", path);
        return NULL;
    }
    return load_doc(doc, err);
}

crawl_t *crawl_load_str(const char *text, size_t len, const char *name, floe_err *err) {
    return load_doc(yaml_load_str(text, len, name, err), err);
}

void crawl_free(crawl_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->neps; i++) {
        crawl_endpoint *ep = &c->eps[i];
        pthread_mutex_destroy(&ep->limiter.mu);
        for (size_t h = 0; h < ep->nheaders; h++) memset(ep->headers[h], 0, strlen(ep->headers[h]));
    }
    crawl_host *h = c->hosts;
    while (h) {
        crawl_host *next = h->next;
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        h = next;
    }
    pthread_mutex_destroy(&c->hosts_mu);
    http_client_free(c->http);
    arena_free(&c->arena);
    free(c->name);
    free(c);
}

size_t crawl_endpoint_count(const crawl_t *c) { return c->neps; }
const char *crawl_endpoint_name(const crawl_t *c, size_t i) { return i < c->neps ? c->eps[i].name : NULL; }

const crawl_endpoint *crawl_endpoint_find(const crawl_t *c, const char *name) {
    for (size_t i = 0; i < c->neps; i++)
        if (!strcmp(c->eps[i].name, name)) return &c->eps[i];
    return NULL;
}

crawl_metrics *crawl_get_metrics(crawl_t *c) { return &c->metrics; }

crawl_host *crawl_host_get(crawl_t *c, const char *key) {
    pthread_mutex_lock(&c->hosts_mu);
    crawl_host *h;
    for (h = c->hosts; h; h = h->next)
        if (!strcmp(h->key, key)) break;
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h) abort();
        snprintf(h->key, sizeof h->key, "%s", key);
        pthread_mutex_init(&h->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->cv, &ca);
        pthread_condattr_destroy(&ca);
        h->concurrency = CRAWL_DEFAULT_CONCURRENCY;
        h->next = c->hosts;
        c->hosts = h;
    }
    pthread_mutex_unlock(&c->hosts_mu);
    return h;
}
