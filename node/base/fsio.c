/* fsio.c - atomic replace, bounded reads, mkdir -p (see fsio.h). */
#include "node/base/fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/base/mem.h"

static int s_write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int s_fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) {
        slash[1] = 0;
    } else if (slash) {
        *slash = 0;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int fsio_write_atomic(const char *path, const void *data, size_t n, unsigned mode,
                      fs_err_t *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        return fs_err_set(err, FS_EINVAL, "%s: path too long", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        return fs_err_set(err, FS_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    if (s_write_full(fd, data, n) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fs_err_set(err, FS_EIO, "%s: write failed: %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return fs_err_set(err, FS_EIO, "%s: close failed: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fs_err_set(err, FS_EIO, "%s: rename failed: %s", path, strerror(e));
    }
    if (s_fsync_dir_of(path) != 0) {
        return fs_err_set(err, FS_EIO, "%s: fsync of directory failed: %s", path,
                          strerror(errno));
    }
    return 0;
}

int fsio_read_all(const char *path, size_t max_bytes, uint8_t **data_p,
                  size_t *size_p, fs_err_t *err)
{
    *data_p = NULL;
    *size_p = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return fs_err_set(err, FS_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fs_err_set(err, FS_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return fs_err_set(err, FS_ETOOBIG, "%s: %lld bytes exceeds the limit of %zu",
                          path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = xmalloc(n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fs_err_set(err, FS_EIO, "%s: read failed: %s", path,
                              r == 0 ? "file shrank while reading" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data_p = buf;
    *size_p = n;
    return 0;
}

// mkdir that accepts a folder already there, but not a file in the way.
static int s_mkdir(const char *path, fs_err_t *err)
{
    struct stat st;
    if (mkdir(path, 0755) == 0) {
        return 0;
    }
    if (errno != EEXIST) {
        return fs_err_set(err, FS_EIO, "%s: cannot create: %s", path, strerror(errno));
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return fs_err_set(err, FS_EIO, "%s: exists and is not a folder", path);
    }
    return 0;
}

int fsio_mkdirs(const char *path, fs_err_t *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        return fs_err_set(err, FS_EINVAL, "%s: path too long", path);
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            int rc = s_mkdir(buf, err);
            if (rc < 0) {
                return rc;
            }
            *p = '/';
        }
    }
    return s_mkdir(buf, err);
}

int fsio_mkdirs_for(const char *file_path, fs_err_t *err)
{
    const char *slash = strrchr(file_path, '/');
    if (!slash || slash == file_path) {
        return 0; // the current folder, or the root
    }
    char dir[PATH_MAX];
    if (slash - file_path >= (ptrdiff_t)sizeof dir) {
        return fs_err_set(err, FS_EINVAL, "%s: path too long", file_path);
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - file_path), file_path);
    return fsio_mkdirs(dir, err);
}
