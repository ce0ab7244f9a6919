/* parallel.h - the engine's loops between matrix products, split over
 * threads.
 *
 * The GEMMs run on OpenBLAS's threads; the loops between them (im2col and
 * col2im, activations, bias) ran on one thread while the other cores
 * waited: about half of a GAN step's wall time on 2 cores.  parallel_for
 * runs fn over [0, n) in as many contiguous ranges as blas_threads() (the
 * caller runs the first, a process-wide pool of workers the rest) and
 * returns when all are done.
 *
 * Results do not depend on the thread count as long as fn(begin, end)
 * writes only what indices begin..end own and keeps each index's own
 * arithmetic order: the callers split by image, by channel or by element,
 * never inside a sum.  A call made while another is running (another
 * thread, or fn itself) runs on the calling thread alone.
 *
 * Usage: see tests/nn/test_parallel.c
 */
#ifndef FS_NN_PARALLEL_H
#define FS_NN_PARALLEL_H

#include <stddef.h>

#define PARALLEL_MAX_THREADS 16

typedef void (*parallel_fn)(void *ctx, size_t begin, size_t end);

// Runs fn(ctx, b, e) over disjoint ranges covering [0, n); ranges are at
// least `grain` long (so small loops stay on this thread).
void parallel_for(size_t n, size_t grain, parallel_fn fn, void *ctx);

// How many threads the next parallel_for may use: blas_threads() unless
// set below, at most PARALLEL_MAX_THREADS.
int parallel_threads(void);
// Fixes that number (0: follow BLAS again).  OpenBLAS's own results differ
// in the last bits between thread counts; this does not, which the tests
// check by changing this count alone.
void parallel_set_threads(int threads);

#endif
