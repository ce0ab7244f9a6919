/* membership.c - our join requests and leave notices (see membership.h). */
#include "node/fed/membership.h"

#include "node/base/log.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"

void membership_perform(mesh_t *mesh, const members_actions_t *acts)
{
    for (int i = 0; i < acts->n; i++) {
        const members_action_t *a = &acts->act[i];
        switch (a->kind) {
        case MEMBERS_ACT_SEND_JOIN:
            mesh_broadcast(mesh, WIRE_JOIN, a->bytes, a->n, -1, 0, 0);
            log_info("asked to join at height %llu", (unsigned long long)a->height);
            break;
        case MEMBERS_ACT_SEND_LEAVE:
            mesh_broadcast(mesh, WIRE_LEAVE, a->bytes, a->n, -1, 0, 0);
            break;
        case MEMBERS_ACT_LEFT: break; // mem->left is set; the node's loop ends
        default: break;
        }
    }
}

void membership_start_leave(members_t *mem, round_t *rs, const store_t *store, mesh_t *mesh,
                            const identity_t *me)
{
    int was_leaving = mem->leaving;
    members_actions_t acts;
    members_leave(mem, store_chain(store) ? store_state(store) : NULL, store_fed_id(store), me,
                  now_mono_ms(), &acts);
    if (mem->leaving && !was_leaving) {
        log_info("leaving the federation: the next block will record it");
        round_event_t e = {.kind = ROUND_EV_LEAVING};
        round_actions_t none;
        round_on_event(rs, &e, now_mono_ms(), &none);
    }
    membership_perform(mesh, &acts);
}
