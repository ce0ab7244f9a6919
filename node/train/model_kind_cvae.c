/* model_kind_cvae.c - GenFL's conditional VAE as a model kind
 * (model_kind.h): "cvae:H", its vector encoder ++ decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/image/png_grid.h"
#include "node/train/checkpoint.h"
#include "node/train/cvae_train.h"
#include "node/train/model_kind.h"

static int s_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    if (strncmp(spec, "cvae:", 5) != 0) {
        return 1;
    }
    char *end;
    long h = strtol(spec + 5, &end, 10);
    if (*end || h < 2 || h > 8192) {
        return fs_err_set(err, FS_EINVAL, "model '%s': hidden width must be 2 to 8192", spec);
    }
    arch->kind = WORKLOAD_CVAE;
    arch->cvae = cvae_config_hidden((int)h);
    return 0;
}

static void s_networks(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                       model_t **second)
{
    *first = cvae_encoder_new(&a->cvae, batch, seed * 2 + 1);
    *second = cvae_decoder_new(&a->cvae, batch, seed * 2 + 2);
}

static int s_meta(const workload_arch_t *arch, const char *dataset, const char *extra,
                  char *buf, size_t cap)
{
    const cvae_config_t *a = &arch->cvae;
    return snprintf(buf, cap,
                    "arch=cvae hidden=%d latent=%d classes=%d img=%dx%dx%d epoch=0 "
                    "dataset=%s %s\n",
                    a->hidden, a->latent, a->classes, a->img_c, a->img_h, a->img_w, dataset,
                    extra ? extra : "");
}

static void *s_trainer_new(const workload_arch_t *a, int batch, uint64_t seed)
{
    cvae_train_config_t cfg = cvae_train_config_default();
    cfg.batch = batch;
    cfg.seed = seed;
    return cvae_trainer_new(&a->cvae, &cfg);
}

static void s_trainer_destroy(void *t)
{
    cvae_trainer_t *c = t;
    cvae_trainer_destroy(&c);
}

static int s_trainer_set_data(void *t, const dataset_t *d, fs_err_t *err)
{
    return cvae_trainer_set_data(t, d, err);
}

static void s_trainer_step(void *t, workload_stats_t *st)
{
    cvae_step_stats_t s;
    cvae_train_step(t, &s);
    *st = (workload_stats_t){s.loss, s.kl};
}

static model_t *s_trainer_network(void *t, int which)
{
    return which == 0 ? cvae_trainer_encoder(t) : cvae_trainer_decoder(t);
}

// Labelled samples, label i mod classes; one sample's latent after
// another, in cvae_generate's order.
static int s_draw(const char *path, const sampler_opts_t *o, dataset_t **out, fs_err_t *err)
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
        sampler_latents(&rng, z, (size_t)k * a.latent, o->temperature);
        cvae_decode(dec, &a, z, d->y + s, k, in, d->x + (size_t)s * dataset_image_size(d));
    }
    free(in);
    free(z);
    model_destroy(&dec);
    *out = d;
    return 0;
}

static void s_run_step(void *t, double st[MODEL_KIND_STATS])
{
    cvae_step_stats_t s;
    cvae_train_step(t, &s);
    st[0] = s.loss;
    st[1] = s.recon;
    st[2] = s.kl;
}

static void s_describe(const double a[MODEL_KIND_STATS], char *buf, size_t n)
{
    snprintf(buf, n, "loss %.2f (recon %.2f, kl %.2f)", a[0], a[1], a[2]);
}

static void s_summary(const workload_arch_t *wa, void *t, char *buf, size_t n)
{
    snprintf(buf, n, "CVAE encoder %zu + decoder %zu parameters (hidden %d, latent %d)",
             model_param_count(cvae_trainer_encoder(t)),
             model_param_count(cvae_trainer_decoder(t)), wa->cvae.hidden, wa->cvae.latent);
}

static int s_save_weights(const char *path, void *t, int epoch, const char *dataset,
                          fs_err_t *err)
{
    return checkpoint_save_cvae(path, t, epoch, dataset, err);
}

static int s_save_state(const char *path, void *t, int epoch, int iter, const char *dataset,
                        const char *run, fs_err_t *err)
{
    return checkpoint_save_cvae_state(path, t, epoch, iter, dataset, run, err);
}

static int s_resume(const char *path, void *t, checkpoint_resume_t *at, fs_err_t *err)
{
    return checkpoint_resume_cvae(path, t, at, err);
}

// A grid whose column c shows ten draws of label c, as `fedsyn sample`
// draws its grids (fixed latents, so grids of successive checkpoints
// compare): drawn a label at a time, then placed by column.
static int s_save_grid(const char *path, void *trainer, fs_err_t *err)
{
    cvae_trainer_t *t = trainer;
    const cvae_config_t *a = cvae_trainer_arch(t);
    model_t *dec = cvae_trainer_decoder(t);
    const int labels = a->classes < 10 ? a->classes : 10;
    const int per = model_max_batch(dec) < 10 ? model_max_batch(dec) : 10;
    const size_t img = (size_t)cvae_image_size(a);
    float *drawn = xfloats((size_t)labels * per * img);
    float *grid = xfloats((size_t)labels * per * img);
    float *in = xfloats((size_t)per * (a->latent + a->classes));
    uint8_t y[10];
    rng_t rng;
    rng_seed(&rng, 12345);
    for (int r = 0; r < labels; r++) {
        for (int i = 0; i < per; i++) {
            y[i] = (uint8_t)r;
        }
        cvae_generate(dec, a, y, per, &rng, in, drawn + (size_t)r * per * img);
    }
    for (int r = 0; r < labels; r++) { // draw i of label r: row i, column r
        for (int i = 0; i < per; i++) {
            memcpy(grid + ((size_t)i * labels + r) * img, drawn + ((size_t)r * per + i) * img,
                   img * sizeof(float));
        }
    }
    int rc = png_grid_save(path, grid, labels * per, a->img_c, a->img_h, a->img_w, labels, 2,
                           err);
    free(drawn);
    free(grid);
    free(in);
    return rc;
}

static long s_optimiser_steps(void *t)
{
    return cvae_trainer_adam_enc(t)->t;
}

const model_kind_t model_kind_cvae = {
    .kind = WORKLOAD_CVAE,
    .file_arch = "cvae",
    .display = "CVAE",
    .specs = "cvae:HIDDEN",
    .stat_names = {"loss", "kl"},
    .sections = {"encoder", "decoder"},
    .parse = s_parse,
    .networks = s_networks,
    .meta = s_meta,
    .trainer_new = s_trainer_new,
    .trainer_destroy = s_trainer_destroy,
    .trainer_set_data = s_trainer_set_data,
    .trainer_step = s_trainer_step,
    .trainer_network = s_trainer_network,
    .draw = s_draw,
    .run_step = s_run_step,
    .describe = s_describe,
    .summary = s_summary,
    .save_weights = s_save_weights,
    .save_state = s_save_state,
    .resume = s_resume,
    .save_grid = s_save_grid,
    .optimiser_steps = s_optimiser_steps,
};
