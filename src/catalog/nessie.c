/*
 * nessie.c: placeholder, being built on its own branch.
 */
#include "catalog/cat_http.h"

void cat_nessie_handle(http_req_t *req, cat_http_ctx *ctx, const char *body, size_t len) {
    (void)ctx;
    (void)body;
    (void)len;
    json_t *e = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", "not built yet", "type",
                          "NotImplementedException", "code", 501);
    cat_json_respond(req, 501, e);
}
