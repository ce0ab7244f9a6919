/* train_cvae.c - the CVAE path of `fedsyn train` (GenFL's generator):
 * the same options, progress and checkpoints as the GAN path. */
#include <stdio.h>
#include <stdlib.h>

#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/cli/train_opts.h"
#include "node/image/png_grid.h"
#include "node/nn/blas.h"
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
    if (o->resume && checkpoint_load_cvae(o->resume, t, &err)) {
        cvae_trainer_destroy(&t);
        return cli_fail(CMD, &err, "resume from a CVAE file of the same --model cvae:H");
    }
    if (cvae_trainer_set_data(t, data, &err)) {
        cvae_trainer_destroy(&t);
        return cli_fail(CMD, &err, NULL);
    }
    const long iters = o->iters ? o->iters : (data->n / o->batch > 0 ? data->n / o->batch : 1);
    const long total = iters * o->epochs;
    fprintf(stderr,
            "fedsyn train: %d images, CVAE encoder %zu + decoder %zu parameters (hidden %d, "
            "latent %d), batch %ld, %ld epochs x %ld iterations, %d BLAS threads\n",
            data->n, model_param_count(cvae_trainer_encoder(t)),
            model_param_count(cvae_trainer_decoder(t)), arch.hidden, arch.latent, o->batch,
            o->epochs, iters, blas_threads());
    cli_catch_signals();
    char stem[1024], path[1100];
    train_stem(o->out, stem, sizeof stem);
    double t0 = cli_now(), last = t0;
    long done = 0;
    int ep;
    cvae_step_stats_t st = {0};
    for (ep = 0; ep < o->epochs && !cli_interrupted; ep++) {
        double sum = 0, sum_r = 0, sum_k = 0;
        for (long k = 0; k < iters && !cli_interrupted; k++) {
            cvae_train_step(t, &st);
            done++;
            sum += st.loss;
            sum_r += st.recon;
            sum_k += st.kl;
            double now = cli_now();
            if (!o->quiet && (now - last >= 2.0 || k + 1 == iters)) {
                double rate = (double)done * o->batch / (now - t0);
                char eta[32];
                cli_duration((double)(total - done) * o->batch / rate, eta, sizeof eta);
                fprintf(stderr,
                        "epoch %d/%ld iter %ld/%ld  loss %.2f (recon %.2f, kl %.2f)  %.0f img/s  "
                        "ETA %s\n",
                        ep + 1, o->epochs, k + 1, iters, sum / (k + 1), sum_r / (k + 1),
                        sum_k / (k + 1), rate, eta);
                last = now;
            }
        }
        if (o->every && (ep + 1) % o->every == 0 && !cli_interrupted) {
            snprintf(path, sizeof path, "%s.epoch%d.fsm", stem, ep + 1);
            if (checkpoint_save_cvae(path, t, ep + 1, o->dataset, &err) == 0) {
                snprintf(path, sizeof path, "%s.epoch%d.png", stem, ep + 1);
                s_save_grid(path, t, &err);
                fprintf(stderr, "checkpoint: %s.epoch%d.fsm and .png\n", stem, ep + 1);
            } else {
                fprintf(stderr, "fedsyn train: warning: %s\n", err.msg);
            }
        }
    }
    int rc = checkpoint_save_cvae(o->out, t, cli_interrupted ? ep - 1 : ep, o->dataset, &err);
    if (rc == 0 && o->grid) {
        rc = s_save_grid(o->grid, t, &err);
    }
    char took[32];
    cli_duration(cli_now() - t0, took, sizeof took);
    if (rc == 0) {
        fprintf(stderr, "fedsyn train: %ld iterations in %s; wrote %s%s%s\n", done, took, o->out,
                o->grid ? " and " : "", o->grid ? o->grid : "");
    }
    cvae_trainer_destroy(&t);
    if (rc) {
        return cli_fail(CMD, &err, "check that the output directory exists and is writable");
    }
    return cli_interrupted ? EXIT_INTERRUPTED : EXIT_OK;
}
