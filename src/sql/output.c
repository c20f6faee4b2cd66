/*
 * output.c: values in their text and JSON forms, and the csv, json and
 * table result writers (output.h).
 */
#include "sql/output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "format/text.h"

bool sql_out_format_parse(const char *name, sql_out_format *out) {
    if (!strcasecmp(name, "table"))
        *out = SQL_OUT_TABLE;
    else if (!strcasecmp(name, "csv"))
        *out = SQL_OUT_CSV;
    else if (!strcasecmp(name, "json"))
        *out = SQL_OUT_JSON;
    else
        return false;
    return true;
}

/* ---------------------------------------------------------------- values */

static __int128 dec_unscaled(const fmt_vec_t *v, uint32_t i) {
    if (v->dict) return dec_unscaled(v->dict, ((const uint32_t *)v->values)[i]);
    if (fmt_type_width(v->field) == 16) {
        __int128 x;
        memcpy(&x, (const uint8_t *)v->values + 16 * (size_t)i, 16);
        return x;
    }
    return fmt_vec_i64(v, i);
}

static void put_decimal(buf_t *out, __int128 x, int scale) {
    char digits[48];
    int n = 0;
    bool neg = x < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)x : (unsigned __int128)x;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale) digits[n++] = '0'; /* at least one digit before the point */
    if (neg) buf_putc(out, '-');
    for (int k = n - 1; k >= 0; k--) {
        buf_putc(out, digits[k]);
        if (k == scale && scale > 0) buf_putc(out, '.');
    }
}

/* The shortest %g form that reads back as the same double. */
static void put_double(buf_t *out, double x, bool single) {
    if (isnan(x)) {
        buf_puts(out, "NaN");
        return;
    }
    if (isinf(x)) {
        buf_puts(out, x < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char s[40];
    for (int prec = single ? 6 : 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, x);
        if (single ? strtof(s, NULL) == (float)x : strtod(s, NULL) == x) break;
    }
    buf_puts(out, s);
    if (!strpbrk(s, ".en")) buf_puts(out, ".0");
}

/* Seconds-and-fraction of a time of day: 12:34:56[.f], trailing zeros of
 * the fraction trimmed. per is 10^6 or 10^9. */
static void put_clock(buf_t *out, int64_t sod, int64_t frac, int64_t per) {
    buf_printf(out, "%02lld:%02lld:%02lld", (long long)(sod / 3600), (long long)(sod / 60 % 60), (long long)(sod % 60));
    if (!frac) return;
    char f[16];
    int w = per == 1000000000LL ? 9 : 6;
    snprintf(f, sizeof f, "%0*lld", w, (long long)frac);
    int n = w;
    while (n > 1 && f[n - 1] == '0') n--;
    buf_putc(out, '.');
    buf_append(out, f, (size_t)n);
}

static void put_timestamp(buf_t *out, int64_t x, fmt_type t) {
    bool ns = t == FMT_TIMESTAMP_NS || t == FMT_TIMESTAMPTZ_NS;
    int64_t per = ns ? 1000000000LL : 1000000LL;
    int64_t s = x / per, frac = x % per;
    if (frac < 0) frac += per, s--;
    int64_t days = s / 86400, sod = s % 86400;
    if (sod < 0) sod += 86400, days--;
    int64_t y;
    unsigned m, d;
    fmt_civil_from_days(days, &y, &m, &d);
    buf_printf(out, "%04lld-%02u-%02u ", (long long)y, m, d);
    put_clock(out, sod, frac, per);
    if (t == FMT_TIMESTAMPTZ || t == FMT_TIMESTAMPTZ_NS) buf_puts(out, "+00");
}

void sql_value_text(buf_t *out, const fmt_vec_t *v, uint32_t i) {
    if (!fmt_vec_valid(v, i)) return;
    const fmt_field_t *f = v->field;
    switch (f->type) {
    case FMT_BOOLEAN: buf_puts(out, fmt_vec_i64(v, i) ? "true" : "false"); return;
    case FMT_INT:
    case FMT_LONG: buf_printf(out, "%lld", (long long)fmt_vec_i64(v, i)); return;
    case FMT_FLOAT: put_double(out, fmt_vec_f64(v, i), true); return;
    case FMT_DOUBLE: put_double(out, fmt_vec_f64(v, i), false); return;
    case FMT_DECIMAL: put_decimal(out, dec_unscaled(v, i), f->scale); return;
    case FMT_DATE: {
        int64_t y;
        unsigned m, d;
        fmt_civil_from_days(fmt_vec_i64(v, i), &y, &m, &d);
        buf_printf(out, "%04lld-%02u-%02u", (long long)y, m, d);
        return;
    }
    case FMT_TIME: {
        int64_t x = fmt_vec_i64(v, i);
        put_clock(out, x / 1000000, x % 1000000, 1000000);
        return;
    }
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: put_timestamp(out, fmt_vec_i64(v, i), f->type); return;
    case FMT_STRING: {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(v, i, &n);
        buf_append(out, p, n);
        return;
    }
    case FMT_UUID: {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(v, i, &n);
        fmt_value_text(out, f, p, n);
        return;
    }
    case FMT_BINARY:
    case FMT_FIXED: {
        uint32_t n;
        const uint8_t *p = fmt_vec_bytes(v, i, &n);
        buf_puts(out, "\\x");
        buf_reserve(out, 2 * (size_t)n + 1);
        str_hex(p, n, out->data + out->len);
        out->len += 2 * (size_t)n;
        out->data[out->len] = '\0';
        return;
    }
    default: fmt_value_plain(out, v, i); return; /* nested: JSON */
    }
}

static void json_string(buf_t *out, const char *p, size_t n) {
    buf_putc(out, '"');
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)c);
        } else if (c < 0x20) {
            switch (c) {
            case '\n': buf_puts(out, "\\n"); break;
            case '\r': buf_puts(out, "\\r"); break;
            case '\t': buf_puts(out, "\\t"); break;
            default: buf_printf(out, "\\u%04x", c);
            }
        } else {
            buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

void sql_value_json(buf_t *out, const fmt_vec_t *v, uint32_t i) {
    if (!fmt_vec_valid(v, i)) {
        buf_puts(out, "null");
        return;
    }
    switch (v->field->type) {
    case FMT_BOOLEAN:
    case FMT_INT:
    case FMT_LONG:
    case FMT_DECIMAL: sql_value_text(out, v, i); return;
    case FMT_FLOAT:
    case FMT_DOUBLE: {
        double x = fmt_vec_f64(v, i);
        if (isfinite(x)) {
            sql_value_text(out, v, i);
            return;
        }
        break; /* NaN and the infinities as strings */
    }
    case FMT_STRUCT:
    case FMT_LIST:
    case FMT_MAP: fmt_value_plain(out, v, i); return;
    default: break;
    }
    buf_t t = BUF_INIT;
    sql_value_text(&t, v, i);
    json_string(out, t.data ? t.data : "", t.len);
    buf_free(&t);
}

/* ---------------------------------------------------------------- writers */

struct sql_writer {
    sql_out_format format;
    FILE *f;
    char **names;
    uint32_t ncols;
    uint64_t rows;
    buf_t line;
    /* table: every cell's text, row by row, and whether it is NULL */
    char **cells;
    uint8_t *is_null;
    size_t ncells, cap;
};

sql_writer *sql_writer_new(sql_out_format format, FILE *f) {
    sql_writer *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->format = format;
    w->f = f;
    return w;
}

static void names_free(sql_writer *w) {
    for (uint32_t c = 0; c < w->ncols; c++) free(w->names[c]);
    free(w->names);
    w->names = NULL;
    w->ncols = 0;
}

void sql_writer_begin(sql_writer *w, const char *const *names, uint32_t ncols) {
    names_free(w);
    w->names = calloc(ncols ? ncols : 1, sizeof *w->names);
    if (!w->names) abort();
    for (uint32_t c = 0; c < ncols; c++) w->names[c] = strdup(names[c]);
    w->ncols = ncols;
    w->rows = 0;
    if (w->format == SQL_OUT_CSV) {
        buf_reset(&w->line);
        for (uint32_t c = 0; c < ncols; c++) {
            if (c) buf_putc(&w->line, ',');
            fmt_csv_field(&w->line, names[c], strlen(names[c]), true);
        }
        buf_putc(&w->line, '\n');
        fwrite(w->line.data, 1, w->line.len, w->f);
    }
}

static void cell_push(sql_writer *w, const char *s, size_t n, bool is_null) {
    if (w->ncells == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 256;
        w->cells = realloc(w->cells, w->cap * sizeof *w->cells);
        w->is_null = realloc(w->is_null, w->cap);
        if (!w->cells || !w->is_null) abort();
    }
    w->cells[w->ncells] = strndup(s, n);
    if (!w->cells[w->ncells]) abort();
    w->is_null[w->ncells++] = is_null;
}

void sql_writer_batch(sql_writer *w, const fmt_batch_t *b) {
    buf_t t = BUF_INIT;
    for (uint32_t r = 0; r < b->nrows; r++) {
        buf_reset(&w->line);
        for (uint32_t c = 0; c < w->ncols && c < b->ncols; c++) {
            const fmt_vec_t *v = &b->cols[c];
            bool valid = fmt_vec_valid(v, r);
            switch (w->format) {
            case SQL_OUT_CSV:
                if (c) buf_putc(&w->line, ',');
                if (valid) {
                    buf_reset(&t);
                    sql_value_text(&t, v, r);
                    fmt_csv_field(&w->line, t.data ? t.data : "", t.len, true);
                }
                break;
            case SQL_OUT_JSON:
                buf_putc(&w->line, c ? ',' : '{');
                json_string(&w->line, w->names[c], strlen(w->names[c]));
                buf_putc(&w->line, ':');
                sql_value_json(&w->line, v, r);
                break;
            case SQL_OUT_TABLE:
                buf_reset(&t);
                if (valid) sql_value_text(&t, v, r);
                cell_push(w, valid ? (t.data ? t.data : "") : "NULL", valid ? t.len : 4, !valid);
                break;
            }
        }
        if (w->format == SQL_OUT_JSON) buf_puts(&w->line, w->ncols ? "}" : "{}");
        if (w->format != SQL_OUT_TABLE) {
            buf_putc(&w->line, '\n');
            fwrite(w->line.data, 1, w->line.len, w->f);
        }
        w->rows++;
    }
    buf_free(&t);
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t text_width(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static void pad(FILE *f, size_t n) {
    for (size_t k = 0; k < n; k++) fputc(' ', f);
}

void sql_writer_end(sql_writer *w, double ms) {
    if (w->format == SQL_OUT_TABLE && w->ncols) {
        size_t *width = calloc(w->ncols, sizeof *width);
        if (!width) abort();
        for (uint32_t c = 0; c < w->ncols; c++) width[c] = text_width(w->names[c]);
        for (size_t k = 0; k < w->ncells; k++) {
            size_t n = text_width(w->cells[k]);
            if (n > width[k % w->ncols]) width[k % w->ncols] = n;
        }
        for (uint32_t c = 0; c < w->ncols; c++) {
            fprintf(w->f, "%s%s", c ? " | " : "", w->names[c]);
            if (c + 1 < w->ncols) pad(w->f, width[c] - text_width(w->names[c]));
        }
        fputc('\n', w->f);
        for (uint32_t c = 0; c < w->ncols; c++) {
            if (c) fputs("-+-", w->f);
            for (size_t k = 0; k < width[c]; k++) fputc('-', w->f);
        }
        fputc('\n', w->f);
        for (size_t k = 0; k < w->ncells; k++) {
            uint32_t c = (uint32_t)(k % w->ncols);
            fprintf(w->f, "%s%s", c ? " | " : "", w->cells[k]);
            if (c + 1 < w->ncols)
                pad(w->f, width[c] - text_width(w->cells[k]));
            else
                fputc('\n', w->f);
        }
        free(width);
        fprintf(w->f, "(%llu row%s)", (unsigned long long)w->rows, w->rows == 1 ? "" : "s");
        if (ms >= 0) fprintf(w->f, " in %.3f ms", ms);
        fputc('\n', w->f);
    }
    for (size_t k = 0; k < w->ncells; k++) free(w->cells[k]);
    w->ncells = 0;
    fflush(w->f);
}

void sql_writer_free(sql_writer *w) {
    if (!w) return;
    for (size_t k = 0; k < w->ncells; k++) free(w->cells[k]);
    free(w->cells);
    free(w->is_null);
    names_free(w);
    buf_free(&w->line);
    free(w);
}
