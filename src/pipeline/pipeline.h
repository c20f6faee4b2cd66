/*
 * pipeline.h: Floe's pipelines, the part of Floe that replaces Airflow.
 *
 *   schedule.c  cron expressions, @hourly-style presets and intervals; the
 *               data-interval timetable (a run covers [start, end) and
 *               starts once the interval has ended)
 *   spec.c      pipeline specs: YAML files under the pipelines directory,
 *               checked key by key; errors name the file, line and key
 *   template.c  {{ ds }}-style templates in task arguments
 *   tasks.c     the task types' registry; task_*.c the types themselves
 *   db.c        pipelines.db: pipelines, runs, task instances, attempts,
 *               backfills (SQLite, WAL)
 *   sched.c     the event-driven scheduler and its executor pool
 *   api.c       the JSON API under /api/v1 on the console port
 *
 * Times are ms since the epoch, UTC; schedules are evaluated in UTC.
 * docs/pipelines.md describes specs, states and the API for users.
 */
#ifndef FLOE_PIPELINE_H
#define FLOE_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* ================================================================ schedules
 * (schedule.c) */

/* Parses a date or time: "2026-11-22", "2026-11-22T10:00", "...:00Z",
 * "...+02:00", or epoch ms. Dates without a zone are UTC. */
bool pipe_time_parse(const char *text, int64_t *ms);

typedef enum {
    PIPE_SCHED_NONE,     /* "none" or absent: runs only when triggered */
    PIPE_SCHED_CRON,     /* five fields, or a preset: @hourly, @daily, ... */
    PIPE_SCHED_INTERVAL, /* "every 5m" (or a bare duration "5m"): fixed length, anchored at start_date */
} pipe_sched_kind;

typedef struct pipe_schedule {
    pipe_sched_kind kind;
    /* cron: bit i set when value i matches */
    uint64_t minute;  /* 0-59 */
    uint32_t hour;    /* 0-23 */
    uint32_t mday;    /* 1-31 */
    uint16_t month;   /* 1-12 */
    uint8_t wday;     /* 0-6, Sunday 0 (7 is read as 0) */
    bool mday_star;   /* day-of-month was "*" (cron's OR rule for mday/wday) */
    bool wday_star;   /* day-of-week was "*" */
    int64_t every_ms; /* interval */
    char text[128];   /* as written */
} pipe_schedule;

/* Parses `schedule:`: a 5-field cron expression (lists, ranges, steps,
 * names JAN-DEC and SUN-SAT), @yearly @annually @monthly @weekly @daily
 * @midnight @hourly, "every DURATION" or a bare DURATION, or "none".
 * The error says which field is wrong and the form it expects. */
bool pipe_schedule_parse(const char *text, pipe_schedule *out, floe_err *err);

/* The first fire time strictly after after_ms; anchor_ms (start_date) is
 * the origin of an interval schedule. INT64_MAX for none. */
int64_t pipe_schedule_next(const pipe_schedule *s, int64_t anchor_ms, int64_t after_ms);
/* The last fire time at or before at_ms; INT64_MIN when none. */
int64_t pipe_schedule_prev(const pipe_schedule *s, int64_t anchor_ms, int64_t at_ms);

/* The data interval a scheduled run covers. Given the end of the last
 * interval scheduled (INT64_MIN: none yet), start_date, catchup and now,
 * gives the next interval that has ended and should run: with catchup,
 * the one after last_end (or the first at or after start_date); without,
 * only the latest that has ended (skipping the ones missed). Returns
 * false when none is due yet; *next_check_ms is then when one will be
 * (INT64_MAX: never, e.g. past end_date). */
bool pipe_next_interval(const pipe_schedule *s, int64_t start_ms, int64_t end_ms, bool catchup, int64_t last_end_ms,
                        int64_t now_ms, int64_t *iv_start, int64_t *iv_end, int64_t *next_check_ms);

/* ================================================================ specs
 * (spec.c) */

typedef enum {
    PIPE_TRIGGER_ALL_SUCCESS, /* default */
    PIPE_TRIGGER_ALL_DONE,
    PIPE_TRIGGER_ALL_FAILED,
    PIPE_TRIGGER_ONE_SUCCESS,
    PIPE_TRIGGER_ONE_FAILED,
    PIPE_TRIGGER_NONE_FAILED,
    PIPE_TRIGGER_ALWAYS,
} pipe_trigger_rule;

const char *pipe_trigger_name(pipe_trigger_rule r);

/* Retry and timeout settings; a task's unset fields (-1) inherit the
 * pipeline's. */
typedef struct pipe_retry_policy {
    int retries;                  /* tries after the first; default 0 */
    int64_t retry_delay_ms;       /* default 300000 (5 m, as Airflow) */
    int retry_exponential;        /* bool; default false */
    int64_t max_retry_delay_ms;   /* cap on the backoff; default 24 h */
    int64_t execution_timeout_ms; /* 0: none (default) */
} pipe_retry_policy;

typedef struct pipe_task_spec {
    const char *id; /* [A-Za-z0-9_-], 1..100 */
    const char *type;
    const struct pipe_task_type *ttype; /* resolved at load */
    const char **upstream;              /* ids of tasks this one waits for */
    size_t nupstream;
    pipe_trigger_rule trigger_rule;
    pipe_retry_policy retry; /* merged with the pipeline's: no -1 left */
    json_t *args;            /* the type's own keys, templates not yet rendered (owned by the spec) */
    int line;                /* where the task is declared */
} pipe_task_spec;

typedef struct pipe_spec {
    arena_t arena;    /* holds everything below but args */
    const char *name; /* the file name without .yaml/.yml: [A-Za-z0-9_-] */
    const char *file; /* path as found */
    const char *description;
    pipe_schedule schedule;
    int64_t start_ms;     /* start_date; INT64_MIN when unset (required for a schedule) */
    int64_t end_ms;       /* end_date; INT64_MAX when unset */
    bool catchup;         /* default false */
    int max_active_runs;  /* default 16 */
    int max_active_tasks; /* per run and across runs of the pipeline; default 16 */
    bool paused;          /* initial state, default false; the API's pause overrides it */
    json_t *params;       /* defaults (object; owned) */
    pipe_retry_policy retry;
    pipe_task_spec *tasks; /* in declaration order; a DAG (cycles are load errors) */
    size_t ntasks;
    uint8_t hash[32]; /* sha256 of the file's bytes: a change means a reload */
} pipe_spec;

/* Loads one spec file. Every error names the file, the line and the key,
 * and says what was expected: unknown keys, wrong types, bad schedules and
 * durations, unknown task types or upstreams, cycles, a type's missing or
 * unknown keys. The task list is `tasks:`, a mapping of id to task. */
pipe_spec *pipe_spec_load_file(const char *path, floe_err *err);
/* The same from text; file is what errors call it, and gives the name. */
pipe_spec *pipe_spec_load_str(const char *text, size_t len, const char *file, floe_err *err);
void pipe_spec_free(pipe_spec *s);
/* The task by id, or NULL. */
const pipe_task_spec *pipe_spec_task(const pipe_spec *s, const char *id);

/* ================================================================ templates
 * (template.c) */

/* What a template may refer to while rendering one task of one run. */
typedef struct pipe_tmpl_ctx {
    const char *run_id;
    const char *pipeline;
    const char *task_id;
    int try_number;
    int64_t interval_start_ms, interval_end_ms; /* data interval */
    int64_t logical_ms;                         /* the run's logical date: interval start */
    json_t *params;                             /* spec defaults merged with the run's conf (object) */
    /* An upstream task's output object (borrowed), or NULL when task_id has
     * none: {{ tasks.ID.output.KEY }}. */
    json_t *(*task_output)(void *arg, const char *task_id);
    void *task_output_arg;
} pipe_tmpl_ctx;

/* Renders one string: each {{ expr }} is replaced. expr is one of
 *   ds (YYYY-MM-DD)  ds_nodash  ts (ISO 8601 with Z)  ts_nodash
 *   data_interval_start  data_interval_end (ISO 8601)
 *   data_interval_start_ms  data_interval_end_ms (epoch ms)
 *   hr (HH)  min (MM) (of the interval start)  run_id  pipeline  task_id
 *   try_number  params.KEY[.KEY...]  tasks.ID.output.KEY[.KEY...]
 * with whitespace inside the braces allowed. Strings insert as they are,
 * other JSON values as compact JSON. An unknown name or a missing key is
 * an error that names the expression. "{{{{" escapes "{{". */
bool pipe_render(const char *tmpl, const pipe_tmpl_ctx *ctx, buf_t *out, floe_err *err);
/* Renders every string inside v (objects, arrays, nested); returns a new
 * value. A string that is exactly one "{{ expr }}" whose value is not a
 * string takes that value's JSON type ("{{ params.limit }}" → 100). */
json_t *pipe_render_json(json_t *v, const pipe_tmpl_ctx *ctx, floe_err *err);
/* The names a template refers to under tasks.: calls fn with each task id
 * used (so the spec loader can check they are upstream). False when a
 * "{{" is never closed. */
bool pipe_template_task_refs(const char *tmpl, void (*fn)(const char *task_id, size_t n, void *arg), void *arg);
/* Checks a template without a context: every "{{" closed, every
 * expression one of the names above (params.KEY and tasks.ID.output.KEY
 * by form only). The error names the expression and lists the names. */
bool pipe_template_check(const char *tmpl, floe_err *err);

/* ================================================================ task types
 * (tasks.c registry; task_basic.c log/shell, task_queue.c crawl/wait_job,
 * task_table.c write_table/publish_signal/load_raw/maintenance) */

typedef enum {
    PIPE_FIELD_STRING, /* may hold templates */
    PIPE_FIELD_INT,    /* an integer, or a string template rendering to one */
    PIPE_FIELD_BOOL,
    PIPE_FIELD_DURATION, /* "30s" etc., or an integer of seconds */
    PIPE_FIELD_OBJECT,
    PIPE_FIELD_ARRAY,
    PIPE_FIELD_ANY,
} pipe_field_kind;

/* One key a task type takes. The spec loader rejects keys a type does not
 * declare, a missing required key, and a value of the wrong kind (a string
 * holding "{{" passes for any kind: it is checked after rendering). */
typedef struct pipe_field {
    const char *name;
    pipe_field_kind kind;
    bool required;
    const char *help; /* the expected form, for errors */
} pipe_field;

/* The services a task may use, all borrowed and shared by every task. */
struct cat;
struct fileio;
struct queue;
typedef struct pipe_env {
    const char *data_dir;
    struct cat *cat;         /* the catalog (tables are on branch main unless a task says `ref:`) */
    struct fileio *io;       /* the warehouse: s3://warehouse/... */
    struct queue *queue;     /* the job queue that crawl and wait_job use */
    const char *crawl_queue; /* queue name for crawl jobs (default "crawl") */
    const char *warehouse;   /* "s3://warehouse" */
} pipe_env;

typedef enum {
    PIPE_TASK_SUCCESS,
    PIPE_TASK_FAILED,     /* retried while tries remain */
    PIPE_TASK_FAILED_NOW, /* failed, no retry (bad arguments) */
    PIPE_TASK_SKIPPED,
    PIPE_TASK_RESCHEDULE, /* a sensor: poke again at ctx->reschedule_at_ms, no executor slot held meanwhile */
} pipe_task_result;

typedef struct pipe_task_ctx {
    const pipe_env *env;
    const char *pipeline, *run_id, *task_id;
    int try_number; /* 1 for the first try */
    int poke;       /* sensors: 0 for the first poke of this try */
    int64_t interval_start_ms, interval_end_ms, logical_ms;
    int64_t started_ms;   /* when this try started (the first poke of a sensor) */
    int64_t deadline_ms;  /* execution_timeout: give up by then; 0 none */
    json_t *args;         /* rendered task arguments (borrowed) */
    json_t *params;       /* the run's params (borrowed) */
    json_t *output;       /* an object the task fills; saved with the attempt and seen by downstream templates */
    arena_t *arena;       /* freed when the try ends */
    volatile int *cancel; /* non-zero: stop soon (timeout, shutdown, clear); check it in loops */
    int64_t reschedule_at_ms;
    /* the attempt's log; pipe_log appends a timestamped line */
    void (*log_fn)(void *arg, const char *line);
    void *log_arg;
} pipe_task_ctx;

void pipe_log(pipe_task_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct pipe_task_type {
    const char *name;
    const pipe_field *fields;
    size_t nfields;
    bool sensor; /* may return PIPE_TASK_RESCHEDULE */
    /* Optional extra checks at load (args not yet rendered). */
    bool (*validate)(json_t *args, floe_err *err);
    /* Runs one try (or one poke). On failure, err says why (it goes to the
     * log and the attempt). */
    pipe_task_result (*run)(pipe_task_ctx *ctx, floe_err *err);
} pipe_task_type;

/* The type named name, or NULL. */
const pipe_task_type *pipe_task_type_find(const char *name);
/* Every registered type, for errors that list them. */
const pipe_task_type *const *pipe_task_types(size_t *n);
/* Tests add types of their own (a no-op, a type that blocks). */
void pipe_task_type_register(const pipe_task_type *t);

/* ================================================================ scheduler
 * (db.c, sched.c) */

typedef enum {
    PIPE_TI_NONE,
    PIPE_TI_SCHEDULED, /* ready, or a sensor waiting for its next poke */
    PIPE_TI_QUEUED,    /* handed to the executor pool */
    PIPE_TI_RUNNING,
    PIPE_TI_SUCCESS,
    PIPE_TI_FAILED,
    PIPE_TI_UP_FOR_RETRY,
    PIPE_TI_UPSTREAM_FAILED,
    PIPE_TI_SKIPPED,
} pipe_ti_state;

typedef enum { PIPE_RUN_QUEUED, PIPE_RUN_RUNNING, PIPE_RUN_SUCCESS, PIPE_RUN_FAILED } pipe_run_state;

const char *pipe_ti_state_name(pipe_ti_state s);
const char *pipe_run_state_name(pipe_run_state s);

typedef enum { PIPE_REPROCESS_NONE, PIPE_REPROCESS_FAILED, PIPE_REPROCESS_COMPLETED } pipe_reprocess;

typedef struct pipe_sched pipe_sched;

typedef struct pipe_sched_opts {
    const char *pipelines_dir; /* the *.yaml / *.yml files directly in it (not subdirectories) */
    const char *db_path;       /* pipelines.db */
    const char *log_dir;       /* attempt logs: LOG_DIR/PIPELINE/RUN_ID/TASK/TRY.log */
    const pipe_env *env;
    int executors;        /* executor threads; 0: 16 */
    bool no_fsync;        /* tests and benchmarks only */
    int64_t heartbeat_ms; /* executor heartbeat period; 0: 5000 */
    int64_t zombie_ms;    /* a running task whose heartbeat is older is a zombie; 0: 6 * heartbeat_ms */
    bool no_watch;        /* do not watch pipelines_dir (reload with pipe_reload) */
} pipe_sched_opts;

/* Opens pipelines.db (only one scheduler may have it open: a second one is
 * FLOE_EEXIST naming the pid holding it), loads the specs (a bad spec is
 * logged and skipped, its error kept for the API), recovers task instances
 * that were queued or running when the last scheduler died (zombies: the
 * attempt is marked failed "executor died" and retried while tries remain),
 * and starts the scheduler and executor threads. */
pipe_sched *pipe_sched_start(const pipe_sched_opts *o, floe_err *err);
void pipe_sched_stop(pipe_sched *s);
/* Rescans the pipelines directory now. */
void pipe_reload(pipe_sched *s);

/* ---- operations (thread-safe; the API and tests call them) ---- */

/* A manual run. conf (may be NULL) overrides params; logical_ms -1: now
 * (the interval is [now, now)). */
bool pipe_trigger(pipe_sched *s, const char *pipeline, json_t *conf, int64_t logical_ms, char *run_id_out, size_t cap,
                  floe_err *err);
/* Clears a task instance: its try number goes up at its next run, its
 * history stays, and its downstream tasks are cleared too when downstream
 * is set. The run goes back to running. FLOE_ENOENT. */
bool pipe_clear(pipe_sched *s, const char *run_id, const char *task_id, bool downstream, floe_err *err);
bool pipe_set_paused(pipe_sched *s, const char *pipeline, bool paused, floe_err *err);
/* Runs every scheduled interval that starts in [from_ms, to_ms) (a date's
 * to is inclusive of that day in the CLI). reprocess says what to do with
 * intervals that already have a run: none (skip them), failed (rerun the
 * failed ones), completed (rerun all). At most max_active_runs of its runs
 * at a time (0: 1). */
bool pipe_backfill(pipe_sched *s, const char *pipeline, int64_t from_ms, int64_t to_ms, pipe_reprocess reprocess,
                   int max_active_runs, char *id_out, size_t cap, floe_err *err);

/* ---- reads, as JSON for the API (new references) ----
 *
 * pipeline: {"name","file","description","schedule","paused","error",
 *            "next_run_at","active_runs","last_run":{run}|null,"tasks":[ids]}
 * run:      {"run_id","pipeline","type":"scheduled|manual|backfill",
 *            "state","conf","data_interval_start","data_interval_end",
 *            "logical_date","created_at","started_at","ended_at","backfill_id"}
 * task:     {"run_id","task_id","type","state","try_number","max_tries",
 *            "started_at","ended_at","duration_ms","output","error",
 *            "next_try_at","attempts":[{"try_number","state","started_at",
 *            "ended_at","error","output"}]}
 * backfill: {"id","pipeline","from","to","reprocess","state","runs":N,
 *            "done":N}
 * Times are ISO 8601 strings (null when unset). */
json_t *pipe_list_json(pipe_sched *s, floe_err *err);
json_t *pipe_get_json(pipe_sched *s, const char *pipeline, floe_err *err);
json_t *pipe_runs_json(pipe_sched *s, const char *pipeline, int limit, floe_err *err);
json_t *pipe_run_json(pipe_sched *s, const char *run_id, floe_err *err);
json_t *pipe_tasks_json(pipe_sched *s, const char *run_id, floe_err *err);
json_t *pipe_backfill_json(pipe_sched *s, const char *id, floe_err *err);
/* The log of one try (try_number 0: the latest). FLOE_ENOENT. */
bool pipe_log_read(pipe_sched *s, const char *run_id, const char *task_id, int try_number, buf_t *out, floe_err *err);

/* Counters for /metrics and the benchmark. */
typedef struct pipe_sched_stats {
    uint64_t runs_created, tasks_started, tasks_succeeded, tasks_failed, tasks_retried, zombies, pokes;
    uint64_t loop_wakeups;
    int pipelines, specs_with_errors;
} pipe_sched_stats;
void pipe_sched_stats_get(pipe_sched *s, pipe_sched_stats *out);

/* ================================================================ console
 * API (api.c) */

struct http_route;
struct floe_config;
typedef struct pipe_api pipe_api;
/* The console port's routes: /api/v1/... (JSON; docs/pipelines-api.md) and
 * /metrics (Prometheus text), with the same bearer auth as the catalog
 * (tokens from POST /api/v1/oauth/tokens, or the catalog's: they are the
 * same). metrics_extra, when set, appends more Prometheus text (the
 * embedded crawler's). The scheduler and cfg must outlive the api. */
pipe_api *pipe_api_new(pipe_sched *s, const struct floe_config *cfg, void (*metrics_extra)(void *arg, buf_t *out),
                       void *metrics_arg);
const struct http_route *pipe_api_routes(pipe_api *api, size_t *n);
/* A server whose data dir's scheduler runs in another process (s NULL in
 * pipe_api_new): every /api/v1 call but the token endpoint answers 503
 * with reason. */
void pipe_api_standby(pipe_api *api, const char *reason);
void pipe_api_free(pipe_api *api);

#endif
