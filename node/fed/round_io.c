/* round_io.c - performing the round (see round_io.h). */
#include "node/fed/round_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "ledger/assemble.h"
#include "ledger/budget.h"
#include "node/base/bytes.h"
#include "node/base/floats.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/fedavg.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"
#include "node/privacy/noise.h"

struct round_io {
    const identity_t *me;       // borrowed
    const identity_pub_t *pub;
    store_t *store;             // borrowed: ledger and model
    mesh_t *mesh;               // borrowed: peers
    members_t *mem;             // borrowed: pending joins and leaves
    long score_every;           // quality/score-every (0: none)
    // the round: its decisions are node/proto/round.h's; we perform them
    round_t rs;
    float *update;              // the trained, noised update (rs.update borrows it)
    uint64_t samples;           // the member's images (0: no data)
    local_t *local;             // NULL when the node holds no data
    opener_t *opener;           // opens updates on worker threads
    scorer_t *scorer;           // quality scores, or NULL
    local_stats_t last_train;   // this member's last finished local round
    int has_last_train;         // last_train is set
    double round_t0;            // wall seconds, for the per-round line
    int64_t close_failed_ms;    // when a failed close was last logged (once a second)
    int close_failures;         // failed closes not logged since
    witness_io_t *wit;          // majority-witnessed federations (witness_io.h), else NULL
    int record_dp;              // this member trains with DP-SGD (round_io_set_record_dp)
    double dp_q, dp_sigma;      // ... at this rate and noise multiplier
    uint64_t dp_steps;          // ... for this many steps a round
    int record_spent;           // its records' budget allows no further round
};

round_io_t *round_io_new(const identity_t *me, store_t *store, mesh_t *mesh, members_t *mem,
                         long score_every)
{
    round_io_t *self = xcalloc(1, sizeof *self);
    self->me = me;
    self->pub = identity_public(me);
    self->store = store;
    self->mesh = mesh;
    self->mem = mem;
    self->score_every = score_every;
    round_init(&self->rs, self->pub->sign_pk, 0);
    self->opener = opener_new(me);
    return self;
}

void round_io_destroy(round_io_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    round_io_t *self = *self_p;
    local_destroy(&self->local);
    scorer_destroy(&self->scorer);
    opener_destroy(&self->opener); // its workers use the identity
    round_free(&self->rs);
    witness_io_destroy(&self->wit);
    free(self->update);
    free(self);
    *self_p = NULL;
}

int round_io_setup(round_io_t *self, local_t *local, uint64_t samples, scorer_t *scorer,
                   int have_global, fs_err_t *err)
{
    if (store_state(self->store)->genesis.finality == GENESIS_FINALITY_MAJORITY && !self->wit &&
        !(self->wit = witness_io_new(self->me, self->store, self->mesh, err))) {
        local_destroy(&local);
        scorer_destroy(&scorer);
        return err && err->code ? err->code : FS_EIO;
    }
    local_destroy(&self->local);
    self->local = local;
    self->samples = samples;
    if (scorer) {
        scorer_destroy(&self->scorer);
        self->scorer = scorer;
    }
    self->update = xrealloc(self->update, store_model_size(self->store) * sizeof(float));
    round_free(&self->rs); // nothing counted yet: the trainer is known only now
    round_init(&self->rs, self->pub->sign_pk, self->local != NULL);
    members_free(self->mem);
    members_init(self->mem, self->pub->sign_pk, self->local != NULL);
    round_io_set_have_global(self, have_global);
    round_io_enter(self);
    return 0;
}

witness_io_t *round_io_witness(const round_io_t *self) { return self->wit; }

void round_io_set_record_dp(round_io_t *self, double q, double sigma, uint64_t steps)
{
    self->record_dp = 1;
    self->dp_q = q;
    self->dp_sigma = sigma;
    self->dp_steps = steps;
}

int round_io_record_spent(const round_io_t *self) { return self->record_spent; }

// Would one more round keep this member's records within the budget?  If
// not, it trains no more, and says so once.
static int s_record_budget_allows(round_io_t *self, uint64_t round)
{
    if (!self->record_dp) {
        return 1;
    }
    const ledger_state_t *st = store_state(self->store);
    const double now = ledger_state_record_eps(st, self->pub->sign_pk, 0, 0, 0);
    const double after =
        ledger_state_record_eps(st, self->pub->sign_pk, self->dp_q, self->dp_sigma, self->dp_steps);
    if (ledger_state_record_within(st, after)) {
        log_debug("round %llu: my records' epsilon %.4g, %.4g after this round (budget %g)",
                  (unsigned long long)round, now, after, st->genesis.record_eps);
        return 1;
    }
    if (!self->record_spent) {
        log_warn("round %llu: record-level DP: my records have spent epsilon %.4g of the budget "
                 "%g (delta %g), and one more round would bring it to %.4g: this member "
                 "stops contributing and leaves; the federation goes on with the others",
                 (unsigned long long)round, now, st->genesis.record_eps, st->genesis.record_delta,
                 after);
    }
    self->record_spent = 1;
    round_stop_training(&self->rs);
    return 0;
}

round_t *round_io_round(round_io_t *self) { return &self->rs; }
const round_t *round_io_round_const(const round_io_t *self) { return &self->rs; }
local_t *round_io_local(const round_io_t *self) { return self->local; }
opener_t *round_io_opener(const round_io_t *self) { return self->opener; }
scorer_t *round_io_scorer(const round_io_t *self) { return self->scorer; }

void round_io_set_have_global(round_io_t *self, int have)
{
    round_event_t e = {.kind = ROUND_EV_MODEL, .flag = have};
    round_actions_t none;
    round_on_event(&self->rs, &e, now_mono_ms(), &none);
}

void round_io_set_behind(round_io_t *self, int behind)
{
    round_event_t e = {.kind = ROUND_EV_BEHIND, .flag = behind};
    round_actions_t none;
    round_on_event(&self->rs, &e, now_mono_ms(), &none);
}

// A block a majority witnessed: its certificate durable, then the block
// appended as any block is (round_io_accept_block), then the next round.
static void s_finalize(round_io_t *self, witness_final_t *f)
{
    if (!f->rec) {
        return;
    }
    uint8_t hash[HASH_BYTES];
    block_hash(f->rec, f->n, hash);
    uint64_t height = store_height(self->store);
    fs_err_t err = {0};
    int rc = witness_io_keep_cert(self->wit, height, hash, f->cert, &err);
    if (rc == 0) {
        log_info("round %llu: final, witnessed by %u of the %zu members at attempt %u",
                 (unsigned long long)height, f->cert->n, keyring_size(self->rs.members),
                 f->cert->ballot);
        rc = round_io_accept_block(self, f->rec, f->n, (const uint8_t *)f->model,
                                   f->model ? store_model_size(self->store) : 0, &err);
    }
    if (rc < 0) {
        log_error("round %llu: the final block could not be appended: %s",
                  (unsigned long long)height, err.msg);
    }
    witness_final_free(f);
}

void round_io_enter(round_io_t *self)
{
    const ledger_state_t *st = store_state(self->store);
    round_begin(&self->rs, st, now_mono_ms()); // also the members' keyring, the replay set
    self->round_t0 = (double)now_wall_ms() / 1000.0;
    members_on_block(self->mem, st);
    mesh_allow_members(self->mesh);
    // Updates that arrived before we had the previous block.
    uint8_t *early[ROUND_MAX_EARLY];
    size_t early_n[ROUND_MAX_EARLY];
    int n_early = round_take_early(&self->rs, early, early_n);
    for (int i = 0; i < n_early; i++) {
        round_io_process_update(self, early[i], early_n[i], -1); // takes it
    }
    if (self->wit) {
        witness_final_t f = {0};
        witness_io_enter(self->wit, &self->rs, &f);
        s_finalize(self, &f);
    }
}

void round_io_print(round_io_t *self, const block_t *b)
{
    char agg[9], eps[80];
    if (budget_is_formal(b->privacy.mechanism)) {
        snprintf(eps, sizeof eps, "eps %.3g (total %.3g basic, %.3g tight)",
                 b->privacy.eps_member, b->privacy.eps_total, b->privacy.eps_total_adv);
    } else {
        snprintf(eps, sizeof eps, "eps none (%s)",
                 b->privacy.mechanism == NOISE_PAPER ? "no formal guarantee" : "no noise");
    }
    char mh[9];
    hash_short(b->model_hash, mh);
    double s = (double)now_wall_ms() / 1000.0 - self->round_t0;
    printf("%s: round %llu  aggregator %s (attempt %u)  contributors %u/%u  %s  joined %u  "
           "left %u  %s  model %s  %.1f s\n",
           self->pub->name, (unsigned long long)b->index,
           store_name(self->store, b->aggregator, agg), b->attempt, b->n_contrib, b->n_expected,
           close_reason_name(b->close_reason), b->n_joined, b->n_left, eps, mh, s);
    fflush(stdout);
    // the same for the JSON log (node/log-json); eps null without a guarantee
    char fields[1024], hex[2 * HASH_BYTES + 1], name[64], em[32] = "null", et[32] = "null";
    bytes_to_hex(b->model_hash, HASH_BYTES, hex);
    log_json_string(store_name(self->store, b->aggregator, agg), name, sizeof name);
    if (budget_is_formal(b->privacy.mechanism)) {
        snprintf(em, sizeof em, "%.6g", b->privacy.eps_member);
        snprintf(et, sizeof et, "%.6g", b->privacy.eps_total_adv);
    }
    snprintf(fields, sizeof fields, "\"round\": %llu, \"aggregator\": %s, \"attempt\": %u, "
             "\"contributors\": %u, \"expected\": %u, \"close\": \"%s\", \"joined\": %u, "
             "\"left\": %u, \"eps_member\": %s, \"eps_total\": %s, \"model_hash\": \"%s\", "
             "\"seconds\": %.3f", (unsigned long long)b->index, name, b->attempt, b->n_contrib,
             b->n_expected, close_reason_name(b->close_reason), b->n_joined, b->n_left, em, et,
             hex, s);
    log_json_event("round", fields);
    for (int i = 0; i < b->n_motions; i++) {
        const motion_t *m = &b->motions[i];
        log_info("round %llu records the members' vote: %s %s (signed by %u of the %u active "
                 "members)", (unsigned long long)b->index, motion_action_name(m->action),
                 m->candidate.name, m->n, b->n_expected);
    }
}

// The head's model goes to the quality scorer (scorer.h) when its block is
// a multiple of quality/score-every or the last planned one.
static void s_score_global(round_io_t *self)
{
    if (!self->scorer || store_height(self->store) < 2) {
        return; // the genesis's model is not a round's result
    }
    uint64_t index = store_height(self->store) - 1;
    if (index % (uint64_t)self->score_every != 0 && index != store_planned(self->store)) {
        return;
    }
    // this member's losses of the round that made the block, if it trained it
    const workload_arch_t *arch = store_arch(self->store);
    scorer_losses_t losses = {{workload_stat_name(arch, 0), workload_stat_name(arch, 1)},
                              {self->last_train.loss_a, self->last_train.loss_b}};
    int trained = self->has_last_train && self->last_train.round == index;
    scorer_put(self->scorer, store_global(self->store), store_model_size(self->store), index,
               store_state(self->store)->model_hash, trained ? &losses : NULL);
}

void round_io_adopt_model(round_io_t *self, float *w)
{
    // a head appended without its model (a sync) gets the durable copy now
    fs_err_t err = {0, ""};
    if (store_make_durable(self->store, w, store_height(self->store) - 1,
                           store_state(self->store)->model_hash, &err) < 0) {
        log_warn("%s (a restart fetches it from a peer)", err.msg);
    }
    store_take_model(self->store, w);
    round_io_set_have_global(self, 1);
    s_score_global(self);
}

// A block record and its model, from a peer or from ourselves: verify,
// append, adopt.  Returns 0 when appended.
int round_io_accept_block(round_io_t *self, const uint8_t *rec, size_t rec_len,
                          const uint8_t *model, size_t count, fs_err_t *err)
{
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    float *w = NULL;
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, err);
    if (rc == 0) {
        rc = block_decode(&m, b, err);
    }
    if (rc == 0 && model && !(w = store_model_check(self->store, model, count, b->model_hash))) {
        rc = fs_err_set(err, FS_EVERIFY, "block %llu: the model sent with it does not hash to "
                        "the block's model hash", (unsigned long long)m.round);
    }
    if (rc == 0 && w) { // durable before the block is: nothing acted on is lost
        rc = store_make_durable(self->store, w, b->index, b->model_hash, err);
    }
    if (rc == 0) {
        rc = store_append(self->store, rec, rec_len, err);
    }
    if (rc == 0) {
        // Only a block the ledger accepted replaces the global model.
        if (w) {
            round_io_adopt_model(self, w);
            w = NULL;
        } else {
            round_io_set_have_global(self, 0); // a sync reply fetches it
        }
        round_io_print(self, &store_state(self->store)->last);
        round_io_enter(self);
    }
    free(w);
    free(b);
    return rc;
}

// Seals and sends our update to the aggregator of the action's attempt
// (when that is us, round.c has counted it already).
static void s_send_update(round_io_t *self, const round_action_t *a)
{
    char nb[9];
    if (memcmp(a->peer, self->pub->sign_pk, IDENTITY_KEY_BYTES) == 0) {
        log_info("round %llu: my update counted (I aggregate attempt %u)",
                 (unsigned long long)a->round, a->attempt);
        return;
    }
    const identity_pub_t *agg = round_member(&self->rs, a->peer);
    if (!agg) {
        return;
    }
    const genesis_t *g = &store_state(self->store)->genesis;
    envelope_t hdr = {0};
    memcpy(hdr.fed_id, store_fed_id(self->store), HASH_BYTES);
    hdr.round = a->round;
    memcpy(hdr.base_hash, store_state(self->store)->model_hash, HASH_BYTES);
    hdr.samples = self->samples;
    hdr.mechanism = g->mechanism;
    hdr.clip = budget_is_formal(g->mechanism) ? g->clip : 0;
    hdr.scale = g->mechanism == NOISE_NONE ? 0 : g->member_scale;
    if (self->record_dp) {
        hdr.dp_q = self->dp_q;
        hdr.dp_sigma = self->dp_sigma;
        hdr.dp_steps = self->dp_steps;
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    fs_err_t err = {0};
    if (envelope_seal(&w, &hdr, self->me, agg, self->update, store_model_size(self->store),
                      &err) < 0) {
        log_error("round %llu: cannot seal the update: %s", (unsigned long long)a->round,
                  err.msg);
        bytes_writer_reset(&w);
        return;
    }
    transport_t *net = mesh_transport(self->mesh);
    int p = transport_find(net, a->peer);
    if (p >= 0 && transport_peer_connected(net, p)) {
        transport_send(net, p, WIRE_UPDATE, w.data, w.len, 1);
    } else {
        mesh_broadcast(self->mesh, WIRE_UPDATE, w.data, w.len, -1, 1, 0); // relayed by gossip
    }
    log_info("round %llu: update sent to %s (attempt %u, %zu bytes)",
             (unsigned long long)a->round, store_name(self->store, a->peer, nb), a->attempt,
             w.len);
    bytes_writer_reset(&w);
}

// The aggregator's close: average, assemble, sign, append, send.
static void s_close_round(round_io_t *self, uint8_t close_reason)
{
    (void)close_reason; // assemble_block sets what the block's contents call for
    if (self->wit) {
        // a proposal: may we propose our own block now (finality.h)?
        witness_final_t f = {0};
        int own = witness_io_close(self->wit, &self->rs, &f);
        s_finalize(self, &f);
        if (!own) {
            return;
        }
    }
    int64_t t0 = now_mono_ms();
    const ledger_state_t *st = store_state(self->store);
    const genesis_t *g = &st->genesis;
    fs_err_t err = {0};
    assemble_contrib_t ac[LEDGER_MAX_MEMBERS];
    const float *ws[LEDGER_MAX_MEMBERS];
    uint64_t samples[LEDGER_MAX_MEMBERS];
    const round_contrib_t *got = self->rs.got;
    int n_got = self->rs.n_got;
    for (int i = 0; i < n_got; i++) {
        memcpy(ac[i].key, got[i].key, IDENTITY_KEY_BYTES);
        memcpy(ac[i].envelope, got[i].digest, HASH_BYTES);
        ac[i].samples = got[i].samples;
        ac[i].dp_q = got[i].dp_q;
        ac[i].dp_sigma = got[i].dp_sigma;
        ac[i].dp_steps = got[i].dp_steps;
        ws[i] = got[i].w;
        samples[i] = got[i].samples;
    }
    const size_t n = store_model_size(self->store);
    float *next = xmalloc(n * sizeof(float));
    // The server step starts from the round's global model, which the
    // aggregator holds whenever it trained this round; without it, it
    // cannot close (the next candidate will, after the attempt's deadline).
    const double eta = genesis_server_lr(g);
    const float *prev = self->rs.have_model ? store_global(self->store) : NULL;
    if (fedavg_aggregate(next, ws, samples, (size_t)n_got, n, prev, eta, g->mechanism,
                         g->mechanism == NOISE_NONE ? 0 : g->agg_scale, &err) < 0) {
        log_error("round %llu: %s", (unsigned long long)self->rs.round, err.msg);
        free(next);
        return;
    }
    uint8_t mh[HASH_BYTES];
    hash_model(next, n, mh);
    // membership changes (node/proto/members.h): joins, requested leaves,
    // then the inactive
    uint8_t counted[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    for (int i = 0; i < n_got; i++) {
        memcpy(counted[i], got[i].key, IDENTITY_KEY_BYTES);
    }
    members_changes_t mc;
    members_changes(self->mem, st, (const uint8_t(*)[IDENTITY_KEY_BYTES])counted, (size_t)n_got,
                    &mc);
    uint64_t now = now_wall_ms();
    if (now < st->head_time_ms) {
        now = st->head_time_ms; // time never goes back in the ledger
    }
    block_t *b = xmalloc(sizeof *b);
    int rc = assemble_block(st, self->rs.attempt, now, ac, (size_t)n_got, mc.join_reqs,
                            mc.join_lens, mc.n_join,
                            (const uint8_t(*)[IDENTITY_KEY_BYTES])mc.leave_keys, mc.leave_reqs,
                            mc.leave_lens, mc.n_leave, mh, b, &err);
    for (size_t i = 0; rc == 0 && b->has_motions && i < mc.n_motions; i++) {
        b->motions[b->n_motions++] = *mc.motions[i]; // signed by a majority
    }
    if (rc == 0 && self->wit && b->index >= 2) {
        const witness_cert_t *c = witness_io_head_cert(self->wit);
        if (c) {
            b->commit = *c; // the witnesses of our head, which this block builds on
        } else {
            rc = fs_err_set(&err, FS_EPEER, "the certificate of our head block is not "
                            "here yet (a sync reply brings it)");
        }
    }
    if (rc == 0 && self->wit) {
        bytes_writer_t w;
        bytes_writer_init(&w);
        block_encode(&w, b, store_fed_id(self->store), self->me);
        // its model durable first (a majority then holds it once final)
        rc = store_make_durable(self->store, next, b->index, b->model_hash, &err);
        if (rc == 0) {
            witness_final_t f = {0};
            log_info("round %llu: %d updates averaged into the proposal of attempt %u in %lld "
                     "ms", (unsigned long long)b->index, n_got, self->rs.attempt,
                     (long long)(now_mono_ms() - t0));
            witness_io_propose(self->wit, &self->rs, w.data, w.len, next, &f);
            s_finalize(self, &f);
        }
        bytes_writer_reset(&w);
    } else if (rc == 0) {
        bytes_writer_t w;
        bytes_writer_init(&w);
        block_encode(&w, b, store_fed_id(self->store), self->me);
        // Its model durable first, then the block appended (and fsync'd)
        // before it is sent: after a crash we never sign a second block for
        // this round, and we hold the model of every block we have.
        rc = store_make_durable(self->store, next, b->index, b->model_hash, &err);
        if (rc == 0) {
            rc = store_append(self->store, w.data, w.len, &err);
        }
        if (rc == 0) {
            round_io_adopt_model(self, next);
            next = NULL;
            bytes_writer_t msg;
            bytes_writer_init(&msg);
            wire_block_encode(&msg, w.data, w.len, store_global(self->store), n);
            mesh_broadcast(self->mesh, WIRE_BLOCK, msg.data, msg.len, -1, 1, 0);
            bytes_writer_reset(&msg);
            uint8_t bh[HASH_BYTES];
            block_hash(w.data, w.len, bh);
            peers_seen(mesh_peers(self->mesh), bh);
            log_info("round %llu closed: %d updates averaged, block signed, appended and "
                     "queued to %zu peers in %lld ms", (unsigned long long)b->index,
                     n_got, mesh_peer_count(self->mesh), (long long)(now_mono_ms() - t0));
            round_io_print(self, &store_state(self->store)->last);
            round_io_enter(self);
        }
        bytes_writer_reset(&w);
    }
    // The round state tries a failed close again at every tick (a transient
    // cause: out of descriptors, say): one line a second says so.
    if (rc < 0 && now_mono_ms() - self->close_failed_ms >= 1000) {
        log_warn("round %llu: could not make the block (tried again at every tick): %s%s",
                 (unsigned long long)self->rs.round, err.msg,
                 self->close_failures ? " (and failed again since the last line)" : "");
        self->close_failed_ms = now_mono_ms();
        self->close_failures = 0;
    } else if (rc < 0) {
        self->close_failures++;
    }
    free(next);
    free(b);
}

// Takes buf (n bytes, malloc'd): routes an update for another aggregator,
// keeps one for the next round, and hands one for this round to the
// opener's workers; round_io_finish_update takes it from there.
void round_io_process_update(round_io_t *self, uint8_t *buf, size_t n, int from)
{
    sigmsg_t m;
    fs_err_t err = {0};
    const char *who = mesh_peer_name(self->mesh, from);
    // framing only: envelope_open decodes again with the digest
    if (sigmsg_parse(buf, n, ENVELOPE_MAX_BYTES, &m, &err) < 0 || m.type != SIGMSG_UPDATE ||
        m.body_len < IDENTITY_KEY_BYTES) {
        log_warn("update from %s refused: %s", who, err.msg[0] ? err.msg : "not an update");
        free(buf);
        return;
    }
    if (memcmp(m.body, self->pub->sign_pk, IDENTITY_KEY_BYTES) != 0) {
        // for another aggregator: relay once (gossip), known by its digest
        sigmsg_compute_digest(buf, &m);
        if (!peers_seen(mesh_peers(self->mesh), m.digest)) {
            transport_t *net = mesh_transport(self->mesh);
            int p = transport_find(net, m.body);
            if (p >= 0 && p != from && transport_peer_connected(net, p)) {
                transport_send(net, p, WIRE_UPDATE, buf, n, 1);
            } else {
                mesh_broadcast(self->mesh, WIRE_UPDATE, buf, n, from, 1, 0);
            }
        }
        free(buf);
        return;
    }
    if (round_keep_early(&self->rs, m.round, buf, n)) {
        return; // we lack the previous block yet
    }
    open_job_t *job = xcalloc(1, sizeof *job);
    job->buf = buf;
    job->n = n;
    memcpy(job->fed_id, store_fed_id(self->store), HASH_BYTES);
    job->round = self->rs.round;
    memcpy(job->signer, m.signer, IDENTITY_KEY_BYTES);
    const identity_pub_t *sender = round_member(&self->rs, m.signer);
    if (sender) {
        job->sender = *sender;
        job->sender_known = 1;
    }
    job->expected_count = store_model_size(self->store);
    job->from = from;
    if (opener_submit(self->opener, job) < 0) {
        opener_run(self->me, job); // all workers busy: open it here
        round_io_finish_update(self, job);
    }
}

void round_io_finish_update(round_io_t *self, open_job_t *job)
{
    char nb[9];
    if (!store_chain(self->store) || job->round != self->rs.round) {
        log_debug("an update for round %llu was opened after the round closed: dropped",
                  (unsigned long long)job->round);
        opener_job_free(&job);
        return;
    }
    int rc = job->rc;
    fs_err_t err = job->err;
    const envelope_t *hdr = &job->hdr;
    const ledger_state_t *st = store_state(self->store);
    // record-level DP: the sender's DP-SGD figures, within its budget
    // (what the block will record: ledger/state.c rule 9c)
    if (rc == 0 && st->genesis.record_dp) {
        if (hdr->dp_steps == 0) {
            rc = fs_err_set(&err, FS_EVERIFY, "the genesis asks for record-level DP, and the "
                            "update carries no DP-SGD figures");
        } else {
            const double after = ledger_state_record_eps(st, hdr->sender, hdr->dp_q,
                                                         hdr->dp_sigma, hdr->dp_steps);
            if (!ledger_state_record_within(st, after)) {
                rc = fs_err_set(&err, FS_EVERIFY, "its records' epsilon would reach %.4g, past "
                                "the budget %g", after, st->genesis.record_eps);
            }
        }
    }
    // 8. replay, and the model it started from: the round's checks
    // (node/proto/round.h), where the replay set lives (opener.h)
    if (rc == 0) {
        round_event_t e = {.kind = ROUND_EV_UPDATE, .round = hdr->round, .w = job->w,
                           .samples = hdr->samples};
        if (st->genesis.record_dp) {
            e.dp_q = hdr->dp_q;
            e.dp_sigma = hdr->dp_sigma;
            e.dp_steps = hdr->dp_steps;
        }
        memcpy(e.key, hdr->sender, IDENTITY_KEY_BYTES);
        memcpy(e.digest, hdr->digest, HASH_BYTES);
        memcpy(e.base, hdr->base_hash, HASH_BYTES);
        round_actions_t none;
        rc = round_on_event(&self->rs, &e, now_mono_ms(), &none);
        if (rc == 0) {
            job->w = NULL; // the round took it
        } else if (rc == FS_EREPLAY) {
            fs_err_set(&err, rc, "update from member %s: a second update for round %llu "
                       "(replay)", job->sender.name, (unsigned long long)hdr->round);
        } else if (rc == FS_ESTALE) {
            fs_err_set(&err, rc, "trained from another global model than round %llu's",
                       (unsigned long long)self->rs.round);
        } else {
            fs_err_set(&err, rc, "not counted by the round (%s)", fs_strerror(rc));
        }
    }
    if (rc < 0) {
        log_warn("round %llu: update from %s refused: %s", (unsigned long long)self->rs.round,
                 store_name(self->store, job->signer, nb), err.msg);
        opener_job_free(&job);
        return;
    }
    log_info("round %llu: update from %s accepted (%llu samples, %d of %zu)",
             (unsigned long long)self->rs.round, store_name(self->store, hdr->sender, nb),
             (unsigned long long)hdr->samples, self->rs.n_got, keyring_size(self->rs.members));
    opener_job_free(&job);
}

void round_io_training_done(round_io_t *self)
{
    const size_t n = store_model_size(self->store);
    const workload_arch_t *arch = store_arch(self->store);
    local_stats_t st;
    // self->update now holds the trained vector (a swap, not a copy)
    local_take_result(self->local, &self->update, &st);
    self->last_train = st;
    self->has_last_train = 1;
    round_event_t e = {.kind = ROUND_EV_TRAINED, .round = st.round, .update = self->update,
                       .n = n, .samples = self->samples};
    if (self->record_dp) {
        e.dp_q = self->dp_q;
        e.dp_sigma = self->dp_sigma;
        e.dp_steps = self->dp_steps;
    }
    round_actions_t none;
    if (!store_chain(self->store) || st.round != self->rs.round || !self->rs.have_model) {
        // the round moved on while we trained
        round_on_event(&self->rs, &e, now_mono_ms(), &none);
        return;
    }
    const genesis_t *g = &store_state(self->store)->genesis;
    if (floats_first_nonfinite(self->update, n) < n) {
        log_error("round %llu: local training diverged (NaN or Inf weights); not sending",
                  (unsigned long long)self->rs.round);
        round_on_event(&self->rs, &e, now_mono_ms(), &none);
        return;
    }
    double norm = noise_member_release(self->update, store_global(self->store), n, g->mechanism,
                                       g->clip, g->member_scale);
    e.flag = 1;
    round_on_event(&self->rs, &e, now_mono_ms(), &none);
    log_info("round %llu: trained %d iterations in %.1f s (%.0f img/s, %s %.3f, %s %.3f)%s",
             (unsigned long long)self->rs.round, st.iters, st.seconds, st.images_per_s,
             workload_stat_name(arch, 0), st.loss_a, workload_stat_name(arch, 1), st.loss_b,
             budget_is_formal(g->mechanism) ? "; update clipped" : "");
    if (budget_is_formal(g->mechanism)) {
        log_debug("update %s norm %.4g, clip %.4g",
                  g->mechanism == NOISE_GAUSSIAN_CLIPPED ? "L2" : "L1", norm, g->clip);
    }
}

static void s_perform(round_io_t *self, const round_action_t *a)
{
    char nb[9], nb2[9];
    switch (a->kind) {
    case ROUND_ACT_TRAIN:
        if (!s_record_budget_allows(self, a->round)) {
            break;
        }
        log_debug("round %llu: training starts", (unsigned long long)a->round);
        local_start(self->local, store_global(self->store), store_model_size(self->store),
                    a->round, (int)store_state(self->store)->genesis.local_iters);
        break;
    case ROUND_ACT_SEND_UPDATE: s_send_update(self, a); break;
    case ROUND_ACT_CLOSE: s_close_round(self, a->close_reason); break;
    case ROUND_ACT_NEXT_ATTEMPT:
        // Updates already addressed to us stay: if we become the candidate
        // later this round, they count (their senders' replays would not).
        log_warn("round %llu: no block from %s by the deadline of attempt %u; attempt %u, "
                 "aggregator %s", (unsigned long long)a->round,
                 store_name(self->store, a->prev, nb), a->attempt - 1, a->attempt,
                 store_name(self->store, a->peer, nb2));
        if (self->wit) {
            witness_final_t f = {0};
            witness_io_attempt(self->wit, &self->rs, a->attempt, &f);
            s_finalize(self, &f);
        }
        break;
    default: break;
    }
}

void round_io_witness_message(round_io_t *self, int type, const uint8_t *data, size_t n,
                              int from)
{
    if (!self->wit) {
        log_warn("a %s message from %s, but this federation's blocks need no witnesses: "
                 "dropped", wire_type_name(type), mesh_peer_name(self->mesh, from));
        return;
    }
    uint64_t height = store_height(self->store);
    uint32_t jump = 0;
    witness_final_t f = {0};
    witness_io_on_message(self->wit, &self->rs, type, data, n, from, &jump, &f);
    s_finalize(self, &f);
    // A voter is at a later attempt of this round than we are: join it
    // (its clock started the round earlier, or we restarted).
    if (store_height(self->store) == height && self->rs.have_model &&
        round_jump(&self->rs, jump, now_mono_ms())) {
        log_info("round %llu: to attempt %u, as %s is", (unsigned long long)height,
                 self->rs.attempt, mesh_peer_name(self->mesh, from));
        witness_io_attempt(self->wit, &self->rs, self->rs.attempt, &f);
        s_finalize(self, &f);
    }
}

void round_io_tick(round_io_t *self, int64_t now)
{
    // training, sending, the aggregator's close and failover: decided by
    // node/proto/round.c, performed here (a close starts the next round,
    // after which the round emits nothing more this tick)
    uint8_t leavers[BLOCK_MAX_CHANGES][IDENTITY_KEY_BYTES];
    size_t n = members_leavers(self->mem, store_state(self->store), leavers);
    round_set_leavers(&self->rs, (const uint8_t(*)[IDENTITY_KEY_BYTES])leavers, n);
    if (self->wit && self->rs.have_model && !self->rs.behind &&
        self->rs.proposed_attempt != self->rs.attempt + 1) {
        // an attempt's aggregator that must propose again a block of an
        // earlier attempt does so at once, without waiting for updates
        witness_final_t f = {0};
        witness_io_close(self->wit, &self->rs, &f);
        s_finalize(self, &f);
    }
    round_actions_t acts;
    round_tick(&self->rs, now, &acts);
    for (int i = 0; i < acts.n; i++) {
        s_perform(self, &acts.act[i]);
    }
}
