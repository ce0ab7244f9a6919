/* hash.c - domain-separated BLAKE2b-256 over libsodium (see hash.h). */
#include "crypto/hash.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "node/base/bytes.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fedsyn hashes and sends float32 weights as they lie in memory: little-endian only"
#endif

static_assert(sizeof(hash_state_t) >= sizeof(crypto_generichash_blake2b_state) + 63,
              "hash_state_t too small");
static_assert(HASH_BYTES == crypto_generichash_BYTES, "BLAKE2b-256");

static void s_person(const char *tag, uint8_t person[crypto_generichash_blake2b_PERSONALBYTES])
{
    size_t n = strlen(tag);
    assert(n <= crypto_generichash_blake2b_PERSONALBYTES);
    memset(person, 0, crypto_generichash_blake2b_PERSONALBYTES);
    memcpy(person, tag, n);
}

static crypto_generichash_blake2b_state *s_state(hash_state_t *st)
{
    // libsodium wants the state 64-byte aligned; hash_state_t is plain bytes,
    // so align inside it.
    uintptr_t p = (uintptr_t)st->state;
    p = (p + 63) & ~(uintptr_t)63;
    return (crypto_generichash_blake2b_state *)p;
}

int hash_library_init(void)
{
    return sodium_init() < 0 ? -2 : 0; // FS_EIO
}

void hash_init(hash_state_t *st, const char *tag)
{
    uint8_t person[crypto_generichash_blake2b_PERSONALBYTES];
    s_person(tag, person);
    int rc = crypto_generichash_blake2b_init_salt_personal(s_state(st), NULL, 0, HASH_BYTES,
                                                           NULL, person);
    assert(rc == 0);
    (void)rc;
}

void hash_update(hash_state_t *st, const void *data, size_t n)
{
    crypto_generichash_blake2b_update(s_state(st), data, n);
}

void hash_final(hash_state_t *st, uint8_t out[HASH_BYTES])
{
    crypto_generichash_blake2b_final(s_state(st), out, HASH_BYTES);
}

void hash_digest(const char *tag, const void *data, size_t n, uint8_t out[HASH_BYTES])
{
    hash_state_t st;
    hash_init(&st, tag);
    hash_update(&st, data, n);
    hash_final(&st, out);
}

void hash_model(const float *w, size_t n, uint8_t out[HASH_BYTES])
{
    // fedsyn runs on little-endian machines only (model file, envelopes);
    // the float bytes are hashed as they lie in memory.
    hash_digest(HASH_TAG_MODEL, w, n * sizeof(float), out);
}

void hash_short(const uint8_t key[HASH_BYTES], char out[9])
{
    bytes_to_hex(key, 4, out);
}
