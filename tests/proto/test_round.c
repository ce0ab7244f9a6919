/* test_round.c - the round as a pure state machine (node/proto/round.h):
 * a member's train/send/failover, an aggregator's all-arrived and deadline
 * closes, refused updates; no socket, no clock (time is an argument). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "ledger/assemble.h"
#include "node/base/err.h"
#include "node/proto/round.h"
#include "tests/support/fedfx.h"

#define T0 100000 // the round starts here (the caller's clock, ms)

static void s_event(round_t *r, round_event_kind_t kind, int flag, int64_t now)
{
    round_event_t e = {.kind = kind, .flag = flag};
    round_actions_t out;
    assert_int_equal(round_on_event(r, &e, now, &out), 0);
    assert_int_equal(out.n, 0);
}

static void s_trained(round_t *r, const float *u, size_t n, int64_t now)
{
    round_event_t e = {.kind = ROUND_EV_TRAINED, .flag = 1, .round = r->round, .update = u,
                       .n = n, .samples = 100};
    round_actions_t out;
    assert_int_equal(round_on_event(r, &e, now, &out), 0);
}

static int s_update(round_t *r, const uint8_t key[IDENTITY_KEY_BYTES], uint64_t round)
{
    round_event_t e = {.kind = ROUND_EV_UPDATE, .round = round, .samples = 50};
    memcpy(e.key, key, IDENTITY_KEY_BYTES);
    memcpy(e.base, r->base_hash, HASH_BYTES); // started from the round's model
    memset(e.digest, key[0], HASH_BYTES);
    e.w = calloc(4, sizeof(float));
    round_actions_t out;
    int rc = round_on_event(r, &e, T0, &out);
    if (rc < 0) {
        free(e.w); // not taken
    }
    return rc;
}

// The candidate of rank `rank` in the state's election: which member to be.
static const uint8_t *s_candidate(const ledger_state_t *st, uint32_t rank, round_t *probe)
{
    uint8_t none[IDENTITY_KEY_BYTES] = {0};
    round_init(probe, none, 0);
    round_begin(probe, st, T0);
    return round_aggregator(probe, rank);
}

// A member with data, the candidate of `rank` (its key to me), whose round
// began with the model known: its first tick asks to train.
static void s_member_training(fedfx_t *fx, uint32_t rank, round_t *probe, round_t *r,
                              uint8_t me[IDENTITY_KEY_BYTES])
{
    memcpy(me, s_candidate(fx->state, rank, probe), IDENTITY_KEY_BYTES);
    round_init(r, me, 1);
    round_begin(r, fx->state, T0);
    s_event(r, ROUND_EV_MODEL, 1, T0);
    round_actions_t out;
    round_tick(r, T0, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
}

static void test_round_usage(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    round_t probe, r;
    // A member that is not the first candidate.
    uint8_t me[IDENTITY_KEY_BYTES];
    memcpy(me, s_candidate(fx->state, 1, &probe), IDENTITY_KEY_BYTES);
    round_init(&r, me, 1);
    round_begin(&r, fx->state, T0);
    assert_int_equal(r.round, 1);
    assert_true(r.active);
    assert_int_equal(r.n_expected, 3);
    // The candidate order is the ledger's election, attempt after attempt.
    for (uint32_t a = 0; a < 7; a++) {
        uint8_t want[IDENTITY_KEY_BYTES];
        assemble_aggregator(fx->state, a, want);
        assert_memory_equal(round_aggregator(&r, a), want, IDENTITY_KEY_BYTES);
    }
    // Deadlines grow by attempt_extra per attempt (5000, 500 in fedfx).
    assert_int_equal(round_deadline(&r, 0), T0 + 5000);
    assert_int_equal(round_deadline(&r, 1), T0 + 5000 + 5500);
    round_actions_t out;
    // Nothing moves until the head's model is known.
    round_tick(&r, T0, &out);
    assert_int_equal(out.n, 0);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    // Our own sends still queued: training waits, at most 250 ms.
    round_event_t ob = {.kind = ROUND_EV_OUTBOX, .count = 3};
    round_on_event(&r, &ob, T0, &out);
    round_tick(&r, T0 + 10, &out);
    assert_int_equal(out.n, 0);
    round_tick(&r, T0 + ROUND_TRAIN_HOLD_MS + 1, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
    assert_int_equal(out.act[0].round, 1);
    round_tick(&r, T0 + 300, &out); // training once
    assert_int_equal(out.n, 0);
    float u[4] = {1, 2, 3, 4};
    s_trained(&r, u, 4, T0 + 400);
    round_tick(&r, T0 + 400, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_SEND_UPDATE);
    assert_memory_equal(out.act[0].peer, round_aggregator(&r, 0), IDENTITY_KEY_BYTES);
    round_tick(&r, T0 + 500, &out); // once per attempt
    assert_int_equal(out.n, 0);
    // No block by attempt 0's deadline: attempt 1, whose aggregator is us;
    // the next tick counts our own update there.
    round_tick(&r, T0 + 5000, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_NEXT_ATTEMPT);
    assert_int_equal(out.act[0].attempt, 1);
    assert_memory_equal(out.act[0].peer, me, IDENTITY_KEY_BYTES);
    assert_memory_equal(out.act[0].prev, round_aggregator(&r, 0), IDENTITY_KEY_BYTES);
    round_tick(&r, T0 + 5001, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_SEND_UPDATE);
    assert_memory_equal(out.act[0].peer, me, IDENTITY_KEY_BYTES);
    assert_int_equal(r.n_got, 1);
    uint8_t h[HASH_BYTES];
    hash_model(u, 4, h);
    assert_memory_equal(r.got[0].digest, h, HASH_BYTES); // its model hash stands for a digest
    round_free(&r);
    round_free(&probe);
    fedfx_destroy(&fx);
}

static void test_round_aggregator_closes(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    ledger_state_t *st = malloc(sizeof *st);
    memcpy(st, fx->state, sizeof *st);
    st->genesis.quorum = 2;
    round_t probe, r;
    uint8_t me[IDENTITY_KEY_BYTES];
    memcpy(me, s_candidate(st, 0, &probe), IDENTITY_KEY_BYTES);
    round_init(&r, me, 0); // an aggregator without data: only others' updates
    round_begin(&r, st, T0);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    round_actions_t out;
    const uint8_t *a = round_aggregator(&r, 1), *b = round_aggregator(&r, 2);
    assert_int_equal(s_update(&r, a, 1), 0);
    // One update: below the quorum, no close even past 80% of the window.
    round_tick(&r, T0 + 4500, &out);
    assert_int_equal(out.n, 0);
    // Refused: a second one from a, one for another round, one trained
    // from another model (its sender's replay is spent then too).
    assert_int_equal(s_update(&r, a, 1), FS_EREPLAY);
    assert_int_equal(s_update(&r, b, 2), FS_ESTALE);
    const uint8_t *c = round_aggregator(&r, 0); // that is us: any key will do
    round_event_t stale = {.kind = ROUND_EV_UPDATE, .round = 1, .samples = 50};
    memcpy(stale.key, c, IDENTITY_KEY_BYTES);
    memset(stale.base, 0x5a, HASH_BYTES);
    assert_int_equal(round_on_event(&r, &stale, T0, &out), FS_ESTALE);
    assert_int_equal(s_update(&r, c, 1), FS_EREPLAY);
    assert_int_equal(round_member(&r, a) != NULL, 1);
    assert_int_equal(s_update(&r, b, 1), 0);
    // Two of three before 80% of the window: wait for the third ...
    round_tick(&r, T0 + 3999, &out);
    assert_int_equal(out.n, 0);
    // ... then close with the quorum (deadline).
    round_tick(&r, T0 + 4000, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    assert_int_equal(out.act[0].close_reason, CLOSE_DEADLINE);
    // A close the node could not perform is decided again at the next tick.
    round_tick(&r, T0 + 4001, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    // A peer announced a longer ledger: closing here would fork, so the
    // aggregator does not close while behind; the attempt's deadline still
    // moves the round on, and once caught up it closes again.
    s_event(&r, ROUND_EV_BEHIND, 1, T0 + 4002);
    round_tick(&r, T0 + 4002, &out);
    assert_int_equal(out.n, 0);
    s_event(&r, ROUND_EV_BEHIND, 0, T0 + 4003);
    round_tick(&r, T0 + 4003, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    s_event(&r, ROUND_EV_BEHIND, 1, T0 + 4004);
    round_tick(&r, T0 + 5000, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_NEXT_ATTEMPT);
    s_event(&r, ROUND_EV_BEHIND, 0, T0 + 5000);
    // Every expected member sent (the aggregator's own counted too): all-arrived.
    round_free(&r);
    round_init(&r, me, 1);
    round_begin(&r, st, T0);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    round_tick(&r, T0, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
    float u[4] = {0};
    s_trained(&r, u, 4, T0 + 1);
    assert_int_equal(s_update(&r, a, 1), 0);
    assert_int_equal(s_update(&r, b, 1), 0);
    round_tick(&r, T0 + 2, &out);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.act[0].kind, ROUND_ACT_SEND_UPDATE);
    assert_int_equal(out.act[1].kind, ROUND_ACT_CLOSE);
    assert_int_equal(out.act[1].close_reason, CLOSE_ALL_ARRIVED);
    // The next block starts a new round: the counted updates are gone.
    fedfx_round(fx, 0);
    round_begin(&r, fx->state, T0 + 10);
    assert_int_equal(r.round, 2);
    assert_int_equal(r.n_got, 0);
    assert_false(r.trained);
    round_free(&r);
    round_free(&probe);
    free(st);
    fedfx_destroy(&fx);
}

// Record-level DP: the figures of our own update and of a received one
// reach the counted contributions (what the block records), and a member
// whose budget is spent trains no more (round_stop_training), while it
// still aggregates what others send.
static void test_round_record_dp(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    round_t probe, r;
    uint8_t me[IDENTITY_KEY_BYTES];
    s_member_training(fx, 0, &probe, &r, me);
    round_actions_t out;
    float u[4] = {0};
    round_event_t e = {.kind = ROUND_EV_TRAINED, .flag = 1, .round = r.round, .update = u,
                       .n = 4, .samples = 100, .dp_q = 0.02, .dp_sigma = 1.5, .dp_steps = 40};
    assert_int_equal(round_on_event(&r, &e, T0 + 1, &out), 0);
    const uint8_t *a = round_aggregator(&r, 1);
    round_event_t up = {.kind = ROUND_EV_UPDATE, .round = 1, .samples = 50, .dp_q = 0.03,
                        .dp_sigma = 2.0, .dp_steps = 60};
    memcpy(up.key, a, IDENTITY_KEY_BYTES);
    memcpy(up.base, r.base_hash, HASH_BYTES);
    up.w = calloc(4, sizeof(float));
    assert_int_equal(round_on_event(&r, &up, T0 + 2, &out), 0);
    round_tick(&r, T0 + 3, &out); // our own is counted as we aggregate
    assert_int_equal(r.n_got, 2);
    for (int i = 0; i < 2; i++) {
        const round_contrib_t *c = &r.got[i];
        const int own = memcmp(c->key, me, IDENTITY_KEY_BYTES) == 0;
        assert_true(c->dp_q == (own ? 0.02 : 0.03) && c->dp_sigma == (own ? 1.5 : 2.0) &&
                    c->dp_steps == (own ? 40u : 60u));
    }
    // the next round: spent, it trains no more but still closes
    fedfx_round(fx, 0);
    round_begin(&r, fx->state, T0 + 10);
    round_stop_training(&r);
    round_tick(&r, T0 + 11, &out);
    for (int i = 0; i < out.n; i++) {
        assert_int_not_equal(out.act[i].kind, ROUND_ACT_TRAIN);
    }
    round_free(&r);
    round_free(&probe);
    fedfx_destroy(&fx);
}

static void test_round_leaving_and_stale_training(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    round_t probe, r;
    uint8_t me[IDENTITY_KEY_BYTES];
    s_member_training(fx, 2, &probe, &r, me);
    round_actions_t out;
    // The round moves on while we train: the result is for round 1, now 2.
    fedfx_round(fx, 0);
    round_begin(&r, fx->state, T0 + 100);
    float u[4] = {0};
    round_event_t e = {.kind = ROUND_EV_TRAINED, .flag = 1, .round = 1, .update = u, .n = 4};
    round_on_event(&r, &e, T0 + 200, &out);
    assert_false(r.trained);
    round_tick(&r, T0 + 200, &out); // the trainer is free again: round 2 trains
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
    assert_int_equal(out.act[0].round, 2);
    // A diverged result for this round: no second try until the next round
    // (from a NaN model it would diverge again, in a loop).
    round_t d;
    round_init(&d, me, 1);
    round_begin(&d, fx->state, T0);
    s_event(&d, ROUND_EV_MODEL, 1, T0);
    round_tick(&d, T0, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
    round_event_t bad = {.kind = ROUND_EV_TRAINED, .flag = 0, .round = d.round};
    round_on_event(&d, &bad, T0 + 10, &out);
    round_tick(&d, T0 + 20, &out);
    assert_int_equal(out.n, 0);
    fedfx_round(fx, 0);
    round_begin(&d, fx->state, T0 + 30);
    round_tick(&d, T0 + 40, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_TRAIN);
    round_free(&d);
    // A leaving member goes on contributing until a block records its
    // leave: its update still goes to the aggregator.
    s_event(&r, ROUND_EV_LEAVING, 0, T0 + 300);
    e.round = 2;
    round_on_event(&r, &e, T0 + 300, &out);
    round_tick(&r, T0 + 300, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_SEND_UPDATE);
    round_free(&r);
    round_free(&probe);
    fedfx_destroy(&fx);
}

// A member whose leave waits for the next block does not hold the round
// up: once every other expected member has sent (and the quorum is met),
// the aggregator closes at once, all-staying; without the leave it waits
// for the deadline.  Keys that are not expected members are ignored.
static void test_round_leaver_does_not_hold_up(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    round_t probe, r;
    uint8_t me[IDENTITY_KEY_BYTES], other[IDENTITY_KEY_BYTES], leaver[2][IDENTITY_KEY_BYTES];
    memcpy(me, s_candidate(fx->state, 0, &probe), IDENTITY_KEY_BYTES); // aggregator of attempt 0
    memcpy(other, round_aggregator(&probe, 1), IDENTITY_KEY_BYTES);
    memcpy(leaver[0], round_aggregator(&probe, 2), IDENTITY_KEY_BYTES);
    memset(leaver[1], 0xee, IDENTITY_KEY_BYTES); // no member
    round_init(&r, me, 1);
    round_begin(&r, fx->state, T0);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    round_actions_t out;
    round_tick(&r, T0, &out); // TRAIN
    float u[4] = {1, 2, 3, 4};
    s_trained(&r, u, 4, T0 + 100);
    round_tick(&r, T0 + 100, &out); // our own update counted
    assert_int_equal(s_update(&r, other, 1), 0);
    round_tick(&r, T0 + 200, &out);
    assert_int_equal(out.n, 0); // 2 of 3: waits for the third
    round_set_leavers(&r, (const uint8_t(*)[IDENTITY_KEY_BYTES])leaver, 2);
    assert_int_equal(r.n_leavers, 1);
    round_tick(&r, T0 + 300, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    assert_int_equal(out.act[0].close_reason, CLOSE_ALL_STAYING);
    round_free(&r);
    round_free(&probe);
    fedfx_destroy(&fx);
}

// Updates for the next round wait for its block, then come back to be opened.
static void test_round_early_updates(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new(3, 0, NOISE_NONE);
    round_t r;
    uint8_t me[IDENTITY_KEY_BYTES] = {0};
    round_init(&r, me, 1);
    round_begin(&r, fx->state, T0);
    uint8_t *buf = malloc(8);
    assert_int_equal(round_keep_early(&r, r.round, buf, 8), 0); // this round: open it now
    assert_int_equal(round_keep_early(&r, r.round + 2, buf, 8), 0);
    assert_int_equal(round_keep_early(&r, r.round + 1, buf, 8), 1); // taken
    for (int i = 1; i < ROUND_MAX_EARLY; i++) {
        assert_int_equal(round_keep_early(&r, r.round + 1, malloc(8), 8), 1);
    }
    uint8_t *extra = malloc(8);
    assert_int_equal(round_keep_early(&r, r.round + 1, extra, 8), 0); // full
    free(extra);
    // The block arrives: the round begins, and hands them all back once.
    fedfx_round(fx, 0);
    round_begin(&r, fx->state, T0 + 100);
    uint8_t *bufs[ROUND_MAX_EARLY];
    size_t ns[ROUND_MAX_EARLY];
    assert_int_equal(round_take_early(&r, bufs, ns), ROUND_MAX_EARLY);
    assert_ptr_equal(bufs[0], buf);
    assert_int_equal(ns[0], 8);
    assert_int_equal(round_take_early(&r, bufs, ns), 0);
    for (int i = 0; i < ROUND_MAX_EARLY; i++) {
        free(bufs[i]);
    }
    // What round_free finds is freed by it.
    assert_int_equal(round_keep_early(&r, r.round + 1, malloc(8), 8), 1);
    round_free(&r);
    assert_int_equal(r.n_early, 0);
    fedfx_destroy(&fx);
}

// With majority-witnessed blocks: a CLOSE that comes to nothing (the
// proposer waits for promises) does not hold the round past its deadline,
// no CLOSE comes again once the attempt is proposed, and a later attempt
// seen in a voter's message is joined at once, with a full window.
static void test_round_witnessed(void **state)
{
    (void)state;
    fedfx_t *fx = fedfx_new_witnessed(3, 0);
    round_t probe, r;
    uint8_t me[IDENTITY_KEY_BYTES];
    memcpy(me, s_candidate(fx->state, 0, &probe), IDENTITY_KEY_BYTES);
    round_init(&r, me, 0);
    round_begin(&r, fx->state, T0);
    assert_true(r.witnessed);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    const uint8_t *a = round_aggregator(&r, 1), *b = round_aggregator(&r, 2);
    assert_int_equal(s_update(&r, a, 1), 0);
    assert_int_equal(s_update(&r, b, 1), 0);
    round_actions_t out;
    round_tick(&r, T0 + 4000, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    // not proposed (promises missing, say): at the deadline the round moves on
    round_tick(&r, T0 + 5000, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, ROUND_ACT_NEXT_ATTEMPT);
    assert_int_equal(r.attempt, 1);
    // proposed in an attempt: no second CLOSE in it
    round_free(&r);
    round_init(&r, me, 0);
    round_begin(&r, fx->state, T0);
    s_event(&r, ROUND_EV_MODEL, 1, T0);
    assert_int_equal(s_update(&r, a, 1), 0);
    assert_int_equal(s_update(&r, b, 1), 0);
    round_tick(&r, T0 + 4000, &out);
    assert_int_equal(out.act[0].kind, ROUND_ACT_CLOSE);
    round_mark_proposed(&r);
    round_tick(&r, T0 + 4001, &out);
    assert_int_equal(out.n, 0);
    // A peer's message shows attempt 2: we move there now, its window ahead
    // (5,000 + 2 x 500 ms), and at most n = 3 attempts per jump.
    assert_int_equal(round_jump(&r, 2, T0 + 4100), 1);
    assert_int_equal(r.attempt, 2);
    assert_int_equal(round_deadline(&r, 2), T0 + 4100 + 5000 + 2 * 500);
    assert_int_equal(round_jump(&r, 1, T0 + 4200), 0); // never back
    assert_int_equal(round_jump(&r, 1000, T0 + 4300), 1);
    assert_int_equal(r.attempt, 5);
    round_free(&r);
    round_free(&probe);
    fedfx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_witnessed),
        cmocka_unit_test(test_round_usage),
        cmocka_unit_test(test_round_aggregator_closes),
        cmocka_unit_test(test_round_record_dp),
        cmocka_unit_test(test_round_leaving_and_stale_training),
        cmocka_unit_test(test_round_leaver_does_not_hold_up),
        cmocka_unit_test(test_round_early_updates),
    };
    return cmocka_run_group_tests_name("proto_round", tests, NULL, NULL);
}
