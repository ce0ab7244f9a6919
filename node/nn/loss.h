/* loss.h - losses and their gradients, averaged over the batch.
 *
 * Each returns the mean loss over n samples and, when grad is not NULL,
 * writes dLoss/dInput (already divided by n) into grad.  Sums run in double.
 *
 * Usage: see tests/nn/test_loss.c
 */
#ifndef FS_NN_LOSS_H
#define FS_NN_LOSS_H

#include <stddef.h>
#include <stdint.h>

// Binary cross-entropy from logits z against targets t in [0,1], computed as
// max(z,0) - z t + log(1 + exp(-|z|)) so it never overflows; k outputs per
// sample.  Also the Bernoulli negative log-likelihood of a decoder.
double loss_bce_logits(const float *z, const float *t, int n, int k, float *grad);

// The hinge loss of a GAN's discriminator (Lim & Ye 2017; Miyato et al.
// 2018, SN-GAN): max(0, 1 - z) for a target of 1 (real), max(0, 1 + z) for
// 0 (fake); one logit per sample.  Its generator's side is loss_hinge_g.
double loss_hinge_d(const float *z, const float *t, int n, float *grad);
// The generator's side of the hinge GAN: -z, one logit per sample.
double loss_hinge_g(const float *z, int n, float *grad);

// The mode-seeking term of MSGAN (Mao et al. 2019): n generated samples of
// k values in pairs (rows 2j and 2j + 1, one label), drawn from latents z
// of d values; lz is the pairs' mean |x1 - x2| over their mean |z1 - z2|,
// and the loss is 1 / (lz + 1e-5), smaller the more the pairs differ.
// grad (n x k, when not NULL) gets dLoss/dx; an odd last row gets 0.
double loss_mode_seeking(const float *x, const float *z, int n, int k, int d, float *grad);

// Squared error summed over the k features of a sample, averaged over n.
double loss_mse(const float *y, const float *t, int n, int k, float *grad);

// KL(N(mu, exp(logvar)) || N(0, 1)) summed over d latents, averaged over n;
// gradients go to grad_mu and grad_logvar.
double loss_kl_normal(const float *mu, const float *logvar, int n, int d,
                      float *grad_mu, float *grad_logvar);

// Softmax cross-entropy of logits [n x k] against integer labels.
double loss_softmax_xent(const float *logits, const uint8_t *labels, int n, int k,
                         float *grad);

#endif
