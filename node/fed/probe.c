/* probe.c - one bounded CurveZMQ handshake with a peer (see probe.h). */
#include "node/fed/probe.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "node/fed/now.h"

// The monitor's event: its number and value (ZMTP's monitor frame 1).
static int s_event(zsock_t *mon, uint16_t *event, uint32_t *value)
{
    zmsg_t *m = zmsg_recv(mon);
    if (!m) {
        return -1;
    }
    zframe_t *f = zmsg_first(m);
    int rc = -1;
    if (f && zframe_size(f) == 6) {
        memcpy(event, zframe_data(f), 2);
        memcpy(value, zframe_data(f) + 2, 4);
        rc = 0;
    }
    zmsg_destroy(&m);
    return rc;
}

probe_result_t probe_peer(const identity_t *me, const identity_pub_t *peer,
                          const char *endpoint, int timeout_ms, char *why, size_t n)
{
    static int s_probes; // a monitor endpoint of its own per probe
    zsock_t *d = zsock_new(ZMQ_DEALER);
    if (!d) {
        snprintf(why, n, "cannot open a socket to dial %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        return PROBE_SILENT;
    }
    zsock_set_linger(d, 0);
    zsock_set_curve_serverkey_bin(d, peer->curve_pk);
    zsock_set_curve_secretkey_bin(d, identity_curve_sk(me));
    zsock_set_curve_publickey_bin(d, identity_public(me)->curve_pk);
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://fedsyn-probe-%d", s_probes++);
    zmq_socket_monitor(zsock_resolve(d), mon_ep,
                       ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    zsock_t *mon = zsock_new_pair(mon_ep);
    probe_result_t r = PROBE_SILENT;
    int connected = 0;
    uint32_t detail = 0;
    if (!mon || zsock_connect(d, "%s", endpoint) < 0) {
        snprintf(why, n, "cannot dial %s (the endpoint is malformed)", endpoint);
    } else {
        const int64_t end = now_mono_ms() + timeout_ms;
        int decided = 0;
        while (!decided) {
            const int64_t left = end - now_mono_ms();
            zmq_pollitem_t item = {zsock_resolve(mon), 0, ZMQ_POLLIN, 0};
            if (left <= 0 || zmq_poll(&item, 1, (long)left) <= 0) {
                break;
            }
            uint16_t ev;
            uint32_t val;
            if (s_event(mon, &ev, &val) < 0) {
                continue;
            }
            if (ev == ZMQ_EVENT_CONNECTED) {
                connected = 1;
            } else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                r = PROBE_ADMITTED;
                decided = 1;
            } else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                r = PROBE_REFUSED;
                detail = val;
                decided = 1;
            } else { // a protocol failure: no handshake from that key
                connected = 1;
                detail = val;
            }
        }
        if (r == PROBE_SILENT && connected) {
            r = PROBE_NO_HANDSHAKE;
        }
        switch (r) {
        case PROBE_ADMITTED:
            snprintf(why, n, "answers at %s and admits this site's key", endpoint);
            break;
        case PROBE_REFUSED:
            snprintf(why, n, "answers at %s but refuses this site's key (status %u): is this "
                     "key a member of the genesis or on its allow-list, and has the peer's node "
                     "started on that genesis?", endpoint, (unsigned)detail);
            break;
        case PROBE_NO_HANDSHAKE:
            snprintf(why, n, "a connection to %s, but no CurveZMQ handshake within %d ms: the "
                     "program there is not a fedsyn node, or not the key this configuration "
                     "names for it", endpoint, timeout_ms);
            break;
        case PROBE_SILENT:
            snprintf(why, n, "no answer at %s within %d ms: is its node started, and do the "
                     "firewalls between the sites let this machine reach that port?",
                     endpoint, timeout_ms);
            break;
        }
    }
    zmq_socket_monitor(zsock_resolve(d), NULL, 0);
    zsock_destroy(&mon);
    zsock_destroy(&d);
    return r;
}
