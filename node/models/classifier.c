/* classifier.c - which layers make the evaluator (see classifier.h). */
#include "node/models/classifier.h"

#define SLOPE 0.01f

model_t *classifier_new(int img_c, int img_h, int img_w, int max_batch, uint64_t seed)
{
    model_t *m = model_new("classifier", img_c, img_h, img_w);
    model_reshape(m, img_c, img_h, img_w, LAYOUT_CHANNEL_MAJOR);
    model_conv2d(m, 32, 3, 1, PAD_SAME);
    model_leaky_relu(m, SLOPE);
    model_conv2d(m, 64, 3, 2, PAD_SAME);
    model_leaky_relu(m, SLOPE);
    model_conv2d(m, 64, 3, 2, PAD_SAME);
    model_leaky_relu(m, SLOPE);
    layer_t *last = model_layer(m, model_layer_count(m) - 1);
    model_reshape(m, last->out_c, last->out_h, last->out_w, LAYOUT_BATCH_FIRST);
    model_dense(m, 120);
    model_leaky_relu(m, SLOPE);
    model_dense(m, CLASSIFIER_FEATURES);
    model_leaky_relu(m, SLOPE);
    model_dropout(m, 0.3f);
    model_dense(m, CLASSIFIER_CLASSES);
    model_finalize(m, max_batch, seed);
    return m;
}

int classifier_feature_layer(const model_t *m)
{
    // the LeakyReLU after Dense(84): three layers before the end (the
    // dropout is in place, so index the activation before it)
    return model_layer_count(m) - 3;
}
