/* store.c - the ledger and the head's model on disk (see store.h). */
#include "node/fed/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"
#include "node/base/floats.h"
#include "node/base/fsio.h"
#include "node/base/log.h"
#include "node/base/mem.h"
#include "node/fed/archive.h"
#include "node/fed/global.h"
#include "node/fed/saver.h"

struct store {
    const node_config_t *cfg; // borrowed: the node's
    char ledger_path[CONFIG_PATH_MAX + 32];
    char global_path[CONFIG_PATH_MAX + 32];
    chain_t *chain; // NULL until the genesis is known
    uint8_t fed_id[HASH_BYTES];
    int have_fed;
    workload_arch_t arch;
    size_t n;       // parameters in the global vector
    float *global;  // the head's model (when the round has it)
    int save_pending; // global.fsm is behind the head's model
    saver_t *saver;   // writes global.fsm (created at the first save)
    fs_err_t fatal;   // a failed ledger write: the node stops
};

store_t *store_new(const node_config_t *cfg)
{
    store_t *self = xcalloc(1, sizeof *self);
    self->cfg = cfg;
    snprintf(self->ledger_path, sizeof self->ledger_path, "%s/ledger.fsl", cfg->dir);
    snprintf(self->global_path, sizeof self->global_path, "%s/global.fsm", cfg->dir);
    return self;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    store_t *self = *self_p;
    saver_destroy(&self->saver);
    chain_destroy(&self->chain);
    free(self->global);
    free(self);
    *self_p = NULL;
}

// The ledger in the state folder must be the federation that
// federation/genesis founds: another federation's ledger put there would
// otherwise run silently.
static int s_same_federation(const store_t *self, const char *genesis, fs_err_t *err)
{
    chain_t *g = chain_open(genesis, CHAIN_READ_ONLY, NULL, err);
    if (!g) {
        return fs_err_prefix(err, FS_EINVAL, "federation/genesis: ");
    }
    const uint8_t *want = chain_state(g)->fed_id, *have = chain_state(self->chain)->fed_id;
    int rc = 0;
    if (memcmp(want, have, HASH_BYTES) != 0) {
        char a[2 * HASH_BYTES + 1], b[2 * HASH_BYTES + 1];
        bytes_to_hex(have, HASH_BYTES, a);
        bytes_to_hex(want, HASH_BYTES, b);
        rc = fs_err_set(err, FS_EINVAL, "%s belongs to federation %s, but federation/genesis %s "
                        "founds %s: a ledger of another federation in this state folder (move "
                        "it away, or fix node/dir or federation/genesis in %s)",
                        self->ledger_path, a, genesis, b, self->cfg->file);
    }
    chain_destroy(&g);
    return rc;
}

int store_open(store_t *self, fs_err_t *err)
{
    const node_config_t *cfg = self->cfg;
    if (access(self->ledger_path, F_OK) == 0) {
        chain_open_info_t info;
        self->chain = chain_open(self->ledger_path, CHAIN_WRITE, &info, err);
        if (!self->chain) {
            return err ? err->code : FS_EIO;
        }
        if (info.truncated_bytes) {
            log_warn("%s: cut a torn tail of %llu bytes%s (a crash during an append)",
                     self->ledger_path, (unsigned long long)info.truncated_bytes,
                     info.zero_tail ? ", all zeros" : "");
        }
        if (cfg->genesis[0] && s_same_federation(self, cfg->genesis, err) < 0) {
            return err ? err->code : FS_EINVAL;
        }
    } else if (cfg->genesis[0]) {
        chain_t *src = chain_open(cfg->genesis, CHAIN_READ_ONLY, NULL, err);
        const uint8_t *rec;
        size_t n;
        if (!src || chain_record(src, 0, &rec, &n) < 0) {
            chain_destroy(&src);
            return fs_err_prefix(err, FS_EINVAL, "federation/genesis: ");
        }
        self->chain = chain_create(self->ledger_path, rec, n, err);
        chain_destroy(&src);
        if (!self->chain) {
            return err ? err->code : FS_EIO;
        }
    } else if (!cfg->has_fed_id) {
        return fs_err_set(err, FS_EINVAL, "%s: no ledger at %s, and neither federation/genesis "
                          "nor federation/id to start one (a joiner names the federation id "
                          "and a bootstrap peer)", cfg->file, self->ledger_path);
    } else {
        memcpy(self->fed_id, cfg->fed_id, HASH_BYTES);
        self->have_fed = 1;
        log_info("no ledger yet: fetching it from the bootstrap peers");
    }
    if (self->chain) {
        log_info("ledger %s: height %llu", self->ledger_path,
                 (unsigned long long)chain_height(self->chain));
    }
    return 0;
}

int store_create(store_t *self, const uint8_t *genesis, size_t n, fs_err_t *err)
{
    self->chain = chain_create(self->ledger_path, genesis, n, err);
    return self->chain ? 0 : (err ? err->code : FS_EIO);
}

void store_drop_chain(store_t *self)
{
    chain_destroy(&self->chain);
}

int store_setup_model(store_t *self, int *have_global, fs_err_t *err)
{
    const node_config_t *cfg = self->cfg;
    const ledger_state_t *st = store_state(self);
    *have_global = 0;
    if (cfg->has_fed_id && memcmp(cfg->fed_id, st->fed_id, HASH_BYTES) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: federation/id does not match the ledger at %s",
                          cfg->file, self->ledger_path);
    }
    int rc = config_check_genesis(cfg, &st->genesis, err);
    if (rc < 0) {
        return rc;
    }
    memcpy(self->fed_id, st->fed_id, HASH_BYTES);
    self->have_fed = 1;
    if ((rc = global_arch(st->genesis.model, &self->arch, err)) < 0) {
        return rc;
    }
    if (strcmp(st->genesis.dataset, cfg->dataset) != 0) {
        return fs_err_set(err, FS_EINVAL, "%s: data/set is %s but the federation trains on %s",
                          cfg->file, cfg->dataset, st->genesis.dataset);
    }
    free(self->global);
    self->global = global_initial(&self->arch, st->genesis.model_seed, &self->n);
    if (chain_height(self->chain) == 1) {
        // Round 0's model: the seeded initial weights, or the file the
        // genesis pinned by hash (a pre-trained model: GenFL).
        if (cfg->initial[0] &&
            (rc = workload_load(cfg->initial, &self->arch, self->global, err)) < 0) {
            return rc;
        }
        const size_t bad = floats_first_nonfinite(self->global, self->n);
        if (bad < self->n) {
            return fs_err_set(err, FS_EINVAL, "%s: round 0's model (%s) holds a weight that is "
                              "not a finite number (weight %zu): every member's training "
                              "would diverge; found the federation again from a sound model",
                              cfg->file, cfg->initial[0] ? cfg->initial : "the seeded weights",
                              bad);
        }
        uint8_t h[HASH_BYTES];
        hash_model(self->global, self->n, h);
        if (memcmp(h, st->genesis.initial_model_hash, HASH_BYTES) != 0) {
            if (cfg->initial[0]) {
                return fs_err_set(err, FS_EVERIFY, "%s: federation/initial %s is not the "
                                  "model the genesis pinned (hash differs)", cfg->file,
                                  cfg->initial);
            }
            return fs_err_set(err, FS_EVERIFY, "the genesis's initial model hash does not match "
                              "%s seed %llu on this build (a genesis founded with --initial "
                              "FILE needs the same file as federation/initial)",
                              st->genesis.model, (unsigned long long)st->genesis.model_seed);
        }
        *have_global = 1;
        self->save_pending = 1; // round 0's model on disk too (and kept for audit)
        return 0;
    }
    fs_err_t e2 = {0};
    *have_global =
        global_load(self->global_path, &self->arch, self->global, st->model_hash, &e2) == 0;
    if (!*have_global) { // a crash before global.fsm caught up: the durable copy
        char kept[CONFIG_PATH_MAX + 100];
        fs_err_t e3 = {0};
        archive_path(cfg->dir, st->model_hash, kept, sizeof kept);
        if (global_load(kept, &self->arch, self->global, st->model_hash, &e3) == 0) {
            *have_global = 1;
            self->save_pending = 1; // global.fsm follows
            log_info("the global model of height %llu from %s (global.fsm was behind)",
                     (unsigned long long)chain_height(self->chain), kept);
        }
    }
    if (!*have_global && cfg->n_peers == 0) {
        return fs_err_set(err, FS_EINVAL, "the global model of height %llu is not on disk "
                          "(%s) and %s names no peer to fetch it from",
                          (unsigned long long)chain_height(self->chain), e2.msg, cfg->file);
    }
    if (!*have_global) {
        log_info("the global model of height %llu will be fetched from a peer (%s)",
                 (unsigned long long)chain_height(self->chain), e2.msg);
    }
    return 0;
}

chain_t *store_chain(const store_t *self) { return self->chain; }
const ledger_state_t *store_state(const store_t *self) { return chain_state(self->chain); }
uint64_t store_height(const store_t *self)
{
    return self->chain ? chain_height(self->chain) : 0;
}
const uint8_t *store_fed_id(const store_t *self) { return self->fed_id; }
int store_have_fed(const store_t *self) { return self->have_fed; }
const workload_arch_t *store_arch(const store_t *self) { return &self->arch; }
const char *store_dir(const store_t *self) { return self->cfg->dir; }
size_t store_model_size(const store_t *self) { return self->n; }
float *store_global(const store_t *self) { return self->global; }

uint32_t store_planned(const store_t *self)
{
    return store_state(self)->genesis.rounds;
}

int store_done(const store_t *self)
{
    return self->chain && store_planned(self) && chain_height(self->chain) > store_planned(self);
}

const char *store_name(const store_t *self, const uint8_t key[IDENTITY_KEY_BYTES], char buf[9])
{
    if (self->chain) {
        const ledger_member_t *m = ledger_state_member(store_state(self), key);
        if (m) {
            return m->id.name;
        }
    }
    hash_short(key, buf);
    return buf;
}

int store_is_active(const store_t *self, const uint8_t key[IDENTITY_KEY_BYTES])
{
    if (!self->chain) {
        return 0;
    }
    const ledger_member_t *m = ledger_state_member(store_state(self), key);
    return m && m->active;
}

int store_append(store_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    int rc = chain_append(self->chain, rec, n, err);
    if (rc == FS_EIO && !self->fatal.code) {
        fs_err_set(&self->fatal, FS_EIO, "%s", err ? err->msg : "ledger write failed");
        log_error("the ledger could not be written (%s): stopping; restart the node once the "
                  "disk is fixed, it re-verifies the ledger and catches up", self->fatal.msg);
    }
    return rc;
}

int store_replace_head(store_t *self, const uint8_t *rec, size_t n, fs_err_t *err)
{
    return chain_replace_head(self->chain, rec, n, err);
}

const fs_err_t *store_fatal(const store_t *self)
{
    return self->fatal.code ? &self->fatal : NULL;
}

void store_keep_evidence(const store_t *self, const uint8_t *rec, size_t n)
{
    uint8_t h[HASH_BYTES];
    char hex[2 * HASH_BYTES + 1], path[CONFIG_PATH_MAX + 128];
    block_hash(rec, n, h);
    bytes_to_hex(h, HASH_BYTES, hex);
    snprintf(path, sizeof path, "%s/evidence", self->cfg->dir);
    fs_err_t err = {0};
    if (fsio_mkdirs(path, &err) == 0) {
        snprintf(path, sizeof path, "%s/evidence/block-%s.rec", self->cfg->dir, hex);
        if (fsio_write_atomic(path, rec, n, 0644, &err) < 0) {
            log_warn("cannot keep the evidence: %s", err.msg);
        }
    }
}

float *store_model_check(const store_t *self, const uint8_t *bytes, size_t count,
                         const uint8_t want[HASH_BYTES])
{
    if (!bytes || count != self->n) {
        return NULL;
    }
    uint8_t h[HASH_BYTES];
    float *w = xmalloc(count * sizeof(float));
    memcpy(w, bytes, count * sizeof(float));
    hash_model(w, count, h);
    if (memcmp(h, want, HASH_BYTES) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

int store_make_durable(store_t *self, const float *w, uint64_t index,
                       const uint8_t hash[HASH_BYTES], fs_err_t *err)
{
    char path[CONFIG_PATH_MAX + 100];
    archive_path(self->cfg->dir, hash, path, sizeof path);
    if (access(path, F_OK) == 0) {
        return 0;
    }
    snprintf(path, sizeof path, "%s/models", self->cfg->dir);
    int rc = fsio_mkdirs(path, err);
    if (rc == 0) {
        archive_path(self->cfg->dir, hash, path, sizeof path);
        rc = global_save(path, &self->arch, w, index, hash, self->cfg->dataset, err);
    }
    const int no_fd = rc < 0 && (errno == EMFILE || errno == ENFILE);
    if (rc < 0) {
        fs_err_prefix(err, rc, "the model of the next block: ");
        if (no_fd) { // out of descriptors (a flood of connections): the block comes again
            return rc;
        }
        if (!self->fatal.code) { // the disk fails: as a failed ledger write, stop
            fs_err_set(&self->fatal, FS_EIO, "%s", err->msg);
            log_error("a block's model could not be made durable (%s): stopping; restart the "
                      "node once the disk is fixed", self->fatal.msg);
        }
        return rc;
    }
    return 0;
}

void store_take_model(store_t *self, float *w)
{
    free(self->global);
    self->global = w;
    self->save_pending = 1;
}

int store_save_pending(const store_t *self) { return self->save_pending; }

// The archive of every round's model (archive.h), set up with the saver:
// the models the chain pins within the retention are the ones to keep, any
// other kept file (beyond it, or of a block replaced at the head) goes.
static void s_archive_setup(store_t *self)
{
    // keep-models 0 still keeps the head's model: a restart needs it
    const long keep = self->cfg->keep_models == 0 ? 1 : self->cfg->keep_models;
    const uint64_t h = chain_height(self->chain);
    const uint64_t from = keep > 0 && (uint64_t)keep < h ? h - (uint64_t)keep : 0;
    uint8_t(*want)[HASH_BYTES] = xmalloc((size_t)(h - from) * HASH_BYTES);
    size_t n = 0;
    for (uint64_t i = from; i < h; i++) {
        fs_err_t err = {0, ""};
        n += chain_model_hash(self->chain, i, want[n], &err) == 0; // verified at open
    }
    fs_err_t err = {0, ""};
    int removed = archive_prune(self->cfg->dir, (const uint8_t(*)[HASH_BYTES])want, n, &err);
    if (removed < 0) {
        log_warn("models kept for audit: %s", err.msg);
    } else if (removed > 0) {
        log_info("models kept for audit: removed %d beyond node/keep-models = %s", removed,
                 self->cfg->keep_models_text[0] ? self->cfg->keep_models_text : "all");
    }
    saver_set_archive(self->saver, self->cfg->dir, keep,
                      (const uint8_t(*)[HASH_BYTES])want, n);
    free(want);
}

void store_save_now(store_t *self)
{
    self->save_pending = 0;
    if (!self->saver) {
        self->saver = saver_new(self->global_path, &self->arch, self->cfg->dataset);
        s_archive_setup(self);
    }
    saver_put(self->saver, self->global, self->n, chain_height(self->chain) - 1,
              store_state(self)->model_hash);
}

void store_flush(store_t *self)
{
    if (self->save_pending) {
        store_save_now(self);
    }
    if (self->saver) {
        saver_flush(self->saver);
    }
}
