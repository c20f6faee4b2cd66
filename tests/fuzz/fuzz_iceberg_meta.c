/*
 * fuzz_iceberg_meta.c: libFuzzer harness for Iceberg table metadata and
 * manifests (src/iceberg/meta.c, schema_json.c, manifest.c).
 *
 * Byte 0 picks the target (modulo 3); the rest is the input.
 *
 *   0  table metadata JSON: parse it; metadata that parses is written,
 *      parsed again and written again, and the two writes must be the same
 *      bytes.
 *   1  a manifest: read it without and with manifest-list values to
 *      inherit from.
 *   2  a manifest list: read it; what reads is written back as a v2 list
 *      (when every count is known) and must read back to the same paths.
 *
 * Failures must be FLOE_EINVAL or FLOE_ETOOLARGE with a message; anything
 * else (a crash, a sanitizer report, a hang, a mismatch) aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/iceberg.h"

static void check_err(const floe_err *err) {
    if (err->code != FLOE_EINVAL && err->code != FLOE_ETOOLARGE) abort();
    if (err->msg[0] == '\0') abort();
}

static void fuzz_meta(const uint8_t *p, size_t n) {
    arena_t a;
    arena_init(&a, 0);
    floe_err err = {0};
    ice_table_meta m, m2;
    if (!ice_meta_parse((const char *)p, n, "fuzz.json", &a, &m, &err)) {
        check_err(&err);
        arena_free(&a);
        return;
    }
    buf_t once = BUF_INIT, twice = BUF_INIT;
    ice_meta_write(&m, &once);
    if (!ice_meta_parse(once.data, once.len, "written", &a, &m2, &err)) abort();
    ice_meta_write(&m2, &twice);
    if (once.len != twice.len || memcmp(once.data, twice.data, once.len)) abort();
    buf_free(&once);
    buf_free(&twice);
    arena_free(&a);
}

static void fuzz_manifest(const uint8_t *p, size_t n) {
    arena_t a;
    arena_init(&a, 0);
    floe_err err = {0};
    ice_manifest_entry *e;
    size_t ne;
    if (!ice_manifest_read(p, n, "fuzz.avro", NULL, NULL, &a, &e, &ne, &err)) check_err(&err);
    ice_manifest_file mf = {.sequence_number = 3, .added_snapshot_id = 9, .partition_spec_id = 1};
    if (!ice_manifest_read(p, n, "fuzz.avro", &mf, NULL, &a, &e, &ne, &err)) check_err(&err);
    arena_free(&a);
}

static void fuzz_list(const uint8_t *p, size_t n) {
    arena_t a;
    arena_init(&a, 0);
    floe_err err = {0};
    ice_manifest_file *f, *back;
    size_t nf, nb;
    if (!ice_manifest_list_read(p, n, "fuzz.avro", &a, &f, &nf, &err)) {
        check_err(&err);
        arena_free(&a);
        return;
    }
    buf_t out = BUF_INIT;
    if (ice_manifest_list_write(1, -1, 1, f, nf, &out, &err)) {
        if (!ice_manifest_list_read(out.data, out.len, "written", &a, &back, &nb, &err) || nb != nf) abort();
        for (size_t i = 0; i < nf; i++)
            if (strcmp(back[i].manifest_path, f[i].manifest_path) || back[i].added_rows_count != f[i].added_rows_count)
                abort();
    } else {
        check_err(&err); /* v1 lists may leave counts unknown */
    }
    buf_free(&out);
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0: fuzz_meta(data + 1, size - 1); break;
    case 1: fuzz_manifest(data + 1, size - 1); break;
    default: fuzz_list(data + 1, size - 1); break;
    }
    return 0;
}
