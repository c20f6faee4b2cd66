/*
 * parquet.c: `floe parquet convert | inspect | cat`. Argument parsing and
 * printing only; the work lives in src/format/.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "cli/cli.h"
#include "format/parquet/parquet.h"
#include "format/text.h"

static void usage(FILE *f) {
    fprintf(f, "usage:\n"
               "  floe parquet convert IN OUT.parquet --schema \"id long not null, ts timestamptz, ...\"\n"
               "                       [--compression zstd|snappy|gzip|none] [--level N]\n"
               "                       [--row-group-rows N] [--page-rows N] [--no-dictionary] [--bloom col,...]\n"
               "      IN is .jsonl (or .json, .ndjson) or .csv; '-' reads JSON lines from stdin.\n"
               "  floe parquet inspect FILE [--format text|json]\n"
               "  floe parquet cat FILE [--columns a,b] [--format json|csv] [--limit N] [--binary-as-string]\n");
}

static int fail(const floe_err *err) {
    fprintf(stderr, "floe parquet: %s\n", err->msg);
    return 1;
}

/* ---- convert ---- */

static bool find_top_id(const fmt_schema_t *s, const char *name, int32_t *id) {
    for (int32_t i = 0; i < s->root.nchildren; i++)
        if (!strcmp(s->root.children[i].name, name)) {
            *id = s->root.children[i].id;
            return true;
        }
    return false;
}

static int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *schema_text = NULL, *bloom = NULL;
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    floe_err err = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (!strcmp(a, "--schema") && v)
            schema_text = v, i++;
        else if (!strcmp(a, "--compression") && v) {
            if (!pq_codec_parse(v, &o.codec) || o.codec == PQ_CODEC_LZ4 || o.codec == PQ_CODEC_LZO) {
                fprintf(stderr,
                        "floe parquet convert: --compression '%s'; expected zstd, snappy, gzip, brotli, "
                        "lz4_raw or none\n",
                        v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--level") && v && str_to_u64(v, &n) && n <= 22)
            o.level = (int)n, i++;
        else if (!strcmp(a, "--row-group-rows") && v && str_to_u64(v, &n) && n > 0)
            o.row_group_rows = n, i++;
        else if (!strcmp(a, "--page-rows") && v && str_to_u64(v, &n) && n > 0 && n < (1u << 30))
            o.page_rows = (uint32_t)n, i++;
        else if (!strcmp(a, "--no-dictionary"))
            o.dictionary = false;
        else if (!strcmp(a, "--bloom") && v)
            bloom = v, i++;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "floe parquet convert: unknown or incomplete flag '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!in)
            in = a;
        else if (!out)
            out = a;
        else {
            fprintf(stderr, "floe parquet convert: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!in || !out || !schema_text) {
        fprintf(stderr, "floe parquet convert: needs IN, OUT and --schema\n");
        usage(stderr);
        return 2;
    }
    arena_t a;
    arena_init(&a, 8192);
    fmt_schema_t schema;
    int rc = 1;
    FILE *f = NULL;
    fmt_text_reader_t *tr = NULL;
    pq_writer_t *w = NULL;
    int fd = -1;
    char *tmp = NULL;
    fmt_batch_t b = {0};
    if (!fmt_schema_parse(schema_text, &a, &schema, &err)) goto fail;
    int32_t bloom_ids[256];
    if (bloom) {
        char *list = arena_strdup(&a, bloom), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (o.nbloom == 256 || !find_top_id(&schema, t, &bloom_ids[o.nbloom])) {
                floe_err_set(&err, FLOE_EINVAL, "--bloom: '%s' is not a top-level column of the schema", t);
                goto fail;
            }
            o.nbloom++;
        }
        o.bloom_ids = bloom_ids;
    }
    fmt_text_kind kind = str_ends_with(in, ".csv") ? FMT_TEXT_CSV : FMT_TEXT_JSONL;
    if (!strcmp(in, "-"))
        f = stdin;
    else if (!(f = fopen(in, "r"))) {
        floe_err_errno(&err, errno, "%s", in);
        goto fail;
    }
    tr = fmt_text_reader_new(f, in, kind, &schema, &err);
    if (!tr) goto fail;
    /* write to a temp file beside OUT, then rename: no half-written output */
    size_t tl = strlen(out) + 16;
    tmp = malloc(tl);
    snprintf(tmp, tl, "%s.tmp%d", out, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        floe_err_errno(&err, errno, "%s", tmp);
        goto fail;
    }
    w = pq_writer_new(&schema, &o, pq_sink_fd(fd), &err);
    if (!w) goto fail;
    fmt_batch_init(&b, &schema);
    for (;;) {
        fmt_batch_reset(&b);
        if (!fmt_text_read(tr, &b, 4096, &err)) goto fail;
        if (b.nrows == 0) break;
        if (!pq_writer_write(w, &b, &err)) goto fail;
    }
    pq_file_metrics m;
    if (!pq_writer_close(w, &m, &a, &err)) goto fail;
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        floe_err_errno(&err, errno, "%s", tmp);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, out) < 0) {
        floe_err_errno(&err, errno, "renaming %s to %s", tmp, out);
        goto fail;
    }
    if (!fs_fsync_parent(out, &err)) goto fail;
    fprintf(stderr, "floe parquet: wrote %lld rows, %lld bytes, %u row groups to %s\n", (long long)m.row_count,
            (long long)m.file_size, m.nsplits, out);
    rc = 0;
fail:
    if (rc) fail(&err);
    if (fd >= 0) close(fd);
    if (rc && tmp) unlink(tmp);
    free(tmp);
    fmt_batch_free(&b);
    pq_writer_free(w);
    fmt_text_reader_free(tr);
    if (f && f != stdin) fclose(f);
    arena_free(&a);
    return rc;
}

/* ---- inspect ---- */

/* Opens path and reads its footer; on failure nothing stays open. */
static pq_reader_t *open_file(const char *path, pq_source *src, floe_err *err) {
    if (!pq_source_file(path, src, err)) return NULL;
    pq_reader_t *r = pq_reader_open(src, err);
    if (!r) pq_source_close(src);
    return r;
}

static const fmt_field_t *leaf_field(const fmt_field_t *f, uint32_t *k) {
    if (fmt_type_is_primitive(f->type)) return (*k)-- == 0 ? f : NULL;
    for (int32_t i = 0; i < f->nchildren; i++) {
        const fmt_field_t *r = leaf_field(&f->children[i], k);
        if (r) return r;
    }
    return NULL;
}

static void stat_text(buf_t *out, const fmt_field_t *f, const pq_schema_elem *e, const uint8_t *p, uint32_t n) {
    /* statistics are in the physical plain form; show them in the table type */
    uint8_t tmp[16] = {0};
    if (f->type == FMT_DECIMAL && (e->type == PQ_FIXED_LEN_BYTE_ARRAY || e->type == PQ_BYTE_ARRAY)) {
        __int128 x = (n && (p[0] & 0x80)) ? -1 : 0;
        for (uint32_t i = 0; i < n && i < 16; i++) x = (__int128)(((unsigned __int128)x << 8) | p[i]);
        memcpy(tmp, &x, 16);
        fmt_value_text(out, f, tmp, 16);
        return;
    }
    int w = fmt_type_width(f);
    if (w && (uint32_t)w != n && f->type != FMT_FIXED) {
        buf_puts(out, "0x");
        for (uint32_t i = 0; i < n; i++) buf_printf(out, "%02x", p[i]);
        return;
    }
    fmt_value_text(out, f, p, n);
}

static void print_field(buf_t *o, const fmt_field_t *f, int indent) {
    buf_printf(o, "%*s%s: ", indent, "", f->name);
    if (fmt_type_is_primitive(f->type))
        fmt_type_format(f, o);
    else
        buf_puts(o, fmt_type_name(f->type));
    buf_printf(o, "%s (id %d)\n", f->required ? " not null" : "", f->id);
    if (!fmt_type_is_primitive(f->type))
        for (int32_t i = 0; i < f->nchildren; i++) print_field(o, &f->children[i], indent + 2);
}

static json_t *field_json(const fmt_field_t *f) {
    buf_t t = BUF_INIT;
    fmt_type_format(f, &t);
    json_t *j = json_pack("{s:s, s:i, s:s, s:b}", "name", f->name, "id", f->id, "type", t.data ? t.data : "",
                          "required", f->required);
    buf_free(&t);
    return j;
}

static int cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            json = !strcmp(argv[++i], "json");
            if (!json && strcmp(argv[i], "text")) {
                fprintf(stderr, "floe parquet inspect: --format '%s'; expected text or json\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "floe parquet inspect: unknown flag '%s'\n", argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    floe_err err = {0};
    pq_source src;
    pq_reader_t *r = open_file(path, &src, &err);
    if (!r) return fail(&err);
    const pq_file_meta *m = pq_reader_meta(r);
    const fmt_schema_t *s = pq_reader_schema(r);
    buf_t o = BUF_INIT;
    json_t *jroot = json ? json_object() : NULL;
    if (json) {
        json_object_set_new(jroot, "file", json_string(path));
        json_object_set_new(jroot, "size", json_integer((json_int_t)src.size));
        json_object_set_new(jroot, "num_rows", json_integer(m->num_rows));
        json_object_set_new(jroot, "created_by", m->created_by ? json_string(m->created_by) : json_null());
        json_object_set_new(jroot, "version", json_integer(m->version));
        json_t *fields = json_array();
        for (int32_t i = 0; i < s->root.nchildren; i++) json_array_append_new(fields, field_json(&s->root.children[i]));
        json_object_set_new(jroot, "schema", fields);
        buf_t st = BUF_INIT;
        fmt_schema_format(s, &st);
        json_object_set_new(jroot, "schema_text", json_string(st.data ? st.data : ""));
        buf_free(&st);
        json_t *kv = json_object();
        for (uint32_t i = 0; i < m->nkv; i++)
            json_object_set_new(kv, m->kv[i].key, m->kv[i].value ? json_string(m->kv[i].value) : json_null());
        json_object_set_new(jroot, "key_value_metadata", kv);
    } else {
        buf_printf(
            &o, "file:        %s\nsize:        %llu bytes\nrows:        %lld\ncreated by:  %s\nrow groups:  %u\n", path,
            (unsigned long long)src.size, (long long)m->num_rows, m->created_by ? m->created_by : "-", m->nrow_groups);
        buf_puts(&o, "\nschema (field ids):\n");
        for (int32_t i = 0; i < s->root.nchildren; i++) print_field(&o, &s->root.children[i], 2);
        if (m->nkv) {
            buf_puts(&o, "\nkey-value metadata:\n");
            for (uint32_t i = 0; i < m->nkv; i++)
                buf_printf(&o, "  %s = %.200s\n", m->kv[i].key, m->kv[i].value ? m->kv[i].value : "(null)");
        }
    }
    json_t *jrgs = json ? json_array() : NULL;
    for (uint32_t g = 0; g < m->nrow_groups; g++) {
        const pq_row_group *rg = &m->row_groups[g];
        json_t *jrg = NULL, *jcols = NULL;
        if (json) {
            jrg = json_pack("{s:i, s:I, s:I, s:I}", "index", (int)g, "num_rows", (json_int_t)rg->num_rows,
                            "total_byte_size", (json_int_t)rg->total_byte_size, "file_offset",
                            (json_int_t)rg->file_offset);
            jcols = json_array();
        } else {
            buf_printf(&o, "\nrow group %u: %lld rows, %lld bytes uncompressed, %lld compressed\n", g,
                       (long long)rg->num_rows, (long long)rg->total_byte_size, (long long)rg->total_compressed_size);
        }
        for (uint32_t c = 0; c < rg->ncols; c++) {
            const pq_column_meta *cm = &rg->cols[c];
            uint32_t k = c;
            const fmt_field_t *f = leaf_field(&s->root, &k);
            buf_t path_s = BUF_INIT, enc = BUF_INIT, mn = BUF_INIT, mx = BUF_INIT;
            for (uint32_t i = 0; i < cm->npath; i++) buf_printf(&path_s, "%s%s", i ? "." : "", cm->path[i]);
            for (uint32_t i = 0; i < cm->nencodings; i++)
                buf_printf(&enc, "%s%s", i ? "," : "", pq_encoding_name(cm->encodings[i]));
            const pq_schema_elem *e = NULL;
            /* the schema element of leaf c */
            uint32_t seen = 0;
            for (uint32_t i = 1; i < m->nschema; i++)
                if (m->schema[i].num_children == 0 && seen++ == c) e = &m->schema[i];
            bool has_b = cm->has_stats && cm->stats.has_min && cm->stats.has_max && f && e;
            if (has_b) {
                stat_text(&mn, f, e, cm->stats.min, cm->stats.min_len);
                stat_text(&mx, f, e, cm->stats.max, cm->stats.max_len);
            }
            if (json) {
                json_t *jc = json_pack(
                    "{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I}", "path", path_s.data ? path_s.data : "", "field_id",
                    f ? f->id : -1, "type", pq_type_name(cm->type), "encodings", enc.data ? enc.data : "", "codec",
                    pq_codec_name((pq_codec)cm->codec), "num_values", (json_int_t)cm->num_values, "compressed_size",
                    (json_int_t)cm->total_compressed, "uncompressed_size", (json_int_t)cm->total_uncompressed);
                if (cm->has_stats && cm->stats.has_null_count)
                    json_object_set_new(jc, "null_count", json_integer(cm->stats.null_count));
                if (cm->has_stats && cm->stats.has_nan_count)
                    json_object_set_new(jc, "nan_count", json_integer(cm->stats.nan_count));
                if (has_b) {
                    json_object_set_new(jc, "min", json_string(mn.data ? mn.data : ""));
                    json_object_set_new(jc, "max", json_string(mx.data ? mx.data : ""));
                }
                json_object_set_new(jc, "column_index", json_boolean(cm->column_index_offset >= 0));
                json_object_set_new(jc, "offset_index", json_boolean(cm->offset_index_offset >= 0));
                json_object_set_new(jc, "bloom_filter", json_boolean(cm->bloom_offset >= 0));
                if (cm->dictionary_page_offset >= 0)
                    json_object_set_new(jc, "dictionary_page_offset", json_integer(cm->dictionary_page_offset));
                json_object_set_new(jc, "data_page_offset", json_integer(cm->data_page_offset));
                json_array_append_new(jcols, jc);
            } else {
                buf_printf(&o, "  %s (id %d) %s %s [%s]\n", path_s.data ? path_s.data : "", f ? f->id : -1,
                           pq_type_name(cm->type), pq_codec_name((pq_codec)cm->codec), enc.data ? enc.data : "");
                buf_printf(&o, "    values %lld, compressed %lld B, uncompressed %lld B", (long long)cm->num_values,
                           (long long)cm->total_compressed, (long long)cm->total_uncompressed);
                if (cm->has_stats && cm->stats.has_null_count)
                    buf_printf(&o, ", nulls %lld", (long long)cm->stats.null_count);
                if (cm->has_stats && cm->stats.has_nan_count)
                    buf_printf(&o, ", NaNs %lld", (long long)cm->stats.nan_count);
                buf_putc(&o, '\n');
                if (has_b) buf_printf(&o, "    min %.80s, max %.80s\n", mn.data ? mn.data : "", mx.data ? mx.data : "");
                buf_printf(&o, "    page index %s, bloom filter %s\n",
                           cm->column_index_offset >= 0 && cm->offset_index_offset >= 0 ? "yes" : "no",
                           cm->bloom_offset >= 0 ? "yes" : "no");
            }
            buf_free(&path_s);
            buf_free(&enc);
            buf_free(&mn);
            buf_free(&mx);
        }
        if (json) {
            json_object_set_new(jrg, "columns", jcols);
            json_array_append_new(jrgs, jrg);
        }
    }
    if (json) {
        json_object_set_new(jroot, "row_groups", jrgs);
        char *t = json_dumps(jroot, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(t);
        free(t);
        json_decref(jroot);
    } else {
        fwrite(o.data, 1, o.len, stdout);
    }
    buf_free(&o);
    pq_reader_free(r);
    pq_source_close(&src);
    return 0;
}

/* ---- cat ---- */

static int cmd_cat(int argc, char **argv) {
    const char *path = NULL, *columns = NULL;
    bool csv = false, as_string = false;
    uint64_t limit = UINT64_MAX;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            csv = !strcmp(argv[++i], "csv");
            if (!csv && strcmp(argv[i], "json")) {
                fprintf(stderr, "floe parquet cat: --format '%s'; expected json or csv\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--columns") && i + 1 < argc) {
            columns = argv[++i];
        } else if (!strcmp(argv[i], "--binary-as-string")) {
            as_string = true;
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc && str_to_u64(argv[i + 1], &limit)) {
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "floe parquet cat: unknown or incomplete flag '%s'\n", argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    floe_err err = {0};
    pq_source src;
    pq_reader_t *r = open_file(path, &src, &err);
    if (!r) return fail(&err);
    int rc = 1;
    int32_t *ids = NULL;
    buf_t o = BUF_INIT;
    const fmt_schema_t *s = pq_reader_schema(r);
    pq_reader_opts opts = {.binary_as_string = as_string};
    if (columns) {
        char *list = strdup(columns), *save = NULL;
        ids = calloc(strlen(columns) + 1, sizeof *ids);
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!find_top_id(s, t, &ids[opts.nfields])) {
                floe_err_set(&err, FLOE_EINVAL, "--columns: '%s' is not a top-level column of %s", t, path);
                free(list);
                goto done;
            }
            opts.nfields++;
        }
        free(list);
        opts.field_ids = ids;
    }
    if (!pq_reader_scan(r, &opts, NULL, &err)) goto done;
    fmt_batch_t *b;
    uint64_t printed = 0;
    bool header = csv;
    while (printed < limit && pq_reader_next(r, &b, &err)) {
        if (header) {
            for (uint32_t c = 0; c < b->ncols; c++) buf_printf(&o, "%s%s", c ? "," : "", b->cols[c].field->name);
            buf_putc(&o, '\n');
            header = false;
        }
        for (uint32_t i = 0; i < b->nrows && printed < limit; i++, printed++) {
            if (!csv) buf_putc(&o, '{');
            for (uint32_t c = 0; c < b->ncols; c++) {
                if (c) buf_putc(&o, ',');
                if (csv) {
                    fmt_value_csv(&o, &b->cols[c], i);
                } else {
                    buf_printf(&o, "\"%s\":", b->cols[c].field->name);
                    fmt_value_json(&o, &b->cols[c], i);
                }
            }
            buf_puts(&o, csv ? "\n" : "}\n");
        }
        if (o.len > (1 << 20)) {
            fwrite(o.data, 1, o.len, stdout);
            buf_reset(&o);
        }
    }
    if (err.code) goto done;
    fwrite(o.data, 1, o.len, stdout);
    rc = 0;
done:
    if (rc) fail(&err);
    buf_free(&o);
    free(ids);
    pq_reader_free(r);
    pq_source_close(&src);
    return rc;
}

int cli_parquet(int argc, char **argv) {
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[0], "convert")) return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(argv[0], "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(argv[0], "cat")) return cmd_cat(argc - 1, argv + 1);
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "floe parquet: unknown subcommand '%s'\n", argv[0]);
    usage(stderr);
    return 2;
}
