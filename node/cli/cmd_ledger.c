/* cmd_ledger.c - `fedsyn ledger init|verify|show|export`: found a
 * federation and audit its history.  The checks live in ledger/state.c;
 * this file parses options and prints. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/identity.h"
#include "crypto/keyring.h"
#include "crypto/noise_mechanism.h"
#include "ledger/budget.h"
#include "ledger/chain.h"
#include "node/fed/founding.h"
#include "node/fed/global.h"
#include "ledger/election.h"
#include "node/base/bytes.h"
#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/models/dcgan.h"
#include "node/train/workload.h"

#define CMD "ledger"

static void s_help(void)
{
    printf("usage: fedsyn ledger COMMAND [options] PATH\n\n"
           "  init     found a federation: write its genesis block (block 0)\n"
           "  verify   check every block: hash links, signatures, elections, members,\n"
           "           privacy budget; with several files, also that they agree\n"
           "  show     one line per round: time, aggregator, contributors, epsilon\n"
           "  export   every block as JSON with the exact signed bytes (--json)\n\n"
           "Run 'fedsyn ledger COMMAND --help' for each one's options.\n"
           "Exit status: 0 valid, 1 a problem was found (the first bad block is\n"
           "named), 2 a usage error.\n\n"
           "example: fedsyn ledger verify nodes/a/ledger.fsl\n");
}

static void s_help_init(void)
{
    printf("usage: fedsyn ledger init --key DIR --member FILE... --out PATH [options]\n\n"
           "Writes a new ledger whose genesis block fixes the federation: its members,\n"
           "model, data set, privacy settings, deadlines and admission rule, signed by\n"
           "the founder (DIR's identity, a founding member itself).\n\n"
           "  --key DIR           founder's identity directory (fedsyn keygen)\n"
           "  --member FILE       identity.pub of a founding member (repeat; the founder\n"
           "                      is added automatically)\n"
           "  --allow FILE        identity.pub of a member who may join later (repeat)\n"
           "  --open              anyone may join (--admission open)\n"
           "  --name NAME         federation name (default fedsyn)\n"
           "  --width W           DCGAN generator width (default 128, the paper's)\n"
           "  --model SPEC        what the federation trains: dcgan:W (default, W from\n"
           "                      --width), cdcgan:W (the same GAN conditioned on the\n"
           "                      labels), cgan:W (cdcgan with fedsyn's recipe: the\n"
           "                      choice for labelled data), cvae:H (GenFL's CVAE,\n"
           "                      hidden width H) or\n"
           "                      classifier (GenFL's downstream model)\n"
           "  --initial FILE      round 0's model from this file (e.g. a classifier\n"
           "                      pre-trained on synthetic data), pinned by its hash;\n"
           "                      every member gives the same file as federation/initial\n"
           "  --dataset NAME      mnist (default) or fashion\n"
           "  --seed S            seed of the initial global model (default 1)\n"
           "  --noise MODE        none, paper (Laplace on weights, no clip: no formal\n"
           "                      guarantee), laplace-clipped (L1 clip + Laplace) or\n"
           "                      gaussian-clipped (L2 clip + Gaussian, RDP accounting)\n"
           "                      (default paper); docs/privacy.md\n"
           "  --clip C            clip of each update: L1 (laplace-clipped) or L2\n"
           "                      (gaussian-clipped)\n"
           "  --scale B           members' Laplace scale b or Gaussian sigma (default 1e-4)\n"
           "  --agg-scale B       the aggregator's (default: --scale)\n"
           "  --delta D           delta of the (eps, delta) totals: advanced composition\n"
           "                      or the RDP accountant (default 1e-5)\n"
           "  --timeout-ms T      first attempt's round deadline (default 60000)\n"
           "  --attempt-extra-ms T  added per failed attempt (default 5000)\n"
           "  --rounds R          planned rounds (default 10; 0: no end)\n"
           "  --local-iters I     local iterations per round (default 50; 0: members send\n"
           "                      the global model back, which measures the protocol alone)\n"
           "  --quorum Q          fewest contributors in a block (default 1)\n"
           "  --inactive-after K  rounds missed before a member is removed (default 3)\n"
           "  --server-lr ETA     the aggregator's step on the averaged update: the next\n"
           "                      global is g + ETA (FedAvg - g), then its noise (default\n"
           "                      1, plain FedAvg; cgan federations with rounds of\n"
           "                      50-150 local iterations learn faster at 2; with\n"
           "                      transposed convolutions in G, rounds of 150 at batch\n"
           "                      64 did not: docs/results.md)\n");
    printf("  --request-window W  rounds a join or leave request stays valid: one\n"
           "                      signed for round m is refused in blocks after m + W,\n"
           "                      so an old request cannot be replayed (default %d;\n"
           "                      0: no window, as federations founded before it)\n"
           "  --finality RULE     majority (default: a block is final once more than half\n"
           "                      of the members active before it have signed it: a\n"
           "                      partition's minority finalizes nothing, and the\n"
           "                      history cannot fork; needs a request window) or\n"
           "                      signed (the aggregator's signature alone, as\n"
           "                      federations founded before session 19; a partition\n"
           "                      can fork them for good) - docs/federation.md\n"
           "  --admission RULE    who may join later: vote (default with majority\n"
           "                      finality: those admitted by a motion that more than\n"
           "                      half of the active members signed, fedsyn member;\n"
           "                      --allow keys need no vote), allow-list (default\n"
           "                      with signed finality: --allow keys only) or open\n"
           "                      (anyone; the same as --open)\n"
           "  --out PATH          the ledger file to create (refuses to replace one)\n",
           GENESIS_REQUEST_WINDOW_DEFAULT);
    printf("  --dp-sgd C          record-level DP: every member trains its discriminator\n"
           "                      with DP-SGD, each record's gradient clipped to L2 norm\n"
           "                      C; each block records every contributor's sampling\n"
           "                      rate, noise multiplier, steps and running epsilon\n"
           "                      (GAN models, majority finality; docs/privacy.md)\n"
           "  --record-eps E      ... the epsilon budget of each record: a member whose\n"
           "                      next round would pass it stops contributing\n"
           "  --record-delta D    ... its delta (default 1e-5)\n\n");
    printf("example: fedsyn ledger init --key keys/a --member keys/b/identity.pub \\\n"
           "           --member keys/c/identity.pub --out nodes/a/ledger.fsl\n");
}

static int s_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", 1, 0, 'k'},        {"member", 1, 0, 'm'},     {"allow", 1, 0, 'a'},
        {"open", 0, 0, 'O'},       {"name", 1, 0, 'n'},       {"width", 1, 0, 'w'},
        {"dataset", 1, 0, 'D'},    {"seed", 1, 0, 's'},       {"noise", 1, 0, 'N'},
        {"clip", 1, 0, 'c'},       {"scale", 1, 0, 'b'},      {"agg-scale", 1, 0, 'g'},
        {"delta", 1, 0, 'd'},      {"timeout-ms", 1, 0, 't'}, {"attempt-extra-ms", 1, 0, 'x'},
        {"rounds", 1, 0, 'r'},     {"local-iters", 1, 0, 'i'}, {"quorum", 1, 0, 'q'},
        {"inactive-after", 1, 0, 'K'}, {"out", 1, 0, 'o'},    {"model", 1, 0, 'M'},
        {"initial", 1, 0, 'I'},    {"server-lr", 1, 0, 'e'},  {"help", 0, 0, 'h'},
        {"request-window", 1, 0, 'W'}, {"finality", 1, 0, 'F'}, {"admission", 1, 0, 'A'},
        {"dp-sgd", 1, 0, 1001},    {"record-eps", 1, 0, 1002}, {"record-delta", 1, 0, 1003},
        {0, 0, 0, 0}};
    double record_clip = 0, record_eps = 0, record_delta = 1e-5;
    const char *key = NULL, *out = NULL, *name = "fedsyn", *dataset = "mnist", *noise = "paper";
    const char *model = NULL, *initial = NULL;
    char model_buf[GENESIS_TEXT_MAX + 1];
    long width = DCGAN_G_WIDTH, seed = 1, timeout = 60000, extra = 5000, rounds = 10,
         iters = 50, quorum = 1, inactive = 3, window = GENESIS_REQUEST_WINDOW_DEFAULT;
    double clip = 0, scale = 1e-4, agg_scale = -1, delta = 1e-5, server_lr = 1;
    int open_rule = 0, finality = -1; // -1: majority, or signed with --request-window 0
    int admission = 0;                // 0: vote with majority finality, else allow-list
    keyring_t *members = keyring_new(), *allowed = keyring_new();
    fs_err_t err = {0, ""};
    int c, rc = EXIT_OK;
    optind = 1;
    opterr = 0;
    while (rc == EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'k': key = optarg; break;
        case 'm':
        case 'a':
            if (keyring_load_file(c == 'm' ? members : allowed, optarg, &err) < 0) {
                rc = cli_fail(CMD " init", &err, "pass identity.pub files ('fedsyn keygen')");
            }
            break;
        case 'O': open_rule = 1; break;
        case 'A':
            admission = !strcmp(optarg, "vote")         ? ADMIT_VOTE
                        : !strcmp(optarg, "allow-list") ? ADMIT_ALLOWLIST
                        : !strcmp(optarg, "open")       ? ADMIT_OPEN
                                                        : -1;
            if (admission < 0) {
                rc = cli_usage(CMD " init", "--admission is vote, allow-list or open, not '%s'",
                               optarg);
            }
            break;
        case 'n': name = optarg; break;
        case 'w': bad = cli_int(CMD, "width", optarg, 2, 1024, &width); break;
        case 'M': model = optarg; break;
        case 'I': initial = optarg; break;
        case 'D': dataset = optarg; break;
        case 's': bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &seed); break;
        case 'N': noise = optarg; break;
        case 'c': bad = cli_double(CMD, "clip", optarg, 0, 1e12, &clip); break;
        case 'b': bad = cli_double(CMD, "scale", optarg, 0, 1e6, &scale); break;
        case 'g': bad = cli_double(CMD, "agg-scale", optarg, 0, 1e6, &agg_scale); break;
        case 'd': bad = cli_double(CMD, "delta", optarg, 1e-300, 0.999, &delta); break;
        case 't': bad = cli_int(CMD, "timeout-ms", optarg, 1, 86400000, &timeout); break;
        case 'x': bad = cli_int(CMD, "attempt-extra-ms", optarg, 0, 86400000, &extra); break;
        case 'r': bad = cli_int(CMD, "rounds", optarg, 0, 1000000, &rounds); break;
        case 'i': bad = cli_int(CMD, "local-iters", optarg, 0, 1000000, &iters); break;
        case 'q': bad = cli_int(CMD, "quorum", optarg, 1, LEDGER_MAX_MEMBERS, &quorum); break;
        case 'K': bad = cli_int(CMD, "inactive-after", optarg, 0, 65535, &inactive); break;
        case 'o': out = optarg; break;
        case 'W': bad = cli_int(CMD, "request-window", optarg, 0, 1000000, &window); break;
        case 'F':
            if (!strcmp(optarg, "majority") || !strcmp(optarg, "signed")) {
                finality = optarg[0] == 'm' ? GENESIS_FINALITY_MAJORITY : GENESIS_FINALITY_SIGNED;
            } else {
                rc = cli_usage(CMD " init", "--finality is majority or signed, not '%s'", optarg);
            }
            break;
        case 'e':
            bad = cli_double(CMD, "server-lr", optarg, 1e-3, GENESIS_SERVER_LR_MAX, &server_lr);
            break;
        case 1001: bad = cli_double(CMD, "dp-sgd", optarg, 1e-6, 1e6, &record_clip); break;
        case 1002: bad = cli_double(CMD, "record-eps", optarg, 1e-6, 1e6, &record_eps); break;
        case 1003: bad = cli_double(CMD, "record-delta", optarg, 1e-300, 0.1, &record_delta); break;
        case 'h': s_help_init(); keyring_destroy(&members); keyring_destroy(&allowed); return EXIT_OK;
        default: rc = cli_usage(CMD " init", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (bad) {
            rc = EXIT_USAGE;
        }
    }
    if (finality < 0) { // no window is a federation of the old rules
        finality = window ? GENESIS_FINALITY_MAJORITY : GENESIS_FINALITY_SIGNED;
    }
    if (rc == EXIT_OK && !model) {
        snprintf(model_buf, sizeof model_buf, "dcgan:%ld", width);
        model = model_buf;
    }
    identity_t *founder = NULL;
    genesis_t *g = calloc(1, sizeof *g);
    if (rc == EXIT_OK && (!key || !out)) {
        rc = cli_usage(CMD " init", "--key and --out are required");
    }
    if (rc == EXIT_OK && !(founder = identity_load(key, &err))) {
        rc = cli_fail(CMD " init", &err, NULL);
    }
    if (rc == EXIT_OK) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        const founding_opts_t fo = {
            .name = name, .time_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000,
            .members = members, .allowed = allowed, .open = open_rule, .model = model,
            .dataset = dataset, .seed = (uint64_t)seed, .initial = initial, .noise = noise,
            .clip = clip, .scale = scale, .agg_scale = agg_scale, .delta = delta,
            .timeout_ms = (uint32_t)timeout, .attempt_extra_ms = (uint32_t)extra,
            .rounds = (uint32_t)rounds, .local_iters = (uint32_t)iters,
            .quorum = (uint16_t)quorum, .inactive_after = (uint16_t)inactive,
            .server_lr = server_lr, .request_window = (uint32_t)window,
            .finality = (uint8_t)finality, .admission = admission,
            .record_clip = record_clip, .record_delta = record_delta, .record_eps = record_eps};
        uint8_t fed_id[HASH_BYTES];
        if (founding_genesis(&fo, founder, g, &err) < 0) {
            rc = cli_fail(CMD " init", &err,
                          initial && err.code != FS_EINVAL
                              ? "--initial must be a file of --model's kind"
                              : "run 'fedsyn ledger init --help' for the options");
        } else if (founding_write(g, founder, out, fed_id, &err) < 0) {
            rc = cli_fail(CMD " init", &err, NULL);
        } else {
            char hex[2 * HASH_BYTES + 1];
            bytes_to_hex(fed_id, HASH_BYTES, hex);
            printf("%s\n", hex);
            fprintf(stderr,
                    "fedsyn ledger init: federation '%s' with %u founding members, "
                    "%s, noise %s -> %s\n",
                    g->name, g->n_members, g->model, noise_mechanism_name(g->mechanism), out);
        }
    }
    free(g);
    identity_destroy(&founder);
    keyring_destroy(&members);
    keyring_destroy(&allowed);
    return rc;
}

// Opens each ledger read-only; prints a warning for a torn tail (and says
// how many bytes it has in *torn when torn is not NULL).
static chain_t *s_open(const char *sub, const char *path, fs_err_t *err, uint64_t *torn)
{
    chain_open_info_t info;
    chain_t *c = chain_open(path, CHAIN_READ_ONLY, &info, err);
    if (c && info.truncated_bytes) {
        fprintf(stderr,
                "fedsyn ledger %s: warning: %s: a torn tail of %llu bytes%s after block %llu "
                "(a crash while appending); the node cuts it when it opens the ledger\n",
                sub, path, (unsigned long long)info.truncated_bytes,
                info.zero_tail ? ", all zeros," : "", (unsigned long long)(info.blocks - 1));
    }
    if (torn) {
        *torn = c ? info.truncated_bytes : 0;
    }
    return c;
}

static const char *s_name_of(const ledger_state_t *st, const uint8_t key[IDENTITY_KEY_BYTES],
                             char *buf)
{
    const ledger_member_t *m = ledger_state_member(st, key);
    if (m) {
        return m->id.name;
    }
    hash_short(key, buf);
    return buf;
}

static void s_time(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

// Compares two valid ledgers block by block; prints equivocation evidence
// or the first divergence.  Returns 0 when one is a prefix of the other.
static int s_compare(const char *pa, const chain_t *a, const char *pb, const chain_t *b)
{
    uint64_t n = chain_height(a) < chain_height(b) ? chain_height(a) : chain_height(b);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *ra, *rb;
        size_t na, nb;
        chain_record(a, i, &ra, &na);
        chain_record(b, i, &rb, &nb);
        if (na == nb && memcmp(ra, rb, na) == 0) {
            continue;
        }
        sigmsg_t ma, mb;
        if (sigmsg_decode(ra, na, BLOCK_MAX_BYTES, &ma, NULL) < 0 ||
            sigmsg_decode(rb, nb, BLOCK_MAX_BYTES, &mb, NULL) < 0) {
            return -1; // cannot happen: both verified
        }
        uint8_t ha[HASH_BYTES], hb[HASH_BYTES];
        block_hash(ra, na, ha);
        block_hash(rb, nb, hb);
        char ha_hex[2 * HASH_BYTES + 1], hb_hex[sizeof ha_hex];
        char sa[2 * IDENTITY_SIG_BYTES + 1], sb[sizeof sa], key[2 * IDENTITY_KEY_BYTES + 1];
        bytes_to_hex(ha, HASH_BYTES, ha_hex);
        bytes_to_hex(hb, HASH_BYTES, hb_hex);
        bytes_to_hex(ma.signature, IDENTITY_SIG_BYTES, sa);
        bytes_to_hex(mb.signature, IDENTITY_SIG_BYTES, sb);
        bytes_to_hex(ma.signer, IDENTITY_KEY_BYTES, key);
        if (i == 0) {
            // two geneses are two federations, whoever founded them (the
            // same founder may found several): not evidence of anything
            char fa[2 * HASH_BYTES + 1], fb[sizeof fa];
            bytes_to_hex(chain_state(a)->fed_id, HASH_BYTES, fa);
            bytes_to_hex(chain_state(b)->fed_id, HASH_BYTES, fb);
            printf("DIFFERENT FEDERATIONS: %s and %s have different genesis blocks\n"
                   "  %s: federation %s\n  %s: federation %s\n",
                   pa, pb, pa, fa, pb, fb);
        } else if (memcmp(ma.signer, mb.signer, IDENTITY_KEY_BYTES) == 0) {
            printf("EQUIVOCATION: block %llu was signed twice by %s\n"
                   "  %s: hash %s\n    signature %s\n"
                   "  %s: hash %s\n    signature %s\n",
                   (unsigned long long)i, key, pa, ha_hex, sa, pb, hb_hex, sb);
        } else {
            printf("FORK: %s and %s differ from block %llu on (different aggregators)\n"
                   "  %s: hash %s\n  %s: hash %s\n",
                   pa, pb, (unsigned long long)i, pa, ha_hex, pb, hb_hex);
        }
        return -1;
    }
    return 0;
}

// Parses the options of a subcommand that has only --help (and, for
// export, --json): returns -1 to go on, or the exit code to return.
// Parses --help, and --json or --allow-torn-tail where the command takes
// them (a non-NULL flag).
static int s_parse_help(int argc, char **argv, const char *sub, const char *help, int *json,
                        int *allow_torn, const char **models)
{
    optind = 1;
    opterr = 0;
    static const struct option opts[] = {{"json", 0, 0, 'j'}, {"help", 0, 0, 'h'},
                                         {"allow-torn-tail", 0, 0, 't'},
                                         {"models", 1, 0, 'm'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j' && json) {
            *json = 1;
        } else if (c == 't' && allow_torn) {
            *allow_torn = 1;
        } else if (c == 'm' && models) {
            *models = optarg;
        } else if (c == 'h') {
            fputs(help, stdout);
            return EXIT_OK;
        } else {
            return cli_usage(sub, "unknown option '%s'", argv[optind - 1]);
        }
    }
    return -1;
}

// A node keeps its global model as global.fsm beside its ledger: when it is
// there, it must be the model whose hash the head block records.
static int s_check_model_beside(const char *ledger, const ledger_state_t *st)
{
    char path[4096];
    const char *slash = strrchr(ledger, '/');
    snprintf(path, sizeof path, "%.*sglobal.fsm", slash ? (int)(slash - ledger + 1) : 0, ledger);
    if (access(path, F_OK) != 0) {
        return 0;
    }
    fs_err_t err = {0, ""};
    workload_arch_t arch;
    if (global_arch(st->genesis.model, &arch, &err) < 0) {
        cli_fail(CMD " verify", &err, NULL);
        return -1;
    }
    size_t ng, n;
    global_sizes(&arch, &ng, &n);
    float *w = malloc(n * sizeof *w);
    int rc = w ? global_load(path, &arch, w, st->model_hash, &err) : FS_EIO;
    free(w);
    if (rc < 0) {
        fs_err_prefix(&err, rc, "model check: ");
        cli_fail(CMD " verify", &err, "a node fetches the head's model from a peer when it "
                 "restarts");
        return -1;
    }
    printf("%s: the head's model (block %llu)\n", path, (unsigned long long)st->height - 1);
    return 0;
}

// The models a node kept for audit (node/fed/archive.h): every one there
// must be the model its block pins.  dir NULL: models/ beside the ledger,
// skipped when absent; a given dir must exist.
static int s_check_models(const char *ledger, const chain_t *chain, const char *dir)
{
    char beside[4096];
    if (!dir) {
        const char *slash = strrchr(ledger, '/');
        snprintf(beside, sizeof beside, "%.*smodels", slash ? (int)(slash - ledger + 1) : 0,
                 ledger);
        if (access(beside, F_OK) != 0) {
            return 0;
        }
        dir = beside;
    }
    fs_err_t err = {0, ""};
    const ledger_state_t *st = chain_state(chain);
    workload_arch_t arch;
    if (access(dir, R_OK | X_OK) != 0) {
        fs_err_set(&err, FS_EIO, "--models %s: %s", dir, strerror(errno));
        cli_fail(CMD " verify", &err, "give the models/ folder of a node's state folder");
        return -1;
    }
    if (global_arch(st->genesis.model, &arch, &err) < 0) {
        cli_fail(CMD " verify", &err, NULL);
        return -1;
    }
    size_t ng, n;
    global_sizes(&arch, &ng, &n);
    float *w = xmalloc(n * sizeof *w);
    uint64_t kept = 0, h = chain_height(chain);
    int rc = 0;
    for (uint64_t i = 0; i < h && rc == 0; i++) {
        uint8_t hash[HASH_BYTES];
        if (chain_model_hash(chain, i, hash, &err) < 0) {
            cli_fail(CMD " verify", &err, NULL); // verified by chain_open: cannot happen
            rc = -1;
            break;
        }
        char hex[2 * HASH_BYTES + 1], path[4200];
        bytes_to_hex(hash, HASH_BYTES, hex);
        snprintf(path, sizeof path, "%s/%s.fsm", dir, hex);
        if (access(path, F_OK) != 0) {
            continue;
        }
        if (global_load(path, &arch, w, hash, &err) < 0) {
            fs_err_prefix(&err, err.code, "block %llu's model: ", (unsigned long long)i);
            cli_fail(CMD " verify", &err, "the file is not the model the ledger pins: it was "
                     "changed or damaged after the node kept it");
            rc = -1;
        }
        kept++;
    }
    free(w);
    if (rc == 0) {
        printf("%s: %llu of %llu blocks' models kept, each the model its block pins%s\n", dir,
               (unsigned long long)kept, (unsigned long long)h,
               kept < h ? " (the others were not kept: node/keep-models, or synced past)" : "");
    }
    return rc;
}

static int s_verify(int argc, char **argv)
{
    static const char help[] =
        "usage: fedsyn ledger verify PATH [PATH...]\n\n"
        "Checks every block of each ledger: framing and checksums, the hash chain,\n"
        "the aggregator's election and signature, expected members and\n"
        "contributors (weights p_k = n_k / sum n), signed join and leave requests,\n"
        "the admission rule, the privacy parameters and epsilon totals.\n"
        "A node's global.fsm beside a ledger is checked against the head's model\n"
        "hash.  Several ledgers (one per node) must also agree: two different blocks for\n"
        "one round signed by the same key are printed as equivocation evidence.\n"
        "The models a node kept for audit (models/ beside the ledger, or --models DIR)\n"
        "are checked against the hash each block pins: one that does not match fails.\n"
        "A torn tail (an append cut short by a crash, or zeros or garbage after the\n"
        "last whole block) is a failure too unless --allow-torn-tail: a running\n"
        "node cuts it at its next start.\n"
        "Exit 0 when all is valid; 1 with the first bad block and the reason.\n\n"
        "  --allow-torn-tail   accept a torn tail (a warning)\n"
        "  --models DIR        the kept models to check (default: models/ beside\n"
        "                      each ledger, when there; node/keep-models)\n\n"
        "example: fedsyn ledger verify nodes/*/ledger.fsl\n";
    int allow_torn = 0;
    const char *models = NULL;
    int rc0 = s_parse_help(argc, argv, CMD " verify", help, NULL, &allow_torn, &models);
    if (rc0 >= 0) {
        return rc0;
    }
    if (optind >= argc) {
        return cli_usage(CMD " verify", "give at least one ledger file");
    }
    int n = argc - optind, rc = EXIT_OK;
    chain_t **chains = calloc((size_t)n, sizeof *chains);
    for (int i = 0; i < n; i++) {
        fs_err_t err = {0, ""};
        const char *path = argv[optind + i];
        double t0 = cli_now();
        uint64_t torn = 0;
        chains[i] = s_open("verify", path, &err, &torn);
        if (!chains[i]) {
            rc = cli_fail(CMD " verify", &err,
                          "'fedsyn ledger show' prints the blocks before the bad one");
            continue;
        }
        const ledger_state_t *st = chain_state(chains[i]);
        char hex[2 * HASH_BYTES + 1];
        bytes_to_hex(st->head_hash, HASH_BYTES, hex);
        uint8_t keys[LEDGER_MAX_MEMBERS][IDENTITY_KEY_BYTES];
        double dt = cli_now() - t0;
        const size_t active = ledger_state_active(st, keys);
        printf("%s: valid, %llu block%s (genesis + %llu round%s), %zu active member%s, head "
               "%.16s, verified in %.3f s\n",
               path, (unsigned long long)st->height, cli_plural((long long)st->height),
               (unsigned long long)(st->height - 1), cli_plural((long long)st->height - 1),
               active, cli_plural((long long)active), hex, dt);
        if (s_check_model_beside(path, st) < 0 || s_check_models(path, chains[i], models) < 0) {
            rc = EXIT_FAIL;
        }
        if (torn && !allow_torn) {
            fprintf(stderr, "fedsyn ledger verify: error: %s has a torn tail (see above): the "
                    "blocks before it are valid\nhint: --allow-torn-tail accepts it; a node "
                    "cuts it when it starts\n", path);
            rc = EXIT_FAIL;
        }
    }
    for (int i = 1; i < n && rc == EXIT_OK; i++) {
        if (s_compare(argv[optind], chains[0], argv[optind + i], chains[i]) < 0) {
            rc = EXIT_FAIL;
        }
    }
    if (n > 1 && rc == EXIT_OK) {
        printf("all %d ledgers agree\n", n);
    }
    for (int i = 0; i < n; i++) {
        chain_destroy(&chains[i]);
    }
    free(chains);
    return rc;
}

// Each member's own spending: a member releases something only in the
// rounds it contributed to, so its totals count those (the per-block totals
// above charge every round, the worst case for any member).
static void s_show_member_budgets(const ledger_state_t *st, const uint64_t *contributed)
{
    const genesis_t *g = &st->genesis;
    if (!budget_is_formal(g->mechanism)) {
        return;
    }
    budget_params_t bp = budget_params_of(g);
    double eps = budget_member_epsilon(&bp);
    printf("\nper member (rounds it contributed to; delta %g):\n", g->delta);
    printf("  %-16s  %8s  %10s  %10s\n", "member", "rounds", "basic", "tight");
    for (int i = 0; i < st->n_members; i++) {
        printf("  %-16s  %8llu  %10.4g  %10.4g\n", st->members[i].id.name,
               (unsigned long long)contributed[i], (double)contributed[i] * eps,
               budget_composed_epsilon(&bp, contributed[i]));
    }
}

// Record-level DP: each member's records' running epsilon against the budget.
static void s_show_record_budgets(const ledger_state_t *st, const uint64_t *contributed)
{
    const genesis_t *g = &st->genesis;
    if (!g->record_dp) {
        return;
    }
    printf("\nper member, its records (DP-SGD; budget %g at delta %g):\n", g->record_eps,
           g->record_delta);
    printf("  %-16s  %8s  %10s  %10s\n", "member", "rounds", "epsilon", "left");
    for (int i = 0; i < st->n_members; i++) {
        const double eps = ledger_state_record_eps(st, st->members[i].id.sign_pk, 0, 0, 0);
        printf("  %-16s  %8llu  %10.4g  %10.4g\n", st->members[i].id.name,
               (unsigned long long)contributed[i], eps, g->record_eps - eps);
    }
}

static int s_show(int argc, char **argv)
{
    static const char help[] =
        "usage: fedsyn ledger show PATH\n\n"
        "Verifies the ledger and prints the federation's parameters and one line\n"
        "per round: index, time (UTC), aggregator (rank/attempt), contributors of\n"
        "expected, joined/left, close reason, the privacy spent and the global\n"
        "model's hash.  Privacy columns: eps = what one member's release spent this\n"
        "round, eps(G) = what the global model spent, basic = running total under\n"
        "basic composition, tight = running total at the genesis delta (advanced\n"
        "composition for laplace-clipped, the RDP accountant for gaussian-clipped).\n"
        "'none' means the noise mode has no formal guarantee (docs/privacy.md).\n\n"
        "example: fedsyn ledger show nodes/a/ledger.fsl\n";
    int rc0 = s_parse_help(argc, argv, CMD " show", help, NULL, NULL, NULL);
    if (rc0 >= 0) {
        return rc0;
    }
    if (optind != argc - 1) {
        return cli_usage(CMD " show", "give one ledger file");
    }
    const char *path = argv[optind];
    fs_err_t err = {0, ""};
    chain_t *chain = s_open("show", path, &err, NULL);
    if (!chain) {
        return cli_fail(CMD " show", &err, NULL);
    }
    ledger_state_t *st = ledger_state_new();
    const uint8_t *rec;
    size_t n;
    chain_record(chain, 0, &rec, &n);
    if (ledger_state_start(st, rec, n, &err) < 0) {
        abort(); // verified by chain_open
    }
    const genesis_t *g = &st->genesis;
    char when[32], hex[2 * HASH_BYTES + 1];
    s_time(g->time_ms, when, sizeof when);
    bytes_to_hex(st->fed_id, HASH_BYTES, hex);
    printf("federation %s, founded %s, %u member%s, model %s on %s\n", g->name, when,
           g->n_members, cli_plural(g->n_members), g->model, g->dataset);
    printf("id %s (what a joiner's federation/id names)\n", hex);
    printf("noise %s, clip %g, scale %g, aggregator scale %g, delta %g; quorum %u, "
           "inactive after %u, admission %s",
           noise_mechanism_name(g->mechanism), g->clip, g->member_scale, g->agg_scale, g->delta,
           g->quorum, g->inactive_after, admission_name(g->admission));
    if (genesis_server_lr(g) != 1) {
        printf("; server step %g on the averaged update", genesis_server_lr(g));
    }
    if (g->request_window) {
        printf("; join/leave requests valid for %u rounds", g->request_window);
    } else {
        printf("; join/leave requests without a window");
    }
    printf("; %s", g->finality == GENESIS_FINALITY_MAJORITY
                       ? "a block is final once a majority of the members witness it"
                       : "a block is final with its aggregator's signature");
    printf("\n\n");
    if (g->record_dp) {
        printf("record-level DP: DP-SGD on every member's discriminator, clip %g per record; "
               "budget epsilon %g per record at delta %g (the rec.eps column: the largest "
               "running epsilon of the block's contributors)\n\n",
               g->record_clip, g->record_eps, g->record_delta);
    }
    if (!budget_is_formal(g->mechanism)) {
        printf("privacy: no formal guarantee (%s); no epsilon is claimed\n\n",
               g->mechanism == NOISE_NONE ? "no noise" : "noise without a clip");
    }
    printf("%5s  %-20s  %-16s  %7s  %-9s  %-12s  %8s  %8s  %8s  %8s  %s%s\n", "round",
           "time (UTC)", "aggregator", "contrib", "join/left", "close", "eps", "eps(G)", "basic",
           "tight", g->record_dp ? " rec.eps  " : "", "model");
    uint64_t contributed[LEDGER_MAX_MEMBERS] = {0}; // releases per member
    for (uint64_t i = 1; i < chain_height(chain); i++) {
        chain_record(chain, i, &rec, &n);
        if (ledger_state_apply(st, rec, n, &err) < 0) {
            abort(); // verified by chain_open
        }
        const block_t *b = &st->last;
        for (int k = 0; k < b->n_contrib; k++) {
            const ledger_member_t *mem = ledger_state_member(st, b->contrib[k].key);
            contributed[mem - st->members]++;
        }
        char agg[64], buf[9], eps[4][16], model[17], jl[16];
        snprintf(agg, sizeof agg, "%s %u/%u", s_name_of(st, b->aggregator, buf), b->rank,
                 b->attempt);
        s_time(b->time_ms, when, sizeof when);
        const double v[4] = {b->privacy.eps_member, b->privacy.eps_aggregate,
                             b->privacy.eps_total, b->privacy.eps_total_adv};
        for (int k = 0; k < 4; k++) {
            snprintf(eps[k], sizeof eps[k], budget_is_formal(b->privacy.mechanism) ? "%.4g" : "none",
                     v[k]);
        }
        bytes_to_hex(b->model_hash, 8, model);
        snprintf(jl, sizeof jl, "+%u/-%u", b->n_joined, b->n_left);
        char rec_eps[16] = "";
        if (b->has_record_dp) {
            double top = 0;
            for (int k = 0; k < b->n_contrib; k++) {
                top = b->record_dp[k].eps > top ? b->record_dp[k].eps : top;
            }
            snprintf(rec_eps, sizeof rec_eps, "%8.4g  ", top);
        }
        printf("%5llu  %-20s  %-16s  %3u/%-3u  %-9s  %-12s  %8s  %8s  %8s  %8s  %s%s\n",
               (unsigned long long)b->index, when, agg, b->n_contrib, b->n_expected, jl,
               close_reason_name(b->close_reason), eps[0], eps[1], eps[2], eps[3], rec_eps,
               model);
        for (int k = 0; k < b->n_joined; k++) {
            printf("       joined: %s\n", b->joined[k].id.name);
        }
        for (int k = 0; k < b->n_left; k++) {
            printf("       left: %s (%s)\n", s_name_of(st, b->left[k].key, buf),
                   leave_reason_name(b->left[k].reason));
        }
        for (int k = 0; k < b->n_motions; k++) {
            const motion_t *m = &b->motions[k];
            printf("       vote: %s %s (motion of round %llu, signed by %u of %u:",
                   motion_action_name(m->action), m->candidate.name,
                   (unsigned long long)m->round, m->n, b->n_expected);
            for (uint16_t s = 0; s < m->n; s++) {
                printf(" %s", s_name_of(st, m->sigs[s].key, buf));
            }
            printf(")\n");
        }
    }
    s_show_member_budgets(st, contributed);
    s_show_record_budgets(st, contributed);
    ledger_state_destroy(&st);
    chain_destroy(&chain);
    return EXIT_OK;
}

static void s_json_hex(const char *key, const uint8_t *p, size_t n, int comma)
{
    char *hex = malloc(2 * n + 1);
    bytes_to_hex(p, n, hex);
    printf("\"%s\": \"%s\"%s", key, hex, comma ? ", " : "");
    free(hex);
}

static void s_json_identity(const identity_pub_t *id)
{
    printf("{\"name\": \"%s\", ", id->name); // names are [A-Za-z0-9._-]: no escaping
    s_json_hex("sign_pk", id->sign_pk, IDENTITY_KEY_BYTES, 1);
    s_json_hex("box_pk", id->box_pk, IDENTITY_KEY_BYTES, 1);
    s_json_hex("curve_pk", id->curve_pk, IDENTITY_KEY_BYTES, 0);
    printf("}");
}

// %.17g round-trips a double; JSON has no NaN/Inf, and the decoder refuses them.
static void s_json_double(const char *key, double v, int comma)
{
    printf("\"%s\": %.17g%s", key, v, comma ? ", " : "");
}

static void s_export_genesis(const genesis_t *g)
{
    printf("\"genesis\": {\"name\": \"%s\", \"time_ms\": %llu, \"members\": [", g->name,
           (unsigned long long)g->time_ms);
    for (int i = 0; i < g->n_members; i++) {
        s_json_identity(&g->members[i]);
        printf(i + 1 < g->n_members ? ", " : "");
    }
    printf("], \"model\": \"%s\", \"dataset\": \"%s\", \"model_seed\": %llu, ", g->model,
           g->dataset, (unsigned long long)g->model_seed);
    s_json_hex("initial_model_hash", g->initial_model_hash, HASH_BYTES, 1);
    printf("\"mechanism\": \"%s\", ", noise_mechanism_name(g->mechanism));
    s_json_double("clip", g->clip, 1);
    s_json_double("member_scale", g->member_scale, 1);
    s_json_double("agg_scale", g->agg_scale, 1);
    s_json_double("delta", g->delta, 1);
    printf("\"round_timeout_ms\": %u, \"attempt_extra_ms\": %u, \"rounds\": %u, "
           "\"local_iters\": %u, \"quorum\": %u, \"inactive_after\": %u, \"admission\": \"%s\", "
           "\"allowed\": [",
           g->round_timeout_ms, g->attempt_extra_ms, g->rounds, g->local_iters, g->quorum,
           g->inactive_after, admission_name(g->admission));
    for (int i = 0; i < g->n_allowed; i++) {
        char hex[2 * IDENTITY_KEY_BYTES + 1];
        bytes_to_hex(g->allowed[i], IDENTITY_KEY_BYTES, hex);
        printf("\"%s\"%s", hex, i + 1 < g->n_allowed ? ", " : "");
    }
    printf("], ");
    s_json_double("server_lr", genesis_server_lr(g), 1);
    printf("\"request_window\": %u, ", g->request_window);
    printf("\"finality\": \"%s\"",
           g->finality == GENESIS_FINALITY_MAJORITY ? "majority" : "signed");
    if (g->record_dp) {
        printf(", \"record_dp\": {\"mechanism\": \"dp-sgd\", ");
        s_json_double("clip", g->record_clip, 1);
        s_json_double("delta", g->record_delta, 1);
        s_json_double("eps_budget", g->record_eps, 0);
        printf("}");
    }
    printf("}");
}

static void s_export_block(const block_t *b)
{
    printf("\"block\": {\"time_ms\": %llu, ", (unsigned long long)b->time_ms);
    s_json_hex("prev_hash", b->prev_hash, HASH_BYTES, 1);
    printf("\"rank\": %u, \"attempt\": %u, \"expected\": [", b->rank, b->attempt);
    for (int i = 0; i < b->n_expected; i++) {
        char hex[2 * IDENTITY_KEY_BYTES + 1];
        bytes_to_hex(b->expected[i], IDENTITY_KEY_BYTES, hex);
        printf("\"%s\"%s", hex, i + 1 < b->n_expected ? ", " : "");
    }
    printf("], \"contributors\": [");
    for (int i = 0; i < b->n_contrib; i++) {
        printf("{");
        s_json_hex("key", b->contrib[i].key, IDENTITY_KEY_BYTES, 1);
        s_json_hex("envelope", b->contrib[i].envelope, HASH_BYTES, 1);
        printf("\"samples\": %llu, ", (unsigned long long)b->contrib[i].samples);
        s_json_double("weight", b->contrib[i].weight, b->has_record_dp);
        if (b->has_record_dp) {
            const block_record_dp_t *d = &b->record_dp[i];
            printf("\"record_dp\": {");
            s_json_double("q", d->q, 1);
            s_json_double("sigma", d->sigma, 1);
            printf("\"steps\": %llu, ", (unsigned long long)d->steps);
            s_json_double("eps", d->eps, 0);
            printf("}");
        }
        printf("}%s", i + 1 < b->n_contrib ? ", " : "");
    }
    printf("], \"joined\": [");
    for (int i = 0; i < b->n_joined; i++) {
        printf("{\"identity\": ");
        s_json_identity(&b->joined[i].id);
        printf(", ");
        s_json_hex("request", b->joined[i].request, b->joined[i].request_len, 0);
        printf("}%s", i + 1 < b->n_joined ? ", " : "");
    }
    printf("], \"left\": [");
    for (int i = 0; i < b->n_left; i++) {
        printf("{");
        s_json_hex("key", b->left[i].key, IDENTITY_KEY_BYTES, 1);
        printf("\"reason\": \"%s\", ", leave_reason_name(b->left[i].reason));
        s_json_hex("request", b->left[i].request, b->left[i].request_len, 0);
        printf("}%s", i + 1 < b->n_left ? ", " : "");
    }
    const block_privacy_t *p = &b->privacy;
    printf("], \"privacy\": {\"mechanism\": \"%s\", \"formal\": %s, ",
           noise_mechanism_name(p->mechanism), budget_is_formal(p->mechanism) ? "true" : "false");
    s_json_double("clip", p->clip, 1);
    s_json_double("member_scale", p->member_scale, 1);
    s_json_double("agg_scale", p->agg_scale, 1);
    s_json_double("eps_member", p->eps_member, 1);
    s_json_double("eps_aggregate", p->eps_aggregate, 1);
    s_json_double("eps_total", p->eps_total, 1);
    s_json_double("eps_total_adv", p->eps_total_adv, 0);
    printf("}, ");
    s_json_hex("model_hash", b->model_hash, HASH_BYTES, 1);
    printf("\"close_reason\": \"%s\"", close_reason_name(b->close_reason));
    if (b->has_commit) { // the previous block's witnesses (docs/ledger.md §6a)
        printf(", \"commit\": {\"ballot\": %u, \"votes\": [", b->commit.ballot);
        for (size_t i = 0; i < b->commit.n; i++) {
            printf("%s{", i ? ", " : "");
            s_json_hex("key", b->commit.votes[i].key, IDENTITY_KEY_BYTES, 1);
            s_json_hex("signature", b->commit.votes[i].sig, IDENTITY_SIG_BYTES, 0);
            printf("}");
        }
        printf("]}");
    }
    if (b->has_motions) { // admissions and removals by vote (docs/ledger.md §6b)
        printf(", \"motions\": [");
        for (int i = 0; i < b->n_motions; i++) {
            const motion_t *m = &b->motions[i];
            printf("%s{\"action\": \"%s\", \"round\": %llu, \"candidate\": ", i ? ", " : "",
                   motion_action_name(m->action), (unsigned long long)m->round);
            s_json_identity(&m->candidate);
            printf(", \"signatures\": [");
            for (size_t k = 0; k < m->n; k++) {
                printf("%s{", k ? ", " : "");
                s_json_hex("key", m->sigs[k].key, IDENTITY_KEY_BYTES, 1);
                s_json_hex("signature", m->sigs[k].sig, IDENTITY_SIG_BYTES, 0);
                printf("}");
            }
            printf("]}");
        }
        printf("]");
    }
    printf("}");
}

static int s_export(int argc, char **argv)
{
    int json = 0;
    static const char help[] =
        "usage: fedsyn ledger export --json PATH\n\n"
        "Verifies the ledger and prints every block as JSON: decoded fields and,\n"
        "for independent verification, the exact bytes that were hashed and\n"
        "signed (hex), their BLAKE2b digest, the signature, the signer's key and\n"
        "the block hash.  docs/ledger.md says how to check them with PyNaCl.\n\n"
        "example: fedsyn ledger export --json ledger.fsl > ledger.json\n";
    int rc0 = s_parse_help(argc, argv, CMD " export", help, &json, NULL, NULL);
    if (rc0 >= 0) {
        return rc0;
    }
    if (!json) {
        return cli_usage(CMD " export", "--json is the only format (and is required)");
    }
    if (optind != argc - 1) {
        return cli_usage(CMD " export", "give one ledger file");
    }
    fs_err_t err = {0, ""};
    chain_t *chain = s_open("export", argv[optind], &err, NULL);
    if (!chain) {
        return cli_fail(CMD " export", &err, NULL);
    }
    ledger_state_t *st = ledger_state_new();
    printf("{\"format\": \"fedsyn-ledger-export\", \"version\": 1, \"blocks\": [\n");
    for (uint64_t i = 0; i < chain_height(chain); i++) {
        const uint8_t *rec;
        size_t n;
        chain_record(chain, i, &rec, &n);
        sigmsg_t m;
        if (sigmsg_decode(rec, n, BLOCK_MAX_BYTES, &m, NULL) < 0 ||
            (i == 0 ? ledger_state_start(st, rec, n, NULL) : ledger_state_apply(st, rec, n, NULL)) <
                0) {
            abort(); // verified by chain_open
        }
        uint8_t h[HASH_BYTES];
        block_hash(rec, n, h);
        char buf[9];
        printf("{\"index\": %llu, \"type\": \"%s\", ", (unsigned long long)i,
               sigmsg_type_name(m.type));
        s_json_hex("hash", h, HASH_BYTES, 1);
        s_json_hex("fed_id", m.fed_id, HASH_BYTES, 1);
        s_json_hex("signer", m.signer, IDENTITY_KEY_BYTES, 1);
        printf("\"signer_name\": \"%s\", ", s_name_of(st, m.signer, buf));
        s_json_hex("signed_bytes", rec, m.signed_len, 1);
        s_json_hex("digest", m.digest, HASH_BYTES, 1);
        s_json_hex("signature", m.signature, IDENTITY_SIG_BYTES, 1);
        if (i == 0) {
            s_export_genesis(&st->genesis);
        } else {
            s_export_block(&st->last);
        }
        printf("}%s\n", i + 1 < chain_height(chain) ? "," : "");
    }
    printf("]}\n");
    ledger_state_destroy(&st);
    chain_destroy(&chain);
    return EXIT_OK;
}

int cmd_ledger(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_help();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "init") == 0) {
        return s_init(argc - 1, argv + 1);
    }
    if (strcmp(sub, "verify") == 0) {
        return s_verify(argc - 1, argv + 1);
    }
    if (strcmp(sub, "show") == 0) {
        return s_show(argc - 1, argv + 1);
    }
    if (strcmp(sub, "export") == 0) {
        return s_export(argc - 1, argv + 1);
    }
    return cli_usage(CMD, "unknown command '%s': expected init, verify, show or export", sub);
}
