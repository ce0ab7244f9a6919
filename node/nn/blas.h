/* blas.h - the only door to OpenBLAS.
 *
 * Every matrix product in the engine goes through blas_gemm (row-major
 * sgemm), so thread control and any future backend live in one file.
 */
#ifndef FS_NN_BLAS_H
#define FS_NN_BLAS_H

#include <stdbool.h>

// C[M x N] = alpha * op(A) * op(B) + beta * C, row-major, op = transpose when
// the flag is true.  lda/ldb/ldc are row strides in floats.
void blas_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);

// The engine's thread count (0 leaves the default: OPENBLAS_NUM_THREADS,
// or the cores).  Large products are split over that many threads of the
// engine's pool (parallel.h); OpenBLAS itself runs single-threaded.
void blas_set_threads(int threads);
int blas_threads(void);

#endif
