/* png_grid.h - writes a grid of images as one PNG (libpng).
 *
 * Usage: see tests/image/test_png_grid.c
 */
#ifndef FS_IMAGE_PNG_GRID_H
#define FS_IMAGE_PNG_GRID_H

#include "node/base/err.h"

// images: n x c x h x w floats in [0,1] (c = 1 grey or 3 RGB planes); cols
// per row; a 2-pixel border separates tiles; each tile is scaled by `zoom`.
// Written atomically.
int png_grid_save(const char *path, const float *images, int n, int c, int h, int w,
                  int cols, int zoom, fs_err_t *err);

#endif
