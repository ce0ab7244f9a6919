/* widen.h - copying a trained network into a larger twin that computes the
 * same function (function-preserving growth, as Net2Net: Chen et al. 2016).
 *
 * The two models have the same layers.  The first layer with parameters
 * may take more inputs (a dense layer more features, a convolution more
 * channels) and the last one may give more outputs (more features or
 * channels); every other layer's parameters are the same size.  Each weight
 * of `from` is copied to where the same input meets the same output in
 * `to`; the extra inputs' weights and the extra outputs' weights and biases
 * are zero.  So `to` computes what `from` computes, whatever the extra
 * inputs hold, and its extra outputs are 0, until training moves them.
 * fedsyn grows the paper's GAN into its conditional twin this way (the
 * generator's extra inputs: the one-hot label; the discriminator's extra
 * outputs: the labels' projection rows), so that a conditional GAN can
 * start from a trained one.
 *
 * Usage: see tests/train/test_gan_train.c (test_conditional_gan_from_trained)
 */
#ifndef FS_NN_WIDEN_H
#define FS_NN_WIDEN_H

#include "node/base/err.h"
#include "node/nn/model.h"

// FS_EINVAL, naming the layer, when the models differ otherwise.
int model_grow(const model_t *from, model_t *to, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
