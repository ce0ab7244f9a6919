/* test_png_grid.c - grids of samples as PNG (node/image/png_grid.h): the
 * file libpng reads back has the documented layout (tiles of zoom x zoom
 * pixels, 2-pixel dark borders) and the images' values. */
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/image/png_grid.h"
#include "tests/support/fixtures.h"

// Reads an RGB PNG with libpng's simplified API; caller frees.
static uint8_t *s_read(const char *path, int *w, int *h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&im, path));
    im.format = PNG_FORMAT_RGB;
    uint8_t *pix = malloc(PNG_IMAGE_SIZE(im));
    assert_true(png_image_finish_read(&im, NULL, pix, 0, NULL));
    *w = (int)im.width;
    *h = (int)im.height;
    return pix;
}

static void test_png_grid_usage(void **state)
{
    (void)state;
    // three grey 2x3 images (value = image index / 3 + pixel / 100), two
    // per row, each pixel drawn 2x2
    float img[3 * 2 * 3];
    for (int i = 0; i < 3; i++) {
        for (int p = 0; p < 6; p++) {
            img[i * 6 + p] = (float)i / 3 + (float)p / 100;
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(png_grid_save(path, img, 3, 1, 2, 3, 2, 2, &err), 0);
    int W, H;
    uint8_t *pix = s_read(path, &W, &H);
    assert_int_equal(W, 2 * (3 * 2 + 2) + 2); // cols x (tile + border) + border
    assert_int_equal(H, 2 * (2 * 2 + 2) + 2); // rows: 3 images, 2 per row
    for (int i = 0; i < 3; i++) {
        const int ox = 2 + (i % 2) * 8, oy = 2 + (i / 2) * 6;
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                const uint8_t *px = pix + ((size_t)(oy + y) * W + ox + x) * 3;
                float v = img[i * 6 + (y / 2) * 3 + x / 2];
                uint8_t want = (uint8_t)(v * 255.0f + 0.5f);
                assert_int_equal(px[0], want);
                assert_int_equal(px[1], want); // grey: the same in every channel
                assert_int_equal(px[2], want);
            }
        }
    }
    assert_int_equal(pix[0], 40); // border
    // the fourth cell of the grid is empty: border colour
    assert_int_equal(pix[((size_t)(2 + 6) * W + 2 + 8) * 3], 40);
    free(pix);
}

// RGB planes, values outside [0,1] clamped; bad arguments refused by name.
static void test_png_grid_rgb_and_refusals(void **state)
{
    (void)state;
    const float img[3] = {-0.5f, 0.5f, 7.0f}; // one 1x1 RGB image: R, G, B planes
    char path[512];
    snprintf(path, sizeof path, "%s/rgb.png", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(png_grid_save(path, img, 1, 3, 1, 1, 8, 1, &err), 0);
    int W, H;
    uint8_t *pix = s_read(path, &W, &H);
    assert_int_equal(W, 5); // cols is cut to n
    assert_int_equal(H, 5);
    const uint8_t *px = pix + ((size_t)2 * W + 2) * 3;
    assert_int_equal(px[0], 0);
    assert_int_equal(px[1], 128);
    assert_int_equal(px[2], 255);
    free(pix);
    assert_int_equal(png_grid_save(path, img, 1, 2, 1, 1, 1, 1, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "2 channels"));
    assert_int_equal(png_grid_save(path, img, 0, 1, 1, 1, 1, 1, &err), FS_EINVAL);
    // a folder that does not exist: an error naming the path, no file
    assert_int_not_equal(png_grid_save("/nonexistent-dir/x.png", img, 1, 1, 1, 1, 1, 1, &err),
                         0);
    assert_non_null(strstr(err.msg, "nonexistent-dir"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_grid_usage),
        cmocka_unit_test(test_png_grid_rgb_and_refusals),
    };
    return cmocka_run_group_tests_name("png_grid", tests, NULL, fixture_teardown);
}
