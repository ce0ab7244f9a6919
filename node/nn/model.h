/* model.h - a sequential network with every buffer allocated once.
 *
 * Build a model by adding layers (each takes its input shape from the one
 * before), then call model_finalize, which lays out:
 *  - all parameters as ONE contiguous float vector (and the gradients as a
 *    second one with the same offsets), so FedAvg, clipping, noise, hashing
 *    and the model file all work on (float *, size_t) without copying;
 *  - one activation buffer per layer that is not in place, sized for
 *    max_batch samples; in-place layers reuse their input's buffer;
 *  - two gradient buffers used alternately by the backward pass;
 *  - one scratch workspace shared by the convolutions, which process the
 *    batch in chunks small enough to fit it (MODEL_WS_MAX_FLOATS).
 * After that, model_forward and model_backward allocate nothing.
 *
 * Usage: see tests/nn/test_layers.c (test_layers_usage)
 */
#ifndef FS_NN_MODEL_H
#define FS_NN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/base/err.h"
#include "node/nn/layer.h"

#define MODEL_MAX_LAYERS 32
#define MODEL_WS_MAX_FLOATS ((size_t)8 << 20) // 32 MB of convolution scratch

typedef struct model model_t;

// A model whose samples have shape c x h x w, given batch-first.
model_t *model_new(const char *name, int c, int h, int w);
void model_destroy(model_t **self_p);

// Builders: each appends a layer fed by the current shape.
void model_dense(model_t *m, int out_features);
void model_conv2d(model_t *m, int out_c, int k, int stride, pad_mode_t pad);
void model_conv2d_t(model_t *m, int out_c, int k, int stride, pad_mode_t pad);
void model_leaky_relu(model_t *m, float slope);
void model_dropout(model_t *m, float rate);
void model_sigmoid(model_t *m);
// Divides each pixel's features by their root mean square over the
// channels (pixel_norm.c); channel-major shapes only.
void model_pixel_norm(model_t *m);
// Doubles height and width, each pixel repeated as a 2x2 block (nearest
// neighbour, upsample.c); channel-major shapes only.
void model_upsample(model_t *m);
// Appends one feature to each sample: the mean over features of their
// standard deviation within its group of samples (minibatch_std.c); a
// discriminator's way to see variety.  Batch-first shapes only.
void model_minibatch_std(model_t *m);
// Reinterprets the per-sample features as c x h x w (same count) and moves
// the batch to `layout`.  Dense layers need batch-first, convolutions
// channel-major; the model's output must end batch-first.
void model_reshape(model_t *m, int c, int h, int w, layout_t layout);

// Allocates every buffer for batches of up to max_batch and initialises the
// parameters from seed (Keras's initialisers).  Call once, after building.
// max_batch 0 makes a shape-only model: model_param_count and the layers'
// shapes are valid, nothing is allocated, and it cannot run.
void model_finalize(model_t *m, int max_batch, uint64_t seed);

// Runs the network on n <= max_batch samples (batch-first, c*h*w floats
// each; borrowed until the matching model_backward).  Returns the output,
// owned by the model and valid until the next forward.
const float *model_forward(model_t *m, const float *x, int n, bool training);

// Buffer the caller fills with dLoss/dOutput before model_backward.
float *model_output_grad(model_t *m);

// Backward pass for the last forward.  Adds parameter gradients into
// model_grads (call model_zero_grads first).  Returns dLoss/dInput (owned by
// the model, valid until the next call) when want_input_grad, else NULL.
const float *model_backward(model_t *m, bool want_input_grad);
// Backward pass for dLoss/dInput alone: the parameter gradients are left as
// they are (a GAN's generator step differentiates the discriminator for its
// input only; skipping D's weight gradients saves their GEMMs and im2col).
const float *model_backward_input(model_t *m);

void model_zero_grads(model_t *m);

float *model_params(model_t *m);
const float *model_params_const(const model_t *m);
float *model_grads(model_t *m);
size_t model_param_count(const model_t *m);
const char *model_name(const model_t *m);
int model_max_batch(const model_t *m);
size_t model_input_size(const model_t *m);
size_t model_output_size(const model_t *m);
int model_layer_count(const model_t *m);
layer_t *model_layer(model_t *m, int i);
// Output of layer i from the last forward (n x out_size, in the layer's
// layout); borrowed.  The classifier's features are read this way.
const float *model_activation(const model_t *m, int i);
// Bytes held by the model's buffers (parameters, gradients, activations,
// workspace), for the memory report.
size_t model_memory_bytes(const model_t *m);
// Re-seeds the dropout randomness (tests freeze masks this way).
void model_seed_dropout(model_t *m, uint64_t seed);
// The dropout masks' generator (a checkpoint that resumes exactly saves it).
rng_t *model_dropout_rng(model_t *m);

#endif
