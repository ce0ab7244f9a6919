/* test_election.c - the aggregator lottery: deterministic, a permutation,
 * fair over many rounds (chi-square), changes with the previous hash, and
 * the fork rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "ledger/election.h"

#define N 8

static void s_keys(uint8_t keys[N][IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < N; i++) {
        hash_digest(HASH_TAG_FPR, &i, sizeof i, keys[i]);
    }
}

static void test_election_usage(void **state)
{
    (void)state;
    uint8_t keys[N][IDENTITY_KEY_BYTES], prev[HASH_BYTES] = {1};
    s_keys(keys);
    // Every node computes the same order from the same ledger head.
    size_t a[N], b[N];
    election_order(prev, 7, keys[0], N, a);
    election_order(prev, 7, keys[0], N, b);
    assert_memory_equal(a, b, sizeof a);
    // It is a permutation; attempt k picks rank k mod n.
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        seen[a[i]]++;
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(seen[i], 1);
        assert_int_equal(election_candidate(prev, 7, keys[0], N, (uint32_t)i), a[i]);
        assert_int_equal(election_candidate(prev, 7, keys[0], N, (uint32_t)(i + N)), a[i]);
    }
    // One member: always it.
    assert_int_equal(election_candidate(prev, 7, keys[0], 1, 3), 0);
}

// Over 16,000 rounds with random heads each member is first ~1/8 of the
// time: chi-square with 7 degrees of freedom below 24.3 (p = 0.001).
static void test_election_is_fair(void **state)
{
    (void)state;
    uint8_t keys[N][IDENTITY_KEY_BYTES], prev[HASH_BYTES];
    s_keys(keys);
    const int rounds = 16000;
    int first[N] = {0}, second[N] = {0};
    for (int r = 0; r < rounds; r++) {
        hash_digest(HASH_TAG_BLOCK, &r, sizeof r, prev);
        size_t order[N];
        election_order(prev, (uint64_t)r, keys[0], N, order);
        first[order[0]]++;
        second[order[1]]++;
    }
    double e = rounds / (double)N, chi1 = 0, chi2 = 0;
    for (int i = 0; i < N; i++) {
        chi1 += (first[i] - e) * (first[i] - e) / e;
        chi2 += (second[i] - e) * (second[i] - e) / e;
    }
    print_message("chi-square first %.2f second %.2f (7 df, limit 24.3)\n", chi1, chi2);
    assert_true(chi1 < 24.3);
    assert_true(chi2 < 24.3);
}

// The order depends on the previous block's hash, the round and the set.
static void test_election_unpredictable(void **state)
{
    (void)state;
    uint8_t keys[N][IDENTITY_KEY_BYTES], prev[HASH_BYTES] = {0};
    s_keys(keys);
    int changed = 0;
    size_t base = election_candidate(prev, 1, keys[0], N, 0);
    for (int bit = 0; bit < 64; bit++) {
        prev[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        changed += election_candidate(prev, 1, keys[0], N, 0) != base;
        prev[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    }
    // One bit of the head moves the winner about 7 times in 8.
    assert_true(changed > 40);
    assert_true(election_candidate(prev, 2, keys[0], N, 0) != base ||
                election_candidate(prev, 3, keys[0], N, 0) != base);
}

static void test_election_fork_rule(void **state)
{
    (void)state;
    uint8_t h1[HASH_BYTES] = {1}, h2[HASH_BYTES] = {2};
    assert_true(election_prefer(0, h2, 1, h1) > 0); // lower attempt wins
    assert_true(election_prefer(2, h1, 1, h2) < 0);
    assert_true(election_prefer(1, h1, 1, h2) > 0); // then lower hash
    assert_int_equal(election_prefer(1, h1, 1, h1), 0);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election_usage),
        cmocka_unit_test(test_election_is_fair),
        cmocka_unit_test(test_election_unpredictable),
        cmocka_unit_test(test_election_fork_rule),
    };
    return cmocka_run_group_tests_name("election", tests, NULL, NULL);
}
