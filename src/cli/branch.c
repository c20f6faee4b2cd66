/*
 * branch.c: the catalog's versions from the command line: `floe branch`,
 * `floe tag`, `floe log`, `floe diff`, `floe merge`, `floe transplant` and
 * `floe reflog` on the embedded store (--data DIR). Parsing and printing
 * only; the work is in src/catalog/versions.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/table_int.h"

#define MAX_POS 64
#define MAX_KEYS 64

typedef struct bargs {
    const char *data, *catalog_url, *from, *into, *expect, *message, *page_token;
    const char *pos[MAX_POS];
    int npos;
    cat_merge_key keys[MAX_KEYS];
    size_t nkeys;
    cat_merge_behavior default_behavior;
    int64_t limit;
    bool dry_run;
    out_format fmt;
} bargs;

static bool parse_behavior(const char *v, cat_merge_behavior *b) {
    if (!strcasecmp(v, "normal"))
        *b = CAT_MERGE_NORMAL;
    else if (!strcasecmp(v, "force"))
        *b = CAT_MERGE_FORCE;
    else if (!strcasecmp(v, "drop"))
        *b = CAT_MERGE_DROP;
    else
        return false;
    return true;
}

/* Returns 0, or the exit code (2) after printing what was wrong. */
static int parse(const char *cmd, int argc, char **argv, bargs *b) {
    memset(b, 0, sizeof *b);
    b->limit = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--data") && v)
            b->data = v;
        else if (!strcmp(a, "--catalog-url") && v)
            b->catalog_url = v;
        else if (!strcmp(a, "--from") && v)
            b->from = v;
        else if (!strcmp(a, "--into") && v)
            b->into = v;
        else if (!strcmp(a, "--expect") && v)
            b->expect = v;
        else if ((!strcmp(a, "--message") || !strcmp(a, "-m")) && v)
            b->message = v;
        else if (!strcmp(a, "--page-token") && v)
            b->page_token = v;
        else if (!strcmp(a, "--format") && v) {
            if (!tcli_parse_format(v, &b->fmt)) {
                fprintf(stderr, "floe %s: --format '%s': expected table, csv or json\n", cmd, v);
                return 2;
            }
        } else if (!strcmp(a, "--limit") && v) {
            if (!str_to_i64_range(v, 1, 1000000, &b->limit)) {
                fprintf(stderr, "floe %s: --limit '%s': expected a count from 1 to 1000000\n", cmd, v);
                return 2;
            }
        } else if ((!strcmp(a, "--force") || !strcmp(a, "--drop") || !strcmp(a, "--normal")) && v) {
            if (b->nkeys == MAX_KEYS) {
                fprintf(stderr, "floe %s: more than %d %s keys; use --default instead\n", cmd, MAX_KEYS, a);
                return 2;
            }
            parse_behavior(a + 2, &b->keys[b->nkeys].behavior);
            b->keys[b->nkeys++].key = v;
        } else if (!strcmp(a, "--default") && v) {
            if (!parse_behavior(v, &b->default_behavior)) {
                fprintf(stderr, "floe %s: --default '%s': expected normal, force or drop\n", cmd, v);
                return 2;
            }
        } else {
            takes = false;
            if (!strcmp(a, "--dry-run"))
                b->dry_run = true;
            else if (a[0] == '-' && a[1] == '-') {
                fprintf(stderr, "floe %s: unknown option '%s' (or it lacks its value)\n", cmd, a);
                return 2;
            } else if (b->npos < MAX_POS)
                b->pos[b->npos++] = a;
            else {
                fprintf(stderr, "floe %s: too many arguments\n", cmd);
                return 2;
            }
        }
        if (takes) i++;
    }
    return 0;
}

static char *time_text(arena_t *a, int64_t ms) {
    char ts[32];
    time_iso8601_ms(ms, ts);
    return arena_strdup(a, ts);
}

/* A row whose cells are all strings (NULL: null). */
static void row(printer *p, char **cells) {
    char *js[16];
    for (size_t i = 0; i < p->ncols; i++) js[i] = cells[i] ? tcli_jstr(cells[i]) : strdup("null");
    pr_row(p, cells, js);
    for (size_t i = 0; i < p->ncols; i++) free(js[i]);
}

/* ---------------------------------------------------------- branch, tag */

static int list_refs(env *e, const bargs *b, bool tags, arena_t *a) {
    floe_err err = {0};
    cat_ref *refs;
    size_t n;
    if (!cat_ref_list(e->cat, a, &refs, &n, &err)) return tcli_fail(tags ? "tag list" : "branch list", &err);
    const char *hdr[] = {"name", "hash", "default"};
    printer p;
    pr_begin(&p, b->fmt, hdr, tags ? 2 : 3);
    for (size_t i = 0; i < n; i++) {
        if (refs[i].is_tag != tags) continue;
        char *c[3] = {(char *)refs[i].name, (char *)refs[i].hash, strcmp(refs[i].name, CAT_MAIN) ? "" : "*"};
        row(&p, c);
    }
    pr_end(&p);
    return 0;
}

static int refs_cmd(const char *what, int argc, char **argv) {
    bool tags = !strcmp(what, "tag");
    bargs b;
    int rc = parse(what, argc, argv, &b);
    if (rc) return rc;
    const char *verb = b.npos ? b.pos[0] : NULL, *name = b.npos > 1 ? b.pos[1] : NULL;
    bool list = verb && !strcmp(verb, "list");
    if (!verb || (!list && !name) || b.npos > (list ? 1 : 3)) {
        fprintf(stderr,
                "usage: floe %s create NAME [--from REF]     REF: a branch, tag, REF@HASH, REF~N, REF*TIME or a hash\n"
                "       floe %s list [--format table|csv|json]\n"
                "       floe %s drop NAME [--expect HASH]\n"
                "%s"
                "       all take --data DIR and --catalog-url URL (or FLOE_CATALOG_URL)\n",
                what, what, what, tags ? "" : "       floe branch assign NAME --from REF [--expect HASH]\n");
        return 2;
    }
    const char *from = b.from ? b.from : b.npos > 2 ? b.pos[2] : NULL;
    env e;
    floe_err err = {0};
    if (!tcli_env_open(&e, b.data, b.catalog_url, &err)) {
        tcli_env_close(&e);
        return tcli_fail(what, &err);
    }
    arena_t a;
    arena_init(&a, 1 << 14);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s %s", what, verb);
    cat_ref r;
    if (list) {
        rc = list_refs(&e, &b, tags, &a);
    } else if (!strcmp(verb, "create")) {
        if (!cat_ref_create(e.cat, name, tags, from, &a, &r, &err))
            rc = tcli_fail(cmd, &err);
        else
            fprintf(stderr, "created %s %s at %s\n", what, name, r.hash);
    } else if (!strcmp(verb, "drop") || !strcmp(verb, "delete")) {
        if (!cat_ref_get(e.cat, name, &a, &r, &err) || r.is_tag != tags) {
            if (!err.code)
                floe_err_set(&err, FLOE_EINVAL, "'%s' is a %s; use `floe %s drop %s`", name, tags ? "branch" : "tag",
                             tags ? "branch" : "tag", name);
            rc = tcli_fail(cmd, &err);
        } else if (!cat_ref_delete(e.cat, name, b.expect, &err)) {
            rc = tcli_fail(cmd, &err);
        } else {
            fprintf(stderr, "dropped %s %s (was at %s)\n", what, name, r.hash);
        }
    } else if (!strcmp(verb, "assign") && !tags) {
        if (!from) {
            fprintf(stderr, "floe %s: where to? floe branch assign %s --from REF\n", cmd, name);
            rc = 2;
        } else if (!cat_ref_assign(e.cat, name, from, b.expect, &a, &r, &err)) {
            rc = tcli_fail(cmd, &err);
        } else {
            fprintf(stderr, "assigned branch %s to %s\n", name, r.hash);
        }
    } else {
        fprintf(stderr, "floe %s: unknown command '%s' (create, list, drop%s)\n", what, verb, tags ? "" : ", assign");
        rc = 2;
    }
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}

int cli_branch(int argc, char **argv) { return refs_cmd("branch", argc, argv); }
int cli_tag(int argc, char **argv) { return refs_cmd("tag", argc, argv); }

/* ---------------------------------------------------------------- log */

/* Opens the data dir for the commands below; prints the error. */
static bool open_env(const char *cmd, const bargs *b, env *e, int *rc) {
    floe_err err = {0};
    if (tcli_env_open(e, b->data, b->catalog_url, &err)) return true;
    tcli_env_close(e);
    *rc = tcli_fail(cmd, &err);
    return false;
}

int cli_log(int argc, char **argv) {
    bargs b;
    int rc = parse("log", argc, argv, &b);
    if (rc) return rc;
    if (b.npos > 1) {
        fprintf(stderr, "usage: floe log [REF] [--limit N] [--page-token T] [--format table|csv|json] [--data DIR]\n");
        return 2;
    }
    env e;
    if (!open_env("log", &b, &e, &rc)) return rc;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cat_commit *cs;
    size_t n;
    const char *next;
    if (!cat_log_page(e.cat, b.npos ? b.pos[0] : NULL, b.page_token, b.limit > 0 ? (size_t)b.limit : 100, &a, &cs, &n,
                      &next, &err)) {
        rc = tcli_fail("log", &err);
    } else {
        const char *hdr[] = {"hash", "parent", "merged", "time", "author", "message"};
        printer p;
        pr_begin(&p, b.fmt, hdr, 6);
        for (size_t i = 0; i < n; i++) {
            char *c[6] = {(char *)cs[i].hash,           (char *)cs[i].parent, (char *)cs[i].parent2,
                          time_text(&a, cs[i].time_ms), (char *)cs[i].author, (char *)cs[i].message};
            row(&p, c);
        }
        pr_end(&p);
        if (next) fprintf(stderr, "more: --page-token %s\n", next);
    }
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}

/* --------------------------------------------------------------- diff */

int cli_diff(int argc, char **argv) {
    bargs b;
    int rc = parse("diff", argc, argv, &b);
    if (rc) return rc;
    if (b.npos != 2) {
        fprintf(stderr, "usage: floe diff FROM TO [--format table|csv|json] [--data DIR]\n"
                        "       FROM, TO: a branch, tag, REF@HASH, REF~N, REF*TIME or a hash\n");
        return 2;
    }
    env e;
    if (!open_env("diff", &b, &e, &rc)) return rc;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cat_diff_entry *d;
    size_t n;
    if (!cat_diff(e.cat, b.pos[0], b.pos[1], &a, &d, &n, &err)) {
        rc = tcli_fail("diff", &err);
    } else {
        const char *hdr[] = {"key", "change", "kind", "from", "to"};
        printer p;
        pr_begin(&p, b.fmt, hdr, 5);
        for (size_t i = 0; i < n; i++) {
            const cat_entry *any = d[i].to ? d[i].to : d[i].from;
            char *c[5] = {(char *)d[i].key,
                          !d[i].from ? "added"
                          : !d[i].to ? "removed"
                                     : "changed",
                          (char *)any->kind,
                          d[i].from ? (char *)(d[i].from->location ? d[i].from->location : "") : NULL,
                          d[i].to ? (char *)(d[i].to->location ? d[i].to->location : "") : NULL};
            row(&p, c);
        }
        pr_end(&p);
    }
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}

/* ---------------------------------------------------- merge, transplant */

/* Prints what a merge or transplant did (or would do, or why it could not). */
static void print_result(const bargs *b, const cat_merge_result *m) {
    printer p;
    const char *hdr[] = {"key", "behavior", "conflict"};
    pr_begin(&p, b->fmt, hdr, 3);
    for (size_t i = 0; i < m->ndetails; i++) {
        char *c[3] = {(char *)m->details[i].key, (char *)cat_merge_behavior_name(m->details[i].behavior),
                      (char *)m->details[i].conflict};
        row(&p, c);
    }
    pr_end(&p);
    for (size_t i = 0; i < m->nconflicts; i++)
        fprintf(stderr, "conflict: %s: %s: %s\n", m->conflicts[i].key, m->conflicts[i].type, m->conflicts[i].message);
}

int cli_merge(int argc, char **argv) {
    bargs b;
    int rc = parse("merge", argc, argv, &b);
    if (rc) return rc;
    if (b.npos != 1) {
        fprintf(stderr, "usage: floe merge FROM [--into BRANCH] [--dry-run] [--force KEY] [--drop KEY]\n"
                        "                  [--default normal|force|drop] [--expect HASH] [-m MESSAGE] [--data DIR]\n"
                        "       FROM: a branch, tag, REF@HASH, REF~N, REF*TIME or a hash; BRANCH defaults to main.\n"
                        "       KEY: a table or namespace, like ns.t (repeat the flag for more)\n");
        return 2;
    }
    env e;
    if (!open_env("merge", &b, &e, &rc)) return rc;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cat_merge_opts o = {.from = b.pos[0],
                        .into = b.into,
                        .expected_hash = b.expect,
                        .default_behavior = b.default_behavior,
                        .keys = b.keys,
                        .nkeys = b.nkeys,
                        .dry_run = b.dry_run,
                        .message = b.message};
    cat_merge_result m;
    const char *into = b.into ? b.into : CAT_MAIN;
    bool ok = cat_merge(e.cat, &o, &a, &m, &err);
    print_result(&b, &m);
    if (!ok)
        rc = tcli_fail("merge", &err);
    else if (b.dry_run)
        fprintf(stderr, "dry run: merging %s into %s would %s (merge base %.12s)\n", b.pos[0], into,
                m.nconflicts ? "conflict"
                : m.ndetails ? "apply cleanly"
                             : "change nothing",
                m.base_hash ? m.base_hash : "-");
    else if (!m.applied)
        fprintf(stderr, "nothing to merge: %s has no changes since its merge base with %s\n", b.pos[0], into);
    else
        fprintf(stderr, "merged %s into %s: %zu key%s, commit %s\n", b.pos[0], into, m.ndetails,
                m.ndetails == 1 ? "" : "s", m.result_hash);
    if (ok && b.dry_run && m.nconflicts) rc = 3;
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}

int cli_transplant(int argc, char **argv) {
    bargs b;
    int rc = parse("transplant", argc, argv, &b);
    if (rc) return rc;
    if (!b.npos || !b.into) {
        fprintf(stderr, "usage: floe transplant HASH... --into BRANCH [--dry-run] [--expect HASH] [--data DIR]\n");
        return 2;
    }
    env e;
    if (!open_env("transplant", &b, &e, &rc)) return rc;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cat_transplant_opts o = {.hashes = (const char *const *)b.pos,
                             .nhashes = (size_t)b.npos,
                             .into = b.into,
                             .expected_hash = b.expect,
                             .dry_run = b.dry_run};
    cat_merge_result m;
    bool ok = cat_transplant(e.cat, &o, &a, &m, &err);
    print_result(&b, &m);
    if (!ok)
        rc = tcli_fail("transplant", &err);
    else if (b.dry_run)
        fprintf(stderr, "dry run: transplanting onto %s would %s\n", b.into,
                m.nconflicts ? "conflict" : "apply cleanly");
    else if (!m.applied)
        fprintf(stderr, "nothing to transplant: %s already has those changes\n", b.into);
    else
        fprintf(stderr, "transplanted %d commit%s onto %s: now at %s\n", b.npos, b.npos == 1 ? "" : "s", b.into,
                m.result_hash);
    if (ok && b.dry_run && m.nconflicts) rc = 3;
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}

/* ------------------------------------------------------------- reflog */

int cli_reflog(int argc, char **argv) {
    bargs b;
    int rc = parse("reflog", argc, argv, &b);
    if (rc) return rc;
    if (b.npos > 1) {
        fprintf(stderr,
                "usage: floe reflog [REF] [--limit N] [--page-token T] [--format table|csv|json] [--data DIR]\n");
        return 2;
    }
    env e;
    if (!open_env("reflog", &b, &e, &rc)) return rc;
    arena_t a;
    arena_init(&a, 1 << 16);
    floe_err err = {0};
    cat_reflog_entry *es;
    size_t n;
    const char *next;
    if (!cat_reflog(e.cat, b.npos ? b.pos[0] : NULL, b.page_token, b.limit > 0 ? (size_t)b.limit : 100, &a, &es, &n,
                    &next, &err)) {
        rc = tcli_fail("reflog", &err);
    } else {
        const char *hdr[] = {"time", "ref", "operation", "old_hash", "new_hash"};
        printer p;
        pr_begin(&p, b.fmt, hdr, 5);
        for (size_t i = 0; i < n; i++) {
            char *c[5] = {time_text(&a, es[i].time_ms), (char *)es[i].ref, (char *)es[i].operation,
                          (char *)es[i].old_hash, (char *)es[i].new_hash};
            row(&p, c);
        }
        pr_end(&p);
        if (next) fprintf(stderr, "more: --page-token %s\n", next);
    }
    arena_free(&a);
    tcli_env_close(&e);
    return rc;
}
