/* node.c - the federation node: setup, the event loop and the helpers the
 * other files share (see node.h, node_int.h, docs/federation.md). */
#include "node/fed/node_int.h"

#include <assert.h>
#include <fcntl.h>

#include "node/data/member_data.h"
#include "node/data/partition.h"

static_assert(CONFIG_MAX_CLIENTS == PARTITION_MAX_CLIENTS,
              "a configuration's data/clients bound is the partitioner's");
static_assert(PEERS_MAX == TRANSPORT_MAX_PEERS, "node/proto/peers numbers the transport's peers");

int64_t fed_mono(void)
{
    return zclock_mono();
}

uint64_t fed_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

void node_control_endpoint(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "ipc://%s/control.sock", dir);
}

const ledger_state_t *fed_state(const node_t *self)
{
    return chain_state(self->chain);
}

const char *fed_name(const node_t *self, const uint8_t key[IDENTITY_KEY_BYTES], char buf[9])
{
    if (self->chain) {
        const ledger_member_t *m = ledger_state_member(fed_state(self), key);
        if (m) {
            return m->id.name;
        }
    }
    hash_short(key, buf);
    return buf;
}

int fed_is_active(const node_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    if (!self->chain) {
        return 0;
    }
    const ledger_member_t *m = ledger_state_member(fed_state(self), key);
    return m && m->active;
}

// The member's images, as its configuration's data section selects them
// (node/data/member_data.h); NULL without error when it names no data.
static dataset_t *s_load_data(const node_config_t *cfg, fs_err_t *err)
{
    if (!cfg->data_dir[0]) {
        return NULL;
    }
    const member_data_spec_t spec = {.dir = cfg->data_dir, .labels = cfg->labels,
                                     .partition = cfg->partition, .clients = (int)cfg->clients,
                                     .client = (int)cfg->client, .alpha = cfg->alpha,
                                     .limit = cfg->limit, .seed = (uint64_t)cfg->data_seed};
    dataset_t *d = NULL;
    if (member_data_load(&spec, &d, err) < 0) {
        fs_err_prefix(err, err ? err->code : FS_EINVAL, "%s: data: ", cfg->file);
        return NULL;
    }
    return d;
}

void fed_set_have_global(node_t *self, int have)
{
    round_event_t e = {.kind = ROUND_EV_MODEL, .flag = have};
    round_actions_t none;
    round_on_event(&self->rs, &e, fed_mono(), &none);
}

int fed_append(node_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    int rc = chain_append(self->chain, rec, n, err);
    if (rc == FS_EIO && !self->fatal.code) {
        fs_err_set(&self->fatal, FS_EIO, "%s", err ? err->msg : "ledger write failed");
        log_error("the ledger could not be written (%s): stopping; restart the node once the "
                  "disk is fixed, it re-verifies the ledger and catches up", self->fatal.msg);
    }
    return rc;
}

// Once the genesis is known: federation id, architecture, model, trainer.
int fed_setup_ledger(node_t *self, fs_err_t *err)
{
    int have_global = 0;
    const ledger_state_t *st = fed_state(self);
    if (self->cfg.has_fed_id && memcmp(self->cfg.fed_id, st->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: federation/id does not match the ledger at %s",
                          self->cfg.file, self->ledger_path);
    }
    int rc = config_check_genesis(&self->cfg, &st->genesis, err);
    if (rc < 0) {
        return rc;
    }
    memcpy(self->fed_id, st->fed_id, HASH_BYTES);
    self->have_fed = 1;
    if ((rc = global_arch(st->genesis.model, &self->arch, err)) < 0) {
        return rc;
    }
    if (strcmp(st->genesis.dataset, self->cfg.dataset) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: data/set is %s but the federation trains on %s",
                          self->cfg.file, self->cfg.dataset, st->genesis.dataset);
    }
    size_t n;
    free(self->global);
    self->global = global_initial(&self->arch, st->genesis.model_seed, &n);
    self->n = n;
    self->update = xrealloc(self->update, n * sizeof(float));
    if (chain_height(self->chain) == 1) {
        // Round 0's model: the seeded initial weights, or the file the
        // genesis pinned by hash (a pre-trained model: GenFL).
        if (self->cfg.initial[0] &&
            (rc = workload_load(self->cfg.initial, &self->arch, self->global, err)) < 0) {
            return rc;
        }
        uint8_t h[HASH_BYTES];
        hash_model(self->global, n, h);
        if (memcmp(h, st->genesis.initial_model_hash, HASH_BYTES) != 0) {
            if (self->cfg.initial[0]) {
                return fs_err_set(err, FS_EVERIFY, "%s: federation/initial %s is not the "
                                  "model the genesis pinned (hash differs)", self->cfg.file,
                                  self->cfg.initial);
            }
            return fs_err_set(err, FS_EVERIFY, "the genesis's initial model hash does not match "
                              "%s seed %llu on this build (a genesis founded with --initial "
                              "FILE needs the same file as federation/initial)",
                              st->genesis.model, (unsigned long long)st->genesis.model_seed);
        }
        have_global = 1;
    } else {
        fs_err_t e2 = {0};
        have_global =
            global_load(self->global_path, &self->arch, self->global, st->model_hash, &e2) == 0;
        if (!have_global && self->cfg.n_peers == 0) {
            return fs_err_set(err, FS_EINVAL, "the global model of height %llu is not on disk "
                              "(%s) and %s names no peer to fetch it from",
                              (unsigned long long)chain_height(self->chain), e2.msg,
                              self->cfg.file);
        }
        if (!have_global) {
            log_info("the global model of height %llu will be fetched from a peer (%s)",
                     (unsigned long long)chain_height(self->chain), e2.msg);
        }
    }
    if (self->cfg.score_every > 0 && !self->scorer) {
        scorer_config_t sc = {self->cfg.name, self->cfg.dir, self->cfg.evaluator,
                              self->cfg.test_dir, self->cfg.dataset,
                              (int)self->cfg.score_samples, self->arch};
        if (!(self->scorer = scorer_new(&sc, err))) {
            return fs_err_prefix(err, err ? err->code : FS_EINVAL, "%s: ", self->cfg.file);
        }
        log_info("quality: the global model is scored every %ld round%s (%ld samples) into "
                 "%s/%s", self->cfg.score_every, self->cfg.score_every == 1 ? "" : "s",
                 self->cfg.score_samples, self->cfg.dir, QUALITY_LOG_FILE);
    }
    if (st->genesis.admission == ADMIT_OPEN && (rc = transport_allow_any(self->net, err)) < 0) {
        return rc;
    }
    dataset_t *data = s_load_data(&self->cfg, err);
    if (!data && self->cfg.data_dir[0]) {
        return err ? err->code : FS_EINVAL;
    }
    if (data) {
        // Fewer images than a batch is fine: the trainers reshuffle and go on
        // (a skewed Dirichlet share can be that small).
        self->samples = (uint64_t)data->n;
        uint64_t seed = 0;
        for (int i = 0; i < 8; i++) {
            seed = seed << 8 | self->pub->sign_pk[i];
        }
        self->local = local_new(&self->arch, data, seed, (int)self->cfg.batch,
                                (int)self->cfg.log_every, err);
        if (!self->local) {
            return err ? err->code : FS_EINVAL;
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
                 workload_kind_name(&self->arch), n);
    }
    round_free(&self->rs); // nothing counted yet: the trainer is known only now
    round_init(&self->rs, self->pub->sign_pk, self->local != NULL);
    members_free(&self->mem);
    members_init(&self->mem, self->pub->sign_pk, self->local != NULL);
    fed_set_have_global(self, have_global);
    fed_enter_round(self);
    return 0;
}

node_t *node_new(const node_config_t *cfg, fs_err_t *err)
{
    node_t *self = xcalloc(1, sizeof *self);
    self->lock_fd = -1;
    self->cfg = *cfg;
    snprintf(self->ledger_path, sizeof self->ledger_path, "%s/ledger.fsl", cfg->dir);
    snprintf(self->global_path, sizeof self->global_path, "%s/global.fsm", cfg->dir);
    snprintf(self->allow_dir, sizeof self->allow_dir, "%s/allowed-keys", cfg->dir);
    node_control_endpoint(cfg->dir, self->control_ep, sizeof self->control_ep);
    log_set_prefix(cfg->name);
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
        self->control_ep[0] = 0; // not ours to remove
        goto fail;
    }
    self->me = identity_load(cfg->keys, err);
    if (!self->me) {
        fs_err_prefix(err, FS_EINVAL, "node/keys: ");
        goto fail;
    }
    self->pub = identity_public(self->me);
    round_init(&self->rs, self->pub->sign_pk, 0);
    members_init(&self->mem, self->pub->sign_pk, 0);
    peers_init(&self->peers);
    self->opener = opener_new(self->me);
    // Size limit for one message: an update or a block with the model, for
    // the largest model a genesis may name here (dcgan:1024 is ~75 M
    // parameters; the envelope limit of 16 Mi weights bounds it first).
    self->net = transport_new(self->me, self->allow_dir, ENVELOPE_MAX_BYTES + BLOCK_MAX_BYTES,
                              err);
    if (!self->net) {
        goto fail;
    }
    self->control = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(self->control, 0);
    unlink(self->control_ep + 6);
    if (zsock_bind(self->control, "%s", self->control_ep) < 0) {
        fs_err_set(err, FS_EIO, "cannot bind the control socket %s", self->control_ep);
        goto fail;
    }
    if (access(self->ledger_path, F_OK) == 0) {
        chain_open_info_t info;
        self->chain = chain_open(self->ledger_path, CHAIN_WRITE, &info, err);
        if (!self->chain) {
            goto fail;
        }
        if (info.truncated_bytes) {
            log_warn("%s: cut a torn tail of %llu bytes (a crash during an append)",
                     self->ledger_path, (unsigned long long)info.truncated_bytes);
        }
    } else if (cfg->genesis[0]) {
        chain_t *src = chain_open(cfg->genesis, CHAIN_READ_ONLY, NULL, err);
        const uint8_t *rec;
        size_t n;
        if (!src || chain_record(src, 0, &rec, &n) < 0) {
            chain_destroy(&src);
            fs_err_prefix(err, FS_EINVAL, "federation/genesis: ");
            goto fail;
        }
        self->chain = chain_create(self->ledger_path, rec, n, err);
        chain_destroy(&src);
        if (!self->chain) {
            goto fail;
        }
    } else if (!cfg->has_fed_id) {
        fs_err_set(err, FS_EINVAL, "%s: no ledger at %s, and neither federation/genesis nor "
                   "federation/id to start one (a joiner names the federation id and a "
                   "bootstrap peer)", cfg->file, self->ledger_path);
        goto fail;
    } else {
        memcpy(self->fed_id, cfg->fed_id, HASH_BYTES);
        self->have_fed = 1;
        log_info("no ledger yet: fetching it from the bootstrap peers");
    }
    for (int i = 0; i < cfg->n_peers; i++) {
        transport_allow(self->net, &cfg->peers[i].id, err);
        transport_peer(self->net, &cfg->peers[i].id, cfg->peers[i].endpoint);
    }
    if (self->chain) {
        log_info("ledger %s: height %llu", self->ledger_path,
                 (unsigned long long)chain_height(self->chain));
        if (fed_setup_ledger(self, err) < 0) {
            goto fail;
        }
    }
    fed_allow_members(self);
    // Only now, with every key it must admit written, does the inbox listen.
    if (transport_listen(self->net, cfg->listen, err) < 0) {
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
    local_destroy(&self->local);
    saver_destroy(&self->saver);
    scorer_destroy(&self->scorer);
    opener_destroy(&self->opener); // its workers use the identity
    round_free(&self->rs);
    members_free(&self->mem);
    chain_destroy(&self->chain);
    zsock_destroy(&self->control);
    if (self->control_ep[0]) {
        unlink(self->control_ep + 6);
    }
    transport_destroy(&self->net);
    identity_destroy(&self->me);
    if (self->lock_fd >= 0) {
        close(self->lock_fd); // releases the folder
    }
    free(self->global);
    free(self->update);
    free(self);
    *self_p = NULL;
}

static void s_perform_peers(node_t *self, const peers_actions_t *acts)
{
    for (int i = 0; i < acts->n; i++) {
        if (acts->act[i].kind == PEERS_ACT_HELLO) {
            fed_hello(self, -1);
        } else if (acts->act[i].kind == PEERS_ACT_SYNC) {
            fed_sync_request(self, acts->act[i].peer, acts->act[i].from);
        }
    }
}

static void s_tick(node_t *self)
{
    int64_t now = fed_mono();
    peers_actions_t pa;
    peers_tick_hello(&self->peers, now, &pa);
    s_perform_peers(self, &pa);
    if (!self->chain) {
        return; // the genesis comes with the first sync reply
    }
    // membership: our leave (LEFT once a block recorded it), its notice
    // again, our join request once caught up (none after the planned rounds)
    size_t n_peers = transport_peer_count(self->net);
    int caught_up = !fed_federation_done(self) && n_peers &&
                    !peers_behind(&self->peers, n_peers, chain_height(self->chain));
    members_actions_t ma;
    members_tick(&self->mem, fed_state(self), self->fed_id, self->me, caught_up, now, &ma);
    fed_perform_members(self, &ma);
    if (self->mem.left) {
        for (int i = 0; i < ma.n; i++) {
            if (ma.act[i].kind == MEMBERS_ACT_LEFT) {
                log_info("left the federation (recorded in block %llu)",
                         (unsigned long long)chain_height(self->chain) - 1);
            }
        }
        return;
    }
    if (fed_federation_done(self)) {
        if (!self->finished_at) {
            self->finished_at = now;
            log_info("the federation's %u planned rounds are done", fed_planned(self));
        }
        return;
    }
    if (!self->rs.have_model) {
        peers_tick_sync(&self->peers, n_peers, chain_height(self->chain), now, &pa);
        s_perform_peers(self, &pa);
        return;
    }
    // training, sending, the aggregator's close and failover: decided by
    // node/proto/round.c, performed here (a close starts the next round,
    // after which the round emits nothing more this tick)
    round_actions_t acts;
    round_tick(&self->rs, now, &acts);
    for (int i = 0; i < acts.n; i++) {
        fed_perform(self, &acts.act[i]);
    }
}

int node_run(node_t *self, volatile int *stop, volatile int *leave, fs_err_t *err)
{
    zpoller_t *poller = zpoller_new(transport_inbox(self->net), transport_monitor(self->net),
                                    self->control, NULL);
    if (self->local) {
        zpoller_add(poller, local_pipe(self->local));
    }
    for (int i = 0; i < OPENER_THREADS; i++) {
        zpoller_add(poller, opener_pipe(self->opener, i));
    }
    int local_polled = self->local != NULL;
    int rc = 0;
    while (!*stop) {
        if (*leave) {
            *leave = 0;
            fed_start_leave(self);
        }
        if (self->local && !local_polled) {
            zpoller_add(poller, local_pipe(self->local));
            local_polled = 1;
        }
        size_t queued = transport_flush(self->net);
        round_event_t oe = {.kind = ROUND_EV_OUTBOX, .count = queued};
        round_actions_t none;
        round_on_event(&self->rs, &oe, fed_mono(), &none);
        if (queued == 0 && self->save_pending) {
            fed_save_global_now(self);
        }
        void *which = zpoller_wait(poller, queued ? 1 : 50);
        if (which == transport_inbox(self->net)) {
            transport_msg_t msg;
            // drain what is there (bounded, so ticks still run); a new
            // block ends the drain at once, so that the tick starts this
            // node's training for the next round before the updates queued
            // behind it are opened (an aggregator's own update then trains
            // on the other core while it opens theirs)
            const uint64_t height = self->chain ? chain_height(self->chain) : 0;
            for (int k = 0; k < 256 && (zsock_events(which) & ZMQ_POLLIN); k++) {
                if (transport_read(self->net, &msg) == 1) {
                    fed_handle(self, &msg);
                    free(msg.data);
                    if (self->chain && chain_height(self->chain) != height) {
                        break;
                    }
                }
            }
        } else if (which == transport_monitor(self->net)) {
            transport_read_monitor(self->net);
        } else if (which == self->control) {
            fed_handle_control(self);
        } else if (self->local && which == local_pipe(self->local)) {
            fed_training_done(self);
        } else if (which) {
            for (int i = 0; i < OPENER_THREADS; i++) {
                if (which == opener_pipe(self->opener, i)) {
                    open_job_t *job = opener_collect(self->opener, which);
                    if (job) {
                        fed_finish_update(self, job);
                    }
                }
            }
        }
        s_tick(self);
        if (self->mem.left || self->fatal.code) {
            break;
        }
        // Linger to serve lagging peers; a peer that is gone keeps its
        // queue full, so the wait for an empty queue is bounded too.
        if (self->finished_at && fed_mono() - self->finished_at > LINGER_MS &&
            (transport_flush(self->net) == 0 || fed_mono() - self->finished_at > 3 * LINGER_MS)) {
            break;
        }
    }
    for (int k = 0; k < 100 && !self->finished_at && transport_flush(self->net); k++) {
        zclock_sleep(20); // let the last messages (a leave, a block) reach the peers
    }
    zpoller_destroy(&poller);
    if (self->save_pending) {
        fed_save_global_now(self);
    }
    if (self->saver) {
        saver_flush(self->saver); // global.fsm is on disk when the node returns
    }
    if (self->scorer && !*stop && !self->fatal.code) {
        scorer_flush(self->scorer); // the last round's score is in quality.jsonl
    }
    uint64_t in, out;
    transport_counters(self->net, &in, &out);
    log_info("traffic: %llu bytes sent, %llu received; ledger height %llu",
             (unsigned long long)out, (unsigned long long)in,
             self->chain ? (unsigned long long)chain_height(self->chain) : 0ULL);
    if (self->fatal.code) {
        rc = fs_err_set(err, self->fatal.code, "%s", self->fatal.msg);
    } else if (*stop) {
        rc = fs_err_set(err, FS_EINTR, "stopped by a signal at height %llu (a restart catches "
                        "up from the peers)",
                        self->chain ? (unsigned long long)chain_height(self->chain) : 0ULL);
    }
    return rc;
}
