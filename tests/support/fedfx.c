/* fedfx.c - a small test federation (see fedfx.h). */
#include "tests/support/fedfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crypto/hash.h"
#include "ledger/budget.h"
#include "ledger/chain.h"
#include "node/base/fsio.h"

fedfx_t *fedfx_new(int n_founders, int n_extra, int mechanism)
{
    return fedfx_new_window(n_founders, n_extra, mechanism, 0);
}

static int s_index(const fedfx_t *fx, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < fx->n_ids; i++) {
        if (memcmp(identity_public(fx->ids[i])->sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return i;
        }
    }
    return -1;
}

static fedfx_t *s_new(int n_founders, int n_extra, int mechanism, uint32_t request_window,
                      uint8_t finality);
static int s_vote; // the next s_new admits by vote (fedfx_new_vote)
static double s_record_eps; // the next s_new has record-level DP with this budget

fedfx_t *fedfx_new_window(int n_founders, int n_extra, int mechanism, uint32_t request_window)
{
    return s_new(n_founders, n_extra, mechanism, request_window, GENESIS_FINALITY_SIGNED);
}

fedfx_t *fedfx_new_witnessed(int n_founders, int n_extra)
{
    return s_new(n_founders, n_extra, NOISE_NONE, GENESIS_REQUEST_WINDOW_DEFAULT,
                 GENESIS_FINALITY_MAJORITY);
}

fedfx_t *fedfx_new_record_dp(int n_founders, int n_extra, double eps_budget)
{
    s_record_eps = eps_budget;
    fedfx_t *fx = s_new(n_founders, n_extra, NOISE_NONE, GENESIS_REQUEST_WINDOW_DEFAULT,
                        GENESIS_FINALITY_MAJORITY);
    s_record_eps = 0;
    fx->dp_q = 0.01;
    fx->dp_sigma = 1.0;
    fx->dp_steps = 100;
    return fx;
}

fedfx_t *fedfx_new_vote(int n_founders, int n_outsiders)
{
    s_vote = 1;
    fedfx_t *fx = s_new(n_founders, n_outsiders, NOISE_NONE, GENESIS_REQUEST_WINDOW_DEFAULT,
                        GENESIS_FINALITY_MAJORITY);
    s_vote = 0;
    return fx;
}

void fedfx_motion(const fedfx_t *fx, int action, int candidate, uint64_t signers_mask,
                  uint64_t round, motion_t *m)
{
    memset(m, 0, sizeof *m);
    m->action = (uint8_t)action;
    m->round = round;
    m->candidate = *identity_public(fx->ids[candidate]);
    for (int i = 0; i < fx->n_ids; i++) {
        if (signers_mask >> i & 1) {
            motion_sign(m, fx->state->fed_id, fx->ids[i]);
        }
    }
}

void fedfx_join(const fedfx_t *fx, int joiner, uint64_t round, block_t *b)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    block_join_request(&w, fx->state->fed_id, round, fx->ids[joiner]);
    block_join_t *j = &b->joined[b->n_joined++];
    j->request_len = (uint16_t)w.len;
    memcpy(j->request, w.data, w.len);
    j->id = *identity_public(fx->ids[joiner]);
    bytes_writer_reset(&w);
}

void fedfx_cert(const fedfx_t *fx, uint64_t voters_mask, uint32_t ballot, witness_cert_t *c)
{
    const ledger_state_t *st = fx->state;
    uint8_t digest[HASH_BYTES];
    witness_vote_digest(st->fed_id, st->height - 1, ballot, st->head_hash, digest);
    c->ballot = ballot;
    c->n = 0;
    for (size_t v = 0; v < st->n_head_voters; v++) {
        int idx = s_index(fx, st->head_voters[v]);
        if (voters_mask && !(voters_mask >> idx & 1)) {
            continue;
        }
        uint8_t sig[IDENTITY_SIG_BYTES];
        identity_sign(fx->ids[idx], digest, sig);
        witness_cert_add(c, st->head_voters[v], sig);
    }
}

static fedfx_t *s_new(int n_founders, int n_extra, int mechanism, uint32_t request_window,
                      uint8_t finality)
{
    if (hash_library_init() < 0) {
        abort();
    }
    fedfx_t *fx = calloc(1, sizeof *fx);
    fx->n_ids = n_founders + n_extra;
    for (int i = 0; i < fx->n_ids; i++) {
        uint8_t seed[IDENTITY_SEED_BYTES] = {0};
        seed[0] = (uint8_t)(i + 1);
        char name[16];
        snprintf(name, sizeof name, "node%d", i);
        fx->ids[i] = identity_new_from_seed(name, seed, NULL);
    }
    genesis_t *g = calloc(1, sizeof *g);
    snprintf(g->name, sizeof g->name, "testfed");
    g->time_ms = 1700000000000ull;
    g->n_members = (uint16_t)n_founders;
    for (int i = 0; i < n_founders; i++) {
        g->members[i] = *identity_public(fx->ids[i]);
    }
    snprintf(g->model, sizeof g->model, "dcgan:16");
    snprintf(g->dataset, sizeof g->dataset, "mnist");
    g->model_seed = 7;
    memset(g->initial_model_hash, 0xab, HASH_BYTES);
    g->mechanism = (uint8_t)mechanism;
    g->clip = budget_is_formal(mechanism) ? 1.0 : 0;
    g->member_scale = mechanism != NOISE_NONE ? 0.5 : 0;
    g->agg_scale = mechanism != NOISE_NONE ? 0.25 : 0;
    g->delta = 1e-5;
    g->round_timeout_ms = 5000;
    g->attempt_extra_ms = 500;
    g->rounds = 100;
    g->local_iters = 10;
    g->quorum = 1;
    g->inactive_after = 2;
    g->admission = s_vote ? ADMIT_VOTE : ADMIT_ALLOWLIST;
    g->request_window = request_window;
    g->finality = finality;
    if (s_record_eps > 0) {
        g->record_dp = GENESIS_RECORD_DP_SGD;
        g->record_clip = 1.0;
        g->record_delta = 1e-5;
        g->record_eps = s_record_eps;
    }
    g->n_allowed = s_vote ? 0 : (uint16_t)n_extra;
    for (int i = 0; i < n_extra; i++) {
        memcpy(g->allowed[i], identity_public(fx->ids[n_founders + i])->sign_pk,
               IDENTITY_KEY_BYTES);
    }
    bytes_writer_t w;
    bytes_writer_init(&w);
    uint8_t fed_id[HASH_BYTES];
    if (genesis_encode(&w, g, fx->ids[0], fed_id, NULL) < 0) {
        abort();
    }
    free(g);
    fx->state = ledger_state_new();
    if (ledger_state_start(fx->state, w.data, w.len, NULL) < 0) {
        abort();
    }
    fx->lens[0] = w.len;
    fx->recs[0] = bytes_writer_take(&w, NULL);
    fx->n_recs = 1;
    return fx;
}

void fedfx_destroy(fedfx_t **fx_p)
{
    fedfx_t *fx = *fx_p;
    for (int i = 0; i < fx->n_ids; i++) {
        identity_destroy(&fx->ids[i]);
    }
    for (size_t i = 0; i < fx->n_recs; i++) {
        free(fx->recs[i]);
    }
    ledger_state_destroy(&fx->state);
    free(fx);
    *fx_p = NULL;
}

identity_t *fedfx_identity(const fedfx_t *fx, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (int i = 0; i < fx->n_ids; i++) {
        if (memcmp(identity_public(fx->ids[i])->sign_pk, key, IDENTITY_KEY_BYTES) == 0) {
            return fx->ids[i];
        }
    }
    return NULL;
}

void fedfx_next(fedfx_t *fx, uint64_t mask, block_t *b)
{
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n = ledger_state_active(fx->state, active);
    assemble_contrib_t c[LEDGER_MAX_MEMBERS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int idx = s_index(fx, active[i]);
        if (mask && !(mask >> idx & 1)) {
            continue;
        }
        memcpy(c[k].key, active[i], IDENTITY_KEY_BYTES);
        memset(c[k].envelope, idx + 1, HASH_BYTES);
        c[k].envelope[31] = (uint8_t)fx->state->height;
        c[k].samples = 100 * (uint64_t)(idx + 1);
        c[k].dp_q = fx->dp_q;
        c[k].dp_sigma = fx->dp_sigma + 0.1 * idx;
        c[k].dp_steps = fx->dp_steps;
        k++;
    }
    uint8_t model[HASH_BYTES];
    memset(model, (int)fx->state->height + fx->variant, HASH_BYTES);
    if (assemble_block(fx->state, 0, fx->state->head_time_ms + 1000, c, k, NULL, NULL, 0, NULL,
                       NULL, NULL, 0, model, b, NULL) < 0) {
        abort();
    }
    if (b->has_commit && fx->state->height >= 2) {
        fedfx_cert(fx, 0, 0, &b->commit); // every voter signs
    }
}

void fedfx_sign(const fedfx_t *fx, const block_t *b, const identity_t *signer, bytes_writer_t *w)
{
    if (!signer) {
        signer = fedfx_identity(fx, b->aggregator);
    }
    block_encode(w, b, fx->state->fed_id, signer);
}

int fedfx_push(fedfx_t *fx, const uint8_t *rec, size_t n, fs_err_t *err)
{
    int rc = ledger_state_apply(fx->state, rec, n, err);
    if (rc == 0) {
        fx->recs[fx->n_recs] = malloc(n);
        memcpy(fx->recs[fx->n_recs], rec, n);
        fx->lens[fx->n_recs++] = n;
    }
    return rc;
}

int fedfx_push_edited(fedfx_t *fx, void (*edit)(fedfx_t *, block_t *, void *), void *arg,
                      fs_err_t *err)
{
    block_t *b = malloc(sizeof *b);
    fedfx_next(fx, 0, b);
    edit(fx, b, arg);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    int rc = fedfx_push(fx, w.data, w.len, err);
    bytes_writer_reset(&w);
    free(b);
    return rc;
}

void fedfx_round(fedfx_t *fx, uint64_t mask)
{
    block_t *b = malloc(sizeof *b);
    fedfx_next(fx, mask, b);
    bytes_writer_t w;
    bytes_writer_init(&w);
    fedfx_sign(fx, b, NULL, &w);
    fs_err_t err = {0};
    if (fedfx_push(fx, w.data, w.len, &err) < 0) {
        fprintf(stderr, "fedfx_round: %s\n", err.msg);
        abort();
    }
    bytes_writer_reset(&w);
    free(b);
}

void fedfx_write_ledger(const fedfx_t *fx, const char *path)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, CHAIN_MAGIC, 8);
    bytes_put_u32(&w, CHAIN_VERSION);
    bytes_put_u32(&w, 0);
    for (size_t i = 0; i < fx->n_recs; i++) {
        bytes_put_u32(&w, (uint32_t)fx->lens[i]);
        bytes_put(&w, fx->recs[i], fx->lens[i]);
        bytes_put_u32(&w, (uint32_t)crc32(crc32(0L, Z_NULL, 0), fx->recs[i], (uInt)fx->lens[i]));
    }
    if (fsio_write_atomic(path, w.data, w.len, 0644, NULL) < 0) {
        abort();
    }
    bytes_writer_reset(&w);
}
