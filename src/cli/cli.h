/*
 * cli.h: subcommands of the floe binary. Each takes the arguments after its
 * name and returns the process exit code.
 */
#ifndef FLOE_CLI_H
#define FLOE_CLI_H

#define FLOE_VERSION "0.1.0"

int cli_serve(int argc, char **argv);
int cli_parquet(int argc, char **argv);
int cli_avro(int argc, char **argv);
int cli_namespace(int argc, char **argv);
int cli_table(int argc, char **argv);
int cli_gc(int argc, char **argv);
/* branch.c: the catalog's versions */
int cli_branch(int argc, char **argv);
int cli_tag(int argc, char **argv);
int cli_log(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_transplant(int argc, char **argv);
int cli_reflog(int argc, char **argv);
/* sample_api.c: the local Binance-like API that demos and tests crawl */
int cli_sample_api(int argc, char **argv);
/* pipeline.c: the pipeline API client */
int cli_pipeline(int argc, char **argv);
/* hidden: manifests for the end-to-end tests (tests/e2e/test_iceberg_manifest.sh) */
int cli_iceberg_debug(int argc, char **argv);
/* hidden: drives the job queue for the end-to-end tests (tests/e2e/test_queue_*.sh) */
int cli_queue_debug(int argc, char **argv);
/* worker.c: the crawler worker (src/crawler) fed from a queue */
int cli_worker(int argc, char **argv);

#endif
