/* round.c - the round's decisions (round.h); no I/O, no clock. */
#include "node/proto/round.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "ledger/election.h"
#include "node/base/err.h"
#include "node/base/mem.h"

static const char *s_action_names[] = {"none", "train", "send-update", "close", "next-attempt"};
static_assert(sizeof s_action_names / sizeof s_action_names[0] == ROUND_ACT_COUNT,
              "one name per round action");

const char *round_action_name(int kind)
{
    return kind > 0 && kind < ROUND_ACT_COUNT ? s_action_names[kind] : "?";
}

static round_action_t *s_emit(round_actions_t *out, const round_t *self,
                              round_action_kind_t kind)
{
    assert(out->n < ROUND_MAX_ACTIONS);
    round_action_t *a = &out->act[out->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->round = self->round;
    a->attempt = self->attempt;
    return a;
}

static void s_free_got(round_t *self)
{
    for (int i = 0; i < self->n_got; i++) {
        free(self->got[i].w);
        self->got[i].w = NULL;
    }
    self->n_got = 0;
}

void round_init(round_t *self, const uint8_t me[IDENTITY_KEY_BYTES], int has_data)
{
    memset(self, 0, sizeof *self);
    memcpy(self->me, me, IDENTITY_KEY_BYTES);
    self->has_data = has_data;
    self->members = keyring_new();
    self->replay = replay_new();
}

const identity_pub_t *round_member(const round_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    return self->members ? keyring_find(self->members, key) : NULL;
}

void round_free(round_t *self)
{
    s_free_got(self);
    for (int i = 0; i < self->n_early; i++) {
        free(self->early[i]);
        self->early[i] = NULL;
    }
    self->n_early = 0;
    keyring_destroy(&self->members);
    replay_destroy(&self->replay);
}

int round_keep_early(round_t *self, uint64_t msg_round, uint8_t *buf, size_t n)
{
    if (msg_round != self->round + 1 || self->n_early == ROUND_MAX_EARLY) {
        return 0;
    }
    self->early[self->n_early] = buf;
    self->early_n[self->n_early++] = n;
    return 1;
}

int round_take_early(round_t *self, uint8_t **bufs, size_t *ns)
{
    int k = self->n_early;
    for (int i = 0; i < k; i++) {
        bufs[i] = self->early[i];
        ns[i] = self->early_n[i];
        self->early[i] = NULL;
    }
    self->n_early = 0;
    return k;
}

void round_begin(round_t *self, const ledger_state_t *st, int64_t now)
{
    s_free_got(self);
    self->round = st->height;
    self->attempt = 0;
    self->start_ms = now;
    self->timeout_ms = st->genesis.round_timeout_ms;
    self->extra_ms = st->genesis.attempt_extra_ms;
    self->quorum = st->genesis.quorum;
    self->trained = 0;
    self->diverged = 0;
    self->update = NULL;
    self->n = 0;
    self->sent_attempt = 0;
    self->proposed_attempt = 0;
    self->witnessed = st->genesis.finality == GENESIS_FINALITY_MAJORITY;
    memcpy(self->base_hash, st->model_hash, HASH_BYTES);
    replay_prune(self->replay, self->round);
    keyring_destroy(&self->members);
    self->members = keyring_new();
    for (int i = 0; i < st->n_members; i++) {
        if (st->members[i].active) {
            keyring_add(self->members, &st->members[i].id);
        }
    }
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n = ledger_state_active(st, active);
    self->n_expected = n;
    self->n_leavers = 0; // round_set_leavers says them again
    self->active = 0;
    if (n > 0) {
        size_t order[LEDGER_MAX_MEMBERS];
        election_order(st->head_hash, st->height, active[0], n, order);
        for (size_t i = 0; i < n; i++) {
            memcpy(self->candidates[i], active[order[i]], IDENTITY_KEY_BYTES);
            self->active |= memcmp(active[i], self->me, IDENTITY_KEY_BYTES) == 0;
        }
    }
}

const uint8_t *round_aggregator(const round_t *self, uint32_t attempt)
{
    return self->n_expected ? self->candidates[attempt % self->n_expected] : NULL;
}

int64_t round_deadline(const round_t *self, uint32_t attempt)
{
    int64_t t = self->start_ms;
    for (uint32_t a = 0; a <= attempt; a++) {
        t += (int64_t)self->timeout_ms + (int64_t)a * self->extra_ms;
    }
    return t;
}

int round_jump(round_t *self, uint32_t attempt, int64_t now)
{
    uint32_t cap = self->attempt + (uint32_t)(self->n_expected ? self->n_expected : 1);
    attempt = attempt < cap ? attempt : cap;
    if (attempt <= self->attempt) {
        return 0;
    }
    // attempt begins now: the start moves so that its window follows
    int64_t before = 0;
    for (uint32_t a = 0; a < attempt; a++) {
        before += (int64_t)self->timeout_ms + (int64_t)a * self->extra_ms;
    }
    self->start_ms = now - before;
    self->attempt = attempt;
    return 1;
}

static int s_counted(const round_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < self->n_got; i++) {
        if (memcmp(self->got[i].key, key, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

void round_stop_training(round_t *self)
{
    self->has_data = 0;
    self->training = 0;
}

int round_on_event(round_t *self, const round_event_t *e, int64_t now, round_actions_t *out)
{
    (void)now;
    out->n = 0;
    switch (e->kind) {
    case ROUND_EV_MODEL: self->have_model = e->flag != 0; return 0;
    case ROUND_EV_LEAVING: self->leaving = 1; return 0;
    case ROUND_EV_OUTBOX: self->outbox = e->count; return 0;
    case ROUND_EV_BEHIND: self->behind = e->flag != 0; return 0;
    case ROUND_EV_TRAINED:
        self->training = 0;
        if (e->flag && e->round == self->round && self->have_model) {
            self->trained = 1;
            self->update = e->update;
            self->n = e->n;
            self->samples = e->samples;
            self->dp_q = e->dp_q;
            self->dp_sigma = e->dp_sigma;
            self->dp_steps = e->dp_steps;
        } else if (!e->flag && e->round == self->round && self->have_model) {
            // diverged (NaN or Inf): sit this round out rather than retrain
            // at once, which from a NaN model diverges again, in a loop
            self->diverged = 1;
        }
        return 0;
    case ROUND_EV_UPDATE:
        if (e->round != self->round) {
            return FS_ESTALE;
        }
        // the replay check: one update per sender and round, across attempts
        if (replay_seen(self->replay, e->key, e->round)) {
            return FS_EREPLAY;
        }
        replay_mark(self->replay, e->key, e->round);
        if (memcmp(e->base, self->base_hash, HASH_BYTES) != 0) {
            return FS_ESTALE; // trained from another global model
        }
        if (s_counted(self, e->key)) {
            return FS_EREPLAY;
        }
        if (self->n_got == LEDGER_MAX_MEMBERS) {
            return FS_ETOOBIG;
        }
        round_contrib_t *c = &self->got[self->n_got++];
        memcpy(c->key, e->key, IDENTITY_KEY_BYTES);
        memcpy(c->digest, e->digest, HASH_BYTES);
        c->samples = e->samples;
        c->w = e->w;
        c->dp_q = e->dp_q;
        c->dp_sigma = e->dp_sigma;
        c->dp_steps = e->dp_steps;
        return 0;
    default: return FS_EINVAL;
    }
}

// Our own update, when we aggregate this attempt: counted here, with the
// hash of the update in place of an envelope digest (docs/ledger.md §6).
static int s_count_own(round_t *self)
{
    if (s_counted(self, self->me) || self->n_got == LEDGER_MAX_MEMBERS) {
        return 0;
    }
    round_contrib_t *c = &self->got[self->n_got++];
    memcpy(c->key, self->me, IDENTITY_KEY_BYTES);
    c->samples = self->samples;
    c->dp_q = self->dp_q;
    c->dp_sigma = self->dp_sigma;
    c->dp_steps = self->dp_steps;
    c->w = xmalloc(self->n * sizeof(float));
    memcpy(c->w, self->update, self->n * sizeof(float));
    hash_model(c->w, self->n, c->digest);
    return 1;
}

static int s_is_leaver(const round_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (size_t i = 0; i < self->n_leavers; i++) {
        if (memcmp(self->leavers[i], key, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

// Counted updates from members that are not leaving.
static size_t s_staying_got(const round_t *self)
{
    size_t k = 0;
    for (int i = 0; i < self->n_got; i++) {
        k += !s_is_leaver(self, self->got[i].key);
    }
    return k;
}

void round_mark_proposed(round_t *self) { self->proposed_attempt = self->attempt + 1; }

void round_set_leavers(round_t *self, const uint8_t (*keys)[IDENTITY_KEY_BYTES], size_t n)
{
    self->n_leavers = 0;
    for (size_t i = 0; i < n; i++) {
        int expected = 0;
        for (size_t c = 0; c < self->n_expected && !expected; c++) {
            expected = memcmp(self->candidates[c], keys[i], IDENTITY_KEY_BYTES) == 0;
        }
        if (expected && !s_is_leaver(self, keys[i])) {
            memcpy(self->leavers[self->n_leavers++], keys[i], IDENTITY_KEY_BYTES);
        }
    }
}

void round_tick(round_t *self, int64_t now, round_actions_t *out)
{
    out->n = 0;
    if (!self->have_model || self->n_expected == 0) {
        return; // nothing moves until the head's model is here
    }
    // Training waits (at most ROUND_TRAIN_HOLD_MS) for this node's sends:
    // after a close the block goes out first, which every member waits for.
    int sends_done = self->outbox == 0 || now - self->start_ms > ROUND_TRAIN_HOLD_MS;
    // a leaving member goes on contributing until a block records its leave
    if (self->active && self->has_data && !self->trained && !self->diverged &&
        !self->training && sends_done) {
        self->training = 1;
        s_emit(out, self, ROUND_ACT_TRAIN);
    }
    const uint8_t *agg = round_aggregator(self, self->attempt);
    if (self->trained && self->active && self->sent_attempt != self->attempt + 1) {
        self->sent_attempt = self->attempt + 1;
        int own = memcmp(agg, self->me, IDENTITY_KEY_BYTES) == 0;
        if (!own || s_count_own(self)) {
            memcpy(s_emit(out, self, ROUND_ACT_SEND_UPDATE)->peer, agg, IDENTITY_KEY_BYTES);
        }
    }
    int64_t deadline = round_deadline(self, self->attempt);
    if (self->active && memcmp(agg, self->me, IDENTITY_KEY_BYTES) == 0) {
        int64_t close_at = deadline - (int64_t)self->timeout_ms / 5;
        int reason = 0;
        if ((size_t)self->n_got == self->n_expected) {
            reason = CLOSE_ALL_ARRIVED;
        } else if (self->n_leavers && s_staying_got(self) == self->n_expected - self->n_leavers &&
                   self->n_got >= self->quorum) {
            reason = CLOSE_ALL_STAYING; // the block records the missing ones' leaves
        } else if (now >= close_at && self->n_got >= self->quorum && self->n_got > 0) {
            reason = CLOSE_DEADLINE;
        }
        // A peer with a longer ledger means our head is behind, or on a
        // branch the others left: a block on it would fork the history.
        // Sync first (the attempt's deadline still moves the round on).
        // With witnesses a CLOSE may come to nothing (finality.h: promises
        // missing), so it must not hold the round in its attempt past the
        // deadline; without, a late CLOSE still makes the block.
        int may_close = !self->witnessed || now < deadline;
        if (reason && !self->behind && self->proposed_attempt != self->attempt + 1 &&
            may_close) {
            round_action_t *a = s_emit(out, self, ROUND_ACT_CLOSE);
            memcpy(a->peer, self->me, IDENTITY_KEY_BYTES);
            a->close_reason = (uint8_t)reason;
            return;
        }
    }
    if (now >= deadline) {
        self->attempt++;
        round_action_t *a = s_emit(out, self, ROUND_ACT_NEXT_ATTEMPT);
        memcpy(a->prev, agg, IDENTITY_KEY_BYTES);
        memcpy(a->peer, round_aggregator(self, self->attempt), IDENTITY_KEY_BYTES);
    }
}
