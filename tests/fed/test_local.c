/* test_local.c - a member's training actor: a round trained on the actor's
 * thread gives exactly what the same trainer gives run in line (Adam's state
 * carrying over between rounds), and local_take_result hands buffers back
 * and forth instead of copying: the caller always owns one, the actor the
 * other, and neither is lost or shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "node/base/mem.h"
#include "node/fed/local.h"
#include "node/train/workload.h"
#include "tests/support/fixtures.h"

enum { SEED = 9, BATCH = 16, ITERS = 3 };

// Waits for the actor's DONE (at most 60 s) and takes the result.
static void s_take(local_t *l, float **buf, local_stats_t *st)
{
    zpoller_t *p = zpoller_new(local_pipe(l), NULL);
    assert_ptr_equal(zpoller_wait(p, 60 * 1000), local_pipe(l));
    zpoller_destroy(&p);
    local_take_result(l, buf, st);
}

static void test_local_rounds_match_inline_training_and_swap_buffers(void **state)
{
    (void)state;
    workload_arch_t arch;
    fs_err_t err = {0, ""};
    assert_int_equal(workload_parse("cvae:16", &arch, &err), 0);
    size_t nf, n;
    workload_sizes(&arch, &nf, &n);
    float *w0 = workload_initial(&arch, SEED, &n);

    // The reference: one trainer run in line for two rounds, each starting
    // from the vector the previous one exported.
    dataset_t *ref_data = fixture_shapes(64, 4);
    workload_trainer_t *ref = workload_trainer_new(&arch, BATCH, SEED);
    workload_stats_t st0;
    assert_int_equal(workload_trainer_set_data(ref, ref_data, &err), 0);
    float *want1 = xfloats(n), *want2 = xfloats(n);
    workload_trainer_load(ref, w0);
    for (int i = 0; i < ITERS; i++) {
        workload_trainer_step(ref, &st0);
    }
    workload_trainer_export(ref, want1);
    workload_trainer_load(ref, want1);
    for (int i = 0; i < ITERS; i++) {
        workload_trainer_step(ref, &st0);
    }
    workload_trainer_export(ref, want2);
    assert_memory_not_equal(want1, w0, n * sizeof(float));

    local_t *l = local_new(&arch, fixture_shapes(64, 4), SEED, BATCH, 0, &err);
    assert_non_null(l);
    assert_int_equal(local_param_count(l), n);
    assert_int_equal(local_samples(l), 64);
    assert_false(local_busy(l));

    float *a = xfloats(n); // the caller's buffer
    float *const first = a;
    local_start(l, w0, n, 7, ITERS);
    assert_true(local_busy(l));
    local_stats_t st;
    s_take(l, &a, &st);
    assert_false(local_busy(l));
    assert_ptr_not_equal(a, first); // swapped, not copied
    float *const second = a;
    assert_memory_equal(a, want1, n * sizeof(float));
    assert_int_equal(st.round, 7);
    assert_int_equal(st.iters, ITERS);
    assert_int_equal(local_progress(l), ITERS);

    // Round 2 starts from round 1's result, handed in from the buffer the
    // caller now owns; the actor writes into the caller's first buffer.
    memset(first, 0xff, n * sizeof(float)); // the actor owns it: must be overwritten
    local_start(l, a, n, 8, ITERS);
    s_take(l, &a, &st);
    assert_ptr_equal(a, first);
    assert_memory_equal(a, want2, n * sizeof(float));
    assert_memory_equal(second, want1, n * sizeof(float)); // the actor only read it
    assert_int_equal(st.round, 8);

    local_destroy(&l);
    assert_null(l);
    free(a); // the caller owns exactly one of the two buffers now; the
             // actor freed the other (valgrind and ASan check both)
    workload_trainer_destroy(&ref);
    dataset_destroy(&ref_data);
    free(want1);
    free(want2);
    free(w0);
}

// A dataset that does not fit the workload is refused at local_new, naming
// the problem, and nothing leaks (the data is still taken over and freed).
static void test_local_refuses_unlabelled_data_for_cvae(void **state)
{
    (void)state;
    workload_arch_t arch;
    fs_err_t err = {0, ""};
    assert_int_equal(workload_parse("cvae:16", &arch, &err), 0);
    dataset_t *d = fixture_shapes(32, 1);
    free(d->y);
    d->y = NULL;
    local_t *l = local_new(&arch, d, SEED, BATCH, 0, &err);
    assert_null(l);
    assert_int_not_equal(err.code, 0);
    assert_true(strlen(err.msg) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_rounds_match_inline_training_and_swap_buffers),
        cmocka_unit_test(test_local_refuses_unlabelled_data_for_cvae),
    };
    return cmocka_run_group_tests(tests, NULL, fixture_teardown);
}
