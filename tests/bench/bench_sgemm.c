/* bench_sgemm.c - this machine's sgemm rate (the "peak" the GAN's GFLOP/s
 * is compared with): best of several square products.  One JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "node/nn/blas.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    const int n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
    float *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.2f;
    }
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = s_now();
        blas_gemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = s_now() - t0;
        best = dt < best ? dt : best;
    }
    printf("{\"n\": %d, \"threads\": %d, \"gflops\": %.1f}\n", n, blas_threads(),
           2.0 * n * n * n / best / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
