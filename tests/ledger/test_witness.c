/* test_witness.c - majority-witnessed blocks (ledger/witness.h and the
 * commit rule of ledger/state.c): certificates built, encoded and checked;
 * a federation whose blocks carry their predecessor's certificate; each
 * way a commit can be wrong, refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/state.h"
#include "ledger/witness.h"
#include "node/base/bytes.h"
#include "node/base/err.h"
#include "tests/support/fedfx.h"

static const uint8_t *s_key(const fedfx_t *fx, int i)
{
    return identity_public(fx->ids[i])->sign_pk;
}

static void test_witness_majority(void **state)
{
    (void)state;
    assert_int_equal(witness_majority(1), 1);
    assert_int_equal(witness_majority(2), 2);
    assert_int_equal(witness_majority(3), 2);
    assert_int_equal(witness_majority(4), 3);
    assert_int_equal(witness_majority(5), 3);
}

static void test_witness_cert_roundtrip(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_witnessed(5, 0);
    fedfx_round(fx, 0);
    fedfx_round(fx, 0);
    witness_cert_t *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
    fedfx_cert(fx, 0x7, 3, c); // identities 0, 1, 2 at ballot 3
    assert_int_equal(c->n, 3);
    assert_int_equal(c->ballot, 3);
    for (int i = 1; i < c->n; i++) {
        assert_true(memcmp(c->votes[i - 1].key, c->votes[i].key, IDENTITY_KEY_BYTES) < 0);
    }
    // a second vote of one key is not added
    assert_int_equal(witness_cert_add(c, c->votes[0].key, c->votes[0].sig), 0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    witness_cert_encode(&w, c);
    assert_int_equal(w.len, 6 + 3 * 96);
    bytes_reader_t r;
    bytes_reader_init(&r, w.data, w.len);
    assert_int_equal(witness_cert_decode(&r, d, NULL), 0);
    assert_memory_equal(c, d, 6 + sizeof(witness_vote_t) * 3);
    // truncated: refused, naming the field
    fs_err_t err = {0};
    bytes_reader_init(&r, w.data, w.len - 1);
    assert_int_equal(witness_cert_decode(&r, d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "commit: truncated"));
    bytes_writer_reset(&w);
    // the head's certificate: 3 of 5 is a majority, 2 is not
    assert_int_equal(ledger_state_check_head_cert(fx->state, c, &err), 0);
    fedfx_cert(fx, 0x3, 0, d);
    assert_int_equal(ledger_state_check_head_cert(fx->state, d, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "2 votes, a majority of the 5 members"));
    // a vote signed for another ballot than the certificate's
    c->ballot = 4;
    assert_int_equal(ledger_state_check_head_cert(fx->state, c, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "bad signature"));
    free(c);
    free(d);
    fedfx_destroy(&fx);
}

static void test_witness_chain(void **state)
{
    (void)state;
    // Block 1's commit is empty; every later block carries the previous
    // block's certificate, and the file of such blocks verifies.
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    assert_int_equal(fx->state->genesis.finality, GENESIS_FINALITY_MAJORITY);
    for (int i = 0; i < 4; i++) {
        fedfx_round(fx, 0);
    }
    assert_int_equal(fx->state->height, 5);
    assert_true(fx->state->last.has_commit);
    assert_int_equal(fx->state->last.commit.n, 3);
    assert_int_equal(fx->state->n_head_voters, 3);
    ledger_state_t *st = ledger_state_new();
    fs_err_t err = {0};
    assert_int_equal(ledger_state_start(st, fx->recs[0], fx->lens[0], &err), 0);
    for (size_t i = 1; i < fx->n_recs; i++) {
        assert_int_equal(ledger_state_apply(st, fx->recs[i], fx->lens[i], &err), 0);
    }
    ledger_state_destroy(&st);
    fedfx_destroy(&fx);
}

// Makes the next block as fedfx_next does, lets `edit` spoil its commit,
// and returns the apply code (err holds the reason).
typedef void (*s_edit_fn)(fedfx_t *, block_t *);

static void s_apply_edit(fedfx_t *fx, block_t *b, void *arg) { (*(s_edit_fn *)arg)(fx, b); }

static int s_push_edited(fedfx_t *fx, s_edit_fn edit, fs_err_t *err)
{
    return fedfx_push_edited(fx, s_apply_edit, &edit, err);
}

static void s_no_commit(fedfx_t *fx, block_t *b) { (void)fx; b->has_commit = 0; }
static void s_minority(fedfx_t *fx, block_t *b) { fedfx_cert(fx, 0x1 | 0x8, 0, &b->commit); }
static void s_forged(fedfx_t *fx, block_t *b)
{
    (void)fx;
    b->commit.votes[1].sig[5] ^= 1;
}
static void s_stranger(fedfx_t *fx, block_t *b)
{
    // identity 3 is no member: its vote does not count, even beside two
    fedfx_cert(fx, 0x3, 0, &b->commit);
    uint8_t digest[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
    witness_vote_digest(fx->state->fed_id, fx->state->height - 1, 0, fx->state->head_hash,
                        digest);
    identity_sign(fx->ids[3], digest, sig);
    witness_cert_add(&b->commit, s_key(fx, 3), sig);
}
static void s_unsorted(fedfx_t *fx, block_t *b)
{
    (void)fx;
    witness_vote_t t = b->commit.votes[0];
    b->commit.votes[0] = b->commit.votes[1];
    b->commit.votes[1] = t;
}
static void s_other_block(fedfx_t *fx, block_t *b)
{
    // votes for another block of the head's height
    uint8_t other[HASH_BYTES];
    memset(other, 0x5a, HASH_BYTES);
    b->commit.n = 0;
    for (int i = 0; i < 3; i++) {
        uint8_t digest[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
        witness_vote_digest(fx->state->fed_id, fx->state->height - 1, 0, other, digest);
        identity_sign(fx->ids[i], digest, sig);
        witness_cert_add(&b->commit, s_key(fx, i), sig);
    }
}

static void test_witness_refused(void **state)
{
    (void)state;
    struct {
        void (*edit)(fedfx_t *, block_t *);
        const char *why;
    } cases[] = {
        {s_no_commit, "commit: missing"},
        {s_minority, "1 votes, a majority of the 3 members"},
        {s_forged, "vote 1: bad signature"},
        {s_stranger, "not a member active before it"},
        {s_unsorted, "keys not strictly ascending"},
        {s_other_block, "bad signature"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fedfx_t *fx = fedfx_new_witnessed(3, 1);
        fedfx_round(fx, 0);
        fedfx_round(fx, 0);
        fs_err_t err = {0};
        uint64_t h = fx->state->height;
        assert_int_equal(s_push_edited(fx, cases[k].edit, &err), FS_EVERIFY);
        assert_non_null(strstr(err.msg, cases[k].why));
        assert_int_equal(fx->state->height, h); // the state did not move
        fedfx_destroy(&fx);
    }
}

static void s_ballot_one(fedfx_t *fx, block_t *b)
{
    (void)fx;
    b->commit.ballot = 1;
}

static void s_add_commit(fedfx_t *fx, block_t *b)
{
    (void)fx;
    b->has_commit = 1;
}

static void test_witness_rules_per_genesis(void **state)
{
    (void)state;
    // Block 1 of a witnessed federation has an empty commit ...
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    fs_err_t err = {0};
    assert_int_equal(s_push_edited(fx, s_ballot_one, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "block 1's must be empty"));
    fedfx_destroy(&fx);
    // ... and a federation of the aggregator's signature alone has none.
    fx = fedfx_new(3, 0, NOISE_NONE);
    fedfx_round(fx, 0);
    assert_int_equal(s_push_edited(fx, s_add_commit, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "does not ask for witnessed blocks"));
    fedfx_destroy(&fx);
}

static void test_witness_genesis_field(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    genesis_t *g = malloc(sizeof *g);
    uint8_t id[HASH_BYTES];
    sigmsg_t m;
    fs_err_t err = {0};
    assert_int_equal(genesis_decode(fx->recs[0], fx->lens[0], g, id, &m, &err), 0);
    assert_int_equal(g->finality, GENESIS_FINALITY_MAJORITY);
    assert_int_equal(g->request_window, GENESIS_REQUEST_WINDOW_DEFAULT);
    // a majority rule without a window has no encoding
    g->request_window = 0;
    bytes_writer_t w;
    bytes_writer_init(&w);
    assert_int_equal(genesis_encode(&w, g, fx->ids[0], id, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "need a request window"));
    bytes_writer_reset(&w);
    // an unknown rule in the trailer byte is refused by name
    g->request_window = 64;
    g->finality = 2;
    assert_int_equal(genesis_encode(&w, g, fx->ids[0], id, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "finality: unknown rule 2"));
    bytes_writer_reset(&w);
    free(g);
    fedfx_destroy(&fx);
}

// The checks a node runs before it votes for a proposal or appends a
// synced block: the block would apply (the state does not move), and a
// certificate makes it final as the next block.
static void test_witness_next_block_checks(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    fedfx_round(fx, 0);
    block_t *b = malloc(sizeof *b);
    fedfx_next(fx, 0, b);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    uint8_t mh[HASH_BYTES];
    fs_err_t err = {0};
    uint64_t h = fx->state->height;
    assert_int_equal(ledger_state_check_next(fx->state, w.data, w.len, mh, &err), 0);
    assert_memory_equal(mh, b->model_hash, HASH_BYTES);
    assert_int_equal(fx->state->height, h); // judged on a copy
    // a block signed by another member than the elected one is refused
    bytes_writer_t bad;
    bytes_writer_init(&bad);
    identity_t *other = fedfx_identity(fx, b->aggregator) == fx->ids[0] ? fx->ids[1] : fx->ids[0];
    fedfx_sign(fx, b, other, &bad);
    assert_int_not_equal(ledger_state_check_next(fx->state, bad.data, bad.len, NULL, &err), 0);
    bytes_writer_reset(&bad);
    // votes of 2 of the 3 make it final; 1 does not; votes for the head do not
    witness_cert_t *c = calloc(1, sizeof *c);
    uint8_t hash[HASH_BYTES], digest[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
    block_hash(w.data, w.len, hash);
    witness_vote_digest(fx->state->fed_id, h, 0, hash, digest);
    for (int i = 0; i < 2; i++) {
        identity_sign(fx->ids[i], digest, sig);
        witness_cert_add(c, s_key(fx, i), sig);
    }
    assert_int_equal(ledger_state_check_next_cert(fx->state, w.data, w.len, c, &err), 0);
    c->n = 1;
    assert_int_equal(ledger_state_check_next_cert(fx->state, w.data, w.len, c, &err), FS_EVERIFY);
    fedfx_round(fx, 0); // block 2 is the head now
    fedfx_cert(fx, 0, 0, c);
    assert_int_equal(ledger_state_check_next_cert(fx->state, fx->recs[2], fx->lens[2], c, &err),
                     FS_EVERIFY);
    free(c);
    free(b);
    bytes_writer_reset(&w);
    fedfx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_witness_majority),
        cmocka_unit_test(test_witness_cert_roundtrip),
        cmocka_unit_test(test_witness_chain),
        cmocka_unit_test(test_witness_refused),
        cmocka_unit_test(test_witness_rules_per_genesis),
        cmocka_unit_test(test_witness_genesis_field),
        cmocka_unit_test(test_witness_next_block_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
