/* state.c - the ledger's rules (list and order of checks: state.h). */
#include "ledger/state.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "ledger/budget.h"
#include "ledger/election.h"
#include "node/base/mem.h"

ledger_state_t *ledger_state_new(void)
{
    return xcalloc(1, sizeof(ledger_state_t));
}

void ledger_state_destroy(ledger_state_t **self_p)
{
    if (*self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, IDENTITY_KEY_BYTES);
}

size_t ledger_state_active(const ledger_state_t *self, uint8_t (*keys)[IDENTITY_KEY_BYTES])
{
    size_t n = 0;
    for (int i = 0; i < self->n_members; i++) {
        if (self->members[i].active) {
            memcpy(keys[n++], self->members[i].id.sign_pk, IDENTITY_KEY_BYTES);
        }
    }
    qsort(keys, n, IDENTITY_KEY_BYTES, s_key_cmp);
    return n;
}

static ledger_member_t *s_member(ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < self->n_members; i++) {
        if (memcmp(self->members[i].id.sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return &self->members[i];
        }
    }
    return NULL;
}

const ledger_member_t *ledger_state_member(const ledger_state_t *self,
                                           const uint8_t key[IDENTITY_KEY_BYTES])
{
    return s_member((ledger_state_t *)self, key);
}

int ledger_state_start(ledger_state_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    sigmsg_t m;
    genesis_t *g = &self->genesis;
    int rc = genesis_decode(rec, n, g, self->fed_id, &m, err);
    if (rc < 0) {
        return fs_err_prefix(err, rc, "block 0: ");
    }
    self->height = 1;
    block_hash(rec, n, self->head_hash);
    self->head_time_ms = g->time_ms;
    memcpy(self->model_hash, g->initial_model_hash, HASH_BYTES);
    self->n_members = g->n_members;
    for (int i = 0; i < g->n_members; i++) {
        self->members[i] = (ledger_member_t){.id = g->members[i], .active = 1};
    }
    self->eps_total = 0;
    self->rounds_charged = 0;
    return 0;
}

static int s_in_sorted(const uint8_t *keys, size_t n, const uint8_t key[IDENTITY_KEY_BYTES])
{
    return bsearch(key, keys, n, IDENTITY_KEY_BYTES, s_key_cmp) != NULL;
}

static ledger_admitted_t *s_admitted(ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < self->n_admitted; i++) {
        if (memcmp(self->admitted[i].id.sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return &self->admitted[i];
        }
    }
    return NULL;
}

const ledger_admitted_t *ledger_state_admitted(const ledger_state_t *self,
                                               const uint8_t key[IDENTITY_KEY_BYTES])
{
    const ledger_admitted_t *a = s_admitted((ledger_state_t *)self, key);
    return a && !a->revoked ? a : NULL;
}

static int s_allow_listed(const genesis_t *g, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int k = 0; k < g->n_allowed; k++) {
        if (memcmp(g->allowed[k], key, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

int ledger_state_may_join(const ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    const ledger_member_t *mem = s_member((ledger_state_t *)self, key);
    if (mem && mem->active) {
        return 0;
    }
    if (self->genesis.admission == ADMIT_OPEN) {
        return 1;
    }
    // a motion's word is the latest: admitted, or revoked before joining
    const ledger_admitted_t *a = s_admitted((ledger_state_t *)self, key);
    if (a) {
        return !a->revoked;
    }
    if (mem) {
        return !mem->removed; // a former member may return, unless removed by vote
    }
    return s_allow_listed(&self->genesis, key);
}

// The block of the last membership event of this key: its admission or
// removal by motion, its join, its leave (0: none).
static uint64_t s_last_event(const ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    uint64_t at = 0;
    const ledger_member_t *mem = s_member((ledger_state_t *)self, key);
    if (mem) {
        at = mem->joined_at > mem->left_at ? mem->joined_at : mem->left_at;
    }
    const ledger_admitted_t *a = s_admitted((ledger_state_t *)self, key);
    if (a && a->at > at) {
        at = a->at;
    }
    return at;
}

int ledger_state_check_motion(const ledger_state_t *self, const motion_t *m, fs_err_t *err)
{
    const uint64_t index = self->height;
    const char *what = motion_action_name(m->action), *who = m->candidate.name;
    if (self->genesis.admission != ADMIT_VOTE) {
        return fs_err_set(err, FS_EVERIFY, "motion to %s %s: this federation does not admit "
                          "by vote (its genesis says %s)", what, who,
                          admission_name(self->genesis.admission));
    }
    if (m->round > index) {
        return fs_err_set(err, FS_EVERIFY, "motion to %s %s: made for round %llu, after block "
                          "%llu", what, who, (unsigned long long)m->round,
                          (unsigned long long)index);
    }
    const uint32_t window = self->genesis.request_window;
    if (window && index - m->round > window) {
        return fs_err_set(err, FS_EVERIFY, "motion to %s %s: made for round %llu, %llu rounds "
                          "before block %llu, outside the genesis's window of %u (propose it "
                          "again)", what, who, (unsigned long long)m->round,
                          (unsigned long long)(index - m->round), (unsigned long long)index,
                          window);
    }
    const uint64_t last = s_last_event(self, m->candidate.sign_pk);
    if (last && m->round <= last) {
        return fs_err_set(err, FS_EVERIFY, "motion to %s %s: made for round %llu, not after "
                          "the candidate's membership change in block %llu (a replayed or "
                          "overtaken motion)", what, who, (unsigned long long)m->round,
                          (unsigned long long)last);
    }
    const ledger_member_t *mem = s_member((ledger_state_t *)self, m->candidate.sign_pk);
    const int active = mem && mem->active;
    if (mem && (strcmp(mem->id.name, who) != 0 ||
                memcmp(mem->id.box_pk, m->candidate.box_pk, IDENTITY_KEY_BYTES) != 0 ||
                memcmp(mem->id.curve_pk, m->candidate.curve_pk, IDENTITY_KEY_BYTES) != 0)) {
        return fs_err_set(err, FS_EVERIFY, "motion to %s %s: the identity differs from the "
                          "one the ledger holds for that key", what, who);
    }
    if (m->action == MOTION_ADMIT) {
        if (active) {
            return fs_err_set(err, FS_EVERIFY, "motion to admit %s: already an active member",
                              who);
        }
        if (ledger_state_may_join(self, m->candidate.sign_pk)) {
            return fs_err_set(err, FS_EVERIFY, "motion to admit %s: it may join already (%s)",
                              who, ledger_state_admitted(self, m->candidate.sign_pk)
                                       ? "admitted by an earlier motion"
                                   : mem ? "a former member, not removed"
                                         : "on the genesis's allow-list");
        }
        if (!s_admitted((ledger_state_t *)self, m->candidate.sign_pk) &&
            self->n_admitted == LEDGER_MAX_MEMBERS) {
            return fs_err_set(err, FS_EVERIFY, "motion to admit %s: %d admissions wait already",
                              who, LEDGER_MAX_MEMBERS);
        }
        return 0;
    }
    if (!active && !ledger_state_may_join(self, m->candidate.sign_pk)) {
        return fs_err_set(err, FS_EVERIFY, "motion to remove %s: neither an active member nor "
                          "admitted to join", who);
    }
    if (!active && !s_admitted((ledger_state_t *)self, m->candidate.sign_pk) &&
        self->n_admitted == LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_EVERIFY, "motion to remove %s: the ledger's list of "
                          "admissions is full", who);
    }
    return 0;
}

// Checks an embedded join or leave request: a sigmsg of the given type for
// this federation, for a round not after this block and, when the genesis
// sets a request window, at most that many rounds before it, signed by `key`.
static int s_check_request(const ledger_state_t *self, const block_t *b, const uint8_t *req,
                           size_t len, int type, const uint8_t key[IDENTITY_KEY_BYTES], sigmsg_t *m,
                           fs_err_t *err)
{
    int rc;
    if ((rc = sigmsg_decode(req, len, BLOCK_REQUEST_MAX, m, err)) < 0 ||
        (rc = sigmsg_check_version(m, err)) < 0) {
        return rc;
    }
    if (m->type != type) {
        return fs_err_set(err, FS_EVERIFY, "request is a %s message, expected %s",
                          sigmsg_type_name(m->type), sigmsg_type_name(type));
    }
    if (memcmp(m->fed_id, self->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "request belongs to another federation");
    }
    if (m->round > b->index) {
        return fs_err_set(err, FS_EVERIFY, "request for round %llu, after this block",
                          (unsigned long long)m->round);
    }
    const uint32_t window = self->genesis.request_window;
    if (window && b->index - m->round > window) {
        return fs_err_set(err, FS_EVERIFY, "request for round %llu is %llu rounds old, outside "
                          "the genesis's window of %u (a stale or replayed request)",
                          (unsigned long long)m->round,
                          (unsigned long long)(b->index - m->round), window);
    }
    if (key && memcmp(m->signer, key, IDENTITY_KEY_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "request is signed by another key");
    }
    return sigmsg_verify(m, err);
}

static int s_check_members(ledger_state_t *self, block_t *b, const uint8_t *active,
                           size_t n_active, fs_err_t *err)
{
    const genesis_t *g = &self->genesis;
    for (int i = 0; i < b->n_joined; i++) {
        block_join_t *j = &b->joined[i];
        sigmsg_t m;
        int rc = s_check_request(self, b, j->request, j->request_len, SIGMSG_JOIN, NULL, &m, err);
        if (rc < 0) {
            return fs_err_prefix(err, rc, "joined %d: ", i);
        }
        bytes_reader_t r;
        bytes_reader_init(&r, m.body, m.body_len);
        if (block_get_identity(&r, &j->id, err) < 0 || bytes_remaining(&r) != 0) {
            return fs_err_set(err, FS_ECORRUPT, "joined %d: request body is not one identity",
                              i);
        }
        if (memcmp(j->id.sign_pk, m.signer, IDENTITY_KEY_BYTES) != 0) {
            return fs_err_set(err, FS_EVERIFY, "joined %d: request not signed by the joiner", i);
        }
        if (s_in_sorted(active, n_active, j->id.sign_pk)) {
            return fs_err_set(err, FS_EVERIFY, "joined %d (%s): already an active member", i,
                              j->id.name);
        }
        // A request made before the member's last leave cannot bring it back:
        // an old join request replayed is refused (issue 19).
        const ledger_member_t *former = s_member(self, j->id.sign_pk);
        if (former && m.round <= former->left_at) {
            return fs_err_set(err, FS_EVERIFY, "joined %d (%s): request for round %llu, not "
                              "after its leave in block %llu (a replayed request)", i,
                              j->id.name, (unsigned long long)m.round,
                              (unsigned long long)former->left_at);
        }
        for (int k = 0; k < i; k++) {
            if (memcmp(b->joined[k].id.sign_pk, j->id.sign_pk, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_EVERIFY, "joined %d: repeats joined %d", i, k);
            }
        }
        if (!ledger_state_may_join(self, j->id.sign_pk)) {
            const ledger_member_t *mem = s_member(self, j->id.sign_pk);
            return fs_err_set(err, FS_EVERIFY, "joined %d (%s): %s", i, j->id.name,
                              g->admission == ADMIT_ALLOWLIST ? "not on the genesis allow-list"
                              : mem && mem->removed ? "removed by the members' vote, and not "
                                                      "admitted again"
                                                    : "not admitted by the members' vote");
        }
        if (!s_member(self, j->id.sign_pk) && self->n_members + i >= LEDGER_MAX_MEMBERS) {
            return fs_err_set(err, FS_EVERIFY, "joined %d: the federation is full (%d members)",
                              i, LEDGER_MAX_MEMBERS);
        }
    }
    for (int i = 0; i < b->n_left; i++) {
        block_leave_t *l = &b->left[i];
        if (!s_in_sorted(active, n_active, l->key)) {
            return fs_err_set(err, FS_EVERIFY, "left %d: not an active member", i);
        }
        for (int k = 0; k < i; k++) {
            if (memcmp(b->left[k].key, l->key, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_EVERIFY, "left %d: repeats left %d", i, k);
            }
        }
        if (l->reason == LEAVE_REQUESTED) {
            sigmsg_t m;
            int rc = s_check_request(self, b, l->request, l->request_len, SIGMSG_LEAVE, l->key,
                                     &m, err);
            if (rc < 0) {
                return fs_err_prefix(err, rc, "left %d: ", i);
            }
            // A request made before the member's last admission cannot
            // evict it: an old leave request replayed is refused.
            const ledger_member_t *mem = s_member(self, l->key);
            if (mem->joined_at > 0 && m.round <= mem->joined_at) {
                return fs_err_set(err, FS_EVERIFY, "left %d (%s): request for round %llu, not "
                                  "after its admission in block %llu (a replayed request)", i,
                                  mem->id.name, (unsigned long long)m.round,
                                  (unsigned long long)mem->joined_at);
            }
        } else {
            // "inactive": the member missed this round and the K before it.
            const ledger_member_t *mem = s_member(self, l->key);
            int contributed = 0;
            for (int k = 0; k < b->n_contrib; k++) {
                contributed |= memcmp(b->contrib[k].key, l->key, IDENTITY_KEY_BYTES) == 0;
            }
            uint32_t missed = contributed ? 0 : mem->missed + 1;
            if (l->request_len != 0 || g->inactive_after == 0 || missed < g->inactive_after) {
                return fs_err_set(err, FS_EVERIFY,
                                  "left %d (%s): marked inactive after %u missed rounds, the "
                                  "rule is %u",
                                  i, mem->id.name, missed, g->inactive_after);
            }
        }
    }
    return 0;
}

// The motions a block records (docs/ledger.md §6b, rule 9b): present
// exactly when the genesis admits by vote; each one recordable
// (ledger_state_check_motion) and signed by a majority of the members
// active before the block; at most one change of a member per block.
static int s_check_motions(const ledger_state_t *self, const block_t *b, const uint8_t *active,
                           size_t n_active, fs_err_t *err)
{
    const int vote = self->genesis.admission == ADMIT_VOTE;
    if (b->has_motions != vote) {
        return fs_err_set(err, vote ? FS_EVERIFY : FS_ECORRUPT,
                          vote ? "motions: missing (the genesis admits by vote)"
                               : "motions: present, but the genesis does not admit by vote");
    }
    for (int i = 0; i < b->n_motions; i++) {
        const motion_t *m = &b->motions[i];
        const uint8_t *key = m->candidate.sign_pk;
        int rc;
        if ((rc = ledger_state_check_motion(self, m, err)) < 0 ||
            (rc = motion_check_majority(m, self->fed_id,
                                        (const uint8_t(*)[IDENTITY_KEY_BYTES])active, n_active,
                                        err)) < 0) {
            return fs_err_prefix(err, rc, "motions %d: ", i);
        }
        for (int k = 0; k < i; k++) {
            if (memcmp(b->motions[k].candidate.sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_EVERIFY, "motions %d: %s is the subject of motions "
                                  "%d too", i, m->candidate.name, k);
            }
        }
        for (int k = 0; k < b->n_joined; k++) {
            if (memcmp(b->joined[k].id.sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_EVERIFY, "motions %d: %s joins in this block too", i,
                                  m->candidate.name);
            }
        }
        for (int k = 0; k < b->n_left; k++) {
            if (memcmp(b->left[k].key, key, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_EVERIFY, "motions %d: %s leaves in this block too", i,
                                  m->candidate.name);
            }
        }
    }
    return 0;
}

// The state after a block's motions (they were checked).
static void s_apply_motions(ledger_state_t *self, const block_t *b)
{
    for (int i = 0; i < b->n_motions; i++) {
        const motion_t *m = &b->motions[i];
        ledger_member_t *mem = s_member(self, m->candidate.sign_pk);
        if (m->action == MOTION_REMOVE && mem && mem->active) {
            mem->active = 0;
            mem->removed = 1;
            mem->left_at = b->index;
            continue;
        }
        ledger_admitted_t *a = s_admitted(self, m->candidate.sign_pk);
        if (!a) {
            a = &self->admitted[self->n_admitted++];
        }
        *a = (ledger_admitted_t){.id = m->candidate, .at = b->index,
                                 .revoked = m->action == MOTION_REMOVE};
    }
}

static void s_drop_admitted(ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    ledger_admitted_t *a = s_admitted(self, key);
    if (a) {
        size_t at = (size_t)(a - self->admitted);
        memmove(a, a + 1, (self->n_admitted - at - 1) * sizeof *a);
        self->n_admitted--;
    }
}

static int s_check_contributors(const ledger_state_t *self, const block_t *b, fs_err_t *err)
{
    uint64_t total = 0;
    for (int i = 0; i < b->n_contrib; i++) {
        const block_contrib_t *c = &b->contrib[i];
        if (!s_in_sorted(b->expected[0], b->n_expected, c->key)) {
            return fs_err_set(err, FS_EVERIFY, "contributor %d: not an expected member", i);
        }
        if (i > 0 && memcmp(b->contrib[i - 1].key, c->key, IDENTITY_KEY_BYTES) >= 0) {
            return fs_err_set(err, FS_EVERIFY,
                              "contributor %d: keys not strictly ascending (duplicate?)", i);
        }
        total += c->samples;
    }
    for (int i = 0; i < b->n_contrib; i++) {
        double p = (double)b->contrib[i].samples / (double)total;
        if (!budget_same(p, b->contrib[i].weight)) {
            return fs_err_set(err, FS_EVERIFY, "contributor %d: weight %.17g, expected n_k/sum n = %.17g",
                              i, b->contrib[i].weight, p);
        }
    }
    if (b->n_contrib < self->genesis.quorum) {
        return fs_err_set(err, FS_EVERIFY, "contributors: %u, below the quorum of %u",
                          b->n_contrib, self->genesis.quorum);
    }
    // all-arrived and all-staying must be what the contents say; deadline
    // for any other block (and, as fedsyn wrote it before all-staying
    // existed, for one whose missing members all leave by request)
    const close_reason_t want = block_close_reason(b);
    if (b->close_reason != want && !(b->close_reason == CLOSE_DEADLINE &&
                                     want == CLOSE_ALL_STAYING)) {
        return fs_err_set(err, FS_EVERIFY, "close_reason: %s with %u of %u members (the "
                          "contents call for %s)", close_reason_name(b->close_reason),
                          b->n_contrib, b->n_expected, close_reason_name(want));
    }
    return 0;
}

// The member's curve of (q, sigma), from its cache or computed into it
// (the cache changes no judgement, so const states use it too; a state
// is used by one thread at a time).
static const double *s_curve(const ledger_member_t *cmem, double q, double sigma)
{
    ledger_member_t *mem = (ledger_member_t *)cmem;
    if (mem->curve_q != q || mem->curve_sigma != sigma) {
        budget_dpsgd_curve(q, sigma, mem->curve);
        mem->curve_q = q;
        mem->curve_sigma = sigma;
    }
    return mem->curve;
}

double ledger_state_record_eps(const ledger_state_t *self, const uint8_t key[IDENTITY_KEY_BYTES],
                               double q, double sigma, uint64_t steps)
{
    const ledger_member_t *mem = s_member((ledger_state_t *)self, key);
    double rdp[BUDGET_DPSGD_ORDERS] = {0}, fresh[BUDGET_DPSGD_ORDERS];
    if (mem) {
        memcpy(rdp, mem->record_rdp, sizeof rdp);
    }
    if (steps == 0 && rdp[0] == 0) {
        return 0; // no round yet (the conversion of a zero curve is not quite 0)
    }
    if (steps) {
        const double *c = mem ? s_curve(mem, q, sigma) : fresh;
        if (!mem) {
            budget_dpsgd_curve(q, sigma, fresh);
        }
        for (int j = 0; j < BUDGET_DPSGD_ORDERS; j++) {
            rdp[j] += (double)steps * c[j];
        }
    }
    return budget_curve_epsilon(rdp, self->genesis.record_delta);
}

int ledger_state_record_within(const ledger_state_t *self, double eps)
{
    return eps <= self->genesis.record_eps * (1 + 1e-9);
}

// Rule 9c (docs/ledger.md §6c): a record-level DP federation's block
// carries every contributor's (q, sigma, steps) and its running epsilon,
// recomputed here, within the budget; any other federation's carries none.
static int s_check_record_dp(const ledger_state_t *self, const block_t *b, fs_err_t *err)
{
    const genesis_t *g = &self->genesis;
    if (!g->record_dp) {
        return b->has_record_dp ? fs_err_set(err, FS_EVERIFY, "record_dp: present, but the "
                                             "genesis has no record-level DP") : 0;
    }
    if (!b->has_record_dp) {
        return fs_err_set(err, FS_EVERIFY, "record_dp: missing (the genesis asks every "
                          "contributor's DP-SGD figures)");
    }
    for (int i = 0; i < b->n_contrib; i++) {
        const block_record_dp_t *d = &b->record_dp[i];
        const ledger_member_t *mem = s_member((ledger_state_t *)self, b->contrib[i].key);
        const double eps = ledger_state_record_eps(self, b->contrib[i].key, d->q, d->sigma,
                                                   d->steps);
        if (!budget_same(d->eps, eps)) {
            return fs_err_set(err, FS_EVERIFY, "record_dp %d (%s): eps %.17g, expected %.17g", i,
                              mem->id.name, d->eps, eps);
        }
        if (!ledger_state_record_within(self, eps)) {
            return fs_err_set(err, FS_EVERIFY, "record_dp %d (%s): eps %g exceeds the record "
                              "budget %g", i, mem->id.name, eps, g->record_eps);
        }
    }
    return 0;
}

static int s_check_privacy(const ledger_state_t *self, const block_t *b, fs_err_t *err)
{
    const genesis_t *g = &self->genesis;
    const block_privacy_t *p = &b->privacy;
    if (p->mechanism != g->mechanism || p->clip != g->clip || p->member_scale != g->member_scale ||
        p->agg_scale != g->agg_scale) {
        return fs_err_set(err, FS_EVERIFY,
                          "privacy: parameters (%s, C=%g, b=%g, b_G=%g) differ from genesis "
                          "(%s, C=%g, b=%g, b_G=%g)",
                          noise_mechanism_name(p->mechanism), p->clip, p->member_scale,
                          p->agg_scale, noise_mechanism_name(g->mechanism), g->clip,
                          g->member_scale, g->agg_scale);
    }
    double max_w = 0;
    for (int i = 0; i < b->n_contrib; i++) {
        max_w = b->contrib[i].weight > max_w ? b->contrib[i].weight : max_w;
    }
    budget_params_t bp = budget_params_of(g);
    double eps = budget_member_epsilon(&bp);
    double eps_agg = budget_aggregate_epsilon(&bp, max_w);
    double total = self->eps_total + eps;
    double adv = budget_composed_epsilon(&bp, self->rounds_charged + 1);
    const double want[] = {eps, eps_agg, total, adv};
    const double got[] = {p->eps_member, p->eps_aggregate, p->eps_total, p->eps_total_adv};
    const char *names[] = {"eps_member", "eps_aggregate", "eps_total", "eps_total_adv"};
    for (int i = 0; i < 4; i++) {
        if (!budget_same(want[i], got[i])) {
            return fs_err_set(err, FS_EVERIFY, "privacy.%s: %.17g, expected %.17g", names[i],
                              got[i], want[i]);
        }
    }
    return 0;
}

// A majority-witnessed federation's block carries its predecessor's
// certificate (empty for block 1: the genesis needs none); any other
// federation's block carries none (docs/ledger.md §6a, §7 rule 9a).
static int s_check_commit(const ledger_state_t *self, const block_t *b, fs_err_t *err)
{
    if (self->genesis.finality != GENESIS_FINALITY_MAJORITY) {
        return b->has_commit ? fs_err_set(err, FS_ECORRUPT, "commit: present, but the genesis "
                                          "does not ask for witnessed blocks")
                             : 0;
    }
    if (!b->has_commit) {
        return fs_err_set(err, FS_EVERIFY, "commit: missing (the genesis asks for "
                          "majority-witnessed blocks)");
    }
    if (self->height == 1) {
        return b->commit.n == 0 && b->commit.ballot == 0
                   ? 0
                   : fs_err_set(err, FS_EVERIFY, "commit: block 1's must be empty");
    }
    return ledger_state_check_head_cert(self, &b->commit, err);
}

int ledger_state_check_head_cert(const ledger_state_t *self, const witness_cert_t *cert,
                                 fs_err_t *err)
{
    if (self->height < 2) {
        return fs_err_set(err, FS_EINVAL, "the genesis needs no witnesses");
    }
    return witness_cert_check(cert, self->fed_id, self->height - 1, self->head_hash,
                              (const uint8_t(*)[IDENTITY_KEY_BYTES])self->head_voters,
                              self->n_head_voters, err);
}

int ledger_state_check_next_cert(const ledger_state_t *self, const uint8_t *rec, size_t n,
                                 const witness_cert_t *cert, fs_err_t *err)
{
    uint8_t hash[HASH_BYTES], voters[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    block_hash(rec, n, hash);
    size_t n_voters = ledger_state_active(self, voters);
    return witness_cert_check(cert, self->fed_id, self->height, hash,
                              (const uint8_t(*)[IDENTITY_KEY_BYTES])voters, n_voters, err);
}

int ledger_state_check_next(const ledger_state_t *self, const uint8_t *rec, size_t n,
                            uint8_t model_hash[HASH_BYTES], fs_err_t *err)
{
    ledger_state_t *tmp = xmalloc(sizeof *tmp);
    memcpy(tmp, self, sizeof *tmp);
    int rc = ledger_state_apply(tmp, rec, n, err);
    if (rc == 0 && model_hash) {
        memcpy(model_hash, tmp->model_hash, HASH_BYTES);
    }
    free(tmp);
    return rc;
}

static int s_apply_block(ledger_state_t *self, const uint8_t *rec, size_t n, int presigned,
                         fs_err_t *err);

int ledger_state_apply(ledger_state_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    return s_apply_block(self, rec, n, 0, err);
}

int ledger_state_apply_presigned(ledger_state_t *self, const uint8_t *rec, size_t n,
                                 fs_err_t *err)
{
    return s_apply_block(self, rec, n, 1, err);
}

static int s_apply_block(ledger_state_t *self, const uint8_t *rec, size_t n, int presigned,
                         fs_err_t *err)
{
    unsigned long long idx = (unsigned long long)self->height;
    sigmsg_t m;
    int rc;
    // Decode into scratch: a refused block must not replace `last`.
    block_t *b = &self->scratch;
    if ((rc = sigmsg_decode(rec, n, BLOCK_MAX_BYTES, &m, err)) < 0 ||
        (rc = sigmsg_check_version(&m, err)) < 0) {
        return fs_err_prefix(err, rc, "block %llu: ", idx);
    }
    if (memcmp(m.fed_id, self->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "block %llu: federation id differs from genesis", idx);
    }
    if (m.round != self->height) {
        return fs_err_set(err, FS_EVERIFY, "block %llu: index: found %llu, expected %llu", idx,
                          (unsigned long long)m.round, idx);
    }
    if ((rc = block_decode(&m, b, err)) < 0) {
        return fs_err_prefix(err, rc, "block %llu: ", idx);
    }
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n_active = ledger_state_active(self, active);
    const ledger_member_t *agg = s_member(self, b->aggregator);
    if (!agg || !agg->active) {
        char who[9];
        hash_short(b->aggregator, who);
        return fs_err_set(err, FS_EVERIFY, "block %llu: aggregator %s is not an active member",
                          idx, who);
    }
    if (memcmp(b->prev_hash, self->head_hash, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "block %llu: prev_hash does not match block %llu",
                          idx, idx - 1);
    }
    if (b->time_ms < self->head_time_ms) {
        return fs_err_set(err, FS_EVERIFY, "block %llu: time goes back before block %llu", idx,
                          idx - 1);
    }
    if (n_active == 0) {
        return fs_err_set(err, FS_EVERIFY, "block %llu: the federation has no active member", idx);
    }
    size_t cand = election_candidate(self->head_hash, b->index, active[0], n_active, b->attempt);
    if (memcmp(active[cand], b->aggregator, IDENTITY_KEY_BYTES) != 0 ||
        b->rank != b->attempt % n_active) {
        return fs_err_set(err, FS_EVERIFY,
                          "block %llu: election: %s is not the candidate of attempt %u (rank "
                          "%u recorded, %zu expected)",
                          idx, agg->id.name, b->attempt, b->rank, (size_t)(b->attempt % n_active));
    }
    if (b->n_expected != n_active ||
        memcmp(b->expected, active, n_active * IDENTITY_KEY_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY,
                          "block %llu: expected members differ from the %zu active members", idx,
                          n_active);
    }
    if ((rc = s_check_contributors(self, b, err)) < 0 ||
        (rc = s_check_members(self, b, active[0], n_active, err)) < 0 ||
        (rc = s_check_privacy(self, b, err)) < 0 || (rc = s_check_commit(self, b, err)) < 0 ||
        (rc = s_check_motions(self, b, active[0], n_active, err)) < 0 ||
        (rc = s_check_record_dp(self, b, err)) < 0) {
        return fs_err_prefix(err, rc, "block %llu: ", idx);
    }
    // The signature last: every field check above names what is wrong in a
    // damaged or forged block, and the signature then binds them all.
    if (!presigned && (rc = sigmsg_verify(&m, err)) < 0) {
        return fs_err_set(err, FS_EVERIFY,
                          "block %llu: signature does not verify with aggregator %s", idx,
                          agg->id.name);
    }

    // Every check passed: move the state past the block.  Its witnesses
    // are the members active before it.
    memcpy(self->head_voters, active, n_active * IDENTITY_KEY_BYTES);
    self->n_head_voters = (uint16_t)n_active;
    for (int i = 0; i < self->n_members; i++) {
        ledger_member_t *mem = &self->members[i];
        if (!mem->active) {
            continue;
        }
        int contributed = 0;
        for (int k = 0; k < b->n_contrib; k++) {
            contributed |= memcmp(b->contrib[k].key, mem->id.sign_pk, IDENTITY_KEY_BYTES) == 0;
        }
        mem->missed = contributed ? 0 : mem->missed + 1;
    }
    for (int k = 0; b->has_record_dp && k < b->n_contrib; k++) {
        ledger_member_t *mem = s_member(self, b->contrib[k].key);
        const block_record_dp_t *d = &b->record_dp[k];
        const double *c = s_curve(mem, d->q, d->sigma);
        for (int j = 0; j < BUDGET_DPSGD_ORDERS; j++) {
            mem->record_rdp[j] += (double)d->steps * c[j];
        }
    }
    for (int i = 0; i < b->n_left; i++) {
        ledger_member_t *mem = s_member(self, b->left[i].key);
        mem->active = 0;
        mem->left_at = b->index;
    }
    for (int i = 0; i < b->n_joined; i++) {
        ledger_member_t *mem = s_member(self, b->joined[i].id.sign_pk);
        const uint64_t left_at = mem ? mem->left_at : 0;
        if (!mem) {
            mem = &self->members[self->n_members++];
            memset(mem, 0, sizeof *mem);
        }
        // a record's loss outlives a membership: record_rdp (and its
        // cache) stay as they are
        mem->id = b->joined[i].id;
        mem->active = 1;
        mem->joined_at = b->index;
        mem->left_at = left_at;
        mem->missed = 0;
        mem->removed = 0;
        s_drop_admitted(self, b->joined[i].id.sign_pk); // its admission is used
    }
    s_apply_motions(self, b);
    if (budget_is_formal(b->privacy.mechanism)) {
        self->rounds_charged++;
    }
    self->eps_total = b->privacy.eps_total;
    block_hash(rec, n, self->head_hash);
    self->head_time_ms = b->time_ms;
    memcpy(self->model_hash, b->model_hash, HASH_BYTES);
    self->last = *b;
    self->height++;
    return 0;
}
