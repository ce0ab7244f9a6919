/* global.h - the federation's global model as one flat vector.
 *
 * The vector is the workload's (node/train/workload.h): generator ++
 * discriminator for "dcgan:W" (FedSyn shares the whole GAN), encoder ++
 * decoder for "cvae:H".  Round 0's vector is fixed by the genesis (the
 * model spec and a seed), so every founder builds the same one and its hash
 * is in the genesis.  On disk it is the kind's own file (a DCGAN checkpoint
 * or a CVAE file), so `fedsyn sample` and `fedsyn eval` read a node's
 * global.fsm directly; the meta line also records the ledger height and the
 * model hash it belongs to.
 *
 * Usage: see tests/fed/test_fedavg.c
 */
#ifndef FS_FED_GLOBAL_H
#define FS_FED_GLOBAL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/block.h"
#include "node/base/err.h"
#include "node/train/workload.h"

// The architecture a genesis names ("dcgan:W" or "cvae:H").
int global_arch(const char *model, workload_arch_t *arch, fs_err_t *err)
    __attribute__((warn_unused_result));
// Parameter counts of the first network and of the whole vector.
void global_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total);
// The initial vector (a new array of *n floats) for this architecture and
// seed, as its trainer would initialise it.
float *global_initial(const workload_arch_t *arch, uint64_t seed, size_t *n);
// Saves atomically in the kind's file format with the height and hash in meta.
int global_save(const char *path, const workload_arch_t *arch, const float *w, uint64_t height,
                const uint8_t hash[HASH_BYTES], const char *dataset, fs_err_t *err)
    __attribute__((warn_unused_result));
// Loads a saved vector into w and checks that it hashes to `hash`
// (FS_EVERIFY when it belongs to another round).
int global_load(const char *path, const workload_arch_t *arch, float *w,
                const uint8_t hash[HASH_BYTES], fs_err_t *err) __attribute__((warn_unused_result));

#endif
