/* cas.h - Classification Accuracy Score (Ravuri and Vinyals, 2019).
 *
 * Trains a fresh evaluator-architecture classifier on labelled synthetic
 * images alone, with the real-data recipe, and tests it on real images.
 * For an unconditional generator the labels come from the evaluator
 * ("pseudo-label CAS"), which callers must flag as such.
 *
 * Usage: see tests/metrics/test_classifier.c
 */
#ifndef FS_METRICS_CAS_H
#define FS_METRICS_CAS_H

#include "node/base/err.h"
#include "node/data/dataset.h"
#include "node/train/classifier_train.h"

typedef struct {
    double accuracy;      // on the real test set
    double per_class[10]; // per real class
} cas_result_t;

int cas_run(const dataset_t *synthetic, const dataset_t *real_test, int epochs,
            uint64_t seed, classifier_progress_fn progress, cas_result_t *out, fs_err_t *err);

#endif
