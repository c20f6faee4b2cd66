/*
 * config.h: Floe's settings, from floe.yaml, then FLOE_* environment
 * variables, then command-line flags, each overriding the one before.
 *
 * Every key is checked. An unknown key (in the file, as a FLOE_* variable or
 * as a flag) or a bad value fails start-up with a message that names the key
 * and the form it expects: a silently ignored setting is worse than none.
 */
#ifndef FLOE_BASE_CONFIG_H
#define FLOE_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/log.h"

/* An extra S3 credential with a scope: read or read-write, on a list of
 * grants, each "bucket" or "bucket/prefix". An empty list grants nothing. */
typedef struct config_s3_key {
    char *access_key;
    char *secret_key;
    bool write;
    char **grants;
    size_t ngrants;
} config_s3_key;

typedef struct floe_config {
    char *config_file; /* the floe.yaml that was read, or NULL */
    char *data_dir;
    char *catalog_url; /* postgres://...: the catalog store; NULL: SQLite in data_dir */
    char *bind;
    int s3_port;
    int catalog_port;
    int console_port;
    log_level log_level;
    bool log_json;
    char *region;
    char *access_key; /* root credentials */
    char *secret_key;
    bool default_credentials; /* true when the built-in root pair is in use */
    bool fsync;               /* durability; only tests and benchmarks turn it off */
    uint64_t max_object_size;
    uint64_t inline_max; /* objects up to this size live in the index */
    config_s3_key *keys;
    size_t nkeys;
    bool auth_none;        /* auth: none; the catalog takes requests without a token */
    char **public_buckets; /* buckets that allow anonymous GET and HEAD */
    size_t npublic;
    char *pipelines_dir;  /* pipeline specs */
    char *queue_url;      /* NULL: the embedded queue in data_dir */
    char *crawler_config; /* NULL: ./crawler.yaml when it exists */
    int crawler_workers;  /* -1: unset */
    int executors;
} floe_config;

/* Fills cfg with defaults, then the file (--config PATH, FLOE_CONFIG, or
 * ./floe.yaml when present), the environment and the flags in argv. argv[0]
 * is the first flag, not the program name. Leftover positional arguments are
 * an error. */
bool config_load(floe_config *cfg, int argc, char **argv, floe_err *err);
void config_defaults(floe_config *cfg);
void config_free(floe_config *cfg);
/* Prints the flag summary for `floe serve --help`. */
void config_usage(void);

#endif
