/* test_sampler.c - drawing from generator files (GAN, conditional GAN,
 * CVAE): at temperature 1 the sampler draws exactly what the trainers' own
 * generate functions draw from the same seed; another temperature decodes the same latents scaled; a
 * temperature out of range is refused before any file is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/nn/model.h"
#include "node/train/checkpoint.h"
#include "node/train/sampler.h"
#include "node/train/workload.h"
#include "tests/support/fixtures.h"

#define N 12
#define BATCH 8

// A generator file of the given spec, from a freshly initialised trainer.
static const char *s_generator_file(const char *spec, const char *name, workload_arch_t *a)
{
    fs_err_t err = {0};
    assert_int_equal(workload_parse(spec, a, &err), 0);
    size_t n;
    float *w = workload_initial(a, 3, &n);
    const char *path = fixture_write(name, "", 0);
    assert_int_equal(workload_save(path, a, w, "mnist", "", &err), 0);
    free(w);
    return path;
}

// What the trainer's generate function draws: latents from seed, batch by
// batch, each scaled by t before decoding.
static float *s_expected(const char *path, const workload_arch_t *a, uint64_t seed, float t)
{
    fs_err_t err = {0};
    rng_t rng;
    rng_seed(&rng, seed);
    float *out = NULL;
    if (a->kind == WORKLOAD_DCGAN) {
        dcgan_config_t ga;
        model_t *g = NULL;
        assert_int_equal(checkpoint_load_generator(path, BATCH, &ga, &g, &err), 0);
        const size_t img = model_output_size(g);
        out = xfloats((size_t)N * img);
        float *z = xfloats((size_t)BATCH * ga.latent);
        float *in = xfloats((size_t)BATCH * (ga.latent + ga.classes));
        uint8_t y[N];
        for (int i = 0; i < N; i++) {
            y[i] = (uint8_t)(ga.classes ? i % ga.classes : 0);
        }
        for (int s = 0; s < N; s += BATCH) {
            int k = N - s < BATCH ? N - s : BATCH;
            if (ga.classes) { // conditional: each latent, scaled, then its one-hot
                rng_normal_floats(&rng, z, (size_t)k * ga.latent);
                for (size_t i = 0; i < (size_t)k * ga.latent; i++) {
                    z[i] *= t;
                }
                dcgan_pack_latent(&ga, z, y + s, k, in);
                gan_decode(g, in, k, out + (size_t)s * img);
            } else if (t == 1.0f) {
                gan_generate(g, ga.latent, k, &rng, z, out + (size_t)s * img);
            } else {
                rng_normal_floats(&rng, z, (size_t)k * ga.latent);
                for (size_t i = 0; i < (size_t)k * ga.latent; i++) {
                    z[i] *= t;
                }
                gan_decode(g, z, k, out + (size_t)s * img);
            }
        }
        free(z);
        free(in);
        model_destroy(&g);
    } else {
        cvae_config_t ca;
        model_t *dec = NULL;
        assert_int_equal(checkpoint_load_cvae_decoder(path, BATCH, &ca, &dec, &err), 0);
        const size_t img = (size_t)cvae_image_size(&ca);
        out = xfloats((size_t)N * img);
        uint8_t y[N];
        for (int i = 0; i < N; i++) {
            y[i] = (uint8_t)(i % ca.classes);
        }
        float *in = xfloats((size_t)BATCH * (ca.latent + ca.classes));
        float *z = xfloats((size_t)BATCH * ca.latent);
        for (int s = 0; s < N; s += BATCH) {
            int k = N - s < BATCH ? N - s : BATCH;
            if (t == 1.0f) {
                cvae_generate(dec, &ca, y + s, k, &rng, in, out + (size_t)s * img);
            } else {
                rng_normal_floats(&rng, z, (size_t)k * ca.latent);
                for (size_t i = 0; i < (size_t)k * ca.latent; i++) {
                    z[i] *= t;
                }
                cvae_decode(dec, &ca, z, y + s, k, in, out + (size_t)s * img);
            }
        }
        free(in);
        free(z);
        model_destroy(&dec);
    }
    return out;
}

static void test_sampler_temperature(void **state)
{
    (void)state;
    const char *specs[] = {"dcgan:8", "cvae:16", "cdcgan:8"};
    for (int s = 0; s < 3; s++) {
        workload_arch_t a;
        char name[32];
        snprintf(name, sizeof name, "gen%d.fsm", s);
        const char *path = s_generator_file(specs[s], name, &a);
        fs_err_t err = {0};
        dataset_t *one = NULL, *cool = NULL, *again = NULL;
        sampler_opts_t o = sampler_opts(N, 5, BATCH);
        assert_int_equal(sampler_draw(path, &o, &one, &err), 0);
        float *want = s_expected(path, &a, 5, 1.0f);
        const size_t bytes = sizeof(float) * (size_t)N * dataset_image_size(one);
        assert_memory_equal(one->x, want, bytes);
        free(want);

        o.temperature = 0.25f;
        assert_int_equal(sampler_draw(path, &o, &cool, &err), 0);
        want = s_expected(path, &a, 5, 0.25f);
        assert_memory_equal(cool->x, want, bytes);
        free(want);
        // the scaling reached the generator: the images differ from T = 1
        assert_true(memcmp(cool->x, one->x, bytes) != 0);
        // labelled (CVAE, conditional GAN) as i mod 10, whatever the temperature
        assert_true(!one->y == !strcmp(specs[s], "dcgan:8"));
        for (int i = 0; one->y && i < N; i++) {
            assert_int_equal(one->y[i], i % 10);
            assert_int_equal(cool->y[i], i % 10);
        }

        // refused before anything is drawn, with the value named
        const float bad[] = {0.0f, -1.0f, 4.5f};
        for (int i = 0; i < 3; i++) {
            o.temperature = bad[i];
            assert_int_equal(sampler_draw(path, &o, &again, &err), FS_EINVAL);
            assert_null(again);
            assert_non_null(strstr(err.msg, "temperature"));
        }
        dataset_destroy(&one);
        dataset_destroy(&cool);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_temperature),
    };
    return cmocka_run_group_tests_name("sampler", tests, NULL, fixture_teardown);
}
