/* saver.c - the global model's background writer (see saver.h). */
#include "node/fed/saver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/archive.h"
#include "node/fed/global.h"

typedef struct {
    float *w;
    size_t n, cap;
    uint64_t height;
    uint8_t hash[HASH_BYTES];
} snapshot_t;

struct saver {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;  // the thread: a snapshot is pending, or stop
    pthread_cond_t idle;  // saver_flush: nothing pending, nothing being written
    pthread_cond_t taken; // saver_put with an archive: the pending snapshot was taken
    char path[1024];
    char dataset[64];
    workload_arch_t arch;
    snapshot_t pending;   // filled by saver_put (under lock)
    snapshot_t writing;   // owned by the thread while it writes
    int has_pending, busy, stop, failures, flushing, writes;
    int64_t min_interval_ms;
    // the archive (archive.h): off when dir is empty; the last `keep`
    // hashes kept, oldest first, when keep > 0
    char archive_dir[1024];
    long keep;
    uint8_t (*ring)[HASH_BYTES];
    long ring_n, ring_head;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Waits on `wake` until `deadline_ms` (monotonic) at the latest.
static void s_wait_until(saver_t *self, int64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&self->wake, &self->lock, &ts);
}

static void s_copy(snapshot_t *s, const float *w, size_t n, uint64_t height,
                   const uint8_t hash[HASH_BYTES])
{
    if (s->cap < n) {
        free(s->w);
        s->w = xfloats(n);
        s->cap = n;
    }
    memcpy(s->w, w, n * sizeof(float));
    s->n = n;
    s->height = height;
    memcpy(s->hash, hash, HASH_BYTES);
}

static int s_in_ring(const saver_t *self, const uint8_t hash[HASH_BYTES])
{
    for (long i = 0; i < self->ring_n; i++) {
        if (memcmp(self->ring[i], hash, HASH_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

// Records hash as kept; with a retention of `keep` models, the one that
// falls out of the window is removed unless it is still in it (a model
// that did not change from round to round).
static void s_ring_push(saver_t *self, const uint8_t hash[HASH_BYTES])
{
    if (self->keep <= 0) {
        return;
    }
    const long newest = (self->ring_head + self->ring_n - 1) % self->keep;
    if (self->ring_n > 0 && memcmp(self->ring[newest], hash, HASH_BYTES) == 0) {
        return; // the same block's model again (saved once more after a restart)
    }
    if (self->ring_n < self->keep) {
        memcpy(self->ring[(self->ring_head + self->ring_n++) % self->keep], hash, HASH_BYTES);
        return;
    }
    uint8_t old[HASH_BYTES];
    memcpy(old, self->ring[self->ring_head], HASH_BYTES);
    memcpy(self->ring[self->ring_head], hash, HASH_BYTES);
    self->ring_head = (self->ring_head + 1) % self->keep;
    if (!s_in_ring(self, old)) {
        char path[1200];
        archive_path(self->archive_dir, old, path, sizeof path);
        unlink(path);
    }
}

// global.fsm as a hard link to the block's durable copy (store.h,
// store_make_durable), which holds the same bytes: no second write.  0, or
// -1 when there is no copy to link (or links fail: the caller writes).
static int s_link_kept(saver_t *self, const snapshot_t *s)
{
    char kept[1200], tmp[1100];
    archive_path(self->archive_dir, s->hash, kept, sizeof kept);
    snprintf(tmp, sizeof tmp, "%s.link.%ld", self->path, (long)getpid());
    unlink(tmp);
    if (link(kept, tmp) < 0) {
        return -1;
    }
    if (rename(tmp, self->path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

// After global.fsm was written: its archive copy, then the retention.
static void s_archive(saver_t *self, const snapshot_t *s)
{
    fs_err_t err = {0, ""};
    if (archive_keep(self->archive_dir, self->path, s->hash, &err) < 0) {
        log_warn("cannot keep the model of block %llu for audit: %s",
                 (unsigned long long)s->height, err.msg);
        return;
    }
    s_ring_push(self, s->hash);
}

static void *s_run(void *arg)
{
    saver_t *self = arg;
    int64_t last_write = 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->has_pending && !self->stop) {
            pthread_cond_wait(&self->wake, &self->lock);
        }
        if (!self->has_pending) {
            break; // stop, and nothing left to write
        }
        // at most one write per interval; newer snapshots replace the
        // pending one meanwhile.  A flush or stop writes at once.
        while (self->has_pending && !self->stop && !self->flushing && last_write &&
               !self->archive_dir[0] && s_now_ms() - last_write < self->min_interval_ms) {
            s_wait_until(self, last_write + self->min_interval_ms);
        }
        // take the pending snapshot by swapping buffers: saver_put may
        // fill the other one while this one is written
        snapshot_t t = self->writing;
        self->writing = self->pending;
        self->pending = t;
        self->has_pending = 0;
        self->busy = 1;
        pthread_cond_broadcast(&self->taken);
        pthread_mutex_unlock(&self->lock);
        fs_err_t err = {0, ""};
        int rc = self->archive_dir[0] ? s_link_kept(self, &self->writing) : -1;
        if (rc < 0) { // no durable copy to link: write the file
            rc = global_save(self->path, &self->arch, self->writing.w, self->writing.height,
                             self->writing.hash, self->dataset, &err);
        }
        if (rc < 0) {
            log_warn("cannot save the global model (a restart will fetch it again): %s",
                     err.msg);
        } else if (self->archive_dir[0]) {
            s_archive(self, &self->writing);
        }
        last_write = s_now_ms();
        pthread_mutex_lock(&self->lock);
        self->failures += rc < 0;
        self->writes += rc == 0;
        self->busy = 0;
        if (!self->has_pending) {
            pthread_cond_broadcast(&self->idle);
        }
    }
    pthread_cond_broadcast(&self->idle);
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

saver_t *saver_new(const char *path, const workload_arch_t *arch, const char *dataset)
{
    saver_t *self = xcalloc(1, sizeof *self);
    snprintf(self->path, sizeof self->path, "%s", path);
    snprintf(self->dataset, sizeof self->dataset, "%s", dataset ? dataset : "");
    self->arch = *arch;
    self->min_interval_ms = SAVER_MIN_INTERVAL_MS;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&self->idle, NULL);
    pthread_cond_init(&self->taken, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        // like an allocation failure: the process cannot go on usefully
        fprintf(stderr, "fedsyn: cannot start the global model's writer thread\n");
        abort();
    }
    return self;
}

void saver_put(saver_t *self, const float *w, size_t n, uint64_t height,
               const uint8_t hash[HASH_BYTES])
{
    pthread_mutex_lock(&self->lock);
    while (self->archive_dir[0] && self->has_pending) { // every block's model is kept
        pthread_cond_wait(&self->taken, &self->lock);
    }
    s_copy(&self->pending, w, n, height, hash);
    self->has_pending = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

int saver_flush(saver_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->flushing++;
    pthread_cond_signal(&self->wake); // a snapshot waiting out the interval goes now
    while (self->has_pending || self->busy) {
        pthread_cond_wait(&self->idle, &self->lock);
    }
    self->flushing--;
    int failures = self->failures;
    pthread_mutex_unlock(&self->lock);
    return failures;
}

void saver_set_archive(saver_t *self, const char *dir, long keep,
                       const uint8_t (*kept)[HASH_BYTES], size_t n_kept)
{
    pthread_mutex_lock(&self->lock);
    snprintf(self->archive_dir, sizeof self->archive_dir, "%s", dir);
    self->keep = keep;
    free(self->ring);
    self->ring = NULL;
    self->ring_n = self->ring_head = 0;
    if (keep > 0) {
        self->ring = xmalloc((size_t)keep * HASH_BYTES);
        for (size_t i = n_kept > (size_t)keep ? n_kept - (size_t)keep : 0; i < n_kept; i++) {
            memcpy(self->ring[self->ring_n++], kept[i], HASH_BYTES);
        }
    }
    pthread_mutex_unlock(&self->lock);
}

void saver_set_min_interval(saver_t *self, int ms)
{
    pthread_mutex_lock(&self->lock);
    self->min_interval_ms = ms;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

int saver_writes(saver_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->writes;
    pthread_mutex_unlock(&self->lock);
    return n;
}

void saver_destroy(saver_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    saver_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL); // writes what is pending first
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->wake);
    pthread_cond_destroy(&self->idle);
    pthread_cond_destroy(&self->taken);
    free(self->ring);
    free(self->pending.w);
    free(self->writing.w);
    free(self);
    *self_p = NULL;
}
