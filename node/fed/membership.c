/* membership.c - who may talk to this node (the transport's allow-list),
 * and performing what node/proto/members.h decides: our join requests and
 * leave notices go out, our leave ends the node. */
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
        if (memcmp(self->cfg.peers[i].id.sign_pk, id->sign_pk, IDENTITY_KEY_BYTES) == 0) {
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
        if (memcmp(st->genesis.allowed[i], id->sign_pk, IDENTITY_KEY_BYTES) == 0) {
            return 1;
        }
    }
    return 0;
}

void fed_perform_members(node_t *self, const members_actions_t *acts)
{
    for (int i = 0; i < acts->n; i++) {
        const members_action_t *a = &acts->act[i];
        switch (a->kind) {
        case MEMBERS_ACT_SEND_JOIN:
            fed_broadcast(self, WIRE_JOIN, a->bytes, a->n, -1, 0, 0);
            log_info("asked to join at height %llu", (unsigned long long)a->height);
            break;
        case MEMBERS_ACT_SEND_LEAVE:
            fed_broadcast(self, WIRE_LEAVE, a->bytes, a->n, -1, 0, 0);
            break;
        case MEMBERS_ACT_LEFT: break; // self->mem.left is set; the loop ends
        default: break;
        }
    }
}

void fed_start_leave(node_t *self)
{
    int was_leaving = self->mem.leaving;
    members_actions_t acts;
    members_leave(&self->mem, self->chain ? fed_state(self) : NULL, self->fed_id, self->me,
                  fed_mono(), &acts);
    if (self->mem.leaving && !was_leaving) {
        log_info("leaving the federation: the next block will record it");
        round_event_t e = {.kind = ROUND_EV_LEAVING};
        round_actions_t none;
        round_on_event(&self->rs, &e, fed_mono(), &none);
    }
    fed_perform_members(self, &acts);
}
