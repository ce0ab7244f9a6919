/* floats.h - checks and running averages over float vectors (model weights).
 *
 * Usage: see tests/base/test_floats.c
 */
#ifndef FS_BASE_FLOATS_H
#define FS_BASE_FLOATS_H

#include <stddef.h>

// The index of the first NaN or infinity in w[0..n), or n when all are
// finite.  Runs at memory speed: a model of 1.2 M weights is checked on
// every update received and sent.
size_t floats_first_nonfinite(const float *w, size_t n);

// avg[i] = decay * avg[i] + (1 - decay) * w[i] for i < n: one step of an
// exponential moving average (decay in [0, 1]).  Written as
// avg + (1 - decay) * (w - avg) so that equal inputs stay exactly equal.
void floats_lerp(float *avg, const float *w, size_t n, float decay);

#endif
