/* cvae.h - GenFL's conditional variational autoencoder.
 *
 * The GenFL poster names a CVAE without its layers; fedsyn uses the common
 * fully connected one (Sohn et al. 2015; Kingma & Welling 2014):
 *   encoder: [x (784) ++ onehot(y) (10)] -> Dense(H) + LeakyReLU(0.2)
 *            -> Dense(2Z) = [mu, log sigma^2]
 *   decoder: [z (Z) ++ onehot(y)] -> Dense(H) + LeakyReLU(0.2)
 *            -> Dense(784) (logits of a Bernoulli per pixel)
 * with H = 400 and Z = 20 by default ("cvae:400": 660,824 parameters).  The
 * federation averages the one flat vector encoder ++ decoder.
 *
 * Usage: see tests/train/test_cvae_train.c
 */
#ifndef FS_MODELS_CVAE_H
#define FS_MODELS_CVAE_H

#include <stdint.h>

#include "node/nn/model.h"

#define CVAE_HIDDEN 400
#define CVAE_LATENT 20
#define CVAE_CLASSES 10

typedef struct {
    int hidden;              // H
    int latent;              // Z
    int classes;             // labels (10)
    int img_c, img_h, img_w; // image shape (1 x 28 x 28)
} cvae_config_t;

// MNIST-shaped CVAE with hidden width h.
cvae_config_t cvae_config_hidden(int h);
model_t *cvae_encoder_new(const cvae_config_t *cfg, int max_batch, uint64_t seed);
model_t *cvae_decoder_new(const cvae_config_t *cfg, int max_batch, uint64_t seed);
// Pixels per image.
int cvae_image_size(const cvae_config_t *cfg);

#endif
