/* chain.h - the ledger on disk: an append-only file of verified blocks.
 *
 * File layout (docs/ledger.md §8):
 *   header   8 "FSYNLDGR", u32 version 1, u32 zero
 *   records  u32 length L, L bytes (a genesis or block sigmsg), u32 CRC-32
 *            (zlib's) of those L bytes; record 0 is the genesis
 *
 * Invariants:
 *   1. Every record in the file was verified (ledger_state_apply) before it
 *      was written; chain_open verifies them all again.
 *   2. chain_append writes one record with one write() and fdatasync()s it
 *      before returning, so a crash leaves a prefix of the last record at
 *      worst: a "torn tail".
 *   3. A torn tail - the file ends inside a record, or the last record's CRC
 *      is wrong - is cut back to the last whole block with a warning
 *      (info->truncated_bytes); anything wrong before the last record is an
 *      error naming the block and the field, and nothing is changed.
 *   4. After a failed write or fsync the handle refuses every later append
 *      with the first error (sticky): the file's state is unknown until it
 *      is reopened and re-verified (PostgreSQL's fsync lesson).
 *   5. One process at a time opens a ledger for writing (flock).
 * The genesis file is created atomically (write, fsync, rename).
 *
 * Usage: see tests/ledger/test_chain.c
 */
#ifndef FS_LEDGER_CHAIN_H
#define FS_LEDGER_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/state.h"
#include "node/base/err.h"

#define CHAIN_MAGIC "FSYNLDGR"
#define CHAIN_VERSION 1
#define CHAIN_HEADER_BYTES 16
#define CHAIN_FRAME_BYTES 8                   // length + CRC around each record
#define CHAIN_MAX_FILE_BYTES ((size_t)1 << 31) // 2 GiB

typedef struct chain chain_t;

typedef enum {
    CHAIN_WRITE = 0,    // open for appending; a torn tail is cut
    CHAIN_READ_ONLY = 1 // never modify the file; a torn tail is only reported
} chain_mode_t;

typedef struct {
    uint64_t blocks;           // whole blocks, genesis included
    uint64_t truncated_bytes;  // bytes of a torn tail (cut unless read-only): a record
                               // cut short, or zeros or garbage after the last
                               // whole one (never whole records: that is damage)
    int zero_tail;             // that tail is all zeros (a power cut on some file systems)
} chain_open_info_t;

// Creates a new ledger file holding only the genesis record (refuses an
// existing file) and returns it open for appending.
chain_t *chain_create(const char *path, const uint8_t *genesis, size_t n, fs_err_t *err);
// Opens and verifies a ledger (invariant 3).  info may be NULL.
chain_t *chain_open(const char *path, chain_mode_t mode, chain_open_info_t *info, fs_err_t *err);
void chain_destroy(chain_t **self_p);

// Verifies the record as the next block and appends it durably.
int chain_append(chain_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
    __attribute__((warn_unused_result));

// Replaces the head block by rec, which must be valid on top of the blocks
// before it (the fork rule, docs/federation.md, decides when a node does
// this).  The new file is written beside the old and renamed over it, so a
// crash leaves one or the other whole.  The genesis is never replaced.
int chain_replace_head(chain_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
    __attribute__((warn_unused_result));

const ledger_state_t *chain_state(const chain_t *self);
uint64_t chain_height(const chain_t *self);
// Borrowed view of record `index` (valid until the next append); 0 or -1.
int chain_record(const chain_t *self, uint64_t index, const uint8_t **rec, size_t *n);
// The model hash block `index` pins: round 0's (the genesis's initial model)
// for index 0, the block's model_hash after it.  0, or an error naming the
// index (past the head, or a record that does not decode).
int chain_model_hash(const chain_t *self, uint64_t index, uint8_t hash[HASH_BYTES],
                     fs_err_t *err) __attribute__((warn_unused_result));

#endif
