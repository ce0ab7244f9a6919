/* test_adam.c - the Adam optimiser (node/nn/adam.h) against its formula,
 * written out here in double precision (Kingma and Ba 2015, Alg. 1, with
 * eps added to sqrt(vhat) as Keras and PyTorch do). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/nn/adam.h"

static void test_adam_usage(void **state)
{
    (void)state;
    // two parameters, three steps of known gradients
    const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    adam_t *a = adam_new(2, (float)lr, (float)b1, (float)b2, (float)eps);
    float p[2] = {1.0f, -2.0f};
    const float g[3][2] = {{0.5f, 0.0f}, {-1.0f, 2.0f}, {0.25f, -3.0f}};
    double ref[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
    for (int t = 1; t <= 3; t++) {
        adam_step(a, p, g[t - 1]);
        for (int i = 0; i < 2; i++) {
            const double gi = (double)g[t - 1][i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mhat = m[i] / (1 - pow(b1, t)), vhat = v[i] / (1 - pow(b2, t));
            ref[i] -= lr * mhat / (sqrt(vhat) + eps);
            assert_float_equal(p[i], ref[i], 1e-6);
        }
    }
    assert_int_equal(a->t, 3);
    // Forgetting the moments starts the bias correction again: the first
    // step moves each parameter by about lr, whatever the gradient's size.
    adam_reset(a);
    assert_int_equal(a->t, 0);
    float q[2] = {0, 0};
    adam_step(a, q, (const float[2]){1000.0f, -1e-3f});
    assert_float_equal(q[0], -0.1f, 1e-6);
    assert_float_equal(q[1], 0.1f, 1e-3); // 1e-3 / (1e-3 + 1e-7)
    adam_destroy(&a);
    assert_null(a);
}

// A zero gradient leaves a fresh parameter where it is.
static void test_adam_zero_gradient(void **state)
{
    (void)state;
    adam_t *a = adam_new(3, 2e-4f, 0.5f, 0.999f, 1e-7f);
    float p[3] = {1, 2, 3};
    const float z[3] = {0, 0, 0};
    for (int t = 0; t < 5; t++) {
        adam_step(a, p, z);
    }
    assert_true(p[0] == 1 && p[1] == 2 && p[2] == 3);
    adam_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_usage),
        cmocka_unit_test(test_adam_zero_gradient),
    };
    return cmocka_run_group_tests_name("adam", tests, NULL, NULL);
}
