/* sync.h - what to do with a block or a sync reply from a peer, and what
 * to answer a sync request with: the decisions of docs/federation.md "Which
 * block wins" and "Joining, leaving, restarting", as pure functions of the
 * ledger's height and the records' indices.
 *
 * Part of the protocol core (node/proto): no sockets, no clock, no files.
 * It has no state of its own: the ledger is its state (the height, the
 * head), and when a sync request may go out is peers.h's.  The caller
 * verifies, appends and replaces (ledger/chain.h), and moves the models.
 *
 *   sync_judge_block    a block message for index r while we hold h blocks:
 *                       the next one (verify and append), a competing head
 *                       (index h - 1, the fork rule decides), an old one
 *                       (dropped: a block with a successor is final), or
 *                       one ahead (ask for a sync from h)
 *   sync_theirs_wins    the fork rule (ledger/election.h) at the head
 *   sync_judge_record   record j of a sync reply: replace our head (the
 *                       peer's block for our head's index differs and has a
 *                       successor in the reply), skip (we hold it), append
 *   sync_retry_from     a reply's record was refused: ask again from h - 1
 *                       when our head may be the odd one
 *   sync_serve          the records [start, end) answering "from", and
 *                       whether the head's model goes with them
 *
 * Usage: see tests/proto/test_sync.c
 */
#ifndef FS_PROTO_SYNC_H
#define FS_PROTO_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

#define SYNC_MAX_RECORDS 64 // records in one sync reply (= WIRE_SYNC_MAX_RECORDS)

typedef enum {
    SYNC_BLOCK_NEXT = 1, // index h: verify and append
    SYNC_BLOCK_COMPETE,  // index h - 1 (h >= 2): a competing head
    SYNC_BLOCK_OLD,      // below: dropped (logged when it differs from ours)
    SYNC_BLOCK_AHEAD,    // above h: ask the sender for a sync from h
} sync_block_t;

typedef enum {
    SYNC_RECORD_REPLACE_HEAD = 1, // replace our head by it (the fork rule of length)
    SYNC_RECORD_SKIP,             // we hold this index already
    SYNC_RECORD_APPEND,           // verify and append
} sync_record_t;

sync_block_t sync_judge_block(uint64_t height, uint64_t index);

// 1 when their block wins over our head at the same index (lower attempt,
// then lower hash), 0 when ours does or they are the same block.
int sync_theirs_wins(uint32_t our_attempt, const uint8_t our_hash[HASH_BYTES],
                     uint32_t their_attempt, const uint8_t their_hash[HASH_BYTES]);

// Record `index` of a reply, which holds more records after it when
// has_successor; differs: it is not byte-for-byte our record of that index
// (only asked when index + 1 == height).
sync_record_t sync_judge_record(uint64_t height, uint64_t index, int has_successor,
                                int differs);

// A reply's record `index` was refused while we held `height`; the reply
// began at first_index.  Returns 1 and sets *from when a request from
// height - 1 may settle it (our head may be the odd one).
int sync_retry_from(uint64_t height, uint64_t index, uint64_t first_index, uint64_t *from);

// Answering a request from `from` while holding `height` blocks: returns 0
// and the range [*start, *end) (at most SYNC_MAX_RECORDS), with the model
// when the range reaches the head; -1 when from > height (nothing to say).
int sync_serve(uint64_t height, uint64_t from, int have_model, uint64_t *start, uint64_t *end,
               int *with_model);

#endif
