/*
 * text.c: JSON lines and CSV into column batches, and values back out as
 * JSON, CSV or plain text. See text.h for the accepted forms.
 */
#include "format/text.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

/* ---- dates and times ---- */

int64_t fmt_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void fmt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int month_days(int y, int m) {
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return md[m - 1];
}

/* "YYYY-MM-DD" at s; returns characters used or 0. */
static int parse_ymd(const char *s, int64_t *days) {
    int y, m, d;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d)) return 0;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return 0;
    *days = fmt_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 10;
}

/* "HH:MM[:SS[.ffffff]]"; returns characters used or 0. */
static int parse_hms(const char *s, int64_t *micros) {
    int h, mi, sec = 0;
    if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &mi)) return 0;
    int n = 5;
    int64_t frac = 0;
    if (s[5] == ':') {
        if (!digits(s + 6, 2, &sec)) return 0;
        n = 8;
        if (s[8] == '.') {
            int k = 0;
            n = 9;
            while (isdigit((unsigned char)s[n])) {
                if (k < 6) frac = frac * 10 + (s[n] - '0');
                k++;
                n++;
            }
            if (k == 0 || k > 9) return 0;
            for (; k < 6; k++) frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59) return 0;
    *micros = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + frac;
    return n;
}

bool fmt_parse_date(const char *s, int32_t *days) {
    int64_t d;
    if (parse_ymd(s, &d) != 10 || s[10]) return false;
    *days = (int32_t)d;
    return true;
}

bool fmt_parse_time(const char *s, int64_t *micros) {
    int n = parse_hms(s, micros);
    return n && !s[n];
}

bool fmt_parse_timestamp(const char *s, int64_t *micros) {
    int64_t days, t = 0;
    if (parse_ymd(s, &days) != 10) return false;
    const char *p = s + 10;
    if (*p == 'T' || *p == ' ') {
        int n = parse_hms(p + 1, &t);
        if (!n) return false;
        p += 1 + n;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0;
        int sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh)) return false;
        p += 3;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p)) {
            if (!digits(p, 2, &om)) return false;
            p += 2;
        }
        if (oh > 18 || om > 59) return false;
        off = sign * ((int64_t)oh * 3600 + om * 60) * 1000000;
    }
    if (*p) return false;
    *micros = days * 86400000000LL + t - off;
    return true;
}

bool fmt_parse_decimal(const char *s, int32_t precision, int32_t scale, __int128 *out) {
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    __int128 v = 0;
    int nd = 0, frac = 0;
    bool dot = false, any = false;
    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!isdigit((unsigned char)*p)) break;
        any = true;
        if (dot) {
            if (frac == scale) {
                if (*p != '0') return false; /* more decimals than the scale */
                continue;
            }
            frac++;
        }
        if (v || *p != '0') nd++;
        if (nd > 38) return false;
        v = v * 10 + (*p - '0');
    }
    if (*p == 'e' || *p == 'E') return false;
    if (!any || *p) return false;
    if (nd > precision) return false;
    for (; frac < scale; frac++) {
        if (v && nd >= precision) return false; /* one more digit is too many (and could overflow) */
        v *= 10;
        if (v) nd++;
    }
    *out = neg ? -v : v;
    return true;
}

/* ---- input ---- */

struct fmt_text_reader {
    FILE *f;
    const char *name;
    fmt_text_kind kind;
    const fmt_schema_t *schema;
    uint64_t line;
    char *linebuf;
    size_t linecap;
    /* CSV */
    int32_t *col_of; /* header column -> top-level field index, -1 ignored */
    uint32_t ncsv;
    buf_t cell;
    char **cells;
    size_t *cell_len;
    uint32_t cells_cap;
};

static bool verr(fmt_text_reader_t *r, const char *col, const char *val, floe_err *err, const char *expected) {
    char shown[64];
    size_t n = strlen(val);
    if (n > 40) {
        memcpy(shown, val, 40);
        memcpy(shown + 40, "...", 4);
    } else {
        memcpy(shown, val, n + 1);
    }
    return floe_err_set(err, FLOE_EINVAL, "%s line %llu, column '%s': value '%s' is not %s", r->name,
                        (unsigned long long)r->line, col, shown, expected);
}

/* Parses text s into one primitive slot of v. */
static bool put_text(fmt_text_reader_t *r, fmt_vec_t *v, const fmt_field_t *f, const char *s, size_t n, const char *col,
                     floe_err *err) {
    char tmp[128];
    const char *z = s;
    if (f->type != FMT_STRING && f->type != FMT_BINARY && f->type != FMT_FIXED) {
        if (n >= sizeof tmp) return verr(r, col, s, err, "a value of that type (too long)");
        memcpy(tmp, s, n);
        tmp[n] = 0;
        z = tmp;
    }
    switch (f->type) {
    case FMT_BOOLEAN:
        if (!strcmp(z, "true") || !strcmp(z, "1"))
            fmt_vec_append_bool(v, true);
        else if (!strcmp(z, "false") || !strcmp(z, "0"))
            fmt_vec_append_bool(v, false);
        else
            return verr(r, col, z, err, "a boolean (true or false)");
        return true;
    case FMT_INT:
    case FMT_LONG: {
        int64_t x;
        bool is_int = f->type == FMT_INT;
        if (!str_to_i64_range(z, is_int ? INT32_MIN : INT64_MIN, is_int ? INT32_MAX : INT64_MAX, &x))
            return verr(r, col, z, err, is_int ? "an int (-2147483648..2147483647)" : "a long (64-bit integer)");
        if (is_int)
            fmt_vec_append_i32(v, (int32_t)x);
        else
            fmt_vec_append_i64(v, x);
        return true;
    }
    case FMT_FLOAT:
    case FMT_DOUBLE: {
        double d;
        if (!strcmp(z, "NaN"))
            d = NAN;
        else if (!strcmp(z, "Infinity"))
            d = INFINITY;
        else if (!strcmp(z, "-Infinity"))
            d = -INFINITY;
        else {
            char *end;
            d = strtod(z, &end);
            if (!*z || *end || isspace((unsigned char)*z)) return verr(r, col, z, err, "a number");
        }
        if (f->type == FMT_FLOAT)
            fmt_vec_append_f32(v, (float)d);
        else
            fmt_vec_append_f64(v, d);
        return true;
    }
    case FMT_DECIMAL: {
        __int128 x;
        if (!fmt_parse_decimal(z, f->precision, f->scale, &x)) {
            char exp[64];
            snprintf(exp, sizeof exp, "a decimal(%d,%d)", f->precision, f->scale);
            return verr(r, col, z, err, exp);
        }
        int w = fmt_type_width(f);
        if (w == 4)
            fmt_vec_append_i32(v, (int32_t)x);
        else if (w == 8)
            fmt_vec_append_i64(v, (int64_t)x);
        else
            fmt_vec_append_i128(v, x);
        return true;
    }
    case FMT_DATE: {
        int32_t d;
        if (!fmt_parse_date(z, &d)) return verr(r, col, z, err, "a date (YYYY-MM-DD)");
        fmt_vec_append_i32(v, d);
        return true;
    }
    case FMT_TIME: {
        int64_t t;
        if (!fmt_parse_time(z, &t)) return verr(r, col, z, err, "a time (HH:MM:SS[.ffffff])");
        fmt_vec_append_i64(v, t);
        return true;
    }
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: {
        int64_t t;
        if (!fmt_parse_timestamp(z, &t))
            return verr(r, col, z, err, "a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])");
        if (f->type == FMT_TIMESTAMP_NS || f->type == FMT_TIMESTAMPTZ_NS) t *= 1000;
        fmt_vec_append_i64(v, t);
        return true;
    }
    case FMT_STRING:
        if (!str_utf8_valid(s, n)) return verr(r, col, "(bytes)", err, "valid UTF-8");
        fmt_vec_append_bytes(v, s, n);
        return true;
    case FMT_BINARY: fmt_vec_append_bytes(v, s, n); return true;
    case FMT_FIXED:
        if (n != (size_t)f->length) {
            char exp[64];
            snprintf(exp, sizeof exp, "exactly %d bytes for fixed[%d]", f->length, f->length);
            return verr(r, col, s, err, exp);
        }
        fmt_vec_append_bytes(v, s, n);
        return true;
    case FMT_UUID: {
        /* 8-4-4-4-12 hex digits */
        static const int at[5] = {0, 9, 14, 19, 24}, len[5] = {8, 4, 4, 4, 12};
        uint8_t u[16];
        bool ok = n == 36 && z[8] == '-' && z[13] == '-' && z[18] == '-' && z[23] == '-';
        for (int g = 0, o = 0; g < 5 && ok; o += len[g] / 2, g++) ok = str_unhex(z + at[g], (size_t)len[g], u + o);
        if (!ok) return verr(r, col, z, err, "a UUID (8-4-4-4-12 hex digits)");
        fmt_vec_append_bytes(v, u, 16);
        return true;
    }
    default: return verr(r, col, z, err, "a primitive value");
    }
}

static bool put_json(fmt_text_reader_t *r, fmt_vec_t *v, const fmt_field_t *f, json_t *j, const char *col,
                     floe_err *err);

static bool put_null(fmt_text_reader_t *r, fmt_vec_t *v, const fmt_field_t *f, const char *col, floe_err *err) {
    if (f->required)
        return floe_err_set(err, FLOE_EINVAL, "%s line %llu, column '%s': null in a required (not null) column",
                            r->name, (unsigned long long)r->line, col);
    fmt_vec_append_null(v);
    return true;
}

static bool put_json(fmt_text_reader_t *r, fmt_vec_t *v, const fmt_field_t *f, json_t *j, const char *col,
                     floe_err *err) {
    if (!j || json_is_null(j)) return put_null(r, v, f, col, err);
    char num[64];
    switch (f->type) {
    case FMT_STRUCT: {
        if (!json_is_object(j)) return verr(r, col, "(not an object)", err, "an object for a struct");
        for (int32_t i = 0; i < f->nchildren; i++)
            if (!put_json(r, &v->children[i], &f->children[i], json_object_get(j, f->children[i].name),
                          f->children[i].name, err))
                return false;
        fmt_vec_close_struct(v);
        return true;
    }
    case FMT_LIST: {
        if (!json_is_array(j)) return verr(r, col, "(not an array)", err, "an array for a list");
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) if (!put_json(r, &v->children[0], &f->children[0], e, col, err)) return false;
        fmt_vec_close_list(v);
        return true;
    }
    case FMT_MAP: {
        if (!json_is_object(j)) return verr(r, col, "(not an object)", err, "an object for a map");
        const char *k;
        json_t *e;
        json_object_foreach(j, k, e) {
            if (!put_text(r, &v->children[0], &f->children[0], k, strlen(k), col, err)) return false;
            if (!put_json(r, &v->children[1], &f->children[1], e, col, err)) return false;
        }
        fmt_vec_close_list(v);
        return true;
    }
    default: break;
    }
    if (json_is_string(j)) {
        if (f->type == FMT_BOOLEAN || f->type == FMT_INT || f->type == FMT_LONG)
            return verr(r, col, json_string_value(j), err,
                        f->type == FMT_BOOLEAN ? "a boolean (JSON true or false)" : "an integer (a JSON number)");
        return put_text(r, v, f, json_string_value(j), json_string_length(j), col, err);
    }
    if (json_is_boolean(j)) {
        if (f->type != FMT_BOOLEAN)
            return verr(r, col, json_is_true(j) ? "true" : "false", err, fmt_type_name(f->type));
        fmt_vec_append_bool(v, json_is_true(j));
        return true;
    }
    if (json_is_integer(j)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        if (f->type == FMT_STRING || f->type == FMT_BINARY || f->type == FMT_DATE || f->type == FMT_UUID ||
            f->type == FMT_BOOLEAN || f->type == FMT_FIXED)
            return verr(r, col, num, err, f->type == FMT_DATE ? "a date string (YYYY-MM-DD)" : fmt_type_name(f->type));
        if (f->type == FMT_TIMESTAMP || f->type == FMT_TIMESTAMPTZ || f->type == FMT_TIME ||
            f->type == FMT_TIMESTAMP_NS || f->type == FMT_TIMESTAMPTZ_NS) {
            fmt_vec_append_i64(v, json_integer_value(j)); /* epoch micros (nanos for _ns) */
            return true;
        }
        return put_text(r, v, f, num, strlen(num), col, err);
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (f->type == FMT_FLOAT) {
            fmt_vec_append_f32(v, (float)d);
            return true;
        }
        if (f->type == FMT_DOUBLE) {
            fmt_vec_append_f64(v, d);
            return true;
        }
        snprintf(num, sizeof num, "%.17g", d);
        if (f->type == FMT_DECIMAL) {
            /* shortest text that round-trips */
            for (int p = 1; p <= 17; p++) {
                snprintf(num, sizeof num, "%.*g", p, d);
                if (strtod(num, NULL) == d) break;
            }
            if (strchr(num, 'e')) snprintf(num, sizeof num, "%.*f", f->scale, d);
            return put_text(r, v, f, num, strlen(num), col, err);
        }
        return verr(r, col, num, err, fmt_type_name(f->type));
    }
    return verr(r, col, "(JSON value)", err, fmt_type_name(f->type));
}

static bool read_line(fmt_text_reader_t *r, size_t *len) {
    ssize_t n = getline(&r->linebuf, &r->linecap, r->f);
    if (n < 0) return false;
    r->line++;
    while (n > 0 && (r->linebuf[n - 1] == '\n' || r->linebuf[n - 1] == '\r')) r->linebuf[--n] = 0;
    *len = (size_t)n;
    return true;
}

/* Splits one CSV record (which may span lines inside quotes). */
static bool csv_record(fmt_text_reader_t *r, uint32_t *ncells, floe_err *err) {
    size_t len;
    if (!read_line(r, &len)) return false;
    buf_reset(&r->cell);
    uint32_t n = 0;
    size_t starts[4096];
    size_t lens[4096];
    const char *p = r->linebuf;
    uint64_t first_line = r->line;
    for (;;) {
        if (n == 4096) {
            floe_err_set(err, FLOE_EINVAL, "%s line %llu: more than 4096 columns", r->name,
                         (unsigned long long)first_line);
            return false;
        }
        starts[n] = r->cell.len;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    /* the quoted field continues on the next line */
                    buf_putc(&r->cell, '\n');
                    if (!read_line(r, &len)) {
                        floe_err_set(err, FLOE_EINVAL, "%s line %llu: a quoted field never closes", r->name,
                                     (unsigned long long)first_line);
                        return false;
                    }
                    p = r->linebuf;
                    continue;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        buf_putc(&r->cell, '"');
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                buf_putc(&r->cell, *p++);
            }
            if (*p && *p != ',') {
                floe_err_set(err, FLOE_EINVAL, "%s line %llu: text after a closing quote; expected ',' or the end",
                             r->name, (unsigned long long)r->line);
                return false;
            }
        } else {
            while (*p && *p != ',') buf_putc(&r->cell, *p++);
        }
        lens[n] = r->cell.len - starts[n];
        buf_putc(&r->cell, 0);
        n++;
        if (*p == ',') {
            p++;
            continue;
        }
        break;
    }
    if (n > r->cells_cap) {
        r->cells_cap = n;
        r->cells = realloc(r->cells, n * sizeof *r->cells);
        r->cell_len = realloc(r->cell_len, n * sizeof *r->cell_len);
        if (!r->cells || !r->cell_len) abort();
    }
    for (uint32_t i = 0; i < n; i++) {
        r->cells[i] = r->cell.data + starts[i];
        r->cell_len[i] = lens[i];
    }
    *ncells = n;
    return true;
}

fmt_text_reader_t *fmt_text_reader_new(FILE *f, const char *name, fmt_text_kind kind, const fmt_schema_t *schema,
                                       floe_err *err) {
    fmt_text_reader_t *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->f = f;
    r->name = name;
    r->kind = kind;
    r->schema = schema;
    if (kind == FMT_TEXT_CSV) {
        for (int32_t i = 0; i < schema->root.nchildren; i++)
            if (!fmt_type_is_primitive(schema->root.children[i].type)) {
                floe_err_set(err, FLOE_EINVAL,
                             "%s: column '%s' is a %s; CSV holds only primitive columns (use JSON "
                             "lines for nested data)",
                             name, schema->root.children[i].name, fmt_type_name(schema->root.children[i].type));
                fmt_text_reader_free(r);
                return NULL;
            }
        uint32_t n;
        floe_err_clear(err);
        if (!csv_record(r, &n, err)) {
            if (!err || !err->code) floe_err_set(err, FLOE_EINVAL, "%s: empty CSV; expected a header line", name);
            fmt_text_reader_free(r);
            return NULL;
        }
        r->ncsv = n;
        r->col_of = malloc(n * sizeof *r->col_of);
        if (!r->col_of) abort();
        for (uint32_t i = 0; i < n; i++) {
            r->col_of[i] = -1;
            for (int32_t k = 0; k < schema->root.nchildren; k++)
                if (!strcmp(r->cells[i], schema->root.children[k].name)) r->col_of[i] = k;
            if (r->col_of[i] < 0) {
                floe_err_set(err, FLOE_EINVAL, "%s line 1: header column '%s' is not in the schema", name, r->cells[i]);
                fmt_text_reader_free(r);
                return NULL;
            }
        }
    }
    return r;
}

bool fmt_text_read(fmt_text_reader_t *r, fmt_batch_t *b, uint32_t max, floe_err *err) {
    const fmt_field_t *root = &r->schema->root;
    while (b->nrows < max) {
        if (r->kind == FMT_TEXT_JSONL) {
            size_t len;
            if (!read_line(r, &len)) break;
            if (len == 0) continue;
            json_error_t je;
            json_t *j = json_loadb(r->linebuf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            if (!j)
                return floe_err_set(err, FLOE_EINVAL, "%s line %llu, character %d: %s", r->name,
                                    (unsigned long long)r->line, je.column, je.text);
            if (!json_is_object(j)) {
                json_decref(j);
                return floe_err_set(err, FLOE_EINVAL, "%s line %llu: expected a JSON object per line", r->name,
                                    (unsigned long long)r->line);
            }
            const char *k;
            json_t *e;
            json_object_foreach(j, k, e) {
                bool known = false;
                for (int32_t i = 0; i < root->nchildren && !known; i++) known = !strcmp(root->children[i].name, k);
                if (!known) {
                    floe_err_set(err, FLOE_EINVAL, "%s line %llu: key '%s' is not a column of the schema", r->name,
                                 (unsigned long long)r->line, k);
                    json_decref(j);
                    return false;
                }
            }
            for (int32_t i = 0; i < root->nchildren; i++)
                if (!put_json(r, &b->cols[i], &root->children[i], json_object_get(j, root->children[i].name),
                              root->children[i].name, err)) {
                    json_decref(j);
                    return false;
                }
            json_decref(j);
        } else {
            uint32_t n;
            floe_err_clear(err);
            if (!csv_record(r, &n, err)) {
                if (err && err->code) return false;
                break;
            }
            if (n == 1 && r->cell_len[0] == 0) continue; /* blank line */
            if (n != r->ncsv)
                return floe_err_set(err, FLOE_EINVAL, "%s line %llu: %u fields; the header has %u", r->name,
                                    (unsigned long long)r->line, n, r->ncsv);
            bool seen[4096] = {0};
            for (uint32_t c = 0; c < n; c++) {
                int32_t k = r->col_of[c];
                seen[k] = true;
                const fmt_field_t *f = &root->children[k];
                bool ok = r->cell_len[c] == 0 && f->type != FMT_STRING
                              ? put_null(r, &b->cols[k], f, f->name, err)
                              : put_text(r, &b->cols[k], f, r->cells[c], r->cell_len[c], f->name, err);
                if (!ok) return false;
            }
            for (int32_t k = 0; k < root->nchildren; k++)
                if (!seen[k] && !put_null(r, &b->cols[k], &root->children[k], root->children[k].name, err))
                    return false;
        }
        b->nrows++;
    }
    return true;
}

void fmt_text_reader_free(fmt_text_reader_t *r) {
    if (!r) return;
    free(r->linebuf);
    free(r->col_of);
    buf_free(&r->cell);
    free(r->cells);
    free(r->cell_len);
    free(r);
}

/* ---- output ---- */

static void put_i128(buf_t *out, __int128 x, int scale) {
    char tmp[64];
    int n = 0;
    bool neg = x < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(x + 1)) + 1 : (unsigned __int128)x;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u || n <= scale);
    if (neg) buf_putc(out, '-');
    for (int i = n - 1; i >= 0; i--) {
        buf_putc(out, tmp[i]);
        if (i == scale && scale > 0) buf_putc(out, '.');
    }
}

void fmt_value_text(buf_t *out, const fmt_field_t *f, const uint8_t *p, uint32_t n) {
    int64_t x = 0;
    switch (f->type) {
    case FMT_BOOLEAN: buf_puts(out, p[0] ? "true" : "false"); return;
    case FMT_INT: {
        int32_t y;
        memcpy(&y, p, 4);
        buf_printf(out, "%d", y);
        return;
    }
    case FMT_LONG:
        memcpy(&x, p, 8);
        buf_printf(out, "%lld", (long long)x);
        return;
    case FMT_FLOAT: {
        float y;
        memcpy(&y, p, 4);
        if (isnan(y))
            buf_puts(out, "NaN");
        else if (isinf(y))
            buf_puts(out, y > 0 ? "Infinity" : "-Infinity");
        else
            buf_printf(out, "%.9g", y);
        return;
    }
    case FMT_DOUBLE: {
        double y;
        memcpy(&y, p, 8);
        if (isnan(y))
            buf_puts(out, "NaN");
        else if (isinf(y))
            buf_puts(out, y > 0 ? "Infinity" : "-Infinity");
        else
            buf_printf(out, "%.17g", y);
        return;
    }
    case FMT_DECIMAL: {
        __int128 v;
        if (n == 4) {
            int32_t y;
            memcpy(&y, p, 4);
            v = y;
        } else if (n == 8) {
            int64_t y;
            memcpy(&y, p, 8);
            v = y;
        } else {
            memcpy(&v, p, 16);
        }
        put_i128(out, v, f->scale);
        return;
    }
    case FMT_DATE: {
        int32_t d;
        memcpy(&d, p, 4);
        int64_t y;
        unsigned m, dd;
        fmt_civil_from_days(d, &y, &m, &dd);
        buf_printf(out, "%04lld-%02u-%02u", (long long)y, m, dd);
        return;
    }
    case FMT_TIME: {
        memcpy(&x, p, 8);
        int64_t s = x / 1000000, us = x % 1000000;
        buf_printf(out, "%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
        if (us) buf_printf(out, ".%06lld", (long long)us);
        return;
    }
    case FMT_TIMESTAMP:
    case FMT_TIMESTAMPTZ:
    case FMT_TIMESTAMP_NS:
    case FMT_TIMESTAMPTZ_NS: {
        memcpy(&x, p, 8);
        bool ns = f->type == FMT_TIMESTAMP_NS || f->type == FMT_TIMESTAMPTZ_NS;
        int64_t per = ns ? 1000000000LL : 1000000LL;
        int64_t s = x / per, frac = x % per;
        if (frac < 0) frac += per, s--;
        int64_t days = s / 86400, sod = s % 86400;
        if (sod < 0) sod += 86400, days--;
        int64_t y;
        unsigned m, d;
        fmt_civil_from_days(days, &y, &m, &d);
        buf_printf(out, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", (long long)y, m, d, (long long)(sod / 3600),
                   (long long)(sod / 60 % 60), (long long)(sod % 60));
        if (frac) buf_printf(out, ns ? ".%09lld" : ".%06lld", (long long)frac);
        if (f->type == FMT_TIMESTAMPTZ || f->type == FMT_TIMESTAMPTZ_NS) buf_putc(out, 'Z');
        return;
    }
    case FMT_UUID:
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) buf_putc(out, '-');
            buf_printf(out, "%02x", p[i]);
        }
        return;
    case FMT_STRING: buf_append(out, p, n); return;
    default: /* binary, fixed: hex */
        buf_reserve(out, 2 * (size_t)n + 1);
        str_hex(p, n, out->data + out->len);
        out->len += 2 * (size_t)n;
        return;
    }
}

static void json_str(buf_t *out, const uint8_t *p, uint32_t n) {
    buf_putc(out, '"');
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)c);
        } else if (c < 0x20) {
            buf_printf(out, "\\u%04x", c);
        } else {
            buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

static const uint8_t *slot_bytes(const fmt_vec_t *v, uint32_t i, uint32_t *n) {
    if (v->dict || v->offsets || v->field->type == FMT_UUID || v->field->type == FMT_FIXED)
        return fmt_vec_bytes(v, i, n);
    *n = (uint32_t)fmt_type_width(v->field);
    return (const uint8_t *)v->values + (size_t)i * (size_t)*n;
}

void fmt_value_json(buf_t *out, const fmt_vec_t *v, uint32_t i) {
    const fmt_field_t *f = v->field;
    if (!fmt_vec_valid(v, i)) {
        buf_puts(out, "null");
        return;
    }
    switch (f->type) {
    case FMT_STRUCT:
        buf_putc(out, '{');
        for (uint32_t k = 0; k < v->nchildren; k++) {
            if (k) buf_putc(out, ',');
            json_str(out, (const uint8_t *)f->children[k].name, (uint32_t)strlen(f->children[k].name));
            buf_putc(out, ':');
            fmt_value_json(out, &v->children[k], i);
        }
        buf_putc(out, '}');
        return;
    case FMT_LIST:
        buf_putc(out, '[');
        for (uint32_t k = v->offsets[i]; k < v->offsets[i + 1]; k++) {
            if (k > v->offsets[i]) buf_putc(out, ',');
            fmt_value_json(out, &v->children[0], k);
        }
        buf_putc(out, ']');
        return;
    case FMT_MAP:
        buf_putc(out, '{');
        for (uint32_t k = v->offsets[i]; k < v->offsets[i + 1]; k++) {
            if (k > v->offsets[i]) buf_putc(out, ',');
            buf_t key = BUF_INIT;
            uint32_t n;
            const uint8_t *p = slot_bytes(&v->children[0], k, &n);
            fmt_value_text(&key, v->children[0].field, p, n);
            json_str(out, (const uint8_t *)key.data, (uint32_t)key.len);
            buf_free(&key);
            buf_putc(out, ':');
            fmt_value_json(out, &v->children[1], k);
        }
        buf_putc(out, '}');
        return;
    default: break;
    }
    uint32_t n;
    const uint8_t *p = slot_bytes(v, i, &n);
    if (f->type == FMT_BOOLEAN || f->type == FMT_INT || f->type == FMT_LONG) {
        fmt_value_text(out, f, p, n);
        return;
    }
    if (f->type == FMT_FLOAT || f->type == FMT_DOUBLE) {
        double d = f->type == FMT_FLOAT ? (double)*(const float *)p : *(const double *)p;
        if (isfinite(d)) {
            fmt_value_text(out, f, p, n);
            return;
        }
    }
    buf_t t = BUF_INIT;
    fmt_value_text(&t, f, p, n);
    json_str(out, (const uint8_t *)t.data, (uint32_t)t.len);
    buf_free(&t);
}

void fmt_value_plain(buf_t *out, const fmt_vec_t *v, uint32_t i) {
    if (!fmt_vec_valid(v, i)) return;
    if (!fmt_type_is_primitive(v->field->type)) {
        fmt_value_json(out, v, i);
        return;
    }
    uint32_t n;
    const uint8_t *p = slot_bytes(v, i, &n);
    fmt_value_text(out, v->field, p, n);
}

void fmt_csv_field(buf_t *out, const char *s, size_t n, bool quote_empty) {
    bool quote = n == 0 && quote_empty;
    for (size_t k = 0; k < n && !quote; k++) quote = s[k] == ',' || s[k] == '"' || s[k] == '\n' || s[k] == '\r';
    if (!quote) {
        buf_append(out, s, n);
        return;
    }
    buf_putc(out, '"');
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '"') buf_putc(out, '"');
        buf_putc(out, s[k]);
    }
    buf_putc(out, '"');
}

void fmt_value_csv(buf_t *out, const fmt_vec_t *v, uint32_t i) {
    if (!fmt_vec_valid(v, i)) return;
    buf_t t = BUF_INIT;
    fmt_value_plain(&t, v, i);
    fmt_csv_field(out, t.data ? t.data : "", t.len, v->field->type == FMT_STRING);
    buf_free(&t);
}
