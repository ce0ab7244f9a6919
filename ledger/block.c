/* block.c - encode and decode round blocks and join/leave requests
 * (layout: docs/ledger.md §6). */
#include "ledger/block.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/mem.h"

static const char *const s_close_names[CLOSE_REASON_COUNT] = {"?", "all-arrived", "deadline",
                                                                 "all-staying"};
static const char *const s_leave_names[LEAVE_REASON_COUNT] = {"?", "requested", "inactive"};
static const char *const s_admit_names[ADMIT_RULE_COUNT] = {"?", "allow-list", "open", "vote"};
static_assert(sizeof s_close_names / sizeof *s_close_names == CLOSE_REASON_COUNT, "names");
static_assert(sizeof s_leave_names / sizeof *s_leave_names == LEAVE_REASON_COUNT, "names");
static_assert(sizeof s_admit_names / sizeof *s_admit_names == ADMIT_RULE_COUNT, "names");

const char *close_reason_name(int r)
{
    return r > 0 && r < CLOSE_REASON_COUNT ? s_close_names[r] : "unknown";
}

close_reason_t block_close_reason(const block_t *b)
{
    if (b->n_contrib == b->n_expected) {
        return CLOSE_ALL_ARRIVED;
    }
    for (int e = 0; e < b->n_expected; e++) {
        int counted = 0, leaves = 0;
        for (int i = 0; i < b->n_contrib && !counted; i++) {
            counted = memcmp(b->contrib[i].key, b->expected[e], IDENTITY_KEY_BYTES) == 0;
        }
        for (int i = 0; i < b->n_left && !counted && !leaves; i++) {
            leaves = b->left[i].reason == LEAVE_REQUESTED &&
                     memcmp(b->left[i].key, b->expected[e], IDENTITY_KEY_BYTES) == 0;
        }
        if (!counted && !leaves) {
            return CLOSE_DEADLINE; // a staying member did not contribute
        }
    }
    return CLOSE_ALL_STAYING;
}

const char *leave_reason_name(int r)
{
    return r > 0 && r < LEAVE_REASON_COUNT ? s_leave_names[r] : "unknown";
}

const char *admission_name(int r)
{
    return r > 0 && r < ADMIT_RULE_COUNT ? s_admit_names[r] : "unknown";
}

void block_hash(const uint8_t *rec, size_t n, uint8_t out[HASH_BYTES])
{
    hash_digest(HASH_TAG_BLOCK, rec, n, out);
}

void block_put_identity(bytes_writer_t *w, const identity_pub_t *id)
{
    size_t len = strlen(id->name);
    bytes_put_u8(w, (uint8_t)len);
    bytes_put(w, id->name, len);
    bytes_put(w, id->sign_pk, IDENTITY_KEY_BYTES);
    bytes_put(w, id->box_pk, IDENTITY_KEY_BYTES);
    bytes_put(w, id->curve_pk, IDENTITY_KEY_BYTES);
}

int block_get_identity(bytes_reader_t *r, identity_pub_t *id, fs_err_t *err)
{
    memset(id, 0, sizeof *id);
    uint8_t len = bytes_get_u8(r);
    if (len == 0 || len > IDENTITY_NAME_MAX) {
        return fs_err_set(err, FS_ECORRUPT, "identity: name length %u outside 1..%d", len,
                          IDENTITY_NAME_MAX);
    }
    bytes_get(r, id->name, len);
    bytes_get(r, id->sign_pk, IDENTITY_KEY_BYTES);
    bytes_get(r, id->box_pk, IDENTITY_KEY_BYTES);
    bytes_get(r, id->curve_pk, IDENTITY_KEY_BYTES);
    if (r->short_read) {
        return fs_err_set(err, FS_ECORRUPT, "identity: truncated");
    }
    // a NUL inside the name would make a second encoding of one identity
    if (strlen(id->name) != len || identity_name_check(id->name, err) < 0) {
        return fs_err_set(err, FS_ECORRUPT, "identity: name is not [A-Za-z0-9._-]");
    }
    return 0;
}

void block_join_request(bytes_writer_t *w, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                        const identity_t *joiner)
{
    size_t start = sigmsg_begin(w, SIGMSG_JOIN, fed_id, round, joiner);
    block_put_identity(w, identity_public(joiner));
    sigmsg_finish(w, start, joiner);
}

void block_leave_request(bytes_writer_t *w, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                         const identity_t *member)
{
    size_t start = sigmsg_begin(w, SIGMSG_LEAVE, fed_id, round, member);
    sigmsg_finish(w, start, member);
}

void block_encode(bytes_writer_t *w, const block_t *b, const uint8_t fed_id[HASH_BYTES],
                  const identity_t *aggregator)
{
    size_t start = sigmsg_begin(w, SIGMSG_BLOCK, fed_id, b->index, aggregator);
    bytes_put_u64(w, b->time_ms);
    bytes_put(w, b->prev_hash, HASH_BYTES);
    bytes_put_u32(w, b->rank);
    bytes_put_u32(w, b->attempt);
    bytes_put_u16(w, b->n_expected);
    for (int i = 0; i < b->n_expected; i++) {
        bytes_put(w, b->expected[i], IDENTITY_KEY_BYTES);
    }
    bytes_put_u16(w, b->n_contrib);
    for (int i = 0; i < b->n_contrib; i++) {
        bytes_put(w, b->contrib[i].key, IDENTITY_KEY_BYTES);
        bytes_put(w, b->contrib[i].envelope, HASH_BYTES);
        bytes_put_u64(w, b->contrib[i].samples);
        bytes_put_f64(w, b->contrib[i].weight);
    }
    bytes_put_u8(w, b->n_joined);
    for (int i = 0; i < b->n_joined; i++) {
        bytes_put_u16(w, b->joined[i].request_len);
        bytes_put(w, b->joined[i].request, b->joined[i].request_len);
    }
    bytes_put_u8(w, b->n_left);
    for (int i = 0; i < b->n_left; i++) {
        bytes_put(w, b->left[i].key, IDENTITY_KEY_BYTES);
        bytes_put_u8(w, b->left[i].reason);
        bytes_put_u16(w, b->left[i].request_len);
        bytes_put(w, b->left[i].request, b->left[i].request_len);
    }
    const block_privacy_t *p = &b->privacy;
    bytes_put_u8(w, p->mechanism);
    bytes_put_f64(w, p->clip);
    bytes_put_f64(w, p->member_scale);
    bytes_put_f64(w, p->agg_scale);
    bytes_put_f64(w, p->eps_member);
    bytes_put_f64(w, p->eps_aggregate);
    bytes_put_f64(w, p->eps_total);
    bytes_put_f64(w, p->eps_total_adv);
    bytes_put(w, b->model_hash, HASH_BYTES);
    bytes_put_u8(w, b->close_reason);
    if (b->has_commit) {
        witness_cert_encode(w, &b->commit);
    }
    if (b->has_motions) {
        bytes_put_u8(w, b->n_motions);
        for (int i = 0; i < b->n_motions; i++) {
            motion_encode(w, &b->motions[i]);
        }
    }
    if (b->has_record_dp) {
        bytes_put_u8(w, BLOCK_RECORD_DP_TAG);
        bytes_put_u16(w, b->n_contrib);
        for (int i = 0; i < b->n_contrib; i++) {
            const block_record_dp_t *d = &b->record_dp[i];
            bytes_put_f64(w, d->q);
            bytes_put_f64(w, d->sigma);
            bytes_put_u64(w, d->steps);
            bytes_put_f64(w, d->eps);
        }
    }
    sigmsg_finish(w, start, aggregator);
}

// A nonnegative finite double, or an error naming the field.
static int s_check_amount(double v, const char *field, fs_err_t *err)
{
    if (!isfinite(v) || v < 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s is %g, expected a finite value >= 0", field, v);
    }
    return 0;
}

static int s_get_request(bytes_reader_t *r, uint16_t *len, uint8_t *buf, const char *what,
                         int i, fs_err_t *err)
{
    *len = bytes_get_u16(r);
    if (*len > BLOCK_REQUEST_MAX) {
        return fs_err_set(err, FS_ECORRUPT, "%s %d: request of %u bytes exceeds %d", what, i,
                          *len, BLOCK_REQUEST_MAX);
    }
    bytes_get(r, buf, *len);
    return 0;
}

int block_record_model_hash(const uint8_t *rec, size_t n, uint8_t hash[HASH_BYTES],
                            fs_err_t *err)
{
    sigmsg_t m;
    block_t *b = xmalloc(sizeof *b); // a block is large (its member lists)
    int rc = sigmsg_decode(rec, n, BLOCK_MAX_BYTES, &m, err);
    if (rc == 0) {
        rc = block_decode(&m, b, err);
    }
    if (rc == 0) {
        memcpy(hash, b->model_hash, HASH_BYTES);
    }
    free(b);
    return rc;
}

int block_decode(const sigmsg_t *m, block_t *b, fs_err_t *err)
{
    if (m->type != SIGMSG_BLOCK) {
        return fs_err_set(err, FS_ECORRUPT, "type: %s, expected block", sigmsg_type_name(m->type));
    }
    b->index = m->round;
    memcpy(b->aggregator, m->signer, IDENTITY_KEY_BYTES);
    bytes_reader_t r;
    bytes_reader_init(&r, m->body, m->body_len);
    b->time_ms = bytes_get_u64(&r);
    bytes_get(&r, b->prev_hash, HASH_BYTES);
    b->rank = bytes_get_u32(&r);
    b->attempt = bytes_get_u32(&r);
    b->n_expected = bytes_get_u16(&r);
    if (b->n_expected > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "expected members: %u, at most %d", b->n_expected,
                          LEDGER_MAX_MEMBERS);
    }
    for (int i = 0; i < b->n_expected; i++) {
        bytes_get(&r, b->expected[i], IDENTITY_KEY_BYTES);
    }
    b->n_contrib = bytes_get_u16(&r);
    if (b->n_contrib > LEDGER_MAX_MEMBERS) {
        return fs_err_set(err, FS_ECORRUPT, "contributors: %u, at most %d", b->n_contrib,
                          LEDGER_MAX_MEMBERS);
    }
    for (int i = 0; i < b->n_contrib; i++) {
        bytes_get(&r, b->contrib[i].key, IDENTITY_KEY_BYTES);
        bytes_get(&r, b->contrib[i].envelope, HASH_BYTES);
        b->contrib[i].samples = bytes_get_u64(&r);
        b->contrib[i].weight = bytes_get_f64(&r);
    }
    b->n_joined = bytes_get_u8(&r);
    if (b->n_joined > BLOCK_MAX_CHANGES) {
        return fs_err_set(err, FS_ECORRUPT, "joined: %u, at most %d", b->n_joined,
                          BLOCK_MAX_CHANGES);
    }
    for (int i = 0; i < b->n_joined; i++) {
        block_join_t *j = &b->joined[i];
        if (s_get_request(&r, &j->request_len, j->request, "joined", i, err) < 0) {
            return FS_ECORRUPT;
        }
    }
    b->n_left = bytes_get_u8(&r);
    if (b->n_left > BLOCK_MAX_CHANGES) {
        return fs_err_set(err, FS_ECORRUPT, "left: %u, at most %d", b->n_left, BLOCK_MAX_CHANGES);
    }
    for (int i = 0; i < b->n_left; i++) {
        block_leave_t *l = &b->left[i];
        bytes_get(&r, l->key, IDENTITY_KEY_BYTES);
        l->reason = bytes_get_u8(&r);
        if (s_get_request(&r, &l->request_len, l->request, "left", i, err) < 0) {
            return FS_ECORRUPT;
        }
    }
    block_privacy_t *p = &b->privacy;
    p->mechanism = bytes_get_u8(&r);
    p->clip = bytes_get_f64(&r);
    p->member_scale = bytes_get_f64(&r);
    p->agg_scale = bytes_get_f64(&r);
    p->eps_member = bytes_get_f64(&r);
    p->eps_aggregate = bytes_get_f64(&r);
    p->eps_total = bytes_get_f64(&r);
    p->eps_total_adv = bytes_get_f64(&r);
    bytes_get(&r, b->model_hash, HASH_BYTES);
    b->close_reason = bytes_get_u8(&r);
    if (r.short_read) {
        return fs_err_set(err, FS_ECORRUPT, "body: truncated (%zu bytes)", m->body_len);
    }
    // the commit of a majority-witnessed federation's block, if any
    // (ledger/state.c decides whether the genesis asks for one)
    b->has_commit = bytes_remaining(&r) != 0;
    b->commit.n = 0;
    b->commit.ballot = 0;
    if (b->has_commit && witness_cert_decode(&r, &b->commit, err) < 0) {
        return FS_ECORRUPT;
    }
    // the motions of a federation that admits by vote (they follow a
    // commit; ledger/state.c decides whether the genesis asks for them)
    b->has_motions = b->has_commit && bytes_remaining(&r) != 0 &&
                     r.data[r.off] != BLOCK_RECORD_DP_TAG;
    b->n_motions = 0;
    if (b->has_motions) {
        b->n_motions = bytes_get_u8(&r);
        if (b->n_motions > BLOCK_MAX_MOTIONS) {
            return fs_err_set(err, FS_ECORRUPT, "motions: %u, at most %d", b->n_motions,
                              BLOCK_MAX_MOTIONS);
        }
        for (int i = 0; i < b->n_motions; i++) {
            if (motion_decode(&r, &b->motions[i], err) < 0) {
                return fs_err_prefix(err, FS_ECORRUPT, "motions %d: ", i);
            }
        }
    }
    // the record-level DP section (ledger/state.c decides whether the
    // genesis asks for it): its tag, then one entry per contributor
    b->has_record_dp = b->has_commit && bytes_remaining(&r) != 0 &&
                       r.data[r.off] == BLOCK_RECORD_DP_TAG;
    if (b->has_record_dp) {
        (void)bytes_get_u8(&r);
        const uint16_t n = bytes_get_u16(&r);
        if (!r.short_read && n != b->n_contrib) {
            return fs_err_set(err, FS_ECORRUPT, "record_dp: %u entries for %u contributors", n,
                              b->n_contrib);
        }
        for (int i = 0; i < b->n_contrib; i++) {
            block_record_dp_t *d = &b->record_dp[i];
            d->q = bytes_get_f64(&r);
            d->sigma = bytes_get_f64(&r);
            d->steps = bytes_get_u64(&r);
            d->eps = bytes_get_f64(&r);
        }
        if (r.short_read) {
            return fs_err_set(err, FS_ECORRUPT, "record_dp: truncated");
        }
    }
    if (bytes_remaining(&r) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "body: %zu unexpected bytes after %s",
                          bytes_remaining(&r), b->has_record_dp ? "record_dp"
                                               : b->has_motions ? "motions" : "commit");
    }
    // Field ranges that need no chain.
    for (int i = 0; i < b->n_contrib; i++) {
        if (b->contrib[i].samples == 0) {
            return fs_err_set(err, FS_ECORRUPT, "contributor %d: sample count is 0", i);
        }
        if (!isfinite(b->contrib[i].weight) || b->contrib[i].weight <= 0 ||
            b->contrib[i].weight > 1) {
            return fs_err_set(err, FS_ECORRUPT, "contributor %d: weight %g outside (0, 1]", i,
                              b->contrib[i].weight);
        }
    }
    for (int i = 0; b->has_record_dp && i < b->n_contrib; i++) {
        const block_record_dp_t *d = &b->record_dp[i];
        if (!(d->q > 0 && d->q <= 1) || !isfinite(d->sigma) || d->sigma <= 0 ||
            d->steps == 0 || d->steps > BLOCK_RECORD_DP_MAX_STEPS || !isfinite(d->eps) ||
            d->eps < 0) {
            return fs_err_set(err, FS_ECORRUPT, "record_dp %d: q %g, sigma %g, steps %llu, eps "
                              "%g: expected 0 < q <= 1, sigma > 0, 1..%llu steps, eps >= 0", i,
                              d->q, d->sigma, (unsigned long long)d->steps, d->eps,
                              (unsigned long long)BLOCK_RECORD_DP_MAX_STEPS);
        }
    }
    for (int i = 0; i < b->n_left; i++) {
        uint8_t reason = b->left[i].reason;
        if (reason == 0 || reason >= LEAVE_REASON_COUNT) {
            return fs_err_set(err, FS_ECORRUPT, "left %d: unknown reason %u", i, reason);
        }
    }
    if (p->mechanism >= NOISE_MECHANISM_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "privacy.mechanism: unknown value %u", p->mechanism);
    }
    const double amounts[] = {p->clip,          p->member_scale, p->agg_scale, p->eps_member,
                              p->eps_aggregate, p->eps_total,    p->eps_total_adv};
    const char *names[] = {"privacy.clip",          "privacy.member_scale",
                           "privacy.agg_scale",     "privacy.eps_member",
                           "privacy.eps_aggregate", "privacy.eps_total",
                           "privacy.eps_total_adv"};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        if (s_check_amount(amounts[i], names[i], err) < 0) {
            return FS_ECORRUPT;
        }
    }
    if (b->close_reason == 0 || b->close_reason >= CLOSE_REASON_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "close_reason: unknown value %u", b->close_reason);
    }
    return 0;
}
