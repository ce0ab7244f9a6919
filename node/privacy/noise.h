/* noise.h - what a member does to its weights before they leave the node,
 * and the aggregator's own noise (FedSyn's equations 1 and 2).
 *
 *   NOISE_NONE              w is sent as trained;
 *   NOISE_PAPER             w + Laplace(b) per parameter (the paper's mode:
 *                           no clip, so no formal guarantee);
 *   NOISE_LAPLACE_CLIPPED   w_G + clip_L1,C(w - w_G) + Laplace(b): the update
 *                           is scaled down to L1 norm C first, which bounds
 *                           the sensitivity and makes the release (2C/b)-DP;
 *   NOISE_GAUSSIAN_CLIPPED  w_G + clip_L2,C(w - w_G) + N(0, sigma^2), with
 *                           sigma = b: Renyi DP, accounted in ledger/budget.h
 *                           (docs/privacy.md).
 * The aggregator adds Laplace(b_G), or N(0, b_G^2) under the Gaussian
 * mechanism, to the weighted average.
 * Noise comes from libsodium's CSPRNG (randombytes), never from the seeded
 * training generator: reproducible noise would be removable noise.
 *
 * Usage: see tests/fed/test_fedavg.c
 */
#ifndef FS_PRIVACY_NOISE_H
#define FS_PRIVACY_NOISE_H

#include <stddef.h>

// Adds independent Laplace(0, b) noise to each of w[0..n) (b > 0; b == 0
// adds nothing).
void noise_laplace_add(float *w, size_t n, double b);
// Adds independent N(0, sigma^2) noise to each of w[0..n) (sigma == 0 adds
// nothing).
void noise_gaussian_add(float *w, size_t n, double sigma);
// n independent uniforms in (0, 1) from the same CSPRNG (DP-SGD's
// subsampling, dpsgd.h).
void noise_uniforms(double *u, size_t n);
// Scales v[0..n) down so that its L1 norm is at most c; returns the norm
// before clipping.
double noise_clip_l1(float *v, size_t n, double c);
// The same with the L2 norm.
double noise_clip_l2(float *v, size_t n, double c);
// Applies the member's mechanism to its trained weights w in place;
// global holds the weights it started from (used by the clipped modes).
// Returns the norm of the update before clipping (0 unless clipped).
double noise_member_release(float *w, const float *global, size_t n, int mechanism, double clip,
                            double scale);
// The aggregator's noise of scale agg_scale under the federation's mechanism.
void noise_aggregate_add(float *w, size_t n, int mechanism, double agg_scale);

#endif
