/* train_opts.h - the options of `fedsyn train`, shared by its GAN path
 * (cmd_train.c) and its CVAE path (train_cvae.c). */
#ifndef FS_CLI_TRAIN_OPTS_H
#define FS_CLI_TRAIN_OPTS_H

#include "node/data/dataset.h"
#include "node/train/workload.h"

typedef struct {
    const char *dataset, *data_dir, *labels, *out, *grid, *resume, *model, *init;
    long limit, epochs, iters, width, batch, seed, every, threads, to_epoch;
    int quiet;
    workload_arch_t arch; // --model (a bare kind with --width), parsed by workload.h
    int cvae_hidden; // > 0 when --model cvae[:H]
    int conditional; // the GAN is conditioned on the labels (cdcgan, cgan)
    int pixel_norm;  // --g-norm pixel (1), none (0), or -1: the model's
    int upsample;    // --g-up nearest (1), transposed (0), or -1: the model's
    double lr, lr_d, ema, d_dropout, aux; // the GAN's recipe (gan_train.h); < 0: the default
    long reuse_fakes; // --reuse-fakes 0|1, or -1: the default
    long d_width;    // the discriminator's channels; 0: the model's (width / 2)
} train_opts_t;

// The CVAE path of `fedsyn train` on loaded data (owned by the caller).
int train_cvae_run(const train_opts_t *o, const dataset_t *data);
// "runs/x.fsm" -> "runs/x" (the stem checkpoints are named after).
void train_stem(const char *path, char *stem, size_t n);

#endif
