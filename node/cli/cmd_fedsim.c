/* cmd_fedsim.c - `fedsyn fedsim`: a federation's training in one process.
 *
 * The members of a label split train the workload (node/train/workload.h)
 * from the global vector for the round's local iterations, one after the
 * other, and the round's global vector is their FedAvg (node/fed/fedavg.h,
 * weighted by sample counts): the arithmetic of `fedsyn node`'s rounds
 * without the network, the ledger, the crypto and the noise, so that
 * recipes for federated training can be compared on one seed, one thread
 * each, with nothing else varying.  Each member keeps its own trainer (its
 * Adam state and random streams) from round to round, as a node does.
 *
 * Beyond FedAvg it can apply a server-side optimiser to the averaged
 * update (FedAvgM, Hsu et al. 2019; Reddi et al. 2021): with d = avg - g,
 * m = beta m + d and g += eta m.  eta 1, beta 0 is plain FedAvg.
 *
 * The global model is scored every K rounds by the node's own scorer
 * (node/fed/scorer.h), so DIR/quality.jsonl reads like a node's and
 * scripts/quality-plot.py draws it.  No resume: runs are minutes long.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/hash.h"
#include "ledger/budget.h"
#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/fed/fedavg.h"
#include "node/fed/scorer.h"
#include "node/nn/blas.h"
#include "node/train/workload.h"

#define CMD "fedsim"
#define FEDSIM_MAX_MEMBERS 16

typedef struct {
    const char *model, *dataset, *data_dir, *split, *out, *evaluator;
    long rounds, iters, batch, seed, threads, score_every, score_samples, d_width, reuse_fakes;
    int upsample; // --g-up nearest (1), transposed (0), -1: the model's
    long d_mbstd; // --d-mbstd 1|0, -1: the model's
    long aux_own; // --aux-own-labels 1|0, -1: the model's
    long d_twin;  // --twin 1|0, -1: the model's
    int g_linear; // --g-out linear (1), sigmoid (0), -1: the model's
    // DP-SGD on each member's D (--dp-sgd C): the clip (0: off), the noise
    // multiplier (< 0: solved per member for dp_target), delta
    double dp_clip, dp_sigma, dp_target, dp_delta;
    long d_steps; // --d-steps N: D's steps per local iteration (0: the model's one)
    int hinge;    // --loss hinge (1), bce (0), -1: the model's
    double lr, lr_d, ema, ema_warmup, aux, aux_g, mode_seeking, server_lr, server_lr_ema,
        server_lr_d, server_lr_final, server_momentum;
    long server_decay_from;
    long server_warmup; // rounds over which the step rises from 1 to --server-lr
    double lr_final;    // the local rates' factor at the last round (-1: no decay)
    long lr_decay_from; // ... falling linearly from 1 from this round on
    long aux_g_from;    // --aux-g applies from this round on (-1: from the start)
    long twin_from;     // G uses D's twin classifier from this round on (-1: from the start)
    double real_target; // D's target for real images (-1: the model's)
    int quiet;
    int touched; // --average touched: each weight over the members that changed it
} fedsim_opts_t;

static void s_help(void)
{
    printf("usage: fedsyn fedsim --out DIR [options]\n\n"
           "Trains a federation of label-split members in one process: each round\n"
           "every member trains the model from the global vector for --local-iters\n"
           "iterations (keeping its own optimiser state, as a node does), and the\n"
           "next global vector is their FedAvg weighted by sample counts.  No network,\n"
           "ledger or noise: for comparing training recipes of `fedsyn node`.\n"
           "Writes DIR/global.fsm and, with --evaluator, DIR/quality.jsonl (a node's\n"
           "format: scripts/quality-plot.py draws it).  Ctrl-C stops after the round\n"
           "in progress and still writes global.fsm.\n\n"
           "  --out DIR             output folder (created)\n"
           "  --model SPEC          workload spec (default cgan:32; see fedsyn train)\n"
           "  --dataset NAME        mnist (default) or fashion\n"
           "  --data DIR            its IDX directory (default data/NAME)\n"
           "  --split S             members' labels, '/' between members (default\n"
           "                        0,1,2/3,4,5,6/7,8,9, the FedSyn paper's)\n"
           "  --rounds R            rounds (default 30)\n"
           "  --local-iters L       local iterations per round (default 50)\n"
           "  --batch B             local batch (default 64)\n"
           "  --seed S              model and member seeds (default 1)\n"
           "  --threads T           OpenBLAS threads (default 1)\n"
           "  --lr, --lr-d, --ema, --aux, --d-width, --reuse-fakes, --g-up\n"
           "                        the recipe, as in fedsyn train\n"
           "  --loss bce|hinge      the GAN's loss (default bce: cross-entropy)\n"
           "  --d-mbstd 1|0         the minibatch standard deviation feature in D\n"
           "  --aux-own-labels 1|0  each member's auxiliary classifier softmax over\n"
           "                        the labels it holds only (FedRS's restricted\n"
           "                        softmax; default 0: all labels)\n"
           "  --twin 1|0            a twin classifier of the fakes in D (TAC-GAN,\n"
           "                        Gong et al. 2019; needs --aux > 0)\n"
           "  --g-out linear|sigmoid  G's output: sigmoid (the recipe's) or none, the\n"
           "                        last convolution's values clamped when sampled\n"
           );
    printf("  --dp-sgd C            record-level DP: DP-SGD on each member's D (clip C),\n"
           "                        its records sampled at batch/2 over its images,\n"
           "                        fakes asking for its own labels (fedsyn train)\n"
           "  --d-steps N           D's steps per G step (each a DP-SGD step under\n"
           "                        --dp-sgd; Bie et al. 2023; default 1)\n"
           "  --noise-multiplier S  ... with this noise multiplier, or\n"
           "  --target-eps E        ... each member's solved for epsilon E (--delta D,\n"
           "                        default 1e-5) over rounds x local iterations\n"
           "  --real-target T       D's target for real images (one-sided label\n"
           "                        smoothing: 0.9; default 1)\n"
           "  --twin-from R         G's loss takes the twin in from round R on (D\n"
           "                        trains it from the start)\n"
           "  --aux-g A             the auxiliary classifier's weight in G's loss only\n"
           "                        (default: --aux's)\n"
           "  --mode-seeking W      conditional GANs: weight of the mode-seeking term\n"
           "                        (MSGAN) in G's loss (default: the model's)\n"
           "  --aux-g-from R        --aux-g applies from round R on; before it G's\n"
           "                        weight is --aux's (default: from the start)\n"
           "  --lr-final F          the members' learning rates fall linearly to F\n"
           "                        times the recipe's at the last round\n"
           "  --lr-decay-from R     ... from round R on (default: half the rounds)\n"
           "  --ema-warmup N        the average's decay is min(ema, (1+s)/(N+s)) at\n"
           "                        step s (default 10; 1: none)\n"
           "  --server-lr ETA       server step on the averaged update (default 1)\n"
           "  --server-lr-ema ETA   the step on G's average part (default: ETA)\n"
           "  --server-lr-d ETA     the step on D's part (default: ETA)\n"
           "  --server-lr-final E   the step falls linearly to E at the last round\n"
           "  --server-decay-from R ... from round R on (default: half the rounds)\n"
           "  --server-warmup R     the step rises linearly from 1 over the first R\n"
           "                        rounds (default 0: none)\n"
           "  --server-momentum B   server momentum (default 0: plain FedAvg)\n"
           "  --average all|touched FedAvg over all members (default), or each weight\n"
           "                        over the members whose update changed it\n"
           "  --evaluator PATH      score the global model with this evaluator\n"
           "  --score-every K       every K rounds and the last (default 5)\n"
           "  --score-samples N     images per score (default 2000)\n"
           "  --quiet               no per-round lines\n\n"
           "example: fedsyn fedsim --out runs/sim --evaluator evaluators/mnist.fsm\n");
}

static int s_parse(int argc, char **argv, fedsim_opts_t *o)
{
    *o = (fedsim_opts_t){.model = "cgan:32", .dataset = "mnist",
                         .split = "0,1,2/3,4,5,6/7,8,9", .rounds = 30, .iters = 50,
                         .batch = 64, .seed = 1, .threads = 1, .score_every = 5,
                         .score_samples = 2000, .lr = -1, .lr_d = -1, .ema = -1, .aux = -1,
                         .mode_seeking = -1, .aux_g = -1, .d_mbstd = -1, .aux_own = -1, .d_twin = -1,
                         .g_linear = -1,
                         .server_lr = 1, .server_lr_ema = -1, .server_lr_d = -1, .ema_warmup = -1,
                         .server_lr_final = -1, .server_decay_from = -1,
                         .server_momentum = 0, .reuse_fakes = -1,
                         .upsample = -1, .hinge = -1, .lr_final = -1,
                         .lr_decay_from = -1, .aux_g_from = -1, .twin_from = -1,
                         .real_target = -1, .dp_sigma = -1, .dp_delta = 1e-5};
    static const struct option opts[] = {
        {"out", 1, 0, 'o'},        {"model", 1, 0, 'm'},         {"dataset", 1, 0, 'D'},
        {"data", 1, 0, 'd'},       {"split", 1, 0, 'S'},         {"rounds", 1, 0, 'r'},
        {"local-iters", 1, 0, 'i'}, {"batch", 1, 0, 'b'},        {"seed", 1, 0, 's'},
        {"threads", 1, 0, 't'},    {"lr", 1, 0, 'L'},            {"lr-d", 1, 0, 'R'},
        {"ema", 1, 0, 'E'},        {"aux", 1, 0, 'A'},           {"d-width", 1, 0, 'V'},
        {"server-lr", 1, 0, 'e'},  {"server-momentum", 1, 0, 'M'},
        {"evaluator", 1, 0, 'v'},  {"score-every", 1, 0, 'k'},   {"score-samples", 1, 0, 'n'},
        {"quiet", 0, 0, 'q'},      {"help", 0, 0, 'h'},          {"reuse-fakes", 1, 0, 'F'},
        {"g-up", 1, 0, 'U'},       {"ema-warmup", 1, 0, 'W'},    {"server-lr-ema", 1, 0, 'T'},
        {"server-lr-final", 1, 0, 'f'}, {"server-decay-from", 1, 0, 'g'}, {"loss", 1, 0, 'H'},
        {"server-lr-d", 1, 0, 'Q'}, {"mode-seeking", 1, 0, 'Z'},
        {"average", 1, 0, 'G'},    {"aux-g", 1, 0, 'X'}, {"server-warmup", 1, 0, 'w'},
        {"d-mbstd", 1, 0, 'Y'},    {"lr-final", 1, 0, 'l'},      {"lr-decay-from", 1, 0, 'j'},
        {"aux-g-from", 1, 0, 'x'}, {"twin", 1, 0, 'y'},         {"twin-from", 1, 0, 'z'},
        {"g-out", 1, 0, 'O'},
        {"real-target", 1, 0, 'P'},
        {"dp-sgd", 1, 0, 1001},    {"noise-multiplier", 1, 0, 1002}, {"target-eps", 1, 0, 1003},
        {"delta", 1, 0, 1004},     {"d-steps", 1, 0, 1005},    {"aux-own-labels", 1, 0, 1006},
        {0, 0, 0, 0}};
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'm': o->model = optarg; break;
        case 'D': o->dataset = optarg; break;
        case 'd': o->data_dir = optarg; break;
        case 'S': o->split = optarg; break;
        case 'r': bad = cli_int(CMD, "rounds", optarg, 1, 1000000, &o->rounds); break;
        case 'i': bad = cli_int(CMD, "local-iters", optarg, 1, 10000000, &o->iters); break;
        case 'b': bad = cli_int(CMD, "batch", optarg, 2, 4096, &o->batch); break;
        case 's': bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &o->seed); break;
        case 't': bad = cli_int(CMD, "threads", optarg, 1, 256, &o->threads); break;
        case 'L': bad = cli_double(CMD, "lr", optarg, 1e-7, 1, &o->lr); break;
        case 'R': bad = cli_double(CMD, "lr-d", optarg, 1e-7, 1, &o->lr_d); break;
        case 'E': bad = cli_double(CMD, "ema", optarg, 0, 0.99999, &o->ema); break;
        case 'A': bad = cli_double(CMD, "aux", optarg, 0, 100, &o->aux); break;
        case 'w': bad = cli_int(CMD, "server-warmup", optarg, 0, 1000000, &o->server_warmup);
            break;
        case 'l': bad = cli_double(CMD, "lr-final", optarg, 1e-4, 10, &o->lr_final); break;
        case 'j': bad = cli_int(CMD, "lr-decay-from", optarg, 1, 1000000, &o->lr_decay_from);
            break;
        case 'x': bad = cli_int(CMD, "aux-g-from", optarg, 1, 1000000, &o->aux_g_from); break;
        case 'P': bad = cli_double(CMD, "real-target", optarg, 0.5, 1, &o->real_target); break;
        case 'z': bad = cli_int(CMD, "twin-from", optarg, 1, 1000000, &o->twin_from); break;
        case 'y': bad = cli_int(CMD, "twin", optarg, 0, 1, &o->d_twin); break;
        case 'O': bad = cli_pair(CMD, "g-out", optarg, "linear", "sigmoid", &o->g_linear); break;
        case 1001: bad = cli_double(CMD, "dp-sgd", optarg, 1e-6, 1e6, &o->dp_clip); break;
        case 1002:
            bad = cli_double(CMD, "noise-multiplier", optarg, 0, 1e4, &o->dp_sigma);
            break;
        case 1003: bad = cli_double(CMD, "target-eps", optarg, 1e-3, 1e4, &o->dp_target); break;
        case 1004: bad = cli_double(CMD, "delta", optarg, 1e-300, 0.5, &o->dp_delta); break;
        case 1005: bad = cli_int(CMD, "d-steps", optarg, 1, 1000, &o->d_steps); break;
        case 'Y': bad = cli_int(CMD, "d-mbstd", optarg, 0, 1, &o->d_mbstd); break;
        case 1006: bad = cli_int(CMD, "aux-own-labels", optarg, 0, 1, &o->aux_own); break;
        case 'X': bad = cli_double(CMD, "aux-g", optarg, 1e-6, 100, &o->aux_g); break;
        case 'Z': bad = cli_double(CMD, "mode-seeking", optarg, 0, 100, &o->mode_seeking); break;
        case 'V': bad = cli_int(CMD, "d-width", optarg, 1, 1024, &o->d_width); break;
        case 'e': bad = cli_double(CMD, "server-lr", optarg, 1e-3, 100, &o->server_lr); break;
        case 'T':
            bad = cli_double(CMD, "server-lr-ema", optarg, 1e-3, 100, &o->server_lr_ema);
            break;
        case 'Q': bad = cli_double(CMD, "server-lr-d", optarg, 1e-3, 100, &o->server_lr_d); break;
        case 'W': bad = cli_double(CMD, "ema-warmup", optarg, 1, 1e9, &o->ema_warmup); break;
        case 'f':
            bad = cli_double(CMD, "server-lr-final", optarg, 1e-3, 100, &o->server_lr_final);
            break;
        case 'g':
            bad = cli_int(CMD, "server-decay-from", optarg, 1, 1000000, &o->server_decay_from);
            break;
        case 'M':
            bad = cli_double(CMD, "server-momentum", optarg, 0, 0.999, &o->server_momentum);
            break;
        case 'v': o->evaluator = optarg; break;
        case 'k': bad = cli_int(CMD, "score-every", optarg, 1, 1000000, &o->score_every); break;
        case 'n': bad = cli_int(CMD, "score-samples", optarg, 2, 1000000, &o->score_samples);
            break;
        case 'F': bad = cli_int(CMD, "reuse-fakes", optarg, 0, 1, &o->reuse_fakes); break;
        case 'U': bad = cli_pair(CMD, "g-up", optarg, "nearest", "transposed", &o->upsample); break;
        case 'H': bad = cli_pair(CMD, "loss", optarg, "hinge", "bce", &o->hinge); break;
        case 'G': bad = cli_pair(CMD, "average", optarg, "touched", "all", &o->touched); break;
        case 'q': o->quiet = 1; break;
        case 'h': s_help(); return 1;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (bad) {
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    }
    if (!o->out) {
        return cli_usage(CMD, "--out DIR is required (the folder for global.fsm)");
    }
    return 0;
}

// Splits "0,1,2/3,4,5,6/7,8,9" into members' subsets of data.
static int s_members(const char *split, const dataset_t *data, dataset_t **members,
                     uint8_t (*labels)[10], int *k, fs_err_t *err)
{
    char buf[256];
    if (strlen(split) >= sizeof buf) {
        return fs_err_set(err, FS_EINVAL, "--split is longer than %zu characters",
                          sizeof buf - 1);
    }
    snprintf(buf, sizeof buf, "%s", split);
    *k = 0;
    for (char *save = NULL, *part = strtok_r(buf, "/", &save); part;
         part = strtok_r(NULL, "/", &save)) {
        uint8_t keep[10];
        if (*k == FEDSIM_MAX_MEMBERS) {
            return fs_err_set(err, FS_EINVAL, "--split names more than %d members",
                              FEDSIM_MAX_MEMBERS);
        }
        if (dataset_parse_labels(part, keep, err)) {
            return err->code;
        }
        memcpy(labels[*k], keep, sizeof keep);
        members[*k] = dataset_filter_labels(data, keep);
        if (members[*k]->n == 0) {
            dataset_destroy(&members[*k]);
            return fs_err_set(err, FS_EINVAL, "--split member %d ('%s') holds no image",
                              *k + 1, part);
        }
        (*k)++;
    }
    if (*k == 0) {
        return fs_err_set(err, FS_EINVAL, "--split '%s' names no member", split);
    }
    return 0;
}

// Member i's DP-SGD (--dp-sgd): its sampling rate (half the batch over its
// images), its noise multiplier (given, or solved for --target-eps over
// every D step the run plans: rounds x local iterations x D steps), into ai; says what
// that buys.  Each member's guarantee is about its own records.
static int s_dp_member(const fedsim_opts_t *o, int i, int n_images, workload_arch_t *ai,
                       double *q, fs_err_t *err)
{
    *q = (double)(o->batch / 2) / n_images;
    *q = *q > 1 ? 1 : *q;
    const uint64_t steps = (uint64_t)o->rounds * (uint64_t)o->iters *
                           (uint64_t)(o->d_steps > 1 ? o->d_steps : 1);
    double sigma = o->dp_sigma;
    if (sigma < 0) {
        sigma = budget_dpsgd_sigma(*q, steps, o->dp_delta, o->dp_target);
        if (!isfinite(sigma)) {
            return fs_err_set(err, FS_EINVAL, "member %d: no noise multiplier up to 1e4 reaches "
                              "epsilon %g in %llu steps at rate %g", i + 1, o->dp_target,
                              (unsigned long long)steps, *q);
        }
    }
    ai->gan_dp_clip = o->dp_clip;
    ai->gan_dp_sigma = sigma;
    ai->gan_dp_q = *q;
    fprintf(stderr, "fedsim: member %d: DP-SGD on D: clip %g, noise multiplier %.4g, sampling "
            "rate %.4g, delta %g; after the %llu planned steps epsilon = %.4g\n", i + 1,
            o->dp_clip, sigma, *q, o->dp_delta, (unsigned long long)steps,
            budget_dpsgd_epsilon(*q, sigma, steps, o->dp_delta, 0, NULL));
    return 0;
}

static int s_arch(const fedsim_opts_t *o, workload_arch_t *arch, fs_err_t *err)
{
    if (workload_parse(o->model, arch, err)) {
        return err->code;
    }
    if (arch->kind != WORKLOAD_DCGAN && (o->lr > 0 || o->lr_d > 0 || o->ema >= 0 ||
                                         o->ema_warmup > 0 || o->server_lr_ema > 0 ||
                                         o->hinge >= 0 || o->server_lr_d > 0 ||
                                         o->aux >= 0 || o->d_width > 0 ||
                                         o->mode_seeking >= 0 || o->aux_g > 0 ||
                                         o->d_mbstd >= 0 || o->lr_final > 0 ||
                                         o->aux_own >= 0 ||
                                         o->d_twin >= 0 || o->real_target > 0 ||
                                         o->g_linear >= 0 || o->d_steps > 0 ||
                                         o->aux_g_from > 0 ||
                                         o->reuse_fakes >= 0 || o->upsample >= 0)) {
        return fs_err_set(err, FS_EINVAL, "--lr, --lr-d, --ema, --ema-warmup, --aux, --aux-g, "
                          "--d-mbstd, --twin, --real-target, --g-out, --d-width, --reuse-fakes, "
                          "--g-up, --loss, --mode-seeking, --server-lr-ema, --server-lr-d, "
                          "--lr-final, --aux-g-from and --aux-own-labels are for GANs");
    }
    if (o->reuse_fakes >= 0) {
        arch->gan_reuse_fakes = (int)o->reuse_fakes;
    }
    if (o->upsample >= 0) {
        arch->gan.g_upsample = o->upsample;
    }
    if (o->lr > 0) {
        arch->gan_lr = (float)o->lr;
    }
    if (o->lr_d > 0) {
        arch->gan_lr_d = (float)o->lr_d;
    }
    if (o->ema >= 0) {
        arch->gan_ema = (float)o->ema;
    }
    if (o->ema_warmup > 0) {
        arch->gan_ema_warmup = (float)o->ema_warmup;
    }
    if (o->hinge >= 0) {
        arch->gan_hinge = o->hinge;
    }
    if (o->aux >= 0) {
        arch->gan_aux = (float)o->aux;
    }
    if (o->aux_own >= 0) {
        arch->gan_aux_own_labels = (int)o->aux_own;
    }
    if (o->d_mbstd >= 0) {
        arch->gan.d_mbstd = (int)o->d_mbstd;
    }
    if (o->d_twin >= 0) {
        arch->gan.d_twin = (int)o->d_twin;
    }
    if (o->g_linear >= 0) {
        arch->gan.g_linear = o->g_linear;
    }
    if (o->d_steps > 0) {
        arch->gan_d_steps = (int)o->d_steps;
    }
    if (o->real_target > 0) {
        arch->gan_real_target = (float)o->real_target;
    }
    if (o->twin_from > 0 && !arch->gan.d_twin) {
        return fs_err_set(err, FS_EINVAL, "--twin-from needs --twin 1");
    }
    if (arch->gan.d_twin && (!arch->gan.classes || arch->gan_aux <= 0)) {
        return fs_err_set(err, FS_EINVAL, "--twin 1 needs a conditional GAN with its "
                          "auxiliary classifier (--aux > 0)");
    }
    if (o->aux_g_from > 0 && o->aux_g <= 0) {
        return fs_err_set(err, FS_EINVAL, "--aux-g-from needs --aux-g (the weight from then)");
    }
    if (!o->dp_clip && (o->dp_sigma >= 0 || o->dp_target > 0)) {
        return fs_err_set(err, FS_EINVAL, "--noise-multiplier and --target-eps are DP-SGD's: "
                          "give --dp-sgd C (the clip) too");
    }
    if (o->dp_clip && (arch->kind != WORKLOAD_DCGAN || arch->gan.d_mbstd)) {
        return fs_err_set(err, FS_EINVAL, "--dp-sgd needs a GAN without --d-mbstd (whose "
                          "feature mixes a batch's images)");
    }
    if (o->dp_clip && arch->gan_aux_own_labels) {
        return fs_err_set(err, FS_EINVAL, "--aux-own-labels reads which labels a member's data "
                          "holds, which DP-SGD protects: leave one of them out");
    }
    if (o->dp_clip && (o->dp_sigma >= 0) == (o->dp_target > 0)) {
        return fs_err_set(err, FS_EINVAL, "--dp-sgd needs exactly one of --noise-multiplier S "
                          "and --target-eps E");
    }
    if (o->aux_g > 0 && o->aux_g_from <= 0) { // with --aux-g-from: the schedule sets it
        arch->gan_aux_g = (float)o->aux_g;
    }
    if (o->mode_seeking >= 0) {
        arch->gan_mode_seeking = (float)o->mode_seeking;
    }
    if (o->d_width > 0) {
        arch->gan.d_width = (int)o->d_width;
    }
    return 0;
}

// Round r's local schedule: the rates' factor falls linearly from 1 after
// --lr-decay-from to --lr-final at the last round; G's classifier weight is
// --aux-g from --aux-g-from on (0 before: the recipe's).
static workload_schedule_t s_schedule(const fedsim_opts_t *o, long r)
{
    workload_schedule_t s = {1.0f, 0.0f, o->twin_from > 0 && r < o->twin_from};
    const long r0 = o->lr_decay_from > 0 ? o->lr_decay_from : o->rounds / 2;
    if (o->lr_final > 0 && r > r0 && o->rounds > r0) {
        s.lr_scale = (float)(1.0 + (o->lr_final - 1.0) * (double)(r - r0) /
                                       (double)(o->rounds - r0));
    }
    if (o->aux_g_from > 0 && r >= o->aux_g_from) {
        s.aux_g = (float)o->aux_g;
    }
    return s;
}

int cmd_fedsim(int argc, char **argv)
{
    fedsim_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc) {
        return rc == 1 ? EXIT_OK : rc;
    }
    fs_err_t err = {0, ""};
    const char *dir = o.data_dir ? o.data_dir : cli_dataset_dir(o.dataset);
    if (!dir) {
        return cli_usage(CMD, "--dataset '%s': expected mnist or fashion", o.dataset);
    }
    workload_arch_t arch;
    if (s_arch(&o, &arch, &err)) {
        return cli_fail(CMD, &err, "fedsyn fedsim --help lists the options; fedsyn train "
                        "--help the model specs");
    }
    if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
        fs_err_set(&err, FS_EIO, "cannot create --out folder %s", o.out);
        return cli_fail(CMD, &err, "check the path and its parent's permissions");
    }
    blas_set_threads((int)o.threads);
    dataset_t *data = NULL;
    if (cli_load_split(dir, 1, &data, &err)) {
        return cli_fail(CMD, &err, "run 'make data' for MNIST and Fashion-MNIST");
    }
    dataset_t *members[FEDSIM_MAX_MEMBERS] = {0};
    uint8_t keep[FEDSIM_MAX_MEMBERS][10];
    int k = 0;
    rc = s_members(o.split, data, members, keep, &k, &err);
    dataset_destroy(&data);
    if (rc) {
        for (int i = 0; i < k; i++) {
            dataset_destroy(&members[i]);
        }
        return cli_fail(CMD, &err, "e.g. --split 0,1,2/3,4,5,6/7,8,9");
    }

    size_t n_first, n = 0;
    workload_sizes(&arch, &n_first, &n);
    float *global = workload_initial(&arch, (uint64_t)o.seed, &n);
    float *mom = xfloats(n);
    float *avg = xfloats(n);
    memset(mom, 0, n * sizeof(float));
    float *w[FEDSIM_MAX_MEMBERS] = {0};
    uint64_t samples[FEDSIM_MAX_MEMBERS];
    workload_trainer_t *tr[FEDSIM_MAX_MEMBERS] = {0};
    double dp_q[FEDSIM_MAX_MEMBERS] = {0}, dp_sigma[FEDSIM_MAX_MEMBERS] = {0};
    scorer_t *scorer = NULL;
    for (int i = 0; i < k; i++) {
        w[i] = xfloats(n);
        samples[i] = (uint64_t)members[i]->n;
        // A member's seed differs from the model's and from the others'.
        workload_arch_t ai = arch;
        if (o.dp_clip > 0 && s_dp_member(&o, i, members[i]->n, &ai, &dp_q[i], &err)) {
            rc = cli_fail(CMD, &err, "allow a larger epsilon, or fewer rounds");
            goto done;
        }
        tr[i] = workload_trainer_new(&ai, (int)o.batch, (uint64_t)o.seed * 1000 + 1 + i);
        if (workload_trainer_set_data(tr[i], members[i], &err)) {
            rc = cli_fail(CMD, &err, NULL);
            goto done;
        }
        dp_sigma[i] = ai.gan_dp_sigma;
        if (o.dp_clip > 0) { // the member's label group is public: the --split
            uint8_t own[10];
            int n_own = 0;
            for (int c = 0; c < 10; c++) {
                if (keep[i][c]) {
                    own[n_own++] = (uint8_t)c;
                }
            }
            if (workload_trainer_public_labels(tr[i], own, n_own, &err)) {
                rc = cli_fail(CMD, &err, NULL);
                goto done;
            }
        }
        fprintf(stderr, "fedsim: member %d: %d images\n", i + 1, members[i]->n);
    }

    if (o.evaluator) {
        scorer_config_t sc = {.name = "fedsim", .dir = o.out, .evaluator = o.evaluator,
                              .test_dir = dir, .dataset = o.dataset,
                              .samples = (int)o.score_samples, .arch = arch};
        scorer = scorer_new(&sc, &err);
        if (!scorer) {
            rc = cli_fail(CMD, &err, "train one with 'fedsyn evaluator train'");
            goto done_scorer;
        }
    }

    cli_catch_signals();
    const double t0 = cli_now();
    fprintf(stderr, "fedsim: %s, %d members, %ld rounds x %ld local iterations, batch %ld, "
            "server lr %g (D's part %g, G's average %g) momentum %g\n", o.model, k, o.rounds,
            o.iters, o.batch, o.server_lr, o.server_lr_d < 0 ? o.server_lr : o.server_lr_d,
            o.server_lr_ema < 0 ? o.server_lr : o.server_lr_ema, o.server_momentum);
    if (o.server_lr_final > 0) {
        fprintf(stderr, "fedsim: the server step falls linearly to %g at round %ld from round "
                "%ld\n", o.server_lr_final, o.rounds,
                o.server_decay_from > 0 ? o.server_decay_from : o.rounds / 2);
    }
    long rounds_done = 0;
    for (long r = 1; r <= o.rounds && !cli_interrupted; r++) {
        workload_stats_t st[FEDSIM_MAX_MEMBERS];
        const int scheduled = o.lr_final > 0 || o.aux_g_from > 0 || o.twin_from > 0;
        workload_schedule_t sched = s_schedule(&o, r);
        for (int i = 0; i < k; i++) {
            if (scheduled && workload_trainer_schedule(tr[i], &sched, &err)) {
                rc = cli_fail(CMD, &err, NULL);
                goto done_scorer;
            }
            workload_trainer_load(tr[i], global);
            for (long it = 0; it < o.iters; it++) {
                workload_trainer_step(tr[i], &st[i]);
            }
            workload_trainer_export(tr[i], w[i]);
        }
        rounds_done = r; // every member took this round's steps
        if (fedavg_weighted(avg, (const float *const *)w, samples, (size_t)k, n, &err)) {
            rc = cli_fail(CMD, &err, NULL);
            goto done_scorer;
        }
        // A weight that some members' training never changed (a label's
        // row at the members without that label) is averaged over the
        // members that did change it: plain FedAvg would shrink its step.
        for (size_t j = 0; o.touched && j < n; j++) {
            double num = 0.0, den = 0.0;
            for (int i = 0; i < k; i++) {
                if (w[i][j] != global[j]) {
                    num += (double)samples[i] * (double)w[i][j];
                    den += (double)samples[i];
                }
            }
            avg[j] = den > 0.0 ? (float)(num / den) : global[j];
        }
        // Server step: m = beta m + (avg - g); g += eta m.  G's average
        // (the vector's last part, when it has one) may take its own step.
        const float beta = (float)o.server_momentum;
        const size_t ema_from = arch.gan_ema > 0 ? n - n_first : n;
        double eta = o.server_lr;
        const long r0 = o.server_decay_from > 0 ? o.server_decay_from : o.rounds / 2;
        if (o.server_lr_final > 0 && r > r0 && o.rounds > r0) {
            eta += (o.server_lr_final - o.server_lr) * (double)(r - r0) / (double)(o.rounds - r0);
        }
        if (r < o.server_warmup) { // early rounds: from FedAvg towards the full step
            eta = 1.0 + (eta - 1.0) * (double)r / (double)o.server_warmup;
        }
        for (size_t j = 0; j < n; j++) {
            const double e = j >= ema_from && o.server_lr_ema > 0  ? o.server_lr_ema
                             : j >= n_first && j < ema_from && o.server_lr_d > 0 ? o.server_lr_d
                                                                                 : eta;
            mom[j] = beta * mom[j] + (avg[j] - global[j]);
            global[j] += (float)e * mom[j];
        }
        if (!o.quiet) {
            char el[32];
            cli_duration(cli_now() - t0, el, sizeof el);
            fprintf(stderr, "fedsim: round %ld/%ld  member 1 %s %.3f %s %.3f  %s\n", r,
                    o.rounds, workload_stat_name(&arch, 0), st[0].a,
                    workload_stat_name(&arch, 1), st[0].b, el);
        }
        if (scorer && (r % o.score_every == 0 || r == o.rounds)) {
            uint8_t hash[HASH_BYTES];
            hash_model(global, n, hash);
            scorer_losses_t losses = {{workload_stat_name(&arch, 0),
                                       workload_stat_name(&arch, 1)},
                                      {st[0].a, st[0].b}};
            scorer_put(scorer, global, n, (uint64_t)r, hash, &losses);
        }
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/global.fsm", o.out);
    if (workload_save(path, &arch, global, o.dataset, "source=fedsim", &err)) {
        rc = cli_fail(CMD, &err, NULL);
        goto done_scorer;
    }
    char el[32];
    cli_duration(cli_now() - t0, el, sizeof el);
    fprintf(stderr, "fedsim: wrote %s after %s%s\n", path, el,
            cli_interrupted ? " (interrupted)" : "");
    for (int i = 0; o.dp_clip > 0 && i < k; i++) { // what each member spent
        const uint64_t steps = (uint64_t)rounds_done * (uint64_t)o.iters *
                               (uint64_t)(o.d_steps > 1 ? o.d_steps : 1);
        printf("privacy: member %d: DP-SGD on D, %llu steps at sampling rate %.6g, noise "
               "multiplier %.6g, clip %g: (epsilon %.4g, delta %g) per image of its data\n",
               i + 1, (unsigned long long)steps, dp_q[i], dp_sigma[i], o.dp_clip,
               budget_dpsgd_epsilon(dp_q[i], dp_sigma[i], steps, o.dp_delta, 0, NULL),
               o.dp_delta);
    }
    if (scorer && scorer_flush(scorer) > 0) {
        fprintf(stderr, "fedsim: warning: some scores failed (see above)\n");
    }
    rc = cli_interrupted ? EXIT_INTERRUPTED : EXIT_OK;
done_scorer:
    scorer_destroy(&scorer);
done:
    // only the first k members were made; the arrays past them are NULL
    for (int i = 0; i < k; i++) {
        workload_trainer_destroy(&tr[i]);
        free(w[i]);
        dataset_destroy(&members[i]);
    }
    free(global);
    free(mom);
    free(avg);
    return rc;
}
