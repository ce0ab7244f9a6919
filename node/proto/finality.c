/* finality.c - one Paxos instance per height (finality.h). */
#include "node/proto/finality.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/mem.h"

typedef struct {
    uint8_t hash[HASH_BYTES];
    uint8_t *rec; // owned
    size_t n;
} fin_block_t;

typedef struct {
    int have;
    uint32_t ballot, voted_ballot;
    uint8_t voted_hash[HASH_BYTES];
} fin_promise_t;

typedef struct {
    uint32_t ballot;
    uint8_t hash[HASH_BYTES];
    witness_cert_t cert; // the votes so far
} fin_tally_t;

struct finality {
    const identity_t *me;
    uint8_t fed_id[HASH_BYTES];
    uint64_t height;
    size_t n_voters;
    uint8_t voters[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES]; // ascending
    int me_voter;
    fin_acceptor_t acc;
    fin_block_t voted;                        // the block of acc.voted_hash
    fin_block_t blocks[FIN_MAX_BLOCKS];       // proposals seen (a ring)
    int next_block;
    fin_promise_t promise[LEDGER_MAX_MEMBERS]; // per voter, the highest ballot's
    fin_block_t promised_block[LEDGER_MAX_MEMBERS];
    int lead;                                 // this node leads acc.promised's ballot
    fin_tally_t tally[FIN_MAX_TALLIES];
    int n_tally;
    int decided;
};

static const char *s_names[] = {"?", "persist", "promise", "vote", "final"};

const char *finality_action_name(int kind)
{
    return kind > 0 && kind < FIN_ACT_COUNT ? s_names[kind] : "?";
}

static void s_block_clear(fin_block_t *b)
{
    free(b->rec);
    b->rec = NULL;
    b->n = 0;
}

static void s_block_set(fin_block_t *b, const uint8_t hash[HASH_BYTES], const uint8_t *rec,
                        size_t n)
{
    if (b->rec && memcmp(b->hash, hash, HASH_BYTES) == 0) {
        return;
    }
    s_block_clear(b);
    memcpy(b->hash, hash, HASH_BYTES);
    b->rec = xmalloc(n ? n : 1);
    memcpy(b->rec, rec, n);
    b->n = n;
}

finality_t *finality_new(const identity_t *me, const uint8_t fed_id[HASH_BYTES])
{
    finality_t *self = xcalloc(1, sizeof *self);
    self->me = me;
    memcpy(self->fed_id, fed_id, HASH_BYTES);
    self->acc.voted_ballot = WITNESS_NONE;
    return self;
}

static void s_clear_height(finality_t *self)
{
    s_block_clear(&self->voted);
    for (int i = 0; i < FIN_MAX_BLOCKS; i++) {
        s_block_clear(&self->blocks[i]);
    }
    for (size_t i = 0; i < LEDGER_MAX_MEMBERS; i++) {
        s_block_clear(&self->promised_block[i]);
    }
    memset(self->promise, 0, sizeof self->promise);
    self->n_tally = 0;
    self->decided = 0;
    self->lead = 0;
}

void finality_destroy(finality_t **self_p)
{
    if (*self_p) {
        s_clear_height(*self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_voter(const finality_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    for (size_t i = 0; i < self->n_voters; i++) {
        if (memcmp(self->voters[i], key, IDENTITY_KEY_BYTES) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void finality_begin(finality_t *self, const ledger_state_t *st)
{
    s_clear_height(self);
    self->height = st->height;
    self->n_voters = ledger_state_active(st, self->voters);
    self->me_voter = s_voter(self, identity_public(self->me)->sign_pk) >= 0;
    self->acc = (fin_acceptor_t){.height = st->height, .voted_ballot = WITNESS_NONE};
}

void finality_restore(finality_t *self, const fin_acceptor_t *acc, const uint8_t *rec, size_t n)
{
    if (acc->height != self->height) {
        return;
    }
    self->acc = *acc;
    if (acc->voted_ballot != WITNESS_NONE && rec) {
        s_block_set(&self->voted, acc->voted_hash, rec, n);
    } else {
        self->acc.voted_ballot = WITNESS_NONE; // a vote without its block cannot be reported
    }
}

const fin_acceptor_t *finality_acceptor(const finality_t *self, const uint8_t **rec, size_t *n)
{
    *rec = self->voted.rec;
    *n = self->voted.n;
    return &self->acc;
}

static fin_action_t *s_emit(fin_actions_t *out, finality_t *self, fin_action_kind_t kind)
{
    fin_action_t *a = &out->act[out->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->height = self->height;
    a->voted_ballot = WITNESS_NONE;
    return a;
}

static void s_keep_promise(finality_t *self, int v, uint32_t ballot, uint32_t voted_ballot,
                           const uint8_t voted_hash[HASH_BYTES], const uint8_t *rec, size_t n)
{
    fin_promise_t *p = &self->promise[v];
    if (p->have && p->ballot >= ballot) {
        return;
    }
    *p = (fin_promise_t){.have = 1, .ballot = ballot, .voted_ballot = voted_ballot};
    if (voted_ballot != WITNESS_NONE) {
        memcpy(p->voted_hash, voted_hash, HASH_BYTES);
        s_block_set(&self->promised_block[v], voted_hash, rec, n);
    }
}

void finality_enter_ballot(finality_t *self, uint32_t ballot, int lead, fin_actions_t *out)
{
    out->n = 0;
    // Ballot 0 needs no promise; a ballot at or below one promised before
    // a restart is one this node can no longer lead.
    if (!self->me_voter || self->decided || ballot <= self->acc.promised) {
        self->lead = lead && self->me_voter && ballot == self->acc.promised;
        return;
    }
    self->acc.promised = ballot;
    self->lead = lead;
    s_emit(out, self, FIN_ACT_PERSIST);
    fin_action_t *a = s_emit(out, self, FIN_ACT_PROMISE);
    a->ballot = ballot;
    a->voted_ballot = self->acc.voted_ballot;
    if (self->acc.voted_ballot != WITNESS_NONE) {
        memcpy(a->hash, self->acc.voted_hash, HASH_BYTES);
        a->rec = self->voted.rec;
        a->rec_n = self->voted.n;
    }
    uint8_t digest[HASH_BYTES];
    witness_promise_digest(self->fed_id, self->height, ballot, a->voted_ballot, a->hash, digest);
    identity_sign(self->me, digest, a->sig);
    // this node's own promise counts towards its own ballot
    int v = s_voter(self, identity_public(self->me)->sign_pk);
    s_keep_promise(self, v, ballot, a->voted_ballot, a->hash, a->rec, a->rec_n);
}

void finality_on_promise(finality_t *self, const uint8_t from[IDENTITY_KEY_BYTES],
                         uint32_t ballot, uint32_t voted_ballot,
                         const uint8_t voted_hash[HASH_BYTES], const uint8_t *rec, size_t n)
{
    int v = s_voter(self, from);
    if (v < 0 || (voted_ballot != WITNESS_NONE && (!rec || voted_ballot >= ballot))) {
        return; // not a voter, or a vote it cannot have cast before promising
    }
    s_keep_promise(self, v, ballot, voted_ballot, voted_hash, rec, n);
}

fin_proposal_t finality_may_propose(finality_t *self, uint32_t ballot, const uint8_t **rec,
                                    size_t *n)
{
    *rec = NULL;
    *n = 0;
    if (!self->lead || self->decided || ballot != self->acc.promised) {
        return FIN_WAIT;
    }
    // One block per ballot, also across a restart: this node votes for its
    // own proposal (durably) before it sends it.
    if (self->acc.voted_ballot == ballot) {
        *rec = self->voted.rec;
        *n = self->voted.n;
        return FIN_REPROPOSE;
    }
    if (ballot == 0) {
        return FIN_OWN;
    }
    size_t got = 0;
    int best = -1;
    for (size_t v = 0; v < self->n_voters; v++) {
        const fin_promise_t *p = &self->promise[v];
        if (!p->have || p->ballot != ballot) {
            continue;
        }
        got++;
        if (p->voted_ballot != WITNESS_NONE &&
            (best < 0 || p->voted_ballot > self->promise[best].voted_ballot)) {
            best = (int)v;
        }
    }
    if (got < witness_majority(self->n_voters)) {
        return FIN_WAIT;
    }
    if (best < 0) {
        return FIN_OWN;
    }
    *rec = self->promised_block[best].rec;
    *n = self->promised_block[best].n;
    return FIN_REPROPOSE;
}

static const fin_block_t *s_find_block(const finality_t *self, const uint8_t hash[HASH_BYTES])
{
    if (self->voted.rec && memcmp(self->voted.hash, hash, HASH_BYTES) == 0) {
        return &self->voted;
    }
    for (int i = 0; i < FIN_MAX_BLOCKS; i++) {
        if (self->blocks[i].rec && memcmp(self->blocks[i].hash, hash, HASH_BYTES) == 0) {
            return &self->blocks[i];
        }
    }
    return NULL;
}

// FINAL for the first tally with a majority whose block is known.
static void s_decide(finality_t *self, fin_actions_t *out)
{
    if (self->decided) {
        return;
    }
    size_t need = witness_majority(self->n_voters);
    for (int t = 0; t < self->n_tally; t++) {
        const fin_tally_t *ty = &self->tally[t];
        const fin_block_t *b = ty->cert.n >= need ? s_find_block(self, ty->hash) : NULL;
        if (b) {
            self->decided = 1;
            fin_action_t *a = s_emit(out, self, FIN_ACT_FINAL);
            a->ballot = ty->ballot;
            memcpy(a->hash, ty->hash, HASH_BYTES);
            a->rec = b->rec;
            a->rec_n = b->n;
            a->cert = &ty->cert;
            return;
        }
    }
}

static fin_tally_t *s_tally(finality_t *self, uint32_t ballot, const uint8_t hash[HASH_BYTES])
{
    for (int t = 0; t < self->n_tally; t++) {
        if (self->tally[t].ballot == ballot && memcmp(self->tally[t].hash, hash, HASH_BYTES) == 0) {
            return &self->tally[t];
        }
    }
    int t = self->n_tally;
    if (t == FIN_MAX_TALLIES) {
        // full: the lowest ballot's tally makes room (a later ballot is the
        // one that can still decide)
        t = 0;
        for (int k = 1; k < FIN_MAX_TALLIES; k++) {
            t = self->tally[k].ballot < self->tally[t].ballot ? k : t;
        }
        if (self->tally[t].ballot >= ballot) {
            return NULL;
        }
    } else {
        self->n_tally++;
    }
    fin_tally_t *ty = &self->tally[t];
    ty->ballot = ballot;
    memcpy(ty->hash, hash, HASH_BYTES);
    ty->cert.ballot = ballot;
    ty->cert.n = 0;
    return ty;
}

int finality_on_vote(finality_t *self, const uint8_t from[IDENTITY_KEY_BYTES], uint32_t ballot,
                     const uint8_t hash[HASH_BYTES], const uint8_t sig[IDENTITY_SIG_BYTES],
                     fin_actions_t *out)
{
    out->n = 0;
    if (s_voter(self, from) < 0) {
        return 0;
    }
    fin_tally_t *ty = s_tally(self, ballot, hash);
    if (!ty || !witness_cert_add(&ty->cert, from, sig)) {
        return 0;
    }
    s_decide(self, out);
    return 1;
}

int finality_on_proposal(finality_t *self, uint32_t ballot, const uint8_t hash[HASH_BYTES],
                         const uint8_t *rec, size_t n, fin_actions_t *out)
{
    out->n = 0;
    if (!s_find_block(self, hash)) {
        s_block_set(&self->blocks[self->next_block], hash, rec, n);
        self->next_block = (self->next_block + 1) % FIN_MAX_BLOCKS;
    }
    int voted = 0;
    if (self->me_voter && !self->decided && ballot >= self->acc.promised) {
        int again = self->acc.voted_ballot == ballot &&
                    memcmp(self->acc.voted_hash, hash, HASH_BYTES) == 0;
        int fresh = self->acc.voted_ballot == WITNESS_NONE || ballot > self->acc.voted_ballot;
        if (again || fresh) {
            if (fresh) {
                self->acc.promised = ballot;
                self->acc.voted_ballot = ballot;
                memcpy(self->acc.voted_hash, hash, HASH_BYTES);
                s_block_set(&self->voted, hash, rec, n);
                s_emit(out, self, FIN_ACT_PERSIST);
            }
            fin_action_t *a = s_emit(out, self, FIN_ACT_VOTE);
            a->ballot = ballot;
            memcpy(a->hash, hash, HASH_BYTES);
            uint8_t digest[HASH_BYTES];
            witness_vote_digest(self->fed_id, self->height, ballot, hash, digest);
            identity_sign(self->me, digest, a->sig);
            // our own vote counts here as a peer's would
            fin_tally_t *ty = s_tally(self, ballot, hash);
            if (ty) {
                witness_cert_add(&ty->cert, identity_public(self->me)->sign_pk, a->sig);
            }
            voted = 1;
        }
    }
    s_decide(self, out);
    return voted;
}

void finality_status(const finality_t *self, fin_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->height = self->height;
    out->voters = self->n_voters;
    out->need = witness_majority(self->n_voters);
    out->promised = self->acc.promised;
    out->voted_ballot = self->acc.voted_ballot;
    out->decided = self->decided;
    for (int t = 0; t < self->n_tally; t++) {
        if (self->tally[t].cert.n > out->best_votes) {
            out->best_votes = self->tally[t].cert.n;
        }
    }
}
