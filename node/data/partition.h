/* partition.h - how a data set is split among federation members.
 *
 *  - by labels: member k holds the images whose label is in group k (the
 *    FedSyn split {0,1,2} {3,4,5,6} {7,8,9});
 *  - Dirichlet(alpha): for every class, shares over the members are drawn
 *    from Dirichlet(alpha) and the class's images are dealt out in those
 *    shares (GenFL; small alpha = skewed, large alpha = nearly IID); a draw
 *    that leaves a member with no image is drawn again;
 *  - IID: a random equal split.
 * Every image goes to exactly one member.
 *
 * Usage: see tests/data/test_idx.c (test_partitions)
 */
#ifndef FS_DATA_PARTITION_H
#define FS_DATA_PARTITION_H

#include <stdint.h>

#include "node/base/err.h"
#include "node/base/rng.h"
#include "node/data/dataset.h"

#define PARTITION_MAX_CLIENTS 1024
// Dirichlet draws tried before a split that leaves a member empty is refused.
#define PARTITION_DIRICHLET_DRAWS 1000

typedef struct {
    int n_clients;  // members
    int *count;     // images per member
    uint32_t **idx; // idx[k][0..count[k]): indices into the data set
} partition_t;

void partition_destroy(partition_t **self_p);

// groups: "0,1,2/3-6/7,8,9", one group per member, '/' between members.
int partition_by_labels(const dataset_t *d, const char *groups, partition_t **out,
                        fs_err_t *err);
int partition_dirichlet(const dataset_t *d, int n_clients, double alpha, rng_t *rng,
                        partition_t **out, fs_err_t *err);
int partition_iid(const dataset_t *d, int n_clients, rng_t *rng, partition_t **out,
                  fs_err_t *err);

#endif
