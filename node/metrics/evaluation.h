/* evaluation.h - `fedsyn eval`'s whole measurement of generated images.
 *
 * In the evaluator's feature space (RESEARCH.md): FID against the real test
 * set with its floor (as many real training images) and ceiling (uniform
 * noise), FID against a reference generator's samples (the FedSyn paper's
 * measure), label coverage, label agreement (labelled samples: the share
 * the evaluator files under their label) and CAS (Ravuri & Vinyals 2019: a
 * classifier trained on the samples, tested on real images; with the true
 * labels, or with the evaluator's when asked, flagged as such).
 *
 * Usage: see tests/metrics/test_scorecard.c (test_evaluation)
 */
#ifndef FS_METRICS_EVALUATION_H
#define FS_METRICS_EVALUATION_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/metrics/coverage.h"
#include "node/nn/model.h"
#include "node/train/classifier_train.h"

typedef struct {
    const char *model;         // generator file to draw from, or NULL
    const char *samples;       // or an IDX file of images ...
    const char *sample_labels; // ... and its labels (NULL: none)
    int n;                     // images drawn from model
    float temperature;         // the latent's (1: the model's faithful score)
    uint64_t seed;             // latents (the reference draws from seed + 1) and CAS
    const char *data_dir;      // the real data: t10k-* and train-* IDX files
    const char *reference;     // a reference generator file, or NULL
    int pseudo_cas;            // CAS for unlabelled samples with the evaluator's labels
    int cas_epochs;
    classifier_progress_fn cas_progress; // may be NULL
} evaluation_opts_t;

typedef enum { EVALUATION_CAS_NONE, EVALUATION_CAS_TRUE, EVALUATION_CAS_PSEUDO } evaluation_cas_t;

typedef struct {
    int samples;              // images scored
    double fid_test;          // against the real test set
    double fid_floor;         // real training images against the test set
    double fid_ceiling;       // uniform noise against the test set
    double fid_reference;     // against the reference's samples; -1 without one
    coverage_t coverage;      // class mix of the samples as the evaluator sees it
    double label_agreement;   // -1 for unlabelled samples
    evaluation_cas_t cas_kind;
    double cas_accuracy;      // when cas_kind is not NONE
} evaluation_t;

// Scores opts' images with evaluator (a classifier, checkpoint.h); fills
// *out.  Errors name the file that could not be read or drawn from.
int evaluation_run(model_t *evaluator, const evaluation_opts_t *opts, evaluation_t *out,
                   fs_err_t *err) __attribute__((warn_unused_result));

#endif
