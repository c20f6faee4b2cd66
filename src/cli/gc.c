/*
 * gc.c: `floe gc`, garbage collection of the warehouse. Deletes the files
 * no branch or tag of the catalog reaches (the files of dropped tables
 * too) that are older than the cutoff. The work is cat_gc in
 * src/catalog/gc.c; this file parses, shows progress and prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "cli/cli.h"
#include "cli/table_int.h"

static void usage(FILE *f) {
    fprintf(f, "usage: floe gc [--older-than TS] [--dry-run] [--summary] [--format table|csv|json] [--data DIR]\n"
               "               [--catalog-url URL]\n\n"
               "Deletes files under the warehouse that no branch or tag of the catalog reaches (the\n"
               "files of dropped tables, of expired snapshots, of failed commits) and that were last\n"
               "modified before --older-than (ISO 8601 or epoch milliseconds; default: 3 days ago,\n"
               "which keeps the files of commits in progress safe). Every table on every ref is read\n"
               "first; if one cannot be read, nothing is deleted.\n\n"
               "  --dry-run   list the files that would be deleted; delete nothing\n"
               "  --summary   print one row of counts instead of the files\n"
               "Prints one row per file (deleted, or would be); counts go to stderr.\n");
}

typedef struct gc_args {
    const char *data, *catalog_url, *older_than;
    bool dry_run, summary;
    out_format fmt;
} gc_args;

/* 2: usage error (printed), 0: parsed, 1: --help. */
static int parse(int argc, char **argv, gc_args *g) {
    memset(g, 0, sizeof *g);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--dry-run")) {
            g->dry_run = true;
        } else if (!strcmp(a, "--summary")) {
            g->summary = true;
        } else if (!strcmp(a, "--data") && v) {
            g->data = argv[++i];
        } else if (!strcmp(a, "--catalog-url") && v) {
            g->catalog_url = argv[++i];
        } else if (!strcmp(a, "--older-than") && v) {
            g->older_than = argv[++i];
        } else if (!strcmp(a, "--format") && v) {
            i++;
            if (!strcmp(v, "table"))
                g->fmt = OUT_TABLE;
            else if (!strcmp(v, "csv"))
                g->fmt = OUT_CSV;
            else if (!strcmp(v, "json"))
                g->fmt = OUT_JSON;
            else {
                fprintf(stderr, "floe gc: --format '%s': expected table, csv or json\n", v);
                return 2;
            }
        } else {
            bool needs = !strcmp(a, "--data") || !strcmp(a, "--catalog-url") || !strcmp(a, "--older-than") ||
                         !strcmp(a, "--format");
            fprintf(stderr, "floe gc: %s '%s'\n\n", needs ? "a value is missing after" : "unexpected argument", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total) {
    (void)arg;
    static const char *last;
    if (last && strcmp(last, phase)) tcli_progress_end();
    last = phase;
    tcli_progress(phase, done, total, !strcmp(phase, "marking") ? "tables" : "files");
}

static void print_files(const gc_args *g, const cat_gc_result *r, arena_t *a) {
    const char *names[] = {"file_location", "size_bytes", "last_modified", "status"};
    printer p;
    pr_begin(&p, g->fmt, names, 4);
    for (size_t i = 0; i < r->ndeleted; i++) {
        const cat_gc_file *f = &r->deleted[i];
        char t[32];
        time_iso8601_ms(f->mtime_ms, t);
        const char *status = g->dry_run ? "would delete" : f->failed ? "failed" : "deleted";
        char *cells[4] = {(char *)f->uri, arena_sprintf(a, "%llu", (unsigned long long)f->size), arena_strdup(a, t),
                          (char *)status};
        char *js[4] = {tcli_jstr(f->uri), cells[1], tcli_jstr(t), tcli_jstr(status)};
        pr_row(&p, cells, js);
        free(js[0]);
        free(js[2]);
        free(js[3]);
    }
    pr_end(&p);
}

static void print_summary(const gc_args *g, const cat_gc_result *r, arena_t *a) {
    const char *names[] = {"refs",          "tables",          "table_versions",   "live_files",
                           "listed_files",  "kept_live_files", "kept_young_files", "kept_protected_files",
                           "deleted_files", "deleted_bytes",   "failed_deletes",   "dry_run"};
    int64_t vals[] = {r->refs,           r->tables,     r->table_versions, r->live_files,        r->listed,
                      r->kept_live,      r->kept_young, r->kept_protected, (int64_t)r->ndeleted, r->deleted_bytes,
                      r->failed_deletes, g->dry_run};
    size_t n = sizeof vals / sizeof *vals;
    char **cells = arena_alloc(a, n * sizeof *cells);
    for (size_t i = 0; i < n; i++) cells[i] = arena_sprintf(a, "%lld", (long long)vals[i]);
    cells[n - 1] = g->dry_run ? "true" : "false";
    printer p;
    pr_begin(&p, g->fmt, names, n);
    pr_row(&p, cells, cells);
    pr_end(&p);
}

int cli_gc(int argc, char **argv) {
    gc_args g;
    int prc = parse(argc, argv, &g);
    if (prc) return prc == 1 ? 0 : 2;
    cat_gc_opts o = {.older_than_ms = -1, .dry_run = g.dry_run};
    if (g.older_than && !tcli_parse_time_ms(g.older_than, &o.older_than_ms)) {
        fprintf(stderr,
                "floe gc: --older-than '%s': expected a timestamp like 2026-03-28T10:00:00Z or epoch milliseconds\n",
                g.older_than);
        return 2;
    }
    if (o.older_than_ms > time_now_ms()) {
        fprintf(stderr,
                "floe gc: --older-than '%s' is in the future: files a commit is writing right now would be "
                "deleted; give a time in the past (the default is 3 days ago)\n",
                g.older_than);
        return 2;
    }
    if (tcli_tty()) o.progress = on_progress;
    floe_err err = {0};
    env e;
    if (!tcli_env_open(&e, g.data, g.catalog_url, &err)) {
        tcli_env_close(&e);
        return tcli_fail("gc", &err);
    }
    arena_t a;
    arena_init(&a, 1 << 16);
    cat_gc_result r;
    bool ok = cat_gc(e.cat, &o, &a, &r, &err);
    tcli_progress_end();
    int rc = 0;
    if (!ok) {
        rc = tcli_fail("gc", &err);
    } else {
        char cut[32];
        time_iso8601_ms(r.older_than_ms, cut);
        fprintf(stderr,
                "gc: %lld tables (%lld versions) on %lld refs marked %lld files; of %lld listed under %s, %lld are "
                "live, %lld unreachable but modified after %s (kept)%s",
                (long long)r.tables, (long long)r.table_versions, (long long)r.refs, (long long)r.live_files,
                (long long)r.listed, cat_warehouse(e.cat), (long long)r.kept_live, (long long)r.kept_young, cut,
                r.kept_protected ? "" : "\n");
        if (r.kept_protected)
            fprintf(stderr, ", %lld under tables with gc.enabled=false\n", (long long)r.kept_protected);
        fprintf(stderr, "gc: %s %zu files, %lld bytes\n", g.dry_run ? "dry run: would delete" : "deleted",
                r.ndeleted - (size_t)r.failed_deletes, (long long)r.deleted_bytes);
        if (r.failed_deletes) {
            fprintf(stderr, "gc: %lld files could not be deleted (see the log); run gc again to retry\n",
                    (long long)r.failed_deletes);
            rc = 1;
        }
        if (g.summary)
            print_summary(&g, &r, &a);
        else
            print_files(&g, &r, &a);
    }
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}
