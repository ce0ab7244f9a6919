/* fedavg.h - the aggregation of one round (FedSyn's equation 2):
 *
 *     W'_G = sum_i p_i w_i + L_G,   p_i = n_i / sum_k n_k
 *
 * where each w_i already carries its member's noise (equation 1) and L_G is
 * the aggregator's Laplace(b_G) noise.  A genesis may ask for a server step
 * eta on the averaged update (FedOpt's server learning rate, Reddi et al.
 * 2021; docs/ledger.md §5): W'_G = W_G + eta (sum_i p_i w_i - W_G) + L_G,
 * where W_G is the round's starting global model; eta 1 is equation 2.  It
 * only post-processes the members' noised releases, so the privacy
 * accounting is unchanged.  Pure arithmetic over flat vectors;
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
// out[0..n) = prev + eta (out - prev), in place on the average in out.
void fedavg_server_step(float *out, const float *prev, size_t n, double eta);
// The whole of equation 2: the weighted average, the server step eta from
// prev (the round's starting global; may be NULL when eta is 1), then the
// aggregator's noise of scale agg_scale under the mechanism (Laplace, or
// Gaussian for NOISE_GAUSSIAN_CLIPPED; node/privacy/noise.h).
int fedavg_aggregate(float *out, const float *const *w, const uint64_t *samples, size_t k,
                     size_t n, const float *prev, double eta, int mechanism,
                     double agg_scale, fs_err_t *err) __attribute__((warn_unused_result));

#endif
