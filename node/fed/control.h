/* control.h - a node's control socket (ipc://DIR/control.sock), where
 * `fedsyn status`, `fedsyn node leave` and `fedsyn member` reach it: one
 * request, one text reply.
 *
 * Usage: node/fed/node.c; tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_CONTROL_H
#define FS_FED_CONTROL_H

#include <stddef.h>

#include "node/base/err.h"
#include "node/fed/mesh.h"
#include "node/fed/round_io.h"
#include "node/fed/store.h"
#include "node/proto/members.h"

typedef struct control control_t;

#define CONTROL_REPLY_MAX 65536 // a status reply's bytes at most

typedef enum {
    CONTROL_NONE = 0, // nothing could be read
    CONTROL_STATUS,   // "STATUS": reply with control_status's text
    CONTROL_STATUS_JSON, // "STATUS-JSON": the same as one JSON object
    CONTROL_LEAVE,    // "LEAVE": start leaving, then reply
    CONTROL_MOTION_ADMIT,  // "MOTION-ADMIT <identity line>": propose an admission
    CONTROL_MOTION_REMOVE, // "MOTION-REMOVE <name or key hex>": propose a removal
    CONTROL_MOTION_SIGN,   // "MOTION-SIGN <id>": sign a pending motion
    CONTROL_MOTIONS,       // "MOTIONS": list the pending motions
    CONTROL_UNKNOWN   // anything else: control_receive has replied already
} control_cmd_t;

// The control endpoint of a state folder.
void control_endpoint(const char *dir, char *out, size_t n);
// Binds the socket of state folder dir (a stale socket file is replaced:
// the caller holds the folder's lock).
control_t *control_new(const char *dir, fs_err_t *err);
// Closes the socket and removes its file.
void control_destroy(control_t **self_p);
void *control_socket(control_t *self); // for the poller
// Reads one request; the reply goes to its sender (control_reply).
control_cmd_t control_receive(control_t *self);
void control_reply(control_t *self, const char *text);
// The text after the command word of the request read last ("" if none).
const char *control_arg(const control_t *self);
// `fedsyn member pending`'s text: the motions under way with their
// signers, and those the ledger admitted that have not joined yet (a list
// that would not fit says so instead of being cut, as control_status).
void control_motions(const store_t *store, const members_t *mem, char *buf, size_t cap);
// `fedsyn status`'s text for this node into buf, or (json) one JSON
// object on one line (docs/operations.md lists its fields).  A reply that
// would not fit says so instead of being cut.
void control_status(const store_t *store, mesh_t *mesh, const round_io_t *round,
                    const members_t *mem, int json, char *buf, size_t cap);

#endif
