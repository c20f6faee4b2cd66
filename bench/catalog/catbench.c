/*
 * catbench.c: the load generator of bench/catalog.
 *
 *   catbench commits URL NS CLIENTS N [--shared] [--retain K]
 *       CLIENTS threads, one keep-alive connection each, commit N times
 *       each through the Iceberg REST API: an add-snapshot and a
 *       set-snapshot-ref of main, asserting main's snapshot id
 *       (assert-ref-snapshot-id), and once a table holds K snapshots
 *       (default 20) a remove-snapshots of the oldest, so the metadata stays
 *       the same size however long the run. Each client has its own table
 *       in NS, or with --shared all of them commit to one table: a 409 then
 *       makes the client reload the table and retry, as Iceberg's clients
 *       do. Latency is from the first attempt to the 200, retries included.
 *   catbench load URL NS CLIENTS N [--inm] [--snapshots S]
 *       a table with S commits (default 20), then CLIENTS threads load it N
 *       times each; --inm sends If-None-Match with its ETag (304s).
 *   catbench merge DATA HISTORY CHANGES REPS CLI_BRANCHES
 *       in-process, on DATA (a floe data dir): HISTORY commits on main in
 *       bulk (cat_bulk_commits), then REPS times: a branch from main,
 *       CHANGES commits on it, CHANGES commits on main, and cat_merge timed.
 *       Then CLI_BRANCHES more branches are left ready for `floe merge`
 *       (named cli0, cli1, ...), each with CHANGES commits.
 *
 * Each mode prints one JSON object on stdout. The REST modes take the key
 * pair from FLOE_ACCESS_KEY and FLOE_SECRET_KEY and get a bearer token
 * first. URL is the catalog's base, e.g. http://127.0.0.1:19120.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/time.h"
#include "catalog/cat_int.h"
#include "catalog/catalog.h"
#include "store/fileio.h"
#include "store/store.h"

#define MAX_SNAPS 4096

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "catbench: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

/* ---------------------------------------------------------------- HTTP */

typedef struct client {
    CURL *h;
    const char *url;
    char auth[600];
    buf_t body;
    char etag[80];
    long status;
} client;

static size_t on_body(char *p, size_t sz, size_t n, void *arg) {
    buf_append(&((client *)arg)->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg) {
    client *cl = arg;
    size_t len = sz * n;
    if (len > 6 && !strncasecmp(p, "ETag: ", 6)) {
        size_t k = len - 6;
        while (k && (p[6 + k - 1] == '\r' || p[6 + k - 1] == '\n')) k--;
        if (k < sizeof cl->etag) {
            memcpy(cl->etag, p + 6, k);
            cl->etag[k] = 0;
        }
    }
    return len;
}

static void client_init(client *cl, const char *url, const char *token) {
    memset(cl, 0, sizeof *cl);
    cl->h = curl_easy_init();
    cl->url = url;
    if (token) snprintf(cl->auth, sizeof cl->auth, "Authorization: Bearer %s", token);
    curl_easy_setopt(cl->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cl->h, CURLOPT_WRITEDATA, cl);
    curl_easy_setopt(cl->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(cl->h, CURLOPT_HEADERDATA, cl);
    curl_easy_setopt(cl->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(cl->h, CURLOPT_NOSIGNAL, 1L);
}

static void client_free(client *cl) {
    curl_easy_cleanup(cl->h);
    buf_free(&cl->body);
}

/* One request; the reply's body is in cl->body (NUL-terminated), its status
 * in cl->status. extra: one more header or NULL. */
static long call(client *cl, const char *method, const char *path, const char *body, const char *ctype,
                 const char *extra) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", cl->url, path);
    cl->body.len = 0;
    cl->etag[0] = 0;
    struct curl_slist *hs = NULL;
    if (cl->auth[0]) hs = curl_slist_append(hs, cl->auth);
    if (body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
        hs = curl_slist_append(hs, ct);
    }
    if (extra) hs = curl_slist_append(hs, extra);
    hs = curl_slist_append(hs, "Expect:");
    curl_easy_setopt(cl->h, CURLOPT_URL, url);
    curl_easy_setopt(cl->h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(cl->h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(cl->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(cl->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(cl->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(cl->h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(cl->h);
    curl_slist_free_all(hs);
    buf_putc(&cl->body, 0);
    cl->body.len--;
    if (rc != CURLE_OK) die(url, curl_easy_strerror(rc));
    curl_easy_getinfo(cl->h, CURLINFO_RESPONSE_CODE, &cl->status);
    return cl->status;
}

static char *get_token(const char *url) {
    const char *id = getenv("FLOE_ACCESS_KEY"), *secret = getenv("FLOE_SECRET_KEY");
    if (!id || !secret) die("token", "set FLOE_ACCESS_KEY and FLOE_SECRET_KEY (the server's root key pair)");
    client cl;
    client_init(&cl, url, NULL);
    char *eid = curl_easy_escape(cl.h, id, 0), *esecret = curl_easy_escape(cl.h, secret, 0);
    char form[1024];
    snprintf(form, sizeof form, "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=catalog", eid,
             esecret);
    curl_free(eid);
    curl_free(esecret);
    if (call(&cl, "POST", "/iceberg/v1/oauth/tokens", form, "application/x-www-form-urlencoded", NULL) != 200)
        die("token", cl.body.data);
    json_t *j = json_loads(cl.body.data, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "access_token"));
    if (!t) die("token: no access_token in", cl.body.data);
    char *out = strdup(t);
    json_decref(j);
    client_free(&cl);
    return out;
}

static const char *SCHEMA = "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
                            "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
                            "{\"id\":2,\"name\":\"v\",\"required\":false,\"type\":\"string\"}]}";

static void create_namespace(client *cl, const char *ns) {
    char body[256];
    snprintf(body, sizeof body, "{\"namespace\":[\"%s\"]}", ns);
    long st = call(cl, "POST", "/iceberg/v1/main/namespaces", body, NULL, NULL);
    if (st != 200 && st != 409) die("create namespace", cl->body.data);
}

static void create_table(client *cl, const char *ns, const char *name) {
    char path[256], body[1024];
    snprintf(path, sizeof path, "/iceberg/v1/main/namespaces/%s/tables", ns);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"schema\":%s}", name, SCHEMA);
    if (call(cl, "POST", path, body, NULL, NULL) != 200) die("create table", cl->body.data);
}

/* ---------------------------------------------------------------- commits */

/* What a client believes its table holds: main's snapshot (-1: none), the
 * last sequence number, the snapshots in order of sequence number. */
typedef struct table_view {
    long long current, last_seq;
    long long snaps[MAX_SNAPS];
    int nsnaps;
} table_view;

typedef struct run {
    const char *url, *token, *ns;
    int clients, n, retain;
    bool shared, inm;
    atomic_llong next_id;
    double *lat; /* clients * n latencies, seconds */
    atomic_long attempts, conflicts, errors, not_modified;
} run;

typedef struct worker {
    run *r;
    int idx;
    char table[64];
} worker;

static int cmp_seq(const void *x, const void *y) {
    const long long *a = x, *b = y;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* Reloads the table into v: after a 409, or at the start. */
static void view_load(client *cl, const char *path, table_view *v) {
    if (call(cl, "GET", path, NULL, NULL, NULL) != 200) die("load table", cl->body.data);
    json_t *j = json_loads(cl->body.data, 0, NULL), *m = json_object_get(j, "metadata");
    json_t *cur = json_object_get(m, "current-snapshot-id");
    v->current = json_is_integer(cur) && json_integer_value(cur) >= 0 ? json_integer_value(cur) : -1;
    v->last_seq = json_integer_value(json_object_get(m, "last-sequence-number"));
    json_t *snaps = json_object_get(m, "snapshots");
    size_t n = json_array_size(snaps);
    if (n > MAX_SNAPS) die("load table", "more snapshots than catbench keeps track of");
    long long(*pairs)[2] = calloc(n ? n : 1, sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(snaps, i);
        pairs[i][0] = json_integer_value(json_object_get(s, "snapshot-id"));
        pairs[i][1] = json_integer_value(json_object_get(s, "sequence-number"));
    }
    qsort(pairs, n, sizeof *pairs, cmp_seq);
    for (size_t i = 0; i < n; i++) v->snaps[i] = pairs[i][0];
    v->nsnaps = (int)n;
    free(pairs);
    json_decref(j);
}

/* The body of a commit adding snapshot id on top of v. */
static void commit_body(buf_t *b, const char *ns, const char *table, const table_view *v, long long id, int retain,
                        int *nremove) {
    b->len = 0;
    char cur[32] = "null", parent[64] = "";
    if (v->current >= 0) {
        snprintf(cur, sizeof cur, "%lld", v->current);
        snprintf(parent, sizeof parent, "\"parent-snapshot-id\":%lld,", v->current);
    }
    buf_printf(b,
               "{\"requirements\":[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":%s}],"
               "\"updates\":[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":%lld,%s"
               "\"sequence-number\":%lld,\"timestamp-ms\":%lld,"
               "\"manifest-list\":\"s3://warehouse/%s/%s/metadata/snap-%lld.avro\","
               "\"summary\":{\"operation\":\"append\",\"added-data-files\":\"1\",\"added-records\":\"100\"},"
               "\"schema-id\":0}},"
               "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\",\"snapshot-id\":%lld}",
               cur, id, parent, v->last_seq + 1, (long long)time_now_ms(), ns, table, id, id);
    *nremove = retain > 0 && v->nsnaps + 1 > retain ? v->nsnaps + 1 - retain : 0;
    if (*nremove) {
        buf_printf(b, ",{\"action\":\"remove-snapshots\",\"snapshot-ids\":[");
        for (int i = 0; i < *nremove; i++) buf_printf(b, "%s%lld", i ? "," : "", v->snaps[i]);
        buf_printf(b, "]}");
    }
    buf_printf(b, "]}");
}

static void *commit_worker(void *arg) {
    worker *w = arg;
    run *r = w->r;
    client cl;
    client_init(&cl, r->url, r->token);
    char path[256];
    snprintf(path, sizeof path, "/iceberg/v1/main/namespaces/%s/tables/%s", r->ns, w->table);
    table_view *v = calloc(1, sizeof *v);
    view_load(&cl, path, v);
    buf_t body = {0};
    for (int i = 0; i < r->n; i++) {
        double t0 = now();
        for (int attempt = 0;; attempt++) {
            long long id = atomic_fetch_add(&r->next_id, 1);
            int nremove;
            commit_body(&body, r->ns, w->table, v, id, r->retain, &nremove);
            buf_putc(&body, 0);
            atomic_fetch_add(&r->attempts, 1);
            long st = call(&cl, "POST", path, body.data, NULL, NULL);
            if (st == 200) {
                memmove(v->snaps, v->snaps + nremove, (size_t)(v->nsnaps - nremove) * sizeof *v->snaps);
                v->nsnaps -= nremove;
                v->snaps[v->nsnaps++] = id;
                v->current = id;
                v->last_seq++;
                break;
            }
            if (st == 409) {
                atomic_fetch_add(&r->conflicts, 1);
            } else {
                atomic_fetch_add(&r->errors, 1);
                if (atomic_load(&r->errors) <= 3) fprintf(stderr, "catbench: commit: %ld %s\n", st, cl.body.data);
            }
            if (attempt > 1000) die("commit", "no success after 1000 attempts");
            view_load(&cl, path, v);
        }
        r->lat[w->idx * r->n + i] = now() - t0;
    }
    buf_free(&body);
    free(v);
    client_free(&cl);
    return NULL;
}

static void *load_worker(void *arg) {
    worker *w = arg;
    run *r = w->r;
    client cl;
    client_init(&cl, r->url, r->token);
    char path[256], inm[128] = "";
    snprintf(path, sizeof path, "/iceberg/v1/main/namespaces/%s/tables/%s", r->ns, w->table);
    if (r->inm) {
        if (call(&cl, "GET", path, NULL, NULL, NULL) != 200 || !cl.etag[0]) die("load table (for its ETag)", path);
        snprintf(inm, sizeof inm, "If-None-Match: %s", cl.etag);
    }
    for (int i = 0; i < r->n; i++) {
        double t0 = now();
        long st = call(&cl, "GET", path, NULL, NULL, r->inm ? inm : NULL);
        r->lat[w->idx * r->n + i] = now() - t0;
        if (st == 304)
            atomic_fetch_add(&r->not_modified, 1);
        else if (st != 200)
            atomic_fetch_add(&r->errors, 1);
    }
    client_free(&cl);
    return NULL;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double pct(const double *sorted, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1] * 1e3;
}

static double run_threads(run *r, worker *ws, void *(*fn)(void *)) {
    pthread_t *th = calloc((size_t)r->clients, sizeof *th);
    double t0 = now();
    for (int i = 0; i < r->clients; i++) pthread_create(&th[i], NULL, fn, &ws[i]);
    for (int i = 0; i < r->clients; i++) pthread_join(th[i], NULL);
    double secs = now() - t0;
    free(th);
    return secs;
}

static void print_latencies(run *r, double secs) {
    size_t n = (size_t)r->clients * (size_t)r->n;
    qsort(r->lat, n, sizeof *r->lat, cmp_double);
    printf("\"seconds\":%.4f,\"per_sec\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f", secs,
           (double)n / secs, pct(r->lat, n, 0.50), pct(r->lat, n, 0.95), pct(r->lat, n, 0.99), r->lat[n - 1] * 1e3);
}

static int do_rest(const char *mode, int argc, char **argv) {
    if (argc < 4)
        die("usage", "catbench commits|load URL NS CLIENTS N [--shared] [--retain K] [--inm] [--snapshots S]");
    run r = {.url = argv[0], .ns = argv[1], .clients = atoi(argv[2]), .n = atoi(argv[3]), .retain = 20};
    int snapshots = 20;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--shared"))
            r.shared = true;
        else if (!strcmp(argv[i], "--inm"))
            r.inm = true;
        else if (!strcmp(argv[i], "--retain") && i + 1 < argc)
            r.retain = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--snapshots") && i + 1 < argc)
            snapshots = atoi(argv[++i]);
        else
            die("unknown option", argv[i]);
    }
    if (r.clients < 1 || r.n < 1) die("usage", "CLIENTS and N must be positive");
    bool load = !strcmp(mode, "load");
    r.token = get_token(r.url);
    atomic_init(&r.next_id, 1000000);
    client cl;
    client_init(&cl, r.url, r.token);
    create_namespace(&cl, r.ns);
    worker *ws = calloc((size_t)r.clients, sizeof *ws);
    for (int i = 0; i < r.clients; i++) {
        ws[i].r = &r;
        ws[i].idx = i;
        snprintf(ws[i].table, sizeof ws[i].table, "t%d", r.shared || load ? 0 : i);
        if (i == 0 || !(r.shared || load)) create_table(&cl, r.ns, ws[i].table);
    }
    client_free(&cl);
    if (load && snapshots > 0) {
        /* give the table a history first: one client, S commits */
        run setup = r;
        setup.clients = 1;
        setup.n = snapshots;
        setup.lat = calloc((size_t)snapshots, sizeof(double));
        worker w = {.r = &setup, .idx = 0};
        strcpy(w.table, "t0");
        commit_worker(&w);
        free(setup.lat);
        atomic_store(&r.next_id, atomic_load(&setup.next_id));
    }
    r.lat = calloc((size_t)r.clients * (size_t)r.n, sizeof(double));
    double secs = run_threads(&r, ws, load ? load_worker : commit_worker);
    printf("{\"mode\":\"%s\",\"clients\":%d,\"n\":%d,\"shared\":%s,\"inm\":%s,", mode, r.clients, r.n,
           r.shared ? "true" : "false", r.inm ? "true" : "false");
    print_latencies(&r, secs);
    printf(",\"attempts\":%ld,\"conflicts\":%ld,\"errors\":%ld,\"not_modified\":%ld}\n", atomic_load(&r.attempts),
           atomic_load(&r.conflicts), atomic_load(&r.errors), atomic_load(&r.not_modified));
    free(r.lat);
    free(ws);
    free((char *)r.token);
    return atomic_load(&r.errors) ? 1 : 0;
}

/* ---------------------------------------------------------------- merge */

static void check(bool ok, const char *what, const floe_err *err) {
    if (!ok) die(what, err->msg);
}

/* A branch `name` from main's head whose CHANGES commits put tables of its
 * own namespace (created on main first, so the merge has no
 * NAMESPACE_ABSENT conflict). */
static void make_branch(cat_t *c, const char *name, int changes, arena_t *a) {
    floe_err err = {0};
    char ns[80];
    snprintf(ns, sizeof ns, "ns_%s", name);
    check(cat_namespace_create(c, "main", ns, NULL, &err), "namespace on main", &err);
    cat_ref ref;
    check(cat_ref_create(c, name, false, "main", a, &ref, &err), "branch", &err);
    check(cat_bulk_commits(c, name, ns, (size_t)changes, (size_t)changes, &err), "changes on the branch", &err);
}

static int do_merge(int argc, char **argv) {
    if (argc < 5) die("usage", "catbench merge DATA HISTORY CHANGES REPS CLI_BRANCHES");
    const char *data = argv[0];
    size_t history = strtoull(argv[1], NULL, 10);
    int changes = atoi(argv[2]), reps = atoi(argv[3]), cli = atoi(argv[4]);
    floe_err err = {0};
    store_t *store = store_open(data, true, &err);
    check(store != NULL, "store", &err);
    if (!store_bucket_create(store, "warehouse", false, &err) && err.code != FLOE_EEXIST) die("bucket", err.msg);
    fileio_t *io = fileio_store(store);
    cat_opts co = {.dir = data, .io = io, .warehouse = "s3://warehouse", .fsync = true};
    cat_t *c = cat_open(&co, &err);
    check(c != NULL, "catalog", &err);
    arena_t a;
    arena_init(&a, 1 << 16);

    check(cat_namespace_create(c, "main", "hist", NULL, &err), "namespace", &err);
    double t0 = now();
    check(cat_bulk_commits(c, "main", "hist", history, 1000, &err), "history on main", &err);
    double bulk = now() - t0;

    printf("{\"mode\":\"merge\",\"history\":%zu,\"changes\":%d,\"bulk_seconds\":%.3f,\"runs\":[", history, changes,
           bulk);
    for (int r = 0; r < reps; r++) {
        char name[32], side[32];
        snprintf(name, sizeof name, "dev%d", r);
        make_branch(c, name, changes, &a);
        /* main moves on too: the merge base is not main's head */
        snprintf(side, sizeof side, "side%d", r);
        check(cat_bulk_commits(c, "main", side, (size_t)changes, (size_t)changes, &err), "changes on main", &err);
        cat_merge_opts o = {.from = name, .into = "main"};
        cat_merge_result m;
        cat_walk_stats_reset();
        t0 = now();
        bool ok = cat_merge(c, &o, &a, &m, &err);
        double ms = (now() - t0) * 1e3;
        check(ok && m.applied, "merge", &err);
        cat_walk_stats ws;
        cat_walk_stats_get(&ws);
        printf("%s{\"ms\":%.3f,\"keys\":%zu,\"commits_read\":%llu,\"ops_read\":%llu}", r ? "," : "", ms, m.ndetails,
               (unsigned long long)ws.commits_read, (unsigned long long)ws.ops_read);
        arena_free(&a);
    }
    printf("]}\n");
    for (int r = 0; r < cli; r++) {
        char name[32];
        snprintf(name, sizeof name, "cli%d", r);
        make_branch(c, name, changes, &a);
        arena_free(&a);
    }
    arena_free(&a);
    cat_close(c);
    fileio_free(io);
    store_close(store);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage", "catbench commits|load|merge ... (see the comment at the top of catbench.c)");
    curl_global_init(CURL_GLOBAL_ALL);
    int rc;
    if (!strcmp(argv[1], "commits") || !strcmp(argv[1], "load"))
        rc = do_rest(argv[1], argc - 2, argv + 2);
    else if (!strcmp(argv[1], "merge"))
        rc = do_merge(argc - 2, argv + 2);
    else
        die("unknown mode", argv[1]);
    curl_global_cleanup();
    return rc;
}
