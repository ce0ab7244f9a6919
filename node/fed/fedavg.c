/* fedavg.c - weighted federated averaging (see fedavg.h). */
#include "node/fed/fedavg.h"

#include <stdlib.h>

#include "node/base/mem.h"
#include "node/privacy/noise.h"

int fedavg_weighted(float *out, const float *const *w, const uint64_t *samples, size_t k,
                    size_t n, fs_err_t *err)
{
    uint64_t total = 0;
    for (size_t i = 0; i < k; i++) {
        total += samples[i];
    }
    if (k == 0 || total == 0) {
        return fs_err_set(err, FS_EINVAL, "fedavg: no contributions to average (%zu members, "
                          "%llu samples)", k, (unsigned long long)total);
    }
    // Blocks of 4096 keep the double accumulator in L1 while each member's
    // vector streams through once.
    double acc[4096];
    for (size_t base = 0; base < n; base += 4096) {
        size_t m = n - base < 4096 ? n - base : 4096;
        for (size_t j = 0; j < m; j++) {
            acc[j] = 0;
        }
        for (size_t i = 0; i < k; i++) {
            double p = (double)samples[i] / (double)total;
            const float *src = w[i] + base;
            for (size_t j = 0; j < m; j++) {
                acc[j] += p * (double)src[j];
            }
        }
        for (size_t j = 0; j < m; j++) {
            out[base + j] = (float)acc[j];
        }
    }
    return 0;
}

int fedavg_aggregate(float *out, const float *const *w, const uint64_t *samples, size_t k,
                     size_t n, int mechanism, double agg_scale, fs_err_t *err)
{
    int rc = fedavg_weighted(out, w, samples, k, n, err);
    if (rc == 0) {
        noise_aggregate_add(out, n, mechanism, agg_scale);
    }
    return rc;
}
