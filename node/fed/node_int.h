/* node_int.h - the node's state and the functions its files share.
 *
 * Internal to node/fed/ (node.c, round.c, gossip.c, membership.c,
 * control.c); everything else uses node/fed/node.h.  One node_t is owned by
 * one thread (the event loop); the training thread touches only local_t.
 */
#ifndef FS_FED_NODE_INT_H
#define FS_FED_NODE_INT_H

#include "node/fed/node.h"


#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "ledger/assemble.h"
#include "ledger/budget.h"
#include "ledger/chain.h"
#include "ledger/election.h"
#include "node/base/bytes.h"
#include "node/base/floats.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/data/idx.h"
#include "node/fed/fedavg.h"
#include "node/fed/global.h"
#include "node/fed/local.h"
#include "node/fed/opener.h"
#include "node/fed/quality_log.h"
#include "node/fed/saver.h"
#include "node/fed/scorer.h"
#include "node/fed/transport.h"
#include "node/fed/wire.h"
#include "node/nn/blas.h"
#include "node/privacy/noise.h"
#include "node/proto/members.h"
#include "node/proto/peers.h"
#include "node/proto/round.h"

#define LINGER_MS 3000       // after the last round: serve peers that lag

struct node {
    node_config_t cfg;
    identity_t *me;
    const identity_pub_t *pub;
    char ledger_path[CONFIG_PATH_MAX + 32];
    char global_path[CONFIG_PATH_MAX + 32];
    char allow_dir[CONFIG_PATH_MAX + 32];
    char control_ep[CONFIG_PATH_MAX + 32];
    transport_t *net;
    zsock_t *control;
    // ledger and model
    chain_t *chain;               // NULL until the genesis is known
    uint8_t fed_id[HASH_BYTES];
    int have_fed;
    workload_arch_t arch;
    size_t n;                     // parameters in the global vector
    float *global;                // the head's model when rs.have_model
    local_t *local;               // NULL when the node holds no data
    // the round: its decisions are node/proto/round.h's; the node performs them
    round_t rs;
    float *update;                // the trained, noised update (rs.update borrows it)
    uint64_t samples;
    // membership (pending joins and leaves, our own join and leave) and
    // peers (heights, digests seen, hellos, sync timing): node/proto's
    members_t mem;
    peers_t peers;
    // ending
    int64_t finished_at;          // when the planned rounds were done
    double round_t0;              // wall seconds, for the per-round line
    int save_pending;             // global.fsm is behind the head's model
    saver_t *saver;               // writes global.fsm (created at the first save)
    scorer_t *scorer;             // quality scores (quality/score-every), or NULL
    local_stats_t last_train;     // this member's last finished local round
    int has_last_train;           // last_train is set
    opener_t *opener;             // opens updates on worker threads
    fs_err_t fatal;               // a failed ledger write: the node stops
    int lock_fd;                  // holds DIR/node.lock: one node per state folder
};

// node.c: setup, the event loop, shared helpers
int64_t fed_mono(void);
uint64_t fed_wall_ms(void);
const ledger_state_t *fed_state(const node_t *self);
const char *fed_name(const node_t *self, const uint8_t key[IDENTITY_KEY_BYTES], char buf[9]);
int fed_is_active(const node_t *self, const uint8_t key[IDENTITY_KEY_BYTES]);
int fed_setup_ledger(node_t *self, fs_err_t *err);
// The head's model is known (1) or must be fetched (0); tells the round.
void fed_set_have_global(node_t *self, int have);
// Appends a record to the ledger; a write or fsync failure is fatal for the
// node (its state on disk is unknown: stop, PostgreSQL's rule), any other
// refusal is only returned.
int fed_append(node_t *self, const uint8_t *rec, size_t n, fs_err_t *err);

// round_io.c: performing the round's actions (training results, updates, the
// aggregator's close) and accepting blocks
uint32_t fed_planned(const node_t *self);
int fed_federation_done(const node_t *self);
void fed_enter_round(node_t *self);
// The one stdout line per round (fedsyn node's output), for block b: every
// block this node appends prints it, whether it came by gossip or by sync.
void fed_print_round(node_t *self, const block_t *b);
void fed_save_global(node_t *self);
// A model received from a peer (count float32 at bytes, maybe unaligned):
// a new vector when it has the global model's size and hashes to `want`,
// else NULL.
float *fed_model_check(const node_t *self, const uint8_t *bytes, size_t count,
                       const uint8_t want[HASH_BYTES]);
// Makes w (taken over) the global model and schedules its save (and its
// quality score, when one is due).
void fed_adopt_model(node_t *self, float *w);
void fed_save_global_now(node_t *self);
int fed_accept_block(node_t *self, const uint8_t *rec, size_t rec_len, const uint8_t *model,
                     size_t count, fs_err_t *err);
// Performs one action of node/proto/round.h.
void fed_perform(node_t *self, const round_action_t *a);
// Takes buf (malloc'd); an update for this round goes to the opener.
void fed_process_update(node_t *self, uint8_t *buf, size_t n, int from);
// An opened update (from the opener's pipe, or opened inline): replay and
// base-model checks, then counted or refused with a warning.  Takes job.
void fed_finish_update(node_t *self, open_job_t *job);
void fed_training_done(node_t *self);

// gossip.c: hellos, sync, blocks from peers, the fork rule at the head, relays
// Queues a message to every connected peer but `except`, skipping those that
// announced a height >= skip_height_at_least (when nonzero).
void fed_broadcast(node_t *self, uint8_t type, const uint8_t *data, size_t n, int except,
                   int bulk, uint64_t skip_height_at_least);
void fed_hello(node_t *self, int only_peer);
void fed_sync_request(node_t *self, int peer, uint64_t from);
void fed_handle(node_t *self, transport_msg_t *msg);

// membership.c: admission, and performing node/proto/members.h's actions
void fed_allow_members(node_t *self);
int fed_acceptable(const node_t *self, const identity_pub_t *id);
void fed_start_leave(node_t *self);
void fed_perform_members(node_t *self, const members_actions_t *acts);

// control.c: the control socket (status, leave)
void fed_handle_control(node_t *self);

#endif
