/*
 * tasks.c: the registry of task types, and pipe_log.
 *
 * The built-in types live in task_*.c. Each is declared weak here so the
 * layer links while one is missing (a build of part of the tree); a type
 * that is not linked in is simply unknown to the spec loader. Tests add
 * types of their own with pipe_task_type_register.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline.h"

extern const pipe_task_type pipe_task_log __attribute__((weak));
extern const pipe_task_type pipe_task_shell __attribute__((weak));
extern const pipe_task_type pipe_task_crawl __attribute__((weak));
extern const pipe_task_type pipe_task_wait_job __attribute__((weak));
extern const pipe_task_type pipe_task_write_table __attribute__((weak));
extern const pipe_task_type pipe_task_publish_signal __attribute__((weak));
extern const pipe_task_type pipe_task_load_raw __attribute__((weak));
extern const pipe_task_type pipe_task_maintenance __attribute__((weak));

#define MAX_TYPES 64

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static const pipe_task_type *types[MAX_TYPES];
static size_t ntypes;
static bool builtins_added;

static void add_locked(const pipe_task_type *t) {
    if (!t) return;
    for (size_t i = 0; i < ntypes; i++)
        if (!strcmp(types[i]->name, t->name)) {
            types[i] = t; /* a later registration replaces (tests) */
            return;
        }
    if (ntypes < MAX_TYPES) types[ntypes++] = t;
}

static void builtins_locked(void) {
    if (builtins_added) return;
    builtins_added = true;
    const pipe_task_type *b[] = {&pipe_task_log,      &pipe_task_shell,       &pipe_task_crawl,
                                 &pipe_task_wait_job, &pipe_task_write_table, &pipe_task_publish_signal,
                                 &pipe_task_load_raw, &pipe_task_maintenance};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) add_locked(b[i]);
}

const pipe_task_type *pipe_task_type_find(const char *name) {
    const pipe_task_type *found = NULL;
    pthread_mutex_lock(&reg_mu);
    builtins_locked();
    for (size_t i = 0; i < ntypes && !found; i++)
        if (!strcmp(types[i]->name, name)) found = types[i];
    pthread_mutex_unlock(&reg_mu);
    return found;
}

const pipe_task_type *const *pipe_task_types(size_t *n) {
    pthread_mutex_lock(&reg_mu);
    builtins_locked();
    *n = ntypes;
    pthread_mutex_unlock(&reg_mu);
    return types;
}

void pipe_task_type_register(const pipe_task_type *t) {
    pthread_mutex_lock(&reg_mu);
    builtins_locked();
    add_locked(t);
    pthread_mutex_unlock(&reg_mu);
}

void pipe_log(pipe_task_ctx *ctx, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (ctx && ctx->log_fn) ctx->log_fn(ctx->log_arg, line);
}
