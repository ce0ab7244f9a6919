/* test_classifier.c - the evaluation classifier: how it is trained (the
 * evaluator's recipe: random shifts and a cosine learning-rate decay), that
 * it learns, that training is reproducible from a seed, and CAS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/metrics/cas.h"
#include "node/models/classifier.h"
#include "node/train/classifier_train.h"
#include "tests/support/fixtures.h"

static void test_classifier_usage(void **state)
{
    (void)state;
    dataset_t *train = fixture_shapes(800, 1), *test = fixture_shapes(300, 2);
    model_t *m = classifier_new(1, 28, 28, 64, 11);
    classifier_train_config_t cfg = {
        .epochs = 4, .batch = 64, .lr = 1e-3f, .seed = 3, .lr_final = 1e-5f, .shift = 2};
    fs_err_t err = {0, ""};
    assert_int_equal(classifier_train(m, train, &cfg, &err), 0);
    double per_class[10];
    double acc = classifier_accuracy(m, test, per_class);
    // ten shapes drawn with jitter: far above chance (0.1) after 4 epochs
    assert_true(acc > 0.9);
    float *probs = malloc(sizeof(float) * 10 * 3), *feat = malloc(sizeof(float) * 84 * 3);
    classifier_run(m, test->x, 3, probs, feat);
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int k = 0; k < 10; k++) {
            sum += (double)probs[i * 10 + k];
        }
        assert_true(fabs(sum - 1) < 1e-5);
    }
    free(probs);
    free(feat);
    model_destroy(&m);
    dataset_destroy(&train);
    dataset_destroy(&test);
}

static void test_shift_image_moves_and_zero_fills(void **state)
{
    (void)state;
    enum { H = 4, W = 5 };
    float src[2 * H * W], dst[2 * H * W];
    for (int i = 0; i < 2 * H * W; i++) {
        src[i] = (float)(i + 1);
    }
    classifier_shift_image(dst, src, 2, H, W, 0, 0);
    assert_memory_equal(dst, src, sizeof src);
    // right by 2, up by 1: dst(y, x) = src(y + 1, x - 2), zero where that is outside
    classifier_shift_image(dst, src, 2, H, W, 2, -1);
    for (int c = 0; c < 2; c++) {
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int sy = y + 1, sx = x - 2;
                float want = (sy < H && sx >= 0) ? src[(c * H + sy) * W + sx] : 0.0f;
                assert_true(dst[(c * H + y) * W + x] == want);
            }
        }
    }
}

static void test_lr_schedule(void **state)
{
    (void)state;
    classifier_train_config_t flat = {.epochs = 1, .batch = 8, .lr = 1e-3f};
    assert_true(classifier_lr_at(&flat, 0) == 1e-3f);
    assert_true(classifier_lr_at(&flat, 0.7) == 1e-3f);
    classifier_train_config_t cos = {.epochs = 1, .batch = 8, .lr = 1e-3f, .lr_final = 1e-5f};
    assert_true(fabsf(classifier_lr_at(&cos, 0) - 1e-3f) < 1e-9f);
    assert_true(fabsf(classifier_lr_at(&cos, 1) - 1e-5f) < 1e-9f);
    assert_true(fabsf(classifier_lr_at(&cos, 0.5) - 0.5f * (1e-3f + 1e-5f)) < 1e-9f);
    float last = 1;
    for (int k = 0; k <= 10; k++) {
        float lr = classifier_lr_at(&cos, k / 10.0);
        assert_true(lr <= last);
        last = lr;
    }
}

static void test_training_is_reproducible(void **state)
{
    (void)state;
    dataset_t *train = fixture_shapes(200, 4);
    classifier_train_config_t cfg = {
        .epochs = 1, .batch = 32, .lr = 1e-3f, .seed = 9, .lr_final = 1e-4f, .shift = 1};
    model_t *a = classifier_new(1, 28, 28, 32, 5), *b = classifier_new(1, 28, 28, 32, 5);
    assert_int_equal(classifier_train(a, train, &cfg, NULL), 0);
    assert_int_equal(classifier_train(b, train, &cfg, NULL), 0);
    assert_memory_equal(model_params(a), model_params(b), sizeof(float) * model_param_count(a));
    // another seed shifts and shuffles differently
    model_t *c = classifier_new(1, 28, 28, 32, 5);
    cfg.seed = 10;
    assert_int_equal(classifier_train(c, train, &cfg, NULL), 0);
    assert_true(memcmp(model_params(a), model_params(c), sizeof(float) * model_param_count(a)));
    model_destroy(&a);
    model_destroy(&b);
    model_destroy(&c);
    dataset_destroy(&train);
}

static void test_bad_settings_are_refused(void **state)
{
    (void)state;
    dataset_t *train = fixture_shapes(20, 4);
    model_t *m = classifier_new(1, 28, 28, 16, 5);
    fs_err_t err = {0, ""};
    classifier_train_config_t cfg = {.epochs = 1, .batch = 16, .lr = 1e-3f, .shift = 28};
    assert_int_not_equal(classifier_train(m, train, &cfg, &err), 0);
    assert_non_null(strstr(err.msg, "shift 28"));
    cfg.shift = 0;
    cfg.batch = 17;
    assert_int_not_equal(classifier_train(m, train, &cfg, &err), 0);
    assert_non_null(strstr(err.msg, "batch 17"));
    model_destroy(&m);
    dataset_destroy(&train);
}

static void test_cas_learns_from_labelled_images(void **state)
{
    (void)state;
    // CAS with "synthetic" images that are real shapes scores high, and
    // with their labels scrambled stays near chance.
    dataset_t *synth = fixture_shapes(600, 6), *test = fixture_shapes(300, 7);
    cas_result_t good, bad;
    fs_err_t err = {0, ""};
    assert_int_equal(cas_run(synth, test, 3, 1, NULL, &good, &err), 0);
    for (int i = 0; i < synth->n; i++) {
        synth->y[i] = (uint8_t)((synth->y[i] + 1 + i % 9) % 10);
    }
    assert_int_equal(cas_run(synth, test, 3, 1, NULL, &bad, &err), 0);
    assert_true(good.accuracy > 0.8);
    assert_true(bad.accuracy < 0.3);
    dataset_t *unlabelled = fixture_shapes(10, 8);
    free(unlabelled->y);
    unlabelled->y = NULL;
    assert_int_not_equal(cas_run(unlabelled, test, 1, 1, NULL, &good, &err), 0);
    assert_non_null(strstr(err.msg, "no labels"));
    dataset_destroy(&unlabelled);
    dataset_destroy(&synth);
    dataset_destroy(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier_usage),
        cmocka_unit_test(test_shift_image_moves_and_zero_fills),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_training_is_reproducible),
        cmocka_unit_test(test_bad_settings_are_refused),
        cmocka_unit_test(test_cas_learns_from_labelled_images),
    };
    return cmocka_run_group_tests(tests, NULL, fixture_teardown);
}
