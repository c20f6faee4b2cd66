/*
 * writer.c: writing object and part data.
 *
 * A writer keeps the first inline_max bytes in memory. A body that ends
 * within that limit is stored inline in its index row (no file at all); a
 * longer one spills to a temp file in tmp/. Bytes are hashed (MD5 for the
 * ETag, and one optional checksum) as they are written. store_writer_finish
 * fsyncs the file; store_writer_place renames it to data/XX/ID, and the
 * committer fsyncs data/XX before the index row that makes it visible commits.
 *
 * Hashing is the most expensive part of a large upload (MD5 runs at about
 * 750 MB/s on one core). Once a body passes HASHER_FROM bytes, a hasher
 * thread takes over: it reads the freshly written bytes back from the page
 * cache and hashes them while the request thread keeps receiving, and its
 * tail overlaps the final fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "store/store_int.h"

#define HASHER_FROM (8u << 20)
#define HASHER_CHUNK (1u << 20)

typedef struct hasher {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more; /* bytes written, or writing ended */
    int fd;              /* read-only view of the temp file */
    uint64_t written;    /* bytes the writer has written (under lock) */
    uint64_t hashed;     /* bytes hashed, starting from `from` */
    bool ending;
    bool failed;
    int error;
} hasher;

struct store_writer {
    store_t *store;
    hasher *bg; /* non-NULL once the hasher thread has taken over */
    int fd;     /* -1 until the body spills to a file */
    bool allow_inline;
    buf_t mem; /* the body while it fits inline */
    char id[STORE_ID_LEN + 1];
    char tmp_path[4096];
    uint64_t size;
    hash_ctx md5;
    hash_ctx sum;
    bool finished;
    bool placed;
};

void store_random_id(char out[STORE_ID_LEN + 1]) {
    unsigned char r[STORE_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            abort(); /* the kernel always has randomness for us after boot */
        }
        got += (size_t)n;
    }
    str_hex(r, sizeof r, out);
}

void store_data_path(store_t *s, const char *data_id, char *out, size_t n) {
    snprintf(out, n, "%s/%.2s/%s", s->data_dir, data_id, data_id);
}

store_writer *store_writer_new(store_t *s, hash_algo checksum, floe_err *err) {
    store_writer *w = calloc(1, sizeof *w);
    w->store = s;
    w->fd = -1;
    w->allow_inline = s->inline_max > 0;
    store_random_id(w->id);
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/%s.tmp", s->tmp_dir, w->id);
    hash_init(&w->md5, HASH_MD5);
    hash_init(&w->sum, checksum == HASH_MD5 ? HASH_NONE : checksum);
    (void)err;
    return w;
}

void store_writer_no_inline(store_writer *w) { w->allow_inline = false; }

/* Moves the body to a temp file: when it outgrows inline_max, or when the
 * caller needs a file. */
static bool spill(store_writer *w, floe_err *err) {
    if (w->fd >= 0) return true;
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) return floe_err_errno(err, errno, "create temp file %s", w->tmp_path);
    if (w->mem.len && !fs_write_full(w->fd, w->mem.data, w->mem.len))
        return floe_err_errno(err, errno, "write %s", w->tmp_path);
    buf_free(&w->mem);
    w->allow_inline = false;
    return true;
}

static void *hasher_main(void *arg) {
    store_writer *w = arg;
    hasher *h = w->bg;
    char *buf = malloc(HASHER_CHUNK);
    if (!buf) abort();
    uint64_t off = h->hashed;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (h->written == off && !h->ending) pthread_cond_wait(&h->more, &h->lock);
        uint64_t avail = h->written - off;
        bool ending = h->ending;
        pthread_mutex_unlock(&h->lock);
        if (avail == 0 && ending) break;
        size_t want = avail < HASHER_CHUNK ? (size_t)avail : HASHER_CHUNK;
        ssize_t r = pread(h->fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            pthread_mutex_lock(&h->lock);
            h->failed = true;
            h->error = r < 0 ? errno : EIO;
            pthread_mutex_unlock(&h->lock);
            break;
        }
        hash_update(&w->md5, buf, (size_t)r);
        hash_update(&w->sum, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
    return NULL;
}

/* Hands hashing to a thread from the current size on; false keeps it inline. */
static bool hasher_start(store_writer *w) {
    hasher *h = calloc(1, sizeof *h);
    h->fd = open(w->tmp_path, O_RDONLY | O_CLOEXEC);
    if (h->fd < 0) {
        free(h);
        return false;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->more, NULL);
    h->written = h->hashed = w->size;
    w->bg = h;
    if (pthread_create(&h->thread, NULL, hasher_main, w) != 0) {
        close(h->fd);
        free(h);
        w->bg = NULL;
        return false;
    }
    return true;
}

/* Waits for the hasher to finish; false if it could not read the file. */
static bool hasher_stop(store_writer *w, floe_err *err) {
    hasher *h = w->bg;
    if (!h) return true;
    pthread_mutex_lock(&h->lock);
    h->ending = true;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    bool ok = !h->failed || floe_err_errno(err, h->error, "read back %s for hashing", w->tmp_path);
    close(h->fd);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->more);
    free(h);
    w->bg = NULL;
    return ok;
}

bool store_writer_write(store_writer *w, const void *data, size_t n, floe_err *err) {
    if (w->fd < 0 && w->allow_inline && w->mem.len + n <= w->store->inline_max) {
        buf_append(&w->mem, data, n);
    } else {
        if (!spill(w, err)) return false;
        if (!fs_write_full(w->fd, data, n)) return floe_err_errno(err, errno, "write %s", w->tmp_path);
    }
    w->size += n;
    if (w->bg) {
        pthread_mutex_lock(&w->bg->lock);
        w->bg->written = w->size;
        pthread_cond_signal(&w->bg->more);
        pthread_mutex_unlock(&w->bg->lock);
        return true;
    }
    hash_update(&w->md5, data, n);
    hash_update(&w->sum, data, n);
    if (w->size >= HASHER_FROM && w->fd >= 0) hasher_start(w);
    return true;
}

bool store_writer_is_inline(store_writer *w) { return w->fd < 0 && w->allow_inline; }

const void *store_writer_inline_data(store_writer *w, size_t *len) {
    *len = w->mem.len;
    return w->mem.data ? w->mem.data : "";
}

bool store_writer_copy_fd(store_writer *w, int fd, uint64_t offset, uint64_t len, floe_err *err) {
    static const size_t CHUNK = 1 << 20;
    char *buf = malloc(CHUNK);
    if (!buf) abort();
    bool ok = true;
    while (len > 0) {
        size_t want = len < CHUNK ? (size_t)len : CHUNK;
        ssize_t r = pread(fd, buf, want, (off_t)offset);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ok = r < 0 ? floe_err_errno(err, errno, "read source data")
                       : floe_err_set(err, FLOE_EIO, "source data ended early at offset %llu",
                                      (unsigned long long)offset);
            break;
        }
        if (!store_writer_write(w, buf, (size_t)r, err)) {
            ok = false;
            break;
        }
        offset += (uint64_t)r;
        len -= (uint64_t)r;
    }
    free(buf);
    return ok;
}

uint64_t store_writer_size(store_writer *w) { return w->size; }

bool store_writer_copy_object(store_writer *w, const store_object *src, int fd, uint64_t offset, uint64_t len,
                              floe_err *err) {
    if (src->inline_data) {
        if (offset > src->inline_len || len > src->inline_len - offset)
            return floe_err_set(err, FLOE_EINVAL, "copy range is outside the %zu-byte source", src->inline_len);
        return store_writer_write(w, (const char *)src->inline_data + offset, (size_t)len, err);
    }
    return store_writer_copy_fd(w, fd, offset, len, err);
}

bool store_writer_finish(store_writer *w, unsigned char md5[16], unsigned char *checksum, floe_err *err) {
    if (!w->allow_inline && !spill(w, err)) return false;
    if (w->bg) { /* let the hasher drain while the fsync runs */
        pthread_mutex_lock(&w->bg->lock);
        w->bg->ending = true;
        pthread_cond_signal(&w->bg->more);
        pthread_mutex_unlock(&w->bg->lock);
    }
    bool synced = w->fd < 0 || !w->store->fsync || fsync(w->fd) == 0;
    int e = errno;
    if (!hasher_stop(w, err)) return false;
    if (!synced) return floe_err_errno(err, e, "fsync %s", w->tmp_path);
    unsigned char d[HASH_MAX_DIGEST];
    hash_final(&w->md5, d);
    memcpy(md5, d, 16);
    size_t n = hash_final(&w->sum, d);
    if (checksum && n) memcpy(checksum, d, n);
    w->finished = true;
    return true;
}

bool store_writer_place(store_writer *w, char data_id[STORE_ID_LEN + 1], floe_err *err) {
    if (w->fd < 0) { /* inline: the data travels in the index row */
        data_id[0] = '\0';
        return true;
    }
    char path[4096];
    store_data_path(w->store, w->id, path, sizeof path);
    if (rename(w->tmp_path, path) != 0) return floe_err_errno(err, errno, "rename %s to %s", w->tmp_path, path);
    memcpy(w->tmp_path, path, strlen(path) + 1); /* abort now removes the placed file */
    w->placed = true;
    /* The directory fsync that makes this rename durable is done by the
     * committer, once per batch, before the row commits (store_commit_placed). */
    memcpy(data_id, w->id, STORE_ID_LEN + 1);
    return true;
}

void store_writer_release(store_writer *w) {
    if (!w) return;
    hasher_stop(w, NULL);
    if (w->fd >= 0) close(w->fd);
    hash_abort(&w->md5);
    hash_abort(&w->sum);
    buf_free(&w->mem);
    free(w);
}

void store_writer_abort(store_writer *w) {
    if (!w) return;
    if (w->fd >= 0) unlink(w->tmp_path);
    store_writer_release(w);
}

void store_data_unlink(store_t *s, const char *data_id) {
    if (!data_id || !data_id[0]) return; /* inline data has no file */
    char path[4096];
    store_data_path(s, data_id, path, sizeof path);
    unlink(path);
}

/* For multipart completion, which fills the file with copy_file_range. */
int store_writer_fd(store_writer *w) {
    floe_err err;
    store_writer_no_inline(w);
    return spill(w, &err) ? w->fd : -1;
}
void store_writer_add_size(store_writer *w, uint64_t n) { w->size += n; }
