/* floats.c - checks and running averages over float vectors (see floats.h). */
#include "node/base/floats.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SCAN_BLOCK 1024
#define EXP_MASK 0x7f800000u // all exponent bits set: NaN or infinity

// 1 when some w[0..m) is not finite: a branch-free reduction over the
// exponent bits, which the compiler vectorises (isfinite in a loop that
// stops early is not).
static inline int s_block_bad(const float *w, size_t m)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t u;
        memcpy(&u, &w[i], sizeof u);
        bad |= (uint32_t)((u & EXP_MASK) == EXP_MASK);
    }
    return bad != 0;
}

size_t floats_first_nonfinite(const float *w, size_t n)
{
    for (size_t base = 0; base < n; base += SCAN_BLOCK) {
        size_t m = n - base < SCAN_BLOCK ? n - base : SCAN_BLOCK;
        int bad = m == SCAN_BLOCK ? s_block_bad(w + base, SCAN_BLOCK) : s_block_bad(w + base, m);
        if (bad) {
            for (size_t i = base; i < base + m; i++) {
                if (!isfinite(w[i])) {
                    return i;
                }
            }
        }
    }
    return n;
}

void floats_lerp(float *avg, const float *w, size_t n, float decay)
{
    const float k = 1.0f - decay;
    for (size_t i = 0; i < n; i++) {
        avg[i] += k * (w[i] - avg[i]);
    }
}
