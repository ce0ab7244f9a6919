/* seeded_random.c - a seeded randombytes implementation (seeded_random.h). */
#include "tests/support/seeded_random.h"

#include <sodium.h>
#include <stddef.h>

#include "node/base/rng.h"

static rng_t s_rng;

static const char *s_name(void)
{
    return "fedsyn-seeded";
}

static uint32_t s_random(void)
{
    return (uint32_t)rng_u64(&s_rng);
}

static void s_buf(void *buf, size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rng_u64(&s_rng);
    }
}

static randombytes_implementation s_impl = {
    .implementation_name = s_name, .random = s_random, .stir = NULL, .uniform = NULL,
    .buf = s_buf, .close = NULL};

void seeded_random_install(void)
{
    rng_seed(&s_rng, 1);
    randombytes_set_implementation(&s_impl);
}

void seeded_random_reseed(uint64_t seed)
{
    rng_seed(&s_rng, seed);
}
