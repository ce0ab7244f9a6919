/* election.h - who aggregates a round: a deterministic lottery.
 *
 * For round r (the index of the block being made) every active member m
 * gets a ticket
 *     ticket(m) = BLAKE2b-256(person "fedsyn.elect", prev_hash || u64le(r) || key(m))
 * and the members sorted by ticket (bytewise ascending, ties impossible in
 * practice, then by key) are the candidates in rank order.  Attempt a (0
 * first, +1 after each missed deadline) belongs to the candidate of rank
 * a mod n.  Every node and every verifier computes the same order from the
 * ledger; nobody can know it before the previous block (its hash) exists,
 * and over many rounds each member is first with probability 1/n.
 *
 * Fork rule: of two valid blocks for the same index, the one with the lower
 * attempt wins; with equal attempts (the same aggregator, i.e. equivocation)
 * the lower block hash wins.  Usage: see tests/ledger/test_election.c
 */
#ifndef FS_LEDGER_ELECTION_H
#define FS_LEDGER_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/identity.h"

// Fills order[0..n) with indices into keys, in candidate rank order.
// keys holds the n active members' signing keys, 32 bytes each (n >= 1).
void election_order(const uint8_t prev_hash[HASH_BYTES], uint64_t round, const uint8_t *keys,
                    size_t n, size_t *order);

// The index (into keys) of the candidate for this attempt.
size_t election_candidate(const uint8_t prev_hash[HASH_BYTES], uint64_t round, const uint8_t *keys,
                          size_t n, uint32_t attempt);

// Fork rule: > 0 when block A wins over block B, < 0 when B wins, 0 when
// they are the same block.
int election_prefer(uint32_t attempt_a, const uint8_t hash_a[HASH_BYTES], uint32_t attempt_b,
                    const uint8_t hash_b[HASH_BYTES]);

#endif
