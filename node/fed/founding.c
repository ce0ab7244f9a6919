/* founding.c - the genesis from the founders' choices (founding.h). */
#include "node/fed/founding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise_mechanism.h"
#include "ledger/budget.h"
#include "ledger/chain.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/mem.h"
#include "node/base/floats.h"
#include "node/fed/global.h"

// Round 0's model hash: the --initial file's weights, or the vector the
// model's trainer starts from at the seed.
static int s_initial_hash(const founding_opts_t *o, const workload_arch_t *arch,
                          uint8_t out[HASH_BYTES], fs_err_t *err)
{
    size_t n = 0;
    float *w = NULL;
    if (o->initial) {
        size_t nf;
        global_sizes(arch, &nf, &n);
        w = xfloats(n);
        int rc = workload_load(o->initial, arch, w, err);
        if (rc < 0) {
            free(w);
            return rc;
        }
        // a NaN would make every member's training diverge, every round
        const size_t bad = floats_first_nonfinite(w, n);
        if (bad < n) {
            free(w);
            return fs_err_set(err, FS_EINVAL, "--initial %s: weight %zu of %zu is not a finite "
                              "number (NaN or Inf): every member's training would diverge; "
                              "give a model that trained without diverging", o->initial, bad,
                              n);
        }
    } else {
        w = global_initial(arch, o->seed, &n);
    }
    hash_model(w, n, out);
    free(w);
    return 0;
}

int founding_genesis(const founding_opts_t *o, const identity_t *founder, genesis_t *g,
                     fs_err_t *err)
{
    memset(g, 0, sizeof *g);
    workload_arch_t arch;
    if (strlen(o->model) > GENESIS_TEXT_MAX) {
        return fs_err_set(err, FS_EINVAL, "--model: longer than %d characters",
                          GENESIS_TEXT_MAX);
    }
    if (workload_parse(o->model, &arch, err)) {
        return fs_err_prefix(err, FS_EINVAL, "--"); // "--model 'x': expected ..."
    }
    const int mech = noise_mechanism_parse(o->noise);
    if (mech < 0) {
        return fs_err_set(err, FS_EINVAL, "--noise '%s': expected " NOISE_MECHANISM_KEYWORDS,
                          o->noise);
    }
    if (budget_is_formal(mech) && !(o->clip > 0 && o->scale > 0)) {
        return fs_err_set(err, FS_EINVAL, "--noise %s needs --clip C > 0 (the %s bound of each "
                          "update) and --scale B > 0 ('fedsyn privacy' finds a scale for a "
                          "target epsilon)", o->noise, mech == NOISE_LAPLACE_CLIPPED ? "L1" : "L2");
    }
    // the members as given, then the founder (unless given among them)
    keyring_t *members = keyring_new();
    for (size_t i = 0; o->members && i < keyring_size(o->members); i++) {
        keyring_add(members, keyring_at(o->members, i));
    }
    keyring_add(members, identity_public(founder));
    const size_t n_allowed = o->allowed ? keyring_size(o->allowed) : 0;
    int rc = 0;
    if (keyring_size(members) > LEDGER_MAX_MEMBERS || n_allowed > LEDGER_MAX_MEMBERS) {
        rc = fs_err_set(err, FS_EINVAL, "at most %d members and %d allowed keys",
                        LEDGER_MAX_MEMBERS, LEDGER_MAX_MEMBERS);
    } else if (strlen(o->dataset) > GENESIS_TEXT_MAX) {
        rc = fs_err_set(err, FS_EINVAL, "--dataset: too long");
    }
    if (rc < 0) {
        keyring_destroy(&members);
        return rc;
    }
    snprintf(g->name, sizeof g->name, "%.*s", IDENTITY_NAME_MAX, o->name);
    if (strlen(o->name) > IDENTITY_NAME_MAX) {
        g->name[0] = '\0'; // refused by genesis_encode with the name rule
    }
    g->time_ms = o->time_ms;
    g->n_members = (uint16_t)keyring_size(members);
    for (size_t i = 0; i < keyring_size(members); i++) {
        g->members[i] = *keyring_at(members, i);
    }
    keyring_destroy(&members);
    snprintf(g->model, sizeof g->model, "%s", o->model);
    snprintf(g->dataset, sizeof g->dataset, "%s", o->dataset);
    g->model_seed = o->seed;
    g->mechanism = (uint8_t)mech;
    g->clip = o->clip;
    g->member_scale = mech == NOISE_NONE ? 0 : o->scale;
    g->agg_scale = mech == NOISE_NONE ? 0 : o->agg_scale < 0 ? o->scale : o->agg_scale;
    g->delta = o->delta;
    g->round_timeout_ms = o->timeout_ms;
    g->attempt_extra_ms = o->attempt_extra_ms;
    g->rounds = o->rounds;
    g->local_iters = o->local_iters;
    g->quorum = o->quorum;
    g->inactive_after = o->inactive_after;
    g->admission = o->open        ? ADMIT_OPEN
                   : o->admission ? (uint8_t)o->admission
                   : o->finality == GENESIS_FINALITY_MAJORITY ? ADMIT_VOTE
                                                              : ADMIT_ALLOWLIST;
    g->server_lr = o->server_lr == 1 ? 0 : o->server_lr; // 1 is written as absent
    g->request_window = o->request_window;
    g->finality = o->finality;
    if (o->record_clip > 0) {
        if (arch.kind != WORKLOAD_DCGAN) {
            return fs_err_set(err, FS_EINVAL, "--dp-sgd: record-level DP trains a GAN's "
                              "discriminator with DP-SGD; --model %s is not a GAN", o->model);
        }
        if (o->finality != GENESIS_FINALITY_MAJORITY) {
            return fs_err_set(err, FS_EINVAL, "--dp-sgd needs majority-witnessed blocks "
                              "(leave --finality signed and --request-window 0 out)");
        }
        if (!(o->record_eps > 0)) {
            return fs_err_set(err, FS_EINVAL, "--dp-sgd needs --record-eps E, the epsilon "
                              "budget of each record");
        }
        g->record_dp = GENESIS_RECORD_DP_SGD;
        g->record_clip = o->record_clip;
        g->record_delta = o->record_delta;
        g->record_eps = o->record_eps;
    }
    g->n_allowed = (uint16_t)n_allowed;
    for (size_t i = 0; i < n_allowed; i++) {
        memcpy(g->allowed[i], keyring_at(o->allowed, i)->sign_pk, IDENTITY_KEY_BYTES);
    }
    return s_initial_hash(o, &arch, g->initial_model_hash, err);
}

int founding_write(const genesis_t *g, const identity_t *founder, const char *path,
                   uint8_t fed_id[HASH_BYTES], fs_err_t *err)
{
    bytes_writer_t w;
    bytes_writer_init(&w);
    int rc = genesis_encode(&w, g, founder, fed_id, err);
    rc = rc ? rc : fsio_mkdirs_for(path, err);
    if (rc == 0) {
        chain_t *chain = chain_create(path, w.data, w.len, err);
        rc = chain ? 0 : err && err->code ? err->code : FS_EIO;
        chain_destroy(&chain);
    }
    bytes_writer_reset(&w);
    return rc;
}
