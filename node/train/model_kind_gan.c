/* model_kind_gan.c - the GANs as a model kind (model_kind.h): the FedSyn
 * paper's DCGAN ("dcgan:W"), the same conditioned on the labels
 * ("cdcgan:W") and fedsyn's recipe for labelled data ("cgan:W",
 * workload.h).  Their vector is generator ++ discriminator (++ the
 * generator's moving average for cgan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/image/png_grid.h"
#include "node/train/checkpoint.h"
#include "node/train/gan_train.h"
#include "node/train/model_kind.h"

static int s_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    const int conditional = strncmp(spec, "cdcgan:", 7) == 0;
    const int recipe = strncmp(spec, "cgan:", 5) == 0;
    if (!conditional && !recipe && strncmp(spec, "dcgan:", 6) != 0) {
        return 1;
    }
    char *end;
    long w = strtol(strchr(spec, ':') + 1, &end, 10);
    if (*end || w < 2 || w > 1024 || w % 2) {
        return fs_err_set(err, FS_EINVAL, "model '%s': width must be even, 2 to 1024", spec);
    }
    arch->kind = WORKLOAD_DCGAN;
    arch->gan = dcgan_config_width((int)w);
    arch->gan.classes = conditional || recipe ? WORKLOAD_CLASSES : 0;
    if (recipe) {
        arch->gan.g_pixel_norm = 1;
        arch->gan.g_upsample = 1;
        arch->gan.d_width = (int)w * WORKLOAD_CGAN_D_FACTOR;
        arch->gan_ema = WORKLOAD_CGAN_EMA;
        arch->gan_aux = WORKLOAD_CGAN_AUX;
        arch->gan_lr_d = WORKLOAD_CGAN_LR_D;
        arch->gan_reuse_fakes = 1;
    }
    return 0;
}

static void s_networks(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                       model_t **second)
{
    *first = dcgan_generator_new(&a->gan, batch, seed * 2 + 1);
    *second = dcgan_discriminator_new(&a->gan, batch, seed * 2 + 2);
}

// The generator's average after the two networks (cgan), or none.
static size_t s_extra(const workload_arch_t *a, size_t n_first)
{
    return a->gan_ema > 0 ? n_first : 0;
}

static int s_meta(const workload_arch_t *arch, const char *dataset, const char *extra,
                  char *buf, size_t cap)
{
    const dcgan_config_t *a = &arch->gan;
    char cond[128] = ""; // as checkpoint.c writes them: only when there
    if (a->classes) {
        snprintf(cond, sizeof cond, " classes=%d", a->classes);
    }
    if (a->g_pixel_norm) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_norm=pixel");
    }
    if (a->g_upsample) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_up=nearest");
    }
    if (a->d_mbstd) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " d_mbstd=1");
    }
    if (a->d_twin) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " d_twin=1");
    }
    if (a->g_linear) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_out=linear");
    }
    if (arch->gan_ema > 0) {
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " ema=%g",
                 (double)arch->gan_ema);
    }
    return snprintf(buf, cap,
                    "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d%s epoch=0 "
                    "dataset=%s %s\n",
                    a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, cond,
                    dataset, extra ? extra : "");
}

static void *s_trainer_new(const workload_arch_t *a, int batch, uint64_t seed)
{
    gan_train_config_t cfg = workload_gan_config(a, batch, seed);
    return gan_trainer_new(&a->gan, &cfg);
}

static void s_trainer_destroy(void *t)
{
    gan_trainer_t *g = t;
    gan_trainer_destroy(&g);
}

static int s_trainer_set_data(void *t, const dataset_t *d, fs_err_t *err)
{
    return gan_trainer_set_data(t, d, err);
}

static void s_trainer_step(void *t, workload_stats_t *st)
{
    gan_step_stats_t s;
    gan_train_step(t, &s);
    *st = (workload_stats_t){s.d_loss, s.g_loss};
}

static model_t *s_trainer_network(void *t, int which)
{
    return which == 0 ? gan_trainer_generator(t) : gan_trainer_discriminator(t);
}

static float *s_trainer_extra(void *t)
{
    return gan_trainer_ema(t);
}

static void s_trainer_public_labels(void *t, const uint8_t *labels, int n)
{
    gan_trainer_set_public_labels(t, labels, n);
}

static void s_trainer_schedule(void *t, const workload_schedule_t *s)
{
    gan_trainer_set_schedule(t, s->lr_scale, s->aux_g, s->twin_g_off);
}

// A conditional generator's samples are labelled, label i mod classes, so
// the classes are balanced.
static int s_draw(const char *path, const sampler_opts_t *o, dataset_t **out, fs_err_t *err)
{
    const int n = o->n, max_batch = o->max_batch;
    dcgan_config_t a;
    model_t *g = NULL;
    int rc = checkpoint_load_generator(path, max_batch, &a, &g, err);
    if (rc) {
        return rc;
    }
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
        sampler_latents(&rng, z, (size_t)k * a.latent, o->temperature);
        dcgan_pack_latent(&a, z, a.classes ? d->y + s : NULL, k, in);
        gan_decode(g, in, k, d->x + (size_t)s * dataset_image_size(d));
    }
    free(in);
    free(z);
    model_destroy(&g);
    *out = d;
    return 0;
}

static void s_run_step(void *t, double st[MODEL_KIND_STATS])
{
    gan_step_stats_t s;
    gan_train_step(t, &s);
    st[0] = s.d_loss;
    st[1] = s.g_loss;
    st[2] = s.d_acc_real;
    st[3] = s.d_acc_fake;
}

static void s_describe(const double a[MODEL_KIND_STATS], char *buf, size_t n)
{
    snprintf(buf, n, "d_loss %.3f g_loss %.3f  d_acc real %.2f fake %.2f", a[0], a[1], a[2],
             a[3]);
}

static void s_summary(const workload_arch_t *wa, void *t, char *buf, size_t n)
{
    const dcgan_config_t *a = &wa->gan;
    snprintf(buf, n, "G %zu + D %zu parameters (widths %d/%d%s%s%s%s%s%s%s%s%s)",
             model_param_count(gan_trainer_generator(t)),
             model_param_count(gan_trainer_discriminator(t)), a->g_width, a->d_width,
             a->classes ? ", conditioned on 10 labels" : "",
             a->g_pixel_norm ? ", pixel norm in G" : "",
             a->g_upsample ? ", G upsamples by nearest neighbour" : "",
             a->d_mbstd ? ", minibatch deviation in D" : "",
             a->d_twin ? ", twin classifier in D (TAC-GAN)" : "",
             a->g_linear ? ", linear output in G" : "",
             wa->gan_reuse_fakes ? ", G's step on D's fakes" : "",
             wa->gan_aux > 0 && a->classes ? ", auxiliary classifier in D" : "",
             wa->gan_ema > 0 ? ", samples from G's moving average" : "");
}

static int s_save_weights(const char *path, void *t, int epoch, const char *dataset,
                          fs_err_t *err)
{
    return checkpoint_save_gan(path, t, epoch, dataset, err);
}

static int s_save_state(const char *path, void *t, int epoch, int iter, const char *dataset,
                        const char *run, fs_err_t *err)
{
    return checkpoint_save_gan_state(path, t, epoch, iter, dataset, run, err);
}

static int s_resume(const char *path, void *t, checkpoint_resume_t *at, fs_err_t *err)
{
    return checkpoint_resume_gan(path, t, at, err);
}

// 100 samples from fixed latents (comparable across checkpoints), drawn
// from G's moving average when the trainer keeps one; column c: label c,
// as `fedsyn sample` draws its grids.
static int s_save_grid(const char *path, void *trainer, fs_err_t *err)
{
    gan_trainer_t *t = trainer;
    const dcgan_config_t *a = gan_trainer_arch(t);
    model_t *g = gan_trainer_generator(t);
    const int n = 100, chunk = model_max_batch(g); // drawn chunk images at a time
    rng_t rng;
    rng_seed(&rng, 12345);
    float *z = xfloats((size_t)n * a->latent);
    float *in = xfloats((size_t)n * model_input_size(g));
    float *img = xfloats((size_t)n * model_output_size(g));
    uint8_t y[100];
    for (int i = 0; i < n; i++) {
        y[i] = (uint8_t)(a->classes ? (i % 10) % a->classes : 0);
    }
    rng_normal_floats(&rng, z, (size_t)n * a->latent);
    dcgan_pack_latent(a, z, y, n, in);
    gan_trainer_swap_ema(t);
    for (int i = 0; i < n; i += chunk) {
        const int m = n - i < chunk ? n - i : chunk;
        gan_decode(g, in + (size_t)i * model_input_size(g), m,
                   img + (size_t)i * model_output_size(g));
    }
    gan_trainer_swap_ema(t);
    int rc = png_grid_save(path, img, n, a->img_c, a->img_h, a->img_w, 10, 2, err);
    free(z);
    free(in);
    free(img);
    return rc;
}

static long s_optimiser_steps(void *t)
{
    return gan_trainer_adam_g(t)->t;
}

const model_kind_t model_kind_gan = {
    .kind = WORKLOAD_DCGAN,
    .file_arch = "dcgan",
    .display = "DCGAN",
    .specs = "dcgan:WIDTH, cdcgan:WIDTH, cgan:WIDTH",
    .stat_names = {"d_loss", "g_loss"},
    .sections = {"generator", "discriminator"},
    .parse = s_parse,
    .networks = s_networks,
    .extra = s_extra,
    .meta = s_meta,
    .trainer_new = s_trainer_new,
    .trainer_destroy = s_trainer_destroy,
    .trainer_set_data = s_trainer_set_data,
    .trainer_step = s_trainer_step,
    .trainer_network = s_trainer_network,
    .trainer_extra = s_trainer_extra,
    .trainer_schedule = s_trainer_schedule,
    .trainer_public_labels = s_trainer_public_labels,
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
