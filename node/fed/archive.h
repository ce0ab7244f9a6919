/* archive.h - every round's global model, kept by its hash, so that the
 * ledger's history can be audited model by model (issue 20).
 *
 * A node's state folder holds models/HASH.fsm (HASH: the 64 hex digits of
 * the model hash a block pins), a hard link to the global.fsm the saver
 * wrote for that block: no second copy, and the file stays when global.fsm
 * is replaced by the next round's.  How many are kept is node/keep-models
 * (docs/netcfg.md): all, the last N blocks', or none.  `fedsyn ledger verify
 * --models DIR` rechecks every pinned hash against the kept files, and
 * `fedsyn sample --ledger L --round K` draws from round K's.
 *
 * A node keeps the models it had: one that synced past rounds (a joiner, a
 * restart after an absence) never held those rounds' models, and verify
 * reports them as not kept, not as wrong.
 *
 * Usage: see tests/fed/test_archive.c
 */
#ifndef FS_FED_ARCHIVE_H
#define FS_FED_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/base/err.h"

#define ARCHIVE_KEEP_ALL (-1L) // node/keep-models = all

// The kept file of a model hash: DIR/models/HEX.fsm.
void archive_path(const char *dir, const uint8_t hash[HASH_BYTES], char *out, size_t n);
// Keeps the file `global` (just written, the model of `hash`) as the
// archive's copy, a hard link (a copy where links are refused); one that is
// there already is left.  Creates DIR/models.
int archive_keep(const char *dir, const char *global, const uint8_t hash[HASH_BYTES],
                 fs_err_t *err) __attribute__((warn_unused_result));
// Removes every kept model whose hash is not among want (n hashes), and
// stray temporary files; returns how many files it removed, or -1 when
// DIR/models cannot be read (err set).
int archive_prune(const char *dir, const uint8_t (*want)[HASH_BYTES], size_t n, fs_err_t *err);

#endif
