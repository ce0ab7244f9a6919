/* saver.h - writes the global model file (global.fsm) off the main thread.
 *
 * Saving the paper's 4.8 MB model with fsync takes 10-20 ms.  On the main
 * thread that time sat on the round's critical path: a member that adopted
 * a block saved while its update was still to be sealed and sent.  The
 * saver owns a thread and one pending snapshot: saver_put copies the
 * vector (about 1 ms) and returns; a newer snapshot replaces one that has
 * not been written yet (only the head's model matters).
 *
 * It writes at most once per SAVER_MIN_INTERVAL_MS.  A round with real
 * training takes longer than that, so every round's model is written; when
 * rounds come faster (protocol-only benchmarks: about 10 a second) the
 * write, its CRC and the kernel's page-cache copy were a tenth of a node's
 * CPU, and they now happen for every fifth round or so.  The latest
 * snapshot is always written: after the interval, at saver_flush and at
 * saver_destroy.  A crash can leave global.fsm behind the ledger; the
 * restart then reads the head's model from the archive (store.h).  Each
 * write is
 * global_save's atomic replace, so a crash at any point leaves the
 * previous file or the new one, never a torn one; a restart compares the
 * file's hash with the ledger's head and fetches the model again when it
 * is behind.
 *
 * With the archive of every block's model (archive.h, node/keep-models) no
 * snapshot may be skipped: each one is written, then kept under its hash,
 * and the window of the last N is pruned as it moves.  A node makes each
 * block's model durable in the archive before it appends the block
 * (store.h, store_make_durable); the saver then only links global.fsm to
 * that file (a hard link and a rename: no second write), and writes it
 * only where there is no such copy.
 *
 * Usage: see tests/fed/test_saver.c
 */
#ifndef FS_FED_SAVER_H
#define FS_FED_SAVER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/train/workload.h"

typedef struct saver saver_t;

#define SAVER_MIN_INTERVAL_MS 500

// A saver for `path` (the architecture and data set name go into the
// file's meta line; both are copied).
saver_t *saver_new(const char *path, const workload_arch_t *arch, const char *dataset);
// Queues a copy of w (n floats, the model of ledger height `height` with
// hash `hash`) and returns without waiting for the disk.
void saver_put(saver_t *self, const float *w, size_t n, uint64_t height,
               const uint8_t hash[HASH_BYTES]);
// Waits until every queued snapshot is on disk (or failed, with a warning).
// Returns the number of writes that failed since the saver started.
int saver_flush(saver_t *self);
// Keeps every written snapshot in the archive of state folder dir too
// (archive.h): keep models, the last `keep` (> 0) or all (ARCHIVE_KEEP_ALL);
// kept[0..n_kept) are the hashes kept already, oldest first (those beyond
// the window are the caller's to prune).  With an archive no snapshot is
// coalesced: saver_put waits while the previous one is still pending, and
// the minimum interval does not apply.  Call before the first saver_put.
void saver_set_archive(saver_t *self, const char *dir, long keep,
                       const uint8_t (*kept)[HASH_BYTES], size_t n_kept);
// Changes the minimum time between two writes (0: write every snapshot).
void saver_set_min_interval(saver_t *self, int ms);
// The number of snapshots written so far (coalesced ones are not).
int saver_writes(saver_t *self);
// Flushes, stops the thread and frees.
void saver_destroy(saver_t **self_p);

#endif
