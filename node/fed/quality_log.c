/* quality_log.c - quality.jsonl: format, append, cut a torn tail (see
 * quality_log.h). */
#include "node/fed/quality_log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/base/bytes.h"
#include "node/base/mem.h"

#define TAIL_CHUNK 4096

struct quality_log {
    int fd;
    char path[1024];
    uint64_t size;    // bytes of whole lines in the file
    fs_err_t broken;  // sticky: a write that could not be undone
};

// A bounded string builder: what does not fit sets `full`.
typedef struct {
    char *buf;
    size_t size, len;
    int full;
} builder_t;

__attribute__((format(printf, 2, 3))) static void s_put(builder_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(o->buf + (room ? o->len : 0), room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        o->full = 1;
        o->len = o->size;
    } else {
        o->len += (size_t)n;
    }
}

// A JSON number with `digits` decimals (or significant digits when
// `general`), or null: JSON has no NaN or infinity.
static void s_number(builder_t *o, double v, int digits, int general)
{
    if (!isfinite(v)) {
        s_put(o, "null");
    } else if (general) {
        s_put(o, "%.*g", digits, v);
    } else {
        s_put(o, "%.*f", digits, v);
    }
}

// A JSON string: quotes, backslashes and control characters escaped.
static void s_string(builder_t *o, const char *s)
{
    s_put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            s_put(o, "\\%c", c);
        } else if (c < 0x20) {
            s_put(o, "\\u%04x", c);
        } else {
            s_put(o, "%c", c);
        }
    }
    s_put(o, "\"");
}

int quality_log_format(const quality_log_record_t *r, char *buf, size_t size, fs_err_t *err)
{
    builder_t o = {buf, size, 0, 0};
    char hex[2 * HASH_BYTES + 1], ev[17];
    bytes_to_hex(r->model_hash, HASH_BYTES, hex);
    bytes_to_hex(r->evaluator_hash, 8, ev);
    s_put(&o, "{\"node\": ");
    s_string(&o, r->node);
    s_put(&o, ", \"round\": %llu, \"model_hash\": \"%s\", \"samples\": %d, \"fid_test\": ",
          (unsigned long long)r->round, hex, r->samples);
    s_number(&o, r->fid_test, 4, 0);
    s_put(&o, ", \"classes_present\": %d, \"class_share\": [", r->classes_present);
    for (int k = 0; k < 10; k++) {
        s_put(&o, "%s", k ? ", " : "");
        s_number(&o, r->class_share[k], 4, 0);
    }
    s_put(&o, "], \"label_agreement\": ");
    if (r->label_agreement >= 0) {
        s_number(&o, r->label_agreement, 4, 0);
    } else {
        s_put(&o, "null");
    }
    s_put(&o, ", \"losses\": ");
    if (r->has_losses) {
        for (int k = 0; k < 2; k++) {
            s_put(&o, "%s", k ? ", " : "{");
            s_string(&o, r->loss_name[k]);
            s_put(&o, ": ");
            s_number(&o, r->loss[k], 6, 1);
        }
        s_put(&o, "}");
    } else {
        s_put(&o, "null");
    }
    s_put(&o, ", \"evaluator\": \"%s\", \"time_ms\": %llu, \"seconds\": ", ev,
          (unsigned long long)r->time_ms);
    s_number(&o, r->seconds, 3, 0);
    s_put(&o, "}\n");
    if (o.full) {
        return fs_err_set(err, FS_ETOOBIG, "quality line of round %llu longer than %zu bytes",
                          (unsigned long long)r->round, size - 1);
    }
    return (int)o.len;
}

// The length of the file's whole lines: up to and including its last '\n'.
static int s_whole_lines(int fd, uint64_t size, uint64_t *out)
{
    char buf[TAIL_CHUNK];
    uint64_t end = size;
    while (end > 0) {
        size_t k = end < TAIL_CHUNK ? (size_t)end : TAIL_CHUNK;
        ssize_t got = pread(fd, buf, k, (off_t)(end - k));
        if (got != (ssize_t)k) {
            return -1;
        }
        for (size_t i = k; i-- > 0;) {
            if (buf[i] == '\n') {
                *out = end - k + i + 1;
                return 0;
            }
        }
        end -= k;
    }
    *out = 0;
    return 0;
}

quality_log_t *quality_log_open(const char *path, uint64_t *cut_bytes, fs_err_t *err)
{
    if (cut_bytes) {
        *cut_bytes = 0;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fs_err_set(err, FS_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    uint64_t whole = 0;
    if (fstat(fd, &st) < 0 || s_whole_lines(fd, (uint64_t)st.st_size, &whole) < 0) {
        fs_err_set(err, FS_EIO, "%s: cannot read: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (whole < (uint64_t)st.st_size) {
        // a torn last line (a crash during its write): never trusted
        if (ftruncate(fd, (off_t)whole) < 0 || fsync(fd) < 0) {
            fs_err_set(err, FS_EIO, "%s: cannot cut the torn last line (%llu bytes): %s", path,
                       (unsigned long long)((uint64_t)st.st_size - whole), strerror(errno));
            close(fd);
            return NULL;
        }
        if (cut_bytes) {
            *cut_bytes = (uint64_t)st.st_size - whole;
        }
    }
    quality_log_t *self = xcalloc(1, sizeof *self);
    self->fd = fd;
    self->size = whole;
    snprintf(self->path, sizeof self->path, "%s", path);
    return self;
}

int quality_log_append(quality_log_t *self, const quality_log_record_t *r, fs_err_t *err)
{
    if (self->broken.code) {
        return fs_err_set(err, self->broken.code, "%s", self->broken.msg);
    }
    char line[QUALITY_LOG_LINE_MAX];
    int n = quality_log_format(r, line, sizeof line, err);
    if (n < 0) {
        return n;
    }
    // One write of the whole line: O_APPEND places it at the end as one
    // piece, so a reader never sees half of it after a clean write.
    ssize_t w = write(self->fd, line, (size_t)n);
    int e = errno;
    if (w == n && fsync(self->fd) == 0) {
        self->size += (uint64_t)n;
        return 0;
    }
    if (w == n) {
        e = errno;
    }
    int rc = fs_err_set(err, FS_EIO, "%s: cannot append the score of round %llu: %s",
                        self->path, (unsigned long long)r->round,
                        w >= 0 && w < n ? "short write (disk full?)" : strerror(e));
    // Cut what part of the line reached the file: the next line must not
    // follow a torn one.
    if (ftruncate(self->fd, (off_t)self->size) < 0) {
        fs_err_set(&self->broken, FS_EIO, "%s: a failed append could not be cut away (%s); "
                   "restart the node to repair the file", self->path, strerror(errno));
    }
    return rc;
}

void quality_log_destroy(quality_log_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}
