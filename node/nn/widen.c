/* widen.c - function-preserving growth of a network's inputs (see widen.h). */
#include "node/nn/widen.h"

#include <string.h>

// The first layer with parameters, grown: rows of weights copied, the
// extra inputs' columns zero.  Dense weights are [out][in]; convolution
// weights [out_c][in_c][kh][kw], the new channels after the old ones.
static int s_widen_first(const layer_t *f, layer_t *t, int i, fs_err_t *err)
{
    size_t rows, from_cols, to_cols; // per output: floats in from and in to
    if (f->kind == LAYER_DENSE && t->kind == LAYER_DENSE && f->n_bias == t->n_bias) {
        rows = f->n_bias;
        from_cols = layer_in_size(f);
        to_cols = layer_in_size(t);
    } else if (f->kind == LAYER_CONV2D && t->kind == LAYER_CONV2D && f->out_c == t->out_c &&
               f->kh == t->kh && f->kw == t->kw && f->stride == t->stride &&
               f->in_h == t->in_h && f->in_w == t->in_w) {
        rows = (size_t)f->out_c;
        from_cols = (size_t)f->in_c * f->kh * f->kw;
        to_cols = (size_t)t->in_c * t->kh * t->kw;
    } else {
        return fs_err_set(err, FS_EINVAL, "layer %d: only a dense layer or a convolution "
                          "with the same outputs can take more inputs", i);
    }
    if (to_cols < from_cols || rows * from_cols != f->n_weights ||
        rows * to_cols != t->n_weights) {
        return fs_err_set(err, FS_EINVAL, "layer %d: %zu inputs cannot grow into %zu", i,
                          from_cols, to_cols);
    }
    for (size_t r = 0; r < rows; r++) {
        memcpy(t->w + r * to_cols, f->w + r * from_cols, sizeof(float) * from_cols);
        memset(t->w + r * to_cols + from_cols, 0, sizeof(float) * (to_cols - from_cols));
    }
    memcpy(t->b, f->b, sizeof(float) * f->n_bias);
    return 0;
}

int model_widen_inputs(const model_t *from, model_t *to, fs_err_t *err)
{
    model_t *f = (model_t *)from; // model_layer has no const twin; nothing is written
    const int n = model_layer_count(f);
    if (n != model_layer_count(to)) {
        return fs_err_set(err, FS_EINVAL, "the models have %d and %d layers", n,
                          model_layer_count(to));
    }
    int grown = 0;
    for (int i = 0; i < n; i++) {
        const layer_t *lf = model_layer(f, i);
        layer_t *lt = model_layer(to, i);
        if (lf->kind != lt->kind) {
            return fs_err_set(err, FS_EINVAL, "layer %d: %s against %s", i, lf->ops->name,
                              lt->ops->name);
        }
        if (lf->n_weights + lf->n_bias == 0 && lt->n_weights + lt->n_bias == 0) {
            continue;
        }
        if (!grown++) {
            int rc = s_widen_first(lf, lt, i, err);
            if (rc) {
                return rc;
            }
            continue;
        }
        if (lf->n_weights != lt->n_weights || lf->n_bias != lt->n_bias) {
            return fs_err_set(err, FS_EINVAL, "layer %d: %zu + %zu parameters against %zu + %zu",
                              i, lf->n_weights, lf->n_bias, lt->n_weights, lt->n_bias);
        }
        memcpy(lt->w, lf->w, sizeof(float) * lf->n_weights);
        memcpy(lt->b, lf->b, sizeof(float) * lf->n_bias);
    }
    return 0;
}
