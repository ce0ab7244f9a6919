/* budget.h - the privacy loss a round spends, as the ledger records it.
 *
 * With NOISE_LAPLACE_CLIPPED a member releases w_G + clip_C(w - w_G) +
 * Laplace(b)^d.  Replacing the member's whole data set moves the clipped
 * update by at most 2C in L1 norm, so the release is epsilon = 2C/b
 * differentially private (the Laplace mechanism, Dwork & Roth 2014, Thm 3.6).
 * The global model is post-processing of the members' releases, so it is at
 * most that; the aggregator's own Laplace(b_G) on the weighted sum, whose
 * sensitivity to member k is 2C p_k, also bounds it by 2C max_k p_k / b_G.
 * Over k rounds epsilons add up (basic composition) or, for a chosen delta,
 * compose as min(k eps, eps sqrt(2k ln(1/delta)) + k eps (e^eps - 1))
 * (advanced composition, Dwork, Rothblum & Vadhan 2010).  NOISE_NONE and
 * NOISE_PAPER (noise without a clip: unbounded sensitivity) give no formal
 * guarantee and record 0, displayed as "none" - never a made-up epsilon.
 * docs/privacy.md works the formulas out.  Usage: see tests/ledger/test_state.c
 */
#ifndef FS_LEDGER_BUDGET_H
#define FS_LEDGER_BUDGET_H

#include <stdint.h>

// 1 when the mechanism has a formal epsilon.
int budget_is_formal(int mechanism);
// Epsilon of one member's release in one round (0 when not formal).
double budget_member_epsilon(int mechanism, double clip, double member_scale);
// Epsilon of the round's global model given the largest weight p_k.
double budget_aggregate_epsilon(int mechanism, double clip, double member_scale,
                                double agg_scale, double max_weight);
// Advanced composition of k rounds of eps each at delta (0 when eps is 0).
double budget_advanced(uint64_t k, double eps, double delta);
// Equality for recorded doubles: relative 1e-9 (they are recomputed by
// every verifier, possibly in another language).
int budget_same(double a, double b);

#endif
