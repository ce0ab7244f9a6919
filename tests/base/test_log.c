/* test_log.c - the logging helper's JSON lines (node/base/log.h): every
 * log line and structured event becomes one object that a JSON parser
 * reads back, text is escaped, and a file that cannot be opened is an
 * error naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/base/log.h"
#include "tests/support/fixtures.h"

static void test_json_string_escapes(void **state)
{
    (void)state;
    char out[64];
    size_t n = log_json_string("a \"q\" \\ b\n\x01", out, sizeof out);
    assert_string_equal(out, "\"a \\\"q\\\" \\\\ b\\u000a\\u0001\"");
    assert_int_equal(n, strlen(out));
    char small[6];
    n = log_json_string("abcdefgh", small, sizeof small); // cut, still terminated
    assert_int_equal(n, 10);
    assert_int_equal(strlen(small), 5);
}

static void test_json_log_lines(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/node.jsonl", fixture_tmpdir());
    fs_err_t err = {0, ""};
    assert_int_equal(log_open_json(path, "al\"ice", &err), 0);
    log_info("round %d closed with \"%s\"", 3, "all-arrived");
    log_debug("dropped below the level");
    log_json_event("round", "\"round\": 3, \"contributors\": 2");
    log_close_json();
    log_info("after the close: not in the file");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2][512];
    assert_non_null(fgets(line[0], sizeof line[0], f));
    assert_non_null(fgets(line[1], sizeof line[1], f));
    char extra[8];
    assert_null(fgets(extra, sizeof extra, f));
    fclose(f);
    assert_non_null(strstr(line[0], "\"node\": \"al\\\"ice\", \"level\": \"info\", \"event\": "
                                    "\"log\", \"msg\": \"round 3 closed with \\\"all-arrived\\\"\"}"));
    assert_true(strncmp(line[0], "{\"time\": \"20", 12) == 0);
    assert_non_null(strstr(line[1], "\"event\": \"round\", \"round\": 3, \"contributors\": 2}\n"));
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in "
             "open(sys.argv[1])]' %s", path);
    assert_int_equal(system(cmd), 0);

    snprintf(path, sizeof path, "%s/no/such/dir/node.jsonl", fixture_tmpdir());
    assert_int_not_equal(log_open_json(path, "a", &err), 0);
    assert_non_null(strstr(err.msg, "node/log-json"));
    assert_non_null(strstr(err.msg, "no/such/dir/node.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_json_log_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
