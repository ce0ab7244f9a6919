/* block.h - the records of the ledger: genesis (block 0) and round blocks.
 *
 * Both are sigmsgs (crypto/sigmsg.h): the header carries the federation id,
 * the block index (as the round) and the signer (the founder for genesis,
 * the round's aggregator otherwise); the body layouts are below and in
 * docs/ledger.md §5-6.  The structs are public value types because the
 * ledger code, the node and the CLI all read their fields; their arrays are
 * fixed-size so that decoding a block allocates nothing (the verify loop of
 * a 10,000-block ledger runs without malloc).
 *
 * Decoding checks framing, counts and ranges (FS_ECORRUPT naming the
 * field); everything that needs the chain (hash links, election,
 * membership, budget) is checked by ledger/state.c.
 *
 * Usage: see tests/ledger/test_block.c
 */
#ifndef FS_LEDGER_BLOCK_H
#define FS_LEDGER_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/sigmsg.h"
#include "ledger/motion.h"
#include "ledger/witness.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

#define LEDGER_MAX_MEMBERS 128    // members ever recorded in one federation
#define BLOCK_MAX_CHANGES 8       // joins, and leaves, in one block
#define BLOCK_MAX_MOTIONS 4       // admissions and removals by vote in one block
#define BLOCK_REQUEST_MAX 512     // bytes of an embedded join/leave request
#define BLOCK_MAX_BYTES (1u << 18) // a block record never exceeds 256 KiB
#define GENESIS_TEXT_MAX 63       // model and data set descriptions

// all-arrived: every expected member contributed; all-staying: every one
// did but members whose requested leave this block records (a leaver that
// stopped does not hold the round up); deadline: any other block.
typedef enum {
    CLOSE_ALL_ARRIVED = 1,
    CLOSE_DEADLINE = 2,
    CLOSE_ALL_STAYING = 3,
    CLOSE_REASON_COUNT
} close_reason_t;
typedef enum { LEAVE_REQUESTED = 1, LEAVE_INACTIVE = 2, LEAVE_REASON_COUNT } leave_reason_t;
// allow-list: the genesis's list (and former members); open: anyone;
// vote: the genesis's list, former members not removed, and whoever the
// members admitted by a majority's motion (ledger/motion.h).
typedef enum { ADMIT_ALLOWLIST = 1, ADMIT_OPEN = 2, ADMIT_VOTE = 3, ADMIT_RULE_COUNT } admission_t;

const char *close_reason_name(int reason);
const char *leave_reason_name(int reason);
const char *admission_name(int rule);

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES];  // member's signing key
    uint8_t envelope[HASH_BYTES];     // digest of the envelope it sent (sigmsg digest)
    uint64_t samples;                 // its sample count n_k
    double weight;                    // p_k = n_k / sum n
} block_contrib_t;

typedef struct {
    identity_pub_t id;                  // the new member (decoded from request)
    uint16_t request_len;               // bytes of its signed join request
    uint8_t request[BLOCK_REQUEST_MAX]; // SIGMSG_JOIN signed by the joiner
} block_join_t;

typedef struct {
    uint8_t key[IDENTITY_KEY_BYTES];    // the member leaving
    uint8_t reason;                     // leave_reason_t
    uint16_t request_len;               // 0 for LEAVE_INACTIVE
    uint8_t request[BLOCK_REQUEST_MAX]; // SIGMSG_LEAVE signed by the member
} block_leave_t;

// Record-level DP (issue 21; docs/ledger.md §6c): what one contributor's
// DP-SGD spent this round, and its running epsilon over all its rounds.
typedef struct {
    double q;       // Poisson sampling rate of its records
    double sigma;   // noise multiplier (noise sigma x clip on the clipped sum)
    uint64_t steps; // DP-SGD steps this round
    double eps;     // its records' epsilon at the genesis's record_delta,
                    // every round it contributed composed (RDP), this one included
} block_record_dp_t;

// The tag that opens a block's record-DP section: no motion count (at
// most BLOCK_MAX_MOTIONS) can be mistaken for it.
#define BLOCK_RECORD_DP_TAG 0xD5
#define BLOCK_RECORD_DP_MAX_STEPS 1000000000ULL

// The DP parameters and the privacy loss recorded in a block.
typedef struct {
    uint8_t mechanism;     // noise_mechanism_t
    double clip;           // member L1 clip C
    double member_scale;   // members' Laplace scale b
    double agg_scale;      // aggregator's Laplace scale b_G
    double eps_member;     // epsilon one contributing member spent this round
    double eps_aggregate;  // epsilon of the released global model this round
    double eps_total;      // running total, basic composition
    double eps_total_adv;  // running total, advanced composition at delta
} block_privacy_t;

typedef struct {
    uint64_t index;                                            // = sigmsg round
    uint8_t aggregator[IDENTITY_KEY_BYTES];                    // = sigmsg signer
    uint64_t time_ms;                                          // Unix time, milliseconds
    uint8_t prev_hash[HASH_BYTES];                             // hash of block index-1
    uint32_t rank;                                             // aggregator's election rank
    uint32_t attempt;                                          // election attempt (failover)
    uint16_t n_expected;                                       // active members this round
    uint8_t expected[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];  // their keys, ascending
    uint16_t n_contrib;                                        // members whose update counted
    block_contrib_t contrib[LEDGER_MAX_MEMBERS];               // ascending by key
    uint8_t n_joined;                                          // members admitted
    block_join_t joined[BLOCK_MAX_CHANGES];                    // with their requests
    uint8_t n_left;                                            // members leaving
    block_leave_t left[BLOCK_MAX_CHANGES];                     // with requests or "inactive"
    block_privacy_t privacy;                                   // parameters and epsilon
    uint8_t model_hash[HASH_BYTES];                            // hash_model of the new global
    uint8_t close_reason;                                      // close_reason_t
    // In a majority-witnessed federation (genesis_t.finality): the previous
    // block's certificate (docs/ledger.md §6a; empty for block 1, whose
    // predecessor, the genesis, needs none).  Absent otherwise.
    uint8_t has_commit;
    witness_cert_t commit;
    // In a federation that admits by vote (genesis_t.admission ADMIT_VOTE,
    // which needs majority-witnessed blocks): the motions this block
    // records, each signed by a majority of the members active before it
    // (docs/ledger.md §6b).  Encoded after the commit, always present in
    // such a federation (count 0 or more), absent otherwise.
    uint8_t has_motions;
    uint8_t n_motions;
    motion_t motions[BLOCK_MAX_MOTIONS];
    // In a federation with record-level DP (genesis_t.record_dp): one entry
    // per contributor, in contrib's order (docs/ledger.md §6c).  Encoded
    // last, opened by BLOCK_RECORD_DP_TAG; absent otherwise.
    uint8_t has_record_dp;
    block_record_dp_t record_dp[LEDGER_MAX_MEMBERS];
} block_t;

// The close reason block b's contents call for: all-arrived, all-staying
// when every expected member that did not contribute leaves by request in
// b, else deadline.  Needs b's expected, contributors and leaves.
close_reason_t block_close_reason(const block_t *b);

typedef struct {
    char name[IDENTITY_NAME_MAX + 1];                         // federation name
    uint64_t time_ms;                                         // founding time
    uint16_t n_members;                                       // founding members
    identity_pub_t members[LEDGER_MAX_MEMBERS];               // their identities
    char model[GENESIS_TEXT_MAX + 1];                         // e.g. "dcgan:128"
    char dataset[GENESIS_TEXT_MAX + 1];                       // e.g. "mnist"
    uint64_t model_seed;                                      // seed of the initial model
    uint8_t initial_model_hash[HASH_BYTES];                   // hash_model of round 0's model
    uint8_t mechanism;                                        // noise_mechanism_t
    double clip;                                              // L1 clip C
    double member_scale;                                      // members' Laplace b
    double agg_scale;                                         // aggregator's Laplace b_G
    double delta;                                             // for advanced composition
    uint32_t round_timeout_ms;                                // first attempt's deadline
    uint32_t attempt_extra_ms;                                // added per failed attempt
    uint32_t rounds;                                          // planned rounds (0: no end)
    uint32_t local_iters;                                     // local iterations per round
    uint16_t quorum;                                          // fewest contributors per block
    uint16_t inactive_after;                                  // rounds missed before removal
    uint8_t admission;                                        // admission_t
    uint16_t n_allowed;                                       // allow-list size
    uint8_t allowed[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];  // keys admitted later
    // The aggregator's step on the averaged update (docs/ledger.md §5):
    // global' = global + server_lr (FedAvg - global), then its noise.  0
    // means the field is absent: plain FedAvg, the same as 1, and the
    // encoding of every genesis written before the field existed.
    double server_lr;
    // How many rounds a join or leave request stays valid (docs/ledger.md
    // §5): a request signed for round m may be recorded in block i only when
    // i - m <= request_window, so an old request cannot be replayed later.
    // 0 means the field is absent: no window, as every genesis written
    // before the field existed.
    uint32_t request_window;
    // How a block becomes final (docs/ledger.md §5): GENESIS_FINALITY_SIGNED,
    // the aggregator's signature alone (every genesis before session 19),
    // or GENESIS_FINALITY_MAJORITY, more than half of the members active
    // before it countersign it (ledger/witness.h).  The majority rule is
    // written as a last trailer byte, after request_window.
    uint8_t finality;
    // Record-level DP (issue 21, docs/ledger.md §5): GENESIS_RECORD_DP_SGD
    // when every contribution must be the output of DP-SGD on the member's
    // records with this L2 clip per record, each block recording every
    // contributor's (q, sigma, steps) and its running epsilon at
    // record_delta, which may never exceed record_eps; 0: none (the field
    // is absent).  Written after the finality byte, so it needs
    // majority-witnessed blocks.
    uint8_t record_dp;
    double record_clip, record_delta, record_eps;
} genesis_t;

#define GENESIS_RECORD_DP_NONE 0
#define GENESIS_RECORD_DP_SGD 1

#define GENESIS_FINALITY_SIGNED 0
#define GENESIS_FINALITY_MAJORITY 1

#define GENESIS_REQUEST_WINDOW_DEFAULT 64 // ledger init's, unless told otherwise

#define GENESIS_SERVER_LR_MAX 10.0
// The step a genesis asks for: its server_lr, or 1 when absent.
double genesis_server_lr(const genesis_t *g);

// Appends the signed genesis record; *fed_id receives the federation id
// (BLAKE2b "fedsyn.fed" of the body).  FS_EINVAL for out-of-range fields.
int genesis_encode(bytes_writer_t *w, const genesis_t *g, const identity_t *founder,
                   uint8_t fed_id[HASH_BYTES], fs_err_t *err);
// Decodes a genesis record (the signature is checked too: genesis has no
// other anchor than its founder and its hash).
int genesis_decode(const uint8_t *buf, size_t n, genesis_t *g, uint8_t fed_id[HASH_BYTES],
                   sigmsg_t *msg, fs_err_t *err) __attribute__((warn_unused_result));

// Appends the aggregator-signed record of block b (b->index, b->aggregator
// come from the arguments).
void block_encode(bytes_writer_t *w, const block_t *b, const uint8_t fed_id[HASH_BYTES],
                  const identity_t *aggregator);
// Decodes a round block's fields (no signature or chain checks) from a
// sigmsg already decoded with sigmsg_decode.
int block_decode(const sigmsg_t *m, block_t *b, fs_err_t *err) __attribute__((warn_unused_result));
// The model hash a round block's record pins (a record of a verified chain:
// chain_record), without decoding the rest for the caller.
int block_record_model_hash(const uint8_t *rec, size_t n, uint8_t hash[HASH_BYTES],
                            fs_err_t *err) __attribute__((warn_unused_result));

// Join and leave requests a member signs and sends (embedded in blocks).
void block_join_request(bytes_writer_t *w, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                        const identity_t *joiner);
void block_leave_request(bytes_writer_t *w, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                         const identity_t *member);
// Encodes / decodes a public identity (1 name length, name, 3 x 32 keys).
void block_put_identity(bytes_writer_t *w, const identity_pub_t *id);
int block_get_identity(bytes_reader_t *r, identity_pub_t *id, fs_err_t *err);

// The block id: BLAKE2b "fedsyn.block" over the whole signed record.
void block_hash(const uint8_t *rec, size_t n, uint8_t out[HASH_BYTES]);

#endif
