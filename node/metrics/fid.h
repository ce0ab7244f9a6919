/* fid.h - Frechet distance between two sets of feature vectors.
 *
 * FID = |mu_a - mu_b|^2 + tr S_a + tr S_b - 2 sum_i sqrt(lambda_i), where
 * lambda_i are the eigenvalues of S_a^(1/2) S_b S_a^(1/2): a symmetric
 * matrix, so its square root comes from LAPACK's symmetric eigensolver
 * (dsyev) and never from a general (complex) matrix square root.
 * Statistics are accumulated in double.
 *
 * Usage: see tests/metrics/test_fid.c
 */
#ifndef FS_METRICS_FID_H
#define FS_METRICS_FID_H

#include "node/base/err.h"

typedef struct {
    int d;        // feature dimension
    int n;        // samples the statistics came from
    double *mu;   // d means
    double *cov;  // d x d covariance (unbiased, divides by n - 1)
} fid_stats_t;

// Mean and covariance of n >= 2 feature rows of width d.
fid_stats_t *fid_stats_new(const float *features, int n, int d, fs_err_t *err);
void fid_stats_destroy(fid_stats_t **self_p);

// The Frechet distance; FS_EINVAL on mismatched dimensions, FS_EIO when the
// eigensolver fails.
int fid_distance(const fid_stats_t *a, const fid_stats_t *b, double *out, fs_err_t *err);

#endif
