/* dpsgd.c - Poisson subsampling, per-record clipping and the Gaussian sum
 * of DP-SGD (see dpsgd.h). */
#include "node/privacy/dpsgd.h"

#include <assert.h>
#include <math.h>

#include "node/privacy/noise.h"

size_t dpsgd_sample(uint32_t n, double q, uint32_t *idx)
{
    assert(q > 0 && q <= 1);
    if (q >= 1) {
        for (uint32_t i = 0; i < n; i++) {
            idx[i] = i;
        }
        return n;
    }
    // The gap before the next chosen record is geometric: P(gap = k) =
    // (1 - q)^k q, i.e. floor(ln u / ln(1 - q)) for u uniform in (0, 1).
    // Uniforms are drawn in blocks of 64 (each block one CSPRNG key).
    const double lq = log1p(-q);
    double u[64];
    size_t m = 0, used = 64;
    double at = -1; // the last chosen record (double: gaps can be huge)
    for (;;) {
        if (used == 64) {
            noise_uniforms(u, 64);
            used = 0;
        }
        at += 1 + floor(log(u[used++]) / lq);
        if (at >= (double)n) {
            return m;
        }
        idx[m++] = (uint32_t)at;
    }
}

double dpsgd_add_clipped(float *sum, const float *g, size_t n, double clip)
{
    assert(clip > 0);
    double sq = 0;
    for (size_t i = 0; i < n; i++) {
        sq += (double)g[i] * (double)g[i];
    }
    const double norm = sqrt(sq);
    // the factor rounded down by one part in 1e6, so that float rounding of
    // the products cannot leave the clipped norm above clip
    const double s = norm > clip ? clip / norm * (1 - 1e-6) : 1.0;
    for (size_t i = 0; i < n; i++) {
        sum[i] += (float)(s * (double)g[i]);
    }
    return norm;
}

void dpsgd_noise_and_scale(float *sum, size_t n, double sigma, double clip, double expected)
{
    assert(sigma >= 0 && clip > 0 && expected > 0);
    noise_gaussian_add(sum, n, sigma * clip);
    const float inv = (float)(1.0 / expected);
    for (size_t i = 0; i < n; i++) {
        sum[i] *= inv;
    }
}
