/* probe.h - does a peer answer at its endpoint, and does it admit this
 * site's key?  `fedsyn netcfg check --probe` asks each peer with one
 * CurveZMQ handshake, bounded in time: the site's transport key against
 * the peer's, as the node will dial it, and nothing sent after it.
 *
 * The handshake is watched with a socket monitor: HANDSHAKE_SUCCEEDED means
 * the peer is up, is the key the configuration names, and its
 * authenticator admits this site; a refusal or a connection that never
 * completes a handshake says which of those fails.
 *
 * Usage: node/cli/cmd_node.c (netcfg check --probe);
 * tests/integration/t0004-federation.sh
 */
#ifndef FS_FED_PROBE_H
#define FS_FED_PROBE_H

#include <stddef.h>

#include "crypto/identity.h"

typedef enum {
    PROBE_ADMITTED,  // the handshake completed: reachable, the right key, admitted
    PROBE_REFUSED,   // the peer's authenticator refused this site's key
    PROBE_NO_HANDSHAKE, // a connection, but no handshake (another key, or not a node)
    PROBE_SILENT     // no connection within the time (nothing listens, or a firewall)
} probe_result_t;

// Probes peer (its public identity) at endpoint as identity me, for at most
// timeout_ms; what it found, in words, goes to why (n bytes).
probe_result_t probe_peer(const identity_t *me, const identity_pub_t *peer,
                          const char *endpoint, int timeout_ms, char *why, size_t n);

#endif
