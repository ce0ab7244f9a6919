/* layer.c - shape helpers and parameter initialisation shared by layers. */
#include "node/nn/layer.h"

#include <math.h>

size_t layer_in_size(const layer_t *l) { return (size_t)l->in_c * l->in_h * l->in_w; }

size_t layer_out_size(const layer_t *l) { return (size_t)l->out_c * l->out_h * l->out_w; }

size_t conv_ws_per_image(const layer_t *l)
{
    const size_t kk = (size_t)l->kh * l->kw;
    switch (l->kind) {
    case LAYER_CONV2D:
        return l->gather_mode ? (size_t)l->out_c * kk * l->in_h * l->in_w
                              : (size_t)l->in_c * kk * l->out_h * l->out_w;
    case LAYER_CONV2D_T: {
        size_t backward = (size_t)l->out_c * kk * l->in_h * l->in_w;
        size_t forward = conv2d_t_forward_ws_per_image(l);
        return backward > forward ? backward : forward;
    }
    default:
        return 0;
    }
}

size_t conv_ws_fixed(const layer_t *l) { return l->kind == LAYER_CONV2D_T ? l->n_weights : 0; }

void layer_init_params(layer_t *l, rng_t *rng)
{
    if (l->n_weights == 0) {
        return;
    }
    double fan_in, fan_out;
    if (l->kind == LAYER_DENSE) {
        fan_in = l->in_c;
        fan_out = l->out_c;
    } else {
        const double kk = (double)l->kh * l->kw;
        fan_in = l->in_c * kk;
        fan_out = l->out_c * kk;
    }
    // Glorot uniform, Keras's default kernel initialiser
    const double limit = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < l->n_weights; i++) {
        l->w[i] = (float)((2.0 * rng_uniform(rng) - 1.0) * limit);
    }
    for (size_t i = 0; i < l->n_bias; i++) {
        l->b[i] = 0;
    }
}
