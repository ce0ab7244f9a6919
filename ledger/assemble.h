/* assemble.h - the aggregator's side: build the next block from the state.
 *
 * Fills everything a verifier recomputes (index, prev_hash, election rank,
 * expected members, weights p_k, privacy fields, close reason) so that the
 * aggregator and ledger_state_apply agree by construction; the caller
 * supplies what only it knows (contributors' envelopes and sample counts,
 * join and leave requests, the new model's hash, the time).
 *
 * Usage: see tests/ledger/test_state.c
 */
#ifndef FS_LEDGER_ASSEMBLE_H
#define FS_LEDGER_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/state.h"

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES]; // contributor's signing key
    uint8_t envelope[HASH_BYTES];    // digest of its envelope
    uint64_t samples;                // its sample count
    // record-level DP federations only: what its DP-SGD spent this round
    // (from its envelope); the block's running epsilon is computed here
    double dp_q, dp_sigma;
    uint64_t dp_steps;
} assemble_contrib_t;

// Fills *b as the block after the state's head for this attempt.  The
// contributors may come in any order (they are sorted); join requests are
// SIGMSG_JOIN bytes, leave requests SIGMSG_LEAVE bytes or NULL for
// "inactive".  In a majority-witnessed federation b->has_commit is set and
// b->commit left empty: the caller copies the head's certificate there
// (for block 1 it stays empty).  In a federation that admits by vote
// b->has_motions is set and b->n_motions 0: the caller copies the motions
// that a majority signed (node/proto/members.h).  In a record-level DP
// federation b->has_record_dp is set and each contributor's running
// epsilon filled in (ledger_state_record_eps).  Returns FS_EINVAL when the
// inputs cannot make a valid block (an unknown contributor, too many
// changes, a request too large, a contributor past the record budget).
int assemble_block(const ledger_state_t *st, uint32_t attempt, uint64_t time_ms,
                   const assemble_contrib_t *contrib, size_t n_contrib,
                   const uint8_t *const *join_reqs, const size_t *join_lens, size_t n_join,
                   const uint8_t (*leave_keys)[IDENTITY_KEY_BYTES],
                   const uint8_t *const *leave_reqs, const size_t *leave_lens, size_t n_leave,
                   const uint8_t model_hash[HASH_BYTES], block_t *b, fs_err_t *err);

// The signing key of this attempt's elected aggregator into key; -1 (and
// zeros) when the federation has no active member left.
int assemble_aggregator(const ledger_state_t *st, uint32_t attempt,
                        uint8_t key[IDENTITY_KEY_BYTES]);

#endif
