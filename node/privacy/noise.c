/* noise.c - Laplace and Gaussian noise, the L1 and L2 clips (see noise.h). */
#include "node/privacy/noise.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "crypto/envelope.h"
#include "node/base/mem.h"

// A stream of uniforms in (0, 1) from one 32-byte key of the system's
// CSPRNG, expanded by ChaCha20 in user space: randombytes_buf would make one
// getrandom() system call per block and is four times slower on 1.2 M
// weights.  Wiped by s_stream_wipe.
typedef struct {
    uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
    uint32_t block; // ChaCha20 64-byte block counter
    size_t pos;     // next unused word of r
    uint64_t r[256];
} s_stream_t;

static void s_stream_init(s_stream_t *s)
{
    randombytes_buf(s->key, sizeof s->key);
    s->block = 0;
    s->pos = 256;
}

static inline double s_uniform(s_stream_t *s)
{
    if (s->pos == 256) {
        static const uint8_t zeros[sizeof s->r];
        static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
        if (s->block > UINT32_MAX - sizeof s->r / 64) { // 256 GiB of noise: new key
            randombytes_buf(s->key, sizeof s->key);
            s->block = 0;
        }
        crypto_stream_chacha20_ietf_xor_ic((uint8_t *)s->r, zeros, sizeof s->r, nonce, s->block,
                                           s->key);
        s->block += sizeof s->r / 64;
        s->pos = 0;
    }
    // 53 random bits give u uniform in (0, 1), never 0 or 1.
    return ((double)(s->r[s->pos++] >> 11) + 0.5) / 9007199254740992.0;
}

static void s_stream_wipe(s_stream_t *s)
{
    sodium_memzero(s, sizeof *s);
}

void noise_laplace_add(float *w, size_t n, double b)
{
    if (b <= 0) {
        return;
    }
    s_stream_t s;
    s_stream_init(&s);
    for (size_t i = 0; i < n; i++) {
        // The inverse CDF of Laplace(0, b): -b sgn(u - 1/2) ln(1 - 2|u - 1/2|).
        double u = s_uniform(&s);
        w[i] += (float)(u < 0.5 ? b * log(2.0 * u) : -b * log(2.0 * (1.0 - u)));
    }
    s_stream_wipe(&s);
}

void noise_gaussian_add(float *w, size_t n, double sigma)
{
    if (sigma <= 0) {
        return;
    }
    s_stream_t s;
    s_stream_init(&s);
    for (size_t i = 0; i < n; i += 2) {
        // Box-Muller: two independent N(0, 1) from two uniforms.
        double r = sigma * sqrt(-2.0 * log(s_uniform(&s)));
        double t = 2.0 * M_PI * s_uniform(&s);
        w[i] += (float)(r * cos(t));
        if (i + 1 < n) {
            w[i + 1] += (float)(r * sin(t));
        }
    }
    s_stream_wipe(&s);
}

void noise_uniforms(double *u, size_t n)
{
    s_stream_t s;
    s_stream_init(&s);
    for (size_t i = 0; i < n; i++) {
        u[i] = s_uniform(&s);
    }
    s_stream_wipe(&s);
}

// Scales v by c / norm when norm > c.  The factor is rounded down by one
// part in 1e6 so that float rounding of the product cannot leave the norm
// above c.
static void s_scale_to(float *v, size_t n, double norm, double c)
{
    if (norm > c && norm > 0) {
        float s = (float)(c / norm * (1 - 1e-6));
        for (size_t i = 0; i < n; i++) {
            v[i] *= s;
        }
    }
}

double noise_clip_l1(float *v, size_t n, double c)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        norm += fabs((double)v[i]);
    }
    s_scale_to(v, n, norm, c);
    return norm;
}

double noise_clip_l2(float *v, size_t n, double c)
{
    double sq = 0;
    for (size_t i = 0; i < n; i++) {
        sq += (double)v[i] * (double)v[i];
    }
    double norm = sqrt(sq);
    s_scale_to(v, n, norm, c);
    return norm;
}

// The L1 (l2 == 0) or L2 norm of w - g, computed in double: the difference
// of two floats is exact in double.
static double s_delta_norm(const float *w, const float *g, size_t n, int l2)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)w[i] - (double)g[i];
        acc += l2 ? d * d : fabs(d);
    }
    return l2 ? sqrt(acc) : acc;
}

// w = g + min(1, c / |w - g|) (w - g), such that the released float
// vector itself is within c of g.  Rounding g + s d to float can move each
// coordinate by half an ulp, which over a million weights can add up to more
// than a small c, so the norm is measured again on the result and the
// factor s shrunk until it holds; as s goes to 0 the rounding goes with it,
// and the last resort is w = g (no update), which is always within.
static double s_clip_release(float *w, const float *g, size_t n, double c, int l2)
{
    double norm = s_delta_norm(w, g, n, l2);
    if (norm <= c) {
        return norm;
    }
    float *orig = xmalloc(n * sizeof *orig);
    memcpy(orig, w, n * sizeof *orig);
    double s = c / norm * (1 - 1e-9), have = norm;
    for (int pass = 0; pass < 16; pass++) {
        for (size_t i = 0; i < n; i++) {
            w[i] = (float)((double)g[i] + s * ((double)orig[i] - (double)g[i]));
        }
        if ((have = s_delta_norm(w, g, n, l2)) <= c) {
            break;
        }
        s *= c / have * (1 - 1e-9);
    }
    if (have > c) {
        memcpy(w, g, n * sizeof *w);
    }
    free(orig);
    return norm;
}

double noise_member_release(float *w, const float *global, size_t n, int mechanism, double clip,
                            double scale)
{
    double norm = 0;
    if (mechanism == NOISE_LAPLACE_CLIPPED || mechanism == NOISE_GAUSSIAN_CLIPPED) {
        norm = s_clip_release(w, global, n, clip, mechanism == NOISE_GAUSSIAN_CLIPPED);
    }
    if (mechanism == NOISE_GAUSSIAN_CLIPPED) {
        noise_gaussian_add(w, n, scale);
    } else if (mechanism == NOISE_PAPER || mechanism == NOISE_LAPLACE_CLIPPED) {
        noise_laplace_add(w, n, scale);
    }
    return norm;
}

void noise_aggregate_add(float *w, size_t n, int mechanism, double agg_scale)
{
    if (mechanism == NOISE_GAUSSIAN_CLIPPED) {
        noise_gaussian_add(w, n, agg_scale);
    } else {
        noise_laplace_add(w, n, agg_scale);
    }
}
