/* founding.h - a federation's founding: the genesis block (docs/ledger.md
 * §5) from the founders' choices, signed, as a new ledger file.
 *
 * `fedsyn ledger init` parses its options into founding_opts_t and calls
 * founding_genesis then founding_write; everything the genesis fixes is
 * checked here, each refusal naming the option.  Round 0's model is pinned
 * by its hash: the vector the model spec's trainer starts from at the seed
 * (global.h), or the file given as --initial.
 *
 * Usage: see tests/fed/test_founding.c
 */
#ifndef FS_FED_FOUNDING_H
#define FS_FED_FOUNDING_H

#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "crypto/keyring.h"
#include "ledger/block.h"
#include "node/base/err.h"

typedef struct {
    const char *name;          // federation name (identity name rules)
    uint64_t time_ms;          // founding time, Unix milliseconds
    const keyring_t *members;  // founding members besides the founder (may be NULL)
    const keyring_t *allowed;  // keys that may join later (may be NULL)
    int open;                  // anyone may join
    int admission;             // ADMIT_*; 0: by vote when blocks are majority-witnessed
                               // (and allow-list otherwise), open with `open`
    const char *model;         // workload spec (node/train/workload.h)
    const char *dataset;       // "mnist" or "fashion"
    uint64_t seed;             // the initial model's seed
    const char *initial;       // or round 0's model from this file (NULL: the seed's)
    const char *noise;         // mechanism keyword (crypto/noise_mechanism.h)
    double clip, scale;        // members' clip and noise scale
    double agg_scale;          // the aggregator's (< 0: scale)
    double delta;
    uint32_t timeout_ms, attempt_extra_ms, rounds, local_iters;
    uint16_t quorum, inactive_after;
    double server_lr;          // the aggregator's server step (1: plain FedAvg)
    uint32_t request_window;   // rounds a join/leave request stays valid (0: no window)
    uint8_t finality;          // GENESIS_FINALITY_SIGNED or _MAJORITY (witnessed blocks)
    // record-level DP (DP-SGD on each member's discriminator): the clip per
    // record (0: none), delta and the epsilon budget per record
    double record_clip, record_delta, record_eps;
} founding_opts_t;

// Fills *g (zeroed first) from o, the founder a member.  FS_EINVAL naming
// the option for a bad choice; --initial's read errors are named with the
// file.
int founding_genesis(const founding_opts_t *o, const identity_t *founder, genesis_t *g,
                     fs_err_t *err) __attribute__((warn_unused_result));
// Signs g and creates the ledger file at path holding it (and its folder;
// never replacing a ledger); *fed_id receives the federation id.
int founding_write(const genesis_t *g, const identity_t *founder, const char *path,
                   uint8_t fed_id[HASH_BYTES], fs_err_t *err) __attribute__((warn_unused_result));

#endif
