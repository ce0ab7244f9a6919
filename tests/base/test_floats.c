/* test_floats.c - floats_first_nonfinite: where the first NaN or infinity
 * is, in short vectors, across the scan's blocks and at the very end. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/base/floats.h"

static void test_floats_usage(void **state)
{
    (void)state;
    float w[5] = {0.0f, -1.5f, 3e38f, -0.0f, 1e-45f}; // huge and subnormal are finite
    assert_int_equal(floats_first_nonfinite(w, 5), 5);
    w[3] = NAN;
    assert_int_equal(floats_first_nonfinite(w, 5), 3);
    w[1] = -INFINITY;
    assert_int_equal(floats_first_nonfinite(w, 5), 1);
    assert_int_equal(floats_first_nonfinite(w, 0), 0);
}

static void test_floats_every_position(void **state)
{
    (void)state;
    // 3 blocks and a tail: a bad value is found wherever it sits
    const size_t n = 3 * 1024 + 7;
    float *w = calloc(n, sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) {
        w[i] = (float)i - 1000.0f;
    }
    assert_int_equal(floats_first_nonfinite(w, n), n);
    const size_t at[] = {0, 1, 1023, 1024, 2047, 3072, n - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        float keep = w[at[k]];
        w[at[k]] = k % 2 ? INFINITY : NAN;
        assert_int_equal(floats_first_nonfinite(w, n), at[k]);
        assert_int_equal(floats_first_nonfinite(w, at[k]), at[k]); // just before it: clean
        w[at[k]] = keep;
    }
    free(w);
}

// One step of a moving average: avg + (1 - decay)(w - avg) element by
// element; decay 1 keeps avg, decay 0 takes w, equal inputs stay put.
static void test_floats_lerp(void **state)
{
    (void)state;
    float avg[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    const float w[4] = {3.0f, 2.0f, 0.5f, -1.0f};
    floats_lerp(avg, w, 4, 0.75f);
    const float want[4] = {1.5f, -1.0f, 0.5f, 2.0f}; // exact in binary
    assert_memory_equal(avg, want, sizeof want);
    floats_lerp(avg, w, 4, 1.0f);
    assert_memory_equal(avg, want, sizeof want);
    floats_lerp(avg, w, 4, 0.0f);
    assert_memory_equal(avg, w, sizeof w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floats_usage),
        cmocka_unit_test(test_floats_lerp),
        cmocka_unit_test(test_floats_every_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
