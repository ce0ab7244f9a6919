/* test_finality.c - when a block is final (node/proto/finality.h): the
 * happy round, a minority that cannot decide, the acceptor's rules, the
 * proposer's phase 1 (re-proposing what a majority may have chosen), and
 * a restart that keeps a voter's word.  Blocks are real records of a
 * fedfx federation, so every certificate is checked by the ledger's rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "ledger/state.h"
#include "node/proto/finality.h"
#include "tests/support/fedfx.h"

#define N 5

typedef struct {
    fedfx_t *fx;
    finality_t *fin[N];
    uint8_t *rec[2];      // two candidate blocks of the next height
    size_t len[2];
    uint8_t hash[2][HASH_BYTES];
} world_t;

static void s_block(world_t *w, int k, uint64_t mask)
{
    block_t *b = malloc(sizeof *b);
    fedfx_next(w->fx, mask, b);
    bytes_writer_t bw;
    bytes_writer_init(&bw);
    fedfx_sign(w->fx, b, NULL, &bw);
    w->len[k] = bw.len;
    w->rec[k] = bytes_writer_take(&bw, NULL);
    block_hash(w->rec[k], w->len[k], w->hash[k]);
    free(b);
}

static world_t *s_world(void)
{
    world_t *w = calloc(1, sizeof *w);
    w->fx = fedfx_new_witnessed(N, 0);
    fedfx_round(w->fx, 0);
    fedfx_round(w->fx, 0);
    for (int i = 0; i < N; i++) {
        w->fin[i] = finality_new(w->fx->ids[i], w->fx->state->fed_id);
        finality_begin(w->fin[i], w->fx->state);
    }
    s_block(w, 0, 0);       // everyone contributed
    s_block(w, 1, 0x3);     // two did: another block of the same height
    return w;
}

static void s_free(world_t **wp)
{
    world_t *w = *wp;
    for (int i = 0; i < N; i++) {
        finality_destroy(&w->fin[i]);
    }
    free(w->rec[0]);
    free(w->rec[1]);
    fedfx_destroy(&w->fx);
    free(w);
    *wp = NULL;
}

static const uint8_t *s_key(const world_t *w, int i)
{
    return identity_public(w->fx->ids[i])->sign_pk;
}

// Node i receives proposal k at ballot b; returns its vote action or NULL.
static const fin_action_t *s_propose(world_t *w, int i, uint32_t b, int k, fin_actions_t *out)
{
    finality_on_proposal(w->fin[i], b, w->hash[k], w->rec[k], w->len[k], out);
    for (int a = 0; a < out->n; a++) {
        if (out->act[a].kind == FIN_ACT_VOTE) {
            return &out->act[a];
        }
    }
    return NULL;
}

static const fin_action_t *s_find(const fin_actions_t *out, fin_action_kind_t kind)
{
    for (int a = 0; a < out->n; a++) {
        if (out->act[a].kind == kind) {
            return &out->act[a];
        }
    }
    return NULL;
}

static void test_finality_happy_round(void **state)
{
    (void)state;
    world_t *w = s_world();
    const uint8_t *rec;
    size_t n;
    fin_actions_t out;
    finality_enter_ballot(w->fin[0], 0, 1, &out);
    assert_int_equal(out.n, 0); // ballot 0: no promise
    assert_int_equal(finality_may_propose(w->fin[0], 0, &rec, &n), FIN_OWN);
    // a node that does not lead the ballot waits
    assert_int_equal(finality_may_propose(w->fin[1], 0, &rec, &n), FIN_WAIT);
    // The proposer votes first, durably, then everyone votes as it arrives.
    const fin_action_t *v = s_propose(w, 0, 0, 0, &out);
    assert_non_null(v);
    assert_int_equal(out.act[0].kind, FIN_ACT_PERSIST);
    uint8_t sigs[N][IDENTITY_SIG_BYTES];
    memcpy(sigs[0], v->sig, IDENTITY_SIG_BYTES);
    for (int i = 1; i < 3; i++) {
        v = s_propose(w, i, 0, 0, &out);
        assert_non_null(v);
        memcpy(sigs[i], v->sig, IDENTITY_SIG_BYTES);
    }
    // Node 4 counts the votes: two are not enough of five, the third is.
    finality_on_proposal(w->fin[4], 0, w->hash[0], w->rec[0], w->len[0], &out);
    finality_on_vote(w->fin[3], s_key(w, 0), 0, w->hash[0], sigs[0], &out); // block unknown
    for (int i = 0; i < 3; i++) {
        assert_int_equal(finality_on_vote(w->fin[4], s_key(w, i), 0, w->hash[0], sigs[i], &out),
                         1);
        // node 4 voted itself on the proposal, so 2 peers + itself decide
        if (i < 1) {
            assert_null(s_find(&out, FIN_ACT_FINAL));
        }
    }
    fin_status_t st;
    finality_status(w->fin[4], &st);
    assert_int_equal(st.need, 3);
    assert_true(st.decided);
    // The certificate is one the ledger accepts as the block's commit.
    fin_actions_t fo;
    world_t *w2 = s_world();
    finality_on_proposal(w2->fin[3], 0, w2->hash[0], w2->rec[0], w2->len[0], &fo);
    const fin_action_t *f = NULL;
    for (int i = 0; i < 3 && !f; i++) {
        finality_on_vote(w2->fin[3], s_key(w2, i), 0, w2->hash[0], sigs[i], &fo);
        f = s_find(&fo, FIN_ACT_FINAL);
        assert_true(!f == (i == 0)); // its own vote and two more decide
    }
    assert_non_null(f);
    assert_int_equal(f->rec_n, w2->len[0]);
    fs_err_t err = {0};
    assert_int_equal(fedfx_push(w2->fx, f->rec, f->rec_n, &err), 0);
    assert_int_equal(ledger_state_check_head_cert(w2->fx->state, f->cert, &err), 0);
    assert_int_equal(f->cert->n, 3); // two peers and node 3's own
    s_free(&w2);
    s_free(&w);
}

static void test_finality_minority_waits(void **state)
{
    (void)state;
    world_t *w = s_world();
    fin_actions_t out;
    // Nodes 0 and 1 alone (a 2 | 3 partition): both vote, nothing is final.
    const fin_action_t *v0 = s_propose(w, 0, 0, 0, &out);
    uint8_t sig0[IDENTITY_SIG_BYTES];
    memcpy(sig0, v0->sig, IDENTITY_SIG_BYTES);
    const fin_action_t *v1 = s_propose(w, 1, 0, 0, &out);
    assert_int_equal(finality_on_vote(w->fin[1], s_key(w, 0), 0, w->hash[0], sig0, &out), 1);
    assert_null(s_find(&out, FIN_ACT_FINAL));
    (void)v1;
    // A vote counted twice, or from a non-voter, changes nothing.
    assert_int_equal(finality_on_vote(w->fin[1], s_key(w, 0), 0, w->hash[0], sig0, &out), 0);
    fedfx_t *other = fedfx_new(1, 0, NOISE_NONE);
    uint8_t stranger[IDENTITY_KEY_BYTES];
    memset(stranger, 0x77, sizeof stranger);
    assert_int_equal(finality_on_vote(w->fin[1], stranger, 0, w->hash[0], sig0, &out), 0);
    fedfx_destroy(&other);
    fin_status_t st;
    finality_status(w->fin[1], &st);
    assert_int_equal(st.best_votes, 2);
    assert_int_equal(st.need, 3);
    assert_false(st.decided);
    s_free(&w);
}

static void test_finality_acceptor_rules(void **state)
{
    (void)state;
    world_t *w = s_world();
    fin_actions_t out;
    // Entering ballot 2 promises it: a late ballot-1 proposal gets no vote.
    finality_enter_ballot(w->fin[2], 2, 0, &out);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.act[0].kind, FIN_ACT_PERSIST);
    assert_int_equal(out.act[1].kind, FIN_ACT_PROMISE);
    assert_int_equal(out.act[1].voted_ballot, WITNESS_NONE);
    assert_null(s_propose(w, 2, 1, 0, &out));
    // Ballot 2's block gets its vote; a second block at ballot 2 does not;
    // the same one again gets the vote again, without a second PERSIST.
    assert_non_null(s_propose(w, 2, 2, 0, &out));
    assert_null(s_propose(w, 2, 2, 1, &out));
    assert_non_null(s_propose(w, 2, 2, 0, &out));
    assert_int_equal(out.n, 1);
    // A higher ballot may carry another block: the voter follows it.
    assert_non_null(s_propose(w, 2, 3, 1, &out));
    const uint8_t *rec;
    size_t n;
    const fin_acceptor_t *acc = finality_acceptor(w->fin[2], &rec, &n);
    assert_int_equal(acc->voted_ballot, 3);
    assert_memory_equal(acc->voted_hash, w->hash[1], HASH_BYTES);
    assert_int_equal(n, w->len[1]);
    s_free(&w);
}

static void test_finality_phase_one(void **state)
{
    (void)state;
    world_t *w = s_world();
    fin_actions_t out;
    const uint8_t *rec;
    size_t n;
    // Ballot 0: node 0 proposed block 0 and node 1 voted for it, then the
    // proposer went silent.  Ballot 1 is node 2's.
    s_propose(w, 0, 0, 0, &out);
    s_propose(w, 1, 0, 0, &out);
    finality_enter_ballot(w->fin[2], 1, 1, &out);
    assert_int_equal(finality_may_propose(w->fin[2], 1, &rec, &n), FIN_WAIT); // 1 of 3 promises
    // Node 3 promises with no vote: 2 of the 3 needed.
    finality_enter_ballot(w->fin[3], 1, 0, &out);
    const fin_action_t *p = s_find(&out, FIN_ACT_PROMISE);
    finality_on_promise(w->fin[2], s_key(w, 3), p->ballot, p->voted_ballot, p->hash, NULL, 0);
    assert_int_equal(finality_may_propose(w->fin[2], 1, &rec, &n), FIN_WAIT);
    // Node 1 promises, naming its ballot-0 vote and carrying the block:
    // node 2 must propose that block, not one of its own.
    finality_enter_ballot(w->fin[1], 1, 0, &out);
    p = s_find(&out, FIN_ACT_PROMISE);
    assert_int_equal(p->voted_ballot, 0);
    assert_memory_equal(p->hash, w->hash[0], HASH_BYTES);
    // the promise's signature is over its own digest
    uint8_t digest[HASH_BYTES];
    witness_promise_digest(w->fx->state->fed_id, w->fx->state->height, 1, 0, w->hash[0], digest);
    assert_int_equal(identity_verify(s_key(w, 1), digest, p->sig), 0);
    finality_on_promise(w->fin[2], s_key(w, 1), p->ballot, p->voted_ballot, p->hash, p->rec,
                        p->rec_n);
    assert_int_equal(finality_may_propose(w->fin[2], 1, &rec, &n), FIN_REPROPOSE);
    assert_int_equal(n, w->len[0]);
    assert_memory_equal(rec, w->rec[0], n);
    // Without node 1's report, three promises without votes: its own block.
    world_t *w2 = s_world();
    for (int i = 2; i < 5; i++) {
        finality_enter_ballot(w2->fin[i], 1, i == 2, &out);
        p = s_find(&out, FIN_ACT_PROMISE);
        if (i != 2) {
            finality_on_promise(w2->fin[2], s_key(w2, i), p->ballot, p->voted_ballot, p->hash,
                                NULL, 0);
        }
    }
    assert_int_equal(finality_may_propose(w2->fin[2], 1, &rec, &n), FIN_OWN);
    // a promise for another ballot does not count towards ballot 1
    assert_int_equal(finality_may_propose(w2->fin[2], 2, &rec, &n), FIN_WAIT);
    s_free(&w2);
    s_free(&w);
}

static void test_finality_restart(void **state)
{
    (void)state;
    world_t *w = s_world();
    fin_actions_t out;
    const uint8_t *rec;
    size_t n;
    // Node 0 proposes (votes) block 0 at ballot 0 and crashes; what it
    // persisted comes back, and it may only propose the same block again.
    s_propose(w, 0, 0, 0, &out);
    fin_acceptor_t saved = *finality_acceptor(w->fin[0], &rec, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, rec, n);
    size_t copy_n = n;
    finality_destroy(&w->fin[0]);
    w->fin[0] = finality_new(w->fx->ids[0], w->fx->state->fed_id);
    finality_begin(w->fin[0], w->fx->state);
    finality_restore(w->fin[0], &saved, copy, copy_n);
    finality_enter_ballot(w->fin[0], 0, 1, &out);
    assert_int_equal(finality_may_propose(w->fin[0], 0, &rec, &n), FIN_REPROPOSE);
    assert_memory_equal(rec, w->rec[0], n);
    // it does not vote for another block at ballot 0
    assert_null(s_propose(w, 0, 0, 1, &out));
    // a saved state of another height is ignored
    saved.height++;
    finality_restore(w->fin[1], &saved, copy, copy_n);
    finality_acceptor(w->fin[1], &rec, &n);
    assert_null(rec);
    free(copy);
    s_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finality_happy_round),
        cmocka_unit_test(test_finality_minority_waits),
        cmocka_unit_test(test_finality_acceptor_rules),
        cmocka_unit_test(test_finality_phase_one),
        cmocka_unit_test(test_finality_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
