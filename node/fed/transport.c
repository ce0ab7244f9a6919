/* transport.c - CurveZMQ sockets, the authenticator, chunked messages with
 * two priorities (see transport.h). */
#include "node/fed/transport.h"

#include <czmq.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"

#define FRAME_WHOLE 1
#define FRAME_CHUNK 2
#define CHUNK_HEADER 18
// CurveZMQ checks ZMQ_MAXMSGSIZE against the encrypted frame (MESSAGE
// command, nonce, MAC: 33 bytes more), so the limit leaves room for them.
#define FRAME_LIMIT (TRANSPORT_CHUNK + CHUNK_HEADER + 256)
#define PEER_HWM 32      // frames libzmq may hold per peer beyond our queues (2 MB)
#define MAX_PARTIALS 64  // messages being reassembled at once

typedef struct {
    identity_pub_t id;
    char endpoint[TRANSPORT_ENDPOINT_MAX];
    zsock_t *dealer;       // outbound, NULL until the endpoint is known
    zlist_t *control;      // zframe_t * waiting, sent first
    zlist_t *bulk;         // zframe_t * waiting, sent when control is empty
    uint32_t next_msg_id;
    uint8_t rid[256];      // the routing id of its inbound connection
    size_t rid_len;
} peer_t;

typedef struct {
    int used;
    uint8_t rid[256];
    size_t rid_len;
    uint8_t type;
    uint32_t msg_id, next, count;
    size_t total, have;
    uint8_t *buf;
    int64_t touched_ms;
} partial_t;

struct transport {
    zactor_t *auth;
    zsock_t *inbox;
    zsock_t *monitor;
    char allow_dir[512];
    uint8_t curve_pk[IDENTITY_KEY_BYTES];
    uint8_t curve_sk[crypto_box_SECRETKEYBYTES];
    size_t max_msg;
    size_t n_peers;
    peer_t peers[TRANSPORT_MAX_PEERS];
    partial_t partial[MAX_PARTIALS];
    uint64_t bytes_in, bytes_out;
    // refused handshakes: the first few of each window are logged, the
    // rest counted (a stranger dialling thousands of times must not fill
    // the log)
    int64_t refused_since;  // start of the window (ms, monotonic)
    unsigned refused_logged, refused_quiet;
};

#define REFUSED_WINDOW_MS 10000
#define REFUSED_LOG_MAX 3 // refusals logged one by one per window

static void s_queue_destroy(zlist_t **q)
{
    if (*q) {
        zframe_t *f;
        while ((f = (zframe_t *)zlist_pop(*q))) {
            zframe_destroy(&f);
        }
        zlist_destroy(q);
    }
}

static void s_options(zsock_t *s, size_t max_frame)
{
    zsock_set_linger(s, 0);
    zsock_set_maxmsgsize(s, (int)max_frame);
    zsock_set_heartbeat_ivl(s, 1000);
    zsock_set_heartbeat_timeout(s, 5000);
    zsock_set_heartbeat_ttl(s, 6000);
    zsock_set_handshake_ivl(s, 5000);
}

transport_t *transport_new(const identity_t *me, const char *allow_dir, size_t max_msg,
                           fs_err_t *err)
{
    transport_t *t = xcalloc(1, sizeof *t);
    t->max_msg = max_msg;
    memcpy(t->curve_pk, identity_public(me)->curve_pk, IDENTITY_KEY_BYTES);
    memcpy(t->curve_sk, identity_curve_sk(me), crypto_box_SECRETKEYBYTES);
    snprintf(t->allow_dir, sizeof t->allow_dir, "%s", allow_dir);
    if (fsio_mkdirs(allow_dir, err) < 0) {
        transport_destroy(&t);
        return NULL;
    }
    // The authenticator first: a CURVE server socket bound without it
    // would accept every key.
    t->auth = zactor_new(zauth, NULL);
    if (!t->auth) {
        fs_err_set(err, FS_EIO, "cannot start the ZeroMQ authenticator (zauth); refusing to "
                   "listen without it");
        transport_destroy(&t);
        return NULL;
    }
    if (getenv("FEDSYN_ZAUTH_VERBOSE")) {
        zstr_send(t->auth, "VERBOSE");
        zsock_wait(t->auth);
    }
    if (zstr_sendx(t->auth, "CURVE", allow_dir, NULL) < 0 ||
        zsock_wait(t->auth) < 0) {
        fs_err_set(err, FS_EIO, "the authenticator did not accept its CURVE policy");
        transport_destroy(&t);
        return NULL;
    }
    t->inbox = zsock_new(ZMQ_ROUTER);
    s_options(t->inbox, FRAME_LIMIT);
    zsock_set_rcvhwm(t->inbox, 10000);
    zsock_set_curve_server(t->inbox, 1);
    zsock_set_curve_secretkey_bin(t->inbox, t->curve_sk);
    zsock_set_curve_publickey_bin(t->inbox, t->curve_pk);
    zsock_set_zap_domain(t->inbox, "fedsyn");
    // Refused handshakes and dropped connections (an oversized frame drops
    // the connection without telling the application) are logged from here.
    static int monitor_seq;
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://fedsyn-monitor-%d", monitor_seq++);
    if (zmq_socket_monitor(zsock_resolve(t->inbox), mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_DISCONNECTED) < 0) {
        fs_err_set(err, FS_EIO, "cannot monitor the inbox: %s", zmq_strerror(zmq_errno()));
        transport_destroy(&t);
        return NULL;
    }
    t->monitor = zsock_new(ZMQ_PAIR);
    zsock_connect(t->monitor, "%s", mon_ep);
    return t;
}

int transport_listen(transport_t *self, const char *endpoint, fs_err_t *err)
{
    if (zsock_bind(self->inbox, "%s", endpoint) < 0) {
        return fs_err_set(err, FS_EIO, "cannot listen on %s: %s (is another node using it?)",
                          endpoint, zmq_strerror(zmq_errno()));
    }
    return 0;
}

void transport_reconnect(transport_t *self, int peer)
{
    peer_t *p = &self->peers[peer];
    if (!p->dealer) {
        return;
    }
    char ep[TRANSPORT_ENDPOINT_MAX];
    snprintf(ep, sizeof ep, "%s", p->endpoint);
    // Frames queued in the old socket are lost with it; the node's
    // protocol resends what matters (hellos, updates per attempt, sync).
    zsock_destroy(&p->dealer);
    p->endpoint[0] = 0;
    transport_peer(self, &p->id, ep);
}

void transport_destroy(transport_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    transport_t *t = *self_p;
    for (size_t i = 0; i < t->n_peers; i++) {
        zsock_destroy(&t->peers[i].dealer);
        s_queue_destroy(&t->peers[i].control);
        s_queue_destroy(&t->peers[i].bulk);
    }
    for (int i = 0; i < MAX_PARTIALS; i++) {
        free(t->partial[i].buf);
    }
    if (t->inbox) {
        zmq_socket_monitor(zsock_resolve(t->inbox), NULL, 0);
    }
    zsock_destroy(&t->monitor);
    zsock_destroy(&t->inbox);
    zactor_destroy(&t->auth);
    sodium_memzero(t->curve_sk, sizeof t->curve_sk);
    free(t);
    *self_p = NULL;
}

int transport_allow_any(transport_t *self, fs_err_t *err)
{
    if (zstr_sendx(self->auth, "CURVE", CURVE_ALLOW_ANY, NULL) < 0 || zsock_wait(self->auth) < 0) {
        return fs_err_set(err, FS_EIO, "the authenticator did not accept the open policy");
    }
    return 0;
}

int transport_allow(transport_t *self, const identity_pub_t *id, fs_err_t *err)
{
    char path[700], hex[2 * IDENTITY_KEY_BYTES + 1];
    bytes_to_hex(id->curve_pk, IDENTITY_KEY_BYTES, hex);
    snprintf(path, sizeof path, "%s/%.16s.cert", self->allow_dir, hex);
    if (zsys_file_exists(path)) {
        return 0;
    }
    // zcert_save_public writes in place; written beside the directory and
    // renamed in, a crash never leaves a half certificate that zauth would
    // skip (and that would look present here) for good.
    char tmp[720];
    snprintf(tmp, sizeof tmp, "%s.tmp", self->allow_dir);
    uint8_t zero[crypto_box_SECRETKEYBYTES] = {0};
    zcert_t *cert = zcert_new_from(id->curve_pk, zero);
    zcert_set_meta(cert, "name", "%s", id->name);
    int rc = zcert_save_public(cert, tmp);
    zcert_destroy(&cert);
    if (rc < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return fs_err_set(err, FS_EIO, "%s: cannot write the peer certificate", path);
    }
    return 0;
}

int transport_disallow(transport_t *self, const identity_pub_t *id, fs_err_t *err)
{
    char path[700], hex[2 * IDENTITY_KEY_BYTES + 1];
    bytes_to_hex(id->curve_pk, IDENTITY_KEY_BYTES, hex);
    snprintf(path, sizeof path, "%s/%.16s.cert", self->allow_dir, hex);
    if (unlink(path) < 0 && errno != ENOENT) {
        return fs_err_set(err, FS_EIO, "%s: cannot remove the certificate: %s", path,
                          strerror(errno));
    }
    return 0;
}

int transport_find(const transport_t *self, const uint8_t sign_pk[IDENTITY_KEY_BYTES])
{
    for (size_t i = 0; i < self->n_peers; i++) {
        if (memcmp(self->peers[i].id.sign_pk, sign_pk, IDENTITY_KEY_BYTES) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int transport_peer(transport_t *self, const identity_pub_t *id, const char *endpoint)
{
    int i = transport_find(self, id->sign_pk);
    if (i < 0) {
        if (self->n_peers == TRANSPORT_MAX_PEERS) {
            return -1;
        }
        i = (int)self->n_peers++;
        peer_t *p = &self->peers[i];
        memset(p, 0, sizeof *p);
        p->id = *id;
        p->control = zlist_new();
        p->bulk = zlist_new();
    }
    peer_t *p = &self->peers[i];
    if (!p->dealer && endpoint && endpoint[0] && strlen(endpoint) < TRANSPORT_ENDPOINT_MAX) {
        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
        p->dealer = zsock_new(ZMQ_DEALER);
        if (!p->dealer) {
            // out of descriptors (a flood of connections, say): czmq's setters
            // would assert on NULL; the next hello or sync dials again
            log_warn("peer %s: cannot open a socket to dial %s: %s; will retry", p->id.name,
                     endpoint, zmq_strerror(zmq_errno()));
            return i;
        }
        s_options(p->dealer, FRAME_LIMIT);
        zsock_set_sndhwm(p->dealer, PEER_HWM);
        zsock_set_reconnect_ivl(p->dealer, 200);
        zsock_set_reconnect_ivl_max(p->dealer, 2000);
        zsock_set_curve_serverkey_bin(p->dealer, p->id.curve_pk);
        zsock_set_curve_secretkey_bin(p->dealer, self->curve_sk);
        zsock_set_curve_publickey_bin(p->dealer, self->curve_pk);
        if (zsock_connect(p->dealer, "%s", endpoint) < 0) {
            log_warn("peer %s: cannot connect to %s: %s", p->id.name, endpoint,
                     zmq_strerror(zmq_errno()));
            zsock_destroy(&p->dealer);
        }
    }
    return i;
}

void transport_bind_rid(transport_t *self, int peer, const uint8_t *rid, size_t rid_len)
{
    peer_t *p = &self->peers[peer];
    p->rid_len = rid_len < sizeof p->rid ? rid_len : sizeof p->rid;
    memcpy(p->rid, rid, p->rid_len);
}

size_t transport_peer_count(const transport_t *self)
{
    return self->n_peers;
}

const identity_pub_t *transport_peer_id(const transport_t *self, int peer)
{
    return &self->peers[peer].id;
}

const char *transport_peer_endpoint(const transport_t *self, int peer)
{
    return self->peers[peer].endpoint;
}

int transport_peer_connected(const transport_t *self, int peer)
{
    return self->peers[peer].dealer != NULL;
}

void *transport_inbox(transport_t *self)
{
    return self->inbox;
}

void *transport_monitor(transport_t *self)
{
    return self->monitor;
}

void transport_counters(const transport_t *self, uint64_t *bytes_in, uint64_t *bytes_out)
{
    *bytes_in = self->bytes_in;
    *bytes_out = self->bytes_out;
}

void transport_send(transport_t *self, int peer, uint8_t type, const uint8_t *data, size_t n,
                    int bulk)
{
    peer_t *p = &self->peers[peer];
    zlist_t *q = bulk ? p->bulk : p->control;
    if (n <= TRANSPORT_CHUNK) {
        zframe_t *f = zframe_new(NULL, n + 2);
        uint8_t *d = zframe_data(f);
        d[0] = FRAME_WHOLE;
        d[1] = type;
        if (n) {
            memcpy(d + 2, data, n);
        }
        zlist_append(q, f);
        return;
    }
    uint32_t id = p->next_msg_id++;
    uint32_t count = (uint32_t)((n + TRANSPORT_CHUNK - 1) / TRANSPORT_CHUNK);
    for (uint32_t i = 0; i < count; i++) {
        size_t off = (size_t)i * TRANSPORT_CHUNK;
        size_t len = n - off < TRANSPORT_CHUNK ? n - off : TRANSPORT_CHUNK;
        zframe_t *f = zframe_new(NULL, CHUNK_HEADER + len);
        uint8_t *d = zframe_data(f);
        d[0] = FRAME_CHUNK;
        d[1] = type;
        bytes_store_u32(d + 2, id);
        bytes_store_u32(d + 6, i);
        bytes_store_u32(d + 10, count);
        bytes_store_u32(d + 14, (uint32_t)n);
        memcpy(d + CHUNK_HEADER, data + off, len);
        zlist_append(q, f);
    }
}

void transport_set_linger(transport_t *self, int ms)
{
    for (size_t i = 0; i < self->n_peers; i++) {
        if (self->peers[i].dealer) {
            zsock_set_linger(self->peers[i].dealer, ms);
        }
    }
}

void transport_send_frame(transport_t *self, int peer, const uint8_t *frame, size_t n)
{
    zlist_append(self->peers[peer].control, zframe_new(frame, n));
}

// Sends from one queue until the socket would block; 0 when it blocked.
static int s_drain(transport_t *self, peer_t *p, zlist_t *q)
{
    zframe_t *f;
    while ((f = (zframe_t *)zlist_first(q))) {
        size_t n = zframe_size(f);
        if (zframe_send(&f, p->dealer, ZFRAME_DONTWAIT) < 0) {
            return 0; // still ours, still first in the queue
        }
        self->bytes_out += n;
        zlist_pop(q);
    }
    return 1;
}

size_t transport_flush(transport_t *self)
{
    size_t left = 0;
    for (size_t i = 0; i < self->n_peers; i++) {
        peer_t *p = &self->peers[i];
        if (p->dealer && s_drain(self, p, p->control)) {
            // one bulk frame at a time, so that control queued meanwhile
            // goes next
            while (zlist_size(p->bulk) && zlist_size(p->control) == 0) {
                zframe_t *f = (zframe_t *)zlist_first(p->bulk);
                size_t n = zframe_size(f);
                if (zframe_send(&f, p->dealer, ZFRAME_DONTWAIT) < 0) {
                    break;
                }
                self->bytes_out += n;
                zlist_pop(p->bulk);
            }
        }
        left += zlist_size(p->control) + zlist_size(p->bulk);
    }
    return left;
}

static int s_peer_of_rid(const transport_t *self, const uint8_t *rid, size_t n)
{
    for (size_t i = 0; i < self->n_peers; i++) {
        if (self->peers[i].rid_len == n && memcmp(self->peers[i].rid, rid, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const char *s_who(const transport_t *self, int peer)
{
    return peer >= 0 ? self->peers[peer].id.name : "a connection before its hello";
}

static partial_t *s_partial(transport_t *self, const uint8_t *rid, size_t rid_len)
{
    partial_t *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < MAX_PARTIALS; i++) {
        partial_t *q = &self->partial[i];
        if (q->used && q->rid_len == rid_len && memcmp(q->rid, rid, rid_len) == 0) {
            return q;
        }
        if (!q->used && !free_slot) {
            free_slot = q;
        }
        if (q->used && (!oldest || q->touched_ms < oldest->touched_ms)) {
            oldest = q;
        }
    }
    if (!free_slot) {
        log_warn("transport: %d messages in reassembly; dropping the oldest", MAX_PARTIALS);
        free(oldest->buf);
        memset(oldest, 0, sizeof *oldest);
        free_slot = oldest;
    }
    return free_slot;
}

int transport_read(transport_t *self, transport_msg_t *msg)
{
    zmsg_t *m = zmsg_recv(self->inbox);
    if (!m) {
        return 0;
    }
    zframe_t *rid = zmsg_pop(m);
    zframe_t *body = zmsg_pop(m);
    int rc = 0;
    if (!rid || !body || zmsg_size(m) != 0 || zframe_size(rid) > 255) {
        log_warn("transport: dropped a malformed message (expected one frame)");
        goto done;
    }
    size_t n = zframe_size(body);
    const uint8_t *d = zframe_data(body);
    self->bytes_in += n;
    int peer = s_peer_of_rid(self, zframe_data(rid), zframe_size(rid));
    memset(msg, 0, sizeof *msg);
    msg->peer = peer;
    msg->rid_len = zframe_size(rid);
    memcpy(msg->rid, zframe_data(rid), msg->rid_len);
    if (n >= 2 && d[0] == FRAME_WHOLE) {
        msg->type = d[1];
        msg->n = n - 2;
        msg->data = xmalloc(msg->n + 1);
        memcpy(msg->data, d + 2, msg->n);
        rc = 1;
        goto done;
    }
    if (n < CHUNK_HEADER || d[0] != FRAME_CHUNK) {
        log_warn("transport: dropped a frame of %zu bytes from %s: unknown framing (byte 0 = %d)",
                 n, s_who(self, peer), n ? d[0] : -1);
        goto done;
    }
    uint32_t id = bytes_load_u32(d + 2), idx = bytes_load_u32(d + 6);
    uint32_t count = bytes_load_u32(d + 10), total = bytes_load_u32(d + 14);
    size_t len = n - CHUNK_HEADER;
    partial_t *q = s_partial(self, msg->rid, msg->rid_len);
    if (idx == 0) {
        if (q->used) {
            log_warn("transport: %s abandoned a message after %u of %u chunks", s_who(self, peer),
                     q->next, q->count);
            free(q->buf);
        }
        memset(q, 0, sizeof *q);
        if (total > self->max_msg || total <= TRANSPORT_CHUNK ||
            count != (total + TRANSPORT_CHUNK - 1) / TRANSPORT_CHUNK) {
            log_warn("transport: dropped a %u-byte message from %s: the limit is %zu bytes and "
                     "%u chunks must carry it", total, s_who(self, peer), self->max_msg, count);
            goto done;
        }
        q->used = 1;
        q->rid_len = msg->rid_len;
        memcpy(q->rid, msg->rid, q->rid_len);
        q->type = d[1];
        q->msg_id = id;
        q->count = count;
        q->total = total;
        q->buf = xmalloc(total);
    } else if (!q->used || q->msg_id != id || q->next != idx || q->total != total ||
               q->type != d[1]) {
        if (q->used) {
            log_warn("transport: dropped a message from %s: chunk %u out of order", s_who(self,
                     peer), idx);
            free(q->buf);
            memset(q, 0, sizeof *q);
        }
        goto done;
    }
    size_t want = idx + 1 < q->count ? TRANSPORT_CHUNK : q->total - (size_t)idx * TRANSPORT_CHUNK;
    if (len != want) {
        log_warn("transport: dropped a message from %s: chunk %u holds %zu bytes, expected %zu",
                 s_who(self, peer), idx, len, want);
        free(q->buf);
        memset(q, 0, sizeof *q);
        goto done;
    }
    memcpy(q->buf + q->have, d + CHUNK_HEADER, len);
    q->have += len;
    q->next++;
    q->touched_ms = zclock_mono();
    if (q->next == q->count) {
        msg->type = q->type;
        msg->data = q->buf;
        msg->n = q->total;
        memset(q, 0, sizeof *q);
        rc = 1;
    }
done:
    zframe_destroy(&rid);
    zframe_destroy(&body);
    zmsg_destroy(&m);
    return rc;
}

void transport_read_monitor(transport_t *self)
{
    zmsg_t *m = zmsg_recv(self->monitor);
    if (!m) {
        return;
    }
    zframe_t *ev = zmsg_first(m);
    zframe_t *addr = zmsg_next(m);
    if (ev && zframe_size(ev) >= 6) {
        uint16_t code = (uint16_t)(zframe_data(ev)[0] | zframe_data(ev)[1] << 8);
        char *who = addr ? zframe_strdup(addr) : NULL;
        const int refused = code == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                            code == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
        const int64_t now = zclock_mono();
        if (refused && now - self->refused_since >= REFUSED_WINDOW_MS) {
            if (self->refused_quiet) {
                log_warn("refused %u more connection%s in %.0f s, not logged one by one",
                         self->refused_quiet, self->refused_quiet == 1 ? "" : "s",
                         (double)(now - self->refused_since) / 1000.0);
            }
            self->refused_since = now;
            self->refused_logged = self->refused_quiet = 0;
        }
        if (refused && self->refused_logged >= REFUSED_LOG_MAX) {
            self->refused_quiet++;
        } else if (code == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            self->refused_logged++;
            log_warn("refused a connection on %s: its CurveZMQ key is neither a member's nor a "
                     "permitted joiner's", who ? who : "?");
        } else if (code == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            self->refused_logged++;
            log_warn("refused a connection on %s: ZMTP handshake failed (not CurveZMQ?)",
                     who ? who : "?");
        } else if (code == ZMQ_EVENT_DISCONNECTED) {
            log_debug("a connection from %s closed (peer gone, heartbeat timeout, or a frame "
                      "above the %u-byte limit)", who ? who : "?",
                      (unsigned)FRAME_LIMIT);
        }
        free(who);
    }
    zmsg_destroy(&m);
}
