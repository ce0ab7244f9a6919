/* chain.c - append-only, verified, crash-safe ledger file (invariants in
 * chain.h). */
#include "ledger/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/mem.h"

struct chain {
    char *path;             // owned copy
    int fd;                 // open for appending, or -1 (read-only)
    bytes_writer_t file;    // the whole file's bytes (records are served from it)
    size_t *offsets;        // offset of each record's length field
    size_t n_offsets, cap;  // records and capacity
    ledger_state_t *state;  // the state after the last block
    fs_err_t sticky;        // first write/fsync failure (code 0 when none)
};

static uint32_t s_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void s_push_offset(chain_t *self, size_t off)
{
    if (self->n_offsets == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 64;
        self->offsets = xrealloc(self->offsets, self->cap * sizeof *self->offsets);
    }
    self->offsets[self->n_offsets++] = off;
}

static void s_frame(bytes_writer_t *w, const uint8_t *rec, size_t n)
{
    bytes_put_u32(w, (uint32_t)n);
    bytes_put(w, rec, n);
    bytes_put_u32(w, s_crc(rec, n));
}

static int s_apply(ledger_state_t *state, uint64_t index, const uint8_t *rec, size_t n,
                   fs_err_t *err)
{
    return index == 0 ? ledger_state_start(state, rec, n, err)
                      : ledger_state_apply(state, rec, n, err);
}

void chain_destroy(chain_t **self_p)
{
    chain_t *self = *self_p;
    if (!self) {
        return;
    }
    if (self->fd >= 0) {
        close(self->fd); // also releases the flock
    }
    bytes_writer_reset(&self->file);
    free(self->offsets);
    ledger_state_destroy(&self->state);
    free(self->path);
    free(self);
    *self_p = NULL;
}

// A record whose CRC is wrong in the middle of the file: damage.  Try the
// block's own checks to name the field; report the CRC if they pass.
static int s_damaged(const chain_t *self, uint64_t index, const uint8_t *rec, size_t n,
                     fs_err_t *err)
{
    ledger_state_t *probe = ledger_state_new();
    *probe = *self->state;
    fs_err_t why = {0};
    int rc = s_apply(probe, index, rec, n, &why);
    ledger_state_destroy(&probe);
    if (rc < 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: %s (and its checksum is wrong)", self->path,
                          why.msg);
    }
    return fs_err_set(err, FS_ECORRUPT,
                      "%s: block %llu: checksum field is wrong although the block verifies "
                      "(damaged file)",
                      self->path, (unsigned long long)index);
}

// Walks the records of self->file, verifying each; sets *good_end to the
// end of the last whole, valid record.
static int s_load(chain_t *self, size_t *good_end, fs_err_t *err)
{
    const uint8_t *d = self->file.data;
    size_t size = self->file.len, off = CHAIN_HEADER_BYTES;
    if (size < CHAIN_HEADER_BYTES || memcmp(d, CHAIN_MAGIC, 8) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: not a fedsyn ledger (bad header)", self->path);
    }
    if (bytes_load_u32(d + 8) != CHAIN_VERSION || bytes_load_u32(d + 12) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: ledger file version %u, this fedsyn reads %d",
                          self->path, bytes_load_u32(d + 8), CHAIN_VERSION);
    }
    uint64_t index = 0;
    while (off < size) {
        size_t left = size - off;
        if (left < 4) {
            break; // torn inside a length field
        }
        size_t len = bytes_load_u32(d + off);
        if (len == 0 || len > BLOCK_MAX_BYTES) {
            // A torn write leaves a prefix, never a wrong whole length.
            return fs_err_set(err, FS_ECORRUPT, "%s: block %llu: record length %zu outside 1..%u",
                              self->path, (unsigned long long)index, len, BLOCK_MAX_BYTES);
        }
        if (left < len + CHAIN_FRAME_BYTES) {
            break; // the file ends inside this record
        }
        const uint8_t *rec = d + off + 4;
        int last = left == len + CHAIN_FRAME_BYTES;
        if (bytes_load_u32(rec + len) != s_crc(rec, len)) {
            if (last && index > 0) {
                break; // the last record was not fully written
            }
            return s_damaged(self, index, rec, len, err);
        }
        int rc = s_apply(self->state, index, rec, len, err);
        if (rc < 0) {
            return fs_err_prefix(err, rc, "%s: ", self->path);
        }
        s_push_offset(self, off);
        off += len + CHAIN_FRAME_BYTES;
        index++;
    }
    if (index == 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: no whole genesis record", self->path);
    }
    *good_end = off;
    return 0;
}

chain_t *chain_open(const char *path, chain_mode_t mode, chain_open_info_t *info, fs_err_t *err)
{
    chain_t *self = xcalloc(1, sizeof *self);
    self->path = xstrdup(path);
    self->fd = -1;
    self->state = ledger_state_new();
    if (mode == CHAIN_WRITE) {
        self->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (self->fd < 0) {
            fs_err_set(err, FS_EIO, "%s: %s", path, strerror(errno));
            chain_destroy(&self);
            return NULL;
        }
        if (flock(self->fd, LOCK_EX | LOCK_NB) < 0) {
            fs_err_set(err, FS_EIO, "%s: in use by another fedsyn process (%s)", path,
                       strerror(errno));
            chain_destroy(&self);
            return NULL;
        }
    }
    uint8_t *data = NULL;
    size_t size = 0;
    if (fsio_read_all(path, CHAIN_MAX_FILE_BYTES, &data, &size, err) < 0) {
        chain_destroy(&self);
        return NULL;
    }
    self->file = (bytes_writer_t){.data = data, .len = size, .cap = size};
    size_t good_end = 0;
    if (s_load(self, &good_end, err) < 0) {
        chain_destroy(&self);
        return NULL;
    }
    if (info) {
        info->blocks = self->n_offsets;
        info->truncated_bytes = size - good_end;
    }
    if (good_end < size && mode == CHAIN_WRITE) {
        if (ftruncate(self->fd, (off_t)good_end) < 0 || fsync(self->fd) < 0) {
            fs_err_set(err, FS_EIO, "%s: cutting the torn tail: %s", path, strerror(errno));
            chain_destroy(&self);
            return NULL;
        }
    }
    self->file.len = good_end;
    return self;
}

chain_t *chain_create(const char *path, const uint8_t *genesis, size_t n, fs_err_t *err)
{
    if (access(path, F_OK) == 0) {
        fs_err_set(err, FS_EINVAL, "%s exists: refusing to replace a ledger", path);
        return NULL;
    }
    // Verify before writing anything.
    ledger_state_t *probe = ledger_state_new();
    int rc = ledger_state_start(probe, genesis, n, err);
    ledger_state_destroy(&probe);
    if (rc < 0) {
        return NULL;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, CHAIN_MAGIC, 8);
    bytes_put_u32(&w, CHAIN_VERSION);
    bytes_put_u32(&w, 0);
    s_frame(&w, genesis, n);
    rc = fsio_write_atomic(path, w.data, w.len, 0644, err);
    bytes_writer_reset(&w);
    return rc < 0 ? NULL : chain_open(path, CHAIN_WRITE, NULL, err);
}

int chain_append(chain_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    if (self->sticky.code) {
        return fs_err_set(err, self->sticky.code, "%s (reopen the ledger to go on)",
                          self->sticky.msg);
    }
    if (self->fd < 0) {
        return fs_err_set(err, FS_EINVAL, "%s: opened read-only", self->path);
    }
    ledger_state_t *next = ledger_state_new();
    *next = *self->state;
    int rc = ledger_state_apply(next, rec, n, err);
    if (rc < 0) {
        ledger_state_destroy(&next);
        return rc;
    }
    size_t off = self->file.len;
    s_frame(&self->file, rec, n);
    const uint8_t *p = self->file.data + off;
    size_t todo = self->file.len - off;
    while (todo > 0) {
        ssize_t k = write(self->fd, p, todo);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            fs_err_set(&self->sticky, FS_EIO, "%s: append: %s", self->path,
                       k < 0 ? strerror(errno) : "no progress");
            break;
        }
        p += k;
        todo -= (size_t)k;
    }
    if (!self->sticky.code && fdatasync(self->fd) < 0) {
        fs_err_set(&self->sticky, FS_EIO, "%s: fdatasync: %s", self->path, strerror(errno));
    }
    if (self->sticky.code) {
        self->file.len = off;
        ledger_state_destroy(&next);
        return fs_err_set(err, self->sticky.code, "%s", self->sticky.msg);
    }
    s_push_offset(self, off);
    ledger_state_destroy(&self->state);
    self->state = next;
    return 0;
}

int chain_replace_head(chain_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    if (self->sticky.code) {
        return fs_err_set(err, self->sticky.code, "%s (reopen the ledger to go on)",
                          self->sticky.msg);
    }
    if (self->fd < 0) {
        return fs_err_set(err, FS_EINVAL, "%s: opened read-only", self->path);
    }
    if (self->n_offsets < 2) {
        return fs_err_set(err, FS_EINVAL, "%s: the genesis is never replaced", self->path);
    }
    // The candidate must be valid on top of everything before the head.
    uint64_t head = self->n_offsets - 1;
    ledger_state_t *st = ledger_state_new();
    int rc = 0;
    for (uint64_t i = 0; i < head && rc == 0; i++) {
        const uint8_t *r = NULL;
        size_t len = 0;
        rc = chain_record(self, i, &r, &len) < 0 ? FS_EINVAL : s_apply(st, i, r, len, err);
    }
    if (rc == 0) {
        rc = ledger_state_apply(st, rec, n, err);
    }
    if (rc < 0) {
        ledger_state_destroy(&st);
        return rc;
    }
    size_t head_off = self->offsets[head];
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, self->file.data, head_off);
    s_frame(&w, rec, n);
    // A new file replaces the old one atomically (a crash leaves either);
    // then the handle moves to it and locks it.
    rc = fsio_write_atomic(self->path, w.data, w.len, 0644, err);
    int fd = rc < 0 ? -1 : open(self->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (rc == 0 && (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)) {
        fs_err_set(&self->sticky, FS_EIO, "%s: reopening after replacing the head: %s",
                   self->path, strerror(errno));
        rc = fs_err_set(err, FS_EIO, "%s", self->sticky.msg);
        if (fd >= 0) {
            close(fd);
        }
    }
    if (rc < 0) {
        bytes_writer_reset(&w);
        ledger_state_destroy(&st);
        return rc;
    }
    close(self->fd);
    self->fd = fd;
    bytes_writer_reset(&self->file);
    self->file = w;
    ledger_state_destroy(&self->state);
    self->state = st;
    return 0;
}

const ledger_state_t *chain_state(const chain_t *self)
{
    return self->state;
}

uint64_t chain_height(const chain_t *self)
{
    return self->n_offsets;
}

int chain_record(const chain_t *self, uint64_t index, const uint8_t **rec, size_t *n)
{
    if (index >= self->n_offsets) {
        return -1;
    }
    size_t off = self->offsets[index];
    *n = bytes_load_u32(self->file.data + off);
    *rec = self->file.data + off + 4;
    return 0;
}
