/* budget.h - the privacy loss a round spends, as the ledger records it.
 *
 * Laplace (NOISE_LAPLACE_CLIPPED): a member releases
 * w_G + clip_C(w - w_G) + Laplace(b)^d with an L1 clip.  Replacing the
 * member's whole data set moves the clipped update by at most 2C in L1
 * norm, so one release is eps = 2C/b differentially private (the Laplace
 * mechanism, Dwork & Roth 2014, Thm 3.6).  Over k rounds epsilons add up
 * (basic composition); the tight total at the genesis delta is the smallest
 * of k eps, advanced composition eps sqrt(2k ln(1/delta)) + k eps (e^eps - 1)
 * (Dwork, Rothblum & Vadhan 2010), zCDP (eps^2/2 per round, Bun & Steinke
 * 2016) and the RDP accountant over the Laplace mechanism's Renyi curve
 * (Mironov 2017, Table II), each valid at delta.
 *
 * Gaussian (NOISE_GAUSSIAN_CLIPPED): an L2 clip C and N(0, sigma^2) per
 * parameter.  The L2 sensitivity is 2C, so one release has Renyi DP
 * alpha -> alpha rho with rho = (2C)^2 / (2 sigma^2) (Mironov 2017, Prop. 7),
 * k rounds have k rho, and the accountant turns that into (eps, delta) by
 * minimising over alpha rdp + ln((alpha-1)/alpha) - (ln delta + ln alpha)/(alpha-1)
 * (Canonne, Kamath & Steinke 2020, Prop. 12; Balle et al. 2020).  The
 * per-round figures are that conversion for one round at delta; the "basic"
 * total adds them up (valid at k delta), the tight total is the RDP one.
 *
 * The global model: the aggregate is post-processing of the members'
 * releases, so it spends at most what a member spends; the aggregator's own
 * noise on the weighted sum, whose sensitivity to member k is 2C p_k, also
 * bounds it on its own (2C max p_k / b_G; for Gaussian the RDP curve
 * (2C max p_k)^2 / (2 sigma_G^2)).  The recorded figure is the smaller.
 *
 * NOISE_NONE and NOISE_PAPER (noise without a clip: unbounded sensitivity)
 * give no formal guarantee and record 0, displayed as "none" - never a
 * made-up epsilon.  docs/privacy.md works the formulas out.
 * Usage: see tests/ledger/test_state.c
 */
#ifndef FS_LEDGER_BUDGET_H
#define FS_LEDGER_BUDGET_H

#include <stdint.h>

#include "ledger/block.h"

// A federation's DP settings (from its genesis).
typedef struct {
    int mechanism;       // noise_mechanism_t
    double clip;         // C: L1 (Laplace) or L2 (Gaussian) clip of an update
    double member_scale; // members' Laplace b, or Gaussian sigma
    double agg_scale;    // aggregator's b_G, or sigma_G
    double delta;        // delta of the (eps, delta) totals
} budget_params_t;

// The settings a genesis fixes.
budget_params_t budget_params_of(const genesis_t *g);
// 1 when the mechanism has a formal epsilon.
int budget_is_formal(int mechanism);
// Epsilon of one member's release in one round (0 when not formal).
double budget_member_epsilon(const budget_params_t *p);
// Epsilon of the round's global model given the largest weight p_k.
double budget_aggregate_epsilon(const budget_params_t *p, double max_weight);
// The tight total after k charged rounds: advanced composition (Laplace) or
// the RDP accountant (Gaussian); 0 when not formal or k == 0.
double budget_composed_epsilon(const budget_params_t *p, uint64_t k);
// Advanced composition of k rounds of eps each at delta (0 when eps is 0).
double budget_advanced(uint64_t k, double eps, double delta);
// The best (eps, delta) bound fedsyn knows for k rounds of an eps-DP
// mechanism: the smallest of basic, advanced, zCDP and the Laplace RDP
// accountant (all valid at delta).
double budget_pure_composed(uint64_t k, double eps, double delta);
// k rounds of the Laplace mechanism of eps each through its RDP curve.
double budget_laplace_rdp_epsilon(uint64_t k, double eps, double delta);
// (eps, delta) of a mechanism whose Renyi DP is alpha -> alpha rho for
// every alpha > 1 (Gaussian mechanisms and their compositions).
double budget_rdp_linear_epsilon(double rho, double delta);
// Equality for recorded doubles: relative 1e-9 (they are recomputed by
// every verifier, possibly in another language).
int budget_same(double a, double b);

// DP-SGD's record-level accountant (issue 21): the Renyi DP of one step of
// the Poisson-subsampled Gaussian mechanism at sampling rate q and noise
// multiplier sigma (Mironov, Talwar & Zhang 2019: the exact sum at integer
// orders, its two-sided series at fractional ones), at order alpha > 1.
double budget_dpsgd_rdp(double q, double sigma, double alpha);
// (eps, delta) after `steps` such steps: the minimum over
// BUDGET_DPSGD_ORDERS orders (1.1 to 512, fractional and integer) of the
// improved conversion (Balle et al. 2020), or of the classic one
// rdp + ln(1/delta)/(alpha-1) when classic is set (the improved is never
// looser).  *alpha_out (may be NULL) receives the order that gave it.
#define BUDGET_DPSGD_ORDERS 118
double budget_dpsgd_epsilon(double q, double sigma, uint64_t steps, double delta, int classic,
                            double *alpha_out);
// The i-th of those orders (0 <= i < BUDGET_DPSGD_ORDERS).
double budget_dpsgd_order(int i);
// One step's RDP at every order: curve[i] at budget_dpsgd_order(i).  RDP
// composes by addition, so a member's record-level loss over rounds of
// different (q, sigma, steps) is the sum of steps x curve (ledger/state.c).
void budget_dpsgd_curve(double q, double sigma, double curve[BUDGET_DPSGD_ORDERS]);
// (eps, delta) of an RDP curve at those orders: the improved conversion's
// minimum over them (as budget_dpsgd_epsilon).
double budget_curve_epsilon(const double rdp[BUDGET_DPSGD_ORDERS], double delta);
// The smallest noise multiplier whose eps after `steps` is at most target
// (bisection; INFINITY when even 1e4 does not reach it).
double budget_dpsgd_sigma(double q, uint64_t steps, double delta, double target);

#endif
