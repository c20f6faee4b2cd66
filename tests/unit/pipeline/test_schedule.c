/*
 * test_schedule.c: durations, dates, schedules and the data-interval
 * timetable (src/pipeline/schedule.c).
 *
 * pipe_schedule_next and _prev skip whole months and days; here they are
 * checked against a reference that steps one minute at a time with the C
 * library's gmtime_r and cron's matching rule written out plainly, over
 * random schedules (whose bitsets are also checked against the sets the
 * generator meant) and random times. Fixed cases cover month ends, leap
 * years, @weekly, steps, and cron's day-of-month/day-of-week rule.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "pipeline/pipeline.h"

#define MIN 60000LL
#define HOUR 3600000LL
#define DAY 86400000LL

/* ms of a UTC time written "2026-01-31T23:59" (or a date). */
static int64_t T(const char *s) {
    int64_t ms;
    cr_assert(pipe_time_parse(s, &ms), "bad test time %s", s);
    return ms;
}

static char *iso(int64_t ms, char *out) {
    if (ms == INT64_MAX) return strcpy(out, "INT64_MAX");
    if (ms == INT64_MIN) return strcpy(out, "INT64_MIN");
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(((ms % 1000) + 1000) % 1000));
    return out;
}

static pipe_schedule parse_ok(const char *text) {
    pipe_schedule s;
    floe_err err = {0};
    cr_assert(pipe_schedule_parse(text, &s, &err), "\"%s\": %s", text, err.msg);
    return s;
}

static void parse_fails(const char *text, const char *expect) {
    pipe_schedule s;
    floe_err err = {0};
    cr_assert_not(pipe_schedule_parse(text, &s, &err), "\"%s\" parsed; expected an error with %s", text, expect);
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, expect), "\"%s\": the error \"%s\" lacks \"%s\"", text, err.msg, expect);
}

/* ================================================================ durations */

Test(pipe_duration, parse) {
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"0", 0},
        {"30", 30000},
        {"500ms", 500},
        {"30s", 30000},
        {"5m", 300000},
        {"2h", 7200000},
        {"1d", 86400000},
        {"1h30m", 5400000},
        {"1d2h3m4s5ms", 93784005},
        {"0s", 0},
        {"90m", 5400000},
        {"100000s", 100000000},
        {"1m1ms", 60001},
        {"9223372036854775ms", 9223372036854775LL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        cr_assert(time_duration_parse(good[i].text, &ms), "\"%s\"", good[i].text);
        cr_assert_eq(ms, good[i].ms, "\"%s\": %lld", good[i].text, (long long)ms);
    }
    static const char *bad[] = {"",
                                "m",
                                "-5s",
                                "5 m",
                                "1.5h",
                                "1h30",
                                "30m1h",
                                "1m1m",
                                "5M",
                                "5sec",
                                "1w",
                                " 5s",
                                "5s ",
                                "h1",
                                "1hh",
                                "5ms5s",
                                "99999999999999999999s",
                                "9223372036854775807s",
                                "106751991167301d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        cr_assert_not(time_duration_parse(bad[i], &ms), "\"%s\" parsed as %lld", bad[i], (long long)ms);
    }
    cr_assert_not(time_duration_parse(NULL, &(int64_t){0}));
}

Test(pipe_duration, format_round_trips) {
    char out[32];
    time_duration_format(0, out);
    cr_assert_str_eq(out, "0s");
    time_duration_format(250, out);
    cr_assert_str_eq(out, "250ms");
    time_duration_format(5400000, out);
    cr_assert_str_eq(out, "1h30m");
    time_duration_format(86400000 + 1, out);
    cr_assert_str_eq(out, "1d1ms");
    time_duration_format(-60000, out);
    cr_assert_str_eq(out, "-1m");
    time_duration_format(INT64_MIN, out); /* must not overflow */
    cr_assert_eq(out[0], '-');
    time_duration_format(INT64_MAX, out);
    int64_t back;
    cr_assert(time_duration_parse(out, &back), "%s", out);
    cr_assert_eq(back, INT64_MAX);
    srand(7);
    for (int i = 0; i < 20000; i++) {
        int64_t v = ((int64_t)rand() << 31 | rand()) % (400LL * DAY);
        if (i % 3 == 0) v = v / 1000 * 1000;
        if (i % 5 == 0) v = v / MIN * MIN;
        time_duration_format(v, out);
        cr_assert(time_duration_parse(out, &back), "%s", out);
        cr_assert_eq(back, v, "%lld -> %s -> %lld", (long long)v, out, (long long)back);
    }
}

/* ================================================================ dates */

Test(pipe_time, parse) {
    int64_t ms;
    cr_assert(pipe_time_parse("1970-01-01", &ms) && ms == 0);
    cr_assert(pipe_time_parse("2026-11-22", &ms) && ms == 1795305600000LL, "%lld", (long long)ms);
    cr_assert(pipe_time_parse("2026-11-22T10:00", &ms) && ms == 1795305600000LL + 10 * HOUR);
    cr_assert(pipe_time_parse("2026-11-22T10:00:00Z", &ms) && ms == 1795305600000LL + 10 * HOUR);
    cr_assert(pipe_time_parse("2026-11-22 10:00:00z", &ms) && ms == 1795305600000LL + 10 * HOUR);
    cr_assert(pipe_time_parse("2026-11-22T10:00:00+02:00", &ms) && ms == 1795305600000LL + 8 * HOUR);
    cr_assert(pipe_time_parse("2026-11-22T10:00-0530", &ms) && ms == 1795305600000LL + 15 * HOUR + 30 * MIN);
    cr_assert(pipe_time_parse("2026-11-22T10:00:00.5Z", &ms) && ms == 1795305600000LL + 10 * HOUR + 500);
    cr_assert(pipe_time_parse("2026-11-22T10:00:00.123456Z", &ms) && ms == 1795305600000LL + 10 * HOUR + 123);
    cr_assert(pipe_time_parse("1795305600000", &ms) && ms == 1795305600000LL);
    cr_assert(pipe_time_parse("-1000", &ms) && ms == -1000);
    cr_assert(pipe_time_parse("1969-12-31T23:59:59Z", &ms) && ms == -1000);
    cr_assert(pipe_time_parse("2024-02-29", &ms) && ms == 1709164800000LL);
    cr_assert(pipe_time_parse("2000-02-29", &ms));
    cr_assert(pipe_time_parse("0001-01-01", &ms) && ms == -62135596800000LL);
    cr_assert(pipe_time_parse("9999-12-31T23:59:59.999Z", &ms) && ms == 253402300799999LL);
    /* every date of 1900-2100 against timegm */
    for (int64_t d = T("1900-01-01") / DAY; d <= T("2100-12-31") / DAY; d += 1) {
        time_t t = (time_t)(d * 86400);
        struct tm tm;
        gmtime_r(&t, &tm);
        char s[32];
        snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 13, 7);
        cr_assert(pipe_time_parse(s, &ms) && ms == d * DAY + 13 * HOUR + 7 * MIN, "%s", s);
    }
    static const char *bad[] = {"",
                                "2026-11",
                                "2026-13-01",
                                "2026-00-10",
                                "2026-11-31",
                                "2026-02-29",
                                "1900-02-29",
                                "2026-11-22T",
                                "2026-11-22T24:00",
                                "2026-11-22T10:60",
                                "2026-11-22T10:00:60",
                                "2026-11-22T10:00:00.Z",
                                "2026-11-22T10:00:00+2",
                                "2026-11-22T10:00:00+24:00",
                                "2026-11-22T10:00:00Zjunk",
                                "2026-11-22x",
                                "26-11-22",
                                "2026/11/22",
                                "0000-01-01",
                                "tomorrow",
                                "-",
                                "12345678901234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_not(pipe_time_parse(bad[i], &ms), "\"%s\" parsed as %lld", bad[i], (long long)ms);
    }
}

/* ================================================================ parsing */

static uint64_t bits(int lo, int hi, int step) {
    uint64_t b = 0;
    for (int v = lo; v <= hi; v += step) b |= 1ull << v;
    return b;
}

Test(pipe_schedule, parse_forms) {
    pipe_schedule s = parse_ok("*/15 6-18 * * MON-FRI");
    cr_assert_eq(s.kind, PIPE_SCHED_CRON);
    cr_assert_eq(s.minute, bits(0, 59, 15));
    cr_assert_eq(s.hour, bits(6, 18, 1));
    cr_assert_eq(s.mday, bits(1, 31, 1));
    cr_assert_eq(s.month, bits(1, 12, 1));
    cr_assert_eq(s.wday, bits(1, 5, 1));
    cr_assert(s.mday_star);
    cr_assert_not(s.wday_star);
    cr_assert_str_eq(s.text, "*/15 6-18 * * MON-FRI");

    s = parse_ok("5-59/10 0,12 1,15,31 jan,Jul-DEC/2 SUN,7");
    cr_assert_eq(s.minute, bits(5, 59, 10));
    cr_assert_eq(s.hour, 1u | 1u << 12);
    cr_assert_eq(s.mday, 1u << 1 | 1u << 15 | 1u << 31);
    cr_assert_eq(s.month, 1u << 1 | 1u << 7 | 1u << 9 | 1u << 11);
    cr_assert_eq(s.wday, 1u);
    cr_assert_not(s.mday_star);
    cr_assert_not(s.wday_star);

    s = parse_ok("  0   0\t* * 5-7 ");
    cr_assert_eq(s.wday, 1u | 1u << 5 | 1u << 6);
    s = parse_ok("0 0 * * 0-7");
    cr_assert_eq(s.wday, 0x7f);
    s = parse_ok("30/10 * * * *"); /* N/STEP: N to the end */
    cr_assert_eq(s.minute, bits(30, 59, 10));
    s = parse_ok("0 */100 * * *"); /* a step larger than the range */
    cr_assert_eq(s.hour, 1u);
    s = parse_ok("0 0 */2 * 1");
    cr_assert(s.mday_star, "a field starting with * is unrestricted (cron(5))");
    cr_assert_eq(s.mday, bits(1, 31, 2));

    static const struct {
        const char *preset, *cron;
    } presets[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                   {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                   {"@hourly", "0 * * * *"}, {"@DAILY", "0 0 * * *"}};
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        pipe_schedule a = parse_ok(presets[i].preset), b = parse_ok(presets[i].cron);
        cr_assert_str_eq(a.text, presets[i].preset);
        cr_assert(a.kind == PIPE_SCHED_CRON && a.minute == b.minute && a.hour == b.hour && a.mday == b.mday &&
                      a.month == b.month && a.wday == b.wday && a.mday_star == b.mday_star &&
                      a.wday_star == b.wday_star,
                  "%s", presets[i].preset);
    }

    s = parse_ok("every 5m");
    cr_assert_eq(s.kind, PIPE_SCHED_INTERVAL);
    cr_assert_eq(s.every_ms, 300000);
    s = parse_ok("EVERY   1h30m");
    cr_assert_eq(s.every_ms, 5400000);
    s = parse_ok("90s");
    cr_assert_eq(s.kind, PIPE_SCHED_INTERVAL);
    cr_assert_eq(s.every_ms, 90000);
    s = parse_ok("3600");
    cr_assert_eq(s.every_ms, 3600000);
    cr_assert_eq(parse_ok("none").kind, PIPE_SCHED_NONE);
    cr_assert_eq(parse_ok("None").kind, PIPE_SCHED_NONE);
    cr_assert_eq(parse_ok("").kind, PIPE_SCHED_NONE);
    cr_assert_eq(parse_ok(NULL).kind, PIPE_SCHED_NONE);
}

Test(pipe_schedule, parse_errors) {
    parse_fails("* * * *", "4 fields; a cron expression has 5");
    parse_fails("0 0 0 * * *", "6 fields");
    parse_fails("60 * * * *", "field 1 (minute) \"60\": 60 is out of range");
    parse_fails("* 24 * * *", "field 2 (hour) \"24\": 24 is out of range");
    parse_fails("* * 0 * *", "field 3 (day-of-month) \"0\"");
    parse_fails("* * 32 * *", "field 3 (day-of-month)");
    parse_fails("* * * 13 *", "field 4 (month)");
    parse_fails("* * * JANUARY *", "field 4 (month) \"JANUARY\": not a value");
    parse_fails("* * * * 8", "field 5 (day-of-week) \"8\"");
    parse_fails("* * * * MON-", "the range has no end");
    parse_fails("*/0 * * * *", "a step of 0");
    parse_fails("*/x * * * *", "the step is not a number");
    parse_fails("5-1 * * * *", "the range runs backwards");
    parse_fails("FRI-MON * * * *", "field 1 (minute) \"FRI-MON\": not a value");
    parse_fails("0 0 * * FRI-MON", "the range runs backwards");
    parse_fails("1,,2 * * * *", "an empty list item");
    parse_fails("1, * * * *", "an empty list item");
    parse_fails("1x * * * *", "unexpected characters");
    parse_fails("? * * * *", "not a value");
    parse_fails("0 0 30 2 *", "never fires");
    parse_fails("0 0 31 2,4,6,9,11 *", "never fires");
    parse_fails("@fortnightly", "unknown preset");
    parse_fails("every", "is not a positive duration");
    parse_fails("every 0s", "is not a positive duration");
    parse_fails("every five minutes", "is not a positive duration");
    parse_fails("0", "\"0\" is not a positive duration"); /* a bare number is seconds */
    parse_fails("1 2", "2 fields");
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    parse_fails(longer, "longer than 127 characters");
    /* these fire, if rarely */
    parse_ok("0 0 29 2 *");
    parse_ok("0 0 31 2,3 *");
    parse_ok("0 0 30 2 MON"); /* either: every Monday of February */
}

/* ================================================================ fixed cases */

static void expect_next(const char *sched, const char *after, const char *want) {
    pipe_schedule s = parse_ok(sched);
    char a[40], b[40];
    int64_t got = pipe_schedule_next(&s, INT64_MIN, T(after));
    cr_assert_eq(got, T(want), "next(\"%s\", %s) = %s, want %s", sched, after, iso(got, a), iso(T(want), b));
}

static void expect_prev(const char *sched, const char *at, const char *want) {
    pipe_schedule s = parse_ok(sched);
    char a[40], b[40];
    int64_t got = pipe_schedule_prev(&s, INT64_MIN, T(at));
    cr_assert_eq(got, T(want), "prev(\"%s\", %s) = %s, want %s", sched, at, iso(got, a), iso(T(want), b));
}

Test(pipe_schedule, next_and_prev_fixed) {
    /* strictly after; at or before */
    expect_next("@hourly", "2026-03-01T10:00", "2026-03-01T11:00");
    expect_next("@hourly", "2026-03-01T09:59:59.999Z", "2026-03-01T10:00");
    expect_prev("@hourly", "2026-03-01T10:00", "2026-03-01T10:00");
    expect_prev("@hourly", "2026-03-01T09:59:59.999Z", "2026-03-01T09:00");
    /* month and year ends */
    expect_next("@daily", "2026-01-31T12:00", "2026-02-01");
    expect_next("@daily", "2026-12-31T00:00", "2027-01-01");
    expect_next("@monthly", "2026-01-31", "2026-02-01");
    expect_next("@yearly", "2026-01-01", "2027-01-01");
    expect_prev("@yearly", "2026-12-31T23:59", "2026-01-01");
    expect_next("0 0 31 * *", "2026-01-31", "2026-03-31");
    expect_next("0 0 31 * *", "2026-03-31", "2026-05-31");
    expect_prev("0 0 31 * *", "2026-05-30", "2026-03-31");
    expect_next("59 23 30 * *", "2026-01-30T23:59", "2026-03-30T23:59");
    /* leap years: 2028 yes, 2100 no, 2000 yes */
    expect_next("0 0 29 2 *", "2026-01-01", "2028-02-29");
    expect_next("0 0 29 2 *", "2096-02-29", "2104-02-29");
    expect_prev("0 0 29 2 *", "2104-02-28", "2096-02-29");
    expect_next("0 0 29 2 *", "1999-01-01", "2000-02-29");
    expect_next("0 12 28-31 2 *", "2027-02-28T12:00", "2028-02-28T12:00");
    expect_next("0 12 28-31 2 *", "2028-02-28T12:00", "2028-02-29T12:00");
    /* @weekly is Sunday midnight; 2026-03-01 is a Sunday */
    expect_next("@weekly", "2026-03-01", "2026-03-08");
    expect_next("@weekly", "2026-02-28T23:59", "2026-03-01");
    expect_prev("@weekly", "2026-03-07T23:59", "2026-03-01");
    expect_next("0 0 * * 7", "2026-03-01", "2026-03-08");
    /* steps */
    expect_next("*/15 * * * *", "2026-03-01T10:00", "2026-03-01T10:15");
    expect_next("*/15 * * * *", "2026-03-01T10:46", "2026-03-01T11:00");
    expect_next("5-59/10 * * * *", "2026-03-01T10:55", "2026-03-01T11:05");
    expect_next("5-59/10 * * * *", "2026-03-01T10:05", "2026-03-01T10:15");
    expect_prev("5-59/10 * * * *", "2026-03-01T11:04", "2026-03-01T10:55");
    expect_next("0 9-17/4 * * MON-FRI", "2026-03-06T17:00", "2026-03-09T09:00"); /* Fri 17:00 -> Mon 09:00 */
    expect_prev("0 9-17/4 * * MON-FRI", "2026-03-09T08:59", "2026-03-06T17:00");
    /* both day fields restricted: either matches (Friday, or the 13th) */
    expect_next("0 0 13 * 5", "2026-03-01", "2026-03-06");     /* a Friday */
    expect_next("0 0 13 * 5", "2026-03-12", "2026-03-13");     /* the 13th, a Friday */
    expect_next("0 0 13 * 5", "2026-04-10", "2026-04-13");     /* the 13th, a Monday */
    expect_next("0 0 1,15 * MON", "2026-03-02", "2026-03-09"); /* Mon 2nd -> Mon 9th */
    expect_next("0 0 30 2 MON", "2026-01-31", "2026-02-02");   /* no Feb 30; Mondays */
    /* one restricted and one starting with "*": both must match */
    expect_next("0 0 */2 * 1", "2026-03-01", "2026-03-09"); /* odd day and Monday */
    expect_next("0 0 * * 1", "2026-03-01", "2026-03-02");
    expect_next("0 0 1 * *", "2026-03-01", "2026-04-01");
    /* minutes and hours carry */
    expect_next("59 23 * * *", "2026-12-31T23:59", "2027-01-01T23:59");
    expect_next("0 0 1 1 *", "2026-12-31T23:59:59.999Z", "2027-01-01");
    expect_prev("0 0 1 1 *", "2027-01-01T00:00:00.000Z", "2027-01-01");
    expect_prev("30 * * * *", "2026-01-01T00:10", "2025-12-31T23:30");
    /* before 1970 */
    expect_next("@daily", "1969-12-31T12:00", "1970-01-01");
    expect_prev("@daily", "1969-12-31T12:00", "1969-12-31");
}

Test(pipe_schedule, limits) {
    pipe_schedule s = parse_ok("@daily"), none = parse_ok("none"), iv = parse_ok("every 1d");
    cr_assert_eq(pipe_schedule_next(&none, 0, 0), INT64_MAX);
    cr_assert_eq(pipe_schedule_prev(&none, 0, 0), INT64_MIN);
    cr_assert_eq(pipe_schedule_next(&s, 0, INT64_MAX), INT64_MAX);
    cr_assert_eq(pipe_schedule_next(&s, 0, INT64_MAX - 1), INT64_MAX);
    cr_assert_eq(pipe_schedule_prev(&s, 0, INT64_MIN), INT64_MIN);
    cr_assert_eq(pipe_schedule_next(&s, 0, INT64_MIN), T("0001-01-01"));
    cr_assert_eq(pipe_schedule_prev(&s, 0, INT64_MAX), T("9999-12-31"));
    cr_assert_eq(pipe_schedule_next(&s, 0, T("9999-12-31")), INT64_MAX);
    cr_assert_eq(pipe_schedule_next(&iv, INT64_MAX, 0), INT64_MAX);
    cr_assert_eq(pipe_schedule_prev(&iv, 0, INT64_MIN), INT64_MIN);
    pipe_schedule huge = parse_ok("every 106751991167d"); /* near INT64_MAX ms */
    cr_assert_eq(pipe_schedule_next(&huge, 0, 1), INT64_MAX);
    cr_assert_eq(pipe_schedule_prev(&huge, 0, -1), INT64_MIN);
    cr_assert_eq(pipe_schedule_prev(&huge, 0, 1), 0);
}

/* ================================================================ intervals */

Test(pipe_schedule, interval_anchoring) {
    pipe_schedule s = parse_ok("every 5m");
    int64_t anchor = T("2026-01-01T10:02");
    cr_assert_eq(pipe_schedule_next(&s, anchor, anchor), anchor + 5 * MIN);
    cr_assert_eq(pipe_schedule_next(&s, anchor, anchor - 1), anchor);
    cr_assert_eq(pipe_schedule_next(&s, anchor, anchor + 5 * MIN - 1), anchor + 5 * MIN);
    cr_assert_eq(pipe_schedule_next(&s, anchor, anchor - 3 * MIN), anchor);
    cr_assert_eq(pipe_schedule_next(&s, anchor, anchor - 6 * MIN), anchor - 5 * MIN);
    cr_assert_eq(pipe_schedule_prev(&s, anchor, anchor), anchor);
    cr_assert_eq(pipe_schedule_prev(&s, anchor, anchor - 1), anchor - 5 * MIN);
    cr_assert_eq(pipe_schedule_prev(&s, anchor, anchor + 12 * MIN), anchor + 10 * MIN);
    /* not aligned to the clock: to the anchor */
    cr_assert_eq(pipe_schedule_next(&s, anchor, T("2026-03-01T00:00")) % (5 * MIN), anchor % (5 * MIN));
    /* no anchor: the epoch */
    cr_assert_eq(pipe_schedule_next(&s, INT64_MIN, T("2026-03-01T00:01")), T("2026-03-01T00:05"));
    /* random times: prev <= t < next, next - prev = every, both on the lattice */
    srand(11);
    for (int i = 0; i < 20000; i++) {
        int64_t every = 1 + rand() % 100000000;
        pipe_schedule iv = {.kind = PIPE_SCHED_INTERVAL, .every_ms = every};
        int64_t a = ((int64_t)rand() << 13) - (1LL << 43), t = ((int64_t)rand() << 14) - (1LL << 44);
        int64_t n = pipe_schedule_next(&iv, a, t), p = pipe_schedule_prev(&iv, a, t);
        cr_assert(p <= t && t < n && n - p <= every && (n - a) % every == 0 && (p - a) % every == 0);
        cr_assert(n - p == every || p == t);
    }
}

/* ================================================================ the reference */

/* A cron schedule as the generator meant it. */
typedef struct ref_cron {
    uint64_t minute;
    uint32_t hour, mday;
    uint16_t month;
    uint8_t wday;
    bool mday_star, wday_star;
} ref_cron;

typedef struct civ {
    int y, mo, d, h, mi, wd;
} civ;

static int ref_dim(int y, int mo) {
    static const int dim[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : dim[mo];
}

static civ ref_civ(int64_t ms) {
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    gmtime_r(&t, &tm);
    return (civ){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_wday};
}

static int64_t ref_ms(const civ *c) {
    struct tm tm = {.tm_year = c->y - 1900, .tm_mon = c->mo - 1, .tm_mday = c->d, .tm_hour = c->h, .tm_min = c->mi};
    return (int64_t)timegm(&tm) * 1000;
}

static bool ref_match(const ref_cron *r, const civ *c) {
    if (!(r->minute >> c->mi & 1) || !(r->hour >> c->h & 1) || !(r->month >> c->mo & 1)) return false;
    bool md = r->mday >> c->d & 1, wd = r->wday >> c->wd & 1;
    return r->mday_star || r->wday_star ? md && wd : md || wd;
}

static void ref_inc(civ *c) {
    if (++c->mi < 60) return;
    c->mi = 0;
    if (++c->h < 24) return;
    c->h = 0;
    c->wd = (c->wd + 1) % 7;
    if (++c->d <= ref_dim(c->y, c->mo)) return;
    c->d = 1;
    if (++c->mo <= 12) return;
    c->mo = 1;
    c->y++;
}

static void ref_dec(civ *c) {
    if (--c->mi >= 0) return;
    c->mi = 59;
    if (--c->h >= 0) return;
    c->h = 23;
    c->wd = (c->wd + 6) % 7;
    if (--c->d >= 1) return;
    if (--c->mo < 1) c->mo = 12, c->y--;
    c->d = ref_dim(c->y, c->mo);
}

#define REF_LIMIT (400 * 1440) /* minutes the reference steps before it gives up */

/* The first match strictly after t, minute by minute; INT64_MAX when none
 * within the limit. */
static int64_t ref_next(const ref_cron *r, int64_t t) {
    int64_t m = (t / MIN - (t % MIN < 0)) * MIN;
    civ c = ref_civ(m);
    for (int i = 0; i < REF_LIMIT; i++) {
        ref_inc(&c);
        if (ref_match(r, &c)) return ref_ms(&c);
    }
    return INT64_MAX;
}

static int64_t ref_prev(const ref_cron *r, int64_t t) {
    int64_t m = (t / MIN - (t % MIN < 0)) * MIN;
    civ c = ref_civ(m);
    for (int i = 0; i < REF_LIMIT; i++) {
        if (ref_match(r, &c)) return ref_ms(&c);
        ref_dec(&c);
    }
    return INT64_MIN;
}

/* ---- random schedules, as text and as the sets they mean ---- */

static const char *MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *WDAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

static int rnd(int lo, int hi) { return lo + rand() % (hi - lo + 1); }

/* A value as a number, or sometimes as a name in either case. */
static void put_value(char *out, int field, int v) {
    const char *name = field == 3 ? MONTHS[v - 1] : field == 4 && v < 7 ? WDAYS[v] : NULL; /* SUN is 0 */
    if (!name || rand() % 3) {
        sprintf(out + strlen(out), "%d", v);
        return;
    }
    size_t n = strlen(out);
    strcat(out, name);
    if (rand() % 2)
        for (size_t i = n; out[i]; i++) out[i] = (char)(out[i] - 'A' + 'a');
}

/* One field between lo and hi: text into out, the set into *set. */
static void gen_field(int field, int lo, int hi, char *out, uint64_t *set, bool *star) {
    out[0] = 0;
    *set = 0;
    int kind = rand() % 10;
    if (kind < 4) { /* "*" is common, so schedules fire often enough */
        strcpy(out, "*");
        *set = bits(lo, hi, 1);
    } else if (kind == 4) {
        int step = rnd(1, hi - lo + 1);
        sprintf(out, "*/%d", step);
        *set = bits(lo, hi, step);
    } else {
        int items = rnd(1, 3);
        for (int i = 0; i < items; i++) {
            if (i) strcat(out, ",");
            int a = rnd(lo, hi), b = rnd(a, hi), form = rand() % 4;
            if (field == 4 && a == 0 && form != 2 && rand() % 2) a = 7, b = 7; /* Sunday as 7 */
            put_value(out, field, a);
            if (form == 0) {
                *set |= bits(a, a, 1);
                continue;
            }
            int step = form == 3 ? rnd(1, 7) : 1;
            if (form == 2) { /* N/STEP */
                sprintf(out + strlen(out), "/%d", step = rnd(1, 9));
                *set |= bits(a, hi, step);
                continue;
            }
            strcat(out, "-");
            put_value(out, field, b);
            if (form == 3) sprintf(out + strlen(out), "/%d", step);
            *set |= bits(a, b, step);
        }
    }
    *star = out[0] == '*';
}

static bool ref_can_fire(const ref_cron *r) {
    if (!r->mday_star && !r->wday_star) return true;
    for (int mo = 1; mo <= 12; mo++)
        if (r->month >> mo & 1)
            for (int d = 1; d <= ref_dim(2000, mo); d++)
                if (r->mday >> d & 1) return true;
    return false;
}

static void gen_cron(char *text, ref_cron *r) {
    static const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
    char f[5][128];
    uint64_t set[5];
    bool star[5];
    for (int i = 0; i < 5; i++) gen_field(i, lo[i], i == 4 ? 6 : hi[i], f[i], &set[i], &star[i]);
    sprintf(text, "%s %s %s %s %s", f[0], f[1], f[2], f[3], f[4]);
    r->minute = set[0];
    r->hour = (uint32_t)set[1];
    r->mday = (uint32_t)set[2];
    r->month = (uint16_t)set[3];
    r->wday = (uint8_t)((set[4] | set[4] >> 7) & 0x7f);
    r->mday_star = star[2];
    r->wday_star = star[4];
}

static int64_t random_time(void) {
    int64_t base = T("1970-01-01") + (int64_t)rnd(0, 130 * 366) * DAY;
    switch (rand() % 4) {
    case 0: return base + (int64_t)rand() % DAY;                             /* anywhere */
    case 1: return base + (int64_t)rnd(0, 1439) * MIN;                       /* on a minute */
    case 2: return base - rnd(0, 2);                                         /* just before midnight */
    default: return T("2100-02-28") + (int64_t)rnd(-3, 3) * DAY - rnd(0, 1); /* near a skipped leap day */
    }
}

Test(pipe_schedule, random_against_minute_stepping, .timeout = 120) {
    srand(20261122);
    int checked = 0, fired = 0;
    for (int n = 0; n < 1000; n++) {
        char text[700];
        ref_cron r;
        gen_cron(text, &r);
        pipe_schedule s;
        floe_err err = {0};
        bool ok = pipe_schedule_parse(text, &s, &err);
        if (strlen(text) >= sizeof s.text) {
            cr_assert_not(ok);
            continue;
        }
        if (!ref_can_fire(&r)) {
            cr_assert_not(ok, "\"%s\" never fires but parsed", text);
            cr_assert(strstr(err.msg, "never fires"), "%s", err.msg);
            continue;
        }
        cr_assert(ok, "\"%s\": %s", text, err.msg);
        cr_assert(s.minute == r.minute && s.hour == r.hour && s.mday == r.mday && s.month == r.month &&
                      s.wday == r.wday && s.mday_star == r.mday_star && s.wday_star == r.wday_star,
                  "\"%s\": the parsed sets differ from the meant ones", text);
        for (int k = 0; k < 8; k++) {
            int64_t t = random_time();
            char a[40], b[40], c[40];
            int64_t want = ref_next(&r, t), got = pipe_schedule_next(&s, INT64_MIN, t);
            if (want == INT64_MAX)
                cr_assert(got > t + (int64_t)REF_LIMIT * MIN, "\"%s\" after %s: %s, the reference found none", text,
                          iso(t, a), iso(got, b));
            else
                cr_assert_eq(got, want, "\"%s\" next after %s: %s, want %s", text, iso(t, a), iso(got, b),
                             iso(want, c));
            int64_t pwant = ref_prev(&r, t), pgot = pipe_schedule_prev(&s, INT64_MIN, t);
            if (pwant == INT64_MIN)
                cr_assert(pgot < t - (int64_t)REF_LIMIT * MIN, "\"%s\" at %s: %s, the reference found none", text,
                          iso(t, a), iso(pgot, b));
            else
                cr_assert_eq(pgot, pwant, "\"%s\" prev at %s: %s, want %s", text, iso(t, a), iso(pgot, b),
                             iso(pwant, c));
            /* inverse properties */
            cr_assert(got > t && pgot <= t);
            if (got != INT64_MAX) {
                cr_assert_eq(pipe_schedule_prev(&s, INT64_MIN, got), got);
                cr_assert_eq(pipe_schedule_prev(&s, INT64_MIN, got - 1), pgot, "\"%s\" at %s", text, iso(t, a));
                fired++;
            }
            if (pgot != INT64_MIN) cr_assert_eq(pipe_schedule_next(&s, INT64_MIN, pgot), got);
            checked++;
        }
    }
    cr_assert_gt(checked, 5000);
    cr_assert_gt(fired, 4000);
}

/* Walking a schedule forward then back visits the same fire times. */
Test(pipe_schedule, walk_forward_and_back) {
    static const char *scheds[] = {"*/7 */5 * * *", "0 0 29 2 *",   "13 13 13 * 5", "0 0 31 * *",
                                   "@weekly",       "0 12 * 2 0-6", "1-5 0 1 * *"};
    for (size_t i = 0; i < sizeof scheds / sizeof scheds[0]; i++) {
        pipe_schedule s = parse_ok(scheds[i]);
        int64_t t = T("1999-06-15T13:13"), fires[300];
        for (int k = 0; k < 300; k++) t = fires[k] = pipe_schedule_next(&s, INT64_MIN, t);
        for (int k = 299; k > 0; k--) cr_assert_eq(pipe_schedule_prev(&s, INT64_MIN, fires[k] - 1), fires[k - 1]);
    }
}

/* ================================================================ the timetable */

typedef struct due {
    bool ok;
    int64_t start, end, next_check;
} due;

static due next_iv(const char *sched, int64_t start, int64_t end, bool catchup, int64_t last, int64_t now) {
    pipe_schedule s = parse_ok(sched);
    due d = {.start = -1, .end = -1};
    d.ok = pipe_next_interval(&s, start, end, catchup, last, now, &d.start, &d.end, &d.next_check);
    return d;
}

Test(pipe_interval, catchup_runs_every_missed_interval) {
    int64_t start = T("2026-01-01"), now = T("2026-01-03T05:00");
    due d = next_iv("@daily", start, INT64_MAX, true, INT64_MIN, now);
    cr_assert(d.ok && d.start == T("2026-01-01") && d.end == T("2026-01-02"));
    d = next_iv("@daily", start, INT64_MAX, true, d.end, now);
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
    d = next_iv("@daily", start, INT64_MAX, true, d.end, now);
    cr_assert_not(d.ok);
    cr_assert_eq(d.next_check, T("2026-01-04"), "the interval [01-03, 01-04) is due when it ends");
}

Test(pipe_interval, without_catchup_only_the_latest) {
    int64_t start = T("2025-01-01"), now = T("2026-01-03T05:00");
    due d = next_iv("@daily", start, INT64_MAX, false, INT64_MIN, now);
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
    d = next_iv("@daily", start, INT64_MAX, false, d.end, now);
    cr_assert(!d.ok && d.next_check == T("2026-01-04"));
    /* a long pause: the missed days are skipped */
    d = next_iv("@daily", start, INT64_MAX, false, T("2025-06-01"), now);
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
    /* with catchup the same pause runs 2025-06-01 first */
    d = next_iv("@daily", start, INT64_MAX, true, T("2025-06-01"), now);
    cr_assert(d.ok && d.start == T("2025-06-01") && d.end == T("2025-06-02"));
}

Test(pipe_interval, interval_ends_exactly_now) {
    due d = next_iv("@daily", T("2026-01-01"), INT64_MAX, true, INT64_MIN, T("2026-01-02"));
    cr_assert(d.ok && d.start == T("2026-01-01") && d.end == T("2026-01-02"));
    d = next_iv("@daily", T("2026-01-01"), INT64_MAX, true, INT64_MIN, T("2026-01-02") - 1);
    cr_assert(!d.ok && d.next_check == T("2026-01-02"));
}

Test(pipe_interval, unaligned_start_date) {
    /* the first interval starts at the first fire at or after start_date */
    int64_t start = T("2026-01-01T10:00");
    due d = next_iv("@daily", start, INT64_MAX, true, INT64_MIN, T("2026-01-02T12:00"));
    cr_assert(!d.ok && d.next_check == T("2026-01-03"));
    d = next_iv("@daily", start, INT64_MAX, true, INT64_MIN, T("2026-01-03T00:00"));
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
    /* an interval schedule starts at start_date itself */
    d = next_iv("every 6h", start, INT64_MAX, true, INT64_MIN, T("2026-01-01T16:00"));
    cr_assert(d.ok && d.start == start && d.end == start + 6 * HOUR);
}

Test(pipe_interval, start_date_in_the_future) {
    due d = next_iv("@hourly", T("2026-02-01"), INT64_MAX, false, INT64_MIN, T("2026-01-15"));
    cr_assert(!d.ok && d.next_check == T("2026-02-01T01:00"));
    d = next_iv("@hourly", T("2026-02-01"), INT64_MAX, true, INT64_MIN, T("2026-01-15"));
    cr_assert(!d.ok && d.next_check == T("2026-02-01T01:00"));
}

Test(pipe_interval, end_date) {
    int64_t start = T("2026-01-01"), end = T("2026-01-02");
    /* an interval runs when it starts at or before end_date */
    due d = next_iv("@daily", start, end, true, T("2026-01-02"), T("2026-02-01"));
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
    d = next_iv("@daily", start, end, true, T("2026-01-03"), T("2026-02-01"));
    cr_assert(!d.ok && d.next_check == INT64_MAX, "past end_date: never again");
    d = next_iv("@daily", start, end, false, INT64_MIN, T("2026-02-01"));
    cr_assert(!d.ok && d.next_check == INT64_MAX);
    /* before the end, the next check is still the interval's end */
    d = next_iv("@daily", start, end, true, T("2026-01-02"), T("2026-01-02T12:00"));
    cr_assert(!d.ok && d.next_check == T("2026-01-03"));
}

Test(pipe_interval, schedule_changed_under_a_last_run) {
    /* the last interval ended at 07:00 under an older schedule */
    due d = next_iv("@daily", T("2026-01-01"), INT64_MAX, true, T("2026-01-02T07:00"), T("2026-01-10"));
    cr_assert(d.ok && d.start == T("2026-01-03") && d.end == T("2026-01-04"));
}

Test(pipe_interval, none_and_every) {
    due d = next_iv("none", T("2026-01-01"), INT64_MAX, true, INT64_MIN, T("2027-01-01"));
    cr_assert(!d.ok && d.next_check == INT64_MAX);
    int64_t start = T("2026-01-01T10:02");
    d = next_iv("every 5m", start, INT64_MAX, false, INT64_MIN, T("2026-01-01T10:20"));
    cr_assert(d.ok && d.start == T("2026-01-01T10:12") && d.end == T("2026-01-01T10:17"));
    d = next_iv("every 5m", start, INT64_MAX, true, INT64_MIN, T("2026-01-01T10:20"));
    cr_assert(d.ok && d.start == start && d.end == T("2026-01-01T10:07"));
}

Test(pipe_interval, no_start_date) {
    /* the loader refuses a schedule without start_date; a caller without
     * one gets the latest interval, never a run from year 1 */
    due d = next_iv("@daily", INT64_MIN, INT64_MAX, true, INT64_MIN, T("2026-01-03T05:00"));
    cr_assert(d.ok && d.start == T("2026-01-02") && d.end == T("2026-01-03"));
}

/* A simulated clock: the scheduler's loop, sleeping until next_check. */
static void simulate(const char *sched, bool catchup, int64_t start, int64_t end, int64_t from, int64_t to, int *runs) {
    pipe_schedule s = parse_ok(sched);
    int64_t now = from, last = INT64_MIN;
    *runs = 0;
    while (now <= to) {
        int64_t a, b, check;
        if (pipe_next_interval(&s, start, end, catchup, last, now, &a, &b, &check)) {
            cr_assert(b <= now, "an interval runs only once it has ended");
            cr_assert(a >= start && a <= end);
            cr_assert_eq(pipe_schedule_next(&s, start, a), b);
            if (last != INT64_MIN) {
                cr_assert(a >= last, "intervals never overlap");
                if (catchup) cr_assert_eq(a, last, "with catchup none is skipped");
            }
            last = b;
            (*runs)++;
            continue;
        }
        cr_assert(check > now);
        if (check == INT64_MAX) break;
        /* nothing is due before the check time */
        if (check - 1 > now)
            cr_assert_not(pipe_next_interval(&s, start, end, catchup, last, check - 1, &a, &b, &check));
        if (check > to) break;
        now = check + rand() % 3 * (rand() % 2 ? HOUR : MIN); /* the scheduler wakes up late sometimes */
        if (now > to) now = to;
    }
}

Test(pipe_interval, simulated_clock) {
    int runs;
    srand(5);
    simulate("@hourly", true, T("2026-01-01"), INT64_MAX, T("2026-01-03"), T("2026-01-04"), &runs);
    cr_assert_eq(runs, 72, "catchup runs every hour from start_date: %d", runs);
    simulate("@hourly", false, T("2026-01-01"), INT64_MAX, T("2026-01-03"), T("2026-01-04"), &runs);
    cr_assert(runs >= 10 && runs <= 25, "%d", runs);
    simulate("*/10 * * * *", true, T("2026-01-01T00:05"), T("2026-01-01T12:00"), T("2026-01-01"), T("2026-01-02"),
             &runs);
    cr_assert_eq(runs, 72, "%d", runs); /* starts 00:10 .. 12:00, end_date inclusive */
    simulate("every 7m", true, T("2026-01-01T00:03"), INT64_MAX, T("2026-01-01"), T("2026-01-01T07:03"), &runs);
    cr_assert_eq(runs, 60, "%d", runs); /* the last ends at 07:03 */
}

Test(pipe_trigger, names) {
    static const char *names[] = {"all_success", "all_done",    "all_failed", "one_success",
                                  "one_failed",  "none_failed", "always"};
    for (int r = PIPE_TRIGGER_ALL_SUCCESS; r <= PIPE_TRIGGER_ALWAYS; r++)
        cr_assert_str_eq(pipe_trigger_name(r), names[r]);
}
