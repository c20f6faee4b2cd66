/*
 * curl_dl.c: opening libcurl on first use (curl_dl.h).
 */
#include "net/curl_dl.h"

struct floe_curl_fns floe_curl;

static dl_lib curl_lib = DL_LIB("libcurl.so.4", "libcurl4", "HTTP requests (the crawler, S3 and catalog clients)");
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;
static floe_err curl_err;

static void curl_open(void) {
    curl_ok = dl_load(&curl_lib, &floe_curl, &curl_err, FLOE_CURL_SYMS(DL_NAME) NULL);
    if (curl_ok && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        curl_ok = false;
        floe_err_set(&curl_err, FLOE_EINTERNAL, "libcurl.so.4: curl_global_init failed");
    }
}

bool curl_dl_load(floe_err *err) {
    pthread_once(&curl_once, curl_open);
    if (!curl_ok && err) *err = curl_err;
    return curl_ok;
}
