/* cmd_node.c - `fedsyn node`, `fedsyn status` and `fedsyn netcfg check`. */
#include <czmq.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ledger/chain.h"
#include "netcfg/config.h"
#include "node/cli/cli.h"
#include "node/fed/node.h"
#include "node/fed/probe.h"
#include "node/fed/site_check.h"

static volatile int s_leave_requested;

static void s_on_usr1(int sig)
{
    (void)sig;
    s_leave_requested = 1;
}

static void s_config_help(void)
{
    printf("configuration file (ZPL: 4-space indentation, 'key = value'; relative paths\n"
           "are taken from the file's directory; docs/netcfg.md has the whole schema):\n\n"
           "  node\n"
           "      name = alice                    display name (required)\n"
           "      keys = keys/alice               identity from fedsyn keygen (required)\n"
           "      dir = state/alice               ledger, global model, control socket (required)\n"
           "      listen = tcp://127.0.0.1:7101   where peers reach this node (required)\n"
           "      advertise = tcp://host:7101     the endpoint peers dial (default: listen)\n"
           "      keep-models = all               every block's model kept in DIR/models for\n"
           "                                      audit (ledger verify, sample --round): all,\n"
           "                                      the last N blocks', or 0 (the head's only)\n"
           "      log-json = node.jsonl           also log JSON lines here (default: none)\n"
           "  federation\n"
           "      genesis = ledger.fsl            a founder: start from this genesis\n"
           "      id = HEX                        a joiner: the federation to fetch\n"
           "      rounds, local-iters, mechanism, scale, agg-scale, clip, timeout-ms,\n"
           "      attempt-extra-ms, quorum, admission, model, dataset: expectations,\n"
           "      checked against the genesis (a mismatch names its line)\n"
           "  peers\n"
           "      peer\n"
           "          endpoint = tcp://127.0.0.1:7102\n"
           "          identity = keys/bob/identity.pub   (or key = \"fedsyn-id1 ...\")\n"
           "  data\n"
           "      set = mnist                     mnist or fashion\n"
           "      dir = data/mnist                the IDX files\n"
           "      labels = 0,1,2                  the part of the data this node holds\n"
           "      limit = 0                       at most this many images (0: all)\n"
           "      seed = 1                        which images, when limited\n"
           "  train\n"
           "      batch = 64                      local mini-batch\n"
           "      threads = 1                     OpenBLAS threads for training\n"
           "      log-every = 10                  iterations between progress lines\n"
           "  quality                             the member's own scores of the global model\n"
           "      score-every = 0                 every K rounds (and the last): FID, classes,\n"
           "                                      label agreement, losses -> DIR/quality.jsonl\n"
           "                                      and the log (0: off)\n"
           "      evaluator = evaluators/mnist.fsm   from fedsyn evaluator train (required\n"
           "                                      with score-every)\n"
           "      score-samples = 1000            images drawn per score\n"
           "      test-dir = data/mnist           t10k-images-idx3-ubyte (default: data/dir)\n");
}

static void s_node_help(void)
{
    printf("usage: fedsyn node [run] --config FILE\n"
           "       fedsyn node leave --config FILE\n\n"
           "Runs this institution's member of a federation: keeps the ledger, trains the\n"
           "GAN on the local data each round, noises, seals and sends the update to the\n"
           "round's aggregator, aggregates when elected, and verifies every block.\n"
           "One line per round goes to stdout; progress and events to stderr.\n\n"
           "  run     (default) run until the planned rounds are done, the node's leave\n"
           "          is recorded, or SIGINT/SIGTERM (a restart catches up from peers)\n"
           "  leave   ask the running node to leave: the next block records it and the\n"
           "          node exits (SIGUSR1 does the same)\n\n");
    s_config_help();
    printf("\nexample: fedsyn node --config nodes/alice.zpl\n");
}

static int s_parse_config(const char *cmd, int argc, char **argv, const char **config,
                          void (*help)(void))
{
    static const struct option opts[] = {
        {"config", 1, 0, 'c'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    *config = NULL;
    while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *config = optarg; break;
        case 'h': help(); return -1;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc && !*config) {
        *config = argv[optind++];
    }
    if (optind < argc) {
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    }
    if (!*config) {
        return cli_usage(cmd, "--config FILE is required");
    }
    return 0;
}

int cli_node_control(const char *cmd, const char *config, const char *what)
{
    node_config_t cfg;
    fs_err_t err = {0};
    if (config_load(config, &cfg, &err) < 0) {
        return cli_fail(cmd, &err, "fix the configuration (fedsyn netcfg check FILE)");
    }
    char ep[CONFIG_PATH_MAX + 32];
    node_control_endpoint(cfg.dir, ep, sizeof ep);
    if (access(ep + 6, F_OK) != 0) {
        fs_err_set(&err, FS_EPEER, "no node is running for %s (no %s)", config, ep + 6);
        return cli_fail(cmd, &err, "start it with: fedsyn node --config FILE");
    }
    zsys_handler_set(NULL);
    zsock_t *req = zsock_new(ZMQ_REQ);
    zsock_set_linger(req, 0);
    zsock_set_rcvtimeo(req, 5000);
    zsock_set_sndtimeo(req, 5000);
    zsock_connect(req, "%s", ep);
    zstr_send(req, what);
    char *reply = zstr_recv(req);
    zsock_destroy(&req);
    if (!reply) {
        fs_err_set(&err, FS_ETIMEOUT, "the node did not answer within 5 s (%s)", ep);
        return cli_fail(cmd, &err, "is it stopped or stuck? check its log");
    }
    // a refusal comes back as "error: ...": to stderr, and a failing exit
    int refused = strncmp(reply, "error: ", 7) == 0;
    if (refused) {
        fprintf(stderr, "fedsyn %s: %s", cmd, reply);
    } else {
        fputs(reply, stdout);
    }
    zstr_free(&reply);
    return refused ? EXIT_FAIL : EXIT_OK;
}

int cmd_node(int argc, char **argv)
{
    const char *config;
    int leave = argc > 1 && strcmp(argv[1], "leave") == 0;
    if (argc > 1 && (leave || strcmp(argv[1], "run") == 0)) {
        argc--;
        argv++;
    }
    int rc = s_parse_config(leave ? "node leave" : "node", argc, argv, &config, s_node_help);
    if (rc) {
        return rc < 0 ? EXIT_OK : rc;
    }
    if (leave) {
        return cli_node_control("node leave", config, "LEAVE");
    }
    node_config_t cfg;
    fs_err_t err = {0};
    if (config_load(config, &cfg, &err) < 0) {
        return cli_fail("node", &err, "fix the configuration (fedsyn netcfg check FILE)");
    }
    zsys_handler_set(NULL); // our handlers, not czmq's
    cli_catch_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    // Every round allocates and frees model-sized buffers (4.8 MB for the
    // paper's GAN: reassembled messages, opened updates, the new global).
    // glibc serves those from fresh mmap()s, which the kernel must fault in
    // and zero page by page each time (about a tenth of a protocol-only
    // round's CPU, measured with perf); kept in the heap, they are reused.
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    node_t *node = node_new(&cfg, &err);
    if (!node) {
        return cli_fail("node", &err, NULL);
    }
    rc = node_run(node, &cli_interrupted, &s_leave_requested, &err);
    node_destroy(&node);
    if (rc == FS_EINTR) {
        fprintf(stderr, "fedsyn node: %s\n", err.msg);
        return EXIT_INTERRUPTED;
    }
    return rc < 0 ? cli_fail("node", &err, NULL) : EXIT_OK;
}

static void s_status_help(void)
{
    printf("usage: fedsyn status --config FILE [--json]\n\n"
           "Asks the running node of this configuration for its view: federation,\n"
           "ledger height, round, attempt and aggregator, members, last block,\n"
           "training progress, traffic and peers (alive or silent).\n\n"
           "  --config FILE  the node's configuration (its node/dir holds the\n"
           "                 control socket)\n"
           "  --json         one JSON object on one line, for monitoring: node,\n"
           "                 fingerprint, federation, height, planned_rounds, round,\n"
           "                 attempt, aggregator, witnesses (majority-witnessed\n"
           "                 federations: height, votes, voters, needed,\n"
           "                 promised_attempt), aggregator_is_me, active, leaving,\n"
           "                 members, last_block, training, collected, bytes_in,\n"
           "                 bytes_out, peers (docs/operations.md)\n\n"
           "Exit status 0 with the node's answer; 1 when no node answers.\n\n"
           "example: fedsyn status --config nodes/alice.zpl --json\n");
}

int cmd_status(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) { // --json is status's own; the rest is node's
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            memmove(argv + i, argv + i + 1, sizeof *argv * (size_t)(argc - i - 1));
            argc--;
            i--;
        }
    }
    const char *config;
    int rc = s_parse_config("status", argc, argv, &config, s_status_help);
    if (rc) {
        return rc < 0 ? EXIT_OK : rc;
    }
    return cli_node_control("status", config, json ? "STATUS-JSON" : "STATUS");
}

static void s_found_error(void *ctx, const char *msg)
{
    ++*(int *)ctx;
    fprintf(stderr, "fedsyn netcfg check: error: %s\n", msg);
}

static void s_found_note(void *ctx, const char *msg)
{
    ++*(int *)ctx;
    fprintf(stderr, "fedsyn netcfg check: note: %s\n", msg);
}

static void s_netcfg_help(void)
{
    printf("usage: fedsyn netcfg check [--probe] FILE\n"
           "       fedsyn netcfg provision DESC --key DIR --out DIR   (see provision --help)\n\n"
           "Reads a node configuration and reports every mistake with its file and line\n"
           "(unknown keys, repeated keys, values out of range, unreadable peer\n"
           "identities, missing required keys), then the site's kit: the identity in\n"
           "node/keys loads and its secret is private, node/dir is or can be made a\n"
           "folder, data/dir holds the data set and the share is not empty, and the\n"
           "node's key is a member of the genesis (or may join; an error when it may\n"
           "not).  With a genesis or a ledger at hand, the [federation] expectations are\n"
           "checked against it.  Starts nothing; peers are contacted only with --probe.\n\n"
           "  --probe   also dial every peer that has an endpoint, as the node would, for\n"
           "            one CurveZMQ handshake (3 s at most each): a peer that refuses this\n"
           "            site's key, or answers without a handshake (another key, or not a\n"
           "            node), is a mistake; one that does not answer is a note (it may not\n"
           "            be started yet)\n\n"
           "Exit status 0 when all is well, 2 when there are mistakes.\n\n");
    s_config_help();
    printf("\nexample: fedsyn netcfg check nodes/alice.zpl\n");
}

// netcfg check --probe: one bounded handshake with each peer that has an
// endpoint (node/fed/probe.h).
static void s_probe_peers(const node_config_t *cfg, const config_sink_t *errors,
                          const config_sink_t *notes)
{
    fs_err_t err = {0, ""};
    identity_t *me = identity_load(cfg->keys, &err);
    if (!me) {
        return; // site_check named it
    }
    zsys_handler_set(NULL);
    for (int i = 0; i < cfg->n_peers; i++) {
        const config_peer_t *p = &cfg->peers[i];
        if (!p->endpoint[0] || !p->has_id) {
            continue;
        }
        char why[512], msg[CONFIG_PATH_MAX + 600];
        probe_result_t r = probe_peer(me, &p->id, p->endpoint, 3000, why, sizeof why);
        snprintf(msg, sizeof msg, "%s:%d: peer %s %s", cfg->file, p->line, p->id.name, why);
        const config_sink_t *to = r == PROBE_REFUSED || r == PROBE_NO_HANDSHAKE ? errors : notes;
        to->found(to->ctx, msg);
    }
    identity_destroy(&me);
}

int cmd_netcfg(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_netcfg_help();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "provision") == 0) {
        return netcfg_provision(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "check") != 0) {
        return cli_usage("netcfg", "unknown subcommand '%s' (expected check or provision)",
                         argv[1]);
    }
    int probe = argc > 2 && strcmp(argv[2], "--probe") == 0;
    if (probe) {
        argv[2] = argv[1]; // drop it: "check FILE" remains
        argv++;
        argc--;
    }
    if (argc != 3 || argv[2][0] == '-') {
        if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            s_netcfg_help();
            return EXIT_OK;
        }
        return cli_usage("netcfg check", "expected [--probe] FILE");
    }
    // Every mistake is named, not only the first: the file's, then the
    // kit's (node/fed/site_check.h), then the genesis's expectations.
    node_config_t cfg;
    int mistakes = 0, notes = 0;
    const config_sink_t errors = {s_found_error, &mistakes};
    const config_sink_t remarks = {s_found_note, &notes};
    if (config_check_file(argv[2], &cfg, &errors) == 0) {
        site_check(&cfg, &errors, &remarks);
        if (probe) {
            s_probe_peers(&cfg, &errors, &remarks);
        }
    }
    if (mistakes) {
        fprintf(stderr, "fedsyn netcfg check: %d mistake%s in %s; fix %s and check again\n",
                mistakes, cli_plural(mistakes), argv[2], mistakes == 1 ? "it" : "them");
        return EXIT_USAGE;
    }
    printf("%s: ok: node %s, listen %s, %d peer%s, data %s%s%s%s\n", argv[2], cfg.name,
           cfg.listen, cfg.n_peers, cli_plural(cfg.n_peers), cfg.dataset,
           cfg.labels[0] ? " labels " : "", cfg.labels, notes ? " (see the notes above)" : "");
    return EXIT_OK;
}
