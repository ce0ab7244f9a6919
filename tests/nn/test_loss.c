/* test_loss.c - losses against finite differences and extreme inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "node/nn/loss.h"

static void test_loss_usage(void **state)
{
    (void)state;
    // logits, targets, batch of 2 with one output each; grad is dLoss/dlogit
    float z[2] = {0, 0}, t[2] = {1, 0}, g[2];
    double l = loss_bce_logits(z, t, 2, 1, g);
    assert_true(fabs(l - log(2.0)) < 1e-6);
    assert_true(fabs((double)g[0] + 0.25) < 1e-6 && fabs((double)g[1] - 0.25) < 1e-6);
}

static void test_bce_is_stable_for_huge_logits(void **state)
{
    (void)state;
    float z[4] = {1000, -1000, 1000, -1000}, t[4] = {1, 0, 0, 1}, g[4];
    double l = loss_bce_logits(z, t, 4, 1, g);
    assert_true(isfinite(l));
    assert_true(fabs(l - 500.0) < 1e-3); // two perfect, two off by 1000
    for (int i = 0; i < 4; i++) {
        assert_true(isfinite(g[i]));
    }
}

typedef double (*s_loss_fn)(float *x, float *g);

static float s_t[6] = {1, 0, 0.3f, 0.7f, 0, 1};
static uint8_t s_lab[2] = {2, 0};

static double s_bce(float *x, float *g) { return loss_bce_logits(x, s_t, 2, 3, g); }
static double s_mse(float *x, float *g) { return loss_mse(x, s_t, 2, 3, g); }
static double s_xent(float *x, float *g) { return loss_softmax_xent(x, s_lab, 2, 3, g); }
static double s_hinge_d(float *x, float *g) { return loss_hinge_d(x, s_t, 6, g); }
static double s_hinge_g(float *x, float *g) { return loss_hinge_g(x, 6, g); }
static double s_kl_mu(float *x, float *g)
{
    float lv[6] = {0.1f, -0.2f, 0.3f, 0, 0.5f, -0.4f};
    return loss_kl_normal(x, lv, 2, 3, g, NULL);
}
static double s_kl_lv(float *x, float *g)
{
    float mu[6] = {0.1f, -0.2f, 0.3f, 0, 0.5f, -0.4f};
    return loss_kl_normal(mu, x, 2, 3, NULL, g);
}

// Three pairs of 2-value "images" (x) from 2-value latents; x is varied.
static double s_mode_seeking(float *x, float *g)
{
    const float z[6] = {0.5f, -1.0f, 1.5f, 0.2f, -0.3f, 0.8f};
    return loss_mode_seeking(x, z, 3, 2, 2, g); // 3 rows: one pair, an odd row
}

static void s_check(s_loss_fn f, const char *name)
{
    float x[6] = {0.3f, -1.2f, 2.0f, 0.7f, -0.1f, 1.5f}, g[6];
    f(x, g);
    for (int i = 0; i < 6; i++) {
        float keep = x[i];
        x[i] = keep + 1e-3f;
        double lp = f(x, NULL);
        x[i] = keep - 1e-3f;
        double lm = f(x, NULL);
        x[i] = keep;
        double num = (lp - lm) / ((double)(keep + 1e-3f) - (double)(keep - 1e-3f));
        if (fabs(num - (double)g[i]) > 1e-3 * (1 + fabs(num))) {
            fail_msg("%s: d/dx[%d] analytic %g numeric %g", name, i, (double)g[i], num);
        }
    }
}

static void test_loss_gradients(void **state)
{
    (void)state;
    s_check(s_bce, "bce");
    s_check(s_mse, "mse");
    s_check(s_xent, "softmax_xent");
    s_check(s_kl_mu, "kl (mu)");
    s_check(s_kl_lv, "kl (logvar)");
    s_check(s_hinge_d, "hinge (D)"); // no logit sits on a kink (|1 -/+ z| > 1e-3)
    s_check(s_hinge_g, "hinge (G)");
    s_check(s_mode_seeking, "mode seeking");
}

// MSGAN's term by its definition: pairs that differ more cost less, and
// identical pairs have the largest loss, 1 / 1e-5.
static void test_mode_seeking_definition(void **state)
{
    (void)state;
    const float z[8] = {0, 0, 1, 1, 0, 0, 0, 2}; // |z1 - z2| means 1 and 1
    const float x[8] = {0.0f, 0.5f, 1.0f, 0.5f, 0.2f, 0.2f, 0.2f, 0.6f};
    float g[8];
    // mean |x1 - x2| = (1 + 0 + 0 + 0.4) / 4 = 0.35; mean |z1 - z2| = 1
    const double want = 1.0 / (0.35 + 1e-5);
    assert_true(fabs(loss_mode_seeking(x, z, 4, 2, 2, g) - want) < 1e-5 * want);
    assert_true(g[0] > 0 && g[2] < 0); // x1 below x2: pushed down, x2 up
    assert_float_equal(g[1], 0.0f, 0); // equal values: no direction
    const float same[4] = {0.3f, 0.3f, 0.3f, 0.3f};
    assert_true(fabs(loss_mode_seeking(same, z, 2, 2, 2, NULL) - 1e5) < 1e-3);
}

// The hinge by its definition: real max(0, 1 - z), fake max(0, 1 + z);
// logits past the margin give nothing and no gradient.
static void test_hinge_definition(void **state)
{
    (void)state;
    const float z[4] = {0.25f, 3.0f, -0.5f, -2.0f}, t[4] = {1, 1, 0, 0};
    float g[4];
    assert_float_equal(loss_hinge_d(z, t, 4, g), (0.75 + 0 + 0.5 + 0) / 4, 1e-9);
    assert_float_equal(g[0], -0.25f, 1e-7);
    assert_float_equal(g[1], 0.0f, 0);
    assert_float_equal(g[2], 0.25f, 1e-7);
    assert_float_equal(g[3], 0.0f, 0);
    assert_float_equal(loss_hinge_g(z, 4, g), -(0.25 + 3.0 - 0.5 - 2.0) / 4, 1e-9);
    assert_float_equal(g[3], -0.25f, 1e-7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_usage),
        cmocka_unit_test(test_bce_is_stable_for_huge_logits),
        cmocka_unit_test(test_loss_gradients),
        cmocka_unit_test(test_hinge_definition),
        cmocka_unit_test(test_mode_seeking_definition),
    };
    return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
