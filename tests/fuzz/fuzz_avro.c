/*
 * fuzz_avro.c: libFuzzer harness for the Avro codec (src/format/avro/).
 *
 * Byte 0 picks the target (modulo 2); the rest is the input.
 *
 *   0  a container file: open it, read every record and print it as JSON.
 *      Whatever reads must also write: the records go through a writer with
 *      the file's own schema and read back to the same JSON.
 *   1  schema JSON: parse it; a schema that parses prints to JSON that
 *      parses again to the same printed form.
 *
 * Failures must be FLOE_EINVAL or FLOE_ETOOLARGE with a message; anything
 * else (a crash, a sanitizer report, a hang, a mismatch) aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/avro/avro.h"

static void check_err(const floe_err *err) {
    if (err->code != FLOE_EINVAL && err->code != FLOE_ETOOLARGE) abort();
    if (err->msg[0] == '\0') abort();
}

/* Re-encodes the records with the file's schema and checks they read back
 * to the same JSON. A record the writer refuses (a string that is not
 * UTF-8) ends the check. */
static void rewrite(const avro_schema_t *schema, avro_value_t **vals, size_t n, const buf_t *want) {
    floe_err err = {0};
    avro_writer_t *w =
        avro_writer_new(schema, &(avro_writer_opts){.codec = AVRO_CODEC_DEFLATE, .block_bytes = 256}, &err);
    if (!w) abort();
    for (size_t i = 0; i < n; i++)
        if (!avro_writer_append(w, vals[i], &err)) {
            check_err(&err);
            avro_writer_free(w);
            return;
        }
    buf_t file = BUF_INIT, got = BUF_INIT;
    if (!avro_writer_finish(w, &file, &err)) abort();
    avro_reader_t *r = avro_reader_open((const uint8_t *)file.data, file.len, "rewritten", &err);
    if (!r) abort();
    arena_t a;
    arena_init(&a, 4096);
    for (;;) {
        avro_value_t *v;
        if (!avro_reader_next(r, &a, &v, &err)) abort();
        if (!v) break;
        avro_value_to_json(v, avro_reader_schema(r)->root, &got);
        buf_putc(&got, '\n');
    }
    if (got.len != want->len || (got.len && memcmp(got.data, want->data, got.len) != 0)) abort();
    arena_free(&a);
    avro_reader_free(r);
    buf_free(&file);
    buf_free(&got);
    avro_writer_free(w);
}

static void fuzz_container(const uint8_t *p, size_t n) {
    floe_err err = {0};
    avro_reader_t *r = avro_reader_open(p, n, "fuzz.avro", &err);
    if (!r) {
        check_err(&err);
        return;
    }
    arena_t a;
    arena_init(&a, 4096);
    buf_t json = BUF_INIT;
    avro_value_t *vals[64];
    size_t nvals = 0;
    bool ok = true;
    for (;;) {
        avro_value_t *v;
        if (!avro_reader_next(r, &a, &v, &err)) {
            check_err(&err);
            ok = false;
            break;
        }
        if (!v) break;
        avro_value_to_json(v, avro_reader_schema(r)->root, &json);
        buf_putc(&json, '\n');
        if (nvals == 64) {
            ok = false; /* enough for the round trip */
            break;
        }
        vals[nvals++] = v;
    }
    if (ok) rewrite(avro_reader_schema(r), vals, nvals, &json);
    buf_free(&json);
    arena_free(&a);
    avro_reader_free(r);
}

static void fuzz_schema(const uint8_t *p, size_t n) {
    floe_err err = {0};
    avro_schema_t *s = avro_schema_parse((const char *)p, n, "fuzz.avsc", &err);
    if (!s) {
        check_err(&err);
        return;
    }
    buf_t once = BUF_INIT, twice = BUF_INIT;
    avro_schema_json(s, &once);
    avro_schema_t *s2 = avro_schema_parse(once.data, once.len, "printed", &err);
    if (!s2) abort();
    avro_schema_json(s2, &twice);
    if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0) abort();
    avro_schema_free(s2);
    avro_schema_free(s);
    buf_free(&once);
    buf_free(&twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] % 2 == 0)
        fuzz_container(data + 1, size - 1);
    else
        fuzz_schema(data + 1, size - 1);
    return 0;
}
