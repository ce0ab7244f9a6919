/* layer.h - the layer interface of the engine.
 *
 * A layer maps a batch of n samples x -> y and, backwards, dy -> dx while
 * accumulating its parameter gradients.  Layers never allocate: the model
 * (model.c) sizes and hands out every buffer once, so a training step
 * allocates nothing.
 *
 * Memory layout.  Dense layers see a batch as [n x features] (batch-first).
 * Convolution layers see it channel-major, [C x n x H x W], so that a whole
 * chunk of the batch is one matrix and each convolution is one sgemm per
 * chunk.  A reshape layer converts between the two; for one channel the two
 * layouts coincide and the reshape costs nothing.
 *
 * The struct is public (as ggml's tensors are) because the model builder and
 * the kernels both walk it on the hot path; code outside node/nn treats it
 * as read-only.
 *
 * Usage: see tests/nn/test_layers.c
 */
#ifndef FS_NN_LAYER_H
#define FS_NN_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/rng.h"
#include "node/nn/im2col.h"

typedef enum {
    LAYER_DENSE,
    LAYER_CONV2D,
    LAYER_CONV2D_T,
    LAYER_LEAKY_RELU,
    LAYER_DROPOUT,
    LAYER_SIGMOID,
    LAYER_RESHAPE,
    LAYER_PIXEL_NORM,
    LAYER_UPSAMPLE,
    LAYER_MINIBATCH_STD,
    LAYER_KIND_COUNT
} layer_kind_t;

typedef enum { LAYOUT_BATCH_FIRST, LAYOUT_CHANNEL_MAJOR } layout_t;

typedef enum { PAD_SAME, PAD_VALID } pad_mode_t;

typedef struct layer layer_t;

typedef struct {
    const char *name;
    // y = f(x) for n samples; training enables dropout.
    void (*forward)(layer_t *l, const float *x, float *y, int n, bool training);
    // dx = df/dx^T dy; adds parameter gradients into l->dw/l->db unless
    // l->skip_param_grads.  dx may be NULL when the caller needs no input
    // gradient.  For in-place layers dx and dy are the same buffer.
    void (*backward)(layer_t *l, const float *x, const float *y, float *dy,
                     float *dx, int n);
} layer_ops_t;

struct layer {
    layer_kind_t kind;
    const layer_ops_t *ops;
    int in_c, in_h, in_w;    // per-sample input shape
    int out_c, out_h, out_w; // per-sample output shape
    layout_t in_layout, out_layout;
    bool in_place;           // y aliases x (activations, dropout)

    size_t n_weights, n_bias; // parameter counts (views below)
    float *w, *b;             // parameters, inside the model's flat vector
    float *dw, *db;           // their gradients, same offsets
    // Set by model_backward_input for the duration of its pass: only the
    // input gradient is wanted, so dw/db are left as they are.
    bool skip_param_grads;

    // convolution
    conv_geom_t geom; // image/column geometry, see im2col.h
    int kh, kw, stride;
    bool gather_mode; // conv2d computed as GEMM + gather (fewer outputs)
    int chunk;        // images per GEMM, bounded by the workspace

    float slope;    // LeakyReLU negative slope
    float rate;     // dropout probability of zeroing
    float *mask;    // dropout: kept/(1-rate) or 0, [max_batch * size]
    rng_t *rng;     // dropout randomness (the model's)

    float *ws;        // shared scratch workspace (the model's)
    size_t ws_floats; // its size
};

size_t layer_in_size(const layer_t *l);
size_t layer_out_size(const layer_t *l);

// Initialisers: fill the shape fields and ops; parameters are bound later.
void dense_init(layer_t *l, int in_features, int out_features);
void conv2d_init(layer_t *l, int in_c, int in_h, int in_w, int out_c, int k,
                 int stride, pad_mode_t pad);
void conv2d_t_init(layer_t *l, int in_c, int in_h, int in_w, int out_c, int k,
                   int stride, pad_mode_t pad);
void leaky_relu_init(layer_t *l, int c, int h, int w, layout_t layout, float slope);
void dropout_init(layer_t *l, int c, int h, int w, layout_t layout, float rate);
void sigmoid_init(layer_t *l, int c, int h, int w, layout_t layout);
void reshape_init(layer_t *l, int c, int h, int w, layout_t from, layout_t to);
void pixel_norm_init(layer_t *l, int c, int h, int w, layout_t layout);
void upsample_init(layer_t *l, int c, int h, int w, layout_t layout);
// The minibatch standard deviation feature (minibatch_std.c): batch-first
// c x h x w in, c * h * w + 1 features out, groups of MINIBATCH_STD_GROUP.
#define MINIBATCH_STD_GROUP 4
void minibatch_std_init(layer_t *l, int c, int h, int w, layout_t layout);

// Floats of scratch a convolution needs per image of a chunk, and once per
// call before the chunk's share (conv2d_transpose keeps its repacked
// weights there): a chunk of c images needs fixed + c * per_image.
size_t conv_ws_per_image(const layer_t *l);
size_t conv_ws_fixed(const layer_t *l);
// conv2d_transpose's forward share per image (its phase patches and result).
size_t conv2d_t_forward_ws_per_image(const layer_t *l);

// Keras-compatible initial values (Glorot uniform kernels, zero biases).
void layer_init_params(layer_t *l, rng_t *rng);

#endif
