/*
 * sched_int.h: the scheduler's insides, shared by db.c (pipelines.db),
 * sched.c (the event loop and the state machine of runs and task
 * instances), sched_exec.c (the executor pool), sched_specs.c (loading and
 * watching the pipelines directory) and sched_read.c (the JSON reads).
 *
 * One mutex (pipe_sched.mu) guards everything in memory. The scheduler
 * thread is the only writer of pipelines.db: API calls post an operation
 * and wait for the loop to commit it; executor threads post what they
 * started and finished. docs/pipelines.md tells the whole story.
 */
#ifndef FLOE_PIPELINE_SCHED_INT_H
#define FLOE_PIPELINE_SCHED_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "pipeline/pipeline.h"

/* ---------------------------------------------------------------- maps */

/* A string-keyed hash map (open addressing, backward-shift deletion).
 * Keys are borrowed: they must live as long as their entry. */
typedef struct sched_map_ent {
    const char *key;
    void *val;
} sched_map_ent;

typedef struct sched_map {
    sched_map_ent *ents;
    size_t cap, n; /* cap a power of two, or 0 */
} sched_map;

void *sched_map_get(const sched_map *m, const char *key);
void sched_map_put(sched_map *m, const char *key, void *val);
void sched_map_del(sched_map *m, const char *key);
void sched_map_free(sched_map *m);

/* ---------------------------------------------------------------- timers */

typedef enum {
    TM_PIPE,      /* a pipeline's next schedule check */
    TM_TI,        /* a retry or a sensor's next poke is due */
    TM_TIMEOUT,   /* a running try's execution_timeout */
    TM_HEARTBEAT, /* refresh the heartbeat of running task instances */
    TM_DBRETRY,   /* a commit failed: try again */
} sched_timer_kind;

typedef struct sched_timer {
    int64_t at;
    int idx; /* in the heap; -1 when not armed */
    uint8_t kind;
    void *owner;
} sched_timer;

/* A min-heap of armed timers, by time. */
typedef struct sched_heap {
    sched_timer **v;
    size_t n, cap;
} sched_heap;

void sched_heap_arm(sched_heap *h, sched_timer *t, int64_t at); /* arms or moves */
void sched_heap_disarm(sched_heap *h, sched_timer *t);
sched_timer *sched_heap_top(const sched_heap *h);

/* ---------------------------------------------------------------- specs */

/* One loaded version of a spec, shared by its pipeline and the runs that
 * started with it. The DAG as indices: task i's upstream tasks are
 * up[up_off[i] .. up_off[i+1]), its downstream ones likewise. */
typedef struct sched_spec {
    pipe_spec *spec;
    int refs; /* under pipe_sched.mu */
    int *up, *up_off;
    int *down, *down_off;
} sched_spec;

sched_spec *sched_spec_new(pipe_spec *spec);
void sched_spec_unref(sched_spec *ss);

/* ---------------------------------------------------------------- state */

typedef struct sched_run sched_run;
typedef struct sched_backfill sched_backfill;

typedef enum { RUN_SCHEDULED, RUN_MANUAL, RUN_BACKFILL } sched_run_type;
const char *sched_run_type_name(sched_run_type t);
bool sched_run_type_parse(const char *s, sched_run_type *out);
bool sched_ti_state_parse(const char *s, pipe_ti_state *out);
bool sched_run_state_parse(const char *s, pipe_run_state *out);

typedef enum { CANCEL_NONE, CANCEL_TIMEOUT, CANCEL_CLEAR, CANCEL_STOP } sched_cancel_reason;

/* A task instance: one task of one run. */
typedef struct sched_ti {
    sched_run *run;
    int idx; /* the task's index in run->spec */
    pipe_ti_state state;
    int try_number; /* of the latest try started; 0 before the first */
    int max_tries;  /* the highest try number that may start */
    int64_t started_ms, ended_ms, next_try_ms;
    json_t *output; /* of the successful try (owned) */
    char *error;    /* of the latest failed try (malloc'd) */

    /* The try in progress (for a sensor, from its first poke to its end),
     * and the last one until it is written. */
    bool att_open, att_dirty;
    pipe_ti_state att_state;
    int att_try, att_pokes;
    int64_t att_started_ms, att_ended_ms;
    char *att_error;
    json_t *att_output;
    int64_t poke_started_ms; /* this poke (or try) began */

    sched_timer due;     /* TM_TI: next_try_ms */
    sched_timer timeout; /* TM_TIMEOUT */
    bool in_ready;       /* in its pipeline's ready queue */
    bool in_exec;        /* queued for or running on an executor */
    volatile int cancel; /* the task's ctx->cancel */
    sched_cancel_reason cancel_reason;
    bool dirty;
    struct sched_ti *dirty_next, *flush_next, *exec_next, *done_next;

    /* Set by the executor when the try returns. */
    pipe_task_result result;
    char *result_error;
    json_t *result_output;
    int64_t reschedule_at_ms;
} sched_ti;

struct sched_run {
    char *run_id; /* malloc'd; the maps' key */
    struct sched_pipe *pipe;
    sched_spec *spec; /* the version the run started with (a reference) */
    sched_run_type type;
    pipe_run_state state;
    json_t *conf;   /* NULL or an object */
    json_t *params; /* spec params merged with conf (immutable once made) */
    int64_t iv_start, iv_end, logical_ms, created_ms, started_ms, ended_ms;
    char *backfill_id; /* NULL, or the backfill it belongs to (malloc'd) */
    sched_backfill *bf;
    sched_ti *tis; /* NULL until the run is materialized (activated or cleared) */
    size_t nti;
    int unfinished; /* task instances not yet in a terminal state */
    bool fresh;     /* made in this process: no task instance rows to read */
    bool queued;    /* in a run queue */
    bool counted;   /* counted in its pipeline's or backfill's active runs */
    bool dirty, finished;
    sched_run *dirty_next, *flush_next, *fin_next;
};

/* A sorted queue of runs waiting for a slot (QUEUED), oldest logical date first. */
typedef struct run_queue {
    sched_run **v; /* v[head .. head+n) */
    size_t head, n, cap;
} run_queue;

typedef struct sched_pipe {
    char *name;          /* the maps' key */
    char *file;          /* its spec file in the directory; NULL when none */
    sched_spec *cur;     /* the last spec that loaded; NULL when none did */
    char *error;         /* why the file as it is now did not load; NULL when it did */
    uint8_t hash[32];    /* of the file as last read */
    int paused_db;       /* -1: the spec's default; 0/1: set through the API */
    int64_t last_end;    /* end of the last scheduled interval; INT64_MIN none */
    int64_t next_run_ms; /* when the next scheduled run is due (API); INT64_MAX never */
    sched_timer check;   /* TM_PIPE */
    bool runs_loaded;    /* its active runs were read from the db */
    int active_runs;     /* RUNNING scheduled and manual runs */
    int active_tasks;    /* task instances QUEUED or RUNNING, across runs */
    run_queue queue;     /* QUEUED scheduled and manual runs */
    sched_ti **ready;    /* SCHEDULED task instances waiting for a slot (FIFO ring) */
    size_t ready_head, ready_n, ready_cap;
    sched_backfill **bfs; /* its running backfills */
    size_t nbfs, capbfs;
    bool dirty;
    bool in_pump;
    struct sched_pipe *dirty_next, *flush_next, *pump_next;
} sched_pipe;

struct sched_backfill {
    char *id;
    char *pipeline;
    int64_t from_ms, to_ms, created_ms, ended_ms;
    pipe_reprocess reprocess;
    int max_active_runs;
    int active;     /* its runs that are RUNNING */
    int runs, done; /* runs it owns; those that finished */
    int failed;
    const char *state; /* "running", "success", "failed" (static strings) */
    run_queue queue;
    bool dirty;
    sched_backfill *dirty_next, *flush_next;
};

/* ---------------------------------------------------------------- operations */

typedef enum { OP_TRIGGER, OP_CLEAR, OP_PAUSE, OP_BACKFILL, OP_RELOAD } sched_op_kind;

/* One spec file as the scanner found it. */
typedef struct spec_found {
    char *name, *file;
    uint8_t hash[32];
    pipe_spec *spec; /* NULL: error holds why */
    char *error;
    bool removed; /* the file is gone */
    bool unchanged;
} spec_found;

typedef struct sched_op {
    sched_op_kind kind;
    const char *pipeline, *run_id, *task_id;
    json_t *conf;
    int64_t logical_ms, from_ms, to_ms;
    bool flag; /* pause: paused; clear: downstream */
    pipe_reprocess reprocess;
    int max_active_runs;
    spec_found *found; /* reload */
    size_t nfound;
    bool full_scan;
    /* results */
    bool done, ok;
    floe_err err;
    char id[256];
    struct sched_op *next;
} sched_op;

/* ---------------------------------------------------------------- the scheduler */

#define SCHED_READ_POOL 8

struct pipe_sched {
    pipe_sched_opts o;
    char *pipelines_dir, *db_path, *log_dir;
    char instance[96]; /* "host:pid:start" written with running tries */
    int lock_fd;

    pthread_mutex_t mu;
    pthread_cond_t sched_cv;  /* the loop waits here: events and timers */
    pthread_cond_t exec_cv;   /* executors wait for work */
    pthread_cond_t commit_cv; /* executors wait for their start to commit; ops for their result */
    bool stopping, quit, loop_exited, loop_started;
    bool recovered; /* zombies handled: pipelines may load their runs */

    sqlite3 *db; /* the writer: the loop's, or the caller's before it starts */
    sqlite3_stmt *stmts[32];
    bool in_tx, tx_durable, tx_failed;
    /* Each wake-up's writes are batch ++write_gen; commit_gen is the last
     * batch committed. A change marked now is committed once commit_gen
     * reaches write_gen + 1. */
    uint64_t write_gen, commit_gen;

    sched_map pipes; /* name -> sched_pipe */
    sched_map runs;  /* run_id -> sched_run, every run in memory */
    sched_map backfills;
    sched_heap heap;
    sched_timer heartbeat, dbretry;

    sched_pipe *dirty_pipes, *pump_list;
    sched_run *dirty_runs, *fin_runs;
    sched_ti *dirty_tis;
    sched_backfill *dirty_bfs;
    sched_ti *exec_head, *exec_tail;    /* QUEUED, waiting for an executor */
    sched_ti *dispatch, *dispatch_tail; /* QUEUED this iteration; to executors after commit */
    sched_ti *done;                     /* finished tries to process */
    sched_op *ops, *ops_tail;           /* waiting operations */
    sched_op *ops_done;                 /* processed, waiting for the commit */
    sched_ti **eval;                    /* task instances to evaluate (trigger rules) */
    size_t neval, capeval, eval_head;
    int running; /* tries on executors (for the heartbeat) */

    pthread_t loop_thread;
    pthread_t *exec_threads;
    int nexec, nexec_started;
    pthread_t watch_thread;
    bool watching;
    int watch_fd, watch_pipe[2];
    pthread_mutex_t reload_mu; /* one scan at a time */

    pthread_mutex_t read_mu; /* read connections */
    sqlite3 *read_pool[SCHED_READ_POOL];
    int nread;

    pipe_sched_stats stats;
};

/* ---------------------------------------------------------------- db.c */

bool pdb_open(pipe_sched *s, floe_err *err);
void pdb_close(pipe_sched *s);
/* A read connection (query_only); give it back with pdb_read_put. */
sqlite3 *pdb_read_get(pipe_sched *s, floe_err *err);
void pdb_read_put(pipe_sched *s, sqlite3 *db);
bool pdb_fail(sqlite3 *db, const char *what, floe_err *err);

/* Starts the loop's transaction if none is open (durable: fsync at commit). */
bool pdb_tx(pipe_sched *s, floe_err *err);
bool pdb_commit(pipe_sched *s, floe_err *err);
void pdb_rollback(pipe_sched *s);

bool pdb_put_pipe(pipe_sched *s, const sched_pipe *p, floe_err *err);
bool pdb_put_run(pipe_sched *s, const sched_run *r, floe_err *err);
bool pdb_put_ti(pipe_sched *s, const sched_ti *ti, floe_err *err);
bool pdb_put_attempt(pipe_sched *s, const sched_ti *ti, floe_err *err);
bool pdb_put_backfill(pipe_sched *s, const sched_backfill *b, floe_err *err);
/* heartbeat=now for the task instances of these runs/tasks. */
bool pdb_heartbeat(pipe_sched *s, const char *ids_json, int64_t now, floe_err *err);

/* Rows as read back. */
typedef struct pdb_run_row {
    char *run_id, *pipeline, *backfill_id;
    sched_run_type type;
    pipe_run_state state;
    json_t *conf;
    int64_t iv_start, iv_end, logical_ms, created_ms, started_ms, ended_ms;
} pdb_run_row;

typedef struct pdb_ti_row {
    char *task_id, *error;
    pipe_ti_state state;
    int try_number, max_tries;
    int64_t started_ms, ended_ms, next_try_ms;
    json_t *output;
    /* the latest attempt, when it is still open (a sensor between pokes) */
    bool att_open;
    int att_pokes;
    int64_t att_started_ms;
} pdb_ti_row;

void pdb_run_row_free(pdb_run_row *r);

/* Each pipelines row: fn(name, paused (-1 unset), last_end). */
bool pdb_load_pipes(pipe_sched *s, void (*fn)(pipe_sched *, const char *, int, int64_t), floe_err *err);
/* Runs of the pipeline (NULL: of every pipeline) in state queued or running. */
bool pdb_load_active_runs(pipe_sched *s, const char *pipeline, pdb_run_row **rows, size_t *n, floe_err *err);
/* One run; false with FLOE_ENOENT when there is none. */
bool pdb_load_run(pipe_sched *s, const char *run_id, pdb_run_row *row, floe_err *err);
/* The task instance rows of a run (caller frees with pdb_ti_rows_free). */
bool pdb_load_tis(pipe_sched *s, const char *run_id, pdb_ti_row **rows, size_t *n, floe_err *err);
void pdb_ti_rows_free(pdb_ti_row *rows, size_t n);
/* The scheduled or backfill run of a pipeline's interval: *found, and its id and state. */
bool pdb_find_interval_run(pipe_sched *s, const char *pipeline, int64_t iv_start, bool *found, char *run_id, size_t cap,
                           pipe_run_state *state, floe_err *err);
bool pdb_run_id_taken(pipe_sched *s, const char *run_id, bool *taken, floe_err *err);
/* Backfills still running, and the run ids that belong to each. */
bool pdb_load_backfills(pipe_sched *s, void (*fn)(pipe_sched *, sched_backfill *), floe_err *err);
/* Task instances a dead scheduler left queued or running: the queued go
 * back to scheduled (they never started); the running ones are zombies,
 * handed to fn to decide their state, then written. */
typedef struct pdb_zombie {
    char *run_id, *pipeline, *task_id;
    int try_number, max_tries;
    int64_t heartbeat_ms; /* or the try's start when no heartbeat was written */
} pdb_zombie;
bool pdb_recover(pipe_sched *s, int64_t now,
                 void (*fn)(pipe_sched *, const pdb_zombie *, pipe_ti_state *state, int64_t *next_try_ms),
                 int *nzombies, floe_err *err);

/* ---------------------------------------------------------------- sched.c */

/* Marks for writing at the end of the loop's iteration. */
void sched_mark_ti(pipe_sched *s, sched_ti *ti);
void sched_mark_run(pipe_sched *s, sched_run *r);
void sched_mark_pipe(pipe_sched *s, sched_pipe *p);
void sched_mark_bf(pipe_sched *s, sched_backfill *b);
/* The pipeline named, made when absent. */
sched_pipe *sched_pipe_get(pipe_sched *s, const char *name);
bool sched_pipe_paused(const sched_pipe *p);
void sched_pump_add(pipe_sched *s, sched_pipe *p);
void sched_eval_push(pipe_sched *s, sched_ti *ti);
/* Runs an operation on the loop and waits for it to commit. */
bool sched_op_run(pipe_sched *s, sched_op *op, floe_err *err);
const pipe_task_spec *sched_ti_task(const sched_ti *ti);
void sched_att_close(sched_ti *ti, pipe_ti_state st, const char *error, json_t *output, int64_t now);
void sched_ti_clear(pipe_sched *s, sched_ti *ti, int64_t now);
void sched_rq_insert(run_queue *q, sched_run *r);
void sched_run_enqueue(pipe_sched *s, sched_run *r);
bool sched_run_materialize(pipe_sched *s, sched_run *r, bool fresh, floe_err *err);
void sched_run_free(sched_run *r);
void sched_schedule_check(pipe_sched *s, sched_pipe *p, int64_t now);
void sched_run_activate(pipe_sched *s, sched_run *r, int64_t now);
/* A backfill whose runs all ended is done. */
void sched_bf_finish_check(pipe_sched *s, sched_backfill *b, int64_t now);

/* ---------------------------------------------------------------- sched_ops.c */

/* Runs an operation on the loop (under mu): true when it succeeded. */
bool sched_op_exec(pipe_sched *s, sched_op *op, int64_t now);
/* A scheduled run of [iv_start, iv_end), unless the interval has one. */
void sched_create_scheduled(pipe_sched *s, sched_pipe *p, int64_t iv_start, int64_t iv_end, int64_t now);
/* A spec appeared or changed: load its active runs (once), check its schedule. */
void sched_spec_installed(pipe_sched *s, sched_pipe *p);
/* At start, after recovery: every pipeline with a spec resumes its runs. */
void sched_resume_all(pipe_sched *s);
/* Retry delay for try_number (1 for the first retry's wait), with jitter. */
int64_t sched_retry_delay(const pipe_retry_policy *rp, int try_number);

/* ---------------------------------------------------------------- sched_exec.c */

bool sched_exec_start(pipe_sched *s, floe_err *err);
/* Cancels running tries, waits for the executors to return. */
void sched_exec_stop(pipe_sched *s);
/* Hands the iteration's QUEUED task instances to the executors (under mu). */
void sched_exec_push(pipe_sched *s, sched_ti *ti);
/* The path of a try's log: LOG_DIR/PIPELINE/RUN_ID/TASK/TRY.log. */
void sched_exec_log_path(const pipe_sched *s, const char *pipeline, const char *run_id, const char *task_id,
                         int try_number, char *out, size_t cap);

/* ---------------------------------------------------------------- sched_specs.c */

/* Scans the directory (or only files[0..nfiles) when files is not NULL)
 * and returns what changed since the hashes the pipelines hold. */
bool sched_specs_scan(pipe_sched *s, char **files, size_t nfiles, spec_found **out, size_t *n, bool *full);
void sched_specs_found_free(spec_found *f, size_t n);
/* Applies a scan (under mu, on the loop or before it starts). */
void sched_specs_install(pipe_sched *s, spec_found *f, size_t n, bool full);
bool sched_watch_start(pipe_sched *s, floe_err *err);
void sched_watch_stop(pipe_sched *s);

/* ---------------------------------------------------------------- helpers */

void sched_iso(int64_t ms, char out[32]);
/* "20261122T100000Z" (or with ms "20261122T100000123Z"). */
void sched_id_time(int64_t ms, bool with_ms, char out[32]);

#endif
