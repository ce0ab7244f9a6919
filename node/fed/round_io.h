/* round_io.h - this node's part in the round: it performs what the pure
 * round of node/proto/round.h decides (train, seal and send the update, the
 * aggregator's close: FedAvg, block, append, send), feeds it its events
 * (training results, opened updates, the head's model known or not), and
 * accepts blocks (docs/federation.md "One round").
 *
 * It owns the round's state, the update buffer, the local trainer
 * (local.h), the update openers (opener.h) and the quality scorer
 * (scorer.h); it borrows the store (ledger, model), the mesh (peers) and
 * the membership state (node/proto/members.h), which the node owns.
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_ROUND_IO_H
#define FS_FED_ROUND_IO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/block.h"
#include "node/fed/local.h"
#include "node/fed/mesh.h"
#include "node/fed/opener.h"
#include "node/fed/scorer.h"
#include "node/fed/store.h"
#include "node/fed/witness_io.h"
#include "node/proto/members.h"
#include "node/proto/round.h"

typedef struct round_io round_io_t;

// A node's round, before the genesis is known (no trainer yet).  me, store,
// mesh and mem are borrowed; score_every is quality/score-every.
round_io_t *round_io_new(const identity_t *me, store_t *store, mesh_t *mesh, members_t *mem,
                         long score_every);
// Stops the trainer, the openers and the scorer, and frees.
void round_io_destroy(round_io_t **self_p);

// Once the genesis is known: takes the member's trainer (NULL: no data) of
// `samples` images and the scorer (NULL: none), starts the round with the
// head's model known or to fetch (have_global), and enters it.  In a
// majority-witnessed federation it reads the durable witness files first
// (witness_io.h): an error when one is damaged (then local and scorer are
// freed).
int round_io_setup(round_io_t *self, local_t *local, uint64_t samples, scorer_t *scorer,
                   int have_global, fs_err_t *err) __attribute__((warn_unused_result));
// The witness part (NULL unless the genesis asks for majority-witnessed blocks).
witness_io_t *round_io_witness(const round_io_t *self);
// A PROPOSE, VOTE or PROMISE from peer `from`: decided by the witness part;
// a final block is appended, a later attempt of our round joined.
void round_io_witness_message(round_io_t *self, int type, const uint8_t *data, size_t n,
                              int from);

// Record-level DP (genesis record_dp): each of this member's rounds is
// `steps` DP-SGD steps at rate q and noise multiplier sigma (its trainer's
// settings, node.c).  Before it trains a round, the member checks that its
// records' epsilon after the round stays within the genesis's budget; if
// not, it trains no more (round_io_record_spent) and says so.
void round_io_set_record_dp(round_io_t *self, double q, double sigma, uint64_t steps);
int round_io_record_spent(const round_io_t *self);

round_t *round_io_round(round_io_t *self);
const round_t *round_io_round_const(const round_io_t *self);
local_t *round_io_local(const round_io_t *self); // NULL when the node holds no data
opener_t *round_io_opener(const round_io_t *self);
scorer_t *round_io_scorer(const round_io_t *self);

// The head's model is known (1) or must be fetched (0); tells the round.
void round_io_set_have_global(round_io_t *self, int have);
// Whether some peer announced a longer ledger than ours (peers_behind): an
// aggregator that is behind does not close (node/proto/round.h).
void round_io_set_behind(round_io_t *self, int behind);
// Makes w (taken over) the global model, schedules its save and its
// quality score (when one is due).
void round_io_adopt_model(round_io_t *self, float *w);
// The next round starts at the ledger's head: the round and membership
// learn the head, the members are allowed, early updates are processed.
void round_io_enter(round_io_t *self);
// The one stdout line per round (fedsyn node's output), for block b: every
// block this node appends prints it, whether it came by gossip or by sync.
void round_io_print(round_io_t *self, const block_t *b);
// A block record and its model (NULL: to fetch), from a peer or from
// ourselves: verify, append, adopt, enter the next round.  0 when appended.
int round_io_accept_block(round_io_t *self, const uint8_t *rec, size_t rec_len,
                          const uint8_t *model, size_t count, fs_err_t *err);
// The round's tick: performs what node/proto/round.h decides now.
void round_io_tick(round_io_t *self, int64_t now);
// Takes buf (n bytes, malloc'd) from peer `from` (-1: queued): relays an
// update for another aggregator, keeps one for the next round, hands one
// for this round to the openers.
void round_io_process_update(round_io_t *self, uint8_t *buf, size_t n, int from);
// An opened update (from an opener's pipe): replay and base-model checks,
// then counted or refused with a warning.  Takes job.
void round_io_finish_update(round_io_t *self, open_job_t *job);
// The local trainer finished: noise, then the round sends the update.
void round_io_training_done(round_io_t *self);

#endif
