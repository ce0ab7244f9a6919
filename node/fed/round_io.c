/* round_io.c - what the node does for the round: performs the actions that
 * node/proto/round.h decides (train, seal and send the update, the
 * aggregator's close: FedAvg, block, append, send), feeds it the events
 * (training results, opened updates), and accepts blocks
 * (docs/federation.md "One round"). */
#include "node/fed/node_int.h"

uint32_t fed_planned(const node_t *self)
{
    return fed_state(self)->genesis.rounds;
}

int fed_federation_done(const node_t *self)
{
    return self->chain && fed_planned(self) && chain_height(self->chain) > fed_planned(self);
}

void fed_enter_round(node_t *self)
{
    const ledger_state_t *st = fed_state(self);
    round_begin(&self->rs, st, fed_mono()); // also the members' keyring, the replay set
    self->round_t0 = (double)fed_wall_ms() / 1000.0;
    members_on_block(&self->mem, st);
    fed_allow_members(self);
    // Updates that arrived before we had the previous block.
    uint8_t *early[ROUND_MAX_EARLY];
    size_t early_n[ROUND_MAX_EARLY];
    int n_early = round_take_early(&self->rs, early, early_n);
    for (int i = 0; i < n_early; i++) {
        fed_process_update(self, early[i], early_n[i], -1); // takes it
    }
}

void fed_print_round(node_t *self, const block_t *b)
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
    double s = (double)fed_wall_ms() / 1000.0 - self->round_t0;
    printf("%s: round %llu  aggregator %s (attempt %u)  contributors %u/%u  %s  joined %u  "
           "left %u  %s  model %s  %.1f s\n",
           self->pub->name, (unsigned long long)b->index, fed_name(self, b->aggregator, agg),
           b->attempt, b->n_contrib, b->n_expected, close_reason_name(b->close_reason),
           b->n_joined, b->n_left, eps, mh, s);
    fflush(stdout);
}

// The global model is saved once the node's sends are out, and then by the
// writer thread (saver.h): saving 4.8 MB with fsync takes 10-20 ms that
// would otherwise delay the block's distribution and the member's update.
// A crash in between leaves an older global.fsm, which the restart detects
// by its hash and fetches again from a peer.
void fed_save_global(node_t *self)
{
    self->save_pending = 1;
}

float *fed_model_check(const node_t *self, const uint8_t *bytes, size_t count,
                       const uint8_t want[HASH_BYTES])
{
    if (!bytes || count != self->n) {
        return NULL;
    }
    uint8_t h[HASH_BYTES];
    float *w = xmalloc(count * sizeof(float));
    memcpy(w, bytes, count * sizeof(float));
    hash_model(w, count, h);
    if (memcmp(h, want, HASH_BYTES) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

// The head's model goes to the quality scorer (scorer.h) when its block is
// a multiple of quality/score-every or the last planned one.
static void s_score_global(node_t *self)
{
    if (!self->scorer || !self->chain || chain_height(self->chain) < 2) {
        return; // the genesis's model is not a round's result
    }
    uint64_t index = chain_height(self->chain) - 1;
    if (index % (uint64_t)self->cfg.score_every != 0 && index != fed_planned(self)) {
        return;
    }
    // this member's losses of the round that made the block, if it trained it
    scorer_losses_t losses = {{workload_stat_name(&self->arch, 0),
                               workload_stat_name(&self->arch, 1)},
                              {self->last_train.loss_a, self->last_train.loss_b}};
    int trained = self->has_last_train && self->last_train.round == index;
    scorer_put(self->scorer, self->global, self->n, index, fed_state(self)->model_hash,
               trained ? &losses : NULL);
}

void fed_adopt_model(node_t *self, float *w)
{
    free(self->global);
    self->global = w;
    fed_set_have_global(self, 1);
    fed_save_global(self);
    s_score_global(self);
}

// Hands a copy of the head's model to the background writer (saver.h).
void fed_save_global_now(node_t *self)
{
    self->save_pending = 0;
    if (!self->saver) {
        self->saver = saver_new(self->global_path, &self->arch, self->cfg.dataset);
    }
    saver_put(self->saver, self->global, self->n, chain_height(self->chain) - 1,
              fed_state(self)->model_hash);
}

// A block record and its model, from a peer or from ourselves: verify,
// append, adopt.  Returns 0 when appended.
int fed_accept_block(node_t *self, const uint8_t *rec, size_t rec_len, const uint8_t *model,
                     size_t count, fs_err_t *err)
{
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b);
    float *w = NULL;
    int rc = sigmsg_decode(rec, rec_len, BLOCK_MAX_BYTES, &m, err);
    if (rc == 0) {
        rc = block_decode(&m, b, err);
    }
    if (rc == 0 && model && !(w = fed_model_check(self, model, count, b->model_hash))) {
        rc = fs_err_set(err, FS_EVERIFY, "block %llu: the model sent with it does not hash to "
                        "the block's model hash", (unsigned long long)m.round);
    }
    if (rc == 0) {
        rc = fed_append(self, rec, rec_len, err);
    }
    if (rc == 0) {
        // Only a block the ledger accepted replaces the global model.
        if (w) {
            fed_adopt_model(self, w);
            w = NULL;
        } else {
            fed_set_have_global(self, 0); // a sync reply fetches it
        }
        fed_print_round(self, &fed_state(self)->last);
        fed_enter_round(self);
    }
    free(w);
    free(b);
    return rc;
}

// Seals and sends our update to the aggregator of the action's attempt
// (when that is us, round.c has counted it already).
static void s_send_update(node_t *self, const round_action_t *a)
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
    const genesis_t *g = &fed_state(self)->genesis;
    envelope_t hdr = {0};
    memcpy(hdr.fed_id, self->fed_id, HASH_BYTES);
    hdr.round = a->round;
    memcpy(hdr.base_hash, fed_state(self)->model_hash, HASH_BYTES);
    hdr.samples = self->samples;
    hdr.mechanism = g->mechanism;
    hdr.clip = budget_is_formal(g->mechanism) ? g->clip : 0;
    hdr.scale = g->mechanism == NOISE_NONE ? 0 : g->member_scale;
    bytes_writer_t w;
    bytes_writer_init(&w);
    fs_err_t err = {0};
    if (envelope_seal(&w, &hdr, self->me, agg, self->update, self->n, &err) < 0) {
        log_error("round %llu: cannot seal the update: %s", (unsigned long long)a->round,
                  err.msg);
        bytes_writer_reset(&w);
        return;
    }
    int p = transport_find(self->net, a->peer);
    if (p >= 0 && transport_peer_connected(self->net, p)) {
        transport_send(self->net, p, WIRE_UPDATE, w.data, w.len, 1);
    } else {
        fed_broadcast(self, WIRE_UPDATE, w.data, w.len, -1, 1, 0); // relayed by gossip
    }
    log_info("round %llu: update sent to %s (attempt %u, %zu bytes)",
             (unsigned long long)a->round, fed_name(self, a->peer, nb), a->attempt, w.len);
    bytes_writer_reset(&w);
}

// The aggregator's close: average, assemble, sign, append, send.
static void s_close_round(node_t *self, uint8_t close_reason)
{
    (void)close_reason; // assemble_block recomputes it from the counts
    int64_t t0 = fed_mono();
    const ledger_state_t *st = fed_state(self);
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
        ws[i] = got[i].w;
        samples[i] = got[i].samples;
    }
    float *next = xmalloc(self->n * sizeof(float));
    // The server step starts from the round's global model, which the
    // aggregator holds whenever it trained this round; without it, it
    // cannot close (the next candidate will, after the attempt's deadline).
    const double eta = genesis_server_lr(g);
    const float *prev = self->rs.have_model ? self->global : NULL;
    if (fedavg_aggregate(next, ws, samples, (size_t)n_got, self->n, prev, eta, g->mechanism,
                         g->mechanism == NOISE_NONE ? 0 : g->agg_scale, &err) < 0) {
        log_error("round %llu: %s", (unsigned long long)self->rs.round, err.msg);
        free(next);
        return;
    }
    uint8_t mh[HASH_BYTES];
    hash_model(next, self->n, mh);
    // membership changes (node/proto/members.h): joins, requested leaves,
    // then the inactive
    uint8_t counted[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    for (int i = 0; i < n_got; i++) {
        memcpy(counted[i], got[i].key, IDENTITY_KEY_BYTES);
    }
    members_changes_t mc;
    members_changes(&self->mem, st, (const uint8_t(*)[IDENTITY_KEY_BYTES])counted, (size_t)n_got,
                    &mc);
    uint64_t now = fed_wall_ms();
    if (now < st->head_time_ms) {
        now = st->head_time_ms; // time never goes back in the ledger
    }
    block_t *b = xmalloc(sizeof *b);
    int rc = assemble_block(st, self->rs.attempt, now, ac, (size_t)n_got, mc.join_reqs,
                            mc.join_lens, mc.n_join,
                            (const uint8_t(*)[IDENTITY_KEY_BYTES])mc.leave_keys, mc.leave_reqs,
                            mc.leave_lens, mc.n_leave, mh, b, &err);
    if (rc == 0) {
        bytes_writer_t w;
        bytes_writer_init(&w);
        block_encode(&w, b, self->fed_id, self->me);
        // Appended (and fsync'd) before it is sent: after a crash we never
        // sign a second block for this round.
        rc = fed_append(self, w.data, w.len, &err);
        if (rc == 0) {
            fed_adopt_model(self, next);
            next = NULL;
            bytes_writer_t msg;
            bytes_writer_init(&msg);
            wire_block_encode(&msg, w.data, w.len, self->global, self->n);
            fed_broadcast(self, WIRE_BLOCK, msg.data, msg.len, -1, 1, 0);
            bytes_writer_reset(&msg);
            uint8_t bh[HASH_BYTES];
            block_hash(w.data, w.len, bh);
            peers_seen(&self->peers, bh);
            log_info("round %llu closed: %d updates averaged, block signed, appended and "
                     "queued to %zu peers in %lld ms", (unsigned long long)b->index,
                     n_got, transport_peer_count(self->net), (long long)(fed_mono() - t0));
            fed_print_round(self, &fed_state(self)->last);
            fed_enter_round(self);
        }
        bytes_writer_reset(&w);
    }
    if (rc < 0) {
        log_error("round %llu: could not make the block: %s",
                  (unsigned long long)self->rs.round, err.msg);
    }
    free(next);
    free(b);
}

// Takes buf (n bytes, malloc'd): routes an update for another aggregator,
// keeps one for the next round, and hands one for this round to the
// opener's workers; fed_finish_update takes it from there.
void fed_process_update(node_t *self, uint8_t *buf, size_t n, int from)
{
    sigmsg_t m;
    fs_err_t err = {0};
    const char *who = from >= 0 ? transport_peer_id(self->net, from)->name : "(queued)";
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
        if (!peers_seen(&self->peers, m.digest)) {
            int p = transport_find(self->net, m.body);
            if (p >= 0 && p != from && transport_peer_connected(self->net, p)) {
                transport_send(self->net, p, WIRE_UPDATE, buf, n, 1);
            } else {
                fed_broadcast(self, WIRE_UPDATE, buf, n, from, 1, 0);
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
    memcpy(job->fed_id, self->fed_id, HASH_BYTES);
    job->round = self->rs.round;
    memcpy(job->signer, m.signer, IDENTITY_KEY_BYTES);
    const identity_pub_t *sender = round_member(&self->rs, m.signer);
    if (sender) {
        job->sender = *sender;
        job->sender_known = 1;
    }
    job->expected_count = self->n;
    job->from = from;
    if (opener_submit(self->opener, job) < 0) {
        opener_run(self->me, job); // all workers busy: open it here
        fed_finish_update(self, job);
    }
}

void fed_finish_update(node_t *self, open_job_t *job)
{
    char nb[9];
    if (!self->chain || job->round != self->rs.round) {
        log_debug("an update for round %llu was opened after the round closed: dropped",
                  (unsigned long long)job->round);
        opener_job_free(&job);
        return;
    }
    int rc = job->rc;
    fs_err_t err = job->err;
    const envelope_t *hdr = &job->hdr;
    // 8. replay, and the model it started from: the round's checks
    // (node/proto/round.h), where the replay set lives (opener.h)
    if (rc == 0) {
        round_event_t e = {.kind = ROUND_EV_UPDATE, .round = hdr->round, .w = job->w,
                           .samples = hdr->samples};
        memcpy(e.key, hdr->sender, IDENTITY_KEY_BYTES);
        memcpy(e.digest, hdr->digest, HASH_BYTES);
        memcpy(e.base, hdr->base_hash, HASH_BYTES);
        round_actions_t none;
        rc = round_on_event(&self->rs, &e, fed_mono(), &none);
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
                 fed_name(self, job->signer, nb), err.msg);
        opener_job_free(&job);
        return;
    }
    log_info("round %llu: update from %s accepted (%llu samples, %d of %zu)",
             (unsigned long long)self->rs.round, fed_name(self, hdr->sender, nb),
             (unsigned long long)hdr->samples, self->rs.n_got, keyring_size(self->rs.members));
    opener_job_free(&job);
}

void fed_training_done(node_t *self)
{
    local_stats_t st;
    // self->update now holds the trained vector (a swap, not a copy)
    local_take_result(self->local, &self->update, &st);
    self->last_train = st;
    self->has_last_train = 1;
    round_event_t e = {.kind = ROUND_EV_TRAINED, .round = st.round, .update = self->update,
                       .n = self->n, .samples = self->samples};
    round_actions_t none;
    if (!self->chain || st.round != self->rs.round || !self->rs.have_model) {
        round_on_event(&self->rs, &e, fed_mono(), &none); // the round moved on while we trained
        return;
    }
    const genesis_t *g = &fed_state(self)->genesis;
    if (floats_first_nonfinite(self->update, self->n) < self->n) {
        log_error("round %llu: local training diverged (NaN or Inf weights); not sending",
                  (unsigned long long)self->rs.round);
        round_on_event(&self->rs, &e, fed_mono(), &none);
        return;
    }
    double norm = noise_member_release(self->update, self->global, self->n, g->mechanism, g->clip,
                                       g->member_scale);
    e.flag = 1;
    round_on_event(&self->rs, &e, fed_mono(), &none);
    log_info("round %llu: trained %d iterations in %.1f s (%.0f img/s, %s %.3f, %s %.3f)%s",
             (unsigned long long)self->rs.round, st.iters, st.seconds, st.images_per_s,
             workload_stat_name(&self->arch, 0), st.loss_a, workload_stat_name(&self->arch, 1),
             st.loss_b, budget_is_formal(g->mechanism) ? "; update clipped" : "");
    if (budget_is_formal(g->mechanism)) {
        log_debug("update %s norm %.4g, clip %.4g",
                  g->mechanism == NOISE_GAUSSIAN_CLIPPED ? "L2" : "L1", norm, g->clip);
    }
}

void fed_perform(node_t *self, const round_action_t *a)
{
    char nb[9], nb2[9];
    switch (a->kind) {
    case ROUND_ACT_TRAIN:
        log_debug("round %llu: training starts", (unsigned long long)a->round);
        local_start(self->local, self->global, self->n, a->round,
                    (int)fed_state(self)->genesis.local_iters);
        break;
    case ROUND_ACT_SEND_UPDATE: s_send_update(self, a); break;
    case ROUND_ACT_CLOSE: s_close_round(self, a->close_reason); break;
    case ROUND_ACT_NEXT_ATTEMPT:
        // Updates already addressed to us stay: if we become the candidate
        // later this round, they count (their senders' replays would not).
        log_warn("round %llu: no block from %s by the deadline of attempt %u; attempt %u, "
                 "aggregator %s", (unsigned long long)a->round, fed_name(self, a->prev, nb),
                 a->attempt - 1, a->attempt, fed_name(self, a->peer, nb2));
        break;
    default: break;
    }
}
