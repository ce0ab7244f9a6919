/* test_model_file.c - the model file round trip and its corruption cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/nn/model_file.h"
#include "tests/support/fixtures.h"

static const float s_w[5] = {1.5f, -2.0f, 0.0f, 3.25f, -0.125f};

static const char *s_save(void)
{
    const char *meta = "arch=test width=4\n";
    model_section_t s[2] = {{"meta", SECTION_TEXT, meta, strlen(meta)},
                            {"weights", SECTION_FLOATS, s_w, sizeof s_w}};
    static char path[512];
    snprintf(path, sizeof path, "%s/m.fsm", fixture_tmpdir());
    fs_err_t err;
    assert_int_equal(model_file_save(path, s, 2, &err), 0);
    return path;
}

static void test_model_file_usage(void **state)
{
    (void)state;
    const char *path = s_save();
    fs_err_t err = {0, ""};
    model_file_t *f = model_file_load(path, &err);
    assert_non_null(f);
    float w[5];
    assert_int_equal(model_file_floats(f, "weights", w, 5, &err), 0);
    assert_memory_equal(w, s_w, sizeof w);
    char v[16];
    assert_int_equal(model_file_meta(f, "meta", "width", v, sizeof v), 0);
    assert_string_equal(v, "4");
    // asking for the wrong parameter count names the mismatch
    assert_int_equal(model_file_floats(f, "weights", w, 4, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "holds 5 floats"));
    assert_int_equal(model_file_floats(f, "nope", w, 5, &err), FS_EINVAL);
    model_file_destroy(&f);
    assert_null(f);
}

static void test_model_file_refuses_every_truncation(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = fixture_read(s_save(), &n);
    for (size_t cut = 0; cut < n; cut++) {
        fs_err_t err = {0, ""};
        model_file_t *f = model_file_decode(buf, cut, "cut", &err);
        if (f) {
            fail_msg("a file cut to %zu of %zu bytes was accepted", cut, n);
        }
        assert_true(err.code == FS_ECORRUPT);
    }
    free(buf);
}

static void test_model_file_refuses_every_bit_flip(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = fixture_read(s_save(), &n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            buf[i] ^= (uint8_t)(1 << bit);
            fs_err_t err = {0, ""};
            model_file_t *f = model_file_decode(buf, n, "flip", &err);
            if (f) {
                fail_msg("bit %d of byte %zu flipped and the file was accepted", bit, i);
            }
            buf[i] ^= (uint8_t)(1 << bit);
        }
    }
    free(buf);
}

static void test_model_file_messages(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = fixture_read(s_save(), &n);
    fs_err_t err = {0, ""};
    assert_null(model_file_decode(buf, n - 10, "short.fsm", &err));
    assert_non_null(strstr(err.msg, "truncated"));
    buf[8] = 9; // version
    assert_null(model_file_decode(buf, n, "v9.fsm", &err));
    assert_non_null(strstr(err.msg, "version 9"));
    buf[8] = 1;
    buf[30] ^= 1; // inside a section name: only the checksum notices
    assert_null(model_file_decode(buf, n, "flip.fsm", &err));
    assert_int_equal(err.code, FS_EVERIFY);
    assert_non_null(strstr(err.msg, "checksum"));
    buf[0] = 'X';
    assert_null(model_file_decode(buf, n, "magic.fsm", &err));
    assert_non_null(strstr(err.msg, "magic"));
    free(buf);
    assert_null(model_file_load("/nonexistent/x.fsm", &err));
    assert_int_equal(err.code, FS_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_file_usage),
        cmocka_unit_test(test_model_file_refuses_every_truncation),
        cmocka_unit_test(test_model_file_refuses_every_bit_flip),
        cmocka_unit_test(test_model_file_messages),
    };
    return cmocka_run_group_tests_name("model_file", tests, NULL, fixture_teardown);
}
