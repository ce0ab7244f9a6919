/* conv2d.c - 2-D convolution over a channel-major batch.
 *
 * Two ways to one result, chosen at init by which needs less scratch:
 *  - im2col: col = im2col(x); y = W col  (one sgemm per chunk of images).
 *    Used when the layer has few input channels (the discriminator).
 *  - gather: Z = W_co^T x for each output channel, then y sums Z's rows at
 *    shifted positions.  Used when outputs are few: the generator's last
 *    layer (128 -> 1, 7x7) would need a 6272-row col matrix per pixel with
 *    im2col, but only a 49-row Z with gather.
 * Weights are [out_c][in_c][kh][kw] either way.
 */
#include <assert.h>
#include <string.h>

#include "node/nn/blas.h"
#include "node/nn/channel.h"
#include "node/nn/layer.h"

static conv_geom_t s_gather_geom(const layer_t *l)
{
    conv_geom_t g = l->geom;
    g.c = l->out_c; // Z rows are (out channel, tap)
    return g;
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    const size_t p_in = (size_t)l->in_h * l->in_w, p_out = (size_t)l->out_h * l->out_w;
    const size_t cs_in = (size_t)n * p_in, cs_out = (size_t)n * p_out;
    const int kk = l->kh * l->kw, k = l->in_c * kk;
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        if (!l->gather_mode) {
            size_t ld = (size_t)nc * p_out;
            im2col_images(&l->geom, x + (size_t)n0 * p_in, p_in, cs_in, l->ws, p_out, ld, nc);
            blas_gemm(false, false, l->out_c, (int)ld, k, 1.0f, l->w, k, l->ws, (int)ld,
                      0.0f, y + (size_t)n0 * p_out, (int)cs_out);
        } else {
            conv_geom_t g = s_gather_geom(l);
            size_t ld = (size_t)nc * p_in;
            for (int co = 0; co < l->out_c; co++) {
                blas_gemm(true, false, kk, (int)ld, l->in_c, 1.0f, l->w + (size_t)co * k,
                          kk, x + (size_t)n0 * p_in, (int)cs_in, 0.0f,
                          l->ws + (size_t)co * kk * ld, (int)ld);
            }
            channel_zero_chunk(y, l->out_c, cs_out, (size_t)n0 * p_out, (size_t)nc * p_out);
            im2col_gather_sum_images(&g, l->ws, p_in, ld, y + (size_t)n0 * p_out, p_out, cs_out,
                                     nc);
        }
    }
    channel_bias_add(y, l->b, l->out_c, cs_out);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy,
                       float *dx, int n)
{
    (void)y;
    const size_t p_in = (size_t)l->in_h * l->in_w, p_out = (size_t)l->out_h * l->out_w;
    const size_t cs_in = (size_t)n * p_in, cs_out = (size_t)n * p_out;
    const int kk = l->kh * l->kw, k = l->in_c * kk;
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        const float *dy0 = dy + (size_t)n0 * p_out;
        if (!l->gather_mode) {
            size_t ld = (size_t)nc * p_out;
            if (!l->skip_param_grads) {
                im2col_images(&l->geom, x + (size_t)n0 * p_in, p_in, cs_in, l->ws, p_out, ld,
                              nc);
                blas_gemm(false, true, l->out_c, k, (int)ld, 1.0f, dy0, (int)cs_out, l->ws,
                          (int)ld, 1.0f, l->dw, k);
            }
            if (dx) {
                blas_gemm(true, false, k, (int)ld, l->out_c, 1.0f, l->w, k, dy0,
                          (int)cs_out, 0.0f, l->ws, (int)ld);
                channel_zero_chunk(dx, l->in_c, cs_in, (size_t)n0 * p_in, (size_t)nc * p_in);
                col2im_images(&l->geom, l->ws, p_out, ld, dx + (size_t)n0 * p_in, p_in, cs_in,
                              nc);
            }
        } else {
            conv_geom_t g = s_gather_geom(l);
            size_t ld = (size_t)nc * p_in;
            im2col_scatter_images(&g, dy + (size_t)n0 * p_out, p_out, cs_out, l->ws, p_in, ld,
                                  nc);
            for (int co = 0; co < l->out_c; co++) {
                const float *z = l->ws + (size_t)co * kk * ld;
                if (!l->skip_param_grads) {
                    blas_gemm(false, true, l->in_c, kk, (int)ld, 1.0f, x + (size_t)n0 * p_in,
                              (int)cs_in, z, (int)ld, 1.0f, l->dw + (size_t)co * k, kk);
                }
                if (dx) {
                    blas_gemm(false, false, l->in_c, (int)ld, kk, 1.0f,
                              l->w + (size_t)co * k, kk, z, (int)ld, co == 0 ? 0.0f : 1.0f,
                              dx + (size_t)n0 * p_in, (int)cs_in);
                }
            }
        }
    }
    if (!l->skip_param_grads) {
        channel_bias_grad(dy, l->db, l->out_c, cs_out);
    }
}

static const layer_ops_t s_ops = {"conv2d", s_forward, s_backward};

void conv2d_init(layer_t *l, int in_c, int in_h, int in_w, int out_c, int k,
                 int stride, pad_mode_t pad)
{
    assert(in_c > 0 && out_c > 0 && k > 0 && stride > 0);
    l->kind = LAYER_CONV2D;
    l->ops = &s_ops;
    l->in_c = in_c;
    l->in_h = in_h;
    l->in_w = in_w;
    l->out_c = out_c;
    l->kh = l->kw = k;
    l->stride = stride;
    int pt = 0, pl = 0;
    if (pad == PAD_SAME) {
        l->out_h = (in_h + stride - 1) / stride;
        l->out_w = (in_w + stride - 1) / stride;
        int th = (l->out_h - 1) * stride + k - in_h;
        int tw = (l->out_w - 1) * stride + k - in_w;
        pt = th > 0 ? th / 2 : 0; // Keras/TF put the odd pixel at the bottom
        pl = tw > 0 ? tw / 2 : 0;
    } else {
        assert(in_h >= k && in_w >= k);
        l->out_h = (in_h - k) / stride + 1;
        l->out_w = (in_w - k) / stride + 1;
    }
    l->geom = (conv_geom_t){in_c, in_h, in_w, l->out_h, l->out_w, k, k, stride, pt, pl};
    l->in_layout = l->out_layout = LAYOUT_CHANNEL_MAJOR;
    l->n_weights = (size_t)out_c * in_c * k * k;
    l->n_bias = (size_t)out_c;
    size_t im2col_ws = (size_t)in_c * k * k * l->out_h * l->out_w;
    size_t gather_ws = (size_t)out_c * k * k * in_h * in_w;
    l->gather_mode = gather_ws < im2col_ws;
}
