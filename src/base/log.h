/*
 * log.h: leveled logging to stderr, as text or as one JSON object a line.
 *
 * Secrets never reach the log: callers log access key ids, never secret keys
 * or signatures.
 */
#ifndef FLOE_BASE_LOG_H
#define FLOE_BASE_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_setup(log_level level, bool json);
bool log_level_parse(const char *s, log_level *out);
bool log_enabled(log_level level);
void log_msg(log_level level, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...)                                                                                           \
    do {                                                                                                               \
        if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, comp, __VA_ARGS__);                                             \
    } while (0)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
