/* assemble.c - build the next block the way ledger_state_apply checks it. */
#include "ledger/assemble.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/budget.h"
#include "ledger/election.h"

static int s_contrib_cmp(const void *a, const void *b)
{
    return memcmp(((const block_contrib_t *)a)->key, ((const block_contrib_t *)b)->key,
                  IDENTITY_KEY_BYTES);
}

int assemble_aggregator(const ledger_state_t *st, uint32_t attempt,
                        uint8_t key[IDENTITY_KEY_BYTES])
{
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n = ledger_state_active(st, active);
    if (n == 0) {
        memset(key, 0, IDENTITY_KEY_BYTES);
        return -1; // every member has left: nobody aggregates
    }
    size_t c = election_candidate(st->head_hash, st->height, active[0], n, attempt);
    memcpy(key, active[c], IDENTITY_KEY_BYTES);
    return 0;
}

int assemble_block(const ledger_state_t *st, uint32_t attempt, uint64_t time_ms,
                   const assemble_contrib_t *contrib, size_t n_contrib,
                   const uint8_t *const *join_reqs, const size_t *join_lens, size_t n_join,
                   const uint8_t (*leave_keys)[IDENTITY_KEY_BYTES],
                   const uint8_t *const *leave_reqs, const size_t *leave_lens, size_t n_leave,
                   const uint8_t model_hash[HASH_BYTES], block_t *b, fs_err_t *err)
{
    const genesis_t *g = &st->genesis;
    memset(b, 0, sizeof *b);
    b->index = st->height;
    memcpy(b->prev_hash, st->head_hash, HASH_BYTES);
    b->has_commit = g->finality == GENESIS_FINALITY_MAJORITY; // empty: the caller's to fill
    b->has_motions = g->admission == ADMIT_VOTE;              // none: the caller's to fill
    b->time_ms = time_ms > st->head_time_ms ? time_ms : st->head_time_ms;
    size_t n_active = ledger_state_active(st, b->expected);
    if (n_active == 0) {
        return fs_err_set(err, FS_EINVAL, "no active member to aggregate");
    }
    b->n_expected = (uint16_t)n_active;
    b->attempt = attempt;
    b->rank = (uint32_t)(attempt % n_active);
    assemble_aggregator(st, attempt, b->aggregator);
    if (n_contrib > n_active) {
        return fs_err_set(err, FS_EINVAL, "%zu contributors for %zu members", n_contrib, n_active);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n_contrib; i++) {
        memcpy(b->contrib[i].key, contrib[i].key, IDENTITY_KEY_BYTES);
        memcpy(b->contrib[i].envelope, contrib[i].envelope, HASH_BYTES);
        b->contrib[i].samples = contrib[i].samples;
        total += contrib[i].samples;
    }
    b->n_contrib = (uint16_t)n_contrib;
    qsort(b->contrib, n_contrib, sizeof b->contrib[0], s_contrib_cmp);
    double max_w = 0;
    for (size_t i = 0; i < n_contrib; i++) {
        b->contrib[i].weight = (double)b->contrib[i].samples / (double)total;
        max_w = b->contrib[i].weight > max_w ? b->contrib[i].weight : max_w;
    }
    if (n_join > BLOCK_MAX_CHANGES || n_leave > BLOCK_MAX_CHANGES) {
        return fs_err_set(err, FS_EINVAL, "at most %d joins and %d leaves per block",
                          BLOCK_MAX_CHANGES, BLOCK_MAX_CHANGES);
    }
    for (size_t i = 0; i < n_join; i++) {
        if (join_lens[i] > BLOCK_REQUEST_MAX) {
            return fs_err_set(err, FS_EINVAL, "join request %zu: %zu bytes, at most %d", i,
                              join_lens[i], BLOCK_REQUEST_MAX);
        }
        b->joined[i].request_len = (uint16_t)join_lens[i];
        memcpy(b->joined[i].request, join_reqs[i], join_lens[i]);
    }
    b->n_joined = (uint8_t)n_join;
    for (size_t i = 0; i < n_leave; i++) {
        block_leave_t *l = &b->left[i];
        memcpy(l->key, leave_keys[i], IDENTITY_KEY_BYTES);
        l->reason = leave_reqs && leave_reqs[i] ? LEAVE_REQUESTED : LEAVE_INACTIVE;
        if (l->reason == LEAVE_REQUESTED) {
            if (leave_lens[i] > BLOCK_REQUEST_MAX) {
                return fs_err_set(err, FS_EINVAL, "leave request %zu: %zu bytes, at most %d", i,
                                  leave_lens[i], BLOCK_REQUEST_MAX);
            }
            l->request_len = (uint16_t)leave_lens[i];
            memcpy(l->request, leave_reqs[i], leave_lens[i]);
        }
    }
    b->n_left = (uint8_t)n_leave;
    block_privacy_t *p = &b->privacy;
    p->mechanism = g->mechanism;
    p->clip = g->clip;
    p->member_scale = g->member_scale;
    p->agg_scale = g->agg_scale;
    budget_params_t bp = budget_params_of(g);
    p->eps_member = budget_member_epsilon(&bp);
    p->eps_aggregate = budget_aggregate_epsilon(&bp, max_w);
    p->eps_total = st->eps_total + p->eps_member;
    p->eps_total_adv =
        budget_composed_epsilon(&bp, st->rounds_charged + (budget_is_formal(g->mechanism) ? 1 : 0));
    b->has_record_dp = g->record_dp != GENESIS_RECORD_DP_NONE;
    for (size_t i = 0; b->has_record_dp && i < n_contrib; i++) {
        const assemble_contrib_t *c = contrib;
        while (memcmp(c->key, b->contrib[i].key, IDENTITY_KEY_BYTES) != 0) {
            c++; // (the sorted contributors are the given ones)
        }
        block_record_dp_t *d = &b->record_dp[i];
        d->q = c->dp_q;
        d->sigma = c->dp_sigma;
        d->steps = c->dp_steps;
        d->eps = ledger_state_record_eps(st, c->key, c->dp_q, c->dp_sigma, c->dp_steps);
        if (!ledger_state_record_within(st, d->eps)) {
            return fs_err_set(err, FS_EINVAL, "contributor %zu: its records' epsilon would "
                              "reach %g, past the budget %g", i, d->eps, g->record_eps);
        }
    }
    memcpy(b->model_hash, model_hash, HASH_BYTES);
    b->close_reason = (uint8_t)block_close_reason(b);
    return 0;
}
