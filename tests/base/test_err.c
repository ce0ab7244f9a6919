/* test_err.c - fedsyn's one error convention (node/base/err.h): a failing
 * path returns the code and leaves a message naming what was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/err.h"

// A callee sets the error, its caller adds where it happened.
static int s_read_field(int value, fs_err_t *err)
{
    if (value < 0) {
        return fs_err_set(err, FS_ECORRUPT, "count %d, expected 0 or more", value);
    }
    return 0;
}

static int s_read_block(int i, int value, fs_err_t *err)
{
    int rc = s_read_field(value, err);
    if (rc < 0) {
        return fs_err_prefix(err, rc, "block %d: ", i);
    }
    return 0;
}

static void test_err_usage(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    assert_int_equal(s_read_block(3, 1, &err), 0);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    assert_int_equal(s_read_block(3, -2, &err), FS_ECORRUPT);
    assert_int_equal(err.code, FS_ECORRUPT);
    assert_string_equal(err.msg, "block 3: count -2, expected 0 or more");
    // err may be NULL: the code still comes back
    assert_int_equal(s_read_block(3, -2, NULL), FS_ECORRUPT);
}

static void test_err_names_and_limits(void **state)
{
    (void)state;
    for (int c = 0; c > -FS_ERR_CODE_COUNT; c--) {
        assert_non_null(fs_strerror(c));
        assert_true(strlen(fs_strerror(c)) > 0);
    }
    assert_string_equal(fs_strerror(FS_ECORRUPT), "corrupt");
    assert_non_null(fs_strerror(-1000)); // never NULL
    assert_non_null(fs_strerror(7));
    // a message longer than the buffer is cut, still NUL-terminated
    fs_err_t err;
    char big[2 * FS_ERR_MSG_BYTES];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(fs_err_set(&err, FS_EINVAL, "%s", big), FS_EINVAL);
    assert_int_equal(strlen(err.msg), FS_ERR_MSG_BYTES - 1);
    assert_int_equal(fs_err_prefix(&err, FS_EINVAL, "file: "), FS_EINVAL);
    assert_int_equal(strlen(err.msg), FS_ERR_MSG_BYTES - 1);
    assert_memory_equal(err.msg, "file: xxx", 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_usage),
        cmocka_unit_test(test_err_names_and_limits),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
