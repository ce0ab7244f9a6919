/* test_layers.c - every layer's backward pass against finite differences,
 * plus a naive reference convolution and the conv/conv-transpose adjoint
 * identity.  Shapes are small and odd (N=2, C=3, 5x5) so padding edges and
 * stride 2 are exercised.  Usage example for building a model: see
 * test_layers_usage below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/rng.h"
#include "node/models/dcgan.h"
#include "node/nn/model.h"
#include "tests/support/gradcheck.h"

#define TOL 2e-2 // float32 forward, h = 1e-2: observed errors are < 5e-3

static float *s_random(size_t n, uint64_t seed, float lo_abs)
{
    rng_t rng;
    rng_seed(&rng, seed);
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        float v = (float)(2 * rng_uniform(&rng) - 1);
        // keep element-wise inputs away from the LeakyReLU kink
        if (lo_abs > 0 && v > -lo_abs && v < lo_abs) {
            v = v < 0 ? v - lo_abs : v + lo_abs;
        }
        x[i] = v;
    }
    return x;
}

static void s_check(model_t *m, int n, float lo_abs, const char *what)
{
    float *x = s_random((size_t)n * model_input_size(m), 11, lo_abs);
    gradcheck_result_t r = gradcheck_model(m, x, n, 60, 1e-2, 5);
    if (r.max_rel_param > TOL || r.max_rel_input > TOL) {
        fail_msg("%s: relative error params %.3g inputs %.3g (tolerance %.1g)", what,
                 r.max_rel_param, r.max_rel_input, TOL);
    }
    assert_true(r.checked > 0);
    free(x);
}

static void test_layers_usage(void **state)
{
    (void)state;
    // A model takes samples of c x h x w, batch-first.  Convolutions want the
    // channel-major layout, dense layers batch-first: reshape between them.
    model_t *m = model_new("usage", 1, 6, 6);
    model_reshape(m, 1, 6, 6, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 4, 3, 2, PAD_SAME);     // 4 x 3 x 3
    model_leaky_relu(m, 0.2f);
    model_reshape(m, 4, 3, 3, LAYOUT_BATCH_FIRST);
    model_dense(m, 2);
    model_finalize(m, 8, 1); // allocates everything, initialises from seed 1
    assert_int_equal(model_param_count(m), 4 * 9 + 4 + 36 * 2 + 2);
    float x[2 * 36] = {0};
    const float *y = model_forward(m, x, 2, true);
    assert_float_equal(y[0], 0.0f, 1e-6); // zero input, zero biases
    memcpy(model_output_grad(m), (float[]){1, 0, 0, 1}, sizeof(float) * 4);
    model_zero_grads(m);
    const float *dx = model_backward(m, true);
    assert_non_null(dx);
    model_destroy(&m);
    assert_null(m);
    model_destroy(&m); // idempotent
}

// model_backward_input: the same input gradient as model_backward, and the
// parameter gradients untouched, through every layer kind with weights
// (conv in both of its modes, conv-transpose, dense).
static void test_backward_input_only(void **state)
{
    (void)state;
    model_t *m = model_new("input-only", 3, 6, 6);
    model_reshape(m, 3, 6, 6, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 4, 3, 2, PAD_SAME);   // im2col mode: 4 x 3 x 3
    model_leaky_relu(m, 0.2f);
    model_conv2d_t(m, 5, 3, 2, PAD_SAME); // 5 x 6 x 6
    model_conv2d(m, 1, 3, 1, PAD_SAME);   // one output channel: gather mode
    model_reshape(m, 1, 6, 6, LAYOUT_BATCH_FIRST);
    model_dense(m, 2);
    model_finalize(m, 3, 5);
    assert_true(model_layer(m, 4)->gather_mode && !model_layer(m, 1)->gather_mode);
    const int n = 3;
    const size_t in = model_input_size(m), np = model_param_count(m);
    float *x = s_random((size_t)n * in, 21, 0);
    float *dx_full = malloc(sizeof(float) * (size_t)n * in);
    float dy[6] = {0.3f, -1.0f, 0.5f, 2.0f, -0.7f, 0.1f};

    model_forward(m, x, n, true);
    memcpy(model_output_grad(m), dy, sizeof dy);
    model_zero_grads(m);
    memcpy(dx_full, model_backward(m, true), sizeof(float) * (size_t)n * in);
    size_t nonzero = 0;
    for (size_t i = 0; i < np; i++) {
        nonzero += model_grads(m)[i] != 0;
    }
    assert_true(nonzero > np / 2); // the full pass does write the gradients

    for (size_t i = 0; i < np; i++) {
        model_grads(m)[i] = 7.0f; // a sentinel the input-only pass must keep
    }
    model_forward(m, x, n, true);
    memcpy(model_output_grad(m), dy, sizeof dy);
    const float *dx = model_backward_input(m);
    for (size_t i = 0; i < (size_t)n * in; i++) {
        assert_float_equal(dx[i], dx_full[i], 1e-6);
    }
    for (size_t i = 0; i < np; i++) {
        assert_float_equal(model_grads(m)[i], 7.0f, 0);
    }
    // and the next full pass writes gradients again
    model_forward(m, x, n, true);
    memcpy(model_output_grad(m), dy, sizeof dy);
    model_zero_grads(m);
    model_backward(m, false);
    nonzero = 0;
    for (size_t i = 0; i < np; i++) {
        nonzero += model_grads(m)[i] != 0;
    }
    assert_true(nonzero > np / 2);
    free(dx_full);
    free(x);
    model_destroy(&m);
}

// max_batch 0: the shape only, for sizing a parameter vector - the same
// count as the full model, nothing allocated.
static void test_shape_only_model(void **state)
{
    (void)state;
    const dcgan_config_t arch = dcgan_config_paper();
    model_t *full = dcgan_generator_new(&arch, 1, 1);
    model_t *shape = dcgan_generator_new(&arch, 0, 0);
    assert_int_equal(model_param_count(shape), model_param_count(full));
    assert_int_equal(model_param_count(shape), 1164289); // the paper's generator
    assert_null(model_params(shape));
    model_destroy(&shape);
    model_destroy(&full);
}

static void test_dense_grad(void **state)
{
    (void)state;
    model_t *m = model_new("dense", 7, 1, 1);
    model_dense(m, 5);
    model_finalize(m, 3, 2);
    s_check(m, 3, 0, "dense");
    model_destroy(&m);
}

static void s_conv_case(int cin, int cout, int k, int s, pad_mode_t pad, bool transpose)
{
    model_t *m = model_new("conv", cin, 5, 5);
    model_reshape(m, cin, 5, 5, LAYOUT_CHANNEL_MAJOR);
    if (transpose) {
        model_conv2d_t(m, cout, k, s, pad);
    } else {
        model_conv2d(m, cout, k, s, pad);
    }
    layer_t *l = model_layer(m, 1);
    model_reshape(m, l->out_c, l->out_h, l->out_w, LAYOUT_BATCH_FIRST);
    model_finalize(m, 2, 3);
    // give the biases values so their gradient is visible too
    for (size_t i = 0; i < l->n_bias; i++) {
        l->b[i] = 0.1f * (float)i;
    }
    char what[96];
    snprintf(what, sizeof what, "%s %d->%d k%d s%d %s%s", transpose ? "conv_t" : "conv",
             cin, cout, k, s, pad == PAD_SAME ? "same" : "valid",
             l->gather_mode ? " (gather)" : "");
    s_check(m, 2, 0, what);
    model_destroy(&m);
}

static void test_conv2d_grad(void **state)
{
    (void)state;
    s_conv_case(3, 4, 3, 1, PAD_SAME, false);
    s_conv_case(3, 4, 3, 2, PAD_SAME, false);
    s_conv_case(3, 2, 4, 2, PAD_SAME, false);
    s_conv_case(3, 4, 3, 2, PAD_VALID, false);
    s_conv_case(3, 1, 3, 1, PAD_SAME, false); // gather mode
    s_conv_case(4, 2, 5, 2, PAD_SAME, false); // gather mode, stride 2
}

static void test_conv2d_t_grad(void **state)
{
    (void)state;
    s_conv_case(3, 4, 4, 2, PAD_SAME, true);
    s_conv_case(3, 2, 3, 2, PAD_SAME, true);
    s_conv_case(2, 3, 3, 1, PAD_VALID, true);
    s_conv_case(3, 3, 5, 2, PAD_VALID, true);
    s_conv_case(2, 3, 2, 3, PAD_SAME, true);  // k < s: output phases with no tap
    s_conv_case(3, 2, 1, 2, PAD_VALID, true); // likewise, 'valid'
    s_conv_case(2, 2, 5, 2, PAD_SAME, true);  // phases of 3 and 2 taps
}

static void s_elementwise_case(int kind)
{
    model_t *m = model_new("elementwise", 3, 5, 5);
    model_dense(m, 3 * 5 * 5); // an element-wise layer cannot come first in place
    if (kind == 0) {
        model_leaky_relu(m, 0.2f);
    } else if (kind == 1) {
        model_sigmoid(m);
    } else {
        model_dropout(m, 0.4f);
    }
    model_finalize(m, 2, 4);
    s_check(m, 2, kind == 0 ? 0.05f : 0, kind == 0 ? "leaky" : kind == 1 ? "sigmoid" : "dropout");
    model_destroy(&m);
}

static void test_activation_grads(void **state)
{
    (void)state;
    s_elementwise_case(0);
    s_elementwise_case(1);
    s_elementwise_case(2);
}

static void test_reshape_grad(void **state)
{
    (void)state;
    model_t *m = model_new("reshape", 12, 1, 1);
    model_dense(m, 12);
    model_reshape(m, 3, 2, 2, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 2, 3, 1, PAD_SAME);
    model_reshape(m, 2, 2, 2, LAYOUT_BATCH_FIRST);
    model_finalize(m, 3, 5);
    s_check(m, 3, 0, "reshape");
    model_destroy(&m);
}

// Pixel norm between two convolutions (so the gradient reaches parameters
// on both sides), against finite differences; and its forward pass against
// the definition: every pixel's feature vector has unit root mean square.
static void test_pixel_norm(void **state)
{
    (void)state;
    model_t *m = model_new("pixel_norm", 3, 5, 5);
    model_reshape(m, 3, 5, 5, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 4, 3, 1, PAD_SAME);
    model_pixel_norm(m);
    model_conv2d(m, 2, 3, 2, PAD_SAME);
    model_reshape(m, 2, 3, 3, LAYOUT_BATCH_FIRST);
    model_finalize(m, 2, 6);
    s_check(m, 2, 0, "pixel_norm");

    float *x = s_random(2 * 75, 3, 0);
    model_forward(m, x, 2, false);
    const float *y = model_activation(m, 2); // [4 x 2*5*5], channel-major
    const float *in = model_activation(m, 1);
    for (int p = 0; p < 50; p++) {
        double ss = 0, ss_in = 0;
        for (int c = 0; c < 4; c++) {
            ss += (double)y[c * 50 + p] * (double)y[c * 50 + p];
            ss_in += (double)in[c * 50 + p] * (double)in[c * 50 + p];
        }
        assert_true(fabs(ss / 4 - ss_in / (ss_in + 4e-8)) < 1e-5);
        for (int c = 0; c < 4; c++) { // the direction is kept
            const double want = (double)in[c * 50 + p] / sqrt(ss_in / 4 + 1e-8);
            assert_true(fabs((double)y[c * 50 + p] - want) < 1e-5);
        }
    }
    free(x);
    model_destroy(&m);
}

// The minibatch standard deviation between a convolution and a dense
// layer, against finite differences (6 samples: a group of 4 and one of
// 2); and its forward pass against the definition.
static void test_minibatch_std(void **state)
{
    (void)state;
    model_t *m = model_new("minibatch_std", 2, 4, 4);
    model_reshape(m, 2, 4, 4, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 3, 3, 2, PAD_SAME); // 3 x 2 x 2
    model_reshape(m, 3, 2, 2, LAYOUT_BATCH_FIRST);
    model_minibatch_std(m);            // 13 features
    model_dense(m, 2);
    model_finalize(m, 6, 8);
    assert_int_equal(model_layer(m, 3)->out_c, 13);
    s_check(m, 6, 0, "minibatch_std");

    float *x = s_random(6 * 32, 4, 0);
    model_forward(m, x, 6, false);
    const float *in = model_activation(m, 2), *y = model_activation(m, 3);
    const int groups[2][2] = {{0, 4}, {4, 2}}; // first sample, size
    for (int g = 0; g < 2; g++) {
        const int i0 = groups[g][0], k = groups[g][1];
        double mean_s = 0;
        for (int j = 0; j < 12; j++) {
            double mu = 0, ss = 0;
            for (int i = i0; i < i0 + k; i++) {
                mu += (double)in[i * 12 + j] / k;
            }
            for (int i = i0; i < i0 + k; i++) {
                ss += ((double)in[i * 12 + j] - mu) * ((double)in[i * 12 + j] - mu);
            }
            mean_s += sqrt(ss / k + 1e-8) / 12;
        }
        for (int i = i0; i < i0 + k; i++) {
            assert_true(fabs((double)y[i * 13 + 12] - mean_s) < 1e-5);
            assert_true(y[i * 13 + 5] == in[i * 12 + 5]); // the features pass through
        }
    }
    free(x);
    model_destroy(&m);
}

// Nearest-neighbour upsampling between two convolutions, against finite
// differences (odd 3x5 planes, two samples); and its forward pass against
// the definition: output pixel (y, x) of plane (c, i) is input pixel
// (y / 2, x / 2) of the same plane.
static void test_upsample(void **state)
{
    (void)state;
    model_t *m = model_new("upsample", 2, 3, 5);
    model_reshape(m, 2, 3, 5, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 3, 3, 1, PAD_SAME);
    model_upsample(m);
    model_conv2d(m, 2, 3, 2, PAD_SAME);
    model_reshape(m, 2, 3, 5, LAYOUT_BATCH_FIRST);
    model_finalize(m, 2, 7);
    const layer_t *up = model_layer(m, 2);
    assert_int_equal(up->out_c, 3);
    assert_int_equal(up->out_h, 6);
    assert_int_equal(up->out_w, 10);
    s_check(m, 2, 0, "upsample");

    float *x = s_random(2 * 30, 4, 0);
    model_forward(m, x, 2, false);
    const float *in = model_activation(m, 1); // [3 x 2*3*5], channel-major
    const float *y = model_activation(m, 2);  // [3 x 2*6*10]
    for (int plane = 0; plane < 3 * 2; plane++) {
        for (int oy = 0; oy < 6; oy++) {
            for (int ox = 0; ox < 10; ox++) {
                assert_true(y[(plane * 6 + oy) * 10 + ox] ==
                            in[(plane * 3 + oy / 2) * 5 + ox / 2]);
            }
        }
    }
    free(x);
    model_destroy(&m);
}

// Naive 7-loop convolution: the definition, with Keras 'same' padding.
static void s_naive_conv(const float *x, const float *w, const float *b, float *y, int n,
                         int cin, int h, int wd, int cout, int k, int s, int pt, int pl,
                         int oh, int ow)
{
    for (int i = 0; i < n; i++) {
        for (int co = 0; co < cout; co++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double acc = (double)b[co];
                    for (int ci = 0; ci < cin; ci++) {
                        for (int ki = 0; ki < k; ki++) {
                            for (int kj = 0; kj < k; kj++) {
                                int iy = oy * s + ki - pt, ix = ox * s + kj - pl;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) {
                                    continue;
                                }
                                acc += (double)x[((i * cin + ci) * h + iy) * wd + ix] * (double)
                                       w[((co * cin + ci) * k + ki) * k + kj];
                            }
                        }
                    }
                    y[((i * cout + co) * oh + oy) * ow + ox] = (float)acc;
                }
            }
        }
    }
}

static void s_reference_case(int cin, int cout, int k, int s)
{
    const int n = 2, h = 7;
    model_t *m = model_new("ref", cin, h, h);
    model_reshape(m, cin, h, h, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, cout, k, s, PAD_SAME);
    layer_t *l = model_layer(m, 1);
    model_reshape(m, l->out_c, l->out_h, l->out_w, LAYOUT_BATCH_FIRST);
    model_finalize(m, n, 9);
    for (size_t i = 0; i < l->n_bias; i++) {
        l->b[i] = 0.25f * (float)i;
    }
    float *x = s_random((size_t)n * cin * h * h, 3, 0);
    const float *y = model_forward(m, x, n, false);
    size_t ny = (size_t)n * layer_out_size(l);
    float *ref = malloc(sizeof(float) * ny);
    s_naive_conv(x, l->w, l->b, ref, n, cin, h, h, cout, k, s, l->geom.pad_top,
                 l->geom.pad_left, l->out_h, l->out_w);
    // Keras 'same': out = ceil(in / s), the odd padding pixel at the bottom
    assert_int_equal(l->out_h, (h + s - 1) / s);
    for (size_t i = 0; i < ny; i++) {
        assert_float_equal(y[i], ref[i], 1e-4);
    }
    free(ref);
    free(x);
    model_destroy(&m);
}

static void test_conv2d_matches_naive(void **state)
{
    (void)state;
    s_reference_case(3, 5, 3, 1);
    s_reference_case(3, 5, 3, 2);
    s_reference_case(4, 1, 7, 1); // gather mode, like the generator's last layer
    s_reference_case(2, 3, 4, 2);
}

// Naive conv-transpose: every input pixel scatters W times itself into the
// output, the definition the phase-by-phase forward must reproduce.
static void s_conv_t_reference_case(int cin, int cout, int h, int k, int s, pad_mode_t pad)
{
    const int n = 3;
    model_t *m = model_new("ref_t", cin, h, h);
    model_reshape(m, cin, h, h, LAYOUT_CHANNEL_MAJOR);
    model_conv2d_t(m, cout, k, s, pad);
    layer_t *l = model_layer(m, 1);
    const int oh = l->out_h, ow = l->out_w, pt = l->geom.pad_top, pl = l->geom.pad_left;
    model_reshape(m, cout, oh, ow, LAYOUT_BATCH_FIRST);
    model_finalize(m, n, 11);
    for (size_t i = 0; i < l->n_bias; i++) {
        l->b[i] = 0.5f - 0.25f * (float)i;
    }
    float *x = s_random((size_t)n * cin * h * h, 12, 0);
    const float *y = model_forward(m, x, n, false);
    double *ref = calloc((size_t)n * cout * oh * ow, sizeof(double));
    for (int i = 0; i < n; i++) {
        for (int ci = 0; ci < cin; ci++) {
            for (int iy = 0; iy < h; iy++) {
                for (int ix = 0; ix < h; ix++) {
                    const double v = x[((i * cin + ci) * h + iy) * h + ix];
                    for (int co = 0; co < cout; co++) {
                        for (int ky = 0; ky < k; ky++) {
                            for (int kx = 0; kx < k; kx++) {
                                int oy = iy * s + ky - pt, ox = ix * s + kx - pl;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) {
                                    continue;
                                }
                                ref[((i * cout + co) * oh + oy) * ow + ox] +=
                                    v * (double)l->w[((ci * cout + co) * k + ky) * k + kx];
                            }
                        }
                    }
                }
            }
        }
    }
    for (int i = 0; i < n; i++) {
        for (int co = 0; co < cout; co++) {
            for (int p = 0; p < oh * ow; p++) {
                size_t at = ((size_t)i * cout + co) * oh * ow + p;
                assert_float_equal(y[at], (float)(ref[at] + (double)l->b[co]), 1e-4);
            }
        }
    }
    free(ref);
    free(x);
    model_destroy(&m);
}

static void test_conv2d_t_matches_naive(void **state)
{
    (void)state;
    s_conv_t_reference_case(3, 4, 7, 4, 2, PAD_SAME);  // the generator's geometry
    s_conv_t_reference_case(2, 3, 5, 3, 2, PAD_SAME);
    s_conv_t_reference_case(2, 2, 4, 5, 2, PAD_VALID);
    s_conv_t_reference_case(2, 3, 4, 2, 3, PAD_SAME);  // k < s
    s_conv_t_reference_case(3, 2, 6, 3, 1, PAD_SAME);  // stride 1
    s_conv_t_reference_case(1, 2, 3, 1, 2, PAD_VALID); // 1x1 kernel
}

// <conv(x), y> == <x, conv_t(y)> when conv_t shares conv's weights.
static void test_conv_transpose_is_adjoint(void **state)
{
    (void)state;
    const int cin = 3, cout = 4, k = 4, s = 2, h = 6;
    model_t *c = model_new("conv", cin, h, h);
    model_reshape(c, cin, h, h, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(c, cout, k, s, PAD_SAME);
    model_reshape(c, cout, h / s, h / s, LAYOUT_BATCH_FIRST);
    model_finalize(c, 1, 1);
    model_t *t = model_new("conv_t", cout, h / s, h / s);
    model_reshape(t, cout, h / s, h / s, LAYOUT_CHANNEL_MAJOR);
    model_conv2d_t(t, cin, k, s, PAD_SAME);
    model_reshape(t, cin, h, h, LAYOUT_BATCH_FIRST);
    model_finalize(t, 1, 2);
    layer_t *lc = model_layer(c, 1), *lt = model_layer(t, 1);
    assert_int_equal(lc->geom.pad_top, lt->geom.pad_top);
    // conv weight [cout][cin][k][k] equals conv_t weight [in=cout][out=cin][k][k]
    memcpy(lt->w, lc->w, sizeof(float) * lc->n_weights);
    memset(lc->b, 0, sizeof(float) * lc->n_bias);
    memset(lt->b, 0, sizeof(float) * lt->n_bias);
    float *x = s_random((size_t)cin * h * h, 5, 0);
    float *y = s_random((size_t)cout * (h / s) * (h / s), 6, 0);
    const float *cx = model_forward(c, x, 1, false);
    const float *ty = model_forward(t, y, 1, false);
    double lhs = 0, rhs = 0;
    for (int i = 0; i < cout * (h / s) * (h / s); i++) {
        lhs += (double)cx[i] * (double)y[i];
    }
    for (int i = 0; i < cin * h * h; i++) {
        rhs += (double)x[i] * (double)ty[i];
    }
    assert_true(fabs(lhs - rhs) < 1e-4 * (fabs(lhs) + 1));
    free(x);
    free(y);
    model_destroy(&c);
    model_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_usage),
        cmocka_unit_test(test_shape_only_model),
        cmocka_unit_test(test_backward_input_only),
        cmocka_unit_test(test_dense_grad),
        cmocka_unit_test(test_conv2d_grad),
        cmocka_unit_test(test_conv2d_t_grad),
        cmocka_unit_test(test_activation_grads),
        cmocka_unit_test(test_reshape_grad),
        cmocka_unit_test(test_pixel_norm),
        cmocka_unit_test(test_upsample),
        cmocka_unit_test(test_minibatch_std),
        cmocka_unit_test(test_conv2d_matches_naive),
        cmocka_unit_test(test_conv2d_t_matches_naive),
        cmocka_unit_test(test_conv_transpose_is_adjoint),
    };
    return cmocka_run_group_tests_name("layers", tests, NULL, NULL);
}
