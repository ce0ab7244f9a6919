/* rng.h - seeded pseudo-random numbers for training and sampling.
 *
 * xoshiro256** seeded through splitmix64: fast, reproducible from one 64-bit
 * seed on every platform.  Never used for keys or for privacy noise (those
 * come from libsodium).  The state is a plain struct the caller owns.
 */
#ifndef FS_BASE_RNG_H
#define FS_BASE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];   // xoshiro256** state
    int has_spare;   // Box-Muller produced a second normal
    double spare;    // that second normal
} rng_t;

void rng_seed(rng_t *rng, uint64_t seed);
uint64_t rng_u64(rng_t *rng);
// Uniform in [0, 1) with 53 random bits.
double rng_uniform(rng_t *rng);
// Uniform integer in [0, n), n > 0, without modulo bias.
uint64_t rng_below(rng_t *rng, uint64_t n);
// Standard normal.
double rng_normal(rng_t *rng);
// Gamma(shape, 1), shape > 0 (Marsaglia and Tsang).
double rng_gamma(rng_t *rng, double shape);
// Fills out[0..n) with a random permutation of 0..n-1 (Fisher-Yates).
void rng_permutation(rng_t *rng, uint32_t *out, size_t n);
// Fills out[0..n) with standard normals.
void rng_normal_floats(rng_t *rng, float *out, size_t n);

// The whole state as text with no spaces (checkpoints that resume exactly):
// four 16-digit hex words, the spare flag and the spare normal in %a form.
#define RNG_TEXT_BYTES 96
void rng_to_text(const rng_t *rng, char out[RNG_TEXT_BYTES]);
// Parses rng_to_text's form; -1 when malformed (rng untouched).
int rng_from_text(rng_t *rng, const char *text);

#endif
