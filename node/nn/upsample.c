/* upsample.c - nearest-neighbour upsampling by 2: every input pixel becomes
 * a 2x2 block of itself,
 *
 *     y[c, 2i + a, 2j + b] = x[c, i, j],   a, b in {0, 1},
 *
 * and backwards each input pixel collects the sum of its block's gradients.
 * Followed by a stride-1 convolution it is the generator's upsampling that
 * Odena et al. (2016, "Deconvolution and checkerboard artifacts") propose
 * instead of a stride-2 transposed convolution: every output pixel sees the
 * same number of kernel taps, so there is no checkerboard for training to
 * cancel out.  No parameters.
 *
 * Channel-major input only ([C x n*H*W]): each of the C*n planes is
 * upsampled on its own, so the layout is unchanged.
 */
#include <assert.h>

#include "node/nn/layer.h"
#include "node/nn/parallel.h"

#define UPSAMPLE_GRAIN 16 // planes per thread at least

typedef struct {
    int h, w;       // input plane
    const float *in;
    float *out;
} s_up_t;

static void s_forward_range(void *arg, size_t begin, size_t end)
{
    const s_up_t *p = arg;
    const size_t in_plane = (size_t)p->h * p->w, out_w = 2 * (size_t)p->w;
    for (size_t k = begin; k < end; k++) {
        const float *x = p->in + k * in_plane;
        float *y = p->out + k * 4 * in_plane;
        for (int i = 0; i < p->h; i++) {
            float *row0 = y + 2 * (size_t)i * out_w, *row1 = row0 + out_w;
            for (int j = 0; j < p->w; j++) {
                const float v = x[(size_t)i * p->w + j];
                row0[2 * j] = row0[2 * j + 1] = row1[2 * j] = row1[2 * j + 1] = v;
            }
        }
    }
}

static void s_backward_range(void *arg, size_t begin, size_t end)
{
    const s_up_t *p = arg;
    const size_t in_plane = (size_t)p->h * p->w, out_w = 2 * (size_t)p->w;
    for (size_t k = begin; k < end; k++) {
        const float *dy = p->in + k * 4 * in_plane;
        float *dx = p->out + k * in_plane;
        for (int i = 0; i < p->h; i++) {
            const float *row0 = dy + 2 * (size_t)i * out_w, *row1 = row0 + out_w;
            for (int j = 0; j < p->w; j++) {
                dx[(size_t)i * p->w + j] =
                    (row0[2 * j] + row0[2 * j + 1]) + (row1[2 * j] + row1[2 * j + 1]);
            }
        }
    }
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    s_up_t p = {l->in_h, l->in_w, x, y};
    parallel_for((size_t)l->in_c * n, UPSAMPLE_GRAIN, s_forward_range, &p);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy, float *dx,
                       int n)
{
    (void)x;
    (void)y;
    if (!dx) {
        return; // no parameters: nothing to accumulate
    }
    s_up_t p = {l->in_h, l->in_w, dy, dx};
    parallel_for((size_t)l->in_c * n, UPSAMPLE_GRAIN, s_backward_range, &p);
}

static const layer_ops_t s_ops = {"upsample", s_forward, s_backward};

void upsample_init(layer_t *l, int c, int h, int w, layout_t layout)
{
    assert(layout == LAYOUT_CHANNEL_MAJOR);
    l->kind = LAYER_UPSAMPLE;
    l->ops = &s_ops;
    l->in_c = l->out_c = c;
    l->in_h = h;
    l->in_w = w;
    l->out_h = 2 * h;
    l->out_w = 2 * w;
    l->in_layout = l->out_layout = layout;
    l->in_place = false;
}
