/* test_fid.c - FID of a set against itself is 0 and grows with added
 * noise; FID of two Gaussians matches the closed form; coverage counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/base/rng.h"
#include "node/metrics/coverage.h"
#include "node/metrics/fid.h"

#define N 2000
#define D 8

static float *s_features(uint64_t seed, double shift, double scale)
{
    rng_t rng;
    rng_seed(&rng, seed);
    float *f = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N * D; i++) {
        f[i] = (float)(shift + scale * rng_normal(&rng));
    }
    return f;
}

static void test_fid_usage(void **state)
{
    (void)state;
    float *a = s_features(1, 0, 1);
    fs_err_t err = {0, ""};
    fid_stats_t *sa = fid_stats_new(a, N, D, &err);
    assert_non_null(sa);
    double fid = -1;
    assert_int_equal(fid_distance(sa, sa, &fid, &err), 0);
    assert_true(fid >= 0 && fid < 1e-9);
    fid_stats_destroy(&sa);
    assert_null(sa);
    free(a);
}

static void test_fid_grows_with_noise(void **state)
{
    (void)state;
    float *a = s_features(1, 0, 1);
    fid_stats_t *sa = fid_stats_new(a, N, D, NULL);
    double last = 0;
    for (int k = 1; k <= 4; k++) {
        float *b = malloc(sizeof(float) * N * D);
        rng_t rng;
        rng_seed(&rng, 5);
        for (int i = 0; i < N * D; i++) {
            b[i] = a[i] + (float)(0.5 * k * rng_normal(&rng));
        }
        fid_stats_t *sb = fid_stats_new(b, N, D, NULL);
        double fid;
        assert_int_equal(fid_distance(sa, sb, &fid, NULL), 0);
        if (!(fid > last)) {
            fail_msg("noise %.1f: FID %.4f did not grow past %.4f", 0.5 * k, fid, last);
        }
        last = fid;
        fid_stats_destroy(&sb);
        free(b);
    }
    fid_stats_destroy(&sa);
    free(a);
}

static void test_fid_closed_form(void **state)
{
    (void)state;
    // N(0, I) vs N(m, s^2 I): FID = D m^2 + D (1 - s)^2
    float *a = s_features(3, 0, 1), *b = s_features(4, 0.5, 2.0);
    fid_stats_t *sa = fid_stats_new(a, N, D, NULL), *sb = fid_stats_new(b, N, D, NULL);
    double fid;
    assert_int_equal(fid_distance(sa, sb, &fid, NULL), 0);
    double expect = D * 0.25 + D * 1.0;
    if (fabs(fid - expect) > 0.15 * expect) {
        fail_msg("FID %.3f, closed form %.3f", fid, expect);
    }
    fid_stats_destroy(&sa);
    fid_stats_destroy(&sb);
    free(a);
    free(b);
}

static void test_coverage(void **state)
{
    (void)state;
    // 100 samples: 60 confident "3", 40 unsure "8"
    float *p = calloc(100 * 10, sizeof(float));
    for (int i = 0; i < 100; i++) {
        if (i < 60) {
            p[i * 10 + 3] = 0.95f;
            p[i * 10 + 1] = 0.05f;
        } else {
            p[i * 10 + 8] = 0.5f;
            p[i * 10 + 2] = 0.4f;
            p[i * 10 + 0] = 0.1f;
        }
    }
    double real[10];
    for (int k = 0; k < 10; k++) {
        real[k] = 0.1;
    }
    coverage_t c;
    coverage_compute(p, 100, real, &c);
    assert_int_equal(c.classes_present, 2);
    assert_true(fabs(c.share[3] - 0.6) < 1e-9 && fabs(c.share[8] - 0.4) < 1e-9);
    assert_true(fabs(c.confident - 0.6) < 1e-9);
    assert_true(fabs(c.group[1] - 0.6) < 1e-9 && fabs(c.group[2] - 0.4) < 1e-9);
    assert_true(fabs(c.tv_from_real - 0.8) < 1e-9);
    assert_true(c.entropy > 0 && c.entropy < 0.5);
    // drawn for labels 3 (the first 50) and 8: the 50 "3"s, 10 more "3"s
    // drawn for 8 and 40 "8"s agree 50 + 40 times in 100
    unsigned char y[100];
    for (int i = 0; i < 100; i++) {
        y[i] = i < 50 ? 3 : 8;
    }
    assert_true(fabs(coverage_label_agreement(p, y, 100) - 0.9) < 1e-9);
    assert_true(coverage_label_agreement(p, y, 0) == 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fid_usage),
        cmocka_unit_test(test_fid_grows_with_noise),
        cmocka_unit_test(test_fid_closed_form),
        cmocka_unit_test(test_coverage),
    };
    return cmocka_run_group_tests_name("fid", tests, NULL, NULL);
}
