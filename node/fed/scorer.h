/* scorer.h - a node's quality scores, off the main thread.
 *
 * A member that sets quality/score-every K (docs/netcfg.md) scores the
 * global model of every K-th block (and of the last planned one) as it
 * adopts it: it draws quality/score-samples images, and the evaluator
 * (node/metrics/scorecard.h, the same scorecard as `fedsyn eval`) gives FID
 * against the real test set, the classes drawn and the label agreement.
 * Each score is one line of <node dir>/quality.jsonl (quality_log.h) and
 * one log line.  It is the member's own view, from its own evaluator: not
 * a ledger claim, and nothing of it is sent to peers.
 *
 * The scorer is saver.h's shape: it owns a thread and the snapshots that
 * wait for it.  scorer_put copies the vector and returns, so the node's
 * event loop never waits for a score (seconds, against a round's messages
 * that must not wait).  Snapshots that arrive while a score runs wait their
 * turn, up to SCORER_QUEUE of them; when rounds outrun the scores for
 * longer than that, the oldest waiting one is skipped with a warning (the
 * curve loses a point, never the newest).  The test set's statistics are
 * computed once, first thing on the thread.
 *
 * The images are drawn with fedsyn eval's defaults (seed SCORER_SEED,
 * SCORER_BATCH at a time, temperature 1): `fedsyn eval --model global.fsm
 * --n N --evaluator E --data D` of the same model gives the same FID,
 * classes and agreement.  Drawing goes through the model's file (a scratch
 * file in the node's folder, removed after each draw), so that the node
 * samples exactly as `fedsyn sample` and `fedsyn eval` do (one
 * implementation, node/train/sampler.h).
 *
 * Usage: see tests/fed/test_scorer.c
 */
#ifndef FS_FED_SCORER_H
#define FS_FED_SCORER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "node/base/err.h"
#include "node/train/workload.h"

#define SCORER_SEED 7     // fedsyn eval's default latent seed
#define SCORER_BATCH 256  // fedsyn eval's batch
#define SCORER_SCRATCH "quality-model.tmp.fsm"
#define SCORER_QUEUE 4    // snapshots that may wait for the thread

typedef struct scorer scorer_t;

typedef struct {
    const char *name;      // the node's name (each line's "node")
    const char *dir;       // the node's folder: quality.jsonl, the scratch file
    const char *evaluator; // the evaluator file (fedsyn evaluator train)
    const char *test_dir;  // directory of t10k-images-idx3-ubyte[.gz] (+ labels)
    const char *dataset;   // the federation's data set; the evaluator's must match
    int samples;           // images per score (>= 2)
    workload_arch_t arch;  // the global model's architecture (a generator)
} scorer_config_t;

// The member's local losses of the round a model came from.
typedef struct {
    const char *name[2];   // workload_stat_name (copied)
    double value[2];
} scorer_losses_t;

// Loads the evaluator and the test set, opens quality.jsonl (cutting a
// torn last line, with a warning) and starts the thread.  Strings are
// copied.  NULL with err set when a file is missing or wrong (naming it
// and what to do), or when the model is not a generator.
scorer_t *scorer_new(const scorer_config_t *cfg, fs_err_t *err);
// Queues a copy of w (n floats: the model of block `round`, hash `hash`)
// with this member's losses of that round (NULL: it did not train it) and
// returns without waiting for the score.
void scorer_put(scorer_t *self, const float *w, size_t n, uint64_t round,
                const uint8_t hash[HASH_BYTES], const scorer_losses_t *losses);
// Waits until every queued snapshot is scored (or failed, with a warning).
// Returns the number of scores that failed since the scorer started.
int scorer_flush(scorer_t *self);
// The number of lines written so far.
int scorer_scores(scorer_t *self);
// The number of snapshots skipped because SCORER_QUEUE were waiting.
int scorer_skipped(scorer_t *self);
// Stops the thread after the score it is running (waiting snapshots are
// dropped: scorer_flush first to keep them) and frees.
void scorer_destroy(scorer_t **self_p);

#endif
