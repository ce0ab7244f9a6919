/* minibatch_std.c - the minibatch standard deviation feature (Karras et
 * al. 2018, "Progressive growing of GANs", section 3): a discriminator
 * that sees one image at a time cannot tell a generator that draws the
 * same few images from one that draws the data's variety; this layer
 * gives it one more feature, how much the samples of its group differ.
 *
 * Samples go in groups of MINIBATCH_STD_GROUP consecutive ones (the last
 * group may be smaller).  For group g of m samples and feature j,
 *
 *     s_j = sqrt(mean_i (x_ij - mu_j)^2 + eps),   f_g = mean_j s_j,
 *
 * and each sample's output is its F features followed by f_g.  Backward,
 * since sum_i (x_ij - mu_j) = 0,
 *
 *     dx_ij = dy_ij + (sum_{i in g} dy_iF) (x_ij - mu_j) / (F m s_j).
 *
 * A group never mixes real and fake images as long as both halves of a
 * batch hold a multiple of the group (fedsyn's GAN steps: batch / 2 real
 * then batch / 2 fake, batch a multiple of 8).  No parameters.
 *
 * Batch-first input only ([n x F]).  Not in place (one more feature out).
 */
#include <assert.h>
#include <math.h>

#include "node/nn/layer.h"

#define MBSTD_EPS 1e-8f

// Per-feature mean and standard deviation of samples [i0, i0 + m).
static double s_group_stats(const float *x, size_t f, int i0, int m, size_t j, double *mu)
{
    double sum = 0.0, ss = 0.0;
    for (int i = i0; i < i0 + m; i++) {
        sum += (double)x[(size_t)i * f + j];
    }
    *mu = sum / m;
    for (int i = i0; i < i0 + m; i++) {
        const double d = (double)x[(size_t)i * f + j] - *mu;
        ss += d * d;
    }
    return sqrt(ss / m + (double)MBSTD_EPS);
}

static void s_forward(layer_t *l, const float *x, float *y, int n, bool training)
{
    (void)training;
    const size_t f = layer_in_size(l);
    for (int i0 = 0; i0 < n; i0 += MINIBATCH_STD_GROUP) {
        const int m = n - i0 < MINIBATCH_STD_GROUP ? n - i0 : MINIBATCH_STD_GROUP;
        double mean_s = 0.0, mu;
        for (size_t j = 0; j < f; j++) {
            mean_s += s_group_stats(x, f, i0, m, j, &mu);
        }
        mean_s /= (double)f;
        for (int i = i0; i < i0 + m; i++) {
            for (size_t j = 0; j < f; j++) {
                y[(size_t)i * (f + 1) + j] = x[(size_t)i * f + j];
            }
            y[(size_t)i * (f + 1) + f] = (float)mean_s;
        }
    }
}

static void s_backward(layer_t *l, const float *x, const float *y, float *dy, float *dx,
                       int n)
{
    (void)y;
    if (!dx) {
        return; // no parameters: nothing to accumulate
    }
    const size_t f = layer_in_size(l);
    for (int i0 = 0; i0 < n; i0 += MINIBATCH_STD_GROUP) {
        const int m = n - i0 < MINIBATCH_STD_GROUP ? n - i0 : MINIBATCH_STD_GROUP;
        double dfg = 0.0;
        for (int i = i0; i < i0 + m; i++) {
            dfg += (double)dy[(size_t)i * (f + 1) + f];
        }
        for (size_t j = 0; j < f; j++) {
            double mu;
            const double s = s_group_stats(x, f, i0, m, j, &mu);
            const double k = dfg / ((double)f * m * s);
            for (int i = i0; i < i0 + m; i++) {
                const size_t o = (size_t)i * f + j;
                dx[o] = (float)((double)dy[(size_t)i * (f + 1) + j] + k * ((double)x[o] - mu));
            }
        }
    }
}

static const layer_ops_t s_ops = {"minibatch_std", s_forward, s_backward};

void minibatch_std_init(layer_t *l, int c, int h, int w, layout_t layout)
{
    assert(layout == LAYOUT_BATCH_FIRST);
    l->kind = LAYER_MINIBATCH_STD;
    l->ops = &s_ops;
    l->in_c = c;
    l->in_h = h;
    l->in_w = w;
    l->out_c = c * h * w + 1;
    l->out_h = l->out_w = 1;
    l->in_layout = l->out_layout = layout;
    l->in_place = false;
}
