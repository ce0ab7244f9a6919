/* cmd_train.c - `fedsyn train`: the FedSyn GAN (or, with --model cvae,
 * GenFL's CVAE: train_cvae.c) on local data. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/budget.h"
#include "node/base/fsio.h"
#include "node/cli/cli.h"
#include "node/cli/train_loop.h"
#include "node/cli/train_opts.h"
#include "node/nn/blas.h"
#include "node/nn/model_file.h"
#include "node/train/checkpoint.h"
#include "node/train/gan_train.h"
#include "node/train/workload.h"

#define CMD "train"

static void s_help(void)
{
    printf("usage: fedsyn train [options]\n\n"
           "Trains the FedSyn paper's DCGAN (Keras architecture, BCE, Adam 2e-4/0.5),\n"
           "or with --model cvae GenFL's conditional VAE (Adam 1e-3, negative ELBO).\n"
           "Progress (epoch, iteration, D/G loss, D accuracy on real and fake, or\n"
           "the CVAE's loss, reconstruction and KL; images/s, ETA) goes to stderr.\n\n"
           "  --model SPEC          dcgan:W (default, W from --width), cdcgan:W (the\n"
           "                        same GAN conditioned on the labels: z + one-hot\n"
           "                        into G, a projection head on D; beyond the paper),\n"
           "                        cgan:W (cdcgan with fedsyn's recipe, the choice\n"
           "                        for labelled data: pixel norm and --g-up nearest\n"
           "                        in G, D of 2W channels with an auxiliary\n"
           "                        classifier, --aux 1, at --lr-d 1e-4, G's step on\n"
           "                        D's fakes, --reuse-fakes 1, and samples from G's\n"
           "                        moving average, --ema 0.999), or\n"
           "                        cvae:H (hidden width H, default 400: 'cvae' alone)\n"
           "  --dataset NAME        mnist (default) or fashion\n"
           "  --data DIR            directory with the IDX files (default data/NAME)\n"
           "  --labels SPEC         keep only these labels, e.g. 0,1,2 or 3-6\n"
           "  --limit N             keep only the first N images\n"
           "  --epochs N            epochs (default 1); an epoch is images/batch iterations\n"
           "  --iters N             iterations per epoch instead (for short runs)\n"
           "  --width W             generator channels, even (default 128, the paper's);\n"
           "                        the discriminator gets W/2 (cgan: 2W)\n"
           "  --batch B             batch (default 256: D sees B/2 real + B/2 fake;\n"
           "                        the CVAE's default is 64)\n"
           "  --seed S              seed for weights, latents, shuffles (default 1)\n"
           "  --out PATH            model file to write (default runs/gan.fsm); it also\n"
           "                        keeps the trainer's state, rewritten at each\n"
           "                        checkpoint and on Ctrl-C, for --resume\n"
           "  --to-epoch T          train until T epochs are done in all (with --resume:\n"
           "                        counting the checkpoint's), instead of --epochs\n"
           "  --resume PATH         go on from a checkpoint: exactly where it stopped\n"
           "                        (optimiser, random streams, data order) when PATH\n"
           "                        is an --out file, else from its weights; the run's\n"
           "                        settings (--model, --batch, --iters, --seed, the\n"
           "                        data and the recipe) come from PATH, and another\n"
           "                        value given is refused\n"
           "  --init PATH           cdcgan only: start from this unconditional DCGAN\n"
           "                        checkpoint of the same width (the label inputs'\n"
           "                        weights start at zero, so training begins from\n"
           "                        the trained GAN and learns to use the labels)\n"
           "  --checkpoint-every N  also save PATH.epochN.fsm (and a grid) every N epochs\n"
           "  --grid PATH           write a 10x10 sample grid PNG at the end (CVAE and\n"
           "                        conditional GANs: column c shows label c, as in\n"
           "                        fedsyn sample)\n"
           "  --threads T           OpenBLAS threads (default: OpenBLAS's)\n"
           );
    printf("  --lr LR               Adam's learning rate (default 2e-4; G's with --lr-d)\n"
           "  --lr-d LR             the discriminator's learning rate (default: --lr;\n"
           "                        cgan 1e-4)\n"
           "  --ema D               keep G's moving average with decay D for sampling\n"
           "                        (0 < D < 1; 0: none; default 0.999 for cgan, else 0)\n"
           "  --d-dropout R         the discriminator's dropout rate (default 0.4)\n"
           "  --g-norm pixel|none   pixel norm in G (default: pixel for cgan, else none)\n"
           "  --reuse-fakes 0|1     1: G's step scores D's fakes again (one pass of G\n"
           "                        per iteration; G's step sees B/2 fakes; cgan's\n"
           "                        default); 0: G draws a fresh batch of B (the paper's)\n"
           "  --g-up nearest|transposed  how G doubles its size: a nearest-neighbour\n"
           "                        upsample then a 3x3 convolution (cgan's default),\n"
           "                        or a stride-2 transposed convolution (the paper's)\n"
           "  --d-width V           the discriminator's channels (default: the model's)\n"
           "  --aux A               conditional GANs: weight of an auxiliary classifier\n"
           "                        loss on D's label rows (AC-GAN; default: the model's)\n"
           "  --dp-sgd C            record-level DP: DP-SGD on the discriminator, each\n"
           "                        real image's gradient clipped to L2 norm C, Gaussian\n"
           "                        noise on their sum, Poisson-sampled batches; G learns\n"
           "                        through D only (docs/privacy.md); prints epsilon\n"
           "  --noise-multiplier S  DP-SGD's noise: deviation S * C on the sum\n"
           "  --target-eps E        or the smallest S whose epsilon after the planned\n"
           "                        steps is at most E\n"
           "  --sample-rate Q       each image's chance to be in a step's real half\n"
           "                        (default: batch/2 over the number of images)\n"
           "  --delta D             the (epsilon, delta) guarantee's delta (default 1e-5)\n"
           "  --quiet               no progress lines\n\n"
           "example: fedsyn train --epochs 5 --grid runs/grid.png --out runs/gan.fsm\n"
           "         fedsyn train --model cvae --epochs 10 --out runs/cvae.fsm\n"
           "         fedsyn train --model cgan:32 --batch 64 --dp-sgd 1 --target-eps 10 \\\n"
           "             --epochs 5 --out runs/dp.fsm\n");
}

// --model as a workload spec: a bare kind takes --width (the CVAE its
// default hidden width).
static void s_spec(const train_opts_t *o, char *spec, size_t cap)
{
    const char *m = o->model ? o->model : "dcgan";
    if (strchr(m, ':') || strcmp(m, "classifier") == 0) {
        snprintf(spec, cap, "%s", m);
    } else {
        snprintf(spec, cap, "%s:%ld", m, strcmp(m, "cvae") == 0 ? CVAE_HIDDEN : o->width);
    }
}

// Which of the run's settings the command line gave (the rest come from
// the checkpoint that --resume names).
typedef struct {
    int model, batch, iters, seed, dataset, labels, limit;
} s_given_t;

// One setting of a checkpoint's run line: taken when the command line left
// it out, refused when it gave another value (a resumed run is the same
// run).  have: the command line's value as text.
static int s_run_key(const model_file_t *f, const char *path, const char *key, int given,
                     const char *have, char *out, size_t cap)
{
    char v[128];
    if (model_file_meta(f, CHECKPOINT_RUN_SECTION, key, v, sizeof v) != 0) {
        return 0; // a checkpoint of an older fedsyn: no such setting kept
    }
    if (!given) {
        const size_t n = strnlen(v, cap - 1);
        memcpy(out, v, n);
        out[n] = 0;
        return 0;
    }
    if (strcmp(v, have) != 0) {
        const int dflt = strcmp(v, "-1") == 0 || (strcmp(key, "d_width") == 0 && v[0] == '0');
        char opt[32]; // the option's name: d_width is --d-width
        snprintf(opt, sizeof opt, "%s", key);
        for (char *c = opt; *c; c++) {
            *c = *c == '_' ? '-' : *c;
        }
        return cli_usage(CMD, "--%s %s, but %s was trained with %s: a resumed run keeps its "
                         "settings (leave --%s out)", opt, have, path,
                         dflt ? "the model's default" : v, opt);
    }
    return 0;
}

// The settings kept in the checkpoint --resume names, for those the
// command line left out; a conflicting one is refused.
static int s_take_run(train_opts_t *o, const s_given_t *g)
{
    fs_err_t err = {0, ""};
    model_file_t *f = model_file_load(o->resume, &err);
    if (!f) {
        return cli_fail(CMD, &err, "--resume takes the --out of an earlier 'fedsyn train'");
    }
    char have[128], v[128];
    // A run's earlier steps without DP-SGD have no guarantee that later
    // private steps could extend: epsilon would count them as private.
    if (o->dp_clip > 0 && (!model_file_text(f, CHECKPOINT_RUN_SECTION) ||
                           model_file_meta(f, CHECKPOINT_RUN_SECTION, "dp_clip", v, sizeof v))) {
        model_file_destroy(&f);
        return cli_usage(CMD, "--dp-sgd: %s was trained without DP-SGD, so its steps so far "
                         "have no guarantee; start a new run with --dp-sgd", o->resume);
    }
    if (!model_file_text(f, CHECKPOINT_RUN_SECTION)) {
        model_file_destroy(&f);
        return 0;
    }
    s_spec(o, have, sizeof have);
    int rc = s_run_key(f, o->resume, "model", g->model, have, o->run_model, sizeof o->run_model);
    if (rc == 0 && !g->model && o->run_model[0]) {
        o->model = o->run_model;
    }
    // a whole number or (the recipe's options) a real one: as text in the
    // file, compared as text; -1 (or 0 for d_width) is "the model's"
#define KEY(key, flag, field, fmt, type, parse)                                               \
    if (rc == 0) {                                                                             \
        snprintf(have, sizeof have, fmt, (type)(field));                                       \
        v[0] = 0;                                                                              \
        rc = s_run_key(f, o->resume, key, (flag), have, v, sizeof v);                          \
        if (rc == 0 && v[0]) {                                                                 \
            (field) = parse;                                                                   \
        }                                                                                      \
    }
#define NUM(key, flag, field) KEY(key, flag, field, "%ld", long, strtol(v, NULL, 10))
#define DBL(key, flag, field) KEY(key, flag, field, "%.17g", double, strtod(v, NULL))
    NUM("batch", g->batch, o->batch)
    NUM("iters", g->iters, o->iters)
    NUM("seed", g->seed, o->seed)
    NUM("limit", g->limit, o->limit)
    NUM("d_width", o->d_width != 0, o->d_width)
    NUM("reuse_fakes", o->reuse_fakes >= 0, o->reuse_fakes)
    NUM("g_norm", o->pixel_norm >= 0, o->pixel_norm)
    NUM("g_up", o->upsample >= 0, o->upsample)
    DBL("lr", o->lr > 0, o->lr)
    DBL("lr_d", o->lr_d > 0, o->lr_d)
    DBL("ema", o->ema >= 0, o->ema)
    DBL("d_dropout", o->d_dropout >= 0, o->d_dropout)
    DBL("aux", o->aux >= 0, o->aux)
    DBL("dp_clip", o->dp_clip > 0, o->dp_clip)
    DBL("dp_sigma", o->dp_sigma >= 0, o->dp_sigma)
    DBL("dp_q", o->dp_q > 0, o->dp_q)
    DBL("dp_delta", o->dp_delta > 0, o->dp_delta)
#undef DBL
#undef NUM
#undef KEY
    if (rc == 0) {
        rc = s_run_key(f, o->resume, "dataset", g->dataset, o->dataset, o->run_dataset,
                       sizeof o->run_dataset);
        o->dataset = !g->dataset && o->run_dataset[0] ? o->run_dataset : o->dataset;
    }
    if (rc == 0) {
        rc = s_run_key(f, o->resume, "labels", g->labels, o->labels ? o->labels : "all",
                       o->run_labels, sizeof o->run_labels);
        if (!g->labels && o->run_labels[0] && strcmp(o->run_labels, "all") != 0) {
            o->labels = o->run_labels;
        }
    }
    model_file_destroy(&f);
    return rc;
}

static int s_parse(int argc, char **argv, train_opts_t *o)
{
    static const struct option opts[] = {
        {"dataset", 1, 0, 'D'}, {"data", 1, 0, 'd'},   {"labels", 1, 0, 'l'},
        {"limit", 1, 0, 'n'},   {"epochs", 1, 0, 'e'}, {"iters", 1, 0, 'i'},
        {"width", 1, 0, 'w'},   {"batch", 1, 0, 'b'},  {"seed", 1, 0, 's'},
        {"out", 1, 0, 'o'},     {"grid", 1, 0, 'g'},   {"checkpoint-every", 1, 0, 'c'},
        {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'},  {"resume", 1, 0, 'r'},
        {"model", 1, 0, 'm'},   {"help", 0, 0, 'h'},   {"to-epoch", 1, 0, 'T'},
        {"init", 1, 0, 'I'},    {"lr", 1, 0, 'L'},     {"lr-d", 1, 0, 'R'},
        {"ema", 1, 0, 'E'},     {"d-dropout", 1, 0, 'P'}, {"g-norm", 1, 0, 'N'},
        {"d-width", 1, 0, 'V'}, {"aux", 1, 0, 'A'},    {"g-up", 1, 0, 'U'},
        {"reuse-fakes", 1, 0, 'F'}, {"dp-sgd", 1, 0, 'C'}, {"noise-multiplier", 1, 0, 'S'},
        {"target-eps", 1, 0, 'X'}, {"sample-rate", 1, 0, 'Q'}, {"delta", 1, 0, 'Z'},
        {0, 0, 0, 0}};
    *o = (train_opts_t){.dataset = "mnist", .out = NULL, .epochs = 1, .width = 128, .batch = 0,
                        .seed = 1, .lr = -1, .lr_d = -1, .ema = -1, .d_dropout = -1, .aux = -1,
                        .pixel_norm = -1, .upsample = -1, .reuse_fakes = -1,
                        .dp_sigma = -1};
    optind = 1;
    opterr = 0;
    int c, epochs_given = 0;
    s_given_t given = {0};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'D': o->dataset = optarg; given.dataset = 1; break;
        case 'd': o->data_dir = optarg; break;
        case 'l': o->labels = optarg; given.labels = 1; break;
        case 'n':
            bad = cli_int(CMD, "limit", optarg, 1, 10000000, &o->limit);
            given.limit = 1;
            break;
        case 'e':
            bad = cli_int(CMD, "epochs", optarg, 1, 100000, &o->epochs);
            epochs_given = 1;
            break;
        case 'T': bad = cli_int(CMD, "to-epoch", optarg, 1, 100000, &o->to_epoch); break;
        case 'i':
            bad = cli_int(CMD, "iters", optarg, 1, 100000000, &o->iters);
            given.iters = 1;
            break;
        case 'w':
            bad = cli_int(CMD, "width", optarg, 2, 1024, &o->width);
            given.model = 1;
            break;
        case 'b':
            bad = cli_int(CMD, "batch", optarg, 2, 4096, &o->batch);
            given.batch = 1;
            break;
        case 's':
            bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &o->seed);
            given.seed = 1;
            break;
        case 'o': o->out = optarg; break;
        case 'g': o->grid = optarg; break;
        case 'r': o->resume = optarg; break;
        case 'c': bad = cli_int(CMD, "checkpoint-every", optarg, 1, 100000, &o->every); break;
        case 't': bad = cli_int(CMD, "threads", optarg, 1, 256, &o->threads); break;
        case 'q': o->quiet = 1; break;
        case 'm': o->model = optarg; given.model = 1; break;
        case 'I': o->init = optarg; break;
        case 'L': bad = cli_double(CMD, "lr", optarg, 1e-7, 1, &o->lr); break;
        case 'R': bad = cli_double(CMD, "lr-d", optarg, 1e-7, 1, &o->lr_d); break;
        case 'E': bad = cli_double(CMD, "ema", optarg, 0, 0.99999, &o->ema); break;
        case 'P': bad = cli_double(CMD, "d-dropout", optarg, 0, 0.9, &o->d_dropout); break;
        case 'V': bad = cli_int(CMD, "d-width", optarg, 1, 1024, &o->d_width); break;
        case 'A': bad = cli_double(CMD, "aux", optarg, 0, 100, &o->aux); break;
        case 'N': bad = cli_pair(CMD, "g-norm", optarg, "pixel", "none", &o->pixel_norm); break;
        case 'F': bad = cli_int(CMD, "reuse-fakes", optarg, 0, 1, &o->reuse_fakes); break;
        case 'U': bad = cli_pair(CMD, "g-up", optarg, "nearest", "transposed", &o->upsample); break;
        case 'C': bad = cli_double(CMD, "dp-sgd", optarg, 1e-6, 1e6, &o->dp_clip); break;
        case 'S': bad = cli_double(CMD, "noise-multiplier", optarg, 0, 1e4, &o->dp_sigma); break;
        case 'X': bad = cli_double(CMD, "target-eps", optarg, 1e-3, 1e4, &o->dp_target_eps); break;
        case 'Q': bad = cli_double(CMD, "sample-rate", optarg, 1e-9, 1, &o->dp_q); break;
        case 'Z': bad = cli_double(CMD, "delta", optarg, 1e-300, 0.5, &o->dp_delta); break;
        case 'h': s_help(); return 1;
        default:
            return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (bad) {
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    }
    int rc = o->resume ? s_take_run(o, &given) : 0;
    if (rc) {
        return rc;
    }
    // One parser for every model (workload.h)
    const char *m = o->model ? o->model : "dcgan";
    char spec[64];
    s_spec(o, spec, sizeof spec);
    fs_err_t err = {0, ""};
    if (strlen(m) >= sizeof spec - 8 || workload_parse(spec, &o->arch, &err)) {
        return cli_usage(CMD, "--model '%s': expected dcgan:W, cdcgan:W, cgan:W or cvae:H (W "
                         "even, 2 to 1024; a bare kind takes --width)", m);
    }
    if (o->arch.kind == WORKLOAD_CLASSIFIER) {
        return cli_usage(CMD, "--model classifier: train classifiers with 'fedsyn evaluator "
                         "train'");
    }
    o->cvae_hidden = o->arch.kind == WORKLOAD_CVAE ? o->arch.cvae.hidden : 0;
    o->conditional = o->arch.kind == WORKLOAD_DCGAN && o->arch.gan.classes > 0;
    o->width = o->arch.kind == WORKLOAD_DCGAN ? o->arch.gan.g_width : o->width;
    if (o->init && (!o->conditional || o->resume)) {
        return cli_usage(CMD, "--init starts a cdcgan run from a trained DCGAN: give it with "
                         "--model cdcgan[:W] and without --resume");
    }
    if (o->to_epoch && epochs_given) {
        return cli_usage(CMD, "give --epochs (more epochs) or --to-epoch (epochs in all), "
                         "not both");
    }
    if (!o->batch) {
        o->batch = o->cvae_hidden ? 64 : 256;
    }
    if (!o->out) {
        o->out = o->cvae_hidden ? "runs/cvae.fsm" : "runs/gan.fsm";
    }
    if (!o->cvae_hidden && o->batch % 2) {
        return cli_usage(CMD, "--batch %ld: must be even (half real, half fake)", o->batch);
    }
    const int dp_given = o->dp_sigma >= 0 || o->dp_target_eps > 0 || o->dp_q > 0;
    if (!o->dp_clip && dp_given) {
        return cli_usage(CMD, "--noise-multiplier, --target-eps and --sample-rate are DP-SGD's: "
                         "give --dp-sgd C (the clip) too");
    }
    if (o->dp_clip && o->arch.kind != WORKLOAD_DCGAN) {
        return cli_usage(CMD, "--dp-sgd trains a GAN's discriminator privately; the CVAE has "
                         "none (give --model dcgan, cdcgan or cgan)");
    }
    if (o->dp_clip && (o->dp_sigma >= 0) == (o->dp_target_eps > 0)) {
        return cli_usage(CMD, "--dp-sgd needs exactly one of --noise-multiplier S and "
                         "--target-eps E");
    }
    if (o->dp_clip && !o->dp_delta) {
        o->dp_delta = 1e-5;
    }
    // what --resume takes back (s_take_run); iters 0: an epoch is images / batch
    snprintf(o->run, sizeof o->run,
             "model=%s batch=%ld iters=%ld seed=%ld dataset=%s labels=%s limit=%ld d_width=%ld "
             "reuse_fakes=%ld lr=%.17g lr_d=%.17g ema=%.17g d_dropout=%.17g aux=%.17g g_norm=%d "
             "g_up=%d\n", spec, o->batch, o->iters, o->seed, o->dataset,
             o->labels ? o->labels : "all", o->limit, o->d_width, o->reuse_fakes, o->lr, o->lr_d,
             o->ema, o->d_dropout, o->aux, o->pixel_norm, o->upsample);
    return 0;
}

// DP-SGD's plan (--dp-sgd): the sampling rate (batch/2 over the images
// unless given), the noise multiplier (given, or solved for --target-eps
// over the planned steps: every iteration of the run's epochs is one
// Poisson-sampled step of D), what they buy, and the run line that keeps
// them for --resume.  The plan is a fresh run's: a resumed one takes its
// noise multiplier and rate from the checkpoint (s_take_run), and what it
// spent in all, earlier sessions included, is printed at the end.
static int s_dp_plan(train_opts_t *o, workload_arch_t *wa, int n_images, long iters)
{
    if (!o->dp_q) {
        o->dp_q = (double)(o->batch / 2) / n_images;
        o->dp_q = o->dp_q > 1 ? 1 : o->dp_q;
    }
    const long epochs = o->to_epoch ? o->to_epoch : o->epochs; // a fresh run's
    const uint64_t planned = (uint64_t)epochs * (uint64_t)iters;
    if (o->dp_target_eps > 0) {
        o->dp_sigma = budget_dpsgd_sigma(o->dp_q, planned, o->dp_delta, o->dp_target_eps);
        if (!isfinite(o->dp_sigma)) {
            return cli_usage(CMD, "--target-eps %g: no noise multiplier up to 1e4 reaches it in "
                             "%llu steps at rate %g; allow a larger epsilon or fewer steps",
                             o->dp_target_eps, (unsigned long long)planned, o->dp_q);
        }
    }
    wa->gan_dp_clip = o->dp_clip;
    wa->gan_dp_sigma = o->dp_sigma;
    wa->gan_dp_q = o->dp_q;
    const size_t len = strlen(o->run); // the run line ends in '\n': the DP keys before it
    snprintf(o->run + len - 1, sizeof o->run - len + 1,
             " dp_clip=%.17g dp_sigma=%.17g dp_q=%.17g dp_delta=%.17g\n", o->dp_clip,
             o->dp_sigma, o->dp_q, o->dp_delta);
    if (!o->resume) {
        fprintf(stderr, "fedsyn train: DP-SGD on D: clip %g, noise multiplier %.4g, sampling "
                "rate %.4g (%.1f of %d images a step, expected), delta %g; after the %llu "
                "planned steps epsilon = %.4g\n", o->dp_clip, o->dp_sigma, o->dp_q,
                o->dp_q * n_images, n_images, o->dp_delta,
                (unsigned long long)planned,
                budget_dpsgd_epsilon(o->dp_q, o->dp_sigma, planned, o->dp_delta, 0, NULL));
    }
    return 0;
}

// What the run has spent: epsilon after every step it took, all sessions.
static void s_dp_report(const train_opts_t *o, long steps)
{
    double alpha = 0;
    const double eps = budget_dpsgd_epsilon(o->dp_q, o->dp_sigma, (uint64_t)steps, o->dp_delta,
                                            0, &alpha);
    const double classic = budget_dpsgd_epsilon(o->dp_q, o->dp_sigma, (uint64_t)steps,
                                                o->dp_delta, 1, NULL);
    printf("privacy: DP-SGD on D, %ld step%s at sampling rate %.6g, noise multiplier %.6g, "
           "clip %g: (epsilon %.4g, delta %g) per image (Renyi order %.1f; classic "
           "conversion %.4g)\n", steps, cli_plural(steps), o->dp_q, o->dp_sigma, o->dp_clip, eps,
           o->dp_delta, alpha, classic);
}

void train_stem(const char *path, char *stem, size_t n)
{
    snprintf(stem, n, "%s", path);
    size_t l = strlen(stem);
    if (l > 4 && strcmp(stem + l - 4, ".fsm") == 0) {
        stem[l - 4] = 0;
    }
}

int cmd_train(int argc, char **argv)
{
    train_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc) {
        return rc == 1 ? EXIT_OK : rc;
    }
    fs_err_t err = {0, ""};
    const char *dir = o.data_dir ? o.data_dir : cli_dataset_dir(o.dataset);
    if (!dir) {
        return cli_usage(CMD, "--dataset '%s': expected mnist or fashion", o.dataset);
    }
    // the output folders before any work: a run must not train to the end
    // and then find it cannot save
    if (fsio_mkdirs_for(o.out, &err) || (o.grid && fsio_mkdirs_for(o.grid, &err))) {
        return cli_fail(CMD, &err, "give --out (and --grid) paths in folders you can write");
    }
    blas_set_threads((int)o.threads);
    dataset_t *data = NULL;
    if (cli_load_split(dir, 1, &data, &err)) {
        return cli_fail(CMD, &err, NULL);
    }
    if (o.labels && !data->y) {
        dataset_destroy(&data);
        return cli_usage(CMD, "--labels: %s has no train-labels-idx1-ubyte[.gz] beside the "
                         "images", dir);
    }
    if (o.labels) {
        uint8_t keep[10];
        if (dataset_parse_labels(o.labels, keep, &err)) {
            dataset_destroy(&data);
            return cli_fail(CMD, &err, NULL);
        }
        dataset_t *f = dataset_filter_labels(data, keep);
        dataset_destroy(&data);
        data = f;
    }
    if (o.limit && o.limit < data->n) {
        data->n = (int)o.limit; // the first N images; the buffer keeps its size
    }
    // the model's own layers and recipe (workload.h), then the options' changes
    workload_arch_t wa = o.arch;
    if (wa.kind == WORKLOAD_CVAE) {
        wa.cvae.img_c = data->c;
        wa.cvae.img_h = data->h;
        wa.cvae.img_w = data->w;
    } else {
        dcgan_config_t *arch = &wa.gan;
        arch->img_c = data->c;
        arch->img_h = data->h;
        arch->img_w = data->w;
        if (o.pixel_norm >= 0) {
            arch->g_pixel_norm = o.pixel_norm;
        }
        if (o.upsample >= 0) {
            arch->g_upsample = o.upsample;
        }
        if (o.d_dropout >= 0) {
            arch->d_dropout = (float)o.d_dropout;
        }
        if (o.d_width) {
            arch->d_width = (int)o.d_width;
        }
        wa.gan_lr = o.lr > 0 ? (float)o.lr : wa.gan_lr;
        wa.gan_lr_d = o.lr_d > 0 ? (float)o.lr_d : wa.gan_lr_d;
        wa.gan_ema = o.ema >= 0 ? (float)o.ema : wa.gan_ema;
        wa.gan_aux = o.aux >= 0 ? (float)o.aux : wa.gan_aux;
        wa.gan_reuse_fakes = o.reuse_fakes >= 0 ? (int)o.reuse_fakes : wa.gan_reuse_fakes;
    }
    const long iters = o.iters ? o.iters : (data->n / o.batch > 0 ? data->n / o.batch : 1);
    if (o.dp_clip > 0 && (rc = s_dp_plan(&o, &wa, data->n, iters)) != 0) {
        dataset_destroy(&data);
        return rc;
    }
    const model_kind_t *kind = model_kind_of(&wa);
    void *t = kind->trainer_new(&wa, (int)o.batch, (uint64_t)o.seed);
    checkpoint_resume_t at = {0, 0, false, false};
    // the data first: restoring a checkpoint's data order needs them
    if (kind->trainer_set_data(t, data, &err) ||
        (o.resume && kind->resume(o.resume, t, &at, &err)) ||
        (o.init && checkpoint_grow_conditional(o.init, t, &err))) {
        kind->trainer_destroy(t);
        dataset_destroy(&data);
        return cli_fail(CMD, &err,
                        o.resume ? "resume from a checkpoint of the same --model (and --width)"
                        : o.init ? "--init takes a checkpoint of 'fedsyn train --model dcgan' "
                                   "at the same --width"
                                 : NULL);
    }
    if (o.init && !o.quiet) {
        fprintf(stderr, "fedsyn train: conditional GAN grown from %s (label weights zero)\n",
                o.init);
    }
    char banner[512], model[384];
    kind->summary(&wa, t, model, sizeof model);
    snprintf(banner, sizeof banner, "%d images (%s), %s, batch %ld", data->n, dir, model,
             o.batch);
    long steps = 0;
    rc = train_loop_run(&o, kind, t, banner, at, iters, &steps);
    if (o.dp_clip > 0) {
        s_dp_report(&o, steps);
    }
    kind->trainer_destroy(t);
    dataset_destroy(&data);
    return rc;
}
