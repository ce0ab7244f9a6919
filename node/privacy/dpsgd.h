/* dpsgd.h - the private parts of one DP-SGD step (Abadi et al. 2016).
 *
 * Which records a step sees: Poisson subsampling, each of the n records
 * independently with probability q (the sampling the accountant of
 * ledger/budget.h assumes: budget_dpsgd_epsilon).  What a record can move:
 * its gradient g_i is clipped to L2 norm C, min(1, C / |g_i|) g_i, before
 * it is summed.  What hides it: Gaussian noise of standard deviation
 * sigma * C on every coordinate of the sum, which is then divided by the
 * expected batch q * n.  The sample and the noise come from libsodium's
 * CSPRNG (noise.h), never from the seeded training generator: a noise that
 * could be replayed could be subtracted.
 *
 * The caller computes each record's gradient (gan_train.c: the
 * discriminator's loss on one real image at a time, docs/privacy.md).
 *
 * Usage: see tests/privacy/test_dpsgd.c
 */
#ifndef FS_PRIVACY_DPSGD_H
#define FS_PRIVACY_DPSGD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double q;     // sampling rate of each record per step, 0 < q <= 1
    double sigma; // noise multiplier: the noise's deviation is sigma * clip
    double clip;  // C, the L2 bound of one record's gradient (> 0)
} dpsgd_config_t;

// Poisson subsample of records 0..n-1 at rate q into idx (ascending; room
// for n); returns how many.  Drawn by geometric gaps between the chosen
// records: about q * n uniforms, not n.
size_t dpsgd_sample(uint32_t n, double q, uint32_t *idx);
// sum += min(1, clip / |g|) g over n floats; returns |g| (L2, before the clip).
double dpsgd_add_clipped(float *sum, const float *g, size_t n, double clip);
// sum = (sum + N(0, (sigma clip)^2) per coordinate) / expected, expected
// being the expected batch q * records.
void dpsgd_noise_and_scale(float *sum, size_t n, double sigma, double clip, double expected);

#endif
