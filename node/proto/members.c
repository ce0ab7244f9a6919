/* members.c - membership decisions (members.h); no I/O, no clock. */
#include "node/proto/members.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sigmsg.h"
#include "ledger/block.h"
#include "node/base/bytes.h"
#include "node/base/err.h"
#include "node/base/mem.h"

void members_init(members_t *self, const uint8_t me[IDENTITY_KEY_BYTES], int has_data)
{
    memset(self, 0, sizeof *self);
    memcpy(self->me, me, IDENTITY_KEY_BYTES);
    self->has_data = has_data;
    self->last_join = self->last_leave = self->last_motions = INT64_MIN / 2;
}

static void s_free_requests(members_request_t *p, int *n)
{
    for (int i = 0; i < *n; i++) {
        free(p[i].req);
        p[i].req = NULL;
    }
    *n = 0;
}

static void s_drop_motion(members_t *self, int i)
{
    free(self->motions[i]);
    memmove(&self->motions[i], &self->motions[i + 1],
            (size_t)(self->n_motions - i - 1) * sizeof self->motions[0]);
    self->motions[--self->n_motions] = NULL;
}

void members_free(members_t *self)
{
    s_free_requests(self->joins, &self->n_joins);
    s_free_requests(self->leaves, &self->n_leaves);
    while (self->n_motions) {
        s_drop_motion(self, self->n_motions - 1);
    }
}

void members_reset(members_t *self)
{
    members_free(self);
    self->leaving = 0;
    self->left = 0;
    self->last_join = self->last_leave = self->last_motions = INT64_MIN / 2;
}

int members_is_active(const ledger_state_t *st, const uint8_t key[IDENTITY_KEY_BYTES])
{
    if (!st) {
        return 0;
    }
    const ledger_member_t *m = ledger_state_member(st, key);
    return m && m->active;
}

// Keeps a copy of req under key (a newer request replaces the older).
// Returns 1 when kept.
static int s_add(members_request_t *p, int *n, const uint8_t key[IDENTITY_KEY_BYTES],
                 uint64_t round, const uint8_t *req, size_t len)
{
    int at = *n;
    for (int i = 0; i < *n; i++) {
        if (memcmp(p[i].key, key, IDENTITY_KEY_BYTES) == 0) {
            at = i;
            free(p[i].req);
            p[i].req = NULL;
        }
    }
    if (at == MEMBERS_MAX_PENDING) {
        return 0; // the caller says so in its log
    }
    memcpy(p[at].key, key, IDENTITY_KEY_BYTES);
    p[at].req = xmalloc(len ? len : 1);
    memcpy(p[at].req, req, len);
    p[at].n = len;
    p[at].round = round;
    if (at == *n) {
        (*n)++;
    }
    return 1;
}

// A request for `round` may still be recorded in the block after the head
// (the genesis's request window, ledger/state.c; none when it is 0).
static int s_fresh(const ledger_state_t *st, uint64_t round)
{
    const uint32_t window = st ? st->genesis.request_window : 0;
    return window == 0 || st->height <= round || st->height - round <= window;
}

// The ledger's replay rules (docs/ledger.md §7 rules 7 and 8): a former
// member's join request must be newer than its last leave, an admitted
// member's leave request newer than its last admission.  An aggregator
// that wrote such a request into its block would make a block every member
// refuses, at every attempt, until the request left the window.
static int s_replayed(const ledger_state_t *st, int type, const uint8_t key[IDENTITY_KEY_BYTES],
                      uint64_t round)
{
    const ledger_member_t *m = st ? ledger_state_member(st, key) : NULL;
    if (!m) {
        return 0;
    }
    return type == SIGMSG_JOIN ? m->left_at && round <= m->left_at
                               : m->joined_at && round <= m->joined_at;
}

int members_on_request(members_t *self, const ledger_state_t *st, int type, uint64_t round,
                       const uint8_t signer[IDENTITY_KEY_BYTES], const uint8_t *req, size_t n)
{
    if (!s_fresh(st, round)) {
        return 0; // its sender signs a new one while it still wants this
    }
    if (type == SIGMSG_JOIN) {
        if (members_is_active(st, signer)) {
            return 0;
        }
        return s_add(self->joins, &self->n_joins, signer, round, req, n) ? 1 : FS_ETOOBIG;
    }
    if (type == SIGMSG_LEAVE) {
        if (!members_is_active(st, signer)) {
            return 0;
        }
        return s_add(self->leaves, &self->n_leaves, signer, round, req, n) ? 1 : FS_ETOOBIG;
    }
    return 0;
}

// Keeps the requests for which keep(active) holds.
static void s_filter(members_request_t *p, int *n, const ledger_state_t *st, int keep_active)
{
    int k = 0;
    for (int i = 0; i < *n; i++) {
        if (members_is_active(st, p[i].key) == keep_active) {
            p[k++] = p[i];
        } else {
            free(p[i].req);
        }
    }
    *n = k;
}

// Keeps the signatures of active members only (a block's motion may count
// no other); returns how many remain.
static size_t s_active_sigs(motion_t *m, const ledger_state_t *st)
{
    uint16_t k = 0;
    for (uint16_t i = 0; i < m->n; i++) {
        if (members_is_active(st, m->sigs[i].key)) {
            m->sigs[k++] = m->sigs[i];
        }
    }
    m->n = k;
    return k;
}

void members_on_block(members_t *self, const ledger_state_t *st)
{
    s_filter(self->joins, &self->n_joins, st, 0);   // admitted: done
    s_filter(self->leaves, &self->n_leaves, st, 1); // removed: done
    // a recorded motion is no longer recordable (its candidate's last event
    // is at or after its round), nor is one past the window
    for (int i = self->n_motions - 1; i >= 0; i--) {
        if (ledger_state_check_motion(st, self->motions[i], NULL) < 0 ||
            s_active_sigs(self->motions[i], st) == 0) {
            s_drop_motion(self, i);
        }
    }
}

static int s_find_motion(const members_t *self, const motion_t *m)
{
    for (int i = 0; i < self->n_motions; i++) {
        if (motion_same(self->motions[i], m)) {
            return i;
        }
    }
    return -1;
}

int members_on_motion(members_t *self, const ledger_state_t *st, const motion_t *m)
{
    if (!st || ledger_state_check_motion(st, m, NULL) < 0) {
        return 0;
    }
    int i = s_find_motion(self, m);
    if (i < 0) {
        if (self->n_motions == MEMBERS_MAX_MOTIONS) {
            return FS_ETOOBIG;
        }
        motion_t *copy = xmalloc(sizeof *copy);
        *copy = *m;
        copy->n = 0;
        self->motions[self->n_motions++] = copy;
        i = self->n_motions - 1;
    }
    int learnt = 0;
    for (uint16_t k = 0; k < m->n; k++) {
        if (members_is_active(st, m->sigs[k].key)) {
            learnt |= motion_add_sig(self->motions[i], m->sigs[k].key, m->sigs[k].sig);
        }
    }
    if (self->motions[i]->n == 0) {
        s_drop_motion(self, i); // nobody who counts has signed it
    }
    return learnt;
}

int members_propose(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                    const identity_t *me, int action, const identity_pub_t *candidate,
                    const motion_t **out, fs_err_t *err)
{
    if (!members_is_active(st, self->me)) {
        return fs_err_set(err, FS_EINVAL, "only an active member may propose a motion");
    }
    motion_t *m = xcalloc(1, sizeof *m);
    m->action = (uint8_t)action;
    m->round = st->height;
    m->candidate = *candidate;
    int rc = ledger_state_check_motion(st, m, err);
    int i = rc < 0 ? -1 : s_find_motion(self, m);
    if (rc == 0 && i < 0 && self->n_motions == MEMBERS_MAX_MOTIONS) {
        rc = fs_err_set(err, FS_EINVAL, "%d motions are under way already; sign or let them "
                        "expire first", MEMBERS_MAX_MOTIONS);
    }
    if (rc < 0) {
        free(m);
        if (err) {
            err->code = FS_EINVAL;
        }
        return FS_EINVAL;
    }
    if (i < 0) {
        self->motions[self->n_motions++] = m;
        i = self->n_motions - 1;
    } else {
        free(m);
    }
    motion_sign(self->motions[i], fed_id, me);
    *out = self->motions[i];
    return 0;
}

int members_sign(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                 const identity_t *me, const char *id_prefix, const motion_t **out,
                 fs_err_t *err)
{
    if (!members_is_active(st, self->me)) {
        return fs_err_set(err, FS_EINVAL, "only an active member may sign a motion");
    }
    size_t len = strlen(id_prefix);
    if (len < 4 || len > MOTION_ID_CHARS - 1) {
        return fs_err_set(err, FS_EINVAL, "motion id '%s': expected 4 to %d hex digits (as "
                          "`fedsyn member pending` lists them)", id_prefix, MOTION_ID_CHARS - 1);
    }
    int found = -1;
    for (int i = 0; i < self->n_motions; i++) {
        char id[MOTION_ID_CHARS];
        motion_id(fed_id, self->motions[i], id);
        if (strncmp(id, id_prefix, len) == 0) {
            if (found >= 0) {
                return fs_err_set(err, FS_EINVAL, "motion id '%s' matches several motions; "
                                  "give more digits", id_prefix);
            }
            found = i;
        }
    }
    if (found < 0) {
        return fs_err_set(err, FS_EINVAL, "no pending motion has id '%s' (`fedsyn member "
                          "pending` lists them; a recorded or expired one is gone)", id_prefix);
    }
    motion_sign(self->motions[found], fed_id, me);
    *out = self->motions[found];
    return 0;
}

const motion_t *members_motion(const members_t *self, int i) { return self->motions[i]; }

static members_action_t *s_emit(members_actions_t *out, members_action_kind_t kind)
{
    assert(out->n < MEMBERS_MAX_ACTIONS);
    members_action_t *a = &out->act[out->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    return a;
}

// Signs our request of this type at the head's height, keeps it pending
// and emits it.
static void s_request(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                      const identity_t *me, int leave, members_actions_t *out)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    if (leave) {
        block_leave_request(&w, fed_id, st->height, me);
    } else {
        block_join_request(&w, fed_id, st->height, me);
    }
    assert(w.len <= sizeof self->own);
    memcpy(self->own, w.data, w.len);
    self->own_n = w.len;
    bytes_writer_reset(&w);
    if (leave) {
        s_add(self->leaves, &self->n_leaves, self->me, st->height, self->own, self->own_n);
    } else {
        s_add(self->joins, &self->n_joins, self->me, st->height, self->own, self->own_n);
    }
    members_action_t *a = s_emit(out, leave ? MEMBERS_ACT_SEND_LEAVE : MEMBERS_ACT_SEND_JOIN);
    a->bytes = self->own;
    a->n = self->own_n;
    a->height = st->height;
}

void members_leave(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                   const identity_t *me, int64_t now, members_actions_t *out)
{
    out->n = 0;
    if (!st || !members_is_active(st, self->me)) {
        if (!self->left) {
            s_emit(out, MEMBERS_ACT_LEFT);
        }
        self->left = 1;
        return;
    }
    self->leaving = 1;
    s_request(self, st, fed_id, me, 1, out);
    self->last_leave = now;
}

void members_tick(members_t *self, const ledger_state_t *st, const uint8_t fed_id[HASH_BYTES],
                  const identity_t *me, int caught_up, int64_t now, members_actions_t *out)
{
    out->n = 0;
    if (!st || self->left) {
        return;
    }
    int active = members_is_active(st, self->me);
    if (self->leaving && !active) {
        self->left = 1;
        s_emit(out, MEMBERS_ACT_LEFT);
        return;
    }
    const ledger_member_t *mine = ledger_state_member(st, self->me);
    if (!active && mine && mine->removed && !ledger_state_may_join(st, self->me)) {
        self->left = 1;
        s_emit(out, MEMBERS_ACT_REMOVED)->height = mine->left_at;
        return;
    }
    if (self->n_motions && now - self->last_motions > MEMBERS_RETRY_MS) {
        s_emit(out, MEMBERS_ACT_SEND_MOTIONS);
        self->last_motions = now;
    }
    if (self->leaving && now - self->last_leave > MEMBERS_RETRY_MS) {
        s_request(self, st, fed_id, me, 1, out);
        self->last_leave = now;
    }
    if (!active && !self->leaving && self->has_data && now - self->last_join > MEMBERS_RETRY_MS) {
        if (caught_up) {
            s_request(self, st, fed_id, me, 0, out);
        }
        self->last_join = now;
    }
}

size_t members_leavers(const members_t *self, const ledger_state_t *st,
                       uint8_t (*keys)[IDENTITY_KEY_BYTES])
{
    members_changes_t mc;
    members_changes(self, st, NULL, 0, &mc);
    size_t n = 0;
    for (size_t i = 0; i < mc.n_leave; i++) {
        if (mc.leave_reqs[i]) { // requested, not marked inactive
            memcpy(keys[n++], mc.leave_keys[i], IDENTITY_KEY_BYTES);
        }
    }
    return n;
}

// The motions a majority of the active members signed, recordable now,
// about nobody the block's joins and leaves name.
static void s_changes_motions(const members_t *self, const ledger_state_t *st,
                              members_changes_t *out)
{
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    const size_t need = witness_majority(ledger_state_active(st, active));
    for (int i = 0; i < self->n_motions && out->n_motions < BLOCK_MAX_MOTIONS; i++) {
        const motion_t *m = self->motions[i];
        const uint8_t *key = m->candidate.sign_pk;
        size_t n = 0;
        for (uint16_t k = 0; k < m->n; k++) {
            n += (size_t)members_is_active(st, m->sigs[k].key);
        }
        int clash = 0;
        for (size_t k = 0; k < out->n_leave; k++) {
            clash |= memcmp(out->leave_keys[k], key, IDENTITY_KEY_BYTES) == 0;
        }
        for (size_t k = 0; k < out->n_motions; k++) {
            clash |= memcmp(out->motions[k]->candidate.sign_pk, key, IDENTITY_KEY_BYTES) == 0;
        }
        for (size_t k = 0; k < out->n_join && !clash; k++) {
            sigmsg_t sm;
            clash = sigmsg_decode(out->join_reqs[k], out->join_lens[k], BLOCK_REQUEST_MAX, &sm,
                                  NULL) == 0 &&
                    memcmp(sm.signer, key, IDENTITY_KEY_BYTES) == 0;
        }
        if (n == m->n && n >= need && !clash && ledger_state_check_motion(st, m, NULL) == 0) {
            out->motions[out->n_motions++] = m;
        }
    }
}

void members_changes(const members_t *self, const ledger_state_t *st,
                     const uint8_t (*counted_keys)[IDENTITY_KEY_BYTES], size_t n_counted,
                     members_changes_t *out)
{
    memset(out, 0, sizeof *out);
    // a request past the window is left out (the block would be refused);
    // its sender signs a fresh one every MEMBERS_RETRY_MS while it waits
    for (int i = 0; i < self->n_joins && out->n_join < BLOCK_MAX_CHANGES; i++) {
        if (ledger_state_may_join(st, self->joins[i].key) && s_fresh(st, self->joins[i].round) &&
            !s_replayed(st, SIGMSG_JOIN, self->joins[i].key, self->joins[i].round)) {
            out->join_reqs[out->n_join] = self->joins[i].req;
            out->join_lens[out->n_join++] = self->joins[i].n;
        }
    }
    for (int i = 0; i < self->n_leaves && out->n_leave < BLOCK_MAX_CHANGES; i++) {
        if (members_is_active(st, self->leaves[i].key) && s_fresh(st, self->leaves[i].round) &&
            !s_replayed(st, SIGMSG_LEAVE, self->leaves[i].key, self->leaves[i].round)) {
            memcpy(out->leave_keys[out->n_leave], self->leaves[i].key, IDENTITY_KEY_BYTES);
            out->leave_reqs[out->n_leave] = self->leaves[i].req;
            out->leave_lens[out->n_leave++] = self->leaves[i].n;
        }
    }
    for (int i = 0; i < st->n_members && out->n_leave < BLOCK_MAX_CHANGES &&
                    st->genesis.inactive_after; i++) {
        const ledger_member_t *m = &st->members[i];
        int counted = 0, listed = 0;
        for (size_t k = 0; k < n_counted; k++) {
            counted |= memcmp(counted_keys[k], m->id.sign_pk, IDENTITY_KEY_BYTES) == 0;
        }
        for (size_t k = 0; k < out->n_leave; k++) {
            listed |= memcmp(out->leave_keys[k], m->id.sign_pk, IDENTITY_KEY_BYTES) == 0;
        }
        if (m->active && !counted && !listed && m->missed + 1 >= st->genesis.inactive_after) {
            memcpy(out->leave_keys[out->n_leave], m->id.sign_pk, IDENTITY_KEY_BYTES);
            out->leave_reqs[out->n_leave] = NULL;
            out->leave_lens[out->n_leave++] = 0;
        }
    }
    s_changes_motions(self, st, out); // last: none may name a member leaving in this block
}
