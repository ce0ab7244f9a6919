/* dcgan.c - which layers make the FedSyn GAN (see dcgan.h); no kernels. */
#include "node/models/dcgan.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define LEAKY_SLOPE 0.2f

dcgan_config_t dcgan_config_paper(void)
{
    return (dcgan_config_t){DCGAN_LATENT, DCGAN_G_WIDTH, DCGAN_D_WIDTH, 1, 28, 28, 0,
                            DCGAN_D_DROPOUT, 0, 0, 0, 0, 0};
}

dcgan_config_t dcgan_config_width(int w)
{
    assert(w >= 2);
    dcgan_config_t c = dcgan_config_paper();
    c.g_width = w;
    c.d_width = w / 2;
    return c;
}

void dcgan_pack_latent(const dcgan_config_t *cfg, const float *z, const uint8_t *labels,
                       int n, float *out)
{
    const size_t zl = (size_t)cfg->latent, k = (size_t)cfg->classes;
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * (zl + k);
        memcpy(o, z + (size_t)i * zl, sizeof(float) * zl);
        if (k) {
            assert(labels[i] < k);
            memset(o + zl, 0, sizeof(float) * k);
            o[zl + labels[i]] = 1.0f;
        }
    }
}

size_t dcgan_d_out_width(const dcgan_config_t *cfg)
{
    return 1 + (size_t)cfg->classes * (cfg->d_twin ? 2 : 1);
}

void dcgan_d_logits(const dcgan_config_t *cfg, const float *out, const uint8_t *labels, int n,
                    float *logits)
{
    const size_t w = dcgan_d_out_width(cfg);
    for (int i = 0; i < n; i++) {
        const float *o = out + (size_t)i * w;
        assert(!cfg->classes || labels[i] < cfg->classes);
        logits[i] = cfg->classes ? o[0] + o[1 + labels[i]] : o[0];
    }
}

void dcgan_d_logits_grad(const dcgan_config_t *cfg, const float *dlogits,
                         const uint8_t *labels, int n, float *dout)
{
    const size_t w = dcgan_d_out_width(cfg);
    memset(dout, 0, sizeof(float) * w * (size_t)n);
    for (int i = 0; i < n; i++) {
        dout[(size_t)i * w] = dlogits[i];
        if (cfg->classes) {
            assert(labels[i] < cfg->classes);
            dout[(size_t)i * w + 1 + labels[i]] = dlogits[i];
        }
    }
}

// Softmax cross-entropy of the K rows from `first` on against the labels,
// over the rows `allowed` marks (NULL: all K; the others get no gradient).
static double s_softmax_ce(const dcgan_config_t *cfg, const float *out, const uint8_t *labels,
                           int n, size_t first, float weight, float *dout,
                           const uint8_t *allowed)
{
    const int k = cfg->classes;
    const size_t w = dcgan_d_out_width(cfg);
    assert(k > 0 && n > 0);
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *z = out + (size_t)i * w + first;
        assert(labels[i] < k && (!allowed || allowed[labels[i]]));
        double top = z[labels[i]], sum = 0;
        for (int j = 0; j < k; j++) {
            if (!allowed || allowed[j]) {
                top = (double)z[j] > top ? (double)z[j] : top;
            }
        }
        for (int j = 0; j < k; j++) {
            sum += !allowed || allowed[j] ? exp((double)z[j] - top) : 0.0;
        }
        total += top + log(sum) - (double)z[labels[i]];
        if (dout) {
            float *d = dout + (size_t)i * w + first;
            for (int j = 0; j < k; j++) {
                if (!allowed || allowed[j]) {
                    double p = exp((double)z[j] - top) / sum - (j == labels[i]);
                    d[j] += (float)((double)weight * p / n);
                }
            }
        }
    }
    return total / n;
}

double dcgan_d_class_loss(const dcgan_config_t *cfg, const float *out, const uint8_t *labels,
                          int n, float weight, float *dout, const uint8_t *allowed)
{
    return s_softmax_ce(cfg, out, labels, n, 1, weight, dout, allowed);
}

double dcgan_d_twin_loss(const dcgan_config_t *cfg, const float *out, const uint8_t *labels,
                         int n, float weight, float *dout)
{
    assert(cfg->d_twin);
    return s_softmax_ce(cfg, out, labels, n, 1 + (size_t)cfg->classes, weight, dout, NULL);
}

model_t *dcgan_generator_new(const dcgan_config_t *cfg, int max_batch, uint64_t seed)
{
    assert(cfg->img_h % 4 == 0 && cfg->img_w % 4 == 0);
    const int w = cfg->g_width, h0 = cfg->img_h / 4, w0 = cfg->img_w / 4;
    model_t *m = model_new("dcgan-generator", cfg->latent + cfg->classes, 1, 1);
    model_dense(m, w * h0 * w0);
    model_leaky_relu(m, LEAKY_SLOPE);
    model_reshape(m, w, h0, w0, LAYOUT_CHANNEL_MAJOR);
    if (cfg->g_pixel_norm) {
        model_pixel_norm(m);
    }
    for (int up = 0; up < 2; up++) { // 7x7 -> 14x14 -> 28x28 for MNIST
        if (cfg->g_upsample) {
            model_upsample(m);
            // the full-size stage at half the channels: at 28 x 28 a 3x3
            // convolution of W channels costs 2.25 times the transposed
            // one's multiply-adds (docs/results.md)
            model_conv2d(m, up == 1 ? (w + 1) / 2 : w, 3, 1, PAD_SAME);
        } else {
            model_conv2d_t(m, w, 4, 2, PAD_SAME);
        }
        model_leaky_relu(m, LEAKY_SLOPE);
        if (cfg->g_pixel_norm) {
            model_pixel_norm(m);
        }
    }
    model_conv2d(m, cfg->img_c, 7, 1, PAD_SAME);
    if (!cfg->g_linear) {
        model_sigmoid(m);
    }
    model_reshape(m, cfg->img_c, cfg->img_h, cfg->img_w, LAYOUT_BATCH_FIRST);
    model_finalize(m, max_batch, seed);
    return m;
}

model_t *dcgan_discriminator_new(const dcgan_config_t *cfg, int max_batch, uint64_t seed)
{
    const int v = cfg->d_width;
    model_t *m = model_new("dcgan-discriminator", cfg->img_c, cfg->img_h, cfg->img_w);
    model_reshape(m, cfg->img_c, cfg->img_h, cfg->img_w, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, v, 3, 2, PAD_SAME);
    model_leaky_relu(m, LEAKY_SLOPE);
    if (cfg->d_dropout > 0) { // without dropout D draws no mask: its stream is unused
        model_dropout(m, cfg->d_dropout);
    }
    model_conv2d(m, v, 3, 2, PAD_SAME);
    model_leaky_relu(m, LEAKY_SLOPE);
    if (cfg->d_dropout > 0) {
        model_dropout(m, cfg->d_dropout);
    }
    layer_t *last = model_layer(m, model_layer_count(m) - 1);
    model_reshape(m, last->out_c, last->out_h, last->out_w, LAYOUT_BATCH_FIRST);
    if (cfg->d_mbstd) {
        model_minibatch_std(m);
    }
    // the score, then (conditional) one row per label, then the twin's
    model_dense(m, (int)dcgan_d_out_width(cfg));
    model_finalize(m, max_batch, seed);
    return m;
}
