/* activation.c - element-wise layers: LeakyReLU, sigmoid and dropout.
 *
 * All three run in place (y aliases x) and their backward passes run in
 * place on dy, which is why the model needs no activation buffer for them.
 * Backward passes read only y: LeakyReLU keeps the sign of its input, so
 * y > 0 exactly where x > 0; sigmoid's derivative is y (1 - y).
 */
#include <assert.h>
#include <math.h>

#include "node/nn/layer.h"
#include "node/nn/parallel.h"

static size_t s_count(const layer_t *l, int n) { return (size_t)n * layer_out_size(l); }

static void s_shape(layer_t *l, int c, int h, int w, layout_t layout)
{
    l->in_c = l->out_c = c;
    l->in_h = l->out_h = h;
    l->in_w = l->out_w = w;
    l->in_layout = l->out_layout = layout;
    l->in_place = true;
}

// Element-wise passes split by element ranges over the engine's threads
// (parallel.h); each element's arithmetic is the same on any thread count.
#define ELEMENT_GRAIN 32768

typedef struct {
    const float *x, *y, *dy;
    float *out;
    float a;
} s_elem_t;

static void s_leaky_fwd_range(void *arg, size_t begin, size_t end)
{
    const s_elem_t *p = arg;
    const float a = p->a;
    // a select of the factor, not of the value: branch-free, so GCC
    // vectorises it, and v * 1.0f is exactly v
    for (size_t i = begin; i < end; i++) {
        const float v = p->x[i];
        p->out[i] = v * (v > 0 ? 1.0f : a);
    }
}

static void s_leaky_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    s_elem_t p = {x, NULL, NULL, y, l->slope};
    parallel_for(s_count(l, n), ELEMENT_GRAIN, s_leaky_fwd_range, &p);
}

static void s_leaky_bwd_range(void *arg, size_t begin, size_t end)
{
    const s_elem_t *p = arg;
    const float a = p->a;
    for (size_t i = begin; i < end; i++) {
        p->out[i] = p->dy[i] * (p->y[i] > 0 ? 1.0f : a);
    }
}

static void s_leaky_backward(layer_t *l, const float *x, const float *y, float *dy,
                             float *dx, int n)
{
    (void)x;
    s_elem_t p = {NULL, y, dy, dx, l->slope};
    parallel_for(s_count(l, n), ELEMENT_GRAIN, s_leaky_bwd_range, &p);
}

static void s_sigmoid_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    for (size_t i = 0, e = s_count(l, n); i < e; i++) {
        // two branches so exp never overflows
        float v = x[i];
        if (v >= 0) {
            y[i] = 1.0f / (1.0f + expf(-v));
        } else {
            float t = expf(v);
            y[i] = t / (1.0f + t);
        }
    }
}

static void s_sigmoid_backward(layer_t *l, const float *x, const float *y, float *dy,
                               float *dx, int n)
{
    (void)x;
    for (size_t i = 0, e = s_count(l, n); i < e; i++) {
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    }
}

static void s_dropout_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    const size_t e = s_count(l, n);
    if (!training || l->rate <= 0) {
        for (size_t i = 0; i < e; i++) {
            l->mask[i] = 1.0f;
            y[i] = x[i];
        }
        return;
    }
    // inverted dropout (as Keras): kept units are scaled by 1/(1-rate) so
    // inference needs no rescaling
    const float keep = 1.0f / (1.0f - l->rate);
    for (size_t i = 0; i < e; i++) {
        l->mask[i] = rng_uniform(l->rng) < (double)l->rate ? 0.0f : keep;
        y[i] = x[i] * l->mask[i];
    }
}

static void s_dropout_backward(layer_t *l, const float *x, const float *y, float *dy,
                               float *dx, int n)
{
    (void)x;
    (void)y;
    for (size_t i = 0, e = s_count(l, n); i < e; i++) {
        dx[i] = dy[i] * l->mask[i];
    }
}

static const layer_ops_t s_leaky_ops = {"leaky_relu", s_leaky_forward, s_leaky_backward};
static const layer_ops_t s_sigmoid_ops = {"sigmoid", s_sigmoid_forward, s_sigmoid_backward};
static const layer_ops_t s_dropout_ops = {"dropout", s_dropout_forward, s_dropout_backward};

void leaky_relu_init(layer_t *l, int c, int h, int w, layout_t layout, float slope)
{
    assert(slope >= 0 && slope < 1);
    l->kind = LAYER_LEAKY_RELU;
    l->ops = &s_leaky_ops;
    l->slope = slope;
    s_shape(l, c, h, w, layout);
}

void sigmoid_init(layer_t *l, int c, int h, int w, layout_t layout)
{
    l->kind = LAYER_SIGMOID;
    l->ops = &s_sigmoid_ops;
    s_shape(l, c, h, w, layout);
}

void dropout_init(layer_t *l, int c, int h, int w, layout_t layout, float rate)
{
    assert(rate >= 0 && rate < 1);
    l->kind = LAYER_DROPOUT;
    l->ops = &s_dropout_ops;
    l->rate = rate;
    s_shape(l, c, h, w, layout);
}
