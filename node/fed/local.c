/* local.c - the training actor (see local.h). */
#include "node/fed/local.h"

#include <assert.h>
#include <czmq.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/log.h"
#include "node/base/mem.h"

struct local {
    zactor_t *actor;
    workload_arch_t arch;
    workload_trainer_t *trainer;
    dataset_t *data;
    size_t n;
    float *out;          // the trained vector (actor writes before DONE)
    uint64_t round;
    int iters, log_every, busy;
    atomic_int done_iters;
    atomic_int stop;
    local_stats_t stats;
};

static void s_train(local_t *self)
{
    int64_t t0 = zclock_mono();
    workload_stats_t st = {0, 0};
    int batch = workload_trainer_batch(self->trainer);
    int i = 0;
    for (; i < self->iters && !atomic_load(&self->stop); i++) {
        workload_trainer_step(self->trainer, &st);
        atomic_store(&self->done_iters, i + 1);
        if (self->log_every && ((i + 1) % self->log_every == 0 || i + 1 == self->iters)) {
            double s = (double)(zclock_mono() - t0) / 1000.0;
            double ips = s > 0 ? (double)(i + 1) * batch / s : 0;
            double eta = (double)(self->iters - i - 1) * s / (i + 1);
            log_info("round %llu: local iter %d/%d  %s %.3f  %s %.3f  %.0f img/s  ETA %.0fs",
                     (unsigned long long)self->round, i + 1, self->iters,
                     workload_stat_name(&self->arch, 0), st.a, workload_stat_name(&self->arch, 1),
                     st.b, ips, eta);
        }
    }
    workload_trainer_export(self->trainer, self->out);
    double s = (double)(zclock_mono() - t0) / 1000.0;
    self->stats = (local_stats_t){self->round, i, st.a, st.b, s,
                                  s > 0 ? (double)i * batch / s : 0};
}

static void s_actor(zsock_t *pipe, void *arg)
{
    local_t *self = arg;
    zsock_signal(pipe, 0);
    for (;;) {
        char *cmd = zstr_recv(pipe);
        if (!cmd || strcmp(cmd, "$TERM") == 0) {
            free(cmd);
            break;
        }
        if (strcmp(cmd, "TRAIN") == 0) {
            s_train(self);
            zstr_send(pipe, "DONE");
        }
        free(cmd);
    }
}

local_t *local_new(const workload_arch_t *arch, dataset_t *data, uint64_t seed, int batch,
                   int log_every, fs_err_t *err)
{
    local_t *self = xcalloc(1, sizeof *self);
    self->data = data;
    self->arch = *arch;
    self->trainer = workload_trainer_new(arch, batch, seed);
    if (workload_trainer_set_data(self->trainer, data, err) < 0) {
        local_destroy(&self);
        return NULL;
    }
    size_t nf;
    workload_sizes(arch, &nf, &self->n);
    self->out = xfloats(self->n);
    self->log_every = log_every;
    self->actor = zactor_new(s_actor, self);
    return self;
}

int local_public_labels(local_t *self, const uint8_t *labels, int n, fs_err_t *err)
{
    assert(!self->busy); // the actor is idle: this thread may set up its trainer
    return workload_trainer_public_labels(self->trainer, labels, n, err);
}

void local_destroy(local_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    local_t *self = *self_p;
    atomic_store(&self->stop, 1);
    zactor_destroy(&self->actor); // waits for a running round to stop
    workload_trainer_destroy(&self->trainer);
    dataset_destroy(&self->data);
    free(self->out);
    free(self);
    *self_p = NULL;
}

void local_start(local_t *self, const float *global, size_t n, uint64_t round, int iters)
{
    assert(!self->busy && n == self->n);
    // The actor is idle (it signalled DONE, or never started), so this
    // thread may load its trainer; the TRAIN message below orders these
    // writes before the actor's reads.  One copy instead of two.
    workload_trainer_load(self->trainer, global);
    self->round = round;
    self->iters = iters;
    self->busy = 1;
    atomic_store(&self->done_iters, 0);
    zstr_send(self->actor, "TRAIN");
}

void *local_pipe(local_t *self)
{
    return self->actor;
}

void local_take_result(local_t *self, float **buf, local_stats_t *stats)
{
    char *reply = zstr_recv(self->actor);
    free(reply);
    self->busy = 0;
    if (stats) {
        *stats = self->stats;
    }
    float *trained = self->out;
    self->out = *buf;
    *buf = trained;
}

int local_busy(const local_t *self)
{
    return self->busy;
}

size_t local_param_count(const local_t *self)
{
    return self->n;
}

uint64_t local_samples(const local_t *self)
{
    return (uint64_t)self->data->n;
}

int local_progress(const local_t *self)
{
    return atomic_load(&((local_t *)self)->done_iters);
}
