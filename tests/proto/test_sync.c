/* test_sync.c - the decisions on blocks and sync replies
 * (node/proto/sync.h): which index is which case, the fork rule at the
 * head, walking a reply, asking again, and serving a request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/proto/sync.h"

static void test_sync_blocks(void **state)
{
    (void)state;
    // We hold 10 blocks (genesis and 1..9): block 10 is next, 9 competes
    // with our head, 8 is final, 11 means we are behind.
    assert_int_equal(sync_judge_block(10, 10), SYNC_BLOCK_NEXT);
    assert_int_equal(sync_judge_block(10, 9), SYNC_BLOCK_COMPETE);
    assert_int_equal(sync_judge_block(10, 8), SYNC_BLOCK_OLD);
    assert_int_equal(sync_judge_block(10, 11), SYNC_BLOCK_AHEAD);
    // The genesis never competes.
    assert_int_equal(sync_judge_block(1, 0), SYNC_BLOCK_OLD);
    assert_int_equal(sync_judge_block(1, 1), SYNC_BLOCK_NEXT);
    // The fork rule: the lower attempt wins, then the lower hash.
    uint8_t lo[HASH_BYTES] = {1}, hi[HASH_BYTES] = {2};
    assert_true(sync_theirs_wins(1, lo, 0, hi));
    assert_false(sync_theirs_wins(0, hi, 1, lo));
    assert_true(sync_theirs_wins(0, hi, 0, lo));
    assert_false(sync_theirs_wins(0, lo, 0, lo));
}

static void test_sync_replies(void **state)
{
    (void)state;
    // Holding 10: the peer's 9 replaces our head only when it differs and
    // has a successor in the reply.
    assert_int_equal(sync_judge_record(10, 9, 1, 1), SYNC_RECORD_REPLACE_HEAD);
    assert_int_equal(sync_judge_record(10, 9, 1, 0), SYNC_RECORD_SKIP);
    assert_int_equal(sync_judge_record(10, 9, 0, 1), SYNC_RECORD_SKIP);
    assert_int_equal(sync_judge_record(10, 5, 1, 1), SYNC_RECORD_SKIP);
    assert_int_equal(sync_judge_record(10, 10, 1, 0), SYNC_RECORD_APPEND);
    // Block 10 refused in a reply that began at 10: our head may be the odd
    // one, ask from 9; not when the reply began below (it held our 9).
    uint64_t from = 0;
    assert_true(sync_retry_from(10, 10, 10, &from));
    assert_int_equal(from, 9);
    assert_false(sync_retry_from(10, 10, 9, &from));
    assert_false(sync_retry_from(1, 1, 1, &from));
    // Serving: at most SYNC_MAX_RECORDS, the model with the head only.
    uint64_t start, end;
    int with_model;
    assert_int_equal(sync_serve(100, 10, 1, &start, &end, &with_model), 0);
    assert_int_equal(start, 10);
    assert_int_equal(end, 10 + SYNC_MAX_RECORDS);
    assert_false(with_model);
    assert_int_equal(sync_serve(100, 90, 1, &start, &end, &with_model), 0);
    assert_int_equal(end, 100);
    assert_true(with_model);
    assert_int_equal(sync_serve(100, 90, 0, &start, &end, &with_model), 0);
    assert_false(with_model);
    assert_int_equal(sync_serve(100, 100, 1, &start, &end, &with_model), 0);
    assert_int_equal(start, end); // nothing new: the model alone
    assert_true(with_model);
    assert_int_equal(sync_serve(100, 101, 1, &start, &end, &with_model), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_blocks),
        cmocka_unit_test(test_sync_replies),
    };
    return cmocka_run_group_tests_name("proto_sync", tests, NULL, NULL);
}
