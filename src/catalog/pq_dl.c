/*
 * pq_dl.c: opening libpq on first use (pq_dl.h).
 */
#include "catalog/pq_dl.h"

struct floe_pq_fns floe_pq;

static dl_lib pq_lib = DL_LIB("libpq.so.5", "libpq5", "a catalog kept in PostgreSQL");

bool pq_dl_load(floe_err *err) { return dl_load(&pq_lib, &floe_pq, err, FLOE_PQ_SYMS(DL_NAME) NULL); }
