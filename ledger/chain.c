/* chain.c - append-only, verified, crash-safe ledger file (invariants in
 * chain.h). */
#include "ledger/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

// Signatures are independent of the chain's state, and Ed25519
// verification is most of the cost of opening a ledger: a first pass
// checks them on up to 8 threads, then the state checks run in order and
// skip the signature of a record marked good.  A record marked bad is
// judged by the full ledger_state_apply, which names its failure in order.
typedef struct {
    const uint8_t *data;    // the file
    const size_t *off;      // record offsets (of the length fields)
    size_t first, step, n;  // this worker's share: first, first+step, ... < n
    uint8_t *ok;            // ok[i] = 1 when record i's signature verifies
} sig_job_t;

static void *s_sig_worker(void *arg)
{
    sig_job_t *j = arg;
    for (size_t i = j->first; i < j->n; i += j->step) {
        const uint8_t *rec = j->data + j->off[i] + 4;
        size_t len = bytes_load_u32(j->data + j->off[i]);
        sigmsg_t m;
        j->ok[i] = sigmsg_decode(rec, len, BLOCK_MAX_BYTES, &m, NULL) == 0 &&
                   sigmsg_verify(&m, NULL) == 0;
    }
    return NULL;
}

static void s_check_signatures(const uint8_t *data, const size_t *off, size_t n, uint8_t *ok)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t k = cores < 1 ? 1 : cores > 8 ? 8 : (size_t)cores;
    if (n < 64) {
        k = 1; // not worth a thread
    }
    pthread_t tid[8];
    sig_job_t job[8];
    size_t started = 0;
    for (size_t t = 0; t < k; t++) {
        job[t] = (sig_job_t){data, off, t, k, n, ok};
        if (t > 0 && pthread_create(&tid[t], NULL, s_sig_worker, &job[t]) == 0) {
            started = t;
        } else if (t > 0) {
            break; // no thread: the records it would have checked stay 0 (full check)
        }
    }
    s_sig_worker(&job[0]);
    for (size_t t = 1; t <= started; t++) {
        pthread_join(tid[t], NULL);
    }
}

// The first whole record (a length in range, its bytes and a matching
// checksum) that starts at or after `from`, or 0 when none does.  A crash
// during an append leaves a prefix of one record, zeros or garbage after
// the last whole record, never a whole record after it; so a whole record
// beyond the place where the framing fails means damage in the middle.
static size_t s_whole_record_after(const uint8_t *d, size_t from, size_t size)
{
    for (size_t p = from; p + CHAIN_FRAME_BYTES < size; p++) {
        const size_t len = bytes_load_u32(d + p);
        if (len == 0 || len > BLOCK_MAX_BYTES || len > size - p - CHAIN_FRAME_BYTES) {
            continue;
        }
        if (bytes_load_u32(d + p + 4 + len) == s_crc(d + p + 4, len)) {
            return p;
        }
    }
    return 0;
}

static int s_all_zero(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i]) {
            return 0;
        }
    }
    return 1;
}

// Walks the records of self->file, verifying each; sets *good_end to the
// end of the last whole, valid record and *zero_tail when what follows it
// is all zeros.
static int s_load(chain_t *self, size_t *good_end, int *zero_tail, fs_err_t *err)
{
    const uint8_t *d = self->file.data;
    size_t size = self->file.len, off = CHAIN_HEADER_BYTES;
    if (size < CHAIN_HEADER_BYTES || memcmp(d, CHAIN_MAGIC, 8) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: not a fedsyn ledger (bad header)", self->path);
    }
    if (bytes_load_u32(d + 8) != CHAIN_VERSION) {
        return fs_err_set(err, FS_ECORRUPT, "%s: ledger file version %u, this fedsyn reads %d",
                          self->path, bytes_load_u32(d + 8), CHAIN_VERSION);
    }
    if (bytes_load_u32(d + 12) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: the header's reserved word is %u, not 0: a "
                          "damaged header (docs/ledger.md 8)", self->path, bytes_load_u32(d + 12));
    }
    // Pass 1: framing and checksums, in order.  It stops at a torn tail, or
    // at damage (reported after the records before it are judged, so that
    // the first failure in file order is the one reported).
    size_t *offs = NULL, n_recs = 0, cap = 0;
    int damaged = 0;
    size_t cut_at = 0, resumes_at = 0; // framing failed at cut_at; a whole record at resumes_at
    while (off < size) {
        size_t left = size - off;
        size_t len = left < 4 ? 0 : bytes_load_u32(d + off);
        if (left < 4 || len == 0 || len > BLOCK_MAX_BYTES || left < len + CHAIN_FRAME_BYTES) {
            // A crash during an append: a torn length field or record, or
            // zeros or garbage where the record was to go (some file systems
            // extend the file before its data reach the disk).  Unless a
            // whole record follows: then this is damage, and cutting here
            // would lose the good blocks after it.
            cut_at = off;
            resumes_at = s_whole_record_after(d, off + 1, size);
            break;
        }
        const uint8_t *rec = d + off + 4;
        int last = left == len + CHAIN_FRAME_BYTES;
        if (bytes_load_u32(rec + len) != s_crc(rec, len)) {
            if (!(last && n_recs > 0)) {
                damaged = 1; // not a torn last record
            }
            break;
        }
        if (n_recs == cap) {
            cap = cap ? 2 * cap : 1024;
            offs = xrealloc(offs, cap * sizeof *offs);
        }
        offs[n_recs++] = off;
        off += len + CHAIN_FRAME_BYTES;
    }
    // Pass 2: signatures on all cores (genesis excluded: its own decoder
    // checks it).  Pass 3: the state checks, in order.
    uint8_t *sig_ok = xcalloc(n_recs ? n_recs : 1, 1);
    if (n_recs > 1) {
        s_check_signatures(d, offs, n_recs, sig_ok);
    }
    int rc = 0;
    for (size_t i = 0; i < n_recs && rc == 0; i++) {
        const uint8_t *rec = d + offs[i] + 4;
        size_t len = bytes_load_u32(d + offs[i]);
        if (i == 0 || !sig_ok[i]) {
            rc = s_apply(self->state, i, rec, len, err);
        } else {
            rc = ledger_state_apply_presigned(self->state, rec, len, err);
        }
        if (rc < 0) {
            rc = fs_err_prefix(err, rc, "%s: ", self->path);
        } else {
            s_push_offset(self, offs[i]);
        }
    }
    free(sig_ok);
    size_t end = n_recs ? offs[n_recs - 1] + bytes_load_u32(d + offs[n_recs - 1]) + CHAIN_FRAME_BYTES
                        : CHAIN_HEADER_BYTES;
    free(offs);
    if (rc < 0) {
        return rc;
    }
    if (resumes_at) {
        return fs_err_set(err, FS_ECORRUPT, "%s: block %llu (at byte %zu) is damaged, and whole "
                          "records follow it from byte %zu: not a torn tail, nothing was cut. "
                          "Move the file aside and restart the node: it starts again from "
                          "federation/genesis and fetches the chain from its peers",
                          self->path, (unsigned long long)n_recs, cut_at, resumes_at);
    }
    if (damaged) {
        size_t len = bytes_load_u32(d + end);
        return s_damaged(self, n_recs, d + end + 4, len, err);
    }
    if (n_recs == 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: no whole genesis record", self->path);
    }
    *good_end = end;
    *zero_tail = end < size && s_all_zero(d + end, size - end);
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
    int zero_tail = 0;
    if (s_load(self, &good_end, &zero_tail, err) < 0) {
        chain_destroy(&self);
        return NULL;
    }
    if (info) {
        info->blocks = self->n_offsets;
        info->truncated_bytes = size - good_end;
        info->zero_tail = zero_tail;
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

int chain_model_hash(const chain_t *self, uint64_t index, uint8_t hash[HASH_BYTES],
                     fs_err_t *err)
{
    const uint8_t *rec;
    size_t n;
    if (chain_record(self, index, &rec, &n) < 0) {
        return fs_err_set(err, FS_EINVAL, "block %llu: past the head (height %llu)",
                          (unsigned long long)index, (unsigned long long)self->n_offsets);
    }
    if (index == 0) {
        memcpy(hash, chain_state(self)->genesis.initial_model_hash, HASH_BYTES);
        return 0;
    }
    int rc = block_record_model_hash(rec, n, hash, err);
    return rc < 0 ? fs_err_prefix(err, rc, "block %llu: ", (unsigned long long)index) : 0;
}
