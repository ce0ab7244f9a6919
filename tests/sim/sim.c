/* sim.c - the simulated federation: clock, network, faults and the nodes'
 * shell around the protocol core (sim.h). */
#include "tests/sim/sim.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/sigmsg.h"
#include "ledger/assemble.h"
#include "ledger/block.h"
#include "node/base/bytes.h"
#include "node/base/mem.h"
#include "node/fed/fedavg.h"
#include "node/proto/sync.h"
#include "tests/support/seeded_random.h"

// The genesis's timing: short windows so that failover happens often.
#define SIM_TIMEOUT_MS 1000
#define SIM_EXTRA_MS 200
#define SIM_INACTIVE_AFTER 3
#define SIM_SYNC_MAX SYNC_MAX_RECORDS
#define SIM_GENESIS_TIME 1700000000000ull
#define SIM_QUIET_MS 12000        // faults stopped: rounds go on at least this long
#define SIM_STALL_MS 3000         // ... and longer while no block came for this long

enum { M_HELLO = 1, M_BLOCK, M_UPDATE, M_SYNCREQ, M_SYNCREP, M_JOIN, M_LEAVE, M_PROPOSE,
       M_VOTE, M_PROMISE, M_MOTION };
enum { EV_DELIVER = 1, EV_TICK, EV_TRAINED, EV_FAULT, EV_HEAL, EV_RESTART, EV_QUIET, EV_FREEZE,
       EV_END };

struct sim_event {
    int64_t t;
    uint64_t seq;
    int kind;
    int from, to;
    int type;
    uint32_t epoch;
    uint64_t arg;
    uint8_t *data;
    size_t n;
};

static const char *s_fault_names[] = {"partition", "crash", "torn-write", "loss", "duplicate",
                                      "reorder", "join", "leave", "model-lag", "crash-all"};
static const char *s_inv_names[] = {"one-final-block-per-height", "only-sent-updates",
                                    "round-closes-within-bound", "ledgers-converge"};

const char *sim_fault_name(int kind)
{
    return kind >= 0 && kind < FAULT_KIND_COUNT ? s_fault_names[kind] : "?";
}

const char *sim_inv_name(int inv)
{
    return inv >= 0 && inv < INV_COUNT ? s_inv_names[inv] : "?";
}

// ---------------------------------------------------------------- the queue

static int s_before(const sim_event_t *a, const sim_event_t *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static sim_event_t *s_push(sim_t *s, int64_t t, int kind)
{
    sim_event_t *e = xcalloc(1, sizeof *e);
    e->t = t;
    e->seq = s->seq++;
    e->kind = kind;
    if (s->heap_n == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 256;
        s->heap = xrealloc(s->heap, s->heap_cap * sizeof *s->heap);
    }
    size_t i = s->heap_n++;
    while (i > 0 && s_before(e, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
    return e;
}

static sim_event_t *s_pop(sim_t *s)
{
    if (s->heap_n == 0) {
        return NULL;
    }
    sim_event_t *top = s->heap[0], *last = s->heap[--s->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_n) {
            break;
        }
        if (c + 1 < s->heap_n && s_before(s->heap[c + 1], s->heap[c])) {
            c++;
        }
        if (!s_before(s->heap[c], last)) {
            break;
        }
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_n) {
        s->heap[i] = last;
    }
    return top;
}

static void s_trace(sim_t *s, uint64_t v)
{
    s->trace = (s->trace ^ v) * 0x100000001b3ull;
}

static void s_log(const sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_log(const sim_t *s, const char *fmt, ...)
{
    if (!s->verbose) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%8.3f ", (double)s->now / 1000.0);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

// -------------------------------------------------------------- the network

static int s_linked(const sim_t *s, int a, int b)
{
    return s->side[a] == s->side[b];
}

// Queues a copy of data from `from` to `to`: lost, delayed, reordered or
// duplicated as the network is now.
static void s_send(sim_t *s, int from, int to, int type, const uint8_t *data, size_t n)
{
    if (from == to || !s->node[to].started || s->node[to].left || !s_linked(s, from, to)) {
        return;
    }
    if (s->loss > 0 && rng_uniform(&s->rng) < s->loss) {
        return;
    }
    int copies = s->dup > 0 && rng_uniform(&s->rng) < s->dup ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        int64_t base = s->link_ms[from][to];
        int64_t d = base + (int64_t)rng_below(&s->rng, 1 + (uint64_t)base);
        if (s->reorder > 0 && rng_uniform(&s->rng) < s->reorder) {
            d += (int64_t)rng_below(&s->rng, 400);
        }
        sim_event_t *e = s_push(s, s->now + d, EV_DELIVER);
        e->from = from;
        e->to = to;
        e->type = type;
        e->data = xmalloc(n ? n : 1);
        memcpy(e->data, data, n);
        e->n = n;
        s->msgs++;
    }
}

static void s_broadcast(sim_t *s, int from, int except, int type, const uint8_t *data, size_t n)
{
    for (int i = 0; i < s->n; i++) {
        if (i != except) {
            s_send(s, from, i, type, data, n);
        }
    }
}

// ------------------------------------------------------------ node helpers

static int s_index_of(const sim_t *s, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < s->n; i++) {
        if (memcmp(s->node[i].pub->sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return i;
        }
    }
    return -1;
}

static int s_is_active(const sim_node_t *nd, const uint8_t key[IDENTITY_KEY_BYTES])
{
    return members_is_active(nd->st, key);
}

static int s_seen(sim_node_t *nd, const uint8_t digest[HASH_BYTES])
{
    return peers_seen(nd->peers, digest);
}

static void s_round_event(sim_t *s, sim_node_t *nd, round_event_t *e)
{
    round_actions_t none;
    round_on_event(&nd->rs, e, s->now, &none);
}

static void s_set_model(sim_t *s, sim_node_t *nd, int have)
{
    round_event_t e = {.kind = ROUND_EV_MODEL, .flag = have};
    s_round_event(s, nd, &e);
}

// The initial model every member builds for itself (the genesis pins it).
static void s_initial_model(const sim_t *s, float w[SIM_MODEL_N])
{
    for (int k = 0; k < SIM_MODEL_N; k++) {
        w[k] = (float)((s->seed >> (8 * k)) & 0xff) / 256.0f;
    }
}

// The node's store_make_durable: the model of a block, durable before the
// block is appended (and when a model arrives for a head appended without).
static void s_make_durable(sim_node_t *nd, const float *w)
{
    uint8_t h[HASH_BYTES];
    hash_model(w, SIM_MODEL_N, h);
    for (int k = 0; k < SIM_DURABLE; k++) {
        if (memcmp(nd->durable_hash[k], h, HASH_BYTES) == 0) {
            return;
        }
    }
    memcpy(nd->durable[nd->durable_next], w, sizeof nd->durable[0]);
    memcpy(nd->durable_hash[nd->durable_next], h, HASH_BYTES);
    nd->durable_next = (nd->durable_next + 1) % SIM_DURABLE;
}

// The durable certificate of block `hash` (the head's, or the one before
// it), or NULL.
static const witness_cert_t *s_cert_of(const sim_node_t *nd, const uint8_t hash[HASH_BYTES])
{
    for (int k = 0; k < 2; k++) {
        if (nd->cert_have[k] && memcmp(nd->cert_hash[k], hash, HASH_BYTES) == 0) {
            return &nd->cert[k];
        }
    }
    return NULL;
}

// Makes a block's certificate durable (before the block: chain_append's
// order in the node), replacing the older of the two kept.
static void s_keep_cert(sim_node_t *nd, const uint8_t hash[HASH_BYTES], const witness_cert_t *c)
{
    if (s_cert_of(nd, hash)) {
        return;
    }
    int k = nd->cert_next;
    nd->cert[k] = *c;
    memcpy(nd->cert_hash[k], hash, HASH_BYTES);
    nd->cert_have[k] = 1;
    nd->cert_next = 1 - k;
}

// The durable model with this hash (models/HASH.fsm), copied into w.
static int s_durable_model(const sim_node_t *nd, const uint8_t hash[HASH_BYTES], float *w)
{
    for (int k = 0; k < SIM_DURABLE; k++) {
        if (memcmp(nd->durable_hash[k], hash, HASH_BYTES) == 0) {
            memcpy(w, nd->durable[k], sizeof nd->durable[k]);
            return 1;
        }
    }
    return 0;
}

// The model hash a block record names (0 when it does not decode).
static int s_rec_model_hash(const uint8_t *rec, size_t n, uint8_t out[HASH_BYTES])
{
    return block_record_model_hash(rec, n, out, NULL) == 0;
}

static void s_adopt(sim_t *s, sim_node_t *nd, const float *w)
{
    s_make_durable(nd, w);
    memcpy(nd->global, w, sizeof nd->global);
    s_set_model(s, nd, 1);
    // global.fsm: written by a writer thread in the node at most twice a
    // second, so it can fall behind the head (a crash then leaves an older
    // file); the model-lag fault makes it skip whole blocks besides.
    nd->save_pending = 1;
    if (nd->lag_saves > 0) {
        nd->lag_saves--;
        nd->save_pending = 0;
    }
}

// The writer thread's turn: the head's model goes to global.fsm.
static void s_save_model(sim_t *s, sim_node_t *nd)
{
    if (nd->save_pending && s->now - nd->last_save >= SIM_SAVE_MS) {
        memcpy(nd->saved, nd->global, sizeof nd->saved);
        hash_model(nd->saved, SIM_MODEL_N, nd->saved_hash);
        nd->save_pending = 0;
        nd->last_save = s->now;
    }
}

static void s_process_update(sim_t *s, int i, uint8_t *buf, size_t n);

static void s_fin_enter(sim_t *s, int i, uint32_t attempt);

static void s_enter_round(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    round_begin(&nd->rs, nd->st, s->now); // also the members' keyring, the replay set
    members_on_block(&nd->mem, nd->st);
    if (s->witnessed) {
        finality_begin(nd->fin, nd->st);
        finality_restore(nd->fin, &nd->acc, nd->acc_rec, nd->acc_rec_n); // this height's only
        // resume at the attempt it promised before it stopped (witness_io_enter)
        fin_status_t fs;
        finality_status(nd->fin, &fs);
        while (fs.promised > nd->rs.attempt && round_jump(&nd->rs, fs.promised, s->now)) {
        }
        s_fin_enter(s, i, nd->rs.attempt);
        if (!nd->up) {
            return;
        }
    }
    uint8_t *early[ROUND_MAX_EARLY];
    size_t early_n[ROUND_MAX_EARLY];
    int n_early = round_take_early(&nd->rs, early, early_n);
    for (int k = 0; k < n_early; k++) {
        s_process_update(s, i, early[k], early_n[k]); // takes it
    }
}

static void s_crash(sim_t *s, int i);

// chain_append: verify, then write durably.  Returns 0, a negative FS_*
// code when the block is refused, or 1 when a torn write crashed the node.
static int s_append(sim_t *s, int i, const uint8_t *rec, size_t n)
{
    sim_node_t *nd = &s->node[i];
    fs_err_t err = {0};
    int rc = ledger_state_apply(nd->st, rec, n, &err);
    if (rc < 0) {
        s_log(s, "n%d: block refused: %s", i, err.msg);
        return rc;
    }
    if (nd->torn_armed) {
        // The crash comes in the middle of this write: the record is a torn
        // tail that chain_open cuts, and nothing after it was sent.
        s_log(s, "n%d: crash while appending block %zu (torn write)", i, nd->n_recs);
        nd->torn_armed = 0;
        s->faults[FAULT_TORN]++;
        s_crash(s, i);
        return 1;
    }
    if (nd->n_recs == SIM_MAX_RECS) {
        inv_fail(s, INV_LIVENESS, "n%d: ledger longer than the simulator's %d records", i,
                 SIM_MAX_RECS);
        return FS_ETOOBIG;
    }
    if (nd->n_recs > s->motions_height) { // each height's motions counted once
        s->motions_height = nd->n_recs;
        s->motions_recorded += nd->st->last.n_motions;
    }
    nd->recs[nd->n_recs] = xmalloc(n);
    memcpy(nd->recs[nd->n_recs], rec, n);
    nd->lens[nd->n_recs] = n;
    block_hash(rec, n, nd->hashes[nd->n_recs]);
    nd->n_recs++;
    s_trace(s, (uint64_t)i << 32 | nd->n_recs);
    return 0;
}

// Rebuilds the state from the durable records [0, k) (signatures were
// checked when they were appended: chain_open checks them again in the
// node, here the other checks run).
static void s_rebuild(sim_node_t *nd, size_t k)
{
    ledger_state_destroy(&nd->st);
    nd->st = ledger_state_new();
    fs_err_t err = {0};
    if (ledger_state_start(nd->st, nd->recs[0], nd->lens[0], &err) < 0) {
        abort();
    }
    for (size_t r = 1; r < k; r++) {
        if (ledger_state_apply_presigned(nd->st, nd->recs[r], nd->lens[r], &err) < 0) {
            fprintf(stderr, "sim: a durable record does not apply again: %s\n", err.msg);
            abort();
        }
    }
}

// chain_replace_head: rec must be valid on the blocks before the head.
static int s_replace_head(sim_t *s, int i, const uint8_t *rec, size_t n)
{
    sim_node_t *nd = &s->node[i];
    size_t h = nd->n_recs;
    s_rebuild(nd, h - 1);
    fs_err_t err = {0};
    if (ledger_state_apply(nd->st, rec, n, &err) < 0) {
        s_rebuild(nd, h);
        s_log(s, "n%d: head replacement refused: %s", i, err.msg);
        return -1;
    }
    free(nd->recs[h - 1]);
    nd->recs[h - 1] = xmalloc(n);
    memcpy(nd->recs[h - 1], rec, n);
    nd->lens[h - 1] = n;
    block_hash(rec, n, nd->hashes[h - 1]);
    if (nd->final_checked > h - 1) {
        nd->final_checked = h - 1;
    }
    s_trace(s, 0xfeedull << 32 | h);
    return 0;
}

static int s_model_ok(const uint8_t *model, size_t count, const uint8_t want[HASH_BYTES], float *w)
{
    if (!model || count != SIM_MODEL_N) {
        return 0;
    }
    memcpy(w, model, SIM_MODEL_N * sizeof(float));
    uint8_t h[HASH_BYTES];
    hash_model(w, SIM_MODEL_N, h);
    return memcmp(h, want, HASH_BYTES) == 0;
}

static void s_block_msg(bytes_writer_t *w, const uint8_t *rec, size_t n, const float *model)
{
    bytes_writer_init(w);
    bytes_put_u32(w, (uint32_t)n);
    bytes_put(w, rec, n);
    bytes_put(w, model, SIM_MODEL_N * sizeof(float));
}

static void s_hello(sim_t *s, int i)
{
    uint8_t b[8];
    uint64_t h = s->node[i].n_recs;
    for (int k = 0; k < 8; k++) {
        b[k] = (uint8_t)(h >> (8 * k));
    }
    s_broadcast(s, i, -1, M_HELLO, b, 8);
}

static void s_sync_request(sim_t *s, int i, int peer, uint64_t from)
{
    uint8_t b[8];
    for (int k = 0; k < 8; k++) {
        b[k] = (uint8_t)(from >> (8 * k));
    }
    s_send(s, i, peer, M_SYNCREQ, b, 8);
    peers_sync_sent(s->node[i].peers, s->now);
}

static void s_perform_peers(sim_t *s, int i, const peers_actions_t *acts)
{
    for (int k = 0; k < acts->n; k++) {
        if (acts->act[k].kind == PEERS_ACT_HELLO) {
            s_hello(s, i);
        } else if (acts->act[k].kind == PEERS_ACT_SYNC) {
            s_sync_request(s, i, acts->act[k].peer, acts->act[k].from);
        }
    }
}

static void s_send_motion(sim_t *s, int i, int except, const motion_t *m)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    motion_encode(&w, m);
    s_broadcast(s, i, except, M_MOTION, w.data, w.len);
    bytes_writer_reset(&w);
}

static void s_perform_members(sim_t *s, int i, const members_actions_t *acts)
{
    for (int k = 0; k < acts->n; k++) {
        const members_action_t *a = &acts->act[k];
        if (a->kind == MEMBERS_ACT_SEND_JOIN || a->kind == MEMBERS_ACT_SEND_LEAVE) {
            s_broadcast(s, i, -1, a->kind == MEMBERS_ACT_SEND_JOIN ? M_JOIN : M_LEAVE, a->bytes,
                        a->n);
        } else if (a->kind == MEMBERS_ACT_SEND_MOTIONS) {
            for (int m = 0; m < s->node[i].mem.n_motions; m++) {
                s_send_motion(s, i, -1, members_motion(&s->node[i].mem, m));
            }
        } else if (a->kind == MEMBERS_ACT_REMOVED) {
            s_log(s, "n%d: removed by the members' vote in block %llu", i,
                  (unsigned long long)a->height);
        }
    }
}

static uint64_t s_u64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) {
        v |= (uint64_t)b[k] << (8 * k);
    }
    return v;
}

// --------------------------------------------------------- the round's I/O

static void s_record_sent(sim_t *s, const uint8_t key[IDENTITY_KEY_BYTES], uint64_t round,
                          const uint8_t digest[HASH_BYTES])
{
    if (s->n_sent == s->cap_sent) {
        s->cap_sent = s->cap_sent ? 2 * s->cap_sent : 1024;
        s->sent = xrealloc(s->sent, s->cap_sent * sizeof *s->sent);
    }
    uint8_t *e = s->sent[s->n_sent++];
    memcpy(e, digest, HASH_BYTES);
    memcpy(e + HASH_BYTES, key, IDENTITY_KEY_BYTES);
    for (int k = 0; k < 8; k++) {
        e[HASH_BYTES + IDENTITY_KEY_BYTES + k] = (uint8_t)(round >> (8 * k));
    }
}

static void s_send_update(sim_t *s, int i, const round_action_t *a)
{
    sim_node_t *nd = &s->node[i];
    if (memcmp(a->peer, nd->pub->sign_pk, IDENTITY_KEY_BYTES) == 0) {
        // counted by the round: the block must name the hash of the update
        // this node trained (computed here, not taken from the round)
        uint8_t h[HASH_BYTES];
        hash_model(nd->update, SIM_MODEL_N, h);
        s_record_sent(s, nd->pub->sign_pk, a->round, h);
        return;
    }
    const identity_pub_t *agg = round_member(&nd->rs, a->peer);
    int to = s_index_of(s, a->peer);
    if (!agg || to < 0) {
        return;
    }
    envelope_t hdr = {0};
    memcpy(hdr.fed_id, s->fed_id, HASH_BYTES);
    hdr.round = a->round;
    memcpy(hdr.base_hash, nd->st->model_hash, HASH_BYTES);
    hdr.samples = 100 + 10 * (uint64_t)i;
    hdr.mechanism = NOISE_NONE;
    bytes_writer_t w;
    bytes_writer_init(&w);
    if (envelope_seal(&w, &hdr, nd->id, agg, nd->update, SIM_MODEL_N, NULL) < 0) {
        abort();
    }
    sigmsg_t m;
    if (sigmsg_parse(w.data, w.len, ENVELOPE_MAX_BYTES, &m, NULL) < 0) {
        abort();
    }
    sigmsg_compute_digest(w.data, &m);
    s_record_sent(s, nd->pub->sign_pk, a->round, m.digest);
    s_send(s, i, to, M_UPDATE, w.data, w.len);
    bytes_writer_reset(&w);
}

static int s_fin_close(sim_t *s, int i);
static void s_fin_propose(sim_t *s, int i, const uint8_t *rec, size_t n, const float *model);

static void s_close(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    if (s->witnessed && !s_fin_close(s, i)) {
        return; // nothing of its own to propose in this attempt (yet)
    }
    const ledger_state_t *st = nd->st;
    const round_contrib_t *got = nd->rs.got;
    int n_got = nd->rs.n_got;
    assemble_contrib_t ac[LEDGER_MAX_MEMBERS];
    const float *ws[LEDGER_MAX_MEMBERS] = {0};
    uint64_t samples[LEDGER_MAX_MEMBERS] = {0};
    for (int k = 0; k < n_got; k++) {
        memcpy(ac[k].key, got[k].key, IDENTITY_KEY_BYTES);
        memcpy(ac[k].envelope, got[k].digest, HASH_BYTES);
        ac[k].samples = got[k].samples;
        ws[k] = got[k].w;
        samples[k] = got[k].samples;
    }
    float next[SIM_MODEL_N];
    // plain FedAvg: the simulator's genesis sets no server step
    if (fedavg_aggregate(next, ws, samples, (size_t)n_got, SIM_MODEL_N, NULL, 1.0, NOISE_NONE, 0,
                         NULL) < 0) {
        return;
    }
    uint8_t mh[HASH_BYTES];
    hash_model(next, SIM_MODEL_N, mh);
    uint8_t counted[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    for (int k = 0; k < n_got; k++) {
        memcpy(counted[k], got[k].key, IDENTITY_KEY_BYTES);
    }
    members_changes_t mc;
    members_changes(&nd->mem, st, (const uint8_t(*)[IDENTITY_KEY_BYTES])counted, (size_t)n_got,
                    &mc);
    block_t *b = xmalloc(sizeof *b);
    fs_err_t err = {0};
    int rc = assemble_block(st, nd->rs.attempt, SIM_GENESIS_TIME + (uint64_t)s->now, ac,
                            (size_t)n_got, mc.join_reqs, mc.join_lens, mc.n_join,
                            (const uint8_t(*)[IDENTITY_KEY_BYTES])mc.leave_keys, mc.leave_reqs,
                            mc.leave_lens, mc.n_leave, mh, b, &err);
    for (size_t k = 0; rc == 0 && b->has_motions && k < mc.n_motions; k++) {
        b->motions[b->n_motions++] = *mc.motions[k]; // signed by a majority
    }
    if (rc < 0) {
        s_log(s, "n%d: cannot assemble: %s", i, err.msg);
        free(b);
        return;
    }
    if (s->witnessed && nd->st->height >= 2) {
        const witness_cert_t *c = s_cert_of(nd, nd->st->head_hash);
        if (!c) {
            s_log(s, "n%d: no certificate of its head: cannot propose", i);
            free(b);
            return;
        }
        b->commit = *c;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    block_encode(&w, b, s->fed_id, nd->id);
    free(b);
    s_make_durable(nd, next);
    if (s->witnessed) {
        s->blocks_made++;
        s_log(s, "n%d: proposes round %llu (attempt %u, %d updates)", i,
              (unsigned long long)nd->rs.round, nd->rs.attempt, n_got);
        s_fin_propose(s, i, w.data, w.len, next);
        bytes_writer_reset(&w);
        return;
    }
    rc = s_append(s, i, w.data, w.len);
    if (rc == 0) {
        s->blocks_made++;
        inv_block_appended(s, i, &nd->st->last);
        s_log(s, "n%d: closed round %llu (attempt %u, %d updates, %s)", i,
              (unsigned long long)nd->rs.round, nd->rs.attempt, n_got,
              close_reason_name(nd->st->last.close_reason));
        s_adopt(s, nd, next);
        bytes_writer_t msg;
        s_block_msg(&msg, w.data, w.len, nd->global);
        s_broadcast(s, i, -1, M_BLOCK, msg.data, msg.len);
        bytes_writer_reset(&msg);
        s_seen(nd, nd->hashes[nd->n_recs - 1]);
        s_enter_round(s, i);
    }
    bytes_writer_reset(&w);
}

static void s_perform(sim_t *s, int i, const round_action_t *a)
{
    sim_node_t *nd = &s->node[i];
    switch (a->kind) {
    case ROUND_ACT_TRAIN: {
        nd->train_round = a->round;
        sim_event_t *e = s_push(s, s->now + 5 + (int64_t)rng_below(&s->rng, 200), EV_TRAINED);
        e->to = i;
        e->epoch = nd->epoch;
        e->arg = a->round;
        break;
    }
    case ROUND_ACT_SEND_UPDATE: s_send_update(s, i, a); break;
    case ROUND_ACT_CLOSE: s_close(s, i); break;
    case ROUND_ACT_NEXT_ATTEMPT:
        s->attempts_failed++;
        s_log(s, "n%d: round %llu attempt %u", i, (unsigned long long)a->round, a->attempt);
        if (s->witnessed) {
            s_fin_enter(s, i, a->attempt);
        }
        break;
    default: break;
    }
}

static void s_trained(sim_t *s, int i, uint64_t round)
{
    sim_node_t *nd = &s->node[i];
    // the stand-in trainer: the global model plus a member-specific step
    for (int k = 0; k < SIM_MODEL_N; k++) {
        nd->update[k] = nd->global[k] + 0.001f * (float)((i + 1) * (k + 1)) -
                        0.0005f * (float)(round % 7);
    }
    round_event_t e = {.kind = ROUND_EV_TRAINED, .round = round, .update = nd->update,
                       .n = SIM_MODEL_N, .samples = 100 + 10 * (uint64_t)i};
    e.flag = round == nd->rs.round && nd->rs.have_model;
    s_round_event(s, nd, &e);
}

// ------------------------------------------------------------ the messages

static void s_process_update(sim_t *s, int i, uint8_t *buf, size_t n)
{
    sim_node_t *nd = &s->node[i];
    sigmsg_t m;
    if (sigmsg_parse(buf, n, ENVELOPE_MAX_BYTES, &m, NULL) < 0 || m.type != SIGMSG_UPDATE ||
        m.body_len < IDENTITY_KEY_BYTES ||
        memcmp(m.body, nd->pub->sign_pk, IDENTITY_KEY_BYTES) != 0) {
        free(buf);
        return;
    }
    if (round_keep_early(&nd->rs, m.round, buf, n)) {
        return;
    }
    envelope_expect_t ex = {s->fed_id, nd->rs.round, nd->id, nd->rs.members, SIM_MODEL_N,
                            ENVELOPE_MAX_BYTES};
    envelope_t hdr;
    float *w = NULL;
    fs_err_t err = {0};
    int rc = envelope_open(buf, n, &ex, NULL, &hdr, &w, &err);
    free(buf);
    if (rc == 0) {
        round_event_t e = {.kind = ROUND_EV_UPDATE, .round = hdr.round, .w = w,
                           .samples = hdr.samples};
        memcpy(e.key, hdr.sender, IDENTITY_KEY_BYTES);
        memcpy(e.digest, hdr.digest, HASH_BYTES);
        memcpy(e.base, hdr.base_hash, HASH_BYTES);
        round_actions_t none;
        rc = round_on_event(&nd->rs, &e, s->now, &none);
        if (rc == 0) {
            w = NULL;
        }
    }
    free(w);
}

static void s_competing_head(sim_t *s, int i, const uint8_t *rec, size_t n, const uint8_t *model,
                             size_t count, int from)
{
    sim_node_t *nd = &s->node[i];
    size_t h = nd->n_recs;
    uint8_t theirs[HASH_BYTES];
    block_hash(rec, n, theirs);
    if (memcmp(theirs, nd->hashes[h - 1], HASH_BYTES) == 0 || s_seen(nd, theirs)) {
        return;
    }
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    int rc = sigmsg_decode(rec, n, BLOCK_MAX_BYTES, &m, NULL);
    rc = rc ? rc : block_decode(&m, b, NULL);
    const block_t *head = &nd->st->last;
    if (rc == 0 && sync_theirs_wins(head->attempt, nd->hashes[h - 1], b->attempt, theirs)) {
        float w[SIM_MODEL_N];
        if (s_model_ok(model, count, b->model_hash, w) && (s_make_durable(nd, w), 1) &&
            s_replace_head(s, i, rec, n) == 0) {
            s_log(s, "n%d: fork at %zu: replaced our head by n%d's block", i, h - 1, from);
            s_adopt(s, nd, w);
            bytes_writer_t out;
            s_block_msg(&out, rec, n, nd->global);
            s_broadcast(s, i, from, M_BLOCK, out.data, out.len);
            bytes_writer_reset(&out);
            s_enter_round(s, i);
        }
    } else if (rc == 0 && nd->rs.have_model) {
        bytes_writer_t out;
        s_block_msg(&out, nd->recs[h - 1], nd->lens[h - 1], nd->global);
        s_send(s, i, from, M_BLOCK, out.data, out.len);
        bytes_writer_reset(&out);
    }
    free(b);
}

static void s_handle_block(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    if (n < 4) {
        return;
    }
    size_t rec_len = bytes_load_u32(data);
    if (rec_len > n - 4) {
        return;
    }
    const uint8_t *rec = data + 4, *model = data + 4 + rec_len;
    size_t count = (n - 4 - rec_len) / sizeof(float);
    sigmsg_t m;
    if (sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, NULL) < 0) {
        return;
    }
    uint64_t h = nd->n_recs;
    sync_block_t verdict = sync_judge_block(h, m.round);
    if (verdict == SYNC_BLOCK_COMPETE) {
        s_competing_head(s, i, rec, rec_len, model, count, from);
        return;
    }
    if (verdict == SYNC_BLOCK_OLD) {
        return;
    }
    if (verdict == SYNC_BLOCK_AHEAD) {
        if (peers_sync_due(nd->peers, s->now)) {
            s_sync_request(s, i, from, h);
        }
        return;
    }
    block_t *b = xmalloc(sizeof *b);
    float w[SIM_MODEL_N];
    int ok = block_decode(&m, b, NULL) == 0 && s_model_ok(model, count, b->model_hash, w);
    free(b);
    if (ok) {
        s_make_durable(nd, w);
    }
    if (!ok || s_append(s, i, rec, rec_len) != 0) {
        return; // refused, or the node crashed on a torn write
    }
    s_adopt(s, nd, w);
    s_seen(nd, nd->hashes[h]);
    peers_set_height(nd->peers, from, h + 1);
    int agg = s_index_of(s, m.signer);
    for (int k = 0; k < s->n; k++) {
        if (k != i && peers_relay_to(nd->peers, k, from, agg, h)) {
            s_send(s, i, k, M_BLOCK, data, n);
        }
    }
    s_enter_round(s, i);
    s_hello(s, i);
}

static void s_handle_syncreq(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    if (n != 8) {
        return;
    }
    uint64_t start, end;
    int with_model;
    if (sync_serve(nd->n_recs, s_u64(data), nd->rs.have_model, &start, &end, &with_model) < 0) {
        return;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put_u32(&w, (uint32_t)(end - start));
    for (uint64_t r = start; r < end; r++) {
        bytes_put_u32(&w, (uint32_t)nd->lens[r]);
        bytes_put(&w, nd->recs[r], nd->lens[r]);
    }
    bytes_put_u8(&w, (uint8_t)with_model);
    if (with_model) {
        bytes_put(&w, nd->global, sizeof nd->global);
    }
    if (s->witnessed) {
        // the last record's certificate when it is our head (the others'
        // are in their successors)
        const witness_cert_t *c = end > start && end == nd->n_recs
                                      ? s_cert_of(nd, nd->hashes[end - 1])
                                      : NULL;
        bytes_put_u8(&w, c != NULL);
        if (c) {
            witness_cert_encode(&w, c);
        }
    }
    s_send(s, i, from, M_SYNCREP, w.data, w.len);
    bytes_writer_reset(&w);
}

// After a sync reply's records: the head's model when it came with them
// (it is checked against the head), and the next round when blocks came.
static void s_sync_done(sim_t *s, int i, const uint8_t *model, int appended)
{
    sim_node_t *nd = &s->node[i];
    if (model && !nd->rs.have_model) {
        float w[SIM_MODEL_N];
        if (s_model_ok(model, SIM_MODEL_N, nd->st->model_hash, w)) {
            s_adopt(s, nd, w);
        }
    }
    if (appended) {
        s_enter_round(s, i);
        if (nd->up) {
            s_hello(s, i);
        }
    }
}

// A sync reply in a majority-witnessed federation: each record is
// appended only with its certificate (its successor's commit, or for the
// peer's head the certificate beside the records), checked against our
// ledger; a different block at a height we hold is never taken (a final
// block is never replaced).
static void s_fin_syncrep(sim_t *s, int i, const uint8_t *const *rec, const size_t *len,
                          uint32_t k, const witness_cert_t *head_cert, const uint8_t *model,
                          int from)
{
    sim_node_t *nd = &s->node[i];
    int appended = 0;
    block_t *next = xmalloc(sizeof *next);
    for (uint32_t j = 0; j < k; j++) {
        sigmsg_t m;
        if (sigmsg_decode(rec[j], len[j], BLOCK_MAX_BYTES, &m, NULL) < 0) {
            break;
        }
        uint64_t h = nd->n_recs;
        if (m.round < h) {
            uint8_t theirs[HASH_BYTES];
            block_hash(rec[j], len[j], theirs);
            if (memcmp(theirs, nd->hashes[m.round], HASH_BYTES) != 0) {
                s_log(s, "n%d: n%d's block %llu differs from our final one: refused", i, from,
                      (unsigned long long)m.round);
                break;
            }
            continue;
        }
        if (m.round > h) {
            break;
        }
        const witness_cert_t *cert = NULL;
        sigmsg_t nm;
        if (j + 1 < k) {
            if (sigmsg_decode(rec[j + 1], len[j + 1], BLOCK_MAX_BYTES, &nm, NULL) < 0 ||
                block_decode(&nm, next, NULL) < 0 || !next->has_commit) {
                break;
            }
            cert = &next->commit;
        } else {
            cert = head_cert;
        }
        uint8_t hash[HASH_BYTES];
        block_hash(rec[j], len[j], hash);
        fs_err_t err = {0};
        if (!cert || ledger_state_check_next_cert(nd->st, rec[j], len[j], cert, &err) < 0) {
            if (cert) {
                s_log(s, "n%d: n%d's block %llu: %s", i, from, (unsigned long long)h, err.msg);
            }
            break;
        }
        s_keep_cert(nd, hash, cert);
        int rc = s_append(s, i, rec[j], len[j]);
        if (rc != 0) {
            free(next);
            return; // refused, or crashed on a torn write
        }
        appended++;
        s_set_model(s, nd, 0);
    }
    free(next);
    s_sync_done(s, i, model, appended);
}

static void s_handle_syncrep(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    bytes_reader_t r;
    bytes_reader_init(&r, data, n);
    uint32_t k = bytes_get_u32(&r);
    const uint8_t *rec[SIM_SYNC_MAX];
    size_t len[SIM_SYNC_MAX];
    if (k > SIM_SYNC_MAX) {
        return;
    }
    for (uint32_t j = 0; j < k; j++) {
        len[j] = bytes_get_u32(&r);
        rec[j] = bytes_view(&r, len[j]);
        if (!rec[j]) {
            return;
        }
    }
    int with_model = bytes_get_u8(&r);
    const uint8_t *model = with_model ? bytes_view(&r, SIM_MODEL_N * sizeof(float)) : NULL;
    witness_cert_t *head_cert = NULL;
    if (s->witnessed && bytes_get_u8(&r) == 1) {
        head_cert = xmalloc(sizeof *head_cert);
        if (witness_cert_decode(&r, head_cert, NULL) < 0) {
            free(head_cert);
            return;
        }
    }
    if (s->witnessed) {
        s_fin_syncrep(s, i, rec, len, k, head_cert, model, from);
        free(head_cert);
        return;
    }
    int appended = 0;
    for (uint32_t j = 0; j < k; j++) {
        sigmsg_t m;
        if (sigmsg_decode(rec[j], len[j], BLOCK_MAX_BYTES, &m, NULL) < 0) {
            return;
        }
        uint64_t h = nd->n_recs;
        int differs = m.round + 1 == h &&
                      (len[j] != nd->lens[h - 1] || memcmp(rec[j], nd->recs[h - 1], len[j]) != 0);
        sync_record_t verdict = sync_judge_record(h, m.round, j + 1 < k, differs);
        if (verdict == SYNC_RECORD_REPLACE_HEAD) {
            // the peer's block for our head's index has a successor
            if (s_replace_head(s, i, rec[j], len[j]) < 0) {
                return;
            }
            s_log(s, "n%d: fork at %llu: n%d's chain is longer; replaced our head", i,
                  (unsigned long long)m.round, from);
            appended++;
            s_set_model(s, nd, 0);
            continue;
        }
        if (verdict == SYNC_RECORD_SKIP) {
            continue;
        }
        int rc = s_append(s, i, rec[j], len[j]);
        if (rc == 1) {
            return; // crashed
        }
        if (rc < 0) {
            sigmsg_t first;
            uint64_t again;
            if (sigmsg_decode(rec[0], len[0], BLOCK_MAX_BYTES, &first, NULL) == 0 &&
                sync_retry_from(h, m.round, first.round, &again)) {
                s_sync_request(s, i, from, again); // maybe our head is the odd one
            }
            return;
        }
        appended++;
        s_set_model(s, nd, 0);
    }
    s_sync_done(s, i, model, appended);
}

// ------------------------------------------- majority-witnessed blocks
//
// What node/fed does around node/proto/finality.h (docs/federation.md
// "Majority-witnessed blocks"): proposals, votes and promises go to every
// peer; the acceptor state is durable before any of them leaves; a final
// block's certificate is durable before the block.

static void s_fin_final(sim_t *s, int i, const fin_action_t *a);

static void s_fin_perform(sim_t *s, int i, const fin_actions_t *acts)
{
    sim_node_t *nd = &s->node[i];
    for (int k = 0; k < acts->n; k++) {
        const fin_action_t *a = &acts->act[k];
        bytes_writer_t w;
        switch (a->kind) {
        case FIN_ACT_PERSIST: {
            const uint8_t *rec;
            size_t n;
            nd->acc = *finality_acceptor(nd->fin, &rec, &n);
            free(nd->acc_rec);
            nd->acc_rec = NULL;
            nd->acc_rec_n = 0;
            if (rec) {
                nd->acc_rec = xmalloc(n);
                memcpy(nd->acc_rec, rec, n);
                nd->acc_rec_n = n;
            }
            break;
        }
        case FIN_ACT_PROMISE: {
            bytes_writer_init(&w);
            bytes_put_u64(&w, a->height);
            bytes_put_u32(&w, a->ballot);
            bytes_put(&w, nd->pub->sign_pk, IDENTITY_KEY_BYTES);
            bytes_put_u32(&w, a->voted_ballot);
            bytes_put(&w, a->hash, HASH_BYTES);
            bytes_put(&w, a->sig, IDENTITY_SIG_BYTES);
            bytes_put_u32(&w, (uint32_t)a->rec_n);
            bytes_put(&w, a->rec, a->rec_n);
            // the voted block's model, so that the next proposer can send it
            uint8_t mh[HASH_BYTES];
            float model[SIM_MODEL_N];
            if (a->rec && s_rec_model_hash(a->rec, a->rec_n, mh) &&
                s_durable_model(nd, mh, model)) {
                bytes_put(&w, model, sizeof model);
            }
            s_broadcast(s, i, -1, M_PROMISE, w.data, w.len);
            bytes_writer_reset(&w);
            break;
        }
        case FIN_ACT_VOTE:
            bytes_writer_init(&w);
            bytes_put_u64(&w, a->height);
            bytes_put_u32(&w, a->ballot);
            bytes_put(&w, a->hash, HASH_BYTES);
            bytes_put(&w, nd->pub->sign_pk, IDENTITY_KEY_BYTES);
            bytes_put(&w, a->sig, IDENTITY_SIG_BYTES);
            s_broadcast(s, i, -1, M_VOTE, w.data, w.len);
            bytes_writer_reset(&w);
            break;
        case FIN_ACT_FINAL: s_fin_final(s, i, a); return; // the height is over
        default: break;
        }
    }
}

static void s_fin_enter(sim_t *s, int i, uint32_t attempt)
{
    sim_node_t *nd = &s->node[i];
    const uint8_t *agg = round_aggregator(&nd->rs, attempt);
    int lead = agg && memcmp(agg, nd->pub->sign_pk, IDENTITY_KEY_BYTES) == 0;
    fin_actions_t acts;
    finality_enter_ballot(nd->fin, attempt, lead, &acts);
    s_fin_perform(s, i, &acts);
}

// The block is final: its certificate, then the block, durably; then the
// next round.
static void s_fin_final(sim_t *s, int i, const fin_action_t *a)
{
    sim_node_t *nd = &s->node[i];
    size_t n = a->rec_n;
    uint8_t *rec = xmalloc(n);
    memcpy(rec, a->rec, n);
    witness_cert_t *cert = xmalloc(sizeof *cert);
    *cert = *a->cert;
    uint8_t hash[HASH_BYTES], mh[HASH_BYTES];
    memcpy(hash, a->hash, HASH_BYTES);
    float w[SIM_MODEL_N];
    if (!s_rec_model_hash(rec, n, mh) || !s_durable_model(nd, mh, w)) {
        s_log(s, "n%d: block %zu final, but its model is not here: sync", i, nd->n_recs);
    } else {
        s_keep_cert(nd, hash, cert);
        if (s_append(s, i, rec, n) == 0) {
            s_log(s, "n%d: block %zu final (ballot %u, %u votes)", i, nd->n_recs - 1,
                  cert->ballot, cert->n);
            s_adopt(s, nd, w);
            s_seen(nd, hash);
            s_enter_round(s, i);
            if (nd->up) {
                s_hello(s, i);
            }
        }
    }
    free(cert);
    free(rec);
}

// Sends a proposal of block rec at this node's current attempt: its vote
// first (durable), then the block with the proposer's signature and model.
static void s_fin_propose(sim_t *s, int i, const uint8_t *rec, size_t n, const float *model)
{
    sim_node_t *nd = &s->node[i];
    uint32_t ballot = nd->rs.attempt;
    uint8_t hash[HASH_BYTES], digest[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
    block_hash(rec, n, hash);
    round_mark_proposed(&nd->rs);
    fs_err_t err = {0};
    if (ledger_state_check_next(nd->st, rec, n, NULL, &err) < 0) {
        // as every voter would: no vote, no proposal (and no second try
        // in this attempt)
        s_log(s, "n%d: its own block is not valid: %s", i, err.msg);
        return;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    witness_propose_digest(s->fed_id, nd->st->height, ballot, hash, digest);
    identity_sign(nd->id, digest, sig);
    bytes_put_u32(&w, ballot);
    bytes_put(&w, sig, IDENTITY_SIG_BYTES);
    bytes_put_u32(&w, (uint32_t)n);
    bytes_put(&w, rec, n);
    bytes_put(&w, model, SIM_MODEL_N * sizeof(float));
    fin_actions_t acts;
    finality_on_proposal(nd->fin, ballot, hash, rec, n, &acts);
    // PERSIST comes first in acts: durable before the proposal leaves
    int k = 0;
    if (acts.n > 0 && acts.act[0].kind == FIN_ACT_PERSIST) {
        fin_actions_t first = {.n = 1, .act = {acts.act[0]}};
        s_fin_perform(s, i, &first);
        k = 1;
    }
    s_broadcast(s, i, -1, M_PROPOSE, w.data, w.len);
    bytes_writer_reset(&w);
    fin_actions_t rest = {.n = 0};
    for (; k < acts.n; k++) {
        rest.act[rest.n++] = acts.act[k];
    }
    s_fin_perform(s, i, &rest);
}

// Before the round's CLOSE: may this node propose a block of its own now?
// When it must propose again a block that a majority may have chosen, it
// does so here (returns 0); 0 too while promises are missing.
static int s_fin_close(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    const uint8_t *rec;
    size_t n;
    fin_proposal_t p = finality_may_propose(nd->fin, nd->rs.attempt, &rec, &n);
    if (p == FIN_REPROPOSE) {
        uint8_t mh[HASH_BYTES];
        float w[SIM_MODEL_N];
        if (s_rec_model_hash(rec, n, mh) && s_durable_model(nd, mh, w)) {
            uint8_t *copy = xmalloc(n);
            memcpy(copy, rec, n);
            s_log(s, "n%d: proposes again, at attempt %u, a block of an earlier attempt", i,
                  nd->rs.attempt);
            s_fin_propose(s, i, copy, n, w);
            free(copy);
        }
        return 0;
    }
    return p == FIN_OWN;
}

// A voter's signed message for a later attempt of our round: we move to it
// (round.h, round_jump) and enter its ballot, promising it.
static void s_fin_catch_up(sim_t *s, int i, uint32_t ballot)
{
    sim_node_t *nd = &s->node[i];
    if (nd->rs.have_model && round_jump(&nd->rs, ballot, s->now)) {
        s_log(s, "n%d: round %llu: to attempt %u, as a peer is", i,
              (unsigned long long)nd->rs.round, nd->rs.attempt);
        s_fin_enter(s, i, nd->rs.attempt);
    }
}

// Asks the sender for blocks from our height when it is ahead of us.
static void s_fin_ahead(sim_t *s, int i, int from, uint64_t height)
{
    sim_node_t *nd = &s->node[i];
    if (height > nd->n_recs && peers_sync_due(nd->peers, s->now)) {
        s_sync_request(s, i, from, nd->n_recs);
    }
}

static void s_handle_propose(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    bytes_reader_t r;
    bytes_reader_init(&r, data, n);
    uint32_t ballot = bytes_get_u32(&r);
    const uint8_t *sig = bytes_view(&r, IDENTITY_SIG_BYTES);
    uint32_t rec_n = bytes_get_u32(&r);
    const uint8_t *rec = bytes_view(&r, rec_n);
    const uint8_t *model = bytes_view(&r, SIM_MODEL_N * sizeof(float));
    sigmsg_t m;
    if (!sig || !rec || !model || sigmsg_decode(rec, rec_n, BLOCK_MAX_BYTES, &m, NULL) < 0) {
        return;
    }
    if (m.round != nd->n_recs) {
        s_fin_ahead(s, i, from, m.round);
        return;
    }
    // the ballot's aggregator signed the proposal ...
    uint8_t agg[IDENTITY_KEY_BYTES], hash[HASH_BYTES], digest[HASH_BYTES];
    block_hash(rec, rec_n, hash);
    witness_propose_digest(s->fed_id, m.round, ballot, hash, digest);
    if (assemble_aggregator(nd->st, ballot, agg) < 0 || identity_verify(agg, digest, sig) != 0) {
        return;
    }
    // ... the block is valid on our ledger, and its model is the one named
    fs_err_t err = {0};
    uint8_t mh[HASH_BYTES];
    float w[SIM_MODEL_N];
    int ok = ledger_state_check_next(nd->st, rec, rec_n, mh, &err) == 0 &&
             s_model_ok(model, SIM_MODEL_N, mh, w);
    if (!ok) {
        s_log(s, "n%d: proposal refused: %s", i, err.msg[0] ? err.msg : "its model");
        return;
    }
    s_make_durable(nd, w);
    s_fin_catch_up(s, i, ballot);
    fin_actions_t acts;
    finality_on_proposal(nd->fin, ballot, hash, rec, rec_n, &acts);
    s_fin_perform(s, i, &acts);
}

static void s_handle_vote(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    if (n != 8 + 4 + HASH_BYTES + IDENTITY_KEY_BYTES + IDENTITY_SIG_BYTES) {
        return;
    }
    uint64_t height = s_u64(data);
    uint32_t ballot = bytes_load_u32(data + 8);
    const uint8_t *hash = data + 12, *key = hash + HASH_BYTES, *sig = key + IDENTITY_KEY_BYTES;
    if (height != nd->n_recs) {
        s_fin_ahead(s, i, from, height);
        return;
    }
    uint8_t digest[HASH_BYTES];
    witness_vote_digest(s->fed_id, height, ballot, hash, digest);
    if (identity_verify(key, digest, sig) != 0) {
        return;
    }
    fin_actions_t acts;
    finality_on_vote(nd->fin, key, ballot, hash, sig, &acts);
    int64_t height_was = (int64_t)nd->n_recs;
    s_fin_perform(s, i, &acts);
    if (nd->up && (int64_t)nd->n_recs == height_was) {
        s_fin_catch_up(s, i, ballot);
    }
}

static void s_handle_promise(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    bytes_reader_t r;
    bytes_reader_init(&r, data, n);
    uint64_t height = bytes_get_u64(&r);
    uint32_t ballot = bytes_get_u32(&r);
    const uint8_t *key = bytes_view(&r, IDENTITY_KEY_BYTES);
    uint32_t voted = bytes_get_u32(&r);
    const uint8_t *hash = bytes_view(&r, HASH_BYTES);
    const uint8_t *sig = bytes_view(&r, IDENTITY_SIG_BYTES);
    uint32_t rec_n = bytes_get_u32(&r);
    const uint8_t *rec = bytes_view(&r, rec_n);
    if (!key || !hash || !sig || (rec_n && !rec)) {
        return;
    }
    if (height != nd->n_recs) {
        s_fin_ahead(s, i, from, height);
        return;
    }
    uint8_t digest[HASH_BYTES];
    witness_promise_digest(s->fed_id, height, ballot, voted, hash, digest);
    if (identity_verify(key, digest, sig) != 0) {
        return;
    }
    if (voted != WITNESS_NONE) {
        // the block it voted for, and its model (kept durable: this node
        // may have to propose it again)
        uint8_t h[HASH_BYTES], mh[HASH_BYTES];
        const uint8_t *model = bytes_view(&r, SIM_MODEL_N * sizeof(float));
        float w[SIM_MODEL_N];
        if (!rec) {
            return;
        }
        block_hash(rec, rec_n, h);
        fs_err_t err = {0};
        if (memcmp(h, hash, HASH_BYTES) != 0 ||
            ledger_state_check_next(nd->st, rec, rec_n, mh, &err) < 0 ||
            !s_model_ok(model, model ? SIM_MODEL_N : 0, mh, w)) {
            s_log(s, "n%d: n%d's promise refused: %s", i, from,
                  err.msg[0] ? err.msg : "its block's hash or model");
            return;
        }
        s_make_durable(nd, w);
    }
    finality_on_promise(nd->fin, key, ballot, voted, hash, rec, rec_n);
    s_fin_catch_up(s, i, ballot);
}

static void s_handle_hello(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    if (n != 8) {
        return;
    }
    // a simulated hello says only the height: every node hears every other
    peers_hello_t h;
    memset(&h, 0, sizeof h);
    h.height = s_u64(data);
    h.lists_us = h.hears_us = 1;
    peers_actions_t acts;
    peers_on_hello(nd->peers, from, &h, nd->n_recs, !nd->rs.have_model, s->now, &acts);
    s_perform_peers(s, i, &acts);
}

static void s_handle_request(sim_t *s, int i, const uint8_t *data, size_t n, int from, int type)
{
    sim_node_t *nd = &s->node[i];
    sigmsg_t m;
    int want = type == M_JOIN ? SIGMSG_JOIN : SIGMSG_LEAVE;
    if (sigmsg_decode(data, n, BLOCK_REQUEST_MAX, &m, NULL) < 0 || m.type != want ||
        memcmp(m.fed_id, s->fed_id, HASH_BYTES) != 0 || sigmsg_verify(&m, NULL) < 0) {
        return;
    }
    if (s_seen(nd, m.digest)) {
        return;
    }
    if (members_on_request(&nd->mem, nd->st, want, m.round, m.signer, data, n) != 0) {
        s_broadcast(s, i, from, type, data, n);
    }
}

// A motion from a peer (docs/federation.md "Membership by the members'
// vote"): its signatures merge in, and what taught us something goes on.
static void s_handle_motion(sim_t *s, int i, const uint8_t *data, size_t n, int from)
{
    sim_node_t *nd = &s->node[i];
    motion_t *m = xmalloc(sizeof *m);
    bytes_reader_t r;
    bytes_reader_init(&r, data, n);
    if (motion_decode(&r, m, NULL) < 0 || bytes_remaining(&r) != 0 ||
        motion_check_sigs(m, s->fed_id, NULL) < 0) {
        free(m);
        return;
    }
    if (members_on_motion(&nd->mem, nd->st, m) == 1) {
        for (int k = 0; k < nd->mem.n_motions; k++) {
            const motion_t *p = members_motion(&nd->mem, k);
            if (motion_same(p, m)) {
                s_send_motion(s, i, from, p); // it taught us a signature: pass it on
                break;
            }
        }
    }
    free(m);
}

// In a federation that admits by vote an active member moves, at most
// every 5 s, to admit a started joiner its ledger does not yet let in, or
// to remove the node a removal fault picked; the others sign (above).
static void s_motions_tick(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    if (!s->vote || !members_is_active(nd->st, nd->pub->sign_pk)) {
        return;
    }
    // Every member agrees with every motion, as people do, after a while:
    // one signature per 1-2.5 s a node, so that a motion spends seconds
    // short of a majority (and a block that recorded it then is refused).
    for (int k = 0; k < nd->mem.n_motions && s->now - nd->last_sign >= 1000 + 500 * (i % 4);
         k++) {
        const motion_t *p = members_motion(&nd->mem, k);
        if (!motion_signed_by(p, nd->pub->sign_pk)) {
            char id[MOTION_ID_CHARS];
            motion_id(s->fed_id, p, id);
            if (members_sign(&nd->mem, nd->st, s->fed_id, nd->id, id, &p, NULL) == 0) {
                s_log(s, "n%d: signs the motion to %s %s (%u signatures)", i,
                      motion_action_name(p->action), p->candidate.name, p->n);
                s_send_motion(s, i, -1, p);
                nd->last_sign = s->now;
            }
        }
    }
    if (s->now - nd->last_motion < 5000) {
        return;
    }
    for (int j = 0; j < s->n; j++) {
        sim_node_t *c = &s->node[j];
        int admit = j >= s->n_founders && c->started && !c->left &&
                    !members_is_active(nd->st, c->pub->sign_pk) &&
                    !ledger_state_may_join(nd->st, c->pub->sign_pk);
        int remove = j == s->removing && j != i && members_is_active(nd->st, c->pub->sign_pk);
        for (int k = 0; k < nd->mem.n_motions && (admit || remove); k++) {
            const motion_t *p = members_motion(&nd->mem, k);
            if (memcmp(p->candidate.sign_pk, c->pub->sign_pk, IDENTITY_KEY_BYTES) == 0) {
                admit = remove = 0; // one under way already: it signs that one
            }
        }
        if (!admit && !remove) {
            continue;
        }
        const motion_t *m = NULL;
        if (members_propose(&nd->mem, nd->st, s->fed_id, nd->id,
                            admit ? MOTION_ADMIT : MOTION_REMOVE, c->pub, &m, NULL) == 0) {
            s_log(s, "n%d: moves to %s n%d", i, admit ? "admit" : "remove", j);
            s->motions_made++;
            s_send_motion(s, i, -1, m);
            nd->last_motion = s->now;
            return;
        }
    }
}

static void s_deliver(sim_t *s, sim_event_t *e)
{
    sim_node_t *nd = &s->node[e->to];
    if (!nd->up || !s_linked(s, e->from, e->to)) {
        return;
    }
    s_trace(s, (uint64_t)e->type << 40 | (uint64_t)e->from << 20 | (uint64_t)e->to);
    switch (e->type) {
    case M_HELLO: s_handle_hello(s, e->to, e->data, e->n, e->from); break;
    case M_BLOCK: s_handle_block(s, e->to, e->data, e->n, e->from); break;
    case M_UPDATE:
        s_process_update(s, e->to, e->data, e->n);
        e->data = NULL; // taken
        break;
    case M_SYNCREQ: s_handle_syncreq(s, e->to, e->data, e->n, e->from); break;
    case M_SYNCREP: s_handle_syncrep(s, e->to, e->data, e->n, e->from); break;
    case M_JOIN:
    case M_LEAVE: s_handle_request(s, e->to, e->data, e->n, e->from, e->type); break;
    case M_PROPOSE: s_handle_propose(s, e->to, e->data, e->n, e->from); break;
    case M_VOTE: s_handle_vote(s, e->to, e->data, e->n, e->from); break;
    case M_PROMISE: s_handle_promise(s, e->to, e->data, e->n, e->from); break;
    case M_MOTION: s_handle_motion(s, e->to, e->data, e->n, e->from); break;
    default: break;
    }
}

// ---------------------------------------------------------------- the tick

static void s_start_leave(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    int was = nd->mem.leaving;
    members_actions_t acts;
    members_leave(&nd->mem, nd->st, s->fed_id, nd->id, s->now, &acts);
    if (nd->mem.leaving && !was) {
        round_event_t e = {.kind = ROUND_EV_LEAVING};
        s_round_event(s, nd, &e);
    }
    s_perform_members(s, i, &acts);
}

static int s_frozen(const sim_t *s)
{
    return s->now >= s->freeze_at;
}

static void s_tick(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    s_save_model(s, nd);
    peers_actions_t pa;
    peers_tick_hello(nd->peers, s->now, &pa);
    s_perform_peers(s, i, &pa);
    // as node.c: caught up when no peer announced more, and it has peers
    int caught_up = s->n > 1 && !peers_behind(nd->peers, (size_t)s->n, nd->n_recs);
    members_actions_t ma;
    members_tick(&nd->mem, nd->st, s->fed_id, nd->id, caught_up, s->now, &ma);
    s_perform_members(s, i, &ma);
    if (!nd->mem.left) {
        s_motions_tick(s, i);
    }
    if (nd->mem.left) {
        s_log(s, "n%d: left at height %zu", i, nd->n_recs);
        nd->left = 1;
        s_crash(s, i); // it stops (left: no restart)
        return;
    }
    if (!nd->rs.have_model) {
        peers_tick_sync(nd->peers, (size_t)s->n, nd->n_recs, s->now, &pa);
        s_perform_peers(s, i, &pa);
        return;
    }
    if (s_frozen(s)) {
        return; // the end: no new rounds, only sync
    }
    uint8_t leavers[BLOCK_MAX_CHANGES][IDENTITY_KEY_BYTES]; // as round_io.c does
    size_t n_leavers = members_leavers(&nd->mem, nd->st, leavers);
    round_set_leavers(&nd->rs, (const uint8_t(*)[IDENTITY_KEY_BYTES])leavers, n_leavers);
    round_event_t be = {.kind = ROUND_EV_BEHIND, .flag = !caught_up && s->n > 1};
    s_round_event(s, nd, &be); // as node.c: an aggregator behind a peer does not close
    if (s->witnessed && caught_up && nd->rs.proposed_attempt != nd->rs.attempt + 1) {
        s_fin_close(s, i); // proposes again what a majority may have chosen, at once
        if (!nd->up) {
            return;
        }
    }
    round_actions_t acts;
    round_tick(&nd->rs, s->now, &acts);
    for (int k = 0; k < acts.n && nd->up; k++) {
        s_perform(s, i, &acts.act[k]);
    }
}

// -------------------------------------------------- start, crash, restart

static void s_schedule_tick(sim_t *s, int i, int64_t at)
{
    sim_event_t *e = s_push(s, at, EV_TICK);
    e->to = i;
    e->epoch = s->node[i].epoch;
}

// Starts (or restarts) node i from its durable state.
static void s_start(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    nd->up = 1;
    nd->started = 1;
    s_rebuild(nd, nd->n_recs);
    nd->final_checked = nd->final_checked < nd->n_recs ? nd->final_checked : 0;
    round_init(&nd->rs, nd->pub->sign_pk, 1);
    members_init(&nd->mem, nd->pub->sign_pk, 1);
    if (s->witnessed) {
        nd->fin = finality_new(nd->id, s->fed_id); // its acceptor state: s_enter_round
    }
    nd->peers = xcalloc(1, sizeof *nd->peers);
    nd->save_pending = 0;
    nd->last_save = INT64_MIN / 2;
    int have = 0;
    if (nd->n_recs == 1) {
        s_initial_model(s, nd->global);
        have = 1;
    } else if (memcmp(nd->saved_hash, nd->st->model_hash, HASH_BYTES) == 0) {
        memcpy(nd->global, nd->saved, sizeof nd->global);
        have = 1;
    } else {
        for (int k = 0; k < SIM_DURABLE && !have; k++) { // global.fsm lagged: models/
            if (memcmp(nd->durable_hash[k], nd->st->model_hash, HASH_BYTES) == 0) {
                memcpy(nd->global, nd->durable[k], sizeof nd->global);
                have = 1;
            }
        }
    }
    s_set_model(s, nd, have);
    s_enter_round(s, i);
    s_schedule_tick(s, i, s->now + (int64_t)rng_below(&s->rng, SIM_TICK_MS));
    s_log(s, "n%d: up at height %zu (model %s)", i, nd->n_recs, have ? "on disk" : "to fetch");
}

static void s_crash(sim_t *s, int i)
{
    sim_node_t *nd = &s->node[i];
    nd->up = 0;
    nd->epoch++;
    round_free(&nd->rs);
    members_free(&nd->mem); // a restarted leaver would ask again; none restarts here
    finality_destroy(&nd->fin);
    free(nd->peers);
    nd->peers = NULL;
    if (!nd->left) {
        sim_event_t *e = s_push(s, s->now + 500 + (int64_t)rng_below(&s->rng, 6000), EV_RESTART);
        e->to = i;
        e->epoch = nd->epoch;
    }
}

// ----------------------------------------------------------------- faults

static int s_sides_have_quorum(const sim_t *s, const int *side)
{
    int count[2] = {0, 0};
    for (int i = 0; i < s->n; i++) {
        count[side[i]] += s->node[i].started && !s->node[i].left;
    }
    int q = s->genesis->quorum;
    return (count[0] >= q) + (count[1] >= q);
}

static void s_fault(sim_t *s)
{
    int kind = (int)rng_below(&s->rng, FAULT_KIND_COUNT);
    int i = (int)rng_below(&s->rng, (uint64_t)s->n_founders);
    sim_node_t *nd = &s->node[i];
    switch (kind) {
    case FAULT_PARTITION: {
        if (s->heal_at > s->now) {
            return;
        }
        int side[SIM_MAX_NODES];
        int tries = 0;
        do {
            for (int k = 0; k < s->n; k++) {
                side[k] = (int)rng_below(&s->rng, 2);
            }
            tries++;
        } while (tries < 20 && (s->mode == SIM_MODE_CI ? s_sides_have_quorum(s, side) > 1
                                                        : s_sides_have_quorum(s, side) < 2));
        if (tries == 20) {
            return;
        }
        memcpy(s->side, side, sizeof side);
        s->heal_at = s->now + 1000 + (int64_t)rng_below(&s->rng, 8000);
        s_push(s, s->heal_at, EV_HEAL);
        s_log(s, "partition until %.3f", (double)s->heal_at / 1000.0);
        break;
    }
    case FAULT_CRASH:
    case FAULT_TORN:
        if (!nd->up || nd->left) {
            return;
        }
        if (kind == FAULT_TORN) {
            nd->torn_armed = 1; // the crash comes during its next append (counted there)
            return;
        } else {
            s_log(s, "n%d: crash", i);
            s_crash(s, i);
        }
        break;
    case FAULT_LOSS:
        s->loss = 0.05 + 0.3 * rng_uniform(&s->rng);
        s->loss_until = s->now + 500 + (int64_t)rng_below(&s->rng, 4000);
        break;
    case FAULT_DUP:
        s->dup = 0.05 + 0.3 * rng_uniform(&s->rng);
        s->dup_until = s->now + 500 + (int64_t)rng_below(&s->rng, 4000);
        break;
    case FAULT_REORDER:
        s->reorder = 0.1 + 0.4 * rng_uniform(&s->rng);
        s->reorder_until = s->now + 500 + (int64_t)rng_below(&s->rng, 4000);
        break;
    case FAULT_JOIN: {
        int j = -1;
        for (int k = s->n_founders; k < s->n && j < 0; k++) {
            j = s->node[k].started ? -1 : k;
        }
        if (j < 0) {
            return;
        }
        s_log(s, "n%d: a joiner starts", j);
        s_start(s, j);
        break;
    }
    case FAULT_LEAVE: {
        // at most one founder leaves, so that a quorum of founders remains
        for (int k = 0; k < s->n; k++) {
            if (s->node[k].mem.leaving || s->node[k].left || s->removing >= 0) {
                return;
            }
        }
        if (!nd->up || !s_is_active(nd, nd->pub->sign_pk) ||
            s->n_founders - 1 < s->genesis->quorum + 1) {
            return;
        }
        if (s->vote && rng_below(&s->rng, 2)) {
            // the members remove it by their vote (s_motions_tick)
            s_log(s, "n%d: the others move to remove it", i);
            s->removing = i;
            break;
        }
        s_log(s, "n%d: leaves", i);
        s_start_leave(s, i);
        break;
    }
    case FAULT_MODEL_LAG:
        nd->lag_saves = 1 + (int)rng_below(&s->rng, 3);
        break;
    case FAULT_CRASH_ALL:
        // every running node at once (a power cut of the whole federation):
        // issue 19 item 6, so only in that mode
        if (s->mode == SIM_MODE_CI) {
            return;
        }
        s_log(s, "every node crashes");
        for (int k = 0; k < s->n; k++) {
            if (s->node[k].up && !s->node[k].left) {
                s_crash(s, k);
            }
        }
        break;
    default: return;
    }
    s->faults[kind]++;
}

static void s_quiet(sim_t *s)
{
    for (int k = 0; k < s->n; k++) {
        s->side[k] = 0;
        s->node[k].torn_armed = 0;
    }
    s->heal_at = 0;
    s->loss = s->dup = 0;
    s->reorder = 0.05; // reordering by delay stays: it is not a fault of TCP
    for (int k = 0; k < s->n; k++) {
        if (s->node[k].started && !s->node[k].up && !s->node[k].left) {
            s->node[k].epoch++; // its pending restart is void
            s_start(s, k);
        }
    }
    s_log(s, "faults stop");
}

// -------------------------------------------------------------- the setup

static void s_setup(sim_t *s)
{
    rng_t *r = &s->rng;
    // 3 to 16 founders, small ones more often (they are cheaper and fork
    // more easily), and 0 to 2 joiners on the allow-list.
    int n = 3 + (int)rng_below(r, 4);
    if (rng_below(r, 4) == 0) {
        n = 3 + (int)rng_below(r, 14);
    }
    int joiners = (int)rng_below(r, 3);
    s->n_founders = n;
    s->n = n + joiners;
    for (int i = 0; i < s->n; i++) {
        uint8_t seed[IDENTITY_SEED_BYTES];
        for (int k = 0; k < IDENTITY_SEED_BYTES; k++) {
            seed[k] = (uint8_t)rng_u64(r);
        }
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        s->node[i].id = identity_new_from_seed(name, seed, NULL);
        s->node[i].pub = identity_public(s->node[i].id);
        s->side[i] = 0;
        for (int j = 0; j < s->n; j++) {
            s->link_ms[i][j] = 1 + (int32_t)rng_below(r, 40);
        }
    }
    genesis_t *g = s->genesis = xcalloc(1, sizeof *g);
    snprintf(g->name, sizeof g->name, "simfed");
    g->time_ms = SIM_GENESIS_TIME;
    g->n_members = (uint16_t)n;
    for (int i = 0; i < n; i++) {
        g->members[i] = *s->node[i].pub;
    }
    snprintf(g->model, sizeof g->model, "sim:%d", SIM_MODEL_N);
    snprintf(g->dataset, sizeof g->dataset, "none");
    g->model_seed = s->seed;
    float w0[SIM_MODEL_N];
    s_initial_model(s, w0);
    hash_model(w0, SIM_MODEL_N, g->initial_model_hash);
    g->mechanism = NOISE_NONE;
    g->delta = 1e-5;
    g->round_timeout_ms = SIM_TIMEOUT_MS;
    g->attempt_extra_ms = SIM_EXTRA_MS;
    g->rounds = 0;
    g->local_iters = 1;
    // CI: a majority quorum (one side of a partition at most can close);
    // issue 19: a quorum that two sides of a split can both reach.
    g->quorum = (uint16_t)(s->mode == SIM_MODE_CI ? n / 2 + 1 : 1 + (int)rng_below(r, 2));
    if (s->mode == SIM_MODE_ISSUE19 && g->quorum * 2 > n) {
        g->quorum = 1;
    }
    g->inactive_after = SIM_INACTIVE_AFTER;
    // half the seeds with a request window (8..64 rounds; members re-sign
    // every 3 s, several rounds here), half without: both rules hold.  From
    // the seed, not the stream, so the draws stay as they were.
    g->request_window = s->seed % 2 ? 0 : (uint32_t)(8 + s->seed / 2 % 57);
    // Majority-witnessed blocks (issue 19 item 1): every seed of the
    // issue-19 mode, every fourth of the CI mode (a window is then needed).
    s->witnessed = s->mode == SIM_MODE_ISSUE19 || s->seed % 4 == 2;
    if (s->witnessed) {
        g->finality = GENESIS_FINALITY_MAJORITY;
        g->request_window = g->request_window ? g->request_window : 64;
    }
    // Admission by the members' vote in a third of the witnessed seeds:
    // joiners are on no list and join only once a motion admits them.
    s->vote = s->witnessed && s->seed % 3 == 0;
    s->removing = -1;
    g->admission = s->vote ? ADMIT_VOTE : ADMIT_ALLOWLIST;
    g->n_allowed = s->vote ? 0 : (uint16_t)joiners;
    for (int j = 0; j < g->n_allowed; j++) {
        memcpy(g->allowed[j], s->node[n + j].pub->sign_pk, IDENTITY_KEY_BYTES);
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    if (genesis_encode(&w, g, s->node[0].id, s->fed_id, NULL) < 0) {
        abort();
    }
    for (int i = 0; i < s->n; i++) {
        sim_node_t *nd = &s->node[i];
        nd->recs[0] = xmalloc(w.len);
        memcpy(nd->recs[0], w.data, w.len);
        nd->lens[0] = w.len;
        block_hash(w.data, w.len, nd->hashes[0]);
        nd->n_recs = 1;
    }
    bytes_writer_reset(&w);
    for (int i = 0; i < n; i++) {
        s_start(s, i);
    }
    // The fault phase, the quiet phase (faults stop, every crashed node
    // restarts), and the frozen end (no new rounds; ledgers must agree).
    s->faults_end = 8000 + (int64_t)rng_below(r, 22000);
    s->freeze_at = INT64_MAX;
    s_push(s, 200 + (int64_t)rng_below(r, 1500), EV_FAULT);
    s_push(s, s->faults_end, EV_QUIET);
    s_push(s, s->faults_end + SIM_QUIET_MS, EV_FREEZE);
}

// ---------------------------------------------------------------- the run

// libsodium's random source comes from the seed too (envelope nonces:
// tests/support/seeded_random.h): one seed, one execution, byte for byte.
void sim_install_randombytes(void)
{
    seeded_random_install();
}

void sim_destroy(sim_t **self_p)
{
    sim_t *s = *self_p;
    if (!s) {
        return;
    }
    for (int i = 0; i < s->n; i++) {
        sim_node_t *nd = &s->node[i];
        if (nd->up) {
            s_crash(s, i);
        }
        ledger_state_destroy(&nd->st);
        free(nd->acc_rec);
        for (size_t r = 0; r < nd->n_recs; r++) {
            free(nd->recs[r]);
        }
        identity_destroy(&nd->id);
    }
    sim_event_t *e;
    while ((e = s_pop(s))) {
        free(e->data);
        free(e);
    }
    free(s->heap);
    free(s->sent);
    free(s->final);
    free(s->genesis);
    free(s);
    *self_p = NULL;
}

int sim_run(uint64_t seed, sim_mode_t mode, int verbose, sim_t **out)
{
    sim_t *s = xcalloc(1, sizeof *s);
    s->seed = seed;
    s->mode = mode;
    s->verbose = verbose;
    s->violated = -1;
    s->stable_since = -1;
    s->trace = 0xcbf29ce484222325ull;
    rng_seed(&s->rng, seed);
    seeded_random_reseed(seed ^ 0x5eed5eed5eedull);
    s_setup(s);
    sim_event_t *e;
    int done = 0;
    while (!done && (e = s_pop(s))) {
        s->now = e->t;
        s->steps++;
        sim_node_t *nd = e->to >= 0 && e->to < s->n ? &s->node[e->to] : NULL;
        switch (e->kind) {
        case EV_DELIVER: s_deliver(s, e); break;
        case EV_TICK:
            if (nd->up && e->epoch == nd->epoch) {
                s_tick(s, e->to);
                if (nd->up && e->epoch == nd->epoch) {
                    s_schedule_tick(s, e->to, s->now + SIM_TICK_MS);
                }
            }
            break;
        case EV_TRAINED:
            if (nd->up && e->epoch == nd->epoch) {
                s_trained(s, e->to, e->arg);
            }
            break;
        case EV_RESTART:
            if (!nd->up && !nd->left && e->epoch == nd->epoch) {
                s_start(s, e->to);
            }
            break;
        case EV_FAULT:
            if (s->now < s->faults_end) {
                s_fault(s);
                s_push(s, s->now + 300 + (int64_t)rng_below(&s->rng, 2500), EV_FAULT);
            }
            break;
        case EV_HEAL:
            if (s->heal_at == s->now) {
                memset(s->side, 0, sizeof s->side);
                s_log(s, "partition heals");
            }
            break;
        case EV_QUIET: s_quiet(s); break;
        case EV_FREEZE:
            // The quiet phase lasts SIM_QUIET_MS, longer while the chain
            // stalls (up to the liveness bound, so that a stall is caught).
            if (s->now - (s->last_progress > s->faults_end ? s->last_progress : s->faults_end) >
                    SIM_STALL_MS &&
                s->now - s->faults_end <= (int64_t)sim_liveness_bound_ms(s) + 1000) {
                s_push(s, s->now + 1000, EV_FREEZE);
            } else {
                s->freeze_at = s->now;
                s_push(s, s->now + SIM_FREEZE_MS, EV_END);
                s_log(s, "no new rounds from here");
            }
            break;
        case EV_END: done = 1; break;
        default: break;
        }
        if (s->loss_until <= s->now) {
            s->loss = 0;
        }
        if (s->dup_until <= s->now) {
            s->dup = 0;
        }
        if (s->reorder_until <= s->now && s->now < s->faults_end) {
            s->reorder = 0;
        }
        free(e->data);
        free(e);
        inv_after_step(s);
        if (s->violated >= 0 && s->mode == SIM_MODE_CI) {
            break;
        }
    }
    if (done) {
        inv_at_end(s);
    }
    int rc = s->violated >= 0 ? 1 + s->violated : 0;
    if (out) {
        *out = s;
    } else {
        sim_destroy(&s);
    }
    return rc;
}
