/* workload.c - DCGAN and CVAE behind one interface (see workload.h). */
#include "node/train/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/nn/model_file.h"
#include "node/train/cvae_train.h"
#include "node/train/gan_train.h"

int workload_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    char *end;
    memset(arch, 0, sizeof *arch);
    if (strncmp(spec, "dcgan:", 6) == 0) {
        long w = strtol(spec + 6, &end, 10);
        if (*end || w < 2 || w > 1024 || w % 2) {
            return fs_err_set(err, FS_EINVAL, "model '%s': width must be even, 2 to 1024", spec);
        }
        arch->kind = WORKLOAD_DCGAN;
        arch->gan = dcgan_config_width((int)w);
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
    return fs_err_set(err, FS_EINVAL, "model '%s': expected dcgan:WIDTH or cvae:HIDDEN", spec);
}

// The two networks of an architecture, seeded as their trainers seed them.
static void s_networks(const workload_arch_t *a, int batch, uint64_t seed, model_t **first,
                       model_t **second)
{
    if (a->kind == WORKLOAD_DCGAN) {
        *first = dcgan_generator_new(&a->gan, batch, seed * 2 + 1);
        *second = dcgan_discriminator_new(&a->gan, batch, seed * 2 + 2);
    } else {
        *first = cvae_encoder_new(&a->cvae, batch, seed * 2 + 1);
        *second = cvae_decoder_new(&a->cvae, batch, seed * 2 + 2);
    }
}

void workload_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total)
{
    model_t *f, *s;
    s_networks(arch, 1, 1, &f, &s);
    *n_first = model_param_count(f);
    *n_total = *n_first + model_param_count(s);
    model_destroy(&f);
    model_destroy(&s);
}

float *workload_initial(const workload_arch_t *arch, uint64_t seed, size_t *n)
{
    model_t *f, *s;
    s_networks(arch, 1, seed, &f, &s);
    size_t nf = model_param_count(f), ns = model_param_count(s);
    float *w = xmalloc((nf + ns) * sizeof(float));
    memcpy(w, model_params(f), nf * sizeof(float));
    memcpy(w + nf, model_params(s), ns * sizeof(float));
    model_destroy(&f);
    model_destroy(&s);
    *n = nf + ns;
    return w;
}

// Section names of the two parts, as checkpoint.c writes them.
static void s_section_names(const workload_arch_t *a, const char **first, const char **second)
{
    *first = a->kind == WORKLOAD_DCGAN ? "generator" : "encoder";
    *second = a->kind == WORKLOAD_DCGAN ? "discriminator" : "decoder";
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
        len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d epoch=0 "
                       "dataset=%s %s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, dataset,
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
    model_section_t s[3] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        {"", SECTION_FLOATS, w, nf * sizeof(float)},
        {"", SECTION_FLOATS, w + nf, (n - nf) * sizeof(float)},
    };
    snprintf(s[1].name, sizeof s[1].name, "%s", first);
    snprintf(s[2].name, sizeof s[2].name, "%s", second);
    return model_file_save(path, s, 3, err);
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
    int rc = model_file_floats(f, first, w, nf, err);
    rc = rc ? rc : model_file_floats(f, second, w + nf, n - nf, err);
    model_file_destroy(&f);
    return rc ? fs_err_prefix(err, rc, "%s: ", path) : 0;
}

struct workload_trainer {
    workload_arch_t arch;
    int batch;
    gan_trainer_t *gan;
    cvae_trainer_t *cvae;
    model_t *first, *second; // borrowed from the trainer
};

workload_trainer_t *workload_trainer_new(const workload_arch_t *arch, int batch, uint64_t seed)
{
    workload_trainer_t *t = xcalloc(1, sizeof *t);
    t->arch = *arch;
    t->batch = batch;
    if (arch->kind == WORKLOAD_DCGAN) {
        gan_train_config_t cfg = gan_train_config_paper();
        cfg.batch = batch;
        cfg.seed = seed;
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
    free(t);
    *self_p = NULL;
}

int workload_trainer_set_data(workload_trainer_t *t, const dataset_t *data, fs_err_t *err)
{
    return t->gan ? gan_trainer_set_data(t->gan, data, err)
                  : cvae_trainer_set_data(t->cvae, data, err);
}

void workload_trainer_load(workload_trainer_t *t, const float *w)
{
    size_t nf = model_param_count(t->first), ns = model_param_count(t->second);
    memcpy(model_params(t->first), w, nf * sizeof(float));
    memcpy(model_params(t->second), w + nf, ns * sizeof(float));
}

void workload_trainer_export(const workload_trainer_t *t, float *w)
{
    size_t nf = model_param_count(t->first), ns = model_param_count(t->second);
    memcpy(w, model_params_const(t->first), nf * sizeof(float));
    memcpy(w + nf, model_params_const(t->second), ns * sizeof(float));
}

void workload_trainer_step(workload_trainer_t *t, workload_stats_t *stats)
{
    if (t->gan) {
        gan_step_stats_t st;
        gan_train_step(t->gan, &st);
        *stats = (workload_stats_t){st.d_loss, st.g_loss};
    } else {
        cvae_step_stats_t st;
        cvae_train_step(t->cvae, &st);
        *stats = (workload_stats_t){st.loss, st.kl};
    }
}

int workload_trainer_batch(const workload_trainer_t *t)
{
    return t->batch;
}

const char *workload_stat_name(const workload_arch_t *arch, int which)
{
    if (arch->kind == WORKLOAD_DCGAN) {
        return which == 0 ? "d_loss" : "g_loss";
    }
    return which == 0 ? "loss" : "kl";
}
