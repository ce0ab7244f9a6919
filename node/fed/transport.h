/* transport.h - the node's sockets: CurveZMQ, authentication, chunking.
 *
 * Each node binds one ROUTER (its inbox) and connects one DEALER to every
 * peer it knows (its outboxes); replies also travel over the replier's
 * DEALER, so the ROUTER only ever receives.  Every socket runs CurveZMQ
 * with the node's transport key (crypto/identity.h), and a zauth actor
 * admits only the client keys written as certificates into the node's
 * allow directory (members, permitted joiners) - or any key when the
 * federation's admission is open.  The node refuses to start without the
 * authenticator (RELIABILITY.md: CURVE without ZAP accepts anyone), and a
 * socket monitor logs every refused handshake.
 *
 * Messages are typed byte strings up to a configured size.  Anything above
 * TRANSPORT_CHUNK bytes travels as a sequence of chunks, and each peer has
 * two outgoing queues: control messages (hello, join, leave) always go
 * before the next bulk chunk (models, updates), so a 5 MB model never holds
 * up a heartbeat or a hello.  The DEALERs' high-water mark is low, so the
 * queues live here, where the priority is decided, not inside libzmq.
 * libzmq's own ZMTP heartbeats (1 s, 5 s timeout) detect dead connections;
 * ZMQ_MAXMSGSIZE bounds every frame.
 *
 * Frames (one ZeroMQ frame per message or chunk; docs/wire.md):
 *   whole:  u8 1, u8 type, payload
 *   chunk:  u8 2, u8 type, u32 msg id, u32 index, u32 count, u32 total, data
 */
#ifndef FS_FED_TRANSPORT_H
#define FS_FED_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "node/base/err.h"

// The largest frame payload.  256 KiB rather than 64: a 4.8 MB model is 19
// frames instead of 74, and the per-frame costs (CurveZMQ's framing, poll
// wake-ups, allocations) were about 20 ms of CPU per 3-node round (154 ->
// 134 ms, docs/results.md).  A chunk still leaves the link within 2 s at
// 1 Mbit/s, well inside the 5 s heartbeat timeout; 1 MiB bought nothing more.
#define TRANSPORT_CHUNK (256u * 1024u)
#define TRANSPORT_MAX_PEERS 192
#define TRANSPORT_ENDPOINT_MAX 256

typedef struct transport transport_t;

typedef struct {
    uint8_t type;        // the message type (node/fed/wire.h)
    uint8_t *data;       // payload (owned by the receiver: free())
    size_t n;            // payload bytes
    int peer;            // the sending peer's index, or -1 before its hello
    uint8_t rid[256];    // the inbound connection's routing id
    size_t rid_len;
} transport_msg_t;

// Starts the authenticator over allow_dir (created when missing) and
// makes the inbox with the identity's transport key; max_msg bounds a
// reassembled message.  Call transport_listen once the keys it must admit
// are written: a refused handshake is not retried by libzmq.
transport_t *transport_new(const identity_t *me, const char *allow_dir, size_t max_msg,
                           fs_err_t *err);
int transport_listen(transport_t *self, const char *endpoint, fs_err_t *err);
// Drops and re-dials the peer's DEALER (after the peer says it does not
// hear us: our handshake was refused before it knew our key).
void transport_reconnect(transport_t *self, int peer);
void transport_destroy(transport_t **self_p);

// Switches the authenticator to admit every key (open admission).
int transport_allow_any(transport_t *self, fs_err_t *err);
// Admits this identity's transport key (writes its certificate).
int transport_allow(transport_t *self, const identity_pub_t *id, fs_err_t *err);
// Takes the identity's transport key out of the authenticator's folder (a
// member removed by vote); connections already made stay until they drop.
int transport_disallow(transport_t *self, const identity_pub_t *id, fs_err_t *err);
// The peer with this signing key (index), adding it when new; connects its
// DEALER when an endpoint is known and it has none yet.  -1 when full.
int transport_peer(transport_t *self, const identity_pub_t *id, const char *endpoint);
// The index of the peer with this signing key, or -1.
int transport_find(const transport_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES]);
// Ties an inbound routing id to a peer (after its signed hello).
void transport_bind_rid(transport_t *self, int peer, const uint8_t *rid, size_t rid_len);
size_t transport_peer_count(const transport_t *self);
const identity_pub_t *transport_peer_id(const transport_t *self, int peer);
const char *transport_peer_endpoint(const transport_t *self, int peer);
// 1 when a DEALER is connected to the peer (its endpoint is known).
int transport_peer_connected(const transport_t *self, int peer);

// Queues a message to a peer; bulk messages yield to control messages.
void transport_send(transport_t *self, int peer, uint8_t type, const uint8_t *data, size_t n,
                    int bulk);
// How long queued frames may still go out after the transport is destroyed
// (libzmq's linger, honoured when the process's ZeroMQ context ends; the
// node uses 0, a short-lived sender such as tests/tools/fedpoke more).
void transport_set_linger(transport_t *self, int ms);
// Queues one raw frame as is (the tests use it to send malformed frames).
void transport_send_frame(transport_t *self, int peer, const uint8_t *frame, size_t n);
// Sends whatever the peers' sockets take now (never blocks); returns the
// number of frames still queued.
size_t transport_flush(transport_t *self);

// The sockets the caller polls (zpoller): the inbox and the monitor.
void *transport_inbox(transport_t *self);
void *transport_monitor(transport_t *self);
// Reads one frame from the readable inbox.  Returns 1 with *msg filled when
// it completes a message, 0 when it was a chunk of one (or was dropped, with
// a warning naming the sender: bad framing, a size above the limit, chunks
// out of order).
int transport_read(transport_t *self, transport_msg_t *msg);
// Reads one event from the readable monitor and logs refusals and drops.
void transport_read_monitor(transport_t *self);
// Bytes received and sent since the start (for status and benchmarks).
void transport_counters(const transport_t *self, uint64_t *bytes_in, uint64_t *bytes_out);

#endif
