/* gossip.c - messages from peers (see gossip.h). */
#include "node/fed/gossip.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/block.h"
#include "node/base/bytes.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/membership.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"
#include "node/proto/sync.h"

static_assert(SYNC_MAX_RECORDS == WIRE_SYNC_MAX_RECORDS, "one sync reply's records");

static void s_handle_hello(const gossip_t *g, transport_msg_t *msg)
{
    transport_t *net = mesh_transport(g->mesh);
    if (!store_have_fed(g->store)) {
        return;
    }
    wire_hello_t *h = xmalloc(sizeof *h);
    fs_err_t err = {0};
    if (wire_hello_decode(msg->data, msg->n, store_fed_id(g->store), h, &err) < 0) {
        log_warn("hello refused: %s", err.msg);
        free(h);
        return;
    }
    if (!mesh_acceptable(g->mesh, &h->me.id)) {
        log_warn("hello from %s refused: not a member, a permitted joiner or a configured peer",
                 h->me.id.name);
        free(h);
        return;
    }
    int known = transport_find(net, h->me.id.sign_pk) >= 0;
    int p = transport_peer(net, &h->me.id, h->me.endpoint);
    if (p < 0) {
        free(h);
        return;
    }
    transport_bind_rid(net, p, msg->rid, msg->rid_len);
    if (!known) {
        log_info("peer %s at %s (height %llu)", h->me.id.name, h->me.endpoint,
                 (unsigned long long)h->height);
        mesh_hello(g->mesh, p);
    }
    // What the hello says, for node/proto/peers.h: whom it hears (a block
    // from one of them reaches it without our relay) and whether it hears
    // us (if not, our dial was refused before it knew our key).
    peers_hello_t ph;
    memset(&ph, 0, sizeof ph);
    ph.height = h->height;
    ph.list_full = h->n_peers >= WIRE_HELLO_MAX_PEERS;
    for (int i = 0; i < h->n_peers; i++) {
        int q = transport_find(net, h->peers[i].id.sign_pk);
        if (q >= 0 && h->peers[i].heard) {
            ph.hears[q / 8] |= (uint8_t)(1u << (q % 8));
        }
        if (memcmp(h->peers[i].id.sign_pk, mesh_me(g->mesh)->sign_pk, IDENTITY_KEY_BYTES) == 0) {
            ph.lists_us = 1;
            ph.hears_us = h->peers[i].heard;
        }
    }
    uint64_t mine = store_height(g->store);
    peers_actions_t acts;
    int fetching = store_chain(g->store) && !round_io_round(g->round)->have_model;
    peers_on_hello(mesh_peers(g->mesh), p, &ph, mine, fetching, now_mono_ms(), &acts);
    for (int i = 0; i < acts.n; i++) {
        if (acts.act[i].kind == PEERS_ACT_REDIAL) {
            log_info("peer %s does not hear us: re-dialling %s", h->me.id.name, h->me.endpoint);
            transport_reconnect(net, p);
        }
    }
    for (int i = 0; i < h->n_peers; i++) {
        const wire_peer_t *q = &h->peers[i];
        if (memcmp(q->id.sign_pk, mesh_me(g->mesh)->sign_pk, IDENTITY_KEY_BYTES) != 0 &&
            transport_find(net, q->id.sign_pk) < 0 && mesh_acceptable(g->mesh, &q->id)) {
            transport_allow(net, &q->id, &err);
            transport_peer(net, &q->id, q->endpoint);
        }
    }
    for (int i = 0; i < acts.n; i++) {
        if (acts.act[i].kind == PEERS_ACT_SYNC) {
            mesh_sync_request(g->mesh, p, acts.act[i].from);
        }
    }
    free(h);
}

static void s_handle_syncreq(const gossip_t *g, transport_msg_t *msg)
{
    transport_t *net = mesh_transport(g->mesh);
    if (!store_chain(g->store) || msg->n != 8) {
        return;
    }
    uint64_t from = 0;
    for (int i = 0; i < 8; i++) {
        from |= (uint64_t)msg->data[i] << (8 * i);
    }
    uint64_t start, end;
    int with_model;
    if (sync_serve(store_height(g->store), from, round_io_round(g->round)->have_model, &start,
                   &end, &with_model) < 0) {
        return;
    }
    if (mesh_barred(g->mesh, msg->peer)) {
        // a member removed by vote learns its removal: the blocks up to the
        // one that recorded it and its successor (whose commit certifies
        // it), no model, nothing later
        const ledger_member_t *mem = ledger_state_member(
            store_state(g->store), transport_peer_id(net, msg->peer)->sign_pk);
        uint64_t cap = mem && mem->removed ? mem->left_at + 2 : 0;
        end = end < cap ? end : cap;
        with_model = 0;
        if (start >= end) {
            return;
        }
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    size_t at;
    wire_sync_begin(&w, &at);
    for (uint64_t i = start; i < end; i++) {
        const uint8_t *rec;
        size_t n;
        if (chain_record(store_chain(g->store), i, &rec, &n) == 0) {
            wire_sync_add(&w, at, rec, n);
        }
    }
    wire_sync_end(&w, with_model ? store_global(g->store) : NULL,
                  with_model ? store_model_size(g->store) : 0);
    witness_io_t *wit = round_io_witness(g->round);
    const witness_cert_t *cert = wit && end == store_height(g->store) && end > start
                                     ? witness_io_head_cert(wit)
                                     : NULL;
    if (cert) {
        wire_sync_cert(&w, cert); // our head's witnesses (the others' are in their successors)
    }
    transport_send(net, msg->peer, WIRE_SYNCREP, w.data, w.len, 1);
    bytes_writer_reset(&w);
}

// In a majority-witnessed federation a synced block is appended only with
// its certificate: its successor's commit in the same reply, or for the
// sender's head the certificate after the records; checked against our
// ledger's members and made durable before the block.
static int s_witnessed_cert(const gossip_t *g, witness_io_t *wit, const wire_sync_t *s,
                            uint32_t i, const char *who)
{
    fs_err_t err = {0};
    const witness_cert_t *cert = NULL;
    block_t *next = NULL;
    sigmsg_t m;
    if (i + 1 < s->k) {
        next = xmalloc(sizeof *next);
        if (sigmsg_decode(s->rec[i + 1], s->len[i + 1], BLOCK_MAX_BYTES, &m, &err) == 0 &&
            block_decode(&m, next, &err) == 0 && next->has_commit) {
            cert = &next->commit;
        }
    } else if (s->has_cert) {
        cert = &s->cert;
    } else {
        // a reply that stops before the sender's head: this block's
        // certificate is its successor's commit, which the next reply brings
        log_debug("sync reply from %s: block %llu waits for its successor", who,
                  (unsigned long long)store_height(g->store));
        return FS_EPEER;
    }
    const ledger_state_t *st = store_state(g->store);
    uint8_t hash[HASH_BYTES];
    block_hash(s->rec[i], s->len[i], hash);
    int rc = cert ? ledger_state_check_next_cert(st, s->rec[i], s->len[i], cert, &err)
                  : fs_err_set(&err, FS_EVERIFY, "no certificate came with it");
    if (rc == 0) {
        rc = witness_io_keep_cert(wit, st->height, hash, cert, &err);
    }
    if (rc < 0) {
        log_warn("sync reply from %s: block %llu not taken: %s", who,
                 (unsigned long long)st->height, err.msg);
    }
    free(next);
    return rc;
}

static void s_handle_syncrep(const gossip_t *g, transport_msg_t *msg)
{
    wire_sync_t s;
    fs_err_t err = {0};
    const char *who = mesh_peer_name(g->mesh, msg->peer);
    if (wire_sync_decode(msg->data, msg->n, &s, &err) < 0) {
        log_warn("sync reply from %s refused: %s", who, err.msg);
        return;
    }
    uint32_t i = 0;
    if (!store_chain(g->store) && s.k > 0) {
        // The genesis: it must be the federation the configuration names.
        uint8_t fed[HASH_BYTES];
        genesis_t *gen = xmalloc(sizeof *gen);
        sigmsg_t m;
        int rc = genesis_decode(s.rec[0], s.len[0], gen, fed, &m, &err);
        free(gen);
        if (rc < 0 || memcmp(fed, store_fed_id(g->store), HASH_BYTES) != 0) {
            log_warn("sync reply from %s refused: %s", who,
                     rc < 0 ? err.msg : "its genesis is another federation's");
            return;
        }
        if (store_create(g->store, s.rec[0], s.len[0], &err) < 0 ||
            g->setup_ledger(g->node, &err) < 0) {
            log_error("cannot start the ledger: %s", err.msg);
            store_drop_chain(g->store);
            return;
        }
        log_info("fetched the genesis from %s; verifying the chain", who);
        i = 1;
    }
    if (!store_chain(g->store)) {
        return;
    }
    int appended = 0, complete = 1; // complete: up to the reply's last record
    for (; i < s.k; i++) {
        sigmsg_t m;
        if (sigmsg_decode(s.rec[i], s.len[i], BLOCK_MAX_BYTES, &m, &err) < 0) {
            log_warn("sync reply from %s: record %u: %s", who, i, err.msg);
            return;
        }
        uint64_t h = store_height(g->store);
        const uint8_t *ours = NULL;
        size_t ours_n = 0;
        int differs = m.round + 1 == h &&
                      chain_record(store_chain(g->store), h - 1, &ours, &ours_n) == 0 &&
                      (ours_n != s.len[i] || memcmp(ours, s.rec[i], ours_n) != 0);
        sync_record_t verdict = sync_judge_record(h, m.round, i + 1 < s.k, differs);
        witness_io_t *wit = round_io_witness(g->round);
        if (wit && verdict == SYNC_RECORD_REPLACE_HEAD) {
            // a final block is never replaced: two final blocks at one
            // height would take a majority that voted twice
            log_error("sync reply from %s: its block %llu differs from our final one (kept in "
                      "%s/evidence/): refused", who, (unsigned long long)m.round,
                      store_dir(g->store));
            store_keep_evidence(g->store, s.rec[i], s.len[i]);
            complete = 0;
            break; // what came before it is appended: the round moves on below
        }
        if (wit && verdict == SYNC_RECORD_APPEND &&
            s_witnessed_cert(g, wit, &s, i, who) < 0) {
            complete = 0;
            break;
        }
        if (verdict == SYNC_RECORD_REPLACE_HEAD) {
            // The peer's block for our head's index has a successor: its
            // chain is longer, and a block with a successor is final.
            uint8_t *keep = xmalloc(ours_n);
            memcpy(keep, ours, ours_n);
            if (store_replace_head(g->store, s.rec[i], s.len[i], &err) < 0) {
                log_warn("sync reply from %s: block %llu refused: %s", who,
                         (unsigned long long)m.round, err.msg);
                free(keep);
                return;
            }
            log_warn("fork at block %llu: %s's chain is longer; replaced our head (kept in "
                     "%s/evidence/)", (unsigned long long)m.round, who, store_dir(g->store));
            store_keep_evidence(g->store, keep, ours_n);
            free(keep);
            appended++;
            round_io_set_have_global(g->round, 0);
            continue;
        }
        if (verdict == SYNC_RECORD_SKIP) {
            continue;
        }
        if (store_append(g->store, s.rec[i], s.len[i], &err) < 0) {
            log_warn("sync reply from %s: block %llu refused: %s", who,
                     (unsigned long long)m.round, err.msg);
            sigmsg_t first;
            fs_err_t e2 = {0};
            uint64_t from;
            if (sigmsg_decode(s.rec[0], s.len[0], BLOCK_MAX_BYTES, &first, &e2) == 0 &&
                sync_retry_from(h, m.round, first.round, &from)) {
                mesh_sync_request(g->mesh, msg->peer, from); // maybe our head is the odd one
            }
            return;
        }
        appended++;
        round_io_set_have_global(g->round, 0);
        round_io_print(g->round, &store_state(g->store)->last);
    }
    if (complete && s.model && !round_io_round(g->round)->have_model) {
        float *w = store_model_check(g->store, s.model, s.count, store_state(g->store)->model_hash);
        if (w) {
            round_io_adopt_model(g->round, w);
        } else {
            log_warn("sync reply from %s: its model is not the head's", who);
        }
    }
    if (appended) {
        log_info("synced %d blocks from %s; height %llu", appended, who,
                 (unsigned long long)store_height(g->store));
        round_io_enter(g->round);
        mesh_hello(g->mesh, -1);
    }
}

// A valid block for the index of our head that is not our head: the fork
// rule (ledger/election.h: the lower attempt wins, then the lower hash)
// decides.  When it wins we replace our head (chain_replace_head verifies
// it on the blocks before) and adopt its model; either way the loser is
// kept as evidence and the winner is sent on, so every node converges.
static void s_competing_head(const gossip_t *g, const uint8_t *rec, size_t rec_len,
                             const uint8_t *model, size_t count, int from)
{
    transport_t *net = mesh_transport(g->mesh);
    const uint8_t *ours;
    size_t ours_n;
    uint8_t theirs_h[HASH_BYTES], ours_h[HASH_BYTES];
    if (chain_record(store_chain(g->store), store_height(g->store) - 1, &ours, &ours_n) < 0) {
        return;
    }
    block_hash(rec, rec_len, theirs_h);
    block_hash(ours, ours_n, ours_h);
    if (memcmp(theirs_h, ours_h, HASH_BYTES) == 0 || peers_seen(mesh_peers(g->mesh), theirs_h)) {
        return; // our own head again, or a loser already judged
    }
    fs_err_t err = {0};
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, &err);
    rc = rc ? rc : block_decode(&m, b, &err);
    const block_t *head = &store_state(g->store)->last;
    const char *who = from >= 0 ? mesh_peer_name(g->mesh, from) : "a sync reply";
    if (rc == 0 && sync_theirs_wins(head->attempt, ours_h, b->attempt, theirs_h)) {
        float *w = store_model_check(g->store, model, count, b->model_hash);
        uint8_t *keep = xmalloc(ours_n);
        memcpy(keep, ours, ours_n);
        if (!w) {
            log_warn("competing block %llu from %s wins the fork rule but came without its "
                     "model: kept ours", (unsigned long long)b->index, who);
        } else if ((rc = store_replace_head(g->store, rec, rec_len, &err)) < 0) {
            log_warn("competing block %llu from %s refused: %s", (unsigned long long)b->index,
                     who, err.msg);
        } else {
            log_warn("fork at block %llu: replaced our head (attempt %u) by %s's block (attempt "
                     "%u), which the fork rule prefers; ours kept in %s/evidence/",
                     (unsigned long long)b->index, head->attempt, who, b->attempt,
                     store_dir(g->store));
            store_keep_evidence(g->store, keep, ours_n);
            round_io_adopt_model(g->round, w);
            w = NULL;
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, rec, rec_len, store_global(g->store),
                              store_model_size(g->store));
            mesh_broadcast(g->mesh, WIRE_BLOCK, out.data, out.len, from, 1, 0);
            bytes_writer_reset(&out);
            round_io_enter(g->round);
        }
        free(keep);
        free(w);
    } else if (rc == 0) {
        log_warn("competing block %llu from %s loses the fork rule to ours (attempt %u vs %u): "
                 "kept ours and sent it back", (unsigned long long)b->index, who, b->attempt,
                 head->attempt);
        store_keep_evidence(g->store, rec, rec_len);
        if (from >= 0 && round_io_round(g->round)->have_model) {
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, ours, ours_n, store_global(g->store),
                              store_model_size(g->store));
            transport_send(net, from, WIRE_BLOCK, out.data, out.len, 1);
            bytes_writer_reset(&out);
        }
    }
    peers_seen(mesh_peers(g->mesh), theirs_h);
    free(b);
}

static void s_handle_block(const gossip_t *g, transport_msg_t *msg)
{
    if (round_io_witness(g->round)) {
        // blocks travel as proposals there, and final ones by sync
        log_debug("a block message from %s in a witnessed federation: dropped",
                  mesh_peer_name(g->mesh, msg->peer));
        return;
    }
    transport_t *net = mesh_transport(g->mesh);
    const uint8_t *rec, *model;
    size_t rec_len, count;
    fs_err_t err = {0};
    const char *who = mesh_peer_name(g->mesh, msg->peer);
    if (!store_chain(g->store)) {
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
    uint64_t h = store_height(g->store);
    sync_block_t verdict = sync_judge_block(h, m.round);
    if (verdict == SYNC_BLOCK_COMPETE) {
        s_competing_head(g, rec, rec_len, model, count, msg->peer);
        return;
    }
    if (verdict == SYNC_BLOCK_OLD) {
        const uint8_t *ours;
        size_t n;
        uint8_t a[HASH_BYTES], b[HASH_BYTES];
        block_hash(rec, rec_len, a);
        if (chain_record(store_chain(g->store), m.round, &ours, &n) == 0) {
            block_hash(ours, n, b);
            if (memcmp(a, b, HASH_BYTES) != 0 && !peers_seen(mesh_peers(g->mesh), a)) {
                log_warn("block %llu from %s differs from ours, which later blocks extend: "
                         "kept ours (a block with a successor is final; docs/federation.md)",
                         (unsigned long long)m.round, who);
            }
        }
        return;
    }
    if (verdict == SYNC_BLOCK_AHEAD) {
        if (peers_sync_due(mesh_peers(g->mesh), now_mono_ms())) {
            mesh_sync_request(g->mesh, msg->peer, h);
        }
        return;
    }
    uint8_t bh[HASH_BYTES];
    block_hash(rec, rec_len, bh);
    int64_t t0 = now_mono_ms();
    int arc = round_io_accept_block(g->round, rec, rec_len, model, count, &err);
    log_debug("block %llu checked and appended in %lld ms", (unsigned long long)m.round,
              (long long)(now_mono_ms() - t0));
    if (arc < 0) {
        log_warn("block %llu from %s refused: %s", (unsigned long long)m.round, who, err.msg);
        return;
    }
    peers_seen(mesh_peers(g->mesh), bh);
    peers_set_height(mesh_peers(g->mesh), msg->peer, h + 1);
    // Gossip on, except to peers that said they have it or that hear its
    // aggregator, who sent it to all it is connected to (in a full mesh
    // nobody relays; with gaps, relays fill them).
    int agg = transport_find(net, m.signer);
    for (size_t i = 0; i < transport_peer_count(net); i++) {
        if (transport_peer_connected(net, (int)i) &&
            peers_relay_to(mesh_peers(g->mesh), (int)i, msg->peer, agg, h)) {
            transport_send(net, (int)i, WIRE_BLOCK, msg->data, msg->n, 1);
        }
    }
    mesh_hello(g->mesh, -1);
}

static void s_handle_request(const gossip_t *g, transport_msg_t *msg, int type)
{
    sigmsg_t m;
    fs_err_t err = {0};
    if (!store_chain(g->store) ||
        sigmsg_decode(msg->data, msg->n, BLOCK_REQUEST_MAX, &m, &err) < 0 ||
        sigmsg_check_version(&m, &err) < 0 || m.type != type ||
        memcmp(m.fed_id, store_fed_id(g->store), HASH_BYTES) != 0 || sigmsg_verify(&m, &err) < 0) {
        log_warn("%s request refused: %s", wire_type_name(msg->type),
                 err.msg[0] ? err.msg : "wrong type or federation");
        return;
    }
    if (peers_seen(mesh_peers(g->mesh), m.digest)) {
        return;
    }
    char nb[9];
    int rc = members_on_request(g->mem, store_state(g->store), type, m.round, m.signer,
                                msg->data, msg->n);
    if (rc == 0) {
        return; // a join from a member, a leave from a non-member
    }
    log_info("%s from %s", type == SIGMSG_JOIN ? "join request" : "leave notice",
             store_name(g->store, m.signer, nb));
    if (rc < 0) {
        log_warn("%d requests already wait for a block; dropping one", MEMBERS_MAX_PENDING);
    }
    mesh_broadcast(g->mesh, msg->type, msg->data, msg->n, msg->peer, 0, 0);
}

// A peer's copy of a motion: its valid signatures of active members merge
// into ours (node/proto/members.h); what taught us something goes on.
static void s_handle_motion(const gossip_t *g, transport_msg_t *msg)
{
    if (!store_chain(g->store)) {
        return;
    }
    motion_t *m = xmalloc(sizeof *m);
    fs_err_t err = {0};
    if (wire_motion_decode(msg->data, msg->n, store_fed_id(g->store), m, &err) < 0) {
        log_warn("motion from %s refused: %s", mesh_peer_name(g->mesh, msg->peer), err.msg);
        free(m);
        return;
    }
    int rc = members_on_motion(g->mem, store_state(g->store), m);
    if (rc < 0) {
        log_warn("%d motions are under way already; dropping one to %s %s",
                 MEMBERS_MAX_MOTIONS, motion_action_name(m->action), m->candidate.name);
    } else if (rc > 0) {
        char id[MOTION_ID_CHARS];
        motion_id(store_fed_id(g->store), m, id);
        for (int i = 0; i < g->mem->n_motions; i++) {
            const motion_t *p = members_motion(g->mem, i);
            if (motion_same(p, m)) {
                log_info("motion %s to %s %s: %u signatures so far (from %s)", id,
                         motion_action_name(m->action), m->candidate.name, p->n,
                         mesh_peer_name(g->mesh, msg->peer));
                membership_send_motion(g->mesh, p, msg->peer);
            }
        }
    }
    free(m);
}

void gossip_handle(const gossip_t *g, transport_msg_t *msg)
{
    log_debug("received %s (%zu bytes) from %s", wire_type_name(msg->type), msg->n,
              msg->peer >= 0 ? mesh_peer_name(g->mesh, msg->peer) : "?");
    if (mesh_barred(g->mesh, msg->peer) && msg->type != WIRE_SYNCREQ) {
        return; // removed by the members' vote (mesh_allow_members said so once)
    }
    if (msg->type == WIRE_HELLO) {
        s_handle_hello(g, msg);
        return;
    }
    if (msg->peer < 0) {
        log_warn("a %s message from a connection that has not said hello: dropped",
                 wire_type_name(msg->type));
        return;
    }
    switch (msg->type) {
    case WIRE_BLOCK: s_handle_block(g, msg); break;
    case WIRE_UPDATE:
        if (store_chain(g->store)) {
            round_io_process_update(g->round, msg->data, msg->n, msg->peer);
            msg->data = NULL; // taken
        }
        break;
    case WIRE_JOIN: s_handle_request(g, msg, SIGMSG_JOIN); break;
    case WIRE_LEAVE: s_handle_request(g, msg, SIGMSG_LEAVE); break;
    case WIRE_MOTION: s_handle_motion(g, msg); break;
    case WIRE_SYNCREQ: s_handle_syncreq(g, msg); break;
    case WIRE_SYNCREP: s_handle_syncrep(g, msg); break;
    case WIRE_PROPOSE:
    case WIRE_VOTE:
    case WIRE_PROMISE:
        if (store_chain(g->store)) {
            round_io_witness_message(g->round, msg->type, msg->data, msg->n, msg->peer);
        }
        break;
    default:
        log_warn("unknown message type %d from %s: dropped", msg->type,
                 mesh_peer_name(g->mesh, msg->peer));
    }
}
