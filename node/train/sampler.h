/* sampler.h - images from any generator file fedsyn writes: a DCGAN
 * checkpoint (unlabelled samples) or a CVAE file (labelled samples, label
 * i mod classes for sample i, so the classes are balanced).  `fedsyn
 * sample` and `fedsyn eval` draw through it.
 *
 * Usage: see tests/train/test_cvae_train.c
 */
#ifndef FS_TRAIN_SAMPLER_H
#define FS_TRAIN_SAMPLER_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"

// Draws n images from the generator at path with latent seed `seed`,
// max_batch at a time; *out is a new data set (labelled for a CVAE).
int sampler_draw(const char *path, int n, uint64_t seed, int max_batch, dataset_t **out,
                 fs_err_t *err) __attribute__((warn_unused_result));

#endif
