/* scorecard.h - a generator's images scored against the real test set in
 * the evaluator's feature space: FID, the classes drawn, and (for labelled
 * samples) how often the evaluator agrees with the label they were drawn
 * for.
 *
 * The one implementation behind `fedsyn eval` and a node's quality scores
 * (node/fed/scorer.h).  The reference side - the test set's feature
 * statistics and class mix - is computed once, by scorecard_new, and reused
 * by every score: a node scoring every round pays for the test set once.
 * A scorecard is used by one thread at a time (the evaluator's workspace
 * is its scratch memory).
 *
 * Usage: see tests/metrics/test_scorecard.c
 */
#ifndef FS_METRICS_SCORECARD_H
#define FS_METRICS_SCORECARD_H

#include "node/base/err.h"
#include "node/data/dataset.h"
#include "node/metrics/coverage.h"
#include "node/metrics/fid.h"
#include "node/nn/model.h"

typedef struct scorecard scorecard_t;

// What one score found.
typedef struct {
    int samples;            // images scored
    double fid_test;        // FID against the real test set
    coverage_t coverage;    // the classes the evaluator files the images under
    double label_agreement; // labelled images: the share filed under their own
                            // label; -1 when the images carry no labels
} scorecard_result_t;

// Borrows `evaluator` (a classifier, node/models/classifier.h) for the
// scorecard's life and reads `test` (the real test images, labelled for the
// class mix) only during the call: its feature statistics and class shares
// are kept.  NULL with err set when the statistics cannot be computed
// (fewer than 2 test images).
scorecard_t *scorecard_new(model_t *evaluator, const dataset_t *test, fs_err_t *err);
void scorecard_destroy(scorecard_t **self_p);

// The evaluator's feature statistics of any image set (a new object the
// caller destroys); writes the class probabilities (d->n x 10) to probs
// unless it is NULL.
fid_stats_t *scorecard_features(scorecard_t *self, const dataset_t *d, float *probs,
                                fs_err_t *err);
// The test set's statistics (borrowed), for other distances against it.
const fid_stats_t *scorecard_test_stats(const scorecard_t *self);

// Scores the images of gen: FID against the test set, coverage against its
// class mix, label agreement when gen is labelled.  For the caller's further
// use, probs (when not NULL) receives the class probabilities (gen->n x
// 10) and *gen_stats (when gen_stats is not NULL) the images' feature
// statistics, a new object the caller destroys.  FS_EINVAL when the images
// are not the test set's shape, or fewer than 2; FS_EIO when the
// eigensolver fails.
int scorecard_score(scorecard_t *self, const dataset_t *gen, float *probs,
                    scorecard_result_t *out, fid_stats_t **gen_stats, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
