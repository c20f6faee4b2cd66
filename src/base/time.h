/*
 * time.h: clocks and the date formats of HTTP and S3.
 */
#ifndef FLOE_BASE_TIME_H
#define FLOE_BASE_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

int64_t time_now_ms(void);   /* wall clock, ms since the epoch */
uint64_t time_mono_ns(void); /* monotonic */

/* "Sun, 06 Nov 1994 08:49:37 GMT" into out[32]. */
void time_http_date(int64_t epoch_s, char out[32]);
/* Parses IMF-fixdate, RFC 850 and asctime forms. */
bool time_parse_http_date(const char *s, int64_t *epoch_s);
/* "2009-10-12T17:50:30.000Z" into out[32]. */
void time_iso8601_ms(int64_t epoch_ms, char out[32]);
/* Parses "20130524T000000Z" (SigV4's X-Amz-Date). */
bool time_parse_amz_date(const char *s, int64_t *epoch_s);
/* Parses "2009-10-12T17:50:30Z" or with ".000Z" fraction. */
bool time_parse_iso8601(const char *s, int64_t *epoch_s);

/* Parses a duration: "500ms", "30s", "5m", "2h", "1d", or a combination
 * ("1h30m"); a bare integer is seconds. Returns false on anything else. */
bool time_duration_parse(const char *text, int64_t *ms);
/* Formats ms as the parser reads it ("1h30m", "250ms", "0s"). */
void time_duration_format(int64_t ms, char out[32]);

#endif
