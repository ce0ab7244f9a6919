/* fedavg.c - weighted federated averaging (see fedavg.h). */
#include "node/fed/fedavg.h"

#include <stdlib.h>

#include "node/base/mem.h"
#include "node/privacy/noise.h"

#define FEDAVG_BLOCK 4096

// acc = (first ? 0 : acc) + p * src.  Called with the constant FEDAVG_BLOCK
// for all but the last block: a loop of known length is one that -O2
// (GCC's cheapest vectoriser model) turns into SIMD code, about twice as
// fast as the scalar loop on the paper's 1.2 M parameters.
static inline void s_accumulate(double *restrict acc, const float *restrict src, double p,
                                size_t m, int first)
{
    if (first) {
        for (size_t j = 0; j < m; j++) {
            acc[j] = p * (double)src[j];
        }
    } else {
        for (size_t j = 0; j < m; j++) {
            acc[j] += p * (double)src[j];
        }
    }
}

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
    // Blocks of FEDAVG_BLOCK keep the double accumulator in L1 while each
    // member's vector streams through once.
    double acc[FEDAVG_BLOCK];
    for (size_t base = 0; base < n; base += FEDAVG_BLOCK) {
        const size_t m = n - base < FEDAVG_BLOCK ? n - base : FEDAVG_BLOCK;
        for (size_t i = 0; i < k; i++) {
            double p = (double)samples[i] / (double)total;
            if (m == FEDAVG_BLOCK) {
                s_accumulate(acc, w[i] + base, p, FEDAVG_BLOCK, i == 0);
            } else {
                s_accumulate(acc, w[i] + base, p, m, i == 0);
            }
        }
        for (size_t j = 0; j < m; j++) {
            out[base + j] = (float)acc[j];
        }
    }
    return 0;
}

void fedavg_server_step(float *out, const float *prev, size_t n, double eta)
{
    const float e = (float)eta;
    for (size_t j = 0; j < n; j++) {
        out[j] = prev[j] + e * (out[j] - prev[j]);
    }
}

int fedavg_aggregate(float *out, const float *const *w, const uint64_t *samples, size_t k,
                     size_t n, const float *prev, double eta, int mechanism,
                     double agg_scale, fs_err_t *err)
{
    if (!(eta > 0)) {
        return fs_err_set(err, FS_EINVAL, "server step %g: expected a step above 0", eta);
    }
    if (eta != 1 && !prev) {
        return fs_err_set(err, FS_EINVAL, "server step %g needs the round's global model", eta);
    }
    int rc = fedavg_weighted(out, w, samples, k, n, err);
    if (rc == 0 && eta != 1) {
        fedavg_server_step(out, prev, n, eta);
    }
    if (rc == 0) {
        noise_aggregate_add(out, n, mechanism, agg_scale);
    }
    return rc;
}
