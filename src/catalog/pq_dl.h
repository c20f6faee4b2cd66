/*
 * pq_dl.h: libpq, opened on first use (base/dl.h says why): only a catalog
 * kept in PostgreSQL needs it. Include this instead of <libpq-fe.h>; the
 * libpq functions keep their names, and pq_dl_load comes before the first.
 */
#ifndef FLOE_CATALOG_PQ_DL_H
#define FLOE_CATALOG_PQ_DL_H

#include <libpq-fe.h>

#include "base/dl.h"

#define FLOE_PQ_SYMS(X)                                                                                                \
    X(PQconnectdb)                                                                                                     \
    X(PQstatus)                                                                                                        \
    X(PQfinish)                                                                                                        \
    X(PQerrorMessage)                                                                                                  \
    X(PQsetNoticeProcessor)                                                                                            \
    X(PQtransactionStatus)                                                                                             \
    X(PQexec)                                                                                                          \
    X(PQexecParams)                                                                                                    \
    X(PQresultStatus)                                                                                                  \
    X(PQresultErrorMessage)                                                                                            \
    X(PQresultErrorField)                                                                                              \
    X(PQntuples)                                                                                                       \
    X(PQnfields)                                                                                                       \
    X(PQgetvalue)                                                                                                      \
    X(PQgetisnull)                                                                                                     \
    X(PQclear)

DL_DECLARE(floe_pq_fns, FLOE_PQ_SYMS);
extern struct floe_pq_fns floe_pq;

/* Opens libpq.so.5, once; false (with err naming the Debian package) when
 * it is missing. */
bool pq_dl_load(floe_err *err);

#define PQconnectdb (*floe_pq.PQconnectdb)
#define PQstatus (*floe_pq.PQstatus)
#define PQfinish (*floe_pq.PQfinish)
#define PQerrorMessage (*floe_pq.PQerrorMessage)
#define PQsetNoticeProcessor (*floe_pq.PQsetNoticeProcessor)
#define PQtransactionStatus (*floe_pq.PQtransactionStatus)
#define PQexec (*floe_pq.PQexec)
#define PQexecParams (*floe_pq.PQexecParams)
#define PQresultStatus (*floe_pq.PQresultStatus)
#define PQresultErrorMessage (*floe_pq.PQresultErrorMessage)
#define PQresultErrorField (*floe_pq.PQresultErrorField)
#define PQntuples (*floe_pq.PQntuples)
#define PQnfields (*floe_pq.PQnfields)
#define PQgetvalue (*floe_pq.PQgetvalue)
#define PQgetisnull (*floe_pq.PQgetisnull)
#define PQclear (*floe_pq.PQclear)

#endif
