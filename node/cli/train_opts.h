/* train_opts.h - the options of `fedsyn train` (cmd_train.c), which its
 * epoch loop (train_loop.c) reads too. */
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
    // Record-level DP, DP-SGD on D (--dp-sgd C; gan_train.h): clip, noise
    // multiplier (or the target epsilon it is solved for), sampling rate
    // (0: batch/2 over the data), delta; dp_clip 0: off
    double dp_clip, dp_sigma, dp_target_eps, dp_q, dp_delta;
    // The run's settings as one line, kept in every checkpoint that resumes
    // (checkpoint.h's run section); --resume takes them back.
    char run[768];
    char run_model[64], run_dataset[16], run_labels[64]; // taken back from a checkpoint
} train_opts_t;

// "runs/x.fsm" -> "runs/x" (the stem checkpoints are named after).
void train_stem(const char *path, char *stem, size_t n);

#endif
