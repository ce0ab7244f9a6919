/* gossip.h - what a node does with a message from a peer: hellos (heights,
 * peers, who hears whom), sync requests and replies, blocks and their
 * relay, updates, join and leave requests, and the fork rule at the head
 * (docs/federation.md).
 *
 * The decisions are node/proto's (peers.h, sync.h, members.h, round.h);
 * gossip reads the message, asks them, and performs the answer on the
 * parts of the node it is given.  It keeps no state of its own.
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_GOSSIP_H
#define FS_FED_GOSSIP_H

#include "node/fed/mesh.h"
#include "node/fed/round_io.h"
#include "node/fed/store.h"
#include "node/fed/transport.h"
#include "node/proto/members.h"

// The parts of a node a message may touch, all borrowed.  A joiner's
// first sync reply brings the genesis: the store starts the ledger and
// calls setup_ledger(node, err), which readies the rest of the node for it.
typedef struct {
    store_t *store;
    mesh_t *mesh;
    round_io_t *round;
    members_t *mem;
    int (*setup_ledger)(void *node, fs_err_t *err);
    void *node;
} gossip_t;

// Handles one message; takes msg->data when it keeps it (then NULL).
void gossip_handle(const gossip_t *g, transport_msg_t *msg);

#endif
