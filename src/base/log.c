/*
 * log.c: leveled logging. One write(2) per line so concurrent threads do not
 * interleave within a line.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

static log_level g_level = LOG_INFO;
static bool g_json = false;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_setup(log_level level, bool json) {
    g_level = level;
    g_json = json;
}

bool log_level_parse(const char *s, log_level *out) {
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    return false;
}

bool log_enabled(log_level level) { return level >= g_level; }

static void json_escape(buf_t *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
}

void log_msg(log_level level, const char *component, const char *fmt, ...) {
    if (level < g_level) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));

    buf_t b = BUF_INIT;
    if (g_json) {
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"", ts, level_names[level]);
        json_escape(&b, component);
        buf_puts(&b, "\",\"msg\":\"");
        json_escape(&b, msg);
        buf_puts(&b, "\"}\n");
    } else {
        buf_printf(&b, "%s %-5s %s: %s\n", ts, level_names[level], component, msg);
    }
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    buf_free(&b);
}
