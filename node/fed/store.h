/* store.h - a node's durable state: its copy of the ledger and the global
 * model of the ledger's head.
 *
 * The store owns the chain (ledger/chain.h, NULL until the genesis is
 * known), the federation's id, the architecture the genesis names, the
 * head's model vector and the writer of DIR/global.fsm (saver.h).  It is
 * the one place where the node's files change: ledger appends and head
 * replacements, the model file, blocks kept as evidence.  A failed ledger
 * write is fatal (store_fatal): the state on disk is then unknown, and the
 * node stops (PostgreSQL's rule; ../shared/RELIABILITY.md).
 *
 * Owned by the node's event loop (node.c); the other parts of the node
 * borrow it.  No socket, no round logic.
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_STORE_H
#define FS_FED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/chain.h"
#include "netcfg/config.h"
#include "node/base/err.h"
#include "node/train/workload.h"

typedef struct store store_t;

// A store for the state folder cfg->dir (nothing is read yet).
store_t *store_new(const node_config_t *cfg);
// Flushes the model writer (global.fsm is on disk) and frees.
void store_destroy(store_t **self_p);

// Opens DIR/ledger.fsl, or starts it from federation/genesis, or, for a
// joiner naming only federation/id, leaves the chain to the first sync
// reply (store_chain stays NULL).  An error names what is missing.
int store_open(store_t *self, fs_err_t *err) __attribute__((warn_unused_result));
// Starts the ledger from a genesis record fetched from a peer.
int store_create(store_t *self, const uint8_t *genesis, size_t n, fs_err_t *err)
    __attribute__((warn_unused_result));
// Forgets a chain whose set-up failed (store_create then store_setup_model).
void store_drop_chain(store_t *self);
// Once the genesis is known: checks it against the configuration, and
// loads round 0's model (seeded, or federation/initial), or the head's from
// DIR/global.fsm; *have_global is 0 when the head's model must be fetched.
int store_setup_model(store_t *self, int *have_global, fs_err_t *err)
    __attribute__((warn_unused_result));

chain_t *store_chain(const store_t *self);            // NULL before the genesis
const ledger_state_t *store_state(const store_t *self); // the chain must exist
uint64_t store_height(const store_t *self);           // 0 before the genesis
// The federation's id: from the genesis, or federation/id for a joiner.
const uint8_t *store_fed_id(const store_t *self);
int store_have_fed(const store_t *self);
const workload_arch_t *store_arch(const store_t *self);
const char *store_dir(const store_t *self); // the state folder, node/dir
size_t store_model_size(const store_t *self);
float *store_global(const store_t *self); // the head's model, when the round has it
// The genesis's planned rounds (0: unbounded), and whether they are done.
uint32_t store_planned(const store_t *self);
int store_done(const store_t *self);

// The member's name in the ledger, else the key's short hex in buf.
const char *store_name(const store_t *self, const uint8_t key[IDENTITY_KEY_BYTES], char buf[9]);
int store_is_active(const store_t *self, const uint8_t key[IDENTITY_KEY_BYTES]);

// Appends a record to the ledger; a write or fsync failure is fatal (see
// above), any other refusal is only returned.
int store_append(store_t *self, const uint8_t *rec, size_t n, fs_err_t *err);
// Replaces the head block (the fork rule; chain_replace_head verifies it).
int store_replace_head(store_t *self, const uint8_t *rec, size_t n, fs_err_t *err);
// The fatal error of a failed ledger write, or NULL.
const fs_err_t *store_fatal(const store_t *self);
// Keeps a block that lost the fork rule in DIR/evidence/ (a warning when
// it cannot).
void store_keep_evidence(const store_t *self, const uint8_t *rec, size_t n);

// A model received from a peer (count float32 at bytes, maybe unaligned):
// a new vector when it has the global model's size and hashes to `want`,
// else NULL.
float *store_model_check(const store_t *self, const uint8_t *bytes, size_t count,
                         const uint8_t want[HASH_BYTES]);
// Makes w (taken over) the head's model; its save is pending.
void store_take_model(store_t *self, float *w);
// Writes w, the model of block `index` about to be appended (hash: the
// block's model hash), durably as the kept model of that hash (archive.h) unless it
// is there already.  Called before the block is appended, so that a crash
// of every node at any instant leaves each with the model of the head it
// has: global.fsm, written later, may lag behind.
int store_make_durable(store_t *self, const float *w, uint64_t index,
                       const uint8_t hash[HASH_BYTES], fs_err_t *err)
    __attribute__((warn_unused_result));
// The global model is saved once the node's sends are out, and then by the
// writer thread: saving 4.8 MB with fsync takes 10-20 ms that would
// otherwise delay the block's distribution and the member's update.  A
// crash in between leaves an older global.fsm, which the restart detects by
// its hash and fetches again from a peer.
int store_save_pending(const store_t *self);
// Hands a copy of the head's model to the writer.
void store_save_now(store_t *self);
// Waits until the writer has written what it was given.
void store_flush(store_t *self);

#endif
