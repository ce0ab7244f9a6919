/* identity.h - a node's keys: who it is to the federation.
 *
 * An identity is one 32-byte secret seed from which libsodium's KDF derives
 * three key pairs: Ed25519 for signatures (the member's id everywhere), X25519
 * for the boxes that carry model updates, and a second X25519 pair for the
 * CurveZMQ transport (separate keys, so that no key serves two protocols).
 *
 * On disk, in the identity's directory:
 *   identity.secret  "fedsyn-identity 1\nname NAME\nseed HEX\n", mode 0600
 *   identity.pub     the one-line public identity (below), mode 0644
 * The public line is
 *   fedsyn-id1 NAME SIGN_PK_HEX BOX_PK_HEX CURVE_PK_HEX
 * and its fingerprint, for people to compare by eye, is the first 8 bytes of
 * BLAKE2b(person "fedsyn.fpr", sign_pk || box_pk || curve_pk) as
 * "xxxx-xxxx-xxxx-xxxx".
 *
 * Secrets live in sodium_malloc'd memory, are wiped on destroy and are never
 * printed.  Usage: see tests/crypto/test_identity.c
 */
#ifndef FS_CRYPTO_IDENTITY_H
#define FS_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/base/err.h"

#define IDENTITY_KEY_BYTES 32
#define IDENTITY_SEED_BYTES 32 // the secret seed the key pairs derive from
#define IDENTITY_SIG_BYTES 64
#define IDENTITY_NAME_MAX 32   // characters, [A-Za-z0-9._-]
#define IDENTITY_LINE_MAX 256  // a public line with its NUL
#define IDENTITY_FPR_CHARS 20  // "xxxx-xxxx-xxxx-xxxx" with its NUL
#define IDENTITY_SECRET_FILE "identity.secret"
#define IDENTITY_PUBLIC_FILE "identity.pub"

// The public half: plain value type, copied freely (keyrings, blocks).
typedef struct {
    char name[IDENTITY_NAME_MAX + 1];      // display name, NUL-terminated
    uint8_t sign_pk[IDENTITY_KEY_BYTES];   // Ed25519: the member's id
    uint8_t box_pk[IDENTITY_KEY_BYTES];    // X25519: updates are sealed to it
    uint8_t curve_pk[IDENTITY_KEY_BYTES];  // X25519: CurveZMQ transport key
} identity_pub_t;

typedef struct identity identity_t;

// A new identity from the system's random generator.
identity_t *identity_new(const char *name, fs_err_t *err);
// A new identity from a fixed 32-byte seed (tests, vectors).
identity_t *identity_new_from_seed(const char *name, const uint8_t seed[IDENTITY_SEED_BYTES],
                                   fs_err_t *err);
void identity_destroy(identity_t **self_p);

// Writes DIR/identity.secret (0600) and DIR/identity.pub atomically,
// creating DIR (0700) when missing.  Refuses (FS_EINVAL) to overwrite an
// existing identity unless force is set.
int identity_save(const identity_t *self, const char *dir, int force, fs_err_t *err);
// Loads DIR/identity.secret; refuses a file readable by group or others.
identity_t *identity_load(const char *dir, fs_err_t *err);

const identity_pub_t *identity_public(const identity_t *self);
// Ed25519 signature of a 32-byte digest (what sigmsg signs).
void identity_sign(const identity_t *self, const uint8_t digest[HASH_BYTES],
                   uint8_t sig[IDENTITY_SIG_BYTES]);
// Borrowed secret keys for libsodium calls (never copy them out).
const uint8_t *identity_box_sk(const identity_t *self);
const uint8_t *identity_curve_sk(const identity_t *self);

// Checks a display name: 1..32 characters of [A-Za-z0-9._-].
int identity_name_check(const char *name, fs_err_t *err);
// One-line public form (no newline) into line[IDENTITY_LINE_MAX].
void identity_pub_format(const identity_pub_t *pub, char *line);
// Parses the one-line public form (a trailing newline is allowed).
int identity_pub_parse(const char *line, identity_pub_t *pub, fs_err_t *err);
void identity_fingerprint(const identity_pub_t *pub, char out[IDENTITY_FPR_CHARS]);
// Ed25519 check of a signature over a 32-byte digest.
int identity_verify(const uint8_t sign_pk[IDENTITY_KEY_BYTES], const uint8_t digest[HASH_BYTES],
                    const uint8_t sig[IDENTITY_SIG_BYTES]) __attribute__((warn_unused_result));

#endif
