/* train_loop.h - the epoch loop of `fedsyn train`, one for every model.
 *
 * The GAN path (cmd_train.c) and the CVAE path (train_cvae.c) differ in
 * their trainer and in what a progress line shows; everything else is the
 * same and lives here once: where a resumed run stands (--resume,
 * --to-epoch), progress lines with images/s and ETA, the epoch checkpoints
 * (PATH.epochN.fsm and .png) with --out rewritten beside them holding the
 * trainer's state, and Ctrl-C saving the exact state.
 */
#ifndef FS_CLI_TRAIN_LOOP_H
#define FS_CLI_TRAIN_LOOP_H

#include <stddef.h>

#include "node/base/err.h"
#include "node/cli/train_opts.h"
#include "node/train/checkpoint.h"

enum { TRAIN_LOOP_STATS = 4 };

typedef struct {
    void *trainer;
    // One iteration; fills the numbers a progress line averages.
    void (*step)(void *trainer, double stats[TRAIN_LOOP_STATS]);
    // The middle of a progress line from those numbers averaged over the
    // epoch so far ("d_loss 0.687 g_loss 0.708 ...").
    void (*describe)(const double avg[TRAIN_LOOP_STATS], char *buf, size_t n);
    // The weights alone (epoch checkpoints), and the exact state (--out).
    int (*save_weights)(const char *path, void *trainer, int epoch, const char *dataset,
                        fs_err_t *err);
    int (*save_state)(const char *path, void *trainer, int epoch, int iter,
                      const char *dataset, fs_err_t *err);
    int (*save_grid)(const char *path, void *trainer, fs_err_t *err);
    long (*adam_steps)(void *trainer); // for the resume message
    const char *banner; // the first line's model part: "60000 images (data/mnist), G ..."
} train_loop_t;

// Trains from where `at` stands (checkpoint_resume_*; all zero for a fresh
// run) for o->epochs more epochs, or up to o->to_epoch, of `iters`
// iterations each.  Returns the process exit status; errors are reported.
int train_loop_run(const train_opts_t *o, const train_loop_t *loop, checkpoint_resume_t at,
                   long iters);

#endif
