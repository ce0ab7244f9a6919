/* workload.c - every model kind behind one interface (see workload.h), by
 * the kinds' table (model_kind.h). */
#include "node/train/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/nn/model_file.h"
#include "node/train/checkpoint.h"
#include "node/train/gan_train.h"
#include "node/train/model_kind.h"

// Floats after the networks (model_kind.h: NULL extra means none).
static size_t s_extra(const model_kind_t *k, const workload_arch_t *arch, size_t n_first)
{
    return k->extra ? k->extra(arch, n_first) : 0;
}

int workload_parse(const char *spec, workload_arch_t *arch, fs_err_t *err)
{
    return model_kind_parse(spec, arch, err);
}

void workload_sizes(const workload_arch_t *arch, size_t *n_first, size_t *n_total)
{
    const model_kind_t *k = model_kind_of(arch);
    model_t *f, *s;
    k->networks(arch, 0, 0, &f, &s); // shape-only models (model.h)
    *n_first = model_param_count(f);
    *n_total = *n_first + (s ? model_param_count(s) : 0) + s_extra(k, arch, *n_first);
    model_destroy(&f);
    model_destroy(&s);
}

float *workload_initial(const workload_arch_t *arch, uint64_t seed, size_t *n)
{
    const model_kind_t *k = model_kind_of(arch);
    model_t *f, *s;
    k->networks(arch, 1, seed, &f, &s);
    size_t nf = model_param_count(f), ns = s ? model_param_count(s) : 0;
    size_t ne = s_extra(k, arch, nf);
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

int workload_save(const char *path, const workload_arch_t *arch, const float *w,
                  const char *dataset, const char *extra, fs_err_t *err)
{
    const model_kind_t *k = model_kind_of(arch);
    size_t nf, n;
    workload_sizes(arch, &nf, &n);
    char meta[512];
    int len = k->meta(arch, dataset, extra, meta, sizeof meta);
    const size_t ne = s_extra(k, arch, nf);
    model_section_t s[4] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        {"", SECTION_FLOATS, w, nf * sizeof(float)},
        {"", SECTION_FLOATS, w + nf, (n - nf - ne) * sizeof(float)},
        {CHECKPOINT_EMA_SECTION, SECTION_FLOATS, w + n - ne, ne * sizeof(float)},
    };
    snprintf(s[1].name, sizeof s[1].name, "%s", k->sections[0]);
    if (k->sections[1]) {
        snprintf(s[2].name, sizeof s[2].name, "%s", k->sections[1]);
    }
    return model_file_save(path, s, ne ? 4 : k->sections[1] ? 3 : 2, err);
}

int workload_load(const char *path, const workload_arch_t *arch, float *w, fs_err_t *err)
{
    const model_kind_t *k = model_kind_of(arch);
    size_t nf, n;
    workload_sizes(arch, &nf, &n);
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    const size_t ne = s_extra(k, arch, nf);
    int rc = model_file_floats(f, k->sections[0], w, nf, err);
    if (k->sections[1]) {
        rc = rc ? rc : model_file_floats(f, k->sections[1], w + nf, n - nf - ne, err);
    }
    if (ne) {
        rc = rc ? rc : model_file_floats(f, CHECKPOINT_EMA_SECTION, w + n - ne, ne, err);
    }
    model_file_destroy(&f);
    return rc ? fs_err_prefix(err, rc, "%s: ", path) : 0;
}

struct workload_trainer {
    const model_kind_t *kind;
    int batch;
    void *impl;              // the kind's trainer
    model_t *first, *second; // borrowed (second is NULL for a kind of one network)
};

static float *s_trainer_extra(const workload_trainer_t *t)
{
    return t->kind->trainer_extra ? t->kind->trainer_extra(t->impl) : NULL;
}

workload_trainer_t *workload_trainer_new(const workload_arch_t *arch, int batch, uint64_t seed)
{
    workload_trainer_t *t = xcalloc(1, sizeof *t);
    t->kind = model_kind_of(arch);
    t->batch = batch;
    t->impl = t->kind->trainer_new(arch, batch, seed);
    t->first = t->kind->trainer_network(t->impl, 0);
    t->second = t->kind->trainer_network(t->impl, 1);
    return t;
}

void workload_trainer_destroy(workload_trainer_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    workload_trainer_t *t = *self_p;
    t->kind->trainer_destroy(t->impl);
    free(t);
    *self_p = NULL;
}

int workload_trainer_set_data(workload_trainer_t *t, const dataset_t *data, fs_err_t *err)
{
    return t->kind->trainer_set_data(t->impl, data, err);
}

void workload_trainer_load(workload_trainer_t *t, const float *w)
{
    size_t nf = model_param_count(t->first), ns = t->second ? model_param_count(t->second) : 0;
    memcpy(model_params(t->first), w, nf * sizeof(float));
    if (t->second) {
        memcpy(model_params(t->second), w + nf, ns * sizeof(float));
    }
    float *extra = s_trainer_extra(t);
    if (extra) {
        memcpy(extra, w + nf + ns, nf * sizeof(float));
    }
}

void workload_trainer_export(const workload_trainer_t *t, float *w)
{
    size_t nf = model_param_count(t->first), ns = t->second ? model_param_count(t->second) : 0;
    memcpy(w, model_params_const(t->first), nf * sizeof(float));
    if (t->second) {
        memcpy(w + nf, model_params_const(t->second), ns * sizeof(float));
    }
    const float *extra = s_trainer_extra(t);
    if (extra) {
        memcpy(w + nf + ns, extra, nf * sizeof(float));
    }
}

void workload_trainer_step(workload_trainer_t *t, workload_stats_t *stats)
{
    t->kind->trainer_step(t->impl, stats);
}

int workload_trainer_schedule(workload_trainer_t *t, const workload_schedule_t *s,
                              fs_err_t *err)
{
    if (!t->kind->trainer_schedule) {
        return fs_err_set(err, FS_EINVAL, "a %s has no training schedule", t->kind->display);
    }
    t->kind->trainer_schedule(t->impl, s);
    return 0;
}

int workload_trainer_public_labels(workload_trainer_t *t, const uint8_t *labels, int n,
                                   fs_err_t *err)
{
    if (!t->kind->trainer_public_labels) {
        return fs_err_set(err, FS_EINVAL, "a %s has no labels to choose", t->kind->display);
    }
    t->kind->trainer_public_labels(t->impl, labels, n);
    return 0;
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
    cfg.hinge = arch->gan_hinge;
    cfg.mode_seeking = arch->gan_mode_seeking;
    cfg.aux_g = arch->gan_aux_g;
    cfg.real_target = arch->gan_real_target;
    cfg.dp_clip = arch->gan_dp_clip;
    cfg.dp_sigma = arch->gan_dp_sigma;
    cfg.dp_q = arch->gan_dp_q;
    cfg.d_steps = arch->gan_d_steps;
    cfg.aux_own_labels = arch->gan_aux_own_labels;
    return cfg;
}

int workload_trainer_batch(const workload_trainer_t *t)
{
    return t->batch;
}

const char *workload_kind_name(const workload_arch_t *arch)
{
    return model_kind_of(arch)->display;
}

const char *workload_stat_name(const workload_arch_t *arch, int which)
{
    return model_kind_of(arch)->stat_names[which != 0];
}
