/*
 * test_fileio.c: FileIO (src/store/fileio.h), one behavioural suite run
 * against all three backends: the in-process store, remote S3 (Floe's own
 * S3 server started in-process on 127.0.0.1 with its own credentials), and
 * the local file system. FILEIO_TEST(name) makes fileio/store_name,
 * fileio/s3_name and fileio/local_name from one body.
 *
 * Then what only one backend has: retries against a small HTTP server that
 * fails on purpose (and counts requests), wrong credentials, virtual-host
 * addressing, an object replaced under an S3 reader, local path forms.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "net/http.h"
#include "store/fileio.h"
#include "store/s3/s3.h"
#include "store/store.h"

#define BUCKET "fio"
#define ACCESS_KEY "AKIDFILEIOTEST"
#define SECRET_KEY "fileio-test-secret/with+chars"
#define MPU_PART (5u << 20)      /* S3's smallest part */
#define MPU_THRESHOLD (5u << 20) /* the S3 backend goes multipart above this here */
#define BIG_SIZE (11u * 1024 * 1024 + 12345)

typedef enum { B_STORE, B_S3, B_LOCAL } backend;

static struct {
    backend kind;
    char dir[256];
    store_t *store;
    floe_config cfg;
    s3_server_t *srv;
    fileio_t *io;
    char base[320]; /* every URI a test makes starts here */
} fx;

/* ---- fixtures ---- */

static void make_dir(void) {
    snprintf(fx.dir, sizeof fx.dir, "/tmp/floe-unit-fileio-XXXXXX");
    cr_assert(mkdtemp(fx.dir));
}

static void open_store(void) {
    floe_err err;
    fx.store = store_open(fx.dir, false, &err);
    cr_assert(fx.store, "%s", err.msg);
    cr_assert(store_bucket_create(fx.store, BUCKET, false, &err), "%s", err.msg);
}

static void setup_store(void) {
    fx.kind = B_STORE;
    make_dir();
    open_store();
    fx.io = fileio_store(fx.store);
    snprintf(fx.base, sizeof fx.base, "s3://" BUCKET "/");
}

static void start_s3_server(void) {
    config_defaults(&fx.cfg);
    free(fx.cfg.access_key);
    free(fx.cfg.secret_key);
    fx.cfg.access_key = strdup(ACCESS_KEY);
    fx.cfg.secret_key = strdup(SECRET_KEY);
    fx.cfg.s3_port = 0;
    fx.cfg.fsync = false;
    floe_err err;
    fx.srv = s3_server_start(&fx.cfg, fx.store, &err);
    cr_assert(fx.srv, "%s", err.msg);
}

static fileio_t *s3_client(const char *access_key, const char *secret_key, int max_retries) {
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", s3_server_port(fx.srv));
    fileio_s3_opts o = {.endpoint = endpoint,
                        .access_key = access_key,
                        .secret_key = secret_key,
                        .max_retries = max_retries,
                        .part_size = MPU_PART,
                        .multipart_threshold = MPU_THRESHOLD};
    floe_err err;
    fileio_t *io = fileio_s3(&o, &err);
    cr_assert(io, "%s", err.msg);
    return io;
}

static void setup_s3(void) {
    fx.kind = B_S3;
    make_dir();
    open_store();
    start_s3_server();
    fx.io = s3_client(ACCESS_KEY, SECRET_KEY, 0);
    snprintf(fx.base, sizeof fx.base, "s3://" BUCKET "/");
}

static void setup_local(void) {
    fx.kind = B_LOCAL;
    make_dir();
    fx.io = fileio_local();
    snprintf(fx.base, sizeof fx.base, "file://%s/", fx.dir);
}

static void teardown(void) {
    fileio_free(fx.io);
    if (fx.srv) s3_server_stop(fx.srv);
    if (fx.store) store_close(fx.store);
    if (fx.srv) config_free(&fx.cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
    cr_assert_eq(system(cmd), 0);
    memset(&fx, 0, sizeof fx);
}

#define FILEIO_TEST(name)                                                                                              \
    static void name(void);                                                                                            \
    Test(fileio, store_##name, .init = setup_store, .fini = teardown) { name(); }                                      \
    Test(fileio, s3_##name, .init = setup_s3, .fini = teardown) { name(); }                                            \
    Test(fileio, local_##name, .init = setup_local, .fini = teardown) { name(); }                                      \
    static void name(void)

/* ---- helpers ---- */

/* The URI of key under the backend's base (a ring of buffers, so a few may
 * be live at once). */
static const char *U(const char *key) {
    static char ring[8][1400];
    static int next;
    char *out = ring[next++ % 8];
    snprintf(out, sizeof ring[0], "%s%s", fx.base, key);
    return out;
}

static void fill(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static void put(const char *uri, const void *p, size_t n) {
    floe_err err;
    cr_assert(fileio_write_all(fx.io, uri, p, n, false, &err), "%s", err.msg);
}

static void put_str(const char *uri, const char *s) { put(uri, s, strlen(s)); }

static void expect_content(const char *uri, const void *p, size_t n) {
    buf_t b = BUF_INIT;
    floe_err err;
    cr_assert(fileio_read_all(fx.io, uri, &b, &err), "%s", err.msg);
    cr_assert_eq(b.len, n, "%s: %zu bytes, expected %zu", uri, b.len, n);
    cr_assert(n == 0 || memcmp(b.data, p, n) == 0, "%s: content differs", uri);
    buf_free(&b);
}

static bool absent(const char *uri) {
    bool exists = true;
    uint64_t size = 1;
    floe_err err;
    cr_assert(fileio_stat(fx.io, uri, &exists, &size, &err), "%s", err.msg);
    return !exists && size == 0;
}

typedef struct listing {
    char **uris;
    uint64_t *sizes;
    size_t n, cap, stop_after;
} listing;

static bool collect(const fileio_entry *e, void *arg) {
    listing *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->uris = realloc(l->uris, l->cap * sizeof *l->uris);
        l->sizes = realloc(l->sizes, l->cap * sizeof *l->sizes);
    }
    l->uris[l->n] = strdup(e->uri);
    l->sizes[l->n++] = e->size;
    cr_expect_gt(e->mtime_ms, 1600000000000LL, "%s: mtime %lld", e->uri, (long long)e->mtime_ms);
    return !l->stop_after || l->n < l->stop_after;
}

static listing list(const char *prefix, size_t stop_after) {
    listing l = {.stop_after = stop_after};
    floe_err err;
    cr_assert(fileio_list(fx.io, prefix, collect, &l, &err), "%s", err.msg);
    return l;
}

static void listing_free(listing *l) {
    for (size_t i = 0; i < l->n; i++) free(l->uris[i]);
    free(l->uris);
    free(l->sizes);
}

/* No multipart uploads left behind (S3) and no temp files (local). */
static void expect_no_leftovers(void) {
    floe_err err;
    if (fx.kind == B_S3) {
        arena_t a;
        arena_init(&a, 0);
        store_upload *ups;
        size_t n;
        bool trunc;
        cr_assert(store_upload_list(fx.store, BUCKET, NULL, 0, NULL, 0, NULL, 100, &a, &ups, &n, &trunc, &err), "%s",
                  err.msg);
        cr_expect_eq(n, 0, "%zu multipart uploads were left behind", n);
        arena_free(&a);
    }
    if (fx.kind == B_LOCAL) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "find %s -name '.floe-tmp-*' | wc -l", fx.dir);
        FILE *p = popen(cmd, "r");
        int n = -1;
        cr_assert_eq(fscanf(p, "%d", &n), 1);
        pclose(p);
        cr_expect_eq(n, 0, "%d temp files were left behind", n);
    }
}

/* ---- the behavioural suite ---- */

FILEIO_TEST(round_trip) {
    put_str(U("t/hello.txt"), "hello, lakehouse");
    expect_content(U("t/hello.txt"), "hello, lakehouse", 16);
    bool exists;
    uint64_t size;
    floe_err err;
    cr_assert(fileio_stat(fx.io, U("t/hello.txt"), &exists, &size, &err), "%s", err.msg);
    cr_expect(exists);
    cr_expect_eq(size, 16);

    /* Overwrite; then an empty object. */
    put_str(U("t/hello.txt"), "second");
    expect_content(U("t/hello.txt"), "second", 6);
    put(U("t/empty"), "", 0);
    expect_content(U("t/empty"), "", 0);
    cr_assert(fileio_stat(fx.io, U("t/empty"), &exists, &size, &err), "%s", err.msg);
    cr_expect(exists && size == 0);

    /* Streamed in odd pieces, larger than an inline store object. */
    size_t n = 300 * 1000 + 7;
    unsigned char *data = malloc(n);
    fill(data, n, 1);
    fileio_out *out = fileio_out_create(fx.io, U("t/streamed.bin"), &err);
    cr_assert(out, "%s", err.msg);
    for (size_t off = 0; off < n; off += 4099) {
        size_t k = n - off < 4099 ? n - off : 4099;
        cr_assert(fileio_out_write(out, data + off, k, &err), "%s", err.msg);
    }
    cr_expect_eq(fileio_out_size(out), n);
    cr_assert(!fileio_stat(fx.io, U("t/streamed.bin"), &exists, NULL, &err) || !exists,
              "an output must not be visible before it is closed");
    cr_assert(fileio_out_close(out, &err), "%s", err.msg);
    expect_content(U("t/streamed.bin"), data, n);

    fileio_in *in = fileio_in_open(fx.io, U("t/streamed.bin"), &err);
    cr_assert(in, "%s", err.msg);
    cr_expect_eq(fileio_in_size(in), n);
    unsigned char *back = malloc(n);
    cr_assert(fileio_in_read(in, 0, back, n, &err), "%s", err.msg);
    cr_expect(memcmp(back, data, n) == 0);
    fileio_in_close(in);

    /* read_all appends. */
    buf_t b = BUF_INIT;
    buf_puts(&b, "prefix:");
    cr_assert(fileio_read_all(fx.io, U("t/hello.txt"), &b, &err), "%s", err.msg);
    cr_expect_str_eq(b.data, "prefix:second");
    buf_free(&b);
    free(back);
    free(data);
}

FILEIO_TEST(ranged_reads) {
    size_t n = 200 * 1024 + 3;
    unsigned char *data = malloc(n), *got = malloc(n);
    fill(data, n, 2);
    put(U("r/data.bin"), data, n);
    floe_err err;
    fileio_in *in = fileio_in_open(fx.io, U("r/data.bin"), &err);
    cr_assert(in, "%s", err.msg);
    uint64_t x = 42;
    for (int i = 0; i < 40; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t off = (size_t)(x >> 33) % n;
        size_t len = (size_t)(x >> 11) % (n - off) % 20000 + 1;
        if (off + len > n) len = n - off;
        cr_assert(fileio_in_read(in, off, got, len, &err), "read %zu at %zu: %s", len, off, err.msg);
        cr_assert(memcmp(got, data + off, len) == 0, "read %zu at %zu differs", len, off);
    }
    cr_assert(fileio_in_read(in, n - 1, got, 1, &err), "%s", err.msg);
    cr_expect_eq(got[0], data[n - 1]);
    cr_assert(fileio_in_read(in, n, got, 0, &err), "an empty read at the end is fine: %s", err.msg);
    cr_assert(fileio_in_read(in, 0, got, n, &err), "%s", err.msg);
    cr_expect(memcmp(got, data, n) == 0);
    fileio_in_close(in);
    free(data);
    free(got);
}

FILEIO_TEST(read_past_end_is_an_error) {
    put_str(U("p/ten"), "0123456789");
    floe_err err;
    fileio_in *in = fileio_in_open(fx.io, U("p/ten"), &err);
    cr_assert(in, "%s", err.msg);
    char buf[32];
    cr_expect(!fileio_in_read(in, 5, buf, 6, &err));
    cr_expect_eq(err.code, FLOE_EINVAL);
    cr_expect(strstr(err.msg, U("p/ten")), "the message names the URI: %s", err.msg);
    cr_expect(strstr(err.msg, "10 bytes"), "the message gives the size: %s", err.msg);
    cr_expect(!fileio_in_read(in, 11, buf, 0, &err));
    cr_expect(!fileio_in_read(in, UINT64_MAX, buf, 2, &err));
    cr_assert(fileio_in_read(in, 5, buf, 5, &err), "%s", err.msg);
    cr_expect(memcmp(buf, "56789", 5) == 0);
    fileio_in_close(in);
}

FILEIO_TEST(absent_objects) {
    cr_expect(absent(U("nothing/here")));
    floe_err err;
    cr_expect_null(fileio_in_open(fx.io, U("nothing/here"), &err));
    cr_expect_eq(err.code, FLOE_ENOENT, "%s", err.msg);
    cr_expect(strstr(err.msg, U("nothing/here")), "the message names the URI: %s", err.msg);
    buf_t b = BUF_INIT;
    cr_expect(!fileio_read_all(fx.io, U("nothing/here"), &b, &err));
    cr_expect_eq(err.code, FLOE_ENOENT, "%s", err.msg);
    cr_expect_eq(b.len, 0);
    buf_free(&b);
    /* A "directory" is not an object. */
    put_str(U("nothing/under/x"), "x");
    cr_expect(absent(U("nothing/under")));
}

FILEIO_TEST(if_absent_refuses_to_overwrite) {
    floe_err err;
    const char *uri = U("meta/v1.metadata.json");
    cr_assert(fileio_write_all(fx.io, uri, "{\"v\":1}", 7, true, &err), "%s", err.msg);
    cr_expect(!fileio_write_all(fx.io, uri, "{\"v\":2}", 7, true, &err));
    cr_expect_eq(err.code, FLOE_EEXIST, "%s", err.msg);
    cr_expect(strstr(err.msg, uri), "the message names the URI: %s", err.msg);
    expect_content(uri, "{\"v\":1}", 7);
    expect_no_leftovers();
}

FILEIO_TEST(abort_leaves_nothing) {
    floe_err err;
    fileio_out *out = fileio_out_create(fx.io, U("a/small"), &err);
    cr_assert(out, "%s", err.msg);
    cr_assert(fileio_out_write(out, "some bytes", 10, &err), "%s", err.msg);
    fileio_out_abort(out);
    cr_expect(absent(U("a/small")));

    /* Big enough that the S3 backend has started a multipart upload. */
    unsigned char *data = malloc(BIG_SIZE);
    fill(data, BIG_SIZE, 3);
    out = fileio_out_create(fx.io, U("a/big"), &err);
    cr_assert(out, "%s", err.msg);
    for (size_t off = 0; off < BIG_SIZE; off += 1 << 20) {
        size_t k = BIG_SIZE - off < (1u << 20) ? BIG_SIZE - off : 1u << 20;
        cr_assert(fileio_out_write(out, data + off, k, &err), "%s", err.msg);
    }
    fileio_out_abort(out);
    cr_expect(absent(U("a/big")));
    listing l = list(U("a/"), 0);
    cr_expect_eq(l.n, 0, "%zu objects listed after aborts", l.n);
    listing_free(&l);
    expect_no_leftovers();
    free(data);
}

FILEIO_TEST(multipart_sized_output_round_trips) {
    unsigned char *data = malloc(BIG_SIZE);
    fill(data, BIG_SIZE, 4);
    floe_err err;
    fileio_out *out = fileio_out_create(fx.io, U("m/big.parquet"), &err);
    cr_assert(out, "%s", err.msg);
    for (size_t off = 0; off < BIG_SIZE; off += 777777) {
        size_t k = BIG_SIZE - off < 777777 ? BIG_SIZE - off : 777777;
        cr_assert(fileio_out_write(out, data + off, k, &err), "%s", err.msg);
    }
    cr_assert(fileio_out_close(out, &err), "%s", err.msg);
    expect_content(U("m/big.parquet"), data, BIG_SIZE);
    bool exists;
    uint64_t size;
    cr_assert(fileio_stat(fx.io, U("m/big.parquet"), &exists, &size, &err), "%s", err.msg);
    cr_expect(exists && size == BIG_SIZE);
    if (fx.kind == B_S3) {
        arena_t a;
        arena_init(&a, 0);
        store_object o;
        cr_assert(store_object_get(fx.store, BUCKET, "m/big.parquet", 13, &a, &o, &err), "%s", err.msg);
        cr_expect_eq(o.parts, 3, "5 MiB parts of %u bytes: expected 3, got %d", BIG_SIZE, o.parts);
        arena_free(&a);
    }
    expect_no_leftovers();
    free(data);
}

FILEIO_TEST(delete_is_idempotent) {
    floe_err err;
    put_str(U("d/x"), "x");
    cr_assert(fileio_delete(fx.io, U("d/x"), &err), "%s", err.msg);
    cr_expect(absent(U("d/x")));
    cr_assert(fileio_delete(fx.io, U("d/x"), &err), "deleting again: %s", err.msg);
    cr_assert(fileio_delete(fx.io, U("d/never/was"), &err), "deleting what never was: %s", err.msg);
}

#define NKEYS 1005

FILEIO_TEST(list_follows_pages_in_key_order) {
    char key[64];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "many/k%04d", i);
        put(U(key), key, (size_t)i % 7);
    }
    /* Around the prefix, and '-' (0x2d) sorting before '/' (0x2f). */
    put_str(U("man"), "x");
    put_str(U("many0"), "x");
    put_str(U("many/a-b"), "x");
    put_str(U("many/a/b"), "x");
    put_str(U("many/zz/deep/er"), "x");

    listing l = list(U("many/"), 0);
    cr_assert_eq(l.n, NKEYS + 3, "listed %zu", l.n);
    cr_expect_str_eq(l.uris[0], U("many/a-b"));
    cr_expect_str_eq(l.uris[1], U("many/a/b"));
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "many/k%04d", i);
        cr_assert_str_eq(l.uris[i + 2], U(key));
        cr_assert_eq(l.sizes[i + 2], (uint64_t)i % 7);
    }
    cr_expect_str_eq(l.uris[NKEYS + 2], U("many/zz/deep/er"));
    listing_free(&l);

    /* A prefix that is not a whole directory name. */
    l = list(U("many/k00"), 0);
    cr_expect_eq(l.n, 100);
    listing_free(&l);
    l = list(U("man"), 0);
    cr_expect_eq(l.n, NKEYS + 5);
    listing_free(&l);
    l = list(U("nope/"), 0);
    cr_expect_eq(l.n, 0);
    listing_free(&l);

    /* fn may stop the listing. */
    l = list(U("many/"), 10);
    cr_expect_eq(l.n, 10);
    listing_free(&l);
}

FILEIO_TEST(keys_with_spaces_unicode_and_reserved_characters) {
    static const char *keys[] = {
        "odd/dir with space/file name.txt",
        "odd/a+b=c&d?e#f%20g;h",
        "odd/\xc3\xbc\xc3\xb1\xc3\xae\xc3\xa7\xc3\xb8"
        "d\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.parquet",
        "odd/x/~!$'()*,:@[]{}^`|\"<>",
        "odd/emoji-\xf0\x9f\xa6\x86",
    };
    size_t nk = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < nk; i++) put_str(U(keys[i]), keys[i]);
    for (size_t i = 0; i < nk; i++) {
        expect_content(U(keys[i]), keys[i], strlen(keys[i]));
        floe_err err;
        fileio_in *in = fileio_in_open(fx.io, U(keys[i]), &err);
        cr_assert(in, "%s", err.msg);
        char two[2];
        cr_assert(fileio_in_read(in, 4, two, 2, &err), "%s", err.msg);
        cr_expect(memcmp(two, keys[i] + 4, 2) == 0);
        fileio_in_close(in);
    }
    listing l = list(U("odd/"), 0);
    cr_assert_eq(l.n, nk);
    for (size_t i = 0; i < nk; i++) {
        bool found = false;
        for (size_t j = 0; j < l.n; j++) found = found || !strcmp(l.uris[j], U(keys[i]));
        cr_expect(found, "%s is not in the listing", keys[i]);
    }
    for (size_t j = 1; j < l.n; j++) cr_expect_lt(strcmp(l.uris[j - 1], l.uris[j]), 0, "listing out of order");
    listing_free(&l);
    floe_err err;
    for (size_t i = 0; i < nk; i++) {
        cr_assert(fileio_delete(fx.io, U(keys[i]), &err), "%s", err.msg);
        cr_expect(absent(U(keys[i])));
    }
}

FILEIO_TEST(bad_uris_are_refused_with_the_form_expected) {
    floe_err err;
    const char *bad = fx.kind == B_LOCAL ? "relative/path" : "s3:/" BUCKET "/k";
    cr_expect(!fileio_write_all(fx.io, bad, "x", 1, false, &err));
    cr_expect_eq(err.code, FLOE_EINVAL);
    cr_expect(strstr(err.msg, bad), "%s", err.msg);
    cr_expect(strstr(err.msg, fx.kind == B_LOCAL ? "file:///" : "s3://bucket/key"), "%s", err.msg);
    if (fx.kind != B_LOCAL) {
        cr_expect(!fileio_write_all(fx.io, "s3://" BUCKET "/", "x", 1, false, &err));
        cr_expect(strstr(err.msg, "names a bucket"), "%s", err.msg);
        cr_expect(!fileio_write_all(fx.io, "s3://nosuchbucket/k", "x", 1, false, &err));
        cr_expect(strstr(err.msg, "s3://nosuchbucket/k"), "%s", err.msg);
        cr_expect(strstr(err.msg, "NoSuchBucket") || strstr(err.msg, "does not exist"), "%s", err.msg);
    }
}

typedef struct racer {
    const char *uri;
    char body[16];
    floe_err err;
    bool won;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    r->won = fileio_write_all(fx.io, r->uri, r->body, strlen(r->body), true, &r->err);
    return NULL;
}

/* Two writers create one metadata file at once: exactly one may win. */
FILEIO_TEST(concurrent_if_absent_writes_have_one_winner) {
    char key[32];
    for (int round = 0; round < 20; round++) {
        snprintf(key, sizeof key, "race/v%d.metadata.json", round);
        racer rs[2] = {{.uri = U(key)}, {.uri = U(key)}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            snprintf(rs[i].body, sizeof rs[i].body, "writer %d", i);
            cr_assert_eq(pthread_create(&t[i], NULL, race, &rs[i]), 0);
        }
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        cr_assert(rs[0].won != rs[1].won, "round %d: %s and %s", round, rs[0].won ? "won" : rs[0].err.msg,
                  rs[1].won ? "won" : rs[1].err.msg);
        racer *loser = rs[0].won ? &rs[1] : &rs[0], *winner = rs[0].won ? &rs[0] : &rs[1];
        cr_expect_eq(loser->err.code, FLOE_EEXIST, "%s", loser->err.msg);
        expect_content(U(key), winner->body, strlen(winner->body));
    }
    expect_no_leftovers();
}

/* ---- S3 only: credentials, replaced objects, options ---- */

Test(fileio, s3_wrong_secret_is_signature_does_not_match, .init = setup_s3, .fini = teardown) {
    fileio_t *bad = s3_client(ACCESS_KEY, "not-the-secret", -1);
    floe_err err;
    const char *uri = U("auth/x");
    cr_expect(!fileio_write_all(bad, uri, "x", 1, false, &err));
    cr_expect_eq(err.code, FLOE_EAUTH);
    cr_expect(strstr(err.msg, uri), "names the URI: %s", err.msg);
    cr_expect(strstr(err.msg, "SignatureDoesNotMatch"), "%s", err.msg);
    cr_expect(strstr(err.msg, "403"), "%s", err.msg);
    buf_t b = BUF_INIT;
    cr_expect(!fileio_read_all(bad, uri, &b, &err));
    cr_expect(strstr(err.msg, "SignatureDoesNotMatch"), "%s", err.msg);
    buf_free(&b);
    fileio_free(bad);
}

Test(fileio, s3_unknown_access_key_is_invalid_access_key_id, .init = setup_s3, .fini = teardown) {
    fileio_t *bad = s3_client("AKIDNOBODY", SECRET_KEY, -1);
    floe_err err;
    const char *uri = U("auth/y");
    cr_expect(!fileio_write_all(bad, uri, "y", 1, false, &err));
    cr_expect(strstr(err.msg, uri), "names the URI: %s", err.msg);
    cr_expect(strstr(err.msg, "InvalidAccessKeyId"), "%s", err.msg);
    bool exists;
    cr_expect(!fileio_stat(bad, uri, &exists, NULL, &err), "HEAD with a bad key must fail, not say absent");
    cr_expect(strstr(err.msg, "InvalidAccessKeyId"), "HEAD carries the code in a header: %s", err.msg);
    fileio_free(bad);
}

Test(fileio, s3_object_replaced_under_a_reader_fails_loudly, .init = setup_s3, .fini = teardown) {
    put_str(U("v/obj"), "version one");
    floe_err err;
    fileio_in *in = fileio_in_open(fx.io, U("v/obj"), &err);
    cr_assert(in, "%s", err.msg);
    put_str(U("v/obj"), "VERSION TWO");
    char buf[4];
    cr_expect(!fileio_in_read(in, 0, buf, 4, &err));
    cr_expect_eq(err.code, FLOE_ECONFLICT, "%s", err.msg);
    cr_expect(strstr(err.msg, "changed"), "%s", err.msg);
    fileio_in_close(in);
}

Test(fileio, s3_options_are_checked) {
    floe_err err;
    fileio_s3_opts o = {.endpoint = "http://127.0.0.1:1"};
    cr_expect_null(fileio_s3(&o, &err));
    cr_expect(strstr(err.msg, "access key"), "%s", err.msg);
    o.access_key = "a", o.secret_key = "b", o.part_size = 1 << 20;
    cr_expect_null(fileio_s3(&o, &err));
    cr_expect(strstr(err.msg, "part_size"), "%s", err.msg);
    o.part_size = 0, o.endpoint = "127.0.0.1:9000";
    cr_expect_null(fileio_s3(&o, &err));
    cr_expect(strstr(err.msg, "http://"), "%s", err.msg);
    o.endpoint = NULL, o.path_style = o.virtual_host = true;
    cr_expect_null(fileio_s3(&o, &err));
    o.virtual_host = false;
    fileio_t *io = fileio_s3(&o, &err);
    cr_expect_not_null(io, "%s", err.msg);
    fileio_free(io);
}

/* ---- S3 only: retries, against a server that fails on purpose ---- */

typedef struct flaky {
    atomic_int requests;
    int fail_first; /* answer 503 SlowDown to this many requests */
    char host[128], path[256], method[16];
} flaky;

static const char slow_down[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                                "<Message>Please reduce your request rate.</Message></Error>";

static void flaky_end(http_req_t *req, void *ctx) {
    flaky *f = ctx;
    int n = atomic_fetch_add(&f->requests, 1);
    const char *host = http_req_header(req, "Host");
    snprintf(f->host, sizeof f->host, "%s", host ? host : "");
    snprintf(f->path, sizeof f->path, "%.*s", (int)req->raw_path_len, req->raw_path);
    snprintf(f->method, sizeof f->method, "%s", req->method);
    if (n < f->fail_first) {
        http_respond(req, 503, "application/xml", slow_down, sizeof slow_down - 1);
    } else if (http_req_is(req, "GET")) {
        http_respond(req, 200, "application/octet-stream", "served", 6);
    } else {
        http_resp_header(req, "ETag", "\"0123456789abcdef0123456789abcdef\"");
        http_respond(req, 200, NULL, NULL, 0);
    }
}

static http_server_t *flaky_start(flaky *f) {
    http_route routes[] = {{.prefix = "", .handler = {.end = flaky_end, .ctx = f}}};
    http_server_opts o = {.name = "flaky", .bind = "127.0.0.1", .routes = routes, .nroutes = 1};
    floe_err err;
    http_server_t *srv = http_server_start(&o, &err);
    cr_assert(srv, "%s", err.msg);
    return srv;
}

static fileio_t *flaky_client(http_server_t *srv, const char *host, int max_retries, bool vhost) {
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://%s:%d", host, http_server_port(srv));
    fileio_s3_opts o = {.endpoint = endpoint,
                        .access_key = "AKID",
                        .secret_key = "secret",
                        .max_retries = max_retries,
                        .virtual_host = vhost};
    floe_err err;
    fileio_t *io = fileio_s3(&o, &err);
    cr_assert(io, "%s", err.msg);
    return io;
}

Test(fileio, s3_retries_503_slow_down_then_succeeds) {
    flaky f = {.fail_first = 2};
    http_server_t *srv = flaky_start(&f);
    fileio_t *io = flaky_client(srv, "127.0.0.1", 0, false);
    floe_err err;
    cr_assert(fileio_write_all(io, "s3://bkt/some key", "payload", 7, false, &err), "%s", err.msg);
    cr_expect_eq(atomic_load(&f.requests), 3, "two 503s and a success: %d requests", atomic_load(&f.requests));
    cr_expect_str_eq(f.method, "PUT");
    cr_expect_str_eq(f.path, "/bkt/some%20key");

    atomic_store(&f.requests, 0);
    buf_t b = BUF_INIT;
    cr_assert(fileio_read_all(io, "s3://bkt/k", &b, &err), "%s", err.msg);
    cr_expect_str_eq(b.data, "served", "the failed attempts' bodies are not kept");
    cr_expect_eq(atomic_load(&f.requests), 3);
    buf_free(&b);
    fileio_free(io);
    http_server_stop(srv);
}

Test(fileio, s3_gives_up_after_max_retries) {
    flaky f = {.fail_first = 1000};
    http_server_t *srv = flaky_start(&f);
    fileio_t *io = flaky_client(srv, "127.0.0.1", 2, false);
    floe_err err;
    cr_expect(!fileio_write_all(io, "s3://bkt/k", "x", 1, false, &err));
    cr_expect_eq(atomic_load(&f.requests), 3, "1 attempt + 2 retries: %d requests", atomic_load(&f.requests));
    cr_expect(strstr(err.msg, "s3://bkt/k"), "%s", err.msg);
    cr_expect(strstr(err.msg, "503"), "%s", err.msg);
    cr_expect(strstr(err.msg, "SlowDown"), "%s", err.msg);
    cr_expect(strstr(err.msg, "Please reduce your request rate"), "%s", err.msg);
    cr_expect(strstr(err.msg, "3 attempts"), "%s", err.msg);
    fileio_free(io);
    http_server_stop(srv);
}

Test(fileio, s3_retries_connection_errors) {
    /* A port with nothing behind it. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", ntohs(a.sin_port));
    fileio_s3_opts o = {.endpoint = endpoint, .access_key = "AKID", .secret_key = "secret", .max_retries = 1};
    floe_err err;
    fileio_t *io = fileio_s3(&o, &err);
    cr_assert(io, "%s", err.msg);
    bool exists;
    cr_expect(!fileio_stat(io, "s3://bkt/k", &exists, NULL, &err));
    cr_expect_eq(err.code, FLOE_EIO);
    cr_expect(strstr(err.msg, "s3://bkt/k"), "%s", err.msg);
    cr_expect(strstr(err.msg, "2 attempts"), "%s", err.msg);
    fileio_free(io);
}

Test(fileio, s3_virtual_host_addressing) {
    flaky f = {0};
    http_server_t *srv = flaky_start(&f);
    /* curl resolves every *.localhost name to the loopback address. */
    fileio_t *io = flaky_client(srv, "localhost", 0, true);
    floe_err err;
    cr_assert(fileio_write_all(io, "s3://bkt/dir/a b+c", "x", 1, false, &err), "%s", err.msg);
    char want[64];
    snprintf(want, sizeof want, "bkt.localhost:%d", http_server_port(srv));
    cr_expect_str_eq(f.host, want);
    cr_expect_str_eq(f.path, "/dir/a%20b%2Bc");
    fileio_free(io);
    http_server_stop(srv);
}

/* A scripted multipart service: part fail_part gets a 400, and with
 * complete_error the first Complete answers 200 with an <Error> body, as S3
 * may. It counts what it saw. */
typedef struct mpu_mock {
    atomic_int creates, parts, aborts, completes, puts;
    int fail_part;
    bool complete_error;
} mpu_mock;

static void mpu_respond_xml(http_req_t *req, int status, const char *xml) {
    http_respond(req, status, "application/xml", xml, strlen(xml));
}

static void mpu_end(http_req_t *req, void *ctx) {
    mpu_mock *m = ctx;
    const char *part = http_req_param(req, "partNumber");
    bool upload = http_req_has_param(req, "uploadId");
    if (http_req_is(req, "POST") && http_req_has_param(req, "uploads")) {
        atomic_fetch_add(&m->creates, 1);
        mpu_respond_xml(req, 200,
                        "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>big</Key>"
                        "<UploadId>UP-1</UploadId></InitiateMultipartUploadResult>");
    } else if (http_req_is(req, "PUT") && part) {
        atomic_fetch_add(&m->parts, 1);
        if (atoi(part) == m->fail_part) {
            mpu_respond_xml(req, 400, "<Error><Code>InvalidArgument</Code><Message>no part for you</Message></Error>");
            return;
        }
        http_resp_header(req, "ETag", "\"0123456789abcdef0123456789abcdef\"");
        http_respond(req, 200, NULL, NULL, 0);
    } else if (http_req_is(req, "DELETE") && upload) {
        atomic_fetch_add(&m->aborts, 1);
        http_respond(req, 204, NULL, NULL, 0);
    } else if (http_req_is(req, "POST") && upload) {
        int n = atomic_fetch_add(&m->completes, 1);
        if (m->complete_error && n == 0)
            mpu_respond_xml(req, 200,
                            "<?xml version=\"1.0\"?>\n\n<Error><Code>InternalError</Code>"
                            "<Message>We encountered an internal error.</Message></Error>");
        else
            mpu_respond_xml(req, 200,
                            "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>");
    } else {
        atomic_fetch_add(&m->puts, 1);
        http_respond(req, 200, NULL, NULL, 0);
    }
}

static fileio_t *mpu_client(http_server_t **srv, mpu_mock *m) {
    http_route routes[] = {{.prefix = "", .handler = {.end = mpu_end, .ctx = m}}};
    http_server_opts so = {.name = "mpu", .bind = "127.0.0.1", .routes = routes, .nroutes = 1};
    floe_err err;
    *srv = http_server_start(&so, &err);
    cr_assert(*srv, "%s", err.msg);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", http_server_port(*srv));
    fileio_s3_opts o = {.endpoint = endpoint,
                        .access_key = "AKID",
                        .secret_key = "secret",
                        .part_size = MPU_PART,
                        .multipart_threshold = MPU_THRESHOLD};
    fileio_t *io = fileio_s3(&o, &err);
    cr_assert(io, "%s", err.msg);
    return io;
}

/* Writes BIG_SIZE bytes in 1 MiB pieces; false at the first failure. */
static bool write_big(fileio_out *out, floe_err *err) {
    static unsigned char chunk[1 << 20];
    for (size_t off = 0; off < BIG_SIZE; off += sizeof chunk) {
        size_t k = BIG_SIZE - off < sizeof chunk ? BIG_SIZE - off : sizeof chunk;
        if (!fileio_out_write(out, chunk, k, err)) return false;
    }
    return true;
}

Test(fileio, s3_failed_part_aborts_the_upload) {
    mpu_mock m = {.fail_part = 2};
    http_server_t *srv;
    fileio_t *io = mpu_client(&srv, &m);
    floe_err err;
    fileio_out *out = fileio_out_create(io, "s3://bkt/big", &err);
    cr_assert(out, "%s", err.msg);
    cr_expect(!write_big(out, &err));
    cr_expect(strstr(err.msg, "s3://bkt/big") && strstr(err.msg, "part 2") && strstr(err.msg, "InvalidArgument"), "%s",
              err.msg);
    cr_expect_eq(atomic_load(&m.aborts), 1, "the upload is aborted when a part fails");
    cr_expect(!fileio_out_close(out, &err), "closing a failed output fails");
    cr_expect(strstr(err.msg, "part 2"), "close repeats the first failure: %s", err.msg);
    cr_expect_eq(atomic_load(&m.aborts), 1);
    cr_expect_eq(atomic_load(&m.completes), 0);
    fileio_free(io);
    http_server_stop(srv);
}

Test(fileio, s3_complete_with_error_in_200_is_retried) {
    mpu_mock m = {.complete_error = true};
    http_server_t *srv;
    fileio_t *io = mpu_client(&srv, &m);
    floe_err err;
    fileio_out *out = fileio_out_create(io, "s3://bkt/big", &err);
    cr_assert(out, "%s", err.msg);
    cr_assert(write_big(out, &err), "%s", err.msg);
    cr_assert(fileio_out_close(out, &err), "%s", err.msg);
    cr_expect_eq(atomic_load(&m.creates), 1);
    cr_expect_eq(atomic_load(&m.parts), 3);
    cr_expect_eq(atomic_load(&m.completes), 2, "the 200 with <Error> is retried");
    cr_expect_eq(atomic_load(&m.aborts), 0);
    cr_expect_eq(atomic_load(&m.puts), 0);

    /* An abort after parts went out aborts the upload. */
    out = fileio_out_create(io, "s3://bkt/big2", &err);
    cr_assert(out, "%s", err.msg);
    cr_assert(write_big(out, &err), "%s", err.msg);
    fileio_out_abort(out);
    cr_expect_eq(atomic_load(&m.aborts), 1);
    fileio_free(io);
    http_server_stop(srv);
}

/* ---- local only: the forms of a path ---- */

Test(fileio, local_path_forms, .init = setup_local, .fini = teardown) {
    char plain[300], hadoop[300], full[300];
    snprintf(plain, sizeof plain, "%s/forms/a", fx.dir);
    snprintf(hadoop, sizeof hadoop, "file:%s/forms/a", fx.dir);
    snprintf(full, sizeof full, "file://%s/forms/a", fx.dir);
    put_str(plain, "same file");
    expect_content(hadoop, "same file", 9);
    expect_content(full, "same file", 9);
    /* A listing hands back URIs in the form of the prefix. */
    char prefix[300];
    snprintf(prefix, sizeof prefix, "file:%s/forms/", fx.dir);
    listing l = list(prefix, 0);
    cr_assert_eq(l.n, 1);
    cr_expect_str_eq(l.uris[0], hadoop);
    listing_free(&l);
    floe_err err;
    cr_expect(!fileio_write_all(fx.io, "file://host/x", "x", 1, false, &err));
    cr_expect(strstr(err.msg, "file:///abs/path"), "%s", err.msg);
    cr_expect(!fileio_write_all(fx.io, "s3://b/k", "x", 1, false, &err));
    cr_expect(strstr(err.msg, "S3 FileIO"), "%s", err.msg);
    char dir_uri[300];
    snprintf(dir_uri, sizeof dir_uri, "%s/forms/", fx.dir);
    cr_expect(!fileio_write_all(fx.io, dir_uri, "x", 1, false, &err));
}
