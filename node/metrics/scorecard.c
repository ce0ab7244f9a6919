/* scorecard.c - FID, coverage and label agreement against a test set
 * whose statistics are computed once (see scorecard.h). */
#include "node/metrics/scorecard.h"

#include <stdlib.h>

#include "node/base/mem.h"
#include "node/models/classifier.h"
#include "node/train/classifier_train.h"

struct scorecard {
    model_t *evaluator;      // borrowed
    fid_stats_t *test;       // the test set's feature statistics
    double real_share[10];   // the test set's class mix
    int c, h, w;             // the test images' shape
};

scorecard_t *scorecard_new(model_t *evaluator, const dataset_t *test, fs_err_t *err)
{
    scorecard_t *self = xcalloc(1, sizeof *self);
    self->evaluator = evaluator;
    self->test = scorecard_features(self, test, NULL, err);
    if (!self->test) {
        free(self);
        return NULL;
    }
    int counts[10];
    dataset_label_counts(test, counts);
    for (int k = 0; k < 10; k++) {
        self->real_share[k] = (double)counts[k] / test->n;
    }
    self->c = test->c;
    self->h = test->h;
    self->w = test->w;
    return self;
}

void scorecard_destroy(scorecard_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fid_stats_destroy(&(*self_p)->test);
    free(*self_p);
    *self_p = NULL;
}

fid_stats_t *scorecard_features(scorecard_t *self, const dataset_t *d, float *probs,
                                fs_err_t *err)
{
    float *feat = xfloats((size_t)d->n * CLASSIFIER_FEATURES);
    classifier_run(self->evaluator, d->x, d->n, probs, feat);
    fid_stats_t *s = fid_stats_new(feat, d->n, CLASSIFIER_FEATURES, err);
    free(feat);
    return s;
}

const fid_stats_t *scorecard_test_stats(const scorecard_t *self)
{
    return self->test;
}

int scorecard_score(scorecard_t *self, const dataset_t *gen, float *probs,
                    scorecard_result_t *out, fid_stats_t **gen_stats, fs_err_t *err)
{
    if (gen->c != self->c || gen->h != self->h || gen->w != self->w) {
        return fs_err_set(err, FS_EINVAL, "samples are %dx%dx%d: the evaluator takes %dx%dx%d",
                          gen->c, gen->h, gen->w, self->c, self->h, self->w);
    }
    float *own = probs ? NULL : xfloats((size_t)gen->n * CLASSIFIER_CLASSES);
    float *p = probs ? probs : own;
    fid_stats_t *s = scorecard_features(self, gen, p, err);
    int rc = s ? fid_distance(s, self->test, &out->fid_test, err) : FS_EINVAL;
    if (rc == 0) {
        out->samples = gen->n;
        coverage_compute(p, gen->n, self->real_share, &out->coverage);
        // the generator's own labels (a conditional model's), if any
        out->label_agreement = gen->y ? coverage_label_agreement(p, gen->y, gen->n) : -1;
    }
    if (rc == 0 && gen_stats) {
        *gen_stats = s;
        s = NULL;
    }
    fid_stats_destroy(&s);
    free(own);
    return rc;
}
