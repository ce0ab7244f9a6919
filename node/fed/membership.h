/* membership.h - performing what node/proto/members.h decides for this
 * node: its join requests, leave notices and motions go out to the peers, and its
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

// Sends the requests, notices and motions among acts to every peer.
void membership_perform(mesh_t *mesh, const members_t *mem, const members_actions_t *acts);
// Gossips one motion, with every signature we hold, to every peer but
// `except` (-1: none).
void membership_send_motion(mesh_t *mesh, const motion_t *m, int except);
// This node leaves: members.h signs the notice (once), the round learns
// it (ROUND_EV_LEAVING) and the notice goes out.
void membership_start_leave(members_t *mem, round_t *rs, const store_t *store, mesh_t *mesh,
                            const identity_t *me);

// What `fedsyn member propose` and `sign` ask of the running node
// (docs/federation.md "Membership by the members' vote"): action
// MOTION_ADMIT with a public identity line, MOTION_REMOVE with a member's
// name or signing key (hex, or its first 8+ digits), or 0 to sign the
// pending motion whose id starts with arg.  The motion, signed by this
// node, goes to every peer; the reply (what was done, or what was wrong
// and what to do) goes into buf.  Returns 0 or the error's code.
int membership_command(members_t *mem, const store_t *store, mesh_t *mesh, const identity_t *me,
                       int action, const char *arg, char *buf, size_t cap);

#endif
