/* mesh.h - a node's peers: the transport (transport.h: CurveZMQ sockets,
 * who may connect) and what node/proto/peers.h knows of each peer
 * (heights, who hears whom, digests seen), with the messages that keep the
 * mesh together: hellos, sync requests, broadcasts.
 *
 * It reads the ledger's height, head and members from the store it
 * borrows, and never writes it.  Owned by the node's event loop.
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_MESH_H
#define FS_FED_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "netcfg/config.h"
#include "node/base/err.h"
#include "node/fed/store.h"
#include "node/fed/transport.h"
#include "node/proto/peers.h"

typedef struct mesh mesh_t;

// The transport for identity me (borrowed, as are cfg and store), its
// allow-list in DIR/allowed-keys, and the configuration's peers dialled.
// Nothing listens yet (mesh_listen).
mesh_t *mesh_new(const node_config_t *cfg, const identity_t *me, const store_t *store,
                 fs_err_t *err);
void mesh_destroy(mesh_t **self_p);
// Binds the inbox, once every key it must admit is allowed.
int mesh_listen(mesh_t *self, fs_err_t *err) __attribute__((warn_unused_result));

transport_t *mesh_transport(mesh_t *self);
const identity_pub_t *mesh_me(const mesh_t *self); // this node's public identity
peers_t *mesh_peers(mesh_t *self);
const peers_t *mesh_peers_const(const mesh_t *self);
size_t mesh_peer_count(const mesh_t *self);
// The peer's name, for logs ("(queued)" for peer -1).
const char *mesh_peer_name(const mesh_t *self, int peer);

// Queues a message to every connected peer but `except`, skipping those
// that announced a height >= skip_height_at_least (when nonzero).
void mesh_broadcast(mesh_t *self, uint8_t type, const uint8_t *data, size_t n, int except,
                    int bulk, uint64_t skip_height_at_least);
// Our hello (height, head, the peers we know and whether we hear them) to
// one peer, or to all when only_peer is -1.
void mesh_hello(mesh_t *self, int only_peer);
// Asks peer for the blocks from index `from` on.
void mesh_sync_request(mesh_t *self, int peer, uint64_t from);
// Performs node/proto/peers.h's hello and sync actions.
void mesh_perform(mesh_t *self, const peers_actions_t *acts);

// Writes the authenticator's keys as the ledger says now (and the
// configuration's peers, which bootstrap a node without a ledger; in a
// federation that admits by vote, only those until it has one): every
// member not removed, and anyone the genesis or the members' vote admits;
// the keys of members removed by vote (and of admissions revoked) are
// taken out, and such peers are barred (mesh_barred): they get our hellos
// and, when they ask, the blocks up to the one that removed them (so that
// they learn it and stop), nothing else; anything else they send is
// dropped.
void mesh_allow_members(mesh_t *self);
// 1 when peer is barred (removed by the members' vote).
int mesh_barred(const mesh_t *self, int peer);
// Allows anyone (an open federation).
int mesh_allow_any(mesh_t *self, fs_err_t *err) __attribute__((warn_unused_result));
// May a node with this identity talk to us at all (a configured peer, a
// member, a permitted joiner, anyone in an open federation; not one the
// members removed by vote)?
int mesh_acceptable(const mesh_t *self, const identity_pub_t *id);

#endif
