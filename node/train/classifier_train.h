/* classifier_train.h - training and running the evaluation classifier.
 *
 * Adam(1e-3), softmax cross-entropy, shuffled mini-batches; the same recipe
 * trains the evaluator on real data and the CAS classifier on synthetic
 * data.  Usage: see tests/metrics/test_classifier.c
 */
#ifndef FS_TRAIN_CLASSIFIER_TRAIN_H
#define FS_TRAIN_CLASSIFIER_TRAIN_H

#include <stdint.h>

#include "node/data/dataset.h"
#include "node/nn/model.h"

// Called after every `every` iterations and at each epoch's end.
typedef void (*classifier_progress_fn)(void *ctx, int epoch, int epochs, int iter,
                                       int iters, double loss, double images_per_s);

typedef struct {
    int epochs;      // passes over the data
    int batch;       // mini-batch size (<= the model's max batch)
    float lr;        // Adam learning rate
    uint64_t seed;   // shuffling and dropout
    classifier_progress_fn progress; // may be NULL
    void *progress_ctx;
} classifier_train_config_t;

// Trains m (built with classifier_new) on the labelled set d.
int classifier_train(model_t *m, const dataset_t *d, const classifier_train_config_t *cfg,
                     fs_err_t *err);

// Share of d that m labels correctly; per_class (10 entries) may be NULL.
double classifier_accuracy(model_t *m, const dataset_t *d, double *per_class);

// Runs m over n images (batch-first) in inference mode, writing class
// probabilities (n x 10) and/or penultimate features (n x 84); either may
// be NULL.
void classifier_run(model_t *m, const float *x, int n, float *probs, float *features);

#endif
