/* global.c - the global model vector, its initial value and its file. */
#include "node/fed/global.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"
#include "node/base/mem.h"
#include "node/nn/model_file.h"

int global_arch(const char *model, dcgan_config_t *arch, fs_err_t *err)
{
    char *end;
    if (strncmp(model, "dcgan:", 6) != 0) {
        return fs_err_set(err, FS_EINVAL, "model '%s': this node trains dcgan:WIDTH", model);
    }
    long w = strtol(model + 6, &end, 10);
    if (*end || w < 2 || w > 1024 || w % 2) {
        return fs_err_set(err, FS_EINVAL, "model '%s': width must be even, 2 to 1024", model);
    }
    *arch = dcgan_config_width((int)w);
    return 0;
}

void global_sizes(const dcgan_config_t *arch, size_t *n_generator, size_t *n_total)
{
    model_t *g = dcgan_generator_new(arch, 1, 1);
    model_t *d = dcgan_discriminator_new(arch, 1, 2);
    *n_generator = model_param_count(g);
    *n_total = *n_generator + model_param_count(d);
    model_destroy(&g);
    model_destroy(&d);
}

float *global_initial(const dcgan_config_t *arch, uint64_t seed, size_t *n)
{
    model_t *g = dcgan_generator_new(arch, 1, seed * 2 + 1);
    model_t *d = dcgan_discriminator_new(arch, 1, seed * 2 + 2);
    size_t ng = model_param_count(g), nd = model_param_count(d);
    float *w = xmalloc((ng + nd) * sizeof(float));
    memcpy(w, model_params(g), ng * sizeof(float));
    memcpy(w + ng, model_params(d), nd * sizeof(float));
    model_destroy(&g);
    model_destroy(&d);
    *n = ng + nd;
    return w;
}

int global_save(const char *path, const dcgan_config_t *a, const float *w, uint64_t height,
                const uint8_t hash[32], const char *dataset, fs_err_t *err)
{
    size_t ng, n;
    global_sizes(a, &ng, &n);
    char meta[400], hex[65];
    bytes_to_hex(hash, 32, hex);
    int len = snprintf(meta, sizeof meta,
                       "arch=dcgan latent=%d g_width=%d d_width=%d img=%dx%dx%d epoch=%llu "
                       "dataset=%s source=federation height=%llu model_hash=%s\n",
                       a->latent, a->g_width, a->d_width, a->img_c, a->img_h, a->img_w,
                       (unsigned long long)height, dataset, (unsigned long long)height, hex);
    model_section_t s[3] = {
        {"meta", SECTION_TEXT, meta, (size_t)len},
        {"generator", SECTION_FLOATS, w, ng * sizeof(float)},
        {"discriminator", SECTION_FLOATS, w + ng, (n - ng) * sizeof(float)},
    };
    return model_file_save(path, s, 3, err);
}

int global_load(const char *path, const dcgan_config_t *arch, float *w, const uint8_t hash[32],
                fs_err_t *err)
{
    size_t ng, n;
    global_sizes(arch, &ng, &n);
    model_file_t *f = model_file_load(path, err);
    if (!f) {
        return err ? err->code : FS_ECORRUPT;
    }
    int rc = model_file_floats(f, "generator", w, ng, err);
    rc = rc ? rc : model_file_floats(f, "discriminator", w + ng, n - ng, err);
    model_file_destroy(&f);
    if (rc) {
        return fs_err_prefix(err, rc, "%s: ", path);
    }
    uint8_t h[32];
    hash_model(w, n, h);
    if (memcmp(h, hash, 32) != 0) {
        return fs_err_set(err, FS_EVERIFY, "%s: holds another model than the ledger's head "
                          "(it will be fetched from a peer)", path);
    }
    return 0;
}
