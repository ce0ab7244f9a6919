/* replay.h - which (sender, round) pairs have already delivered an update.
 *
 * envelope_open consults it after the signature checks and records a pair
 * only once the whole envelope is accepted, so forged or broken envelopes
 * cannot block a member's genuine one.  Usage: see tests/crypto/test_envelope.c
 */
#ifndef FS_CRYPTO_REPLAY_H
#define FS_CRYPTO_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"

typedef struct replay replay_t;

replay_t *replay_new(void);
void replay_destroy(replay_t **self_p);
int replay_seen(const replay_t *self, const uint8_t sender[IDENTITY_KEY_BYTES], uint64_t round);
void replay_mark(replay_t *self, const uint8_t sender[IDENTITY_KEY_BYTES], uint64_t round);
// Forgets pairs of rounds before `round` (they are refused as stale anyway).
void replay_prune(replay_t *self, uint64_t round);

#endif
