/* fedavg.h - the aggregation of one round (FedSyn's equation 2):
 *
 *     W'_G = sum_i p_i w_i + L_G,   p_i = n_i / sum_k n_k
 *
 * where each w_i already carries its member's noise (equation 1) and L_G is
 * the aggregator's Laplace(b_G) noise.  Pure arithmetic over flat vectors;
 * the weights p_i are the ones the block records (ledger/assemble.c) and
 * the sum runs in double so that the order of members does not change the
 * result beyond float rounding.
 *
 * Usage: see tests/fed/test_fedavg.c
 */
#ifndef FS_FED_FEDAVG_H
#define FS_FED_FEDAVG_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"

// out[0..n) = sum_i p_i w[i][0..n) with p_i = samples[i] / sum samples.
// FS_EINVAL when k == 0 or the samples sum to 0.
int fedavg_weighted(float *out, const float *const *w, const uint64_t *samples, size_t k,
                    size_t n, fs_err_t *err) __attribute__((warn_unused_result));
// The whole of equation 2: the weighted average, then the aggregator's noise
// of scale agg_scale under the mechanism (Laplace, or Gaussian for
// NOISE_GAUSSIAN_CLIPPED; node/privacy/noise.h).
int fedavg_aggregate(float *out, const float *const *w, const uint64_t *samples, size_t k,
                     size_t n, int mechanism, double agg_scale, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
