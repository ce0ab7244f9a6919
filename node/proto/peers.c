/* peers.c - what a node knows of its peers (peers.h); no I/O, no clock. */
#include "node/proto/peers.h"

#include <assert.h>
#include <string.h>

static const char *s_action_names[] = {"none", "hello", "sync", "redial"};
static_assert(sizeof s_action_names / sizeof s_action_names[0] == PEERS_ACT_COUNT,
              "one name per peers action");

const char *peers_action_name(int kind)
{
    return kind > 0 && kind < PEERS_ACT_COUNT ? s_action_names[kind] : "?";
}

void peers_init(peers_t *self)
{
    memset(self, 0, sizeof *self);
}

int peers_seen(peers_t *self, const uint8_t digest[PEERS_DIGEST_BYTES])
{
    for (size_t i = 0; i < self->seen_used; i++) {
        if (memcmp(self->seen[i], digest, PEERS_DIGEST_BYTES) == 0) {
            return 1;
        }
    }
    memcpy(self->seen[self->seen_next], digest, PEERS_DIGEST_BYTES);
    self->seen_next = (self->seen_next + 1) % PEERS_SEEN_SLOTS;
    if (self->seen_used < PEERS_SEEN_SLOTS) {
        self->seen_used++;
    }
    return 0;
}

static peers_action_t *s_emit(peers_actions_t *out, peers_action_kind_t kind, int peer)
{
    assert(out->n < PEERS_MAX_ACTIONS);
    peers_action_t *a = &out->act[out->n++];
    a->kind = kind;
    a->peer = peer;
    a->from = 0;
    return a;
}

void peers_tick_hello(peers_t *self, int64_t now, peers_actions_t *out)
{
    out->n = 0;
    if (now - self->last_hello >= PEERS_HELLO_MS) {
        s_emit(out, PEERS_ACT_HELLO, -1);
        self->last_hello = now;
    }
}

void peers_tick_redial(peers_t *self, size_t n_peers, int64_t now, peers_actions_t *out)
{
    out->n = 0;
    size_t n = n_peers < PEERS_MAX ? n_peers : PEERS_MAX;
    for (size_t k = 0; k < n; k++) {
        size_t i = (self->redial_next + k) % n;
        peers_peer_t *p = &self->peer[i];
        if (p->seen_ms) {
            continue;
        }
        if (!p->silent_ms) {
            p->silent_ms = now;
        }
        const int64_t wait = (int64_t)PEERS_SILENT_REDIAL_MS
                             << (p->silent_redials < 4 ? p->silent_redials : 4);
        if (now - p->silent_ms >= PEERS_SILENT_REDIAL_MS && now - p->redial_ms >= wait) {
            s_emit(out, PEERS_ACT_REDIAL, (int)i);
            p->redial_ms = now;
            p->silent_redials++;
            self->redial_next = i + 1;
            return; // one a tick
        }
    }
}

void peers_sync_sent(peers_t *self, int64_t now)
{
    self->last_sync = now;
}

int peers_sync_due(const peers_t *self, int64_t now)
{
    return now - self->last_sync > PEERS_SYNC_RETRY_MS / 2;
}

void peers_tick_sync(peers_t *self, size_t n_peers, uint64_t my_height, int64_t now,
                     peers_actions_t *out)
{
    out->n = 0;
    if (now - self->last_sync <= PEERS_SYNC_RETRY_MS) {
        return;
    }
    size_t n = n_peers < PEERS_MAX ? n_peers : PEERS_MAX;
    for (size_t k = 0; k < n; k++) {
        size_t i = (self->sync_next + k) % n;
        if (self->peer[i].height >= my_height && self->peer[i].seen_ms) {
            s_emit(out, PEERS_ACT_SYNC, (int)i)->from = my_height;
            self->last_sync = now;
            self->sync_next = i + 1;
            return;
        }
    }
}

void peers_on_hello(peers_t *self, int peer, const peers_hello_t *h, uint64_t my_height,
                    int need_model, int64_t now, peers_actions_t *out)
{
    out->n = 0;
    if (peer < 0 || peer >= PEERS_MAX) {
        return;
    }
    peers_peer_t *p = &self->peer[peer];
    p->height = h->height;
    p->seen_ms = now;
    if (!p->first_ms) {
        p->first_ms = now;
    }
    memcpy(p->hears, h->hears, sizeof p->hears);
    // Does it hear us?  If not, our dial was refused before it knew our key.
    if (!h->hears_us && (h->lists_us || !h->list_full) && now - p->redial_ms > PEERS_REDIAL_MS &&
        now - p->first_ms > PEERS_REDIAL_MS) {
        s_emit(out, PEERS_ACT_REDIAL, peer);
        p->redial_ms = now;
    }
    if ((h->height > my_height || (need_model && h->height >= my_height)) &&
        peers_sync_due(self, now)) {
        s_emit(out, PEERS_ACT_SYNC, peer)->from = my_height;
        self->last_sync = now;
    }
}

void peers_set_height(peers_t *self, int peer, uint64_t height)
{
    if (peer >= 0 && peer < PEERS_MAX) {
        self->peer[peer].height = height;
    }
}

int peers_behind(const peers_t *self, size_t n_peers, uint64_t my_height)
{
    for (size_t i = 0; i < n_peers && i < PEERS_MAX; i++) {
        if (self->peer[i].height > my_height) {
            return 1;
        }
    }
    return 0;
}

int peers_heard(const peers_t *self, int peer, int64_t now)
{
    const peers_peer_t *p = &self->peer[peer];
    return p->seen_ms && now - p->seen_ms < PEERS_HEARD_MS;
}

int peers_relay_to(const peers_t *self, int peer, int from, int agg, uint64_t h)
{
    if (peer == from || peer == agg || self->peer[peer].height > h) {
        return 0;
    }
    return !(agg >= 0 && (self->peer[peer].hears[agg / 8] >> (agg % 8) & 1));
}
