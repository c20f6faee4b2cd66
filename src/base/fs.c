/*
 * fs.c: durable writes and safe paths.
 */
#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fs_write_full(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

ssize_t fs_pread_full(int fd, void *dst, size_t n, uint64_t off) {
    char *p = dst;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

bool fs_fsync_dir(const char *dir, floe_err *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return floe_err_errno(err, errno, "open directory %s", dir);
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return floe_err_errno(err, e, "fsync directory %s", dir);
    }
    close(fd);
    return true;
}

bool fs_fsync_parent(const char *path, floe_err *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    return fs_fsync_dir(dirname(tmp), err);
}

bool fs_write_atomic(const char *path, const void *data, size_t len, floe_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return floe_err_set(err, FLOE_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return floe_err_errno(err, errno, "create %s", tmp);
    if (!fs_write_full(fd, data, len) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return floe_err_errno(err, e, "write %s", tmp);
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return floe_err_errno(err, e, "rename %s to %s", tmp, path);
    }
    return fs_fsync_parent(path, err);
}

bool fs_mkdir_p(const char *path, floe_err *err) {
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return floe_err_set(err, FLOE_EINVAL, "bad directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return floe_err_errno(err, errno, "mkdir %s", tmp);
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return floe_err_errno(err, errno, "mkdir %s", tmp);
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        return floe_err_set(err, FLOE_EINVAL, "%s exists and is not a directory", tmp);
    return true;
}

bool fs_read_all(const char *path, char **out, size_t *len, floe_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return floe_err_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return floe_err_errno(err, e, "stat %s", path);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) abort();
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return floe_err_errno(err, e, "read %s", path);
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return true;
}

bool fs_path_join(const char *base, const char *rel, char *out, size_t outsz, floe_err *err) {
    if (!rel || rel[0] == '\0') return floe_err_set(err, FLOE_EINVAL, "empty relative path");
    if (rel[0] == '/')
        return floe_err_set(err, FLOE_EINVAL, "path '%s' must be relative to %s; drop the leading '/'", rel, base);
    const char *seg = rel;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return floe_err_set(err, FLOE_EINVAL,
                                "path '%s' has an empty, '.' or '..' segment; use a plain relative path", rel);
        if (!slash) break;
        seg = slash + 1;
    }
    int w = snprintf(out, outsz, "%s/%s", base, rel);
    if (w < 0 || (size_t)w >= outsz) return floe_err_set(err, FLOE_EINVAL, "path '%s/%s' is too long", base, rel);
    return true;
}

bool fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}
