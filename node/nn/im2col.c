/* im2col.c - im2col/col2im and their role-swapped twins (see im2col.h).
 *
 * The inner loops run over output columns with the valid range of ox
 * computed once per (tap, row), so no bounds test sits in the hot loop.
 */
#include "node/nn/im2col.h"

#include "node/nn/parallel.h"

#include <string.h>

// Range [lo, hi) of ox for which ix = ox*s + kj - pl lies inside [0, w).
static void s_valid_range(int w, int ow, int s, int off, int *lo, int *hi)
{
    // ix >= 0  <=>  ox >= ceil(-off / s)
    int a = off >= 0 ? 0 : (-off + s - 1) / s;
    // ix < w  <=>  ox <= (w - 1 - off) / s
    int b = (w - 1 - off) < 0 ? 0 : (w - 1 - off) / s + 1;
    if (b > ow) {
        b = ow;
    }
    if (a > b) {
        a = b;
    }
    *lo = a;
    *hi = b;
}

void im2col(const conv_geom_t *g, const float *img, size_t cstride, float *col,
            size_t ld)
{
    const int s = g->stride;
    for (int c = 0; c < g->c; c++) {
        const float *plane = img + (size_t)c * cstride;
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = col + (size_t)((c * g->kh + ki) * g->kw + kj) * ld;
                int lo, hi;
                s_valid_range(g->w, g->ow, s, kj - g->pad_left, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    float *out = row + (size_t)oy * g->ow;
                    int iy = oy * s + ki - g->pad_top;
                    if (iy < 0 || iy >= g->h) {
                        memset(out, 0, sizeof(float) * (size_t)g->ow);
                        continue;
                    }
                    const float *in = plane + (size_t)iy * g->w + kj - g->pad_left;
                    for (int ox = 0; ox < lo; ox++) {
                        out[ox] = 0;
                    }
                    if (s == 1) {
                        memcpy(out + lo, in + lo, sizeof(float) * (size_t)(hi - lo));
                    } else {
                        for (int ox = lo; ox < hi; ox++) {
                            out[ox] = in[ox * s];
                        }
                    }
                    for (int ox = hi; ox < g->ow; ox++) {
                        out[ox] = 0;
                    }
                }
            }
        }
    }
}

void col2im(const conv_geom_t *g, const float *col, size_t ld, float *img,
            size_t cstride)
{
    const int s = g->stride;
    for (int c = 0; c < g->c; c++) {
        float *plane = img + (size_t)c * cstride;
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                const float *row = col + (size_t)((c * g->kh + ki) * g->kw + kj) * ld;
                int lo, hi;
                s_valid_range(g->w, g->ow, s, kj - g->pad_left, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * s + ki - g->pad_top;
                    if (iy < 0 || iy >= g->h) {
                        continue;
                    }
                    const float *in = row + (size_t)oy * g->ow;
                    float *out = plane + (size_t)iy * g->w + kj - g->pad_left;
                    for (int ox = lo; ox < hi; ox++) {
                        out[ox * s] += in[ox];
                    }
                }
            }
        }
    }
}

void im2col_gather_sum(const conv_geom_t *g, const float *z, size_t ld, float *out,
                       size_t cstride)
{
    const int s = g->stride;
    for (int c = 0; c < g->c; c++) {
        float *plane = out + (size_t)c * cstride;
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                const float *row = z + (size_t)((c * g->kh + ki) * g->kw + kj) * ld;
                int lo, hi;
                s_valid_range(g->w, g->ow, s, kj - g->pad_left, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * s + ki - g->pad_top;
                    if (iy < 0 || iy >= g->h) {
                        continue;
                    }
                    const float *in = row + (size_t)iy * g->w + kj - g->pad_left;
                    float *o = plane + (size_t)oy * g->ow;
                    for (int ox = lo; ox < hi; ox++) {
                        o[ox] += in[ox * s];
                    }
                }
            }
        }
    }
}

void im2col_scatter(const conv_geom_t *g, const float *d, size_t cstride, float *z,
                    size_t ld)
{
    const int s = g->stride;
    for (int c = 0; c < g->c; c++) {
        const float *plane = d + (size_t)c * cstride;
        for (int ki = 0; ki < g->kh; ki++) {
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = z + (size_t)((c * g->kh + ki) * g->kw + kj) * ld;
                memset(row, 0, sizeof(float) * (size_t)g->h * (size_t)g->w);
                int lo, hi;
                s_valid_range(g->w, g->ow, s, kj - g->pad_left, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * s + ki - g->pad_top;
                    if (iy < 0 || iy >= g->h) {
                        continue;
                    }
                    float *o = row + (size_t)iy * g->w + kj - g->pad_left;
                    const float *in = plane + (size_t)oy * g->ow;
                    for (int ox = lo; ox < hi; ox++) {
                        o[ox * s] = in[ox];
                    }
                }
            }
        }
    }
}

// The same four, for `count` images at once, split by image over the
// engine's threads (parallel.h): image j's planes start at planes +
// j * plane_step, its matrix columns at mat + j * mat_step.  Images write
// disjoint memory, so the result is the same on any number of threads.
typedef struct {
    int op; // 0 im2col, 1 col2im, 2 gather_sum, 3 scatter
    const conv_geom_t *g;
    const float *in_planes;
    float *out_planes;
    const float *in_mat;
    float *out_mat;
    size_t plane_step, cstride, mat_step, ld;
} s_images_t;

static void s_images_range(void *arg, size_t begin, size_t end)
{
    const s_images_t *a = arg;
    for (size_t j = begin; j < end; j++) {
        switch (a->op) {
        case 0:
            im2col(a->g, a->in_planes + j * a->plane_step, a->cstride, a->out_mat + j * a->mat_step,
                   a->ld);
            break;
        case 1:
            col2im(a->g, a->in_mat + j * a->mat_step, a->ld, a->out_planes + j * a->plane_step,
                   a->cstride);
            break;
        case 2:
            im2col_gather_sum(a->g, a->in_mat + j * a->mat_step, a->ld,
                              a->out_planes + j * a->plane_step, a->cstride);
            break;
        default:
            im2col_scatter(a->g, a->in_planes + j * a->plane_step, a->cstride,
                           a->out_mat + j * a->mat_step, a->ld);
            break;
        }
    }
}

static void s_images(s_images_t *a, int count)
{
    parallel_for((size_t)count, 1, s_images_range, a);
}

void im2col_images(const conv_geom_t *g, const float *img, size_t img_step, size_t cstride,
                   float *col, size_t col_step, size_t ld, int count)
{
    s_images_t a = {0, g, img, NULL, NULL, col, img_step, cstride, col_step, ld};
    s_images(&a, count);
}

void col2im_images(const conv_geom_t *g, const float *col, size_t col_step, size_t ld,
                   float *img, size_t img_step, size_t cstride, int count)
{
    s_images_t a = {1, g, NULL, img, col, NULL, img_step, cstride, col_step, ld};
    s_images(&a, count);
}

void im2col_gather_sum_images(const conv_geom_t *g, const float *z, size_t z_step, size_t ld,
                              float *out, size_t out_step, size_t cstride, int count)
{
    s_images_t a = {2, g, NULL, out, z, NULL, out_step, cstride, z_step, ld};
    s_images(&a, count);
}

void im2col_scatter_images(const conv_geom_t *g, const float *d, size_t d_step, size_t cstride,
                           float *z, size_t z_step, size_t ld, int count)
{
    s_images_t a = {3, g, d, NULL, NULL, z, d_step, cstride, z_step, ld};
    s_images(&a, count);
}
