/* checkpoint.c - GAN and classifier files over model_file (see checkpoint.h). */
#include "node/train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/models/classifier.h"
#include "node/nn/model_file.h"

static model_section_t s_floats(const char *name, model_t *m)
{
    model_section_t s = {{0}, SECTION_FLOATS, model_params(m), model_param_count(m) * 4};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

int checkpoint_save_gan(const char *path, gan_trainer_t *t, int epoch, const char *dataset,
                        fs_err_t *err)
{
    const dcgan_config_t *a = gan_trainer_arch(t);
    char meta[256];
    int len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d epoch=%d "
                       "dataset=%s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w, epoch,
                       dataset ? dataset : "unknown");
    model_section_t s[3] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        s_floats("generator", gan_trainer_generator(t)),
        s_floats("discriminator", gan_trainer_discriminator(t)),
    };
    return model_file_save(path, s, 3, err);
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

int checkpoint_load_gan(const char *path, gan_trainer_t *t, int *epoch_out, fs_err_t *err)
{
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    model_t *g = gan_trainer_generator(t), *d = gan_trainer_discriminator(t);
    int rc = model_file_floats(f, "generator", model_params(g), model_param_count(g), err);
    rc = rc ? rc
            : model_file_floats(f, "discriminator", model_params(d), model_param_count(d),
                                err);
    if (rc == 0 && epoch_out) {
        rc = s_meta_int(f, path, "epoch", epoch_out, err);
    }
    if (rc) {
        fs_err_prefix(err, rc, "%s: ", path);
    }
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
