/* sampler.h - images from any generator file fedsyn writes: a DCGAN
 * checkpoint (unlabelled samples), a conditional DCGAN's or a CVAE file
 * (labelled samples, label i mod classes for sample i, so the classes are
 * balanced).  `fedsyn
 * sample` and `fedsyn eval` draw through it.
 *
 * Usage: see tests/train/test_cvae_train.c
 */
#ifndef FS_TRAIN_SAMPLER_H
#define FS_TRAIN_SAMPLER_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/base/rng.h"
#include "node/data/dataset.h"

#define SAMPLER_MAX_TEMPERATURE 4.0

typedef struct {
    int n;             // images to draw
    uint64_t seed;     // latent seed
    int max_batch;     // images per forward pass
    // The latent's standard deviation: 1 draws from the distribution the
    // generator was trained on; below 1 is reduced-temperature sampling
    // (Kingma & Dhariwal 2018; BigGAN's truncation trick is its cousin),
    // which trades diversity for more typical samples (docs/results.md
    // measures what it buys the central GAN: nothing).  A score taken below 1 is
    // not the model's faithful score and must say so.
    float temperature;
} sampler_opts_t;

// n, seed and max_batch, at temperature 1.
sampler_opts_t sampler_opts(int n, uint64_t seed, int max_batch);

// k latents from N(0, I) scaled by the temperature (the kinds' draws, in
// model_kind.h).  At temperature 1 the scaling is skipped, so the draws are
// bit-identical to gan_generate's and cvae_generate's.
void sampler_latents(rng_t *rng, float *z, size_t k, float temperature);

// Draws opts->n images from the generator at path, opts->max_batch at a
// time, by the draw of the file's kind (model_kind.h); *out is a new data
// set (labelled for a CVAE).  A temperature outside (0,
// SAMPLER_MAX_TEMPERATURE] is refused.
int sampler_draw(const char *path, const sampler_opts_t *opts, dataset_t **out, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
