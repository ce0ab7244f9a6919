/* membership.h - performing what node/proto/members.h decides for this
 * node: its join requests and leave notices go out to the peers, and its
 * own leave starts (the round learns it; the node goes on contributing
 * until a block records the leave).
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_MEMBERSHIP_H
#define FS_FED_MEMBERSHIP_H

#include "crypto/identity.h"
#include "node/fed/mesh.h"
#include "node/fed/store.h"
#include "node/proto/members.h"
#include "node/proto/round.h"

// Sends the requests and notices among acts to every peer.
void membership_perform(mesh_t *mesh, const members_actions_t *acts);
// This node leaves: members.h signs the notice (once), the round learns
// it (ROUND_EV_LEAVING) and the notice goes out.
void membership_start_leave(members_t *mem, round_t *rs, const store_t *store, mesh_t *mesh,
                            const identity_t *me);

#endif
