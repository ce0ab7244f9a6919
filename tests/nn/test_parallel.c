/* test_parallel.c - parallel_for: every index runs exactly once whatever
 * the thread count and grain, a nested or concurrent call runs inline
 * instead of waiting, and training steps give the same bits whether the
 * engine's loops run on 1 or on 2 threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/models/dcgan.h"
#include "node/nn/blas.h"
#include "node/nn/parallel.h"
#include "node/train/gan_train.h"
#include "tests/support/fixtures.h"

typedef struct {
    int *hits;
} count_t;

static void s_count(void *arg, size_t b, size_t e)
{
    count_t *c = arg;
    for (size_t i = b; i < e; i++) {
        c->hits[i]++; // each index belongs to one range: no race
    }
}

static void test_parallel_usage(void **state)
{
    (void)state;
    blas_set_threads(2);
    assert_int_equal(parallel_threads(), 2);
    int hits[1000] = {0};
    count_t c = {hits};
    parallel_for(1000, 1, s_count, &c); // fn(ctx, begin, end) over [0, 1000)
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(hits[i], 1);
    }
}

static void test_every_index_once(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 3, 7, 64, 1001, 100003};
    const size_t grains[] = {1, 5, 1000, 1000000};
    const int threads[] = {1, 2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        blas_set_threads(threads[t]);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                int *hits = calloc(sizes[s] + 1, sizeof *hits);
                count_t c = {hits};
                parallel_for(sizes[s], grains[g], s_count, &c);
                for (size_t i = 0; i < sizes[s]; i++) {
                    assert_int_equal(hits[i], 1);
                }
                free(hits);
            }
        }
    }
    blas_set_threads(2);
}

static void s_nested(void *arg, size_t b, size_t e)
{
    count_t *c = arg;
    for (size_t i = b; i < e; i++) {
        int inner[10] = {0};
        count_t ic = {inner};
        parallel_for(10, 1, s_count, &ic); // the pool is busy: runs here
        for (int k = 0; k < 10; k++) {
            c->hits[i] += inner[k];
        }
    }
}

static void *s_concurrent(void *arg)
{
    count_t *c = arg;
    for (int r = 0; r < 200; r++) {
        parallel_for(64, 1, s_count, c);
    }
    return NULL;
}

static void test_nested_and_concurrent_calls_run_inline(void **state)
{
    (void)state;
    blas_set_threads(2);
    int hits[50] = {0};
    count_t c = {hits};
    parallel_for(50, 1, s_nested, &c);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hits[i], 10);
    }
    int a[64] = {0}, b[64] = {0};
    count_t ca = {a}, cb = {b};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_concurrent, &ca), 0);
    s_concurrent(&cb);
    pthread_join(th, NULL);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(a[i], 200);
        assert_int_equal(b[i], 200);
    }
}

// The engine's loops split by image, channel or element, never inside a
// sum: three GAN steps give the same weights with the loops on 1 and on 2
// threads (OpenBLAS keeps 2 threads both times: its own last bits depend
// on its thread count).
static void test_gan_steps_same_bits_on_any_thread_count(void **state)
{
    (void)state;
    dataset_t *data = fixture_shapes(64, 3);
    float *w[2];
    size_t n = 0;
    blas_set_threads(2);
    for (int k = 0; k < 2; k++) {
        parallel_set_threads(k + 1);
        dcgan_config_t arch = dcgan_config_width(16);
        gan_train_config_t cfg = gan_train_config_paper();
        cfg.batch = 32;
        gan_trainer_t *t = gan_trainer_new(&arch, &cfg);
        assert_int_equal(gan_trainer_set_data(t, data, NULL), 0);
        for (int i = 0; i < 3; i++) {
            gan_train_step(t, NULL);
        }
        model_t *g = gan_trainer_generator(t);
        n = model_param_count(g);
        w[k] = malloc(n * sizeof(float));
        memcpy(w[k], model_params(g), n * sizeof(float));
        gan_trainer_destroy(&t);
    }
    assert_memory_equal(w[0], w[1], n * sizeof(float));
    free(w[0]);
    free(w[1]);
    dataset_destroy(&data);
    parallel_set_threads(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_usage),
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_nested_and_concurrent_calls_run_inline),
        cmocka_unit_test(test_gan_steps_same_bits_on_any_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
