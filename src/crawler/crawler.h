/*
 * crawler.h: the config-driven HTTP crawler that `floe worker` runs (and
 * `floe serve` embeds): it leases crawl jobs from a queue, fetches an
 * endpoint page by page under per-endpoint and per-host rate limits, and
 * lands the records as zstd-compressed JSONL in object storage with a
 * manifest beside it.
 *
 * THE JOB CONTRACT (what the pipeline's crawl task enqueues on queue
 * "crawl", and what the worker acks with):
 *
 *   payload  {"endpoint": "trades",              name of a block in the crawler config
 *             "params": {"symbol": "BTCUSDT"},   merged over the endpoint's params
 *             "base_url": "http://127.0.0.1:8800" (optional: overrides the endpoint's)
 *             "target": "s3://warehouse/raw/trades/ds=2024-01-01/hr=00/min=00/RUN_ID.jsonl.zst",
 *             "run_id": "...", "pipeline": "...", "task_id": "..."}
 *   result   {"s3_path": TARGET, "manifest": TARGET ".manifest.json",
 *             "records": N, "pages": N, "bytes": N (compressed object size),
 *             "sha256": "hex of the object", "redelivered": bool}
 *
 * The manifest object holds the same fields as the result. A job whose
 * target and manifest both exist is acked at once with the manifest's
 * contents and "redelivered": true, without fetching anything.
 */
#ifndef FLOE_CRAWLER_H
#define FLOE_CRAWLER_H

#define CRAWL_QUEUE_DEFAULT "crawl"

#endif
