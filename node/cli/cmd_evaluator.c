/* cmd_evaluator.c - `fedsyn evaluator train`: the classifier behind the
 * metrics, trained once on the real training set and reused; `fedsyn
 * evaluator test`: any classifier file's accuracy on a real test set (a
 * federation's global classifier, GenFL's downstream model). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/fsio.h"
#include "node/cli/cli.h"
#include "node/models/classifier.h"
#include "node/nn/blas.h"
#include "node/train/checkpoint.h"
#include "node/train/classifier_train.h"

#define CMD "evaluator"
#define EVAL_BATCH 128

static void s_help(void)
{
    printf("usage: fedsyn evaluator train [options]\n"
           "       fedsyn evaluator test --model PATH [--dataset NAME] [--data DIR] [--json]\n\n"
           "train: trains the evaluation CNN (features for FID, labels for coverage) on\n"
           "a training set (real, or any IDX directory, e.g. a CVAE's labelled samples\n"
           "for GenFL's pre-training) and reports its test accuracy.\n"
           "test: the accuracy of a classifier file (an evaluator, or a federation's\n"
           "global.fsm of model 'classifier') on the test set, overall and per class.\n\n"
           "  --dataset NAME   mnist (default) or fashion\n"
           "  --data DIR       directory with the IDX files (default data/NAME)\n"
           "  --epochs N       epochs (default 8)\n"
           "  --shift K        shift each training image by up to K pixels (default 2;\n"
           "                   0 trains on the images as they are)\n"
           "  --lr-final LR    cosine-decay Adam's 1e-3 down to LR (default 1e-5;\n"
           "                   0 keeps 1e-3 throughout)\n"
           "  --limit N        use only the first N training images\n"
           "  --seed S         seed (default 1)\n"
           "  --out PATH       evaluator file (default evaluators/NAME.fsm)\n"
           "  --threads T      OpenBLAS threads\n\n"
           "The defaults are the evaluator recipe (MNIST >= 99%%, Fashion-MNIST >= 90%%).\n"
           "example: fedsyn evaluator train --dataset fashion\n");
}

static void s_progress(void *ctx, int epoch, int epochs, int iter, int iters, double loss,
                       double rate)
{
    (void)ctx;
    double left = rate > 0 ? ((double)(epochs - epoch) * iters + (iters - iter)) *
                                 EVAL_BATCH / rate
                           : 0;
    char eta[32];
    cli_duration(left, eta, sizeof eta);
    fprintf(stderr, "epoch %d/%d iter %d/%d  loss %.4f  %.0f img/s  ETA %s\n", epoch, epochs,
            iter, iters, loss, rate, eta);
}

static int s_test(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"dataset", 1, 0, 'D'},
                                         {"data", 1, 0, 'd'},  {"json", 0, 0, 'j'},
                                         {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *model = NULL, *dataset = "mnist", *dir = NULL;
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'D': dataset = optarg; break;
        case 'd': dir = optarg; break;
        case 'j': json = 1; break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!model) {
        return cli_usage(CMD, "test: --model is required");
    }
    if (!dir && !(dir = cli_dataset_dir(dataset))) {
        return cli_usage(CMD, "--dataset '%s': expected mnist or fashion", dataset);
    }
    fs_err_t err = {0, ""};
    model_t *m = NULL;
    dataset_t *test = NULL;
    if (checkpoint_load_classifier(model, EVAL_BATCH, &m, NULL, 0, &err) ||
        cli_load_split(dir, 0, &test, &err)) {
        model_destroy(&m);
        return cli_fail(CMD, &err, "pass a classifier file (fedsyn evaluator train, or the "
                        "global.fsm of a federation of model 'classifier')");
    }
    double per[10];
    double acc = classifier_accuracy(m, test, per);
    if (json) {
        printf("{\"model\": \"%s\", \"dataset\": \"%s\", \"test_images\": %d, "
               "\"accuracy\": %.4f, \"per_class\": [", model, dataset, test->n, acc);
    } else {
        printf("%s: test accuracy %.4f on %d %s images\nper class:", model, acc, test->n,
               dataset);
    }
    for (int k = 0; k < 10; k++) {
        printf(json ? "%s%.4f" : "%s%.3f", json ? (k ? ", " : "") : " ", per[k]);
    }
    printf(json ? "]}\n" : "\n");
    model_destroy(&m);
    dataset_destroy(&test);
    return EXIT_OK;
}

int cmd_evaluator(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "test") == 0) {
        return s_test(argc - 1, argv + 1);
    }
    if (argc < 2 || strcmp(argv[1], "train") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            s_help();
            return EXIT_OK;
        }
        return cli_usage(CMD, "expected 'fedsyn evaluator train' or 'fedsyn evaluator test'");
    }
    argc--;
    argv++;
    static const struct option opts[] = {
        {"dataset", 1, 0, 'D'}, {"data", 1, 0, 'd'}, {"epochs", 1, 0, 'e'},
        {"limit", 1, 0, 'n'},   {"seed", 1, 0, 's'}, {"out", 1, 0, 'o'},
        {"threads", 1, 0, 't'}, {"shift", 1, 0, 'S'},  {"lr-final", 1, 0, 'L'},
        {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *dataset = "mnist", *dir = NULL, *out = NULL;
    long epochs = 8, limit = 0, seed = 1, threads = 0, shift = 2;
    double lr_final = 1e-5;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'D': dataset = optarg; break;
        case 'd': dir = optarg; break;
        case 'o': out = optarg; break;
        case 'e': bad = cli_int(CMD, "epochs", optarg, 1, 1000, &epochs); break;
        case 'n': bad = cli_int(CMD, "limit", optarg, 1, 10000000, &limit); break;
        case 's': bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &seed); break;
        case 't': bad = cli_int(CMD, "threads", optarg, 1, 256, &threads); break;
        case 'S': bad = cli_int(CMD, "shift", optarg, 0, 8, &shift); break;
        case 'L': bad = cli_double(CMD, "lr-final", optarg, 0, 1e-3, &lr_final); break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (bad) {
            return EXIT_USAGE;
        }
    }
    if (!dir && !(dir = cli_dataset_dir(dataset))) {
        return cli_usage(CMD, "--dataset '%s': expected mnist or fashion", dataset);
    }
    char def_out[256];
    snprintf(def_out, sizeof def_out, "evaluators/%s.fsm", dataset);
    out = out ? out : def_out;
    blas_set_threads((int)threads);
    fs_err_t err = {0, ""};
    if (fsio_mkdirs_for(out, &err)) { // before the training, not after it
        return cli_fail(CMD, &err, "give --out a path in a folder you can write");
    }
    dataset_t *train = NULL, *test = NULL;
    if (cli_load_split(dir, 1, &train, &err) || cli_load_split(dir, 0, &test, &err)) {
        dataset_destroy(&train);
        return cli_fail(CMD, &err, NULL);
    }
    if (limit && limit < train->n) {
        train->n = (int)limit;
    }
    model_t *m = classifier_new(train->c, train->h, train->w, EVAL_BATCH, (uint64_t)seed);
    classifier_train_config_t cfg = {.epochs = (int)epochs,
                                     .batch = EVAL_BATCH,
                                     .lr = 1e-3f,
                                     .seed = (uint64_t)seed + 7,
                                     .progress = s_progress,
                                     .lr_final = (float)lr_final,
                                     .shift = (int)shift};
    double t0 = cli_now();
    int rc = classifier_train(m, train, &cfg, &err);
    double acc = 0, per[10];
    if (rc == 0) {
        acc = classifier_accuracy(m, test, per);
        char took[32];
        cli_duration(cli_now() - t0, took, sizeof took);
        printf("evaluator %s: test accuracy %.4f on %d images (trained %ld epoch%s on %d "
               "images in %s)\nper class:", dataset, acc, test->n, epochs, cli_plural(epochs),
               train->n, took);
        for (int k = 0; k < 10; k++) {
            printf(" %d:%.3f", k, per[k]);
        }
        printf("\n");
        rc = checkpoint_save_classifier(out, m, dataset, acc, &err);
        if (rc == 0) {
            fprintf(stderr, "fedsyn evaluator: wrote %s\n", out);
        }
    }
    model_destroy(&m);
    dataset_destroy(&train);
    dataset_destroy(&test);
    return rc ? cli_fail(CMD, &err, NULL) : EXIT_OK;
}
