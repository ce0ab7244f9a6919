/* adam.h - the Adam optimiser over one flat parameter vector.
 *
 * The moments are vectors parallel to the model's parameters; the state is
 * allocated once.  Usage: see tests/nn/test_adam.c
 */
#ifndef FS_NN_ADAM_H
#define FS_NN_ADAM_H

#include <stddef.h>

typedef struct {
    float lr, beta1, beta2, eps; // hyper-parameters
    long t;                      // steps taken
    size_t n;                    // parameter count
    float *m, *v;                // first and second moments
} adam_t;

// Keras's defaults are lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7.
adam_t *adam_new(size_t n, float lr, float beta1, float beta2, float eps);
void adam_destroy(adam_t **self_p);
// params -= lr * mhat / (sqrt(vhat) + eps) with bias-corrected moments.
void adam_step(adam_t *a, float *params, const float *grads);
// Forgets the moments (after the federation replaces the weights).
void adam_reset(adam_t *a);

#endif
