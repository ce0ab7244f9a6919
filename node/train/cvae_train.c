/* cvae_train.c - the CVAE step (see cvae_train.h). */
#include "node/train/cvae_train.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/nn/loss.h"

struct cvae_trainer {
    cvae_config_t arch;
    cvae_train_config_t cfg;
    model_t *enc, *dec;
    adam_t *adam_enc, *adam_dec;
    rng_t rng;
    float *enc_in;   // batch x (image + classes)
    float *dec_in;   // batch x (Z + classes)
    float *mu, *lv;  // batch x Z each
    float *g_mu, *g_lv;
    float *eps;      // batch x Z
    float *x;        // batch x image (the step's examples)
    uint8_t *y;      // batch labels
    const dataset_t *data;
    dataset_order_t order;
};

cvae_train_config_t cvae_train_config_default(void)
{
    return (cvae_train_config_t){.batch = 64, .lr = 1e-3f, .seed = 1};
}

cvae_trainer_t *cvae_trainer_new(const cvae_config_t *arch, const cvae_train_config_t *cfg)
{
    assert(cfg->batch >= 1);
    cvae_trainer_t *t = xcalloc(1, sizeof *t);
    t->arch = *arch;
    t->cfg = *cfg;
    t->enc = cvae_encoder_new(arch, cfg->batch, cfg->seed * 2 + 1);
    t->dec = cvae_decoder_new(arch, cfg->batch, cfg->seed * 2 + 2);
    t->adam_enc = adam_new(model_param_count(t->enc), cfg->lr, 0.9f, 0.999f, 1e-7f);
    t->adam_dec = adam_new(model_param_count(t->dec), cfg->lr, 0.9f, 0.999f, 1e-7f);
    rng_seed(&t->rng, cfg->seed ^ 0xc7ae5u);
    const size_t b = (size_t)cfg->batch, img = (size_t)cvae_image_size(arch);
    const size_t z = (size_t)arch->latent, k = (size_t)arch->classes;
    t->enc_in = xfloats(b * (img + k));
    t->dec_in = xfloats(b * (z + k));
    t->mu = xfloats(b * z);
    t->lv = xfloats(b * z);
    t->g_mu = xfloats(b * z);
    t->g_lv = xfloats(b * z);
    t->eps = xfloats(b * z);
    t->x = xfloats(b * img);
    t->y = xmalloc(b);
    return t;
}

void cvae_trainer_destroy(cvae_trainer_t **self_p)
{
    assert(self_p);
    cvae_trainer_t *t = *self_p;
    if (!t) {
        return;
    }
    model_destroy(&t->enc);
    model_destroy(&t->dec);
    adam_destroy(&t->adam_enc);
    adam_destroy(&t->adam_dec);
    free(t->enc_in);
    free(t->dec_in);
    free(t->mu);
    free(t->lv);
    free(t->g_mu);
    free(t->g_lv);
    free(t->eps);
    free(t->x);
    free(t->y);
    dataset_order_free(&t->order);
    free(t);
    *self_p = NULL;
}

int cvae_trainer_set_data(cvae_trainer_t *t, const dataset_t *data, fs_err_t *err)
{
    if (data->c != t->arch.img_c || data->h != t->arch.img_h || data->w != t->arch.img_w) {
        return fs_err_set(err, FS_EINVAL,
                          "data images are %dx%dx%d but the CVAE expects %dx%dx%d", data->c,
                          data->h, data->w, t->arch.img_c, t->arch.img_h, t->arch.img_w);
    }
    if (!data->y) {
        return fs_err_set(err, FS_EINVAL, "the CVAE needs labelled data");
    }
    if (data->n < 1) {
        return fs_err_set(err, FS_EINVAL, "data set is empty");
    }
    dataset_order_reset(&t->order, data->n, &t->rng);
    t->data = data;
    return 0;
}

// Writes row i of a concatenated input: src (m floats) then onehot(label).
static void s_concat_onehot(float *row, const float *src, int m, int label, int classes)
{
    memcpy(row, src, sizeof(float) * (size_t)m);
    memset(row + m, 0, sizeof(float) * (size_t)classes);
    row[m + label] = 1.0f;
}

double cvae_loss_grad(cvae_trainer_t *t, const float *x, const uint8_t *y, int n,
                      const float *eps, cvae_step_stats_t *stats)
{
    assert(n >= 1 && n <= t->cfg.batch);
    const int img = cvae_image_size(&t->arch), z = t->arch.latent, k = t->arch.classes;
    for (int i = 0; i < n; i++) {
        assert(y[i] < k);
        s_concat_onehot(t->enc_in + (size_t)i * (img + k), x + (size_t)i * img, img, y[i], k);
    }
    const float *h = model_forward(t->enc, t->enc_in, n, true);
    for (int i = 0; i < n; i++) {
        memcpy(t->mu + (size_t)i * z, h + (size_t)i * 2 * z, sizeof(float) * (size_t)z);
        memcpy(t->lv + (size_t)i * z, h + (size_t)i * 2 * z + z, sizeof(float) * (size_t)z);
    }
    // z = mu + exp(lv / 2) eps, written straight into the decoder's input
    for (int i = 0; i < n; i++) {
        float *row = t->dec_in + (size_t)i * (z + k);
        for (int j = 0; j < z; j++) {
            size_t q = (size_t)i * z + j;
            row[j] = t->mu[q] + expf(0.5f * t->lv[q]) * eps[q];
        }
        memset(row + z, 0, sizeof(float) * (size_t)k);
        row[z + y[i]] = 1.0f;
    }
    const float *logits = model_forward(t->dec, t->dec_in, n, true);
    // Reconstruction: loss_bce_logits averages over the n samples and sums
    // over the img pixels of each, which is the Bernoulli NLL per example.
    double recon = loss_bce_logits(logits, x, n, img, model_output_grad(t->dec));
    double kl = loss_kl_normal(t->mu, t->lv, n, z, t->g_mu, t->g_lv);
    model_zero_grads(t->dec);
    const float *g_in = model_backward(t->dec, true);
    // dL/dmu = dL/dz + dKL/dmu; dL/dlv = dL/dz * eps * exp(lv / 2) / 2 + dKL/dlv
    float *g_h = model_output_grad(t->enc);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < z; j++) {
            size_t q = (size_t)i * z + j;
            float gz = g_in[(size_t)i * (z + k) + j];
            g_h[(size_t)i * 2 * z + j] = gz + t->g_mu[q];
            g_h[(size_t)i * 2 * z + z + j] =
                gz * eps[q] * 0.5f * expf(0.5f * t->lv[q]) + t->g_lv[q];
        }
    }
    model_zero_grads(t->enc);
    model_backward(t->enc, false);
    if (stats) {
        *stats = (cvae_step_stats_t){.loss = recon + kl, .recon = recon, .kl = kl};
    }
    return recon + kl;
}

void cvae_train_step(cvae_trainer_t *t, cvae_step_stats_t *stats)
{
    assert(t->data && "cvae_trainer_set_data first");
    const int b = t->cfg.batch;
    const size_t img = dataset_image_size(t->data);
    for (int i = 0; i < b; i++) {
        uint32_t idx = dataset_order_next(&t->order, &t->rng);
        memcpy(t->x + (size_t)i * img, t->data->x + (size_t)idx * img, sizeof(float) * img);
        t->y[i] = t->data->y[idx];
    }
    rng_normal_floats(&t->rng, t->eps, (size_t)b * t->arch.latent);
    cvae_loss_grad(t, t->x, t->y, b, t->eps, stats);
    adam_step(t->adam_enc, model_params(t->enc), model_grads(t->enc));
    adam_step(t->adam_dec, model_params(t->dec), model_grads(t->dec));
}

static void s_decode_rows(model_t *dec, const cvae_config_t *arch, const uint8_t *y, int n,
                          float *in_buf, float *out)
{
    const int z = arch->latent, k = arch->classes, img = cvae_image_size(arch);
    for (int i = 0; i < n; i++) {
        float *row = in_buf + (size_t)i * (z + k);
        memset(row + z, 0, sizeof(float) * (size_t)k);
        row[z + y[i]] = 1.0f;
    }
    const float *logits = model_forward(dec, in_buf, n, false);
    for (size_t i = 0; i < (size_t)n * img; i++) {
        out[i] = 1.0f / (1.0f + expf(-logits[i]));
    }
}

void cvae_generate(model_t *dec, const cvae_config_t *arch, const uint8_t *y, int n, rng_t *rng,
                   float *in_buf, float *out)
{
    const int z = arch->latent, k = arch->classes;
    for (int i = 0; i < n; i++) {
        rng_normal_floats(rng, in_buf + (size_t)i * (z + k), (size_t)z);
    }
    s_decode_rows(dec, arch, y, n, in_buf, out);
}

void cvae_decode(model_t *dec, const cvae_config_t *arch, const float *z, const uint8_t *y, int n,
                 float *in_buf, float *out)
{
    const int zd = arch->latent, k = arch->classes;
    for (int i = 0; i < n; i++) {
        memcpy(in_buf + (size_t)i * (zd + k), z + (size_t)i * zd, sizeof(float) * (size_t)zd);
    }
    s_decode_rows(dec, arch, y, n, in_buf, out);
}

model_t *cvae_trainer_encoder(cvae_trainer_t *t) { return t->enc; }
model_t *cvae_trainer_decoder(cvae_trainer_t *t) { return t->dec; }
const cvae_config_t *cvae_trainer_arch(const cvae_trainer_t *t) { return &t->arch; }
adam_t *cvae_trainer_adam_enc(cvae_trainer_t *t) { return t->adam_enc; }
adam_t *cvae_trainer_adam_dec(cvae_trainer_t *t) { return t->adam_dec; }
rng_t *cvae_trainer_rng(cvae_trainer_t *t) { return &t->rng; }
dataset_order_t *cvae_trainer_order(cvae_trainer_t *t) { return &t->order; }

void cvae_trainer_reset_optimiser(cvae_trainer_t *t)
{
    adam_reset(t->adam_enc);
    adam_reset(t->adam_dec);
}
