/* im2col.h - the data movement behind every convolution.
 *
 * A convolution relates an "image side" (C planes of H x W) and a "column
 * side" (OH x OW positions): column position (oy, ox) sees image pixel
 * (oy*s + ki - pad_top, ox*s + kj - pad_left) through kernel tap (ki, kj).
 * For conv2d the image side is the input; for conv2d-transpose it is the
 * output.  Padding is given as top/left so Keras 'same' (asymmetric at
 * stride 2) is exact; bottom/right padding follows from the sizes.
 *
 * Each function handles one image; image planes are `cstride` floats apart
 * (the batch is stored channel-major, C x N x H x W, so cstride = N*H*W) and
 * matrix rows are `ld` floats apart, so a chunk of images forms one matrix.
 */
#ifndef FS_NN_IM2COL_H
#define FS_NN_IM2COL_H

#include <stddef.h>

typedef struct {
    int c, h, w;            // image side: channels and plane size
    int oh, ow;             // column side: positions
    int kh, kw;             // kernel
    int stride;             // same in both directions
    int pad_top, pad_left;  // zero padding before the first pixel
} conv_geom_t;

// col[(c,ki,kj), (oy,ox)] = img[c, oy*s+ki-pt, ox*s+kj-pl] (0 outside).
void im2col(const conv_geom_t *g, const float *img, size_t cstride, float *col,
            size_t ld);

// img[c, oy*s+ki-pt, ox*s+kj-pl] += col[(c,ki,kj), (oy,ox)]: adjoint of im2col.
void col2im(const conv_geom_t *g, const float *col, size_t ld, float *img,
            size_t cstride);

// Roles swapped, for a conv computed as "GEMM then gather" when it has fewer
// output than input channels: z rows are (c,ki,kj) over image-side positions,
// out[c, (oy,ox)] += sum_k z[(c,k), pos(oy,ox,k)] with c < g->c.
void im2col_gather_sum(const conv_geom_t *g, const float *z, size_t ld, float *out,
                       size_t cstride);

// Adjoint of im2col_gather_sum: z[(c,k), pos(oy,ox,k)] = d[c, (oy,ox)],
// z zeroed elsewhere.
void im2col_scatter(const conv_geom_t *g, const float *d, size_t cstride, float *z,
                    size_t ld);

// The four above for `count` images (image j's planes at +j*step on the
// plane side, its columns at +j*step on the matrix side), split by image
// over the engine's threads (node/nn/parallel.h).
void im2col_images(const conv_geom_t *g, const float *img, size_t img_step, size_t cstride,
                   float *col, size_t col_step, size_t ld, int count);
void col2im_images(const conv_geom_t *g, const float *col, size_t col_step, size_t ld,
                   float *img, size_t img_step, size_t cstride, int count);
void im2col_gather_sum_images(const conv_geom_t *g, const float *z, size_t z_step, size_t ld,
                              float *out, size_t out_step, size_t cstride, int count);
void im2col_scatter_images(const conv_geom_t *g, const float *d, size_t d_step, size_t cstride,
                           float *z, size_t z_step, size_t ld, int count);

#endif
