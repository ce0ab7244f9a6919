/* widen.c - function-preserving growth of a network (see widen.h). */
#include "node/nn/widen.h"

#include <string.h>

// A layer's weights as rows (one per output: features or channels) of
// columns (its inputs: features, or channels x kh x kw).  Dense weights are
// [out][in], convolution weights [out_c][in_c][kh][kw]: both row-major.
static int s_shape(const layer_t *l, size_t *rows, size_t *cols)
{
    if (l->kind == LAYER_DENSE) {
        *rows = l->n_bias;
        *cols = layer_in_size(l);
    } else if (l->kind == LAYER_CONV2D) {
        *rows = (size_t)l->out_c;
        *cols = (size_t)l->in_c * l->kh * l->kw;
    } else {
        return -1;
    }
    return *rows * *cols == l->n_weights ? 0 : -1;
}

static int s_grow_layer(const layer_t *f, layer_t *t, int i, bool first, bool last,
                        fs_err_t *err)
{
    size_t fr, fc, tr, tc;
    if (f->n_weights == t->n_weights && f->n_bias == t->n_bias) {
        memcpy(t->w, f->w, sizeof(float) * f->n_weights);
        memcpy(t->b, f->b, sizeof(float) * f->n_bias);
        return 0;
    }
    if (s_shape(f, &fr, &fc) || s_shape(t, &tr, &tc) ||
        (f->kind == LAYER_CONV2D && (f->kh != t->kh || f->kw != t->kw ||
                                     f->stride != t->stride || f->in_h != t->in_h ||
                                     f->in_w != t->in_w))) {
        return fs_err_set(err, FS_EINVAL, "layer %d (%s): only a dense layer or a "
                          "convolution of the same geometry can grow", i, f->ops->name);
    }
    if (tr < fr || tc < fc || (tc > fc && !first) || (tr > fr && !last)) {
        return fs_err_set(err, FS_EINVAL, "layer %d (%s): %zu x %zu weights cannot grow into "
                          "%zu x %zu (inputs grow in the first layer, outputs in the last)",
                          i, f->ops->name, fr, fc, tr, tc);
    }
    memset(t->w, 0, sizeof(float) * t->n_weights);
    memset(t->b, 0, sizeof(float) * t->n_bias);
    for (size_t r = 0; r < fr; r++) {
        memcpy(t->w + r * tc, f->w + r * fc, sizeof(float) * fc);
    }
    memcpy(t->b, f->b, sizeof(float) * f->n_bias);
    return 0;
}

int model_grow(const model_t *from, model_t *to, fs_err_t *err)
{
    model_t *f = (model_t *)from; // model_layer has no const twin; nothing is written
    const int n = model_layer_count(f);
    if (n != model_layer_count(to)) {
        return fs_err_set(err, FS_EINVAL, "the models have %d and %d layers", n,
                          model_layer_count(to));
    }
    int first = -1, last = -1;
    for (int i = 0; i < n; i++) {
        const layer_t *lf = model_layer(f, i);
        if (lf->kind != model_layer(to, i)->kind) {
            return fs_err_set(err, FS_EINVAL, "layer %d: %s against %s", i, lf->ops->name,
                              model_layer(to, i)->ops->name);
        }
        if (lf->n_weights + lf->n_bias > 0) {
            first = first < 0 ? i : first;
            last = i;
        }
    }
    for (int i = first; i >= 0 && i <= last; i++) {
        const layer_t *lf = model_layer(f, i);
        layer_t *lt = model_layer(to, i);
        if (lf->n_weights + lf->n_bias + lt->n_weights + lt->n_bias == 0) {
            continue;
        }
        int rc = s_grow_layer(lf, lt, i, i == first, i == last, err);
        if (rc) {
            return rc;
        }
    }
    return 0;
}
