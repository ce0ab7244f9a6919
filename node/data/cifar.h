/* cifar.h - the CIFAR-10 binary format (data_batch_N.bin, test_batch.bin).
 *
 * Each record is one label byte (0-9) then 3072 pixel bytes: the red, green
 * and blue 32x32 planes in that order.  A file holds any whole number of
 * records (10,000 in the official files).
 *
 * Usage: see tests/data/test_idx.c (test_cifar_loader)
 */
#ifndef FS_DATA_CIFAR_H
#define FS_DATA_CIFAR_H

#include "node/base/err.h"
#include "node/data/dataset.h"

#define CIFAR_SIDE 32
#define CIFAR_CHANNELS 3
#define CIFAR_RECORD_BYTES (1 + CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_MAX_BYTES ((size_t)CIFAR_RECORD_BYTES * 60000)

// Loads one binary batch file as a labelled 3 x 32 x 32 set in [0, 1].
int cifar_load(const char *path, dataset_t **out, fs_err_t *err);

#endif
