/*
 * test_dl.c: libraries opened on first use (base/dl.h): the functions
 * come from the real library, the answer is remembered, and a missing
 * library or function is an error naming it and its Debian package.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <zlib.h>

#include "base/dl.h"
#include "catalog/pq_dl.h"
#include "net/curl_dl.h"

#define Z_SYMS(X) X(zlibVersion) X(crc32)
DL_DECLARE(z_fns, Z_SYMS);

Test(dl, functions_come_from_the_library) {
    static dl_lib z = DL_LIB("libz.so.1", "zlib1g", "a test");
    struct z_fns f = {0};
    floe_err err = {0};
    cr_assert(dl_load(&z, &f, &err, Z_SYMS(DL_NAME) NULL), "%s", err.msg);
    cr_assert_str_eq(f.zlibVersion(), zlibVersion());
    cr_assert_eq(f.crc32(0, (const Bytef *)"floe", 4), crc32(0, (const Bytef *)"floe", 4));
    /* the second call answers from the first */
    struct z_fns g = {0};
    cr_assert(dl_load(&z, &g, &err, Z_SYMS(DL_NAME) NULL));
    cr_assert_null(g.zlibVersion, "a loaded library is not walked again");
}

Test(dl, a_missing_library_names_itself_and_its_package) {
    static dl_lib nope = DL_LIB("libfloe-no-such.so.9", "libfloe-nope9", "testing errors");
    struct z_fns f = {0};
    floe_err err = {0};
    cr_assert_not(dl_load(&nope, &f, &err, Z_SYMS(DL_NAME) NULL));
    cr_assert(strstr(err.msg, "libfloe-no-such.so.9"), "%s", err.msg);
    cr_assert(strstr(err.msg, "install the Debian package libfloe-nope9"), "%s", err.msg);
    cr_assert(strstr(err.msg, "testing errors"), "%s", err.msg);
    floe_err again = {0};
    cr_assert_not(dl_load(&nope, &f, &again, Z_SYMS(DL_NAME) NULL));
    cr_assert_str_eq(again.msg, err.msg);
}

Test(dl, a_missing_function_is_named) {
    static dl_lib z = DL_LIB("libz.so.1", "zlib1g", "a test");
    void *slots[2] = {0};
    floe_err err = {0};
    cr_assert_not(dl_load(&z, slots, &err, "zlibVersion", "floe_no_such_function", NULL));
    cr_assert(strstr(err.msg, "has no function floe_no_such_function"), "%s", err.msg);
}

Test(dl, curl_and_libpq_open_on_first_use) {
    floe_err err = {0};
    cr_assert(curl_dl_load(&err), "%s", err.msg);
    CURLU *u = curl_url();
    cr_assert_not_null(u);
    cr_assert_eq(curl_url_set(u, CURLUPART_URL, "http://example.com:81/a", 0), CURLUE_OK);
    char *port = NULL;
    cr_assert_eq(curl_url_get(u, CURLUPART_PORT, &port, 0), CURLUE_OK);
    cr_assert_str_eq(port, "81");
    curl_free(port);
    curl_url_cleanup(u);
    cr_assert(pq_dl_load(&err), "%s", err.msg);
    cr_assert_eq(PQstatus(NULL), CONNECTION_BAD, "libpq answers for a missing connection");
}
