/* membership.c - our join requests and leave notices (see membership.h). */
#include "node/fed/membership.h"

#include <stdio.h>
#include <string.h>

#include "node/base/bytes.h"
#include "node/base/log.h"
#include "node/fed/now.h"
#include "node/fed/wire.h"

void membership_send_motion(mesh_t *mesh, const motion_t *m, int except)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    motion_encode(&w, m);
    mesh_broadcast(mesh, WIRE_MOTION, w.data, w.len, except, 0, 0);
    bytes_writer_reset(&w);
}

void membership_perform(mesh_t *mesh, const members_t *mem, const members_actions_t *acts)
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
        case MEMBERS_ACT_REMOVED:
            log_error("the members removed this node by their vote (block %llu); it stops. "
                      "To come back, ask a member to propose its admission again (fedsyn "
                      "member propose --admit)", (unsigned long long)a->height);
            break;
        case MEMBERS_ACT_SEND_MOTIONS:
            for (int k = 0; k < mem->n_motions; k++) {
                membership_send_motion(mesh, members_motion(mem, k), -1);
            }
            break;
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
    membership_perform(mesh, mem, &acts);
}

// The identity a removal names: an active member or an admitted
// newcomer, by name or by (a prefix of at least 8 digits of) its key.
static int s_find_candidate(const ledger_state_t *st, const char *text, identity_pub_t *out,
                            fs_err_t *err)
{
    const identity_pub_t *ids[2 * LEDGER_MAX_MEMBERS];
    int n = 0, found = -1;
    for (int i = 0; i < st->n_members; i++) {
        if (st->members[i].active) {
            ids[n++] = &st->members[i].id;
        }
    }
    for (int i = 0; i < st->n_admitted; i++) {
        if (!st->admitted[i].revoked) {
            ids[n++] = &st->admitted[i].id;
        }
    }
    size_t len = strlen(text);
    for (int i = 0; i < n; i++) {
        char hex[2 * IDENTITY_KEY_BYTES + 1];
        bytes_to_hex(ids[i]->sign_pk, IDENTITY_KEY_BYTES, hex);
        if (strcmp(ids[i]->name, text) == 0 || (len >= 8 && strncmp(hex, text, len) == 0)) {
            if (found >= 0) {
                return fs_err_set(err, FS_EINVAL, "'%s' names more than one member; give its "
                                  "signing key", text);
            }
            found = i;
        }
    }
    if (found < 0) {
        return fs_err_set(err, FS_EINVAL, "'%s' is neither an active member nor an admitted "
                          "newcomer (fedsyn status lists the members)", text);
    }
    *out = *ids[found];
    return 0;
}

int membership_command(members_t *mem, const store_t *store, mesh_t *mesh, const identity_t *me,
                       int action, const char *arg, char *buf, size_t cap)
{
    fs_err_t err = {0};
    if (!store_chain(store)) {
        snprintf(buf, cap, "error: this node has no ledger yet; wait until it has synced\n");
        return FS_EINVAL;
    }
    const ledger_state_t *st = store_state(store);
    const uint8_t *fed = store_fed_id(store);
    const motion_t *m = NULL;
    identity_pub_t cand;
    int rc = 0;
    if (action == MOTION_ADMIT) {
        rc = identity_pub_parse(arg, &cand, &err);
        if (rc < 0) {
            fs_err_prefix(&err, rc, "the newcomer's identity: ");
        }
    } else if (action == MOTION_REMOVE) {
        rc = s_find_candidate(st, arg, &cand, &err);
    }
    if (rc == 0) {
        rc = action ? members_propose(mem, st, fed, me, action, &cand, &m, &err)
                    : members_sign(mem, st, fed, me, arg, &m, &err);
    }
    if (rc < 0) {
        snprintf(buf, cap, "error: %s\n", err.msg);
        return rc;
    }
    char id[MOTION_ID_CHARS];
    motion_id(fed, m, id);
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    size_t n_active = ledger_state_active(st, active), need = witness_majority(n_active);
    log_info("motion %s to %s %s: signed by this node (%u of the %zu needed)", id,
             motion_action_name(m->action), m->candidate.name, m->n, need);
    membership_send_motion(mesh, m, -1);
    snprintf(buf, cap,
             "motion %s: %s %s, signed by %u of the %zu active members (%zu needed).\n"
             "%s",
             id, motion_action_name(m->action), m->candidate.name, m->n, n_active, need,
             m->n >= need ? "A majority has signed: the next block records it.\n"
                          : "Each other member signs it with: fedsyn member sign --config "
                            "FILE MOTION-ID (fedsyn member pending lists it).\n");
    return 0;
}
