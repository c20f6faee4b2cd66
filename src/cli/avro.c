/*
 * avro.c: `floe avro ...`: look inside Avro container files (Iceberg
 * manifests and manifest lists among them) and write them from JSON.
 *
 *   floe avro cat FILE [--format json]   one record per line, Avro JSON encoding
 *   floe avro schema FILE                the writer's schema, indented
 *   floe avro meta FILE                  the file metadata as one JSON object
 *   floe avro write --schema SCHEMA.json [--codec C] [--level N]
 *                   [--block-bytes N] [--meta KEY=VALUE]... IN.jsonl OUT.avro
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/str.h"
#include "cli/cli.h"
#include "format/avro/avro.h"

static void usage(FILE *f) {
    fprintf(f, "usage: floe avro cat FILE [--format json]\n"
               "       floe avro schema FILE\n"
               "       floe avro meta FILE\n"
               "       floe avro write --schema SCHEMA.json [--codec null|deflate|snappy|zstandard] [--level N]\n"
               "                       [--block-bytes N] [--meta KEY=VALUE]... IN.jsonl OUT.avro\n\n"
               "cat prints one record per line in the Avro JSON encoding: a union value is\n"
               "{\"type\": value} (null stays null), bytes and fixed are strings of code points\n"
               "U+0000..U+00FF. write reads records in that same form, one per line.\n");
}

static int fail(const floe_err *err) {
    fprintf(stderr, "floe avro: %s\n", err->msg);
    return 1;
}

/* Reads FILE and opens it as a container. */
static avro_reader_t *open_file(const char *path, char **data, floe_err *err) {
    size_t len;
    if (!fs_read_all(path, data, &len, err)) return NULL;
    return avro_reader_open((const uint8_t *)*data, len, path, err);
}

static int cmd_cat(const char *path) {
    floe_err err = {0};
    char *data = NULL;
    int rc = 1;
    arena_t a;
    arena_init(&a, 64 * 1024);
    buf_t line = BUF_INIT;
    avro_reader_t *r = open_file(path, &data, &err);
    if (!r) goto fail;
    const avro_type_t *root = avro_reader_schema(r)->root;
    for (;;) {
        avro_value_t *v;
        if (!avro_reader_next(r, &a, &v, &err)) goto fail;
        if (!v) break;
        buf_reset(&line);
        avro_value_to_json(v, root, &line);
        buf_putc(&line, '\n');
        if (fwrite(line.data, 1, line.len, stdout) != line.len) {
            floe_err_errno(&err, errno, "writing to stdout");
            goto fail;
        }
        arena_free(&a);
    }
    rc = 0;
fail:
    if (rc) fail(&err);
    buf_free(&line);
    arena_free(&a);
    avro_reader_free(r);
    free(data);
    return rc;
}

static int cmd_schema(const char *path) {
    floe_err err = {0};
    char *data = NULL;
    avro_reader_t *r = open_file(path, &data, &err);
    if (!r) {
        free(data);
        return fail(&err);
    }
    char *s = json_dumps(avro_reader_schema(r)->json, JSON_INDENT(2) | JSON_ENCODE_ANY);
    printf("%s\n", s ? s : "null");
    free(s);
    avro_reader_free(r);
    free(data);
    return 0;
}

/* Metadata values are bytes; text prints as a string, anything that is not
 * UTF-8 as the JSON encoding's code points U+0000..U+00FF. */
static int cmd_meta(const char *path) {
    floe_err err = {0};
    char *data = NULL;
    avro_reader_t *r = open_file(path, &data, &err);
    if (!r) {
        free(data);
        return fail(&err);
    }
    arena_t a;
    arena_init(&a, 4096);
    buf_t out = BUF_INIT;
    buf_putc(&out, '{');
    for (size_t i = 0; i < avro_reader_meta_count(r); i++) {
        const char *key;
        const uint8_t *val;
        size_t len;
        avro_reader_meta_at(r, i, &key, &val, &len);
        if (i) buf_putc(&out, ',');
        avro_value_to_json(avro_string(&a, key), NULL, &out);
        buf_putc(&out, ':');
        bool text = str_utf8_valid((const char *)val, len);
        avro_value_t *v = text ? avro_string_n(&a, (const char *)val, len) : avro_bytes(&a, val, len);
        avro_value_to_json(v, NULL, &out);
    }
    buf_puts(&out, "}\n");
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    arena_free(&a);
    avro_reader_free(r);
    free(data);
    return 0;
}

typedef struct write_args {
    const char *schema, *in, *out;
    avro_writer_opts opts;
    const char *meta[64];
    int nmeta;
} write_args;

static bool parse_write_args(int argc, char **argv, write_args *w, floe_err *err) {
    const char *pos[2];
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (!strcmp(a, "--schema") || !strcmp(a, "--codec") || !strcmp(a, "--level") || !strcmp(a, "--block-bytes") ||
            !strcmp(a, "--meta")) {
            if (!val) return floe_err_set(err, FLOE_EINVAL, "%s needs a value", a);
            i++;
        }
        if (!strcmp(a, "--schema")) {
            w->schema = val;
        } else if (!strcmp(a, "--codec")) {
            if (!avro_codec_parse(val, &w->opts.codec))
                return floe_err_set(err, FLOE_EINVAL, "--codec %s: expected null, deflate, snappy or zstandard", val);
        } else if (!strcmp(a, "--level")) {
            if (!str_to_i64_range(val, 0, 22, &n))
                return floe_err_set(err, FLOE_EINVAL, "--level %s: expected 0 to 22", val);
            w->opts.level = (int)n;
        } else if (!strcmp(a, "--block-bytes")) {
            if (!str_to_i64_range(val, 1, 1 << 30, &n))
                return floe_err_set(err, FLOE_EINVAL, "--block-bytes %s: expected 1 to 1073741824", val);
            w->opts.block_bytes = (size_t)n;
        } else if (!strcmp(a, "--meta")) {
            if (!strchr(val, '=') || w->nmeta == 64)
                return floe_err_set(err, FLOE_EINVAL, "--meta %s: expected KEY=VALUE (at most 64)", val);
            w->meta[w->nmeta++] = val;
        } else if (a[0] == '-' && a[1]) {
            return floe_err_set(err, FLOE_EINVAL, "unknown flag %s", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            return floe_err_set(err, FLOE_EINVAL, "unexpected argument %s", a);
        }
    }
    if (!w->schema || npos != 2)
        return floe_err_set(err, FLOE_EINVAL, "write needs --schema SCHEMA.json, IN.jsonl and OUT.avro");
    w->in = pos[0];
    w->out = pos[1];
    return true;
}

/* Appends each line of text as a record. */
static bool write_records(avro_writer_t *wr, const avro_type_t *root, const char *in, char *text, size_t len,
                          floe_err *err) {
    arena_t a;
    arena_init(&a, 64 * 1024);
    bool ok = false;
    size_t lineno = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        char what[300];
        snprintf(what, sizeof what, "%s line %zu", in, lineno);
        if (strspn(p, " \t\r") < n) {
            json_error_t je;
            json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
            if (!j) {
                floe_err_set(err, FLOE_EINVAL, "%s: invalid JSON at column %d: %s", what, je.column, je.text);
                goto fail;
            }
            avro_value_t *v = avro_value_from_json(&a, root, j, false, err);
            json_decref(j);
            if (!v) {
                floe_err_wrap(err, "%s", what);
                goto fail;
            }
            if (!avro_writer_append(wr, v, err)) {
                floe_err_wrap(err, "%s", what);
                goto fail;
            }
            arena_free(&a);
        }
        p += n + 1;
    }
    ok = true;
fail:
    arena_free(&a);
    return ok;
}

static int cmd_write(int argc, char **argv) {
    floe_err err = {0};
    write_args w = {0};
    char *schema_text = NULL, *in_text = NULL;
    size_t schema_len, in_len;
    avro_schema_t *schema = NULL;
    avro_writer_t *wr = NULL;
    buf_t out = BUF_INIT;
    int rc = 1;
    if (!parse_write_args(argc, argv, &w, &err)) {
        fprintf(stderr, "floe avro: %s\n\n", err.msg);
        usage(stderr);
        return 2;
    }
    if (!fs_read_all(w.schema, &schema_text, &schema_len, &err)) goto fail;
    if (!(schema = avro_schema_parse(schema_text, schema_len, w.schema, &err))) goto fail;
    if (!(wr = avro_writer_new(schema, &w.opts, &err))) goto fail;
    for (int i = 0; i < w.nmeta; i++) {
        const char *eq = strchr(w.meta[i], '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - w.meta[i]), w.meta[i]);
        if (!avro_writer_meta_str(wr, key, eq + 1, &err)) goto fail;
    }
    if (!fs_read_all(w.in, &in_text, &in_len, &err)) goto fail;
    if (!write_records(wr, schema->root, w.in, in_text, in_len, &err)) goto fail;
    if (!avro_writer_finish(wr, &out, &err)) goto fail;
    if (!fs_write_atomic(w.out, out.data, out.len, &err)) goto fail;
    rc = 0;
fail:
    if (rc) fail(&err);
    buf_free(&out);
    avro_writer_free(wr);
    avro_schema_free(schema);
    free(schema_text);
    free(in_text);
    return rc;
}

int cli_avro(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "write")) return cmd_write(argc - 1, argv + 1);
    const char *file = NULL;
    bool schema_flag = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format")) {
            if (i + 1 >= argc || strcmp(argv[i + 1], "json")) {
                fprintf(stderr, "floe avro: --format takes json (the only form records print in)\n");
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--schema")) {
            schema_flag = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "floe avro: unknown flag %s\n\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "floe avro: one FILE at a time (got %s and %s)\n", file, argv[i]);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "floe avro %s: which FILE?\n\n", sub);
        usage(stderr);
        return 2;
    }
    if (!strcmp(sub, "cat")) return schema_flag ? cmd_schema(file) : cmd_cat(file);
    if (!strcmp(sub, "schema")) return cmd_schema(file);
    if (!strcmp(sub, "meta")) return cmd_meta(file);
    fprintf(stderr, "floe avro: unknown subcommand '%s'\n\n", sub);
    usage(stderr);
    return 2;
}
