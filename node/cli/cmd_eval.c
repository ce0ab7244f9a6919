/* cmd_eval.c - `fedsyn eval`: FID, label coverage and CAS of generated
 * images, measured in the evaluator's feature space against real test
 * images (and, FedSyn-style, against a reference generator's samples). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/base/bytes.h"
#include "node/cli/cli.h"
#include "node/cli/eval_membership.h"
#include "node/metrics/evaluation.h"
#include "node/train/checkpoint.h"
#include "node/train/sampler.h"

#define CMD "eval"
#define EVAL_BATCH 256


static void s_help(void)
{
    printf("usage: fedsyn eval (--model PATH | --samples IDX) [options]\n\n"
           "Scores generated images with the evaluation classifier:\n"
           "  FID against the real test set (with a floor: real train vs test, and a\n"
           "  ceiling: uniform noise vs test), FID against a reference generator's\n"
           "  samples (the FedSyn paper's measure), label coverage, and CAS.\n\n"
           "  --model PATH        generator file (DCGAN, conditional DCGAN or CVAE);\n"
           "                      draws --n images from it.  A conditional model's\n"
           "                      samples carry their labels: CAS runs with the true\n"
           "                      labels (Ravuri & Vinyals 2019), and the label\n"
           "                      agreement is the share the evaluator files under them\n"
           "  --samples IDX       or score these images (IDX file)\n"
           "  --sample-labels IDX labels of --samples (enables CAS)\n"
           "  --n N               images to draw (default 10000)\n"
           "  --evaluator PATH    evaluator file (default evaluators/DATASET.fsm)\n"
           "  --dataset NAME      mnist (default) or fashion: the real test set\n"
           "  --data DIR          its IDX directory (default data/NAME)\n"
           "  --reference PATH    a reference generator checkpoint (e.g. the central GAN)\n"
           "  --pseudo-cas        CAS with labels from the evaluator (flagged as such)\n"
           "  --cas-epochs N      epochs of the CAS classifier (default 3)\n"
           "  --seed S            latent seed (default 7)\n"
           "  --temperature T     the latent's standard deviation for --model (default\n"
           "                      1: the model's faithful score; the reference is\n"
           "                      always drawn at 1)\n"
           "  --membership        instead: a membership inference attack on the GAN's\n"
           "                      discriminator: its logit on --n training images\n"
           "                      (members) against --n test images, as an AUC (0.5:\n"
           "                      no better than a coin; docs/privacy.md)\n"
           "  --json              print the result as one JSON object\n\n"
           "example: fedsyn eval --model runs/gan.fsm --reference runs/central.fsm --json\n"
           "         fedsyn eval --model runs/dp.fsm --membership --n 5000\n");
}

static void s_cas_progress(void *ctx, int epoch, int epochs, int iter, int iters, double loss,
                           double rate)
{
    (void)ctx;
    if (iter == iters) {
        fprintf(stderr, "cas: epoch %d/%d loss %.4f %.0f img/s\n", epoch, epochs, loss, rate);
    }
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},     {"samples", 1, 0, 'S'},   {"sample-labels", 1, 0, 'L'},
        {"n", 1, 0, 'n'},         {"evaluator", 1, 0, 'E'}, {"dataset", 1, 0, 'D'},
        {"data", 1, 0, 'd'},      {"reference", 1, 0, 'R'}, {"pseudo-cas", 0, 0, 'P'},
        {"cas-epochs", 1, 0, 'c'}, {"seed", 1, 0, 's'},     {"json", 0, 0, 'j'},
        {"temperature", 1, 0, 't'}, {"help", 0, 0, 'h'},    {"membership", 0, 0, 'M'},
        {0, 0, 0, 0}};
    const char *model = NULL, *samples = NULL, *labels = NULL, *evaluator = NULL;
    const char *dataset = "mnist", *dir = NULL, *reference = NULL;
    long n = 10000, cas_epochs = 3, seed = 7;
    double temperature = 1.0;
    int pseudo = 0, json = 0, membership = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model = optarg; break;
        case 'S': samples = optarg; break;
        case 'L': labels = optarg; break;
        case 'E': evaluator = optarg; break;
        case 'D': dataset = optarg; break;
        case 'd': dir = optarg; break;
        case 'R': reference = optarg; break;
        case 'P': pseudo = 1; break;
        case 'j': json = 1; break;
        case 'M': membership = 1; break;
        case 'n': bad = cli_int(CMD, "n", optarg, 2, 1000000, &n); break;
        case 'c': bad = cli_int(CMD, "cas-epochs", optarg, 1, 100, &cas_epochs); break;
        case 's': bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &seed); break;
        case 't':
            bad = cli_double(CMD, "temperature", optarg, 1e-3, SAMPLER_MAX_TEMPERATURE,
                             &temperature);
            break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (bad) {
            return EXIT_USAGE;
        }
    }
    if (!model == !samples) {
        return cli_usage(CMD, "give exactly one of --model and --samples");
    }
    if (samples && temperature != 1.0) {
        return cli_usage(CMD, "--temperature applies to --model only");
    }
    if (!dir && !(dir = cli_dataset_dir(dataset))) {
        return cli_usage(CMD, "--dataset '%s': expected mnist or fashion", dataset);
    }
    if (membership) {
        if (!model || reference || pseudo || labels || temperature != 1.0) {
            return cli_usage(CMD, "--membership takes --model, --n, --dataset or --data and "
                             "--json only");
        }
        return eval_membership(model, dir, n, json);
    }
    char def_eval[256];
    snprintf(def_eval, sizeof def_eval, "evaluators/%s.fsm", dataset);
    evaluator = evaluator ? evaluator : def_eval;

    fs_err_t err = {0, ""};
    model_t *ev = NULL;
    char ev_dataset[64] = "";
    if (checkpoint_load_classifier(evaluator, EVAL_BATCH, &ev, ev_dataset, sizeof ev_dataset,
                                   &err)) {
        return cli_fail(CMD, &err, "train one with 'fedsyn evaluator train --dataset NAME'");
    }
    // Scores compare only between evaluators as good as the project's
    // (evaluators/*.fsm: MNIST 99.27%, Fashion-MNIST 90.98%).
    const double ev_acc = checkpoint_classifier_accuracy(evaluator);
    const double ev_want = strcmp(ev_dataset, "fashion") == 0 ? 0.88 : 0.98;
    if (ev_acc < ev_want) {
        char said[64] = "records no test accuracy";
        if (ev_acc >= 0) {
            snprintf(said, sizeof said, "scored only %.1f%% on its test set", 100 * ev_acc);
        }
        fprintf(stderr, "fedsyn eval: warning: the evaluator %s %s: its scores do not compare "
                "with the project's (train one with 'fedsyn evaluator train --dataset %s')\n",
                evaluator, said, dataset);
    }
    const evaluation_opts_t eo = {.model = model, .samples = samples, .sample_labels = labels,
                                  .n = (int)n, .temperature = (float)temperature,
                                  .seed = (uint64_t)seed, .data_dir = dir,
                                  .reference = reference, .pseudo_cas = pseudo,
                                  .cas_epochs = (int)cas_epochs, .cas_progress = s_cas_progress};
    evaluation_t r;
    int rc = evaluation_run(ev, &eo, &r, &err);
    const coverage_t cov = r.coverage;
    const double fid_test = r.fid_test, fid_floor = r.fid_floor, fid_ceiling = r.fid_ceiling;
    const double fid_ref = r.fid_reference, agreement = r.label_agreement;
    const int cas_kind = (int)r.cas_kind;
    if (rc == 0 && json) {
        // The evaluator's weights by hash, not only its path: scores are
        // comparable only between identical evaluators, wherever they lie.
        uint8_t ev_hash[HASH_BYTES];
        char ev_hex[2 * HASH_BYTES + 1];
        hash_model(model_params(ev), model_param_count(ev), ev_hash);
        bytes_to_hex(ev_hash, HASH_BYTES, ev_hex);
        printf("{\"samples\": %d, \"source\": \"%s\", \"evaluator\": \"%s\", "
               "\"evaluator_model_hash\": \"%s\", \"temperature\": %g, "
               "\"evaluator_test_accuracy\": %.4f, "
               "\"fid_test\": %.4f, \"fid_floor_train_vs_test\": %.4f, "
               "\"fid_ceiling_noise_vs_test\": %.4f, \"fid_reference\": ",
               r.samples, model ? model : samples, evaluator, ev_hex, temperature, ev_acc,
               fid_test, fid_floor, fid_ceiling);
        if (fid_ref >= 0) {
            printf("%.4f", fid_ref);
        } else {
            printf("null");
        }
        printf(", \"coverage\": {\"classes_present\": %d, \"entropy\": %.4f, "
               "\"tv_from_real\": %.4f, \"kl_from_real\": %.4f, \"confident\": %.4f, "
               "\"groups\": [%.4f, %.4f, %.4f], \"share\": [",
               cov.classes_present, cov.entropy, cov.tv_from_real, cov.kl_from_real,
               cov.confident, cov.group[0], cov.group[1], cov.group[2]);
        for (int k = 0; k < 10; k++) {
            printf("%s%.4f", k ? ", " : "", cov.share[k]);
        }
        printf("]}, \"label_agreement\": ");
        if (agreement >= 0) {
            printf("%.4f", agreement);
        } else {
            printf("null");
        }
        printf(", \"cas\": ");
        if (cas_kind) {
            printf("{\"accuracy\": %.4f, \"labels\": \"%s\"}", r.cas_accuracy,
                   cas_kind == EVALUATION_CAS_TRUE ? "true" : "pseudo (from the evaluator)");
        } else {
            printf("null");
        }
        printf("}\n");
    } else if (rc == 0) {
        printf("samples            %d from %s\n", r.samples, model ? model : samples);
        printf("evaluator          %s (test accuracy %.2f%%)\n", evaluator, 100 * ev_acc);
        if (temperature != 1.0) {
            printf("temperature        %g   (not 1: not the model's faithful score)\n",
                   temperature);
        }
        printf("FID vs real test   %.3f   (floor, real train vs test: %.3f; ceiling, noise: "
               "%.3f)\n", fid_test, fid_floor, fid_ceiling);
        if (fid_ref >= 0) {
            printf("FID vs reference   %.3f   (%s, the FedSyn paper's measure)\n", fid_ref,
                   reference);
        }
        printf("classes present    %d of 10 (share >= %.0f%%)\n", cov.classes_present,
               COVERAGE_MIN_SHARE * 100);
        printf("class histogram   ");
        for (int k = 0; k < 10; k++) {
            printf(" %d:%.3f", k, cov.share[k]);
        }
        printf("\nentropy %.3f  TV from real %.3f  KL from real %.3f  confident %.3f\n",
               cov.entropy, cov.tv_from_real, cov.kl_from_real, cov.confident);
        printf("groups {0,1,2} {3-6} {7,8,9}: %.3f %.3f %.3f (real MNIST mix ~0.31 0.39 0.30)\n",
               cov.group[0], cov.group[1], cov.group[2]);
        if (agreement >= 0) {
            printf("label agreement    %.4f   (the evaluator files a sample under the label "
                   "it was drawn for)\n", agreement);
        }
        if (cas_kind) {
            printf("CAS                %.4f%s\n", r.cas_accuracy,
                   cas_kind == EVALUATION_CAS_PSEUDO
                       ? "   (PSEUDO-LABEL CAS: labels from the evaluator)"
                       : "");
        }
    }
    model_destroy(&ev);
    return rc ? cli_fail(CMD, &err, NULL) : EXIT_OK;
}
