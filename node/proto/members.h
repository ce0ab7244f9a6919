/* members.h - membership as a pure state machine: this node's join and
 * leave, the join and leave requests waiting for a block, and the changes
 * an aggregator writes into its block (docs/federation.md "Joining,
 * leaving, restarting").
 *
 * Part of the protocol core (node/proto): no sockets, no clock, no files.
 * Requests arrive as events (their signatures already checked, and each
 * seen once: peers.h); the ledger's state is an argument; what to send goes
 * out as actions.  Signing a request is a function of its arguments
 * (Ed25519 is deterministic), so the core signs with the identity it is
 * lent.
 *
 *   members_on_request  a signed join (from a non-member) or leave (from an
 *                       active member) is kept until a block records it; a
 *                       newer one from the same key replaces the older
 *   members_on_block    requests the new head recorded are dropped
 *   members_leave       this node starts leaving (LEFT at once when it is
 *                       not an active member)
 *   members_tick        LEFT once the ledger no longer lists us as active
 *                       while leaving; the leave notice again every 3 s;
 *                       a join request every 3 s while not a member, with
 *                       data, and caught up with every peer it hears
 *   members_changes     the joins, requested leaves and inactive members
 *                       (missed inactive_after rounds) for the next block,
 *                       and the motions a majority has signed
 *
 * In a federation that admits by vote (ledger/motion.h) it also keeps the
 * motions under way, with every active member's signature it has seen:
 *   members_propose     this node moves to admit or remove someone (signs)
 *   members_sign        this node signs a pending motion
 *   members_on_motion   a peer's copy of a motion: its signatures merge in
 *   members_tick        every pending motion again every 3 s (SEND_MOTIONS)
 * and says REMOVED when the ledger records this node's removal.
 *
 * Usage: see tests/proto/test_members.c
 */
#ifndef FS_PROTO_MEMBERS_H
#define FS_PROTO_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/state.h"

#define MEMBERS_MAX_PENDING 16   // join / leave requests waiting for a block
#define MEMBERS_RETRY_MS 3000    // a join request or leave notice again after
#define MEMBERS_MAX_MOTIONS 8    // motions under way
#define MEMBERS_MAX_ACTIONS 4

typedef enum {
    MEMBERS_ACT_SEND_JOIN = 1, // gossip our join request (bytes) to every peer
    MEMBERS_ACT_SEND_LEAVE,    // gossip our leave notice (bytes) to every peer
    MEMBERS_ACT_LEFT,          // the ledger recorded our leave (or we were no member): stop
    MEMBERS_ACT_SEND_MOTIONS,  // gossip every pending motion (members_motion) to every peer
    MEMBERS_ACT_REMOVED,       // the ledger records our removal by vote (height: its block): stop
    MEMBERS_ACT_COUNT
} members_action_kind_t;

typedef struct {
    members_action_kind_t kind;
    const uint8_t *bytes;      // the signed request (borrowed: valid until the next call)
    size_t n;
    uint64_t height;           // the height it was made at
} members_action_t;

typedef struct {
    int n;
    members_action_t act[MEMBERS_MAX_ACTIONS];
} members_actions_t;

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES];
    uint8_t *req;              // the signed request (owned)
    size_t n;
    uint64_t round;            // the round it was signed for (its sigmsg's)
} members_request_t;

typedef struct {
    uint8_t me[IDENTITY_KEY_BYTES];
    int has_data;              // a member that trains (only those ask to join)
    int leaving, left;
    int64_t last_join, last_leave;
    members_request_t joins[MEMBERS_MAX_PENDING], leaves[MEMBERS_MAX_PENDING];
    int n_joins, n_leaves;
    uint8_t own[BLOCK_REQUEST_MAX]; // our last request (what the actions point to)
    size_t own_n;
    motion_t *motions[MEMBERS_MAX_MOTIONS]; // owned; active members' signatures only
    int n_motions;
    int64_t last_motions;
} members_t;

// What members_changes hands to assemble_block (pointers borrow the
// pending requests; valid until the next call that changes them).
typedef struct {
    const uint8_t *join_reqs[BLOCK_MAX_CHANGES];
    size_t join_lens[BLOCK_MAX_CHANGES];
    size_t n_join;
    uint8_t leave_keys[BLOCK_MAX_CHANGES][IDENTITY_KEY_BYTES];
    const uint8_t *leave_reqs[BLOCK_MAX_CHANGES]; // NULL: marked inactive
    size_t leave_lens[BLOCK_MAX_CHANGES];
    size_t n_leave;
    const motion_t *motions[BLOCK_MAX_MOTIONS]; // signed by a majority
    size_t n_motions;
} members_changes_t;

void members_init(members_t *self, const uint8_t me[IDENTITY_KEY_BYTES], int has_data);
void members_free(members_t *self);
// Drops what a crash loses: pending requests, leaving (durable state is the
// ledger's).
void members_reset(members_t *self);

// 1 when the key is an active member of st.
int members_is_active(const ledger_state_t *st, const uint8_t key[IDENTITY_KEY_BYTES]);

// A join (type SIGMSG_JOIN) or leave (SIGMSG_LEAVE) request for `round`,
// signature checked, signed by `signer`.  Returns 1 when it was kept, 0 when
// it is not for now (a join from an active member, a leave from a
// non-member, a request older than the genesis's request window),
// FS_ETOOBIG when MEMBERS_MAX_PENDING requests wait already (dropped; the
// caller relays it all the same, as it does a kept one).
int members_on_request(members_t *self, const ledger_state_t *st, int type, uint64_t round,
                       const uint8_t signer[IDENTITY_KEY_BYTES], const uint8_t *req, size_t n);
// The head moved (a block appended or replaced): drops recorded requests.
void members_on_block(members_t *self, const ledger_state_t *st);
// This node asks to leave.  st may be NULL (no ledger yet: LEFT).
void members_leave(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                   const identity_t *me, int64_t now, members_actions_t *out);
// caught_up: no peer announced a higher height, and at least one was heard.
void members_tick(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                  const identity_t *me, int caught_up, int64_t now, members_actions_t *out);
// A motion a peer sent, its signatures checked (motion_check_sigs).
// Returns 1 when it taught us a signature (the caller relays it), 0 when
// not (nothing new, or not recordable now: ledger_state_check_motion),
// FS_ETOOBIG when MEMBERS_MAX_MOTIONS others are under way.
int members_on_motion(members_t *self, const ledger_state_t *st, const motion_t *m);
// This active member proposes to admit (MOTION_ADMIT) or remove the
// candidate, and signs; *out points to the pending motion (to gossip).
// FS_EINVAL naming why it cannot be (not an active member, not
// recordable, too many under way); an identical pending motion is
// signed instead.
int members_propose(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                    const identity_t *me, int action, const identity_pub_t *candidate,
                    const motion_t **out, fs_err_t *err) __attribute__((warn_unused_result));
// This active member signs the pending motion whose id (motion_id) starts
// with id_prefix (at least 4 hex digits; FS_EINVAL when none or several
// match).
int members_sign(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                 const identity_t *me, const char *id_prefix, const motion_t **out,
                 fs_err_t *err) __attribute__((warn_unused_result));
// The i-th pending motion (0 <= i < self->n_motions).
const motion_t *members_motion(const members_t *self, int i);

// The members whose requested leaves the next block would record (as
// members_changes lists them, at most BLOCK_MAX_CHANGES): what the round
// need not wait for (round_set_leavers).  Returns how many went to keys.
size_t members_leavers(const members_t *self, const ledger_state_t *st,
                       uint8_t (*keys)[IDENTITY_KEY_BYTES]);
// The membership changes of the block an aggregator closes, given the
// members whose update it counted.
void members_changes(const members_t *self, const ledger_state_t *st,
                     const uint8_t (*counted_keys)[IDENTITY_KEY_BYTES], size_t n_counted,
                     members_changes_t *out);

#endif
