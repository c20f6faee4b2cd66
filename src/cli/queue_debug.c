/*
 * queue_debug.c: `floe queue-debug`, a hidden command that drives the job
 * queue for the end-to-end tests (tests/e2e/test_queue_*.sh), which kill
 * its processes with SIGKILL to prove that no job is lost. Not part of the
 * user-facing CLI: `floe worker` and `floe serve` are.
 *
 *   floe queue-debug enqueue --queue URL --name NAME --count N [--max-tries T]
 *                            [--payload TEXT]
 *       enqueues N jobs ({"n":i}, or TEXT with each "{n}" replaced by i);
 *       prints each id once its enqueue returned
 *   floe queue-debug work --queue URL --name NAME --worker ID [--vt MS]
 *                         [--hold-ms MS] [--idle-exit-ms MS]
 *       leases jobs, prints "leased ID TRIES", holds each for --hold-ms,
 *       acks it and prints "acked ID"; exits after --idle-exit-ms without a
 *       job (default: never)
 *   floe queue-debug status --queue URL [--json] [ID...]
 *       prints "ID STATE TRIES" for each id (read from stdin when none are
 *       given), "ID missing" for an unknown one; with --json one object a
 *       line: {"id","state","tries","queue","result","error"}
 *
 * URL is sqlite:PATH or redis://HOST:PORT/DB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/str.h"
#include "base/time.h"
#include "cli/cli.h"
#include "queue/queue.h"

typedef struct qd_args {
    const char *url, *name, *worker, *payload;
    bool json;
    int64_t count, max_tries, vt_ms, hold_ms, idle_exit_ms;
    char **rest;
    int nrest;
} qd_args;

static bool parse(int argc, char **argv, qd_args *a) {
    *a = (qd_args){.vt_ms = 1000, .max_tries = 5};
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t *num = str_eq(f, "--count")          ? &a->count
                       : str_eq(f, "--max-tries")    ? &a->max_tries
                       : str_eq(f, "--vt")           ? &a->vt_ms
                       : str_eq(f, "--hold-ms")      ? &a->hold_ms
                       : str_eq(f, "--idle-exit-ms") ? &a->idle_exit_ms
                                                     : NULL;
        if (str_eq(f, "--json")) {
            a->json = true;
            continue;
        }
        if (num) {
            if (!v || !str_to_i64_range(v, 0, INT64_MAX / 1000000, num)) {
                fprintf(stderr, "queue-debug: %s needs a number\n", f);
                return false;
            }
            i++;
        } else if (str_eq(f, "--queue") || str_eq(f, "--name") || str_eq(f, "--worker") || str_eq(f, "--payload")) {
            if (!v) {
                fprintf(stderr, "queue-debug: %s needs a value\n", f);
                return false;
            }
            *(str_eq(f, "--queue")     ? &a->url
              : str_eq(f, "--name")    ? &a->name
              : str_eq(f, "--payload") ? &a->payload
                                       : &a->worker) = v;
            i++;
        } else if (f[0] == '-') {
            fprintf(stderr, "queue-debug: unknown flag %s\n", f);
            return false;
        } else {
            a->rest = argv + i;
            a->nrest = argc - i;
            break;
        }
    }
    if (!a->url) {
        fprintf(stderr, "queue-debug: --queue sqlite:PATH or redis://HOST:PORT/DB is required\n");
        return false;
    }
    return true;
}

static int do_enqueue(queue_t *q, const qd_args *a) {
    for (int64_t i = 0; i < a->count; i++) {
        char id[QUEUE_ID_MAX];
        buf_t payload = BUF_INIT;
        if (!a->payload) buf_printf(&payload, "{\"n\":%lld}", (long long)i);
        for (const char *p = a->payload; p && *p; p++) {
            if (!strncmp(p, "{n}", 3)) {
                buf_printf(&payload, "%lld", (long long)i);
                p += 2;
            } else {
                buf_putc(&payload, *p);
            }
        }
        floe_err err = {0};
        bool ok = queue_enqueue(q, a->name, payload.data ? payload.data : "",
                                &(queue_enqueue_opts){.max_tries = (int)a->max_tries}, id, &err);
        buf_free(&payload);
        if (!ok) {
            fprintf(stderr, "queue-debug: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", id);
        fflush(stdout);
    }
    return 0;
}

static int do_work(queue_t *q, const qd_args *a) {
    int64_t idle_since = time_now_ms();
    for (;;) {
        arena_t ar;
        arena_init(&ar, 0);
        queue_job job;
        floe_err err = {0};
        int r = queue_lease(q, a->name, a->worker, a->vt_ms, 200, &ar, &job, &err);
        if (r < 0) {
            fprintf(stderr, "queue-debug: %s\n", err.msg);
            arena_free(&ar);
            return 1;
        }
        if (r == 0) {
            arena_free(&ar);
            if (a->idle_exit_ms && time_now_ms() - idle_since >= a->idle_exit_ms) return 0;
            continue;
        }
        printf("leased %s %d\n", job.id, job.tries);
        fflush(stdout);
        if (a->hold_ms) usleep((useconds_t)(a->hold_ms * 1000));
        if (!queue_ack(q, &job, "{\"ok\":true}", &err)) {
            /* the lease ran out while held: the job is someone else's now */
            fprintf(stderr, "queue-debug: %s\n", err.msg);
        } else {
            printf("acked %s\n", job.id);
            fflush(stdout);
        }
        arena_free(&ar);
        idle_since = time_now_ms();
    }
}

static void put_field(buf_t *b, const char *name, const char *v) {
    buf_printf(b, ",\"%s\":", name);
    if (v)
        json_put_str(b, v, strlen(v));
    else
        buf_puts(b, "null");
}

static void print_status(queue_t *q, const char *id, bool json) {
    arena_t ar;
    arena_init(&ar, 0);
    queue_status st;
    floe_err err = {0};
    bool ok = queue_status_get(q, id, &ar, &st, &err);
    if (json) {
        buf_t b = BUF_INIT;
        buf_puts(&b, "{\"id\":");
        json_put_str(&b, id, strlen(id));
        put_field(&b, "state", ok ? queue_state_name(st.state) : "missing");
        buf_printf(&b, ",\"tries\":%d", ok ? st.tries : 0);
        put_field(&b, "queue", ok ? st.queue : NULL);
        put_field(&b, "result", ok ? st.result : NULL);
        put_field(&b, "error", ok ? st.error : NULL);
        buf_puts(&b, "}");
        printf("%s\n", b.data);
        buf_free(&b);
    } else if (ok)
        printf("%s %s %d\n", id, queue_state_name(st.state), st.tries);
    else
        printf("%s missing\n", id);
    arena_free(&ar);
}

static int do_status(queue_t *q, const qd_args *a) {
    for (int i = 0; i < a->nrest; i++) print_status(q, a->rest[i], a->json);
    if (a->nrest == 0) {
        char line[128];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\r\n")] = 0;
            if (line[0]) print_status(q, line, a->json);
        }
    }
    return 0;
}

int cli_queue_debug(int argc, char **argv) {
    if (argc < 1) {
        fprintf(stderr, "usage: floe queue-debug enqueue|work|status --queue URL ...\n");
        return 2;
    }
    const char *sub = argv[0];
    qd_args a;
    if (!parse(argc - 1, argv + 1, &a)) return 2;
    if ((str_eq(sub, "enqueue") || str_eq(sub, "work")) && !a.name) {
        fprintf(stderr, "queue-debug: --name is required\n");
        return 2;
    }
    if (str_eq(sub, "work") && !a.worker) {
        fprintf(stderr, "queue-debug: --worker is required\n");
        return 2;
    }
    floe_err err = {0};
    queue_t *q = queue_open(a.url, NULL, &err);
    if (!q) {
        fprintf(stderr, "queue-debug: %s\n", err.msg);
        return 1;
    }
    int rc = str_eq(sub, "enqueue")  ? do_enqueue(q, &a)
             : str_eq(sub, "work")   ? do_work(q, &a)
             : str_eq(sub, "status") ? do_status(q, &a)
                                     : (fprintf(stderr, "queue-debug: unknown subcommand %s\n", sub), 2);
    queue_close(q);
    return rc;
}
