/* test_fedavg.c - FedSyn's equation 2 (weighted average + aggregator
 * noise), the L1 clip, the members' release and an empirical check of the
 * Laplace sampler's distribution. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "node/fed/fedavg.h"
#include "node/privacy/noise.h"

static void test_fedavg_usage(void **state)
{
    (void)state;
    // Three members with 15,000 / 20,000 / 15,000 samples: p = 0.3, 0.4, 0.3.
    float a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0}, c[4] = {-1, 10, 3, 1};
    const float *w[3] = {a, b, c};
    uint64_t n[3] = {15000, 20000, 15000};
    float out[4];
    fs_err_t err = {0};
    assert_int_equal(fedavg_weighted(out, w, n, 3, 4, &err), 0);
    const float want[4] = {0.0f, 3.6f, 1.8f, 1.5f};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(out[i], want[i], 1e-6);
    }
    // The order of members does not change the result.
    const float *w2[3] = {c, a, b};
    uint64_t n2[3] = {15000, 15000, 20000};
    float out2[4];
    assert_int_equal(fedavg_weighted(out2, w2, n2, 3, 4, &err), 0);
    assert_memory_equal(out, out2, sizeof out);
    // No contributions is an error, not a zero model.
    assert_int_equal(fedavg_weighted(out, w, n, 0, 4, &err), FS_EINVAL);
    uint64_t zero[3] = {0, 0, 0};
    assert_int_equal(fedavg_weighted(out, w, zero, 3, 4, &err), FS_EINVAL);
    // With agg_scale 0 the aggregate is the average; with noise it moves.
    assert_int_equal(
        fedavg_aggregate(out2, w, n, 3, 4, NULL, 1.0, NOISE_LAPLACE_CLIPPED, 0.0, &err), 0);
    assert_memory_equal(out, out2, sizeof out);
    assert_int_equal(
        fedavg_aggregate(out2, w, n, 3, 4, NULL, 1.0, NOISE_LAPLACE_CLIPPED, 1.0, &err), 0);
    assert_memory_not_equal(out, out2, sizeof out);
}

// The server step: from the round's global g, eta 2 goes twice as far as
// the average; eta 1 is the average itself; a step without g is refused.
static void test_fedavg_server_step(void **state)
{
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0}, c[4] = {-1, 10, 3, 1};
    const float *w[3] = {a, b, c};
    uint64_t n[3] = {15000, 20000, 15000};
    const float g[4] = {1, 1, 1, 1};
    const float avg[4] = {0.0f, 3.6f, 1.8f, 1.5f};
    float out[4];
    fs_err_t err = {0};
    assert_int_equal(fedavg_aggregate(out, w, n, 3, 4, g, 2.0, NOISE_NONE, 0.0, &err), 0);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(out[i], g[i] + 2 * (avg[i] - g[i]), 1e-6);
    }
    assert_int_equal(fedavg_aggregate(out, w, n, 3, 4, g, 1.0, NOISE_NONE, 0.0, &err), 0);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(out[i], avg[i], 1e-6);
    }
    assert_int_equal(fedavg_aggregate(out, w, n, 3, 4, NULL, 2.0, NOISE_NONE, 0.0, &err),
                     FS_EINVAL);
    assert_non_null(strstr(err.msg, "global model"));
    assert_int_equal(fedavg_aggregate(out, w, n, 3, 4, g, 0.0, NOISE_NONE, 0.0, &err),
                     FS_EINVAL);
    assert_non_null(strstr(err.msg, "above 0"));
}

// A vector longer than the average's block of 4,096 (two full blocks and a
// tail): every element is the weighted mean computed naively in double.
static void test_fedavg_long_vector(void **state)
{
    (void)state;
    const size_t n = 2 * 4096 + 13;
    float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b), *out = calloc(n, sizeof *out);
    assert_true(a && b && out);
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)i * 0.001f;
        b[i] = 1.0f - (float)(i % 97);
    }
    const float *w[2] = {a, b};
    uint64_t samples[2] = {1, 3};
    fs_err_t err = {0};
    assert_int_equal(fedavg_weighted(out, w, samples, 2, n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        double want = 0.25 * (double)a[i] + 0.75 * (double)b[i];
        float tol = (float)(1e-6 * (1.0 + fabs(want)));
        assert_float_equal(out[i], (float)want, tol);
    }
    free(a);
    free(b);
    free(out);
}

// Laplace(0, b): P(|X| > t) = exp(-t/b), E|X| = b, symmetric.  Checked on
// 400,000 draws at 5 standard errors (a wrong scale by 2% fails).
static void test_laplace_distribution(void **state)
{
    (void)state;
    const size_t n = 400000;
    const double b = 0.25;
    float *x = calloc(n, sizeof *x);
    noise_laplace_add(x, n, b);
    double sum = 0, abs_sum = 0;
    size_t above_b = 0, above_2b = 0, positive = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)x[i];
        abs_sum += fabs(x[i]);
        above_b += fabs((double)x[i]) > b;
        above_2b += fabs((double)x[i]) > 2 * b;
        positive += x[i] > 0;
    }
    double sd = sqrt(2.0) * b; // standard deviation of Laplace(b)
    assert_true(fabs(sum / (double)n) < 5 * sd / sqrt((double)n));
    assert_true(fabs(abs_sum / (double)n - b) < 5 * b / sqrt((double)n));
    double p1 = exp(-1.0), p2 = exp(-2.0);
    assert_true(fabs((double)above_b / (double)n - p1) < 5 * sqrt(p1 * (1 - p1) / (double)n));
    assert_true(fabs((double)above_2b / (double)n - p2) < 5 * sqrt(p2 * (1 - p2) / (double)n));
    assert_true(fabs((double)positive / (double)n - 0.5) < 5 * 0.5 / sqrt((double)n));
    // Scale 0 adds nothing.
    float y[3] = {1, 2, 3};
    noise_laplace_add(y, 3, 0.0);
    assert_float_equal(y[0], 1.0, 0);
    free(x);
}

static void test_clip_and_release(void **state)
{
    (void)state;
    float v[4] = {3, -4, 2, 1}; // L1 = 10
    assert_float_equal(noise_clip_l1(v, 4, 2.0), 10.0, 1e-9);
    double l1 = fabs(v[0]) + fabs(v[1]) + fabs(v[2]) + fabs(v[3]);
    assert_true(l1 <= 2.0 && l1 > 2.0 - 1e-5);
    assert_true(fabs((double)v[1] / (double)v[0] + 4.0 / 3.0) < 1e-6); // direction kept
    float inside[2] = {0.5f, -0.25f};
    noise_clip_l1(inside, 2, 2.0);
    assert_float_equal(inside[0], 0.5, 0);
    // Clipped release without noise: the update from the global is within C.
    float g[4] = {1, 1, 1, 1}, w[4] = {11, -9, 1, 1};
    noise_member_release(w, g, 4, NOISE_LAPLACE_CLIPPED, 1.0, 0.0);
    double d = 0;
    for (int i = 0; i < 4; i++) {
        d += fabs(w[i] - g[i]);
    }
    assert_true(d <= 1.0 && d > 1.0 - 1e-5);
    // L2: {3, 4} has norm 5; clipped to 1 it keeps its direction.
    float u[2] = {3, 4};
    assert_float_equal(noise_clip_l2(u, 2, 1.0), 5.0, 1e-9);
    double l2 = sqrt((double)u[0] * (double)u[0] + (double)u[1] * (double)u[1]);
    assert_true(l2 <= 1.0 && l2 > 1.0 - 1e-5);
    assert_true(fabs((double)u[1] / (double)u[0] - 4.0 / 3.0) < 1e-6);
    // NOISE_NONE leaves the weights alone; NOISE_PAPER moves every one.
    float z[4] = {1, 2, 3, 4}, z0[4] = {1, 2, 3, 4};
    noise_member_release(z, g, 4, NOISE_NONE, 0, 1.0);
    assert_memory_equal(z, z0, sizeof z);
    noise_member_release(z, g, 4, NOISE_PAPER, 0, 1.0);
    for (int i = 0; i < 4; i++) {
        assert_true(z[i] != z0[i]);
    }
}

// N(0, sigma^2): mean 0, variance sigma^2, P(|X| > sigma) = 0.3173 and
// P(|X| > 2 sigma) = 0.0455, on 400,000 draws at 5 standard errors.
static void test_gaussian_distribution(void **state)
{
    (void)state;
    const size_t n = 400001; // odd: the last draw of a Box-Muller pair is used alone
    const double sigma = 0.5;
    float *x = calloc(n, sizeof *x);
    noise_gaussian_add(x, n, sigma);
    double sum = 0, sq = 0;
    size_t above_1 = 0, above_2 = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)x[i];
        sq += (double)x[i] * (double)x[i];
        above_1 += fabs((double)x[i]) > sigma;
        above_2 += fabs((double)x[i]) > 2 * sigma;
    }
    double nd = (double)n, var = sigma * sigma;
    assert_true(fabs(sum / nd) < 5 * sigma / sqrt(nd));
    assert_true(fabs(sq / nd - var) < 5 * var * sqrt(2.0 / nd));
    double p1 = erfc(1 / sqrt(2.0)), p2 = erfc(2 / sqrt(2.0));
    assert_true(fabs((double)above_1 / nd - p1) < 5 * sqrt(p1 * (1 - p1) / nd));
    assert_true(fabs((double)above_2 / nd - p2) < 5 * sqrt(p2 * (1 - p2) / nd));
    assert_true(x[n - 1] != 0);
    free(x);
}

// A clipped release is within C of the global model as the float vector
// that leaves the node, not only before rounding.  Weights in [1, 1.1) have
// an ulp of 1.19e-7; clipping a delta of 0.02 per weight down to 1.9e-7
// (1.6 ulp) and adding it to g rounds every coordinate up to 2 ulp, which
// over a million weights puts a naive release 25% above C.
static void test_release_within_clip_after_rounding(void **state)
{
    (void)state;
    const size_t n = 1000000;
    float *g = malloc(n * sizeof *g), *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        g[i] = 1.0f + (float)(i % 1000) * 1e-4f;
        w[i] = g[i] + 0.02f;
    }
    const int mech[2] = {NOISE_LAPLACE_CLIPPED, NOISE_GAUSSIAN_CLIPPED};
    for (int m = 0; m < 2; m++) {
        float *r = malloc(n * sizeof *r);
        memcpy(r, w, n * sizeof *r);
        double c = (m == 0 ? (double)n : sqrt((double)n)) * 1.9e-7;
        double before = noise_member_release(r, g, n, mech[m], c, 0.0);
        assert_true(before > 100 * c); // it had to be clipped
        double acc = 0;
        for (size_t i = 0; i < n; i++) {
            double d = (double)r[i] - (double)g[i];
            acc += m == 0 ? fabs(d) : d * d;
        }
        double norm = m == 0 ? acc : sqrt(acc);
        assert_true(norm <= c);
        assert_true(norm > c / 2); // still an update, not the fallback w = g
        free(r);
    }
    free(g);
    free(w);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fedavg_usage),
        cmocka_unit_test(test_fedavg_server_step),
        cmocka_unit_test(test_fedavg_long_vector),
        cmocka_unit_test(test_laplace_distribution),
        cmocka_unit_test(test_clip_and_release),
        cmocka_unit_test(test_gaussian_distribution),
        cmocka_unit_test(test_release_within_clip_after_rounding),
    };
    return cmocka_run_group_tests_name("fedavg", tests, NULL, NULL);
}
