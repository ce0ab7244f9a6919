/* wire.c - encoding and checking the node-to-node messages (see wire.h). */
#include "node/fed/wire.h"

#include <string.h>

#include "crypto/sigmsg.h"
#include "ledger/block.h"

static const char *const s_names[WIRE_TYPE_COUNT] = {
    "?", "hello", "block", "update", "join", "leave", "sync-request", "sync-reply", "propose",
    "vote", "promise", "motion",
};

const char *wire_type_name(int type)
{
    return type > 0 && type < WIRE_TYPE_COUNT ? s_names[type] : "unknown";
}

static void s_put_peer(bytes_writer_t *w, const wire_peer_t *p)
{
    block_put_identity(w, &p->id);
    size_t n = strlen(p->endpoint);
    bytes_put_u16(w, (uint16_t)n);
    bytes_put(w, p->endpoint, n);
}

static int s_get_peer(bytes_reader_t *r, wire_peer_t *p, fs_err_t *err)
{
    if (block_get_identity(r, &p->id, err) < 0) {
        return FS_ECORRUPT;
    }
    uint16_t n = bytes_get_u16(r);
    if (n > WIRE_ENDPOINT_MAX) {
        return fs_err_set(err, FS_ECORRUPT, "endpoint of %u bytes (at most %d)", n,
                          WIRE_ENDPOINT_MAX);
    }
    bytes_get(r, p->endpoint, n);
    p->endpoint[n] = 0;
    if (r->short_read || memchr(p->endpoint, 0, n)) {
        return fs_err_set(err, FS_ECORRUPT, "endpoint truncated or holds a NUL");
    }
    return 0;
}

void wire_hello_encode(bytes_writer_t *w, const wire_hello_t *h, const uint8_t fed_id[HASH_BYTES],
                       const identity_t *me)
{
    size_t start = sigmsg_begin(w, SIGMSG_HELLO, fed_id, h->height, me);
    s_put_peer(w, &h->me);
    bytes_put(w, h->head, HASH_BYTES);
    bytes_put_u8(w, h->n_peers);
    for (int i = 0; i < h->n_peers; i++) {
        s_put_peer(w, &h->peers[i]);
        bytes_put_u8(w, h->peers[i].heard);
    }
    sigmsg_finish(w, start, me);
}

int wire_hello_decode(const uint8_t *buf, size_t n, const uint8_t fed_id[HASH_BYTES],
                      wire_hello_t *h, fs_err_t *err)
{
    sigmsg_t m;
    int rc = sigmsg_decode(buf, n, WIRE_HELLO_MAX_BYTES, &m, err);
    if (rc < 0 || (rc = sigmsg_check_version(&m, err)) < 0) {
        return fs_err_prefix(err, rc, "hello: ");
    }
    if (m.type != SIGMSG_HELLO) {
        return fs_err_set(err, FS_ECORRUPT, "hello: a %s message", sigmsg_type_name(m.type));
    }
    if (memcmp(m.fed_id, fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "hello: from another federation");
    }
    bytes_reader_t r;
    bytes_reader_init(&r, m.body, m.body_len);
    memset(h, 0, sizeof *h);
    h->height = m.round;
    if ((rc = s_get_peer(&r, &h->me, err)) < 0) {
        return fs_err_prefix(err, rc, "hello: sender: ");
    }
    bytes_get(&r, h->head, HASH_BYTES);
    h->n_peers = bytes_get_u8(&r);
    if (h->n_peers > WIRE_HELLO_MAX_PEERS) {
        return fs_err_set(err, FS_ECORRUPT, "hello: %u peers listed (at most %d)", h->n_peers,
                          WIRE_HELLO_MAX_PEERS);
    }
    for (int i = 0; i < h->n_peers; i++) {
        if ((rc = s_get_peer(&r, &h->peers[i], err)) < 0) {
            return fs_err_prefix(err, rc, "hello: peer %d: ", i);
        }
        h->peers[i].heard = bytes_get_u8(&r);
    }
    if (r.short_read || bytes_remaining(&r) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "hello: body length does not match its fields");
    }
    if (memcmp(m.signer, h->me.id.sign_pk, IDENTITY_KEY_BYTES) != 0) {
        return fs_err_set(err, FS_EVERIFY, "hello: signed by a key other than the one it "
                          "announces");
    }
    if ((rc = sigmsg_verify(&m, err)) < 0) {
        return fs_err_prefix(err, rc, "hello from %s: ", h->me.id.name);
    }
    return 0;
}

void wire_block_encode(bytes_writer_t *w, const uint8_t *rec, size_t rec_len, const float *model,
                       size_t count)
{
    bytes_put_u32(w, (uint32_t)rec_len);
    bytes_put(w, rec, rec_len);
    bytes_put_u32(w, (uint32_t)count);
    bytes_put(w, model, count * sizeof(float));
}

int wire_block_decode(const uint8_t *buf, size_t n, const uint8_t **rec, size_t *rec_len,
                      const uint8_t **model, size_t *count, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    uint32_t len = bytes_get_u32(&r);
    if (len > BLOCK_MAX_BYTES) {
        return fs_err_set(err, FS_ETOOBIG, "block message: record of %u bytes (at most %u)", len,
                          BLOCK_MAX_BYTES);
    }
    *rec = bytes_view(&r, len);
    *rec_len = len;
    uint32_t c = bytes_get_u32(&r);
    if (r.short_read || bytes_remaining(&r) != (size_t)c * sizeof(float)) {
        return fs_err_set(err, FS_ECORRUPT, "block message: %zu bytes, which do not hold a "
                          "record and a model of the declared sizes", n);
    }
    *model = bytes_view(&r, (size_t)c * sizeof(float));
    *count = c;
    return 0;
}

void wire_sync_begin(bytes_writer_t *w, size_t *count_at)
{
    *count_at = w->len;
    bytes_put_u32(w, 0);
}

void wire_sync_add(bytes_writer_t *w, size_t count_at, const uint8_t *rec, size_t n)
{
    bytes_patch_u32(w, count_at, bytes_load_u32(w->data + count_at) + 1);
    bytes_put_u32(w, (uint32_t)n);
    bytes_put(w, rec, n);
}

void wire_sync_end(bytes_writer_t *w, const float *model, size_t count)
{
    bytes_put_u32(w, (uint32_t)count);
    if (count) {
        bytes_put(w, model, count * sizeof(float));
    }
}

int wire_sync_decode(const uint8_t *buf, size_t n, wire_sync_t *s, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    memset(s, 0, sizeof *s);
    s->k = bytes_get_u32(&r);
    if (s->k > WIRE_SYNC_MAX_RECORDS) {
        return fs_err_set(err, FS_ECORRUPT, "sync reply: %u records (at most %d)", s->k,
                          WIRE_SYNC_MAX_RECORDS);
    }
    for (uint32_t i = 0; i < s->k; i++) {
        uint32_t len = bytes_get_u32(&r);
        if (len > BLOCK_MAX_BYTES) {
            return fs_err_set(err, FS_ETOOBIG, "sync reply: record %u of %u bytes", i, len);
        }
        s->rec[i] = bytes_view(&r, len);
        s->len[i] = len;
    }
    uint32_t c = bytes_get_u32(&r);
    if (r.short_read || bytes_remaining(&r) < (size_t)c * sizeof(float)) {
        return fs_err_set(err, FS_ECORRUPT, "sync reply: lengths do not match the %zu bytes", n);
    }
    s->count = c;
    s->model = c ? bytes_view(&r, (size_t)c * sizeof(float)) : NULL;
    if (bytes_remaining(&r) > 0) {
        s->has_cert = 1;
        if (witness_cert_decode(&r, &s->cert, err) < 0 || bytes_remaining(&r) != 0) {
            return fs_err_set(err, FS_ECORRUPT, "sync reply: the bytes after the model are "
                              "not one certificate");
        }
    }
    return 0;
}

void wire_sync_cert(bytes_writer_t *w, const witness_cert_t *cert)
{
    witness_cert_encode(w, cert);
}

// The block part shared by PROPOSE and PROMISE (a BLOCK message's bytes).
static int s_block_part(bytes_reader_t *r, wire_witness_t *m, const char *what, fs_err_t *err)
{
    size_t left = bytes_remaining(r);
    const uint8_t *rest = bytes_view(r, left);
    if (!rest || wire_block_decode(rest, left, &m->rec, &m->rec_len, &m->model, &m->count,
                                   err) < 0) {
        return fs_err_set(err, FS_ECORRUPT, "%s: the block part is malformed", what);
    }
    if (m->rec_len == 0) {
        m->rec = NULL;
    }
    return 0;
}

void wire_propose_encode(bytes_writer_t *w, uint32_t ballot,
                         const uint8_t sig[IDENTITY_SIG_BYTES], const uint8_t *rec,
                         size_t rec_len, const float *model, size_t count)
{
    bytes_put_u32(w, ballot);
    bytes_put(w, sig, IDENTITY_SIG_BYTES);
    wire_block_encode(w, rec, rec_len, model, count);
}

int wire_propose_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    memset(m, 0, sizeof *m);
    m->ballot = bytes_get_u32(&r);
    bytes_get(&r, m->sig, IDENTITY_SIG_BYTES);
    if (r.short_read) {
        return fs_err_set(err, FS_ECORRUPT, "proposal: %zu bytes, too short", n);
    }
    int rc = s_block_part(&r, m, "proposal", err);
    if (rc == 0 && !m->rec) {
        return fs_err_set(err, FS_ECORRUPT, "proposal: no block");
    }
    return rc;
}

#define WIRE_VOTE_BYTES (8 + 4 + HASH_BYTES + IDENTITY_KEY_BYTES + IDENTITY_SIG_BYTES)

void wire_vote_encode(bytes_writer_t *w, const wire_witness_t *m)
{
    bytes_put_u64(w, m->height);
    bytes_put_u32(w, m->ballot);
    bytes_put(w, m->hash, HASH_BYTES);
    bytes_put(w, m->key, IDENTITY_KEY_BYTES);
    bytes_put(w, m->sig, IDENTITY_SIG_BYTES);
}

int wire_vote_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
{
    if (n != WIRE_VOTE_BYTES) {
        return fs_err_set(err, FS_ECORRUPT, "vote: %zu bytes, expected %d", n, WIRE_VOTE_BYTES);
    }
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    memset(m, 0, sizeof *m);
    m->height = bytes_get_u64(&r);
    m->ballot = bytes_get_u32(&r);
    bytes_get(&r, m->hash, HASH_BYTES);
    bytes_get(&r, m->key, IDENTITY_KEY_BYTES);
    bytes_get(&r, m->sig, IDENTITY_SIG_BYTES);
    return 0;
}

void wire_promise_encode(bytes_writer_t *w, const wire_witness_t *m, const float *model)
{
    bytes_put_u64(w, m->height);
    bytes_put_u32(w, m->ballot);
    bytes_put(w, m->key, IDENTITY_KEY_BYTES);
    bytes_put_u32(w, m->voted_ballot);
    bytes_put(w, m->hash, HASH_BYTES);
    bytes_put(w, m->sig, IDENTITY_SIG_BYTES);
    wire_block_encode(w, m->rec, m->rec ? m->rec_len : 0, model, model ? m->count : 0);
}

int wire_promise_decode(const uint8_t *buf, size_t n, wire_witness_t *m, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    memset(m, 0, sizeof *m);
    m->height = bytes_get_u64(&r);
    m->ballot = bytes_get_u32(&r);
    bytes_get(&r, m->key, IDENTITY_KEY_BYTES);
    m->voted_ballot = bytes_get_u32(&r);
    bytes_get(&r, m->hash, HASH_BYTES);
    bytes_get(&r, m->sig, IDENTITY_SIG_BYTES);
    if (r.short_read) {
        return fs_err_set(err, FS_ECORRUPT, "promise: %zu bytes, too short", n);
    }
    int rc = s_block_part(&r, m, "promise", err);
    if (rc == 0 && (m->voted_ballot != WITNESS_NONE) != (m->rec != NULL)) {
        return fs_err_set(err, FS_ECORRUPT, "promise: a vote is reported without its block, "
                          "or a block without a vote");
    }
    return rc;
}

int wire_motion_decode(const uint8_t *buf, size_t n, const uint8_t fed_id[HASH_BYTES],
                       motion_t *m, fs_err_t *err)
{
    bytes_reader_t r;
    bytes_reader_init(&r, buf, n);
    if (motion_decode(&r, m, err) < 0) {
        return FS_ECORRUPT;
    }
    if (bytes_remaining(&r) != 0) {
        return fs_err_set(err, FS_ECORRUPT, "motion: %zu unexpected bytes at the end",
                          bytes_remaining(&r));
    }
    if (m->n == 0) {
        return fs_err_set(err, FS_ECORRUPT, "motion: no signature");
    }
    return motion_check_sigs(m, fed_id, err);
}
