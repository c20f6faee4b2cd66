/*
 * table.c: `floe namespace ...` and `floe table ...` on the embedded store
 * (--data DIR). Argument parsing and printing only; the work lives in
 * src/iceberg/ and src/catalog/.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/table_int.h"
#include "format/text.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

#define WAREHOUSE_BUCKET "warehouse"

char *tcli_jstr(const char *s) {
    json_t *j = json_string(s ? s : "");
    char *out = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    return out;
}

int tcli_fail(const char *cmd, const floe_err *err) {
    fprintf(stderr, "floe %s: %s\n", cmd, err->msg);
    return err->code == FLOE_ECONFLICT ? 3 : 1;
}

bool tcli_env_open(env *e, const char *data, const char *catalog_url, floe_err *err) {
    memset(e, 0, sizeof *e);
    e->data = data ? data : getenv("FLOE_DATA") ? getenv("FLOE_DATA") : "./data";
    if (!fs_mkdir_p(e->data, err)) return false;
    e->store = store_open(e->data, true, err);
    if (!e->store) return false;
    floe_err e2;
    if (!store_bucket_create(e->store, WAREHOUSE_BUCKET, false, &e2) && e2.code != FLOE_EEXIST) {
        *err = e2;
        return false;
    }
    e->io = fileio_store(e->store);
    if (!catalog_url) catalog_url = getenv("FLOE_CATALOG_URL");
    cat_opts co = {
        .dir = e->data, .url = catalog_url, .io = e->io, .warehouse = "s3://" WAREHOUSE_BUCKET, .fsync = true};
    e->cat = cat_open(&co, err);
    if (!e->cat) return false;
    cat_as_ice(e->cat, NULL, &e->ice);
    return true;
}

void tcli_env_close(env *e) {
    cat_close(e->cat);
    if (e->io) fileio_free(e->io);
    if (e->store) store_close(e->store);
}

bool tcli_split_ident(const char *s, arena_t *a, const char **ns, const char **name, floe_err *err) {
    const char *dot = s ? strrchr(s, '.') : NULL;
    if (!dot || dot == s || !dot[1])
        return floe_err_set(err, FLOE_EINVAL, "table name '%s' must be NAMESPACE.TABLE, like market.trades",
                            s ? s : "");
    *ns = arena_strndup(a, s, (size_t)(dot - s));
    *name = arena_strdup(a, dot + 1);
    return true;
}

bool tcli_parse_format(const char *v, out_format *f) {
    if (!strcmp(v, "table"))
        *f = OUT_TABLE;
    else if (!strcmp(v, "csv"))
        *f = OUT_CSV;
    else if (!strcmp(v, "json"))
        *f = OUT_JSON;
    else
        return false;
    return true;
}

/* ---- row printing ---- */

void pr_begin(printer *p, out_format fmt, const char **names, size_t n) {
    memset(p, 0, sizeof *p);
    p->fmt = fmt;
    p->names = names;
    p->ncols = n;
    if (fmt == OUT_CSV) {
        for (size_t i = 0; i < n; i++) printf("%s%s", i ? "," : "", names[i]);
        printf("\n");
    }
}

/* One row of string cells (NULL: null); json_vals are JSON texts for json. */
void pr_row(printer *p, char **cells, char **json_vals) {
    if (p->fmt == OUT_JSON) {
        printf("{");
        for (size_t i = 0; i < p->ncols; i++) {
            char *k = tcli_jstr(p->names[i]);
            printf("%s%s:%s", i ? "," : "", k, json_vals[i]);
            free(k);
        }
        printf("}\n");
        return;
    }
    if (p->fmt == OUT_CSV) {
        buf_t line = BUF_INIT;
        for (size_t i = 0; i < p->ncols; i++) {
            if (i) buf_putc(&line, ',');
            if (cells[i]) fmt_csv_field(&line, cells[i], strlen(cells[i]), true);
        }
        printf("%.*s\n", (int)line.len, line.data ? line.data : "");
        buf_free(&line);
        return;
    }
    if (p->nrows == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->cells = realloc(p->cells, p->cap * p->ncols * sizeof *p->cells);
    }
    for (size_t i = 0; i < p->ncols; i++) p->cells[p->nrows * p->ncols + i] = strdup(cells[i] ? cells[i] : "null");
    p->nrows++;
}

void pr_end(printer *p) {
    if (p->fmt != OUT_TABLE) return;
    size_t *w = calloc(p->ncols + 1, sizeof *w);
    for (size_t i = 0; i < p->ncols; i++) w[i] = strlen(p->names[i]);
    for (size_t r = 0; r < p->nrows; r++)
        for (size_t i = 0; i < p->ncols; i++) {
            size_t l = strlen(p->cells[r * p->ncols + i]);
            if (l > w[i]) w[i] = l;
        }
    for (size_t i = 0; i < p->ncols; i++) printf("%s%-*s", i ? "  " : "", (int)w[i], p->names[i]);
    printf("\n");
    for (size_t i = 0; i < p->ncols; i++) {
        printf("%s", i ? "  " : "");
        for (size_t k = 0; k < w[i]; k++) putchar('-');
    }
    printf("\n");
    for (size_t r = 0; r < p->nrows; r++) {
        for (size_t i = 0; i < p->ncols; i++) {
            printf("%s%-*s", i ? "  " : "", i + 1 < p->ncols ? (int)w[i] : 0, p->cells[r * p->ncols + i]);
            free(p->cells[r * p->ncols + i]);
        }
        printf("\n");
    }
    printf("(%zu row%s)\n", p->nrows, p->nrows == 1 ? "" : "s");
    free(p->cells);
    free(w);
}

/* Prints a batch of columns. */
void pr_batch(printer *p, const fmt_batch_t *b) {
    char **cells = calloc(b->ncols + 1, sizeof *cells), **js = calloc(b->ncols + 1, sizeof *js);
    buf_t tmp = {0};
    for (uint32_t r = 0; r < b->nrows; r++) {
        for (uint32_t c = 0; c < b->ncols; c++) {
            const fmt_vec_t *v = &b->cols[c];
            buf_reset(&tmp);
            fmt_value_json(&tmp, v, r);
            buf_putc(&tmp, 0);
            js[c] = strdup(tmp.data);
            if (!fmt_vec_valid(v, r)) {
                cells[c] = NULL;
                continue;
            }
            buf_reset(&tmp);
            fmt_value_plain(&tmp, v, r);
            buf_putc(&tmp, 0);
            cells[c] = strdup(tmp.data);
        }
        pr_row(p, cells, js);
        for (uint32_t c = 0; c < b->ncols; c++) {
            free(cells[c]);
            free(js[c]);
        }
    }
    buf_free(&tmp);
    free(cells);
    free(js);
}

/* ================================================================ namespace */

static int cmd_namespace(int argc, char **argv) {
    const char *data = NULL, *catalog_url = NULL, *verb = NULL, *ns = NULL;
    out_format fmt = OUT_TABLE;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--catalog-url") && i + 1 < argc)
            catalog_url = argv[++i];
        else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if (!tcli_parse_format(argv[++i], &fmt)) {
                fprintf(stderr, "floe namespace: --format '%s'; expected table, csv or json\n", argv[i]);
                return 2;
            }
        } else if (!verb)
            verb = argv[i];
        else if (!ns)
            ns = argv[i];
        else {
            fprintf(stderr, "floe namespace: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!verb || (strcmp(verb, "list") && !ns)) {
        fprintf(stderr, "usage: floe namespace create|drop NS [--data DIR]\n"
                        "       floe namespace list [PARENT] [--data DIR] [--format table|csv|json]\n");
        return 2;
    }
    env e;
    floe_err err = {0};
    if (!tcli_env_open(&e, data, catalog_url, &err)) {
        tcli_env_close(&e);
        return tcli_fail("namespace", &err);
    }
    int rc = 0;
    if (!strcmp(verb, "create")) {
        if (!cat_namespace_create(e.cat, NULL, ns, NULL, &err))
            rc = tcli_fail("namespace create", &err);
        else
            fprintf(stderr, "created namespace %s\n", ns);
    } else if (!strcmp(verb, "drop")) {
        if (!cat_namespace_drop(e.cat, NULL, ns, &err))
            rc = tcli_fail("namespace drop", &err);
        else
            fprintf(stderr, "dropped namespace %s\n", ns);
    } else if (!strcmp(verb, "list")) {
        arena_t a;
        arena_init(&a, 4096);
        const char **names;
        size_t n;
        if (!cat_namespace_list(e.cat, NULL, ns, &a, &names, &n, &err)) {
            rc = tcli_fail("namespace list", &err);
        } else {
            printer p;
            const char *hdr[] = {"namespace"};
            pr_begin(&p, fmt, hdr, 1);
            for (size_t i = 0; i < n; i++) {
                char *c[1] = {(char *)names[i]};
                char *j = tcli_jstr(names[i]);
                char *js[1] = {j};
                pr_row(&p, c, js);
                free(j);
            }
            pr_end(&p);
        }
        arena_free(&a);
    } else {
        fprintf(stderr, "floe namespace: unknown command '%s' (create, list, drop)\n", verb);
        rc = 2;
    }
    tcli_env_close(&e);
    return rc;
}

int cli_namespace(int argc, char **argv) { return cmd_namespace(argc, argv); }

/* ================================================================== table */

static bool parse_targs(int argc, char **argv, targs *t, floe_err *err) {
    memset(t, 0, sizeof *t);
    t->snapshot = -1;
    t->retain_last = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--data") && v)
            t->data = v;
        else if (!strcmp(a, "--catalog-url") && v)
            t->catalog_url = v;
        else if (!strcmp(a, "--schema") && v)
            t->schema = v;
        else if (!strcmp(a, "--partition") && v)
            t->partition = v;
        else if (!strcmp(a, "--filter") && v)
            t->filter = v;
        else if (!strcmp(a, "--columns") && v)
            t->columns = v;
        else if ((!strcmp(a, "--ref") || !strcmp(a, "--branch")) && v)
            t->ref = v;
        else if (!strcmp(a, "--to") && v)
            t->to = v;
        else if (!strcmp(a, "--older-than") && v)
            t->older_than = v;
        else if (!strcmp(a, "--as-of") && v)
            t->as_of = v;
        else if (!strcmp(a, "--snapshot") && v) {
            if (!str_to_i64_range(v, 0, INT64_MAX, &t->snapshot))
                return floe_err_set(err, FLOE_EINVAL, "--snapshot '%s': expected a snapshot id (a number)", v);
        } else if (!strcmp(a, "--retain-last") && v) {
            if (!str_to_i64_range(v, 1, INT32_MAX, &t->retain_last))
                return floe_err_set(err, FLOE_EINVAL, "--retain-last '%s': expected a count of snapshots (1 or more)",
                                    v);
        } else if (!strcmp(a, "--target-size") && v) {
            if (!str_to_i64_range(v, 1, INT64_MAX, &t->target_size))
                return floe_err_set(err, FLOE_EINVAL, "--target-size '%s': expected a number of bytes", v);
        } else if (!strcmp(a, "--format") && v) {
            if (!tcli_parse_format(v, &t->fmt))
                return floe_err_set(err, FLOE_EINVAL, "--format '%s': expected table, csv or json", v);
            t->fmt_set = true;
        } else if (!strcmp(a, "--property") && v) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || t->nprops == 64)
                return floe_err_set(err, FLOE_EINVAL, "--property '%s': expected KEY=VALUE", v);
            t->props[t->nprops].key = strndup(v, (size_t)(eq - v));
            t->props[t->nprops++].value = eq + 1;
        } else {
            takes = false;
            if (!strcmp(a, "--dynamic"))
                t->dynamic = true;
            else if (!strcmp(a, "--plan"))
                t->plan = true;
            else if (!strcmp(a, "--dry-run"))
                t->dry_run = true;
            else if (a[0] == '-' && a[1] == '-')
                return floe_err_set(err, FLOE_EINVAL, "unknown option '%s' (or it lacks its value)", a);
            else if (!t->ident)
                t->ident = a;
            else if (t->npos < 4)
                t->pos[t->npos++] = a;
            else
                return floe_err_set(err, FLOE_EINVAL, "unexpected argument '%s'", a);
        }
        if (takes) i++;
    }
    return true;
}

static void free_targs(targs *t) {
    for (int32_t i = 0; i < t->nprops; i++) free((char *)t->props[i].key);
}

bool tcli_open_table(env *e, const targs *ta, arena_t *a, ice_table *t, floe_err *err) {
    const char *ns, *name;
    if (!tcli_split_ident(ta->ident, a, &ns, &name, err)) return false;
    return ice_table_load(&e->ice, ns, name, a, t, err);
}

static int t_create(env *e, targs *ta, arena_t *a) {
    floe_err err = {0};
    const char *ns, *name;
    if (!tcli_split_ident(ta->ident, a, &ns, &name, &err)) return tcli_fail("table create", &err);
    if (!ta->schema) {
        fprintf(stderr,
                "floe table create: --schema is required, like --schema \"id long not null, ts timestamptz\"\n");
        return 2;
    }
    fmt_schema_t s;
    ice_table_meta m;
    if (!fmt_schema_parse(ta->schema, a, &s, &err)) return tcli_fail("table create", &err);
    if (!ice_table_new_meta(&s, ta->partition, ta->props, ta->nprops, a, &m, &err))
        return tcli_fail("table create", &err);
    cat_table out;
    if (!cat_table_create(e->cat, e->cat_ref, ns, name, &m, a, &out, &err)) return tcli_fail("table create", &err);
    fprintf(stderr, "created table %s.%s at %s\n", ns, name, out.meta.location);
    return 0;
}

/* Reads a .jsonl/.csv/.parquet file as batches of the table's schema and
 * hands each to fn. */
typedef bool (*batch_fn)(void *arg, const fmt_batch_t *b, floe_err *err);

static bool read_input(const char *path, const fmt_schema_t *schema, batch_fn fn, void *arg, floe_err *err) {
    if (str_ends_with(path, ".parquet")) {
        pq_source src;
        if (!pq_source_file(path, &src, err)) return false;
        pq_reader_t *r = pq_reader_open(&src, err);
        bool ok = r != NULL;
        arena_t a;
        arena_init(&a, 4096);
        if (ok) {
            /* match columns by name: the file's ids need not be the table's */
            const fmt_schema_t *fs = pq_reader_schema(r);
            fmt_schema_t want = *schema;
            want.root.children = arena_alloc(&a, ((size_t)schema->root.nchildren + 1) * sizeof(fmt_field_t));
            int32_t *ids = arena_alloc(&a, ((size_t)schema->root.nchildren + 1) * sizeof *ids);
            for (int32_t i = 0; i < schema->root.nchildren && ok; i++) {
                const fmt_field_t *tf = &schema->root.children[i];
                want.root.children[i] = *tf;
                const fmt_field_t *ff = NULL;
                for (int32_t k = 0; k < fs->root.nchildren; k++)
                    if (!strcmp(fs->root.children[k].name, tf->name)) ff = &fs->root.children[k];
                if (!ff) {
                    if (tf->required)
                        ok = floe_err_set(err, FLOE_EINVAL, "%s has no column '%s', which the table requires", path,
                                          tf->name);
                    ids[i] = -1000 - i; /* reads as nulls */
                    want.root.children[i].id = ids[i];
                    continue;
                }
                buf_t t1 = {0}, t2 = {0};
                fmt_type_format(tf, &t1);
                fmt_type_format(ff, &t2);
                bool same = t1.len == t2.len && !memcmp(t1.data, t2.data, t1.len);
                if (!same)
                    ok = floe_err_set(err, FLOE_EINVAL, "%s: column '%s' is %.*s, but the table's is %.*s", path,
                                      tf->name, (int)t2.len, t2.data, (int)t1.len, t1.data);
                buf_free(&t1);
                buf_free(&t2);
                ids[i] = ff->id;
                want.root.children[i] = *ff;
                want.root.children[i].required = tf->required;
            }
            pq_reader_opts o = {.field_ids = ids, .nfields = (uint32_t)schema->root.nchildren};
            if (ok) ok = pq_reader_scan(r, &o, &want, err);
            fmt_batch_t *b;
            while (ok && pq_reader_next(r, &b, err)) ok = fn(arg, b, err);
            if (ok && err->code) ok = false;
        }
        arena_free(&a);
        if (r) pq_reader_free(r);
        pq_source_close(&src);
        return ok;
    }
    fmt_text_kind kind;
    if (str_ends_with(path, ".csv"))
        kind = FMT_TEXT_CSV;
    else if (str_ends_with(path, ".jsonl") || str_ends_with(path, ".json") || str_ends_with(path, ".ndjson") ||
             !strcmp(path, "-"))
        kind = FMT_TEXT_JSONL;
    else
        return floe_err_set(err, FLOE_EINVAL, "%s: expected a .jsonl, .csv or .parquet file", path);
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) return floe_err_errno(err, errno, "open %s", path);
    fmt_text_reader_t *tr = fmt_text_reader_new(f, path, kind, schema, err);
    bool ok = tr != NULL;
    fmt_batch_t b;
    fmt_batch_init(&b, schema);
    while (ok) {
        fmt_batch_reset(&b);
        if (!fmt_text_read(tr, &b, 8192, err)) {
            ok = false;
            break;
        }
        if (b.nrows == 0) break;
        ok = fn(arg, &b, err);
    }
    fmt_batch_free(&b);
    if (tr) fmt_text_reader_free(tr);
    if (f != stdin) fclose(f);
    return ok;
}

bool tcli_parse_time_ms(const char *text, int64_t *ms) {
    int64_t s, us;
    if (time_parse_iso8601(text, &s))
        *ms = s * 1000;
    else if (fmt_parse_timestamp(text, &us))
        *ms = us / 1000;
    else if (str_to_i64_range(text, 0, INT64_MAX, &s))
        *ms = s;
    else
        return false;
    return true;
}

bool tcli_tty(void) { return isatty(2); }

static uint64_t progress_last_ms;
static bool progress_shown;

void tcli_progress(const char *label, uint64_t done, uint64_t total, const char *unit) {
    uint64_t now = time_mono_ns() / 1000000;
    if (now - progress_last_ms < 200 && !(total && done == total)) return;
    progress_last_ms = now;
    progress_shown = true;
    if (total) {
        enum { W = 30 };
        int fill = (int)(done >= total ? W : done * W / total);
        fprintf(stderr, "\r  %s [%.*s%*s] %llu/%llu %s", label, fill, "==============================", W - fill, "",
                (unsigned long long)done, (unsigned long long)total, unit);
    } else {
        fprintf(stderr, "\r  %s %llu %s", label, (unsigned long long)done, unit);
    }
}

void tcli_progress_end(void) {
    if (progress_shown) fprintf(stderr, "\n");
    progress_shown = false;
    progress_last_ms = 0;
}

static void progress(void *arg, uint64_t rows, uint64_t bytes) {
    (void)arg;
    uint64_t now = time_mono_ns() / 1000000;
    if (now - progress_last_ms < 200) return;
    progress_last_ms = now;
    progress_shown = true;
    fprintf(stderr, "\r  %llu rows, %.1f MB written", (unsigned long long)rows, (double)bytes / 1e6);
}

static bool write_batch(void *arg, const fmt_batch_t *b, floe_err *err) {
    return ice_writer_write((ice_writer *)arg, b, err);
}

static int t_write(env *e, targs *ta, arena_t *a, const char *cmd, ice_op_kind kind) {
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail(cmd, &err);
    const char *file = ta->npos ? ta->pos[0] : NULL;
    if (kind != ICE_OP_DELETE && !file) {
        fprintf(stderr, "floe %s: which file? floe %s NS.T FILE (.jsonl, .csv or .parquet)\n", cmd, cmd);
        return 2;
    }
    ice_expr *filter = NULL;
    const char *ftext = ta->filter;
    if (!ftext && kind == ICE_OP_OVERWRITE_FILTER) ftext = "true"; /* overwrite everything */
    if (ftext) {
        ice_expr *pe;
        if (!ice_expr_parse(ftext, a, &pe, &err) ||
            !ice_expr_bind(pe, ice_meta_current_schema(&t.meta), true, a, &filter, &err)) {
            floe_err_wrap(&err, "--filter \"%s\"", ftext);
            return tcli_fail(cmd, &err);
        }
    }
    if (kind == ICE_OP_DELETE && !filter) {
        fprintf(stderr, "floe %s: --filter is required (to delete every row: --filter true)\n", cmd);
        return 2;
    }
    ice_data_file *files = NULL;
    size_t nfiles = 0;
    ice_writer *w = NULL;
    if (file) {
        ice_write_opts wo = {.target_file_bytes = ta->target_size};
        if (isatty(2)) wo.progress = progress;
        w = ice_writer_new(&t, &wo, a, &err);
        if (!w) return tcli_fail(cmd, &err);
        if (!read_input(file, ice_meta_current_schema(&t.meta), write_batch, w, &err) ||
            !ice_writer_close(w, &files, &nfiles, &err)) {
            ice_writer_abort(w);
            tcli_progress_end();
            return tcli_fail(cmd, &err);
        }
        tcli_progress_end();
    }
    ice_commit_opts co = {.kind = kind, .filter = filter, .branch = ta->ref};
    ice_commit_result res;
    if (!ice_table_commit_files(&t, &co, files, nfiles, a, &res, &err)) {
        if (w) ice_writer_abort(w);
        return tcli_fail(cmd, &err);
    }
    if (w) ice_writer_free(w);
    fprintf(stderr, "%s.%s: snapshot %lld: +%lld files (%lld rows), -%lld files (%lld rows)%s\n", t.ns, t.name,
            (long long)res.snapshot_id, (long long)res.added_files, (long long)res.added_rows,
            (long long)res.deleted_files, (long long)res.deleted_rows,
            res.attempts > 1 ? arena_sprintf(a, " after %d attempts", res.attempts) : "");
    return 0;
}

static int t_scan(env *e, targs *ta, arena_t *a) {
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table scan", &err);
    ice_scan_opts so = {.snapshot_id = ta->snapshot, .as_of_ms = -1, .ref = ta->ref, .filter = ta->filter};
    if (ta->as_of) {
        if (!tcli_parse_time_ms(ta->as_of, &so.as_of_ms)) {
            fprintf(stderr,
                    "floe table scan: --as-of '%s': expected a timestamp like 2026-03-28T10:00:00Z or epoch "
                    "milliseconds\n",
                    ta->as_of);
            return 2;
        }
    }
    const char *cols[256];
    size_t ncols = 0;
    if (ta->columns) {
        char *c = arena_strdup(a, ta->columns);
        for (char *save = NULL, *tok = strtok_r(c, ",", &save); tok && ncols < 256; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            cols[ncols++] = tok;
        }
        so.columns = cols;
        so.ncolumns = ncols;
    }
    ice_scan *s = ice_scan_new(&t, &so, &err);
    if (!s) return tcli_fail("table scan", &err);
    int rc = 0;
    if (!ta->plan) {
        const fmt_schema_t *os = ice_scan_schema(s);
        const char **names = arena_alloc(a, ((size_t)os->root.nchildren + 1) * sizeof *names);
        for (int32_t i = 0; i < os->root.nchildren; i++) names[i] = os->root.children[i].name;
        printer p;
        pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, names, (size_t)os->root.nchildren);
        fmt_batch_t *b;
        while (ice_scan_next(s, &b, &err)) pr_batch(&p, b);
        if (err.code) rc = tcli_fail("table scan", &err);
        pr_end(&p);
    }
    const ice_scan_report *r = ice_scan_report_get(s);
    if (ta->plan) {
        /* read to count row groups too */
        fmt_batch_t *b;
        while (ice_scan_next(s, &b, &err)) {
        }
        if (err.code) rc = tcli_fail("table scan", &err);
        size_t ntasks;
        const ice_file_task *tasks = ice_scan_tasks(s, &ntasks);
        printf("snapshot %lld\n", (long long)r->snapshot_id);
        printf("manifests: %zu read, %zu pruned by partition summaries (of %zu)\n", r->manifests - r->manifests_skipped,
               r->manifests_skipped, r->manifests);
        printf("files: %zu scanned, %zu pruned by partition, %zu pruned by metrics (of %zu)\n", ntasks,
               r->files_skipped_partition, r->files_skipped_metrics, r->files);
        printf("row groups: %llu read, %llu pruned\n", (unsigned long long)(r->row_groups - r->row_groups_skipped),
               (unsigned long long)r->row_groups_skipped);
        printf("rows: %llu read, %llu matched\n", (unsigned long long)r->rows_read,
               (unsigned long long)r->rows_matched);
        for (size_t i = 0; i < ntasks; i++) {
            buf_t res = {0};
            if (tasks[i].residual) ice_expr_format(tasks[i].residual, &res);
            printf("  %s  rows=%lld%s%.*s\n", tasks[i].file->file_path, (long long)tasks[i].file->record_count,
                   tasks[i].residual ? "  residual: " : "", (int)res.len, res.data ? res.data : "");
            buf_free(&res);
        }
    }
    ice_scan_free(s);
    return rc;
}

static int t_snapshots(env *e, targs *ta, arena_t *a) {
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table snapshots", &err);
    const char *hdr[] = {"snapshot_id", "parent_id", "sequence_number", "committed_at", "operation", "summary"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, hdr, 6);
    for (int32_t i = 0; i < t.meta.nsnapshots; i++) {
        const ice_snapshot *s = &t.meta.snapshots[i];
        char ts[32];
        time_iso8601_ms(s->timestamp_ms, ts);
        json_t *sj = ice_snapshot_to_json(s);
        char *sum = json_dumps(json_object_get(sj, "summary"), JSON_COMPACT | JSON_SORT_KEYS);
        char *c[6] = {arena_sprintf(a, "%lld", (long long)s->snapshot_id),
                      s->parent_id >= 0 ? arena_sprintf(a, "%lld", (long long)s->parent_id) : NULL,
                      arena_sprintf(a, "%lld", (long long)s->sequence_number),
                      ts,
                      (char *)s->operation,
                      sum};
        char *j[6] = {
            c[0], c[1] ? c[1] : "null", c[2], arena_sprintf(a, "\"%s\"", ts), arena_sprintf(a, "\"%s\"", s->operation),
            sum};
        pr_row(&p, c, j);
        free(sum);
        json_decref(sj);
    }
    pr_end(&p);
    return 0;
}

static int t_files(env *e, targs *ta, arena_t *a) {
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table files", &err);
    const ice_snapshot *snap = NULL;
    if (ta->snapshot >= 0)
        snap = ice_meta_snapshot(&t.meta, ta->snapshot);
    else if (t.meta.current_snapshot_id >= 0)
        snap = ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id);
    ice_manifest_entry *es = NULL;
    size_t n = 0;
    if (snap && !ice_snapshot_files(&t, snap, a, &es, &n, &err)) return tcli_fail("table files", &err);
    const char *hdr[] = {"file_path", "partition", "spec_id", "record_count", "file_size_in_bytes"};
    printer p;
    pr_begin(&p, ta->fmt_set ? ta->fmt : OUT_TABLE, hdr, 5);
    for (size_t i = 0; i < n; i++) {
        const ice_data_file *f = &es[i].file;
        const ice_partition_spec *spec = ice_meta_spec(&t.meta, f->spec_id);
        buf_t part = {0};
        if (spec) ice_partition_path(spec, ice_meta_current_schema(&t.meta), f->partition, &part);
        buf_putc(&part, 0);
        char *c[5] = {(char *)f->file_path, part.data, arena_sprintf(a, "%d", f->spec_id),
                      arena_sprintf(a, "%lld", (long long)f->record_count),
                      arena_sprintf(a, "%lld", (long long)f->file_size_in_bytes)};
        char *pj = tcli_jstr(part.data), *fj = tcli_jstr(f->file_path);
        char *j[5] = {fj, pj, c[2], c[3], c[4]};
        pr_row(&p, c, j);
        free(pj);
        free(fj);
        buf_free(&part);
    }
    pr_end(&p);
    return 0;
}

static int t_describe(env *e, targs *ta, arena_t *a) {
    floe_err err = {0};
    ice_table t;
    if (!tcli_open_table(e, ta, a, &t, &err)) return tcli_fail("table describe", &err);
    if (ta->fmt_set && ta->fmt == OUT_JSON) {
        buf_t b = {0};
        ice_meta_write(&t.meta, &b);
        printf("%.*s\n", (int)b.len, b.data);
        buf_free(&b);
        return 0;
    }
    buf_t b = {0};
    fmt_schema_format(ice_meta_current_schema(&t.meta), &b);
    printf("table      %s.%s\nuuid       %s\nlocation   %s\nmetadata   %s\nschema     %.*s\n", t.ns, t.name,
           t.meta.table_uuid, t.meta.location, t.metadata_location, (int)b.len, b.data);
    buf_reset(&b);
    const ice_partition_spec *spec = ice_meta_spec(&t.meta, t.meta.default_spec_id);
    for (int32_t i = 0; spec && i < spec->nfields; i++) {
        const fmt_field_t *src = fmt_schema_find(ice_meta_current_schema(&t.meta), spec->fields[i].source_id);
        buf_printf(&b, "%s%s=", i ? ", " : "", spec->fields[i].name);
        ice_transform_format(&spec->fields[i].transform, &b);
        buf_printf(&b, "(%s)", src ? src->name : "?");
    }
    printf("partition  %s\n", b.len ? arena_strndup(a, b.data, b.len) : "(unpartitioned)");
    printf("snapshot   %lld\n", (long long)t.meta.current_snapshot_id);
    for (int32_t i = 0; i < t.meta.nproperties; i++)
        printf("property   %s=%s\n", t.meta.properties[i].key, t.meta.properties[i].value);
    buf_free(&b);
    return 0;
}

static void table_usage(void) {
    fprintf(
        stderr,
        "usage: floe table COMMAND NS.T [options] [--data DIR]\n"
        "  create NS.T --schema \"id long not null, ts timestamptz, ...\" [--partition \"day(ts), bucket(16, id)\"]\n"
        "              [--property k=v]\n"
        "  append NS.T FILE                       FILE is .jsonl, .csv or .parquet\n"
        "  overwrite NS.T FILE [--filter EXPR | --dynamic]\n"
        "  delete NS.T --filter EXPR\n"
        "  scan NS.T [--filter EXPR] [--columns a,b] [--snapshot ID | --as-of TS | --ref NAME]\n"
        "            [--format table|csv|json] [--plan]\n"
        "  describe|snapshots|history|files|partitions|refs NS.T [--format table|csv|json]\n"
        "  evolve NS.T add-column NAME TYPE | drop-column NAME | rename-column OLD NEW | widen NAME TYPE\n"
        "              | make-optional NAME | move-column NAME first|after OTHER|before OTHER\n"
        "              | add-partition \"hour(ts)\" | drop-partition NAME\n"
        "  branch|tag NS.T create|drop NAME [--snapshot ID]\n"
        "  rollback NS.T SNAPSHOT | set-current NS.T SNAPSHOT | cherry-pick NS.T SNAPSHOT\n"
        "  fast-forward NS.T BRANCH --to REF\n"
        "  expire NS.T [--older-than TS] [--retain-last N] [--dry-run]\n"
        "  compact NS.T [--target-size BYTES] [--filter EXPR]\n"
        "  rewrite-manifests NS.T\n"
        "  remove-orphans NS.T [--older-than TS] [--dry-run]\n"
        "  list NS | drop NS.T\n"
        "--ref/--branch NAME: a catalog branch or tag (see `floe branch list`) when the catalog has one by\n"
        "that name, else the table's own Iceberg branch or tag; table:NAME always means the table's.\n"
        "append, overwrite and delete write to that branch (default main).\n");
}

/* --ref/--branch NAME names a catalog branch or tag when the catalog has
 * one by that name (or NAME is a catalog refspec like main~1): the command
 * then acts on the table as that catalog ref holds it, on the table's own
 * main. Otherwise NAME is an Iceberg ref inside the table's metadata. When
 * both exist the catalog's wins; "table:NAME" always means the table's. */
static void select_catalog_ref(env *e, targs *ta, arena_t *a) {
    if (!ta->ref) return;
    if (!strncmp(ta->ref, "table:", 6)) {
        ta->ref += 6;
        return;
    }
    cat_ref r;
    cat_resolved rs;
    floe_err e2;
    if (!cat_ref_get(e->cat, ta->ref, a, &r, &e2) &&
        !(strpbrk(ta->ref, "@~*^") && cat_resolve(e->cat, ta->ref, a, &rs, &e2)))
        return;
    e->cat_ref = ta->ref;
    cat_as_ice(e->cat, ta->ref, &e->ice);
    ta->ref = NULL;
}

int cli_table(int argc, char **argv) {
    if (argc < 1) {
        table_usage();
        return 2;
    }
    const char *cmd = argv[0];
    targs ta;
    floe_err err = {0};
    if (!parse_targs(argc - 1, argv + 1, &ta, &err)) {
        fprintf(stderr, "floe table %s: %s\n", cmd, err.msg);
        free_targs(&ta);
        return 2;
    }
    if (!ta.ident) {
        table_usage();
        free_targs(&ta);
        return 2;
    }
    env e;
    if (!tcli_env_open(&e, ta.data, ta.catalog_url, &err)) {
        tcli_env_close(&e);
        free_targs(&ta);
        return tcli_fail("table", &err);
    }
    arena_t a;
    arena_init(&a, 1 << 16);
    select_catalog_ref(&e, &ta, &a);
    int rc;
    if (!strcmp(cmd, "create"))
        rc = t_create(&e, &ta, &a);
    else if (!strcmp(cmd, "append"))
        rc = t_write(&e, &ta, &a, "table append", ICE_OP_APPEND);
    else if (!strcmp(cmd, "overwrite"))
        rc = t_write(&e, &ta, &a, "table overwrite", ta.dynamic ? ICE_OP_OVERWRITE_DYNAMIC : ICE_OP_OVERWRITE_FILTER);
    else if (!strcmp(cmd, "delete"))
        rc = t_write(&e, &ta, &a, "table delete", ICE_OP_DELETE);
    else if (!strcmp(cmd, "scan"))
        rc = t_scan(&e, &ta, &a);
    else if (!strcmp(cmd, "snapshots"))
        rc = t_snapshots(&e, &ta, &a);
    else if (!strcmp(cmd, "files"))
        rc = t_files(&e, &ta, &a);
    else if (!strcmp(cmd, "describe"))
        rc = t_describe(&e, &ta, &a);
    else if (!strcmp(cmd, "list")) {
        const char **names;
        size_t n;
        if (!cat_table_list(e.cat, e.cat_ref, ta.ident, &a, &names, &n, &err))
            rc = tcli_fail("table list", &err);
        else {
            const char *hdr[] = {"table"};
            printer p;
            pr_begin(&p, ta.fmt_set ? ta.fmt : OUT_TABLE, hdr, 1);
            for (size_t i = 0; i < n; i++) {
                char *c[1] = {(char *)names[i]};
                char *j = tcli_jstr(names[i]);
                char *js[1] = {j};
                pr_row(&p, c, js);
                free(j);
            }
            pr_end(&p);
            rc = 0;
        }
    } else if (!strcmp(cmd, "drop")) {
        const char *ns, *name;
        rc = 0;
        if (!tcli_split_ident(ta.ident, &a, &ns, &name, &err) ||
            !cat_table_drop(e.cat, e.cat_ref, ns, name, false, &err))
            rc = tcli_fail("table drop", &err);
    } else if (!strcmp(cmd, "evolve"))
        rc = tcli_evolve(&e, &ta, &a);
    else if (!strcmp(cmd, "branch") || !strcmp(cmd, "tag") || !strcmp(cmd, "rollback") || !strcmp(cmd, "set-current") ||
             !strcmp(cmd, "fast-forward") || !strcmp(cmd, "cherry-pick") || !strcmp(cmd, "history") ||
             !strcmp(cmd, "refs") || !strcmp(cmd, "partitions"))
        rc = tcli_refs(&e, &ta, &a, cmd);
    else if (!strcmp(cmd, "expire") || !strcmp(cmd, "compact") || !strcmp(cmd, "rewrite-manifests") ||
             !strcmp(cmd, "remove-orphans"))
        rc = tcli_maint(&e, &ta, &a, cmd);
    else {
        fprintf(stderr, "floe table: unknown command '%s'\n", cmd);
        table_usage();
        rc = 2;
    }
    arena_free(&a);
    tcli_env_close(&e);
    free_targs(&ta);
    return rc;
}
