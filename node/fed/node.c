/* node.c - the federation node: its parts wired together, its set-up and
 * the event loop, the one place where the node's actions are performed
 * (see node.h, docs/federation.md).
 *
 * The node owns its parts: the store (ledger and model, store.h), the mesh
 * (peers, mesh.h), the membership state (node/proto/members.h), its round
 * (round_io.h) and the control socket (control.h); each is given the
 * others it needs when it is made.  Messages go to gossip.h. */
#include "node/fed/node.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ledger/budget.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/data/dataset.h"
#include "node/data/partition.h"
#include "node/fed/control.h"
#include "node/fed/gossip.h"
#include "node/fed/membership.h"
#include "node/fed/mesh.h"
#include "node/fed/now.h"
#include "node/fed/quality_log.h"
#include "node/fed/round_io.h"
#include "node/fed/site_check.h"
#include "node/fed/store.h"
#include "node/nn/blas.h"

static_assert(CONFIG_MAX_CLIENTS == PARTITION_MAX_CLIENTS,
              "a configuration's data/clients bound is the partitioner's");

#define LINGER_MS 3000 // after the last round: serve peers that lag

struct node {
    node_config_t cfg;
    identity_t *me;
    const identity_pub_t *pub;
    int lock_fd;          // holds DIR/node.lock: one node per state folder
    store_t *store;       // ledger and model
    mesh_t *mesh;         // peers
    members_t mem;        // pending joins and leaves, our own join and leave
    round_io_t *round;    // this node's round, trainer, openers, scorer
    control_t *control;   // `fedsyn status`, `fedsyn node leave`
    int64_t finished_at;  // when the planned rounds were done
    int64_t spent_at;     // record-level DP: when our leave for a spent budget began
    uint64_t spent_height; // ... and the height then
};

void node_control_endpoint(const char *dir, char *out, size_t n)
{
    control_endpoint(dir, out, n);
}

// Record-level DP (genesis record_dp, docs/privacy.md): the member's
// trainer runs DP-SGD on its discriminator with the genesis's clip per
// record, sampling its records at q = (batch / 2) / n, with the noise
// multiplier that spends the budget (less a thousandth, for rounding) over
// the planned rounds (train/dp-rounds, else the genesis's, else 100); the ledger
// keeps the account, and the member stops when a round would pass it.
// Returns 1 when its records' budget allows no further round (the node
// then holds no trainer: it neither trains nor asks to join again).
static int s_record_dp_setup(node_t *self, const dataset_t *data, workload_arch_t *la,
                             fs_err_t *err)
{
    const genesis_t *g = &store_state(self->store)->genesis;
    if (!g->record_dp) {
        return 0;
    }
    if (la->kind != WORKLOAD_DCGAN || la->gan.d_mbstd) {
        return fs_err_set(err, FS_EINVAL, "the genesis asks for record-level DP (DP-SGD on a "
                          "GAN's discriminator), and model %s has none this node can train",
                          g->model);
    }
    double q = (double)(self->cfg.batch / 2) / (double)data->n;
    q = q > 1 ? 1 : q;
    const uint64_t steps = g->local_iters ? g->local_iters : 1;
    const uint32_t planned = self->cfg.dp_rounds ? (uint32_t)self->cfg.dp_rounds
                             : g->rounds         ? g->rounds
                                                 : 100;
    const double sigma =
        budget_dpsgd_sigma(q, (uint64_t)planned * steps, g->record_delta, g->record_eps * 0.999);
    if (!isfinite(sigma)) {
        return fs_err_set(err, FS_EINVAL, "record-level DP: no noise multiplier up to 1e4 keeps "
                          "%u rounds of %llu DP-SGD steps at q %.4g within epsilon %g",
                          planned, (unsigned long long)steps, q, g->record_eps);
    }
    const uint8_t *me = self->pub->sign_pk;
    const ledger_state_t *st = store_state(self->store);
    const double after = ledger_state_record_eps(st, me, q, sigma, steps);
    if (!ledger_state_record_within(st, after)) {
        log_warn("record-level DP: my records have spent epsilon %.4g of the budget %g, and one "
                 "more round would bring it to %.4g: this node does not train or join again; "
                 "it only relays and verifies", ledger_state_record_eps(st, me, 0, 0, 0),
                 g->record_eps, after);
        return 1;
    }
    la->gan_dp_clip = g->record_clip;
    la->gan_dp_sigma = sigma;
    la->gan_dp_q = q;
    la->gan_d_steps = 1;
    round_io_set_record_dp(self->round, q, sigma, steps);
    log_info("record-level DP: DP-SGD on the discriminator, clip %g per record, q %.4g "
             "(%ld of %d images a step), noise multiplier %.4g: %u rounds of %llu steps spend "
             "epsilon %.4g of the budget %g (delta %g); my records have spent %.4g so far",
             g->record_clip, q, self->cfg.batch / 2, data->n, sigma, planned,
             (unsigned long long)steps,
             budget_dpsgd_epsilon(q, sigma, (uint64_t)planned * steps, g->record_delta, 0, NULL),
             g->record_eps, g->record_delta,
             ledger_state_record_eps(store_state(self->store), me, 0, 0, 0));
    return 0;
}

// Under record-level DP the fakes ask for public labels only: the
// configured label group (data/labels), or every label when the member's
// share comes from a partition (which labels it holds is then its data).
static int s_record_dp_labels(node_t *self, local_t *local, fs_err_t *err)
{
    uint8_t keep[10], labels[10];
    int n = 0;
    const char *spec = self->cfg.partition[0] ? "" : self->cfg.labels;
    if (spec[0] && dataset_parse_labels(spec, keep, err) < 0) {
        return err ? err->code : FS_EINVAL; // (the data loader read it already)
    }
    char said[32] = "";
    for (int c = 0; c < 10; c++) {
        if (!spec[0] || keep[c]) {
            labels[n++] = (uint8_t)c;
            snprintf(said + strlen(said), sizeof said - strlen(said), " %d", c);
        }
    }
    log_info("record-level DP: the fakes ask for public labels only:%s", said);
    return local_public_labels(local, labels, n, err);
}

// Once the genesis is known: the model, the scorer, admission, the
// member's data and trainer, and the first round.  (A joiner's first sync
// reply calls it through gossip.h.)
static int s_setup_ledger(void *node, fs_err_t *err)
{
    node_t *self = node;
    int have_global, rc;
    if ((rc = store_setup_model(self->store, &have_global, err)) < 0) {
        return rc;
    }
    uint8_t active[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
    if (ledger_state_active(store_state(self->store), active) == 0) {
        return fs_err_set(err, FS_EINVAL, "every member of this federation has left (block "
                          "%llu recorded the last leave): nobody can close a round or admit a "
                          "member again; found a new federation with 'fedsyn ledger init' (this "
                          "ledger stays valid for audit)",
                          (unsigned long long)store_height(self->store) - 1);
    }
    const workload_arch_t *arch = store_arch(self->store);
    scorer_t *scorer = NULL;
    if (self->cfg.score_every > 0 && !round_io_scorer(self->round)) {
        scorer_config_t sc = {self->cfg.name, self->cfg.dir, self->cfg.evaluator,
                              self->cfg.test_dir, self->cfg.dataset,
                              (int)self->cfg.score_samples, *arch};
        if (!(scorer = scorer_new(&sc, err))) {
            return fs_err_prefix(err, err ? err->code : FS_EINVAL, "%s: ", self->cfg.file);
        }
        log_info("quality: the global model is scored every %ld round%s (%ld samples) into "
                 "%s/%s", self->cfg.score_every, self->cfg.score_every == 1 ? "" : "s",
                 self->cfg.score_samples, self->cfg.dir, QUALITY_LOG_FILE);
    }
    if (store_state(self->store)->genesis.admission == ADMIT_OPEN &&
        (rc = mesh_allow_any(self->mesh, err)) < 0) {
        scorer_destroy(&scorer);
        return rc;
    }
    local_t *local = NULL;
    uint64_t samples = 0;
    dataset_t *data = NULL;
    if ((rc = site_load_data(&self->cfg, &data, err)) < 0) {
        scorer_destroy(&scorer);
        return rc;
    }
    workload_arch_t la = *arch; // the trainer's: with DP-SGD's settings when asked
    const int had_data = data != NULL;
    if (data && (rc = s_record_dp_setup(self, data, &la, err)) != 0) {
        dataset_destroy(&data); // an error, or this member's budget is spent
        if (rc < 0) {
            scorer_destroy(&scorer);
            return rc;
        }
    }
    if (data) {
        // Fewer images than a batch is fine: the trainers reshuffle and go on
        // (a skewed Dirichlet share can be that small).
        samples = (uint64_t)data->n;
        uint64_t seed = 0;
        for (int i = 0; i < 8; i++) {
            seed = seed << 8 | self->pub->sign_pk[i];
        }
        local = local_new(&la, data, seed, (int)self->cfg.batch, (int)self->cfg.log_every, err);
        if (!local) {
            scorer_destroy(&scorer);
            return err ? err->code : FS_EINVAL;
        }
        if (la.gan_dp_clip > 0 && (rc = s_record_dp_labels(self, local, err)) < 0) {
            local_destroy(&local);
            scorer_destroy(&scorer);
            return rc;
        }
        int counts[10] = {0};
        if (data->y) {
            dataset_label_counts(data, counts);
        }
        char share[96];
        if (self->cfg.partition[0]) {
            snprintf(share, sizeof share, "%s share %ld of %ld", self->cfg.partition,
                     self->cfg.client, self->cfg.clients);
        } else {
            snprintf(share, sizeof share, "labels %s",
                     self->cfg.labels[0] ? self->cfg.labels : "all");
        }
        log_info("local data: %d images (%s; per label %d %d %d %d %d %d %d %d %d %d), "
                 "%s with %zu parameters", data->n, share, counts[0], counts[1], counts[2],
                 counts[3], counts[4], counts[5], counts[6], counts[7], counts[8], counts[9],
                 workload_kind_name(arch), store_model_size(self->store));
    }
    if ((rc = round_io_setup(self->round, local, samples, scorer, have_global, err)) < 0) {
        return rc;
    }
    const ledger_state_t *st = store_state(self->store);
    if (!store_is_active(self->store, self->pub->sign_pk) && !local && !had_data) {
        log_warn("%s is not an active member of this federation and holds no data: it only "
                 "relays and verifies (a member that trains needs data/dir)", self->pub->name);
    } else if (!store_is_active(self->store, self->pub->sign_pk) && local) {
        // said once, plainly: the node goes on asking to join every 3 s
        log_warn("%s is not an active member of this federation (ledger height %llu): it will "
                 "ask to join, and a member's next block admits it%s", self->pub->name,
                 (unsigned long long)store_height(self->store),
                 st->genesis.admission == ADMIT_OPEN ? "" : " if the genesis's allow-list "
                 "names its key ('fedsyn netcfg check' says whether it does)");
    }
    return 0;
}

// Every peer connection, accepted or not yet authenticated, is a descriptor:
// the soft limit (often 1,024) is raised to the hard one, so that a flood
// of connections meets libzmq's handshake timeout (5 s) long before it
// meets the limit.  Past the limit new connections are refused by the
// kernel, and the node goes on (transport.c: a socket that cannot be
// opened is dialled again later).
static void s_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            log_warn("cannot raise the open-file limit to %llu: %s",
                     (unsigned long long)rl.rlim_max, strerror(errno));
        }
    }
}

node_t *node_new(const node_config_t *cfg, fs_err_t *err)
{
    node_t *self = xcalloc(1, sizeof *self);
    self->lock_fd = -1;
    self->cfg = *cfg;
    cfg = &self->cfg; // the parts borrow the node's copy
    log_set_prefix(cfg->name);
    s_raise_fd_limit();
    if (getenv("FEDSYN_DEBUG")) {
        log_set_level(FS_LOG_DEBUG);
    }
    blas_set_threads((int)cfg->threads);
    if (fsio_mkdirs(cfg->dir, err) < 0) {
        goto fail;
    }
    // One node per state folder, decided before anything in it is touched:
    // a second start must leave the running node's control socket alone.
    char lock[CONFIG_PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s/node.lock", cfg->dir);
    self->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0 || flock(self->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fs_err_set(err, FS_EIO, "%s: another fedsyn node runs on this state folder (node/dir); "
                   "stop it first ('fedsyn status --config ...' reaches it), or give this node "
                   "a folder of its own", cfg->dir);
        goto fail;
    }
    if (cfg->log_json[0] && log_open_json(cfg->log_json, cfg->name, err) < 0) {
        goto fail; // after the lock: two nodes never append to one file
    }
    self->me = identity_load(cfg->keys, err);
    if (!self->me) {
        fs_err_prefix(err, FS_EINVAL, "node/keys: ");
        goto fail;
    }
    self->pub = identity_public(self->me);
    members_init(&self->mem, self->pub->sign_pk, 0);
    self->store = store_new(cfg);
    if (!(self->mesh = mesh_new(cfg, self->me, self->store, err))) {
        goto fail;
    }
    self->round = round_io_new(self->me, self->store, self->mesh, &self->mem, cfg->score_every);
    if (!(self->control = control_new(cfg->dir, err)) || store_open(self->store, err) < 0) {
        goto fail;
    }
    if (store_chain(self->store) && s_setup_ledger(self, err) < 0) {
        goto fail;
    }
    mesh_allow_members(self->mesh);
    // Only now, with every key it must admit written, does the inbox listen.
    if (mesh_listen(self->mesh, err) < 0) {
        goto fail;
    }
    char fpr[IDENTITY_FPR_CHARS];
    identity_fingerprint(self->pub, fpr);
    log_info("listening on %s as %s (%s)", cfg->listen, self->pub->name, fpr);
    return self;
fail:
    node_destroy(&self);
    return NULL;
}

void node_destroy(node_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    node_t *self = *self_p;
    round_io_destroy(&self->round); // its openers use the identity
    store_destroy(&self->store);
    members_free(&self->mem);
    control_destroy(&self->control);
    mesh_destroy(&self->mesh);
    identity_destroy(&self->me);
    if (self->lock_fd >= 0) {
        close(self->lock_fd); // releases the folder
    }
    if (self->cfg.log_json[0]) {
        log_close_json();
    }
    free(self);
    *self_p = NULL;
}

static void s_tick(node_t *self)
{
    int64_t now = now_mono_ms();
    peers_t *peers = mesh_peers(self->mesh);
    peers_actions_t pa;
    peers_tick_hello(peers, now, &pa);
    mesh_perform(self->mesh, &pa);
    if (!store_chain(self->store)) {
        // a newcomer waiting for the members' admission: its dials were
        // refused, and nothing else would make it dial again (a node with a
        // ledger re-dials when a peer's hello says it does not hear it; it
        // does not re-dial peers it never heard, whose queued frames a
        // re-dial would drop: a node at its descriptor limit hears nobody)
        peers_tick_redial(peers, mesh_peer_count(self->mesh), now, &pa);
        mesh_perform(self->mesh, &pa);
    }
    if (!store_chain(self->store)) {
        return; // the genesis comes with the first sync reply
    }
    // membership: our leave (LEFT once a block recorded it), its notice
    // again, our join request once caught up (none after the planned rounds)
    const uint64_t height = store_height(self->store);
    size_t n_peers = mesh_peer_count(self->mesh);
    int caught_up = !store_done(self->store) && n_peers && !peers_behind(peers, n_peers, height);
    members_actions_t ma;
    members_tick(&self->mem, store_state(self->store), store_fed_id(self->store), self->me,
                 caught_up, now, &ma);
    membership_perform(self->mesh, &self->mem, &ma);
    if (self->mem.left) {
        for (int i = 0; i < ma.n; i++) {
            if (ma.act[i].kind == MEMBERS_ACT_LEFT) {
                log_info("left the federation (recorded in block %llu)",
                         (unsigned long long)height - 1);
            }
        }
        return;
    }
    if (round_io_record_spent(self->round) && self->mem.leaving) {
        // A block records our leave only if someone contributes to it:
        // when every member's budget is spent at once, nobody does.  After
        // three rounds' deadlines without a block, stop anyway.
        const genesis_t *g = &store_state(self->store)->genesis;
        if (!self->spent_at || height != self->spent_height) {
            self->spent_at = now;
            self->spent_height = height;
        } else if (!self->finished_at &&
                   now - self->spent_at > 3 * ((int64_t)g->round_timeout_ms + g->attempt_extra_ms)) {
            log_warn("record-level DP: no block recorded my leave in %lld s (no member "
                     "contributes: every budget may be spent); this node stops, and members "
                     "that go on evict it as inactive",
                     (long long)((now - self->spent_at) / 1000));
            self->finished_at = now;
        }
    }
    if (store_done(self->store) || self->finished_at) {
        if (!self->finished_at) {
            self->finished_at = now;
            log_info("the federation's %u planned rounds are done", store_planned(self->store));
        }
        return;
    }
    if (!round_io_round(self->round)->have_model) {
        peers_tick_sync(peers, n_peers, height, now, &pa);
        mesh_perform(self->mesh, &pa);
        return;
    }
    round_io_set_behind(self->round, n_peers && peers_behind(peers, n_peers, height));
    round_io_tick(self->round, now);
}

static void s_control(node_t *self)
{
    control_cmd_t c = control_receive(self->control);
    char *reply = NULL;
    if (c == CONTROL_STATUS || c == CONTROL_STATUS_JSON) {
        reply = xmalloc(CONTROL_REPLY_MAX);
        control_status(self->store, self->mesh, self->round, &self->mem,
                       c == CONTROL_STATUS_JSON, reply, CONTROL_REPLY_MAX);
    } else if (c == CONTROL_LEAVE) {
        membership_start_leave(&self->mem, round_io_round(self->round), self->store, self->mesh,
                               self->me);
        reply = xstrdup(self->mem.leaving ? "leaving: the next block records it\n"
                                          : "not an active member; stopping\n");
    } else if (c == CONTROL_MOTION_ADMIT || c == CONTROL_MOTION_REMOVE ||
               c == CONTROL_MOTION_SIGN) {
        reply = xmalloc(CONTROL_REPLY_MAX);
        int action = c == CONTROL_MOTION_ADMIT    ? MOTION_ADMIT
                     : c == CONTROL_MOTION_REMOVE ? MOTION_REMOVE
                                                  : 0;
        (void)membership_command(&self->mem, self->store, self->mesh, self->me, action,
                                 control_arg(self->control), reply, CONTROL_REPLY_MAX);
    } else if (c == CONTROL_MOTIONS) {
        reply = xmalloc(CONTROL_REPLY_MAX);
        control_motions(self->store, &self->mem, reply, CONTROL_REPLY_MAX);
    }
    if (reply) {
        control_reply(self->control, reply);
    }
    free(reply);
}

int node_run(node_t *self, volatile int *stop, volatile int *leave, fs_err_t *err)
{
    transport_t *net = mesh_transport(self->mesh);
    opener_t *opener = round_io_opener(self->round);
    const gossip_t gossip = {self->store, self->mesh, self->round, &self->mem, s_setup_ledger,
                             self};
    zpoller_t *poller = zpoller_new(transport_inbox(net), transport_monitor(net),
                                    control_socket(self->control), NULL);
    for (int i = 0; i < OPENER_THREADS; i++) {
        zpoller_add(poller, opener_pipe(opener, i));
    }
    int local_polled = 0; // a joiner's trainer comes with the genesis
    int rc = 0;
    while (!*stop) {
        if (*leave || (round_io_record_spent(self->round) && !self->mem.leaving &&
                       store_is_active(self->store, self->pub->sign_pk))) {
            *leave = 0; // (a member whose records' budget is spent leaves too)
            membership_start_leave(&self->mem, round_io_round(self->round), self->store,
                                   self->mesh, self->me);
        }
        local_t *local = round_io_local(self->round);
        if (local && !local_polled) {
            zpoller_add(poller, local_pipe(local));
            local_polled = 1;
        }
        size_t queued = transport_flush(net);
        round_event_t oe = {.kind = ROUND_EV_OUTBOX, .count = queued};
        round_actions_t none;
        round_on_event(round_io_round(self->round), &oe, now_mono_ms(), &none);
        if (queued == 0 && store_save_pending(self->store)) {
            store_save_now(self->store);
        }
        void *which = zpoller_wait(poller, queued ? 1 : 50);
        if (which == transport_inbox(net)) {
            transport_msg_t msg;
            // drain what is there (bounded, so ticks still run); a new
            // block ends the drain at once, so that the tick starts this
            // node's training for the next round before the updates queued
            // behind it are opened (an aggregator's own update then trains
            // on the other core while it opens theirs)
            const uint64_t height = store_height(self->store);
            for (int k = 0; k < 256 && (zsock_events(which) & ZMQ_POLLIN); k++) {
                if (transport_read(net, &msg) == 1) {
                    gossip_handle(&gossip, &msg);
                    free(msg.data);
                    if (store_height(self->store) != height) {
                        break;
                    }
                }
            }
        } else if (which == transport_monitor(net)) {
            transport_read_monitor(net);
        } else if (which == control_socket(self->control)) {
            s_control(self);
        } else if (local && which == local_pipe(local)) {
            round_io_training_done(self->round);
        } else if (which) {
            for (int i = 0; i < OPENER_THREADS; i++) {
                if (which == opener_pipe(opener, i)) {
                    open_job_t *job = opener_collect(opener, which);
                    if (job) {
                        round_io_finish_update(self->round, job);
                    }
                }
            }
        }
        s_tick(self);
        if (self->mem.left || store_fatal(self->store)) {
            break;
        }
        // Linger to serve lagging peers; a peer that is gone keeps its
        // queue full, so the wait for an empty queue is bounded too.
        if (self->finished_at && now_mono_ms() - self->finished_at > LINGER_MS &&
            (transport_flush(net) == 0 || now_mono_ms() - self->finished_at > 3 * LINGER_MS)) {
            break;
        }
    }
    for (int k = 0; k < 100 && !self->finished_at && transport_flush(net); k++) {
        zclock_sleep(20); // let the last messages (a leave, a block) reach the peers
    }
    zpoller_destroy(&poller);
    store_flush(self->store); // global.fsm is on disk when the node returns
    scorer_t *scorer = round_io_scorer(self->round);
    if (scorer && !*stop && !store_fatal(self->store)) {
        scorer_flush(scorer); // the last round's score is in quality.jsonl
    }
    uint64_t in, out;
    transport_counters(net, &in, &out);
    log_info("traffic: %llu bytes sent, %llu received; ledger height %llu",
             (unsigned long long)out, (unsigned long long)in,
             (unsigned long long)store_height(self->store));
    const fs_err_t *fatal = store_fatal(self->store);
    if (fatal) {
        rc = fs_err_set(err, fatal->code, "%s", fatal->msg);
    } else if (*stop) {
        rc = fs_err_set(err, FS_EINTR, "stopped by a signal at height %llu (a restart catches "
                        "up from the peers)",
                        (unsigned long long)store_height(self->store));
    }
    return rc;
}
