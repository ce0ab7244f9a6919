/* budget.c - per-round epsilon and composition (formulas in budget.h). */
#include "ledger/budget.h"

#include <math.h>

#include "crypto/envelope.h"

int budget_is_formal(int mechanism)
{
    return mechanism == NOISE_LAPLACE_CLIPPED;
}

double budget_member_epsilon(int mechanism, double clip, double member_scale)
{
    if (!budget_is_formal(mechanism)) {
        return 0;
    }
    return 2 * clip / member_scale;
}

double budget_aggregate_epsilon(int mechanism, double clip, double member_scale,
                                double agg_scale, double max_weight)
{
    double eps = budget_member_epsilon(mechanism, clip, member_scale);
    if (eps > 0 && agg_scale > 0) {
        double by_agg = 2 * clip * max_weight / agg_scale;
        if (by_agg < eps) {
            eps = by_agg;
        }
    }
    return eps;
}

double budget_advanced(uint64_t k, double eps, double delta)
{
    if (eps <= 0 || k == 0) {
        return 0;
    }
    double kd = (double)k;
    double adv = eps * sqrt(2 * kd * log(1 / delta)) + kd * eps * expm1(eps);
    return adv < kd * eps ? adv : kd * eps;
}

int budget_same(double a, double b)
{
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= 1e-9 * (scale > 1 ? scale : 1);
}
