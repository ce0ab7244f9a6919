/* quality_log.h - a node's quality scores as JSON lines (quality.jsonl).
 *
 * One JSON object per scored round, appended to <node dir>/quality.jsonl
 * by the scorer thread (node/fed/scorer.h).  Keys, in this order:
 *
 *   node             the node's name
 *   round            the block index whose global model was scored
 *   model_hash       that model's hash (64 hex digits, as in the ledger)
 *   samples          images drawn and scored
 *   fid_test         FID against the real test set (null if not finite)
 *   classes_present  classes holding >= 2% of the images (coverage.h)
 *   class_share      the 10 shares the evaluator files the images under
 *   label_agreement  share filed under the label drawn for; null for an
 *                    unconditional model
 *   losses           this member's last local losses of that round, by
 *                    name ({"d_loss": .., "g_loss": ..}); null when it did
 *                    not train that round (an observer, a late joiner)
 *   evaluator        the evaluator's model hash (16 hex digits): scores are
 *                    comparable between equal evaluators only
 *   time_ms          Unix time of the score, milliseconds
 *   seconds          how long the score took (draw + evaluate)
 *
 * Crash safety (the ledger's rule, ledger/chain.h): each line is written
 * with one write(2) of the whole line on an O_APPEND descriptor, then
 * fsync'd; a failed or short write is cut away again.  A crash can still
 * leave a torn last line (no final newline): quality_log_open cuts it and
 * reports how many bytes it cut, so every line in the file is whole.
 *
 * Usage: see tests/fed/test_quality_log.c
 */
#ifndef FS_FED_QUALITY_LOG_H
#define FS_FED_QUALITY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/base/err.h"

#define QUALITY_LOG_FILE "quality.jsonl"
#define QUALITY_LOG_LINE_MAX 2048
#define QUALITY_LOG_NAME_MAX 32

typedef struct quality_log quality_log_t;

// One score (one line).
typedef struct {
    char node[QUALITY_LOG_NAME_MAX + 1];   // the node's name
    uint64_t round;                        // block index of the scored model
    uint8_t model_hash[HASH_BYTES];        // its hash
    int samples;                           // images scored
    double fid_test;                       // FID against the test set
    int classes_present;                   // coverage_t.classes_present
    double class_share[10];                // coverage_t.share
    double label_agreement;                // < 0: unlabelled samples (null)
    int has_losses;                        // 0: losses are null
    char loss_name[2][16];                 // e.g. "d_loss", "g_loss"
    double loss[2];                        // their values
    uint8_t evaluator_hash[8];             // first bytes of the evaluator's hash
    uint64_t time_ms;                      // Unix time, ms
    double seconds;                        // duration of the score
} quality_log_record_t;

// Formats r as one JSON line ending in '\n' into buf (size bytes); returns
// its length, or FS_ETOOBIG when it does not fit.
int quality_log_format(const quality_log_record_t *r, char *buf, size_t size, fs_err_t *err);

// Opens (creating it) the log at path for appending.  When the file ends in
// a torn line, cuts it (and fsyncs) and reports the bytes cut in *cut_bytes
// (may be NULL).  NULL with err set (FS_EIO, naming the file) on failure.
quality_log_t *quality_log_open(const char *path, uint64_t *cut_bytes, fs_err_t *err);
// Appends r as one line: one write(2), then fsync.  A failed write is cut
// away again; if even that fails, the log refuses every later append with
// the first error (sticky, as the ledger's chain_t).
int quality_log_append(quality_log_t *self, const quality_log_record_t *r, fs_err_t *err)
    __attribute__((warn_unused_result));
void quality_log_destroy(quality_log_t **self_p);

#endif
