/*
 * api.c: the pipeline API on the console port, JSON under /api/v1, and
 * /metrics. Bodies are collected, the bearer token is checked (the same
 * stateless tokens as the catalog's; POST /api/v1/oauth/tokens issues
 * them), and the request runs on a worker thread, since the scheduler's
 * calls read and write pipelines.db.
 *
 *   POST  /api/v1/oauth/tokens                         client_credentials
 *   GET   /api/v1/pipelines                            list
 *   GET   /api/v1/pipelines/NAME                       one
 *   PATCH /api/v1/pipelines/NAME                       {"paused": bool}
 *   POST  /api/v1/pipelines/NAME/pause | /unpause
 *   GET   /api/v1/pipelines/NAME/runs?limit=N          runs, newest first
 *   POST  /api/v1/pipelines/NAME/runs                  trigger {"conf":{}, "logical_date":T}
 *   POST  /api/v1/pipelines/NAME/backfills             {"from","to","reprocess","max_active_runs"}
 *   GET   /api/v1/backfills/ID
 *   GET   /api/v1/runs/RUN_ID                          a run
 *   GET   /api/v1/runs/RUN_ID/tasks                    its task instances
 *   GET   /api/v1/runs/RUN_ID/tasks/TASK               one, with its attempts
 *   GET   /api/v1/runs/RUN_ID/tasks/TASK/logs?try=N    text/plain
 *   POST  /api/v1/runs/RUN_ID/tasks/TASK/clear         {"downstream": bool}
 *
 * Errors are {"error": {"code": HTTP status, "type": ..., "message": ...}}.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "net/http.h"
#include "pipeline/pipeline.h"

#define API_MAX_BODY (1u << 20)

struct pipe_api {
    pipe_sched *sched;
    const floe_config *cfg;
    void (*metrics_extra)(void *arg, buf_t *out);
    void *metrics_arg;
    char standby[600]; /* non-empty: no scheduler here, say why */
    http_collect collect;
    http_route routes[3];
};

/* ---------------------------------------------------------------- replies */

static void reply_json(http_req_t *req, int status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    http_respond_owned(req, status, "application/json", text, strlen(text));
}

static void reply_error(http_req_t *req, int status, const char *type, const char *msg) {
    reply_json(req, status, json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "type", type, "message", msg));
}

static void reply_err(http_req_t *req, const floe_err *err) {
    int status = 500;
    const char *type = "InternalError";
    switch (err->code) {
    case FLOE_EINVAL: status = 400, type = "BadRequest"; break;
    case FLOE_ENOENT: status = 404, type = "NotFound"; break;
    case FLOE_EEXIST:
    case FLOE_ECONFLICT: status = 409, type = "Conflict"; break;
    case FLOE_EAUTH: status = 401, type = "Unauthorized"; break;
    case FLOE_EPRECOND: status = 412, type = "PreconditionFailed"; break;
    default: break;
    }
    reply_error(req, status, type, err->msg[0] ? err->msg : "failed");
}

static void reply_result(http_req_t *req, int status, json_t *v, const floe_err *err) {
    if (v)
        reply_json(req, status, v);
    else
        reply_err(req, err);
}

/* ---------------------------------------------------------------- auth */

static bool auth_check(pipe_api *api, http_req_t *req) {
    if (api->cfg->auth_none) return true;
    const char *h = http_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) {
        reply_error(req, 401, "Unauthorized",
                    "this API needs a bearer token: POST /api/v1/oauth/tokens with grant_type=client_credentials, "
                    "client_id=<access key> and client_secret=<its secret>, then send Authorization: Bearer <token>");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    cat_token_claims cl;
    floe_err err = {0};
    if (!cat_token_verify(api->cfg->secret_key, tok, time_now_ms() / 1000, &cl, &err)) {
        reply_error(req, 401, "Unauthorized", err.msg);
        return false;
    }
    if (!cl.write && !http_req_is(req, "GET") && !http_req_is(req, "HEAD")) {
        char msg[400];
        snprintf(msg, sizeof msg, "access key '%s' is read-only; %s needs a read-write key", cl.principal, req->method);
        reply_error(req, 403, "Forbidden", msg);
        return false;
    }
    return true;
}

/* A field of an application/x-www-form-urlencoded body, or of a JSON one. */
static const char *form_field(http_req_t *req, const char *body, size_t len, const char *name) {
    if (len && body[0] == '{') {
        json_t *j = json_loadb(body, len, 0, NULL);
        const char *v = json_opt_str(j, name);
        const char *out = v ? arena_strdup(&req->arena, v) : NULL;
        json_decref(j);
        return out;
    }
    size_t nl = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl)) {
            buf_t b = {0};
            if (!str_uri_decode(eq + 1, (size_t)(amp - eq - 1), true, &b)) {
                buf_free(&b);
                return NULL;
            }
            buf_putc(&b, 0);
            const char *out = arena_strdup(&req->arena, b.data);
            buf_free(&b);
            return out;
        }
        p = amp + 1;
    }
    return NULL;
}

static void oauth_tokens(pipe_api *api, http_req_t *req, const char *body, size_t len) {
    const char *grant = form_field(req, body, len, "grant_type");
    const char *id = form_field(req, body, len, "client_id");
    const char *secret = form_field(req, body, len, "client_secret");
    if (!grant || strcmp(grant, "client_credentials")) {
        reply_json(req, 400,
                   json_pack("{s:s,s:s}", "error", grant ? "unsupported_grant_type" : "invalid_request",
                             "error_description",
                             "grant_type must be client_credentials (client_id = an access key, client_secret = "
                             "its secret)"));
        return;
    }
    bool write = false;
    if (!id || !secret || !cat_client_check(api->cfg, id, secret, &write)) {
        reply_json(req, 401,
                   json_pack("{s:s,s:s}", "error", "invalid_client", "error_description",
                             "client_id is not an access key of this server, or client_secret is not its secret"));
        return;
    }
    char tok[CAT_TOKEN_MAX];
    floe_err err = {0};
    if (!cat_token_issue(api->cfg->secret_key, id, write, time_now_ms() / 1000 + CAT_TOKEN_TTL_S, tok, sizeof tok,
                         &err)) {
        reply_err(req, &err);
        return;
    }
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:i}", "access_token", tok, "token_type", "bearer", "expires_in", CAT_TOKEN_TTL_S));
}

/* ---------------------------------------------------------------- helpers */

/* Splits req->path after "/api/v1/" into at most 6 segments. */
static size_t split_path(http_req_t *req, char **seg, size_t max) {
    char *p = arena_strdup(&req->arena, req->path + strlen("/api/v1/"));
    size_t n = 0;
    while (*p && n < max) {
        char *slash = strchr(p, '/');
        if (slash) *slash = 0;
        if (*p) seg[n++] = p;
        if (!slash) break;
        p = slash + 1;
    }
    return n;
}

static json_t *parse_body(http_req_t *req, const char *body, size_t len, floe_err *err) {
    if (len == 0) return json_object();
    json_t *j = json_parse(body, len, "request body", err);
    if (j && !json_is_object(j)) {
        json_decref(j);
        floe_err_set(err, FLOE_EINVAL, "request body must be a JSON object");
        return NULL;
    }
    (void)req;
    return j;
}

/* A date ("2024-01-03") as an inclusive end: the end of that day. */
static bool parse_time_field(json_t *o, const char *key, bool end_of_day, int64_t *ms, floe_err *err) {
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *ms = json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s || !pipe_time_parse(s, ms))
        return floe_err_set(err, FLOE_EINVAL,
                            "'%s' must be a date (2024-01-31), a time (2024-01-31T10:00:00Z) or epoch ms", key);
    if (end_of_day && strlen(s) == 10) *ms += 86400000;
    return true;
}

static void trigger(pipe_api *api, http_req_t *req, const char *name, json_t *b) {
    floe_err err = {0};
    json_t *conf = json_object_get(b, "conf");
    if (conf && !json_is_object(conf) && !json_is_null(conf)) {
        reply_error(req, 400, "BadRequest", "'conf' must be a JSON object of params");
        return;
    }
    int64_t logical = -1;
    if (json_object_get(b, "logical_date") && !parse_time_field(b, "logical_date", false, &logical, &err)) {
        reply_err(req, &err);
        return;
    }
    char run_id[256];
    if (!pipe_trigger(api->sched, name, json_is_object(conf) ? conf : NULL, logical, run_id, sizeof run_id, &err)) {
        reply_err(req, &err);
        return;
    }
    json_t *run = pipe_run_json(api->sched, run_id, &err);
    reply_result(req, 201, run, &err);
}

static void backfill(pipe_api *api, http_req_t *req, const char *name, json_t *b) {
    floe_err err = {0};
    int64_t from, to;
    if (!parse_time_field(b, "from", false, &from, &err) || !parse_time_field(b, "to", true, &to, &err)) {
        reply_err(req, &err);
        return;
    }
    pipe_reprocess rp = PIPE_REPROCESS_NONE;
    const char *r = json_opt_str(b, "reprocess");
    if (r && !strcmp(r, "failed"))
        rp = PIPE_REPROCESS_FAILED;
    else if (r && !strcmp(r, "completed"))
        rp = PIPE_REPROCESS_COMPLETED;
    else if (r && strcmp(r, "none")) {
        reply_error(req, 400, "BadRequest", "'reprocess' must be none, failed or completed");
        return;
    }
    json_t *mar = json_object_get(b, "max_active_runs");
    if (mar && (!json_is_integer(mar) || json_integer_value(mar) < 1 || json_integer_value(mar) > 1000)) {
        reply_error(req, 400, "BadRequest", "'max_active_runs' must be an integer 1..1000");
        return;
    }
    char id[128];
    if (!pipe_backfill(api->sched, name, from, to, rp, mar ? (int)json_integer_value(mar) : 0, id, sizeof id, &err)) {
        reply_err(req, &err);
        return;
    }
    json_t *bf = pipe_backfill_json(api->sched, id, &err);
    reply_result(req, 201, bf, &err);
}

static json_t *find_task(json_t *tasks, const char *task) {
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        if (str_eq(json_opt_str(t, "task_id"), task)) return t;
    }
    return NULL;
}

static void metrics(pipe_api *api, http_req_t *req) {
    pipe_sched_stats st;
    pipe_sched_stats_get(api->sched, &st);
    buf_t b = {0};
    buf_printf(&b,
               "# TYPE floe_pipeline_runs_created_total counter\nfloe_pipeline_runs_created_total %llu\n"
               "# TYPE floe_pipeline_tasks_started_total counter\nfloe_pipeline_tasks_started_total %llu\n"
               "# TYPE floe_pipeline_tasks_succeeded_total counter\nfloe_pipeline_tasks_succeeded_total %llu\n"
               "# TYPE floe_pipeline_tasks_failed_total counter\nfloe_pipeline_tasks_failed_total %llu\n"
               "# TYPE floe_pipeline_tasks_retried_total counter\nfloe_pipeline_tasks_retried_total %llu\n"
               "# TYPE floe_pipeline_zombies_total counter\nfloe_pipeline_zombies_total %llu\n"
               "# TYPE floe_pipeline_sensor_pokes_total counter\nfloe_pipeline_sensor_pokes_total %llu\n"
               "# TYPE floe_pipeline_scheduler_wakeups_total counter\nfloe_pipeline_scheduler_wakeups_total %llu\n"
               "# TYPE floe_pipelines gauge\nfloe_pipelines %d\n"
               "# TYPE floe_pipeline_spec_errors gauge\nfloe_pipeline_spec_errors %d\n",
               (unsigned long long)st.runs_created, (unsigned long long)st.tasks_started,
               (unsigned long long)st.tasks_succeeded, (unsigned long long)st.tasks_failed,
               (unsigned long long)st.tasks_retried, (unsigned long long)st.zombies, (unsigned long long)st.pokes,
               (unsigned long long)st.loop_wakeups, st.pipelines, st.specs_with_errors);
    if (api->metrics_extra) api->metrics_extra(api->metrics_arg, &b);
    size_t n = b.len;
    http_respond_owned(req, 200, "text/plain; version=0.0.4", buf_steal(&b), n);
}

/* ---------------------------------------------------------------- dispatch */

static void method_not_allowed(http_req_t *req, const char *allowed) {
    http_resp_header(req, "Allow", allowed);
    char msg[200];
    snprintf(msg, sizeof msg, "%s is not allowed here; use %s", req->method, allowed);
    reply_error(req, 405, "MethodNotAllowed", msg);
}

static void api_run(http_req_t *req, const char *body, size_t len, void *arg) {
    pipe_api *api = arg;
    if (!strcmp(req->path, "/metrics")) {
        if (!auth_check(api, req)) return;
        if (api->sched) {
            metrics(api, req);
        } else {
            buf_t b = {0};
            buf_puts(&b, "# no pipeline scheduler in this process\n");
            if (api->metrics_extra) api->metrics_extra(api->metrics_arg, &b);
            size_t n = b.len;
            http_respond_owned(req, 200, "text/plain; version=0.0.4", buf_steal(&b), n);
        }
        return;
    }
    if (!strcmp(req->path, "/api/v1/oauth/tokens")) {
        if (!http_req_is(req, "POST")) return method_not_allowed(req, "POST");
        oauth_tokens(api, req, body, len);
        return;
    }
    if (!auth_check(api, req)) return;
    if (!api->sched) {
        reply_error(req, 503, "ServiceUnavailable", api->standby[0] ? api->standby : "no pipeline scheduler here");
        return;
    }
    char *s[8];
    size_t n = split_path(req, s, 8);
    bool get = http_req_is(req, "GET"), post = http_req_is(req, "POST");
    floe_err err = {0};
    json_t *b = NULL;
    if (!get) {
        b = parse_body(req, body, len, &err);
        if (!b) return reply_err(req, &err);
    }
    if (n >= 1 && !strcmp(s[0], "pipelines")) {
        if (n == 1) {
            if (!get) goto not_allowed_get;
            reply_result(req, 200, pipe_list_json(api->sched, &err), &err);
        } else if (n == 2) {
            if (get) {
                reply_result(req, 200, pipe_get_json(api->sched, s[1], &err), &err);
            } else if (http_req_is(req, "PATCH")) {
                json_t *p = json_object_get(b, "paused");
                if (!json_is_boolean(p)) {
                    reply_error(req, 400, "BadRequest", "PATCH takes {\"paused\": true|false}");
                } else if (pipe_set_paused(api->sched, s[1], json_is_true(p), &err)) {
                    reply_result(req, 200, pipe_get_json(api->sched, s[1], &err), &err);
                } else {
                    reply_err(req, &err);
                }
            } else {
                method_not_allowed(req, "GET, PATCH");
            }
        } else if (n == 3 && (!strcmp(s[2], "pause") || !strcmp(s[2], "unpause"))) {
            if (!post) goto not_allowed_post;
            if (pipe_set_paused(api->sched, s[1], !strcmp(s[2], "pause"), &err))
                reply_result(req, 200, pipe_get_json(api->sched, s[1], &err), &err);
            else
                reply_err(req, &err);
        } else if (n == 3 && !strcmp(s[2], "runs")) {
            if (get) {
                const char *l = http_req_param(req, "limit");
                int64_t limit = 100;
                if (l && !str_to_i64_range(l, 1, 100000, &limit)) {
                    reply_error(req, 400, "BadRequest", "limit must be an integer 1..100000");
                } else {
                    reply_result(req, 200, pipe_runs_json(api->sched, s[1], (int)limit, &err), &err);
                }
            } else if (post) {
                trigger(api, req, s[1], b);
            } else {
                method_not_allowed(req, "GET, POST");
            }
        } else if (n == 3 && !strcmp(s[2], "backfills")) {
            if (!post) goto not_allowed_post;
            backfill(api, req, s[1], b);
        } else {
            goto not_found;
        }
    } else if (n == 2 && !strcmp(s[0], "backfills")) {
        if (!get) goto not_allowed_get;
        reply_result(req, 200, pipe_backfill_json(api->sched, s[1], &err), &err);
    } else if (n >= 2 && !strcmp(s[0], "runs")) {
        if (n == 2) {
            if (!get) goto not_allowed_get;
            reply_result(req, 200, pipe_run_json(api->sched, s[1], &err), &err);
        } else if (n == 3 && !strcmp(s[2], "tasks")) {
            if (!get) goto not_allowed_get;
            reply_result(req, 200, pipe_tasks_json(api->sched, s[1], &err), &err);
        } else if (n == 4 && !strcmp(s[2], "tasks")) {
            if (!get) goto not_allowed_get;
            json_t *tasks = pipe_tasks_json(api->sched, s[1], &err);
            if (!tasks) {
                reply_err(req, &err);
            } else {
                json_t *t = find_task(tasks, s[3]);
                if (t) {
                    json_incref(t);
                    reply_json(req, 200, t);
                } else {
                    char msg[400];
                    snprintf(msg, sizeof msg, "run '%s' has no task '%s'", s[1], s[3]);
                    reply_error(req, 404, "NotFound", msg);
                }
                json_decref(tasks);
            }
        } else if (n == 5 && !strcmp(s[2], "tasks") && !strcmp(s[4], "logs")) {
            if (!get) goto not_allowed_get;
            const char *t = http_req_param(req, "try");
            int64_t try_no = 0;
            if (t && !str_to_i64_range(t, 0, 1000000, &try_no)) {
                reply_error(req, 400, "BadRequest", "try must be a try number (1, 2, ...) or 0 for the latest");
            } else {
                buf_t out = {0};
                if (pipe_log_read(api->sched, s[1], s[3], (int)try_no, &out, &err)) {
                    size_t ol = out.len;
                    http_respond_owned(req, 200, "text/plain; charset=utf-8", ol ? buf_steal(&out) : strdup(""), ol);
                } else {
                    buf_free(&out);
                    reply_err(req, &err);
                }
            }
        } else if (n == 5 && !strcmp(s[2], "tasks") && !strcmp(s[4], "clear")) {
            if (!post) goto not_allowed_post;
            json_t *d = json_object_get(b, "downstream");
            if (pipe_clear(api->sched, s[1], s[3], json_is_true(d), &err))
                reply_result(req, 200, pipe_tasks_json(api->sched, s[1], &err), &err);
            else
                reply_err(req, &err);
        } else {
            goto not_found;
        }
    } else {
        goto not_found;
    }
    json_decref(b);
    return;
not_allowed_get:
    json_decref(b);
    return method_not_allowed(req, "GET");
not_allowed_post:
    json_decref(b);
    return method_not_allowed(req, "POST");
not_found:
    json_decref(b);
    char msg[300];
    snprintf(msg, sizeof msg, "no such endpoint: %s %s (see docs/pipelines-api.md)", req->method, req->path);
    reply_error(req, 404, "NotFound", msg);
}

static void api_too_big(http_req_t *req, void *arg) {
    (void)arg;
    reply_error(req, 413, "TooLarge", "request body larger than 1 MiB");
}

pipe_api *pipe_api_new(pipe_sched *s, const floe_config *cfg, void (*metrics_extra)(void *arg, buf_t *out),
                       void *metrics_arg) {
    pipe_api *api = calloc(1, sizeof *api);
    if (!api) return NULL;
    api->sched = s;
    api->cfg = cfg;
    api->metrics_extra = metrics_extra;
    api->metrics_arg = metrics_arg;
    api->collect = (http_collect){.max = API_MAX_BODY, .run = api_run, .too_big = api_too_big, .arg = api};
    http_handler h = http_collect_handler(&api->collect);
    api->routes[0] = (http_route){.prefix = "/api/v1/", .handler = h};
    api->routes[1] = (http_route){.prefix = "/metrics", .exact = true, .handler = h};
    api->routes[2] = (http_route){.prefix = "/health", .exact = true, .handler = http_health_handler};
    return api;
}

const http_route *pipe_api_routes(pipe_api *api, size_t *n) {
    *n = sizeof api->routes / sizeof api->routes[0];
    return api->routes;
}

void pipe_api_standby(pipe_api *api, const char *reason) {
    snprintf(api->standby, sizeof api->standby, "%s", reason ? reason : "");
}

void pipe_api_free(pipe_api *api) { free(api); }
