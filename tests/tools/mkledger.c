/* mkledger.c - writes a valid test ledger (fixed-seed identities) for the
 * integration tests and the ledger benchmark:
 *   mkledger PATH MEMBERS ROUNDS [MECHANISM [VARIANT]]
 * MECHANISM is 0 none, 1 paper, 2 laplace-clipped (default 2).  Member 0
 * misses every fifth round (a deadline close).  A nonzero VARIANT gives
 * the same genesis with different blocks (an equivocating aggregator). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "tests/support/fedfx.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mkledger PATH MEMBERS ROUNDS [MECHANISM]\n");
        return 2;
    }
    int members = atoi(argv[2]), rounds = atoi(argv[3]);
    int mech = argc > 4 ? atoi(argv[4]) : NOISE_LAPLACE_CLIPPED;
    if (members < 1 || members > FEDFX_MAX_IDS - 1 || rounds < 0 || rounds >= FEDFX_MAX_RECS) {
        fprintf(stderr, "mkledger: 1..%d members, 0..%d rounds\n", FEDFX_MAX_IDS - 1,
                FEDFX_MAX_RECS - 1);
        return 2;
    }
    fedfx_t *fx = fedfx_new(members, 1, mech);
    fx->variant = argc > 5 ? atoi(argv[5]) : 0; // VARIANT: other model hashes
    for (int r = 1; r <= rounds; r++) {
        uint64_t mask = r % 5 == 0 ? ~(uint64_t)1 : 0; // node0 misses every fifth round
        fedfx_round(fx, mask);
    }
    fedfx_write_ledger(fx, argv[1]);
    fedfx_destroy(&fx);
    return 0;
}
