/* finality.h - when a block is final: one Paxos instance per height.
 *
 * Part of the protocol core (node/proto): no sockets, no clock, no files.
 * In a federation whose genesis asks for majority-witnessed blocks
 * (genesis_t.finality), the aggregator's block is only a proposal; it is
 * final, and may be appended and built on, once more than half of the
 * members active before it (the voters) have signed it for one ballot.
 * The ballot is the round's attempt (round.h), whose aggregator is its
 * one proposer.  The rules are single-decree Paxos (Lamport, "Paxos Made
 * Simple"), with the attempt's deadline as the timeout that starts the
 * next ballot:
 *
 *   acceptor   a voter never votes below the highest ballot it has entered
 *              (promised), votes at most one block per ballot, and makes
 *              what it promised and voted durable (FIN_ACT_PERSIST) before
 *              any message says so
 *   phase 1    entering ballot b >= 1, a voter sends a promise for b that
 *              names the block it last voted for (and carries it)
 *   phase 2    the proposer of ballot 0 proposes its own block; the proposer
 *              of b >= 1 waits for promises of a majority for b and proposes
 *              the block of the highest ballot they voted for, or, if none
 *              voted, its own (finality_may_propose)
 *   decision   votes of a majority for one (ballot, block) make the block
 *              final (FIN_ACT_FINAL with the certificate)
 *
 * So two blocks of one height are never both final (two majorities share a
 * voter, and Paxos's phase 1 carries any block that may have been chosen
 * into every later ballot), and a minority of the voters can finalize
 * nothing: it waits.  Liveness needs a majority of the voters up and
 * connected for an attempt's window.
 *
 * The caller checks every signature and every block before it hands them
 * in (a proposal: the block is valid on the ledger, its model durable, the
 * proposer the ballot's aggregator), signs with the identity it lends, and
 * performs the actions in order.
 *
 * Usage: see tests/proto/test_finality.c
 */
#ifndef FS_PROTO_FINALITY_H
#define FS_PROTO_FINALITY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/state.h"
#include "ledger/witness.h"

#define FIN_MAX_ACTIONS 3
#define FIN_MAX_TALLIES 8   // (ballot, block) pairs whose votes are counted at once
#define FIN_MAX_BLOCKS 4    // proposed blocks kept at once (to append the final one)

typedef enum {
    FIN_ACT_PERSIST = 1, // write finality_acceptor() durably before what follows
    FIN_ACT_PROMISE,     // broadcast the promise (ballot, voted_ballot, hash, block, sig)
    FIN_ACT_VOTE,        // broadcast the vote (ballot, hash, sig)
    FIN_ACT_FINAL,       // append block `hash` (finality_block) with certificate `cert`
    FIN_ACT_COUNT
} fin_action_kind_t;

typedef struct {
    fin_action_kind_t kind;
    uint64_t height;
    uint32_t ballot;
    uint32_t voted_ballot;           // PROMISE: WITNESS_NONE when it voted for nothing
    uint8_t hash[HASH_BYTES];        // VOTE, FINAL: the block; PROMISE: the one voted for
    const uint8_t *rec;              // PROMISE, FINAL: its bytes (borrowed until the next call)
    size_t rec_n;
    uint8_t sig[IDENTITY_SIG_BYTES]; // PROMISE, VOTE: this node's signature
    const witness_cert_t *cert;      // FINAL (borrowed until the next call)
} fin_action_t;

typedef struct {
    int n;
    fin_action_t act[FIN_MAX_ACTIONS];
} fin_actions_t;

// What a voter must keep through a crash, for the height being decided.
typedef struct {
    uint64_t height;
    uint32_t promised;                // highest ballot entered (0 at the height's start)
    uint32_t voted_ballot;            // WITNESS_NONE: no vote yet
    uint8_t voted_hash[HASH_BYTES];
} fin_acceptor_t;

typedef enum {
    FIN_WAIT = 0,     // not this node's ballot, or promises of a majority missing
    FIN_OWN,          // propose a new block of this node's own (round.h's CLOSE)
    FIN_REPROPOSE,    // propose the block finality_may_propose returned
} fin_proposal_t;

typedef struct finality finality_t;

// The node `me` (lent, not owned) of federation fed_id.
finality_t *finality_new(const identity_t *me, const uint8_t fed_id[HASH_BYTES]);
void finality_destroy(finality_t **self_p);

// A block was appended (or the ledger opened): decide height st->height,
// voters = its active members.  The acceptor state of an earlier height is
// dropped; restore a durable one of this height with finality_restore.
void finality_begin(finality_t *self, const ledger_state_t *st);
// After a restart: the durable acceptor state and the block it voted for
// (rec may be NULL when it voted for nothing).  Ignored when acc is for
// another height.
void finality_restore(finality_t *self, const fin_acceptor_t *acc, const uint8_t *rec, size_t n);
// The acceptor state to persist (FIN_ACT_PERSIST) and the voted block's bytes.
const fin_acceptor_t *finality_acceptor(const finality_t *self, const uint8_t **rec, size_t *n);

// The round moved to attempt `ballot` (0 at its start), whose aggregator is
// this node when `lead`: PERSIST and PROMISE when ballot >= 1 and above
// what this voter promised.
void finality_enter_ballot(finality_t *self, uint32_t ballot, int lead, fin_actions_t *out);
// A promise whose signature the caller checked (and, when voted_ballot is
// not WITNESS_NONE, that rec hashes to voted_hash).  Kept per voter, the
// highest ballot's.
void finality_on_promise(finality_t *self, const uint8_t from[IDENTITY_KEY_BYTES],
                         uint32_t ballot, uint32_t voted_ballot,
                         const uint8_t voted_hash[HASH_BYTES], const uint8_t *rec, size_t n);
// What the aggregator of `ballot` may propose now (see above); for
// FIN_REPROPOSE *rec / *n are the block (borrowed until the next call).
fin_proposal_t finality_may_propose(finality_t *self, uint32_t ballot, const uint8_t **rec,
                                    size_t *n);
// A valid proposal of block `hash` (rec, n bytes) at `ballot` (the caller's
// own included, before it sends it): kept, and voted for when the rules
// allow (PERSIST, VOTE; the vote again, without PERSIST, when it repeats
// one already cast); FINAL when the votes already counted decide it.
// Returns 1 when this node voted for it.
int finality_on_proposal(finality_t *self, uint32_t ballot, const uint8_t hash[HASH_BYTES],
                         const uint8_t *rec, size_t n, fin_actions_t *out);
// A vote whose signature the caller checked (witness_vote_digest): counted
// when `from` is a voter; FINAL once a majority voted for one (ballot,
// block) whose bytes are known.  Returns 1 when counted.
int finality_on_vote(finality_t *self, const uint8_t from[IDENTITY_KEY_BYTES], uint32_t ballot,
                     const uint8_t hash[HASH_BYTES], const uint8_t sig[IDENTITY_SIG_BYTES],
                     fin_actions_t *out);

// For logs and `fedsyn status`: the height, the voters, how many votes the
// best-supported (ballot, block) has, and how many a decision needs.
typedef struct {
    uint64_t height;
    size_t voters, best_votes, need;
    uint32_t promised, voted_ballot;
    int decided;
} fin_status_t;
void finality_status(const finality_t *self, fin_status_t *out);
const char *finality_action_name(int kind);

#endif
