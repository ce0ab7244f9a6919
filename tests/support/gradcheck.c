/* gradcheck.c - see gradcheck.h. */
#include "tests/support/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/rng.h"

#define DROPOUT_SEED 77

static double s_loss(model_t *m, const float *x, int n, const float *r)
{
    model_seed_dropout(m, DROPOUT_SEED);
    const float *y = model_forward(m, x, n, true);
    double sum = 0;
    size_t e = (size_t)n * model_output_size(m);
    for (size_t i = 0; i < e; i++) {
        sum += (double)r[i] * (double)y[i];
    }
    return sum;
}

static double s_rel(double a, double b)
{
    double d = fabs(a - b);
    double s = fabs(a) + fabs(b);
    return s < 1e-4 ? d / 1e-4 * 1e-2 : d / s; // tiny gradients: absolute
}

gradcheck_result_t gradcheck_model(model_t *m, float *x, int n, int samples,
                                   double h, uint64_t seed)
{
    gradcheck_result_t res = {0, 0, 0};
    rng_t rng;
    rng_seed(&rng, seed);
    size_t out_n = (size_t)n * model_output_size(m);
    size_t in_n = (size_t)n * model_input_size(m);
    float *r = malloc(sizeof(float) * out_n);
    for (size_t i = 0; i < out_n; i++) {
        r[i] = (float)(2 * rng_uniform(&rng) - 1);
    }
    // analytic
    s_loss(m, x, n, r);
    memcpy(model_output_grad(m), r, sizeof(float) * out_n);
    model_zero_grads(m);
    const float *dx = model_backward(m, true);
    float *dx_copy = malloc(sizeof(float) * in_n);
    memcpy(dx_copy, dx, sizeof(float) * in_n);
    size_t np = model_param_count(m);
    float *dp = malloc(sizeof(float) * np);
    memcpy(dp, model_grads(m), sizeof(float) * np);

    float *p = model_params(m);
    for (int s = 0; s < samples && np > 0; s++) {
        size_t i = (size_t)rng_below(&rng, np);
        float keep = p[i];
        p[i] = (float)((double)keep + h);
        double lp = s_loss(m, x, n, r);
        p[i] = (float)((double)keep - h);
        double lm = s_loss(m, x, n, r);
        p[i] = keep;
        double num = (lp - lm) / (2 * h);
        double e = s_rel(num, (double)dp[i]);
        res.max_rel_param = e > res.max_rel_param ? e : res.max_rel_param;
        res.checked++;
    }
    for (int s = 0; s < samples; s++) {
        size_t i = (size_t)rng_below(&rng, in_n);
        float keep = x[i];
        x[i] = (float)((double)keep + h);
        double lp = s_loss(m, x, n, r);
        x[i] = (float)((double)keep - h);
        double lm = s_loss(m, x, n, r);
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        double e = s_rel(num, (double)dx_copy[i]);
        res.max_rel_input = e > res.max_rel_input ? e : res.max_rel_input;
        res.checked++;
    }
    free(r);
    free(dx_copy);
    free(dp);
    return res;
}
