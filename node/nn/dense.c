/* dense.c - fully connected layer, y = x W^T + b, batch-first.
 *
 * W is [out x in] (PyTorch's order), so the forward product is one sgemm
 * with B transposed; the backward pass is two sgemms and a column sum.
 */
#include <assert.h>

#include "node/nn/blas.h"
#include "node/nn/layer.h"

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    const int in = l->in_c, out = l->out_c;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < out; j++) {
            y[(size_t)i * out + j] = l->b[j];
        }
    }
    blas_gemm(false, true, n, out, in, 1.0f, x, in, l->w, in, 1.0f, y, out);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy,
                       float *dx, int n)
{
    (void)y;
    const int in = l->in_c, out = l->out_c;
    if (!l->skip_param_grads) {
        blas_gemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, l->dw, in);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < out; j++) {
                l->db[j] += dy[(size_t)i * out + j];
            }
        }
    }
    if (dx) {
        blas_gemm(false, false, n, in, out, 1.0f, dy, out, l->w, in, 0.0f, dx, in);
    }
}

static const layer_ops_t s_ops = {"dense", s_forward, s_backward};

void dense_init(layer_t *l, int in_features, int out_features)
{
    assert(in_features > 0 && out_features > 0);
    l->kind = LAYER_DENSE;
    l->ops = &s_ops;
    l->in_c = in_features;
    l->in_h = l->in_w = 1;
    l->out_c = out_features;
    l->out_h = l->out_w = 1;
    l->in_layout = l->out_layout = LAYOUT_BATCH_FIRST;
    l->n_weights = (size_t)in_features * out_features;
    l->n_bias = (size_t)out_features;
}
