/* cmd_sample.c - `fedsyn sample`: images from a trained generator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli.h"
#include "node/data/idx.h"
#include "node/image/png_grid.h"
#include "node/train/checkpoint.h"

#define CMD "sample"
#define SAMPLE_BATCH 256

static void s_help(void)
{
    printf("usage: fedsyn sample --model PATH [options]\n\n"
           "Draws images from a generator checkpoint.\n\n"
           "  --model PATH   generator checkpoint (from fedsyn train)\n"
           "  --n N          how many images (default 100)\n"
           "  --grid PATH    write them as a PNG grid (first 400 at most)\n"
           "  --cols C       grid columns (default 10)\n"
           "  --idx PATH     write them as an IDX image file (uint8)\n"
           "  --seed S       latent seed (default 1)\n\n"
           "example: fedsyn sample --model runs/gan.fsm --n 100 --grid grid.png\n");
}

// Generates n images into a new dataset; shared with `fedsyn eval`.
dataset_t *sample_generate(model_t *g, const dcgan_config_t *a, int n, uint64_t seed);

dataset_t *sample_generate(model_t *g, const dcgan_config_t *a, int n, uint64_t seed)
{
    dataset_t *d = dataset_new(n, a->img_c, a->img_h, a->img_w, 0);
    rng_t rng;
    rng_seed(&rng, seed);
    const int b = model_max_batch(g);
    float *z = malloc(sizeof(float) * (size_t)b * a->latent);
    for (int s = 0; s < n; s += b) {
        int k = n - s < b ? n - s : b;
        gan_generate(g, a->latent, k, &rng, z, d->x + (size_t)s * dataset_image_size(d));
    }
    free(z);
    return d;
}

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"n", 1, 0, 'n'},
                                         {"grid", 1, 0, 'g'},  {"cols", 1, 0, 'c'},
                                         {"idx", 1, 0, 'i'},   {"seed", 1, 0, 's'},
                                         {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *model = NULL, *grid = NULL, *idx = NULL;
    long n = 100, cols = 10, seed = 1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model = optarg; break;
        case 'g': grid = optarg; break;
        case 'i': idx = optarg; break;
        case 'n': bad = cli_int(CMD, "n", optarg, 1, 1000000, &n); break;
        case 'c': bad = cli_int(CMD, "cols", optarg, 1, 100, &cols); break;
        case 's': bad = cli_int(CMD, "seed", optarg, 0, 1L << 62, &seed); break;
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
    dcgan_config_t arch;
    model_t *g = NULL;
    if (checkpoint_load_generator(model, SAMPLE_BATCH, &arch, &g, &err)) {
        return cli_fail(CMD, &err, "pass a checkpoint written by 'fedsyn train'");
    }
    dataset_t *d = sample_generate(g, &arch, (int)n, (uint64_t)seed);
    int rc = 0;
    if (grid) {
        rc = png_grid_save(grid, d->x, n > 400 ? 400 : (int)n, d->c, d->h, d->w, (int)cols, 2,
                           &err);
    }
    if (rc == 0 && idx) {
        rc = idx_save(d, idx, NULL, &err);
    }
    if (rc == 0) {
        fprintf(stderr, "fedsyn sample: %ld images%s%s%s%s\n", n, grid ? " -> " : "",
                grid ? grid : "", idx ? " -> " : "", idx ? idx : "");
    }
    dataset_destroy(&d);
    model_destroy(&g);
    return rc ? cli_fail(CMD, &err, NULL) : EXIT_OK;
}
