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
    assert_int_equal(fedavg_aggregate(out2, w, n, 3, 4, 0.0, &err), 0);
    assert_memory_equal(out, out2, sizeof out);
    assert_int_equal(fedavg_aggregate(out2, w, n, 3, 4, 1.0, &err), 0);
    assert_memory_not_equal(out, out2, sizeof out);
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
    assert_float_equal(l1, 2.0, 1e-6);
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
    assert_float_equal(d, 1.0, 1e-6);
    // NOISE_NONE leaves the weights alone; NOISE_PAPER moves every one.
    float z[4] = {1, 2, 3, 4}, z0[4] = {1, 2, 3, 4};
    noise_member_release(z, g, 4, NOISE_NONE, 0, 1.0);
    assert_memory_equal(z, z0, sizeof z);
    noise_member_release(z, g, 4, NOISE_PAPER, 0, 1.0);
    for (int i = 0; i < 4; i++) {
        assert_true(z[i] != z0[i]);
    }
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fedavg_usage),
        cmocka_unit_test(test_laplace_distribution),
        cmocka_unit_test(test_clip_and_release),
    };
    return cmocka_run_group_tests_name("fedavg", tests, NULL, NULL);
}
