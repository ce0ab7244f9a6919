/* mesh.c - peers, hellos, sync requests and broadcasts (see mesh.h). */
#include "node/fed/mesh.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "ledger/block.h"
#include "node/base/bytes.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"

static_assert(PEERS_MAX == TRANSPORT_MAX_PEERS, "node/proto/peers numbers the transport's peers");

struct mesh {
    const node_config_t *cfg; // borrowed: the configured peers, our advertised endpoint
    const identity_t *me;     // borrowed
    const store_t *store;     // borrowed: height, head, members
    char allow_dir[CONFIG_PATH_MAX + 32];
    transport_t *net;
    peers_t peers;
    uint8_t barred[TRANSPORT_MAX_PEERS]; // removed by the members' vote
};

mesh_t *mesh_new(const node_config_t *cfg, const identity_t *me, const store_t *store,
                 fs_err_t *err)
{
    mesh_t *self = xcalloc(1, sizeof *self);
    self->cfg = cfg;
    self->me = me;
    self->store = store;
    snprintf(self->allow_dir, sizeof self->allow_dir, "%s/allowed-keys", cfg->dir);
    peers_init(&self->peers);
    // Size limit for one message: an update or a block with the model, for
    // the largest model a genesis may name here (dcgan:1024 is ~75 M
    // parameters; the envelope limit of 16 Mi weights bounds it first).
    self->net = transport_new(me, self->allow_dir, ENVELOPE_MAX_BYTES + BLOCK_MAX_BYTES, err);
    if (!self->net) {
        mesh_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < cfg->n_peers; i++) {
        transport_allow(self->net, &cfg->peers[i].id, err);
        transport_peer(self->net, &cfg->peers[i].id, cfg->peers[i].endpoint);
    }
    return self;
}

void mesh_destroy(mesh_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    transport_destroy(&(*self_p)->net);
    free(*self_p);
    *self_p = NULL;
}

int mesh_listen(mesh_t *self, fs_err_t *err)
{
    return transport_listen(self->net, self->cfg->listen, err);
}

transport_t *mesh_transport(mesh_t *self) { return self->net; }
const identity_pub_t *mesh_me(const mesh_t *self) { return identity_public(self->me); }
peers_t *mesh_peers(mesh_t *self) { return &self->peers; }
const peers_t *mesh_peers_const(const mesh_t *self) { return &self->peers; }
size_t mesh_peer_count(const mesh_t *self) { return transport_peer_count(self->net); }

const char *mesh_peer_name(const mesh_t *self, int peer)
{
    return peer >= 0 ? transport_peer_id(self->net, peer)->name : "(queued)";
}

void mesh_broadcast(mesh_t *self, uint8_t type, const uint8_t *data, size_t n, int except,
                    int bulk, uint64_t skip_height_at_least)
{
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        // a removed member hears our hellos only (it syncs up to its removal)
        if ((int)i == except || !transport_peer_connected(self->net, (int)i) ||
            (self->barred[i] && type != WIRE_HELLO)) {
            continue;
        }
        if (skip_height_at_least && self->peers.peer[i].height >= skip_height_at_least) {
            continue; // it said it has this already
        }
        transport_send(self->net, (int)i, type, data, n, bulk);
    }
}

void mesh_hello(mesh_t *self, int only_peer)
{
    if (!store_have_fed(self->store)) {
        return;
    }
    wire_hello_t h;
    memset(&h, 0, sizeof h);
    h.me.id = *identity_public(self->me);
    snprintf(h.me.endpoint, sizeof h.me.endpoint, "%s", self->cfg->advertise);
    if (store_chain(self->store)) {
        h.height = store_height(self->store);
        memcpy(h.head, store_state(self->store)->head_hash, HASH_BYTES);
    }
    for (size_t i = 0; i < transport_peer_count(self->net) && h.n_peers < WIRE_HELLO_MAX_PEERS;
         i++) {
        const char *ep = transport_peer_endpoint(self->net, (int)i);
        if (ep[0]) {
            h.peers[h.n_peers].id = *transport_peer_id(self->net, (int)i);
            snprintf(h.peers[h.n_peers].endpoint, sizeof h.peers[0].endpoint, "%s", ep);
            h.peers[h.n_peers].heard = peers_heard(&self->peers, (int)i, now_mono_ms());
            h.n_peers++;
        }
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    wire_hello_encode(&w, &h, store_fed_id(self->store), self->me);
    if (only_peer >= 0) {
        transport_send(self->net, only_peer, WIRE_HELLO, w.data, w.len, 0);
    } else {
        mesh_broadcast(self, WIRE_HELLO, w.data, w.len, -1, 0, 0);
    }
    bytes_writer_reset(&w);
}

void mesh_sync_request(mesh_t *self, int peer, uint64_t from)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(from >> (8 * i));
    }
    transport_send(self->net, peer, WIRE_SYNCREQ, b, 8, 0);
    peers_sync_sent(&self->peers, now_mono_ms());
}

void mesh_perform(mesh_t *self, const peers_actions_t *acts)
{
    for (int i = 0; i < acts->n; i++) {
        if (acts->act[i].kind == PEERS_ACT_HELLO) {
            mesh_hello(self, -1);
        } else if (acts->act[i].kind == PEERS_ACT_SYNC) {
            mesh_sync_request(self, acts->act[i].peer, acts->act[i].from);
        } else if (acts->act[i].kind == PEERS_ACT_REDIAL &&
                   transport_peer_endpoint(self->net, acts->act[i].peer)[0] &&
                   !self->barred[acts->act[i].peer]) {
            log_info("peer %s never answered: dialling %s again (a peer that has not admitted "
                     "our key refuses the handshake)", mesh_peer_name(self, acts->act[i].peer),
                     transport_peer_endpoint(self->net, acts->act[i].peer));
            transport_reconnect(self->net, acts->act[i].peer);
        }
    }
}

// The ledger's word on a key: 1 may connect, 0 barred (removed or revoked
// by vote), -1 says nothing (not in the ledger).
static int s_ledger_allows(const ledger_state_t *st, const uint8_t key[IDENTITY_KEY_BYTES])
{
    const ledger_member_t *m = ledger_state_member(st, key);
    if (ledger_state_admitted(st, key) || (m && m->active)) {
        return 1;
    }
    if (m) {
        return !m->removed;
    }
    for (int i = 0; i < st->n_admitted; i++) {
        if (memcmp(st->admitted[i].id.sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return 0; // revoked before it joined
        }
    }
    return st->genesis.admission == ADMIT_OPEN || ledger_state_may_join(st, key) ? 1 : -1;
}

static void s_allow(mesh_t *self, const identity_pub_t *id, int yes)
{
    fs_err_t err = {0};
    if ((yes ? transport_allow(self->net, id, &err) : transport_disallow(self->net, id, &err)) <
        0) {
        log_warn("%s", err.msg);
    }
    int p = transport_find(self->net, id->sign_pk);
    if (p >= 0 && p < TRANSPORT_MAX_PEERS) {
        if (!yes && !self->barred[p]) {
            log_info("peer %s was removed by the members' vote: its key is no longer admitted, "
                     "and nothing more goes to it", id->name);
        }
        self->barred[p] = (uint8_t)!yes;
    }
}

void mesh_allow_members(mesh_t *self)
{
    const ledger_state_t *st = store_chain(self->store) ? store_state(self->store) : NULL;
    // the configuration's peers bootstrap a node without a ledger; once it
    // has one, a federation that admits by vote follows the ledger alone
    for (int i = 0; i < self->cfg->n_peers; i++) {
        const identity_pub_t *id = &self->cfg->peers[i].id;
        int word = st ? s_ledger_allows(st, id->sign_pk) : 1;
        s_allow(self, id, word == 1 || (word < 0 && st->genesis.admission != ADMIT_VOTE));
    }
    if (!st) {
        return;
    }
    for (int i = 0; i < st->n_members; i++) {
        s_allow(self, &st->members[i].id, s_ledger_allows(st, st->members[i].id.sign_pk) != 0);
    }
    for (int i = 0; i < st->n_admitted; i++) {
        s_allow(self, &st->admitted[i].id, !st->admitted[i].revoked);
    }
}

int mesh_barred(const mesh_t *self, int peer)
{
    return peer >= 0 && peer < TRANSPORT_MAX_PEERS && self->barred[peer];
}

int mesh_allow_any(mesh_t *self, fs_err_t *err)
{
    return transport_allow_any(self->net, err);
}

int mesh_acceptable(const mesh_t *self, const identity_pub_t *id)
{
    const ledger_state_t *st = store_chain(self->store) ? store_state(self->store) : NULL;
    int word = st ? s_ledger_allows(st, id->sign_pk) : -1;
    if (word >= 0) {
        return word;
    }
    if (st && st->genesis.admission == ADMIT_VOTE) {
        return 0; // the ledger alone decides
    }
    for (int i = 0; i < self->cfg->n_peers; i++) {
        if (memcmp(self->cfg->peers[i].id.sign_pk, id->sign_pk, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}
