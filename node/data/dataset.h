/* dataset.h - an in-memory labelled image set, floats in [0, 1].
 *
 * Images are stored batch-first (n x c x h x w), the layout models take.
 * Usage: see tests/data/test_idx.c
 */
#ifndef FS_DATA_DATASET_H
#define FS_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/base/rng.h"

typedef struct {
    int n;          // number of images
    int c, h, w;    // image shape
    float *x;       // n * c * h * w pixels in [0, 1]
    uint8_t *y;     // n labels, or NULL for an unlabelled set
} dataset_t;

dataset_t *dataset_new(int n, int c, int h, int w, int labelled);
void dataset_destroy(dataset_t **self_p);
size_t dataset_image_size(const dataset_t *d);

// A new set with the images whose label is in `labels` (a 10-entry mask).
dataset_t *dataset_filter_labels(const dataset_t *d, const uint8_t keep[10]);
// A new set with the images at idx[0..k).
dataset_t *dataset_subset(const dataset_t *d, const uint32_t *idx, int k);
// Parses "0,1,2" or "3-6" into a 10-entry mask; FS_EINVAL names the bad part.
int dataset_parse_labels(const char *spec, uint8_t keep[10], fs_err_t *err);
// Counts per label (labelled sets).
void dataset_label_counts(const dataset_t *d, int counts[10]);

// Epochs of mini-batches: the indices 0..n-1 in a shuffled order, shuffled
// again whenever they run out (the trainers draw their batches from it).
typedef struct {
    uint32_t *order;   // a permutation of 0..n-1
    int n;
    int cursor;        // next position in order
    rng_t drawn_from;  // the generator's state just before order was drawn
} dataset_order_t;
// (Re)starts o over n >= 1 indices with a fresh permutation from rng.
void dataset_order_reset(dataset_order_t *o, int n, rng_t *rng);
// The next index, reshuffling first when the pass is complete.
uint32_t dataset_order_next(dataset_order_t *o, rng_t *rng);
void dataset_order_free(dataset_order_t *o);
// Rebuilds the pass a checkpoint recorded: the permutation drawn from
// `drawn_from` over n indices, positioned at cursor (0 <= cursor <= n).
void dataset_order_restore(dataset_order_t *o, int n, const rng_t *drawn_from, int cursor);

#endif
