/* test_workload.c - the models a federation trains, behind one interface:
 * specs, the flat vector (sizes, the initial value every founder must
 * agree on), files readable by `fedsyn sample`, and a trainer's round. */
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
#include "node/train/model_kind.h"
#include "node/train/sampler.h"
#include "node/train/workload.h"
#include "tests/support/fixtures.h"

static void test_workload_specs(void **state)
{
    (void)state;
    workload_arch_t a;
    fs_err_t err = {0};
    assert_int_equal(workload_parse("dcgan:16", &a, &err), 0);
    assert_int_equal(a.kind, WORKLOAD_DCGAN);
    assert_int_equal(a.gan.g_width, 16);
    assert_int_equal(a.gan.classes, 0);
    assert_int_equal(workload_parse("cdcgan:16", &a, &err), 0);
    assert_int_equal(a.kind, WORKLOAD_DCGAN);
    assert_int_equal(a.gan.g_width, 16);
    assert_int_equal(a.gan.classes, WORKLOAD_CLASSES);
    assert_true(a.gan_ema == 0.0f && !a.gan.g_pixel_norm); // the paper's recipe
    assert_true(a.gan_aux == 0.0f && a.gan.d_width == 8);
    // fedsyn's recipe: the conditional GAN, pixel norm and nearest-neighbour
    // upsampling in G, a discriminator of twice G's width with an auxiliary
    // classifier, G's step on D's fakes, the generator's average as a third
    // part of the vector
    assert_int_equal(workload_parse("cgan:16", &a, &err), 0);
    assert_int_equal(a.gan.classes, WORKLOAD_CLASSES);
    assert_true(a.gan.g_pixel_norm && a.gan.g_upsample && a.gan_ema > 0 && a.gan_aux > 0);
    assert_int_equal(a.gan.d_width, 32);
    assert_true(workload_gan_config(&a, 64, 1).aux == WORKLOAD_CGAN_AUX);
    assert_true(workload_gan_config(&a, 64, 1).lr_d == WORKLOAD_CGAN_LR_D);
    assert_true(workload_gan_config(&a, 64, 1).reuse_fakes);
    size_t nf, n, cnf, cn;
    workload_sizes(&a, &nf, &n);
    workload_arch_t c;
    assert_int_equal(workload_parse("cdcgan:16", &c, &err), 0);
    assert_false(workload_gan_config(&c, 64, 1).reuse_fakes || c.gan.g_upsample); // the paper's
    c.gan.d_width = 32;
    c.gan.g_upsample = 1;
    workload_sizes(&c, &cnf, &cn);
    assert_int_equal(nf, cnf); // pixel norm has no weights
    assert_int_equal(n, cn + nf);
    float *w = workload_initial(&a, 3, &n);
    assert_memory_equal(w + cn, w, nf * sizeof(float)); // the average starts at G
    free(w);
    assert_int_equal(workload_parse("classifier", &a, &err), 0);
    assert_int_equal(a.kind, WORKLOAD_CLASSIFIER);
    assert_string_equal(workload_stat_name(&a, 1), "acc");
    assert_int_equal(workload_parse("cvae:64", &a, &err), 0);
    assert_int_equal(a.kind, WORKLOAD_CVAE);
    assert_int_equal(a.cvae.hidden, 64);
    const char *bad[] = {"dcgan:15", "dcgan:", "cvae:1",  "cvae:x",
                         "gan:16",   "cvae",   "cdcgan:", "cdcgan:15", "cgan:7", "cgan:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(workload_parse(bad[i], &a, &err), FS_EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
    }
}

// For every kind: the initial vector is what a trainer of the same seed
// starts from, a trainer's round moves it, and the file round-trips.
static void test_workload_vector_and_file(void **state)
{
    (void)state;
    const char *specs[] = {"dcgan:8", "cvae:16", "classifier", "cdcgan:8", "cgan:8"};
    dataset_t *data = fixture_shapes(64, 2);
    for (int s = 0; s < 5; s++) {
        workload_arch_t a;
        fs_err_t err = {0};
        assert_int_equal(workload_parse(specs[s], &a, &err), 0);
        size_t nf, n, n2;
        workload_sizes(&a, &nf, &n);
        assert_true(nf > 0 && (a.kind == WORKLOAD_CLASSIFIER ? n == nf : n > nf));
        float *w0 = workload_initial(&a, 5, &n2);
        assert_int_equal(n2, n);
        workload_trainer_t *t = workload_trainer_new(&a, 16, 5);
        float *w = xfloats(n);
        workload_trainer_export(t, w);
        assert_memory_equal(w, w0, n * sizeof(float));
        assert_int_equal(workload_trainer_set_data(t, data, &err), 0);
        workload_stats_t st;
        for (int i = 0; i < 3; i++) {
            workload_trainer_step(t, &st);
        }
        assert_true(isfinite(st.a) && isfinite(st.b));
        if (a.kind == WORKLOAD_CLASSIFIER) {
            assert_true(st.b >= 0 && st.b <= 1); // the batch's accuracy
        }
        workload_trainer_export(t, w);
        assert_memory_not_equal(w, w0, n * sizeof(float));
        // load puts a vector back exactly
        workload_trainer_load(t, w0);
        float *back = xfloats(n);
        workload_trainer_export(t, back);
        assert_memory_equal(back, w0, n * sizeof(float));
        // the file: same vector back, and `fedsyn sample` can draw from it
        char name[32];
        snprintf(name, sizeof name, "w%d.fsm", s);
        const char *path = fixture_write(name, "", 0);
        assert_int_equal(workload_save(path, &a, w, "mnist", "height=3", &err), 0);
        memset(back, 0, n * sizeof(float));
        assert_int_equal(workload_load(path, &a, back, &err), 0);
        assert_memory_equal(back, w, n * sizeof(float));
        dataset_t *drawn = NULL;
        if (a.kind == WORKLOAD_CLASSIFIER) {
            // a classifier is not a generator, and the sampler says so
            sampler_opts_t so = sampler_opts(12, 1, 8);
            assert_int_equal(sampler_draw(path, &so, &drawn, &err), FS_EINVAL);
            assert_non_null(strstr(err.msg, "not a generator"));
        } else {
            sampler_opts_t so = sampler_opts(12, 1, 8);
            assert_int_equal(sampler_draw(path, &so, &drawn, &err), 0);
            assert_int_equal(drawn->n, 12);
            assert_true((drawn->y != NULL) == (a.kind == WORKLOAD_CVAE || a.gan.classes > 0));
            dataset_destroy(&drawn);
        }
        // another architecture's file is refused with the section named
        workload_arch_t other;
        assert_int_equal(workload_parse(s == 0 ? "dcgan:16" : s == 1 ? "cvae:32" : "cvae:8", &other,
                                        &err), 0);
        size_t onf, on;
        workload_sizes(&other, &onf, &on);
        float *ow = xfloats(on);
        assert_true(workload_load(path, &other, ow, &err) < 0); // wrong size or missing part
        assert_non_null(strstr(err.msg, path));
        free(ow);
        free(back);
        free(w);
        free(w0);
        workload_trainer_destroy(&t);
        assert_null(t);
    }
    dataset_destroy(&data);
}

// The kinds' table: each spec is claimed by exactly one kind, which names
// its files, sections and numbers; a kind's trainer holds the networks
// whose sizes make the workload's vector; only generators draw.
static void test_model_kinds(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        const model_kind_t *kind;
    } cases[] = {{"dcgan:8", &model_kind_gan},   {"cdcgan:8", &model_kind_gan},
                 {"cgan:8", &model_kind_gan},    {"cvae:16", &model_kind_cvae},
                 {"classifier", &model_kind_classifier}};
    const model_kind_t *all[] = {&model_kind_gan, &model_kind_cvae, &model_kind_classifier};
    fs_err_t err = {0, ""};
    dataset_t *data = fixture_shapes(32, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        workload_arch_t arch;
        assert_int_equal(workload_parse(cases[i].spec, &arch, &err), 0);
        const model_kind_t *k = model_kind_of(&arch);
        assert_ptr_equal(k, cases[i].kind);
        assert_ptr_equal(model_kind_for_file(k->file_arch), k);
        char name[16]; // the spec's kind word, which the kind's message lists
        snprintf(name, sizeof name, "%.*s", (int)strcspn(cases[i].spec, ":"), cases[i].spec);
        assert_non_null(strstr(k->specs, name));
        for (size_t j = 0; j < 3; j++) { // the other kinds leave the spec alone
            workload_arch_t other;
            memset(&other, 0, sizeof other);
            assert_int_equal(all[j]->parse(cases[i].spec, &other, &err), all[j] == k ? 0 : 1);
        }
        size_t nf, n;
        workload_sizes(&arch, &nf, &n);
        workload_trainer_t *t = workload_trainer_new(&arch, 16, 3);
        assert_int_equal(workload_trainer_set_data(t, data, &err), 0);
        void *impl = k->trainer_new(&arch, 16, 3);
        model_t *first = k->trainer_network(impl, 0), *second = k->trainer_network(impl, 1);
        assert_int_equal(model_param_count(first), nf);
        assert_int_equal(nf + (second ? model_param_count(second) : 0) +
                             (k->trainer_extra && k->trainer_extra(impl) ? nf : 0), n);
        assert_int_equal(k->sections[1] != NULL, second != NULL);
        assert_int_equal(k->draw != NULL, k != &model_kind_classifier);
        // fedsyn train runs the generators: every operation of a run, or none
        const int runs = k != &model_kind_classifier;
        assert_int_equal(k->run_step != NULL, runs);
        assert_int_equal(k->describe && k->summary && k->save_weights && k->save_state &&
                             k->resume && k->save_grid && k->optimiser_steps,
                         runs);
        assert_string_equal(workload_stat_name(&arch, 0), k->stat_names[0]);
        assert_string_equal(workload_kind_name(&arch), k->display);
        k->trainer_destroy(impl);
        workload_trainer_destroy(&t);
    }
    assert_null(model_kind_for_file("gan"));
    workload_arch_t arch;
    assert_int_equal(workload_parse("vae:8", &arch, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "expected dcgan:WIDTH, cdcgan:WIDTH, cgan:WIDTH, "
                                     "cvae:HIDDEN or classifier"));
    assert_int_equal(workload_parse("dcgan:7", &arch, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "even"));
    dataset_destroy(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_specs),
        cmocka_unit_test(test_workload_vector_and_file),
        cmocka_unit_test(test_model_kinds),
    };
    return cmocka_run_group_tests_name("workload", tests, NULL, fixture_teardown);
}
