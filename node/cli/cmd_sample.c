/* cmd_sample.c - `fedsyn sample`: images from a trained generator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/fsio.h"
#include "node/cli/cli.h"
#include "node/data/idx.h"
#include "node/image/png_grid.h"
#include "node/train/sampler.h"

#define CMD "sample"
#define SAMPLE_BATCH 256

static void s_help(void)
{
    printf("usage: fedsyn sample --model PATH [options]\n\n"
           "Draws images from a generator: a DCGAN checkpoint, or a conditional\n"
           "DCGAN's (--model cdcgan) or CVAE file, whose samples are labelled (sample\n"
           "i has label i mod 10: with 10 columns, column c of the grid shows label c).\n\n"
           "  --model PATH   generator file (from fedsyn train or a node's global.fsm)\n"
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

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"n", 1, 0, 'n'},
                                         {"grid", 1, 0, 'g'},  {"cols", 1, 0, 'c'},
                                         {"idx", 1, 0, 'i'},   {"seed", 1, 0, 's'},
                                         {"labels", 1, 0, 'l'}, {"temperature", 1, 0, 't'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *grid = NULL, *idx = NULL, *labels = NULL;
    long n = 100, cols = 10, seed = 1;
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
    if (!model) {
        return cli_usage(CMD, "--model is required");
    }
    if (!grid && !idx) {
        return cli_usage(CMD, "nothing to write: give --grid and/or --idx");
    }
    fs_err_t err = {0, ""};
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
