/* conv2d_transpose.c - transposed ("fractionally strided") convolution.
 *
 * The exact adjoint of conv2d with the same geometry.  Weights are
 * [in_c][out_c][kh][kw] (PyTorch's order), so W is one
 * [in_c x out_c*kh*kw] matrix.  'same' padding gives out = in * s, with the
 * padding Keras derives from the adjoint convolution.
 *
 * Forward, by output phase ("sub-pixel"): the output pixels whose row is
 * r mod s and column c mod s draw on a fixed subset of the kernel taps, at
 * fixed offsets into the input, so each of the s*s phases is an ordinary
 * stride-1 convolution of the input with a small kernel: im2col of the
 * input, one sgemm with K = in_c * taps, and a strided copy into the
 * output.  The textbook route (col = W^T x, then col2im) gives an sgemm
 * with K = in_c and an out_c*kh*kw-row result that has to be zeroed,
 * written and scattered back: on the FedSyn generator, col2im and that
 * zeroing took 17% of a training step's perf samples (docs/engine.md).
 *
 * Backward: im2col of dy and two sgemms (dW = x col^T, dx = W col).
 */
#include <assert.h>
#include <string.h>

#include "node/nn/blas.h"
#include "node/nn/channel.h"
#include "node/nn/layer.h"
#include "node/nn/parallel.h"

// One axis of one phase: output rows a*s + r (a < n_out) use kernel rows
// k_j = r + pad - s*(o_min + j), j < taps, at input rows a + o_min + j.
typedef struct {
    int taps, o_min, n_out;
} s_axis_t;

static int s_floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static s_axis_t s_axis(int r, int s, int k, int pad, int out)
{
    s_axis_t p;
    // o ranges over the offsets with 0 <= r + pad - s*o < k
    int o_max = s_floor_div(r + pad, s);
    p.o_min = -s_floor_div(k - 1 - r - pad, s); // ceil((r + pad - k + 1) / s)
    p.taps = o_max >= p.o_min ? o_max - p.o_min + 1 : 0;
    p.n_out = out > r ? (out - r + s - 1) / s : 0;
    return p;
}

static int s_tap(const s_axis_t *p, int r, int s, int pad, int j)
{
    return r + pad - s * (p->o_min + j);
}

size_t conv2d_t_forward_ws_per_image(const layer_t *l)
{
    size_t most = 0;
    for (int ry = 0; ry < l->stride; ry++) {
        s_axis_t py = s_axis(ry, l->stride, l->kh, l->geom.pad_top, l->out_h);
        for (int rx = 0; rx < l->stride; rx++) {
            s_axis_t px = s_axis(rx, l->stride, l->kw, l->geom.pad_left, l->out_w);
            size_t rows = (size_t)l->in_c * py.taps * px.taps + (size_t)l->out_c;
            size_t need = rows * py.n_out * px.n_out;
            most = need > most ? need : most;
        }
    }
    return most;
}

typedef struct {
    const float *yp; // phase result, [out_c x ld]
    size_t ld, p_phase, cs_out, p_out;
    float *y;        // first image of the chunk in the output
    int nc, ha, wa, s, ry, rx, out_w;
} s_place_t;

// y[co, img, a*s+ry, b*s+rx] = yp[co, img, a, b] for channels [begin, end)
static void s_place(void *arg, size_t begin, size_t end)
{
    const s_place_t *p = arg;
    for (size_t co = begin; co < end; co++) {
        for (int i = 0; i < p->nc; i++) {
            const float *src = p->yp + co * p->ld + (size_t)i * p->p_phase;
            float *dst = p->y + co * p->cs_out + (size_t)i * p->p_out;
            for (int a = 0; a < p->ha; a++) {
                float *row = dst + (size_t)(a * p->s + p->ry) * p->out_w + p->rx;
                const float *in = src + (size_t)a * p->wa;
                for (int b = 0; b < p->wa; b++) {
                    row[(size_t)b * p->s] = in[b];
                }
            }
        }
    }
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    const int s = l->stride, pt = l->geom.pad_top, pl = l->geom.pad_left;
    const size_t p_in = (size_t)l->in_h * l->in_w, p_out = (size_t)l->out_h * l->out_w;
    const size_t cs_in = (size_t)n * p_in, cs_out = (size_t)n * p_out;
    // the phases' weights, repacked once per call: wp[co][(ci, j, i)]
    float *wp_all = l->ws, *work = l->ws + l->n_weights;
    size_t wp_off = 0;
    for (int ry = 0; ry < s; ry++) {
        s_axis_t py = s_axis(ry, s, l->kh, pt, l->out_h);
        for (int rx = 0; rx < s; rx++) {
            s_axis_t px = s_axis(rx, s, l->kw, pl, l->out_w);
            float *wp = wp_all + wp_off;
            const size_t kp = (size_t)l->in_c * py.taps * px.taps;
            for (int co = 0; co < l->out_c; co++) {
                float *dst = wp + (size_t)co * kp;
                for (int ci = 0; ci < l->in_c; ci++) {
                    const float *src = l->w + ((size_t)ci * l->out_c + co) * l->kh * l->kw;
                    for (int j = 0; j < py.taps; j++) {
                        const int ky = s_tap(&py, ry, s, pt, j);
                        for (int i = 0; i < px.taps; i++) {
                            *dst++ = src[ky * l->kw + s_tap(&px, rx, s, pl, i)];
                        }
                    }
                }
            }
            wp_off += (size_t)l->out_c * kp;
        }
    }
    assert(wp_off <= l->n_weights);
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        const int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        wp_off = 0;
        for (int ry = 0; ry < s; ry++) {
            s_axis_t py = s_axis(ry, s, l->kh, pt, l->out_h);
            for (int rx = 0; rx < s; rx++) {
                s_axis_t px = s_axis(rx, s, l->kw, pl, l->out_w);
                const size_t kp = (size_t)l->in_c * py.taps * px.taps;
                const size_t p_phase = (size_t)py.n_out * px.n_out, ld = (size_t)nc * p_phase;
                if (ld == 0) {
                    continue;
                }
                float *patches = work, *yp = work + kp * ld;
                if (kp == 0) {
                    memset(yp, 0, sizeof(float) * (size_t)l->out_c * ld);
                } else {
                    // the phase's input patches: a stride-1 im2col whose
                    // kernel is this phase's taps, at offsets o_min + j
                    conv_geom_t g = {l->in_c, l->in_h, l->in_w, py.n_out, px.n_out,
                                     py.taps, px.taps, 1, -py.o_min, -px.o_min};
                    im2col_images(&g, x + (size_t)n0 * p_in, p_in, cs_in, patches, p_phase, ld,
                                  nc);
                    blas_gemm(false, false, l->out_c, (int)ld, (int)kp, 1.0f, wp_all + wp_off,
                              (int)kp, patches, (int)ld, 0.0f, yp, (int)ld);
                }
                s_place_t place = {yp, ld, p_phase, cs_out, p_out, y + (size_t)n0 * p_out,
                                   nc, py.n_out, px.n_out, s, ry, rx, l->out_w};
                parallel_for((size_t)l->out_c, 1, s_place, &place);
                wp_off += (size_t)l->out_c * kp;
            }
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
    const int m = l->out_c * l->kh * l->kw;
    for (int n0 = 0; n0 < n; n0 += l->chunk) {
        int nc = n - n0 < l->chunk ? n - n0 : l->chunk;
        size_t ld = (size_t)nc * p_in;
        im2col_images(&l->geom, dy + (size_t)n0 * p_out, p_out, cs_out, l->ws, p_in, ld, nc);
        if (!l->skip_param_grads) {
            blas_gemm(false, true, l->in_c, m, (int)ld, 1.0f, x + (size_t)n0 * p_in,
                      (int)cs_in, l->ws, (int)ld, 1.0f, l->dw, m);
        }
        if (dx) {
            blas_gemm(false, false, l->in_c, (int)ld, m, 1.0f, l->w, m, l->ws, (int)ld, 0.0f,
                      dx + (size_t)n0 * p_in, (int)cs_in);
        }
    }
    if (!l->skip_param_grads) {
        channel_bias_grad(dy, l->db, l->out_c, cs_out);
    }
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
