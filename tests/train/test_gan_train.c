/* test_gan_train.c - the GAN iteration: usage, no allocation per step,
 * reproducibility from a seed, checkpoint round trip, and a short training
 * on a small fixture after which samples are measurably closer to the data
 * (FID in a pooled-pixel feature space falls); the conditional variant's
 * inputs, files and refusals, and a short training after which each
 * label's samples are closer to that label's data than to the other's. */
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
#include "node/train/workload.h"
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
    assert_int_equal(checkpoint_save_gan_state(path, a, 0, 3, "shapes", NULL, &err), 0);
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

static gan_trainer_t *s_conditional(int width, uint64_t seed, int batch, float lr)
{
    dcgan_config_t arch = dcgan_config_width(width);
    arch.classes = 10;
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.lr = lr;
    cfg.batch = batch;
    cfg.seed = seed;
    return gan_trainer_new(&arch, &cfg);
}

static void test_conditional_gan_usage(void **state)
{
    (void)state;
    // the paper's layers; one-hot into G's dense layer, and D's dense layer
    // gives 1 + 10 outputs: 10 x 6272 and 10 x (3136 + 1) more parameters
    dcgan_config_t paper = dcgan_config_paper();
    paper.classes = 10;
    model_t *g = dcgan_generator_new(&paper, 2, 1), *d = dcgan_discriminator_new(&paper, 2, 1);
    assert_int_equal(model_param_count(g), 1164289 + 62720);
    assert_int_equal(model_param_count(d), 40705 + 31370);
    model_destroy(&g);
    model_destroy(&d);

    // the generator's input: z then one-hot; the logit: score + label's row
    dcgan_config_t a = dcgan_config_width(16);
    a.classes = 3;
    a.latent = 2;
    const float z[4] = {0.5f, -1, 2, 3};
    const uint8_t y[2] = {2, 0};
    float zin[10];
    dcgan_pack_latent(&a, z, y, 2, zin);
    const float want_z[10] = {0.5f, -1, 0, 0, 1, 2, 3, 1, 0, 0};
    assert_memory_equal(zin, want_z, sizeof want_z);
    const float out[8] = {1, 10, 20, 30, -1, 40, 50, 60};
    float logits[2], dlogits[2] = {0.25f, -2}, dout[8];
    dcgan_d_logits(&a, out, y, 2, logits);
    assert_true(logits[0] == 31 && logits[1] == 39);
    dcgan_d_logits_grad(&a, dlogits, y, 2, dout);
    const float want_dout[8] = {0.25f, 0, 0, 0.25f, -2, -2, 0, 0};
    assert_memory_equal(dout, want_dout, sizeof want_dout);

    // unlabelled data, or a label past the model's classes, are refused
    fs_err_t err = {0, ""};
    gan_trainer_t *t = s_conditional(16, 1, 16, 2e-4f);
    dataset_t *bare = dataset_new(8, 1, 28, 28, 0);
    assert_int_equal(gan_trainer_set_data(t, bare, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "labelled"));
    dataset_t *data = fixture_shapes(64, 1);
    data->y[5] = 10;
    assert_int_equal(gan_trainer_set_data(t, data, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "image 5 has label 10"));
    data->y[5] = 5;
    assert_int_equal(gan_trainer_set_data(t, data, &err), 0);

    // a conditional step allocates nothing either
    gan_train_step(t, NULL);
    unsigned long before = mem_allocation_count();
    gan_step_stats_t st;
    for (int i = 0; i < 5; i++) {
        gan_train_step(t, &st);
    }
    assert_int_equal(mem_allocation_count(), before);
    assert_true(isfinite(st.d_loss) && isfinite(st.g_loss));

    // the file says "classes=10"; an unconditional run refuses it, naming both
    char path[512];
    snprintf(path, sizeof path, "%s/cgan.fsm", fixture_tmpdir());
    assert_int_equal(checkpoint_save_gan_state(path, t, 1, 0, "shapes", NULL, &err), 0);
    dcgan_config_t back;
    model_t *gl = NULL;
    assert_int_equal(checkpoint_load_generator(path, 16, &back, &gl, &err), 0);
    assert_int_equal(back.classes, 10);
    assert_memory_equal(model_params(gl), model_params(gan_trainer_generator(t)),
                        sizeof(float) * model_param_count(gl));
    model_destroy(&gl);
    gan_trainer_t *u = s_narrow(1, 16);
    assert_int_equal(gan_trainer_set_data(u, data, &err), 0);
    checkpoint_resume_t at;
    assert_int_not_equal(checkpoint_resume_gan(path, u, &at, &err), 0);
    assert_non_null(strstr(err.msg, "different architecture"));
    assert_non_null(strstr(err.msg, "conditioned on 10 labels"));
    assert_non_null(strstr(err.msg, "unconditional"));
    // and a conditional one resumes it exactly
    gan_trainer_t *c = s_conditional(16, 9, 16, 2e-4f);
    assert_int_equal(gan_trainer_set_data(c, data, &err), 0);
    assert_int_equal(checkpoint_resume_gan(path, c, &at, &err), 0);
    assert_true(at.exact);
    gan_train_step(t, NULL);
    gan_train_step(c, NULL);
    s_assert_same_weights(t, c);

    // a "classes" that no conditional model has is refused
    const char *meta = "arch=dcgan latent=100 g_width=16 d_width=8 img=1x28x28 classes=1 epoch=0\n";
    model_section_t s[1] = {{"meta", SECTION_TEXT, meta, strlen(meta)}};
    assert_int_equal(model_file_save(path, s, 1, &err), 0);
    assert_int_not_equal(checkpoint_load_generator(path, 16, &back, &gl, &err), 0);
    assert_non_null(strstr(err.msg, "classes=1"));
    // a header claiming a huge generator over a small one is refused before
    // anything is built (it asked for terabytes)
    const char *huge = "arch=dcgan latent=100 g_width=1000000 d_width=8 img=1x1024x1024 "
                       "epoch=0\n";
    float few[64] = {0};
    model_section_t h[2] = {{"meta", SECTION_TEXT, huge, strlen(huge)},
                            {"generator", SECTION_FLOATS, few, sizeof few}};
    assert_int_equal(model_file_save(path, h, 2, &err), 0);
    assert_int_not_equal(checkpoint_load_generator(path, 16, &back, &gl, &err), 0);
    assert_int_equal(err.code, FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "meta claims a generator of width 1000000"));
    gan_trainer_destroy(&t);
    gan_trainer_destroy(&u);
    gan_trainer_destroy(&c);
    dataset_destroy(&bare);
    dataset_destroy(&data);
}

// The auxiliary classifier's loss on D's label rows: softmax cross-entropy
// by its definition, a gradient that matches finite differences, that
// leaves the score's column alone and adds to what is there already.
static void test_auxiliary_classifier_loss(void **state)
{
    (void)state;
    dcgan_config_t a = dcgan_config_width(4);
    a.classes = 3;
    const uint8_t y[2] = {2, 0};
    float out[8] = {5, 0.5f, -1, 2, -7, 3, 1, -0.25f};
    double want = 0;
    for (int i = 0; i < 2; i++) {
        const float *z = out + i * 4 + 1;
        want += log(exp((double)z[0]) + exp((double)z[1]) + exp((double)z[2])) - (double)z[y[i]];
    }
    float dout[8] = {0.5f, 0, 0, 0, -0.5f, 1, 1, 1};
    double loss = dcgan_d_class_loss(&a, out, y, 2, 2.0f, dout, NULL);
    assert_true(fabs(loss - want / 2) < 1e-6);
    assert_true(dout[0] == 0.5f && dout[4] == -0.5f); // the score's gradient untouched
    for (int i = 0; i < 8; i++) {
        if (i % 4 == 0) {
            continue;
        }
        const float keep = out[i], h = 1e-3f;
        out[i] = keep + h;
        double up = dcgan_d_class_loss(&a, out, y, 2, 0, NULL, NULL);
        out[i] = keep - h;
        double down = dcgan_d_class_loss(&a, out, y, 2, 0, NULL, NULL);
        out[i] = keep;
        const double numeric = 2.0 * (up - down) / (2.0 * (double)h); // weight 2
        const double before = i >= 4 ? 1.0 : 0.0;
        assert_true(fabs((double)dout[i] - before - numeric) < 1e-3);
    }
}

// The restricted softmax (FedRS): with labels 0 and 2 allowed of 3, the
// loss is the cross-entropy over those two rows alone, row 1 gets no
// gradient whatever its value, the others match finite differences; with
// every label allowed it is the plain loss bit for bit.
static void test_auxiliary_classifier_own_labels(void **state)
{
    (void)state;
    dcgan_config_t a = dcgan_config_width(4);
    a.classes = 3;
    const uint8_t y[2] = {2, 0}, allowed[3] = {1, 0, 1}, all[3] = {1, 1, 1};
    float out[8] = {5, 0.5f, 40, 2, -7, 3, 1, -0.25f};
    double want = 0;
    for (int i = 0; i < 2; i++) {
        const float *z = out + i * 4 + 1;
        want += log(exp((double)z[0]) + exp((double)z[2])) - (double)z[y[i]];
    }
    float dout[8] = {0};
    double loss = dcgan_d_class_loss(&a, out, y, 2, 1.0f, dout, allowed);
    assert_true(fabs(loss - want / 2) < 1e-6);
    assert_true(dout[0] == 0 && dout[4] == 0 && dout[2] == 0 && dout[6] == 0);
    for (int i = 0; i < 8; i++) {
        const float keep = out[i], h = 1e-3f;
        out[i] = keep + h;
        double up = dcgan_d_class_loss(&a, out, y, 2, 0, NULL, allowed);
        out[i] = keep - h;
        double down = dcgan_d_class_loss(&a, out, y, 2, 0, NULL, allowed);
        out[i] = keep;
        assert_true(fabs((double)dout[i] - (up - down) / (2.0 * (double)h)) < 1e-3);
    }
    float d_all[8] = {0}, d_none[8] = {0};
    double l_all = dcgan_d_class_loss(&a, out, y, 2, 1.0f, d_all, all);
    double l_none = dcgan_d_class_loss(&a, out, y, 2, 1.0f, d_none, NULL);
    assert_true(l_all == l_none);
    assert_memory_equal(d_all, d_none, sizeof d_all);
}

// TAC-GAN's twin classifier: D's output widens by K rows after the label
// rows; the twin's loss is the softmax cross-entropy of those rows, its
// gradient (of either sign: G's step maximises it) matches finite
// differences and touches neither the score nor the label rows, and the
// projection logit and class loss still read the label rows.
static void test_twin_classifier_loss(void **state)
{
    (void)state;
    dcgan_config_t a = dcgan_config_width(4);
    a.classes = 3;
    a.d_twin = 1;
    assert_int_equal(dcgan_d_out_width(&a), 7);
    const uint8_t y[2] = {1, 2};
    float out[14] = {5, 0.5f, -1, 2, -7, 3, 1, -0.25f, 0.75f, 2, -3, 0.5f, 0.25f, -1};
    float logits[2];
    dcgan_d_logits(&a, out, y, 2, logits);
    assert_true(logits[0] == 5 + -1.0f && logits[1] == -0.25f + -3.0f);
    double want = 0;
    for (int i = 0; i < 2; i++) {
        const float *z = out + i * 7 + 4;
        want += log(exp((double)z[0]) + exp((double)z[1]) + exp((double)z[2])) - (double)z[y[i]];
    }
    float dout[14] = {0};
    double loss = dcgan_d_twin_loss(&a, out, y, 2, -1.5f, dout);
    assert_true(fabs(loss - want / 2) < 1e-6);
    for (int i = 0; i < 14; i++) {
        const float keep = out[i], h = 1e-3f;
        out[i] = keep + h;
        double up = dcgan_d_twin_loss(&a, out, y, 2, 0, NULL);
        out[i] = keep - h;
        double down = dcgan_d_twin_loss(&a, out, y, 2, 0, NULL);
        out[i] = keep;
        const double numeric = -1.5 * (up - down) / (2.0 * (double)h);
        assert_true(fabs((double)dout[i] - numeric) < 1e-3);
        if (i % 7 < 4) {
            assert_true(dout[i] == 0.0f); // the score and the label rows untouched
        }
    }
    double cls = dcgan_d_class_loss(&a, out, y, 2, 0, NULL, NULL);
    double cls_want = 0;
    for (int i = 0; i < 2; i++) {
        const float *z = out + i * 7 + 1;
        cls_want += log(exp((double)z[0]) + exp((double)z[1]) + exp((double)z[2])) -
                    (double)z[y[i]];
    }
    assert_true(fabs(cls - cls_want / 2) < 1e-6);
    model_t *d = dcgan_discriminator_new(&a, 2, 1);
    assert_int_equal(model_output_size(d), 7);
    model_destroy(&d);
}

// Grown from a trained unconditional GAN, the conditional one computes what
// it computed, whatever the label, until training moves the label weights.
static void test_conditional_gan_from_trained(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    gan_trainer_t *u = s_narrow(3, 16);
    assert_int_equal(gan_trainer_set_data(u, data, NULL), 0);
    s_steps(u, 3);
    char path[512];
    snprintf(path, sizeof path, "%s/uncond.fsm", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(checkpoint_save_gan(path, u, 1, "shapes", &err), 0);
    gan_trainer_t *c = s_conditional(16, 4, 16, 2e-4f);
    assert_int_equal(checkpoint_grow_conditional(path, c, &err), 0);

    const dcgan_config_t *a = gan_trainer_arch(c);
    enum { N = 8 };
    float z[N * 100], in[N * 110], img[N * 784], got[N * 784], logit[N];
    rng_t rng;
    rng_seed(&rng, 5);
    rng_normal_floats(&rng, z, N * 100);
    float want[N * 784], want_logit[N];
    gan_decode(gan_trainer_generator(u), z, N, want);
    memcpy(img, want, sizeof img);
    memcpy(want_logit, model_forward(gan_trainer_discriminator(u), img, N, false),
           sizeof want_logit);
    for (int label = 0; label < 10; label += 3) {
        uint8_t y[N];
        memset(y, label, N);
        dcgan_pack_latent(a, z, y, N, in);
        gan_decode(gan_trainer_generator(c), in, N, got);
        const float *out = model_forward(gan_trainer_discriminator(c), img, N, false);
        dcgan_d_logits(a, out, y, N, logit);
        for (int i = 0; i < N * 784; i++) {
            assert_float_equal(got[i], want[i], 1e-5);
        }
        for (int i = 0; i < N; i++) {
            assert_float_equal(logit[i], want_logit[i], 1e-4);
            for (int k = 1; k <= 10; k++) {
                assert_true(out[i * 11 + k] == 0.0f); // the labels' rows start at zero
            }
        }
    }
    // a conditional file, or another width, is refused with both named
    char cpath[512];
    snprintf(cpath, sizeof cpath, "%s/cond.fsm", fixture_tmpdir());
    assert_int_equal(checkpoint_save_gan(cpath, c, 1, "shapes", &err), 0);
    assert_int_not_equal(checkpoint_grow_conditional(cpath, c, &err), 0);
    assert_non_null(strstr(err.msg, "conditioned on 10 labels, images 1x28x28, this run"));
    gan_trainer_t *wide = s_conditional(32, 4, 16, 2e-4f);
    assert_int_not_equal(checkpoint_grow_conditional(path, wide, &err), 0);
    assert_non_null(strstr(err.msg, "width 16/8"));
    assert_non_null(strstr(err.msg, "width 32/16"));
    gan_trainer_destroy(&u);
    gan_trainer_destroy(&c);
    gan_trainer_destroy(&wide);
    dataset_destroy(&data);
}

// n samples of label k from a conditional generator (fixed latents).
static float *s_conditional_samples(gan_trainer_t *t, int k, int n)
{
    const dcgan_config_t *a = gan_trainer_arch(t);
    model_t *g = gan_trainer_generator(t);
    float *img = malloc(sizeof(float) * (size_t)n * 784);
    float *z = malloc(sizeof(float) * (size_t)n * a->latent);
    float *in = malloc(sizeof(float) * (size_t)n * model_input_size(g));
    uint8_t *y = malloc((size_t)n);
    memset(y, k, (size_t)n);
    rng_t rng;
    rng_seed(&rng, 42);
    rng_normal_floats(&rng, z, (size_t)n * a->latent);
    dcgan_pack_latent(a, z, y, n, in);
    for (int s = 0; s < n; s += 64) {
        gan_decode(g, in + (size_t)s * model_input_size(g), 64, img + (size_t)s * 784);
    }
    free(z);
    free(in);
    free(y);
    return img;
}

// Rings (label 0) and bars (label 1): after a short training the samples
// drawn for each label lie nearer that label's images than the samples drawn
// for the other label do.  (The GAN learns the mix of shapes first and the
// labels later.)
// Trains t for `steps` on the two-label fixture and fails unless each
// label's samples (from the generator's average when t keeps one) are
// closer to that label's data than to the other's.
static void s_assert_follows_labels(gan_trainer_t *t, int steps)
{
    dataset_t *all = fixture_shapes(1024, 9);
    uint8_t keep[10] = {1, 1};
    dataset_t *data = dataset_filter_labels(all, keep);
    dataset_t *by[2];
    fid_stats_t *ds[2];
    for (int k = 0; k < 2; k++) {
        uint8_t one[10] = {0};
        one[k] = 1;
        by[k] = dataset_filter_labels(all, one);
        ds[k] = s_pooled_stats(by[k]->x, by[k]->n);
    }
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    for (int i = 0; i < steps; i++) {
        gan_train_step(t, NULL);
    }
    gan_trainer_swap_ema(t);
    double fid[2][2]; // [drawn for][data of]
    for (int k = 0; k < 2; k++) {
        float *img = s_conditional_samples(t, k, 256);
        fid_stats_t *gs = s_pooled_stats(img, 256);
        for (int j = 0; j < 2; j++) {
            assert_int_equal(fid_distance(gs, ds[j], &fid[k][j], NULL), 0);
        }
        fid_stats_destroy(&gs);
        free(img);
    }
    print_message("# pooled-pixel FID: label 0's samples to rings %.4f, to bars %.4f; "
                  "label 1's to rings %.4f, to bars %.4f\n",
                  fid[0][0], fid[0][1], fid[1][0], fid[1][1]);
    // a 5% margin: a collapsed generator (every label the same image) gives
    // equal distances, which a bare "<" can pass on rounding
    if (!(fid[0][0] < 0.95 * fid[1][0] && fid[1][1] < 0.95 * fid[0][1])) {
        fail_msg("samples do not follow their labels (FID rings/bars: label 0 %.4f/%.4f, "
                 "label 1 %.4f/%.4f)", fid[0][0], fid[0][1], fid[1][0], fid[1][1]);
    }
    gan_trainer_swap_ema(t);
    for (int k = 0; k < 2; k++) {
        fid_stats_destroy(&ds[k]);
        dataset_destroy(&by[k]);
    }
    dataset_destroy(&data);
    dataset_destroy(&all);
}

static void test_conditional_gan_follows_labels(void **state)
{
    (void)state;
    // the paper's Adam 2e-4 at width 16: 400 steps separated rings from bars
    // on seeds 7-10 and 12; seed 11 fell into the all-black images a
    // sigmoid-output GAN can collapse to, and Adam 1e-3 did so more often
    gan_trainer_t *t = s_conditional(16, 7, 64, 2e-4f);
    s_assert_follows_labels(t, 400);
    gan_trainer_destroy(&t);
}

// fedsyn's recipe (workload.h, cgan): pixel norm and nearest-neighbour
// upsampling in G, G's step on D's fakes, a wider D with an
// auxiliary classifier, samples from the generator's average; as many
// steps as the paper's layers get above.
static void test_cgan_recipe_follows_labels(void **state)
{
    (void)state;
    workload_arch_t wa;
    assert_int_equal(workload_parse("cgan:16", &wa, NULL), 0);
    assert_true(wa.gan.g_pixel_norm && wa.gan.g_upsample && wa.gan_ema > 0 && wa.gan_aux > 0 &&
                wa.gan_reuse_fakes);
    gan_train_config_t cfg = workload_gan_config(&wa, 64, 7);
    gan_trainer_t *t = gan_trainer_new(&wa.gan, &cfg);
    assert_non_null(gan_trainer_ema(t));
    s_assert_follows_labels(t, 400);
    // the auxiliary classifier: D's label rows tell real rings from bars
    dataset_t *all = fixture_shapes(256, 11);
    uint8_t keep[10] = {1, 1};
    dataset_t *real = dataset_filter_labels(all, keep);
    const int n = real->n < 64 ? real->n : 64;
    const float *out = model_forward(gan_trainer_discriminator(t), real->x, n, false);
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *rows = out + (size_t)i * 11 + 1;
        int best = 0;
        for (int k = 1; k < 10; k++) {
            best = rows[k] > rows[best] ? k : best;
        }
        right += best == real->y[i];
    }
    print_message("# D's label rows classify %d of %d real images\n", right, n);
    assert_true(right >= n * 9 / 10);
    dataset_destroy(&real);
    dataset_destroy(&all);
    gan_trainer_destroy(&t);
}

// The hinge loss (loss.h) in place of cross-entropy: the same recipe still
// learns to follow the labels, and D's hinge is never negative.
static void test_hinge_recipe_follows_labels(void **state)
{
    (void)state;
    workload_arch_t wa;
    assert_int_equal(workload_parse("cgan:16", &wa, NULL), 0);
    wa.gan_hinge = 1;
    gan_train_config_t cfg = workload_gan_config(&wa, 64, 7);
    assert_int_equal(cfg.hinge, 1);
    gan_trainer_t *t = gan_trainer_new(&wa.gan, &cfg);
    dataset_t *data = fixture_shapes(64, 3);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    for (int i = 0; i < 20; i++) {
        gan_step_stats_t st;
        gan_train_step(t, &st);
        assert_true(st.d_loss >= 0 && isfinite(st.g_loss));
    }
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
    t = gan_trainer_new(&wa.gan, &cfg);
    s_assert_follows_labels(t, 400);
    gan_trainer_destroy(&t);
}

// The generator's average: training is the same with and without it, and
// it is the reference average of the generator's weights after every step,
// with the warm-up decay (1 + s) / (10 + s) until it reaches the cap; it
// survives a checkpoint, and samplers load it instead of the generator.
static void test_generator_average(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    arch.g_pixel_norm = 1;
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = 16;
    cfg.seed = 3;
    gan_trainer_t *plain = gan_trainer_new(&arch, &cfg);
    cfg.ema = 0.5f; // reached at step 8: both branches of the decay below
    gan_trainer_t *t = gan_trainer_new(&arch, &cfg);
    assert_null(gan_trainer_ema(plain));
    assert_int_equal(gan_trainer_set_data(plain, data, NULL), 0);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    model_t *g = gan_trainer_generator(plain);
    const size_t n = model_param_count(g);
    float *ref = xfloats(n);
    memcpy(ref, model_params(g), n * sizeof(float));
    assert_memory_equal(gan_trainer_ema(t), ref, n * sizeof(float)); // starts at G
    for (int s = 0; s < 12; s++) {
        gan_train_step(plain, NULL);
        gan_train_step(t, NULL);
        const double warm = (1.0 + s) / (10.0 + s);
        const float d = warm < 0.5 ? (float)warm : 0.5f;
        for (size_t i = 0; i < n; i++) {
            ref[i] = ref[i] + (1.0f - d) * (model_params(g)[i] - ref[i]);
        }
    }
    s_assert_same_weights(plain, t);
    assert_memory_equal(gan_trainer_ema(t), ref, n * sizeof(float));
    assert_int_equal(gan_trainer_ema_steps(t), 12);
    assert_memory_not_equal(ref, model_params(g), n * sizeof(float));

    // swapping exchanges the two exactly, twice restores them
    gan_trainer_swap_ema(t);
    assert_memory_equal(model_params(gan_trainer_generator(t)), ref, n * sizeof(float));
    gan_trainer_swap_ema(t);
    assert_memory_equal(gan_trainer_ema(t), ref, n * sizeof(float));

    // a checkpoint keeps it; resuming goes on with the same average
    char path[512];
    snprintf(path, sizeof path, "%s/ema.fsm", fixture_tmpdir());
    fs_err_t err = {0};
    assert_int_equal(checkpoint_save_gan_state(path, t, 0, 12, "mnist", NULL, &err), 0);
    gan_trainer_t *back = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(back, data, NULL), 0);
    checkpoint_resume_t at;
    assert_int_equal(checkpoint_resume_gan(path, back, &at, &err), 0);
    assert_true(at.exact);
    assert_int_equal(gan_trainer_ema_steps(back), 12);
    gan_train_step(t, NULL);
    gan_train_step(back, NULL);
    s_assert_same_weights(t, back);
    assert_memory_equal(gan_trainer_ema(t), gan_trainer_ema(back), n * sizeof(float));

    // a sampler gets the average, not the last generator
    dcgan_config_t ga;
    model_t *gl = NULL;
    assert_int_equal(checkpoint_load_generator(path, 4, &ga, &gl, &err), 0);
    assert_true(ga.g_pixel_norm);
    assert_memory_equal(model_params(gl), ref, n * sizeof(float));
    model_destroy(&gl);

    // a trainer without an average reads the file's networks and ignores it
    gan_train_config_t none = cfg;
    none.ema = 0;
    gan_trainer_t *no = gan_trainer_new(&arch, &none);
    assert_int_equal(gan_trainer_set_data(no, data, NULL), 0);
    assert_int_equal(checkpoint_resume_gan(path, no, &at, &err), 0);
    // and one with an average, resumed from a file without one, starts it at G
    assert_int_equal(checkpoint_save_gan(path, no, 1, "mnist", &err), 0);
    assert_int_equal(checkpoint_resume_gan(path, back, &at, &err), 0);
    assert_memory_equal(gan_trainer_ema(back), model_params(gan_trainer_generator(no)),
                        n * sizeof(float));
    assert_int_equal(gan_trainer_ema_steps(back), 0);
    // a file of the other normalisation is refused, naming it
    arch.g_pixel_norm = 0;
    gan_trainer_t *other = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(other, data, NULL), 0);
    assert_int_not_equal(checkpoint_resume_gan(path, other, &at, &err), 0);
    assert_non_null(strstr(err.msg, "pixel norm"));

    gan_trainer_destroy(&other);
    gan_trainer_destroy(&no);
    gan_trainer_destroy(&back);
    gan_trainer_destroy(&t);
    gan_trainer_destroy(&plain);
    free(ref);
    dataset_destroy(&data);
}

// reuse_fakes: the discriminator's step is the same as without it (the
// same real images, latents and labels), and the generator's step then
// scores those fakes again instead of drawing a fresh batch, so G moves
// differently; the step still allocates nothing.
static void test_reuse_fakes(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 1);
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    arch.g_pixel_norm = 1;
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = 16;
    cfg.seed = 4;
    gan_trainer_t *fresh = gan_trainer_new(&arch, &cfg);
    cfg.reuse_fakes = 1;
    gan_trainer_t *reuse = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(fresh, data, NULL), 0);
    assert_int_equal(gan_trainer_set_data(reuse, data, NULL), 0);
    gan_step_stats_t a, b;
    gan_train_step(fresh, &a);
    gan_train_step(reuse, &b);
    model_t *df = gan_trainer_discriminator(fresh), *dr = gan_trainer_discriminator(reuse);
    assert_memory_equal(model_params(df), model_params(dr), sizeof(float) * model_param_count(df));
    assert_true(a.d_loss == b.d_loss);
    model_t *gf = gan_trainer_generator(fresh), *gr = gan_trainer_generator(reuse);
    assert_memory_not_equal(model_params(gf), model_params(gr),
                            sizeof(float) * model_param_count(gf));
    assert_true(isfinite(b.g_loss));
    unsigned long before = mem_allocation_count();
    for (int i = 0; i < 5; i++) {
        gan_train_step(reuse, NULL);
    }
    assert_int_equal(mem_allocation_count(), before);
    gan_trainer_destroy(&fresh);
    gan_trainer_destroy(&reuse);
    dataset_destroy(&data);
}

// A generator that upsamples by nearest neighbour then convolves (3x3)
// instead of the paper's transposed convolutions (4x4): its size, its file
// (which says so and loads back the same), and a trainer of the other kind
// refuses that file, naming the difference.
static void test_upsampling_generator(void **state)
{
    (void)state;
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    arch.g_pixel_norm = 1;
    arch.g_upsample = 1;
    model_t *g = dcgan_generator_new(&arch, 2, 1);
    // dense (110 -> 7*7*8), 3x3 convolutions 8 -> 8 and 8 -> 4, the 7x7 output
    const size_t want = (110 + 1) * 392 + (9 * 8 * 8 + 8) + (9 * 8 * 4 + 4) + (49 * 4 + 1);
    assert_int_equal(model_param_count(g), want);
    model_destroy(&g);

    dataset_t *data = fixture_shapes(64, 1);
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = 16;
    gan_trainer_t *t = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    gan_train_step(t, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/up.fsm", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(checkpoint_save_gan(path, t, 1, "shapes", &err), 0);
    dcgan_config_t back;
    model_t *gl = NULL;
    assert_int_equal(checkpoint_load_generator(path, 4, &back, &gl, &err), 0);
    assert_true(back.g_upsample && back.g_pixel_norm);
    model_t *orig = gan_trainer_generator(t);
    assert_memory_equal(model_params(gl), model_params(orig),
                        sizeof(float) * model_param_count(gl));
    model_destroy(&gl);
    arch.g_upsample = 0;
    gan_trainer_t *other = gan_trainer_new(&arch, &cfg);
    assert_int_not_equal(checkpoint_load_gan(path, other, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "nearest neighbour"));
    gan_trainer_destroy(&other);
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

// One training step of `arch` on a fixture, saved to `file` and loaded back
// the same (both networks); a trainer of `other` (one setting off) refuses
// the file, its message naming the setting (`named`).
static void s_file_round_trip(const dcgan_config_t *arch, const dcgan_config_t *other,
                              const char *file, const char *named)
{
    dataset_t *data = fixture_shapes(64, 1);
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = 16;
    gan_trainer_t *t = gan_trainer_new(arch, &cfg);
    assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
    gan_step_stats_t st;
    gan_train_step(t, &st);
    assert_true(isfinite(st.d_loss) && isfinite(st.g_loss));
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fixture_tmpdir(), file);
    fs_err_t err = {0, ""};
    assert_int_equal(checkpoint_save_gan(path, t, 1, "shapes", &err), 0);
    gan_trainer_t *back = gan_trainer_new(arch, &cfg);
    assert_int_equal(checkpoint_load_gan(path, back, NULL, &err), 0);
    for (int k = 0; k < 2; k++) {
        model_t *a = k ? gan_trainer_discriminator(t) : gan_trainer_generator(t);
        model_t *b = k ? gan_trainer_discriminator(back) : gan_trainer_generator(back);
        assert_memory_equal(model_params(a), model_params(b),
                            sizeof(float) * model_param_count(a));
    }
    gan_trainer_t *refusing = gan_trainer_new(other, &cfg);
    assert_int_not_equal(checkpoint_load_gan(path, refusing, NULL, &err), 0);
    assert_non_null(strstr(err.msg, named));
    gan_trainer_destroy(&refusing);
    gan_trainer_destroy(&back);
    gan_trainer_destroy(&t);
    dataset_destroy(&data);
}

// A discriminator with the minibatch standard deviation feature: one more
// weight per output of its dense layer; its file says so and loads back
// the same, and a trainer without the feature refuses it, naming it.
static void test_minibatch_std_discriminator(void **state)
{
    (void)state;
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    arch.d_mbstd = 1;
    model_t *d = dcgan_discriminator_new(&arch, 16, 1);
    arch.d_mbstd = 0;
    model_t *plain = dcgan_discriminator_new(&arch, 16, 1);
    assert_int_equal(model_param_count(d), model_param_count(plain) + 11); // 1 + 10 outputs
    model_destroy(&d);
    model_destroy(&plain);

    arch.d_mbstd = 1;
    dcgan_config_t plain_arch = arch;
    plain_arch.d_mbstd = 0;
    s_file_round_trip(&arch, &plain_arch, "mbstd.fsm", "minibatch deviation");
}

// A generator with a linear output (g_out=linear): no sigmoid, so its raw
// images leave [0, 1] once its weights grow, while gan_decode hands out only
// values in [0, 1]; the file says so and loads back, and a trainer of the
// sigmoid generator refuses it, naming the difference.
static void test_linear_output_generator(void **state)
{
    (void)state;
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    model_t *sig = dcgan_generator_new(&arch, 8, 1);
    arch.g_linear = 1;
    model_t *lin = dcgan_generator_new(&arch, 8, 1);
    assert_int_equal(model_layer_count(lin), model_layer_count(sig) - 1);
    assert_int_equal(model_param_count(lin), model_param_count(sig));
    float *p = model_params(lin);
    for (size_t i = 0; i < model_param_count(lin); i++) {
        p[i] *= 8; // large weights: the raw output spreads far beyond [0, 1]
    }
    float z[8 * 110], img[8 * 784];
    rng_t rng;
    rng_seed(&rng, 3);
    rng_normal_floats(&rng, z, sizeof z / sizeof z[0]);
    const float *raw = model_forward(lin, z, 8, false);
    int below = 0, above = 0;
    for (int i = 0; i < 8 * 784; i++) {
        below += raw[i] < 0;
        above += raw[i] > 1;
    }
    assert_true(below > 0 && above > 0);
    gan_decode(lin, z, 8, img);
    for (int i = 0; i < 8 * 784; i++) {
        assert_true(img[i] >= 0 && img[i] <= 1);
        assert_true(img[i] == raw[i] || img[i] == 0 || img[i] == 1);
    }
    model_destroy(&lin);
    model_destroy(&sig);
    dcgan_config_t sig_arch = arch;
    sig_arch.g_linear = 0;
    s_file_round_trip(&arch, &sig_arch, "linear.fsm", "linear output");
}

// DP-SGD's step on D (gan_train_config_t's dp_*): with every record
// sampled (q = 1), a clip no gradient reaches and no noise, D's gradient is
// the plain step's on the same images, so the per-record shares add up to
// the batch loss; with a tight clip and noise it is not, and D still steps
// to finite weights.  One label in the data and as the public label, so
// that both steps draw the same fakes from the same seed.
static void test_dpsgd_discriminator_step(void **state)
{
    (void)state;
    dcgan_config_t arch = dcgan_config_width(8);
    arch.classes = 10;
    arch.d_dropout = 0; // dropout would draw different masks per record
    dataset_t *data = fixture_shapes(8, 1);
    for (int i = 0; i < data->n; i++) {
        data->y[i] = 3;
    }
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = 16; // half: the 8 images, as q = 1 samples them
    cfg.aux = 1;
    cfg.reuse_fakes = 1;
    gan_trainer_t *plain = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(plain, data, NULL), 0);
    cfg.dp_clip = 1e9;
    cfg.dp_sigma = 0;
    cfg.dp_q = 1;
    gan_trainer_t *dp = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(dp, data, NULL), 0);
    const uint8_t label = 3;
    gan_trainer_set_public_labels(dp, &label, 1);
    gan_step_stats_t a, b;
    gan_train_step(plain, &a);
    gan_train_step(dp, &b);
    assert_int_equal(gan_trainer_dp_steps(dp), 1);
    assert_true(gan_trainer_dp_rate(dp) == 1.0);
    model_t *dp_d = gan_trainer_discriminator(dp), *pl_d = gan_trainer_discriminator(plain);
    const float *g1 = model_grads(pl_d), *g2 = model_grads(dp_d);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < model_param_count(pl_d); i++) {
        diff += ((double)g1[i] - (double)g2[i]) * ((double)g1[i] - (double)g2[i]);
        norm += (double)g1[i] * (double)g1[i];
    }
    assert_true(norm > 0 && sqrt(diff / norm) < 1e-4);
    assert_true(fabs(a.d_loss - b.d_loss) < 1e-5 && a.d_acc_real == b.d_acc_real);
    // G's step is the same too: its weights after the step agree
    model_t *pg = gan_trainer_generator(plain), *dg = gan_trainer_generator(dp);
    double gd = 0;
    for (size_t i = 0; i < model_param_count(pg); i++) {
        gd = fmax(gd, fabs((double)model_params(pg)[i] - (double)model_params(dg)[i]));
    }
    assert_true(gd < 1e-5);
    gan_trainer_destroy(&dp);

    // a tight clip with noise, two D steps per G step: the gradient is
    // another, every D step is a private one, D stays finite
    cfg.dp_clip = 1e-3;
    cfg.dp_sigma = 1.0;
    cfg.dp_q = 0.5;
    cfg.d_steps = 2;
    dp = gan_trainer_new(&arch, &cfg);
    assert_int_equal(gan_trainer_set_data(dp, data, NULL), 0);
    for (int k = 0; k < 3; k++) {
        gan_train_step(dp, &b);
    }
    assert_int_equal(gan_trainer_dp_steps(dp), 6);
    dp_d = gan_trainer_discriminator(dp);
    for (size_t i = 0; i < model_param_count(dp_d); i++) {
        assert_true(isfinite(model_params(dp_d)[i]));
    }
    gan_trainer_destroy(&dp);
    gan_trainer_destroy(&plain);
    dataset_destroy(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_output_generator),
        cmocka_unit_test(test_dpsgd_discriminator_step),
        cmocka_unit_test(test_minibatch_std_discriminator),
        cmocka_unit_test(test_gan_train_usage),
        cmocka_unit_test(test_reuse_fakes),
        cmocka_unit_test(test_upsampling_generator),
        cmocka_unit_test(test_gan_step_allocates_nothing),
        cmocka_unit_test(test_gan_is_reproducible),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_resumes_exactly),
        cmocka_unit_test(test_checkpoint_state_refused),
        cmocka_unit_test(test_short_training_moves_towards_data),
        cmocka_unit_test(test_conditional_gan_usage),
        cmocka_unit_test(test_auxiliary_classifier_loss),
        cmocka_unit_test(test_auxiliary_classifier_own_labels),
        cmocka_unit_test(test_twin_classifier_loss),
        cmocka_unit_test(test_conditional_gan_from_trained),
        cmocka_unit_test(test_conditional_gan_follows_labels),
        cmocka_unit_test(test_cgan_recipe_follows_labels),
        cmocka_unit_test(test_hinge_recipe_follows_labels),
        cmocka_unit_test(test_generator_average),
    };
    return cmocka_run_group_tests_name("gan_train", tests, NULL, fixture_teardown);
}
