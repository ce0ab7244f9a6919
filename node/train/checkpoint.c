/* checkpoint.c - GAN and classifier files over model_file (see checkpoint.h). */
#include "node/train/checkpoint.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/floats.h"
#include "node/base/mem.h"
#include "node/models/classifier.h"
#include "node/nn/model_file.h"

static model_section_t s_floats(const char *name, model_t *m)
{
    model_section_t s = {{0}, SECTION_FLOATS, model_params(m), model_param_count(m) * 4};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

static model_section_t s_vector(const char *name, const float *v, size_t n)
{
    model_section_t s = {{0}, SECTION_FLOATS, v, n * 4};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

// iter < 0: the weights alone; otherwise the trainer's state too
static int s_save_gan(const char *path, gan_trainer_t *t, int epoch, int iter,
                      const char *dataset, fs_err_t *err)
{
    const dcgan_config_t *a = gan_trainer_arch(t);
    char meta[256];
    int len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d epoch=%d "
                       "dataset=%s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, epoch,
                       dataset ? dataset : "unknown");
    model_section_t s[8] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("generator", gan_trainer_generator(t)),
        s_floats("discriminator", gan_trainer_discriminator(t)),
    };
    if (iter < 0) {
        return model_file_save(path, s, 3, err);
    }
    adam_t *ag = gan_trainer_adam_g(t), *ad = gan_trainer_adam_d(t);
    const dataset_order_t *o = gan_trainer_order(t);
    char rng[RNG_TEXT_BYTES], drop_g[RNG_TEXT_BYTES], drop_d[RNG_TEXT_BYTES],
        from[RNG_TEXT_BYTES], state[640];
    rng_to_text(gan_trainer_rng(t), rng);
    rng_to_text(model_dropout_rng(gan_trainer_generator(t)), drop_g);
    rng_to_text(model_dropout_rng(gan_trainer_discriminator(t)), drop_d);
    rng_to_text(&o->drawn_from, from);
    int slen = snprintf(state, sizeof state,
                        "iter=%d adam_steps_g=%ld adam_steps_d=%ld rng=%s dropout_g=%s "
                        "dropout_d=%s order_n=%d order_cursor=%d order_from=%s\n",
                        iter, ag->t, ad->t, rng, drop_g, drop_d, o->n, o->cursor, from);
    s[3] = (model_section_t){"trainer", SECTION_TEXT, state, (size_t)slen};
    s[4] = s_vector("adam_g_m", ag->m, ag->n);
    s[5] = s_vector("adam_g_v", ag->v, ag->n);
    s[6] = s_vector("adam_d_m", ad->m, ad->n);
    s[7] = s_vector("adam_d_v", ad->v, ad->n);
    return model_file_save(path, s, 8, err);
}

int checkpoint_save_gan(const char *path, gan_trainer_t *t, int epoch, const char *dataset,
                        fs_err_t *err)
{
    return s_save_gan(path, t, epoch, -1, dataset, err);
}

int checkpoint_save_gan_state(const char *path, gan_trainer_t *t, int epoch, int iter,
                              const char *dataset, fs_err_t *err)
{
    assert(iter >= 0);
    return s_save_gan(path, t, epoch, iter, dataset, err);
}

static int s_meta_int(const model_file_t *f, const char *path, const char *key, int *out,
                      fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", key, v, sizeof v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no '%s'", path, key);
    }
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 20) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta '%s=%s' is not a valid count", path,
                          key, v);
    }
    *out = (int)x;
    return 0;
}

static int s_read_arch(const model_file_t *f, const char *path, dcgan_config_t *a,
                       fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "dcgan") != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: not a DCGAN checkpoint (meta arch=%s)", path,
                          model_file_meta(f, "meta", "arch", v, sizeof v) ? "?" : v);
    }
    int rc = s_meta_int(f, path, "latent", &a->latent, err);
    rc = rc ? rc : s_meta_int(f, path, "g_width", &a->g_width, err);
    rc = rc ? rc : s_meta_int(f, path, "d_width", &a->d_width, err);
    if (rc) {
        return rc;
    }
    if (model_file_meta(f, "meta", "img", v, sizeof v) != 0 ||
        sscanf(v, "%dx%dx%d", &a->img_c, &a->img_h, &a->img_w) != 3 || a->img_c < 1 ||
        a->img_h < 4 || a->img_w < 4 || a->img_h % 4 || a->img_w % 4 || a->latent < 1 ||
        a->g_width < 1 || a->d_width < 1 || a->img_h > 1024 || a->img_w > 1024) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no valid architecture", path);
    }
    return 0;
}

int checkpoint_read_arch(const char *path, dcgan_config_t *arch, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_arch(f, path, arch, err);
    model_file_destroy(&f);
    return rc;
}

int checkpoint_load_generator(const char *path, int max_batch, dcgan_config_t *arch_out,
                              model_t **g_out, fs_err_t *err)
{
    *g_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_arch(f, path, arch_out, err);
    if (rc == 0) {
        model_t *g = dcgan_generator_new(arch_out, max_batch, 0);
        rc = model_file_floats(f, "generator", model_params(g), model_param_count(g), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&g);
        }
        *g_out = g;
    }
    model_file_destroy(&f);
    return rc;
}

// Both networks' weights into t; a message names the file.
static int s_load_gan_weights(const model_file_t *f, const char *path, gan_trainer_t *t,
                              fs_err_t *err)
{
    model_t *g = gan_trainer_generator(t), *d = gan_trainer_discriminator(t);
    int rc = model_file_floats(f, "generator", model_params(g), model_param_count(g), err);
    rc = rc ? rc
            : model_file_floats(f, "discriminator", model_params(d), model_param_count(d),
                                err);
    return rc ? fs_err_prefix(err, rc, "%s: ", path) : 0;
}

int checkpoint_load_gan(const char *path, gan_trainer_t *t, int *epoch_out, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_load_gan_weights(f, path, t, err);
    if (rc == 0 && epoch_out) {
        rc = s_meta_int(f, path, "epoch", epoch_out, err);
    }
    model_file_destroy(&f);
    return rc;
}

static int s_state_long(const model_file_t *f, const char *path, const char *key, long lo,
                        long hi, long *out, fs_err_t *err)
{
    char v[64], *end;
    if (model_file_meta(f, "trainer", key, v, sizeof v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state has no '%s'", path, key);
    }
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s=%s' is out of range", path,
                          key, v);
    }
    *out = x;
    return 0;
}

static int s_state_rng(const model_file_t *f, const char *path, const char *key, rng_t *out,
                       fs_err_t *err)
{
    char v[RNG_TEXT_BYTES + 8];
    if (model_file_meta(f, "trainer", key, v, sizeof v) != 0 || rng_from_text(out, v) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s' is missing or malformed",
                          path, key);
    }
    return 0;
}

static int s_state_moments(const model_file_t *f, const char *path, const char *name,
                           float *dst, size_t n, fs_err_t *err)
{
    int rc = model_file_floats(f, name, dst, n, err);
    if (rc) {
        return fs_err_prefix(err, rc, "%s: trainer state: ", path);
    }
    size_t bad = floats_first_nonfinite(dst, n);
    if (bad < n) {
        return fs_err_set(err, FS_ECORRUPT, "%s: trainer state '%s' holds a NaN or Inf at %zu",
                          path, name, bad);
    }
    return 0;
}

int checkpoint_resume_gan(const char *path, gan_trainer_t *t, checkpoint_resume_t *out,
                          fs_err_t *err)
{
    *out = (checkpoint_resume_t){0, 0, false, false};
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    model_t *g = gan_trainer_generator(t), *d = gan_trainer_discriminator(t);
    int rc = s_load_gan_weights(f, path, t, err);
    rc = rc ? rc : s_meta_int(f, path, "epoch", &out->epoch, err);
    if (rc || !model_file_text(f, "trainer")) {
        model_file_destroy(&f);
        return rc;
    }
    // the state is parsed whole before any of it is applied, so a bad state
    // section leaves the optimisers and generators as they were (the
    // weights are loaded already: a caller stops on any error)
    adam_t *ag = gan_trainer_adam_g(t), *ad = gan_trainer_adam_d(t);
    dataset_order_t *o = gan_trainer_order(t);
    long iter = 0, steps_g = 0, steps_d = 0, order_n = 0, cursor = 0;
    rng_t rng, drop_g, drop_d, from;
    rc = s_state_long(f, path, "iter", 0, 1L << 30, &iter, err);
    rc = rc ? rc : s_state_long(f, path, "adam_steps_g", 0, 1L << 40, &steps_g, err);
    rc = rc ? rc : s_state_long(f, path, "adam_steps_d", 0, 1L << 40, &steps_d, err);
    rc = rc ? rc : s_state_long(f, path, "order_n", 1, 1L << 30, &order_n, err);
    rc = rc ? rc : s_state_long(f, path, "order_cursor", 0, order_n, &cursor, err);
    rc = rc ? rc : s_state_rng(f, path, "rng", &rng, err);
    rc = rc ? rc : s_state_rng(f, path, "dropout_g", &drop_g, err);
    rc = rc ? rc : s_state_rng(f, path, "dropout_d", &drop_d, err);
    rc = rc ? rc : s_state_rng(f, path, "order_from", &from, err);
    float *m_g = NULL, *v_g = NULL, *m_d = NULL, *v_d = NULL;
    if (rc == 0) {
        m_g = xfloats(ag->n);
        v_g = xfloats(ag->n);
        m_d = xfloats(ad->n);
        v_d = xfloats(ad->n);
        rc = s_state_moments(f, path, "adam_g_m", m_g, ag->n, err);
        rc = rc ? rc : s_state_moments(f, path, "adam_g_v", v_g, ag->n, err);
        rc = rc ? rc : s_state_moments(f, path, "adam_d_m", m_d, ad->n, err);
        rc = rc ? rc : s_state_moments(f, path, "adam_d_v", v_d, ad->n, err);
    }
    if (rc == 0) {
        memcpy(ag->m, m_g, sizeof(float) * ag->n);
        memcpy(ag->v, v_g, sizeof(float) * ag->n);
        memcpy(ad->m, m_d, sizeof(float) * ad->n);
        memcpy(ad->v, v_d, sizeof(float) * ad->n);
        ag->t = steps_g;
        ad->t = steps_d;
        *gan_trainer_rng(t) = rng;
        *model_dropout_rng(g) = drop_g;
        *model_dropout_rng(d) = drop_d;
        if (order_n == o->n) {
            dataset_order_restore(o, (int)order_n, &from, (int)cursor);
        } else {
            out->fresh_order = true;
        }
        out->iter = (int)iter;
        out->exact = true;
    }
    free(m_g);
    free(v_g);
    free(m_d);
    free(v_d);
    model_file_destroy(&f);
    return rc;
}

int checkpoint_save_cvae(const char *path, cvae_trainer_t *t, int epoch, const char *dataset,
                         fs_err_t *err)
{
    const cvae_config_t *a = cvae_trainer_arch(t);
    char meta[256];
    int len = snprintf(meta, sizeof meta,
                       "arch=cvae hidden=%d latent=%d classes=%d img=%dx%dx%d epoch=%d "
                       "dataset=%s\n",
                       a->hidden, a->latent, a->classes, a->img_c, a->img_h, a->img_w, epoch,
                       dataset ? dataset : "unknown");
    model_section_t s[3] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("encoder", cvae_trainer_encoder(t)),
        s_floats("decoder", cvae_trainer_decoder(t)),
    };
    return model_file_save(path, s, 3, err);
}

static int s_read_cvae_arch(const model_file_t *f, const char *path, cvae_config_t *a,
                            fs_err_t *err)
{
    char v[64];
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "cvae") != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: not a CVAE file (meta arch=%s)", path,
                          model_file_meta(f, "meta", "arch", v, sizeof v) ? "?" : v);
    }
    int rc = s_meta_int(f, path, "hidden", &a->hidden, err);
    rc = rc ? rc : s_meta_int(f, path, "latent", &a->latent, err);
    rc = rc ? rc : s_meta_int(f, path, "classes", &a->classes, err);
    if (rc) {
        return rc;
    }
    if (model_file_meta(f, "meta", "img", v, sizeof v) != 0 ||
        sscanf(v, "%dx%dx%d", &a->img_c, &a->img_h, &a->img_w) != 3 || a->img_c < 1 ||
        a->img_h < 1 || a->img_w < 1 || a->img_h > 1024 || a->img_w > 1024 || a->hidden < 1 ||
        a->latent < 1 || a->classes < 2 || a->classes > 256) {
        return fs_err_set(err, FS_ECORRUPT, "%s: meta has no valid CVAE architecture", path);
    }
    return 0;
}

int checkpoint_load_cvae_decoder(const char *path, int max_batch, cvae_config_t *arch_out,
                                 model_t **dec_out, fs_err_t *err)
{
    *dec_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = s_read_cvae_arch(f, path, arch_out, err);
    if (rc == 0) {
        model_t *d = cvae_decoder_new(arch_out, max_batch, 0);
        rc = model_file_floats(f, "decoder", model_params(d), model_param_count(d), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&d);
        }
        *dec_out = d;
    }
    model_file_destroy(&f);
    return rc;
}

int checkpoint_load_cvae(const char *path, cvae_trainer_t *t, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    model_t *e = cvae_trainer_encoder(t), *d = cvae_trainer_decoder(t);
    int rc = model_file_floats(f, "encoder", model_params(e), model_param_count(e), err);
    rc = rc ? rc : model_file_floats(f, "decoder", model_params(d), model_param_count(d), err);
    if (rc) {
        fs_err_prefix(err, rc, "%s: ", path);
    }
    model_file_destroy(&f);
    return rc;
}

int checkpoint_kind(const char *path, char *out, size_t out_bytes, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = 0;
    if (model_file_meta(f, "meta", "arch", out, out_bytes) != 0) {
        rc = fs_err_set(err, FS_ECORRUPT, "%s: meta has no 'arch'", path);
    }
    model_file_destroy(&f);
    return rc;
}

int checkpoint_save_classifier(const char *path, model_t *c, const char *dataset,
                               double test_accuracy, fs_err_t *err)
{
    char meta[160];
    int len = snprintf(meta, sizeof meta, "arch=classifier img=1x28x28 dataset=%s "
                       "test_accuracy=%.4f\n", dataset, test_accuracy);
    model_section_t s[2] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("classifier", c),
    };
    return model_file_save(path, s, 2, err);
}

int checkpoint_load_classifier(const char *path, int max_batch, model_t **c_out,
                               char *dataset_out, size_t dataset_bytes, fs_err_t *err)
{
    *c_out = NULL;
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    char v[64];
    int rc = 0;
    if (model_file_meta(f, "meta", "arch", v, sizeof v) != 0 || strcmp(v, "classifier")) {
        rc = fs_err_set(err, FS_EINVAL, "%s: not an evaluator file (no arch=classifier)", path);
    }
    if (rc == 0) {
        model_t *c = classifier_new(1, 28, 28, max_batch, 0);
        rc = model_file_floats(f, "classifier", model_params(c), model_param_count(c), err);
        if (rc) {
            fs_err_prefix(err, rc, "%s: ", path);
            model_destroy(&c);
        }
        *c_out = c;
        if (dataset_out &&
            model_file_meta(f, "meta", "dataset", dataset_out, dataset_bytes) != 0) {
            snprintf(dataset_out, dataset_bytes, "unknown");
        }
    }
    model_file_destroy(&f);
    return rc;
}
