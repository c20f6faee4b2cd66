/*
 * client.c: a blocking HTTP client on libcurl for Floe's own outbound calls.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "net/http.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t collect(char *p, size_t size, size_t n, void *ud) {
    buf_append(ud, p, size * n);
    return size * n;
}

bool http_fetch(const char *method, const char *url, const char *const *headers, const void *body, size_t len,
                http_client_resp *out, floe_err *err) {
    pthread_once(&curl_once, curl_init);
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c) return floe_err_set(err, FLOE_ENOMEM, "curl_easy_init failed");
    struct curl_slist *hl = NULL;
    for (const char *const *h = headers; h && *h; h++) hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    bool ok = rc == CURLE_OK;
    if (ok)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        floe_err_set(err, FLOE_EIO, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return ok;
}

void http_client_resp_free(http_client_resp *r) {
    buf_free(&r->body);
    buf_free(&r->headers);
}
