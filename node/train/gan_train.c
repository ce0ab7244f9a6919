/* gan_train.c - the DCGAN iteration (see gan_train.h). */
#include "node/train/gan_train.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/floats.h"
#include "node/base/mem.h"
#include "node/nn/loss.h"
#include "node/privacy/dpsgd.h"

struct gan_trainer {
    dcgan_config_t arch;
    gan_train_config_t cfg;
    model_t *g, *d;
    adam_t *adam_g, *adam_d;
    rng_t rng;          // latents, fake labels and shuffles
    float *zr;          // batch x latent: drawn latents
    float *z;           // batch x (latent + classes): the generator's input
    uint8_t *y;         // batch: labels (conditional only)
    float *img;         // batch x image: real half then fake half (D's input)
    float *logits;      // batch: D's logits (dcgan_d_logits of its output)
    float *dlogits;     // batch: the loss's gradient for them
    float *targets;     // batch: 1 then 0 (D step)
    float *ones;        // batch: all 1 (G step)
    float *ema;         // the generator's weight average (cfg.ema > 0), else NULL
    float *ms_grad;     // batch x image: the mode-seeking term's gradient, or NULL
    long ema_steps;     // generator steps averaged into it
    const dataset_t *data;
    dataset_order_t order; // shuffled passes over data
    // DP-SGD (cfg.dp_clip > 0)
    float *dp_sum;         // D's parameters: the clipped per-record gradients' sum
    uint32_t *dp_idx;      // the data's size: this step's Poisson sample
    double dp_q;           // the sampling rate in use
    long dp_steps;         // D steps taken under DP-SGD
    uint8_t dp_labels[DCGAN_MAX_CLASSES]; // the public labels fakes ask for
    int n_dp_labels;
    uint8_t own_labels[DCGAN_MAX_CLASSES]; // cfg.aux_own_labels: 1 for each
                                           // label the data holds
};

gan_train_config_t gan_train_config_paper(void)
{
    return (gan_train_config_t){256, 2e-4f, 0.5f, 1, 0.0f, 0.0f, 0.0f, 0, 10.0f, 0, 0.0f, 0.0f,
                                0.0f, 0, 0.0, 0.0, 0.0, 0, 0};
}

gan_trainer_t *gan_trainer_new(const dcgan_config_t *arch, const gan_train_config_t *cfg)
{
    assert(cfg->batch >= 2 && cfg->batch % 2 == 0);
    assert(!(cfg->aux_own_labels && cfg->dp_clip > 0));
    gan_trainer_t *t = xcalloc(1, sizeof *t);
    t->arch = *arch;
    t->cfg = *cfg;
    t->g = dcgan_generator_new(arch, cfg->batch, cfg->seed * 2 + 1);
    t->d = dcgan_discriminator_new(arch, cfg->batch, cfg->seed * 2 + 2);
    t->adam_g = adam_new(model_param_count(t->g), cfg->lr, cfg->beta1, 0.999f, 1e-7f);
    t->adam_d = adam_new(model_param_count(t->d), cfg->lr_d > 0 ? cfg->lr_d : cfg->lr,
                         cfg->beta1, 0.999f, 1e-7f);
    if (cfg->ema > 0) {
        assert(cfg->ema < 1 && cfg->ema_warmup >= 1);
        const size_t ng = model_param_count(t->g);
        t->ema = xfloats(ng);
        memcpy(t->ema, model_params(t->g), ng * sizeof(float));
    }
    rng_seed(&t->rng, cfg->seed ^ 0x9a17e5u);
    const size_t img = (size_t)arch->img_c * arch->img_h * arch->img_w;
    t->zr = xfloats((size_t)cfg->batch * arch->latent);
    t->z = xfloats((size_t)cfg->batch * (arch->latent + arch->classes));
    t->y = xcalloc((size_t)cfg->batch, 1);
    t->img = xfloats((size_t)cfg->batch * img);
    t->logits = xfloats((size_t)cfg->batch);
    t->dlogits = xfloats((size_t)cfg->batch);
    t->targets = xfloats((size_t)cfg->batch);
    t->ones = xfloats((size_t)cfg->batch);
    if (cfg->mode_seeking > 0 && arch->classes) {
        t->ms_grad = xfloats((size_t)cfg->batch * img);
    }
    if (cfg->dp_clip > 0) {
        // one record's gradient must be its own: the minibatch deviation
        // couples a record with its group
        assert(!arch->d_mbstd && cfg->dp_sigma >= 0 && cfg->dp_q >= 0 && cfg->dp_q <= 1);
        t->dp_sum = xfloats(model_param_count(t->d));
        t->n_dp_labels = arch->classes;
        for (int k = 0; k < arch->classes; k++) {
            t->dp_labels[k] = (uint8_t)k;
        }
    }
    for (int i = 0; i < cfg->batch; i++) {
        const float real = cfg->real_target > 0 ? cfg->real_target : 1.0f;
        t->targets[i] = i < cfg->batch / 2 ? real : 0.0f;
        t->ones[i] = 1.0f;
    }
    return t;
}

void gan_trainer_destroy(gan_trainer_t **self_p)
{
    assert(self_p);
    gan_trainer_t *t = *self_p;
    if (!t) {
        return;
    }
    model_destroy(&t->g);
    model_destroy(&t->d);
    adam_destroy(&t->adam_g);
    adam_destroy(&t->adam_d);
    free(t->zr);
    free(t->z);
    free(t->y);
    free(t->img);
    free(t->logits);
    free(t->dlogits);
    free(t->targets);
    free(t->ones);
    free(t->ema);
    free(t->ms_grad);
    free(t->dp_sum);
    free(t->dp_idx);
    dataset_order_free(&t->order);
    free(t);
    *self_p = NULL;
}

int gan_trainer_set_data(gan_trainer_t *t, const dataset_t *data, fs_err_t *err)
{
    if (data->c != t->arch.img_c || data->h != t->arch.img_h || data->w != t->arch.img_w) {
        return fs_err_set(err, FS_EINVAL,
                          "data images are %dx%dx%d but the model expects %dx%dx%d", data->c,
                          data->h, data->w, t->arch.img_c, t->arch.img_h, t->arch.img_w);
    }
    if (data->n < 1) {
        return fs_err_set(err, FS_EINVAL, "data set is empty");
    }
    if (t->arch.classes && !data->y) {
        return fs_err_set(err, FS_EINVAL, "a conditional GAN needs labelled data");
    }
    for (int i = 0; t->arch.classes && i < data->n; i++) {
        if (data->y[i] >= t->arch.classes) {
            return fs_err_set(err, FS_EINVAL, "image %d has label %d but the model has %d classes",
                              i, data->y[i], t->arch.classes);
        }
    }
    dataset_order_reset(&t->order, data->n, &t->rng);
    t->data = data;
    memset(t->own_labels, 0, sizeof t->own_labels);
    for (int i = 0; t->arch.classes && i < data->n; i++) {
        t->own_labels[data->y[i]] = 1;
    }
    if (t->cfg.dp_clip > 0) {
        free(t->dp_idx);
        t->dp_idx = xcalloc((size_t)data->n, sizeof *t->dp_idx);
        t->dp_q = t->cfg.dp_q > 0 ? t->cfg.dp_q : (double)(t->cfg.batch / 2) / data->n;
        if (t->dp_q > 1) {
            t->dp_q = 1;
        }
    }
    return 0;
}

void gan_generate(model_t *g, int latent, int n, rng_t *rng, float *z_buf, float *out)
{
    assert(model_input_size(g) == (size_t)latent && "a conditional generator: gan_decode");
    rng_normal_floats(rng, z_buf, (size_t)n * latent);
    gan_decode(g, z_buf, n, out);
}

// Images leave the generator in [0, 1]: a sigmoid output is there already
// (the clamp changes no bit of it), a linear one (g_out=linear) is clipped
// as StyleGAN's images are when they are saved.
void gan_decode(model_t *g, const float *z, int n, float *out)
{
    const float *y = model_forward(g, z, n, false);
    const size_t len = (size_t)n * model_output_size(g);
    for (size_t i = 0; i < len; i++) {
        out[i] = y[i] < 0 ? 0 : y[i] > 1 ? 1 : y[i];
    }
}

static void s_next_real(gan_trainer_t *t, float *dst, uint8_t *label)
{
    const size_t img = dataset_image_size(t->data);
    uint32_t k = dataset_order_next(&t->order, &t->rng);
    memcpy(dst, t->data->x + (size_t)k * img, sizeof(float) * img);
    *label = t->data->y ? t->data->y[k] : 0;
}

// n generator inputs into t->z: latents, then (conditional) labels into y,
// drawn as the data's labels fall (a random image's label).  Uniform labels
// would ask for labels the data may lack (a federation member holding
// {0,1,2}), which the discriminator then calls fake whatever G draws: on a
// two-label fixture that drove G to black images.  The unconditional GAN
// draws exactly the latents, so its random stream is the paper trainer's.
static void s_draw_inputs(gan_trainer_t *t, int n, uint8_t *y)
{
    rng_normal_floats(&t->rng, t->zr, (size_t)n * t->arch.latent);
    for (int i = 0; t->arch.classes && i < n; i++) {
        const int paired = t->cfg.mode_seeking > 0 && i % 2 == 1; // MSGAN's pairs
        if (paired) {
            y[i] = y[i - 1];
        } else if (t->dp_sum) { // DP-SGD: the labels' frequencies are private
            y[i] = t->dp_labels[rng_below(&t->rng, (uint64_t)t->n_dp_labels)];
        } else {
            y[i] = t->data->y[rng_below(&t->rng, (uint64_t)t->data->n)];
        }
    }
    dcgan_pack_latent(&t->arch, t->zr, y, n, t->z);
}

// D's logits for the batch in x (labels y) into t->logits; returns the loss
// against targets (G's step: all "real"), its gradient, times `scale`, set
// as D's output gradient.  With the auxiliary classifier, the first aux_n
// images also add its loss's gradient (D's step: the real half; G's: all
// its fakes).
static double s_d_forward(gan_trainer_t *t, const float *x, const float *targets, int n,
                          int aux_n, int g_step, float scale)
{
    const float *out = model_forward(t->d, x, n, true);
    dcgan_d_logits(&t->arch, out, t->y, n, t->logits);
    double loss = !t->cfg.hinge ? loss_bce_logits(t->logits, targets, n, 1, t->dlogits)
                  : g_step      ? loss_hinge_g(t->logits, n, t->dlogits)
                                : loss_hinge_d(t->logits, targets, n, t->dlogits);
    if (scale != 1) {
        for (int i = 0; i < n; i++) {
            t->dlogits[i] *= scale;
        }
    }
    dcgan_d_logits_grad(&t->arch, t->dlogits, t->y, n, model_output_grad(t->d));
    const float aux = g_step && t->cfg.aux_g > 0 ? t->cfg.aux_g : t->cfg.aux;
    if (t->cfg.aux > 0 && t->arch.classes && aux_n > 0) {
        dcgan_d_class_loss(&t->arch, out, t->y, aux_n, aux, model_output_grad(t->d),
                           t->cfg.aux_own_labels ? t->own_labels : NULL);
    }
    // TAC-GAN's twin: D's step teaches it the fakes' labels (the images
    // after the aux_n real ones), G's step has G maximise its loss
    if (t->cfg.aux > 0 && t->arch.d_twin && !(g_step && t->cfg.twin_g_off) &&
        n > (g_step ? 0 : aux_n)) {
        const size_t w = dcgan_d_out_width(&t->arch);
        const int from = g_step ? 0 : aux_n;
        dcgan_d_twin_loss(&t->arch, out + (size_t)from * w, t->y + from, n - from,
                          g_step ? -aux : aux, model_output_grad(t->d) + (size_t)from * w);
    }
    return loss;
}

// D's step on a batch of half real, half fake images (Keras
// train_on_batch); the fakes go to t->img's second half, their labels to
// t->y's.  Returns D's loss; counts D's right calls.
static double s_d_step(gan_trainer_t *t, int *real_ok, int *fake_ok)
{
    const int batch = t->cfg.batch, half = batch / 2;
    const size_t img = dataset_image_size(t->data);
    for (int i = 0; i < half; i++) {
        s_next_real(t, t->img + (size_t)i * img, &t->y[i]);
    }
    s_draw_inputs(t, half, t->y + half);
    const float *fake = model_forward(t->g, t->z, half, true);
    memcpy(t->img + (size_t)half * img, fake, sizeof(float) * half * img);
    double d_loss = s_d_forward(t, t->img, t->targets, batch, half, 0, 1);
    for (int i = 0; i < batch; i++) {
        if (i < half) {
            *real_ok += t->logits[i] > 0;
        } else {
            *fake_ok += t->logits[i] <= 0;
        }
    }
    model_zero_grads(t->d);
    model_backward(t->d, false);
    adam_step(t->adam_d, model_params(t->d), model_grads(t->d));
    return d_loss;
}

// D's step under DP-SGD (dpsgd.h): the real images a Poisson sample of the
// data; each one's gradient of its share of D's loss taken alone and
// clipped, their sum noised and divided by the expected count of real
// images; plus the fakes' gradient.  A record's share is what one real image adds to
// the plain step's loss over its half: half its cross-entropy against
// "real" (the plain loss is a mean over both halves) and, with the
// auxiliary classifier, its label's cross-entropy at the classifier's
// weight (a mean over the real half); the fakes' is half their mean
// cross-entropy against "fake" (and the twin's term).  With every record sampled, no clip and no
// noise this is the plain step's gradient (test_gan_train).  Returns the
// same loss as s_d_step (its real half over the sampled records).
static double s_d_step_dp(gan_trainer_t *t, int *real_ok, int *fake_ok, int *n_real)
{
    const int half = t->cfg.batch / 2;
    const size_t img = dataset_image_size(t->data), np = model_param_count(t->d);
    const uint32_t n = (uint32_t)t->data->n;
    const size_t m = dpsgd_sample(n, t->dp_q, t->dp_idx);
    memset(t->dp_sum, 0, np * sizeof(float));
    double real_loss = 0;
    for (size_t j = 0; j < m; j++) { // one record at a time: its gradient alone
        const uint32_t k = t->dp_idx[j];
        memcpy(t->img, t->data->x + (size_t)k * img, sizeof(float) * img);
        t->y[0] = t->data->y ? t->data->y[k] : 0;
        real_loss += s_d_forward(t, t->img, t->targets, 1, 1, 0, 0.5f);
        *real_ok += t->logits[0] > 0;
        model_zero_grads(t->d);
        model_backward(t->d, false);
        dpsgd_add_clipped(t->dp_sum, model_grads(t->d), np, t->cfg.dp_clip);
    }
    dpsgd_noise_and_scale(t->dp_sum, np, t->cfg.dp_sigma, t->cfg.dp_clip, t->dp_q * n);
    t->dp_steps++;
    *n_real = (int)m;

    // The fakes as one batch: they need no privacy.  (Clipping each fake's
    // gradient into the same sum, as Opacus treats every sample of D's
    // batch, takes a pass of D per fake and changed nothing measured:
    // docs/results.md, session 18.)
    s_draw_inputs(t, half, t->y + half);
    const float *fake = model_forward(t->g, t->z, half, true);
    memcpy(t->img + (size_t)half * img, fake, sizeof(float) * half * img);
    memcpy(t->y, t->y + half, (size_t)half); // s_d_forward reads labels from t->y
    const double fake_loss =
        s_d_forward(t, t->img + (size_t)half * img, t->targets + half, half, 0, 0, 0.5f);
    for (int i = 0; i < half; i++) {
        *fake_ok += t->logits[i] <= 0;
    }
    model_zero_grads(t->d);
    model_backward(t->d, false);
    float *g = model_grads(t->d);
    for (size_t i = 0; i < np; i++) {
        g[i] += t->dp_sum[i];
    }
    adam_step(t->adam_d, model_params(t->d), g);
    return 0.5 * ((m ? real_loss / (double)m : 0) + fake_loss);
}

void gan_train_step(gan_trainer_t *t, gan_step_stats_t *stats)
{
    assert(t->data && "gan_trainer_set_data first");
    const int batch = t->cfg.batch, half = batch / 2;
    const size_t img = dataset_image_size(t->data);

    // discriminator (d_steps times; the stats are the last step's; G's
    // step reuses the last step's fakes)
    int real_ok = 0, fake_ok = 0, n_real = half;
    double d_loss = 0;
    for (int k = 0; k < (t->cfg.d_steps > 1 ? t->cfg.d_steps : 1); k++) {
        real_ok = fake_ok = 0;
        n_real = half;
        d_loss = t->dp_sum ? s_d_step_dp(t, &real_ok, &fake_ok, &n_real)
                           : s_d_step(t, &real_ok, &fake_ok);
    }
    const float *fake = NULL;

    // generator: through the discriminator, whose weights stay fixed
    int g_n = batch;
    if (t->cfg.reuse_fakes) { // G's activations are still those of the fakes above
        g_n = half;
        memmove(t->y, t->y + half, (size_t)half);
        fake = t->img + (size_t)half * img;
    } else {
        s_draw_inputs(t, batch, t->y);
        fake = model_forward(t->g, t->z, batch, true);
    }
    double g_loss = s_d_forward(t, fake, t->ones, g_n, g_n, 1, 1);
    const float *dimg = model_backward_input(t->d); // D's weights stay fixed
    memcpy(model_output_grad(t->g), dimg, sizeof(float) * (size_t)g_n * img);
    if (t->ms_grad) { // t->zr still holds the fakes' latents
        float *grad = model_output_grad(t->g);
        loss_mode_seeking(fake, t->zr, g_n, (int)img, t->arch.latent, t->ms_grad);
        for (size_t i = 0, e = (size_t)g_n * img; i < e; i++) {
            grad[i] += t->cfg.mode_seeking * t->ms_grad[i];
        }
    }
    model_zero_grads(t->g);
    model_backward(t->g, false);
    adam_step(t->adam_g, model_params(t->g), model_grads(t->g));
    if (t->ema) {
        const double s = (double)t->ema_steps++;
        const double warm = (1.0 + s) / ((double)t->cfg.ema_warmup + s);
        const double cap = (double)t->cfg.ema;
        const float d = (float)(warm < cap ? warm : cap);
        floats_lerp(t->ema, model_params(t->g), model_param_count(t->g), d);
    }

    if (stats) {
        stats->d_loss = d_loss;
        stats->g_loss = g_loss;
        stats->d_acc_real = n_real ? (double)real_ok / n_real : 0;
        stats->d_acc_fake = (double)fake_ok / half;
    }
}

model_t *gan_trainer_generator(gan_trainer_t *t) { return t->g; }
float *gan_trainer_ema(gan_trainer_t *t) { return t->ema; }
void gan_trainer_swap_ema(gan_trainer_t *t)
{
    if (!t->ema) {
        return;
    }
    float *w = model_params(t->g);
    for (size_t i = 0, n = model_param_count(t->g); i < n; i++) {
        float keep = w[i];
        w[i] = t->ema[i];
        t->ema[i] = keep;
    }
}
float gan_trainer_ema_decay(const gan_trainer_t *t) { return t->cfg.ema; }
long gan_trainer_ema_steps(const gan_trainer_t *t) { return t->ema_steps; }
void gan_trainer_set_ema_steps(gan_trainer_t *t, long steps) { t->ema_steps = steps; }
void gan_trainer_set_public_labels(gan_trainer_t *t, const uint8_t *labels, int n)
{
    assert(n >= 1 && n <= t->arch.classes);
    for (int i = 0; i < n; i++) {
        assert(labels[i] < t->arch.classes);
        t->dp_labels[i] = labels[i];
    }
    t->n_dp_labels = n;
}

double gan_trainer_dp_rate(const gan_trainer_t *t) { return t->dp_q; }

long gan_trainer_dp_steps(const gan_trainer_t *t) { return t->dp_steps; }

void gan_trainer_set_schedule(gan_trainer_t *t, float lr_scale, float aux_g, int twin_g_off)
{
    t->cfg.twin_g_off = twin_g_off;
    assert(lr_scale > 0 && aux_g >= 0);
    t->adam_g->lr = t->cfg.lr * lr_scale;
    t->adam_d->lr = (t->cfg.lr_d > 0 ? t->cfg.lr_d : t->cfg.lr) * lr_scale;
    t->cfg.aux_g = aux_g;
}
model_t *gan_trainer_discriminator(gan_trainer_t *t) { return t->d; }
adam_t *gan_trainer_adam_g(gan_trainer_t *t) { return t->adam_g; }
adam_t *gan_trainer_adam_d(gan_trainer_t *t) { return t->adam_d; }
rng_t *gan_trainer_rng(gan_trainer_t *t) { return &t->rng; }
dataset_order_t *gan_trainer_order(gan_trainer_t *t) { return &t->order; }
const dcgan_config_t *gan_trainer_arch(const gan_trainer_t *t) { return &t->arch; }
