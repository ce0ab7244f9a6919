/* control.c - the ipc control socket: `fedsyn status` and `fedsyn node
 * leave` (see control.h). */
#include "node/fed/control.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "ledger/assemble.h"
#include "node/base/bytes.h"
#include "node/base/mem.h"
#include "node/fed/now.h"

struct control {
    zsock_t *sock;
    char endpoint[CONFIG_PATH_MAX + 32];
    zframe_t *rid; // the sender of the request read last
    char *arg;     // the text after its command word
};

void control_endpoint(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "ipc://%s/control.sock", dir);
}

control_t *control_new(const char *dir, fs_err_t *err)
{
    control_t *self = xcalloc(1, sizeof *self);
    control_endpoint(dir, self->endpoint, sizeof self->endpoint);
    self->sock = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(self->sock, 0);
    unlink(self->endpoint + 6);
    if (zsock_bind(self->sock, "%s", self->endpoint) < 0) {
        fs_err_set(err, FS_EIO, "cannot bind the control socket %s", self->endpoint);
        control_destroy(&self);
        return NULL;
    }
    return self;
}

void control_destroy(control_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    control_t *self = *self_p;
    zsock_destroy(&self->sock);
    unlink(self->endpoint + 6);
    zframe_destroy(&self->rid);
    free(self->arg);
    free(self);
    *self_p = NULL;
}

void *control_socket(control_t *self) { return self->sock; }

control_cmd_t control_receive(control_t *self)
{
    zmsg_t *m = zmsg_recv(self->sock);
    if (!m) {
        return CONTROL_NONE;
    }
    zframe_destroy(&self->rid);
    self->rid = zmsg_pop(m);
    zframe_t *empty = zmsg_pop(m);
    char *cmd = zmsg_popstr(m);
    free(self->arg);
    self->arg = NULL;
    char *space = cmd ? strchr(cmd, ' ') : NULL;
    if (space) {
        *space = 0;
        self->arg = xstrdup(space + 1);
    }
    control_cmd_t c = !cmd                               ? CONTROL_UNKNOWN
                      : strcmp(cmd, "STATUS") == 0        ? CONTROL_STATUS
                      : strcmp(cmd, "STATUS-JSON") == 0   ? CONTROL_STATUS_JSON
                      : strcmp(cmd, "LEAVE") == 0         ? CONTROL_LEAVE
                      : strcmp(cmd, "MOTION-ADMIT") == 0  ? CONTROL_MOTION_ADMIT
                      : strcmp(cmd, "MOTION-REMOVE") == 0 ? CONTROL_MOTION_REMOVE
                      : strcmp(cmd, "MOTION-SIGN") == 0   ? CONTROL_MOTION_SIGN
                      : strcmp(cmd, "MOTIONS") == 0       ? CONTROL_MOTIONS
                                                          : CONTROL_UNKNOWN;
    zframe_destroy(&empty);
    free(cmd);
    zmsg_destroy(&m);
    if (c == CONTROL_UNKNOWN) {
        control_reply(self, "unknown command (expected STATUS, STATUS-JSON, LEAVE, "
                            "MOTION-ADMIT, MOTION-REMOVE, MOTION-SIGN or MOTIONS)\n");
    }
    return c;
}

const char *control_arg(const control_t *self) { return self->arg ? self->arg : ""; }


void control_reply(control_t *self, const char *text)
{
    if (!self->rid) {
        return;
    }
    zmsg_t *r = zmsg_new();
    zmsg_append(r, &self->rid);
    zmsg_addmem(r, "", 0);
    zmsg_addstr(r, text);
    zmsg_send(&r, self->sock);
}

// What `fedsyn status` shows, gathered once and printed as text or JSON.
typedef struct {
    char name[IDENTITY_NAME_MAX + 1], fpr[IDENTITY_FPR_CHARS], fed[2 * HASH_BYTES + 1];
    int have_fed, have_chain;
    unsigned long long height, round;
    unsigned planned, attempt, local_iters;
    char aggregator[IDENTITY_NAME_MAX + 1]; // "" when no member is active
    int aggregator_is_me, active, leaving;
    const keyring_t *members;
    int have_last;
    unsigned long long last_index;
    char last_aggregator[IDENTITY_NAME_MAX + 1], last_model[2 * HASH_BYTES + 1];
    unsigned last_contrib, last_expected;
    const char *last_close;
    const char *training; // NULL without local training
    int trained_iters, collected;
    uint64_t bytes_in, bytes_out;
    int witnessed;    // majority-witnessed blocks: the open height's votes
    int vote;         // the federation admits by vote: motions under way
    int motions;
    fin_status_t fin;
} status_view_t;

static void s_view(const store_t *store, mesh_t *mesh, const round_io_t *round,
                   const members_t *mem, status_view_t *v)
{
    memset(v, 0, sizeof *v);
    const identity_pub_t *pub = mesh_me(mesh);
    const round_t *rs = round_io_round_const(round);
    snprintf(v->name, sizeof v->name, "%s", pub->name);
    identity_fingerprint(pub, v->fpr);
    v->have_fed = store_have_fed(store);
    bytes_to_hex(store_fed_id(store), HASH_BYTES, v->fed);
    v->have_chain = store_chain(store) != NULL;
    if (v->have_chain) {
        const ledger_state_t *st = store_state(store);
        uint8_t agg[IDENTITY_KEY_BYTES];
        char nb[9];
        v->height = (unsigned long long)store_height(store);
        v->planned = st->genesis.rounds;
        v->round = (unsigned long long)rs->round;
        v->attempt = rs->attempt;
        if (assemble_aggregator(st, rs->attempt, agg) == 0) {
            snprintf(v->aggregator, sizeof v->aggregator, "%s", store_name(store, agg, nb));
            v->aggregator_is_me = memcmp(agg, pub->sign_pk, IDENTITY_KEY_BYTES) == 0;
        }
        v->active = store_is_active(store, pub->sign_pk);
        v->leaving = mem->leaving;
        v->vote = store_state(store)->genesis.admission == ADMIT_VOTE;
        v->motions = mem->n_motions;
        v->members = rs->members;
        v->have_last = store_height(store) > 1;
        if (v->have_last) {
            const block_t *b = &st->last;
            v->last_index = (unsigned long long)b->index;
            snprintf(v->last_aggregator, sizeof v->last_aggregator, "%s",
                     store_name(store, b->aggregator, nb));
            bytes_to_hex(b->model_hash, HASH_BYTES, v->last_model);
            v->last_contrib = b->n_contrib;
            v->last_expected = b->n_expected;
            v->last_close = close_reason_name(b->close_reason);
        }
        const local_t *local = round_io_local(round);
        if (local) {
            v->training = local_busy(local) ? "running" : (rs->trained ? "done" : "idle");
            v->trained_iters = local_progress(local);
            v->local_iters = st->genesis.local_iters;
        }
        v->collected = rs->n_got;
        const witness_io_t *wit = round_io_witness(round);
        if (wit) {
            v->witnessed = 1;
            witness_io_status(wit, &v->fin);
        }
    }
    transport_counters(mesh_transport(mesh), &v->bytes_in, &v->bytes_out);
}

// A peer's liveness as status shows it: seconds since its last message.
static const char *s_liveness(const peers_peer_t *p, double *ago)
{
    *ago = p->seen_ms ? (double)(now_mono_ms() - p->seen_ms) / 1000.0 : -1;
    return *ago < 0 ? "never heard" : *ago < 3 ? "alive" : "silent";
}

#define OUT(...) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__)

static size_t s_text(const status_view_t *v, mesh_t *mesh, char *buf, size_t cap)
{
    size_t k = 0;
    OUT("node        %s (%s)\n", v->name, v->fpr);
    OUT("federation  %s\n", v->have_fed ? v->fed : "(unknown)");
    if (v->have_chain) {
        OUT("height      %llu (planned rounds %u)\n", v->height, v->planned);
        OUT("round       %llu, attempt %u, aggregator %s%s\n", v->round, v->attempt,
            v->aggregator[0] ? v->aggregator : "none (no active member)",
            v->aggregator_is_me ? " (this node)" : "");
        OUT("member      %s%s\n", v->active ? "active" : "not active",
            v->leaving ? ", leaving" : "");
        OUT("members     %zu active:", keyring_size(v->members));
        for (size_t i = 0; i < keyring_size(v->members); i++) {
            OUT(" %s", keyring_at(v->members, i)->name);
        }
        OUT("\n");
        if (v->have_last) {
            OUT("last block  %llu by %s, %u/%u contributors, %s, model %.8s\n", v->last_index,
                v->last_aggregator, v->last_contrib, v->last_expected, v->last_close,
                v->last_model);
        }
        if (v->training) {
            OUT("training    %s, %d/%u iterations of round %llu\n", v->training,
                v->trained_iters, v->local_iters, v->round);
        }
        if (v->collected) {
            OUT("collected   %d updates for this round\n", v->collected);
        }
        if (v->witnessed) {
            // a minority side of a partition waits here, and says so
            OUT("witnesses   block %llu: %zu of the %zu members' votes for one proposal so "
                "far, %zu make it final%s\n", (unsigned long long)v->fin.height,
                v->fin.best_votes, v->fin.voters, v->fin.need,
                v->fin.best_votes < v->fin.need && v->fin.voters
                    ? " (waiting: fewer than a majority reachable, or no proposal yet)"
                    : "");
        }
        if (v->vote && v->motions) {
            OUT("motions     %d under way (fedsyn member pending lists them)\n", v->motions);
        }
    }
    const transport_t *net = mesh_transport(mesh);
    const peers_t *peers = mesh_peers_const(mesh);
    OUT("traffic     %.1f MB in, %.1f MB out\n", (double)v->bytes_in / 1e6,
        (double)v->bytes_out / 1e6);
    OUT("peers       %zu\n", transport_peer_count(net));
    for (size_t i = 0; i < transport_peer_count(net); i++) {
        double ago;
        const char *live = s_liveness(&peers->peer[i], &ago);
        OUT("  %-12s %-28s height %-5llu %s\n", transport_peer_id(net, (int)i)->name,
            transport_peer_endpoint(net, (int)i), (unsigned long long)peers->peer[i].height,
            live);
    }
    return k;
}

// s as a JSON string (quotes and escapes included).
static size_t s_json_str(char *buf, size_t cap, const char *s)
{
    size_t k = 0;
    OUT("\"");
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            OUT("\\%c", c);
        } else if (c < 0x20) {
            OUT("\\u%04x", c);
        } else {
            OUT("%c", c);
        }
    }
    OUT("\"");
    return k;
}
#define STR(s) k += s_json_str(buf + k, k < cap ? cap - k : 0, s)

static size_t s_json(const status_view_t *v, mesh_t *mesh, char *buf, size_t cap)
{
    size_t k = 0;
    OUT("{\"node\": ");
    STR(v->name);
    OUT(", \"fingerprint\": ");
    STR(v->fpr);
    OUT(", \"federation\": ");
    if (v->have_fed) {
        STR(v->fed);
    } else {
        OUT("null");
    }
    if (v->have_chain) {
        OUT(", \"height\": %llu, \"planned_rounds\": %u, \"round\": %llu, \"attempt\": %u",
            v->height, v->planned, v->round, v->attempt);
        OUT(", \"aggregator\": ");
        if (v->aggregator[0]) {
            STR(v->aggregator);
        } else {
            OUT("null");
        }
        if (v->witnessed) {
            OUT(", \"witnesses\": {\"height\": %llu, \"votes\": %zu, \"voters\": %zu, "
                "\"needed\": %zu, \"promised_attempt\": %u}", (unsigned long long)v->fin.height,
                v->fin.best_votes, v->fin.voters, v->fin.need, v->fin.promised);
        }
        if (v->vote) {
            OUT(", \"motions\": %d", v->motions);
        }
        OUT(", \"aggregator_is_me\": %s, \"active\": %s, \"leaving\": %s, \"members\": [",
            v->aggregator_is_me ? "true" : "false", v->active ? "true" : "false",
            v->leaving ? "true" : "false");
        for (size_t i = 0; i < keyring_size(v->members); i++) {
            OUT("%s", i ? ", " : "");
            STR(keyring_at(v->members, i)->name);
        }
        OUT("]");
        if (v->have_last) {
            OUT(", \"last_block\": {\"index\": %llu, \"aggregator\": ", v->last_index);
            STR(v->last_aggregator);
            OUT(", \"contributors\": %u, \"expected\": %u, \"close\": ", v->last_contrib,
                v->last_expected);
            STR(v->last_close);
            OUT(", \"model_hash\": ");
            STR(v->last_model);
            OUT("}");
        }
        if (v->training) {
            OUT(", \"training\": {\"state\": ");
            STR(v->training);
            OUT(", \"iterations\": %d, \"of\": %u}", v->trained_iters, v->local_iters);
        }
        OUT(", \"collected\": %d", v->collected);
    }
    OUT(", \"bytes_in\": %llu, \"bytes_out\": %llu, \"peers\": [",
        (unsigned long long)v->bytes_in, (unsigned long long)v->bytes_out);
    const transport_t *net = mesh_transport(mesh);
    const peers_t *peers = mesh_peers_const(mesh);
    for (size_t i = 0; i < transport_peer_count(net); i++) {
        double ago;
        const char *live = s_liveness(&peers->peer[i], &ago);
        OUT("%s{\"name\": ", i ? ", " : "");
        STR(transport_peer_id(net, (int)i)->name);
        OUT(", \"endpoint\": ");
        STR(transport_peer_endpoint(net, (int)i));
        OUT(", \"height\": %llu, \"state\": ", (unsigned long long)peers->peer[i].height);
        STR(live);
        if (ago >= 0) {
            OUT(", \"seconds_since_heard\": %.1f", ago);
        } else {
            OUT(", \"seconds_since_heard\": null");
        }
        OUT("}");
    }
    OUT("]}\n");
    return k;
}
#undef STR
void control_motions(const store_t *store, const members_t *mem, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = 0;
    if (!store_chain(store)) {
        snprintf(buf, cap, "no ledger yet: this node has not synced its federation\n");
        return;
    }
    const ledger_state_t *st = store_state(store);
    if (st->genesis.admission != ADMIT_VOTE) {
        snprintf(buf, cap, "this federation admits by its genesis's rule (%s), not by the "
                 "members' vote\n", admission_name(st->genesis.admission));
        return;
    }
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n_active = ledger_state_active(st, active);
    if (!mem->n_motions) {
        OUT("no motion under way\n");
    }
    for (int i = 0; i < mem->n_motions; i++) {
        const motion_t *m = members_motion(mem, i);
        char id[MOTION_ID_CHARS], fpr[IDENTITY_FPR_CHARS], nb[9];
        motion_id(store_fed_id(store), m, id);
        identity_fingerprint(&m->candidate, fpr);
        OUT("motion %s  %s %s (%s), made at round %llu: signed by %u of the %zu active members, "
            "%zu needed%s\n    signers:", id, motion_action_name(m->action), m->candidate.name,
            fpr, (unsigned long long)m->round, m->n, n_active, witness_majority(n_active),
            motion_signed_by(m, mem->me) ? "" : "; not signed by this node");
        for (uint16_t s = 0; s < m->n; s++) {
            OUT(" %s", store_name(store, m->sigs[s].key, nb));
        }
        OUT("\n");
    }
    for (int i = 0; i < st->n_admitted; i++) {
        const ledger_admitted_t *a = &st->admitted[i];
        OUT("%s %s in block %llu%s\n", a->revoked ? "revoked:" : "admitted:", a->id.name,
            (unsigned long long)a->at, a->revoked ? "" : ", not joined yet");
    }
    if (k >= cap) { // never a cut list: say so instead
        snprintf(buf, cap, "the pending motions take more than %zu bytes\n", cap);
    }
}

#undef OUT

void control_status(const store_t *store, mesh_t *mesh, const round_io_t *round,
                    const members_t *mem, int json, char *buf, size_t cap)
{
    status_view_t v;
    s_view(store, mesh, round, mem, &v);
    const size_t k = json ? s_json(&v, mesh, buf, cap) : s_text(&v, mesh, buf, cap);
    if (k >= cap) { // never a cut JSON object: say so instead
        snprintf(buf, cap, json ? "{\"error\": \"status longer than %zu bytes\"}\n"
                                : "status longer than %zu bytes\n", cap);
    }
}
