/*
 * pipeline.c: `floe pipeline ...`, a client of the console port's pipeline
 * API (src/pipeline/api.c): list, trigger, runs, tasks, logs, clear, pause,
 * unpause and backfill. It authenticates with FLOE_ACCESS_KEY and
 * FLOE_SECRET_KEY (a bearer token from /api/v1/oauth/tokens) and prints
 * rows with --format table|csv|json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "base/time.h"
#include "cli/cli.h"
#include "cli/table_int.h"
#include "net/http.h"

typedef struct pcli {
    const char *server;
    char auth[CAT_TOKEN_MAX + 40];
    bool have_auth;
    out_format fmt;
} pcli;

static void usage(FILE *f) {
    fprintf(f, "usage: floe pipeline <command> [flags]\n\n"
               "  list                                   pipelines, their schedules and last runs\n"
               "  trigger NAME [--conf JSON] [--logical-date T] [--wait]\n"
               "                                         start a run now; --wait blocks until it ends and\n"
               "                                         exits non-zero unless it succeeded\n"
               "  runs NAME [--limit N]                  a pipeline's runs, newest first\n"
               "  tasks RUN_ID                           a run's task instances\n"
               "  logs RUN_ID TASK [--try N]             the log of a task's try (default: the latest)\n"
               "  clear RUN_ID TASK [--downstream]       run a task again (its try number goes up)\n"
               "  pause NAME | unpause NAME\n"
               "  backfill NAME --from D --to D [--reprocess none|failed|completed]\n"
               "           [--max-active-runs N] [--wait]\n"
               "                                         run every interval from D to D (dates are\n"
               "                                         inclusive days; times are exact)\n\n"
               "flags:\n"
               "  --server URL        the console port (default $FLOE_SERVER or http://127.0.0.1:8080)\n"
               "  --format F          table, csv or json (default table)\n"
               "  FLOE_ACCESS_KEY and FLOE_SECRET_KEY authenticate (default floeadmin/floeadmin).\n");
}

static int fail(const char *msg) {
    fprintf(stderr, "floe pipeline: %s\n", msg);
    return 1;
}

/* One API call: returns the HTTP status (0 on a transport error, with the
 * message in err) and the body in out. */
static long call(pcli *c, const char *method, const char *path, const char *body, buf_t *out, floe_err *err) {
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->server, path);
    const char *hdrs[4];
    int nh = 0;
    if (c->have_auth) hdrs[nh++] = c->auth;
    if (body) hdrs[nh++] = "Content-Type: application/json";
    hdrs[nh] = NULL;
    http_client_resp r = {0};
    if (!http_fetch(method, url, hdrs, body, body ? strlen(body) : 0, &r, err)) {
        http_client_resp_free(&r);
        return 0;
    }
    long st = r.status;
    buf_append(out, r.body.data ? r.body.data : "", r.body.len);
    buf_putc(out, 0);
    out->len--;
    http_client_resp_free(&r);
    return st;
}

static bool login(pcli *c, floe_err *err) {
    const char *ak = getenv("FLOE_ACCESS_KEY"), *sk = getenv("FLOE_SECRET_KEY");
    if (!ak || !*ak) ak = "floeadmin";
    if (!sk || !*sk) sk = "floeadmin";
    buf_t form = {0};
    buf_puts(&form, "grant_type=client_credentials&client_id=");
    str_uri_encode(&form, ak, strlen(ak), false);
    buf_puts(&form, "&client_secret=");
    str_uri_encode(&form, sk, strlen(sk), false);
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v1/oauth/tokens", c->server);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    http_client_resp r = {0};
    bool ok = http_fetch("POST", url, hdrs, form.data, form.len, &r, err);
    buf_free(&form);
    if (!ok) {
        floe_err_set(err, FLOE_EIO, "cannot reach the console API at %s (is `floe serve` running? set --server): %s",
                     c->server, err->msg);
        http_client_resp_free(&r);
        return false;
    }
    if (r.status == 200) {
        json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
        const char *tok = json_opt_str(j, "access_token");
        if (tok) {
            snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", tok);
            c->have_auth = true;
        }
        json_decref(j);
    } else if (r.status == 401) {
        http_client_resp_free(&r);
        return floe_err_set(err, FLOE_EAUTH,
                            "%s refused FLOE_ACCESS_KEY '%s' or its secret; set FLOE_ACCESS_KEY and FLOE_SECRET_KEY "
                            "to a key of that server",
                            c->server, ak);
    }
    http_client_resp_free(&r);
    return true;
}

/* Calls and parses; prints the API's error and returns NULL on failure. */
static json_t *call_json(pcli *c, const char *method, const char *path, const char *body, int *rc) {
    buf_t out = {0};
    floe_err err = {0};
    long st = call(c, method, path, body, &out, &err);
    if (st == 0) {
        fprintf(stderr, "floe pipeline: %s\n", err.msg);
        buf_free(&out);
        *rc = 1;
        return NULL;
    }
    json_t *j = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
    if (st >= 300) {
        const char *msg = json_opt_str(json_object_get(j, "error"), "message");
        fprintf(stderr, "floe pipeline: %s (HTTP %ld)\n", msg ? msg : (out.data ? out.data : "error"), st);
        json_decref(j);
        buf_free(&out);
        *rc = st == 409 ? 3 : 1;
        return NULL;
    }
    buf_free(&out);
    if (!j) {
        fprintf(stderr, "floe pipeline: the server answered something that is not JSON\n");
        *rc = 1;
    }
    return j;
}

/* A cell: strings as they are, null as NULL, other values as JSON. */
static char *cell(json_t *v) {
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Prints rows (an array of objects) with the given columns; a column
 * "a.b" reads a nested field. */
static void print_rows(pcli *c, json_t *rows, const char **cols, size_t ncols) {
    if (c->fmt == OUT_JSON) {
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            char *t = json_dumps(r, JSON_COMPACT);
            puts(t);
            free(t);
        }
        return;
    }
    printer p;
    pr_begin(&p, c->fmt, cols, ncols);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        char *cells[16];
        for (size_t k = 0; k < ncols; k++) {
            const char *dot = strchr(cols[k], '.');
            json_t *v;
            if (dot) {
                char head[64];
                snprintf(head, sizeof head, "%.*s", (int)(dot - cols[k]), cols[k]);
                v = json_object_get(json_object_get(r, head), dot + 1);
            } else {
                v = json_object_get(r, cols[k]);
            }
            cells[k] = cell(v);
        }
        pr_row(&p, cells, NULL);
        for (size_t k = 0; k < ncols; k++) free(cells[k]);
    }
    pr_end(&p);
}

static char *enc(const char *s) {
    buf_t b = {0};
    str_uri_encode(&b, s, strlen(s), false);
    buf_putc(&b, 0);
    return buf_steal(&b);
}

static const char *task_cols[] = {"task_id", "type", "state", "try_number", "started_at", "duration_ms", "error"};
#define NTASK_COLS (sizeof task_cols / sizeof task_cols[0])

/* Waits for a run to end; prints its tasks; 0 when it succeeded. */
static int wait_run(pcli *c, const char *run_id) {
    char *e = enc(run_id);
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/runs/%s", e);
    int rc = 0;
    const char *state = NULL;
    json_t *run = NULL;
    for (;;) {
        run = call_json(c, "GET", path, NULL, &rc);
        if (!run) {
            free(e);
            return rc ? rc : 1;
        }
        state = json_opt_str(run, "state");
        if (state && (!strcmp(state, "success") || !strcmp(state, "failed"))) break;
        json_decref(run);
        usleep(100 * 1000);
    }
    bool ok = !strcmp(state, "success");
    snprintf(path, sizeof path, "/api/v1/runs/%s/tasks", e);
    json_t *tasks = call_json(c, "GET", path, NULL, &rc);
    if (tasks) {
        print_rows(c, tasks, task_cols, NTASK_COLS);
        json_decref(tasks);
    }
    fprintf(stderr, "run %s: %s\n", run_id, state);
    json_decref(run);
    free(e);
    return ok ? 0 : 1;
}

int cli_pipeline(int argc, char **argv) {
    pcli c = {.fmt = OUT_TABLE};
    c.server = getenv("FLOE_SERVER");
    if (!c.server || !*c.server) c.server = "http://127.0.0.1:8080";
    const char *pos[4] = {0};
    int npos = 0;
    const char *conf = NULL, *logical = NULL, *from = NULL, *to = NULL, *reprocess = NULL, *try_s = NULL,
               *limit = NULL, *mar = NULL;
    bool wait = false, downstream = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--wait")) {
            wait = true;
            continue;
        } else if (!strcmp(a, "--downstream")) {
            downstream = true;
            continue;
        } else if (!strcmp(a, "--server")) {
            dst = &c.server;
        } else if (!strcmp(a, "--conf")) {
            dst = &conf;
        } else if (!strcmp(a, "--logical-date")) {
            dst = &logical;
        } else if (!strcmp(a, "--from")) {
            dst = &from;
        } else if (!strcmp(a, "--to")) {
            dst = &to;
        } else if (!strcmp(a, "--reprocess")) {
            dst = &reprocess;
        } else if (!strcmp(a, "--try")) {
            dst = &try_s;
        } else if (!strcmp(a, "--limit")) {
            dst = &limit;
        } else if (!strcmp(a, "--max-active-runs")) {
            dst = &mar;
        } else if (!strcmp(a, "--format")) {
            if (i + 1 >= argc || !tcli_parse_format(argv[++i], &c.fmt)) return fail("--format takes table, csv or json");
            continue;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "floe pipeline: unknown flag %s\n", a);
            usage(stderr);
            return 2;
        } else {
            if (npos == 4) return fail("too many arguments; see floe pipeline --help");
            pos[npos++] = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "floe pipeline: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    if (npos == 0) {
        usage(stderr);
        return 2;
    }
    size_t sl = strlen(c.server);
    char server[1024];
    snprintf(server, sizeof server, "%.*s", (int)(sl && c.server[sl - 1] == '/' ? sl - 1 : sl), c.server);
    c.server = server;
    const char *cmd = pos[0];
    static const struct {
        const char *name;
        int nargs;
    } cmds[] = {{"list", 0},  {"trigger", 1}, {"runs", 1},    {"tasks", 1},   {"logs", 2},
                {"clear", 2}, {"pause", 1},   {"unpause", 1}, {"backfill", 1}};
    int want = -1;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmds[i].name, cmd)) want = cmds[i].nargs;
    if (want < 0) {
        fprintf(stderr, "floe pipeline: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (npos - 1 != want) {
        fprintf(stderr, "floe pipeline %s: takes %d argument%s; see floe pipeline --help\n", cmd, want,
                want == 1 ? "" : "s");
        return 2;
    }
    floe_err err = {0};
    if (!login(&c, &err)) return fail(err.msg);

    int rc = 0;
    char path[2048];
    char *a1 = pos[1] ? enc(pos[1]) : NULL, *a2 = pos[2] ? enc(pos[2]) : NULL;
    json_t *j = NULL;
    if (!strcmp(cmd, "list")) {
        j = call_json(&c, "GET", "/api/v1/pipelines", NULL, &rc);
        if (j) {
            static const char *cols[] = {"name",           "schedule", "paused", "next_run_at", "active_runs",
                                         "last_run.state", "error"};
            print_rows(&c, j, cols, sizeof cols / sizeof cols[0]);
        }
    } else if (!strcmp(cmd, "trigger")) {
        json_t *body = json_object();
        if (conf) {
            json_error_t je;
            json_t *cj = json_loads(conf, 0, &je);
            if (!cj || !json_is_object(cj)) {
                json_decref(cj);
                json_decref(body);
                fprintf(stderr, "floe pipeline trigger: --conf must be a JSON object like '{\"symbol\":\"ETHUSDT\"}'\n");
                rc = 2;
                goto done;
            }
            json_object_set_new(body, "conf", cj);
        }
        if (logical) json_object_set_new(body, "logical_date", json_string(logical));
        char *bt = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        snprintf(path, sizeof path, "/api/v1/pipelines/%s/runs", a1);
        j = call_json(&c, "POST", path, bt, &rc);
        free(bt);
        if (j) {
            const char *run_id = json_opt_str(j, "run_id");
            printf("%s\n", run_id ? run_id : "?");
            fflush(stdout);
            if (wait && run_id) rc = wait_run(&c, run_id);
        }
    } else if (!strcmp(cmd, "runs")) {
        snprintf(path, sizeof path, "/api/v1/pipelines/%s/runs%s%s", a1, limit ? "?limit=" : "", limit ? limit : "");
        j = call_json(&c, "GET", path, NULL, &rc);
        if (j) {
            static const char *cols[] = {"run_id", "type", "state", "data_interval_start", "data_interval_end",
                                         "started_at", "ended_at"};
            print_rows(&c, j, cols, sizeof cols / sizeof cols[0]);
        }
    } else if (!strcmp(cmd, "tasks")) {
        snprintf(path, sizeof path, "/api/v1/runs/%s/tasks", a1);
        j = call_json(&c, "GET", path, NULL, &rc);
        if (j) print_rows(&c, j, task_cols, NTASK_COLS);
    } else if (!strcmp(cmd, "logs")) {
        snprintf(path, sizeof path, "/api/v1/runs/%s/tasks/%s/logs%s%s", a1, a2, try_s ? "?try=" : "",
                 try_s ? try_s : "");
        buf_t out = {0};
        long st = call(&c, "GET", path, NULL, &out, &err);
        if (st == 200) {
            fwrite(out.data ? out.data : "", 1, out.len, stdout);
        } else if (st == 0) {
            fprintf(stderr, "floe pipeline: %s\n", err.msg);
            rc = 1;
        } else {
            json_t *ej = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
            const char *msg = json_opt_str(json_object_get(ej, "error"), "message");
            fprintf(stderr, "floe pipeline: %s (HTTP %ld)\n", msg ? msg : "error", st);
            json_decref(ej);
            rc = 1;
        }
        buf_free(&out);
    } else if (!strcmp(cmd, "clear")) {
        snprintf(path, sizeof path, "/api/v1/runs/%s/tasks/%s/clear", a1, a2);
        j = call_json(&c, "POST", path, downstream ? "{\"downstream\":true}" : "{}", &rc);
        if (j) print_rows(&c, j, task_cols, NTASK_COLS);
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "unpause")) {
        snprintf(path, sizeof path, "/api/v1/pipelines/%s/%s", a1, cmd);
        j = call_json(&c, "POST", path, "{}", &rc);
        if (j) fprintf(stderr, "%s: %s\n", pos[1], json_is_true(json_object_get(j, "paused")) ? "paused" : "unpaused");
    } else if (!strcmp(cmd, "backfill")) {
        if (!from || !to) {
            fprintf(stderr, "floe pipeline backfill: needs --from D and --to D (dates like 2024-01-31, inclusive)\n");
            rc = 2;
            goto done;
        }
        json_t *body = json_pack("{s:s,s:s}", "from", from, "to", to);
        if (reprocess) json_object_set_new(body, "reprocess", json_string(reprocess));
        if (mar) {
            int64_t v;
            if (!str_to_i64_range(mar, 1, 1000, &v)) {
                json_decref(body);
                fprintf(stderr, "floe pipeline backfill: --max-active-runs takes 1..1000\n");
                rc = 2;
                goto done;
            }
            json_object_set_new(body, "max_active_runs", json_integer(v));
        }
        char *bt = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        snprintf(path, sizeof path, "/api/v1/pipelines/%s/backfills", a1);
        j = call_json(&c, "POST", path, bt, &rc);
        free(bt);
        if (j) {
            const char *id = json_opt_str(j, "id");
            printf("%s\n", id ? id : "?");
            fflush(stdout);
            if (wait && id) {
                char *eid = enc(id);
                snprintf(path, sizeof path, "/api/v1/backfills/%s", eid);
                free(eid);
                json_t *bf = NULL;
                for (;;) {
                    json_decref(bf);
                    bf = call_json(&c, "GET", path, NULL, &rc);
                    if (!bf) break;
                    const char *st = json_opt_str(bf, "state");
                    if (st && strcmp(st, "running") && strcmp(st, "queued")) break;
                    usleep(200 * 1000);
                }
                if (bf) {
                    const char *st = json_opt_str(bf, "state");
                    json_t *failed = json_object_get(bf, "failed");
                    fprintf(stderr, "backfill %s: %s, %lld runs\n", id, st ? st : "?",
                            (long long)json_integer_value(json_object_get(bf, "runs")));
                    if (!st || strcmp(st, "success") || json_integer_value(failed) > 0) rc = 1;
                    snprintf(path, sizeof path, "/api/v1/pipelines/%s/runs", a1);
                    json_t *runs = call_json(&c, "GET", path, NULL, &rc);
                    if (runs) {
                        json_t *mine = json_array();
                        size_t i;
                        json_t *r;
                        json_array_foreach(runs, i, r) {
                            if (str_eq(json_opt_str(r, "backfill_id"), id)) json_array_append(mine, r);
                        }
                        static const char *cols[] = {"run_id", "state", "data_interval_start", "data_interval_end"};
                        print_rows(&c, mine, cols, 4);
                        json_decref(mine);
                        json_decref(runs);
                    }
                    json_decref(bf);
                }
            }
        }
    }
done:
    json_decref(j);
    free(a1);
    free(a2);
    return rc;
}
