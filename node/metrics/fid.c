/* fid.c - FID with a symmetric matrix square root (see fid.h). */
#include "node/metrics/fid.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

// LAPACK's symmetric eigensolver, from OpenBLAS (Debian ships no lapacke.h
// for it); the trailing size_t arguments are gfortran's hidden string lengths.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t jobz_len,
            size_t uplo_len);

fid_stats_t *fid_stats_new(const float *features, int n, int d, fs_err_t *err)
{
    if (n < 2 || d < 1) {
        fs_err_set(err, FS_EINVAL, "fid: need at least 2 samples of dimension >= 1 (got %d)",
                   n);
        return NULL;
    }
    fid_stats_t *s = xcalloc(1, sizeof *s);
    s->d = d;
    s->n = n;
    s->mu = xcalloc((size_t)d, sizeof(double));
    s->cov = xcalloc((size_t)d * d, sizeof(double));
    double *centred = xmalloc(sizeof(double) * (size_t)n * d);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
            s->mu[j] += (double)features[(size_t)i * d + j];
        }
    }
    for (int j = 0; j < d; j++) {
        s->mu[j] /= n;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
            centred[(size_t)i * d + j] = (double)features[(size_t)i * d + j] - s->mu[j];
        }
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / (n - 1), centred, d,
                centred, d, 0.0, s->cov, d);
    free(centred);
    return s;
}

void fid_stats_destroy(fid_stats_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->mu);
        free((*self_p)->cov);
        free(*self_p);
        *self_p = NULL;
    }
}

// Eigen-decomposes the symmetric matrix a (d x d) in place: a becomes the
// eigenvectors (columns, in LAPACK's column-major sense), w the eigenvalues.
static int s_eigen(double *a, double *w, int d, fs_err_t *err)
{
    int lwork = -1, info = 0;
    double q;
    dsyev_("V", "U", &d, a, &d, w, &q, &lwork, &info, 1, 1);
    lwork = (int)q;
    double *work = xmalloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1));
    dsyev_("V", "U", &d, a, &d, w, work, &lwork, &info, 1, 1);
    free(work);
    if (info != 0) {
        return fs_err_set(err, FS_EIO, "fid: dsyev failed (info %d)", info);
    }
    return 0;
}

int fid_distance(const fid_stats_t *a, const fid_stats_t *b, double *out, fs_err_t *err)
{
    if (a->d != b->d) {
        return fs_err_set(err, FS_EINVAL, "fid: feature dimensions differ (%d vs %d)", a->d,
                          b->d);
    }
    const int d = a->d;
    const size_t dd = (size_t)d * d;
    double *v = xmalloc(sizeof(double) * dd), *w = xmalloc(sizeof(double) * (size_t)d);
    double *sq = xcalloc(dd, sizeof(double)), *t = xmalloc(sizeof(double) * dd);
    double *m = xmalloc(sizeof(double) * dd);
    memcpy(v, a->cov, sizeof(double) * dd);
    int rc = s_eigen(v, w, d, err);
    if (rc == 0) {
        // sqrt(S_a) = V diag(sqrt(max(w, 0))) V^T; the matrix is symmetric, so
        // row- and column-major views of V give the same product
        for (int k = 0; k < d; k++) {
            double r = w[k] > 0 ? sqrt(w[k]) : 0;
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) {
                    sq[(size_t)i * d + j] += v[(size_t)k * d + i] * r * v[(size_t)k * d + j];
                }
            }
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, sq, d, b->cov, d,
                    0.0, t, d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d, sq, d, 0.0,
                    m, d);
        for (int i = 0; i < d; i++) { // symmetrise away rounding
            for (int j = 0; j < i; j++) {
                double s = 0.5 * (m[(size_t)i * d + j] + m[(size_t)j * d + i]);
                m[(size_t)i * d + j] = m[(size_t)j * d + i] = s;
            }
        }
        rc = s_eigen(m, w, d, err);
    }
    if (rc == 0) {
        double mean_term = 0, tr = 0, tr_sqrt = 0;
        for (int i = 0; i < d; i++) {
            double diff = a->mu[i] - b->mu[i];
            mean_term += diff * diff;
            tr += a->cov[(size_t)i * d + i] + b->cov[(size_t)i * d + i];
            tr_sqrt += w[i] > 0 ? sqrt(w[i]) : 0;
        }
        double fid = mean_term + tr - 2 * tr_sqrt;
        *out = fid > 0 ? fid : 0; // rounding can leave -1e-12 for equal sets
    }
    free(v);
    free(w);
    free(sq);
    free(t);
    free(m);
    return rc;
}
