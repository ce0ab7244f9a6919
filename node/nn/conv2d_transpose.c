/* conv2d_transpose.c - transposed ("fractionally strided") convolution.
 *
 * The exact adjoint of conv2d with the same geometry: col = W^T x, then
 * col2im scatters col into the output; the backward pass is im2col of dy
 * and two sgemms.  Weights are [in_c][out_c][kh][kw] (PyTorch's order), so
 * W is one [in_c x out_c*kh*kw] matrix.  'same' padding gives out = in * s,
 * with the padding Keras derives from the adjoint convolution.
 */
#include <assert.h>

#include "node/nn/blas.h"
#include "node/nn/channel.h"
#include "node/nn/layer.h"

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    const size_t p_in = (size_t)l->in_h * l->in_w, p_out = (size_t)l->out_h * l->out_w;
    const size_t cs_in = (size_t)n * p_in, cs_out = (size_t)n * p_out;
    const int m = l->out_c * l->kh * l->kw;
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        size_t ld = (size_t)nc * p_in;
        blas_gemm(true, false, m, (int)ld, l->in_c, 1.0f, l->w, m, x + (size_t)n0 * p_in,
                  (int)cs_in, 0.0f, l->ws, (int)ld);
        channel_zero_chunk(y, l->out_c, cs_out, (size_t)n0 * p_out, (size_t)nc * p_out);
        col2im_images(&l->geom, l->ws, p_in, ld, y + (size_t)n0 * p_out, p_out, cs_out, nc);
    }
    channel_bias_add(y, l->b, l->out_c, cs_out);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy,
                       float *dx, int n)
{
    (void)y;
    const size_t p_in = (size_t)l->in_h * l->in_w, p_out = (size_t)l->out_h * l->out_w;
    const size_t cs_in = (size_t)n * p_in, cs_out = (size_t)n * p_out;
    const int m = l->out_c * l->kh * l->kw;
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        size_t ld = (size_t)nc * p_in;
        im2col_images(&l->geom, dy + (size_t)n0 * p_out, p_out, cs_out, l->ws, p_in, ld, nc);
        blas_gemm(false, true, l->in_c, m, (int)ld, 1.0f, x + (size_t)n0 * p_in,
                  (int)cs_in, l->ws, (int)ld, 1.0f, l->dw, m);
        if (dx) {
            blas_gemm(false, false, l->in_c, (int)ld, m, 1.0f, l->w, m, l->ws, (int)ld, 0.0f,
                      dx + (size_t)n0 * p_in, (int)cs_in);
        }
    }
    channel_bias_grad(dy, l->db, l->out_c, cs_out);
}

static const layer_ops_t s_ops = {"conv2d_transpose", s_forward, s_backward};

void conv2d_t_init(layer_t *l, int in_c, int in_h, int in_w, int out_c, int k,
                   int stride, pad_mode_t pad)
{
    assert(in_c > 0 && out_c > 0 && k > 0 && stride > 0);
    l->kind = LAYER_CONV2D_T;
    l->ops = &s_ops;
    l->in_c = in_c;
    l->in_h = in_h;
    l->in_w = in_w;
    l->out_c = out_c;
    l->kh = l->kw = k;
    l->stride = stride;
    int pt = 0, pl = 0;
    if (pad == PAD_SAME) {
        l->out_h = in_h * stride;
        l->out_w = in_w * stride;
        int th = (in_h - 1) * stride + k - l->out_h;
        int tw = (in_w - 1) * stride + k - l->out_w;
        pt = th > 0 ? th / 2 : 0;
        pl = tw > 0 ? tw / 2 : 0;
    } else {
        l->out_h = (in_h - 1) * stride + k;
        l->out_w = (in_w - 1) * stride + k;
    }
    // image side = this layer's output, column side = its input positions
    l->geom = (conv_geom_t){out_c, l->out_h, l->out_w, in_h, in_w, k, k, stride, pt, pl};
    l->in_layout = l->out_layout = LAYOUT_CHANNEL_MAJOR;
    l->n_weights = (size_t)in_c * out_c * k * k;
    l->n_bias = (size_t)out_c;
}
