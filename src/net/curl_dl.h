/*
 * curl_dl.h: libcurl, opened on first use (base/dl.h says why).
 *
 * Include this instead of <curl/curl.h>. The libcurl functions Floe calls
 * keep their names: each is a macro for a pointer that curl_dl_load fills.
 * Call curl_dl_load before the first of them; it also runs
 * curl_global_init, once.
 */
#ifndef FLOE_NET_CURL_DL_H
#define FLOE_NET_CURL_DL_H

#include <curl/curl.h>

#include "base/dl.h"

#define FLOE_CURL_SYMS(X)                                                                                              \
    X(curl_global_init)                                                                                                \
    X(curl_easy_init)                                                                                                  \
    X(curl_easy_setopt)                                                                                                \
    X(curl_easy_perform)                                                                                               \
    X(curl_easy_getinfo)                                                                                               \
    X(curl_easy_reset)                                                                                                 \
    X(curl_easy_cleanup)                                                                                               \
    X(curl_easy_strerror)                                                                                              \
    X(curl_slist_append)                                                                                               \
    X(curl_slist_free_all)                                                                                             \
    X(curl_free)                                                                                                       \
    X(curl_url)                                                                                                        \
    X(curl_url_set)                                                                                                    \
    X(curl_url_get)                                                                                                    \
    X(curl_url_cleanup)

DL_DECLARE(floe_curl_fns, FLOE_CURL_SYMS);
extern struct floe_curl_fns floe_curl;

/* Opens libcurl.so.4 and initialises it, once; false (with err naming the
 * Debian package) when it is missing. */
bool curl_dl_load(floe_err *err);

/* From here on the names are the pointers. curl.h makes setopt and
 * getinfo type-checking macros under GCC; those go. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*floe_curl.curl_global_init)
#define curl_easy_init (*floe_curl.curl_easy_init)
#define curl_easy_setopt (*floe_curl.curl_easy_setopt)
#define curl_easy_perform (*floe_curl.curl_easy_perform)
#define curl_easy_getinfo (*floe_curl.curl_easy_getinfo)
#define curl_easy_reset (*floe_curl.curl_easy_reset)
#define curl_easy_cleanup (*floe_curl.curl_easy_cleanup)
#define curl_easy_strerror (*floe_curl.curl_easy_strerror)
#define curl_slist_append (*floe_curl.curl_slist_append)
#define curl_slist_free_all (*floe_curl.curl_slist_free_all)
#define curl_free (*floe_curl.curl_free)
#define curl_url (*floe_curl.curl_url)
#define curl_url_set (*floe_curl.curl_url_set)
#define curl_url_get (*floe_curl.curl_url_get)
#define curl_url_cleanup (*floe_curl.curl_url_cleanup)

#endif
