/* test_envelope.c - sealed model updates and the signed message format:
 * a round trip, then one tampered envelope per check of envelope_open, each
 * refused with its own code and reason, in the documented order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "crypto/sigmsg.h"

#define N_WEIGHTS 1000
// Offsets of body fields in an update message (envelope.h).
#define OFF_RECIPIENT 84
#define OFF_SAMPLES 148
#define OFF_COUNT 173
#define OFF_CT 205

typedef struct {
    identity_t *alice, *bob, *mallory; // sender, aggregator, outsider
    keyring_t *members;                // alice and bob
    uint8_t fed[32];
    float w[N_WEIGHTS];
    envelope_expect_t ex;
} world_t;

static world_t *s_world(void)
{
    world_t *x = calloc(1, sizeof *x);
    uint8_t seed[32] = {1};
    x->alice = identity_new_from_seed("alice", seed, NULL);
    seed[0] = 2;
    x->bob = identity_new_from_seed("bob", seed, NULL);
    seed[0] = 3;
    x->mallory = identity_new_from_seed("mallory", seed, NULL);
    x->members = keyring_new();
    keyring_add(x->members, identity_public(x->alice));
    keyring_add(x->members, identity_public(x->bob));
    memset(x->fed, 0x42, 32);
    for (int i = 0; i < N_WEIGHTS; i++) {
        x->w[i] = (float)sin(i);
    }
    x->ex = (envelope_expect_t){.fed_id = x->fed, .round = 5, .me = x->bob,
                                .members = x->members, .expected_count = N_WEIGHTS,
                                .max_bytes = ENVELOPE_MAX_BYTES};
    return x;
}

static void s_free(world_t *x)
{
    identity_destroy(&x->alice);
    identity_destroy(&x->bob);
    identity_destroy(&x->mallory);
    keyring_destroy(&x->members);
    free(x);
}

// An update from `from` for `round`, sealed to bob.
static void s_seal(world_t *x, const identity_t *from, uint64_t round, const float *w, size_t n,
                   bytes_writer_t *out)
{
    envelope_t h = {.round = round, .samples = 15000, .mechanism = NOISE_PAPER, .scale = 1e-3};
    memcpy(h.fed_id, x->fed, 32);
    bytes_writer_init(out);
    assert_int_equal(envelope_seal(out, &h, from, identity_public(x->bob), w, n, NULL), 0);
}

// Re-signs a message after a test changed it (as its sender could).
static void s_resign(uint8_t *buf, size_t n, const identity_t *id)
{
    uint8_t digest[32];
    hash_digest(HASH_TAG_SIGMSG, buf, n - 64, digest);
    identity_sign(id, digest, buf + n - 64);
}

static int s_open(world_t *x, const bytes_writer_t *m, replay_t *rp, fs_err_t *err)
{
    envelope_t h;
    float *w = NULL;
    int rc = envelope_open(m->data, m->len, &x->ex, rp, &h, &w, err);
    if (rc == 0) {
        assert_memory_equal(w, x->w, sizeof x->w);
    } else {
        assert_null(w);
    }
    free(w);
    return rc;
}

static void test_envelope_usage(void **state)
{
    (void)state;
    world_t *x = s_world();
    // Alice seals her weights to Bob, the round's aggregator.
    bytes_writer_t m;
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    // Bob opens it: header fields and the exact weights come back.
    replay_t *rp = replay_new();
    envelope_t h;
    float *w = NULL;
    fs_err_t err = {0, ""};
    assert_int_equal(envelope_open(m.data, m.len, &x->ex, rp, &h, &w, &err), 0);
    assert_memory_equal(w, x->w, sizeof x->w);
    assert_int_equal(h.count, N_WEIGHTS);
    assert_int_equal(h.samples, 15000);
    assert_memory_equal(h.sender, identity_public(x->alice)->sign_pk, 32);
    free(w);
    // The same envelope again is a replay.
    assert_int_equal(envelope_open(m.data, m.len, &x->ex, rp, &h, &w, &err), FS_EREPLAY);
    assert_non_null(strstr(err.msg, "replay"));
    // A fresh envelope from alice for the same round too (same sender, round).
    bytes_writer_t m2;
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m2);
    assert_int_equal(s_open(x, &m2, rp, &err), FS_EREPLAY);
    // Next round it is fine again, and old rounds can be pruned.
    x->ex.round = 6;
    bytes_writer_t m3;
    s_seal(x, x->alice, 6, x->w, N_WEIGHTS, &m3);
    assert_int_equal(s_open(x, &m3, rp, &err), 0);
    replay_prune(rp, 6);
    assert_false(replay_seen(rp, identity_public(x->alice)->sign_pk, 5));
    assert_true(replay_seen(rp, identity_public(x->alice)->sign_pk, 6));
    replay_destroy(&rp);
    bytes_writer_reset(&m);
    bytes_writer_reset(&m2);
    bytes_writer_reset(&m3);
    s_free(x);
}

// Record-level DP's figures travel in the header (docs/ledger.md §4): q,
// sigma and steps come back as sealed; figures no DP-SGD round can have
// (q 0 with steps, a NaN sigma) are refused, naming them.
static void test_envelope_record_dp(void **state)
{
    (void)state;
    world_t *x = s_world();
    const double qs[] = {0.01, 0.0, 0.01}, sigmas[] = {1.25, 1.0, NAN};
    const uint64_t steps[] = {50, 10, 10};
    for (int i = 0; i < 3; i++) {
        envelope_t h = {.round = 5, .samples = 1000, .dp_q = qs[i], .dp_sigma = sigmas[i],
                        .dp_steps = steps[i]};
        memcpy(h.fed_id, x->fed, 32);
        bytes_writer_t m;
        bytes_writer_init(&m);
        assert_int_equal(envelope_seal(&m, &h, x->alice, identity_public(x->bob), x->w,
                                       N_WEIGHTS, NULL), 0);
        envelope_t got;
        float *w = NULL;
        fs_err_t err = {0, ""};
        int rc = envelope_open(m.data, m.len, &x->ex, NULL, &got, &w, &err);
        if (i == 0) {
            assert_int_equal(rc, 0);
            assert_true(got.dp_q == 0.01 && got.dp_sigma == 1.25 && got.dp_steps == 50);
        } else {
            assert_int_equal(rc, FS_ECORRUPT);
            assert_non_null(strstr(err.msg, "DP-SGD figures"));
        }
        free(w);
        bytes_writer_reset(&m);
    }
    s_free(x);
}

// Each case: a mutation of a good envelope, the code and a word of the reason.
static void test_envelope_tampered(void **state)
{
    (void)state;
    world_t *x = s_world();
    fs_err_t err;
    bytes_writer_t m;
    float bad[N_WEIGHTS];

    // 1. size limits
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    x->ex.max_bytes = m.len - 1;
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ETOOBIG);
    x->ex.max_bytes = ENVELOPE_MAX_BYTES;
    assert_int_equal(envelope_open(m.data, 10, &x->ex, NULL, &(envelope_t){0}, &(float *){0}, &err),
                     FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "truncated"));
    m.len -= 1; // one byte short of its declared length
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ECORRUPT);
    bytes_writer_reset(&m);
    // 2. format version
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[4] = 9;
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "version 9"));
    bytes_writer_reset(&m);
    // 3. federation (signed by alice, for another federation)
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[8] ^= 1;
    s_resign(m.data, m.len, x->alice);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "another federation"));
    bytes_writer_reset(&m);
    // 4. round: stale and early
    s_seal(x, x->alice, 4, x->w, N_WEIGHTS, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ESTALE);
    assert_non_null(strstr(err.msg, "stale"));
    bytes_writer_reset(&m);
    s_seal(x, x->alice, 6, x->w, N_WEIGHTS, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ESTALE);
    assert_non_null(strstr(err.msg, "early"));
    bytes_writer_reset(&m);
    // 5. recipient: an update sealed for another aggregator
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[OFF_RECIPIENT] ^= 1;
    s_resign(m.data, m.len, x->alice);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EPEER);
    assert_non_null(strstr(err.msg, "another aggregator"));
    bytes_writer_reset(&m);
    // 6. unknown sender
    s_seal(x, x->mallory, 5, x->w, N_WEIGHTS, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EPEER);
    assert_non_null(strstr(err.msg, "not a member"));
    bytes_writer_reset(&m);
    // 7. signature: mallory signs with her key but claims alice's
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[OFF_SAMPLES] ^= 1; // more samples, more weight in FedAvg
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "signature"));
    s_resign(m.data, m.len, x->mallory);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "signature"));
    bytes_writer_reset(&m);
    // 8. replay: covered in test_envelope_usage
    // 9. decryption: ciphertext changed, then re-signed by the sender
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[OFF_CT + 100] ^= 1;
    s_resign(m.data, m.len, x->alice);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "decryption"));
    bytes_writer_reset(&m);
    // 10. weight count differs from the model's
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS - 1, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "999 weights"));
    bytes_writer_reset(&m);
    // ... and a count that does not match the ciphertext is malformed
    s_seal(x, x->alice, 5, x->w, N_WEIGHTS, &m);
    m.data[OFF_COUNT] ^= 1;
    s_resign(m.data, m.len, x->alice);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_ECORRUPT);
    bytes_writer_reset(&m);
    // 11. NaN and Inf weights
    memcpy(bad, x->w, sizeof bad);
    bad[17] = NAN;
    s_seal(x, x->alice, 5, bad, N_WEIGHTS, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "weight 17 is NaN"));
    bytes_writer_reset(&m);
    bad[17] = INFINITY;
    s_seal(x, x->alice, 5, bad, N_WEIGHTS, &m);
    assert_int_equal(s_open(x, &m, NULL, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "infinite"));
    bytes_writer_reset(&m);
    s_free(x);
}

// Every single-byte change of a small envelope is refused, whatever byte.
static void test_envelope_every_byte(void **state)
{
    (void)state;
    world_t *x = s_world();
    x->ex.expected_count = 8;
    bytes_writer_t m;
    s_seal(x, x->alice, 5, x->w, 8, &m);
    replay_t *rp = replay_new();
    for (size_t i = 0; i < m.len; i++) {
        m.data[i] ^= 0x10;
        envelope_t h;
        float *w = NULL;
        fs_err_t err = {0, ""};
        int rc = envelope_open(m.data, m.len, &x->ex, rp, &h, &w, &err);
        if (rc == 0) {
            fail_msg("byte %zu changed and still accepted", i);
        }
        assert_null(w);
        m.data[i] ^= 0x10;
    }
    // Nothing was marked as seen by the failures: the genuine one passes.
    envelope_t h;
    float *w = NULL;
    assert_int_equal(envelope_open(m.data, m.len, &x->ex, rp, &h, &w, NULL), 0);
    free(w);
    replay_destroy(&rp);
    bytes_writer_reset(&m);
    s_free(x);
}

static void test_sigmsg_usage(void **state)
{
    (void)state;
    uint8_t seed[32] = {9}, fed[32] = {1};
    identity_t *id = identity_new_from_seed("n", seed, NULL);
    bytes_writer_t w;
    bytes_writer_init(&w);
    size_t start = sigmsg_begin(&w, SIGMSG_LEAVE, fed, 12, id);
    bytes_put(&w, "body", 4);
    sigmsg_finish(&w, start, id);
    assert_int_equal(w.len, SIGMSG_OVERHEAD + 4);
    sigmsg_t m;
    fs_err_t err = {0, ""};
    assert_int_equal(sigmsg_decode(w.data, w.len, 1024, &m, &err), 0);
    assert_int_equal(sigmsg_check_version(&m, &err), 0);
    assert_int_equal(sigmsg_verify(&m, &err), 0);
    assert_int_equal(m.type, SIGMSG_LEAVE);
    assert_int_equal(m.round, 12);
    assert_int_equal(m.body_len, 4);
    assert_memory_equal(m.body, "body", 4);
    // Limits and framing.
    assert_int_equal(sigmsg_decode(w.data, w.len, w.len - 1, &m, &err), FS_ETOOBIG);
    w.data[6] = 1; // reserved
    assert_int_equal(sigmsg_decode(w.data, w.len, 1024, &m, &err), FS_ECORRUPT);
    w.data[6] = 0;
    w.data[5] = 99; // unknown type
    assert_int_equal(sigmsg_decode(w.data, w.len, 1024, &m, &err), 0);
    assert_int_equal(sigmsg_check_version(&m, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "unknown type"));
    assert_int_equal(sigmsg_verify(&m, &err), FS_EVERIFY);
    bytes_writer_reset(&w);
    identity_destroy(&id);
}

// Every mechanism's keyword parses back to it; anything else is refused.
static void test_noise_mechanism_keywords(void **state)
{
    (void)state;
    for (int m = 0; m < NOISE_MECHANISM_COUNT; m++) {
        assert_int_equal(noise_mechanism_parse(noise_mechanism_keyword(m)), m);
        assert_non_null(strstr(NOISE_MECHANISM_KEYWORDS, noise_mechanism_keyword(m)));
    }
    assert_string_equal(noise_mechanism_keyword(NOISE_PAPER), "paper");
    assert_string_equal(noise_mechanism_name(NOISE_PAPER), "paper-laplace (no formal guarantee)");
    assert_string_equal(noise_mechanism_name(NOISE_GAUSSIAN_CLIPPED), "gaussian-clipped");
    assert_string_equal(noise_mechanism_keyword(NOISE_MECHANISM_COUNT), "unknown");
    assert_string_equal(noise_mechanism_name(-1), "unknown");
    assert_int_equal(noise_mechanism_parse("Laplace-clipped"), -1);
    assert_int_equal(noise_mechanism_parse("paper-laplace (no formal guarantee)"), -1);
    assert_int_equal(noise_mechanism_parse(""), -1);
    assert_int_equal(noise_mechanism_parse(NULL), -1);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_usage),
        cmocka_unit_test(test_envelope_record_dp),
        cmocka_unit_test(test_envelope_tampered),
        cmocka_unit_test(test_envelope_every_byte),
        cmocka_unit_test(test_sigmsg_usage),
        cmocka_unit_test(test_noise_mechanism_keywords),
    };
    return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
