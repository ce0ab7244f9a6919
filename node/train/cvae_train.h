/* cvae_train.h - training GenFL's conditional VAE (node/models/cvae.h).
 *
 * One step on a mini-batch (x, y): encode [x, onehot y] to (mu, log s^2),
 * draw z = mu + s * eps with eps ~ N(0, I) (the reparameterisation), decode
 * [z, onehot y] to pixel logits; the loss is the negative ELBO,
 *     sum over pixels of BCE(logits, x) + KL(N(mu, s^2) || N(0, I)),
 * averaged over the batch.  Adam on both networks.  Every buffer is
 * allocated in cvae_trainer_new / cvae_trainer_set_data; a step allocates
 * nothing.
 *
 * Usage: see tests/train/test_cvae_train.c
 */
#ifndef FS_TRAIN_CVAE_TRAIN_H
#define FS_TRAIN_CVAE_TRAIN_H

#include <stdint.h>

#include "node/base/rng.h"
#include "node/data/dataset.h"
#include "node/models/cvae.h"
#include "node/nn/adam.h"

typedef struct {
    int batch;     // images per step
    float lr;      // Adam learning rate (1e-3)
    uint64_t seed; // weights, shuffles and the reparameterisation noise
} cvae_train_config_t;

typedef struct {
    double loss;  // recon + kl
    double recon; // BCE summed over pixels, mean over the batch
    double kl;    // KL summed over latents, mean over the batch
} cvae_step_stats_t;

typedef struct cvae_trainer cvae_trainer_t;

cvae_train_config_t cvae_train_config_default(void);
cvae_trainer_t *cvae_trainer_new(const cvae_config_t *arch, const cvae_train_config_t *cfg);
void cvae_trainer_destroy(cvae_trainer_t **self_p);
// Borrows a labelled data set of the architecture's image shape.
int cvae_trainer_set_data(cvae_trainer_t *t, const dataset_t *data, fs_err_t *err);
// The loss of n <= batch examples (x batch-first, labels y) for the given
// noise eps (n x Z), and its gradients, written (not added) into both
// models' gradient vectors.  The step calls it; the gradient test too.
double cvae_loss_grad(cvae_trainer_t *t, const float *x, const uint8_t *y, int n,
                      const float *eps, cvae_step_stats_t *stats);
// One step on the next shuffled mini-batch.
void cvae_train_step(cvae_trainer_t *t, cvae_step_stats_t *stats);
model_t *cvae_trainer_encoder(cvae_trainer_t *t);
model_t *cvae_trainer_decoder(cvae_trainer_t *t);
const cvae_config_t *cvae_trainer_arch(const cvae_trainer_t *t);
// The state an exact checkpoint keeps (node/train/checkpoint.h).
adam_t *cvae_trainer_adam_enc(cvae_trainer_t *t);
adam_t *cvae_trainer_adam_dec(cvae_trainer_t *t);
rng_t *cvae_trainer_rng(cvae_trainer_t *t);
dataset_order_t *cvae_trainer_order(cvae_trainer_t *t);
// Forgets both optimisers' moments (after the federation replaces weights).
void cvae_trainer_reset_optimiser(cvae_trainer_t *t);

// Decodes n images (n <= the decoder's max batch) of labels y from fresh
// latents z ~ N(0, I) drawn from rng, as pixel probabilities in out
// (n x image).  in_buf holds n x (Z + classes) floats.
void cvae_generate(model_t *dec, const cvae_config_t *arch, const uint8_t *y, int n, rng_t *rng,
                   float *in_buf, float *out);
// The same from given latents z (n x Z), e.g. the prior's mode z = 0.
void cvae_decode(model_t *dec, const cvae_config_t *arch, const float *z, const uint8_t *y, int n,
                 float *in_buf, float *out);

#endif
