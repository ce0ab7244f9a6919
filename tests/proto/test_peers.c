/* test_peers.c - what a node knows of its peers (node/proto/peers.h):
 * hellos on time, sync when a peer is ahead or our model is missing,
 * re-dial when a peer does not hear us, digests seen once, relay targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/proto/peers.h"

static void test_peers_usage(void **state)
{
    (void)state;
    peers_t *p = calloc(1, sizeof *p);
    peers_init(p);
    peers_actions_t out;
    int64_t t = 100000;
    peers_tick_hello(p, t, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, PEERS_ACT_HELLO);
    peers_tick_hello(p, t + 999, &out);
    assert_int_equal(out.n, 0);
    peers_tick_hello(p, t + 1000, &out);
    assert_int_equal(out.n, 1);
    // A hello from peer 2 at height 7 (we have 5): sync from 5.
    peers_hello_t h;
    memset(&h, 0, sizeof h);
    h.height = 7;
    h.lists_us = h.hears_us = 1;
    peers_on_hello(p, 2, &h, 5, 0, t, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, PEERS_ACT_SYNC);
    assert_int_equal(out.act[0].peer, 2);
    assert_int_equal(out.act[0].from, 5);
    assert_true(peers_behind(p, 3, 5));
    assert_false(peers_behind(p, 3, 7));
    // Not again within half a retry.
    peers_on_hello(p, 2, &h, 5, 0, t + 400, &out);
    assert_int_equal(out.n, 0);
    // Level, but our model is missing: sync too.
    h.height = 5;
    peers_on_hello(p, 2, &h, 5, 1, t + 600, &out);
    assert_int_equal(out.n, 1);
    // The tick's sync (model missing) asks a peer heard at our height.
    peers_tick_sync(p, 3, 5, t + 1000, &out);
    assert_int_equal(out.n, 0); // under a retry since the last
    peers_tick_sync(p, 3, 5, t + 1601, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].peer, 2);
    // With two such peers the requests take turns: a peer at our height
    // may lack the model as we do (the simulator's seed 313).
    h.height = 5;
    peers_on_hello(p, 0, &h, 5, 0, t + 1700, &out);
    peers_tick_sync(p, 3, 5, t + 2702, &out);
    assert_int_equal(out.act[0].peer, 0);
    peers_tick_sync(p, 3, 5, t + 3703, &out);
    assert_int_equal(out.act[0].peer, 2);
    peers_tick_sync(p, 3, 5, t + 4704, &out);
    assert_int_equal(out.act[0].peer, 0);
    // A peer that does not hear us: re-dial, but not in its first 3 s,
    // and then at most every 3 s.
    h.hears_us = 0;
    peers_on_hello(p, 4, &h, 5, 0, t, &out);
    assert_int_equal(out.n, 0);
    peers_on_hello(p, 4, &h, 5, 0, t + 3001, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.act[0].kind, PEERS_ACT_REDIAL);
    peers_on_hello(p, 4, &h, 5, 0, t + 4000, &out);
    assert_int_equal(out.n, 0);
    assert_true(peers_heard(p, 4, t + 4000));
    assert_false(peers_heard(p, 4, t + 7001));
    free(p);
}

static void test_peers_seen_and_relay(void **state)
{
    (void)state;
    peers_t *p = calloc(1, sizeof *p);
    uint8_t d[PEERS_DIGEST_BYTES] = {1, 2, 3};
    assert_int_equal(peers_seen(p, d), 0);
    assert_int_equal(peers_seen(p, d), 1);
    // The ring forgets the oldest after PEERS_SEEN_SLOTS others.
    for (uint32_t i = 0; i < PEERS_SEEN_SLOTS; i++) {
        uint8_t x[PEERS_DIGEST_BYTES] = {0};
        memcpy(x + 4, &i, sizeof i);
        x[0] = 0xee;
        peers_seen(p, x);
    }
    assert_int_equal(peers_seen(p, d), 0);
    // Relay of block index 9 that peer 1 sent, made by peer 0: not back,
    // not to the maker, not to one at height 10, not to one hearing peer 0.
    peers_set_height(p, 3, 10);
    peers_hello_t h;
    memset(&h, 0, sizeof h);
    h.height = 9;
    h.hears[0] = 1; // peer 4 hears peer 0
    peers_actions_t out;
    peers_on_hello(p, 4, &h, 9, 0, 1000, &out);
    assert_false(peers_relay_to(p, 1, 1, 0, 9));
    assert_false(peers_relay_to(p, 0, 1, 0, 9));
    assert_false(peers_relay_to(p, 3, 1, 0, 9));
    assert_false(peers_relay_to(p, 4, 1, 0, 9));
    assert_true(peers_relay_to(p, 2, 1, 0, 9));
    assert_true(peers_relay_to(p, 4, 1, -1, 9)); // the maker is not a peer
    free(p);
}

static void test_peers_redial_silent(void **state)
{
    (void)state;
    // A peer never heard from (our dial refused before it admitted our key)
    // is dialled again after 5 s, then after 10, 20, 40 and 80 s; one
    // that said hello is not.
    peers_t *p = calloc(1, sizeof *p);
    peers_init(p);
    peers_actions_t out;
    peers_hello_t h = {.height = 1};
    peers_on_hello(p, 1, &h, 1, 0, 1000, &out);
    int64_t t = 1000;
    peers_tick_redial(p, 2, t, &out);
    assert_int_equal(out.n, 0);
    int64_t when[8];
    int n = 0;
    for (t = 1000; t <= 300000 && n < 8; t += 100) {
        peers_tick_redial(p, 2, t, &out);
        if (out.n) {
            assert_int_equal(out.act[0].kind, PEERS_ACT_REDIAL);
            assert_int_equal(out.act[0].peer, 0);
            when[n++] = t;
        }
    }
    assert_int_equal(n, 6);
    assert_int_equal(when[0], 6000);
    assert_int_equal(when[1] - when[0], 10000);
    assert_int_equal(when[2] - when[1], 20000);
    assert_int_equal(when[3] - when[2], 40000);
    assert_int_equal(when[4] - when[3], 80000);
    assert_int_equal(when[5] - when[4], 80000); // the longest wait
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_usage),
        cmocka_unit_test(test_peers_seen_and_relay),
        cmocka_unit_test(test_peers_redial_silent),
    };
    return cmocka_run_group_tests_name("proto_peers", tests, NULL, NULL);
}
