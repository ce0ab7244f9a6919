/* sim.h - the deterministic simulator of a federation (issue 18 item 2).
 *
 * N nodes of the real protocol core (node/proto/round.h) with the real
 * ledger (ledger_state_apply, assemble_block, block_encode) and the real
 * crypto (Ed25519 identities from seeds, sealed envelopes, signed join and
 * leave requests) run in one process over a simulated clock and network.
 * One seed is one execution: every delay, loss, duplicate, partition,
 * crash, restart, join and leave is drawn from it, so a failing seed is a
 * permanent reproduction (`build/tests/sim/test_sim --seed S -v`).
 *
 The round, membership (pending joins and leaves, our own join and leave,
 * the block's changes), peers (heights, digests seen, hello and sync
 * timing) and the sync decisions (which case a block or a reply's record
 * is, the fork rule) are node/proto's modules, the same code the node
 * runs.  What the simulated node does with their decisions mirrors
 * node/fed's shell: verify and append, replace the head, relay, serve and
 * read sync replies (gossip.c), and the close (round_io.c).  That part is
 * the simulator's own copy, written from the same rules (docs/federation.md
 * "The state machines as they stand"), and the part a reader must compare
 * by hand.
 *
 * Simplifications (each a gap to close, not a claim): every node's clock
 * runs at the simulated rate (no skew); a message to a peer goes straight
 * to it or is lost (no relay of updates through third nodes); a hello
 * carries only the height; the trainer is a few floats and a delay.
 */
#ifndef FS_TESTS_SIM_H
#define FS_TESTS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "ledger/state.h"
#include "node/base/rng.h"
#include "node/proto/finality.h"
#include "node/proto/members.h"
#include "node/proto/peers.h"
#include "node/proto/round.h"

#define SIM_MAX_NODES 20
#define SIM_MAX_RECS 4096
#define SIM_MODEL_N 4            // the stand-in model: four floats
#define SIM_TICK_MS 50
#define SIM_FREEZE_MS 4000       // at the end: no new rounds, sync only
#define SIM_SAVE_MS 500          // global.fsm is written at most twice a second (saver.c)

typedef enum {
    SIM_MODE_CI = 0,      // partitions leave at most one side with a quorum; no crash-all
    SIM_MODE_ISSUE19 = 1, // both sides of a split hold a quorum; every node may crash at once;
                          // every block majority-witnessed (CI: every fourth seed)
} sim_mode_t;

typedef enum {
    FAULT_PARTITION, FAULT_CRASH, FAULT_TORN, FAULT_LOSS, FAULT_DUP, FAULT_REORDER,
    FAULT_JOIN, FAULT_LEAVE, FAULT_MODEL_LAG, FAULT_CRASH_ALL, FAULT_KIND_COUNT
} sim_fault_t;

typedef enum {
    INV_FINAL_UNIQUE,   // at most one finalized block per height (every ledger a prefix)
    INV_SENT,           // a block names only updates that were really sent
    INV_LIVENESS,       // a round closes within a bound while a quorum is up and connected
    INV_CONVERGENCE,    // after healing, ledgers agree within a bounded number of rounds
    INV_COUNT
} sim_inv_t;

// Known bugs of the current rules (issue 19) that explain a broken
// liveness or convergence invariant, recognised at the moment it breaks.
typedef enum {
    SIM_KNOWN_NONE = 0,
    SIM_KNOWN_FORK,     // a fork the current rules never repair: two heads at one
                        // height, or ledgers differing below a head (invariants.c)
    SIM_KNOWN_LEAVER,   // the quorum needs a member that is leaving (it sends nothing)
    SIM_KNOWN_COUNT
} sim_known_t;

#define SIM_DURABLE 4 // models kept durable per node (the real node keeps at least the head's)

typedef struct {
    int up;                       // running
    int started;                  // has ever run (a joiner starts later)
    int left;                     // left the federation (or was removed) and stopped
    int64_t last_motion;          // when it last proposed a motion (vote federations)
    int64_t last_sign;            // ... and last signed one
    identity_t *id;
    const identity_pub_t *pub;
    // durable: the ledger records (as chain_append leaves them) and the
    // last saved global model
    uint8_t *recs[SIM_MAX_RECS];
    size_t lens[SIM_MAX_RECS];
    uint8_t hashes[SIM_MAX_RECS][HASH_BYTES];
    size_t n_recs;
    float saved[SIM_MODEL_N];
    uint8_t saved_hash[HASH_BYTES];
    // the models made durable before their blocks (node/fed/store.h,
    // store_make_durable: models/HASH.fsm), the last SIM_DURABLE of them
    float durable[SIM_DURABLE][SIM_MODEL_N];
    uint8_t durable_hash[SIM_DURABLE][HASH_BYTES];
    int durable_next;
    int torn_armed;               // the next append is torn by a crash
    int lag_saves;                // global.fsm writes still to be skipped
    int64_t last_save;            // the writer's last global.fsm (at most every SIM_SAVE_MS)
    int save_pending;             // the head's model is newer than global.fsm
    // volatile
    ledger_state_t *st;
    round_t rs;
    float global[SIM_MODEL_N];
    float update[SIM_MODEL_N];
    members_t mem;                 // node/proto/members.h
    peers_t *peers;                // node/proto/peers.h (peer k is node k)
    uint64_t train_round;          // the round the trainer works on
    size_t final_checked;          // records already checked as finalized
    uint32_t epoch;                // bumped at each crash: stale events are dropped
    // majority-witnessed federations (node/proto/finality.h)
    finality_t *fin;               // volatile
    fin_acceptor_t acc;            // durable: what it promised and voted at its open height
    uint8_t *acc_rec;              // durable: the block it voted for
    size_t acc_rec_n;
    witness_cert_t cert[2];        // durable: the head's certificate and the one before it
    uint8_t cert_hash[2][HASH_BYTES]; // (a torn append loses the head, not its predecessor's)
    int cert_have[2], cert_next;
} sim_node_t;

typedef struct sim_event sim_event_t;

typedef struct {
    uint64_t seed;
    sim_mode_t mode;
    int witnessed;                 // the genesis asks for majority-witnessed blocks
    int vote;                      // ... and admits by vote: joiners need a motion
    int removing;                  // a node a removal motion is under way for (-1: none)
    uint64_t motions_made, motions_recorded;
    size_t motions_height;         // the highest height whose motions were counted
    int verbose;
    rng_t rng;
    int64_t now;                   // simulated ms
    int n;                         // nodes (founders + joiners)
    int n_founders;
    sim_node_t node[SIM_MAX_NODES];
    uint8_t fed_id[HASH_BYTES];
    genesis_t *genesis;
    // network
    int32_t link_ms[SIM_MAX_NODES][SIM_MAX_NODES]; // base delay per directed link
    int side[SIM_MAX_NODES];       // partition side; messages cross only within one
    double loss, dup, reorder;     // probabilities now
    int64_t heal_at, loss_until, dup_until, reorder_until;
    // the event queue (a binary heap on (time, seq))
    sim_event_t **heap;
    size_t heap_n, heap_cap;
    uint64_t seq;
    // schedule
    int64_t faults_end;            // faults stop here (every crashed node restarts)
    int64_t freeze_at;             // no new rounds from here (INT64_MAX until decided)
    // what was really sent: (sender, round, digest)
    uint8_t (*sent)[HASH_BYTES + IDENTITY_KEY_BYTES + 8];
    size_t n_sent, cap_sent;
    // the finalized chain: hash of the finalized block at each height
    uint8_t (*final)[HASH_BYTES];
    size_t n_final;
    // liveness
    int64_t stable_since;          // -1: not stable
    uint64_t stable_shape;         // who runs, partition and loss, when stable began
    int64_t last_progress;
    uint64_t max_height;
    // figures
    uint64_t faults[FAULT_KIND_COUNT];
    uint64_t steps, msgs, blocks_made, attempts_failed, rounds;
    int violated;                  // first invariant broken (-1: none)
    char why[512];                 // what broke it, first violation
    uint8_t hit[INV_COUNT];        // every invariant broken in this run
    uint8_t hit_known[INV_COUNT];  // ... explained by a known bug then (sim_known_t)
    int64_t hit_at[INV_COUNT];     // when first (simulated ms)
    char hit_why[INV_COUNT][512];  // what broke it
    uint64_t trace;                // a running hash of the execution (determinism)
} sim_t;

typedef struct {
    uint64_t seeds, failed, steps, rounds, msgs, attempts_failed;
    uint64_t motions_made, motions_recorded;
    uint64_t faults[FAULT_KIND_COUNT];
    uint64_t violations[INV_COUNT];       // seeds that broke it
    uint64_t first_failed_seed[INV_COUNT];
    uint64_t known[INV_COUNT][SIM_KNOWN_COUNT];   // of those, explained by a known bug
    uint64_t first_known_seed[INV_COUNT][SIM_KNOWN_COUNT];
} sim_totals_t;

// Makes libsodium's random bytes (envelope nonces) come from the seed:
// call once before hash_library_init.
void sim_install_randombytes(void);
// Runs one seed to its end or to the first violated invariant that is not
// excused.  A broken liveness or convergence invariant is excused (known,
// issue 19) when at that moment a known bug explains it (sim_known_t): a
// fork of a shape the current rules never repair (and none they do repair);
// the quorum needs a member that is leaving and so sends no update, while
// its leave needs a block; or no running node holds the head's model
// (docs/federation.md "The simulator").  It is still recorded in hit[] and hit_known[] and reported
// apart.  Returns 0 when nothing unexcused broke, else 1 + the first
// unexcused sim_inv_t.
int sim_run(uint64_t seed, sim_mode_t mode, int verbose, sim_t **out);
void sim_destroy(sim_t **self_p);
const char *sim_fault_name(int kind);
const char *sim_inv_name(int inv);
const char *sim_known_name(int known);

// invariants.c: called by sim.c after every step.
void inv_after_step(sim_t *s);
void inv_block_appended(sim_t *s, int node, const block_t *b);
void inv_at_end(sim_t *s);
void inv_fail(sim_t *s, sim_inv_t inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Helpers shared with invariants.c.
int sim_quorum_connected(const sim_t *s);
// Which known bug, if any, explains a stall now.
sim_known_t sim_known_cause(const sim_t *s);
uint64_t sim_liveness_bound_ms(const sim_t *s);

#endif
