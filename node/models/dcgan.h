/* dcgan.h - the FedSyn paper's DCGAN (Keras), with a width parameter.
 *
 * Generator: z(100) -> Dense(7*7*W) + LeakyReLU(0.2) -> reshape W x 7 x 7
 *   -> Conv2DTranspose(W, 4x4, s2, same) + LeakyReLU(0.2)
 *   -> Conv2DTranspose(W, 4x4, s2, same) + LeakyReLU(0.2)
 *   -> Conv2D(C, 7x7, same) + sigmoid.     W = 128: 1,164,289 parameters.
 * Discriminator: Conv2D(V, 3x3, s2, same) + LeakyReLU(0.2) + Dropout(0.4)
 *   -> Conv2D(V, 3x3, s2, same) + LeakyReLU(0.2) + Dropout(0.4)
 *   -> Flatten -> Dense(1).                V = 64: 40,705 parameters.
 * Conditional variant (classes = K > 0, beyond the paper): the generator
 * takes z followed by a one-hot label (latent + K inputs), Mirza &
 * Osindero's conditional GAN, and the discriminator gets a projection head
 * (Miyato & Koyama 2018): its dense layer has 1 + K outputs, and the logit
 * for an image of label y is out[0] + out[1 + y], the unconditional score
 * plus the label's embedding (row 1 + y) dotted with the features.  Label
 * planes concatenated to the image (the older recipe; first tried here,
 * with fake labels drawn uniformly) conditioned D too weakly: grown from
 * the trained GAN, its generator drew its labels 13.7% of the time after an
 * epoch (chance: 10%), and from scratch it collapsed to black images within
 * its first epoch (docs/results.md).
 * The same label rows can also be read as a classifier's logits (an
 * auxiliary classifier, dcgan_d_class_loss): fedsyn's recipe trains D to
 * classify real images with them and G to make its fakes classified as
 * their labels, which made G follow its labels within a few hundred
 * iterations (docs/results.md).
 * K = 0 is the paper's unconditional GAN.
 * g_upsample 1 (beyond the paper) replaces G's two Conv2DTranspose layers
 * by UpSampling2D(2, nearest) -> Conv2D(W, 3x3, same) and UpSampling2D(2,
 * nearest) -> Conv2D(W/2, 3x3, same).
 * The discriminator outputs a logit: its sigmoid is folded into the loss
 * (BCE from logits) and applied by dcgan_d_probability where a probability
 * is wanted.  Images are C x H x W in [0, 1] with H, W divisible by 4.
 *
 * Usage: see tests/train/test_gan_train.c (test_gan_train_usage)
 */
#ifndef FS_MODELS_DCGAN_H
#define FS_MODELS_DCGAN_H

#include <stdint.h>

#include "node/nn/model.h"

#define DCGAN_LATENT 100
#define DCGAN_G_WIDTH 128
#define DCGAN_D_WIDTH 64

typedef struct {
    int latent;          // size of z (100)
    int g_width;         // generator channels (128 in the paper)
    int d_width;         // discriminator channels (64 in the paper)
    int img_c, img_h, img_w; // image shape (1 x 28 x 28 for MNIST)
    int classes;         // 0: unconditional (the paper); K: conditioned on K labels
    float d_dropout;     // the discriminator's dropout rate (0.4); changes no weight
    int g_pixel_norm;    // 1: pixel norm after each of G's hidden layers (beyond
                         // the paper; no weights, so the sizes stay the same)
    int g_upsample;      // 0: G doubles its size with Conv2DTranspose(W, 4x4, s2)
                         // (the paper); 1: with a nearest-neighbour 2x upsample
                         // then Conv2D(3x3, same), W channels then W/2 (Odena
                         // et al. 2016: no checkerboard)
    int d_mbstd;         // 1: D's features get the minibatch standard deviation
                         // (Karras et al. 2018) before its dense layer: one
                         // more weight per output
    int d_twin;          // conditional only: 1: D's dense layer has K more
                         // rows, a twin classifier of the fakes (Gong et al.
                         // 2019, TAC-GAN; dcgan_d_twin_loss)
    int g_linear;        // 1: G's last convolution is its output, no sigmoid
                         // (as StyleGAN's): no saturating unit can hold G's
                         // images at black; gan_decode clamps to [0, 1]
} dcgan_config_t;

#define DCGAN_D_DROPOUT 0.4f

#define DCGAN_MAX_CLASSES 256

// The paper's configuration for 1 x 28 x 28 images.
dcgan_config_t dcgan_config_paper(void);
// Paper architecture with generator width w and discriminator width w/2.
dcgan_config_t dcgan_config_width(int w);

// The generator's input for n samples: each latent (cfg->latent floats of
// z) followed by the one-hot of its label; out holds n x (latent + classes).
// With classes 0 it copies z.
void dcgan_pack_latent(const dcgan_config_t *cfg, const float *z, const uint8_t *labels,
                       int n, float *out);
// Floats of D's raw output per image: 1 + classes, plus classes for the
// twin classifier.
size_t dcgan_d_out_width(const dcgan_config_t *cfg);
// The discriminator's logit for each of n images from its raw output (n x
// dcgan_d_out_width): out[0] + out[1 + label] (labels unused when classes is 0).
void dcgan_d_logits(const dcgan_config_t *cfg, const float *out, const uint8_t *labels, int n,
                    float *logits);
// The raw output's gradient from the logits' gradient (its transpose).
void dcgan_d_logits_grad(const dcgan_config_t *cfg, const float *dlogits,
                         const uint8_t *labels, int n, float *dout);

// The auxiliary classifier's loss (Odena et al. 2017, AC-GAN) on the label
// rows of n raw outputs: softmax cross-entropy of out[1..K] against the
// labels, averaged over n.  When dout is not NULL, adds weight times its
// gradient to dout's label rows (the score's column is left as it is), so
// it stacks on dcgan_d_logits_grad.  Conditional configurations only.
// allowed (NULL: every label) restricts the softmax to the labels it marks
// (allowed[j] != 0), each image's own among them: FedRS's restricted
// softmax (Li & Zhan 2021), with which a member of a label-split
// federation pushes down no logit of a label it never sees; the others'
// rows get no gradient.
double dcgan_d_class_loss(const dcgan_config_t *cfg, const float *out, const uint8_t *labels,
                          int n, float weight, float *dout, const uint8_t *allowed);
// The same on the twin classifier's rows out[1+K..2K] (d_twin only).  TAC-GAN
// trains the twin on G's fakes (D's step, weight > 0) and has G maximise
// its loss (G's step, weight < 0): G's pull towards images the classifier
// of real data is sure of is then offset by the twin's, which removes AC-GAN's
// bias towards a few easy images per label.
double dcgan_d_twin_loss(const dcgan_config_t *cfg, const float *out, const uint8_t *labels,
                         int n, float weight, float *dout);

model_t *dcgan_generator_new(const dcgan_config_t *cfg, int max_batch, uint64_t seed);
model_t *dcgan_discriminator_new(const dcgan_config_t *cfg, int max_batch, uint64_t seed);

#endif
