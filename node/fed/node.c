/* node.c - the federation node: event loop, rounds, sync, membership
 * (see node.h and docs/federation.md). */
#include "node/fed/node.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "ledger/assemble.h"
#include "ledger/budget.h"
#include "ledger/chain.h"
#include "ledger/election.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/data/idx.h"
#include "node/fed/fedavg.h"
#include "node/fed/global.h"
#include "node/fed/local.h"
#include "node/fed/transport.h"
#include "node/fed/wire.h"
#include "node/nn/blas.h"
#include "node/privacy/noise.h"

#define HELLO_EVERY_MS 1000
#define SYNC_RETRY_MS 1000
#define JOIN_RETRY_MS 3000
#define LINGER_MS 3000       // after the last round: serve peers that lag
#define MAX_PENDING 16       // join / leave requests waiting for a block
#define MAX_EARLY 16         // updates for the next round, kept until it starts
#define SEEN_SLOTS 4096      // gossip de-duplication (message digests)

typedef struct {
    uint8_t key[32];
    uint8_t *req;            // the signed request
    size_t n;
} pending_t;

typedef struct {
    uint8_t key[32];
    uint8_t digest[32];
    uint64_t samples;
    float *w;
} contrib_t;

typedef struct {
    uint64_t height;         // the height it announced
    int64_t seen_ms;         // when (monotonic)
    int64_t first_ms;        // its first hello
    int64_t redial_ms;       // our last re-dial of it
    uint8_t hears[TRANSPORT_MAX_PEERS / 8]; // our peers it heard from (its last hello)
} peer_info_t;

struct node {
    node_config_t cfg;
    identity_t *me;
    const identity_pub_t *pub;
    char ledger_path[CONFIG_PATH_MAX + 32];
    char global_path[CONFIG_PATH_MAX + 32];
    char allow_dir[CONFIG_PATH_MAX + 32];
    char control_ep[CONFIG_PATH_MAX + 32];
    transport_t *net;
    zsock_t *control;
    // ledger and model
    chain_t *chain;               // NULL until the genesis is known
    uint8_t fed_id[32];
    int have_fed;
    dcgan_config_t arch;
    size_t n;                     // parameters in the global vector
    float *global;
    int have_global;              // global matches the head's model hash
    local_t *local;               // NULL when the node holds no data
    keyring_t *members;           // the active members (envelope senders)
    replay_t *replay;
    // the round
    uint64_t round;               // = chain height
    uint32_t attempt;
    int64_t round_start;          // monotonic ms
    int trained;                  // update holds this round's noised weights
    float *update;
    uint64_t samples;
    uint32_t sent_attempt;        // attempts + 1 already sent to (0: none)
    contrib_t got[LEDGER_MAX_MEMBERS];
    int n_got;
    uint8_t *early[MAX_EARLY];    // raw envelopes for round + 1
    size_t early_n[MAX_EARLY];
    int n_early;
    pending_t joins[MAX_PENDING], leaves[MAX_PENDING];
    int n_joins, n_leaves;
    // gossip and peers
    uint8_t seen[SEEN_SLOTS][32];
    size_t seen_next;
    peer_info_t peer[TRANSPORT_MAX_PEERS];
    int64_t last_hello, last_sync, last_join, last_leave;
    // leaving and ending
    int leaving, left;
    int64_t finished_at;          // when the planned rounds were done
    double round_t0;              // wall seconds, for the per-round line
    int save_pending;             // global.fsm is behind the head's model
};

static int64_t s_mono(void)
{
    return zclock_mono();
}

static uint64_t s_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

void node_control_endpoint(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "ipc://%s/control.sock", dir);
}

static const ledger_state_t *s_state(const node_t *self)
{
    return chain_state(self->chain);
}

static const char *s_name(const node_t *self, const uint8_t key[32], char buf[9])
{
    if (self->chain) {
        const ledger_member_t *m = ledger_state_member(s_state(self), key);
        if (m) {
            return m->id.name;
        }
    }
    hash_short(key, buf);
    return buf;
}

static int s_is_active(const node_t *self, const uint8_t key[32])
{
    if (!self->chain) {
        return 0;
    }
    const ledger_member_t *m = ledger_state_member(s_state(self), key);
    return m && m->active;
}

// 1 when the digest was seen before; records it otherwise.
static int s_seen(node_t *self, const uint8_t digest[32])
{
    for (size_t i = 0; i < SEEN_SLOTS; i++) {
        if (memcmp(self->seen[i], digest, 32) == 0) {
            return 1;
        }
    }
    memcpy(self->seen[self->seen_next], digest, 32);
    self->seen_next = (self->seen_next + 1) % SEEN_SLOTS;
    return 0;
}

// ---------------------------------------------------------------- data

static dataset_t *s_load_data(const node_config_t *cfg, fs_err_t *err)
{
    if (!cfg->data_dir[0]) {
        return NULL;
    }
    dataset_t *all = NULL;
    char img[CONFIG_PATH_MAX + 40], lab[CONFIG_PATH_MAX + 40];
    int rc = FS_EINVAL;
    for (int gz = 0; gz < 2 && rc != 0; gz++) {
        snprintf(img, sizeof img, "%s/train-images-idx3-ubyte%s", cfg->data_dir, gz ? ".gz" : "");
        snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte%s", cfg->data_dir, gz ? ".gz" : "");
        if (access(img, R_OK) == 0) {
            rc = idx_load(img, lab, &all, err);
            if (rc < 0) {
                return NULL;
            }
        }
    }
    if (rc != 0) {
        fs_err_set(err, FS_EINVAL, "%s: data/dir has no train-images-idx3-ubyte[.gz] (run "
                   "'make data')", cfg->file);
        return NULL;
    }
    dataset_t *d = all;
    if (cfg->labels[0]) {
        uint8_t keep[10];
        if (dataset_parse_labels(cfg->labels, keep, err) < 0) {
            dataset_destroy(&all);
            return NULL;
        }
        d = dataset_filter_labels(all, keep);
        dataset_destroy(&all);
    }
    if (cfg->limit > 0 && d->n > cfg->limit) {
        rng_t rng;
        rng_seed(&rng, (uint64_t)cfg->data_seed);
        uint32_t *perm = xmalloc((size_t)d->n * sizeof *perm);
        rng_permutation(&rng, perm, (size_t)d->n);
        dataset_t *sub = dataset_subset(d, perm, (int)cfg->limit);
        free(perm);
        dataset_destroy(&d);
        d = sub;
    }
    return d;
}

// ---------------------------------------------------------- membership

static void s_allow_members(node_t *self)
{
    fs_err_t err = {0};
    for (int i = 0; i < self->cfg.n_peers; i++) {
        if (transport_allow(self->net, &self->cfg.peers[i].id, &err) < 0) {
            log_warn("%s", err.msg);
        }
    }
    if (!self->chain) {
        return;
    }
    const ledger_state_t *st = s_state(self);
    for (int i = 0; i < st->n_members; i++) {
        if (transport_allow(self->net, &st->members[i].id, &err) < 0) {
            log_warn("%s", err.msg);
        }
    }
}

// May a node with this identity talk to us at all?
static int s_acceptable(const node_t *self, const identity_pub_t *id)
{
    for (int i = 0; i < self->cfg.n_peers; i++) {
        if (memcmp(self->cfg.peers[i].id.sign_pk, id->sign_pk, 32) == 0) {
            return 1;
        }
    }
    if (!self->chain) {
        return 0;
    }
    const ledger_state_t *st = s_state(self);
    if (ledger_state_member(st, id->sign_pk) || st->genesis.admission == ADMIT_OPEN) {
        return 1;
    }
    for (int i = 0; i < st->genesis.n_allowed; i++) {
        if (memcmp(st->genesis.allowed[i], id->sign_pk, 32) == 0) {
            return 1;
        }
    }
    return 0;
}

static void s_free_pending(pending_t *p, int *n)
{
    for (int i = 0; i < *n; i++) {
        free(p[i].req);
    }
    *n = 0;
}

static void s_drop_recorded_pending(node_t *self)
{
    int k = 0;
    for (int i = 0; i < self->n_joins; i++) {
        if (s_is_active(self, self->joins[i].key)) {
            free(self->joins[i].req);
        } else {
            self->joins[k++] = self->joins[i];
        }
    }
    self->n_joins = k;
    k = 0;
    for (int i = 0; i < self->n_leaves; i++) {
        if (!s_is_active(self, self->leaves[i].key)) {
            free(self->leaves[i].req);
        } else {
            self->leaves[k++] = self->leaves[i];
        }
    }
    self->n_leaves = k;
}

static void s_add_pending(pending_t *p, int *n, const uint8_t key[32], const uint8_t *req,
                          size_t len)
{
    for (int i = 0; i < *n; i++) {
        if (memcmp(p[i].key, key, 32) == 0) {
            free(p[i].req); // a newer request replaces the older
            p[i].req = xmalloc(len);
            memcpy(p[i].req, req, len);
            p[i].n = len;
            return;
        }
    }
    if (*n == MAX_PENDING) {
        log_warn("%d requests already wait for a block; dropping one", MAX_PENDING);
        return;
    }
    memcpy(p[*n].key, key, 32);
    p[*n].req = xmalloc(len);
    memcpy(p[*n].req, req, len);
    p[*n].n = len;
    (*n)++;
}

// ------------------------------------------------------------- sending

static void s_broadcast(node_t *self, uint8_t type, const uint8_t *data, size_t n, int except,
                        int bulk, uint64_t skip_height_at_least)
{
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        if ((int)i == except || !transport_peer_connected(self->net, (int)i)) {
            continue;
        }
        if (skip_height_at_least && self->peer[i].height >= skip_height_at_least) {
            continue; // it said it has this already
        }
        transport_send(self->net, (int)i, type, data, n, bulk);
    }
}

static void s_hello(node_t *self, int only_peer)
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
        memcpy(h.head, s_state(self)->head_hash, 32);
    }
    for (size_t i = 0; i < transport_peer_count(self->net) && h.n_peers < WIRE_HELLO_MAX_PEERS;
         i++) {
        const char *ep = transport_peer_endpoint(self->net, (int)i);
        if (ep[0]) {
            h.peers[h.n_peers].id = *transport_peer_id(self->net, (int)i);
            snprintf(h.peers[h.n_peers].endpoint, sizeof h.peers[0].endpoint, "%s", ep);
            h.peers[h.n_peers].heard =
                self->peer[i].seen_ms && s_mono() - self->peer[i].seen_ms < 3000;
            h.n_peers++;
        }
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    wire_hello_encode(&w, &h, self->fed_id, self->me);
    if (only_peer >= 0) {
        transport_send(self->net, only_peer, WIRE_HELLO, w.data, w.len, 0);
    } else {
        s_broadcast(self, WIRE_HELLO, w.data, w.len, -1, 0, 0);
    }
    bytes_writer_reset(&w);
}

static void s_sync_request(node_t *self, int peer, uint64_t from)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(from >> (8 * i));
    }
    transport_send(self->net, peer, WIRE_SYNCREQ, b, 8, 0);
    self->last_sync = s_mono();
}

// --------------------------------------------------------------- rounds

static uint32_t s_planned(const node_t *self)
{
    return s_state(self)->genesis.rounds;
}

static int s_federation_done(const node_t *self)
{
    return self->chain && s_planned(self) && chain_height(self->chain) > s_planned(self);
}

static int64_t s_attempt_deadline(const node_t *self, uint32_t attempt)
{
    const genesis_t *g = &s_state(self)->genesis;
    int64_t t = self->round_start;
    for (uint32_t a = 0; a <= attempt; a++) {
        t += (int64_t)g->round_timeout_ms + (int64_t)a * g->attempt_extra_ms;
    }
    return t;
}

static void s_free_got(node_t *self)
{
    for (int i = 0; i < self->n_got; i++) {
        free(self->got[i].w);
    }
    self->n_got = 0;
}

static void s_process_update(node_t *self, const uint8_t *buf, size_t n, int from);

static void s_enter_round(node_t *self)
{
    const ledger_state_t *st = s_state(self);
    self->round = chain_height(self->chain);
    self->attempt = 0;
    self->round_start = s_mono();
    self->round_t0 = (double)s_wall_ms() / 1000.0;
    self->trained = 0;
    self->sent_attempt = 0;
    s_free_got(self);
    replay_prune(self->replay, self->round);
    keyring_destroy(&self->members);
    self->members = keyring_new();
    for (int i = 0; i < st->n_members; i++) {
        if (st->members[i].active) {
            keyring_add(self->members, &st->members[i].id);
        }
    }
    s_drop_recorded_pending(self);
    s_allow_members(self);
    // Updates that arrived before we had the previous block.
    int n_early = self->n_early;
    self->n_early = 0;
    for (int i = 0; i < n_early; i++) {
        s_process_update(self, self->early[i], self->early_n[i], -1);
        free(self->early[i]);
    }
}

static void s_print_round(node_t *self, const block_t *b)
{
    char agg[9], eps[48];
    if (budget_is_formal(b->privacy.mechanism)) {
        snprintf(eps, sizeof eps, "eps %.3g (total %.3g)", b->privacy.eps_aggregate,
                 b->privacy.eps_total);
    } else {
        snprintf(eps, sizeof eps, "eps none (%s)",
                 b->privacy.mechanism == NOISE_PAPER ? "no formal guarantee" : "no noise");
    }
    char mh[9];
    hash_short(b->model_hash, mh);
    double s = (double)s_wall_ms() / 1000.0 - self->round_t0;
    printf("%s: round %llu  aggregator %s (attempt %u)  contributors %u/%u  %s  joined %u  "
           "left %u  %s  model %s  %.1f s\n",
           self->pub->name, (unsigned long long)b->index, s_name(self, b->aggregator, agg),
           b->attempt, b->n_contrib, b->n_expected, close_reason_name(b->close_reason),
           b->n_joined, b->n_left, eps, mh, s);
    fflush(stdout);
}

// The global model is saved once the node's sends are out (saving 4.8 MB
// with fsync takes tens of milliseconds that would otherwise delay the
// block's distribution).  A crash in between leaves an older global.fsm,
// which the restart detects by its hash and fetches again from a peer.
static void s_save_global(node_t *self)
{
    self->save_pending = 1;
}

static void s_save_global_now(node_t *self)
{
    self->save_pending = 0;
    fs_err_t err = {0};
    if (global_save(self->global_path, &self->arch, self->global, chain_height(self->chain) - 1,
                    s_state(self)->model_hash, self->cfg.dataset, &err) < 0) {
        log_warn("cannot save the global model (a restart will fetch it again): %s", err.msg);
    }
}

// A block record and its model, from a peer or from ourselves: verify,
// append, adopt.  Returns 0 when appended.
static int s_accept_block(node_t *self, const uint8_t *rec, size_t rec_len, const uint8_t *model,
                          size_t count, fs_err_t *err)
{
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, err);
    if (rc == 0) {
        rc = block_decode(&m, b, err);
    }
    if (rc == 0 && model) {
        uint8_t h[32];
        float *w = xmalloc(count * sizeof(float) + 1);
        memcpy(w, model, count * sizeof(float));
        hash_model(w, count, h);
        if (count != self->n || memcmp(h, b->model_hash, 32) != 0) {
            rc = fs_err_set(err, FS_EVERIFY, "block %llu: the model sent with it does not hash "
                            "to the block's model hash", (unsigned long long)m.round);
            free(w);
        } else {
            free(self->global);
            self->global = w;
        }
    }
    if (rc == 0) {
        rc = chain_append(self->chain, rec, rec_len, err);
    }
    if (rc == 0) {
        self->have_global = model != NULL;
        if (model) {
            s_save_global(self);
        }
        s_print_round(self, &s_state(self)->last);
        s_enter_round(self);
    }
    free(b);
    return rc;
}

// Noise, seal and send (or keep, when we aggregate) our update for the
// current attempt.
static void s_send_update(node_t *self)
{
    uint8_t agg_key[32];
    assemble_aggregator(s_state(self), self->attempt, agg_key);
    self->sent_attempt = self->attempt + 1;
    char nb[9];
    if (memcmp(agg_key, self->pub->sign_pk, 32) == 0) {
        contrib_t *c = &self->got[self->n_got];
        for (int i = 0; i < self->n_got; i++) {
            if (memcmp(self->got[i].key, agg_key, 32) == 0) {
                return; // already counted
            }
        }
        memcpy(c->key, agg_key, 32);
        c->samples = self->samples;
        c->w = xmalloc(self->n * sizeof(float));
        memcpy(c->w, self->update, self->n * sizeof(float));
        // The aggregator seals nothing to itself: its entry in the block
        // records the hash of its update instead of an envelope digest
        // (docs/ledger.md §6).
        hash_model(c->w, self->n, c->digest);
        self->n_got++;
        log_info("round %llu: my update counted (I aggregate attempt %u)",
                 (unsigned long long)self->round, self->attempt);
        return;
    }
    const identity_pub_t *agg = keyring_find(self->members, agg_key);
    if (!agg) {
        return;
    }
    const genesis_t *g = &s_state(self)->genesis;
    envelope_t hdr = {0};
    memcpy(hdr.fed_id, self->fed_id, 32);
    hdr.round = self->round;
    memcpy(hdr.base_hash, s_state(self)->model_hash, 32);
    hdr.samples = self->samples;
    hdr.mechanism = g->mechanism;
    hdr.clip = g->mechanism == NOISE_LAPLACE_CLIPPED ? g->clip : 0;
    hdr.scale = g->mechanism == NOISE_NONE ? 0 : g->member_scale;
    bytes_writer_t w;
    bytes_writer_init(&w);
    fs_err_t err = {0};
    if (envelope_seal(&w, &hdr, self->me, agg, self->update, self->n, &err) < 0) {
        log_error("round %llu: cannot seal the update: %s", (unsigned long long)self->round,
                  err.msg);
        bytes_writer_reset(&w);
        return;
    }
    int p = transport_find(self->net, agg_key);
    if (p >= 0 && transport_peer_connected(self->net, p)) {
        transport_send(self->net, p, WIRE_UPDATE, w.data, w.len, 1);
    } else {
        s_broadcast(self, WIRE_UPDATE, w.data, w.len, -1, 1, 0); // relayed by gossip
    }
    log_info("round %llu: update sent to %s (attempt %u, %zu bytes)",
             (unsigned long long)self->round, s_name(self, agg_key, nb), self->attempt, w.len);
    bytes_writer_reset(&w);
}

// The aggregator's close: average, assemble, sign, append, send.
static void s_close_round(node_t *self)
{
    int64_t t0 = s_mono();
    const ledger_state_t *st = s_state(self);
    const genesis_t *g = &st->genesis;
    fs_err_t err = {0};
    assemble_contrib_t ac[LEDGER_MAX_MEMBERS];
    const float *ws[LEDGER_MAX_MEMBERS];
    uint64_t samples[LEDGER_MAX_MEMBERS];
    for (int i = 0; i < self->n_got; i++) {
        memcpy(ac[i].key, self->got[i].key, 32);
        memcpy(ac[i].envelope, self->got[i].digest, 32);
        ac[i].samples = self->got[i].samples;
        ws[i] = self->got[i].w;
        samples[i] = self->got[i].samples;
    }
    float *next = xmalloc(self->n * sizeof(float));
    if (fedavg_aggregate(next, ws, samples, (size_t)self->n_got, self->n,
                         g->mechanism == NOISE_NONE ? 0 : g->agg_scale, &err) < 0) {
        log_error("round %llu: %s", (unsigned long long)self->round, err.msg);
        free(next);
        return;
    }
    uint8_t mh[32];
    hash_model(next, self->n, mh);
    // membership changes: joins, requested leaves, then the inactive
    const uint8_t *jr[BLOCK_MAX_CHANGES];
    size_t jl[BLOCK_MAX_CHANGES];
    size_t nj = 0;
    for (int i = 0; i < self->n_joins && nj < BLOCK_MAX_CHANGES; i++) {
        if (!s_is_active(self, self->joins[i].key)) {
            jr[nj] = self->joins[i].req;
            jl[nj++] = self->joins[i].n;
        }
    }
    uint8_t lk[BLOCK_MAX_CHANGES][32];
    const uint8_t *lr[BLOCK_MAX_CHANGES];
    size_t ll[BLOCK_MAX_CHANGES];
    size_t nl = 0;
    for (int i = 0; i < self->n_leaves && nl < BLOCK_MAX_CHANGES; i++) {
        if (s_is_active(self, self->leaves[i].key)) {
            memcpy(lk[nl], self->leaves[i].key, 32);
            lr[nl] = self->leaves[i].req;
            ll[nl++] = self->leaves[i].n;
        }
    }
    if (g->inactive_after) {
        for (int i = 0; i < st->n_members && nl < BLOCK_MAX_CHANGES; i++) {
            const ledger_member_t *m = &st->members[i];
            int counted = 0, listed = 0;
            for (int k = 0; k < self->n_got; k++) {
                counted |= memcmp(self->got[k].key, m->id.sign_pk, 32) == 0;
            }
            for (size_t k = 0; k < nl; k++) {
                listed |= memcmp(lk[k], m->id.sign_pk, 32) == 0;
            }
            if (m->active && !counted && !listed && m->missed + 1 >= g->inactive_after) {
                memcpy(lk[nl], m->id.sign_pk, 32);
                lr[nl] = NULL;
                ll[nl++] = 0;
            }
        }
    }
    uint64_t now = s_wall_ms();
    if (now < st->head_time_ms) {
        now = st->head_time_ms; // time never goes back in the ledger
    }
    block_t *b = xmalloc(sizeof *b);
    int rc = assemble_block(st, self->attempt, now, ac, (size_t)self->n_got, jr, jl, nj,
                            (const uint8_t(*)[32])lk, lr, ll, nl, mh, b, &err);
    if (rc == 0) {
        bytes_writer_t w;
        bytes_writer_init(&w);
        block_encode(&w, b, self->fed_id, self->me);
        // Appended (and fsync'd) before it is sent: after a crash we never
        // sign a second block for this round.
        free(self->global);
        self->global = next;
        next = NULL;
        rc = chain_append(self->chain, w.data, w.len, &err);
        if (rc == 0) {
            self->have_global = 1;
            s_save_global(self);
            bytes_writer_t msg;
            bytes_writer_init(&msg);
            wire_block_encode(&msg, w.data, w.len, self->global, self->n);
            s_broadcast(self, WIRE_BLOCK, msg.data, msg.len, -1, 1, 0);
            bytes_writer_reset(&msg);
            uint8_t bh[32];
            block_hash(w.data, w.len, bh);
            s_seen(self, bh);
            log_info("round %llu closed: %d updates averaged, block signed, appended and "
                     "queued to %zu peers in %lld ms", (unsigned long long)self->round,
                     self->n_got, transport_peer_count(self->net), (long long)(s_mono() - t0));
            s_print_round(self, &s_state(self)->last);
            s_enter_round(self);
        }
        bytes_writer_reset(&w);
    }
    if (rc < 0) {
        log_error("round %llu: could not make the block: %s", (unsigned long long)self->round,
                  err.msg);
    }
    free(next);
    free(b);
}

// ------------------------------------------------------------- handlers

static void s_process_update(node_t *self, const uint8_t *buf, size_t n, int from)
{
    sigmsg_t m;
    fs_err_t err = {0};
    const char *who = from >= 0 ? transport_peer_id(self->net, from)->name : "(queued)";
    if (sigmsg_decode(buf, n, ENVELOPE_MAX_BYTES, &m, &err) < 0 || m.type != SIGMSG_UPDATE ||
        m.body_len < 32) {
        log_warn("update from %s refused: %s", who, err.msg[0] ? err.msg : "not an update");
        return;
    }
    if (memcmp(m.body, self->pub->sign_pk, 32) != 0) {
        // for another aggregator: relay once (gossip)
        if (!s_seen(self, m.digest)) {
            int p = transport_find(self->net, m.body);
            if (p >= 0 && p != from && transport_peer_connected(self->net, p)) {
                transport_send(self->net, p, WIRE_UPDATE, buf, n, 1);
            } else {
                s_broadcast(self, WIRE_UPDATE, buf, n, from, 1, 0);
            }
        }
        return;
    }
    if (m.round == self->round + 1 && self->n_early < MAX_EARLY) {
        self->early[self->n_early] = xmalloc(n);
        memcpy(self->early[self->n_early], buf, n);
        self->early_n[self->n_early++] = n;
        return; // we lack the previous block yet
    }
    envelope_expect_t ex = {self->fed_id, self->round, self->me, self->members, self->n,
                            ENVELOPE_MAX_BYTES};
    envelope_t hdr;
    float *w = NULL;
    char nb[9];
    int rc = envelope_open(buf, n, &ex, self->replay, &hdr, &w, &err);
    if (rc == 0 && memcmp(hdr.base_hash, s_state(self)->model_hash, 32) != 0) {
        rc = fs_err_set(&err, FS_ESTALE, "trained from another global model than round %llu's",
                        (unsigned long long)self->round);
    }
    if (rc < 0) {
        log_warn("round %llu: update from %s refused: %s", (unsigned long long)self->round,
                 s_name(self, m.signer, nb), err.msg);
        free(w);
        return;
    }
    contrib_t *c = &self->got[self->n_got++];
    memcpy(c->key, hdr.sender, 32);
    memcpy(c->digest, hdr.digest, 32);
    c->samples = hdr.samples;
    c->w = w;
    log_info("round %llu: update from %s accepted (%llu samples, %d of %zu)",
             (unsigned long long)self->round, s_name(self, hdr.sender, nb),
             (unsigned long long)hdr.samples, self->n_got, keyring_size(self->members));
}

static int s_setup_ledger(node_t *self, fs_err_t *err);
static void s_keep_evidence(node_t *self, const uint8_t *rec, size_t n);

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
    if (!s_acceptable(self, &h->me.id)) {
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
    self->peer[p].height = h->height;
    self->peer[p].seen_ms = s_mono();
    if (!self->peer[p].first_ms) {
        self->peer[p].first_ms = s_mono();
    }
    if (!known) {
        log_info("peer %s at %s (height %llu)", h->me.id.name, h->me.endpoint,
                 (unsigned long long)h->height);
        s_hello(self, p);
    }
    // Whom it hears: a block from one of them reaches it without our relay.
    memset(self->peer[p].hears, 0, sizeof self->peer[p].hears);
    for (int i = 0; i < h->n_peers; i++) {
        int q = transport_find(self->net, h->peers[i].id.sign_pk);
        if (q >= 0 && h->peers[i].heard) {
            self->peer[p].hears[q / 8] |= (uint8_t)(1u << (q % 8));
        }
    }
    // Does it hear us?  If not, our dial was refused before it knew our key.
    int heard = 0, listed = 0;
    for (int i = 0; i < h->n_peers; i++) {
        if (memcmp(h->peers[i].id.sign_pk, self->pub->sign_pk, 32) == 0) {
            listed = 1;
            heard = h->peers[i].heard;
        }
    }
    if (!heard && (listed || h->n_peers < WIRE_HELLO_MAX_PEERS) &&
        s_mono() - self->peer[p].redial_ms > 3000 && s_mono() - self->peer[p].first_ms > 3000) {
        log_info("peer %s does not hear us: re-dialling %s", h->me.id.name, h->me.endpoint);
        transport_reconnect(self->net, p);
        self->peer[p].redial_ms = s_mono();
    }
    for (int i = 0; i < h->n_peers; i++) {
        const wire_peer_t *q = &h->peers[i];
        if (memcmp(q->id.sign_pk, self->pub->sign_pk, 32) != 0 &&
            transport_find(self->net, q->id.sign_pk) < 0 && s_acceptable(self, &q->id)) {
            transport_allow(self->net, &q->id, &err);
            transport_peer(self->net, &q->id, q->endpoint);
        }
    }
    uint64_t mine = self->chain ? chain_height(self->chain) : 0;
    if ((h->height > mine || (self->chain && !self->have_global && h->height >= mine)) &&
        s_mono() - self->last_sync > SYNC_RETRY_MS / 2) {
        s_sync_request(self, p, mine);
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
    uint64_t h = chain_height(self->chain);
    if (from > h) {
        return;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    size_t at;
    wire_sync_begin(&w, &at);
    uint64_t end = from + WIRE_SYNC_MAX_RECORDS < h ? from + WIRE_SYNC_MAX_RECORDS : h;
    for (uint64_t i = from; i < end; i++) {
        const uint8_t *rec;
        size_t n;
        if (chain_record(self->chain, i, &rec, &n) == 0) {
            wire_sync_add(&w, at, rec, n);
        }
    }
    int with_model = end == h && self->have_global;
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
        uint8_t fed[32];
        genesis_t *g = xmalloc(sizeof *g);
        sigmsg_t m;
        int rc = genesis_decode(s.rec[0], s.len[0], g, fed, &m, &err);
        free(g);
        if (rc < 0 || memcmp(fed, self->fed_id, 32) != 0) {
            log_warn("sync reply from %s refused: %s", who,
                     rc < 0 ? err.msg : "its genesis is another federation's");
            return;
        }
        self->chain = chain_create(self->ledger_path, s.rec[0], s.len[0], &err);
        if (!self->chain || s_setup_ledger(self, &err) < 0) {
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
        if (m.round + 1 == h && h >= 2 && i + 1 < s.k) {
            // The peer's block for our head's index has a successor: its
            // chain is longer, and a block with a successor is final.
            const uint8_t *ours;
            size_t ours_n;
            if (chain_record(self->chain, h - 1, &ours, &ours_n) == 0 &&
                (ours_n != s.len[i] || memcmp(ours, s.rec[i], ours_n) != 0)) {
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
                self->have_global = 0;
            }
            continue;
        }
        if (m.round < h) {
            continue;
        }
        if (chain_append(self->chain, s.rec[i], s.len[i], &err) < 0) {
            log_warn("sync reply from %s: block %llu refused: %s", who,
                     (unsigned long long)m.round, err.msg);
            sigmsg_t first;
            fs_err_t e2 = {0};
            if (m.round == h && h >= 2 &&
                sigmsg_decode(s.rec[0], s.len[0], BLOCK_MAX_BYTES, &first, &e2) == 0 &&
                first.round >= h) {
                s_sync_request(self, msg->peer, h - 1); // maybe our head is the odd one
            }
            return;
        }
        appended++;
        self->have_global = 0;
    }
    if (s.model && !self->have_global) {
        uint8_t h[32];
        float *w = xmalloc(s.count * sizeof(float) + 1);
        memcpy(w, s.model, s.count * sizeof(float));
        hash_model(w, s.count, h);
        if (s.count == self->n && memcmp(h, s_state(self)->model_hash, 32) == 0) {
            free(self->global);
            self->global = w;
            self->have_global = 1;
            s_save_global(self);
        } else {
            free(w);
            log_warn("sync reply from %s: its model is not the head's", who);
        }
    }
    if (appended) {
        log_info("synced %d blocks from %s; height %llu", appended, who,
                 (unsigned long long)chain_height(self->chain));
        s_enter_round(self);
        s_hello(self, -1);
    }
}

// Keeps a block that lost the fork rule as evidence (DIR/evidence/).
static void s_keep_evidence(node_t *self, const uint8_t *rec, size_t n)
{
    uint8_t h[32];
    char hex[65], path[CONFIG_PATH_MAX + 128];
    block_hash(rec, n, h);
    bytes_to_hex(h, 32, hex);
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
    uint8_t theirs_h[32], ours_h[32];
    if (chain_record(self->chain, chain_height(self->chain) - 1, &ours, &ours_n) < 0) {
        return;
    }
    block_hash(rec, rec_len, theirs_h);
    block_hash(ours, ours_n, ours_h);
    if (memcmp(theirs_h, ours_h, 32) == 0 || s_seen(self, theirs_h)) {
        return; // our own head again, or a loser already judged
    }
    fs_err_t err = {0};
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, &err);
    rc = rc ? rc : block_decode(&m, b, &err);
    const block_t *head = &s_state(self)->last;
    const char *who = from >= 0 ? transport_peer_id(self->net, from)->name : "a sync reply";
    if (rc == 0 && election_prefer(b->attempt, theirs_h, head->attempt, ours_h) > 0) {
        uint8_t mh[32];
        float *w = NULL;
        if (model && count == self->n) {
            w = xmalloc(count * sizeof(float));
            memcpy(w, model, count * sizeof(float));
            hash_model(w, count, mh);
        }
        uint8_t *keep = xmalloc(ours_n);
        memcpy(keep, ours, ours_n);
        if (!w || memcmp(mh, b->model_hash, 32) != 0) {
            log_warn("competing block %llu from %s wins the fork rule but came without its "
                     "model: asking for it", (unsigned long long)b->index, who);
        } else if ((rc = chain_replace_head(self->chain, rec, rec_len, &err)) < 0) {
            log_warn("competing block %llu from %s refused: %s", (unsigned long long)b->index,
                     who, err.msg);
        } else {
            log_warn("fork at block %llu: replaced our head (attempt %u) by %s's block (attempt "
                     "%u), which the fork rule prefers; ours kept in %s/evidence/",
                     (unsigned long long)b->index, head->attempt, who, b->attempt,
                     self->cfg.dir);
            s_keep_evidence(self, keep, ours_n);
            free(self->global);
            self->global = w;
            w = NULL;
            self->have_global = 1;
            s_save_global(self);
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, rec, rec_len, self->global, self->n);
            s_broadcast(self, WIRE_BLOCK, out.data, out.len, from, 1, 0);
            bytes_writer_reset(&out);
            s_enter_round(self);
        }
        free(keep);
        free(w);
    } else if (rc == 0) {
        log_warn("competing block %llu from %s loses the fork rule to ours (attempt %u vs %u): "
                 "kept ours and sent it back", (unsigned long long)b->index, who, b->attempt,
                 head->attempt);
        s_keep_evidence(self, rec, rec_len);
        if (from >= 0 && self->have_global) {
            bytes_writer_t out;
            bytes_writer_init(&out);
            wire_block_encode(&out, ours, ours_n, self->global, self->n);
            transport_send(self->net, from, WIRE_BLOCK, out.data, out.len, 1);
            bytes_writer_reset(&out);
        }
    }
    s_seen(self, theirs_h);
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
    if (m.round + 1 == h && h >= 2) {
        s_competing_head(self, rec, rec_len, model, count, msg->peer);
        return;
    }
    if (m.round < h) {
        const uint8_t *ours;
        size_t n;
        uint8_t a[32], b[32];
        block_hash(rec, rec_len, a);
        if (chain_record(self->chain, m.round, &ours, &n) == 0) {
            block_hash(ours, n, b);
            if (memcmp(a, b, 32) != 0 && !s_seen(self, a)) {
                log_warn("block %llu from %s differs from ours, which later blocks extend: "
                         "kept ours (a block with a successor is final; docs/federation.md)",
                         (unsigned long long)m.round, who);
            }
        }
        return;
    }
    if (m.round > h) {
        if (s_mono() - self->last_sync > SYNC_RETRY_MS / 2) {
            s_sync_request(self, msg->peer, h);
        }
        return;
    }
    uint8_t bh[32];
    block_hash(rec, rec_len, bh);
    if (s_accept_block(self, rec, rec_len, model, count, &err) < 0) {
        log_warn("block %llu from %s refused: %s", (unsigned long long)m.round, who, err.msg);
        return;
    }
    s_seen(self, bh);
    self->peer[msg->peer].height = h + 1;
    // Gossip on, except to peers that said they have it or that hear its
    // aggregator, who sent it to all it is connected to (in a full mesh
    // nobody relays; with gaps, relays fill them).
    int agg = transport_find(self->net, m.signer);
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        int skip = (int)i == msg->peer || (int)i == agg ||
                   !transport_peer_connected(self->net, (int)i) || self->peer[i].height > h ||
                   (agg >= 0 && (self->peer[i].hears[agg / 8] >> (agg % 8) & 1));
        if (!skip) {
            transport_send(self->net, (int)i, WIRE_BLOCK, msg->data, msg->n, 1);
        }
    }
    s_hello(self, -1);
}

static void s_handle_request(node_t *self, transport_msg_t *msg, int type)
{
    sigmsg_t m;
    fs_err_t err = {0};
    if (!self->chain || sigmsg_decode(msg->data, msg->n, BLOCK_REQUEST_MAX, &m, &err) < 0 ||
        sigmsg_check_version(&m, &err) < 0 || m.type != type ||
        memcmp(m.fed_id, self->fed_id, 32) != 0 || sigmsg_verify(&m, &err) < 0) {
        log_warn("%s request refused: %s", wire_type_name(msg->type),
                 err.msg[0] ? err.msg : "wrong type or federation");
        return;
    }
    if (s_seen(self, m.digest)) {
        return;
    }
    char nb[9];
    if (type == SIGMSG_JOIN) {
        if (s_is_active(self, m.signer)) {
            return;
        }
        log_info("join request from %s", s_name(self, m.signer, nb));
        s_add_pending(self->joins, &self->n_joins, m.signer, msg->data, msg->n);
    } else {
        if (!s_is_active(self, m.signer)) {
            return;
        }
        log_info("leave notice from %s", s_name(self, m.signer, nb));
        s_add_pending(self->leaves, &self->n_leaves, m.signer, msg->data, msg->n);
    }
    s_broadcast(self, msg->type, msg->data, msg->n, msg->peer, 0, 0);
}

static void s_handle(node_t *self, transport_msg_t *msg)
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
            s_process_update(self, msg->data, msg->n, msg->peer);
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

// ------------------------------------------------------------- control

static void s_status(node_t *self, char *buf, size_t cap)
{
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__)
    char fpr[IDENTITY_FPR_CHARS], hex[65];
    identity_fingerprint(self->pub, fpr);
    bytes_to_hex(self->fed_id, 32, hex);
    OUT("node        %s (%s)\n", self->pub->name, fpr);
    OUT("federation  %s\n", self->have_fed ? hex : "(unknown)");
    if (self->chain) {
        const ledger_state_t *st = s_state(self);
        uint8_t agg[32];
        char nb[9];
        assemble_aggregator(st, self->attempt, agg);
        OUT("height      %llu (planned rounds %u)\n", (unsigned long long)chain_height(self->chain),
            st->genesis.rounds);
        OUT("round       %llu, attempt %u, aggregator %s%s\n", (unsigned long long)self->round,
            self->attempt, s_name(self, agg, nb),
            memcmp(agg, self->pub->sign_pk, 32) == 0 ? " (this node)" : "");
        OUT("member      %s%s\n", s_is_active(self, self->pub->sign_pk) ? "active" : "not active",
            self->leaving ? ", leaving" : "");
        OUT("members     %zu active:", keyring_size(self->members));
        for (size_t i = 0; i < keyring_size(self->members); i++) {
            OUT(" %s", keyring_at(self->members, i)->name);
        }
        OUT("\n");
        if (chain_height(self->chain) > 1) {
            const block_t *b = &st->last;
            char mh[9];
            hash_short(b->model_hash, mh);
            OUT("last block  %llu by %s, %u/%u contributors, %s, model %s\n",
                (unsigned long long)b->index, s_name(self, b->aggregator, nb), b->n_contrib,
                b->n_expected, close_reason_name(b->close_reason), mh);
        }
        if (self->local) {
            OUT("training    %s, %d/%u iterations of round %llu\n",
                local_busy(self->local) ? "running" : (self->trained ? "done" : "idle"),
                local_progress(self->local), st->genesis.local_iters,
                (unsigned long long)self->round);
        }
        if (self->n_got) {
            OUT("collected   %d updates for this round\n", self->n_got);
        }
    }
    uint64_t in, out;
    transport_counters(self->net, &in, &out);
    OUT("traffic     %.1f MB in, %.1f MB out\n", (double)in / 1e6, (double)out / 1e6);
    OUT("peers       %zu\n", transport_peer_count(self->net));
    for (size_t i = 0; i < transport_peer_count(self->net); i++) {
        double ago = self->peer[i].seen_ms ? (double)(s_mono() - self->peer[i].seen_ms) / 1000.0
                                           : -1;
        OUT("  %-12s %-28s height %-5llu %s\n", transport_peer_id(self->net, (int)i)->name,
            transport_peer_endpoint(self->net, (int)i),
            (unsigned long long)self->peer[i].height,
            ago < 0 ? "never heard" : ago < 3 ? "alive" : "silent");
    }
#undef OUT
}

static void s_start_leave(node_t *self)
{
    if (!self->chain || !s_is_active(self, self->pub->sign_pk)) {
        self->left = 1;
        return;
    }
    if (!self->leaving) {
        log_info("leaving the federation: the next block will record it");
    }
    self->leaving = 1;
    bytes_writer_t w;
    bytes_writer_init(&w);
    block_leave_request(&w, self->fed_id, chain_height(self->chain), self->me);
    s_add_pending(self->leaves, &self->n_leaves, self->pub->sign_pk, w.data, w.len);
    s_broadcast(self, WIRE_LEAVE, w.data, w.len, -1, 0, 0);
    bytes_writer_reset(&w);
    self->last_leave = s_mono();
}

static void s_handle_control(node_t *self)
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
        s_start_leave(self);
        snprintf(reply, 16384, "%s", self->leaving ? "leaving: the next block records it\n"
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

// ---------------------------------------------------------------- setup

// Once the genesis is known: federation id, architecture, model, trainer.
static int s_setup_ledger(node_t *self, fs_err_t *err)
{
    const ledger_state_t *st = s_state(self);
    if (self->cfg.has_fed_id && memcmp(self->cfg.fed_id, st->fed_id, 32) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: federation/id does not match the ledger at %s",
                          self->cfg.file, self->ledger_path);
    }
    int rc = config_check_genesis(&self->cfg, &st->genesis, err);
    if (rc < 0) {
        return rc;
    }
    memcpy(self->fed_id, st->fed_id, 32);
    self->have_fed = 1;
    if ((rc = global_arch(st->genesis.model, &self->arch, err)) < 0) {
        return rc;
    }
    if (strcmp(st->genesis.dataset, self->cfg.dataset) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: data/set is %s but the federation trains on %s",
                          self->cfg.file, self->cfg.dataset, st->genesis.dataset);
    }
    size_t n;
    free(self->global);
    self->global = global_initial(&self->arch, st->genesis.model_seed, &n);
    self->n = n;
    self->update = xrealloc(self->update, n * sizeof(float));
    if (chain_height(self->chain) == 1) {
        uint8_t h[32];
        hash_model(self->global, n, h);
        if (memcmp(h, st->genesis.initial_model_hash, 32) != 0) {
            return fs_err_set(err, FS_EVERIFY, "the genesis's initial model hash does not match "
                              "dcgan seed %llu on this build",
                              (unsigned long long)st->genesis.model_seed);
        }
        self->have_global = 1;
    } else {
        fs_err_t e2 = {0};
        self->have_global =
            global_load(self->global_path, &self->arch, self->global, st->model_hash, &e2) == 0;
        if (!self->have_global) {
            log_info("the global model of height %llu will be fetched from a peer (%s)",
                     (unsigned long long)chain_height(self->chain), e2.msg);
        }
    }
    if (st->genesis.admission == ADMIT_OPEN && (rc = transport_allow_any(self->net, err)) < 0) {
        return rc;
    }
    dataset_t *data = s_load_data(&self->cfg, err);
    if (!data && self->cfg.data_dir[0]) {
        return err ? err->code : FS_EINVAL;
    }
    if (data) {
        if (data->n < self->cfg.batch) {
            int have = data->n;
            dataset_destroy(&data);
            return fs_err_set(err, FS_EINVAL, "%s: only %d images for batch %ld", self->cfg.file,
                              have, self->cfg.batch);
        }
        self->samples = (uint64_t)data->n;
        uint64_t seed = 0;
        for (int i = 0; i < 8; i++) {
            seed = seed << 8 | self->pub->sign_pk[i];
        }
        self->local = local_new(&self->arch, data, seed, (int)self->cfg.batch,
                                (int)self->cfg.log_every, err);
        if (!self->local) {
            return err ? err->code : FS_EINVAL;
        }
        log_info("local data: %d images (labels %s), %zu parameters", data->n,
                 self->cfg.labels[0] ? self->cfg.labels : "all", n);
    }
    s_enter_round(self);
    return 0;
}

node_t *node_new(const node_config_t *cfg, fs_err_t *err)
{
    node_t *self = xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    self->replay = replay_new();
    self->members = keyring_new();
    snprintf(self->ledger_path, sizeof self->ledger_path, "%s/ledger.fsl", cfg->dir);
    snprintf(self->global_path, sizeof self->global_path, "%s/global.fsm", cfg->dir);
    snprintf(self->allow_dir, sizeof self->allow_dir, "%s/allowed-keys", cfg->dir);
    node_control_endpoint(cfg->dir, self->control_ep, sizeof self->control_ep);
    log_set_prefix(cfg->name);
    if (getenv("FEDSYN_DEBUG")) {
        log_set_level(FS_LOG_DEBUG);
    }
    blas_set_threads((int)cfg->threads);
    if (fsio_mkdirs(cfg->dir, err) < 0) {
        goto fail;
    }
    self->me = identity_load(cfg->keys, err);
    if (!self->me) {
        fs_err_prefix(err, FS_EINVAL, "node/keys: ");
        goto fail;
    }
    self->pub = identity_public(self->me);
    // Size limit for one message: an update or a block with the model, for
    // the largest model a genesis may name here (dcgan:1024 is ~75 M
    // parameters; the envelope limit of 16 Mi weights bounds it first).
    self->net = transport_new(self->me, self->allow_dir, ENVELOPE_MAX_BYTES + BLOCK_MAX_BYTES,
                              err);
    if (!self->net) {
        goto fail;
    }
    self->control = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(self->control, 0);
    unlink(self->control_ep + 6);
    if (zsock_bind(self->control, "%s", self->control_ep) < 0) {
        fs_err_set(err, FS_EIO, "cannot bind the control socket %s", self->control_ep);
        goto fail;
    }
    if (access(self->ledger_path, F_OK) == 0) {
        chain_open_info_t info;
        self->chain = chain_open(self->ledger_path, CHAIN_WRITE, &info, err);
        if (!self->chain) {
            goto fail;
        }
        if (info.truncated_bytes) {
            log_warn("%s: cut a torn tail of %llu bytes (a crash during an append)",
                     self->ledger_path, (unsigned long long)info.truncated_bytes);
        }
    } else if (cfg->genesis[0]) {
        chain_t *src = chain_open(cfg->genesis, CHAIN_READ_ONLY, NULL, err);
        const uint8_t *rec;
        size_t n;
        if (!src || chain_record(src, 0, &rec, &n) < 0) {
            chain_destroy(&src);
            fs_err_prefix(err, FS_EINVAL, "federation/genesis: ");
            goto fail;
        }
        self->chain = chain_create(self->ledger_path, rec, n, err);
        chain_destroy(&src);
        if (!self->chain) {
            goto fail;
        }
    } else if (!cfg->has_fed_id) {
        fs_err_set(err, FS_EINVAL, "%s: no ledger at %s, and neither federation/genesis nor "
                   "federation/id to start one (a joiner names the federation id and a "
                   "bootstrap peer)", cfg->file, self->ledger_path);
        goto fail;
    } else {
        memcpy(self->fed_id, cfg->fed_id, 32);
        self->have_fed = 1;
        log_info("no ledger yet: fetching it from the bootstrap peers");
    }
    for (int i = 0; i < cfg->n_peers; i++) {
        transport_allow(self->net, &cfg->peers[i].id, err);
        transport_peer(self->net, &cfg->peers[i].id, cfg->peers[i].endpoint);
    }
    if (self->chain) {
        log_info("ledger %s: height %llu", self->ledger_path,
                 (unsigned long long)chain_height(self->chain));
        if (s_setup_ledger(self, err) < 0) {
            goto fail;
        }
    }
    s_allow_members(self);
    // Only now, with every key it must admit written, does the inbox listen.
    if (transport_listen(self->net, cfg->listen, err) < 0) {
        goto fail;
    }
    return self;
fail:
    node_destroy(&self);
    return NULL;
}

void node_destroy(node_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    node_t *self = *self_p;
    local_destroy(&self->local);
    s_free_got(self);
    for (int i = 0; i < self->n_early; i++) {
        free(self->early[i]);
    }
    s_free_pending(self->joins, &self->n_joins);
    s_free_pending(self->leaves, &self->n_leaves);
    chain_destroy(&self->chain);
    zsock_destroy(&self->control);
    if (self->control_ep[0]) {
        unlink(self->control_ep + 6);
    }
    transport_destroy(&self->net);
    keyring_destroy(&self->members);
    replay_destroy(&self->replay);
    identity_destroy(&self->me);
    free(self->global);
    free(self->update);
    free(self);
    *self_p = NULL;
}

// ----------------------------------------------------------------- loop

static void s_tick(node_t *self)
{
    int64_t now = s_mono();
    if (now - self->last_hello >= HELLO_EVERY_MS) {
        s_hello(self, -1);
        self->last_hello = now;
    }
    if (!self->chain) {
        return; // the genesis comes with the first sync reply
    }
    const ledger_state_t *st = s_state(self);
    int active = s_is_active(self, self->pub->sign_pk);
    if (self->leaving && !active) {
        if (!self->left) {
            log_info("left the federation (recorded in block %llu)",
                     (unsigned long long)chain_height(self->chain) - 1);
        }
        self->left = 1;
        return;
    }
    if (self->leaving && now - self->last_leave > JOIN_RETRY_MS) {
        s_start_leave(self);
    }
    if (s_federation_done(self)) {
        if (!self->finished_at) {
            self->finished_at = now;
            log_info("the federation's %u planned rounds are done", s_planned(self));
        }
        return;
    }
    if (!active && !self->leaving && self->local && now - self->last_join > JOIN_RETRY_MS) {
        // caught up with every peer we hear from?
        int behind = 0;
        for (size_t i = 0; i < transport_peer_count(self->net); i++) {
            behind |= self->peer[i].height > chain_height(self->chain);
        }
        if (!behind && transport_peer_count(self->net)) {
            bytes_writer_t w;
            bytes_writer_init(&w);
            block_join_request(&w, self->fed_id, chain_height(self->chain), self->me);
            s_add_pending(self->joins, &self->n_joins, self->pub->sign_pk, w.data, w.len);
            s_broadcast(self, WIRE_JOIN, w.data, w.len, -1, 0, 0);
            bytes_writer_reset(&w);
            log_info("asked to join at height %llu", (unsigned long long)chain_height(self->chain));
        }
        self->last_join = now;
    }
    if (!self->have_global) {
        if (now - self->last_sync > SYNC_RETRY_MS) {
            for (size_t i = 0; i < transport_peer_count(self->net); i++) {
                if (self->peer[i].height >= chain_height(self->chain) && self->peer[i].seen_ms) {
                    s_sync_request(self, (int)i, chain_height(self->chain));
                    break;
                }
            }
        }
        return;
    }
    // training and sending
    if (active && !self->leaving && self->local && !self->trained && !local_busy(self->local)) {
        local_start(self->local, self->global, self->n, self->round, (int)st->genesis.local_iters);
    }
    if (self->trained && active && !self->leaving && self->sent_attempt != self->attempt + 1) {
        s_send_update(self);
    }
    // the aggregator's close
    uint8_t agg[32];
    assemble_aggregator(st, self->attempt, agg);
    int64_t deadline = s_attempt_deadline(self, self->attempt);
    if (memcmp(agg, self->pub->sign_pk, 32) == 0 && active) {
        size_t expected = keyring_size(self->members);
        int64_t close_at = deadline - (int64_t)st->genesis.round_timeout_ms / 5;
        if ((size_t)self->n_got == expected) {
            s_close_round(self);
            return;
        }
        if (now >= close_at && self->n_got >= st->genesis.quorum && self->n_got > 0) {
            s_close_round(self);
            return;
        }
    }
    if (now >= deadline) {
        char nb[9], nb2[9];
        uint8_t next[32];
        assemble_aggregator(st, self->attempt + 1, next);
        log_warn("round %llu: no block from %s by the deadline of attempt %u; attempt %u, "
                 "aggregator %s", (unsigned long long)self->round, s_name(self, agg, nb),
                 self->attempt, self->attempt + 1, s_name(self, next, nb2));
        // Updates already addressed to us stay: if we become the candidate
        // later this round, they count (their senders' replays would not).
        self->attempt++;
    }
}

static void s_training_done(node_t *self)
{
    local_stats_t st;
    const float *w = local_result(self->local, &st);
    if (!self->chain || st.round != self->round || !self->have_global) {
        return; // the round moved on while we trained
    }
    const genesis_t *g = &s_state(self)->genesis;
    memcpy(self->update, w, self->n * sizeof(float));
    int bad = 0;
    for (size_t i = 0; i < self->n && !bad; i++) {
        bad = !isfinite(self->update[i]);
    }
    if (bad) {
        log_error("round %llu: local training diverged (NaN or Inf weights); not sending",
                  (unsigned long long)self->round);
        return;
    }
    double norm = noise_member_release(self->update, self->global, self->n, g->mechanism, g->clip,
                                       g->member_scale);
    self->trained = 1;
    log_info("round %llu: trained %d iterations in %.1f s (%.0f img/s, d_loss %.3f, g_loss "
             "%.3f)%s", (unsigned long long)self->round, st.iters, st.seconds, st.images_per_s,
             st.d_loss, st.g_loss, g->mechanism == NOISE_LAPLACE_CLIPPED ? "; update clipped" : "");
    if (g->mechanism == NOISE_LAPLACE_CLIPPED) {
        log_debug("update L1 norm %.4g, clip %.4g", norm, g->clip);
    }
}

int node_run(node_t *self, volatile int *stop, volatile int *leave, fs_err_t *err)
{
    zpoller_t *poller = zpoller_new(transport_inbox(self->net), transport_monitor(self->net),
                                    self->control, NULL);
    if (self->local) {
        zpoller_add(poller, local_pipe(self->local));
    }
    int local_polled = self->local != NULL;
    int rc = 0;
    while (!*stop) {
        if (*leave) {
            *leave = 0;
            s_start_leave(self);
        }
        if (self->local && !local_polled) {
            zpoller_add(poller, local_pipe(self->local));
            local_polled = 1;
        }
        size_t queued = transport_flush(self->net);
        if (queued == 0 && self->save_pending) {
            s_save_global_now(self);
        }
        void *which = zpoller_wait(poller, queued ? 1 : 50);
        if (which == transport_inbox(self->net)) {
            transport_msg_t msg;
            // drain what is there (bounded, so ticks still run)
            for (int k = 0; k < 256 && (zsock_events(which) & ZMQ_POLLIN); k++) {
                if (transport_read(self->net, &msg) == 1) {
                    s_handle(self, &msg);
                    free(msg.data);
                }
            }
        } else if (which == transport_monitor(self->net)) {
            transport_read_monitor(self->net);
        } else if (which == self->control) {
            s_handle_control(self);
        } else if (self->local && which == local_pipe(self->local)) {
            s_training_done(self);
        }
        s_tick(self);
        if (self->left) {
            break;
        }
        // Linger to serve lagging peers; a peer that is gone keeps its
        // queue full, so the wait for an empty queue is bounded too.
        if (self->finished_at && s_mono() - self->finished_at > LINGER_MS &&
            (transport_flush(self->net) == 0 || s_mono() - self->finished_at > 3 * LINGER_MS)) {
            break;
        }
    }
    for (int k = 0; k < 100 && !self->finished_at && transport_flush(self->net); k++) {
        zclock_sleep(20); // let the last messages (a leave, a block) reach the peers
    }
    zpoller_destroy(&poller);
    if (self->save_pending) {
        s_save_global_now(self);
    }
    uint64_t in, out;
    transport_counters(self->net, &in, &out);
    log_info("traffic: %llu bytes sent, %llu received; ledger height %llu",
             (unsigned long long)out, (unsigned long long)in,
             self->chain ? (unsigned long long)chain_height(self->chain) : 0ULL);
    if (*stop) {
        rc = fs_err_set(err, FS_EINTR, "stopped by a signal at height %llu (a restart catches "
                        "up from the peers)",
                        self->chain ? (unsigned long long)chain_height(self->chain) : 0ULL);
    }
    return rc;
}
