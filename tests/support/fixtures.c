/* fixtures.c - see fixtures.h. */
#include "tests/support/fixtures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/base/rng.h"

static char s_dir[256];

const char *fixture_tmpdir(void)
{
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "/tmp/fedsyn-test-XXXXXX");
        if (!mkdtemp(s_dir)) {
            abort();
        }
    }
    return s_dir;
}

void fixture_cleanup(void)
{
    if (s_dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", s_dir);
        }
        s_dir[0] = 0;
    }
}

const char *fixture_write(const char *name, const void *data, size_t n)
{
    static char paths[8][512];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 512, "%s/%s", fixture_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        abort();
    }
    return p;
}

uint8_t *fixture_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

dataset_t *fixture_shapes(int n, uint64_t seed)
{
    dataset_t *d = dataset_new(n, 1, 28, 28, 1);
    rng_t rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        int label = i % 10;
        float *img = d->x + (size_t)i * 784;
        double cx = 14 + 2 * (rng_uniform(&rng) - 0.5), cy = 14 + 2 * (rng_uniform(&rng) - 0.5);
        double r = 5 + label * 0.7;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                double dx = x - cx, dy = y - cy, v = 0;
                double dist = sqrt(dx * dx + dy * dy);
                if (label % 3 == 0) {
                    v = fabs(dist - r) < 1.5; // ring
                } else if (label % 3 == 1) {
                    v = fabs(dx) < 1.5 + label * 0.3 && fabs(dy) < r; // bar
                } else {
                    v = fabs(dx - dy) < 1.5 && dist < r; // diagonal
                }
                img[y * 28 + x] = (float)v;
            }
        }
        d->y[i] = (uint8_t)label;
    }
    return d;
}

int fixture_teardown(void **state)
{
    (void)state;
    fixture_cleanup();
    return 0;
}
