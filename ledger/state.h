/* state.h - what the ledger says now, and the rules every block must obey.
 *
 * A ledger_state_t is built from the genesis record and advanced one block
 * at a time; ledger_state_apply is the single place where a block is judged,
 * used alike by `fedsyn ledger verify`, by chain_open/chain_append and by
 * every node before it accepts a block.  It checks, in order, each failure
 * naming the block and the field (docs/ledger.md §7):
 *   framing and version; type; federation; index (= height); body fields;
 *   aggregator is an active member; prev_hash; time does not go back; election (the aggregator is the candidate of its attempt and the
 *   recorded rank matches); expected members = the active set; contributors
 *   (a subset of expected, ascending, weights p_k = n_k / sum n, at least the
 *   quorum, close reason consistent); joins (signed request, admission rule,
 *   not already active); leaves (signed request, or missed >= K rounds for
 *   "inactive"); privacy fields (the genesis parameters, the epsilon
 *   formulas of budget.h and the running totals); the commit (in a
 *   majority-witnessed federation: the previous block's certificate,
 *   ledger/witness.h); the motions (in a federation that admits by vote:
 *   each signed by a majority of the active members, ledger/motion.h, and
 *   ledger_state_check_motion); last, the aggregator's signature (the field checks
 *   first, so that a damaged block names its field; the signature then
 *   binds them all).
 * A failed apply leaves the state unchanged.  Apply allocates nothing.
 *
 * Usage: see tests/ledger/test_state.c
 */
#ifndef FS_LEDGER_STATE_H
#define FS_LEDGER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/block.h"
#include "ledger/budget.h"
#include "node/base/err.h"

typedef struct {
    identity_pub_t id;  // public identity
    uint8_t active;     // 1 while a member
    uint64_t joined_at; // block index that admitted it (0: founder)
    uint64_t left_at;   // block index that recorded its last leave (0: never left)
    uint32_t missed;    // consecutive rounds expected but not contributed
    uint8_t removed;    // 1 when its last leave was a removal by the members' vote
    // Record-level DP (genesis record_dp): the Renyi DP its records have
    // spent, every round it contributed composed, at each of budget.h's
    // orders (kept across leaving and joining again: a record's loss is
    // for ever).
    double record_rdp[BUDGET_DPSGD_ORDERS];
    // A cache, not state: one step's RDP curve for the (q, sigma) it used
    // last (a member keeps its pair round after round, and a curve costs
    // about 1.6 ms; q = 0: none yet)
    double curve_q, curve_sigma;
    double curve[BUDGET_DPSGD_ORDERS];
} ledger_member_t;

// An institution the members admitted by vote (ledger/motion.h) that has
// not joined yet, or one whose admission (or allow-listing) a later motion
// revoked before it joined.
typedef struct {
    identity_pub_t id;
    uint64_t at;        // the block of the last motion about it
    uint8_t revoked;    // 1: removed before it joined
} ledger_admitted_t;

typedef struct {
    genesis_t genesis;                           // block 0's parameters
    uint8_t fed_id[HASH_BYTES];                  // federation id
    uint64_t height;                             // blocks accepted, genesis included
    uint8_t head_hash[HASH_BYTES];               // hash of the last block
    uint64_t head_time_ms;                       // its time
    uint8_t model_hash[HASH_BYTES];              // the current global model
    uint16_t n_members;                          // members ever recorded
    ledger_member_t members[LEDGER_MAX_MEMBERS]; // in order of admission
    double eps_total;                            // running basic-composition total
    uint64_t rounds_charged;                     // rounds that spent epsilon
    // the members active before the head block: who witness it (0 for the genesis)
    uint16_t n_head_voters;
    uint8_t head_voters[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES]; // ascending
    uint16_t n_admitted;                         // admitted by vote, not joined yet
    ledger_admitted_t admitted[LEDGER_MAX_MEMBERS];
    block_t last;                                // the last block applied (decoded)
    block_t scratch;                             // where apply decodes a candidate
} ledger_state_t;

ledger_state_t *ledger_state_new(void);
void ledger_state_destroy(ledger_state_t **self_p);

// Starts the state from the genesis record (checks its signature).
int ledger_state_start(ledger_state_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
    __attribute__((warn_unused_result));
// Judges the next block; on success the state moves past it and
// self->last holds it decoded.
int ledger_state_apply(ledger_state_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
    __attribute__((warn_unused_result));
// The same, for a record whose sigmsg signature the caller has already
// checked against the record's own signer field (ledger/chain.c checks the
// signatures of a whole file on several threads first); every other check
// runs as in ledger_state_apply, including that the signer is the elected
// aggregator.
int ledger_state_apply_presigned(ledger_state_t *self, const uint8_t *rec, size_t n,
                                 fs_err_t *err) __attribute__((warn_unused_result));

// In a majority-witnessed federation: checks that cert makes the head
// block final (votes of more than half of the members active before it,
// for its hash and height: ledger/witness.h).  FS_EVERIFY naming the
// failure; FS_EINVAL when the head is the genesis.
int ledger_state_check_head_cert(const ledger_state_t *self, const witness_cert_t *cert,
                                 fs_err_t *err) __attribute__((warn_unused_result));

// Checks that cert makes rec final as the block after the head (votes of
// more than half of the active members for its hash at this height): what
// a synced block needs before it is appended.
int ledger_state_check_next_cert(const ledger_state_t *self, const uint8_t *rec, size_t n,
                                 const witness_cert_t *cert, fs_err_t *err)
    __attribute__((warn_unused_result));
// Would rec be accepted as the block after the head?  Judged as
// ledger_state_apply does, on a copy (allocated here), so the state does not
// move: a proposal is not appended before it is final.  On success the new
// global model's hash goes to model_hash (when not NULL).
int ledger_state_check_next(const ledger_state_t *self, const uint8_t *rec, size_t n,
                            uint8_t model_hash[HASH_BYTES], fs_err_t *err)
    __attribute__((warn_unused_result));

// Could motion m be recorded in the block after the head?  Everything but
// its signatures (motion_check_majority): the genesis admits by vote; the
// round is not after that block and within the request window; no
// membership event of the candidate was recorded at or after the round (a
// replay); an admission names someone not active, not admitted already, and
// not free to join anyway (a former member not removed, or on the genesis's
// allow-list and not revoked); a removal names an active member or someone
// admitted or allow-listed who has not joined.  FS_EVERIFY naming the rule.
int ledger_state_check_motion(const ledger_state_t *self, const motion_t *m, fs_err_t *err)
    __attribute__((warn_unused_result));
// May this key join now (the admission rule of the genesis; an active
// member may not)?  What the node's authenticator follows in a
// federation that admits by vote.
int ledger_state_may_join(const ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES]);
// The admitted (not revoked) entry of this key, or NULL.
const ledger_admitted_t *ledger_state_admitted(const ledger_state_t *self,
                                               const uint8_t key[IDENTITY_KEY_BYTES]);

// Record-level DP: the epsilon (at the genesis's record_delta) of this
// member's records after one more round of `steps` DP-SGD steps at rate q
// and noise multiplier sigma (steps 0: as it stands), composed with every
// round the ledger recorded for it; 0 for a key never recorded.  What a
// block records for a contributor, what the aggregator checks against
// the budget, and what a member checks before it trains.
double ledger_state_record_eps(const ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES],
                               double q, double sigma, uint64_t steps);
// Does an epsilon keep within the genesis's record budget?  (Relative
// 1e-9 of slack, as verifiers in other languages recompute it.)
int ledger_state_record_within(const ledger_state_t *self, double eps);

// The active members' signing keys, ascending; returns how many.
size_t ledger_state_active(const ledger_state_t *self, uint8_t (*keys)[IDENTITY_KEY_BYTES]);
// The member with this key (active or not), or NULL.
const ledger_member_t *ledger_state_member(const ledger_state_t *self,
                                           const uint8_t key[IDENTITY_KEY_BYTES]);

#endif
