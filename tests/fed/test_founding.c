/* test_founding.c - founding a federation (node/fed/founding.h): the
 * genesis holds the founders' choices, round 0's model is pinned by its
 * hash, the same choices give the same bytes, and every bad choice is
 * refused naming its option. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/chain.h"
#include "node/fed/founding.h"
#include "node/fed/global.h"
#include "tests/support/fixtures.h"

static identity_t *s_id(int i)
{
    uint8_t seed[IDENTITY_SEED_BYTES] = {0};
    seed[0] = (uint8_t)i;
    char name[16];
    snprintf(name, sizeof name, "site%d", i);
    return identity_new_from_seed(name, seed, NULL);
}

static founding_opts_t s_opts(const keyring_t *members, const keyring_t *allowed)
{
    return (founding_opts_t){.name = "demo", .time_ms = 1800000000000ull, .members = members,
                             .allowed = allowed, .model = "cgan:8", .dataset = "mnist",
                             .seed = 3, .noise = "gaussian-clipped", .clip = 1, .scale = 0.5,
                             .agg_scale = -1, .delta = 1e-5, .timeout_ms = 60000,
                             .attempt_extra_ms = 5000, .rounds = 10, .local_iters = 50,
                             .quorum = 2, .inactive_after = 3, .server_lr = 2};
}

static void test_founding_usage(void **state)
{
    (void)state;
    identity_t *a = s_id(1), *b = s_id(2), *c = s_id(3);
    keyring_t *members = keyring_new(), *allowed = keyring_new();
    keyring_add(members, identity_public(b));
    keyring_add(allowed, identity_public(c));
    founding_opts_t o = s_opts(members, allowed);
    genesis_t *g = calloc(1, sizeof *g), *g2 = calloc(1, sizeof *g2);
    fs_err_t err = {0, ""};
    assert_int_equal(founding_genesis(&o, a, g, &err), 0);
    // the members as given, then the founder
    assert_int_equal(g->n_members, 2);
    assert_memory_equal(g->members[0].sign_pk, identity_public(b)->sign_pk, IDENTITY_KEY_BYTES);
    assert_memory_equal(g->members[1].sign_pk, identity_public(a)->sign_pk, IDENTITY_KEY_BYTES);
    assert_int_equal(g->n_allowed, 1);
    assert_int_equal(g->admission, ADMIT_ALLOWLIST);
    assert_string_equal(g->model, "cgan:8");
    assert_int_equal(g->mechanism, NOISE_GAUSSIAN_CLIPPED);
    assert_true(g->agg_scale == 0.5 && g->member_scale == 0.5); // the aggregator's: --scale
    assert_true(genesis_server_lr(g) == 2);
    assert_int_equal(g->quorum, 2);
    // round 0's model: the vector cgan:8's trainer starts from at seed 3
    workload_arch_t arch;
    assert_int_equal(global_arch("cgan:8", &arch, &err), 0);
    size_t n;
    float *w = global_initial(&arch, 3, &n);
    uint8_t h[HASH_BYTES];
    hash_model(w, n, h);
    assert_memory_equal(g->initial_model_hash, h, HASH_BYTES);

    // the same choices, the same genesis; written as a new ledger once
    assert_int_equal(founding_genesis(&o, a, g2, &err), 0);
    assert_memory_equal(g, g2, sizeof *g);
    char path[512];
    snprintf(path, sizeof path, "%s/fed.fsl", fixture_tmpdir());
    uint8_t fed_id[HASH_BYTES];
    assert_int_equal(founding_write(g, a, path, fed_id, &err), 0);
    chain_t *chain = chain_open(path, CHAIN_READ_ONLY, NULL, &err);
    assert_non_null(chain);
    assert_memory_equal(chain_state(chain)->fed_id, fed_id, HASH_BYTES);
    chain_destroy(&chain);
    assert_int_equal(founding_write(g, a, path, fed_id, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "refusing to replace"));

    // --initial: round 0's model from a file, pinned by its weights' hash
    for (size_t i = 0; i < n; i++) {
        w[i] *= 0.5f;
    }
    char init[512];
    snprintf(init, sizeof init, "%s/initial.fsm", fixture_tmpdir());
    assert_int_equal(workload_save(init, &arch, w, "mnist", "", &err), 0);
    hash_model(w, n, h);
    o.initial = init;
    assert_int_equal(founding_genesis(&o, a, g2, &err), 0);
    assert_memory_equal(g2->initial_model_hash, h, HASH_BYTES);
    // an initial model with a NaN is refused, naming the weight
    w[7] = NAN;
    assert_int_equal(workload_save(init, &arch, w, "mnist", "", &err), 0);
    assert_int_equal(founding_genesis(&o, a, g2, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "weight 7 of"));
    // no noise: no scales; server step 1 is written as absent; open admission
    o.initial = NULL;
    o.noise = "none";
    o.server_lr = 1;
    o.open = 1;
    assert_int_equal(founding_genesis(&o, a, g2, &err), 0);
    assert_true(g2->member_scale == 0 && g2->agg_scale == 0 && g2->server_lr == 0);
    assert_int_equal(g2->admission, ADMIT_OPEN);
    free(w);
    free(g);
    free(g2);
    keyring_destroy(&members);
    keyring_destroy(&allowed);
    identity_destroy(&a);
    identity_destroy(&b);
    identity_destroy(&c);
}

static void test_founding_refusals(void **state)
{
    (void)state;
    identity_t *a = s_id(1);
    genesis_t *g = calloc(1, sizeof *g);
    fs_err_t err = {0, ""};
    founding_opts_t o = s_opts(NULL, NULL);
    o.noise = "laplace";
    assert_int_equal(founding_genesis(&o, a, g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "--noise 'laplace'"));
    o = s_opts(NULL, NULL);
    o.clip = 0; // a formal mechanism without its bound
    assert_int_equal(founding_genesis(&o, a, g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "--clip"));
    o = s_opts(NULL, NULL);
    o.model = "gan:8";
    assert_int_equal(founding_genesis(&o, a, g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "--model 'gan:8'"));
    o = s_opts(NULL, NULL);
    o.initial = "/nonexistent.fsm";
    assert_int_not_equal(founding_genesis(&o, a, g, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent.fsm"));
    // one key more than a ledger holds
    keyring_t *many = keyring_new();
    for (int i = 0; i < LEDGER_MAX_MEMBERS; i++) {
        identity_t *x = s_id(10 + i);
        keyring_add(many, identity_public(x));
        identity_destroy(&x);
    }
    o = s_opts(many, NULL);
    assert_int_equal(founding_genesis(&o, a, g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "at most"));
    // a name the identity rules refuse is refused when the genesis is signed
    o = s_opts(NULL, NULL);
    o.name = "no spaces allowed";
    assert_int_equal(founding_genesis(&o, a, g, &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/bad.fsl", fixture_tmpdir());
    uint8_t fed_id[HASH_BYTES];
    assert_int_not_equal(founding_write(g, a, path, fed_id, &err), 0);
    keyring_destroy(&many);
    free(g);
    identity_destroy(&a);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_founding_usage),
        cmocka_unit_test(test_founding_refusals),
    };
    return cmocka_run_group_tests_name("founding", tests, NULL, fixture_teardown);
}
