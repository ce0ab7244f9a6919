/* witness_io.h - this node's part in making blocks final, in a federation
 * whose genesis asks for majority-witnessed blocks (genesis_t.finality):
 * it performs what node/proto/finality.h decides (docs/federation.md
 * "Majority-witnessed blocks").
 *
 *   durable    what this member promised and voted at the open height
 *              (DIR/witness/acceptor) is written atomically before any
 *              promise or vote leaves; the last two final blocks'
 *              certificates (DIR/witness/certs) before the block is
 *              appended, so a node always holds its head's certificate
 *              (what its next proposal and its sync replies carry)
 *   messages   PROPOSE, VOTE and PROMISE (node/fed/wire.h) to every peer;
 *              a proposal's block is checked on a copy of the ledger's
 *              state and its model made durable before this node votes
 *   final      a majority's votes for one block: handed back to the caller
 *              (round_io.c), which appends it as it does any block
 *
 * Owned by round_io.c; borrows the store and the mesh.
 *
 * Usage: node/fed/round_io.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_WITNESS_IO_H
#define FS_FED_WITNESS_IO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/witness.h"
#include "node/fed/mesh.h"
#include "node/fed/store.h"
#include "node/proto/finality.h"
#include "node/proto/round.h"

typedef struct witness_io witness_io_t;

// A block found final: its record, certificate and model (the durable
// copy made when it was proposed; NULL when missing: fetched like any
// head's), owned by this struct.
typedef struct {
    uint8_t *rec;
    size_t n;
    witness_cert_t *cert;
    float *model;
} witness_final_t;
void witness_final_free(witness_final_t *f);

// Once the genesis is known and asks for witnesses: reads the durable
// files.  NULL with err set when one of them is damaged (the node must not
// start: it could vote twice).
witness_io_t *witness_io_new(const identity_t *me, store_t *store, mesh_t *mesh, fs_err_t *err);
void witness_io_destroy(witness_io_t **self_p);

// The round entered a new height (round_begin done): decide it.
// (A member that promised a later attempt of this height before it stopped
// resumes the round at that attempt: the attempts below it would pass
// with nothing it may do, and after a crash of every member at once they
// all would.)
void witness_io_enter(witness_io_t *self, round_t *rs, witness_final_t *out);
// The round moved to `attempt` (NEXT_ATTEMPT or round_jump).
void witness_io_attempt(witness_io_t *self, const round_t *rs, uint32_t attempt,
                        witness_final_t *out);
// The round would CLOSE (or, at each tick, might): 1 when this node may
// propose a block of its own now; 0 when it proposed again a block of an
// earlier attempt (finality.h's FIN_REPROPOSE) or must wait for promises.
int witness_io_close(witness_io_t *self, round_t *rs, witness_final_t *out);
// Proposes our own block (rec, its model w of count floats, already
// durable) at the round's attempt: checked, voted for, sent.
void witness_io_propose(witness_io_t *self, round_t *rs, const uint8_t *rec, size_t n,
                        const float *w, witness_final_t *out);
// A PROPOSE, VOTE or PROMISE from peer `from`.  *jump is set to a later
// attempt of our round that the message showed (0: none): the caller moves
// the round there (round_jump) and calls witness_io_attempt.
void witness_io_on_message(witness_io_t *self, const round_t *rs, int type, const uint8_t *data,
                           size_t n, int from, uint32_t *jump, witness_final_t *out);

// The certificate of our head block (NULL for the genesis, or when lost).
const witness_cert_t *witness_io_head_cert(const witness_io_t *self);
// Makes the certificate of block `hash` at `height` durable (before the
// block is appended).  A write failure is returned (the block must wait).
int witness_io_keep_cert(witness_io_t *self, uint64_t height, const uint8_t hash[HASH_BYTES],
                         const witness_cert_t *cert, fs_err_t *err)
    __attribute__((warn_unused_result));
void witness_io_status(const witness_io_t *self, fin_status_t *out);

#endif
