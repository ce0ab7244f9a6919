/* test_config.c - the node configuration: a whole valid file, defaults,
 * relative paths, peers, genesis expectations, and one refused file per
 * kind of mistake, each error naming file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/hash.h"
#include "netcfg/config.h"
#include "netcfg/zpl.h"
#include "tests/support/fixtures.h"

static const char *s_pub(void)
{
    static char line[IDENTITY_LINE_MAX];
    uint8_t seed[32] = {7};
    identity_t *id = identity_new_from_seed("bob", seed, NULL);
    identity_pub_format(identity_public(id), line);
    identity_destroy(&id);
    return line;
}

static void test_config_usage(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "# a node\n"
             "node\n"
             "    name = alice\n"
             "    keys = keys/alice      # relative to the file's directory\n"
             "    dir = /var/lib/fedsyn\n"
             "    listen = tcp://127.0.0.1:7101\n"
             "federation\n"
             "    genesis = genesis.fsl\n"
             "    rounds = 10\n"
             "    scale = 1e-4\n"
             "    admission = allowlist\n"
             "peers\n"
             "    peer\n"
             "        endpoint = tcp://127.0.0.1:7102\n"
             "        key = \"%s\"\n"
             "data\n"
             "    set = mnist\n"
             "    labels = 0,1,2\n"
             "train\n"
             "    batch = 32\n",
             s_pub());
    node_config_t cfg;
    fs_err_t err = {0};
    assert_int_equal(config_parse(text, strlen(text), "a.zpl", "/etc/fed", &cfg, &err), 0);
    assert_string_equal(cfg.name, "alice");
    assert_string_equal(cfg.keys, "/etc/fed/keys/alice");
    assert_string_equal(cfg.dir, "/var/lib/fedsyn");
    assert_string_equal(cfg.advertise, "tcp://127.0.0.1:7101"); // defaults to listen
    assert_string_equal(cfg.genesis, "/etc/fed/genesis.fsl");
    assert_int_equal(cfg.n_peers, 1);
    assert_string_equal(cfg.peers[0].id.name, "bob");
    assert_string_equal(cfg.peers[0].endpoint, "tcp://127.0.0.1:7102");
    assert_int_equal(cfg.batch, 32);
    assert_int_equal(cfg.threads, 1); // default
    assert_string_equal(cfg.labels, "0,1,2");

    // Expectations are checked against a genesis, naming the line.
    genesis_t g;
    memset(&g, 0, sizeof g);
    g.rounds = 10;
    g.member_scale = 1e-4;
    g.admission = ADMIT_ALLOWLIST;
    assert_int_equal(config_check_genesis(&cfg, &g, &err), 0);
    g.member_scale = 1e-3;
    assert_int_equal(config_check_genesis(&cfg, &g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "a.zpl:10: federation/scale = 0.0001, but the ledger's "
                                    "genesis says 0.001"));
    g.member_scale = 1e-4;
    g.admission = ADMIT_OPEN;
    assert_int_equal(config_check_genesis(&cfg, &g, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "a.zpl:11: federation/admission"));
}

typedef struct {
    const char *text;
    const char *expect; // substring of the error
} bad_t;

static void test_config_mistakes_name_the_line(void **state)
{
    (void)state;
    static const char *head = "node\n    name = a\n    keys = k\n    dir = d\n"
                              "    listen = tcp://127.0.0.1:1\n";
    static const bad_t bad[] = {
        {"train\n    batch = 1\n", "x.zpl:7: train/batch = '1': expected a whole number from 2"},
        {"train\n    batch = 3.5\n", "x.zpl:7: train/batch"},
        {"train\n    btach = 3\n", "x.zpl:7: unknown key 'btach' in section 'train' (expected "
                                   "one of: batch, threads, log-every, dp-rounds)"},
        {"trian\n", "x.zpl:6: unknown section 'trian'"},
        {"train\n    batch = 8\n    batch = 9\n", "x.zpl:8: train/batch repeated (first on line 7)"},
        {"train\n\tbatch = 8\n", "x.zpl:7: tab character"},
        {"train\n   batch = 8\n", "x.zpl:7: indented by 3 spaces"},
        {"train\n        batch = 8\n", "x.zpl:7: indented 2 levels"},
        {"train\n    batch = \"8\n", "x.zpl:7: unterminated \" quote"},
        {"train\n    batch\n", "x.zpl:7: train/batch needs a value"},
        {"train = 3\n", "x.zpl:6: section 'train' takes no value"},
        {"federation\n    id = 12ab\n", "x.zpl:7: federation/id: expected 64 hex digits"},
        {"federation\n    scale = -1\n", "x.zpl:7: federation/scale = '-1'"},
        {"data\n    labels = 0,,1\n", "data/labels = '0,,1'"},
        {"data\n    set = cifar\n", "data/set = 'cifar': expected mnist or fashion"},
        {"peers\n    peer\n        endpoint = tcp://x:1\n", "x.zpl:7: peer without 'key'"},
        {"peers\n    peer\n        endpoint = udp://x:1\n", "x.zpl:8: endpoint 'udp://x:1'"},
        {"peers\n    peer\n        key = fedsyn-id1 bob 00\n", "x.zpl:8: peer key:"},
        {"peers\n    peer\n        identity = /nonexistent/identity.pub\n",
         "x.zpl:8: peer identity:"},
        {"peers\n    friend\n", "x.zpl:7: expected 'peer'"},
        {"node\n", "x.zpl:6: section 'node' appears twice"},
        {"data\n    partition = zipf\n", "data/partition = 'zipf': expected dirichlet or iid"},
        {"data\n    partition = dirichlet\n    clients = 10\n    client = 2\n",
         "dirichlet needs data/alpha"},
        {"data\n    partition = iid\n    clients = 3\n    client = 3\n",
         "data/client K with 0 <= K < N"},
        {"data\n    alpha = -1\n", "x.zpl:7: data/alpha = '-1': expected a number from 1e-06"},
        {"data\n    partition = iid\n    clients = 3\n    labels = 0,1\n",
         "data/labels and data/partition exclude each other"},
        {"quality\n    score-every = 1\n",
         "x.zpl:7: quality/score-every = 1 needs quality/evaluator = PATH, an evaluator file "
         "(train one with 'fedsyn evaluator train --dataset mnist --out PATH')"},
        {"quality\n    score-every = 1\n    evaluator = /nonexistent/ev.fsm\n",
         "x.zpl:8: quality/evaluator /nonexistent/ev.fsm: No such file or directory (train one "
         "with 'fedsyn evaluator train --dataset mnist --out /nonexistent/ev.fsm')"},
        {"quality\n    score-every = 2\n    evaluator = /dev/null\n",
         "x.zpl:7: quality/score-every needs a test set: quality/test-dir or data/dir"},
        {"quality\n    score-every = -1\n",
         "x.zpl:7: quality/score-every = '-1': expected a whole number from 0"},
        {"quality\n    score-samples = 5\n",
         "x.zpl:7: quality/score-samples = '5': expected a whole number from 10"},
        {"quality\n    every = 1\n", "x.zpl:7: unknown key 'every' in section 'quality' "
                                      "(expected one of: score-every, evaluator, score-samples, "
                                      "test-dir)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, bad[i].text);
        node_config_t cfg;
        fs_err_t err = {0};
        int rc = config_parse(text, strlen(text), "x.zpl", "", &cfg, &err);
        if (rc != FS_EINVAL || !strstr(err.msg, bad[i].expect)) {
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, err.msg,
                     bad[i].expect);
        }
    }
    // A Dirichlet share: GenFL's split, every member the same seed.
    const char *ok = "node\n    name = a\n    keys = k\n    dir = d\n    listen = tcp://h:1\n"
                     "data\n    partition = dirichlet\n    alpha = 0.1\n    clients = 10\n"
                     "    client = 9\n    seed = 4\n";
    node_config_t pc;
    fs_err_t perr = {0};
    assert_int_equal(config_parse(ok, strlen(ok), "p.zpl", "", &pc, &perr), 0);
    assert_string_equal(pc.partition, "dirichlet");
    assert_true(pc.alpha == 0.1 && pc.clients == 10 && pc.client == 9 && pc.data_seed == 4);
    // Missing required keys are named.
    node_config_t cfg;
    fs_err_t err = {0};
    const char *t = "node\n    name = a\n    keys = k\n    listen = tcp://h:1\n";
    assert_int_equal(config_parse(t, strlen(t), "y.zpl", "", &cfg, &err), FS_EINVAL);
    assert_non_null(strstr(err.msg, "y.zpl: node/dir is required"));
}

// Quality scores (node/fed/scorer.h): off by default; on, they take the
// test set from data/dir unless quality/test-dir names another.
static void test_config_quality(void **state)
{
    (void)state;
    static const char *head = "node\n    name = a\n    keys = k\n    dir = d\n"
                              "    listen = tcp://h:1\ndata\n    dir = /srv/mnist\n";
    node_config_t cfg;
    fs_err_t err = {0};
    assert_int_equal(config_parse(head, strlen(head), "q.zpl", "/etc/fed", &cfg, &err), 0);
    assert_int_equal(cfg.score_every, 0);
    assert_int_equal(cfg.score_samples, 1000);
    assert_string_equal(cfg.test_dir, "/srv/mnist");
    char text[512];
    snprintf(text, sizeof text, "%squality\n    score-every = 5\n    evaluator = /dev/null\n"
             "    score-samples = 200\n    test-dir = test\n", head);
    assert_int_equal(config_parse(text, strlen(text), "q.zpl", "/etc/fed", &cfg, &err), 0);
    assert_int_equal(cfg.score_every, 5);
    assert_string_equal(cfg.evaluator, "/dev/null");
    assert_int_equal(cfg.score_samples, 200);
    assert_string_equal(cfg.test_dir, "/etc/fed/test"); // relative to the file
}

// node/keep-models: all by default, "all", a whole number (0: none); any
// other value is refused naming its line.
static void test_config_keep_models(void **state)
{
    (void)state;
    static const char *head = "node\n    name = a\n    keys = k\n    dir = d\n"
                              "    listen = tcp://h:1\n";
    node_config_t cfg;
    fs_err_t err = {0};
    assert_int_equal(config_parse(head, strlen(head), "k.zpl", "/etc", &cfg, &err), 0);
    assert_int_equal(cfg.keep_models, CONFIG_KEEP_ALL);
    const char *good[] = {"all", "0", "25"};
    const long want[] = {CONFIG_KEEP_ALL, 0, 25};
    char text[512];
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "%s    keep-models = %s\n", head, good[i]);
        assert_int_equal(config_parse(text, strlen(text), "k.zpl", "/etc", &cfg, &err), 0);
        assert_int_equal(cfg.keep_models, want[i]);
    }
    const char *bad[] = {"-1", "some", "3x", "+2", "1e3"};
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "%s    keep-models = %s\n", head, bad[i]);
        assert_int_not_equal(config_parse(text, strlen(text), "k.zpl", "/etc", &cfg, &err), 0);
        assert_non_null(strstr(err.msg, "k.zpl:6: node/keep-models"));
        assert_non_null(strstr(err.msg, "expected all or a whole number"));
    }
}

typedef struct {
    int n;
    char first[256], last[256];
} s_found_t;

static void s_found(void *ctx, const char *msg)
{
    s_found_t *f = ctx;
    snprintf(f->n++ ? f->last : f->first, sizeof f->first, "%s", msg);
}

// A checking read (netcfg check) names every mistake and goes on; the
// node's read stops at the first, the same message.
static void test_config_check_names_every_mistake(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/many.zpl", fixture_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("node\n    name = x\n    bogus = 1\n    keys = k\n    keys = k2\n"
          "    listen = tcp://127.0.0.1:1\nnowhere\n    a = 1\ntrain\n    batch = 0\n"
          "node\n    name = z\n", f);
    fclose(f);
    node_config_t cfg;
    s_found_t found = {0};
    const config_sink_t sink = {s_found, &found};
    assert_int_equal(config_check_file(path, &cfg, &sink), FS_EINVAL);
    // line 3 unknown key, line 5 repeated, line 7 unknown section (its key
    // is skipped), line 10 out of range, line 11 a second node section (its
    // keys are not "repeated" too), node/dir missing
    assert_int_equal(found.n, 6);
    assert_non_null(strstr(found.first, "many.zpl:3: unknown key 'bogus'"));
    assert_non_null(strstr(found.last, "node/dir is required"));
    fs_err_t err = {0};
    assert_int_equal(config_load(path, &cfg, &err), FS_EINVAL);
    assert_string_equal(err.msg, found.first);
    found.n = 0;
    snprintf(path, sizeof path, "%s/absent.zpl", fixture_tmpdir());
    assert_int_equal(config_check_file(path, &cfg, &sink), FS_EINVAL);
    assert_int_equal(found.n, 1);
}

int main(void)
{
    hash_library_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_usage),
        cmocka_unit_test(test_config_mistakes_name_the_line),
        cmocka_unit_test(test_config_quality),
        cmocka_unit_test(test_config_keep_models),
        cmocka_unit_test(test_config_check_names_every_mistake),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
