/* sigmsg.h - the signed, typed, versioned message every node exchanges.
 *
 * Layout (docs/ledger.md §3; integers little-endian):
 *   0   4  magic "FSYN"
 *   4   1  version (SIGMSG_VERSION)
 *   5   1  type (sigmsg_type_t)
 *   6   2  reserved, zero
 *   8  32  federation id
 *  40   8  round
 *  48  32  signer's Ed25519 public key
 *  80   4  body length L
 *  84   L  body (its layout depends on the type)
 *  84+L 64 signature: Ed25519 over D = BLAKE2b-256(person "fedsyn.sigmsg",
 *          bytes 0 .. 84+L)
 * Signing the 32-byte digest instead of the whole message lets a 4.8 MB model
 * update be signed and verified at BLAKE2b speed (one pass) instead of
 * Ed25519's two SHA-512 passes.
 *
 * Encoding appends to a bytes_writer_t: sigmsg_begin writes the header,
 * the caller writes the body, sigmsg_finish patches the length and signs.
 * Decoding is a pure function over bytes that checks framing and computes
 * the digest; sigmsg_verify then checks the signature.
 *
 * Usage: see tests/crypto/test_envelope.c (test_sigmsg_usage)
 */
#ifndef FS_CRYPTO_SIGMSG_H
#define FS_CRYPTO_SIGMSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

#define SIGMSG_MAGIC "FSYN"
#define SIGMSG_VERSION 1
#define SIGMSG_HEADER_BYTES 84
#define SIGMSG_SIG_BYTES IDENTITY_SIG_BYTES
#define SIGMSG_OVERHEAD (SIGMSG_HEADER_BYTES + SIGMSG_SIG_BYTES)

typedef enum {
    SIGMSG_GENESIS = 1, // ledger block 0: the federation's parameters
    SIGMSG_BLOCK = 2,   // ledger block of one round
    SIGMSG_UPDATE = 3,  // a member's sealed model update (envelope.h)
    SIGMSG_JOIN = 4,    // a request to join (body: the joiner's public identity)
    SIGMSG_LEAVE = 5,   // a member's notice that it leaves (empty body)
    SIGMSG_HELLO = 6,   // a node announcing itself and its head (node/fed/wire.h)
    SIGMSG_TYPE_COUNT
} sigmsg_type_t;

// A decoded message: a view into the caller's bytes (borrowed).
typedef struct {
    uint8_t version;                     // format version
    uint8_t type;                        // sigmsg_type_t
    uint8_t fed_id[HASH_BYTES];          // federation id
    uint64_t round;                      // round (block index for ledger blocks)
    uint8_t signer[IDENTITY_KEY_BYTES];  // signer's Ed25519 key
    const uint8_t *body;                 // body bytes (inside the message)
    size_t body_len;                     // body length
    const uint8_t *signature;            // IDENTITY_SIG_BYTES (inside the message)
    size_t signed_len;                   // bytes covered by the digest
    size_t total_len;                    // header + body + signature
    uint8_t digest[HASH_BYTES];          // BLAKE2b over the signed bytes
} sigmsg_t;

// Name of a type ("block", "update", ...) or "unknown".
const char *sigmsg_type_name(int type);

// Writes the header (length to be patched) and returns its offset in w.
size_t sigmsg_begin(bytes_writer_t *w, int type, const uint8_t fed_id[HASH_BYTES], uint64_t round,
                    const identity_t *signer);
// Patches the body length of the message begun at start and appends the
// signature.
void sigmsg_finish(bytes_writer_t *w, size_t start, const identity_t *signer);

// Decodes the message at the start of buf (n bytes, at most max_bytes in
// all) and computes its digest; the message must fill buf exactly.
// FS_ETOOBIG when n or the declared body exceeds max_bytes, FS_ECORRUPT for
// bad magic, lengths or reserved bits.  The version and type are checked
// by the caller (sigmsg_check_version), so each caller keeps its own order
// of checks.
int sigmsg_decode(const uint8_t *buf, size_t n, size_t max_bytes, sigmsg_t *out, fs_err_t *err)
    __attribute__((warn_unused_result));
// sigmsg_decode without the digest (left zero): the framing checks alone,
// for a caller that only routes the message (the digest of a 4.8 MB update
// is 5 ms of BLAKE2b, and envelope_open computes it again anyway).
int sigmsg_parse(const uint8_t *buf, size_t n, size_t max_bytes, sigmsg_t *out, fs_err_t *err)
    __attribute__((warn_unused_result));
// Fills m->digest for a message sigmsg_parse read from buf.
void sigmsg_compute_digest(const uint8_t *buf, sigmsg_t *m);
// FS_ECORRUPT unless version is SIGMSG_VERSION and type is known.
int sigmsg_check_version(const sigmsg_t *m, fs_err_t *err) __attribute__((warn_unused_result));
// FS_EVERIFY unless the signature verifies with m->signer.
int sigmsg_verify(const sigmsg_t *m, fs_err_t *err) __attribute__((warn_unused_result));

#endif
