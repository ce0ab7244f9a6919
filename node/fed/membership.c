/* membership.c - who may talk to this node, pending join and leave
 * requests, and this node's own leave. */
#include "node/fed/node_int.h"

void fed_allow_members(node_t *self)
{
    fs_err_t err = {0};
    for (int i = 0; i < self->cfg.n_peers; i++) {
        if (transport_allow(self->net, &self->cfg.peers[i].id, &err) < 0) {
            log_warn("%s", err.msg);
        }
    }
    if (!self->chain) {
        return;
    }
    const ledger_state_t *st = fed_state(self);
    for (int i = 0; i < st->n_members; i++) {
        if (transport_allow(self->net, &st->members[i].id, &err) < 0) {
            log_warn("%s", err.msg);
        }
    }
}

// May a node with this identity talk to us at all?
int fed_acceptable(const node_t *self, const identity_pub_t *id)
{
    for (int i = 0; i < self->cfg.n_peers; i++) {
        if (memcmp(self->cfg.peers[i].id.sign_pk, id->sign_pk, 32) == 0) {
            return 1;
        }
    }
    if (!self->chain) {
        return 0;
    }
    const ledger_state_t *st = fed_state(self);
    if (ledger_state_member(st, id->sign_pk) || st->genesis.admission == ADMIT_OPEN) {
        return 1;
    }
    for (int i = 0; i < st->genesis.n_allowed; i++) {
        if (memcmp(st->genesis.allowed[i], id->sign_pk, 32) == 0) {
            return 1;
        }
    }
    return 0;
}

void fed_free_pending(pending_t *p, int *n)
{
    for (int i = 0; i < *n; i++) {
        free(p[i].req);
    }
    *n = 0;
}

void fed_drop_recorded_pending(node_t *self)
{
    int k = 0;
    for (int i = 0; i < self->n_joins; i++) {
        if (fed_is_active(self, self->joins[i].key)) {
            free(self->joins[i].req);
        } else {
            self->joins[k++] = self->joins[i];
        }
    }
    self->n_joins = k;
    k = 0;
    for (int i = 0; i < self->n_leaves; i++) {
        if (!fed_is_active(self, self->leaves[i].key)) {
            free(self->leaves[i].req);
        } else {
            self->leaves[k++] = self->leaves[i];
        }
    }
    self->n_leaves = k;
}

void fed_add_pending(pending_t *p, int *n, const uint8_t key[32], const uint8_t *req,
                     size_t len)
{
    for (int i = 0; i < *n; i++) {
        if (memcmp(p[i].key, key, 32) == 0) {
            free(p[i].req); // a newer request replaces the older
            p[i].req = xmalloc(len);
            memcpy(p[i].req, req, len);
            p[i].n = len;
            return;
        }
    }
    if (*n == MAX_PENDING) {
        log_warn("%d requests already wait for a block; dropping one", MAX_PENDING);
        return;
    }
    memcpy(p[*n].key, key, 32);
    p[*n].req = xmalloc(len);
    memcpy(p[*n].req, req, len);
    p[*n].n = len;
    (*n)++;
}

void fed_start_leave(node_t *self)
{
    if (!self->chain || !fed_is_active(self, self->pub->sign_pk)) {
        self->left = 1;
        return;
    }
    if (!self->leaving) {
        log_info("leaving the federation: the next block will record it");
    }
    self->leaving = 1;
    round_event_t e = {.kind = ROUND_EV_LEAVING};
    round_actions_t none;
    round_on_event(&self->rs, &e, fed_mono(), &none);
    bytes_writer_t w;
    bytes_writer_init(&w);
    block_leave_request(&w, self->fed_id, chain_height(self->chain), self->me);
    fed_add_pending(self->leaves, &self->n_leaves, self->pub->sign_pk, w.data, w.len);
    fed_broadcast(self, WIRE_LEAVE, w.data, w.len, -1, 0, 0);
    bytes_writer_reset(&w);
    self->last_leave = fed_mono();
}
