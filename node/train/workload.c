/* workload.c - DCGAN and CVAE behind one interface (see workload.h). */
#include "node/train/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/models/classifier.h"
#include "node/nn/adam.h"
#include "node/nn/loss.h"
#include "node/nn/model_file.h"
#include "node/train/checkpoint.h"
#include "node/train/cvae_train.h"
#include "node/train/gan_train.h"

int workload_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    char *end;
    memset(arch, 0, sizeof *arch);
    const int conditional = strncmp(spec, "cdcgan:", 7) == 0;
    const int recipe = strncmp(spec, "cgan:", 5) == 0;
    if (conditional || recipe || strncmp(spec, "dcgan:", 6) == 0) {
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
    if (strncmp(spec, "cvae:", 5) == 0) {
        long h = strtol(spec + 5, &end, 10);
        if (*end || h < 2 || h > 8192) {
            return fs_err_set(err, FS_EINVAL, "model '%s': hidden width must be 2 to 8192", spec);
        }
        arch->kind = WORKLOAD_CVAE;
        arch->cvae = cvae_config_hidden((int)h);
        return 0;
    }
    if (strcmp(spec, "classifier") == 0) {
        arch->kind = WORKLOAD_CLASSIFIER;
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, "model '%s': expected dcgan:WIDTH, cdcgan:WIDTH, "
                      "cgan:WIDTH, cvae:HIDDEN or classifier", spec);
}

// The networks of an architecture, seeded as their trainers seed them
// (*second is NULL for the classifier).
static void s_networks(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                       model_t **second)
{
    if (a->kind == WORKLOAD_CLASSIFIER) {
        *first = classifier_new(1, 28, 28, batch, seed * 2 + 1);
        *second = NULL;
    } else if (a->kind == WORKLOAD_DCGAN) {
        *first = dcgan_generator_new(&a->gan, batch, seed * 2 + 1);
        *second = dcgan_discriminator_new(&a->gan, batch, seed * 2 + 2);
    } else {
        *first = cvae_encoder_new(&a->cvae, batch, seed * 2 + 1);
        *second = cvae_decoder_new(&a->cvae, batch, seed * 2 + 2);
    }
}

// The generator's average after the two networks (cgan), or none.
static size_t s_ema_count(const workload_arch_t *a, size_t n_first)
{
    return a->kind == WORKLOAD_DCGAN && a->gan_ema > 0 ? n_first : 0;
}

void workload_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total)
{
    model_t *f, *s;
    s_networks(arch, 0, 0, &f, &s); // shape-only models (model.h)
    *n_first = model_param_count(f);
    *n_total = *n_first + (s ? model_param_count(s) : 0);
    *n_total += s_ema_count(arch, *n_first);
    model_destroy(&f);
    model_destroy(&s);
}

float *workload_initial(const workload_arch_t *arch, uint64_t seed, size_t *n)
{
    model_t *f, *s;
    s_networks(arch, 1, seed, &f, &s);
    size_t nf = model_param_count(f), ns = s ? model_param_count(s) : 0;
    size_t ne = s_ema_count(arch, nf);
    float *w = xmalloc((nf + ns + ne) * sizeof(float));
    memcpy(w, model_params(f), nf * sizeof(float));
    if (s) {
        memcpy(w + nf, model_params(s), ns * sizeof(float));
    }
    if (ne) { // the average starts at the generator (gan_train.c)
        memcpy(w + nf + ns, model_params(f), ne * sizeof(float));
    }
    model_destroy(&f);
    model_destroy(&s);
    *n = nf + ns + ne;
    return w;
}

// Section names of the two parts, as checkpoint.c writes them.
static void s_section_names(const workload_arch_t *a, const char **first, const char **second)
{
    *first = a->kind == WORKLOAD_DCGAN ? "generator"
             : a->kind == WORKLOAD_CVAE ? "encoder"
                                        : "classifier";
    *second = a->kind == WORKLOAD_DCGAN ? "discriminator" : a->kind == WORKLOAD_CVAE ? "decoder"
                                                                                    : NULL;
}

int workload_save(const char *path, const workload_arch_t *arch, const float *w,
                  const char *dataset, const char *extra, fs_err_t *err)
{
    size_t nf, n;
    workload_sizes(arch, &nf, &n);
    char meta[512];
    int len;
    if (arch->kind == WORKLOAD_DCGAN) {
        const dcgan_config_t *a = &arch->gan;
        char cond[64] = ""; // as checkpoint.c writes them: only when there
        if (a->classes) {
            snprintf(cond, sizeof cond, " classes=%d", a->classes);
        }
        if (a->g_pixel_norm) {
            snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_norm=pixel");
        }
        if (a->g_upsample) {
            snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " g_up=nearest");
        }
        if (arch->gan_ema > 0) {
            snprintf(cond + strlen(cond), sizeof cond - strlen(cond), " ema=%g",
                     (double)arch->gan_ema);
        }
        len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d%s epoch=0 "
                       "dataset=%s %s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, cond,
                       dataset, extra ? extra : "");
    } else if (arch->kind == WORKLOAD_CLASSIFIER) {
        len = snprintf(meta, sizeof meta, "arch=classifier img=1x28x28 dataset=%s %s\n", dataset,
                       extra ? extra : "");
    } else {
        const cvae_config_t *a = &arch->cvae;
        len = snprintf(meta, sizeof meta,
                       "arch=cvae hidden=%d latent=%d classes=%d img=%dx%dx%d epoch=0 "
                       "dataset=%s %s\n",
                       a->hidden, a->latent, a->classes, a->img_c, a->img_h, a->img_w, dataset,
                       extra ? extra : "");
    }
    const char *first, *second;
    s_section_names(arch, &first, &second);
    const size_t ne = s_ema_count(arch, nf);
    model_section_t s[4] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        {"", SECTION_FLOATS, w, nf * sizeof(float)},
        {"", SECTION_FLOATS, w + nf, (n - nf - ne) * sizeof(float)},
        {CHECKPOINT_EMA_SECTION, SECTION_FLOATS, w + n - ne, ne * sizeof(float)},
    };
    snprintf(s[1].name, sizeof s[1].name, "%s", first);
    if (second) {
        snprintf(s[2].name, sizeof s[2].name, "%s", second);
    }
    return model_file_save(path, s, ne ? 4 : second ? 3 : 2, err);
}

int workload_load(const char *path, const workload_arch_t *arch, float *w, fs_err_t *err)
{
    size_t nf, n;
    workload_sizes(arch, &nf, &n);
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    const char *first, *second;
    s_section_names(arch, &first, &second);
    const size_t ne = s_ema_count(arch, nf);
    int rc = model_file_floats(f, first, w, nf, err);
    if (second) {
        rc = rc ? rc : model_file_floats(f, second, w + nf, n - nf - ne, err);
    }
    if (ne) {
        rc = rc ? rc : model_file_floats(f, CHECKPOINT_EMA_SECTION, w + n - ne, ne, err);
    }
    model_file_destroy(&f);
    return rc ? fs_err_prefix(err, rc, "%s: ", path) : 0;
}

// The classifier's step (GenFL's downstream model): shuffled mini-batches,
// softmax cross-entropy, Adam 1e-3, as classifier_train does it.
typedef struct {
    model_t *m;
    adam_t *adam;
    rng_t rng;
    const dataset_t *data;
    dataset_order_t order;
    float *x;
    uint8_t *y;
} s_classifier_t;

struct workload_trainer {
    workload_arch_t arch;
    int batch;
    gan_trainer_t *gan;
    cvae_trainer_t *cvae;
    s_classifier_t *clf;
    model_t *first, *second; // borrowed (second is NULL for the classifier)
};

static s_classifier_t *s_classifier_new(int batch, uint64_t seed)
{
    s_classifier_t *c = xcalloc(1, sizeof *c);
    c->m = classifier_new(1, 28, 28, batch, seed * 2 + 1);
    model_seed_dropout(c->m, seed + 7);
    c->adam = adam_new(model_param_count(c->m), 1e-3f, 0.9f, 0.999f, 1e-7f);
    rng_seed(&c->rng, seed ^ 0xc1a55u);
    c->x = xfloats((size_t)batch * model_input_size(c->m));
    c->y = xmalloc((size_t)batch);
    return c;
}

static void s_classifier_destroy(s_classifier_t **self_p)
{
    s_classifier_t *c = *self_p;
    if (!c) {
        return;
    }
    model_destroy(&c->m);
    adam_destroy(&c->adam);
    dataset_order_free(&c->order);
    free(c->x);
    free(c->y);
    free(c);
    *self_p = NULL;
}

static int s_classifier_set_data(s_classifier_t *c, const dataset_t *d, fs_err_t *err)
{
    if (!d->y || d->n < 1) {
        return fs_err_set(err, FS_EINVAL, "the classifier needs a non-empty labelled set");
    }
    if (dataset_image_size(d) != model_input_size(c->m)) {
        return fs_err_set(err, FS_EINVAL, "images have %zu pixels, the classifier takes %zu",
                          dataset_image_size(d), model_input_size(c->m));
    }
    dataset_order_reset(&c->order, d->n, &c->rng);
    c->data = d;
    return 0;
}

static void s_classifier_step(s_classifier_t *c, int batch, workload_stats_t *st)
{
    const size_t img = dataset_image_size(c->data); // = the model's input (set_data checked)
    for (int i = 0; i < batch; i++) {
        uint32_t k = dataset_order_next(&c->order, &c->rng);
        memcpy(c->x + (size_t)i * img, c->data->x + (size_t)k * img, sizeof(float) * img);
        c->y[i] = c->data->y[k];
    }
    const float *logits = model_forward(c->m, c->x, batch, true);
    int right = 0;
    for (int i = 0; i < batch; i++) {
        const float *z = logits + (size_t)i * CLASSIFIER_CLASSES;
        int best = 0;
        for (int j = 1; j < CLASSIFIER_CLASSES; j++) {
            best = z[j] > z[best] ? j : best;
        }
        right += best == c->y[i];
    }
    double loss =
        loss_softmax_xent(logits, c->y, batch, CLASSIFIER_CLASSES, model_output_grad(c->m));
    model_zero_grads(c->m);
    model_backward(c->m, false);
    adam_step(c->adam, model_params(c->m), model_grads(c->m));
    *st = (workload_stats_t){loss, (double)right / batch};
}

workload_trainer_t *workload_trainer_new(const workload_arch_t *arch, int batch, uint64_t seed)
{
    workload_trainer_t *t = xcalloc(1, sizeof *t);
    t->arch = *arch;
    t->batch = batch;
    if (arch->kind == WORKLOAD_CLASSIFIER) {
        t->clf = s_classifier_new(batch, seed);
        t->first = t->clf->m;
    } else if (arch->kind == WORKLOAD_DCGAN) {
        gan_train_config_t cfg = workload_gan_config(arch, batch, seed);
        t->gan = gan_trainer_new(&arch->gan, &cfg);
        t->first = gan_trainer_generator(t->gan);
        t->second = gan_trainer_discriminator(t->gan);
    } else {
        cvae_train_config_t cfg = cvae_train_config_default();
        cfg.batch = batch;
        cfg.seed = seed;
        t->cvae = cvae_trainer_new(&arch->cvae, &cfg);
        t->first = cvae_trainer_encoder(t->cvae);
        t->second = cvae_trainer_decoder(t->cvae);
    }
    return t;
}

void workload_trainer_destroy(workload_trainer_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    workload_trainer_t *t = *self_p;
    gan_trainer_destroy(&t->gan);
    cvae_trainer_destroy(&t->cvae);
    s_classifier_destroy(&t->clf);
    free(t);
    *self_p = NULL;
}

int workload_trainer_set_data(workload_trainer_t *t, const dataset_t *data, fs_err_t *err)
{
    return t->gan    ? gan_trainer_set_data(t->gan, data, err)
           : t->cvae ? cvae_trainer_set_data(t->cvae, data, err)
                     : s_classifier_set_data(t->clf, data, err);
}

void workload_trainer_load(workload_trainer_t *t, const float *w)
{
    size_t nf = model_param_count(t->first);
    memcpy(model_params(t->first), w, nf * sizeof(float));
    if (t->second) {
        memcpy(model_params(t->second), w + nf, model_param_count(t->second) * sizeof(float));
    }
    float *ema = t->gan ? gan_trainer_ema(t->gan) : NULL;
    if (ema) {
        memcpy(ema, w + nf + model_param_count(t->second), nf * sizeof(float));
    }
}

void workload_trainer_export(const workload_trainer_t *t, float *w)
{
    size_t nf = model_param_count(t->first);
    memcpy(w, model_params_const(t->first), nf * sizeof(float));
    if (t->second) {
        memcpy(w + nf, model_params_const(t->second), model_param_count(t->second) * sizeof(float));
    }
    const float *ema = t->gan ? gan_trainer_ema(t->gan) : NULL;
    if (ema) {
        memcpy(w + nf + model_param_count(t->second), ema, nf * sizeof(float));
    }
}

void workload_trainer_step(workload_trainer_t *t, workload_stats_t *stats)
{
    if (t->gan) {
        gan_step_stats_t st;
        gan_train_step(t->gan, &st);
        *stats = (workload_stats_t){st.d_loss, st.g_loss};
    } else if (t->cvae) {
        cvae_step_stats_t st;
        cvae_train_step(t->cvae, &st);
        *stats = (workload_stats_t){st.loss, st.kl};
    } else {
        s_classifier_step(t->clf, t->batch, stats);
    }
}

gan_train_config_t workload_gan_config(const workload_arch_t *arch, int batch, uint64_t seed)
{
    gan_train_config_t cfg = gan_train_config_paper();
    cfg.batch = batch;
    cfg.seed = seed;
    if (arch->gan_lr > 0) {
        cfg.lr = arch->gan_lr;
    }
    cfg.lr_d = arch->gan_lr_d;
    cfg.ema = arch->gan_ema;
    cfg.aux = arch->gan_aux;
    cfg.reuse_fakes = arch->gan_reuse_fakes;
    if (arch->gan_ema_warmup > 0) {
        cfg.ema_warmup = arch->gan_ema_warmup;
    }
    return cfg;
}

int workload_trainer_batch(const workload_trainer_t *t)
{
    return t->batch;
}

const char *workload_kind_name(const workload_arch_t *arch)
{
    return arch->kind == WORKLOAD_DCGAN ? "DCGAN" : arch->kind == WORKLOAD_CVAE ? "CVAE"
                                                                                : "classifier";
}

const char *workload_stat_name(const workload_arch_t *arch, int which)
{
    if (arch->kind == WORKLOAD_DCGAN) {
        return which == 0 ? "d_loss" : "g_loss";
    }
    return which == 0 ? "loss" : arch->kind == WORKLOAD_CVAE ? "kl" : "acc";
}
