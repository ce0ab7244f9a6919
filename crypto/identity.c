/* identity.c - key derivation, key files and the public line (identity.h). */
#include "crypto/identity.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/mem.h"

#define S_SECRET_HEADER "fedsyn-identity 1"
#define S_PUBLIC_TAG "fedsyn-id1"
#define S_KDF_CONTEXT "fedsynid" // crypto_kdf_CONTEXTBYTES = 8
// Subkey ids of the three key pairs derived from the seed.
enum { S_SUBKEY_SIGN = 1, S_SUBKEY_BOX = 2, S_SUBKEY_CURVE = 3 };

typedef struct {
    uint8_t seed[IDENTITY_SEED_BYTES];         // the master secret
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES]; // Ed25519 secret key
    uint8_t box_sk[crypto_box_SECRETKEYBYTES];   // X25519 secret for boxes
    uint8_t curve_sk[crypto_box_SECRETKEYBYTES]; // X25519 secret for CurveZMQ
} secrets_t;

struct identity {
    identity_pub_t pub; // public half
    secrets_t *sec;     // sodium_malloc'd (guard pages, wiped on free)
};

int identity_name_check(const char *name, fs_err_t *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > IDENTITY_NAME_MAX) {
        return fs_err_set(err, FS_EINVAL, "name '%s': expected 1 to %d characters", name,
                          IDENTITY_NAME_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok) {
            return fs_err_set(err, FS_EINVAL,
                              "name '%s': character %zu is not one of A-Z a-z 0-9 . _ -", name,
                              i + 1);
        }
    }
    return 0;
}

identity_t *identity_new_from_seed(const char *name, const uint8_t seed[IDENTITY_SEED_BYTES],
                                   fs_err_t *err)
{
    if (hash_library_init() < 0) {
        fs_err_set(err, FS_EIO, "libsodium failed to initialise");
        return NULL;
    }
    if (identity_name_check(name, err) < 0) {
        return NULL;
    }
    identity_t *self = xcalloc(1, sizeof *self);
    self->sec = sodium_malloc(sizeof *self->sec);
    if (!self->sec) {
        free(self);
        fs_err_set(err, FS_EIO, "sodium_malloc: %s", strerror(errno));
        return NULL;
    }
    memcpy(self->sec->seed, seed, IDENTITY_SEED_BYTES);
    snprintf(self->pub.name, sizeof self->pub.name, "%s", name);

    uint8_t sub[crypto_sign_SEEDBYTES];
    crypto_kdf_derive_from_key(sub, sizeof sub, S_SUBKEY_SIGN, S_KDF_CONTEXT, seed);
    crypto_sign_seed_keypair(self->pub.sign_pk, self->sec->sign_sk, sub);
    crypto_kdf_derive_from_key(self->sec->box_sk, sizeof self->sec->box_sk, S_SUBKEY_BOX,
                               S_KDF_CONTEXT, seed);
    crypto_scalarmult_base(self->pub.box_pk, self->sec->box_sk);
    crypto_kdf_derive_from_key(self->sec->curve_sk, sizeof self->sec->curve_sk, S_SUBKEY_CURVE,
                               S_KDF_CONTEXT, seed);
    crypto_scalarmult_base(self->pub.curve_pk, self->sec->curve_sk);
    sodium_memzero(sub, sizeof sub);
    return self;
}

identity_t *identity_new(const char *name, fs_err_t *err)
{
    if (hash_library_init() < 0) {
        fs_err_set(err, FS_EIO, "libsodium failed to initialise");
        return NULL;
    }
    uint8_t seed[IDENTITY_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    identity_t *self = identity_new_from_seed(name, seed, err);
    sodium_memzero(seed, sizeof seed);
    return self;
}

void identity_destroy(identity_t **self_p)
{
    if (*self_p) {
        sodium_free((*self_p)->sec); // wipes before freeing
        free(*self_p);
        *self_p = NULL;
    }
}

const identity_pub_t *identity_public(const identity_t *self)
{
    return &self->pub;
}

void identity_sign(const identity_t *self, const uint8_t digest[HASH_BYTES],
                   uint8_t sig[IDENTITY_SIG_BYTES])
{
    crypto_sign_detached(sig, NULL, digest, HASH_BYTES, self->sec->sign_sk);
}

int identity_verify(const uint8_t sign_pk[IDENTITY_KEY_BYTES], const uint8_t digest[HASH_BYTES],
                    const uint8_t sig[IDENTITY_SIG_BYTES])
{
    return crypto_sign_verify_detached(sig, digest, HASH_BYTES, sign_pk) == 0 ? 0 : -1;
}

const uint8_t *identity_box_sk(const identity_t *self)
{
    return self->sec->box_sk;
}

const uint8_t *identity_curve_sk(const identity_t *self)
{
    return self->sec->curve_sk;
}

void identity_pub_format(const identity_pub_t *pub, char *line)
{
    char s[2 * IDENTITY_KEY_BYTES + 1], b[sizeof s], c[sizeof s];
    bytes_to_hex(pub->sign_pk, IDENTITY_KEY_BYTES, s);
    bytes_to_hex(pub->box_pk, IDENTITY_KEY_BYTES, b);
    bytes_to_hex(pub->curve_pk, IDENTITY_KEY_BYTES, c);
    snprintf(line, IDENTITY_LINE_MAX, "%s %s %s %s %s", S_PUBLIC_TAG, pub->name, s, b, c);
}

int identity_pub_parse(const char *line, identity_pub_t *pub, fs_err_t *err)
{
    char tag[16], name[64], s[80], b[80], c[80], extra[2];
    int n = sscanf(line, "%15s %63s %79s %79s %79s %1s", tag, name, s, b, c, extra);
    if (n < 5 || strcmp(tag, S_PUBLIC_TAG) != 0) {
        return fs_err_set(err, FS_EINVAL,
                          "public identity: expected '%s NAME SIGN_HEX BOX_HEX CURVE_HEX' "
                          "(the line 'fedsyn keygen' prints)",
                          S_PUBLIC_TAG);
    }
    if (n == 6) {
        return fs_err_set(err, FS_EINVAL, "public identity: unexpected text after the keys");
    }
    memset(pub, 0, sizeof *pub);
    if (identity_name_check(name, err) < 0) {
        return fs_err_prefix(err, FS_EINVAL, "public identity: ");
    }
    memcpy(pub->name, name, strlen(name) + 1); // checked: at most 32 characters
    const char *fields[3] = {"signing key", "box key", "transport key"};
    const char *hex[3] = {s, b, c};
    uint8_t *dst[3] = {pub->sign_pk, pub->box_pk, pub->curve_pk};
    for (int i = 0; i < 3; i++) {
        if (bytes_from_hex(hex[i], dst[i], IDENTITY_KEY_BYTES) < 0) {
            return fs_err_set(err, FS_EINVAL,
                              "public identity '%s': %s: expected 64 hex digits", name,
                              fields[i]);
        }
    }
    return 0;
}

void identity_fingerprint(const identity_pub_t *pub, char out[IDENTITY_FPR_CHARS])
{
    hash_state_t st;
    uint8_t h[HASH_BYTES];
    hash_init(&st, HASH_TAG_FPR);
    hash_update(&st, pub->sign_pk, IDENTITY_KEY_BYTES);
    hash_update(&st, pub->box_pk, IDENTITY_KEY_BYTES);
    hash_update(&st, pub->curve_pk, IDENTITY_KEY_BYTES);
    hash_final(&st, h);
    char hex[17];
    bytes_to_hex(h, 8, hex);
    snprintf(out, IDENTITY_FPR_CHARS, "%.4s-%.4s-%.4s-%.4s", hex, hex + 4, hex + 8, hex + 12);
}

int identity_save(const identity_t *self, const char *dir, int force, fs_err_t *err)
{
    char secret_path[4096], public_path[4096];
    snprintf(secret_path, sizeof secret_path, "%s/%s", dir, IDENTITY_SECRET_FILE);
    snprintf(public_path, sizeof public_path, "%s/%s", dir, IDENTITY_PUBLIC_FILE);
    struct stat st;
    if (!force && stat(secret_path, &st) == 0) {
        return fs_err_set(err, FS_EINVAL,
                          "%s exists: refusing to replace an identity (its members know "
                          "it); use another directory or --force",
                          secret_path);
    }
    int rc = fsio_mkdirs(dir, err);
    if (rc < 0) {
        return rc;
    }
    chmod(dir, 0700);

    // The secret text lives in sodium memory so it is wiped after writing.
    char *text = sodium_malloc(256);
    if (!text) {
        return fs_err_set(err, FS_EIO, "sodium_malloc: %s", strerror(errno));
    }
    char seed_hex[2 * IDENTITY_SEED_BYTES + 1];
    bytes_to_hex(self->sec->seed, IDENTITY_SEED_BYTES, seed_hex);
    int len = snprintf(text, 256, "%s\nname %s\nseed %s\n", S_SECRET_HEADER, self->pub.name,
                       seed_hex);
    sodium_memzero(seed_hex, sizeof seed_hex);
    rc = fsio_write_atomic(secret_path, text, (size_t)len, 0600, err);
    sodium_free(text);
    if (rc < 0) {
        return rc;
    }
    char line[IDENTITY_LINE_MAX + 1];
    identity_pub_format(&self->pub, line);
    strcat(line, "\n");
    return fsio_write_atomic(public_path, line, strlen(line), 0644, err);
}

identity_t *identity_load(const char *dir, fs_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, IDENTITY_SECRET_FILE);
    struct stat st;
    if (stat(path, &st) < 0) {
        fs_err_set(err, FS_EIO, "%s: %s (create an identity with 'fedsyn keygen --dir %s')", path,
                   strerror(errno), dir);
        return NULL;
    }
    if (st.st_mode & 077) {
        fs_err_set(err, FS_EINVAL,
                   "%s: readable by others (mode %03o); run 'chmod 600 %s' and keep it secret",
                   path, (unsigned)(st.st_mode & 0777), path);
        return NULL;
    }
    uint8_t *data = NULL;
    size_t n = 0;
    if (fsio_read_all(path, 1024, &data, &n, err) < 0) {
        return NULL;
    }
    // Parse "header\nname NAME\nseed HEX\n" in place; the buffer is wiped after.
    char name[64] = "", seed_hex[80] = "";
    char *text = (char *)data;
    identity_t *self = NULL;
    uint8_t seed[IDENTITY_SEED_BYTES];
    if (n == 0 || text[n - 1] != '\n' || memchr(text, '\0', n)) {
        fs_err_set(err, FS_ECORRUPT, "%s: not a fedsyn identity file (truncated?)", path);
    } else {
        text[n - 1] = '\0';
        if (sscanf(text, S_SECRET_HEADER "\nname %63s\nseed %79s", name, seed_hex) != 2) {
            fs_err_set(err, FS_ECORRUPT,
                       "%s: expected the lines '%s', 'name NAME', 'seed HEX'", path,
                       S_SECRET_HEADER);
        } else if (bytes_from_hex(seed_hex, seed, IDENTITY_SEED_BYTES) < 0) {
            fs_err_set(err, FS_ECORRUPT, "%s: seed: expected 64 hex digits", path);
        } else {
            self = identity_new_from_seed(name, seed, err);
            if (!self) {
                fs_err_prefix(err, err ? err->code : FS_EINVAL, "%s: ", path);
            }
        }
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(seed_hex, sizeof seed_hex);
    sodium_memzero(data, n);
    free(data);
    return self;
}
