/*
 * metrics.c: Prometheus metrics for the S3 API, served at /_floe/metrics.
 *
 * Counters are atomics indexed by operation and status, so recording a
 * request takes no lock.
 */
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "store/s3/s3_server_int.h"

static const char *op_names[] = {
    "Unknown",
    "ListBuckets",
    "CreateBucket",
    "DeleteBucket",
    "HeadBucket",
    "GetBucketLocation",
    "ListObjects",
    "ListObjectsV2",
    "GetBucketAcl",
    "PutBucketAcl",
    "GetBucketVersioning",
    "DeleteObjects",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
    "NotImplemented",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
};
#define NOP_NAMES (int)(sizeof op_names / sizeof op_names[0])

static const int statuses[S3_NSTATUS] = {200, 204, 206, 304, 400, 403, 404, 405, 409, 411,
                                         412, 413, 416, 431, 500, 501, 503, 507, 0,   0};
/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[S3_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10};

int s3_op_index(const char *name) {
    for (int i = 0; i < NOP_NAMES; i++)
        if (strcmp(op_names[i], name) == 0) return i;
    return 0;
}

static int status_index(int status) {
    for (int i = 0; i < S3_NSTATUS - 2; i++)
        if (statuses[i] == status) return i;
    return S3_NSTATUS - 1; /* other */
}

void s3_metrics_observe(http_req_t *h, bool completed, void *ctx) {
    s3_server_t *srv = ctx;
    s3_metrics *m = &srv->metrics;
    s3_req *r = h->user;
    int op = r && r->op_index >= 0 ? r->op_index : 0;
    int status = h->responded ? h->status : 499; /* 499: client closed the request */
    atomic_fetch_add(&m->requests[op][status_index(status)], 1);
    double secs = (double)(time_mono_ns() - h->start_ns) / 1e9;
    int b = 0;
    while (b < S3_NBUCKETS && secs > bounds[b]) b++;
    atomic_fetch_add(&m->latency[op][b], 1);
    atomic_fetch_add(&m->latency_sum_us[op], (unsigned long)(secs * 1e6));
    atomic_fetch_add(&m->bytes_in, h->body_bytes);
    if (completed) atomic_fetch_add(&m->bytes_out, h->sent_bytes);
}

static void metrics_end(http_req_t *h, void *ctx) {
    s3_server_t *srv = ctx;
    s3_metrics *m = &srv->metrics;
    buf_t b = BUF_INIT;
    buf_puts(&b, "# HELP floe_s3_requests_total S3 requests by operation and HTTP status.\n"
                 "# TYPE floe_s3_requests_total counter\n");
    for (int op = 0; op < NOP_NAMES; op++)
        for (int s = 0; s < S3_NSTATUS; s++) {
            unsigned long v = atomic_load(&m->requests[op][s]);
            if (!v) continue;
            if (s == S3_NSTATUS - 1)
                buf_printf(&b, "floe_s3_requests_total{op=\"%s\",status=\"other\"} %lu\n", op_names[op], v);
            else
                buf_printf(&b, "floe_s3_requests_total{op=\"%s\",status=\"%d\"} %lu\n", op_names[op], statuses[s], v);
        }
    buf_puts(&b, "# HELP floe_s3_request_duration_seconds S3 request latency by operation.\n"
                 "# TYPE floe_s3_request_duration_seconds histogram\n");
    for (int op = 0; op < NOP_NAMES; op++) {
        unsigned long total = 0;
        for (int k = 0; k <= S3_NBUCKETS; k++) total += atomic_load(&m->latency[op][k]);
        if (!total) continue;
        unsigned long cum = 0;
        for (int k = 0; k < S3_NBUCKETS; k++) {
            cum += atomic_load(&m->latency[op][k]);
            buf_printf(&b, "floe_s3_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %lu\n", op_names[op],
                       bounds[k], cum);
        }
        buf_printf(&b, "floe_s3_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %lu\n", op_names[op], total);
        buf_printf(&b, "floe_s3_request_duration_seconds_sum{op=\"%s\"} %.6f\n", op_names[op],
                   (double)atomic_load(&m->latency_sum_us[op]) / 1e6);
        buf_printf(&b, "floe_s3_request_duration_seconds_count{op=\"%s\"} %lu\n", op_names[op], total);
    }
    buf_printf(&b,
               "# HELP floe_s3_received_bytes_total Request body bytes received.\n"
               "# TYPE floe_s3_received_bytes_total counter\nfloe_s3_received_bytes_total %lu\n"
               "# HELP floe_s3_sent_bytes_total Response body bytes sent.\n"
               "# TYPE floe_s3_sent_bytes_total counter\nfloe_s3_sent_bytes_total %lu\n",
               atomic_load(&m->bytes_in), atomic_load(&m->bytes_out));
    store_stats st;
    store_get_stats(srv->store, &st);
    buf_printf(&b,
               "# HELP floe_store_commits_total Index transactions (group commits).\n"
               "# TYPE floe_store_commits_total counter\nfloe_store_commits_total %llu\n"
               "# HELP floe_store_committed_ops_total Operations carried by index transactions.\n"
               "# TYPE floe_store_committed_ops_total counter\nfloe_store_committed_ops_total %llu\n"
               "# HELP floe_store_swept_files Files removed by the start-up sweep.\n"
               "# TYPE floe_store_swept_files gauge\nfloe_store_swept_files %llu\n",
               (unsigned long long)st.commits, (unsigned long long)st.committed_ops,
               (unsigned long long)st.swept_files);
    size_t n = b.len;
    http_respond_owned(h, 200, "text/plain; version=0.0.4", buf_steal(&b), n);
}

const http_handler s3_metrics_handler = {.end = metrics_end};
