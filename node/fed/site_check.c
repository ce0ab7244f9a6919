/* site_check.c - a site's kit checked before its node starts (see
 * site_check.h). */
#include "node/fed/site_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include "ledger/chain.h"
#include "node/data/member_data.h"
#include "node/fed/global.h"
#include "node/nn/blas.h"
#include "node/train/workload.h"

#define SITE_TIMED_STEPS 3 // local iterations timed (after one to warm up)

int site_load_data(const node_config_t *cfg, dataset_t **out, fs_err_t *err)
{
    *out = NULL;
    if (!cfg->data_dir[0]) {
        return 0;
    }
    const member_data_spec_t spec = {.dir = cfg->data_dir, .labels = cfg->labels,
                                     .partition = cfg->partition, .clients = (int)cfg->clients,
                                     .client = (int)cfg->client, .alpha = cfg->alpha,
                                     .limit = cfg->limit, .seed = (uint64_t)cfg->data_seed};
    if (member_data_load(&spec, out, err) < 0) {
        return fs_err_prefix(err, err ? err->code : FS_EINVAL, "%s: data: ", cfg->file);
    }
    return 0;
}

static void s_say(const config_sink_t *sink, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void s_say(const config_sink_t *sink, const char *fmt, ...)
{
    char msg[FS_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->found(sink->ctx, msg);
}

// node/dir: a folder we can write, or one we can make (its nearest
// existing parent is writable).
static int s_check_dir(const node_config_t *cfg, const config_sink_t *errors)
{
    struct stat st;
    if (stat(cfg->dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            s_say(errors, "%s: node/dir %s is not a folder (a file is in the way)", cfg->file,
                  cfg->dir);
            return 1;
        }
        if (access(cfg->dir, W_OK | X_OK) != 0) {
            s_say(errors, "%s: node/dir %s is not writable by this user (%s)", cfg->file,
                  cfg->dir, strerror(errno));
            return 1;
        }
        return 0;
    }
    char parent[CONFIG_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", cfg->dir);
    for (;;) {
        char *slash = strrchr(parent, '/');
        if (!slash) {
            snprintf(parent, sizeof parent, ".");
        } else if (slash == parent) {
            parent[1] = 0;
        } else {
            *slash = 0;
        }
        if (stat(parent, &st) == 0 || strcmp(parent, ".") == 0 || strcmp(parent, "/") == 0) {
            break;
        }
    }
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode) || access(parent, W_OK | X_OK) != 0) {
        s_say(errors, "%s: node/dir %s cannot be made: %s is not a writable folder", cfg->file,
              cfg->dir, parent);
        return 1;
    }
    return 0;
}

static double s_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// A round's deadline must cover the local training: a few iterations of the
// genesis's model on this data, at this configuration's batch and threads,
// timed and scaled to local-iters, against the moment the aggregator closes
// (80% of the first attempt's window).  A warning (a note), since the
// machine may be busier or quieter when it runs.
static void s_check_deadline(const node_config_t *cfg, const genesis_t *g, const dataset_t *data,
                             const config_sink_t *notes)
{
    workload_arch_t arch;
    fs_err_t err = {0};
    if (!data || g->local_iters == 0 || global_arch(g->model, &arch, &err) < 0) {
        return;
    }
    blas_set_threads((int)cfg->threads);
    workload_trainer_t *t = workload_trainer_new(&arch, (int)cfg->batch, 1);
    if (workload_trainer_set_data(t, data, &err) == 0) {
        workload_stats_t st;
        workload_trainer_step(t, &st); // warm-up: first-touch of the buffers
        const double t0 = s_seconds();
        for (int i = 0; i < SITE_TIMED_STEPS; i++) {
            workload_trainer_step(t, &st);
        }
        const double train_s = (s_seconds() - t0) / SITE_TIMED_STEPS * g->local_iters;
        const double close_s = 0.8 * g->round_timeout_ms / 1000.0;
        if (train_s > 0.5 * close_s) {
            s_say(notes, "%s: warning: local training of %u iterations (batch %ld, %ld "
                  "thread%s) takes about %.1f s on this machine, and the aggregator closes a "
                  "round after %.1f s (80%% of the genesis's timeout-ms %u): %s", cfg->file,
                  g->local_iters, cfg->batch, cfg->threads, cfg->threads == 1 ? "" : "s",
                  train_s, close_s, g->round_timeout_ms,
                  train_s > close_s ? "this member's updates will come too late; the "
                  "federation needs a longer timeout (fedsyn ledger init --timeout-ms) or "
                  "fewer local iterations" : "little margin if the machine is busy");
        }
    }
    workload_trainer_destroy(&t);
}

// The node's key against the genesis it would run (its ledger, else
// federation/genesis); the configuration's expectations too.
static int s_check_membership(const node_config_t *cfg, const identity_pub_t *me,
                              const dataset_t *data, const config_sink_t *errors,
                              const config_sink_t *notes)
{
    char ledger[CONFIG_PATH_MAX + 16];
    snprintf(ledger, sizeof ledger, "%s/ledger.fsl", cfg->dir);
    const char *src = access(ledger, F_OK) == 0 ? ledger : cfg->genesis[0] ? cfg->genesis : NULL;
    if (!src) {
        if (cfg->has_fed_id) {
            s_say(notes, "%s: a joiner: the ledger comes from the peers; whether this key may "
                  "join is known once it does", cfg->file);
        }
        return 0;
    }
    fs_err_t err = {0};
    chain_t *chain = chain_open(src, CHAIN_READ_ONLY, NULL, &err);
    if (!chain) {
        s_say(errors, "%s: %s%s", cfg->file, src == ledger ? "" : "federation/genesis: ",
              err.msg);
        return 1;
    }
    const ledger_state_t *st = chain_state(chain);
    int bad = config_check_genesis_all(cfg, &st->genesis, errors) != 0;
    if (me) {
        const ledger_member_t *m = ledger_state_member(st, me->sign_pk);
        if (m && m->active) {
            // a member: nothing to say
        } else if (ledger_state_may_join(st, me->sign_pk)) {
            s_say(notes, "%s: %s is not an active member of %s: the node will ask to join, "
                  "and a member's next block admits it", cfg->file, me->name, src);
        } else if (st->genesis.admission == ADMIT_VOTE && !(src != ledger && !m)) {
            s_say(notes, "%s: %s is not a member of %s%s: the members admit it by their vote "
                  "first (a member runs fedsyn member propose --admit with this site's "
                  "identity.pub, and more than half of them sign it); until then its peers "
                  "refuse its key", cfg->file, me->name, src,
                  m && m->removed ? " (the members removed it)" : "");
        } else if (st->genesis.admission == ADMIT_VOTE) {
            // a founder's kit (federation/genesis) whose key founded nothing
            s_say(errors, "%s: %s (node/keys %s) is neither a member of %s nor on its "
                  "allow-list: a founder's kit names federation/genesis; a site that joins "
                  "later names federation/id and is admitted by the members' vote (fedsyn "
                  "member); check node/keys, or federation/genesis", cfg->file, me->name,
                  cfg->keys, src);
            bad = 1;
        } else {
            s_say(errors, "%s: %s (node/keys %s) is neither a member of %s nor on its "
                  "allow-list: the federation would refuse it (its allow-list is fixed in the "
                  "genesis; check node/keys, or federation/genesis)", cfg->file, me->name,
                  cfg->keys, src);
            bad = 1;
        }
    }
    if (!bad) {
        s_check_deadline(cfg, &st->genesis, data, notes);
    }
    chain_destroy(&chain);
    return bad;
}

int site_check(const node_config_t *cfg, const config_sink_t *errors,
               const config_sink_t *notes)
{
    int bad = 0;
    fs_err_t err = {0};
    identity_t *me = identity_load(cfg->keys, &err);
    if (!me) {
        s_say(errors, "%s: node/keys: %s", cfg->file, err.msg);
        bad++;
    }
    bad += s_check_dir(cfg, errors);
    dataset_t *data = NULL;
    if (site_load_data(cfg, &data, &err) < 0) {
        s_say(errors, "%s", err.msg);
        bad++;
    } else if (!data) {
        s_say(notes, "%s: no data section: this node aggregates and verifies, never trains",
              cfg->file);
    }
    bad += s_check_membership(cfg, me ? identity_public(me) : NULL, data, errors, notes);
    dataset_destroy(&data);
    identity_destroy(&me);
    return bad;
}
