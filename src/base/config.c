/*
 * config.c: load and validate settings.
 *
 * Scalar settings are described once, in `settings` below: the YAML key, the
 * FLOE_ variable and the --flag all derive from the one name, so the three
 * sources can never drift apart. Structured settings (keys, public_buckets)
 * exist only in the file.
 */
#include "base/config.h"

#include <ctype.h>
#include <libfyaml.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"

extern char **environ;

typedef enum { T_STR, T_PORT, T_LEVEL, T_FORMAT, T_BOOL, T_SIZE, T_AUTH, T_DB_URL, T_COUNT } setting_type;

typedef struct setting {
    const char *name; /* yaml key; FLOE_<NAME> upper-cased; --name with '-' */
    setting_type type;
    size_t offset;
    const char *help;
} setting;

#define OFF(f) offsetof(floe_config, f)
static const setting settings[] = {
    {"data", T_STR, OFF(data_dir), "data directory (default ./data)"},
    {"catalog_url", T_DB_URL, OFF(catalog_url),
     "postgres://USER:PASSWORD@HOST:PORT/DB[?schema=NAME]: keep the catalog in PostgreSQL (default: SQLite in "
     "the data dir)"},
    {"bind", T_STR, OFF(bind), "address to listen on (default 127.0.0.1)"},
    {"s3_port", T_PORT, OFF(s3_port), "S3 API port (default 9000)"},
    {"catalog_port", T_PORT, OFF(catalog_port), "catalog port (default 19120)"},
    {"console_port", T_PORT, OFF(console_port), "console port (default 8080)"},
    {"log_level", T_LEVEL, OFF(log_level), "debug|info|warn|error (default info)"},
    {"log_format", T_FORMAT, OFF(log_json), "text|json (default text)"},
    {"region", T_STR, OFF(region), "S3 region for SigV4 (default us-east-1)"},
    {"access_key", T_STR, OFF(access_key), "root access key"},
    {"secret_key", T_STR, OFF(secret_key), "root secret key"},
    {"fsync", T_BOOL, OFF(fsync), "true|false: fsync writes (default true)"},
    {"max_object_size", T_SIZE, OFF(max_object_size), "largest object in bytes, or with K|M|G|T (default 5T)"},
    {"inline_max", T_SIZE, OFF(inline_max),
     "objects up to this size are kept in the index, not a file (default 32K; 0: never)"},
    {"auth", T_AUTH, OFF(auth_none), "token|none: the catalog requires bearer tokens (default token)"},
    {"pipelines", T_STR, OFF(pipelines_dir), "directory of pipeline specs, *.yaml (default ./pipelines)"},
    {"queue", T_STR, OFF(queue_url),
     "job queue: sqlite:PATH or redis://[:PASSWORD@]HOST[:PORT][/DB] (default: queue.db in the data dir)"},
    {"crawler_config", T_STR, OFF(crawler_config),
     "crawler endpoints file for the embedded crawler workers (default ./crawler.yaml when it exists)"},
    {"crawler_workers", T_COUNT, OFF(crawler_workers),
     "embedded crawler worker threads, 0-64 (default 2 when there is a crawler config; 0: none)"},
    {"executors", T_COUNT, OFF(executors), "pipeline executor threads, 1-64 (default 16)"},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

#define DEFAULT_ACCESS_KEY "floeadmin"
#define DEFAULT_SECRET_KEY "floeadmin"

void config_defaults(floe_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->data_dir = strdup("./data");
    cfg->bind = strdup("127.0.0.1");
    cfg->s3_port = 9000;
    cfg->catalog_port = 19120;
    cfg->console_port = 8080;
    cfg->log_level = LOG_INFO;
    cfg->region = strdup("us-east-1");
    cfg->access_key = strdup(DEFAULT_ACCESS_KEY);
    cfg->secret_key = strdup(DEFAULT_SECRET_KEY);
    cfg->fsync = true;
    cfg->max_object_size = 5ull << 40;
    cfg->inline_max = 32 * 1024;
    cfg->pipelines_dir = strdup("./pipelines");
    cfg->crawler_workers = -1; /* unset: 2 when there is a crawler config */
    cfg->executors = 16;
}

static bool parse_size(const char *s, uint64_t *out) {
    size_t n = strlen(s);
    if (n == 0) return false;
    uint64_t mult = 1;
    char last = (char)toupper((unsigned char)s[n - 1]);
    const char *units = "KMGT";
    const char *u = strchr(units, last);
    if (u && last) {
        mult = 1ull << (10 * (u - units + 1));
        n--;
    }
    uint64_t v;
    if (!str_to_u64_n(s, n, &v) || (v && mult > UINT64_MAX / v)) return false;
    *out = v * mult;
    return true;
}

/* Applies one scalar setting; `source` names where it came from. */
static bool setting_apply(floe_config *cfg, const setting *st, const char *value, const char *source, floe_err *err) {
    void *field = (char *)cfg + st->offset;
    switch (st->type) {
    case T_STR:
        if (value[0] == '\0')
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' must not be empty; expected %s", source, st->name,
                                st->help);
        free(*(char **)field);
        *(char **)field = strdup(value);
        return true;
    case T_PORT: {
        int64_t v;
        if (!str_to_i64_range(value, 0, 65535, &v))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected a port number 0-65535", source, st->name,
                                value);
        *(int *)field = (int)v;
        return true;
    }
    case T_LEVEL:
        if (!log_level_parse(value, (log_level *)field))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected debug, info, warn or error", source,
                                st->name, value);
        return true;
    case T_FORMAT:
        if (strcmp(value, "text") && strcmp(value, "json"))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected text or json", source, st->name, value);
        *(bool *)field = strcmp(value, "json") == 0;
        return true;
    case T_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false"))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected true or false", source, st->name, value);
        *(bool *)field = strcmp(value, "true") == 0;
        return true;
    case T_AUTH:
        if (strcmp(value, "token") && strcmp(value, "none"))
            return floe_err_set(err, FLOE_EINVAL,
                                "%s: '%s' is '%s'; expected token (catalog requests need a bearer token from "
                                "/iceberg/v1/oauth/tokens) or none (no authentication)",
                                source, st->name, value);
        *(bool *)field = strcmp(value, "none") == 0;
        return true;
    case T_DB_URL:
        if (value[0] && strncmp(value, "postgres://", 11) && strncmp(value, "postgresql://", 13))
            return floe_err_set(err, FLOE_EINVAL,
                                "%s: '%s' must be a PostgreSQL URL like postgres://floe:PASSWORD@db.example:5432/floe "
                                "(or postgresql://...), or empty for SQLite in the data dir",
                                source, st->name);
        free(*(char **)field);
        *(char **)field = value[0] ? strdup(value) : NULL;
        return true;
    case T_COUNT: {
        int64_t v;
        if (!str_to_i64_range(value, 0, 64, &v))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected %s", source, st->name, value, st->help);
        *(int *)field = (int)v;
        return true;
    }
    case T_SIZE:
        if (!parse_size(value, (uint64_t *)field))
            return floe_err_set(err, FLOE_EINVAL, "%s: '%s' is '%s'; expected a byte count like 1048576 or 5G", source,
                                st->name, value);
        return true;
    }
    return false;
}

static const setting *setting_find(const char *name, size_t n) {
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].name) == n && strncmp(settings[i].name, name, n) == 0) return &settings[i];
    return NULL;
}

static void known_keys(char *out, size_t n) {
    out[0] = '\0';
    for (size_t i = 0; i < NSETTINGS; i++) {
        strncat(out, settings[i].name, n - strlen(out) - 1);
        strncat(out, ", ", n - strlen(out) - 1);
    }
    strncat(out, "keys, public_buckets", n - strlen(out) - 1);
}

/* ---- the YAML file ---- */

static const char *scalar(struct fy_node *n) {
    return n && fy_node_get_type(n) == FYNT_SCALAR ? fy_node_get_scalar0(n) : NULL;
}

static bool yaml_string_list(struct fy_node *seq, const char *what, char ***out, size_t *nout, floe_err *err) {
    if (!seq || fy_node_get_type(seq) != FYNT_SEQUENCE)
        return floe_err_set(err, FLOE_EINVAL, "floe.yaml: '%s' must be a list of strings", what);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it))) {
        const char *s = scalar(item);
        if (!s || !*s) return floe_err_set(err, FLOE_EINVAL, "floe.yaml: every item of '%s' must be a string", what);
        *out = realloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = strdup(s);
    }
    return true;
}

static bool yaml_key_entry(floe_config *cfg, struct fy_node *map, size_t idx, floe_err *err) {
    if (fy_node_get_type(map) != FYNT_MAPPING)
        return floe_err_set(err, FLOE_EINVAL,
                            "floe.yaml: keys[%zu] must be a mapping with access_key, secret_key, scope, buckets", idx);
    cfg->keys = realloc(cfg->keys, (cfg->nkeys + 1) * sizeof *cfg->keys);
    config_s3_key *k = &cfg->keys[cfg->nkeys++];
    memset(k, 0, sizeof *k);
    void *it = NULL;
    struct fy_node_pair *p;
    bool have_scope = false;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        const char *key = scalar(fy_node_pair_key(p));
        struct fy_node *v = fy_node_pair_value(p);
        if (!key) return floe_err_set(err, FLOE_EINVAL, "floe.yaml: keys[%zu] has a non-string key", idx);
        if (!strcmp(key, "access_key") && scalar(v)) {
            k->access_key = strdup(scalar(v));
        } else if (!strcmp(key, "secret_key") && scalar(v)) {
            k->secret_key = strdup(scalar(v));
        } else if (!strcmp(key, "scope") && scalar(v)) {
            const char *s = scalar(v);
            if (strcmp(s, "read") && strcmp(s, "read-write"))
                return floe_err_set(err, FLOE_EINVAL, "floe.yaml: keys[%zu].scope is '%s'; expected read or read-write",
                                    idx, s);
            k->write = strcmp(s, "read-write") == 0;
            have_scope = true;
        } else if (!strcmp(key, "buckets")) {
            if (!yaml_string_list(v, "keys[].buckets", &k->grants, &k->ngrants, err)) return false;
        } else {
            return floe_err_set(err, FLOE_EINVAL,
                                "floe.yaml: keys[%zu] has unknown or malformed key '%s'; expected access_key, "
                                "secret_key, scope (read|read-write), buckets (list)",
                                idx, key);
        }
    }
    if (!k->access_key || !k->secret_key || !have_scope)
        return floe_err_set(err, FLOE_EINVAL, "floe.yaml: keys[%zu] needs access_key, secret_key and scope", idx);
    return true;
}

static bool yaml_load(floe_config *cfg, const char *path, floe_err *err) {
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET};
    struct fy_document *doc = fy_document_build_from_file(&pcfg, path);
    if (!doc)
        return floe_err_set(err, FLOE_EINVAL, "%s: not valid YAML (or unreadable); expected a mapping of settings",
                            path);
    bool ok = false;
    struct fy_node *root = fy_document_root(doc);
    if (!root) { /* empty file: nothing to set */
        ok = true;
        goto done;
    }
    if (fy_node_get_type(root) != FYNT_MAPPING) {
        floe_err_set(err, FLOE_EINVAL, "%s: the top level must be a mapping of settings", path);
        goto done;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(root, &it))) {
        const char *key = scalar(fy_node_pair_key(p));
        struct fy_node *v = fy_node_pair_value(p);
        if (!key) {
            floe_err_set(err, FLOE_EINVAL, "%s: a top-level key is not a string", path);
            goto done;
        }
        if (!strcmp(key, "keys")) {
            if (!v || fy_node_get_type(v) != FYNT_SEQUENCE) {
                floe_err_set(err, FLOE_EINVAL, "%s: 'keys' must be a list of mappings", path);
                goto done;
            }
            void *sit = NULL;
            struct fy_node *item;
            size_t idx = 0;
            while ((item = fy_node_sequence_iterate(v, &sit)))
                if (!yaml_key_entry(cfg, item, idx++, err)) goto done;
            continue;
        }
        if (!strcmp(key, "public_buckets")) {
            if (!yaml_string_list(v, "public_buckets", &cfg->public_buckets, &cfg->npublic, err)) goto done;
            continue;
        }
        const setting *st = setting_find(key, strlen(key));
        if (!st) {
            char known[512];
            known_keys(known, sizeof known);
            floe_err_set(err, FLOE_EINVAL, "%s: unknown key '%s'; known keys are %s", path, key, known);
            goto done;
        }
        const char *val = scalar(v);
        if (!val) {
            floe_err_set(err, FLOE_EINVAL, "%s: '%s' must be a single value; expected %s", path, key, st->help);
            goto done;
        }
        if (!setting_apply(cfg, st, val, path, err)) goto done;
    }
    ok = true;
done:
    fy_document_destroy(doc);
    return ok;
}

/* ---- environment ---- */

static bool env_load(floe_config *cfg, floe_err *err) {
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "FLOE_", 5) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char name[64];
        size_t n = (size_t)(eq - (*e + 5));
        if (n >= sizeof name) n = sizeof name - 1;
        for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)(*e)[5 + i]);
        name[n] = '\0';
        if (!strcmp(name, "config")) continue;
        const setting *st = setting_find(name, n);
        if (!st) {
            char known[512];
            known_keys(known, sizeof known);
            return floe_err_set(err, FLOE_EINVAL,
                                "environment: unknown variable FLOE_%.*s; FLOE_* variables are settings, one of "
                                "FLOE_CONFIG or FLOE_ plus the upper-cased name of: %s",
                                (int)n, *e + 5, known);
        }
        char src[96];
        snprintf(src, sizeof src, "environment FLOE_%.*s", (int)n, *e + 5);
        if (!setting_apply(cfg, st, eq + 1, src, err)) return false;
    }
    return true;
}

/* ---- flags ---- */

static const setting *flag_find(const char *flag) {
    char name[64];
    size_t n = strlen(flag);
    if (n >= sizeof name) return NULL;
    for (size_t i = 0; i <= n; i++) name[i] = flag[i] == '-' ? '_' : flag[i];
    return setting_find(name, n);
}

void config_usage(void) {
    fprintf(stderr, "flags (each also FLOE_<NAME> in the environment and <name> in floe.yaml):\n");
    fprintf(stderr, "  --config PATH           settings file (default ./floe.yaml when present)\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "%s", settings[i].name);
        for (char *p = flag; *p; p++)
            if (*p == '_') *p = '-';
        fprintf(stderr, "  --%-22s%s\n", flag, settings[i].help);
    }
}

bool config_load(floe_config *cfg, int argc, char **argv, floe_err *err) {
    config_defaults(cfg);
    /* The file first: --config, then FLOE_CONFIG, then ./floe.yaml. */
    const char *file = getenv("FLOE_CONFIG");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) return floe_err_set(err, FLOE_EINVAL, "--config needs a file path");
            file = argv[i + 1];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            file = argv[i] + 9;
        }
    }
    if (!file && access("floe.yaml", F_OK) == 0) file = "floe.yaml";
    if (file) {
        if (access(file, R_OK) != 0)
            return floe_err_set(err, FLOE_ENOENT, "config file %s cannot be read; check the path given to --config",
                                file);
        cfg->config_file = strdup(file);
        if (!yaml_load(cfg, file, err)) return false;
    }
    bool env_access = getenv("FLOE_ACCESS_KEY") != NULL, env_secret = getenv("FLOE_SECRET_KEY") != NULL;
    if (!env_load(cfg, err)) return false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return floe_err_set(err, FLOE_EINVAL, "unexpected argument '%s'; settings are given as --name value", a);
        const char *name = a + 2, *value = NULL;
        char namebuf[64];
        const char *eq = strchr(name, '=');
        if (eq) {
            snprintf(namebuf, sizeof namebuf, "%.*s", (int)(eq - name), name);
            name = namebuf;
            value = eq + 1;
        }
        if (!strcmp(name, "config")) {
            if (!value) i++;
            continue;
        }
        const setting *st = flag_find(name);
        if (!st) return floe_err_set(err, FLOE_EINVAL, "unknown flag --%s; run with --help to list the flags", name);
        if (!value) {
            if (i + 1 >= argc) return floe_err_set(err, FLOE_EINVAL, "flag --%s needs a value: %s", name, st->help);
            value = argv[++i];
        }
        char src[80];
        snprintf(src, sizeof src, "flag --%s", name);
        if (!setting_apply(cfg, st, value, src, err)) return false;
    }
    cfg->default_credentials = !strcmp(cfg->access_key, DEFAULT_ACCESS_KEY) &&
                               !strcmp(cfg->secret_key, DEFAULT_SECRET_KEY) && !env_access && !env_secret;
    if (strlen(cfg->secret_key) < 8)
        return floe_err_set(err, FLOE_EINVAL, "secret_key must be at least 8 characters; set FLOE_SECRET_KEY");
    return true;
}

void config_free(floe_config *cfg) {
    free(cfg->config_file);
    free(cfg->data_dir);
    free(cfg->catalog_url);
    free(cfg->bind);
    free(cfg->region);
    free(cfg->access_key);
    free(cfg->secret_key);
    for (size_t i = 0; i < cfg->nkeys; i++) {
        free(cfg->keys[i].access_key);
        free(cfg->keys[i].secret_key);
        for (size_t j = 0; j < cfg->keys[i].ngrants; j++) free(cfg->keys[i].grants[j]);
        free(cfg->keys[i].grants);
    }
    free(cfg->keys);
    for (size_t i = 0; i < cfg->npublic; i++) free(cfg->public_buckets[i]);
    free(cfg->public_buckets);
    free(cfg->pipelines_dir);
    free(cfg->queue_url);
    free(cfg->crawler_config);
    memset(cfg, 0, sizeof *cfg);
}
