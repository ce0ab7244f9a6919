/* png_grid.c - sample grids as PNG files via libpng (see png_grid.h).
 *
 * libpng writes to a memory stream, then fsio makes the file appear
 * atomically, so a reader never sees half a picture.
 */
#include "node/image/png_grid.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/fsio.h"
#include "node/base/mem.h"

#define BORDER 2

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} s_sink_t;

static void s_write(png_structp png, png_bytep data, png_size_t n)
{
    s_sink_t *s = png_get_io_ptr(png);
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

static void s_flush(png_structp png) { (void)png; }

int png_grid_save(const char *path, const float *images, int n, int c, int h, int w,
                  int cols, int zoom, fs_err_t *err)
{
    if (n < 1 || (c != 1 && c != 3) || cols < 1 || zoom < 1) {
        return fs_err_set(err, FS_EINVAL, "%s: cannot draw %d images of %d channels", path, n,
                          c);
    }
    cols = cols > n ? n : cols;
    const int rows = (n + cols - 1) / cols;
    const int tw = w * zoom, th = h * zoom;
    const int W = cols * (tw + BORDER) + BORDER, H = rows * (th + BORDER) + BORDER;
    unsigned char *pix = xmalloc((size_t)W * H * 3);
    memset(pix, 40, (size_t)W * H * 3); // dark grey border
    for (int i = 0; i < n; i++) {
        const float *img = images + (size_t)i * c * h * w;
        int ox = BORDER + (i % cols) * (tw + BORDER), oy = BORDER + (i / cols) * (th + BORDER);
        for (int y = 0; y < th; y++) {
            for (int x = 0; x < tw; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    float v = img[(size_t)(c == 3 ? ch : 0) * h * w + (size_t)(y / zoom) * w +
                                  x / zoom];
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    pix[((size_t)(oy + y) * W + ox + x) * 3 + ch] =
                        (unsigned char)(v * 255.0f + 0.5f);
                }
            }
        }
    }
    s_sink_t sink = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(pix);
        free(sink.buf);
        return fs_err_set(err, FS_EIO, "%s: libpng failed to encode the grid", path);
    }
    png_set_write_fn(png, &sink, s_write, s_flush);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < H; y++) {
        png_write_row(png, pix + (size_t)y * W * 3);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(pix);
    int rc = fsio_write_atomic(path, sink.buf, sink.len, 0644, err);
    free(sink.buf);
    return rc;
}
