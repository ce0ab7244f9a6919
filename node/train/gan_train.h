/* gan_train.h - one DCGAN training iteration, as the FedSyn paper's Keras
 * code does it: the discriminator on half a batch of real and half a batch
 * of generated images (targets 1 and 0), then the generator through the
 * frozen discriminator on a full batch of latents (targets 1).  BCE from
 * logits, Adam(lr, beta1) for both networks.  A conditional architecture
 * (dcgan.h, classes > 0) pairs each real image with its label and each
 * latent with a label drawn uniformly, and scores each image with its
 * label's projection logit.
 *
 * Every buffer is allocated in gan_trainer_new / gan_trainer_set_data;
 * gan_train_step allocates nothing.
 *
 * Usage: see tests/train/test_gan_train.c
 */
#ifndef FS_TRAIN_GAN_TRAIN_H
#define FS_TRAIN_GAN_TRAIN_H

#include <stdint.h>

#include "node/data/dataset.h"
#include "node/models/dcgan.h"
#include "node/nn/adam.h"

typedef struct {
    int batch;     // images per iteration (256: 128 real + 128 fake for D)
    float lr;      // Adam learning rate (2e-4); the generator's when lr_d is set
    float beta1;   // Adam beta1 (0.5)
    uint64_t seed; // weights, latents, shuffles and dropout all follow it
    float lr_d;    // the discriminator's learning rate; 0: lr (the paper)
    float ema;     // decay of the generator's weight average kept for
                   // sampling (gan_trainer_ema); 0: none (the paper)
    float aux;     // conditional only: weight of an auxiliary classifier loss
                   // (Odena et al. 2017, AC-GAN) on the projection head's
                   // label rows, softmax cross-entropy of out[1..K] against
                   // the label: D learns it on real images, G on its fakes;
                   // 0: none (the projection alone)
    int reuse_fakes; // 1: G's step scores the fakes of D's step again (one
                     // forward pass of G per iteration, as PyTorch's DCGAN
                     // example does; G's step then sees batch/2 fakes);
                     // 0: G draws a fresh full batch (the paper's Keras code)
    float ema_warmup; // the average's warm-up: decay min(ema, (1 + s) /
                      // (ema_warmup + s)) at step s (10; 1: none)
    int hinge;        // 1: the hinge loss (loss.h: D max(0, 1 -/+ z), G -z);
                      // 0: binary cross-entropy, G non-saturating (the paper)
    float mode_seeking; // weight of the mode-seeking term (Mao et al. 2019,
                        // MSGAN) in G's loss: G's fakes come in pairs of one
                        // label, and G minimises 1 / (lz + 1e-5) with lz the
                        // pairs' mean |G(z1) - G(z2)| over their mean
                        // |z1 - z2|, for variety within a label; 0: none
    float aux_g;        // the auxiliary classifier's weight in G's loss; 0:
                        // aux (D's and G's weights the same)
    float real_target;  // D's target for real images (one-sided label smoothing,
                        // Salimans et al. 2016: 0.9); 0: 1, the plain target
    int twin_g_off;     // with D's twin classifier (dcgan.h d_twin): 1 leaves
                        // it out of G's loss (D still trains it); 0: G
                        // maximises its loss at G's classifier weight
    // Record-level DP (DP-SGD on D, docs/privacy.md): with dp_clip > 0, D's
    // step draws its real images by Poisson subsampling at rate dp_q (0:
    // the batch's half over the data's size), clips each one's gradient of
    // D's loss to dp_clip, adds N(0, (dp_sigma dp_clip)^2) to their sum and
    // divides by the expected count; the fake half is as usual.  G learns
    // through D alone.  Fake labels are drawn uniformly over the labels the
    // trainer is told are public (gan_trainer_set_public_labels; all of
    // them by default), not as the data's fall.  0: no DP-SGD.
    double dp_clip, dp_sigma, dp_q;
    int d_steps; // D's steps per G step (Bie et al. 2023 take many under
                 // DP-SGD: D learns more from each private step's noise);
                 // 0 or 1: one, the paper's.  Each is a step of DP-SGD.
    int aux_own_labels; // 1: the auxiliary classifier's softmax (D's and
                        // G's terms) runs over the labels present in the
                        // trainer's data only (dcgan_d_class_loss's
                        // allowed; FedRS, Li & Zhan 2021); 0: all labels.
                        // Not under DP-SGD (the labels present are data).
} gan_train_config_t;

typedef struct {
    double d_loss;     // discriminator BCE on its real+fake batch
    double g_loss;     // generator BCE (targets "real")
    double d_acc_real; // share of real images D calls real
    double d_acc_fake; // share of fakes D calls fake
} gan_step_stats_t;

typedef struct gan_trainer gan_trainer_t;

gan_train_config_t gan_train_config_paper(void);

gan_trainer_t *gan_trainer_new(const dcgan_config_t *arch, const gan_train_config_t *cfg);
void gan_trainer_destroy(gan_trainer_t **self_p);

// Borrows data (which must outlive the trainer's use of it) and allocates
// its shuffle order.  Images must have the architecture's shape.
int gan_trainer_set_data(gan_trainer_t *t, const dataset_t *data, fs_err_t *err);

// One iteration; fills stats when not NULL.  Under DP-SGD the stats of
// the real images (d_loss's real half, d_acc_real) are computed from
// private records and are not covered by the guarantee: for the local log.
void gan_train_step(gan_trainer_t *t, gan_step_stats_t *stats);
// Under DP-SGD: the labels fake images may ask for, a public fact (a
// federation member's configured label group); n labels, each < classes.
void gan_trainer_set_public_labels(gan_trainer_t *t, const uint8_t *labels, int n);
// Under DP-SGD: the sampling rate D's steps use (cfg.dp_q, or its default
// once data is set) and the steps taken (each one Poisson-sampled step).
double gan_trainer_dp_rate(const gan_trainer_t *t);
long gan_trainer_dp_steps(const gan_trainer_t *t);

model_t *gan_trainer_generator(gan_trainer_t *t);
// The exponential moving average of the generator's weights (Yazici et al.
// 2019, "The unusual effectiveness of averaging in GAN training"), updated
// after every generator step with decay min(ema, (1 + s) / (ema_warmup + s))
// at step s, so that early steps do not linger: model_param_count(generator)
// floats, or NULL when the config's ema is 0.  It is what samples should be
// drawn from; training never reads it.
float *gan_trainer_ema(gan_trainer_t *t);
// Exchanges the generator's weights with the average (no-op without one):
// call, draw samples, call again to go on training.
void gan_trainer_swap_ema(gan_trainer_t *t);
float gan_trainer_ema_decay(const gan_trainer_t *t);
// Number of generator steps averaged so far (the EMA's step count).
long gan_trainer_ema_steps(const gan_trainer_t *t);
void gan_trainer_set_ema_steps(gan_trainer_t *t, long steps);
// A schedule's settings for the steps that follow: both optimisers' learning
// rates at lr_scale times the config's, G's auxiliary classifier weight
// aux_g (0: the config's aux, as gan_train_config_t's aux_g) and whether G
// leaves the twin classifier out (twin_g_off, as in the config).
void gan_trainer_set_schedule(gan_trainer_t *t, float lr_scale, float aux_g, int twin_g_off);
model_t *gan_trainer_discriminator(gan_trainer_t *t);
adam_t *gan_trainer_adam_g(gan_trainer_t *t);
adam_t *gan_trainer_adam_d(gan_trainer_t *t);
const dcgan_config_t *gan_trainer_arch(const gan_trainer_t *t);
// The latents' and shuffles' generator and the pass over the data: with the
// optimisers and the networks' dropout generators, all a checkpoint needs to
// continue training exactly where it stopped (checkpoint.h).
rng_t *gan_trainer_rng(gan_trainer_t *t);
dataset_order_t *gan_trainer_order(gan_trainer_t *t);

// Generates n images (n <= batch) from fresh latents drawn from rng into
// out (n x image floats), in inference mode.  Unconditional generators.
void gan_generate(model_t *g, int latent, int n, rng_t *rng, float *z_buf, float *out);
// The same from given generator inputs z (n x model_input_size(g): the
// latents, scaled ones for instance (sampler.h), each followed by its
// one-hot label for a conditional generator: dcgan_pack_latent).
void gan_decode(model_t *g, const float *z, int n, float *out);

#endif
