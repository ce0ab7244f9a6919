/* bench_crypto.c - what one 4.8 MB model costs in the primitives a round
 * uses (the floor under `scripts/bench-federation.sh`): BLAKE2b (our model
 * hash and message digests), crypto_box's XSalsa20-Poly1305 (our update
 * envelope; CurveZMQ uses the same construction per frame), and its two
 * halves.  Median of 9 runs each, milliseconds.  One JSON line.
 *   usage: bench_crypto [bytes]   (default 4820261, the paper's envelope) */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RUNS 9

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_median(double *t)
{
    qsort(t, RUNS, sizeof *t, s_cmp);
    return t[RUNS / 2] * 1e3;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_crypto: libsodium did not initialise\n");
        return 1;
    }
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4820261;
    unsigned char *a = malloc(n), *b = malloc(n + crypto_secretbox_MACBYTES);
    if (!a || !b || n == 0) {
        fprintf(stderr, "bench_crypto: cannot allocate %zu bytes\n", n);
        return 1;
    }
    randombytes_buf(a, n);
    unsigned char h[32], k[32], nonce[24];
    randombytes_buf(k, sizeof k);
    randombytes_buf(nonce, sizeof nonce);
    double hash[RUNS], box[RUNS], stream[RUNS], mac[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = s_now();
        crypto_generichash(h, sizeof h, a, n, NULL, 0);
        double t1 = s_now();
        crypto_secretbox_easy(b, a, n, nonce, k);
        double t2 = s_now();
        crypto_stream_xsalsa20_xor(b, a, n, nonce, k);
        double t3 = s_now();
        crypto_onetimeauth(h, a, n, k);
        double t4 = s_now();
        hash[r] = t1 - t0;
        box[r] = t2 - t1;
        stream[r] = t3 - t2;
        mac[r] = t4 - t3;
    }
    printf("{\"bytes\": %zu, \"blake2b_ms\": %.2f, \"secretbox_ms\": %.2f, "
           "\"xsalsa20_ms\": %.2f, \"poly1305_ms\": %.2f}\n",
           n, s_median(hash), s_median(box), s_median(stream), s_median(mac));
    free(a);
    free(b);
    return 0;
}
