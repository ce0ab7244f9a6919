/* envelope.h - a member's model update, sealed to the round's aggregator.
 *
 * An envelope is a sigmsg of type SIGMSG_UPDATE signed by the sender; its
 * body (docs/ledger.md §4) carries the header fields below and the weights,
 * encrypted with crypto_box (X25519 + XSalsa20-Poly1305) from the sender's
 * box key to the recipient's:
 *   32 recipient's signing key   32 hash of the global model it started from
 *    8 sample count               1 noise mechanism, 8 clip C, 8 scale b (f64)
 *   24 record-level DP: 8 q, 8 sigma (f64), 8 steps (all 0 without DP-SGD)
 *    4 weight count              24 nonce
 *    4 ciphertext length (4 * count + 16), then the ciphertext
 *
 * envelope_open checks, in this order, each with its own error:
 *   1. size limits and framing     FS_ETOOBIG / FS_ECORRUPT
 *   2. format version and type     FS_ECORRUPT
 *   3. federation                  FS_EVERIFY
 *   4. round                       FS_ESTALE (an earlier or a later round)
 *   5. recipient is this node      FS_EPEER
 *   6. sender is a known member    FS_EPEER
 *   7. signature                   FS_EVERIFY
 *   8. not a replay                FS_EREPLAY (same sender, same round)
 *   9. decryption                  FS_EVERIFY (Poly1305 tag)
 *  10. weight count                FS_EVERIFY (the model's parameter count)
 *  11. every weight finite         FS_EVERIFY (names the first NaN or Inf)
 * Cheap checks come first and the signature before decryption, so that
 * unauthenticated bytes never reach the box or the allocator beyond the size
 * limit.  The pair (sender, round) is recorded as seen only when all pass.
 *
 * No separate hash of the plaintext: the signature covers the ciphertext
 * and the box's tag binds the ciphertext to the plaintext, so a second
 * hash (5 ms per 4.8 MB at each end, BLAKE2b on this machine) checked
 * nothing the two do not (an earlier layout had one; removed before any
 * release, docs/ledger.md §4).
 *
 * Usage: see tests/crypto/test_envelope.c
 */
#ifndef FS_CRYPTO_ENVELOPE_H
#define FS_CRYPTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "crypto/keyring.h"
#include "crypto/replay.h"
#include "crypto/noise_mechanism.h"
#include "crypto/sigmsg.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

// Largest update accepted: 16 Mi weights (64 MB), far above the paper's 1.2 M.
#define ENVELOPE_MAX_WEIGHTS (16u << 20)
#define ENVELOPE_BODY_FIXED_BYTES 145 // body bytes before the ciphertext
#define ENVELOPE_MAX_BYTES \
    (SIGMSG_OVERHEAD + ENVELOPE_BODY_FIXED_BYTES + 16 + 4 * (size_t)ENVELOPE_MAX_WEIGHTS)

// The header of an update (everything but the weights).
typedef struct {
    uint8_t fed_id[HASH_BYTES];             // federation id
    uint64_t round;                         // round the update is for
    uint8_t sender[IDENTITY_KEY_BYTES];     // sender's signing key
    uint8_t recipient[IDENTITY_KEY_BYTES];  // aggregator's signing key
    uint8_t base_hash[HASH_BYTES];          // hash_model of the global model it started from
    uint64_t samples;                       // the sender's training examples (FedAvg weight)
    uint8_t mechanism;                      // noise_mechanism_t
    double clip;                            // L1 clip C (0 when none)
    double scale;                           // Laplace scale b per parameter (0 when none)
    double dp_q, dp_sigma;                  // record-level DP: what the sender's DP-SGD
    uint64_t dp_steps;                      // spent this round (all 0: none)
    uint32_t count;                         // number of float32 weights
    uint8_t digest[HASH_BYTES];             // the sigmsg digest: the envelope's id in blocks
} envelope_t;

// What the receiving node expects (all borrowed).
typedef struct {
    const uint8_t *fed_id;    // HASH_BYTES
    uint64_t round;           // the round being aggregated
    const identity_t *me;     // the recipient (the aggregator)
    const keyring_t *members; // who may send
    size_t expected_count;    // the model's parameter count
    size_t max_bytes;         // size limit (<= ENVELOPE_MAX_BYTES)
} envelope_expect_t;

// Appends a sealed, signed envelope to out.  hdr supplies fed_id, round,
// base_hash, samples, mechanism, clip, scale and the dp_* figures; the rest is filled from
// the arguments.  FS_EINVAL for counts above ENVELOPE_MAX_WEIGHTS.
int envelope_seal(bytes_writer_t *out, const envelope_t *hdr, const identity_t *sender,
                  const identity_pub_t *recipient, const float *weights, size_t count,
                  fs_err_t *err);

// Opens an envelope (checks in the order above).  On success fills *hdr,
// sets *weights_p to a new array of hdr->count floats (caller frees) and
// marks (sender, round) in replay.  On failure nothing is allocated or
// marked.
int envelope_open(const uint8_t *buf, size_t n, const envelope_expect_t *ex, replay_t *replay,
                  envelope_t *hdr, float **weights_p, fs_err_t *err)
    __attribute__((warn_unused_result));

#endif
