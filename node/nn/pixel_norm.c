/* pixel_norm.c - pixelwise feature normalisation (Karras et al. 2018,
 * "Progressive growing of GANs", section 4.2): each pixel's feature vector
 * divided by its root mean square over the channels,
 *
 *     y[c, p] = x[c, p] * r[p],   r[p] = (mean_c x[c, p]^2 + eps)^(-1/2).
 *
 * It has no parameters and no state and looks at one sample at a time, so
 * it behaves the same for any batch, in training and in sampling, and there
 * is nothing in it for FedAvg to average badly (batch normalisation's
 * running statistics would be one more thing members disagree on).  In a
 * generator it keeps the features' scale from running away, which is what
 * lets a small GAN learn quickly without its output saturating.
 *
 * Backward, with y = x r:  dx[k] = r (dy[k] - y[k] mean_c(y[c] dy[c])).
 *
 * Channel-major input only ([C x n*H*W]: the convolutions' layout).  Not
 * in place: the backward pass reads x to recompute r.
 */
#include <assert.h>
#include <math.h>

#include "node/nn/layer.h"
#include "node/nn/parallel.h"

#define PIXEL_NORM_EPS 1e-8f
#define PIXEL_BLOCK 256   // positions normalised together (a stack buffer)
#define PIXEL_GRAIN 1024  // positions per thread at least

typedef struct {
    const layer_t *l;
    const float *x, *y, *dy;
    float *out;
    size_t positions; // n * H * W: the channel stride
} s_pn_t;

// r for positions [p0, p0 + m) into r[0..m).
static void s_inverse_rms(const float *x, int channels, size_t stride, size_t p0, size_t m,
                          float *r)
{
    for (size_t j = 0; j < m; j++) {
        r[j] = 0;
    }
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * stride + p0;
        for (size_t j = 0; j < m; j++) {
            r[j] += xc[j] * xc[j];
        }
    }
    const float inv_c = 1.0f / (float)channels;
    for (size_t j = 0; j < m; j++) {
        r[j] = 1.0f / sqrtf(r[j] * inv_c + PIXEL_NORM_EPS);
    }
}

static void s_forward_range(void *arg, size_t begin, size_t end)
{
    const s_pn_t *p = arg;
    const int channels = p->l->in_c;
    float r[PIXEL_BLOCK];
    for (size_t p0 = begin; p0 < end; p0 += PIXEL_BLOCK) {
        const size_t m = end - p0 < PIXEL_BLOCK ? end - p0 : PIXEL_BLOCK;
        s_inverse_rms(p->x, channels, p->positions, p0, m, r);
        for (int c = 0; c < channels; c++) {
            const size_t o = (size_t)c * p->positions + p0;
            for (size_t j = 0; j < m; j++) {
                p->out[o + j] = p->x[o + j] * r[j];
            }
        }
    }
}

static void s_backward_range(void *arg, size_t begin, size_t end)
{
    const s_pn_t *p = arg;
    const int channels = p->l->in_c;
    float r[PIXEL_BLOCK], dot[PIXEL_BLOCK];
    for (size_t p0 = begin; p0 < end; p0 += PIXEL_BLOCK) {
        const size_t m = end - p0 < PIXEL_BLOCK ? end - p0 : PIXEL_BLOCK;
        s_inverse_rms(p->x, channels, p->positions, p0, m, r);
        for (size_t j = 0; j < m; j++) {
            dot[j] = 0;
        }
        for (int c = 0; c < channels; c++) {
            const size_t o = (size_t)c * p->positions + p0;
            for (size_t j = 0; j < m; j++) {
                dot[j] += p->y[o + j] * p->dy[o + j];
            }
        }
        const float inv_c = 1.0f / (float)channels;
        for (int c = 0; c < channels; c++) {
            const size_t o = (size_t)c * p->positions + p0;
            for (size_t j = 0; j < m; j++) {
                p->out[o + j] = r[j] * (p->dy[o + j] - p->y[o + j] * dot[j] * inv_c);
            }
        }
    }
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    s_pn_t p = {l, x, NULL, NULL, y, (size_t)n * l->in_h * l->in_w};
    parallel_for(p.positions, PIXEL_GRAIN, s_forward_range, &p);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy, float *dx,
                       int n)
{
    if (!dx) {
        return; // no parameters: nothing to accumulate
    }
    s_pn_t p = {l, x, y, dy, dx, (size_t)n * l->in_h * l->in_w};
    parallel_for(p.positions, PIXEL_GRAIN, s_backward_range, &p);
}

static const layer_ops_t s_ops = {"pixel_norm", s_forward, s_backward};

void pixel_norm_init(layer_t *l, int c, int h, int w, layout_t layout)
{
    assert(layout == LAYOUT_CHANNEL_MAJOR);
    l->kind = LAYER_PIXEL_NORM;
    l->ops = &s_ops;
    l->in_c = l->out_c = c;
    l->in_h = l->out_h = h;
    l->in_w = l->out_w = w;
    l->in_layout = l->out_layout = layout;
    l->in_place = false;
}
