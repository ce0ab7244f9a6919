/* motion.c - motions to admit or remove a member, and their signatures
 * (motion.h). */
#include "ledger/motion.h"

#include <string.h>

#include "crypto/hash.h"
#include "ledger/block.h"

static const char *s_action_names[] = {"?", "admit", "remove"};

const char *motion_action_name(int action)
{
    return action > 0 && action < MOTION_ACTION_COUNT ? s_action_names[action] : "?";
}

void motion_digest(const uint8_t fed_id[HASH_BYTES], const motion_t *m, uint8_t out[HASH_BYTES])
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, fed_id, HASH_BYTES);
    bytes_put_u8(&w, m->action);
    bytes_put_u64(&w, m->round);
    block_put_identity(&w, &m->candidate);
    hash_digest(MOTION_TAG, w.data, w.len, out);
    bytes_writer_reset(&w);
}

void motion_id(const uint8_t fed_id[HASH_BYTES], const motion_t *m, char out[MOTION_ID_CHARS])
{
    uint8_t d[HASH_BYTES];
    motion_digest(fed_id, m, d);
    bytes_to_hex(d, (MOTION_ID_CHARS - 1) / 2, out);
}

int motion_same(const motion_t *a, const motion_t *b)
{
    return a->action == b->action && a->round == b->round &&
           strcmp(a->candidate.name, b->candidate.name) == 0 &&
           memcmp(a->candidate.sign_pk, b->candidate.sign_pk, IDENTITY_KEY_BYTES) == 0 &&
           memcmp(a->candidate.box_pk, b->candidate.box_pk, IDENTITY_KEY_BYTES) == 0 &&
           memcmp(a->candidate.curve_pk, b->candidate.curve_pk, IDENTITY_KEY_BYTES) == 0;
}

void motion_sign(motion_t *m, const uint8_t fed_id[HASH_BYTES], const identity_t *me)
{
    uint8_t d[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
    motion_digest(fed_id, m, d);
    identity_sign(me, d, sig);
    witness_votes_add(m->sigs, &m->n, identity_public(me)->sign_pk, sig);
}

int motion_add_sig(motion_t *m, const uint8_t key[IDENTITY_KEY_BYTES],
                   const uint8_t sig[IDENTITY_SIG_BYTES])
{
    return witness_votes_add(m->sigs, &m->n, key, sig);
}

int motion_signed_by(const motion_t *m, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (size_t i = 0; i < m->n; i++) {
        if (memcmp(m->sigs[i].key, key, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

void motion_encode(bytes_writer_t *w, const motion_t *m)
{
    bytes_put_u8(w, m->action);
    bytes_put_u64(w, m->round);
    block_put_identity(w, &m->candidate);
    witness_votes_encode(w, m->sigs, m->n);
}

int motion_decode(bytes_reader_t *r, motion_t *m, fs_err_t *err)
{
    m->action = bytes_get_u8(r);
    m->round = bytes_get_u64(r);
    if (r->short_read) {
        return fs_err_set(err, FS_ECORRUPT, "motion: truncated");
    }
    if (m->action == 0 || m->action >= MOTION_ACTION_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "motion: unknown action %u", m->action);
    }
    if (block_get_identity(r, &m->candidate, err) < 0) {
        return fs_err_prefix(err, FS_ECORRUPT, "motion: candidate ");
    }
    return witness_votes_decode(r, m->sigs, &m->n, "motion: signatures", err);
}

int motion_check_sigs(const motion_t *m, const uint8_t fed_id[HASH_BYTES], fs_err_t *err)
{
    uint8_t d[HASH_BYTES];
    motion_digest(fed_id, m, d);
    for (size_t i = 0; i < m->n; i++) {
        const witness_vote_t *v = &m->sigs[i];
        if (i > 0 && memcmp(m->sigs[i - 1].key, v->key, IDENTITY_KEY_BYTES) >= 0) {
            return fs_err_set(err, FS_EVERIFY,
                              "motion to %s %s: signature %zu: keys not strictly ascending",
                              motion_action_name(m->action), m->candidate.name, i);
        }
        if (identity_verify(v->key, d, v->sig) != 0) {
            return fs_err_set(err, FS_EVERIFY, "motion to %s %s: signature %zu does not verify",
                              motion_action_name(m->action), m->candidate.name, i);
        }
    }
    return 0;
}

int motion_check_majority(const motion_t *m, const uint8_t fed_id[HASH_BYTES],
                          const uint8_t (*voters)[IDENTITY_KEY_BYTES], size_t n_voters,
                          fs_err_t *err)
{
    size_t need = witness_majority(n_voters);
    if (m->n < need) {
        return fs_err_set(err, FS_EVERIFY,
                          "motion to %s %s: %u signatures, a majority of the %zu active "
                          "members needs %zu",
                          motion_action_name(m->action), m->candidate.name, m->n, n_voters,
                          need);
    }
    for (size_t i = 0; i < m->n; i++) {
        int found = 0;
        for (size_t k = 0; k < n_voters && !found; k++) {
            found = memcmp(voters[k], m->sigs[i].key, IDENTITY_KEY_BYTES) == 0;
        }
        if (!found) {
            return fs_err_set(err, FS_EVERIFY,
                              "motion to %s %s: signature %zu is not an active member's",
                              motion_action_name(m->action), m->candidate.name, i);
        }
    }
    return motion_check_sigs(m, fed_id, err);
}
