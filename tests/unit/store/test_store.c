/*
 * test_store.c: the object store engine: listing order and roll-up (against
 * data-file cases and a brute-force model), overwrite and delete, conditional
 * commits, multipart ETags and part rules, and the start-up sweep.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/str.h"
#include "store/store.h"

static char dir[256];
static store_t *st;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/floe-unit-store-XXXXXX");
    cr_assert(mkdtemp(dir));
    floe_err err;
    st = store_open(dir, false, &err);
    cr_assert(st, "%s", err.msg);
    /* Tiny test objects would be inline; most tests check files, so keep
     * them in files unless a test turns inlining back on. */
    store_set_inline_max(st, 0);
    cr_assert(store_bucket_create(st, "b", false, &err), "%s", err.msg);
}

static void teardown(void) {
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static bool put(const char *bucket, const char *key, const char *data, const store_cond *cond, floe_err *err) {
    store_writer *w = store_writer_new(st, HASH_NONE, err);
    cr_assert(w);
    cr_assert(store_writer_write(w, data, strlen(data), err));
    unsigned char md5[16];
    cr_assert(store_writer_finish(w, md5, NULL, err));
    store_object o = {0};
    o.bucket = (char *)bucket;
    o.key = (char *)key;
    o.key_len = strlen(key);
    str_hex(md5, 16, o.etag);
    return store_put_commit(st, w, &o, cond, err);
}

static char *get(const char *key, arena_t *a) {
    store_object o;
    floe_err err;
    int fd;
    if (!store_object_open(st, "b", key, strlen(key), a, &o, &fd, &err)) return NULL;
    char *buf = arena_alloc(a, o.size + 1);
    if (o.inline_data) {
        cr_assert_eq(fd, -1);
        cr_assert_eq(o.inline_len, o.size);
        memcpy(buf, o.inline_data, o.size);
    } else {
        cr_assert_eq(pread(fd, buf, o.size, 0), (ssize_t)o.size);
        close(fd);
    }
    buf[o.size] = '\0';
    return buf;
}

static size_t count_files(const char *sub) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "find %s/objects/%s -type f | wc -l", dir, sub);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    cr_assert_eq(fscanf(p, "%zu", &n), 1);
    pclose(p);
    return n;
}

/* Renders a listing as "O:key P:prefix ... T" for comparison. */
static void render(const store_list_result *r, buf_t *out) {
    /* Objects and prefixes interleave in key order. */
    size_t i = 0, j = 0;
    while (i < r->nobjects || j < r->nprefixes) {
        bool take_obj = j >= r->nprefixes || (i < r->nobjects && strcmp(r->objects[i].key, r->prefixes[j].prefix) < 0);
        if (out->len) buf_putc(out, ' ');
        if (take_obj)
            buf_printf(out, "O:%s", r->objects[i++].key);
        else
            buf_printf(out, "P:%s", r->prefixes[j++].prefix);
    }
    if (r->truncated) buf_puts(out, out->len ? " T" : "T");
}

static char *unescape_space(char *s) {
    for (char *p = s; (p = strstr(p, "\\s"));) {
        *p = ' ';
        memmove(p + 1, p + 2, strlen(p + 2) + 1);
    }
    return s;
}

static const char *field(char *line, const char *name) {
    char *p = strstr(line, name);
    cr_assert(p, "case line lacks %s", name);
    p += strlen(name);
    char *e = strchr(p, ' ');
    if (e) *e = '\0';
    return unescape_space(p);
}

Test(store, list_cases_from_data_file, .init = setup, .fini = teardown) {
    FILE *f = fopen("tests/unit/store/data/list/cases.txt", "r");
    cr_assert(f, "run from the repository root");
    char line[4096];
    int cases = 0;
    floe_err err;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "keys: ", 6)) {
            char *save, *tok = strtok_r(line + 6, " ", &save);
            for (; tok; tok = strtok_r(NULL, " ", &save))
                cr_assert(put("b", unescape_space(tok), tok, NULL, &err), "%s", err.msg);
            continue;
        }
        if (strncmp(line, "case ", 5)) continue;
        char *arrow = strstr(line, " ->");
        cr_assert(arrow);
        *arrow = '\0';
        char *expect = unescape_space(arrow + 3 + (arrow[3] == ' '));
        char c1[1024], c2[1024], c3[1024], c4[1024];
        strcpy(c1, line), strcpy(c2, line), strcpy(c3, line), strcpy(c4, line);
        const char *prefix = field(c1, "prefix="), *delim = field(c2, "delim="), *after = field(c3, "after=");
        const char *max = field(c4, "max=");
        store_list_opts o = {.prefix = *prefix ? prefix : NULL,
                             .prefix_len = strlen(prefix),
                             .delimiter = *delim ? delim : NULL,
                             .delimiter_len = strlen(delim),
                             .after = *after ? after : NULL,
                             .after_len = strlen(after),
                             .max_keys = (size_t)atoi(max)};
        arena_t a;
        arena_init(&a, 0);
        store_list_result r;
        cr_assert(store_list(st, "b", &o, &a, &r, &err), "%s", err.msg);
        buf_t got = BUF_INIT;
        render(&r, &got);
        cr_expect_str_eq(got.data ? got.data : "", expect, "case '%s'", line);
        buf_free(&got);
        arena_free(&a);
        cases++;
    }
    fclose(f);
    cr_assert_gt(cases, 10);
}

/* Reference model: sorted keys, rolled up by brute force. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void model_list(char **keys, size_t n, const char *prefix, const char *delim, buf_t *out) {
    char last_prefix[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (strncmp(keys[i], prefix, strlen(prefix))) continue;
        const char *rest = keys[i] + strlen(prefix);
        const char *d = *delim ? strstr(rest, delim) : NULL;
        if (out->len) buf_putc(out, ' ');
        if (d) {
            char cp[256];
            snprintf(cp, sizeof cp, "%.*s", (int)(d - keys[i] + strlen(delim)), keys[i]);
            if (!strcmp(cp, last_prefix)) {
                out->len--; /* undo the space */
                out->data[out->len] = '\0';
                continue;
            }
            strcpy(last_prefix, cp);
            buf_printf(out, "P:%s", cp);
        } else {
            buf_printf(out, "O:%s", keys[i]);
        }
    }
}

Test(store, list_pagination_matches_model, .init = setup, .fini = teardown) {
    const char *alphabet[] = {"a", "b", "/", "é", "-", "aa"};
    char *keys[300];
    size_t n = 0;
    floe_err err;
    srand(42);
    while (n < 200) {
        char k[64] = "";
        int len = 1 + rand() % 5;
        for (int i = 0; i < len; i++) strcat(k, alphabet[rand() % 6]);
        bool dup = false;
        for (size_t i = 0; i < n; i++) dup |= !strcmp(keys[i], k);
        if (dup) continue;
        keys[n++] = strdup(k);
        cr_assert(put("b", k, "x", NULL, &err), "%s", err.msg);
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    const char *prefixes[] = {"", "a", "a/", "b/", "é", "/"};
    const char *delims[] = {"", "/", "a", "é"};
    for (int p = 0; p < 6; p++)
        for (int d = 0; d < 4; d++) {
            buf_t want = BUF_INIT;
            model_list(keys, n, prefixes[p], delims[d], &want);
            for (size_t page = 1; page <= 7; page += 3) {
                buf_t got = BUF_INIT;
                arena_t a;
                arena_init(&a, 0);
                const char *after = NULL;
                size_t after_len = 0;
                for (int guard = 0; guard < 1000; guard++) {
                    store_list_opts o = {.prefix = *prefixes[p] ? prefixes[p] : NULL,
                                         .prefix_len = strlen(prefixes[p]),
                                         .delimiter = *delims[d] ? delims[d] : NULL,
                                         .delimiter_len = strlen(delims[d]),
                                         .after = after,
                                         .after_len = after_len,
                                         .max_keys = page};
                    store_list_result r;
                    cr_assert(store_list(st, "b", &o, &a, &r, &err), "%s", err.msg);
                    bool trunc = r.truncated;
                    r.truncated = false;
                    buf_t part = BUF_INIT;
                    render(&r, &part);
                    if (part.len) {
                        if (got.len) buf_putc(&got, ' ');
                        buf_append(&got, part.data, part.len);
                    }
                    buf_free(&part);
                    if (!trunc) break;
                    cr_assert(r.last, "truncated page must name its last item");
                    after = r.last, after_len = r.last_len;
                }
                cr_expect_str_eq(got.data ? got.data : "", want.data ? want.data : "",
                                 "prefix '%s' delimiter '%s' page %zu", prefixes[p], delims[d], page);
                buf_free(&got);
                arena_free(&a);
            }
            buf_free(&want);
        }
    for (size_t i = 0; i < n; i++) free(keys[i]);
}

Test(store, overwrite_and_delete_leave_one_file, .init = setup, .fini = teardown) {
    floe_err err;
    arena_t a;
    arena_init(&a, 0);
    cr_assert(put("b", "k", "one", NULL, &err));
    cr_assert(put("b", "k", "two", NULL, &err));
    cr_assert_str_eq(get("k", &a), "two");
    cr_assert_eq(count_files("data"), 1);
    bool existed;
    cr_assert(store_object_delete(st, "b", "k", 1, &existed, &err));
    cr_assert(existed);
    cr_assert_null(get("k", &a));
    cr_assert_eq(count_files("data"), 0);
    cr_assert(store_object_delete(st, "b", "k", 1, &existed, &err));
    cr_assert_not(existed);
    arena_free(&a);
}

Test(store, conditional_commit_detects_lost_race, .init = setup, .fini = teardown) {
    floe_err err;
    store_cond none = {.if_none_match_any = true};
    cr_assert(put("b", "c", "first", &none, &err), "%s", err.msg);
    cr_assert_not(put("b", "c", "second", &none, &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    char etag[33];
    unsigned char d[16];
    hash_md5("first", 5, d);
    str_hex(d, 16, etag);
    char quoted[40];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    store_cond match = {.if_match = quoted};
    cr_assert(put("b", "c", "third", &match, &err), "%s", err.msg);
    cr_assert_not(put("b", "c", "fourth", &match, &err), "If-Match on a stale ETag must fail");
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert_not(put("nobucket", "c", "x", NULL, &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert_eq(count_files("data"), 1, "failed commits must not leave data files");
    cr_assert_eq(count_files("tmp"), 0);
}

Test(store, bucket_delete_needs_empty, .init = setup, .fini = teardown) {
    floe_err err;
    cr_assert(put("b", "x", "1", NULL, &err));
    cr_assert_not(store_bucket_delete(st, "b", &err));
    cr_assert_eq(err.code, FLOE_ECONFLICT);
    cr_assert(store_object_delete(st, "b", "x", 1, NULL, &err));
    cr_assert(store_bucket_delete(st, "b", &err), "%s", err.msg);
    cr_assert_not(store_bucket_delete(st, "b", &err));
    cr_assert_eq(err.code, FLOE_ENOENT);
    cr_assert_not(store_bucket_create(st, "c", false, &err) && store_bucket_create(st, "c", false, &err));
    cr_assert_eq(err.code, FLOE_EEXIST);
}

static void put_part(const char *upload, int n, size_t size, char ch, store_part *p) {
    floe_err err;
    char *data = malloc(size);
    memset(data, ch, size);
    store_writer *w = store_writer_new(st, HASH_NONE, &err);
    store_writer_no_inline(w);
    cr_assert(store_writer_write(w, data, size, &err));
    unsigned char md5[16];
    cr_assert(store_writer_finish(w, md5, NULL, &err));
    memset(p, 0, sizeof *p);
    str_hex(md5, 16, p->etag);
    cr_assert(store_upload_put_part(st, upload, n, w, NULL, p, &err), "%s", err.msg);
    free(data);
}

Test(store, multipart_etag_and_rules, .init = setup, .fini = teardown) {
    floe_err err;
    store_upload u = {.bucket = "b", .key = "mp", .key_len = 2};
    cr_assert(store_upload_create(st, &u, &err), "%s", err.msg);
    store_part p1, p2, p3;
    put_part(u.upload_id, 1, STORE_MIN_PART_SIZE, 'a', &p1);
    put_part(u.upload_id, 2, 10, 'b', &p2);
    put_part(u.upload_id, 3, 7, 'c', &p3);
    arena_t a;
    arena_init(&a, 0);
    store_object obj;
    store_mpu_error me;
    /* Out of order */
    store_complete_part bad_order[] = {{2, p2.etag, NULL}, {1, p1.etag, NULL}};
    cr_assert_not(store_upload_complete(st, u.upload_id, bad_order, 2, NULL, &a, &obj, &me, &err));
    cr_assert_eq(me, STORE_MPU_INVALID_PART_ORDER);
    /* Small part in the middle */
    store_complete_part small[] = {{1, p1.etag, NULL}, {2, p2.etag, NULL}, {3, p3.etag, NULL}};
    cr_assert_not(store_upload_complete(st, u.upload_id, small, 3, NULL, &a, &obj, &me, &err));
    cr_assert_eq(me, STORE_MPU_TOO_SMALL);
    /* Wrong ETag */
    store_complete_part wrong[] = {{1, p2.etag, NULL}, {2, p2.etag, NULL}};
    cr_assert_not(store_upload_complete(st, u.upload_id, wrong, 2, NULL, &a, &obj, &me, &err));
    cr_assert_eq(me, STORE_MPU_INVALID_PART);
    /* Parts 1 and 2: ETag = md5(md5(p1) || md5(p2)) + "-2" */
    store_complete_part good[] = {{1, p1.etag, NULL}, {2, p2.etag, NULL}};
    cr_assert(store_upload_complete(st, u.upload_id, good, 2, NULL, &a, &obj, &me, &err), "%s", err.msg);
    unsigned char both[32], d[16];
    str_unhex(p1.etag, 32, both);
    str_unhex(p2.etag, 32, both + 16);
    hash_md5(both, 32, d);
    char want[48];
    str_hex(d, 16, want);
    strcat(want, "-2");
    cr_assert_str_eq(obj.etag, want);
    cr_assert_eq(obj.size, STORE_MIN_PART_SIZE + 10);
    /* The upload is gone, and so are all part files, including unused part 3. */
    store_upload gone;
    cr_assert_not(store_upload_get(st, u.upload_id, &a, &gone, &err));
    cr_assert_eq(count_files("data"), 1);
    arena_free(&a);
}

Test(store, sweep_removes_unreferenced_files, .init = setup, .fini = teardown) {
    floe_err err;
    cr_assert(put("b", "keep", "data", NULL, &err));
    char path[512];
    snprintf(path, sizeof path, "%s/objects/tmp/abandoned.tmp", dir);
    cr_assert(fs_write_atomic(path, "x", 1, &err));
    snprintf(path, sizeof path, "%s/objects/data/ab/abababababababababababababababab", dir);
    cr_assert(fs_write_atomic(path, "orphan", 6, &err));
    cr_assert_eq(count_files("data"), 2);
    store_close(st);
    st = store_open(dir, false, &err);
    cr_assert(st, "%s", err.msg);
    store_set_inline_max(st, 0);
    cr_assert_eq(count_files("data"), 1);
    cr_assert_eq(count_files("tmp"), 0);
    store_stats s;
    store_get_stats(st, &s);
    cr_assert_eq(s.swept_files, 2);
    arena_t a;
    arena_init(&a, 0);
    cr_assert_str_eq(get("keep", &a), "data");
    arena_free(&a);
}

Test(store, small_objects_live_inline, .init = setup, .fini = teardown) {
    floe_err err;
    arena_t a;
    arena_init(&a, 0);
    store_set_inline_max(st, 16);
    cr_assert(put("b", "small", "0123456789abcdef", NULL, &err), "%s", err.msg); /* 16 bytes: inline */
    cr_assert(put("b", "empty", "", NULL, &err), "%s", err.msg);
    cr_assert(put("b", "large", "0123456789abcdefg", NULL, &err), "%s", err.msg); /* 17 bytes: a file */
    cr_assert_eq(count_files("data"), 1, "only the 17-byte object has a file");
    cr_assert_str_eq(get("small", &a), "0123456789abcdef");
    cr_assert_str_eq(get("empty", &a), "");
    cr_assert_str_eq(get("large", &a), "0123456789abcdefg");
    store_object o;
    cr_assert(store_object_get(st, "b", "empty", 5, &a, &o, &err));
    cr_assert_not_null(o.inline_data, "an empty object is inline, not missing");
    cr_assert_eq(o.inline_len, 0);
    /* Overwriting a file-backed object with a small one removes the file. */
    cr_assert(put("b", "large", "tiny", NULL, &err));
    cr_assert_eq(count_files("data"), 0);
    cr_assert_str_eq(get("large", &a), "tiny");
    /* And the reverse. */
    cr_assert(put("b", "small", "this one is longer than sixteen bytes", NULL, &err));
    cr_assert_eq(count_files("data"), 1);
    cr_assert_str_eq(get("small", &a), "this one is longer than sixteen bytes");
    /* Inline objects survive a restart and are not swept. */
    store_close(st);
    st = store_open(dir, false, &err);
    cr_assert(st, "%s", err.msg);
    cr_assert_str_eq(get("large", &a), "tiny");
    cr_assert_eq(count_files("data"), 1);
    arena_free(&a);
}

static long file_size(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/objects/%s", dir, name);
    struct stat stt;
    return stat(path, &stt) == 0 ? (long)stt.st_size : -1;
}

Test(store, wal_is_checkpointed_while_running, .init = setup, .fini = teardown) {
    /* 12 MiB of inline objects: with a working auto-checkpoint they move into
     * index.db and the WAL stays near its 1000-page (4 MiB) threshold. A read
     * snapshot left open anywhere would keep all of it in the WAL. */
    floe_err err;
    store_set_inline_max(st, 8192);
    char body[4097];
    memset(body, 'w', 4096);
    body[4096] = '\0';
    for (int i = 0; i < 3000; i++) {
        char key[32];
        snprintf(key, sizeof key, "wal/%05d", i);
        cr_assert(put("b", key, body, NULL, &err), "%s", err.msg);
        if (i % 500 == 0) { /* interleave reads, as a server does */
            arena_t a;
            arena_init(&a, 0);
            cr_assert_not_null(get(key, &a));
            arena_free(&a);
        }
    }
    cr_assert_lt(file_size("index.db-wal"), 8L << 20, "WAL is %ld bytes: never checkpointed?",
                 file_size("index.db-wal"));
    cr_assert_gt(file_size("index.db"), 8L << 20, "index.db is %ld bytes", file_size("index.db"));
}

Test(store, a_second_open_shares_the_directory_and_skips_the_sweep, .init = setup, .fini = teardown) {
    floe_err err;
    cr_assert(store_swept(st), "the first open, alone, sweeps");
    /* a write in flight in the first store: its temp file must survive */
    store_writer *w = store_writer_new(st, HASH_NONE, &err);
    cr_assert(w, "%s", err.msg);
    cr_assert(store_writer_write(w, "in flight", 9, &err));
    store_t *again = store_open(dir, false, &err);
    cr_assert_not_null(again, "a second store on the same directory shares it: %s", err.msg);
    cr_assert_not(store_swept(again), "a second open must not sweep");
    unsigned char md5[16];
    cr_assert(store_writer_finish(w, md5, NULL, &err), "%s", err.msg);
    store_object o = {.bucket = "b", .key = "k", .key_len = 1};
    cr_assert(store_put_commit(st, w, &o, NULL, &err), "the first store's write completes: %s", err.msg);
    /* the second process sees the first one's commit */
    arena_t a;
    arena_init(&a, 1024);
    store_object got;
    cr_assert(store_object_get(again, "b", "k", 1, &a, &got, &err), "%s", err.msg);
    cr_assert_eq(got.size, 9);
    arena_free(&a);
    store_close(again);
    store_close(st);
    st = store_open(dir, false, &err);
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert(store_swept(st), "alone again: sweeps");
}
