/* genesis.c - encode and decode block 0, the federation's parameters
 * (layout: docs/ledger.md §5). */
#include "ledger/block.h"

#include <stdbool.h>
#include <math.h>
#include <string.h>

#include "crypto/hash.h"

static void s_put_text(bytes_writer_t *w, const char *s)
{
    size_t n = strlen(s);
    bytes_put_u8(w, (uint8_t)n);
    bytes_put(w, s, n);
}

static int s_get_text(bytes_reader_t *r, char *dst, size_t cap, const char *field, fs_err_t *err)
{
    uint8_t n = bytes_get_u8(r);
    if (n >= cap) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: %s: length %u exceeds %zu", field, n,
                          cap - 1);
    }
    bytes_get(r, dst, n);
    dst[n] = '\0';
    if (strlen(dst) != n) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: %s: contains a NUL byte", field);
    }
    return 0;
}

// Checks the ranges every honest founder respects.
static int s_check(const genesis_t *g, fs_err_t *err)
{
    if (identity_name_check(g->name, err) < 0) {
        return fs_err_prefix(err, FS_ECORRUPT, "genesis: federation ");
    }
    if (g->n_members == 0 || g->n_members > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: members: %u, expected 1..%d", g->n_members,
                          LEDGER_MAX_MEMBERS);
    }
    for (int i = 0; i < g->n_members; i++) {
        for (int j = 0; j < i; j++) {
            if (memcmp(g->members[i].sign_pk, g->members[j].sign_pk, IDENTITY_KEY_BYTES) == 0) {
                return fs_err_set(err, FS_ECORRUPT, "genesis: member %d repeats member %d", i, j);
            }
        }
    }
    if (g->mechanism >= NOISE_MECHANISM_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: mechanism: unknown value %u", g->mechanism);
    }
    const double v[] = {g->clip, g->member_scale, g->agg_scale};
    const char *names[] = {"clip", "member_scale", "agg_scale"};
    for (int i = 0; i < 3; i++) {
        if (!isfinite(v[i]) || v[i] < 0) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: %s is %g, expected finite and >= 0",
                              names[i], v[i]);
        }
    }
    if ((g->mechanism == NOISE_LAPLACE_CLIPPED || g->mechanism == NOISE_GAUSSIAN_CLIPPED) &&
        (g->clip <= 0 || g->member_scale <= 0)) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: %s needs clip > 0 and member_scale > 0",
                          noise_mechanism_name(g->mechanism));
    }
    if (!isfinite(g->delta) || g->delta <= 0 || g->delta >= 1) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: delta is %g, expected 0 < delta < 1",
                          g->delta);
    }
    if (g->round_timeout_ms == 0) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: round_timeout_ms is 0");
    }
    if (g->quorum == 0 || g->quorum > g->n_members) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: quorum %u, expected 1..%u founding members",
                          g->quorum, g->n_members);
    }
    if (g->admission == 0 || g->admission >= ADMIT_RULE_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: admission: unknown rule %u", g->admission);
    }
    if (g->admission == ADMIT_VOTE && g->finality != GENESIS_FINALITY_MAJORITY) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: admission by vote needs "
                          "majority-witnessed blocks (finality majority)");
    }
    if (g->n_allowed > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: allow-list of %u keys exceeds %d",
                          g->n_allowed, LEDGER_MAX_MEMBERS);
    }
    if (!isfinite(g->server_lr) || g->server_lr < 0 || g->server_lr > GENESIS_SERVER_LR_MAX) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: server_lr is %g, expected 0 < lr <= %g",
                          g->server_lr, GENESIS_SERVER_LR_MAX);
    }
    if (g->finality != GENESIS_FINALITY_SIGNED && g->finality != GENESIS_FINALITY_MAJORITY) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: finality: unknown rule %u", g->finality);
    }
    if (g->finality == GENESIS_FINALITY_MAJORITY && g->request_window == 0) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: majority-witnessed blocks need a request "
                          "window (the finality byte follows it)");
    }
    if (g->record_dp != GENESIS_RECORD_DP_NONE && g->record_dp != GENESIS_RECORD_DP_SGD) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: record_dp: unknown mechanism %u",
                          g->record_dp);
    }
    if (g->record_dp) {
        if (g->finality != GENESIS_FINALITY_MAJORITY) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: record-level DP needs majority-"
                              "witnessed blocks (its fields follow the finality byte)");
        }
        if (!isfinite(g->record_clip) || g->record_clip <= 0) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: record_clip is %g, expected a "
                              "finite clip > 0", g->record_clip);
        }
        if (!isfinite(g->record_delta) || g->record_delta <= 0 || g->record_delta >= 1) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: record_delta is %g, expected 0 < "
                              "delta < 1", g->record_delta);
        }
        if (!isfinite(g->record_eps) || g->record_eps <= 0) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: record_eps is %g, expected a finite "
                              "budget > 0", g->record_eps);
        }
    }
    return 0;
}

double genesis_server_lr(const genesis_t *g) { return g->server_lr > 0 ? g->server_lr : 1.0; }

// The optional trailer is written only for a step other than plain FedAvg,
// so that a genesis without one keeps the bytes (and federation id) it has
// always had.
static bool s_has_server_lr(const genesis_t *g) { return g->server_lr > 0 && g->server_lr != 1; }

int genesis_encode(bytes_writer_t *w, const genesis_t *g, const identity_t *founder,
                   uint8_t fed_id[HASH_BYTES], fs_err_t *err)
{
    int rc = s_check(g, err);
    if (rc < 0) {
        if (err) {
            err->code = FS_EINVAL; // the founder's input, not bytes from outside
        }
        return FS_EINVAL;
    }
    if (strlen(g->model) > GENESIS_TEXT_MAX || strlen(g->dataset) > GENESIS_TEXT_MAX) {
        return fs_err_set(err, FS_EINVAL, "genesis: model or data set text too long");
    }
    bytes_writer_t body;
    bytes_writer_init(&body);
    s_put_text(&body, g->name);
    bytes_put_u64(&body, g->time_ms);
    bytes_put_u16(&body, g->n_members);
    for (int i = 0; i < g->n_members; i++) {
        block_put_identity(&body, &g->members[i]);
    }
    s_put_text(&body, g->model);
    s_put_text(&body, g->dataset);
    bytes_put_u64(&body, g->model_seed);
    bytes_put(&body, g->initial_model_hash, HASH_BYTES);
    bytes_put_u8(&body, g->mechanism);
    bytes_put_f64(&body, g->clip);
    bytes_put_f64(&body, g->member_scale);
    bytes_put_f64(&body, g->agg_scale);
    bytes_put_f64(&body, g->delta);
    bytes_put_u32(&body, g->round_timeout_ms);
    bytes_put_u32(&body, g->attempt_extra_ms);
    bytes_put_u32(&body, g->rounds);
    bytes_put_u32(&body, g->local_iters);
    bytes_put_u16(&body, g->quorum);
    bytes_put_u16(&body, g->inactive_after);
    bytes_put_u8(&body, g->admission);
    bytes_put_u16(&body, g->n_allowed);
    for (int i = 0; i < g->n_allowed; i++) {
        bytes_put(&body, g->allowed[i], IDENTITY_KEY_BYTES);
    }
    // positional trailers: server_lr alone when only it is set; both once
    // the window is set (server_lr then written even when it is 1)
    if (s_has_server_lr(g) || g->request_window) {
        bytes_put_f64(&body, genesis_server_lr(g));
    }
    if (g->request_window) {
        bytes_put_u32(&body, g->request_window);
    }
    if (g->finality == GENESIS_FINALITY_MAJORITY) {
        bytes_put_u8(&body, g->finality); // s_check: only after a window
    }
    if (g->record_dp) { // s_check: only after the finality byte
        bytes_put_u8(&body, g->record_dp);
        bytes_put_f64(&body, g->record_clip);
        bytes_put_f64(&body, g->record_delta);
        bytes_put_f64(&body, g->record_eps);
    }
    hash_digest(HASH_TAG_FED, body.data, body.len, fed_id);
    size_t start = sigmsg_begin(w, SIGMSG_GENESIS, fed_id, 0, founder);
    bytes_put(w, body.data, body.len);
    sigmsg_finish(w, start, founder);
    bytes_writer_reset(&body);
    return 0;
}

int genesis_decode(const uint8_t *buf, size_t n, genesis_t *g, uint8_t fed_id[HASH_BYTES],
                   sigmsg_t *m, fs_err_t *err)
{
    memset(g, 0, sizeof *g);
    int rc;
    if ((rc = sigmsg_decode(buf, n, BLOCK_MAX_BYTES, m, err)) < 0 ||
        (rc = sigmsg_check_version(m, err)) < 0) {
        return fs_err_prefix(err, rc, "genesis: ");
    }
    if (m->type != SIGMSG_GENESIS) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: type: %s, expected genesis",
                          sigmsg_type_name(m->type));
    }
    if (m->round != 0) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: index: %llu, expected 0",
                          (unsigned long long)m->round);
    }
    hash_digest(HASH_TAG_FED, m->body, m->body_len, fed_id);
    if (memcmp(fed_id, m->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY,
                          "genesis: federation id is not the hash of the parameters");
    }
    bytes_reader_t r;
    bytes_reader_init(&r, m->body, m->body_len);
    if (s_get_text(&r, g->name, sizeof g->name, "name", err) < 0) {
        return FS_ECORRUPT;
    }
    g->time_ms = bytes_get_u64(&r);
    g->n_members = bytes_get_u16(&r);
    if (g->n_members > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: members: %u, at most %d", g->n_members,
                          LEDGER_MAX_MEMBERS);
    }
    for (int i = 0; i < g->n_members; i++) {
        if ((rc = block_get_identity(&r, &g->members[i], err)) < 0) {
            return fs_err_prefix(err, rc, "genesis: member %d: ", i);
        }
    }
    if (s_get_text(&r, g->model, sizeof g->model, "model", err) < 0 ||
        s_get_text(&r, g->dataset, sizeof g->dataset, "dataset", err) < 0) {
        return FS_ECORRUPT;
    }
    g->model_seed = bytes_get_u64(&r);
    bytes_get(&r, g->initial_model_hash, HASH_BYTES);
    g->mechanism = bytes_get_u8(&r);
    g->clip = bytes_get_f64(&r);
    g->member_scale = bytes_get_f64(&r);
    g->agg_scale = bytes_get_f64(&r);
    g->delta = bytes_get_f64(&r);
    g->round_timeout_ms = bytes_get_u32(&r);
    g->attempt_extra_ms = bytes_get_u32(&r);
    g->rounds = bytes_get_u32(&r);
    g->local_iters = bytes_get_u32(&r);
    g->quorum = bytes_get_u16(&r);
    g->inactive_after = bytes_get_u16(&r);
    g->admission = bytes_get_u8(&r);
    g->n_allowed = bytes_get_u16(&r);
    if (g->n_allowed > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: allow-list: %u keys, at most %d",
                          g->n_allowed, LEDGER_MAX_MEMBERS);
    }
    for (int i = 0; i < g->n_allowed; i++) {
        bytes_get(&r, g->allowed[i], IDENTITY_KEY_BYTES);
    }
    g->server_lr = 0;
    g->request_window = 0;
    g->finality = GENESIS_FINALITY_SIGNED;
    g->record_dp = GENESIS_RECORD_DP_NONE;
    g->record_clip = g->record_delta = g->record_eps = 0;
    if (!r.short_read && bytes_remaining(&r) == 8) {
        g->server_lr = bytes_get_f64(&r);
        // one encoding per genesis: a lone trailer is a step other than FedAvg's
        if (!(g->server_lr > 0) || g->server_lr == 1) {
            return fs_err_set(err, FS_ECORRUPT,
                              "genesis: server_lr trailer is %g, expected 0 < lr <= %g and not 1",
                              g->server_lr, GENESIS_SERVER_LR_MAX);
        }
    } else if (!r.short_read && (bytes_remaining(&r) == 12 || bytes_remaining(&r) == 13 ||
                                 bytes_remaining(&r) == 13 + 25)) {
        g->server_lr = bytes_get_f64(&r);
        g->request_window = bytes_get_u32(&r);
        if (bytes_remaining(&r) >= 1) {
            g->finality = bytes_get_u8(&r);
            if (g->finality != GENESIS_FINALITY_MAJORITY) { // absent is the other rule
                return fs_err_set(err, FS_ECORRUPT, "genesis: finality trailer is %u, "
                                  "expected %d (majority-witnessed blocks)", g->finality,
                                  GENESIS_FINALITY_MAJORITY);
            }
        }
        if (bytes_remaining(&r) == 25) { // record-level DP (s_check judges its fields)
            g->record_dp = bytes_get_u8(&r);
            g->record_clip = bytes_get_f64(&r);
            g->record_delta = bytes_get_f64(&r);
            g->record_eps = bytes_get_f64(&r);
            if (g->record_dp == GENESIS_RECORD_DP_NONE) { // absent is "none"
                return fs_err_set(err, FS_ECORRUPT, "genesis: record_dp trailer is 0, "
                                  "expected %d (dp-sgd)", GENESIS_RECORD_DP_SGD);
            }
        }
        if (!(g->server_lr > 0)) {
            return fs_err_set(err, FS_ECORRUPT, "genesis: server_lr trailer is %g, expected "
                              "0 < lr <= %g", g->server_lr, GENESIS_SERVER_LR_MAX);
        }
        if (g->request_window == 0) { // absent is the encoding of "no window"
            return fs_err_set(err, FS_ECORRUPT, "genesis: request_window trailer is 0, "
                              "expected at least 1");
        }
        if (g->server_lr == 1) {
            g->server_lr = 0; // the struct's "absent": plain FedAvg
        }
    }
    if (r.short_read) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: body truncated (%zu bytes)", m->body_len);
    }
    if (bytes_remaining(&r) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "genesis: %zu unexpected bytes at the end",
                          bytes_remaining(&r));
    }
    if ((rc = s_check(g, err)) < 0) {
        return rc;
    }
    int founder = 0;
    for (int i = 0; i < g->n_members; i++) {
        founder |= memcmp(g->members[i].sign_pk, m->signer, IDENTITY_KEY_BYTES) == 0;
    }
    if (!founder) {
        return fs_err_set(err, FS_EVERIFY, "genesis: signer is not a founding member");
    }
    if ((rc = sigmsg_verify(m, err)) < 0) {
        return fs_err_prefix(err, rc, "genesis: ");
    }
    return 0;
}
