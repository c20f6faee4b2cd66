/*
 * test_evolve.c: schema and partition evolution on the embedded store:
 * every change and its refusals, the ids it assigns, reads of files
 * written before it (dropped columns never read, renamed ones read their
 * data, added ones null, widened ones promoted, nested fields matched by
 * id), metrics pruning against bounds stored in the old type, partition
 * pruning with files in several specs, partition tuples never null, reuse
 * of equal schemas and specs, and a conflicting change retried.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../catalog/cat_test.h"
#include "catalog/catalog.h"
#include "iceberg/iceberg.h"
#include "store/fileio.h"
#include "store/store.h"

static cat_test_env E;
static arena_t A;

#define DAY_US 86400000000ll
#define BASE "id int not null, ts timestamptz, px float, amt decimal(9,2), sym string, pt struct<x: int, y: int>"

static void setup(void) {
    cat_test_env_open(&E, "evolve");
    arena_init(&A, 1 << 16);
}

static void teardown(void) {
    arena_free(&A);
    cat_test_env_close(&E);
}

/* A table t.e with schema text, partitioned by partition; identifier
 * field ids may be given. */
static void create(const char *schema, const char *partition, const int32_t *ident, int32_t nident, ice_table *t) {
    floe_err err = {0};
    fmt_schema_t s;
    cr_assert(fmt_schema_parse(schema, &A, &s, &err), "%s", err.msg);
    s.identifier_ids = (int32_t *)ident;
    s.nidentifier_ids = nident;
    ice_table_meta m;
    cr_assert(ice_table_new_meta(&s, partition, NULL, 0, &A, &m, &err), "%s", err.msg);
    bool have;
    cr_assert(cat_namespace_exists(E.cat, NULL, "t", &have, &err), "%s", err.msg);
    if (!have) cr_assert(cat_namespace_create(E.cat, NULL, "t", NULL, &err), "%s", err.msg);
    cr_assert(cat_table_create(E.cat, NULL, "t", "e", &m, &A, NULL, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, t, &err), "%s", err.msg);
}

/* ---- rows: each column filled by its name, in whatever type it has now ---- */

static void put_int(fmt_vec_t *v, int64_t x) {
    switch (fmt_type_width(v->field)) {
    case 4: fmt_vec_append_i32(v, (int32_t)x); break;
    case 16: fmt_vec_append_i128(v, x); break;
    default: fmt_vec_append_i64(v, x);
    }
}

static void put(fmt_vec_t *v, int64_t i) {
    const fmt_field_t *f = v->field;
    const char *n = f->name;
    static const char *syms[] = {"BTC", "ETH", "SOL"};
    char s[32];
    if (!strcmp(n, "ts")) {
        fmt_vec_append_i64(v, (i % 3) * DAY_US + i * 1000000);
    } else if (f->type == FMT_STRUCT) {
        for (uint32_t k = 0; k < v->nchildren; k++) put(&v->children[k], i);
        fmt_vec_close_struct(v);
    } else if (f->type == FMT_LIST || f->type == FMT_MAP) { /* two entries: i and i + 100 */
        for (int64_t e = i; e <= i + 100; e += 100)
            for (uint32_t k = 0; k < v->nchildren; k++) put(&v->children[k], e);
        fmt_vec_close_list(v);
    } else if (f->type == FMT_STRING && (!strcmp(n, "sym") || !strcmp(n, "symbol"))) {
        fmt_vec_append_bytes(v, syms[i % 3], 3);
    } else if (f->type == FMT_STRING) {
        int k = snprintf(s, sizeof s, "%s%lld", n, (long long)i);
        fmt_vec_append_bytes(v, s, (size_t)k);
    } else if (f->type == FMT_FLOAT) {
        fmt_vec_append_f32(v, (float)i / 4);
    } else if (f->type == FMT_DOUBLE) {
        fmt_vec_append_f64(v, (double)i / 4);
    } else if (f->type == FMT_DECIMAL) {
        put_int(v, i * 101); /* amt: i.ii */
    } else if (f->type == FMT_INT || f->type == FMT_LONG) {
        int64_t x = !strcmp(n, "y") ? -i : !strcmp(n, "z") ? i * 10 : i;
        put_int(v, x);
    } else {
        fmt_vec_append_null(v);
    }
}

/* Appends rows [from, from+n) in one commit with the current schema. */
static void append(ice_table *t, int64_t from, int64_t n) {
    floe_err err = {0};
    ice_writer *w = ice_writer_new(t, NULL, &A, &err);
    cr_assert(w, "%s", err.msg);
    fmt_batch_t b;
    fmt_batch_init(&b, ice_meta_current_schema(&t->meta));
    for (int64_t i = from; i < from + n; i++)
        for (uint32_t c = 0; c < b.ncols; c++) put(&b.cols[c], i);
    b.nrows = (uint32_t)n;
    cr_assert(ice_writer_write(w, &b, &err), "%s", err.msg);
    fmt_batch_free(&b);
    ice_data_file *files;
    size_t nf;
    cr_assert(ice_writer_close(w, &files, &nf, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_APPEND};
    ice_commit_result r;
    cr_assert(ice_table_commit_files(t, &o, files, nf, &A, &r, &err), "%s", err.msg);
    ice_writer_free(w);
}

static void cell(const fmt_vec_t *v, uint32_t i, buf_t *out) {
    if (!fmt_vec_valid(v, i)) {
        buf_puts(out, "null");
        return;
    }
    if (v->field->type == FMT_STRUCT) {
        buf_putc(out, '{');
        for (uint32_t k = 0; k < v->nchildren; k++) {
            if (k) buf_putc(out, ',');
            buf_printf(out, "%s=", v->children[k].field->name);
            cell(&v->children[k], i, out);
        }
        buf_putc(out, '}');
        return;
    }
    if (v->field->type == FMT_LIST || v->field->type == FMT_MAP) {
        buf_putc(out, '[');
        for (uint32_t e = v->offsets[i]; e < v->offsets[i + 1]; e++) {
            if (e > v->offsets[i]) buf_putc(out, ',');
            for (uint32_t k = 0; k < v->nchildren; k++) {
                if (k) buf_putc(out, ':');
                cell(&v->children[k], e, out);
            }
        }
        buf_putc(out, ']');
        return;
    }
    ice_value x;
    ice_value_from_vec(v, i, &x);
    ice_value_format(&x, out);
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The rows a scan returns, "name=value ..." each, sorted, one per line;
 * rep gets the scan report. */
static const char *scan(ice_table *t, const char *filter, const char *columns, ice_scan_report *rep) {
    floe_err err = {0};
    const char *cols[8];
    size_t ncols = 0;
    if (columns) {
        char *c = arena_strdup(&A, columns);
        for (char *tok = strtok(c, ","); tok && ncols < 8; tok = strtok(NULL, ",")) cols[ncols++] = tok;
    }
    ice_scan_opts o = {
        .snapshot_id = -1, .as_of_ms = -1, .filter = filter, .columns = ncols ? cols : NULL, .ncolumns = ncols};
    ice_scan *s = ice_scan_new(t, &o, &err);
    cr_assert(s, "scan '%s': %s", filter ? filter : "", err.msg);
    char **rows = NULL;
    size_t n = 0, cap = 0;
    fmt_batch_t *b;
    const fmt_schema_t *sch = ice_scan_schema(s);
    while (ice_scan_next(s, &b, &err)) {
        for (uint32_t i = 0; i < b->nrows; i++) {
            buf_t line = BUF_INIT;
            for (uint32_t c = 0; c < b->ncols; c++) {
                buf_printf(&line, "%s%s=", c ? " " : "", sch->root.children[c].name);
                cell(&b->cols[c], i, &line);
            }
            if (n == cap) rows = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof *rows);
            rows[n++] = arena_strndup(&A, line.data, line.len);
            buf_free(&line);
        }
    }
    cr_assert_eq(err.code, FLOE_OK, "scan '%s': %s", filter ? filter : "", err.msg);
    if (rep) *rep = *ice_scan_report_get(s);
    ice_scan_free(s);
    if (n) qsort(rows, n, sizeof *rows, cmp_str);
    buf_t all = BUF_INIT;
    for (size_t i = 0; i < n; i++) buf_printf(&all, "%s\n", rows[i]);
    const char *r = arena_strndup(&A, all.data ? all.data : "", all.len);
    buf_free(&all);
    free(rows);
    return r;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static bool evolve(ice_table *t, ice_evolve_kind kind, const char *column, const char *arg, ice_evolve_result *res,
                   floe_err *err) {
    ice_evolve_op op = {.kind = kind, .column = column, .arg = arg};
    ice_evolve_result r;
    memset(err, 0, sizeof *err);
    return ice_table_evolve(t, &op, 1, &A, res ? res : &r, err);
}

static void evolve_ok(ice_table *t, ice_evolve_kind kind, const char *column, const char *arg, ice_evolve_result *res) {
    floe_err err;
    cr_assert(evolve(t, kind, column, arg, res, &err), "%s %s: %s", column, arg ? arg : "", err.msg);
}

/* The change is refused with FLOE_EINVAL and a message holding want; the
 * table does not move. */
static void refused(ice_table *t, ice_evolve_kind kind, const char *column, const char *arg, const char *want) {
    floe_err err;
    int32_t sid = t->meta.current_schema_id, pid = t->meta.default_spec_id, ns = t->meta.nschemas;
    cr_assert_not(evolve(t, kind, column, arg, NULL, &err), "%s %s was allowed", column, arg ? arg : "");
    cr_assert_eq(err.code, FLOE_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
    floe_err e2;
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, t, &e2), "%s", e2.msg);
    cr_assert_eq(t->meta.current_schema_id, sid);
    cr_assert_eq(t->meta.default_spec_id, pid);
    cr_assert_eq(t->meta.nschemas, ns);
}

static const fmt_field_t *col(ice_table *t, const char *name) {
    const fmt_schema_t *s = ice_meta_current_schema(&t->meta);
    for (int32_t i = 0; i < s->root.nchildren; i++)
        if (!strcmp(s->root.children[i].name, name)) return &s->root.children[i];
    return NULL;
}

static const char *schema_text(ice_table *t) {
    buf_t b = BUF_INIT;
    fmt_schema_format(ice_meta_current_schema(&t->meta), &b);
    const char *s = arena_strndup(&A, b.data, b.len);
    buf_free(&b);
    return s;
}

/* Every live file's tuple has one non-null value per field of its spec. */
static void check_tuples(ice_table *t, size_t want_files) {
    floe_err err;
    const ice_snapshot *snap = ice_meta_snapshot(&t->meta, t->meta.current_snapshot_id);
    cr_assert(snap);
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(t, snap, &A, &es, &n, &err), "%s", err.msg);
    cr_assert_eq(n, want_files, "%zu files", n);
    for (size_t i = 0; i < n; i++) {
        const ice_data_file *f = &es[i].file;
        const ice_partition_spec *spec = ice_meta_spec(&t->meta, f->spec_id);
        cr_assert(spec, "file %s: no spec %d", f->file_path, f->spec_id);
        cr_assert_eq(f->npartition, spec->nfields, "file %s", f->file_path);
        for (int32_t k = 0; k < f->npartition; k++)
            cr_assert(!f->partition[k].is_null, "file %s: partition %s is null", f->file_path, spec->fields[k].name);
    }
}

/* ================================================================ tests */

Test(evolve, add_column_ids_refusals_and_old_files_read_null, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, "day(ts)", NULL, 0, &t);
    cr_assert_eq(t.meta.last_column_id, 8);
    append(&t, 0, 6);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "note", "string", &r);
    cr_assert(r.schema_changed);
    cr_assert_eq(r.field_id, 9);
    cr_assert_eq(r.schema_id, 1);
    cr_assert_eq(t.meta.current_schema_id, 1);
    /* a nested type takes the next ids: the column, then its fields */
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "geo", "struct<lat: double, lon: double>", &r);
    cr_assert_eq(r.field_id, 10);
    cr_assert_eq(col(&t, "geo")->children[0].id, 11);
    cr_assert_eq(col(&t, "geo")->children[1].id, 12);
    cr_assert_eq(t.meta.last_column_id, 12);
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "pt.z", "long", &r);
    cr_assert_eq(r.field_id, 13);
    cr_assert_str_eq(schema_text(&t), "id int not null, ts timestamptz, px float, amt decimal(9,2), sym string, "
                                      "pt struct<x: int, y: int, z: long>, note string, geo struct<lat: double, "
                                      "lon: double>");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "req", "long not null", "required");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "sym", "string", "already exists");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "pt.x", "int", "already exists");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "nope.q", "int", "no struct 'nope'");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "sym.q", "int", "not a struct");
    refused(&t, ICE_EVOLVE_ADD_COLUMN, "q", "varchar2", "type 'varchar2'");
    /* the old file reads null for every added column, its own data intact */
    cr_assert_str_eq(scan(&t, "id = 4", NULL, NULL),
                     "id=4 ts=1970-01-02T00:00:04Z px=1.0 amt=4.04 sym=ETH pt={x=4,y=-4,z=null} note=null geo=null\n");
    append(&t, 6, 3);
    cr_assert_str_eq(scan(&t, "id >= 7", "id,note,pt,geo", NULL),
                     "id=7 note=note7 pt={x=7,y=-7,z=70} geo={lat=1.75,lon=1.75}\n"
                     "id=8 note=note8 pt={x=8,y=-8,z=80} geo={lat=2.0,lon=2.0}\n");
    cr_assert_str_eq(scan(&t, "note is null", "id", NULL), "id=0\nid=1\nid=2\nid=3\nid=4\nid=5\n");
    cr_assert_str_eq(scan(&t, "pt.z > 60", "id", NULL), "id=7\nid=8\n");
    check_tuples(&t, 6);
}

Test(evolve, drop_column_never_read_and_refusals, .init = setup, .fini = teardown) {
    ice_table t;
    int32_t ident[] = {1};
    create(BASE, "day(ts)", ident, 1, &t);
    append(&t, 0, 3);
    refused(&t, ICE_EVOLVE_DROP_COLUMN, "id", NULL, "identifier field");
    refused(&t, ICE_EVOLVE_DROP_COLUMN, "ts", NULL, "drop-partition ts_day");
    refused(&t, ICE_EVOLVE_DROP_COLUMN, "nope", NULL, "no column 'nope'");
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "sym", NULL, &r);
    cr_assert_eq(r.field_id, 5);
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "pt.y", NULL, &r);
    cr_assert_eq(r.field_id, 8);
    refused(&t, ICE_EVOLVE_DROP_COLUMN, "pt.x", NULL, "only field of its struct");
    /* a new column of a dropped one's name is a new column: old files
     * have no data for it, though a column of that name is in them */
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "sym", "string", &r);
    cr_assert_eq(r.field_id, 9);
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "pt.y", "int", &r);
    cr_assert_eq(r.field_id, 10);
    cr_assert_str_eq(scan(&t, NULL, "id,sym,pt", NULL),
                     "id=0 sym=null pt={x=0,y=null}\nid=1 sym=null pt={x=1,y=null}\nid=2 sym=null pt={x=2,y=null}\n");
    /* a filter on the new column does not see the old column's data */
    cr_assert_str_eq(scan(&t, "sym = 'BTC'", "id", NULL), "");
    /* drop the partition field, then its source column */
    evolve_ok(&t, ICE_EVOLVE_DROP_PARTITION, "ts_day", NULL, &r);
    cr_assert(r.spec_changed);
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "ts", NULL, &r);
    append(&t, 3, 2);
    cr_assert_str_eq(scan(&t, "id >= 2", NULL, NULL), "id=2 px=0.5 amt=2.02 pt={x=2,y=null} sym=null\n"
                                                      "id=3 px=0.75 amt=3.03 pt={x=3,y=-3} sym=BTC\n"
                                                      "id=4 px=1.0 amt=4.04 pt={x=4,y=-4} sym=ETH\n");
    check_tuples(&t, 4);
}

Test(evolve, rename_reads_old_data_and_prunes, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, NULL, NULL, 0, &t);
    append(&t, 0, 3);   /* sym BTC ETH SOL */
    append(&t, 100, 1); /* 100 % 3: ETH */
    refused(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "px", "already exists");
    refused(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "a.b", "has a dot");
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "symbol", &r);
    cr_assert_eq(r.field_id, 5);
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "pt.x", "px2", &r);
    cr_assert_eq(r.field_id, 7);
    cr_assert_null(col(&t, "sym"));
    ice_scan_report rep;
    cr_assert_str_eq(scan(&t, "symbol = 'ETH'", "id,symbol,pt", &rep),
                     "id=1 symbol=ETH pt={px2=1,y=-1}\nid=100 symbol=ETH pt={px2=100,y=-100}\n");
    cr_assert_eq(rep.files, 2);
    /* the first file's bounds are BTC..SOL; 'ZZZ' is above both files */
    cr_assert_str_eq(scan(&t, "symbol = 'ZZZ'", "id", &rep), "");
    cr_assert_eq(rep.files_skipped_metrics, 2, "%zu", rep.files_skipped_metrics);
    cr_assert_str_eq(scan(&t, "pt.px2 >= 50", "id", &rep), "id=100\n");
    cr_assert_eq(rep.files_skipped_metrics, 1, "%zu", rep.files_skipped_metrics);
    /* unknown old name */
    floe_err err = {0};
    ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1, .filter = "sym = 'BTC'"};
    cr_assert_null(ice_scan_new(&t, &o, &err));
    cr_assert(strstr(err.msg, "sym"), "%s", err.msg);
}

Test(evolve, widen_promotes_old_values_and_bounds, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, "bucket(4, id)", NULL, 0, &t);
    append(&t, 0, 40);
    append(&t, 1000, 10);
    refused(&t, ICE_EVOLVE_WIDEN, "sym", "long", "int to long, float to double");
    refused(&t, ICE_EVOLVE_WIDEN, "px", "long", "cannot widen 'px' from float to long");
    refused(&t, ICE_EVOLVE_WIDEN, "amt", "decimal(12,3)", "same scale");
    refused(&t, ICE_EVOLVE_WIDEN, "amt", "decimal(8,2)", "P2 > P");
    refused(&t, ICE_EVOLVE_WIDEN, "pt", "long", "cannot widen");
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "id", "long", &r);
    cr_assert_eq(col(&t, "id")->type, FMT_LONG);
    cr_assert(col(&t, "id")->required);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "px", "double", &r);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "amt", "decimal(20,2)", &r); /* int32 in the file, int128 now */
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "pt.x", "long", &r);
    int32_t sid = t.meta.current_schema_id;
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "id", "long", &r); /* already long */
    cr_assert_not(r.schema_changed);
    cr_assert_eq(t.meta.current_schema_id, sid);
    refused(&t, ICE_EVOLVE_WIDEN, "id", "int", "from long to int");
    cr_assert_str_eq(schema_text(&t), "id long not null, ts timestamptz, px double, amt decimal(20,2), sym string, "
                                      "pt struct<x: long, y: int>");
    ice_scan_report rep;
    cr_assert_str_eq(scan(&t, "id = 1005", NULL, &rep),
                     "id=1005 ts=1970-01-01T00:16:45Z px=251.25 amt=1015.05 sym=BTC pt={x=1005,y=-1005}\n");
    cr_assert_str_eq(scan(&t, "id > 1007", "id", &rep), "id=1008\nid=1009\n");
    /* int bounds (4 bytes) of the old files, read as long, prune: only
     * the second commit's files can hold id > 1007 */
    size_t kept = rep.files - rep.files_skipped_metrics - rep.files_skipped_partition;
    cr_assert_leq(kept, 4, "%zu files kept", kept);
    cr_assert_str_eq(scan(&t, "px >= 250.0 and px < 250.5", "id,px", &rep), "id=1000 px=250.0\nid=1001 px=250.25\n");
    cr_assert_str_eq(scan(&t, "amt >= 1010.10", "id,amt", &rep),
                     "id=1001 amt=1011.01\nid=1002 amt=1012.02\nid=1003 amt=1013.03\n"
                     "id=1004 amt=1014.04\nid=1005 amt=1015.05\nid=1006 amt=1016.06\nid=1007 amt=1017.07\n"
                     "id=1008 amt=1018.08\nid=1009 amt=1019.09\n");
    cr_assert_eq(count_lines(scan(&t, "amt < 1010.10", "id", &rep)), 41);
    cr_assert_str_eq(scan(&t, "pt.x = 39", "id,pt", &rep), "id=39 pt={x=39,y=-39}\n");
    /* partition pruning on the widened source: bucket(long) hashes as bucket(int) did */
    cr_assert_str_eq(scan(&t, "id = 17", "id", &rep), "id=17\n");
    cr_assert_gt(rep.files_skipped_partition, 0);
    append(&t, 5000000000ll, 2); /* needs the long now */
    cr_assert_str_eq(scan(&t, "id >= 5000000000", "id,amt", &rep),
                     "id=5000000000 amt=5050000000.00\nid=5000000001 amt=5050000001.01\n");
}

Test(evolve, make_optional_reads_required_files, .init = setup, .fini = teardown) {
    ice_table t;
    create("id int not null, k long not null, pt struct<x: int not null, y: int> not null, sym string", NULL, NULL, 0,
           &t);
    append(&t, 0, 3);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_MAKE_OPTIONAL, "id", NULL, &r);
    cr_assert_eq(r.field_id, 1);
    cr_assert_not(col(&t, "id")->required);
    evolve_ok(&t, ICE_EVOLVE_MAKE_OPTIONAL, "pt.x", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_MAKE_OPTIONAL, "pt", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_MAKE_OPTIONAL, "sym", NULL, &r); /* already optional */
    cr_assert_not(r.schema_changed);
    cr_assert_str_eq(schema_text(&t), "id int, k long not null, pt struct<x: int, y: int>, sym string");
    /* the old file's definition levels are those of required columns */
    cr_assert_str_eq(scan(&t, NULL, NULL, NULL), "id=0 k=0 pt={x=0,y=0} sym=BTC\nid=1 k=1 pt={x=1,y=-1} sym=ETH\n"
                                                 "id=2 k=2 pt={x=2,y=-2} sym=SOL\n");
    cr_assert_str_eq(scan(&t, "id = 1 and pt.x = 1", "k", NULL), "k=1\n");
    append(&t, 3, 1);
    cr_assert_eq(count_lines(scan(&t, "id is not null", "id", NULL)), 4);
    /* an identifier field must stay required */
    ice_table t2;
    int32_t ident[] = {2};
    floe_err err = {0};
    cr_assert(cat_table_drop(E.cat, NULL, "t", "e", true, &err), "%s", err.msg);
    create("id int not null, k long not null", NULL, ident, 1, &t2);
    refused(&t2, ICE_EVOLVE_MAKE_OPTIONAL, "k", NULL, "identifier field");
}

Test(evolve, move_columns_and_nested_fields, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, "day(ts)", NULL, 0, &t);
    append(&t, 0, 2);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_MOVE_FIRST, "sym", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_MOVE_AFTER, "id", "amt", &r);
    evolve_ok(&t, ICE_EVOLVE_MOVE_BEFORE, "pt", "ts", &r);
    evolve_ok(&t, ICE_EVOLVE_MOVE_FIRST, "pt.y", NULL, &r); /* inside the struct */
    cr_assert_str_eq(
        schema_text(&t),
        "sym string, pt struct<y: int, x: int>, ts timestamptz, px float, amt decimal(9,2), id int not null");
    /* ids did not move */
    cr_assert_eq(col(&t, "sym")->id, 5);
    cr_assert_eq(col(&t, "pt")->children[0].id, 8);
    refused(&t, ICE_EVOLVE_MOVE_AFTER, "pt.x", "id", "different structs");
    refused(&t, ICE_EVOLVE_MOVE_BEFORE, "id", "id", "itself");
    refused(&t, ICE_EVOLVE_MOVE_AFTER, "id", "nope", "no column 'nope'");
    /* OTHER may be a sibling's own name inside a struct */
    evolve_ok(&t, ICE_EVOLVE_MOVE_AFTER, "pt.y", "x", &r);
    cr_assert_eq(r.schema_id, 3, "pt back in the order of schema 3, which is reused (%d)", r.schema_id);
    evolve_ok(&t, ICE_EVOLVE_MOVE_BEFORE, "pt.x", "pt.y", &r);
    cr_assert_not(r.schema_changed);
    evolve_ok(&t, ICE_EVOLVE_MOVE_FIRST, "pt.y", NULL, &r);
    cr_assert_eq(r.schema_id, 4, "%d", r.schema_id);
    cr_assert_eq(t.meta.nschemas, 5);
    cr_assert_str_eq(scan(&t, NULL, NULL, NULL),
                     "sym=BTC pt={y=0,x=0} ts=1970-01-01T00:00:00Z px=0.0 amt=0.00 id=0\n"
                     "sym=ETH pt={y=-1,x=1} ts=1970-01-02T00:00:01Z px=0.25 amt=1.01 id=1\n");
    append(&t, 2, 1);
    cr_assert_str_eq(scan(&t, "pt.y < -1", NULL, NULL),
                     "sym=SOL pt={y=-2,x=2} ts=1970-01-03T00:00:02Z px=0.5 amt=2.02 id=2\n");
}

Test(evolve, equal_schema_reused_by_id, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, NULL, NULL, 0, &t);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "symbol", &r);
    cr_assert_eq(r.schema_id, 1);
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "symbol", "sym", &r);
    cr_assert(r.schema_changed);
    cr_assert_eq(r.schema_id, 0);
    cr_assert_eq(t.meta.current_schema_id, 0);
    cr_assert_eq(t.meta.nschemas, 2);
    /* several changes in one commit: one new schema */
    ice_evolve_op ops[] = {
        {.kind = ICE_EVOLVE_ADD_COLUMN, .column = "a", .arg = "int"},
        {.kind = ICE_EVOLVE_ADD_COLUMN, .column = "b", .arg = "list<string>"},
        {.kind = ICE_EVOLVE_MOVE_FIRST, .column = "b"},
        {.kind = ICE_EVOLVE_ADD_PARTITION, .column = "bucket(2, a)"},
    };
    floe_err err = {0};
    cr_assert(ice_table_evolve(&t, ops, 4, &A, &r, &err), "%s", err.msg);
    cr_assert_eq(r.schema_id, 2);
    cr_assert_eq(r.spec_id, 1);
    cr_assert_eq(t.meta.last_column_id, 11); /* a 9, b 10, b.element 11 */
    cr_assert_eq(col(&t, "b")->children[0].id, 11);
    cr_assert_eq(t.meta.nschemas, 3);
    cr_assert_eq(t.meta.schemas[2].root.children[0].id, 10);
}

Test(evolve, partition_evolution_two_specs_prune_and_tuples, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, "day(ts)", NULL, 0, &t);
    append(&t, 0, 30); /* spec 0: 3 files, one per day */
    refused(&t, ICE_EVOLVE_ADD_PARTITION, "day(ts)", NULL, "already partitions by day(ts)");
    refused(&t, ICE_EVOLVE_ADD_PARTITION, "hour(ts)", NULL, "drop-partition ts_day first");
    refused(&t, ICE_EVOLVE_ADD_PARTITION, "month(sym)", NULL, "column 'sym'");
    refused(&t, ICE_EVOLVE_ADD_PARTITION, "bucket(4, id) as ts_day", NULL, "already has a partition field named");
    refused(&t, ICE_EVOLVE_ADD_PARTITION, "bucket(4, id), truncate(2, sym)", NULL, "one partition field");
    refused(&t, ICE_EVOLVE_DROP_PARTITION, "nope", NULL, "its fields: ts_day");
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_ADD_PARTITION, "bucket(4, id)", NULL, &r);
    cr_assert(r.spec_changed);
    cr_assert_eq(r.spec_id, 1);
    cr_assert_eq(r.field_id, 1000 + 1);
    cr_assert_eq(t.meta.last_partition_id, 1001);
    const ice_partition_spec *s1 = ice_meta_spec(&t.meta, 1);
    cr_assert_eq(s1->nfields, 2);
    cr_assert_str_eq(s1->fields[1].name, "id_bucket");
    cr_assert_eq(s1->fields[1].transform.kind, ICE_TR_BUCKET);
    cr_assert_eq(s1->fields[1].transform.param, 4);
    cr_assert_eq(s1->fields[0].field_id, 1000);
    append(&t, 30, 30); /* spec 1: up to 12 files */
    check_tuples(&t, t.meta.nspecs == 2 ? 3 + 12 : 0);
    /* old files keep spec 0 */
    floe_err err;
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(&t, ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id), &A, &es, &n, &err));
    size_t in0 = 0, in1 = 0;
    for (size_t i = 0; i < n; i++) *(es[i].file.spec_id == 0 ? &in0 : &in1) += 1;
    cr_assert_eq(in0, 3);
    cr_assert_eq(in1, 12);
    /* day pruning works in both specs */
    ice_scan_report rep;
    cr_assert_eq(count_lines(scan(&t, "ts >= '1970-01-02' and ts < '1970-01-03'", "id", &rep)), 20);
    cr_assert_eq(rep.files_skipped_partition, 2 + 8, "%zu", rep.files_skipped_partition);
    /* bucket pruning only in spec 1; spec 0 files prune by id bounds or not */
    cr_assert_str_eq(scan(&t, "id = 45", "id,sym", &rep), "id=45 sym=BTC\n");
    cr_assert_eq(rep.files_skipped_partition, 9, "%zu", rep.files_skipped_partition); /* 3 of 12 in its bucket */
    cr_assert_geq(rep.files_skipped_metrics, 3, "%zu", rep.files_skipped_metrics);    /* spec 0: ids 0..29 */
    cr_assert_str_eq(scan(&t, "id = 5", "id", &rep), "id=5\n");
    /* drop the day field: v2 removes it; files stay in their specs */
    evolve_ok(&t, ICE_EVOLVE_DROP_PARTITION, "ts_day", NULL, &r);
    cr_assert_eq(r.spec_id, 2);
    cr_assert_eq(ice_meta_spec(&t.meta, 2)->nfields, 1);
    cr_assert_eq(ice_meta_spec(&t.meta, 2)->fields[0].field_id, 1001);
    append(&t, 60, 8); /* spec 2: 4 buckets */
    check_tuples(&t, 3 + 12 + 4);
    cr_assert_eq(count_lines(scan(&t, "ts >= '1970-01-02' and ts < '1970-01-03'", "id", &rep)), 20 + 3);
    cr_assert_eq(count_lines(scan(&t, NULL, "id", NULL)), 68);
    /* day(ts) again: the old field id and name come back */
    evolve_ok(&t, ICE_EVOLVE_ADD_PARTITION, "day(ts)", NULL, &r);
    cr_assert_eq(r.field_id, 1000);
    cr_assert_eq(t.meta.last_partition_id, 1001);
    cr_assert_eq(r.spec_id, 3);
    /* drop both: the unpartitioned result is new; then back to day only,
     * which equals spec 0 and reuses it */
    evolve_ok(&t, ICE_EVOLVE_DROP_PARTITION, "id_bucket", NULL, &r);
    cr_assert_eq(r.spec_id, 0, "spec %d", r.spec_id);
    cr_assert_eq(t.meta.nspecs, 4);
    append(&t, 68, 3);
    check_tuples(&t, 3 + 12 + 4 + 3);
    cr_assert_eq(count_lines(scan(&t, "ts < '1970-01-02'", "id", &rep)), 10 + 10 + 3 + 1);
}

Test(evolve, conflicting_changes_replan_on_the_new_table, .init = setup, .fini = teardown) {
    ice_table t, stale, stale2;
    create(BASE, "day(ts)", NULL, 0, &t);
    floe_err err = {0};
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, &stale, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, &stale2, &err), "%s", err.msg);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "c1", "int", &r);
    cr_assert_eq(r.field_id, 9);
    /* the stale handle's change is planned again on top: c2 gets 10 */
    evolve_ok(&stale, ICE_EVOLVE_ADD_COLUMN, "c2", "int", &r);
    cr_assert_eq(r.attempts, 2);
    cr_assert_eq(r.field_id, 10);
    cr_assert_str_eq(schema_text(&stale), "id int not null, ts timestamptz, px float, amt decimal(9,2), sym string, "
                                          "pt struct<x: int, y: int>, c1 int, c2 int");
    /* replanned, a change can become wrong: c1 exists now */
    cr_assert_not(evolve(&stale2, ICE_EVOLVE_ADD_COLUMN, "c1", "long", &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
    /* a partition change and a concurrent schema change both land */
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, &stale, &err), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, &t, &err), "%s", err.msg);
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "c2", NULL, &r);
    evolve_ok(&stale, ICE_EVOLVE_ADD_PARTITION, "bucket(2, c1)", NULL, &r);
    cr_assert_eq(r.spec_id, 1);
    cr_assert_null(col(&stale, "c2"));
    /* t has not seen the new spec; replanned on it, dropping the spec's
     * source column is refused */
    cr_assert_eq(t.meta.default_spec_id, 0);
    cr_assert_not(evolve(&t, ICE_EVOLVE_DROP_COLUMN, "c1", NULL, &r, &err));
    cr_assert_eq(err.code, FLOE_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, "drop-partition c1_bucket"), "%s", err.msg);
    cr_assert(ice_table_load(&E.ice, "t", "e", &A, &t, &err), "%s", err.msg);
    cr_assert(col(&t, "c1"));
}

Test(evolve, identity_partition_source_renamed_and_widened, .init = setup, .fini = teardown) {
    ice_table t;
    create("id int not null, k int, px float", "k, truncate(10, id)", NULL, 0, &t);
    /* k is filled like id: rows 0..5, one file per (k, id / 10) */
    append(&t, 0, 6);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "k", "kk", &r);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "kk", "long", &r);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "id", "long", &r);
    append(&t, 6, 2);
    check_tuples(&t, 8);
    ice_scan_report rep;
    cr_assert_str_eq(scan(&t, "kk = 2", "id,kk", &rep), "id=2 kk=2\n");
    /* the second append's manifest (k 6..7) is skipped by its partition
     * summaries; five of the first one's six files by their tuples */
    cr_assert_eq(rep.manifests_skipped, 1, "%zu", rep.manifests_skipped);
    cr_assert_eq(rep.files_skipped_partition, 5, "%zu", rep.files_skipped_partition);
    cr_assert_str_eq(scan(&t, "kk >= 5", "id,kk", &rep), "id=5 kk=5\nid=6 kk=6\nid=7 kk=7\n");
    cr_assert_eq(rep.files_skipped_partition, 5, "%zu", rep.files_skipped_partition);
    cr_assert_str_eq(scan(&t, "id < 1 or id > 6", "id", &rep), "id=0\nid=7\n");
    /* the new files' tuples hold longs, the old ones ints, read as such */
    floe_err err;
    ice_manifest_entry *es;
    size_t n;
    cr_assert(ice_snapshot_files(&t, ice_meta_snapshot(&t.meta, t.meta.current_snapshot_id), &A, &es, &n, &err));
    for (size_t i = 0; i < n; i++) {
        const ice_value *v = &es[i].file.partition[0];
        cr_assert(!v->is_null);
        cr_assert(v->type == FMT_INT || v->type == FMT_LONG, "%d", v->type);
        cr_assert(strstr(es[i].file.file_path, arena_sprintf(&A, "k=%lld/", (long long)v->v.i64)), "%s: tuple k %lld",
                  es[i].file.file_path, (long long)v->v.i64);
    }
}

Test(evolve, delete_rewrites_old_files_in_the_new_schema_and_time_travel, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, "day(ts)", NULL, 0, &t);
    append(&t, 0, 6);
    int64_t first = t.meta.current_snapshot_id;
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "symbol", &r);
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "pt.y", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "pt.w", "string", &r);
    evolve_ok(&t, ICE_EVOLVE_MAKE_OPTIONAL, "id", NULL, &r);
    /* copy-on-write: the old files are read through the new schema and
     * their kept rows written in it */
    floe_err err = {0};
    ice_expr *e, *bound;
    cr_assert(ice_expr_parse("pt.x = 4 or symbol = 'SOL'", &A, &e, &err), "%s", err.msg);
    cr_assert(ice_expr_bind(e, ice_meta_current_schema(&t.meta), true, &A, &bound, &err), "%s", err.msg);
    ice_commit_opts o = {.kind = ICE_OP_DELETE, .filter = bound};
    ice_commit_result cr;
    cr_assert(ice_table_commit_files(&t, &o, NULL, 0, &A, &cr, &err), "%s", err.msg);
    /* day 1 holds ids 1 and 4 (rewritten), day 2 ids 2 and 5 (both SOL: dropped) */
    cr_assert_eq(cr.deleted_rows, 4, "%lld", (long long)cr.deleted_rows);
    cr_assert_eq(cr.rewritten_files, 1, "%lld", (long long)cr.rewritten_files);
    cr_assert_str_eq(scan(&t, NULL, "id,symbol,pt", NULL), "id=0 symbol=BTC pt={x=0,w=null}\n"
                                                           "id=1 symbol=ETH pt={x=1,w=null}\n"
                                                           "id=3 symbol=BTC pt={x=3,w=null}\n");
    check_tuples(&t, 2);
    /* the first snapshot reads with its own schema */
    ice_scan_opts so = {.snapshot_id = first, .as_of_ms = -1, .filter = "sym = 'ETH'"};
    ice_scan *s = ice_scan_new(&t, &so, &err);
    cr_assert(s, "%s", err.msg);
    cr_assert_str_eq(ice_scan_schema(s)->root.children[4].name, "sym");
    cr_assert_eq(ice_scan_schema(s)->root.children[5].nchildren, 2);
    fmt_batch_t *b;
    int64_t n = 0;
    while (ice_scan_next(s, &b, &err)) {
        for (uint32_t i = 0; i < b->nrows; i++) {
            buf_t line = BUF_INIT;
            cell(&b->cols[5], i, &line);
            cr_assert(!strcmp(line.data, "{x=1,y=-1}") || !strcmp(line.data, "{x=4,y=-4}"), "%s", line.data);
            buf_free(&line);
        }
        n += b->nrows;
    }
    cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    ice_scan_free(s);
}

Test(evolve, fields_inside_lists_and_maps, .init = setup, .fini = teardown) {
    ice_table t;
    create("id int, ls list<struct<x: int, y: int>>, mp map<string, struct<x: int, sym: string>>, nums list<int>", NULL,
           NULL, 0, &t);
    append(&t, 0, 2);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "ls.z", "long", &r); /* into the element struct */
    cr_assert_eq(r.field_id, 13);
    evolve_ok(&t, ICE_EVOLVE_DROP_COLUMN, "ls.x", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_MOVE_FIRST, "ls.element.z", NULL, &r);
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "mp.value.sym", "s", &r);
    evolve_ok(&t, ICE_EVOLVE_ADD_COLUMN, "mp.value.w", "string", &r);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "mp.x", "long", &r);
    evolve_ok(&t, ICE_EVOLVE_WIDEN, "nums.element", "long", &r);
    refused(&t, ICE_EVOLVE_DROP_COLUMN, "nums.element", NULL, "element of a list");
    refused(&t, ICE_EVOLVE_RENAME_COLUMN, "mp.key", "k", "key of a map");
    refused(&t, ICE_EVOLVE_MAKE_OPTIONAL, "mp.key", NULL, "map keys are always required");
    cr_assert_str_eq(schema_text(&t), "id int, ls list<struct<z: long, y: int>>, mp map<string, struct<x: long, s: "
                                      "string, w: string>>, nums list<long>");
    cr_assert_str_eq(scan(&t, "id = 1", NULL, NULL),
                     "id=1 ls=[{z=null,y=-1},{z=null,y=-101}] mp=[key1:{x=1,s=ETH,w=null},key101:{x=101,s=SOL,w=null}] "
                     "nums=[1,101]\n");
    append(&t, 2, 1);
    cr_assert_str_eq(scan(&t, "id = 2", NULL, NULL),
                     "id=2 ls=[{z=20,y=-2},{z=1020,y=-102}] mp=[key2:{x=2,s=s2,w=w2},key102:{x=102,s=s102,w=w102}] "
                     "nums=[2,102]\n");
}

/* The schema a scan by ref reads with: a tag its snapshot's, a branch the
 * table's current one (Java's SnapshotUtil.schemaFor). */
Test(evolve, tag_reads_its_snapshot_schema_branch_the_tables, .init = setup, .fini = teardown) {
    ice_table t;
    create(BASE, NULL, NULL, 0, &t);
    append(&t, 0, 2);
    floe_err err = {0};
    cr_assert(ice_ref_create(&t, "v1", true, -1, &A, &err), "%s", err.msg);
    cr_assert(ice_ref_create(&t, "dev", false, -1, &A, &err), "%s", err.msg);
    ice_evolve_result r;
    evolve_ok(&t, ICE_EVOLVE_RENAME_COLUMN, "sym", "symbol", &r);
    const char *want[] = {"v1", "dev"};
    const char *name[] = {"sym", "symbol"};
    for (int k = 0; k < 2; k++) {
        ice_scan_opts o = {.snapshot_id = -1, .as_of_ms = -1, .ref = want[k]};
        ice_scan *s = ice_scan_new(&t, &o, &err);
        cr_assert(s, "%s", err.msg);
        const fmt_schema_t *sch = ice_scan_schema(s);
        bool have = false;
        for (int32_t i = 0; i < sch->root.nchildren; i++) have |= !strcmp(sch->root.children[i].name, name[k]);
        cr_assert(have, "scan of %s has no column %s", want[k], name[k]);
        fmt_batch_t *b;
        uint32_t rows = 0;
        while (ice_scan_next(s, &b, &err)) rows += b->nrows;
        cr_assert_eq(err.code, FLOE_OK, "%s", err.msg);
        cr_assert_eq(rows, 2);
        ice_scan_free(s);
    }
}
