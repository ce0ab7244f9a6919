/* member_data.c - selecting a member's training images (member_data.h). */
#include "node/data/member_data.h"

#include <stdlib.h>
#include <string.h>

#include "node/base/mem.h"
#include "node/base/rng.h"
#include "node/data/idx.h"
#include "node/data/partition.h"

// The member's share of a seeded partition of all (which it consumes).
static int s_share(const member_data_spec_t *s, dataset_t **all, fs_err_t *err)
{
    rng_t rng;
    rng_seed(&rng, s->seed);
    partition_t *part = NULL;
    int rc = strcmp(s->partition, "dirichlet") == 0
                 ? partition_dirichlet(*all, s->clients, s->alpha, &rng, &part, err)
             : strcmp(s->partition, "iid") == 0
                 ? partition_iid(*all, s->clients, &rng, &part, err)
                 : fs_err_set(err, FS_EINVAL, "partition '%s': expected dirichlet or iid",
                              s->partition);
    if (rc < 0) {
        return rc;
    }
    if (s->client < 0 || s->client >= s->clients) {
        partition_destroy(&part);
        return fs_err_set(err, FS_EINVAL, "client %d: expected 0 to %d", s->client,
                          s->clients - 1);
    }
    dataset_t *d = dataset_subset(*all, part->idx[s->client], part->count[s->client]);
    partition_destroy(&part);
    dataset_destroy(all);
    *all = d;
    if (d->n == 0) {
        return fs_err_set(err, FS_EINVAL, "client %d's share of the %s split is empty (try "
                          "another seed or a larger alpha)", s->client, s->partition);
    }
    return 0;
}

int member_data_load(const member_data_spec_t *s, dataset_t **out, fs_err_t *err)
{
    *out = NULL;
    dataset_t *d = NULL;
    int rc = idx_load_split(s->dir, "train", &d, err);
    if (rc < 0) {
        return rc;
    }
    const int by_label = (s->labels && s->labels[0]) ||
                         (s->partition && strcmp(s->partition, "dirichlet") == 0);
    if (by_label && !d->y) {
        dataset_destroy(&d);
        return fs_err_set(err, FS_EINVAL, "%s: no train-labels-idx1-ubyte[.gz] beside the "
                          "images: choosing images by label needs it", s->dir);
    }
    if (s->partition && s->partition[0]) {
        rc = s_share(s, &d, err);
    } else if (s->labels && s->labels[0]) {
        uint8_t keep[10];
        rc = dataset_parse_labels(s->labels, keep, err);
        if (rc == 0) {
            dataset_t *f = dataset_filter_labels(d, keep);
            dataset_destroy(&d);
            d = f;
        }
    }
    if (rc == 0 && s->limit > 0 && d->n > s->limit) {
        rng_t rng;
        rng_seed(&rng, s->seed);
        uint32_t *perm = xmalloc((size_t)d->n * sizeof *perm);
        rng_permutation(&rng, perm, (size_t)d->n);
        dataset_t *sub = dataset_subset(d, perm, (int)s->limit);
        free(perm);
        dataset_destroy(&d);
        d = sub;
    }
    if (rc < 0) {
        dataset_destroy(&d);
        return rc;
    }
    *out = d;
    return 0;
}
