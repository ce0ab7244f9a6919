/* fuzz_envelope.c - libFuzzer harness for envelope_open: the input is an
 * update sent to a fixed aggregator; nothing it contains may crash, leak,
 * or be accepted unless it is a genuine envelope.  Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static identity_t *me;
    static keyring_t *ring;
    static uint8_t fed[32];
    if (!me) {
        hash_library_init();
        uint8_t seed[32] = {1};
        me = identity_new_from_seed("agg", seed, NULL);
        seed[0] = 2;
        identity_t *member = identity_new_from_seed("member", seed, NULL);
        ring = keyring_new();
        keyring_add(ring, identity_public(member));
        identity_destroy(&member);
        memset(fed, 0x42, sizeof fed);
    }
    envelope_expect_t ex = {.fed_id = fed, .round = 5, .me = me, .members = ring,
                            .expected_count = 8, .max_bytes = 1 << 16};
    envelope_t h;
    float *w = NULL;
    if (envelope_open(data, size, &ex, NULL, &h, &w, NULL) == 0) {
        free(w); // a valid signature needs the member's secret key: not expected
    }
    return 0;
}
