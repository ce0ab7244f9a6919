/* witness_io.c - majority-witnessed blocks, the node's side (witness_io.h). */
#include "node/fed/witness_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "ledger/assemble.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/archive.h"
#include "node/fed/global.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"

#define ACCEPTOR_MAGIC "FSYNWACC"
#define CERTS_MAGIC "FSYNWCRT"
#define WITNESS_FILE_MAX (BLOCK_MAX_BYTES + 4096) // one block and a header; two certificates

struct witness_io {
    const identity_t *me;
    const identity_pub_t *pub;
    store_t *store;
    mesh_t *mesh;
    finality_t *fin;
    // the durable acceptor state as last read or written
    fin_acceptor_t acc;
    uint8_t *acc_rec;
    size_t acc_rec_n;
    // the last two final blocks' certificates (durable)
    witness_cert_t cert[2];
    uint8_t cert_hash[2][HASH_BYTES];
    uint64_t cert_height[2];
    int cert_have[2], cert_next;
};

void witness_final_free(witness_final_t *f)
{
    free(f->rec);
    free(f->cert);
    free(f->model);
    memset(f, 0, sizeof *f);
}

static void s_path(const witness_io_t *self, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/witness%s%s", store_dir(self->store), name[0] ? "/" : "", name);
}

static int s_write(const witness_io_t *self, const char *name, const bytes_writer_t *w,
                   fs_err_t *err)
{
    char path[CONFIG_PATH_MAX + 64];
    s_path(self, "", path, sizeof path);
    if (fsio_mkdirs(path, err) < 0) {
        return FS_EIO;
    }
    s_path(self, name, path, sizeof path);
    return fsio_write_atomic(path, w->data, w->len, 0644, err);
}

// ------------------------------------------------------- the durable files

static int s_save_acceptor(witness_io_t *self, fs_err_t *err)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, ACCEPTOR_MAGIC, 8);
    bytes_put_u64(&w, self->acc.height);
    bytes_put_u32(&w, self->acc.promised);
    bytes_put_u32(&w, self->acc.voted_ballot);
    bytes_put(&w, self->acc.voted_hash, HASH_BYTES);
    bytes_put_u32(&w, (uint32_t)self->acc_rec_n);
    bytes_put(&w, self->acc_rec, self->acc_rec_n);
    int rc = s_write(self, "acceptor", &w, err);
    bytes_writer_reset(&w);
    return rc;
}

static int s_save_certs(witness_io_t *self, fs_err_t *err)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    bytes_put(&w, CERTS_MAGIC, 8);
    bytes_put_u8(&w, (uint8_t)(self->cert_have[0] + self->cert_have[1]));
    for (int k = 0; k < 2; k++) {
        if (self->cert_have[k]) {
            bytes_put_u64(&w, self->cert_height[k]);
            bytes_put(&w, self->cert_hash[k], HASH_BYTES);
            witness_cert_encode(&w, &self->cert[k]);
        }
    }
    int rc = s_write(self, "certs", &w, err);
    bytes_writer_reset(&w);
    return rc;
}

// Reads DIR/witness/NAME into *data (NULL, 0 when there is none).
static int s_read(const witness_io_t *self, const char *name, uint8_t **data, size_t *n,
                  fs_err_t *err)
{
    char path[CONFIG_PATH_MAX + 64];
    s_path(self, name, path, sizeof path);
    *data = NULL;
    *n = 0;
    if (access(path, F_OK) != 0) {
        return 0;
    }
    return fsio_read_all(path, WITNESS_FILE_MAX, data, n, err);
}

static int s_load(witness_io_t *self, fs_err_t *err)
{
    char path[CONFIG_PATH_MAX + 64];
    uint8_t *data;
    size_t n;
    int rc = s_read(self, "acceptor", &data, &n, err);
    if (rc == 0 && data) {
        bytes_reader_t r;
        bytes_reader_init(&r, data, n);
        const uint8_t *magic = bytes_view(&r, 8);
        self->acc.height = bytes_get_u64(&r);
        self->acc.promised = bytes_get_u32(&r);
        self->acc.voted_ballot = bytes_get_u32(&r);
        bytes_get(&r, self->acc.voted_hash, HASH_BYTES);
        uint32_t k = bytes_get_u32(&r);
        const uint8_t *rec = bytes_view(&r, k);
        if (!magic || memcmp(magic, ACCEPTOR_MAGIC, 8) != 0 || !rec || bytes_remaining(&r)) {
            s_path(self, "acceptor", path, sizeof path);
            rc = fs_err_set(err, FS_ECORRUPT, "%s is damaged: it holds what this member "
                            "promised and voted, and without it the node could vote twice; "
                            "if no block was made since it was written, move it aside and "
                            "start again", path);
        } else if (k) {
            self->acc_rec = xmalloc(k);
            memcpy(self->acc_rec, rec, k);
            self->acc_rec_n = k;
        }
        free(data);
    }
    if (rc < 0) {
        return rc;
    }
    rc = s_read(self, "certs", &data, &n, err);
    if (rc == 0 && data) {
        bytes_reader_t r;
        bytes_reader_init(&r, data, n);
        const uint8_t *magic = bytes_view(&r, 8);
        unsigned count = bytes_get_u8(&r);
        int ok = magic && memcmp(magic, CERTS_MAGIC, 8) == 0 && count <= 2;
        for (unsigned k = 0; ok && k < count; k++) {
            self->cert_height[k] = bytes_get_u64(&r);
            bytes_get(&r, self->cert_hash[k], HASH_BYTES);
            ok = witness_cert_decode(&r, &self->cert[k], NULL) == 0;
            self->cert_have[k] = ok;
        }
        self->cert_next = count == 1;
        free(data);
        if (!ok || bytes_remaining(&r)) {
            // not fatal: the head's certificate is also its successor's
            // commit, and peers serve it; this node only waits for it
            s_path(self, "certs", path, sizeof path);
            log_warn("%s is damaged: ignored (the head's certificate comes again from a "
                     "peer's sync reply)", path);
            memset(self->cert_have, 0, sizeof self->cert_have);
        }
    }
    return rc;
}

witness_io_t *witness_io_new(const identity_t *me, store_t *store, mesh_t *mesh, fs_err_t *err)
{
    witness_io_t *self = xcalloc(1, sizeof *self);
    self->me = me;
    self->pub = identity_public(me);
    self->store = store;
    self->mesh = mesh;
    self->acc.voted_ballot = WITNESS_NONE;
    if (s_load(self, err) < 0) {
        witness_io_destroy(&self);
        return NULL;
    }
    self->fin = finality_new(me, store_fed_id(store));
    return self;
}

void witness_io_destroy(witness_io_t **self_p)
{
    witness_io_t *self = *self_p;
    if (self) {
        finality_destroy(&self->fin);
        free(self->acc_rec);
        free(self);
        *self_p = NULL;
    }
}

static const witness_cert_t *s_cert_of(const witness_io_t *self, const uint8_t hash[HASH_BYTES])
{
    for (int k = 0; k < 2; k++) {
        if (self->cert_have[k] && memcmp(self->cert_hash[k], hash, HASH_BYTES) == 0) {
            return &self->cert[k];
        }
    }
    return NULL;
}

const witness_cert_t *witness_io_head_cert(const witness_io_t *self)
{
    return s_cert_of(self, store_state(self->store)->head_hash);
}

int witness_io_keep_cert(witness_io_t *self, uint64_t height, const uint8_t hash[HASH_BYTES],
                         const witness_cert_t *cert, fs_err_t *err)
{
    if (s_cert_of(self, hash)) {
        return 0;
    }
    int k = self->cert_next;
    self->cert[k] = *cert;
    memcpy(self->cert_hash[k], hash, HASH_BYTES);
    self->cert_height[k] = height;
    self->cert_have[k] = 1;
    self->cert_next = 1 - k;
    return s_save_certs(self, err);
}

void witness_io_status(const witness_io_t *self, fin_status_t *out)
{
    finality_status(self->fin, out);
}

// ------------------------------------------------------------- the actions

// The durable model of a block record (models/HASH.fsm), or NULL.
static float *s_model_of(const witness_io_t *self, const uint8_t *rec, size_t n)
{
    uint8_t mh[HASH_BYTES];
    if (block_record_model_hash(rec, n, mh, NULL) < 0) {
        return NULL;
    }
    char path[CONFIG_PATH_MAX + 100];
    archive_path(store_dir(self->store), mh, path, sizeof path);
    float *w = xmalloc(store_model_size(self->store) * sizeof(float));
    fs_err_t err = {0};
    if (global_load(path, store_arch(self->store), w, mh, &err) < 0) {
        free(w);
        return NULL;
    }
    return w;
}

// Performs the actions in order; -1 (and nothing after it) when what a
// PERSIST asks could not be written: then no promise or vote may leave.
static int s_perform(witness_io_t *self, const fin_actions_t *acts, witness_final_t *out)
{
    char nb[9];
    for (int k = 0; k < acts->n; k++) {
        const fin_action_t *a = &acts->act[k];
        bytes_writer_t w;
        wire_witness_t m;
        memset(&m, 0, sizeof m);
        switch (a->kind) {
        case FIN_ACT_PERSIST: {
            const uint8_t *rec;
            size_t n;
            self->acc = *finality_acceptor(self->fin, &rec, &n);
            free(self->acc_rec);
            self->acc_rec = NULL;
            self->acc_rec_n = 0;
            if (rec) {
                self->acc_rec = xmalloc(n);
                memcpy(self->acc_rec, rec, n);
                self->acc_rec_n = n;
            }
            fs_err_t err = {0};
            if (s_save_acceptor(self, &err) < 0) {
                // not durable: say nothing (a promise or vote not kept
                // could be broken after a crash)
                log_warn("height %llu: cannot write what this member promised and voted "
                         "(%s): sending no promise or vote", (unsigned long long)a->height,
                         err.msg);
                return -1;
            }
            break;
        }
        case FIN_ACT_PROMISE: {
            m.height = a->height;
            m.ballot = a->ballot;
            memcpy(m.key, self->pub->sign_pk, IDENTITY_KEY_BYTES);
            m.voted_ballot = a->voted_ballot;
            memcpy(m.hash, a->hash, HASH_BYTES);
            memcpy(m.sig, a->sig, IDENTITY_SIG_BYTES);
            float *model = NULL;
            if (a->rec) {
                m.rec = a->rec;
                m.rec_len = a->rec_n;
                model = s_model_of(self, a->rec, a->rec_n);
                m.count = model ? store_model_size(self->store) : 0;
                if (!model) {
                    log_warn("height %llu: the model of the block this member voted for is "
                             "not on disk; its promise cannot carry it",
                             (unsigned long long)a->height);
                    break;
                }
            }
            bytes_writer_init(&w);
            wire_promise_encode(&w, &m, model);
            mesh_broadcast(self->mesh, WIRE_PROMISE, w.data, w.len, -1, 1, 0);
            bytes_writer_reset(&w);
            free(model);
            log_info("height %llu: attempt %u promised%s", (unsigned long long)a->height,
                     a->ballot, a->rec ? " (naming the block it voted for)" : "");
            break;
        }
        case FIN_ACT_VOTE:
            m.height = a->height;
            m.ballot = a->ballot;
            memcpy(m.hash, a->hash, HASH_BYTES);
            memcpy(m.key, self->pub->sign_pk, IDENTITY_KEY_BYTES);
            memcpy(m.sig, a->sig, IDENTITY_SIG_BYTES);
            bytes_writer_init(&w);
            wire_vote_encode(&w, &m);
            mesh_broadcast(self->mesh, WIRE_VOTE, w.data, w.len, -1, 0, 0);
            bytes_writer_reset(&w);
            log_debug("height %llu: voted for %s at attempt %u", (unsigned long long)a->height,
                      (hash_short(a->hash, nb), nb), a->ballot);
            break;
        case FIN_ACT_FINAL:
            out->rec = xmalloc(a->rec_n);
            memcpy(out->rec, a->rec, a->rec_n);
            out->n = a->rec_n;
            out->cert = xmalloc(sizeof *out->cert);
            *out->cert = *a->cert;
            out->model = s_model_of(self, out->rec, out->n);
            return 0;
        default: break;
        }
    }
    return 0;
}

static void s_enter(witness_io_t *self, const round_t *rs, uint32_t attempt,
                    witness_final_t *out)
{
    const uint8_t *agg = round_aggregator(rs, attempt);
    int lead = agg && memcmp(agg, self->pub->sign_pk, IDENTITY_KEY_BYTES) == 0;
    fin_actions_t acts;
    finality_enter_ballot(self->fin, attempt, lead, &acts);
    s_perform(self, &acts, out);
}

void witness_io_enter(witness_io_t *self, round_t *rs, witness_final_t *out)
{
    finality_begin(self->fin, store_state(self->store));
    finality_restore(self->fin, &self->acc, self->acc_rec, self->acc_rec_n); // this height's
    fin_status_t fs;
    finality_status(self->fin, &fs);
    if (fs.promised > rs->attempt) {
        while (round_jump(rs, fs.promised, now_mono_ms())) {
        }
        log_info("round %llu: resumes at attempt %u, which this member promised before it "
                 "stopped", (unsigned long long)rs->round, rs->attempt);
    }
    s_enter(self, rs, rs->attempt, out);
}

void witness_io_attempt(witness_io_t *self, const round_t *rs, uint32_t attempt,
                        witness_final_t *out)
{
    s_enter(self, rs, attempt, out);
}

// Sends a proposal of rec (model w) at the round's attempt: our vote first,
// durably, then the block with our signature as the attempt's aggregator.
static void s_propose(witness_io_t *self, round_t *rs, const uint8_t *rec, size_t n,
                      const float *w, witness_final_t *out)
{
    uint32_t ballot = rs->attempt;
    uint64_t height = store_height(self->store);
    round_mark_proposed(rs);
    fs_err_t err = {0};
    if (ledger_state_check_next(store_state(self->store), rec, n, NULL, &err) < 0) {
        log_error("round %llu: our own block is not valid, not proposed: %s",
                  (unsigned long long)height, err.msg);
        return;
    }
    uint8_t hash[HASH_BYTES], digest[HASH_BYTES], sig[IDENTITY_SIG_BYTES];
    block_hash(rec, n, hash);
    fin_actions_t acts;
    finality_on_proposal(self->fin, ballot, hash, rec, n, &acts);
    int k = 0;
    if (acts.n > 0 && acts.act[0].kind == FIN_ACT_PERSIST) {
        fin_actions_t first = {.n = 1, .act = {acts.act[0]}};
        witness_final_t none = {0};
        if (s_perform(self, &first, &none) < 0) {
            return; // our vote is not durable: the proposal is not sent
        }
        k = 1;
    }
    witness_propose_digest(store_fed_id(self->store), height, ballot, hash, digest);
    identity_sign(self->me, digest, sig);
    bytes_writer_t msg;
    bytes_writer_init(&msg);
    wire_propose_encode(&msg, ballot, sig, rec, n, w, store_model_size(self->store));
    mesh_broadcast(self->mesh, WIRE_PROPOSE, msg.data, msg.len, -1, 1, 0);
    bytes_writer_reset(&msg);
    log_info("round %llu: block proposed at attempt %u to %zu peers; waiting for a majority "
             "of the %zu members to witness it", (unsigned long long)height, ballot,
             mesh_peer_count(self->mesh), keyring_size(rs->members));
    fin_actions_t rest = {.n = 0};
    for (; k < acts.n; k++) {
        rest.act[rest.n++] = acts.act[k];
    }
    s_perform(self, &rest, out);
}

void witness_io_propose(witness_io_t *self, round_t *rs, const uint8_t *rec, size_t n,
                        const float *w, witness_final_t *out)
{
    s_propose(self, rs, rec, n, w, out);
}

int witness_io_close(witness_io_t *self, round_t *rs, witness_final_t *out)
{
    const uint8_t *rec;
    size_t n;
    fin_proposal_t p = finality_may_propose(self->fin, rs->attempt, &rec, &n);
    if (p != FIN_REPROPOSE) {
        return p == FIN_OWN;
    }
    uint8_t *copy = xmalloc(n);
    memcpy(copy, rec, n);
    float *w = s_model_of(self, copy, n);
    if (w) {
        log_info("round %llu: attempt %u proposes again the block a majority may have chosen "
                 "in an earlier attempt", (unsigned long long)store_height(self->store),
                 rs->attempt);
        s_propose(self, rs, copy, n, w, out);
    } else {
        round_mark_proposed(rs);
        log_warn("round %llu: attempt %u must propose again a block of an earlier attempt, "
                 "but its model is not on disk", (unsigned long long)store_height(self->store),
                 rs->attempt);
    }
    free(w);
    free(copy);
    return 0;
}

// ---------------------------------------------------------- the messages

static void s_on_propose(witness_io_t *self, const uint8_t *data, size_t n, int from,
                         uint32_t *jump, witness_final_t *out)
{
    const char *who = mesh_peer_name(self->mesh, from);
    wire_witness_t m;
    fs_err_t err = {0};
    sigmsg_t sm;
    if (wire_propose_decode(data, n, &m, &err) < 0 ||
        sigmsg_decode(m.rec, m.rec_len, BLOCK_MAX_BYTES, &sm, &err) < 0) {
        log_warn("proposal from %s refused: %s", who, err.msg);
        return;
    }
    uint64_t height = store_height(self->store);
    if (sm.round != height) {
        if (sm.round > height) {
            mesh_sync_request(self->mesh, from, height); // we are behind
        }
        return;
    }
    uint8_t agg[IDENTITY_KEY_BYTES], hash[HASH_BYTES], digest[HASH_BYTES];
    block_hash(m.rec, m.rec_len, hash);
    witness_propose_digest(store_fed_id(self->store), height, m.ballot, hash, digest);
    if (assemble_aggregator(store_state(self->store), m.ballot, agg) < 0 ||
        identity_verify(agg, digest, m.sig) != 0) {
        log_warn("proposal from %s refused: not signed by the aggregator of attempt %u", who,
                 m.ballot);
        return;
    }
    if (ledger_state_check_next(store_state(self->store), m.rec, m.rec_len, NULL, &err) < 0) {
        log_warn("proposal from %s refused: %s", who, err.msg);
        return;
    }
    uint8_t mh[HASH_BYTES];
    float *w = NULL;
    if (block_record_model_hash(m.rec, m.rec_len, mh, NULL) < 0 ||
        !(w = store_model_check(self->store, m.model, m.count, mh))) {
        log_warn("proposal from %s refused: its model does not hash to the block's", who);
        return;
    }
    // the model durable before our vote: a majority then holds it
    int rc = store_make_durable(self->store, w, height, mh, &err);
    free(w);
    if (rc < 0) {
        // out of descriptors, say: others decide it, and we sync it
        log_warn("proposal of round %llu: %s; not voting for it", (unsigned long long)height,
                 err.msg);
        return;
    }
    *jump = m.ballot;
    fin_actions_t acts;
    finality_on_proposal(self->fin, m.ballot, hash, m.rec, m.rec_len, &acts);
    s_perform(self, &acts, out);
}

static void s_on_vote(witness_io_t *self, const uint8_t *data, size_t n, int from,
                      uint32_t *jump, witness_final_t *out)
{
    wire_witness_t m;
    fs_err_t err = {0};
    if (wire_vote_decode(data, n, &m, &err) < 0) {
        log_warn("vote from %s refused: %s", mesh_peer_name(self->mesh, from), err.msg);
        return;
    }
    uint64_t height = store_height(self->store);
    if (m.height != height) {
        if (m.height > height) {
            mesh_sync_request(self->mesh, from, height);
        }
        return;
    }
    uint8_t digest[HASH_BYTES];
    witness_vote_digest(store_fed_id(self->store), height, m.ballot, m.hash, digest);
    if (identity_verify(m.key, digest, m.sig) != 0) {
        log_warn("vote from %s refused: bad signature", mesh_peer_name(self->mesh, from));
        return;
    }
    fin_actions_t acts;
    if (finality_on_vote(self->fin, m.key, m.ballot, m.hash, m.sig, &acts)) {
        *jump = m.ballot;
    }
    s_perform(self, &acts, out);
}

static void s_on_promise(witness_io_t *self, const uint8_t *data, size_t n, int from,
                         uint32_t *jump)
{
    const char *who = mesh_peer_name(self->mesh, from);
    wire_witness_t m;
    fs_err_t err = {0};
    if (wire_promise_decode(data, n, &m, &err) < 0) {
        log_warn("promise from %s refused: %s", who, err.msg);
        return;
    }
    uint64_t height = store_height(self->store);
    if (m.height != height) {
        return;
    }
    uint8_t digest[HASH_BYTES];
    witness_promise_digest(store_fed_id(self->store), height, m.ballot, m.voted_ballot, m.hash,
                           digest);
    if (identity_verify(m.key, digest, m.sig) != 0) {
        log_warn("promise from %s refused: bad signature", who);
        return;
    }
    if (m.rec) {
        // the block it voted for: valid, named by the promise, its model
        // durable here (we may have to propose it again)
        uint8_t h[HASH_BYTES], mh[HASH_BYTES];
        float *w = NULL;
        block_hash(m.rec, m.rec_len, h);
        if (memcmp(h, m.hash, HASH_BYTES) != 0 ||
            ledger_state_check_next(store_state(self->store), m.rec, m.rec_len, NULL, &err) < 0 ||
            block_record_model_hash(m.rec, m.rec_len, mh, NULL) < 0 ||
            !(w = store_model_check(self->store, m.model, m.count, mh)) ||
            store_make_durable(self->store, w, height, mh, &err) < 0) {
            log_warn("promise from %s refused: the block it names %s", who,
                     err.msg[0] ? err.msg : "does not match it or its model");
            free(w);
            return;
        }
        free(w);
    }
    finality_on_promise(self->fin, m.key, m.ballot, m.voted_ballot, m.hash, m.rec, m.rec_len);
    *jump = m.ballot;
}

void witness_io_on_message(witness_io_t *self, const round_t *rs, int type, const uint8_t *data,
                           size_t n, int from, uint32_t *jump, witness_final_t *out)
{
    (void)rs;
    *jump = 0;
    switch (type) {
    case WIRE_PROPOSE: s_on_propose(self, data, n, from, jump, out); break;
    case WIRE_VOTE: s_on_vote(self, data, n, from, jump, out); break;
    case WIRE_PROMISE: s_on_promise(self, data, n, from, jump); break;
    default: break;
    }
}
