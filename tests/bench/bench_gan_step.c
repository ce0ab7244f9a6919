/* bench_gan_step.c - seconds per FedSyn GAN training iteration (batch 256)
 * on random data, for scripts/bench.sh.  Prints one JSON line.
 *
 *   usage: bench_gan_step [ITERS [WIDTH [SPEC BATCH [session13|dpsgd]]]]
 *
 * With SPEC (a workload spec such as cgan:32, node/train/workload.h) the
 * model and recipe are that workload's at that batch (the demo's step):
 * labelled random data, so a conditional model's label paths run too.
 * "session13" takes the recipe back to its session-13 form (transposed
 * convolutions in G, a fresh batch for G's step): the reference that
 * scripts/bench.sh times beside today's.  "dpsgd" trains D with DP-SGD
 * (clip 1, noise multiplier 1, half the batch over the 1,024 images
 * sampled a step: gan_train.h), to time its step beside the plain one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/nn/blas.h"
#include "node/train/gan_train.h"
#include "node/train/workload.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 10;
    int width = argc > 2 ? atoi(argv[2]) : 128;
    const char *spec = argc > 4 ? argv[3] : NULL;
    dcgan_config_t arch = dcgan_config_width(width);
    gan_train_config_t cfg = gan_train_config_paper();
    if (spec) {
        workload_arch_t wa;
        fs_err_t err = {0, ""};
        if (workload_parse(spec, &wa, &err) || wa.kind != WORKLOAD_DCGAN) {
            fprintf(stderr, "bench_gan_step: '%s': %s\n", spec, err.code ? err.msg : "not a GAN");
            return 2;
        }
        const int batch = atoi(argv[4]);
        if (batch < 2) {
            fprintf(stderr, "bench_gan_step: batch '%s': expected a whole number >= 2\n", argv[4]);
            return 2;
        }
        arch = wa.gan;
        cfg = workload_gan_config(&wa, batch, 1);
        if (argc > 5 && strcmp(argv[5], "session13") == 0) {
            arch.g_upsample = 0;
            cfg.reuse_fakes = 0;
        } else if (argc > 5 && strcmp(argv[5], "dpsgd") == 0) {
            cfg.dp_clip = 1;
            cfg.dp_sigma = 1;
        } else if (argc > 5) {
            fprintf(stderr, "bench_gan_step: '%s': expected session13 or dpsgd\n", argv[5]);
            return 2;
        }
    }
    gan_trainer_t *t = gan_trainer_new(&arch, &cfg);
    dataset_t *d = dataset_new(1024, 1, 28, 28, 1);
    rng_t rng;
    rng_seed(&rng, 3);
    for (size_t i = 0; i < (size_t)d->n * 784; i++) {
        d->x[i] = (float)rng_uniform(&rng);
    }
    for (int i = 0; d->y && i < d->n; i++) {
        d->y[i] = (uint8_t)(i % 10);
    }
    if (gan_trainer_set_data(t, d, NULL) != 0) {
        return 1;
    }
    gan_train_step(t, NULL); // warm-up
    char name[64];
    if (spec) {
        snprintf(name, sizeof name, "%s%s", spec,
                 argc <= 5 ? "" : strcmp(argv[5], "dpsgd") == 0 ? " (DP-SGD)" : " (session 13)");
    } else {
        snprintf(name, sizeof name, "dcgan:%d", width);
    }
    printf("{\"threads\": %d, \"model\": \"%s\", \"batch\": %d, \"seconds\": [", blas_threads(),
           name, cfg.batch);
    for (int i = 0; i < iters; i++) {
        double t0 = s_now();
        gan_train_step(t, NULL);
        printf("%s%.4f", i ? ", " : "", s_now() - t0);
        fflush(stdout);
    }
    printf("]}\n");
    gan_trainer_destroy(&t);
    dataset_destroy(&d);
    return 0;
}
