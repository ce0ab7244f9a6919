/* test_membership.c - the membership AUC (node/metrics/membership.h)
 * against its definition: the share of (member, non-member) pairs in which
 * the member scores higher, ties counting half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/base/rng.h"
#include "node/metrics/membership.h"

static double s_pairs(const float *in, size_t n_in, const float *out, size_t n_out)
{
    double won = 0;
    for (size_t i = 0; i < n_in; i++) {
        for (size_t j = 0; j < n_out; j++) {
            won += in[i] > out[j] ? 1.0 : in[i] == out[j] ? 0.5 : 0.0;
        }
    }
    return won / ((double)n_in * (double)n_out);
}

static void test_membership_auc(void **state)
{
    (void)state;
    const float sep_in[3] = {3, 4, 5}, sep_out[2] = {1, 2};
    assert_true(membership_auc(sep_in, 3, sep_out, 2) == 1.0);
    assert_true(membership_auc(sep_out, 2, sep_in, 3) == 0.0);
    const float same[4] = {1, 1, 1, 1};
    assert_true(membership_auc(same, 2, same + 2, 2) == 0.5);
    // random scores with many ties, against the pair count
    rng_t rng;
    rng_seed(&rng, 11);
    float in[300], out[200];
    for (int i = 0; i < 300; i++) {
        in[i] = (float)rng_below(&rng, 20) + 1.0f; // members score a bit higher
    }
    for (int i = 0; i < 200; i++) {
        out[i] = (float)rng_below(&rng, 20);
    }
    const double want = s_pairs(in, 300, out, 200), got = membership_auc(in, 300, out, 200);
    assert_true(fabs(want - got) < 1e-12);
    assert_true(got > 0.5 && got < 0.7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership_auc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
