/*
 * main.c: the floe command. Parses the subcommand and hands over; no logic
 * lives here.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: floe <command> [flags]\n\n"
               "commands:\n"
               "  serve      run the object store (S3 API) and the service ports\n"
               "  parquet    convert JSON lines or CSV to Parquet; inspect and cat Parquet files\n"
               "  avro       print or write Avro container files (Iceberg manifests)\n"
               "  namespace  create, list and drop catalog namespaces\n"
               "  table      create Iceberg tables; append, overwrite, delete, scan, inspect\n"
               "  gc         delete warehouse files no branch or tag reaches (dropped tables too)\n"
               "  branch     create, list, assign and drop catalog branches\n"
               "  tag        create, list and drop catalog tags\n"
               "  log        the catalog's commits on a branch (newest first)\n"
               "  diff       the tables and namespaces that differ between two refs\n"
               "  merge      merge a branch into another (three-way, with conflicts listed)\n"
               "  transplant apply given commits onto a branch\n"
               "  reflog     every movement of the catalog's refs\n"
               "  pipeline   list, trigger, inspect, clear, pause and backfill pipelines (via floe serve)\n"
               "  sample-api a local Binance-like market API to crawl (deterministic, rate-limited)\n"
               "  worker     crawl jobs from a queue (embedded or redis://) into the warehouse\n"
               "  version    print the version\n\n"
               "Run 'floe <command> --help' for the command's flags.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cli_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "parquet")) return cli_parquet(argc - 2, argv + 2);
    if (!strcmp(cmd, "avro")) return cli_avro(argc - 2, argv + 2);
    if (!strcmp(cmd, "namespace")) return cli_namespace(argc - 2, argv + 2);
    if (!strcmp(cmd, "table")) return cli_table(argc - 2, argv + 2);
    if (!strcmp(cmd, "gc")) return cli_gc(argc - 2, argv + 2);
    if (!strcmp(cmd, "branch")) return cli_branch(argc - 2, argv + 2);
    if (!strcmp(cmd, "tag")) return cli_tag(argc - 2, argv + 2);
    if (!strcmp(cmd, "log")) return cli_log(argc - 2, argv + 2);
    if (!strcmp(cmd, "diff")) return cli_diff(argc - 2, argv + 2);
    if (!strcmp(cmd, "merge")) return cli_merge(argc - 2, argv + 2);
    if (!strcmp(cmd, "transplant")) return cli_transplant(argc - 2, argv + 2);
    if (!strcmp(cmd, "reflog")) return cli_reflog(argc - 2, argv + 2);
    if (!strcmp(cmd, "pipeline")) return cli_pipeline(argc - 2, argv + 2);
    if (!strcmp(cmd, "sample-api")) return cli_sample_api(argc - 2, argv + 2);
    if (!strcmp(cmd, "iceberg-debug")) return cli_iceberg_debug(argc - 2, argv + 2);
    if (!strcmp(cmd, "queue-debug")) return cli_queue_debug(argc - 2, argv + 2);
    if (!strcmp(cmd, "worker")) return cli_worker(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("floe %s\n", FLOE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "floe: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
