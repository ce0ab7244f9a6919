/* classifier_train.c - the evaluator's training loop (see classifier_train.h). */
#include "node/train/classifier_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/models/classifier.h"
#include "node/nn/adam.h"
#include "node/nn/loss.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void classifier_shift_image(float *dst, const float *src, int c, int h, int w, int dx, int dy)
{
    memset(dst, 0, sizeof(float) * (size_t)c * (size_t)h * (size_t)w);
    const int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? w + dx : w;
    const int y0 = dy > 0 ? dy : 0, y1 = dy < 0 ? h + dy : h;
    for (int ch = 0; ch < c; ch++) {
        for (int y = y0; y < y1; y++) {
            const float *s = src + ((size_t)ch * h + (size_t)(y - dy)) * w;
            float *d = dst + ((size_t)ch * h + (size_t)y) * w;
            memcpy(d + x0, s + (x0 - dx), sizeof(float) * (size_t)(x1 - x0));
        }
    }
}

float classifier_lr_at(const classifier_train_config_t *cfg, double done)
{
    if (cfg->lr_final <= 0) {
        return cfg->lr;
    }
    const double lo = (double)cfg->lr_final, hi = (double)cfg->lr;
    return (float)(lo + 0.5 * (hi - lo) * (1 + cos(M_PI * done)));
}

int classifier_train(model_t *m, const dataset_t *d, const classifier_train_config_t *cfg,
                     fs_err_t *err)
{
    if (!d->y || d->n < 1) {
        return fs_err_set(err, FS_EINVAL, "classifier training needs a non-empty labelled set");
    }
    if (cfg->shift < 0 || cfg->shift >= d->h || cfg->shift >= d->w) {
        return fs_err_set(err, FS_EINVAL, "shift %d: expected 0 to %d pixels", cfg->shift,
                          (d->h < d->w ? d->h : d->w) - 1);
    }
    if (cfg->batch < 1 || cfg->batch > model_max_batch(m)) {
        return fs_err_set(err, FS_EINVAL, "batch %d: expected 1 to %d", cfg->batch,
                          model_max_batch(m));
    }
    const size_t img = dataset_image_size(d);
    if (img != model_input_size(m)) {
        return fs_err_set(err, FS_EINVAL, "images have %zu pixels, the classifier takes %zu",
                          img, model_input_size(m));
    }
    rng_t rng;
    rng_seed(&rng, cfg->seed);
    model_seed_dropout(m, cfg->seed + 1);
    adam_t *adam = adam_new(model_param_count(m), cfg->lr, 0.9f, 0.999f, 1e-7f);
    uint32_t *order = xmalloc(sizeof(uint32_t) * (size_t)d->n);
    float *xb = xfloats((size_t)cfg->batch * img);
    uint8_t *yb = xmalloc((size_t)cfg->batch);
    const int iters = (d->n + cfg->batch - 1) / cfg->batch;
    const double total_steps = (double)iters * cfg->epochs;
    for (int e = 0; e < cfg->epochs; e++) {
        rng_permutation(&rng, order, (size_t)d->n);
        double t0 = s_now(), loss_sum = 0;
        for (int it = 0; it < iters; it++) {
            int n = d->n - it * cfg->batch < cfg->batch ? d->n - it * cfg->batch : cfg->batch;
            for (int i = 0; i < n; i++) {
                uint32_t k = order[it * cfg->batch + i];
                if (cfg->shift > 0) {
                    const int span = 2 * cfg->shift + 1;
                    int dx = (int)rng_below(&rng, (uint64_t)span) - cfg->shift;
                    int dy = (int)rng_below(&rng, (uint64_t)span) - cfg->shift;
                    classifier_shift_image(xb + (size_t)i * img, d->x + (size_t)k * img, d->c, d->h,
                                  d->w, dx, dy);
                } else {
                    memcpy(xb + (size_t)i * img, d->x + (size_t)k * img, sizeof(float) * img);
                }
                yb[i] = d->y[k];
            }
            adam->lr = classifier_lr_at(cfg, ((double)e * iters + it) / total_steps);
            const float *logits = model_forward(m, xb, n, true);
            double loss = loss_softmax_xent(logits, yb, n, CLASSIFIER_CLASSES,
                                            model_output_grad(m));
            loss_sum += loss;
            model_zero_grads(m);
            model_backward(m, false);
            adam_step(adam, model_params(m), model_grads(m));
            if (cfg->progress && ((it + 1) % 50 == 0 || it + 1 == iters)) {
                double dt = s_now() - t0;
                cfg->progress(cfg->progress_ctx, e + 1, cfg->epochs, it + 1, iters,
                              loss_sum / (it + 1),
                              dt > 0 ? (double)(it * cfg->batch + n) / dt : 0);
            }
        }
    }
    adam_destroy(&adam);
    free(order);
    free(xb);
    free(yb);
    return 0;
}

struct classifier_trainer {
    model_t *m;
    adam_t *adam;
    rng_t rng;
    const dataset_t *data;
    dataset_order_t order;
    int batch;
    float *x;
    uint8_t *y;
};

classifier_trainer_t *classifier_trainer_new(int batch, uint64_t seed)
{
    classifier_trainer_t *c = xcalloc(1, sizeof *c);
    c->m = classifier_new(1, 28, 28, batch, seed * 2 + 1);
    model_seed_dropout(c->m, seed + 7);
    c->adam = adam_new(model_param_count(c->m), 1e-3f, 0.9f, 0.999f, 1e-7f);
    rng_seed(&c->rng, seed ^ 0xc1a55u);
    c->batch = batch;
    c->x = xfloats((size_t)batch * model_input_size(c->m));
    c->y = xmalloc((size_t)batch);
    return c;
}

void classifier_trainer_destroy(classifier_trainer_t **self_p)
{
    classifier_trainer_t *c = *self_p;
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

int classifier_trainer_set_data(classifier_trainer_t *c, const dataset_t *d, fs_err_t *err)
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

void classifier_trainer_step(classifier_trainer_t *c, double *loss, double *accuracy)
{
    const int batch = c->batch;
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
    *loss = loss_softmax_xent(logits, c->y, batch, CLASSIFIER_CLASSES, model_output_grad(c->m));
    model_zero_grads(c->m);
    model_backward(c->m, false);
    adam_step(c->adam, model_params(c->m), model_grads(c->m));
    *accuracy = (double)right / batch;
}

model_t *classifier_trainer_model(classifier_trainer_t *c) { return c->m; }

void classifier_run(model_t *m, const float *x, int n, float *probs, float *features)
{
    const int b = model_max_batch(m);
    const size_t img = model_input_size(m);
    const int feat_layer = classifier_feature_layer(m);
    for (int s = 0; s < n; s += b) {
        int k = n - s < b ? n - s : b;
        const float *logits = model_forward(m, x + (size_t)s * img, k, false);
        if (features) {
            memcpy(features + (size_t)s * CLASSIFIER_FEATURES, model_activation(m, feat_layer),
                   sizeof(float) * (size_t)k * CLASSIFIER_FEATURES);
        }
        if (probs) {
            for (int i = 0; i < k; i++) {
                const float *z = logits + (size_t)i * CLASSIFIER_CLASSES;
                float *p = probs + (size_t)(s + i) * CLASSIFIER_CLASSES;
                float mx = z[0];
                for (int j = 1; j < CLASSIFIER_CLASSES; j++) {
                    mx = z[j] > mx ? z[j] : mx;
                }
                float sum = 0;
                for (int j = 0; j < CLASSIFIER_CLASSES; j++) {
                    p[j] = expf(z[j] - mx);
                    sum += p[j];
                }
                for (int j = 0; j < CLASSIFIER_CLASSES; j++) {
                    p[j] /= sum;
                }
            }
        }
    }
}

double classifier_accuracy(model_t *m, const dataset_t *d, double *per_class)
{
    float *probs = xfloats((size_t)d->n * CLASSIFIER_CLASSES);
    classifier_run(m, d->x, d->n, probs, NULL);
    int correct = 0, hit[10] = {0}, total[10] = {0};
    for (int i = 0; i < d->n; i++) {
        const float *p = probs + (size_t)i * CLASSIFIER_CLASSES;
        int best = 0;
        for (int j = 1; j < CLASSIFIER_CLASSES; j++) {
            best = p[j] > p[best] ? j : best;
        }
        total[d->y[i]]++;
        if (best == d->y[i]) {
            correct++;
            hit[d->y[i]]++;
        }
    }
    for (int c = 0; per_class && c < 10; c++) {
        per_class[c] = total[c] ? (double)hit[c] / total[c] : 0;
    }
    free(probs);
    return d->n ? (double)correct / d->n : 0;
}
