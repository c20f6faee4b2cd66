/*
 * fs.h: file system helpers with the durability rules Floe relies on.
 *
 * A durable write is: write a temporary file, fsync it, rename it into place,
 * fsync the directory. fs_path_join refuses any relative path that could
 * escape its base (absolute paths, "..", empty segments, NUL).
 */
#ifndef FLOE_BASE_FS_H
#define FLOE_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

bool fs_write_atomic(const char *path, const void *data, size_t len, floe_err *err);
bool fs_fsync_dir(const char *dir, floe_err *err);
bool fs_fsync_parent(const char *path, floe_err *err);
bool fs_mkdir_p(const char *path, floe_err *err);
/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
bool fs_read_all(const char *path, char **out, size_t *len, floe_err *err);
/* Writes all of data to fd, retrying short writes and EINTR. */
bool fs_write_full(int fd, const void *data, size_t len);
/* Reads n bytes at off, retrying short reads and EINTR. Returns the bytes
 * read: n, or fewer at the end of the file; -1 on error (errno set). */
ssize_t fs_pread_full(int fd, void *dst, size_t n, uint64_t off);
/* Joins base and rel into out. rel must be relative, must not contain ".."
 * or "." segments, empty segments or NUL. */
bool fs_path_join(const char *base, const char *rel, char *out, size_t outsz, floe_err *err);
bool fs_exists(const char *path);

#endif
