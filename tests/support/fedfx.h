/* fedfx.h - a small federation for ledger and crypto tests: fixed-seed
 * identities, a genesis, and helpers that make valid next blocks (which
 * tests then tamper with). */
#ifndef FS_TESTS_FEDFX_H
#define FS_TESTS_FEDFX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/assemble.h"
#include "ledger/block.h"
#include "ledger/state.h"
#include "node/base/bytes.h"

#define FEDFX_MAX_IDS 24
#define FEDFX_MAX_RECS 16384

typedef struct {
    int n_ids;                        // identities made (founders first)
    identity_t *ids[FEDFX_MAX_IDS];   // identity i is derived from seed byte i+1
    ledger_state_t *state;            // state after recs[0..n_recs)
    uint8_t *recs[FEDFX_MAX_RECS];    // records, genesis first (owned)
    size_t lens[FEDFX_MAX_RECS];      // their lengths
    size_t n_recs;                    // records made
    int variant;                      // added to model hashes: same genesis,
                                      // different blocks (equivocation tests)
    // record-level DP federations: what each contributor's DP-SGD spends
    // per round in fedfx_next (identity i's noise multiplier is
    // dp_sigma + 0.1 i)
    double dp_q, dp_sigma;
    uint64_t dp_steps;
} fedfx_t;

// n_founders founding members plus n_extra identities on the allow-list.
fedfx_t *fedfx_new(int n_founders, int n_extra, int mechanism);
// The same with a genesis request window (0: none, as fedfx_new).
fedfx_t *fedfx_new_window(int n_founders, int n_extra, int mechanism, uint32_t request_window);
// A majority-witnessed federation (genesis finality byte, window 64):
// fedfx_next fills each block's commit with every voter's vote at ballot 0.
fedfx_t *fedfx_new_witnessed(int n_founders, int n_extra);
// A majority-witnessed federation with record-level DP (genesis record_dp:
// DP-SGD, clip 1, delta 1e-5, budget eps_budget per record); fedfx_next's
// contributors spend q 0.01, sigma 1 + 0.1 i, 100 steps a round.
fedfx_t *fedfx_new_record_dp(int n_founders, int n_extra, double eps_budget);
// The same that admits by vote (ledger/motion.h); the n_outsiders
// identities after the founders are on no allow-list.
fedfx_t *fedfx_new_vote(int n_founders, int n_outsiders);
// A motion made at `round` to admit or remove identity `candidate`, signed
// by the identities whose index bit is set in signers_mask.
void fedfx_motion(const fedfx_t *fx, int action, int candidate, uint64_t signers_mask,
                  uint64_t round, motion_t *m);
// Appends identity joiner's join request (signed for `round`) to b's joins.
void fedfx_join(const fedfx_t *fx, int joiner, uint64_t round, block_t *b);
// The head's certificate in *c: votes at `ballot` of the head's voters
// (all of them, or those whose identity index bit is set in voters_mask).
void fedfx_cert(const fedfx_t *fx, uint64_t voters_mask, uint32_t ballot, witness_cert_t *c);
void fedfx_destroy(fedfx_t **fx_p);
identity_t *fedfx_identity(const fedfx_t *fx, const uint8_t key[IDENTITY_KEY_BYTES]);
// A valid next block in *b (attempt 0, every active member contributing
// samples 100 * (its index + 1), unless mask is nonzero: then only members
// whose identity index bit is set).
void fedfx_next(fedfx_t *fx, uint64_t mask, block_t *b);
// Signs b with its aggregator's identity (or `signer` when not NULL).
void fedfx_sign(const fedfx_t *fx, const block_t *b, const identity_t *signer, bytes_writer_t *w);
// Applies a record to fx->state and stores it; returns the apply code.
int fedfx_push(fedfx_t *fx, const uint8_t *rec, size_t n, fs_err_t *err);
// fedfx_next + fedfx_sign + fedfx_push, asserting success.
void fedfx_round(fedfx_t *fx, uint64_t mask);
// Makes the next block as fedfx_next does, lets edit(fx, b, arg) change it
// (add motions, joins, spoil a field), signs it with its aggregator's key
// and applies it; returns the apply code (err holds the reason).
int fedfx_push_edited(fedfx_t *fx, void (*edit)(fedfx_t *, block_t *, void *), void *arg,
                      fs_err_t *err);
// Writes all records as a ledger file at path.
void fedfx_write_ledger(const fedfx_t *fx, const char *path);

#endif
