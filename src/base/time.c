/*
 * time.c: clocks and date formats. All conversions are in UTC and never
 * consult the local time zone.
 */
#include "base/time.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int64_t time_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void time_http_date(int64_t epoch_s, char out[32]) {
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void time_iso8601_ms(int64_t epoch_ms, char out[32]) {
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(epoch_ms % 1000));
}

static int month_index(const char *m) {
    for (int i = 0; i < 12; i++)
        if (strncasecmp(m, months[i], 3) == 0) return i;
    return -1;
}

static bool tm_valid(const struct tm *tm) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday > mdays[tm->tm_mon]) return false;
    int y = tm->tm_year + 1900;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (tm->tm_mon == 1 && tm->tm_mday == 29 && !leap) return false;
    return tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_hour >= 0 &&
           tm->tm_hour < 24 && tm->tm_min >= 0 && tm->tm_min < 60 && tm->tm_sec >= 0 && tm->tm_sec <= 60 &&
           tm->tm_year >= 0 && tm->tm_year < 8100;
}

bool time_parse_http_date(const char *s, int64_t *epoch_s) {
    if (!s) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char wd[16], mon[4];
    int n = 0;
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    if (sscanf(s, "%15[A-Za-z], %d %3s %d %d:%d:%d GMT%n", wd, &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) == 7 &&
        n > 0) {
        tm.tm_year -= 1900;
    } else if (sscanf(s, "%15[A-Za-z], %d-%3s-%d %d:%d:%d GMT%n", wd, &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
                      &tm.tm_min, &tm.tm_sec, &n) == 7 &&
               n > 0) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        if (tm.tm_year < 100)
            tm.tm_year += tm.tm_year < 70 ? 100 : 0;
        else
            tm.tm_year -= 1900;
    } else if (sscanf(s, "%15s %3s %d %d:%d:%d %d%n", wd, mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                      &tm.tm_year, &n) == 7 &&
               n > 0) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        tm.tm_year -= 1900;
    } else {
        return false;
    }
    tm.tm_mon = month_index(mon);
    if (!tm_valid(&tm)) return false;
    *epoch_s = (int64_t)timegm(&tm);
    return true;
}

bool time_parse_amz_date(const char *s, int64_t *epoch_s) {
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9')) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (!tm_valid(&tm)) return false;
    *epoch_s = (int64_t)timegm(&tm);
    return true;
}

bool time_parse_iso8601(const char *s, int64_t *epoch_s) {
    if (!s) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6)
        return false;
    const char *rest = s + n;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9') rest++;
    }
    if (strcmp(rest, "Z") != 0) return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (!tm_valid(&tm)) return false;
    *epoch_s = (int64_t)timegm(&tm);
    return true;
}

/* ---- durations ---- */

static const struct {
    const char *unit;
    int64_t ms;
} dur_units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
#define NDUR_UNITS (sizeof dur_units / sizeof dur_units[0])

bool time_duration_parse(const char *text, int64_t *ms) {
    if (!text || !*text) return false;
    const char *p = text;
    int64_t total = 0;
    size_t next_unit = 0; /* units go from days down, each at most once */
    bool bare = true;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return false;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (INT64_MAX - 9) / 10) return false;
            n = n * 10 + (*p++ - '0');
        }
        size_t len = 0;
        while (isalpha((unsigned char)p[len])) len++;
        if (len == 0) {
            if (!bare || *p) return false; /* "1h30" or "5 m" */
            return n <= INT64_MAX / 1000 ? (*ms = n * 1000, true) : false;
        }
        bare = false;
        size_t u = next_unit;
        while (u < NDUR_UNITS && (strlen(dur_units[u].unit) != len || strncmp(dur_units[u].unit, p, len) != 0)) u++;
        if (u == NDUR_UNITS) return false;
        if (n > (INT64_MAX - total) / dur_units[u].ms) return false;
        total += n * dur_units[u].ms;
        next_unit = u + 1;
        p += len;
    }
    *ms = total;
    return true;
}

void time_duration_format(int64_t ms, char out[32]) {
    size_t n = 0;
    uint64_t v = (uint64_t)ms;
    if (ms < 0) {
        out[n++] = '-';
        v = -(uint64_t)ms;
    }
    if (v == 0) {
        snprintf(out + n, 32 - n, "0s");
        return;
    }
    out[n] = 0;
    for (size_t u = 0; u < NDUR_UNITS; u++) {
        uint64_t q = v / (uint64_t)dur_units[u].ms;
        v %= (uint64_t)dur_units[u].ms;
        if (q) n += (size_t)snprintf(out + n, 32 - n, "%llu%s", (unsigned long long)q, dur_units[u].unit);
    }
}
