/* train_cvae.c - the CVAE path of `fedsyn train` (GenFL's generator):
 * the same options, progress and checkpoints as the GAN path. */
#include <stdio.h>
#include <stdlib.h>

#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/cli/train_loop.h"
#include "node/cli/train_opts.h"
#include "node/image/png_grid.h"
#include "node/train/checkpoint.h"
#include "node/train/cvae_train.h"

#define CMD "train"

// A 10 x 10 grid whose row r shows ten draws of label r (fixed latents, so
// grids of successive checkpoints compare).
static int s_save_grid(const char *path, cvae_trainer_t *t, fs_err_t *err)
{
    const cvae_config_t *a = cvae_trainer_arch(t);
    model_t *dec = cvae_trainer_decoder(t);
    const int rows = a->classes < 10 ? a->classes : 10;
    const int per = model_max_batch(dec) < 10 ? model_max_batch(dec) : 10;
    const size_t img = (size_t)cvae_image_size(a);
    float *grid = xfloats((size_t)rows * per * img);
    float *in = xfloats((size_t)per * (a->latent + a->classes));
    uint8_t y[10];
    rng_t rng;
    rng_seed(&rng, 12345);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < per; i++) {
            y[i] = (uint8_t)r;
        }
        cvae_generate(dec, a, y, per, &rng, in, grid + (size_t)r * per * img);
    }
    int rc = png_grid_save(path, grid, rows * per, a->img_c, a->img_h, a->img_w, per, 2, err);
    free(grid);
    free(in);
    return rc;
}

static void s_step(void *trainer, double st[TRAIN_LOOP_STATS])
{
    cvae_step_stats_t s;
    cvae_train_step(trainer, &s);
    st[0] = s.loss;
    st[1] = s.recon;
    st[2] = s.kl;
}

static void s_describe(const double a[TRAIN_LOOP_STATS], char *buf, size_t n)
{
    snprintf(buf, n, "loss %.2f (recon %.2f, kl %.2f)", a[0], a[1], a[2]);
}

static int s_save_weights(const char *path, void *t, int epoch, const char *dataset,
                          fs_err_t *err)
{
    return checkpoint_save_cvae(path, t, epoch, dataset, err);
}

static int s_save_state(const char *path, void *t, int epoch, int iter, const char *dataset,
                        fs_err_t *err)
{
    return checkpoint_save_cvae_state(path, t, epoch, iter, dataset, err);
}

static int s_grid(const char *path, void *t, fs_err_t *err) { return s_save_grid(path, t, err); }

static long s_adam_steps(void *t) { return cvae_trainer_adam_enc(t)->t; }

int train_cvae_run(const train_opts_t *o, const dataset_t *data)
{
    fs_err_t err = {0, ""};
    cvae_config_t arch = cvae_config_hidden(o->cvae_hidden);
    arch.img_c = data->c;
    arch.img_h = data->h;
    arch.img_w = data->w;
    cvae_train_config_t cfg = cvae_train_config_default();
    cfg.batch = (int)o->batch;
    cfg.seed = (uint64_t)o->seed;
    cvae_trainer_t *t = cvae_trainer_new(&arch, &cfg);
    checkpoint_resume_t at = {0, 0, false, false};
    // the data first: restoring a checkpoint's data order needs them
    if (cvae_trainer_set_data(t, data, &err) ||
        (o->resume && checkpoint_resume_cvae(o->resume, t, &at, &err))) {
        cvae_trainer_destroy(&t);
        return cli_fail(CMD, &err,
                        o->resume ? "resume from a CVAE file of the same --model cvae:H" : NULL);
    }
    const long iters = o->iters ? o->iters : (data->n / o->batch > 0 ? data->n / o->batch : 1);
    char banner[256];
    snprintf(banner, sizeof banner,
             "%d images, CVAE encoder %zu + decoder %zu parameters (hidden %d, latent %d), "
             "batch %ld",
             data->n, model_param_count(cvae_trainer_encoder(t)),
             model_param_count(cvae_trainer_decoder(t)), arch.hidden, arch.latent, o->batch);
    const train_loop_t loop = {t, s_step, s_describe, s_save_weights, s_save_state, s_grid,
                               s_adam_steps, banner};
    int rc = train_loop_run(o, &loop, at, iters);
    cvae_trainer_destroy(&t);
    return rc;
}
