/* control.c - the ipc control socket: `fedsyn status` and `fedsyn node
 * leave` (see control.h). */
#include "node/fed/control.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "ledger/assemble.h"
#include "node/base/bytes.h"
#include "node/base/mem.h"
#include "node/fed/now.h"

#define CONTROL_REPLY_MAX 16384

struct control {
    zsock_t *sock;
    char endpoint[CONFIG_PATH_MAX + 32];
    zframe_t *rid; // the sender of the request read last
};

void control_endpoint(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "ipc://%s/control.sock", dir);
}

control_t *control_new(const char *dir, fs_err_t *err)
{
    control_t *self = xcalloc(1, sizeof *self);
    control_endpoint(dir, self->endpoint, sizeof self->endpoint);
    self->sock = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(self->sock, 0);
    unlink(self->endpoint + 6);
    if (zsock_bind(self->sock, "%s", self->endpoint) < 0) {
        fs_err_set(err, FS_EIO, "cannot bind the control socket %s", self->endpoint);
        control_destroy(&self);
        return NULL;
    }
    return self;
}

void control_destroy(control_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    control_t *self = *self_p;
    zsock_destroy(&self->sock);
    unlink(self->endpoint + 6);
    zframe_destroy(&self->rid);
    free(self);
    *self_p = NULL;
}

void *control_socket(control_t *self) { return self->sock; }

control_cmd_t control_receive(control_t *self)
{
    zmsg_t *m = zmsg_recv(self->sock);
    if (!m) {
        return CONTROL_NONE;
    }
    zframe_destroy(&self->rid);
    self->rid = zmsg_pop(m);
    zframe_t *empty = zmsg_pop(m);
    char *cmd = zmsg_popstr(m);
    control_cmd_t c = !cmd                        ? CONTROL_UNKNOWN
                      : strcmp(cmd, "STATUS") == 0 ? CONTROL_STATUS
                      : strcmp(cmd, "LEAVE") == 0  ? CONTROL_LEAVE
                                                   : CONTROL_UNKNOWN;
    zframe_destroy(&empty);
    free(cmd);
    zmsg_destroy(&m);
    if (c == CONTROL_UNKNOWN) {
        control_reply(self, "unknown command (expected STATUS or LEAVE)\n");
    }
    return c;
}

void control_reply(control_t *self, const char *text)
{
    if (!self->rid) {
        return;
    }
    zmsg_t *r = zmsg_new();
    zmsg_append(r, &self->rid);
    zmsg_addmem(r, "", 0);
    zmsg_addstr(r, text);
    zmsg_send(&r, self->sock);
}

void control_status(const store_t *store, mesh_t *mesh, const round_io_t *round,
                    const members_t *mem, char *buf, size_t cap)
{
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__)
    const identity_pub_t *pub = mesh_me(mesh);
    const round_t *rs = round_io_round_const(round);
    char fpr[IDENTITY_FPR_CHARS], hex[2 * HASH_BYTES + 1];
    identity_fingerprint(pub, fpr);
    bytes_to_hex(store_fed_id(store), HASH_BYTES, hex);
    OUT("node        %s (%s)\n", pub->name, fpr);
    OUT("federation  %s\n", store_have_fed(store) ? hex : "(unknown)");
    if (store_chain(store)) {
        const ledger_state_t *st = store_state(store);
        uint8_t agg[IDENTITY_KEY_BYTES];
        char nb[9];
        const int has_agg = assemble_aggregator(st, rs->attempt, agg) == 0;
        OUT("height      %llu (planned rounds %u)\n", (unsigned long long)store_height(store),
            st->genesis.rounds);
        OUT("round       %llu, attempt %u, aggregator %s%s\n", (unsigned long long)rs->round,
            rs->attempt, has_agg ? store_name(store, agg, nb) : "none (no active member)",
            has_agg && memcmp(agg, pub->sign_pk, IDENTITY_KEY_BYTES) == 0 ? " (this node)" : "");
        OUT("member      %s%s\n", store_is_active(store, pub->sign_pk) ? "active" : "not active",
            mem->leaving ? ", leaving" : "");
        OUT("members     %zu active:", keyring_size(rs->members));
        for (size_t i = 0; i < keyring_size(rs->members); i++) {
            OUT(" %s", keyring_at(rs->members, i)->name);
        }
        OUT("\n");
        if (store_height(store) > 1) {
            const block_t *b = &st->last;
            char mh[9];
            hash_short(b->model_hash, mh);
            OUT("last block  %llu by %s, %u/%u contributors, %s, model %s\n",
                (unsigned long long)b->index, store_name(store, b->aggregator, nb), b->n_contrib,
                b->n_expected, close_reason_name(b->close_reason), mh);
        }
        const local_t *local = round_io_local(round);
        if (local) {
            OUT("training    %s, %d/%u iterations of round %llu\n",
                local_busy(local) ? "running" : (rs->trained ? "done" : "idle"),
                local_progress(local), st->genesis.local_iters, (unsigned long long)rs->round);
        }
        if (rs->n_got) {
            OUT("collected   %d updates for this round\n", rs->n_got);
        }
    }
    const transport_t *net = mesh_transport(mesh);
    const peers_t *peers = mesh_peers_const(mesh);
    uint64_t in, out;
    transport_counters(net, &in, &out);
    OUT("traffic     %.1f MB in, %.1f MB out\n", (double)in / 1e6, (double)out / 1e6);
    OUT("peers       %zu\n", transport_peer_count(net));
    for (size_t i = 0; i < transport_peer_count(net); i++) {
        const peers_peer_t *pi = &peers->peer[i];
        double ago = pi->seen_ms ? (double)(now_mono_ms() - pi->seen_ms) / 1000.0 : -1;
        OUT("  %-12s %-28s height %-5llu %s\n", transport_peer_id(net, (int)i)->name,
            transport_peer_endpoint(net, (int)i), (unsigned long long)pi->height,
            ago < 0 ? "never heard" : ago < 3 ? "alive" : "silent");
    }
#undef OUT
}
