/*
 * fileio_local.c: FileIO on the local file system, for file:///abs/path,
 * file:/abs/path (the form Hadoop and Iceberg's Java code write) and /abs/path.
 * Paths are taken literally: no percent-decoding, so "a%20b" is that name.
 *
 * An output is a temp file beside its target (".floe-tmp-<random>", which
 * listings skip), fsynced and renamed into place, then the directory is
 * fsynced: the file appears whole or not at all, and survives a crash once
 * fileio_out_close returns. With if_absent the temp file is link()ed to the
 * target instead, which fails if the target exists, so two writers racing
 * for one metadata file cannot both win. Directories are made as needed,
 * and each new one is fsynced into its parent.
 *
 * A listing walks the directories under the prefix's directory and reports
 * files in byte order of their paths, as S3 orders keys (a directory sorts
 * as its name plus '/', so "a-b" comes before "a/x").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "store/fileio_int.h"

#define TMP_PREFIX ".floe-tmp-"

typedef struct local_in {
    fileio_in base;
    int fd;
} local_in;

typedef struct local_out {
    fileio_out base;
    int fd;
    char path[PATH_MAX];
    char tmp[PATH_MAX];
} local_out;

/* ---- paths ---- */

/* The path a URI names, and how many bytes of scheme came before it. */
static bool local_path(const char *uri, const char **path, size_t *scheme_len, floe_err *err) {
    size_t skip = 0;
    if (str_starts_with(uri, "file://")) {
        skip = 7;
        if (uri[7] != '/')
            return floe_err_set(err, FLOE_EINVAL,
                                "'%s' names a host; local file URIs have none: use file:///abs/path or /abs/path", uri);
    } else if (str_starts_with(uri, "file:")) {
        skip = 5;
    }
    if (uri[skip] != '/')
        return floe_err_set(err, FLOE_EINVAL,
                            "'%s' is not an absolute local path; expected file:///abs/path or /abs/path%s", uri,
                            strstr(uri, "://") ? " (other schemes need the store or S3 FileIO)" : "");
    if (strlen(uri + skip) >= PATH_MAX - 32)
        return floe_err_set(err, FLOE_EINVAL, "'%s' is longer than this system's paths can be", uri);
    *path = uri + skip;
    *scheme_len = skip;
    return true;
}

/* The directory part of path ("/a/b" for "/a/b/c"; "/" for "/c"). */
static void local_dirname(const char *path, char out[PATH_MAX]) {
    const char *slash = strrchr(path, '/');
    size_t n = slash && slash > path ? (size_t)(slash - path) : 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

/* Makes dir and any missing parents, fsyncing each new directory's parent
 * so the new entry is durable. */
static bool local_mkdirs(const char *dir, floe_err *err) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return true;
        return floe_err_set(err, FLOE_EINVAL, "%s exists and is not a directory; files cannot be created under it",
                            dir);
    }
    if (errno != ENOENT) return floe_err_errno(err, errno, "stat %s", dir);
    char parent[PATH_MAX];
    local_dirname(dir, parent);
    if (strcmp(parent, dir) != 0 && !local_mkdirs(parent, err)) return false;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return floe_err_errno(err, errno, "mkdir %s", dir);
    return fs_fsync_dir(parent, err);
}

/* ---- reading ---- */

static fileio_in *local_in_open(fileio_t *io, const char *uri, floe_err *err) {
    const char *path;
    size_t skip;
    if (!local_path(uri, &path, &skip, err)) return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        floe_err_errno(err, errno, "%s: open", uri);
        return NULL;
    }
    struct stat st;
    bool is_file = false;
    if (fstat(fd, &st) != 0)
        floe_err_errno(err, errno, "%s: stat", uri);
    else if (!(is_file = S_ISREG(st.st_mode)))
        floe_err_set(err, FLOE_EINVAL, "%s is a directory or a device, not a file", uri);
    if (!is_file) {
        close(fd);
        return NULL;
    }
    local_in *in = calloc(1, sizeof *in);
    if (!in) abort();
    fileio_in_init(&in->base, io, uri);
    in->fd = fd;
    in->base.size = (uint64_t)st.st_size;
    return &in->base;
}

static bool local_in_read(fileio_in *base, uint64_t off, void *dst, size_t n, floe_err *err) {
    local_in *in = (local_in *)base;
    ssize_t r = fs_pread_full(in->fd, dst, n, off);
    if (r < 0) return floe_err_errno(err, errno, "%s: read at offset %llu", base->uri, (unsigned long long)off);
    if ((size_t)r < n)
        return floe_err_set(err, FLOE_EIO,
                            "%s: the file ends at offset %llu, before the %llu bytes it had when opened; something "
                            "truncated it",
                            base->uri, (unsigned long long)(off + (uint64_t)r), (unsigned long long)base->size);
    return true;
}

static void local_in_close(fileio_in *base) {
    local_in *in = (local_in *)base;
    close(in->fd);
    fileio_in_fini(base);
    free(in);
}

static bool local_stat(fileio_t *io, const char *uri, bool *exists, uint64_t *size, floe_err *err) {
    const char *path;
    size_t skip;
    if (!local_path(uri, &path, &skip, err)) return false;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return *exists = false, true;
        return floe_err_errno(err, errno, "%s: stat", uri);
    }
    /* A directory is not a file, as an S3 prefix is not an object. */
    *exists = S_ISREG(st.st_mode);
    *size = (uint64_t)st.st_size;
    return true;
}

/* ---- writing ---- */

static fileio_out *local_out_create(fileio_t *io, const char *uri, bool if_absent, floe_err *err) {
    const char *path;
    size_t skip;
    if (!local_path(uri, &path, &skip, err)) return NULL;
    if (path[strlen(path) - 1] == '/') {
        floe_err_set(err, FLOE_EINVAL, "'%s' ends in '/', which names a directory; give a file name", uri);
        return NULL;
    }
    if (if_absent && access(path, F_OK) == 0) {
        fileio_err_exists(err, uri);
        return NULL;
    }
    char dir[PATH_MAX];
    local_dirname(path, dir);
    if (!local_mkdirs(dir, err)) {
        floe_err_wrap(err, "%s", uri);
        return NULL;
    }
    local_out *out = calloc(1, sizeof *out);
    if (!out) abort();
    snprintf(out->path, sizeof out->path, "%s", path);
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 0, sizeof rnd);
    char hex[17];
    str_hex(rnd, sizeof rnd, hex);
    snprintf(out->tmp, sizeof out->tmp, "%s/%s%s", strcmp(dir, "/") ? dir : "", TMP_PREFIX, hex);
    out->fd = open(out->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out->fd < 0) {
        floe_err_errno(err, errno, "%s: create temp file %s", uri, out->tmp);
        free(out);
        return NULL;
    }
    fileio_out_init(&out->base, io, uri, if_absent);
    return &out->base;
}

static bool local_out_write(fileio_out *base, const void *p, size_t n, floe_err *err) {
    local_out *out = (local_out *)base;
    if (!fs_write_full(out->fd, p, n)) return floe_err_errno(err, errno, "%s: write %s", base->uri, out->tmp);
    return true;
}

static void local_out_free(local_out *out) {
    if (out->fd >= 0) close(out->fd);
    if (out->tmp[0]) unlink(out->tmp);
    fileio_out_fini(&out->base);
    free(out);
}

/* Moves the finished temp file to its name: link() when it must not exist
 * yet (fails with EEXIST rather than replacing), else rename(). */
static bool local_place(local_out *out, floe_err *err) {
    const char *uri = out->base.uri;
    if (!out->base.if_absent) {
        if (rename(out->tmp, out->path) != 0) return floe_err_errno(err, errno, "%s: rename into place", uri);
        out->tmp[0] = '\0';
        return true;
    }
    if (link(out->tmp, out->path) != 0)
        return errno == EEXIST ? fileio_err_exists(err, uri) : floe_err_errno(err, errno, "%s: link into place", uri);
    return true; /* local_out_free unlinks the temp name */
}

static bool local_out_close(fileio_out *base, floe_err *err) {
    local_out *out = (local_out *)base;
    bool ok = false;
    if (fsync(out->fd) != 0) {
        floe_err_errno(err, errno, "%s: fsync %s", base->uri, out->tmp);
        goto done;
    }
    int fd = out->fd;
    out->fd = -1;
    if (close(fd) != 0) {
        floe_err_errno(err, errno, "%s: close %s", base->uri, out->tmp);
        goto done;
    }
    if (!local_place(out, err)) goto done;
    ok = fs_fsync_parent(out->path, err) || floe_err_wrap(err, "%s", base->uri);
done:
    local_out_free(out);
    return ok;
}

static void local_out_abort(fileio_out *base) { local_out_free((local_out *)base); }

/* ---- delete ---- */

static bool local_remove(fileio_t *io, const char *uri, floe_err *err) {
    const char *path;
    size_t skip;
    if (!local_path(uri, &path, &skip, err)) return false;
    if (unlink(path) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return true;
        return floe_err_errno(err, errno, "%s: unlink", uri);
    }
    return fs_fsync_parent(path, err) || floe_err_wrap(err, "%s", uri);
}

/* ---- list ---- */

typedef struct local_entry {
    char *sort_name; /* the name, with '/' appended for a directory */
    bool is_dir;
    uint64_t size;
    int64_t mtime_ms;
} local_entry;

typedef struct local_walk {
    const char *prefix; /* the path prefix asked for */
    size_t prefix_len;
    const char *scheme; /* the URI's scheme part, to put back */
    size_t scheme_len;
    fileio_list_fn fn;
    void *arg;
    bool stopped;
    buf_t uri;
} local_walk;

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const local_entry *)a)->sort_name, ((const local_entry *)b)->sort_name);
}

/* True when path (a file, or a directory with its '/') can hold or be a match. */
static bool walk_relevant(const local_walk *w, const char *path, size_t n, bool is_dir) {
    size_t k = n < w->prefix_len ? n : w->prefix_len;
    if (memcmp(path, w->prefix, k) != 0) return false;
    return is_dir || n >= w->prefix_len;
}

/* Reads dir's entries (files and directories; symlinks to files count as
 * files), sorted. */
static bool read_dir(const char *dir, local_entry **out, size_t *n, floe_err *err) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return true;
        return floe_err_errno(err, errno, "open directory %s", dir);
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..") || str_starts_with(name, TMP_PREFIX)) continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue; /* gone meanwhile */
        bool is_dir = S_ISDIR(st.st_mode);
        if (S_ISLNK(st.st_mode) && (fstatat(dirfd(d), name, &st, 0) != 0 || !S_ISREG(st.st_mode))) continue;
        if (!is_dir && !S_ISREG(st.st_mode)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            local_entry *grown = realloc(*out, cap * sizeof **out);
            if (!grown) abort();
            *out = grown;
        }
        local_entry *e = &(*out)[(*n)++];
        size_t len = strlen(name);
        e->sort_name = malloc(len + 2);
        if (!e->sort_name) abort();
        memcpy(e->sort_name, name, len);
        e->sort_name[len] = is_dir ? '/' : '\0';
        e->sort_name[len + 1] = '\0';
        e->is_dir = is_dir;
        e->size = (uint64_t)st.st_size;
        e->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    closedir(d);
    if (*n) qsort(*out, *n, sizeof **out, entry_cmp);
    return true;
}

/* dir ends with '/'. */
static bool walk_dir(local_walk *w, const char *dir, floe_err *err) {
    local_entry *ents;
    size_t n;
    if (!read_dir(dir, &ents, &n, err)) return false;
    bool ok = true;
    char path[PATH_MAX];
    for (size_t i = 0; ok && !w->stopped && i < n; i++) {
        int len = snprintf(path, sizeof path, "%s%s", dir, ents[i].sort_name);
        if (len >= (int)sizeof path) continue;
        if (!walk_relevant(w, path, (size_t)len, ents[i].is_dir)) continue;
        if (ents[i].is_dir) {
            ok = walk_dir(w, path, err);
            continue;
        }
        buf_reset(&w->uri);
        buf_append(&w->uri, w->scheme, w->scheme_len);
        buf_puts(&w->uri, path);
        fileio_entry e = {.uri = w->uri.data, .size = ents[i].size, .mtime_ms = ents[i].mtime_ms};
        if (!w->fn(&e, w->arg)) w->stopped = true;
    }
    for (size_t i = 0; i < n; i++) free(ents[i].sort_name);
    free(ents);
    return ok;
}

static bool local_list(fileio_t *io, const char *prefix, fileio_list_fn fn, void *arg, floe_err *err) {
    const char *path;
    size_t skip;
    if (!local_path(prefix, &path, &skip, err)) return false;
    local_walk w = {.prefix = path,
                    .prefix_len = strlen(path),
                    .scheme = prefix,
                    .scheme_len = skip,
                    .fn = fn,
                    .arg = arg,
                    .uri = BUF_INIT};
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path) + 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    bool ok = walk_dir(&w, dir, err) || floe_err_wrap(err, "list %s", prefix);
    buf_free(&w.uri);
    return ok;
}

static void local_io_free(fileio_t *io) { free(io); }

static const fileio_vt local_vt = {
    .in_open = local_in_open,
    .in_read = local_in_read,
    .in_close = local_in_close,
    .stat = local_stat,
    .out_create = local_out_create,
    .out_write = local_out_write,
    .out_close = local_out_close,
    .out_abort = local_out_abort,
    .remove = local_remove,
    .list = local_list,
    .free = local_io_free,
};

fileio_t *fileio_local(void) {
    fileio_t *io = calloc(1, sizeof *io);
    if (!io) abort();
    io->vt = &local_vt;
    return io;
}
