/* config.h - a node's configuration file: schema, defaults, checks.
 *
 * The file is ZPL (netcfg/zpl.h); its sections and keys are listed, with
 * their meaning, in docs/netcfg.md and by `fedsyn netcfg check --help`.
 * Every mistake - an unknown section or key, a repeated key, a value of the
 * wrong type or out of range, a missing required key, an unreadable peer
 * identity - is reported as "file:line: what was found, what is expected".
 * Relative paths are taken from the directory of the configuration file,
 * so a node's files can move together.
 *
 * The [federation] section may repeat parameters the genesis block fixes
 * (rounds, scales, clip, deadlines, admission ...): they are expectations,
 * and config_check_genesis reports the line of each one the ledger
 * contradicts, so a node never trains under settings its operator did not
 * mean.
 *
 * Usage: see tests/netcfg/test_config.c
 */
#ifndef FS_NETCFG_CONFIG_H
#define FS_NETCFG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/block.h"
#include "node/base/err.h"

#define CONFIG_PATH_MAX 512
#define CONFIG_ENDPOINT_MAX 256
#define CONFIG_MAX_PEERS 64
// Most members a data set may be split among (data/clients).  netcfg sits
// below node/data, so it keeps its own bound; node/fed/node.c, which hands
// the value to node/data/partition.c, asserts it equals PARTITION_MAX_CLIENTS.
#define CONFIG_MAX_CLIENTS 1024

typedef struct {
    char endpoint[CONFIG_ENDPOINT_MAX]; // "" when only the identity is known
    int has_id;                         // 1 when key/identity was given
    identity_pub_t id;                  // the peer's public identity
    int line;                           // where the peer section starts
} config_peer_t;

// An expected genesis parameter: set when the file names it.
typedef struct {
    int set;      // 1 when present in the file
    int line;     // its line
    double num;   // numeric value
    char text[GENESIS_TEXT_MAX + 1]; // model, dataset, mechanism, admission
} config_expect_t;

typedef enum {
    EXPECT_MODEL, EXPECT_DATASET, EXPECT_ROUNDS, EXPECT_LOCAL_ITERS, EXPECT_MECHANISM,
    EXPECT_SCALE, EXPECT_AGG_SCALE, EXPECT_CLIP, EXPECT_TIMEOUT_MS, EXPECT_ATTEMPT_EXTRA_MS,
    EXPECT_QUORUM, EXPECT_ADMISSION, EXPECT_COUNT
} config_expect_key_t;

#define CONFIG_KEEP_ALL (-1L) // node/keep-models = all (the default)

typedef struct {
    char file[CONFIG_PATH_MAX];          // the configuration file
    // node
    char name[IDENTITY_NAME_MAX + 1];    // display name
    char keys[CONFIG_PATH_MAX];          // identity directory (fedsyn keygen)
    char dir[CONFIG_PATH_MAX];           // state: ledger, models, control socket
    char listen[CONFIG_ENDPOINT_MAX];    // endpoint to bind, e.g. tcp://127.0.0.1:7101
    char advertise[CONFIG_ENDPOINT_MAX]; // endpoint peers dial (default: listen)
    char log_json[CONFIG_PATH_MAX];      // JSON-lines log file ("" none)
    char keep_models_text[16];           // node/keep-models as written ("" absent)
    long keep_models;                    // the last N blocks' models kept in dir/models;
                                         // CONFIG_KEEP_ALL: every one; 0: none
    // federation
    int has_fed_id;                      // federation id given
    uint8_t fed_id[HASH_BYTES];          // the federation to join
    char genesis[CONFIG_PATH_MAX];       // ledger file to take genesis from ("" none)
    char initial[CONFIG_PATH_MAX];       // round 0's model file when the genesis pinned one
    config_expect_t expect[EXPECT_COUNT];
    // peers
    int n_peers;
    config_peer_t peers[CONFIG_MAX_PEERS];
    // data
    char dataset[16];                    // mnist | fashion
    char data_dir[CONFIG_PATH_MAX];      // directory of the IDX files
    char labels[64];                     // e.g. "0,1,2" ("" = all)
    long limit;                          // at most this many images (0 = all)
    long data_seed;                      // which images when limited or partitioned
    char partition[16];                  // "" (labels/limit), "dirichlet" or "iid"
    long clients;                        // members the data set is split among
    long client;                         // this node's share, 0 .. clients-1
    double alpha;                        // Dirichlet concentration
    // train
    long batch;                          // local mini-batch
    long threads;                        // OpenBLAS threads for training
    long log_every;                      // iterations between progress lines
    long dp_rounds;                      // record-level DP: rounds the noise is planned
                                         // for (0: the genesis's, or 100 if it plans none)
    // quality (node/fed/scorer.h)
    long score_every;                    // score every K-th block's model (0: off)
    char evaluator[CONFIG_PATH_MAX];     // the evaluator file
    long score_samples;                  // images drawn per score
    char test_dir[CONFIG_PATH_MAX];      // the test set's directory (default data/dir)
} node_config_t;

// Where a checking parse reports each mistake it finds (the message names
// file:line), so that one run of `fedsyn netcfg check` names them all.
typedef struct {
    void (*found)(void *ctx, const char *msg);
    void *ctx;
} config_sink_t;

// Reads and checks a configuration file into *cfg.
int config_load(const char *path, node_config_t *cfg, fs_err_t *err)
    __attribute__((warn_unused_result));
// Parses configuration text (tests); base is the directory for relative paths.
int config_parse(const char *text, size_t n, const char *file, const char *base,
                 node_config_t *cfg, fs_err_t *err) __attribute__((warn_unused_result));
// FS_EINVAL naming file:line of the first expectation the genesis contradicts.
int config_check_genesis(const node_config_t *cfg, const genesis_t *g, fs_err_t *err)
    __attribute__((warn_unused_result));
// The same checks as config_load and config_check_genesis, but every
// mistake goes to sink and the check goes on: 0, or the first mistake's
// code.  *cfg holds what could be read.
int config_check_file(const char *path, node_config_t *cfg, const config_sink_t *sink);
int config_check_genesis_all(const node_config_t *cfg, const genesis_t *g,
                             const config_sink_t *sink);
// Name of an expectation key as written in the file ("local-iters").
const char *config_expect_name(int key);

#endif
