/* checkpoint.h - saving and loading trained networks as model files.
 *
 * A GAN checkpoint holds a "meta" text section (architecture, width, latent
 * size, image shape, epoch), the generator's and the discriminator's flat
 * parameters.  A CVAE file holds "meta", "encoder" and "decoder".  A
 * classifier file holds "meta" and "classifier".
 *
 * Usage: see tests/train/test_gan_train.c
 */
#ifndef FS_TRAIN_CHECKPOINT_H
#define FS_TRAIN_CHECKPOINT_H

#include <stdbool.h>

#include "node/base/err.h"
#include "node/models/dcgan.h"
#include "node/train/cvae_train.h"
#include "node/train/gan_train.h"

// A GAN trainer that keeps an average of its generator (gan_train.h) saves
// it in this section and records "ema=DECAY" in the meta (and, in a
// trainer's own file, "ema_steps=N"); samplers load it instead of the
// generator when it is there.
#define CHECKPOINT_EMA_SECTION "generator_ema"

int checkpoint_save_gan(const char *path, gan_trainer_t *t, int epoch, const char *dataset,
                        fs_err_t *err);
// Builds a generator from a checkpoint's meta and loads its weights (the
// average, CHECKPOINT_EMA_SECTION, when the file holds one).
int checkpoint_load_generator(const char *path, int max_batch, dcgan_config_t *arch_out,
                              model_t **g_out, fs_err_t *err);
// Starts a conditional trainer (dcgan.h, classes > 0) from an unconditional
// checkpoint of the same width: its weights, the label inputs' weights zero
// (nn/widen.h), so the conditional GAN begins as the trained one and learns
// to use the labels.  The optimisers start afresh.
int checkpoint_grow_conditional(const char *path, gan_trainer_t *t, fs_err_t *err);
// Loads both networks into a trainer built with the same architecture.
int checkpoint_load_gan(const char *path, gan_trainer_t *t, int *epoch_out, fs_err_t *err);

// A checkpoint that resumes exactly also holds the trainer's state: both
// optimisers' moments and step counts, the latents' and shuffles' generator,
// both networks' dropout generators and the pass over the data (where it
// stands and the generator state it was drawn from).  About three times
// the size of the weights alone; `fedsyn train` keeps it in --out.  run
// (NULL: none) is one line of the settings that made the run, kept in a
// text section of its own (CHECKPOINT_RUN_SECTION) for --resume to read
// back; model_file_meta(f, CHECKPOINT_RUN_SECTION, key, ...) reads a key.
#define CHECKPOINT_RUN_SECTION "run"
int checkpoint_save_gan_state(const char *path, gan_trainer_t *t, int epoch, int iter,
                              const char *dataset, const char *run, fs_err_t *err);

// Where a resumed run stands.
typedef struct {
    int epoch;        // whole epochs done
    int iter;         // iterations done into the next epoch (0 for weights only)
    bool exact;       // the file held the trainer's state and it was restored
    bool fresh_order; // ...except the data order: the data set has another size
} checkpoint_resume_t;

// Loads the weights and, where the file holds it, the trainer's state.  Call
// after gan_trainer_set_data: restoring the data order needs the data.
int checkpoint_resume_gan(const char *path, gan_trainer_t *t, checkpoint_resume_t *out,
                          fs_err_t *err);

// Reads only the architecture recorded in a GAN checkpoint.
int checkpoint_read_arch(const char *path, dcgan_config_t *arch, fs_err_t *err);

// GenFL's CVAE: "meta" (arch=cvae hidden latent classes img epoch dataset),
// "encoder" and "decoder".
int checkpoint_save_cvae(const char *path, cvae_trainer_t *t, int epoch, const char *dataset,
                         fs_err_t *err);
// Builds the decoder from a CVAE file's meta and loads its weights.
int checkpoint_load_cvae_decoder(const char *path, int max_batch, cvae_config_t *arch_out,
                                 model_t **dec_out, fs_err_t *err);
// The CVAE's exact state, as checkpoint_save_gan_state keeps the GAN's:
// both optimisers, the noise and shuffle generator, the data order.
int checkpoint_save_cvae_state(const char *path, cvae_trainer_t *t, int epoch, int iter,
                               const char *dataset, const char *run, fs_err_t *err);
// Loads a CVAE file of the trainer's architecture (refused, naming both,
// if it differs) and, where it holds it, the trainer's state, as
// checkpoint_resume_gan does.  After cvae_trainer_set_data.
int checkpoint_resume_cvae(const char *path, cvae_trainer_t *t, checkpoint_resume_t *out,
                           fs_err_t *err);
// The "arch" a model file records ("dcgan", "cvae", "classifier") into out.
int checkpoint_kind(const char *path, char *out, size_t out_bytes, fs_err_t *err);

int checkpoint_save_classifier(const char *path, model_t *c, const char *dataset,
                               double test_accuracy, fs_err_t *err);
int checkpoint_load_classifier(const char *path, int max_batch, model_t **c_out,
                               char *dataset_out, size_t dataset_bytes, fs_err_t *err);
// The test accuracy a classifier file records (evaluator train writes it),
// or -1 when it records none or cannot be read.
double checkpoint_classifier_accuracy(const char *path);

#endif
