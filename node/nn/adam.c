/* adam.c - Adam (Kingma and Ba, 2015), as in Keras (see adam.h). */
#include "node/nn/adam.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

adam_t *adam_new(size_t n, float lr, float beta1, float beta2, float eps)
{
    adam_t *a = xcalloc(1, sizeof *a);
    a->lr = lr;
    a->beta1 = beta1;
    a->beta2 = beta2;
    a->eps = eps;
    a->n = n;
    a->m = xfloats(n);
    a->v = xfloats(n);
    return a;
}

void adam_destroy(adam_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->m);
        free((*self_p)->v);
        free(*self_p);
        *self_p = NULL;
    }
}

void adam_step(adam_t *a, float *params, const float *grads)
{
    a->t++;
    const float b1 = a->beta1, b2 = a->beta2;
    // fold both bias corrections into the step size, as Keras does
    const double c1 = 1.0 - pow(b1, (double)a->t);
    const double c2 = 1.0 - pow(b2, (double)a->t);
    const float step = (float)((double)a->lr * sqrt(c2) / c1);
    const float eps = (float)((double)a->eps * sqrt(c2));
    for (size_t i = 0; i < a->n; i++) {
        float g = grads[i];
        float m = b1 * a->m[i] + (1 - b1) * g;
        float v = b2 * a->v[i] + (1 - b2) * g * g;
        a->m[i] = m;
        a->v[i] = v;
        params[i] -= step * m / (sqrtf(v) + eps);
    }
}

void adam_reset(adam_t *a)
{
    a->t = 0;
    memset(a->m, 0, sizeof(float) * a->n);
    memset(a->v, 0, sizeof(float) * a->n);
}
