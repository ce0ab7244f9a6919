/* test_scorecard.c - the scorecard behind `fedsyn eval` and the node's
 * quality scores: a small evaluator trained here on drawn shapes scores
 * shapes against a test set of shapes; its numbers are exactly those of
 * the parts (fid.h, coverage.h); the test set is read once, at
 * scorecard_new; labelled images get a label agreement and unlabelled ones
 * none; images of another shape are refused.  evaluation_run, `fedsyn
 * eval`'s whole measurement, on IDX files the test writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "node/base/rng.h"
#include "node/data/idx.h"
#include "node/metrics/evaluation.h"
#include "node/metrics/scorecard.h"
#include "node/models/classifier.h"
#include "node/train/classifier_train.h"
#include "tests/support/fixtures.h"

static model_t *s_evaluator; // trained once for the group (about a second)

static int s_setup(void **state)
{
    (void)state;
    dataset_t *train = fixture_shapes(400, 1);
    s_evaluator = classifier_new(1, 28, 28, 64, 11);
    classifier_train_config_t cfg = {.epochs = 2, .batch = 32, .lr = 1e-3f, .seed = 3};
    int rc = classifier_train(s_evaluator, train, &cfg, NULL);
    dataset_destroy(&train);
    return rc;
}

static int s_teardown(void **state)
{
    model_destroy(&s_evaluator);
    return fixture_teardown(state);
}

static void test_scorecard_usage(void **state)
{
    (void)state;
    // The reference side, once: the real test images' statistics.
    dataset_t *test = fixture_shapes(300, 2);
    fs_err_t err = {0, ""};
    scorecard_t *card = scorecard_new(s_evaluator, test, &err);
    assert_non_null(card);
    // "Generated" images that are the real thing, labelled as drawn: close
    // to the test set, every class, the evaluator agrees with the labels.
    dataset_t *good = fixture_shapes(300, 3);
    scorecard_result_t r;
    assert_int_equal(scorecard_score(card, good, NULL, &r, NULL, &err), 0);
    assert_int_equal(r.samples, 300);
    assert_int_equal(r.coverage.classes_present, 10);
    assert_true(r.label_agreement > 0.8);
    // Uniform noise is far from the test set.
    dataset_t *noise = dataset_new(300, 1, 28, 28, 0);
    rng_t rng;
    rng_seed(&rng, 5);
    for (size_t i = 0; i < (size_t)300 * 784; i++) {
        noise->x[i] = (float)rng_uniform(&rng);
    }
    scorecard_result_t rn;
    assert_int_equal(scorecard_score(card, noise, NULL, &rn, NULL, &err), 0);
    assert_true(rn.fid_test > 4 * r.fid_test);
    assert_true(rn.label_agreement < 0); // unlabelled: no agreement
    // The same images under scrambled labels: the agreement falls, the
    // FID and the classes drawn do not change (they ignore labels).
    for (int i = 0; i < good->n; i++) {
        good->y[i] = (uint8_t)((good->y[i] + 1 + i % 9) % 10);
    }
    scorecard_result_t rs;
    assert_int_equal(scorecard_score(card, good, NULL, &rs, NULL, &err), 0);
    assert_true(rs.label_agreement < 0.3);
    assert_true(rs.fid_test == r.fid_test);
    assert_int_equal(rs.coverage.classes_present, r.coverage.classes_present);
    scorecard_destroy(&card);
    assert_null(card);
    scorecard_destroy(&card); // harmless
    dataset_destroy(&noise);
    dataset_destroy(&good);
    dataset_destroy(&test);
}

// One implementation: the score is the composition of fid.h and
// coverage.h over the evaluator's outputs, to the last bit.
static void test_score_is_the_parts(void **state)
{
    (void)state;
    dataset_t *test = fixture_shapes(200, 7), *gen = fixture_shapes(120, 8);
    fs_err_t err = {0, ""};
    scorecard_t *card = scorecard_new(s_evaluator, test, &err);
    assert_non_null(card);
    float *probs = malloc(sizeof(float) * 10 * 120);
    fid_stats_t *gs = NULL;
    scorecard_result_t r;
    assert_int_equal(scorecard_score(card, gen, probs, &r, &gs, &err), 0);
    assert_non_null(gs);

    float *feat_t = malloc(sizeof(float) * CLASSIFIER_FEATURES * 200);
    float *feat_g = malloc(sizeof(float) * CLASSIFIER_FEATURES * 120);
    float *probs_g = malloc(sizeof(float) * 10 * 120);
    classifier_run(s_evaluator, test->x, 200, NULL, feat_t);
    classifier_run(s_evaluator, gen->x, 120, probs_g, feat_g);
    assert_memory_equal(probs, probs_g, sizeof(float) * 10 * 120);
    fid_stats_t *st = fid_stats_new(feat_t, 200, CLASSIFIER_FEATURES, NULL);
    fid_stats_t *sg = fid_stats_new(feat_g, 120, CLASSIFIER_FEATURES, NULL);
    assert_memory_equal(sg->mu, gs->mu, sizeof(double) * CLASSIFIER_FEATURES);
    assert_memory_equal(st->mu, scorecard_test_stats(card)->mu,
                        sizeof(double) * CLASSIFIER_FEATURES);
    double fid;
    assert_int_equal(fid_distance(sg, st, &fid, NULL), 0);
    assert_true(fid == r.fid_test);
    double real_share[10];
    int counts[10];
    dataset_label_counts(test, counts);
    for (int k = 0; k < 10; k++) {
        real_share[k] = (double)counts[k] / 200;
    }
    coverage_t cov;
    coverage_compute(probs_g, 120, real_share, &cov);
    assert_memory_equal(&cov, &r.coverage, sizeof cov);
    assert_true(coverage_label_agreement(probs_g, gen->y, 120) == r.label_agreement);

    fid_stats_destroy(&st);
    fid_stats_destroy(&sg);
    fid_stats_destroy(&gs);
    free(feat_t);
    free(feat_g);
    free(probs_g);
    free(probs);
    scorecard_destroy(&card);
    dataset_destroy(&gen);
    dataset_destroy(&test);
}

// The test set is read at scorecard_new only: scores after it is gone
// give the same numbers (its statistics are not recomputed per score).
static void test_test_set_is_read_once(void **state)
{
    (void)state;
    dataset_t *test = fixture_shapes(200, 9), *gen = fixture_shapes(100, 10);
    scorecard_t *card = scorecard_new(s_evaluator, test, NULL);
    assert_non_null(card);
    scorecard_result_t a, b;
    assert_int_equal(scorecard_score(card, gen, NULL, &a, NULL, NULL), 0);
    const fid_stats_t *kept = scorecard_test_stats(card);
    memset(test->x, 0, sizeof(float) * 784 * 200); // what a recomputation would see
    dataset_destroy(&test);
    assert_int_equal(scorecard_score(card, gen, NULL, &b, NULL, NULL), 0);
    assert_ptr_equal(kept, scorecard_test_stats(card));
    assert_true(a.fid_test == b.fid_test);
    assert_memory_equal(&a.coverage, &b.coverage, sizeof a.coverage);
    scorecard_destroy(&card);
    dataset_destroy(&gen);
}

static void test_bad_inputs_are_refused(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    dataset_t *one = fixture_shapes(1, 1);
    assert_null(scorecard_new(s_evaluator, one, &err)); // no covariance from one image
    assert_int_equal(err.code, FS_EINVAL);
    dataset_t *test = fixture_shapes(50, 2);
    scorecard_t *card = scorecard_new(s_evaluator, test, &err);
    assert_non_null(card);
    dataset_t *small = dataset_new(20, 1, 14, 14, 0);
    scorecard_result_t r;
    assert_int_equal(scorecard_score(card, small, NULL, &r, NULL, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "samples are 1x14x14: the evaluator takes 1x28x28"));
    assert_int_equal(scorecard_score(card, one, NULL, &r, NULL, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "at least 2 samples"));
    scorecard_destroy(&card);
    dataset_destroy(&small);
    dataset_destroy(&test);
    dataset_destroy(&one);
}

// Writes d as the IDX pair DIR/PREFIX-images-idx3-ubyte and -labels-.
static void s_write_idx(const dataset_t *d, const char *dir, const char *prefix)
{
    char img[600], lab[600];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", dir, prefix);
    fs_err_t err = {0, ""};
    assert_int_equal(idx_save(d, img, d->y ? lab : NULL, &err), 0);
}

// `fedsyn eval`'s measurement: the test images scored against themselves
// sit at FID 0 and agree with their labels; the floor is real images, the
// ceiling noise; CAS runs with true labels, or with the evaluator's when
// the samples have none and pseudo-labels are asked for.
static void test_evaluation(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/eval", fixture_tmpdir());
    assert_int_equal(mkdir(dir, 0755), 0);
    dataset_t *test = fixture_shapes(200, 2), *train = fixture_shapes(300, 4);
    s_write_idx(test, dir, "t10k");
    s_write_idx(train, dir, "train");
    char samples[600], labels[600];
    snprintf(samples, sizeof samples, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte", dir);
    evaluation_opts_t o = {.samples = samples, .sample_labels = labels, .seed = 7,
                           .data_dir = dir, .cas_epochs = 1, .temperature = 1};
    evaluation_t r;
    fs_err_t err = {0, ""};
    assert_int_equal(evaluation_run(s_evaluator, &o, &r, &err), 0);
    assert_int_equal(r.samples, 200);
    assert_true(fabs(r.fid_test) < 1e-2);
    assert_true(r.fid_floor > r.fid_test && r.fid_ceiling > 10 * r.fid_floor);
    assert_true(r.fid_reference == -1);
    assert_int_equal(r.coverage.classes_present, 10);
    assert_true(r.label_agreement > 0.8);
    assert_int_equal(r.cas_kind, EVALUATION_CAS_TRUE);
    assert_true(r.cas_accuracy > 0.1 && r.cas_accuracy <= 1);
    // without labels: no agreement, no CAS unless pseudo-labels are asked for
    o.sample_labels = NULL;
    assert_int_equal(evaluation_run(s_evaluator, &o, &r, &err), 0);
    assert_true(r.label_agreement == -1);
    assert_int_equal(r.cas_kind, EVALUATION_CAS_NONE);
    o.pseudo_cas = 1;
    assert_int_equal(evaluation_run(s_evaluator, &o, &r, &err), 0);
    assert_int_equal(r.cas_kind, EVALUATION_CAS_PSEUDO);
    // what cannot be read is named
    o.data_dir = "/nonexistent-data";
    assert_int_not_equal(evaluation_run(s_evaluator, &o, &r, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent-data"));
    o.data_dir = dir;
    o.samples = NULL;
    o.model = "/nonexistent.fsm";
    o.n = 10;
    assert_int_not_equal(evaluation_run(s_evaluator, &o, &r, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent.fsm"));
    dataset_destroy(&test);
    dataset_destroy(&train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scorecard_usage),
        cmocka_unit_test(test_score_is_the_parts),
        cmocka_unit_test(test_test_set_is_read_once),
        cmocka_unit_test(test_bad_inputs_are_refused),
        cmocka_unit_test(test_evaluation),
    };
    return cmocka_run_group_tests_name("scorecard", tests, s_setup, s_teardown);
}
