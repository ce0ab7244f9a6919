/* test_motion.c - membership by the members' vote (ledger/motion.h and
 * the motion rules of ledger/state.c): motions signed, encoded and
 * checked; a federation of three that admits a fourth by a majority's
 * motion, lets it join, removes it, refuses its return and its replayed
 * motions, and admits it again; each way a motion can be wrong, refused
 * with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/motion.h"
#include "ledger/state.h"
#include "node/base/bytes.h"
#include "node/base/err.h"
#include "tests/support/fedfx.h"

static const uint8_t *s_key(const fedfx_t *fx, int i)
{
    return identity_public(fx->ids[i])->sign_pk;
}

static void test_motion_sign_encode_check(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_vote(3, 1);
    motion_t *m = calloc(1, sizeof *m), *d = calloc(1, sizeof *d);
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x3, 1, m);
    assert_int_equal(m->n, 2);
    assert_true(memcmp(m->sigs[0].key, m->sigs[1].key, IDENTITY_KEY_BYTES) < 0);
    assert_true(motion_signed_by(m, s_key(fx, 0)) && !motion_signed_by(m, s_key(fx, 2)));
    // a second signature of one key is not added
    assert_int_equal(motion_add_sig(m, m->sigs[0].key, m->sigs[0].sig), 0);
    bytes_writer_t w;
    bytes_writer_init(&w);
    motion_encode(&w, m);
    bytes_reader_t r;
    bytes_reader_init(&r, w.data, w.len);
    assert_int_equal(motion_decode(&r, d, NULL), 0);
    assert_int_equal(bytes_remaining(&r), 0);
    assert_true(motion_same(m, d));
    assert_int_equal(d->n, 2);
    assert_memory_equal(m->sigs, d->sigs, 2 * sizeof m->sigs[0]);
    fs_err_t err = {0};
    assert_int_equal(motion_check_sigs(d, fx->state->fed_id, &err), 0);
    // truncated, or an unknown action: refused, naming the field
    bytes_reader_init(&r, w.data, w.len - 1);
    assert_int_equal(motion_decode(&r, d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "motion: signatures: truncated"));
    w.data[11] = 0; // "n\0de3": a NUL in the name would be a second encoding (fuzz_wire)
    bytes_reader_init(&r, w.data, w.len);
    assert_int_equal(motion_decode(&r, d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "name is not"));
    w.data[11] = 'o';
    w.data[0] = 7;
    bytes_reader_init(&r, w.data, w.len);
    assert_int_equal(motion_decode(&r, d, &err), FS_ECORRUPT);
    assert_non_null(strstr(err.msg, "unknown action 7"));
    bytes_writer_reset(&w);
    // the signatures bind action, round, candidate and federation
    uint8_t voters[3][IDENTITY_KEY_BYTES];
    size_t nv = ledger_state_active(fx->state, voters);
    assert_int_equal(motion_check_majority(m, fx->state->fed_id,
                                           (const uint8_t(*)[IDENTITY_KEY_BYTES])voters, nv, &err),
                     0);
    *d = *m;
    d->action = MOTION_REMOVE;
    assert_int_equal(motion_check_sigs(d, fx->state->fed_id, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "does not verify"));
    *d = *m;
    d->round = 2;
    assert_int_equal(motion_check_sigs(d, fx->state->fed_id, &err), FS_EVERIFY);
    *d = *m;
    d->candidate.curve_pk[0] ^= 1; // another transport key: another motion
    assert_int_equal(motion_check_sigs(d, fx->state->fed_id, &err), FS_EVERIFY);
    uint8_t other_fed[HASH_BYTES] = {1};
    assert_int_equal(motion_check_sigs(m, other_fed, &err), FS_EVERIFY);
    // one signature of three voters is no majority; an outsider's does not count
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x1, 1, d);
    assert_int_equal(motion_check_majority(d, fx->state->fed_id,
                                           (const uint8_t(*)[IDENTITY_KEY_BYTES])voters, nv, &err),
                     FS_EVERIFY);
    assert_non_null(strstr(err.msg, "1 signatures, a majority of the 3 active members needs 2"));
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x1 | 0x8, 1, d);
    assert_int_equal(motion_check_majority(d, fx->state->fed_id,
                                           (const uint8_t(*)[IDENTITY_KEY_BYTES])voters, nv, &err),
                     FS_EVERIFY);
    assert_non_null(strstr(err.msg, "not an active member's"));
    char id[MOTION_ID_CHARS];
    motion_id(fx->state->fed_id, m, id);
    assert_int_equal(strlen(id), 16);
    free(m);
    free(d);
    fedfx_destroy(&fx);
}

// The next block with these motions (and, when joiner >= 0, its join
// request signed for the head's height); returns the apply code.
typedef struct {
    const motion_t *const *motions;
    int n, joiner;
} s_changes_t;

static void s_add_changes(fedfx_t *fx, block_t *b, void *arg)
{
    const s_changes_t *c = arg;
    for (int i = 0; i < c->n; i++) {
        b->motions[b->n_motions++] = *c->motions[i];
    }
    if (c->joiner >= 0) {
        fedfx_join(fx, c->joiner, fx->state->height, b);
    }
}

static int s_push(fedfx_t *fx, const motion_t *const *motions, int n, int joiner, fs_err_t *err)
{
    s_changes_t c = {motions, n, joiner};
    return fedfx_push_edited(fx, s_add_changes, &c, err);
}

static void test_motion_admit_join_remove(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_vote(3, 1); // node0..2 founders, node3 an outsider
    const ledger_state_t *st = fx->state;
    motion_t *m = calloc(1, sizeof *m);
    const motion_t *one[1] = {m};
    fs_err_t err = {0};
    fedfx_round(fx, 0);
    // node3 may not join, nor connect (ledger_state_may_join follows the ledger)
    assert_false(ledger_state_may_join(st, s_key(fx, 3)));
    assert_int_equal(s_push(fx, NULL, 0, 3, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "not admitted by the members' vote"));
    // a motion signed by one of three is refused; by two, recorded
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x1, st->height, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "motions 0: motion to admit node3: 1 signatures"));
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x5, st->height, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), 0);
    const uint64_t admitted_in = st->height - 1;
    assert_non_null(ledger_state_admitted(st, s_key(fx, 3)));
    assert_true(ledger_state_may_join(st, s_key(fx, 3)));
    assert_int_equal(st->n_admitted, 1);
    // the same motion again is a replay (its round is not after the admission)
    assert_int_equal(s_push(fx, one, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "a replayed or overtaken motion"));
    // a fresh motion to admit it again: it may join already
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, st->height, m);
    assert_int_equal(ledger_state_check_motion(st, m, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "it may join already (admitted by an earlier motion)"));
    // node3 joins; its admission is used up
    assert_int_equal(s_push(fx, NULL, 0, 3, &err), 0);
    assert_null(ledger_state_admitted(st, s_key(fx, 3)));
    assert_true(ledger_state_member(st, s_key(fx, 3))->active);
    assert_true(ledger_state_member(st, s_key(fx, 3))->joined_at > admitted_in);
    fedfx_round(fx, 0);
    // removing it takes 3 of the 4 now active
    fedfx_motion(fx, MOTION_REMOVE, 3, 0x3, st->height, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "2 signatures, a majority of the 4 active members needs 3"));
    fedfx_motion(fx, MOTION_REMOVE, 3, 0x7, st->height, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), 0);
    const ledger_member_t *mem = ledger_state_member(st, s_key(fx, 3));
    assert_false(mem->active);
    assert_true(mem->removed);
    assert_false(ledger_state_may_join(st, s_key(fx, 3)));
    // a removed member cannot come back on a join request...
    assert_int_equal(s_push(fx, NULL, 0, 3, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "removed by the members' vote, and not admitted again"));
    // ...nor on the replay of the motion that admitted it
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x5, admitted_in, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "a replayed or overtaken motion"));
    // a new motion admits it again, and it rejoins
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x3, st->height, m);
    assert_int_equal(s_push(fx, one, 1, -1, &err), 0);
    assert_true(ledger_state_may_join(st, s_key(fx, 3)));
    assert_int_equal(s_push(fx, NULL, 0, 3, &err), 0);
    assert_true(ledger_state_member(st, s_key(fx, 3))->active);
    assert_false(ledger_state_member(st, s_key(fx, 3))->removed);
    // the whole file verifies from the genesis
    ledger_state_t *again = ledger_state_new();
    assert_int_equal(ledger_state_start(again, fx->recs[0], fx->lens[0], &err), 0);
    for (size_t i = 1; i < fx->n_recs; i++) {
        assert_int_equal(ledger_state_apply(again, fx->recs[i], fx->lens[i], &err), 0);
    }
    assert_int_equal(again->height, st->height);
    ledger_state_destroy(&again);
    free(m);
    fedfx_destroy(&fx);
}

static void test_motion_refused(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_vote(3, 2);
    const ledger_state_t *st = fx->state;
    motion_t *m = calloc(1, sizeof *m), *m2 = calloc(1, sizeof *m2);
    const motion_t *two[2] = {m, m2};
    fs_err_t err = {0};
    fedfx_round(fx, 0);
    // made for a later round than the block
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, st->height + 1, m);
    assert_int_equal(s_push(fx, two, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "after block"));
    // two motions about one candidate in one block
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, st->height, m);
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, st->height - 1, m2);
    assert_int_equal(s_push(fx, two, 2, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "is the subject of motions 0 too"));
    // removing someone who is neither a member nor admitted
    fedfx_motion(fx, MOTION_REMOVE, 4, 0x7, st->height, m);
    assert_int_equal(s_push(fx, two, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "neither an active member nor admitted"));
    // admitting an active member
    fedfx_motion(fx, MOTION_ADMIT, 1, 0x7, st->height, m);
    assert_int_equal(s_push(fx, two, 1, -1, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "already an active member"));
    // an admission revoked before the newcomer joined: it may not join
    fedfx_motion(fx, MOTION_ADMIT, 4, 0x3, st->height, m);
    assert_int_equal(s_push(fx, two, 1, -1, &err), 0);
    fedfx_motion(fx, MOTION_REMOVE, 4, 0x6, st->height, m);
    assert_int_equal(s_push(fx, two, 1, -1, &err), 0);
    assert_false(ledger_state_may_join(st, s_key(fx, 4)));
    assert_null(ledger_state_admitted(st, s_key(fx, 4)));
    assert_int_equal(s_push(fx, NULL, 0, 4, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "not admitted by the members' vote"));
    // past the request window: refused, naming it
    for (int i = 0; i < 66; i++) {
        fedfx_round(fx, 0);
    }
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, st->height - 65, m);
    assert_int_equal(ledger_state_check_motion(st, m, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "outside the genesis's window of 64"));
    // a block without its motions field, in a federation that admits by vote
    block_t *b = malloc(sizeof *b);
    fedfx_next(fx, 0, b);
    b->has_motions = 0;
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    assert_int_equal(fedfx_push(fx, w.data, w.len, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "motions: missing"));
    bytes_writer_reset(&w);
    free(b);
    free(m);
    free(m2);
    fedfx_destroy(&fx);
}

static void test_motion_other_rules(void **state)
{
    (void)state;
    // an allow-list federation records no motion, and its blocks have no field
    fedfx_t *fx = fedfx_new_witnessed(3, 1);
    motion_t *m = calloc(1, sizeof *m);
    fs_err_t err = {0};
    fedfx_round(fx, 0);
    assert_false(fx->state->last.has_motions);
    fedfx_motion(fx, MOTION_ADMIT, 3, 0x7, fx->state->height, m);
    assert_int_equal(ledger_state_check_motion(fx->state, m, &err), FS_EVERIFY);
    assert_non_null(strstr(err.msg, "does not admit by vote (its genesis says allow-list)"));
    // its allow-listed identity may join; an admission by vote needs
    // majority-witnessed blocks (genesis_encode refuses the pair otherwise)
    assert_true(ledger_state_may_join(fx->state, s_key(fx, 3)));
    genesis_t *g = calloc(1, sizeof *g);
    *g = fx->state->genesis;
    g->admission = ADMIT_VOTE;
    g->finality = GENESIS_FINALITY_SIGNED;
    bytes_writer_t w;
    bytes_writer_init(&w);
    uint8_t fed[HASH_BYTES];
    assert_int_equal(genesis_encode(&w, g, fx->ids[0], fed, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "admission by vote needs majority-witnessed blocks"));
    bytes_writer_reset(&w);
    free(g);
    free(m);
    fedfx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_motion_sign_encode_check),
        cmocka_unit_test(test_motion_admit_join_remove),
        cmocka_unit_test(test_motion_refused),
        cmocka_unit_test(test_motion_other_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
