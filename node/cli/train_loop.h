/* train_loop.h - the epoch loop of `fedsyn train`, one for every model.
 *
 * The kinds differ in their trainer, files and what a progress line shows,
 * which the loop asks of the kind's table (node/train/model_kind.h);
 * everything else is the same and lives here once: where a resumed run
 * stands (--resume, --to-epoch), progress lines with images/s and ETA, the
 * epoch checkpoints (PATH.epochN.fsm and .png) with --out rewritten beside
 * them holding the trainer's state, and Ctrl-C saving the exact state.
 */
#ifndef FS_CLI_TRAIN_LOOP_H
#define FS_CLI_TRAIN_LOOP_H

#include <stddef.h>

#include "node/base/err.h"
#include "node/cli/train_opts.h"
#include "node/train/checkpoint.h"
#include "node/train/model_kind.h"

// Trains `trainer` (the kind's, with its data set) from where `at` stands
// (the kind's resume; all zero for a fresh run) for o->epochs more epochs,
// or up to o->to_epoch, of `iters` iterations each; `banner` is the first
// line's model part.  Returns the process exit status; errors are reported.
// *steps (may be NULL) receives the run's iterations in all, earlier
// sessions of a resumed run included: where it stands when the loop ends.
int train_loop_run(const train_opts_t *o, const model_kind_t *kind, void *trainer,
                   const char *banner, checkpoint_resume_t at, long iters, long *steps);

#endif
