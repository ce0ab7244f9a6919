/* test_cvae_train.c - GenFL's CVAE: how to train and sample it, its
 * gradients against finite differences (through the reparameterisation
 * and the KL term), reproducibility from a seed, and a short training on
 * labelled shapes after which the decoder draws the shape it is asked for;
 * an exact checkpoint resumes bit for bit, and a CVAE of another size is
 * refused.
 */
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
#include "node/base/rng.h"
#include "node/nn/model_file.h"
#include "node/train/checkpoint.h"
#include "node/train/cvae_train.h"
#include "tests/support/fixtures.h"

static void test_cvae_usage(void **state)
{
    (void)state;
    cvae_config_t arch = cvae_config_hidden(32);
    cvae_train_config_t cfg = cvae_train_config_default();
    cfg.batch = 16;
    cvae_trainer_t *t = cvae_trainer_new(&arch, &cfg);
    // default width: 794 x 400 + 400 + 400 x 40 + 40 and 30 x 400 + 400 + 400 x 784 + 784
    cvae_config_t paper = cvae_config_hidden(CVAE_HIDDEN);
    model_t *e = cvae_encoder_new(&paper, 1, 1), *d = cvae_decoder_new(&paper, 1, 1);
    assert_int_equal(model_param_count(e) + model_param_count(d), 660824);
    model_destroy(&e);
    model_destroy(&d);
    dataset_t *data = fixture_shapes(64, 3);
    fs_err_t err = {0};
    assert_int_equal(cvae_trainer_set_data(t, data, &err), 0);
    cvae_step_stats_t st;
    cvae_train_step(t, &st);
    assert_true(isfinite(st.loss) && st.recon > 0 && st.kl >= 0);
    // Sampling: labels in, pixel probabilities out.
    uint8_t y[4] = {0, 1, 2, 3};
    float in[4 * (CVAE_LATENT + 10)], out[4 * 784];
    rng_t rng;
    rng_seed(&rng, 5);
    cvae_generate(cvae_trainer_decoder(t), &arch, y, 4, &rng, in, out);
    for (int i = 0; i < 4 * 784; i++) {
        assert_true(out[i] > 0 && out[i] < 1);
    }
    // Unlabelled data is refused with a reason.
    dataset_t *unl = dataset_new(4, 1, 28, 28, 0);
    assert_int_equal(cvae_trainer_set_data(t, unl, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "labelled"));
    dataset_destroy(&unl);
    dataset_destroy(&data);
    cvae_trainer_destroy(&t);
    assert_null(t);
}

// Central differences of the whole loss (fixed eps) against the analytic
// gradient, on 4x4 images so that the float32 loss is small and precise.
static void test_cvae_gradients(void **state)
{
    (void)state;
    cvae_config_t arch = {.hidden = 7, .latent = 3, .classes = 10, .img_c = 1, .img_h = 4,
                          .img_w = 4};
    cvae_train_config_t cfg = {.batch = 3, .lr = 1e-3f, .seed = 9};
    cvae_trainer_t *t = cvae_trainer_new(&arch, &cfg);
    rng_t rng;
    rng_seed(&rng, 21);
    float x[3 * 16], eps[3 * 3];
    for (int i = 0; i < 48; i++) {
        x[i] = (float)rng_uniform(&rng);
    }
    rng_normal_floats(&rng, eps, 9);
    const uint8_t y[3] = {2, 7, 2};
    cvae_loss_grad(t, x, y, 3, eps, NULL);
    model_t *nets[2] = {cvae_trainer_encoder(t), cvae_trainer_decoder(t)};
    float *analytic[2];
    for (int m = 0; m < 2; m++) {
        size_t n = model_param_count(nets[m]);
        analytic[m] = xfloats(n);
        memcpy(analytic[m], model_grads(nets[m]), n * sizeof(float));
    }
    const double h = 1e-3;
    double worst = 0;
    int checked = 0;
    for (int m = 0; m < 2; m++) {
        size_t n = model_param_count(nets[m]);
        float *p = model_params(nets[m]);
        for (int k = 0; k < 40; k++) {
            size_t i = (size_t)rng_below(&rng, n);
            float keep = p[i];
            p[i] = keep + (float)h;
            double up = cvae_loss_grad(t, x, y, 3, eps, NULL);
            p[i] = keep - (float)h;
            double down = cvae_loss_grad(t, x, y, 3, eps, NULL);
            p[i] = keep;
            double fd = (up - down) / (2 * h), an = analytic[m][i];
            double rel = fabs(fd - an) / fmax(1e-2, fmax(fabs(fd), fabs(an)));
            worst = fmax(worst, rel);
            checked++;
        }
    }
    if (worst > 2e-2) {
        fail_msg("CVAE gradient: worst relative error %.3g over %d parameters", worst, checked);
    }
    free(analytic[0]);
    free(analytic[1]);
    cvae_trainer_destroy(&t);
}

static void s_train(cvae_trainer_t *t, int steps, double *first, double *last)
{
    cvae_step_stats_t st;
    for (int i = 0; i < steps; i++) {
        cvae_train_step(t, &st);
        if (i == 0 && first) {
            *first = st.loss;
        }
    }
    if (last) {
        *last = st.loss;
    }
}

static void test_cvae_reproducible(void **state)
{
    (void)state;
    cvae_config_t arch = cvae_config_hidden(16);
    cvae_train_config_t cfg = {.batch = 8, .lr = 1e-3f, .seed = 4};
    dataset_t *data = fixture_shapes(40, 1);
    cvae_trainer_t *a = cvae_trainer_new(&arch, &cfg), *b = cvae_trainer_new(&arch, &cfg);
    fs_err_t err = {0};
    assert_int_equal(cvae_trainer_set_data(a, data, &err), 0);
    assert_int_equal(cvae_trainer_set_data(b, data, &err), 0);
    s_train(a, 5, NULL, NULL);
    s_train(b, 5, NULL, NULL);
    assert_memory_equal(model_params(cvae_trainer_decoder(a)), model_params(cvae_trainer_decoder(b)),
                        model_param_count(cvae_trainer_decoder(a)) * sizeof(float));
    cvae_trainer_destroy(&a);
    cvae_trainer_destroy(&b);
    dataset_destroy(&data);
}

// Training 3 steps, saving, and resuming for 4 more (past a reshuffle of the
// 20 images) gives the same bits as 7 steps in one go, from a trainer built
// with another seed: everything that matters comes from the file.
static void test_cvae_checkpoint_resumes_exactly(void **state)
{
    (void)state;
    cvae_config_t arch = cvae_config_hidden(16);
    cvae_train_config_t cfg = {.batch = 6, .lr = 1e-3f, .seed = 4};
    dataset_t *data = fixture_shapes(20, 1);
    cvae_trainer_t *a = cvae_trainer_new(&arch, &cfg);
    fs_err_t err = {0, ""};
    assert_int_equal(cvae_trainer_set_data(a, data, &err), 0);
    s_train(a, 3, NULL, NULL);
    char path[512], weights[512];
    snprintf(path, sizeof path, "%s/cvae-state.fsm", fixture_tmpdir());
    snprintf(weights, sizeof weights, "%s/cvae-weights.fsm", fixture_tmpdir());
    assert_int_equal(checkpoint_save_cvae_state(path, a, 2, 3, "shapes", NULL, &err), 0);
    assert_int_equal(checkpoint_save_cvae(weights, a, 2, "shapes", &err), 0);
    s_train(a, 4, NULL, NULL);

    cfg.seed = 99;
    cvae_trainer_t *b = cvae_trainer_new(&arch, &cfg);
    assert_int_equal(cvae_trainer_set_data(b, data, &err), 0);
    checkpoint_resume_t at;
    assert_int_equal(checkpoint_resume_cvae(path, b, &at, &err), 0);
    assert_true(at.exact);
    assert_int_equal(at.epoch, 2);
    assert_int_equal(at.iter, 3);
    assert_int_equal(cvae_trainer_adam_dec(b)->t, 3);
    s_train(b, 4, NULL, NULL);
    model_t *ma[2] = {cvae_trainer_encoder(a), cvae_trainer_decoder(a)};
    model_t *mb[2] = {cvae_trainer_encoder(b), cvae_trainer_decoder(b)};
    for (int i = 0; i < 2; i++) {
        assert_memory_equal(model_params(ma[i]), model_params(mb[i]),
                            model_param_count(ma[i]) * sizeof(float));
    }

    // the weights alone resume too, with a fresh optimiser
    cvae_trainer_t *c = cvae_trainer_new(&arch, &cfg);
    assert_int_equal(cvae_trainer_set_data(c, data, &err), 0);
    assert_int_equal(checkpoint_resume_cvae(weights, c, &at, &err), 0);
    assert_false(at.exact);
    assert_int_equal(at.epoch, 2);
    assert_int_equal(cvae_trainer_adam_enc(c)->t, 0);

    // a CVAE of another width is refused, naming both
    cvae_config_t wide = cvae_config_hidden(32);
    cvae_trainer_t *w = cvae_trainer_new(&wide, &cfg);
    assert_int_equal(cvae_trainer_set_data(w, data, &err), 0);
    assert_int_equal(checkpoint_resume_cvae(path, w, &at, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "hidden 16"));
    assert_non_null(strstr(err.msg, "hidden 32"));
    cvae_trainer_destroy(&a);
    cvae_trainer_destroy(&b);
    cvae_trainer_destroy(&c);
    cvae_trainer_destroy(&w);
    dataset_destroy(&data);
}

// The label of the real image nearest (L2) to img.
static int s_nearest_label(const dataset_t *d, const float *img)
{
    double best = INFINITY;
    int label = -1;
    for (int j = 0; j < d->n; j++) {
        double dist = 0;
        for (int p = 0; p < 784; p++) {
            double e = (double)img[p] - (double)d->x[(size_t)j * 784 + p];
            dist += e * e;
        }
        if (dist < best) {
            best = dist;
            label = d->y[j];
        }
    }
    return label;
}

// After training on ten labelled shapes the decoder draws the shape it is
// asked for: at the prior's mode (z = 0) the nearest real image has the
// requested label for at least 9 of the 10 labels, and random draws from
// the prior are right well above chance (10%).
// A header claiming a huge decoder over a small one is refused before
// anything is built from it.
static void test_cvae_huge_header_refused(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/huge-cvae.fsm", fixture_tmpdir());
    const char *meta = "arch=cvae hidden=1000000 latent=8 classes=10 img=1x1024x1024 "
                       "epoch=0 dataset=x\n";
    float few[64] = {0};
    model_section_t s[3] = {{"meta", SECTION_TEXT, meta, strlen(meta)},
                            {"encoder", SECTION_FLOATS, few, sizeof few},
                            {"decoder", SECTION_FLOATS, few, sizeof few}};
    fs_err_t err = {0, ""};
    assert_int_equal(model_file_save(path, s, 3, &err), 0);
    cvae_config_t arch;
    model_t *dec = NULL;
    assert_int_not_equal(checkpoint_load_cvae_decoder(path, 4, &arch, &dec, &err), 0);
    assert_null(dec);
    if (!strstr(err.msg, "meta claims a decoder of 1000000 hidden units")) {
        fail_msg("%s", err.msg);
    }
}

static void test_cvae_learns_conditioning(void **state)
{
    (void)state;
    cvae_config_t arch = cvae_config_hidden(64);
    cvae_train_config_t cfg = {.batch = 32, .lr = 2e-3f, .seed = 2};
    dataset_t *data = fixture_shapes(400, 8);
    cvae_trainer_t *t = cvae_trainer_new(&arch, &cfg);
    fs_err_t err = {0};
    assert_int_equal(cvae_trainer_set_data(t, data, &err), 0);
    double first, last;
    s_train(t, 1000, &first, &last);
    assert_true(last < 0.2 * first);
    uint8_t y[10];
    float z0[10 * CVAE_LATENT] = {0};
    float *in = xfloats(10 * (CVAE_LATENT + 10)), *out = xfloats(10 * 784);
    for (int i = 0; i < 10; i++) {
        y[i] = (uint8_t)i;
    }
    cvae_decode(cvae_trainer_decoder(t), &arch, z0, y, 10, in, out);
    int at_mode = 0, drawn = 0;
    for (int i = 0; i < 10; i++) {
        at_mode += s_nearest_label(data, out + (size_t)i * 784) == i;
    }
    rng_t rng;
    rng_seed(&rng, 77);
    for (int rep = 0; rep < 10; rep++) {
        cvae_generate(cvae_trainer_decoder(t), &arch, y, 10, &rng, in, out);
        for (int i = 0; i < 10; i++) {
            drawn += s_nearest_label(data, out + (size_t)i * 784) == i;
        }
    }
    printf("loss %.1f -> %.1f; labels right at the mode %d/10, in 100 prior draws %d\n", first,
           last, at_mode, drawn);
    assert_true(at_mode >= 9);
    assert_true(drawn >= 25);
    free(in);
    free(out);
    cvae_trainer_destroy(&t);
    dataset_destroy(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cvae_usage),
        cmocka_unit_test(test_cvae_gradients),
        cmocka_unit_test(test_cvae_reproducible),
        cmocka_unit_test(test_cvae_checkpoint_resumes_exactly),
        cmocka_unit_test(test_cvae_huge_header_refused),
        cmocka_unit_test(test_cvae_learns_conditioning),
    };
    return cmocka_run_group_tests_name("cvae_train", tests, NULL, fixture_teardown);
}
