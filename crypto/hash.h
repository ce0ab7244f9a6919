/* hash.h - domain-separated BLAKE2b-256, the one hash of fedsyn.
 *
 * Every object kind hashes with its own BLAKE2b personalization (16 bytes:
 * the ASCII tag padded with zero bytes), so that the bytes of one kind can
 * never be taken for another's (a block hash is never a model hash).  The
 * tags are part of the formats and are listed in docs/ledger.md §2; PyNaCl's
 * nacl.hash.blake2b(data, digest_size=32, person=tag) computes the same.
 *
 * Usage: see tests/crypto/test_identity.c
 */
#ifndef FS_CRYPTO_HASH_H
#define FS_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_BYTES 32

// Personalization tags (at most 16 characters each).
#define HASH_TAG_SIGMSG "fedsyn.sigmsg" // what a signature signs
#define HASH_TAG_BLOCK "fedsyn.block"   // a ledger record (block id)
#define HASH_TAG_MODEL "fedsyn.model"   // a flat float32 weight vector
#define HASH_TAG_ELECT "fedsyn.elect"   // an election ticket
#define HASH_TAG_FED "fedsyn.fed"       // the federation id (genesis body)
#define HASH_TAG_FPR "fedsyn.fpr"       // an identity's fingerprint

typedef struct {
    uint8_t state[384 + 64]; // crypto_generichash_blake2b_state + alignment slack
} hash_state_t;

// Initialises libsodium (it picks its fastest implementations); call once
// at program start.  Returns 0, or FS_EIO when libsodium cannot start.
int hash_library_init(void);

// out = BLAKE2b-256(person = tag, data).
void hash_digest(const char *tag, const void *data, size_t n, uint8_t out[HASH_BYTES]);

// The same in pieces.
void hash_init(hash_state_t *st, const char *tag);
void hash_update(hash_state_t *st, const void *data, size_t n);
void hash_final(hash_state_t *st, uint8_t out[HASH_BYTES]);

// Hash of a weight vector as stored: n float32 values, little-endian.
void hash_model(const float *w, size_t n, uint8_t out[HASH_BYTES]);

// "ab12cd34" style short form of a 32-byte key or hash: the first 4 bytes
// in hex (9 bytes with the NUL).
void hash_short(const uint8_t key[HASH_BYTES], char out[9]);

#endif
