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
    // One 32-byte key from the system's CSPRNG per call, expanded by
    // ChaCha20 in user space: randombytes_buf would make one getrandom()
    // system call per block and is four times slower on 1.2 M weights.
    static const uint8_t zeros[256 * sizeof(uint64_t)];
    uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    randombytes_buf(key, sizeof key);
    uint64_t r[256];
    uint32_t block = 0; // ChaCha20 64-byte block counter
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        if (block > UINT32_MAX - sizeof r / 64) { // 256 GiB of noise: take a new key
            randombytes_buf(key, sizeof key);
            block = 0;
        }
        crypto_stream_chacha20_ietf_xor_ic((uint8_t *)r, zeros, sizeof r, nonce, block, key);
        block += sizeof r / 64;
        for (size_t j = 0; j < k; j++) {
            // 53 random bits give u uniform in (0, 1), never 0 or 1; the
            // inverse CDF of Laplace(0, b) is -b sgn(u - 1/2) ln(1 - 2|u - 1/2|).
            double u = ((double)(r[j] >> 11) + 0.5) / 9007199254740992.0;
            double x = u < 0.5 ? b * log(2.0 * u) : -b * log(2.0 * (1.0 - u));
            w[i + j] += (float)x;
        }
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(r, sizeof r);
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
