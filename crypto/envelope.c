/* envelope.c - seal and open model updates (order of checks: envelope.h). */
#include "crypto/envelope.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/floats.h"
#include "node/base/mem.h"

static_assert(crypto_box_NONCEBYTES == 24, "nonce size in the format");
static_assert(crypto_box_MACBYTES == 16, "MAC size in the format");

int envelope_seal(bytes_writer_t *out, const envelope_t *hdr, const identity_t *sender,
                  const identity_pub_t *recipient, const float *weights, size_t count,
                  fs_err_t *err)
{
    if (count == 0 || count > ENVELOPE_MAX_WEIGHTS) {
        return fs_err_set(err, FS_EINVAL, "update of %zu weights: expected 1 to %u", count,
                          ENVELOPE_MAX_WEIGHTS);
    }
    size_t start = sigmsg_begin(out, SIGMSG_UPDATE, hdr->fed_id, hdr->round, sender);
    bytes_put(out, recipient->sign_pk, IDENTITY_KEY_BYTES);
    bytes_put(out, hdr->base_hash, HASH_BYTES);
    bytes_put_u64(out, hdr->samples);
    bytes_put_u8(out, hdr->mechanism);
    bytes_put_f64(out, hdr->clip);
    bytes_put_f64(out, hdr->scale);
    bytes_put_f64(out, hdr->dp_q);
    bytes_put_f64(out, hdr->dp_sigma);
    bytes_put_u64(out, hdr->dp_steps);
    bytes_put_u32(out, (uint32_t)count);
    uint8_t nonce[crypto_box_NONCEBYTES];
    randombytes_buf(nonce, sizeof nonce);
    bytes_put(out, nonce, sizeof nonce);
    size_t plain_len = count * sizeof(float);
    bytes_put_u32(out, (uint32_t)(plain_len + crypto_box_MACBYTES));
    uint8_t *ct = bytes_put_space(out, plain_len + crypto_box_MACBYTES);
    if (crypto_box_easy(ct, (const uint8_t *)weights, plain_len, nonce, recipient->box_pk,
                        identity_box_sk(sender)) != 0) {
        out->len = start;
        return fs_err_set(err, FS_EINVAL, "recipient %s: box key is not a valid X25519 key",
                          recipient->name);
    }
    sigmsg_finish(out, start, sender);
    return 0;
}

// Step 1 for the body: fixed fields, ciphertext framing, parameter sanity.
static int s_decode_body(const sigmsg_t *m, envelope_t *hdr, const uint8_t **nonce,
                         const uint8_t **ct, size_t *ct_len, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, m->body, m->body_len);
    bytes_get(&r, hdr->recipient, IDENTITY_KEY_BYTES);
    bytes_get(&r, hdr->base_hash, HASH_BYTES);
    hdr->samples = bytes_get_u64(&r);
    hdr->mechanism = bytes_get_u8(&r);
    hdr->clip = bytes_get_f64(&r);
    hdr->scale = bytes_get_f64(&r);
    hdr->dp_q = bytes_get_f64(&r);
    hdr->dp_sigma = bytes_get_f64(&r);
    hdr->dp_steps = bytes_get_u64(&r);
    hdr->count = bytes_get_u32(&r);
    *nonce = bytes_view(&r, crypto_box_NONCEBYTES);
    uint32_t declared = bytes_get_u32(&r);
    if (r.short_read) {
        return fs_err_set(err, FS_ECORRUPT, "update: body of %zu bytes is shorter than %d",
                          m->body_len, ENVELOPE_BODY_FIXED_BYTES);
    }
    if (hdr->count == 0 || hdr->count > ENVELOPE_MAX_WEIGHTS) {
        return fs_err_set(err, FS_ETOOBIG, "update: weight count %u outside 1..%u", hdr->count,
                          ENVELOPE_MAX_WEIGHTS);
    }
    size_t want = (size_t)hdr->count * sizeof(float) + crypto_box_MACBYTES;
    if (declared != want || bytes_remaining(&r) != want) {
        return fs_err_set(err, FS_ECORRUPT,
                          "update: ciphertext of %zu bytes (declared %u) for %u weights, "
                          "expected %zu",
                          bytes_remaining(&r), declared, hdr->count, want);
    }
    *ct = bytes_view(&r, want);
    *ct_len = want;
    if (hdr->samples == 0) {
        return fs_err_set(err, FS_ECORRUPT, "update: sample count is 0");
    }
    if (hdr->mechanism >= NOISE_MECHANISM_COUNT) {
        return fs_err_set(err, FS_ECORRUPT, "update: unknown noise mechanism %u",
                          hdr->mechanism);
    }
    // record-level DP's figures: all zero, or what a DP-SGD round can be
    // (the ledger's range, docs/ledger.md §6c)
    if (!(hdr->dp_q == 0 && hdr->dp_sigma == 0 && hdr->dp_steps == 0) &&
        !(hdr->dp_q > 0 && hdr->dp_q <= 1 && isfinite(hdr->dp_sigma) && hdr->dp_sigma > 0 &&
          hdr->dp_steps > 0 && hdr->dp_steps <= 1000000000ULL)) {
        return fs_err_set(err, FS_ECORRUPT, "update: DP-SGD figures q %g, sigma %g, steps "
                          "%llu out of range", hdr->dp_q, hdr->dp_sigma,
                          (unsigned long long)hdr->dp_steps);
    }
    if (!isfinite(hdr->clip) || hdr->clip < 0 || !isfinite(hdr->scale) || hdr->scale < 0) {
        return fs_err_set(err, FS_ECORRUPT,
                          "update: clip %g and scale %g must be finite and not negative",
                          hdr->clip, hdr->scale);
    }
    return 0;
}

int envelope_open(const uint8_t *buf, size_t n, const envelope_expect_t *ex, replay_t *replay,
                  envelope_t *hdr, float **weights_p, fs_err_t *err)
{
    *weights_p = NULL;
    memset(hdr, 0, sizeof *hdr);
    sigmsg_t m;
    const uint8_t *nonce = NULL, *ct = NULL;
    size_t ct_len = 0;
    int rc;
    size_t max = ex->max_bytes < ENVELOPE_MAX_BYTES ? ex->max_bytes : ENVELOPE_MAX_BYTES;
    // 1. size limits and framing
    if ((rc = sigmsg_decode(buf, n, max, &m, err)) < 0) {
        return fs_err_prefix(err, rc, "update: ");
    }
    // 2. format version and type
    if ((rc = sigmsg_check_version(&m, err)) < 0) {
        return rc;
    }
    if (m.type != SIGMSG_UPDATE) {
        return fs_err_set(err, FS_ECORRUPT, "update: message type is %s, expected update",
                          sigmsg_type_name(m.type));
    }
    if ((rc = s_decode_body(&m, hdr, &nonce, &ct, &ct_len, err)) < 0) {
        return rc;
    }
    memcpy(hdr->fed_id, m.fed_id, HASH_BYTES);
    hdr->round = m.round;
    memcpy(hdr->sender, m.signer, IDENTITY_KEY_BYTES);
    memcpy(hdr->digest, m.digest, HASH_BYTES);
    char who[9];
    hash_short(m.signer, who);
    // 3. federation
    if (memcmp(m.fed_id, ex->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "update from %s: belongs to another federation", who);
    }
    // 4. round
    if (m.round != ex->round) {
        return fs_err_set(err, FS_ESTALE, "update from %s: for round %llu, this is round %llu%s",
                          who, (unsigned long long)m.round, (unsigned long long)ex->round,
                          m.round < ex->round ? " (stale)" : " (early)");
    }
    // 5. recipient
    if (memcmp(hdr->recipient, identity_public(ex->me)->sign_pk, IDENTITY_KEY_BYTES) != 0) {
        return fs_err_set(err, FS_EPEER, "update from %s: addressed to another aggregator", who);
    }
    // 6. known sender
    const identity_pub_t *sender = keyring_find(ex->members, m.signer);
    if (!sender) {
        return fs_err_set(err, FS_EPEER, "update from %s: sender is not a member", who);
    }
    // 7. signature
    if ((rc = sigmsg_verify(&m, err)) < 0) {
        return fs_err_prefix(err, rc, "member %s: ", sender->name);
    }
    // 8. replay
    if (replay && replay_seen(replay, m.signer, m.round)) {
        return fs_err_set(err, FS_EREPLAY,
                          "update from member %s: a second update for round %llu (replay)",
                          sender->name, (unsigned long long)m.round);
    }
    // 9. decryption
    size_t plain_len = ct_len - crypto_box_MACBYTES;
    float *w = xmalloc(plain_len);
    if (crypto_box_open_easy((uint8_t *)w, ct, ct_len, nonce, sender->box_pk,
                             identity_box_sk(ex->me)) != 0) {
        free(w);
        return fs_err_set(err, FS_EVERIFY, "update from member %s: decryption failed",
                          sender->name);
    }
    // 10. weight count
    if (hdr->count != ex->expected_count) {
        free(w);
        return fs_err_set(err, FS_EVERIFY,
                          "update from member %s: %u weights, the model has %zu", sender->name,
                          hdr->count, ex->expected_count);
    }
    // 11. finite values
    size_t bad = floats_first_nonfinite(w, hdr->count);
    if (bad < hdr->count) {
        rc = fs_err_set(err, FS_EVERIFY, "update from member %s: weight %zu is %s", sender->name,
                        bad, isnan(w[bad]) ? "NaN" : "infinite");
        free(w);
        return rc;
    }
    if (replay) {
        replay_mark(replay, m.signer, m.round);
    }
    *weights_p = w;
    return 0;
}
