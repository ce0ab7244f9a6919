/* round.h - one round of the federation as a pure state machine.
 *
 * The protocol core (node/proto, issue 18): no sockets, no clock, no files.
 * Time comes in as `now` (milliseconds of the caller's monotonic clock),
 * what happened comes in as events, and what to do goes out as actions
 * (round_action_t) that the caller performs: node/fed's event loop in the
 * node, tests/sim's simulated nodes in the simulator.  The rules are those
 * of docs/federation.md "One round" and "Failover: attempts":
 *
 *   round_begin         a block was appended: round r = height, attempt 0,
 *                       the election's candidate order, the active set
 *   ROUND_EV_TRAINED    the trainer finished (its update is kept, borrowed)
 *   ROUND_EV_UPDATE     an opened update for this round arrived: refused
 *                       when its sender already sent one this round (the
 *                       replay set, which outlives rounds) or when it
 *                       started from another model than the round's; else
 *                       counted
 *   round_keep_early    an update for round + 1 came before its block: kept
 *                       (at most ROUND_MAX_EARLY) and handed back by
 *                       round_take_early once that round begins
 *   round_tick          TRAIN when a member may train; SEND_UPDATE once per
 *                       attempt; CLOSE when this node aggregates the attempt
 *                       and every expected member sent (all-arrived), every
 *                       one but the pending leavers (round_set_leavers) with
 *                       the quorum (all-staying), or at 80% of the attempt's
 *                       window with the quorum (deadline); NEXT_ATTEMPT at
 *                       the attempt's deadline
 *
 * Attempt a ends at start + sum_{i<=a} (timeout + i * extra); its
 * aggregator is the election's candidate of rank a mod n.  Updates counted
 * in an earlier attempt stay counted.  The round owns the counted updates'
 * weight vectors (round_contrib_t.w) and frees them at round_begin and
 * round_free.  The round also holds the active members' keyring (whom
 * updates may come from, whom ours is sealed to) and the replay set.
 *
 * Usage: see tests/proto/test_round.c
 */
#ifndef FS_PROTO_ROUND_H
#define FS_PROTO_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "ledger/state.h"

#define ROUND_MAX_ACTIONS 4
#define ROUND_TRAIN_HOLD_MS 250 // longest training waits for this node's sends
#define ROUND_MAX_EARLY 16      // updates for the next round, kept until it starts

typedef enum {
    ROUND_ACT_TRAIN = 1,  // start local training of `round` from the head's model
    ROUND_ACT_SEND_UPDATE, // seal the trained update to `peer` for `attempt`; when peer is
                           // this node, the update was counted here (nothing to send)
    ROUND_ACT_CLOSE,      // aggregate the counted updates, make, append and send the block
    ROUND_ACT_NEXT_ATTEMPT, // `attempt` begins, aggregator `peer` (`prev` missed its deadline)
    ROUND_ACT_COUNT
} round_action_kind_t;

typedef struct {
    round_action_kind_t kind;
    uint64_t round;
    uint32_t attempt;
    uint8_t peer[IDENTITY_KEY_BYTES];  // the aggregator concerned
    uint8_t prev[IDENTITY_KEY_BYTES];  // NEXT_ATTEMPT: the one that missed
    uint8_t close_reason;              // CLOSE: close_reason_t
} round_action_t;

typedef struct {
    int n;
    round_action_t act[ROUND_MAX_ACTIONS];
} round_actions_t;

typedef enum {
    ROUND_EV_MODEL = 1,   // the head's model is known (flag) or not
    ROUND_EV_LEAVING,     // this node is leaving (it goes on contributing until a
                          // block records its leave)
    ROUND_EV_OUTBOX,      // frames still queued for peers (count)
    ROUND_EV_TRAINED,     // the trainer returned (flag 1: an update for `round` to
                          // send; 0 for this round: it diverged, no retry this round)
    ROUND_EV_UPDATE,      // an update for this round passed every check (count it)
    ROUND_EV_BEHIND,      // some peer announced a longer ledger than ours (flag), or
                          // none does (0): peers_behind, delivered every tick
    ROUND_EV_COUNT
} round_event_kind_t;

typedef struct {
    round_event_kind_t kind;
    int flag;                 // MODEL: known; TRAINED: ok (finite, noised)
    size_t count;             // OUTBOX: frames queued
    uint64_t round;           // TRAINED, UPDATE: the round it is for
    const float *update;      // TRAINED: the update (borrowed until the next TRAINED
                              // or round_begin); UPDATE: see w
    float *w;                 // UPDATE: the weights (taken when counted)
    size_t n;                 // TRAINED: floats in update
    uint64_t samples;         // TRAINED, UPDATE: the sender's sample count
    uint8_t key[IDENTITY_KEY_BYTES]; // UPDATE: the sender
    uint8_t digest[HASH_BYTES];      // UPDATE: its envelope digest
    uint8_t base[HASH_BYTES];        // UPDATE: the model it started from
    // TRAINED, UPDATE: record-level DP (genesis record_dp): what the
    // sender's DP-SGD spent this round (0: none)
    double dp_q, dp_sigma;
    uint64_t dp_steps;
} round_event_t;

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES]; // contributor
    uint8_t digest[HASH_BYTES];      // envelope digest (own update: its model hash)
    uint64_t samples;
    float *w;                        // owned
    double dp_q, dp_sigma;           // record-level DP: what its DP-SGD spent
    uint64_t dp_steps;
} round_contrib_t;

typedef struct {
    // this node, fixed at round_init
    uint8_t me[IDENTITY_KEY_BYTES];
    int has_data;           // it holds training data (a member that trains)
    // from the ledger at round_begin
    uint64_t round;         // index of the block being made (= height)
    uint32_t attempt;
    int64_t start_ms;
    uint32_t timeout_ms, extra_ms;
    uint16_t quorum;
    int witnessed;          // majority-witnessed blocks (genesis finality): CLOSE proposes
    int active;             // this node is an active member
    size_t n_expected;      // active members
    uint8_t candidates[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES]; // election order
    uint8_t base_hash[HASH_BYTES];      // the head's model: what updates start from
    keyring_t *members;     // the active members' identities
    replay_t *replay;       // (sender, round) of every update counted or refused
    // conditions reported by events
    int have_model, leaving, training;
    int behind;             // a peer holds a longer ledger: we do not close (ROUND_EV_BEHIND)
    // expected members whose requested leave the next block will record
    // (round_set_leavers): the aggregator does not wait for them
    uint8_t leavers[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n_leavers;
    size_t outbox;
    // this round's work
    int trained;
    int diverged;           // this round's training diverged: no second try
    const float *update;    // borrowed (ROUND_EV_TRAINED)
    size_t n;
    uint64_t samples;
    double dp_q, dp_sigma;  // our own update's DP-SGD figures (ROUND_EV_TRAINED)
    uint64_t dp_steps;
    uint32_t sent_attempt;  // attempt + 1 the update was last sent for (0: none)
    uint32_t proposed_attempt; // attempt + 1 whose block was proposed (round_mark_proposed)
    int n_got;
    round_contrib_t got[LEDGER_MAX_MEMBERS];
    // updates for round + 1 that came before its block (raw messages, owned)
    uint8_t *early[ROUND_MAX_EARLY];
    size_t early_n[ROUND_MAX_EARLY];
    int n_early;
} round_t;

// Starts an empty round state for node `me` (no ledger yet: inactive), on
// fresh memory or after round_free.
void round_init(round_t *self, const uint8_t me[IDENTITY_KEY_BYTES], int has_data);
// From now on this node trains no more (a member whose records' privacy
// budget is spent, genesis record_dp): no TRAIN from the next tick on, and
// a training under way for the round is forgotten.
void round_stop_training(round_t *self);
// Frees the counted and the kept updates, the keyring and the replay set.
void round_free(round_t *self);

// A block was appended (or the ledger opened): the round after st's head
// starts at `now`.  Keeps the trainer, model and leaving conditions.
void round_begin(round_t *self, const ledger_state_t *st, int64_t now);

// One event.  Returns 0, or for ROUND_EV_UPDATE a negative FS_* code when
// the update is not counted: FS_ESTALE (another round, or started from
// another model), FS_EREPLAY (its sender's second this round), FS_ETOOBIG
// (a full table); then e->w stays the caller's.  Events produce no
// actions of their own today (out is cleared); round_tick decides.
int round_on_event(round_t *self, const round_event_t *e, int64_t now, round_actions_t *out);

// Decides what is due at `now` (in order: train, send, close, next attempt).
// After a CLOSE nothing else is emitted: the caller appends the block and
// calls round_begin.
void round_tick(round_t *self, int64_t now, round_actions_t *out);

// Takes buf (n bytes, malloc'd) when it is an update for the next round
// (msg_round == round + 1) and fewer than ROUND_MAX_EARLY wait: returns 1;
// else 0 and buf stays the caller's.
int round_keep_early(round_t *self, uint64_t msg_round, uint8_t *buf, size_t n);
// Hands every kept update to the caller (bufs and ns hold ROUND_MAX_EARLY;
// the caller owns and frees them) and returns how many; call it after
// round_begin and open them for the new round.
int round_take_early(round_t *self, uint8_t **bufs, size_t *ns);

// In a majority-witnessed federation a CLOSE makes a proposal, and the
// round stays open until the block is final (node/proto/finality.h): the
// caller marks the attempt proposed, and no CLOSE comes again in it.
void round_mark_proposed(round_t *self);

// With witnesses: a voter's signed message showed a later attempt of this
// round (its clock started the round earlier, or it did not restart): this
// node moves to that attempt now, at most n attempts ahead per call (one
// member cannot push the windows out of reach).  Returns 1 when it moved;
// the caller then enters the new ballot (finality_enter_ballot).
int round_jump(round_t *self, uint32_t attempt, int64_t now);

// The aggregator of an attempt of this round (NULL when no member is active).
// The members whose leave requests wait for the next block (the keys of
// members.h's pending leaves): once every other expected member has sent,
// the aggregator closes at once (CLOSE_ALL_STAYING) if the quorum is met.
// Keys that are not expected members are ignored; call before round_tick.
void round_set_leavers(round_t *self, const uint8_t (*keys)[IDENTITY_KEY_BYTES], size_t n);
const uint8_t *round_aggregator(const round_t *self, uint32_t attempt);
// When attempt `attempt` ends.
int64_t round_deadline(const round_t *self, uint32_t attempt);
const char *round_action_name(int kind);
// The active member with this key, or NULL (borrowed, valid until round_begin).
const identity_pub_t *round_member(const round_t *self, const uint8_t key[IDENTITY_KEY_BYTES]);

#endif
