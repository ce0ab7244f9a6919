/* global.c - the global model vector, its initial value and its file. */
#include "node/fed/global.h"

#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"

int global_arch(const char *model, workload_arch_t *arch, fs_err_t *err)
{
    return workload_parse(model, arch, err);
}

void global_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total)
{
    workload_sizes(arch, n_first, n_total);
}

float *global_initial(const workload_arch_t *arch, uint64_t seed, size_t *n)
{
    return workload_initial(arch, seed, n);
}

int global_save(const char *path, const workload_arch_t *arch, const float *w, uint64_t height,
                const uint8_t hash[HASH_BYTES], const char *dataset, fs_err_t *err)
{
    char extra[160], hex[2 * HASH_BYTES + 1];
    bytes_to_hex(hash, HASH_BYTES, hex);
    snprintf(extra, sizeof extra, "source=federation height=%llu model_hash=%s",
             (unsigned long long)height, hex);
    return workload_save(path, arch, w, dataset, extra, err);
}

int global_load(const char *path, const workload_arch_t *arch, float *w,
                const uint8_t hash[HASH_BYTES], fs_err_t *err)
{
    size_t nf, n;
    workload_sizes(arch, &nf, &n);
    int rc = workload_load(path, arch, w, err);
    if (rc) {
        return rc;
    }
    uint8_t h[HASH_BYTES];
    hash_model(w, n, h);
    if (memcmp(h, hash, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "%s: holds another model than the ledger's head "
                          "(it will be fetched from a peer)", path);
    }
    return 0;
}
