/* motion.h - membership by the members' vote: a motion to admit an
 * institution or to remove a member, and the members' signatures on it.
 *
 * In a federation whose genesis says admission "vote" (docs/ledger.md §5),
 * nobody joins or is removed on one party's word: a member proposes a
 * motion (its action, the candidate's public identity, and the round it was
 * made for: the proposer's ledger height), other members sign the very
 * same motion, and an aggregator records it in a block once the members
 * active before that block who signed it are a majority (witness_majority).
 * A signature is Ed25519 over
 *     BLAKE2b-256(person "fedsyn.motion", fed_id | u8 action | u64 round |
 *                 the candidate's identity as a block encodes it)
 * so a motion cannot be moved to another federation, action, candidate or
 * round.  The round bounds its life: like a join request, it may be
 * recorded only within the genesis's request window, and only when no
 * membership event of the candidate was recorded at or after its round
 * (ledger/state.c: a motion cannot be replayed).
 *
 * Encoded (in blocks and on the wire alike): u8 action, u64 round, the
 * identity (u8 name length, name, sign, box and transport keys), u16 count,
 * count x (key 32, signature 64) ascending by key.
 *
 * Usage: see tests/ledger/test_motion.c
 */
#ifndef FS_LEDGER_MOTION_H
#define FS_LEDGER_MOTION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/witness.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

#define MOTION_TAG "fedsyn.motion"
#define MOTION_ID_CHARS 17 // the short id people type: 16 hex digits and a NUL

typedef enum { MOTION_ADMIT = 1, MOTION_REMOVE = 2, MOTION_ACTION_COUNT } motion_action_t;

typedef struct {
    uint8_t action;            // motion_action_t
    uint64_t round;            // the ledger height it was proposed at
    identity_pub_t candidate;  // who is admitted or removed
    uint16_t n;                // signatures, ascending by key
    witness_vote_t sigs[WITNESS_MAX_VOTES];
} motion_t;

const char *motion_action_name(int action);

// What every signature of m signs (the signatures themselves excluded).
void motion_digest(const uint8_t fed_id[HASH_BYTES], const motion_t *m,
                   uint8_t out[HASH_BYTES]);
// The first 8 bytes of the digest in hex: how `fedsyn member` names it.
void motion_id(const uint8_t fed_id[HASH_BYTES], const motion_t *m, char out[MOTION_ID_CHARS]);
// 1 when a and b are the same motion (action, round, candidate).
int motion_same(const motion_t *a, const motion_t *b);

// Adds me's signature (kept ascending; a second one of a key is ignored).
void motion_sign(motion_t *m, const uint8_t fed_id[HASH_BYTES], const identity_t *me);
// Adds a signature someone else made (checked by motion_check_sigs).
// Returns 1 when added, 0 when that key had signed already or m is full.
int motion_add_sig(motion_t *m, const uint8_t key[IDENTITY_KEY_BYTES],
                   const uint8_t sig[IDENTITY_SIG_BYTES]);
// 1 when key has signed m.
int motion_signed_by(const motion_t *m, const uint8_t key[IDENTITY_KEY_BYTES]);

void motion_encode(bytes_writer_t *w, const motion_t *m);
// FS_ECORRUPT naming the field (an unknown action, a bad identity, too
// many signatures, bytes ending early).
int motion_decode(bytes_reader_t *r, motion_t *m, fs_err_t *err)
    __attribute__((warn_unused_result));

// Every signature valid and the keys strictly ascending (no majority
// asked for: what a node checks before it keeps a motion it was sent).
int motion_check_sigs(const motion_t *m, const uint8_t fed_id[HASH_BYTES], fs_err_t *err)
    __attribute__((warn_unused_result));
// What a block's motion must show: motion_check_sigs, each signer one of
// the voters (the members active before the block), and more than half
// of them.  FS_EVERIFY naming the first failure.
int motion_check_majority(const motion_t *m, const uint8_t fed_id[HASH_BYTES],
                          const uint8_t (*voters)[IDENTITY_KEY_BYTES], size_t n_voters,
                          fs_err_t *err) __attribute__((warn_unused_result));

#endif
