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
