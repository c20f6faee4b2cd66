/*
 * schedule.c: durations, dates, schedules and the data-interval timetable
 * (pipeline.h, "schedules").
 *
 * A cron schedule is five bitsets, one per field. pipe_schedule_next and
 * _prev never step minute by minute: they split a time into its civil
 * fields and, field by field from the month down, take the nearest set bit
 * at or after (before) the current value with a count-trailing-zeros
 * (leading-zeros) instruction, carrying into the next month, day or hour
 * when a field has none left. A day is matched with one 32-bit mask per
 * month that folds in cron's rule for day-of-month and day-of-week (when
 * both are restricted, either may match). A call costs a few dozen
 * instructions whatever the schedule, and schedules that can never fire
 * (February 30) are refused by the parser, so the searches always end.
 *
 * Times are UTC: there is no daylight saving time to skip or repeat.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/time.h"
#include "pipeline/pipeline.h"

#define MIN_MS 60000LL
#define DAY_MS 86400000LL
/* The range next and prev work in: years 1 to 9999. */
#define TIME_LO_MS (-62135596800000LL)
#define TIME_HI_MS (253402300799999LL)

/* ------------------------------------------------------------ civil time */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; H. Hinnant's
 * algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
    static const int dim[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m];
}

/* 0 for Sunday. 1970-01-01 was a Thursday. */
static int weekday(int64_t days) { return (int)(((days % 7) + 11) % 7); }

/* ------------------------------------------------------------ dates */

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* "Z", "+02:00", "-0530" or nothing: the offset east of UTC in ms. */
static bool zone(const char **p, int64_t *off) {
    const char *s = *p;
    *off = 0;
    if (*s == 'Z' || *s == 'z') {
        *p = s + 1;
        return true;
    }
    if (*s != '+' && *s != '-') return *s == 0;
    int sign = *s == '-' ? -1 : 1, hh, mm;
    s++;
    if (!digits(&s, 2, &hh)) return false;
    if (*s == ':') s++;
    if (!digits(&s, 2, &mm) || hh > 23 || mm > 59) return false;
    *off = sign * ((int64_t)hh * 3600000 + (int64_t)mm * MIN_MS);
    *p = s;
    return true;
}

bool pipe_time_parse(const char *text, int64_t *ms) {
    if (!text || !*text) return false;
    const char *p = text;
    /* epoch ms: all digits, maybe a sign */
    const char *q = p + (*p == '-');
    if (*q && strspn(q, "0123456789") == strlen(q) && strlen(q) <= 18) {
        long long v = strtoll(text, NULL, 10);
        *ms = v;
        return true;
    }
    int y, mo, d, h = 0, mi = 0, s = 0, frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d)) return false;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
    int64_t off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s)) return false;
            if (*p == '.') {
                p++;
                int nd = 0;
                while (isdigit((unsigned char)*p)) {
                    if (nd < 3) frac = frac * 10 + (*p - '0');
                    nd++, p++;
                }
                if (nd == 0) return false;
                for (; nd < 3; nd++) frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || s > 59) return false;
        if (!zone(&p, &off)) return false;
    }
    if (*p) return false;
    *ms = days_from_civil(y, mo, d) * DAY_MS + (int64_t)h * 3600000 + (int64_t)mi * MIN_MS + (int64_t)s * 1000 + frac -
          off;
    return true;
}

/* ------------------------------------------------------------ parsing */

typedef struct cron_field {
    const char *name;
    int lo, hi;               /* values as written (day-of-week takes 7 for Sunday) */
    const char *const *names; /* JAN.. or SUN.., or NULL */
    int name_base;            /* the value of names[0] */
    const char *form;
} cron_field;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const cron_field fields[5] = {
    {"minute", 0, 59, NULL, 0, "0-59"},
    {"hour", 0, 23, NULL, 0, "0-23"},
    {"day-of-month", 1, 31, NULL, 0, "1-31"},
    {"month", 1, 12, month_names, 1, "1-12 or JAN-DEC"},
    {"day-of-week", 0, 7, wday_names, 0, "0-7 (0 and 7 are Sunday) or SUN-SAT"},
};

/* A number or a name of field f at *p; advances *p. */
static bool cron_value(const cron_field *f, const char **p, int *out) {
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0, n = 0;
        while (isdigit((unsigned char)*s)) {
            if (++n > 4) return false;
            v = v * 10 + (*s++ - '0');
        }
        *p = s;
        *out = v;
        return true;
    }
    if (!f->names) return false;
    for (int i = 0; f->names[i]; i++)
        if (!strncasecmp(s, f->names[i], 3) && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            *out = f->name_base + i;
            return true;
        }
    return false;
}

static bool field_err(const char *text, int idx, const char *item, size_t n, const char *what, floe_err *err) {
    const cron_field *f = &fields[idx];
    return floe_err_set(err, FLOE_EINVAL,
                        "schedule \"%s\": field %d (%s) \"%.*s\": %s; write %s values as a number, a range N-M, a "
                        "list A,B, a step */N or N-M/N, with values %s",
                        text, idx + 1, f->name, (int)n, item, what, f->name, f->form);
}

/* One field: a comma-separated list of *, N, N-M, each maybe /STEP. Sets
 * bit v of *bits for every value v it covers; *star when it starts with
 * "*" (cron's definition of an unrestricted day field). */
static bool cron_field_parse(const char *text, int idx, const char *s, size_t len, uint64_t *bits, bool *star,
                             floe_err *err) {
    const cron_field *f = &fields[idx];
    char buf[256];
    if (len >= sizeof buf) return field_err(text, idx, s, 20, "too long", err);
    memcpy(buf, s, len);
    buf[len] = 0;
    *bits = 0;
    *star = buf[0] == '*';
    char *save = NULL;
    if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
        return field_err(text, idx, s, len, "an empty list item", err);
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int lo, hi, step = 1;
        int last = idx == 4 ? 6 : f->hi; /* where * and N/STEP end: Saturday, not the second Sunday */
        bool range = false;
        if (*p == '*') {
            p++;
            lo = f->lo, hi = last;
            range = true;
        } else {
            if (!cron_value(f, &p, &lo)) return field_err(text, idx, item, strlen(item), "not a value", err);
            hi = lo;
            if (*p == '-') {
                p++;
                if (!cron_value(f, &p, &hi))
                    return field_err(text, idx, item, strlen(item), "the range has no end", err);
                range = true;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return field_err(text, idx, item, strlen(item), "the step is not a number", err);
            step = 0;
            while (isdigit((unsigned char)*p) && step <= 1000) step = step * 10 + (*p++ - '0');
            if (step == 0) return field_err(text, idx, item, strlen(item), "a step of 0", err);
            if (!range) hi = lo > last ? lo : last; /* N/STEP: from N to the end */
        }
        if (*p) return field_err(text, idx, item, strlen(item), "unexpected characters", err);
        if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi) {
            char what[64];
            snprintf(what, sizeof what, "%d is out of range", lo < f->lo || lo > f->hi ? lo : hi);
            return field_err(text, idx, item, strlen(item), what, err);
        }
        if (lo > hi) return field_err(text, idx, item, strlen(item), "the range runs backwards", err);
        for (int v = lo; v <= hi; v += step) *bits |= 1ull << v;
    }
    return true;
}

static const struct {
    const char *name, *cron;
} presets[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

/* False when no month of the schedule has a day it names: "0 0 30 2 *".
 * When both day fields are restricted either may match, and every month
 * has every weekday. Otherwise a day must match both, and each date falls
 * on each weekday in some year of the 400-year Gregorian cycle. */
static bool cron_can_fire(const pipe_schedule *s) {
    if (!s->mday_star && !s->wday_star) return true;
    for (int m = 1; m <= 12; m++) {
        if (!(s->month >> m & 1)) continue;
        uint32_t valid = (uint32_t)((2ull << days_in_month(2000, m)) - 2); /* 2000: February has 29 */
        if (s->mday & valid) return true;
    }
    return false;
}

static bool cron_parse(const char *text, const char *expr, pipe_schedule *out, floe_err *err) {
    const char *p = expr;
    const char *start[6];
    size_t len[6];
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        const char *b = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (n < 6) start[n] = b, len[n] = (size_t)(p - b);
        n++;
    }
    if (n != 5)
        return floe_err_set(err, FLOE_EINVAL,
                            "schedule \"%s\": %d field%s; a cron expression has 5 (minute hour day-of-month month "
                            "day-of-week, no seconds or years), e.g. \"30 2 * * *\"; or write @hourly, @daily, "
                            "@weekly, @monthly, @yearly, \"every 15m\" or none",
                            text, n, n == 1 ? "" : "s");
    uint64_t bits[5];
    bool star[5];
    for (int i = 0; i < 5; i++)
        if (!cron_field_parse(text, i, start[i], len[i], &bits[i], &star[i], err)) return false;
    out->kind = PIPE_SCHED_CRON;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->mday = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->wday = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday */
    out->mday_star = star[2];
    out->wday_star = star[4];
    if (!cron_can_fire(out))
        return floe_err_set(err, FLOE_EINVAL,
                            "schedule \"%s\": never fires: none of its months has the days of the month it names "
                            "(February has at most 29, April, June, September and November 30)",
                            text);
    return true;
}

bool pipe_schedule_parse(const char *text, pipe_schedule *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    if (!text) text = "none";
    size_t n = strlen(text);
    if (n >= sizeof out->text)
        return floe_err_set(err, FLOE_EINVAL, "schedule \"%.40s...\": longer than %zu characters", text,
                            sizeof out->text - 1);
    memcpy(out->text, text, n + 1);
    while (*text == ' ' || *text == '\t') text++;
    if (!*text || !strcasecmp(text, "none")) {
        out->kind = PIPE_SCHED_NONE;
        return true;
    }
    if (text[0] == '@') {
        for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
            if (!strcasecmp(text, presets[i].name)) return cron_parse(out->text, presets[i].cron, out, err);
        return floe_err_set(err, FLOE_EINVAL,
                            "schedule \"%s\": unknown preset; the presets are @yearly, @annually, @monthly, "
                            "@weekly, @daily, @midnight and @hourly",
                            out->text);
    }
    const char *dur = text;
    bool every = !strncasecmp(text, "every", 5) && (text[5] == ' ' || text[5] == '\t' || !text[5]);
    if (every) {
        dur = text + 5;
        while (*dur == ' ' || *dur == '\t') dur++;
    }
    int64_t ms;
    if (every || (!strpbrk(text, " \t") && time_duration_parse(text, &ms))) {
        if (!time_duration_parse(dur, &ms) || ms <= 0)
            return floe_err_set(err, FLOE_EINVAL,
                                "schedule \"%s\": \"%s\" is not a positive duration; write e.g. \"every 30s\", "
                                "\"every 5m\", \"every 1h30m\" or \"every 1d\"",
                                out->text, dur);
        out->kind = PIPE_SCHED_INTERVAL;
        out->every_ms = ms;
        return true;
    }
    return cron_parse(out->text, text, out, err);
}

/* ------------------------------------------------------------ next / prev */

static int lowest_at_or_above(uint64_t bits, int v) {
    if (v > 63) return -1;
    uint64_t m = bits & (~0ull << v);
    return m ? __builtin_ctzll(m) : -1;
}

static int highest_at_or_below(uint64_t bits, int v) {
    if (v < 0) return -1;
    uint64_t m = v >= 63 ? bits : bits & ((2ull << v) - 1);
    return m ? 63 - __builtin_clzll(m) : -1;
}

/* Bit d (1..31) set when day d of month m of year y matches. */
static uint32_t day_mask(const pipe_schedule *s, int64_t y, int m) {
    uint32_t valid = (uint32_t)((2ull << days_in_month(y, m)) - 2);
    if (s->mday_star && s->wday_star && s->mday == 0xfffffffe && s->wday == 0x7f) return valid;
    int first = weekday(days_from_civil(y, m, 1));
    /* weekday bits rotated so bit j is the weekday of day j+1, repeated */
    uint64_t r = ((uint64_t)s->wday >> first | (uint64_t)s->wday << (7 - first)) & 0x7f;
    uint64_t w = (r | r << 7 | r << 14 | r << 21 | r << 28) << 1;
    uint32_t wm = (uint32_t)w;
    /* cron: when either field starts with "*", a day must match both (the
     * "*" one matches every day unless it has a step); else either */
    uint32_t days = s->mday_star || s->wday_star ? s->mday & wm : s->mday | wm;
    return days & valid;
}

static int64_t civil_ms(int64_t y, int m, int d, int h, int mi) {
    return days_from_civil(y, m, d) * DAY_MS + (int64_t)h * 3600000 + (int64_t)mi * MIN_MS;
}

/* The first minute at or after t (a whole minute) that matches. */
static int64_t cron_at_or_after(const pipe_schedule *s, int64_t t) {
    int64_t days = floor_div(t, DAY_MS), y;
    int64_t rem = t - days * DAY_MS;
    int m, d, h = (int)(rem / 3600000), mi = (int)(rem % 3600000 / MIN_MS);
    civil_from_days(days, &y, &m, &d);
    /* a schedule the parser accepts fires within one 400-year cycle of the
     * Gregorian calendar (most within a year); the bound is a guard */
    for (int guard = 0; guard < 12 * 401; guard++) {
        int mm = lowest_at_or_above(s->month, m);
        if (mm < 0) {
            y++, m = 1, d = 1, h = 0, mi = 0;
            continue;
        }
        if (mm != m) m = mm, d = 1, h = 0, mi = 0;
        uint32_t dmask = day_mask(s, y, m);
        int dd;
        while ((dd = lowest_at_or_above(dmask, d)) >= 0) {
            if (dd != d) d = dd, h = 0, mi = 0;
            int hh = lowest_at_or_above(s->hour, h);
            if (hh >= 0) {
                if (hh != h) h = hh, mi = 0;
                int mn = lowest_at_or_above(s->minute, mi);
                if (mn >= 0) return civil_ms(y, m, d, h, mn);
                int h2 = lowest_at_or_above(s->hour, h + 1);
                if (h2 >= 0) {
                    int mn2 = lowest_at_or_above(s->minute, 0);
                    return mn2 >= 0 ? civil_ms(y, m, d, h2, mn2) : INT64_MAX;
                }
            }
            d++, h = 0, mi = 0;
        }
        d = 1, h = 0, mi = 0;
        if (++m > 12) y++, m = 1;
    }
    return INT64_MAX;
}

/* The last minute at or before t (a whole minute) that matches. */
static int64_t cron_at_or_before(const pipe_schedule *s, int64_t t) {
    int64_t days = floor_div(t, DAY_MS), y;
    int64_t rem = t - days * DAY_MS;
    int m, d, h = (int)(rem / 3600000), mi = (int)(rem % 3600000 / MIN_MS);
    civil_from_days(days, &y, &m, &d);
    for (int guard = 0; guard < 12 * 401; guard++) {
        int mm = highest_at_or_below(s->month, m);
        if (mm < 0) {
            y--, m = 12, d = 31, h = 23, mi = 59;
            continue;
        }
        if (mm != m) m = mm, d = 31, h = 23, mi = 59;
        uint32_t dmask = day_mask(s, y, m);
        int dd;
        while ((dd = highest_at_or_below(dmask, d)) >= 0) {
            if (dd != d) d = dd, h = 23, mi = 59;
            int hh = highest_at_or_below(s->hour, h);
            if (hh >= 0) {
                if (hh != h) h = hh, mi = 59;
                int mn = highest_at_or_below(s->minute, mi);
                if (mn >= 0) return civil_ms(y, m, d, h, mn);
                int h2 = highest_at_or_below(s->hour, h - 1);
                if (h2 >= 0) {
                    int mn2 = highest_at_or_below(s->minute, 59);
                    return mn2 >= 0 ? civil_ms(y, m, d, h2, mn2) : INT64_MIN;
                }
            }
            d--, h = 23, mi = 59;
        }
        d = 31, h = 23, mi = 59;
        if (--m < 1) y--, m = 12;
    }
    return INT64_MIN;
}

int64_t pipe_schedule_next(const pipe_schedule *s, int64_t anchor_ms, int64_t after_ms) {
    if (s->kind == PIPE_SCHED_INTERVAL) {
        if (s->every_ms <= 0) return INT64_MAX;
        int64_t anchor = anchor_ms == INT64_MIN ? 0 : anchor_ms;
        if (after_ms < TIME_LO_MS) after_ms = TIME_LO_MS;
        if (after_ms >= TIME_HI_MS || anchor < TIME_LO_MS || anchor > TIME_HI_MS) return INT64_MAX;
        int64_t k = floor_div(after_ms - anchor, s->every_ms) + 1, t;
        if (__builtin_mul_overflow(k, s->every_ms, &t) || __builtin_add_overflow(t, anchor, &t)) return INT64_MAX;
        return t > TIME_HI_MS ? INT64_MAX : t;
    }
    if (s->kind != PIPE_SCHED_CRON) return INT64_MAX;
    if (after_ms >= TIME_HI_MS) return INT64_MAX;
    if (after_ms < TIME_LO_MS) after_ms = TIME_LO_MS - 1;
    int64_t t = cron_at_or_after(s, floor_div(after_ms, MIN_MS) * MIN_MS + MIN_MS);
    return t > TIME_HI_MS ? INT64_MAX : t;
}

int64_t pipe_schedule_prev(const pipe_schedule *s, int64_t anchor_ms, int64_t at_ms) {
    if (s->kind == PIPE_SCHED_INTERVAL) {
        if (s->every_ms <= 0) return INT64_MIN;
        int64_t anchor = anchor_ms == INT64_MIN ? 0 : anchor_ms;
        if (at_ms > TIME_HI_MS) at_ms = TIME_HI_MS;
        if (at_ms < TIME_LO_MS || anchor < TIME_LO_MS || anchor > TIME_HI_MS) return INT64_MIN;
        int64_t k = floor_div(at_ms - anchor, s->every_ms), t;
        if (__builtin_mul_overflow(k, s->every_ms, &t) || __builtin_add_overflow(t, anchor, &t)) return INT64_MIN;
        return t < TIME_LO_MS ? INT64_MIN : t;
    }
    if (s->kind != PIPE_SCHED_CRON) return INT64_MIN;
    if (at_ms < TIME_LO_MS) return INT64_MIN;
    if (at_ms > TIME_HI_MS) at_ms = TIME_HI_MS;
    int64_t t = cron_at_or_before(s, floor_div(at_ms, MIN_MS) * MIN_MS);
    return t < TIME_LO_MS ? INT64_MIN : t;
}

/* ------------------------------------------------------------ timetable */

/* The first fire time at or after t. */
static int64_t at_or_after(const pipe_schedule *s, int64_t anchor, int64_t t) {
    return t == INT64_MIN ? INT64_MIN : pipe_schedule_next(s, anchor, t - 1);
}

bool pipe_next_interval(const pipe_schedule *s, int64_t start_ms, int64_t end_ms, bool catchup, int64_t last_end_ms,
                        int64_t now_ms, int64_t *iv_start, int64_t *iv_end, int64_t *next_check_ms) {
    *next_check_ms = INT64_MAX;
    if (s->kind == PIPE_SCHED_NONE) return false;
    int64_t anchor = start_ms;
    /* the earliest interval start allowed: the first fire at or after
     * start_date, then the end of the last interval scheduled */
    int64_t a = at_or_after(s, anchor, start_ms);
    if (last_end_ms != INT64_MIN) {
        int64_t l = at_or_after(s, anchor, last_end_ms);
        if (l > a) a = l;
    }
    /* without catchup (or without a start_date to catch up from), nothing
     * before the latest interval that has ended */
    if (!catchup || a == INT64_MIN) {
        int64_t end = pipe_schedule_prev(s, anchor, now_ms);
        int64_t latest = end == INT64_MIN ? INT64_MIN : pipe_schedule_prev(s, anchor, end - 1);
        if (latest > a) a = latest;
        if (a == INT64_MIN) a = end == INT64_MIN ? at_or_after(s, anchor, now_ms) : end;
    }
    if (a == INT64_MAX || a == INT64_MIN || a > end_ms) return false;
    int64_t b = pipe_schedule_next(s, anchor, a);
    if (b == INT64_MAX) return false;
    if (b > now_ms) {
        *next_check_ms = b;
        return false;
    }
    *iv_start = a;
    *iv_end = b;
    return true;
}

const char *pipe_trigger_name(pipe_trigger_rule r) {
    switch (r) {
    case PIPE_TRIGGER_ALL_SUCCESS: return "all_success";
    case PIPE_TRIGGER_ALL_DONE: return "all_done";
    case PIPE_TRIGGER_ALL_FAILED: return "all_failed";
    case PIPE_TRIGGER_ONE_SUCCESS: return "one_success";
    case PIPE_TRIGGER_ONE_FAILED: return "one_failed";
    case PIPE_TRIGGER_NONE_FAILED: return "none_failed";
    case PIPE_TRIGGER_ALWAYS: return "always";
    }
    return "?";
}
