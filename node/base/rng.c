/* rng.c - xoshiro256** with normal, gamma and permutation helpers. */
#include "node/base/rng.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t s_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(rng_t *rng, uint64_t seed)
{
    assert(rng);
    for (int i = 0; i < 4; i++) {
        // splitmix64 spreads one seed over the 256-bit state
        seed += 0x9e3779b97f4a7c15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        rng->s[i] = z ^ (z >> 31);
    }
    rng->has_spare = 0;
    rng->spare = 0;
}

uint64_t rng_u64(rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_t *rng) { return (double)(rng_u64(rng) >> 11) * 0x1.0p-53; }

uint64_t rng_below(rng_t *rng, uint64_t n)
{
    assert(n > 0);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

double rng_normal(rng_t *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u, v, s;
    do { // Marsaglia's polar method
        u = 2.0 * rng_uniform(rng) - 1.0;
        v = 2.0 * rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    rng->spare = v * f;
    rng->has_spare = 1;
    return u * f;
}

double rng_gamma(rng_t *rng, double shape)
{
    assert(shape > 0);
    if (shape < 1.0) {
        // boost: Gamma(a) = Gamma(a + 1) * U^(1/a)
        double u = rng_uniform(rng);
        return rng_gamma(rng, shape + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(rng);
        double v = 1.0 + c * x;
        if (v <= 0) {
            continue;
        }
        v = v * v * v;
        double u = rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x) {
            return d * v;
        }
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

void rng_permutation(rng_t *rng, uint32_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint32_t)i;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(rng, i);
        uint32_t t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
    }
}

void rng_normal_floats(rng_t *rng, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = (float)rng_normal(rng);
    }
}

void rng_to_text(const rng_t *rng, char out[RNG_TEXT_BYTES])
{
    snprintf(out, RNG_TEXT_BYTES, "%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64
             ":%d:%a", rng->s[0], rng->s[1], rng->s[2], rng->s[3], rng->has_spare != 0,
             rng->spare);
}

int rng_from_text(rng_t *rng, const char *text)
{
    rng_t r;
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        char *end;
        // exactly 16 hex digits, then ':'
        for (int d = 0; d < 16; d++) {
            if (!((p[d] >= '0' && p[d] <= '9') || (p[d] >= 'a' && p[d] <= 'f'))) {
                return -1;
            }
        }
        r.s[i] = strtoull(p, &end, 16);
        if (end != p + 16 || *end != ':') {
            return -1;
        }
        p = end + 1;
    }
    if ((p[0] != '0' && p[0] != '1') || p[1] != ':') {
        return -1;
    }
    r.has_spare = p[0] == '1';
    char *end;
    r.spare = strtod(p + 2, &end);
    if (end == p + 2 || (*end && *end != ' ' && *end != '\n') || !isfinite(r.spare) ||
        (r.s[0] | r.s[1] | r.s[2] | r.s[3]) == 0) {
        return -1; // xoshiro's all-zero state never leaves zero
    }
    *rng = r;
    return 0;
}
