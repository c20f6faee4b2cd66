/*
 * fuzz_parquet.c: libFuzzer harness for the Parquet reader: the footer and
 * its Thrift decoder, the schema mapping, page headers, every page decoder
 * reachable from a file, nested assembly and page-index pruning.
 *
 * The input is a whole file. Byte 0 of the input (when the file is long
 * enough) also picks a pruning predicate, so the page index paths run, and
 * (its top bit) whether a second thread decodes ahead. The
 * reader must either return batches that keep their promises or fail with
 * FLOE_EINVAL / FLOE_ETOOLARGE; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/parquet/parquet.h"

static void check(const floe_err *err) {
    if (err->code != FLOE_EINVAL && err->code != FLOE_ETOOLARGE) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    floe_err err = {0};
    pq_source src = pq_source_mem(data, size, "fuzz.parquet");
    pq_reader_t *r = pq_reader_open(&src, &err);
    if (!r) {
        check(&err);
        pq_source_close(&src);
        return 0;
    }
    const fmt_schema_t *s = pq_reader_schema(r);
    pq_reader_opts o = {0};
    pq_pred pred = {0};
    if (size > 0 && s->root.nchildren > 0 && (data[0] & 1)) {
        pred.field_id = s->root.children[data[0] % s->root.nchildren].id;
        pred.op = (pq_pred_op)((data[0] >> 1) % 7);
        pred.i64 = data[0];
        pred.f64 = data[0];
        pred.bytes = data;
        pred.nbytes = 1;
        o.preds = &pred;
        o.npreds = 1;
    }
    o.batch_rows = 100;
    o.threads = size > 0 && (data[0] & 0x80) ? 2 : 1;
    if (!pq_reader_scan(r, &o, NULL, &err)) {
        check(&err);
    } else {
        fmt_batch_t *b;
        uint64_t rows = 0;
        while (pq_reader_next(r, &b, &err)) {
            for (uint32_t c = 0; c < b->ncols; c++)
                if (b->cols[c].len != b->nrows) abort();
            rows += b->nrows;
            if (rows > 10000000) break;
        }
        if (err.code) check(&err);
    }
    pq_reader_free(r);
    pq_source_close(&src);
    return 0;
}
