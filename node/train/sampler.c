/* sampler.c - drawing from any generator file (see sampler.h). */
#include "node/train/sampler.h"

#include "node/train/checkpoint.h"
#include "node/train/model_kind.h"

void sampler_latents(rng_t *rng, float *z, size_t k, float temperature)
{
    rng_normal_floats(rng, z, k);
    if (temperature != 1.0f) {
        for (size_t i = 0; i < k; i++) {
            z[i] *= temperature;
        }
    }
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
    char arch[32];
    int rc = checkpoint_kind(path, arch, sizeof arch, err);
    if (rc) {
        return rc;
    }
    const model_kind_t *kind = model_kind_for_file(arch);
    if (kind && kind->draw) {
        return kind->draw(path, opts, out, err);
    }
    return fs_err_set(err, FS_EINVAL, "%s: a %s file is not a generator (expected a DCGAN or "
                      "CVAE file from fedsyn train)", path, arch);
}
