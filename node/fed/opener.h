/* opener.h - opens model updates on worker threads.
 *
 * Opening the paper's 4.8 MB update (digest, signature, decryption, NaN
 * scan: about 9 ms) on the main thread held up the reassembly of the next
 * update behind it, so an aggregator's opens ran one after the other on the
 * round's critical path.  The opener runs envelope_open on OPENER_THREADS
 * worker threads; the main thread keeps reading the network and collects
 * each result from the worker's pipe (the poller hands it over).
 *
 * A job carries everything it needs by value (the message, the federation,
 * round and expected size, the one member it claims to come from), so the
 * main thread may move to the next round meanwhile; the caller drops
 * results of a round that is over.  The replay check (a second update from
 * the same member this round) stays on the main thread, which alone owns
 * the replay set: it runs when the result is collected.
 *
 * Usage: see tests/fed/test_opener.c
 */
#ifndef FS_FED_OPENER_H
#define FS_FED_OPENER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "node/base/err.h"

#define OPENER_THREADS 2
// In flight at once; beyond, opener_submit refuses and the caller opens
// the update itself: more queued jobs would not open faster, and each holds
// a message (4.8 MB for the paper's model), so this bounds their memory.
#define OPENER_MAX_JOBS 8

typedef struct opener opener_t;

typedef struct {
    // the request (owned by the job)
    uint8_t *buf;                       // the envelope as received
    size_t n;
    uint8_t fed_id[HASH_BYTES];
    uint64_t round;                     // the round it was opened for
    uint8_t signer[IDENTITY_KEY_BYTES]; // the signing key it names (for logs)
    identity_pub_t sender;              // the member it claims to come from
    int sender_known;                   // 0: not a member (the open fails at step 6)
    size_t expected_count;
    int from;                           // the peer it came from (-1: queued), for logs
    // the result
    int rc;                             // envelope_open's
    fs_err_t err;
    envelope_t hdr;
    float *w;                           // the weights when rc == 0 (the collector owns them)
} open_job_t;

// Starts the workers; `me` (the recipient's identity) must outlive it.
opener_t *opener_new(const identity_t *me);
// Stops the workers, collects and frees what is still in flight.
void opener_destroy(opener_t **self_p);
// Hands the job (allocated by the caller, buf included) to a worker.
// Returns 0, or -1 when OPENER_MAX_JOBS are in flight (the caller opens it
// itself).
int opener_submit(opener_t *self, open_job_t *job);
// The workers' pipes, for the caller's poller (OPENER_THREADS of them).
void *opener_pipe(opener_t *self, int i);
// Receives the finished job from a readable pipe (the caller owns it and
// frees it with opener_job_free).
open_job_t *opener_collect(opener_t *self, void *pipe);
// What a worker does with a job, for a caller that opens one itself.
void opener_run(const identity_t *me, open_job_t *job);
// Jobs handed out and not yet collected.
int opener_in_flight(const opener_t *self);
void opener_job_free(open_job_t **job_p);

#endif
