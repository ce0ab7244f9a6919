/* reshape.c - converts a batch between batch-first [n x c x hw] and
 * channel-major [c x n x hw] layouts (see layer.h).  The per-sample shape
 * is unchanged: a dense layer's c*h*w outputs become c planes of h x w
 * (PyTorch's view order).  With one channel the layouts are the same bytes,
 * so the layer is in place and does nothing.
 */
#include <string.h>

#include "node/nn/layer.h"

static void s_permute(const float *src, float *dst, int n, int c, size_t hw,
                      bool to_channel_major)
{
    for (int i = 0; i < n; i++) {
        for (int ch = 0; ch < c; ch++) {
            const size_t bf = ((size_t)i * c + ch) * hw;  // batch-first offset
            const size_t cm = ((size_t)ch * n + i) * hw;  // channel-major offset
            if (to_channel_major) {
                memcpy(dst + cm, src + bf, sizeof(float) * hw);
            } else {
                memcpy(dst + bf, src + cm, sizeof(float) * hw);
            }
        }
    }
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    if (l->in_place) {
        return;
    }
    s_permute(x, y, n, l->in_c, (size_t)l->in_h * l->in_w,
              l->out_layout == LAYOUT_CHANNEL_MAJOR);
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy,
                       float *dx, int n)
{
    (void)x;
    (void)y;
    if (l->in_place || !dx) {
        return;
    }
    s_permute(dy, dx, n, l->in_c, (size_t)l->in_h * l->in_w,
              l->in_layout == LAYOUT_CHANNEL_MAJOR);
}

static const layer_ops_t s_ops = {"reshape", s_forward, s_backward};

void reshape_init(layer_t *l, int c, int h, int w, layout_t from, layout_t to)
{
    l->kind = LAYER_RESHAPE;
    l->ops = &s_ops;
    l->in_c = l->out_c = c;
    l->in_h = l->out_h = h;
    l->in_w = l->out_w = w;
    l->in_layout = from;
    l->out_layout = to;
    l->in_place = (c == 1 || from == to);
}
