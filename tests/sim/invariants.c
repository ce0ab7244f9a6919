/* invariants.c - what must hold in every simulated execution, in one place
 * (issue 18 item 2).  Checked after every step of the simulator:
 *
 *   one-final-block-per-height  a block with a successor in some node's
 *       durable ledger is final (with majority-witnessed blocks, every
 *       appended block is); across all honest nodes there is at most
 *       one final block per height.  Since every ledger is hash-linked, this
 *       is the same as "every honest ledger, less its head, is a prefix of
 *       the longest finalized chain" (the table s->final).
 *   only-sent-updates  every contribution a block names (key, round,
 *       envelope digest; for the aggregator's own, its update's hash) is one
 *       its member really sealed and sent, or counted as aggregator.
 *   round-closes-within-bound  while the network has no partition and no
 *       loss, the set of running nodes does not change, and at least a
 *       quorum of the active members run (and, with majority-witnessed
 *       blocks, a majority of them), the highest ledger grows within
 *       sim_liveness_bound_ms: 2n + 1 attempts of the genesis's windows
 *       (a node restarted mid-round counts its attempts from its own start,
 *       so a candidate may need a second turn to hold every update) plus
 *       slack for training and sync.
 *   ledgers-converge  after the faults stop, every crashed node restarts
 *       and the network heals; at the end no new round starts for
 *       SIM_FREEZE_MS and then every running member's ledger must be the
 *       same, byte for byte (checked once, at the end).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node/base/mem.h"
#include "tests/sim/sim.h"

// The forks among running nodes, by shape.  For two ledgers of heights
// ha <= hb that first differ at index d (hash-linked: they agree below d):
//   repairable  ha < hb and d = ha - 1: only the shorter one's head
//               differs; the sync rule replaces it (a reply holding the
//               longer chain's block there and its successor), so such a
//               fork that lasts is a bug of ours, never excused;
//   known       ha = hb and d = ha - 1 (two heads at one height: hellos
//               compare heights only, so nobody sends a block), or d < ha - 1
//               (a block with a successor differs: never repaired) - the
//               forks of issue 19.
// Returns 1 when a known fork is present and no repairable one.
static int s_fork_present(const sim_t *s)
{
    int known = 0;
    for (int i = 0; i < s->n; i++) {
        const sim_node_t *a = &s->node[i];
        for (int j = i + 1; j < s->n && a->up && !a->left; j++) {
            const sim_node_t *b = &s->node[j];
            if (!b->up || b->left) {
                continue;
            }
            const sim_node_t *lo = a->n_recs <= b->n_recs ? a : b;
            const sim_node_t *hi = lo == a ? b : a;
            size_t top = lo->n_recs - 1;
            if (memcmp(lo->hashes[top], hi->hashes[top], HASH_BYTES) == 0) {
                continue; // one is a prefix of the other
            }
            int deep = top > 0 && memcmp(lo->hashes[top - 1], hi->hashes[top - 1], HASH_BYTES) != 0;
            if (!deep && lo->n_recs < hi->n_recs) {
                return 0; // repairable, yet not repaired
            }
            known = 1;
        }
    }
    return known;
}

static const sim_node_t *s_top(const sim_t *s)
{
    const sim_node_t *top = NULL;
    for (int i = 0; i < s->n; i++) {
        const sim_node_t *nd = &s->node[i];
        if (nd->up && (!top || nd->n_recs > top->n_recs)) {
            top = nd;
        }
    }
    return top;
}

static const char *s_known_names[] = {"", "unrepaired fork present: issue 19",
                                      "a leaving member is needed for the quorum: issue 19 "
                                      "item 4"};
static_assert(sizeof s_known_names / sizeof s_known_names[0] == SIM_KNOWN_COUNT,
              "one name per known bug");

const char *sim_known_name(int known)
{
    return known > 0 && known < SIM_KNOWN_COUNT ? s_known_names[known] : "";
}

sim_known_t sim_known_cause(const sim_t *s)
{
    // majority-witnessed blocks never fork: no excuse there
    if (!s->witnessed && s_fork_present(s)) {
        return SIM_KNOWN_FORK;
    }
    const sim_node_t *top = s_top(s);
    int staying = 0, leaving = 0;
    for (int i = 0; i < s->n && top; i++) {
        const ledger_member_t *m = ledger_state_member(top->st, s->node[i].pub->sign_pk);
        if (m && m->active && s->node[i].up) {
            staying += !s->node[i].mem.leaving;
            leaving += s->node[i].mem.leaving;
        }
    }
    if (top && staying < s->genesis->quorum && staying + leaving >= s->genesis->quorum) {
        return SIM_KNOWN_LEAVER;
    }
    // (No excuse for a lost head model since session 17: every node makes a
    // block's model durable before it appends the block, store_make_durable.)
    return SIM_KNOWN_NONE;
}

// Appends " n0 7:ab12 n1 7:cd34 ..." (height and head of every running node).
static void s_heads(const sim_t *s, char *out, size_t cap)
{
    size_t k = strlen(out);
    for (int i = 0; i < s->n && k + 24 < cap; i++) {
        const sim_node_t *nd = &s->node[i];
        if (nd->up && !nd->left) {
            const uint8_t *h = nd->hashes[nd->n_recs - 1];
            k += (size_t)snprintf(out + k, cap - k, " n%d %zu:%02x%02x", i, nd->n_recs, h[0],
                                  h[1]);
        }
    }
}

void inv_fail(sim_t *s, sim_inv_t inv, const char *fmt, ...)
{
    if (s->hit[inv]) {
        return;
    }
    s->hit[inv] = 1;
    s->hit_at[inv] = s->now;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->hit_why[inv], sizeof s->hit_why[inv], fmt, ap);
    va_end(ap);
    sim_known_t known = inv == INV_LIVENESS || inv == INV_CONVERGENCE ? sim_known_cause(s)
                                                                      : SIM_KNOWN_NONE;
    s->hit_known[inv] = (uint8_t)known;
    size_t k = strlen(s->hit_why[inv]);
    snprintf(s->hit_why[inv] + k, sizeof s->hit_why[inv] - k, "%s%s%s; heights and heads:",
             known ? " [" : "", sim_known_name(known), known ? "]" : "");
    s_heads(s, s->hit_why[inv], sizeof s->hit_why[inv]);
    if (s->violated < 0 && !known) {
        s->violated = (int)inv;
        snprintf(s->why, sizeof s->why, "%s", s->hit_why[inv]);
    }
}

void inv_block_appended(sim_t *s, int node, const block_t *b)
{
    for (int c = 0; c < b->n_contrib; c++) {
        const block_contrib_t *k = &b->contrib[c];
        int found = 0;
        for (size_t e = s->n_sent; e-- > 0 && !found;) {
            const uint8_t *x = s->sent[e];
            uint64_t round = 0;
            for (int j = 0; j < 8; j++) {
                round |= (uint64_t)x[HASH_BYTES + IDENTITY_KEY_BYTES + j] << (8 * j);
            }
            found = memcmp(x, k->envelope, HASH_BYTES) == 0 &&
                    memcmp(x + HASH_BYTES, k->key, IDENTITY_KEY_BYTES) == 0 && round == b->index;
        }
        if (!found) {
            inv_fail(s, INV_SENT, "block %llu made by n%d names an update of %02x%02x.. that "
                     "was never sent", (unsigned long long)b->index, node, k->key[0], k->key[1]);
        }
    }
}

static void s_check_final(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        sim_node_t *nd = &s->node[i];
        // with witnesses every appended block is final, the head included
        size_t open = s->witnessed ? 0 : 1;
        while (nd->final_checked + open < nd->n_recs) {
            size_t k = nd->final_checked;
            if (k == s->n_final) {
                s->final = xrealloc(s->final, (s->n_final + 1) * sizeof *s->final);
                memcpy(s->final[s->n_final++], nd->hashes[k], HASH_BYTES);
            } else if (memcmp(s->final[k], nd->hashes[k], HASH_BYTES) != 0) {
                inv_fail(s, INV_FINAL_UNIQUE, "height %zu: n%d's block %02x%02x.. has a "
                         "successor, but another node finalized %02x%02x.. there", k, i,
                         nd->hashes[k][0], nd->hashes[k][1], s->final[k][0], s->final[k][1]);
            }
            nd->final_checked++;
        }
    }
}

// The highest running ledger's active members that run: at least a quorum?
int sim_quorum_connected(const sim_t *s)
{
    const sim_node_t *top = NULL;
    for (int i = 0; i < s->n; i++) {
        const sim_node_t *nd = &s->node[i];
        if (nd->started && !nd->left && s->side[i] != s->side[0]) {
            return 0; // a partition
        }
        if (nd->up && (!top || nd->n_recs > top->n_recs)) {
            top = nd;
        }
    }
    if (!top || s->loss > 0) {
        return 0;
    }
    int up = 0, active = 0;
    for (int i = 0; i < s->n; i++) {
        const ledger_member_t *m = ledger_state_member(top->st, s->node[i].pub->sign_pk);
        up += m && m->active && s->node[i].up;
        active += m && m->active;
    }
    // with witnesses a block needs a majority of the active members too
    return up >= s->genesis->quorum &&
           (!s->witnessed || (size_t)up >= witness_majority((size_t)active));
}

uint64_t sim_liveness_bound_ms(const sim_t *s)
{
    uint64_t n = (uint64_t)s->n, t = 0;
    for (uint64_t a = 0; a <= 2 * n; a++) {
        t += s->genesis->round_timeout_ms + a * s->genesis->attempt_extra_ms;
    }
    return t + 2 * (uint64_t)s->genesis->round_timeout_ms + 2000;
}

static void s_check_liveness(sim_t *s)
{
    uint64_t top = 0, shape = 0;
    for (int i = 0; i < s->n; i++) {
        const sim_node_t *nd = &s->node[i];
        if (nd->up && nd->n_recs > top) {
            top = nd->n_recs;
        }
        shape = shape * 3 + (uint64_t)nd->up + (uint64_t)(s->side[i] != 0);
    }
    shape = shape * 2 + (s->loss > 0);
    if (top > s->max_height) {
        s->max_height = top;
        s->last_progress = s->now;
        s->rounds++;
    }
    int frozen = s->now >= s->freeze_at; // no rounds by design
    if (frozen || !sim_quorum_connected(s)) {
        s->stable_since = -1;
        return;
    }
    // The network and the set of running nodes must stay as they are.
    if (s->stable_since < 0 || s->stable_shape != shape) {
        s->stable_since = s->now;
        s->stable_shape = shape;
    }
    int64_t since = s->stable_since > s->last_progress ? s->stable_since : s->last_progress;
    if ((uint64_t)(s->now - since) > sim_liveness_bound_ms(s)) {
        inv_fail(s, INV_LIVENESS, "no block for %lld ms (height %llu) while a quorum was up "
                 "and connected (bound %llu ms)", (long long)(s->now - since),
                 (unsigned long long)s->max_height,
                 (unsigned long long)sim_liveness_bound_ms(s));
        s->last_progress = s->now;
    }
}

void inv_after_step(sim_t *s)
{
    s_check_final(s);
    s_check_liveness(s);
}

void inv_at_end(sim_t *s)
{
    const sim_node_t *ref = NULL;
    int ref_i = -1;
    for (int i = 0; i < s->n; i++) {
        const sim_node_t *nd = &s->node[i];
        if (!nd->up || nd->left) {
            continue;
        }
        if (!ref) {
            ref = nd;
            ref_i = i;
            continue;
        }
        if (nd->n_recs != ref->n_recs ||
            memcmp(nd->hashes[nd->n_recs - 1], ref->hashes[ref->n_recs - 1], HASH_BYTES) != 0) {
            size_t k = 0;
            while (k < nd->n_recs && k < ref->n_recs &&
                   memcmp(nd->hashes[k], ref->hashes[k], HASH_BYTES) == 0) {
                k++;
            }
            inv_fail(s, INV_CONVERGENCE, "after healing: n%d has height %zu, n%d height %zu; "
                     "they agree on the first %zu blocks only", ref_i, ref->n_recs, i,
                     nd->n_recs, k);
            return;
        }
    }
}
