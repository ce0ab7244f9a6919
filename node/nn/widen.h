/* widen.h - copying a trained network into one whose first layer takes
 * more inputs (function-preserving growth, as Net2Net: Chen et al. 2016).
 *
 * The two models have the same layers; only the first layer with
 * parameters may differ, a dense layer with more input features or a
 * convolution with more input channels.  Every weight from `from` is copied
 * to where the same input meets the same output in `to`, and the weights of
 * the extra inputs are zero: `to` computes exactly what `from` computes,
 * whatever the extra inputs hold, until training moves those weights.
 * fedsyn grows the paper's GAN into its conditional twin this way (extra
 * inputs: the one-hot label of the generator, the label planes of the
 * discriminator), so that a conditional GAN can start from a trained one.
 *
 * Usage: see tests/train/test_gan_train.c (test_conditional_gan_from_trained)
 */
#ifndef FS_NN_WIDEN_H
#define FS_NN_WIDEN_H

#include "node/base/err.h"
#include "node/nn/model.h"

// FS_EINVAL, naming the layer, when the models differ otherwise.
int model_widen_inputs(const model_t *from, model_t *to, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
