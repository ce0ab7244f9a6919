/* sampler.c - drawing from DCGAN and CVAE files (see sampler.h). */
#include "node/train/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/train/checkpoint.h"

// Draws k latents from N(0, I) and scales them by the temperature (the
// latent's standard deviation).  At temperature 1 the scaling is skipped, so
// the draws are bit-identical to gan_generate's and cvae_generate's.
static void s_latents(rng_t *rng, float *z, size_t k, float temperature)
{
    rng_normal_floats(rng, z, k);
    if (temperature != 1.0f) {
        for (size_t i = 0; i < k; i++) {
            z[i] *= temperature;
        }
    }
}

static int s_draw_gan(const char *path, const sampler_opts_t *o, dataset_t **out, fs_err_t *err)
{
    const int n = o->n, max_batch = o->max_batch;
    dcgan_config_t a;
    model_t *g = NULL;
    int rc = checkpoint_load_generator(path, max_batch, &a, &g, err);
    if (rc) {
        return rc;
    }
    // a conditional generator's samples are labelled, label i mod classes
    dataset_t *d = dataset_new(n, a.img_c, a.img_h, a.img_w, a.classes > 0);
    for (int i = 0; a.classes && i < n; i++) {
        d->y[i] = (uint8_t)(i % a.classes);
    }
    rng_t rng;
    rng_seed(&rng, o->seed);
    float *z = xfloats((size_t)max_batch * a.latent);
    float *in = xfloats((size_t)max_batch * (a.latent + a.classes));
    for (int s = 0; s < n; s += max_batch) {
        int k = n - s < max_batch ? n - s : max_batch;
        s_latents(&rng, z, (size_t)k * a.latent, o->temperature);
        dcgan_pack_latent(&a, z, a.classes ? d->y + s : NULL, k, in);
        gan_decode(g, in, k, d->x + (size_t)s * dataset_image_size(d));
    }
    free(in);
    free(z);
    model_destroy(&g);
    *out = d;
    return 0;
}

static int s_draw_cvae(const char *path, const sampler_opts_t *o, dataset_t **out, fs_err_t *err)
{
    const int n = o->n, max_batch = o->max_batch;
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
    rng_seed(&rng, o->seed);
    float *in = xfloats((size_t)max_batch * (a.latent + a.classes));
    float *z = xfloats((size_t)max_batch * a.latent);
    for (int s = 0; s < n; s += max_batch) {
        int k = n - s < max_batch ? n - s : max_batch;
        // one sample's latent after another, in cvae_generate's order
        s_latents(&rng, z, (size_t)k * a.latent, o->temperature);
        cvae_decode(dec, &a, z, d->y + s, k, in, d->x + (size_t)s * dataset_image_size(d));
    }
    free(in);
    free(z);
    model_destroy(&dec);
    *out = d;
    return 0;
}

sampler_opts_t sampler_opts(int n, uint64_t seed, int max_batch)
{
    return (sampler_opts_t){n, seed, max_batch, 1.0f};
}

int sampler_draw(const char *path, const sampler_opts_t *opts, dataset_t **out, fs_err_t *err)
{
    *out = NULL;
    if (!(opts->temperature > 0.0f && (double)opts->temperature <= SAMPLER_MAX_TEMPERATURE)) {
        return fs_err_set(err, FS_EINVAL, "latent temperature %g is outside (0, %g]",
                          (double)opts->temperature, SAMPLER_MAX_TEMPERATURE);
    }
    char kind[32];
    int rc = checkpoint_kind(path, kind, sizeof kind, err);
    if (rc) {
        return rc;
    }
    if (strcmp(kind, "dcgan") == 0) {
        return s_draw_gan(path, opts, out, err);
    }
    if (strcmp(kind, "cvae") == 0) {
        return s_draw_cvae(path, opts, out, err);
    }
    return fs_err_set(err, FS_EINVAL, "%s: a %s file is not a generator (expected a DCGAN or "
                      "CVAE file from fedsyn train)", path, kind);
}
