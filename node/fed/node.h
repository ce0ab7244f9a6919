/* node.h - `fedsyn node`: one member of a federation, wired together.
 *
 * A node owns its identity, its copy of the ledger (ledger/chain.h), the
 * global model, the local trainer (node/fed/local.h) and its sockets
 * (node/fed/transport.h), and runs one event loop:
 *
 *   - every second it says hello to its peers (its height and head, and the
 *     peers it knows, so that one bootstrap peer is enough to reach all);
 *   - a peer that is ahead is asked for the blocks it lacks (sync), which
 *     are verified one by one before they are appended; the model after the
 *     head comes with them and must hash to the head's model hash;
 *   - in round r (r = ledger height) an active member trains from the
 *     global model, applies its noise (node/privacy/noise.h), seals the
 *     update to the round's aggregator for the current attempt and sends it;
 *   - the aggregator of the current attempt collects the updates, closes
 *     when every expected member has sent (or, at 80% of the attempt's
 *     window, with at least the quorum), averages them (fedavg + its own
 *     noise), appends the signed block, and sends block and model to all;
 *   - every node verifies a block before it appends it, then forwards it;
 *   - if no block arrives by the attempt's deadline (timeout + attempt x
 *     extra, growing), attempt + 1 elects the next candidate and the members
 *     re-send their update to it;
 *   - join requests and leave notices are gossiped and recorded by the next
 *     aggregator; a non-member asks to join until a block admits it;
 *   - with quality/score-every K, the model of every K-th block goes to a
 *     scoring thread (node/fed/scorer.h): quality.jsonl and a log line.
 * The rules that decide between competing blocks are in docs/federation.md.
 *
 * The implementation is split into parts that own their state: store.h
 * (ledger, model), mesh.h (peers), round_io.h (the round, the trainer),
 * gossip.h (messages), membership.h, control.h; node.c holds them and runs
 * the loop (docs/federation.md, "The protocol core").
 *
 * Usage: node/cli/cmd_node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_NODE_H
#define FS_FED_NODE_H

#include "netcfg/config.h"
#include "node/base/err.h"

typedef struct node node_t;

// Loads the identity, the ledger (or prepares to fetch it), the data and
// the model; binds the sockets.  Nothing runs yet.
node_t *node_new(const node_config_t *cfg, fs_err_t *err);
void node_destroy(node_t **self_p);
// Runs until the federation's planned rounds are done, this node's leave
// is recorded, or *stop is set (a signal); *leave asks to leave (a signal
// or `fedsyn node leave`).  Returns 0, FS_EINTR when stopped, or an error.
int node_run(node_t *self, volatile int *stop, volatile int *leave, fs_err_t *err);

// The control socket of a node's state directory (ipc), where `fedsyn
// status` and `fedsyn node leave` talk to it.
void node_control_endpoint(const char *dir, char *out, size_t n);

#endif
