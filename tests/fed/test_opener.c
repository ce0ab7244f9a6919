/* test_opener.c - updates opened on worker threads: a good update comes
 * back with its weights, a stranger's and a tampered one come back refused
 * with envelope_open's own messages, many jobs at once all come back, a
 * full opener says so, and destroying it with jobs in flight loses none. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "node/fed/opener.h"

#define N_WEIGHTS 5000

typedef struct {
    identity_t *alice, *bob, *mallory; // member, aggregator, outsider
    uint8_t fed[HASH_BYTES];
    float w[N_WEIGHTS];
} world_t;

static world_t *s_world(void)
{
    world_t *x = calloc(1, sizeof *x);
    uint8_t seed[IDENTITY_SEED_BYTES] = {1};
    x->alice = identity_new_from_seed("alice", seed, NULL);
    seed[0] = 2;
    x->bob = identity_new_from_seed("bob", seed, NULL);
    seed[0] = 3;
    x->mallory = identity_new_from_seed("mallory", seed, NULL);
    memset(x->fed, 0x42, HASH_BYTES);
    for (int i = 0; i < N_WEIGHTS; i++) {
        x->w[i] = (float)cos(i);
    }
    return x;
}

static void s_free(world_t *x)
{
    identity_destroy(&x->alice);
    identity_destroy(&x->bob);
    identity_destroy(&x->mallory);
    free(x);
}

// A job for bob holding an update from `from` for round 5 (claimed sender
// alice, a member, unless `stranger`).
static open_job_t *s_job(world_t *x, const identity_t *from, int stranger)
{
    envelope_t h = {.round = 5, .samples = 100, .mechanism = NOISE_NONE};
    memcpy(h.fed_id, x->fed, HASH_BYTES);
    bytes_writer_t out;
    bytes_writer_init(&out);
    assert_int_equal(envelope_seal(&out, &h, from, identity_public(x->bob), x->w, N_WEIGHTS,
                                   NULL),
                     0);
    open_job_t *job = calloc(1, sizeof *job);
    job->buf = malloc(out.len);
    memcpy(job->buf, out.data, out.len);
    job->n = out.len;
    bytes_writer_reset(&out);
    memcpy(job->fed_id, x->fed, HASH_BYTES);
    job->round = 5;
    memcpy(job->signer, identity_public(from)->sign_pk, IDENTITY_KEY_BYTES);
    if (!stranger) {
        job->sender = *identity_public(x->alice);
        job->sender_known = 1;
    }
    job->expected_count = N_WEIGHTS;
    job->from = -1;
    return job;
}

static open_job_t *s_wait(opener_t *o)
{
    zpoller_t *p = zpoller_new(NULL);
    for (int i = 0; i < OPENER_THREADS; i++) {
        zpoller_add(p, opener_pipe(o, i));
    }
    void *which = zpoller_wait(p, 10000);
    zpoller_destroy(&p);
    assert_non_null(which);
    return opener_collect(o, which);
}

static void test_opener_usage(void **state)
{
    (void)state;
    world_t *x = s_world();
    opener_t *o = opener_new(x->bob);
    assert_int_equal(opener_submit(o, s_job(x, x->alice, 0)), 0);
    assert_int_equal(opener_in_flight(o), 1);
    open_job_t *job = s_wait(o);
    assert_int_equal(opener_in_flight(o), 0);
    assert_int_equal(job->rc, 0);
    assert_non_null(job->w);
    assert_memory_equal(job->w, x->w, sizeof x->w);
    assert_int_equal(job->hdr.samples, 100);
    opener_job_free(&job);
    assert_null(job);
    opener_destroy(&o);
    assert_null(o);
    s_free(x);
}

static void test_refusals_come_back_with_their_reason(void **state)
{
    (void)state;
    world_t *x = s_world();
    opener_t *o = opener_new(x->bob);
    // from a key that is not a member
    assert_int_equal(opener_submit(o, s_job(x, x->mallory, 1)), 0);
    open_job_t *job = s_wait(o);
    assert_int_equal(job->rc, FS_EPEER);
    assert_non_null(strstr(job->err.msg, "not a member"));
    assert_null(job->w);
    opener_job_free(&job);
    // claims to be alice but mallory signed it
    assert_int_equal(opener_submit(o, s_job(x, x->mallory, 0)), 0);
    job = s_wait(o);
    assert_int_equal(job->rc, FS_EPEER); // the signer named in it is not alice
    opener_job_free(&job);
    // a flipped bit in the ciphertext
    open_job_t *bad = s_job(x, x->alice, 0);
    bad->buf[bad->n - 100] ^= 1;
    assert_int_equal(opener_submit(o, bad), 0);
    job = s_wait(o);
    assert_int_equal(job->rc, FS_EVERIFY);
    assert_non_null(strstr(job->err.msg, "signature"));
    opener_job_free(&job);
    opener_destroy(&o);
    s_free(x);
}

static void test_many_jobs_and_a_full_opener(void **state)
{
    (void)state;
    world_t *x = s_world();
    opener_t *o = opener_new(x->bob);
    for (int i = 0; i < OPENER_MAX_JOBS; i++) {
        assert_int_equal(opener_submit(o, s_job(x, x->alice, 0)), 0);
    }
    open_job_t *extra = s_job(x, x->alice, 0);
    assert_int_equal(opener_submit(o, extra), -1); // full: the caller opens it itself
    opener_run(x->bob, extra);
    assert_int_equal(extra->rc, 0);
    opener_job_free(&extra);
    for (int i = 0; i < OPENER_MAX_JOBS; i++) {
        open_job_t *job = s_wait(o);
        assert_int_equal(job->rc, 0);
        opener_job_free(&job);
    }
    assert_int_equal(opener_in_flight(o), 0);
    // destroyed with jobs in flight: each is collected and freed (ASan
    // and valgrind see no leak)
    for (int i = 0; i < 6; i++) {
        assert_int_equal(opener_submit(o, s_job(x, x->alice, 0)), 0);
    }
    opener_destroy(&o);
    s_free(x);
}

int main(void)
{
    hash_library_init();
    zsys_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opener_usage),
        cmocka_unit_test(test_refusals_come_back_with_their_reason),
        cmocka_unit_test(test_many_jobs_and_a_full_opener),
    };
    int rc = cmocka_run_group_tests_name("opener", tests, NULL, NULL);
    zsys_shutdown();
    return rc;
}
