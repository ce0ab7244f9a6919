/* sampler.c - drawing from DCGAN and CVAE files (see sampler.h). */
#include "node/train/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/train/checkpoint.h"

static int s_draw_gan(const char *path, int n, uint64_t seed, int max_batch, dataset_t **out,
                      fs_err_t *err)
{
    dcgan_config_t a;
    model_t *g = NULL;
    int rc = checkpoint_load_generator(path, max_batch, &a, &g, err);
    if (rc) {
        return rc;
    }
    dataset_t *d = dataset_new(n, a.img_c, a.img_h, a.img_w, 0);
    rng_t rng;
    rng_seed(&rng, seed);
    float *z = xfloats((size_t)max_batch * a.latent);
    for (int s = 0; s < n; s += max_batch) {
        int k = n - s < max_batch ? n - s : max_batch;
        gan_generate(g, a.latent, k, &rng, z, d->x + (size_t)s * dataset_image_size(d));
    }
    free(z);
    model_destroy(&g);
    *out = d;
    return 0;
}

static int s_draw_cvae(const char *path, int n, uint64_t seed, int max_batch, dataset_t **out,
                       fs_err_t *err)
{
    cvae_config_t a;
    model_t *dec = NULL;
    int rc = checkpoint_load_cvae_decoder(path, max_batch, &a, &dec, err);
    if (rc) {
        return rc;
    }
    dataset_t *d = dataset_new(n, a.img_c, a.img_h, a.img_w, 1);
    for (int i = 0; i < n; i++) {
        d->y[i] = (uint8_t)(i % a.classes);
    }
    rng_t rng;
    rng_seed(&rng, seed);
    float *in = xfloats((size_t)max_batch * (a.latent + a.classes));
    for (int s = 0; s < n; s += max_batch) {
        int k = n - s < max_batch ? n - s : max_batch;
        cvae_generate(dec, &a, d->y + s, k, &rng, in, d->x + (size_t)s * dataset_image_size(d));
    }
    free(in);
    model_destroy(&dec);
    *out = d;
    return 0;
}

int sampler_draw(const char *path, int n, uint64_t seed, int max_batch, dataset_t **out,
                 fs_err_t *err)
{
    *out = NULL;
    char kind[32];
    int rc = checkpoint_kind(path, kind, sizeof kind, err);
    if (rc) {
        return rc;
    }
    if (strcmp(kind, "dcgan") == 0) {
        return s_draw_gan(path, n, seed, max_batch, out, err);
    }
    if (strcmp(kind, "cvae") == 0) {
        return s_draw_cvae(path, n, seed, max_batch, out, err);
    }
    return fs_err_set(err, FS_EINVAL, "%s: a %s file is not a generator (expected a DCGAN or "
                      "CVAE file from fedsyn train)", path, kind);
}
