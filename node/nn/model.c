/* model.c - sequential container and memory plan (see model.h).
 *
 * Memory plan (all made in model_finalize, none later):
 *   params[P], grads[P]       one vector each; layer w/b/dw/db are views
 *   act[i]                    max_batch * out_size(i) floats, for each layer
 *                             that is not in place; in-place layers alias
 *                             act[i-1] (layer 0 always gets its own buffer
 *                             so the caller's input is never written)
 *   mask[i]                   dropout layers only
 *   grad_a, grad_b            max_batch * max layer width, used alternately
 *   ws                        convolution scratch, <= MODEL_WS_MAX_FLOATS
 * Invariants: (1) a layer's x is act[i-1] (or the caller's input) and its
 * y is act[i]; (2) backward visits layers in reverse and reads only x, y and
 * dy, which in-place layers never change before their own backward.
 */
#include "node/nn/model.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"

struct model {
    char name[32];
    layer_t layers[MODEL_MAX_LAYERS];
    int n_layers;
    int c, h, w;         // current shape while building
    layout_t layout;     // current layout while building
    size_t input_size;   // per sample
    bool finalized;
    int max_batch;

    size_t n_params;
    float *params, *grads;
    float *acts[MODEL_MAX_LAYERS]; // act[i], aliases for in-place layers
    bool owns_act[MODEL_MAX_LAYERS];
    float *grad_a, *grad_b;
    float *ws;
    size_t ws_floats;
    rng_t dropout_rng;
    size_t bytes;

    const float *input; // last forward's input (borrowed)
    int batch;          // last forward's batch size
};

model_t *model_new(const char *name, int c, int h, int w)
{
    assert(name && c > 0 && h > 0 && w > 0);
    model_t *m = xcalloc(1, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->c = c;
    m->h = h;
    m->w = w;
    m->layout = LAYOUT_BATCH_FIRST;
    m->input_size = (size_t)c * h * w;
    return m;
}

void model_destroy(model_t **self_p)
{
    assert(self_p);
    model_t *m = *self_p;
    if (!m) {
        return;
    }
    free(m->params);
    free(m->grads);
    for (int i = 0; i < m->n_layers; i++) {
        if (m->owns_act[i]) {
            free(m->acts[i]);
        }
        free(m->layers[i].mask);
    }
    free(m->grad_a);
    free(m->grad_b);
    free(m->ws);
    free(m);
    *self_p = NULL;
}

static layer_t *s_push(model_t *m)
{
    assert(!m->finalized && m->n_layers < MODEL_MAX_LAYERS);
    layer_t *l = &m->layers[m->n_layers++];
    memset(l, 0, sizeof *l);
    return l;
}

static void s_took(model_t *m, const layer_t *l)
{
    m->c = l->out_c;
    m->h = l->out_h;
    m->w = l->out_w;
    m->layout = l->out_layout;
}

void model_dense(model_t *m, int out_features)
{
    assert(m->layout == LAYOUT_BATCH_FIRST);
    layer_t *l = s_push(m);
    dense_init(l, m->c * m->h * m->w, out_features);
    s_took(m, l);
}

void model_conv2d(model_t *m, int out_c, int k, int stride, pad_mode_t pad)
{
    assert(m->layout == LAYOUT_CHANNEL_MAJOR);
    layer_t *l = s_push(m);
    conv2d_init(l, m->c, m->h, m->w, out_c, k, stride, pad);
    s_took(m, l);
}

void model_conv2d_t(model_t *m, int out_c, int k, int stride, pad_mode_t pad)
{
    assert(m->layout == LAYOUT_CHANNEL_MAJOR);
    layer_t *l = s_push(m);
    conv2d_t_init(l, m->c, m->h, m->w, out_c, k, stride, pad);
    s_took(m, l);
}

void model_leaky_relu(model_t *m, float slope)
{
    layer_t *l = s_push(m);
    leaky_relu_init(l, m->c, m->h, m->w, m->layout, slope);
    s_took(m, l);
}

void model_dropout(model_t *m, float rate)
{
    layer_t *l = s_push(m);
    dropout_init(l, m->c, m->h, m->w, m->layout, rate);
    s_took(m, l);
}

void model_pixel_norm(model_t *m)
{
    assert(m->layout == LAYOUT_CHANNEL_MAJOR);
    layer_t *l = s_push(m);
    pixel_norm_init(l, m->c, m->h, m->w, m->layout);
    s_took(m, l);
}

void model_upsample(model_t *m)
{
    assert(m->layout == LAYOUT_CHANNEL_MAJOR);
    layer_t *l = s_push(m);
    upsample_init(l, m->c, m->h, m->w, m->layout);
    s_took(m, l);
}

void model_minibatch_std(model_t *m)
{
    assert(m->layout == LAYOUT_BATCH_FIRST);
    layer_t *l = s_push(m);
    minibatch_std_init(l, m->c, m->h, m->w, m->layout);
    s_took(m, l);
}

void model_sigmoid(model_t *m)
{
    layer_t *l = s_push(m);
    sigmoid_init(l, m->c, m->h, m->w, m->layout);
    s_took(m, l);
}

void model_reshape(model_t *m, int c, int h, int w, layout_t layout)
{
    assert((size_t)c * h * w == (size_t)m->c * m->h * m->w);
    // a change of per-sample shape is free in batch-first layout; only the
    // layout change moves data
    assert(m->layout == LAYOUT_BATCH_FIRST || (c == m->c && h == m->h && w == m->w));
    layer_t *l = s_push(m);
    reshape_init(l, c, h, w, m->layout, layout);
    s_took(m, l);
}

void model_finalize(model_t *m, int max_batch, uint64_t seed)
{
    assert(!m->finalized && m->n_layers > 0 && max_batch >= 0);
    assert(m->layout == LAYOUT_BATCH_FIRST);
    m->max_batch = max_batch;
    m->n_params = 0;
    for (int i = 0; i < m->n_layers; i++) {
        m->n_params += m->layers[i].n_weights + m->layers[i].n_bias;
    }
    if (max_batch == 0) {
        // the shape only: sizing a parameter vector (a federation does it
        // for every model it saves) must not pay for buffers and the
        // initialisation of a million weights
        return;
    }
    // the workspace holds a whole batch for the widest convolution, or as
    // much as MODEL_WS_MAX_FLOATS allows but at least one image of each
    size_t widest = m->input_size, ws = 0, ws_least = 0;
    for (int i = 0; i < m->n_layers; i++) {
        layer_t *l = &m->layers[i];
        if (layer_out_size(l) > widest) {
            widest = layer_out_size(l);
        }
        const size_t per = conv_ws_per_image(l), fixed = conv_ws_fixed(l);
        if (fixed + per * (size_t)max_batch > ws) {
            ws = fixed + per * (size_t)max_batch;
        }
        if (per && fixed + per > ws_least) {
            ws_least = fixed + per;
        }
    }
    m->params = xfloats(m->n_params);
    m->grads = xfloats(m->n_params);
    m->bytes = 2 * m->n_params * sizeof(float);

    if (ws > MODEL_WS_MAX_FLOATS) {
        ws = MODEL_WS_MAX_FLOATS > ws_least ? MODEL_WS_MAX_FLOATS : ws_least;
    }
    m->ws_floats = ws;
    m->ws = ws ? xfloats(ws) : NULL;
    m->bytes += ws * sizeof(float);

    rng_t init_rng;
    rng_seed(&init_rng, seed);
    rng_seed(&m->dropout_rng, seed ^ 0x5eedd80b0u);
    size_t off = 0;
    for (int i = 0; i < m->n_layers; i++) {
        layer_t *l = &m->layers[i];
        l->w = m->params + off;
        l->dw = m->grads + off;
        off += l->n_weights;
        l->b = m->params + off;
        l->db = m->grads + off;
        off += l->n_bias;
        layer_init_params(l, &init_rng);
        size_t out = (size_t)max_batch * layer_out_size(l);
        if (l->in_place && i > 0) {
            m->acts[i] = m->acts[i - 1];
            m->owns_act[i] = false;
        } else {
            m->acts[i] = xfloats(out);
            m->owns_act[i] = true;
            m->bytes += out * sizeof(float);
        }
        if (l->kind == LAYER_DROPOUT) {
            l->mask = xfloats(out);
            l->rng = &m->dropout_rng;
            m->bytes += out * sizeof(float);
        }
        size_t per = conv_ws_per_image(l);
        if (per) {
            l->ws = m->ws;
            l->ws_floats = m->ws_floats;
            size_t chunk = (m->ws_floats - conv_ws_fixed(l)) / per;
            l->chunk = (int)(chunk > (size_t)max_batch ? (size_t)max_batch : chunk);
        }
    }
    m->grad_a = xfloats(widest * (size_t)max_batch);
    m->grad_b = xfloats(widest * (size_t)max_batch);
    m->bytes += 2 * widest * (size_t)max_batch * sizeof(float);
    m->finalized = true;
}

const float *model_forward(model_t *m, const float *x, int n, bool training)
{
    assert(m->finalized && x && n > 0 && n <= m->max_batch);
    m->input = x;
    m->batch = n;
    const float *cur = x;
    for (int i = 0; i < m->n_layers; i++) {
        layer_t *l = &m->layers[i];
        float *y = m->acts[i];
        if (l->kind == LAYER_RESHAPE && l->in_place && cur != y) {
            // an in-place reshape that must still leave the caller's input
            memcpy(y, cur, sizeof(float) * (size_t)n * layer_out_size(l));
        } else {
            l->ops->forward(l, cur, y, n, training);
        }
        cur = y;
    }
    return cur;
}

float *model_output_grad(model_t *m) { return m->grad_a; }

const float *model_backward(model_t *m, bool want_input_grad)
{
    assert(m->finalized && m->input);
    const int n = m->batch;
    float *cur = m->grad_a, *spare = m->grad_b;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        layer_t *l = &m->layers[i];
        const float *x = i == 0 ? m->input : m->acts[i - 1];
        const float *y = m->acts[i];
        const bool need_dx = i > 0 || want_input_grad;
        if (l->in_place && i > 0) {
            l->ops->backward(l, x, y, cur, cur, n);
            continue;
        }
        if (!need_dx) {
            l->ops->backward(l, x, y, cur, NULL, n);
            continue;
        }
        if (l->kind == LAYER_RESHAPE && l->in_place) {
            memcpy(spare, cur, sizeof(float) * (size_t)n * layer_in_size(l));
        } else {
            l->ops->backward(l, x, y, cur, spare, n);
        }
        float *t = cur;
        cur = spare;
        spare = t;
    }
    return want_input_grad ? cur : NULL;
}

const float *model_backward_input(model_t *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        m->layers[i].skip_param_grads = true;
    }
    const float *dx = model_backward(m, true);
    for (int i = 0; i < m->n_layers; i++) {
        m->layers[i].skip_param_grads = false;
    }
    return dx;
}

void model_zero_grads(model_t *m) { memset(m->grads, 0, sizeof(float) * m->n_params); }

float *model_params(model_t *m) { return m->params; }
const float *model_params_const(const model_t *m) { return m->params; }
float *model_grads(model_t *m) { return m->grads; }
size_t model_param_count(const model_t *m) { return m->n_params; }
const char *model_name(const model_t *m) { return m->name; }
int model_max_batch(const model_t *m) { return m->max_batch; }
size_t model_input_size(const model_t *m) { return m->input_size; }

size_t model_output_size(const model_t *m)
{
    return layer_out_size(&m->layers[m->n_layers - 1]);
}

int model_layer_count(const model_t *m) { return m->n_layers; }

layer_t *model_layer(model_t *m, int i)
{
    assert(i >= 0 && i < m->n_layers);
    return &m->layers[i];
}

const float *model_activation(const model_t *m, int i)
{
    assert(i >= 0 && i < m->n_layers);
    return m->acts[i];
}

size_t model_memory_bytes(const model_t *m) { return m->bytes; }

void model_seed_dropout(model_t *m, uint64_t seed) { rng_seed(&m->dropout_rng, seed); }

rng_t *model_dropout_rng(model_t *m) { return &m->dropout_rng; }
