/* witness.c - votes, promises, proposals and certificates (witness.h). */
#include "ledger/witness.h"

#include <string.h>

#include "crypto/hash.h"

size_t witness_majority(size_t n_voters) { return n_voters / 2 + 1; }

static void s_digest(const char *tag, const uint8_t fed_id[HASH_BYTES], uint64_t height,
                     uint32_t ballot, uint32_t ballot2, const uint8_t hash[HASH_BYTES],
                     int with_ballot2, uint8_t out[HASH_BYTES])
{
    uint8_t buf[HASH_BYTES + 8 + 4 + 4 + HASH_BYTES];
    size_t k = 0;
    memcpy(buf, fed_id, HASH_BYTES);
    k += HASH_BYTES;
    bytes_store_u32(buf + k, (uint32_t)height);
    bytes_store_u32(buf + k + 4, (uint32_t)(height >> 32));
    k += 8;
    bytes_store_u32(buf + k, ballot);
    k += 4;
    if (with_ballot2) {
        bytes_store_u32(buf + k, ballot2);
        k += 4;
    }
    memcpy(buf + k, hash, HASH_BYTES);
    k += HASH_BYTES;
    hash_digest(tag, buf, k, out);
}

void witness_vote_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                         const uint8_t hash[HASH_BYTES], uint8_t out[HASH_BYTES])
{
    s_digest(WITNESS_TAG_VOTE, fed_id, height, ballot, 0, hash, 0, out);
}

void witness_promise_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                            uint32_t voted_ballot, const uint8_t voted_hash[HASH_BYTES],
                            uint8_t out[HASH_BYTES])
{
    s_digest(WITNESS_TAG_PROMISE, fed_id, height, ballot, voted_ballot, voted_hash, 1, out);
}

void witness_propose_digest(const uint8_t fed_id[HASH_BYTES], uint64_t height, uint32_t ballot,
                            const uint8_t hash[HASH_BYTES], uint8_t out[HASH_BYTES])
{
    s_digest(WITNESS_TAG_PROPOSE, fed_id, height, ballot, 0, hash, 0, out);
}

int witness_votes_add(witness_vote_t *votes, uint16_t *n, const uint8_t key[IDENTITY_KEY_BYTES],
                      const uint8_t sig[IDENTITY_SIG_BYTES])
{
    size_t at = 0;
    while (at < *n && memcmp(votes[at].key, key, IDENTITY_KEY_BYTES) < 0) {
        at++;
    }
    if ((at < *n && memcmp(votes[at].key, key, IDENTITY_KEY_BYTES) == 0) ||
        *n == WITNESS_MAX_VOTES) {
        return 0;
    }
    memmove(&votes[at + 1], &votes[at], (*n - at) * sizeof votes[0]);
    memcpy(votes[at].key, key, IDENTITY_KEY_BYTES);
    memcpy(votes[at].sig, sig, IDENTITY_SIG_BYTES);
    (*n)++;
    return 1;
}

int witness_cert_add(witness_cert_t *c, const uint8_t key[IDENTITY_KEY_BYTES],
                     const uint8_t sig[IDENTITY_SIG_BYTES])
{
    return witness_votes_add(c->votes, &c->n, key, sig);
}

void witness_votes_encode(bytes_writer_t *w, const witness_vote_t *votes, uint16_t n)
{
    bytes_put_u16(w, n);
    for (size_t i = 0; i < n; i++) {
        bytes_put(w, votes[i].key, IDENTITY_KEY_BYTES);
        bytes_put(w, votes[i].sig, IDENTITY_SIG_BYTES);
    }
}

int witness_votes_decode(bytes_reader_t *r, witness_vote_t *votes, uint16_t *n,
                         const char *what, fs_err_t *err)
{
    *n = bytes_get_u16(r);
    if (*n > WITNESS_MAX_VOTES) {
        return fs_err_set(err, FS_ECORRUPT, "%s: %u signatures, at most %d", what, *n,
                          WITNESS_MAX_VOTES);
    }
    for (size_t i = 0; i < *n; i++) {
        bytes_get(r, votes[i].key, IDENTITY_KEY_BYTES);
        bytes_get(r, votes[i].sig, IDENTITY_SIG_BYTES);
    }
    if (r->short_read) {
        return fs_err_set(err, FS_ECORRUPT, "%s: truncated", what);
    }
    return 0;
}

void witness_cert_encode(bytes_writer_t *w, const witness_cert_t *c)
{
    bytes_put_u32(w, c->ballot);
    witness_votes_encode(w, c->votes, c->n);
}

int witness_cert_decode(bytes_reader_t *r, witness_cert_t *c, fs_err_t *err)
{
    c->ballot = bytes_get_u32(r);
    return witness_votes_decode(r, c->votes, &c->n, "commit", err);
}

static int s_is_voter(const uint8_t key[IDENTITY_KEY_BYTES],
                      const uint8_t (*voters)[IDENTITY_KEY_BYTES], size_t n_voters)
{
    for (size_t i = 0; i < n_voters; i++) {
        if (memcmp(voters[i], key, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

int witness_cert_check(const witness_cert_t *c, const uint8_t fed_id[HASH_BYTES],
                       uint64_t height, const uint8_t hash[HASH_BYTES],
                       const uint8_t (*voters)[IDENTITY_KEY_BYTES], size_t n_voters,
                       fs_err_t *err)
{
    size_t need = witness_majority(n_voters);
    if (c->n < need) {
        return fs_err_set(err, FS_EVERIFY,
                          "commit of block %llu: %u votes, a majority of the %zu members "
                          "active before it needs %zu",
                          (unsigned long long)height, c->n, n_voters, need);
    }
    uint8_t digest[HASH_BYTES];
    witness_vote_digest(fed_id, height, c->ballot, hash, digest);
    for (size_t i = 0; i < c->n; i++) {
        const witness_vote_t *v = &c->votes[i];
        if (i > 0 && memcmp(c->votes[i - 1].key, v->key, IDENTITY_KEY_BYTES) >= 0) {
            return fs_err_set(err, FS_EVERIFY,
                              "commit of block %llu: vote %zu: keys not strictly ascending",
                              (unsigned long long)height, i);
        }
        if (!s_is_voter(v->key, voters, n_voters)) {
            return fs_err_set(err, FS_EVERIFY,
                              "commit of block %llu: vote %zu: not a member active before it",
                              (unsigned long long)height, i);
        }
        if (identity_verify(v->key, digest, v->sig) != 0) {
            return fs_err_set(err, FS_EVERIFY,
                              "commit of block %llu: vote %zu: bad signature (ballot %u)",
                              (unsigned long long)height, i, c->ballot);
        }
    }
    return 0;
}
