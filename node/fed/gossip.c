/* gossip.c - talking to peers: hellos (heights, peers, who hears whom),
 * sync requests and replies, blocks from peers and their relay, join and
 * leave requests, and the fork rule at the head. */
#include "node/fed/node_int.h"

#include <assert.h>

#include "node/proto/sync.h"

static_assert(SYNC_MAX_RECORDS == WIRE_SYNC_MAX_RECORDS, "one sync reply's records");

static void s_keep_evidence(node_t *self, const uint8_t *rec, size_t n);

void fed_broadcast(node_t *self, uint8_t type, const uint8_t *data, size_t n, int except,
                   int bulk, uint64_t skip_height_at_least)
{
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        if ((int)i == except || !transport_peer_connected(self->net, (int)i)) {
            continue;
        }
        if (skip_height_at_least && self->peers.peer[i].height >= skip_height_at_least) {
            continue; // it said it has this already
        }
        transport_send(self->net, (int)i, type, data, n, bulk);
    }
}

void fed_hello(node_t *self, int only_peer)
{
    if (!self->have_fed) {
        return;
    }
    wire_hello_t h;
    memset(&h, 0, sizeof h);
    h.me.id = *self->pub;
    snprintf(h.me.endpoint, sizeof h.me.endpoint, "%s", self->cfg.advertise);
    if (self->chain) {
        h.height = chain_height(self->chain);
        memcpy(h.head, fed_state(self)->head_hash, HASH_BYTES);
    }
    for (size_t i = 0; i < transport_peer_count(self->net) && h.n_peers < WIRE_HELLO_MAX_PEERS;
         i++) {
        const char *ep = transport_peer_endpoint(self->net, (int)i);
        if (ep[0]) {
            h.peers[h.n_peers].id = *transport_peer_id(self->net, (int)i);
            snprintf(h.peers[h.n_peers].endpoint, sizeof h.peers[0].endpoint, "%s", ep);
            h.peers[h.n_peers].heard = peers_heard(&self->peers, (int)i, fed_mono());
            h.n_peers++;
        }
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    wire_hello_encode(&w, &h, self->fed_id, self->me);
    if (only_peer >= 0) {
        transport_send(self->net, only_peer, WIRE_HELLO, w.data, w.len, 0);
    } else {
        fed_broadcast(self, WIRE_HELLO, w.data, w.len, -1, 0, 0);
    }
    bytes_writer_reset(&w);
}

void fed_sync_request(node_t *self, int peer, uint64_t from)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(from >> (8 * i));
    }
    transport_send(self->net, peer, WIRE_SYNCREQ, b, 8, 0);
    peers_sync_sent(&self->peers, fed_mono());
}

static void s_handle_hello(node_t *self, transport_msg_t *msg)
{
    if (!self->have_fed) {
        return;
    }
    wire_hello_t *h = xmalloc(sizeof *h);
    fs_err_t err = {0};
    if (wire_hello_decode(msg->data, msg->n, self->fed_id, h, &err) < 0) {
        log_warn("hello refused: %s", err.msg);
        free(h);
        return;
    }
    if (!fed_acceptable(self, &h->me.id)) {
        log_warn("hello from %s refused: not a member, a permitted joiner or a configured peer",
                 h->me.id.name);
        free(h);
        return;
    }
    int known = transport_find(self->net, h->me.id.sign_pk) >= 0;
    int p = transport_peer(self->net, &h->me.id, h->me.endpoint);
    if (p < 0) {
        free(h);
        return;
    }
    transport_bind_rid(self->net, p, msg->rid, msg->rid_len);
    if (!known) {
        log_info("peer %s at %s (height %llu)", h->me.id.name, h->me.endpoint,
                 (unsigned long long)h->height);
        fed_hello(self, p);
    }
    // What the hello says, for node/proto/peers.h: whom it hears (a block
    // from one of them reaches it without our relay) and whether it hears
    // us (if not, our dial was refused before it knew our key).
    peers_hello_t ph;
    memset(&ph, 0, sizeof ph);
    ph.height = h->height;
    ph.list_full = h->n_peers >= WIRE_HELLO_MAX_PEERS;
    for (int i = 0; i < h->n_peers; i++) {
        int q = transport_find(self->net, h->peers[i].id.sign_pk);
        if (q >= 0 && h->peers[i].heard) {
            ph.hears[q / 8] |= (uint8_t)(1u << (q % 8));
        }
        if (memcmp(h->peers[i].id.sign_pk, self->pub->sign_pk, IDENTITY_KEY_BYTES) == 0) {
            ph.lists_us = 1;
            ph.hears_us = h->peers[i].heard;
        }
    }
    uint64_t mine = self->chain ? chain_height(self->chain) : 0;
    peers_actions_t acts;
    peers_on_hello(&self->peers, p, &ph, mine, self->chain && !self->rs.have_model, fed_mono(),
                   &acts);
    for (int i = 0; i < acts.n; i++) {
        if (acts.act[i].kind == PEERS_ACT_REDIAL) {
            log_info("peer %s does not hear us: re-dialling %s", h->me.id.name, h->me.endpoint);
            transport_reconnect(self->net, p);
        }
    }
    for (int i = 0; i < h->n_peers; i++) {
        const wire_peer_t *q = &h->peers[i];
        if (memcmp(q->id.sign_pk, self->pub->sign_pk, IDENTITY_KEY_BYTES) != 0 &&
            transport_find(self->net, q->id.sign_pk) < 0 && fed_acceptable(self, &q->id)) {
            transport_allow(self->net, &q->id, &err);
            transport_peer(self->net, &q->id, q->endpoint);
        }
    }
    for (int i = 0; i < acts.n; i++) {
        if (acts.act[i].kind == PEERS_ACT_SYNC) {
            fed_sync_request(self, p, acts.act[i].from);
        }
    }
    free(h);
}

static void s_handle_syncreq(node_t *self, transport_msg_t *msg)
{
    if (!self->chain || msg->n != 8) {
        return;
    }
    uint64_t from = 0;
    for (int i = 0; i < 8; i++) {
        from |= (uint64_t)msg->data[i] << (8 * i);
    }
    uint64_t start, end;
    int with_model;
    if (sync_serve(chain_height(self->chain), from, self->rs.have_model, &start, &end,
                   &with_model) < 0) {
        return;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    size_t at;
    wire_sync_begin(&w, &at);
    for (uint64_t i = start; i < end; i++) {
        const uint8_t *rec;
        size_t n;
        if (chain_record(self->chain, i, &rec, &n) == 0) {
            wire_sync_add(&w, at, rec, n);
        }
    }
    wire_sync_end(&w, with_model ? self->global : NULL, with_model ? self->n : 0);
    transport_send(self->net, msg->peer, WIRE_SYNCREP, w.data, w.len, 1);
    bytes_writer_reset(&w);
}

static void s_handle_syncrep(node_t *self, transport_msg_t *msg)
{
    wire_sync_t s;
    fs_err_t err = {0};
    const char *who = transport_peer_id(self->net, msg->peer)->name;
    if (wire_sync_decode(msg->data, msg->n, &s, &err) < 0) {
        log_warn("sync reply from %s refused: %s", who, err.msg);
        return;
    }
    uint32_t i = 0;
    if (!self->chain && s.k > 0) {
        // The genesis: it must be the federation the configuration names.
        uint8_t fed[HASH_BYTES];
        genesis_t *g = xmalloc(sizeof *g);
        sigmsg_t m;
        int rc = genesis_decode(s.rec[0], s.len[0], g, fed, &m, &err);
        free(g);
        if (rc < 0 || memcmp(fed, self->fed_id, HASH_BYTES) != 0) {
            log_warn("sync reply from %s refused: %s", who,
                     rc < 0 ? err.msg : "its genesis is another federation's");
            return;
        }
        self->chain = chain_create(self->ledger_path, s.rec[0], s.len[0], &err);
        if (!self->chain || fed_setup_ledger(self, &err) < 0) {
            log_error("cannot start the ledger: %s", err.msg);
            chain_destroy(&self->chain);
            return;
        }
        log_info("fetched the genesis from %s; verifying the chain", who);
        i = 1;
    }
    if (!self->chain) {
        return;
    }
    int appended = 0;
    for (; i < s.k; i++) {
        sigmsg_t m;
        if (sigmsg_decode(s.rec[i], s.len[i], BLOCK_MAX_BYTES, &m, &err) < 0) {
            log_warn("sync reply from %s: record %u: %s", who, i, err.msg);
            return;
        }
        uint64_t h = chain_height(self->chain);
        const uint8_t *ours = NULL;
        size_t ours_n = 0;
        int differs = m.round + 1 == h && chain_record(self->chain, h - 1, &ours, &ours_n) == 0 &&
                      (ours_n != s.len[i] || memcmp(ours, s.rec[i], ours_n) != 0);
        sync_record_t verdict = sync_judge_record(h, m.round, i + 1 < s.k, differs);
        if (verdict == SYNC_RECORD_REPLACE_HEAD) {
            // The peer's block for our head's index has a successor: its
            // chain is longer, and a block with a successor is final.
            uint8_t *keep = xmalloc(ours_n);
            memcpy(keep, ours, ours_n);
            if (chain_replace_head(self->chain, s.rec[i], s.len[i], &err) < 0) {
                log_warn("sync reply from %s: block %llu refused: %s", who,
                         (unsigned long long)m.round, err.msg);
                free(keep);
                return;
            }
            log_warn("fork at block %llu: %s's chain is longer; replaced our head (kept in "
                     "%s/evidence/)", (unsigned long long)m.round, who, self->cfg.dir);
            s_keep_evidence(self, keep, ours_n);
            free(keep);
            appended++;
            fed_set_have_global(self, 0);
            continue;
        }
        if (verdict == SYNC_RECORD_SKIP) {
            continue;
        }
        if (fed_append(self, s.rec[i], s.len[i], &err) < 0) {
            log_warn("sync reply from %s: block %llu refused: %s", who,
                     (unsigned long long)m.round, err.msg);
            sigmsg_t first;
            fs_err_t e2 = {0};
            uint64_t from;
            if (sigmsg_decode(s.rec[0], s.len[0], BLOCK_MAX_BYTES, &first, &e2) == 0 &&
                sync_retry_from(h, m.round, first.round, &from)) {
                fed_sync_request(self, msg->peer, from); // maybe our head is the odd one
            }
            return;
        }
        appended++;
        fed_set_have_global(self, 0);
        fed_print_round(self, &fed_state(self)->last);
    }
    if (s.model && !self->rs.have_model) {
        float *w = fed_model_check(self, s.model, s.count, fed_state(self)->model_hash);
        if (w) {
            fed_adopt_model(self, w);
        } else {
            log_warn("sync reply from %s: its model is not the head's", who);
        }
    }
    if (appended) {
        log_info("synced %d blocks from %s; height %llu", appended, who,
                 (unsigned long long)chain_height(self->chain));
        fed_enter_round(self);
        fed_hello(self, -1);
    }
}

// Keeps a block that lost the fork rule as evidence (DIR/evidence/).
static void s_keep_evidence(node_t *self, const uint8_t *rec, size_t n)
{
    uint8_t h[HASH_BYTES];
    char hex[2 * HASH_BYTES + 1], path[CONFIG_PATH_MAX + 128];
    block_hash(rec, n, h);
    bytes_to_hex(h, HASH_BYTES, hex);
    snprintf(path, sizeof path, "%s/evidence", self->cfg.dir);
    fs_err_t err = {0};
    if (fsio_mkdirs(path, &err) == 0) {
        snprintf(path, sizeof path, "%s/evidence/block-%s.rec", self->cfg.dir, hex);
        if (fsio_write_atomic(path, rec, n, 0644, &err) < 0) {
            log_warn("cannot keep the evidence: %s", err.msg);
        }
    }
}

// A valid block for the index of our head that is not our head: the fork
// rule (ledger/election.h: the lower attempt wins, then the lower hash)
// decides.  When it wins we replace our head (chain_replace_head verifies
// it on the blocks before) and adopt its model; either way the loser is
// kept as evidence and the winner is sent on, so every node converges.
static void s_competing_head(node_t *self, const uint8_t *rec, size_t rec_len,
                             const uint8_t *model, size_t count, int from)
{
    const uint8_t *ours;
    size_t ours_n;
    uint8_t theirs_h[HASH_BYTES], ours_h[HASH_BYTES];
    if (chain_record(self->chain, chain_height(self->chain) - 1, &ours, &ours_n) < 0) {
        return;
    }
    block_hash(rec, rec_len, theirs_h);
    block_hash(ours, ours_n, ours_h);
    if (memcmp(theirs_h, ours_h, HASH_BYTES) == 0 || peers_seen(&self->peers, theirs_h)) {
        return; // our own head again, or a loser already judged
    }
    fs_err_t err = {0};
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, &err);
    rc = rc ? rc : block_decode(&m, b, &err);
    const block_t *head = &fed_state(self)->last;
    const char *who = from >= 0 ? transport_peer_id(self->net, from)->name : "a sync reply";
    if (rc == 0 && sync_theirs_wins(head->attempt, ours_h, b->attempt, theirs_h)) {
        float *w = fed_model_check(self, model, count, b->model_hash);
        uint8_t *keep = xmalloc(ours_n);
        memcpy(keep, ours, ours_n);
        if (!w) {
            log_warn("competing block %llu from %s wins the fork rule but came without its "
                     "model: kept ours", (unsigned long long)b->index, who);
        } else if ((rc = chain_replace_head(self->chain, rec, rec_len, &err)) < 0) {
            log_warn("competing block %llu from %s refused: %s", (unsigned long long)b->index,
                     who, err.msg);
        } else {
            log_warn("fork at block %llu: replaced our head (attempt %u) by %s's block (attempt "
                     "%u), which the fork rule prefers; ours kept in %s/evidence/",
                     (unsigned long long)b->index, head->attempt, who, b->attempt,
                     self->cfg.dir);
            s_keep_evidence(self, keep, ours_n);
            fed_adopt_model(self, w);
            w = NULL;
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, rec, rec_len, self->global, self->n);
            fed_broadcast(self, WIRE_BLOCK, out.data, out.len, from, 1, 0);
            bytes_writer_reset(&out);
            fed_enter_round(self);
        }
        free(keep);
        free(w);
    } else if (rc == 0) {
        log_warn("competing block %llu from %s loses the fork rule to ours (attempt %u vs %u): "
                 "kept ours and sent it back", (unsigned long long)b->index, who, b->attempt,
                 head->attempt);
        s_keep_evidence(self, rec, rec_len);
        if (from >= 0 && self->rs.have_model) {
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, ours, ours_n, self->global, self->n);
            transport_send(self->net, from, WIRE_BLOCK, out.data, out.len, 1);
            bytes_writer_reset(&out);
        }
    }
    peers_seen(&self->peers, theirs_h);
    free(b);
}

static void s_handle_block(node_t *self, transport_msg_t *msg)
{
    const uint8_t *rec, *model;
    size_t rec_len, count;
    fs_err_t err = {0};
    const char *who = transport_peer_id(self->net, msg->peer)->name;
    if (!self->chain) {
        return;
    }
    if (wire_block_decode(msg->data, msg->n, &rec, &rec_len, &model, &count, &err) < 0) {
        log_warn("block from %s refused: %s", who, err.msg);
        return;
    }
    sigmsg_t m;
    if (sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, &err) < 0) {
        log_warn("block from %s refused: %s", who, err.msg);
        return;
    }
    uint64_t h = chain_height(self->chain);
    sync_block_t verdict = sync_judge_block(h, m.round);
    if (verdict == SYNC_BLOCK_COMPETE) {
        s_competing_head(self, rec, rec_len, model, count, msg->peer);
        return;
    }
    if (verdict == SYNC_BLOCK_OLD) {
        const uint8_t *ours;
        size_t n;
        uint8_t a[HASH_BYTES], b[HASH_BYTES];
        block_hash(rec, rec_len, a);
        if (chain_record(self->chain, m.round, &ours, &n) == 0) {
            block_hash(ours, n, b);
            if (memcmp(a, b, HASH_BYTES) != 0 && !peers_seen(&self->peers, a)) {
                log_warn("block %llu from %s differs from ours, which later blocks extend: "
                         "kept ours (a block with a successor is final; docs/federation.md)",
                         (unsigned long long)m.round, who);
            }
        }
        return;
    }
    if (verdict == SYNC_BLOCK_AHEAD) {
        if (peers_sync_due(&self->peers, fed_mono())) {
            fed_sync_request(self, msg->peer, h);
        }
        return;
    }
    uint8_t bh[HASH_BYTES];
    block_hash(rec, rec_len, bh);
    int64_t t0 = fed_mono();
    int arc = fed_accept_block(self, rec, rec_len, model, count, &err);
    log_debug("block %llu checked and appended in %lld ms", (unsigned long long)m.round,
              (long long)(fed_mono() - t0));
    if (arc < 0) {
        log_warn("block %llu from %s refused: %s", (unsigned long long)m.round, who, err.msg);
        return;
    }
    peers_seen(&self->peers, bh);
    peers_set_height(&self->peers, msg->peer, h + 1);
    // Gossip on, except to peers that said they have it or that hear its
    // aggregator, who sent it to all it is connected to (in a full mesh
    // nobody relays; with gaps, relays fill them).
    int agg = transport_find(self->net, m.signer);
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        if (transport_peer_connected(self->net, (int)i) &&
            peers_relay_to(&self->peers, (int)i, msg->peer, agg, h)) {
            transport_send(self->net, (int)i, WIRE_BLOCK, msg->data, msg->n, 1);
        }
    }
    fed_hello(self, -1);
}

static void s_handle_request(node_t *self, transport_msg_t *msg, int type)
{
    sigmsg_t m;
    fs_err_t err = {0};
    if (!self->chain || sigmsg_decode(msg->data, msg->n, BLOCK_REQUEST_MAX, &m, &err) < 0 ||
        sigmsg_check_version(&m, &err) < 0 || m.type != type ||
        memcmp(m.fed_id, self->fed_id, HASH_BYTES) != 0 || sigmsg_verify(&m, &err) < 0) {
        log_warn("%s request refused: %s", wire_type_name(msg->type),
                 err.msg[0] ? err.msg : "wrong type or federation");
        return;
    }
    if (peers_seen(&self->peers, m.digest)) {
        return;
    }
    char nb[9];
    int rc = members_on_request(&self->mem, fed_state(self), type, m.signer, msg->data, msg->n);
    if (rc == 0) {
        return; // a join from a member, a leave from a non-member
    }
    log_info("%s from %s", type == SIGMSG_JOIN ? "join request" : "leave notice",
             fed_name(self, m.signer, nb));
    if (rc < 0) {
        log_warn("%d requests already wait for a block; dropping one", MEMBERS_MAX_PENDING);
    }
    fed_broadcast(self, msg->type, msg->data, msg->n, msg->peer, 0, 0);
}

void fed_handle(node_t *self, transport_msg_t *msg)
{
    log_debug("received %s (%zu bytes) from %s", wire_type_name(msg->type), msg->n,
              msg->peer >= 0 ? transport_peer_id(self->net, msg->peer)->name : "?");
    if (msg->type == WIRE_HELLO) {
        s_handle_hello(self, msg);
        return;
    }
    if (msg->peer < 0) {
        log_warn("a %s message from a connection that has not said hello: dropped",
                 wire_type_name(msg->type));
        return;
    }
    switch (msg->type) {
    case WIRE_BLOCK: s_handle_block(self, msg); break;
    case WIRE_UPDATE:
        if (self->chain) {
            fed_process_update(self, msg->data, msg->n, msg->peer);
            msg->data = NULL; // taken
        }
        break;
    case WIRE_JOIN: s_handle_request(self, msg, SIGMSG_JOIN); break;
    case WIRE_LEAVE: s_handle_request(self, msg, SIGMSG_LEAVE); break;
    case WIRE_SYNCREQ: s_handle_syncreq(self, msg); break;
    case WIRE_SYNCREP: s_handle_syncrep(self, msg); break;
    default:
        log_warn("unknown message type %d from %s: dropped", msg->type,
                 transport_peer_id(self->net, msg->peer)->name);
    }
}
