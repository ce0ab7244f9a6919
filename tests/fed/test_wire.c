/* test_wire.c - the messages nodes exchange (node/fed/wire.h, docs/wire.md)
 * as golden vectors, and their decoders against every truncation and
 * every flipped byte.
 *
 * The vectors come from the fixed-seed federation of tests/ledger/
 * test_block.c (tests/support/fedfx.h) and, for the sealed update, from a
 * seeded random source (the envelope's nonce).  The independent verifier
 * checks the same files (tests/integration/verify_ledger.py --vectors).
 */
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
#include "node/fed/wire.h"
#include "tests/support/fedfx.h"
#include "tests/support/seeded_random.h"
#include "tests/support/vectors.h"

static const float s_model[4] = {0.5f, -0.25f, 1.0f, 3.5f};
#define MODEL_TEXT "0.5 -0.25 1 3.5"

static void s_hello(const fedfx_t *fx, wire_hello_t *h)
{
    memset(h, 0, sizeof *h);
    h->me.id = *identity_public(fx->ids[0]);
    snprintf(h->me.endpoint, sizeof h->me.endpoint, "tcp://192.0.2.1:7100");
    h->height = 2;
    block_hash(fx->recs[1], fx->lens[1], h->head);
    h->n_peers = 2;
    h->peers[0].id = *identity_public(fx->ids[1]);
    snprintf(h->peers[0].endpoint, sizeof h->peers[0].endpoint, "tcp://192.0.2.2:7100");
    h->peers[0].heard = 1;
    h->peers[1].id = *identity_public(fx->ids[2]); // known, endpoint not yet
}

static void s_same_peer(const wire_peer_t *a, const wire_peer_t *b)
{
    assert_string_equal(a->id.name, b->id.name);
    assert_memory_equal(a->id.sign_pk, b->id.sign_pk, IDENTITY_KEY_BYTES);
    assert_memory_equal(a->id.box_pk, b->id.box_pk, IDENTITY_KEY_BYTES);
    assert_memory_equal(a->id.curve_pk, b->id.curve_pk, IDENTITY_KEY_BYTES);
    assert_string_equal(a->endpoint, b->endpoint);
    assert_int_equal(a->heard, b->heard);
}

// HELLO: the vector, what it decodes to, and refusals.
static void test_hello_vector(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 1, NOISE_GAUSSIAN_CLIPPED);
    fedfx_round(fx, 0);
    const uint8_t *fed = fx->state->fed_id;
    wire_hello_t h, got;
    s_hello(fx, &h);
    bytes_writer_t w;
    bytes_writer_init(&w);
    wire_hello_encode(&w, &h, fed, fx->ids[0]);
    assert_int_equal(vector_check("wire-hello", "fedsyn golden vector: a HELLO (docs/wire.md) "
                                  "from member 0 at height 2, knowing members 1 (heard) and 2 "
                                  "(no endpoint)\nmade by: tests/fed/test_wire.c\nkind: hello\n"
                                  "height: 2\nendpoint: tcp://192.0.2.1:7100\npeers: 2\n",
                                  w.data, w.len), 0);
    vector_t v;
    assert_int_equal(vector_load("wire-hello", &v), 0);
    fs_err_t err = {0, ""};
    assert_int_equal(wire_hello_decode(v.bytes, v.n, fed, &got, &err), 0);
    s_same_peer(&got.me, &h.me);
    assert_int_equal(got.height, 2);
    assert_memory_equal(got.head, h.head, HASH_BYTES);
    assert_int_equal(got.n_peers, 2);
    s_same_peer(&got.peers[0], &h.peers[0]);
    s_same_peer(&got.peers[1], &h.peers[1]);

    // another federation's hello, every truncation, every flipped byte
    uint8_t other[HASH_BYTES];
    memset(other, 7, sizeof other);
    assert_int_not_equal(wire_hello_decode(v.bytes, v.n, other, &got, &err), 0);
    for (size_t n = 0; n < v.n; n++) {
        assert_int_not_equal(wire_hello_decode(v.bytes, n, fed, &got, &err), 0);
    }
    for (size_t i = 0; i < v.n; i++) {
        v.bytes[i] ^= 0x40;
        assert_int_not_equal(wire_hello_decode(v.bytes, v.n, fed, &got, &err), 0);
        v.bytes[i] ^= 0x40;
    }
    // signed by someone other than the identity it announces
    bytes_writer_reset(&w);
    wire_hello_encode(&w, &h, fed, fx->ids[1]);
    assert_int_not_equal(wire_hello_decode(w.data, w.len, fed, &got, &err), 0);
    assert_non_null(strstr(err.msg, "hello"));
    bytes_writer_reset(&w);
    vector_free(&v);
    fedfx_destroy(&fx);
}

// BLOCK (a record and the model) and SYNCREP (records and the model).
static void test_block_and_sync_vectors(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 1, NOISE_GAUSSIAN_CLIPPED);
    fedfx_round(fx, 0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    wire_block_encode(&w, fx->recs[1], fx->lens[1], s_model, 4);
    assert_int_equal(vector_check("wire-block", "fedsyn golden vector: a BLOCK message "
                                  "(docs/wire.md): block-1.hex and a model of 4 weights\n"
                                  "made by: tests/fed/test_wire.c\nkind: wire-block\n"
                                  "model: " MODEL_TEXT "\n", w.data, w.len), 0);
    vector_t v;
    assert_int_equal(vector_load("wire-block", &v), 0);
    const uint8_t *rec, *model;
    size_t rec_len, count;
    fs_err_t err = {0, ""};
    assert_int_equal(wire_block_decode(v.bytes, v.n, &rec, &rec_len, &model, &count, &err), 0);
    assert_int_equal(rec_len, fx->lens[1]);
    assert_memory_equal(rec, fx->recs[1], rec_len);
    assert_int_equal(count, 4);
    assert_memory_equal(model, s_model, sizeof s_model);
    for (size_t n = 0; n < v.n; n++) {
        assert_int_not_equal(wire_block_decode(v.bytes, n, &rec, &rec_len, &model, &count, &err),
                             0);
    }
    vector_free(&v);

    bytes_writer_reset(&w);
    size_t at;
    wire_sync_begin(&w, &at);
    wire_sync_add(&w, at, fx->recs[0], fx->lens[0]);
    wire_sync_add(&w, at, fx->recs[1], fx->lens[1]);
    wire_sync_end(&w, s_model, 4);
    assert_int_equal(vector_check("wire-syncrep", "fedsyn golden vector: a SYNCREP "
                                  "(docs/wire.md): genesis.hex, block-1.hex and the model after "
                                  "block 1\nmade by: tests/fed/test_wire.c\nkind: wire-syncrep\n"
                                  "records: 2\nmodel: " MODEL_TEXT "\n", w.data, w.len), 0);
    assert_int_equal(vector_load("wire-syncrep", &v), 0);
    wire_sync_t s;
    assert_int_equal(wire_sync_decode(v.bytes, v.n, &s, &err), 0);
    assert_int_equal(s.k, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s.len[i], fx->lens[i]);
        assert_memory_equal(s.rec[i], fx->recs[i], s.len[i]);
    }
    assert_int_equal(s.count, 4);
    assert_memory_equal(s.model, s_model, sizeof s_model);
    for (size_t n = 0; n < v.n; n++) {
        assert_int_not_equal(wire_sync_decode(v.bytes, n, &s, &err), 0);
    }
    vector_free(&v);
    bytes_writer_reset(&w);
    fedfx_destroy(&fx);
}

// UPDATE: member 1's envelope to member 0 for round 1, its nonce from the
// seeded random source; member 0 opens the file's bytes.
static void test_update_vector(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 1, NOISE_GAUSSIAN_CLIPPED);
    const uint8_t *fed = fx->state->fed_id;
    envelope_t hdr = {0};
    memcpy(hdr.fed_id, fed, HASH_BYTES);
    hdr.round = 1;
    memset(hdr.base_hash, 0x11, HASH_BYTES);
    hdr.samples = 200;
    hdr.mechanism = NOISE_GAUSSIAN_CLIPPED;
    hdr.clip = 1.0;
    hdr.scale = 0.5;
    bytes_writer_t w;
    bytes_writer_init(&w);
    fs_err_t err = {0, ""};
    seeded_random_reseed(42);
    assert_int_equal(envelope_seal(&w, &hdr, fx->ids[1], identity_public(fx->ids[0]), s_model, 4,
                                   &err), 0);
    char note[1024], sk[65];
    bytes_to_hex(identity_box_sk(fx->ids[0]), 32, sk);
    snprintf(note, sizeof note, "fedsyn golden vector: an UPDATE (an envelope, docs/ledger.md 4)"
             " from member 1 to member 0 for round 1\nmade by: tests/fed/test_wire.c (nonce "
             "from tests/support/seeded_random.c, seed 42)\nkind: envelope\nround: 1\n"
             "samples: 200\nmodel: " MODEL_TEXT "\nrecipient_box_sk: %s\n", sk);
    assert_int_equal(vector_check("envelope", note, w.data, w.len), 0);

    vector_t v;
    assert_int_equal(vector_load("envelope", &v), 0);
    keyring_t *members = keyring_new();
    for (int i = 0; i < 3; i++) {
        keyring_add(members, identity_public(fx->ids[i]));
    }
    envelope_expect_t ex = {.fed_id = fed, .round = 1, .me = fx->ids[0], .members = members,
                            .expected_count = 4, .max_bytes = ENVELOPE_MAX_BYTES};
    replay_t *rp = replay_new();
    envelope_t got;
    float *weights = NULL;
    assert_int_equal(envelope_open(v.bytes, v.n, &ex, rp, &got, &weights, &err), 0);
    assert_memory_equal(weights, s_model, sizeof s_model);
    assert_memory_equal(got.sender, identity_public(fx->ids[1])->sign_pk, IDENTITY_KEY_BYTES);
    assert_int_equal(got.samples, 200);
    assert_int_equal(got.mechanism, NOISE_GAUSSIAN_CLIPPED);
    assert_true(got.clip == 1.0 && got.scale == 0.5);
    free(weights);
    // member 2 is not the recipient: it cannot open it
    ex.me = fx->ids[2];
    assert_int_not_equal(envelope_open(v.bytes, v.n, &ex, rp, &got, &weights, &err), 0);
    replay_destroy(&rp);
    keyring_destroy(&members);
    vector_free(&v);
    bytes_writer_reset(&w);
    fedfx_destroy(&fx);
}

// The witness messages (majority-witnessed federations): each decodes to
// what was encoded, and no truncation decodes; a sync reply may end with
// its head's certificate.
static void test_witness_messages(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    fedfx_round(fx, 0);
    fedfx_round(fx, 0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    uint8_t sig[IDENTITY_SIG_BYTES];
    memset(sig, 0x5c, sizeof sig);
    wire_propose_encode(&w, 3, sig, fx->recs[2], fx->lens[2], s_model, 4);
    wire_witness_t m;
    fs_err_t err = {0, ""};
    assert_int_equal(wire_propose_decode(w.data, w.len, &m, &err), 0);
    assert_int_equal(m.ballot, 3);
    assert_memory_equal(m.sig, sig, sizeof sig);
    assert_int_equal(m.rec_len, fx->lens[2]);
    assert_memory_equal(m.rec, fx->recs[2], m.rec_len);
    assert_int_equal(m.count, 4);
    for (size_t n = 0; n < w.len; n++) {
        assert_int_not_equal(wire_propose_decode(w.data, n, &m, &err), 0);
    }
    bytes_writer_reset(&w);

    wire_witness_t v = {.height = 7, .ballot = 2};
    memset(v.hash, 1, HASH_BYTES);
    memset(v.key, 2, IDENTITY_KEY_BYTES);
    memcpy(v.sig, sig, sizeof sig);
    wire_vote_encode(&w, &v);
    assert_int_equal(wire_vote_decode(w.data, w.len, &m, &err), 0);
    assert_int_equal(m.height, 7);
    assert_memory_equal(m.key, v.key, IDENTITY_KEY_BYTES);
    assert_int_not_equal(wire_vote_decode(w.data, w.len - 1, &m, &err), 0);
    assert_non_null(strstr(err.msg, "vote: 139 bytes, expected 140"));
    bytes_writer_reset(&w);

    // a promise with no vote, then one naming a block and carrying it
    v.voted_ballot = WITNESS_NONE;
    wire_promise_encode(&w, &v, NULL);
    assert_int_equal(wire_promise_decode(w.data, w.len, &m, &err), 0);
    assert_null(m.rec);
    bytes_writer_reset(&w);
    v.voted_ballot = 1;
    v.rec = fx->recs[2];
    v.rec_len = fx->lens[2];
    v.count = 4;
    wire_promise_encode(&w, &v, s_model);
    assert_int_equal(wire_promise_decode(w.data, w.len, &m, &err), 0);
    assert_int_equal(m.voted_ballot, 1);
    assert_int_equal(m.rec_len, fx->lens[2]);
    for (size_t n = 0; n < w.len; n++) {
        assert_int_not_equal(wire_promise_decode(w.data, n, &m, &err), 0);
    }
    bytes_writer_reset(&w);
    // a vote reported without its block is refused by name
    v.rec = NULL;
    wire_promise_encode(&w, &v, NULL);
    assert_int_equal(wire_promise_decode(w.data, w.len, &m, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "without its block"));
    bytes_writer_reset(&w);

    // MOTION: one motion with the signatures its sender holds
    motion_t *mo = calloc(1, sizeof *mo), *md = calloc(1, sizeof *md);
    fedfx_motion(fx, MOTION_ADMIT, 2, 0x3, 1, mo);
    motion_encode(&w, mo);
    assert_int_equal(wire_motion_decode(w.data, w.len, fx->state->fed_id, md, &err), 0);
    assert_true(motion_same(mo, md));
    assert_int_equal(md->n, 2);
    for (size_t n = 0; n < w.len; n++) {
        assert_int_not_equal(wire_motion_decode(w.data, n, fx->state->fed_id, md, &err), 0);
    }
    w.data[w.len - 1] ^= 1; // a damaged signature
    assert_int_equal(wire_motion_decode(w.data, w.len, fx->state->fed_id, md, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "does not verify"));
    w.data[w.len - 1] ^= 1;
    bytes_put_u8(&w, 0);
    assert_int_equal(wire_motion_decode(w.data, w.len, fx->state->fed_id, md, &err),
                     FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "1 unexpected bytes at the end"));
    bytes_writer_reset(&w);
    mo->n = 0;
    motion_encode(&w, mo);
    assert_int_equal(wire_motion_decode(w.data, w.len, fx->state->fed_id, md, &err),
                     FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "no signature"));
    bytes_writer_reset(&w);
    free(mo);
    free(md);

    // SYNCREP with the head's certificate
    witness_cert_t *c = calloc(1, sizeof *c);
    fedfx_cert(fx, 0, 0, c);
    size_t at;
    wire_sync_begin(&w, &at);
    wire_sync_add(&w, at, fx->recs[2], fx->lens[2]);
    wire_sync_end(&w, s_model, 4);
    size_t plain = w.len;
    wire_sync_cert(&w, c);
    wire_sync_t *sy = malloc(sizeof *sy);
    assert_int_equal(wire_sync_decode(w.data, w.len, sy, &err), 0);
    assert_true(sy->has_cert);
    assert_int_equal(sy->cert.n, 3);
    assert_int_equal(ledger_state_check_head_cert(fx->state, &sy->cert, &err), 0);
    for (size_t n = 0; n < w.len; n++) {
        if (n != plain) { // without the certificate it is a plain reply
            assert_int_not_equal(wire_sync_decode(w.data, n, sy, &err), 0);
        }
    }
    free(sy);
    free(c);
    bytes_writer_reset(&w);
    fedfx_destroy(&fx);
}

int main(void)
{
    seeded_random_install(); // before libsodium starts: the envelope's nonce
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_vector),
        cmocka_unit_test(test_block_and_sync_vectors),
        cmocka_unit_test(test_update_vector),
        cmocka_unit_test(test_witness_messages),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
