/* classifier_train.h - training and running the evaluation classifier.
 *
 * Adam(1e-3), softmax cross-entropy, shuffled mini-batches.  The CAS
 * classifier and GenFL's pre-training (`evaluator train --shift 0
 * --lr-final 0`) use it plain; the evaluator adds a cosine learning-rate
 * decay and random shifts (see the config).  Usage: see tests/metrics/test_classifier.c
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
    float lr;        // Adam learning rate (at the start)
    uint64_t seed;   // shuffling, dropout and shifts
    classifier_progress_fn progress; // may be NULL
    void *progress_ctx;
    // 0: constant lr.  > 0: cosine decay from lr to lr_final over all
    // iterations (the evaluator uses it to pass 99% on MNIST).
    float lr_final;
    // 0: images as they are.  k > 0: each training image is shifted by a
    // random (dx, dy) in [-k, k]^2 with zero fill (translation augmentation).
    int shift;
} classifier_train_config_t;

// Trains m (built with classifier_new) on the labelled set d.
int classifier_train(model_t *m, const dataset_t *d, const classifier_train_config_t *cfg,
                     fs_err_t *err);

// The classifier one step at a time, as a federation member trains it
// (GenFL's downstream model, workload.h): its own network, Adam 1e-3,
// softmax cross-entropy on mini-batches drawn from a shuffled order.
typedef struct classifier_trainer classifier_trainer_t;
classifier_trainer_t *classifier_trainer_new(int batch, uint64_t seed);
void classifier_trainer_destroy(classifier_trainer_t **self_p);
// Borrows d (labelled, 28 x 28) for the trainer's life.
int classifier_trainer_set_data(classifier_trainer_t *t, const dataset_t *d, fs_err_t *err);
// One step; *loss and *accuracy are the batch's.
void classifier_trainer_step(classifier_trainer_t *t, double *loss, double *accuracy);
model_t *classifier_trainer_model(classifier_trainer_t *t);

// Share of d that m labels correctly; per_class (10 entries) may be NULL.
double classifier_accuracy(model_t *m, const dataset_t *d, double *per_class);

// The learning rate after the share `done` (0..1) of all iterations.
float classifier_lr_at(const classifier_train_config_t *cfg, double done);

// Copies image src (c x h x w) into dst moved right by dx and down by dy
// (|dx| < w, |dy| < h), zero-filling the pixels that come in from outside.
void classifier_shift_image(float *dst, const float *src, int c, int h, int w, int dx, int dy);

// Runs m over n images (batch-first) in inference mode, writing class
// probabilities (n x 10) and/or penultimate features (n x 84); either may
// be NULL.
void classifier_run(model_t *m, const float *x, int n, float *probs, float *features);

#endif
