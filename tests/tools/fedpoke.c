/* fedpoke.c - a misbehaving peer for the integration tests: connects to a
 * node as some identity, says hello, and sends one kind of bad message:
 *   fedpoke KEYS ENDPOINT TARGET.pub GENESIS.fsl WHAT
 * WHAT: valid, replay (valid twice), nan, forged, stale, wrongfed,
 * stranger (an update signed by a key that is not a member), truncated,
 * oversized (a chunk declaring 2 GiB), garbage (an unknown frame), hello
 * (only the hello).  The node's log must name each refusal. */
#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "ledger/chain.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/fed/global.h"
#include "node/fed/transport.h"
#include "node/fed/wire.h"

static int s_die(const char *what, const fs_err_t *err)
{
    fprintf(stderr, "fedpoke: %s: %s\n", what, err ? err->msg : "");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: fedpoke KEYS ENDPOINT TARGET.pub GENESIS.fsl WHAT\n");
        return 2;
    }
    const char *what = argv[5];
    fs_err_t err = {0};
    hash_library_init();
    zsys_handler_set(NULL);
    identity_t *me = identity_load(argv[1], &err);
    if (!me) {
        return s_die(argv[1], &err);
    }
    uint8_t *line = NULL;
    size_t n = 0;
    identity_pub_t target;
    if (fsio_read_all(argv[3], IDENTITY_LINE_MAX, &line, &n, &err) < 0) {
        return s_die(argv[3], &err);
    }
    char text[IDENTITY_LINE_MAX + 1];
    memcpy(text, line, n);
    text[n] = 0;
    free(line);
    if (identity_pub_parse(text, &target, &err) < 0) {
        return s_die(argv[3], &err);
    }
    chain_t *chain = chain_open(argv[4], CHAIN_READ_ONLY, NULL, &err);
    if (!chain) {
        return s_die(argv[4], &err);
    }
    const ledger_state_t *st = chain_state(chain);
    workload_arch_t arch;
    if (global_arch(st->genesis.model, &arch, &err) < 0) {
        return s_die("model", &err);
    }
    size_t count;
    float *w = global_initial(&arch, st->genesis.model_seed, &count);
    char dir[] = "/tmp/fedpoke-XXXXXX";
    if (!mkdtemp(dir)) {
        return s_die("mkdtemp", NULL);
    }
    transport_t *net = transport_new(me, dir, 1 << 20, &err);
    if (!net) {
        return s_die("transport", &err);
    }
    int peer = transport_peer(net, &target, argv[2]);
    wire_hello_t h;
    memset(&h, 0, sizeof h);
    h.me.id = *identity_public(me);
    snprintf(h.me.endpoint, sizeof h.me.endpoint, "tcp://127.0.0.1:1");
    h.height = 1;
    bytes_writer_t b;
    bytes_writer_init(&b);
    wire_hello_encode(&b, &h, st->fed_id, me);
    transport_send(net, peer, WIRE_HELLO, b.data, b.len, 0);
    bytes_writer_reset(&b);

    envelope_t hdr = {0};
    memcpy(hdr.fed_id, st->fed_id, 32);
    hdr.round = chain_height(chain);
    memcpy(hdr.base_hash, st->model_hash, 32);
    hdr.samples = 100;
    hdr.mechanism = st->genesis.mechanism;
    hdr.scale = st->genesis.member_scale;
    identity_t *signer = me;
    identity_t *stranger = NULL;
    if (strcmp(what, "nan") == 0) {
        w[17] = NAN;
    } else if (strcmp(what, "stale") == 0) {
        hdr.round = 0;
    } else if (strcmp(what, "wrongfed") == 0) {
        hdr.fed_id[0] ^= 1;
    } else if (strcmp(what, "stranger") == 0) {
        stranger = identity_new("stranger", &err);
        signer = stranger;
    }
    int sends = strcmp(what, "replay") == 0 ? 2 : 1;
    if (strcmp(what, "hello") && strcmp(what, "oversized") && strcmp(what, "garbage")) {
        if (envelope_seal(&b, &hdr, signer, &target, w, count, &err) < 0) {
            return s_die("seal", &err);
        }
        if (strcmp(what, "forged") == 0) {
            b.data[b.len - 1] ^= 0x40; // the signature's last byte
        }
        if (strcmp(what, "truncated") == 0) {
            b.len -= 10;
        }
        for (int i = 0; i < sends; i++) {
            transport_send(net, peer, WIRE_UPDATE, b.data, b.len, 1);
        }
        bytes_writer_reset(&b);
    } else if (strcmp(what, "oversized") == 0) {
        uint8_t f[18 + 64] = {2, WIRE_UPDATE};
        bytes_store_u32(f + 2, 7);          // message id
        bytes_store_u32(f + 6, 0);          // chunk 0
        bytes_store_u32(f + 10, 32768);     // of 32768
        bytes_store_u32(f + 14, 1u << 31);  // 2 GiB in all
        transport_send_frame(net, peer, f, sizeof f);
    } else if (strcmp(what, "garbage") == 0) {
        uint8_t f[5] = {9, 9, 9, 9, 9};
        transport_send_frame(net, peer, f, sizeof f);
    }
    for (int i = 0; i < 100 && transport_flush(net); i++) {
        zclock_sleep(20);
    }
    // Until the frames have left: the node may still be in the handshake
    // (slow under valgrind), and ZeroMQ's context waits this long at exit.
    transport_set_linger(net, 20000);
    zclock_sleep(300);
    transport_destroy(&net);
    zsys_dir_delete("%s", dir);
    identity_destroy(&stranger);
    identity_destroy(&me);
    chain_destroy(&chain);
    free(w);
    return 0;
}
