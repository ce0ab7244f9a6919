/* test_dpsgd.c - DP-SGD's private parts (node/privacy/dpsgd.h): the
 * Poisson sample takes each record with probability q, a clipped record's
 * gradient never exceeds the bound, and the noise on the sum has the
 * deviation sigma * C.  The sample and the noise come from the CSPRNG, so
 * the checks are statistical with bounds many standard errors wide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/privacy/dpsgd.h"

// Usage: one step's real part, as gan_train.c does it.
static void test_dpsgd_usage(void **state)
{
    (void)state;
    const uint32_t n = 1000;
    const dpsgd_config_t c = {.q = 0.05, .sigma = 1.1, .clip = 1.0};
    uint32_t *idx = calloc(n, sizeof *idx);
    float sum[4] = {0}, g[4];
    size_t m = dpsgd_sample(n, c.q, idx);
    for (size_t j = 0; j < m; j++) {
        for (int i = 0; i < 4; i++) {
            g[i] = (float)(idx[j] % 7) - 3.0f; // one record's gradient
        }
        dpsgd_add_clipped(sum, g, 4, c.clip);
    }
    dpsgd_noise_and_scale(sum, 4, c.sigma, c.clip, c.q * n);
    for (int i = 0; i < 4; i++) {
        assert_true(isfinite(sum[i]));
    }
    free(idx);
}

// Each record is taken with probability q, independently: over 400 samples
// of 2,000 records at q = 0.03 the count's mean is q n within 6 standard
// errors, its variance near n q (1 - q), every index ascending and in
// range, and records at the start, middle and end are as likely.
static void test_dpsgd_poisson_sample(void **state)
{
    (void)state;
    const uint32_t n = 2000;
    const double q = 0.03;
    const int trials = 400;
    uint32_t *idx = calloc(n, sizeof *idx);
    int *hits = calloc(n, sizeof *hits);
    double sum = 0, sq = 0;
    for (int t = 0; t < trials; t++) {
        size_t m = dpsgd_sample(n, q, idx);
        for (size_t j = 0; j < m; j++) {
            assert_true(idx[j] < n);
            assert_true(j == 0 || idx[j] > idx[j - 1]);
            hits[idx[j]]++;
        }
        sum += (double)m;
        sq += (double)m * (double)m;
    }
    const double mean = sum / trials, var = sq / trials - mean * mean;
    const double expect = q * n, ev = n * q * (1 - q);
    assert_true(fabs(mean - expect) < 6 * sqrt(ev / trials));
    assert_true(var > 0.6 * ev && var < 1.5 * ev);
    int thirds[3] = {0};
    for (uint32_t i = 0; i < n; i++) {
        thirds[i * 3 / n] += hits[i];
    }
    for (int k = 0; k < 3; k++) { // each third about a third of the hits
        const double e = sum / 3;
        assert_true(fabs(thirds[k] - e) < 6 * sqrt(e));
    }
    // q = 1: every record
    assert_int_equal(dpsgd_sample(n, 1.0, idx), n);
    assert_int_equal(idx[n - 1], n - 1);
    free(hits);
    free(idx);
}

// A record's contribution is its gradient when within C and C / |g| times
// it when not: the sum moves by at most C whatever the record.
static void test_dpsgd_clip(void **state)
{
    (void)state;
    float sum[3] = {0}, g[3] = {3, 4, 0}; // |g| = 5
    assert_true(fabs(dpsgd_add_clipped(sum, g, 3, 10.0) - 5.0) < 1e-12);
    assert_true(sum[0] == 3 && sum[1] == 4 && sum[2] == 0);
    memset(sum, 0, sizeof sum);
    assert_true(fabs(dpsgd_add_clipped(sum, g, 3, 1.0) - 5.0) < 1e-12);
    const double norm = sqrt((double)sum[0] * (double)sum[0] + (double)sum[1] * (double)sum[1]);
    assert_true(norm <= 1.0 && norm > 1.0 - 1e-5);
    assert_true(fabs((double)(sum[0] / sum[1]) - 0.75) < 1e-6); // the direction kept
    // a huge gradient moves the sum by at most C too
    float big[3] = {1e30f, -1e30f, 1e30f};
    memset(sum, 0, sizeof sum);
    dpsgd_add_clipped(sum, big, 3, 0.5);
    double nb = 0;
    for (int i = 0; i < 3; i++) {
        nb += (double)sum[i] * (double)sum[i];
    }
    nb = sqrt(nb);
    assert_true(nb <= 0.5);
}

// The noise on the sum: N(0, (sigma C)^2) per coordinate, then divided by
// the expected count: on 200,000 zeros with sigma 2, C 3 and expected 4 the
// sample's deviation is 1.5 within 1%, its mean 0 within 5 standard errors.
static void test_dpsgd_noise(void **state)
{
    (void)state;
    const size_t n = 200000;
    float *v = calloc(n, sizeof *v);
    dpsgd_noise_and_scale(v, n, 2.0, 3.0, 4.0);
    double s = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)v[i];
        sq += (double)v[i] * (double)v[i];
    }
    const double mean = s / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    assert_true(fabs(sd - 1.5) < 0.015);
    assert_true(fabs(mean) < 5 * 1.5 / sqrt((double)n));
    // sigma 0: the sum scaled, nothing added
    float w[2] = {2, -6};
    dpsgd_noise_and_scale(w, 2, 0.0, 1.0, 2.0);
    assert_true(w[0] == 1 && w[1] == -3);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpsgd_usage),
        cmocka_unit_test(test_dpsgd_poisson_sample),
        cmocka_unit_test(test_dpsgd_clip),
        cmocka_unit_test(test_dpsgd_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
