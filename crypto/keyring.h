/* keyring.h - the public identities a node knows, looked up by signing key.
 *
 * A keyring is filled from identity.pub lines (a file of them, one per line,
 * '#' comments) or from the ledger's member list, and answers "who signed
 * this?" for sigmsg and envelope checks.  Usage: see tests/crypto/test_envelope.c
 */
#ifndef FS_CRYPTO_KEYRING_H
#define FS_CRYPTO_KEYRING_H

#include <stddef.h>

#include "crypto/identity.h"
#include "node/base/err.h"

typedef struct keyring keyring_t;

keyring_t *keyring_new(void);
void keyring_destroy(keyring_t **self_p);
// Adds (or replaces, by signing key) a public identity.
void keyring_add(keyring_t *self, const identity_pub_t *pub);
// Removes the identity with this signing key; returns 0, or -1 when absent.
int keyring_remove(keyring_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES]);
// The identity with this signing key, or NULL (borrowed; valid until the
// keyring changes).
const identity_pub_t *keyring_find(const keyring_t *self,
                                   const uint8_t sign_pk[IDENTITY_KEY_BYTES]);
size_t keyring_size(const keyring_t *self);
const identity_pub_t *keyring_at(const keyring_t *self, size_t i);
// Adds every public line of a file; errors name the file and line.
int keyring_load_file(keyring_t *self, const char *path, fs_err_t *err);

#endif
