/* election.c - the aggregator lottery and the fork rule (election.h). */
#include "ledger/election.h"

#include <assert.h>
#include <string.h>

#include "crypto/hash.h"
#include "ledger/block.h"

static void s_ticket(const uint8_t prev_hash[HASH_BYTES], uint64_t round,
                     const uint8_t key[IDENTITY_KEY_BYTES], uint8_t out[HASH_BYTES])
{
    uint8_t buf[HASH_BYTES + 8 + IDENTITY_KEY_BYTES];
    memcpy(buf, prev_hash, HASH_BYTES);
    for (int i = 0; i < 8; i++) {
        buf[HASH_BYTES + i] = (uint8_t)(round >> (8 * i));
    }
    memcpy(buf + HASH_BYTES + 8, key, IDENTITY_KEY_BYTES);
    hash_digest(HASH_TAG_ELECT, buf, sizeof buf, out);
}

void election_order(const uint8_t prev_hash[HASH_BYTES], uint64_t round, const uint8_t *keys,
                    size_t n, size_t *order)
{
    assert(n >= 1 && n <= LEDGER_MAX_MEMBERS);
    uint8_t tickets[LEDGER_MAX_MEMBERS][HASH_BYTES];
    for (size_t i = 0; i < n; i++) {
        s_ticket(prev_hash, round, keys + IDENTITY_KEY_BYTES * i, tickets[i]);
        order[i] = i;
    }
    // Insertion sort: n is at most LEDGER_MAX_MEMBERS and this runs once
    // per block.
    for (size_t i = 1; i < n; i++) {
        size_t cur = order[i], j = i;
        while (j > 0) {
            int c = memcmp(tickets[order[j - 1]], tickets[cur], HASH_BYTES);
            if (c == 0) {
                c = memcmp(keys + IDENTITY_KEY_BYTES * order[j - 1],
                           keys + IDENTITY_KEY_BYTES * cur, IDENTITY_KEY_BYTES);
            }
            if (c <= 0) {
                break;
            }
            order[j] = order[j - 1];
            j--;
        }
        order[j] = cur;
    }
}

size_t election_candidate(const uint8_t prev_hash[HASH_BYTES], uint64_t round, const uint8_t *keys,
                          size_t n, uint32_t attempt)
{
    size_t order[LEDGER_MAX_MEMBERS];
    election_order(prev_hash, round, keys, n, order);
    return order[attempt % n];
}

int election_prefer(uint32_t attempt_a, const uint8_t hash_a[HASH_BYTES], uint32_t attempt_b,
                    const uint8_t hash_b[HASH_BYTES])
{
    if (attempt_a != attempt_b) {
        return attempt_a < attempt_b ? 1 : -1;
    }
    int c = memcmp(hash_a, hash_b, HASH_BYTES);
    return c < 0 ? 1 : c > 0 ? -1 : 0;
}
