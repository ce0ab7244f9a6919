/* control.c - the ipc control socket: `fedsyn status` and `fedsyn node
 * leave`. */
#include "node/fed/node_int.h"

static void s_status(node_t *self, char *buf, size_t cap)
{
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__)
    char fpr[IDENTITY_FPR_CHARS], hex[2 * HASH_BYTES + 1];
    identity_fingerprint(self->pub, fpr);
    bytes_to_hex(self->fed_id, HASH_BYTES, hex);
    OUT("node        %s (%s)\n", self->pub->name, fpr);
    OUT("federation  %s\n", self->have_fed ? hex : "(unknown)");
    if (self->chain) {
        const ledger_state_t *st = fed_state(self);
        uint8_t agg[IDENTITY_KEY_BYTES];
        char nb[9];
        assemble_aggregator(st, self->rs.attempt, agg);
        OUT("height      %llu (planned rounds %u)\n", (unsigned long long)chain_height(self->chain),
            st->genesis.rounds);
        OUT("round       %llu, attempt %u, aggregator %s%s\n", (unsigned long long)self->rs.round,
            self->rs.attempt, fed_name(self, agg, nb),
            memcmp(agg, self->pub->sign_pk, IDENTITY_KEY_BYTES) == 0 ? " (this node)" : "");
        OUT("member      %s%s\n", fed_is_active(self, self->pub->sign_pk) ? "active" : "not active",
            self->mem.leaving ? ", leaving" : "");
        OUT("members     %zu active:", keyring_size(self->rs.members));
        for (size_t i = 0; i < keyring_size(self->rs.members); i++) {
            OUT(" %s", keyring_at(self->rs.members, i)->name);
        }
        OUT("\n");
        if (chain_height(self->chain) > 1) {
            const block_t *b = &st->last;
            char mh[9];
            hash_short(b->model_hash, mh);
            OUT("last block  %llu by %s, %u/%u contributors, %s, model %s\n",
                (unsigned long long)b->index, fed_name(self, b->aggregator, nb), b->n_contrib,
                b->n_expected, close_reason_name(b->close_reason), mh);
        }
        if (self->local) {
            OUT("training    %s, %d/%u iterations of round %llu\n",
                local_busy(self->local) ? "running" : (self->rs.trained ? "done" : "idle"),
                local_progress(self->local), st->genesis.local_iters,
                (unsigned long long)self->rs.round);
        }
        if (self->rs.n_got) {
            OUT("collected   %d updates for this round\n", self->rs.n_got);
        }
    }
    uint64_t in, out;
    transport_counters(self->net, &in, &out);
    OUT("traffic     %.1f MB in, %.1f MB out\n", (double)in / 1e6, (double)out / 1e6);
    OUT("peers       %zu\n", transport_peer_count(self->net));
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        const peers_peer_t *pi = &self->peers.peer[i];
        double ago = pi->seen_ms ? (double)(fed_mono() - pi->seen_ms) / 1000.0
                                           : -1;
        OUT("  %-12s %-28s height %-5llu %s\n", transport_peer_id(self->net, (int)i)->name,
            transport_peer_endpoint(self->net, (int)i),
            (unsigned long long)pi->height,
            ago < 0 ? "never heard" : ago < 3 ? "alive" : "silent");
    }
#undef OUT
}

void fed_handle_control(node_t *self)
{
    zmsg_t *m = zmsg_recv(self->control);
    if (!m) {
        return;
    }
    zframe_t *rid = zmsg_pop(m);
    zframe_t *empty = zmsg_pop(m);
    char *cmd = zmsg_popstr(m);
    char *reply = xmalloc(16384);
    if (cmd && strcmp(cmd, "STATUS") == 0) {
        s_status(self, reply, 16384);
    } else if (cmd && strcmp(cmd, "LEAVE") == 0) {
        fed_start_leave(self);
        snprintf(reply, 16384, "%s", self->mem.leaving ? "leaving: the next block records it\n"
                                                   : "not an active member; stopping\n");
    } else {
        snprintf(reply, 16384, "unknown command (expected STATUS or LEAVE)\n");
    }
    if (rid) {
        zmsg_t *r = zmsg_new();
        zmsg_append(r, &rid);
        zmsg_addmem(r, "", 0);
        zmsg_addstr(r, reply);
        zmsg_send(&r, self->control);
    }
    zframe_destroy(&rid);
    zframe_destroy(&empty);
    free(cmd);
    free(reply);
    zmsg_destroy(&m);
}
