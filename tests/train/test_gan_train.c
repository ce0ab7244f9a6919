/* test_gan_train.c - the GAN iteration: usage, no allocation per step,
 * reproducibility from a seed, checkpoint round trip, and a short training
 * on a small fixture after which samples are measurably closer to the data
 * (FID in a pooled-pixel feature space falls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/mem.h"
#include "node/metrics/fid.h"
#include "node/nn/model_file.h"
#include "node/train/checkpoint.h"
#include "node/train/gan_train.h"
#include "tests/support/fixtures.h"

static gan_trainer_t *s_narrow(uint64_t seed, int batch)
{
    dcgan_config_t arch = dcgan_config_width(16);
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = batch;
    cfg.seed = seed;
    return gan_trainer_new(&arch, &cfg);
}

static void test_gan_train_usage(void **state)
{
    (void)state;
    // the paper's sizes first: 1,164,289 + 40,705 parameters
    dcgan_config_t paper = dcgan_config_paper();
    model_t *g = dcgan_generator_new(&paper, 2, 1), *d = dcgan_discriminator_new(&paper, 2, 1);
    assert_int_equal(model_param_count(g), 1164289);
    assert_int_equal(model_param_count(d), 40705);
    model_destroy(&g);
    model_destroy(&d);

    dataset_t *data = fixture_shapes(64, 1);
    gan_trainer_t *t = s_narrow(1, 16);
    fs_err_t err = {0, ""};
    assert_int_equal(gan_trainer_set_data(t, data, &err), 0);
    gan_step_stats_t st;
    gan_train_step(t, &st);
    assert_true(isfinite(st.d_loss) && isfinite(st.g_loss));
    assert_true(st.d_acc_real >= 0 && st.d_acc_real <= 1);
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

static void test_gan_step_allocates_nothing(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    gan_trainer_t *t = s_narrow(2, 16);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    gan_train_step(t, NULL);
    unsigned long before = mem_allocation_count();
    for (int i = 0; i < 5; i++) { // past a reshuffle (64 images / 8 real per step)
        gan_train_step(t, NULL);
    }
    assert_int_equal(mem_allocation_count(), before);
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

static void test_gan_is_reproducible(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    gan_trainer_t *a = s_narrow(5, 16), *b = s_narrow(5, 16);
    assert_int_equal(gan_trainer_set_data(a, data, NULL), 0);
    assert_int_equal(gan_trainer_set_data(b, data, NULL), 0);
    for (int i = 0; i < 3; i++) {
        gan_train_step(a, NULL);
        gan_train_step(b, NULL);
    }
    model_t *ga = gan_trainer_generator(a), *gb = gan_trainer_generator(b);
    assert_memory_equal(model_params(ga), model_params(gb),
                        sizeof(float) * model_param_count(ga));
    gan_trainer_destroy(&a);
    gan_trainer_destroy(&b);
    dataset_destroy(&data);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    gan_trainer_t *t = s_narrow(3, 16);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    gan_train_step(t, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/gan.fsm", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(checkpoint_save_gan(path, t, 1, "shapes", &err), 0);
    dcgan_config_t arch;
    model_t *g = NULL;
    assert_int_equal(checkpoint_load_generator(path, 16, &arch, &g, &err), 0);
    assert_int_equal(arch.g_width, 16);
    model_t *orig = gan_trainer_generator(t);
    assert_memory_equal(model_params(g), model_params(orig), sizeof(float) * model_param_count(g));
    model_destroy(&g);
    // a generator of another width is refused with a clear message
    dcgan_config_t wide = dcgan_config_width(32);
    gan_train_config_t cfg = gan_train_config_paper();
    gan_trainer_t *w = gan_trainer_new(&wide, &cfg);
    assert_int_not_equal(checkpoint_load_gan(path, w, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "different architecture"));
    gan_trainer_destroy(&w);
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

static void s_steps(gan_trainer_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        gan_train_step(t, NULL);
    }
}

static void s_assert_same_weights(gan_trainer_t *a, gan_trainer_t *b)
{
    model_t *ms[2][2] = {{gan_trainer_generator(a), gan_trainer_discriminator(a)},
                         {gan_trainer_generator(b), gan_trainer_discriminator(b)}};
    for (int i = 0; i < 2; i++) {
        assert_memory_equal(model_params(ms[0][i]), model_params(ms[1][i]),
                            sizeof(float) * model_param_count(ms[0][i]));
    }
}

// Training 3 steps, saving, and resuming for 4 more (past a reshuffle of the
// 20 images, with dropout on) gives the same bits as 7 steps in one go.
static void test_checkpoint_resumes_exactly(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(20, 1);
    gan_trainer_t *a = s_narrow(7, 8);
    assert_int_equal(gan_trainer_set_data(a, data, NULL), 0);
    s_steps(a, 3);
    char path[512], weights[512];
    snprintf(path, sizeof path, "%s/state.fsm", fixture_tmpdir());
    snprintf(weights, sizeof weights, "%s/weights.fsm", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(checkpoint_save_gan_state(path, a, 0, 3, "shapes", &err), 0);
    assert_int_equal(checkpoint_save_gan(weights, a, 0, "shapes", &err), 0);
    s_steps(a, 4);

    // another seed: everything that matters must come from the file
    gan_trainer_t *b = s_narrow(99, 8);
    assert_int_equal(gan_trainer_set_data(b, data, NULL), 0);
    checkpoint_resume_t at;
    assert_int_equal(checkpoint_resume_gan(path, b, &at, &err), 0);
    assert_true(at.exact);
    assert_false(at.fresh_order);
    assert_int_equal(at.epoch, 0);
    assert_int_equal(at.iter, 3);
    assert_int_equal(gan_trainer_adam_g(b)->t, 3);
    s_steps(b, 4);
    s_assert_same_weights(a, b);
    assert_memory_equal(gan_trainer_adam_g(a)->v, gan_trainer_adam_g(b)->v,
                        sizeof(float) * gan_trainer_adam_g(a)->n);

    // the weights alone resume too, but not exactly
    gan_trainer_t *c = s_narrow(99, 8);
    assert_int_equal(gan_trainer_set_data(c, data, NULL), 0);
    assert_int_equal(checkpoint_resume_gan(weights, c, &at, &err), 0);
    assert_false(at.exact);
    assert_int_equal(at.iter, 0);
    assert_int_equal(gan_trainer_adam_g(c)->t, 0);

    // other data: the optimiser state still, a fresh order
    dataset_t *more = fixture_shapes(24, 1);
    gan_trainer_t *d = s_narrow(99, 8);
    assert_int_equal(gan_trainer_set_data(d, more, NULL), 0);
    assert_int_equal(checkpoint_resume_gan(path, d, &at, &err), 0);
    assert_true(at.exact && at.fresh_order);
    gan_trainer_destroy(&a);
    gan_trainer_destroy(&b);
    gan_trainer_destroy(&c);
    gan_trainer_destroy(&d);
    dataset_destroy(&data);
    dataset_destroy(&more);
}

// A trainer section with a bad value is refused, naming the value.
static void test_checkpoint_state_refused(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(20, 1);
    gan_trainer_t *t = s_narrow(7, 8);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    model_t *g = gan_trainer_generator(t), *d = gan_trainer_discriminator(t);
    const char *meta = "arch=dcgan latent=100 g_width=16 d_width=8 img=1x28x28 epoch=2\n";
    const char *bad[] = {
        "iter=1 adam_steps_g=-4 adam_steps_d=1", // a negative step count
        "iter=1 adam_steps_g=1 adam_steps_d=1 order_n=20 order_cursor=21", // past the end
        "iter=1 adam_steps_g=1 adam_steps_d=1 order_n=20 order_cursor=0 rng=12:zz",
    };
    const char *names[] = {"adam_steps_g", "order_cursor", "'rng'"};
    char path[512];
    snprintf(path, sizeof path, "%s/bad-state.fsm", fixture_tmpdir());
    for (int i = 0; i < 3; i++) {
        model_section_t s[3] = {
            {"meta", SECTION_TEXT, meta, strlen(meta)},
            {"generator", SECTION_FLOATS, model_params(g), model_param_count(g) * 4},
            {"discriminator", SECTION_FLOATS, model_params(d), model_param_count(d) * 4},
        };
        model_section_t all[4] = {s[0], s[1], s[2], {"trainer", SECTION_TEXT, bad[i],
                                                      strlen(bad[i])}};
        fs_err_t err = {0, ""};
        assert_int_equal(model_file_save(path, all, 4, &err), 0);
        checkpoint_resume_t at;
        assert_int_not_equal(checkpoint_resume_gan(path, t, &at, &err), 0);
        assert_non_null(strstr(err.msg, names[i]));
        assert_false(at.exact);
    }
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

// 7x7 average-pooled pixels: a fixed feature space that needs no training.
static fid_stats_t *s_pooled_stats(const float *x, int n)
{
    float *f = malloc(sizeof(float) * (size_t)n * 49);
    for (int i = 0; i < n; i++) {
        for (int by = 0; by < 7; by++) {
            for (int bx = 0; bx < 7; bx++) {
                float s = 0;
                for (int y = 0; y < 4; y++) {
                    for (int xx = 0; xx < 4; xx++) {
                        s += x[(size_t)i * 784 + (by * 4 + y) * 28 + bx * 4 + xx];
                    }
                }
                f[(size_t)i * 49 + by * 7 + bx] = s / 16;
            }
        }
    }
    fid_stats_t *st = fid_stats_new(f, n, 49, NULL);
    free(f);
    return st;
}

static double s_fid_to_data(gan_trainer_t *t, const fid_stats_t *data_stats)
{
    const int n = 512, b = 64;
    float *img = malloc(sizeof(float) * n * 784), *z = malloc(sizeof(float) * b * 100);
    rng_t rng;
    rng_seed(&rng, 42);
    for (int s = 0; s < n; s += b) {
        gan_generate(gan_trainer_generator(t), 100, b, &rng, z, img + (size_t)s * 784);
    }
    fid_stats_t *gs = s_pooled_stats(img, n);
    double fid = -1;
    assert_int_equal(fid_distance(gs, data_stats, &fid, NULL), 0);
    fid_stats_destroy(&gs);
    free(img);
    free(z);
    return fid;
}

static void test_short_training_moves_towards_data(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(512, 9);
    fid_stats_t *ds = s_pooled_stats(data->x, data->n);
    gan_trainer_t *t = s_narrow(7, 64);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    double before = s_fid_to_data(t, ds);
    for (int i = 0; i < 150; i++) {
        gan_train_step(t, NULL);
    }
    double after = s_fid_to_data(t, ds);
    print_message("# pooled-pixel FID to the data: %.4f before, %.4f after 150 steps\n",
                  before, after);
    if (!(after < 0.5 * before)) {
        fail_msg("FID to the data went from %.4f to %.4f: expected to halve", before, after);
    }
    gan_trainer_destroy(&t);
    fid_stats_destroy(&ds);
    dataset_destroy(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gan_train_usage),
        cmocka_unit_test(test_gan_step_allocates_nothing),
        cmocka_unit_test(test_gan_is_reproducible),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_resumes_exactly),
        cmocka_unit_test(test_checkpoint_state_refused),
        cmocka_unit_test(test_short_training_moves_towards_data),
    };
    return cmocka_run_group_tests_name("gan_train", tests, NULL, fixture_teardown);
}
