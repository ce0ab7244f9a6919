/* budget.c - per-round epsilon and composition (formulas in budget.h). */
#include "ledger/budget.h"

#include <math.h>

#include "crypto/envelope.h"

budget_params_t budget_params_of(const genesis_t *g)
{
    return (budget_params_t){.mechanism = g->mechanism,
                             .clip = g->clip,
                             .member_scale = g->member_scale,
                             .agg_scale = g->agg_scale,
                             .delta = g->delta};
}

int budget_is_formal(int mechanism)
{
    return mechanism == NOISE_LAPLACE_CLIPPED || mechanism == NOISE_GAUSSIAN_CLIPPED;
}

// The Gaussian's RDP slope rho of one member's release.
static double s_member_rho(const budget_params_t *p)
{
    return 4 * p->clip * p->clip / (2 * p->member_scale * p->member_scale);
}

static double s_aggregate_rho(const budget_params_t *p, double max_weight)
{
    double rho = s_member_rho(p);
    if (p->agg_scale > 0) {
        double s = 2 * p->clip * max_weight;
        double by_agg = s * s / (2 * p->agg_scale * p->agg_scale);
        rho = by_agg < rho ? by_agg : rho;
    }
    return rho;
}

double budget_member_epsilon(const budget_params_t *p)
{
    if (p->mechanism == NOISE_LAPLACE_CLIPPED) {
        return 2 * p->clip / p->member_scale;
    }
    if (p->mechanism == NOISE_GAUSSIAN_CLIPPED) {
        return budget_rdp_linear_epsilon(s_member_rho(p), p->delta);
    }
    return 0;
}

double budget_aggregate_epsilon(const budget_params_t *p, double max_weight)
{
    if (p->mechanism == NOISE_GAUSSIAN_CLIPPED) {
        return budget_rdp_linear_epsilon(s_aggregate_rho(p, max_weight), p->delta);
    }
    double eps = budget_member_epsilon(p);
    if (eps > 0 && p->agg_scale > 0) {
        double by_agg = 2 * p->clip * max_weight / p->agg_scale;
        eps = by_agg < eps ? by_agg : eps;
    }
    return eps;
}

double budget_composed_epsilon(const budget_params_t *p, uint64_t k)
{
    if (k == 0 || !budget_is_formal(p->mechanism)) {
        return 0;
    }
    if (p->mechanism == NOISE_GAUSSIAN_CLIPPED) {
        return budget_rdp_linear_epsilon((double)k * s_member_rho(p), p->delta);
    }
    return budget_pure_composed(k, budget_member_epsilon(p), p->delta);
}

double budget_pure_composed(uint64_t k, double eps, double delta)
{
    if (eps <= 0 || k == 0) {
        return 0;
    }
    double best = budget_advanced(k, eps, delta); // <= k eps already
    // eps-DP is eps^2/2-zCDP (Bun & Steinke 2016, Prop. 1.4); zCDP adds up
    // and converts as rho + 2 sqrt(rho ln(1/delta)) (their Prop. 1.3).
    double rho = (double)k * eps * eps / 2;
    double zcdp = rho + 2 * sqrt(rho * log(1 / delta));
    best = zcdp < best ? zcdp : best;
    double rdp = budget_laplace_rdp_epsilon(k, eps, delta);
    return rdp < best ? rdp : best;
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

// An RDP curve alpha -> rdp(alpha) of k composed rounds.
typedef struct {
    int laplace;  // 0: alpha rho (Gaussian), 1: k times Laplace's curve at eps
    double rho;   // Gaussian: the slope of all rounds together
    double k, eps; // Laplace: rounds and per-round eps
} s_curve_t;

// Laplace mechanism's RDP at order alpha with eps = sensitivity / b
// (Mironov 2017, Table II):
//   1/(alpha-1) ln( alpha/(2alpha-1) e^((alpha-1) eps) + (alpha-1)/(2alpha-1) e^(-alpha eps) )
// = eps + ln(1 + (alpha-1)/(2alpha-1) (e^((1-2alpha) eps) - 1)) / (alpha-1),
// the second form being the one that neither overflows nor cancels.
static double s_laplace_rdp(double alpha, double eps)
{
    double t = (alpha - 1) / (2 * alpha - 1) * expm1((1 - 2 * alpha) * eps);
    return eps + log1p(t) / (alpha - 1);
}

// The conversion at one order alpha (Canonne, Kamath & Steinke 2020).
static double s_rdp_to_eps(const s_curve_t *c, double delta, double alpha)
{
    double rdp = c->laplace ? c->k * s_laplace_rdp(alpha, c->eps) : alpha * c->rho;
    double eps = rdp + log1p(-1 / alpha) - (log(delta) + log(alpha)) / (alpha - 1);
    return eps > 0 ? eps : 0;
}

static double s_rdp_minimum(const s_curve_t *c, double delta);

double budget_rdp_linear_epsilon(double rho, double delta)
{
    if (!(rho > 0) || !(delta > 0) || delta >= 1) {
        return rho > 0 ? INFINITY : 0;
    }
    s_curve_t c = {.laplace = 0, .rho = rho};
    return s_rdp_minimum(&c, delta);
}

double budget_laplace_rdp_epsilon(uint64_t k, double eps, double delta)
{
    if (!(eps > 0) || k == 0 || !(delta > 0) || delta >= 1) {
        return eps > 0 && k > 0 ? INFINITY : 0;
    }
    s_curve_t c = {.laplace = 1, .k = (double)k, .eps = eps};
    return s_rdp_minimum(&c, delta);
}

static double s_rdp_minimum(const s_curve_t *c, double delta)
{
    // The minimum over alpha > 1.  A fixed log grid finds the bracket, and a
    // fixed number of golden-section steps refines it: every verifier does
    // the same arithmetic, so the recorded value reproduces to the last bit
    // on the same libm and to far below budget_same's 1e-9 elsewhere.
    enum { GRID = 160 };
    double best_x = 0, best = INFINITY;
    for (int i = 0; i <= GRID; i++) {
        double x = -4 + 10.0 * i / GRID; // alpha - 1 from 1e-4 to 1e6
        double e = s_rdp_to_eps(c, delta, 1 + pow(10, x));
        if (e < best) {
            best = e;
            best_x = x;
        }
    }
    double lo = best_x - 10.0 / GRID, hi = best_x + 10.0 / GRID;
    const double phi = 0.6180339887498949;
    double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    double fa = s_rdp_to_eps(c, delta, 1 + pow(10, a));
    double fb = s_rdp_to_eps(c, delta, 1 + pow(10, b));
    for (int i = 0; i < 60; i++) {
        if (fa < fb) {
            hi = b;
            b = a;
            fb = fa;
            a = hi - phi * (hi - lo);
            fa = s_rdp_to_eps(c, delta, 1 + pow(10, a));
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + phi * (hi - lo);
            fb = s_rdp_to_eps(c, delta, 1 + pow(10, b));
        }
    }
    double refined = fa < fb ? fa : fb;
    return refined < best ? refined : best;
}

int budget_same(double a, double b)
{
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= 1e-9 * (scale > 1 ? scale : 1);
}

// --- DP-SGD: the Poisson-subsampled Gaussian mechanism -------------------

// log(e^a + e^b) and log(e^a - e^b) (a >= b), without overflow.
#define NEG_INF (-(double)INFINITY)

static double s_log_add(double a, double b)
{
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi == NEG_INF ? NEG_INF : hi + log1p(exp(lo - hi));
}

static double s_log_sub(double a, double b)
{
    return b == NEG_INF ? a : a + log(-expm1(b - a));
}

// log(erfc(x)), also where erfc underflows (its asymptotic series).
static double s_log_erfc(double x)
{
    if (x < 25) {
        return log(erfc(x));
    }
    const double x2 = x * x;
    return -x2 - log(x) - 0.5 * log(M_PI) + log1p(-1 / (2 * x2) + 3 / (4 * x2 * x2));
}

// log A_alpha at integer alpha: sum_k C(alpha,k) (1-q)^(alpha-k) q^k e^((k^2-k)/(2 sigma^2)).
static double s_log_a_int(double q, double sigma, int alpha)
{
    double log_a = NEG_INF, log_coef = 0; // log C(alpha, k)
    for (int k = 0; k <= alpha; k++) {
        if (k > 0) {
            log_coef += log((double)(alpha - k + 1)) - log((double)k);
        }
        double t = log_coef + k * log(q) + (alpha - k) * log1p(-q) +
                   ((double)k * k - k) / (2 * sigma * sigma);
        log_a = s_log_add(log_a, t);
    }
    return log_a;
}

// log A_alpha at fractional alpha: the two series of Mironov et al. 2019
// (section 3.3), summed until their terms fall below e^-30.
static double s_log_a_frac(double q, double sigma, double alpha)
{
    double log_a0 = NEG_INF, log_a1 = NEG_INF;
    const double z0 = sigma * sigma * log(1 / q - 1) + 0.5;
    double log_coef = 0; // log |C(alpha, i)|
    int sign = 1;
    for (int i = 0; i < 100000; i++) {
        if (i > 0) {
            const double f = (alpha - (i - 1)) / i;
            log_coef += log(fabs(f));
            sign = f < 0 ? -sign : sign;
        }
        const double j = alpha - i;
        const double log_t0 = log_coef + i * log(q) + j * log1p(-q);
        const double log_t1 = log_coef + j * log(q) + i * log1p(-q);
        const double log_e0 = log(0.5) + s_log_erfc((i - z0) / (M_SQRT2 * sigma));
        const double log_e1 = log(0.5) + s_log_erfc((z0 - j) / (M_SQRT2 * sigma));
        const double log_s0 = log_t0 + ((double)i * i - i) / (2 * sigma * sigma) + log_e0;
        const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
        if (sign > 0) {
            log_a0 = s_log_add(log_a0, log_s0);
            log_a1 = s_log_add(log_a1, log_s1);
        } else {
            log_a0 = s_log_sub(log_a0, log_s0);
            log_a1 = s_log_sub(log_a1, log_s1);
        }
        if ((log_s0 > log_s1 ? log_s0 : log_s1) < -30) {
            break;
        }
    }
    return s_log_add(log_a0, log_a1);
}

double budget_dpsgd_rdp(double q, double sigma, double alpha)
{
    if (q <= 0) {
        return 0;
    }
    if (q >= 1) {
        return alpha / (2 * sigma * sigma);
    }
    const double log_a = alpha == floor(alpha) ? s_log_a_int(q, sigma, (int)alpha)
                                               : s_log_a_frac(q, sigma, alpha);
    return log_a / (alpha - 1);
}

// The orders tried: 1.1 to 10.9 by tenths, 12 to 24, and 32, 48, 64, 128,
// 256, 512 (fractional and integer; as TensorFlow Privacy's defaults, denser
// where DP-SGD's optimum usually lies).
static double s_order(int i)
{
    static const double tail[] = {32, 48, 64, 128, 256, 512};
    return i < 99 ? 1.0 + (i + 1) / 10.0 : i < 112 ? 12.0 + (i - 99) : tail[i - 112];
}

double budget_dpsgd_order(int i)
{
    return s_order(i);
}

void budget_dpsgd_curve(double q, double sigma, double curve[BUDGET_DPSGD_ORDERS])
{
    for (int i = 0; i < BUDGET_DPSGD_ORDERS; i++) {
        curve[i] = budget_dpsgd_rdp(q, sigma, s_order(i));
    }
}

double budget_curve_epsilon(const double rdp[BUDGET_DPSGD_ORDERS], double delta)
{
    double best = (double)INFINITY;
    for (int i = 0; i < BUDGET_DPSGD_ORDERS; i++) {
        const double a = s_order(i);
        const double eps = rdp[i] + log1p(-1 / a) - (log(delta) + log(a)) / (a - 1);
        best = eps < best ? eps : best;
    }
    return best > 0 ? best : 0;
}

double budget_dpsgd_epsilon(double q, double sigma, uint64_t steps, double delta, int classic,
                            double *alpha_out)
{
    double best = (double)INFINITY, best_alpha = 0;
    for (int i = 0; i < BUDGET_DPSGD_ORDERS; i++) {
        const double a = s_order(i);
        const double rdp = (double)steps * budget_dpsgd_rdp(q, sigma, a);
        const double eps = classic ? rdp + log(1 / delta) / (a - 1)
                                   : rdp + log1p(-1 / a) - (log(delta) + log(a)) / (a - 1);
        if (eps < best) {
            best = eps;
            best_alpha = a;
        }
    }
    if (alpha_out) {
        *alpha_out = best_alpha;
    }
    return best > 0 ? best : 0;
}

double budget_dpsgd_sigma(double q, uint64_t steps, double delta, double target)
{
    double lo = 1e-2, hi = 1e4;
    if (budget_dpsgd_epsilon(q, hi, steps, delta, 0, NULL) > target) {
        return (double)INFINITY;
    }
    for (int i = 0; i < 100; i++) {
        const double mid = sqrt(lo * hi);
        if (budget_dpsgd_epsilon(q, mid, steps, delta, 0, NULL) > target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}
