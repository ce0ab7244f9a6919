/* peers.h - what a node knows of its peers, as a pure state machine: the
 * height each announced, when it was last heard, whom it hears, the ring
 * of message digests already seen (gossip de-duplication), and when to say
 * hello, ask for a sync or re-dial (docs/federation.md "Joining, leaving,
 * restarting").
 *
 * Part of the protocol core (node/proto): no sockets, no clock, no files.
 * Peers are numbered as the caller's transport numbers them (0 ..
 * PEERS_MAX - 1); time is an argument.
 *
 *   peers_tick_hello   HELLO every PEERS_HELLO_MS
 *   peers_tick_sync    the head's model is missing: SYNC, every
 *                      PEERS_SYNC_RETRY_MS, from the next peer heard at our
 *                      height or above, in turn (a hello does not say who
 *                      holds the model: always asking the first such peer
 *                      let two nodes that both lack it ask each other for
 *                      ever while a third that has it went unasked; found
 *                      by the simulator, tests/sim seed 313)
 *   peers_on_hello     a peer's hello: its height (SYNC when it is ahead,
 *                      or level while our model is missing, at most every
 *                      half retry), whom it hears, and REDIAL when it does
 *                      not hear us (at most every PEERS_REDIAL_MS, and not
 *                      in its first PEERS_REDIAL_MS)
 *   peers_tick_redial  REDIAL of one peer never heard from for
 *                      PEERS_SILENT_REDIAL_MS, then after 2, 4, 8 and
 *                      16 times that (a peer that is down is not dialled
 *                      in a tight loop): a node whose dial was refused before the
 *                      peer admitted its key (a newcomer waiting for the
 *                      members' vote) gets no hello that would say so
 *   peers_seen         1 when a digest was seen; records it otherwise
 *
 * Usage: see tests/proto/test_peers.c
 */
#ifndef FS_PROTO_PEERS_H
#define FS_PROTO_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

#define PEERS_MAX 192            // = TRANSPORT_MAX_PEERS (asserted in node/fed)
#define PEERS_SEEN_SLOTS 4096    // digests remembered
#define PEERS_HELLO_MS 1000
#define PEERS_SYNC_RETRY_MS 1000
#define PEERS_REDIAL_MS 3000
#define PEERS_SILENT_REDIAL_MS 5000
#define PEERS_HEARD_MS 3000      // a peer heard within this is "heard" in our hello
#define PEERS_DIGEST_BYTES HASH_BYTES
#define PEERS_MAX_ACTIONS 2

typedef enum {
    PEERS_ACT_HELLO = 1, // send a hello to every peer
    PEERS_ACT_SYNC,      // ask `peer` for the blocks from `from`
    PEERS_ACT_REDIAL,    // re-dial `peer` (it does not hear us)
    PEERS_ACT_COUNT
} peers_action_kind_t;

typedef struct {
    peers_action_kind_t kind;
    int peer;
    uint64_t from;
} peers_action_t;

typedef struct {
    int n;
    peers_action_t act[PEERS_MAX_ACTIONS];
} peers_actions_t;

typedef struct {
    uint64_t height;             // the height it announced
    int64_t seen_ms;             // its last hello (0: never)
    int64_t first_ms;            // its first hello
    int64_t redial_ms;           // our last re-dial of it
    int64_t silent_ms;           // when peers_tick_redial first found it never heard
    uint32_t silent_redials;     // its re-dials since (each waits twice as long, up to 16x)
    uint8_t hears[PEERS_MAX / 8]; // our peers it heard from (its last hello)
} peers_peer_t;

typedef struct {
    peers_peer_t peer[PEERS_MAX];
    uint8_t seen[PEERS_SEEN_SLOTS][PEERS_DIGEST_BYTES];
    size_t seen_next;
    size_t seen_used;            // slots filled (all, once the ring wrapped)
    int64_t last_hello, last_sync;
    size_t sync_next;            // where peers_tick_sync looks first
    size_t redial_next;          // where peers_tick_redial looks first
} peers_t;

// What a peer's hello says besides its height.
typedef struct {
    uint64_t height;
    int lists_us;                // we are in its list of peers
    int hears_us;                // ... marked heard
    int list_full;               // its list holds as many peers as a hello can
    uint8_t hears[PEERS_MAX / 8]; // of our peers, those it marks heard
} peers_hello_t;

// Starts empty (calloc'd memory is a valid empty state too).
void peers_init(peers_t *self);

int peers_seen(peers_t *self, const uint8_t digest[PEERS_DIGEST_BYTES]);

void peers_tick_hello(peers_t *self, int64_t now, peers_actions_t *out);
// n_peers: how many peers the transport has.
void peers_tick_redial(peers_t *self, size_t n_peers, int64_t now, peers_actions_t *out);
void peers_tick_sync(peers_t *self, size_t n_peers, uint64_t my_height, int64_t now,
                     peers_actions_t *out);
// need_model: we hold a ledger but not its head's model.
void peers_on_hello(peers_t *self, int peer, const peers_hello_t *h, uint64_t my_height,
                    int need_model, int64_t now, peers_actions_t *out);

// A sync request to any peer went out now (the retry clock).
void peers_sync_sent(peers_t *self, int64_t now);
// 1 when a sync request may go out now (half a retry since the last).
int peers_sync_due(const peers_t *self, int64_t now);
// The peer now holds `height` blocks (it sent us the block before it).
void peers_set_height(peers_t *self, int peer, uint64_t height);
// 1 when some peer of the n_peers announced more than my_height.
int peers_behind(const peers_t *self, size_t n_peers, uint64_t my_height);
// 1 when the peer's last hello is recent (our hello says we hear it).
int peers_heard(const peers_t *self, int peer, int64_t now);
// Whether the block of index h that `from` sent us, made by `agg` (-1: not
// a peer), goes on to `peer`: not back, not to its maker, not to one that
// announced a height above h (it has it), not to one that hears its maker
// (the maker sent it to every peer it is connected to).
int peers_relay_to(const peers_t *self, int peer, int from, int agg, uint64_t h);
const char *peers_action_name(int kind);

#endif
