/* test_identity.c - identities: derivation from a seed, key files (0600,
 * refusal to overwrite, refusal of a readable secret, damaged files), the
 * public line and its fingerprint, and the hash's domain separation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "crypto/keyring.h"
#include "tests/support/fixtures.h"

static void test_identity_usage(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    // Make an identity, save it, load it back: same public keys.
    identity_t *id = identity_new("hospital-a", &err);
    assert_non_null(id);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/keys", fixture_tmpdir());
    assert_int_equal(identity_save(id, dir, 0, &err), 0);
    identity_t *back = identity_load(dir, &err);
    assert_non_null(back);
    assert_memory_equal(identity_public(id), identity_public(back), sizeof(identity_pub_t));

    // The public line parses back to the same identity; fingerprints agree.
    char line[IDENTITY_LINE_MAX];
    identity_pub_format(identity_public(id), line);
    identity_pub_t pub;
    assert_int_equal(identity_pub_parse(line, &pub, &err), 0);
    assert_memory_equal(&pub, identity_public(id), sizeof pub);
    char f1[IDENTITY_FPR_CHARS], f2[IDENTITY_FPR_CHARS];
    identity_fingerprint(&pub, f1);
    identity_fingerprint(identity_public(back), f2);
    assert_string_equal(f1, f2);
    assert_int_equal(strlen(f1), 19);

    // Signatures made with the loaded key verify with the public key.
    uint8_t digest[32], sig[64];
    hash_digest(HASH_TAG_SIGMSG, "hello", 5, digest);
    identity_sign(back, digest, sig);
    assert_int_equal(identity_verify(pub.sign_pk, digest, sig), 0);
    digest[0] ^= 1;
    assert_int_equal(identity_verify(pub.sign_pk, digest, sig), -1);

    // Key files: the secret is 0600, the public file holds the line.
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, IDENTITY_SECRET_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/%s", dir, IDENTITY_PUBLIC_FILE);
    keyring_t *ring = keyring_new();
    assert_int_equal(keyring_load_file(ring, path, &err), 0);
    assert_int_equal(keyring_size(ring), 1);
    assert_non_null(keyring_find(ring, pub.sign_pk));
    keyring_destroy(&ring);
    identity_destroy(&id);
    identity_destroy(&back);
    assert_null(back);
}

static void test_identity_from_seed_is_deterministic(void **state)
{
    (void)state;
    uint8_t seed[32] = {1};
    identity_t *a = identity_new_from_seed("a", seed, NULL);
    identity_t *b = identity_new_from_seed("a", seed, NULL);
    assert_memory_equal(identity_public(a), identity_public(b), sizeof(identity_pub_t));
    // Three different keys: no key serves two protocols.
    const identity_pub_t *p = identity_public(a);
    assert_memory_not_equal(p->sign_pk, p->box_pk, 32);
    assert_memory_not_equal(p->box_pk, p->curve_pk, 32);
    seed[0] = 2;
    identity_t *c = identity_new_from_seed("a", seed, NULL);
    assert_memory_not_equal(identity_public(a)->sign_pk, identity_public(c)->sign_pk, 32);
    identity_destroy(&a);
    identity_destroy(&b);
    identity_destroy(&c);
}

static void test_identity_files_refused(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    uint8_t seed[32] = {3};
    identity_t *id = identity_new_from_seed("x", seed, NULL);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/refuse", fixture_tmpdir());
    assert_int_equal(identity_save(id, dir, 0, &err), 0);
    // A second save would replace an identity members know.
    assert_int_equal(identity_save(id, dir, 0, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "refusing to replace"));
    assert_int_equal(identity_save(id, dir, 1, &err), 0);
    // A secret readable by others is refused with the fix in the message.
    snprintf(path, sizeof path, "%s/%s", dir, IDENTITY_SECRET_FILE);
    chmod(path, 0644);
    assert_null(identity_load(dir, &err));
    assert_non_null(strstr(err.msg, "chmod 600"));
    // Damaged secret files.
    const char *bad[] = {"", "fedsyn-identity 1\nname x\n",
                         "fedsyn-identity 1\nname x\nseed 12zz\n",
                         "fedsyn-identity 2\nname x\nseed 00\n",
                         "fedsyn-identity 1\nname b@d\nseed "
                         "0000000000000000000000000000000000000000000000000000000000000000\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        chmod(path, 0600);
        err.code = 0;
        assert_null(identity_load(dir, &err));
        assert_true(err.code == FS_ECORRUPT || err.code == FS_EINVAL);
    }
    // Missing directory: the message says how to make one.
    assert_null(identity_load("/nonexistent/dir", &err));
    assert_non_null(strstr(err.msg, "fedsyn keygen"));
    identity_destroy(&id);
}

static void test_identity_public_line_refused(void **state)
{
    (void)state;
    fs_err_t err = {0, ""};
    identity_pub_t pub;
    const char *bad[] = {
        "",
        "fedsyn-id1 name",
        "fedsyn-id2 n 00 00 00",
        "fedsyn-id1 n 0011 0011 0011",
        "fedsyn-id1 b@d " // bad name, good keys
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000",
        "fedsyn-id1 ok "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000 extra",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(identity_pub_parse(bad[i], &pub, &err), FS_EINVAL);
    }
    // A keyring file names the line of its mistake.
    const char *text = "# members\nfedsyn-id1 broken\n";
    const char *path = fixture_write("ring.txt", text, strlen(text));
    keyring_t *ring = keyring_new();
    assert_int_equal(keyring_load_file(ring, path, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "ring.txt:2:"));
    keyring_destroy(&ring);
}

static void test_hash_domains(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    hash_digest(HASH_TAG_BLOCK, "x", 1, a);
    hash_digest(HASH_TAG_MODEL, "x", 1, b);
    assert_memory_not_equal(a, b, 32);
    // Streaming equals one shot.
    hash_state_t st;
    hash_init(&st, HASH_TAG_BLOCK);
    hash_update(&st, "", 0);
    hash_update(&st, "x", 1);
    hash_final(&st, b);
    assert_memory_equal(a, b, 32);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_usage),
        cmocka_unit_test(test_identity_from_seed_is_deterministic),
        cmocka_unit_test(test_identity_files_refused),
        cmocka_unit_test(test_identity_public_line_refused),
        cmocka_unit_test(test_hash_domains),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, fixture_teardown);
}
