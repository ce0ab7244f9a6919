/* scorer.c - the background quality scorer (see scorer.h). */
#include "node/fed/scorer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/data/idx.h"
#include "node/fed/quality_log.h"
#include "node/metrics/scorecard.h"
#include "node/models/classifier.h"
#include "node/train/checkpoint.h"
#include "node/train/sampler.h"

#define STAT_NAME_MAX 16

typedef struct {
    float *w;
    size_t n, cap;
    uint64_t round;
    uint8_t hash[HASH_BYTES];
    int has_losses;
    char loss_name[2][STAT_NAME_MAX];
    double loss[2];
} job_t;

struct scorer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;    // the thread: a snapshot waits, or stop
    pthread_cond_t idle;    // scorer_flush: nothing waits, nothing runs
    char name[QUALITY_LOG_NAME_MAX + 1];
    char dataset[16];
    char scratch[1100];     // the model file the sampler reads
    int samples;
    workload_arch_t arch;
    model_t *evaluator;
    dataset_t *test;        // until the thread has its statistics
    uint8_t evaluator_hash[HASH_BYTES];
    quality_log_t *log;
    job_t queue[SCORER_QUEUE]; // waiting snapshots, oldest at head (under lock)
    int head, waiting;
    job_t running;          // owned by the thread while it scores
    int busy, started, stop, failures, scores, skipped;
};

static uint64_t s_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static double s_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// Draws and scores one snapshot; appends its line.  Runs on the thread,
// without the lock (self->running is the thread's own).
static int s_score(scorer_t *self, scorecard_t *card, fs_err_t *err)
{
    const job_t *job = &self->running;
    double t0 = s_mono_s();
    dataset_t *gen = NULL;
    int rc = workload_save(self->scratch, &self->arch, job->w, self->dataset, "", err);
    if (rc == 0) {
        sampler_opts_t so = sampler_opts(self->samples, SCORER_SEED, SCORER_BATCH);
        rc = sampler_draw(self->scratch, &so, &gen, err);
    }
    unlink(self->scratch);
    scorecard_result_t res;
    rc = rc ? rc : scorecard_score(card, gen, NULL, &res, NULL, err);
    dataset_destroy(&gen);
    if (rc < 0) {
        return rc;
    }
    quality_log_record_t r;
    memset(&r, 0, sizeof r);
    memcpy(r.node, self->name, sizeof r.node);
    r.round = job->round;
    memcpy(r.model_hash, job->hash, HASH_BYTES);
    r.samples = res.samples;
    r.fid_test = res.fid_test;
    r.classes_present = res.coverage.classes_present;
    memcpy(r.class_share, res.coverage.share, sizeof r.class_share);
    r.label_agreement = res.label_agreement;
    r.has_losses = job->has_losses;
    for (int k = 0; k < 2; k++) {
        memcpy(r.loss_name[k], job->loss_name[k], sizeof r.loss_name[k]);
        r.loss[k] = job->loss[k];
    }
    memcpy(r.evaluator_hash, self->evaluator_hash, sizeof r.evaluator_hash);
    r.time_ms = s_wall_ms();
    r.seconds = s_mono_s() - t0;
    rc = quality_log_append(self->log, &r, err);
    if (rc < 0) {
        return rc;
    }
    char line[2048];
    int len = quality_log_format(&r, line, sizeof line, NULL);
    // the same record in the JSON log (node/log-json), whose "node" it has
    const char *from = len > 3 && line[len - 2] == '}' ? strstr(line, "\"round\": ") : NULL;
    if (from) {
        line[len - 2] = '\0';
        log_json_event("quality", from);
    }
    char agree[32] = "", losses[80] = "";
    if (r.label_agreement >= 0) {
        snprintf(agree, sizeof agree, "  agreement %.1f%%", 100 * r.label_agreement);
    }
    if (r.has_losses) {
        snprintf(losses, sizeof losses, "  %s %.3f  %s %.3f", r.loss_name[0], r.loss[0],
                 r.loss_name[1], r.loss[1]);
    }
    log_info("quality round %llu  FID %.1f  classes %d/10%s%s  (%d samples, %.1f s)",
             (unsigned long long)r.round, r.fid_test, r.classes_present, agree, losses,
             r.samples, r.seconds);
    return 0;
}

static void *s_run(void *arg)
{
    scorer_t *self = arg;
    // the test set's statistics: once for every score
    fs_err_t err = {0, ""};
    scorecard_t *card = scorecard_new(self->evaluator, self->test, &err);
    dataset_destroy(&self->test);
    if (!card) {
        log_warn("quality scores are off: the test set's statistics: %s", err.msg);
    }
    pthread_mutex_lock(&self->lock);
    self->started = 1;
    pthread_cond_broadcast(&self->idle);
    for (;;) {
        while (!self->waiting && !self->stop) {
            pthread_cond_wait(&self->wake, &self->lock);
        }
        if (self->stop) {
            break; // waiting snapshots are dropped (scorer_flush keeps them)
        }
        // take the oldest snapshot by swapping buffers: scorer_put may
        // fill that slot again while this one is scored
        job_t t = self->running;
        self->running = self->queue[self->head];
        self->queue[self->head] = t;
        self->head = (self->head + 1) % SCORER_QUEUE;
        self->waiting--;
        self->busy = 1;
        pthread_mutex_unlock(&self->lock);
        int rc = card ? s_score(self, card, &err) : FS_EINVAL;
        if (rc < 0 && card) {
            log_warn("quality score of round %llu failed: %s",
                     (unsigned long long)self->running.round, err.msg);
        }
        pthread_mutex_lock(&self->lock);
        self->failures += rc < 0;
        self->scores += rc == 0;
        self->busy = 0;
        if (!self->waiting) {
            pthread_cond_broadcast(&self->idle);
        }
    }
    self->waiting = 0;
    pthread_cond_broadcast(&self->idle);
    pthread_mutex_unlock(&self->lock);
    scorecard_destroy(&card);
    return NULL;
}

static int s_load(scorer_t *self, const scorer_config_t *cfg, fs_err_t *err)
{
    if (cfg->arch.kind != WORKLOAD_DCGAN && cfg->arch.kind != WORKLOAD_CVAE) {
        return fs_err_set(err, FS_EINVAL, "quality scores need a generator, and the "
                          "federation trains a %s (turn quality/score-every off)",
                          workload_kind_name(&cfg->arch));
    }
    if (cfg->samples < 2) {
        return fs_err_set(err, FS_EINVAL, "quality/score-samples %d: at least 2 images",
                          cfg->samples);
    }
    char ev_dataset[64] = "";
    int rc = checkpoint_load_classifier(cfg->evaluator, SCORER_BATCH, &self->evaluator,
                                        ev_dataset, sizeof ev_dataset, err);
    if (rc < 0) {
        return fs_err_prefix(err, rc, "quality/evaluator: ");
    }
    if (strcmp(ev_dataset, "unknown") != 0 && strcmp(ev_dataset, cfg->dataset) != 0) {
        return fs_err_set(err, FS_EINVAL, "quality/evaluator %s was trained on %s, but the "
                          "federation trains on %s (train one with 'fedsyn evaluator train "
                          "--dataset %s')", cfg->evaluator, ev_dataset, cfg->dataset,
                          cfg->dataset);
    }
    hash_model(model_params(self->evaluator), model_param_count(self->evaluator),
               self->evaluator_hash);
    if ((rc = idx_load_split(cfg->test_dir, "t10k", &self->test, err)) < 0) {
        return fs_err_prefix(err, rc, "quality: the test set: ");
    }
    if (self->test->c != 1 || self->test->h != 28 || self->test->w != 28) {
        return fs_err_set(err, FS_EINVAL, "quality: the test set in %s has %dx%d images, the "
                          "evaluator takes 28x28", cfg->test_dir, self->test->h, self->test->w);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", cfg->dir, QUALITY_LOG_FILE);
    uint64_t cut = 0;
    if (!(self->log = quality_log_open(path, &cut, err))) {
        return err ? err->code : FS_EIO;
    }
    if (cut) {
        log_warn("%s: cut a torn last line of %llu bytes (a crash during a write)", path,
                 (unsigned long long)cut);
    }
    return 0;
}

static void s_free(scorer_t *self)
{
    model_destroy(&self->evaluator);
    dataset_destroy(&self->test);
    quality_log_destroy(&self->log);
    for (int i = 0; i < SCORER_QUEUE; i++) {
        free(self->queue[i].w);
    }
    free(self->running.w);
    free(self);
}

scorer_t *scorer_new(const scorer_config_t *cfg, fs_err_t *err)
{
    scorer_t *self = xcalloc(1, sizeof *self);
    snprintf(self->name, sizeof self->name, "%s", cfg->name);
    snprintf(self->dataset, sizeof self->dataset, "%s", cfg->dataset);
    snprintf(self->scratch, sizeof self->scratch, "%s/%s", cfg->dir, SCORER_SCRATCH);
    self->samples = cfg->samples;
    self->arch = cfg->arch;
    if (s_load(self, cfg, err) < 0) {
        s_free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_cond_init(&self->idle, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        // like an allocation failure: the process cannot go on usefully
        fprintf(stderr, "fedsyn: cannot start the quality scorer's thread\n");
        abort();
    }
    return self;
}

void scorer_put(scorer_t *self, const float *w, size_t n, uint64_t round,
                const uint8_t hash[HASH_BYTES], const scorer_losses_t *losses)
{
    pthread_mutex_lock(&self->lock);
    if (self->waiting == SCORER_QUEUE) {
        // scores fall behind the rounds: the oldest waiting one goes
        log_warn("quality score of round %llu skipped: scoring is slower than the rounds "
                 "(a larger quality/score-every or fewer quality/score-samples keep up)",
                 (unsigned long long)self->queue[self->head].round);
        self->head = (self->head + 1) % SCORER_QUEUE;
        self->waiting--;
        self->skipped++;
    }
    job_t *j = &self->queue[(self->head + self->waiting) % SCORER_QUEUE];
    if (j->cap < n) {
        free(j->w);
        j->w = xfloats(n);
        j->cap = n;
    }
    memcpy(j->w, w, n * sizeof(float));
    j->n = n;
    j->round = round;
    memcpy(j->hash, hash, HASH_BYTES);
    j->has_losses = losses != NULL;
    for (int k = 0; losses && k < 2; k++) {
        snprintf(j->loss_name[k], sizeof j->loss_name[k], "%s", losses->name[k]);
        j->loss[k] = losses->value[k];
    }
    self->waiting++;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

int scorer_flush(scorer_t *self)
{
    pthread_mutex_lock(&self->lock);
    while (!self->started || self->waiting || self->busy) {
        pthread_cond_wait(&self->idle, &self->lock);
    }
    int failures = self->failures;
    pthread_mutex_unlock(&self->lock);
    return failures;
}

int scorer_scores(scorer_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->scores;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int scorer_skipped(scorer_t *self)
{
    pthread_mutex_lock(&self->lock);
    int n = self->skipped;
    pthread_mutex_unlock(&self->lock);
    return n;
}

void scorer_destroy(scorer_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    scorer_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->wake);
    pthread_cond_destroy(&self->idle);
    s_free(self);
    *self_p = NULL;
}
