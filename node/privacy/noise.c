/* noise.c - Laplace noise and the L1 clip (see noise.h). */
#include "node/privacy/noise.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>

#include "crypto/envelope.h"

void noise_laplace_add(float *w, size_t n, double b)
{
    if (b <= 0) {
        return;
    }
    uint64_t r[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        randombytes_buf(r, k * sizeof r[0]);
        for (size_t j = 0; j < k; j++) {
            // 53 random bits give u uniform in (0, 1), never 0 or 1; the
            // inverse CDF of Laplace(0, b) is -b sgn(u - 1/2) ln(1 - 2|u - 1/2|).
            double u = ((double)(r[j] >> 11) + 0.5) / 9007199254740992.0;
            double x = u < 0.5 ? b * log(2.0 * u) : -b * log(2.0 * (1.0 - u));
            w[i + j] += (float)x;
        }
    }
}

double noise_clip_l1(float *v, size_t n, double c)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        norm += fabs((double)v[i]);
    }
    if (norm > c && norm > 0) {
        float s = (float)(c / norm);
        for (size_t i = 0; i < n; i++) {
            v[i] *= s;
        }
    }
    return norm;
}

double noise_member_release(float *w, const float *global, size_t n, int mechanism, double clip,
                            double scale)
{
    double norm = 0;
    if (mechanism == NOISE_LAPLACE_CLIPPED) {
        for (size_t i = 0; i < n; i++) {
            w[i] -= global[i];
        }
        norm = noise_clip_l1(w, n, clip);
        for (size_t i = 0; i < n; i++) {
            w[i] += global[i];
        }
    }
    if (mechanism == NOISE_PAPER || mechanism == NOISE_LAPLACE_CLIPPED) {
        noise_laplace_add(w, n, scale);
    }
    return norm;
}
