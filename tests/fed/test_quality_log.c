/* test_quality_log.c - quality.jsonl: the line of a record byte for byte
 * (a golden line), null for what is unknown or not finite, appends of
 * whole lines, and the torn last line a crash leaves: cut at open (how many
 * bytes reported), whatever its length, while whole lines stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/fed/quality_log.h"
#include "tests/support/fixtures.h"

static quality_log_record_t s_record(uint64_t round)
{
    quality_log_record_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.node, sizeof r.node, "alice");
    r.round = round;
    for (int i = 0; i < HASH_BYTES; i++) {
        r.model_hash[i] = (uint8_t)(i * 8 + 1);
    }
    r.samples = 1000;
    r.fid_test = 48.31234;
    r.classes_present = 9;
    for (int k = 0; k < 10; k++) {
        r.class_share[k] = k == 9 ? 0.01 : 0.11;
    }
    r.label_agreement = 0.951;
    r.has_losses = 1;
    snprintf(r.loss_name[0], sizeof r.loss_name[0], "d_loss");
    snprintf(r.loss_name[1], sizeof r.loss_name[1], "g_loss");
    r.loss[0] = 0.6125;
    r.loss[1] = 1.25;
    for (int i = 0; i < 8; i++) {
        r.evaluator_hash[i] = (uint8_t)(0xa0 + i);
    }
    r.time_ms = 1790000000123ULL;
    r.seconds = 3.25;
    return r;
}

static char *s_file(const char *path, size_t *n)
{
    uint8_t *b = fixture_read(path, n);
    assert_non_null(b);
    b[*n] = 0; // fixture_read leaves a byte for this
    return (char *)b;
}

static void test_quality_log_usage(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/usage.jsonl", fixture_tmpdir());
    uint64_t cut = 99;
    fs_err_t err = {0, ""};
    quality_log_t *log = quality_log_open(path, &cut, &err); // created
    assert_non_null(log);
    assert_int_equal(cut, 0);
    quality_log_record_t r = s_record(12);
    assert_int_equal(quality_log_append(log, &r, &err), 0);
    r.round = 13;
    r.label_agreement = -1; // an unconditional model
    r.has_losses = 0;       // this member did not train round 13
    r.fid_test = NAN;       // a diverged model
    assert_int_equal(quality_log_append(log, &r, &err), 0);
    quality_log_destroy(&log);
    assert_null(log);
    quality_log_destroy(&log); // harmless

    size_t n;
    char *text = s_file(path, &n);
    const char *want =
        "{\"node\": \"alice\", \"round\": 12, \"model_hash\": "
        "\"0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9\", "
        "\"samples\": 1000, \"fid_test\": 48.3123, \"classes_present\": 9, "
        "\"class_share\": [0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, "
        "0.1100, 0.0100], \"label_agreement\": 0.9510, "
        "\"losses\": {\"d_loss\": 0.6125, \"g_loss\": 1.25}, \"evaluator\": \"a0a1a2a3a4a5a6a7\", "
        "\"time_ms\": 1790000000123, \"seconds\": 3.250}\n"
        "{\"node\": \"alice\", \"round\": 13, \"model_hash\": "
        "\"0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9\", "
        "\"samples\": 1000, \"fid_test\": null, \"classes_present\": 9, "
        "\"class_share\": [0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, 0.1100, "
        "0.1100, 0.0100], \"label_agreement\": null, "
        "\"losses\": null, \"evaluator\": \"a0a1a2a3a4a5a6a7\", "
        "\"time_ms\": 1790000000123, \"seconds\": 3.250}\n";
    assert_string_equal(text, want);
    free(text);
}

// A torn last line (a crash inside write(2)) is cut at open; the whole
// lines before it stay and the next append starts a line of its own.
static void test_torn_last_line_is_cut(void **state)
{
    (void)state;
    static const char *whole = "{\"round\": 1}\n{\"round\": 2}\n";
    static const char *torn = "{\"node\": \"alice\", \"rou";
    char text[256];
    snprintf(text, sizeof text, "%s%s", whole, torn);
    const char *path = fixture_write("torn.jsonl", text, strlen(text));
    uint64_t cut = 0;
    fs_err_t err = {0, ""};
    quality_log_t *log = quality_log_open(path, &cut, &err);
    assert_non_null(log);
    assert_int_equal(cut, strlen(torn));
    size_t n;
    char *now = s_file(path, &n);
    assert_string_equal(now, whole); // cut on disk at open, before any append
    free(now);
    quality_log_record_t r = s_record(3);
    assert_int_equal(quality_log_append(log, &r, &err), 0);
    quality_log_destroy(&log);
    now = s_file(path, &n);
    assert_int_equal(strncmp(now, whole, strlen(whole)), 0);
    assert_int_equal(strncmp(now + strlen(whole), "{\"node\": \"alice\", \"round\": 3,", 28), 0);
    assert_true(n > strlen(whole) && now[n - 1] == '\n');
    assert_null(memchr(now + strlen(whole), '\n', n - strlen(whole) - 1)); // one line added
    free(now);

    // A file that ends in a newline is left as it is.
    log = quality_log_open(path, &cut, &err);
    assert_non_null(log);
    assert_int_equal(cut, 0);
    quality_log_destroy(&log);
    size_t n2;
    now = s_file(path, &n2);
    assert_int_equal(n2, n);
    free(now);
}

static void test_torn_first_and_long_lines(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    uint64_t cut = 0;
    // nothing but a torn line: the file becomes empty
    const char *path = fixture_write("only-torn.jsonl", "{\"nod", 5);
    quality_log_t *log = quality_log_open(path, &cut, &err);
    assert_non_null(log);
    assert_int_equal(cut, 5);
    quality_log_destroy(&log);
    size_t n;
    char *now = s_file(path, &n);
    assert_int_equal(n, 0);
    free(now);

    // a torn tail longer than the reader's chunk, after a whole line
    size_t tail = 10000;
    char *big = malloc(6 + tail);
    memcpy(big, "{\"a\"}\n", 6);
    memset(big + 6, 'x', tail);
    path = fixture_write("long-torn.jsonl", big, 6 + tail);
    log = quality_log_open(path, &cut, &err);
    assert_non_null(log);
    assert_int_equal(cut, tail);
    quality_log_destroy(&log);
    now = s_file(path, &n);
    assert_string_equal(now, "{\"a\"}\n");
    free(now);
    free(big);

    // an empty file stays empty
    path = fixture_write("empty.jsonl", "", 0);
    log = quality_log_open(path, &cut, &err);
    assert_non_null(log);
    assert_int_equal(cut, 0);
    quality_log_destroy(&log);
}

static void test_errors_name_the_file(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/q.jsonl", fixture_tmpdir());
    assert_null(quality_log_open(path, NULL, &err));
    assert_int_equal(err.code, FS_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir/q.jsonl: cannot open"));
    quality_log_record_t r = s_record(1);
    char small[64];
    assert_int_equal(quality_log_format(&r, small, sizeof small, &err), FS_ETOOBIG);
    assert_non_null(strstr(err.msg, "round 1"));
    char line[QUALITY_LOG_LINE_MAX];
    int len = quality_log_format(&r, line, sizeof line, &err);
    assert_true(len > 0 && (size_t)len == strlen(line) && line[len - 1] == '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_log_usage),
        cmocka_unit_test(test_torn_last_line_is_cut),
        cmocka_unit_test(test_torn_first_and_long_lines),
        cmocka_unit_test(test_errors_name_the_file),
    };
    return cmocka_run_group_tests_name("quality_log", tests, NULL, fixture_teardown);
}
