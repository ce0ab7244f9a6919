/* idx.h - the IDX format of MNIST and Fashion-MNIST, plain or gzipped.
 *
 * An IDX file is: two zero bytes, a type byte (0x08 = unsigned byte), a
 * dimension count, the dimensions as big-endian uint32, then the data.
 * Images are 3-D (n x h x w), labels 1-D (n).  Gzipped files are detected
 * by their magic bytes, not their name.  Every check names the file and
 * what was expected.
 *
 * Usage: see tests/data/test_idx.c
 */
#ifndef FS_DATA_IDX_H
#define FS_DATA_IDX_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/data/dataset.h"

#define IDX_MAX_BYTES ((size_t)256 << 20) // refuse anything larger, decompressed

// Loads an image file and (if labels_path is not NULL) its label file;
// the counts must agree.  Pixels are scaled from 0..255 to [0, 1].
int idx_load(const char *images_path, const char *labels_path, dataset_t **out,
             fs_err_t *err);

// Loads a split of an MNIST-style directory: DIR/PREFIX-images-idx3-ubyte
// (or .gz) and, when present, its labels (PREFIX "train" or "t10k").  A
// missing image file is FS_EINVAL naming the directory and 'make data'.
int idx_load_split(const char *dir, const char *prefix, dataset_t **out, fs_err_t *err);

// Writes images (n x 1 x h x w, clamped to [0,1], scaled to 0..255) as an
// IDX image file, and labels as an IDX label file when labels_path is set.
int idx_save(const dataset_t *d, const char *images_path, const char *labels_path,
             fs_err_t *err);

// Decodes IDX bytes already in memory: checks type, dims and size.
// dims receives up to 3 dimensions; *data_p points into buf.
int idx_decode(const uint8_t *buf, size_t n, const char *name, int *ndims,
               uint32_t dims[3], const uint8_t **data_p, fs_err_t *err);

#endif
