/* sync.c - decisions on blocks and sync replies (sync.h); no I/O, no clock. */
#include "node/proto/sync.h"

#include "ledger/election.h"

sync_block_t sync_judge_block(uint64_t height, uint64_t index)
{
    if (index + 1 == height && height >= 2) {
        return SYNC_BLOCK_COMPETE;
    }
    if (index < height) {
        return SYNC_BLOCK_OLD;
    }
    return index > height ? SYNC_BLOCK_AHEAD : SYNC_BLOCK_NEXT;
}

int sync_theirs_wins(uint32_t our_attempt, const uint8_t our_hash[HASH_BYTES],
                     uint32_t their_attempt, const uint8_t their_hash[HASH_BYTES])
{
    return election_prefer(their_attempt, their_hash, our_attempt, our_hash) > 0;
}

sync_record_t sync_judge_record(uint64_t height, uint64_t index, int has_successor,
                                int differs)
{
    if (index + 1 == height && height >= 2 && has_successor) {
        // the peer's block for our head's index has a successor: its chain
        // is longer, and a block with a successor is final
        return differs ? SYNC_RECORD_REPLACE_HEAD : SYNC_RECORD_SKIP;
    }
    return index < height ? SYNC_RECORD_SKIP : SYNC_RECORD_APPEND;
}

int sync_retry_from(uint64_t height, uint64_t index, uint64_t first_index, uint64_t *from)
{
    if (index == height && height >= 2 && first_index >= height) {
        *from = height - 1;
        return 1;
    }
    return 0;
}

int sync_serve(uint64_t height, uint64_t from, int have_model, uint64_t *start, uint64_t *end,
               int *with_model)
{
    if (from > height) {
        return -1;
    }
    *start = from;
    *end = from + SYNC_MAX_RECORDS < height ? from + SYNC_MAX_RECORDS : height;
    *with_model = *end == height && have_model;
    return 0;
}
