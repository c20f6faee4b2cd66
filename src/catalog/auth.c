/*
 * auth.c: placeholder, being built on its own branch (every request passes).
 */
#include "catalog/cat_http.h"

bool cat_auth_check(http_req_t *req, cat_http_ctx *ctx, bool nessie) {
    (void)req;
    (void)ctx;
    (void)nessie;
    return true;
}
