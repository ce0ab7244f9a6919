/* classifier.h - the evaluation CNN behind FID, coverage and CAS.
 *
 * A LeNet-5-style network with strided convolutions in place of pooling:
 *   Conv(32, 3x3, same) + LReLU -> Conv(64, 3x3, s2) + LReLU
 *   -> Conv(64, 3x3, s2) + LReLU -> Flatten -> Dense(120) + LReLU
 *   -> Dense(84) + LReLU [features] -> Dropout(0.3) -> Dense(10) [logits]
 * The 84-wide features feed FID (RESEARCH.md, metric 1).
 *
 * Usage: see tests/metrics/test_classifier.c
 */
#ifndef FS_MODELS_CLASSIFIER_H
#define FS_MODELS_CLASSIFIER_H

#include <stdint.h>

#include "node/nn/model.h"

#define CLASSIFIER_FEATURES 84
#define CLASSIFIER_CLASSES 10

model_t *classifier_new(int img_c, int img_h, int img_w, int max_batch, uint64_t seed);
// Index of the layer whose output is the feature vector.
int classifier_feature_layer(const model_t *m);

#endif
