/* local.h - a member's local training, run on a thread of its own so that
 * the node keeps answering peers (hellos, relays, sync) while it trains.
 *
 * The actor (czmq zactor) owns the workload's trainer (the GAN or the CVAE,
 * node/train/workload.h) and the member's data.  The node hands it the
 * global vector of a round; it loads it into both networks, runs the
 * round's iterations (Adam state carries over from round to round: it is
 * the member's own optimiser, never shared), logs progress (iteration,
 * losses, images per second, ETA) and signals its pipe.  The
 * node takes the result with local_take_result, which swaps buffers rather
 * than copying 4.8 MB; the trained vector is then noised by node/privacy
 * and sealed.
 *
 * Usage: see tests/fed/test_local.c
 */
#ifndef FS_FED_LOCAL_H
#define FS_FED_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"
#include "node/train/workload.h"

typedef struct local local_t;

typedef struct {
    uint64_t round;     // the round trained for
    int iters;          // iterations run
    double loss_a;      // last iteration's losses (d_loss and g_loss, or
    double loss_b;      // loss and kl: workload_stat_name)
    double seconds;     // wall time
    double images_per_s;
} local_stats_t;

// Takes ownership of data.  seed varies shuffles, latents and dropout per
// member; batch is the local mini-batch.
local_t *local_new(const workload_arch_t *arch, dataset_t *data, uint64_t seed, int batch,
                   int log_every, fs_err_t *err);
void local_destroy(local_t **self_p);
// Under DP-SGD (the arch's gan_dp_clip): the labels its fakes may ask for,
// a member's public label group (workload_trainer_public_labels).  Before
// the first local_start.
int local_public_labels(local_t *self, const uint8_t *labels, int n, fs_err_t *err)
    __attribute__((warn_unused_result));
// Starts training round `round` from global (n == local_param_count floats,
// loaded into the networks before it returns).  Not while busy.
void local_start(local_t *self, const float *global, size_t n, uint64_t round, int iters);
// The socket that becomes readable when the round's training is done.
void *local_pipe(local_t *self);
// After the pipe is readable: exchanges *buf (local_param_count floats,
// malloc'd, the caller's) with the trained vector, so the caller owns the
// trained vector and the actor writes the next round into the old buffer;
// fills the round's statistics.
void local_take_result(local_t *self, float **buf, local_stats_t *stats);
int local_busy(const local_t *self);
size_t local_param_count(const local_t *self);
uint64_t local_samples(const local_t *self);
// Progress of the running round (for status): iterations done.
int local_progress(const local_t *self);

#endif
