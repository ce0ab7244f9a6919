/* witness.h - the members' countersignatures that make a block final.
 *
 * In a federation whose genesis asks for majority-witnessed blocks
 * (genesis_t.finality, docs/ledger.md §5 and §6a), a block is final only
 * once more than half of the members active before it have signed it.
 * A signature (a "vote") is Ed25519 over
 *     BLAKE2b-256(person "fedsyn.witness", fed_id | u64 height | u32 ballot | block hash)
 * where the ballot is the attempt of the round in which the member voted
 * (node/proto/finality.h: one Paxos instance per height, the attempt as
 * its ballot).  A certificate is a majority of votes for one (ballot,
 * hash); block i + 1 carries block i's certificate (its `commit` field,
 * as CometBFT's LastCommit), and the head's travels beside the ledger.
 *
 * The two other messages of the protocol are signed the same way, each
 * with its own tag: a promise (a member entered ballot b of height h and
 * reports the block it last voted for, if any) and a proposal (the
 * aggregator of ballot b proposes a block made in an earlier ballot).
 *
 * Usage: see tests/ledger/test_witness.c
 */
#ifndef FS_LEDGER_WITNESS_H
#define FS_LEDGER_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

#define WITNESS_MAX_VOTES 128       // = LEDGER_MAX_MEMBERS
#define WITNESS_NONE UINT32_MAX     // "no ballot": a promise from a member that voted for nothing
#define WITNESS_TAG_VOTE "fedsyn.witness"
#define WITNESS_TAG_PROMISE "fedsyn.promise"
#define WITNESS_TAG_PROPOSE "fedsyn.propose"

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES];
    uint8_t sig[IDENTITY_SIG_BYTES];
} witness_vote_t;

// A block's certificate: votes of distinct members, ascending by key, all
// for one ballot (and for the block's hash, which the context gives).
typedef struct {
    uint32_t ballot;
    uint16_t n;
    witness_vote_t votes[WITNESS_MAX_VOTES];
} witness_cert_t;

// How many votes of n voters make a majority (more than half).
size_t witness_majority(size_t n_voters);

// The digests that votes, promises and proposals sign.
void witness_vote_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                         const uint8_t hash[HASH_BYTES], uint8_t out[HASH_BYTES]);
void witness_promise_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                            uint32_t voted_ballot, const uint8_t voted_hash[HASH_BYTES],
                            uint8_t out[HASH_BYTES]);
void witness_propose_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                            const uint8_t hash[HASH_BYTES], uint8_t out[HASH_BYTES]);

// Adds (key, sig) to a list of at most WITNESS_MAX_VOTES signatures kept
// ascending by key (certificates here, motions in ledger/motion.h); a
// second one of a key is ignored.  Returns 1 when added, 0 when not.
int witness_votes_add(witness_vote_t *votes, uint16_t *n, const uint8_t key[IDENTITY_KEY_BYTES],
                      const uint8_t sig[IDENTITY_SIG_BYTES]);
// Adds a vote to the certificate, keeping the keys ascending; a second
// vote of one key is ignored.  Returns 1 when added, 0 when not (a
// duplicate or a full certificate).  Checks no signature.
int witness_cert_add(witness_cert_t *c, const uint8_t key[IDENTITY_KEY_BYTES],
                     const uint8_t sig[IDENTITY_SIG_BYTES]);

// u16 count, then count x (key 32, signature 64): a certificate's votes
// and a motion's signatures alike.  The decoder names `what` in its errors.
void witness_votes_encode(bytes_writer_t *w, const witness_vote_t *votes, uint16_t n);
int witness_votes_decode(bytes_reader_t *r, witness_vote_t *votes, uint16_t *n,
                         const char *what, fs_err_t *err) __attribute__((warn_unused_result));
// u32 ballot, u16 count, then count x (key 32, signature 64).
void witness_cert_encode(bytes_writer_t *w, const witness_cert_t *c);
// Decodes one certificate from r (FS_ECORRUPT naming the field when the
// count is out of range or the bytes end early).
int witness_cert_decode(bytes_reader_t *r, witness_cert_t *c, fs_err_t *err)
    __attribute__((warn_unused_result));

// Checks that c certifies block `hash` at `height`: keys strictly
// ascending, each one of the voters (sorted or not), more than half of
// them, every signature valid.  FS_EVERIFY naming the first failure.
int witness_cert_check(const witness_cert_t *c, const uint8_t fed_id[HASH_BYTES],
                       uint64_t height, const uint8_t hash[HASH_BYTES],
                       const uint8_t (*voters)[IDENTITY_KEY_BYTES], size_t n_voters,
                       fs_err_t *err) __attribute__((warn_unused_result));

#endif
