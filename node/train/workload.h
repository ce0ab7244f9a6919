/* workload.h - the models a federation can train, behind one interface.
 *
 * A genesis names its model as a spec: "dcgan:W" (the FedSyn GAN, width W),
 * "cdcgan:W" (the same GAN conditioned on the 10 labels, dcgan.h),
 * "cvae:H" (GenFL's CVAE, hidden width H) or "classifier" (GenFL's
 * downstream model: the LeNet-style CNN of node/models/classifier.h, softmax
 * cross-entropy, Adam 1e-3).  Whatever the kind, the federation sees one
 * flat float vector (FedAvg, clipping, noise, hashing and sealing all work
 * on it): generator ++ discriminator for the GAN, encoder ++ decoder for the
 * CVAE, the one network of the classifier.  The trainer behind a workload keeps its
 * own optimiser state between rounds; the vector is all that is shared.
 *
 * Usage: see tests/train/test_workload.c
 */
#ifndef FS_TRAIN_WORKLOAD_H
#define FS_TRAIN_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"
#include "node/models/cvae.h"
#include "node/models/dcgan.h"
#include "node/train/gan_train.h"

typedef enum { WORKLOAD_DCGAN = 1, WORKLOAD_CVAE = 2, WORKLOAD_CLASSIFIER = 3 } workload_kind_t;

typedef struct {
    workload_kind_t kind;
    dcgan_config_t gan;  // when kind == WORKLOAD_DCGAN
    cvae_config_t cvae;  // when kind == WORKLOAD_CVAE
    // The GAN's training recipe beyond its layers (gan_train.h): the
    // generator's and discriminator's learning rates, the decay of the
    // generator's average and the auxiliary classifier's weight; 0 means
    // the paper's (lr 2e-4 both, no average, no auxiliary classifier).
    float gan_lr, gan_lr_d, gan_ema, gan_aux;
    int gan_reuse_fakes; // G's step scores D's fakes again (gan_train.h)
    float gan_ema_warmup; // the average's warm-up (gan_train.h); 0: its default
    int gan_hinge;        // the hinge loss (gan_train.h); 0: cross-entropy
    float gan_mode_seeking; // the mode-seeking term's weight (gan_train.h); 0: none
    float gan_aux_g;        // G's auxiliary classifier weight (gan_train.h); 0: gan_aux
    float gan_real_target;  // D's target for real images (gan_train.h); 0: 1
    // DP-SGD on D (gan_train.h's dp_*): clip (0: off), noise multiplier, rate
    double gan_dp_clip, gan_dp_sigma, gan_dp_q;
    int gan_d_steps; // D's steps per G step (gan_train.h); 0: one
    int gan_aux_own_labels; // the classifier over the data's labels only (gan_train.h)
} workload_arch_t;

#define WORKLOAD_CLASSES 10 // the labels of MNIST and Fashion-MNIST
#define WORKLOAD_CGAN_EMA 0.999f // cgan's generator average (docs/results.md)
#define WORKLOAD_CGAN_AUX 1.0f   // cgan's auxiliary classifier weight
#define WORKLOAD_CGAN_D_FACTOR 2 // cgan's discriminator: twice G's channels
// cgan's discriminator learns at half G's rate: its wider net with the
// auxiliary classifier otherwise can saturate G into all-black images
// (seen on the test fixture; docs/results.md).
#define WORKLOAD_CGAN_LR_D 1e-4f

// Parses "dcgan:W", "cdcgan:W" or "cgan:W" (W even, 2..1024), "cvae:H"
// (H 2..8192) or "classifier", for 28 x 28 single-channel images.
//
// cgan:W is fedsyn's recipe for labelled data (beyond the papers, chosen by
// measurement, docs/results.md): cdcgan's layers with pixel norm in the
// generator, which upsamples by nearest neighbour rather than by transposed
// convolutions (dcgan.h), and a discriminator of 2W channels (the paper's has
// W/2), an auxiliary classifier on the discriminator's label rows
// (gan_train.h) with the discriminator at half the generator's learning
// rate, the generator's step on the discriminator's fakes (one pass of G
// per iteration: half the cost of an iteration for the same progress), and
// an exponential moving average of the generator, which is what its files
// hand to samplers.  The average
// travels in the federation's vector as a third part, after the
// discriminator: averaging members' averages is the average of the
// averaged weights, because the moving average is linear.
int workload_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
    __attribute__((warn_unused_result));
// Sizes of the vector: the first part (generator, encoder, or the whole
// classifier) and the whole (for cgan, generator ++ discriminator ++ the
// generator's average).
void workload_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total);
// The initial vector (a new array of *n floats) for a seed: the weights a
// trainer built with the same seed starts from.
float *workload_initial(const workload_arch_t *arch, uint64_t seed, size_t *n);
// Saves w atomically in the kind's file format (a DCGAN checkpoint, a CVAE
// file or a classifier file, readable by fedsyn sample / eval / evaluator
// test); `extra` is appended to the meta line ("key=value ...", may be empty).
int workload_save(const char *path, const workload_arch_t *arch, const float *w,
                  const char *dataset, const char *extra, fs_err_t *err)
    __attribute__((warn_unused_result));
// Loads a file of this architecture into w (workload_sizes floats).
int workload_load(const char *path, const workload_arch_t *arch, float *w, fs_err_t *err)
    __attribute__((warn_unused_result));

// The trainer.  Losses are reported as two numbers whose names depend on
// the kind (d_loss/g_loss, loss/kl, or loss/acc on the batch).
typedef struct {
    double a, b;
} workload_stats_t;
typedef struct workload_trainer workload_trainer_t;
// What a training schedule changes between rounds (fedsyn fedsim): the
// optimisers' learning rates as a multiple of the recipe's, and (a GAN with
// the auxiliary classifier) G's classifier weight, 0 for the recipe's, and
// whether G leaves D's twin classifier out of its loss.
typedef struct {
    float lr_scale;
    float aux_g;
    int twin_g_off;
} workload_schedule_t;

workload_trainer_t *workload_trainer_new(const workload_arch_t *arch, int batch, uint64_t seed);
void workload_trainer_destroy(workload_trainer_t **self_p);
// Borrows data for the trainer's life (the CVAE needs labels).
int workload_trainer_set_data(workload_trainer_t *t, const dataset_t *data, fs_err_t *err);
void workload_trainer_load(workload_trainer_t *t, const float *w);
void workload_trainer_export(const workload_trainer_t *t, float *w);
void workload_trainer_step(workload_trainer_t *t, workload_stats_t *stats);
int workload_trainer_batch(const workload_trainer_t *t);
// Applies s to the steps that follow; FS_EINVAL when the kind has no
// schedule (only the GAN has one).
int workload_trainer_schedule(workload_trainer_t *t, const workload_schedule_t *s,
                              fs_err_t *err) __attribute__((warn_unused_result));
// Under DP-SGD (the arch's gan_dp_clip), the labels the trainer's fakes
// may ask for: a member's configured label group (gan_train.h);
// FS_EINVAL when the kind has no such choice.
int workload_trainer_public_labels(workload_trainer_t *t, const uint8_t *labels, int n,
                                   fs_err_t *err) __attribute__((warn_unused_result));
// The GAN trainer's settings for an architecture (batch and seed given).
gan_train_config_t workload_gan_config(const workload_arch_t *arch, int batch, uint64_t seed);
// "DCGAN", "CVAE" or "classifier".
const char *workload_kind_name(const workload_arch_t *arch);
// "d_loss" / "g_loss", "loss" / "kl" or "loss" / "acc".
const char *workload_stat_name(const workload_arch_t *arch, int which);

#endif
