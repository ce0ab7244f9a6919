/* bench_ledger.c - speed of the ledger and the envelope, for `make bench`:
 *   1. verify a ledger of BLOCKS blocks with MEMBERS members (chain_open),
 *      reported as seconds and blocks/s, median of REPS runs;
 *   2. seal + sign, then open + verify one update of the paper's GAN
 *      (1,204,994 float32 = 4.8 MB), against the libsodium primitives alone
 *      on the same bytes (Ed25519 over 4.8 MB, crypto_box, BLAKE2b).
 * Usage: bench_ledger [BLOCKS MEMBERS REPS]   (default 10000 16 5)
 * Prints "key value" lines that scripts/bench.sh collects. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "ledger/chain.h"
#include "tests/support/fedfx.h"

#define PAPER_WEIGHTS (1164289 + 40705)

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_report(const char *key, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    printf("%s median %.6f min %.6f max %.6f\n", key, v[n / 2], v[0], v[n - 1]);
}

int main(int argc, char **argv)
{
    int blocks = argc > 1 ? atoi(argv[1]) : 10000;
    int members = argc > 2 ? atoi(argv[2]) : 16;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (blocks < 1 || blocks >= FEDFX_MAX_RECS || members < 1 || members >= FEDFX_MAX_IDS ||
        reps < 1 || reps > 100) {
        fprintf(stderr, "usage: bench_ledger [BLOCKS<%d MEMBERS<%d REPS]\n", FEDFX_MAX_RECS,
                FEDFX_MAX_IDS);
        return 2;
    }
    hash_library_init();
    // 1. ledger verification
    fedfx_t *fx = fedfx_new(members, 0, NOISE_LAPLACE_CLIPPED);
    for (int r = 1; r < blocks; r++) {
        fedfx_round(fx, 0);
    }
    char path[] = "/tmp/fedsyn-bench-ledger-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    fedfx_write_ledger(fx, path);
    double t[100];
    for (int i = 0; i < reps; i++) {
        double t0 = s_now();
        fs_err_t err = {0, ""};
        chain_t *c = chain_open(path, CHAIN_READ_ONLY, NULL, &err);
        t[i] = s_now() - t0;
        if (!c || chain_height(c) != (uint64_t)blocks) {
            fprintf(stderr, "bench_ledger: %s\n", err.msg);
            return 1;
        }
        chain_destroy(&c);
    }
    printf("ledger_blocks %d\nledger_members %d\n", blocks, members);
    double med = 0;
    s_report("ledger_verify_s", t, reps);
    med = t[reps / 2];
    printf("ledger_blocks_per_s %.0f\n", blocks / med);
    unlink(path);
    fedfx_destroy(&fx);

    // 2. one update of the paper's GAN
    size_t nw = PAPER_WEIGHTS, nb = nw * sizeof(float);
    float *w = malloc(nb);
    for (size_t i = 0; i < nw; i++) {
        w[i] = (float)sin((double)i);
    }
    uint8_t seed[32] = {1}, fed[32] = {2};
    identity_t *alice = identity_new_from_seed("alice", seed, NULL);
    seed[0] = 2;
    identity_t *bob = identity_new_from_seed("bob", seed, NULL);
    keyring_t *ring = keyring_new();
    keyring_add(ring, identity_public(alice));
    envelope_t h = {.round = 1, .samples = 15000, .mechanism = NOISE_PAPER, .scale = 1e-4};
    memcpy(h.fed_id, fed, 32);
    envelope_expect_t ex = {.fed_id = fed, .round = 1, .me = bob, .members = ring,
                            .expected_count = nw, .max_bytes = ENVELOPE_MAX_BYTES};
    double seal[100], open[100], prim[100];
    size_t env_bytes = 0;
    uint8_t *scratch = malloc(nb + crypto_box_MACBYTES), sig[64], dg[32];
    uint8_t sk[64], pk[32], nonce[24] = {0};
    crypto_sign_keypair(pk, sk);
    for (int i = 0; i < reps; i++) {
        bytes_writer_t out;
        bytes_writer_init(&out);
        double t0 = s_now();
        if (envelope_seal(&out, &h, alice, identity_public(bob), w, nw, NULL) < 0) {
            return 1;
        }
        double t1 = s_now();
        envelope_t got;
        float *back = NULL;
        fs_err_t err = {0, ""};
        if (envelope_open(out.data, out.len, &ex, NULL, &got, &back, &err) < 0) {
            fprintf(stderr, "bench_ledger: %s\n", err.msg);
            return 1;
        }
        double t2 = s_now();
        seal[i] = t1 - t0;
        open[i] = t2 - t1;
        env_bytes = out.len;
        free(back);
        bytes_writer_reset(&out);
        // The primitives alone, as the issue lists them: Ed25519 over the
        // whole 4.8 MB (sign + verify), crypto_box both ways, BLAKE2b once.
        double p0 = s_now();
        crypto_sign_detached(sig, NULL, (const uint8_t *)w, nb, sk);
        if (crypto_sign_verify_detached(sig, (const uint8_t *)w, nb, pk) != 0) {
            return 1;
        }
        if (crypto_box_easy(scratch, (const uint8_t *)w, nb, nonce, identity_public(bob)->box_pk,
                            identity_box_sk(alice)) != 0 ||
            crypto_box_open_easy((uint8_t *)w, scratch, nb + crypto_box_MACBYTES, nonce,
                                 identity_public(alice)->box_pk, identity_box_sk(bob)) != 0) {
            return 1;
        }
        hash_digest(HASH_TAG_MODEL, w, nb, dg);
        prim[i] = s_now() - p0;
    }
    double total[100];
    for (int i = 0; i < reps; i++) {
        total[i] = seal[i] + open[i];
    }
    printf("envelope_bytes %zu\n", env_bytes);
    s_report("envelope_seal_s", seal, reps);
    s_report("envelope_open_s", open, reps);
    s_report("envelope_total_s", total, reps);
    s_report("primitives_s", prim, reps);
    printf("envelope_over_primitives %.2f\n", total[reps / 2] / prim[reps / 2]);
    free(scratch);
    free(w);
    keyring_destroy(&ring);
    identity_destroy(&alice);
    identity_destroy(&bob);
    return 0;
}
