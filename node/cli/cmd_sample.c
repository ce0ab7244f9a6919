/* cmd_sample.c - `fedsyn sample`: images from a trained generator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/chain.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/cli/cli.h"
#include "node/data/idx.h"
#include "node/image/png_grid.h"
#include "node/train/sampler.h"

#define CMD "sample"
#define SAMPLE_BATCH 256

static void s_help(void)
{
    printf("usage: fedsyn sample --model PATH [options]\n"
           "       fedsyn sample --ledger PATH --round K [--models DIR] [options]\n\n"
           "Draws images from a generator: a DCGAN checkpoint, or a conditional\n"
           "DCGAN's (--model cdcgan) or CVAE file, whose samples are labelled (sample\n"
           "i has label i mod 10: with 10 columns, column c of the grid shows label c).\n\n"
           "  --model PATH   generator file (from fedsyn train or a node's global.fsm)\n"
           "  --ledger PATH  or a node's ledger, with --round K: the global model of\n"
           "  --round K      block K (0: round 0's), as the node kept it for audit\n"
           "  --models DIR   where the kept models are (default: models/ beside the\n"
           "                 ledger; node/keep-models in docs/netcfg.md)\n"
           "  --n N          how many images (default 100)\n"
           "  --grid PATH    write them as a PNG grid (first 400 at most)\n"
           "  --cols C       grid columns (default 10)\n"
           "  --idx PATH     write them as an IDX image file (uint8)\n"
           "  --labels PATH  a conditional model's labels as an IDX label file\n"
           "  --seed S       latent seed (default 1)\n"
           "  --temperature T  the latent's standard deviation (default 1, what the\n"
           "                 generator was trained on; below 1 draws more typical,\n"
           "                 less varied images)\n\n"
           "example: fedsyn sample --model runs/gan.fsm --n 100 --grid grid.png\n");
}

// The kept model file of block `round` of the ledger at `ledger`
// (node/fed/archive.h: DIR/HASH.fsm) into out.
static int s_round_model(const char *ledger, long round, const char *models, char *out,
                         size_t cap, fs_err_t *err)
{
    chain_t *chain = chain_open(ledger, CHAIN_READ_ONLY, NULL, err);
    if (!chain) {
        return err->code;
    }
    int rc = 0;
    uint8_t hash[HASH_BYTES];
    const uint64_t h = chain_height(chain);
    if ((uint64_t)round >= h) {
        rc = fs_err_set(err, FS_EINVAL, "--round %ld: %s has blocks 0 to %llu", round, ledger,
                        (unsigned long long)h - 1);
    } else {
        rc = chain_model_hash(chain, (uint64_t)round, hash, err);
    }
    chain_destroy(&chain);
    if (rc) {
        return rc;
    }
    char hex[2 * HASH_BYTES + 1];
    bytes_to_hex(hash, HASH_BYTES, hex);
    const char *slash = strrchr(ledger, '/');
    if (models) {
        snprintf(out, cap, "%s/%s.fsm", models, hex);
    } else {
        snprintf(out, cap, "%.*smodels/%s.fsm", slash ? (int)(slash - ledger + 1) : 0, ledger,
                 hex);
    }
    if (access(out, R_OK) != 0) {
        return fs_err_set(err, FS_EINVAL, "block %ld's model (%.16s...) was not kept: no %s "
                          "(node/keep-models keeps the last N blocks' models, or the node "
                          "synced past that round)", round, hex, out);
    }
    return 0;
}

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"n", 1, 0, 'n'},
                                         {"grid", 1, 0, 'g'},  {"cols", 1, 0, 'c'},
                                         {"idx", 1, 0, 'i'},   {"seed", 1, 0, 's'},
                                         {"labels", 1, 0, 'l'}, {"temperature", 1, 0, 't'},
                                         {"help", 0, 0, 'h'},   {"ledger", 1, 0, 'L'},
                                         {"round", 1, 0, 'r'},  {"models", 1, 0, 'M'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *grid = NULL, *idx = NULL, *labels = NULL;
    const char *ledger = NULL, *models = NULL;
    long n = 100, cols = 10, seed = 1, round = -1;
    double temperature = 1.0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model = optarg; break;
        case 'g': grid = optarg; break;
        case 'i': idx = optarg; break;
        case 'l': labels = optarg; break;
        case 'L': ledger = optarg; break;
        case 'M': models = optarg; break;
        case 'r': bad = cli_int(CMD, "round", optarg, 0, 1L << 62, &round); break;
        case 'n': bad = cli_int(CMD, "n", optarg, 1, 1000000, &n); break;
        case 'c': bad = cli_int(CMD, "cols", optarg, 1, 100, &cols); break;
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
    if (!model == !ledger) {
        return cli_usage(CMD, "give --model PATH, or --ledger PATH with --round K");
    }
    if (!ledger != (round < 0) || (models && !ledger)) {
        return cli_usage(CMD, "--ledger and --round go together (--models with them)");
    }
    if (!grid && !idx) {
        return cli_usage(CMD, "nothing to write: give --grid and/or --idx");
    }
    fs_err_t err = {0, ""};
    char kept[4200];
    if (ledger) {
        if (s_round_model(ledger, round, models, kept, sizeof kept, &err)) {
            return cli_fail(CMD, &err, NULL);
        }
        model = kept;
    }
    dataset_t *d = NULL;
    sampler_opts_t so = sampler_opts((int)n, (uint64_t)seed, SAMPLE_BATCH);
    so.temperature = (float)temperature;
    if (sampler_draw(model, &so, &d, &err)) {
        return cli_fail(CMD, &err, "pass a file written by 'fedsyn train' or a node's global.fsm");
    }
    if (labels && (!d->y || !idx)) {
        dataset_destroy(&d);
        return cli_usage(CMD, "--labels needs --idx and a labelled generator (cdcgan or CVAE)");
    }
    int rc = 0;
    if ((grid && fsio_mkdirs_for(grid, &err)) || (idx && fsio_mkdirs_for(idx, &err)) ||
        (labels && fsio_mkdirs_for(labels, &err))) {
        rc = err.code;
    } else if (grid) {
        rc = png_grid_save(grid, d->x, n > 400 ? 400 : (int)n, d->c, d->h, d->w, (int)cols, 2,
                           &err);
    }
    if (rc == 0 && idx) {
        rc = idx_save(d, idx, labels, &err);
    }
    if (rc == 0) {
        fprintf(stderr, "fedsyn sample: %ld images%s%s%s%s\n", n, grid ? " -> " : "",
                grid ? grid : "", idx ? " -> " : "", idx ? idx : "");
    }
    dataset_destroy(&d);
    return rc ? cli_fail(CMD, &err, NULL) : EXIT_OK;
}
