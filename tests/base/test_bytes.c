/* test_bytes.c - the bounded little-endian readers and writers every format
 * of fedsyn goes through (node/base/bytes.h): how to use them, and that a
 * short read is sticky. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/bytes.h"

static void test_bytes_usage(void **state)
{
    (void)state;
    // Write a small structure: a length-prefixed field patched afterwards.
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put_u8(&w, 0xab);
    bytes_put_u16(&w, 0x1234);
    size_t len_at = w.len;
    bytes_put_u32(&w, 0); // patched below
    bytes_put(&w, "abc", 3);
    bytes_patch_u32(&w, len_at, 3);
    bytes_put_u64(&w, 0x0102030405060708ull);
    bytes_put_f64(&w, -2.5);
    // little-endian on every machine
    static const uint8_t want[] = {0xab, 0x34, 0x12, 3, 0, 0, 0, 'a', 'b', 'c',
                                   8, 7, 6, 5, 4, 3, 2, 1,
                                   0, 0, 0, 0, 0, 0, 0x04, 0xc0};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.data, want, sizeof want);

    // Read it back and check once at the end.
    bytes_reader_t r;
    bytes_reader_init(&r, w.data, w.len);
    assert_int_equal(bytes_get_u8(&r), 0xab);
    assert_int_equal(bytes_get_u16(&r), 0x1234);
    uint32_t n = bytes_get_u32(&r);
    const uint8_t *s = bytes_view(&r, n);
    assert_memory_equal(s, "abc", 3);
    assert_true(bytes_get_u64(&r) == 0x0102030405060708ull);
    assert_true(bytes_get_f64(&r) == -2.5);
    assert_int_equal(bytes_remaining(&r), 0);
    assert_false(r.short_read);

    // A writer's buffer can be handed over.
    size_t got;
    uint8_t *buf = bytes_writer_take(&w, &got);
    assert_int_equal(got, sizeof want);
    assert_int_equal(w.len, 0);
    free(buf);
    bytes_writer_reset(&w);
}

// A read past the end returns zeros, sets short_read, and every later read
// fails too, even one that would fit.
static void test_short_read_is_sticky(void **state)
{
    (void)state;
    const uint8_t b[5] = {1, 2, 3, 4, 5};
    bytes_reader_t r;
    bytes_reader_init(&r, b, sizeof b);
    assert_int_equal(bytes_get_u32(&r), 0x04030201);
    assert_int_equal(bytes_get_u16(&r), 0); // 1 byte left
    assert_true(r.short_read);
    assert_int_equal(bytes_get_u8(&r), 0); // would fit, still refused
    assert_null(bytes_view(&r, 1));
    uint8_t dst[4] = {9, 9, 9, 9};
    bytes_get(&r, dst, sizeof dst);
    assert_memory_equal(dst, (uint8_t[4]){0}, 4);
    // a huge length does not wrap around
    bytes_reader_init(&r, b, sizeof b);
    assert_null(bytes_view(&r, SIZE_MAX));
    assert_true(r.short_read);
}

// A writer grows as needed; put_space hands out room to fill.
static void test_writer_grows(void **state)
{
    (void)state;
    bytes_writer_t w;
    bytes_writer_init(&w);
    for (uint32_t i = 0; i < 100000; i++) {
        bytes_put_u32(&w, i);
    }
    uint8_t *p = bytes_put_space(&w, 3);
    memcpy(p, "xyz", 3);
    assert_int_equal(w.len, 400003);
    assert_true(w.cap >= w.len);
    assert_int_equal(bytes_load_u32(w.data + 4 * 99999), 99999);
    assert_memory_equal(w.data + 400000, "xyz", 3);
    bytes_store_u32(w.data, 0xdeadbeef);
    assert_int_equal(w.data[0], 0xef);
    bytes_writer_reset(&w);
    assert_null(w.data);
    assert_int_equal(w.len, 0);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t b[3] = {0x00, 0xa5, 0xff};
    char hex[7];
    bytes_to_hex(b, 3, hex);
    assert_string_equal(hex, "00a5ff");
    uint8_t back[3];
    assert_int_equal(bytes_from_hex("00a5ff", back, 3), 0);
    assert_memory_equal(back, b, 3);
    assert_int_equal(bytes_from_hex("00A5FF", back, 3), 0); // either case
    assert_int_equal(bytes_from_hex("00a5f", back, 3), -1); // too short
    assert_int_equal(bytes_from_hex("00a5ff00", back, 3), -1); // too long
    assert_int_equal(bytes_from_hex("00a5fg", back, 3), -1); // not hex
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_usage),
        cmocka_unit_test(test_short_read_is_sticky),
        cmocka_unit_test(test_writer_grows),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
