/* wire.h - the messages nodes exchange (docs/wire.md).
 *
 * Each travels as one transport message (node/fed/transport.h) whose type
 * is below.  Signed messages are sigmsgs (crypto/sigmsg.h) and are checked
 * by their receivers; the unsigned ones carry only what is verified some
 * other way (blocks are signed records, a model is bound by the hash in
 * its block, a sync request asks for public data).
 *
 *   HELLO    sigmsg SIGMSG_HELLO, round = the sender's ledger height; body:
 *            identity, u16 + endpoint, 32 head hash, u8 n, n x (identity,
 *            u16 + endpoint, u8 heard): the peers it knows (how the mesh
 *            forms) and whether their messages reach it (a peer that reads
 *            "not heard" about itself re-dials: its handshake was refused
 *            before the sender knew its key, and libzmq does not retry)
 *   BLOCK    u32 L, L bytes of a block record, u32 count, count float32:
 *            the new global model (its hash is in the block)
 *   UPDATE   an envelope (crypto/envelope.h)
 *   JOIN     a sigmsg SIGMSG_JOIN       LEAVE  a sigmsg SIGMSG_LEAVE
 *   SYNCREQ  u64 first block wanted
 *   SYNCREP  u32 k, k x (u32 L, L bytes of a record), u32 count, count
 *            float32 (the global model after the last record; count 0 when
 *            the reply stops before the sender's head), and in a
 *            majority-witnessed federation, when the last record is the
 *            sender's head, that head's certificate (ledger/witness.h)
 * In a majority-witnessed federation (node/proto/finality.h):
 *   PROPOSE  u32 ballot, 64 signature of the ballot's aggregator
 *            (witness_propose_digest), then a BLOCK message's bytes
 *   VOTE     u64 height, u32 ballot, 32 block hash, 32 voter key, 64
 *            signature (witness_vote_digest)
 *   PROMISE  u64 height, u32 ballot, 32 voter key, u32 voted ballot
 *            (0xffffffff: none), 32 voted block hash, 64 signature
 *            (witness_promise_digest), then a BLOCK message's bytes: the
 *            block it voted for and its model (L = 0, count = 0: none)
 * In a federation that admits by vote (ledger/motion.h):
 *   MOTION   a motion as a block encodes it, with the signatures its sender
 *            holds (at least one)
 * Decoders check every length against the bytes present and the limits
 * here and name the field that is wrong.
 *
 * Usage: see tests/fed/test_wire.c
 */
#ifndef FS_FED_WIRE_H
#define FS_FED_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "ledger/motion.h"
#include "ledger/witness.h"
#include "node/base/bytes.h"
#include "node/base/err.h"

typedef enum {
    WIRE_HELLO = 1,
    WIRE_BLOCK = 2,
    WIRE_UPDATE = 3,
    WIRE_JOIN = 4,
    WIRE_LEAVE = 5,
    WIRE_SYNCREQ = 6,
    WIRE_SYNCREP = 7,
    WIRE_PROPOSE = 8,
    WIRE_VOTE = 9,
    WIRE_PROMISE = 10,
    WIRE_MOTION = 11,
    WIRE_TYPE_COUNT
} wire_type_t;

#define WIRE_ENDPOINT_MAX 255
#define WIRE_HELLO_MAX_PEERS 32
#define WIRE_HELLO_MAX_BYTES 16384
#define WIRE_SYNC_MAX_RECORDS 64   // records in one sync reply

const char *wire_type_name(int type);

typedef struct {
    identity_pub_t id;
    char endpoint[WIRE_ENDPOINT_MAX + 1];
    uint8_t heard;        // the sender heard from this peer in the last 3 s
} wire_peer_t;

typedef struct {
    wire_peer_t me;            // the sender and where it listens
    uint64_t height;           // its ledger height (blocks, genesis included)
    uint8_t head[HASH_BYTES];  // its head block's hash
    uint8_t n_peers;           // peers it knows
    wire_peer_t peers[WIRE_HELLO_MAX_PEERS];
} wire_hello_t;

void wire_hello_encode(bytes_writer_t *w, const wire_hello_t *h, const uint8_t fed_id[HASH_BYTES],
                       const identity_t *me);
// Decodes and verifies a hello for this federation: framing, type, fed id,
// signature, and that the signer is the identity it announces.
int wire_hello_decode(const uint8_t *buf, size_t n, const uint8_t fed_id[HASH_BYTES],
                      wire_hello_t *h, fs_err_t *err) __attribute__((warn_unused_result));

void wire_block_encode(bytes_writer_t *w, const uint8_t *rec, size_t rec_len, const float *model,
                       size_t count);
// Views into buf: the record and the model's bytes (count float32, maybe
// unaligned: copy with memcpy).
int wire_block_decode(const uint8_t *buf, size_t n, const uint8_t **rec, size_t *rec_len,
                      const uint8_t **model, size_t *count, fs_err_t *err)
    __attribute__((warn_unused_result));

// A sync reply is built by the caller (records appended with
// wire_sync_add) and closed with the model.
void wire_sync_begin(bytes_writer_t *w, size_t *count_at);
void wire_sync_add(bytes_writer_t *w, size_t count_at, const uint8_t *rec, size_t n);
void wire_sync_end(bytes_writer_t *w, const float *model, size_t count);
typedef struct {
    uint32_t k;                                  // records
    const uint8_t *rec[WIRE_SYNC_MAX_RECORDS];   // views into the message
    size_t len[WIRE_SYNC_MAX_RECORDS];
    const uint8_t *model;                        // count float32 or NULL
    size_t count;
    int has_cert;                                // the last record's certificate follows
    witness_cert_t cert;
} wire_sync_t;
// After wire_sync_end: the certificate of the reply's last record.
void wire_sync_cert(bytes_writer_t *w, const witness_cert_t *cert);
int wire_sync_decode(const uint8_t *buf, size_t n, wire_sync_t *s, fs_err_t *err)
    __attribute__((warn_unused_result));

// The witness messages; decoders view into buf and check lengths.
typedef struct {
    uint64_t height;
    uint32_t ballot;
    uint32_t voted_ballot;             // PROMISE
    uint8_t hash[HASH_BYTES];          // VOTE: the block; PROMISE: the block voted for
    uint8_t key[IDENTITY_KEY_BYTES];   // VOTE, PROMISE: the voter
    uint8_t sig[IDENTITY_SIG_BYTES];   // the sender's signature
    const uint8_t *rec;                // PROPOSE, PROMISE: the block (NULL: none)
    size_t rec_len;
    const uint8_t *model;              // its model (count float32, maybe unaligned)
    size_t count;
} wire_witness_t;

void wire_propose_encode(bytes_writer_t *w, uint32_t ballot,
                         const uint8_t sig[IDENTITY_SIG_BYTES], const uint8_t *rec,
                         size_t rec_len, const float *model, size_t count);
int wire_propose_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
    __attribute__((warn_unused_result));
void wire_vote_encode(bytes_writer_t *w, const wire_witness_t *m);
int wire_vote_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
    __attribute__((warn_unused_result));
// m's rec and model (count floats) may be NULL and 0: no vote to report.
void wire_promise_encode(bytes_writer_t *w, const wire_witness_t *m, const float *model);
int wire_promise_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
    __attribute__((warn_unused_result));

// A MOTION message: the whole buffer one motion with 1 or more
// signatures, every one valid for this federation (motion_check_sigs).
int wire_motion_decode(const uint8_t *buf, size_t n, const uint8_t fed_id[HASH_BYTES],
                       motion_t *m, fs_err_t *err) __attribute__((warn_unused_result));

#endif
